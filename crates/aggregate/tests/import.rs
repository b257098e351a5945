//! `aggregate --import` of other tools' histories and `aggregate --backtest` over them, on real
//! histories that open-source projects recorded (fixtures/datajs) and real pytest-benchmark runs.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use aggregate::import::{self, ImportOptions};
use aggregate::{append_entries, AppendOptions, Loaded};
use bench_gate::{GateOptions, Statistic, Verdict};
use serde_json::Value;

use common::aggregate;

/// A fixture's data.js, decompressed into `dir`.
fn data_js(dir: &Path, name: &str) -> PathBuf {
    let gz = bench_testkit::fixtures().join(format!("datajs/{name}.data.js.gz"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(fs::File::open(gz).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let path = dir.join(format!("{name}.data.js"));
    fs::write(&path, text).unwrap();
    path
}

fn entries(path: &Path) -> Vec<Value> {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn heats_own_history_imports_run_by_run_with_its_metrics_and_node_sets() {
    let dir = tempfile::tempdir().unwrap();
    let source = data_js(dir.path(), "helmholtz-analytics__heat");
    let args = [
        "--import",
        source.to_str().unwrap(),
        "--history",
        "heat.json",
    ];
    let output = aggregate(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("imported 185 run(s)"),
        "{}",
        stderr(&output)
    );
    let history = dir.path().join("heat.json");
    let stored = entries(&history);
    // One entry per benchmark and node set of each run: RUNTIME is its time, the other metrics
    // ride along.
    let kmeans: Vec<&Value> = stored
        .iter()
        .filter(|e| e["fullname"] == "kmeans[CPU-N4]")
        .collect();
    let first = kmeans[0];
    assert_eq!(
        first["commit_info"]["id"],
        "02d2492d30515936f8c5345e049fd1e5fc005d61"
    );
    assert_eq!(first["commit_info"]["branch"], "main");
    assert_eq!(
        first["commit_info"]["subject"],
        "Continous Benchmarking Action (#1137)"
    );
    assert_eq!(first["datetime"], "2023-04-27T03:27:28.655+00:00");
    assert_eq!(first["params"]["nodes"], "N4");
    assert_eq!(first["params"]["device"], "CPU");
    assert!(
        (first["stats"]["mean"].as_f64().unwrap() - 1.006438).abs() < 1e-5,
        "{first}"
    );
    assert!(
        first["stats"]["median"].is_null(),
        "never invented: {first}"
    );
    assert!(first.get("machine").is_none());
    // Every stored run of the series is one entry, and every entry has a time.
    let runs_with_kmeans = kmeans.len();
    assert!(runs_with_kmeans > 100, "{runs_with_kmeans}");
    assert!(stored
        .iter()
        .all(|e| e["stats"]["mean"].as_f64().unwrap() > 0.0));
    let with_energy = stored
        .iter()
        .filter(|e| !e["extra_info"]["metrics"]["energy"].is_null())
        .count();
    assert!(with_energy > 0);
    let energy = stored
        .iter()
        .find_map(|e| e["extra_info"]["metrics"]["energy"].as_object())
        .unwrap();
    assert_eq!(energy["unit"], "J", "kJ are written as J: {energy:?}");

    // A second import appends nothing.
    let before = fs::read(&history).unwrap();
    let output = aggregate(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("appended 0 entries"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read(&history).unwrap(), before);
}

#[test]
fn a_pytest_data_js_keeps_mean_stddev_and_rounds_and_leaves_pull_requests_out() {
    let dir = tempfile::tempdir().unwrap();
    let source = data_js(dir.path(), "OpenMined__TenSEAL");
    let output = aggregate(
        dir.path(),
        &["--import", source.to_str().unwrap(), "--history", "h.json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("10 pull-request run(s) left out"), "{text}");
    assert!(text.contains("imported 38 run(s)"), "{text}");
    let stored = entries(&dir.path().join("h.json"));
    assert_eq!(stored.len(), 38 * 89);
    let keygen = stored
        .iter()
        .find(|e| e["fullname"] == "tests/python/benchmarks/test_mnist_eval.py::test_perf_gen_keys")
        .unwrap();
    assert_eq!(keygen["name"], "test_perf_gen_keys");
    let stats = &keygen["stats"];
    assert_eq!(stats["rounds"], 5);
    assert!(stats["stddev"].as_f64().unwrap() > 0.0);
    assert!(stats["median"].is_null() && stats["min"].is_null() && stats["max"].is_null());
    // `mean` is the data.js extra's mean, in seconds; `ops` its value.
    let mean = stats["mean"].as_f64().unwrap();
    let ops = stats["ops"].as_f64().unwrap();
    assert!((mean * ops - 1.0).abs() < 1e-3, "{stats}");
    // With --pull-requests the pull requests' runs come too.
    let output = aggregate(
        dir.path(),
        &[
            "--import",
            source.to_str().unwrap(),
            "--history",
            "all.json",
            "--pull-requests",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(&dir.path().join("all.json")).len(), 48 * 89);
}

#[test]
fn saved_pytest_benchmark_runs_import_in_order_with_their_machine() {
    let Some(pytest) = bench_testkit::pytest() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(
        project.join("test_sum.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(100))\n",
    )
    .unwrap();
    for _ in 0..3 {
        let status = Command::new(&pytest)
            .args(["-q", "-p", "no:cacheprovider", "--benchmark-autosave"])
            .args(["--benchmark-max-time=0.001", "--benchmark-min-rounds=2"])
            .current_dir(&project)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let storage = project.join(".benchmarks");
    let output = aggregate(
        dir.path(),
        &["--import", storage.to_str().unwrap(), "--history", "h.json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("imported 3 run(s) of 3 saved pytest-benchmark run(s)"),
        "{}",
        stderr(&output)
    );
    let stored = entries(&dir.path().join("h.json"));
    assert_eq!(stored.len(), 3);
    let times: Vec<&str> = stored
        .iter()
        .map(|e| e["datetime"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(stored.iter().all(|e| e["machine"]["node"].is_string()));
    assert!(stored.iter().all(|e| !e["stats"]["median"].is_null()));
}

#[test]
fn bad_imports_are_one_line_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = data_js(dir.path(), "histolab__histolab");
    let text = fs::read_to_string(&source).unwrap();
    fs::write(dir.path().join("cut.data.js"), &text[..text.len() / 2]).unwrap();
    fs::write(dir.path().join("h.json"), "[]\n").unwrap();
    let output = aggregate(
        dir.path(),
        &["--import", "cut.data.js", "--history", "h.json"],
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("aggregate: error: cut.data.js:1:"),
        "{message}"
    );
    assert!(
        message.contains("take it again from the gh-pages branch"),
        "{message}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("h.json")).unwrap(),
        "[]\n"
    );
    // A data.js of several series needs --series.
    fs::write(
        dir.path().join("two.data.js"),
        r#"window.BENCHMARK_DATA = {"entries": {"CPU": [], "GPU": []}}"#,
    )
    .unwrap();
    let output = aggregate(
        dir.path(),
        &["--import", "two.data.js", "--history", "h.json"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--series NAME"),
        "{}",
        stderr(&output)
    );
}

/// What nightly CI would have done with the runs of `imported`: each judged with `--check`
/// against the history before it, recorded with its verdicts, appended.
fn nightly(imported: &import::Imported, history: &Path, options: &GateOptions) -> (usize, usize) {
    let (mut failing, mut regressions) = (0, 0);
    for run in &imported.runs {
        let mut loaded = Loaded {
            entries: run.clone(),
            warnings: Vec::new(),
        };
        let report = bench_gate::check(history, &loaded.entries, options).unwrap();
        report.record_in(&mut loaded.entries);
        failing += usize::from(report.regressions() > 0);
        regressions += report.regressions();
        append_entries(&loaded, history, &AppendOptions::default()).unwrap();
    }
    (failing, regressions)
}

#[test]
fn the_backtest_says_what_nightly_checks_would_have_said() {
    let dir = tempfile::tempdir().unwrap();
    let source = data_js(dir.path(), "helmholtz-analytics__heat");
    let options = ImportOptions::default();
    let imported = import::read(&source, &options).unwrap();
    let gate = GateOptions {
        stat: Statistic::Mean,
        ..GateOptions::default()
    };
    // Run by run through the check that nightly CI calls.
    let sequence = dir.path().join("nightly.json");
    let (failing, regressions) = nightly(&imported, &sequence, &gate);
    // The backtest of the whole imported history, in one call.
    let whole = dir.path().join("whole.json");
    aggregate::append_imported(&imported, &whole, &AppendOptions::default()).unwrap();
    let found = bench_gate::backtest(&whole, &gate).unwrap();
    assert_eq!(found.runs, imported.runs.len());
    assert_eq!(
        (found.failing_on_regression, found.regressions),
        (failing, regressions)
    );
    // What anyone can see in HeAT's chart: lanczos on 4 CPU nodes became about 29 times faster
    // in September 2023, at ba32e21e (and the gate says so, with that range).
    let lanczos = found
        .findings
        .iter()
        .flat_map(|r| &r.judgements)
        .find(|j| j.fullname == "lanczos[CPU-N4]" && j.verdict == Verdict::Improvement)
        .expect("lanczos' step is found");
    let range = lanczos.range.as_ref().unwrap();
    assert!(
        range.to.id.as_deref().unwrap().starts_with("ba32e21e"),
        "{range:?}"
    );
    assert!(lanczos.step.unwrap().change < -0.9, "{lanczos:?}");

    // The command line prints the same figures and writes the JSON.
    let output = aggregate(
        dir.path(),
        &[
            "--backtest",
            "--history",
            "whole.json",
            "--stat",
            "mean",
            "--report-json",
            "backtest.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "runs failing --fail-on-regression: {failing} of {}",
            found.runs
        )),
        "{}",
        stderr(&output)
    );
    let json: Value =
        serde_json::from_slice(&fs::read(dir.path().join("backtest.json")).unwrap()).unwrap();
    assert_eq!(json["regressions"], regressions);
    assert_eq!(json["runs"], found.runs);
}

#[test]
fn an_import_creates_the_folders_of_its_history_and_a_backtest_needs_one() {
    // The README's `aggregate --import data.js --history data/heat/aggregate.json` failed with
    // "cannot write … no such file or directory"; a backtest of a mistyped path said "0 runs".
    let dir = tempfile::tempdir().unwrap();
    let source = data_js(dir.path(), "helmholtz-analytics__heat");
    let output = aggregate(
        dir.path(),
        &[
            "--import",
            source.to_str().unwrap(),
            "--history",
            "data/heat/aggregate.json",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!entries(&dir.path().join("data/heat/aggregate.json")).is_empty());
    let output = aggregate(
        dir.path(),
        &["--backtest", "--history", "data/haet/aggregate.json"],
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("data/haet/aggregate.json: no such history"),
        "{err}"
    );
}
