//! A suite's history (`aggregate.json`): the bare JSON array of entries that GPE plots, and appending to it.
//!
//! An entry is a pytest-benchmark benchmark object (without `stats.data`) carrying the report's
//! `commit_info`, as the original `aggregate.py` wrote it, so existing plots that address
//! `commit_info.branch` and `stats.median` keep working. We add `datetime` (when the run ended)
//! and `machine` (a compact [`MachineId`]), so runs can be ordered and machines told apart;
//! entries written by the original script lack both and are read and kept unchanged.
//!
//! Appending never turns the old entries into values: it reads only what identifies each entry,
//! copies the old text through and writes the new entries after it. That keeps a 150 MB history
//! fast to append to, within its own size in memory, and byte-for-byte unchanged before the end.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::archive::{self, Bound};
use crate::error::{Error, Hints, Result};
use crate::fsio::{write_atomic, FileLock};
use crate::json::{self, NonFinite};
use crate::report::{parse_lenient, Benchmark, CommitInfo, Integers, Lenient, Num, Report};

/// One benchmark of one run, as stored in a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The benchmark as pytest-benchmark reported it, `stats.data` dropped unless asked to keep it.
    #[serde(flatten)]
    pub benchmark: Benchmark,
    /// The report's `commit_info` (what the original script attached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_info: Option<CommitInfo>,
    /// The report's `datetime`: when the run ended. Absent in entries of the original script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<String>,
    /// Which machine ran it. Absent in entries of the original script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineId>,
    /// What the regression gate said of this run, when it was judged before being recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateRecord>,
    /// What the gate said of the run's other metrics (`memory`, `energy`, a name in
    /// `extra_info.metrics`), by metric: each has its own verdicts and open regressions. Time's
    /// stays in `gate`, where older readers find it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gate_by_metric: BTreeMap<String, GateRecord>,
}

/// What the regression gate said of an entry's run, kept with the entry so that plots can mark
/// flagged runs and the next check continues from the state this run left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRecord {
    /// `regression`, `improvement`, `recovered`, `inconclusive`, `unchanged` or
    /// `insufficient_history`.
    pub verdict: String,
    /// For a step (regression, improvement, recovered): the new level against the one before,
    /// `new / before - 1` (+0.25: 25% slower); otherwise this run against the baseline.
    #[serde(default)]
    pub change: Option<f64>,
    /// The baseline, seconds: for a step, the level before it.
    #[serde(default)]
    pub baseline: Option<f64>,
    /// For a step (regression, improvement, recovered): the runs on either side of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<CommitRange>,
    /// The series' regressions still open after this run (written by every check since the gate
    /// judged sequences; absent in entries judged before, whose verdicts are replayed instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<Vec<OpenRecord>>,
    /// When most benchmarks of the run moved together: how much (`+0.25`: 25% slower), taken out
    /// before judging each one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_wide: Option<f64>,
}

/// A regression still open after a run: the step that opened it and the levels on either side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenRecord {
    /// The runs on either side of the step.
    pub range: CommitRange,
    /// The level before the step, seconds.
    pub before: f64,
    /// The slow level since, seconds.
    pub level: f64,
    /// Runs measured on the slow level so far.
    pub runs: usize,
}

/// Where a step in a series happened: `from` is the newest run on the level before it, `to` the
/// first run on the new level. The commits in between (`from..to`) are the suspects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRange {
    /// The newest run before the step.
    pub from: RunRef,
    /// The first run after it.
    pub to: RunRef,
}

/// A run as a range names it: its commit and when it ran (either may be unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRef {
    /// The commit id.
    pub id: Option<String>,
    /// When the run ended (or, for entries of the original script, the commit's time).
    pub datetime: Option<String>,
}

impl HistoryEntry {
    /// The entries one report adds to a history: every benchmark, in report order.
    pub fn from_report(report: &Report, keep_data: bool) -> Vec<HistoryEntry> {
        let machine = report
            .machine_info
            .as_ref()
            .map(MachineId::from_machine_info);
        report
            .benchmarks
            .iter()
            .map(|benchmark| {
                let mut benchmark = benchmark.clone();
                if !keep_data {
                    benchmark.stats.data = None;
                }
                HistoryEntry {
                    benchmark,
                    commit_info: report.commit_info.clone(),
                    datetime: report.datetime.clone(),
                    machine: machine.clone(),
                    gate: None,
                    gate_by_metric: BTreeMap::new(),
                }
            })
            .collect()
    }

