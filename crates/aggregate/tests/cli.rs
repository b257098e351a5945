//! The `aggregate` binary on real reports: what it appends, what it refuses, and that it never
//! damages a history.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(relative: &str) -> PathBuf {
    fixtures().join(relative)
}

mod common;

use bench_testkit::{fixtures, stderr};
use common::{aggregate, command};

/// Parses strictly, as GPE's `JSON.parse` does: serde_json rejects NaN and Infinity too.
fn strict_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn python_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    serde_json::from_str(
        &text
            .replace("-Infinity", "null")
            .replace("Infinity", "null")
            .replace("NaN", "null"),
    )
    .unwrap()
}

fn entries(history: &Path) -> Vec<Value> {
    strict_json(history).as_array().unwrap().clone()
}

#[test]
fn in_a_suite_folder_it_does_what_the_original_did_but_keeps_every_benchmark() {
    for version in [
        "3.2.0", "3.2.3", "3.4.1", "4.0.0", "5.0.1", "5.1.0", "5.2.3", "5.3.1",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let source = fixture(&format!("reports/{version}/git-clean.json"));
        fs::copy(&source, dir.path().join("output.json")).unwrap();
        let output = aggregate(dir.path(), &[]);
        assert!(output.status.success(), "{version}: {}", stderr(&output));

        let report = python_json(&source);
        let benchmarks = report["benchmarks"].as_array().unwrap();
        let history = entries(&dir.path().join("aggregate.json"));
        assert_eq!(
            history.len(),
            benchmarks.len(),
            "{version}: every benchmark is kept"
        );
        for (entry, benchmark) in history.iter().zip(benchmarks) {
            let mut expected = benchmark.clone();
            expected["stats"].as_object_mut().unwrap().remove("data");
            for (key, value) in expected.as_object().unwrap() {
                assert_eq!(&entry[key], value, "{version}: {key} changed");
            }
            assert_eq!(entry["commit_info"], report["commit_info"]);
            assert_eq!(entry["datetime"], report["datetime"]);
            assert_eq!(entry["machine"]["node"], report["machine_info"]["node"]);
            assert!(entry["stats"].get("data").is_none());
            // What the existing GPE plots address.
            assert!(entry["commit_info"]["branch"].is_string());
            for stat in ["min", "max", "mean", "median", "stddev"] {
                assert!(entry["stats"][stat].is_number(), "{version}: stats.{stat}");
            }
        }
        let line = stderr(&output);
        assert_eq!(line.lines().count(), 1, "one summary line: {line}");
        assert!(
            line.contains(&format!("appended {} entries", benchmarks.len())),
            "{line}"
        );
        assert!(line.contains("(new history)"), "{line}");
    }
}

