//! Re-running suspected regressions: turning a benchmark's `fullname` back into a node id pytest
//! accepts from the suite's folder.

use std::path::Path;

/// The node id to pass to pytest, run in `suite`, for the benchmark `fullname`.
///
/// pytest-benchmark's `fullname` is the node id relative to pytest's rootdir, which can sit above
/// the suite (an ini file higher up): `benchmarks/kmeans/test_k.py::test_fit[8]`. pytest takes node
/// ids relative to the working directory, so leading folders are dropped until the file exists.
pub fn node_id(suite: &Path, fullname: &str) -> String {
    let (file, rest) = fullname.split_once("::").unwrap_or((fullname, ""));
    let parts: Vec<&str> = file.split('/').collect();
    let relative = (0..parts.len())
        .map(|skip| parts[skip..].join("/"))
        .find(|candidate| suite.join(candidate).is_file())
        .unwrap_or_else(|| file.to_string());
    if rest.is_empty() {
        relative
    } else {
        format!("{relative}::{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::node_id;

    #[test]
    fn node_ids_are_made_relative_to_the_suite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test_k.py"), "").unwrap();
        assert_eq!(
            node_id(dir.path(), "test_k.py::test_fit[8]"),
            "test_k.py::test_fit[8]"
        );
        assert_eq!(
            node_id(dir.path(), "benchmarks/kmeans/test_k.py::test_fit[8]"),
            "test_k.py::test_fit[8]"
        );
        assert_eq!(node_id(dir.path(), "gone.py::test_x"), "gone.py::test_x");
    }
}
