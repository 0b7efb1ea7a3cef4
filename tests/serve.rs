//! `routesim::serve` in-process over real sockets: every path, every error status, the body,
//! headers and billing of a served request, faults with `times` and `test_id`, the journal and
//! its limit, generation records, streaming event by event, listings, limits and shutdown.

mod serve_support;

use rand::SeedableRng;
use routesim::serve::{Failures, Limits, Rule};
use routesim::{Catalog, Options, Request, Router};
use serde_json::{Value, json};
use serve_support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const DEEPSEEK: &str = "fixtures/deepseek-r1.yaml";
const HELLO: &str =
    r#"{"model": "deepseek/deepseek-r1", "messages": [{"role": "user", "content": "Hello"}]}"#;
/// Sorted by price: the same plan for every seed.
const BY_PRICE: &str = r#"{"model": "deepseek/deepseek-r1", "provider": {"sort": "price"}}"#;

/// The plan the library gives a deterministic request, as endpoint keys.
fn fixed_plan(catalog: &Catalog, body: &str) -> Vec<String> {
    let request = Request::parse(body).unwrap();
    let router = Router::compile(catalog, &request, &Options::default()).unwrap();
    let plan = router.plan(&mut rand::rngs::SmallRng::seed_from_u64(0));
    plan.attempts.into_iter().map(|a| a.endpoint).collect()
}

fn endpoint<'c>(catalog: &'c Catalog, key: &str) -> &'c routesim::Endpoint {
    catalog.models[0]
        .endpoints
        .iter()
        .find(|e| e.key == key)
        .expect("the served endpoint is in the catalog")
}

#[test]
fn a_served_request_answers_openrouters_body_headers_and_cost() {
    let server = start(DEEPSEEK, |_| {});
    let unix = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = unix();
    let reply = post(&agent(), &chat_url(&server), HELLO, &[]);
    let after = unix();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let created = body["created"].as_u64().expect("created, in Unix seconds");
    assert!((before..=after).contains(&created), "{created}");
    let key = reply.header("x-routesim-endpoint").to_string();
    assert_eq!(
        reply.header("x-routesim-seed"),
        "0",
        "request 0 of --seed 0"
    );
    assert_eq!(
        reply.header("x-generation-id"),
        body["id"].as_str().unwrap()
    );
    assert_eq!(
        reply.header("x-routesim-attempts"),
        key,
        "one attempt, no faults"
    );
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "deepseek/deepseek-r1");
    let catalog = catalog(DEEPSEEK);
    let ep = endpoint(&catalog, &key);
    assert_eq!(body["provider"], ep.provider_name.clone().unwrap());
    let reply_text = format!("routesim: served by {key} (deepseek/deepseek-r1)");
    assert_eq!(body["choices"][0]["message"]["content"], reply_text);
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["choices"][0]["logprobs"], Value::Null);
    assert_eq!(body["system_fingerprint"], Value::Null);
    let usage = &body["usage"];
    assert_eq!(
        usage["prompt_tokens"], 2,
        "\"Hello\": 5 characters / 4, rounded up"
    );
    let completion = reply_text.chars().count().div_ceil(4) as u64;
    assert_eq!(usage["completion_tokens"], completion);
    assert_eq!(usage["total_tokens"], 2 + completion);
    // Exact (SPEC 8): the body spells the decimal the prices give, digit for digit.
    let cost = ep.pricing.cost(2, completion).expect("a cost").to_string();
    assert!(
        reply.body.contains(&format!("\"cost\":{cost},")),
        "usage.cost is exactly {cost}: {}",
        reply.body
    );
    assert_eq!(usage["is_byok"], false);
    assert!(
        usage.get("cost_details").is_none(),
        "no BYOK, no cost details"
    );
    assert!(body.get("openrouter_metadata").is_none(), "only when asked");
}

#[test]
fn usage_estimates_give_the_tokens_and_max_tokens_caps_the_completion() {
    let server = start(DEEPSEEK, |c| c.reply = Some("x".repeat(400)));
    let body = r#"{"model": "deepseek/deepseek-r1", "usage_estimate": {"prompt_tokens": 1000}, "max_tokens": 7}"#;
    let reply = post(&agent(), &chat_url(&server), body, &[]);
    let usage = &reply.json()["usage"];
    assert_eq!(usage["prompt_tokens"], 1000);
    assert_eq!(
        usage["completion_tokens"], 7,
        "100 estimated, capped at max_tokens"
    );
    assert_eq!(
        reply.json()["choices"][0]["message"]["content"],
        "x".repeat(400)
    );
}

