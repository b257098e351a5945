//! The `build-list` binary on real folders: what it lists, in what order, under which names.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde::Deserialize;

/// The list's schema, pinned: GPE reads exactly these two keys.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    file: String,
}

fn build_list(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_build-list"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn touch(root: &Path, relative: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, "[]").unwrap();
}

fn listed(output: &Output) -> Vec<(String, String)> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let entries: Vec<Entry> = serde_json::from_slice(&output.stdout).unwrap();
    entries.into_iter().map(|e| (e.name, e.file)).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(n, f)| (n.to_string(), f.to_string()))
        .collect()
}

#[test]
fn lists_like_the_original_sorted_and_without_hidden_files_or_itself() {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "strings/aggregate.json",
        "arrays/aggregate.json",
        "odd name (1)/aggregate.json",
        ".git/x.json",
        "arrays/.aggregate.json.lock",
        "arrays/.hidden.json",
        "list.json",
        "arrays/notes.txt",
    ] {
        touch(dir.path(), file);
    }
    let output = build_list(dir.path(), &["."]);
    assert_eq!(
        listed(&output),
        pairs(&[
            ("arrays", "arrays/aggregate.json"),
            ("odd name (1)", "odd name (1)/aggregate.json"),
            ("strings", "strings/aggregate.json"),
        ])
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("[\n    {\n        \"name\""),
        "pretty-printed: {text}"
    );
    assert!(text.ends_with("]\n"));
}

#[test]
fn output_file_is_written_whole_and_never_lists_itself() {
    let dir = tempfile::tempdir().unwrap();
    touch(dir.path(), "data/kmeans/aggregate.json");
    let output = build_list(
        dir.path(),
        &["data", "-o", "data/list.json", "--pattern", "**/*.json"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty());
    let entries: Vec<Entry> =
        serde_json::from_slice(&fs::read(dir.path().join("data/list.json")).unwrap()).unwrap();
    assert_eq!(
        entries,
        [Entry {
            name: "kmeans".into(),
            file: "kmeans/aggregate.json".into()
        }]
    );
    // Run again: the list now exists and must still not list itself.
    assert!(build_list(
        dir.path(),
        &["data", "-o", "data/list.json", "--pattern", "**/*.json"]
    )
    .status
    .success());
    let entries: Vec<Entry> =
        serde_json::from_slice(&fs::read(dir.path().join("data/list.json")).unwrap()).unwrap();
    assert_eq!(entries.len(), 1);
}

#[test]
fn patterns_and_name_templates_cover_plots_and_ginkgo_layouts() {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "plots/trend.jsonata",
        "plots/box-plot.jsonata",
        "plots/readme.md",
    ] {
        touch(dir.path(), file);
    }
    let output = build_list(
        dir.path(),
        &["plots", "--pattern", "*.jsonata", "--name", "{stem}"],
    );
    assert_eq!(
        listed(&output),
        pairs(&[("box-plot", "box-plot.jsonata"), ("trend", "trend.jsonata")])
    );

    for file in ["data/omp/csr/apply.json", "data/cuda/coo/apply.json"] {
        touch(dir.path(), file);
    }
    let output = build_list(
        dir.path(),
        &["data", "--pattern", "*/*/*.json", "--name", "{}({}) {stem}"],
    );
    assert_eq!(
        listed(&output),
        pairs(&[
            ("cuda(coo) apply", "cuda/coo/apply.json"),
            ("omp(csr) apply", "omp/csr/apply.json")
        ])
    );
}

#[test]
fn duplicate_names_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    touch(dir.path(), "kmeans/aggregate.json");
    touch(dir.path(), "kmeans/old.json");
    let output = build_list(dir.path(), &[]);
    assert_eq!(listed(&output).len(), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning: the name \"kmeans\" is given to 2 files (kmeans/aggregate.json, kmeans/old.json)"), "{stderr}");
}

