//! What came of each suite, how it is told, and what it means for the exit code.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::suite::Suite;

/// What came of running one suite.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// pytest passed and its benchmarks are in the history.
    Recorded {
        /// Benchmarks in the report.
        benchmarks: usize,
        /// Of those, entries new to the history.
        appended: usize,
    },
    /// pytest passed and its benchmarks were judged but, with `--no-append`, not recorded.
    Judged {
        /// Benchmarks judged.
        benchmarks: usize,
    },
    /// pytest ran no benchmark: a 0-byte report, no report, or no test collected.
    NoBenchmarks {
        /// Why we think so.
        reason: String,
    },
    /// pytest failed; the benchmarks of the tests that passed were recorded.
    PytestFailed {
        /// How pytest ended.
        exit: crate::pytest::Exit,
        /// Benchmarks recorded from its report.
        benchmarks: usize,
        /// Benchmarks of failed tests, left out (see `--keep-failed`).
        left_out: usize,
    },
    /// pytest could not be started.
    NotStarted {
        /// The command as given.
        command: String,
        /// What the system said.
        error: String,
    },
    /// pytest ran past its time limit and its processes were ended.
    TimedOut {
        /// The limit.
        after: Duration,
        /// Where pytest was (each rank, under a launcher): `in NODE_ID`, `had finished its tests`.
        running: Vec<String>,
    },
    /// pytest-benchmark's report is not a valid report.
    CorruptReport {
        /// The one-line error.
        error: String,
    },
    /// Under a launcher, some ranks failed or wrote no report; nothing was recorded.
    RanksFailed {
        /// The process count.
        procs: u32,
        /// Each failed rank and what happened to it.
        ranks: Vec<(u32, String)>,
        /// The launcher's own refusal to start the ranks, with what to do, when it said one.
        launcher: Option<String>,
    },
    /// Our own I/O failed: the history, the merged MPI report or the rank wrapper.
    WriteError {
        /// The one-line error.
        error: String,
    },
}

impl Outcome {
    /// Whether the suite recorded results and passed.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Recorded { .. } | Outcome::Judged { .. })
    }

    /// Whether this is our error (I/O), rather than the suite's failure.
    pub fn is_error(&self) -> bool {
        matches!(self, Outcome::WriteError { .. })
    }

    /// Benchmarks recorded in the history from this run.
    pub fn recorded(&self) -> usize {
        match self {
            Outcome::Recorded { benchmarks, .. } | Outcome::PytestFailed { benchmarks, .. } => {
                *benchmarks
            }
            _ => 0,
        }
    }

    /// Benchmarks this run measured and kept: recorded in the history, or judged only with
    /// `--no-append`.
    pub fn measured(&self) -> usize {
        match self {
            Outcome::Judged { benchmarks } => *benchmarks,
            other => other.recorded(),
        }
    }

    /// A short word for the summary table.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Recorded { .. } => "recorded",
            Outcome::Judged { .. } => "judged",
            Outcome::NoBenchmarks { .. } => "no benchmarks",
            Outcome::PytestFailed { .. } => "failed",
            Outcome::NotStarted { .. } => "not started",
            Outcome::TimedOut { .. } => "timed out",
            Outcome::CorruptReport { .. } => "corrupt report",
            Outcome::RanksFailed { .. } => "rank failed",
            Outcome::WriteError { .. } => "write error",
        }
    }

    /// One sentence: what happened and, when it went wrong, what to do.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Recorded { benchmarks, appended } if appended == benchmarks => {
                format!("{benchmarks} {}", plural(*benchmarks, "benchmark"))
            }
            Outcome::Recorded { benchmarks, appended } => format!(
                "{benchmarks} {} ({} already recorded)",
                plural(*benchmarks, "benchmark"),
                benchmarks - appended
            ),
            Outcome::Judged { benchmarks } => format!(
                "{benchmarks} {} judged, not recorded (--no-append)",
                plural(*benchmarks, "benchmark")
            ),
            Outcome::NoBenchmarks { reason } => format!("no benchmark ran: {reason}"),
            Outcome::PytestFailed { exit, benchmarks, left_out } => {
                let left_out = match left_out {
                    0 => String::new(),
                    1 => "; 1 benchmark of a failed test left out (--keep-failed records it)".to_string(),
                    n => format!("; {n} benchmarks of failed tests left out (--keep-failed records them)"),
                };
                format!(
                    "pytest {exit}; {benchmarks} {} recorded{left_out}",
                    plural(*benchmarks, "benchmark")
                )
            }
            Outcome::NotStarted { command, error } => format!(
                "cannot start {command:?}: {error}; install pytest and pytest-benchmark, or pass the \
                 right command with --pytest (e.g. --pytest 'python -m pytest' or a venv's bin/pytest)"
            ),
            Outcome::TimedOut { after, running } => format!(
                "still running at the time limit of {} s (--timeout): {}; every process of it was ended; nothing recorded",
                after.as_secs_f64(),
                running.join(", ")
            ),
            Outcome::CorruptReport { error } => format!("nothing recorded: {error}"),
            Outcome::RanksFailed { procs, ranks, launcher } => format!(
                "{}; nothing recorded at {procs} processes{}",
                ranks.iter().map(|(rank, why)| format!("rank {rank} of {procs} {why}")).collect::<Vec<_>>().join("; "),
                launcher.as_ref().map_or(String::new(), |said| format!("; the launcher said: {said}"))
            ),
            Outcome::WriteError { error } => format!("a file of this run could not be read or written: {error}"),
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// How a suite at a process count is named in progress lines and the table: `kmeans` or `kmeans x4`.
pub fn unit_name(suite: &str, procs: Option<u32>) -> String {
    // A folder name may hold a newline; every message about it stays on one line.
    let suite = bench_model::shown(std::path::Path::new(suite));
    match procs {
        Some(p) => format!("{suite} x{p}"),
        None => suite,
    }
}

