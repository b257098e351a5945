//! The `aggregate` command line: arguments, messages and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use bench_gate::GateArgs;
use clap::Parser;

use crate::import::{self, ImportOptions, NamePattern};
use crate::{append_entries, append_imported, load_reports, AppendOptions, BoundArgs};

const EXAMPLES: &str = "\
Examples:
  In a suite folder, as the original aggregate.py:
    aggregate
  Several reports into one history:
    aggregate run1.json run2.json --history results/data/kmeans/aggregate.json

  Judge a pull request's run against main's history without recording it:
    aggregate output.json --history aggregate.json --check --no-append --baseline-branch main \\
      --fail-on-regression --markdown gate.md

Exit status: 0 appended (or nothing new), 1 a regression confirmed with --fail-on-regression
or, with --fail-on-open, a regression still open, 2 bad input or I/O error (the history is left
unchanged).";

/// Append pytest-benchmark reports to a suite's history.
///
/// Every benchmark of every report becomes one history entry: the benchmark without stats.data,
/// with the report's commit_info, datetime and a compact machine identity. Entries already in the
/// history are skipped, so appending a report twice changes nothing. The history is replaced
/// whole under a lock, so concurrent or interrupted runs never corrupt it.
#[derive(Debug, Parser)]
#[command(name = "aggregate", version, after_help = EXAMPLES)]
#[command(group(clap::ArgGroup::new("gate_mode").args(["check", "backtest"]).multiple(true)))]
pub struct Cli {
    /// pytest-benchmark `--benchmark-json` reports to append, in order.
    #[arg(value_name = "REPORT", default_value = "output.json")]
    pub reports: Vec<PathBuf>,

    /// The history file to append to; created when missing, with its folders. `-o` is the file
    /// the tool writes, as in build-list.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        default_value = "aggregate.json"
    )]
    pub history: PathBuf,

    /// Keep every round's time (stats.data) in the entries; histories grow many times larger.
    #[arg(long)]
    pub keep_data: bool,

    /// Print nothing but warnings and errors.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub bound: BoundArgs,

    /// Split the existing history into archive chunks within --max-entries/--max-bytes, whole
    /// runs at a time, keeping the newest runs in the file; reads no report.
    #[arg(long, conflicts_with = "check")]
    pub migrate: bool,

    /// Append another tool's history to --history instead of reports, run by run, as if each
    /// run had been appended when it ran: a github-action-benchmark data.js (tool pytest, or a
    /// custom tool with --name-pattern), a pytest-benchmark saved run, or a folder of them
    /// (.benchmarks). Importing again appends nothing.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["migrate", "check", "backtest"])]
    pub import: Option<PathBuf>,

    /// With --import, the data.js series to import (its "entries" key), when it holds several.
    #[arg(long, value_name = "NAME", requires = "import")]
    pub series: Option<String>,

    /// With --import of a custom tool's data.js: how bench names split into the benchmark,
    /// dimensions of its series, and the metric ({procs} is a process count).
    #[arg(long, value_name = "TEMPLATE", requires = "import", default_value = import::NamePattern::HEAT)]
    pub name_pattern: String,

    /// With --import of a custom tool's data.js: the metric that is the benchmark's time.
    #[arg(
        long,
        value_name = "NAME",
        requires = "import",
        default_value = "RUNTIME"
    )]
    pub time_metric: String,

    /// With --import: the branch the imported runs measured (a data.js does not say).
    #[arg(
        long,
        value_name = "BRANCH",
        requires = "import",
        default_value = "main"
    )]
    pub branch: String,

    /// With --import: import the runs of pull requests too (commit URLs with /pull/).
    #[arg(long, requires = "import")]
    pub pull_requests: bool,

    /// Replay the gate over --history (and its archive) run by run, as nightly checks would
    /// have judged it, and say what it would have found: runs failing, every verdict with its
    /// range, one-run excursions, what is open at the end. Writes nothing but --markdown and
    /// --report-json. Takes the gate options (--threshold, --stat, ...).
    #[arg(long, conflicts_with_all = ["migrate", "check"])]
    pub backtest: bool,

    /// With --check, a report of a confirmation rerun of this run (repeatable): judged with the
    /// run, never appended, as `run-benchmarks --confirm N` reruns suspects.
    #[arg(long, value_name = "REPORT", requires = "check")]
    pub rerun: Vec<PathBuf>,

    #[command(flatten)]
    pub gate: GateArgs,
}

/// Why `aggregate` could not do its work (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A report or the history could not be read or written.
    #[error(transparent)]
    Model(#[from] bench_model::Error),
    /// The gate could not judge or report.
    #[error(transparent)]
    Gate(#[from] bench_gate::GateError),
    /// Another tool's history could not be read.
    #[error(transparent)]
    Import(#[from] import::ImportError),
    /// `--check --no-append` against a history that is not there: the check would pass having
    /// judged nothing, so a typo in the path would pass a pull request.
    #[error(
        "{}: no such history; --check --no-append and --backtest judge an existing history: check the path (and that the data repository is checked out)",
        bench_model::shown(.0)
    )]
    NoHistory(PathBuf),
    /// `--migrate` without a bound.
    #[error("--migrate needs --max-entries or --max-bytes: the bound to split the history into")]
    MigrateWithoutBound,
}

