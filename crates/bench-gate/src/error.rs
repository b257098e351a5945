//! Why the gate could not judge or report.

use std::path::PathBuf;

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The history (or an archive chunk) could not be read.
    #[error(transparent)]
    History(#[from] bench_model::Error),
    /// The thresholds file is not a JSON object of glob patterns to percentages.
    #[error("{}: {message}; write a JSON object mapping fullname glob patterns to percentages, e.g. {{\"*::test_io*\": 25}}", .path.display())]
    Thresholds {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `--accept` with a pattern that is no glob.
    #[error(
        "--accept {pattern:?}: {message}; give a glob of benchmark fullnames, e.g. 'test_io.py::*'"
    )]
    Accept {
        /// The pattern given.
        pattern: String,
        /// What is wrong.
        message: String,
    },
    /// `--commit-url` without `{id}`.
    #[error(
        "--commit-url {0:?} has no {{id}}; write e.g. https://github.com/ORG/REPO/commit/{{id}}"
    )]
    CommitUrl(String),
    /// A report file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}
