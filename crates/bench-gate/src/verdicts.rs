//! What the gate found: a [`Judgement`] per benchmark in a [`CheckReport`], and [`check`], which
//! judges one run's entries against a history and the state its earlier runs left.

use std::collections::BTreeMap;
use std::path::Path;

use bench_model::{CommitInfo, CommitRange, GateRecord, HistoryEntry, OpenRecord, RunRef};
use serde::Serialize;

use crate::error::GateError;
use crate::judge::{self, Assessment, Judging, Past, Reference, Verdict, ALPHA, FAMILY_FLOOR};
use crate::options::{GateOptions, Metric};
use crate::series::{self, PastRun, SeriesKey};
use crate::state::SeriesState;
use crate::stats;

/// A run moved as a whole when at least this many benchmarks were judged and most moved together.
const RUN_WIDE_MIN: usize = 5;

/// Whether a unit is seconds, which the reports of time have always left unsaid.
fn is_seconds(unit: &str) -> bool {
    unit == "s"
}

/// One benchmark's line of the gate's report.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// The benchmark.
    pub fullname: String,
    /// The metric judged (said when it is not time).
    #[serde(skip_serializing_if = "Metric::is_time")]
    pub metric: Metric,
    /// The unit of the values (said when it is not seconds).
    #[serde(skip_serializing_if = "is_seconds")]
    pub unit: String,
    /// The machine, as its series key (with ` xN` under a launcher).
    pub machine: String,
    /// The MPI process count, under a launcher.
    pub procs: Option<u64>,
    /// The suite, when a pipeline judged several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// What the run is, against its series.
    pub verdict: Verdict,
    /// The reference level, seconds (or the metric's unit): for a step, the level before it.
    pub baseline: Option<f64>,
    /// The value judged, seconds or the metric's unit (the median of the run and its reruns).
    pub value: f64,
    /// `value / baseline - 1`.
    pub change: Option<f64>,
    /// The threshold applied, a fraction.
    pub threshold: f64,
    /// Run-to-run noise, a fraction.
    pub noise: Option<f64>,
    /// The branch the baseline came from.
    pub baseline_branch: Option<String>,
    /// Runs of the series on that branch in the window.
    pub history: usize,
    /// For a step: the last run on the old level and the first on the new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<CommitRange>,
    /// For a step: how large it is and what it rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<StepSize>,
    /// Why, when the verdict needs explaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Worth a confirmation rerun (`--confirm N`).
    #[serde(skip)]
    pub rerun: bool,
    /// What is stored with the run's entry: the verdict and the series' state after it.
    #[serde(skip)]
    pub record: Option<GateRecord>,
}

/// A step's size and the measurements it rests on.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepSize {
    /// The new level against the one before, `new / before - 1`.
    pub change: f64,
    /// Runs on the new level, this one included.
    pub runs: usize,
    /// Measurements on the new level (runs and confirmation reruns).
    pub measurements: usize,
}

/// A regression found by an earlier run that has not recovered.
#[derive(Debug, Clone, Serialize)]
pub struct OpenRegression {
    /// The benchmark.
    pub fullname: String,
    /// The metric that regressed (said when it is not time).
    #[serde(skip_serializing_if = "Metric::is_time")]
    pub metric: Metric,
    /// The machine, as its series key.
    pub machine: String,
    /// The MPI process count, under a launcher.
    pub procs: Option<u64>,
    /// The suite, when a pipeline judged several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// How much slower the series has been since, `level / before - 1`.
    pub change: f64,
    /// The runs on either side of the step.
    pub range: CommitRange,
    /// Runs measured on the slow level so far.
    pub runs: usize,
}

