//! How reports become history entries, and the command-line form of a history's bound that
//! `aggregate` and `run-benchmarks` share.

use bench_model::archive::{parse_size, Bound};

/// How to turn reports into history entries.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// Keep `stats.data` (every round's time) in the entries.
    pub keep_data: bool,
    /// Keep the current history file within this bound (moving old runs to the archive).
    pub bound: Bound,
}

/// The bound on history files, as both tools take it.
#[derive(Debug, Clone, clap::Args)]
pub struct BoundArgs {
    /// Keep each history file within N entries: when a run would exceed it, the file moves whole
    /// into archive/ beside it and the run starts a new one.
    #[arg(long, value_name = "N", value_parser = at_least_one_entry)]
    pub max_entries: Option<usize>,

    /// Keep each history file within SIZE (e.g. 20MB): as --max-entries, in bytes.
    #[arg(long, value_name = "SIZE", value_parser = at_least_one_byte)]
    pub max_bytes: Option<u64>,
}

// A bound below one entry or one byte would move every file into the archive on every append.
fn at_least_one_entry(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of entries of at least 1; write e.g. 10000"
        )),
    }
}

fn at_least_one_byte(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err(format!("{text:?} is less than one byte; write e.g. 20MB")),
        bytes => Ok(bytes),
    }
}

impl BoundArgs {
    /// The bound these arguments ask for (none: unbounded).
    pub fn bound(&self) -> Bound {
        Bound {
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
        }
    }
}
