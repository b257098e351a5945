//! A benchmark's series (one benchmark on one machine at one process count), its past runs in a
//! history and the archive behind it, and the runs that form its baseline.

use std::collections::BTreeMap;
use std::path::Path;

use bench_model::{archive, history, GateRecord, HistoryEntry, MachineId, RunRef, StoredEntry};

use crate::error::GateError;
use crate::options::{GateOptions, Metric, Statistic};

/// A series: the benchmark's `fullname` and its machine's series key (with ` xN` for N MPI
/// processes). Runs on different machines or process counts are never compared.
pub type SeriesKey = (String, String);

/// One past run of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    /// The branch it was measured on.
    pub branch: Option<String>,
    /// Its value of the statistic compared, seconds, or of the metric judged.
    pub value: f64,
    /// Its commit and time, for the ranges of steps.
    pub run: RunRef,
    /// What the gate said of it, when it was judged.
    pub gate: Option<GateRecord>,
}

/// The past runs of the series a check asked for.
#[derive(Debug, Clone, Default)]
pub struct Past {
    /// Each series' runs, oldest first.
    pub runs: PastRuns,
    /// Series that took the original script's entries (no machine recorded) as their own, and
    /// how many.
    pub adopted: BTreeMap<SeriesKey, usize>,
}

/// Every series' past runs, oldest first.
pub type PastRuns = BTreeMap<SeriesKey, Vec<PastRun>>;

fn series_key(fullname: &str, machine: Option<String>, procs: Option<u64>) -> SeriesKey {
    let machine = machine.unwrap_or_default();
    let machine = match procs {
        Some(procs) => format!("{machine} x{procs}"),
        None => machine,
    };
    (fullname.to_string(), machine)
}

/// The series of a new entry.
pub fn of_entry(entry: &HistoryEntry) -> SeriesKey {
    let procs = procs_of(entry);
    let machine = entry.machine.as_ref().map(MachineId::series_key);
    series_key(&entry.benchmark.fullname, machine, procs)
}

/// The series of a stored entry.
pub fn of_stored(entry: &StoredEntry) -> SeriesKey {
    series_key(
        &entry.fullname,
        entry.machine.as_ref().map(|m| m.0.clone()),
        entry.procs,
    )
}

/// The MPI process count of a new entry, under a launcher.
pub fn procs_of(entry: &HistoryEntry) -> Option<u64> {
    entry
        .benchmark
        .extra
        .get("procs")
        .and_then(serde_json::Value::as_u64)
}

/// The value of `stat` in a new entry.
pub fn value_of(entry: &HistoryEntry, stat: Statistic) -> f64 {
    let stats = &entry.benchmark.stats;
    match stat {
        Statistic::Min => stats.min(),
        Statistic::Median => stats.median(),
        Statistic::Mean => stats.mean.get(),
    }
}

/// The value of `metric` in a new entry: time's statistic `stat`, or the metric's `value` in
/// `extra_info.metrics` (none when the entry has no such metric).
pub fn measured(entry: &HistoryEntry, metric: &Metric, stat: Statistic) -> Option<f64> {
    if metric.is_time() {
        return Some(value_of(entry, stat));
    }
    extra_metric(entry, metric)?.get("value")?.as_f64()
}

/// The unit of `metric` in a new entry (`s` for time).
pub fn unit_of(entry: &HistoryEntry, metric: &Metric) -> Option<String> {
    if metric.is_time() {
        return Some("s".into());
    }
    Some(
        extra_metric(entry, metric)?
            .get("unit")?
            .as_str()?
            .to_owned(),
    )
}

fn extra_metric<'a>(entry: &'a HistoryEntry, metric: &Metric) -> Option<&'a serde_json::Value> {
    entry
        .benchmark
        .extra_info
        .as_ref()?
        .get("metrics")?
        .get(metric.as_str())
}

