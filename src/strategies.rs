//! Proptest strategies for endpoints, catalogs, requests and provider preferences, so that
//! users can property-test their own routing rules (enable the `proptest` feature).
//!
//! The strategies cover the whole space the spec documents: every quantization (and a missing
//! one), zero prices, missing metrics and percentile maps, uptimes on both sides of each band
//! threshold, default and non-default endpoint slugs, display names, several models and
//! `models` fallbacks, and both forms of `sort`; from real listings (SPEC section 8), tags
//! listed twice (keys `TAG#2`), listing `status` values including the deranked -3, and exact
//! prices whose sums tie or differ by one part in 10^16. [`CatalogShape::crowded`] makes bands
//! long enough for every draw path, with several free endpoints in one band. Every catalog they produce passes
//! [`Catalog::parse`]'s validation; slugs in preferences are mostly drawn from the catalog (in
//! any letter case, as tag, provider slug or display name) so that they match something, plus a
//! few that match nothing.
//!
//! SPEC section 7 is opt-in, so that properties written for the core rules need not know it:
//! [`CatalogShape::tiers`] adds priority and flex endpoints, [`service_tier`] draws the request
//! field, [`account`] draws account settings over a catalog's slugs, and [`tiered_scenario`]
//! draws all three together.
//!
//! ```
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//! use rand::SeedableRng;
//!
//! let mut runner = TestRunner::default();
//! runner
//!     .run(&routesim::strategies::scenario(), |(catalog, request)| {
//!         let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
//!         if let Ok(plan) = routesim::route(&catalog, &request, &Default::default(), &mut rng) {
//!             prop_assert!(!plan.attempts.is_empty(), "a routed plan has an attempt");
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

use crate::account::Account;
use crate::catalog::{
    Catalog, DataCollection, Endpoint, Model, PARAMETERS, Parameters, Percentiles, Pricing,
    Quantization, Tier,
};
use crate::money::Money;
use crate::order::Bands;
use crate::request::{
    MaxPrice, ModelRef, Partition, Preferences, Request, ServiceTier, Sort, SortBy, UsageEstimate,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Map, Value, json};

/// A provider the catalog strategies may draw: its slug and, optionally, its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Provider slug, e.g. `amazon-bedrock`.
    pub slug: String,
    /// Display name, e.g. `Amazon Bedrock`; endpoints of the provider carry it or not, all alike
    /// within a model.
    pub name: Option<String>,
}

impl Provider {
    /// A provider with a display name.
    pub fn named(slug: &str, name: &str) -> Provider {
        Provider {
            slug: slug.into(),
            name: Some(name.into()),
        }
    }
}

/// What catalogs look like: the model ids, the providers, and how many endpoints a model has.
///
/// ```
/// let shape = routesim::strategies::CatalogShape::default();
/// assert!(shape.providers.iter().any(|p| p.slug == "amazon-bedrock"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogShape {
    /// Model ids to draw from; a catalog holds a non-empty subset of them.
    pub model_ids: Vec<String>,
    /// Providers to draw from.
    pub providers: Vec<Provider>,
    /// Suffixes of non-default endpoint slugs (`provider/suffix`).
    pub tag_suffixes: Vec<String>,
    /// Most endpoints per model (a model may also have none).
    pub max_endpoints: usize,
    /// The uptime band thresholds that [`uptime`] straddles.
    pub bands: Bands,
    /// Whether `priority` and `flex` join the tag suffixes as tier endpoints (SPEC section 7),
    /// tagged `provider/priority` and `provider/flex`: each endpoint slot is then sometimes one
    /// (most catalogs get at least one). Off by default; a `priority` or `flex` entry in
    /// `tag_suffixes` without it gives endpoints of the default tier with that tag.
    pub tiers: bool,
    /// Whether a model sometimes lists a second endpoint under a tag it already has, as real
    /// listings do (SPEC section 8): the copy gets its own prices and metrics and the key
    /// `TAG#2`. Such catalogs load from listings only; routesim's YAML refuses a repeated tag.
    pub repeated_tags: bool,
    /// Weight of free endpoints (both prices zero) against 7 for priced ones: 1 by default; more
    /// puts several free endpoints in one band, whose order is uniformly random.
    pub free_weight: u32,
    /// Weight of an uptime of exactly 1 against 2 for the spread of [`uptime`]: 0 by default;
    /// more makes the stable band long.
    pub stable_weight: u32,
}

