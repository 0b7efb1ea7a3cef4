//! routesim predicts, before any request is sent, where an OpenRouter-style LLM router will
//! send it: the ordered fallback list of provider endpoints, with the reason every other
//! endpoint was left out and the exact probability of each being tried first.
//!
//! The pipeline, one private module per step, its public types re-exported here:
//!
//! | step | module | what it does |
//! |---|---|---|
//! | money | `money.rs` | exact prices and costs ([`Money`]): parsed, added, compared and printed as decimals |
//! | catalog | `catalog/` | validated endpoint table ([`Catalog`], [`Endpoint`]); raw YAML and OpenRouter listing shapes kept apart |
//! | request | `request.rs`, `account.rs` | the body and its `provider` object ([`Request`]), account settings ([`Account`]) |
//! | resolve | `resolve.rs` | request + account ([`Options`]) -> the sort in force, leading tier, sticky endpoint, tier admission |
//! | filter | `filter.rs` | eligibility in the spec's fixed order; owns [`Reason`]; never reorders |
//! | order | `order/` | uptime bands and base ordering, strict sorts, the weighted run |
//! | compile | `compile.rs` | catalog + resolved request -> [`Router`]: parts, own keys, sticky |
//! | router | `router.rs` | the compiled router; draws plans into a [`PlanBuf`] without allocating |
//! | plan | `plan.rs` | [`Plan`], [`Attempt`], [`Exclusion`]: the JSON contract |
//! | explain | `explain.rs` | availability classes and relaxation hints of an [`Unroutable`] request |
//! | simulate | `simulate.rs` | Monte Carlo over a compiled router ([`simulate()`]) |
//! | replay | `replay/` | a log of observed routing against the prediction ([`Replay`]): grouping, G-test, fit |
//! | serve | `serve/` | the local OpenRouter (feature `serve`): HTTP shell, faults, journal, listings |
//!
//! Randomness comes only from the generator the caller passes in (`rng.rs` holds the two
//! primitives the engine draws with), so a seed reproduces a plan exactly.
//!
//! ```
//! use rand::SeedableRng;
//! let catalog = routesim::Catalog::parse(r#"
//! models:
//!   - id: acme/widget
//!     endpoints:
//!       - { provider: a, pricing: { prompt: 0.5, completion: 0.5 } }             # $1
//!       - { provider: b, pricing: { prompt: 1, completion: 1 }, uptime: 0.5 }    # $2, down
//!       - { provider: c, pricing: { prompt: 1.5, completion: 1.5 } }             # $3
//! "#).unwrap();
//! let request = routesim::Request::parse(r#"{"model": "acme/widget"}"#).unwrap();
//! let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
//! let plan = routesim::route(&catalog, &request, &routesim::Options::default(), &mut rng).unwrap();
//! let a = plan.attempts.iter().find(|a| a.endpoint == "a").unwrap();
//! assert!((a.first_probability - 0.9).abs() < 1e-12, "A is 9x as likely as C to go first");
//! assert_eq!(plan.attempts[2].endpoint, "b", "the down endpoint is always last");
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations, unreachable_pub)]

mod money;
mod catalog;
mod request;
mod account;
mod resolve;
mod slug;
mod filter;
mod order;
mod rng;
mod compile;
mod router;
mod plan;
mod explain;
mod simulate;
mod replay;
#[cfg(feature = "serve")]
pub mod serve;
mod error;
mod json;
mod parse;
#[cfg(feature = "proptest")]
pub mod strategies;
mod yaml;

pub use account::Account;
pub use catalog::{
    Catalog, DataCollection, Endpoint, Model, Parameters, Percentiles, Pricing, Quantization, Tier,
};
pub use catalog::{DERANKED_STATUS, MAX_CATALOG_BYTES, PARAMETERS};
pub use error::{Error, ErrorKind};
pub use explain::{AvailabilityCode, Relaxation, Unroutable};
pub use filter::Reason;
pub use money::{MAX_USAGE_TOKENS, Money, ParseMoneyError};
pub use order::{Band, Bands, TargetId};
pub use parse::MAX_FLOW_DEPTH;
pub use plan::{Attempt, Exclusion, Plan, PlanUsage, Strategy};
pub use replay::{
    EXACT_LIMIT, FIT_RANGE, Fit, GroupReport, Impossible, MAX_LINE_BYTES, ObservedAs, POOL_BELOW,
    Replay, ReplaySettings, Report, Row,
};
pub use request::MAX_REQUEST_BYTES;
pub use request::{
    MaxPrice, ModelRef, Partition, Preferences, Request, ServiceTier, Sort, SortBy, UsageEstimate,
};
pub use resolve::Options;
pub use router::{PlanBuf, Router, Target};
pub use simulate::CHUNK as SIMULATION_CHUNK;
pub use simulate::{DEFAULT_USAGE, Served, Settings, Simulation, simulate, simulate_with_progress};
pub use yaml::ALIAS_EXPANSION_BUDGET;

use rand::Rng;

/// Routes one request: compiles it against the catalog and draws one plan.
///
/// For many draws of the same request, compile a [`Router`] once instead.
pub fn route<R: Rng + ?Sized>(
    catalog: &Catalog,
    request: &Request,
    options: &Options,
    rng: &mut R,
) -> Result<Plan, Error> {
    Ok(Router::compile(catalog, request, options)?.plan(rng))
}

/// Mixes a user seed with SplitMix64 so that nearby seeds give independent generator states.
///
/// ```
/// assert_ne!(routesim::mix_seed(1), routesim::mix_seed(2));
/// ```
pub fn mix_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
