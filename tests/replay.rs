//! `routesim replay` (SPEC section 10): logs generated from routesim's own model are not
//! rejected more often than the test's level says, logs from other models are, `--fit` recovers
//! the exponent, impossible observations are named, and the CLI reads OpenRouter's and serve's
//! formats, refuses bad lines (exit 2, line and field) and answers the documented JSON.
//!
//! Statistical tests use fixed seeds; their bounds come from the number of runs.

mod replay_gen;

use replay_gen::{Format, Generator, Truth};
use routesim::{Catalog, Options, Replay, ReplaySettings, Report};
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_routesim");

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn catalog(name: &str) -> Catalog {
    Catalog::from_path(fixture(name).as_ref()).expect("fixture catalogs load")
}

const DEEPSEEK: &str = r#"{"model":"deepseek/deepseek-r1"}"#;

/// Replays `lines` (numbered from 1) and reports.
fn replay(catalog: &Catalog, lines: &[String], fit: bool) -> Report {
    let settings = ReplaySettings {
        fit,
        ..ReplaySettings::default()
    };
    let options = Options::default();
    let mut r = Replay::new(catalog, &options, settings);
    for (i, line) in lines.iter().enumerate() {
        r.add_line(line, i + 1).expect("generated lines are valid");
    }
    r.report()
}

/// One generated log's single group p-value (`None` when it has nothing to test).
fn p_value(
    catalog: &Catalog,
    request: &str,
    seed: u64,
    n: usize,
    truth: Truth,
    format: Format,
) -> Option<f64> {
    let lines = Generator::new(catalog, request, seed).lines(n, truth, format);
    let report = replay(catalog, &lines, false);
    assert_eq!(report.groups.len(), 1, "one configuration, one group");
    assert!(report.impossible.is_empty(), "{:?}", report.impossible);
    report.groups[0].p_value
}

