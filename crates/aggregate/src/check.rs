//! `--check`: judging new entries against their series in a history, and the gate's reports
//! (terminal table, Markdown, JSON, GitHub annotations).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bench_model::{CommitInfo, HistoryEntry, MachineId};
use serde::{Deserialize, Serialize};

use crate::gate::{self, Verdict};

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

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The history could not be read.
    #[error(transparent)]
    History(#[from] bench_model::Error),
    /// The thresholds file is not a JSON object of glob patterns to percentages.
    #[error("{}: {message}; write a JSON object mapping fullname glob patterns to percentages, e.g. {{\"*::test_io*\": 25}}", .path.display())]
    Thresholds {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A report file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Per-benchmark thresholds: fullname glob patterns to percentages, the first match wins.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    patterns: Vec<(glob::Pattern, f64)>,
}

impl Thresholds {
    /// Reads a JSON object such as `{"test_io.py::*": 25, "*[large]": 15}`.
    pub fn load(path: &Path) -> Result<Self, CheckError> {
        let error = |message: String| CheckError::Thresholds {
            path: path.to_path_buf(),
            message,
        };
        let text = bench_model::fsio::read_regular(path).map_err(|e| error(e.to_string()))?;
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&text).map_err(|e| error(e.to_string()))?;
        let patterns = object
            .into_iter()
            .map(|(pattern, percent)| {
                let percent = percent
                    .as_f64()
                    .filter(|p| *p >= 0.0)
                    .ok_or_else(|| error(format!("{pattern:?}: {percent} is not a percentage")))?;
                let glob =
                    glob::Pattern::new(&pattern).map_err(|e| error(format!("{pattern:?}: {e}")))?;
                Ok((glob, percent / 100.0))
            })
            .collect::<Result<_, CheckError>>()?;
        Ok(Thresholds { patterns })
    }

    /// The threshold (a fraction) for `fullname`.
    pub fn for_benchmark(&self, fullname: &str, default: f64) -> f64 {
        self.patterns
            .iter()
            .find(|(p, _)| p.matches(fullname))
            .map_or(default, |(_, t)| *t)
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
        }
    }
}

/// The fields of a stored entry the gate needs.
#[derive(Debug, Deserialize)]
struct Record {
    fullname: String,
    #[serde(default)]
    commit_info: Option<BranchOnly>,
    stats: Timings,
    #[serde(default)]
    machine: Option<MachineId>,
    /// The MPI process count of a run under a launcher.
    #[serde(default)]
    procs: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct BranchOnly {
    #[serde(default)]
    branch: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Timings {
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    median: Option<f64>,
    #[serde(default)]
    mean: Option<f64>,
}

impl Timings {
    fn get(&self, stat: Statistic) -> Option<f64> {
        match stat {
            Statistic::Min => self.min,
            Statistic::Median => self.median,
            Statistic::Mean => self.mean,
        }
    }
}

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

/// The gate's findings for one history.
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
        self.benchmarks
            .iter()
            .filter(|j| j.verdict == Verdict::Regression)
            .count()
    }

    /// Joins the reports of several suites.
    pub fn extend(&mut self, other: CheckReport) {
        self.statistic = other.statistic;
        self.benchmarks.extend(other.benchmarks);
    }
}

/// A series: one benchmark (`fullname`) on one machine (its series key) at one process count.
type SeriesKey = (String, String);

/// One past run of a series: the branch it was measured on and its value.
type PastRun = (Option<String>, f64);

fn series_key(fullname: &str, machine: Option<&MachineId>, procs: Option<u64>) -> SeriesKey {
    let machine = machine.map(MachineId::series_key).unwrap_or_default();
    let machine = match procs {
        Some(procs) => format!("{machine} x{procs}"),
        None => machine,
    };
    (fullname.to_string(), machine)
}

