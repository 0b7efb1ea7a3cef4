//! Runs the `routesim` binary on every scenario under `tests/scenarios/` and checks its JSON.
//!
//! A scenario is data: a catalog, a request, the seeds to run, and what must hold for every
//! seed. Adding a case is adding a file. `catalog` is a path (file or directory) or a list of
//! them, each passed as its own `--catalog`. Keys of `expect` (all optional):
//! - `exit`: exit code (default 0); `strategy`
//! - `attempts`: the exact plan; `prefix` / `suffix`: how it starts / ends; `attempted`: the set
//! - `first_probability`: endpoint -> exact probability (others must be 0)
//! - `groups`: the plan is these sets one after the other, each in any order
//! - `count`: number of attempts; `first_in`: the set the first attempt is drawn from
//! - `price`: endpoint -> the price the plan reports
//! - `exact_price`, `cost`: endpoint -> the decimal text the JSON spells for its price / cost;
//!   `expected_first_cost`: the plan's, as text (SPEC section 8: money printed exactly)
//! - `excluded`: endpoint -> reason code, for every excluded endpoint
//! - `warnings`: substrings that some warning must contain; `no_warnings: true`
//! - `seen_first`: endpoints each first for at least one seed
//! - `same_plan_for_all_seeds: true`
//! - `error_code`, `stderr`, `relaxations` (drop -> endpoints): for failures
//!
//! BYOK attempts are written `slug (byok)`.
//!
//! Endpoints are written `slug`, or `model | slug` when a plan spans several models.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    catalog: Catalogs,
    request: String,
    #[serde(default = "default_seeds")]
    seeds: Vec<u64>,
    #[serde(default)]
    args: Vec<String>,
    expect: Expect,
}

/// One `--catalog` path, or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Catalogs {
    One(String),
    Many(Vec<String>),
}

impl Catalogs {
    fn args(&self) -> Vec<String> {
        let paths = match self {
            Catalogs::One(path) => std::slice::from_ref(path),
            Catalogs::Many(paths) => paths.as_slice(),
        };
        paths
            .iter()
            .flat_map(|p| ["--catalog".to_string(), p.clone()])
            .collect()
    }
}

fn default_seeds() -> Vec<u64> {
    (0..20).collect()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    exit: i32,
    strategy: Option<String>,
    attempts: Option<Vec<String>>,
    prefix: Option<Vec<String>>,
    suffix: Option<Vec<String>>,
    attempted: Option<BTreeSet<String>>,
    first_probability: Option<BTreeMap<String, f64>>,
    groups: Option<Vec<BTreeSet<String>>>,
    count: Option<usize>,
    first_in: Option<BTreeSet<String>>,
    price: Option<BTreeMap<String, f64>>,
    exact_price: Option<BTreeMap<String, String>>,
    cost: Option<BTreeMap<String, String>>,
    expected_first_cost: Option<String>,
    excluded: Option<BTreeMap<String, String>>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    no_warnings: bool,
    #[serde(default)]
    seen_first: Vec<String>,
    #[serde(default)]
    same_plan_for_all_seeds: bool,
    error_code: Option<String>,
    relaxations: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    stderr: Vec<String>,
}

/// A plan's money fields as the JSON text spells them.
#[derive(Deserialize)]
struct RawPlan {
    attempts: Vec<RawAttempt>,
    expected_first_cost: Box<RawValue>,
}

