//! Publishing to the data repository with the `git` command line: a checkout locked for the run
//! and refused while it holds the user's work, commit, push, and after a rejected push every
//! local run carried onto the remote's state.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aggregate::{AppendOptions, Loaded};
use bench_model::{inert, HistoryEntry};

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
    /// The folder given to `--publish`: where `data/` and `plots/` are. Git runs here, so
    /// pathspecs are relative to it even when it is a sub-folder of the work tree.
    pub path: PathBuf,
    /// The work tree's top.
    pub top: PathBuf,
    /// `path` relative to `top`, with a trailing slash (empty at the top).
    pub prefix: String,
    /// The branch checked out (possibly not born yet).
    pub branch: String,
    /// The remote to push to, if any.
    pub remote: Option<String>,
}

/// Held while a run uses the checkout: two runs in one checkout take turns.
#[derive(Debug)]
pub struct CheckoutLock {
    _file: File,
}

/// What every `git add` leaves out, whatever the repository's ignore rules say: our locks,
/// temporaries and the archive's index, a cache each checkout keeps for itself (see
/// `bench_model::fsio` and `bench_model::archive`).
const NEVER_ADDED: [&str; 3] = [
    ":(exclude,glob)**/.*.lock",
    ":(exclude,glob)**/.*.tmp.*",
    ":(exclude,glob)**/archive/.index.json",
];

/// What `run-benchmarks` commits, relative to the `--publish` folder.
const PUBLISHED: [&str; 5] = ["data", "plots", ".gitignore", "badge.svg", "badge.json"];

/// Names the local commit while a carry (see `DataRepo::carry_onto`) has moved HEAD away from it.
const CARRYING: &str = "refs/run-benchmarks/carrying";

