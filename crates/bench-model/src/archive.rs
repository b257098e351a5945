//! A bounded history's archive: `archive/NNNN_YEARS.json` chunks beside `aggregate.json`, made by
//! renaming the whole current file, and the one-step migration of a large history into chunks.
//!
//! Rotation is a single rename of `aggregate.json` into the archive, so a crash at any moment
//! leaves every entry in exactly one file: the old current file, or the new chunk. Chunks are
//! never rewritten; their sequence number orders them, oldest first.
//!
//! Migration must split one file into several, which no single rename can do. It first renames
//! the history to a hidden journal (`archive/.migrating-after-NNNN.json`), writes the chunks and the
//! new current file, and removes the journal last. A run that
//! finds the journal (a migration was killed) removes what the migration had written and starts
//! it again from the journal, before doing anything else; nothing is lost at any moment.
//!
//! Finding a run again (appends skip runs already recorded) must not read every chunk: a hidden
//! index, `archive/.index.json`, keeps for each chunk the range of its entries' dates and the
//! run keys of its entries without a date (the original script's), so only a chunk that may hold
//! an incoming entry's run is read. It is a cache: written with every chunk (rotation and
//! migration), built for a chunk the first time it is needed, trusted only while the chunk is the
//! same file, its entry dropped whenever a chunk is removed (a rolled-back migration or
//! rotation), and never needed for correctness of the chunks themselves.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::fsio::write_atomic;
use crate::history::{read_stored, EntryKey, StoredEntry, StoredHistory};

/// The bound on a suite's current history file; `None` on both: unbounded (the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bound {
    /// At most this many entries.
    pub max_entries: Option<usize>,
    /// At most this many bytes.
    pub max_bytes: Option<u64>,
}

impl Bound {
    /// Whether any bound is set.
    pub fn is_set(&self) -> bool {
        self.max_entries.is_some() || self.max_bytes.is_some()
    }

    /// Whether `entries` entries in `bytes` bytes break the bound.
    pub fn exceeded_by(&self, entries: usize, bytes: u64) -> bool {
        self.max_entries.is_some_and(|m| entries > m) || self.max_bytes.is_some_and(|m| bytes > m)
    }
}

/// Parses a size such as `20MB`, `1.5GiB`, `500k` or `1048576` (bytes).
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size; write e.g. 20MB or 500k"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use B, kB, MB, GB, KiB, MiB or GiB"
            ))
        }
    };
    Ok((number * factor) as u64)
}

/// The archive folder of the history at `path`.
pub fn folder(path: &Path) -> PathBuf {
    path.with_file_name("archive")
}

/// The journal of a migration: the whole history, named after the last chunk before it.
fn journal_path(path: &Path, after: u32) -> PathBuf {
    folder(path).join(format!(".migrating-after-{after:04}.json"))
}

/// The archive's files whose names `number` reads a number from, with that number, oldest first.
fn numbered(path: &Path, number: impl Fn(&str) -> Option<u32>) -> Vec<(u32, PathBuf)> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(folder(path))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((number(&entry.file_name().to_string_lossy())?, entry.path())))
        .collect();
    found.sort();
    found
}

fn find_journal(path: &Path) -> Option<(u32, PathBuf)> {
    numbered(path, |name| {
        name.strip_prefix(".migrating-after-")?
            .strip_suffix(".json")?
            .parse()
            .ok()
    })
    .pop()
}

/// The archive's chunks, oldest first: (sequence number, path).
pub fn chunks(path: &Path) -> Vec<(u32, PathBuf)> {
    numbered(path, |name| {
        name.strip_suffix(".json")?.split_once('_')?.0.parse().ok()
    })
}

/// What the index knows of one chunk: the range of its entries' dates, the runs of its entries
/// without a date, and which file that was (its size and modification time: git can replace a
/// chunk by another of the same name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ChunkIndex {
    first: Option<String>,
    last: Option<String>,
    /// Required: indexes of older builds said only whether a chunk had undated entries, and
    /// must not be read as "none"; without it the whole index is rebuilt.
    undated_runs: RunPrefixes,
    /// The chunk's size and modification time (ns) when indexed; absent in older indexes,
    /// which then count as unknown.
    #[serde(default)]
    stamp: Option<(u64, u128)>,
}

