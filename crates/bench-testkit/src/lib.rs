//! What the workspace's integration tests share (a dev-dependency only): finding the tools
//! `scripts/test` installs, failing rather than skipping under CI when one is missing, running
//! commands that must succeed, and reading histories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `fixtures/` at the repository's root.
pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// Returns `found`, or None (a skip) outside CI; under CI a missing tool fails the test.
pub fn require<T>(found: Option<T>, what: &str) -> Option<T> {
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is missing: scripts/test installs it"
        );
        eprintln!("skipped: {what} is missing; run scripts/test to install it");
    }
    found
}

/// The venv's pytest (`$BENCH_VENV`, or the repository's `.venv`).
pub fn pytest() -> Option<String> {
    let venv = std::env::var_os("BENCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let pytest = venv.join("bin/pytest");
    let found = pytest
        .is_file()
        .then(|| pytest.to_string_lossy().into_owned());
    require(found, &pytest.display().to_string())
}

/// A command's standard error, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `command`, failing the test with its standard error unless it succeeds.
pub fn succeed(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(output.status.success(), "{command:?}: {}", stderr(&output));
    output
}

/// A history file's entries.
pub fn history(path: &Path) -> Vec<Value> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
