//! The GPE list (`list.json`): a bare JSON array of `{"name", "file"}` that GPE offers by name.

use serde::{Deserialize, Serialize};

/// One selectable file of a GPE data or plots folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListEntry {
    /// What GPE shows and selects by.
    pub name: String,
    /// Path relative to the list, with forward slashes: GPE appends it to the folder's URL.
    pub file: String,
}

/// The list as GPE reads it: pretty-printed, strict JSON, ending in a newline.
pub fn to_vec(entries: &[ListEntry]) -> Vec<u8> {
    let mut text = crate::json::to_pretty_vec(entries).expect("strings always serialize");
    text.push(b'\n');
    text
}
