//! Base ordering (SPEC section 4): price load balancing over uptime bands, strict sorts, and the
//! preferred_* demotion, expressed as segments that a router draws from.
//!
//! A segment is either a fixed run of endpoints or a weighted one: zero-price endpoints first in
//! uniformly random order, then the priced ones drawn one by one with probability proportional
//! to `1 / price^2` among those left (successive sampling). Never filters.

use crate::catalog::{Endpoint, Percentiles, Tier};
use crate::request::SortBy;
use rand::Rng;
use std::cmp::Ordering;

/// Uptime thresholds that split endpoints into bands (OpenRouter's published provider
/// thresholds by default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    /// At or above this uptime an endpoint is stable (default 0.95).
    pub stable: f64,
    /// Below this uptime an endpoint is down, only a last resort (default 0.80); between the
    /// two it is degraded.
    pub down: f64,
}

impl Default for Bands {
    fn default() -> Bands {
        Bands {
            stable: 0.95,
            down: 0.80,
        }
    }
}

/// The band of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Band {
    /// uptime >= stable threshold.
    Stable,
    /// down threshold <= uptime < stable threshold: lower priority.
    Degraded,
    /// uptime < down threshold: only used as a fallback.
    Down,
}

impl Bands {
    /// The band of an uptime.
    pub fn of(&self, uptime: f64) -> Band {
        if uptime >= self.stable {
            Band::Stable
        } else if uptime >= self.down {
            Band::Degraded
        } else {
            Band::Down
        }
    }
}

/// What ordering needs to know of a candidate endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate<'a> {
    pub ep: &'a Endpoint,
    pub price: f64,
}

/// A run of the plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// Exactly this order.
    Fixed(Vec<u32>),
    /// `free` in uniformly random order, then `priced` by successive inverse-square draws.
    /// `priced` is kept cheapest first, so weights that underflow to zero fall back to price
    /// order; `weights` weighs them in the same order.
    Weighted {
        free: Vec<u32>,
        priced: Vec<u32>,
        weights: Weights,
    },
}

impl Segment {
    /// The segment's ids in their likeliest order: a fixed run as it is, a weighted one with its
    /// zero-price ids first, then the priced ones cheapest first.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        let (head, tail): (&[u32], &[u32]) = match self {
            Segment::Fixed(ids) => (ids, &[]),
            Segment::Weighted { free, priced, .. } => (free, priced),
        };
        head.iter().chain(tail).copied()
    }

    /// Whether the segment has no id left.
    pub(crate) fn is_empty(&self) -> bool {
        self.ids().next().is_none()
    }
}

/// How the base ordering is built for a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BaseOrder<'r> {
    pub sort: Option<SortBy>,
    pub bands: Bands,
    /// Endpoints of this tier go before all others (`service_tier: priority`).
    pub lead_tier: Option<Tier>,
    pub min_throughput: Option<&'r Percentiles>,
    pub max_latency: Option<&'r Percentiles>,
}

