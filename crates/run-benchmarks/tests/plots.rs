//! Every shipped plot, evaluated by the real jsonata 1.8 and drawn by the real Chart.js 2.9 in
//! headless Chromium (GPE's own stack, via scripts/lib/gpe.mjs), on histories of a real run and
//! on histories written by the original script.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{gpe_stack, pytest, render_plots, root};

#[test]
fn every_shipped_plot_evaluates_and_renders_in_gpes_stack() {
    let (Some(pytest), Some((modules, chromium))) = (pytest(), gpe_stack()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    for _ in 0..2 {
        let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
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
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
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
    // Each suite alone, both together, and the two histories of the original script.
    assert_eq!(cases.len(), 5 * 5);
    for case in &cases {
        assert!(
            case["datasets"].as_u64().unwrap() >= 1 && case["labels"].as_u64().unwrap() >= 1,
            "{case}"
        );
        assert!(case["painted"].as_u64().unwrap() > 1000, "{case}");
        if case["plot"] == "trend" {
            // One point per run and benchmark.
            assert_eq!(case["points"], case["entries"], "{case}");
            let runs = match case["selection"].as_str().unwrap() {
                "compact" => 1,
                "indented" => 3,
                _ => 2,
            };
            assert_eq!(case["labels"], runs, "{case}");
        }
    }
}
