//! `build-list`: write the list.json index GPE reads (replaces buildlist.py).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = build_list::cli::Cli::parse();
    match build_list::cli::run(&cli, &mut std::io::stdout().lock(), &mut std::io::stderr()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("build-list: error: {error}");
            ExitCode::from(2)
        }
    }
}
