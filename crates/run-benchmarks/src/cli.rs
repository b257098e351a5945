//! The `run-benchmarks` command line: arguments, progress, the summary table and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use bench_gate::GateArgs;

use crate::bisect::Bisect;
use crate::{outcome::summary_table, pytest, Config, Gate, Publish};

const EXAMPLES: &str = "\
Examples:
  In the folder that holds the suites, as run_benchmarks.sh:
    run-benchmarks
  Some suites, with the venv's pytest and a time limit, pytest's output kept in results/logs/:
    run-benchmarks -d benchmarks --suite kmeans --pytest .venv/bin/pytest --timeout 1800 --quiet
  Extra pytest arguments go after --:
    run-benchmarks -- --benchmark-min-rounds=10 -x
  Continue and publish the histories of a checkout of the data repository:
    run-benchmarks --publish ../bench-data
  Find the commit that made the benchmarks flagged between two runs slow:
    run-benchmarks -d benchmarks --bisect 1a2b3c4..HEAD --quiet
  The same for chosen benchmarks of a project that must be installed:
    run-benchmarks -d benchmarks --bisect v1.8.0..main -k matmul --setup 'pip install -e {worktree}'

Exit status: 0 every suite recorded results, 1 a suite failed (or ran no benchmark), or with
--check a regression confirmed with --fail-on-regression or still open with --fail-on-open,
2 usage or I/O error (including a push that kept being rejected).
With --bisect: 0 the first commit on the new level was found, 1 the range shows no step,
2 an error (or commits that could not be measured hide it).";

/// Run every pytest-benchmark suite, keep each suite's history and build the GPE lists.
///
/// Each immediate sub-folder of DIR holding pytest files is a suite. Each runs as
/// `pytest --benchmark-json FILE` in its own folder, the report going to a temporary file (the
/// source tree is left as it was); its benchmarks are appended to
/// RESULTS/data/SUITE/aggregate.json, then RESULTS/data/list.json and RESULTS/plots/ are
/// refreshed for the Ginkgo Performance Explorer.
#[derive(Debug, Parser)]
#[command(name = "run-benchmarks", version, after_help = EXAMPLES)]
#[command(group(clap::ArgGroup::new("judging").args(["check", "bisect"]).multiple(true)))]
#[command(group(clap::ArgGroup::new("gate_mode").args(["check", "backtest", "bisect"]).multiple(true)))]
pub struct Cli {
    /// The folder whose sub-folders are the suites.
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Run only this suite (repeatable).
    #[arg(short, long = "suite", value_name = "NAME")]
    pub suites: Vec<String>,

    /// Where data/, plots/ and logs/ go [default: DIR/results].
    #[arg(short, long, value_name = "DIR", conflicts_with = "publish")]
    pub results: Option<PathBuf>,

    /// The pytest command, split into words (quotes group), never run through a shell.
    #[arg(long, value_name = "CMD", default_value = "pytest")]
    pub pytest: String,

    /// End a suite (at one process count) and every process it started after this many
    /// seconds; 0: no limit [default: no limit, under --launcher 1800].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,

    /// Do not show pytest's output; it is kept in RESULTS/logs/SUITE.log either way.
    #[arg(short, long)]
    pub quiet: bool,

    /// Record the benchmarks of failed tests too (left out by default).
    #[arg(long)]
    pub keep_failed: bool,

    /// Keep every round's time (stats.data) in the histories.
    #[arg(long)]
    pub keep_data: bool,

    #[command(flatten)]
    pub bound: aggregate::BoundArgs,

    /// A git checkout of the data repository: read and write its data/ and plots/, then commit
    /// every change and push.
    #[arg(long, value_name = "REPO")]
    pub publish: Option<PathBuf>,

    /// With --publish, commit but do not push.
    #[arg(long, requires = "publish")]
    pub no_push: bool,

    /// With --publish, commit and push a run in which every suite failed too; by default such a
    /// run commits nothing (what it recorded stays in the checkout for the next run).
    #[arg(long, requires = "publish")]
    pub publish_failed: bool,

    /// With --publish, how long to keep pushing while other jobs push first: each rejected push
    /// is followed by a random, growing pause, a fetch and a re-application of every local run
    /// on the remote's state.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_seconds, requires = "publish")]
    pub push_deadline: Duration,

    /// Run every suite under an MPI launcher, once per --procs count: a template split into
    /// words, `{procs}` replaced, e.g. 'mpirun -n {procs}' or 'srun -n {procs}'. The ranks run
    /// every benchmark in lockstep (same rounds and iterations, started together) through
    /// mpi4py, which must be installed where pytest runs.
    #[arg(long, value_name = "TEMPLATE")]
    pub launcher: Option<String>,

