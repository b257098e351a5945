//! `run-benchmarks` end to end with the real pytest-benchmark from the project's .venv and real
//! git repositories (a local bare repository stands in for the remote).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{
    git, history, one_benchmark_suite, pytest, remote_and_clones, root, run_benchmarks, stderr,
    write, FAST,
};

fn copy_example_suites(to: &Path) {
    for suite in ["arrays", "strings"] {
        let file = format!("test_{suite}.py");
        write(
            &to.join(suite).join(&file),
            &fs::read_to_string(root().join("fixtures/suites").join(suite).join(&file)).unwrap(),
        );
    }
}

/// Every file and folder below `dir` but `skip`, with its content (a folder: none).
fn snapshot(dir: &Path, skip: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path == skip {
                continue;
            }
            if path.is_dir() {
                files.insert(path.clone(), None);
                stack.push(path);
            } else {
                files.insert(path.clone(), Some(fs::read(&path).unwrap()));
            }
        }
    }
    files
}

#[test]
fn two_suites_run_twice_keep_every_benchmark_and_leave_the_sources_as_they_were() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    copy_example_suites(dir.path());
    let results = dir.path().join("results");
    let before = snapshot(dir.path(), &results);

    for run in 1..=2 {
        let output = run_benchmarks(dir.path(), &pytest, &["--quiet"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "run {run}: {}",
            stderr(&output)
        );
        let text = stderr(&output);
        // The progress line says where the benchmarks went, not the temporary report.
        for (step, count) in ["[1/2] arrays: 5", "[2/2] strings: 4"]
            .iter()
            .zip(["arrays", "strings"])
        {
            let history = Path::new(".")
                .join("results/data")
                .join(count)
                .join("aggregate.json");
            assert!(
                text.contains(&format!(
                    "{step} benchmarks; history: {} (",
                    history.display()
                )),
                "{text}"
            );
        }
    }
    for (suite, benchmarks) in [("arrays", 5), ("strings", 4)] {
        let entries = history(&results.join("data").join(suite).join("aggregate.json"));
        assert_eq!(
            entries.len(),
            2 * benchmarks,
            "{suite}: every benchmark of both runs"
        );
        let runs: std::collections::BTreeSet<_> = entries
            .iter()
            .map(|e| e["datetime"].as_str().unwrap())
            .collect();
        assert_eq!(runs.len(), 2);
        assert!(entries
            .iter()
            .all(|e| e["commit_info"].is_object() && e["stats"]["median"].is_number()));
    }
    let list: Vec<Value> = history(&results.join("data/list.json"));
    let names: Vec<_> = list
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["file"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("arrays", "arrays/aggregate.json"),
            ("strings", "strings/aggregate.json")
        ]
    );
    let plots: Vec<Value> = history(&results.join("plots/list.json"));
    assert!(!plots.is_empty());
    assert!(
        results.join("logs/arrays.log").is_file(),
        "--quiet keeps pytest's output"
    );
    let after = snapshot(dir.path(), &results);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "no file or folder left in the source tree (pytest-benchmark's .benchmarks/ either)"
    );
    assert!(after == before, "the source tree changed");
}

