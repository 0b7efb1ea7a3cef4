//! Monte Carlo over a compiled router: samples many requests, walks each plan until an attempt
//! succeeds, and reports where traffic went, what it cost and how often it failed (SPEC
//! section 6). Never reads files; randomness comes only from the seed it is given.
//!
//! Every attempt fails independently with probability `1 - uptime`. A request's cost is its
//! serving attempt's price for the request's `usage_estimate` (or [`DEFAULT_USAGE`]); a request
//! that fails everywhere costs nothing. Its latency is the sum of the p50 latencies of every
//! attempt made, failed ones included; an endpoint without a latency adds 0 s (the readable
//! output names such endpoints).
//!
//! The requests are split into chunks of [`CHUNK`], chunk `i` drawing from its own generator
//! seeded from `mix_seed(mix_seed(seed) + i)`; workers take chunks in any order and add up
//! integer counts only, so the result is bit-identical whatever the number of threads.

use crate::mix_seed;
use crate::money::Money;
use crate::order::TargetId;
use crate::request::{Request, UsageEstimate};
use crate::router::{PlanBuf, Router};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Token counts assumed for costs when the request has no `usage_estimate`: 1000 prompt and
/// 500 completion tokens.
pub const DEFAULT_USAGE: UsageEstimate = UsageEstimate::new(1000, 500);

/// Requests per chunk: the unit of work a thread takes, each with its own generator.
pub const CHUNK: u64 = 1 << 16;

/// How to run a simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Number of simulated requests.
    pub requests: u64,
    /// Seed; the same seed gives the same result whatever `threads` is.
    pub seed: u64,
    /// Worker threads (0 counts as 1); more than one per chunk is never used.
    pub threads: usize,
    /// Token counts that costs are computed for.
    pub usage: UsageEstimate,
    /// Whether `usage` is [`DEFAULT_USAGE`] because the request gave none.
    pub usage_assumed: bool,
}

impl Settings {
    /// Settings for `requests` requests of `request` on one thread, with the request's
    /// `usage_estimate` or else [`DEFAULT_USAGE`].
    ///
    /// ```
    /// let request = routesim::Request::parse(r#"{"model": "m"}"#).unwrap();
    /// let settings = routesim::Settings::new(&request, 1000, 7);
    /// assert_eq!(settings.usage, routesim::DEFAULT_USAGE);
    /// assert!(settings.usage_assumed);
    /// ```
    pub fn new(request: &Request, requests: u64, seed: u64) -> Settings {
        Settings {
            requests,
            seed,
            threads: 1,
            usage: request.usage.unwrap_or(DEFAULT_USAGE),
            usage_assumed: request.usage.is_none(),
        }
    }
}

/// What a simulation found; serializes to `routesim simulate --json` (SPEC section 6).
///
/// Shares and means are over all requests (0 when there were none). Beside each sampled value
/// that has a closed form stands the exact one (`exact_*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    /// Number of simulated requests.
    pub requests: u64,
    /// Every endpoint a plan can contain, in catalog order (models in request order).
    pub served: Vec<Served>,
    /// Share of requests whose every attempt failed.
    pub failed_share: f64,
    /// The exact probability that every attempt fails.
    pub exact_failed_share: f64,
    /// Mean number of attempts made per request.
    pub mean_attempts: f64,
    /// Mean cost per request in USD (failed requests cost 0): the exact mean of exact costs,
    /// rounded to 12 significant digits (SPEC section 8).
    pub mean_cost: Money,
    /// Mean time to first token in seconds: p50 latencies of every attempt made, summed.
    pub mean_latency: f64,
    /// Things a reader of the numbers should know (assumed usage, unknown latencies).
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// One endpoint's part of the traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Served {
    /// Model id.
    pub model: String,
    /// Endpoint slug.
    pub endpoint: String,
    /// Share of requests this endpoint served.
    pub share: f64,
    /// Share of requests whose first attempt went here (sampled).
    pub first_share: f64,
    /// The exact probability that the first attempt goes here.
    pub exact_first_share: f64,
    /// True for the account's own-key (BYOK) attempts on this endpoint, counted apart from its
    /// shared-capacity attempts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub byok: bool,
}

