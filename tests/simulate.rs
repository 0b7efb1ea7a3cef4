//! `routesim simulate`: scenario tests on the built CLI and statistical tests of the library.
//!
//! Tolerances. A sampled share is X / N with X ~ Binomial(N, p): the requests are independent
//! (each chunk of requests has its own generator), so its standard deviation is
//! sqrt(p (1 - p) / N). Every share checked here has N p and N (1 - p) in the hundreds or more,
//! where the normal approximation holds, and the tests allow 5 standard deviations: a correct
//! simulator misses by more with probability below 6e-7 per check. The seeds are fixed, so a
//! run is reproducible; the bound is what any seed must meet. Shares whose exact value is 0 or
//! 1 have no spread at all and are checked for equality.

use routesim::{self, Settings, Simulation};
use routesim::{Catalog, Options, Request, Router};
use serde_json::Value;
use std::process::Command;

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the routesim binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn simulate_json(catalog: &str, request: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "simulate",
        "--catalog",
        catalog,
        "--request",
        request,
        "--json",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = cli(&args);
    assert_eq!(code, 0, "simulate exits 0 when it routes; stderr: {stderr}");
    serde_json::from_str(&stdout).expect("simulate --json prints one JSON object")
}

/// Five standard deviations of a share sampled from `n` requests (see the module comment).
fn tolerance(p: f64, n: u64) -> f64 {
    5.0 * (p * (1.0 - p) / n as f64).sqrt()
}

fn assert_share(what: &str, sampled: f64, exact: f64, n: u64) {
    let tol = tolerance(exact, n);
    assert!(
        (sampled - exact).abs() <= tol,
        "{what}: sampled {sampled} is more than 5 sd ({tol}) from the exact {exact}"
    );
}

fn served<'a>(json: &'a Value, endpoint: &str) -> &'a Value {
    json["served"]
        .as_array()
        .and_then(|s| s.iter().find(|e| e["endpoint"] == endpoint))
        .unwrap_or_else(|| panic!("{endpoint} is in served: {json:#}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is a number"))
}

/// A router and its request; the catalog is leaked so the router can borrow it for the test.
fn compile(catalog: &str, request: &str) -> (Router<'static>, Request) {
    let catalog: &'static Catalog = Box::leak(Box::new(
        Catalog::parse(catalog).expect("test catalog parses"),
    ));
    let request = Request::parse(request).expect("test request parses");
    let router = Router::compile(catalog, &request, &Options::default()).expect("routable");
    (router, request)
}

fn run(catalog: &str, request: &str, n: u64, seed: u64) -> Simulation {
    let (router, request) = compile(catalog, request);
    routesim::simulate(&router, &Settings::new(&request, n, seed))
}

fn share_of(sim: &Simulation, endpoint: &str) -> f64 {
    sim.served
        .iter()
        .find(|s| s.endpoint == endpoint)
        .unwrap_or_else(|| panic!("{endpoint} is in served"))
        .share
}

