//! The statistics of a replay: the G-test with pooling of small expected counts, its p-value
//! from the chi-square survival function (statrs), and the one-parameter maximum-likelihood
//! search with its profile-likelihood interval. Knows nothing of routing.

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Rows whose expected count is below this are pooled into one row before the G-test.
pub const POOL_BELOW: f64 = 5.0;

/// A G-test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GTest {
    pub(crate) g: f64,
    /// Rows left after pooling, minus one (minus the fitted parameters, where asked).
    pub(crate) dof: u64,
    /// `None` when there are no degrees of freedom: nothing to test.
    pub(crate) p_value: Option<f64>,
}

/// The G-test of `observed` against `expected` (same length, expected adding up to the observed
/// total): rows expected below [`POOL_BELOW`] are pooled into one. Returns the test and which
/// rows were pooled.
pub(crate) fn g_test(observed: &[u64], expected: &[f64]) -> (GTest, Vec<bool>) {
    let pooled: Vec<bool> = expected.iter().map(|&e| e < POOL_BELOW).collect();
    let mut cells: Vec<(f64, f64)> = observed
        .iter()
        .zip(expected)
        .zip(&pooled)
        .filter(|(_, p)| !**p)
        .map(|((&o, &e), _)| (o as f64, e))
        .collect();
    if pooled.iter().any(|&p| p) {
        let (o, e) = observed
            .iter()
            .zip(expected)
            .zip(&pooled)
            .filter(|(_, p)| **p)
            .fold((0.0, 0.0), |(so, se), ((&o, &e), _)| {
                (so + o as f64, se + e)
            });
        cells.push((o, e));
    }
    // An empty float sum is -0.0, and rounding must not make G negative.
    let g = (2.0 * cells.iter().map(|&(o, e)| term(o, e)).sum::<f64>()).max(0.0) + 0.0;
    let dof = cells.len().saturating_sub(1) as u64;
    (
        GTest {
            g,
            dof,
            p_value: survival(g, dof),
        },
        pooled,
    )
}

/// `o ln(o / e)`: 0 for an empty cell, infinite for an observed cell expected never (which
/// `o ln(o / 0)` gives too: `e >= 0.0` for `e > 0.0` is an equivalent mutant).
fn term(o: f64, e: f64) -> f64 {
    match (o > 0.0, e > 0.0) {
        (false, _) => 0.0,
        (true, false) => f64::INFINITY,
        (true, true) => o * (o / e).ln(),
    }
}

/// P(X >= g) for X chi-square with `dof` degrees of freedom; `None` for 0 degrees.
pub(crate) fn survival(g: f64, dof: u64) -> Option<f64> {
    if dof == 0 {
        return None;
    }
    if g.is_nan() {
        return Some(0.0);
    }
    let chi = ChiSquared::new(dof as f64).ok()?;
    Some(chi.sf(g.max(0.0)).clamp(0.0, 1.0))
}

/// Half the 95% quantile of chi-square with 1 degree of freedom (3.841): a profile-likelihood
/// interval holds the values whose log-likelihood is within this of the maximum.
pub(crate) const HALF_CHI2_95: f64 = 3.841_458_820_694_124 / 2.0;

/// A maximum-likelihood estimate with its 95% profile-likelihood interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    pub(crate) at: f64,
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// The interval reached an end of the search range there.
    pub(crate) open_low: bool,
    pub(crate) open_high: bool,
}