/// Git's name for the empty tree: the base of two histories that share no commit.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

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
        let prefix = git(path, &["rev-parse", "--show-prefix"])?
            .trim_end_matches('\n')
            .to_string();
        let top = PathBuf::from(top.trim_end_matches('\n'));
        let branch = git(path, &["symbolic-ref", "--short", "HEAD"])
            .map(|b| b.trim().to_string())
            .map_err(|e| GitError {
                message: format!("{}; check out a branch in the data repository", e.message),
                ..e
            })?;
        let remote = git(path, &["config", &format!("branch.{branch}.remote")])
            .ok()
            .map(|r| r.trim().to_string())
            .or_else(|| {
                let remotes = git(path, &["remote"]).unwrap_or_default();
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
            path: path.to_path_buf(),
            top,
            prefix,
            branch,
            remote,
        })
    }

    /// Locks the checkout for this run; `waiting` is called once if another run holds it.
    pub fn lock(&self, waiting: impl FnOnce()) -> Result<CheckoutLock, GitError> {
        // Inside the git folder: never in the work tree, never committed.
        let path = self.git_path("run-benchmarks.lock")?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.error("lock", &format!("{}: {e}", path.display())))?;
        if file.try_lock().is_err() {
            waiting();
            file.lock()
                .map_err(|e| self.error("lock", &format!("{}: {e}", path.display())))?;
        }
        Ok(CheckoutLock { _file: file })
    }

    /// Refuses a checkout in the middle of a merge, rebase, cherry-pick or revert, or holding
    /// changes of the user's: publishing must never commit, reset or delete them. Returns the
    /// files of ours an earlier run wrote and did not commit (it was killed, or every suite
    /// failed), which this run commits.
    pub fn check_ready(&self) -> Result<Vec<String>, Error> {
        for (marker, what, finish) in [
            ("MERGE_HEAD", "a merge", "git commit, or git merge --abort"),
            (
                "rebase-merge",
                "a rebase",
                "git rebase --continue, or git rebase --abort",
            ),
            (
                "rebase-apply",
                "a rebase or git am",
                "git rebase --continue, or git rebase --abort",
            ),
            (
                "CHERRY_PICK_HEAD",
                "a cherry-pick",
                "git cherry-pick --continue, or git cherry-pick --abort",
            ),
            (
                "REVERT_HEAD",
                "a revert",
                "git revert --continue, or git revert --abort",
            ),
        ] {
            if self.git_path(marker)?.exists() {
                return Err(self.not_ready(format!(
                    "{what} is in progress in this checkout; finish it ({finish}), then run again"
                )));
            }
        }
        let (ours, theirs): (Vec<Change>, Vec<Change>) = self
            .status(&[])?
            .into_iter()
            .partition(|c| c.is_addition() && self.is_own(&c.path));
        let ours: Vec<String> = ours.into_iter().map(|c| c.path).collect();
        if theirs.is_empty() {
            return Ok(ours);
        }
        let listed: Vec<String> = theirs
            .iter()
            .take(10)
            .map(|c| format!("{} ({})", c.path.escape_debug(), c.describe()))
            .collect();
        let more = match theirs.len() {
            n if n > 10 => format!(" and {} more (git status lists them)", n - 10),
            _ => String::new(),
        };
        let aside: Vec<String> = theirs.iter().map(|c| shell_word(&c.path)).collect();
        let kept = match ours.is_empty() {
            true => String::new(),
            false => format!(
                "; what an earlier run of run-benchmarks wrote and did not commit ({}) stays as \
                 it is and is committed by the first run after that",
                ours.iter()
                    .map(|p| p.escape_debug().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Err(self.not_ready(format!(
            "it holds uncommitted changes run-benchmarks did not make: {}{more}; publishing never \
             commits, stashes or discards them: commit them, or set just them aside with \
             `git -C {} stash push --include-untracked -- {}`, then run again{kept}",
            listed.join(", "),
            shell_word(&self.top.to_string_lossy()),
            aside.join(" ")
        )))
    }

    /// Whether `path` (relative to the work tree's top) is a file run-benchmarks writes and
    /// commits: a history or archive chunk, a list, a shipped plot as shipped, our `.gitignore`,
    /// a badge of ours.
    fn is_own(&self, path: &str) -> bool {
        let Some(relative) = path.strip_prefix(&self.prefix) else {
            return false;
        };
        let holds = |text: &str| {
            std::fs::read(self.path.join(relative)).is_ok_and(|t| t == text.as_bytes())
        };
        match relative {
            "data/list.json" | "plots/list.json" => true,
            ".gitignore" => holds(crate::results::GITIGNORE),
            _ if crate::badge::FILES.iter().any(|(name, head)| {
                *name == relative && crate::badge::is_ours(&self.path.join(name), head)
            }) =>
            {
                true
            }
            _ => {
                if let Some(inside) = relative.strip_prefix("data/") {
                    history_suite(inside).is_some()
                } else if let Some(name) = relative.strip_prefix("plots/") {
                    crate::plots::SHIPPED
                        .iter()
                        .any(|(shipped, text)| *shipped == name && holds(text))
                } else {
                    false
                }
            }
        }
    }

    /// `git status` of the whole work tree (`extra` arguments added), one [`Change`] a file.
    fn status(&self, extra: &[&str]) -> Result<Vec<Change>, GitError> {
        let mut args = vec!["status", "--porcelain", "-z", "--untracked-files=all"];
        args.extend_from_slice(extra);
        let status = git(&self.top, &args)?;
        let mut changes = Vec::new();
        let mut fields = status.split('\0').filter(|f| !f.is_empty());
        while let Some(field) = fields.next() {
            let (code, path) = field.split_at(field.len().min(3));
            // A rename's second field is its old name.
            if code.starts_with('R') || code.starts_with('C') {
                fields.next();
            }
            changes.push(Change {
                code: code.trim_end().to_string(),
                path: path.to_string(),
            });
        }
        Ok(changes)
    }

    /// Our files below the published paths as `git status` shows them, ignored ones included:
    /// what a commit has yet to take.
    fn own_changes(&self) -> Result<Vec<Change>, GitError> {
        let paths: Vec<String> = PUBLISHED
            .iter()
            .map(|p| format!("{}{p}", self.prefix))
            .collect();
        let mut args = vec!["--ignored=traditional", "--"];
        args.extend(paths.iter().map(String::as_str));
        Ok(self
            .status(&args)?
            .into_iter()
            .filter(|c| self.is_own(&c.path))
            .collect())
    }

    /// The files of ours the repository's ignore rules would keep out of a commit, each with the
    /// rule (`.gitignore:1: *.json`), for a warning: they are added regardless.
    pub fn ignored_own_files(&self, suites: &[crate::Suite]) -> Vec<String> {
        let mut paths: Vec<String> = suites
            .iter()
            .map(|s| format!("{}data/{}/aggregate.json", self.prefix, s.name))
            .collect();
        for own in ["data/list.json", "plots/list.json"] {
            paths.push(format!("{}{own}", self.prefix));
        }
        paths.extend(
            crate::badge::FILES
                .iter()
                .map(|(name, _)| format!("{}{name}", self.prefix)),
        );
        paths.extend(
            crate::plots::SHIPPED
                .iter()
                .map(|(name, _)| format!("{}plots/{name}", self.prefix)),
        );
        let mut args = vec!["check-ignore", "-v", "--"];
        args.extend(paths.iter().map(String::as_str));
        // Exit 1: nothing ignored.
        let said = git(&self.top, &args).unwrap_or_default();
        said.lines()
            .filter_map(|line| {
                let (rule, path) = line.split_once('\t')?;
                let relative = path.strip_prefix(&self.prefix).unwrap_or(path);
                let (source, rest) = rule.split_once(':')?;
                let (number, pattern) = rest.split_once(':')?;
                Some(format!(
                    "{} ({source}:{number}: {pattern})",
                    relative.escape_debug()
                ))
            })
            .collect()
    }

    /// Fails unless every file of ours is committed as it is in the work tree: what the run says
    /// it published must be in the commit.
    pub fn verify_committed(&self) -> Result<(), Error> {
        let missing = self.own_changes()?;
        if missing.is_empty() {
            return Ok(());
        }
        Err(self.not_ready(format!(
            "after the commit, files run-benchmarks wrote are still not in it: {}; nothing was \
             pushed; check the repository's ignore rules and hooks, then run again (the files are \
             kept and the next run commits them)",
            missing
                .iter()
                .map(|c| format!("{} ({})", c.path.escape_debug(), c.describe()))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    fn not_ready(&self, message: String) -> Error {
        Error::NotReady {
            repo: self.path.clone(),
            message: redact(&message),
        }
    }

    /// Removes the `index.lock` a git command killed in the middle of its work left (SIGKILL gives
    /// it no chance to remove it, and every later git command refuses to run while it is there),
    /// and says so. While a git command does run in this repository (the user's commit waiting
    /// for its editor), the lock is its own: the checkout is refused before anything runs. No run
    /// of ours runs git here now: this run holds the checkout's lock.
    pub fn clear_index_lock(&self) -> Result<Option<String>, Error> {
        let lock = self.git_path("index.lock")?;
        if !lock.exists() {
            return Ok(None);
        }
        let places: Vec<PathBuf> = [self.top.clone(), self.git_path(".")?]
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        if let Some(pid) = git_running_in(&places) {
            return Err(self.not_ready(format!(
                "a git command (pid {pid}) is running in this checkout and holds {}; let it \
                 finish, then run again",
                lock.display()
            )));
        }
        std::fs::remove_file(&lock)
            .map_err(|e| self.error("index", &format!("{}: {e}", lock.display())))?;
        let shown = lock.strip_prefix(&self.path).unwrap_or(&lock);
        Ok(Some(format!(
            "removed {}, which a git command that was killed left behind",
            bench_model::shown(shown)
        )))
    }

    /// Keeps our locks, temporaries and logs out of `git status` through `.git/info/exclude`,
    /// which applies whatever the repository's own `.gitignore` says.
    pub fn exclude_own_files(&self) -> Result<(), GitError> {
        let exclude = self.git_path("info/exclude")?;
        let old = std::fs::read_to_string(&exclude).unwrap_or_default();
        let wanted = [
            ".*.lock".to_string(),
            ".*.tmp.*".to_string(),
            "**/archive/.index.json".to_string(),
            format!("/{}logs/", self.prefix),
        ];
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|w| !old.lines().any(|l| l == w.as_str()))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut text = old;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(
            "# run-benchmarks: its locks, temporaries, archive indexes and pytest logs\n",
        );
        for line in missing {
            text.push_str(line);
            text.push('\n');
        }
        // The file is the user's too: replaced whole, never left half written.
        exclude
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(|e| self.error("exclude", &format!("{}: {e}", exclude.display())))?;
        bench_model::fsio::write_atomic(&exclude, |w| {
            use std::io::Write;
            w.write_all(text.as_bytes())
        })
        .map_err(|e| self.error("exclude", &e.to_string()))
    }

    fn git_path(&self, name: &str) -> Result<PathBuf, GitError> {
        let path = git(&self.path, &["rev-parse", "--git-path", name])?;
        Ok(self.path.join(path.trim_end_matches('\n')))
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

    /// Fetches the remote's branch: its commit, or None when the remote has no such branch yet.
    fn fetch(&self) -> Result<Option<String>, GitError> {
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
            return Ok(None);
        }
        git(&self.path, &["fetch", "-q", remote, &self.branch])?;
        Ok(Some(rev_parse(&self.path, "FETCH_HEAD")?))
    }

    /// Whether `commit` is already part of the checked-out branch.
    fn contains(&self, commit: &str) -> bool {
        git(&self.path, &["merge-base", "--is-ancestor", commit, "HEAD"]).is_ok()
    }

    /// Brings the checkout up to date with its remote before a run: a fast-forward, or when
    /// local commits the remote lacks meet remote commits the checkout lacks, the local runs
    /// carried onto the remote's state. Says what it did; nothing when there is no remote.
    pub fn sync(
        &self,
        results: &Results,
        append: &AppendOptions,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        if self.remote.is_none() {
            return Ok(());
        }
        let theirs = match self.fetch() {
            Ok(Some(theirs)) => theirs,
            Ok(None) => return Ok(()),
            Err(error) => {
                let _ = writeln!(
                    progress,
                    "run-benchmarks: warning: {error}; continuing from the local state"
                );
                return Ok(());
            }
        };
        if self.contains(&theirs) {
            return Ok(());
        }
        if rev_parse(&self.path, "HEAD").is_err() || self.is_ancestor_of_head(&theirs) {
            git(&self.path, &["merge", "-q", "--ff-only", &theirs])?;
            let _ = writeln!(
                progress,
                "run-benchmarks: {} is up to date with its remote",
                self.path.display()
            );
            return Ok(());
        }
        let carried = self.carry_onto(
            &theirs,
            results,
            append,
            "carry local benchmark runs onto the remote's state",
        )?;
        let _ = writeln!(
            progress,
            "run-benchmarks: {} had commits its remote lacks: {carried}",
            self.path.display()
        );
        Ok(())
    }

    fn is_ancestor_of_head(&self, theirs: &str) -> bool {
        git(&self.path, &["merge-base", "--is-ancestor", "HEAD", theirs]).is_ok()
    }

    /// Adds every change below the published paths (new files included, our own never) and
    /// commits; false if nothing changed. Refuses to commit a history that does not parse.
    pub fn commit(&self, message: &str) -> Result<bool, GitError> {
        if !self.stage()? {
            return Ok(false);
        }
        let mut args = self.identity();
        args.extend(["commit", "-q", "-m", message]);
        git(&self.path, &args)?;
        Ok(true)
    }

    /// Stages the published paths; false when nothing is staged. Every staged JSON file below
    /// `data/` must parse.
    fn stage(&self) -> Result<bool, GitError> {
        let present: Vec<&str> = PUBLISHED
            .iter()
            .copied()
            .filter(|p| self.path.join(p).exists() || self.tracked(p))
            .collect();
        if present.is_empty() {
            return Ok(false);
        }
        let mut add = vec!["add", "-A", "--"];
        add.extend_from_slice(&present);
        add.extend_from_slice(&NEVER_ADDED);
        git(&self.path, &add)?;
        // The repository's ignore rules may hide our own files (`*.json`): those are named one
        // by one and added regardless; locks and temporaries never are.
        let ignored: Vec<String> = self
            .own_changes()?
            .into_iter()
            .filter(|c| c.code == "!!")
            .map(|c| c.path)
            .collect();
        if !ignored.is_empty() {
            let mut add = vec!["add", "-f", "--"];
            add.extend(ignored.iter().map(String::as_str));
            git(&self.top, &add)?;
        }
        let staged = git(
            &self.top,
            &[
                "diff",
                "--cached",
                "--name-only",
                "-z",
                "--no-renames",
                "--diff-filter=AM",
            ],
        )?;
        let data = format!("{}data/", self.prefix);
        let histories = staged
            .split('\0')
            .filter(|p| p.strip_prefix(&data).and_then(history_suite).is_some());
        for path in histories {
            if let Err(error) = bench_model::history::read_stored(&self.top.join(path)) {
                return Err(self.error(
                    "commit",
                    &format!("refusing to commit a history that does not parse: {error}"),
                ));
            }
        }
        Ok(Command::new("git")
            .args(["diff", "--cached", "--quiet"])
            .current_dir(&self.path)
            .status()
            .map_err(|e| self.error("diff", &e.to_string()))?
            .code()
            == Some(1))
    }

    fn tracked(&self, path: &str) -> bool {
        git(&self.path, &["ls-files", "--error-unmatch", "--", path]).is_ok()
    }

    /// A fresh CI runner may have no identity; git refuses to commit without one.
    fn identity(&self) -> Vec<&'static str> {
        if git(&self.path, &["config", "user.email"]).is_ok() {
            return Vec::new();
        }
        vec![
            "-c",
            "user.name=run-benchmarks",
            "-c",
            "user.email=run-benchmarks@localhost",
        ]
    }

    /// Pushes the branch to the remote.
    pub fn push(&self) -> Result<(), GitError> {
        let remote = self.remote()?;
        let refspec = format!("HEAD:refs/heads/{}", self.branch);
        git(&self.path, &["push", "-q", remote, &refspec]).map(|_| ())
    }

    /// Carries every local commit the remote's `theirs` lacks onto it: history entries the
    /// remote lacks are appended to its histories (whatever archive chunk they sit in here),
    /// other files the remote left alone take the local version, and a merge commit of both
    /// records it, so every local commit reaches the remote. Refuses, changing nothing, when
    /// a file other than a history changed on both sides.
    fn carry_onto(
        &self,
        theirs: &str,
        results: &Results,
        append: &AppendOptions,
        message: &str,
    ) -> Result<String, Error> {
        let ours = rev_parse(&self.path, "HEAD")?;
        let base = git(&self.path, &["merge-base", &ours, theirs])
            .map(|b| b.trim().to_string())
            .unwrap_or_else(|_| EMPTY_TREE.to_string());
        let changed = git(
            &self.top,
            &["diff", "--name-only", "-z", "--no-renames", &base, &ours],
        )?;
        let data = format!("{}data/", self.prefix);
        let lists = [
            format!("{}data/list.json", self.prefix),
            format!("{}plots/list.json", self.prefix),
        ];
        let (base_blobs, their_blobs, our_blobs) =
            (self.blobs(&base)?, self.blobs(theirs)?, self.blobs(&ours)?);
        let mut suites = BTreeSet::new();
        let mut take_ours = Vec::new();
        let mut conflicts = Vec::new();
        let badges: Vec<String> = crate::badge::FILES
            .iter()
            .map(|(name, _)| format!("{}{name}", self.prefix))
            .collect();
        for path in changed.split('\0').filter(|p| !p.is_empty()) {
            if lists.iter().any(|l| l == path) {
                continue; // rebuilt from the histories
            }
            if badges.iter().any(|b| b == path) {
                // The badge says what this run, the last to publish, judged.
                take_ours.push((path.to_string(), our_blobs.contains_key(path)));
                continue;
            }
            if let Some(suite) = path.strip_prefix(&data).and_then(history_suite) {
                suites.insert(suite.to_string());
                continue;
            }
            let (b, t, o) = (
                base_blobs.get(path),
                their_blobs.get(path),
                our_blobs.get(path),
            );
            if t == b {
                take_ours.push((path.to_string(), o.is_some()));
            } else if t != o {
                conflicts.push(path.escape_debug().to_string());
            }
        }
        if !conflicts.is_empty() {
            return Err(self
                .error(
                    "push",
                    &format!(
                        "{} changed both in local commits and on the remote; merge them by hand (git pull), then run again",
                        conflicts.join(", ")
                    ),
                )
                .into());
        }
        // Read before the reset: the work tree is the local commit (the checkout was clean).
        let mut local: Vec<(String, Vec<HistoryEntry>)> = Vec::new();
        for suite in &suites {
            local.push((suite.clone(), suite_entries(&results.history(suite))?));
        }
        // Should this run be killed before the merge is made, the next run finds the local
        // commit here and puts it back (see `recover_carry`).
        git(&self.path, &["update-ref", CARRYING, &ours])?;
        git(&self.top, &["reset", "-q", "--hard", theirs])?;
        // From here on HEAD is the remote's commit: any failure (a git step, a history write, an
        // index.lock held by another git) puts the local commit and a clean work tree back, so
        // no local run is left reachable only through the reflog.
        let carried = self
            .apply(&ours, &take_ours, &local, results, append)
            .and_then(|carried| {
                self.stage()?;
                let tree = git(&self.path, &["write-tree"])?;
                let mut args = self.identity();
                // A merge of both even when the remote held everything: the local commits
                // stay on the branch.
                args.extend([
                    "commit-tree",
                    tree.trim(),
                    "-p",
                    theirs,
                    "-p",
                    &ours,
                    "-m",
                    message,
                ]);
                let merge = git(&self.path, &args)?;
                git(&self.path, &["update-ref", "HEAD", merge.trim()])?;
                Ok(carried)
            });
        if carried.is_err() {
            self.restore(&ours);
        }
        let _ = git(&self.path, &["update-ref", "-d", CARRYING]);
        carried.map(|carried| {
            format!(
                "{carried} {} carried onto the remote's state",
                if carried == 1 { "entry" } else { "entries" }
            )
        })
    }

    /// Puts back the local commit of a carry that was killed half way (HEAD on the remote's
    /// commit, the local runs partly applied): the next sync or push carries it again. Says
    /// what it did; nothing when no carry was interrupted.
    pub fn recover_carry(&self) -> Result<Option<String>, GitError> {
        let Ok(ours) = rev_parse(&self.path, CARRYING) else {
            return Ok(None);
        };
        let said = match self.contains(&ours) {
            // Killed after the merge was made: nothing to put back.
            true => None,
            false => {
                self.restore(&ours);
                Some(format!(
                    "{} held a re-application on the remote's state that was interrupted; put the local commit {} back, to be carried again",
                    bench_model::shown(&self.path),
                    &ours[..ours.len().min(12)]
                ))
            }
        };
        git(&self.path, &["update-ref", "-d", CARRYING])?;
        Ok(said)
    }

    /// Puts the local commit `ours` back after a failed carry: HEAD, index and work tree, and
    /// removes what the carry created under our folders (check_ready proved them clean before).
    fn restore(&self, ours: &str) {
        let _ = git(&self.top, &["reset", "-q", "--hard", ours]);
        let mut clean = vec!["clean", "-fdq", "--"];
        clean.extend_from_slice(&PUBLISHED);
        let _ = git(&self.path, &clean);
    }

    fn apply(
        &self,
        ours: &str,
        take_ours: &[(String, bool)],
        local: &[(String, Vec<HistoryEntry>)],
        results: &Results,
        append: &AppendOptions,
    ) -> Result<usize, Error> {
        for (path, exists) in take_ours {
            if *exists {
                git(&self.top, &["checkout", ours, "--", path])?;
            } else {
                git(&self.top, &["rm", "-q", "--ignore-unmatch", "--", path])?;
            }
        }
        let mut carried = 0;
        for (suite, entries) in local {
            let history = results.history(suite);
            std::fs::create_dir_all(history.parent().expect("a suite folder")).map_err(|e| {
                bench_model::Error::Write {
                    path: history.clone(),
                    source: e,
                }
            })?;
            // Appending skips what the remote's history (any chunk of it) already holds.
            let loaded = Loaded {
                entries: entries.clone(),
                warnings: Vec::new(),
            };
            carried += aggregate::append_entries(&loaded, &history, append)?
                .outcome
                .appended;
        }
        results.refresh()?;
        Ok(carried)
    }

    /// Every file's blob in `commit` (nothing for the empty tree).
    fn blobs(&self, commit: &str) -> Result<HashMap<String, String>, GitError> {
        if commit == EMPTY_TREE {
            return Ok(HashMap::new());
        }
        let listing = git(&self.top, &["ls-tree", "-r", "-z", "--full-tree", commit])?;
        Ok(listing
            .split('\0')
            .filter_map(|line| {
                let (meta, path) = line.split_once('\t')?;
                Some((path.to_string(), meta.to_string()))
            })
            .collect())
    }

    fn error(&self, command: &str, message: &str) -> GitError {
        GitError {
            command: command.into(),
            repo: self.path.clone(),
            message: redact(message),
        }
    }
}

/// A live git process whose working directory is in one of `places`, if any (`/proc`; the
/// processes of other users, which cannot be seen, do not count).
fn git_running_in(places: &[PathBuf]) -> Option<u32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(')')?;
        let alive = !rest.trim_start().starts_with(['Z', 'X']);
        let cwd = std::fs::read_link(entry.path().join("cwd")).ok()?;
        (alive && comm.starts_with("git") && places.iter().any(|p| cwd.starts_with(p)))
            .then_some(pid)
    })
}

/// One file `git status` shows: its code (`M`, `??`, `!!` ...) and path from the work tree's top.
#[derive(Debug, Clone)]
struct Change {
    code: String,
    path: String,
}

impl Change {
    /// A file added or changed, not deleted or renamed: what a run of ours leaves.
    fn is_addition(&self) -> bool {
        !self.code.contains(['D', 'R', 'C', 'U'])
    }

    fn describe(&self) -> &'static str {
        match self.code.as_str() {
            "??" => "untracked",
            "!!" => "ignored",
            c if c.contains('U') => "unmerged",
            c if c.contains('D') => "deleted",
            c if c.contains('R') => "renamed",
            c if c.contains('A') => "added",
            _ => "modified",
        }
    }
}

