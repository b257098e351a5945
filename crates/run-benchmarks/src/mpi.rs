//! Scaling runs under an MPI launcher: the launch command and rank wrapper, every rank's report,
//! log and state, their merge into one report, and what is said when ranks fail or hang.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bench_model::Report;

use crate::outcome::Outcome;
use crate::pytest::{self, Exit, Launch, Leftover, State};

/// The time limit of one suite at one process count when `--timeout` is not given: a collective
/// left waiting for a rank hangs until killed, and a batch job should not sit until its wall time.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// How long the launcher may keep running after one of its ranks exited with a failure before
/// it is ended with every rank: long enough for a launcher that ends the job itself (mpirun) to
/// do so, short enough that one that does not (srun by default) costs seconds, not the limit.
const AFTER_A_RANK_FAILED: Duration = Duration::from_secs(3);

/// Runs pytest as one MPI rank with its own report, log and plugin state, and records its exit
/// code: ranks must never write one file, and a failed rank must be named. Only rank 0's output
/// is passed through (with ECHO `echo`), so the terminal shows one pytest, not the ranks'
/// interleaved lines; every rank's output is in its log. Arguments: FOLDER ECHO PYTEST...
const RANK_WRAPPER: &str = r#"#!/bin/sh
# Written by run-benchmarks: one MPI rank's pytest, with its own report, log and state files.
rank=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${PMIX_RANK:-${SLURM_PROCID:-${MV2_COMM_WORLD_RANK:-0}}}}}
dir=$1
echo=$2
shift 2
export RUN_BENCHMARKS_STATE="$dir/rank-$rank" RUN_BENCHMARKS_RANKS="$dir" RUN_BENCHMARKS_LOCKSTEP=1
if [ "$echo" = echo ] && [ "$rank" = 0 ]; then
  { "$@" --benchmark-json "$dir/rank-$rank.json" 2>&1; echo "$?" > "$dir/rank-$rank.exit"; } | tee "$dir/rank-$rank.log"
else
  "$@" --benchmark-json "$dir/rank-$rank.json" > "$dir/rank-$rank.log" 2>&1
  echo "$?" > "$dir/rank-$rank.exit"
fi
exit "$(cat "$dir/rank-$rank.exit" 2>/dev/null || echo 1)"
"#;

/// A rank's files in the ranks' folder: `rank-R` plus `.json`, `.exit`, `.log` and the plugin's
/// state suffixes.
fn rank_file(folder: &Path, rank: u32, suffix: &str) -> PathBuf {
    folder.join(format!("rank-{rank}{suffix}"))
}

/// Runs a suite's pytest as `procs` ranks under the launcher, leaving their merged report at
/// `report` (Ok) or saying why there is none (Err); the ranks' own files go beside it. Also
/// returns how long it took and the processes it left running.
pub(crate) fn execute(
    launch: &Launch,
    suite: &Path,
    procs: u32,
    report: &Path,
    log: &Path,
    echo: bool,
) -> (Result<(), Outcome>, Duration, Vec<Leftover>) {
    let run_folder = report.parent().expect("a report in the run folder");
    let ranks = report.with_extension("ranks");
    let wrapper = run_folder.join("rank-wrapper.sh");
    let launcher = launch
        .launcher
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|w| w.replace("{procs}", &procs.to_string()))
        .collect::<Vec<_>>();
    if let Err(error) = std::fs::create_dir_all(&ranks).and_then(|()| write_wrapper(&wrapper)) {
        return (
            Err(Outcome::WriteError {
                error: error.to_string(),
            }),
            Duration::ZERO,
            Vec::new(),
        );
    }
    let mut words = launcher.clone();
    words.push(wrapper.to_string_lossy().into_owned());
    words.push(ranks.to_string_lossy().into_owned());
    words.push(if echo { "echo" } else { "quiet" }.to_string());
    words.extend(launch.pytest_words());
    // A rank whose pytest exited with a failure leaves the others waiting in a collective (or
    // in MPI_Finalize) for a rank that is gone: after a moment the launcher is ended with them.
    let failed_since: Cell<Option<Instant>> = Cell::new(None);
    let a_rank_failed = || {
        let failed = (0..procs).any(|rank| rank_exit(&ranks, rank).is_some_and(|e| !e.is(0)));
        if failed && failed_since.get().is_none() {
            failed_since.set(Some(Instant::now()));
        }
        failed_since
            .get()
            .is_some_and(|since| since.elapsed() >= AFTER_A_RANK_FAILED)
    };
    // Where this launch's own output starts in the log (confirmation reruns append to it).
    let start = std::fs::metadata(log).map_or(0, |m| m.len());
    let execution = pytest::run(&pytest::Job {
        words,
        folder: suite,
        timeout: launch.timeout,
        log,
        echo,
        plugin: run_folder,
        state: &ranks.join("launcher"),
        env: &launch.env,
        stop: Some(&a_rank_failed),
    });
    append_rank_logs(&ranks, procs, log);
    let merged = match execution.ending {
        pytest::Ending::NotStarted(error) => Err(Outcome::NotStarted {
            command: launcher.join(" "),
            error: error.to_string(),
        }),
        pytest::Ending::TimedOut => Err(Outcome::TimedOut {
            after: launch.timeout.unwrap_or_default(),
            running: (0..procs)
                .map(|rank| {
                    let place = State::read(&rank_file(&ranks, rank, "")).place();
                    format!("rank {rank} of {procs} {place}")
                })
                .collect(),
        }),
        pytest::Ending::Exited(_) => merge_rank_reports(&ranks, procs, report),
    };
    let merged = merged.map_err(|outcome| match outcome {
        Outcome::RanksFailed {
            procs, ranks: why, ..
        } => Outcome::RanksFailed {
            procs,
            ranks: why,
            launcher: launcher_refusal(log, start, &ranks, procs),
        },
        other => other,
    });
    (merged, execution.elapsed, execution.leftovers)
}