/// Under the model that generated the logs, p-values are uniform: the share below 0.05 is a
/// binomial share with p = 0.05. Across 5 configurations (first attempts by display name and
/// by endpoint key, served providers by slug and by chat response, a fallback model, a sort)
/// and 40 seeds each, that share lies within 3 binomial standard deviations (plus one run) of
/// 5%.
#[test]
fn logs_from_the_documented_model_are_rejected_at_the_tests_level() {
    let deepseek = catalog("deepseek-r1.yaml");
    let llama = catalog("llama-3.1-70b.yaml");
    let abc = catalog("abc.yaml");
    let configs: [(&Catalog, &str, Format); 6] = [
        (&deepseek, DEEPSEEK, Format::Generation),
        (&deepseek, DEEPSEEK, Format::Provider),
        (&abc, r#"{"model":"example/abc"}"#, Format::Journal),
        (
            &llama,
            r#"{"model":"meta-llama/llama-3.1-70b-instruct"}"#,
            Format::Response,
        ),
        (
            &llama,
            r#"{"model":"meta-llama/llama-3.1-70b-instruct","models":["meta-llama/llama-3.1-8b-instruct"],"provider":{"only":["groq","cerebras","novita"]}}"#,
            Format::Response,
        ),
        (
            &deepseek,
            r#"{"model":"deepseek/deepseek-r1","provider":{"sort":"latency"}}"#,
            Format::Provider,
        ),
    ];
    let mut ps = Vec::new();
    for (c, request, format) in configs {
        for seed in 0..40 {
            if let Some(p) = p_value(c, request, seed, 500, Truth::Documented, format) {
                ps.push(p);
            }
        }
    }
    let n = ps.len() as f64;
    assert!(n >= 200.0, "most runs have something to test: {n}");
    let low = ps.iter().filter(|&&p| p < 0.05).count() as f64 / n;
    let bound = 3.0 * (0.05 * 0.95 / n).sqrt() + 1.0 / n;
    eprintln!("share of p < 0.05 over {n} runs: {low:.4} (bound 0.05 +- {bound:.4})");
    assert!(
        (low - 0.05).abs() <= bound,
        "share below 0.05 is {low}, expected 0.05 +- {bound}"
    );
}

/// Logs from other models are told apart at 2,000 requests: weights `price^-1`, a uniform
/// choice, and one provider's traffic doubled each give p < 0.001, for every seed tried.
#[test]
fn logs_from_other_models_are_detected_at_2000_requests() {
    let deepseek = catalog("deepseek-r1.yaml");
    let llama = catalog("llama-3.1-70b.yaml");
    let llama_request = r#"{"model":"meta-llama/llama-3.1-70b-instruct"}"#;
    let cases: [(&Catalog, &str, Truth, &str); 5] = [
        (&deepseek, DEEPSEEK, Truth::Alpha(1.0), "alpha 1"),
        (&deepseek, DEEPSEEK, Truth::Uniform, "uniform"),
        (
            &deepseek,
            DEEPSEEK,
            Truth::Doubled("together"),
            "together doubled",
        ),
        (&llama, llama_request, Truth::Alpha(1.0), "alpha 1"),
        (
            &llama,
            llama_request,
            Truth::Doubled("groq"),
            "groq doubled",
        ),
    ];
    for (c, request, truth, what) in cases {
        for seed in 0..3 {
            let p = p_value(c, request, seed, 2000, truth, Format::Generation).expect("testable");
            assert!(p < 0.001, "{what}, seed {seed}: p = {p}");
        }
        // And the same log under the documented model is not flagged that strongly.
        let p = p_value(c, request, 99, 2000, Truth::Documented, Format::Generation).unwrap();
        assert!(p > 0.001, "documented model, {request}: p = {p}");
    }
}

/// `--fit` recovers alpha: over 60 seeded logs of 500 first attempts for each of alpha 1, 2
/// and 3, the true value lies in the 95% profile-likelihood interval in at least 90% of runs.
#[test]
fn the_fit_interval_covers_the_true_alpha() {
    let deepseek = catalog("deepseek-r1.yaml");
    for alpha in [1.0, 2.0, 3.0] {
        let runs = 60;
        let mut covered = 0;
        let mut estimates = 0.0;
        for seed in 0..runs {
            let lines = Generator::new(&deepseek, DEEPSEEK, 1000 + seed).lines(
                500,
                Truth::Alpha(alpha),
                Format::Generation,
            );
            let report = replay(&deepseek, &lines, true);
            let fit = report.fit.expect("the first attempt depends on alpha");
            assert!(fit.low <= fit.alpha && fit.alpha <= fit.high, "{fit:?}");
            covered += usize::from(fit.low <= alpha && alpha <= fit.high);
            estimates += fit.alpha;
        }
        let share = covered as f64 / runs as f64;
        eprintln!(
            "alpha {alpha}: covered in {covered} of {runs} runs ({share:.3}), mean estimate {:.3}",
            estimates / runs as f64
        );
        assert!(
            share >= 0.9,
            "alpha {alpha}: covered in {covered} of {runs}"
        );
        assert!(
            (estimates / runs as f64 - alpha).abs() < 0.15,
            "the estimate centres on alpha"
        );
    }
}

/// At the fitted alpha of a log from another exponent, the G-test no longer rejects, while at
/// alpha 2 it does.
#[test]
fn the_test_at_the_fitted_alpha_accepts_what_alpha_2_rejects() {
    let deepseek = catalog("deepseek-r1.yaml");
    let lines =
        Generator::new(&deepseek, DEEPSEEK, 5).lines(2000, Truth::Alpha(1.0), Format::Generation);
    let report = replay(&deepseek, &lines, true);
    let fit = report.fit.unwrap();
    assert!(report.groups[0].p_value.unwrap() < 0.001);
    assert!(fit.p_value_at_fit.unwrap() > 0.001, "{fit:?}");
    assert!(fit.high < 2.0, "alpha 2 is outside the interval: {fit:?}");
}

fn line(request: &str, observation: &str) -> String {
    format!(r#"{{"request":{request},{observation}}}"#)
}

/// The answer to "my `ignore` was not honoured": a served provider the request ignores is
/// impossible, with reason `ignored` and its line number; one the model does not have is
/// `unknown_provider`; a degraded endpoint as first attempt `never_first`; none of them is
/// counted, but each counts as a request of its group.
#[test]
fn impossible_observations_are_listed_with_their_line_and_reason() {
    let deepseek = catalog("deepseek-r1.yaml");
    let ignoring =
        r#"{"model":"deepseek/deepseek-r1","provider":{"ignore":["novita","together"]}}"#;
    let lines = vec![
        line(ignoring, r#""provider":"DeepInfra""#),
        line(ignoring, r#""provider":"NovitaAI""#),
        line(ignoring, r#""response":{"provider":"Groq"}"#),
        line(
            DEEPSEEK,
            r#""generation":{"provider_responses":[{"provider_name":"NovitaAI","status":200}]}"#,
        ),
        line(ignoring, r#""provider":"together""#),
        line(
            r#"{"model":"deepseek/deepseek-r1","provider":{"only":["deepinfra"]}}"#,
            r#""generation":{"provider_responses":[{"provider_name":"Fireworks","endpoint":"fireworks","status":200}]}"#,
        ),
        line(
            r#"{"model":"deepseek/deepseek-r1","provider":{"only":["nobody"]}}"#,
            r#""provider":"DeepInfra""#,
        ),
    ];
    let report = replay(&deepseek, &lines, false);
    let got: Vec<(usize, &str, &str)> = report
        .impossible
        .iter()
        .map(|x| (x.line, x.provider.as_str(), x.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "NovitaAI", "ignored"),
            (3, "Groq", "unknown_provider"),
            (4, "NovitaAI", "never_first"),
            (5, "together", "ignored"),
            (6, "fireworks", "not_in_only"),
            (7, "DeepInfra", "not_in_only"),
        ]
    );
    let unroutable = report.groups.iter().find(|g| g.first_line == 7).unwrap();
    assert_eq!(
        unroutable.strategy, "unroutable",
        "nothing is eligible: every line is impossible"
    );
    assert!(unroutable.rows.is_empty());
    assert!(
        report.impossible[0].detail.contains("ignore"),
        "{}",
        report.impossible[0].detail
    );
    let served = &report.groups[0];
    assert_eq!(
        served.requests, 4,
        "impossible lines are requests of their group"
    );
    let observed: u64 = served.rows.iter().map(|r| r.observed).sum();
    assert_eq!(
        observed, 1,
        "rows add up to requests minus impossible lines"
    );
}

/// Requests that route the same are one group however they are written (a `max_tokens` no
/// endpoint is short of changes nothing); a preference that changes the plan is another.
#[test]
fn requests_are_grouped_by_their_effective_configuration() {
    let deepseek = catalog("deepseek-r1.yaml");
    let obs = r#""provider":"DeepInfra""#;
    let lines = vec![
        line(DEEPSEEK, obs),
        line(
            r#"{"model":"deepseek/deepseek-r1","max_tokens":100,"temperature":0.2}"#,
            obs,
        ),
        line(
            r#"{"model":"deepseek/deepseek-r1","provider":{"ignore":["kluster"]}}"#,
            obs,
        ),
        line(DEEPSEEK, obs),
    ];
    let report = replay(&deepseek, &lines, false);
    let groups: Vec<(usize, u64)> = report
        .groups
        .iter()
        .map(|g| (g.first_line, g.requests))
        .collect();
    assert_eq!(groups, [(1, 3), (3, 1)]);
}

/// serve's journal names endpoints: rows are then endpoints, and the deepinfra/turbo endpoint
/// is told apart from deepinfra.
#[test]
fn journal_lines_give_endpoint_rows() {
    let deepseek = catalog("deepseek-r1.yaml");
    let lines =
        Generator::new(&deepseek, DEEPSEEK, 3).lines(300, Truth::Documented, Format::Journal);
    let report = replay(&deepseek, &lines, false);
    let rows: Vec<&[String]> = report.groups[0]
        .rows
        .iter()
        .map(|r| r.endpoints.as_slice())
        .collect();
    assert!(
        rows.contains(&&["deepinfra/turbo".to_string()][..]),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r.len() == 1), "{rows:?}");
    let by_provider =
        Generator::new(&deepseek, DEEPSEEK, 3).lines(300, Truth::Documented, Format::Generation);
    let report = replay(&deepseek, &by_provider, false);
    assert_eq!(
        report.groups[0].rows[0].endpoints,
        ["deepinfra", "deepinfra/turbo"]
    );
}

fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("replay")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let input = stdin.unwrap_or("").to_string();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// OpenRouter's formats: generation records (the 429-then-200 example, wrapped in `data`), a
/// chat response, a bare provider; the JSON report carries the documented fields.
#[test]
fn the_cli_reads_openrouter_generation_records_and_chat_responses() {
    let gemini = fixture("openrouter/google__gemini-2.5-flash.json");
    let log = fixture("replay/gemini-generations.jsonl");
    let (code, out, err) = run(&["--catalog", &gemini, "--log", &log, "--json"], None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // serde_json's map sorts its keys; the text keeps the documented order.
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["groups", "impossible", "lines", "log_likelihood"],
        "no fit unasked"
    );
    let at = |key: &str| out.find(&format!("\"{key}\"")).unwrap();
    assert!(at("lines") < at("groups") && at("groups") < at("impossible"));
    assert_eq!(v["lines"], 5, "blank lines are not lines of the log");
    let first = &v["groups"][0];
    assert_eq!(first["observed_as"], "first_attempt");
    assert_eq!(first["requests"], 3);
    assert_eq!(first["rows"][0]["provider"], "Google Vertex");
    assert_eq!(
        first["rows"][0]["endpoints"],
        serde_json::json!(["google-vertex/eu", "google-vertex/global", "google-vertex"])
    );
    assert_eq!(first["rows"][0]["observed"], 2);
    assert_eq!(
        first["rows"][0]["expected"], 2.0,
        "AI Studio is deranked: never first"
    );
    for key in [
        "model",
        "requests",
        "observed_as",
        "g_statistic",
        "dof",
        "p_value",
        "rows",
    ] {
        assert!(first.get(key).is_some(), "group field {key}");
    }
    for key in ["provider", "endpoints", "observed", "expected", "residual"] {
        assert!(first["rows"][0].get(key).is_some(), "row field {key}");
    }
    assert_eq!(v["groups"][1]["observed_as"], "served");
    let impossible: Vec<(u64, &str)> = v["impossible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["line"].as_u64().unwrap(), x["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        impossible,
        [(4, "never_first"), (6, "ignored")],
        "line numbers count the blank line"
    );
    for key in ["line", "model", "provider", "reason", "detail"] {
        assert!(
            v["impossible"][0].get(key).is_some(),
            "impossible field {key}"
        );
    }
    // `--fail-below` fails the run on the impossible observations.
    let (code, _, _) = run(
        &["--catalog", &gemini, "--log", &log, "--fail-below", "0.01"],
        None,
    );
    assert_eq!(code, 1);
}

/// A log generated like serve's journal, read from standard input, with `--fit`: the report
/// has a fit, the readable form its tables, and `--fail-below` passes a log from the model.
#[test]
fn the_cli_reads_a_journal_from_stdin_and_fits() {
    let deepseek = catalog("deepseek-r1.yaml");
    let lines =
        Generator::new(&deepseek, DEEPSEEK, 11).lines(1000, Truth::Documented, Format::Journal);
    let text = lines.join("\n") + "\n";
    let path = fixture("deepseek-r1.yaml");
    let (code, out, err) = run(
        &["--catalog", &path, "--log", "-", "--fit", "--json"],
        Some(&text),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let fit = &v["fit"];
    for key in ["alpha", "low", "high", "p_value_at_fit"] {
        assert!(fit[key].is_number(), "fit.{key}: {fit}");
    }
    assert!(
        fit["low"].as_f64().unwrap() < 2.0 && fit["high"].as_f64().unwrap() > 2.0,
        "{fit}"
    );
    let (code, table, _) = run(
        &["--catalog", &path, "--log", "-", "--fail-below", "0.001"],
        Some(&text),
    );
    assert_eq!(code, 0, "{table}");
    assert!(
        table.contains("routesim replay: 1000 lines, 1 group, 0 impossible observations"),
        "{table}"
    );
    assert!(table.contains("deepinfra/turbo"), "{table}");
}

/// The readable form puts the groups whose p-value is below 0.01 first.
#[test]
fn the_table_shows_rejected_groups_first() {
    let deepseek = catalog("deepseek-r1.yaml");
    let mut lines =
        Generator::new(&deepseek, DEEPSEEK, 1).lines(500, Truth::Documented, Format::Provider);
    let sorted = r#"{"model":"deepseek/deepseek-r1","provider":{"ignore":["kluster"]}}"#;
    lines.extend(Generator::new(&deepseek, sorted, 2).lines(
        2000,
        Truth::Uniform,
        Format::Generation,
    ));
    let path = fixture("deepseek-r1.yaml");
    let (code, table, err) = run(
        &["--catalog", &path, "--log", "-"],
        Some(&(lines.join("\n") + "\n")),
    );
    assert_eq!(code, 0, "{err}");
    let rejected = table.find("group 2:").expect("group 2 is listed");
    let accepted = table.find("group 1:").expect("group 1 is listed");
    assert!(rejected < accepted, "{table}");
    assert!(table.contains("differs from the prediction"), "{table}");
    // No observation is impossible here: `--fail-below` fails on the p-value alone.
    assert!(table.contains("0 impossible observations"), "{table}");
    let (code, _, _) = run(
        &["--catalog", &path, "--log", "-", "--fail-below", "0.01"],
        Some(&(lines.join("\n") + "\n")),
    );
    assert_eq!(code, 1);
}

/// Bad lines are exit 2, naming the file, the line and the field; nothing is reported.
#[test]
fn bad_lines_are_exit_2_with_line_and_field() {
    let path = fixture("deepseek-r1.yaml");
    let good = line(DEEPSEEK, r#""provider":"DeepInfra""#);
    let cases = [
        ("{not json", "line 3", "not a JSON object"),
        (r#"{"provider":"DeepInfra"}"#, "request: missing", "line 3"),
        (
            r#"{"request":{"model":"deepseek/deepseek-r1"}}"#,
            "generation: no observation",
            "line 3",
        ),
        (
            r#"{"request":{"model":"nope/model"},"provider":"a"}"#,
            "request.model",
            "line 3",
        ),
        (
            r#"{"request":{"model":"deepseek/deepseek-r1","provider":{"zdr":"yes"}},"provider":"a"}"#,
            "request.provider.zdr",
            "line 3",
        ),
        (
            r#"{"request":{"model":"deepseek/deepseek-r1"},"generation":{"provider_responses":[{"status":200}]}}"#,
            "generation.provider_responses[0].provider_name",
            "line 3",
        ),
    ];
    for (bad, field, words) in cases {
        let log = format!("{good}\n\n{bad}\n{good}\n");
        let (code, out, err) = run(&["--catalog", &path, "--log", "-", "--json"], Some(&log));
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(out.is_empty(), "no report for a bad log: {out}");
        assert!(
            err.contains("<stdin>") && err.contains(field) && err.contains(words),
            "{bad}: {err}"
        );
    }
    let (code, _, err) = run(
        &["--catalog", &path, "--log", "/nonexistent/log.jsonl"],
        None,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/log.jsonl: cannot read the file"),
        "{err}"
    );
}

/// The README's worked example is what the command prints.
#[test]
fn the_readme_example_is_the_commands_output() {
    let readme = std::fs::read_to_string(fixture("../README.md")).unwrap();
    let start = readme
        .find("<!-- replay-example -->")
        .expect("the README has the example");
    let block = &readme[start..];
    let command = block.lines().nth(2).unwrap();
    let args: Vec<String> = command
        .strip_prefix("$ routesim replay ")
        .expect("the block starts with the command")
        .split(' ')
        .map(|a| match a.starts_with("fixtures/") {
            true => fixture(&a["fixtures/".len()..]),
            false => a.to_string(),
        })
        .collect();
    let shown: String = block
        .lines()
        .skip(3)
        .take_while(|l| !l.starts_with("```"))
        .map(|l| format!("{l}\n"))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&args, None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, shown, "README.md's replay example is out of date");
}

/// A weighted run longer than the exact limit (20 stable endpoints) is sampled: the group says
/// how many plans were drawn and each row carries its standard error; a log from the model
/// passes and a uniform one does not.
#[test]
fn long_runs_are_sampled_with_standard_errors() {
    let mut yaml = String::from("models:\n  - id: wide/model\n    endpoints:\n");
    for i in 0..20 {
        yaml += &format!(
            "      - {{ provider: p{i:02}, pricing: {{ prompt: {}, completion: 0 }}, uptime: 0.97 }}\n",
            1.0 + i as f64 * 0.25
        );
    }
    let wide = Catalog::parse(&yaml).unwrap();
    let request = r#"{"model":"wide/model"}"#;
    const { assert!(20 > routesim::EXACT_LIMIT) };
    let lines = Generator::new(&wide, request, 4).lines(2000, Truth::Documented, Format::Provider);
    let report = replay(&wide, &lines, false);
    let g = &report.groups[0];
    assert_eq!(g.draws, Some(ReplaySettings::default().draws));
    assert!(
        g.rows
            .iter()
            .all(|r| r.standard_error.is_some_and(|se| se > 0.0))
    );
    let p = g.p_value.unwrap();
    assert!(p > 0.001, "the model's own log: p = {p}");
    let uniform = Generator::new(&wide, request, 4).lines(2000, Truth::Uniform, Format::Provider);
    let p = replay(&wide, &uniform, false).groups[0].p_value.unwrap();
    assert!(p < 0.001, "a uniform choice: p = {p}");
}

/// `--account` replays under the account's settings: its `default_sort: price` makes DeepInfra
/// the only possible first attempt, and its `only` list (which lacks novita) makes a NovitaAI
/// line impossible.
#[test]
fn the_account_settings_apply_to_the_replayed_requests() {
    let path = fixture("deepseek-r1.yaml");
    let account = fixture("account.yaml");
    let log = [
        line(
            DEEPSEEK,
            r#""generation":{"provider_responses":[{"provider_name":"DeepInfra","status":200}]}"#,
        ),
        line(
            DEEPSEEK,
            r#""generation":{"provider_responses":[{"provider_name":"kluster.ai","status":200}]}"#,
        ),
        line(DEEPSEEK, r#""provider":"novita""#),
    ]
    .join("\n");
    let (code, out, err) = run(
        &[
            "--catalog",
            &path,
            "--account",
            &account,
            "--log",
            "-",
            "--json",
        ],
        Some(&log),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["groups"][0]["strategy"], "sort_price");
    let reasons: Vec<&str> = v["impossible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["never_first", "not_in_only"],
        "the account's only list is checked before its ignore"
    );
    let (_, out, _) = run(&["--catalog", &path, "--log", "-", "--json"], Some(&log));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["impossible"].as_array().unwrap().len(),
        0,
        "without the account all three are possible"
    );
}
