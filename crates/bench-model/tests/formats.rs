//! Every fixture written by a real pytest-benchmark run reads back losslessly and tolerantly.

use std::fs;
use std::path::{Path, PathBuf};

use bench_model::{history, ErrorKind, HistoryEntry, Report, Warmup};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Every non-empty report fixture: (pytest-benchmark version, scenario, path).
fn reports() -> Vec<(String, String, PathBuf)> {
    let mut found = Vec::new();
    for version in fs::read_dir(fixtures().join("reports")).unwrap() {
        let version = version.unwrap();
        for file in fs::read_dir(version.path()).unwrap() {
            let path = file.unwrap().path();
            if fs::metadata(&path).unwrap().len() > 0 {
                let scenario = path.file_stem().unwrap().to_string_lossy().into_owned();
                found.push((
                    version.file_name().to_string_lossy().into_owned(),
                    scenario,
                    path,
                ));
            }
        }
    }
    found.sort();
    assert!(
        found.len() >= 40,
        "expected the fixtures of five versions, found {}",
        found.len()
    );
    found
}

/// Python's text with its non-finite numbers as null: what a lossless read must give back.
fn python_value(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    let strict = text
        .replace("-Infinity", "null")
        .replace("Infinity", "null")
        .replace("NaN", "null");
    serde_json::from_str(&strict).unwrap()
}

#[test]
fn every_report_round_trips_keys_values_and_key_order() {
    for (version, scenario, path) in reports() {
        let read = Report::read(&path).unwrap_or_else(|e| panic!("{version}/{scenario}: {e}"));
        let written = serde_json::to_value(&read.report).unwrap();
        let original = python_value(&path);
        // Compare as text: serde_json's map equality ignores order, and order matters to us.
        assert_eq!(
            serde_json::to_string(&written).unwrap(),
            serde_json::to_string(&original).unwrap(),
            "{version}/{scenario} changed in a round trip"
        );
    }
}

#[test]
fn every_commit_info_variant_is_read() {
    let read = |version: &str, scenario: &str| {
        Report::read(&fixtures().join(format!("reports/{version}/{scenario}.json")))
            .unwrap()
            .report
    };
    for version in ["3.2.3", "4.0.0", "5.3.1"] {
        let git = read(version, "git-clean").commit_info.unwrap();
        assert_eq!(git.id().map(str::len), Some(40), "{version}");
        assert_eq!(git.branch(), Some("main"));
        assert_eq!(git.dirty, Some(Some(false)));
        assert_eq!(
            read(version, "git-dirty").commit_info.unwrap().dirty,
            Some(Some(true))
        );
        assert_eq!(
            read(version, "git-detached").commit_info.unwrap().branch(),
            Some("(detached head)")
        );
        let hg = read(version, "mercurial").commit_info.unwrap();
        assert_eq!(
            hg.author_time,
            Some(None),
            "Mercurial's author_time is a present null"
        );
        assert_eq!(hg.branch(), Some("default"));
        let none = read(version, "unversioned").commit_info.unwrap();
        assert_eq!(
            (none.id(), none.branch()),
            (Some("unversioned"), Some("(unknown)"))
        );
        let failed = read(version, "git-error").commit_info.unwrap();
        assert_eq!(failed.id(), Some("unknown"));
        assert!(failed
            .error
            .flatten()
            .unwrap()
            .contains("not a git repository"));
    }
}

#[test]
fn warmup_is_false_or_an_iteration_count() {
    let off = Report::read(&fixtures().join("reports/5.3.1/git-clean.json"))
        .unwrap()
        .report;
    assert_eq!(
        off.benchmarks[0].options.as_ref().unwrap().warmup,
        Some(Warmup::Flag(false))
    );
    let on = Report::read(&fixtures().join("reports/3.2.3/warmup.json"))
        .unwrap()
        .report;
    match &on.benchmarks[0].options.as_ref().unwrap().warmup {
        Some(Warmup::Iterations(n)) => assert_eq!(n.get(), 7.0),
        other => panic!("expected an iteration count, got {other:?}"),
    }
}