/// Most benchmarks of a run moved together: the runner, or a change that touches everything.
#[derive(Debug, Clone, Serialize)]
pub struct RunWide {
    /// The metric that moved (said when it is not time).
    #[serde(skip_serializing_if = "Metric::is_time")]
    pub metric: Metric,
    /// The suite, when a pipeline judged several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// How much the run moved as a whole, `+0.25`: 25% slower.
    pub change: f64,
    /// Benchmarks that moved with it.
    pub moved: usize,
    /// Benchmarks judged.
    pub of: usize,
    /// The run before moved the same way: no longer taken out, each benchmark is judged on it.
    pub confirmed: bool,
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
    /// Runs that moved as a whole (one per history judged, at most).
    pub run_wide: Vec<RunWide>,
    /// Open regressions this run accepted (`--accept`): closed without a recovery.
    pub accepted: Vec<OpenRegression>,
    /// Series judged with a history: how many share the run's false-alarm level.
    #[serde(skip)]
    pub family: usize,
}

impl CheckReport {
    /// New regressions found by this run.
    pub fn regressions(&self) -> usize {
        self.new_regressions().count()
    }

    /// The benchmarks judged a new regression.
    pub fn new_regressions(&self) -> impl Iterator<Item = &Judgement> {
        self.benchmarks
            .iter()
            .filter(|j| j.verdict == Verdict::Regression)
    }

    /// The benchmarks a confirmation rerun would settle: inconclusive slowdowns, recoveries seen
    /// once, and those that moved with an unconfirmed run-wide shift.
    pub fn to_confirm(&self) -> impl Iterator<Item = &Judgement> {
        self.benchmarks.iter().filter(|j| j.rerun)
    }

    /// Joins the reports of several suites.
    pub fn extend(&mut self, other: CheckReport) {
        self.statistic = other.statistic;
        self.benchmarks.extend(other.benchmarks);
        self.open.extend(other.open);
        self.run_wide.extend(other.run_wide);
        self.accepted.extend(other.accepted);
        self.family += other.family;
    }

    /// Names the suite of every finding (a pipeline judges one suite at a time).
    pub fn label_suite(&mut self, suite: &str) {
        let name = Some(suite.to_owned());
        self.benchmarks
            .iter_mut()
            .for_each(|j| j.suite = name.clone());
        self.open.iter_mut().for_each(|o| o.suite = name.clone());
        self.run_wide
            .iter_mut()
            .for_each(|r| r.suite = name.clone());
    }

    /// Takes the verdicts of `again` (the suspects judged on the run and their reruns) in place
    /// of this run's, with `note` on each.
    pub fn take_confirmed(&mut self, again: CheckReport, note: &str) {
        let same = |a: &str, b: &str, c: &str, d: &str| a == c && b == d;
        for judgement in &mut self.benchmarks {
            let found = again.benchmarks.iter().find(|j| {
                j.metric == judgement.metric
                    && same(
                        &j.fullname,
                        &j.machine,
                        &judgement.fullname,
                        &judgement.machine,
                    )
            });
            if let Some(found) = found {
                *judgement = found.clone();
                judgement.add_note(note);
            }
        }
        let rejudged = |o: &OpenRegression| {
            again.benchmarks.iter().any(|j| {
                j.metric == o.metric && same(&j.fullname, &j.machine, &o.fullname, &o.machine)
            })
        };
        self.open.retain(|o| !rejudged(o));
        self.open.extend(again.open);
        self.accepted.retain(|o| !rejudged(o));
        self.accepted.extend(again.accepted);
    }

    /// Keeps each verdict, and the series' state after it, with its run's entries (`gate` of
    /// each entry): the plots mark flagged runs, and the next check continues from there.
    /// Time's verdict goes to `gate`, another metric's to `gate_by_metric`.
    pub fn record_in(&self, entries: &mut [HistoryEntry]) {
        for entry in entries {
            let (fullname, machine) = series::of_entry(entry);
            let judgements = self
                .benchmarks
                .iter()
                .filter(|j| j.fullname == fullname && j.machine == machine);
            for judgement in judgements {
                let Some(record) = judgement.record.clone() else {
                    continue;
                };
                if judgement.metric.is_time() {
                    entry.gate = Some(record);
                } else {
                    let metric = judgement.metric.as_str().to_owned();
                    entry.gate_by_metric.insert(metric, record);
                }
            }
        }
    }