impl CatalogShape {
    /// Crowded models: 72 providers without display names, up to 160 endpoints per model, most
    /// of them stable, two in nine free. Long bands exercise every draw path (runs past the
    /// linear-scan limit of 63 are drawn by exponential keys, the first pick by a cumulative
    /// table) and first bands hold several free endpoints.
    ///
    /// ```
    /// let shape = routesim::strategies::CatalogShape::crowded();
    /// assert!(shape.providers.len() * (shape.tag_suffixes.len() + 1) >= shape.max_endpoints);
    /// ```
    pub fn crowded() -> CatalogShape {
        CatalogShape {
            model_ids: vec!["acme/crowded".into()],
            providers: (0..72)
                .map(|i| Provider {
                    slug: format!("p{i:02}"),
                    name: None,
                })
                .collect(),
            max_endpoints: 160,
            free_weight: 2,
            stable_weight: 12,
            ..CatalogShape::default()
        }
    }
}

impl Default for CatalogShape {
    fn default() -> CatalogShape {
        CatalogShape {
            model_ids: ["acme/widget", "acme/widget:free", "other/model"]
                .map(String::from)
                .to_vec(),
            providers: vec![
                Provider::named("deepinfra", "DeepInfra"),
                Provider::named("amazon-bedrock", "Amazon Bedrock"),
                Provider::named("together", "Together AI"),
                Provider::named("google-vertex", "Google Vertex"),
                Provider::named("novita", "NovitaAI"),
                Provider {
                    slug: "fireworks".into(),
                    name: None,
                },
                Provider {
                    slug: "kluster".into(),
                    name: None,
                },
            ],
            tag_suffixes: ["turbo", "fp8", "fast"].map(String::from).to_vec(),
            max_endpoints: 8,
            bands: Bands::default(),
            tiers: false,
            repeated_tags: true,
            free_weight: 1,
            stable_weight: 0,
        }
    }
}

/// Any quantization, `Unknown` (what a missing one means) included; common ones more often.
pub fn quantization() -> impl Strategy<Value = Quantization> {
    use Quantization::*;
    prop_oneof![
        2 => select(vec![Fp8, Bf16, Fp16, Unknown]),
        1 => select(Quantization::ALL.to_vec()),
    ]
}

/// A price in USD per million tokens: zero, round values whose sums tie (`1.10 + 4.10` and
/// `1.25 + 3.95`), a value one part in 10^16 above a round one (`5.500000000000001`), or
/// anything up to $20 in steps of 10^-6.
pub fn price() -> impl Strategy<Value = Money> {
    let exact = |text: &'static str| text.parse::<Money>().unwrap_or(Money::ZERO);
    prop_oneof![
        1 => Just(Money::ZERO),
        2 => select(vec!["0.1", "0.5", "1", "1.1", "1.25", "1.5", "2", "3", "3.95", "4.1"]).prop_map(exact),
        1 => select(vec!["5.5", "5.500000000000001", "0.000000000000000001"]).prop_map(exact),
        2 => (10_000u128..20_000_000).prop_map(|micros| Money::from_decimal(micros, 6).unwrap_or(Money::ZERO)),
    ]
}

/// A request or image fee: mostly none, else 0, $0.001 or $0.02.
fn fee() -> impl Strategy<Value = Option<Money>> {
    prop_oneof![
        3 => Just(None),
        1 => select(vec![0u128, 1, 20]).prop_map(|m| Money::from_decimal(m, 3)),
    ]
}

/// Endpoint prices; about one in eight is free (both prices zero).
pub fn pricing() -> impl Strategy<Value = Pricing> {
    pricing_with(1)
}

/// Endpoint prices, free with weight `free_weight` against 7 for priced ones.
fn pricing_with(free_weight: u32) -> impl Strategy<Value = Pricing> {
    prop_oneof![
        free_weight => Just(Pricing::default()),
        7 => (price(), price(), fee(), fee()).prop_map(|(prompt, completion, request, image)| {
            Pricing { prompt, completion, request, image }
        }),
    ]
}

/// An uptime: exactly at, or just below, each threshold of `bands`, the extremes, or anything
/// in `0..=1`.
pub fn uptime(bands: Bands) -> impl Strategy<Value = f64> {
    let below = |t: f64| (t - 1e-9).max(0.0);
    prop_oneof![
        1 => select(vec![
            1.0,
            bands.stable,
            below(bands.stable),
            bands.down,
            below(bands.down),
            0.0,
        ]),
        1 => 0.0f64..=1.0,
    ]
}

