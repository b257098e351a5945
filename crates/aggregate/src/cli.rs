//! The `aggregate` command line: arguments, messages and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::check::{self, GateArgs};
use crate::{append_entries, load_reports, AppendOptions};

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

    #[command(flatten)]
    pub gate: GateArgs,
}

/// The bound on history files, shared by `aggregate` and `run-benchmarks`.
#[derive(Debug, Clone, clap::Args)]
pub struct BoundArgs {
    /// Keep each history file within N entries: when a run would exceed it, the file moves whole
    /// into archive/ beside it and the run starts a new one.
    #[arg(long, value_name = "N")]
    pub max_entries: Option<usize>,

    /// Keep each history file within SIZE (e.g. 20MB): as --max-entries, in bytes.
    #[arg(long, value_name = "SIZE", value_parser = bench_model::archive::parse_size)]
    pub max_bytes: Option<u64>,
}

impl BoundArgs {
    /// The bound these arguments ask for (none: unbounded).
    pub fn bound(&self) -> bench_model::archive::Bound {
        bench_model::archive::Bound {
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
        }
    }
}

/// Runs `aggregate` with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    run(&cli, &mut std::io::stdout(), &mut std::io::stderr())
}

/// Runs `aggregate` with parsed arguments, writing messages to `stderr` (and GitHub
/// annotations to `stdout`).
pub fn run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    match try_run(cli, stdout, stderr) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(stderr, "aggregate: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn try_run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<ExitCode, String> {
    let options = AppendOptions {
        keep_data: cli.keep_data,
        bound: cli.bound.bound(),
    };
    if cli.migrate {
        if !options.bound.is_set() {
            return Err(
                "--migrate needs --max-entries or --max-bytes: the bound to split the history into"
                    .into(),
            );
        }
        let done = bench_model::history::migrate(&cli.history, &options.bound)
            .map_err(|e| e.to_string())?;
        let _ = writeln!(
            stderr,
            "aggregate: {}: {} entries; {} moved into {} archive chunk(s), {} left in the file",
            cli.history.display(),
            done.total,
            done.total - done.current,
            done.chunks.len(),
            done.current
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (entries, warnings) = load_reports(&cli.reports, &options).map_err(|e| e.to_string())?;
    let mut regressions = 0;
    if cli.gate.check {
        let gate = cli.gate.options().map_err(|e| e.to_string())?;
        let report = check::check(&cli.history, &entries, &gate).map_err(|e| e.to_string())?;
        cli.gate
            .emit(&report, "Benchmark gate", stdout, stderr)
            .map_err(|e| e.to_string())?;
        regressions = report.regressions();
    }
    if cli.gate.no_append {
        for warning in &warnings {
            let _ = writeln!(stderr, "aggregate: warning: {warning}");
        }
    } else {
        let summary = append_entries(&entries, warnings, &cli.history, &options)
            .map_err(|e| e.to_string())?;
        for warning in &summary.warnings {
            let _ = writeln!(stderr, "aggregate: warning: {warning}");
        }
        if !cli.quiet {
            let _ = writeln!(stderr, "aggregate: {}", summary.line());
        }
    }
    if regressions > 0 && cli.gate.fail_on_regression {
        let _ = writeln!(stderr, "aggregate: {regressions} regression(s) confirmed");
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
