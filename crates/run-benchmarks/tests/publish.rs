//! Publishing under real faults: several clones of a local bare remote, unpushed commits, the
//! user's own changes, merges in progress, hooks and credentials in URLs, all with real git and
//! the real pytest-benchmark.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

use common::{
    git, one_benchmark_suite, pytest, remote_and_clones, run_benchmarks, stderr, write, FAST,
};

/// `run-benchmarks --quiet --publish CLONE EXTRA...` on the one-benchmark suite.
fn publish(dir: &Path, pytest: &str, clone: &str, extra: &[&str]) -> Output {
    let repo = dir.join(clone);
    let mut args = vec!["--quiet", "--publish", repo.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_benchmarks(&dir.join("suites"), pytest, &args)
}

fn assert_ok(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
}

/// Gives a clone an identity, for the commits and merges a test makes by hand.
fn identify(clone: &Path) {
    git(clone, &["config", "user.name", "Test"]);
    git(clone, &["config", "user.email", "test@example.com"]);
}

/// The remote's `main`, freshly cloned: how many times each run (datetime) is in `suite`'s
/// history, which must parse.
fn runs_on_remote(dir: &Path, suite: &str) -> BTreeMap<String, usize> {
    let mut runs = BTreeMap::new();
    for entry in common::remote_history(dir, suite) {
        *runs
            .entry(entry["datetime"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    runs
}

/// A remote whose `main` holds a README.md (and `extra` files), and clones of it.
fn remote_with_readme(dir: &Path, clones: &[&str], extra: &[(&str, &str)]) {
    remote_and_clones(dir, &["seed"]);
    let seed = dir.join("seed");
    identify(&seed);
    write(&seed.join("README.md"), "Benchmark results.\n");
    for (path, text) in extra {
        write(&seed.join(path), text);
    }
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "start"]);
    git(&seed, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    for clone in clones {
        git(
            dir,
            &[
                "clone",
                "-q",
                dir.join("remote.git").to_str().unwrap(),
                clone,
            ],
        );
    }
}

/// Clone `a` publishes once, then commits `unpushed` runs without pushing; clone `b` publishes
/// after it: `a` and the remote each hold runs the other lacks.
fn diverge(dir: &Path, pytest: &str, unpushed: usize) {
    one_benchmark_suite(dir);
    assert_ok(&publish(dir, pytest, "a", &[]));
    for _ in 0..unpushed {
        assert_ok(&publish(dir, pytest, "a", &["--no-push"]));
    }
    assert_ok(&publish(dir, pytest, "b", &[]));
}

#[test]
fn runs_committed_with_no_push_reach_the_remote_after_another_clone_published() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_and_clones(dir, &["a", "b"]);
    diverge(dir, &pytest, 2);
    let output = publish(dir, &pytest, "a", &[]);
    assert_ok(&output);

    let runs = runs_on_remote(dir, "tiny");
    assert_eq!(runs.len(), 5, "every run must reach the remote: {runs:?}");
    assert!(runs.values().all(|&n| n == 1), "each run once: {runs:?}");
    // The local commits are part of what was pushed, not rewritten.
    let local = git(&dir.join("a"), &["rev-list", "main"]);
    let remote = git(&dir.join("remote.git"), &["rev-list", "main"]);
    assert!(
        local.lines().all(|c| remote.contains(c)),
        "every local commit is on the remote"
    );
}

#[test]
fn the_users_uncommitted_and_untracked_files_are_refused_and_kept() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a", "b"], &[]);
    diverge(dir, &pytest, 1);
    let a = dir.join("a");
    fs::write(a.join("README.md"), "Benchmark results, edited by hand.\n").unwrap();
    fs::write(a.join("data/NOTES.txt"), "my notes\n").unwrap();
    let head = git(&a, &["rev-parse", "HEAD"]);

    let output = publish(dir, &pytest, "a", &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("cannot publish from ")
            && text.contains("uncommitted changes run-benchmarks did not make: ")
            && text.contains("README.md (modified), data/NOTES.txt (untracked)")
            && text.contains("stash push --include-untracked -- README.md data/NOTES.txt`"),
        "{text}"
    );
    // git did not fail, and stashing everything would hide the tool's own entries.
    assert!(
        !text.contains("git status failed") && !text.contains("stash -u"),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(a.join("README.md")).unwrap(),
        "Benchmark results, edited by hand.\n"
    );
    assert_eq!(
        fs::read_to_string(a.join("data/NOTES.txt")).unwrap(),
        "my notes\n"
    );
    assert_eq!(git(&a, &["rev-parse", "HEAD"]), head, "nothing committed");
    assert!(
        !text.contains("running pytest"),
        "refused before running: {text}"
    );
}

#[test]
fn a_merge_in_progress_is_refused_and_nothing_unparsable_is_pushed() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_and_clones(dir, &["a", "b"]);
    diverge(dir, &pytest, 1);
    let a = dir.join("a");
    identify(&a);
    // Both appended a run at the same place: the history conflicts (UU).
    let pull = Command::new("git")
        .args(["pull", "-q", "--no-rebase", "origin", "main"])
        .current_dir(&a)
        .output()
        .unwrap();
    assert!(!pull.status.success(), "the pull must conflict");
    let status = git(&a, &["status", "--porcelain"]);
    assert!(status.contains("UU data/tiny/aggregate.json"), "{status}");
    let remote_head = git(&dir.join("remote.git"), &["rev-parse", "main"]);

    let output = publish(dir, &pytest, "a", &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("merge is in progress"), "{text}");
    assert_eq!(
        git(&dir.join("remote.git"), &["rev-parse", "main"]),
        remote_head,
        "nothing pushed"
    );
    assert!(
        git(&a, &["rev-parse", "-q", "--verify", "MERGE_HEAD"])
            .trim()
            .len()
            == 40,
        "the user's merge is left for the user to finish"
    );
    assert_eq!(runs_on_remote(dir, "tiny").len(), 2);
}