#[test]
fn abc_example_served_shares_match_the_inverse_square_closed_form() {
    let n = 200_000;
    let json = simulate_json(
        "fixtures/abc.yaml",
        "fixtures/requests/abc.json",
        &["--requests", "200000", "--seed", "11"],
    );
    // A ($1) and C ($3) are stable and always up; B ($2, uptime 0.5) is down, so last. A goes
    // first with probability (1/1^2) / (1/1^2 + 1/3^2) and, being always up, serves every
    // request it is first for; C serves the rest; B is never reached.
    let p_a = 1.0 / (1.0 + 1.0 / 9.0);
    let p_c = 1.0 - p_a;
    assert_eq!(json["requests"], 200_000);
    assert_share("A served", f(&served(&json, "a")["share"]), p_a, n);
    assert_share("C served", f(&served(&json, "c")["share"]), p_c, n);
    assert_eq!(
        f(&served(&json, "b")["share"]),
        0.0,
        "B is behind two endpoints that never fail"
    );
    for (ep, p) in [("a", p_a), ("b", 0.0), ("c", p_c)] {
        let exact = f(&served(&json, ep)["exact_first_share"]);
        assert!(
            (exact - p).abs() < 1e-12,
            "{ep}: exact_first_share {exact}, closed form {p}"
        );
    }
    assert_eq!(f(&json["failed_share"]), 0.0);
    assert_eq!(f(&json["exact_failed_share"]), 0.0);
    assert_eq!(
        f(&json["mean_attempts"]),
        1.0,
        "the first attempt always succeeds"
    );
    // Cost at the default 1000 prompt + 500 completion tokens: A $0.5 + $0.5 per million
    // tokens -> 0.00075, C -> 0.00225. The mean is A's share times A's cost plus C's.
    // In exact decimals: (count_a x 0.00075 + count_c x 0.00225) / 200000, rounded to 12
    // significant digits.
    let count = |ep: &str| (f(&served(&json, ep)["share"]) * 200_000.0).round() as u128;
    let total = count("a") * 75 + count("c") * 225; // in 10^-5 USD
    let mean = routesim::Money::from_decimal(total * 5, 11) // / 200000 = x 5 x 10^-6
        .unwrap()
        .round_significant(12);
    assert_eq!(
        json["mean_cost"].to_string(),
        serde_json::Value::from(mean.to_f64()).to_string(),
        "mean cost follows the served shares"
    );
    assert_eq!(
        f(&json["mean_latency"]),
        0.0,
        "the fixture has no latencies: they count as 0"
    );
    for key in [
        "requests",
        "served",
        "failed_share",
        "mean_attempts",
        "mean_cost",
        "mean_latency",
    ] {
        assert!(
            json.get(key).is_some(),
            "SPEC section 6 key {key} is present"
        );
    }
}

#[test]
fn flaky_abc_served_shares_match_the_closed_form() {
    let (ua, ub, uc) = (0.96, 0.5, 0.97);
    let catalog = format!(
        "models:\n  - id: example/abc\n    endpoints:\n\
         \x20     - {{ provider: a, pricing: {{ prompt: 0.5, completion: 0.5 }}, uptime: {ua}, latency: 0.2 }}\n\
         \x20     - {{ provider: b, pricing: {{ prompt: 1, completion: 1 }}, uptime: {ub}, latency: 1.0 }}\n\
         \x20     - {{ provider: c, pricing: {{ prompt: 1.5, completion: 1.5 }}, uptime: {uc}, latency: 0.5 }}\n"
    );
    let n = 400_000;
    let sim = run(&catalog, r#"{"model": "example/abc"}"#, n, 3);
    // Plans are A C B (probability 0.9) or C A B (0.1); each attempt succeeds with its uptime.
    let (pa, pc) = (0.9, 0.1);
    let (fa, fb, fc) = (1.0 - ua, 1.0 - ub, 1.0 - uc);
    let served_a = pa * ua + pc * fc * ua;
    let served_c = pc * uc + pa * fa * uc;
    let served_b = fa * fc * ub;
    let failed = fa * fc * fb;
    assert_share("A served", share_of(&sim, "a"), served_a, n);
    assert_share("C served", share_of(&sim, "c"), served_c, n);
    assert_share("B served", share_of(&sim, "b"), served_b, n);
    assert_share("failed", sim.failed_share, failed, n);
    assert!(
        (sim.exact_failed_share - failed).abs() < 1e-15,
        "exact failure is the product of downtimes"
    );
    // Attempts: 1, plus 1 if the first fails, plus 1 if the first two fail. The count is at most
    // 3, so its standard deviation is below 1 and 5 / sqrt(N) bounds the error of the mean.
    let attempts = 1.0 + (pa * fa + pc * fc) + fa * fc;
    assert!((sim.mean_attempts - attempts).abs() <= 5.0 / (n as f64).sqrt());
    // Latency: 0.2 s per attempt on A, 0.5 on C, 1.0 on B; at most 1.7 s per request.
    let latency = pa * (0.2 + fa * 0.5) + pc * (0.5 + fc * 0.2) + fa * fc * 1.0;
    assert!((sim.mean_latency - latency).abs() <= 5.0 * 1.7 / (n as f64).sqrt());
}

#[test]
fn first_shares_converge_to_the_exact_first_probabilities() {
    let catalog = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/llama-3.1-70b.yaml"
    ))
    .expect("fixture reads");
    let n = 300_000;
    let sim = run(
        &catalog,
        r#"{"model": "meta-llama/llama-3.1-70b-instruct"}"#,
        n,
        99,
    );
    assert!(
        sim.served.len() >= 5,
        "the fixture has many eligible endpoints"
    );
    let total: f64 = sim.served.iter().map(|s| s.exact_first_share).sum();
    assert!((total - 1.0).abs() < 1e-12, "exact first shares sum to 1");
    for s in &sim.served {
        assert_share(&s.endpoint, s.first_share, s.exact_first_share, n);
    }
}

