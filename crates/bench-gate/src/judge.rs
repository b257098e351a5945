//! Judging one series' new measurements against its past: the level they are compared with, the
//! runs that moved away from it together (a step's tail), and whether the evidence for a step is
//! strong enough given the series' own noise and the excursions it has had.
//!
//! Everything is on the logarithm of times. The rules, and why:
//! - **A step is never one measurement.** One run can be a slow runner, a spike or a visit to a
//!   mode the series knows; a regression (or improvement, or recovery) needs two measurements on
//!   the new level: the run and a confirmation rerun, or this run and the runs before it. One run
//!   beyond the threshold is named `inconclusive`, so it is never passed over in silence.
//! - **The tail of a step is found where it began.** A CUSUM over the runs since the current
//!   level began (capped, so a spike cannot carry it) finds the runs that moved together, and the
//!   change-point scan finds older ones no check reported; a step reported late names the last run
//!   on the old level and the first on the new one, whichever run found it.
//! - **Evidence accumulates, against the series' own record.** A run is either an excursion
//!   (farther than 3.5 noise sigmas from its level: a spike, a visit to a second mode), at the
//!   rate the series has had them, or noise around its level (Student's t for the noise and the
//!   degrees of freedom it was estimated with). The chance that the tail's measurements are this
//!   far by either, summed over how many were excursions, must stay below the per-series
//!   false-alarm level, which shares the per-run level among every series judged. Two spikes in a
//!   row of a series that spikes, or a few visits to a mode it knows, are therefore no step; a
//!   steady shift within the noise becomes one as its runs accumulate.

use serde::Serialize;

use crate::stats::{self, MIN_LEVEL_RUNS};

/// A measurement must move this share of the threshold to count toward a step (the CUSUM's
/// reference value, half the smallest shift worth finding).
const KAPPA: f64 = 0.5;

/// CUSUM increments are capped at this many noise sigmas: one slow run cannot make a tail alone.
const CAP: f64 = 3.0;

/// Splits whose fit is within this many noise variances of the best one are as plausible: the
/// range of a step spans them (about a 95% confidence set for where it is).
const SPLIT_SPREAD: f64 = 6.0;

/// A run farther than this many noise sigmas from its level is an excursion: a spike, a visit to
/// another mode; the pooled noise leaves such runs out by the same bound.
const SPIKE: f64 = 3.5;

/// The chance that a run with no real change fails, shared by the series judged in it.
pub const ALPHA: f64 = 0.005;

/// At least this many series share [`ALPHA`], so that a check of one benchmark is not lax.
pub const FAMILY_FLOOR: usize = 10;

/// A change beyond the threshold at least this likely under the series' own noise and excursions
/// is what the series does, not a suspect.
const NOTEWORTHY: f64 = 0.05;

/// What a new run is, compared with its series; reports name it in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A new step up: slower beyond the threshold and the noise, on two measurements or more.
    Regression,
    /// A new step down, not (all the way) back from an open regression.
    Improvement,
    /// A step down back to where the series was before an open regression: reported once.
    Recovered,
    /// Beyond the threshold, but not yet beyond the noise or on one measurement only: named, and
    /// re-run by `--confirm`; never a failure.
    Inconclusive,
    /// Within the threshold, within what the series does, or still on a level reported before.
    Unchanged,
    /// Fewer runs in the series than `--min-history`: reported, never a failure.
    InsufficientHistory,
}

impl Verdict {
    /// The name used in reports and stored verdicts.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Recovered => "recovered",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Unchanged => "unchanged",
            Verdict::InsufficientHistory => "insufficient_history",
        }
    }

    /// Whether it is a step (and carries a range).
    pub fn is_step(self) -> bool {
        matches!(
            self,
            Verdict::Regression | Verdict::Improvement | Verdict::Recovered
        )
    }
}

/// A series' past as the judge needs it.
#[derive(Debug, Clone, Default)]
pub struct Past<'a> {
    /// Runs before the window (seconds, oldest first): they only sharpen the noise estimate.
    pub earlier: &'a [f64],
    /// The baseline window (seconds, oldest first).
    pub window: &'a [f64],
    /// The window index where the current level began by the stored verdicts (the first run after
    /// the last reported step), 0 when none is in the window.
    pub level_from: usize,
    /// The level the last reported step went to (seconds), for when few runs are on it yet.
    pub stored_level: Option<f64>,
}

