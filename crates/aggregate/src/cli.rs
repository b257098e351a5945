//! The `aggregate` command line: arguments, messages and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::{append_reports, AppendOptions};

const EXAMPLES: &str = "\
Examples:
  In a suite folder, as the original aggregate.py:
    aggregate
  Several reports into one history:
    aggregate run1.json run2.json --history results/data/kmeans/aggregate.json

Exit status: 0 appended (or nothing new), 2 bad input or I/O error (the history is left unchanged).";

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
}

/// Runs `aggregate` with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    run(&cli, &mut std::io::stderr())
}

/// Runs `aggregate` with parsed arguments, writing messages to `stderr`.
pub fn run(cli: &Cli, stderr: &mut dyn Write) -> ExitCode {
    let options = AppendOptions {
        keep_data: cli.keep_data,
    };
    match append_reports(&cli.reports, &cli.history, &options) {
        Ok(summary) => {
            for warning in &summary.warnings {
                let _ = writeln!(stderr, "aggregate: warning: {warning}");
            }
            if !cli.quiet {
                let _ = writeln!(stderr, "aggregate: {}", summary.line());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(stderr, "aggregate: error: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_valid() {
        super::Cli::command().debug_assert();
    }
}