#[test]
fn non_finite_numbers_are_read_as_null_and_named() {
    let read = Report::read(&fixtures().join("reports/5.3.1/nonfinite.json")).unwrap();
    let paths: Vec<_> = read
        .non_finite
        .iter()
        .map(|f| format!("{} {}", f.json_path, f.token))
        .collect();
    assert!(
        paths.contains(&"benchmarks[1].params.scale NaN".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"benchmarks[0].extra_info.ratio -Infinity".to_string()),
        "{paths:?}"
    );
    let text = serde_json::to_string(&read.report).unwrap();
    assert!(!text.contains("NaN") && !text.contains("Infinity"));
}

#[test]
fn old_reports_lack_keys_new_ones_add() {
    let old = Report::read(&fixtures().join("reports/3.2.3/git-clean.json"))
        .unwrap()
        .report;
    let new = Report::read(&fixtures().join("reports/5.3.1/git-clean.json"))
        .unwrap()
        .report;
    assert!(old.benchmarks[0]
        .options
        .as_ref()
        .unwrap()
        .precision
        .is_none());
    assert_eq!(
        new.benchmarks[0].options.as_ref().unwrap().precision,
        Some(None)
    );
    assert!(
        old.datetime.unwrap().len() < new.datetime.unwrap().len(),
        "5.x adds +00:00"
    );
}

#[test]
fn histories_of_the_original_script_round_trip() {
    for name in [
        "original-compact",
        "original-indented",
        "original-nonfinite",
    ] {
        let path = fixtures().join(format!("histories/{name}.json"));
        let (entries, _) = history::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!entries.is_empty());
        assert!(entries
            .iter()
            .all(|e| e.datetime.is_none() && e.machine.is_none()));
        assert_eq!(
            serde_json::to_string(&entries).unwrap(),
            serde_json::to_string(&python_value(&path)).unwrap(),
            "{name} changed in a round trip"
        );
    }
}

#[test]
fn entries_carry_commit_datetime_and_a_compact_machine_identity() {
    for (version, scenario, path) in reports() {
        let report = Report::read(&path).unwrap().report;
        let entries = HistoryEntry::from_report(&report, false);
        assert_eq!(entries.len(), report.benchmarks.len());
        for entry in &entries {
            assert!(entry.benchmark.stats.data.is_none());
            assert_eq!(entry.commit_info, report.commit_info);
            assert_eq!(entry.datetime, report.datetime);
            let machine = entry.machine.as_ref().unwrap();
            assert!(
                machine.node.is_some()
                    && machine.system.is_some()
                    && machine.python_version.is_some()
            );
            assert!(
                machine.cpu_brand.is_some(),
                "{version}/{scenario}: no CPU brand"
            );
            let text = serde_json::to_string(entry).unwrap();
            assert!(
                !text.contains("flags"),
                "the CPU flags list must not reach histories"
            );
        }
    }
}

#[test]
fn broken_files_are_told_apart() {
    let bad = fixtures().join("bad");
    let kind = |name: &str| Report::read(&bad.join(name)).unwrap_err();
    assert_eq!(kind("truncated.json").kind(), ErrorKind::Syntax);
    assert_eq!(kind("interleaved.json").kind(), ErrorKind::Syntax);
    assert_eq!(kind("wrong-shape.json").kind(), ErrorKind::Data);
    assert_eq!(kind("empty.json").kind(), ErrorKind::Data);
    assert_eq!(kind("missing.json").kind(), ErrorKind::Io);
    let error = kind("bad-stat.json");
    assert_eq!(error.kind(), ErrorKind::Data);
    assert!(
        error
            .to_string()
            .contains("benchmarks[3].stats.mean: invalid type: string \"fast\""),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:", bad.join("bad-stat.json").display())),
        "{error}"
    );
}
