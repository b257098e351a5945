//! The gate's statistics: the current level of a series, its run-to-run noise, and whether a new
//! value is a regression, an improvement or unchanged.
//!
//! Everything is done on the logarithm of the times, where a slowdown by a factor is the same
//! distance whatever the benchmark's scale, and run-to-run noise (multiplicative) is symmetric.
//! Three ideas keep false alarms rare without missing real steps:
//! - the baseline is the median of the series' *current level*: the runs after its last
//!   significant level shift (found by a robust change-point scan), so an earlier regression or
//!   improvement does not blend two levels, and a step is reported once;
//! - the noise is the median absolute deviation of every run from its own level's median, which
//!   one slow run in the window can neither inflate nor deflate;
//! - a regression needs both a change beyond the threshold and beyond `Z` noise standard errors.

/// How many standard errors of noise a change must exceed (one-sided, about 1 in 160 by chance;
/// the threshold, which must be exceeded too, keeps quiet series far rarer).
pub const Z: f64 = 2.5;

/// Levels shorter than this are not taken as a new level by the change-point scan.
const MIN_LEVEL_RUNS: usize = 3;

/// A level shift must be this many standard errors wide to be taken as real.
const SHIFT_SCORE: f64 = 5.0;

/// The floor of the noise estimate (relative), so a series of identical values is not infinitely sure.
const MIN_NOISE: f64 = 0.005;

/// What a new value is, compared with its series; reports name it in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Slower beyond both the threshold and the noise.
    Regression,
    /// Faster beyond both the threshold and the noise.
    Improvement,
    /// Neither.
    Unchanged,
    /// Fewer runs in the series than `--min-history`: reported, never a failure.
    InsufficientHistory,
}

impl Verdict {
    /// The name used in reports: `regression`, `improvement`, `unchanged`, `insufficient_history`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Unchanged => "unchanged",
            Verdict::InsufficientHistory => "insufficient_history",
        }
    }
}

/// The judgement of one new value.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The verdict.
    pub verdict: Verdict,
    /// The baseline (seconds): the median of the current level, when there is history.
    pub baseline: Option<f64>,
    /// The value judged (seconds): the median of the new values.
    pub value: f64,
    /// `value / baseline - 1`: +0.12 is 12% slower.
    pub change: Option<f64>,
    /// Run-to-run noise as a relative standard deviation.
    pub noise: Option<f64>,
    /// Runs in the current level the baseline was taken from.
    pub level_runs: usize,
    /// Why, when the verdict needs explaining.
    pub note: Option<String>,
}

/// The median of `values` (which must not be empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Standard deviation of the residuals of each segment around its own median, spikes left out.
///
/// The median absolute deviation finds the spikes (beyond 3.5 of its sigmas), then the root mean
/// square of the other residuals estimates the noise: robust to a slow run, and about twice as
/// efficient as the MAD alone, so the gate is not made blind by an unlucky noise estimate.
fn pooled_sigma(segments: &[&[f64]]) -> f64 {
    let segments: Vec<&[f64]> = segments.iter().copied().filter(|s| !s.is_empty()).collect();
    let residuals: Vec<f64> = segments
        .iter()
        .flat_map(|s| {
            let m = median(s);
            s.iter().map(move |x| x - m)
        })
        .collect();
    if residuals.len() <= segments.len() {
        return MIN_NOISE;
    }
    let absolute: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    let mad_sigma = 1.4826 * median(&absolute);
    let kept: Vec<f64> = residuals
        .into_iter()
        .filter(|r| r.abs() <= 3.5 * mad_sigma.max(1e-12))
        .collect();
    // Each segment's median used up about one degree of freedom.
    let dof = kept.len().saturating_sub(segments.len()).max(1);
    let rms = (kept.iter().map(|r| r * r).sum::<f64>() / dof as f64).sqrt();
    rms.max(MIN_NOISE)
}