/// Simulates `settings.requests` requests through `router`.
///
/// ```
/// let catalog = routesim::Catalog::parse(
///     "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 }, uptime: 0.9 }\n").unwrap();
/// let request = routesim::Request::parse(r#"{"model": "m"}"#).unwrap();
/// let router = routesim::Router::compile(&catalog, &request, &routesim::Options::default()).unwrap();
/// let sim = routesim::simulate(&router, &routesim::Settings::new(&request, 10_000, 1));
/// assert!((sim.exact_failed_share - 0.1).abs() < 1e-12, "one endpoint: fails as often as it is down");
/// assert!((sim.served[0].share - 0.9).abs() < 0.02);
/// ```
pub fn simulate(router: &Router, settings: &Settings) -> Simulation {
    simulate_with_progress(router, settings, &|_| {})
}

/// [`simulate`], calling `progress(n)` from the worker threads each time `n` more requests
/// are done.
pub fn simulate_with_progress(
    router: &Router,
    settings: &Settings,
    progress: &(dyn Fn(u64) + Sync),
) -> Simulation {
    let walk = Walk::new(router);
    let chunks = settings.requests.div_ceil(CHUNK);
    let workers = (settings.threads.max(1) as u64).min(chunks.max(1)) as usize;
    let next = AtomicU64::new(0);
    let work = || {
        let mut tally = Tally::new(router.targets().len());
        let mut buf = router.buffer();
        loop {
            let chunk = next.fetch_add(1, Ordering::Relaxed);
            if chunk >= chunks {
                return tally;
            }
            let n = CHUNK.min(settings.requests - chunk * CHUNK);
            let mut rng = chunk_rng(settings.seed, chunk);
            walk.run(&mut rng, n, &mut buf, &mut tally);
            progress(n);
        }
    };
    let tally = if workers == 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
            let mut total = Tally::new(router.targets().len());
            for h in handles {
                match h.join() {
                    Ok(t) => total.add(&t),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            total
        })
    };
    summarize(router, settings, &tally)
}

/// The generator of chunk `chunk`: one SplitMix64 stream position per chunk, mixed again so
/// that neighbouring seeds do not share chunks.
fn chunk_rng(seed: u64, chunk: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(mix_seed(mix_seed(seed).wrapping_add(chunk)))
}

/// Per-target success thresholds, so that an attempt costs one comparison (and no draw at all
/// when uptime is 0 or 1).
struct Walk<'r> {
    router: &'r Router<'r>,
    /// An attempt succeeds when the top 53 bits of a draw are below this: `uptime * 2^53`.
    threshold: Vec<u64>,
}

const ALWAYS: u64 = 1 << 53;

impl<'r> Walk<'r> {
    fn new(router: &'r Router) -> Walk<'r> {
        let threshold = router
            .targets()
            .iter()
            .map(|t| (t.uptime * ALWAYS as f64) as u64)
            .collect();
        Walk { router, threshold }
    }

    #[inline]
    fn run<R: Rng>(&self, rng: &mut R, n: u64, buf: &mut PlanBuf, tally: &mut Tally) {
        let threshold = &self.threshold[..];
        for _ in 0..n {
            let served = self.router.draw_until(rng, buf, |rng, id| {
                let t = threshold[id.index()];
                t >= ALWAYS || (t > 0 && (rng.next_u64() >> 11) < t)
            });
            let attempts = buf.attempts();
            if let Some(&first) = attempts.first() {
                tally.first[first.index()] += 1;
            }
            for &id in attempts {
                tally.attempted[id.index()] += 1;
            }
            match served {
                Some(id) => tally.served[id.index()] += 1,
                None => tally.failed += 1,
            }
        }
    }
}

/// Integer counts, so that adding them up in any order gives the same result.
struct Tally {
    first: Vec<u64>,
    attempted: Vec<u64>,
    served: Vec<u64>,
    failed: u64,
}

impl Tally {
    fn new(targets: usize) -> Tally {
        Tally {
            first: vec![0; targets],
            attempted: vec![0; targets],
            served: vec![0; targets],
            failed: 0,
        }
    }