/// What launchers say when they refuse to start the ranks, or the ranks refuse to start under
/// them, and what to do about it.
const REFUSALS: [(&str, &str); 4] = [
    (
        "has detected an attempt to run as root",
        "as root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in \
         the environment (or --allow-run-as-root in --launcher)",
    ),
    (
        "not enough slots available",
        "add --oversubscribe to --launcher, or ask for no more --procs than the machine has cores",
    ),
    (
        "not built with SLURM's PMI support",
        "srun must start Open MPI's ranks with PMIx: add --mpi=pmix to --launcher or export \
         SLURM_MPI_TYPE=pmix (srun --mpi=list shows what your Slurm has)",
    ),
    (
        "More processors requested than permitted",
        "the job has fewer tasks than --procs asks for: submit it with --ntasks at least the \
         largest --procs",
    ),
];

/// The launcher's own refusal, found in its output (the log from `start`) or in a rank's: the
/// sentence that says it, with what to do. Without a known one, when no rank left an exit code
/// (none ran), the launcher's first line of its own.
fn launcher_refusal(log: &Path, start: u64, ranks: &Path, procs: u32) -> Option<String> {
    use std::io::{Read, Seek};
    let mut own = String::new();
    if let Ok(mut file) = std::fs::File::open(log) {
        let _ = file.seek(std::io::SeekFrom::Start(start));
        let _ = file.take(crate::log::KEPT as u64).read_to_string(&mut own);
    }
    let outputs: Vec<String> = std::iter::once(own.clone())
        .chain((0..procs).filter_map(|rank| {
            let text = std::fs::read(rank_file(ranks, rank, ".log")).ok()?;
            Some(String::from_utf8_lossy(&text[..text.len().min(crate::log::KEPT)]).into_owned())
        }))
        .collect();
    for (sign, what_to_do) in REFUSALS {
        if let Some(said) = outputs.iter().find_map(|text| sentence_with(text, sign)) {
            return Some(format!("{said:?} ({what_to_do})"));
        }
    }
    let none_ran = (0..procs).all(|rank| rank_exit(ranks, rank).is_none());
    let first = own
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("---") && !l.starts_with("=="))?;
    none_ran.then(|| format!("{:?}", first.chars().take(300).collect::<String>()))
}

/// The sentence of `text` holding `sign`: launchers wrap their messages into paragraphs, so the
/// paragraph's lines are joined first, and the sentence ends at its first full stop. Blank lines
/// end a paragraph, and so do lines that are not prose: rules (`---`), tagged lines
/// (`[host:pid] ...`) and our own headers (`==> rank 0 ...`), which stand alone.
fn sentence_with(text: &str, sign: &str) -> Option<String> {
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines().map(str::trim) {
        let alone = line.starts_with(['-', '*', '[', '=']);
        if line.is_empty() || alone {
            paragraphs.push(Vec::new());
        }
        if !line.is_empty() {
            paragraphs.last_mut().expect("one at least").push(line);
        }
        if alone {
            paragraphs.push(Vec::new());
        }
    }
    let joined = paragraphs
        .iter()
        .map(|lines| lines.join(" "))
        .find(|p| p.contains(sign))?;
    let from = joined
        .find(sign)
        .map_or(0, |at| joined[..at].rfind(". ").map_or(0, |stop| stop + 2));
    let sentence = &joined[from..];
    let end = sentence.find(". ").map_or(sentence.len(), |stop| stop + 1);
    Some(sentence[..end].chars().take(300).collect())
}