/// Maximises `ll` over `[lo, hi]`: a grid, then golden-section search around the best grid
/// point; the interval ends by bisection where `ll` falls [`HALF_CHI2_95`] below the maximum.
/// `None` when `ll` is flat (the data say nothing of the parameter).
pub(crate) fn maximise(ll: impl Fn(f64) -> f64, lo: f64, hi: f64) -> Option<Estimate> {
    const STEPS: usize = 60;
    let step = (hi - lo) / STEPS as f64;
    let grid: Vec<(f64, f64)> = (0..=STEPS)
        .map(|i| {
            let x = lo + step * i as f64;
            (x, ll(x))
        })
        .collect();
    let finite = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };
    let (best_i, &(_, best)) = grid
        .iter()
        .enumerate()
        .max_by(|a, b| finite(a.1.1).total_cmp(&finite(b.1.1)))?;
    let worst = grid
        .iter()
        .map(|g| finite(g.1))
        .fold(f64::INFINITY, f64::min);
    if !best.is_finite() || best - worst < 1e-9 * best.abs().max(1.0) {
        return None;
    }
    // Golden-section search on the bracket around the best grid point.
    let (mut a, mut b) = (
        grid[best_i.saturating_sub(1)].0,
        grid[(best_i + 1).min(STEPS)].0,
    );
    let r = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - r * (b - a), a + r * (b - a));
    let (mut fc, mut fd) = (finite(ll(c)), finite(ll(d)));
    for _ in 0..80 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = finite(ll(c));
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = finite(ll(d));
        }
        // A shortcut only: the bracket shrinks by 0.618 a step, so 80 steps reach 1e-9 anyway
        // (so `<=` or `==` for `<` changes nothing).
        if b - a < 1e-9 {
            break;
        }
    }
    let at = (a + b) / 2.0;
    let top = finite(ll(at)).max(best);
    let cut = top - HALF_CHI2_95;
    let bisect = |inside: f64, outside: f64| {
        let (mut i, mut o) = (inside, outside);
        for _ in 0..60 {
            let m = (i + o) / 2.0;
            if finite(ll(m)) >= cut {
                i = m;
            } else {
                o = m;
            }
        }
        (i + o) / 2.0
    };
    let open_low = finite(ll(lo)) >= cut;
    let open_high = finite(ll(hi)) >= cut;
    Some(Estimate {
        at,
        low: if open_low { lo } else { bisect(at, lo) },
        high: if open_high { hi } else { bisect(at, hi) },
        open_low,
        open_high,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_fit_has_g_zero_and_p_one() {
        let (t, pooled) = g_test(&[50, 30, 20], &[50.0, 30.0, 20.0]);
        assert_eq!(t.g, 0.0);
        assert_eq!(t.dof, 2);
        assert!((t.p_value.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(pooled, [false; 3]);
        let (empty, _) = g_test(&[], &[]);
        assert!(
            empty.g == 0.0 && empty.g.is_sign_positive(),
            "0, not -0: {}",
            empty.g
        );
    }

    /// An empty cell adds nothing (not 0 ln 0 = NaN); an observed cell expected never makes G
    /// infinite.
    #[test]
    fn empty_and_impossible_cells() {
        let (t, _) = g_test(&[0, 50, 50], &[10.0, 45.0, 45.0]);
        let g = 2.0 * (2.0 * 50.0 * (50.0f64 / 45.0).ln());
        assert!((t.g - g).abs() < 1e-12, "{}", t.g);
        assert_eq!(term(3.0, 0.0), f64::INFINITY);
    }

    #[test]
    fn the_g_statistic_is_twice_the_sum_of_o_ln_o_over_e() {
        let (t, _) = g_test(&[60, 40], &[50.0, 50.0]);
        let g = 2.0 * (60.0 * (1.2f64).ln() + 40.0 * (0.8f64).ln());
        assert!((t.g - g).abs() < 1e-12);
        // Chi-square with one degree of freedom: P(X >= 4.027) = 0.0448 (tables).
        assert!((t.p_value.unwrap() - 0.04477).abs() < 1e-4, "{t:?}");
    }

    #[test]
    fn small_expected_rows_are_pooled_into_one() {
        let (t, pooled) = g_test(&[90, 3, 2, 5], &[90.0, 2.0, 3.0, 5.0]);
        assert_eq!(pooled, [false, true, true, false]);
        assert_eq!(t.dof, 2, "three rows left: 90, 5 and the pooled 2 + 3");
        assert_eq!(t.g, 0.0, "the pooled row observes 5 and expects 5");
        let (t, _) = g_test(&[90, 4, 3, 5], &[90.0, 2.0, 3.0, 5.0]);
        let want = 2.0 * 7.0 * (7.0f64 / 5.0).ln();
        assert!(
            (t.g - want).abs() < 1e-12,
            "the pooled row observes 4 + 3: {}",
            t.g
        );
        let (one, _) = g_test(&[10], &[10.0]);
        assert_eq!(
            (one.dof, one.p_value),
            (0, None),
            "one row: nothing to test"
        );
    }

    /// A top between grid points, a likelihood that is -inf outside the range, and one that
    /// varies by only 0.0036 over it: the estimate is found and the latter is not called flat.
    #[test]
    fn the_search_stays_in_its_range_and_finds_a_top_between_grid_points() {
        let inside = |x: f64| {
            if (-5.0..=10.0).contains(&x) {
                -(x - 1.6) * (x - 1.6) / 0.08
            } else {
                f64::NEG_INFINITY
            }
        };
        let e = maximise(inside, -5.0, 10.0).unwrap();
        assert!((e.at - 1.6).abs() < 1e-6, "{e:?}");
        let shallow = maximise(|x| -0.01 * (x - 1.6) * (x - 1.6), 1.0, 2.0).unwrap();
        assert!((shallow.at - 1.6).abs() < 1e-6, "{shallow:?}");
        assert!(shallow.open_low && shallow.open_high, "{shallow:?}");
    }

    #[test]
    fn the_estimate_of_a_parabola_is_its_top_with_the_chi_square_interval() {
        // ll = -(x - 1.5)^2 / (2 * 0.04): normal with sd 0.2, so the interval is 1.5 +- 1.96 * 0.2.
        let e = maximise(|x| -(x - 1.5) * (x - 1.5) / 0.08, -5.0, 10.0).unwrap();
        assert!((e.at - 1.5).abs() < 1e-6, "{e:?}");
        let half = 3.841_458_820_694_124f64.sqrt() * 0.2;
        assert!((e.low - (1.5 - half)).abs() < 1e-6 && (e.high - (1.5 + half)).abs() < 1e-6);
        assert!(!e.open_low && !e.open_high);
        assert!(
            maximise(|_| -3.0, 0.0, 1.0).is_none(),
            "a flat likelihood says nothing"
        );
    }

    /// Tops below 0 and near 0, whose golden-section bracket lies below 0 or straddles it,
    /// are found as closely as tops above 0.
    #[test]
    fn tops_below_and_around_zero_are_found() {
        for top in [-1.5, 0.1, -0.1] {
            let e = maximise(|x| -(x - top) * (x - top) / 0.08, -5.0, 10.0).unwrap();
            assert!((e.at - top).abs() < 1e-6, "{top}: {e:?}");
        }
    }

    /// The grid spans the range in 60 steps, so a narrow top on a grid point beats a broad
    /// lower hill the golden-section search alone would climb.
    #[test]
    fn the_grid_finds_the_higher_of_two_tops() {
        let two_hills = |x: f64| {
            let broad = -10.0 * (x - 0.2) * (x - 0.2);
            let narrow = 5.0 - 10_000.0 * (x - 0.8) * (x - 0.8);
            broad.max(narrow)
        };
        let e = maximise(two_hills, 0.0, 1.0).unwrap();
        assert!((e.at - 0.8).abs() < 1e-6, "{e:?}");
    }

    /// Flat means a rise under 1e-9 of the top (or of 1, for a top under 1 in size): a rise of
    /// exactly that is not flat, and 1e-8 on a top of 1000 is.
    #[test]
    fn flatness_is_relative_to_the_top_and_excludes_its_bound() {
        let step = |x: f64| if x < 0.5 { -1e-9 } else { 0.0 };
        assert!(maximise(step, 0.0, 1.0).is_some());
        let high = |x: f64| if x < 0.5 { 1000.0 - 1e-8 } else { 1000.0 };
        assert!(maximise(high, 0.0, 1.0).is_none());
    }
}
