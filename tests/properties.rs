//! The routing rules of SPEC sections 3 and 4 stated as invariants over generated catalogs and
//! requests (`routesim::strategies`). Cases per property: `PROPTEST_CASES` (default 256).
//!
//! The checks restate the spec here rather than call the engine's own helpers: slug matching,
//! quantization families, filter order, prices, bands and sort keys each have a small oracle
//! below.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use routesim::strategies::{self, CatalogShape};
use routesim::{
    Catalog, DataCollection, Endpoint, Model, Money, Options, Partition, Percentiles, Plan,
    Quantization, Request, Router, SortBy, Strategy as PlanStrategy, Unroutable,
};
use std::collections::HashSet;

mod common;

// ---------------------------------------------------------------------------------------------
// Oracles: the spec's rules, written out independently of the engine.

/// SPEC 3 and 8: a key (with `#`) names one endpoint; an endpoint slug (with `/`) names the
/// endpoints listed under that tag (one, unless a listing repeats it); a provider slug or
/// display name (any case; spaces may be hyphens) names all of that provider's endpoints.
fn names(slug: &str, ep: &Endpoint) -> bool {
    let s = slug.trim().to_lowercase();
    if s.contains('#') {
        return s == ep.key.to_lowercase();
    }
    if s.contains('/') {
        return s == ep.tag.to_lowercase();
    }
    let hyphenated: String = s
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .collect();
    hyphenated == ep.provider.to_lowercase()
        || ep.provider_name.as_deref().is_some_and(|name| {
            let name = name.trim().to_lowercase();
            s == name || hyphenated == name.replace(' ', "-")
        })
}

/// SPEC 3: `fp4` admits `mxfp4` and `nvfp4`, `fp8` admits `mxfp8`, every level itself.
fn admits(filter: Quantization, level: Quantization) -> bool {
    use Quantization::*;
    filter == level || matches!((filter, level), (Fp4, Mxfp4 | Nvfp4) | (Fp8, Mxfp8))
}

/// The hard filters an endpoint fails, as reason codes in the spec's order (SPEC 4).
fn hard_failures(ep: &Endpoint, request: &Request) -> Vec<&'static str> {
    let p = &request.provider;
    let mut out = Vec::new();
    if let Some(only) = &p.only {
        if !only.iter().any(|s| names(s, ep)) {
            out.push("not_in_only");
        }
    }
    if p.ignore.iter().any(|s| names(s, ep)) {
        out.push("ignored");
    }
    if let Some(levels) = &p.quantizations {
        if !levels.iter().any(|&q| admits(q, ep.quantization)) {
            out.push("quantization");
        }
    }
    if p.data_collection == DataCollection::Deny && ep.data_collection == DataCollection::Allow {
        out.push("data_collection");
    }
    if p.zdr && !ep.zdr {
        out.push("zdr");
    }
    if p.enforce_distillable_text && !ep.distillable {
        out.push("distillable");
    }
    let m = &p.max_price;
    let above = |limit: Option<Money>, price: Money| limit.is_some_and(|l| price > l);
    if above(m.prompt, ep.pricing.prompt)
        || above(m.completion, ep.pricing.completion)
        || above(m.request, ep.pricing.request.unwrap_or(Money::ZERO))
        || above(m.image, ep.pricing.image.unwrap_or(Money::ZERO))
    {
        out.push("max_price");
    }
    if let (Some(wanted), Some(limit)) = (request.max_tokens, ep.max_completion_tokens) {
        if limit < wanted {
            out.push("max_tokens");
        }
    }
    let prompt = request.usage.and_then(|u| u.prompt_tokens);
    if let (Some(prompt), Some(window)) = (prompt, ep.context_length) {
        if window < prompt + request.max_tokens.unwrap_or(0) {
            out.push("context_length");
        }
    }
    // SPEC 1: under require_parameters, unknown support excludes the endpoint.
    if p.require_parameters {
        let supported = ep
            .supported_parameters
            .is_some_and(|s| s.is_superset(request.parameters));
        if !supported {
            out.push("require_parameters");
        }
    }
    out
}

/// SPEC 4 and 8: prompt + completion, or the expected request cost with a usage estimate,
/// exactly (tokens x price per million / 10^6, plus the request fee).
fn price(ep: &Endpoint, request: &Request) -> Money {
    let p = &ep.pricing;
    match request.usage {
        None => p.prompt.saturating_add(p.completion),
        Some(u) => {
            let part = |tokens: Option<u64>, per_million: Money| {
                per_million
                    .per_million(tokens.unwrap_or(0))
                    .expect("generated costs fit")
            };
            part(u.prompt_tokens, p.prompt)
                .saturating_add(part(u.completion_tokens, p.completion))
                .saturating_add(p.request.unwrap_or(Money::ZERO))
        }
    }
}

/// SPEC 4: 0 stable (>= 0.95), 1 degraded (>= 0.80), 2 down; SPEC 8: status -3 is degraded
/// whatever the uptime.
fn band(ep: &Endpoint) -> u8 {
    if ep.status == -3 {
        1
    } else if ep.uptime >= 0.95 {
        0
    } else if ep.uptime >= 0.80 {
        1
    } else {
        2
    }
}

/// SPEC 4: whether an endpoint meets both preferred_* preferences (every percentile given).
fn meets(ep: &Endpoint, request: &Request) -> bool {
    let p = &request.provider;
    let ok = |want: &Option<Percentiles>, have: &Option<Percentiles>, higher_is_better: bool| {
        want.as_ref().is_none_or(|want| {
            [
                (want.p50, have.and_then(|h| h.p50)),
                (want.p75, have.and_then(|h| h.p75)),
                (want.p90, have.and_then(|h| h.p90)),
                (want.p99, have.and_then(|h| h.p99)),
            ]
            .into_iter()
            .all(|(w, h)| match (w, h) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(w), Some(h)) => {
                    if higher_is_better {
                        h >= w
                    } else {
                        h <= w
                    }
                }
            })
        })
    };
    ok(&p.preferred_min_throughput, &ep.throughput, true)
        && ok(&p.preferred_max_latency, &ep.latency, false)
}

