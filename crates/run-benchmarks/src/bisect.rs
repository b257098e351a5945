//! Bisection (`--bisect FROM..TO`): measuring the suspect benchmarks at commits between two ends
//! and naming the first commit on the new level.
//!
//! The benchmark code comes from the working tree; the code under test from each commit, checked
//! out in one temporary worktree. Both ends are measured first, in turns, `1 + reruns` times each,
//! which gives each benchmark two levels and their noise; a benchmark whose levels do not differ
//! beyond the threshold and the noise has no step and is left out. A tried commit is on the new
//! level when any remaining benchmark's value is nearer (in log space) to its TO level than to its
//! FROM level: the search finds the earliest step. Cost: the ends, plus one measurement per
//! halving (more only while a value lies between the levels).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use bench_gate::render::format_seconds;
use bench_gate::stats::{self, median, Z};
use bench_gate::GateOptions;
use bench_model::StoredEntry;

use crate::worktree::{self, Commit, Worktree};
use crate::{confirm, pytest, select_suites, Config, Reading, Results, Suite};

/// What a bisection is asked to do, besides the run's [`Config`].
#[derive(Debug, Clone)]
pub struct Bisect {
    /// The older end (any name git resolves).
    pub from: String,
    /// The newer end.
    pub to: String,
    /// A pytest `-k` expression choosing the benchmarks, instead of those flagged in the range.
    pub select: Option<String>,
    /// A command run in the worktree at each commit, `{worktree}` replaced (e.g.
    /// `pip install -e {worktree}`); without one, the worktree's root goes first on `PYTHONPATH`.
    pub setup: Option<String>,
    /// Extra measurements of each end.
    pub reruns: usize,
    /// The statistic compared and the thresholds a step must exceed.
    pub options: GateOptions,
}

/// `FROM..TO` as its two ends.
pub fn parse_range(text: &str) -> Option<(String, String)> {
    let (from, to) = text.split_once("..")?;
    (!from.is_empty() && !to.is_empty() && !to.starts_with('.'))
        .then(|| (from.to_string(), to.to_string()))
}

/// Why a bisection could not be done (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum BisectError {
    /// A git step failed (names, ancestry, the worktree).
    #[error(transparent)]
    Git(#[from] crate::GitError),
    /// The suites could not be found or the run's folder made.
    #[error(transparent)]
    Run(#[from] crate::Error),
    /// A suite's history could not be read.
    #[error(transparent)]
    History(#[from] bench_model::Error),
    /// An end could not be measured.
    #[error("cannot measure {what} at {end} ({commit}): {error}")]
    End {
        /// `FROM` or `TO`.
        end: &'static str,
        /// Its full id.
        commit: String,
        /// Which suite or command.
        what: String,
        /// What went wrong, and where its output is.
        error: String,
    },
    /// No benchmark gave a value at both ends, so there are no levels to compare.
    #[error("no benchmark gave a value at both FROM and TO (at FROM: {from}; at TO: {to}); check the selection (-k, --suite) and that the benchmarks run with FROM's code")]
    NoCommonBenchmark {
        /// Those measured at FROM.
        from: String,
        /// Those measured at TO.
        to: String,
    },
}

/// One benchmark measured: which suite and process count ran it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BenchmarkKey {
    /// The suite.
    pub suite: String,
    /// The MPI process count, under a launcher.
    pub procs: Option<u32>,
    /// pytest-benchmark's `fullname`.
    pub fullname: String,
}

impl std::fmt::Display for BenchmarkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.procs {
            Some(p) => write!(f, "{} x{p}", self.fullname),
            None => f.write_str(&self.fullname),
        }
    }
}

/// One benchmark's levels at the two ends.
#[derive(Debug, Clone)]
pub struct Step {
    /// The benchmark.
    pub key: BenchmarkKey,
    /// Its values at FROM (seconds).
    pub from: Vec<f64>,
    /// Its values at TO (seconds).
    pub to: Vec<f64>,
    /// `median(to) / median(from) - 1`.
    pub change: f64,
    /// Run-to-run noise of the ends' measurements, relative.
    pub noise: f64,
    /// The threshold it had to exceed, a fraction.
    pub threshold: f64,
    /// Whether the ends differ beyond both the threshold and the noise.
    pub stepped: bool,
}

