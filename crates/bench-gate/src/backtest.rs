//! Replaying the gate over a history that already exists, run by run, as nightly CI would have
//! judged it: what it would have said about a project's past before anyone relies on it.
//!
//! The history (its archive chunks first, then the current file) is cut into runs (consecutive
//! entries of one commit, time and machine); each run is judged against the runs before it with
//! the same state machine as a nightly check, and what it found is kept for the next one as a
//! check would have stored it. Verdicts stored in the history are ignored: this is a fresh replay.

use std::collections::BTreeMap;
use std::path::Path;

use bench_model::{archive, history, RunRef, StoredEntry};
use serde::Serialize;

use crate::error::GateError;
use crate::judge::Verdict;
use crate::options::{GateOptions, Metric};
use crate::series::{self, Past, PastRun, SeriesKey};
use crate::verdicts::{judge_run, CheckReport, Judgement, Measurement, OpenRegression};

/// What the gate would have said of each run of a history, and in sum.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Backtest {
    /// The statistic compared.
    pub statistic: &'static str,
    /// Runs replayed.
    pub runs: usize,
    /// Runs that `--fail-on-regression` would have failed.
    pub failing_on_regression: usize,
    /// Runs that `--fail-on-open` would have failed.
    pub failing_on_open: usize,
    /// New regressions found.
    pub regressions: usize,
    /// Recoveries found.
    pub recoveries: usize,
    /// Inconclusive slowdowns that were back within the threshold at the series' next run: the
    /// one-run excursions a single-run gate would have failed on.
    pub one_run_excursions: usize,
    /// Runs that moved as a whole.
    pub run_wide: usize,
    /// Every run with a finding (a step, a suspect, a run-wide shift), in order.
    pub findings: Vec<RunFindings>,
    /// Regressions still open after the last run.
    pub open_at_end: Vec<OpenRegression>,
}

/// One run's findings in a backtest.
#[derive(Debug, Clone, Serialize)]
pub struct RunFindings {
    /// The run's position in the history (0 is the oldest).
    pub index: usize,
    /// The run.
    pub run: RunRef,
    /// Whether `--fail-on-regression` would have failed it.
    pub fails_on_regression: bool,
    /// Whether `--fail-on-open` would have failed it.
    pub fails_on_open: bool,
    /// The benchmarks with a verdict other than `unchanged` and `insufficient_history`.
    pub judgements: Vec<Judgement>,
    /// The run moved as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_wide: Option<crate::verdicts::RunWide>,
}

impl Backtest {
    /// Names the suite of every finding.
    pub fn label_suite(&mut self, suite: &str) {
        let name = Some(suite.to_owned());
        for run in &mut self.findings {
            run.judgements
                .iter_mut()
                .for_each(|j| j.suite = name.clone());
            if let Some(r) = &mut run.run_wide {
                r.suite = name.clone();
            }
        }
        self.open_at_end
            .iter_mut()
            .for_each(|o| o.suite = name.clone());
    }

    /// Adds another history's backtest (another suite's) to this one.
    pub fn extend(&mut self, other: Backtest) {
        self.statistic = other.statistic;
        self.runs += other.runs;
        self.failing_on_regression += other.failing_on_regression;
        self.failing_on_open += other.failing_on_open;
        self.regressions += other.regressions;
        self.recoveries += other.recoveries;
        self.one_run_excursions += other.one_run_excursions;
        self.run_wide += other.run_wide;
        self.findings.extend(other.findings);
        self.open_at_end.extend(other.open_at_end);
    }
}

/// Replays the gate over the history at `path` (and its archive) with `options`.
pub fn backtest(path: &Path, options: &GateOptions) -> Result<Backtest, GateError> {
    let mut entries = Vec::new();
    for (_, chunk) in archive::chunks(path) {
        entries.extend(read(&chunk)?);
    }
    entries.extend(read(path)?);
    Ok(replay(entries, options))
}

fn read(path: &Path) -> Result<Vec<StoredEntry>, GateError> {
    Ok(history::read_stored(path)?
        .map(|h| h.entries)
        .unwrap_or_default())
}