/// SPEC 4: the strict sort key: present metric first (best first), then price, then slug.
fn sort_key(by: SortBy, ep: &Endpoint, request: &Request) -> (bool, f64, Money, String) {
    let (metric, descending) = match by {
        SortBy::Price => (Some(0.0), false),
        SortBy::Throughput => (ep.throughput.and_then(|t| t.p50), true),
        SortBy::Latency => (ep.latency.and_then(|l| l.p50), false),
        SortBy::Exacto => (ep.quality, true),
    };
    let v = metric.map_or(0.0, |v| if descending { -v } else { v });
    (metric.is_none(), v, price(ep, request), ep.key.clone())
}

fn key_le(a: &(bool, f64, Money, String), b: &(bool, f64, Money, String)) -> bool {
    (a.0, a.1, a.2, &a.3)
        .partial_cmp(&(b.0, b.1, b.2, &b.3))
        .is_some_and(|o| o.is_le())
}

// ---------------------------------------------------------------------------------------------
// Plumbing.

/// An endpoint of a plan: model id and endpoint slug.
type Key = (String, String);

/// A plan, or the exclusions of an unroutable request; any other error fails the case.
fn route(
    catalog: &Catalog,
    request: &Request,
    seed: u64,
) -> Result<Result<Plan, Box<Unroutable>>, TestCaseError> {
    let mut rng = SmallRng::seed_from_u64(seed);
    match routesim::route(catalog, request, &Options::default(), &mut rng) {
        Ok(plan) => Ok(Ok(plan)),
        Err(err) => match err.unroutable() {
            Some(u) => Ok(Err(Box::new(u.clone()))),
            None => Err(TestCaseError::fail(format!(
                "a request for models of the catalog failed: {err}"
            ))),
        },
    }
}

/// The models the request plans, in request order, each once (SPEC 4, model fallbacks).
fn planned<'c>(catalog: &'c Catalog, request: &Request) -> Vec<&'c Model> {
    let mut out: Vec<&Model> = Vec::new();
    for r in &request.models {
        if let Some(m) = catalog.model(&r.id) {
            if !out.iter().any(|seen| seen.id == m.id) {
                out.push(m);
            }
        }
    }
    out
}

fn endpoint<'c>(catalog: &'c Catalog, model: &str, key: &str) -> &'c Endpoint {
    let found = catalog
        .model(model)
        .and_then(|m| m.endpoints.iter().find(|e| e.key == key));
    match found {
        Some(ep) => ep,
        None => panic!("the plan names {model} {key}, which the catalog does not have"),
    }
}

/// The plan's attempts as catalog endpoints, cut into runs that are ordered independently:
/// one run per model, or a single run under `sort: {partition: "none"}`.
fn runs<'c>(catalog: &'c Catalog, request: &Request, plan: &Plan) -> Vec<Vec<&'c Endpoint>> {
    let together = request
        .sort()
        .is_some_and(|s| s.partition == Partition::None);
    let mut out: Vec<Vec<&Endpoint>> = Vec::new();
    let mut last: Option<&str> = None;
    for a in &plan.attempts {
        if out.is_empty() || (!together && last != Some(a.model.as_str())) {
            out.push(Vec::new());
        }
        last = Some(&a.model);
        if let Some(run) = out.last_mut() {
            run.push(endpoint(catalog, &a.model, &a.endpoint));
        }
    }
    out
}

/// Splits a run into the endpoints that meet the preferred_* preferences and those that do not,
/// checking that the first come first.
fn preferred_first<'c>(
    run: &[&'c Endpoint],
    request: &Request,
) -> Result<[Vec<&'c Endpoint>; 2], TestCaseError> {
    let flags: Vec<bool> = run.iter().map(|ep| meets(ep, request)).collect();
    prop_assert!(
        flags.windows(2).all(|w| w[0] || !w[1]),
        "endpoints that meet preferred_* come before those that do not: {:?}",
        run.iter().map(|e| &e.key).collect::<Vec<_>>()
    );
    let (a, b): (Vec<&Endpoint>, Vec<&Endpoint>) = run.iter().partition(|ep| meets(ep, request));
    Ok([a, b])
}

/// Scenarios with a strict sort and no `order`.
fn sorted_scenarios() -> impl Strategy<Value = (Catalog, Request)> {
    (strategies::scenario(), strategies::sort()).prop_map(|((c, mut r), sort)| {
        r.provider.sort = Some(sort);
        r.provider.order = None;
        (c, r)
    })
}

/// Scenarios under load balancing: no sort, no variant, no `order`.
fn balanced_scenarios() -> impl Strategy<Value = (Catalog, Request)> {
    strategies::scenario().prop_map(|(c, mut r)| {
        r.provider.sort = None;
        r.provider.order = None;
        for m in &mut r.models {
            m.variant = None;
        }
        (c, r)
    })
}

/// Request bodies rendered by the strategies, with the requests they stand for (a `service_tier`
/// now and then).
fn bodies() -> impl Strategy<Value = (serde_json::Value, Request)> {
    (strategies::scenario(), strategies::service_tier()).prop_flat_map(|((_, mut r), tier)| {
        r.service_tier = tier;
        (strategies::request_body(&r), Just(r))
    })
}

