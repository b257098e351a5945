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

/// What the gate judges: `time` (the statistic of `stats`, seconds) or a metric an entry keeps in
/// `extra_info.metrics` (`memory` in bytes, `energy` in joules, any other name), lower better.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Metric(String);

/// The default threshold of memory, a fraction: peak memory barely varies from run to run (see
/// the README's measurement), so 5% is well clear of its noise.
pub const MEMORY_THRESHOLD: f64 = 0.05;

impl Metric {
    /// Time, what the gate judged before it judged other metrics.
    pub fn time() -> Metric {
        Metric("time".into())
    }

    /// The metric named `name`: `time`, or a key of `extra_info.metrics`.
    pub fn parse(name: &str) -> Result<Metric, String> {
        let fine = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
        if name.is_empty() || !name.chars().all(fine) {
            return Err(format!(
                "{name:?} is no metric name: time, memory, energy or a key of extra_info.metrics (letters, digits, _ - .)"
            ));
        }
        Ok(Metric(name.to_owned()))
    }

    /// Its name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is time.
    pub fn is_time(&self) -> bool {
        self.0 == "time"
    }

    /// Its default threshold, a fraction, given the one asked for time.
    pub fn default_threshold(&self, time: f64) -> f64 {
        match self.as_str() {
            "memory" => MEMORY_THRESHOLD,
            _ => time,
        }
    }
}

impl Default for Metric {
    fn default() -> Self {
        Metric::time()
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the gate judges.
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// The statistic compared.
    pub stat: Statistic,
    /// The metrics judged, each on its own (empty: time). [`crate::check`] judges each with
    /// [`GateOptions::for_metric`], whose first metric is the one being judged.
    pub metrics: Vec<Metric>,
    /// Default threshold of time (and of metrics without their own default), a fraction (0.10 = 10%).
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
            metrics: Vec::new(),
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

impl GateOptions {
    /// The metrics judged, in the order asked (time when none was).
    pub fn metrics(&self) -> Vec<Metric> {
        if self.metrics.is_empty() {
            vec![Metric::time()]
        } else {
            self.metrics.clone()
        }
    }

    /// The metric being judged: the first asked.
    pub fn metric(&self) -> Metric {
        self.metrics.first().cloned().unwrap_or_default()
    }

    /// These options judging `metric` alone, with its default threshold.
    pub fn for_metric(&self, metric: &Metric) -> GateOptions {
        GateOptions {
            metrics: vec![metric.clone()],
            threshold: metric.default_threshold(self.threshold),
            ..self.clone()
        }
    }

    /// The threshold of `fullname`'s series of the metric being judged.
    pub fn threshold_of(&self, fullname: &str) -> f64 {
        let metric = self.metric();
        self.thresholds
            .for_metric(metric.as_str(), fullname)
            .unwrap_or(self.threshold)
    }
}
