//! The `build-list` command line: arguments, output and exit codes.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::{build, ListOptions, NameTemplate};

const EXAMPLES: &str = "\
Examples:
  As the original buildlist.py, in results/data:
    build-list . > list.json
  Write the file atomically:
    build-list results/data -o results/data/list.json
  A GPE plots folder:
    build-list results/plots --pattern '*.jsonata' --name '{stem}' -o results/plots/list.json
  Ginkgo-style names from deeper paths:
    build-list data --pattern '*/*/*.json' --name '{0} {1} ({stem})'

Exit status: 0 list written (an empty list is valid), 2 error.";

/// Write the list.json index that the Ginkgo Performance Explorer reads.
///
/// Lists every file below ROOT that matches the pattern as {"name", "file"}, sorted by path,
/// with forward-slash paths relative to ROOT (GPE appends them to the folder's URL). Hidden files
/// and folders and list.json itself are never listed.
#[derive(Debug, Parser)]
#[command(name = "build-list", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The folder to list, which GPE is pointed at.
    #[arg(value_name = "ROOT", default_value = ".")]
    pub root: PathBuf,

    /// Which files to list: a glob relative to ROOT.
    #[arg(short, long, value_name = "GLOB", default_value = "*/*.json")]
    pub pattern: String,

    /// Each file's name: {0}, {1}, ... path components (negative from the end), {} the next one,
    /// {stem} the file name without extension, {file} the file name, {path} the relative path.
    #[arg(short, long, value_name = "TEMPLATE", default_value = "{0}")]
    pub name: String,

    /// Leave out the archive chunks of bounded histories (SUITE/archive/*.json), which are
    /// otherwise listed as `SUITE (YEARS)`.
    #[arg(long)]
    pub no_archives: bool,

    /// Write the list to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Why `build-list` could not write the list (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The files could not be listed, or the list not written.
    #[error(transparent)]
    List(#[from] crate::Error),
    /// Standard output failed.
    #[error("cannot write to standard output: {0}")]
    Output(io::Error),
}

/// Runs `build-list` with parsed arguments: the list on `stdout` (or in `--output`), warnings on
/// `stderr`.
pub fn run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<ExitCode, Error> {
    match list(cli, stdout, stderr) {
        // A reader that stopped reading (`build-list | head`) is not an error.
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => other.map(|()| ExitCode::SUCCESS),
    }
}

fn list(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<(), Error> {
    let options = ListOptions {
        pattern: cli.pattern.clone(),
        name: NameTemplate::parse(&cli.name)?,
        archives: !cli.no_archives,
    };
    let listing = build(&cli.root, &options)?;
    for warning in &listing.warnings {
        let _ = writeln!(stderr, "build-list: warning: {warning}");
    }
    if listing.entries.is_empty() {
        let _ = writeln!(
            stderr,
            "build-list: warning: no file below {} matches {:?}; the list is empty",
            cli.root.display(),
            cli.pattern
        );
    }
    let text = bench_model::list::to_vec(&listing.entries);
    match &cli.output {
        Some(path) => bench_model::fsio::write_atomic(path, |w| w.write_all(&text))
            .map_err(crate::Error::from)?,
        None => stdout
            .write_all(&text)
            .and_then(|()| stdout.flush())
            .map_err(Error::Output)?,
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