/// Catalogs of the default shape with priority and flex endpoints.
fn tiered_catalogs() -> impl Strategy<Value = Catalog> {
    strategies::catalog_shaped(&CatalogShape {
        tiers: true,
        ..CatalogShape::default()
    })
}

/// Single models of the default shape.
fn one_model() -> impl Strategy<Value = Model> {
    strategies::model("m/x", &CatalogShape::default())
}

/// Single models of the default shape with at least one endpoint (filtered while generating, so
/// that many cases do not exhaust proptest's budget of rejected cases).
fn served_model() -> impl Strategy<Value = Model> {
    one_model().prop_filter("a model with endpoints", |m| !m.endpoints.is_empty())
}

/// Scenarios with a non-empty `only` (the plain strategy sets it in a few percent of cases).
fn only_scenarios() -> impl Strategy<Value = (Catalog, Request)> {
    strategies::scenario().prop_flat_map(|(c, r)| {
        let only = proptest::collection::vec(strategies::slug(&c), 1..5);
        (Just(c), Just(r), only).prop_map(|(c, mut r, only)| {
            r.provider.only = Some(only);
            (c, r)
        })
    })
}

/// Scenarios with a non-empty `order`.
fn ordered_scenarios() -> impl Strategy<Value = (Catalog, Request)> {
    strategies::scenario().prop_flat_map(|(c, r)| {
        let order = proptest::collection::vec(strategies::slug(&c), 1..5);
        (Just(c), Just(r), order).prop_map(|(c, mut r, order)| {
            r.provider.order = Some(order);
            (c, r)
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Seeds of past failures, replayed first (relative to the package root, where cargo runs tests).
const REGRESSIONS: &str = "proptest-regressions/properties.txt";

proptest! {
    // Cases come from PROPTEST_CASES as usual. XorShift instead of the default ChaCha: the
    // generator is most of a debug-build case's time, and test inputs need no crypto strength.
    // Failures go to proptest-regressions/ (the default would put them beside this file, as
    // proptest only mirrors src/); cargo runs tests from the package root.
    #![proptest_config(ProptestConfig {
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(REGRESSIONS),
        )),
        ..ProptestConfig::default()
    })]

    /// SPEC 5: every endpoint of the planned models is attempted or excluded with a reason,
    /// never both, never twice.
    #[test]
    fn every_endpoint_is_attempted_or_excluded_never_both(
        (catalog, request) in strategies::scenario(),
        seed: u64,
    ) {
        check_every_endpoint_is_attempted_or_excluded_never_both((catalog, request), seed)?;
    }

    /// SPEC 4: an endpoint that fails a hard filter is excluded with the first one it fails, in
    /// the spec's order; one that fails none is excluded only by a soft preference or by
    /// `allow_fallbacks: false`.
    #[test]
    fn exclusions_give_the_first_failing_filter((catalog, request) in strategies::scenario()) {
        check_exclusions_give_the_first_failing_filter((catalog, request))?;
    }

    /// SPEC 3: an endpoint slug matches one endpoint only (in any case); a provider slug and a
    /// display name match all of that provider's endpoints and nothing else.
    #[test]
    fn endpoint_slugs_name_one_provider_slugs_name_all(model in one_model()) {
        check_endpoint_slugs_name_one_provider_slugs_name_all(model)?;
    }

    /// SPEC 3, end to end: `only: [endpoint slug]` routes to that endpoint alone; `only:
    /// [provider slug]` to every endpoint of the provider.
    #[test]
    fn only_by_endpoint_or_provider_slug(model in served_model(), pick: prop::sample::Index) {
        check_only_by_endpoint_or_provider_slug(model, pick)?;
    }

    /// The strategies' request bodies read back as the requests they render, whatever the
    /// surface form (SPEC 2: camelCase, nulls, both sort forms, string prices).
    #[test]
    fn request_bodies_read_back((body, request) in bodies()) {
        check_request_bodies_read_back((body, request))?;
    }

    /// The strategies' catalogs pass the loader's validation: written out as native YAML (here
    /// JSON, which is YAML) they load back unchanged.
    #[test]
    fn generated_catalogs_are_valid(catalog in strategies::catalog()) {
        check_generated_catalogs_are_valid(catalog)?;
    }

    /// The same with priority and flex endpoints (SPEC 7).
    #[test]
    fn generated_tiered_catalogs_are_valid(catalog in tiered_catalogs()) {
        prop_assert!(catalog.models.iter().all(|m| m.endpoints.iter().all(|e| {
            e.tier.is_none_or(|t| e.tag.ends_with(&format!("/{}", t.as_str())))
        })), "a tier endpoint's tag names its tier");
        check_generated_catalogs_are_valid(catalog)?;
    }
}

// Properties whose check skips the cases it cannot judge (an unroutable request has no plan
// to check), run by a counting runner: each fails when fewer than its stated share of cases
// was exercised. Measured at 2,000 cases, 60% to 68% of the cases route (43% of
// `only_scenarios`); each bound is about half of that. At the default 256 cases a share's
// standard deviation is at most sqrt(0.25 / 256) = 0.03, so a correct strategy falls below its
// bound by chance with probability far under 1e-9; a drifting one fails.

/// The configuration of the `proptest!` block above, for the counting runner.
fn config() -> ProptestConfig {
    ProptestConfig {
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(REGRESSIONS),
        )),
        ..ProptestConfig::default()
    }
}