#[test]
fn lock_files_stay_out_of_git_when_the_repository_has_its_own_gitignore() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[(".gitignore", "*.pyc\n")]);
    one_benchmark_suite(dir);
    assert_ok(&publish(dir, &pytest, "a", &[]));
    assert_ok(&publish(dir, &pytest, "a", &[]));
    let files = git(
        &dir.join("remote.git"),
        &["ls-tree", "-r", "--name-only", "main"],
    );
    assert!(files.contains("data/tiny/aggregate.json"), "{files}");
    assert!(
        files
            .lines()
            .all(|f| !f.ends_with(".lock") && !f.contains(".tmp.") && !f.starts_with("logs/")),
        "{files}"
    );
    assert_eq!(
        git(&dir.join("a"), &["status", "--porcelain"]),
        "",
        "our files do not show as changes either"
    );
}

#[test]
fn credentials_in_a_remote_url_are_never_printed() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let remote = remote_and_clones(dir, &["a"]);
    let a = dir.join("a");
    // The branch's remote is a URL with a token; git rewrites it to the local bare remote.
    let url = "http://user:SECRET@example.invalid/data.git";
    git(
        &a,
        &[
            "config",
            &format!("url.{}.insteadOf", remote.display()),
            url,
        ],
    );
    git(&a, &["config", "branch.main.remote", url]);
    one_benchmark_suite(dir);
    let output = publish(dir, &pytest, "a", &[]);
    assert_ok(&output);
    let text = stderr(&output);
    assert!(
        text.contains("pushed to http://***@example.invalid"),
        "{text}"
    );
    assert!(!text.contains("SECRET"), "{text}");

    // And when the remote cannot be reached.
    git(
        &a,
        &[
            "config",
            "branch.main.remote",
            "http://user:SECRET@127.0.0.1:9/data.git",
        ],
    );
    let output = publish(dir, &pytest, "a", &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

/// Starts `run-benchmarks --publish` in `clone` without waiting.
fn spawn_publish(dir: &Path, pytest: &str, clone: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args([
            "--pytest",
            pytest,
            "--quiet",
            "--publish",
            dir.join(clone).to_str().unwrap(),
        ])
        .args(FAST)
        .current_dir(dir.join("suites"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn six_clones_publishing_at_once_all_land_exactly_once() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let clones = ["c1", "c2", "c3", "c4", "c5", "c6"];
    remote_with_readme(dir, &clones, &[]);
    one_benchmark_suite(dir);
    let children: Vec<_> = clones
        .iter()
        .map(|c| spawn_publish(dir, &pytest, c))
        .collect();
    for child in children {
        assert_ok(&child.wait_with_output().unwrap());
    }
    let runs = runs_on_remote(dir, "tiny");
    assert_eq!(runs.len(), clones.len(), "{runs:?}");
    assert!(runs.values().all(|&n| n == 1), "{runs:?}");
}

#[test]
fn two_runs_in_one_checkout_at_once_both_land() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    one_benchmark_suite(dir);
    let first = spawn_publish(dir, &pytest, "a");
    let second = spawn_publish(dir, &pytest, "a");
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert_ok(&output);
        assert!(!stderr(&output).contains("exit status exit status"));
    }
    let runs = runs_on_remote(dir, "tiny");
    assert_eq!(runs.len(), 2, "{runs:?}");
}

#[test]
fn publishing_into_a_sub_folder_of_a_checkout() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    one_benchmark_suite(dir);
    fs::create_dir(dir.join("a/bench")).unwrap();
    let output = publish(dir, &pytest, "a/bench", &[]);
    assert_ok(&output);
    let files = git(
        &dir.join("remote.git"),
        &["ls-tree", "-r", "--name-only", "main"],
    );
    assert!(
        files.contains("bench/data/tiny/aggregate.json") && files.contains("bench/plots/list.json"),
        "{files}"
    );
    let message = git(
        &dir.join("remote.git"),
        &["log", "-1", "--format=%B", "main"],
    );
    assert!(message.contains("tiny: 1 benchmark"), "{message}");
    let list: Value =
        serde_json::from_slice(&fs::read(dir.join("a/bench/data/list.json")).unwrap()).unwrap();
    assert_eq!(list[0]["file"], "tiny/aggregate.json");
}

