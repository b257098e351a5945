//! The temporary `git worktree` a bisection checks its commits out in: made, moved from commit to
//! commit, removed at the end, and those that ended bisections left behind removed first.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::publish::git;
use crate::GitError;

/// Every worktree we make is named `run-benchmarks-bisect-<pid>-<millis>`: the prefix lets a later
/// bisection recognise it, the pid tells whether the bisection that made it still runs.
const PREFIX: &str = "run-benchmarks-bisect-";

/// A commit: its full id and the first line of its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// 40 hex digits.
    pub id: String,
    /// The subject line.
    pub subject: String,
}

/// The repository that holds `folder`: its top level.
pub fn repository_of(folder: &Path) -> Result<PathBuf, GitError> {
    let top = git(folder, &["rev-parse", "--show-toplevel"]).map_err(|e| GitError {
        message: format!(
            "{}; --bisect needs -d to be a folder inside the git repository whose history is bisected",
            e.message
        ),
        ..e
    })?;
    Ok(PathBuf::from(top.trim()))
}

/// `from`, then every commit after it up to `to`, oldest first, along `to`'s first parents.
///
/// Errors when a name does not resolve, when `from` is not an ancestor of `to`, or when there is
/// no commit between them.
pub fn commits_between(repo: &Path, from: &str, to: &str) -> Result<Vec<Commit>, GitError> {
    let resolve = |name: &str| {
        git(
            repo,
            &[
                "rev-parse",
                "--verify",
                "--end-of-options",
                &format!("{name}^{{commit}}"),
            ],
        )
        .map(|id| id.trim().to_string())
        .map_err(|e| GitError {
            message: format!(
                "{name:?} is not a commit of this repository ({})",
                e.message
            ),
            ..e
        })
    };
    let (from_id, to_id) = (resolve(from)?, resolve(to)?);
    if git(repo, &["merge-base", "--is-ancestor", &from_id, &to_id]).is_err() {
        return Err(GitError {
            command: "merge-base".into(),
            repo: repo.to_path_buf(),
            message: format!(
                "{from} is not an ancestor of {to}: give --bisect OLD..NEW with the older commit first"
            ),
        });
    }
    let log = git(
        repo,
        &[
            "log",
            "--reverse",
            "--first-parent",
            "--ancestry-path",
            "--format=%H %s",
            &format!("{from_id}..{to_id}"),
        ],
    )?;
    let first = git(repo, &["log", "-1", "--format=%H %s", &from_id])?;
    let commits: Vec<Commit> = first
        .lines()
        .chain(log.lines())
        .map(|line| {
            let (id, subject) = line.split_once(' ').unwrap_or((line, ""));
            Commit {
                id: id.to_string(),
                subject: subject.to_string(),
            }
        })
        .collect();
    if commits.len() < 2 {
        return Err(GitError {
            command: "log".into(),
            repo: repo.to_path_buf(),
            message: format!("{from}..{to} holds no commit to bisect"),
        });
    }
    Ok(commits)
}

/// Cleans up after a bisection that ended without doing so itself: Ctrl-C, SIGTERM or SIGKILL.
///
/// std cannot catch signals (and unsafe code is forbidden here), but every process's pipes close
/// when it dies, however it dies: this watcher waits on a pipe from us, in a process group of its
/// own so Ctrl-C does not reach it, and unless told `done` removes the worktree ($2) and the run's
/// temporary folder ($3) of the repository ($1).
const WATCHER: &str = r#"read -r said
[ "$said" = done ] && exit 0
git -C "$1" worktree remove --force --force "$2" >/dev/null 2>&1 || rm -rf "$2"
git -C "$1" worktree prune >/dev/null 2>&1
rm -rf "$3""#;

/// A worktree of the repository at a temporary path; removed when dropped.
#[derive(Debug)]
pub struct Worktree {
    repo: PathBuf,
    /// Its root: the code under test.
    pub path: PathBuf,
    /// See [`WATCHER`]; `None` when `sh` could not be started (the next bisection cleans up).
    watcher: Option<(Child, ChildStdin)>,
}

impl Worktree {
    /// Adds a detached worktree of `repo` at `commit`; should this process be killed, the
    /// worktree and `scratch` (a temporary folder of the run) are removed after it.
    pub fn add(repo: &Path, commit: &str, scratch: &Path) -> Result<Worktree, GitError> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{PREFIX}{}-{stamp}", std::process::id()));
        let text = path.to_string_lossy().into_owned();
        git(repo, &["worktree", "add", "-q", "--detach", &text, commit])?;
        let watcher = Command::new("sh")
            .args(["-c", WATCHER, "run-benchmarks-bisect-watcher"])
            .arg(repo)
            .arg(&path)
            .arg(scratch)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .ok()
            .and_then(|mut child| Some((child.stdin.take()?, child)))
            .map(|(stdin, child)| (child, stdin));
        Ok(Worktree {
            repo: repo.to_path_buf(),
            path,
            watcher,
        })
    }

    /// Checks `commit` out, throwing away whatever a setup command changed in tracked files.
    pub fn checkout(&self, commit: &str) -> Result<(), GitError> {
        git(
            &self.path,
            &["checkout", "-q", "--force", "--detach", commit],
        )
        .map(|_| ())
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        remove(&self.repo, &self.path);
        if let Some((mut child, mut stdin)) = self.watcher.take() {
            let _ = stdin.write_all(b"done\n");
            drop(stdin);
            let _ = child.wait();
        }
    }
}

fn remove(repo: &Path, path: &Path) {
    let text = path.to_string_lossy();
    if git(repo, &["worktree", "remove", "--force", "--force", &text]).is_err() {
        // Files git does not know (a build's output) can make `remove` refuse: delete the folder
        // and let `prune` forget it.
        let _ = std::fs::remove_dir_all(path);
    }
    let _ = git(repo, &["worktree", "prune"]);
}

/// Removes the worktrees of `repo` that earlier bisections made and did not remove (they were
/// ended by Ctrl-C or a signal); those of a bisection still running are left alone.
pub fn remove_stale(repo: &Path) -> Vec<PathBuf> {
    let _ = git(repo, &["worktree", "prune"]);
    let Ok(list) = git(repo, &["worktree", "list", "--porcelain"]) else {
        return Vec::new();
    };
    let stale: Vec<PathBuf> = list
        .lines()
        .filter_map(|line| line.strip_prefix("worktree "))
        .map(PathBuf::from)
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let pid = name
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        })
        .collect();
    for path in &stale {
        remove(repo, path);
    }
    stale
}