const MIN_SHARE_IGNORED_SLUGS_NEVER_APPEAR: f64 = 0.35;
const MIN_SHARE_WITH_ONLY_NOTHING_ELSE_APPEARS: f64 = 0.2;
const MIN_SHARE_HARD_FILTERS_HOLD_FOR_EVERY_ATTEMPT: f64 = 0.35;
const MIN_SHARE_SORT_IS_MONOTONE_AND_SEED_FREE: f64 = 0.35;
const MIN_SHARE_ORDER_ENTRIES_LEAD_IN_ENTRY_ORDER: f64 = 0.3;
const MIN_SHARE_NO_FALLBACKS_ONLY_YIELDS_WHAT_ORDER_NAMED: f64 = 0.3;
const MIN_SHARE_BANDS_KEEP_THEIR_ORDER: f64 = 0.35;
const MIN_SHARE_FIRST_PROBABILITIES_SUM_TO_ONE: f64 = 0.35;
const MIN_SHARE_SAME_SEED_SAME_PLAN: f64 = 0.35;
// Crowded models (`CatalogShape::crowded`), requested with no preferences: measured at 256
// cases, 22% have a stable band of 64 or more priced endpoints (drawn by exponential keys) and
// 87% a stable band with two or more free ones; each bound is about half of that or less.
const MIN_SHARE_LONG_BANDS: f64 = 0.1;
const MIN_SHARE_SEVERAL_FREE_FIRST: f64 = 0.3;
/// SPEC 2/3: no attempt is named by an `ignore` entry.
#[test]
fn ignored_slugs_never_appear() {
    common::run_counting(
        "ignored_slugs_never_appear",
        config(),
        (strategies::scenario(),),
        MIN_SHARE_IGNORED_SLUGS_NEVER_APPEAR,
        |((catalog, request),)| check_ignored_slugs_never_appear((catalog, request)),
    );
}

/// SPEC 2/3: with `only`, every attempt is named by an `only` entry.
#[test]
fn with_only_nothing_else_appears() {
    common::run_counting(
        "with_only_nothing_else_appears",
        config(),
        (only_scenarios(),),
        MIN_SHARE_WITH_ONLY_NOTHING_ELSE_APPEARS,
        |((catalog, request),)| check_with_only_nothing_else_appears((catalog, request)),
    );
}

/// SPEC 2: max_price, quantizations, max_tokens, context_length, zdr, data_collection,
/// distillable and require_parameters hold for every attempt.
#[test]
fn hard_filters_hold_for_every_attempt() {
    common::run_counting(
        "hard_filters_hold_for_every_attempt",
        config(),
        (strategies::scenario(), any::<u64>()),
        MIN_SHARE_HARD_FILTERS_HOLD_FOR_EVERY_ATTEMPT,
        |((catalog, request), seed)| {
            check_hard_filters_hold_for_every_attempt((catalog, request), seed)
        },
    );
}

/// SPEC 4: under a sort the key is monotone within each run (preferred endpoints first),
/// and no seed changes the plan.
#[test]
fn sort_is_monotone_and_seed_free() {
    common::run_counting(
        "sort_is_monotone_and_seed_free",
        config(),
        (sorted_scenarios(), any::<[u64; 2]>()),
        MIN_SHARE_SORT_IS_MONOTONE_AND_SEED_FREE,
        |((catalog, request), seeds)| {
            check_sort_is_monotone_and_seed_free((catalog, request), seeds)
        },
    );
}

/// SPEC 4: with `order`, the endpoints it names lead each run, in entry order (an endpoint
/// at its first matching entry; a provider's default endpoint before its others).
#[test]
fn order_entries_lead_in_entry_order() {
    common::run_counting(
        "order_entries_lead_in_entry_order",
        config(),
        (ordered_scenarios(), any::<u64>()),
        MIN_SHARE_ORDER_ENTRIES_LEAD_IN_ENTRY_ORDER,
        |((catalog, request), seed)| {
            check_order_entries_lead_in_entry_order((catalog, request), seed)
        },
    );
}

/// SPEC 2/4: `allow_fallbacks: false` never yields an endpoint `order` did not name, and
/// without `order` keeps one attempt per model.
#[test]
fn no_fallbacks_only_yields_what_order_named() {
    common::run_counting(
        "no_fallbacks_only_yields_what_order_named",
        config(),
        (strategies::scenario(), any::<bool>(), any::<u64>()),
        MIN_SHARE_NO_FALLBACKS_ONLY_YIELDS_WHAT_ORDER_NAMED,
        |((catalog, request), keep_order, seed)| {
            check_no_fallbacks_only_yields_what_order_named((catalog, request), keep_order, seed)
        },
    );
}

/// SPEC 4: under load balancing, stable endpoints precede degraded ones, which precede down
/// ones; free endpoints lead their band; down endpoints go cheapest first, ties by slug.
#[test]
fn bands_keep_their_order() {
    common::run_counting(
        "bands_keep_their_order",
        config(),
        (balanced_scenarios(), any::<u64>()),
        MIN_SHARE_BANDS_KEEP_THEIR_ORDER,
        |((catalog, request), seed)| check_bands_keep_their_order((catalog, request), seed),
    );
}

/// SPEC 5: first-attempt probabilities lie in 0..=1 and sum to 1 over the eligible endpoints;
/// with fallbacks allowed the plan holds them all, so they sum to 1 over the plan; the first
/// attempt always has a positive probability.
#[test]
fn first_probabilities_sum_to_one() {
    common::run_counting(
        "first_probabilities_sum_to_one",
        config(),
        (strategies::scenario(), any::<u64>()),
        MIN_SHARE_FIRST_PROBABILITIES_SUM_TO_ONE,
        |((catalog, request), seed)| check_first_probabilities_sum_to_one((catalog, request), seed),
    );
}

/// SPEC 5: the same seed gives the same plan, from a fresh router or a reused one.
#[test]
fn same_seed_same_plan() {
    common::run_counting(
        "same_seed_same_plan",
        config(),
        (strategies::scenario(), any::<u64>()),
        MIN_SHARE_SAME_SEED_SAME_PLAN,
        |((catalog, request), seed)| check_same_seed_same_plan((catalog, request), seed),
    );
}