    /// The part of this report that judged `metric`, as a report of its own (its false-alarm
    /// family counted again when it holds other metrics too).
    fn of_metric(&self, metric: &Metric) -> CheckReport {
        let mine = |m: &Metric| m == metric;
        let benchmarks: Vec<Judgement> = self
            .benchmarks
            .iter()
            .filter(|j| mine(&j.metric))
            .cloned()
            .collect();
        let mixed = self.benchmarks.len() != benchmarks.len();
        let judged = benchmarks
            .iter()
            .filter(|j| j.verdict != Verdict::InsufficientHistory)
            .count();
        CheckReport {
            statistic: self.statistic,
            family: if mixed { judged } else { self.family },
            run_wide: self
                .run_wide
                .iter()
                .filter(|r| mine(&r.metric))
                .cloned()
                .collect(),
            open: self
                .open
                .iter()
                .filter(|o| mine(&o.metric))
                .cloned()
                .collect(),
            accepted: self
                .accepted
                .iter()
                .filter(|o| mine(&o.metric))
                .cloned()
                .collect(),
            benchmarks,
        }
    }
}

/// Judges `entries` (one run; values after the first of a series are its confirmation reruns)
/// against the history at `path`, which may not exist yet, and lists the regressions of those
/// series that are still open.
pub fn check(
    path: &Path,
    entries: &[HistoryEntry],
    options: &GateOptions,
) -> Result<CheckReport, GateError> {
    let mut report = CheckReport::default();
    for metric in options.metrics() {
        let options = options.for_metric(&metric);
        let measured = Measurement::of_entries(entries, &options);
        let past = series::past_runs(path, &Measurement::keys(&measured), &options)?;
        report.extend(judge_run(&past, &measured, &options, None));
    }
    Ok(report)
}

/// Judges the suspects of `first` again on the run and their reruns (`entries`), with the
/// run-wide shift and false-alarm level `first` found for the whole run.
pub fn recheck(
    path: &Path,
    entries: &[HistoryEntry],
    options: &GateOptions,
    first: &CheckReport,
) -> Result<CheckReport, GateError> {
    let mut report = CheckReport::default();
    for metric in options.metrics() {
        let options = options.for_metric(&metric);
        let first = first.of_metric(&metric);
        let measured = Measurement::of_entries(entries, &options);
        let past = series::past_runs(path, &Measurement::keys(&measured), &options)?;
        report.extend(judge_run(&past, &measured, &options, Some(&first)));
    }
    Ok(report)
}

/// One measurement of a run: a benchmark's value in one entry (a run's series has more than one
/// when it was re-run).
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The series.
    pub key: SeriesKey,
    /// The value of the statistic judged, seconds, or the metric's value.
    pub value: f64,
    /// The value's unit.
    pub unit: String,
    /// The branch the run measured.
    pub branch: Option<String>,
    /// The run, as ranges name it.
    pub run: RunRef,
    /// The MPI process count, under a launcher.
    pub procs: Option<u64>,
}

impl Measurement {
    /// The measurements of new entries of the metric judged (entries without it have none).
    pub fn of_entries(entries: &[HistoryEntry], options: &GateOptions) -> Vec<Measurement> {
        let metric = options.metric();
        entries
            .iter()
            .filter_map(|entry| {
                Some((
                    entry,
                    series::measured(entry, &metric, options.stat)?,
                    series::unit_of(entry, &metric).unwrap_or_default(),
                ))
            })
            .map(|(entry, value, unit)| Measurement {
                key: series::of_entry(entry),
                value,
                unit,
                branch: entry
                    .commit_info
                    .as_ref()
                    .and_then(CommitInfo::branch)
                    .map(str::to_owned),
                run: series::run_of(entry),
                procs: series::procs_of(entry),
            })
            .collect()
    }

    /// The series measured, in the order they first appear.
    pub fn keys(measured: &[Measurement]) -> Vec<SeriesKey> {
        let mut keys: Vec<SeriesKey> = Vec::new();
        for m in measured {
            if !keys.contains(&m.key) {
                keys.push(m.key.clone());
            }
        }
        keys
    }
}

