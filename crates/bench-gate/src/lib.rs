//! The regression gate: judges a run's benchmarks against the recent history of their series and
//! reports the verdicts, for `aggregate --check` and `run-benchmarks --check`.
//!
//! - [`stats`]: the statistics (a series' current level, its noise, the verdict of a new value).
//! - [`series`]: which past runs form a benchmark's series and its baseline, read from a history
//!   and its archive.
//! - [`options`] and [`thresholds`]: how to judge.
//! - [`verdicts`]: what the gate found ([`CheckReport`], [`Judgement`]) and [`check`], which finds it.
//! - [`render`]: the findings as a terminal table, Markdown, JSON and GitHub annotations.
//! - [`args`]: the gate's command-line options, shared by both tools.
#![deny(missing_docs)]

pub mod args;
mod error;
pub mod options;
pub mod render;
pub mod series;
pub mod stats;
pub mod thresholds;
pub mod verdicts;

pub use args::GateArgs;
pub use error::GateError;
pub use options::{GateOptions, Statistic};
pub use stats::Verdict;
pub use thresholds::Thresholds;
pub use verdicts::{check, CheckReport, Judgement, OpenRegression};