impl Step {
    /// Judges a benchmark's values at both ends.
    pub fn judge(key: BenchmarkKey, from: Vec<f64>, to: Vec<f64>, threshold: f64) -> Step {
        let logs = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<f64>>();
        let (lf, lt) = (logs(&from), logs(&to));
        let (mf, mt) = (median(&lf), median(&lt));
        // The gate's own noise estimate and quantile: the two ends are two levels.
        let (noise, dof) = stats::pooled_noise(&[&lf, &lt]);
        let standard_error = noise
            * (stats::median_variance_factor(lf.len()) + stats::median_variance_factor(lt.len()))
                .sqrt();
        let distance = (mt - mf).abs();
        Step {
            key,
            change: (mt - mf).exp() - 1.0,
            stepped: distance >= threshold.ln_1p()
                && distance > stats::t_quantile(dof) * standard_error,
            from,
            to,
            noise,
            threshold,
        }
    }

    /// The level at FROM (seconds).
    pub fn old_level(&self) -> f64 {
        median(&self.from)
    }

    /// The level at TO (seconds).
    pub fn new_level(&self) -> f64 {
        median(&self.to)
    }

    /// Whether `value` lies clearly nearer one level than the other: outside the middle half of
    /// the (log) distance between them, and beyond the ends' noise from the midpoint.
    pub fn is_clear(&self, value: f64) -> bool {
        let (old, new) = (self.old_level().ln(), self.new_level().ln());
        let from_middle = (value.ln() - (old + new) / 2.0).abs();
        from_middle >= ((new - old).abs() / 4.0).max(Z * self.noise)
    }

    /// Whether `value` is nearer, in log space, to the level at TO.
    pub fn is_new(&self, value: f64) -> bool {
        (value.ln() - self.new_level().ln()).abs() < (value.ln() - self.old_level().ln()).abs()
    }
}

/// What a tried commit turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    /// One of the ends.
    End(&'static str),
    /// On FROM's level.
    Old,
    /// On TO's level.
    New,
    /// It could not be measured (a failing setup or pytest); the search went round it.
    Untestable(String),
}

/// A commit the bisection measured.
#[derive(Debug, Clone)]
pub struct Tried {
    /// Its place: 0 is FROM, the last is TO.
    pub position: usize,
    /// In which order it was tried (the ends are 0).
    pub order: usize,
    /// The median of each benchmark's measurements there.
    pub values: BTreeMap<BenchmarkKey, f64>,
    /// How many times it was measured.
    pub measurements: usize,
    /// What it is.
    pub level: Level,
}

/// What a bisection found.
#[derive(Debug, Clone)]
pub struct Bisection {
    /// FROM, every commit after it, TO last.
    pub commits: Vec<Commit>,
    /// How the benchmarks were chosen.
    pub chosen: String,
    /// Each benchmark's levels at the ends.
    pub steps: Vec<Step>,
    /// Every commit measured, by position.
    pub tried: Vec<Tried>,
    /// The first commit on TO's level; `None` when the range shows no step.
    pub first_new: Option<usize>,
    /// When untestable commits hide it: the positions it may be at.
    pub undecided: Vec<usize>,
}

impl Bisection {
    /// 0 found, 1 the range shows no step, 2 untestable commits leave it undecided.
    pub fn exit_code(&self) -> u8 {
        match (self.first_new, self.undecided.is_empty()) {
            (Some(_), true) => 0,
            (_, false) => 2,
            (None, true) => 1,
        }
    }

    /// The pytest runs the bisection made.
    pub fn measurements(&self) -> usize {
        self.tried.iter().map(|t| t.measurements).sum()
    }

