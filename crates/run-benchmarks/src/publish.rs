//! Publishing to the data repository with the `git` command line: add, commit, push, and on a
//! rejected push fetch, reset, re-apply this run's entries and push again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aggregate::AppendOptions;

use crate::{Error, Publish, Published, Results, SuiteRun};

/// A git command that failed; its text has credentials removed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("git {command} failed in {}: {message}", .repo.display())]
pub struct GitError {
    /// The git sub-command, e.g. `push`.
    pub command: String,
    /// The repository.
    pub repo: PathBuf,
    /// git's last words, credentials removed.
    pub message: String,
}

/// A checkout of the data repository we commit to and push from.
#[derive(Debug, Clone)]
pub struct DataRepo {
    /// The work tree.
    pub path: PathBuf,
    /// The branch checked out (possibly not born yet).
    pub branch: String,
    /// The remote to push to, if any.
    pub remote: Option<String>,
}

impl DataRepo {
    /// Opens the checkout at `path`: it must be a git work tree.
    pub fn open(path: &Path) -> Result<Self, GitError> {
        let top = git(path, &["rev-parse", "--show-toplevel"]).map_err(|e| GitError {
            message: format!(
                "{}; --publish needs a git checkout of the data repository",
                e.message
            ),
            ..e
        })?;
        let path = PathBuf::from(top.trim());
        let branch = git(&path, &["symbolic-ref", "--short", "HEAD"])
            .map(|b| b.trim().to_string())
            .map_err(|e| GitError {
                message: format!("{}; check out a branch in the data repository", e.message),
                ..e
            })?;
        let remote = git(&path, &["config", &format!("branch.{branch}.remote")])
            .ok()
            .map(|r| r.trim().to_string())
            .or_else(|| {
                let remotes = git(&path, &["remote"]).unwrap_or_default();
                let remotes: Vec<&str> = remotes.lines().collect();
                if remotes.contains(&"origin") {
                    Some("origin".to_string())
                } else if remotes.len() == 1 {
                    Some(remotes[0].to_string())
                } else {
                    None
                }
            });
        Ok(DataRepo {
            path,
            branch,
            remote,
        })
    }

    fn remote(&self) -> Result<&str, GitError> {
        self.remote.as_deref().ok_or_else(|| GitError {
            command: "push".into(),
            repo: self.path.clone(),
            message:
                "the data repository has no remote to push to; add one (git remote add origin URL) \
                      or pass --no-push"
                    .into(),
        })
    }

    /// Brings the checkout up to date with its remote when that is a fast-forward.
    ///
    /// Returns false (and changes nothing) when there is no remote branch yet or it cannot
    /// fast-forward; a later rejected push is handled by [`DataRepo::reset_to_remote`].
    pub fn fast_forward(&self) -> bool {
        let Some(remote) = &self.remote else {
            return false;
        };
        git(&self.path, &["fetch", "-q", remote, &self.branch]).is_ok()
            && git(&self.path, &["merge", "-q", "--ff-only", "FETCH_HEAD"]).is_ok()
    }

    /// Adds every change below `paths` (new files included) and commits; false if nothing changed.
    pub fn commit(&self, paths: &[&str], message: &str) -> Result<bool, GitError> {
        let mut add = vec!["add", "-A", "--"];
        add.extend_from_slice(paths);
        git(&self.path, &add)?;
        let staged = Command::new("git")
            .args(["diff", "--cached", "--quiet"])
            .current_dir(&self.path)
            .status()
            .map_err(|e| self.error("diff", &e.to_string()))?;
        if staged.success() {
            return Ok(false);
        }
        // A fresh CI runner may have no identity; git refuses to commit without one.
        let mut args: Vec<&str> = Vec::new();
        if git(&self.path, &["config", "user.email"]).is_err() {
            args.extend([
                "-c",
                "user.name=run-benchmarks",
                "-c",
                "user.email=run-benchmarks@localhost",
            ]);
        }
        args.extend(["commit", "-q", "-m", message]);
        git(&self.path, &args)?;
        Ok(true)
    }

    /// Pushes the branch to the remote.
    pub fn push(&self) -> Result<(), GitError> {
        let remote = self.remote()?;
        let refspec = format!("HEAD:refs/heads/{}", self.branch);
        git(&self.path, &["push", "-q", remote, &refspec]).map(|_| ())
    }

    /// Throws away local commits and changes and takes the remote's branch, after a rejected push.
    ///
    /// When the remote has no such branch yet, the rejection was not a race: nothing changes.
    pub fn reset_to_remote(&self) -> Result<(), GitError> {
        let remote = self.remote()?;
        let heads = git(
            &self.path,
            &[
                "ls-remote",
                "--heads",
                remote,
                &format!("refs/heads/{}", self.branch),
            ],
        )?;
        if heads.trim().is_empty() {
            return Ok(());
        }
        git(&self.path, &["fetch", "-q", remote, &self.branch])?;
        git(&self.path, &["reset", "-q", "--hard", "FETCH_HEAD"])?;
        git(&self.path, &["clean", "-q", "-fd", "--", "data", "plots"]).map(|_| ())
    }

    fn error(&self, command: &str, message: &str) -> GitError {
        GitError {
            command: command.into(),
            repo: self.path.clone(),
            message: redact(message),
        }
    }
}

