//! The pytest-benchmark `--benchmark-json` report, as versions 3.2 to 5.3 write it.
//!
//! Source: pytest-benchmark's `session.py` (`handle_saving`), `stats.py` (`Stats.as_dict`) and
//! `utils.py` (`get_commit_info`, `get_machine_id`), checked against real runs (see
//! `fixtures/reports/`). Deviations from a plain typed model, all for losslessness and tolerance:
//! - every object keeps the keys we do not know in `extra` (plugins add keys at every level via the
//!   `pytest_benchmark_update_*` hooks), and fields are declared in pytest-benchmark's own order, so
//!   a report read and written back keeps its keys, values and key order;
//! - a key that may be absent *or* `null` is a [`Nullable`], so both survive a round trip;
//! - numbers are [`Num`], which keeps `0` an integer and `0.5` a float (`stddev` is the integer `0`
//!   with one round, `ops` the integer `0` when `total` is 0);
//! - `machine_info` stays an untyped object: py-cpuinfo's keys and types change between versions;
//!   [`MachineId`](crate::MachineId) extracts what identifies a machine;
//! - Python's bare `NaN`/`Infinity` are read as `null` (see [`ReadReport::non_finite`]).

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Hints, Result};
use crate::json::{self, NonFinite};

/// A key that may be absent (`None`), present as `null` (`Some(None)`) or hold a value.
pub type Nullable<T> = Option<Option<T>>;

/// Deserializes a present key into `Some`, so that `null` becomes `Some(None)`, not `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Nullable<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A JSON number exactly as written: integers stay integers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Num(pub Number);

impl Num {
    /// The value as a float (integers convert exactly up to 2^53).
    pub fn get(&self) -> f64 {
        self.0.as_f64().unwrap_or(f64::NAN)
    }
}

/// A whole `--benchmark-json` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// py-cpuinfo and `platform` data; untyped because its keys vary by version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_info: Option<Map<String, Value>>,
    /// The measured code's version-control state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_info: Option<CommitInfo>,
    /// One object per benchmark that produced results (may be empty).
    pub benchmarks: Vec<Benchmark>,
    /// When the run ended: naive UTC ISO 8601 up to 4.x, with `+00:00` from 5.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<String>,
    /// pytest-benchmark's version; absent in old files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Keys added by plugins.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One benchmark of a report: a test that called the `benchmark` fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Benchmark {
    /// `@pytest.mark.benchmark(group=...)`, or null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub group: Nullable<String>,
    /// The test's name with its parameter id, e.g. `test_sum[1000]`.
    pub name: String,
    /// The pytest node id, e.g. `test_arrays.py::test_sum[1000]`: the stable key of a series.
    pub fullname: String,
    /// The test's parameters (any JSON values), or null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub params: Nullable<Map<String, Value>>,
    /// The parameter id, or null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub param: Nullable<String>,
    /// What the test put in `benchmark.extra_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<Map<String, Value>>,
    /// The options the benchmark ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
    /// `--benchmark-cprofile` output, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cprofile: Option<Value>,
    /// The timings.
    pub stats: Stats,
    /// Keys added by plugins, and by us in a history entry.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A benchmark's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Whether the garbage collector was off while timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_gc: Option<bool>,
    /// The timer function, e.g. `perf_counter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<String>,
    /// `--benchmark-min-rounds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rounds: Option<Num>,
    /// `--benchmark-max-time`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time: Option<Num>,
    /// `--benchmark-min-time`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_time: Option<Num>,
    /// 5.3's precision target, or null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub precision: Nullable<Value>,
    /// 5.3's confidence level, or null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub confidence: Nullable<Value>,
    /// Warm-up: `false`, or the number of warm-up iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Warmup>,
    /// Options this model does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `warmup` option: pytest-benchmark writes `false` when off and an iteration count when on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Warmup {
    /// `true` or `false`.
    Flag(bool),
    /// Number of warm-up iterations.
    Iterations(Num),
}

impl Stats {
    /// The median, or NaN where it is unknown.
    pub fn median(&self) -> f64 {
        self.median.as_ref().map_or(f64::NAN, Num::get)
    }

    /// The fastest round, or NaN where it is unknown.
    pub fn min(&self) -> f64 {
        self.min.as_ref().map_or(f64::NAN, Num::get)
    }
}