#[test]
fn metadata_names_the_available_endpoints_and_the_one_selected() {
    let server = start(DEEPSEEK, |_| {});
    let reply = post(
        &agent(),
        &chat_url(&server),
        HELLO,
        &[("X-OpenRouter-Metadata", "enabled")],
    );
    let meta = &reply.json()["openrouter_metadata"];
    assert_eq!(meta["strategy"], "load_balance");
    assert_eq!(meta["requested"], "deepseek/deepseek-r1");
    assert_eq!(meta["attempt"], 1);
    assert_eq!(meta["region"], Value::Null);
    assert_eq!(meta["endpoints"]["total"], 7);
    let available = meta["endpoints"]["available"].as_array().unwrap();
    assert_eq!(available.len(), 7);
    assert_eq!(
        available.iter().filter(|a| a["selected"] == true).count(),
        1
    );
    let provider = reply.json()["provider"].as_str().unwrap().to_string();
    assert_eq!(meta["summary"], format!("available=7, selected={provider}"));
    assert_eq!(meta["attempts"][0]["status"], 200);
    // Excluded endpoints count in the total, not among the available.
    let ignoring = r#"{"model": "deepseek/deepseek-r1", "messages": [{"role": "user", "content": "Hello"}], "provider": {"ignore": ["novita", "nebius"]}}"#;
    let reply = post(
        &agent(),
        &chat_url(&server),
        ignoring,
        &[("X-OpenRouter-Metadata", "enabled")],
    );
    let meta = &reply.json()["openrouter_metadata"];
    assert_eq!(meta["endpoints"]["total"], 7);
    assert_eq!(meta["endpoints"]["available"].as_array().unwrap().len(), 5);
}

#[test]
fn a_byok_attempt_costs_nothing_and_reports_the_providers_charge() {
    let byok = Options {
        account: routesim::Account::parse("byok: [together]").unwrap(),
        ..Options::default()
    };
    let server = start(DEEPSEEK, |c| c.options = byok);
    let reply = post(&agent(), &chat_url(&server), HELLO, &[]);
    assert_eq!(reply.header("x-routesim-endpoint"), "together");
    let usage = &reply.json()["usage"];
    assert_eq!(usage["cost"], 0.0);
    assert_eq!(usage["is_byok"], true);
    let details = &usage["cost_details"];
    let upstream = details["upstream_inference_cost"].as_f64().unwrap();
    let parts = details["upstream_inference_prompt_cost"].as_f64().unwrap()
        + details["upstream_inference_completions_cost"]
            .as_f64()
            .unwrap();
    assert!(
        upstream > 0.0 && (upstream - parts).abs() < 1e-15,
        "{details}"
    );
}

#[test]
fn bad_bodies_answer_400_with_the_message_route_gives() {
    let server = start(DEEPSEEK, |_| {});
    let (agent, url) = (agent(), chat_url(&server));
    let reply = post(&agent, &url, "{not json", &[]);
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON")
    );
    let body = r#"{"model": "deepseek/deepseek-r1", "provider": {"sort": "cheapest"}}"#;
    let reply = post(&agent, &url, body, &[]);
    assert_eq!(reply.status, 400);
    let expected = Request::parse(body).unwrap_err().to_string();
    assert_eq!(reply.json()["error"]["message"], expected);
    assert!(
        expected.contains("provider.sort"),
        "the message names the field"
    );
    assert_eq!(reply.json()["error"]["code"], 400);
    let reply = post(&agent, &url, r#"{"model": "nobody/nothing"}"#, &[]);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["metadata"]["code"], "model_not_found");
    let reply = post(&agent, &url, HELLO, &[("x-routesim-seed", "minus one")]);
    assert_eq!(reply.status, 400, "a seed header that is not a number");
}