/// The first 64 bits of run keys ([`EntryKey::run`]), sorted, as 16-digit lower-case hex numbers
/// one after the other: 16 bytes per entry of the original script, searched as written (numbers
/// of one width in hex sort as the numbers do), so reading the index decodes nothing.
///
/// Half a key is enough because a match is confirmed by reading the chunk: two runs sharing 64
/// bits only cost that read (a chance of about n / 2^64 per lookup), never a wrong answer.
#[derive(Debug, Clone, Default, PartialEq)]
struct RunPrefixes(Vec<u8>);

impl RunPrefixes {
    fn of(runs: impl Iterator<Item = u128>) -> Self {
        let mut prefixes: Vec<u64> = runs.map(|run| (run >> 64) as u64).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        RunPrefixes(prefixes.iter().flat_map(|p| hex(*p)).collect())
    }

    /// The text if it is what [`RunPrefixes::of`] writes; lookups bisect it, so anything else
    /// is refused (and the index rebuilt). One pass, which also makes it valid UTF-8.
    fn parse(text: &[u8]) -> Option<Self> {
        let (numbers, rest) = text.as_chunks::<16>();
        let digits = text
            .iter()
            .fold(true, |ok, b| ok & matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let sorted = numbers
            .windows(2)
            .all(|w| u128::from_be_bytes(w[0]) < u128::from_be_bytes(w[1]));
        (rest.is_empty() && digits && sorted).then(|| RunPrefixes(text.to_vec()))
    }

    fn may_hold(&self, run: u128) -> bool {
        let (numbers, _) = self.0.as_chunks::<16>();
        numbers.binary_search(&hex((run >> 64) as u64)).is_ok()
    }
}

/// `prefix` as 16 lower-case hex digits.
fn hex(prefix: u64) -> [u8; 16] {
    std::array::from_fn(|i| b"0123456789abcdef"[(prefix >> (60 - 4 * i)) as usize & 0xf])
}

impl Serialize for RunPrefixes {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let text = std::str::from_utf8(&self.0).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for RunPrefixes {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = RunPrefixes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("sorted 16-digit lower-case hex numbers")
            }
            fn visit_bytes<E: serde::de::Error>(
                self,
                text: &[u8],
            ) -> std::result::Result<Self::Value, E> {
                RunPrefixes::parse(text).ok_or_else(|| E::custom("not sorted 16-digit hex numbers"))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                text: &str,
            ) -> std::result::Result<Self::Value, E> {
                self.visit_bytes(text.as_bytes())
            }
        }
        // As bytes: serde_json then skips its UTF-8 check, which the digits' check subsumes.
        deserializer.deserialize_bytes(Text)
    }
}

/// A chunk file's size and modification time, which change when anything replaces it.
fn stamp(chunk: &Path) -> Option<(u64, u128)> {
    let meta = fs::metadata(chunk).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some((meta.len(), modified.as_nanos()))
}

impl ChunkIndex {
    fn of(entries: &[StoredEntry], stamp: Option<(u64, u128)>) -> Self {
        let dates = || entries.iter().filter_map(|e| e.datetime.as_deref());
        let undated = entries.iter().filter(|e| e.datetime.is_none());
        ChunkIndex {
            first: dates().min().map(str::to_owned),
            last: dates().max().map(str::to_owned),
            undated_runs: RunPrefixes::of(undated.map(|e| e.key().run)),
            stamp,
        }
    }

    /// Whether the run of an incoming entry that ended at `datetime` (None: unknown), with run
    /// keys `key`, may be in this chunk.
    ///
    /// A stored entry with a datetime is that run only if it has the very same datetime text
    /// (its run key holds it), so comparing text with the range is exact. One without is that
    /// run only if its run key is the entry's own or its key as the original script stored it.
    fn may_hold(&self, datetime: Option<&str>, key: &EntryKey) -> bool {
        let dated = match (datetime, &self.first, &self.last) {
            (Some(d), Some(first), Some(last)) => first.as_str() <= d && d <= last.as_str(),
            _ => false,
        };
        dated || self.undated_runs.may_hold(key.run) || self.undated_runs.may_hold(key.legacy)
    }
}

