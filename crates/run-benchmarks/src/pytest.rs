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

/// Runs pytest in `folder`, writing its `--benchmark-json` report to `report`.
///
/// Output goes to our stdout and stderr, or into `log` when given.
pub fn run(launch: &Launch, folder: &Path, report: &Path, log: Option<&Path>) -> Execution {
    let started = Instant::now();
    let ending = match spawn(launch, folder, report, log) {
        Ok(child) => wait(child, launch.timeout),
        Err(error) => Ending::NotStarted(error),
    };
    Execution {
        ending,
        elapsed: started.elapsed(),
    }
}

fn spawn(launch: &Launch, folder: &Path, report: &Path, log: Option<&Path>) -> io::Result<Child> {
    let (program, args) = launch.command.split_first().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the pytest command is empty")
    })?;
    let mut command = Command::new(program);
    command
        .args(args)
        .arg("--benchmark-json")
        .arg(report)
        // Leave the source tree as it was: no .pytest_cache, no __pycache__.
        .args(["-p", "no:cacheprovider"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(&launch.extra_args)
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

/// Kills the child's whole process group (its pid is the group id, see `process_group(0)`).
///
/// std can signal only the child itself; `kill -KILL -- -PGID` reaches the processes it started
/// too. Should `kill` be missing, the child alone is killed.
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let killed = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !killed {
        let _ = child.kill();
    }
    let _ = child.wait();
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