#[test]
fn appending_the_same_report_twice_adds_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/git-dirty.json");
    let report = report.to_str().unwrap();
    assert!(aggregate(dir.path(), &[report]).status.success());
    let before = fs::read(dir.path().join("aggregate.json")).unwrap();
    let output = aggregate(dir.path(), &[report]);
    assert!(output.status.success());
    assert!(
        stderr(&output).contains("appended 0 entries, skipped 5 as already recorded"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("appended before"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read(dir.path().join("aggregate.json")).unwrap(), before);
}

#[test]
fn several_reports_in_one_call_land_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let first = fixture("reports/4.0.0/git-clean.json");
    let second = fixture("reports/5.3.1/unversioned.json");
    let output = aggregate(
        dir.path(),
        &[
            first.to_str().unwrap(),
            second.to_str().unwrap(),
            "--history",
            "data/kmeans.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let history = entries(&dir.path().join("data/kmeans.json"));
    let ids: Vec<_> = history
        .iter()
        .map(|e| e["commit_info"]["id"].as_str().unwrap().to_owned())
        .collect();
    let first_count = python_json(&first)["benchmarks"].as_array().unwrap().len();
    assert!(ids[..first_count].iter().all(|id| id.len() == 40));
    assert!(ids[first_count..].iter().all(|id| id == "unversioned"));
}

#[test]
fn histories_of_the_original_script_keep_their_entries_byte_for_byte() {
    for name in ["original-compact", "original-indented"] {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("aggregate.json");
        fs::copy(fixture(&format!("histories/{name}.json")), &history).unwrap();
        let old_text = fs::read(&history).unwrap();
        let old_entries = entries(&history);

        let report = fixture("reports/5.3.1/unversioned.json");
        let output = aggregate(dir.path(), &[report.to_str().unwrap()]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));

        let new_text = fs::read(&history).unwrap();
        let kept = &old_text[..old_text.iter().rposition(|&b| b == b']').unwrap()];
        assert!(
            new_text.starts_with(kept.trim_ascii_end()),
            "{name}: the old text must be kept as it was"
        );
        let new_entries = entries(&history);
        assert_eq!(
            &new_entries[..old_entries.len()],
            &old_entries[..],
            "{name}"
        );
        assert_eq!(new_entries.len(), old_entries.len() + 5, "{name}");
    }
}

#[test]
fn the_original_scripts_first_entry_is_recognised_as_a_duplicate() {
    // original-compact holds benchmarks[0] of this report, written by the original script.
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("aggregate.json");
    fs::copy(fixture("histories/original-compact.json"), &history).unwrap();
    let report = fixture("reports/4.0.0/git-clean.json");
    let output = aggregate(dir.path(), &[report.to_str().unwrap()]);
    assert!(
        stderr(&output).contains("skipped 1 as already recorded"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn non_finite_numbers_become_null_with_a_warning_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/nonfinite.json");
    let output = aggregate(dir.path(), &[report.to_str().unwrap()]);
    assert!(output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains("warning: ") && text.contains("benchmarks[1].params.scale: NaN"),
        "{text}"
    );
    let history = entries(&dir.path().join("aggregate.json"));
    assert!(history[1]["params"]["scale"].is_null());
    assert_eq!(history[0]["params"]["scale"], 1.0);

    // A history the original script wrote with -Infinity becomes strict JSON on the next append.
    let history = dir.path().join("old.json");
    fs::copy(fixture("histories/original-nonfinite.json"), &history).unwrap();
    let output = aggregate(
        dir.path(),
        &[
            fixture("reports/5.3.1/git-clean.json").to_str().unwrap(),
            "-o",
            "old.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("old.json: [0].extra_info.ratio: -Infinity"),
        "{}",
        stderr(&output)
    );
    strict_json(&history);
}

#[test]
fn keep_data_keeps_every_rounds_time() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.1.0/git-clean.json");
    assert!(
        aggregate(dir.path(), &[report.to_str().unwrap(), "--keep-data"])
            .status
            .success()
    );
    let history = entries(&dir.path().join("aggregate.json"));
    let rounds = history[0]["stats"]["rounds"].as_u64().unwrap() as usize;
    assert_eq!(
        history[0]["stats"]["data"].as_array().unwrap().len(),
        rounds
    );
}

/// A report of pytest-benchmark 5.3 in which nothing ran is no file at all; one with an empty
/// benchmarks array is what a plugin or a hand-made file gives.
fn empty_benchmarks_report(dir: &Path) -> PathBuf {
    let mut report = python_json(&fixture("reports/5.3.1/git-clean.json"));
    report["benchmarks"] = Value::Array(Vec::new());
    let path = dir.join("none-ran.json");
    fs::write(&path, serde_json::to_vec(&report).unwrap()).unwrap();
    path
}

#[test]
fn bad_input_is_one_clear_line_exit_2_and_the_history_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("aggregate.json");
    fs::copy(fixture("histories/original-indented.json"), &history).unwrap();
    let before = fs::read(&history).unwrap();
    let good = fixture("reports/5.3.1/git-clean.json");
    let none_ran = empty_benchmarks_report(dir.path());
    let bad = |name: &str| fixture(&format!("bad/{name}")).to_str().unwrap().to_owned();

    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["missing.json".into()], "cannot read missing.json: no such file"),
        (vec![bad("empty.json")], "empty.json: the report is empty (0 bytes): pytest-benchmark writes that when no benchmark ran"),
        (vec![fixture("reports/4.0.0/no-benchmarks.json").to_str().unwrap().into()], "the report is empty (0 bytes)"),
        (vec![none_ran.to_str().unwrap().into()], "none-ran.json: the report holds no benchmarks"),
        (vec![bad("truncated.json")], "truncated.json:73:"),
        (vec![bad("interleaved.json")], "interleaved.json:"),
        (vec![bad("wrong-shape.json")], "wrong-shape.json:1:15: benchmarks: invalid type: map, expected a sequence"),
        (vec![bad("bad-stat.json")], "benchmarks[3].stats.mean: invalid type: string \"fast\""),
        (vec![bad("history-object.json")], "missing field `benchmarks`"),
        (vec![dir.path().to_str().unwrap().into()], "cannot read"),
        // One good report and one bad: nothing is appended.
        (vec![good.to_str().unwrap().into(), bad("truncated.json")], "truncated.json:"),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = aggregate(dir.path(), &args);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{args:?}: one line: {text}");
        assert!(text.starts_with("aggregate: error: "), "{args:?}: {text}");
        assert!(
            text.contains(expected),
            "{args:?}: expected {expected:?} in {text}"
        );
        assert_eq!(
            fs::read(&history).unwrap(),
            before,
            "{args:?} changed the history"
        );
    }
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().contains(".tmp.")),
        "temporaries left: {names:?}"
    );
}