/// The archive's index: a hidden file, so GPE lists and build-list never show it.
fn index_path(path: &Path) -> PathBuf {
    folder(path).join(".index.json")
}

/// The entries of every chunk that may hold the run of one of `sought` (an incoming entry's
/// datetime and run keys), to find runs recorded before. Under the history's lock; updates the
/// index as it goes.
pub(crate) fn entries_that_may_match(
    path: &Path,
    sought: &[(Option<&str>, EntryKey)],
) -> Result<Vec<StoredEntry>> {
    let chunks = chunks(path);
    if chunks.is_empty() || sought.is_empty() {
        return Ok(Vec::new());
    }
    let mut index = read_index(path);
    let mut changed = false;
    let mut found = Vec::new();
    for (_, chunk) in &chunks {
        let name = file_name(chunk);
        let now = stamp(chunk);
        // Trusted only while it describes this very file.
        let known = index.get(&name).filter(|k| now.is_some() && k.stamp == now);
        if let Some(known) = known {
            if !sought.iter().any(|(d, key)| known.may_hold(*d, key)) {
                continue;
            }
        }
        let entries = read_stored(chunk)?.map(|h| h.entries).unwrap_or_default();
        if known.is_none() {
            index.insert(name, ChunkIndex::of(&entries, now));
            changed = true;
        }
        found.extend(entries);
    }
    if changed {
        let _ = write_index(path, &index);
    }
    Ok(found)
}

type Index = std::collections::BTreeMap<String, ChunkIndex>;

/// The index, empty when missing or unreadable (it is rebuilt chunk by chunk).
fn read_index(path: &Path) -> Index {
    crate::fsio::read_regular(&index_path(path))
        .ok()
        .and_then(|text| serde_json::from_slice(&text).ok())
        .unwrap_or_default()
}

/// Replaces the index whole (see [`write_atomic`]); false when it could not. It only saves
/// reading: a missing entry changes no answer, so a failure to add one is not an error.
fn write_index(path: &Path, index: &Index) -> bool {
    let Ok(text) = serde_json::to_vec_pretty(index) else {
        return false;
    };
    write_atomic(&index_path(path), |w| w.write_all(&text)).is_ok()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `2025`, `2025-2026` or `undated`: what a chunk's file name says about its entries.
fn years_label(first: Option<&str>, last: Option<&str>) -> String {
    match (first, last) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}-{b}"),
        (Some(a), None) | (None, Some(a)) => a.to_string(),
        (None, None) => "undated".to_string(),
    }
}

fn sync_folder(path: &Path) {
    if let Ok(dir) = fs::File::open(path) {
        let _ = dir.sync_all();
    }
}

fn next_chunk_path(path: &Path, label: &str) -> PathBuf {
    let seq = chunks(path).last().map_or(1, |(seq, _)| seq + 1);
    folder(path).join(format!("{seq:04}_{label}.json"))
}

/// Moves the whole history at `path` into the archive as its newest chunk, by one rename.
///
/// `entries` are the history's current entries, for the years of the first and the last.
pub(crate) fn rotate(path: &Path, entries: &[StoredEntry]) -> Result<PathBuf> {
    let label = years_label(
        entries.first().and_then(StoredEntry::year),
        entries.last().and_then(StoredEntry::year),
    );
    let archive = folder(path);
    fs::create_dir_all(&archive).map_err(|e| Error::write(&archive, e))?;
    let chunk = next_chunk_path(path, &label);
    fs::rename(path, &chunk).map_err(|e| Error::write(&chunk, e))?;
    sync_folder(&archive);
    sync_folder(path.parent().unwrap_or(Path::new(".")));
    index_new_chunks(path, [(chunk.as_path(), entries)]);
    Ok(chunk)
}

/// Indexes chunks just written, while their entries are at hand: later appends need not read
/// them. A failure only costs that reading.
fn index_new_chunks<'a>(
    path: &Path,
    chunks: impl IntoIterator<Item = (&'a Path, &'a [StoredEntry])>,
) {
    let mut index = read_index(path);
    for (chunk, entries) in chunks {
        index.insert(file_name(chunk), ChunkIndex::of(entries, stamp(chunk)));
    }
    let _ = write_index(path, &index);
}

