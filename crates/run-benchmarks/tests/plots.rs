//! Every shipped plot, evaluated by the real jsonata 1.8 and drawn by the real Chart.js 2.9 in
//! headless Chromium (GPE's own stack, via scripts/lib/gpe.mjs), on histories of a real run and
//! on histories written by the original script.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What the test needs, or None (a skip) outside CI; under CI a missing part fails.
fn stack() -> Option<(String, PathBuf, String)> {
    let venv = std::env::var_os("BENCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let pytest = venv.join("bin/pytest");
    let modules = std::env::var_os("GPE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/node_modules"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let chromium_found = Command::new(&chromium)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<String> = [
        (!pytest.is_file()).then(|| pytest.display().to_string()),
        (!modules.join("jsonata/package.json").is_file()).then(|| "jsonata 1.8 (npm)".to_string()),
        (!modules.join("chart.js/package.json").is_file())
            .then(|| "chart.js 2.9 (npm)".to_string()),
        (!chromium_found).then(|| "chromium".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some((pytest.to_string_lossy().into_owned(), modules, chromium));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "missing {missing:?}: scripts/test installs them"
    );
    eprintln!("skipped: missing {missing:?}; run scripts/test to install them");
    None
}

#[test]
fn every_shipped_plot_evaluates_and_renders_in_gpes_stack() {
    let Some((pytest, modules, chromium)) = stack() else {
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
    let output = Command::new("node")
        .arg(root().join("scripts/lib/gpe.mjs"))
        .args([
            "--data",
            results.join("data").to_str().unwrap(),
            "--plots",
            results.join("plots").to_str().unwrap(),
        ])
        .args([
            "--history",
            &format!(
                "compact={}",
                histories.join("original-compact.json").display()
            ),
        ])
        .args([
            "--history",
            &format!(
                "indented={}",
                histories.join("original-indented.json").display()
            ),
        ])
        .env("GPE_MODULES", &modules)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let cases: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let failed: Vec<&Value> = cases.iter().filter(|c| c["ok"] != true).collect();
    assert!(
        failed.is_empty(),
        "{failed:#?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));

    let plots: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c["plot"].as_str().unwrap()).collect();
    assert_eq!(
        plots.into_iter().collect::<Vec<_>>(),
        ["box-plot", "compare-branches", "latest-run", "trend"]
    );
    // Each suite alone, both together, and the two histories of the original script.
    assert_eq!(cases.len(), 4 * 5);
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