/// Crowded catalogs (`CatalogShape::crowded`) and a request with no preferences, so that the
/// stable band is as long as the catalog makes it.
fn crowded_scenarios() -> impl Strategy<Value = (Catalog, Request)> {
    strategies::catalog_shaped(&CatalogShape::crowded()).prop_map(|c| {
        let request = Request::parse(r#"{"model": "acme/crowded"}"#).expect("a plain request");
        (c, request)
    })
}

/// Stable (uptime >= 0.95, not deranked) endpoints of the first model, as (free, priced).
fn stable_counts(catalog: &Catalog) -> (usize, usize) {
    let stable = catalog.models[0].endpoints.iter().filter(|e| band(e) == 0);
    let (free, priced): (Vec<&Endpoint>, Vec<&Endpoint>) =
        stable.partition(|e| price(e, &Request::parse(r#"{"model": "m"}"#).unwrap()).is_zero());
    (free.len(), priced.len())
}

/// SPEC 4 and 5 over bands long enough for every draw path: the plan is every endpoint once,
/// bands keep their order, first probabilities sum to 1, and the first attempt drawn alone
/// (a cumulative table over long bands) is one that can be first.
#[test]
fn long_bands_draw_every_endpoint_once_in_band_order() {
    common::run_counting(
        "long_bands_draw_every_endpoint_once_in_band_order",
        config(),
        (crowded_scenarios(), any::<u64>()),
        MIN_SHARE_LONG_BANDS,
        |((catalog, request), seed)| {
            let long = stable_counts(&catalog).1 > 63;
            check_crowded(&catalog, &request, seed)?;
            Ok(long)
        },
    );
}

/// SPEC 4: several free endpoints lead the first band, and each of them is first with the same
/// probability.
#[test]
fn several_free_endpoints_share_the_first_place() {
    common::run_counting(
        "several_free_endpoints_share_the_first_place",
        config(),
        (crowded_scenarios(), any::<u64>()),
        MIN_SHARE_SEVERAL_FREE_FIRST,
        |((catalog, request), seed)| {
            check_crowded(&catalog, &request, seed)?;
            let (free, _) = stable_counts(&catalog);
            if free < 2 {
                return Ok(false);
            }
            let router = Router::compile(&catalog, &request, &Options::default())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let share = 1.0 / free as f64;
            for t in router.targets() {
                let ep = t.source();
                let free_stable = band(ep) == 0 && price(ep, &request).is_zero();
                let want = if free_stable { share } else { 0.0 };
                prop_assert!(
                    (t.first_probability - want).abs() < 1e-12,
                    "{} first with {}, expected {}",
                    t.endpoint,
                    t.first_probability,
                    want
                );
            }
            Ok(true)
        },
    );
}

fn check_crowded(catalog: &Catalog, request: &Request, seed: u64) -> Result<(), TestCaseError> {
    let Ok(router) = Router::compile(catalog, request, &Options::default()) else {
        prop_assert!(
            catalog.models[0].endpoints.is_empty(),
            "only an empty model fails"
        );
        return Ok(());
    };
    let plan = router.plan(&mut SmallRng::seed_from_u64(seed));
    let mut keys: Vec<&str> = plan.attempts.iter().map(|a| a.endpoint.as_str()).collect();
    keys.sort_unstable();
    let mut all: Vec<&str> = catalog.models[0]
        .endpoints
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    all.sort_unstable();
    prop_assert_eq!(keys, all, "every endpoint is attempted once");
    check_bands_keep_their_order((catalog.clone(), request.clone()), seed)?;
    let total: f64 = router.targets().iter().map(|t| t.first_probability).sum();
    prop_assert!(
        (total - 1.0).abs() < 1e-9,
        "first probabilities sum to {}",
        total
    );
    let mut rng = SmallRng::seed_from_u64(seed ^ 7);
    for _ in 0..32 {
        let first = router.target(router.first(&mut rng));
        prop_assert!(
            first.first_probability > 0.0,
            "{} cannot be first",
            first.endpoint
        );
    }
    Ok(())
}

// The properties' bodies, outside the macro so that rustfmt formats them.

fn check_every_endpoint_is_attempted_or_excluded_never_both(
    (catalog, request): (Catalog, Request),
    seed: u64,
) -> Result<(), TestCaseError> {
    let (attempts, excluded): (Vec<Key>, Vec<Key>) = match route(&catalog, &request, seed)? {
        Ok(plan) => (
            plan.attempts
                .iter()
                .map(|a| (a.model.clone(), a.endpoint.clone()))
                .collect(),
            plan.excluded
                .iter()
                .map(|e| (e.model.clone(), e.endpoint.clone()))
                .collect(),
        ),
        Err(u) => (
            Vec::new(),
            u.excluded
                .iter()
                .map(|e| (e.model.clone(), e.endpoint.clone()))
                .collect::<Vec<_>>(),
        ),
    };
    let tried: HashSet<_> = attempts.iter().cloned().collect();
    let left: HashSet<_> = excluded.iter().cloned().collect();
    prop_assert_eq!(tried.len(), attempts.len(), "the plan has no duplicates");
    prop_assert_eq!(left.len(), excluded.len(), "an endpoint is excluded once");
    prop_assert!(
        tried.is_disjoint(&left),
        "an endpoint is attempted or excluded, never both"
    );
    let all: HashSet<_> = planned(&catalog, &request)
        .iter()
        .flat_map(|m| m.endpoints.iter().map(|e| (m.id.clone(), e.key.clone())))
        .collect();
    let covered: HashSet<_> = tried.union(&left).cloned().collect();
    prop_assert_eq!(
        covered,
        all,
        "attempts and exclusions cover the planned models exactly"
    );
    Ok(())
}

fn check_exclusions_give_the_first_failing_filter(
    (catalog, request): (Catalog, Request),
) -> Result<(), TestCaseError> {
    let excluded = match route(&catalog, &request, 1)? {
        Ok(plan) => plan.excluded,
        Err(u) => u.excluded,
    };
    for e in &excluded {
        let ep = endpoint(&catalog, &e.model, &e.endpoint);
        let failures = hard_failures(ep, &request);
        match failures.first() {
            Some(first) => prop_assert_eq!(e.reason.code(), *first, "{} {}", e.model, e.endpoint),
            None => prop_assert!(
                ["tools", "response_format", "fallbacks_disabled"].contains(&e.reason.code()),
                "{} passes every hard filter but is excluded for {}",
                e.endpoint,
                e.reason.code()
            ),
        }
    }
    Ok(())
}

fn check_ignored_slugs_never_appear(
    (catalog, request): (Catalog, Request),
) -> Result<bool, TestCaseError> {
    let Ok(plan) = route(&catalog, &request, 2)? else {
        return Ok(false);
    };
    for a in &plan.attempts {
        let ep = endpoint(&catalog, &a.model, &a.endpoint);
        let hit = request.provider.ignore.iter().find(|s| names(s, ep));
        prop_assert!(
            hit.is_none(),
            "{} is attempted although ignore has {:?}",
            a.endpoint,
            hit
        );
    }
    Ok(true)
}

fn check_with_only_nothing_else_appears(
    (catalog, request): (Catalog, Request),
) -> Result<bool, TestCaseError> {
    let Some(only) = &request.provider.only else {
        return Ok(false);
    };
    let Ok(plan) = route(&catalog, &request, 3)? else {
        return Ok(false);
    };
    for a in &plan.attempts {
        let ep = endpoint(&catalog, &a.model, &a.endpoint);
        prop_assert!(
            only.iter().any(|s| names(s, ep)),
            "{} is not in only {:?}",
            a.endpoint,
            only
        );
    }
    Ok(true)
}

fn check_hard_filters_hold_for_every_attempt(
    (catalog, request): (Catalog, Request),
    seed: u64,
) -> Result<bool, TestCaseError> {
    let Ok(plan) = route(&catalog, &request, seed)? else {
        return Ok(false);
    };
    for a in &plan.attempts {
        let ep = endpoint(&catalog, &a.model, &a.endpoint);
        let failures = hard_failures(ep, &request);
        prop_assert!(
            failures.is_empty(),
            "{} is attempted but fails {:?}",
            a.endpoint,
            failures
        );
    }
    Ok(true)
}

fn check_sort_is_monotone_and_seed_free(
    (catalog, request): (Catalog, Request),
    seeds: [u64; 2],
) -> Result<bool, TestCaseError> {
    let Ok(plan) = route(&catalog, &request, seeds[0])? else {
        return Ok(false);
    };
    let other = route(&catalog, &request, seeds[1])?;
    prop_assert_eq!(
        other.as_ref().ok(),
        Some(&plan),
        "a sorted plan does not depend on the seed"
    );
    let by = request.sort().map(|s| s.by).unwrap_or(SortBy::Price);
    for run in runs(&catalog, &request, &plan) {
        for group in preferred_first(&run, &request)? {
            let keys: Vec<_> = group.iter().map(|ep| sort_key(by, ep, &request)).collect();
            for w in keys.windows(2) {
                prop_assert!(
                    key_le(&w[0], &w[1]),
                    "sort by {:?} is monotone: {:?} then {:?}",
                    by,
                    w[0],
                    w[1]
                );
            }
        }
    }
    for a in &plan.attempts {
        let p = a.first_probability;
        prop_assert!(
            p == 0.0 || p == 1.0,
            "a sorted plan is deterministic: {} has {}",
            a.endpoint,
            p
        );
    }
    Ok(true)
}

fn check_order_entries_lead_in_entry_order(
    (catalog, request): (Catalog, Request),
    seed: u64,
) -> Result<bool, TestCaseError> {
    let Ok(plan) = route(&catalog, &request, seed)? else {
        return Ok(false);
    };
    let order = request.provider.order.clone().unwrap_or_default();
    let entry = |ep: &Endpoint| order.iter().position(|s| names(s, ep));
    let mut matched_any = false;
    for run in runs(&catalog, &request, &plan) {
        let entries: Vec<Option<usize>> = run.iter().map(|ep| entry(ep)).collect();
        let lead = entries.iter().take_while(|e| e.is_some()).count();
        prop_assert!(
            entries[lead..].iter().all(Option::is_none),
            "order-named endpoints lead: {:?}",
            entries
        );
        prop_assert!(
            entries[..lead].windows(2).all(|w| w[0] <= w[1]),
            "order-named endpoints follow the entries' order: {:?}",
            entries
        );
        for (i, slug) in order.iter().enumerate() {
            if slug.contains('/') {
                continue;
            }
            let defaults: Vec<bool> = run[..lead]
                .iter()
                .zip(&entries)
                .filter(|(_, e)| **e == Some(i))
                .map(|(ep, _)| ep.tag.eq_ignore_ascii_case(&ep.provider))
                .collect();
            prop_assert!(
                defaults.windows(2).all(|w| w[0] || !w[1]),
                "under {:?} the provider's default endpoint comes first",
                slug
            );
        }
        matched_any |= lead > 0;
    }
    prop_assert_eq!(
        matched_any,
        plan.strategy == PlanStrategy::Order,
        "the strategy is order exactly when order matched an eligible endpoint"
    );
    for e in &plan.excluded {
        let ep = endpoint(&catalog, &e.model, &e.endpoint);
        prop_assert!(
            !(e.reason.code() == "fallbacks_disabled" && entry(ep).is_some()),
            "allow_fallbacks never cuts an endpoint order names: {}",
            e.endpoint
        );
    }
    Ok(true)
}

fn check_no_fallbacks_only_yields_what_order_named(
    (catalog, mut request): (Catalog, Request),
    keep_order: bool,
    seed: u64,
) -> Result<bool, TestCaseError> {
    request.provider.allow_fallbacks = false;
    if !keep_order {
        request.provider.order = None;
    }
    let Ok(plan) = route(&catalog, &request, seed)? else {
        return Ok(false);
    };
    match &request.provider.order {
        Some(order) => {
            for a in &plan.attempts {
                let ep = endpoint(&catalog, &a.model, &a.endpoint);
                prop_assert!(
                    order.iter().any(|s| names(s, ep)),
                    "{} is not named by order {:?}",
                    a.endpoint,
                    order
                );
            }
        }
        None => {
            for run in runs(&catalog, &request, &plan) {
                prop_assert_eq!(
                    run.len(),
                    1,
                    "without order, only the first choice of each model"
                );
            }
        }
    }
    Ok(true)
}

fn check_bands_keep_their_order(
    (catalog, request): (Catalog, Request),
    seed: u64,
) -> Result<bool, TestCaseError> {
    let Ok(plan) = route(&catalog, &request, seed)? else {
        return Ok(false);
    };
    prop_assert_eq!(plan.strategy, PlanStrategy::LoadBalance);
    for run in runs(&catalog, &request, &plan) {
        for group in preferred_first(&run, &request)? {
            let bands: Vec<u8> = group.iter().map(|ep| band(ep)).collect();
            prop_assert!(
                bands.windows(2).all(|w| w[0] <= w[1]),
                "bands in order: {:?}",
                bands
            );
            for w in group.windows(2) {
                let (a, b) = (w[0], w[1]);
                if band(a) != band(b) {
                    continue;
                }
                let (pa, pb) = (price(a, &request), price(b, &request));
                if band(a) == 2 {
                    prop_assert!(
                        pa < pb || (pa == pb && a.key < b.key),
                        "down endpoints go cheapest first: {} ({}) before {} ({})",
                        a.key,
                        pa,
                        b.tag,
                        pb
                    );
                } else {
                    prop_assert!(
                        pa.is_zero() || !pb.is_zero(),
                        "free endpoints lead their band: {} ({}) before {}",
                        a.tag,
                        pa,
                        b.tag
                    );
                }
            }
        }
    }
    Ok(true)
}

fn check_first_probabilities_sum_to_one(
    (catalog, request): (Catalog, Request),
    seed: u64,
) -> Result<bool, TestCaseError> {
    let Ok(router) = Router::compile(&catalog, &request, &Options::default()) else {
        return Ok(false);
    };
    let total: f64 = router.targets().iter().map(|t| t.first_probability).sum();
    prop_assert!(
        (total - 1.0).abs() < 1e-9,
        "probabilities over the eligible endpoints sum to {}",
        total
    );
    for t in router.targets() {
        prop_assert!(
            (0.0..=1.0).contains(&t.first_probability),
            "{} has {}",
            t.endpoint,
            t.first_probability
        );
    }
    let plan = router.plan(&mut SmallRng::seed_from_u64(seed));
    prop_assert!(
        plan.attempts[0].first_probability > 0.0,
        "the first attempt could have come first"
    );
    if request.provider.allow_fallbacks {
        let sum: f64 = plan.attempts.iter().map(|a| a.first_probability).sum();
        prop_assert!(
            (sum - 1.0).abs() < 1e-9,
            "probabilities over the plan sum to {}",
            sum
        );
    }
    Ok(true)
}

fn check_same_seed_same_plan(
    (catalog, request): (Catalog, Request),
    seed: u64,
) -> Result<bool, TestCaseError> {
    let Ok(router) = Router::compile(&catalog, &request, &Options::default()) else {
        return Ok(false);
    };
    let a = router.plan(&mut SmallRng::seed_from_u64(seed));
    let _ = router.plan(&mut SmallRng::seed_from_u64(seed ^ 1));
    let b = router.plan(&mut SmallRng::seed_from_u64(seed));
    prop_assert_eq!(&a, &b);
    let c = route(&catalog, &request, seed)?;
    prop_assert_eq!(c.as_ref().ok(), Some(&a));
    Ok(true)
}

fn check_endpoint_slugs_name_one_provider_slugs_name_all(
    model: Model,
) -> Result<(), TestCaseError> {
    for ep in &model.endpoints {
        for tag in [ep.tag.clone(), ep.tag.to_uppercase()] {
            let hits: Vec<&str> = model
                .endpoints
                .iter()
                .filter(|e| e.matches(&tag))
                .map(|e| e.key.as_str())
                .collect();
            if tag.contains('/') {
                let listed: Vec<&str> = model
                    .endpoints
                    .iter()
                    .filter(|e| e.tag.eq_ignore_ascii_case(&tag))
                    .map(|e| e.key.as_str())
                    .collect();
                prop_assert_eq!(
                    hits,
                    listed,
                    "endpoint slug {} matches the endpoints listed under it",
                    tag
                );
            }
        }
        for key in [ep.key.clone(), ep.key.to_uppercase()] {
            if key.contains('#') {
                let hits: Vec<&str> = model
                    .endpoints
                    .iter()
                    .filter(|e| e.matches(&key))
                    .map(|e| e.key.as_str())
                    .collect();
                prop_assert_eq!(
                    hits,
                    vec![ep.key.as_str()],
                    "key {} matches one endpoint",
                    key
                );
            }
        }
        let mut provider_names = vec![ep.provider.clone(), ep.provider.to_uppercase()];
        provider_names.extend(ep.provider_name.clone());
        for name in provider_names {
            for e in &model.endpoints {
                prop_assert_eq!(
                    e.matches(&name),
                    e.provider == ep.provider,
                    "{:?} matches {} exactly when it is a {} endpoint",
                    name,
                    e.tag,
                    ep.provider
                );
            }
        }
    }
    Ok(())
}

fn check_only_by_endpoint_or_provider_slug(
    model: Model,
    pick: prop::sample::Index,
) -> Result<(), TestCaseError> {
    let ep = pick.get(&model.endpoints).clone();
    let catalog = Catalog {
        models: vec![model],
    };
    for slug in [ep.tag.to_uppercase(), ep.key.clone(), ep.provider.clone()] {
        let named = catalog.models[0]
            .endpoints
            .iter()
            .filter(|e| names(&slug, e))
            .count();
        if slug.contains('#') {
            prop_assert_eq!(named, 1, "keys are unique within a model");
        }
        let body = serde_json::json!({"model": "m/x", "provider": {"only": [slug]}});
        let request =
            Request::parse(&body.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(plan) = route(&catalog, &request, 4)? else {
            return Err(TestCaseError::fail(format!(
                "only [{slug}] names an endpoint, so the request routes"
            )));
        };
        prop_assert_eq!(
            plan.attempts.len(),
            named,
            "only [{}] routes to every endpoint it names",
            slug
        );
        for a in &plan.attempts {
            prop_assert!(names(&slug, endpoint(&catalog, &a.model, &a.endpoint)));
        }
    }
    Ok(())
}

fn check_request_bodies_read_back(
    (body, request): (serde_json::Value, Request),
) -> Result<(), TestCaseError> {
    let text = body.to_string();
    let parsed = Request::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
    prop_assert_eq!(parsed, request, "{}", text);
    Ok(())
}

/// SPEC 8: a catalog with a repeated tag (a key `TAG#2`) is refused in routesim's own format,
/// which only listings may carry; any other loads back unchanged.
fn check_generated_catalogs_are_valid(catalog: Catalog) -> Result<(), TestCaseError> {
    let text = native_json(&catalog).to_string();
    let repeated = catalog
        .models
        .iter()
        .any(|m| m.endpoints.iter().any(|e| e.key != e.tag));
    if repeated {
        let err = Catalog::parse(&text).expect_err("a repeated tag in YAML is refused");
        prop_assert!(
            err.to_string().contains("duplicate endpoint slug"),
            "{}",
            err
        );
        return Ok(());
    }
    let loaded = Catalog::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
    prop_assert_eq!(loaded, catalog);
    Ok(())
}

/// A catalog in routesim's native format (SPEC 1), as JSON.
fn native_json(catalog: &Catalog) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let metric =
        |m: &Option<Percentiles>| m.map(|m| serde_json::to_value(m).unwrap_or(Value::Null));
    let models: Vec<Value> = catalog
        .models
        .iter()
        .map(|m| {
            let endpoints: Vec<Value> = m
                .endpoints
                .iter()
                .map(|e| {
                    let mut o = Map::new();
                    o.insert("provider".into(), json!(e.provider));
                    if let Some(name) = &e.provider_name {
                        o.insert("provider_name".into(), json!(name));
                    }
                    o.insert("tag".into(), json!(e.tag));
                    // Prices as decimal strings: the exact text (a JSON number in a `Value`
                    // would be the nearest f64).
                    let text = |m: Money| json!(m.to_string());
                    let mut pricing = json!({"prompt": text(e.pricing.prompt), "completion": text(e.pricing.completion)});
                    if let Some(r) = e.pricing.request {
                        pricing["request"] = text(r);
                    }
                    if let Some(i) = e.pricing.image {
                        pricing["image"] = text(i);
                    }
                    o.insert("pricing".into(), pricing);
                    o.insert("throughput".into(), json!(metric(&e.throughput)));
                    o.insert("latency".into(), json!(metric(&e.latency)));
                    o.insert("uptime".into(), json!(e.uptime));
                    // `unknown` written out or left out (both mean the same), by tag length.
                    if e.quantization != Quantization::Unknown || e.tag.len() % 2 == 0 {
                        o.insert("quantization".into(), json!(e.quantization.as_str()));
                    }
                    o.insert("context_length".into(), json!(e.context_length));
                    o.insert(
                        "max_completion_tokens".into(),
                        json!(e.max_completion_tokens),
                    );
                    if let Some(params) = e.supported_parameters {
                        let names: Vec<&str> = routesim::PARAMETERS
                            .iter()
                            .copied()
                            .filter(|n| params.contains_name(n))
                            .collect();
                        o.insert("supported_parameters".into(), json!(names));
                    }
                    let dc = match e.data_collection {
                        DataCollection::Allow => "allow",
                        DataCollection::Deny => "deny",
                    };
                    o.insert("data_collection".into(), json!(dc));
                    o.insert("zdr".into(), json!(e.zdr));
                    o.insert("distillable".into(), json!(e.distillable));
                    o.insert("quality".into(), json!(e.quality));
                    if let Some(tier) = e.tier {
                        o.insert("tier".into(), json!(tier.as_str()));
                    }
                    // 0 written out or left out (both mean the same), by tag length.
                    if e.status != 0 || e.tag.len() % 2 == 1 {
                        o.insert("status".into(), json!(e.status));
                    }
                    Value::Object(o)
                })
                .collect();
            json!({"id": m.id, "endpoints": endpoints})
        })
        .collect();
    json!({ "models": models })
}
