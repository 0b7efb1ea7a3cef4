//! A request compiled against a catalog once: filters applied, segments, weights and exact
//! first-attempt probabilities computed. Plans are then drawn from it with a caller-supplied
//! RNG into a caller-owned buffer, without allocating (SPEC section 5a).

use crate::catalog::{Catalog, Model, Pricing};
use crate::error::{AvailabilityCode, Error, Unroutable};
use crate::filter;
use crate::order::{self, Bands, BaseOrder, Candidate, Segment};
use crate::plan::{Attempt, Exclusion, Plan, Reason, Strategy};
use crate::request::{Partition, Request, SortBy};
use crate::slug;
use rand::Rng;

/// Settings that are not part of the request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Options {
    /// Uptime thresholds for the stable, degraded and down bands.
    pub bands: Bands,
}

/// An eligible endpoint as the router sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Model id.
    pub model: String,
    /// Endpoint slug.
    pub endpoint: String,
    /// Provider slug.
    pub provider: String,
    /// The price used for ordering and weighting (see [`Attempt::price`]).
    pub price: f64,
    /// The endpoint's prices, for cost estimates.
    pub pricing: Pricing,
    /// Uptime in `0..=1`.
    pub uptime: f64,
    /// p50 latency in seconds, when known.
    pub latency: Option<f64>,
    /// Exact probability that this endpoint is the first attempt.
    pub first_probability: f64,
    /// Inverse-square weight within its segment, relative to the segment's cheapest endpoint.
    weight: f64,
}

/// A caller-owned buffer that plans are drawn into; reuse it to draw without allocating.
#[derive(Debug, Clone, Default)]
pub struct PlanBuf {
    attempts: Vec<u32>,
    scratch: Vec<(f64, u32)>,
}

impl PlanBuf {
    /// The drawn plan as target ids, first attempt first (see [`Router::target`]).
    pub fn attempts(&self) -> &[u32] {
        &self.attempts
    }
}

/// One model's part of the plan (or every model's, under `partition: "none"`).
#[derive(Debug, Clone)]
enum Group {
    /// The segments in turn.
    Segments(Vec<Segment>),
    /// `allow_fallbacks: false` without `order`: only the first attempt of the segments.
    FirstOnly(FirstPick),
}

#[derive(Debug, Clone)]
enum Row {
    Excluded {
        model: String,
        endpoint: String,
        reason: Reason,
    },
    Eligible(u32),
}

/// How to draw the first attempt alone in O(log n).
#[derive(Debug, Clone)]
enum FirstPick {
    Fixed(u32),
    Uniform(Vec<u32>),
    Cumulative { ids: Vec<u32>, cdf: Vec<f64> },
}

impl FirstPick {
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match self {
            FirstPick::Fixed(id) => *id,
            FirstPick::Uniform(ids) => ids[order::index(rng, ids.len())],
            FirstPick::Cumulative { ids, cdf } => {
                let total = cdf[cdf.len() - 1];
                let r = order::unit(rng) * total;
                let i = cdf.partition_point(|&c| c <= r).min(ids.len() - 1);
                ids[i]
            }
        }
    }
}

/// A request compiled against a catalog.
///
/// ```
/// use rand::SeedableRng;
/// let catalog = routesim::Catalog::parse(
///     "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 0.5, completion: 0.5 } }\n      - { provider: c, pricing: { prompt: 1.5, completion: 1.5 } }\n").unwrap();
/// let request = routesim::Request::parse(r#"{"model": "m"}"#).unwrap();
/// let router = routesim::Router::compile(&catalog, &request, &routesim::Options::default()).unwrap();
/// assert!((router.target(0).first_probability - 0.9).abs() < 1e-12);
/// let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
/// let mut buf = router.buffer();
/// router.draw(&mut rng, &mut buf);
/// assert_eq!(buf.attempts().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Router {
    targets: Vec<Target>,
    groups: Vec<Group>,
    rows: Vec<Row>,
    strategy: Strategy,
    warnings: Vec<String>,
    first: FirstPick,
    longest_segment: usize,
}