#[test]
fn every_outcome_is_reported_and_the_other_suites_still_recorded() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleeper.pid");
    write(
        &dir.path().join("good/test_good.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(10))\n",
    );
    write(
        &dir.path().join("odd name (x)/test_odd.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(10))\n",
    );
    write(
        &dir.path().join("failing/test_failing.py"),
        "def test_fast(benchmark):\n    benchmark(sum, range(10))\n\ndef test_broken():\n    assert False\n\n\
         def test_wrong(benchmark):\n    assert benchmark(sum, range(10)) == 0\n",
    );
    write(
        &dir.path().join("plain/test_plain.py"),
        "def test_no_benchmark():\n    assert True\n",
    );
    // A plugin that cuts the report in half after pytest-benchmark wrote it, as a crash would.
    write(
        &dir.path().join("corrupt/test_corrupt.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(10))\n",
    );
    write(
        &dir.path().join("corrupt/conftest.py"),
        "def pytest_unconfigure(config):\n    path = config.getoption('benchmark_json')\n    if path:\n        \
         text = open(path).read()\n        open(path, 'w').write(text[: len(text) // 2])\n",
    );
    write(
        &dir.path().join("hangs/test_hangs.py"),
        &format!(
            "import subprocess, time\n\ndef test_hangs(benchmark):\n    child = subprocess.Popen(['sleep', '600'])\n    \
             open({:?}, 'w').write(str(child.pid))\n    time.sleep(600)\n",
            pid_file.to_str().unwrap()
        ),
    );
    let started = Instant::now();
    let output = run_benchmarks(dir.path(), &pytest, &["--timeout", "5", "--quiet"]);
    let text = stderr(&output);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the hanging suite was not stopped"
    );
    assert_eq!(output.status.code(), Some(1), "{text}");

    // The table's row of a suite: the name last.
    let line = |suite: &str| {
        text.lines()
            .find(|l| l.ends_with(&format!("  {suite}")) && !l.contains('['))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("good").contains("recorded"), "{text}");
    assert!(line("odd name (x)").contains("recorded"), "{text}");
    assert!(line("failing").contains("failed"), "{text}");
    assert!(line("plain").contains("no benchmarks"), "{text}");
    assert!(line("hangs").contains("timed out"), "{text}");
    assert!(line("corrupt").contains("corrupt report"), "{text}");
    assert!(
        text.contains("corrupt: nothing recorded: ") && text.contains("invalid JSON"),
        "{text}"
    );
    assert!(
        text.contains(
            "failing: pytest exited with 1; 1 benchmark recorded; \
             1 benchmark of a failed test left out (--keep-failed records it)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "hangs: still running at the time limit of 5 s (--timeout): in test_hangs.py::test_hangs"
        ),
        "{text}"
    );

    let data = dir.path().join("results/data");
    assert_eq!(history(&data.join("good/aggregate.json")).len(), 1);
    assert_eq!(history(&data.join("odd name (x)/aggregate.json")).len(), 1);
    let failing = history(&data.join("failing/aggregate.json"));
    assert_eq!(failing.len(), 1, "the failed test's benchmark is left out");
    assert_eq!(failing[0]["name"], "test_fast");
    assert!(
        !data.join("plain").exists()
            && !data.join("hangs").exists()
            && !data.join("corrupt").exists()
    );

    // The whole process group went: the benchmark's own child process too.
    let pid = fs::read_to_string(&pid_file).unwrap();
    assert!(
        !common::running(pid.trim()),
        "sleep {pid} survived the time-out"
    );

    let output = run_benchmarks(
        dir.path(),
        &pytest,
        &["--suite", "failing", "--keep-failed", "--quiet"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("failing: pytest exited with 1; 2 benchmarks recorded; history: "),
        "{}",
        stderr(&output)
    );
    let names: Vec<Value> = history(&data.join("failing/aggregate.json"))
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["test_fast", "test_fast", "test_wrong"]);
}

#[test]
fn a_daemon_a_test_starts_is_ended_and_named_and_a_pipe_reader_is_not_kept_waiting() {
    let Some(pytest) = pytest() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("daemon.pid");
    // Double fork and setsid: out of pytest's process group and process tree, holding its output.
    write(
        &dir.path().join("daemon/test_daemon.py"),
        &format!(
            "import os, time\n\ndef test_starts_a_daemon(benchmark):\n    \
             if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            \
             open({:?}, 'w').write(str(os.getpid()))\n            time.sleep(120)\n        os._exit(0)\n    \
             os.wait()\n    benchmark(sum, range(10))\n",
            pid_file.to_str().unwrap()
        ),
    );
    let started = Instant::now();
    // Not --quiet: pytest's output is passed through to this pipe, as to `| cat`.
    let output = run_benchmarks(dir.path(), &pytest, &[]);
    let text = stderr(&output);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the daemon kept the pipe open: {text}"
    );
    assert_eq!(output.status.code(), Some(0), "{text}");
    let pid = fs::read_to_string(&pid_file).unwrap();
    assert!(
        text.contains(&format!("ended 1 process it left running: pid {pid} (")),
        "{text}"
    );
    assert!(!common::running(&pid), "daemon {pid} survived the suite");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("test_daemon.py ."),
        "pytest's output is passed through"
    );
    assert!(
        fs::read_to_string(dir.path().join("results/logs/daemon.log"))
            .unwrap()
            .contains("test_daemon.py ."),
        "and kept in the log without --quiet"
    );
}

