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
//! - a regression needs both a change beyond the threshold and beyond the noise: `Z` standard
//!   errors for a known noise, widened to Student's t for the degrees of freedom the noise was
//!   estimated from (a noise estimated from a few runs is often too small, and a normal quantile
//!   on it raises false alarms on noisy runners).

/// How many standard errors of noise a change must exceed (one-sided, about 1 in 160 by chance;
/// the threshold, which must be exceeded too, keeps quiet series far rarer).
pub const Z: f64 = 2.5;

/// The one-sided tail probability of `Z` under the normal distribution, 1 - Phi(2.5): the false
/// alarm rate the noise test aims at whatever the number of runs.
const TAIL: f64 = 0.006_209_665_325_776_132;

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
    /// Faster beyond both the threshold and the noise, back to where the series was before a
    /// regression that was still open: reported once.
    Recovered,
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
            Verdict::Recovered => "recovered",
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
    /// The latest level shift within the history: where the current level began.
    pub shift: Option<Shift>,
}

/// A level shift between two runs of the history (indices into the history judged).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// The newest run on the level before the shift.
    pub from: usize,
    /// The first run on the level after it.
    pub to: usize,
    /// The new level against the old, `new / old - 1`.
    pub change: f64,
}

/// Whether a past value can be judged against: a positive, finite time. Callers that map
/// [`Shift`] indices back to runs must keep exactly these values, in order.
pub fn usable(value: f64) -> bool {
    value.is_finite() && value > 0.0
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
    pooled_noise(segments).0
}