/// `word` as one shell word: bare when it is plain, otherwise in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c));
    match plain {
        true => word.to_string(),
        false => format!(
            "'{}'",
            bench_model::shown(Path::new(word)).replace('\'', "'\\''")
        ),
    }
}

/// The suite of a path below `data/` when it is a history: `SUITE/aggregate.json` or a chunk
/// `SUITE/archive/NNNN_*.json`.
fn history_suite(relative: &str) -> Option<&str> {
    let parts: Vec<&str> = relative.split('/').collect();
    match parts.as_slice() {
        [suite, "aggregate.json"] => Some(suite),
        [suite, "archive", chunk] if chunk.ends_with(".json") && !chunk.starts_with('.') => {
            Some(suite)
        }
        _ => None,
    }
}

/// Every entry of a suite's history, archive chunks first.
fn suite_entries(current: &Path) -> Result<Vec<HistoryEntry>, bench_model::Error> {
    let mut files: Vec<PathBuf> = bench_model::archive::chunks(current)
        .into_iter()
        .map(|(_, path)| path)
        .collect();
    files.push(current.to_path_buf());
    let mut entries = Vec::new();
    for file in files.iter().filter(|f| f.is_file()) {
        entries.extend(bench_model::history::read(file)?.0);
    }
    Ok(entries)
}