#[test]
fn a_history_that_is_not_an_array_of_entries_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("reports/5.3.1/git-clean.json");
    let good = good.to_str().unwrap();
    let cases = [
        (
            "object.json",
            &b"{\"not\": \"an array\"}"[..],
            "object.json:1:1: (root): invalid type: map, expected a sequence",
        ),
        (
            "numbers.json",
            b"[1, 2]",
            "numbers.json:1:2: [0]: invalid type: integer `1`",
        ),
        (
            "foreign.json",
            b"[{\"name\": \"x\"}]",
            "[0]: missing field `fullname`",
        ),
        (
            "empty.json",
            b"",
            "empty.json:1:1: (root): the history is empty (0 bytes)",
        ),
        (
            "cut.json",
            b"[{\"fullname\": \"a\", \"st",
            "cut.json:1:22: invalid JSON (EOF while parsing",
        ),
    ];
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        fs::write(&path, content).unwrap();
        let output = aggregate(dir.path(), &[good, "--history", name]);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{name}: {text}");
        assert!(
            text.contains(expected),
            "{name}: expected {expected:?} in {text}"
        );
        assert_eq!(fs::read(&path).unwrap(), content, "{name} changed");
    }
}

#[test]
fn an_unwritable_history_is_an_io_error_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("file"), "").unwrap();
    let good = fixture("reports/5.3.1/git-clean.json");
    // A path below a regular file cannot be created, even by root.
    let output = aggregate(
        dir.path(),
        &[good.to_str().unwrap(), "--history", "file/aggregate.json"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot write file/aggregate.json: not a directory")
            && !stderr(&output).contains(".lock"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        aggregate(dir.path(), &["--no-such-flag"]).status.code(),
        Some(2)
    );
    let help = aggregate(dir.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}

#[test]
fn a_history_starting_with_a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("aggregate.json");
    let original = fs::read(fixture("histories/original-indented.json")).unwrap();
    fs::write(&history, [&b"\xef\xbb\xbf"[..], &original].concat()).unwrap();
    let report = fixture("reports/5.3.1/git-clean.json");
    let output = aggregate(dir.path(), &[report.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = fs::read(&history).unwrap();
    let entries: Vec<Value> = serde_json::from_slice(&text).expect("strict JSON, no BOM");
    let line = stderr(&output);
    let appended: usize = line
        .split("appended ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(appended > 0, "{line}");
    assert_eq!(entries.len(), 3 + appended, "the old entries kept");
}

#[test]
fn migrating_a_missing_history_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = aggregate(
        dir.path(),
        &[
            "--migrate",
            "--max-entries",
            "5",
            "--history",
            "missing.json",
        ],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("missing.json") && text.contains("no such file"),
        "{text}"
    );
}

#[test]
fn a_newline_in_a_file_name_keeps_the_message_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = aggregate(dir.path(), &["no\nsuch.json", "--history", "a\nb.json"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(r"no\nsuch.json"), "{text}");
}

#[test]
fn bounds_that_would_rotate_every_append_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/git-clean.json");
    for bound in [
        ["--max-bytes", "0"],
        ["--max-bytes", "0.5"],
        ["--max-entries", "0"],
    ] {
        let output = aggregate(dir.path(), &[report.to_str().unwrap(), bound[0], bound[1]]);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{bound:?}: {text}");
        assert!(text.contains(bound[0]), "{bound:?}: {text}");
        assert!(!dir.path().join("aggregate.json").exists());
    }
}

#[test]
fn negative_times_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut report: Value =
        serde_json::from_slice(&fs::read(fixture("reports/5.3.1/git-clean.json")).unwrap())
            .unwrap();
    report["benchmarks"][1]["stats"]["min"] = Value::from(-0.001);
    fs::write(
        dir.path().join("output.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    let output = aggregate(dir.path(), &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("benchmarks[1].stats.min"), "{text}");
    assert!(!dir.path().join("aggregate.json").exists());
}

#[test]
fn invalid_utf8_is_refused_alike_in_a_report_and_a_history() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(fixture("reports/5.3.1/git-clean.json")).unwrap();
    // A Latin-1 byte inside a string no reader of ours looks at (the machine's CPU flags).
    let text = String::from_utf8(good.clone()).unwrap();
    let at = text.find("\"python_compiler\": \"").unwrap() + 20;
    let mut bad = good.clone();
    bad.insert(at, 0xe9);
    fs::write(dir.path().join("bad-report.json"), &bad).unwrap();
    let output = aggregate(dir.path(), &["bad-report.json", "--history", "h.json"]);
    let report_error = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{report_error}");

    // The same byte inside an entry's extra_info in a history.
    fs::write(dir.path().join("good.json"), &good).unwrap();
    assert!(aggregate(dir.path(), &["good.json", "--history", "h.json"])
        .status
        .success());
    let history = fs::read(dir.path().join("h.json")).unwrap();
    let text = String::from_utf8(history.clone()).unwrap();
    let at = text.find("\"extra_info\": {").unwrap() + 15;
    let mut bad = history.clone();
    bad.splice(at..at, *b"\"note\": \"caf\xe9\",");
    fs::write(dir.path().join("h.json"), &bad).unwrap();
    let other = fixture("reports/5.0.1/git-clean.json");
    let output = aggregate(
        dir.path(),
        &[other.to_str().unwrap(), "--history", "h.json"],
    );
    let history_error = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{history_error}");
    for text in [&report_error, &history_error] {
        assert!(text.contains("invalid UTF-8"), "{text}");
    }
    assert_eq!(
        fs::read(dir.path().join("h.json")).unwrap(),
        bad,
        "untouched"
    );
}

#[test]
fn a_run_larger_than_the_bound_is_kept_whole_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/git-clean.json");
    let output = aggregate(
        dir.path(),
        &[report.to_str().unwrap(), "--max-entries", "2"],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("larger than the bound") && text.contains("--max-entries"),
        "{text}"
    );
}

#[test]
fn pythons_big_integers_in_params_are_kept_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("reports/5.3.1/git-clean.json")).unwrap();
    let big = format!("1{}", "0".repeat(400));
    // What Python's json writes for params={"n": 2**70 + 1, "big": 10**400, "small": -7}.
    let at = text.find("\"params\": {").unwrap() + 11;
    let text = format!(
        "{}\"n\": 1180591620717411303425, \"big\": {big}, \"small\": -7, {}",
        &text[..at],
        &text[at..]
    );
    fs::write(dir.path().join("output.json"), text).unwrap();
    let output = aggregate(dir.path(), &[]);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains("benchmarks[0].params.n"), "{said}");
    let history = fs::read_to_string(dir.path().join("aggregate.json")).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&history).unwrap();
    let params = &entries[0]["params"];
    assert_eq!(params["n"], "1180591620717411303425");
    assert_eq!(params["big"], Value::String(big));
    assert_eq!(params["small"], -7, "integers that fit stay numbers");
}