/// Replays the gate over `entries` (a whole history, oldest first), judging the first metric
/// asked (time by default).
pub fn replay(entries: Vec<StoredEntry>, options: &GateOptions) -> Backtest {
    let metric = options.metric();
    let options = &options.for_metric(&metric);
    let mut past = Past::default();
    let mut report = Backtest {
        statistic: options.stat.as_str(),
        ..Backtest::default()
    };
    // Suspects, by series, waiting for their series' next run to say whether they were back.
    let mut suspects: BTreeMap<SeriesKey, f64> = BTreeMap::new();
    let mut last: Option<CheckReport> = None;
    for (index, run) in runs(entries).into_iter().enumerate() {
        let measured: Vec<Measurement> = run
            .iter()
            .filter_map(|entry| {
                Some(Measurement {
                    key: series::of_stored(entry),
                    value: series::stored_value(entry, &metric, options.stat)?,
                    unit: match metric.is_time() {
                        true => "s".into(),
                        false => entry
                            .metric(metric.as_str())?
                            .unit
                            .clone()
                            .unwrap_or_default(),
                    },
                    branch: entry.branch().map(str::to_owned),
                    run: entry.run_ref(),
                    procs: entry.procs,
                })
            })
            .collect();
        if measured.is_empty() {
            continue;
        }
        let found = judge_run(&past, &measured, options, None);
        report.runs += 1;
        for j in &found.benchmarks {
            let key = (j.fullname.clone(), j.machine.clone());
            if let Some(baseline) = suspects.remove(&key) {
                if j.value <= baseline * (1.0 + j.threshold) {
                    report.one_run_excursions += 1;
                }
            }
            if j.verdict == Verdict::Inconclusive && j.rerun {
                if let Some(baseline) = j.baseline {
                    suspects.insert(key, baseline);
                }
            }
        }
        // What a check stores with the run's entries is what the next run continues from.
        for m in &measured {
            let record = found
                .benchmarks
                .iter()
                .find(|j| j.fullname == m.key.0 && j.machine == m.key.1)
                .and_then(|j| j.record.clone());
            past.runs.entry(m.key.clone()).or_default().push(PastRun {
                branch: m.branch.clone(),
                value: m.value,
                run: m.run.clone(),
                gate: record,
            });
        }
        let new = found.regressions() > 0;
        let fails_on_open = new || !found.open.is_empty();
        report.failing_on_regression += usize::from(new);
        report.failing_on_open += usize::from(fails_on_open);
        report.regressions += found.regressions();
        report.recoveries += found
            .benchmarks
            .iter()
            .filter(|j| j.verdict == Verdict::Recovered)
            .count();
        report.run_wide += found.run_wide.len();
        let judgements: Vec<Judgement> = found
            .benchmarks
            .iter()
            .filter(|j| !matches!(j.verdict, Verdict::Unchanged | Verdict::InsufficientHistory))
            .cloned()
            .collect();
        if !judgements.is_empty() || !found.run_wide.is_empty() {
            report.findings.push(RunFindings {
                index,
                run: measured[0].run.clone(),
                fails_on_regression: new,
                fails_on_open,
                judgements,
                run_wide: found.run_wide.first().cloned(),
            });
        }
        last = Some(found);
    }
    report.open_at_end = open_after(&past, last.as_ref(), &metric);
    report
}

/// The regressions open after the last run: each series' state as its last record left it.
fn open_after(past: &Past, last: Option<&CheckReport>, metric: &Metric) -> Vec<OpenRegression> {
    let mut open = Vec::new();
    for (key, runs) in &past.runs {
        let Some(records) = runs
            .iter()
            .rev()
            .find_map(|r| r.gate.as_ref()?.open.clone())
        else {
            continue;
        };
        let procs = last
            .and_then(|l| {
                l.benchmarks
                    .iter()
                    .find(|j| j.fullname == key.0 && j.machine == key.1)
            })
            .and_then(|j| j.procs);
        open.extend(records.into_iter().map(|o| OpenRegression {
            fullname: key.0.clone(),
            metric: metric.clone(),
            machine: key.1.clone(),
            procs,
            suite: None,
            change: o.level / o.before - 1.0,
            range: o.range,
            runs: o.runs,
        }));
    }
    open
}

/// `entries` cut into runs: consecutive entries of one commit, time and machine.
fn runs(entries: Vec<StoredEntry>) -> Vec<Vec<StoredEntry>> {
    let mut runs: Vec<Vec<StoredEntry>> = Vec::new();
    let same =
        |a: &StoredEntry, b: &StoredEntry| a.run_ref() == b.run_ref() && a.machine == b.machine;
    for mut entry in entries {
        // A fresh replay: what a check once stored is not what this one would say.
        entry.gate = None;
        match runs.last_mut() {
            Some(run) if same(&run[0], &entry) => run.push(entry),
            _ => runs.push(vec![entry]),
        }
    }
    runs
}
