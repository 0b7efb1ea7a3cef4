//! `routesim serve` as a program, and the server against `routesim route`: for every routable
//! scenario in tests/scenarios/, the endpoint the server serves is the first attempt of
//! `routesim route --seed S` that the faults let through; SIGTERM and SIGINT stop the command
//! gracefully; its flags reach the server; `route --catalog` on the endpoints listing plans the
//! same as on the catalog.

mod serve_support;

use routesim::Options;
use routesim::serve::{Config, Rule, Server};
use serde::Deserialize;
use serde_json::Value;
use serve_support::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn routesim() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_routesim"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

#[derive(Deserialize)]
struct Scenario {
    catalog: Catalogs,
    request: String,
    #[serde(default)]
    seeds: Vec<u64>,
    #[serde(default)]
    args: Vec<String>,
    expect: serde_yaml::Value,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Catalogs {
    One(String),
    Many(Vec<String>),
}

impl Catalogs {
    fn paths(&self) -> Vec<String> {
        match self {
            Catalogs::One(p) => vec![p.clone()],
            Catalogs::Many(ps) => ps.clone(),
        }
    }
}

/// `routesim route --json --seed S` for a scenario: the attempts' (endpoint key, provider).
fn route_plan(scenario: &Scenario, catalog: &[String], seed: u64) -> Vec<(String, String)> {
    let mut command = routesim();
    command
        .arg("route")
        .arg("--json")
        .arg("--seed")
        .arg(seed.to_string());
    for path in catalog {
        command.arg("--catalog").arg(path);
    }
    command
        .arg("--request")
        .arg(&scenario.request)
        .args(&scenario.args);
    let out = command.output().expect("routesim runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("route --json prints JSON");
    plan["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["endpoint"].as_str().unwrap().to_string(),
                a["provider"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The server options the scenario's `route` arguments give.
fn options(args: &[String]) -> Options {
    let mut options = Options::default();
    for pair in args.chunks(2) {
        match pair {
            [flag, value] if flag == "--account" => {
                options.account = routesim::Account::from_path(Path::new(&fixture(value))).unwrap()
            }
            [flag, value] if flag == "--sticky" => options.sticky = Some(value.clone()),
            _ => panic!("a scenario argument the corpus test does not know: {pair:?}"),
        }
    }
    options
}

/// Whether the rule `endpoint: slug` matches an attempt, as SPEC section 9 words it: a key or
/// tag that one endpoint (every endpoint with that tag), a provider slug all its endpoints.
fn rule_matches(slug: &str, (key, provider): &(String, String)) -> bool {
    let tag = key.split('#').next().unwrap_or(key);
    slug == key || slug == tag || (!slug.contains(['/', '#']) && slug == provider)
}

#[test]
fn the_served_endpoint_is_the_first_attempt_of_route_that_the_faults_let_through() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let agent = agent();
    let (mut checked, mut scenarios) = (0, 0);
    for file in files {
        let scenario: Scenario = serde_yaml::from_str(&read(&file)).unwrap();
        let exit = scenario.expect.get("exit").and_then(|e| e.as_u64());
        if exit.is_some_and(|e| e != 0) {
            continue;
        }
        let catalog_paths = scenario.catalog.paths();
        let catalog = routesim::Catalog::from_paths(
            &catalog_paths.iter().map(|p| fixture(p)).collect::<Vec<_>>(),
        )
        .unwrap();
        let mut config = Config::new(catalog);
        config.options = options(&scenario.args);
        let server = Server::start(config).unwrap();
        let body = read(Path::new(&fixture(&scenario.request)));
        let seeds = match scenario.seeds.is_empty() {
            true => vec![0, 1, 2],
            false => scenario.seeds.iter().copied().take(3).collect(),
        };
        scenarios += 1;
        for seed in seeds.into_iter().chain([12_345]) {
            let plan = route_plan(&scenario, &catalog_paths, seed);
            let name = format!("{}, seed {seed}", file.display());
            let s = seed.to_string();
            let headers = [("x-routesim-seed", s.as_str())];
            server.clear_faults();
            let reply = post(&agent, &chat_url(&server), &body, &headers);
            assert_eq!(reply.status, 200, "{name}: {}", reply.body);
            assert_eq!(reply.header("x-routesim-endpoint"), plan[0].0, "{name}");
            assert_eq!(reply.header("x-routesim-seed"), s);
            // Fail the first attempt's endpoint: the walk serves the next one the rule spares.
            let slug = &plan[0].0;
            server.set_faults(
                Rule::parse_list(&format!("[{{\"endpoint\": {slug:?}, \"status\": 502}}]"))
                    .unwrap(),
            );
            let reply = post(&agent, &chat_url(&server), &body, &headers);
            let walked: Vec<&(String, String)> = {
                let spared = plan.iter().position(|a| !rule_matches(slug, a));
                match spared {
                    Some(i) => plan[..=i].iter().collect(),
                    None => plan.iter().collect(),
                }
            };
            let keys: Vec<&str> = walked.iter().map(|a| a.0.as_str()).collect();
            assert_eq!(
                reply.header("x-routesim-attempts"),
                keys.join(","),
                "{name}"
            );
            match plan.iter().find(|a| !rule_matches(slug, a)) {
                Some(spared) => {
                    assert_eq!(reply.status, 200, "{name}");
                    assert_eq!(reply.header("x-routesim-endpoint"), spared.0, "{name}");
                }
                None => assert_eq!(reply.status, 503, "{name}: every attempt faulted"),
            }
            checked += 1;
        }
    }
    assert!(
        scenarios >= 50,
        "the corpus covers the routable scenarios: {scenarios}"
    );
    assert!(checked > 2 * scenarios, "several seeds each: {checked}");
}

/// A running `routesim serve` child and the URL it printed.
struct Running {
    child: Child,
    url: String,
}

fn spawn(args: &[&str]) -> Running {
    let mut child = routesim()
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("routesim serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the first line names the address: {line:?}"))
        .to_string();
    Running { child, url }
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the pid of a child this test started; no memory is involved.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0);
}

fn stats(agent: &ureq::Agent, url: &str) -> Value {
    get(agent, &format!("{url}/routesim/stats")).json()
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let mut server = spawn(&[
        "--catalog",
        "fixtures/deepseek-r1.yaml",
        "--time-scale",
        "2",
    ]);
    let url = format!("{}/api/v1/chat/completions", server.url);
    let body = r#"{"model": "deepseek/deepseek-r1", "provider": {"order": ["deepinfra/turbo"]}}"#;
    let in_flight = std::thread::spawn(move || post(&agent(), &url, body, &[]));
    let agent = agent();
    while stats(&agent, &server.url)["requests"] == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&server.child, libc::SIGTERM);
    let reply = in_flight.join().unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigint_stops_an_idle_server_with_exit_0() {
    let mut server = spawn(&["--catalog", "fixtures/abc.yaml"]);
    assert_eq!(
        get(&agent(), &format!("{}/routesim/stats", server.url)).status,
        200
    );
    signal(&server.child, libc::SIGINT);
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
}

#[test]
fn the_flags_reach_the_server() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let faults = dir.join("serve-flags-faults.yaml");
    std::fs::write(&faults, "- { endpoint: b, status: 503, test_id: t }\n").unwrap();
    let mut server = spawn(&[
        "--catalog",
        "fixtures/abc.yaml",
        "--seed",
        "5",
        "--api-key",
        "k",
        "--journal-limit",
        "1",
        "--reply",
        "hi",
        "--faults",
        faults.to_str().unwrap(),
        "--failures",
        "uptime",
    ]);
    let agent = agent();
    let url = format!("{}/api/v1/chat/completions", server.url);
    let key = [("Authorization", "Bearer k")];
    assert_eq!(
        post(&agent, &url, r#"{"model": "example/abc"}"#, &[]).status,
        401
    );
    let reply = post(&agent, &url, r#"{"model": "example/abc"}"#, &key);
    assert_eq!(
        reply.header("x-routesim-seed"),
        "6",
        "--seed 5, second request"
    );
    let body = r#"{"model": "example/abc", "provider": {"only": ["b"]}}"#;
    let auth_t = [("Authorization", "Bearer k"), ("x-test-id", "t")];
    assert_eq!(post(&agent, &url, body, &auth_t).status, 503, "--faults");
    let ok = post(
        &agent,
        &url,
        r#"{"model": "example/abc", "provider": {"order": ["a"]}}"#,
        &key,
    );
    assert_eq!(
        ok.status, 200,
        "a has uptime 1: --failures uptime never fails it"
    );
    assert_eq!(
        ok.json()["choices"][0]["message"]["content"],
        "hi",
        "--reply"
    );
    let journal = agent
        .get(&format!("{}/routesim/journal", server.url))
        .header("Authorization", "Bearer k")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(journal.lines().count(), 1, "--journal-limit 1");
    signal(&server.child, libc::SIGTERM);
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
}

#[test]
fn bad_input_exits_2_naming_the_file_and_field() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let faults = dir.join("serve-bad-faults.yaml");
    std::fs::write(&faults, "- { endpoint: b, status: 200 }\n").unwrap();
    let out = routesim()
        .args([
            "serve",
            "--catalog",
            "fixtures/abc.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--faults")
        .arg(&faults)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("serve-bad-faults.yaml") && stderr.contains("status"),
        "{stderr}"
    );
    let out = routesim()
        .args(["serve", "--catalog", "fixtures/nothing.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = routesim()
        .args([
            "serve",
            "--catalog",
            "fixtures/abc.yaml",
            "--listen",
            "nowhere",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses a bad address");
}

#[test]
fn route_on_the_endpoints_listing_prints_the_plans_route_prints_on_the_catalog() {
    let server = start("fixtures/llama-3.1-70b.yaml", |_| {});
    let model = catalog("fixtures/llama-3.1-70b.yaml").models[0].id.clone();
    let listing = get(
        &agent(),
        &format!("{}/models/{model}/endpoints", server.api_base()),
    );
    assert_eq!(listing.status, 200);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-listing.json");
    std::fs::write(&path, &listing.body).unwrap();
    let request = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-listing-request.json");
    for body in [
        format!(r#"{{"model": "{model}"}}"#),
        format!(r#"{{"model": "{model}", "provider": {{"sort": "throughput"}}}}"#),
        format!(
            r#"{{"model": "{model}", "max_tokens": 8000, "provider": {{"ignore": ["together"]}}}}"#
        ),
    ] {
        std::fs::write(&request, &body).unwrap();
        for seed in 0..8 {
            let plan = |catalog: &Path| {
                let out = routesim()
                    .arg("route")
                    .arg("--catalog")
                    .arg(catalog)
                    .arg("--request")
                    .arg(&request)
                    .args(["--json", "--seed", &seed.to_string()])
                    .output()
                    .unwrap();
                let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
                let keys: Vec<Value> = plan["attempts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["endpoint"].clone())
                    .collect();
                (plan["strategy"].clone(), keys)
            };
            assert_eq!(
                plan(Path::new(&fixture("fixtures/llama-3.1-70b.yaml"))),
                plan(&path),
                "{body}, seed {seed}"
            );
        }
    }
}
