//! `aggregate` on what the real pytest-benchmark writes today, run live from the project's .venv.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's pytest; missing is a failure under CI (scripts/test installs it) and a skip elsewhere.
fn pytest() -> Option<PathBuf> {
    let venv = std::env::var_os("BENCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let pytest = venv.join("bin/pytest");
    if pytest.is_file() {
        return Some(pytest);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: scripts/test installs it",
        pytest.display()
    );
    eprintln!(
        "skipped: {} is missing; run scripts/test to install it",
        pytest.display()
    );
    None
}

#[test]
fn two_live_runs_of_a_real_suite_append_every_benchmark_twice() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("arrays");
    fs::create_dir(&suite).unwrap();
    fs::copy(
        root().join("fixtures/suites/arrays/test_arrays.py"),
        suite.join("test_arrays.py"),
    )
    .unwrap();

    for run in 1..=2 {
        let status = Command::new(&pytest)
            .args([
                "-q",
                "-p",
                "no:cacheprovider",
                "--benchmark-max-time=0.01",
                "--benchmark-json",
                "output.json",
            ])
            .current_dir(&suite)
            .status()
            .unwrap();
        assert!(status.success(), "pytest run {run} failed");
        let output = Command::new(env!("CARGO_BIN_EXE_aggregate"))
            .current_dir(&suite)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );

        let history: Vec<Value> =
            serde_json::from_slice(&fs::read(suite.join("aggregate.json")).unwrap()).unwrap();
        assert_eq!(
            history.len(),
            5 * run,
            "run {run}: all five benchmarks of every run"
        );
        let runs: std::collections::BTreeSet<_> = history
            .iter()
            .map(|e| e["datetime"].as_str().unwrap())
            .collect();
        assert_eq!(runs.len(), run);
        assert!(history
            .iter()
            .all(|e| e["machine"]["cpu_count"].as_u64().unwrap() >= 1));
    }
}