/// A metric: missing, a plain number (p50 only), or a map with any subset of percentiles,
/// values in `range` (round values included so that ties occur).
pub fn percentiles(range: std::ops::Range<f64>) -> impl Strategy<Value = Option<Percentiles>> {
    let (lo, hi) = (range.start, range.end);
    let value = prop_oneof![select(vec![lo, (lo + hi) / 2.0, hi]), range.clone(),];
    let opt = proptest::option::of(value.clone());
    prop_oneof![
        1 => Just(None),
        2 => value.prop_map(|v| Some(Percentiles::p50(v))),
        1 => (opt.clone(), opt.clone(), opt.clone(), opt).prop_map(|(p50, p75, p90, p99)| {
            Some(Percentiles { p50, p75, p90, p99 })
        }),
    ]
}

/// Parameters that requests often carry and endpoints often support.
const COMMON_PARAMETERS: [&str; 6] = [
    "max_tokens",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "response_format",
];

/// A set of request parameters from OpenRouter's vocabulary, common ones more often.
pub fn parameters() -> impl Strategy<Value = Parameters> {
    let name = prop_oneof![
        3 => select(COMMON_PARAMETERS.to_vec()),
        1 => select(PARAMETERS.to_vec()),
    ];
    vec(name, 0..4).prop_map(Parameters::from_names)
}

/// What an endpoint supports: each common parameter with probability 3/4, plus a few others.
pub fn supported_parameters() -> impl Strategy<Value = Parameters> {
    (
        vec(
            prop_oneof![3 => Just(true), 1 => Just(false)],
            COMMON_PARAMETERS.len(),
        ),
        vec(select(PARAMETERS.to_vec()), 0..6),
    )
        .prop_map(|(common, others)| {
            let picked = COMMON_PARAMETERS
                .iter()
                .zip(common)
                .filter(|(_, keep)| *keep)
                .map(|(name, _)| *name);
            Parameters::from_names(picked.chain(others))
        })
}

/// An endpoint of a provider drawn from [`CatalogShape::default`]: its default endpoint or a
/// `provider/suffix` one.
pub fn endpoint() -> impl Strategy<Value = Endpoint> {
    let shape = CatalogShape::default();
    let providers = shape.providers.clone();
    let suffixes = shape.tag_suffixes.clone();
    (
        0..providers.len(),
        proptest::option::of(0..suffixes.len()),
        any::<bool>(),
        endpoint_body(shape.bands, shape.free_weight, 0),
    )
        .prop_map(move |(p, suffix, named, body)| {
            let provider = &providers[p];
            let tag = suffix.map(|s| format!("{}/{}", provider.slug, suffixes[s]));
            with_identity(body, provider, named, tag)
        })
}

/// A listing `status`: mostly 0, often OpenRouter's deranked -3, now and then another value
/// (which changes nothing, SPEC section 8).
pub fn status() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => Just(0),
        2 => Just(crate::catalog::DERANKED_STATUS),
        1 => select(vec![-2i64, -1, 1]),
    ]
}

/// Everything of an endpoint but its slugs, which [`with_identity`] sets.
fn endpoint_body(
    bands: Bands,
    free_weight: u32,
    stable_weight: u32,
) -> impl Strategy<Value = Endpoint> {
    let tokens =
        |values: Vec<u64>| prop_oneof![1 => Just(None), 2 => select(values).prop_map(Some)];
    (
        (
            pricing_with(free_weight),
            percentiles(5.0..200.0),
            percentiles(0.05..5.0),
            prop_oneof![stable_weight => Just(1.0), 2 => uptime(bands)],
            quantization(),
            status(),
        ),
        (
            tokens(vec![4096, 8192, 32768, 131072]),
            tokens(vec![1024, 4096, 8192, 32768]),
            prop_oneof![1 => Just(None), 4 => supported_parameters().prop_map(Some)],
            prop_oneof![Just(DataCollection::Allow), Just(DataCollection::Deny)],
            any::<bool>(),
            prop_oneof![1 => Just(false), 3 => Just(true)],
            proptest::option::of(prop_oneof![select(vec![0.0, 0.5, 1.0]), 0.0f64..=1.0]),
        ),
    )
        .prop_map(
            |(
                (pricing, throughput, latency, uptime, quantization, status),
                (
                    context_length,
                    max_completion_tokens,
                    supported_parameters,
                    data_collection,
                    zdr,
                    distillable,
                    quality,
                ),
            )| Endpoint {
                provider: String::new(),
                provider_name: None,
                tag: String::new(),
                key: String::new(),
                pricing,
                throughput,
                latency,
                uptime,
                quantization,
                context_length,
                max_completion_tokens,
                supported_parameters,
                data_collection,
                zdr,
                distillable,
                quality,
                tier: None,
                status,
            },
        )
}

