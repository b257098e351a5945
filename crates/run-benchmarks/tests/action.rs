//! The composite action's step (.github/actions/run-benchmarks/run.sh) run with bash as the runner
//! runs it: inputs as INPUT_* variables, GitHub's summary and output files, the tool on PATH.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{git, install_tool, path_with, pytest, require, root, stderr, write};

struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    /// A runner's workspace with one suite and run-benchmarks on PATH.
    fn new(test: &str) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("suites/sum/test_sum.py"), test);
        install_tool(&dir.path().join("bin"));
        fs::create_dir(dir.path().join("temp")).unwrap();
        Runner { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The action's step with `inputs` (name, value), as GitHub Actions runs it.
    fn run(&self, inputs: &[(&str, &str)]) -> Output {
        self.run_with_path(&[&self.path("bin")], inputs)
    }

    /// The same with `path` in front of the PATH.
    fn run_with_path(&self, path: &[&Path], inputs: &[(&str, &str)]) -> Output {
        let mut command = Command::new("bash");
        command
            .arg(root().join(".github/actions/run-benchmarks/run.sh"))
            .current_dir(self.dir.path())
            .env("PATH", path_with(path))
            .env("GITHUB_PATH", self.path("path"))
            .env(
                "PYTEST_ADDOPTS",
                "--benchmark-max-time=0.005 --benchmark-min-rounds=2 --benchmark-warmup=off",
            )
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", self.path("summary.md"))
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", "helmholtz-analytics/heat");
        for (name, value) in inputs {
            command.env(
                format!("INPUT_{}", name.replace('-', "_").to_uppercase()),
                value,
            );
        }
        command.output().unwrap()
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

const PASSING: &str = "def test_sum(benchmark):\n    benchmark(sum, range(10))\n";

/// The step's outputs as GitHub reads `$GITHUB_OUTPUT`: `NAME=VALUE` lines, and `NAME<<DELIMITER`
/// followed by the value's lines up to the delimiter.
fn step_outputs(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut outputs = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_bad_input_is_named_before_anything_is_installed_or_run() {
    let runner = Runner::new(PASSING);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("suites", "benchmarks")],
            "input 'suites': benchmarks is not a folder",
        ),
        (
            &[("data-repository", "suites")],
            "input 'data-repository': suites is not a git checkout",
        ),
        (
            &[("publish", "yes")],
            "input 'publish': 'yes' is not one of true, no-push, false",
        ),
        (
            &[("publish", "true")],
            "input 'publish': 'true' needs data-repository",
        ),
        (
            &[("check", "on")],
            "input 'check': 'on' is not true or false",
        ),
        (
            &[("check", "false"), ("no-append", "true")],
            "input 'no-append': needs check: true",
        ),
        (
            &[("check", "false"), ("threshold", "5")],
            "input 'threshold': is a gate option: it needs check: true",
        ),
        (
            &[("check", "false"), ("fail-on-open", "true")],
            "input 'fail-on-open': needs check: true",
        ),
        (
            &[("commit-url", "https://example.org/commit/")],
            "input 'commit-url': 'https://example.org/commit/' has no {id} for the commit",
        ),
        (
            &[("stat", "avg")],
            "input 'stat': 'avg' is not one of min, median, mean",
        ),
        (
            &[("threshold", "10%")],
            "input 'threshold': '10%25' is not a percentage",
        ),
        (
            &[("window", "0")],
            "input 'window': '0' is not a positive whole number",
        ),
        (
            &[("confirm", "-1")],
            "input 'confirm': '-1' is not a whole number",
        ),
        (
            &[("thresholds", "thresholds.json")],
            "input 'thresholds': thresholds.json is not a file",
        ),
        (
            &[("timeout", "1h")],
            "input 'timeout': '1h' is not a number of seconds",
        ),
        (
            &[("max-bytes", "lots")],
            "input 'max-bytes': 'lots' is not a size",
        ),
        (
            &[("comment", "yes")],
            "input 'comment': 'yes' is not true or false",
        ),
        (
            &[("no-append", "true"), ("open-issues", "true")],
            "input 'open-issues': opens an issue per regression recorded on the main branch",
        ),
        (
            &[("issue-label", "a,b")],
            "input 'issue-label': 'a,b' is not a label",
        ),
    ];
    for (inputs, message) in cases {
        let output = runner.run(inputs);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{inputs:?}: {}",
            stderr(&output)
        );
        let annotation = format!("::error title=run-benchmarks action::{message}");
        assert!(
            stdout(&output).contains(&annotation),
            "{inputs:?}: wanted {annotation:?} in\n{}",
            stdout(&output)
        );
    }

    // A pull request that asks to publish, with a bad statistic: both said at once.
    let output = runner.run(&[
        ("no-append", "true"),
        ("publish", "no-push"),
        ("stat", "p95"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let errors: Vec<String> = stdout(&output)
        .lines()
        .filter(|l| l.starts_with("::error"))
        .map(String::from)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[1].contains("input 'no-append': records nothing, so there is nothing to publish")
    );

    // Nothing was installed, run or written.
    assert!(!runner.path("suites/results").exists());
    assert_eq!(fs::read_dir(runner.path("temp")).unwrap().count(), 0);
    assert_eq!(runner.read("summary.md"), "");
    assert_eq!(runner.read("output"), "");
}

#[test]
fn install_none_without_the_tool_on_path_says_so() {
    let runner = Runner::new(PASSING);
    fs::remove_file(runner.path("bin/run-benchmarks")).unwrap();
    let output = runner.run(&[("install", "none")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).contains("input 'install': none, but run-benchmarks is not on PATH"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn main_publishes_then_a_pull_request_is_judged_against_it_and_changes_nothing() {
    let Some(pytest) = pytest() else { return };
    let runner = Runner::new(PASSING);
    git(
        runner.dir.path(),
        &["init", "-q", "--bare", "-b", "main", "data.git"],
    );
    git(runner.dir.path(), &["clone", "-q", "data.git", "data"]);
    let data = runner.path("data");
    let data = data.to_str().unwrap();
    let common = [
        ("suites", "suites"),
        ("pytest", pytest.as_str()),
        ("data-repository", data),
        ("install", "none"),
        ("min-history", "1"),
    ];

    // On main: record, judge and publish.
    let output = runner.run(&[&common[..], &[("publish", "true")]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let pushed = git(&runner.path("data.git"), &["rev-parse", "main"]);
    let history = fs::read(runner.path("data/data/sum/aggregate.json")).unwrap();
    let summary = runner.read("summary.md");
    assert!(
        summary.contains("**run-benchmarks** exited 0")
            && summary.contains(&format!("published to `{data}` (committed and pushed)")),
        "{summary}"
    );
    let outputs = step_outputs(&runner.read("output"));
    assert_eq!(outputs["exit-code"], "0", "{outputs:?}");
    assert_eq!(outputs["results"], data, "{outputs:?}");

    // On a pull request: judged against main's history, not recorded, never pushed.
    fs::remove_file(runner.path("summary.md")).unwrap();
    fs::remove_file(runner.path("output")).unwrap();
    let output = runner.run(
        &[
            &common[..],
            &[("no-append", "true"), ("baseline-branch", "main")],
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--check --report-json")
            && stderr(&output).contains("--no-append --fail-on-regression")
            && stderr(&output).contains("--baseline-branch main")
            && stderr(&output)
                .contains("--commit-url https://github.com/helmholtz-analytics/heat/commit/{id}"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        git(&runner.path("data.git"), &["rev-parse", "main"]),
        pushed
    );
    assert_eq!(
        fs::read(runner.path("data/data/sum/aggregate.json")).unwrap(),
        history
    );
    let summary = runner.read("summary.md");
    assert!(
        summary.contains("test_sum.py::test_sum") && summary.contains("not published"),
        "{summary}"
    );
    let report_json = &step_outputs(&runner.read("output"))["report-json"];
    let verdicts: serde_json::Value =
        serde_json::from_slice(&fs::read(report_json).unwrap()).unwrap();
    assert!(
        verdicts.to_string().contains("test_sum.py::test_sum"),
        "{verdicts}"
    );
}

#[test]
fn a_failing_suite_fails_the_step_and_still_writes_the_summary_and_outputs() {
    let Some(pytest) = pytest() else { return };
    let runner =
        Runner::new("def test_sum(benchmark):\n    assert benchmark(sum, range(10)) == 0\n");
    let output = runner.run(&[
        ("suites", "suites"),
        ("pytest", pytest.as_str()),
        ("install", "none"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(runner.read("output").contains("exit-code=1\n"));
    assert!(
        runner
            .read("summary.md")
            .contains("**run-benchmarks** exited 1: a suite failed"),
        "{}",
        runner.read("summary.md")
    );
}

#[test]
fn installing_a_wheel_puts_the_tools_on_path_without_shadowing_the_jobs_python() {
    let Some(pytest) = pytest() else { return };
    // scripts/test builds the wheel and names it here.
    let wheel = std::env::var_os("HEAT_BENCH_WHEEL").map(PathBuf::from);
    let Some(wheel) = require(wheel, "HEAT_BENCH_WHEEL (a heat-bench wheel)") else {
        return;
    };
    let runner = Runner::new(PASSING);
    fs::remove_file(runner.path("bin/run-benchmarks")).unwrap();
    // The job's python, whose pytest runs the benchmarks, comes first on the PATH.
    let job_python = Path::new(&pytest).parent().unwrap();
    let output = runner.run_with_path(
        &[job_python],
        &[
            ("suites", "suites"),
            ("pytest", "python -m pytest"),
            ("install", wheel.to_str().unwrap()),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(runner
        .path("suites/results/data/sum/aggregate.json")
        .is_file());

    // Later steps get the three tools, and nothing else, on their PATH.
    let added = runner.read("path");
    let added = Path::new(added.trim_end());
    let mut tools: Vec<String> = fs::read_dir(added)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    tools.sort();
    assert_eq!(tools, ["aggregate", "build-list", "run-benchmarks"]);
    for tool in &tools {
        let version = Command::new(added.join(tool))
            .arg("--version")
            .output()
            .unwrap();
        assert!(version.status.success(), "{tool}: {}", stderr(&version));
    }
}

#[test]
fn a_suites_folder_named_to_inject_neither_issues_commands_nor_forges_outputs() {
    let Some(pytest) = pytest() else { return };
    let runner = Runner::new(PASSING);
    // A folder name with a line break: every line the step writes stays one line, and the
    // output file gets exactly its four outputs.
    let hostile = "s\n::error::pwned\nexit-code=0";
    fs::rename(runner.path("suites"), runner.path(hostile)).unwrap();
    let output = runner.run(&[
        ("suites", hostile),
        ("pytest", &pytest),
        ("check", "false"),
        ("install", "none"),
        // pytest's own output (the suite's code speaking) is not ours to change: kept in the log.
        ("args", "--quiet"),
    ]);
    // pytest cannot run below a folder whose name holds "::" (it takes it for a test's id).
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    for line in stdout(&output).lines().chain(stderr(&output).lines()) {
        assert!(
            !line.trim_start().starts_with("::") && !line.contains("##["),
            "a workflow command: {line:?}\n{}",
            stderr(&output)
        );
    }
    let outputs = step_outputs(&runner.read("output"));
    assert_eq!(outputs.len(), 4, "{outputs:?}");
    assert_eq!(outputs["exit-code"], "1", "{outputs:?}");
    assert_eq!(
        outputs["results"],
        format!("{hostile}/results"),
        "{outputs:?}"
    );
    let summary = runner.read("summary.md");
    assert!(!summary.lines().any(|l| l.starts_with("::")), "{summary}");
}