/// The stem of the files named after a suite at a process count (`kmeans.x4`): its report and
/// state in the run's folder, its log in `logs/`. A folder name may be 255 bytes long, and every
/// name made from it must stay within that limit with its suffixes: a long name keeps its start
/// and gets a hash of the whole instead of the rest.
pub fn file_stem(suite: &str, procs: Option<u32>) -> String {
    use std::hash::{Hash, Hasher};
    const KEPT: usize = 100;
    let full = unit_name(suite, procs).replace(' ', ".");
    if full.len() <= KEPT + 20 {
        return full;
    }
    let mut hasher = std::hash::DefaultHasher::new();
    full.hash(&mut hasher);
    let end = (0..=KEPT)
        .rev()
        .find(|&i| full.is_char_boundary(i))
        .unwrap_or(0);
    let count = procs.map_or(String::new(), |p| format!(".x{p}"));
    format!("{}-{:016x}{count}", &full[..end], hasher.finish())
}

/// One suite of a run (at one process count, under a launcher).
#[derive(Debug, Clone)]
pub struct SuiteRun {
    /// The suite.
    pub suite: Suite,
    /// The process count, under a launcher.
    pub procs: Option<u32>,
    /// What came of it.
    pub outcome: Outcome,
    /// How long pytest ran.
    pub elapsed: Duration,
    /// The entries recorded in the suite's history (none when nothing was), kept to re-apply
    /// them after a rejected push.
    pub recorded: aggregate::Loaded,
    /// The gate's verdicts, with `--check`.
    pub check: Option<bench_gate::CheckReport>,
    /// What reading and recording found worth telling: warnings, a rotation into the archive.
    pub notes: Vec<String>,
    /// Where pytest's output is kept.
    pub log: Option<PathBuf>,
    /// Processes the suite left running, which were ended.
    pub leftovers: Vec<String>,
}

impl SuiteRun {
    /// The progress line after the suite: what came of it, where its data and output went,
    /// what was ended, how long it took (reruns included).
    pub fn progress_line(&self, results: &crate::Results) -> String {
        let mut line = self.outcome.describe();
        if self.outcome.recorded() > 0 {
            let _ = write!(
                line,
                "; history: {}",
                bench_model::shown(&results.history(&self.suite.name))
            );
        }
        if let Some(check) = &self.check {
            let _ = write!(
                line,
                "; gate: {} regression(s), {} open from earlier runs",
                check.regressions(),
                check.open.len()
            );
        }
        if !self.leftovers.is_empty() {
            let _ = write!(
                line,
                "; ended {} {} it left running: {}",
                self.leftovers.len(),
                if self.leftovers.len() == 1 {
                    "process"
                } else {
                    "processes"
                },
                self.leftovers.join(", ")
            );
        }
        // pytest that never started wrote nothing there.
        let started = !matches!(self.outcome, Outcome::NotStarted { .. });
        if let (false, true, Some(log)) = (self.outcome.is_success(), started, &self.log) {
            let _ = write!(line, "; pytest's output: {}", bench_model::shown(log));
        }
        let _ = write!(line, " ({:.1} s)", self.elapsed.as_secs_f64());
        line
    }
}

/// The end-of-run table: outcome, benchmarks, time, suite. The suite's name comes last: a row
/// never starts with a name someone else chose (a CI system takes a line starting with `::` for
/// a command).
pub fn summary_table(runs: &[SuiteRun]) -> String {
    let mut table = format!(
        "{:14}  {:>10}  {:>8}  suite\n",
        "outcome", "benchmarks", "time"
    );
    for run in runs {
        let _ = writeln!(
            table,
            "{:14}  {:>10}  {:>6.1} s  {}",
            run.outcome.label(),
            run.outcome.measured(),
            run.elapsed.as_secs_f64(),
            unit_name(&run.suite.name, run.procs)
        );
    }
    table
}
