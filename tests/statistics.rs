//! Monte Carlo checks of load balancing (SPEC section 4): over many seeded draws, the share of
//! each endpoint as first attempt matches its `first_probability`, and the share as second
//! attempt matches its exact probability, which this file computes on its own from the prices
//! and uptimes.
//!
//! # The tolerance
//!
//! Each check counts how often one endpoint lands in one position over `N` independent draws:
//! a Binomial(N, p) count `c`. Bernstein's inequality bounds the estimate `q = c / N`:
//!
//! ```text
//! P(|q - p| >= t) <= 2 exp(-N t^2 / (2 p (1 - p) + 2 t / 3))
//! ```
//!
//! Setting the right side to `delta` and solving the quadratic in `t` gives the tolerance
//!
//! ```text
//! t = (L / 3 + sqrt(L^2 / 9 + 2 N p (1 - p) L)) / N,   L = ln(2 / delta)
//! ```
//!
//! (about 5.4 binomial standard deviations `sqrt(p (1 - p) / N)` at p = 0.5 and the values
//! below). With `delta = 1e-6` per check and fewer than 200 checks in this file, the union
//! bound puts the chance that a correct engine fails any check, for an arbitrary seed, below
//! 2e-4; the seeds are fixed, so the outcome is reproducible. A law of exactly 0 or 1 is checked
//! exactly: such an endpoint must always, or never, land there. With `N = 100_000` the
//! tolerance is at most 0.0086 (0.0052 at p = 0.1), so a probability off by one percentage
//! point is caught; with 40_000 draws it is at most 0.0136.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use routesim::{Catalog, Options, Request, Router};

/// Draws per check (the thirty-endpoint case, slower to draw in debug builds, takes 40_000).
const N: u64 = 100_000;

/// Chance that one check fails although the engine is right (see the file comment).
const DELTA: f64 = 1e-6;

/// The Bernstein tolerance for a share estimated from `n` draws when the truth is `p`.
fn tolerance(p: f64, n: u64) -> f64 {
    let n = n as f64;
    let l = (2.0 / DELTA).ln();
    (l / 3.0 + (l * l / 9.0 + 2.0 * n * p * (1.0 - p) * l).sqrt()) / n
}

fn assert_share(what: &str, count: u64, n: u64, p: f64) {
    let q = count as f64 / n as f64;
    if p == 0.0 || p == 1.0 {
        assert_eq!(
            q, p,
            "{what}: a probability of {p} is exact, but the share was {q}"
        );
    } else {
        let t = tolerance(p, n);
        assert!(
            (q - p).abs() <= t,
            "{what}: share {q} is more than {t} from the exact probability {p}"
        );
    }
}

/// An endpoint as the oracle sees it: slug, price (prompt + completion), uptime.
struct Row {
    tag: String,
    price: f64,
    uptime: f64,
}

/// The plan's first two positions' exact laws, from the spec alone: stable endpoints (uptime >=
/// 0.95) by successive draws with weight 1 / price^2, then degraded ones (>= 0.80) the same way,
/// then down ones cheapest first. Returns (P(first), P(second)) per row. Zero prices are not
/// handled (the catalogs below have none).
fn exact_first_two(rows: &[Row]) -> (Vec<f64>, Vec<f64>) {
    assert!(
        rows.iter().all(|r| r.price > 0.0),
        "the oracle takes priced endpoints only"
    );
    let band = |r: &Row| {
        if r.uptime >= 0.95 {
            0
        } else if r.uptime >= 0.80 {
            1
        } else {
            2
        }
    };
    // The segments in plan order: each either drawn by weight or fixed.
    let mut segments: Vec<(bool, Vec<usize>)> = Vec::new();
    for b in 0..3 {
        let mut members: Vec<usize> = (0..rows.len()).filter(|&i| band(&rows[i]) == b).collect();
        if members.is_empty() {
            continue;
        }
        if b == 2 {
            members.sort_by(|&x, &y| {
                rows[x]
                    .price
                    .total_cmp(&rows[y].price)
                    .then_with(|| rows[x].tag.cmp(&rows[y].tag))
            });
        }
        segments.push((b < 2, members));
    }
    let w = |i: usize| 1.0 / (rows[i].price * rows[i].price);
    // The law of the first position of a segment.
    let head = |(weighted, members): &(bool, Vec<usize>)| -> Vec<(usize, f64)> {
        if *weighted {
            let total: f64 = members.iter().map(|&i| w(i)).sum();
            members.iter().map(|&i| (i, w(i) / total)).collect()
        } else {
            vec![(members[0], 1.0)]
        }
    };
    let mut first = vec![0.0; rows.len()];
    let mut second = vec![0.0; rows.len()];
    let Some(seg) = segments.first() else {
        return (first, second);
    };
    for (i, p) in head(seg) {
        first[i] = p;
    }
    let (weighted, members) = seg;
    if members.len() >= 2 {
        if *weighted {
            // P(j second) = sum over i != j of P(i first) * w_j / (W - w_i).
            let total: f64 = members.iter().map(|&i| w(i)).sum();
            for &j in members {
                second[j] = members
                    .iter()
                    .filter(|&&i| i != j)
                    .map(|&i| first[i] * w(j) / (total - w(i)))
                    .sum();
            }
        } else {
            second[members[1]] = 1.0;
        }
    } else if let Some(next) = segments.get(1) {
        for (j, p) in head(next) {
            second[j] = p;
        }
    }
    (first, second)
}