/// A benchmark's timings; every time is in seconds per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Fastest round; `null` where a history imported from another tool does not know it.
    #[serde(default)]
    pub min: Option<Num>,
    /// Slowest round; `null` where unknown.
    #[serde(default)]
    pub max: Option<Num>,
    /// Mean of the rounds.
    pub mean: Num,
    /// Standard deviation (the integer `0` with one round); `null` where unknown.
    #[serde(default)]
    pub stddev: Option<Num>,
    /// Number of rounds.
    pub rounds: Num,
    /// Median of the rounds; `null` where a history imported from another tool does not know it
    /// (github-action-benchmark keeps the mean only): never invented.
    #[serde(default)]
    pub median: Option<Num>,
    /// Interquartile range.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub iqr: Nullable<Num>,
    /// First quartile.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub q1: Nullable<Num>,
    /// Third quartile.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub q3: Nullable<Num>,
    /// Rounds outside 1.5 IQR.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub iqr_outliers: Nullable<Num>,
    /// Rounds outside one standard deviation.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub stddev_outliers: Nullable<Num>,
    /// `"<stddev outliers>;<iqr outliers>"`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub outliers: Nullable<String>,
    /// Lowest datum within 1.5 IQR of Q1.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub ld15iqr: Nullable<Num>,
    /// Highest datum within 1.5 IQR of Q3.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub hd15iqr: Nullable<Num>,
    /// Operations per second (the integer `0` when `total` is 0).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub ops: Nullable<Num>,
    /// Total time of all rounds.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Nullable<Num>,
    /// Every round's time; in `--benchmark-json` output, absent from saved runs and histories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<Value>>,
    /// Iterations per round.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub iterations: Nullable<Num>,
    /// Statistics this model does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The version-control state of the measured code.
///
/// git fills every field; Mercurial leaves `author_time` null; outside any repository `id` is
/// `"unversioned"` and `branch` `"(unknown)"`; when the VCS call fails `id` is `"unknown"` and
/// `error` says why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Commit hash, `"unversioned"` or `"unknown"`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Nullable<String>,
    /// Commit time.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub time: Nullable<String>,
    /// Author time (null with Mercurial).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub author_time: Nullable<String>,
    /// Whether the work tree had uncommitted changes.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub dirty: Nullable<bool>,
    /// Why the VCS could not be read.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub error: Nullable<String>,
    /// Name of the project's folder.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub project: Nullable<String>,
    /// Branch, `"(detached head)"` or `"(unknown)"`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub branch: Nullable<String>,
    /// Keys this model does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CommitInfo {
    /// The commit id, when there is one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_ref().and_then(|v| v.as_deref())
    }

    /// The branch, when there is one.
    pub fn branch(&self) -> Option<&str> {
        self.branch.as_ref().and_then(|v| v.as_deref())
    }
}

/// A report read from a file, with what had to be changed to make it strict JSON.
#[derive(Debug, Clone)]
pub struct ReadReport {
    /// The report.
    pub report: Report,
    /// Non-finite numbers that were replaced by `null`.
    pub non_finite: Vec<NonFinite>,
}

const REPORT_HINTS: Hints = Hints {
    syntax: "the report is truncated or corrupt (concurrent pytest-xdist workers wrote it at once \
             before pytest-benchmark 5.2.2); run pytest with --benchmark-json again",
    schema: "this is not a pytest-benchmark --benchmark-json report",
};

impl Report {
    /// Reads a report file; see [`Report::from_slice`].
    pub fn read(path: &Path) -> Result<ReadReport> {
        let text = crate::fsio::read_regular(path).map_err(|e| Error::read(path, e))?;
        Self::from_slice(&text, path)
    }

    /// Parses a report, naming `path` in errors.
    ///
    /// Fails on an empty file and on a report without benchmarks, which is what pytest-benchmark
    /// leaves when nothing ran: there is nothing to record, and the caller must say so.
    pub fn from_slice(text: &[u8], path: &Path) -> Result<ReadReport> {
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyReport {
                path: path.to_path_buf(),
            });
        }
        let (report, _, non_finite) =
            parse_lenient::<Report>(text, path, REPORT_HINTS, Integers::Exact)?;
        if report.benchmarks.is_empty() {
            return Err(Error::NoBenchmarks {
                path: path.to_path_buf(),
            });
        }
        refuse_negative_times(&report, path)?;
        Ok(ReadReport { report, non_finite })
    }
}