/// Where the current level of `x` (log values, oldest first) starts.
///
/// Repeatedly splits the remaining runs where two levels fit best (least absolute deviation from
/// each side's median, which a misplaced boundary run or a slow run cannot fool) and keeps the
/// later level when the medians are apart by more than `SHIFT_SCORE` standard errors and by at
/// least `min_shift`.
pub fn current_level_start(x: &[f64], min_shift: f64) -> usize {
    let mut start = 0;
    loop {
        let segment = &x[start..];
        let deviation = |s: &[f64]| {
            let m = median(s);
            s.iter().map(|v| (v - m).abs()).sum::<f64>()
        };
        let best = (MIN_LEVEL_RUNS..=segment.len().saturating_sub(MIN_LEVEL_RUNS))
            .map(|k| (deviation(&segment[..k]) + deviation(&segment[k..]), k))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((_, k)) = best else { return start };
        let (left, right) = segment.split_at(k);
        let shift = (median(right) - median(left)).abs();
        let sigma = pooled_sigma(&[left, right]);
        let standard_error = sigma
            * (std::f64::consts::FRAC_PI_2 * (1.0 / left.len() as f64 + 1.0 / right.len() as f64))
                .sqrt();
        // A level is runs that agree with each other: a few slow spikes at the end are not one.
        let centre = median(right);
        let agreeing = right
            .iter()
            .filter(|v| (*v - centre).abs() <= Z * sigma)
            .count();
        if shift < min_shift
            || shift / standard_error < SHIFT_SCORE
            || agreeing * 3 < right.len() * 2
            || agreeing < MIN_LEVEL_RUNS
        {
            return start;
        }
        start += k;
    }
}

/// The level of `values`: the mean of those within 3.5 robust sigmas of their median.
///
/// Slow spikes are left out, and the mean of the rest is more precise than their median (with
/// 3% noise, a 15% step clears a 10% threshold about 2% more often).
fn level_centre(values: &[f64]) -> f64 {
    let m = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    let cut = 3.5 * (1.4826 * median(&deviations)).max(MIN_NOISE);
    let kept: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| (v - m).abs() <= cut)
        .collect();
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// Variance factor of the median of `k` values relative to one value's variance.
fn median_variance_factor(k: usize) -> f64 {
    match k {
        0 | 1 => 1.0,
        2 => 0.5,
        k => std::f64::consts::FRAC_PI_2 / k as f64,
    }
}

/// Judges `new_values` (one run, or a run and its confirmation reruns; seconds) against
/// `history` (the series' previous values on the baseline branch, oldest first, seconds).
pub fn judge(
    history: &[f64],
    new_values: &[f64],
    threshold: f64,
    min_history: usize,
) -> Assessment {
    let value = median(new_values);
    let usable: Vec<f64> = history
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if usable.len() < min_history.max(1) || !(value.is_finite() && value > 0.0) {
        let baseline = (!usable.is_empty()).then(|| median(&usable));
        return Assessment {
            verdict: Verdict::InsufficientHistory,
            baseline,
            value,
            change: baseline.map(|b| value / b - 1.0),
            noise: None,
            level_runs: usable.len(),
            note: Some(format!("{} of {} runs needed", usable.len(), min_history)),
        };
    }
    let x: Vec<f64> = usable.iter().map(|v| v.ln()).collect();
    let y = value.ln();
    let limit = (1.0 + threshold).ln();
    let start = current_level_start(&x, limit / 2.0);
    let sigma = pooled_sigma(&[&x[..start], &x[start..]]);
    let level = &x[start..];
    let new_factor = median_variance_factor(new_values.len());

    // The last one or two runs may already sit at a new level that was reported when it came.
    if let Some(assessment) = recent_step(level, y, value, sigma, limit, new_factor) {
        return assessment;
    }

    let base = level_centre(level);
    let d = y - base;
    let standard_error = sigma * (new_factor + 1.0 / level.len() as f64).sqrt();
    let verdict = if d > limit && d > Z * standard_error {
        Verdict::Regression
    } else if d < -limit && -d > Z * standard_error {
        Verdict::Improvement
    } else {
        Verdict::Unchanged
    };
    Assessment {
        verdict,
        baseline: Some(base.exp()),
        value,
        change: Some(d.exp() - 1.0),
        noise: Some(sigma.exp() - 1.0),
        level_runs: level.len(),
        note: (start > 0).then(|| format!("level changed {} runs ago", x.len() - start)),
    }
}