impl BaseOrder<'_> {
    /// Appends the base ordering of `ids` (in pool order) to `out`: the leading tier first, then
    /// within each part preferred endpoints first, each part by sort or load balancing.
    pub fn base(&self, ids: &[u32], cands: &[Candidate], out: &mut Vec<Segment>) {
        if let Some(tier) = self.lead_tier {
            let (lead, rest): (Vec<u32>, Vec<u32>) = ids
                .iter()
                .partition(|&&id| cands[id as usize].ep.tier == Some(tier));
            self.preferred(&lead, cands, out);
            self.preferred(&rest, cands, out);
        } else {
            self.preferred(ids, cands, out);
        }
    }

    fn preferred(&self, ids: &[u32], cands: &[Candidate], out: &mut Vec<Segment>) {
        if self.min_throughput.is_none() && self.max_latency.is_none() {
            return self.unpreferred(ids, cands, out);
        }
        let (meets, misses): (Vec<u32>, Vec<u32>) = ids
            .iter()
            .partition(|&&id| self.meets(cands[id as usize].ep));
        self.unpreferred(&meets, cands, out);
        self.unpreferred(&misses, cands, out);
    }

    /// Whether an endpoint meets every given percentile of both preferences.
    pub fn meets(&self, ep: &Endpoint) -> bool {
        let throughput_ok = self.min_throughput.is_none_or(|want| {
            want.given().all(|(name, min)| {
                ep.throughput
                    .and_then(|t| t.get(name))
                    .is_some_and(|v| v >= min)
            })
        });
        let latency_ok = self.max_latency.is_none_or(|want| {
            want.given().all(|(name, max)| {
                ep.latency
                    .and_then(|t| t.get(name))
                    .is_some_and(|v| v <= max)
            })
        });
        throughput_ok && latency_ok
    }

    fn unpreferred(&self, ids: &[u32], cands: &[Candidate], out: &mut Vec<Segment>) {
        if ids.is_empty() {
            return;
        }
        if let Some(by) = self.sort {
            let mut sorted = ids.to_vec();
            sorted.sort_by(|&a, &b| sort_cmp(by, &cands[a as usize], &cands[b as usize]));
            out.push(Segment::Fixed(sorted));
            return;
        }
        let band_of = |id: &u32| self.bands.of(cands[*id as usize].ep.uptime);
        for band in [Band::Stable, Band::Degraded] {
            let members: Vec<u32> = ids
                .iter()
                .copied()
                .filter(|id| band_of(id) == band)
                .collect();
            if members.is_empty() {
                continue;
            }
            let (free, mut priced): (Vec<u32>, Vec<u32>) = members
                .iter()
                .partition(|&&id| cands[id as usize].price == 0.0);
            priced.sort_by(|&a, &b| price_cmp(&cands[a as usize], &cands[b as usize]));
            let weights = Weights::new(weights(&priced, cands));
            out.push(Segment::Weighted {
                free,
                priced,
                weights,
            });
        }
        let mut down: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|id| band_of(id) == Band::Down)
            .collect();
        if !down.is_empty() {
            down.sort_by(|&a, &b| price_cmp(&cands[a as usize], &cands[b as usize]));
            out.push(Segment::Fixed(down));
        }
    }
}

/// Cheapest first, ties by slug.
fn price_cmp(a: &Candidate, b: &Candidate) -> Ordering {
    a.price
        .total_cmp(&b.price)
        .then_with(|| a.ep.tag.cmp(&b.ep.tag))
}

/// Strict sort order: by the key (missing metrics last), then price, then slug.
fn sort_cmp(by: SortBy, a: &Candidate, b: &Candidate) -> Ordering {
    let p50 = |m: Option<Percentiles>| m.and_then(|m| m.p50);
    let key = match by {
        SortBy::Price => Ordering::Equal,
        SortBy::Throughput => missing_last(p50(a.ep.throughput), p50(b.ep.throughput), true),
        SortBy::Latency => missing_last(p50(a.ep.latency), p50(b.ep.latency), false),
        SortBy::Exacto => missing_last(a.ep.quality, b.ep.quality, true),
    };
    key.then_with(|| price_cmp(a, b))
}

fn missing_last(a: Option<f64>, b: Option<f64>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if descending => b.total_cmp(&a),
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The weights of a weighted segment's priced ids, laid out for drawing: zero-padded up to the
/// stack block a draw copies whole, with the count of positive ones and their sum ready.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Weights {
    padded: Vec<f64>,
    len: usize,
    /// Positive weights come first; zeros (underflow, from the dearest prices) after them.
    positive: usize,
    total: f64,
}

impl Weights {
    pub(crate) fn new(mut values: Vec<f64>) -> Weights {
        let len = values.len();
        let positive = values.iter().filter(|&&w| w > 0.0).count();
        let total = values.iter().sum();
        values.resize(block(len).unwrap_or(len), 0.0);
        Weights {
            padded: values,
            len,
            positive,
            total,
        }
    }

