//! Fuzzes request parsing followed by routing: compile against a catalog, draw plans, walk
//! them, serialize them. The first byte picks one of the fixture catalogs; 0xff instead means
//! "the rest is a fuzzed catalog, a NUL byte, then the request", so odd catalogs reach the
//! engine too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use routesim::{Catalog, Options, Request, Router};
use std::sync::OnceLock;

const FIXTURES: [&str; 4] = [
    include_str!("../../fixtures/deepseek-r1.yaml"),
    include_str!("../../fixtures/llama-3.1-70b.yaml"),
    include_str!("../../fixtures/abc.yaml"),
    include_str!("../../fixtures/openrouter-endpoints.json"),
];

fn fixtures() -> &'static [Catalog] {
    static CATALOGS: OnceLock<Vec<Catalog>> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|text| Catalog::parse(text).expect("fixture catalogs parse"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let owned;
    let (catalog, request) = if pick == 0xff {
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return;
        };
        let (Ok(c), Ok(r)) = (
            std::str::from_utf8(&rest[..nul]),
            std::str::from_utf8(&rest[nul + 1..]),
        ) else {
            return;
        };
        let Ok(c) = Catalog::parse(c) else {
            return;
        };
        owned = c;
        (&owned, r)
    } else {
        let Ok(r) = std::str::from_utf8(rest) else {
            return;
        };
        (&fixtures()[pick as usize % FIXTURES.len()], r)
    };
    let Ok(request) = Request::parse(request) else {
        return;
    };
    let Ok(router) = Router::compile(catalog, &request, &Options::default()) else {
        return;
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(u64::from(pick));
    let mut buf = router.buffer();
    let targets = router.targets();
    // Engine invariants (SPEC section 5): exact first-attempt odds form a distribution, and a
    // plan never tries an endpoint twice.
    let total: f64 = targets.iter().map(|t| t.first_probability).sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "first-attempt probabilities sum to 1, got {total}"
    );
    assert!(
        targets
            .iter()
            .all(|t| (0.0..=1.0).contains(&t.first_probability)),
        "every first-attempt probability is in 0..=1"
    );
    for _ in 0..4 {
        router.draw(&mut rng, &mut buf);
        let mut seen = vec![false; targets.len()];
        for &id in buf.attempts() {
            assert!(!seen[id as usize], "a plan tries each endpoint once");
            seen[id as usize] = true;
        }
        if let Some(&first) = buf.attempts().first() {
            assert!(
                targets[first as usize].first_probability > 0.0,
                "the drawn first attempt has positive first-attempt probability"
            );
        }
    }
    let first = router.first(&mut rng);
    assert!(
        targets[first as usize].first_probability > 0.0,
        "Router::first draws an endpoint with positive first-attempt probability"
    );
    let mut n = 0u32;
    router.draw_until(&mut rng, &mut buf, |_, _| {
        n += 1;
        n == 2
    });
    let plan = router.plan(&mut rng);
    serde_json::to_string(&plan).expect("a plan always serializes");
});