fn write_wrapper(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !path.exists() {
        std::fs::write(path, RANK_WRAPPER)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Appends each rank's output to the suite's log, one after the other, after the launcher's own.
fn append_rank_logs(ranks: &Path, procs: u32, log: &Path) {
    use std::io::Write;
    let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(log) else {
        return;
    };
    for rank in 0..procs {
        let rank_log = rank_file(ranks, rank, ".log");
        if rank_log.is_file() {
            let _ = writeln!(file, "\n==> rank {rank} of {procs}: pytest's output <==");
            if let Ok(copy) = file.try_clone() {
                let _ = crate::log::append_capped(&rank_log, copy);
            }
        }
    }
}

/// How rank `rank`'s pytest ended, from the exit code its wrapper wrote (none: it never ran,
/// or the wrapper itself was killed).
fn rank_exit(folder: &Path, rank: u32) -> Option<Exit> {
    std::fs::read_to_string(rank_file(folder, rank, ".exit"))
        .ok()
        .and_then(|c| c.trim().parse::<i32>().ok())
        .map(Exit::from_shell)
}

/// Reads the reports of ranks `0..procs` from `folder` and, when every rank succeeded, writes
/// their merge to `report`; otherwise says which ranks failed. A test that failed on a rank fails
/// that rank's pytest, so a merged report holds no failed test.
///
/// The rank that failed first (the one that says why it stopped the job, or failed a test, or
/// exited with a failure, in that order) is named with its cause; ranks the launcher or the time
/// limit ended because of it (no exit code, or killed by a signal) are said to have been ended
/// when it failed.
fn merge_rank_reports(folder: &Path, procs: u32, report: &Path) -> Result<(), Outcome> {
    let exits: Vec<Option<Exit>> = (0..procs).map(|rank| rank_exit(folder, rank)).collect();
    let states: Vec<State> = (0..procs)
        .map(|rank| State::read(&rank_file(folder, rank, "")))
        .collect();
    let first = |found: &dyn Fn(usize) -> bool| (0..procs as usize).find(|&rank| found(rank));
    let cause = first(&|r| states[r].error.is_some())
        .or_else(|| first(&|r| !states[r].failed.is_empty()))
        .or_else(|| first(&|r| exits[r].is_some_and(|e| !e.is(0))));
    let mut failed = Vec::new();
    let mut reports = Vec::new();
    for rank in 0..procs {
        let (exit, state) = (exits[rank as usize], &states[rank as usize]);
        let ended_with_it = cause.is_some_and(|c| c != rank as usize)
            && state.error.is_none()
            && state.failed.is_empty()
            && matches!(exit, None | Some(Exit::Signal(_)));
        let why = match (exit, Report::read(&rank_file(folder, rank, ".json"))) {
            (Some(Exit::Code(0)), Ok(read)) => {
                reports.push(read.report);
                continue;
            }
            // The plugin's own words: why it stopped this rank or the whole run.
            _ if state.error.is_some() => state.error.clone().unwrap_or_default(),
            _ if ended_with_it => {
                format!("was ended when rank {} failed", cause.unwrap_or_default())
            }
            _ if !state.failed.is_empty() => {
                let how = exit.map_or(String::new(), |e| format!(" (pytest {e})"));
                format!("failed {}{how}", state.failed.join(", "))
            }
            (None, _) => "never ran or was killed (no exit code)".to_string(),
            (Some(Exit::Code(0)), Err(error)) => format!("wrote no usable report: {error}"),
            (Some(exit @ Exit::Signal(_)), _) => format!("{exit} {}", state.place()),
            (Some(exit), _) => format!("failed: pytest {exit}"),
        };
        failed.push((rank, why));
    }
    if !failed.is_empty() {
        return Err(Outcome::RanksFailed {
            procs,
            ranks: failed,
            launcher: None,
        });
    }
    let merged = Report::merge_ranks(reports, procs);
    let written = bench_model::json::to_pretty_vec(&merged)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(report, text));
    written.map_err(|error| Outcome::WriteError {
        error: format!("{}: {error}", report.display()),
    })
}
