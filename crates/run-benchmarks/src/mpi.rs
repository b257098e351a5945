//! Runs under an MPI launcher: reading every rank's report and exit code, naming the ranks that
//! failed, and merging the ranks into one report whose benchmarks carry the process count.

use std::path::Path;

use bench_model::Report;

use crate::outcome::Outcome;
use crate::pytest::rank_files;

/// Reads the reports of ranks `0..procs` from `folder` and, when every rank succeeded, writes
/// their merge to `report`; otherwise says which ranks failed.
pub(crate) fn merge_rank_reports(folder: &Path, procs: u32, report: &Path) -> Result<(), Outcome> {
    let mut failed = Vec::new();
    let mut reports = Vec::new();
    for rank in 0..procs {
        let (json, exit) = rank_files(folder, rank);
        let code = std::fs::read_to_string(&exit)
            .ok()
            .and_then(|c| c.trim().parse::<i32>().ok());
        match (code, Report::read(&json)) {
            (None, _) => failed.push((rank, "never ran or was killed (no exit code)".to_string())),
            (Some(code), _) if code != 0 => {
                failed.push((rank, format!("failed: pytest exited with {code}")))
            }
            (Some(_), Err(error)) => {
                failed.push((rank, format!("wrote no usable report: {error}")))
            }
            (Some(_), Ok(read)) => reports.push(read.report),
        }
    }
    if !failed.is_empty() {
        return Err(Outcome::RanksFailed {
            procs,
            ranks: failed,
        });
    }
    let merged = Report::merge_ranks(reports, procs);
    let written = bench_model::json::to_pretty_vec(&merged)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(report, text));
    written.map_err(|error| Outcome::WriteError {
        error: format!("{}: {error}", report.display()),
    })
}
