//! Finding the benchmark suites: the immediate sub-folders of a folder that hold pytest test files.

use std::fs;
use std::path::{Path, PathBuf};

/// One benchmark suite: a folder pytest runs in, whose name names its history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Suite {
    /// The folder's name, e.g. `kmeans`; the history is `data/<name>/aggregate.json`.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
}

/// Folders that are never suites even when they hold Python files.
fn is_excluded(path: &Path, name: &str, results: &Path) -> bool {
    name.starts_with('.')
        || name == "__pycache__"
        || name == "node_modules"
        || path.join("pyvenv.cfg").is_file()
        || same_folder(path, results)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// pytest's default collection patterns: `test_*.py` and `*_test.py`.
fn is_test_file(name: &str) -> bool {
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

/// Whether `folder` holds a test file, here or in a sub-folder pytest would collect from.
fn holds_tests(folder: &Path, depth: usize) -> bool {
    let Ok(entries) = fs::read_dir(folder) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            depth > 0
                && !name.starts_with('.')
                && name != "__pycache__"
                && !path.join("pyvenv.cfg").is_file()
                && holds_tests(&path, depth - 1)
        } else {
            is_test_file(&name)
        }
    })
}

/// Whether `folder` is itself a suite (it holds test files, as a sub-folder of DIR would): a
/// common slip is `-d` naming one suite instead of the folder that holds them.
pub fn is_suite(folder: &Path) -> bool {
    holds_tests(folder, 0)
}

/// The suites below `dir`, sorted by name; `results` (and hidden folders, `__pycache__` and
/// virtual environments) are skipped.
pub fn discover(dir: &Path, results: &Path) -> std::io::Result<Vec<Suite>> {
    let mut suites = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && !is_excluded(&path, &name, results) && holds_tests(&path, 3) {
            suites.push(Suite { name, path });
        }
    }
    suites.sort();
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
    }

    #[test]
    fn suites_are_folders_with_test_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "kmeans/test_kmeans.py",
            "linalg/nested/matmul_test.py",
            "with space/test_x.py",
            "results/data/test_not.py",
            ".hidden/test_x.py",
            "__pycache__/test_x.py",
            "venv/pyvenv.cfg",
            "venv/lib/test_x.py",
            "docs/index.py",
        ] {
            touch(dir.path(), file);
        }
        let suites = discover(dir.path(), &dir.path().join("results")).unwrap();
        let names: Vec<_> = suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["kmeans", "linalg", "with space"]);
    }
}
