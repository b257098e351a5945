//! The gate's command-line options, shared by `aggregate` and `run-benchmarks`, and showing its
//! findings where they asked.

use std::path::{Path, PathBuf};

use crate::error::GateError;
use crate::options::{GateOptions, Metric, Statistic};
use crate::render::{write_text, Links};
use crate::thresholds::Thresholds;
use crate::verdicts::CheckReport;

/// The gate's command-line options, shared by `aggregate` and `run-benchmarks`. The options that
/// tune a judgement require the tool's `gate_mode` group (`--check`, `--backtest`, ...): given
/// alone they would do nothing, so they are refused instead.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Regression gate")]
pub struct GateArgs {
    /// Judge every new benchmark against its series' recent history before appending.
    #[arg(long)]
    pub check: bool,

    /// With --check, judge without appending (e.g. a pull request against main's history).
    #[arg(long, requires = "check")]
    pub no_append: bool,

    /// With --check, exit 1 when this run confirms a new regression.
    #[arg(long, requires = "check")]
    pub fail_on_regression: bool,

    /// With --check, exit 1 while any regression is open: new in this run, or found earlier and
    /// not recovered since.
    #[arg(long, requires = "check")]
    pub fail_on_open: bool,

    /// Link commits in the Markdown: a URL with {id}, e.g.
    /// `https://github.com/ORG/REPO/commit/{id}` (which also gives compare links).
    #[arg(long, value_name = "TEMPLATE", requires = "gate_mode")]
    pub commit_url: Option<String>,

    /// The branch whose runs form the baseline [default: the run's own, then main, then master].
    #[arg(long, value_name = "BRANCH", requires = "gate_mode")]
    pub baseline_branch: Option<String>,

    /// What to judge (repeatable): time, memory, energy or another NAME of the benchmarks'
    /// `extra_info.metrics`; each has its own verdicts, threshold and open regressions
    /// [default: time].
    #[arg(long, value_name = "METRIC", value_parser = parse_metric, requires = "gate_mode")]
    pub metric: Vec<Metric>,

    /// The statistic compared.
    #[arg(long, value_enum, default_value_t = Statistic::Median, requires = "gate_mode")]
    pub stat: Statistic,

    /// Percent slower (or faster) that counts as a change, when the noise allows it (memory's
    /// default is 5; --thresholds sets any metric's).
    #[arg(
        long,
        value_name = "PCT",
        default_value_t = 10.0,
        requires = "gate_mode"
    )]
    pub threshold: f64,

    /// A JSON file of per-benchmark thresholds: fullname glob patterns to percentages, first match
    /// wins; another metric's under its name, e.g. `{"*": 15, "memory": {"*[large]": 2}}`.
    #[arg(long, value_name = "FILE", requires = "gate_mode")]
    pub thresholds: Option<PathBuf>,

    /// Past runs of each series in the baseline window.
    #[arg(long, value_name = "N", default_value_t = 20, requires = "gate_mode")]
    pub window: usize,

    /// Runs a series needs before it is judged.
    #[arg(long, value_name = "N", default_value_t = 5, requires = "gate_mode")]
    pub min_history: usize,

    /// With --check, accept the open regressions of the benchmarks whose fullname matches the
    /// glob PATTERN (repeatable): this run closes them without a recovery (say, the cost of a
    /// feature), and later runs judge against the slow level.
    #[arg(long, value_name = "PATTERN", requires = "check")]
    pub accept: Vec<String>,

    /// Write the verdicts as a Markdown table to FILE (and append them to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE", requires = "gate_mode")]
    pub markdown: Option<PathBuf>,

    /// Write the verdicts as JSON to FILE.
    #[arg(long, value_name = "FILE", requires = "gate_mode")]
    pub report_json: Option<PathBuf>,
}

impl GateArgs {
    /// The options these arguments ask for.
    pub fn options(&self) -> Result<GateOptions, GateError> {
        if let Some(template) = self.commit_url.as_ref().filter(|t| !t.contains("{id}")) {
            return Err(GateError::CommitUrl(template.clone()));
        }
        let thresholds = match &self.thresholds {
            Some(path) => Thresholds::load(path)?,
            None => Thresholds::default(),
        };
        let accept = self
            .accept
            .iter()
            .map(|pattern| {
                glob::Pattern::new(pattern).map_err(|e| GateError::Accept {
                    pattern: pattern.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(GateOptions {
            stat: self.stat,
            metrics: self.metric.clone(),
            threshold: self.threshold / 100.0,
            thresholds,
            window: self.window.max(1),
            min_history: self.min_history,
            baseline_branch: self.baseline_branch.clone(),
            checks_per_run: 1,
            accept,
        })
    }

    /// Shows a backtest: the table on `stderr`, the Markdown and JSON files when asked.
    pub fn emit_backtest(
        &self,
        found: &crate::Backtest,
        title: &str,
        stderr: &mut dyn std::io::Write,
    ) -> Result<(), GateError> {
        let _ = write!(stderr, "{}", found.table());
        let links = Links {
            commit_url: self.commit_url.clone(),
        };
        if let Some(path) = &self.markdown {
            write_text(path, &found.markdown(title, &links), false)?;
        }
        if let Some(path) = &self.report_json {
            write_text(path, &found.json(), false)?;
        }
        Ok(())
    }

    /// Whether `report` fails the run: a new regression with `--fail-on-regression`, any open
    /// one (new or earlier) with `--fail-on-open`.
    pub fn fails(&self, report: &CheckReport) -> bool {
        let new = report.regressions() > 0;
        (self.fail_on_regression && new) || (self.fail_on_open && (new || !report.open.is_empty()))
    }

    /// Shows `report`: the table on `stderr`, the Markdown and JSON files, and GitHub's summary
    /// and annotations (on `stdout`) when running in GitHub Actions.
    pub fn emit(
        &self,
        report: &CheckReport,
        title: &str,
        stdout: &mut dyn std::io::Write,
        stderr: &mut dyn std::io::Write,
    ) -> Result<(), GateError> {
        let _ = write!(stderr, "{}", report.table());
        // A metric no benchmark of the run records judges nothing and would pass in silence: a
        // typo (`memroy`), or a machine that cannot read it (energy in a VM).
        for metric in self.metric.iter().filter(|m| !m.is_time()) {
            if !report.benchmarks.iter().any(|j| &j.metric == metric) {
                let _ = writeln!(
                    stderr,
                    "warning: --metric {}: no benchmark of this run records it (in extra_info.metrics), so nothing was judged on it; check its name, or whether this machine can measure it",
                    crate::render::visible(&metric.to_string())
                );
            }
        }
        let links = Links {
            commit_url: self.commit_url.clone(),
        };
        let markdown = report.markdown(title, &links);
        if let Some(path) = &self.markdown {
            write_text(path, &markdown, false)?;
        }
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            write_text(Path::new(&summary), &markdown, true)?;
        }
        if let Some(path) = &self.report_json {
            write_text(path, &report.json(), false)?;
        }
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            let _ = write!(
                stdout,
                "{}",
                report.annotations(self.fail_on_regression, self.fail_on_open)
            );
        }
        Ok(())
    }
}

fn parse_metric(name: &str) -> Result<Metric, String> {
    Metric::parse(name)
}
