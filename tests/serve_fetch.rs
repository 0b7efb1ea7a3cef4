//! `routesim fetch` against `routesim serve`: serve a catalog, fetch every model it lists into a
//! directory, and `route --catalog DIR` prints the same plans as on the original catalog
//! (issue #12's round trip).

mod serve_support;

use serve_support::*;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_routesim");

fn route(catalogs: &[String], request: &str, seed: u64) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["route", "--json", "--seed", &seed.to_string(), "--request"])
        .arg(fixture(request));
    for c in catalogs {
        cmd.args(["--catalog", c]);
    }
    let out = cmd.output().expect("routesim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{request}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn a_served_catalog_fetched_routes_as_the_original() {
    let originals = vec![
        fixture("fixtures/deepseek-r1.yaml"),
        fixture("fixtures/llama-3.1-70b.yaml"),
    ];
    let catalog = routesim::Catalog::from_paths(&originals).expect("the fixtures load");
    let server = routesim::serve::Server::start(routesim::serve::Config::new(catalog))
        .expect("the server starts");
    let out_dir = std::env::temp_dir().join(format!("routesim-serve-fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let fetched = Command::new(BIN)
        .args(["fetch", "--all", "--base-url", &server.api_base(), "--out"])
        .arg(&out_dir)
        .env_remove("OPENROUTER_API_KEY")
        .output()
        .expect("routesim runs");
    assert_eq!(
        fetched.status.code(),
        Some(0),
        "every listing is written: {}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("the output directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "deepseek__deepseek-r1.json",
            "manifest.json",
            "meta-llama__llama-3.1-70b-instruct.json",
            "meta-llama__llama-3.1-8b-instruct.json",
        ]
    );
    let dir = vec![out_dir.to_string_lossy().into_owned()];
    let mut compared = 0;
    for request in [
        "fixtures/requests/default.json",
        "fixtures/requests/sort-price.json",
        "fixtures/requests/sort-latency.json",
        "fixtures/requests/data-collection.json",
        "fixtures/requests/preferred-max-latency.json",
        "fixtures/requests/models-fallback.json",
    ] {
        for seed in [1, 2, 3] {
            assert_eq!(
                route(&dir, request, seed),
                route(&originals, request, seed),
                "{request} --seed {seed}: the fetched listings route as the original catalog"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 18);
    let _ = std::fs::remove_dir_all(&out_dir);
}