fn rev_parse(repo: &Path, name: &str) -> Result<String, GitError> {
    git(repo, &["rev-parse", "--verify", "-q", name]).map(|s| s.trim().to_string())
}

/// Runs `git ARGS` in `repo`; its stdout, or its last words as the error.
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
        // A group of its own: Ctrl-C or a kill of our process group ends us, not git in the
        // middle of writing its index (which would leave index.lock and stop every later git).
        .process_group(0)
        .output()
        .map_err(|e| GitError {
            command: command.into(),
            repo: repo.to_path_buf(),
            // Starting a process in a folder that is not there fails as a missing program does.
            message: match repo.is_dir() {
                true => format!("cannot run git: {e}; install git"),
                false => "no such folder".to_string(),
            },
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    // git says why on stderr, but some commands (commit: "nothing to commit") on stdout.
    let said = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let mut message = said(&output.stderr);
    if message.is_empty() {
        message = said(&output.stdout);
    }
    if message.is_empty() {
        message = match output.status.code() {
            Some(code) => format!("git exited with code {code}"),
            None => "git was killed by a signal".into(),
        };
    }
    Err(GitError {
        command: command.into(),
        repo: repo.to_path_buf(),
        message: redact(&message),
    })
}

/// Removes credentials from URLs (`https://user:token@host` becomes `https://***@host`).
///
/// The user information ends at the last `@` before the URL ends (white space or a quote), so
/// a token holding `/` or `@` is hidden too; at worst a path with `@` is hidden with it.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let url_end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        match tail[..url_end].rfind('@') {
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
    // The report's commit and branch, names and node ids are the measured project's: each
    // stays on its line.
    let (id, short, branch) = (inert(id), inert(short), inert(branch));
    let mut message = format!("benchmarks of {short} on {branch}\n\nmeasured commit: {id}\n");
    for run in runs {
        let name = crate::outcome::unit_name(&run.suite.name, run.procs);
        // A list item: no line of the message starts with a name (`git log` output in CI).
        message.push_str(&format!("- {name}: {}\n", inert(&run.outcome.describe())));
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
    // A full disk, a hook: the histories hold the run, the commit does not; the next run's
    // check finds the files of ours uncommitted and commits them.
    let committed = repo.commit(&message).map_err(|e| GitError {
        message: format!(
            "{}; what this run recorded stays in the checkout, uncommitted: the next --publish run commits and publishes it",
            e.message
        ),
        ..e
    })?;
    repo.verify_committed()?;
    crate::watch::tell("committed");
    // Even with nothing new, earlier --no-push commits may still need to reach the remote.
    if !publish.push || rev_parse(&repo.path, "HEAD").is_err() {
        return Ok(Published {
            committed,
            pushed: false,
            attempts: 0,
        });
    }
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let rejection = match repo.push() {
            Ok(()) => {
                let _ = writeln!(
                    progress,
                    "run-benchmarks: pushed to {} ({})",
                    redact(repo.remote.as_deref().unwrap_or("?")),
                    repo.branch
                );
                return Ok(Published {
                    committed,
                    pushed: true,
                    attempts: attempt,
                });
            }
            Err(rejection) => rejection,
        };
        let give_up = |why: String| Error::PushFailed {
            source: rejection.clone(),
            why,
            kept: keep_reports(run_folder),
        };
        let left = publish.deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(give_up(format!(
                "gave up after {attempt} attempts in {:.0} s (--push-deadline)",
                started.elapsed().as_secs_f64()
            )));
        }
        // Pause before fetching, not after: the fetched state is then as fresh as can be when
        // the next push goes out, and racing publishers drift apart.
        let pause = backoff(attempt).min(left);
        let _ = writeln!(
            progress,
            "run-benchmarks: push {attempt} rejected ({}); fetching again in {:.1} s",
            rejection.message,
            pause.as_secs_f64()
        );
        std::thread::sleep(pause);
        let theirs = match repo.fetch() {
            Ok(Some(theirs)) if !repo.contains(&theirs) => theirs,
            Ok(_) => {
                return Err(give_up(
                    "the remote's branch did not move, so this was no race with another publisher and another push would fail the same way".into(),
                ))
            }
            Err(error) => return Err(give_up(format!("then the fetch failed: {error}"))),
        };
        match repo.carry_onto(&theirs, results, append, &message) {
            Ok(carried) => {
                let _ = writeln!(
                    progress,
                    "run-benchmarks: re-applied on the remote's state: {carried}"
                );
            }
            Err(error) => {
                return Err(give_up(format!(
                    "re-applying on the remote's state failed: {error}"
                )))
            }
        }
    }
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

/// A random pause that grows with each rejection (up to 5 s): full jitter, so publishers that
/// collided do not collide again.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let ceiling = (100u64 << attempt.min(6)).min(5_000);
    Duration::from_millis(50 + random % ceiling)
}

#[cfg(test)]
mod tests {
    use super::{commit_message, history_suite, redact};
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
            message.ends_with("\n- kmeans x1: 3 benchmarks\n- kmeans x2: 3 benchmarks\n"),
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
        assert_eq!(
            redact("pushed to http://user:pa/ss@word@host/r.git (main)"),
            "pushed to http://***@host/r.git (main)"
        );
        assert_eq!(redact("no urls here @ all"), "no urls here @ all");
    }

    #[test]
    fn histories_and_their_chunks_are_told_from_other_files() {
        assert_eq!(history_suite("kmeans/aggregate.json"), Some("kmeans"));
        assert_eq!(
            history_suite("kmeans/archive/0001_2025.json"),
            Some("kmeans")
        );
        assert_eq!(
            history_suite("kmeans/archive/.migrating-after-0001.json"),
            None
        );
        assert_eq!(history_suite("kmeans/NOTES.txt"), None);
        assert_eq!(history_suite("list.json"), None);
    }
}
