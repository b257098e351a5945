//! The gate's findings for people and machines: a terminal table, Markdown for a job summary or a
//! pull-request comment, JSON, and GitHub Actions annotations.
//!
//! Benchmark names (pytest parametrize ids) and suite names come from whoever wrote the tests,
//! pull requests from forks included: they are untrusted. Every output escapes them for where it
//! goes: control characters are shown, never obeyed, no line starts with them (GitHub reads a
//! line starting with `::` as a workflow command), Markdown cells cannot split a row or a code
//! span, and annotation messages encode `%`, CR and LF as GitHub requires.

use std::fmt::Write as _;
use std::path::Path;

use bench_model::{CommitRange, RunRef};

use crate::backtest::Backtest;
use crate::error::GateError;
use crate::judge::Verdict;
use crate::options::Metric;
use crate::verdicts::{CheckReport, Judgement, OpenRegression, RunWide};

/// How commits become links in Markdown: `--commit-url`, e.g.
/// `https://github.com/ORG/REPO/commit/{id}`. A template with `/commit/{id}` (GitHub, GitLab's
/// `/-/commit/{id}`) also gives the compare link `/compare/FROM...TO`.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The template, `{id}` replaced by the full commit id.
    pub commit_url: Option<String>,
}

impl Links {
    fn commit(&self, id: &str) -> Option<String> {
        self.commit_url
            .as_ref()
            .filter(|_| is_commit_id(id))
            .map(|t| t.replace("{id}", id))
    }

    fn compare(&self, from: &str, to: &str) -> Option<String> {
        let template = self.commit_url.as_ref()?;
        (template.contains("/commit/{id}") && is_commit_id(from) && is_commit_id(to))
            .then(|| template.replace("/commit/{id}", &format!("/compare/{from}...{to}")))
    }
}

/// Only hexadecimal ids go into links: a commit id read from a history is untrusted too.
fn is_commit_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `text` with every control character shown as an escape (`\n`, `\u{1b}`), so that a name can
/// neither start a line of its own nor drive the terminal, and GitHub's older command marker
/// `##[` broken (the runner takes it anywhere in a line of the log).
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.replace("##[", "#\\x23[")
}