#[test]
fn a_history_that_is_not_strict_json_is_named_with_the_command_that_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/histories");
    // The original script writes Python's -Infinity; GPE's JSON.parse rejects the whole file.
    fs::create_dir_all(dir.path().join("old")).unwrap();
    fs::copy(
        fixtures.join("original-nonfinite.json"),
        dir.path().join("old/aggregate.json"),
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("fine")).unwrap();
    fs::copy(
        fixtures.join("original-indented.json"),
        dir.path().join("fine/aggregate.json"),
    )
    .unwrap();
    let output = build_list(dir.path(), &["."]);
    assert_eq!(listed(&output).len(), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("build-list: warning: ./old/aggregate.json:")
            && stderr.contains("[0].extra_info.ratio: -Infinity is not JSON")
            && stderr.contains(
                "`aggregate REPORT --history ./old/aggregate.json` rewrites it as strict JSON"
            ),
        "{stderr}"
    );
}

#[test]
fn a_history_cut_short_is_named_too() {
    // A crash of the original script, or a full disk, leaves half a file: GPE draws nothing.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/histories");
    let text = fs::read(fixtures.join("original-indented.json")).unwrap();
    fs::create_dir_all(dir.path().join("cut")).unwrap();
    fs::write(dir.path().join("cut/aggregate.json"), &text[..300]).unwrap();
    let output = build_list(dir.path(), &["."]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(listed(&output).len(), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("build-list: warning: ./cut/aggregate.json:")
            && stderr.contains("not valid JSON")
            && stderr.contains("GPE cannot read this file"),
        "{stderr}"
    );
}

#[test]
fn a_missing_root_is_an_error_and_no_match_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let output = build_list(dir.path(), &["results/data"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("build-list: error: results/data: no such folder"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);

    let output = build_list(dir.path(), &["."]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(output.stdout, b"[]\n");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no file below . matches \"*/*.json\"")
    );
    fs::write(dir.path().join("list.json"), "[]").unwrap();
    let output = build_list(dir.path(), &["list.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("build-list: error: list.json: not a folder"),
        "{stderr}"
    );
}

#[test]
fn bad_patterns_and_templates_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--pattern", "[x"][..],
        &["--pattern", "../*.json"],
        &["--name", "{nope}"],
        &["--name", "{2}"],
    ] {
        touch(dir.path(), "a/b.json");
        let output = build_list(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).starts_with("build-list: error: --"),
            "{args:?}"
        );
    }
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2000 {
        touch(dir.path(), &format!("suite-{i:04}/aggregate.json"));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_build-list"))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_history_aggregate_refuses_is_named_with_aggregates_own_words() {
    // A Latin-1 byte inside a string: the browser draws it, but aggregate refuses to append to
    // it, so the next run of the pipeline would fail on it; so would a chunk that is an object.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("latin/archive")).unwrap();
    fs::write(
        dir.path().join("latin/aggregate.json"),
        b"[{\"name\": \"caf\xe9\"}]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("latin/archive/0001_2024.json"),
        "{\"benchmarks\": []}",
    )
    .unwrap();
    // Not a history: the browser reads it (as U+FFFD), and aggregate never touches it.
    fs::create_dir_all(dir.path().join("other")).unwrap();
    fs::write(dir.path().join("other/points.json"), b"{\"a\": \"\xff\"}").unwrap();
    let output = build_list(dir.path(), &["."]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(listed(&output).len(), 3, "still listed: GPE may draw them");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].contains("./latin/aggregate.json:1:15: invalid JSON (invalid UTF-8)")
            && lines[1].contains("./latin/archive/0001_2024.json:1:")
            && lines[1].contains("not a history of pytest-benchmark entries"),
        "{stderr}"
    );
    for line in lines {
        assert!(
            line.contains("aggregate refuses to append to it") && !line.contains("GPE cannot read"),
            "{line}"
        );
    }
}

#[test]
fn help_shows_no_escaped_quotes() {
    // It printed {\"name\", \"file\"}.
    let dir = tempfile::tempdir().unwrap();
    let help = build_list(dir.path(), &["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains(r#"{"name", "file"}"#), "{help}");
    assert!(!help.contains('\\'), "{help}");
}
