//! `aggregate --check` on histories built from a real report: verdicts, exit codes, reports.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::Value;

/// The `--report-json` schema, pinned.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateReport {
    statistic: String,
    benchmarks: Vec<Judgement>,
    open: Vec<Open>,
    run_wide: Vec<RunWide>,
    accepted: Vec<Open>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RunWide {
    change: f64,
    moved: usize,
    of: usize,
    confirmed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Step {
    change: f64,
    runs: usize,
    measurements: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Open {
    fullname: String,
    machine: String,
    procs: Option<u64>,
    change: f64,
    range: Range,
    runs: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    from: RunRef,
    to: RunRef,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRef {
    id: Option<String>,
    datetime: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Judgement {
    fullname: String,
    machine: String,
    procs: Option<u64>,
    verdict: String,
    baseline: Option<f64>,
    value: f64,
    change: Option<f64>,
    threshold: f64,
    noise: Option<f64>,
    baseline_branch: Option<String>,
    history: usize,
    #[serde(default)]
    range: Option<Range>,
    #[serde(default)]
    step: Option<Step>,
    #[serde(default)]
    note: Option<String>,
}

fn template() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reports/5.3.1/git-clean.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// A report whose benchmarks' timings are the template's times `factor` (run `run` of a series).
fn report(dir: &Path, name: &str, factor: f64, run: usize) -> PathBuf {
    report_where(dir, name, run, |_| factor)
}

/// The benchmarks that the tests slow down: two of the report's five, so that a run never moves
/// as a whole (that is a finding of its own).
const SLOWED: &str = "test_sum";

/// A report whose `test_sum` benchmarks are `factor` times slower, the others as usual.
fn slow_report(dir: &Path, name: &str, factor: f64, run: usize) -> PathBuf {
    report_where(dir, name, run, |fullname| {
        if fullname.contains(SLOWED) {
            factor
        } else {
            1.0
        }
    })
}

/// A report whose benchmarks' timings are the template's times `factor(fullname)`.
fn report_where(dir: &Path, name: &str, run: usize, factor: impl Fn(&str) -> f64) -> PathBuf {
    let mut report = template();
    report["datetime"] = Value::String(format!(
        "2026-01-01T{:02}:{:02}:00+00:00",
        run / 60,
        run % 60
    ));
    report["commit_info"]["id"] = Value::String(commit(run));
    for benchmark in report["benchmarks"].as_array_mut().unwrap() {
        let factor = factor(benchmark["fullname"].as_str().unwrap());
        let stats = benchmark["stats"].as_object_mut().unwrap();
        // A little deterministic wiggle, as real runs have, and never twice the same timings.
        let wiggle = 1.0 + 0.01 * ((run * 7 % 5) as f64 - 2.0) + 1e-5 * run as f64;
        for key in ["min", "max", "mean", "median"] {
            let value = stats[key].as_f64().unwrap() * factor * wiggle;
            stats.insert(key.into(), value.into());
        }
    }
    let path = dir.join(name);
    fs::write(&path, serde_json::to_vec(&report).unwrap()).unwrap();
    path
}

/// The commit run `run` measured.
fn commit(run: usize) -> String {
    format!("{run:040x}")
}

fn aggregate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aggregate"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// A history of `runs` runs at the template's speed.
fn history(dir: &Path, runs: usize) {
    for run in 0..runs {
        let path = report(dir, &format!("run-{run}.json"), 1.0, run);
        let output = aggregate(dir, &[path.to_str().unwrap()], &[]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn verdicts(path: &Path) -> GateReport {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

impl GateReport {
    /// The verdicts of the benchmarks the tests slow down.
    fn slowed(&self) -> impl Iterator<Item = &Judgement> {
        self.benchmarks
            .iter()
            .filter(|j| j.fullname.contains(SLOWED))
    }

    /// Whether every other benchmark was judged `verdict`.
    fn others_are(&self, verdict: &str) -> bool {
        self.benchmarks
            .iter()
            .filter(|j| !j.fullname.contains(SLOWED))
            .all(|j| j.verdict == verdict)
    }
}

/// `aggregate REPORT --rerun R1 --rerun R2 ...` arguments for a run and `reruns` reruns of it at
/// `factor` (the reruns as `--confirm N` makes them: the same commit and time).
fn with_reruns(dir: &Path, name: &str, factor: f64, run: usize, reruns: usize) -> Vec<String> {
    slow_report(dir, name, factor, run);
    let mut args = vec![name.to_string()];
    for i in 0..reruns {
        let again = format!("{name}.rerun-{i}.json");
        let path = slow_report(dir, &again, factor * (1.0 + 0.004 * i as f64), run);
        args.extend(["--rerun".to_string(), path.to_str().unwrap().to_string()]);
    }
    args
}

#[test]
fn one_slow_run_is_named_and_its_reruns_make_it_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 12);
    let before = fs::read(dir.path().join("aggregate.json")).unwrap();
    let judged = [
        "--check",
        "--no-append",
        "--fail-on-regression",
        "--report-json",
        "gate.json",
        "--markdown",
        "gate.md",
    ];

    // One slow run alone is no regression yet: inconclusive, named, and no failure.
    slow_report(dir.path(), "slow.json", 1.5, 41);
    let output = aggregate(dir.path(), &[&["slow.json"], &judged[..]].concat(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = verdicts(&dir.path().join("gate.json"));
    assert!(report.others_are("unchanged"), "{report:?}");
    for j in report.slowed() {
        assert_eq!(j.verdict, "inconclusive", "{j:?}");
        assert!(
            j.note.as_deref().unwrap().contains("in this run alone"),
            "{j:?}"
        );
    }
    assert!(
        stderr(&output).contains("inconclusive"),
        "{}",
        stderr(&output)
    );

    // With two confirmation reruns just as slow: a regression, and a failure when asked.
    let mut args = with_reruns(dir.path(), "slow.json", 1.5, 41, 2);
    args.extend(judged.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = aggregate(dir.path(), &args, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("regression"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        fs::read(dir.path().join("aggregate.json")).unwrap(),
        before,
        "--no-append wrote"
    );
    let report = verdicts(&dir.path().join("gate.json"));
    assert_eq!(report.statistic, "median");
    assert_eq!(report.benchmarks.len(), 5);
    assert!(report.others_are("unchanged"), "{report:?}");
    assert_eq!(report.slowed().count(), 2);
    for j in report.slowed() {
        assert_eq!(j.verdict, "regression", "{j:?}");
        assert!((j.change.unwrap() - 0.5).abs() < 0.05, "{j:?}");
        assert_eq!(j.baseline_branch.as_deref(), Some("main"));
        assert_eq!(j.history, 12);
        assert_eq!(j.procs, None);
        let step = j.step.as_ref().expect("a step's size");
        assert_eq!(step.measurements, 3, "{j:?}");
        assert!((j.value / j.baseline.unwrap() - 1.0 - j.change.unwrap()).abs() < 1e-9);
    }
    let markdown = fs::read_to_string(dir.path().join("gate.md")).unwrap();
    assert!(
        markdown.starts_with("### Benchmark gate: 2 new regressions, 0 open"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `test_arrays.py::test_sum[1000]` |"),
        "{markdown}"
    );
    // Large changes read as factors.
    let mut args = with_reruns(dir.path(), "slower.json", 16.0, 41, 2);
    args.extend(["--check", "--no-append"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = aggregate(dir.path(), &args, &[]);
    assert!(
        stderr(&output).contains("16x slower"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unchanged_run_passes_and_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 8);
    report(dir.path(), "same.json", 1.02, 46);
    let output = aggregate(
        dir.path(),
        &[
            "same.json",
            "--check",
            "--fail-on-regression",
            "--report-json",
            "gate.json",
        ],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(verdicts(&dir.path().join("gate.json"))
        .benchmarks
        .iter()
        .all(|j| j.verdict == "unchanged"));
    let entries: Vec<Value> =
        serde_json::from_slice(&fs::read(dir.path().join("aggregate.json")).unwrap()).unwrap();
    assert_eq!(entries.len(), 9 * 5);
}

#[test]
fn too_little_history_is_reported_and_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 3);
    report(dir.path(), "slow.json", 3.0, 42);
    let output = aggregate(
        dir.path(),
        &[
            "slow.json",
            "--check",
            "--no-append",
            "--fail-on-regression",
            "--report-json",
            "g.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    let report = verdicts(&dir.path().join("g.json"));
    assert!(report
        .benchmarks
        .iter()
        .all(|j| j.verdict == "insufficient_history" && j.history == 3));
    // No history at all: a mistyped path would pass a pull request having judged nothing, so it
    // is an error, and nothing is written.
    let output = aggregate(
        dir.path(),
        &[
            "slow.json",
            "--check",
            "--no-append",
            "--history",
            "none.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!dir.path().join("none.json").exists());
}

#[test]
fn per_benchmark_thresholds_and_the_baseline_branch_apply() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 12);
    fs::write(
        dir.path().join("thresholds.json"),
        r#"{"*test_sum?1000?": 50}"#,
    )
    .unwrap();
    let mut args = with_reruns(dir.path(), "slow.json", 1.3, 43, 2);
    args.extend(
        [
            "--check",
            "--no-append",
            "--thresholds",
            "thresholds.json",
            "--report-json",
            "g.json",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(aggregate(dir.path(), &args, &[]).status.success());
    let found = verdicts(&dir.path().join("g.json"));
    assert!(found.others_are("unchanged"), "{found:?}");
    for j in found.slowed() {
        // test_sum[1000] has a threshold of its own.
        let expected = if j.fullname.contains("test_sum[1000]") {
            ("unchanged", 0.5)
        } else {
            ("regression", 0.1)
        };
        assert_eq!(
            (j.verdict.as_str(), j.threshold),
            expected,
            "{}",
            j.fullname
        );
    }
    // A branch without history: nothing to judge against.
    let args = [
        "slow.json",
        "--rerun",
        "slow.json.rerun-0.json",
        "--check",
        "--no-append",
        "--baseline-branch",
        "release",
        "--report-json",
        "g.json",
    ];
    assert!(aggregate(dir.path(), &args, &[]).status.success());
    assert!(verdicts(&dir.path().join("g.json"))
        .benchmarks
        .iter()
        .all(|j| j.verdict == "insufficient_history"));
}

#[test]
fn in_github_actions_regressions_become_annotations_and_a_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 12);
    let mut args = with_reruns(dir.path(), "slow.json", 1.5, 44, 2);
    args.extend(["--check", "--no-append", "--fail-on-regression"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let summary = dir.path().join("summary.md");
    fs::write(&summary, "earlier step\n").unwrap();
    let output = aggregate(
        dir.path(),
        &args,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("::error title=Performance regression::"))
            .count(),
        2,
        "{stdout}"
    );
    let text = fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n### Benchmark gate: 2 new regressions"),
        "appended: {text}"
    );
}

#[test]
fn nightly_runs_report_one_step_once_keep_it_open_and_recover_once() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 60);
    let check = |run: usize, factor: f64, extra: &[&str]| -> (Output, GateReport) {
        let name = format!("run-{run}.json");
        slow_report(dir.path(), &name, factor, run);
        let mut args = vec![name.as_str(), "--check", "--report-json", "gate.json"];
        args.extend(extra);
        let output = aggregate(dir.path(), &args, &[]);
        (output, verdicts(&dir.path().join("gate.json")))
    };
    let fail = ["--fail-on-regression", "--fail-on-open"];

    // Twice as slow, at a commit several after the last benchmarked one: named at once,
    // not yet a regression.
    let (output, first) = check(60, 2.0, &fail);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(first.slowed().all(|j| j.verdict == "inconclusive"));
    assert!(first.others_are("unchanged"), "{first:?}");

    // The next night, still slow: the regression, with the range of the step itself (the last
    // fast run .. the first slow one), not of the two slow runs.
    let link = [
        "--commit-url",
        "https://github.com/o/r/commit/{id}",
        "--markdown",
        "gate.md",
        "--fail-on-regression",
    ];
    let (output, found) = check(61, 2.0, &link);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(found.others_are("unchanged"), "{found:?}");
    for j in found.slowed() {
        assert_eq!(j.verdict, "regression", "{j:?}");
        let range = j.range.as_ref().expect("a regression names its range");
        assert_eq!(range.from.id.as_deref(), Some(commit(59).as_str()));
        assert_eq!(range.to.id.as_deref(), Some(commit(60).as_str()));
        assert_eq!(
            range.to.datetime.as_deref(),
            Some("2026-01-01T01:00:00+00:00")
        );
        let step = j.step.as_ref().unwrap();
        assert_eq!((step.runs, step.measurements), (2, 2), "{j:?}");
        assert!((step.change - 1.0).abs() < 0.1, "{j:?}");
    }
    assert!(
        stderr(&output).contains("+97.8% on 2 measurement(s) (2 run(s))"),
        "{}",
        stderr(&output)
    );
    let markdown = fs::read_to_string(dir.path().join("gate.md")).unwrap();
    assert!(
        markdown.contains(&format!(
            "[compare](https://github.com/o/r/compare/{}...{})",
            commit(59),
            commit(60)
        )),
        "{markdown}"
    );
    assert!(
        markdown.contains("run-benchmarks --bisect 000000000000..000000000000"),
        "{markdown}"
    );
    // The verdict and the series' state are kept with the recorded entries.
    let entries: Vec<Value> =
        serde_json::from_slice(&fs::read(dir.path().join("aggregate.json")).unwrap()).unwrap();
    let last = entries
        .iter()
        .rev()
        .find(|e| e["fullname"].as_str().unwrap().contains(SLOWED))
        .unwrap();
    assert_eq!(last["gate"]["verdict"], "regression");
    assert_eq!(last["gate"]["range"]["from"]["id"], commit(59).as_str());
    assert!((last["gate"]["change"].as_f64().unwrap() - 1.0).abs() < 0.1);
    assert_eq!(last["gate"]["open"].as_array().unwrap().len(), 1);

    // Still slow, three nights running: no new regression, one open each, its count of runs
    // growing; only --fail-on-open fails.
    for (night, run) in [62, 63, 64].into_iter().enumerate() {
        let (output, still) = check(
            run,
            2.0 * (1.0 + 0.01 * night as f64),
            &["--fail-on-regression"],
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(
            still.benchmarks.iter().all(|j| j.verdict == "unchanged"),
            "{still:?}"
        );
        assert_eq!(still.open.len(), 2, "one open regression per benchmark");
        for open in &still.open {
            assert_eq!(open.range.from.id.as_deref(), Some(commit(59).as_str()));
            assert_eq!(open.range.to.id.as_deref(), Some(commit(60).as_str()));
            assert!((open.change - 1.0).abs() < 0.1, "{open:?}");
            assert_eq!(open.runs, 3 + night, "{open:?}");
        }
    }
    let (output, _) = check(65, 2.0, &["--fail-on-open", "--no-append"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("open regressions"),
        "{}",
        stderr(&output)
    );

    // Fixed: one fast run is not yet a recovery; the second is, with the range of the fix.
    let (output, once) = check(66, 1.0, &["--fail-on-open"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "still open: {}",
        stderr(&output)
    );
    assert!(once.slowed().all(|j| j.verdict == "inconclusive"));
    assert_eq!(once.open.len(), 2);
    let (output, fixed) = check(67, 1.0, &["--fail-on-open"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        fixed.slowed().all(|j| j.verdict == "recovered"),
        "{fixed:?}"
    );
    assert!(fixed.open.is_empty());
    for j in fixed.slowed() {
        let range = j.range.as_ref().unwrap();
        assert_eq!(range.from.id.as_deref(), Some(commit(64).as_str()));
        assert_eq!(range.to.id.as_deref(), Some(commit(66).as_str()));
    }
    let (_, after) = check(68, 1.0, &[]);
    assert!(
        after.benchmarks.iter().all(|j| j.verdict == "unchanged"),
        "{after:?}"
    );
    assert!(after.open.is_empty());
}

#[test]
fn a_run_that_moved_as_a_whole_is_one_finding_until_the_next_run_confirms_it() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 20);
    let check = |run: usize, factor: f64| -> (Output, GateReport) {
        let name = format!("run-{run}.json");
        report(dir.path(), &name, factor, run);
        let args = [
            name.as_str(),
            "--check",
            "--fail-on-regression",
            "--report-json",
            "gate.json",
        ];
        let output = aggregate(dir.path(), &args, &[]);
        (output, verdicts(&dir.path().join("gate.json")))
    };
    // Every benchmark 40% slower in one run: the runner, most likely.
    let (output, slow) = check(30, 1.4);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(slow.run_wide.len(), 1, "{slow:?}");
    let found = &slow.run_wide[0];
    assert!(
        (found.change - 0.4).abs() < 0.05 && found.moved == 5 && !found.confirmed,
        "{found:?}"
    );
    assert!(slow.benchmarks.iter().all(|j| j.verdict == "unchanged"));
    assert!(
        stderr(&output).contains("run-wide: +3"),
        "{}",
        stderr(&output)
    );
    // Back the next night: nothing.
    let (output, back) = check(31, 1.0);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(back.run_wide.is_empty());
    // Slow two nights in a row: confirmed, and then each benchmark is a regression.
    check(32, 1.4);
    let (output, again) = check(33, 1.4);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(again.run_wide[0].confirmed, "{again:?}");
    assert!(again.benchmarks.iter().all(|j| j.verdict == "regression"));
}

#[test]
fn a_benchmark_that_flips_between_two_modes_is_no_regression() {
    let dir = tempfile::tempdir().unwrap();
    // Every third run 3.2 times slower, as a benchmark whose data sometimes misses a cache.
    for run in 0..30 {
        let factor = if run % 3 == 1 { 3.2 } else { 1.0 };
        let path = slow_report(dir.path(), &format!("run-{run}.json"), factor, run);
        let output = aggregate(dir.path(), &[path.to_str().unwrap()], &[]);
        assert!(output.status.success());
    }
    slow_report(dir.path(), "upper.json", 3.2, 40);
    let output = aggregate(
        dir.path(),
        &[
            "upper.json",
            "--check",
            "--no-append",
            "--fail-on-regression",
            "--report-json",
            "gate.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let found = verdicts(&dir.path().join("gate.json"));
    assert!(found.others_are("unchanged"), "{found:?}");
    for j in found.slowed() {
        assert_eq!(j.verdict, "unchanged", "{j:?}");
        assert!(
            j.note
                .as_deref()
                .unwrap_or_default()
                .contains("a level this series visits"),
            "{j:?}"
        );
    }
}

#[test]
fn a_history_continued_from_the_original_script_is_judged_at_once() {
    // The original aggregate.py kept benchmarks[0] with the report's commit_info, and neither a
    // datetime nor a machine.
    let dir = tempfile::tempdir().unwrap();
    let legacy: Vec<Value> = (0..6)
        .map(|run| {
            let path = report(dir.path(), &format!("old-{run}.json"), 1.0, run);
            let report: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
            let mut entry = report["benchmarks"][0].clone();
            entry["stats"].as_object_mut().unwrap().remove("data");
            entry["commit_info"] = report["commit_info"].clone();
            entry
        })
        .collect();
    fs::write(
        dir.path().join("aggregate.json"),
        serde_json::to_vec_pretty(&legacy).unwrap(),
    )
    .unwrap();
    let fullname = legacy[0]["fullname"].as_str().unwrap().to_owned();
    report(dir.path(), "new.json", 1.0, 30);
    let output = aggregate(
        dir.path(),
        &[
            "new.json",
            "--check",
            "--no-append",
            "--report-json",
            "gate.json",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let found = verdicts(&dir.path().join("gate.json"));
    let judged = found
        .benchmarks
        .iter()
        .find(|j| j.fullname == fullname)
        .unwrap();
    assert_eq!(judged.verdict, "unchanged", "{judged:?}");
    assert_eq!(judged.history, 6);
    assert!(
        judged
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("6 run(s) of the original script"),
        "{judged:?}"
    );
    // The other benchmarks never ran under the original script.
    assert!(found
        .benchmarks
        .iter()
        .filter(|j| j.fullname != fullname)
        .all(|j| j.verdict == "insufficient_history"));
}

#[test]
fn a_step_without_a_commit_in_its_range_says_so() {
    // Measured again at the last run's commit and twice as slow: the code did not change.
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 12);
    let mut args = with_reruns(dir.path(), "again.json", 2.0, 11, 2);
    args.push("--check".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = aggregate(
        dir.path(),
        &[
            &args[..],
            &[
                "--no-append",
                "--report-json",
                "gate.json",
                "--commit-url",
                "https://github.com/o/r/commit/{id}",
                "--markdown",
                "gate.md",
            ],
        ]
        .concat(),
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    for j in verdicts(&dir.path().join("gate.json")).slowed() {
        assert_eq!(j.verdict, "regression");
        assert!(
            j.note
                .as_deref()
                .unwrap_or_default()
                .contains("no commit between the two runs"),
            "{j:?}"
        );
    }
    let markdown = fs::read_to_string(dir.path().join("gate.md")).unwrap();
    assert!(!markdown.contains("[compare]"), "{markdown}");
}

#[test]
fn an_accepted_regression_is_closed_and_the_slow_level_is_the_series_level_from_then_on() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 60);
    let check = |run: usize, factor: f64, extra: &[&str]| -> (Output, GateReport) {
        let name = format!("run-{run}.json");
        slow_report(dir.path(), &name, factor, run);
        let mut args = vec![name.as_str(), "--check", "--report-json", "gate.json"];
        args.extend(extra);
        let output = aggregate(dir.path(), &args, &[]);
        (output, verdicts(&dir.path().join("gate.json")))
    };
    check(60, 1.6, &[]);
    let (_, found) = check(61, 1.6, &[]);
    assert!(
        found.slowed().all(|j| j.verdict == "regression"),
        "{found:?}"
    );
    let (output, _) = check(62, 1.6, &["--fail-on-open"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // The maintainers accept the cost of one of the two: that one is closed at this run ...
    let (output, accepted) = check(63, 1.6, &["--fail-on-open", "--accept", "*test_sum?1000?"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the other stays open: {}",
        stderr(&output)
    );
    assert_eq!(accepted.accepted.len(), 1, "{accepted:?}");
    assert_eq!(accepted.open.len(), 1, "{accepted:?}");
    assert!(
        stderr(&output).contains("accepted (--accept"),
        "{}",
        stderr(&output)
    );
    // ... and gone from then on, judged against its slow level.
    let (output, after) = check(64, 1.6, &["--fail-on-open", "--accept", "*test_sum?10000?"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(after.open.is_empty(), "{after:?}");
    let (_, later) = check(65, 1.6, &[]);
    assert!(
        later.open.is_empty() && later.accepted.is_empty(),
        "{later:?}"
    );
    assert!(
        later.benchmarks.iter().all(|j| j.verdict == "unchanged"),
        "{later:?}"
    );
    // A pattern that is no glob is refused.
    let (output, _) = check(66, 1.0, &["--accept", "test_[x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--accept \"test_[x\""),
        "{}",
        stderr(&output)
    );
}