impl Router {
    /// Compiles `request` against `catalog`.
    ///
    /// Fails with [`Error::UnknownModel`] when a requested model is not in the catalog, and with
    /// [`Error::Unroutable`] when no endpoint of any requested model is eligible.
    pub fn compile(
        catalog: &Catalog,
        request: &Request,
        options: &Options,
    ) -> Result<Router, Error> {
        let mut warnings = Vec::new();
        let mut models: Vec<&Model> = Vec::new();
        for m in &request.models {
            let Some(model) = catalog.model(&m.id) else {
                return Err(Error::UnknownModel {
                    field: m.field.clone(),
                    id: m.id.clone(),
                    available: catalog.models.iter().map(|m| m.id.clone()).collect(),
                });
            };
            if models.iter().any(|seen| seen.id == model.id) {
                warnings.push(format!(
                    "{}: model {} is already in the request; it is planned once, at its first place",
                    m.field, m.id
                ));
                continue;
            }
            models.push(model);
        }

        let mut cands: Vec<Candidate> = Vec::new();
        let mut targets: Vec<Target> = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut pools: Vec<Vec<u32>> = Vec::new();
        for model in &models {
            filter::slug_warnings(model, request, &mut warnings);
            let verdicts = filter::filter_model(model, request, &mut warnings);
            let mut pool = Vec::new();
            for (ep, verdict) in model.endpoints.iter().zip(verdicts) {
                match verdict {
                    Some(reason) => rows.push(Row::Excluded {
                        model: model.id.clone(),
                        endpoint: ep.tag.clone(),
                        reason,
                    }),
                    None => {
                        let id = targets.len() as u32;
                        let price = price_of(&ep.pricing, request);
                        cands.push(Candidate { ep, price });
                        targets.push(Target {
                            model: model.id.clone(),
                            endpoint: ep.tag.clone(),
                            provider: ep.provider.clone(),
                            price,
                            pricing: ep.pricing,
                            uptime: ep.uptime,
                            latency: ep.latency.and_then(|l| l.p50),
                            first_probability: 0.0,
                            weight: 0.0,
                        });
                        rows.push(Row::Eligible(id));
                        pool.push(id);
                    }
                }
            }
            pools.push(pool);
        }

        let sort = request.sort();
        if sort.is_some_and(|s| s.partition == Partition::None) {
            pools = vec![pools.concat()];
        }
        let base = BaseOrder {
            sort: sort.map(|s| s.by),
            bands: options.bands,
            min_throughput: request.provider.preferred_min_throughput.as_ref(),
            max_latency: request.provider.preferred_max_latency.as_ref(),
        };
        let mut cut = vec![false; targets.len()];
        let mut matched_order = false;
        let compiled: Vec<(Vec<Segment>, bool)> = pools
            .iter()
            .map(|pool| {
                let (segments, first_only, matched) =
                    compile_group(pool, &cands, request, &base, &mut cut);
                matched_order |= matched;
                (segments, first_only)
            })
            .collect();
        for row in rows.iter_mut() {
            if let Row::Eligible(id) = *row {
                if cut[id as usize] {
                    let t = &targets[id as usize];
                    *row = Row::Excluded {
                        model: t.model.clone(),
                        endpoint: t.endpoint.clone(),
                        reason: Reason::FallbacksDisabled { has_order: true },
                    };
                }
            }
        }

        let mut longest_segment = 0;
        for seg in compiled.iter().flat_map(|(segments, _)| segments) {
            if let Segment::Weighted { free, priced } = seg {
                for (&id, w) in priced.iter().zip(order::weights(priced, &cands)) {
                    targets[id as usize].weight = w;
                }
                longest_segment = longest_segment.max(free.len() + priced.len());
            }
        }

        let Some(first_segment) = compiled.iter().find_map(|(segments, _)| segments.first()) else {
            return Err(unroutable(&models, rows));
        };
        set_first_probabilities(first_segment, &mut targets);
        let first = first_pick(first_segment, &targets);
        let groups = compiled
            .into_iter()
            .map(|(segments, first_only)| match segments.first() {
                Some(seg) if first_only => Group::FirstOnly(first_pick(seg, &targets)),
                _ => Group::Segments(segments),
            })
            .collect();

        let strategy = match (matched_order, sort.map(|s| s.by)) {
            (true, _) => Strategy::Order,
            (false, None) => Strategy::LoadBalance,
            (false, Some(SortBy::Price)) => Strategy::SortPrice,
            (false, Some(SortBy::Throughput)) => Strategy::SortThroughput,
            (false, Some(SortBy::Latency)) => Strategy::SortLatency,
            (false, Some(SortBy::Exacto)) => Strategy::SortExacto,
        };
        Ok(Router {
            targets,
            groups,
            rows,
            strategy,
            warnings,
            first,
            longest_segment,
        })
    }