    fn add(&mut self, other: &Tally) {
        let pairs = [
            (&mut self.first, &other.first),
            (&mut self.attempted, &other.attempted),
            (&mut self.served, &other.served),
        ];
        for (mine, theirs) in pairs {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
        self.failed += other.failed;
    }
}

fn summarize(router: &Router, settings: &Settings, tally: &Tally) -> Simulation {
    let n = settings.requests;
    let share = |count: u64| if n == 0 { 0.0 } else { count as f64 / n as f64 };
    let targets = router.targets();
    // A target can be in a plan iff the plan does not surely fail when it alone always works.
    let reachable =
        |id: TargetId| router.all_fail_probability(|j| if j == id { 0.0 } else { 1.0 }) < 1.0;
    let mut served = Vec::new();
    let mut no_latency = Vec::new();
    for (id, t) in targets.iter().enumerate() {
        if !reachable(TargetId::new(id)) {
            continue;
        }
        if t.latency.is_none() {
            no_latency.push(t.endpoint);
        }
        served.push(Served {
            model: t.model.to_string(),
            endpoint: t.endpoint.to_string(),
            share: share(tally.served[id]),
            first_share: share(tally.first[id]),
            exact_first_share: t.first_probability,
            byok: t.byok,
        });
    }
    // Sums over targets of count * value, in target order: the same for any thread count.
    let costs = targets
        .iter()
        .zip(&tally.served)
        .map(|(t, &c)| (c, settings.usage.cost(&t.pricing)));
    let mean_cost = Money::mean(costs, n);
    let total_latency: f64 = targets
        .iter()
        .zip(&tally.attempted)
        .map(|(t, &c)| c as f64 * t.latency.unwrap_or(0.0))
        .sum();
    let mut notes = Vec::new();
    if settings.usage_assumed {
        notes.push(format!(
            "costs assume {} prompt + {} completion tokens per request (the request has no usage_estimate)",
            settings.usage.prompt_tokens.unwrap_or(0),
            settings.usage.completion_tokens.unwrap_or(0)
        ));
    }
    if !no_latency.is_empty() {
        notes.push(format!(
            "no latency known for {}: their attempts add 0 s to the time to first token",
            no_latency.join(", ")
        ));
    }
    Simulation {
        requests: n,
        served,
        failed_share: share(tally.failed),
        exact_failed_share: router.all_fail_probability(|id| 1.0 - router.target(id).uptime),
        mean_attempts: share(tally.attempted.iter().sum()),
        mean_cost,
        mean_latency: if n == 0 {
            0.0
        } else {
            total_latency / n as f64
        },
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_of_neighbouring_seeds_are_distinct() {
        let a = chunk_rng(1, 0).next_u64();
        let b = chunk_rng(0, 1).next_u64();
        let c = chunk_rng(1, 1).next_u64();
        assert!(a != b && a != c && b != c, "seed + chunk must not alias");
    }

    #[test]
    fn usage_estimate_prices_the_request() {
        let m = |t: &str| t.parse::<Money>().unwrap();
        let pricing = crate::catalog::Pricing {
            prompt: m("2"),
            completion: m("4"),
            request: Some(m("0.01")),
            image: None,
        };
        let usage = UsageEstimate::new(1000, 500);
        assert_eq!(usage.cost(&pricing), m("0.014"), "0.002 + 0.002 + 0.01");
    }
}