/// Judges `entries` (a run, or a run and its reruns: values of one series are judged on their
/// median) against the history at `path`, which may not exist yet.
pub fn check(
    path: &Path,
    entries: &[HistoryEntry],
    options: &GateOptions,
) -> Result<CheckReport, CheckError> {
    let records: Vec<Record> = if path.exists() {
        bench_model::history::read_as(path)?.0
    } else {
        Vec::new()
    };
    let mut past = series_of(records, options.stat);
    // New values by series, in the order benchmarks first appear.
    let mut order = Vec::new();
    let mut new: BTreeMap<SeriesKey, (Vec<f64>, Option<&CommitInfo>)> = BTreeMap::new();
    for entry in entries {
        let procs = entry
            .benchmark
            .extra
            .get("procs")
            .and_then(serde_json::Value::as_u64);
        let key = series_key(&entry.benchmark.fullname, entry.machine.as_ref(), procs);
        let stats = &entry.benchmark.stats;
        let value = match options.stat {
            Statistic::Min => stats.min.get(),
            Statistic::Median => stats.median.get(),
            Statistic::Mean => stats.mean.get(),
        };
        let slot = new.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (Vec::new(), entry.commit_info.as_ref())
        });
        slot.0.push(value);
    }

    // A bounded history keeps older runs in its archive: read back, newest chunk first, while a
    // series has fewer runs than the window needs.
    let mut chunks = bench_model::archive::chunks(path);
    while let Some((_, chunk)) = chunks.pop() {
        let short = order
            .iter()
            .any(|key| past.get(key).map_or(0, Vec::len) < options.window);
        if !short {
            break;
        }
        let older = series_of(bench_model::history::read_as(&chunk)?.0, options.stat);
        for (key, mut runs) in older {
            let newer = past.remove(&key).unwrap_or_default();
            runs.extend(newer);
            past.insert(key, runs);
        }
    }

    let mut report = CheckReport {
        statistic: options.stat.as_str(),
        benchmarks: Vec::new(),
    };
    for key in order {
        let (values, commit) = &new[&key];
        let runs = past.get(&key).map(Vec::as_slice).unwrap_or_default();
        let own_branch = commit.and_then(|c| c.branch());
        let (branch, history) = baseline(runs, own_branch, options);
        let threshold = options.thresholds.for_benchmark(&key.0, options.threshold);
        let assessment = gate::judge(&history, values, threshold, options.min_history);
        report.benchmarks.push(Judgement {
            fullname: key.0.clone(),
            machine: key.1.clone(),
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

/// Each series' runs in `records`, in file order.
fn series_of(records: Vec<Record>, stat: Statistic) -> BTreeMap<SeriesKey, Vec<PastRun>> {
    let mut past: BTreeMap<SeriesKey, Vec<PastRun>> = BTreeMap::new();
    for record in records {
        if let Some(value) = record.stats.get(stat) {
            let key = series_key(&record.fullname, record.machine.as_ref(), record.procs);
            past.entry(key)
                .or_default()
                .push((record.commit_info.and_then(|c| c.branch), value));
        }
    }
    past
}

/// The baseline runs: the last `window` runs on the first candidate branch with enough of them.
fn baseline(
    runs: &[(Option<String>, f64)],
    own: Option<&str>,
    options: &GateOptions,
) -> (Option<String>, Vec<f64>) {
    let candidates: Vec<String> = match &options.baseline_branch {
        Some(branch) => vec![branch.clone()],
        None => own
            .into_iter()
            .map(str::to_owned)
            .chain(["main".into(), "master".into()])
            .collect(),
    };
    let on = |branch: &str| -> Vec<f64> {
        let values: Vec<f64> = runs
            .iter()
            .filter(|(b, _)| b.as_deref() == Some(branch))
            .map(|(_, v)| *v)
            .collect();
        values[values.len().saturating_sub(options.window)..].to_vec()
    };
    let mut fallback = None;
    for branch in &candidates {
        let values = on(branch);
        if values.len() >= options.min_history {
            return (Some(branch.clone()), values);
        }
        if fallback
            .as_ref()
            .is_none_or(|(_, v): &(String, Vec<f64>)| values.len() > v.len())
        {
            fallback = Some((branch.clone(), values));
        }
    }
    match fallback {
        Some((branch, values)) => (Some(branch), values),
        None => (None, Vec::new()),
    }
}

/// A time in the unit that suits it: `1.234 ms`.
pub fn format_seconds(seconds: f64) -> String {
    let (scale, unit) = match seconds.abs() {
        s if s >= 1.0 => (1.0, "s"),
        s if s >= 1e-3 => (1e3, "ms"),
        s if s >= 1e-6 => (1e6, "us"),
        _ => (1e9, "ns"),
    };
    format!("{:.3} {unit}", seconds * scale)
}

fn format_change(change: Option<f64>) -> String {
    change.map_or("-".into(), |c| format!("{:+.1}%", c * 100.0))
}

impl CheckReport {
    /// The terminal table.
    pub fn table(&self) -> String {
        let width = self
            .benchmarks
            .iter()
            .map(|j| j.fullname.chars().count())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut out = format!(
            "{:width$}  {:>12}  {:>12}  {:>8}  {}\n",
            "benchmark",
            format!("baseline ({})", self.statistic),
            "new",
            "change",
            "verdict"
        );
        for j in &self.benchmarks {
            let _ = writeln!(
                out,
                "{:width$}  {:>12}  {:>12}  {:>8}  {}{}",
                j.fullname,
                j.baseline.map_or("-".into(), format_seconds),
                format_seconds(j.value),
                format_change(j.change),
                j.verdict.as_str().replace('_', " "),
                j.note.as_ref().map_or(String::new(), |n| format!(" ({n})"))
            );
        }
        out
    }

    /// A Markdown section for `$GITHUB_STEP_SUMMARY` or a pull-request comment.
    pub fn markdown(&self, title: &str) -> String {
        let regressions = self.regressions();
        let mut out = format!(
            "### {title}: {} {}\n\n| benchmark | baseline ({}) | new | change | verdict |\n|---|---:|---:|---:|---|\n",
            regressions,
            if regressions == 1 { "regression" } else { "regressions" },
            self.statistic
        );
        for j in &self.benchmarks {
            let verdict = match j.verdict {
                Verdict::Regression => "**regression**".to_string(),
                other => other.as_str().replace('_', " "),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                j.fullname.replace('|', "\\|"),
                j.baseline.map_or("-".into(), format_seconds),
                format_seconds(j.value),
                format_change(j.change),
                verdict
            );
        }
        out
    }

    /// GitHub Actions workflow commands: an error (or, when not failing, a warning) per regression.
    pub fn annotations(&self, failing: bool) -> String {
        let level = if failing { "error" } else { "warning" };
        self.benchmarks
            .iter()
            .filter(|j| j.verdict == Verdict::Regression)
            .map(|j| {
                format!(
                    "::{level} title=Performance regression::{} is {} slower ({} {} against a baseline of {})\n",
                    j.fullname,
                    format_change(j.change).trim_start_matches('+'),
                    self.statistic,
                    format_seconds(j.value),
                    j.baseline.map_or("-".into(), format_seconds)
                )
            })
            .collect()
    }
}

/// Writes `text` to `path`, or appends when `append`.
pub fn write_text(path: &Path, text: &str, append: bool) -> Result<(), CheckError> {
    use std::io::Write;
    let result = if append {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
    } else {
        std::fs::write(path, text)
    };
    result.map_err(|source| CheckError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale_to_the_value() {
        assert_eq!(format_seconds(2.5), "2.500 s");
        assert_eq!(format_seconds(0.0123), "12.300 ms");
        assert_eq!(format_seconds(4.2e-6), "4.200 us");
        assert_eq!(format_seconds(5e-8), "50.000 ns");
    }

    #[test]
    fn the_first_matching_threshold_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, r#"{"*::test_io*": 25, "*": 5}"#).unwrap();
        let thresholds = Thresholds::load(&path).unwrap();
        assert_eq!(thresholds.for_benchmark("a.py::test_io_read", 0.1), 0.25);
        assert_eq!(thresholds.for_benchmark("a.py::test_x", 0.1), 0.05);
        std::fs::write(&path, r#"{"*": "x"}"#).unwrap();
        assert!(Thresholds::load(&path)
            .unwrap_err()
            .to_string()
            .contains("is not a percentage"));
    }
}

/// The gate's command-line options, shared by `aggregate` and `run-benchmarks`.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Regression gate")]
pub struct GateArgs {
    /// Judge every new benchmark against its series' recent history before appending.
    #[arg(long)]
    pub check: bool,

    /// With --check, judge without appending (e.g. a pull request against main's history).
    #[arg(long, requires = "check")]
    pub no_append: bool,

    /// With --check, exit 1 when any regression is confirmed.
    #[arg(long, requires = "check")]
    pub fail_on_regression: bool,

    /// The branch whose runs form the baseline [default: the run's own, then main, then master].
    #[arg(long, value_name = "BRANCH")]
    pub baseline_branch: Option<String>,

    /// The statistic compared.
    #[arg(long, value_enum, default_value_t = Statistic::Median)]
    pub stat: Statistic,

    /// Percent slower (or faster) that counts as a change, when the noise allows it.
    #[arg(long, value_name = "PCT", default_value_t = 10.0)]
    pub threshold: f64,

    /// A JSON file of per-benchmark thresholds: fullname glob patterns to percentages, first match wins.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,

    /// Past runs of each series in the baseline window.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub window: usize,

    /// Runs a series needs before it is judged.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub min_history: usize,

    /// Write the verdicts as a Markdown table to FILE (and append them to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Write the verdicts as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
}

impl GateArgs {
    /// The options these arguments ask for.
    pub fn options(&self) -> Result<GateOptions, CheckError> {
        let thresholds = match &self.thresholds {
            Some(path) => Thresholds::load(path)?,
            None => Thresholds::default(),
        };
        Ok(GateOptions {
            stat: self.stat,
            threshold: self.threshold / 100.0,
            thresholds,
            window: self.window.max(1),
            min_history: self.min_history,
            baseline_branch: self.baseline_branch.clone(),
        })
    }

    /// Shows `report`: the table on `stderr`, the Markdown and JSON files, and GitHub's summary
    /// and annotations (on `stdout`) when running in GitHub Actions.
    pub fn emit(
        &self,
        report: &CheckReport,
        title: &str,
        stdout: &mut dyn std::io::Write,
        stderr: &mut dyn std::io::Write,
    ) -> Result<(), CheckError> {
        let _ = write!(stderr, "{}", report.table());
        let markdown = report.markdown(title);
        if let Some(path) = &self.markdown {
            write_text(path, &markdown, false)?;
        }
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            write_text(Path::new(&summary), &markdown, true)?;
        }
        if let Some(path) = &self.report_json {
            let json = serde_json::to_string_pretty(report).expect("the report serializes") + "\n";
            write_text(path, &json, false)?;
        }
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            let _ = write!(stdout, "{}", report.annotations(self.fail_on_regression));
        }
        Ok(())
    }
}
