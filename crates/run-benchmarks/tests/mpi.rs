//! Scaling runs under a real `mpirun` (Open MPI, oversubscribed on a small machine).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{gpe_stack, mpirun, pytest, render_plots, root, write};

/// Keeps suites without communication fast: a few short rounds per benchmark.
const FAST: [&str; 3] = [
    "--",
    "--benchmark-max-time=0.005",
    "--benchmark-min-rounds=2",
];

fn run(dir: &Path, pytest: &str, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args([
            "--pytest",
            pytest,
            "--quiet",
            "--launcher",
            "mpirun --oversubscribe -n {procs}",
        ])
        .args(args)
        .envs(env.iter().cloned())
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn collectives_with_uneven_work_per_rank_finish_at_1_2_and_4_processes_with_default_options() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let suite = root().join("fixtures/mpi/collectives/test_collectives.py");
    write(
        &dir.path().join("collectives/test_collectives.py"),
        &fs::read_to_string(suite).unwrap(),
    );
    // pytest-benchmark's defaults: each rank would calibrate on its own and wait forever in a
    // collective that the other ranks have left; the limit turns such a hang into a failure.
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &["--procs", "1,2,4", "--timeout", "90"],
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let history = dir.path().join("results/data/collectives/aggregate.json");
    let entries: Vec<Value> = serde_json::from_slice(&fs::read(&history).unwrap()).unwrap();
    let mut recorded: Vec<(u64, &str)> = entries
        .iter()
        .map(|e| (e["procs"].as_u64().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    recorded.sort();
    let expected: Vec<(u64, &str)> = [1, 2, 4]
        .into_iter()
        .flat_map(|p| {
            ["test_allreduce", "test_bcast", "test_sendrecv_ring"].map(move |name| (p, name))
        })
        .collect();
    assert_eq!(recorded, expected, "{text}");
    // Every rank ran the same rounds: each rank's log shows its table, rank by rank, plain text.
    let log = fs::read_to_string(dir.path().join("results/logs/collectives.x4.log")).unwrap();
    for rank in 0..4 {
        assert!(
            log.contains(&format!("==> rank {rank} of 4: pytest's output <==")),
            "{log}"
        );
    }
    assert!(
        !log.contains('\u{1b}'),
        "no terminal colours in the log: {log}"
    );
    for test in ["test_allreduce", "test_bcast", "test_sendrecv_ring"] {
        let rounds: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with(test))
            .map(|l| l.split_whitespace().rev().nth(1).unwrap())
            .collect();
        assert_eq!(rounds.len(), 4, "{test} in every rank's table: {log}");
        assert!(rounds.iter().all(|r| *r == rounds[0]), "{test}: {rounds:?}");
    }
}

const TWO_BENCHMARKS: &str = "import os, time\n\n\
RANK = int(os.environ.get('OMPI_COMM_WORLD_RANK', '0'))\n\n\
def test_sleep(benchmark):\n    benchmark(time.sleep, 0.001 * (1 + RANK))\n\n\
def test_sum(benchmark):\n    benchmark(sum, range(1000))\n";

#[test]
fn each_process_count_gets_entries_with_every_ranks_median_and_the_scaling_plot_renders() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("scaling/test_scaling.py"), TWO_BENCHMARKS);
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &["--procs", "1,2", FAST[0], FAST[1], FAST[2]],
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        ["scaling x1", "scaling x2"].iter().all(|unit| text
            .lines()
            .any(|l| l.starts_with("recorded ") && l.ends_with(&format!("  {unit}")))),
        "{text}"
    );

    let history = dir.path().join("results/data/scaling/aggregate.json");
    let entries: Vec<Value> = serde_json::from_slice(&fs::read(&history).unwrap()).unwrap();
    assert_eq!(entries.len(), 4, "two benchmarks at two counts");
    for entry in &entries {
        let procs = entry["procs"].as_u64().unwrap();
        let medians: Vec<f64> = entry["ranks"]["medians"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_f64().unwrap())
            .collect();
        assert_eq!(medians.len() as u64, procs, "{entry}");
        let slowest = entry["ranks"]["slowest"].as_u64().unwrap() as usize;
        // The entry's statistics are the slowest rank's.
        assert_eq!(entry["stats"]["median"].as_f64().unwrap(), medians[slowest]);
        assert!(medians.iter().all(|m| *m <= medians[slowest]));
    }
    // Rank 1 sleeps twice as long in test_sleep: it is the slowest there.
    let sleep2 = entries
        .iter()
        .find(|e| e["procs"] == 2 && e["name"] == "test_sleep")
        .unwrap();
    assert_eq!(sleep2["ranks"]["slowest"], 1);

    // Counts are separate series for the gate: 2-process runs are judged against 2-process runs.
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &[
            "--procs",
            "1,2",
            "--check",
            "--no-append",
            "--min-history",
            "1",
            "--report-json",
            "gate.json",
            FAST[0],
            FAST[1],
            FAST[2],
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let gate: Value =
        serde_json::from_slice(&fs::read(dir.path().join("gate.json")).unwrap()).unwrap();
    let machines: std::collections::BTreeSet<&str> = gate["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["machine"].as_str().unwrap())
        .collect();
    assert_eq!(machines.len(), 2, "{machines:?}");
    assert!(
        gate["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["history"] == 1),
        "{gate}"
    );

    let Some((modules, chromium)) = gpe_stack() else {
        return;
    };
    let (cases, stderr) = render_plots(&dir.path().join("results"), &modules, &chromium, &[]);
    // Every plot works on MPI histories, the scaling plot above all.
    let failed: Vec<&Value> = cases.iter().filter(|c| c["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:?} {stderr}");
    let scaling: Vec<&Value> = cases.iter().filter(|c| c["plot"] == "scaling").collect();
    assert_eq!(scaling.len(), 1, "{cases:?} {stderr}");
    assert_eq!(scaling[0]["ok"], true, "{:?} {stderr}", scaling[0]);
    assert_eq!(scaling[0]["labels"], 2, "one point per process count");
    assert_eq!(
        scaling[0]["datasets"], 3,
        "the ideal speed-up and each benchmark's"
    );
}

#[test]
fn a_failing_rank_is_named_and_nothing_is_recorded_for_its_count() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("flaky/test_flaky.py"),
        "import os\n\ndef test_work(benchmark):\n    if os.environ.get('OMPI_COMM_WORLD_RANK') == '1':\n        \
         raise RuntimeError('rank 1 broke')\n    benchmark(sum, range(100))\n",
    );
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &["--procs", "1,2", FAST[0], FAST[1], FAST[2]],
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}");
    // Rank 1 fails before the benchmark rank 0 waits at: it says why and ends the run at once.
    assert!(
        text.contains(
            "flaky x2: rank 0 of 2 was ended when rank 1 failed; rank 1 of 2 failed \
             test_flaky.py::test_work: RuntimeError: rank 1 broke; nothing recorded at 2 processes"
        ),
        "{text}"
    );
    let entries: Vec<Value> = serde_json::from_slice(
        &fs::read(dir.path().join("results/data/flaky/aggregate.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["procs"], 1);
}

#[test]
fn a_hanging_rank_ends_at_the_timeout_with_every_process_gone() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    fs::create_dir(&pids).unwrap();
    write(
        &dir.path().join("hangs/test_hangs.py"),
        &format!(
            "import os, time\n\ndef test_work(benchmark):\n    \
             open(os.path.join({:?}, str(os.getpid())), 'w').close()\n    \
             if os.environ.get('OMPI_COMM_WORLD_RANK') == '1':\n        time.sleep(600)\n    benchmark(sum, range(100))\n",
            pids.to_str().unwrap()
        ),
    );
    let started = Instant::now();
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &["--procs", "2", "--timeout", "8", FAST[0], FAST[1], FAST[2]],
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "{text}");
    assert_eq!(output.status.code(), Some(1), "{text}");
    // Rank 0 waits for rank 1 at the start of the benchmark: both are in the test.
    assert!(
        text.contains(
            "hangs x2: still running at the time limit of 8 s (--timeout): \
             rank 0 of 2 in test_hangs.py::test_work, rank 1 of 2 in test_hangs.py::test_work"
        ),
        "{text}"
    );
    let ranks: Vec<String> = fs::read_dir(&pids)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ranks.len(), 2, "both ranks started: {ranks:?}");
    for pid in ranks {
        assert!(
            !common::running(&pid),
            "rank process {pid} survived the time-out"
        );
    }
}