/// Runs every check on one catalog (one model, requested with no preferences).
fn check(name: &str, yaml: &str, seed: u64, n: u64) {
    let catalog = Catalog::parse(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
    let model = &catalog.models[0];
    let request = Request::parse(&format!(r#"{{"model": "{}"}}"#, model.id))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let router = Router::compile(&catalog, &request, &Options::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let rows: Vec<Row> = model
        .endpoints
        .iter()
        .map(|e| Row {
            tag: e.tag.clone(),
            price: e
                .pricing
                .prompt
                .saturating_add(e.pricing.completion)
                .to_f64(),
            uptime: e.uptime,
        })
        .collect();
    let (p_first, p_second) = exact_first_two(&rows);
    // Row of each target id, looked up once.
    let rows_of: Vec<usize> = router
        .targets()
        .iter()
        .map(|t| {
            rows.iter()
                .position(|r| r.tag == t.endpoint)
                .unwrap_or_else(|| panic!("{name}: unknown endpoint {}", t.endpoint))
        })
        .collect();
    let index = |id: routesim::TargetId| rows_of[id.index()];

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(routesim::mix_seed(seed));
    let mut buf = router.buffer();
    let mut first = vec![0u64; rows.len()];
    let mut second = vec![0u64; rows.len()];
    let mut fast_first = vec![0u64; rows.len()];
    for _ in 0..n {
        let mut drawn = 0;
        // Only the first two positions are drawn; draw_until draws them as draw would.
        router.draw_until(&mut rng, &mut buf, |_, _| {
            drawn += 1;
            drawn == 2
        });
        let attempts = buf.attempts();
        first[index(attempts[0])] += 1;
        if let Some(&id) = attempts.get(1) {
            second[index(id)] += 1;
        }
        fast_first[index(router.first(&mut rng))] += 1;
    }

    for (i, row) in rows.iter().enumerate() {
        let id = router
            .ids()
            .find(|&id| router.target(id).endpoint == row.tag)
            .unwrap_or_else(|| panic!("{name}: {} is not eligible", row.tag));
        let reported = router.target(id).first_probability;
        assert!(
            (reported - p_first[i]).abs() < 1e-12,
            "{name}: {} has first_probability {reported}, the spec gives {}",
            row.tag,
            p_first[i]
        );
        let what = |position: &str| format!("{name}: {} as {position}", row.tag);
        assert_share(&what("first attempt"), first[i], n, reported);
        assert_share(
            &what("first attempt (Router::first)"),
            fast_first[i],
            n,
            reported,
        );
        assert_share(&what("second attempt"), second[i], n, p_second[i]);
    }
}

#[test]
fn abc_example_shares_match_the_exact_odds() {
    let yaml = include_str!("../fixtures/abc.yaml");
    check("abc", yaml, 1, N);
}

#[test]
fn ten_endpoint_shares_match_the_exact_odds() {
    // Eight stable endpoints, a cheap degraded one and a cheaper down one: neither of the last
    // two may come first or second.
    let yaml = r#"
models:
  - id: acme/ten
    endpoints:
      - { provider: e1, pricing: { prompt: 0.5, completion: 0.5 } }
      - { provider: e2, pricing: { prompt: 0.5, completion: 0.7 } }
      - { provider: e3, pricing: { prompt: 0.5, completion: 1.0 }, uptime: 0.95 }
      - { provider: e4, tag: e4/turbo, pricing: { prompt: 1, completion: 1 } }
      - { provider: e5, pricing: { prompt: 1, completion: 1.5 }, uptime: 0.99 }
      - { provider: e6, pricing: { prompt: 1, completion: 2 } }
      - { provider: e7, pricing: { prompt: 2, completion: 2 } }
      - { provider: e8, pricing: { prompt: 2, completion: 3 } }
      - { provider: e9, pricing: { prompt: 0.4, completion: 0.4 }, uptime: 0.9 }
      - { provider: e10, pricing: { prompt: 0.25, completion: 0.25 }, uptime: 0.5 }
"#;
    check("ten", yaml, 2, N);
}

#[test]
fn second_attempt_crosses_into_the_degraded_band() {
    // One stable endpoint: the second attempt is drawn among the degraded ones.
    let yaml = r#"
models:
  - id: acme/bands
    endpoints:
      - { provider: s, pricing: { prompt: 2, completion: 2 } }
      - { provider: d1, pricing: { prompt: 0.5, completion: 0.5 }, uptime: 0.9 }
      - { provider: d2, pricing: { prompt: 1, completion: 1 }, uptime: 0.8 }
      - { provider: d3, pricing: { prompt: 1, completion: 2 }, uptime: 0.94 }
      - { provider: x, pricing: { prompt: 0.1, completion: 0.1 }, uptime: 0.79 }
"#;
    check("bands", yaml, 3, N);
}

#[test]
fn long_segments_keep_the_odds() {
    // Thirty stable endpoints: segments this long are drawn by exponential keys, not scans.
    let mut yaml = String::from("models:\n  - id: acme/thirty\n    endpoints:\n");
    for k in 1..=30 {
        let price = 1.0 + k as f64 / 10.0;
        yaml.push_str(&format!(
            "      - {{ provider: p{k}, pricing: {{ prompt: {price}, completion: 0 }} }}\n"
        ));
    }
    check("thirty", &yaml, 4, 40_000);
}