#[test]
fn a_gitignore_that_hides_json_does_not_hide_what_is_published() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // A repository set up for something else, ignoring every JSON file.
    remote_with_readme(dir, &["a"], &[(".gitignore", "*.json\n")]);
    one_benchmark_suite(dir);
    for run in 1..=2 {
        let output = publish(dir, &pytest, "a", &[]);
        assert_ok(&output);
        let text = stderr(&output);
        // Said while our files are not tracked yet; once they are, the rule no longer applies.
        assert_eq!(
            text.contains(
                "ignores data/tiny/aggregate.json (.gitignore:1: *.json), data/list.json"
            ) && text.contains("adds its own files regardless (git add -f)"),
            run == 1,
            "{text}"
        );
        assert_eq!(runs_on_remote(dir, "tiny").len(), run, "{text}");
    }
    let files = git(
        &dir.join("remote.git"),
        &["ls-tree", "-r", "--name-only", "main"],
    );
    for file in [
        "data/tiny/aggregate.json",
        "data/list.json",
        "plots/list.json",
    ] {
        assert!(files.lines().any(|f| f == file), "{file}: {files}");
    }
    assert!(!files.contains(".lock"), "{files}");
}

/// `dir/suites/broken`: one benchmark passes, the other test fails after its benchmark ran.
fn broken_suite(dir: &Path) {
    write(
        &dir.join("suites/broken/test_broken.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(10))\n\n\
         def test_broken(benchmark):\n    benchmark(sum, range(10))\n    assert False, 'broken'\n",
    );
}

#[test]
fn a_run_in_which_every_suite_failed_commits_nothing_unless_asked() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    broken_suite(dir);
    let a = dir.join("a");
    let remote_head = git(&dir.join("remote.git"), &["rev-parse", "main"]);
    let output = publish(dir, &pytest, "a", &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "every suite failed: nothing committed or pushed (--publish-failed publishes"
        ) && text.contains("broken: 1 benchmark")
            && text.contains("stays in the checkout"),
        "{text}"
    );
    assert_eq!(
        git(&dir.join("remote.git"), &["rev-parse", "main"]),
        remote_head
    );
    assert_eq!(git(&a, &["rev-parse", "HEAD"]), remote_head);
    assert!(
        git(&a, &["status", "--porcelain"]).contains("data/"),
        "the recorded benchmark is kept"
    );

    // Asked to: what the first run kept and this run's benchmark are both published.
    let output = publish(dir, &pytest, "a", &["--publish-failed"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("held what an earlier run wrote and did not commit")
            && text.contains("published: committed and pushed"),
        "{text}"
    );
    assert_eq!(runs_on_remote(dir, "broken").len(), 2, "{text}");
    let message = git(
        &dir.join("remote.git"),
        &["log", "-1", "--format=%B", "main"],
    );
    assert!(
        message.contains("broken: pytest exited with 1; 1 benchmark recorded"),
        "{message}"
    );
    assert_eq!(git(&a, &["status", "--porcelain"]), "");
}