/// A new entry as a range names it.
pub fn run_of(entry: &HistoryEntry) -> RunRef {
    RunRef {
        id: entry
            .commit_info
            .as_ref()
            .and_then(|c| c.id())
            .map(str::to_owned),
        datetime: entry.datetime.clone(),
    }
}

/// The value of `metric` in a stored entry, where it has one.
pub(crate) fn stored_value(entry: &StoredEntry, metric: &Metric, stat: Statistic) -> Option<f64> {
    if !metric.is_time() {
        return entry.metric(metric.as_str())?.value;
    }
    match stat {
        Statistic::Min => entry.stats.min,
        Statistic::Median => entry.stats.median,
        Statistic::Mean => entry.stats.mean,
    }
}

/// Each series' runs in `entries`, in file order.
fn runs_of(entries: Vec<StoredEntry>, metric: &Metric, stat: Statistic) -> PastRuns {
    let mut past = PastRuns::new();
    for mut entry in entries {
        if let Some(value) = stored_value(&entry, metric, stat) {
            let gate = match metric.is_time() {
                true => entry.gate.take().map(|g| *g),
                false => entry
                    .gate_by_metric
                    .take()
                    .and_then(|mut g| g.remove(metric.as_str())),
            };
            let run_ref = entry.run_ref();
            let key = series_key(&entry.fullname, entry.machine.map(|m| m.0), entry.procs);
            let run = PastRun {
                run: run_ref,
                branch: entry.commit_info.and_then(|c| c.branch),
                value,
                gate,
            };
            past.entry(key).or_default().push(run);
        }
    }
    past
}

/// The past runs of the `wanted` series in the history at `path` (which may not exist yet).
///
/// A bounded history keeps older runs in its archive: they are read back, newest chunk first,
/// while a wanted series has fewer runs than the window needs. Entries of the original script
/// (no machine recorded) count as a wanted series' own when no other machine ran its benchmark:
/// a history continued from the original script is judged at once.
pub fn past_runs(
    path: &Path,
    wanted: &[SeriesKey],
    options: &GateOptions,
) -> Result<Past, GateError> {
    let read = |path: &Path| -> Result<PastRuns, GateError> {
        let entries = history::read_stored(path)?.map(|h| h.entries);
        Ok(runs_of(
            entries.unwrap_or_default(),
            &options.metric(),
            options.stat,
        ))
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
    let mut adopted = BTreeMap::new();
    for (fullname, machine) in wanted {
        let legacy = (fullname.clone(), String::new());
        let identities = past
            .range((fullname.clone(), String::new())..)
            .take_while(|((f, _), _)| f == fullname)
            .filter(|((_, m), _)| m != machine && !m.is_empty())
            .count();
        // A run under a launcher (` xN`) is never the original script's.
        if machine.is_empty() || machine.starts_with(' ') || identities > 0 {
            continue;
        }
        if let Some(mut runs) = past.remove(&legacy) {
            adopted.insert((fullname.clone(), machine.clone()), runs.len());
            let key = (fullname.clone(), machine.clone());
            runs.extend(past.remove(&key).unwrap_or_default());
            past.insert(key, runs);
        }
    }
    Ok(Past {
        runs: past,
        adopted,
    })
}

/// The runs the baseline comes from: every run on the first candidate branch with enough of them
/// (`--baseline-branch`, or the run's own branch, then main, then master), or failing that the
/// candidate with the most; the gate judges against the last `window` of them.
pub fn baseline<'a>(
    runs: &'a [PastRun],
    own: Option<&str>,
    options: &GateOptions,
) -> (Option<String>, Vec<&'a PastRun>) {
    let candidates: Vec<String> = match &options.baseline_branch {
        Some(branch) => vec![branch.clone()],
        None => own
            .into_iter()
            .map(str::to_owned)
            .chain(["main".into(), "master".into()])
            .collect(),
    };
    let on = |branch: &str| -> Vec<&PastRun> {
        runs.iter()
            .filter(|r| r.branch.as_deref() == Some(branch))
            .collect()
    };
    let mut fallback: Option<(String, Vec<&PastRun>)> = None;
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