impl Report {
    /// Merges the reports of the `procs` ranks of one MPI run (rank order) into one.
    ///
    /// An SPMD operation takes as long as its slowest rank: each benchmark keeps the statistics
    /// of the rank with the highest median, and records `procs` and `ranks` (`slowest`, and every
    /// rank's `medians`). Benchmarks missing from any rank are left out. The rest of the report
    /// is rank 0's.
    pub fn merge_ranks(mut ranks: Vec<Report>, procs: u32) -> Report {
        let others = ranks.split_off(1.min(ranks.len()));
        let Some(mut merged) = ranks.pop() else {
            return Report {
                machine_info: None,
                commit_info: None,
                benchmarks: Vec::new(),
                datetime: None,
                version: None,
                extra: Map::new(),
            };
        };
        let benchmarks = std::mem::take(&mut merged.benchmarks);
        for first in benchmarks {
            let mut per_rank = vec![&first];
            for other in &others {
                match other
                    .benchmarks
                    .iter()
                    .find(|b| b.fullname == first.fullname)
                {
                    Some(b) => per_rank.push(b),
                    None => break,
                }
            }
            if per_rank.len() != others.len() + 1 {
                continue;
            }
            let medians: Vec<f64> = per_rank.iter().map(|b| b.stats.median()).collect();
            let slowest = (0..medians.len())
                .max_by(|&a, &b| medians[a].total_cmp(&medians[b]))
                .unwrap_or(0);
            let mut benchmark = per_rank[slowest].clone();
            benchmark.extra.insert("procs".into(), Value::from(procs));
            benchmark.extra.insert(
                "ranks".into(),
                serde_json::json!({ "slowest": slowest, "medians": medians }),
            );
            merged.benchmarks.push(benchmark);
        }
        merged
    }
}

/// Whether [`parse_lenient`] must keep integers beyond 64 bits exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Integers {
    /// The value keeps every number it holds (a report, a history read whole): big integers are
    /// rewritten as strings of their digits first, at the price of one more scan of the text.
    Exact,
    /// The value skips the numbers that could be big (the stored-entry view reads only timings,
    /// counts and names; skipped numbers are scanned, never converted, and the text is copied
    /// through unchanged), so the scan is not needed. A 40-digit hexadecimal commit id has a run
    /// of 20 decimal digits often enough that the scan would run on nearly every large history.
    Skipped,
}

/// What [`parse_lenient`] gives: the value, the strict text when it differs, the non-finite numbers.
pub(crate) type Lenient<T> = (T, Option<Vec<u8>>, Vec<NonFinite>);

/// A time below zero is no measurement: a broken timer or an edited file, never a run to judge.
fn refuse_negative_times(report: &Report, path: &Path) -> Result<()> {
    for (index, benchmark) in report.benchmarks.iter().enumerate() {
        let s = &benchmark.stats;
        let times = [
            ("min", s.min.as_ref()),
            ("max", s.max.as_ref()),
            ("mean", Some(&s.mean)),
            ("median", s.median.as_ref()),
            ("stddev", s.stddev.as_ref()),
        ];
        let negative = times
            .iter()
            .find_map(|(name, v)| v.filter(|v| v.get() < 0.0).map(|v| (name, v)));
        if let Some((name, value)) = negative {
            return Err(Error::Schema {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                json_path: format!("benchmarks[{index}].stats.{name}"),
                message: format!("a negative time ({}), which no timer measures", value.get()),
                hint: REPORT_HINTS.schema,
            });
        }
    }
    Ok(())
}

/// Parses strict JSON, or Python's JSON with bare non-finite numbers read as `null`: the one
/// lenient parser behind reports and histories. Returns the value, the strict text when it had to
/// be made strict (`None`: `text` was strict already) and where the non-finite numbers were.
/// Bytes that are not UTF-8 are refused wherever they are, in reports and histories alike, even
/// inside values no reader looks at: a file we would rewrite must be valid JSON, which is UTF-8.
pub(crate) fn parse_lenient<T: serde::de::DeserializeOwned>(
    text: &[u8],
    path: &Path,
    hints: Hints,
    integers: Integers,
) -> Result<Lenient<T>> {
    if let Err(error) = std::str::from_utf8(text) {
        let before = &text[..error.valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        return Err(Error::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: "invalid UTF-8".into(),
            hint: hints.syntax,
        });
    }
    // serde_json would silently round a big integer (or refuse it): rewrite first.
    if integers == Integers::Exact && json::may_hold_big_integer(text) {
        if let Some((strict, found)) = json::replace_non_finite(text) {
            return match serde_json::from_slice::<T>(&strict) {
                Ok(value) => Ok((value, Some(strict), found)),
                Err(e) => Err(Error::from_serde(path, &strict, &e, hints)),
            };
        }
    }
    match serde_json::from_slice::<T>(text) {
        Ok(value) => Ok((value, None, Vec::new())),
        Err(error) if error.is_syntax() && json::may_hold_non_finite(text) => {
            match json::replace_non_finite(text) {
                Some((strict, found)) => match serde_json::from_slice::<T>(&strict) {
                    Ok(value) => Ok((value, Some(strict), found)),
                    Err(e) => Err(Error::from_serde(path, &strict, &e, hints)),
                },
                None => Err(Error::from_serde(path, text, &error, hints)),
            }
        }
        Err(error) => Err(Error::from_serde(path, text, &error, hints)),
    }
}
