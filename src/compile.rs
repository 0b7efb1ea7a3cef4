//! Catalog + request + options -> a [`Router`]: resolves the request, filters each model, orders
//! each pool into parts of the plan, places own-key (BYOK) and sticky attempts, and hands the
//! parts to the router. Runs once per request; never draws.

use crate::catalog::{Catalog, Endpoint, Model, Pricing, Tier};
use crate::error::Error;
use crate::explain;
use crate::filter;
use crate::money::Money;
use crate::order::{BaseOrder, Candidate, Segment, TargetId};
use crate::plan::{PlanUsage, Strategy};
use crate::request::{Partition, Request, SortBy};
use crate::resolve::{Options, Resolved};
use crate::router::{self, Entry, Part, Router, Target};
use crate::slug;

/// Compiles `request` against `catalog`; on failure with nothing eligible, the error carries
/// the single preferences whose removal would let the request route (SPEC section 7).
pub(crate) fn compile<'c>(
    catalog: &'c Catalog,
    request: &Request,
    options: &Options,
) -> Result<Router<'c>, Error> {
    let mut result = compile_once(catalog, request, options);
    if let Some(u) = result.as_mut().err().and_then(Error::unroutable_mut) {
        u.relaxations = explain::relaxations(catalog, request, options);
    }
    result
}

/// [`compile`] without relaxation hints (which re-route through here).
pub(crate) fn compile_once<'c>(
    catalog: &'c Catalog,
    request: &Request,
    options: &Options,
) -> Result<Router<'c>, Error> {
    let resolved = Resolved::new(request, options);
    let mut warnings = Vec::new();
    let models = requested_models(catalog, request, &mut warnings)?;

    // Filter: every endpoint of every model gets an entry, in catalog order; the eligible ones
    // become targets, pooled per model.
    let endpoints: usize = models.iter().map(|m| m.endpoints.len()).sum();
    let usage = PlanUsage::of(request);
    let mut table = Table {
        targets: Vec::with_capacity(endpoints),
        cands: Vec::with_capacity(endpoints),
    };
    let mut entries = Vec::with_capacity(endpoints);
    let mut pools: Vec<Vec<TargetId>> = Vec::with_capacity(models.len());
    for model in &models {
        filter::slug_warnings(model, request, &mut warnings);
        let verdicts = filter::filter_model(model, request, &resolved, &mut warnings);
        let mut pool = Vec::with_capacity(model.endpoints.len());
        for (ep, verdict) in model.endpoints.iter().zip(verdicts) {
            match verdict {
                Some(reason) => entries.push(Entry::Excluded {
                    model: &model.id,
                    endpoint: &ep.key,
                    reason,
                }),
                None => {
                    let id = table.push(model, ep, price_of(&ep.pricing, request));
                    entries.push(Entry::Eligible(id));
                    pool.push(id);
                }
            }
        }
        pools.push(pool);
    }

    // Under `partition: "none"` every model's endpoints are ordered together, as one pool.
    let any_flex = pools.iter().any(|p| table.has_flex(p));
    if resolved
        .sort(any_flex)
        .is_some_and(|s| s.partition == Partition::None)
    {
        pools = vec![pools.concat()];
    }

    let mut parts = Vec::with_capacity(2 * pools.len() + 1);
    let mut matched_order = false;
    let mut strategy_sort = None;
    for (i, pool) in pools.iter().enumerate() {
        let sort = resolved.sort(table.has_flex(pool));
        if i == 0 {
            strategy_sort = sort.map(|s| s.by);
        }
        let base = BaseOrder {
            sort: sort.map(|s| s.by),
            bands: options.bands,
            lead_tier: resolved.lead_tier,
            min_throughput: request.provider.preferred_min_throughput.as_ref(),
            max_latency: request.provider.preferred_max_latency.as_ref(),
        };
        // Own keys first, as attempts of their own (SPEC section 7): they are tried whatever
        // `order` and `allow_fallbacks` say, `order`'s entries first.
        let own_keys = table.own_key_copies(pool, &resolved);
        if !own_keys.is_empty() {
            // Whether `order` matched is the shared part's to say: own keys are copies of pool
            // endpoints, so an entry that matches one matches its original too.
            let ordered = order_pool(&own_keys, &table.cands, request, &base, true);
            parts.push(Part {
                segments: ordered.segments,
                first_only: false,
                own_keys: true,
            });
        }
        let allow_fallbacks = request.provider.allow_fallbacks;
        let ordered = order_pool(pool, &table.cands, request, &base, allow_fallbacks);
        matched_order |= ordered.matched_order;
        parts.push(Part {
            segments: ordered.segments,
            first_only: ordered.first_only,
            own_keys: false,
        });
    }
    if let Some(slug) = resolved.sticky {
        pin_sticky(&mut parts, slug, &table.cands);
    }

    let strategy = match (matched_order, strategy_sort) {
        (true, _) => Strategy::Order,
        (false, None) => Strategy::LoadBalance,
        (false, Some(SortBy::Price)) => Strategy::SortPrice,
        (false, Some(SortBy::Throughput)) => Strategy::SortThroughput,
        (false, Some(SortBy::Latency)) => Strategy::SortLatency,
        (false, Some(SortBy::Exacto)) => Strategy::SortExacto,
    };
    let has_order = request.provider.order.is_some();
    if parts.iter().all(|p| p.segments.is_empty()) {
        // Nothing to attempt: endpoints the filters left in were cut by `allow_fallbacks: false`.
        let excluded = entries
            .iter()
            .map(|entry| router::exclusion(entry, &table.targets, has_order))
            .collect();
        return Err(explain::unroutable(&models, excluded, warnings));
    }
    Ok(Router::new(
        table.targets,
        parts,
        entries,
        strategy,
        warnings,
        has_order,
        usage,
    ))
}