/// One series of the run, before it is judged.
struct Case<'a> {
    key: SeriesKey,
    unit: String,
    procs: Option<u64>,
    values: Vec<f64>,
    this_run: RunRef,
    branch: Option<String>,
    joinable: bool,
    usable: Vec<&'a PastRun>,
    window_start: usize,
    state: SeriesState,
    threshold: f64,
    reference: Option<Reference>,
}

impl Case<'_> {
    fn window(&self) -> &[&PastRun] {
        &self.usable[self.window_start..]
    }
}

/// Judges one run's measurements against `past`, the series' earlier runs.
pub(crate) fn judge_run(
    past: &series::Past,
    measured: &[Measurement],
    options: &GateOptions,
    first: Option<&CheckReport>,
) -> CheckReport {
    let order = Measurement::keys(measured);
    let new: BTreeMap<&SeriesKey, Vec<&Measurement>> =
        measured.iter().fold(BTreeMap::new(), |mut by, m| {
            by.entry(&m.key).or_insert_with(Vec::new).push(m);
            by
        });
    let cases: Vec<Case> = order
        .iter()
        .map(|key| {
            let measurements = &new[key];
            let values: Vec<f64> = measurements.iter().map(|m| m.value).collect();
            let first_one = measurements[0];
            let runs = past.runs.get(key).map(Vec::as_slice).unwrap_or_default();
            let own_branch = first_one.branch.as_deref();
            let (branch, on_branch) = series::baseline(runs, own_branch, options);
            let usable: Vec<&PastRun> = on_branch
                .into_iter()
                .filter(|r| stats::usable(r.value))
                .collect();
            let threshold = options.threshold_of(&key.0);
            let state = SeriesState::read(&usable, threshold);
            let window_start = usable.len().saturating_sub(options.window);
            let mut case = Case {
                key: key.clone(),
                unit: first_one.unit.clone(),
                procs: first_one.procs,
                values,
                this_run: first_one.run.clone(),
                joinable: own_branch.is_some() && branch.as_deref() == own_branch,
                branch,
                usable,
                window_start,
                state,
                threshold,
                reference: None,
            };
            let enough = case.window().len() >= options.min_history.max(1);
            if enough && case.values.iter().all(|v| stats::usable(*v)) {
                case.reference = Some(reference_of(&case));
            }
            case
        })
        .collect();

    let judged: Vec<&Case> = cases.iter().filter(|c| c.reference.is_some()).collect();
    let run_wide = match first {
        Some(first) => first.run_wide.first().cloned(),
        None => run_wide(&judged).map(|r| RunWide {
            metric: options.metric(),
            ..r
        }),
    };
    let family = first.map_or(judged.len(), |f| f.family);
    let alpha = ALPHA / (family.max(FAMILY_FLOOR) * options.checks_per_run.max(1)) as f64;
    let taken_out = run_wide
        .as_ref()
        .filter(|r| !r.confirmed)
        .map_or(0.0, |r| (1.0 + r.change).ln());

    let mut report = CheckReport {
        statistic: options.stat.as_str(),
        family,
        run_wide: run_wide.clone().into_iter().collect(),
        ..CheckReport::default()
    };
    for case in &cases {
        let (judgement, still_open, accepted) =
            judge_case(case, alpha, taken_out, run_wide.as_ref(), past, options);
        report.open.extend(still_open);
        report.accepted.extend(accepted);
        report.benchmarks.push(judgement);
    }
    report
}

/// The reference level of a case's series.
fn reference_of(case: &Case) -> Reference {
    let window: Vec<f64> = case.window().iter().map(|r| r.value).collect();
    let earlier_start = case.window_start.saturating_sub(2 * window.len().max(1));
    let earlier: Vec<f64> = case.usable[earlier_start..case.window_start]
        .iter()
        .map(|r| r.value)
        .collect();
    let found = case
        .state
        .last_step
        .as_ref()
        .and_then(|(to, level)| Some((position(case.window(), to)?, *level)));
    let past = Past {
        earlier: &earlier,
        window: &window,
        level_from: found.map_or(0, |(at, _)| at),
        stored_level: found.map(|(_, level)| level),
    };
    Reference::of(&past, (1.0 + case.threshold).ln())
}

