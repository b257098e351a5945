//! `aggregate`: append pytest-benchmark reports to a suite history (replaces aggregate.py).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = aggregate::cli::Cli::parse();
    match aggregate::cli::run(&cli, &mut std::io::stdout(), &mut std::io::stderr()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("aggregate: error: {error}");
            ExitCode::from(2)
        }
    }
}