    /// The strategy every plan from this router follows.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Warnings found while compiling.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every eligible endpoint, indexed by target id.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// One eligible endpoint by id (ids come from [`PlanBuf::attempts`] and [`Router::first`]).
    pub fn target(&self, id: u32) -> &Target {
        &self.targets[id as usize]
    }

    /// A buffer with room for any plan of this router, so that [`Router::draw`] never allocates.
    pub fn buffer(&self) -> PlanBuf {
        PlanBuf {
            attempts: Vec::with_capacity(self.targets.len()),
            scratch: Vec::with_capacity(self.longest_segment),
        }
    }

    /// Draws one plan into `buf` (cleared first). Allocates nothing once `buf` has the room
    /// [`Router::buffer`] gives it.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R, buf: &mut PlanBuf) {
        self.draw_until(rng, buf, |_, _| false);
    }

    /// Draws a plan attempt by attempt, asking `stop(rng, id)` after each; the walk ends at the
    /// first `true`, and the rest of the plan is never drawn. `buf` then holds the attempts up
    /// to and including that one, and its id is returned. This is how a simulation walks a plan
    /// until an attempt succeeds: the draws are the same as [`Router::draw`]'s.
    pub fn draw_until<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        buf: &mut PlanBuf,
        mut stop: impl FnMut(&mut R, u32) -> bool,
    ) -> Option<u32> {
        buf.attempts.clear();
        for group in &self.groups {
            let segments = match group {
                Group::FirstOnly(pick) => {
                    let id = pick.draw(rng);
                    buf.attempts.push(id);
                    if stop(rng, id) {
                        return Some(id);
                    }
                    continue;
                }
                Group::Segments(segments) => segments,
            };
            for seg in segments {
                let start = buf.attempts.len();
                let stopped = match seg {
                    Segment::Fixed(ids) => {
                        buf.attempts.extend_from_slice(ids);
                        (0..ids.len()).find(|&i| stop(rng, ids[i]))
                    }
                    Segment::Weighted { free, priced } => {
                        buf.attempts.extend_from_slice(free);
                        match order::shuffle_until(rng, &mut buf.attempts[start..], &mut stop) {
                            Some(i) => Some(i),
                            None => {
                                let s = buf.attempts.len();
                                buf.attempts.extend_from_slice(priced);
                                let targets = &self.targets;
                                order::successive_until(
                                    rng,
                                    &mut buf.attempts[s..],
                                    |id| targets[id as usize].weight,
                                    &mut buf.scratch,
                                    &mut stop,
                                )
                                .map(|i| i + free.len())
                            }
                        }
                    }
                };
                if let Some(i) = stopped {
                    buf.attempts.truncate(start + i + 1);
                    return Some(buf.attempts[start + i]);
                }
            }
        }
        None
    }

    /// The exact probability that every attempt of a plan fails, when attempt `id` fails
    /// independently with probability `fail(id)`. Each model's part of the plan is independent:
    /// one walked in full fails with the product over its endpoints, whatever their order; one
    /// cut to its first attempt (`allow_fallbacks: false` without `order`) with the mean of
    /// `fail` over that draw.
    pub fn all_fail_probability(&self, fail: impl Fn(u32) -> f64) -> f64 {
        let weight = |id: &u32| self.targets[*id as usize].weight;
        let mean = |ids: &[u32], w: &dyn Fn(&u32) -> f64| {
            let total: f64 = ids.iter().map(w).sum();
            ids.iter().map(|id| w(id) / total * fail(*id)).sum::<f64>()
        };
        let group = |g: &Group| match g {
            Group::Segments(segments) => segments
                .iter()
                .flat_map(|s| match s {
                    Segment::Fixed(ids) => ids.iter().chain(&[]),
                    Segment::Weighted { free, priced } => free.iter().chain(priced),
                })
                .map(|&id| fail(id))
                .product(),
            Group::FirstOnly(FirstPick::Fixed(id)) => fail(*id),
            Group::FirstOnly(FirstPick::Uniform(ids)) => mean(ids, &|_| 1.0),
            Group::FirstOnly(FirstPick::Cumulative { ids, .. }) => mean(ids, &weight),
        };
        self.groups.iter().map(group).product()
    }

    /// Draws only the first attempt, in O(log n).
    pub fn first<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        self.first.draw(rng)
    }

    /// Draws one plan as owned data, with every exclusion and warning.
    pub fn plan<R: Rng + ?Sized>(&self, rng: &mut R) -> Plan {
        let mut buf = self.buffer();
        self.draw(rng, &mut buf);
        self.plan_from(&buf)
    }

    /// Turns a drawn buffer into a [`Plan`].
    pub fn plan_from(&self, buf: &PlanBuf) -> Plan {
        let mut drawn = vec![false; self.targets.len()];
        let attempts = buf
            .attempts
            .iter()
            .map(|&id| {
                drawn[id as usize] = true;
                let t = &self.targets[id as usize];
                Attempt {
                    model: t.model.clone(),
                    endpoint: t.endpoint.clone(),
                    provider: t.provider.clone(),
                    price: t.price,
                    first_probability: t.first_probability,
                }
            })
            .collect();
        let excluded = self
            .rows
            .iter()
            .filter_map(|row| match row {
                Row::Excluded {
                    model,
                    endpoint,
                    reason,
                } => Some(Exclusion {
                    model: model.clone(),
                    endpoint: endpoint.clone(),
                    reason: reason.clone(),
                }),
                Row::Eligible(id) if !drawn[*id as usize] => {
                    let t = &self.targets[*id as usize];
                    Some(Exclusion {
                        model: t.model.clone(),
                        endpoint: t.endpoint.clone(),
                        reason: Reason::FallbacksDisabled { has_order: false },
                    })
                }
                Row::Eligible(_) => None,
            })
            .collect();
        Plan {
            strategy: self.strategy,
            attempts,
            excluded,
            warnings: self.warnings.clone(),
        }
    }
}