/// Where the run `run` is in `window`.
fn position(window: &[&PastRun], run: &RunRef) -> Option<usize> {
    window.iter().position(|r| &r.run == run)
}

/// Whether most of the judged series moved together in this run, and whether the run before did.
fn run_wide(judged: &[&Case]) -> Option<RunWide> {
    if judged.len() < RUN_WIDE_MIN {
        return None;
    }
    let deviations: Vec<(f64, f64)> = judged
        .iter()
        .filter_map(|c| {
            let reference = c.reference.as_ref()?;
            Some((reference.deviation(c.values[0]), reference.sigma()))
        })
        .collect();
    let shift = stats::median(&deviations.iter().map(|d| d.0).collect::<Vec<_>>());
    let limits: Vec<f64> = judged.iter().map(|c| (1.0 + c.threshold).ln()).collect();
    let half = stats::median(&limits) / 2.0;
    if shift.abs() <= half {
        return None;
    }
    // Moved with the run: beyond half its threshold and beyond its own noise, so that a third of
    // the benchmarks stepping while the noisy rest scatter is not taken for the runner.
    let moved = deviations
        .iter()
        .zip(&limits)
        .filter(|((d, sigma), l)| d * shift.signum() > (*l / 2.0).max(*sigma))
        .count();
    if moved * 2 < judged.len() {
        return None;
    }
    let before = judged
        .iter()
        .filter(|c| {
            c.usable
                .last()
                .and_then(|r| r.gate.as_ref())
                .and_then(|g| g.run_wide)
                .is_some_and(|w| w.signum() == shift.signum())
        })
        .count();
    Some(RunWide {
        metric: Metric::default(),
        suite: None,
        change: shift.exp() - 1.0,
        moved,
        of: judged.len(),
        confirmed: before * 2 > judged.len(),
    })
}

