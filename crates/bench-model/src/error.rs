//! The errors of reading and writing our formats: each names the file, and the position when it has one.

use std::io;
use std::path::{Path, PathBuf};

/// What went wrong with one of our files, always naming the file.
///
/// Messages are one line, lower case, and end with what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read (missing, a folder, no permission, ...).
    #[error("cannot read {}: {}", shown(.path), io_reason(.source))]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The file, its temporary sibling, its lock or its folder could not be written.
    #[error("cannot write {}: {}; {}", shown(.path), io_reason(.source), write_remedy(.source))]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A pytest-benchmark report of 0 bytes: what versions up to 5.2 leave when no benchmark ran.
    #[error(
        "{}: the report is empty (0 bytes): pytest-benchmark writes that when no benchmark ran; \
         check that pytest collected benchmark tests and ran without --benchmark-disable or --benchmark-skip",
        shown(.path)
    )]
    EmptyReport {
        /// The report.
        path: PathBuf,
    },
    /// A well-formed report whose `benchmarks` array is empty.
    #[error(
        "{}: the report holds no benchmarks: no benchmark produced results; \
         check that pytest collected benchmark tests and that they passed",
        shown(.path)
    )]
    NoBenchmarks {
        /// The report.
        path: PathBuf,
    },
    /// Text that is not JSON: truncated, interleaved, or not JSON at all.
    #[error("{}:{line}:{column}: invalid JSON ({message}); {hint}", shown(.path))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description, without its position.
        message: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// Valid JSON that is not the format we expect.
    #[error("{}{}: {json_path}: {message}; {hint}", shown(.path), position(*.line, *.column))]
    Schema {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending value (0 when unknown).
        line: usize,
        /// 1-based column of the offending value (0 when unknown).
        column: usize,
        /// Where in the document, e.g. `benchmarks[3].stats.mean`.
        json_path: String,
        /// What was expected there.
        message: String,
        /// What to do about it.
        hint: &'static str,
    },
}

/// Which kind of failure an [`Error`] is, for callers that react differently to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Reading or writing the file failed.
    Io,
    /// The text is not JSON.
    Syntax,
    /// The JSON is not the expected format, or holds nothing to record.
    Data,
}

impl Error {
    /// Whether this is an I/O, a syntax or a data error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Read { .. } | Error::Write { .. } => ErrorKind::Io,
            Error::Syntax { .. } => ErrorKind::Syntax,
            Error::EmptyReport { .. } | Error::NoBenchmarks { .. } | Error::Schema { .. } => {
                ErrorKind::Data
            }
        }
    }

    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        Error::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn write(path: &Path, source: io::Error) -> Self {
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Turns a serde_json error on `text` into a syntax or schema error with line, column and path.
    ///
    /// A syntax error is told by its cause: a file cut short or two documents in one (what
    /// crashes and racing writers leave) get `hint.syntax`; a number beyond a double, nesting
    /// deeper than serde_json follows and text that is not JSON at all each say so instead.
    pub(crate) fn from_serde(
        path: &Path,
        text: &[u8],
        error: &serde_json::Error,
        hint: Hints,
    ) -> Self {
        let message = strip_position(&error.to_string());
        let offset = crate::json::offset_of(text, error.line(), error.column());
        if error.is_data() {
            return Error::Schema {
                path: path.to_path_buf(),
                line: error.line(),
                column: error.column().max(1),
                json_path: crate::json::path_at(text, offset),
                message,
                hint: hint.schema,
            };
        }
        let first = text.iter().position(|b| !b.is_ascii_whitespace());
        let (message, hint) = match message.as_str() {
            "number out of range" => (
                format!(
                    "{} is beyond the range of a 64-bit float",
                    crate::json::number_at(text, offset)
                ),
                hint.foreign,
            ),
            "recursion limit exceeded" => (
                "arrays or objects nested more than 128 levels deep".to_string(),
                hint.schema,
            ),
            "expected value" if first.is_some_and(|f| offset <= f + 1) => (
                format!(
                    "the file starts with {:?}, which is not JSON",
                    opening(text, first)
                ),
                hint.schema,
            ),
            _ => (message, hint.syntax),
        };
        Error::Syntax {
            path: path.to_path_buf(),
            line: error.line(),
            column: error.column().max(1),
            message,
            hint,
        }
    }
}

/// The first words of a file that is not JSON, for the message that says so.
fn opening(text: &[u8], first: Option<usize>) -> String {
    let rest = String::from_utf8_lossy(&text[first.unwrap_or(0)..text.len().min(2000)]);
    let line = rest.lines().next().unwrap_or_default();
    match line.char_indices().nth(24) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line.to_string(),
    }
}

/// What to tell the user for each kind of bad content, by file format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hints {
    /// A file cut short or two written into one.
    pub syntax: &'static str,
    /// Valid JSON (or not JSON at all) that is not this format.
    pub schema: &'static str,
    /// What none of our writers nor pytest-benchmark writes: a number beyond a double, bytes
    /// that are not UTF-8, an integer too large for its field.
    pub foreign: &'static str,
}

/// serde_json appends " at line L column C"; we print the position in front, as compilers do.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// A path for a one-line message: see [`inert`].
pub fn shown(path: &Path) -> String {
    inert(&path.to_string_lossy())
}

/// Text someone else chose (a folder, file or benchmark name, an exception's message) made safe
/// for a one-line message that a CI system reads: control characters escaped (`\n`, `\r`), so it
/// never starts a line of its own, and GitHub's older workflow-command marker `##[` broken
/// (`#\x23[`), which the runner honours anywhere in a line.
pub fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c.is_control() {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out.replace("##[", "#\\x23[")
}

/// `:LINE:COLUMN`, or nothing when the position is unknown (0).
fn position(line: usize, column: usize) -> String {
    match line {
        0 => String::new(),
        _ => format!(":{line}:{column}"),
    }
}

/// What to do when writing failed; every writer leaves the file as it was (see `fsio`).
fn write_remedy(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            "free space on its disk and run again; the file was left as it was"
        }
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "check that you may write to its folder; the file was left as it was"
        }
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            "check that its folder exists and is a folder"
        }
        _ => "the file was left as it was",
    }
}

/// The system's reason without Rust's " (os error N)" suffix.
fn io_reason(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    // The system's "No such file" starts a sentence; ours may name a FIFO or JSON inside it.
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