    /// With --launcher, the process counts, e.g. 1,2,4.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "1", requires = "launcher",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub procs: Vec<u32>,

    #[command(flatten)]
    pub gate: GateArgs,

    /// With --check, re-run suspected regressions N more times (only those benchmarks) and judge
    /// them on the run and its reruns, so a one-off slow run on a noisy runner is not reported.
    /// With --bisect, measure FROM and TO N more times each [default: 0 with --check, 2 with
    /// --bisect].
    #[arg(long, value_name = "N", requires = "judging")]
    pub confirm: Option<usize>,

    /// Run nothing: replay the gate over every suite's history in RESULTS/data (or the --publish
    /// checkout's) run by run, as nightly checks would have judged it, and say what it would
    /// have found. Takes the gate options (--threshold, --stat, --markdown, --report-json, ...).
    #[arg(long, conflicts_with_all = ["check", "bisect", "no_push"])]
    pub backtest: bool,

    /// Find the first commit after FROM, up to TO, at which the suspect benchmarks are on TO's
    /// level: a binary search that measures them with each commit's code (checked out in a
    /// temporary git worktree of the repository holding DIR) and the working tree's benchmarks.
    /// The suspects are those flagged as regressions in that range in the suites' histories,
    /// those chosen with -k, or else every benchmark of the suites.
    #[arg(long, value_name = "FROM..TO", conflicts_with_all = ["check", "publish"],
          help_heading = "Bisection")]
    pub bisect: Option<String>,

    /// With --bisect, measure the benchmarks this pytest -k expression selects.
    #[arg(
        short = 'k',
        long = "benchmark",
        value_name = "PATTERN",
        requires = "bisect",
        help_heading = "Bisection"
    )]
    pub benchmark: Option<String>,

    /// With --bisect, run CMD in the worktree after each checkout, `{worktree}` replaced by its
    /// path (e.g. 'pip install -e {worktree}'); split into words, no shell (write 'sh -c ...' for
    /// one). Without it the worktree's root goes first on PYTHONPATH.
    #[arg(
        long,
        value_name = "CMD",
        requires = "bisect",
        help_heading = "Bisection"
    )]
    pub setup: Option<String>,

    /// Arguments for pytest, after `--`.
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pub pytest_args: Vec<String>,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds >= 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err("give a number of seconds, or 0 for no limit".into())
    }
}

impl Cli {
    /// The run this command line asks for.
    pub fn config(&self) -> Result<Config, CliError> {
        let launcher = self.launcher.as_deref().map(pytest::split_command);
        if let Some(words) = &launcher {
            if !words.iter().any(|w| w.contains("{procs}")) {
                return Err(CliError::Usage(format!(
                    "--launcher {:?} has no {{procs}}: every process count would run the same; write e.g. 'mpirun -n {{procs}}'",
                    self.launcher.as_deref().unwrap_or_default()
                )));
            }
        }
        let gate = match self.gate.check {
            true => Some(Gate {
                options: self.gate.options()?,
                no_append: self.gate.no_append,
                confirm: self.confirm.unwrap_or(0),
            }),
            false => None,
        };
        let results = match (&self.publish, &self.results) {
            (Some(repo), _) => repo.clone(),
            (None, Some(results)) => results.clone(),
            (None, None) => self.dir.join("results"),
        };
        Ok(Config {
            dir: self.dir.clone(),
            only: self.suites.clone(),
            results,
            launch: pytest::Launch {
                command: pytest::command_words(&self.pytest),
                extra_args: self.pytest_args.clone(),
                timeout: match (self.timeout, &launcher) {
                    (Some(limit), _) if limit.is_zero() => None,
                    (Some(limit), _) => Some(limit),
                    (None, Some(_)) => Some(crate::mpi::DEFAULT_TIMEOUT),
                    (None, None) => None,
                },
                launcher,
                env: Vec::new(),
            },
            procs: self.procs.clone(),
            quiet: self.quiet,
            keep_failed: self.keep_failed,
            append: aggregate::AppendOptions {
                keep_data: self.keep_data,
                bound: self.bound.bound(),
            },
            publish: self.publish.as_ref().map(|_| Publish {
                push: !self.no_push,
                deadline: self.push_deadline,
                failed: self.publish_failed,
            }),
            gate,
        })
    }
}