/// A pre-commit hook in `clone` that kills run-benchmarks (git's parent) and fails the commit:
/// the histories are written and staged then, as a kill at that moment leaves things. Its path.
fn kill_at_commit(clone: &Path) -> std::path::PathBuf {
    let hook = clone.join(".git/hooks/pre-commit");
    write(
        &hook,
        "#!/bin/sh\nread -r _ _ _ run _ < /proc/$PPID/stat\nkill -KILL \"$run\"\nexit 1\n",
    );
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    hook
}

#[test]
fn a_run_killed_between_recording_and_committing_is_finished_by_the_next() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    one_benchmark_suite(dir);
    let a = dir.join("a");
    let hook = kill_at_commit(&a);
    let output = publish(dir, &pytest, "a", &[]);
    assert_eq!(output.status.code(), None, "killed: {}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "run-benchmarks: interrupted (Ctrl-C, a signal or the system ended the run): \
             recorded in the histories and not committed: tiny: 1 benchmark; the next --publish \
             run commits and publishes it\nrun-benchmarks: interrupted: removed "
        ),
        "{}",
        stderr(&output)
    );
    let status = git(&a, &["status", "--porcelain"]);
    assert!(status.contains("data/tiny/aggregate.json"), "{status}");
    fs::remove_file(&hook).unwrap();

    let output = publish(dir, &pytest, "a", &[]);
    assert_ok(&output);
    let text = stderr(&output);
    assert!(
        text.contains("held what an earlier run wrote and did not commit (it was interrupted, or every suite failed): ")
            && text.contains("data/tiny/aggregate.json"),
        "{text}"
    );
    let runs = runs_on_remote(dir, "tiny");
    assert_eq!(runs.len(), 2, "both runs published: {runs:?}");
    assert!(runs.values().all(|&n| n == 1), "{runs:?}");
    assert_eq!(git(&a, &["status", "--porcelain"]), "");
}

/// `dir/suites/wait` (after `tiny`): a test that writes its pid to `dir/slow.pid` and sleeps.
fn slow_suite(dir: &Path) {
    write(
        &dir.join("suites/wait/test_wait.py"),
        &format!(
            "import os, time\n\ndef test_slow(benchmark):\n    \
             open({:?}, 'w').write(str(os.getpid()))\n    time.sleep(120)\n    benchmark(sum, [1])\n",
            dir.join("slow.pid").to_str().unwrap()
        ),
    );
}

#[test]
fn an_interrupted_run_ends_pytest_removes_its_folder_and_the_next_publishes_what_it_recorded() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    one_benchmark_suite(dir);
    slow_suite(dir);
    let tmp = dir.join("tmp");
    fs::create_dir(&tmp).unwrap();
    // Ctrl-C reaches the terminal's whole foreground group; CI cancels and OOM kill the process.
    for (signal, whole_group) in [("-INT", true), ("-TERM", false), ("-KILL", false)] {
        let _ = fs::remove_file(dir.join("slow.pid"));
        let child = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
            .args(["--pytest", &pytest, "--quiet", "--publish"])
            .arg(dir.join("a"))
            .args(FAST)
            .current_dir(dir.join("suites"))
            .env("TMPDIR", &tmp)
            .process_group(0)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid_file = dir.join("slow.pid");
        let started = std::time::Instant::now();
        while !pid_file.exists() {
            assert!(
                started.elapsed().as_secs() < 60,
                "the slow test never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let target = match whole_group {
            true => format!("-{}", child.id()),
            false => child.id().to_string(),
        };
        common::succeed(Command::new("kill").args([signal, "--", &target]));
        let output = child.wait_with_output().unwrap();
        let text = stderr(&output);
        assert!(
            text.contains(
                "run-benchmarks: interrupted (Ctrl-C, a signal or the system ended the run): \
                 recorded in the histories and not committed: tiny: 1 benchmark; the next \
                 --publish run commits and publishes it\nrun-benchmarks: interrupted: ended \
                 pytest (process group "
            ) && text.contains(") and every process it started; removed "),
            "{signal}: {text}"
        );
        let pytest_pid = fs::read_to_string(&pid_file).unwrap();
        assert!(
            !common::running(&pytest_pid),
            "{signal}: pytest {pytest_pid} survived"
        );
        let left: Vec<_> = fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "{signal}: {left:?}");
    }

    // The next run (without the slow suite) publishes the three interrupted runs' entries too.
    let output = publish(dir, &pytest, "a", &["--suite", "tiny"]);
    assert_ok(&output);
    let runs = runs_on_remote(dir, "tiny");
    assert_eq!(runs.len(), 4, "{runs:?}: {}", stderr(&output));
    assert!(runs.values().all(|&n| n == 1), "{runs:?}");
}

