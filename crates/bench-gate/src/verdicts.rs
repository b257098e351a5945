//! What the gate found: a [`Judgement`] per benchmark in a [`CheckReport`], and [`check`], which
//! judges a run's entries against a history.

use std::collections::BTreeMap;
use std::path::Path;

use bench_model::{CommitInfo, HistoryEntry};
use serde::Serialize;

use crate::error::GateError;
use crate::options::GateOptions;
use crate::series::{self, SeriesKey};
use crate::stats::{self, Verdict};

/// One benchmark's line of the gate's report.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// The benchmark.
    pub fullname: String,
    /// The machine, as its series key.
    pub machine: String,
    /// `regression`, `improvement`, `unchanged` or `insufficient_history`.
    pub verdict: Verdict,
    /// Baseline, seconds.
    pub baseline: Option<f64>,
    /// The value judged, seconds.
    pub value: f64,
    /// `value / baseline - 1`.
    pub change: Option<f64>,
    /// The threshold applied, a fraction.
    pub threshold: f64,
    /// Run-to-run noise, a fraction.
    pub noise: Option<f64>,
    /// The branch the baseline came from.
    pub baseline_branch: Option<String>,
    /// Runs of the series on that branch that were considered.
    pub history: usize,
    /// Why, when the verdict needs explaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Judgement {
    /// Adds `text` to the note.
    pub fn add_note(&mut self, text: &str) {
        self.note = Some(match self.note.take() {
            Some(note) => format!("{note}; {text}"),
            None => text.to_owned(),
        });
    }
}

/// The gate's findings for one history, or several joined.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// The statistic compared.
    pub statistic: &'static str,
    /// One per new benchmark, in report order.
    pub benchmarks: Vec<Judgement>,
}

impl CheckReport {
    /// Benchmarks with a confirmed regression.
    pub fn regressions(&self) -> usize {
        self.suspects().count()
    }

    /// The benchmarks judged a regression.
    pub fn suspects(&self) -> impl Iterator<Item = &Judgement> {
        self.benchmarks
            .iter()
            .filter(|j| j.verdict == Verdict::Regression)
    }

    /// Joins the reports of several suites.
    pub fn extend(&mut self, other: CheckReport) {
        self.statistic = other.statistic;
        self.benchmarks.extend(other.benchmarks);
    }
}

/// Judges `entries` (a run, or a run and its reruns: values of one series are judged on their
/// median) against the history at `path`, which may not exist yet.
pub fn check(
    path: &Path,
    entries: &[HistoryEntry],
    options: &GateOptions,
) -> Result<CheckReport, GateError> {
    // New values by series, in the order benchmarks first appear.
    let mut order: Vec<SeriesKey> = Vec::new();
    let mut new: BTreeMap<SeriesKey, (Vec<f64>, Option<&CommitInfo>)> = BTreeMap::new();
    for entry in entries {
        let key = series::of_entry(entry);
        let slot = new.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (Vec::new(), entry.commit_info.as_ref())
        });
        slot.0.push(series::value_of(entry, options.stat));
    }
    let past = series::past_runs(path, &order, options)?;

    let mut report = CheckReport {
        statistic: options.stat.as_str(),
        benchmarks: Vec::new(),
    };
    for key in order {
        let (values, commit) = &new[&key];
        let runs = past.get(&key).map(Vec::as_slice).unwrap_or_default();
        let own_branch = commit.and_then(|c| c.branch());
        let (branch, history) = series::baseline(runs, own_branch, options);
        let threshold = options.thresholds.for_benchmark(&key.0, options.threshold);
        let assessment = stats::judge(&history, values, threshold, options.min_history);
        report.benchmarks.push(Judgement {
            fullname: key.0,
            machine: key.1,
            verdict: assessment.verdict,
            baseline: assessment.baseline,
            value: assessment.value,
            change: assessment.change,
            threshold,
            noise: assessment.noise,
            baseline_branch: branch,
            history: history.len(),
            note: assessment.note,
        });
    }
    Ok(report)
}