/// A regression open before this run, as the judge needs it (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenLevel {
    /// The level before the step.
    pub before: f64,
    /// The slow level.
    pub level: f64,
}

impl OpenLevel {
    /// Whether `value` is back: within the threshold of the level before the regression, and
    /// nearer that level than the slow one (so noise on a small step does not close it).
    pub fn is_back(&self, value: f64, threshold: f64) -> bool {
        value <= self.before * (1.0 + threshold)
            && (value / self.before).ln() < (self.level / self.before).ln() / 2.0
    }
}

/// The level a series' new measurements are compared with, and its noise.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The window, log.
    x: Vec<f64>,
    /// The reference level, log.
    centre: f64,
    /// The window runs the reference level comes from.
    runs: std::ops::Range<usize>,
    /// A shift the scan found after the last reported step and beyond the threshold: where its
    /// level starts, and its direction.
    unreported: Option<(usize, f64)>,
    /// Run-to-run noise (log) and its degrees of freedom.
    sigma: f64,
    dof: usize,
    /// Every past run's distance from its own level (log), sorted: how far the series goes.
    residuals: Vec<f64>,
    /// The levels those distances are measured from.
    segments: usize,
    /// The runs since the last reported step (those before the window too when none is in it),
    /// before any tail (log): their visits away from the reference level are excursions whatever
    /// levels the scan cut them into.
    current: Vec<f64>,
}

/// A step found in a series: where it is and how large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The window index of the last run on the old level (`None`: before the window).
    pub from: Option<usize>,
    /// The window index of the first run on the new level (`None`: this run).
    pub to: Option<usize>,
    /// The new level against the old one, `new / old - 1`.
    pub change: f64,
    /// Measurements on the new level, this run's included.
    pub measurements: usize,
    /// Runs on the new level, this run included.
    pub runs: usize,
}

/// The judgement of one series' new measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The verdict.
    pub verdict: Verdict,
    /// The reference level, seconds.
    pub baseline: f64,
    /// The value judged, seconds: the median of the new measurements.
    pub value: f64,
    /// `value / baseline - 1`.
    pub change: f64,
    /// Run-to-run noise as a relative standard deviation.
    pub noise: f64,
    /// Runs the reference level comes from.
    pub level_runs: usize,
    /// Why, when the verdict needs explaining.
    pub note: Option<String>,
    /// For a step: where it is.
    pub step: Option<Step>,
    /// For a recovery: the open regressions it closes (indices into the judged open list).
    pub closes: Vec<usize>,
    /// Worth a confirmation rerun: an inconclusive slowdown, or a recovery seen once.
    pub suspect: bool,
}

/// How to judge one series.
#[derive(Debug, Clone, Copy)]
pub struct Judging<'a> {
    /// The threshold, a fraction.
    pub threshold: f64,
    /// The per-series false-alarm level.
    pub alpha: f64,
    /// A run-wide shift (log) to take out of the run's own measurement (not its reruns).
    pub run_wide: f64,
    /// Whether the window's runs are on the new run's branch (only then can they join its level).
    pub joinable: bool,
    /// The series' open regressions, oldest first.
    pub open: &'a [OpenLevel],
}

