//! Replays inputs that once crashed or hung a parser (from the fuzzers in fuzz/ or found by
//! hand), through the library: each must now return Ok or Err.
//!
//! Adding a case is adding a file: `tests/fuzz-regressions/catalog/*` goes to
//! [`Catalog::parse`]; `tests/fuzz-regressions/request/*` to [`Request::parse`] and, when it
//! parses, to [`Router::compile`] and a draw against fixtures/deepseek-r1.yaml. A fuzzer's
//! crash file (`fuzz/artifacts/<target>/crash-*`) is copied here as is; for `request_route`
//! artifacts, drop the first byte (the fuzzer's catalog pick) first.
//!
//! A hang shows up as this test not finishing; there are no timed assertions (see README).

use rand::SeedableRng;
use rand::rngs::SmallRng;
use routesim::{Catalog, Options, Request, Router};
use std::path::PathBuf;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-regressions");

fn inputs(kind: &str) -> Vec<(PathBuf, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(format!("{DIR}/{kind}"))
        .expect("the regression directory exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

#[test]
fn catalog_regressions_return_instead_of_crashing() {
    let cases = inputs("catalog");
    assert!(!cases.is_empty(), "the catalog regressions are there");
    for (path, text) in cases {
        // Reaching the next line at all is the property; the result may be Ok or Err.
        let result = Catalog::parse(&text);
        if let Err(e) = result {
            assert!(
                !e.to_string().is_empty(),
                "{}: an error says why",
                path.display()
            );
        }
    }
}

#[test]
fn request_regressions_return_instead_of_crashing() {
    let catalog = Catalog::parse(include_str!("../fixtures/deepseek-r1.yaml")).unwrap();
    let cases = inputs("request");
    assert!(!cases.is_empty(), "the request regressions are there");
    for (path, text) in cases {
        match Request::parse(&text) {
            Ok(request) => {
                if let Ok(router) = Router::compile(&catalog, &request, &Options::default()) {
                    let plan = router.plan(&mut SmallRng::seed_from_u64(1));
                    assert!(!plan.attempts.is_empty(), "{}", path.display());
                }
            }
            Err(e) => assert!(
                !e.to_string().is_empty(),
                "{}: an error says why",
                path.display()
            ),
        }
    }
}