    /// One weight per priced id.
    pub(crate) fn as_slice(&self) -> &[f64] {
        &self.padded[..self.len]
    }
}

/// The stack block a run of `n` weights is drawn in, if it is short enough for linear scans: the
/// smallest of 8, 16, 32 and 64 with room past the last weight for the scan's sentinel.
fn block(n: usize) -> Option<usize> {
    match n {
        0..8 => Some(8),
        8..16 => Some(16),
        16..32 => Some(32),
        32..=LINEAR_DRAW_MAX => Some(64),
        _ => None,
    }
}

/// Inverse-square weights, scaled so that ratios stay exact and nothing overflows: relative to
/// the most expensive endpoint, `(max_price / price)^2` (so $1 and $3 weigh 9 and 1, and the
/// documented example gives exactly 0.9), or, when prices span more than 150 orders of
/// magnitude, relative to the cheapest, `(min_price / price)^2` in `(0, 1]`.
pub(crate) fn weights(priced: &[u32], cands: &[Candidate]) -> Vec<f64> {
    let prices = || priced.iter().map(|&id| cands[id as usize].price);
    let min = prices().fold(f64::INFINITY, f64::min);
    let max = prices().fold(0.0, f64::max);
    let scale = if max / min <= 1e150 { max } else { min };
    prices()
        .map(|p| {
            let r = scale / p;
            r * r
        })
        .collect()
}

