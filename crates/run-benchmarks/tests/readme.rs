//! The README's usage examples run as written: every `console` block, in the order a reader meets
//! them, in one folder holding the example suites; and each tool's synopsis names exactly the
//! options its `--help` (the clap definition) has.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use bench_testkit::{pytest, root};

/// One `$ command` of a block, with the lines the README shows after it.
#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The `console` blocks of the README, each as its steps.
fn console_blocks(readme: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    for (at, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```console") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(steps), text) => match text.strip_prefix("$ ") {
                Some(command) => steps.push(Step {
                    line: at + 1,
                    command: command.to_string(),
                    expected: Vec::new(),
                }),
                None => steps
                    .last_mut()
                    .unwrap_or_else(|| panic!("README.md:{}: output before any `$ `", at + 1))
                    .expected
                    .push(text.to_string()),
            },
            (None, _) => {}
        }
    }
    assert!(
        current.is_none(),
        "README.md: a console block is never closed"
    );
    blocks
}

/// Whether `actual` matches `expected`, where `[..]` stands for any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let mut parts = expected.split("[..]");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The first expected line (in order) that the output does not show; `...` lines are readers'
/// ellipses and match nothing by themselves.
fn missing_line<'a>(expected: &'a [String], output: &str) -> Option<&'a str> {
    let mut lines = output.lines();
    expected
        .iter()
        .filter(|e| e.trim() != "...")
        .find(|e| !lines.any(|a| line_matches(e, a.trim_end())))
        .map(String::as_str)
}

/// Copies the files of `from` (recursively, no empty folders) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::create_dir_all(to).unwrap();
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// The folder holding the workspace's built tools.
fn tools() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .parent()
        .unwrap()
        .to_path_buf();
    for tool in ["aggregate", "build-list"] {
        assert!(
            bin.join(tool).is_file(),
            "{tool} is not built in {}: build the workspace first (cargo build --workspace)",
            bin.display()
        );
    }
    bin
}

#[test]
fn every_console_block_of_the_readme_runs_as_written() {
    let Some(pytest) = pytest() else { return };
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = console_blocks(&readme);
    assert!(blocks.len() >= 5, "the README's examples are gone");
    let sandbox = tempfile::tempdir().unwrap();
    copy_tree(
        &root().join("fixtures/suites"),
        &sandbox.path().join("suites"),
    );
    let venv_bin = Path::new(&pytest).parent().unwrap();
    let path = std::env::join_paths(
        [tools(), venv_bin.to_path_buf()]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    for steps in blocks {
        // One shell per block, as a reader types it: `cd` and `$?` carry to the next command.
        let mut script = String::from("status=0\n");
        for (i, step) in steps.iter().enumerate() {
            script.push_str(&format!(
                "echo '@@start {i}'\n(exit $status)\n{}\nstatus=$?\necho \"@@end {i} $status\"\n",
                step.command
            ));
        }
        let output = Command::new("bash")
            .args([
                "--noprofile",
                "--norc",
                "-c",
                &format!("exec 2>&1\n{script}"),
            ])
            .current_dir(sandbox.path())
            .env("PATH", &path)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        for (i, step) in steps.iter().enumerate() {
            let start = text
                .find(&format!("@@start {i}\n"))
                .unwrap_or_else(|| panic!("README.md:{}: never ran:\n{text}", step.line));
            let body = &text[start + format!("@@start {i}\n").len()..];
            let end = body
                .find(&format!("@@end {i} "))
                .unwrap_or_else(|| panic!("README.md:{}: did not end:\n{text}", step.line));
            let (said, status) = (&body[..end], &body[end..]);
            let status: i32 = status["@@end ".len() + i.to_string().len() + 1..]
                .lines()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let asks_status = steps
                .get(i + 1)
                .is_some_and(|next| next.command == "echo $?");
            assert!(
                status == 0 || asks_status,
                "README.md:{}: `{}` exited with {status} (the README shows it succeed; follow it with `$ echo $?` if it must fail):\n{said}",
                step.line,
                step.command
            );
            if let Some(line) = missing_line(&step.expected, said) {
                panic!(
                    "README.md:{}: `{}` did not print, in this order, what the README shows; missing:\n{line}\nit printed:\n{said}",
                    step.line, step.command
                );
            }
        }
    }
}

/// The options of `--help` (without --help and --version), each as its long name and its short
/// one, if any.
fn help_options(tool: &Path) -> Vec<(String, Option<String>)> {
    let output = Command::new(tool).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    let options = help.split("\nExamples:").next().unwrap_or_default();
    // clap puts an option at column 2 (`  -o, --history`) or 6 (`      --keep-data`); its
    // description's lines go deeper.
    options
        .lines()
        .filter_map(|l| {
            let (short, long) = match l.strip_prefix("  -") {
                Some(rest) if rest.as_bytes().get(1..3) == Some(b", ") => {
                    (Some(format!("-{}", &rest[..1])), &rest[3..])
                }
                _ => (None, l.strip_prefix("      ")?),
            };
            let name = long_options(long.split(' ').next()?).into_iter().next()?;
            Some((name, short))
        })
        .filter(|(o, _)| o != "--help" && o != "--version")
        .collect()
}

/// The `--long-options` a piece of text names.
fn long_options(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let name: String = rest[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        if !name.is_empty()
            && rest[..at]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric())
        {
            found.push(format!("--{name}"));
        }
        rest = &rest[at + 2 + name.len()..];
    }
    found
}

/// The first `text` block after the README's heading `heading`.
fn synopsis(readme: &str, heading: &str) -> String {
    let from = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no heading {heading:?}"));
    let block = &readme[from..];
    let start = block.find("```text\n").expect("a synopsis block") + "```text\n".len();
    let end = block[start..].find("```").unwrap();
    block[start..start + end].to_string()
}

#[test]
fn each_synopsis_names_exactly_the_options_of_its_tool() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let gate: BTreeSet<String> = long_options(&synopsis(&readme, "### Gate options"))
        .into_iter()
        .collect();
    assert!(gate.contains("--threshold"), "{gate:?}");
    let bin = tools();
    for (tool, takes_gate) in [
        ("run-benchmarks", true),
        ("aggregate", true),
        ("build-list", false),
    ] {
        let said: BTreeSet<String> = long_options(&synopsis(&readme, &format!("## `{tool}`")))
            .into_iter()
            .chain(takes_gate.then(|| gate.clone()).into_iter().flatten())
            .collect();
        let options = help_options(&bin.join(tool));
        let text = synopsis(&readme, &format!("## `{tool}`"));
        let shorts: BTreeSet<&str> = text
            .split(|c: char| c.is_whitespace() || c == '[' || c == '|')
            .filter(|w| w.len() == 2 && w.starts_with('-'))
            .collect();
        let unsaid: Vec<_> = options
            .iter()
            .filter(|(long, short)| {
                !said.contains(long) && !short.as_deref().is_some_and(|s| shorts.contains(s))
            })
            .map(|(long, _)| long)
            .collect();
        let has: BTreeSet<&String> = options.iter().map(|(long, _)| long).collect();
        let unknown: Vec<_> = said.iter().filter(|o| !has.contains(o)).collect();
        assert!(
            unsaid.is_empty() && unknown.is_empty(),
            "README.md's synopsis of {tool} disagrees with its --help: missing {unsaid:?}, not options {unknown:?}"
        );
    }
}
