use proptest::prelude::*;
use rand::SeedableRng;
use routesim::strategies::{self, CatalogShape};
use routesim::{Catalog, DataCollection, Endpoint, Money, Options, Request};

/// The request our service sends: cheapest first, nothing that trains on prompts, no prompt
/// price above $2 per million tokens, never Novita.
const OUR_REQUEST: &str = r#"{
  "model": "acme/widget",
  "messages": [{"role": "user", "content": "..."}],
  "provider": {
    "sort": "price",
    "data_collection": "deny",
    "max_price": {"prompt": 2},
    "ignore": ["novita"]
  }
}"#;

/// Catalogs of one model, `acme/widget`, served by any of the default providers.
fn our_catalogs() -> impl Strategy<Value = Catalog> {
    strategies::catalog_shaped(&CatalogShape {
        model_ids: vec!["acme/widget".into()],
        ..CatalogShape::default()
    })
}

fn endpoint<'c>(catalog: &'c Catalog, model: &str, tag: &str) -> &'c Endpoint {
    let model = catalog.model(model).expect("plans name catalog models");
    model
        .endpoints
        .iter()
        .find(|e| e.key == tag)
        .expect("and their endpoints")
}

proptest! {
    /// Whatever endpoints the model has, our rules hold, or nothing is eligible (exit code 3).
    #[test]
    fn our_preferences_hold_on_any_catalog(catalog in our_catalogs(), seed: u64) {
        let request = Request::parse(OUR_REQUEST).expect("our request parses");
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        match routesim::route(&catalog, &request, &Options::default(), &mut rng) {
            Ok(plan) => {
                for a in &plan.attempts {
                    let ep = endpoint(&catalog, &a.model, &a.endpoint);
                    prop_assert_ne!(&ep.provider, "novita");
                    prop_assert_eq!(ep.data_collection, DataCollection::Deny);
                    prop_assert!(ep.pricing.prompt <= Money::from_decimal(2, 0).unwrap());
                }
                let prices: Vec<Money> = plan.attempts.iter().map(|a| a.price).collect();
                prop_assert!(prices.is_sorted(), "cheapest first: {:?}", prices);
            }
            Err(err) => prop_assert_eq!(err.exit_code(), 3, "{}", err),
        }
    }

    /// Our `ignore` keeps Novita out whatever else a request asks for.
    #[test]
    fn our_ignore_wins_over_any_other_preference(
        (catalog, mut request) in strategies::scenario(),
        seed: u64,
    ) {
        request.provider.ignore.push("novita".into());
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        if let Ok(plan) = routesim::route(&catalog, &request, &Options::default(), &mut rng) {
            prop_assert!(plan.attempts.iter().all(|a| a.provider != "novita"));
        }
    }
}

// ---- Everything above this line is the README's example, verbatim. ----

/// The README shows this file's example as it is: a change to either must reach the other.
#[test]
fn the_readme_shows_this_example() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("## Property-testing your own routing rules")
        .nth(1)
        .expect("the README has the section");
    let block = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a rust block");
    let this_file = include_str!("readme_example.rs");
    assert!(
        this_file.starts_with(block),
        "tests/readme_example.rs must start with the README's example, verbatim"
    );
}