impl Cli {
    /// The bisection this command line asks for, if any.
    pub fn bisection(&self) -> Result<Option<Bisect>, CliError> {
        let Some(range) = &self.bisect else {
            return Ok(None);
        };
        let (from, to) = crate::bisect::parse_range(range).ok_or_else(|| {
            CliError::Usage(format!(
                "--bisect {range:?}: give two commits as FROM..TO, the older first, e.g. v1.0..HEAD"
            ))
        })?;
        if self
            .setup
            .as_deref()
            .is_some_and(|s| pytest::split_command(s).is_empty())
        {
            return Err(CliError::Usage(
                "--setup is empty; give a command, e.g. --setup 'pip install -e {worktree}'".into(),
            ));
        }
        Ok(Some(Bisect {
            from,
            to,
            select: self.benchmark.clone(),
            setup: self.setup.clone(),
            reruns: self.confirm.unwrap_or(2),
            options: self.gate.options()?,
        }))
    }
}

/// Why `run-benchmarks` could not do its work (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line asks for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// The gate's options or reports failed.
    #[error(transparent)]
    Gate(#[from] bench_gate::GateError),
    /// The run failed as a whole.
    #[error(transparent)]
    Run(#[from] crate::Error),
    /// A bisection could not be done.
    #[error(transparent)]
    Bisect(#[from] crate::bisect::BisectError),
}

/// Runs `run-benchmarks` with parsed arguments: progress and the summary on `stderr`, GitHub
/// annotations on `stdout`. Exit 0 every suite recorded, 1 a suite failed or a regression was
/// confirmed with `--fail-on-regression`.
pub fn run(
    cli: &Cli,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    if pytest::split_command(&cli.pytest).is_empty() {
        return Err(CliError::Usage(
            "--pytest is empty; give the pytest command, e.g. --pytest pytest".into(),
        ));
    }
    let commands = [
        ("--pytest", Some(&cli.pytest)),
        ("--launcher", cli.launcher.as_ref()),
        ("--setup", cli.setup.as_ref()),
    ];
    for (flag, text) in commands {
        if let Some(quote) = text.and_then(|t| pytest::unclosed_quote(t)) {
            return Err(CliError::Usage(format!(
                "{flag} {:?}: the {quote} quote is never closed; close it, or leave it out",
                text.map(String::as_str).unwrap_or_default()
            )));
        }
    }
    let config = cli.config()?;
    if cli.backtest {
        let found = crate::backtest(&config, &cli.gate.options()?)?;
        cli.gate.emit_backtest(&found, "Backtest", stderr)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(bisect) = cli.bisection()? {
        let found = crate::bisect::run(&config, &bisect, stderr)?;
        let _ = write!(stdout, "{}", found.render());
        return Ok(ExitCode::from(found.exit_code()));
    }
    if cli.gate.no_append && !config.results.join("data").is_dir() {
        // A pull request's check against a mistyped --results would pass having judged nothing.
        let _ = writeln!(
            stderr,
            "run-benchmarks: warning: {} holds no histories, so every benchmark is judged against nothing; check --results or --publish",
            bench_model::shown(&config.results.join("data"))
        );
    }
    let summary = crate::run(&config, stderr)?;
    let _ = write!(stderr, "\n{}", summary_table(&summary.suites));
    let mut gate_fails = false;
    if cli.gate.check {
        let gate = summary.gate();
        let _ = writeln!(stderr);
        cli.gate.emit(&gate, "Benchmark gate", stdout, stderr)?;
        let (new, open) = (gate.regressions(), gate.open.len());
        let suspects = gate.to_confirm().count();
        if new + open + suspects > 0 {
            let pending = match (suspects, config.gate.as_ref().map_or(0, |g| g.confirm)) {
                (0, _) => String::new(),
                (n, 0) => format!(
                    "; {n} inconclusive, for the next run or --confirm N (reruns) to decide"
                ),
                (n, _) => format!("; {n} inconclusive after the reruns"),
            };
            let _ = writeln!(
                stderr,
                "run-benchmarks: {new} new regression(s), {open} open from earlier runs{pending}"
            );
        }
        gate_fails = cli.gate.fails(&gate);
    }
    if let Some(published) = &summary.published {
        let what = match (published.committed, published.pushed) {
            (false, false) => "nothing changed, nothing committed".to_string(),
            (false, true) => "nothing new to commit; the branch is on the remote".to_string(),
            (true, false) => "committed (not pushed)".to_string(),
            (true, true) => format!("committed and pushed (attempt {})", published.attempts),
        };
        let _ = writeln!(stderr, "run-benchmarks: published: {what}");
    }
    Ok(ExitCode::from(summary.exit_code(gate_fails)))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_valid() {
        super::Cli::command().debug_assert();
    }
}