#[test]
fn each_kind_of_bad_json_is_told_by_its_own_cause_not_blamed_on_xdist() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read_to_string(fixture("reports/5.3.1/git-clean.json")).unwrap();
    let at_min = good.find("\"min\": ").unwrap() + 7;
    let rounds = good.find("\"rounds\": ").unwrap() + 10;
    let rounds_end = rounds + good[rounds..].find(',').unwrap();
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let big = "1".repeat(31);
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        // Python writes Infinity, never a number beyond a double.
        (
            "huge-float.json",
            format!("{}1e400, \"was\": {}", &good[..at_min], &good[at_min..]),
            vec![
                "1e400",
                "beyond the range of a 64-bit float",
                "pytest-benchmark never writes",
            ],
        ),
        // Deep nesting in a key we do not model.
        (
            "deep.json",
            format!("{{\"x\": {deep}, {}", &good[1..]),
            vec!["nested more than 128 levels deep", "not a pytest-benchmark"],
        ),
        (
            "notes.txt",
            "These are my notes, not a report.\n".to_string(),
            vec!["not JSON", "These are my", "not a pytest-benchmark"],
        ),
        (
            "big-rounds.json",
            format!("{}{big}{}", &good[..rounds], &good[rounds_end..]),
            vec![
                "benchmarks[0].stats.rounds",
                &big,
                "does not fit a 64-bit integer",
            ],
        ),
    ];
    for (name, text, expected) in &cases {
        fs::write(dir.path().join(name), text).unwrap();
        let output = aggregate(dir.path(), &[name, "--history", "h.json"]);
        let said = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{name}: {said}");
        assert_eq!(said.lines().count(), 1, "{name}: {said}");
        assert!(!said.contains("xdist"), "{name}: {said}");
        assert!(!said.contains("invalid type: string"), "{name}: {said}");
        for part in expected {
            assert!(said.contains(part), "{name}: expected {part:?} in {said}");
        }
    }
    // Cut short, or two reports written into one file: xdist's old race is the likely cause.
    for name in ["truncated.json", "interleaved.json"] {
        let output = aggregate(
            dir.path(),
            &[fixture(&format!("bad/{name}")).to_str().unwrap()],
        );
        assert!(stderr(&output).contains("xdist"), "{}", stderr(&output));
    }
    assert!(!dir.path().join("h.json").exists());
}

