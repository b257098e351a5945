//! The gate's findings for people and machines: a terminal table, Markdown for a job summary,
//! JSON, and GitHub Actions annotations.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::GateError;
use crate::stats::Verdict;
use crate::verdicts::CheckReport;

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
        }
        out
    }

    /// A Markdown section for `$GITHUB_STEP_SUMMARY` or a pull-request comment.
    pub fn markdown(&self, title: &str) -> String {
        let regressions = self.regressions();
        let mut out = format!(
            "### {title}: {} {}\n\n| benchmark | baseline ({}) | new | change | verdict |\n|---|---:|---:|---:|---|\n",
            regressions,
            if regressions == 1 { "regression" } else { "regressions" },
            self.statistic
        );
        for j in &self.benchmarks {
            let verdict = match j.verdict {
                Verdict::Regression => "**regression**".to_string(),
                other => other.as_str().replace('_', " "),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                j.fullname.replace('|', "\\|"),
                j.baseline.map_or("-".into(), format_seconds),
                format_seconds(j.value),
                format_change(j.change),
                verdict
            );
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
                    "::{level} title=Performance regression::{} is {} slower ({} {} against a baseline of {})\n",
                    j.fullname,
                    format_change(j.change).trim_start_matches('+'),
                    self.statistic,
                    format_seconds(j.value),
                    j.baseline.map_or("-".into(), format_seconds)
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
    fn units_scale_to_the_value() {
        assert_eq!(format_seconds(2.5), "2.500 s");
        assert_eq!(format_seconds(0.0123), "12.300 ms");
        assert_eq!(format_seconds(4.2e-6), "4.200 us");
        assert_eq!(format_seconds(5e-8), "50.000 ns");
    }
}
