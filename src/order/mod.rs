//! Base ordering (SPEC section 4): uptime bands, the leading tier and the preferred_* demotion,
//! each part by a strict sort ([`sort`]) or by price load balancing ([`weighted`]), expressed as
//! segments that a router draws from. Never filters.
//!
//! A segment is either a fixed run of endpoints or a weighted one: zero-price endpoints first in
//! uniformly random order, then the priced ones drawn one by one with probability proportional
//! to `1 / price^2` among those left (successive sampling).

mod sort;
mod weighted;

use crate::catalog::{Endpoint, Percentiles, Tier};
use crate::money::Money;
use crate::request::SortBy;
pub(crate) use weighted::{Scratch, WeightedRun};

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
    /// The band of an endpoint: that of its uptime, except that a deranked endpoint
    /// ([`DERANKED_STATUS`](crate::DERANKED_STATUS)) is degraded whatever its uptime (SPEC
    /// section 8).
    ///
    /// ```
    /// use routesim::{Band, Bands, Catalog};
    /// let c = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 }, status: -3 }\n      - { provider: b, pricing: { prompt: 1, completion: 1 }, status: -2 }\n").unwrap();
    /// let bands = Bands::default();
    /// assert_eq!(bands.band(&c.models[0].endpoints[0]), Band::Degraded, "deranked at full uptime");
    /// assert_eq!(bands.band(&c.models[0].endpoints[1]), Band::Stable, "other statuses change nothing");
    /// ```
    pub fn band(&self, ep: &Endpoint) -> Band {
        if ep.is_deranked() {
            Band::Degraded
        } else {
            self.of(ep.uptime)
        }
    }

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

/// A target's id within one router: an index into [`Router::targets`](crate::Router::targets),
/// as plans list them ([`PlanBuf::attempts`](crate::PlanBuf::attempts)). Meaningful only for
/// the router that gave it.
///
/// ```
/// use rand::SeedableRng;
/// let catalog = routesim::Catalog::parse(
///     "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n").unwrap();
/// let request = routesim::Request::parse(r#"{"model": "m"}"#).unwrap();
/// let router = routesim::Router::compile(&catalog, &request, &Default::default()).unwrap();
/// let id = router.first(&mut rand::rngs::SmallRng::seed_from_u64(1));
/// assert_eq!(id.index(), 0);
/// assert_eq!(router.target(id).endpoint, "a");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct TargetId(u32);

impl TargetId {
    /// The id of the target at `index` (ids are `u32`: a router holds fewer than 2^32 targets).
    pub(crate) fn new(index: usize) -> TargetId {
        debug_assert!(u32::try_from(index).is_ok(), "fewer than 2^32 targets");
        TargetId(index as u32)
    }

    /// The position of the target in [`Router::targets`](crate::Router::targets).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What ordering needs to know of a candidate endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate<'a> {
    pub ep: &'a Endpoint,
    /// The exact price that sorts (SPEC section 8: ties are exact); the weights of the draw
    /// use its nearest `f64` ([`Candidate::weight_price`]).
    pub price: Money,
}

impl<'a> Candidate<'a> {
    /// A candidate at this exact price.
    pub(crate) fn new(ep: &'a Endpoint, price: Money) -> Candidate<'a> {
        Candidate { ep, price }
    }

    /// The price as the nearest `f64`, for the draw's `1 / price^2` weights: converted only for
    /// endpoints in a weighted run, once each when the run is built.
    pub(crate) fn weight_price(&self) -> f64 {
        self.price.to_f64()
    }
}

/// A run of the plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// Exactly this order.
    Fixed(Vec<TargetId>),
    /// Zero-price ids in uniformly random order, then the priced ones by successive
    /// inverse-square draws.
    Weighted(WeightedRun),
}

