//! Running pytest for one suite: its own process group, our plugin, an optional time limit, its
//! output kept in a log (and passed through), and no process of it left running afterwards.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How pytest is launched for every suite.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The command's words, e.g. `["python", "-m", "pytest"]`; never through a shell.
    pub command: Vec<String>,
    /// Arguments after `--benchmark-json FILE`.
    pub extra_args: Vec<String>,
    /// End the suite and every process it started after this long.
    pub timeout: Option<Duration>,
    /// An MPI launcher template, e.g. `["mpirun", "-n", "{procs}"]`; see [`crate::mpi`].
    pub launcher: Option<Vec<String>>,
    /// Environment variables pytest runs with besides ours (bisection puts the commit under test
    /// first on `PYTHONPATH`).
    pub env: Vec<(String, String)>,
}

/// The pytest plugin loaded into every run: it records failed tests and the running test, and
/// under a launcher keeps the ranks in lockstep (its docstring says how).
const PLUGIN: &str = include_str!("plugin.py");

/// The plugin's module name, for `-p`; its file is written into the run's folder.
const PLUGIN_MODULE: &str = "run_benchmarks_plugin";

/// Writes the plugin into `folder`, which [`run`] puts first on `PYTHONPATH`.
pub fn write_plugin(folder: &Path) -> io::Result<()> {
    std::fs::write(folder.join(format!("{PLUGIN_MODULE}.py")), PLUGIN)
}

impl Launch {
    /// The words pytest runs with: its command, our options, the user's arguments.
    pub(crate) fn pytest_words(&self) -> Vec<String> {
        let mut words = self.command.clone();
        // Leave the source tree as it was: no .pytest_cache (and, below, no __pycache__).
        words.extend(["-p", "no:cacheprovider", "-p", PLUGIN_MODULE].map(String::from));
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
}

/// What the plugin left behind for one pytest process, from the files named by
/// `RUN_BENCHMARKS_STATE` (`STATE.failed`, `STATE.current`, `STATE.error`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct State {
    /// Node ids of the tests that failed.
    pub failed: Vec<String>,
    /// The node id of the test it was in: None before the first test, `Some("")` after the last.
    pub current: Option<String>,
    /// Why the plugin stopped pytest (e.g. mpi4py missing under a launcher).
    pub error: Option<String>,
}

impl State {
    /// Reads the state files of prefix `state`; missing files read as nothing.
    pub fn read(state: &Path) -> State {
        let read = |suffix: &str| {
            let mut path = state.as_os_str().to_owned();
            path.push(suffix);
            std::fs::read_to_string(PathBuf::from(path)).ok()
        };
        State {
            // One JSON string a line: ids may hold newlines.
            failed: read(".failed")
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_str(l).unwrap_or_else(|_| l.to_string()))
                .collect(),
            // "NUMBER<TAB>NODE_ID": the number lets ranks tell who is ahead.
            current: read(".current").map(|c| {
                let c = c.trim();
                c.split_once('\t').map_or(c, |(_, id)| id).to_string()
            }),
            error: read(".error").map(|e| e.trim().to_string()),
        }
    }

    /// Where the process was: `in NODE_ID`, `had finished its tests` or `had not started a test`.
    pub fn place(&self) -> String {
        match self.current.as_deref() {
            Some("") => "had finished its tests".to_string(),
            Some(test) => format!("in {test}"),
            None => "had not started a test".to_string(),
        }
    }
}

/// How a process ended: its exit code, or the signal that killed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl Exit {
    /// What the system says of a child that ended.
    pub fn of(status: ExitStatus) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Code(-1),
        }
    }

    /// A shell's `$?` for a command: 128 + N when signal N killed it.
    pub fn from_shell(code: i32) -> Exit {
        match code {
            129..=192 => Exit::Signal(code - 128),
            code => Exit::Code(code),
        }
    }

    /// Whether it exited with this code.
    pub fn is(&self, code: i32) -> bool {
        *self == Exit::Code(code)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Exit::Code(code) => write!(f, "exited with {code}"),
            Exit::Signal(signal) => {
                let name = match signal {
                    1 => "SIGHUP",
                    2 => "SIGINT",
                    3 => "SIGQUIT",
                    4 => "SIGILL",
                    6 => "SIGABRT",
                    7 => "SIGBUS",
                    8 => "SIGFPE",
                    9 => "SIGKILL",
                    11 => "SIGSEGV",
                    13 => "SIGPIPE",
                    14 => "SIGALRM",
                    15 => "SIGTERM",
                    24 => "SIGXCPU",
                    _ => return write!(f, "was killed by signal {signal}"),
                };
                write!(f, "was killed by signal {signal} ({name})")
            }
        }
    }
}