    /// The result for people: each benchmark's step, the first commit on the new level, every
    /// commit tried with its values.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let last = self.commits.len() - 1;
        for (index, step) in self.steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "[{}] {}: {} at FROM, {} at TO ({:+.1}%; noise {:.1}%, threshold {:.0}%){}",
                index + 1,
                step.key,
                format_seconds(step.old_level()),
                format_seconds(step.new_level()),
                step.change * 100.0,
                step.noise * 100.0,
                step.threshold * 100.0,
                if step.stepped { "" } else { ": no step" }
            );
        }
        let _ = writeln!(out);
        match self.first_new {
            Some(position) if self.undecided.is_empty() => {
                let commit = &self.commits[position];
                let slower = self
                    .steps
                    .iter()
                    .filter(|s| s.stepped)
                    .any(|s| s.change > 0.0);
                let what = if slower { "slow" } else { "fast" };
                let _ = writeln!(out, "first {what} commit: {}", commit.id);
                let _ = writeln!(out, "    {}", commit.subject);
                let there = self.tried.iter().find(|t| t.position == position);
                for (index, step) in self.steps.iter().enumerate() {
                    let value = there.and_then(|t| t.values.get(&step.key));
                    if let Some(value) = value.filter(|v| step.stepped && step.is_new(**v)) {
                        let _ = writeln!(
                            out,
                            "    [{}] {} there: {}",
                            index + 1,
                            step.key,
                            format_seconds(*value)
                        );
                    }
                }
            }
            _ if !self.undecided.is_empty() => {
                let _ = writeln!(
                    out,
                    "undecided: the first commit on TO's level is one of these, and the commits \
                     before it could not be measured:"
                );
                for &position in &self.undecided {
                    let commit = &self.commits[position];
                    let _ = writeln!(out, "    {} {}", commit.id, commit.subject);
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "the range shows no step: no benchmark's levels at FROM and TO differ beyond \
                     its threshold and its noise; nothing to bisect (widen the range, or choose \
                     the benchmarks with -k)"
                );
            }
        }
        let _ = writeln!(out, "\ncommits tried (position 0 is FROM, {last} is TO):");
        let mut header = format!("{:>4}  {:5}  {:40}  {:6}", "#", "try", "commit", "level");
        for index in 0..self.steps.len() {
            let _ = write!(header, "  {:>12}", format!("[{}]", index + 1));
        }
        let _ = writeln!(out, "{header}  subject");
        for tried in &self.tried {
            let commit = &self.commits[tried.position];
            let order = match tried.level {
                Level::End(_) => "-".to_string(),
                _ => tried.order.to_string(),
            };
            let level = match &tried.level {
                Level::End(end) => end.to_string(),
                Level::Old => "old".into(),
                Level::New => "new".into(),
                Level::Untestable(_) => "failed".into(),
            };
            let mut line = format!(
                "{:>4}  {order:5}  {:40}  {level:6}",
                tried.position, commit.id
            );
            for step in &self.steps {
                let value = tried
                    .values
                    .get(&step.key)
                    .map_or("-".to_string(), |v| format_seconds(*v));
                let _ = write!(line, "  {value:>12}");
            }
            let _ = writeln!(out, "{line}  {}", commit.subject);
            if let Level::Untestable(why) = &tried.level {
                let _ = writeln!(out, "        not measured: {why}");
            }
        }
        let ends = self.tried.first().map_or(0, |t| t.measurements);
        let middle: Vec<&Tried> = self
            .tried
            .iter()
            .filter(|t| !matches!(t.level, Level::End(_)))
            .collect();
        let again = middle.iter().filter(|t| t.measurements > 1).count();
        let again = match again {
            0 => String::new(),
            n => format!(" ({n} measured again: their first value lay between the levels)"),
        };
        let _ = writeln!(
            out,
            "\n{} pytest run(s): FROM and TO {ends} time(s) each; {} of the {} commit(s) between them{again}.\n{}.",
            self.measurements(),
            middle.len(),
            last.saturating_sub(1),
            self.chosen
        );
        out
    }
}

/// One pytest run per measurement: a suite at a process count, with the arguments choosing the
/// benchmarks.
#[derive(Debug, Clone)]
struct Unit {
    suite: Suite,
    procs: Option<u32>,
    select: Vec<String>,
}