impl Segment {
    /// The segment's ids in their likeliest order: a fixed run as it is, a weighted one with its
    /// zero-price ids first, then the priced ones cheapest first.
    pub(crate) fn ids(&self) -> impl Iterator<Item = TargetId> + '_ {
        let (head, tail): (&[TargetId], &[TargetId]) = match self {
            Segment::Fixed(ids) => (ids, &[]),
            Segment::Weighted(run) => run.parts(),
        };
        head.iter().chain(tail).copied()
    }

    /// Whether the segment has no id left.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Segment::Fixed(ids) => ids.is_empty(),
            Segment::Weighted(run) => run.is_empty(),
        }
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
    pub(crate) fn base(&self, ids: &[TargetId], cands: &[Candidate], out: &mut Vec<Segment>) {
        if let Some(tier) = self.lead_tier {
            let (lead, rest): (Vec<TargetId>, Vec<TargetId>) = ids
                .iter()
                .partition(|&&id| cands[id.index()].ep.tier == Some(tier));
            self.preferred(&lead, cands, out);
            self.preferred(&rest, cands, out);
        } else {
            self.preferred(ids, cands, out);
        }
    }

    fn preferred(&self, ids: &[TargetId], cands: &[Candidate], out: &mut Vec<Segment>) {
        if self.min_throughput.is_none() && self.max_latency.is_none() {
            return self.unpreferred(ids, cands, out);
        }
        let (meets, misses): (Vec<TargetId>, Vec<TargetId>) = ids
            .iter()
            .partition(|&&id| self.meets(cands[id.index()].ep));
        self.unpreferred(&meets, cands, out);
        self.unpreferred(&misses, cands, out);
    }

    /// Whether an endpoint meets every given percentile of both preferences.
    pub(crate) fn meets(&self, ep: &Endpoint) -> bool {
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

    fn unpreferred(&self, ids: &[TargetId], cands: &[Candidate], out: &mut Vec<Segment>) {
        if ids.is_empty() {
            return;
        }
        if let Some(by) = self.sort {
            let mut sorted = ids.to_vec();
            sorted.sort_by(|&a, &b| sort::by_key(by, &cands[a.index()], &cands[b.index()]));
            out.push(Segment::Fixed(sorted));
            return;
        }
        // One band test per id and pass: each id falls in one of five buckets (stable free,
        // stable priced, degraded free, degraded priced, down), counted first so that every
        // bucket is allocated once at its size. Under callgrind, compiling a 16-endpoint model
        // takes 13,300 instructions this way against 15,900 filtering the ids once per bucket.
        // The counts only size the allocations: a mutant that miscounts (`+=` to `*=`) changes
        // speed, not the buckets.
        let bucket = |id: TargetId| {
            let c = &cands[id.index()];
            let priced = usize::from(!c.price.is_zero());
            match self.bands.band(c.ep) {
                Band::Stable => priced,
                Band::Degraded => 2 + priced,
                Band::Down => 4,
            }
        };
        let mut counts = [0usize; 5];
        for &id in ids {
            counts[bucket(id)] += 1;
        }
        let mut buckets: [Vec<TargetId>; 5] = counts.map(Vec::with_capacity);
        for &id in ids {
            buckets[bucket(id)].push(id);
        }
        let [
            stable_free,
            stable_priced,
            degraded_free,
            degraded_priced,
            mut down,
        ] = buckets;
        let price = |id: TargetId| cands[id.index()].weight_price();
        for (free, mut priced) in [
            (stable_free, stable_priced),
            (degraded_free, degraded_priced),
        ] {
            if free.is_empty() && priced.is_empty() {
                continue;
            }
            priced.sort_by(|&a, &b| sort::by_price(&cands[a.index()], &cands[b.index()]));
            out.push(Segment::Weighted(WeightedRun::new(free, priced, price)));
        }
        if !down.is_empty() {
            down.sort_by(|&a, &b| sort::by_price(&cands[a.index()], &cands[b.index()]));
            out.push(Segment::Fixed(down));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[usize]) -> Vec<TargetId> {
        v.iter().copied().map(TargetId::new).collect()
    }
    use crate::catalog::Catalog;

    #[test]
    fn deranked_endpoints_are_degraded_under_load_balancing_whatever_their_uptime() {
        // a: stable; b: deranked at full uptime; c: deranked and down; d: status -2 (no effect).
        let c = catalog(
            "      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n\
             \x20     - { provider: b, pricing: { prompt: 1, completion: 0 }, status: -3 }\n\
             \x20     - { provider: c, pricing: { prompt: 1, completion: 1 }, uptime: 0.1, status: -3 }\n\
             \x20     - { provider: d, pricing: { prompt: 3, completion: 1 }, status: -2 }\n",
        );
        let price = |id: TargetId| [2.0, 1.0, 2.0, 4.0][id.index()];
        assert_eq!(
            ordered(&c, LB),
            vec![
                Segment::Weighted(WeightedRun::new(ids(&[]), ids(&[0, 3]), price)),
                Segment::Weighted(WeightedRun::new(ids(&[]), ids(&[1, 2]), price)),
            ],
            "status -3 means degraded, status -2 nothing"
        );
        let sorted = ordered(
            &c,
            BaseOrder {
                sort: Some(SortBy::Price),
                ..LB
            },
        );
        assert_eq!(
            sorted,
            vec![Segment::Fixed(ids(&[1, 0, 2, 3]))],
            "sorts ignore bands, and status with them"
        );
    }

    #[test]
    fn a_segment_is_empty_only_without_ids() {
        let price = |_: TargetId| 1.0;
        assert!(Segment::Fixed(ids(&[])).is_empty());
        assert!(!Segment::Fixed(ids(&[0])).is_empty());
        assert!(Segment::Weighted(WeightedRun::new(ids(&[]), ids(&[]), price)).is_empty());
        assert!(!Segment::Weighted(WeightedRun::new(ids(&[0]), ids(&[]), price)).is_empty());
        assert!(!Segment::Weighted(WeightedRun::new(ids(&[]), ids(&[0]), price)).is_empty());
        let mut run = WeightedRun::new(ids(&[0]), ids(&[1]), price);
        run.remove(TargetId::new(0), price);
        run.remove(TargetId::new(1), price);
        assert!(Segment::Weighted(run).is_empty(), "emptied by removals");
    }

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
            .map(|ep| Candidate::new(ep, ep.pricing.prompt.saturating_add(ep.pricing.completion)))
            .collect();
        let ids: Vec<TargetId> = (0..cands.len()).map(TargetId::new).collect();
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
                Segment::Weighted(WeightedRun::new(ids(&[1]), ids(&[0]), |_| 2.0)),
                Segment::Weighted(WeightedRun::new(ids(&[]), ids(&[2]), |_| 2.0)),
                Segment::Fixed(ids(&[4, 3])),
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
            vec![Segment::Fixed(ids(&[3, 2, 0, 1]))]
        );
        assert_eq!(by(SortBy::Price), vec![Segment::Fixed(ids(&[1, 2, 3, 0]))]);
        assert_eq!(
            by(SortBy::Latency),
            vec![Segment::Fixed(ids(&[1, 2, 3, 0]))],
            "nobody has latency: price order"
        );
        let q = catalog(
            "      - { provider: a, pricing: { prompt: 1, completion: 0 }, quality: 0.5 }\n\
             \x20     - { provider: b, pricing: { prompt: 1, completion: 0 } }\n\
             \x20     - { provider: c, pricing: { prompt: 2, completion: 0 }, quality: 0.9 }\n",
        );
        assert_eq!(
            ordered(
                &q,
                BaseOrder {
                    sort: Some(SortBy::Exacto),
                    ..LB
                }
            ),
            vec![Segment::Fixed(ids(&[2, 0, 1]))],
            "exacto: highest quality first, unknown quality last"
        );
        let l = catalog(
            "      - { provider: a, pricing: { prompt: 1, completion: 0 }, latency: 2.0 }\n\
             \x20     - { provider: b, pricing: { prompt: 2, completion: 0 }, latency: 1.0 }\n",
        );
        assert_eq!(
            ordered(
                &l,
                BaseOrder {
                    sort: Some(SortBy::Latency),
                    ..LB
                }
            ),
            vec![Segment::Fixed(ids(&[1, 0]))],
            "latency: lowest first"
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
            vec![Segment::Fixed(ids(&[2])), Segment::Fixed(ids(&[1, 0]))],
            "b lacks p90 and a misses it: both go after c"
        );
    }

    #[test]
    fn a_latency_ceiling_puts_endpoints_at_or_under_it_first() {
        let c = catalog(
            "      - { provider: a, pricing: { prompt: 1, completion: 1 }, latency: 2.0 }\n\
             \x20     - { provider: b, pricing: { prompt: 1, completion: 1 }, latency: 1.0 }\n\
             \x20     - { provider: c, pricing: { prompt: 1, completion: 1 }, latency: 1.5 }\n\
             \x20     - { provider: d, pricing: { prompt: 1, completion: 1 } }\n",
        );
        let want = Percentiles {
            p50: Some(1.5),
            ..Percentiles::default()
        };
        let segs = ordered(
            &c,
            BaseOrder {
                sort: Some(SortBy::Price),
                max_latency: Some(&want),
                ..LB
            },
        );
        assert_eq!(
            segs,
            vec![Segment::Fixed(ids(&[1, 2])), Segment::Fixed(ids(&[0, 3]))],
            "c at exactly the ceiling meets it; a is over it and d has no latency"
        );
    }

    #[test]
    fn the_leading_tier_goes_before_every_other_endpoint() {
        let c = catalog(
            "      - { provider: a, tier: priority, pricing: { prompt: 1, completion: 1 } }\n\
             \x20     - { provider: b, pricing: { prompt: 0.5, completion: 0 } }\n\
             \x20     - { provider: c, tier: priority, pricing: { prompt: 0.5, completion: 0.5 } }\n",
        );
        let segs = ordered(
            &c,
            BaseOrder {
                sort: Some(SortBy::Price),
                lead_tier: Some(Tier::Priority),
                ..LB
            },
        );
        assert_eq!(
            segs,
            vec![Segment::Fixed(ids(&[2, 0])), Segment::Fixed(ids(&[1]))],
            "the priority endpoints by price, then the cheaper b"
        );
    }
}
