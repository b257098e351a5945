//! What `aggregate`'s integration tests share: running the binary.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `aggregate ARGS` in `dir`.
pub fn aggregate(dir: &Path, args: &[&str]) -> Output {
    command().args(args).current_dir(dir).output().unwrap()
}

/// The `aggregate` binary, to be given arguments.
pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aggregate"))
}
