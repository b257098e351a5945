//! What the integration tests share: finding the tools scripts/test installs, and writing suites.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use bench_testkit::{history, pytest, require, root, stderr, succeed};

/// Open MPI's mpirun, with what it needs to run as root on a small machine.
pub fn mpirun() -> Option<Vec<(String, String)>> {
    let found = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let env = [
        ("OMPI_ALLOW_RUN_AS_ROOT", "1"),
        ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec();
    require(found.then_some(env), "mpirun (Debian's openmpi-bin)")
}

/// GPE's stack as scripts/lib/setup.sh pins it from GPE's package-lock.json (jsonata 1.8.4, Chart.js
/// 2.9.4, moment 2.29.1, and the newest jsonata 1.x as `jsonata-1x`) from npm, and Chromium:
/// (node modules folder, chromium).
pub fn gpe_stack() -> Option<(PathBuf, String)> {
    let modules = std::env::var_os("GPE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/node_modules"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = ["jsonata", "jsonata-1x", "chart.js", "moment"]
        .iter()
        .all(|m| modules.join(m).join("package.json").is_file())
        && Command::new(&chromium)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    require(
        found.then_some((modules, chromium)),
        "GPE's stack (jsonata 1.8.4 and 1.x, chart.js 2.9.4, moment 2.29.1, chromium)",
    )
}

/// Evaluates and renders every plot of `results` with scripts/lib/gpe.mjs and GPE's jsonata;
/// one JSON object per case.
pub fn render_plots(
    results: &Path,
    modules: &Path,
    chromium: &str,
    extra: &[String],
) -> (Vec<serde_json::Value>, String) {
    render_plots_with("jsonata", results, modules, chromium, extra)
}

/// As [`render_plots`], with the installed jsonata named `jsonata` (e.g. "jsonata-1x").
pub fn render_plots_with(
    jsonata: &str,
    results: &Path,
    modules: &Path,
    chromium: &str,
    extra: &[String],
) -> (Vec<serde_json::Value>, String) {
    let output = Command::new("node")
        .arg(root().join("scripts/lib/gpe.mjs"))
        .args([
            "--data",
            results.join("data").to_str().unwrap(),
            "--plots",
            results.join("plots").to_str().unwrap(),
        ])
        .args(extra)
        .env("GPE_MODULES", modules)
        .env("GPE_JSONATA", jsonata)
        .env("CHROMIUM", chromium)
        .output()
        .unwrap();
    let cases = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (cases, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The test's PATH less every folder holding a run-benchmarks (a developer's installed copy must
/// not decide a test), with `first` in front.
pub fn path_with(first: &[&Path]) -> std::ffi::OsString {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let kept = std::env::split_paths(&inherited).filter(|d| !d.join("run-benchmarks").exists());
    std::env::join_paths(first.iter().map(|p| p.to_path_buf()).chain(kept)).unwrap()
}

/// A copy of the run-benchmarks under test in `folder`, as an install or an unpacked archive puts it.
pub fn install_tool(folder: &Path) {
    fs::create_dir_all(folder).unwrap();
    fs::copy(
        env!("CARGO_BIN_EXE_run-benchmarks"),
        folder.join("run-benchmarks"),
    )
    .unwrap();
}

/// Runs git in `dir`, asserting success; its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = succeed(Command::new("git").args(args).current_dir(dir));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes `text` to `path`, creating its folder.
pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Whether process `pid` still runs, waiting a little: a killed process stays a zombie until its
/// new parent reaps it, which is no survival.
pub fn running(pid: &str) -> bool {
    let alive = || {
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
        })
    };
    for _ in 0..50 {
        if !alive() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    true
}

// --- running the tool and the data repository ----------------------------------------------

/// Keeps the suites fast: a few short rounds per benchmark.
pub const FAST: [&str; 4] = [
    "--",
    "--benchmark-max-time=0.005",
    "--benchmark-min-rounds=2",
    "--benchmark-warmup=off",
];

/// Runs our binary in `dir` with the fast pytest arguments.
pub fn run_benchmarks(dir: &Path, pytest: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .arg("--pytest")
        .arg(pytest)
        .args(args)
        .args(FAST)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A bare remote and `clones` clones of it, in `dir`.
pub fn remote_and_clones(dir: &Path, clones: &[&str]) -> PathBuf {
    let remote = dir.join("remote.git");
    git(
        dir,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ],
    );
    for clone in clones {
        git(dir, &["clone", "-q", remote.to_str().unwrap(), clone]);
    }
    remote
}

/// `suite`'s history on the remote's `main` (`dir/remote.git`), freshly cloned into `dir/check`;
/// it must parse.
pub fn remote_history(dir: &Path, suite: &str) -> Vec<serde_json::Value> {
    let check = dir.join("check");
    let _ = fs::remove_dir_all(&check);
    git(
        dir,
        &[
            "clone",
            "-q",
            dir.join("remote.git").to_str().unwrap(),
            check.to_str().unwrap(),
        ],
    );
    history(&check.join("data").join(suite).join("aggregate.json"))
}

/// Commits everything in the repository at `root` as a test author.
pub fn commit_all(root: &Path, message: &str) {
    git(root, &["add", "-A"]);
    git(
        root,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            message,
        ],
    );
}

/// `dir/suites/tiny`: one fast benchmark.
pub fn one_benchmark_suite(dir: &Path) -> PathBuf {
    let suites = dir.join("suites");
    write(
        &suites.join("tiny/test_tiny.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(10))\n",
    );
    suites
}

// --- a project with a library to slow down -----------------------------------------------

/// A git repository holding a library whose `work()` sleeps for a while and a suite that
/// benchmarks it: commits change the library, or only its README.
pub struct Project {
    pub root: PathBuf,
    commits: usize,
}

impl Project {
    pub fn new(dir: &Path) -> Self {
        let root = dir.join("project");
        write(&root.join("README"), "0\n");
        write(
            &root.join("bench/speed/conftest.py"),
            "import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..'))\n",
        );
        write(
            &root.join("bench/speed/test_speed.py"),
            "import speedlib\n\ndef test_work(benchmark):\n    benchmark.pedantic(speedlib.work, rounds=5, iterations=1)\n",
        );
        git(&root, &["init", "-q", "-b", "main"]);
        let mut project = Project { root, commits: 0 };
        project.library(0.05);
        project
    }

    pub fn commit(&mut self, message: &str) -> String {
        commit_all(&self.root, message);
        self.commits += 1;
        git(&self.root, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// A commit that only touches the README.
    pub fn touch(&mut self) -> String {
        write(&self.root.join("README"), &format!("{}\n", self.commits));
        self.commit("docs")
    }

    /// A commit that makes `work()` take `delay` seconds.
    pub fn library(&mut self, delay: f64) -> String {
        write(
            &self.root.join("speedlib.py"),
            &format!("import time\n\ndef work():\n    time.sleep({delay})\n"),
        );
        self.commit(&format!("work takes {delay} s"))
    }

    /// `run-benchmarks -d bench --quiet --check --threshold 50 --report-json GATE ARGS...` in the
    /// project, with `env`; the gate's findings (GATE beside the project).
    pub fn check(
        &self,
        pytest: &str,
        env: &[(String, String)],
        args: &[&str],
    ) -> (Output, serde_json::Value) {
        let gate = self.root.with_file_name("gate.json");
        let _ = fs::remove_file(&gate);
        let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
            .args(["--pytest", pytest, "-d", "bench", "--quiet", "--check"])
            // A slow machine's noise must not matter here: the steps are 5x.
            .args(["--threshold", "50", "--report-json", gate.to_str().unwrap()])
            .args(args)
            .args(FAST)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .envs(env.iter().cloned())
            .current_dir(&self.root)
            .output()
            .unwrap();
        let findings = fs::read(&gate)
            .ok()
            .and_then(|text| serde_json::from_slice(&text).ok())
            .unwrap_or_default();
        (output, findings)
    }
}
