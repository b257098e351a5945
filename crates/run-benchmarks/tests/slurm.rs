//! A real single-node Slurm (Debian's slurm-wlm and munge, started here with more CPUs declared
//! than the machine has and forced oversubscription, no accounting database): the shipped
//! scripts/benchmarks.sbatch publishes the example suites and an MPI suite at two process counts,
//! a job killed at its time limit is published by the next, and the launcher's own refusals
//! reach the console.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    install_tool, one_benchmark_suite, path_with, pytest, remote_and_clones, remote_history,
    require, root, write,
};

/// A command the cluster's daemons run under: as it is for root, through `sudo -n` otherwise
/// (slurmd starts every job as its user).
fn privileged(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    match root {
        true => Command::new(program),
        false => {
            let mut command = Command::new("sudo");
            command.args(["-n", program]);
            command
        }
    }
}

fn found(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// munged, slurmctld and slurmd with a configuration of their own in a temporary folder; all
/// ended when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    _keep: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let tools = [
            "munged",
            "slurmctld",
            "slurmd",
            "sbatch",
            "scontrol",
            "sinfo",
        ];
        require(
            tools.iter().all(|t| found(t)).then_some(()),
            "Slurm (Debian's slurm-wlm and munge)",
        )?;
        let keep = tempfile::tempdir().unwrap();
        let dir = keep.path().to_path_buf();
        // Every user's jobs read and write below it.
        fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        for folder in ["state", "spool"] {
            fs::create_dir(dir.join(folder)).unwrap();
        }
        let host = String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let d = dir.display();
        let conf = dir.join("slurm.conf");
        write(
            &conf,
            &format!(
                "ClusterName=heatbench\nSlurmctldHost={host}(127.0.0.1)\n\
                 SlurmctldPort={}\nSlurmdPort={}\n\
                 AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket={d}/munge.socket\n\
                 SlurmUser=root\nSlurmdUser=root\n\
                 StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
                 SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
                 ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
                 JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
                 SwitchType=switch/none\nMpiDefault=none\n\
                 SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n\
                 SlurmdParameters=config_overrides\nReturnToService=2\n\
                 KillWait=30\nMinJobAge=600\nOverTimeLimit=0\n\
                 NodeName={host} NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN\n\
                 PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE\n",
                free_port(),
                free_port()
            ),
        );
        let cluster = Cluster {
            dir: dir.clone(),
            conf: conf.clone(),
            _keep: keep,
        };
        let start = |command: &mut Command| {
            let output = command.output().unwrap();
            assert!(
                output.status.success(),
                "{command:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        start(privileged("munged").args([
            &format!("--socket={d}/munge.socket"),
            &format!("--pid-file={d}/munged.pid"),
            &format!("--log-file={d}/munged.log"),
            &format!("--seed-file={d}/munged.seed"),
            "--force",
        ]));
        start(privileged("slurmctld").arg("-f").arg(&conf));
        start(
            privileged("slurmd")
                .arg("-f")
                .arg(&conf)
                .args(["-N", &host]),
        );
        let ready = Instant::now();
        while cluster.run("sinfo", &["-h", "-o", "%T"]).trim() != "idle" {
            assert!(
                ready.elapsed() < Duration::from_secs(60),
                "the node never came up: {}",
                fs::read_to_string(dir.join("slurmctld.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(cluster)
    }

    /// A Slurm client command's stdout.
    fn run(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new(program)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `sbatch --parsable OPTIONS SCRIPT ARGS` in `dir` with `env`: the job's id.
    fn submit(
        &self,
        dir: &Path,
        env: &[(&str, String)],
        options: &[&str],
        script: &Path,
        args: &[&str],
    ) -> String {
        let output: Output = Command::new("sbatch")
            .arg("--parsable")
            .args(options)
            .arg(script)
            .args(args)
            .current_dir(dir)
            .env("SLURM_CONF", &self.conf)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Waits for job `id` to end, every process of it gone (squeue lists a job until then, in
    /// state COMPLETING at the last): its state and exit code (`COMPLETED`, `0:0`).
    fn wait(&self, id: &str) -> (String, String) {
        let started = Instant::now();
        loop {
            if !self.run("squeue", &["-h", "-j", id]).trim().is_empty() {
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "job {id} never ended"
                );
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
            let shown = self.run("scontrol", &["show", "job", "-o", id]);
            let field = |name: &str| {
                shown
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix(&format!("{name}=")))
                    .unwrap_or_default()
                    .to_string()
            };
            let state = field("JobState");
            if !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", ""].contains(&state.as_str()) {
                return (state, field("ExitCode"));
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "job {id}: {shown}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A failed assertion leaves jobs running: their steps outlive slurmd, so they go first.
        let _ = Command::new("scancel")
            .arg("--user")
            .arg(std::env::var("USER").unwrap_or_else(|_| "root".into()))
            .env("SLURM_CONF", &self.conf)
            .output();
        let patience = Instant::now() + Duration::from_secs(45);
        while Instant::now() < patience && !self.run("squeue", &["-h"]).trim().is_empty() {
            std::thread::sleep(Duration::from_millis(500));
        }
        let pids: Vec<String> = ["slurmd", "slurmctld", "munged"]
            .iter()
            .filter_map(|d| fs::read_to_string(self.dir.join(format!("{d}.pid"))).ok())
            .map(|pid| pid.trim().to_string())
            .collect();
        let _ = privileged("kill").args(&pids).output();
        let patience = Instant::now() + Duration::from_secs(10);
        // A zombie is gone too: only its parent (init here) has yet to notice.
        let alive = |pid: &String| {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            })
        };
        while Instant::now() < patience && pids.iter().any(alive) {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = privileged("kill").arg("-KILL").args(&pids).output();
        let _ = privileged("rm").arg("-rf").arg(&self.dir).output();
    }
}

/// `suite`'s entries on the remote's main, freshly cloned: (benchmark, procs) -> count.
fn on_remote(dir: &Path, suite: &str) -> BTreeMap<(String, u64), usize> {
    let mut found = BTreeMap::new();
    for entry in remote_history(dir, suite) {
        let key = (
            entry["name"].as_str().unwrap().to_string(),
            entry["procs"].as_u64().unwrap_or(0),
        );
        *found.entry(key).or_default() += 1;
    }
    found
}

fn copy_suite(from: &Path, to: &Path) {
    for file in fs::read_dir(from).unwrap() {
        let file = file.unwrap().path();
        if !file.is_file() {
            continue;
        }
        write(
            &to.join(file.file_name().unwrap()),
            &fs::read_to_string(&file).unwrap(),
        );
    }
}

#[test]
fn the_shipped_batch_script_publishes_every_process_count_and_a_timed_out_job_is_published_by_the_next(
) {
    let Some(pytest) = pytest() else { return };
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    fs::set_permissions(work, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    install_tool(&work.join("bin"));
    let venv = Path::new(&pytest)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let script = root().join("scripts/benchmarks.sbatch");
    let env = |suites: &Path, data: &Path, procs: &str| {
        vec![
            (
                "PATH",
                path_with(&[&work.join("bin")])
                    .to_string_lossy()
                    .into_owned(),
            ),
            ("SUITES", suites.to_string_lossy().into_owned()),
            ("DATA_REPO", data.to_string_lossy().into_owned()),
            ("VENV", venv.to_string_lossy().into_owned()),
            ("PROCS", procs.to_string()),
            (
                "PYTEST_ADDOPTS",
                "--benchmark-max-time=0.005 --benchmark-min-rounds=2 --benchmark-warmup=off".into(),
            ),
        ]
    };
    let log = |dir: &Path, id: &str| {
        fs::read_to_string(dir.join(format!("benchmarks-{id}.log"))).unwrap_or_default()
    };

    // A job that reaches its time limit (1 minute) after one suite was recorded, in the middle of
    // the next: the next job publishes what it recorded with its own run.
    let timed = work.join("timed");
    fs::create_dir(&timed).unwrap();
    remote_and_clones(&timed, &["data"]);
    one_benchmark_suite(&timed);
    write(
        &timed.join("suites/wait/test_wait.py"),
        "import time\n\ndef test_wait(benchmark):\n    time.sleep(600)\n",
    );
    let killed = cluster.submit(
        &timed,
        &env(&timed.join("suites"), &timed.join("data"), "1"),
        &["--ntasks=1", "--time=1"],
        &script,
        &[],
    );

    // The example suites and an MPI suite at 1 and 2 processes, as shipped.
    let examples = work.join("examples");
    fs::create_dir(&examples).unwrap();
    remote_and_clones(&examples, &["data"]);
    for suite in ["arrays", "strings"] {
        copy_suite(
            &root().join("fixtures/suites").join(suite),
            &examples.join("suites").join(suite),
        );
    }
    copy_suite(
        &root().join("fixtures/mpi/collectives"),
        &examples.join("suites/collectives"),
    );
    let shipped = cluster.submit(
        &examples,
        &env(&examples.join("suites"), &examples.join("data"), "1,2"),
        &["--ntasks=2"],
        &script,
        &[],
    );

    // Refusals: fewer tasks than the largest count, caught by the script; and run-benchmarks
    // itself under srun without PMIx and with more ranks than the job has tasks.
    let refused = cluster.submit(
        &examples,
        &env(&examples.join("suites"), &examples.join("data"), "1,2"),
        &["--ntasks=1"],
        &script,
        &[],
    );
    let launchers = work.join("launchers");
    copy_suite(
        &root().join("fixtures/mpi/collectives"),
        &launchers.join("suites/collectives"),
    );
    write(
        &launchers.join("job.sh"),
        &format!(
            "#!/bin/bash\n#SBATCH --output=launchers-%j.log\nexport PATH={bin}:$PATH\n\
             run-benchmarks -d suites --results r1 --pytest {pytest} --quiet --launcher 'srun --mpi=none --ntasks={{procs}}' --procs 1\n\
             run-benchmarks -d suites --results r2 --pytest {pytest} --quiet --launcher 'srun --mpi=pmix --ntasks={{procs}}' --procs 2\n",
            bin = work.join("bin").display()
        ),
    );
    let launched = cluster.submit(
        &launchers,
        &[],
        &["--ntasks=1"],
        &launchers.join("job.sh"),
        &[],
    );

    let (state, exit) = cluster.wait(&shipped);
    let said = log(&examples, &shipped);
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{said}"
    );
    assert!(
        said.contains("run-benchmarks: published: committed and pushed"),
        "{said}"
    );
    for (suite, benchmarks) in [("arrays", 5), ("strings", 4), ("collectives", 3)] {
        let entries = on_remote(&examples, suite);
        assert_eq!(entries.len(), benchmarks * 2, "{suite}: {entries:?}");
        let counts: BTreeSet<u64> = entries.keys().map(|(_, procs)| *procs).collect();
        assert_eq!(counts, BTreeSet::from([1, 2]), "{suite}: {entries:?}");
        assert!(entries.values().all(|&n| n == 1), "{suite}: {entries:?}");
    }

    let (state, exit) = cluster.wait(&refused);
    let said = log(&examples, &refused);
    assert_eq!((state.as_str(), exit.as_str()), ("FAILED", "2:0"), "{said}");
    assert!(
        said.contains("benchmarks.sbatch: the job has --ntasks=1, fewer than the largest process count in PROCS=1,2: submit with --ntasks=2"),
        "{said}"
    );

    cluster.wait(&launched);
    let said = fs::read_to_string(launchers.join(format!("launchers-{launched}.log"))).unwrap();
    assert!(
        said.contains("the launcher said: \"The application appears to have been direct launched using \\\"srun\\\", but OMPI was not built with SLURM's PMI support and therefore cannot execute.\" (srun must start Open MPI's ranks with PMIx")
            && said.contains("the launcher said: \"srun: error: Unable to create step for job")
            && said.contains("More processors requested than permitted\" (the job has fewer tasks than --procs asks for"),
        "{said}"
    );

    let (state, _) = cluster.wait(&killed);
    let said = log(&timed, &killed);
    assert_eq!(state, "TIMEOUT", "{said}");
    assert!(
        said.contains("recorded in the histories and not committed: tiny x1: 1 benchmark; the next --publish run commits and publishes it"),
        "{said}"
    );
    let next = cluster.submit(
        &timed,
        &env(&timed.join("suites"), &timed.join("data"), "1"),
        &["--ntasks=1"],
        &script,
        &["--suite", "tiny"],
    );
    let (state, exit) = cluster.wait(&next);
    let said = log(&timed, &next);
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{said}"
    );
    assert!(
        said.contains("held what an earlier run wrote and did not commit (it was interrupted, or every suite failed): data/tiny/aggregate.json"),
        "{said}"
    );
    let entries = on_remote(&timed, "tiny");
    assert_eq!(
        entries.get(&("test_sum".to_string(), 1)),
        Some(&2),
        "both jobs' runs: {entries:?}"
    );
}
