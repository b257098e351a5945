//! Bounded histories: the current file stays within its bound, older runs move whole into the
//! archive, nothing is lost or duplicated (SIGKILLs included), and the gate and build-list see
//! the archive.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn template() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reports/5.3.1/git-clean.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// Run `run` of the example suite, written to `report-RUN.json` in `dir`.
fn report(dir: &Path, run: usize, year: u32) -> PathBuf {
    let path = dir.join(format!("report-{run}.json"));
    fs::write(&path, serde_json::to_vec(&report_of(run, year)).unwrap()).unwrap();
    path
}

/// Run `run` of the example suite: its own datetime, commit and timings (5 benchmarks).
fn report_of(run: usize, year: u32) -> Value {
    let mut report = template();
    report["datetime"] = Value::String(format!(
        "{year}-03-01T00:{:02}:{:02}+00:00",
        run / 60,
        run % 60
    ));
    report["commit_info"]["id"] = Value::String(format!("{run:040x}"));
    for benchmark in report["benchmarks"].as_array_mut().unwrap() {
        let stats = benchmark["stats"].as_object_mut().unwrap();
        for key in ["min", "max", "mean", "median"] {
            let value = stats[key].as_f64().unwrap()
                * (1.0 + 0.01 * ((run * 7 % 5) as f64 - 2.0) + 1e-5 * run as f64);
            stats.insert(key.into(), value.into());
        }
        stats.remove("data");
    }
    report
}

mod common;

use common::aggregate;