/// The series' noise model and the level new runs are compared with.
impl Reference {
    /// Finds the reference level of `past` for a threshold of `limit` (log).
    pub fn of(past: &Past, limit: f64) -> Reference {
        let x: Vec<f64> = past.window.iter().map(|v| v.ln()).collect();
        let n = x.len();
        let lo = past.level_from.min(n.saturating_sub(1));
        let min_shift = limit / 2.0;
        let start = lo + stats::current_level_start(&x[lo..], min_shift);
        let older: Vec<f64> = past.earlier.iter().map(|v| v.ln()).collect();
        let (mut from, mut end, mut unreported) = (start, n, None);
        if start > lo {
            // A level change since the last reported step: a drift below the threshold becomes
            // the reference; a shift beyond it is a step nobody reported, tested as a tail. The
            // level before it is read from every run since that step, those before the window
            // included: the window's first runs alone are a cut, not a level.
            // A few runs that strayed together before it are no level the series was on.
            let mut since: Vec<f64> = if lo == 0 { older.clone() } else { Vec::new() };
            since.extend(&x[lo..start]);
            let shift = stats::level_centre(&x[start..]) - stats::level_centre(&since);
            if shift.abs() > limit {
                (from, end, unreported) = (lo, start, Some((start, shift.signum())));
            }
        }
        let mut segments: Vec<&[f64]> = stats::levels(&older, min_shift);
        segments.extend(stats::levels(&x[..lo], min_shift));
        segments.extend(stats::levels(&x[lo..from], min_shift));
        let stored = past.stored_level.map(f64::ln);
        // Few runs on a level a step reported: the step's own estimate of it is better.
        let centre_of = |runs: std::ops::Range<usize>| match stored {
            Some(level) if runs.len() < MIN_LEVEL_RUNS => level,
            _ if runs.is_empty() => stats::level_centre(&x[from..end]),
            _ => stats::level_centre(&x[runs]),
        };
        let mut reference = from..end;
        if unreported.is_none() && end > from {
            // Leave out the runs that already moved away together, so a step's first runs do not
            // pull the level they are compared with.
            let (sigma, _) = stats::pooled_noise(&[segments.as_slice(), &[&x[from..end]]].concat());
            let centre = centre_of(from..end);
            let moved = [1.0, -1.0]
                .into_iter()
                .filter_map(|dir| tail_start(&x[from..end], centre, dir, sigma, limit))
                .min();
            // Only a recent few: a long stretch that drifted is the level, not a tail of it.
            if let Some(moved) = moved.filter(|m| *m >= (end - from).div_ceil(2)) {
                reference = from..from + moved;
            }
        }
        let centre = centre_of(reference.clone());
        let (sigma, dof) =
            stats::pooled_noise(&[segments.as_slice(), &[&x[reference.clone()]]].concat());
        let mut residuals: Vec<f64> = segments
            .iter()
            .filter(|s| !s.is_empty())
            .flat_map(|s| {
                let m = stats::median(s);
                s.iter().map(move |v| v - m)
            })
            .chain(x[reference.clone()].iter().map(|v| v - centre))
            .collect();
        residuals.sort_by(f64::total_cmp);
        let segments = segments.iter().filter(|s| !s.is_empty()).count() + 1;
        let mut current = if lo == 0 { older.clone() } else { Vec::new() };
        current.extend(&x[lo..reference.end.max(lo)]);
        Reference {
            x,
            centre,
            runs: reference,
            unreported,
            sigma,
            dof,
            residuals,
            segments,
            current,
        }
    }

    /// The reference level, seconds.
    pub fn level(&self) -> f64 {
        self.centre.exp()
    }

    /// The series' run-to-run noise, log.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// How far `value` (seconds) is from the reference level, log.
    pub fn deviation(&self, value: f64) -> f64 {
        value.ln() - self.centre
    }

    /// How often past runs were at least `distance` (log) from their level in direction `dir`.
    fn times_beyond(&self, distance: f64, dir: f64) -> usize {
        self.residuals
            .iter()
            .filter(|r| dir * **r >= distance)
            .count()
    }

    /// How often a run is an excursion in direction `dir` (farther than [`SPIKE`] sigmas from its
    /// level: a spike, a second mode), by Jeffreys' estimate: never in n runs is 0.5 / (n + 1).
    ///
    /// Counted both around each past level and around the reference level since the last
    /// reported step, and the larger taken: a series that flips between two modes has runs of
    /// either that the change-point scan may take for levels of their own.
    fn excursion_rate(&self, dir: f64) -> f64 {
        let bound = SPIKE * self.sigma;
        let rate = |seen: usize, of: usize| (seen as f64 + 0.5) / (of as f64 + 1.0);
        let around_levels = rate(self.times_beyond(bound, dir), self.residuals.len());
        // The share seen, without the prior: a short current level must not look spiky.
        let seen = self
            .current
            .iter()
            .filter(|v| dir * (*v - self.centre) >= bound)
            .count();
        let around_reference = seen as f64 / self.current.len().max(1) as f64;
        around_levels.max(around_reference)
    }