#[test]
fn the_temporary_folders_of_dead_runs_are_removed_and_those_of_live_runs_kept() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    one_benchmark_suite(dir);
    let tmp = dir.join("tmp");
    // A run whose watcher was killed with it (a batch system's SIGKILL to every process): its
    // lock is free. Another run, alive: its lock is held (by flock here). A folder kept on
    // purpose after a rejected push.
    let dead = tmp.join("run-benchmarks-1700000000000-4000000");
    let live = tmp.join("run-benchmarks-1700000000001-4000001");
    let kept = tmp.join("run-benchmarks-1700000000002-4000002-kept");
    for folder in [&dead, &live, &kept] {
        write(&folder.join(".run.lock"), "");
        write(&folder.join("tiny.json"), "{}");
    }
    let mut holder = Command::new("flock")
        .arg(live.join(".run.lock"))
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args(["--pytest", &pytest, "--quiet"])
        .args(FAST)
        .current_dir(dir.join("suites"))
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "run-benchmarks: removed the temporary folder of a run that was killed: {}",
            dead.display()
        )),
        "{text}"
    );
    assert!(!dead.exists() && live.exists() && kept.exists());
    let mut left: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    assert_eq!(left, [live, kept], "this run's own folder is gone too");
}

#[test]
fn previewing_the_plots_of_a_checkout_leaves_it_clean_for_the_next_run() {
    let (Some(pytest), Some((modules, chromium))) = (pytest(), common::gpe_stack()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    one_benchmark_suite(dir);
    assert_ok(&publish(dir, &pytest, "a", &[]));
    let preview = common::succeed(
        Command::new(common::root().join("scripts/preview"))
            .arg(dir.join("a"))
            .env("GPE_MODULES", &modules)
            .env("CHROMIUM", &chromium),
    );
    let said = String::from_utf8_lossy(&preview.stdout);
    assert!(
        said.contains("ok   trend") && said.contains(".png"),
        "{said}"
    );
    assert_eq!(
        git(
            &dir.join("a"),
            &["status", "--porcelain", "--untracked-files=all"]
        ),
        ""
    );
    assert_ok(&publish(dir, &pytest, "a", &[]));
}

#[test]
fn a_run_killed_while_carrying_local_runs_onto_the_remote_loses_none() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_and_clones(dir, &["a", "b"]);
    diverge(dir, &pytest, 1);
    let a = dir.join("a");
    // Kills run-benchmarks once the branch has moved to the remote's commit in the middle of the
    // carry (the marker of a carry in progress is set): the local commit is then on no branch.
    let hook = a.join(".git/hooks/reference-transaction");
    write(
        &hook,
        "#!/bin/sh\n[ \"$1\" = committed ] || exit 0\ngrep -q ' refs/heads/main$' || exit 0\n\
         git rev-parse -q --verify refs/run-benchmarks/carrying >/dev/null || exit 0\n\
         run=$PPID\nwhile [ \"$(cat /proc/$run/comm)\" != run-benchmarks ]; do read -r _ _ _ run _ < /proc/$run/stat; done\n\
         kill -KILL $run\n",
    );
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = publish(dir, &pytest, "a", &[]);
    assert_eq!(output.status.code(), None, "killed: {}", stderr(&output));
    fs::remove_file(&hook).unwrap();

    let output = publish(dir, &pytest, "a", &[]);
    assert_ok(&output);
    let text = stderr(&output);
    assert!(
        text.contains("held a re-application on the remote's state that was interrupted; put the local commit "),
        "{text}"
    );
    let runs = runs_on_remote(dir, "tiny");
    assert_eq!(runs.len(), 4, "every run reaches the remote: {runs:?}");
    assert!(runs.values().all(|&n| n == 1), "{runs:?}");
}

