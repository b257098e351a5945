//! Never losing a file: whole-file replacement through a synced temporary sibling, and advisory locks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An exclusive advisory lock that serializes every writer of one file, held until dropped.
///
/// The lock is a hidden sibling (`.NAME.lock`), never the file itself: the file is replaced by
/// rename, so a lock on its inode would protect a file that is no longer there.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until this process is the only writer of `path`. Errors name `path`, not the lock:
    /// the user knows the history, not our hidden files.
    pub fn acquire(path: &Path) -> Result<Self> {
        let lock_path = sibling(path, ".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::write(path, e))?;
        file.lock().map_err(|e| Error::write(path, e))?;
        remove_stale_temporaries(path);
        Ok(FileLock { _file: file })
    }
}

/// The file a history path stands for: a symbolic link's target (followed to the end, each
/// relative to its link's folder), so writers through the link and writers of the target
/// replace and lock one file; any other path as it is.
pub(crate) fn resolve_links(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    // A bounded walk: a loop of links ends in an error when the file is opened.
    for _ in 0..40 {
        let Ok(target) = fs::read_link(&path) else {
            break;
        };
        path = parent_dir(&path).join(target);
    }
    path
}

/// Reads a whole regular file, and at most the size it had when opened.
///
/// Anything else is refused before it is opened: a FIFO would block the reader until some
/// writer came, and `/dev/zero` or `/dev/urandom` would fill memory without end.
///
/// A leading UTF-8 byte order mark, which JSON forbids but some Windows editors write, is
/// dropped: every file we read is JSON, and the file is otherwise good.
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    ensure_regular(path)?;
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut text = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(size).read_to_end(&mut text)?;
    if text.starts_with(b"\xef\xbb\xbf") {
        text.drain(..3);
    }
    Ok(text)
}

/// Fails unless `path` is a regular file (or a link to one), naming what it is instead; a
/// missing file fails with [`io::ErrorKind::NotFound`].
pub(crate) fn ensure_regular(path: &Path) -> io::Result<()> {
    let kind = fs::metadata(path)?.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file; give the path of a JSON file"),
    ))
}

/// `dir/.name<suffix>` for `dir/name`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{suffix}"))
}

fn temporary_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp.")
}

/// Removes temporaries left by writers that were killed; only safe while holding the lock.
fn remove_stale_temporaries(path: &Path) {
    let prefix = temporary_prefix(path);
    remove_files_named(parent_dir(path), |name| name.starts_with(&prefix));
}

/// Removes, as best it can, the files of `dir` whose name `matches` accepts.
pub(crate) fn remove_files_named(dir: &Path, matches: impl Fn(&str) -> bool) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if matches(&entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` whole with what `fill` writes, or leaves it untouched.
///
/// Writes a temporary file in the same folder, syncs it, renames it over `path` and syncs the
/// folder, so a crash at any moment leaves either the old or the new content, never a mix. An
/// existing file's permissions carry over.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> Result<()> {
    let temporary =
        parent_dir(path).join(format!("{}{}", temporary_prefix(path), std::process::id()));
    let result = write_then_rename(path, &temporary, fill);
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

fn write_then_rename(
    path: &Path,
    temporary: &Path,
    fill: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> Result<()> {
    let file = File::create(temporary).map_err(|e| Error::write(path, e))?;
    {
        let mut writer = BufWriter::with_capacity(1 << 20, &file);
        fill(&mut writer).map_err(|e| Error::write(path, e))?;
        writer.flush().map_err(|e| Error::write(path, e))?;
    }
    if let Ok(metadata) = fs::metadata(path) {
        file.set_permissions(metadata.permissions())
            .map_err(|e| Error::write(path, e))?;
    }
    file.sync_all().map_err(|e| Error::write(path, e))?;
    drop(file);
    fs::rename(temporary, path).map_err(|e| Error::write(path, e))?;
    // The rename is durable only once the folder's entry is on disk.
    if let Ok(dir) = File::open(parent_dir(path)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aggregate.json");
        fs::write(&path, "[1]").unwrap();
        let error = write_atomic(&path, |w| {
            w.write_all(b"[2")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(error.to_string().contains("disk full"), "{error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "[1]");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["aggregate.json"]);
    }

    #[test]
    fn the_lock_removes_temporaries_of_killed_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aggregate.json");
        fs::write(dir.path().join(".aggregate.json.tmp.999999"), "[half").unwrap();
        let _lock = FileLock::acquire(&path).unwrap();
        assert!(!dir.path().join(".aggregate.json.tmp.999999").exists());
        assert!(dir.path().join(".aggregate.json.lock").exists());
    }
}
