//! Running pytest for one suite: its own process group, an optional time limit, output passed
//! through or kept in a log.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How pytest is launched for every suite.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The command's words, e.g. `["python", "-m", "pytest"]`; never through a shell.
    pub command: Vec<String>,
    /// Arguments after `--benchmark-json FILE`.
    pub extra_args: Vec<String>,
    /// Kill the suite's whole process group after this long.
    pub timeout: Option<Duration>,
    /// An MPI launcher template, e.g. `["mpirun", "-n", "{procs}"]`; each rank then writes its
    /// own report (see [`RANK_WRAPPER`]).
    pub launcher: Option<Vec<String>>,
    /// Environment variables pytest runs with besides ours (bisection puts the commit under test
    /// first on `PYTHONPATH`).
    pub env: Vec<(String, String)>,
}

/// Runs pytest as one MPI rank with a report path of its own, and records its exit code: ranks
/// must never write one file, and a failed rank must be named. Arguments: FOLDER PYTEST...
pub const RANK_WRAPPER: &str = r#"#!/bin/sh
# Written by run-benchmarks: one MPI rank's pytest, with its own --benchmark-json path.
rank=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${PMIX_RANK:-${SLURM_PROCID:-${MV2_COMM_WORLD_RANK:-0}}}}}
dir=$1
shift
"$@" --benchmark-json "$dir/rank-$rank.json"
code=$?
echo "$code" > "$dir/rank-$rank.exit"
exit "$code"
"#;

/// Where a rank's report and exit code go.
pub fn rank_files(folder: &Path, rank: u32) -> (PathBuf, PathBuf) {
    (
        folder.join(format!("rank-{rank}.json")),
        folder.join(format!("rank-{rank}.exit")),
    )
}

impl Launch {
    /// The words pytest runs with: its command, our options, the user's arguments.
    fn pytest_words(&self) -> Vec<String> {
        let mut words = self.command.clone();
        // Leave the source tree as it was: no .pytest_cache (and, below, no __pycache__).
        words.extend(["-p".to_string(), "no:cacheprovider".to_string()]);
        words.extend(self.extra_args.iter().cloned());
        words
    }

    /// The whole command line for one run writing its report to `report`.
    pub fn single(&self, report: &Path) -> Vec<String> {
        let mut words = self.pytest_words();
        words.extend([
            "--benchmark-json".to_string(),
            report.to_string_lossy().into_owned(),
        ]);
        words
    }

    /// The whole command line for `procs` ranks, each writing into `rank_folder` through `wrapper`.
    pub fn ranks(&self, procs: u32, wrapper: &Path, rank_folder: &Path) -> Vec<String> {
        let launcher = self.launcher.as_deref().unwrap_or_default();
        let mut words: Vec<String> = launcher
            .iter()
            .map(|w| w.replace("{procs}", &procs.to_string()))
            .collect();
        words.push(wrapper.to_string_lossy().into_owned());
        words.push(rank_folder.to_string_lossy().into_owned());
        words.extend(self.pytest_words());
        words
    }
}

/// How one pytest process ended.
#[derive(Debug)]
pub enum Ending {
    /// It ran to its end with this status.
    Exited(ExitStatus),
    /// It could not be started at all.
    NotStarted(io::Error),
    /// It ran past the time limit and its process group was killed.
    TimedOut,
}

/// One pytest process and what came of it.
#[derive(Debug)]
pub struct Execution {
    /// How it ended.
    pub ending: Ending,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `words` (a pytest command line, see [`Launch::single`] and [`Launch::ranks`]) in `folder`.
///
/// Output goes to our stdout and stderr, or into `log` when given.
pub fn run(
    words: &[String],
    folder: &Path,
    env: &[(String, String)],
    timeout: Option<Duration>,
    log: Option<&Path>,
) -> Execution {
    let started = Instant::now();
    let ending = match spawn(words, folder, env, log) {
        Ok(child) => wait(child, timeout),
        Err(error) => Ending::NotStarted(error),
    };
    Execution {
        ending,
        elapsed: started.elapsed(),
    }
}

fn spawn(
    words: &[String],
    folder: &Path,
    env: &[(String, String)],
    log: Option<&Path>,
) -> io::Result<Child> {
    let (program, args) = words.split_first().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the pytest command is empty")
    })?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(folder)
        .stdin(Stdio::null())
        // A group of its own, so a time-out can end pytest and everything it started.
        .process_group(0);
    if let Some(log) = log {
        let file = File::create(log)?;
        command.stdout(file.try_clone()?).stderr(file);
    }
    command.spawn()
}

fn wait(mut child: Child, timeout: Option<Duration>) -> Ending {
    let Some(timeout) = timeout else {
        return match child.wait() {
            Ok(status) => Ending::Exited(status),
            Err(error) => Ending::NotStarted(error),
        };
    };
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ending::Exited(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                return Ending::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => return Ending::NotStarted(error),
        }
    }
}

/// Ends the child, its process group and every process it started.
///
/// std can signal only the child itself; `kill` reaches the group (`-PGID`, the child's pid, see
/// `process_group(0)`) and the child's descendants found in /proc, which matters because MPI
/// launchers start their ranks in process groups of their own. First SIGTERM, which lets a
/// launcher such as mpirun take its ranks down cleanly, then after a grace period SIGKILL.
fn kill_group(child: &mut Child) {
    let leader = child.id();
    // Collected before any signal: once the launcher dies, its ranks are re-parented and lost.
    let mut targets = descendants(leader);
    let signal = |name: &str, pids: &[u32]| {
        let mut args = vec![name.to_string(), "--".to_string(), format!("-{leader}")];
        args.extend(pids.iter().map(u32::to_string));
        Command::new("kill")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if signal("-TERM", &targets) {
        let grace = Instant::now() + Duration::from_secs(3);
        while Instant::now() < grace && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    targets.extend(descendants(leader));
    if !signal("-KILL", &targets) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// Every process below `root` in the process tree, from /proc (empty where there is none).
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses; skip past the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &parents {
            if ppid == parent && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

/// Splits `--pytest 'python -m pytest'` into words, honouring single and double quotes.
pub fn split_command(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The words of `--pytest`, with a relative program path (`.venv/bin/pytest`) made absolute:
/// pytest runs in each suite's folder, where the path would no longer lead anywhere.
pub fn command_words(text: &str) -> Vec<String> {
    let mut words = split_command(text);
    if let Some(program) = words.first_mut() {
        let path = Path::new(program.as_str());
        if path.is_relative() && path.components().count() > 1 {
            if let Ok(absolute) = std::path::absolute(path) {
                *program = absolute.to_string_lossy().into_owned();
            }
        }
    }
    words
}

/// A path for a file of this run, outside the source tree.
pub fn run_folder() -> io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let folder =
        std::env::temp_dir().join(format!("run-benchmarks-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_into_words_with_quotes() {
        assert_eq!(
            split_command("python -m pytest"),
            ["python", "-m", "pytest"]
        );
        assert_eq!(
            split_command("'/opt/my venv/bin/pytest'  -p \"no:cacheprovider\""),
            ["/opt/my venv/bin/pytest", "-p", "no:cacheprovider"]
        );
        assert_eq!(split_command("a ''"), ["a", ""]);
        assert!(split_command("  ").is_empty());
    }
}
