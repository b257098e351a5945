//! The formats of HeAT's pytest-benchmark pipeline: pytest-benchmark reports, suite histories and
//! the lists the Ginkgo Performance Explorer (GPE) reads, with lossless, tolerant reading and
//! strict, crash-safe writing.
//!
//! - [`Report`]: a `--benchmark-json` report of pytest-benchmark 3.2 to 5.3.
//! - [`HistoryEntry`] and [`history`]: a suite's `aggregate.json` and appending to it.
//! - [`ListEntry`] and [`list`]: GPE's `list.json`.
//! - [`archive`]: bounded histories: archive chunks, rotation, migration.
//! - [`fsio`]: whole-file replacement and the lock every writer takes.
#![deny(missing_docs)]

pub mod archive;
mod error;
pub mod fsio;
pub mod history;
pub mod json;
pub mod list;
mod report;

pub use error::{inert, shown, Error, ErrorKind, Result};
pub use history::{
    AppendOutcome, CommitRange, GateRecord, HistoryEntry, MachineId, MachineKey, OpenRecord,
    RunRef, StoredCommit, StoredEntry, StoredExtraInfo, StoredHistory, StoredMetric, StoredStats,
};
pub use json::NonFinite;
pub use list::ListEntry;
pub use report::{
    Benchmark, CommitInfo, Nullable, Num, Options, ReadReport, Report, Stats, Warmup,
};