/// How one pytest process ended.
#[derive(Debug)]
pub enum Ending {
    /// It ran to its end with this status.
    Exited(ExitStatus),
    /// It could not be started at all.
    NotStarted(io::Error),
    /// It ran past the time limit and its processes were ended.
    TimedOut,
}

/// A process the suite started that was still running after pytest (or at the time limit),
/// found by the run's mark in its environment, and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// Its process id.
    pub pid: u32,
    /// Its command line.
    pub command: String,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Arguments may hold newlines; the line it goes into must stay one line.
        let command = bench_model::shown(Path::new(&self.command));
        write!(f, "pid {} ({command})", self.pid)
    }
}

/// One pytest process and what came of it.
#[derive(Debug)]
pub struct Execution {
    /// How it ended.
    pub ending: Ending,
    /// How long it ran.
    pub elapsed: Duration,
    /// The processes it left running, which were ended.
    pub leftovers: Vec<Leftover>,
}

/// One pytest process to run.
pub struct Job<'a> {
    /// Its command line (see [`Launch::single`] and [`crate::mpi`]).
    pub words: Vec<String>,
    /// The folder it runs in: the suite's.
    pub folder: &'a Path,
    /// End it and every process it started after this long.
    pub timeout: Option<Duration>,
    /// Where its output is kept, always (appended to).
    pub log: &'a Path,
    /// Pass its output through to our stdout as well (without `--quiet`).
    pub echo: bool,
    /// The folder holding the plugin (see [`write_plugin`]).
    pub plugin: &'a Path,
    /// The plugin's state prefix for this process (see [`State`]).
    pub state: &'a Path,
    /// Environment variables besides ours (see [`Launch::env`]).
    pub env: &'a [(String, String)],
    /// Asked while it runs: true ends it and every process it started, as the time limit does
    /// (under a launcher: a rank has failed and the launcher would keep the others waiting).
    pub stop: Option<&'a dyn Fn() -> bool>,
}

/// The environment variable that marks every process of one run, inherited by all descendants,
/// including daemons that double-fork and leave the process group.
const RUN_MARK: &str = "RUN_BENCHMARKS_RUN_ID";

/// Runs `job`; afterwards (and at the time limit) ends every process that carries its mark.
pub fn run(job: &Job) -> Execution {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let mark = format!(
        "{}-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let started = Instant::now();
    let (ending, copier) = match spawn(job, &mark) {
        Ok((child, copier)) => {
            // Should this run be killed, its watcher ends the group and the marked processes.
            crate::watch::tell(&format!("group {} {mark}", child.id()));
            (wait(child, job.timeout, job.stop), Some(copier))
        }
        Err(error) => (Ending::NotStarted(error), None),
    };
    let elapsed = started.elapsed();
    let leftovers = end_marked(&mark);
    crate::watch::tell("ended");
    if let Some(copier) = copier {
        // The output ends when the last holder of the pipe is gone; a process that wiped its
        // environment escapes the mark, so its copy of the pipe must not keep us waiting.
        let patience = Instant::now() + Duration::from_secs(2);
        while !copier.is_finished() && Instant::now() < patience {
            std::thread::sleep(Duration::from_millis(20));
        }
        if copier.is_finished() {
            let _ = copier.join();
        }
    }
    Execution {
        ending,
        elapsed,
        leftovers,
    }
}

fn spawn(job: &Job, mark: &str) -> io::Result<(Child, JoinHandle<()>)> {
    let (program, args) = job.words.split_first().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the pytest command is empty")
    })?;
    // Appended to: a suite's confirmation reruns add to its log.
    let log = File::options().create(true).append(true).open(job.log)?;
    // The plugin first, then the PYTHONPATH the run asks for (bisection's) or the inherited one.
    let mut python_path = job.plugin.as_os_str().to_owned();
    let existing = match job.env.iter().rev().find(|(k, _)| k == "PYTHONPATH") {
        Some((_, path)) => Some(path.into()),
        None => std::env::var_os("PYTHONPATH"),
    };
    if let Some(existing) = existing.filter(|p| !p.is_empty()) {
        python_path.push(":");
        python_path.push(existing);
    }
    let (mut reader, writer) = io::pipe()?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .env("PYTHONPATH", python_path)
        .env("RUN_BENCHMARKS_STATE", job.state)
        .env(RUN_MARK, mark)
        .current_dir(job.folder)
        .stdin(Stdio::null())
        // One pipe for both, so the log keeps pytest's order.
        .stdout(writer.try_clone()?)
        .stderr(writer)
        // A group of its own, so a time-out can end pytest and everything it started.
        .process_group(0);
    let child = command.spawn()?;
    // Our copies of the pipe's write end go with `command`: the copier sees the end of output.
    drop(command);
    let echo = job.echo;
    let copier = std::thread::spawn(move || {
        let mut log = crate::log::CappedLog::new(log);
        let mut buffer = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let _ = log.write(&buffer[..n]);
            if echo {
                let mut stdout = io::stdout().lock();
                let _ = stdout.write_all(&buffer[..n]);
                let _ = stdout.flush();
            }
        }
        let _ = log.finish();
    });
    Ok((child, copier))
}