#[test]
fn without_fallbacks_failure_is_the_first_draw_mean_downtime() {
    // One model per group, each cut to its first attempt: the plan fails when both firsts fail.
    let catalog = "models:\n  - id: m1\n    endpoints:\n\
        \x20     - { provider: a, pricing: { prompt: 1, completion: 1 }, uptime: 0.96 }\n\
        \x20     - { provider: b, pricing: { prompt: 2, completion: 2 }, uptime: 0.95 }\n\
        \x20 - id: m2\n    endpoints:\n\
        \x20     - { provider: c, pricing: { prompt: 1, completion: 1 }, uptime: 0.5 }\n\
        \x20     - { provider: d, pricing: { prompt: 1, completion: 1 }, uptime: 0.8 }\n";
    let n = 400_000;
    let sim = run(
        catalog,
        r#"{"model": "m1", "models": ["m2"], "provider": {"allow_fallbacks": false}}"#,
        n,
        5,
    );
    // m1: a ($2) first with probability (1/4) / (1/4 + 1/16) = 0.8. m2: c is down (< 0.80)
    // and d degraded, so d is m2's only first attempt.
    let first_fail_m1 = 0.8 * 0.04 + 0.2 * 0.05;
    let exact = first_fail_m1 * 0.2;
    assert!(
        (sim.exact_failed_share - exact).abs() < 1e-15,
        "{} vs {exact}",
        sim.exact_failed_share
    );
    assert_share("failed", sim.failed_share, exact, n);
    let names: Vec<&str> = sim.served.iter().map(|s| s.endpoint.as_str()).collect();
    assert_eq!(
        names,
        ["a", "b", "d"],
        "c can never be attempted, so it is not listed"
    );
    assert!(sim.mean_attempts <= 2.0);
}

#[test]
fn uptime_one_everywhere_never_fails() {
    let catalog = "models:\n  - id: m\n    endpoints:\n\
        \x20     - { provider: a, pricing: { prompt: 1, completion: 1 } }\n\
        \x20     - { provider: b, pricing: { prompt: 2, completion: 2 }, uptime: 1 }\n\
        \x20     - { provider: c, pricing: { prompt: 0, completion: 0 } }\n";
    for request in [
        r#"{"model": "m"}"#,
        r#"{"model": "m", "provider": {"sort": "price"}}"#,
        r#"{"model": "m", "provider": {"order": ["b"], "allow_fallbacks": false}}"#,
        r#"{"model": "m", "provider": {"allow_fallbacks": false}}"#,
    ] {
        let sim = run(catalog, request, 50_000, 1);
        assert_eq!(
            sim.failed_share, 0.0,
            "{request}: nothing fails at uptime 1"
        );
        assert_eq!(sim.exact_failed_share, 0.0, "{request}");
        assert_eq!(
            sim.mean_attempts, 1.0,
            "{request}: the first attempt always serves"
        );
        let served: f64 = sim.served.iter().map(|s| s.share).sum();
        assert!(
            (served - 1.0).abs() < 1e-12,
            "{request}: every request is served"
        );
    }
}

