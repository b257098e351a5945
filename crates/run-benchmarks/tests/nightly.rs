//! Nightly runs as CI makes them, one after another, each continuing from what the one before
//! left in the published data repository: a library slowed at one commit between two runs and
//! fixed at a later one must give exactly one regression and one recovery, at their commits.

mod common;

use std::fs;
use std::path::Path;

use serde_json::Value;

use common::{git, mpirun, pytest, remote_and_clones, stderr, Project};

/// What the chain saw: every verdict of every night, with the night's exit code.
struct Night {
    exit: Option<i32>,
    findings: Value,
    text: String,
}

impl Night {
    fn verdicts(&self) -> Vec<&str> {
        self.findings["benchmarks"]
            .as_array()
            .map(|b| b.iter().map(|j| j["verdict"].as_str().unwrap()).collect())
            .unwrap_or_default()
    }
}

/// The nights of a chain: fast ones, slow ones after the culprit, and those from the fix on.
struct Nights {
    fast: usize,
    slow: usize,
    fixed: usize,
}

/// Runs the HeAT-like chain: nights at a fast library, the library made 5x slower at one of
/// three commits, slow nights, then a fix and more nights; every night `--check --confirm 2
/// --fail-on-open --publish` (plus `extra`) into a clone of a bare remote. Returns each night,
/// the culprit, the last fast commit, the fix and the last slow commit.
fn chain(
    dir: &Path,
    pytest: &str,
    env: &[(String, String)],
    extra: &[&str],
    count: Nights,
) -> (Vec<Night>, [String; 4]) {
    let mut project = Project::new(dir);
    remote_and_clones(dir, &["data"]);
    let data = dir.join("data");
    let mut args = vec![
        "--publish",
        data.to_str().unwrap(),
        "--confirm",
        "2",
        "--fail-on-open",
        "--commit-url",
        "https://github.com/o/r/commit/{id}",
    ];
    args.extend(extra);
    let mut nights = Vec::new();
    let mut night = |project: &Project| {
        let (output, findings) = project.check(pytest, env, &args);
        // What the job's log shows: our stderr, then the annotations on stdout.
        let text = stderr(&output) + &String::from_utf8_lossy(&output.stdout);
        nights.push(Night {
            exit: output.status.code(),
            findings,
            text,
        });
    };
    let mut last_fast = String::new();
    for _ in 0..count.fast {
        last_fast = project.touch();
        night(&project);
    }
    // Three commits between two nightly runs; the middle one makes the library 5x slower.
    project.touch();
    let culprit = project.library(0.25);
    let mut head = project.touch();
    let mut last_slow = String::new();
    for _ in 0..count.slow {
        night(&project);
        last_slow = head;
        head = project.touch();
    }
    let fix = project.library(0.05);
    for _ in 0..count.fixed {
        night(&project);
        project.touch();
    }
    (nights, [culprit, last_fast, fix, last_slow])
}

fn said(nights: &[Night], verdict: &str) -> usize {
    nights
        .iter()
        .map(|n| n.verdicts().iter().filter(|v| **v == verdict).count())
        .sum()
}