fn with_identity(
    mut ep: Endpoint,
    provider: &Provider,
    named: bool,
    tag: Option<String>,
) -> Endpoint {
    ep.provider = provider.slug.clone();
    ep.provider_name = provider.name.clone().filter(|_| named);
    ep.tag = tag.unwrap_or_else(|| provider.slug.clone());
    ep.key = ep.tag.clone();
    ep
}

/// A model with this id: up to `shape.max_endpoints` endpoints with unique slugs, in random
/// catalog order, often several of one provider.
pub fn model(id: &str, shape: &CatalogShape) -> BoxedStrategy<Model> {
    let id = id.to_string();
    let providers = shape.providers.clone();
    let mut suffixes = shape.tag_suffixes.clone();
    if shape.tiers {
        for tier in [Tier::Priority, Tier::Flex] {
            if !suffixes.iter().any(|s| s == tier.as_str()) {
                suffixes.push(tier.as_str().to_string());
            }
        }
    }
    let tiers = shape.tiers;
    let bands = shape.bands;
    let repeated_tags = shape.repeated_tags;
    let free_weight = shape.free_weight;
    let stable_weight = shape.stable_weight;
    // A slot is (provider, suffix) with suffix 0 the default endpoint: distinct slots give
    // distinct slugs. Default and suffixed slots are drawn apart, as subsets (no rejection), so
    // that default endpoints stay common however many suffixes there are.
    let defaults: Vec<(usize, usize)> = (0..providers.len()).map(|p| (p, 0)).collect();
    let others: Vec<(usize, usize)> = (0..providers.len())
        .flat_map(|p| (1..=suffixes.len()).map(move |s| (p, s)))
        .collect();
    let most = shape.max_endpoints.min(defaults.len() + others.len());
    // An empty model now and then (routing it fails with `no_endpoints`), mostly one or more.
    let size = prop_oneof![1 => Just(0), 15 => 1.min(most)..=most];
    (size, vec(any::<bool>(), providers.len()))
        .prop_flat_map(move |(n, named)| {
            let least = n.saturating_sub(others.len());
            (least..=n.min(defaults.len()))
                .prop_map(move |d| (d, n - d))
                .prop_flat_map({
                    let (defaults, others) = (defaults.clone(), others.clone());
                    move |(d, e)| {
                        (
                            subsequence(defaults.clone(), d),
                            subsequence(others.clone(), e),
                        )
                    }
                })
                .prop_map(|(mut slots, rest)| {
                    slots.extend(rest);
                    slots
                })
                .prop_map(move |slots| (slots, named.clone()))
        })
        .prop_flat_map(move |(slots, named)| {
            let n = slots.len();
            // A repeated tag: which slot is listed again, and where the copy goes.
            let repeat = if repeated_tags && n > 0 {
                proptest::option::weighted(
                    0.25,
                    (
                        0..n,
                        0..=n,
                        endpoint_body(bands, free_weight, stable_weight),
                    ),
                )
                .boxed()
            } else {
                Just(None).boxed()
            };
            (
                Just(slots).prop_shuffle(),
                vec(endpoint_body(bands, free_weight, stable_weight), n),
                Just(named),
                repeat,
            )
        })
        .prop_map(move |(mut slots, mut bodies, named, repeat)| {
            if let Some((of, at, body)) = repeat {
                slots.insert(at, slots[of]);
                bodies.insert(at, body);
            }
            let mut endpoints: Vec<Endpoint> = slots
                .into_iter()
                .zip(bodies)
                .map(|((p, s), body)| {
                    let provider = &providers[p];
                    let suffix = (s > 0).then(|| suffixes[s - 1].as_str());
                    let tag = suffix.map(|x| format!("{}/{x}", provider.slug));
                    let mut ep = with_identity(body, provider, named[p], tag);
                    if tiers {
                        ep.tier = [Tier::Priority, Tier::Flex]
                            .into_iter()
                            .find(|t| suffix == Some(t.as_str()));
                    }
                    ep
                })
                .collect();
            crate::catalog::assign_keys(&mut endpoints);
            Model {
                id: id.clone(),
                endpoints,
            }
        })
        .boxed()
}

