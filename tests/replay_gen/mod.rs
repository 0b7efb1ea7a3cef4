//! A log generator for the replay tests (test code, not the library): writes replay log lines
//! for one request under routesim's own model (exponent 2, each attempt failing with
//! probability `1 - uptime`) or under a different one (another exponent, a uniform choice, one
//! provider's traffic doubled), in each of the formats replay reads.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use routesim::{Catalog, Options, Request, Router};

/// How the generated router chooses the first attempt.
#[derive(Debug, Clone, Copy)]
pub enum Truth<'a> {
    /// routesim's documented model: weights `price^-2`, failures at `1 - uptime`.
    Documented,
    /// Weights `price^-alpha` over the same first-attempt candidates.
    Alpha(f64),
    /// Every first-attempt candidate equally likely.
    Uniform,
    /// The documented odds, with this provider's share doubled (then renormalised).
    Doubled(&'a str),
}

/// How a line shows its observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// OpenRouter's generation record, wrapped in `data`, attempts named by display name.
    Generation,
    /// serve's journal line: a bare generation record whose attempts name their endpoint.
    Journal,
    /// A chat completion response naming the provider that served.
    Response,
    /// The served provider's slug alone.
    Provider,
}

/// Generates log lines for `request` against `catalog`.
pub struct Generator<'c> {
    router: Router<'c>,
    request: String,
    rng: Xoshiro256PlusPlus,
}

impl<'c> Generator<'c> {
    pub fn new(catalog: &'c Catalog, request: &str, seed: u64) -> Generator<'c> {
        let parsed = Request::parse(request).expect("test requests parse");
        let router = Router::compile(catalog, &parsed, &Options::default()).expect("routable");
        Generator {
            router,
            request: request.to_string(),
            rng: Xoshiro256PlusPlus::seed_from_u64(routesim::mix_seed(seed)),
        }
    }

    /// `n` lines; under [`Format::Response`] and [`Format::Provider`] a request that failed
    /// everywhere writes no line (there is no provider to name), so fewer may come back.
    pub fn lines(&mut self, n: usize, truth: Truth, format: Format) -> Vec<String> {
        (0..n).filter_map(|i| self.line(i, truth, format)).collect()
    }

    fn line(&mut self, i: usize, truth: Truth, format: Format) -> Option<String> {
        // The attempts: the router's own walk, with the first attempt redrawn when the truth
        // is not the documented model (only the first attempt is then meaningful).
        let mut buf = self.router.buffer();
        let router = &self.router;
        let served = router.draw_until(&mut self.rng, &mut buf, |rng, id| {
            unit(rng) < router.target(id).uptime
        });
        let mut attempts: Vec<usize> = buf.attempts().iter().map(|id| id.index()).collect();
        let mut served = served.map(|id| id.index());
        if !matches!(truth, Truth::Documented) {
            let first = first(router, &mut self.rng, truth);
            attempts = vec![first];
            served = Some(first);
        }
        let t = |i: usize| router.targets()[i].clone();
        let name = |i: usize| {
            let t = t(i);
            t.source()
                .provider_name
                .clone()
                .unwrap_or_else(|| t.provider.to_string())
        };
        let body = format!(
            r#"{{"model":{},"messages":[{{"role":"user","content":"request {i}"}}]{}}}"#,
            serde_json::to_string(t(0).model).unwrap(),
            self.request_rest()
        );
        let status = |a: usize| if Some(a) == served { 200 } else { 502 };
        Some(match format {
            Format::Generation => {
                let responses: Vec<String> = attempts
                    .iter()
                    .map(|&a| {
                        format!(
                            r#"{{"provider_name":{},"status":{},"latency":120,"is_byok":false}}"#,
                            serde_json::to_string(&name(a)).unwrap(),
                            status(a)
                        )
                    })
                    .collect();
                format!(
                    r#"{{"request":{body},"generation":{{"data":{{"id":"gen-{i}","provider_responses":[{}]}}}}}}"#,
                    responses.join(",")
                )
            }
            Format::Journal => {
                let responses: Vec<String> = attempts
                    .iter()
                    .map(|&a| {
                        format!(
                            r#"{{"provider_name":{},"endpoint":{},"status":{},"latency":1,"is_byok":false}}"#,
                            serde_json::to_string(&name(a)).unwrap(),
                            serde_json::to_string(t(a).endpoint).unwrap(),
                            status(a)
                        )
                    })
                    .collect();
                format!(
                    r#"{{"seq":{i},"time":"2026-12-01T00:00:00Z","test_id":null,"seed":{i},"status":200,"request":{body},"generation":{{"id":"gen-{i}","provider_responses":[{}]}}}}"#,
                    responses.join(",")
                )
            }
            Format::Response => format!(
                r#"{{"request":{body},"response":{{"id":"gen-{i}","object":"chat.completion","provider":{},"model":{}}}}}"#,
                serde_json::to_string(&name(served?)).unwrap(),
                serde_json::to_string(t(served?).model).unwrap()
            ),
            Format::Provider => format!(
                r#"{{"request":{body},"provider":{}}}"#,
                serde_json::to_string(t(served?).provider).unwrap()
            ),
        })
    }

    /// The request's fields after `model`, as JSON text beginning with a comma (or empty).
    fn request_rest(&self) -> String {
        let value: serde_json::Value = serde_json::from_str(&self.request).unwrap();
        let mut rest = String::new();
        for (k, v) in value.as_object().unwrap() {
            if k != "model" {
                rest += &format!(",{}:{}", serde_json::to_string(k).unwrap(), v);
            }
        }
        rest
    }
}

/// A first attempt under `truth`: over the documented first-attempt candidates (those
/// with a first probability above 0), whose documented odds are proportional to
/// `price^-2`, so `price^-alpha` is proportional to `odds^(alpha / 2)`.
fn first(router: &Router, rng: &mut Xoshiro256PlusPlus, truth: Truth) -> usize {
    let weights: Vec<f64> = router
        .targets()
        .iter()
        .map(|t| {
            let q = t.first_probability;
            match truth {
                _ if q == 0.0 => 0.0,
                Truth::Documented => q,
                Truth::Alpha(alpha) => q.powf(alpha / 2.0),
                Truth::Uniform => 1.0,
                Truth::Doubled(p) if t.provider == p => 2.0 * q,
                Truth::Doubled(_) => q,
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut r = unit(rng) * total;
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap()
}

/// A uniform float in `[0, 1)` from the top 53 bits of one draw.
fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}