/// `text` as a Markdown code span inside a table cell: shown verbatim, whatever it holds.
fn code_cell(text: &str) -> String {
    let text = visible(text).replace('|', "\\|");
    // A code span's fence is longer than any run of backticks inside it.
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// `text` as the data of a GitHub workflow command (`%`, CR and LF encoded).
pub fn command_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `text` as a property value of a GitHub workflow command (also `:` and `,` encoded).
pub fn command_property(text: &str) -> String {
    command_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A commit as people read it: the first 12 hex digits, or what stands in its place.
fn short(run: &RunRef) -> String {
    match run.id.as_deref() {
        Some(id) if id.len() == 40 && is_commit_id(id) => id[..12].into(),
        Some(id) => visible(id),
        None => "unknown commit".into(),
    }
}

/// `when` of a run: its date, when known.
fn day(run: &RunRef) -> String {
    run.datetime.as_deref().map_or(String::new(), |d| {
        format!(" ({})", visible(&d.chars().take(10).collect::<String>()))
    })
}

/// `abc123def456 (2026-11-20) .. 0123456789ab (2026-11-21)`: the suspects of a step.
pub fn range_text(range: &CommitRange) -> String {
    format!(
        "{}{} .. {}{}",
        short(&range.from),
        day(&range.from),
        short(&range.to),
        day(&range.to)
    )
}

fn range_markdown(range: &CommitRange, links: &Links) -> String {
    let commit = |run: &RunRef| match run.id.as_deref().and_then(|id| links.commit(id)) {
        Some(url) => format!("[`{}`]({url}){}", short(run), day(run)),
        None => format!("{}{}", code_cell(&short(run)), day(run)),
    };
    let mut text = format!("{} .. {}", commit(&range.from), commit(&range.to));
    // A compare link only where the two ends differ: from a commit to itself it shows nothing.
    let compare = match (range.from.id.as_deref(), range.to.id.as_deref()) {
        (Some(from), Some(to)) if from != to => links.compare(from, to),
        _ => None,
    };
    if let Some(url) = compare {
        text.push_str(&format!(" ([compare]({url}))"));
    }
    text
}

/// A time in the unit that suits it: `1.234 ms`.
pub fn format_seconds(seconds: f64) -> String {
    let (scale, unit) = match seconds.abs() {
        s if s >= 1.0 => (1.0, "s"),
        s if s >= 1e-3 => (1e3, "ms"),
        s if s >= 1e-6 => (1e6, "us"),
        _ => (1e9, "ns"),
    };
    format!("{:.3} {unit}", seconds * scale)
}

/// A value in the unit that suits it: time as [`format_seconds`], bytes in KiB, MiB or GiB (as
/// the plots show them), joules in mJ, J or kJ.
pub fn format_value(value: f64, unit: &str) -> String {
    let scaled = |steps: &[(f64, &str)]| {
        let (scale, name) = steps
            .iter()
            .find(|(scale, _)| value.abs() >= *scale)
            .unwrap_or(&steps[steps.len() - 1]);
        format!("{:.3} {name}", value / scale)
    };
    match unit {
        "s" => format_seconds(value),
        "B" => scaled(&[
            (1_073_741_824.0, "GiB"),
            (1_048_576.0, "MiB"),
            (1024.0, "KiB"),
            (1.0, "B"),
        ]),
        "J" => scaled(&[(1e3, "kJ"), (1.0, "J"), (1e-3, "mJ")]),
        _ => format!("{value:.4} {unit}").trim_end().to_owned(),
    }
}

/// A change of a metric as people read it: time's as [`format_change`], another metric's
/// `2.0x larger`/`smaller` from a factor of two on.
fn metric_change(change: Option<f64>, metric: &Metric) -> String {
    let text = format_change(change);
    if metric.is_time() {
        return text;
    }
    text.replace(" slower", " larger")
        .replace(" faster", " smaller")
}

/// A change as people read it: `+12.3%`, and from twice as slow (or fast) on, `16x slower`.
pub fn format_change(change: Option<f64>) -> String {
    match change {
        None => "-".into(),
        Some(c) if c >= 1.0 => format!("{} slower", times(1.0 + c)),
        Some(c) if c <= -0.5 && c > -1.0 => format!("{} faster", times(1.0 / (1.0 + c))),
        Some(c) => format!("{:+.1}%", c * 100.0),
    }
}

fn times(factor: f64) -> String {
    if factor >= 10.0 {
        format!("{factor:.0}x")
    } else {
        format!("{factor:.1}x")
    }
}

/// The benchmark as a line names it, with its process count under a launcher: `test_k.py::fit x4`.
fn name(fullname: &str, procs: Option<u64>) -> String {
    match procs {
        Some(n) => format!("{} x{n}", visible(fullname)),
        None => visible(fullname),
    }
}

/// With the metric after it when it is not time: `test_k.py::fit x4 [memory]`.
fn metric_name(fullname: &str, procs: Option<u64>, metric: &Metric) -> String {
    match metric.is_time() {
        true => name(fullname, procs),
        false => format!("{} [{metric}]", name(fullname, procs)),
    }
}

fn judgement_name(j: &Judgement) -> String {
    metric_name(&j.fullname, j.procs, &j.metric)
}

fn open_name(o: &OpenRegression) -> String {
    metric_name(&o.fullname, o.procs, &o.metric)
}

/// An open (or accepted) regression on one line of the terminal: its suite and name, change,
/// `extra` (e.g. how many runs it has lasted) and where it began.
fn open_line(o: &OpenRegression, extra: &str) -> String {
    format!(
        "{}{}  {}{extra}  since {}",
        suite_prefix(&o.suite),
        open_name(o),
        metric_change(Some(o.change), &o.metric),
        range_text(&o.range)
    )
}

fn suite_prefix(suite: &Option<String>) -> String {
    suite
        .as_ref()
        .map_or(String::new(), |s| format!("{}: ", visible(s)))
}

/// The run-wide finding in words.
fn run_wide_text(r: &RunWide) -> String {
    let what = format!(
        "{}run-wide{}: {} across {} of {} benchmarks (the runner, or a change that touches everything)",
        suite_prefix(&r.suite),
        match r.metric.is_time() {
            true => String::new(),
            false => format!(" [{}]", r.metric),
        },
        metric_change(Some(r.change), &r.metric),
        r.moved,
        r.of
    );
    if r.confirmed {
        format!(
            "{what}; the run before moved the same way, so each benchmark is judged as measured"
        )
    } else {
        format!("{what}; taken out before judging each benchmark; the next run or --confirm N confirms it")
    }
}

/// What a step rests on: `+204.4% on 3 measurements (2 runs)`.
fn step_text(j: &Judgement) -> String {
    match j.step {
        Some(step) => format!(
            "{} on {} measurement(s) ({} run(s))",
            metric_change(Some(step.change), &j.metric),
            step.measurements,
            step.runs
        ),
        None => String::new(),
    }
}

/// The line that asks `--bisect` for the culprit of a new regression.
fn bisect_command(j: &Judgement) -> Option<String> {
    // --bisect measures time: another metric's step would not be found there.
    if !j.metric.is_time() {
        return None;
    }
    let range = j.range.as_ref()?;
    let (from, to) = (range.from.id.as_deref()?, range.to.id.as_deref()?);
    if from == to || !is_commit_id(from) || !is_commit_id(to) {
        return None;
    }
    let mut command = format!(
        "run-benchmarks --bisect {}..{}",
        &from[..from.len().min(12)],
        &to[..to.len().min(12)]
    );
    if let Some(suite) = &j.suite {
        // A suite as a shell word: single quotes, and a quote inside ended, escaped, reopened.
        let _ = write!(
            command,
            " --suite '{}'",
            visible(suite).replace('\'', "'\\''")
        );
    }
    if let Some(procs) = j.procs {
        let _ = write!(command, " --launcher 'mpirun -n {{procs}}' --procs {procs}");
    }
    Some(command)
}

impl CheckReport {
    /// The terminal table. Every row starts with two spaces: no untrusted name reaches column 0.
    pub fn table(&self) -> String {
        let width = self
            .benchmarks
            .iter()
            .map(|j| judgement_name(j).chars().count())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut out = String::new();
        for r in &self.run_wide {
            let _ = writeln!(out, "{}", run_wide_text(r));
        }
        let _ = writeln!(
            out,
            "  {:width$}  {:>14}  {:>12}  {:>12}  verdict",
            "benchmark",
            format!("baseline ({})", self.statistic),
            "new",
            "change",
        );
        for j in &self.benchmarks {
            let _ = writeln!(
                out,
                "  {:width$}  {:>14}  {:>12}  {:>12}  {}{}",
                judgement_name(j),
                j.baseline.map_or("-".into(), |v| format_value(v, &j.unit)),
                format_value(j.value, &j.unit),
                metric_change(j.change, &j.metric),
                j.verdict.as_str().replace('_', " "),
                j.note
                    .as_ref()
                    .map_or(String::new(), |n| format!(" ({})", visible(n)))
            );
            if let Some(range) = &j.range {
                let _ = writeln!(
                    out,
                    "  {:width$}  step between {}: {}",
                    "",
                    range_text(range),
                    step_text(j)
                );
            }
        }
        if !self.accepted.is_empty() {
            let _ = writeln!(out, "\naccepted (--accept; closed without a recovery):");
            for o in &self.accepted {
                let _ = writeln!(out, "  {}", open_line(o, ""));
            }
        }
        if !self.open.is_empty() {
            let _ = writeln!(out, "\nopen regressions (found earlier, not recovered):");
            for o in &self.open {
                let _ = writeln!(
                    out,
                    "  {}",
                    open_line(o, &format!(" over {} run(s)", o.runs))
                );
            }
        }
        out
    }

    /// A Markdown section for `$GITHUB_STEP_SUMMARY` or a pull-request comment: what changed in a
    /// table, the unchanged benchmarks folded away, the open regressions, and for each new
    /// regression the command that finds its commit.
    pub fn markdown(&self, title: &str, links: &Links) -> String {
        let regressions = self.regressions();
        let mut out = format!(
            "### {}: {} new {}, {} open\n\n",
            visible(title),
            regressions,
            if regressions == 1 {
                "regression"
            } else {
                "regressions"
            },
            self.open.len(),
        );
        if let Some(machine) = self.machine() {
            let _ = writeln!(out, "Measured on {}.\n", code_cell(&machine));
        }
        for r in &self.run_wide {
            let _ = writeln!(
                out,
                "> **{}**\n",
                visible(&run_wide_text(r)).replace(['<', '>'], "")
            );
        }
        let with_procs = self.benchmarks.iter().any(|j| j.procs.is_some());
        let header = |out: &mut String| {
            let procs = if with_procs { " procs |" } else { "" };
            let align = if with_procs { "---:|" } else { "" };
            let _ = write!(
                out,
                "| benchmark |{procs} baseline ({}) | new | change | verdict | commits |\n|---|{align}---:|---:|---:|---|---|\n",
                self.statistic
            );
        };
        let row = |out: &mut String, j: &Judgement| {
            let verdict = match j.verdict {
                Verdict::Regression => "**regression**".to_string(),
                other => other.as_str().replace('_', " "),
            };
            let procs = match (with_procs, j.procs) {
                (true, Some(n)) => format!(" {n} |"),
                (true, None) => " - |".into(),
                _ => String::new(),
            };
            let note = j.note.as_ref().map_or(String::new(), |n| {
                format!(" ({})", visible(n).replace('|', "\\|"))
            });
            let mut commits = j
                .range
                .as_ref()
                .map_or(String::new(), |r| range_markdown(r, links));
            if j.step.is_some() {
                let _ = write!(commits, "<br>{}", step_text(j));
            }
            let _ = writeln!(
                out,
                "| {}{} |{procs} {} | {} | {} | {verdict}{note} | {commits} |",
                j.suite
                    .as_ref()
                    .map_or(String::new(), |s| format!("{} ", code_cell(s))),
                code_cell(&j.fullname),
                j.baseline.map_or("-".into(), |v| format_value(v, &j.unit)),
                format_value(j.value, &j.unit),
                metric_change(j.change, &j.metric),
            );
        };
        let (quiet, noted): (Vec<&Judgement>, Vec<&Judgement>) = self
            .benchmarks
            .iter()
            .partition(|j| j.verdict == Verdict::Unchanged && j.note.is_none());
        if !noted.is_empty() {
            header(&mut out);
            noted.iter().for_each(|j| row(&mut out, j));
            out.push('\n');
        }
        if !quiet.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>{} unchanged benchmark(s)</summary>\n",
                quiet.len()
            );
            header(&mut out);
            quiet.iter().for_each(|j| row(&mut out, j));
            out.push_str("\n</details>\n\n");
        }
        let commands: Vec<String> = self.new_regressions().filter_map(bisect_command).collect();
        if !commands.is_empty() {
            let _ = writeln!(
                out,
                "Find the commit of each new regression (in the project's checkout):\n\n```sh"
            );
            for command in dedup(commands) {
                let _ = writeln!(out, "{command}");
            }
            out.push_str("```\n\n");
        }
        if !self.open.is_empty() {
            let _ = write!(
                out,
                "#### Open regressions\n\nFound by earlier runs and not recovered since.\n\n| benchmark | change | runs since | commits |\n|---|---:|---:|---|\n"
            );
            for o in &self.open {
                let _ = writeln!(
                    out,
                    "| {}{}{} | {} | {} | {} |",
                    o.suite
                        .as_ref()
                        .map_or(String::new(), |s| format!("{} ", code_cell(s))),
                    code_cell(&o.fullname),
                    o.procs.map_or(String::new(), |n| format!(" x{n}")),
                    metric_change(Some(o.change), &o.metric),
                    o.runs,
                    range_markdown(&o.range, links)
                );
            }
        }
        out
    }

    /// The machine every judged benchmark ran on, when they share one.
    fn machine(&self) -> Option<String> {
        let mut machines = self.benchmarks.iter().map(|j| {
            j.machine
                .rsplit_once(" x")
                .map_or(&j.machine[..], |(m, _)| m)
        });
        let first = machines.next()?;
        (!first.is_empty() && machines.all(|m| m == first)).then(|| {
            let parts: Vec<&str> = first.split('|').collect();
            match parts.as_slice() {
                [node, arch, cpu, count] => format!("{node} ({arch}, {cpu}, {count} CPUs)"),
                _ => first.to_string(),
            }
        })
    }

    /// The findings as pretty JSON (the `--report-json` schema), with a trailing newline.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes") + "\n"
    }

    /// GitHub Actions workflow commands: an error (a warning when it does not fail the run) per
    /// new regression and per open one, a notice per inconclusive slowdown, a warning for a run
    /// that moved as a whole.
    pub fn annotations(&self, fail_on_regression: bool, fail_on_open: bool) -> String {
        let mut out = String::new();
        let level = |failing: bool| if failing { "error" } else { "warning" };
        for r in &self.run_wide {
            let _ = writeln!(
                out,
                "::warning title=Run-wide change::{}",
                command_data(&run_wide_text(r))
            );
        }
        for j in self.new_regressions() {
            let message = format!(
                "{}{} is {} ({} {} against a baseline of {}){}",
                suite_prefix(&j.suite),
                judgement_name(j),
                metric_change(j.change, &j.metric).trim_start_matches('+'),
                self.statistic,
                format_value(j.value, &j.unit),
                j.baseline.map_or("-".into(), |v| format_value(v, &j.unit)),
                j.range.as_ref().map_or(String::new(), |r| format!(
                    "; step between {}: {}",
                    range_text(r),
                    step_text(j)
                ))
            );
            let _ = writeln!(
                out,
                "::{} title=Performance regression::{}",
                level(fail_on_regression || fail_on_open),
                command_data(&message)
            );
        }
        for o in &self.open {
            let message = format!(
                "{}{} is still {} slower than before {} (found earlier, {} run(s) since){}",
                suite_prefix(&o.suite),
                open_name(o),
                metric_change(Some(o.change), &o.metric).trim_start_matches('+'),
                range_text(&o.range),
                o.runs,
                if fail_on_open {
                    "; --fail-on-open fails the run while it stays open"
                } else {
                    ""
                }
            );
            let _ = writeln!(
                out,
                "::{} title=Open performance regression::{}",
                level(fail_on_open),
                command_data(&message)
            );
        }
        for j in self
            .benchmarks
            .iter()
            .filter(|j| j.verdict == Verdict::Inconclusive && j.rerun)
        {
            let message = format!(
                "{}{} is {} ({}): not a regression yet",
                suite_prefix(&j.suite),
                judgement_name(j),
                metric_change(j.change, &j.metric),
                j.note.as_deref().unwrap_or("inconclusive")
            );
            let _ = writeln!(
                out,
                "::notice title=Possible regression::{}",
                command_data(&message)
            );
        }
        out
    }
}