/// Runs `aggregate` with parsed arguments, writing messages to `stderr` (and GitHub
/// annotations to `stdout`): exit 0 done, 1 a regression confirmed with --fail-on-regression.
pub fn run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<ExitCode, Error> {
    let options = AppendOptions {
        keep_data: cli.keep_data,
        bound: cli.bound.bound(),
    };
    if cli.migrate {
        if !options.bound.is_set() {
            return Err(Error::MigrateWithoutBound);
        }
        let done = bench_model::history::migrate(&cli.history, &options.bound)?;
        let _ = writeln!(
            stderr,
            "aggregate: {}: {} entries; {} moved into {} archive chunk(s), {} left in the file",
            bench_model::shown(&cli.history),
            done.total,
            done.total - done.current,
            done.chunks.len(),
            done.current
        );
        for file in &done.oversized {
            let _ = writeln!(
                stderr,
                "aggregate: warning: {}: one run larger than the bound, kept whole; raise --max-entries or --max-bytes",
                bench_model::shown(file)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(source) = &cli.import {
        let import = ImportOptions {
            series: cli.series.clone(),
            pattern: NamePattern::parse(&cli.name_pattern)?,
            time_metric: cli.time_metric.clone(),
            branch: cli.branch.clone(),
            pull_requests: cli.pull_requests,
        };
        let imported = import::read(source, &import)?;
        for warning in &imported.warnings {
            let _ = writeln!(
                stderr,
                "aggregate: warning: {}: {warning}",
                bench_model::shown(source)
            );
        }
        history_folder(&cli.history)?;
        let summary = append_imported(&imported, &cli.history, &options)?;
        for warning in &summary.warnings {
            let _ = writeln!(stderr, "aggregate: warning: {warning}");
        }
        let _ = writeln!(
            stderr,
            "aggregate: imported {} run(s) of {} from {}; {}",
            imported.runs.len(),
            imported.what,
            bench_model::shown(source),
            summary.line()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if cli.backtest {
        if !cli.history.exists() {
            return Err(Error::NoHistory(cli.history.clone()));
        }
        let gate = cli.gate.options()?;
        let found = bench_gate::backtest(&cli.history, &gate)?;
        cli.gate.emit_backtest(&found, "Backtest", stderr)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut loaded = load_reports(&cli.reports, &options)?;
    let mut failing = None;
    if cli.gate.no_append {
        judged_history(&cli.history, stderr)?;
    } else {
        history_folder(&cli.history)?;
    }
    if cli.gate.check {
        let gate = cli.gate.options()?;
        let reruns = load_reports(&cli.rerun, &options)?;
        let measured = [loaded.entries.as_slice(), &reruns.entries].concat();
        let report = bench_gate::check(&cli.history, &measured, &gate)?;
        cli.gate.emit(&report, "Benchmark gate", stdout, stderr)?;
        report.record_in(&mut loaded.entries);
        failing = cli
            .gate
            .fails(&report)
            .then(|| (report.regressions(), report.open.len()));
    }
    if cli.gate.no_append {
        for warning in &loaded.warnings {
            let _ = writeln!(stderr, "aggregate: warning: {warning}");
        }
    } else {
        let summary = append_entries(&loaded, &cli.history, &options)?;
        for warning in &summary.warnings {
            let _ = writeln!(stderr, "aggregate: warning: {warning}");
        }
        if !cli.quiet {
            let _ = writeln!(stderr, "aggregate: {}", summary.line());
        }
    }
    if let Some((new, open)) = failing {
        let _ = writeln!(
            stderr,
            "aggregate: {new} new regression(s), {open} open from earlier runs"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates the folders of a new history: a new suite's history goes into a new folder, as
/// run-benchmarks makes them.
fn history_folder(history: &std::path::Path) -> Result<(), Error> {
    if let Some(folder) = history
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.exists())
    {
        std::fs::create_dir_all(folder).map_err(|source| bench_model::Error::Write {
            path: folder.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Refuses a `--no-append` check against a history that does not exist, and says so when the
/// history holds no run to judge against.
fn judged_history(history: &std::path::Path, stderr: &mut dyn Write) -> Result<(), Error> {
    if !history.exists() {
        return Err(Error::NoHistory(history.to_path_buf()));
    }
    let archived = history.with_file_name("archive").is_dir();
    let empty = !archived
        && (std::fs::metadata(history).is_ok_and(|m| m.len() == 0)
            || bench_model::history::read(history).is_ok_and(|(e, _)| e.is_empty()));
    if empty {
        let _ = writeln!(
            stderr,
            "aggregate: warning: {}: the history holds no entries, so every benchmark is judged against nothing (insufficient history)",
            bench_model::shown(history)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_valid() {
        super::Cli::command().debug_assert();
    }
}