#[test]
fn an_unroutable_request_answers_404_with_the_availability_route_reports() {
    let server = start(DEEPSEEK, |_| {});
    let body = r#"{"model": "deepseek/deepseek-r1", "provider": {"zdr": true, "ignore": ["together", "kluster", "fireworks"]}}"#;
    let reply = post(&agent(), &chat_url(&server), body, &[]);
    assert_eq!(reply.status, 404, "{}", reply.body);
    let availability = &reply.json()["error"]["metadata"]["availability"];
    let catalog = catalog(DEEPSEEK);
    let err = Router::compile(
        &catalog,
        &Request::parse(body).unwrap(),
        &Options::default(),
    )
    .unwrap_err();
    let unroutable = serde_json::to_value(err.unroutable().unwrap()).unwrap();
    assert_eq!(availability["code"], unroutable["code"]);
    assert_eq!(availability["excluded"], unroutable["excluded"]);
    assert_eq!(availability["relaxations"], unroutable["relaxations"]);
}

#[test]
fn the_api_key_guards_every_path_and_is_compared_whole() {
    let server = start(DEEPSEEK, |c| c.api_key = Some("sk-test".into()));
    let (agent, url) = (agent(), chat_url(&server));
    assert_eq!(post(&agent, &url, HELLO, &[]).status, 401);
    let wrong = [("Authorization", "Bearer sk-tes")];
    assert_eq!(post(&agent, &url, HELLO, &wrong).status, 401);
    let right = [("Authorization", "Bearer sk-test")];
    assert_eq!(post(&agent, &url, HELLO, &right).status, 200);
    // Only a POST to chat completions passes the key check to count itself.
    for path in [
        "/routesim/stats",
        "/api/v1/models",
        "/nowhere",
        "/api/v1/chat/completions",
    ] {
        let reply = get(&agent, &format!("{}{path}", server.url()));
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.json()["error"]["code"], 401);
    }
    let reply = post(&agent, &format!("{}/nowhere", server.url()), HELLO, &[]);
    assert_eq!(reply.status, 401, "a POST elsewhere");
    assert_eq!(
        server.stats().requests,
        3,
        "refused chat requests still count"
    );
    assert_eq!(server.stats().by_status.get(&401), Some(&2));
}

#[test]
fn unknown_paths_answer_404_and_wrong_methods_405() {
    let server = start(DEEPSEEK, |_| {});
    let agent = agent();
    let reply = get(&agent, &format!("{}/api/v1/nothing", server.url()));
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["code"], 404);
    let reply = get(&agent, &chat_url(&server));
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json()["error"]["code"], 405);
    let reply = delete(&agent, &format!("{}/routesim/stats", server.url()));
    assert_eq!(reply.status, 405);
}