impl Backtest {
    fn share(&self, n: usize) -> String {
        if self.runs == 0 {
            return format!("{n}");
        }
        format!(
            "{n} of {} ({:.1}%)",
            self.runs,
            100.0 * n as f64 / self.runs as f64
        )
    }

    /// What it found, a line per finding, and the sums: for a terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for run in &self.findings {
            let steps: Vec<&Judgement> = run
                .judgements
                .iter()
                .filter(|j| j.verdict.is_step())
                .collect();
            if steps.is_empty() && run.run_wide.is_none() {
                continue;
            }
            let head = format!(
                "  run {:>4}  {}{}{}",
                run.index,
                short(&run.run),
                day(&run.run),
                if run.fails_on_regression {
                    "  fails --fail-on-regression"
                } else {
                    ""
                }
            );
            let _ = writeln!(out, "{head}");
            if let Some(r) = &run.run_wide {
                let _ = writeln!(out, "      {}", run_wide_text(r));
            }
            let suspects = run.judgements.len() - steps.len();
            if suspects > 0 {
                let _ = writeln!(
                    out,
                    "      and {suspects} inconclusive (in the JSON report)"
                );
            }
            for j in steps {
                let _ = writeln!(
                    out,
                    "      {:<14} {}  {}{}",
                    j.verdict.as_str().replace('_', " "),
                    judgement_name(j),
                    metric_change(j.change, &j.metric),
                    j.range.as_ref().map_or(String::new(), |r| format!(
                        "  step between {}: {}",
                        range_text(r),
                        step_text(j)
                    ))
                );
            }
        }
        let _ = writeln!(
            out,
            "\nbacktest of {} runs ({}):\n  runs failing --fail-on-regression: {}\n  runs failing --fail-on-open: {}\n  new regressions: {}, recoveries: {}, runs that moved as a whole: {}\n  one-run excursions (a slowdown named inconclusive, back at the next run): {}",
            self.runs,
            self.statistic,
            self.share(self.failing_on_regression),
            self.share(self.failing_on_open),
            self.regressions,
            self.recoveries,
            self.run_wide,
            self.one_run_excursions
        );
        if !self.open_at_end.is_empty() {
            let _ = writeln!(out, "  open after the last run:");
            for o in &self.open_at_end {
                let _ = writeln!(out, "    {}", open_line(o, ""));
            }
        }
        out
    }

    /// The same as Markdown.
    pub fn markdown(&self, title: &str, links: &Links) -> String {
        let mut out = format!(
            "### {}: {} runs\n\n| | runs |\n|---|---:|\n| failing `--fail-on-regression` | {} |\n| failing `--fail-on-open` | {} |\n| new regressions | {} |\n| recoveries | {} |\n| runs that moved as a whole | {} |\n| one-run excursions | {} |\n\n",
            visible(title),
            self.runs,
            self.share(self.failing_on_regression),
            self.share(self.failing_on_open),
            self.regressions,
            self.recoveries,
            self.run_wide,
            self.one_run_excursions
        );
        let steps: Vec<(&crate::backtest::RunFindings, &Judgement)> = self
            .findings
            .iter()
            .flat_map(|r| r.judgements.iter().map(move |j| (r, j)))
            .filter(|(_, j)| j.verdict.is_step())
            .collect();
        if !steps.is_empty() {
            out.push_str(
                "| run | benchmark | verdict | change | commits |\n|---:|---|---|---:|---|\n",
            );
            for (run, j) in steps {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    run.index,
                    code_cell(&judgement_name(j)),
                    j.verdict.as_str(),
                    metric_change(j.step.map(|s| s.change), &j.metric),
                    j.range
                        .as_ref()
                        .map_or(String::new(), |r| range_markdown(r, links))
                );
            }
        }
        out
    }

    /// The backtest as pretty JSON, with a trailing newline.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the backtest serializes") + "\n"
    }
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.clone()));
    items
}

