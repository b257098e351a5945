//! The whole pipeline behind `run-benchmarks`: run every suite with pytest, append each suite's
//! benchmarks to its history, rebuild the GPE lists, and publish to a data repository.

pub mod badge;
pub mod bisect;
pub mod cli;
pub mod confirm;
mod log;
pub mod mpi;
pub mod outcome;
pub mod plots;
pub mod publish;
pub mod pytest;
mod results;
pub mod suite;
pub mod watch;
pub mod worktree;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aggregate::{AppendOptions, Loaded};
use bench_gate::CheckReport;
use bench_model::Error as ModelError;

pub use bench_model::inert;
pub use outcome::{Outcome, SuiteRun};
pub use publish::{DataRepo, GitError};
pub use results::Results;
pub use suite::Suite;

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The folder whose sub-folders are the suites.
    pub dir: PathBuf,
    /// Only these suites (all when empty).
    pub only: Vec<String>,
    /// Where `data/`, `plots/` and `logs/` go; `DIR/results` by default. With `publish`, the
    /// data repository's checkout.
    pub results: PathBuf,
    /// How pytest is launched.
    pub launch: pytest::Launch,
    /// Only keep pytest's output in `logs/<suite>.log`; without it, it is passed through too.
    pub quiet: bool,
    /// Record the benchmarks of tests that failed too.
    pub keep_failed: bool,
    /// How reports become history entries: `stats.data` kept or not, the bound on each history.
    pub append: AppendOptions,
    /// Commit (and push) the results in this git checkout.
    pub publish: Option<Publish>,
    /// Judge every suite's benchmarks against their history (the regression gate).
    pub gate: Option<Gate>,
    /// With a launcher, the process counts each suite runs at.
    pub procs: Vec<u32>,
}

/// How the regression gate runs inside a pipeline run.
#[derive(Debug, Clone)]
pub struct Gate {
    /// How to judge.
    pub options: bench_gate::GateOptions,
    /// Judge only: record nothing.
    pub no_append: bool,
    /// Re-run suspected regressions this many times and judge on the reruns.
    pub confirm: usize,
}

/// How to publish.
#[derive(Debug, Clone)]
pub struct Publish {
    /// Push after committing.
    pub push: bool,
    /// How long to keep pushing while other publishers win the race (each rejected push is
    /// followed by a pause, a fetch and a re-application on the remote's state).
    pub deadline: Duration,
    /// Publish a run in which every suite failed too (by default it commits nothing).
    pub failed: bool,
}