    fn commit(&self) -> Option<&str> {
        self.commit_info.as_ref().and_then(|c| c.id())
    }

    fn key(&self) -> EntryKey {
        let stats = &self.benchmark.stats;
        let machine = self.machine.as_ref().map(MachineId::series_key);
        EntryKey::new(
            &self.benchmark.fullname,
            self.commit(),
            (self.datetime.as_deref(), machine.as_deref()),
            [
                stats.min.as_ref(),
                stats.max.as_ref(),
                Some(&stats.mean),
                Some(&stats.rounds),
            ]
            .map(|n| n.map(Num::get)),
        )
    }
}

/// What identifies the machine a run was measured on; never py-cpuinfo's long `flags` list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MachineId {
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Operating system, e.g. `Linux`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Kernel release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Architecture, e.g. `x86_64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// e.g. `CPython`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_implementation: Option<String>,
    /// e.g. `3.11.7`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_version: Option<String>,
    /// The CPU's brand string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_brand: Option<String>,
    /// Logical CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<u64>,
}

impl MachineId {
    /// What makes two runs comparable: the same host and hardware. Software versions are left
    /// out on purpose: an upgraded Python on the same machine continues its series (and a step
    /// it causes is worth seeing).
    pub fn series_key(&self) -> String {
        series_key(
            self.node.as_deref(),
            self.machine.as_deref(),
            self.cpu_brand.as_deref(),
            self.cpu_count,
        )
    }

    /// Extracts the identity from a report's `machine_info`, whatever py-cpuinfo version wrote it.
    pub fn from_machine_info(info: &Map<String, Value>) -> Self {
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let cpu = info.get("cpu").and_then(Value::as_object);
        let cpu_field = |key: &str| cpu.and_then(|c| c.get(key));
        MachineId {
            node: text(info.get("node")),
            system: text(info.get("system")),
            release: text(info.get("release")),
            machine: text(info.get("machine")),
            python_implementation: text(info.get("python_implementation")),
            python_version: text(info.get("python_version")),
            // py-cpuinfo 4 wrote `brand`, 6 and later `brand_raw`.
            cpu_brand: text(cpu_field("brand_raw")).or_else(|| text(cpu_field("brand"))),
            cpu_count: cpu_field("count").and_then(Value::as_u64),
        }
    }
}

/// `node|machine|cpu brand|cpu count`, `?` for what is unknown: see [`MachineId::series_key`].
fn series_key(
    node: Option<&str>,
    machine: Option<&str>,
    cpu_brand: Option<&str>,
    cpu_count: Option<u64>,
) -> String {
    let cpu_count = cpu_count.map(|c| c.to_string());
    [node, machine, cpu_brand, cpu_count.as_deref()]
        .map(|part| part.unwrap_or("?"))
        .join("|")
}

/// A stored entry's machine as its readers need it: the series key of its [`MachineId`]
/// (host and hardware). One string instead of eight keeps a 100,000-entry history's view small.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MachineKey(pub String);

impl<'de> Deserialize<'de> for MachineKey {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        // Only what the key holds: the other keys of `machine` are skipped unparsed.
        #[derive(Deserialize)]
        struct Parts {
            #[serde(default)]
            node: Option<String>,
            #[serde(default)]
            machine: Option<String>,
            #[serde(default)]
            cpu_brand: Option<String>,
            #[serde(default)]
            cpu_count: Option<u64>,
        }
        let p = Parts::deserialize(deserializer)?;
        Ok(MachineKey(series_key(
            p.node.as_deref(),
            p.machine.as_deref(),
            p.cpu_brand.as_deref(),
            p.cpu_count,
        )))
    }
}

/// What makes two entries the same run of the same benchmark: the benchmark, the commit, when
/// and on which machine the run ended, and its timings.
///
/// When and where matter: a coarse timer on two hosts (or two days) can give equal timings for
/// one commit, and those are two runs. Timings alone still recognise entries written by the
/// original script, which have no datetime or machine. The key is a 128-bit hash of those
/// fields rather than copies of them: appending to a 100,000-entry history keeps one per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EntryKey {
    /// This run: benchmark, commit, timings, datetime and machine.
    pub(crate) run: u128,
    /// The same without datetime and machine, as the original script's entries are keyed.
    pub(crate) legacy: u128,
}

impl EntryKey {
    /// The fields' bytes go into the hash in an order and encoding of our own, never through
    /// `std::hash::Hash` (whose bytes may change with Rust): the archive's index stores keys, so
    /// the same entry must get the same key from every build. Changing this encoding changes
    /// the index format (see `archive::ChunkIndex`).
    fn new(
        fullname: &str,
        commit: Option<&str>,
        ran: (Option<&str>, Option<&str>),
        timings: [Option<f64>; 4],
    ) -> Self {
        let mut hash = Fnv128::new();
        hash.text(Some(fullname));
        hash.text(commit);
        for timing in timings {
            // A missing or non-finite timing (stored as null) keys alike however it was written.
            let bits = timing
                .filter(|v| v.is_finite())
                .map_or(u64::MAX, f64::to_bits);
            hash.bytes(&bits.to_le_bytes());
        }
        // The key without when and where is the start of the one with them: one pass for both.
        let legacy = hash.0;
        let run = if ran == (None, None) {
            legacy
        } else {
            hash.text(ran.0);
            hash.text(ran.1);
            hash.0
        };
        EntryKey { run, legacy }
    }

    /// Whether `seen` (of stored entries' [`EntryKey::run`]) holds this run, or an entry of the
    /// original script with its benchmark, commit and timings.
    fn found_in(&self, seen: &SeenRuns) -> bool {
        seen.contains(&self.run) || seen.contains(&self.legacy)
    }
}

/// FNV-1a with 128 bits: one cheap pass, and within one history two distinct runs share a key
/// with a chance of about n^2 / 2^129.
struct Fnv128(u128);

impl Fnv128 {
    fn new() -> Self {
        Fnv128(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            // Times the FNV prime 2^88 + 0x13b, as a shift and a small product.
            let x = self.0 ^ u128::from(*b);
            self.0 = (x << 88).wrapping_add(x.wrapping_mul(0x13b));
        }
    }

    /// A tag for absent or present, then the text and a byte no UTF-8 text holds: no two
    /// sequences of fields give the same bytes.
    fn text(&mut self, text: Option<&str>) {
        match text {
            None => self.bytes(&[0]),
            Some(text) => {
                self.bytes(&[1]);
                self.bytes(text.as_bytes());
                self.bytes(&[0xff]);
            }
        }
    }
}

/// Keys that are hashes already: a set of them needs no hashing of its own.
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The set of run keys an append has seen.
type SeenRuns = HashSet<u128, std::hash::BuildHasherDefault<Prehashed>>;

/// A stored entry as every reader of histories sees it: which benchmark and series it belongs to,
/// when and where it ran, and its timings. The rest of the entry stays in the text, unparsed, so
/// reading a 150 MB history costs little more than scanning it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredEntry {
    /// The benchmark's node id.
    pub fullname: String,
    /// The commit the run measured.
    #[serde(default)]
    pub commit_info: Option<StoredCommit>,
    /// When the run ended; absent in entries of the original script.
    #[serde(default)]
    pub datetime: Option<String>,
    /// Where it ran; absent in entries of the original script.
    #[serde(default)]
    pub machine: Option<MachineKey>,
    /// The MPI process count of a run under a launcher.
    #[serde(default)]
    pub procs: Option<u64>,
    /// Its timings, seconds per iteration.
    pub stats: StoredStats,
    /// What the gate said of it, when it was judged (boxed: most entries have none, and a view
    /// of 100,000 entries should not carry room for it in each).
    #[serde(default)]
    pub gate: Option<Box<GateRecord>>,
    /// Its other metrics, `extra_info.metrics` (absent in most entries).
    #[serde(default)]
    pub extra_info: Option<Box<StoredExtraInfo>>,
    /// What the gate said of its other metrics, by metric.
    #[serde(default)]
    pub gate_by_metric: Option<Box<BTreeMap<String, GateRecord>>>,
}

/// What a stored entry's `extra_info` holds that readers of histories use: its metrics.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StoredExtraInfo {
    /// Metrics beside time by name (`memory`, `energy`, ...): `{"value", "unit", "better"}`.
    #[serde(default)]
    pub metrics: BTreeMap<String, StoredMetric>,
}

/// One metric of a stored entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StoredMetric {
    /// Its value (`null` where Python wrote NaN).
    #[serde(default)]
    pub value: Option<f64>,
    /// Its unit: `B`, `J`, ...
    #[serde(default)]
    pub unit: Option<String>,
}

/// What a stored entry's `commit_info` says (`null` where unknown).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StoredCommit {
    /// The commit id (40 hex digits with git; `unversioned` outside a repository).
    #[serde(default)]
    pub id: Option<String>,
    /// The branch, or `(detached head)`.
    #[serde(default)]
    pub branch: Option<String>,
    /// The commit's time.
    #[serde(default)]
    pub time: Option<String>,
}

/// The timings of a stored entry (`null`, or absent, where Python wrote NaN or nothing).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StoredStats {
    /// Fastest round.
    #[serde(default)]
    pub min: Option<f64>,
    /// Slowest round.
    #[serde(default)]
    pub max: Option<f64>,
    /// Mean round.
    #[serde(default)]
    pub mean: Option<f64>,
    /// Median round.
    #[serde(default)]
    pub median: Option<f64>,
    /// Rounds run.
    #[serde(default)]
    pub rounds: Option<f64>,
}

impl StoredEntry {
    fn commit(&self) -> Option<&str> {
        self.commit_info.as_ref().and_then(|c| c.id.as_deref())
    }

    pub(crate) fn key(&self) -> EntryKey {
        let s = &self.stats;
        EntryKey::new(
            &self.fullname,
            self.commit(),
            (
                self.datetime.as_deref(),
                self.machine.as_ref().map(|m| m.0.as_str()),
            ),
            [s.min, s.max, s.mean, s.rounds],
        )
    }

    /// When it ran: the run's datetime, or failing that its commit's time.
    pub fn date(&self) -> Option<&str> {
        self.datetime
            .as_deref()
            .or(self.commit_info.as_ref().and_then(|c| c.time.as_deref()))
    }

    /// The value of `metric` in `extra_info.metrics`, when the entry has one.
    pub fn metric(&self, metric: &str) -> Option<&StoredMetric> {
        self.extra_info.as_ref()?.metrics.get(metric)
    }

    /// The year of [`StoredEntry::date`], when it has one.
    pub fn year(&self) -> Option<&str> {
        self.date()
            .map(|d| &d[..d.len().min(4)])
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The run as a range names it.
    pub fn run_ref(&self) -> RunRef {
        RunRef {
            id: self.commit_info.as_ref().and_then(|c| c.id.clone()),
            datetime: self.date().map(str::to_owned),
        }
    }

    /// The branch its commit was on.
    pub fn branch(&self) -> Option<&str> {
        self.commit_info.as_ref().and_then(|c| c.branch.as_deref())
    }
}

/// A history file as read: its text (strict JSON) and a [`StoredEntry`] for each entry.
#[derive(Debug, Clone, Default)]
pub struct StoredHistory {
    /// The file's text, with Python's non-finite numbers rewritten as `null`.
    pub text: Vec<u8>,
    /// Its entries, in file order.
    pub entries: Vec<StoredEntry>,
    /// Where the file held non-finite numbers.
    pub non_finite: Vec<NonFinite>,
}

pub(crate) const HISTORY_HINTS: Hints = Hints {
    syntax: "the history is corrupt; restore it from version control, or move it away to start a new one",
    schema: "this is not a history of pytest-benchmark entries; pass the right file with --history",
    foreign: "aggregate and run-benchmarks never write that, so the file was edited by hand or by \
              another tool; restore it from version control",
};

/// What [`append_bounded`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Entries written.
    pub appended: usize,
    /// Entries already in the history (or given twice), not written again.
    pub duplicates: usize,
    /// Entries in the history afterwards.
    pub total: usize,
    /// Whether the history file did not exist before.
    pub created: bool,
    /// Non-finite numbers of the old history rewritten as `null`.
    pub non_finite: Vec<NonFinite>,
    /// The archive chunk the old history was moved to, to keep the current file within its bound.
    pub rotated: Option<PathBuf>,
    /// Whether a killed migration was rolled back first.
    pub recovered: bool,
    /// Whether the new entries alone break the bound: they are kept whole, in a file of their
    /// own, above the bound.
    pub oversized: bool,
}

/// Reads every entry of a history file whole (tolerating Python's non-finite numbers).
pub fn read(path: &Path) -> Result<(Vec<HistoryEntry>, Vec<NonFinite>)> {
    let text = crate::fsio::read_regular(path).map_err(|e| Error::read(path, e))?;
    let (entries, _, non_finite) = parse_history(&text, path, Integers::Exact)?;
    Ok((entries, non_finite))
}

/// The one reader of history files behind appending, rotation, migration and the gate: the
/// file's strict text and its entries' [`StoredEntry`] views; `None` when there is no file.
pub fn read_stored(path: &Path) -> Result<Option<StoredHistory>> {
    let text = match crate::fsio::read_regular(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read(path, e)),
    };
    let (entries, strict, non_finite) = parse_history(&text, path, Integers::Skipped)?;
    Ok(Some(StoredHistory {
        text: strict.unwrap_or(text),
        entries,
        non_finite,
    }))
}

fn parse_history<T: serde::de::DeserializeOwned>(
    text: &[u8],
    path: &Path,
    integers: Integers,
) -> Result<Lenient<Vec<T>>> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(empty_history(path));
    }
    parse_lenient(text, path, HISTORY_HINTS, integers)
}

fn empty_history(path: &Path) -> Error {
    Error::Schema {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        json_path: "(root)".into(),
        message: "the history is empty (0 bytes), not a JSON array".into(),
        hint:
            "a crash of the original aggregate.py can leave this; restore it from version control, \
               or delete it to start a new history",
    }
}

/// Appends `entries` to the history at `path`, skipping those it already holds, keeping the
/// current file within `bound`.
///
/// Creates the history when it does not exist. Holds the history's lock throughout and replaces
/// the file whole, so concurrent appenders all land and a crash leaves the old or the new file.
/// On any error the history is left as it was. When the new entries would break the bound, the
/// whole current file first moves into the archive as its newest chunk (one rename), and the new
/// entries start a new current file.
pub fn append_bounded(
    path: &Path,
    entries: &[HistoryEntry],
    bound: &Bound,
) -> Result<AppendOutcome> {
    let path = &crate::fsio::resolve_links(path);
    refuse_special(path)?;
    let _lock = FileLock::acquire(path)?;
    archive::remove_stale_temporaries(path);
    let recovered = archive::recover(path)?;
    let stored = read_stored(path)?;
    let created = stored.is_none();
    let StoredHistory {
        text: old,
        entries: stored,
        non_finite,
    } = stored.unwrap_or_default();
    let stored_count = stored.len();
    // A run's key holds its commit: only stored entries of an incoming commit can be one of its
    // runs, so only theirs are hashed.
    let commits: HashSet<Option<&str>> = entries.iter().map(HistoryEntry::commit).collect();
    let runs_of = |stored: &[StoredEntry]| -> Vec<u128> {
        stored
            .iter()
            .filter(|e| commits.contains(&e.commit()))
            .map(|e| e.key().run)
            .collect()
    };
    let mut seen: SeenRuns = runs_of(&stored).into_iter().collect();
    // Runs recorded before may have moved into any archive chunk: look in those that may hold
    // an incoming entry's run (see archive's index).
    let unseen: Vec<(Option<&str>, EntryKey)> = entries
        .iter()
        .map(|e| (e.datetime.as_deref(), e.key()))
        .filter(|(_, key)| !key.found_in(&seen))
        .collect();
    seen.extend(runs_of(&archive::entries_that_may_match(path, &unseen)?));
    let fresh: Vec<&HistoryEntry> = entries
        .iter()
        .filter(|entry| {
            let key = entry.key();
            !key.found_in(&seen) && seen.insert(key.run)
        })
        .collect();
    let mut outcome = AppendOutcome {
        appended: fresh.len(),
        duplicates: entries.len() - fresh.len(),
        total: stored_count + fresh.len(),
        created,
        non_finite,
        rotated: None,
        recovered,
        oversized: false,
    };
    if fresh.is_empty() && outcome.non_finite.is_empty() {
        return Ok(outcome);
    }

    let new_text =
        json::to_pretty_vec(&fresh).map_err(|e| Error::write(path, io::Error::other(e)))?;
    let after = old.len() as u64 + new_text.len() as u64;
    outcome.oversized = bound.exceeded_by(fresh.len(), new_text.len() as u64);
    let old = if stored_count > 0 && bound.exceeded_by(stored_count + fresh.len(), after) {
        outcome.rotated = Some(archive::rotate(path, &stored)?);
        outcome.total = fresh.len();
        Vec::new()
    } else {
        old
    };
    if let Err(error) = write_atomic(path, |out| write_appended(out, &old, &new_text)) {
        // Exit 2 means nothing changed: a rotated current file comes back from the archive.
        if let Some(chunk) = &outcome.rotated {
            archive::unrotate(path, chunk)?;
        }
        return Err(error);
    }
    Ok(outcome)
}

/// Splits the history at `path` into archive chunks within `bound` (see [`archive`]), in one step.
pub fn migrate(path: &Path, bound: &Bound) -> Result<archive::Migration> {
    let path = &crate::fsio::resolve_links(path);
    refuse_special(path)?;
    let _lock = FileLock::acquire(path)?;
    archive::remove_stale_temporaries(path);
    archive::recover(path)?;
    // Checked after recovery: a killed migration leaves the history in its journal.
    if !path.exists() {
        let missing = io::Error::new(
            io::ErrorKind::NotFound,
            "no such file or directory; pass the history to migrate with --history",
        );
        return Err(Error::read(path, missing));
    }
    archive::migrate(path, bound)
}

/// Refuses a history that exists but is no regular file before anything is locked or read.
fn refuse_special(path: &Path) -> Result<()> {
    if path.exists() {
        crate::fsio::ensure_regular(path).map_err(|e| Error::read(path, e))?;
    }
    Ok(())
}

/// Writes the old array with the new entries after its last element.
///
/// `new_text` is the pretty-printed array of new entries, `[\n    {...}\n]`; the old text is kept
/// as it was (compact or indented) up to its closing bracket.
fn write_appended(out: &mut impl Write, old: &[u8], new_text: &[u8]) -> io::Result<()> {
    let body = old.trim_ascii_end();
    let old_is_empty_array = body
        .strip_suffix(b"]")
        .is_none_or(|inner| inner.trim_ascii() == b"[");
    if old.is_empty() || old_is_empty_array {
        out.write_all(new_text)?;
    } else {
        let without_bracket = body[..body.len() - 1].trim_ascii_end();
        out.write_all(without_bracket)?;
        out.write_all(b",")?;
        out.write_all(&new_text[1..])?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_keys_stay_what_the_archive_index_stored() {
        // FNV-1a's published 128-bit value for "a".
        let mut hash = Fnv128::new();
        hash.bytes(b"a");
        assert_eq!(hash.0, 0xd228cb696f1a8caf78912b704e4a8964);
        // Keys are stored in indexes: a change of their encoding must be a change of the
        // index's format (see EntryKey::new), never an accident.
        let key = |ran| {
            EntryKey::new(
                "test_arrays.py::test_sum[1000]",
                Some("21ea49250223b548ebf115362178122563057860"),
                ran,
                [Some(5.2e-6), Some(1.4e-5), None, Some(182.0)],
            )
        };
        let run = key((Some("2026-11-27T07:08:00+00:00"), Some("vm|x86_64|?|2")));
        let legacy = key((None, None));
        assert_eq!(
            format!("{:032x}", run.run),
            "0a425164e68676f612307e866c49e878"
        );
        assert_eq!(
            format!("{:032x}", run.legacy),
            "1e019657c0a76df3a44c0941f8bf8934"
        );
        assert_eq!((legacy.run, legacy.legacy), (run.legacy, run.legacy));
    }

    #[test]
    fn appending_keeps_the_old_text_and_its_layout() {
        let new = br#"[
    {"x": 2}
]"#;
        let mut out = Vec::new();
        write_appended(&mut out, br#"[{"x": 1}]"#, new).unwrap();
        assert_eq!(out, b"[{\"x\": 1},\n    {\"x\": 2}\n]\n");
        let mut out = Vec::new();
        write_appended(&mut out, b"[\n    {\"x\": 1}\n]  \n", new).unwrap();
        assert_eq!(out, b"[\n    {\"x\": 1},\n    {\"x\": 2}\n]\n");
        let mut out = Vec::new();
        write_appended(&mut out, b"[ ]", new).unwrap();
        assert_eq!(out, [&new[..], b"\n"].concat());
    }
}
