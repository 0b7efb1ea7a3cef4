//! Every random primitive the engine draws with, in one place.
//!
//! Two primitives, both reading one `u64` per call from the caller's generator. They are not
//! rand's own distributions (`random::<f64>()`, `random_range`) on purpose: rand documents its
//! distributions as portable only within a major version, while a plan must stay what a seed
//! gave it across upgrades (SPEC section 5: the same seed gives the same plan), and these take
//! one multiply each on the hot path of a draw.

use rand::Rng;

/// A uniform float in `[0, 1)` from the top 53 bits of one draw.
#[inline]
pub(crate) fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform index in `0..n` (Lemire's multiply-shift without the rejection step: the bias is
/// below `n / 2^64`, far under anything a simulation can see).
#[inline]
pub(crate) fn index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    #[test]
    fn unit_stays_in_the_half_open_interval() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for _ in 0..10_000 {
            let u = unit(&mut rng);
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }

    /// Each of `n` indices is drawn with share 1/n: over 60,000 draws a share's standard
    /// deviation is sqrt(p (1 - p) / 60,000); each is checked within 5 of them.
    #[test]
    fn index_is_uniform_over_its_range() {
        let draws = 60_000;
        for n in [1usize, 2, 3, 5] {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(n as u64);
            let mut counts = vec![0usize; n];
            for _ in 0..draws {
                counts[index(&mut rng, n)] += 1;
            }
            let p = 1.0 / n as f64;
            let tolerance = 5.0 * (p * (1.0 - p) / draws as f64).sqrt();
            for (i, &c) in counts.iter().enumerate() {
                let share = c as f64 / draws as f64;
                assert!((share - p).abs() <= tolerance, "n {n}, index {i}: {share}");
            }
        }
    }
}
