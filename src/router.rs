//! A request compiled against a catalog once: filters applied, segments, weights and exact
//! first-attempt probabilities computed. Plans are then drawn from it with a caller-supplied
//! RNG into a caller-owned buffer, without allocating (SPEC section 5a).

use crate::account::Account;
use crate::catalog::{Catalog, DataCollection, Model, Pricing, Tier};
use crate::error::{AvailabilityCode, Error, Relaxation, Unroutable};
use crate::filter;
use crate::order::{self, Bands, BaseOrder, Candidate, Segment};
use crate::plan::{Attempt, Exclusion, Plan, Reason, Strategy};
use crate::request::{Partition, Request, ServiceTier, Sort, SortBy};
use crate::slug;
use rand::Rng;

/// Settings that are not part of the request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// Uptime thresholds for the stable, degraded and down bands.
    pub bands: Bands,
    /// Account-wide settings (SPEC section 7).
    pub account: Account,
    /// The endpoint a warm prompt cache pins; overrides the account's `sticky`.
    pub sticky: Option<String>,
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
    /// An attempt on the account's own key (BYOK); the same endpoint appears again later as a
    /// shared-capacity attempt.
    pub byok: bool,
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
    /// `weights[i]` weighs `ids[i]`; `cdf` is their running sum.
    Cumulative {
        ids: Vec<u32>,
        weights: Vec<f64>,
        cdf: Vec<f64>,
    },
}