/// A suite whose rank 1 raises in the middle of the measured rounds, between two allreduces:
/// rank 0 then sits in an allreduce that will never complete while rank 1 moves on.
fn breaking_suite(dir: &Path, pids: &Path) {
    write(
        &dir.join("breaks/test_breaks.py"),
        &format!(
            "import os\nfrom mpi4py import MPI\n\nCOMM = MPI.COMM_WORLD\nCALLS = [0]\n\n\
             def step():\n    CALLS[0] += 1\n    \
             if COMM.Get_rank() == 1 and CALLS[0] == 50:\n        raise RuntimeError('rank 1 broke')\n    \
             return COMM.allreduce(CALLS[0])\n\n\
             def test_work(benchmark):\n    open(os.path.join({:?}, str(os.getpid())), 'w').close()\n    \
             benchmark(step)\n\n\
             def test_later(benchmark):\n    benchmark(sum, [1])\n",
            pids.to_str().unwrap()
        ),
    );
}

/// The pids of the ranks that wrote theirs into `pids`: none may still run.
fn assert_all_gone(pids: &Path, procs: usize) {
    let ranks: Vec<String> = fs::read_dir(pids)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ranks.len(), procs, "every rank started: {ranks:?}");
    for pid in ranks {
        assert!(!common::running(&pid), "rank process {pid} survived");
    }
}