/// Whether the gate called `entry` a regression whose step ends at a commit in `range` (its
/// `gate.range.to.id`, or, without a range, the entry's own commit).
fn flagged_in(entry: &StoredEntry, range: &HashSet<&str>) -> bool {
    let Some(gate) = entry
        .gate
        .as_ref()
        .filter(|g| g.verdict == bench_gate::Verdict::Regression.as_str())
    else {
        return false;
    };
    let to = gate
        .range
        .as_ref()
        .and_then(|r| r.to.id.as_deref())
        .or_else(|| entry.commit_info.as_ref()?.id.as_deref());
    to.is_some_and(|id| range.contains(id))
}

/// The benchmarks of a suite's history flagged as regressions in `range`: fullname and procs.
fn flagged(
    history: &Path,
    range: &HashSet<&str>,
) -> Result<Vec<(String, Option<u64>)>, BisectError> {
    let Some(stored) = bench_model::history::read_stored(history)? else {
        return Ok(Vec::new());
    };
    let mut found: Vec<(String, Option<u64>)> = stored
        .entries
        .into_iter()
        .filter(|e| flagged_in(e, range))
        .map(|e| (e.fullname, e.procs))
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// The runs each measurement makes, and a sentence on how the benchmarks were chosen.
fn choose(
    config: &Config,
    bisect: &Bisect,
    suites: &[Suite],
    range: &HashSet<&str>,
) -> Result<(Vec<Unit>, String), BisectError> {
    let counts: Vec<Option<u32>> = match &config.launch.launcher {
        Some(_) => config.procs.iter().map(|&p| Some(p)).collect(),
        None => vec![None],
    };
    let every = |select: Vec<String>| -> Vec<Unit> {
        suites
            .iter()
            .flat_map(|suite| {
                counts.iter().map(|&procs| Unit {
                    suite: suite.clone(),
                    procs,
                    select: select.clone(),
                })
            })
            .collect()
    };
    let names = suites
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(expression) = &bisect.select {
        return Ok((
            every(vec!["-k".into(), expression.clone()]),
            format!("benchmarks chosen with -k {expression:?} in {names}"),
        ));
    }
    let results = Results {
        root: config.results.clone(),
    };
    let mut units: Vec<Unit> = Vec::new();
    for suite in suites {
        for (fullname, procs) in flagged(&results.history(&suite.name), range)? {
            // Under a launcher a regression is re-measured at its own process count.
            let procs = config.launch.launcher.as_ref().map(|_| {
                procs
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or(config.procs[0])
            });
            let node = confirm::node_id(&suite.path, &fullname);
            match units
                .iter_mut()
                .find(|u| u.suite == *suite && u.procs == procs)
            {
                Some(unit) if !unit.select.contains(&node) => unit.select.push(node),
                Some(_) => {}
                None => units.push(Unit {
                    suite: suite.clone(),
                    procs,
                    select: vec![node],
                }),
            }
        }
    }
    if units.is_empty() {
        return Ok((
            every(Vec::new()),
            format!("no benchmark of {names} is flagged as a regression in this range in its history, so every one was measured"),
        ));
    }
    let flagged: usize = units.iter().map(|u| u.select.len()).sum();
    Ok((
        units,
        format!("{flagged} benchmark(s) flagged as regressions in this range in the histories of {names}"),
    ))
}

/// Runs a bisection; `progress` gets a line per measurement.
pub fn run(
    config: &Config,
    bisect: &Bisect,
    progress: &mut dyn Write,
) -> Result<Bisection, BisectError> {
    let suites = select_suites(config)?;
    let repo = worktree::repository_of(&config.dir)?;
    for stale in worktree::remove_stale(&repo) {
        let _ = writeln!(
            progress,
            "run-benchmarks: removed the worktree an ended bisection left: {}",
            stale.display()
        );
    }
    let commits = worktree::commits_between(&repo, &bisect.from, &bisect.to)?;
    let range: HashSet<&str> = commits[1..].iter().map(|c| c.id.as_str()).collect();
    let (units, chosen) = choose(config, bisect, &suites, &range)?;
    let _ = writeln!(
        progress,
        "run-benchmarks: bisecting {}..{} in {}: {} commit(s) after FROM; {chosen}",
        short(&commits[0].id),
        short(&commits[commits.len() - 1].id),
        repo.display(),
        commits.len() - 1,
    );
    let run_folder = crate::watch::RunFolder::create(progress).map_err(crate::Error::RunFolder)?;
    let folder = run_folder.path.clone();
    pytest::write_plugin(&folder).map_err(crate::Error::RunFolder)?;
    let worktree = Worktree::add(&repo, &commits[0].id, &folder)?;
    let mut config = config.clone();
    // pytest's default import mode puts the folder of the top conftest.py (the working tree's,
    // in most projects) first on sys.path, so every commit would import the working tree's
    // code. In importlib mode pytest leaves sys.path alone: the code comes from the worktree
    // (first on PYTHONPATH, or installed by --setup), and the suites' own folders follow for
    // helper modules beside the tests. A user's own --import-mode wins.
    if !config
        .launch
        .extra_args
        .iter()
        .any(|a| a.starts_with("--import-mode"))
    {
        config
            .launch
            .extra_args
            .push("--import-mode=importlib".into());
    }
    let mut path: Vec<String> = Vec::new();
    if bisect.setup.is_none() {
        path.push(worktree.path.to_string_lossy().into_owned());
    }
    for unit in &units {
        let folder = unit.suite.path.to_string_lossy().into_owned();
        if !path.contains(&folder) {
            path.push(folder);
        }
    }
    if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        path.push(old.to_string_lossy().into_owned());
    }
    config
        .launch
        .env
        .push(("PYTHONPATH".into(), path.join(":")));
    let search = Search {
        config: &config,
        bisect,
        units: &units,
        worktree: &worktree,
        folder: &folder,
        commits: &commits,
    };
    let found = search.run(chosen, progress);
    // Logs are kept when a measurement failed: the error names them.
    if found.is_err() {
        run_folder.keep();
    }
    found
}

fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}

/// What the search works with.
struct Search<'a> {
    config: &'a Config,
    bisect: &'a Bisect,
    units: &'a [Unit],
    worktree: &'a Worktree,
    folder: &'a Path,
    commits: &'a [Commit],
}

impl Search<'_> {
    /// Measures every unit once at the worktree's current commit; each benchmark's value, or
    /// what failed and why.
    fn measure(&self, label: &str) -> Result<BTreeMap<BenchmarkKey, f64>, (String, String)> {
        let (config, folder) = (self.config, self.folder);
        let mut values = BTreeMap::new();
        for (index, unit) in self.units.iter().enumerate() {
            let name = format!("{label}-{index}");
            let report = folder.join(format!("{name}.json"));
            let log = folder.join(format!("{name}.log"));
            let what = crate::outcome::unit_name(&unit.suite.name, unit.procs);
            let (reading, _, _) =
                crate::execute(config, &unit.suite, unit.procs, &unit.select, &report, &log);
            let loaded = match reading {
                Reading::Valid { loaded, .. } => loaded,
                Reading::Done(outcome) => {
                    let seen = format!(" (output: {})", log.display());
                    return Err((what, format!("{}{seen}", outcome.describe())));
                }
            };
            for entry in &loaded.entries {
                let value = bench_gate::series::value_of(entry, self.bisect.options.stat);
                if value.is_finite() && value > 0.0 {
                    values.insert(
                        BenchmarkKey {
                            suite: unit.suite.name.clone(),
                            procs: unit.procs,
                            fullname: entry.benchmark.fullname.clone(),
                        },
                        value,
                    );
                }
            }
        }
        Ok(values)
    }

    /// Moves the worktree to `commit` and runs the setup command there.
    fn checkout(&self, commit: &str, label: &str) -> Result<(), (String, String)> {
        let (worktree, config, folder) = (self.worktree, self.config, self.folder);
        worktree
            .checkout(commit)
            .map_err(|e| ("git checkout".to_string(), e.to_string()))?;
        let Some(setup) = &self.bisect.setup else {
            return Ok(());
        };
        let root = worktree.path.to_string_lossy();
        let words: Vec<String> = pytest::split_command(setup)
            .iter()
            .map(|w| w.replace("{worktree}", &root))
            .collect();
        let log = folder.join(format!("{label}-setup.log"));
        let execution = pytest::run(&pytest::Job {
            words,
            folder: &worktree.path,
            timeout: config.launch.timeout,
            log: &log,
            echo: !config.quiet,
            plugin: folder,
            state: &folder.join(format!("{label}-setup")),
            env: &[],
            stop: None,
        });
        let seen = format!(" (output: {})", log.display());
        let failure = match execution.ending {
            pytest::Ending::Exited(status) if status.success() => return Ok(()),
            pytest::Ending::Exited(status) => format!("exited with {status}"),
            pytest::Ending::NotStarted(error) => format!("could not start: {error}"),
            pytest::Ending::TimedOut => "ran past --timeout".into(),
        };
        Err((format!("--setup {setup:?}"), format!("{failure}{seen}")))
    }

    /// Measures an end once more, adding each benchmark's value to `all`.
    fn end(
        &self,
        end: &'static str,
        position: usize,
        attempt: usize,
        all: &mut BTreeMap<BenchmarkKey, Vec<f64>>,
        progress: &mut dyn Write,
    ) -> Result<(), BisectError> {
        let commit = &self.commits[position];
        let failed = |(what, error): (String, String)| BisectError::End {
            end,
            commit: commit.id.clone(),
            what,
            error,
        };
        let label = format!("{position}-{attempt}");
        let _ = writeln!(
            progress,
            "[{end} {}] measuring ({attempt} of {})",
            short(&commit.id),
            1 + self.bisect.reruns
        );
        self.checkout(&commit.id, &label).map_err(failed)?;
        let values = self.measure(&label).map_err(failed)?;
        for (key, value) in values {
            all.entry(key).or_default().push(value);
        }
        Ok(())
    }

    fn run(&self, chosen: String, progress: &mut dyn Write) -> Result<Bisection, BisectError> {
        let last = self.commits.len() - 1;
        let times = 1 + self.bisect.reruns;
        // The ends take turns, so a spell of load on the machine weighs on both alike and shows
        // in their noise, instead of making one end look slower.
        let (mut from, mut to) = (BTreeMap::new(), BTreeMap::new());
        for attempt in 1..=times {
            self.end("FROM", 0, attempt, &mut from, progress)?;
            self.end("TO", last, attempt, &mut to, progress)?;
        }
        let keys: BTreeSet<&BenchmarkKey> = from.keys().chain(to.keys()).collect();
        let steps: Vec<Step> = keys
            .into_iter()
            .filter_map(|key| {
                let (f, t) = (from.get(key)?, to.get(key)?);
                let threshold = self
                    .bisect
                    .options
                    .thresholds
                    .for_benchmark(&key.fullname, self.bisect.options.threshold);
                Some(Step::judge(key.clone(), f.clone(), t.clone(), threshold))
            })
            .collect();
        if steps.is_empty() {
            let names = |all: &BTreeMap<BenchmarkKey, Vec<f64>>| {
                let names: Vec<String> = all.keys().map(ToString::to_string).collect();
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            };
            return Err(BisectError::NoCommonBenchmark {
                from: names(&from),
                to: names(&to),
            });
        }
        let medians = |all: &BTreeMap<BenchmarkKey, Vec<f64>>| {
            all.iter()
                .map(|(k, v)| (k.clone(), median(v)))
                .collect::<BTreeMap<_, _>>()
        };
        let mut tried = vec![
            Tried {
                position: 0,
                order: 0,
                values: medians(&from),
                measurements: times,
                level: Level::End("FROM"),
            },
            Tried {
                position: last,
                order: 0,
                values: medians(&to),
                measurements: times,
                level: Level::End("TO"),
            },
        ];
        let mut bisection = Bisection {
            commits: self.commits.to_vec(),
            chosen,
            steps,
            tried: Vec::new(),
            first_new: None,
            undecided: Vec::new(),
        };
        let stepped: Vec<&Step> = bisection.steps.iter().filter(|s| s.stepped).collect();
        if !stepped.is_empty() {
            let (mut old, mut new) = (0, last);
            while new - old > 1 {
                let middle = (old + new) / 2;
                let mut candidates: Vec<usize> = (old + 1..new)
                    .filter(|p| !tried.iter().any(|t| t.position == *p))
                    .collect();
                candidates.sort_by_key(|p| p.abs_diff(middle));
                let Some(&position) = candidates.first() else {
                    bisection.undecided = (old + 1..=new).collect();
                    break;
                };
                let level = self.try_commit(position, &stepped, tried.len() - 1, progress);
                match level.level {
                    Level::New => new = position,
                    Level::Old => old = position,
                    _ => {}
                }
                tried.push(level);
            }
            bisection.first_new = Some(new);
        }
        tried.sort_by_key(|t| t.position);
        bisection.tried = tried;
        Ok(bisection)
    }

    /// Measures the commit at `position` and tells its level by the stepped benchmarks: once, or
    /// up to `1 + reruns` times while a value lies between the levels.
    fn try_commit(
        &self,
        position: usize,
        stepped: &[&Step],
        order: usize,
        progress: &mut dyn Write,
    ) -> Tried {
        let commit = &self.commits[position];
        let label = format!("{position}");
        let mut all: BTreeMap<BenchmarkKey, Vec<f64>> = BTreeMap::new();
        let mut measurements = 0;
        let prepared = self.checkout(&commit.id, &label);
        let level = loop {
            if let Err((what, error)) = &prepared {
                break Level::Untestable(format!("{what}: {error}"));
            }
            measurements += 1;
            match self.measure(&format!("{label}-{measurements}")) {
                Ok(values) => {
                    for (key, value) in values {
                        all.entry(key).or_default().push(value);
                    }
                }
                Err((what, error)) => break Level::Untestable(format!("{what}: {error}")),
            }
            let missing: Vec<String> = stepped
                .iter()
                .filter(|s| !all.contains_key(&s.key))
                .map(|s| s.key.to_string())
                .collect();
            if !missing.is_empty() {
                break Level::Untestable(format!("no value for {}", missing.join(", ")));
            }
            let value = |s: &Step| median(&all[&s.key]);
            let clear = stepped.iter().all(|s| s.is_clear(value(s)));
            if clear || measurements > self.bisect.reruns {
                break if stepped.iter().any(|s| s.is_new(value(s))) {
                    Level::New
                } else {
                    Level::Old
                };
            }
            let _ = writeln!(
                progress,
                "[try {order}: #{position} {}] between the levels; measuring again",
                short(&commit.id)
            );
        };
        let said = match &level {
            Level::New => "TO's level".to_string(),
            Level::Old => "FROM's level".to_string(),
            Level::Untestable(why) => format!("not measured ({why}); trying another commit"),
            Level::End(end) => end.to_string(),
        };
        let _ = writeln!(
            progress,
            "[try {order}: #{position} {}] {said}",
            short(&commit.id)
        );
        Tried {
            position,
            order,
            values: all.iter().map(|(k, v)| (k.clone(), median(v))).collect(),
            measurements,
            level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BenchmarkKey {
        BenchmarkKey {
            suite: "s".into(),
            procs: None,
            fullname: "test_x".into(),
        }
    }

    /// The units `run-benchmarks ARGS` would measure in the range of commits `bbbb` and `cccc`,
    /// given a history with flagged and unflagged entries: (procs, node ids) each.
    fn units_for(args: &[&str]) -> Vec<(Option<u32>, Vec<String>)> {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("kmeans");
        std::fs::create_dir_all(&suite).unwrap();
        std::fs::write(suite.join("test_k.py"), "").unwrap();
        let history = dir.path().join("results/data/kmeans");
        std::fs::create_dir_all(&history).unwrap();
        let fit = "benchmarks/kmeans/test_k.py::test_fit[8]";
        let step = |from: &str, to: &str| {
            format!(
                r#""range": {{"from": {{"id": "{from}", "datetime": null}}, "to": {{"id": "{to}"}}}}"#
            )
        };
        let entries = [
            // Flagged in the range at 4 processes, and still flagged (open) in a later run.
            format!(r#"{{"fullname": "{fit}", "procs": 4, "stats": {{"median": 0.5}}, "gate": {{"verdict": "regression", "change": 0.4, {}}}}}"#, step("aaaa", "cccc")),
            format!(r#"{{"fullname": "{fit}", "procs": 4, "stats": {{"median": 0.5}}, "gate": {{"verdict": "regression", "change": 0.4, {}}}}}"#, step("aaaa", "cccc")),
            format!(r#"{{"fullname": "{fit}", "procs": 1, "stats": {{"median": 1.0}}, "gate": {{"verdict": "unchanged", "change": 0.01}}}}"#),
            // No range: its own commit is in the range.
            r#"{"fullname": "test_k.py::test_predict", "procs": 2, "stats": {"median": 0.1}, "commit_info": {"id": "bbbb"}, "gate": {"verdict": "regression"}}"#.to_string(),
            // A regression before the range, and an entry the gate never saw.
            format!(r#"{{"fullname": "test_k.py::test_old", "stats": {{}}, "gate": {{"verdict": "regression", {}}}}}"#, step("0000", "aaaa")),
            r#"{"fullname": "test_k.py::test_new", "stats": {"median": NaN}}"#.to_string(),
        ];
        std::fs::write(
            history.join("aggregate.json"),
            format!("[{}]", entries.join(",\n")),
        )
        .unwrap();
        let mut words = vec!["run-benchmarks", "-d", dir.path().to_str().unwrap()];
        words.extend(args);
        let cli = crate::cli::Cli::parse_from(words);
        let config = cli.config().unwrap();
        let bisect = cli.bisection().unwrap().unwrap();
        let suites = select_suites(&config).unwrap();
        let range: HashSet<&str> = ["bbbb", "cccc"].into();
        let (units, _) = choose(&config, &bisect, &suites, &range).unwrap();
        units.into_iter().map(|u| (u.procs, u.select)).collect()
    }

    #[test]
    fn the_flagged_benchmarks_run_at_their_own_process_counts() {
        let fit = "test_k.py::test_fit[8]".to_string();
        let predict = "test_k.py::test_predict".to_string();
        let launcher = ["--launcher", "mpirun -n {procs}", "--procs", "1,2"];
        let bisect = ["--bisect", "aaaa..cccc"];
        assert_eq!(
            units_for(&[&launcher[..], &bisect].concat()),
            [
                (Some(4), vec![fit.clone()]),
                (Some(2), vec![predict.clone()])
            ]
        );
        assert_eq!(units_for(&bisect), [(None, vec![fit, predict])]);
        // Chosen with -k: every process count of --procs.
        let chosen = units_for(&[&launcher[..], &bisect, &["-k", "fit"]].concat());
        let k = vec!["-k".to_string(), "fit".to_string()];
        assert_eq!(chosen, [(Some(1), k.clone()), (Some(2), k)]);
    }

    #[test]
    fn ranges_need_both_ends() {
        assert_eq!(
            parse_range("v1.0..HEAD"),
            Some(("v1.0".into(), "HEAD".into()))
        );
        assert_eq!(parse_range("HEAD~8..HEAD~1").unwrap().1, "HEAD~1");
        for bad in ["HEAD", "..HEAD", "v1..", "a...b"] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_step_must_exceed_the_threshold_and_the_noise() {
        let quiet = Step::judge(key(), vec![1.0, 1.01, 0.99], vec![1.5, 1.49, 1.52], 0.10);
        assert!(quiet.stepped);
        assert!((quiet.change - 0.5).abs() < 0.02);
        assert!(quiet.is_new(1.3) && !quiet.is_new(1.2));
        assert!(quiet.is_clear(1.05) && quiet.is_clear(1.45));
        assert!(
            !quiet.is_clear(1.2) && !quiet.is_clear(1.3),
            "the middle half"
        );
        let small = Step::judge(key(), vec![1.0, 1.01, 0.99], vec![1.05, 1.06, 1.04], 0.10);
        assert!(!small.stepped, "5% is under the 10% threshold");
        let noisy = Step::judge(key(), vec![1.0, 1.6, 0.7], vec![1.5, 0.9, 2.0], 0.10);
        assert!(!noisy.stepped, "the ends overlap: {noisy:?}");
    }
}