/// The catalog models the request names, in request order, each once (a repeat is a warning).
fn requested_models<'c>(
    catalog: &'c Catalog,
    request: &Request,
    warnings: &mut Vec<String>,
) -> Result<Vec<&'c Model>, Error> {
    let mut models: Vec<&Model> = Vec::with_capacity(request.models.len());
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
    Ok(models)
}

/// The router's targets and what ordering needs of each, kept in step: target `id` is
/// `targets[id]` and `cands[id]`.
struct Table<'c> {
    targets: Vec<Target<'c>>,
    cands: Vec<Candidate<'c>>,
}

impl<'c> Table<'c> {
    /// Adds an eligible endpoint and returns its target id.
    fn push(&mut self, model: &'c Model, ep: &'c Endpoint, price: Money) -> TargetId {
        let id = TargetId::new(self.targets.len());
        self.targets.push(Target::new(&model.id, ep, price));
        self.cands.push(Candidate::new(ep, price));
        id
    }

    /// Whether a pool holds flex-tier endpoints (`service_tier: "flex"` sorts those by price).
    fn has_flex(&self, pool: &[TargetId]) -> bool {
        pool.iter()
            .any(|&id| self.cands[id.index()].ep.tier == Some(Tier::Flex))
    }

    /// Copies of the pool's endpoints that the account has its own key for, as new targets
    /// marked BYOK; the originals stay in the pool as shared capacity.
    fn own_key_copies(&mut self, pool: &[TargetId], resolved: &Resolved) -> Vec<TargetId> {
        let byok = &resolved.account().byok;
        if byok.is_empty() {
            return Vec::new();
        }
        let mut copies = Vec::new();
        for &id in pool {
            let cand = self.cands[id.index()];
            if byok.iter().any(|s| slug::matches(s, cand.ep)) {
                copies.push(TargetId::new(self.targets.len()));
                let mut target = self.targets[id.index()].clone();
                target.byok = true;
                self.targets.push(target);
                self.cands.push(cand);
            }
        }
        copies
    }
}

/// The price that orders and weights endpoints, exact: prompt + completion per million tokens,
/// or the expected request cost in USD (request fee included) with a usage estimate (SPEC
/// sections 4 and 8). Bounded inputs keep it far from overflow; it saturates rather than wraps.
pub(crate) fn price_of(pricing: &Pricing, request: &Request) -> Money {
    match request.usage {
        None => pricing.prompt.saturating_add(pricing.completion),
        Some(u) => u.cost(pricing),
    }
}