#[test]
fn a_rank_that_fails_inside_an_allreduce_ends_the_run_at_once_with_its_traceback() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    for procs in [2, 4] {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        fs::create_dir(&pids).unwrap();
        breaking_suite(dir.path(), &pids);
        let started = Instant::now();
        // A limit the run must never come near: the failure ends it, not the limit.
        let output = run(
            dir.path(),
            &pytest,
            &env,
            // Enough rounds that rank 1's 50th call falls among them, however slow the machine.
            &[
                "--procs",
                &procs.to_string(),
                "--timeout",
                "600",
                "--",
                "--benchmark-min-rounds=100",
            ],
        );
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(took < Duration::from_secs(120), "{took:?}: {text}");
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(!text.contains("time limit"), "{text}");
        assert!(
            text.contains(&format!(
                "breaks x{procs}: rank 0 of {procs} was ended when rank 1 failed; rank 1 of {procs} \
                 failed test_breaks.py::test_work: RuntimeError: rank 1 broke"
            )),
            "{text}"
        );
        for rank in 2..procs {
            assert!(
                text.contains(&format!(
                    "rank {rank} of {procs} was ended when rank 1 failed"
                )),
                "{text}"
            );
        }
        assert!(
            text.contains(&format!("nothing recorded at {procs} processes")),
            "{text}"
        );
        // The traceback, with the line that raised, is in the log.
        let log = fs::read_to_string(dir.path().join(format!("results/logs/breaks.x{procs}.log")))
            .unwrap();
        assert!(
            log.contains("raise RuntimeError('rank 1 broke')")
                && log
                    .lines()
                    .any(|l| l.starts_with("E ") && l.ends_with(" RuntimeError: rank 1 broke")),
            "{log}"
        );
        assert_all_gone(&pids, procs);
        assert!(!dir
            .path()
            .join("results/data/breaks/aggregate.json")
            .exists());
    }
}

