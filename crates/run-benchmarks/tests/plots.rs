//! Every shipped plot, evaluated by the real jsonata 1.8 and drawn by the real Chart.js 2.9 in
//! headless Chromium (GPE's own stack, via scripts/lib/gpe.mjs), on histories of a real run and
//! on histories written by the original script.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use aggregate::AppendOptions;
use run_benchmarks::plots::SHIPPED;
use run_benchmarks::Results;
use serde_json::Value;

use common::{gpe_stack, pytest, render_plots, root, succeed};

#[test]
fn every_shipped_plot_evaluates_and_renders_in_gpes_stack() {
    let (Some(pytest), Some((modules, chromium))) = (pytest(), gpe_stack()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    // Three runs; the third moves each suite's first two runs into its archive.
    for run in 0..3 {
        let bound: &[&str] = if run == 2 {
            &["--max-entries", "10"]
        } else {
            &[]
        };
        succeed(
            Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
                .args(bound)
                .args([
                    "-d",
                    root().join("fixtures/suites").to_str().unwrap(),
                    "--quiet",
                    "--pytest",
                    &pytest,
                ])
                .args([
                    "--results",
                    results.to_str().unwrap(),
                    "--",
                    "--benchmark-max-time=0.005",
                ]),
        );
    }
    let histories = root().join("fixtures/histories");
    let extra = [
        "--history".to_string(),
        format!(
            "compact={}",
            histories.join("original-compact.json").display()
        ),
        "--history".to_string(),
        format!(
            "indented={}",
            histories.join("original-indented.json").display()
        ),
    ];
    let (cases, stderr) = render_plots(&results, &modules, &chromium, &extra);
    let failed: Vec<&Value> = cases.iter().filter(|c| c["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:#?}\n{stderr}");

    let plots: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c["plot"].as_str().unwrap()).collect();
    assert_eq!(
        plots.into_iter().collect::<Vec<_>>(),
        [
            "change",
            "compare-branches",
            "latest-run",
            "min-median-max",
            "scaling",
            "trend"
        ]
    );
    // Each file alone (two current, two archive chunks), all together, the original's two layouts
    // alone and together.
    assert_eq!(cases.len(), 6 * 8);
    for case in cases.iter().filter(|c| c["plot"] != "scaling") {
        assert!(
            case["datasets"].as_u64().unwrap() >= 1 && case["labels"].as_u64().unwrap() >= 1,
            "{case}"
        );
        assert!(case["painted"].as_u64().unwrap() > 1000, "{case}");
        if case["plot"] == "trend" {
            // One point per run and benchmark.
            assert_eq!(case["points"], case["entries"], "{case}");
            // A current file and its archive chunk join into one suite: all files give three runs.
            let runs = match case["selection"].as_str().unwrap() {
                "compact" | "arrays" | "strings" => 1,
                // The two layouts' first entries measured one commit at one time: one run.
                "indented" | "all suites" | "histories together" => 3,
                chunk => {
                    assert!(chunk.contains(" (") && chunk.ends_with(')'), "{chunk}");
                    2
                }
            };
            assert_eq!(case["labels"], runs, "{case}");
        }
    }
}

/// Histories of the shapes real data takes, from real pytest-benchmark reports varied by
/// scripts/lib/vary_reports.py and appended as run-benchmarks appends them (the original-* suites
/// by the original script), in `results/data`, with the lists and plots run-benchmarks writes.
fn untidy_histories(python: &Path, results: &Path) {
    let reports = results.join("reports");
    succeed(
        Command::new(python)
            .arg(root().join("scripts/lib/vary_reports.py"))
            .arg(&reports)
            .args(["partial", "churn", "twice", "original", "mpi", "wide"]),
    );
    let folder = Results {
        root: results.to_path_buf(),
    };
    for suite in std::fs::read_dir(&reports).unwrap() {
        let suite = suite.unwrap().path();
        let name = suite.file_name().unwrap().to_str().unwrap().to_string();
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&suite)
            .unwrap()
            .map(|r| r.unwrap().path())
            .collect();
        runs.sort();
        for report in runs {
            if name.starts_with("original-") {
                std::fs::create_dir_all(folder.data().join(&name)).unwrap();
                succeed(
                    Command::new(python)
                        .arg(root().join("scripts/lib/legacy_aggregate.py"))
                        .arg(&report)
                        .arg(folder.history(&name)),
                );
            } else {
                let options = AppendOptions::default();
                let loaded = aggregate::load_reports(&[report], &options).unwrap();
                folder.record(&name, &loaded, &options).unwrap();
            }
        }
    }
    folder.refresh().unwrap();
}

#[test]
fn every_shipped_plot_tells_the_truth_on_untidy_histories() {
    let (Some(pytest), Some((modules, chromium))) = (pytest(), gpe_stack()) else {
        return;
    };
    let python = Path::new(&pytest).with_file_name("python");
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    untidy_histories(&python, &results);
    let picks = [
        "--pick",
        "some suites per run=measured-a,measured-b,measured-c",
        "--pick",
        "original layouts together=original-a,original-b",
        "--pick",
        "MPI beside serial=mpi,serial",
    ]
    .map(String::from);
    let (cases, stderr) = render_plots(&results, &modules, &chromium, &picks);
    // gpe.mjs checks each case: labels unique, datasets as long as the labels (or points placed on
    // them), nothing missing on a log axis, the plot area at least half the canvas, and for the
    // trend and the change plot every entry drawn once at its own run in time order.
    let failed: Vec<String> = cases
        .iter()
        .filter(|c| c["ok"] != true)
        .map(|c| format!("{} on {}: {}", c["plot"], c["selection"], c["error"]))
        .collect();
    assert!(failed.is_empty(), "{}\n{stderr}", failed.join("\n"));

    let case = |plot: &str, selection: &str| {
        cases
            .iter()
            .find(|c| c["plot"] == plot && c["selection"] == selection)
            .unwrap_or_else(|| panic!("no case {plot} on {selection}: {cases:?}"))
    };
    // Every suite alone, the three picks and all suites together, for every shipped plot.
    let plots = SHIPPED.len();
    assert_eq!(cases.len(), plots * (10 + 3 + 1), "{cases:?}");
    // Scaling draws MPI runs only: their process counts, and says so when there are none.
    assert_eq!(case("scaling", "MPI beside serial")["labels"], 3);
    assert_eq!(case("scaling", "serial")["datasets"], 0);
    // The gate's verdicts (a regression, two improvements in one run) are marked, nothing else is.
    assert_eq!(case("change", "wide")["marked"], 3);
    assert_eq!(case("change", "churn")["marked"], 0);
    // 50 runs: 50 labels, one point per entry.
    assert_eq!(case("trend", "wide")["labels"], 50);
    assert_eq!(case("trend", "wide")["points"], 1500);
    // A commit measured twice in a day is two runs.
    assert_eq!(case("trend", "twice")["labels"], 4);
    // Suites measured one after another by one pipeline run share its label.
    assert_eq!(case("trend", "some suites per run")["labels"], 5);
}
