//! Appending pytest-benchmark reports to a suite's history: the work behind the `aggregate`
//! binary, and what `run-benchmarks` calls for every suite.

pub mod cli;
pub mod import;
pub mod options;

use std::path::{Path, PathBuf};

use bench_model::{history, AppendOutcome, Error, HistoryEntry, NonFinite, Report};

pub use options::{AppendOptions, BoundArgs};

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
        write!(f, "{}: {}", bench_model::shown(&self.file), self.message)
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
            bench_model::shown(&self.history),
            o.appended,
            plural(o.appended, "entry", "entries"),
            o.duplicates,
            o.total
        ));
        if let Some(chunk) = &o.rotated {
            line.push_str(&format!(
                " (the previous entries moved to {} to keep the file within its bound)",
                bench_model::shown(chunk)
            ));
        } else if o.created {
            line.push_str(" (new history)");
        } else if o.appended == 0 && o.duplicates > 0 {
            line.push_str(" (these reports were appended before; nothing changed)");
        }
        line
    }
}

impl Summary {
    /// What a pipeline shows of an append beside its counts: the warnings, and the line when the
    /// history rotated into its archive or an interrupted migration was rolled back.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .warnings
            .iter()
            .map(|w| format!("warning: {w}"))
            .collect();
        if self.outcome.recovered || self.outcome.rotated.is_some() {
            notes.push(self.line());
        }
        notes
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
        message: match f.big_integer {
            true => format!(
                "{}: {} does not fit a 64-bit number (JSON readers round it); kept exactly, as a string",
                f.json_path, f.token
            ),
            false => format!(
                "{}: {} is not valid JSON (browsers reject it); written as null",
                f.json_path, f.token
            ),
        },
    })
}

/// A run's history entries, read from its reports once, with what reading them found: the value
/// that is judged, recorded and published.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every benchmark of every report, in order.
    pub entries: Vec<HistoryEntry>,
    /// Non-finite numbers replaced, and the like.
    pub warnings: Vec<Warning>,
}

/// Reads every report into history entries, in order, with the warnings reading gave.
///
/// Every report is read and checked before any history is touched: one bad report leaves the
/// history exactly as it was.
pub fn load_reports(reports: &[PathBuf], options: &AppendOptions) -> Result<Loaded, Error> {
    let mut loaded = Loaded::default();
    for path in reports {
        let read = Report::read(path)?;
        loaded
            .warnings
            .extend(non_finite_warnings(path, read.non_finite));
        loaded
            .entries
            .extend(HistoryEntry::from_report(&read.report, options.keep_data));
    }
    Ok(loaded)
}

/// Appends a run's entries to `history` in one locked replacement; the summary carries the run's
/// warnings and those appending gave.
pub fn append_entries(
    loaded: &Loaded,
    history: &Path,
    options: &AppendOptions,
) -> Result<Summary, Error> {
    let entries = &loaded.entries;
    let mut outcome = history::append_bounded(history, entries, &options.bound)?;
    let mut warnings = loaded.warnings.clone();
    warnings.extend(non_finite_warnings(
        history,
        std::mem::take(&mut outcome.non_finite),
    ));
    if outcome.oversized {
        warnings.push(Warning {
            file: history.to_path_buf(),
            message: format!(
                "this run alone ({} entries) is larger than the bound, so it is kept whole in a file above the bound; raise --max-entries or --max-bytes",
                outcome.appended
            ),
        });
    }
    Ok(Summary {
        history: history.to_path_buf(),
        benchmarks: entries.len(),
        outcome,
        warnings,
    })
}

/// Appends an import's runs to `history` one after another, as if each had been appended when it
/// ran: a bounded history rotates as usual, and a run already recorded is skipped.
pub fn append_imported(
    imported: &import::Imported,
    history: &Path,
    options: &AppendOptions,
) -> Result<Summary, Error> {
    let mut summary = Summary {
        history: history.to_path_buf(),
        ..Summary::default()
    };
    // Unbounded, the whole import is one replacement of the file: far faster, the same result.
    let batches: Vec<Vec<HistoryEntry>> = if options.bound.is_set() {
        imported.runs.clone()
    } else {
        vec![imported.runs.concat()]
    };
    for batch in &batches {
        let loaded = Loaded {
            entries: batch.clone(),
            warnings: Vec::new(),
        };
        let done = append_entries(&loaded, history, options)?;
        summary.benchmarks += done.benchmarks;
        summary.outcome.appended += done.outcome.appended;
        summary.outcome.duplicates += done.outcome.duplicates;
        summary.outcome.total = done.outcome.total;
        summary.outcome.created |= done.outcome.created;
        summary.outcome.rotated = done.outcome.rotated.or(summary.outcome.rotated.take());
        summary.warnings.extend(done.warnings);
    }
    Ok(summary)
}