    /// The chance that the mean of `distances` (log, spikes capped) is this far by the series'
    /// noise alone: whether a change is worth naming, not whether it is a step.
    fn noise_alone(&self, distances: &[f64]) -> f64 {
        let m = distances.len() as f64;
        let cap = SPIKE * self.sigma;
        let total: f64 = distances.iter().map(|d| d.min(cap)).sum();
        let spread = self.sigma * (m + m * m / self.runs.len().max(1) as f64).sqrt();
        stats::t_tail(total / spread, self.dof)
    }

    /// The chance that measurements at least this far (log, in direction `dir`) come from the
    /// series as it was. Each run is an excursion at the series' own excursion rate, or noise
    /// around the reference level (Student's t, with the reference's own uncertainty). For each
    /// count j of excursions, the j farthest measurements are taken as excursions and the others
    /// must be the noise; the chances are summed over j. The noise is estimated from the past and
    /// the measurements' own scatter around their level, as a two-sample test pools them: a
    /// reference of few runs cannot leave a large, steady step unproven forever.
    fn evidence(&self, distances: &[f64], dir: f64) -> f64 {
        let m = distances.len();
        let (sigma, dof) = if m >= 2 {
            let centre = stats::median(distances);
            let mut residuals = self.residuals.clone();
            residuals.extend(distances.iter().map(|d| d - centre));
            stats::residual_noise(&residuals, self.segments + 1)
        } else {
            (self.sigma, self.dof)
        };
        // No cap on a measurement's distance: the farthest ones are those taken as excursions.
        let mut farthest_first = distances.to_vec();
        farthest_first.sort_by(|a, b| b.total_cmp(a));
        let q = self.excursion_rate(dir);
        let reference_runs = self.runs.len().max(1) as f64;
        (0..=m)
            .map(|excursions| {
                let rest = (m - excursions) as f64;
                let noise = if rest == 0.0 {
                    1.0
                } else {
                    let needed: f64 = farthest_first[excursions..].iter().sum();
                    let spread = sigma * (rest + rest * rest / reference_runs).sqrt();
                    stats::t_tail(needed / spread, dof)
                };
                stats::binomial_pmf(m, excursions, q) * noise
            })
            .sum::<f64>()
            .min(1.0)
    }
}

/// Where the runs that moved together in direction `dir` begin (an index into `x`), by a CUSUM
/// against `centre` whose increments are capped at [`CAP`] sigmas; `None` when the last run is
/// not part of such a tail.
fn tail_start(x: &[f64], centre: f64, dir: f64, sigma: f64, limit: f64) -> Option<usize> {
    let kappa = KAPPA * limit;
    // At least twice the reference value, or a series quieter than its threshold could never
    // build a tail.
    let cap = (CAP * sigma.max(stats::MIN_NOISE)).max(2.0 * kappa);
    let (mut sum, mut start) = (0.0f64, 0);
    for (i, v) in x.iter().enumerate() {
        sum = (sum + (dir * (v - centre)).min(cap) - kappa).max(0.0);
        if sum == 0.0 {
            start = i + 1;
        }
    }
    (sum > 0.0).then_some(start)
}

