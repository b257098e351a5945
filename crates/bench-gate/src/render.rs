//! The gate's findings for people and machines: a terminal table, Markdown for a job summary,
//! JSON, and GitHub Actions annotations.

use std::fmt::Write as _;
use std::path::Path;

use bench_model::{CommitRange, RunRef};

use crate::error::GateError;
use crate::stats::Verdict;
use crate::verdicts::CheckReport;

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
        self.commit_url.as_ref().map(|t| t.replace("{id}", id))
    }

    fn compare(&self, from: &str, to: &str) -> Option<String> {
        let template = self.commit_url.as_ref()?;
        template
            .contains("/commit/{id}")
            .then(|| template.replace("/commit/{id}", &format!("/compare/{from}...{to}")))
    }
}

/// A commit as people read it: the first 12 hex digits, or what stands in its place.
fn short(run: &RunRef) -> String {
    match run.id.as_deref() {
        Some(id) if id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit()) => id[..12].into(),
        Some(id) => id.to_string(),
        None => "unknown commit".into(),
    }
}

/// `when` of a run: its date, when known.
fn day(run: &RunRef) -> String {
    run.datetime
        .as_deref()
        .map_or(String::new(), |d| format!(" ({})", &d[..d.len().min(10)]))
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
        None => format!("`{}`{}", short(run), day(run)),
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

fn format_change(change: Option<f64>) -> String {
    change.map_or("-".into(), |c| format!("{:+.1}%", c * 100.0))
}

impl CheckReport {
    /// The terminal table.
    pub fn table(&self) -> String {
        let width = self
            .benchmarks
            .iter()
            .map(|j| j.fullname.chars().count())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut out = format!(
            "{:width$}  {:>12}  {:>12}  {:>8}  {}\n",
            "benchmark",
            format!("baseline ({})", self.statistic),
            "new",
            "change",
            "verdict"
        );
        for j in &self.benchmarks {
            let _ = writeln!(
                out,
                "{:width$}  {:>12}  {:>12}  {:>8}  {}{}",
                j.fullname,
                j.baseline.map_or("-".into(), format_seconds),
                format_seconds(j.value),
                format_change(j.change),
                j.verdict.as_str().replace('_', " "),
                j.note.as_ref().map_or(String::new(), |n| format!(" ({n})"))
            );
            if let Some(range) = &j.range {
                let _ = writeln!(out, "{:width$}  step between {}", "", range_text(range));
            }
        }
        if !self.open.is_empty() {
            let _ = writeln!(out, "\nopen regressions (found earlier, not recovered):");
            for o in &self.open {
                let _ = writeln!(
                    out,
                    "  {}  {}  since {}",
                    o.fullname,
                    format_change(Some(o.change)),
                    range_text(&o.range)
                );
            }
        }
        out
    }

    /// A Markdown section for `$GITHUB_STEP_SUMMARY` or a pull-request comment.
    pub fn markdown(&self, title: &str, links: &Links) -> String {
        let regressions = self.regressions();
        let mut out = format!(
            "### {title}: {} {}, {} open\n\n| benchmark | baseline ({}) | new | change | verdict | commits |\n|---|---:|---:|---:|---|---|\n",
            regressions,
            if regressions == 1 { "regression" } else { "regressions" },
            self.open.len(),
            self.statistic
        );
        for j in &self.benchmarks {
            let verdict = match j.verdict {
                Verdict::Regression => "**regression**".to_string(),
                other => other.as_str().replace('_', " "),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                j.fullname.replace('|', "\\|"),
                j.baseline.map_or("-".into(), format_seconds),
                format_seconds(j.value),
                format_change(j.change),
                verdict,
                j.range
                    .as_ref()
                    .map_or(String::new(), |r| range_markdown(r, links))
            );
        }
        if !self.open.is_empty() {
            let _ = write!(
                out,
                "\n#### Open regressions\n\nFound by earlier runs and not recovered since.\n\n| benchmark | change | commits |\n|---|---:|---|\n"
            );
            for o in &self.open {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} |",
                    o.fullname.replace('|', "\\|"),
                    format_change(Some(o.change)),
                    range_markdown(&o.range, links)
                );
            }
        }
        out
    }

    /// The findings as pretty JSON (the `--report-json` schema), with a trailing newline.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes") + "\n"
    }

    /// GitHub Actions workflow commands: an error (or, when not failing, a warning) per regression.
    pub fn annotations(&self, failing: bool) -> String {
        let level = if failing { "error" } else { "warning" };
        self.suspects()
            .map(|j| {
                format!(
                    "::{level} title=Performance regression::{} is {} slower ({} {} against a baseline of {}){}\n",
                    j.fullname,
                    format_change(j.change).trim_start_matches('+'),
                    self.statistic,
                    format_seconds(j.value),
                    j.baseline.map_or("-".into(), format_seconds),
                    j.range.as_ref().map_or(String::new(), |r| format!("; step between {}", range_text(r)))
                )
            })
            .collect()
    }
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
    }
}