/// A catalog of the default shape: one to three models.
pub fn catalog() -> BoxedStrategy<Catalog> {
    catalog_shaped(&CatalogShape::default())
}

/// A catalog of the given shape: a non-empty subset of its model ids, each with a [`model`].
pub fn catalog_shaped(shape: &CatalogShape) -> BoxedStrategy<Catalog> {
    let shape = shape.clone();
    proptest::sample::subsequence(shape.model_ids.clone(), 1..=shape.model_ids.len())
        .prop_flat_map(move |ids| {
            ids.iter()
                .map(|id| model(id, &shape))
                .collect::<Vec<_>>()
                .prop_map(|models| Catalog { models })
        })
        .boxed()
}

/// A slug naming something in `catalog` (endpoint slug, provider slug or display name, in any
/// letter case) or, one time in six, nothing in it.
pub fn slug(catalog: &Catalog) -> BoxedStrategy<String> {
    let mut names: Vec<String> = Vec::new();
    for ep in catalog.models.iter().flat_map(|m| &m.endpoints) {
        names.push(ep.tag.clone());
        if ep.key != ep.tag {
            names.push(ep.key.clone());
        }
        names.push(ep.provider.clone());
        names.extend(ep.provider_name.clone());
    }
    names.sort();
    names.dedup();
    let unknown = select(vec!["nosuch", "deepinfar", "nosuch/turbo"]).prop_map(String::from);
    if names.is_empty() {
        return unknown.boxed();
    }
    let known = (select(names), 0..3u8).prop_map(|(name, case)| match case {
        0 => name,
        1 => name.to_uppercase(),
        _ => capitalize(&name),
    });
    prop_oneof![5 => known, 1 => unknown].boxed()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A strict sort: any key, either partition.
pub fn sort() -> impl Strategy<Value = Sort> {
    (
        select(vec![
            SortBy::Price,
            SortBy::Throughput,
            SortBy::Latency,
            SortBy::Exacto,
        ]),
        prop_oneof![3 => Just(Partition::Model), 1 => Just(Partition::None)],
    )
        .prop_map(|(by, partition)| Sort { by, partition })
}

/// `max_price` ceilings, each set or not.
pub fn max_price() -> impl Strategy<Value = MaxPrice> {
    let ceiling = || prop_oneof![2 => Just(None), 1 => price().prop_map(Some)];
    (ceiling(), ceiling(), fee(), fee(), fee()).prop_map(
        |(prompt, completion, request, image, audio)| MaxPrice {
            prompt,
            completion,
            request,
            image,
            audio,
        },
    )
}

/// Provider preferences whose slugs are drawn from `catalog` (see [`slug`]); restrictive
/// settings are rarer than permissive ones, so that most requests still route.
pub fn preferences(catalog: &Catalog) -> BoxedStrategy<Preferences> {
    let slug = slug(catalog);
    let list = |s: BoxedStrategy<String>, n| vec(s, 0..n);
    let rarely = || prop_oneof![6 => Just(false), 1 => Just(true)];
    let maybe_list = |s: BoxedStrategy<String>, n| {
        prop_oneof![
            2 => Just(None),
            1 => vec(s, 0..n).prop_map(Some),
        ]
    };
    (
        (
            maybe_list(slug.clone(), 4),
            prop_oneof![3 => Just(true), 1 => Just(false)],
            rarely(),
            prop_oneof![5 => Just(DataCollection::Allow), 1 => Just(DataCollection::Deny)],
            rarely(),
            rarely(),
        ),
        (
            prop_oneof![8 => Just(None), 1 => vec(slug.clone(), 0..4).prop_map(Some)],
            prop_oneof![2 => Just(Vec::new()), 1 => list(slug, 3)],
            prop_oneof![5 => Just(None), 1 => vec(quantization(), 0..6).prop_map(Some)],
            prop_oneof![2 => Just(None), 1 => sort().prop_map(Some)],
            prop_oneof![3 => Just(MaxPrice::default()), 1 => max_price()],
            prop_oneof![3 => Just(None), 1 => percentiles(5.0..200.0)],
            prop_oneof![3 => Just(None), 1 => percentiles(0.05..5.0)],
        ),
    )
        .prop_map(
            |(
                (order, allow_fallbacks, require_parameters, data_collection, zdr, distillable),
                (
                    only,
                    ignore,
                    quantizations,
                    sort,
                    max_price,
                    preferred_min_throughput,
                    preferred_max_latency,
                ),
            )| Preferences {
                order,
                allow_fallbacks,
                require_parameters,
                data_collection,
                zdr,
                enforce_distillable_text: distillable,
                only,
                ignore,
                quantizations,
                sort,
                max_price,
                preferred_min_throughput,
                preferred_max_latency,
            },
        )
        .boxed()
}

/// A request for models of `catalog`: a `model`, sometimes `models` fallbacks (repeats
/// included), a routing variant now and then, parameters, `max_tokens`, a usage estimate, and
/// [`preferences`].
///
/// The result is what [`Request::parse`] makes of the body [`request_body`] renders for it.
pub fn request(catalog: &Catalog) -> BoxedStrategy<Request> {
    let mut ids: Vec<String> = catalog.models.iter().map(|m| m.id.clone()).collect();
    if ids.is_empty() {
        // Not a valid catalog; name a model it lacks rather than panic.
        ids.push("missing/model".into());
    }
    let variant = prop_oneof![
        6 => Just(None),
        1 => Just(Some(SortBy::Throughput)),
        1 => Just(Some(SortBy::Price)),
        1 => Just(Some(SortBy::Exacto)),
    ];
    let model_ref = (select(ids), variant);
    let max_tokens = prop_oneof![
        2 => Just(None),
        1 => select(vec![256u64, 1024, 4096, 16384]).prop_map(Some),
    ];
    let usage = prop_oneof![
        2 => Just(None),
        1 => (0u64..50_000, 0u64..20_000).prop_map(|(prompt_tokens, completion_tokens)| {
            Some(UsageEstimate::new(prompt_tokens, completion_tokens))
        }),
    ];
    (
        prop_oneof![3 => vec(model_ref.clone(), 1..=1), 1 => vec(model_ref, 2..=4)],
        parameters(),
        max_tokens,
        usage,
        preferences(catalog),
    )
        .prop_map(|(refs, mut parameters, max_tokens, usage, provider)| {
            // `max_tokens` is a parameter exactly when the body carries it.
            let mut clean = Parameters::EMPTY;
            for name in PARAMETERS {
                if parameters.contains_name(name)
                    && name != "max_tokens"
                    && name != "max_completion_tokens"
                {
                    clean.insert(name);
                }
            }
            parameters = clean;
            if max_tokens.is_some() {
                parameters.insert("max_tokens");
            }
            let models = refs
                .into_iter()
                .enumerate()
                .map(|(i, (id, variant))| ModelRef {
                    id,
                    variant,
                    field: if i == 0 {
                        "model".into()
                    } else {
                        format!("models[{}]", i - 1)
                    },
                })
                .collect();
            Request {
                models,
                parameters,
                max_tokens,
                usage,
                service_tier: None,
                provider,
            }
        })
        .boxed()
}

/// A catalog and a request for it.
pub fn scenario() -> BoxedStrategy<(Catalog, Request)> {
    scenario_shaped(&CatalogShape::default())
}

/// A catalog of the given shape and a request for it.
pub fn scenario_shaped(shape: &CatalogShape) -> BoxedStrategy<(Catalog, Request)> {
    catalog_shaped(shape)
        .prop_flat_map(|catalog| {
            let request = request(&catalog);
            (Just(catalog), request)
        })
        .boxed()
}

/// The request's `service_tier`: absent half the time, otherwise any value, the ones that admit
/// tier endpoints more often.
pub fn service_tier() -> impl Strategy<Value = Option<ServiceTier>> {
    prop_oneof![
        8 => Just(None),
        2 => Just(Some(ServiceTier::Priority)),
        1 => Just(Some(ServiceTier::Fast)),
        2 => Just(Some(ServiceTier::Flex)),
        1 => Just(Some(ServiceTier::Default)),
        1 => Just(Some(ServiceTier::Auto)),
        1 => Just(Some(ServiceTier::Scale)),
    ]
}

/// Account settings over `catalog`'s slugs (SPEC section 7): each of `ignore`, `only`, `byok`,
/// `sticky`, `default_sort`, `zdr` and `data_collection: deny` is set in one case out of 3 to 8
/// (`byok` most often, the filters least), so that about a fifth of accounts set nothing, most
/// set one or two things, and plans still route often.
pub fn account(catalog: &Catalog) -> BoxedStrategy<Account> {
    let slug = slug(catalog);
    // Set in one case out of `n`.
    let one_in = |n: u32| prop_oneof![n - 1 => Just(false), 1 => Just(true)];
    (
        (vec(slug.clone(), 1..3), one_in(6)),
        (vec(slug.clone(), 1..4), one_in(8)),
        (vec(slug.clone(), 1..3), one_in(3)),
        prop_oneof![4 => Just(None), 1 => slug.prop_map(Some)],
        (sort(), one_in(4)),
        (one_in(8), one_in(8)),
    )
        .prop_map(
            |((ignore, has_ignore), (only, has_only), (byok, has_byok), sticky, sort, policy)| {
                Account {
                    ignore: if has_ignore { ignore } else { Vec::new() },
                    only: has_only.then_some(only),
                    zdr: policy.0,
                    data_collection: if policy.1 {
                        DataCollection::Deny
                    } else {
                        DataCollection::Allow
                    },
                    default_sort: sort.1.then_some(sort.0),
                    byok: if has_byok { byok } else { Vec::new() },
                    sticky,
                }
            },
        )
        .boxed()
}

/// A catalog with priority and flex endpoints ([`CatalogShape::tiers`]), a request for it with
/// a [`service_tier`], and [`account`] settings: every input of SPEC section 7 at once.
pub fn tiered_scenario() -> BoxedStrategy<(Catalog, Request, Account)> {
    tiered_scenario_shaped(&CatalogShape::default())
}

/// [`tiered_scenario`] over catalogs of the given shape (with [`CatalogShape::tiers`] on).
pub fn tiered_scenario_shaped(shape: &CatalogShape) -> BoxedStrategy<(Catalog, Request, Account)> {
    let shape = CatalogShape {
        tiers: true,
        ..shape.clone()
    };
    catalog_shaped(&shape)
        .prop_flat_map(|catalog| {
            let request = (request(&catalog), service_tier()).prop_map(|(mut r, tier)| {
                r.service_tier = tier;
                r
            });
            let account = account(&catalog);
            (Just(catalog), request, account)
        })
        .boxed()
}

/// Chat-completions bodies that [`Request::parse`] reads as `request`, in every surface form the
/// spec allows: snake_case or camelCase names, defaults spelled out, left out or set to `null`,
/// `sort` as a string or as `{by, partition}`, prices as numbers or decimal strings, a p50-only
/// preference as a number or a map, and fields routing ignores.
pub fn request_body(request: &Request) -> BoxedStrategy<Value> {
    let request = request.clone();
    vec(0u8..3, 24)
        .prop_map(move |choices| render(&request, &choices))
        .boxed()
}

/// Renders a request as a body; `choices` (values in `0..3`) pick the surface forms.
fn render(request: &Request, choices: &[u8]) -> Value {
    let mut pick = choices.iter().copied().cycle();
    let mut next = move || pick.next().unwrap_or(0);
    let mut body = Map::new();
    let written = |m: &ModelRef| match m.variant {
        // No suffix means latency; `request` never draws that variant.
        None | Some(SortBy::Latency) => m.id.clone(),
        Some(SortBy::Throughput) => format!("{}:nitro", m.id),
        Some(SortBy::Price) => format!("{}:floor", m.id),
        Some(SortBy::Exacto) => format!("{}:exacto", m.id),
    };
    if let Some(first) = request.models.first() {
        body.insert("model".into(), json!(written(first)));
    }
    if request.models.len() > 1 {
        let rest: Vec<String> = request.models[1..].iter().map(written).collect();
        body.insert("models".into(), json!(rest));
    }
    for name in PARAMETERS {
        if !request.parameters.contains_name(name)
            || name == "max_tokens"
            || name == "max_completion_tokens"
        {
            continue;
        }
        let value = match name {
            "tools" => json!([{"type": "function", "function": {"name": "f"}}]),
            "response_format" => json!({"type": "json_object"}),
            "stop" => json!(["\n"]),
            _ => json!(0.5),
        };
        body.insert(name.into(), value);
    }
    if let Some(n) = request.max_tokens {
        let key = if next() == 0 {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(key.into(), json!(n));
    }
    if let Some(tier) = request.service_tier {
        body.insert("service_tier".into(), json!(tier));
    }
    if let Some(u) = request.usage {
        body.insert(
            "usage_estimate".into(),
            json!({"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens}),
        );
    }
    if next() == 0 {
        body.insert(
            "messages".into(),
            json!([{"role": "user", "content": "hi"}]),
        );
        body.insert("stream".into(), json!(true));
        body.insert("session_id".into(), Value::Null);
    }

    let p = &request.provider;
    let d = Preferences::default();
    let mut provider = Map::new();
    // Writes one field: set values always; default values spelled out, left out or null.
    let mut field = |snake: &str, camel: &str, value: Value, is_default: bool, choice: u8| {
        let key = if choice == 1 { camel } else { snake };
        match (is_default, choice) {
            (false, _) | (true, 0) => {
                provider.insert(key.into(), value);
            }
            (true, 1) => {}
            (true, _) => {
                provider.insert(key.into(), Value::Null);
            }
        }
    };
    let dc = |d: DataCollection| match d {
        DataCollection::Allow => "allow",
        DataCollection::Deny => "deny",
    };
    field("order", "order", json!(p.order), p.order.is_none(), next());
    field(
        "allow_fallbacks",
        "allowFallbacks",
        json!(p.allow_fallbacks),
        p.allow_fallbacks == d.allow_fallbacks,
        next(),
    );
    field(
        "require_parameters",
        "requireParameters",
        json!(p.require_parameters),
        p.require_parameters == d.require_parameters,
        next(),
    );
    field(
        "data_collection",
        "dataCollection",
        json!(dc(p.data_collection)),
        p.data_collection == d.data_collection,
        next(),
    );
    field("zdr", "zdr", json!(p.zdr), !p.zdr, next());
    field(
        "enforce_distillable_text",
        "enforceDistillableText",
        json!(p.enforce_distillable_text),
        !p.enforce_distillable_text,
        next(),
    );
    field("only", "only", json!(p.only), p.only.is_none(), next());
    field(
        "ignore",
        "ignore",
        json!(p.ignore),
        p.ignore.is_empty(),
        next(),
    );
    let quantizations = p
        .quantizations
        .as_ref()
        .map(|qs| qs.iter().map(|q| q.as_str()).collect::<Vec<_>>());
    field(
        "quantizations",
        "quantizations",
        json!(quantizations),
        p.quantizations.is_none(),
        next(),
    );
    let sort = match p.sort {
        None => Value::Null,
        Some(Sort { by, partition }) => {
            let by = match by {
                SortBy::Price => "price",
                SortBy::Throughput => "throughput",
                SortBy::Latency => "latency",
                SortBy::Exacto => "exacto",
            };
            match (partition, next()) {
                (Partition::Model, 0) => json!(by),
                (Partition::Model, 1) => json!({"by": by}),
                (Partition::Model, _) => json!({"by": by, "partition": "model"}),
                (Partition::None, _) => json!({"by": by, "partition": "none"}),
            }
        }
    };
    field("sort", "sort", sort, p.sort.is_none(), next());
    let mut ceilings = Map::new();
    for (name, v) in [
        ("prompt", p.max_price.prompt),
        ("completion", p.max_price.completion),
        ("request", p.max_price.request),
        ("image", p.max_price.image),
        ("audio", p.max_price.audio),
    ] {
        if let Some(v) = v {
            // The exact decimal as a string, or a number (a `Value` holds it as the nearest
            // f64, whose shortest decimal is the price again for every price drawn here).
            let value = if next() == 0 {
                json!(v.to_string())
            } else {
                json!(v)
            };
            ceilings.insert(name.into(), value);
        }
    }
    field(
        "max_price",
        "maxPrice",
        Value::Object(ceilings),
        p.max_price == MaxPrice::default(),
        next(),
    );
    let metric = |m: &Option<Percentiles>, choice: u8| match m {
        Some(m)
            if choice == 0
                && m.p50.is_some()
                && m.p75.is_none()
                && m.p90.is_none()
                && m.p99.is_none() =>
        {
            json!(m.p50)
        }
        Some(m) => serde_json::to_value(m).unwrap_or(Value::Null),
        None => Value::Null,
    };
    let throughput = metric(&p.preferred_min_throughput, next());
    field(
        "preferred_min_throughput",
        "preferredMinThroughput",
        throughput,
        p.preferred_min_throughput.is_none(),
        next(),
    );
    let latency = metric(&p.preferred_max_latency, next());
    field(
        "preferred_max_latency",
        "preferredMaxLatency",
        latency,
        p.preferred_max_latency.is_none(),
        next(),
    );
    if !provider.is_empty() || next() == 0 {
        body.insert("provider".into(), Value::Object(provider));
    }
    Value::Object(body)
}
