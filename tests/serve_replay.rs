//! serve's journal is replay's input: traffic served by `routesim serve` (under its own routing
//! model, with uptime failures) replays as consistent with the prediction, endpoint by endpoint,
//! and a fault that breaks the model shows up.

mod serve_support;

use routesim::serve::{Failures, Rule};
use serde_json::Value;
use serve_support::*;
use std::process::Command;

const CATALOG: &str = "fixtures/deepseek-r1.yaml";
const REQUESTS: usize = 600;

/// Serves `REQUESTS` default requests and returns the journal's lines.
fn serve(failures: Failures, rules: Vec<Rule>) -> Vec<Value> {
    let server = start(CATALOG, |c| {
        c.failures = failures;
        c.seed = 11;
    });
    server.set_faults(rules);
    let agent = agent();
    let body = read(std::path::Path::new(&fixture(
        "fixtures/requests/default.json",
    )));
    for _ in 0..REQUESTS {
        post(&agent, &chat_url(&server), &body, &[]);
    }
    let journal = get(&agent, &format!("{}/routesim/journal", server.url()));
    assert_eq!(journal.status, 200);
    let lines: Vec<Value> = journal
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal lines are JSON"))
        .collect();
    assert_eq!(lines.len(), REQUESTS);
    lines
}

/// `routesim replay --json` on `lines`.
fn replay(name: &str, lines: &[Value]) -> Value {
    let dir = std::env::temp_dir().join(format!("routesim-serve-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let log = dir.join(format!("{name}.jsonl"));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, text).expect("the log is written");
    let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .args(["replay", "--json", "--catalog", &fixture(CATALOG), "--log"])
        .arg(&log)
        .output()
        .expect("routesim runs");
    let _ = std::fs::remove_file(&log);
    assert_eq!(
        out.status.code(),
        Some(0),
        "replay reads the log: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("replay --json prints JSON")
}

/// The journal as a log that shows only who served (`provider`), as a chat response would.
fn served_only(journal: &[Value]) -> Vec<Value> {
    journal
        .iter()
        .map(|l| {
            serde_json::json!({
                "request": l["request"],
                "provider": l["generation"]["provider_name"],
            })
        })
        .collect()
}

#[test]
fn served_traffic_replays_as_the_prediction_endpoint_by_endpoint() {
    let report = replay("uptime", &serve(Failures::Uptime, Vec::new()));
    assert_eq!(report["lines"], REQUESTS);
    assert_eq!(report["impossible"].as_array().map(Vec::len), Some(0));
    let groups = report["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "one request shape is one group");
    let group = &groups[0];
    assert_eq!(group["requests"], REQUESTS);
    assert_eq!(group["observed_as"], "first_attempt");
    let rows = group["rows"].as_array().expect("rows");
    // The journal names endpoints, so rows are endpoints: deepinfra and deepinfra/turbo apart.
    assert!(
        rows.iter()
            .all(|r| r["endpoints"].as_array().map(Vec::len) == Some(1)),
        "{rows:?}"
    );
    // Fixed seeds: this p-value is the same on every run; the model is routesim's own, so a
    // small one would mean serve and replay disagree about it.
    let p = group["p_value"].as_f64().expect("a p-value");
    assert!(
        p > 0.001,
        "serve's own traffic fits its prediction: p = {p}"
    );
}

#[test]
fn who_served_under_uptime_failures_fits_the_served_prediction() {
    let report = replay("served", &served_only(&serve(Failures::Uptime, Vec::new())));
    let group = &report["groups"][0];
    assert_eq!(group["observed_as"], "served");
    let p = group["p_value"].as_f64().expect("a p-value");
    assert!(
        p > 0.001,
        "served providers follow the failure model: p = {p}"
    );
}

#[test]
fn a_provider_failing_beyond_its_uptime_is_detected_in_who_served() {
    // DeepInfra (about 71% of first attempts over its two endpoints) answers 503 to everything:
    // it never serves, far from the served distribution the uptime model predicts.
    let rules = Rule::parse_list("- { endpoint: deepinfra, status: 503 }").expect("a rule");
    let journal = serve(Failures::Uptime, rules);
    let first = replay("faulted-first", &journal);
    let p_first = first["groups"][0]["p_value"].as_f64().expect("a p-value");
    assert!(
        p_first > 0.001,
        "first attempts still follow the plan: p = {p_first}"
    );
    let served = replay("faulted-served", &served_only(&journal));
    let p_served = served["groups"][0]["p_value"].as_f64().expect("a p-value");
    assert!(
        p_served < 0.001,
        "a provider that never serves is detected: p = {p_served}"
    );
}
