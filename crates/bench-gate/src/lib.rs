//! The regression gate: judges a run's benchmarks against the recent history of their series and
//! reports the verdicts, for `aggregate --check` and `run-benchmarks --check`.
//!
//! - [`stats`]: the statistics (levels, noise, Student's t, binomial tails, change points).
//! - [`series`]: which past runs form a benchmark's series and its baseline, read from a history
//!   and its archive.
//! - [`state`]: what earlier runs left for a series' next check (open regressions, its level).
//! - [`judge`]: the verdict of one series' new measurements.
//! - [`options`] and [`thresholds`]: how to judge.
//! - [`verdicts`]: what the gate found ([`CheckReport`], [`Judgement`]) and [`check`], which finds it.
//! - [`render`]: the findings as a terminal table, Markdown, JSON and GitHub annotations.
//! - [`mod@backtest`]: the gate replayed over a history that already exists.
//! - [`args`]: the gate's command-line options, shared by both tools.
#![deny(missing_docs)]

pub mod args;
pub mod backtest;
mod error;
pub mod judge;
pub mod options;
pub mod render;
pub mod series;
pub mod state;
pub mod stats;
pub mod thresholds;
pub mod verdicts;

pub use args::GateArgs;
pub use backtest::{backtest, Backtest};
pub use error::GateError;
pub use judge::Verdict;
pub use options::{GateOptions, Metric, Statistic};
pub use thresholds::Thresholds;
pub use verdicts::{check, recheck, CheckReport, Judgement, OpenRegression, RunWide, StepSize};
