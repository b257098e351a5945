//! Histories other tools recorded, read into history entries run by run: github-action-benchmark's
//! `data.js` (tool `pytest`, and the custom tools through a name pattern) and pytest-benchmark's
//! saved runs (`--benchmark-save`/`--benchmark-autosave`, one file or their folder).
//!
//! What the other tool did not record is left out, never invented: a `data.js` keeps a bench's
//! mean, standard deviation and rounds, so the entry's `min`, `max` and `median` are `null`;
//! it keeps no machine, so the entry has none; a custom tool's other metrics (energy, power,
//! utilisation) go to `extra_info.metrics.NAME` as `{"value", "unit"}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bench_model::{Benchmark, HistoryEntry, Report};
use serde_json::{json, Map, Value};

/// What `--import` reads.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The `data.js` series to import, when the file holds several.
    pub series: Option<String>,
    /// How a custom tool's bench names split into the benchmark, its dimensions and the metric.
    pub pattern: NamePattern,
    /// The metric of a custom tool that is the benchmark's time (seconds, `stats.mean`).
    pub time_metric: String,
    /// The branch the imported runs measured (`data.js` does not say).
    pub branch: String,
    /// Import pull-request runs too (their commit URL holds `/pull/`).
    pub pull_requests: bool,
}

impl Default for ImportOptions {
    /// What `aggregate --import` does without options: HeAT's names, `RUNTIME` as the time, the
    /// runs of `main`, no pull requests.
    fn default() -> Self {
        ImportOptions {
            series: None,
            pattern: NamePattern::parse(NamePattern::HEAT).expect("HeAT's pattern parses"),
            time_metric: "RUNTIME".into(),
            branch: "main".into(),
            pull_requests: false,
        }
    }
}

/// What an import read: the runs, oldest first, and what it left out.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Each run's entries.
    pub runs: Vec<Vec<HistoryEntry>>,
    /// What was read, for the summary line: `data.js series "X"`, `8 saved runs`.
    pub what: String,
    /// Things left out, said once each.
    pub warnings: Vec<String>,
}

/// Why an import could not be read (exit 2; nothing is written).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", bench_model::shown(.path))]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not what `--import` reads, or not in the shape expected.
    #[error("{}{}: {message}; {hint}", bench_model::shown(.path), .position.as_ref().map_or(String::new(), |(l, c)| format!(":{l}:{c}")))]
    Format {
        /// The file.
        path: PathBuf,
        /// Line and column, when known.
        position: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: &'static str,
    },
    /// A saved pytest-benchmark run could not be read.
    #[error(transparent)]
    Report(#[from] bench_model::Error),
    /// `--name-pattern` is not a pattern.
    #[error("--name-pattern {pattern:?}: {message}; write fields in braces between literal separators, e.g. '{{benchmark}}_{{nodes}}_{{device}} - {{metric}}'")]
    Pattern {
        /// The pattern given.
        pattern: String,
        /// What is wrong.
        message: String,
    },
}

const DATA_JS_HINT: &str = "--import reads a github-action-benchmark data.js (window.BENCHMARK_DATA = {...}), a pytest-benchmark saved run, or a folder of saved runs (.benchmarks)";

/// A template for a custom tool's bench names: `{field}`s between literal separators, matched
/// from the right (so the first field may hold the separators itself). `{benchmark}` names the
/// benchmark, `{metric}` the metric, `{procs}` a process count; any other field is a dimension
/// of the series (kept in the entry's params and its name).
#[derive(Debug, Clone, PartialEq)]
pub struct NamePattern {
    pattern: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Field(String),
    Literal(String),
}

impl NamePattern {
    /// HeAT's `NAME_NODES_DEVICE - METRIC`, e.g. `kmeans_N4_CPU - RUNTIME`.
    pub const HEAT: &'static str = "{benchmark}_{nodes}_{device} - {metric}";

