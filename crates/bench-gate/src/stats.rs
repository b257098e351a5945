//! The gate's statistics on the logarithm of times (where a slowdown by a factor is the same
//! distance whatever the benchmark's scale, and multiplicative noise is symmetric): medians and
//! robust levels, a series' noise and the degrees of freedom it was estimated with, Student's t,
//! binomial tails, and the change-point scan that cuts a series into levels.

/// The standard errors of [`t_quantile`]'s tail under the normal distribution (bisection judges
/// its two ends with it; the change-point scan asks a level's runs to agree within it).
pub const Z: f64 = 2.5;

/// The one-sided tail probability of `Z` under the normal distribution, 1 - Phi(2.5).
const TAIL: f64 = 0.006_209_665_325_776_132;

/// Levels shorter than this are not taken as a new level by the change-point scan.
pub const MIN_LEVEL_RUNS: usize = 3;

/// A level shift must be this many standard errors wide to be taken as real.
const SHIFT_SCORE: f64 = 5.0;

/// The floor of the noise estimate (relative), so a series of identical values is not infinitely sure.
pub const MIN_NOISE: f64 = 0.005;

/// Whether a past value can be judged against: a positive, finite time. Callers that map window
/// indices back to runs must keep exactly these values, in order.
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
    residual_noise(&residuals, segments.len())
}

/// The spike-robust noise of `residuals` (log values around the medians of `segments` levels),
/// and its degrees of freedom: see [`pooled_noise`].
pub fn residual_noise(residuals: &[f64], segments: usize) -> (f64, usize) {
    if residuals.len() <= segments {
        return (MIN_NOISE, 1);
    }
    let absolute: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    let mad_sigma = 1.4826 * median(&absolute);
    let kept: Vec<f64> = residuals
        .iter()
        .copied()
        .filter(|r| r.abs() <= 3.5 * mad_sigma.max(1e-12))
        .collect();
    // Each segment's median used up about one degree of freedom.
    let dof = kept.len().saturating_sub(segments).max(1);
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

/// The upper tail of Student's t with `dof` degrees of freedom: `P(T > t)`.
pub fn t_tail(t: f64, dof: usize) -> f64 {
    let v = dof.max(1) as f64;
    let half = 0.5 * regularized_beta(v / (v + t * t), v / 2.0, 0.5);
    if t >= 0.0 {
        half
    } else {
        1.0 - half
    }
}

/// `P(X = k)` for `X ~ Binomial(n, p)`.
pub fn binomial_pmf(n: usize, k: usize, p: f64) -> f64 {
    if k > n {
        return 0.0;
    }
    let p = p.clamp(0.0, 1.0);
    let ln_choose =
        ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0);
    let (k, rest) = (k as f64, (n - k) as f64);
    let ln_p = if k == 0.0 { 0.0 } else { k * p.ln() };
    let ln_q = if rest == 0.0 {
        0.0
    } else {
        rest * (1.0 - p).ln()
    };
    (ln_choose + ln_p + ln_q).exp()
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
pub fn levels(x: &[f64], min_shift: f64) -> Vec<&[f64]> {
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
pub fn level_centre(values: &[f64]) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_t_tail_is_the_quantiles_inverse() {
        for dof in [1, 4, 10, 18, 200] {
            let tail = t_tail(t_quantile(dof), dof);
            assert!((tail - TAIL).abs() < 1e-6, "dof {dof}: {tail}");
            assert!((t_tail(0.0, dof) - 0.5).abs() < 1e-12);
            assert!((t_tail(-1.3, dof) + t_tail(1.3, dof) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn binomial_probabilities_add_up() {
        // P(X = 2) for Binomial(3, 0.1) = 3 * 0.01 * 0.9.
        assert!((binomial_pmf(3, 2, 0.1) - 0.027).abs() < 1e-12);
        assert!((binomial_pmf(5, 5, 0.5) - 1.0 / 32.0).abs() < 1e-12);
        assert_eq!(binomial_pmf(4, 5, 0.3), 0.0);
        let total: f64 = (0..=7).map(|k| binomial_pmf(7, k, 0.37)).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(binomial_pmf(2, 0, 0.0), 1.0);
    }

    #[test]
    fn a_level_shift_is_found_where_it_happened() {
        let mut x: Vec<f64> = (0..12).map(|i| 0.01 * ((i * 7 % 5) as f64 - 2.0)).collect();
        x.extend((0..8).map(|i| 0.4 + 0.01 * ((i * 3 % 5) as f64 - 2.0)));
        assert_eq!(current_level_start(&x, 0.05), 12);
        // One slow run at the end is no level of its own.
        let mut y: Vec<f64> = x[..12].to_vec();
        y.push(1.0);
        assert_eq!(current_level_start(&y, 0.05), 0);
    }
}