/// The price that orders and weights endpoints: prompt + completion per million tokens, or the
/// expected request cost in USD (request fee included) with a usage estimate (SPEC section 4).
pub fn price_of(pricing: &Pricing, request: &Request) -> f64 {
    match request.usage {
        None => pricing.prompt + pricing.completion,
        Some(u) => {
            (u.prompt_tokens as f64 * pricing.prompt
                + u.completion_tokens as f64 * pricing.completion)
                / 1e6
                + pricing.request.unwrap_or(0.0)
        }
    }
}

/// Orders one pool: `order` entries first (SPEC section 4), then the rest in base ordering, or
/// nothing more when fallbacks are off. Returns the segments, whether only the first attempt is
/// kept (`allow_fallbacks: false` without `order`) and whether `order` matched anything; marks
/// the ids that `allow_fallbacks: false` cuts after `order`.
fn compile_group(
    pool: &[u32],
    cands: &[Candidate],
    request: &Request,
    base: &BaseOrder,
    cut: &mut [bool],
) -> (Vec<Segment>, bool, bool) {
    let prefs = &request.provider;
    let mut segments = Vec::new();
    let Some(order) = &prefs.order else {
        base.base(pool, cands, &mut segments);
        return (segments, !prefs.allow_fallbacks, false);
    };
    let mut placed = vec![false; pool.len()];
    let mut matched_any = false;
    for s in order {
        let matched: Vec<usize> = (0..pool.len())
            .filter(|&i| !placed[i] && slug::matches(s, cands[pool[i] as usize].ep))
            .collect();
        if matched.is_empty() {
            continue;
        }
        matched_any = true;
        for &i in &matched {
            placed[i] = true;
        }
        let (defaults, others): (Vec<u32>, Vec<u32>) = matched
            .iter()
            .map(|&i| pool[i])
            .partition(|&id| cands[id as usize].ep.is_default());
        if !defaults.is_empty() {
            segments.push(Segment::Fixed(defaults));
        }
        base.base(&others, cands, &mut segments);
    }
    let rest: Vec<u32> = (0..pool.len())
        .filter(|&i| !placed[i])
        .map(|i| pool[i])
        .collect();
    if prefs.allow_fallbacks {
        base.base(&rest, cands, &mut segments);
    } else {
        for id in rest {
            cut[id as usize] = true;
        }
    }
    (segments, false, matched_any)
}