/// A uniform float in `[0, 1)` from the top 53 bits of one draw.
#[inline]
pub(crate) fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform index in `0..n` (Lemire's multiply; bias below n / 2^64).
#[inline]
pub(crate) fn index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// Segments at most this long are drawn by linear scans over stack arrays (quadratic at worst,
/// short in practice); longer ones by exponential keys and a sort. Measured against the keys:
/// at 63 ids the scans take 25% less time with spread prices and tie with equal prices (their
/// worst case); at 40 ids they take 10% more with spread prices and 15% less with equal ones.
const LINEAR_DRAW_MAX: usize = 63;

/// Below this share of the total at the last summation, the running total has lost too many
/// bits to cancellation and is summed afresh from the weights left. The running total of `n`
/// weights is off by at most about `2n` roundings of the last sum, so every draw's odds stay
/// within about `n * 2^-36` of exact (2^-30 for the longest linear run): far below anything a
/// simulation can see, and re-summing more often costs the 16-endpoint plan about 3%.
const RESUM_BELOW: f64 = 1.0 / 65536.0;

/// 2^-900 (exponent field 1023 - 900): weights left below this sum are scaled up by 2^900 at a
/// re-sum (see there).
const TINY: f64 = f64::from_bits((1023 - 900) << 52);

/// Shuffles `ids` uniformly (forward Fisher-Yates), one position at a time; after each,
/// `stop(rng, id)` may end the walk. Returns the position that stopped it.
pub(crate) fn shuffle_until<R: Rng + ?Sized>(
    rng: &mut R,
    ids: &mut [u32],
    stop: &mut impl FnMut(&mut R, u32) -> bool,
) -> Option<usize> {
    let n = ids.len();
    for i in 0..n {
        let j = i + index(rng, n - i);
        ids.swap(i, j);
        if stop(rng, ids[i]) {
            return Some(i);
        }
    }
    None
}

/// Reorders `ids` by successive weighted sampling without replacement: each position is drawn
/// from the ids left with probability proportional to their weight (`weights[i]` for `ids[i]`
/// as they arrive); after each, `stop(rng, id)` may end the walk, leaving the rest undrawn.
/// Returns the position that stopped it. `ids` arrive cheapest first (heaviest first, so most
/// scans stop at once), and zero weights (underflow) therefore last: they keep that order.
pub(crate) fn successive_until<R: Rng + ?Sized>(
    rng: &mut R,
    ids: &mut [u32],
    weights: &Weights,
    scratch: &mut Vec<(f64, u32)>,
    stop: &mut impl FnMut(&mut R, u32) -> bool,
) -> Option<usize> {
    let n = ids.len();
    debug_assert_eq!(n, weights.len);
    debug_assert!(
        weights.as_slice()[weights.positive..]
            .iter()
            .all(|&w| w == 0.0),
        "zero weights come last"
    );
    match block(n) {
        Some(8) => return linear_until::<R, 8>(rng, ids, weights, stop),
        Some(16) => return linear_until::<R, 16>(rng, ids, weights, stop),
        Some(32) => return linear_until::<R, 32>(rng, ids, weights, stop),
        Some(_) => return linear_until::<R, 64>(rng, ids, weights, stop),
        None => {}
    }
    // Efraimidis-Spirakis: ascending keys Exp(1) / weight have the successive-sampling law.
    scratch.clear();
    for (pos, &w) in weights.as_slice().iter().enumerate() {
        let key = if w > 0.0 {
            -(1.0 - unit(rng)).ln() / w
        } else {
            f64::INFINITY
        };
        scratch.push((key, pos as u32));
    }
    scratch.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    // Write back in key order: swap positions for ids, then copy.
    for entry in scratch.iter_mut() {
        entry.1 = ids[entry.1 as usize];
    }
    for (slot, &(_, id)) in ids.iter_mut().zip(scratch.iter()) {
        *slot = id;
    }
    ids.iter().position(|&id| stop(rng, id))
}

/// [`successive_until`] for `n < N` ids, `N` their block: the padded weights are copied onto
/// the stack whole; each draw scans the weights left with a running subtraction (heaviest
/// first as they arrive, so most scans stop within a step or two) and swaps the pick into
/// place. Indices into the copy are masked with `N - 1`, which never changes one below `n`
/// and spares every access a bounds check.
fn linear_until<R: Rng + ?Sized, const N: usize>(
    rng: &mut R,
    ids: &mut [u32],
    weights: &Weights,
    stop: &mut impl FnMut(&mut R, u32) -> bool,
) -> Option<usize> {
    let n = ids.len();
    debug_assert!(n < N, "the sentinel needs a slot past the weights");
    let mut w = [0.0f64; N];
    w.copy_from_slice(&weights.padded[..N]);
    let (positive, mut total) = (weights.positive, weights.total);
    let at = |j: usize| j & (N - 1);
    // The sentinel ends every scan, so the scan needs no bounds test of its own.
    w[at(positive)] = f64::INFINITY;
    let last = positive.saturating_sub(1);
    let mut floor = total * RESUM_BELOW;
    // Zero weights (underflow) are never drawn: they stay last, in price order.
    for i in 0..last {
        let mut r = unit(rng) * total;
        let mut pick = i;
        while r >= w[at(pick)] {
            r -= w[at(pick)];
            pick += 1;
        }
        // Rounding can leave r past the last positive weight: take that one.
        let pick = pick.min(last);
        ids.swap(i, pick);
        // Position i is never scanned again: only the weight left behind moves.
        total -= w[at(pick)];
        w[at(pick)] = w[at(i)];
        // Removing heavy weights can cancel the light ones' bits: sum them afresh.
        if total < floor {
            let left = &mut w[at(i + 1)..positive];
            total = left.iter().sum();
            if total < TINY {
                // Subnormal weights would lose bits in `u * total`: scale them up by a power of
                // two, which is exact, so their odds keep every bit.
                left.iter_mut().for_each(|x| *x *= 1.0 / TINY);
                total = left.iter().sum();
            }
            floor = total * RESUM_BELOW;
        }
        if stop(rng, ids[i]) {
            return Some(i);
        }
    }
    ids[last..]
        .iter()
        .position(|&id| stop(rng, id))
        .map(|i| last + i)
}

/// [`successive_until`] with the weights of `ids` as they arrive read from `weight`.
#[cfg(test)]
fn draw_by<R: Rng + ?Sized>(
    rng: &mut R,
    ids: &mut [u32],
    weight: impl Fn(u32) -> f64,
    scratch: &mut Vec<(f64, u32)>,
    stop: &mut impl FnMut(&mut R, u32) -> bool,
) -> Option<usize> {
    let weights = Weights::new(ids.iter().map(|&id| weight(id)).collect());
    successive_until(rng, ids, &weights, scratch, stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    #[test]
    fn bands_follow_the_published_thresholds() {
        let b = Bands::default();
        assert_eq!(b.of(1.0), Band::Stable);
        assert_eq!(b.of(0.95), Band::Stable);
        assert_eq!(b.of(0.9499), Band::Degraded);
        assert_eq!(b.of(0.80), Band::Degraded);
        assert_eq!(b.of(0.7999), Band::Down);
    }

    fn catalog(endpoints: &str) -> Catalog {
        Catalog::parse(&format!("models:\n  - id: m\n    endpoints:\n{endpoints}")).unwrap()
    }

    fn ordered(c: &Catalog, base: BaseOrder) -> Vec<Segment> {
        let cands: Vec<Candidate> = c.models[0]
            .endpoints
            .iter()
            .map(|ep| Candidate {
                ep,
                price: ep.pricing.prompt + ep.pricing.completion,
            })
            .collect();
        let ids: Vec<u32> = (0..cands.len() as u32).collect();
        let mut out = Vec::new();
        base.base(&ids, &cands, &mut out);
        out
    }

    const LB: BaseOrder = BaseOrder {
        sort: None,
        bands: Bands {
            stable: 0.95,
            down: 0.80,
        },
        lead_tier: None,
        min_throughput: None,
        max_latency: None,
    };

    #[test]
    fn load_balancing_splits_bands_and_puts_free_endpoints_first() {
        let c = catalog(
            "      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n\
             \x20     - { provider: b, pricing: { prompt: 0, completion: 0 } }\n\
             \x20     - { provider: c, pricing: { prompt: 1, completion: 1 }, uptime: 0.9 }\n\
             \x20     - { provider: d, pricing: { prompt: 3, completion: 1 }, uptime: 0.1 }\n\
             \x20     - { provider: e, pricing: { prompt: 1, completion: 1 }, uptime: 0.1 }\n",
        );
        assert_eq!(
            ordered(&c, LB),
            vec![
                Segment::Weighted {
                    free: vec![1],
                    priced: vec![0],
                    weights: Weights::new(vec![1.0]),
                },
                Segment::Weighted {
                    free: vec![],
                    priced: vec![2],
                    weights: Weights::new(vec![1.0]),
                },
                Segment::Fixed(vec![4, 3]),
            ],
            "stable (free first), degraded, then down cheapest first"
        );
    }

    #[test]
    fn sorts_put_missing_metrics_last_and_break_ties_by_price_then_slug() {
        let c = catalog(
            "      - { provider: a, pricing: { prompt: 2, completion: 0 }, throughput: 10 }\n\
             \x20     - { provider: b, pricing: { prompt: 1, completion: 0 } }\n\
             \x20     - { provider: c, pricing: { prompt: 1, completion: 0 }, throughput: 10 }\n\
             \x20     - { provider: d, pricing: { prompt: 1, completion: 0 }, throughput: 30, uptime: 0 }\n",
        );
        let by = |sort| {
            ordered(
                &c,
                BaseOrder {
                    sort: Some(sort),
                    ..LB
                },
            )
        };
        assert_eq!(
            by(SortBy::Throughput),
            vec![Segment::Fixed(vec![3, 2, 0, 1])]
        );
        assert_eq!(by(SortBy::Price), vec![Segment::Fixed(vec![1, 2, 3, 0])]);
        assert_eq!(
            by(SortBy::Latency),
            vec![Segment::Fixed(vec![1, 2, 3, 0])],
            "nobody has latency: price order"
        );
    }

    #[test]
    fn preferences_demote_endpoints_that_miss_any_given_percentile() {
        let c = catalog(
            "      - { provider: a, pricing: { prompt: 1, completion: 1 }, throughput: { p50: 60, p90: 20 } }\n\
             \x20     - { provider: b, pricing: { prompt: 1, completion: 1 }, throughput: 80 }\n\
             \x20     - { provider: c, pricing: { prompt: 1, completion: 1 }, throughput: { p50: 60, p90: 40 } }\n",
        );
        let want = Percentiles {
            p50: Some(50.0),
            p90: Some(30.0),
            ..Percentiles::default()
        };
        let segs = ordered(
            &c,
            BaseOrder {
                sort: Some(SortBy::Throughput),
                min_throughput: Some(&want),
                ..LB
            },
        );
        assert_eq!(
            segs,
            vec![Segment::Fixed(vec![2]), Segment::Fixed(vec![1, 0])],
            "b lacks p90 and a misses it: both go after c"
        );
    }

    #[test]
    fn weights_are_inverse_squares_relative_to_the_cheapest() {
        let c = catalog(
            "      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n\
             \x20     - { provider: c, pricing: { prompt: 3, completion: 0 } }\n",
        );
        let cands: Vec<Candidate> = c.models[0]
            .endpoints
            .iter()
            .map(|ep| Candidate {
                ep,
                price: ep.pricing.prompt,
            })
            .collect();
        let w = weights(&[0, 1], &cands);
        assert_eq!(w, [9.0, 1.0], "$1 weighs 9 times $3");
        let tiny = catalog("      - { provider: a, pricing: { prompt: 1e-200, completion: 0 } }\n");
        let cands: Vec<Candidate> = tiny.models[0]
            .endpoints
            .iter()
            .map(|ep| Candidate {
                ep,
                price: ep.pricing.prompt,
            })
            .collect();
        assert_eq!(
            weights(&[0], &cands),
            vec![1.0],
            "no overflow for tiny prices"
        );
    }

    #[test]
    fn successive_sampling_is_a_permutation_for_both_methods() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut scratch = Vec::new();
        for n in [
            1usize,
            2,
            5,
            7,
            8,
            15,
            16,
            LINEAR_DRAW_MAX,
            LINEAR_DRAW_MAX + 1,
            100,
        ] {
            let mut ids: Vec<u32> = (0..n as u32).collect();
            let stopped = draw_by(
                &mut rng,
                &mut ids,
                |id| 1.0 / (1.0 + id as f64),
                &mut scratch,
                &mut |_, _| false,
            );
            assert_eq!(stopped, None);
            let mut sorted = ids.clone();
            sorted.sort();
            assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>(), "n = {n}");
        }
    }

    /// Draws ids 0, 1, 2 with these weights 3,000 times; the share of plans with id 1 second.
    fn share_of_1_second(weights: [f64; 3]) -> f64 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let n = 3000;
        let mut second_is_1 = 0;
        for _ in 0..n {
            let mut ids = vec![0u32, 1, 2];
            let w = |id: u32| weights[id as usize];
            draw_by(&mut rng, &mut ids, w, &mut Vec::new(), &mut |_, _| false);
            second_is_1 += usize::from(ids[1] == 1);
        }
        second_is_1 as f64 / n as f64
    }

    #[test]
    fn light_weights_left_after_a_heavy_one_are_still_drawn_by_weight() {
        // Weights 1, 2e-20 and 1e-20: once id 0 is taken, 1 and 2 must go 2:1, not price order.
        // Exact share 2/3; 5 standard errors of sqrt(2/9 / 3000) = 0.0086 is 0.043.
        let share = share_of_1_second([1.0, 2e-20, 1e-20]);
        assert!((share - 2.0 / 3.0).abs() < 0.043, "{share}");
    }

    #[test]
    fn subnormal_weights_left_after_a_heavy_one_keep_their_odds() {
        // 2^-1073 and 2^-1074 (the smallest subnormals): once id 0 is taken, 1 and 2 go 2:1.
        // Unscaled, u * total has one bit for them and gives 1:1. Tolerance as above.
        let share = share_of_1_second([1.0, f64::from_bits(2), f64::from_bits(1)]);
        assert!((share - 2.0 / 3.0).abs() < 0.043, "{share}");
    }

    #[test]
    fn zero_weights_keep_price_order_at_the_end() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut ids = vec![0u32, 1, 2, 3];
        let w = |id: u32| if id == 0 { 1.0 } else { 0.0 };
        draw_by(&mut rng, &mut ids, w, &mut Vec::new(), &mut |_, _| false);
        assert_eq!(ids, [0, 1, 2, 3]);
    }

    #[test]
    fn walks_stop_where_asked() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut ids = vec![0u32, 1, 2, 3, 4];
        let stopped = shuffle_until(&mut rng, &mut ids, &mut |_, id| id == 3);
        let at = stopped.expect("3 is reached");
        assert_eq!(ids[at], 3);
    }

    /// Both draw methods follow the successive-sampling law: over many draws, the share of
    /// each id in first position matches w / W. With n = 20000 draws, a share's standard error
    /// is at most sqrt(0.25 / n) = 0.0035; 5 standard errors (0.018) bound each of the 8 checks
    /// with a false-alarm chance below 1e-5 in all.
    #[test]
    fn first_positions_follow_the_weights_for_both_methods() {
        let n = 20_000;
        for len in [4usize, LINEAR_DRAW_MAX + 4] {
            let weight = |id: u32| {
                if id < 4 {
                    [1.0, 0.5, 0.25, 0.125][id as usize]
                } else {
                    1e-9
                }
            };
            let total: f64 = (0..len as u32).map(weight).sum();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(len as u64);
            let mut counts = [0usize; 4];
            let mut scratch = Vec::new();
            for _ in 0..n {
                let mut ids: Vec<u32> = (0..len as u32).collect();
                draw_by(&mut rng, &mut ids, weight, &mut scratch, &mut |_, _| false);
                if ids[0] < 4 {
                    counts[ids[0] as usize] += 1;
                }
            }
            for (id, &count) in counts.iter().enumerate() {
                let exact = weight(id as u32) / total;
                let share = count as f64 / n as f64;
                assert!(
                    (share - exact).abs() < 5.0 * (0.25 / n as f64).sqrt(),
                    "len {len}, id {id}: {share} vs {exact}"
                );
            }
        }
    }
}