    /// Parses `pattern`.
    pub fn parse(pattern: &str) -> Result<Self, ImportError> {
        let error = |message: &str| ImportError::Pattern {
            pattern: pattern.to_string(),
            message: message.to_string(),
        };
        let mut parts = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or_else(|| error("a { is not closed"))?;
                let name = &after[..end];
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(error("a field's name is letters, digits and _"));
                }
                if matches!(parts.last(), Some(Part::Field(_))) {
                    return Err(error("two fields need a literal separator between them"));
                }
                parts.push(Part::Field(name.to_string()));
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                parts.push(Part::Literal(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        if !parts.iter().any(|p| p == &Part::Field("benchmark".into())) {
            return Err(error("it has no {benchmark} field"));
        }
        Ok(NamePattern {
            pattern: pattern.to_string(),
            parts,
        })
    }

    /// The fields of `name`, or `None` when it does not match.
    pub fn fields(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let mut rest = name;
        let mut fields = BTreeMap::new();
        let mut i = self.parts.len();
        while i > 0 {
            i -= 1;
            match &self.parts[i] {
                Part::Literal(literal) => {
                    if i == 0 {
                        rest = rest.strip_prefix(literal.as_str())?;
                    } else {
                        rest = rest.strip_suffix(literal.as_str())?;
                    }
                }
                Part::Field(field) => {
                    let value = match i.checked_sub(1).map(|p| &self.parts[p]) {
                        Some(Part::Literal(literal)) => {
                            let at = rest.rfind(literal.as_str())?;
                            let value = &rest[at + literal.len()..];
                            rest = &rest[..at];
                            i -= 1; // the separator is used up
                            if i == 0 && !literal.is_empty() {
                                // A leading literal: the rest must be empty now.
                                if !rest.is_empty() {
                                    return None;
                                }
                            }
                            value
                        }
                        _ => std::mem::take(&mut rest),
                    };
                    if value.is_empty() {
                        return None;
                    }
                    fields.insert(field.clone(), value.to_string());
                }
            }
        }
        rest.is_empty().then_some(fields)
    }
}

impl std::fmt::Display for NamePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Reads `path`: a `data.js`, a saved run, or a folder of saved runs.
pub fn read(path: &Path, options: &ImportOptions) -> Result<Imported, ImportError> {
    if path.is_dir() {
        return saved_runs(path);
    }
    let bytes = bench_model::fsio::read_regular(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("window.BENCHMARK_DATA") {
        data_js(path, text, options)
    } else {
        let report = Report::read(path)?;
        Ok(Imported {
            runs: vec![HistoryEntry::from_report(&report.report, false)],
            what: "1 saved pytest-benchmark run".into(),
            warnings: Vec::new(),
        })
    }
}

/// A folder of pytest-benchmark saved runs (`.benchmarks/<machine>/NNNN_*.json`, or the files
/// of one machine's folder), every file in the order of its run's time.
fn saved_runs(dir: &Path) -> Result<Imported, ImportError> {
    let mut files = Vec::new();
    for pattern in [
        "*/[0-9][0-9][0-9][0-9]_*.json",
        "[0-9][0-9][0-9][0-9]_*.json",
    ] {
        let full = dir.join(pattern);
        let found = glob::glob(&full.to_string_lossy()).map_err(|e| ImportError::Format {
            path: dir.to_path_buf(),
            position: None,
            message: e.to_string(),
            hint: DATA_JS_HINT,
        })?;
        files.extend(found.filter_map(Result::ok));
    }
    if files.is_empty() {
        return Err(ImportError::Format {
            path: dir.to_path_buf(),
            position: None,
            message: "no saved pytest-benchmark run (NNNN_NAME.json) in it or its sub-folders"
                .into(),
            hint: DATA_JS_HINT,
        });
    }
    let mut reports = Vec::new();
    for file in &files {
        let report = Report::read(file)?.report;
        reports.push((
            report.datetime.clone().unwrap_or_default(),
            file.clone(),
            report,
        ));
    }
    reports.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(Imported {
        what: format!("{} saved pytest-benchmark run(s)", reports.len()),
        runs: reports
            .iter()
            .map(|(_, _, report)| HistoryEntry::from_report(report, false))
            .collect(),
        warnings: Vec::new(),
    })
}

fn data_js(path: &Path, text: &str, options: &ImportOptions) -> Result<Imported, ImportError> {
    let start = text.find('{').ok_or_else(|| ImportError::Format {
        path: path.to_path_buf(),
        position: None,
        message: "no object after window.BENCHMARK_DATA =".into(),
        hint: DATA_JS_HINT,
    })?;
    let body = text[start..].trim_end().trim_end_matches(';');
    let data: Value = serde_json::from_str(body).map_err(|e| ImportError::Format {
        path: path.to_path_buf(),
        // The object starts on the file's first line, after the assignment.
        position: Some((
            e.line(),
            if e.line() == 1 {
                e.column() + start
            } else {
                e.column()
            },
        )),
        message: format!("invalid JSON ({e})"),
        hint: "the file is cut short or edited; take it again from the gh-pages branch",
    })?;
    let shape = |message: String| ImportError::Format {
        path: path.to_path_buf(),
        position: None,
        message,
        hint: DATA_JS_HINT,
    };
    let entries = data
        .get("entries")
        .and_then(Value::as_object)
        .ok_or_else(|| shape("no \"entries\" object".into()))?;
    let names: Vec<&String> = entries.keys().collect();
    let series =
        match (&options.series, names.as_slice()) {
            (Some(wanted), _) => entries.get_key_value(wanted).ok_or_else(|| {
                shape(format!(
                    "no series {wanted:?}; it holds {names:?} (--series)"
                ))
            })?,
            (None, [one]) => (*one, &entries[*one]),
            (None, _) => return Err(ImportError::Format {
                path: path.to_path_buf(),
                position: None,
                message: format!("it holds several series: {names:?}"),
                hint:
                    "name the one to import with --series NAME (import each into its own history)",
            }),
        };
    let runs = series
        .1
        .as_array()
        .ok_or_else(|| shape(format!("series {:?} is not an array of runs", series.0)))?;
    let mut imported = Imported {
        what: format!("data.js series {:?}", series.0),
        ..Imported::default()
    };
    let (mut pull_requests, mut unmatched, mut no_time) = (0, BTreeMap::new(), 0);
    for (index, run) in runs.iter().enumerate() {
        let commit = run.get("commit").cloned().unwrap_or(Value::Null);
        let url = commit
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if url.contains("/pull/") && !options.pull_requests {
            pull_requests += 1;
            continue;
        }
        let date = run
            .get("date")
            .and_then(Value::as_i64)
            .ok_or_else(|| shape(format!("run {index} has no date (milliseconds)")))?;
        let context = RunContext {
            commit_info: commit_info(&commit, &options.branch),
            datetime: iso_utc(date),
        };
        let benches = run
            .get("benches")
            .and_then(Value::as_array)
            .ok_or_else(|| shape(format!("run {index} has no benches")))?;
        let tool = run.get("tool").and_then(Value::as_str).unwrap_or("pytest");
        let entries = if tool == "pytest" {
            benches
                .iter()
                .filter_map(|bench| pytest_bench(bench, &context))
                .collect()
        } else {
            custom_benches(
                benches,
                tool,
                &context,
                options,
                &mut unmatched,
                &mut no_time,
            )
        };
        if !entries.is_empty() {
            imported.runs.push(entries);
        }
    }
    if pull_requests > 0 {
        imported.warnings.push(format!(
            "{pull_requests} pull-request run(s) left out (--pull-requests imports them)"
        ));
    }
    if !unmatched.is_empty() {
        let examples: Vec<&String> = unmatched.keys().take(3).collect();
        imported.warnings.push(format!(
            "{} bench name(s) do not match --name-pattern '{}' and were left out, e.g. {examples:?}",
            unmatched.len(),
            options.pattern
        ));
    }
    if no_time > 0 {
        imported.warnings.push(format!(
            "{no_time} benchmark(s) of a run had no {} metric (its time) and were left out",
            options.time_metric
        ));
    }
    Ok(imported)
}

/// What every entry of one run shares.
struct RunContext {
    commit_info: Value,
    datetime: String,
}

fn commit_info(commit: &Value, branch: &str) -> Value {
    let text = |key: &str| commit.get(key).and_then(Value::as_str);
    let mut info = Map::new();
    info.insert("id".into(), json!(text("id")));
    info.insert("time".into(), json!(text("timestamp")));
    info.insert("branch".into(), json!(branch));
    if let Some(message) = text("message") {
        info.insert(
            "subject".into(),
            json!(message.lines().next().unwrap_or("")),
        );
    }
    if let Some(url) = text("url") {
        info.insert("url".into(), json!(url));
    }
    Value::Object(info)
}

fn entry(benchmark: Value, context: &RunContext) -> Option<HistoryEntry> {
    let benchmark: Benchmark = serde_json::from_value(benchmark).ok()?;
    Some(HistoryEntry {
        benchmark,
        commit_info: serde_json::from_value(context.commit_info.clone()).ok(),
        datetime: Some(context.datetime.clone()),
        machine: None,
        gate: None,
        gate_by_metric: Default::default(),
    })
}

/// One `pytest` bench: `value` is operations per second, `range` is `stddev: S`, `extra` is
/// `mean: M unit\nrounds: R`.
fn pytest_bench(bench: &Value, context: &RunContext) -> Option<HistoryEntry> {
    let fullname = bench.get("name")?.as_str()?;
    let ops = bench.get("value").and_then(Value::as_f64);
    let extra = bench
        .get("extra")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mean = extra
        .lines()
        .find_map(|l| l.strip_prefix("mean: "))
        .and_then(|m| {
            let (number, unit) = m.split_once(' ')?;
            Some(number.parse::<f64>().ok()? * seconds_per(unit)?)
        })
        .or_else(|| ops.filter(|o| *o > 0.0).map(|o| 1.0 / o))?;
    let rounds = extra
        .lines()
        .find_map(|l| l.strip_prefix("rounds: "))
        .and_then(|r| r.trim().parse::<u64>().ok());
    let stddev = bench
        .get("range")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("stddev: "))
        .and_then(|s| s.trim().parse::<f64>().ok());
    let name = fullname.rsplit("::").next().unwrap_or(fullname);
    entry(
        json!({
            "group": null, "name": name, "fullname": fullname, "params": null, "param": null,
            "extra_info": {},
            "stats": {"min": null, "max": null, "mean": mean, "stddev": stddev,
                      "rounds": rounds.unwrap_or(0), "median": null, "ops": ops},
        }),
        context,
    )
}

/// The seconds in one `unit` of time, for the units github-action-benchmark writes.
fn seconds_per(unit: &str) -> Option<f64> {
    Some(match unit.trim() {
        "sec" | "s" => 1.0,
        "msec" | "ms" => 1e-3,
        "usec" | "us" => 1e-6,
        "nsec" | "ns" => 1e-9,
        _ => return None,
    })
}

/// A custom tool's benches of one run: one entry per benchmark and dimensions, its time from the
/// time metric and every other metric in `extra_info.metrics`.
fn custom_benches(
    benches: &[Value],
    tool: &str,
    context: &RunContext,
    options: &ImportOptions,
    unmatched: &mut BTreeMap<String, ()>,
    no_time: &mut usize,
) -> Vec<HistoryEntry> {
    // (benchmark, dimensions) -> (time seconds, its spread, other metrics)
    type Group = (Option<f64>, Option<f64>, Map<String, Value>);
    let mut groups: BTreeMap<(String, Vec<(String, String)>), Group> = BTreeMap::new();
    let mut order = Vec::new();
    for bench in benches {
        let Some(name) = bench.get("name").and_then(Value::as_str) else {
            continue;
        };
        let Some(mut fields) = options.pattern.fields(name) else {
            unmatched.insert(name.to_string(), ());
            continue;
        };
        let benchmark = fields.remove("benchmark").unwrap_or_default();
        let metric = fields
            .remove("metric")
            .unwrap_or_else(|| options.time_metric.clone());
        let dimensions: Vec<(String, String)> = fields.into_iter().collect();
        let key = (benchmark, dimensions);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        let group = groups.entry(key).or_default();
        let value = bench.get("value").and_then(Value::as_f64);
        let unit = bench
            .get("unit")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let spread = bench.get("range").and_then(|r| {
            r.as_f64()
                .or_else(|| r.as_str()?.trim_start_matches("± ").parse().ok())
        });
        if metric == options.time_metric {
            let scale = seconds_per(unit).unwrap_or(1.0);
            group.0 = value.map(|v| v * scale);
            group.1 = spread.map(|s| s * scale);
        } else if let Some(value) = value {
            let (value, unit) = match unit {
                "kJ" => (value * 1e3, "J"),
                "MJ" => (value * 1e6, "J"),
                other => (value, other),
            };
            let better = if tool == "customBiggerIsBetter" {
                "bigger"
            } else {
                "smaller"
            };
            group.2.insert(
                metric.to_lowercase(),
                json!({"value": value, "unit": unit, "better": better}),
            );
        }
    }
    let mut entries = Vec::new();
    for key in order {
        let (time, spread, metrics) = groups.remove(&key).unwrap_or_default();
        let (benchmark, dimensions) = key;
        let Some(mean) = time else {
            *no_time += 1;
            continue;
        };
        let procs = dimensions
            .iter()
            .find(|(k, _)| k == "procs")
            .and_then(|(_, v)| v.parse::<u64>().ok());
        let shown: Vec<&str> = dimensions
            .iter()
            .filter(|(k, _)| k != "procs")
            .map(|(_, v)| v.as_str())
            .collect();
        let param = shown.join("-");
        let fullname = if param.is_empty() {
            benchmark.clone()
        } else {
            format!("{benchmark}[{param}]")
        };
        let params: Map<String, Value> = dimensions
            .iter()
            .filter(|(k, _)| k != "procs")
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut extra_info = Map::new();
        if !metrics.is_empty() {
            extra_info.insert("metrics".into(), Value::Object(metrics));
        }
        let mut object = json!({
            "group": null, "name": fullname, "fullname": fullname,
            "params": if params.is_empty() { Value::Null } else { Value::Object(params) },
            "param": if param.is_empty() { Value::Null } else { json!(param) },
            "extra_info": extra_info,
            "stats": {"min": null, "max": null, "mean": mean, "stddev": spread,
                      "rounds": 0, "median": null},
        });
        if let Some(procs) = procs {
            object["procs"] = json!(procs);
        }
        entries.extend(entry(object, context));
    }
    entries
}

/// Milliseconds since the epoch as `2024-05-01T12:30:00.123+00:00`.
fn iso_utc(millis: i64) -> String {
    let (days, rest) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, ms) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}+00:00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_names_split_from_the_right() {
        let pattern = NamePattern::parse(NamePattern::HEAT).unwrap();
        let fields = pattern
            .fields("apply_inplace_normalizer_N4_CPU - RUNTIME")
            .unwrap();
        assert_eq!(fields["benchmark"], "apply_inplace_normalizer");
        assert_eq!(fields["nodes"], "N4");
        assert_eq!(fields["device"], "CPU");
        assert_eq!(fields["metric"], "RUNTIME");
        assert!(pattern.fields("kmeans - RUNTIME").is_none());
        assert!(NamePattern::parse("{a}{b}").is_err());
        assert!(NamePattern::parse("{name} - {metric}").is_err());
        let plain = NamePattern::parse("bench:{benchmark}").unwrap();
        assert_eq!(plain.fields("bench:x_y").unwrap()["benchmark"], "x_y");
        assert!(plain.fields("other:x").is_none());
    }

    #[test]
    fn milliseconds_become_utc_dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000+00:00");
        assert_eq!(iso_utc(1_682_566_048_655), "2023-04-27T03:27:28.655+00:00");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00.000+00:00");
    }
}
