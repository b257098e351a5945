//! Judging a suite's run, and confirming suspected regressions by re-running only them
//! (`--confirm N`) and judging them on the median of the run and its reruns.

use std::path::Path;

use bench_gate::{CheckReport, GateError};
use bench_model::HistoryEntry;

use crate::Gate;

/// Judges `entries` against the history at `history`; with `--confirm N`, re-runs what a rerun
/// would settle (inconclusive slowdowns, recoveries seen once, benchmarks that moved with an
/// unconfirmed run-wide shift) N times through `rerun(node ids, attempt)` (which returns the
/// rerun's entries, or `None` when it produced none) and judges them again on the run and its
/// reruns.
pub fn judge(
    history: &Path,
    entries: &[HistoryEntry],
    gate: &Gate,
    suite: &Path,
    mut rerun: impl FnMut(&[String], usize) -> Option<Vec<HistoryEntry>>,
) -> Result<CheckReport, GateError> {
    let mut verdicts = bench_gate::check(history, entries, &gate.options)?;
    let suspects: Vec<String> = verdicts.to_confirm().map(|j| j.fullname.clone()).collect();
    if gate.confirm == 0 || suspects.is_empty() {
        return Ok(verdicts);
    }
    let node_ids: Vec<String> = suspects.iter().map(|f| node_id(suite, f)).collect();
    let suspected = |e: &HistoryEntry| suspects.contains(&e.benchmark.fullname);
    let mut all: Vec<HistoryEntry> = entries.iter().filter(|e| suspected(e)).cloned().collect();
    for attempt in 1..=gate.confirm {
        if let Some(again) = rerun(&node_ids, attempt) {
            all.extend(again.into_iter().filter(|e| suspected(e)));
        }
    }
    let confirmed = bench_gate::recheck(history, &all, &gate.options, &verdicts)?;
    let note = format!("judged on the run and {} rerun(s)", gate.confirm);
    verdicts.take_confirmed(confirmed, &note);
    Ok(verdicts)
}

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