/// Writes `text` to `path`, or appends when `append`.
pub fn write_text(path: &Path, text: &str, append: bool) -> Result<(), GateError> {
    use std::io::Write;
    let result = if append {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
    } else {
        std::fs::write(path, text)
    };
    result.map_err(|source| GateError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_link_commits_and_compare_them() {
        let run = |id: &str, day: &str| RunRef {
            id: Some(id.repeat(40)),
            datetime: Some(format!("{day}T01:02:03+00:00")),
        };
        let range = CommitRange {
            from: run("a", "2026-11-20"),
            to: run("b", "2026-11-21"),
        };
        assert_eq!(
            range_text(&range),
            "aaaaaaaaaaaa (2026-11-20) .. bbbbbbbbbbbb (2026-11-21)"
        );
        let links = Links {
            commit_url: Some("https://github.com/o/r/commit/{id}".into()),
        };
        let text = range_markdown(&range, &links);
        assert!(
            text.contains(&format!(
                "(https://github.com/o/r/commit/{})",
                "a".repeat(40)
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "[compare](https://github.com/o/r/compare/{}...{})",
                "a".repeat(40),
                "b".repeat(40)
            )),
            "{text}"
        );
        assert!(!range_markdown(&range, &Links::default()).contains("]("));
    }

    #[test]
    fn units_scale_to_the_value() {
        assert_eq!(format_seconds(2.5), "2.500 s");
        assert_eq!(format_seconds(0.0123), "12.300 ms");
        assert_eq!(format_seconds(4.2e-6), "4.200 us");
        assert_eq!(format_seconds(5e-8), "50.000 ns");
        assert_eq!(format_value(209_715_200.0, "B"), "200.000 MiB");
        assert_eq!(format_value(2.5 * 1_073_741_824.0, "B"), "2.500 GiB");
        assert_eq!(format_value(1.5, "J"), "1.500 J");
        assert_eq!(format_value(0.0021, "J"), "2.100 mJ");
        assert_eq!(format_value(0.5, "s"), "500.000 ms");
    }

    #[test]
    fn large_changes_read_as_factors() {
        assert_eq!(format_change(Some(0.123)), "+12.3%");
        assert_eq!(format_change(Some(-0.3)), "-30.0%");
        assert_eq!(format_change(Some(14.857)), "16x slower");
        assert_eq!(format_change(Some(1.5)), "2.5x slower");
        assert_eq!(format_change(Some(-0.75)), "4.0x faster");
    }

    #[test]
    fn untrusted_text_stays_inert() {
        let hostile = "test_x[a\n::error ::pwned\r%0A`|`]";
        assert_eq!(
            command_data(hostile),
            "test_x[a%0A::error ::pwned%0D%250A`|`]"
        );
        assert_eq!(command_property("a:b,c%"), "a%3Ab%2Cc%25");
        let shown = visible(hostile);
        assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown}");
        let cell = code_cell(hostile);
        assert!(cell.starts_with("``") && !cell.contains('\n'), "{cell}");
        assert!(!cell.replace("\\|", "").contains('|'), "{cell}");
        assert_eq!(visible("\u{1b}[31mred"), "\\u{1b}[31mred");
        // GitHub's runner takes the older `##[command]` anywhere in a line of the log.
        assert!(!visible("a ##[add-mask]b").contains("##["));
    }
}