/// When the last one or two runs of the level stepped away together and the new value stays with
/// them, the step was judged when it came: the new run is unchanged against that new level.
fn recent_step(
    level: &[f64],
    y: f64,
    value: f64,
    sigma: f64,
    limit: f64,
    new_factor: f64,
) -> Option<Assessment> {
    for tail_len in [2, 1] {
        if level.len() < tail_len + MIN_LEVEL_RUNS {
            continue;
        }
        let (before, tail) = level.split_at(level.len() - tail_len);
        let base = median(before);
        let standard_error =
            sigma * (1.0 + std::f64::consts::FRAC_PI_2 / before.len() as f64).sqrt();
        let stepped = |v: f64| (v - base).abs() > limit && (v - base).abs() > Z * standard_error;
        let direction = (tail[0] - base).signum();
        if !tail
            .iter()
            .all(|&v| stepped(v) && (v - base).signum() == direction)
        {
            continue;
        }
        let tail_level = median(tail);
        // Runs of one new level agree with each other; two unrelated slow spikes do not.
        if tail.iter().any(|&v| (v - tail_level).abs() > Z * sigma) {
            continue;
        }
        let agrees =
            (y - tail_level).abs() <= Z * sigma * (new_factor + 1.0 / tail_len as f64).sqrt();
        if agrees && stepped(y) && (y - base).signum() == direction {
            return Some(Assessment {
                verdict: Verdict::Unchanged,
                baseline: Some(tail_level.exp()),
                value,
                change: Some((y - tail_level).exp() - 1.0),
                noise: Some(sigma.exp() - 1.0),
                level_runs: tail_len,
                note: Some(format!(
                    "stays at the level of the last {tail_len} run(s), {:+.1}% from the one before: reported when it came",
                    ((tail_level - base).exp() - 1.0) * 100.0
                )),
            });
        }
    }
    None
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

    #[test]
    fn a_clear_step_is_a_regression_and_noise_is_not() {
        let history = series(1.0, 20);
        assert_eq!(
            judge(&history, &[1.25], 0.10, 5).verdict,
            Verdict::Regression
        );
        assert_eq!(
            judge(&history, &[1.04], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            judge(&history, &[0.75], 0.10, 5).verdict,
            Verdict::Improvement
        );
    }

    #[test]
    fn too_little_history_is_reported_not_judged() {
        let a = judge(&[1.0, 1.0], &[5.0], 0.10, 5);
        assert_eq!(a.verdict, Verdict::InsufficientHistory);
        assert_eq!(a.baseline, Some(1.0));
    }

    #[test]
    fn one_slow_run_in_the_window_neither_masks_nor_fakes() {
        let mut history = series(1.0, 20);
        history[10] = 3.0;
        assert_eq!(
            judge(&history, &[1.02], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            judge(&history, &[1.25], 0.10, 5).verdict,
            Verdict::Regression
        );
        // A slow last run is no level of its own: a normal run after it is not an "improvement".
        history[19] = 2.5;
        assert_eq!(judge(&history, &[1.0], 0.10, 5).verdict, Verdict::Unchanged);
    }

    #[test]
    fn the_baseline_follows_the_current_level() {
        // A 30% improvement eight runs back, then a 20% slowdown: still faster than old runs.
        let mut history = series(1.0, 12);
        history.extend(series(0.7, 8));
        let a = judge(&history, &[0.84], 0.10, 5);
        assert_eq!(a.verdict, Verdict::Regression, "{a:?}");
        assert_eq!(a.level_runs, 8);
        // An earlier 30% regression is the level now: the same level again is unchanged.
        let mut history = series(1.0, 12);
        history.extend(series(1.3, 8));
        assert_eq!(
            judge(&history, &[1.31], 0.10, 5).verdict,
            Verdict::Unchanged
        );
    }

    #[test]
    fn a_regression_is_reported_once() {
        let mut history = series(1.0, 20);
        assert_eq!(
            judge(&history, &[1.3], 0.10, 5).verdict,
            Verdict::Regression
        );
        history.push(1.3);
        let next = judge(&history, &[1.29], 0.10, 5);
        assert_eq!(next.verdict, Verdict::Unchanged, "{next:?}");
        history.push(1.29);
        assert_eq!(
            judge(&history, &[1.31], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        // ... but a further step on top of it is new.
        assert_eq!(
            judge(&history, &[1.7], 0.10, 5).verdict,
            Verdict::Regression
        );
    }

    #[test]
    fn reruns_are_judged_on_their_median() {
        let history = series(1.0, 20);
        assert_eq!(
            judge(&history, &[2.5, 1.01, 0.99], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            judge(&history, &[1.3, 1.28, 1.31], 0.10, 5).verdict,
            Verdict::Regression
        );
    }
}
