//! Appending pytest-benchmark reports to a suite's history: the work behind the `aggregate`
//! binary, and what `run-benchmarks` calls for every suite.

pub mod check;
pub mod cli;
pub mod gate;

use std::path::{Path, PathBuf};

use bench_model::{history, AppendOutcome, Error, HistoryEntry, NonFinite, Report};

/// How to turn reports into history entries.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// Keep `stats.data` (every round's time) in the entries.
    pub keep_data: bool,
    /// Keep the current history file within this bound (moving old runs to the archive).
    pub bound: bench_model::archive::Bound,
}

/// Something worth telling the user that does not stop the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file it is about.
    pub file: PathBuf,
    /// What happened.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

/// What one call appended.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The history's path.
    pub history: PathBuf,
    /// Benchmarks found in the reports.
    pub benchmarks: usize,
    /// What the history append did.
    pub outcome: AppendOutcome,
    /// Non-finite numbers replaced, and the like.
    pub warnings: Vec<Warning>,
}

impl Summary {
    /// The one line `aggregate` prints.
    pub fn line(&self) -> String {
        let o = &self.outcome;
        let mut line = String::new();
        if o.recovered {
            line.push_str("rolled back an interrupted migration; ");
        }
        line.push_str(&format!(
            "{}: appended {} {}, skipped {} as already recorded; {} entries in the file",
            self.history.display(),
            o.appended,
            plural(o.appended, "entry", "entries"),
            o.duplicates,
            o.total
        ));
        if let Some(chunk) = &o.rotated {
            line.push_str(&format!(
                " (the previous entries moved to {} to keep the file within its bound)",
                chunk.display()
            ));
        } else if o.created {
            line.push_str(" (new history)");
        } else if o.appended == 0 && o.duplicates > 0 {
            line.push_str(" (these reports were appended before; nothing changed)");
        }
        line
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn non_finite_warnings(file: &Path, found: Vec<NonFinite>) -> impl Iterator<Item = Warning> + '_ {
    found.into_iter().map(move |f| Warning {
        file: file.to_path_buf(),
        message: format!(
            "{}: {} is not valid JSON (browsers reject it); written as null",
            f.json_path, f.token
        ),
    })
}

/// Reads every report, then appends all their benchmarks to `history` in one locked replacement.
///
/// Every report is read and checked before the history is touched: one bad report leaves the
/// history exactly as it was.
pub fn append_reports(
    reports: &[PathBuf],
    history: &Path,
    options: &AppendOptions,
) -> Result<Summary, Error> {
    let (entries, warnings) = load_reports(reports, options)?;
    append_entries(&entries, warnings, history, options)
}

/// Reads every report into history entries, in order, with the warnings reading gave.
pub fn load_reports(
    reports: &[PathBuf],
    options: &AppendOptions,
) -> Result<(Vec<HistoryEntry>, Vec<Warning>), Error> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for path in reports {
        let read = Report::read(path)?;
        warnings.extend(non_finite_warnings(path, read.non_finite));
        entries.extend(HistoryEntry::from_report(&read.report, options.keep_data));
    }
    Ok((entries, warnings))
}

/// Appends entries already read (see [`load_reports`]) in one locked replacement.
pub fn append_entries(
    entries: &[HistoryEntry],
    mut warnings: Vec<Warning>,
    history: &Path,
    options: &AppendOptions,
) -> Result<Summary, Error> {
    let mut outcome = history::append_bounded(history, entries, &options.bound)?;
    warnings.extend(non_finite_warnings(
        history,
        std::mem::take(&mut outcome.non_finite),
    ));
    Ok(Summary {
        history: history.to_path_buf(),
        benchmarks: entries.len(),
        outcome,
        warnings,
    })
}