/// Judges one series: its line of the report, and its regressions still open from earlier runs.
fn judge_case(
    case: &Case,
    alpha: f64,
    taken_out: f64,
    run_wide: Option<&RunWide>,
    past: &series::Past,
    options: &GateOptions,
) -> (Judgement, Vec<OpenRegression>, Vec<OpenRegression>) {
    let (fullname, machine) = (case.key.0.clone(), case.key.1.clone());
    let value = stats::median(&case.values);
    let mut judgement = Judgement {
        fullname,
        metric: options.metric(),
        unit: case.unit.clone(),
        machine,
        procs: case.procs,
        suite: None,
        verdict: Verdict::InsufficientHistory,
        baseline: None,
        value,
        change: None,
        threshold: case.threshold,
        noise: None,
        baseline_branch: case.branch.clone(),
        history: case.window().len(),
        range: None,
        step: None,
        note: None,
        rerun: false,
        record: None,
    };
    let mut open = case.state.open.clone();
    let mut opened_now = false;
    match &case.reference {
        None => {
            let values: Vec<f64> = case.window().iter().map(|r| r.value).collect();
            if !values.is_empty() {
                let baseline = stats::median(&values);
                judgement.baseline = Some(baseline);
                judgement.change = Some(value / baseline - 1.0);
            }
            judgement.note = Some(format!(
                "{} of {} runs needed",
                values.len(),
                options.min_history
            ));
        }
        Some(reference) => {
            let levels = case.state.open_levels();
            // Only a benchmark that moved with the run is judged with the run's move taken out:
            // one that stayed put was not slowed by the runner, nor is it faster for it.
            let deviation = reference.deviation(case.values[0]);
            let moved_with_run = taken_out != 0.0
                && deviation * taken_out.signum()
                    > ((1.0 + case.threshold).ln() / 2.0).max(reference.sigma());
            let taken_out = if moved_with_run { taken_out } else { 0.0 };
            let judging = Judging {
                threshold: case.threshold,
                alpha,
                run_wide: taken_out,
                joinable: case.joinable,
                open: &levels,
            };
            let assessment = judge::judge(reference, &case.values, &judging);
            opened_now = apply(case, &assessment, &mut judgement, &mut open);
            if moved_with_run {
                let moved = run_wide.map_or(0.0, |r| r.change);
                judgement.add_note(&format!(
                    "judged with the run-wide {:+.1}% taken out",
                    moved * 100.0
                ));
                // Reruns tell a slow runner from a change that touches everything.
                judgement.rerun |= taken_out > 0.0;
            }
        }
    }
    if let Some(runs) = past.adopted.get(&case.key) {
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
    // Accepted regressions leave the state; one opened by this very run is not accepted unseen.
    let accepting = options.accept.iter().any(|p| p.matches(&case.key.0));
    let mut accepted = Vec::new();
    if accepting {
        let keep = usize::from(opened_now);
        let cut = open.len() - keep;
        accepted = open.drain(..cut).collect::<Vec<_>>();
        if !accepted.is_empty() {
            judgement.add_note(&format!(
                "{} open regression(s) accepted (--accept): closed without a recovery",
                accepted.len()
            ));
        }
    }
    let step_change = judgement.step.map(|s| s.change);
    judgement.record = Some(GateRecord {
        verdict: judgement.verdict.as_str().to_owned(),
        change: step_change.or(judgement.change),
        baseline: judgement.baseline,
        range: judgement.range.clone(),
        open: Some(open.clone()),
        run_wide: run_wide.map(|r| r.change),
    });
    let earlier = if opened_now {
        &open[..open.len() - 1]
    } else {
        &open[..]
    };
    let listed = |o: &OpenRecord| OpenRegression {
        fullname: case.key.0.clone(),
        metric: options.metric(),
        machine: case.key.1.clone(),
        procs: case.procs,
        suite: None,
        change: o.level / o.before - 1.0,
        range: o.range.clone(),
        runs: o.runs,
    };
    let still_open = earlier.iter().map(listed).collect();
    let accepted = accepted.iter().map(listed).collect();
    (judgement, still_open, accepted)
}

/// Fills `judgement` from `assessment` and moves the series' open regressions on; returns
/// whether this run opened one.
fn apply(
    case: &Case,
    assessment: &Assessment,
    judgement: &mut Judgement,
    open: &mut Vec<OpenRecord>,
) -> bool {
    judgement.verdict = assessment.verdict;
    judgement.baseline = Some(assessment.baseline);
    judgement.change = Some(assessment.change);
    judgement.noise = Some(assessment.noise);
    judgement.note = assessment.note.clone();
    judgement.rerun = assessment.suspect;
    let window = case.window();
    let before_window = case
        .window_start
        .checked_sub(1)
        .map(|i| case.usable[i].run.clone());
    if let Some(step) = assessment.step {
        let from = match step.from {
            Some(i) => window[i].run.clone(),
            None => before_window.unwrap_or_default(),
        };
        let to = step
            .to
            .map_or_else(|| case.this_run.clone(), |i| window[i].run.clone());
        let range = CommitRange { from, to };
        judgement.range = Some(range.clone());
        judgement.step = Some(StepSize {
            change: step.change,
            runs: step.runs,
            measurements: step.measurements,
        });
        let level = assessment.baseline * (1.0 + step.change);
        match assessment.verdict {
            Verdict::Regression => {
                open.iter_mut().for_each(|o| o.runs += 1);
                open.push(OpenRecord {
                    range,
                    before: assessment.baseline,
                    level,
                    runs: step.runs,
                });
                return true;
            }
            Verdict::Recovered => {
                let mut index = 0;
                open.retain(|_| {
                    index += 1;
                    !assessment.closes.contains(&(index - 1))
                });
            }
            _ => {
                if let Some(last) = open.last_mut() {
                    last.level = level;
                }
            }
        }
        open.iter_mut().for_each(|o| o.runs += 1);
        return false;
    }
    // Still open: one more run on the slow level, which the newest one's level follows.
    let on_newest = case.state.last_step.as_ref().map(|(to, _)| to);
    for o in open.iter_mut() {
        o.runs += 1;
        if Some(&o.range.to) == on_newest && assessment.level_runs >= stats::MIN_LEVEL_RUNS {
            o.level = assessment.baseline;
        }
    }
    false
}