/// Writes every group but the last as a new chunk and the last as the current file; returns
/// the chunks, and the files a single run keeps above `bound` (runs are never split).
fn write_groups(
    path: &Path,
    raw: &[&RawValue],
    dated: &[StoredEntry],
    groups: &[std::ops::Range<usize>],
    bound: &Bound,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut oversized = Vec::new();
    let mut write_group = |target: &Path, range: &std::ops::Range<usize>| {
        let entries: Vec<&RawValue> = raw[range.clone()].to_vec();
        let text = crate::json::to_pretty_vec(&entries)
            .map_err(|e| Error::write(target, io::Error::other(e)))?;
        if bound.exceeded_by(entries.len(), text.len() as u64 + 1) {
            oversized.push(target.to_path_buf());
        }
        write_atomic(target, |w| {
            w.write_all(&text)?;
            w.write_all(b"\n")
        })
    };
    let mut written = Vec::new();
    let (current, older) = groups.split_last().expect("more than one group");
    for group in older {
        let label = years_label(dated[group.start].year(), dated[group.end - 1].year());
        let chunk = next_chunk_path(path, &label);
        write_group(&chunk, group)?;
        written.push(chunk);
    }
    write_group(path, current)?;
    Ok((written, oversized))
}

/// Undoes [`rotate`] when the new current file could not be written: the chunk goes back.
pub(crate) fn unrotate(path: &Path, chunk: &Path) -> Result<()> {
    fs::rename(chunk, path).map_err(|e| Error::write(path, e))?;
    let mut index = read_index(path);
    if index.remove(&file_name(chunk)).is_some() && !write_index(path, &index) {
        let _ = fs::remove_file(index_path(path));
    }
    sync_folder(&folder(path));
    sync_folder(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// Removes what killed writers left in the archive: temporaries of chunks and of the index.
/// Only safe under the history's lock.
pub(crate) fn remove_stale_temporaries(path: &Path) {
    crate::fsio::remove_files_named(&folder(path), |name| {
        name.starts_with('.') && name.contains(".tmp.")
    });
}

/// What [`crate::history::migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    /// Chunks written.
    pub chunks: Vec<PathBuf>,
    /// Entries left in the current file.
    pub current: usize,
    /// Entries in all.
    pub total: usize,
    /// Files a single run keeps above the bound (runs are never split).
    pub oversized: Vec<PathBuf>,
}

/// Finishes what a killed migration left: puts the journal's history back and removes the
/// chunks and current file the migration had written. Must be called under the history's lock.
pub(crate) fn recover(path: &Path) -> Result<bool> {
    let Some((after, journal)) = find_journal(path) else {
        return Ok(false);
    };
    let mut index = read_index(path);
    let mut stale = false;
    for (seq, chunk) in chunks(path) {
        if seq > after {
            fs::remove_file(&chunk).map_err(|e| Error::write(&chunk, e))?;
            stale |= index.remove(&file_name(&chunk)).is_some();
        }
    }
    // A stale entry must never outlive its chunk (a new chunk may take its name): without the
    // room to rewrite the index, drop it; it is rebuilt.
    if stale && !write_index(path, &index) {
        let _ = fs::remove_file(index_path(path));
    }
    // The journal goes back whole, by one rename, over whatever current file was written.
    fs::rename(&journal, path).map_err(|e| Error::write(path, e))?;
    sync_folder(&folder(path));
    sync_folder(path.parent().unwrap_or(Path::new(".")));
    Ok(true)
}

/// Splits the history at `path` into chunks within `bound`, whole runs at a time, oldest first,
/// leaving the newest runs (within the bound) as the current file. Under the history's lock.
pub(crate) fn migrate(path: &Path, bound: &Bound) -> Result<Migration> {
    let Some(StoredHistory {
        text,
        entries: dated,
        ..
    }) = read_stored(path)?
    else {
        return Ok(Migration::default());
    };
    // The text is strict now, and already known to be an array of entries.
    let raw: Vec<&RawValue> = serde_json::from_slice(&text)
        .map_err(|e| Error::from_serde(path, &text, &e, crate::history::HISTORY_HINTS))?;

    // Runs: consecutive entries of one run share its datetime; entries without one are runs of their own.
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, entry) in dated.iter().enumerate() {
        match (runs.last_mut(), &entry.datetime) {
            (Some(run), Some(dt)) if dated[run.start].datetime.as_ref() == Some(dt) => {
                run.end = i + 1
            }
            _ => runs.push(i..i + 1),
        }
    }
    // Greedy from the oldest; the last group stays current.
    let size = |range: &std::ops::Range<usize>| -> u64 {
        raw[range.clone()]
            .iter()
            .map(|r| r.get().len() as u64 + 6)
            .sum::<u64>()
            + 4
    };
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for run in runs {
        match groups.last_mut() {
            Some(group)
                if !bound.exceeded_by(run.end - group.start, size(&(group.start..run.end))) =>
            {
                group.end = run.end
            }
            _ => groups.push(run),
        }
    }
    if groups.len() <= 1 {
        return Ok(Migration {
            chunks: Vec::new(),
            current: raw.len(),
            total: raw.len(),
            oversized: Vec::new(),
        });
    }

    // The journal holds the whole history while chunks are written; see the module's comment.
    let archive = folder(path);
    let new_archive = !archive.exists();
    fs::create_dir_all(&archive).map_err(|e| Error::write(&archive, e))?;
    let start = chunks(path).last().map_or(0, |(seq, _)| *seq);
    let journal = journal_path(path, start);
    fs::rename(path, &journal).map_err(|e| Error::write(&journal, e))?;
    sync_folder(&archive);
    sync_folder(path.parent().unwrap_or(Path::new(".")));

    let written = write_groups(path, &raw, &dated, &groups, bound).and_then(|written| {
        // Indexed before the journal goes: a rollback drops the entries with their chunks.
        index_new_chunks(
            path,
            written
                .0
                .iter()
                .zip(&groups)
                .map(|(chunk, group)| (chunk.as_path(), &dated[group.clone()])),
        );
        fs::remove_file(&journal).map_err(|e| Error::write(&journal, e))?;
        sync_folder(&archive);
        Ok(written)
    });
    // Exit 2 means nothing changed: on a full disk, put the journal back and remove the chunks.
    let (written, oversized) = match written {
        Ok(written) => written,
        Err(error) => {
            recover(path)?;
            if new_archive {
                let _ = fs::remove_dir(&archive);
            }
            return Err(error);
        }
    };
    let current = groups.last().expect("more than one group");
    Ok(Migration {
        chunks: written,
        current: current.len(),
        total: raw.len(),
        oversized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("20MB"), Ok(20_000_000));
        assert_eq!(parse_size("1.5 GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("500k"), Ok(500_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
    }

    #[test]
    fn run_prefixes_are_written_as_hex_and_only_what_is_written_is_read() {
        let runs = [3u128 << 64 | 7, 1 << 64, u128::MAX, 3 << 64];
        let prefixes = RunPrefixes::of(runs.into_iter());
        let text = serde_json::to_string(&prefixes).unwrap();
        assert_eq!(text, "\"00000000000000010000000000000003ffffffffffffffff\"");
        assert_eq!(
            serde_json::from_str::<RunPrefixes>(&text).unwrap(),
            prefixes
        );
        assert!(runs.iter().all(|run| prefixes.may_hold(*run)));
        assert!(!prefixes.may_hold(2 << 64));
        for broken in [
            "\"00000000000000030000000000000001\"", // out of order
            "\"000000000000000A\"",                 // upper case
            "\"+00000000000000a\"",
            "\"0000000000000001000\"", // a partial number
        ] {
            assert!(
                serde_json::from_str::<RunPrefixes>(broken).is_err(),
                "{broken}"
            );
        }
    }

    #[test]
    fn labels_name_the_years_of_a_chunk() {
        assert_eq!(years_label(Some("2025"), Some("2025")), "2025");
        assert_eq!(years_label(Some("2025"), Some("2026")), "2025-2026");
        assert_eq!(years_label(None, None), "undated");
    }
}
