//! The compiled router (SPEC section 5a): a request's plan as parts of segments, with the exact
//! first-attempt probabilities ready. Draws plans with a caller-supplied RNG into a caller-owned
//! buffer without allocating; never filters, never reads files.

use crate::catalog::{Catalog, Endpoint, Pricing};
use crate::error::Error;
use crate::filter::Reason;
use crate::money::Money;
use crate::order::{Scratch, Segment, TargetId};
use crate::plan::{Attempt, Exclusion, Plan, PlanUsage, Strategy};
use crate::request::Request;
use crate::resolve::Options;
use rand::Rng;

/// An eligible endpoint as the router sees it; its strings borrow from the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Target<'c> {
    /// Model id.
    pub model: &'c str,
    /// Endpoint key ([`Endpoint::key`]): its tag, or `TAG#2`, ... where a listing repeats the tag.
    pub endpoint: &'c str,
    /// Provider slug.
    pub provider: &'c str,
    /// The exact price used for ordering (see [`Attempt::price`]); weights use its nearest `f64`.
    pub price: Money,
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
    source: &'c Endpoint,
}

impl<'c> Target<'c> {
    pub(crate) fn new(model: &'c str, ep: &'c Endpoint, price: Money) -> Target<'c> {
        Target {
            model,
            endpoint: &ep.key,
            provider: &ep.provider,
            price,
            pricing: ep.pricing,
            uptime: ep.uptime,
            latency: ep.latency.and_then(|l| l.p50),
            first_probability: 0.0,
            byok: false,
            source: ep,
        }
    }

    /// The catalog endpoint this target routes to, with everything the catalog knows of it.
    pub fn source(&self) -> &'c Endpoint {
        self.source
    }
}

/// A caller-owned buffer that plans are drawn into; reuse it to draw without allocating.
#[derive(Debug, Clone, Default)]
pub struct PlanBuf {
    attempts: Vec<TargetId>,
    scratch: Scratch,
}

impl PlanBuf {
    /// The drawn plan as target ids, first attempt first (see [`Router::target`]).
    pub fn attempts(&self) -> &[TargetId] {
        &self.attempts
    }
}

/// One model's part of the plan (or every model's, under `partition: "none"`), or the sticky
/// endpoint's part at the front. Never empty once in a router.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// The segments in turn.
    pub(crate) segments: Vec<Segment>,
    /// `allow_fallbacks: false` without `order`: only the first attempt of the first segment.
    pub(crate) first_only: bool,
    /// The account's own-key (BYOK) attempts of a model.
    pub(crate) own_keys: bool,
}

/// One run of a plan, as [`Router::runs`] shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Run<'a> {
    /// Exactly this order.
    Fixed(&'a [TargetId]),
    /// Zero-price ids in uniformly random order, then the priced ones (cheapest first) by
    /// successive weighted draws.
    Weighted {
        free: &'a [TargetId],
        priced: &'a [TargetId],
    },
}

/// An endpoint of a requested model, in catalog order: excluded with its reason, or a target.
#[derive(Debug, Clone)]
pub(crate) enum Entry<'c> {
    Excluded {
        model: &'c str,
        endpoint: &'c str,
        reason: Reason,
    },
    Eligible(TargetId),
}

/// A request compiled against a catalog.
///
/// ```
/// use rand::SeedableRng;
/// let catalog = routesim::Catalog::parse(
///     "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 0.5, completion: 0.5 } }\n      - { provider: c, pricing: { prompt: 1.5, completion: 1.5 } }\n").unwrap();
/// let request = routesim::Request::parse(r#"{"model": "m"}"#).unwrap();
/// let router = routesim::Router::compile(&catalog, &request, &routesim::Options::default()).unwrap();
/// assert!((router.targets()[0].first_probability - 0.9).abs() < 1e-12);
/// let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
/// let mut buf = router.buffer();
/// router.draw(&mut rng, &mut buf);
/// assert_eq!(buf.attempts().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Router<'c> {
    targets: Vec<Target<'c>>,
    /// Non-empty parts, each with at least one segment; the first segment of the first part is
    /// the plan's first segment.
    parts: Vec<Part>,
    entries: Vec<Entry<'c>>,
    strategy: Strategy,
    warnings: Vec<String>,
    /// Whether the request sets `order` (for the `fallbacks_disabled` detail).
    has_order: bool,
    /// The token counts behind every target's cost.
    usage: PlanUsage,
}