/// Where in `tail` (distances from the reference centre `c` in direction `dir`, its first `past`
/// entries past runs) the step is: the split that maximises the two-sample statistic of a shift
/// in the mean (distances capped at `cap`, so that a spike cannot place it), and the earliest and
/// latest splits that fit nearly as well (within [`SPLIT_SPREAD`] noise variances), which
/// bound the range of commits that can hold the cause.
fn best_split(
    reference: &[f64],
    tail: &[f64],
    past: usize,
    (c, dir): (f64, f64),
    (cap, sigma): (f64, f64),
) -> Split {
    let clamp = |d: f64| d.clamp(-cap, cap);
    let before: Vec<f64> = reference.iter().map(|v| clamp(dir * (v - c))).collect();
    let after: Vec<f64> = tail.iter().map(|d| clamp(*d)).collect();
    let score = |k: usize| {
        let (left, right) = (before.len() + k, after.len() - k);
        if left == 0 || right == 0 {
            return f64::NEG_INFINITY;
        }
        let left_sum: f64 = before.iter().sum::<f64>() + after[..k].iter().sum::<f64>();
        let right_sum: f64 = after[k..].iter().sum();
        let difference = right_sum / right as f64 - left_sum / left as f64;
        difference * difference * (left * right) as f64 / (left + right) as f64
    };
    let candidates = 0..=past.min(after.len().saturating_sub(1));
    let scores: Vec<(usize, f64)> = candidates.map(|k| (k, score(k))).collect();
    let best = scores
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .unwrap_or((0, 0.0));
    let near: Vec<usize> = scores
        .iter()
        .filter(|(_, score)| best.1 - score <= SPLIT_SPREAD * sigma * sigma)
        .map(|(k, _)| *k)
        .collect();
    Split {
        at: best.0,
        earliest: near.iter().copied().min().unwrap_or(best.0),
        latest: near.iter().copied().max().unwrap_or(best.0),
    }
}

/// A step's place in a tail: the best split, and the earliest and latest that fit nearly as well.
#[derive(Debug, Clone, Copy)]
struct Split {
    at: usize,
    earliest: usize,
    latest: usize,
}