#[test]
fn uptime_zero_everywhere_always_fails() {
    let catalog = "models:\n  - id: m\n    endpoints:\n\
        \x20     - { provider: a, pricing: { prompt: 1, completion: 1 }, uptime: 0, latency: 0.5 }\n\
        \x20     - { provider: b, pricing: { prompt: 2, completion: 2 }, uptime: 0, latency: 0.25 }\n\
        \x20     - { provider: c, pricing: { prompt: 3, completion: 3 }, uptime: 0 }\n";
    for (request, attempts, latency) in [
        (r#"{"model": "m"}"#, 3.0, 0.75),
        (
            r#"{"model": "m", "provider": {"sort": "latency"}}"#,
            3.0,
            0.75,
        ),
        // Down endpoints go cheapest first, so without fallbacks only a is tried.
        (
            r#"{"model": "m", "provider": {"allow_fallbacks": false}}"#,
            1.0,
            0.5,
        ),
    ] {
        let sim = run(catalog, request, 50_000, 2);
        assert_eq!(
            sim.failed_share, 1.0,
            "{request}: everything fails at uptime 0"
        );
        assert_eq!(sim.exact_failed_share, 1.0, "{request}");
        assert!(
            sim.served.iter().all(|s| s.share == 0.0),
            "{request}: nobody serves"
        );
        assert_eq!(
            sim.mean_attempts, attempts,
            "{request}: every planned attempt is made"
        );
        assert_eq!(
            sim.mean_cost,
            routesim::Money::ZERO,
            "{request}: failed requests cost nothing"
        );
        assert!(
            (sim.mean_latency - latency).abs() < 1e-12,
            "{request}: failed attempts' latency counts"
        );
    }
}

#[test]
fn same_seed_same_output_and_another_seed_another() {
    let args = ["--requests", "70000", "--seed", "42"];
    let a = simulate_json(
        "fixtures/deepseek-r1.yaml",
        "fixtures/requests/default.json",
        &args,
    );
    let b = simulate_json(
        "fixtures/deepseek-r1.yaml",
        "fixtures/requests/default.json",
        &args,
    );
    assert_eq!(a, b, "the same seed gives the same simulation");
    let c = simulate_json(
        "fixtures/deepseek-r1.yaml",
        "fixtures/requests/default.json",
        &["--requests", "70000", "--seed", "43"],
    );
    assert_ne!(
        a["served"], c["served"],
        "another seed draws other requests"
    );
}

#[test]
fn thread_count_does_not_change_the_result() {
    // Several chunks (of 65536), one of them partial, so that threads really share the work.
    let args = |t: &'static str| ["--requests", "200000", "--seed", "7", "--threads", t];
    let one = cli(&[
        &[
            "simulate",
            "--catalog",
            "fixtures/deepseek-r1.yaml",
            "--request",
            "fixtures/requests/default.json",
            "--json",
        ][..],
        &args("1")[..],
    ]
    .concat());
    let three = cli(&[
        &[
            "simulate",
            "--catalog",
            "fixtures/deepseek-r1.yaml",
            "--request",
            "fixtures/requests/default.json",
            "--json",
        ][..],
        &args("3")[..],
    ]
    .concat());
    assert_eq!(one.0, 0, "{}", one.2);
    assert_eq!(
        one.1, three.1,
        "the JSON is byte-identical for 1 and 3 threads"
    );
    // And the library agrees with itself for a thread count above the chunk count.
    let (router, request) = compile(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/deepseek-r1.yaml"
        ))
        .unwrap(),
        r#"{"model": "deepseek/deepseek-r1"}"#,
    );
    let mut settings = Settings::new(&request, 100_000, 9);
    let single = routesim::simulate(&router, &settings);
    settings.threads = 8;
    assert_eq!(single, routesim::simulate(&router, &settings));
}