/// One pool ordered: its segments, and what the ordering decided.
struct Ordered {
    segments: Vec<Segment>,
    /// `allow_fallbacks: false` without `order`: only the first attempt is kept.
    first_only: bool,
    /// `order` matched at least one endpoint of the pool.
    matched_order: bool,
}

/// Orders one pool: `order` entries first (SPEC section 4), then the rest in base ordering, or
/// nothing more when fallbacks are off (the endpoints left out are then excluded as
/// `fallbacks_disabled` when the plan is drawn).
fn order_pool(
    pool: &[TargetId],
    cands: &[Candidate],
    request: &Request,
    base: &BaseOrder,
    allow_fallbacks: bool,
) -> Ordered {
    let mut segments = Vec::new();
    let Some(order) = &request.provider.order else {
        base.base(pool, cands, &mut segments);
        return Ordered {
            segments,
            first_only: !allow_fallbacks,
            matched_order: false,
        };
    };
    let mut placed = vec![false; pool.len()];
    let mut matched_order = false;
    for s in order {
        let matched: Vec<usize> = (0..pool.len())
            .filter(|&i| !placed[i] && slug::matches(s, cands[pool[i].index()].ep))
            .collect();
        if matched.is_empty() {
            continue;
        }
        matched_order = true;
        for &i in &matched {
            placed[i] = true;
        }
        // A provider slug: its default endpoint first, its others after it in base ordering.
        // A listing may carry several default endpoints (a repeated tag, SPEC section 8): they
        // come first among themselves in base ordering too.
        let (defaults, others): (Vec<TargetId>, Vec<TargetId>) = matched
            .iter()
            .map(|&i| pool[i])
            .partition(|&id| cands[id.index()].ep.is_default());
        if defaults.len() == 1 {
            segments.push(Segment::Fixed(defaults));
        } else {
            base.base(&defaults, cands, &mut segments);
        }
        base.base(&others, cands, &mut segments);
    }
    if allow_fallbacks {
        let rest: Vec<TargetId> = (0..pool.len())
            .filter(|&i| !placed[i])
            .map(|i| pool[i])
            .collect();
        base.base(&rest, cands, &mut segments);
    }
    Ordered {
        segments,
        first_only: false,
        matched_order,
    }
}

/// Sticky routing (SPEC section 7): the pinned endpoint moves to the front of the plan, out of
/// whichever model's shared part holds it. Only the first model's own-key attempts go before
/// it, since own keys are tried before everything; under `allow_fallbacks: false` without
/// `order`, the pinned endpoint is that part's one attempt, so the part is emptied.
fn pin_sticky(parts: &mut Vec<Part>, slug: &str, cands: &[Candidate]) {
    for i in 0..parts.len() {
        if parts[i].own_keys {
            continue;
        }
        let Some(id) = take_pinned(&mut parts[i].segments, slug, cands) else {
            continue;
        };
        if parts[i].first_only {
            parts[i].segments.clear();
        }
        let front = usize::from(parts.first().is_some_and(|p| p.own_keys));
        parts.insert(
            front,
            Part {
                segments: vec![Segment::Fixed(vec![id])],
                first_only: false,
                own_keys: false,
            },
        );
        return;
    }
}