#[test]
fn a_commit_that_fails_says_the_entries_are_kept_and_the_next_run_commits_them() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    one_benchmark_suite(dir);
    // As a full disk fails git while it writes the commit.
    let hook = dir.join("a/.git/hooks/pre-commit");
    write(
        &hook,
        "#!/bin/sh\necho 'fatal: unable to write new index file: No space left on device' >&2\nexit 1\n",
    );
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = publish(dir, &pytest, "a", &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("No space left on device")
            && text.contains("what this run recorded stays in the checkout, uncommitted: the next --publish run commits and publishes it"),
        "{text}"
    );
    fs::remove_file(&hook).unwrap();
    assert_ok(&publish(dir, &pytest, "a", &[]));
    assert_eq!(runs_on_remote(dir, "tiny").len(), 2);
}

#[test]
fn an_index_lock_left_by_a_killed_git_is_removed_but_not_one_a_running_git_holds() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    remote_with_readme(dir, &["a"], &[]);
    one_benchmark_suite(dir);
    let a = dir.join("a");
    identify(&a);
    // What git leaves when SIGKILL ends it in the middle of `git add`: every later git refuses.
    let lock = a.join(".git/index.lock");
    fs::write(&lock, "").unwrap();
    let output = publish(dir, &pytest, "a", &[]);
    assert_ok(&output);
    assert!(
        stderr(&output)
            .contains("removed .git/index.lock, which a git command that was killed left behind"),
        "{}",
        stderr(&output)
    );
    assert_eq!(runs_on_remote(dir, "tiny").len(), 1);

    // A commit in progress (its editor open) holds the lock: it is the user's, and stays.
    fs::write(a.join("README.md"), "Edited.\n").unwrap();
    let mut commit = Command::new("git")
        .args(["commit", "-a"])
        .current_dir(&a)
        .env("GIT_EDITOR", "sleep 30; true")
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !lock.exists() {
        assert!(
            started.elapsed().as_secs() < 20,
            "the commit never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = publish(dir, &pytest, "a", &[]);
    let _ = commit.kill();
    let _ = commit.wait();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains(") is running in this checkout and holds ")
            && text.contains("let it finish, then run again")
            && !text.contains("running pytest"),
        "{text}"
    );
}

#[test]
fn the_status_badge_is_published_finished_after_a_kill_and_never_over_the_users_own() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let users = "<svg>the project's own logo</svg>\n";
    remote_with_readme(dir, &["a"], &[("badge.svg", users)]);
    one_benchmark_suite(dir);
    let a = dir.join("a");
    // Killed while committing: the badge is written, not committed.
    let hook = kill_at_commit(&a);
    let output = publish(dir, &pytest, "a", &["--check"]);
    assert_eq!(output.status.code(), None, "killed: {}", stderr(&output));
    let status = git(&a, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(status.contains("badge.json"), "{status}");
    fs::remove_file(&hook).unwrap();

    // The next run takes the badge for its own leftover, commits it, and leaves the user's
    // badge.svg alone, saying so.
    let output = publish(dir, &pytest, "a", &["--check"]);
    assert_ok(&output);
    let text = stderr(&output);
    assert!(
        text.contains("held what an earlier run wrote and did not commit")
            && text.contains("badge.json"),
        "{text}"
    );
    assert!(
        text.contains("badge.svg is not a badge run-benchmarks wrote: left as it is"),
        "{text}"
    );
    let remote = dir.join("remote.git");
    let badge: Value = serde_json::from_str(&git(&remote, &["show", "main:badge.json"])).unwrap();
    assert_eq!(
        badge,
        serde_json::json!({"schemaVersion": 1, "label": "benchmarks", "message": "ok", "color": "brightgreen"})
    );
    assert_eq!(git(&remote, &["show", "main:badge.svg"]), users);
    assert_eq!(git(&a, &["status", "--porcelain"]), "");
}