/// Why a run could not be done at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// DIR cannot be listed.
    #[error("cannot read {}: {source}; pass the folder that holds the suites with -d", bench_model::shown(.dir))]
    Dir {
        /// The folder.
        dir: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// DIR is one suite's folder, not the folder holding the suites.
    #[error("{} holds test files itself, so it is one suite: -d takes the folder that holds the suites; pass its parent, -d {}{}", bench_model::shown(.0), parent_of(.0), suite_flag(.0))]
    DirIsASuite(PathBuf),
    /// No sub-folder of DIR holds tests.
    #[error("no suite below {}: a suite is a sub-folder holding pytest files (test_*.py or *_test.py); pass the right folder with -d", bench_model::shown(.0))]
    NoSuites(PathBuf),
    /// `--suite NAME` names no suite.
    #[error("--suite {name:?}: no such suite below {}; the suites are: {available}", bench_model::shown(.dir))]
    UnknownSuite {
        /// The name given.
        name: String,
        /// The folder searched.
        dir: PathBuf,
        /// The suites found.
        available: String,
    },
    /// The results folder (`--results`, or the `--publish` checkout) is not there and cannot be.
    #[error("{flag} {}: {problem}", bench_model::shown(.path))]
    ResultsFolder {
        /// `--results` or `--publish`.
        flag: &'static str,
        /// The folder given.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The run's folder for reports could not be made.
    #[error("cannot create a folder for this run's reports: {0}")]
    RunFolder(std::io::Error),
    /// Writing lists or plots failed.
    #[error(transparent)]
    Write(#[from] ModelError),
    /// Writing a list failed.
    #[error(transparent)]
    List(#[from] build_list::Error),
    /// A suite's name would collide with a file we write.
    #[error("{}: a suite may not be named {name:?} (the results folder's data/{name} is GPE's list); rename the folder", bench_model::shown(.path))]
    ReservedSuiteName {
        /// The name.
        name: String,
        /// The suite's folder.
        path: PathBuf,
    },
    /// The gate could not read a history.
    #[error(transparent)]
    Gate(#[from] bench_gate::GateError),
    /// The data repository's checkout cannot be published from as it is.
    #[error("cannot publish from {}: {message}", bench_model::shown(.repo))]
    NotReady {
        /// The `--publish` folder.
        repo: PathBuf,
        /// Why, and what to do.
        message: String,
    },
    /// A git step of publishing failed.
    #[error("{0}")]
    Git(#[from] GitError),
    /// The push was rejected and could not be retried; the run is committed locally and its
    /// reports are kept.
    #[error("{source}; {why}; this run is committed in the checkout and its reports are kept in {} (the next --publish run pushes the commit; or re-apply the reports with: aggregate REPORT --history data/SUITE/aggregate.json)", bench_model::shown(.kept))]
    PushFailed {
        /// The last rejection.
        source: GitError,
        /// Why there was no further attempt.
        why: String,
        /// Where the reports are.
        kept: PathBuf,
    },
}

/// What a whole run did.
#[derive(Debug)]
pub struct RunSummary {
    /// Each suite, in order.
    pub suites: Vec<SuiteRun>,
    /// Whether the results were committed / pushed.
    pub published: Option<Published>,
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// A commit was made (false: nothing had changed).
    pub committed: bool,
    /// It reached the remote.
    pub pushed: bool,
    /// Push attempts it took.
    pub attempts: u32,
}

impl RunSummary {
    /// 0 every suite recorded, 1 some suite failed (or `gate_fails`: the gate's findings fail
    /// the run as asked), 2 our own error.
    pub fn exit_code(&self, gate_fails: bool) -> u8 {
        if self.suites.iter().any(|s| s.outcome.is_error()) {
            2
        } else if !self.suites.iter().all(|s| s.outcome.is_success()) || gate_fails {
            1
        } else {
            0
        }
    }

    /// Every suite's verdicts in one report.
    pub fn gate(&self) -> CheckReport {
        joined_verdicts(&self.suites)
    }
}

/// The verdicts of every suite that was judged, in one report.
fn joined_verdicts(runs: &[SuiteRun]) -> CheckReport {
    let mut all = CheckReport::default();
    for check in runs.iter().filter_map(|s| s.check.clone()) {
        all.extend(check);
    }
    all
}

/// Picks the suites to run: all of DIR's, or those named.
pub fn select_suites(config: &Config) -> Result<Vec<Suite>, Error> {
    let found = suite::discover(&config.dir, &config.results).map_err(|source| Error::Dir {
        dir: config.dir.clone(),
        source,
    })?;
    if found.is_empty() && suite::is_suite(&config.dir) {
        return Err(Error::DirIsASuite(config.dir.clone()));
    }
    if found.is_empty() {
        return Err(Error::NoSuites(config.dir.clone()));
    }
    if let Some(suite) = found.iter().find(|s| s.name == "list.json") {
        return Err(Error::ReservedSuiteName {
            name: suite.name.clone(),
            path: suite.path.clone(),
        });
    }
    if config.only.is_empty() {
        return Ok(found);
    }
    config
        .only
        .iter()
        .map(|name| {
            found
                .iter()
                .find(|s| &s.name == name)
                .cloned()
                .ok_or_else(|| Error::UnknownSuite {
                    name: name.clone(),
                    dir: config.dir.clone(),
                    available: found
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

/// Runs one suite (at one process count, under `--launcher`), judges it when the gate is on,
/// and records what it wrote.
pub fn run_suite(
    config: &Config,
    results: &Results,
    suite: &Suite,
    procs: Option<u32>,
    run_folder: &Path,
) -> SuiteRun {
    let unit = outcome::file_stem(&suite.name, procs);
    let report = run_folder.join(format!("{unit}.json"));
    let log = results.log(&unit);
    let _ = std::fs::create_dir_all(log.parent().expect("logs folder"));
    // A fresh log per run; the confirmation reruns append to it.
    let _ = std::fs::remove_file(&log);
    let (reading, elapsed, leftovers) = execute(config, suite, procs, &[], &report, &log);
    let mut run = SuiteRun {
        suite: suite.clone(),
        procs,
        outcome: Outcome::NoBenchmarks {
            reason: String::new(),
        },
        elapsed,
        recorded: Loaded::default(),
        check: None,
        notes: Vec::new(),
        log: Some(log.clone()),
        leftovers: leftovers.iter().map(ToString::to_string).collect(),
    };
    let (exit, mut loaded, left_out) = match reading {
        Reading::Done(outcome) => {
            run.outcome = outcome;
            return run;
        }
        Reading::Valid {
            exit,
            loaded,
            left_out,
        } => (exit, loaded, left_out),
    };
    add_subjects(&mut loaded.entries, &suite.path);
    if loaded.entries.is_empty() {
        run.outcome = Outcome::PytestFailed {
            exit,
            benchmarks: 0,
            left_out,
        };
        return run;
    }
    if let Some(gate) = &config.gate {
        let rerun = |node_ids: &[String], attempt: usize| {
            let rerun = report.with_extension(format!("confirm-{attempt}.json"));
            let (reading, took, _) = execute(config, suite, procs, node_ids, &rerun, &log);
            run.elapsed += took;
            match reading {
                Reading::Valid { loaded, .. } => Some(loaded.entries),
                Reading::Done(_) => None,
            }
        };
        let history = results.history(&suite.name);
        match confirm::judge(&history, &loaded.entries, gate, &suite.path, rerun) {
            Ok(mut verdicts) => {
                verdicts.label_suite(&suite.name);
                verdicts.record_in(&mut loaded.entries);
                run.check = Some(verdicts);
            }
            Err(error) => {
                run.outcome = Outcome::WriteError {
                    error: error.to_string(),
                };
                return run;
            }
        }
        if gate.no_append {
            run.outcome = Outcome::Judged {
                benchmarks: loaded.entries.len(),
            };
            run.notes = loaded.warnings.iter().map(ToString::to_string).collect();
            return run;
        }
    }
    match results.record(&suite.name, &loaded, &config.append) {
        Ok(summary) => {
            run.notes = summary.notes();
            run.outcome = if exit.is(0) {
                Outcome::Recorded {
                    benchmarks: summary.benchmarks,
                    appended: summary.outcome.appended,
                }
            } else {
                Outcome::PytestFailed {
                    exit,
                    benchmarks: summary.benchmarks,
                    left_out,
                }
            };
            run.recorded = loaded;
        }
        Err(error) => {
            run.outcome = Outcome::WriteError {
                error: error.to_string(),
            }
        }
    }
    run
}

/// Adds the first line of each measured commit's message to the entries' `commit_info` as
/// `subject`, which the plots show on hover. pytest-benchmark records the commit's id, not its
/// message; an added key, so readers that do not know it are unaffected. Entries whose commit
/// git does not know (no repository, Mercurial) are left as they are.
fn add_subjects(entries: &mut [bench_model::history::HistoryEntry], folder: &Path) {
    let mut known: std::collections::HashMap<String, Option<String>> = Default::default();
    for info in entries.iter_mut().filter_map(|e| e.commit_info.as_mut()) {
        let Some(id) = info
            .id()
            .filter(|id| id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            continue;
        };
        let subject = known.entry(id.to_owned()).or_insert_with_key(|id| {
            let out = std::process::Command::new("git")
                .args(["log", "-1", "--format=%s", id])
                .current_dir(folder)
                .output()
                .ok()?;
            let line = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
            (out.status.success() && !line.is_empty()).then_some(line)
        });
        if let Some(subject) = subject {
            info.extra.insert("subject".into(), subject.clone().into());
        }
    }
}

/// Runs pytest once for `suite` (plus `extra` arguments), leaving a report at `report`: directly,
/// or under the launcher with `procs` ranks whose reports are merged into one. Also returns how
/// long it ran and the processes it left running (ended).
pub(crate) fn execute(
    config: &Config,
    suite: &Suite,
    procs: Option<u32>,
    extra: &[String],
    report: &Path,
    log: &Path,
) -> (Reading, Duration, Vec<pytest::Leftover>) {
    // pytest-benchmark makes its storage folder (`.benchmarks/`) in the working directory even
    // when it saves nothing: one that was not there before and stays empty is removed after.
    let storage = suite.path.join(".benchmarks");
    let storage_existed = storage.exists();
    let mut launch = config.launch.clone();
    launch.extra_args.extend(extra.iter().cloned());
    let done = match procs {
        Some(procs) => {
            let (merged, elapsed, leftovers) =
                mpi::execute(&launch, &suite.path, procs, report, log, !config.quiet);
            let reading = match merged {
                Ok(()) => read_report(config, report, pytest::Exit::Code(0), Vec::new()),
                Err(outcome) => Reading::Done(outcome),
            };
            (reading, elapsed, leftovers)
        }
        None => {
            let state = report.with_extension("state");
            let execution = pytest::run(&pytest::Job {
                words: launch.single(report),
                folder: &suite.path,
                timeout: launch.timeout,
                log,
                echo: !config.quiet,
                plugin: report.parent().expect("a report in the run folder"),
                state: &state,
                env: &launch.env,
                stop: None,
            });
            let reading = match read_ending(config, report, &state, execution.ending) {
                Reading::Done(Outcome::PytestFailed { exit, .. })
                    if exit.is(PYTEST_USAGE_ERROR) && pytest::lacks_benchmark_plugin(log) =>
                {
                    Reading::Done(Outcome::NotStarted {
                        command: config.launch.command.join(" "),
                        error: "pytest does not know --benchmark-json, so pytest-benchmark is not installed where it runs".into(),
                    })
                }
                reading => reading,
            };
            (reading, execution.elapsed, execution.leftovers)
        }
    };
    if !storage_existed {
        let _ = std::fs::remove_dir(&storage);
    }
    done
}

/// pytest's exit code when it collected no test.
const NO_TESTS_COLLECTED: i32 = 5;

/// pytest's exit code for a command line it does not take.
const PYTEST_USAGE_ERROR: i32 = 4;

/// What pytest's ending and report say before anything is recorded.
pub(crate) enum Reading {
    /// Nothing to record or judge.
    Done(Outcome),
    /// A report with benchmarks, read into entries; pytest ended as `exit`. Benchmarks of
    /// tests that failed are already left out (unless `--keep-failed`): `left_out` of them.
    Valid {
        exit: pytest::Exit,
        loaded: Loaded,
        left_out: usize,
    },
}

fn read_ending(config: &Config, report: &Path, state: &Path, ending: pytest::Ending) -> Reading {
    let exit = match ending {
        pytest::Ending::NotStarted(error) => {
            return Reading::Done(Outcome::NotStarted {
                command: config.launch.command.join(" "),
                error: error.to_string(),
            });
        }
        pytest::Ending::TimedOut => {
            return Reading::Done(Outcome::TimedOut {
                after: config.launch.timeout.unwrap_or(Duration::ZERO),
                running: vec![pytest::State::read(state).place()],
            });
        }
        pytest::Ending::Exited(status) => pytest::Exit::of(status),
    };
    read_report(config, report, exit, pytest::State::read(state).failed)
}

/// Reads the report pytest (ended as `exit`, these tests `failed`) left at `report`.
fn read_report(config: &Config, report: &Path, exit: pytest::Exit, failed: Vec<String>) -> Reading {
    let nothing_ran = exit.is(0) || exit.is(NO_TESTS_COLLECTED);
    if !report.exists() {
        return Reading::Done(match exit {
            pytest::Exit::Code(0) => Outcome::NoBenchmarks {
                reason: "pytest-benchmark wrote no report (benchmarks skipped or disabled?)".into(),
            },
            pytest::Exit::Code(NO_TESTS_COLLECTED) => Outcome::NoBenchmarks {
                reason: "pytest collected no tests".into(),
            },
            _ => Outcome::PytestFailed {
                exit,
                benchmarks: 0,
                left_out: 0,
            },
        });
    }
    // The report is read here, once: to tell "nothing ran" from "corrupt" before any history is
    // touched, and into the entries that are judged, recorded and published.
    let options = AppendOptions {
        keep_data: config.append.keep_data,
        bound: Default::default(),
    };
    match aggregate::load_reports(&[report.to_path_buf()], &options) {
        Ok(mut loaded) => {
            // A failed test's benchmark measured something other than what it benchmarks: out
            // of the gate, the history, confirmation reruns and bisection, unless --keep-failed.
            let before = loaded.entries.len();
            if !config.keep_failed {
                loaded
                    .entries
                    .retain(|e| !failed.contains(&e.benchmark.fullname));
            }
            Reading::Valid {
                exit,
                left_out: before - loaded.entries.len(),
                loaded,
            }
        }
        Err(ModelError::EmptyReport { .. } | ModelError::NoBenchmarks { .. }) if nothing_ran => {
            Reading::Done(Outcome::NoBenchmarks {
                reason: "pytest-benchmark wrote an empty report".into(),
            })
        }
        Err(ModelError::EmptyReport { .. } | ModelError::NoBenchmarks { .. }) => {
            Reading::Done(Outcome::PytestFailed {
                exit,
                benchmarks: 0,
                left_out: 0,
            })
        }
        Err(other) => Reading::Done(Outcome::CorruptReport {
            error: other.to_string(),
        }),
    }
}

/// The folder above `dir`, as a user would type it.
fn parent_of(dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    match dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && dir.file_name().is_some())
    {
        Some(parent) => bench_model::shown(parent),
        None => absolute
            .parent()
            .map_or_else(|| "..".to_string(), bench_model::shown),
    }
}

/// `--suite NAME` for a suite folder, to run it alone.
fn suite_flag(dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute
        .components()
        .next_back()
        .map_or_else(String::new, |name| {
            format!(" --suite {}", inert(&name.as_os_str().to_string_lossy()))
        })
}

/// The gate replayed over every suite's history in the results folder (the selected suites
/// only, with `--suite`), one suite after another.
pub fn backtest(
    config: &Config,
    options: &bench_gate::GateOptions,
) -> Result<bench_gate::Backtest, Error> {
    let results = Results {
        root: config.results.clone(),
    };
    let data = config.results.join("data");
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .map_err(|source| Error::Dir {
            dir: data.clone(),
            source,
        })?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("aggregate.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| config.only.is_empty() || config.only.contains(name))
        .collect();
    names.sort();
    let mut all = bench_gate::Backtest::default();
    for name in names {
        let mut found = bench_gate::backtest(&results.history(&name), options)?;
        found.label_suite(&name);
        all.extend(found);
    }
    Ok(all)
}

/// Commits what an earlier run wrote into the checkout and did not commit (it was killed, or
/// every suite failed), before the checkout is brought up to date with its remote.
fn commit_leftovers(
    repo: &DataRepo,
    leftovers: &[String],
    progress: &mut dyn Write,
) -> Result<(), Error> {
    let files: Vec<String> = leftovers.iter().map(|f| inert(f)).collect();
    let message = format!(
        "benchmarks an earlier run recorded and did not commit\n\n- {}\n",
        files.join("\n- ")
    );
    repo.commit(&message)?;
    repo.verify_committed()?;
    let _ = writeln!(
        progress,
        "run-benchmarks: {} held what an earlier run wrote and did not commit (it was interrupted, or every suite failed): {}; committed, and published with this run",
        bench_model::shown(&repo.path),
        files.join(", ")
    );
    Ok(())
}

/// Makes sure the results folder is a folder before any suite runs: `--results` is created when
/// missing, a `--publish` checkout must be there already.
fn ensure_results_folder(config: &Config) -> Result<(), Error> {
    let path = &config.results;
    let flag = match config.publish {
        Some(_) => "--publish",
        None => "--results",
    };
    let made = match config.publish {
        Some(_) => Ok(()),
        None => std::fs::create_dir_all(path),
    };
    if path.is_dir() {
        return Ok(());
    }
    let problem = if let Ok(target) = std::fs::read_link(path) {
        format!(
            "a symbolic link to {}, which does not exist; create that folder, or pass another",
            bench_model::shown(&target)
        )
    } else if path.exists() {
        "not a folder; pass a folder".to_string()
    } else if config.publish.is_some() {
        format!(
            "no such folder; clone the data repository there first (git clone URL {})",
            bench_model::shown(path)
        )
    } else {
        match made {
            Err(error) => format!("cannot create it: {error}"),
            Ok(()) => "no such folder".to_string(),
        }
    };
    Err(Error::ResultsFolder {
        flag,
        path: path.clone(),
        problem,
    })
}

/// Runs every selected suite, rebuilds the lists and publishes; `progress` gets one line per step.
pub fn run(config: &Config, progress: &mut dyn Write) -> Result<RunSummary, Error> {
    let suites = select_suites(config)?;
    ensure_results_folder(config)?;
    let results = Results {
        root: config.results.clone(),
    };
    let repo = match &config.publish {
        Some(_) => {
            let repo = DataRepo::open(&results.root)?;
            let lock = repo.lock(|| {
                let _ = writeln!(
                    progress,
                    "run-benchmarks: waiting for another run publishing from {}",
                    repo.path.display()
                );
            })?;
            if let Some(removed) = repo.clear_index_lock()? {
                let _ = writeln!(progress, "run-benchmarks: {removed}");
            }
            repo.exclude_own_files()?;
            if let Some(recovered) = repo.recover_carry()? {
                let _ = writeln!(progress, "run-benchmarks: {recovered}");
            }
            let leftovers = repo.check_ready()?;
            let ignored = repo.ignored_own_files(&suites);
            if !ignored.is_empty() {
                let _ = writeln!(
                    progress,
                    "run-benchmarks: warning: the data repository ignores {}; run-benchmarks adds its own files regardless (git add -f)",
                    ignored.join(", ")
                );
            }
            if !leftovers.is_empty() {
                commit_leftovers(&repo, &leftovers, progress)?;
            }
            repo.sync(&results, &config.append, progress)?;
            Some((repo, lock))
        }
        None => None,
    };
    let folder = watch::RunFolder::create(progress).map_err(Error::RunFolder)?;
    let run_folder = folder.path.clone();
    pytest::write_plugin(&run_folder).map_err(Error::RunFolder)?;
    if config.publish.is_some() {
        watch::tell("publish");
    }

    let mut runs = Vec::new();
    // Under a launcher every suite runs once per process count; otherwise once, as it is.
    let counts: Vec<Option<u32>> = match &config.launch.launcher {
        Some(_) => config.procs.iter().map(|&p| Some(p)).collect(),
        None => vec![None],
    };
    let units: Vec<(&Suite, Option<u32>)> = suites
        .iter()
        .flat_map(|s| counts.iter().map(move |&p| (s, p)))
        .collect();
    // Every suite at every count is a check of its own; together they share the false-alarm
    // level of one run.
    let mut config = config.clone();
    if let Some(gate) = &mut config.gate {
        gate.options.checks_per_run = units.len();
    }
    let config = &config;
    for (index, (suite, procs)) in units.iter().enumerate() {
        let name = outcome::unit_name(&suite.name, *procs);
        let step = format!("[{}/{}] {name}", index + 1, units.len());
        let _ = writeln!(
            progress,
            "{step}: running pytest in {}",
            bench_model::shown(&suite.path)
        );
        let run = run_suite(config, &results, suite, *procs, &run_folder);
        // Names, node ids and exception messages are the suite's: one line, never a command.
        let _ = writeln!(progress, "{step}: {}", inert(&run.progress_line(&results)));
        if let n @ 1.. = run.outcome.recorded() {
            let plural = if n == 1 { "" } else { "s" };
            watch::tell(&format!("recorded {name}: {n} benchmark{plural}"));
        }
        for note in &run.notes {
            let _ = writeln!(progress, "{step}: {}", inert(note));
        }
        runs.push(run);
    }
    for warning in results.refresh()? {
        let _ = writeln!(progress, "run-benchmarks: warning: {warning}");
    }
    // The status badge says what the last judged run left open; a run that judged nothing (every
    // suite failed) leaves the last one as it was.
    let recorded_verdicts = config.gate.as_ref().is_some_and(|g| !g.no_append);
    if config.publish.is_some() && recorded_verdicts && runs.iter().any(|r| r.check.is_some()) {
        for warning in badge::write(&results.root, &joined_verdicts(&runs))? {
            let _ = writeln!(progress, "run-benchmarks: warning: {warning}");
        }
    }

    let every_suite_failed = runs.iter().all(|r| !r.outcome.is_success());
    let published = match (&config.publish, &repo) {
        (Some(publish), Some(_)) if every_suite_failed && !publish.failed => {
            let recorded: Vec<String> = runs
                .iter()
                .filter(|r| r.outcome.recorded() > 0)
                .map(|r| {
                    let n = r.outcome.recorded();
                    let name = outcome::unit_name(&r.suite.name, r.procs);
                    format!("{name}: {n} benchmark{}", if n == 1 { "" } else { "s" })
                })
                .collect();
            let kept = match recorded.is_empty() {
                true => String::new(),
                false => format!(
                    "; what it recorded ({}) stays in the checkout, and the next --publish run commits it",
                    recorded.join(", ")
                ),
            };
            let _ = writeln!(
                progress,
                "run-benchmarks: every suite failed: nothing committed or pushed (--publish-failed publishes such a run){kept}"
            );
            None
        }
        (Some(publish), Some((repo, _lock))) => Some(publish::publish_results(
            publish,
            repo,
            &results,
            &runs,
            &config.append,
            &run_folder,
            progress,
        )?),
        _ => None,
    };
    // The reports go with `folder` unless a rejected push moved them away (Error::PushFailed).
    drop(folder);
    Ok(RunSummary {
        suites: runs,
        published,
    })
}