/// Takes the endpoint a sticky slug names out of a part's segments: an endpoint slug names one
/// endpoint, a provider slug its default endpoint (else its first eligible one). `None` when
/// the slug names no endpoint of the part.
fn take_pinned(segments: &mut Vec<Segment>, slug: &str, cands: &[Candidate]) -> Option<TargetId> {
    let matching: Vec<TargetId> = segments
        .iter()
        .flat_map(Segment::ids)
        .filter(|&id| slug::matches(slug, cands[id.index()].ep))
        .collect();
    let &pinned = matching
        .iter()
        .find(|&&id| cands[id.index()].ep.is_default())
        .or(matching.first())?;
    for seg in segments.iter_mut() {
        match seg {
            Segment::Fixed(ids) => ids.retain(|&id| id != pinned),
            Segment::Weighted(run) => {
                run.remove(pinned, |id| cands[id.index()].weight_price());
            }
        }
    }
    segments.retain(|seg| !seg.is_empty());
    Some(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy(catalog: &str, request: &str, account: &str) -> Strategy {
        let catalog = Catalog::parse(catalog).unwrap();
        let options = Options {
            account: crate::Account::parse(account).unwrap(),
            ..Options::default()
        };
        let request = Request::parse(request).unwrap();
        compile(&catalog, &request, &options).unwrap().strategy()
    }

    const PLAIN: &str = "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n      - { provider: b, pricing: { prompt: 2, completion: 2 } }\n";
    const WITH_FLEX: &str = "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n      - { provider: a, tag: a/flex, tier: flex, pricing: { prompt: 0.5, completion: 0.5 } }\n";

    #[test]
    fn service_tier_flex_sorts_by_price_only_where_the_model_has_flex_endpoints() {
        let flex = r#"{"model":"m","service_tier":"flex"}"#;
        assert_eq!(strategy(WITH_FLEX, flex, "{}"), Strategy::SortPrice);
        assert_eq!(
            strategy(PLAIN, flex, "{}"),
            Strategy::LoadBalance,
            "no flex endpoint: the request routes as if it had no service_tier"
        );
    }

    #[test]
    fn a_sticky_endpoint_leaves_a_sorted_run_and_the_rest_keeps_its_order() {
        use rand::SeedableRng;
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n      - { provider: b, pricing: { prompt: 2, completion: 2 } }\n      - { provider: c, pricing: { prompt: 3, completion: 3 } }\n").unwrap();
        let options = Options {
            sticky: Some("b".into()),
            ..Options::default()
        };
        let request = Request::parse(r#"{"model":"m","provider":{"sort":"price"}}"#).unwrap();
        let router = compile(&catalog, &request, &options).unwrap();
        let plan = router.plan(&mut rand::rngs::SmallRng::seed_from_u64(1));
        let got: Vec<&str> = plan.attempts.iter().map(|a| a.endpoint.as_str()).collect();
        assert_eq!(got, ["b", "a", "c"], "b to the front, the others by price");
    }

    #[test]
    fn partition_none_orders_every_models_endpoints_together() {
        use rand::SeedableRng;
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 2, completion: 2 } }\n      - { provider: c, pricing: { prompt: 3, completion: 3 } }\n  - id: n\n    endpoints:\n      - { provider: b, pricing: { prompt: 1, completion: 1 } }\n").unwrap();
        let attempts = |sort: &str| {
            let body = format!(r#"{{"models":["m","n"],"provider":{{"sort":{sort}}}}}"#);
            let request = Request::parse(&body).unwrap();
            let router = compile(&catalog, &request, &Options::default()).unwrap();
            let plan = router.plan(&mut rand::rngs::SmallRng::seed_from_u64(1));
            plan.attempts
                .iter()
                .map(|a| format!("{}:{}", a.model, a.endpoint))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            attempts(r#"{"by":"price","partition":"none"}"#),
            ["n:b", "m:a", "m:c"]
        );
        assert_eq!(
            attempts(r#"{"by":"price","partition":"model"}"#),
            ["m:a", "m:c", "n:b"],
            "by model: the models in request order"
        );
    }

    #[test]
    fn order_matching_an_own_key_endpoint_is_the_order_strategy() {
        let ordered = r#"{"model":"m","provider":{"order":["b"]}}"#;
        assert_eq!(strategy(PLAIN, ordered, "byok: [b]"), Strategy::Order);
        assert_eq!(strategy(PLAIN, ordered, "{}"), Strategy::Order);
    }

    #[test]
    fn usage_estimates_price_the_request_fee_in() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 2, completion: 4, request: 0.01 } }\n").unwrap();
        let request = Request::parse(
            r#"{"model":"m","usage_estimate":{"prompt_tokens":1000,"completion_tokens":500}}"#,
        )
        .unwrap();
        let price = price_of(&catalog.models[0].endpoints[0].pricing, &request);
        assert_eq!(price.to_string(), "0.014", "0.002 + 0.002 + 0.01, exactly");
    }
}
