//! `aggregate` on what the real pytest-benchmark writes today, run live from the project's .venv.

use std::fs;
use std::process::Command;

use bench_testkit::{history, pytest, root, succeed};

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
        succeed(Command::new(env!("CARGO_BIN_EXE_aggregate")).current_dir(&suite));

        let history = history(&suite.join("aggregate.json"));
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