#[test]
fn usage_estimate_sets_the_cost() {
    let catalog = "models:\n  - id: m\n    endpoints:\n\
        \x20     - { provider: a, pricing: { prompt: 2, completion: 10, request: 0.001 } }\n";
    let sim = run(
        catalog,
        r#"{"model": "m", "usage_estimate": {"prompt_tokens": 3000, "completion_tokens": 100}}"#,
        1000,
        1,
    );
    assert_eq!(
        sim.mean_cost.to_string(),
        "0.008",
        "one always-up endpoint: every request costs 3000 x 2 / 10^6 + 100 x 10 / 10^6 + 0.001"
    );
    assert!(
        sim.notes.iter().all(|n| !n.contains("usage_estimate")),
        "no default usage note"
    );
    let default = run(catalog, r#"{"model": "m"}"#, 1000, 1);
    assert_eq!(
        default.mean_cost.to_string(),
        "0.008",
        "default usage: 1000 x 2 / 10^6 + 500 x 10 / 10^6 + 0.001"
    );
}

/// SPEC 8: costs are exact decimals, printed as such (`0.00263326775`, not the
/// `0.0026332677500000004` that binary floating point makes of the same sum).
#[test]
fn costs_print_as_the_exact_decimal() {
    let dir = std::env::temp_dir().join(format!("routesim-exact-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("catalog.yaml");
    std::fs::write(
        &catalog,
        "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1.23456775, completion: 2.7974 } }\n",
    )
    .unwrap();
    let request = dir.join("request.json");
    std::fs::write(&request, r#"{"model": "m"}"#).unwrap();
    let (catalog, request) = (catalog.to_str().unwrap(), request.to_str().unwrap());
    let (code, stdout, stderr) = cli(&[
        "simulate",
        "--catalog",
        catalog,
        "--request",
        request,
        "--json",
        "--requests",
        "1000",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\"mean_cost\": 0.00263326775\n")
            || stdout.contains("\"mean_cost\": 0.00263326775,"),
        "1000 x 1.23456775 / 10^6 + 500 x 2.7974 / 10^6 exactly: {stdout}"
    );
    let (code, stdout, stderr) = cli(&[
        "route",
        "--catalog",
        catalog,
        "--request",
        request,
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"cost\": 0.00263326775"), "{stdout}");
    assert!(
        stdout.contains("\"expected_first_cost\": 0.00263326775"),
        "{stdout}"
    );
    let (_, table, _) = cli(&[
        "simulate",
        "--catalog",
        catalog,
        "--request",
        request,
        "--requests",
        "1000",
    ]);
    assert!(
        table.contains("0.00263326775"),
        "the table prints the exact mean too: {table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn readable_output_has_a_table_and_a_bar_chart() {
    let (code, stdout, stderr) = cli(&[
        "simulate",
        "--catalog",
        "fixtures/abc.yaml",
        "--request",
        "fixtures/requests/abc.json",
        "--requests",
        "10000",
        "--seed",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("exact first"),
        "a table with exact values: {stdout}"
    );
    assert!(stdout.contains('█'), "a bar chart: {stdout}");
    assert!(
        stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {stderr}"
    );
}

#[test]
fn bad_input_exits_2_and_unroutable_exits_3() {
    let (code, _, _) = cli(&[
        "simulate",
        "--catalog",
        "fixtures/abc.yaml",
        "--request",
        "fixtures/requests/abc.json",
        "--requests",
        "0",
    ]);
    assert_eq!(code, 2, "zero requests is bad input");
    let (code, _, stderr) = cli(&[
        "simulate",
        "--catalog",
        "fixtures/deepseek-r1.yaml",
        "--request",
        "fixtures/requests/unroutable-zdr.json",
        "--json",
    ]);
    assert_eq!(code, 3, "nothing eligible: {stderr}");
}

#[test]
fn a_seeded_library_run_matches_the_cli() {
    // The CLI is a thin shell: same seed, same text as the library's JSON. (Compared as text:
    // serde_json's default float parser may be one ulp off the shortest form it prints.)
    let (code, stdout, stderr) = cli(&[
        "simulate",
        "--catalog",
        "fixtures/abc.yaml",
        "--request",
        "fixtures/requests/abc.json",
        "--json",
        "--requests",
        "5000",
        "--seed",
        "8",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let read =
        |p: &str| std::fs::read_to_string(format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let sim = run(
        &read("fixtures/abc.yaml"),
        &read("fixtures/requests/abc.json"),
        5000,
        8,
    );
    assert_eq!(
        stdout.trim_end(),
        serde_json::to_string_pretty(&sim).unwrap()
    );
}

/// SPEC 7 reaches simulate too: with the account's key for Vertex, every request's first
/// attempt is the BYOK one, reported on its own row.
#[test]
fn account_settings_apply_to_simulations() {
    let json = simulate_json(
        "fixtures/tiers.yaml",
        "fixtures/requests/byok-order.json",
        &["--account", "fixtures/account.yaml"],
    );
    let served = json["served"].as_array().expect("served rows");
    let byok: Vec<&Value> = served.iter().filter(|s| s["byok"] == true).collect();
    assert_eq!(byok.len(), 1, "one BYOK row: {served:?}");
    assert_eq!(byok[0]["endpoint"], "google-vertex");
    assert_eq!(f(&byok[0]["exact_first_share"]), 1.0, "BYOK goes first");
}
