//! Files that are not regular files, given as a report or a history: a FIFO (which blocks a
//! reader until a writer comes), `/dev/zero` and `/dev/urandom` (endless), a folder. Each must be
//! refused at once, named for what it is, with every existing file untouched.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fixture_report() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/reports/5.3.1/git-clean.json"
    ))
}

/// Runs `aggregate ARGS`, killing it if it has not ended after 10 s (a hang is a failure, not
/// a stuck test run).
fn aggregate(args: &[&Path]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aggregate"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("aggregate {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn fifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
}

#[test]
fn a_fifo_or_a_device_as_report_is_refused_at_once_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("aggregate.json");
    let pipe = dir.path().join("output.json");
    fifo(&pipe);
    let folder = dir.path().join("a-folder.json");
    fs::create_dir(&folder).unwrap();
    for (report, what) in [
        (pipe.as_path(), "a fifo"),
        (Path::new("/dev/zero"), "a character device"),
        (Path::new("/dev/urandom"), "a character device"),
        (folder.as_path(), "a folder"),
    ] {
        let output = aggregate(&[report, Path::new("--history"), &history]);
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{report:?}: {text}");
        assert!(
            text.contains(&report.display().to_string())
                && text.to_lowercase().contains(what)
                && text.contains("not a regular file"),
            "{report:?}: {text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!history.exists(), "no history created");
    }
}

#[test]
fn a_fifo_or_a_device_as_history_is_refused_at_once_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("aggregate.json");
    fifo(&pipe);
    for (history, what) in [
        (pipe.as_path(), "a fifo"),
        (Path::new("/dev/zero"), "a character device"),
        (Path::new("/dev/urandom"), "a character device"),
        (dir.path(), "a folder"),
    ] {
        let output = aggregate(&[fixture_report(), Path::new("--history"), history]);
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{history:?}: {text}");
        assert!(
            text.contains(&history.display().to_string()) && text.to_lowercase().contains(what),
            "{history:?}: {text}"
        );
    }
    let kind = fs::symlink_metadata(&pipe).unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "the FIFO is left as it was"
    );
}
