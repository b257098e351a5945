//! `run-benchmarks --bisect` on a real git repository: a tiny Python library and its benchmark
//! suite in one repository, the library five times slower from one commit on; the real pytest
//! with the real pytest-benchmark measure each commit in a temporary worktree.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

use common::{pytest, stderr, succeed, write};

/// The library; `delay` is what `parse` costs (5x from the culprit on), `doc` a docstring that
/// changes the code but not its speed.
fn library(delay: &str, doc: &str) -> String {
    format!(
        "import time\n\n\ndef parse(text):\n    time.sleep({delay})\n    return text.split()\n\n\n\
         def join(words):\n    {doc}\n    time.sleep(0.04)\n    return ' '.join(words)\n"
    )
}

const SUITE: &str = "import tinylib\n\n\n\
def test_parse(benchmark):\n    benchmark.pedantic(tinylib.parse, args=('a b c',), rounds=3, iterations=1)\n\n\n\
def test_join(benchmark):\n    benchmark.pedantic(tinylib.join, args=(['a', 'b'],), rounds=3, iterations=1)\n";

/// Position of the commit that makes `parse` slow.
const CULPRIT: usize = 6;

/// Position of a commit whose library does not import: it cannot be measured.
const BROKEN: usize = 4;

/// A repository whose ten commits are (position: subject); `parse` is slow from [`CULPRIT`] on.
/// Returns the repository and the commits' full ids, oldest first.
fn project(dir: &Path) -> (PathBuf, Vec<String>) {
    let repo = dir.join("project");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let fast = "0.04";
    let slow = "0.2";
    let steps: [(&str, &str, &str); 10] = [
        ("tinylib/__init__.py", "Add tinylib: parse and join", fast),
        ("README.md", "README: usage", fast),
        ("CHANGELOG.md", "Add a CHANGELOG", fast),
        (
            "docs/parse.md",
            "Docs: explain \u{201c}parse\u{201d} and 'join'",
            fast,
        ),
        (
            "tinylib/__init__.py",
            "WIP: join accepts any iterable",
            fast,
        ),
        (
            "benchmarks/speed/README.md",
            "Benchmarks: say how to run them",
            fast,
        ),
        ("tinylib/__init__.py", "parse: validate every token", slow),
        ("CHANGELOG.md", "CHANGELOG for 0.2", slow),
        ("docs/join.md", "Docs: join", slow),
        ("tinylib/__init__.py", "Release 0.2", slow),
    ];
    let mut ids = Vec::new();
    for (index, (file, subject, delay)) in steps.iter().enumerate() {
        let doc = if index >= 4 {
            "'''Any iterable of str.'''"
        } else {
            "pass"
        };
        write(&repo.join("tinylib/__init__.py"), &library(delay, doc));
        if index == 0 {
            write(&repo.join("benchmarks/speed/test_speed.py"), SUITE);
            write(&repo.join(".gitignore"), "__pycache__/\n");
            // As most Python projects have: pytest's rootdir, with a conftest.py, is the top;
            // pytest then puts the working tree first on sys.path, ahead of PYTHONPATH.
            write(&repo.join("pyproject.toml"), "[tool.pytest.ini_options]\n");
            write(&repo.join("conftest.py"), "");
        }
        if !file.ends_with(".py") {
            let path = repo.join(file);
            let old = fs::read_to_string(&path).unwrap_or_default();
            write(&path, &format!("{old}{subject}\n"));
        }
        if index == BROKEN {
            let text = fs::read_to_string(repo.join("tinylib/__init__.py")).unwrap();
            write(
                &repo.join("tinylib/__init__.py"),
                &format!("{text}\ndef iterable(:\n"),
            );
        }
        if index == 9 {
            let text = fs::read_to_string(repo.join("tinylib/__init__.py")).unwrap();
            write(
                &repo.join("tinylib/__init__.py"),
                &format!("__version__ = '0.2'\n{text}"),
            );
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", subject]);
        ids.push(git(&repo, &["rev-parse", "HEAD"]).trim().to_string());
    }
    (repo, ids)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = succeed(
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.org")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.org"),
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn run_benchmarks(repo: &Path, pytest: &str, args: &[&str], pythonpath: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args(["-d", "benchmarks", "--pytest", pytest])
        .args(args)
        .env("PYTHONPATH", pythonpath)
        .current_dir(repo)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The rows of the "commits tried" table: (position, commit id, level).
fn tried(text: &str) -> Vec<(usize, String, String)> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let position = words.first()?.parse().ok()?;
            let id = words.get(2)?;
            (id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| (position, id.to_string(), words[3].to_string()))
        })
        .collect()
}

