//! scripts/run_benchmarks.sh copied over HeAT's old script in a HeAT tree and called as the old
//! workflow called it: `cd benchmarks/pytest-benchmarks && ./run_benchmarks.sh`, no arguments, the
//! venv's pytest on PATH. Where it finds run-benchmarks, and what it says about publishing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{git, history, install_tool, path_with, pytest, root, stderr, write};

/// A HeAT checkout with the wrapper copied over the old script and one suite beside it.
fn heat_tree(dir: &Path) -> PathBuf {
    let folder = dir.join("heat/benchmarks/pytest-benchmarks");
    write(
        &folder.join("sum/test_sum.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(10))\n",
    );
    fs::copy(
        root().join("scripts/run_benchmarks.sh"),
        folder.join("run_benchmarks.sh"),
    )
    .unwrap();
    folder
}

/// `script` (`./run_benchmarks.sh` unless told) run by a shell in `folder`, as the old workflow
/// ran it: the venv's pytest first on PATH, pytest-benchmark kept short through PYTEST_ADDOPTS
/// rather than arguments.
fn call_as_the_old_workflow(folder: &Path, venv_bin: &Path, path: &[&Path]) -> Command {
    call_script_as_the_old_workflow(Path::new("./run_benchmarks.sh"), folder, venv_bin, path)
}

fn call_script_as_the_old_workflow(
    script: &Path,
    folder: &Path,
    venv_bin: &Path,
    path: &[&Path],
) -> Command {
    let mut command = Command::new("sh");
    command
        .args(["-c", "exec \"$0\""])
        .arg(script)
        .current_dir(folder)
        .env("PATH", path_with(&[&[venv_bin], path].concat()))
        .env(
            "PYTEST_ADDOPTS",
            "--benchmark-max-time=0.005 --benchmark-min-rounds=2 --benchmark-warmup=off",
        )
        .env_remove("RUN_BENCHMARKS")
        .env_remove("BENCH_DATA_REPO");
    command
}

/// An executable run-benchmarks in `folder` that fails loudly: a copy of the tool that must not be picked.
fn decoy(folder: &Path) {
    let path = folder.join("run-benchmarks");
    write(
        &path,
        "#!/bin/sh\necho 'the wrong run-benchmarks ran' >&2\nexit 3\n",
    );
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn recorded(folder: &Path) -> usize {
    history(&folder.join("results/data/sum/aggregate.json")).len()
}

fn venv_bin(pytest: &str) -> PathBuf {
    Path::new(pytest).parent().unwrap().to_path_buf()
}

#[test]
fn on_path_it_runs_and_says_it_is_not_publishing_and_how_to() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = heat_tree(dir.path());
    let bin = dir.path().join("bin");
    install_tool(&bin);
    // PATH comes before a copy beside the script.
    decoy(&folder);

    let output = call_as_the_old_workflow(&folder, &venv_bin(&pytest), &[&bin])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(recorded(&folder), 1);
    let stderr = stderr(&output);
    let note = stderr
        .lines()
        .find(|l| l.contains("not publishing"))
        .unwrap_or_else(|| panic!("no word about publishing:\n{stderr}"));
    assert!(
        note.contains("BENCH_DATA_REPO=") && note.contains("results/"),
        "{note}"
    );
}

#[test]
fn without_it_on_path_it_takes_the_copy_beside_itself() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = heat_tree(dir.path());
    // As unpacked from a release archive next to the script; it comes before a target/ folder.
    install_tool(&folder);
    decoy(&folder.join("../target/release"));

    let output = call_as_the_old_workflow(&folder, &venv_bin(&pytest), &[])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(recorded(&folder), 1);
}

#[test]
fn from_a_checkout_of_this_project_it_takes_the_release_build() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = heat_tree(dir.path());
    let project = dir.path().join("heat-bench");
    fs::create_dir_all(project.join("scripts")).unwrap();
    fs::copy(
        root().join("scripts/run_benchmarks.sh"),
        project.join("scripts/run_benchmarks.sh"),
    )
    .unwrap();
    install_tool(&project.join("target/release"));

    let output = call_script_as_the_old_workflow(
        &project.join("scripts/run_benchmarks.sh"),
        &folder,
        &venv_bin(&pytest),
        &[],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(recorded(&folder), 1);
}

#[test]
fn nowhere_to_be_found_it_names_where_it_looked_and_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = heat_tree(dir.path());
    let output = call_as_the_old_workflow(&folder, dir.path(), &[])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("run-benchmarks not found")
            && stderr.contains(folder.to_str().unwrap())
            && stderr.contains("pip install heat-bench"),
        "{stderr}"
    );
    assert!(!folder.join("results").exists());
}

#[test]
fn with_bench_data_repo_it_commits_and_pushes_there() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = heat_tree(dir.path());
    let bin = dir.path().join("bin");
    install_tool(&bin);
    let remote = dir.path().join("bench-data.git");
    git(
        dir.path(),
        &["init", "-q", "--bare", "-b", "main", "bench-data.git"],
    );
    git(dir.path(), &["clone", "-q", "bench-data.git", "bench-data"]);

    let output = call_as_the_old_workflow(&folder, &venv_bin(&pytest), &[&bin])
        .env("BENCH_DATA_REPO", dir.path().join("bench-data"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("not publishing"));
    let files = git(&remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        files.lines().any(|f| f == "data/sum/aggregate.json"),
        "{files}"
    );
}
