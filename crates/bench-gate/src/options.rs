//! How the gate judges: the statistic compared, thresholds, the baseline window and branch.

use serde::Serialize;

use crate::thresholds::Thresholds;

/// The statistic of `stats` the gate compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    /// Fastest round: least noisy, blind to slow paths.
    Min,
    /// Median round: robust to outlier rounds.
    #[default]
    Median,
    /// Mean round.
    Mean,
}

impl Statistic {
    /// Its name in `stats`.
    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::Min => "min",
            Statistic::Median => "median",
            Statistic::Mean => "mean",
        }
    }
}

/// How the gate judges.
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// The statistic compared.
    pub stat: Statistic,
    /// Default threshold, a fraction (0.10 = 10%).
    pub threshold: f64,
    /// Per-benchmark thresholds.
    pub thresholds: Thresholds,
    /// Past runs of the series in the baseline window.
    pub window: usize,
    /// Runs needed before judging.
    pub min_history: usize,
    /// The branch whose runs form the baseline; by default the run's own, then main, then master.
    pub baseline_branch: Option<String>,
    /// Checks in one pipeline run (suites times process counts): they share the run's false
    /// alarm level.
    pub checks_per_run: usize,
    /// Benchmarks (fullname globs) whose open regressions this run accepts: closed without a
    /// recovery, their slow level the series' level from now on.
    pub accept: Vec<glob::Pattern>,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            stat: Statistic::Median,
            threshold: 0.10,
            thresholds: Thresholds::default(),
            window: 20,
            min_history: 5,
            baseline_branch: None,
            checks_per_run: 1,
            accept: Vec::new(),
        }
    }
}
