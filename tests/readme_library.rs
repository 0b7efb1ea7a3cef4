//! The README's library example (`## Library`) and `docs/simulate.md`'s "From Rust", run as
//! they are shown: each function's body is the document's block, verbatim but for indentation.

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

fn library_example() -> Result {
    use rand::SeedableRng;

    let catalog = routesim::Catalog::parse(&std::fs::read_to_string("fixtures/abc.yaml")?)?;
    let request = routesim::Request::parse(r#"{"model": "example/abc"}"#)?;
    // Compile once; then draw as many plans as you like without allocating.
    let router = routesim::Router::compile(&catalog, &request, &routesim::Options::default())?;
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
    let mut buf = router.buffer();
    router.draw(&mut rng, &mut buf);
    for &id in buf.attempts() {
        let t = router.target(id);
        println!(
            "{} {} first with p = {}",
            t.model, t.endpoint, t.first_probability
        );
    }
    // Or in one call, with exclusions and warnings:
    let plan = routesim::route(&catalog, &request, &routesim::Options::default(), &mut rng)?;
    assert_eq!(plan.attempts.len(), buf.attempts().len());
    Ok(())
}

fn simulate_example() -> Result {
    use routesim::{Settings, simulate};
    let text = std::fs::read_to_string("fixtures/abc.yaml").expect("readable catalog");
    let catalog = routesim::Catalog::parse(&text).expect("valid catalog");
    let request = routesim::Request::parse(r#"{"model": "example/abc"}"#).expect("valid request");
    let router = routesim::Router::compile(&catalog, &request, &routesim::Options::default())
        .expect("routable");
    let mut settings = Settings::new(&request, 1_000_000, 42); // usage_estimate or 1000 + 500 tokens
    settings.threads = 2;
    let sim = simulate(&router, &settings);
    println!("{}", serde_json::to_string_pretty(&sim)?); // the JSON above
    assert_eq!(sim.requests, 1_000_000);
    Ok(())
}

#[test]
fn the_library_example_runs() -> Result {
    library_example()
}

#[test]
fn the_simulate_example_runs() -> Result {
    simulate_example()
}

/// The body of `fn name` in this file, up to its checks (the first `assert`), one indent less.
fn body(name: &str) -> String {
    let this_file = include_str!("readme_library.rs");
    let start = format!("fn {name}() -> Result {{\n");
    let rest = this_file
        .split(start.as_str())
        .nth(1)
        .expect("the function is in this file");
    let body = rest.split("    assert").next().expect("the body ends");
    body.lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The first ```rust block after `heading` in `document`.
fn block(document: &str, heading: &str) -> String {
    document
        .split(heading)
        .nth(1)
        .and_then(|section| section.split("```rust\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the document has the block")
        .to_string()
}

#[test]
fn the_documents_show_these_examples() {
    for (file, document, heading, name) in [
        (
            "README.md",
            include_str!("../README.md"),
            "## Library\n",
            "library_example",
        ),
        (
            "docs/simulate.md",
            include_str!("../docs/simulate.md"),
            "**From Rust**, without the CLI:",
            "simulate_example",
        ),
    ] {
        assert_eq!(
            block(document, heading),
            body(name),
            "{file}'s example after {heading:?} is {name} in tests/readme_library.rs"
        );
    }
}