/// Every file of the suite, oldest first: archive chunks by sequence, then the current file.
fn files(suite: &Path) -> Vec<PathBuf> {
    let mut chunks: Vec<PathBuf> = fs::read_dir(suite.join("archive"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    chunks.sort();
    if suite.join("aggregate.json").exists() {
        chunks.push(suite.join("aggregate.json"));
    }
    chunks
}

/// The commit ids of all entries across the files, in order; every file must parse.
fn all_runs(suite: &Path) -> Vec<String> {
    files(suite)
        .iter()
        .flat_map(|f| {
            let entries: Vec<Value> = serde_json::from_slice(&fs::read(f).unwrap())
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", f.display()));
            entries
                .into_iter()
                .map(|e| e["commit_info"]["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn expected(runs: std::ops::Range<usize>) -> Vec<String> {
    runs.flat_map(|run| std::iter::repeat_n(format!("{run:040x}"), 5))
        .collect()
}

#[test]
fn the_current_file_stays_within_the_bound_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("data/kmeans");
    fs::create_dir_all(&suite).unwrap();
    for run in 0..12 {
        let year = if run < 5 { 2025 } else { 2026 };
        let path = report(dir.path(), run, year);
        let output = aggregate(
            dir.path(),
            &[
                path.to_str().unwrap(),
                "-o",
                "data/kmeans/aggregate.json",
                "--max-entries",
                "12",
            ],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for file in files(&suite) {
        let entries: Vec<Value> = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
        assert!(
            entries.len() <= 12,
            "{} holds {}",
            file.display(),
            entries.len()
        );
    }
    assert_eq!(
        all_runs(&suite),
        expected(0..12),
        "exactly the appended entries, in order"
    );
    let names: Vec<String> = files(&suite)
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "0001_2025.json",
            "0002_2025.json",
            "0003_2025-2026.json",
            "0004_2026.json",
            "0005_2026.json",
            "aggregate.json"
        ]
    );

    // Appending a run that already moved to the archive adds nothing.
    let output = aggregate(
        dir.path(),
        &[
            "report-9.json",
            "-o",
            "data/kmeans/aggregate.json",
            "--max-entries",
            "12",
        ],
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("appended 0 entries, skipped 5"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // build-list names the chunks for a GPE user and keeps the current file's name.
    let output = Command::new(env!("CARGO_BIN_EXE_aggregate"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    let list = build_list::build(
        &dir.path().join("data"),
        &build_list::ListOptions::default(),
    )
    .unwrap();
    let names: Vec<&str> = list.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "kmeans",
            "kmeans (2025, part 1)",
            "kmeans (2025, part 2)",
            "kmeans (2025-2026)",
            "kmeans (2026, part 1)",
            "kmeans (2026, part 2)"
        ]
    );
}

#[test]
fn a_byte_bound_holds_for_every_file() {
    let dir = tempfile::tempdir().unwrap();
    for run in 0..20 {
        let path = report(dir.path(), run, 2026);
        let output = aggregate(dir.path(), &[path.to_str().unwrap(), "--max-bytes", "20kB"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for file in files(dir.path()) {
        assert!(
            fs::metadata(&file).unwrap().len() <= 20_000,
            "{} is too large",
            file.display()
        );
    }
    assert_eq!(all_runs(dir.path()), expected(0..20));
}

#[test]
fn migrate_splits_an_original_history_into_bounded_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/histories/original-indented.json");
    fs::copy(&original, dir.path().join("aggregate.json")).unwrap();
    let before: Vec<Value> = serde_json::from_slice(&fs::read(&original).unwrap()).unwrap();
    let output = aggregate(dir.path(), &["--migrate", "--max-entries", "1"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("3 entries; 2 moved into 2 archive chunk(s), 1 left"));
    let after: Vec<Value> = files(dir.path())
        .iter()
        .flat_map(|f| serde_json::from_slice::<Vec<Value>>(&fs::read(f).unwrap()).unwrap())
        .collect();
    assert_eq!(after, before, "every entry kept unchanged, in order");
    assert_eq!(
        aggregate(dir.path(), &["--migrate"]).status.code(),
        Some(2),
        "a bound is required"
    );
}

#[test]
fn migrate_accepts_what_append_accepts_and_writes_strict_json() {
    // The original script writes Python's bare Infinity; appending to such a history works, so
    // migrating it must too.
    let dir = tempfile::tempdir().unwrap();
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/histories/original-nonfinite.json");
    let text = fs::read_to_string(&original).unwrap();
    assert!(
        text.contains("Infinity"),
        "the fixture holds bare non-finite numbers"
    );
    fs::write(dir.path().join("aggregate.json"), &text).unwrap();
    let entries = text.matches("\"fullname\"").count();
    let output = aggregate(dir.path(), &["--migrate", "--max-entries", "1"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after: Vec<Value> = files(dir.path())
        .iter()
        .flat_map(|f| {
            serde_json::from_slice::<Vec<Value>>(&fs::read(f).unwrap())
                .unwrap_or_else(|e| panic!("{} is not strict JSON: {e}", f.display()))
        })
        .collect();
    assert_eq!(after.len(), entries, "every entry kept");
}

/// A history of `runs` runs written directly, for the kill tests.
fn big_history(path: &Path, runs: usize) {
    let template = template();
    let mut entries = Vec::new();
    for run in 0..runs {
        for benchmark in template["benchmarks"].as_array().unwrap() {
            let mut entry = benchmark.clone();
            entry["stats"].as_object_mut().unwrap().remove("data");
            entry["commit_info"] = template["commit_info"].clone();
            entry["commit_info"]["id"] = Value::String(format!("{run:040x}"));
            entry["datetime"] = Value::String(big_history_datetime(run));
            entries.push(entry);
        }
    }
    fs::write(path, serde_json::to_vec_pretty(&entries).unwrap()).unwrap();
}

fn big_history_datetime(run: usize) -> String {
    format!(
        "2026-01-01T{:02}:{:02}:{:02}+00:00",
        run / 3600,
        run / 60 % 60,
        run % 60
    )
}

/// The report of run `run` of [`big_history`] (whose entries carry no machine).
fn big_history_report(path: &Path, run: usize) {
    let mut report = template();
    report.as_object_mut().unwrap().remove("machine_info");
    report["commit_info"]["id"] = Value::String(format!("{run:040x}"));
    report["datetime"] = Value::String(big_history_datetime(run));
    fs::write(path, serde_json::to_vec(&report).unwrap()).unwrap();
}

/// xorshift: reproducible kill moments without a dependency.
fn moments(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10_000) as f64 / 10_000.0
    }
}

#[test]
fn sigkill_during_rotating_appends_leaves_every_entry_in_exactly_one_file() {
    let dir = tempfile::tempdir().unwrap();
    // A bound of one run: every append moves the current file into the archive, so kills land
    // before, during and after the rotation.
    let bound = ["--max-entries", "5"];
    let append = |run: usize| {
        let path = report(dir.path(), run, 2026);
        Command::new(env!("CARGO_BIN_EXE_aggregate"))
            .args([path.to_str().unwrap(), bound[0], bound[1]])
            .current_dir(dir.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut append_time = Duration::MAX;
    for run in 0..5 {
        let started = Instant::now();
        assert!(append(run).wait().unwrap().success());
        append_time = append_time.min(started.elapsed());
    }
    let mut done = 5;
    let mut next = moments(0x2545_f491_4f6c_dd1d);
    let (mut killed, mut finished) = (0, 0);
    for _ in 0..60 {
        let mut child = append(done);
        std::thread::sleep(append_time.mul_f64(1.3 * next()));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let runs = all_runs(dir.path());
        if runs == expected(0..done + 1) {
            done += 1;
            finished += 1;
        } else {
            assert_eq!(
                runs,
                expected(0..done),
                "after a kill ({status}): entries lost or doubled"
            );
            killed += 1;
        }
    }
    assert!(
        killed >= 10 && finished >= 1,
        "{killed} killed, {finished} finished ({append_time:?} an append)"
    );
    assert!(
        files(dir.path()).len() > 10,
        "the test must have rotated: {killed} killed, {finished} finished, {append_time:?}"
    );
}

#[test]
fn a_killed_migration_loses_nothing_and_the_next_run_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("aggregate.json");
    big_history(&history, 3000);
    let mut next = moments(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    fs::copy(&history, dir.path().join("pristine.json")).unwrap();
    big_history_report(&dir.path().join("run-1234.json"), 1234);
    assert!(
        aggregate(dir.path(), &["--migrate", "--max-entries", "500"])
            .status
            .success()
    );
    let migrate_time = started.elapsed();
    for attempt in 0..10 {
        for file in files(dir.path()) {
            fs::remove_file(file).unwrap();
        }
        fs::copy(dir.path().join("pristine.json"), &history).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_aggregate"))
            .args(["--migrate", "--max-entries", "500"])
            .current_dir(dir.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(migrate_time.mul_f64(next()));
        let _ = child.kill();
        child.wait().unwrap();
        // Every file still parses, and no entry is lost (the journal holds them until the end).
        let journal: Vec<String> = fs::read_dir(dir.path().join("archive"))
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| {
                        p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with(".migrating")
                    })
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let visible = all_runs(dir.path());
        if journal.is_empty() {
            assert_eq!(
                visible,
                expected(0..3000),
                "attempt {attempt}: a finished migration is exact"
            );
        }
        // The next run of any writer rolls back and (here) migrates again, exactly.
        let output = aggregate(dir.path(), &["--migrate", "--max-entries", "500"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(all_runs(dir.path()), expected(0..3000), "attempt {attempt}");
        assert!(files(dir.path())
            .iter()
            .all(
                |f| serde_json::from_slice::<Vec<Value>>(&fs::read(f).unwrap())
                    .unwrap()
                    .len()
                    <= 500
            ));
        // What the next run finds: the archive's index (left by the migration, or rebuilt)
        // leads to run 1234 in its chunk.
        let output = aggregate(dir.path(), &["run-1234.json", "--max-entries", "500"]);
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(
            text.contains("appended 0 entries, skipped 5"),
            "attempt {attempt}: {text}"
        );
    }
    assert!(migrate_time < Duration::from_secs(30));
}

#[test]
fn the_gate_reads_back_into_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    for run in 0..8 {
        let path = report(dir.path(), run, 2026);
        assert!(
            aggregate(dir.path(), &[path.to_str().unwrap(), "--max-entries", "10"])
                .status
                .success()
        );
    }
    let current: Vec<Value> =
        serde_json::from_slice(&fs::read(dir.path().join("aggregate.json")).unwrap()).unwrap();
    assert_eq!(current.len(), 10, "two runs in the current file");
    let path = report(dir.path(), 8, 2026);
    let output = aggregate(
        dir.path(),
        &[
            path.to_str().unwrap(),
            "--check",
            "--no-append",
            "--report-json",
            "g.json",
        ],
    );
    assert!(output.status.success());
    let gate: Value =
        serde_json::from_slice(&fs::read(dir.path().join("g.json")).unwrap()).unwrap();
    for j in gate["benchmarks"].as_array().unwrap() {
        assert_eq!(j["history"], 8, "{j}");
        assert_ne!(j["verdict"], "insufficient_history");
    }
}

#[test]
fn a_run_in_any_archive_chunk_is_never_appended_again_bound_or_not() {
    let dir = tempfile::tempdir().unwrap();
    for run in 0..12 {
        let path = report(dir.path(), run, 2026);
        let output = aggregate(dir.path(), &[path.to_str().unwrap(), "--max-entries", "12"]);
        assert!(output.status.success());
    }
    assert!(files(dir.path()).len() > 3, "several chunks");
    // Runs 0 and 4 sit in the two oldest chunks; with and without the bound.
    for args in [&["--max-entries", "12"][..], &[]] {
        for run in ["report-0.json", "report-4.json"] {
            let mut all = vec![run];
            all.extend_from_slice(args);
            let output = aggregate(dir.path(), &all);
            let text = String::from_utf8_lossy(&output.stderr);
            assert!(
                text.contains("appended 0 entries, skipped 5"),
                "{run} {args:?}: {text}"
            );
        }
    }
    assert_eq!(all_runs(dir.path()), expected(0..12));
}

#[test]
fn runs_with_equal_timings_on_other_hosts_or_dates_are_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let first = report(dir.path(), 1, 2026);
    let mut other: Value = serde_json::from_slice(&fs::read(&first).unwrap()).unwrap();
    // Another host, a day later, the same commit and (say, a coarse timer) the same timings.
    other["datetime"] = Value::String("2026-03-02T00:00:01+00:00".into());
    other["machine_info"]["node"] = Value::String("other-host".into());
    let second = dir.path().join("other.json");
    fs::write(&second, serde_json::to_vec(&other).unwrap()).unwrap();
    for path in [&first, &second] {
        let output = aggregate(dir.path(), &[path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(text.contains("appended 5 entries"), "{text}");
    }
    // The same report again is still recognised.
    let output = aggregate(dir.path(), &[second.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("skipped 5"));
}

// --- a full disk --------------------------------------------------------------------------------

/// A 1 MiB tmpfs mounted on a temporary folder, unmounted when dropped: a real full disk.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// None (a skip, or a failure under CI) when mounting is not allowed (not root).
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        bench_testkit::require(mounted.then_some(SmallDisk { dir }), "a tmpfs mount (root)")
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk but for about `free` bytes.
    fn fill_leaving(&self, free: u64) {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut file = fs::File::create(&filler).unwrap();
        while file.write_all(&[0; 4096]).is_ok() {}
        drop(file);
        let size = fs::metadata(&filler).unwrap().len();
        fs::File::options()
            .write(true)
            .open(&filler)
            .unwrap()
            .set_len(size.saturating_sub(free))
            .unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Every file below `dir` but the filler and lock files, with its content as text.
fn contents(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            found.extend(contents(&path));
        } else if name != "filler" && !name.ends_with(".lock") {
            found.push((path.clone(), fs::read_to_string(&path).unwrap()));
        }
    }
    found.sort();
    found
}

/// Asserts that `dir` holds what `before` listed, naming the first difference.
fn unchanged(dir: &Path, before: &[(PathBuf, String)]) {
    let after = contents(dir);
    let names = |files: &[(PathBuf, String)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&after), names(before), "exit 2 means nothing changed");
    for ((path, old), (_, new)) in before.iter().zip(&after) {
        assert!(old == new, "{} changed", path.display());
    }
}

#[test]
fn a_migration_on_a_full_disk_exits_2_and_changes_nothing() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    big_history(&disk.path().join("aggregate.json"), 20);
    disk.fill_leaving(8192);
    let before = contents(disk.path());
    let output = aggregate(disk.path(), &["--migrate", "--max-entries", "10"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("no space left"), "{text}");
    unchanged(disk.path(), &before);
}

#[test]
fn a_rotation_on_a_full_disk_exits_2_and_keeps_the_current_file() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    for run in 0..2 {
        let path = report(disk.path(), run, 2026);
        let output = aggregate(
            disk.path(),
            &[path.to_str().unwrap(), "--max-entries", "10"],
        );
        assert!(output.status.success());
    }
    let next = report(disk.path(), 2, 2026);
    disk.fill_leaving(2048);
    let before = contents(disk.path());
    let output = aggregate(
        disk.path(),
        &[next.to_str().unwrap(), "--max-entries", "10"],
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    // The message names the history, not our temporary, and says what to do.
    assert!(
        text.contains("cannot write aggregate.json: no space left on device")
            && !text.contains(".tmp.")
            && text.contains("free space"),
        "{text}"
    );
    unchanged(disk.path(), &before);
    assert_eq!(all_runs(disk.path()), expected(0..2));
}

#[test]
fn temporaries_of_killed_writers_are_removed_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    fs::create_dir(&archive).unwrap();
    for leftover in [
        archive.join(".0003_2026.json.tmp.999999"),
        archive.join(".index.json.tmp.999998"),
        dir.path().join(".aggregate.json.tmp.999997"),
    ] {
        fs::write(&leftover, "[half").unwrap();
    }
    let path = report(dir.path(), 0, 2026);
    assert!(aggregate(dir.path(), &[path.to_str().unwrap()])
        .status
        .success());
    let hidden: Vec<PathBuf> = contents(dir.path())
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.to_string_lossy().contains(".tmp."))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn migrating_runs_larger_than_the_bound_says_so() {
    // Two runs of five benchmarks each under a bound of three entries: each file keeps one whole
    // run, above the bound, and the user is told.
    let dir = tempfile::tempdir().unwrap();
    for run in 0..2 {
        let path = report(dir.path(), run, 2026);
        assert!(aggregate(dir.path(), &[path.to_str().unwrap()])
            .status
            .success());
    }
    let output = aggregate(dir.path(), &["--migrate", "--max-entries", "3"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert_eq!(
        text.matches("one run larger than the bound, kept whole")
            .count(),
        2,
        "{text}"
    );
    assert_eq!(all_runs(dir.path()), expected(0..2));
}

#[test]
fn a_chunk_replaced_under_its_name_is_read_again_not_trusted_from_the_index() {
    // git (a pull, a checkout, publishing's carry) can replace archive/0001_2026.json with
    // another clone's chunk of the same name: the index's dates for that name are then stale.
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (dir.path().join("x"), dir.path().join("y"));
    fs::create_dir_all(&x).unwrap();
    fs::create_dir_all(&y).unwrap();
    let append = |suite: &Path, run: usize| {
        let path = report(dir.path(), run, 2026);
        let output = aggregate(suite, &[path.to_str().unwrap(), "--max-entries", "5"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    // x: chunk 0001 holds run 0, chunk 0002 run 1, the index knows chunk 0001's dates.
    for run in [0, 1, 4] {
        append(&x, run);
    }
    assert!(x.join("archive/.index.json").is_file());
    // y: chunk 0001 holds run 2.
    for run in [2, 3] {
        append(&y, run);
    }
    fs::copy(
        y.join("archive/0001_2026.json"),
        x.join("archive/0001_2026.json"),
    )
    .unwrap();
    let text = append(&x, 2);
    assert!(text.contains("appended 0 entries"), "{text}");
}

// --- what an append reads -----------------------------------------------------------------------

/// Who wrote a history's entries.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// The original aggregate.py: each benchmark with its report's commit_info, nothing more.
    Original,
    /// `aggregate`: with the run's datetime and machine.
    Ours,
}

/// Writes the history of `runs` (see [`report_of`]) at `path` in `layout`, and each run's report
/// as `report-RUN.json` in `dir`, to append again.
fn history_of(dir: &Path, path: &Path, runs: std::ops::Range<usize>, layout: Layout) {
    let reports: Vec<PathBuf> = runs.map(|run| report(dir, run, 2026)).collect();
    match layout {
        Layout::Ours => {
            let mut args: Vec<&str> = reports.iter().map(|r| r.to_str().unwrap()).collect();
            args.extend(["--history", path.to_str().unwrap()]);
            let output = aggregate(dir, &args);
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Layout::Original => {
            let mut entries = Vec::new();
            for report in &reports {
                let report: Value = serde_json::from_slice(&fs::read(report).unwrap()).unwrap();
                for benchmark in report["benchmarks"].as_array().unwrap() {
                    let mut entry = benchmark.clone();
                    entry["commit_info"] = report["commit_info"].clone();
                    entries.push(entry);
                }
            }
            fs::write(path, serde_json::to_vec_pretty(&entries).unwrap()).unwrap();
        }
    }
}

/// Runs `aggregate ARGS` in `dir`; its output and the bytes it read (`rchar` in /proc: every
/// read of every file). A shell runs it and reads its own count after reaping it (the kernel
/// adds a reaped child's count to its parent's), so nothing the test process does is counted;
/// the shell and the loader read a few kilobytes more.
fn aggregate_counting_reads(dir: &Path, args: &[&str]) -> (Output, u64) {
    let io = tempfile::NamedTempFile::new().unwrap();
    let output = Command::new("sh")
        .args([
            "-c",
            r#""$0" "$@"; status=$?; cat /proc/$$/io >"$IO"; exit $status"#,
        ])
        .arg(env!("CARGO_BIN_EXE_aggregate"))
        .args(args)
        .env("IO", io.path())
        .current_dir(dir)
        .output()
        .unwrap();
    let counts = fs::read_to_string(io.path()).unwrap();
    let read = counts
        .lines()
        .find_map(|line| line.strip_prefix("rchar: "))
        .unwrap_or_else(|| panic!("no rchar in /proc/PID/io: {counts:?}"))
        .parse()
        .unwrap();
    (output, read)
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn an_append_reads_the_current_file_and_at_most_the_chunk_its_run_is_in() {
    for layout in [Layout::Original, Layout::Ours] {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("suite");
        fs::create_dir(&suite).unwrap();
        let history = suite.join("aggregate.json");
        history_of(dir.path(), &history, 0..200, layout);
        let output = aggregate(&suite, &["--migrate", "--max-entries", "200"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut chunks = files(&suite);
        chunks.pop();
        assert_eq!(
            chunks.len(),
            4,
            "{layout:?}: 4 chunks of 40 runs, 40 runs left"
        );
        let smallest = chunks.iter().map(|c| size(c)).min().unwrap();
        // Appends bound above the migration's bound: nothing rotates, so each reads what it finds.
        let append = |run: usize| {
            let report = dir.path().join(format!("report-{run}.json"));
            let known = size(&history) + size(&suite.join("archive/.index.json")) + size(&report);
            let (output, read) = aggregate_counting_reads(
                &suite,
                &[report.to_str().unwrap(), "--max-entries", "1000"],
            );
            let text = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(output.status.success(), "{layout:?}: {text}");
            (text, read, known)
        };
        // New runs: the first append after the migration, and the next.
        for run in [1000, 1001] {
            report(dir.path(), run, 2026);
            let (text, read, known) = append(run);
            assert!(text.contains("appended 5 entries"), "{layout:?}: {text}");
            assert!(
                read < known + smallest,
                "{layout:?}, run {run}: read {read} bytes where the current file, the archive's \
                 index and the report hold {known}: a chunk ({smallest} bytes or more) was read"
            );
        }
        // Run 50 moved into the second chunk: found there, and no other chunk is read.
        let (text, read, known) = append(50);
        assert!(
            text.contains("appended 0 entries, skipped 5"),
            "{layout:?}: {text}"
        );
        let second = size(&chunks[1]);
        assert!(
            read < known + second + smallest,
            "{layout:?}: read {read} bytes where the current file, the index and the report \
             hold {known} and the chunk of the run {second}: another chunk was read"
        );
    }
}

#[test]
fn an_original_chunk_replaced_under_its_name_is_read_again_not_trusted_from_the_index() {
    // As for entries with dates (above), but the index finds entries of the original script
    // by their runs' keys, which are stale too once git replaces the chunk.
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (dir.path().join("x"), dir.path().join("y"));
    for (suite, runs) in [(&x, 0..20), (&y, 100..120)] {
        fs::create_dir_all(suite).unwrap();
        history_of(
            dir.path(),
            &suite.join("aggregate.json"),
            runs,
            Layout::Original,
        );
        assert!(aggregate(suite, &["--migrate", "--max-entries", "50"])
            .status
            .success());
    }
    // y's first chunk holds runs 100 to 109.
    let chunk = files(&y)[0].file_name().unwrap().to_owned();
    fs::copy(
        y.join("archive").join(&chunk),
        x.join("archive").join(&chunk),
    )
    .unwrap();
    let output = aggregate(&x, &["../report-105.json"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("appended 0 entries, skipped 5"), "{text}");
}

#[test]
fn an_archive_index_of_an_older_build_is_not_trusted_to_know_original_entries() {
    // Builds before the index held runs' keys wrote, for a chunk of the original script's
    // entries, only that it has undated entries. Such an index must not hide them.
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite");
    fs::create_dir(&suite).unwrap();
    history_of(
        dir.path(),
        &suite.join("aggregate.json"),
        0..20,
        Layout::Original,
    );
    assert!(aggregate(&suite, &["--migrate", "--max-entries", "50"])
        .status
        .success());
    let mut index = serde_json::Map::new();
    let mut chunks = files(&suite);
    chunks.pop();
    for chunk in chunks {
        let meta = fs::metadata(&chunk).unwrap();
        let mtime = meta
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        index.insert(
            chunk.file_name().unwrap().to_string_lossy().into_owned(),
            serde_json::json!({"first": null, "last": null, "undated": true, "stamp": [meta.len(), mtime]}),
        );
    }
    fs::write(
        suite.join("archive/.index.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();
    let output = aggregate(&suite, &["../report-5.json"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("appended 0 entries, skipped 5"), "{text}");
}