#[test]
fn a_missing_pytest_names_the_command_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    copy_example_suites(dir.path());
    let output = run_benchmarks(dir.path(), "/no/such/venv/bin/pytest", &[]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("arrays: cannot start \"/no/such/venv/bin/pytest\""),
        "{text}"
    );
    assert!(text.contains("--pytest"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_benchmarks(dir.path(), "pytest", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no suite below ."),
        "{}",
        stderr(&output)
    );
    copy_example_suites(dir.path());
    let output = run_benchmarks(dir.path(), "pytest", &["--suite", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("the suites are: arrays, strings"),
        "{}",
        stderr(&output)
    );
    let output = run_benchmarks(dir.path(), "pytest", &["--publish", "."]);
    assert_eq!(output.status.code(), Some(2), "not a git checkout");
    assert!(
        stderr(&output).contains("--publish needs a git checkout"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_results_or_publish_folder_that_is_not_there_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    copy_example_suites(dir.path());
    // A link left pointing at a folder since removed (a moved scratch disk).
    std::os::unix::fs::symlink(
        dir.path().join("gone/results"),
        dir.path().join("results-link"),
    )
    .unwrap();
    let output = run_benchmarks(
        dir.path(),
        "/no/such/pytest",
        &["--results", "results-link"],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--results results-link: a symbolic link to ")
            && text.contains("gone/results, which does not exist")
            && !text.contains("cannot start"),
        "{text}"
    );
    assert!(
        !text.contains("running pytest"),
        "refused before running: {text}"
    );

    let output = run_benchmarks(dir.path(), "/no/such/pytest", &["--publish", "nowhere"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--publish nowhere: no such folder")
            && text.contains("git clone")
            && !text.contains("install git"),
        "{text}"
    );
}

#[test]
fn a_suite_that_prints_without_end_keeps_the_first_and_last_10_mib_in_its_log() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    // 30 MiB under -s, as a debugging print left in a loop does.
    write(
        &dir.path().join("loud/pytest.ini"),
        "[pytest]\naddopts = -s\n",
    );
    write(
        &dir.path().join("loud/test_loud.py"),
        "import sys\n\ndef test_loud(benchmark):\n    print('FIRST LINE')\n    \
         for _ in range(30 * 1024):\n        sys.stdout.write('x' * 1023 + '\\n')\n    \
         print('LAST LINE')\n    benchmark(sum, [1])\n",
    );
    let output = run_benchmarks(dir.path(), &pytest, &["--quiet"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let log = fs::read(dir.path().join("results/logs/loud.log")).unwrap();
    let mib = 1 << 20;
    assert!(
        log.len() > 20 * mib && log.len() < 20 * mib + 4096,
        "{}",
        log.len()
    );
    let log = String::from_utf8_lossy(&log);
    let first = log.find("FIRST LINE").unwrap();
    let gap = log.find("bytes of output left out here").unwrap();
    let last = log.find("LAST LINE").unwrap();
    assert!(
        first < 10 * mib && first < gap && gap < last,
        "{first} {gap} {last}"
    );
    assert!(log.contains("first and the last 10 MiB"));
    // pytest's own summary is at the end, kept.
    assert!(
        log.trim_end().ends_with("=") && log.contains("1 passed"),
        "{}",
        &log[log.len() - 500..]
    );
}

#[test]
fn the_plugins_state_file_is_never_seen_empty_while_tests_run() {
    // Ranks under a launcher read each other's `.current` to tell "finished" from "in a test": a
    // reader must never catch it half written. A thread of the suite's own process reads it in a
    // loop while 300 tests start one after the other.
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("race/conftest.py"),
        "import os, threading\n\nSTATE = os.environ['RUN_BENCHMARKS_STATE'] + '.current'\n\
         seen = []\ndone = threading.Event()\n\n\
         def poll():\n    while not done.is_set():\n        try:\n            \
         with open(STATE) as f:\n                if f.read() == '':\n                    seen.append(1)\n        \
         except FileNotFoundError:\n            pass\n\n\
         threading.Thread(target=poll, daemon=True).start()\n",
    );
    write(
        &dir.path().join("race/test_race.py"),
        "import pytest\nfrom conftest import seen, done\n\n\
         @pytest.mark.parametrize('i', range(300))\ndef test_many(i):\n    pass\n\n\
         def test_zz_never_empty(benchmark):\n    done.set()\n    benchmark(sum, [1])\n    \
         assert not seen, f'read an empty .current {len(seen)} times'\n",
    );
    let output = run_benchmarks(dir.path(), &pytest, &["--quiet"]);
    let log = fs::read_to_string(dir.path().join("results/logs/race.log")).unwrap_or_default();
    assert_eq!(output.status.code(), Some(0), "{}{log}", stderr(&output));
}

#[test]
fn a_pytest_killed_by_a_signal_is_said_so_with_the_signal() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("dies/test_dies.py"),
        "import os, signal\n\ndef test_dies(benchmark):\n    benchmark(sum, [1])\n    \
         os.kill(os.getpid(), signal.SIGKILL)\n",
    );
    let output = run_benchmarks(dir.path(), &pytest, &["--quiet"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("dies: pytest was killed by signal 9 (SIGKILL); 0 benchmarks recorded"),
        "{text}"
    );
}

#[test]
fn a_suite_folder_named_list_json_is_refused_before_any_suite_runs() {
    let dir = tempfile::tempdir().unwrap();
    copy_example_suites(dir.path());
    write(
        &dir.path().join("list.json/test_list.py"),
        "def test_x(benchmark):\n    benchmark(sum, [1])\n",
    );
    // The pytest command is never started: refusing comes first.
    let output = run_benchmarks(dir.path(), "no-such-pytest", &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("list.json") && text.contains("rename"),
        "{text}"
    );
    assert!(!text.contains("running pytest"), "{text}");
    assert!(!dir.path().join("results").exists());
}

// --- publishing -----------------------------------------------------------------------------

#[test]
fn publishing_commits_new_suites_and_pushes_them() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let remote = remote_and_clones(dir.path(), &["data"]);
    let suites = one_benchmark_suite(dir.path());
    let output = run_benchmarks(
        &suites,
        &pytest,
        &[
            "--quiet",
            "--publish",
            dir.path().join("data").to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("published: committed and pushed"),
        "{}",
        stderr(&output)
    );

    let files = git(&remote, &["ls-tree", "-r", "--name-only", "main"]);
    let files: Vec<&str> = files.lines().collect();
    assert!(files.contains(&"data/tiny/aggregate.json"), "{files:?}");
    assert!(
        files.contains(&"data/list.json") && files.contains(&"plots/list.json"),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .all(|f| !f.ends_with(".lock") && !f.starts_with("logs/")),
        "{files:?}"
    );
    let message = git(&remote, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.starts_with("benchmarks of ") && message.contains("tiny: 1 benchmark"),
        "{message}"
    );

    // --no-push commits only.
    let output = run_benchmarks(
        &suites,
        &pytest,
        &[
            "--quiet",
            "--no-push",
            "--publish",
            dir.path().join("data").to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(git(&remote, &["rev-list", "--count", "main"]).trim(), "1");
    assert_eq!(
        git(&dir.path().join("data"), &["rev-list", "--count", "main"]).trim(),
        "2"
    );
}

#[test]
fn two_clones_publishing_at_once_both_land() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let remote = remote_and_clones(dir.path(), &["a", "b"]);
    let suites = one_benchmark_suite(dir.path());
    let spawn = |clone: &str| {
        Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
            .args([
                "--pytest",
                &pytest,
                "--quiet",
                "--publish",
                dir.path().join(clone).to_str().unwrap(),
            ])
            .args(FAST)
            .current_dir(&suites)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let mut reapplied = 0;
    for child in [a, b] {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        reapplied += usize::from(stderr(&output).contains("re-applied on the remote's state"));
    }
    // Both started from the same empty remote: the second push must have been rejected once.
    assert_eq!(reapplied, 1);
    let check = dir.path().join("check");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            check.to_str().unwrap(),
        ],
    );
    let entries = history(&check.join("data/tiny/aggregate.json"));
    let runs: std::collections::BTreeSet<_> = entries
        .iter()
        .map(|e| e["datetime"].as_str().unwrap())
        .collect();
    assert_eq!(
        (entries.len(), runs.len()),
        (2, 2),
        "both runs' entries must be in the remote"
    );
}

#[test]
fn a_remote_that_refuses_every_push_keeps_the_reports_and_fails() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let remote = remote_and_clones(dir.path(), &["data"]);
    write(
        &remote.join("hooks/pre-receive"),
        "#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n",
    );
    Command::new("chmod")
        .args(["+x", remote.join("hooks/pre-receive").to_str().unwrap()])
        .status()
        .unwrap();
    let suites = one_benchmark_suite(dir.path());
    let output = run_benchmarks(
        &suites,
        &pytest,
        &[
            "--quiet",
            "--publish",
            dir.path().join("data").to_str().unwrap(),
        ],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("refused by policy") && text.contains("no race"),
        "{text}"
    );
    assert!(!text.contains("push 2 rejected"), "not retried: {text}");
    let kept = text
        .split("reports are kept in ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let report = Path::new(kept).join("tiny.json");
    assert!(report.is_file(), "{} is missing", report.display());
    let report: Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["benchmarks"].as_array().unwrap().len(), 1);
    fs::remove_dir_all(kept).unwrap();
}

// --- the gate -------------------------------------------------------------------------------

/// A suite whose one benchmark sleeps 50 ms, or 150 ms while the file `mode` says `slow`; `spike`
/// makes only the next pytest run slow. Steps this large stay clear of a busy machine's noise.
fn controlled_suite(dir: &Path) -> PathBuf {
    let suites = dir.join("suites");
    let mode = dir.join("mode");
    fs::write(&mode, "normal").unwrap();
    write(
        &suites.join("timed/test_timed.py"),
        &format!(
            "import time\n\nMODE = {mode:?}\n\ndef test_sleep(benchmark):\n    mode = open(MODE).read().strip()\n    \
             if mode == 'spike':\n        open(MODE, 'w').write('normal')\n    \
             delay = 0.15 if mode in ('spike', 'slow') else 0.05\n    \
             benchmark.pedantic(time.sleep, args=(delay,), rounds=3, iterations=1)\n",
            mode = mode.to_str().unwrap()
        ),
    );
    suites
}

fn gate_verdicts(path: &Path) -> Vec<(String, String)> {
    let report: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["verdict"].as_str().unwrap().to_owned(),
                j["note"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn confirmation_reruns_tell_a_one_off_slow_run_from_a_regression() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let suites = controlled_suite(dir.path());
    for _ in 0..10 {
        let output = run_benchmarks(&suites, &pytest, &["--quiet"]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let gate = dir.path().join("gate.json");
    let check = [
        "--quiet",
        "--check",
        "--no-append",
        "--threshold",
        "50",
        "--fail-on-regression",
        "--report-json",
        gate.to_str().unwrap(),
    ];

    // A one-off slow run: without confirmation it is named, but one measurement is no
    // regression ...
    fs::write(dir.path().join("mode"), "spike").unwrap();
    let output = run_benchmarks(&suites, &pytest, &check);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(gate_verdicts(&gate)[0].0, "inconclusive");
    // ... with --confirm 2 the reruns show it was not.
    fs::write(dir.path().join("mode"), "spike").unwrap();
    let confirm = [&check[..], &["--confirm", "2"]].concat();
    let output = run_benchmarks(&suites, &pytest, &confirm);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let verdict = &gate_verdicts(&gate)[0];
    assert_eq!(verdict.0, "unchanged", "{verdict:?}");
    assert!(
        verdict.1.contains("judged on the run and 2 rerun(s)"),
        "{verdict:?}"
    );

    // A real slowdown stays a regression through the reruns.
    fs::write(dir.path().join("mode"), "slow").unwrap();
    let output = run_benchmarks(&suites, &pytest, &confirm);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(gate_verdicts(&gate)[0].0, "regression");
    assert!(
        stderr(&output).contains("run-benchmarks: 1 new regression(s), 0 open from earlier runs"),
        "{}",
        stderr(&output)
    );

    // --no-append recorded nothing: the history still holds the five normal runs.
    assert_eq!(
        history(&suites.join("results/data/timed/aggregate.json")).len(),
        10
    );
}

#[test]
fn the_compatibility_wrapper_keeps_the_original_call_working() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    copy_example_suites(dir.path());
    // As the old CI job did: cd into the folder of suites and call the script.
    let output = Command::new("bash")
        .arg(root().join("scripts/run_benchmarks.sh"))
        .args(["--pytest", &pytest, "--quiet"])
        .args(FAST)
        .env("RUN_BENCHMARKS", env!("CARGO_BIN_EXE_run-benchmarks"))
        .env_remove("BENCH_DATA_REPO")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        history(&dir.path().join("results/data/arrays/aggregate.json")).len(),
        5
    );
    let list: Vec<Value> = history(&dir.path().join("results/data/list.json"));
    assert_eq!(list.len(), 2);
}

#[test]
fn warnings_from_reading_and_recording_are_shown_as_aggregate_shows_them() {
    // pytest-benchmark writes Python's bare NaN for a NaN in extra_info; browsers reject it, so
    // the entry is stored with null, and the user must be told, whichever tool recorded it.
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("nan/test_nan.py"),
        "def test_sum(benchmark):\n    benchmark.extra_info['ratio'] = float('nan')\n    benchmark(sum, range(10))\n",
    );
    let output = run_benchmarks(dir.path(), &pytest, &["--quiet"]);
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("[1/1] nan: warning: ")
            && text.contains("benchmarks[0].extra_info.ratio: NaN is not valid JSON"),
        "{text}"
    );
    let entries = history(&dir.path().join("results/data/nan/aggregate.json"));
    assert_eq!(entries[0]["extra_info"]["ratio"], Value::Null);
}

#[test]
fn a_newline_in_a_suite_name_keeps_every_message_on_one_line() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let suites = one_benchmark_suite(dir.path());
    write(
        &suites.join("two\nlines/test_two.py"),
        "def test_two(benchmark):\n    benchmark(sum, [2])\n",
    );
    let output = run_benchmarks(&suites, &pytest, &["--quiet"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains(r"two\nlines"), "{text}");
    assert!(
        text.lines().all(|l| !l.starts_with("lines")),
        "a name broke a line: {text}"
    );
}

/// Whether `line` could be taken by GitHub's runner as a workflow command: `::` after leading white
/// space (the runner trims it), or the older `##[` anywhere in the line.
fn is_command(line: &str) -> bool {
    line.trim_start().starts_with("::") || line.contains("##[")
}

#[test]
fn hostile_suite_and_benchmark_names_never_become_workflow_commands() {
    // Anyone who can open a pull request controls folder names and parametrize ids. pytest keeps
    // control characters in ids when told to (the ini option below), and a folder name may hold
    // any byte but '/'.
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let suites = dir.path().join("suites");
    // pytest itself cannot run a folder whose name holds "::" or "[...]" (it takes them for a
    // test's id): those fail, and are still named.
    for name in [
        "x\n::error title=pwned::owned",
        "y\r::add-mask::secret",
        "::warning::z",
        "w ##[add-mask]v",
    ] {
        write(
            &suites.join(name).join("test_h.py"),
            "def test_h(benchmark):\n    benchmark(sum, [1])\n",
        );
    }
    let runs = suites.join("ids\nv");
    write(
        &runs.join("pytest.ini"),
        "[pytest]\ndisable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n",
    );
    write(
        &runs.join("test_ids.py"),
        "import pytest\n\n\
         @pytest.mark.parametrize('n', [1, 2], ids=['a\\n::error::id', 'b\\r\\n##[add-mask]id'])\n\
         def test_id(benchmark, n):\n    benchmark(sum, [n])\n    assert n == 1\n",
    );
    let remote = remote_and_clones(dir.path(), &["data"]);
    let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args([
            "--pytest",
            &pytest,
            "--quiet",
            "--publish-failed",
            "--publish",
        ])
        .arg(dir.path().join("data"))
        .args(FAST)
        .current_dir(&suites)
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    for line in out.lines().chain(err.lines()) {
        assert!(!is_command(line), "a workflow command: {line:?}\n{err}");
    }
    // The names are there, escaped: in the progress, the failed tests and the table.
    assert!(err.contains(r"x\n::error title=pwned::owned"), "{err}");
    assert!(
        err.contains(r"ids\nv: pytest exited with 1; 1 benchmark recorded; 1 benchmark of a failed test left out"),
        "the failed test is known by its id, newline and all: {err}"
    );
    let log = git(&remote, &["log", "-1", "--format=%B", "main"]);
    assert!(log.contains(r"y\r::add-mask::secret"), "{log}");
    for line in log.lines() {
        assert!(!is_command(line), "in the commit message: {line:?}\n{log}");
    }
}

#[test]
fn a_check_without_appending_counts_the_judged_benchmarks_in_the_table() {
    // The suite's line said "1 benchmark judged" and the table 0.
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let suites = one_benchmark_suite(dir.path());
    let output = run_benchmarks(&suites, &pytest, &["--quiet", "--check", "--no-append"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("holds no histories"), "{err}");
    let row = err
        .lines()
        .find(|l| l.starts_with("judged"))
        .unwrap_or_else(|| panic!("no judged row: {err}"));
    assert_eq!(row.split_whitespace().nth(1), Some("1"), "{row}");
    assert!(!suites.join("results/data/tiny/aggregate.json").exists());
}

#[test]
fn help_names_every_way_to_exit_1() {
    let help = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let exit = &help[help.find("Exit status").expect("an exit-status part")..];
    for option in ["--fail-on-regression", "--fail-on-open"] {
        assert!(exit.contains(option), "{option} missing from: {exit}");
    }
}
