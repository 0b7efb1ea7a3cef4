//! Property: for any text, every parser returns Ok or Err and never panics, and a request that
//! parses can be compiled against a catalog and drawn from without panicking.
//!
//! The inputs are arbitrary strings, and fixtures with a random byte span replaced by random
//! text (so that most cases get past the first brace and reach the typed parsers).

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use routesim::{Catalog, Options, Request, Router};

const CATALOGS: [&str; 4] = [
    include_str!("../fixtures/deepseek-r1.yaml"),
    include_str!("../fixtures/llama-3.1-70b.yaml"),
    include_str!("../fixtures/abc.yaml"),
    include_str!("../fixtures/openrouter-endpoints.json"),
];

const REQUESTS: [&str; 6] = [
    include_str!("../fixtures/requests/default.json"),
    include_str!("../fixtures/requests/only.json"),
    include_str!("../fixtures/requests/order-provider.json"),
    include_str!("../fixtures/requests/sort-price.json"),
    include_str!("../fixtures/requests/max-price.json"),
    include_str!("../fixtures/requests/models-fallback.json"),
];

/// Arbitrary bytes (read as UTF-8, lossily), or a fixture with a span replaced.
fn text(fixtures: &'static [&'static str]) -> impl Strategy<Value = String> {
    let junk = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "[\\[\\]{}:,'\"&*!|>#\\- \n0-9a-z.]{0,32}",
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (
            0..fixtures.len(),
            any::<prop::sample::Index>(),
            0usize..40,
            junk
        )
            .prop_map(move |(f, at, len, junk)| {
                let base = fixtures[f];
                let start = at.index(base.len() + 1);
                let end = (start + len).min(base.len());
                // Stay on character boundaries.
                let start = (0..=start)
                    .rev()
                    .find(|&i| base.is_char_boundary(i))
                    .unwrap();
                let end = (end..=base.len())
                    .find(|&i| base.is_char_boundary(i))
                    .unwrap();
                format!("{}{junk}{}", &base[..start], &base[end..])
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn catalog_parse_is_total(text in text(&CATALOGS)) {
        let _ = Catalog::parse(&text);
    }

    #[test]
    fn request_parse_is_total(text in text(&REQUESTS)) {
        let _ = Request::parse(&text);
    }

    #[test]
    fn routing_any_request_that_parses_is_total(
        text in text(&REQUESTS),
        catalog in 0..CATALOGS.len(),
        seed in any::<u64>(),
    ) {
        let catalog = Catalog::parse(CATALOGS[catalog]).unwrap();
        if let Ok(request) = Request::parse(&text) {
            if let Ok(router) = Router::compile(&catalog, &request, &Options::default()) {
                let mut rng = SmallRng::seed_from_u64(seed);
                let plan = router.plan(&mut rng);
                let _ = router.first(&mut rng);
                prop_assert!(!plan.attempts.is_empty(), "a compiled router plans at least one attempt");
            }
        }
    }
}
