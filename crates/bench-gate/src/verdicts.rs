//! What the gate found: a [`Judgement`] per benchmark in a [`CheckReport`], and [`check`], which
//! judges a run's entries against a history.

use std::collections::BTreeMap;
use std::path::Path;

use bench_model::{CommitInfo, CommitRange, GateRecord, HistoryEntry, RunRef};
use serde::Serialize;

use crate::error::GateError;
use crate::options::GateOptions;
use crate::series::{self, PastRun, SeriesKey};
use crate::stats::{self, Assessment, Verdict};

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
    /// For a regression, improvement or recovery: the runs on either side of the step (`to` is
    /// this run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<CommitRange>,
    /// Why, when the verdict needs explaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A regression found by an earlier run that no later step has brought back.
#[derive(Debug, Clone, Serialize)]
pub struct OpenRegression {
    /// The benchmark.
    pub fullname: String,
    /// The machine, as its series key.
    pub machine: String,
    /// How much slower the series has been since, `new / before - 1`.
    pub change: f64,
    /// The runs on either side of the step.
    pub range: CommitRange,
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
    /// Regressions found earlier that are still open, per series of this run.
    pub open: Vec<OpenRegression>,
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
        self.open.extend(other.open);
    }

    /// Keeps each verdict with its run's entries (`gate` of each entry), so that plots can mark
    /// flagged runs and later checks know which regressions are open.
    pub fn record_in(&self, entries: &mut [HistoryEntry]) {
        for entry in entries {
            let (fullname, machine) = series::of_entry(entry);
            let judgement = self
                .benchmarks
                .iter()
                .find(|j| j.fullname == fullname && j.machine == machine);
            if let Some(j) = judgement {
                entry.gate = Some(GateRecord {
                    verdict: j.verdict.as_str().to_owned(),
                    change: j.change,
                    baseline: j.baseline,
                    range: j.range.clone(),
                });
            }
        }
    }
}

/// Judges `entries` (a run, or a run and its reruns: values of one series are judged on their
/// median) against the history at `path`, which may not exist yet, and lists the regressions of
/// those series that are still open.
pub fn check(
    path: &Path,
    entries: &[HistoryEntry],
    options: &GateOptions,
) -> Result<CheckReport, GateError> {
    // New values by series, in the order benchmarks first appear.
    let mut order: Vec<SeriesKey> = Vec::new();
    let mut new: BTreeMap<SeriesKey, (Vec<f64>, Option<&CommitInfo>, RunRef)> = BTreeMap::new();
    for entry in entries {
        let key = series::of_entry(entry);
        let slot = new.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (
                Vec::new(),
                entry.commit_info.as_ref(),
                series::run_of(entry),
            )
        });
        slot.0.push(series::value_of(entry, options.stat));
    }
    let past = series::past_runs(path, &order, options)?;

    let mut report = CheckReport {
        statistic: options.stat.as_str(),
        ..CheckReport::default()
    };
    for key in order {
        let (values, commit, this_run) = &new[&key];
        let runs = past.runs.get(&key).map(Vec::as_slice).unwrap_or_default();
        let own_branch = commit.and_then(|c| c.branch());
        let (branch, on_branch) = series::baseline(runs, own_branch, options);
        let usable: Vec<&PastRun> = on_branch
            .into_iter()
            .filter(|r| stats::usable(r.value))
            .collect();
        let window_start = usable.len().saturating_sub(options.window);
        let window = &usable[window_start..];
        let history: Vec<f64> = window.iter().map(|r| r.value).collect();
        // Up to two windows before it sharpen the noise estimate.
        let earlier: Vec<f64> = usable
            [window_start.saturating_sub(2 * options.window)..window_start]
            .iter()
            .map(|r| r.value)
            .collect();
        let threshold = options.thresholds.for_benchmark(&key.0, options.threshold);
        let assessment = stats::judge(&earlier, &history, values, threshold, options.min_history);
        let mut open = open_regressions(&usable, window, &assessment, threshold);
        let mut verdict = assessment.verdict;
        let step = |from: &PastRun| CommitRange {
            from: from.run.clone(),
            to: this_run.clone(),
        };
        let mut range = match verdict {
            Verdict::Regression | Verdict::Improvement => window.last().map(|r| step(r)),
            _ => None,
        };
        let (mut baseline, mut change) = (assessment.baseline, assessment.change);
        if !matches!(verdict, Verdict::Regression | Verdict::InsufficientHistory) {
            // Back where the series was before an open regression: recovered, against the
            // slowest level it leaves.
            let left = open
                .iter()
                .filter(|o| o.is_back(assessment.value, threshold))
                .map(Open::level)
                .reduce(f64::max);
            if let Some(level) = left {
                open.retain(|o| !o.is_back(assessment.value, threshold));
                verdict = Verdict::Recovered;
                baseline = Some(level);
                change = Some(assessment.value / level - 1.0);
                range = window.last().map(|r| step(r));
            }
        }
        if verdict == Verdict::InsufficientHistory {
            range = None;
        }
        report.open.extend(open.into_iter().map(|o| OpenRegression {
            fullname: key.0.clone(),
            machine: key.1.clone(),
            change: o.change,
            range: o.range,
        }));
        let adopted = past.adopted.get(&key);
        let mut judgement = Judgement {
            verdict,
            baseline,
            value: assessment.value,
            change,
            threshold,
            noise: assessment.noise,
            baseline_branch: branch,
            history: history.len(),
            note: assessment.note,
            range,
            fullname: key.0,
            machine: key.1,
        };
        if let Some(runs) = adopted {
            judgement.add_note(&format!(
                "{runs} run(s) of the original script (no machine recorded) counted as this machine's"
            ));
        }
        if judgement
            .range
            .as_ref()
            .is_some_and(|r| r.from.id.is_some() && r.from.id == r.to.id)
        {
            judgement.add_note("no commit between the two runs: the machine or noise changed, not the code (--confirm N tells noise from a lasting change)");
        }
        report.benchmarks.push(judgement);
    }
    Ok(report)
}