#[test]
fn a_rank_killed_by_a_signal_is_named_and_ends_the_run_when_the_launcher_would_wait() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    fs::create_dir(&pids).unwrap();
    // Rank 1 dies as the OOM killer ends a process; rank 0 waits in an allreduce. This mpirun is
    // told not to end the job when a process exits with a failure (srun does not by default).
    write(
        &dir.path().join("dies/test_dies.py"),
        &format!(
            "import os, signal\nfrom mpi4py import MPI\n\nCOMM = MPI.COMM_WORLD\nCALLS = [0]\n\n\
             def step():\n    CALLS[0] += 1\n    \
             if COMM.Get_rank() == 1 and CALLS[0] == 50:\n        os.kill(os.getpid(), signal.SIGKILL)\n    \
             return COMM.allreduce(CALLS[0])\n\n\
             def test_work(benchmark):\n    open(os.path.join({:?}, str(os.getpid())), 'w').close()\n    \
             benchmark(step)\n",
            pids.to_str().unwrap()
        ),
    );
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args([
            "--pytest",
            &pytest,
            "--quiet",
            "--launcher",
            "mpirun --oversubscribe --mca orte_abort_on_non_zero_status 0 -n {procs}",
            "--procs",
            "2",
            "--timeout",
            "600",
            "--",
            "--benchmark-min-rounds=100",
        ])
        .envs(env.iter().cloned())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(took < Duration::from_secs(120), "{took:?}: {text}");
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("dies x2: rank 0 of 2 was ended when rank 1 failed")
            && text.contains(
                "rank 1 of 2 was killed by signal 9 (SIGKILL) in test_dies.py::test_work"
            )
            && !text.contains("exited with 137"),
        "{text}"
    );
    assert_all_gone(&pids, 2);
}

#[test]
fn without_mpi4py_every_rank_says_what_to_install() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("scaling/test_scaling.py"), TWO_BENCHMARKS);
    // A module named mpi4py that cannot be imported stands in for a venv without it.
    write(
        &dir.path().join("shadow/mpi4py/__init__.py"),
        "raise ImportError('No module named mpi4py')\n",
    );
    let mut env = env;
    env.push((
        "PYTHONPATH".into(),
        dir.path().join("shadow").to_string_lossy().into_owned(),
    ));
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &["--procs", "2", "--suite", "scaling"],
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("scaling x2: rank 0 of 2 failed: mpi4py is not importable by ")
            && text.contains("install it where pytest runs (pip install mpi4py)"),
        "{text}"
    );
}

#[test]
fn a_suite_folder_name_of_250_characters_runs_alone_and_under_the_launcher() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Legal on Linux (255 bytes per name); every file named after it must stay within the limit.
    let name = format!("s{}", "x".repeat(249));
    write(&dir.path().join(&name).join("test_long.py"), TWO_BENCHMARKS);
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &["--procs", "1,2", FAST[0], FAST[1], FAST[2]],
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args(["--pytest", &pytest, "--quiet"])
        .args(FAST)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let history = dir
        .path()
        .join("results/data")
        .join(&name)
        .join("aggregate.json");
    let entries: Vec<Value> = serde_json::from_slice(&fs::read(&history).unwrap()).unwrap();
    assert_eq!(
        entries.len(),
        6,
        "two benchmarks at 1 and 2 processes, then alone"
    );
    let logs: Vec<String> = fs::read_dir(dir.path().join("results/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(logs.len(), 3, "{logs:?}");
    assert!(
        logs.iter()
            .all(|l| l.starts_with("sxxxx") && l.len() <= 255),
        "{logs:?}"
    );
}

#[test]
fn a_launchers_own_refusal_is_on_the_console_with_what_to_do() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("scaling/test_scaling.py"), TWO_BENCHMARKS);
    // More ranks than the machine has cores, without --oversubscribe.
    let procs = std::thread::available_parallelism().unwrap().get() + 1;
    let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args([
            "--pytest",
            &pytest,
            "--quiet",
            "--launcher",
            "mpirun -n {procs}",
        ])
        .args(["--procs", &procs.to_string()])
        .envs(env.iter().cloned())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "the launcher said: \"There are not enough slots available in the system to satisfy the {procs} slots that were requested by the application:\" (add --oversubscribe to --launcher"
        )),
        "{text}"
    );

    // As root, Open MPI refuses unless told twice.
    let root = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&root.stdout).trim() == "0" {
        let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
            .args(["--pytest", &pytest, "--quiet"])
            .args([
                "--launcher",
                "mpirun --oversubscribe -n {procs}",
                "--procs",
                "2",
            ])
            .env_remove("OMPI_ALLOW_RUN_AS_ROOT")
            .env_remove("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM")
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(
            text.contains(
                "the launcher said: \"mpirun has detected an attempt to run as root.\" (as root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
            ),
            "{text}"
        );
    }
}
