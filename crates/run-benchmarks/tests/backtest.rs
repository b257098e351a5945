//! `run-benchmarks --backtest`: the gate replayed over every suite's history of a results folder,
//! here two real histories imported from github-action-benchmark.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use aggregate::import::{self, ImportOptions};
use aggregate::AppendOptions;

/// Imports the fixture `name` into `results/data/suite/aggregate.json`.
fn import_into(results: &Path, name: &str, suite: &str) -> usize {
    let gz = bench_testkit::fixtures().join(format!("datajs/{name}.data.js.gz"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(fs::File::open(gz).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let source = results.join(format!("{name}.data.js"));
    fs::create_dir_all(results.join("data").join(suite)).unwrap();
    fs::write(&source, text).unwrap();
    let options = ImportOptions::default();
    let imported = import::read(&source, &options).unwrap();
    let history = results.join("data").join(suite).join("aggregate.json");
    aggregate::append_imported(&imported, &history, &AppendOptions::default()).unwrap();
    imported.runs.len()
}

#[test]
fn every_suite_of_a_results_folder_is_backtested_and_summed() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let histolab = import_into(&results, "histolab__histolab", "histolab");
    let tenseal = import_into(&results, "OpenMined__TenSEAL", "tenseal");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
            .args([
                "--backtest",
                "-r",
                results.to_str().unwrap(),
                "--stat",
                "mean",
            ])
            .args(extra)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let json = dir.path().join("backtest.json");
    let output = run(&["--report-json", json.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!("backtest of {} runs (mean)", histolab + tenseal)),
        "{text}"
    );
    let found: serde_json::Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    assert_eq!(found["runs"], histolab + tenseal);
    // Findings name their suite.
    let suites: Vec<&str> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["judgements"].as_array().unwrap())
        .map(|j| j["suite"].as_str().unwrap())
        .collect();
    assert!(suites.contains(&"histolab"), "{suites:?}");
    // One suite only, with --suite; no pytest runs, nothing is written to the histories.
    let before = fs::read(results.join("data/tenseal/aggregate.json")).unwrap();
    let output = run(&["--suite", "tenseal"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!("backtest of {tenseal} runs")),
        "{text}"
    );
    assert_eq!(
        fs::read(results.join("data/tenseal/aggregate.json")).unwrap(),
        before
    );
}