/// Judges `new` (this run's measurement, then its reruns; seconds) against `reference`.
pub fn judge(reference: &Reference, new: &[f64], judging: &Judging) -> Assessment {
    let limit = (1.0 + judging.threshold).ln();
    let c = reference.centre;
    let n = reference.x.len();
    let value = stats::median(new);
    let mut ys: Vec<f64> = new.iter().map(|v| v.ln()).collect();
    ys[0] -= judging.run_wide;
    let here = stats::median(&ys) - c;
    let dir = if here >= 0.0 { 1.0 } else { -1.0 };

    // The tail: the runs on the new run's side that moved with it, then its measurements; only
    // while this run moved too (a spike the run before is no tail of a normal run).
    let mut past_from = n;
    if judging.joinable && dir * here > KAPPA * limit {
        match reference.unreported {
            Some((start, sign)) if sign == dir => past_from = start,
            Some(_) => {}
            None => {
                let mut all = reference.x[reference.runs.start..].to_vec();
                all.extend(&ys);
                if let Some(start) = tail_start(&all, c, dir, reference.sigma, limit) {
                    past_from = (reference.runs.start + start).min(n);
                }
            }
        }
    }
    let distance = |v: &f64| dir * (v - c);
    // The step may have begun before the CUSUM noticed (a first run after it that moved little):
    // the split is looked for over the whole current level, from its second run on.
    let earliest = if past_from < n {
        (reference.runs.start + 1).min(past_from)
    } else {
        past_from
    };
    let mut tail: Vec<f64> = reference.x[earliest..].iter().map(distance).collect();
    tail.extend(ys.iter().map(distance));
    let reference_runs = &reference.x[reference.runs.start..earliest];
    // Where in the tail the step is: the split that best tells the runs before it (with the
    // reference level's) from those after, spikes capped; runs at the front that moved a little
    // by chance belong to the old level.
    // A spike weighs no more than twice the tail's typical distance (or the spike bound).
    let cap = (SPIKE * reference.sigma).max(2.0 * stats::median(&tail[past_from - earliest..]));
    let split = best_split(
        reference_runs,
        &tail,
        n - earliest,
        (c, dir),
        (cap, reference.sigma),
    );
    tail.drain(..split.at);
    let past_from = earliest + split.at;
    let past_runs = n - past_from;
    let moved = stats::median(&tail);
    let noise = reference.sigma.exp() - 1.0;
    let mut assessment = Assessment {
        verdict: Verdict::Unchanged,
        baseline: c.exp(),
        value,
        change: value / c.exp() - 1.0,
        noise,
        level_runs: reference.runs.len(),
        note: None,
        step: None,
        closes: Vec::new(),
        suspect: false,
    };
    let percent = |log: f64| (log.exp() - 1.0) * 100.0;
    let level = c + dir * moved;
    // The past runs in the tail were picked because they moved: it is one of as many tails as
    // it has past runs (plus the run alone), and the evidence must hold for each of them
    // (Bonferroni). A run and its reruns were not picked: they are what was measured.
    let evidence = reference.evidence(&tail, dir) * (past_runs + 1) as f64;
    if tail.len() >= 2 && moved > limit && evidence <= judging.alpha {
        let step = Step {
            from: (earliest + split.earliest).checked_sub(1),
            to: (earliest + split.latest < n).then_some(earliest + split.latest),
            change: (dir * moved).exp() - 1.0,
            measurements: tail.len(),
            runs: past_runs + 1,
        };
        assessment.step = Some(step);
        let closes: Vec<usize> = judging
            .open
            .iter()
            .enumerate()
            .filter(|(_, o)| o.is_back(level.exp(), judging.threshold))
            .map(|(i, _)| i)
            .collect();
        assessment.verdict = if dir > 0.0 {
            Verdict::Regression
        } else if !closes.is_empty() {
            Verdict::Recovered
        } else {
            Verdict::Improvement
        };
        if assessment.verdict == Verdict::Recovered {
            assessment.closes = closes;
        }
        if past_runs > 0 {
            assessment.note = Some(format!(
                "{:+.1}% over the last {} runs",
                percent(dir * moved),
                past_runs + 1
            ));
        }
        return assessment;
    }
    // No step: a change beyond the threshold is named, as a suspect when it is unlikely under the
    // series' own noise, and otherwise with what the series is known to do.
    let single = dir * here;
    let back = dir < 0.0
        && judging
            .open
            .iter()
            .any(|o| o.is_back((c + here).exp(), judging.threshold));
    let accumulating = tail.len() >= 2 && moved > limit;
    if back {
        assessment.verdict = Verdict::Inconclusive;
        assessment.suspect = true;
        assessment.note = Some(if ys.len() > 1 {
            "back at the level before the open regression, but not beyond the noise yet".into()
        } else {
            "back at the level before the open regression in this run alone: the next run or --confirm N decides".into()
        });
    } else if dir < 0.0 {
        // Faster is no suspect: named when it is beyond the threshold, a verdict once it is a step.
        if single > limit {
            assessment.note = Some(format!(
                "{:.1}% faster, not (yet) a step",
                (1.0 - (-single).exp()) * 100.0
            ));
        }
    } else if accumulating && reference.noise_alone(&tail) < NOTEWORTHY {
        assessment.verdict = Verdict::Inconclusive;
        assessment.suspect = true;
        assessment.note = Some(format!(
            "{:+.1}% over {} measurement(s), not yet beyond this series' noise",
            percent(dir * moved),
            tail.len()
        ));
    } else if single > limit {
        // One measurement is named a suspect when the series' noise would rarely put it there,
        // unless the series has often been there before (a second mode, frequent spikes).
        let seen = reference.times_beyond(single, dir);
        let runs = reference.residuals.len();
        if (seen as f64) < NOTEWORTHY * runs as f64 && reference.noise_alone(&[single]) < NOTEWORTHY
        {
            assessment.verdict = Verdict::Inconclusive;
            assessment.suspect = true;
            assessment.note = Some(if ys.len() > 1 {
                "not beyond this series' noise on the run and its reruns".to_string()
            } else {
                "in this run alone: the next run or --confirm N decides".to_string()
            });
        } else if seen > 0 {
            assessment.note = Some(format!(
                "a level this series visits: {seen} of its last {runs} runs were as far"
            ));
        } else {
            assessment.note = Some(format!("within this series' noise ({:.1}%)", noise * 100.0));
        }
    }
    assessment
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic series with ~3% wiggle around `level`.
    fn series(level: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| level * (1.0 + 0.03 * ((i * 7 % 11) as f64 / 5.0 - 1.0)))
            .collect()
    }

    fn judging(open: &[OpenLevel]) -> Judging<'_> {
        Judging {
            threshold: 0.10,
            alpha: ALPHA / FAMILY_FLOOR as f64,
            run_wide: 0.0,
            joinable: true,
            open,
        }
    }

    fn judged(window: &[f64], new: &[f64]) -> Assessment {
        let past = Past {
            window,
            ..Past::default()
        };
        let reference = Reference::of(&past, 1.1f64.ln());
        judge(&reference, new, &judging(&[]))
    }

    #[test]
    fn one_slow_run_is_inconclusive_and_a_second_makes_it_a_regression() {
        let mut history = series(1.0, 60);
        let first = judged(&history, &[1.3]);
        assert_eq!(first.verdict, Verdict::Inconclusive, "{first:?}");
        assert!(first.suspect);
        history.push(1.3);
        let second = judged(&history, &[1.31]);
        assert_eq!(second.verdict, Verdict::Regression, "{second:?}");
        let step = second.step.unwrap();
        assert_eq!((step.from, step.to), (Some(59), Some(60)), "{step:?}");
        assert!((step.change - 0.305).abs() < 0.02, "{step:?}");
        // Confirmation reruns are the second measurement too.
        let rerun = judged(&series(1.0, 60), &[1.3, 1.29, 1.31]);
        assert_eq!(rerun.verdict, Verdict::Regression, "{rerun:?}");
        assert_eq!(rerun.step.unwrap().to, None);
    }

    #[test]
    fn noise_and_a_spike_are_not_steps() {
        let history = series(1.0, 20);
        assert_eq!(judged(&history, &[1.04]).verdict, Verdict::Unchanged);
        // A spike then a normal run: nothing.
        let mut spiked = history.clone();
        spiked.push(2.5);
        assert_eq!(judged(&spiked, &[1.0]).verdict, Verdict::Unchanged);
        // Reruns that disagree with a slow run: nothing.
        assert_eq!(
            judged(&history, &[2.5, 1.01, 0.99]).verdict,
            Verdict::Unchanged
        );
    }

    #[test]
    fn a_level_the_series_visits_often_is_no_suspect() {
        // Every third run 3.2 times slower: a second mode, not a regression.
        let history: Vec<f64> = (0..40)
            .map(|i| if i % 3 == 1 { 3.2 } else { 1.0 } * (1.0 + 0.01 * (i % 5) as f64))
            .collect();
        let a = judged(&history, &[3.25]);
        assert_eq!(a.verdict, Verdict::Unchanged, "{a:?}");
        assert!(a.note.unwrap().contains("a level this series visits"));
    }

    #[test]
    fn a_step_nobody_reported_is_found_with_its_range() {
        // A +30% step five runs ago, never reported: found now, at its own place.
        let mut history = series(1.0, 15);
        history.extend(series(1.3, 5));
        let a = judged(&history, &[1.3]);
        assert_eq!(a.verdict, Verdict::Regression, "{a:?}");
        let step = a.step.unwrap();
        assert_eq!((step.from, step.to), (Some(14), Some(15)), "{step:?}");
    }

    #[test]
    fn after_a_reported_step_the_new_level_is_the_reference() {
        let mut history = series(1.0, 55);
        history.extend(series(1.3, 5));
        let past = Past {
            window: &history,
            level_from: 55,
            stored_level: Some(1.3),
            ..Past::default()
        };
        let reference = Reference::of(&past, 1.1f64.ln());
        let open = [OpenLevel {
            before: 1.0,
            level: 1.3,
        }];
        let same = judge(&reference, &[1.31], &judging(&open));
        assert_eq!(same.verdict, Verdict::Unchanged, "{same:?}");
        // Back once: inconclusive; back with a rerun: recovered.
        let once = judge(&reference, &[1.0], &judging(&open));
        assert_eq!(once.verdict, Verdict::Inconclusive, "{once:?}");
        let twice = judge(&reference, &[1.0, 1.01], &judging(&open));
        assert_eq!(twice.verdict, Verdict::Recovered, "{twice:?}");
        assert_eq!(twice.closes, vec![0]);
    }
}