#[test]
fn a_gate_option_without_check_is_refused_not_ignored() {
    // It used to exit 0 and write no Markdown, so a CI step that forgot --check passed silently.
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/git-clean.json");
    let report = report.to_str().unwrap();
    for option in [
        &["--markdown", "gate.md"][..],
        &["--report-json", "gate.json"],
        &["--threshold", "5"],
        &["--window", "10"],
        &["--stat", "mean"],
    ] {
        let mut args = vec![report, "--history", "h.json"];
        args.extend_from_slice(option);
        let output = aggregate(dir.path(), &args);
        assert_eq!(output.status.code(), Some(2), "{option:?}");
        assert!(
            stderr(&output).contains("--check"),
            "{option:?}: {}",
            stderr(&output)
        );
        assert!(!dir.path().join("h.json").exists(), "{option:?} appended");
    }
    // With --check it is taken.
    let output = aggregate(
        dir.path(),
        &[
            report,
            "--history",
            "h.json",
            "--check",
            "--markdown",
            "gate.md",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("gate.md").is_file());
}

#[test]
fn a_check_without_appending_against_a_missing_history_is_an_error() {
    // A typo in --history judged against nothing and passed the pull request (exit 0).
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/git-clean.json");
    let report = report.to_str().unwrap();
    let output = aggregate(
        dir.path(),
        &[
            report,
            "--history",
            "typo.json",
            "--check",
            "--no-append",
            "--fail-on-regression",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("typo.json: no such history"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!dir.path().join("typo.json").exists());
    // An empty one is judged, and said to be empty.
    fs::write(dir.path().join("empty.json"), "[]").unwrap();
    let output = aggregate(
        dir.path(),
        &[report, "--history", "empty.json", "--check", "--no-append"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("empty.json: the history holds no entries"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_history_in_folders_that_do_not_exist_yet_is_created_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/git-clean.json");
    let output = aggregate(
        dir.path(),
        &[
            report.to_str().unwrap(),
            "--history",
            "data/kmeans/aggregate.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!entries(&dir.path().join("data/kmeans/aggregate.json")).is_empty());
}

#[test]
fn help_names_every_way_to_exit_1() {
    let help = command().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let exit = &help[help.find("Exit status").expect("an exit-status part")..];
    for option in ["--fail-on-regression", "--fail-on-open"] {
        assert!(exit.contains(option), "{option} missing from: {exit}");
    }
}

#[test]
fn a_metric_no_benchmark_records_is_said_not_passed_in_silence() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("reports/5.3.1/git-clean.json");
    let report = report.to_str().unwrap();
    let output = aggregate(dir.path(), &[report, "--history", "h.json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = aggregate(
        dir.path(),
        &[
            report,
            "--history",
            "h.json",
            "--check",
            "--no-append",
            "--metric",
            "memroy",
        ],
    );
    let err = stderr(&output);
    assert!(
        err.contains("--metric memroy: no benchmark of this run records it"),
        "{err}"
    );
}