/// The spike-robust noise of log values around each segment's median (see `pooled_sigma`), and
/// the degrees of freedom it was estimated with.
pub fn pooled_noise(segments: &[&[f64]]) -> (f64, usize) {
    let segments: Vec<&[f64]> = segments.iter().copied().filter(|s| !s.is_empty()).collect();
    let residuals: Vec<f64> = segments
        .iter()
        .flat_map(|s| {
            let m = median(s);
            s.iter().map(move |x| x - m)
        })
        .collect();
    if residuals.len() <= segments.len() {
        return (MIN_NOISE, 1);
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
    (rms.max(MIN_NOISE), dof)
}

/// The quantile of Student's t with `dof` degrees of freedom that leaves the tail of `Z` above it.
///
/// Found by bisection on the exact tail, `P(T > t) = I_{v/(v+t^2)}(v/2, 1/2) / 2`; it tends to
/// `Z` as `dof` grows, and is about 2.78 at 18 degrees of freedom, 3.04 at 10, 4.32 at 4.
pub fn t_quantile(dof: usize) -> f64 {
    let v = dof.max(1) as f64;
    let tail = |t: f64| 0.5 * regularized_beta(v / (v + t * t), v / 2.0, 0.5);
    let (mut low, mut high) = (Z, 1e4);
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if tail(mid) > TAIL {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// The regularized incomplete beta function `I_x(a, b)` (Numerical Recipes' continued fraction).
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    d = 1.0 / if d.abs() < TINY { TINY } else { d };
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            d = 1.0 / if d.abs() < TINY { TINY } else { d };
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Gamma(x) for x > 0 (Lanczos, g = 7).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = G[0]
        + G[1..]
            .iter()
            .enumerate()
            .map(|(i, g)| g / (x + i as f64 + 1.0))
            .sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
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

/// `x` cut into its levels, oldest first.
fn levels(x: &[f64], min_shift: f64) -> Vec<&[f64]> {
    let mut end = x.len();
    let mut found = Vec::new();
    while end > 0 {
        let start = current_level_start(&x[..end], min_shift);
        found.push(&x[start..end]);
        end = start;
    }
    found.reverse();
    found
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
pub fn median_variance_factor(k: usize) -> f64 {
    match k {
        0 | 1 => 1.0,
        2 => 0.5,
        k => std::f64::consts::FRAC_PI_2 / k as f64,
    }
}

/// Judges `new_values` (one run, or a run and its confirmation reruns; seconds) against
/// `history` (the series' previous values on the baseline branch in the window, oldest first,
/// seconds). `earlier` are runs before the window: they only sharpen the noise estimate (each of
/// their levels around its own median), which a window of 20 runs leaves uncertain.
pub fn judge(
    earlier: &[f64],
    history: &[f64],
    new_values: &[f64],
    threshold: f64,
    min_history: usize,
) -> Assessment {
    let value = median(new_values);
    let usable: Vec<f64> = history.iter().copied().filter(|v| usable(*v)).collect();
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
            shift: None,
        };
    }
    let x: Vec<f64> = usable.iter().map(|v| v.ln()).collect();
    let y = value.ln();
    let limit = (1.0 + threshold).ln();
    let start = current_level_start(&x, limit / 2.0);
    let older: Vec<f64> = earlier
        .iter()
        .filter(|v| self::usable(**v))
        .map(|v| v.ln())
        .collect();
    let mut segments = levels(&older, limit / 2.0);
    segments.extend([&x[..start], &x[start..]]);
    let (sigma, dof) = pooled_noise(&segments);
    let level = &x[start..];
    let new_factor = median_variance_factor(new_values.len());

    // The last one or two runs may already sit at a new level that was reported when it came.
    if let Some(assessment) = recent_step(level, start, y, value, sigma, limit, new_factor) {
        return assessment;
    }

    let shift = (start > 0).then(|| {
        let before = &x[current_level_start(&x[..start], limit / 2.0)..start];
        Shift {
            from: start - 1,
            to: start,
            change: (level_centre(level) - level_centre(before)).exp() - 1.0,
        }
    });
    let base = level_centre(level);
    let d = y - base;
    let standard_error = sigma * (new_factor + 1.0 / level.len() as f64).sqrt();
    let q = t_quantile(dof);
    let verdict = if d > limit && d > q * standard_error {
        Verdict::Regression
    } else if d < -limit && -d > q * standard_error {
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
        shift,
    }
}

/// When the last one or two runs of the level stepped away together and the new value stays with
/// them, the step was judged when it came: the new run is unchanged against that new level.
fn recent_step(
    level: &[f64],
    level_start: usize,
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
                shift: Some(Shift {
                    from: level_start + before.len() - 1,
                    to: level_start + before.len(),
                    change: (tail_level - base).exp() - 1.0,
                }),
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
            judge(&[], &history, &[1.25], 0.10, 5).verdict,
            Verdict::Regression
        );
        assert_eq!(
            judge(&[], &history, &[1.04], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            judge(&[], &history, &[0.75], 0.10, 5).verdict,
            Verdict::Improvement
        );
    }

    #[test]
    fn too_little_history_is_reported_not_judged() {
        let a = judge(&[], &[1.0, 1.0], &[5.0], 0.10, 5);
        assert_eq!(a.verdict, Verdict::InsufficientHistory);
        assert_eq!(a.baseline, Some(1.0));
    }

    #[test]
    fn one_slow_run_in_the_window_neither_masks_nor_fakes() {
        let mut history = series(1.0, 20);
        history[10] = 3.0;
        assert_eq!(
            judge(&[], &history, &[1.02], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            judge(&[], &history, &[1.25], 0.10, 5).verdict,
            Verdict::Regression
        );
        // A slow last run is no level of its own: a normal run after it is not an "improvement".
        history[19] = 2.5;
        assert_eq!(
            judge(&[], &history, &[1.0], 0.10, 5).verdict,
            Verdict::Unchanged
        );
    }

    #[test]
    fn the_baseline_follows_the_current_level() {
        // A 30% improvement eight runs back, then a 20% slowdown: still faster than old runs.
        let mut history = series(1.0, 12);
        history.extend(series(0.7, 8));
        let a = judge(&[], &history, &[0.84], 0.10, 5);
        assert_eq!(a.verdict, Verdict::Regression, "{a:?}");
        assert_eq!(a.level_runs, 8);
        // An earlier 30% regression is the level now: the same level again is unchanged.
        let mut history = series(1.0, 12);
        history.extend(series(1.3, 8));
        assert_eq!(
            judge(&[], &history, &[1.31], 0.10, 5).verdict,
            Verdict::Unchanged
        );
    }

    #[test]
    fn a_regression_is_reported_once() {
        let mut history = series(1.0, 20);
        assert_eq!(
            judge(&[], &history, &[1.3], 0.10, 5).verdict,
            Verdict::Regression
        );
        history.push(1.3);
        let next = judge(&[], &history, &[1.29], 0.10, 5);
        assert_eq!(next.verdict, Verdict::Unchanged, "{next:?}");
        history.push(1.29);
        assert_eq!(
            judge(&[], &history, &[1.31], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        // ... but a further step on top of it is new.
        assert_eq!(
            judge(&[], &history, &[1.7], 0.10, 5).verdict,
            Verdict::Regression
        );
    }

    #[test]
    fn the_t_quantile_widens_for_few_runs_and_tends_to_z() {
        // Student's t at a one-sided 0.621% tail (numerical integration of its density).
        for (dof, expected) in [(1, 51.254), (4, 4.3229), (10, 3.0420), (18, 2.7776)] {
            let t = t_quantile(dof);
            assert!((t - expected).abs() < 1e-3 * expected, "dof {dof}: {t}");
        }
        assert!((t_quantile(100_000) - Z).abs() < 1e-3);
        for dof in 1..60 {
            assert!(t_quantile(dof) > t_quantile(dof + 1));
        }
    }

    #[test]
    fn the_latest_shift_is_found_with_its_runs() {
        let mut history = series(1.0, 12);
        history.extend(series(1.5, 8));
        let a = judge(&[], &history, &[1.5], 0.10, 5);
        assert_eq!(a.verdict, Verdict::Unchanged);
        let shift = a.shift.expect("a shift");
        assert_eq!((shift.from, shift.to), (11, 12));
        assert!((shift.change - 0.5).abs() < 0.05, "{shift:?}");
        // One run after the step, the recent-step rule sees the same shift.
        let mut history = series(1.0, 20);
        history.push(1.5);
        let a = judge(&[], &history, &[1.5], 0.10, 5);
        let shift = a.shift.expect("a shift");
        assert_eq!((shift.from, shift.to), (19, 20));
    }

    #[test]
    fn reruns_are_judged_on_their_median() {
        let history = series(1.0, 20);
        assert_eq!(
            judge(&[], &history, &[2.5, 1.01, 0.99], 0.10, 5).verdict,
            Verdict::Unchanged
        );
        assert_eq!(
            judge(&[], &history, &[1.3, 1.28, 1.31], 0.10, 5).verdict,
            Verdict::Regression
        );
    }
}
