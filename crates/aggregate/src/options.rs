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
    #[arg(long, value_name = "N")]
    pub max_entries: Option<usize>,

    /// Keep each history file within SIZE (e.g. 20MB): as --max-entries, in bytes.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_bytes: Option<u64>,
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