/// Sets the exact first-attempt probabilities of the plan's first segment (SPEC section 5).
fn set_first_probabilities(segment: &Segment, targets: &mut [Target]) {
    match segment {
        Segment::Fixed(ids) => targets[ids[0] as usize].first_probability = 1.0,
        Segment::Weighted { free, .. } if !free.is_empty() => {
            let p = 1.0 / free.len() as f64;
            for &id in free {
                targets[id as usize].first_probability = p;
            }
        }
        Segment::Weighted { priced, .. } => {
            let total: f64 = priced.iter().map(|&id| targets[id as usize].weight).sum();
            for &id in priced {
                let t = &mut targets[id as usize];
                t.first_probability = t.weight / total;
            }
        }
    }
}

/// How to draw the first attempt of a segment alone: a cumulative table over the weights.
fn first_pick(segment: &Segment, targets: &[Target]) -> FirstPick {
    match segment {
        Segment::Fixed(ids) => FirstPick::Fixed(ids[0]),
        Segment::Weighted { free, .. } if !free.is_empty() => FirstPick::Uniform(free.clone()),
        Segment::Weighted { priced, .. } => {
            let cdf = priced
                .iter()
                .scan(0.0, |acc, &id| {
                    *acc += targets[id as usize].weight;
                    Some(*acc)
                })
                .collect();
            FirstPick::Cumulative {
                ids: priced.clone(),
                cdf,
            }
        }
    }
}

/// The error for a request nothing can serve, classified by the latest filter stage that
/// excluded an endpoint (SPEC section 5).
fn unroutable(models: &[&Model], rows: Vec<Row>) -> Error {
    let excluded: Vec<Exclusion> = rows
        .into_iter()
        .filter_map(|row| match row {
            Row::Excluded {
                model,
                endpoint,
                reason,
            } => Some(Exclusion {
                model,
                endpoint,
                reason,
            }),
            Row::Eligible(_) => None,
        })
        .collect();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    let latest = excluded.iter().map(|e| &e.reason).max_by_key(|r| r.stage());
    let (code, message) = match latest {
        None => (
            AvailabilityCode::NoEndpoints,
            format!("no endpoints serve {}", ids.join(", ")),
        ),
        Some(reason) => {
            let code = if reason.is_privacy() {
                AvailabilityCode::PrivacyRestricted
            } else {
                AvailabilityCode::ConstraintFiltered
            };
            let mut counts: Vec<(&str, usize)> = Vec::new();
            for e in &excluded {
                match counts.iter_mut().find(|(c, _)| *c == e.reason.code()) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((e.reason.code(), 1)),
                }
            }
            let counts: Vec<String> = counts.iter().map(|(c, n)| format!("{n} {c}")).collect();
            (
                code,
                format!(
                    "no endpoint of {} can serve the request; the last were removed by {} ({} excluded: {})",
                    ids.join(", "),
                    reason.code(),
                    excluded.len(),
                    counts.join(", ")
                ),
            )
        }
    };
    Error::Unroutable(Box::new(Unroutable {
        code,
        message,
        excluded,
        relaxations: Vec::new(),
    }))
}