#[cfg(test)]
mod sampling_law_tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;
    use std::collections::HashMap;

    /// Inverse-square weights of prices 1, 2 and 5, for ids 0, 1 and 2; any other id weighs 0.
    const W: [f64; 3] = [1.0, 0.25, 0.04];
    const DRAWS: usize = 100_000;

    fn weight(id: u32) -> f64 {
        W.get(id as usize).copied().unwrap_or(0.0)
    }

    /// The exact probability that ids 0, 1, 2 come in this order under successive sampling.
    fn exact(order: &[u32]) -> f64 {
        let mut left: f64 = W.iter().sum();
        order
            .iter()
            .map(|&id| {
                let p = weight(id) / left;
                left -= weight(id);
                p
            })
            .product()
    }

    /// Draws `DRAWS` plans of ids `0..n` (n >= 3) and checks the order of the first three
    /// against [`exact`], and that the zero-weight rest keeps its order at the end.
    ///
    /// A frequency over N draws has standard deviation sqrt(p(1 - p) / N) (at most 0.0016 for
    /// N = 100,000); allowing 5 of them per order, the six orders fail together by chance with
    /// probability below 6 * 6e-7. The seed is fixed, so the outcome is too.
    fn follows_the_law(n: u32) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let mut scratch = Vec::with_capacity(n as usize);
        let mut counts: HashMap<Vec<u32>, usize> = HashMap::new();
        for _ in 0..DRAWS {
            let mut ids: Vec<u32> = (0..n).collect();
            let stopped = draw_by(&mut rng, &mut ids, weight, &mut scratch, &mut |_, _| false);
            assert_eq!(stopped, None);
            assert!(
                ids[3..].iter().copied().eq(3..n),
                "zero weights last, in order"
            );
            *counts.entry(ids[..3].to_vec()).or_default() += 1;
        }
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        assert!(counts.keys().all(|k| orders.iter().any(|o| o == &k[..])));
        for order in orders {
            let p = exact(&order);
            let seen = counts.get(&order[..]).copied().unwrap_or(0) as f64 / DRAWS as f64;
            let tolerance = 5.0 * (p * (1.0 - p) / DRAWS as f64).sqrt();
            assert!(
                (seen - p).abs() <= tolerance,
                "n = {n}, order {order:?}: seen {seen}, exact {p}, tolerance {tolerance}"
            );
        }
    }

    #[test]
    fn linear_scans_follow_the_successive_sampling_law() {
        follows_the_law(5);
    }

    #[test]
    fn exponential_keys_follow_the_successive_sampling_law() {
        // Past the linear-scan limit; the 30 zero weights must stay last, in order.
        follows_the_law(LINEAR_DRAW_MAX as u32 + 9);
    }

    /// At the edges of the stack blocks (7 and 8, 15 and 16 ids, and the linear-scan limit),
    /// where the scan's sentinel sits just past the last weight or a block is one size up, the
    /// first two positions follow the law: P(first a, second b) = w_a / W * w_b / (W - w_a).
    /// Weights 1 / (1 + id)^2, all positive. Over 40,000 draws, each of the 6 pair shares is
    /// checked within 5 standard deviations, sqrt(p (1 - p) / 40,000).
    #[test]
    fn the_first_two_positions_follow_the_law_at_block_edges() {
        let draws = 40_000;
        let weight = |id: u32| 1.0 / ((1 + id) as f64).powi(2);
        for n in [7u32, 8, 15, 16, 31, 32, 63, 64] {
            let total: f64 = (0..n).map(weight).sum();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(u64::from(n));
            let mut scratch = Vec::new();
            let mut pairs: HashMap<(u32, u32), usize> = HashMap::new();
            for _ in 0..draws {
                let mut ids: Vec<u32> = (0..n).collect();
                draw_by(&mut rng, &mut ids, weight, &mut scratch, &mut |_, _| false);
                *pairs.entry((ids[0], ids[1])).or_default() += 1;
            }
            for (a, b) in [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (0, n - 1)] {
                let p = weight(a) / total * weight(b) / (total - weight(a));
                let seen = pairs.get(&(a, b)).copied().unwrap_or(0) as f64 / draws as f64;
                let tolerance = 5.0 * (p * (1.0 - p) / draws as f64).sqrt();
                assert!(
                    (seen - p).abs() <= tolerance,
                    "n = {n}, ({a}, {b}): seen {seen}, exact {p}, tolerance {tolerance}"
                );
            }
        }
    }

    #[test]
    fn the_walk_stops_at_the_id_that_stopped_it() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut scratch = Vec::new();
        for n in [5, 40] {
            for _ in 0..100 {
                let mut ids: Vec<u32> = (0..n).collect();
                let at = draw_by(&mut rng, &mut ids, weight, &mut scratch, &mut |_, id| {
                    id == 1
                });
                assert_eq!(at.map(|i| ids[i]), Some(1));
            }
        }
    }
}