#[derive(Deserialize)]
struct RawAttempt {
    price: Box<RawValue>,
    cost: Box<RawValue>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(s: &Scenario, seed: u64) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["route", "--json"])
        .args(s.catalog.args())
        .args(["--request", &s.request])
        .args(["--seed", &seed.to_string()])
        .args(&s.args)
        .output()
        .expect("the routesim binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `slug`, or `model | slug` when the plan spans several models.
fn names(items: &[Value], multi_model: bool) -> Vec<String> {
    items
        .iter()
        .map(|a| {
            let mut endpoint = a["endpoint"].as_str().unwrap_or_default().to_string();
            if a["byok"] == true {
                endpoint.push_str(" (byok)");
            }
            if multi_model {
                format!("{} | {endpoint}", a["model"].as_str().unwrap_or_default())
            } else {
                endpoint
            }
        })
        .collect()
}

fn check(name: &str, s: &Scenario) -> Vec<String> {
    let e = &s.expect;
    let mut failures = Vec::new();
    let mut fail = |seed: u64, msg: String| failures.push(format!("{name} (seed {seed}): {msg}"));
    let mut firsts = BTreeSet::new();
    let mut plans = BTreeSet::new();
    for &seed in &s.seeds {
        let r = run(s, seed);
        if r.code != e.exit {
            fail(
                seed,
                format!(
                    "exit {} instead of {}; stderr: {}",
                    r.code, e.exit, r.stderr
                ),
            );
            continue;
        }
        for needle in &e.stderr {
            if !r.stderr.contains(needle.as_str()) {
                fail(seed, format!("stderr lacks {needle:?}: {}", r.stderr));
            }
        }
        if e.exit == 2 {
            continue;
        }
        let json: Value = match serde_json::from_str(&r.stdout) {
            Ok(v) => v,
            Err(err) => {
                fail(seed, format!("stdout is not JSON ({err}): {}", r.stdout));
                continue;
            }
        };
        if e.exit == 3 {
            let err = &json["error"];
            if let Some(code) = &e.error_code {
                if err["code"] != code.as_str() {
                    fail(
                        seed,
                        format!("error code {} instead of {code}", err["code"]),
                    );
                }
            }
            if let Some(want) = &e.relaxations {
                let got: BTreeMap<String, Vec<String>> = err["relaxations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let endpoints = r["endpoints"].as_array().into_iter().flatten();
                        let endpoints = endpoints
                            .filter_map(|e| e.as_str().map(String::from))
                            .collect();
                        (
                            r["drop"].as_str().unwrap_or_default().to_string(),
                            endpoints,
                        )
                    })
                    .collect();
                if &got != want {
                    fail(seed, format!("relaxations {got:?} instead of {want:?}"));
                }
            }
            if let Some(want) = &e.excluded {
                let got: BTreeMap<String, String> = err["excluded"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        (
                            x["endpoint"].as_str().unwrap_or_default().to_string(),
                            x["reason"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                if &got != want {
                    fail(seed, format!("excluded {got:?} instead of {want:?}"));
                }
            }
            continue;
        }
        let attempts = json["attempts"].as_array().cloned().unwrap_or_default();
        let excluded = json["excluded"].as_array().cloned().unwrap_or_default();
        let models: BTreeSet<&str> = attempts
            .iter()
            .chain(&excluded)
            .filter_map(|a| a["model"].as_str())
            .collect();
        let multi = models.len() > 1;
        let got = names(&attempts, multi);
        plans.insert(got.clone());
        if let Some(first) = got.first() {
            firsts.insert(first.clone());
        }
        if let Some(strategy) = &e.strategy {
            if json["strategy"] != strategy.as_str() {
                fail(
                    seed,
                    format!("strategy {} instead of {strategy}", json["strategy"]),
                );
            }
        }
        if let Some(want) = &e.attempts {
            if &got != want {
                fail(seed, format!("attempts {got:?} instead of {want:?}"));
            }
        }
        if let Some(want) = &e.prefix {
            if !got.starts_with(want) {
                fail(seed, format!("attempts {got:?} do not start with {want:?}"));
            }
        }
        if let Some(want) = &e.suffix {
            if !got.ends_with(want) {
                fail(seed, format!("attempts {got:?} do not end with {want:?}"));
            }
        }
        if let Some(want) = &e.attempted {
            let set: BTreeSet<String> = got.iter().cloned().collect();
            if &set != want || set.len() != got.len() {
                fail(
                    seed,
                    format!("attempted {got:?} instead of the set {want:?}"),
                );
            }
        }
        if let Some(want) = &e.first_probability {
            for (a, n) in attempts.iter().zip(&got) {
                let p = a["first_probability"].as_f64().unwrap_or(f64::NAN);
                let expected = want.get(n).copied().unwrap_or(0.0);
                if (p - expected).abs() > 1e-12 {
                    fail(
                        seed,
                        format!("first_probability of {n} is {p}, expected {expected}"),
                    );
                }
            }
        }
        if let Some(groups) = &e.groups {
            let mut rest = got.as_slice();
            for group in groups {
                let (head, tail) = rest.split_at(group.len().min(rest.len()));
                let set: BTreeSet<String> = head.iter().cloned().collect();
                if &set != group {
                    fail(
                        seed,
                        format!("attempts {got:?} are not the groups {groups:?}"),
                    );
                    break;
                }
                rest = tail;
            }
            if !rest.is_empty() {
                fail(
                    seed,
                    format!("attempts {got:?} go on past the groups {groups:?}"),
                );
            }
        }
        if let Some(n) = e.count {
            if got.len() != n {
                fail(
                    seed,
                    format!("{} attempts instead of {n}: {got:?}", got.len()),
                );
            }
        }
        if let Some(set) = &e.first_in {
            if !got.first().is_some_and(|f| set.contains(f)) {
                fail(seed, format!("first attempt of {got:?} is not in {set:?}"));
            }
        }
        if let Some(want) = &e.price {
            for (a, n) in attempts.iter().zip(&got) {
                if let Some(expected) = want.get(n) {
                    let p = a["price"].as_f64().unwrap_or(f64::NAN);
                    if (p - expected).abs() > 1e-12 {
                        fail(seed, format!("price of {n} is {p}, expected {expected}"));
                    }
                }
            }
        }
        if e.exact_price.is_some() || e.cost.is_some() || e.expected_first_cost.is_some() {
            let raw: RawPlan = serde_json::from_str(&r.stdout)
                .unwrap_or_else(|err| panic!("{name}: money fields: {err}"));
            let texts = |pick: fn(&RawAttempt) -> &RawValue| -> BTreeMap<String, String> {
                got.iter()
                    .zip(&raw.attempts)
                    .map(|(n, a)| (n.clone(), pick(a).get().to_string()))
                    .collect()
            };
            let prices = texts(|a| &a.price);
            let costs = texts(|a| &a.cost);
            for (want, got, what) in [
                (&e.exact_price, &prices, "price"),
                (&e.cost, &costs, "cost"),
            ] {
                for (n, text) in want.iter().flatten() {
                    if got.get(n) != Some(text) {
                        fail(
                            seed,
                            format!("{what} of {n} is {:?}, expected {text}", got.get(n)),
                        );
                    }
                }
            }
            if let Some(want) = &e.expected_first_cost {
                if raw.expected_first_cost.get() != want {
                    fail(
                        seed,
                        format!(
                            "expected_first_cost {}, expected {want}",
                            raw.expected_first_cost.get()
                        ),
                    );
                }
            }
        }
        if let Some(want) = &e.excluded {
            let got: BTreeMap<String, String> = names(&excluded, multi)
                .into_iter()
                .zip(
                    excluded
                        .iter()
                        .map(|x| x["reason"].as_str().unwrap_or_default().to_string()),
                )
                .collect();
            if &got != want {
                fail(seed, format!("excluded {got:?} instead of {want:?}"));
            }
        }
        let warnings: Vec<&str> = json["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if e.no_warnings && !warnings.is_empty() {
            fail(seed, format!("unexpected warnings {warnings:?}"));
        }
        for needle in &e.warnings {
            if !warnings.iter().any(|w| w.contains(needle.as_str())) {
                fail(
                    seed,
                    format!("no warning contains {needle:?}: {warnings:?}"),
                );
            }
        }
    }
    for want in &e.seen_first {
        if !firsts.contains(want) {
            failures.push(format!(
                "{name}: {want} was never first over seeds {:?} (firsts: {firsts:?})",
                s.seeds
            ));
        }
    }
    if e.same_plan_for_all_seeds && plans.len() > 1 {
        failures.push(format!("{name}: the plan changed with the seed: {plans:?}"));
    }
    failures
}

#[test]
fn every_scenario_holds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the scenario corpus, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).expect("scenario readable");
        let scenario: Scenario = match serde_yaml::from_str(&text) {
            Ok(s) => s,
            Err(err) => {
                failures.push(format!("{name}: bad scenario file: {err}"));
                continue;
            }
        };
        failures.extend(check(&name, &scenario));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