/// The worktrees git knows of `repo`, its own included.
fn worktrees(repo: &Path) -> Vec<String> {
    git(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree ").map(str::to_owned))
        .collect()
}

/// Asserts the culprit is named with its full id and subject, and that every tried commit is
/// listed with a value and the level its position implies.
fn assert_found(output: &Output, ids: &[String], repo: &Path) {
    let text = stdout(output);
    assert_eq!(output.status.code(), Some(0), "{text}\n{}", stderr(output));
    assert!(
        text.contains(&format!(
            "first slow commit: {}\n    parse: validate every token\n",
            ids[CULPRIT]
        )),
        "{text}"
    );
    let rows = tried(&text);
    let last = ids.len() - 1;
    assert_eq!(rows.first().map(|r| r.0), Some(0), "{text}");
    assert_eq!(rows.last().map(|r| r.0), Some(last), "{text}");
    // The ends, and about log2(9) commits between them.
    assert!((5..=7).contains(&rows.len()), "{text}");
    for (position, id, level) in &rows {
        assert_eq!(id, &ids[*position], "{text}");
        let expected = match *position {
            0 => "FROM",
            p if p == last => "TO",
            BROKEN => "failed",
            p if p < CULPRIT => "old",
            _ => "new",
        };
        assert_eq!(level, expected, "#{position}: {text}");
    }
    assert!(
        rows.iter().any(|r| r.0 == CULPRIT) && rows.iter().any(|r| r.0 == CULPRIT - 1),
        "the culprit and its parent were both measured: {text}"
    );
    // The search met the commit that does not import and went round it.
    assert!(rows.iter().any(|r| r.0 == BROKEN), "{text}");
    assert!(
        text.contains("not measured: speed: pytest exited with"),
        "{text}"
    );
    assert_eq!(worktrees(repo).len(), 1, "no worktree left behind");
}

#[test]
fn bisect_names_the_commit_that_made_the_flagged_benchmark_slow() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (repo, ids) = project(dir.path());
    let results = dir.path().join("results");
    // The nightly job: six judged runs at the first commit, then one at the newest, whose gate
    // flags test_parse (confirmed by two reruns) and keeps its verdict and the step's range with
    // the entries.
    let judged = [
        "-r",
        results.to_str().unwrap(),
        "--quiet",
        "--check",
        "--confirm",
        "2",
        "--threshold",
        "25",
    ];
    // main as the job found it at the first commit; then main moved on by nine commits.
    git(&repo, &["reset", "-q", "--hard", &ids[0]]);
    for _ in 0..6 {
        let output = run_benchmarks(&repo, &pytest, &judged, &repo);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    git(&repo, &["reset", "-q", "--hard", &ids[9]]);
    let output = run_benchmarks(&repo, &pytest, &judged, &repo);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let history = results.join("data/speed/aggregate.json");
    let mut entries: Vec<Value> = serde_json::from_slice(&fs::read(&history).unwrap()).unwrap();
    let flagged: Vec<&Value> = entries
        .iter()
        .filter(|e| e["gate"]["verdict"] == "regression")
        .collect();
    assert_eq!(flagged.len(), 1, "{entries:?}");
    assert_eq!(flagged[0]["name"], "test_parse");
    assert_eq!(flagged[0]["gate"]["range"]["from"]["id"], ids[0].as_str());
    assert_eq!(flagged[0]["gate"]["range"]["to"]["id"], ids[9].as_str());
    // An older regression of test_join, before the range, is no suspect.
    let mut old_join = entries[1].clone();
    old_join["gate"] = json!({"verdict": "regression", "change": 0.3,
                              "range": {"from": {"id": "0000000", "datetime": null},
                                        "to": {"id": ids[0], "datetime": null}}});
    entries.insert(0, old_join);
    fs::write(&history, serde_json::to_vec_pretty(&entries).unwrap()).unwrap();

    let range = format!("{}..HEAD", &ids[0][..8]);
    let output = run_benchmarks(
        &repo,
        &pytest,
        &[
            "-r",
            results.to_str().unwrap(),
            "--bisect",
            &range,
            "--confirm",
            "1",
            "--quiet",
        ],
        dir.path(),
    );
    assert_found(&output, &ids, &repo);
    let text = stdout(&output);
    // The rootdir is the project's top (its pyproject.toml), so the node id starts there.
    assert!(
        text.contains("[1] benchmarks/speed/test_speed.py::test_parse: "),
        "{text}"
    );
    assert!(
        !text.contains("test_join"),
        "only the flagged benchmark runs: {text}"
    );
    assert!(
        text.contains("1 benchmark(s) flagged as regressions in this range"),
        "{text}"
    );
    // The history is only read.
    assert_eq!(
        serde_json::from_slice::<Vec<Value>>(&fs::read(&history).unwrap()).unwrap(),
        entries
    );
}

#[test]
fn a_range_without_a_step_exits_1_and_bad_ranges_exit_2() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (repo, ids) = project(dir.path());
    let range = format!("{}..{}", ids[0], ids[CULPRIT - 1]);
    // Load on a shared machine delays a sleep by milliseconds for seconds at a time: the steps
    // these tests look for are 5x, so 25% keeps the busy machine's drift from passing as a step.
    let output = run_benchmarks(
        &repo,
        &pytest,
        &[
            "--bisect",
            &range,
            "-k",
            "parse",
            "--confirm",
            "1",
            "--threshold",
            "25",
            "--quiet",
        ],
        dir.path(),
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}\n{}", stderr(&output));
    assert!(text.contains("the range shows no step"), "{text}");
    assert!(
        text.contains("test_parse: ") && text.contains(": no step"),
        "{text}"
    );
    assert_eq!(tried(&text).len(), 2, "only the ends were measured: {text}");
    assert_eq!(worktrees(&repo).len(), 1, "no worktree left behind");

    for (range, says) in [
        (format!("{}..{}", ids[5], ids[2]), "is not an ancestor of"),
        ("nope..HEAD".to_string(), "\"nope\" is not a commit"),
        ("HEAD".to_string(), "give two commits as FROM..TO"),
    ] {
        let output = run_benchmarks(&repo, &pytest, &["--bisect", &range], dir.path());
        assert_eq!(
            output.status.code(),
            Some(2),
            "{range}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(says),
            "{range}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn setup_installs_each_commit_and_stale_worktrees_are_removed() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (repo, ids) = project(dir.path());
    // What an earlier bisection ended by Ctrl-C leaves: its worktree (its pid is no process).
    let stale = dir.path().join("run-benchmarks-bisect-4194399-1");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            stale.to_str().unwrap(),
            &ids[1],
        ],
    );
    // --setup "installs" the commit's library into a site folder; PYTHONPATH holds only that.
    let site = dir.path().join("site");
    fs::create_dir_all(&site).unwrap();
    let marker = dir.path().join("setups");
    let setup = format!(
        "sh -c 'echo {{worktree}} >> {marker} && ln -sfn {{worktree}}/tinylib {site}/tinylib'",
        marker = marker.display(),
        site = site.display()
    );
    let range = format!("{}..main", ids[0]);
    let output = run_benchmarks(
        &repo,
        &pytest,
        &[
            "--bisect",
            &range,
            "--setup",
            &setup,
            "--threshold",
            "25",
            "--quiet",
        ],
        &site,
    );
    assert_found(&output, &ids, &repo);
    let text = stdout(&output);
    // No history: every benchmark was measured; join has no step and is left out of the search.
    assert!(
        text.contains("test_speed.py::test_join: ") && text.contains(": no step"),
        "{text}"
    );
    assert!(text.contains("so every one was measured"), "{text}");
    // One setup per checkout (the ends take turns, three times each), all in the one worktree,
    // which is gone now.
    let setups = fs::read_to_string(&marker).unwrap();
    let lines: Vec<&str> = setups.lines().collect();
    assert_eq!(lines.len(), 2 * 3 + tried(&text).len() - 2, "{setups}");
    assert!(lines.iter().all(|l| *l == lines[0]), "{setups}");
    assert!(lines[0].contains("run-benchmarks-bisect-"), "{setups}");
    assert!(!Path::new(lines[0]).exists(), "{setups}");
    assert!(!stale.exists(), "the stale worktree is removed");
    assert!(
        stderr(&output).contains(&format!(
            "removed the worktree an ended bisection left: {}",
            stale.display()
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn ctrl_c_leaves_no_worktree_and_no_temporary_folder_behind() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (repo, ids) = project(dir.path());
    let mut bisect = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args(["-d", "benchmarks", "--pytest", &pytest, "--quiet"])
        .args(["--bisect", &format!("{}..HEAD", ids[0])])
        .env("PYTHONPATH", dir.path())
        .current_dir(&repo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = bisect.id().to_string();
    let waited = Instant::now();
    let made = loop {
        if let Some(made) = worktrees(&repo).get(1) {
            break PathBuf::from(made);
        }
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no worktree made"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Measuring has begun: Ctrl-C (SIGINT) ends run-benchmarks at once.
    std::thread::sleep(Duration::from_millis(500));
    succeed(Command::new("kill").args(["-INT", &pid]));
    assert_eq!(bisect.wait().unwrap().signal(), Some(2));
    let scratch = || {
        fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| {
                name.starts_with("run-benchmarks-") && name.ends_with(&format!("-{pid}"))
            })
            .collect::<Vec<_>>()
    };
    let waited = Instant::now();
    while worktrees(&repo).len() > 1 || made.exists() || !scratch().is_empty() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "left behind: {:?} {:?}",
            worktrees(&repo),
            scratch()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