fn wait(mut child: Child, timeout: Option<Duration>, stop: Option<&dyn Fn() -> bool>) -> Ending {
    if timeout.is_none() && stop.is_none() {
        return match child.wait() {
            Ok(status) => Ending::Exited(status),
            Err(error) => Ending::NotStarted(error),
        };
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ending::Exited(status),
            Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => {
                kill_group(&mut child);
                return Ending::TimedOut;
            }
            Ok(None) if stop.is_some_and(|stop| stop()) => {
                kill_group(&mut child);
                return match child.wait() {
                    Ok(status) => Ending::Exited(status),
                    Err(error) => Ending::NotStarted(error),
                };
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
        let mut args = vec![format!("-{leader}")];
        args.extend(pids.iter().map(u32::to_string));
        send(name, &args)
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

/// `kill SIGNAL -- TARGETS...`; whether `kill` ran.
fn send(signal: &str, targets: &[String]) -> bool {
    Command::new("kill")
        .arg(signal)
        .arg("--")
        .args(targets)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Every live process: (pid, parent pid), from /proc (empty where there is none). Zombies are
/// left out: they are already gone, waiting for their parent to notice.
fn processes() -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
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
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        if let (false, Some(ppid)) = (
            state.starts_with(['Z', 'X']),
            fields.next().and_then(|p| p.parse::<u32>().ok()),
        ) {
            found.push((pid, ppid));
        }
    }
    found
}

/// Every process below `root` in the process tree.
fn descendants(root: u32) -> Vec<u32> {
    let parents = processes();
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

/// Ends every process whose environment carries `RUN_BENCHMARKS_RUN_ID=mark`: SIGTERM, then
/// SIGKILL for those still there after a grace period. Returns them.
fn end_marked(mark: &str) -> Vec<Leftover> {
    let entry = format!("{RUN_MARK}={mark}");
    let marked = || -> Vec<u32> {
        processes()
            .into_iter()
            .map(|(pid, _)| pid)
            .filter(|&pid| pid != std::process::id())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|&b| b == 0).any(|e| e == entry.as_bytes()))
            })
            .collect()
    };
    let found: Vec<Leftover> = marked()
        .into_iter()
        .map(|pid| Leftover {
            pid,
            command: std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .split('\0')
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
        })
        .collect();
    if found.is_empty() {
        return found;
    }
    let pids: Vec<String> = found.iter().map(|l| l.pid.to_string()).collect();
    send("-TERM", &pids);
    let grace = Instant::now() + Duration::from_secs(2);
    while Instant::now() < grace && !marked().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still: Vec<String> = marked().iter().map(u32::to_string).collect();
    if !still.is_empty() {
        send("-KILL", &still);
    }
    found
}

/// Whether pytest's output in `log` says it does not know pytest-benchmark's options: the
/// plugin is not installed in the environment pytest runs in.
pub fn lacks_benchmark_plugin(log: &Path) -> bool {
    std::fs::read(log).is_ok_and(|bytes| {
        String::from_utf8_lossy(&bytes)
            .lines()
            .any(|l| l.contains("unrecognized arguments:") && l.contains("--benchmark-"))
    })
}

/// The quote character `text` opens and never closes, if any: `split_command` would take the rest
/// of the line as one word, which is never what was meant.
pub fn unclosed_quote(text: &str) -> Option<char> {
    let mut quote = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
        }
    }
    quote
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugins_state_files_say_where_pytest_was_and_what_failed() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("rank-1");
        assert_eq!(State::read(&state).place(), "had not started a test");
        std::fs::write(
            dir.path().join("rank-1.current"),
            "3\ttest_k.py::test_fit[a b]",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("rank-1.failed"),
            "\"test_k.py::x\"\n\"test_k.py::y[a\\nb]\"\n",
        )
        .unwrap();
        let read = State::read(&state);
        assert_eq!(read.place(), "in test_k.py::test_fit[a b]");
        assert_eq!(read.failed, ["test_k.py::x", "test_k.py::y[a\nb]"]);
        assert_eq!(read.error, None);
        std::fs::write(dir.path().join("rank-1.current"), "").unwrap();
        assert_eq!(State::read(&state).place(), "had finished its tests");
    }

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
        assert_eq!(
            unclosed_quote("'/opt/my venv/bin/pytest' -p \"no:x\""),
            None
        );
        assert_eq!(unclosed_quote("'/opt/my venv/bin/pytest -p x"), Some('\''));
        assert_eq!(unclosed_quote("pytest -k \"it's"), Some('"'));
    }
}
