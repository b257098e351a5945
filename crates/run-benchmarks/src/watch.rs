//! A run's temporary folder, and what a killed run leaves: a watcher process ends its pytest,
//! removes the folder and says what was recorded, and the next run removes folders of dead runs.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// Every run's folder is `run-benchmarks-<millis>-<pid>` in the system's temporary folder.
const PREFIX: &str = "run-benchmarks-";

/// Held by the run for its whole life: a later run that can take it knows the owner is dead.
const LOCK: &str = ".run.lock";

/// Cleans up after a run that ended without doing so itself: Ctrl-C, SIGTERM, SIGKILL, a batch
/// system's time limit.
///
/// std cannot catch signals (and unsafe code is forbidden here), but a process's pipes close
/// however it dies: the watcher reads what the run tells it from a pipe and, at the end of input
/// without `done`, says what was recorded and not yet committed, then ends pytest's process group
/// and every process carrying the run's mark (see `pytest::RUN_MARK`) and removes the run's
/// folder ($1), and says so. It runs in a process group of its own, so Ctrl-C does not reach it, and ignores the
/// signals a batch system sends every process of a job before it kills them. Lines it reads:
/// `publish`, `group PGID MARK`, `ended`, `recorded TEXT`, `committed`, `done`.
const WATCHER: &str = r#"trap '' INT TERM HUP
folder=$1 group= mark= recorded= committed= publish=
while IFS= read -r line; do
  case $line in
    done) exit 0 ;;
    publish) publish=1 ;;
    "group "*) group=${line#group }; mark=${group#* }; group=${group%% *} ;;
    ended) group= mark= ;;
    "recorded "*) recorded="$recorded${recorded:+, }${line#recorded }" ;;
    committed) committed=1 ;;
  esac
done
marked() {
  [ -n "$mark" ] || return 0
  for environ in /proc/[0-9]*/environ; do
    if grep -qzx "RUN_BENCHMARKS_RUN_ID=$mark" "$environ" 2>/dev/null; then
      pid=${environ#/proc/}; echo "${pid%/environ}"
    fi
  done
}
# What the run leaves is said first: a batch system kills this watcher too after a grace period.
said="run-benchmarks: interrupted (Ctrl-C, a signal or the system ended the run)"
if [ -z "$recorded" ]; then
  said="$said: nothing was recorded"
elif [ -n "$committed" ]; then
  said="$said: recorded and committed, not pushed: $recorded; the next --publish run pushes it"
elif [ -n "$publish" ]; then
  said="$said: recorded in the histories and not committed: $recorded; the next --publish run commits and publishes it"
else
  said="$said: recorded in the histories: $recorded"
fi
printf '%s\n' "$said" >&2
said="run-benchmarks: interrupted:"
if [ -n "$group" ]; then
  kill -TERM "-$group" $(marked) 2>/dev/null
  tries=0
  while [ $tries -lt 30 ] && { kill -0 "-$group" 2>/dev/null || [ -n "$(marked)" ]; }; do
    sleep 0.1; tries=$((tries + 1))
  done
  kill -KILL "-$group" $(marked) 2>/dev/null
  said="$said ended pytest (process group $group) and every process it started;"
fi
rm -rf "$folder"
said="$said removed $folder"
printf '%s\n' "$said" >&2"#;

/// The pipe to the running watcher, if any: one run at a time per process.
static WATCHER_INPUT: Mutex<Option<ChildStdin>> = Mutex::new(None);

/// Tells the watcher of the running run something (see [`WATCHER`]); nothing without one.
pub(crate) fn tell(line: &str) {
    let Ok(mut input) = WATCHER_INPUT.lock() else {
        return;
    };
    if let Some(pipe) = input.as_mut() {
        // One line whatever the text holds: names may hold newlines.
        let line: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let _ = writeln!(pipe, "{line}");
    }
}

/// The temporary folder of one run (reports, the plugin, MPI ranks' files), locked while the run
/// lives, watched should it be killed, and removed when dropped.
#[derive(Debug)]
pub struct RunFolder {
    /// The folder.
    pub path: PathBuf,
    _lock: File,
    watcher: Option<Child>,
    kept: bool,
}

impl RunFolder {
    /// Removes the folders runs that were killed left behind (saying so on `progress`), then
    /// makes this run's and starts its watcher.
    pub fn create(progress: &mut dyn Write) -> io::Result<RunFolder> {
        for stale in remove_stale() {
            let _ = writeln!(
                progress,
                "run-benchmarks: removed the temporary folder of a run that was killed: {}",
                bench_model::shown(&stale)
            );
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{PREFIX}{stamp}-{}", std::process::id()));
        // Locked before it has its name: no other run ever sees it unlocked.
        let unnamed = path.with_extension("new");
        std::fs::create_dir_all(&unnamed)?;
        let lock = File::create(unnamed.join(LOCK))?;
        lock.lock()?;
        std::fs::rename(&unnamed, &path)?;
        let watcher = Command::new("sh")
            .args(["-c", WATCHER, "run-benchmarks-watcher"])
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .ok()
            .and_then(|mut child| {
                let input = child.stdin.take()?;
                *WATCHER_INPUT.lock().ok()? = Some(input);
                Some(child)
            });
        Ok(RunFolder {
            path,
            _lock: lock,
            watcher,
            kept: false,
        })
    }

    /// Leaves the folder in place when the run ends (its files are named in an error).
    pub fn keep(mut self) -> PathBuf {
        self.kept = true;
        self.path.clone()
    }
}

/// The run is over, however it ended: the folder goes (unless kept, or moved away to keep a
/// rejected push's reports), and the watcher is told so.
impl Drop for RunFolder {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_dir_all(&self.path);
        }
        let input = WATCHER_INPUT.lock().ok().and_then(|mut i| i.take());
        if let (Some(mut input), Some(mut watcher)) = (input, self.watcher.take()) {
            let _ = input.write_all(b"done\n");
            drop(input);
            let _ = watcher.wait();
        }
    }
}

/// Removes the folders of runs that are no longer running: the process named in it is gone and
/// its lock is free (a temporary folder shared by several machines shows other machines' runs,
/// whose processes are not ours to see but whose locks are held). Folders kept on purpose
/// (`-kept`) and those of other users (not ours to lock or delete) stay.
fn remove_stale() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let mut parts = rest.split('-');
        let (Some(stamp), Some(pid), None) = (parts.next(), parts.next(), parts.next()) else {
            continue; // `-kept`, a bisection's worktree, someone else's name
        };
        if stamp.parse::<u128>().is_err() || pid.parse::<u32>().is_err() {
            continue;
        }
        let path = entry.path();
        let dead = !Path::new(&format!("/proc/{pid}")).exists()
            && match File::options().write(true).open(path.join(LOCK)) {
                Ok(lock) => lock.try_lock().is_ok(),
                Err(error) => error.kind() == io::ErrorKind::NotFound,
            };
        if dead && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}
