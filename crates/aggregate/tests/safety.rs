//! Concurrency and crash safety of appends, with real processes: parallel appenders all land,
//! and a SIGKILL at any moment leaves the old or the new history, never a broken one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_testkit::succeed;
use serde_json::Value;

fn fixture_report() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reports/5.3.1/git-clean.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// A report of a distinct run `run`: its own commit id and slightly different timings.
fn report_of_run(template: &Value, run: usize) -> Value {
    let mut report = template.clone();
    report["commit_info"]["id"] = Value::String(format!("{run:040x}"));
    for benchmark in report["benchmarks"].as_array_mut().unwrap() {
        let stats = benchmark["stats"].as_object_mut().unwrap();
        for key in ["min", "max", "mean", "median"] {
            let value = stats[key].as_f64().unwrap() * (1.0 + run as f64 * 1e-6);
            stats.insert(key.into(), value.into());
        }
    }
    report
}

fn write_report(dir: &Path, run: usize, template: &Value) -> PathBuf {
    let path = dir.join(format!("report-{run}.json"));
    fs::write(
        &path,
        serde_json::to_vec(&report_of_run(template, run)).unwrap(),
    )
    .unwrap();
    path
}

fn aggregate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aggregate"));
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    command
}

fn commit_ids(history: &Path) -> Vec<String> {
    let entries: Vec<Value> = serde_json::from_slice(&fs::read(history).unwrap()).unwrap();
    entries
        .iter()
        .map(|e| e["commit_info"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn eight_processes_appending_twenty_reports_each_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let template = fixture_report();
    let per_run = template["benchmarks"].as_array().unwrap().len();
    let history = dir.path().join("aggregate.json");
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let reports: Vec<PathBuf> = (0..20)
                .map(|i| write_report(dir.path(), worker * 20 + i, &template))
                .collect();
            let history = history.clone();
            std::thread::spawn(move || {
                for report in reports {
                    succeed(aggregate().arg(&report).arg("--history").arg(&history));
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let ids = commit_ids(&history);
    assert_eq!(ids.len(), 160 * per_run);
    for run in 0..160 {
        let id = format!("{run:040x}");
        assert_eq!(
            ids.iter().filter(|i| **i == id).count(),
            per_run,
            "run {run}"
        );
    }
}

/// xorshift: a reproducible spread of kill moments without a dependency.
struct Moments(u64);

impl Moments {
    fn next_fraction(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f64 / 10_000.0
    }
}

/// A history of `count` entries, about 1.5 KB each, written directly.
fn large_history(path: &Path, template: &Value, count: usize) {
    let mut entry = template["benchmarks"][0].clone();
    entry["stats"].as_object_mut().unwrap().remove("data");
    entry["commit_info"] = template["commit_info"].clone();
    let entries: Vec<Value> = (0..count)
        .map(|i| {
            let mut e = entry.clone();
            e["stats"]["min"] = (i as f64 * 1e-9).into();
            e
        })
        .collect();
    fs::write(path, serde_json::to_vec_pretty(&entries).unwrap()).unwrap();
}

#[test]
fn sigkill_at_random_moments_leaves_the_old_or_the_new_history() {
    let dir = tempfile::tempdir().unwrap();
    let template = fixture_report();
    let history = dir.path().join("aggregate.json");
    large_history(&history, &template, 8_000);
    let size = fs::metadata(&history).unwrap().len();
    assert!(
        size > 8 << 20,
        "history of {size} bytes is too small to be caught mid-write"
    );

    // Calibrate: how long one append takes here, at best, once the file is in the page cache.
    let mut append_time = Duration::MAX;
    for run in 1000..1003 {
        let report = write_report(dir.path(), run, &template);
        let started = Instant::now();
        assert!(aggregate()
            .arg(&report)
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success());
        append_time = append_time.min(started.elapsed());
    }

    let mut moments = Moments(0x9e37_79b9_7f4a_7c15);
    let (mut killed, mut finished) = (0, 0);
    for run in 1..=40 {
        let old = fs::read(&history).unwrap();
        let old_count = serde_json::from_slice::<Vec<Value>>(&old).unwrap().len();
        let report = write_report(dir.path(), run, &template);
        let mut child = aggregate()
            .arg(&report)
            .current_dir(dir.path())
            .spawn()
            .unwrap();
        std::thread::sleep(append_time.mul_f64(1.3 * moments.next_fraction()));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1
        } else {
            killed += 1
        }

        let now = fs::read(&history).unwrap();
        let entries: Vec<Value> = serde_json::from_slice(&now)
            .unwrap_or_else(|e| panic!("run {run}: the history no longer parses: {e}"));
        if now != old {
            let added = template["benchmarks"].as_array().unwrap().len();
            assert_eq!(
                entries.len(),
                old_count + added,
                "run {run}: neither old nor new"
            );
            let kept = old[..old.iter().rposition(|&b| b == b']').unwrap()].trim_ascii_end();
            assert!(now.starts_with(kept), "run {run}: old entries changed");
        }
    }
    assert!(
        killed >= 10 && finished >= 1,
        "only {killed} of 40 runs were killed mid-way (append takes {append_time:?})"
    );
    eprintln!("{killed} killed, {finished} finished; one append takes {append_time:?}");

    // The next append clears what killed writers left behind.
    assert!(aggregate()
        .arg(write_report(dir.path(), 99, &template))
        .current_dir(dir.path())
        .status()
        .unwrap()
        .success());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_symlinked_history_is_written_through_to_its_target_under_one_lock() {
    let dir = tempfile::tempdir().unwrap();
    let template = fixture_report();
    let per_run = template["benchmarks"].as_array().unwrap().len();
    let store = dir.path().join("store");
    fs::create_dir(&store).unwrap();
    let target = store.join("kmeans.json");
    let link = dir.path().join("aggregate.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // Writers through the link and writers of the target itself, all at once.
    let children: Vec<_> = (0..8)
        .map(|run| {
            let report = write_report(dir.path(), run, &template);
            let history = if run % 2 == 0 { &link } else { &target };
            aggregate()
                .arg(&report)
                .arg("--history")
                .arg(history)
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    let mut ids = commit_ids(&target);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "every run in the target");
    assert_eq!(commit_ids(&target).len(), 8 * per_run);
}
