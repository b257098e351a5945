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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Open {
    fullname: String,
    machine: String,
    change: f64,
    range: Range,
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
    note: Option<String>,
}

fn template() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reports/5.3.1/git-clean.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// A report whose benchmarks' timings are the template's times `factor` (run `run` of a series).
fn report(dir: &Path, name: &str, factor: f64, run: usize) -> PathBuf {
    let mut report = template();
    report["datetime"] = Value::String(format!("2026-01-01T00:{run:02}:00+00:00"));
    report["commit_info"]["id"] = Value::String(commit(run));
    for benchmark in report["benchmarks"].as_array_mut().unwrap() {
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

#[test]
fn a_slower_run_is_a_regression_and_fails_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 8);
    let before = fs::read(dir.path().join("aggregate.json")).unwrap();
    report(dir.path(), "slow.json", 1.5, 41);
    let args = [
        "slow.json",
        "--check",
        "--no-append",
        "--report-json",
        "gate.json",
        "--markdown",
        "gate.md",
    ];

    let output = aggregate(dir.path(), &args, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut failing = args.to_vec();
    failing.push("--fail-on-regression");
    let output = aggregate(dir.path(), &failing, &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("+50.") && stderr.contains("regression"),
        "{stderr}"
    );
    assert_eq!(
        fs::read(dir.path().join("aggregate.json")).unwrap(),
        before,
        "--no-append wrote"
    );

    let report = verdicts(&dir.path().join("gate.json"));
    assert_eq!(report.statistic, "median");
    assert_eq!(report.benchmarks.len(), 5);
    for j in &report.benchmarks {
        assert_eq!(j.verdict, "regression", "{j:?}");
        assert!((j.change.unwrap() - 0.5).abs() < 0.05, "{j:?}");
        assert_eq!(j.baseline_branch.as_deref(), Some("main"));
        assert_eq!(j.history, 8);
        assert!((j.value / j.baseline.unwrap() - 1.0 - j.change.unwrap()).abs() < 1e-9);
    }
    let markdown = fs::read_to_string(dir.path().join("gate.md")).unwrap();
    assert!(
        markdown.starts_with("### Benchmark gate: 5 regressions"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `test_arrays.py::test_sum[1000]` |"),
        "{markdown}"
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
    // No history at all: the same.
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
    assert_eq!(output.status.code(), Some(0));
    assert!(!dir.path().join("none.json").exists());
}

#[test]
fn per_benchmark_thresholds_and_the_baseline_branch_apply() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 8);
    report(dir.path(), "slow.json", 1.3, 43);
    fs::write(dir.path().join("thresholds.json"), r#"{"*test_sum*": 50}"#).unwrap();
    let args = [
        "slow.json",
        "--check",
        "--no-append",
        "--thresholds",
        "thresholds.json",
        "--report-json",
        "g.json",
    ];
    assert!(aggregate(dir.path(), &args, &[]).status.success());
    for j in verdicts(&dir.path().join("g.json")).benchmarks {
        let expected = if j.fullname.contains("test_sum") {
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
    history(dir.path(), 6);
    report(dir.path(), "slow.json", 1.5, 44);
    let summary = dir.path().join("summary.md");
    fs::write(&summary, "earlier step\n").unwrap();
    let output = aggregate(
        dir.path(),
        &[
            "slow.json",
            "--check",
            "--no-append",
            "--fail-on-regression",
        ],
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
        5,
        "{stdout}"
    );
    let text = fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n### Benchmark gate: 5 regressions"),
        "appended: {text}"
    );
}

#[test]
fn a_regression_names_its_commits_stays_open_and_recovers_once() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path(), 8);
    let check = |run: usize, factor: f64, extra: &[&str]| -> (Output, GateReport) {
        let name = format!("run-{run}.json");
        report(dir.path(), &name, factor, run);
        let mut args = vec![name.as_str(), "--check", "--report-json", "gate.json"];
        args.extend(extra);
        let output = aggregate(dir.path(), &args, &[]);
        (output, verdicts(&dir.path().join("gate.json")))
    };
    let link = [
        "--commit-url",
        "https://github.com/o/r/commit/{id}",
        "--markdown",
        "gate.md",
    ];

    // Twice as slow, at a commit several after the last benchmarked one.
    let (output, found) = check(20, 2.0, &link);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for j in &found.benchmarks {
        assert_eq!(j.verdict, "regression");
        let range = j.range.as_ref().expect("a regression names its range");
        assert_eq!(range.from.id.as_deref(), Some(commit(7).as_str()));
        assert_eq!(range.to.id.as_deref(), Some(commit(20).as_str()));
        assert_eq!(
            range.to.datetime.as_deref(),
            Some("2026-01-01T00:20:00+00:00")
        );
    }
    assert!(stderr(&output)
        .contains("step between 000000000000 (2026-01-01) .. 000000000000 (2026-01-01)"));
    let markdown = fs::read_to_string(dir.path().join("gate.md")).unwrap();
    assert!(
        markdown.contains(&format!(
            "[compare](https://github.com/o/r/compare/{}...{})",
            commit(7),
            commit(20)
        )),
        "{markdown}"
    );
    // The verdict is kept with the recorded entries.
    let entries: Vec<Value> =
        serde_json::from_slice(&fs::read(dir.path().join("aggregate.json")).unwrap()).unwrap();
    let last = &entries[entries.len() - 1];
    assert_eq!(last["gate"]["verdict"], "regression");
    assert_eq!(last["gate"]["range"]["from"]["id"], commit(7).as_str());
    assert!((last["gate"]["change"].as_f64().unwrap() - 1.0).abs() < 0.1);

    // Still slow: unchanged against the new level, but listed as open; it fails only the runs
    // that asked to fail while a regression is open.
    let (output, still) = check(21, 2.0, &["--fail-on-regression", "--no-append"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        still.benchmarks.iter().all(|j| j.verdict == "unchanged"),
        "{still:?}"
    );
    assert_eq!(still.open.len(), 5);
    for open in &still.open {
        assert_eq!(open.range.from.id.as_deref(), Some(commit(7).as_str()));
        assert_eq!(open.range.to.id.as_deref(), Some(commit(20).as_str()));
        assert!((open.change - 1.0).abs() < 0.1, "{open:?}");
    }
    assert!(
        stderr(&output).contains("open regressions"),
        "{}",
        stderr(&output)
    );
    let (output, _) = check(21, 2.0, &["--fail-on-open"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    // Fixed: recovered, once.
    let (output, fixed) = check(22, 1.0, &["--fail-on-open"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        fixed.benchmarks.iter().all(|j| j.verdict == "recovered"),
        "{fixed:?}"
    );
    assert!(fixed.open.is_empty());
    for j in &fixed.benchmarks {
        assert!(
            (j.change.unwrap() + 0.5).abs() < 0.05,
            "against the slow level: {j:?}"
        );
        assert_eq!(
            j.range.as_ref().unwrap().to.id.as_deref(),
            Some(commit(22).as_str())
        );
    }
    let (_, after) = check(23, 1.0, &[]);
    assert!(
        after.benchmarks.iter().all(|j| j.verdict == "unchanged"),
        "{after:?}"
    );
    assert!(after.open.is_empty());
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
    history(dir.path(), 8);
    report(dir.path(), "again.json", 2.0, 7);
    let output = aggregate(
        dir.path(),
        &[
            "again.json",
            "--check",
            "--no-append",
            "--report-json",
            "gate.json",
            "--commit-url",
            "https://github.com/o/r/commit/{id}",
            "--markdown",
            "gate.md",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    for j in &verdicts(&dir.path().join("gate.json")).benchmarks {
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