/// Runs `git ARGS` in `repo`; its stdout, or its stderr's last line as the error.
pub(crate) fn git(repo: &Path, args: &[&str]) -> Result<String, GitError> {
    let command = args
        .iter()
        .find(|a| !a.starts_with('-') && !a.contains('='))
        .copied()
        .unwrap_or("git");
    let output: Output = Command::new("git")
        .args(args)
        .current_dir(repo)
        .stdin(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| GitError {
            command: command.into(),
            repo: repo.to_path_buf(),
            message: format!("cannot run git: {e}; install git"),
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect::<Vec<_>>()
        .join(" / ");
    let message = if message.is_empty() {
        format!("exit status {}", output.status)
    } else {
        message
    };
    Err(GitError {
        command: command.into(),
        repo: repo.to_path_buf(),
        message: redact(&message),
    })
}

/// Removes credentials from URLs (`https://user:token@host` becomes `https://***@host`).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                rest = &tail[userinfo_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// The commit message: the measured commit and branch, then a line per suite.
fn commit_message(runs: &[SuiteRun]) -> String {
    let commit = runs
        .iter()
        .find_map(|r| r.recorded.entries.first())
        .and_then(|entry| entry.commit_info.as_ref());
    let id = commit
        .as_ref()
        .and_then(|c| c.id())
        .unwrap_or("unknown commit");
    let short = if id.len() == 40 { &id[..12] } else { id };
    let branch = commit
        .as_ref()
        .and_then(|c| c.branch())
        .unwrap_or("unknown branch");
    let mut message = format!("benchmarks of {short} on {branch}\n\nmeasured commit: {id}\n");
    for run in runs {
        let name = crate::outcome::unit_name(&run.suite.name, run.procs);
        message.push_str(&format!("{name}: {}\n", run.outcome.describe()));
    }
    message
}

pub(crate) fn publish_results(
    publish: &Publish,
    repo: &DataRepo,
    results: &Results,
    runs: &[SuiteRun],
    append: &AppendOptions,
    run_folder: &Path,
    progress: &mut dyn Write,
) -> Result<Published, Error> {
    let message = commit_message(runs);
    let paths = ["data", "plots", ".gitignore"];
    let committed = repo.commit(&paths, &message)?;
    if !publish.push || !committed {
        return Ok(Published {
            committed,
            pushed: false,
            attempts: 0,
        });
    }
    let attempts = publish.attempts.max(1);
    for attempt in 1..=attempts {
        match repo.push() {
            Ok(()) => {
                let _ = writeln!(
                    progress,
                    "run-benchmarks: pushed to {} ({})",
                    repo.remote.as_deref().unwrap_or("?"),
                    repo.branch
                );
                return Ok(Published {
                    committed,
                    pushed: true,
                    attempts: attempt,
                });
            }
            Err(rejection) if attempt == attempts => {
                return Err(Error::PushFailed {
                    source: rejection,
                    attempts,
                    kept: keep_reports(run_folder),
                });
            }
            Err(rejection) => {
                let _ = writeln!(progress, "run-benchmarks: push {attempt}/{attempts} rejected ({}); re-applying this run on the remote's state", rejection.message);
                let reapplied = repo.reset_to_remote().map_err(Error::from).and_then(|()| {
                    for run in runs.iter().filter(|r| !r.recorded.entries.is_empty()) {
                        results.record(&run.suite.name, &run.recorded, append)?;
                    }
                    results.refresh()?;
                    repo.commit(&paths, &message)?;
                    Ok(())
                });
                if let Err(error) = reapplied {
                    let _ = writeln!(progress, "run-benchmarks: error: {error}");
                    return Err(Error::PushFailed {
                        source: rejection,
                        attempts: attempt,
                        kept: keep_reports(run_folder),
                    });
                }
                std::thread::sleep(backoff(attempt));
            }
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// Moves the run's reports somewhere that outlives the run, and says where.
fn keep_reports(run_folder: &Path) -> PathBuf {
    let kept = run_folder.with_file_name(format!(
        "{}-kept",
        run_folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    match std::fs::rename(run_folder, &kept) {
        Ok(()) => kept,
        Err(_) => run_folder.to_path_buf(),
    }
}

/// Waits a little longer after each rejection, with jitter so that racing jobs drift apart.
fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 500)
        .unwrap_or(0);
    Duration::from_millis(250 * u64::from(attempt) + u64::from(jitter))
}

#[cfg(test)]
mod tests {
    use super::{commit_message, redact};
    use crate::{Outcome, Suite, SuiteRun};

    #[test]
    fn the_commit_message_names_each_process_count() {
        let run = |procs, benchmarks| SuiteRun {
            suite: Suite {
                name: "kmeans".into(),
                path: "kmeans".into(),
            },
            procs: Some(procs),
            outcome: Outcome::Recorded {
                benchmarks,
                appended: benchmarks,
            },
            elapsed: std::time::Duration::ZERO,
            recorded: Default::default(),
            check: None,
            notes: Vec::new(),
            log: None,
            leftovers: Vec::new(),
        };
        let message = commit_message(&[run(1, 3), run(2, 3)]);
        assert!(
            message.ends_with("\nkmeans x1: 3 benchmarks\nkmeans x2: 3 benchmarks\n"),
            "{message}"
        );
    }

    #[test]
    fn credentials_in_urls_are_never_shown() {
        assert_eq!(
            redact("fatal: unable to access 'https://x-access-token:ghp_SECRET@github.com/o/r.git/': 403"),
            "fatal: unable to access 'https://***@github.com/o/r.git/': 403"
        );
        assert_eq!(
            redact("ssh://git@host/r and https://host/r"),
            "ssh://***@host/r and https://host/r"
        );
        assert_eq!(redact("no urls here @ all"), "no urls here @ all");
    }
}