impl FirstPick {
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match self {
            FirstPick::Fixed(id) => *id,
            FirstPick::Uniform(ids) => ids[order::index(rng, ids.len())],
            FirstPick::Cumulative { ids, cdf, .. } => {
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
    /// Fails with [`ErrorKind::UnknownModel`](crate::ErrorKind::UnknownModel) when a requested
    /// model is not in the catalog, and with [`ErrorKind::Unroutable`](crate::ErrorKind::Unroutable)
    /// when no endpoint of any requested model is eligible; that error
    /// carries every exclusion and the single preferences whose removal would let the request
    /// route ([`Unroutable::relaxations`]).
    pub fn compile(
        catalog: &Catalog,
        request: &Request,
        options: &Options,
    ) -> Result<Router, Error> {
        let mut result = Router::compile_once(catalog, request, options);
        if let Some(u) = result.as_mut().err().and_then(Error::unroutable_mut) {
            u.relaxations = relaxations(catalog, request, options);
        }
        result
    }

    fn compile_once(
        catalog: &Catalog,
        request: &Request,
        options: &Options,
    ) -> Result<Router, Error> {
        let mut warnings = Vec::new();
        let mut models: Vec<&Model> = Vec::new();
        for m in &request.models {
            let Some(model) = catalog.model(&m.id) else {
                return Err(Error::unknown_model(
                    &m.field,
                    &m.id,
                    catalog.models.iter().map(|m| m.id.clone()).collect(),
                ));
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
            let verdicts = filter::filter_model(model, request, &options.account, &mut warnings);
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
                            byok: false,
                        });
                        rows.push(Row::Eligible(id));
                        pool.push(id);
                    }
                }
            }
            pools.push(pool);
        }

        let account = &options.account;
        let has_flex = |pool: &[u32], cands: &[Candidate]| {
            pool.iter()
                .any(|&id| cands[id as usize].ep.tier == Some(Tier::Flex))
        };
        let request_sort =
            effective_sort(request, account, pools.iter().any(|p| has_flex(p, &cands)));
        if request_sort.is_some_and(|s| s.partition == Partition::None) {
            pools = vec![pools.concat()];
        }
        let lead_tier = matches!(
            request.service_tier,
            Some(ServiceTier::Priority | ServiceTier::Fast)
        )
        .then_some(Tier::Priority);
        let sticky = match &request.provider.order {
            None => options.sticky.as_deref().or(account.sticky.as_deref()),
            Some(_) => None,
        };
        let mut cut = vec![false; targets.len()];
        let mut matched_order = false;
        let mut compiled: Vec<(Vec<Segment>, bool)> = Vec::new();
        let mut byok_groups: Vec<usize> = Vec::new();
        let mut strategy_sort = None;
        for (i, pool) in pools.iter().enumerate() {
            let sort = effective_sort(request, account, has_flex(pool, &cands));
            if i == 0 {
                strategy_sort = sort;
            }
            let base = BaseOrder {
                sort: sort.map(|s| s.by),
                bands: options.bands,
                lead_tier,
                min_throughput: request.provider.preferred_min_throughput.as_ref(),
                max_latency: request.provider.preferred_max_latency.as_ref(),
            };
            // BYOK: the account's own-key endpoints first, as separate attempts (SPEC section 7).
            let own_key: Vec<u32> = pool
                .iter()
                .copied()
                .filter(|&id| {
                    let ep = cands[id as usize].ep;
                    account.byok.iter().any(|s| slug::matches(s, ep))
                })
                .collect();
            let mut byok = Vec::with_capacity(own_key.len());
            for id in own_key {
                byok.push(targets.len() as u32);
                cands.push(cands[id as usize]);
                let mut t = targets[id as usize].clone();
                t.byok = true;
                targets.push(t);
            }
            if !byok.is_empty() {
                // Own keys are tried whatever `order` and `allow_fallbacks` say: all of them,
                // `order`'s entries first.
                let mut no_cut = vec![false; targets.len()];
                let (segments, _, matched) =
                    compile_group(&byok, &cands, request, &base, true, &mut no_cut);
                matched_order |= matched;
                compiled.push((segments, false));
                byok_groups.push(compiled.len() - 1);
            }
            cut.resize(targets.len(), false);
            let allow_fallbacks = request.provider.allow_fallbacks;
            let (segments, first_only, matched) =
                compile_group(pool, &cands, request, &base, allow_fallbacks, &mut cut);
            matched_order |= matched;
            compiled.push((segments, first_only));
        }
        // Sticky routing: the pinned endpoint moves to the front of the plan (after the first
        // model's own-key attempts, which go before everything), out of whichever model's part
        // it was in; under allow_fallbacks: false it is that part's one attempt.
        if let Some(slug) = sticky {
            let shared = (0..compiled.len()).filter(|g| !byok_groups.contains(g));
            for g in shared.collect::<Vec<_>>() {
                let (segments, first_only) = &mut compiled[g];
                if let Some(id) = take_pinned(segments, slug, &cands) {
                    if *first_only {
                        segments.clear();
                    }
                    let front = usize::from(byok_groups.first() == Some(&0));
                    compiled.insert(front, (vec![Segment::Fixed(vec![id])], false));
                    break;
                }
            }
        }
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
            if let Segment::Weighted { free, priced, .. } = seg {
                longest_segment = longest_segment.max(free.len() + priced.len());
            }
        }

        let Some(first_segment) = compiled.iter().find_map(|(segments, _)| segments.first()) else {
            return Err(unroutable(&models, rows, warnings));
        };
        set_first_probabilities(first_segment, &mut targets);
        let first = first_pick(first_segment);
        let groups = compiled
            .into_iter()
            .map(|(segments, first_only)| match segments.first() {
                Some(seg) if first_only => Group::FirstOnly(first_pick(seg)),
                _ => Group::Segments(segments),
            })
            .collect();

        let strategy = match (matched_order, strategy_sort.map(|s| s.by)) {
            (true, _) => Strategy::Order,
            (false, None) => Strategy::LoadBalance,
            (false, Some(SortBy::Price)) => Strategy::SortPrice,
            (false, Some(SortBy::Throughput)) => Strategy::SortThroughput,
            (false, Some(SortBy::Latency)) => Strategy::SortLatency,
            (false, Some(SortBy::Exacto)) => Strategy::SortExacto,
        };
        Ok(Router {
            groups,
            rows,
            strategy,
            warnings,
            first,
            longest_segment,
            targets,
        })
    }

    /// Every attempt this router can make, in its likeliest order: deterministic runs as they
    /// are, weighted runs cheapest first (zero-price endpoints first).
    pub fn likely_order(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for group in &self.groups {
            match group {
                Group::FirstOnly(FirstPick::Fixed(id)) => out.push(*id),
                Group::FirstOnly(FirstPick::Uniform(ids) | FirstPick::Cumulative { ids, .. }) => {
                    out.extend(ids)
                }
                Group::Segments(segments) => out.extend(segments.iter().flat_map(Segment::ids)),
            }
        }
        out
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
                        ids.iter().position(|&id| stop(rng, id))
                    }
                    Segment::Weighted {
                        free,
                        priced,
                        weights,
                    } => {
                        let shuffled = if free.is_empty() {
                            None
                        } else {
                            buf.attempts.extend_from_slice(free);
                            order::shuffle_until(rng, &mut buf.attempts[start..], &mut stop)
                        };
                        match shuffled {
                            Some(i) => Some(i),
                            None => {
                                let s = buf.attempts.len();
                                buf.attempts.extend_from_slice(priced);
                                order::successive_until(
                                    rng,
                                    &mut buf.attempts[s..],
                                    weights,
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
        // The mean of `fail` over ids drawn with these weights.
        let mean = |ids: &[u32], weights: &[f64]| {
            let total: f64 = weights.iter().sum();
            ids.iter()
                .zip(weights)
                .map(|(&id, w)| w / total * fail(id))
                .sum::<f64>()
        };
        let group = |g: &Group| match g {
            Group::Segments(segments) => {
                segments.iter().flat_map(Segment::ids).map(&fail).product()
            }
            Group::FirstOnly(FirstPick::Fixed(id)) => fail(*id),
            Group::FirstOnly(FirstPick::Uniform(ids)) => mean(ids, &vec![1.0; ids.len()]),
            Group::FirstOnly(FirstPick::Cumulative { ids, weights, .. }) => mean(ids, weights),
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
                    byok: t.byok,
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
    // Finite parts can sum past f64::MAX (1e308 + 1e308); such a price stays the largest finite
    // one, so sorting and weighting treat it as the most expensive rather than as missing.
    let price = match request.usage {
        None => pricing.prompt + pricing.completion,
        Some(u) => u.cost(pricing),
    };
    price.min(f64::MAX)
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
    allow_fallbacks: bool,
    cut: &mut [bool],
) -> (Vec<Segment>, bool, bool) {
    let prefs = &request.provider;
    let mut segments = Vec::new();
    let Some(order) = &prefs.order else {
        base.base(pool, cands, &mut segments);
        return (segments, !allow_fallbacks, false);
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
    if allow_fallbacks {
        base.base(&rest, cands, &mut segments);
    } else {
        for id in rest {
            cut[id as usize] = true;
        }
    }
    (segments, false, matched_any)
}

/// The sort in force for one pool: `provider.sort`, else what `service_tier` implies
/// (`priority`/`fast`: throughput; `flex` on a model with flex endpoints: price), else the
/// model variant, else the account's `default_sort` when the request sets no order.
fn effective_sort(request: &Request, account: &Account, has_flex: bool) -> Option<Sort> {
    let by_tier = match request.service_tier {
        Some(ServiceTier::Priority | ServiceTier::Fast) => Some(SortBy::Throughput),
        Some(ServiceTier::Flex) if has_flex => Some(SortBy::Price),
        _ => None,
    };
    let default_sort = match request.provider.order {
        None => account.default_sort,
        Some(_) => None,
    };
    request
        .provider
        .sort
        .or(by_tier.map(|by| Sort {
            by,
            partition: Partition::Model,
        }))
        .or_else(|| request.sort())
        .or(default_sort)
}

/// Takes the endpoint a sticky slug names out of a group's segments: an endpoint slug names one
/// endpoint, a provider slug its default endpoint (else its first eligible one). `None` when
/// the slug names no endpoint of the group.
fn take_pinned(segments: &mut Vec<Segment>, slug: &str, cands: &[Candidate]) -> Option<u32> {
    let matching: Vec<u32> = segments
        .iter()
        .flat_map(Segment::ids)
        .filter(|&id| slug::matches(slug, cands[id as usize].ep))
        .collect();
    let &pinned = matching
        .iter()
        .find(|&&id| cands[id as usize].ep.is_default())
        .or(matching.first())?;
    for seg in segments.iter_mut() {
        match seg {
            Segment::Fixed(ids) => ids.retain(|&id| id != pinned),
            Segment::Weighted {
                free,
                priced,
                weights,
            } => {
                free.retain(|&id| id != pinned);
                if priced.contains(&pinned) {
                    priced.retain(|&id| id != pinned);
                    *weights = order::Weights::new(order::weights(priced, cands));
                }
            }
        }
    }
    segments.retain(|seg| !seg.is_empty());
    Some(pinned)
}

/// Re-routes with each request preference (and account setting) removed on its own, and
/// reports every removal that would leave endpoints, with those endpoints in their likeliest
/// order (SPEC section 7).
fn relaxations(catalog: &Catalog, request: &Request, options: &Options) -> Vec<Relaxation> {
    let mut out = Vec::new();
    for (drop, request, options) in single_drops(request, options) {
        if let Ok(router) = Router::compile_once(catalog, &request, &options) {
            let mut endpoints: Vec<String> = Vec::new();
            for id in router.likely_order() {
                let name = &router.target(id).endpoint;
                if !endpoints.contains(name) {
                    endpoints.push(name.clone());
                }
            }
            out.push(Relaxation {
                drop: drop.to_string(),
                endpoints,
            });
        }
    }
    out
}

/// Every set preference, each removed alone: `(name, request without it, options without it)`.
fn single_drops(request: &Request, options: &Options) -> Vec<(&'static str, Request, Options)> {
    let mut out: Vec<(&'static str, Request, Options)> = Vec::new();
    let p = &request.provider;
    let mut req = |name: &'static str, set: bool, edit: &dyn Fn(&mut Request)| {
        if set {
            let mut r = request.clone();
            edit(&mut r);
            out.push((name, r, options.clone()));
        }
    };
    req("provider.only", p.only.is_some(), &|r| {
        r.provider.only = None
    });
    req("provider.ignore", !p.ignore.is_empty(), &|r| {
        r.provider.ignore.clear()
    });
    req("provider.quantizations", p.quantizations.is_some(), &|r| {
        r.provider.quantizations = None
    });
    req(
        "provider.data_collection",
        p.data_collection == DataCollection::Deny,
        &|r| r.provider.data_collection = DataCollection::Allow,
    );
    req("provider.zdr", p.zdr, &|r| r.provider.zdr = false);
    req(
        "provider.enforce_distillable_text",
        p.enforce_distillable_text,
        &|r| r.provider.enforce_distillable_text = false,
    );
    req(
        "provider.max_price",
        p.max_price != Default::default(),
        &|r| r.provider.max_price = Default::default(),
    );
    req("max_tokens", request.max_tokens.is_some(), &|r| {
        r.max_tokens = None
    });
    req("usage_estimate", request.usage.is_some(), &|r| {
        r.usage = None
    });
    req("provider.require_parameters", p.require_parameters, &|r| {
        r.provider.require_parameters = false
    });
    req("provider.order", p.order.is_some(), &|r| {
        r.provider.order = None
    });
    req("provider.allow_fallbacks", !p.allow_fallbacks, &|r| {
        r.provider.allow_fallbacks = true
    });
    req("service_tier", request.service_tier.is_some(), &|r| {
        r.service_tier = None
    });
    let a = &options.account;
    let mut acc = |name: &'static str, set: bool, edit: &dyn Fn(&mut Account)| {
        if set {
            let mut o = options.clone();
            edit(&mut o.account);
            out.push((name, request.clone(), o));
        }
    };
    acc("account.only", a.only.is_some(), &|a| a.only = None);
    acc("account.ignore", !a.ignore.is_empty(), &|a| {
        a.ignore.clear()
    });
    acc("account.zdr", a.zdr, &|a| a.zdr = false);
    acc(
        "account.data_collection",
        a.data_collection == DataCollection::Deny,
        &|a| a.data_collection = DataCollection::Allow,
    );
    out
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
        Segment::Weighted {
            priced, weights, ..
        } => {
            let total: f64 = weights.as_slice().iter().sum();
            for (&id, &w) in priced.iter().zip(weights.as_slice()) {
                targets[id as usize].first_probability = w / total;
            }
        }
    }
}

/// How to draw the first attempt of a segment alone: a cumulative table over the weights.
fn first_pick(segment: &Segment) -> FirstPick {
    match segment {
        Segment::Fixed(ids) => FirstPick::Fixed(ids[0]),
        Segment::Weighted { free, .. } if !free.is_empty() => FirstPick::Uniform(free.clone()),
        Segment::Weighted {
            priced, weights, ..
        } => {
            let weights = weights.as_slice().to_vec();
            let cdf = weights
                .iter()
                .scan(0.0, |acc, &w| {
                    *acc += w;
                    Some(*acc)
                })
                .collect();
            FirstPick::Cumulative {
                ids: priced.clone(),
                weights,
                cdf,
            }
        }
    }
}

/// The error for a request nothing can serve, classified by the latest filter stage that
/// excluded an endpoint (SPEC section 5).
fn unroutable(models: &[&Model], rows: Vec<Row>, warnings: Vec<String>) -> Error {
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
    Error::from_unroutable(Unroutable {
        code,
        message,
        excluded,
        relaxations: Vec::new(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    const CATALOG: &str = r#"
models:
  - id: m
    endpoints:
      - { provider: a, pricing: { prompt: 1, completion: 0 }, zdr: true }
      - { provider: a, tag: a/turbo, pricing: { prompt: 2, completion: 0 } }
      - { provider: a, tag: a/eu, pricing: { prompt: 4, completion: 0 } }
      - { provider: b, pricing: { prompt: 3, completion: 0 }, zdr: true }
      - { provider: c, pricing: { prompt: 1, completion: 0 }, uptime: 0.5 }
  - id: empty
    endpoints: []
"#;

    fn compile(request: &str) -> Result<Router, Error> {
        let catalog = Catalog::parse(CATALOG).unwrap();
        Router::compile(
            &catalog,
            &Request::parse(request).unwrap(),
            &Options::default(),
        )
    }

    fn slugs(router: &Router, seed: u64) -> Vec<String> {
        let plan = router.plan(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        plan.attempts.into_iter().map(|a| a.endpoint).collect()
    }

    #[test]
    fn order_without_fallbacks_stops_at_the_list() {
        let r =
            compile(r#"{"model":"m","provider":{"order":["b","a/eu"],"allow_fallbacks":false}}"#)
                .unwrap();
        for seed in 0..10 {
            assert_eq!(slugs(&r, seed), ["b", "a/eu"]);
        }
        assert_eq!(r.strategy(), Strategy::Order);
    }

    #[test]
    fn a_provider_slug_in_order_puts_the_default_endpoint_first_then_the_others_balanced() {
        let r = compile(r#"{"model":"m","provider":{"order":["a"]}}"#).unwrap();
        let mut seen_eu_second = false;
        for seed in 0..50 {
            let s = slugs(&r, seed);
            assert_eq!(s[0], "a");
            assert!(s[1] == "a/turbo" || s[1] == "a/eu");
            seen_eu_second |= s[1] == "a/eu";
            assert_eq!(
                s[3..],
                ["b", "c"],
                "the rest follows in base order, down last"
            );
        }
        assert!(
            seen_eu_second,
            "the provider's other endpoints are load-balanced, not sorted"
        );
    }

    #[test]
    fn without_the_default_endpoint_a_provider_slug_draws_among_the_others() {
        let r = compile(r#"{"model":"m","provider":{"order":["a"],"ignore":["a/turbo"],"zdr":false,"only":["a/eu","b","a/turbo"]}}"#).unwrap();
        assert_eq!(slugs(&r, 1), ["a/eu", "b"]);
        assert_eq!(r.target(0).first_probability, 1.0);
    }

    #[test]
    fn order_matching_nothing_falls_back_to_the_base_strategy() {
        let r = compile(r#"{"model":"m","provider":{"order":["zzz"]}}"#).unwrap();
        assert_eq!(r.strategy(), Strategy::LoadBalance);
        assert_eq!(r.warnings().len(), 1);
    }

    #[test]
    fn first_probabilities_sum_to_one_and_match_the_first_pick() {
        let r = compile(r#"{"model":"m"}"#).unwrap();
        let total: f64 = r.targets().iter().map(|t| t.first_probability).sum();
        assert!((total - 1.0).abs() < 1e-12);
        // weights 1, 1/4, 1/16, 1/9 over a, a/turbo, a/eu, b; c is down.
        let w = [1.0, 0.25, 1.0 / 16.0, 1.0 / 9.0];
        let sum: f64 = w.iter().sum();
        for (t, w) in r.targets().iter().zip(w) {
            assert!(
                (t.first_probability - w / sum).abs() < 1e-12,
                "{}",
                t.endpoint
            );
        }
        assert_eq!(r.targets()[4].first_probability, 0.0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        for _ in 0..100 {
            assert_ne!(
                r.first(&mut rng),
                4,
                "a down endpoint is never first while others are up"
            );
        }
    }

    #[test]
    fn draw_until_stops_at_the_first_success_and_matches_draw() {
        let r = compile(r#"{"model":"m"}"#).unwrap();
        let mut full = r.buffer();
        let mut part = r.buffer();
        for seed in 0..20 {
            r.draw(&mut Xoshiro256PlusPlus::seed_from_u64(seed), &mut full);
            let stop = full.attempts()[2];
            let got = r.draw_until(
                &mut Xoshiro256PlusPlus::seed_from_u64(seed),
                &mut part,
                |_, id| id == stop,
            );
            assert_eq!(got, Some(stop));
            assert_eq!(
                part.attempts(),
                &full.attempts()[..3],
                "same draws, cut after the stop"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        let r = compile(r#"{"model":"m"}"#).unwrap();
        for seed in 0..20 {
            assert_eq!(slugs(&r, seed), slugs(&r, seed));
        }
    }

    #[test]
    fn availability_errors_are_classified_by_the_last_stage() {
        let code = |req: &str| {
            let result = compile(req);
            match result.as_ref().err().and_then(Error::unroutable) {
                Some(u) => u.code,
                None => panic!("expected unroutable, got {result:?}"),
            }
        };
        assert_eq!(code(r#"{"model":"empty"}"#), AvailabilityCode::NoEndpoints);
        assert_eq!(
            code(r#"{"model":"m","provider":{"zdr":true,"ignore":["a"],"only":["a","c"]}}"#),
            AvailabilityCode::PrivacyRestricted
        );
        assert_eq!(
            code(r#"{"model":"m","provider":{"zdr":true,"max_price":{"prompt":0.5}}}"#),
            AvailabilityCode::ConstraintFiltered
        );
        assert_eq!(
            code(r#"{"model":"m","provider":{"only":["nobody"]}}"#),
            AvailabilityCode::ConstraintFiltered
        );
    }

    #[test]
    fn an_empty_model_falls_through_to_the_next() {
        let r = compile(r#"{"model":"empty","models":["m"]}"#).unwrap();
        assert_eq!(r.targets().len(), 5);
    }

    #[test]
    fn unknown_models_list_what_the_catalog_has() {
        let err = compile(r#"{"model":"m","models":["nope"]}"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("models[0]") && text.contains("m, empty"),
            "{text}"
        );
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn prices_that_overflow_stay_finite_and_weighable() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1e200, completion: 0 } }\n      - { provider: c, pricing: { prompt: 1e308, completion: 1e308 } }\n").unwrap();
        let r = Router::compile(
            &catalog,
            &Request::parse(r#"{"model":"m"}"#).unwrap(),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.targets()[1].price, f64::MAX);
        let total: f64 = r.targets().iter().map(|t| t.first_probability).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn usage_estimates_price_the_request_fee_in() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 2, completion: 4, request: 0.01 } }\n").unwrap();
        let request = Request::parse(
            r#"{"model":"m","usage_estimate":{"prompt_tokens":1000,"completion_tokens":500}}"#,
        )
        .unwrap();
        let price = price_of(&catalog.models[0].endpoints[0].pricing, &request);
        assert!((price - (0.002 + 0.002 + 0.01)).abs() < 1e-15);
    }

    fn compile_with(request: &str, account: &str) -> Result<Router, Error> {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let options = Options {
            account: Account::parse(account).unwrap(),
            ..Options::default()
        };
        Router::compile(&catalog, &Request::parse(request).unwrap(), &options)
    }

    fn endpoints(r: &Router) -> Vec<&str> {
        r.targets()
            .iter()
            .filter(|t| !t.byok)
            .map(|t| t.endpoint.as_str())
            .collect()
    }

    #[test]
    fn account_only_is_a_ceiling_the_request_narrows() {
        let r = compile_with(
            r#"{"model":"m","provider":{"only":["a","c"]}}"#,
            "only: [a, b]",
        )
        .unwrap();
        assert_eq!(
            endpoints(&r),
            ["a", "a/turbo", "a/eu"],
            "c is outside the ceiling"
        );
    }

    #[test]
    fn account_ignore_is_united_with_the_request_ignore() {
        let r = compile_with(
            r#"{"model":"m","provider":{"ignore":["b"]}}"#,
            "ignore: [a/eu]",
        )
        .unwrap();
        assert_eq!(endpoints(&r), ["a", "a/turbo", "c"]);
    }

    #[test]
    fn account_zdr_and_deny_apply_even_when_the_request_says_otherwise() {
        let r = compile_with(r#"{"model":"m","provider":{"zdr":false}}"#, "zdr: true").unwrap();
        assert_eq!(endpoints(&r), ["a", "b"]);
        let err = compile_with(
            r#"{"model":"m","provider":{"data_collection":"allow"}}"#,
            "data_collection: deny",
        );
        assert!(
            err.is_err_and(|e| e.unroutable().is_some()),
            "every endpoint may collect data"
        );
    }

    #[test]
    fn default_sort_applies_only_without_sort_order_or_variant() {
        let sorted = compile_with(r#"{"model":"m"}"#, "default_sort: price").unwrap();
        assert_eq!(sorted.strategy(), Strategy::SortPrice);
        let explicit = compile_with(
            r#"{"model":"m","provider":{"sort":"throughput"}}"#,
            "default_sort: price",
        )
        .unwrap();
        assert_eq!(explicit.strategy(), Strategy::SortThroughput);
        let ordered = compile_with(
            r#"{"model":"m","provider":{"order":["zzz"]}}"#,
            "default_sort: price",
        )
        .unwrap();
        assert_eq!(
            ordered.strategy(),
            Strategy::LoadBalance,
            "order switches the default sort off"
        );
    }

    #[test]
    fn byok_endpoints_come_first_and_again_as_shared_capacity() {
        let r = compile_with(r#"{"model":"m","provider":{"sort":"price"}}"#, "byok: [b]").unwrap();
        let plan = r.plan(&mut Xoshiro256PlusPlus::seed_from_u64(1));
        let got: Vec<(&str, bool)> = plan
            .attempts
            .iter()
            .map(|a| (a.endpoint.as_str(), a.byok))
            .collect();
        assert_eq!(
            got,
            [
                ("b", true),
                ("a", false),
                ("c", false),
                ("a/turbo", false),
                ("b", false),
                ("a/eu", false)
            ]
        );
        assert_eq!(plan.attempts[0].first_probability, 1.0);
    }

    #[test]
    fn sticky_pins_an_eligible_endpoint_unless_order_is_set() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let options = Options {
            sticky: Some("a/eu".into()),
            ..Options::default()
        };
        let plain = Router::compile(
            &catalog,
            &Request::parse(r#"{"model":"m"}"#).unwrap(),
            &options,
        )
        .unwrap();
        for seed in 0..10 {
            assert_eq!(slugs(&plain, seed)[0], "a/eu");
        }
        let ordered = Router::compile(
            &catalog,
            &Request::parse(r#"{"model":"m","provider":{"order":["b"]}}"#).unwrap(),
            &options,
        )
        .unwrap();
        assert_eq!(slugs(&ordered, 0)[0], "b");
        let ignored = Router::compile(
            &catalog,
            &Request::parse(r#"{"model":"m","provider":{"ignore":["a/eu"]}}"#).unwrap(),
            &options,
        )
        .unwrap();
        assert!(
            !slugs(&ignored, 0).contains(&"a/eu".to_string()),
            "an ineligible sticky endpoint stays out"
        );
    }

    #[test]
    fn a_sticky_endpoint_of_a_fallback_model_goes_to_the_front_of_the_plan() {
        let catalog = Catalog::parse("models:\n  - id: m1\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n  - id: m2\n    endpoints:\n      - { provider: c, pricing: { prompt: 2, completion: 0 } }\n      - { provider: d, pricing: { prompt: 2, completion: 0 } }\n").unwrap();
        let request = Request::parse(r#"{"model":"m1","models":["m2"]}"#).unwrap();
        let options = Options {
            sticky: Some("c".into()),
            ..Options::default()
        };
        let r = Router::compile(&catalog, &request, &options).unwrap();
        let plan = r.plan(&mut Xoshiro256PlusPlus::seed_from_u64(3));
        let got: Vec<(&str, &str)> = plan
            .attempts
            .iter()
            .map(|a| (a.model.as_str(), a.endpoint.as_str()))
            .collect();
        assert_eq!(got, [("m2", "c"), ("m1", "a"), ("m2", "d")]);
        assert_eq!(plan.attempts[0].first_probability, 1.0);
    }

    #[test]
    fn byok_is_tried_whatever_order_and_allow_fallbacks_say() {
        let r = compile_with(
            r#"{"model":"m","provider":{"order":["b"],"allow_fallbacks":false}}"#,
            "byok: [a/eu]",
        )
        .unwrap();
        let plan = r.plan(&mut Xoshiro256PlusPlus::seed_from_u64(1));
        let got: Vec<(&str, bool)> = plan
            .attempts
            .iter()
            .map(|a| (a.endpoint.as_str(), a.byok))
            .collect();
        assert_eq!(got, [("a/eu", true), ("b", false)]);
    }
}