/// An open regression of one series, as it is tracked while a check runs.
struct Open {
    /// The runs on either side of the step.
    range: CommitRange,
    /// How much slower the series became, `new / before - 1`.
    change: f64,
    /// The level before it, seconds.
    before: f64,
}

impl Open {
    /// The regressed level, seconds.
    fn level(&self) -> f64 {
        self.before * (1.0 + self.change)
    }

    /// Whether `value` is back: within the threshold of the level before the regression, and
    /// nearer that level than the regressed one (so noise on a small step does not close it).
    fn is_back(&self, value: f64, threshold: f64) -> bool {
        value <= self.before * (1.0 + threshold)
            && (value / self.before).ln() < (1.0 + self.change).ln() / 2.0
    }
}

/// The regressions of a series still open before this run.
///
/// Where its runs carry the gate's verdicts, they are replayed: a regression opens, a later
/// improvement back within the threshold of the level before it closes it. A series recorded
/// without verdicts falls back to the latest level shift in the window, when it was a slowdown
/// beyond the threshold.
fn open_regressions(
    runs: &[&PastRun],
    window: &[&PastRun],
    assessment: &Assessment,
    threshold: f64,
) -> Vec<Open> {
    let judged = |r: &&&PastRun| {
        r.gate.as_ref().is_some_and(|g| {
            [
                Verdict::Regression,
                Verdict::Improvement,
                Verdict::Recovered,
            ]
            .iter()
            .any(|v| v.as_str() == g.verdict)
        })
    };
    if runs.iter().any(|r| judged(&r)) {
        let mut open: Vec<Open> = Vec::new();
        for run in runs.iter().filter(|r| judged(r)) {
            let gate = run.gate.as_ref().expect("judged");
            if gate.verdict == Verdict::Regression.as_str() {
                let change = gate
                    .change
                    .unwrap_or(run.value / gate.baseline.unwrap_or(run.value) - 1.0);
                let before = gate.baseline.unwrap_or(run.value / (1.0 + change));
                if let Some(range) = &gate.range {
                    open.push(Open {
                        range: range.clone(),
                        change,
                        before,
                    });
                }
            } else {
                open.retain(|o| !o.is_back(run.value, threshold));
            }
        }
        return open;
    }
    let Some(shift) = assessment.shift else {
        return Vec::new();
    };
    if shift.change <= threshold {
        return Vec::new();
    }
    let (from, to) = (window[shift.from], window[shift.to]);
    let range = CommitRange {
        from: from.run.clone(),
        to: to.run.clone(),
    };
    let before = assessment.baseline.unwrap_or(to.value) / (1.0 + shift.change);
    vec![Open {
        range,
        change: shift.change,
        before,
    }]
}