#[test]
fn a_slowdown_and_its_fix_are_one_regression_and_one_recovery_at_their_commits() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let history = 8;
    let count = Nights {
        fast: history,
        slow: 3,
        fixed: 3,
    };
    let (nights, [culprit, last_fast, fix, last_slow]) =
        chain(dir.path(), &pytest, &[], &[], count);
    for (i, n) in nights.iter().enumerate().take(history) {
        assert_eq!(n.exit, Some(0), "night {i}: {}", n.text);
    }
    // The first slow night: confirmed by its reruns, the step's range holds the culprit.
    let found = &nights[history];
    assert_eq!(found.exit, Some(1), "{}", found.text);
    let judged = &found.findings["benchmarks"][0];
    assert_eq!(judged["verdict"], "regression", "{}", found.text);
    assert_eq!(judged["range"]["from"]["id"], last_fast.as_str());
    assert!(
        found.text.contains("judged on the run and 2 rerun(s)"),
        "{}",
        found.text
    );
    let range = format!(
        "{last_fast}..{}",
        judged["range"]["to"]["id"].as_str().unwrap()
    );
    let suspects = git(&dir.path().join("project"), &["rev-list", &range]);
    assert!(
        suspects.contains(&culprit),
        "{range} misses the culprit {culprit}"
    );
    // Still slow: no new regression, one open, and --fail-on-open fails.
    for n in &nights[history + 1..history + 3] {
        assert_eq!(n.exit, Some(1), "{}", n.text);
        assert_eq!(n.verdicts(), ["unchanged"], "{}", n.text);
        assert_eq!(
            n.findings["open"].as_array().unwrap().len(),
            1,
            "{}",
            n.text
        );
    }
    // The fix: recovered on its own night (its reruns confirm it), with the fix in its range,
    // and every later night passes.
    let recovered = &nights[history + 3];
    assert_eq!(recovered.exit, Some(0), "{}", recovered.text);
    let judged = &recovered.findings["benchmarks"][0];
    assert_eq!(judged["verdict"], "recovered", "{}", recovered.text);
    assert_eq!(judged["range"]["from"]["id"], last_slow.as_str());
    let range = format!(
        "{last_slow}..{}",
        judged["range"]["to"]["id"].as_str().unwrap()
    );
    let fixes = git(&dir.path().join("project"), &["rev-list", &range]);
    assert!(fixes.contains(&fix), "{range} misses the fix {fix}");
    for n in &nights[history + 4..] {
        assert_eq!(n.exit, Some(0), "{}", n.text);
        assert_eq!(n.verdicts(), ["unchanged"], "{}", n.text);
        assert!(n.findings["open"].as_array().unwrap().is_empty());
    }
    assert_eq!(said(&nights, "regression"), 1);
    assert_eq!(said(&nights, "recovered"), 1);

    // The published history says the same: one regression, one recovery, for the next clone.
    let published = dir.path().join("published");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            dir.path().join("remote.git").to_str().unwrap(),
            "published",
        ],
    );
    let entries: Vec<Value> =
        serde_json::from_slice(&fs::read(published.join("data/speed/aggregate.json")).unwrap())
            .unwrap();
    assert_eq!(entries.len(), nights.len());
    let said = |verdict: &str| {
        entries
            .iter()
            .filter(|e| e["gate"]["verdict"] == verdict)
            .count()
    };
    assert_eq!((said("regression"), said("recovered")), (1, 1));
}

#[test]
fn under_a_launcher_every_finding_names_its_process_count() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut env = env;
    env.push(("GITHUB_ACTIONS".into(), "true".into()));
    let summary = dir.path().join("summary.md");
    env.push((
        "GITHUB_STEP_SUMMARY".into(),
        summary.to_str().unwrap().into(),
    ));
    let history = 10;
    let launcher = [
        "--launcher",
        "mpirun --oversubscribe -n {procs}",
        "--procs",
        "1,2",
    ];
    let count = Nights {
        fast: history,
        slow: 2,
        fixed: 1,
    };
    let (nights, _) = chain(dir.path(), &pytest, &env, &launcher, count);
    let found = &nights[history];
    assert_eq!(found.exit, Some(1), "{}", found.text);
    let judged = found.findings["benchmarks"].as_array().unwrap();
    let mut counts: Vec<u64> = judged
        .iter()
        .filter(|j| j["verdict"] == "regression")
        .map(|j| j["procs"].as_u64().unwrap())
        .collect();
    counts.sort();
    assert_eq!(counts, [1, 2], "{}", found.text);
    // The table and the open list name the count.
    assert!(
        found.text.contains("test_speed.py::test_work x1"),
        "{}",
        found.text
    );
    assert!(
        found.text.contains("test_speed.py::test_work x2"),
        "{}",
        found.text
    );
    let still = &nights[history + 1];
    assert!(
        still.text.contains("open regressions") && still.text.contains("test_work x2"),
        "{}",
        still.text
    );
    // So do the annotations and the Markdown summary, as GitHub Actions shows them.
    assert!(
        found.text.lines().any(|l| l.starts_with(
            "::error title=Performance regression::speed: test_speed.py::test_work x2"
        )),
        "{}",
        found.text
    );
    let markdown = fs::read_to_string(&summary).unwrap();
    assert!(markdown.contains("| procs |"), "{markdown}");
    assert!(markdown.contains("--procs 2"), "{markdown}");
    assert_eq!(said(&nights, "regression"), 2);
    assert_eq!(said(&nights, "recovered"), 2);
}
