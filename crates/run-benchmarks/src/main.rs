//! `run-benchmarks`: run every suite, keep histories, build GPE lists, publish (replaces run_benchmarks.sh).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = run_benchmarks::cli::Cli::parse();
    match run_benchmarks::cli::run(&cli, &mut std::io::stdout(), &mut std::io::stderr()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!(
                "run-benchmarks: error: {}",
                run_benchmarks::inert(&error.to_string())
            );
            ExitCode::from(2)
        }
    }
}