impl<'c> Router<'c> {
    /// Compiles `request` against `catalog`.
    ///
    /// Fails with [`ErrorKind::UnknownModel`](crate::ErrorKind::UnknownModel) when a requested
    /// model is not in the catalog, and with [`ErrorKind::Unroutable`](crate::ErrorKind::Unroutable)
    /// when no endpoint of any requested model is eligible; that error
    /// carries every exclusion and the single preferences whose removal would let the request
    /// route ([`crate::Unroutable::relaxations`]).
    pub fn compile(
        catalog: &'c Catalog,
        request: &Request,
        options: &Options,
    ) -> Result<Router<'c>, Error> {
        crate::compile::compile(catalog, request, options)
    }

    /// Assembles a router from compiled parts, at least one of them with an attempt: drops the
    /// empty parts, sets the exact first-attempt probabilities and readies the first picks.
    pub(crate) fn new(
        mut targets: Vec<Target<'c>>,
        mut parts: Vec<Part>,
        entries: Vec<Entry<'c>>,
        strategy: Strategy,
        warnings: Vec<String>,
        has_order: bool,
        usage: PlanUsage,
    ) -> Router<'c> {
        parts.retain(|p| !p.segments.is_empty());
        debug_assert!(
            parts
                .iter()
                .flat_map(|p| &p.segments)
                .all(|s| !s.is_empty()),
            "ordering never makes an empty segment"
        );
        for (i, part) in parts.iter_mut().enumerate() {
            // Segments drawn alone (the plan's first, and those of first-only parts) get the
            // table their first pick is drawn by; the rest of a first-only part never is drawn.
            if part.first_only {
                part.segments.truncate(1);
            }
            if i == 0 || part.first_only {
                if let Segment::Weighted(run) = &mut part.segments[0] {
                    run.index_first_pick();
                }
            }
        }
        debug_assert!(
            !parts.is_empty(),
            "compile checks that something can be attempted"
        );
        match &parts[0].segments[0] {
            Segment::Fixed(ids) => targets[ids[0].index()].first_probability = 1.0,
            Segment::Weighted(run) => {
                for (id, p) in run.first_probabilities() {
                    targets[id.index()].first_probability = p;
                }
            }
        }
        Router {
            targets,
            parts,
            entries,
            strategy,
            warnings,
            has_order,
            usage,
        }
    }

    /// The token counts the targets' costs are for: the request's `usage_estimate`, else
    /// [`DEFAULT_USAGE`](crate::DEFAULT_USAGE), marked assumed.
    pub fn usage(&self) -> PlanUsage {
        self.usage
    }

    /// What an attempt on target `id` costs for [`Router::usage`] ([`Attempt::cost`]).
    /// Computed when asked, like [`Router::expected_first_cost`]: compiling a request does not
    /// pay for costs.
    pub fn cost(&self, id: TargetId) -> Money {
        self.usage.cost(&self.targets[id.index()].pricing)
    }

    /// What the first attempt is expected to cost ([`Plan::expected_first_cost`]).
    pub fn expected_first_cost(&self) -> Money {
        expected_first_cost(&self.targets, self.usage)
    }

    /// Every attempt this router can make, in its likeliest order: deterministic runs as they
    /// are, weighted runs cheapest first (zero-price endpoints first).
    pub fn likely_order(&self) -> Vec<TargetId> {
        let mut out = Vec::new();
        for part in &self.parts {
            match (&part.segments[0], part.first_only) {
                (Segment::Fixed(ids), true) => out.push(ids[0]),
                (_, _) => out.extend(part.segments.iter().flat_map(Segment::ids)),
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
    pub fn targets(&self) -> &[Target<'c>] {
        &self.targets
    }

    /// Every target id, in [`Router::targets`] order.
    pub fn ids(&self) -> impl Iterator<Item = TargetId> + use<'_, 'c> {
        (0..self.targets.len()).map(TargetId::new)
    }

    /// One eligible endpoint by id (ids come from [`PlanBuf::attempts`] and [`Router::first`]).
    pub fn target(&self, id: TargetId) -> &Target<'c> {
        &self.targets[id.index()]
    }

    /// A buffer with room for any plan of this router, so that [`Router::draw`] never allocates.
    pub fn buffer(&self) -> PlanBuf {
        let scratch = self
            .parts
            .iter()
            .flat_map(|p| &p.segments)
            .map(|s| match s {
                Segment::Weighted(run) => run.scratch_len(),
                Segment::Fixed(_) => 0,
            })
            .max()
            .unwrap_or(0);
        PlanBuf {
            attempts: Vec::with_capacity(self.targets.len()),
            scratch: Scratch::with_capacity(scratch),
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
        mut stop: impl FnMut(&mut R, TargetId) -> bool,
    ) -> Option<TargetId> {
        buf.attempts.clear();
        for part in &self.parts {
            if part.first_only {
                let id = first_of(&part.segments[0], rng);
                buf.attempts.push(id);
                if stop(rng, id) {
                    return Some(id);
                }
                continue;
            }
            for seg in &part.segments {
                let start = buf.attempts.len();
                let stopped = match seg {
                    Segment::Fixed(ids) => {
                        buf.attempts.extend_from_slice(ids);
                        ids.iter().position(|&id| stop(rng, id))
                    }
                    Segment::Weighted(run) => {
                        run.draw_until(rng, &mut buf.attempts, &mut buf.scratch, &mut stop)
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
    pub fn all_fail_probability(&self, fail: impl Fn(TargetId) -> f64) -> f64 {
        let part = |p: &Part| match (&p.segments[0], p.first_only) {
            (Segment::Fixed(ids), true) => fail(ids[0]),
            (Segment::Weighted(run), true) => {
                run.first_probabilities().map(|(id, q)| q * fail(id)).sum()
            }
            (_, false) => p
                .segments
                .iter()
                .flat_map(Segment::ids)
                .map(&fail)
                .product(),
        };
        self.parts.iter().map(part).product()
    }

    /// The plan's shape as replay reads it (SPEC section 10): each part in turn, whether it is
    /// cut to its first attempt, and its runs. Replay weighs the runs with its own exponent, so
    /// the draw itself stays as it is.
    pub(crate) fn runs(&self) -> impl Iterator<Item = (bool, Vec<Run<'_>>)> + '_ {
        self.parts.iter().map(|p| {
            let runs = p
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Fixed(ids) => Run::Fixed(ids),
                    Segment::Weighted(run) => {
                        let (free, priced) = run.parts();
                        Run::Weighted { free, priced }
                    }
                })
                .collect();
            (p.first_only, runs)
        })
    }

    /// The endpoints of the requested models that the filters excluded, with their reasons,
    /// in catalog order.
    pub(crate) fn excluded(&self) -> impl Iterator<Item = (&'c str, &'c str, &Reason)> + '_ {
        self.entries.iter().filter_map(|e| match e {
            Entry::Excluded {
                model,
                endpoint,
                reason,
            } => Some((*model, *endpoint, reason)),
            Entry::Eligible(_) => None,
        })
    }

    /// Draws only the first attempt, in O(log n).
    pub fn first<R: Rng + ?Sized>(&self, rng: &mut R) -> TargetId {
        first_of(&self.parts[0].segments[0], rng)
    }

    /// Draws one plan as owned data, with every exclusion and warning.
    pub fn plan<R: Rng + ?Sized>(&self, rng: &mut R) -> Plan {
        let mut buf = self.buffer();
        self.draw(rng, &mut buf);
        self.plan_from(&buf)
    }

    /// Turns a drawn buffer into a [`Plan`]. Eligible endpoints the plan does not attempt were
    /// cut by `allow_fallbacks: false` and are listed as excluded for it.
    pub fn plan_from(&self, buf: &PlanBuf) -> Plan {
        let mut drawn = vec![false; self.targets.len()];
        let attempts = buf
            .attempts
            .iter()
            .map(|&id| {
                drawn[id.index()] = true;
                let t = &self.targets[id.index()];
                Attempt {
                    model: t.model.to_string(),
                    endpoint: t.endpoint.to_string(),
                    provider: t.provider.to_string(),
                    price: t.price,
                    cost: self.usage.cost(&t.pricing),
                    first_probability: t.first_probability,
                    byok: t.byok,
                    status: t.source.status,
                }
            })
            .collect();
        let excluded = self
            .entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Eligible(id) if drawn[id.index()] => None,
                entry => Some(self.exclusion(entry)),
            })
            .collect();
        Plan {
            strategy: self.strategy,
            expected_first_cost: self.expected_first_cost(),
            usage: self.usage,
            attempts,
            excluded,
            warnings: self.warnings.clone(),
        }
    }

    /// An entry as an exclusion; an eligible one is one that `allow_fallbacks: false` cut.
    fn exclusion(&self, entry: &Entry) -> Exclusion {
        exclusion(entry, &self.targets, self.has_order)
    }
}

/// An entry as an exclusion; an eligible one is one that `allow_fallbacks: false` cut.
pub(crate) fn exclusion(entry: &Entry, targets: &[Target], has_order: bool) -> Exclusion {
    match entry {
        Entry::Excluded {
            model,
            endpoint,
            reason,
        } => Exclusion {
            model: model.to_string(),
            endpoint: endpoint.to_string(),
            reason: reason.clone(),
        },
        Entry::Eligible(id) => {
            let t = &targets[id.index()];
            Exclusion {
                model: t.model.to_string(),
                endpoint: t.endpoint.to_string(),
                reason: Reason::FallbacksDisabled { has_order },
            }
        }
    }
}

/// Sum over targets of first probability x cost. Exact when the first attempt is certain (a
/// probability of 1, the others 0); otherwise an expectation over binary probabilities,
/// rounded to 12 significant digits like every mean (SPEC section 8).
fn expected_first_cost(targets: &[Target], usage: PlanUsage) -> Money {
    let mut exact = Money::ZERO;
    let mut weighted = 0.0;
    let mut certain = true;
    for t in targets.iter().filter(|t| t.first_probability > 0.0) {
        if t.first_probability == 1.0 {
            exact = exact.saturating_add(usage.cost(&t.pricing));
        } else {
            certain = false;
            weighted += t.first_probability * usage.cost(&t.pricing).to_f64();
        }
    }
    if certain {
        return exact;
    }
    let total = weighted + exact.to_f64();
    Money::from_f64(total).map_or(Money::MAX, |m| m.round_significant(12))
}

/// The first attempt of a segment drawn alone.
fn first_of<R: Rng + ?Sized>(segment: &Segment, rng: &mut R) -> TargetId {
    match segment {
        Segment::Fixed(ids) => ids[0],
        Segment::Weighted(run) => run.first(rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;
    use crate::explain::AvailabilityCode;
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

    /// The test catalog, parsed once; routers borrow from it.
    fn catalog() -> &'static Catalog {
        static PARSED: std::sync::LazyLock<Catalog> =
            std::sync::LazyLock::new(|| Catalog::parse(CATALOG).unwrap());
        &PARSED
    }

    fn compile(request: &str) -> Result<Router<'static>, Error> {
        Router::compile(
            catalog(),
            &Request::parse(request).unwrap(),
            &Options::default(),
        )
    }

    fn slugs(router: &Router, seed: u64) -> Vec<String> {
        let plan = router.plan(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        plan.attempts.into_iter().map(|a| a.endpoint).collect()
    }

    #[test]
    fn attempts_name_endpoints_by_key_and_carry_a_status_only_when_not_zero() {
        let catalog = Catalog::parse(
            r#"{"data": {"id": "x/m", "endpoints": [
            {"tag": "t", "pricing": {"prompt": "0.000001", "completion": "0"}},
            {"tag": "t", "pricing": {"prompt": "0.000002", "completion": "0"}, "status": -3}]}}"#,
        )
        .unwrap();
        let request = Request::parse(r#"{"model":"x/m","provider":{"sort":"price"}}"#).unwrap();
        let router = Router::compile(&catalog, &request, &Options::default()).unwrap();
        let plan = router.plan(&mut Xoshiro256PlusPlus::seed_from_u64(1));
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["attempts"][0]["endpoint"], "t");
        assert_eq!(json["attempts"][1]["endpoint"], "t#2");
        assert!(
            json["attempts"][0].get("status").is_none(),
            "status 0 is not printed"
        );
        assert_eq!(json["attempts"][1]["status"], -3);
    }

    const TWO: &str = "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n      - { provider: b, pricing: { prompt: 2, completion: 0 } }\n      - { provider: c, pricing: { prompt: 1, completion: 0 }, zdr: true }\n";

    fn router_on<'c>(catalog: &'c Catalog, request: &str) -> Router<'c> {
        Router::compile(
            catalog,
            &Request::parse(request).unwrap(),
            &Options::default(),
        )
        .unwrap()
    }

    /// A walked part fails with the product over its endpoints; a part cut to its first
    /// attempt with the mean over the first pick (weights 1/price^2: a 0.8, b 0.2).
    #[test]
    fn all_fail_probability_multiplies_walked_parts_and_averages_first_picks() {
        let catalog = Catalog::parse(TWO).unwrap();
        let fail = |r: &Router, id: TargetId| match r.target(id).endpoint {
            "a" => 0.5,
            _ => 0.2,
        };
        let walked = router_on(&catalog, r#"{"model":"m","provider":{"ignore":["c"]}}"#);
        let p = walked.all_fail_probability(|id| fail(&walked, id));
        assert!((p - 0.5 * 0.2).abs() < 1e-12, "{p}");
        let cut = router_on(
            &catalog,
            r#"{"model":"m","provider":{"ignore":["c"],"allow_fallbacks":false}}"#,
        );
        let p = cut.all_fail_probability(|id| fail(&cut, id));
        assert!((p - (0.8 * 0.5 + 0.2 * 0.2)).abs() < 1e-12, "{p}");
    }

    /// The filters' exclusions, and under `allow_fallbacks: false` every eligible endpoint the
    /// plan does not attempt, listed with its reason; attempted ones are not.
    #[test]
    fn plans_list_what_the_filters_and_the_cut_left_out() {
        let catalog = Catalog::parse(TWO).unwrap();
        let r = router_on(
            &catalog,
            r#"{"model":"m","provider":{"zdr":true,"sort":"price","allow_fallbacks":false}}"#,
        );
        let excluded: Vec<(&str, &str, &str)> = r
            .excluded()
            .map(|(m, e, reason)| (m, e, reason.code()))
            .collect();
        assert_eq!(excluded, [("m", "a", "zdr"), ("m", "b", "zdr")]);
        // The plan's attempts, and what it lists as left out with the reason's code.
        let drawn = |r: &Router| {
            let plan = r.plan(&mut Xoshiro256PlusPlus::seed_from_u64(1));
            let left: Vec<String> = plan
                .excluded
                .iter()
                .map(|e| format!("{}: {}", e.endpoint, e.reason.code()))
                .collect();
            (slugs(r, 1), left)
        };
        let (attempts, left) = drawn(&r);
        assert_eq!(attempts, ["c"]);
        assert_eq!(left, ["a: zdr", "b: zdr"], "c is attempted, so not listed");
        let r = router_on(
            &catalog,
            r#"{"model":"m","provider":{"sort":"price","allow_fallbacks":false}}"#,
        );
        let (attempts, left) = drawn(&r);
        assert_eq!(attempts, ["a"], "cheapest, then slug");
        assert_eq!(left, ["b: fallbacks_disabled", "c: fallbacks_disabled"]);
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
        assert_eq!(r.target(TargetId::new(0)).first_probability, 1.0);
    }

    #[test]
    fn order_matching_nothing_falls_back_to_the_base_strategy() {
        let r = compile(r#"{"model":"m","provider":{"order":["zzz"]}}"#).unwrap();
        assert_eq!(r.strategy(), Strategy::LoadBalance);
        assert_eq!(r.warnings().len(), 1);
        assert!(
            r.warnings()[0].starts_with("provider.order[0] \"zzz\" matches no endpoint of m"),
            "{:?}",
            r.warnings()
        );
    }

    /// SPEC 4: zero-price endpoints come first and share the first attempt equally.
    #[test]
    fn free_endpoints_share_the_first_attempt_equally() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 0, completion: 0 } }\n      - { provider: b, pricing: { prompt: 1, completion: 1 } }\n      - { provider: c, pricing: { prompt: 0, completion: 0 } }\n").unwrap();
        let request = Request::parse(r#"{"model":"m"}"#).unwrap();
        let r = Router::compile(&catalog, &request, &Options::default()).unwrap();
        let p: Vec<f64> = r.targets().iter().map(|t| t.first_probability).collect();
        assert_eq!(
            p,
            [0.5, 0.0, 0.5],
            "two free endpoints, one half each; b never first"
        );
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
                TargetId::new(4),
                "a down endpoint is never first while others are up"
            );
        }
    }

    /// A weighted run with zero-price ids first: a stop among the priced ones is found at its
    /// place after them.
    #[test]
    fn draw_until_stops_among_priced_ids_after_free_ones() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: f, pricing: { prompt: 0, completion: 0 } }\n      - { provider: g, pricing: { prompt: 0, completion: 0 } }\n      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n      - { provider: b, pricing: { prompt: 2, completion: 0 } }\n").unwrap();
        let r = router_on(&catalog, r#"{"model":"m"}"#);
        let (mut full, mut part) = (r.buffer(), r.buffer());
        for seed in 0..10 {
            r.draw(&mut Xoshiro256PlusPlus::seed_from_u64(seed), &mut full);
            for at in 0..4 {
                let stop = full.attempts()[at];
                let got = r.draw_until(
                    &mut Xoshiro256PlusPlus::seed_from_u64(seed),
                    &mut part,
                    |_, id| id == stop,
                );
                assert_eq!(got, Some(stop), "seed {seed}, stop at {at}");
                assert_eq!(part.attempts(), &full.attempts()[..=at]);
            }
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

    /// A seed reproduces a plan whatever came before it: through a freshly compiled router and
    /// through a buffer that other seeds were drawn into first. And the seed matters: the
    /// catalog's four stable endpoints come in several orders over 20 seeds.
    #[test]
    fn a_seed_reproduces_its_plan_through_a_fresh_router_and_a_reused_buffer() {
        let r = compile(r#"{"model":"m"}"#).unwrap();
        let mut reused = r.buffer();
        let mut orders = std::collections::HashSet::new();
        for seed in 0..20 {
            let fresh = compile(r#"{"model":"m"}"#).unwrap();
            let mut buf = fresh.buffer();
            fresh.draw(&mut Xoshiro256PlusPlus::seed_from_u64(seed), &mut buf);
            r.draw(
                &mut Xoshiro256PlusPlus::seed_from_u64(seed + 100),
                &mut reused,
            );
            r.draw(&mut Xoshiro256PlusPlus::seed_from_u64(seed), &mut reused);
            assert_eq!(reused.attempts(), buf.attempts(), "seed {seed}");
            orders.insert(buf.attempts().to_vec());
        }
        assert!(orders.len() >= 3, "the seed drives the draw: {orders:?}");
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

    /// The unroutable message names the last stage and counts every exclusion by reason, in
    /// the order the reasons first appear in the catalog.
    #[test]
    fn the_unroutable_message_counts_exclusions_by_reason() {
        let err = compile(r#"{"model":"m","provider":{"zdr":true,"max_price":{"prompt":0.5}}}"#)
            .unwrap_err();
        let u = err.unroutable().expect("nothing is eligible");
        assert_eq!(
            u.message,
            "no endpoint of m can serve the request; the last were removed by max_price \
             (5 excluded: 2 max_price, 3 zdr)"
        );
        assert_eq!(u.excluded.len(), 5);
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
    fn expected_first_cost_is_the_probability_weighted_cost_of_the_first_attempt() {
        // A at $1 (0.5 + 0.5) is first with 0.9, C at $3 with 0.1; B is down. At the assumed
        // 1000 + 500 tokens A costs 0.00075 and C 0.00225: 0.9 x 0.00075 + 0.1 x 0.00225.
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 0.5, completion: 0.5 } }\n      - { provider: b, pricing: { prompt: 1, completion: 1 }, uptime: 0.5 }\n      - { provider: c, pricing: { prompt: 1.5, completion: 1.5 } }\n").unwrap();
        let compile = |body: &str| {
            Router::compile(
                &catalog,
                &Request::parse(body).unwrap(),
                &Options::default(),
            )
            .unwrap()
        };
        let balanced = compile(r#"{"model":"m"}"#);
        assert_eq!(balanced.expected_first_cost().to_string(), "0.0009");
        assert!(
            balanced.usage().assumed,
            "no usage_estimate: the default, marked"
        );
        let sorted = compile(r#"{"model":"m","provider":{"sort":"price"}}"#);
        assert_eq!(
            sorted.expected_first_cost(),
            sorted.cost(sorted.ids().next().unwrap()),
            "a certain first attempt: exactly its cost"
        );
        let estimated = compile(
            r#"{"model":"m","provider":{"order":["c"]},"usage_estimate":{"prompt_tokens":10,"completion_tokens":0}}"#,
        );
        assert_eq!(estimated.expected_first_cost().to_string(), "0.000015");
        assert!(!estimated.usage().assumed);
        let plan = estimated.plan(&mut Xoshiro256PlusPlus::seed_from_u64(1));
        let costs: Vec<String> = plan.attempts.iter().map(|a| a.cost.to_string()).collect();
        assert_eq!(
            costs,
            ["0.000015", "0.000005", "0.00001"],
            "c, then a, then b"
        );
    }

    /// A certain first attempt costs exactly its cost, past the 12 significant digits of a
    /// mean; a first attempt certain in f64 beside one with a vanishing chance adds both.
    #[test]
    fn expected_first_cost_keeps_a_certain_cost_exact_and_adds_vanishing_chances() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1.2345678901234, completion: 0 } }\n      - { provider: b, pricing: { prompt: 3, completion: 0 } }\n  - id: n\n    endpoints:\n      - { provider: a, pricing: { prompt: 0.001, completion: 0 } }\n      - { provider: b, pricing: { prompt: 1000000, completion: 0 } }\n").unwrap();
        let sorted = router_on(
            &catalog,
            r#"{"model":"m","provider":{"sort":"price"},"usage_estimate":{"prompt_tokens":1000000,"completion_tokens":0}}"#,
        );
        assert_eq!(sorted.expected_first_cost().to_string(), "1.2345678901234");
        // Weights 1 and 10^-18: a is first with probability 1.0 in f64, b with 10^-18.
        let lopsided = router_on(&catalog, r#"{"model":"n"}"#);
        let first: Vec<f64> = lopsided
            .ids()
            .map(|id| lopsided.target(id).first_probability)
            .collect();
        assert_eq!(first[0], 1.0);
        assert!(first[1] > 0.0);
        // 1000 tokens: 10^-6 for a, plus 10^-18 x 1000 for b.
        assert_eq!(
            lopsided.expected_first_cost().to_string(),
            "0.000001000000001"
        );
    }

    #[test]
    fn the_widest_price_span_stays_weighable_and_larger_prices_are_refused() {
        // The cheapest non-zero price and the dearest allowed: weights relative to the dearest
        // span (10^9 / 10^-18)^2 = 10^54, well inside f64.
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 0.000000000000000001, completion: 0 } }\n      - { provider: c, pricing: { prompt: 1e9, completion: 1e9 } }\n").unwrap();
        let r = Router::compile(
            &catalog,
            &Request::parse(r#"{"model":"m"}"#).unwrap(),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(r.targets()[1].price.to_string(), "2000000000");
        let c = r.targets()[1].first_probability;
        assert!(
            c > 0.0 && c < 1e-50,
            "the dearest keeps a positive weight: {c}"
        );
        let total: f64 = r.targets().iter().map(|t| t.first_probability).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let e = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1e200, completion: 0 } }\n").unwrap_err();
        assert!(
            e.to_string().contains("pricing.prompt") && e.to_string().contains("at most 10^9 USD"),
            "{e}"
        );
    }

    fn compile_with(request: &str, account: &str) -> Result<Router<'static>, Error> {
        let catalog = catalog();
        let options = Options {
            account: Account::parse(account).unwrap(),
            ..Options::default()
        };
        Router::compile(catalog, &Request::parse(request).unwrap(), &options)
    }

    fn endpoints<'a>(r: &'a Router) -> Vec<&'a str> {
        r.targets()
            .iter()
            .filter(|t| !t.byok)
            .map(|t| t.endpoint)
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
