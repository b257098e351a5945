//! The `aggregate` command line: arguments, messages and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use bench_gate::GateArgs;
use clap::Parser;

use crate::{append_entries, load_reports, AppendOptions, BoundArgs};

const EXAMPLES: &str = "\
Examples:
  In a suite folder, as the original aggregate.py:
    aggregate
  Several reports into one history:
    aggregate run1.json run2.json --history results/data/kmeans/aggregate.json

  Judge a pull request's run against main's history without recording it:
    aggregate output.json --history aggregate.json --check --no-append --baseline-branch main \\
      --fail-on-regression --markdown gate.md

Exit status: 0 appended (or nothing new), 1 a regression confirmed with --fail-on-regression,
2 bad input or I/O error (the history is left unchanged).";

/// Append pytest-benchmark reports to a suite's history.
///
/// Every benchmark of every report becomes one history entry: the benchmark without stats.data,
/// with the report's commit_info, datetime and a compact machine identity. Entries already in the
/// history are skipped, so appending a report twice changes nothing. The history is replaced
/// whole under a lock, so concurrent or interrupted runs never corrupt it.
#[derive(Debug, Parser)]
#[command(name = "aggregate", version, after_help = EXAMPLES)]
pub struct Cli {
    /// pytest-benchmark `--benchmark-json` reports to append, in order.
    #[arg(value_name = "REPORT", default_value = "output.json")]
    pub reports: Vec<PathBuf>,

    /// The history file to append to; created when missing.
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
    let mut loaded = load_reports(&cli.reports, &options)?;
    let mut failing = None;
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_valid() {
        super::Cli::command().debug_assert();
    }
}
