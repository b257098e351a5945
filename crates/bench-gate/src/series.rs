//! A benchmark's series (one benchmark on one machine at one process count), its past runs in a
//! history and the archive behind it, and the runs that form its baseline.

use std::collections::BTreeMap;
use std::path::Path;

use bench_model::{archive, history, HistoryEntry, MachineId, StoredEntry};

use crate::error::GateError;
use crate::options::{GateOptions, Statistic};

/// A series: the benchmark's `fullname` and its machine's series key (with ` xN` for N MPI
/// processes). Runs on different machines or process counts are never compared.
pub type SeriesKey = (String, String);

/// One past run of a series: the branch it was measured on and its value (seconds).
pub type PastRun = (Option<String>, f64);

/// Every series' past runs, oldest first.
pub type PastRuns = BTreeMap<SeriesKey, Vec<PastRun>>;

fn series_key(fullname: &str, machine: Option<&MachineId>, procs: Option<u64>) -> SeriesKey {
    let machine = machine.map(MachineId::series_key).unwrap_or_default();
    let machine = match procs {
        Some(procs) => format!("{machine} x{procs}"),
        None => machine,
    };
    (fullname.to_string(), machine)
}

/// The series of a new entry.
pub fn of_entry(entry: &HistoryEntry) -> SeriesKey {
    let procs = entry
        .benchmark
        .extra
        .get("procs")
        .and_then(serde_json::Value::as_u64);
    series_key(&entry.benchmark.fullname, entry.machine.as_ref(), procs)
}

/// The value of `stat` in a new entry.
pub fn value_of(entry: &HistoryEntry, stat: Statistic) -> f64 {
    let stats = &entry.benchmark.stats;
    match stat {
        Statistic::Min => stats.min.get(),
        Statistic::Median => stats.median.get(),
        Statistic::Mean => stats.mean.get(),
    }
}

fn stored_value(entry: &StoredEntry, stat: Statistic) -> Option<f64> {
    match stat {
        Statistic::Min => entry.stats.min,
        Statistic::Median => entry.stats.median,
        Statistic::Mean => entry.stats.mean,
    }
}

/// Each series' runs in `entries`, in file order.
fn runs_of(entries: Vec<StoredEntry>, stat: Statistic) -> PastRuns {
    let mut past = PastRuns::new();
    for entry in entries {
        if let Some(value) = stored_value(&entry, stat) {
            let key = series_key(&entry.fullname, entry.machine.as_ref(), entry.procs);
            let branch = entry.commit_info.and_then(|c| c.branch);
            past.entry(key).or_default().push((branch, value));
        }
    }
    past
}

/// The past runs of the `wanted` series in the history at `path` (which may not exist yet).
///
/// A bounded history keeps older runs in its archive: they are read back, newest chunk first,
/// while a wanted series has fewer runs than the window needs.
pub fn past_runs(
    path: &Path,
    wanted: &[SeriesKey],
    options: &GateOptions,
) -> Result<PastRuns, GateError> {
    let read = |path: &Path| -> Result<PastRuns, GateError> {
        let entries = history::read_stored(path)?.map(|h| h.entries);
        Ok(runs_of(entries.unwrap_or_default(), options.stat))
    };
    let mut past = read(path)?;
    let mut chunks = archive::chunks(path);
    while let Some((_, chunk)) = chunks.pop() {
        let short = wanted
            .iter()
            .any(|key| past.get(key).map_or(0, Vec::len) < options.window);
        if !short {
            break;
        }
        for (key, mut runs) in read(&chunk)? {
            runs.extend(past.remove(&key).unwrap_or_default());
            past.insert(key, runs);
        }
    }
    Ok(past)
}

/// The baseline runs: the last `window` runs on the first candidate branch with enough of them
/// (`--baseline-branch`, or the run's own branch, then main, then master), or failing that the
/// candidate with the most.
pub fn baseline(
    runs: &[PastRun],
    own: Option<&str>,
    options: &GateOptions,
) -> (Option<String>, Vec<f64>) {
    let candidates: Vec<String> = match &options.baseline_branch {
        Some(branch) => vec![branch.clone()],
        None => own
            .into_iter()
            .map(str::to_owned)
            .chain(["main".into(), "master".into()])
            .collect(),
    };
    let on = |branch: &str| -> Vec<f64> {
        let values: Vec<f64> = runs
            .iter()
            .filter(|(b, _)| b.as_deref() == Some(branch))
            .map(|(_, v)| *v)
            .collect();
        values[values.len().saturating_sub(options.window)..].to_vec()
    };
    let mut fallback: Option<(String, Vec<f64>)> = None;
    for branch in &candidates {
        let values = on(branch);
        if values.len() >= options.min_history {
            return (Some(branch.clone()), values);
        }
        if fallback
            .as_ref()
            .is_none_or(|(_, v)| values.len() > v.len())
        {
            fallback = Some((branch.clone(), values));
        }
    }
    match fallback {
        Some((branch, values)) => (Some(branch), values),
        None => (None, Vec::new()),
    }
}