#[test]
fn a_body_over_16_mib_is_refused_before_it_is_read_whole() {
    let server = start(DEEPSEEK, |_| {});
    let declared = format!(
        "POST /api/v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{{\"model\":",
        (16 << 20) + 1
    );
    let answer = raw(server.addr(), declared.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":413"#), "{answer}");
    // Without a declared length the limit applies while reading.
    let mut chunked =
        b"POST /api/v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..17 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    let answer = raw(server.addr(), &chunked);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert_eq!(server.stats().by_status.get(&413), Some(&2));
    // A body of exactly 16 MiB is read.
    let head = r#"{"model": "deepseek/deepseek-r1""#;
    let body = format!("{head}{}}}", " ".repeat((16 << 20) - head.len() - 1));
    assert_eq!(body.len(), 16 << 20);
    assert_eq!(post(&agent(), &chat_url(&server), &body, &[]).status, 200);
    // A body whose chunked encoding is broken (a chunk size that is not hex) is a bad
    // request, not one too large.
    let broken = b"POST /api/v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    let answer = raw(server.addr(), broken);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("could not be read"), "{answer}");
}

#[test]
fn fault_rules_fail_attempts_and_the_walk_falls_through() {
    let catalog = catalog(DEEPSEEK);
    let plan = fixed_plan(&catalog, BY_PRICE);
    let rules = format!(
        "- {{ endpoint: {}, status: 502, times: 2 }}\n- {{ endpoint: {}, status: 429, test_id: t-17 }}\n",
        plan[0], plan[1]
    );
    let server = start(DEEPSEEK, |c| c.faults = Rule::parse_list(&rules).unwrap());
    let (agent, url) = (agent(), chat_url(&server));
    for _ in 0..2 {
        let reply = post(&agent, &url, BY_PRICE, &[]);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("x-routesim-endpoint"), plan[1]);
        assert_eq!(
            reply.header("x-routesim-attempts"),
            format!("{},{}", plan[0], plan[1])
        );
    }
    let reply = post(&agent, &url, BY_PRICE, &[]);
    assert_eq!(
        reply.header("x-routesim-endpoint"),
        plan[0],
        "times: 2 is spent"
    );
    let reply = post(&agent, &url, BY_PRICE, &[("x-test-id", "t-17")]);
    assert_eq!(reply.header("x-routesim-endpoint"), plan[0]);
    assert_eq!(server.faults()[0].times, Some(0));
    // Only t-17's requests see the second rule.
    server.set_faults(Rule::parse_list(&rules).unwrap());
    let t17 = [("x-test-id", "t-17")];
    let reply = post(&agent, &url, BY_PRICE, &t17);
    assert_eq!(reply.header("x-routesim-endpoint"), plan[2]);
    let other = [("x-test-id", "t-18")];
    let reply = post(&agent, &url, BY_PRICE, &other);
    assert_eq!(reply.header("x-routesim-endpoint"), plan[1]);
    let generation = get(
        &agent,
        &format!(
            "{}/generation?id={}",
            server.api_base(),
            reply.header("x-generation-id")
        ),
    )
    .json();
    let responses = generation["data"]["provider_responses"].as_array().unwrap();
    let statuses: Vec<(&str, u64)> = responses
        .iter()
        .map(|r| {
            (
                r["endpoint"].as_str().unwrap(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [(plan[0].as_str(), 502), (plan[1].as_str(), 200)]);
}

#[test]
fn every_attempt_failing_answers_429_or_503_with_the_attempts() {
    let server = start(DEEPSEEK, |c| {
        c.faults = Rule::parse_list("- { endpoint: '*', status: 429 }").unwrap()
    });
    let (agent, url) = (agent(), chat_url(&server));
    let reply = post(&agent, &url, BY_PRICE, &[]);
    assert_eq!(reply.status, 429);
    let error = &reply.json()["error"];
    assert_eq!(error["metadata"]["code"], "capacity_exhausted");
    assert_eq!(error["metadata"]["attempts"].as_array().unwrap().len(), 7);
    let plan = fixed_plan(&catalog(DEEPSEEK), BY_PRICE);
    assert_eq!(reply.header("x-routesim-attempts"), plan.join(","));
    server.set_faults(
        Rule::parse_list(&format!(
            "- {{ endpoint: {}, status: timeout }}\n- {{ endpoint: '*', status: 429 }}",
            plan[0]
        ))
        .unwrap(),
    );
    let reply = post(&agent, &url, BY_PRICE, &[]);
    assert_eq!(reply.status, 503);
    let error = &reply.json()["error"];
    assert_eq!(error["metadata"]["code"], "temporarily_unavailable");
    assert_eq!(error["metadata"]["attempts"][0]["status"], 408);
    let id = reply.header("x-generation-id");
    let record = get(&agent, &format!("{}/generation?id={id}", server.api_base())).json();
    assert_eq!(
        record["data"]["provider_responses"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(record["data"]["total_cost"], 0.0);
}

#[test]
fn a_probability_is_drawn_from_the_requests_generator() {
    let server = start(DEEPSEEK, |c| {
        c.faults = Rule::parse_list("- { endpoint: '*', status: 502, probability: 0.5 }").unwrap()
    });
    let (agent, url) = (agent(), chat_url(&server));
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40u64 {
        let s = seed.to_string();
        let once = post(&agent, &url, BY_PRICE, &[("x-routesim-seed", &s)]);
        let again = post(&agent, &url, BY_PRICE, &[("x-routesim-seed", &s)]);
        assert_eq!(
            once.headers.get("x-routesim-attempts"),
            again.headers.get("x-routesim-attempts"),
            "seed {seed} gives the same walk"
        );
        seen.insert(once.header("x-routesim-attempts").split(',').count());
    }
    // P(first attempt served) = 1/2 each time: 40 seeds all alike has probability 2^-39.
    assert!(seen.contains(&1) && seen.len() > 1, "{seen:?}");
}

#[test]
fn uptime_failures_fall_through_to_the_next_attempt() {
    // kluster only, then nebius: nebius has uptime 0.62.
    let body = r#"{"model": "deepseek/deepseek-r1", "provider": {"order": ["nebius", "kluster"]}}"#;
    let server = start(DEEPSEEK, |c| c.failures = Failures::Uptime);
    let (agent, url) = (agent(), chat_url(&server));
    let n = 400;
    let mut fell_through = 0;
    for _ in 0..n {
        let reply = post(&agent, &url, body, &[]);
        assert_eq!(reply.status, 200);
        if reply.header("x-routesim-attempts").starts_with("nebius,") {
            fell_through += 1;
            let content = reply.json()["choices"][0]["message"]["content"].clone();
            assert!(
                !content.as_str().unwrap().contains("by nebius"),
                "{content}"
            );
        }
    }
    // Failures at 1 - 0.62 = 0.38; 5 standard deviations of a share of 400 requests.
    let share = fell_through as f64 / n as f64;
    let sd = (0.38f64 * 0.62 / n as f64).sqrt();
    assert!((share - 0.38).abs() <= 5.0 * sd, "{share}");
}

#[test]
fn faults_are_read_set_and_cleared_over_http() {
    let server = start(DEEPSEEK, |_| {});
    let agent = agent();
    let url = format!("{}/routesim/faults", server.url());
    let reply = put(
        &agent,
        &url,
        r#"[{"endpoint": "deepinfra", "status": 503, "times": 1}]"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(get(&agent, &url).json()[0]["status"], 503);
    let reply = put(&agent, &url, "- { endpoint: a, status: 418 }");
    assert_eq!(reply.status, 400);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("[0].status"), "{message}");
    assert_eq!(
        server.faults().len(),
        1,
        "a bad list leaves the rules as they were"
    );
    assert_eq!(delete(&agent, &url).status, 204);
    assert_eq!(get(&agent, &url).json(), json!([]));
    put(&agent, &url, "- { endpoint: '*', status: 503 }");
    assert_eq!(server.faults().len(), 1);
    server.clear_faults();
    assert!(server.faults().is_empty(), "Server::clear_faults as DELETE");
}

#[test]
fn the_journal_holds_every_request_filters_by_test_id_and_keeps_its_limit() {
    let server = start(DEEPSEEK, |c| c.journal_limit = 3);
    let (agent, url) = (agent(), chat_url(&server));
    let ids: Vec<String> = (0..5)
        .map(|i| {
            let test = format!("t-{}", i % 2);
            let reply = post(&agent, &url, HELLO, &[("x-test-id", &test)]);
            reply.header("x-generation-id").to_string()
        })
        .collect();
    post(&agent, &url, "{", &[]);
    let text = get(&agent, &format!("{}/routesim/journal", server.url())).body;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [3, 4, 5], "the last 3 requests, in arrival order");
    for line in &lines {
        for key in [
            "seq",
            "time",
            "test_id",
            "seed",
            "status",
            "request",
            "generation",
        ] {
            assert!(line.get(key).is_some(), "{key} in {line}");
        }
    }
    assert_eq!(
        lines[0]["request"],
        serde_json::from_str::<Value>(HELLO).unwrap()
    );
    assert_eq!(lines[0]["generation"]["id"], ids[3]);
    assert_eq!(lines[2]["status"], 400);
    assert_eq!(lines[2]["request"], Value::Null, "not JSON: no body kept");
    let t1 = get(
        &agent,
        &format!("{}/routesim/journal?test_id=t-1", server.url()),
    )
    .body;
    assert_eq!(t1.lines().count(), 1, "only request 3 of t-1 is still kept");
    let stats = get(&agent, &format!("{}/routesim/stats", server.url())).json();
    assert_eq!(stats["requests"], 6);
    assert_eq!(stats["by_status"]["200"], 5);
    assert_eq!(stats["by_status"]["400"], 1);
    assert_eq!(stats["journal_dropped"], 3);
    let evicted = get(
        &agent,
        &format!("{}/generation?id={}", server.api_base(), ids[0]),
    );
    assert_eq!(evicted.status, 404);
    assert_eq!(server.journal(Some("t-0")).len(), 1);
    assert_eq!(
        delete(&agent, &format!("{}/routesim/journal", server.url())).status,
        204
    );
    assert!(server.journal(None).is_empty());
    post(&agent, &url, HELLO, &[]);
    assert_eq!(server.journal(None).len(), 1);
    server.clear_journal();
    assert!(
        server.journal(None).is_empty(),
        "Server::clear_journal as DELETE"
    );
}

/// Every key SPEC section 9 lists for a generation record.
const GENERATION_KEYS: &[&str] = &[
    "id",
    "model",
    "provider_name",
    "created_at",
    "streamed",
    "cancelled",
    "finish_reason",
    "native_finish_reason",
    "tokens_prompt",
    "tokens_completion",
    "native_tokens_prompt",
    "native_tokens_completion",
    "total_cost",
    "usage",
    "is_byok",
    "latency",
    "generation_time",
    "moderation_latency",
    "provider_responses",
    "api_type",
    "app_id",
    "cache_discount",
    "data_region",
    "external_user",
    "http_referer",
    "origin",
    "preset_id",
    "router",
    "service_tier",
    "upstream_id",
    "upstream_inference_cost",
    "user_agent",
    "web_search_engine",
    "workspace_id",
    "native_tokens_cached",
    "native_tokens_completion_images",
    "native_tokens_reasoning",
    "num_fetches",
    "num_input_audio_prompt",
    "num_media_completion",
    "num_media_prompt",
    "num_search_results",
];

#[test]
fn generation_records_carry_every_key_for_served_and_failed_requests() {
    let server = start(DEEPSEEK, |_| {});
    let (agent, url) = (agent(), chat_url(&server));
    let served = post(&agent, &url, HELLO, &[]);
    server.set_faults(Rule::parse_list("- { endpoint: '*', status: 500 }").unwrap());
    let failed = post(&agent, &url, HELLO, &[]);
    assert_eq!(failed.status, 503);
    for reply in [&served, &failed] {
        let id = reply.header("x-generation-id");
        let answer = get(&agent, &format!("{}/generation?id={id}", server.api_base()));
        assert_eq!(answer.status, 200);
        let data = &answer.json()["data"];
        for &key in GENERATION_KEYS {
            assert!(data.get(key).is_some(), "{key} in {data}");
        }
        assert_eq!(data["id"], id);
        assert!(data["total_cost"].is_number() && data["usage"].is_number());
        assert!(data["data_region"].is_string() && data["origin"].is_string());
        for response in data["provider_responses"].as_array().unwrap() {
            for key in ["provider_name", "endpoint", "status", "is_byok"] {
                assert!(response.get(key).is_some(), "{key} in {response}");
            }
        }
    }
    let data = get(
        &agent,
        &format!(
            "{}/generation?id={}",
            server.api_base(),
            served.header("x-generation-id")
        ),
    )
    .json();
    let usage = &served.json()["usage"];
    assert_eq!(data["data"]["total_cost"], usage["cost"]);
    assert_eq!(data["data"]["tokens_prompt"], usage["prompt_tokens"]);
    assert_eq!(data["data"]["provider_name"], served.json()["provider"]);
    assert_eq!(data["data"]["finish_reason"], "stop");
    let missing = get(
        &agent,
        &format!("{}/generation?id=gen-none", server.api_base()),
    );
    assert_eq!(missing.status, 404);
    assert_eq!(
        get(&agent, &format!("{}/generation", server.api_base())).status,
        400
    );
}

/// Reads a server-sent-events body event by event: each `data:` payload.
fn events(body: impl Read) -> Vec<String> {
    let mut out = Vec::new();
    for line in BufReader::new(body).lines() {
        let line = line.expect("a line");
        if let Some(data) = line.strip_prefix("data: ") {
            out.push(data.to_string());
        } else {
            assert!(
                line.is_empty(),
                "only data lines and blank separators: {line:?}"
            );
        }
    }
    out
}

#[test]
fn a_streamed_answer_sends_chunks_then_stop_then_usage_then_done() {
    let server = start(DEEPSEEK, |_| {});
    let body = r#"{"model": "deepseek/deepseek-r1", "stream": true, "messages": [{"role": "user", "content": "Hello"}]}"#;
    let mut response = agent()
        .post(&chat_url(&server))
        .send(body)
        .expect("an answer");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let key = response.headers()["x-routesim-endpoint"]
        .to_str()
        .unwrap()
        .to_string();
    let events = events(response.body_mut().as_reader());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).expect("each event is JSON"))
        .collect();
    let n = chunks.len();
    assert!(n >= 4, "the reply spans several chunks: {n}");
    let mut text = String::new();
    for chunk in &chunks[..n - 2] {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(chunk["choices"][0]["index"], 0);
        text.push_str(chunk["choices"][0]["delta"]["content"].as_str().unwrap());
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        text,
        format!("routesim: served by {key} (deepseek/deepseek-r1)")
    );
    assert_eq!(chunks[n - 2]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert_eq!(chunks[n - 1]["usage"]["prompt_tokens"], 2);
    for chunk in &chunks {
        assert_ne!(chunk.get("system_fingerprint"), Some(&Value::Null));
        assert_eq!(chunk["id"], chunks[0]["id"]);
        assert_eq!(chunk["model"], "deepseek/deepseek-r1");
    }
    let journal = server.journal(None);
    assert_eq!(journal[0]["generation"]["streamed"], true);
}

#[test]
fn a_paced_stream_still_sends_every_event() {
    let server = start(DEEPSEEK, |c| c.time_scale = 0.01);
    let body = r#"{"model": "deepseek/deepseek-r1", "stream": true}"#;
    let mut response = agent().post(&chat_url(&server)).send(body).unwrap();
    let events = events(response.body_mut().as_reader());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert!(events.len() >= 5);
}

#[test]
fn models_list_every_model_with_the_keys_the_sdk_requires() {
    let server = start("fixtures/openrouter", |_| {});
    let body = get(&agent(), &format!("{}/models", server.api_base())).json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), catalog("fixtures/openrouter").models.len());
    for model in data {
        for key in [
            "id",
            "canonical_slug",
            "name",
            "created",
            "context_length",
            "architecture",
            "pricing",
            "top_provider",
            "per_request_limits",
            "supported_parameters",
            "default_parameters",
            "supported_voices",
            "links",
        ] {
            assert!(model.get(key).is_some(), "{key} in {}", model["id"]);
        }
        assert!(model["pricing"]["prompt"].is_string());
        assert!(model["links"]["details"].is_string());
        assert!(model["top_provider"]["is_moderated"].is_boolean());
    }
}

#[test]
fn the_endpoints_listing_loads_back_to_the_same_plans() {
    let catalog = catalog(DEEPSEEK);
    let server = start(DEEPSEEK, |_| {});
    let agent = agent();
    let url = format!(
        "{}/models/deepseek/deepseek-r1/endpoints",
        server.api_base()
    );
    let listing = get(&agent, &url);
    assert_eq!(listing.status, 200);
    let body = listing.json();
    for key in [
        "id",
        "name",
        "created",
        "description",
        "architecture",
        "endpoints",
    ] {
        assert!(body["data"].get(key).is_some(), "{key}");
    }
    for ep in body["data"]["endpoints"].as_array().unwrap() {
        for key in [
            "name",
            "model_id",
            "model_name",
            "provider_name",
            "tag",
            "pricing",
            "quantization",
            "context_length",
            "max_completion_tokens",
            "max_prompt_tokens",
            "supported_parameters",
            "status",
            "uptime_last_30m",
            "uptime_last_5m",
            "uptime_last_1d",
            "latency_last_30m",
            "throughput_last_30m",
            "supports_implicit_caching",
        ] {
            assert!(ep.get(key).is_some(), "{key} in {}", ep["tag"]);
        }
    }
    let back = Catalog::parse(&listing.body).expect("the listing loads as a catalog");
    for (a, b) in catalog.models[0]
        .endpoints
        .iter()
        .zip(&back.models[0].endpoints)
    {
        assert_eq!(a.pricing, b.pricing, "{}: prices exactly", a.key);
        assert_eq!((&a.key, &a.provider), (&b.key, &b.provider));
    }
    // Plans on the listing are the plans on the catalog (requests without data-policy or
    // quality preferences, which the listing shape has no fields for).
    for body in [
        HELLO,
        BY_PRICE,
        r#"{"model": "deepseek/deepseek-r1", "provider": {"sort": "latency"}}"#,
        r#"{"model": "deepseek/deepseek-r1", "provider": {"sort": "throughput", "quantizations": ["fp8"]}}"#,
        r#"{"model": "deepseek/deepseek-r1", "tools": [{}], "provider": {"preferred_max_latency": 0.6}}"#,
        r#"{"model": "deepseek/deepseek-r1", "max_tokens": 30000, "provider": {"order": ["deepinfra", "novita"]}}"#,
    ] {
        let request = Request::parse(body).unwrap();
        let on = |c: &Catalog, seed: u64| {
            let router = Router::compile(c, &request, &Options::default()).unwrap();
            let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(routesim::mix_seed(seed));
            let plan = router.plan(&mut rng);
            let keys: Vec<String> = plan.attempts.iter().map(|a| a.endpoint.clone()).collect();
            (plan.strategy, keys, plan.excluded.len())
        };
        for seed in 0..50 {
            assert_eq!(on(&catalog, seed), on(&back, seed), "{body}, seed {seed}");
        }
    }
    let missing = get(
        &agent,
        &format!("{}/models/no/such/endpoints", server.api_base()),
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn a_connection_without_a_complete_header_is_closed() {
    let server = start(DEEPSEEK, |c| {
        c.limits = Limits {
            header_timeout: Duration::from_millis(300),
            ..Limits::default()
        }
    });
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /routesim/stats HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    let mut out = Vec::new();
    let read = stream.read_to_end(&mut out);
    assert!(
        read.is_ok(),
        "closed by the server, not by our 20 s guard: {read:?}"
    );
    assert!(
        !String::from_utf8_lossy(&out).contains("200 OK"),
        "no answer to a header never finished"
    );
    // The server goes on serving.
    assert_eq!(
        get(&agent(), &format!("{}/routesim/stats", server.url())).status,
        200
    );
}

#[test]
fn connections_past_the_cap_wait_for_a_free_slot() {
    let server = start(DEEPSEEK, |c| {
        c.limits = Limits {
            max_connections: 1,
            ..Limits::default()
        }
    });
    let stats = b"GET /routesim/stats HTTP/1.1\r\nhost: x\r\n\r\n";
    let mut first = TcpStream::connect(server.addr()).unwrap();
    first.write_all(stats).unwrap();
    let mut buf = [0u8; 4096];
    let n = first.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // `first` is kept alive: the one slot is taken.
    let mut second = TcpStream::connect(server.addr()).unwrap();
    second.write_all(stats).unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(
        second.read(&mut buf).is_err(),
        "no answer while the only slot is taken"
    );
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let n = second.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[test]
fn garbage_on_the_wire_gets_an_error_and_the_server_goes_on() {
    let server = start(DEEPSEEK, |_| {});
    // Each connection is closed after its answer (the last asks to be: kept alive, it would
    // wait out the idle timeout).
    for (junk, status) in [
        (&b"\x00\xff\xfe garbage\r\n\r\n"[..], "400"),
        (
            b"POST /api/v1/chat/completions HTTP/1.1\r\ncontent-length: nine\r\n\r\n",
            "400",
        ),
        (
            b"GET /api/v1/generation?id=%ff%fe HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "404",
        ),
    ] {
        let reply = raw(server.addr(), junk);
        assert!(reply.starts_with(&format!("HTTP/1.1 {status} ")), "{reply}");
    }
    let body =
        "{\"model\": \"deepseek/deepseek-r1\", \"messages\": [{\"content\": \"\u{fffd}\\u0000\"}]}";
    assert_eq!(post(&agent(), &chat_url(&server), body, &[]).status, 200);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(post(&agent(), &chat_url(&server), &deep, &[]).status, 400);
}

#[test]
fn shutdown_lets_a_request_in_flight_finish() {
    // deepinfra/turbo's 0.45 s latency, scaled: the answer waits about 0.9 s.
    let server = start(DEEPSEEK, |c| c.time_scale = 2.0);
    let url = chat_url(&server);
    let body = r#"{"model": "deepseek/deepseek-r1", "provider": {"order": ["deepinfra/turbo"]}}"#;
    let in_flight = std::thread::spawn(move || post(&agent(), &url, body, &[]));
    while server.stats().requests == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let addr = server.addr();
    server.shutdown().expect("a clean shutdown");
    let reply = in_flight.join().unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port is closed once shutdown returns"
    );
}
