//! Every shipped plot, evaluated by the real jsonata 1.8 and drawn by the real Chart.js 2.9 in
//! headless Chromium (GPE's own stack, via scripts/lib/gpe.mjs), on histories of a real run and
//! on histories written by the original script.

mod common;

use std::process::Command;

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
            "box-plot",
            "compare-branches",
            "latest-run",
            "scaling",
            "trend"
        ]
    );
    // Each file alone (two current, two archive chunks), all together, the original's two layouts.
    assert_eq!(cases.len(), 5 * 7);
    for case in &cases {
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
                "indented" | "all suites" => 3,
                chunk => {
                    assert!(chunk.contains(" (") && chunk.ends_with(')'), "{chunk}");
                    2
                }
            };
            assert_eq!(case["labels"], runs, "{case}");
        }
    }
}
