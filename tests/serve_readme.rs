use routesim::serve::{Config, Rule, Server};

#[test]
fn our_client_falls_through_when_deepinfra_fails() {
    let catalog = routesim::Catalog::from_path("fixtures/deepseek-r1.yaml".as_ref()).unwrap();
    let server = Server::start(Config::new(catalog)).unwrap();
    server.set_faults(Rule::parse_list("- { endpoint: deepinfra, status: 503 }").unwrap());
    let body =
        r#"{"model": "deepseek/deepseek-r1", "provider": {"order": ["deepinfra", "together"]}}"#;
    let answer = ureq::post(format!("{}/chat/completions", server.api_base()))
        .send(body)
        .unwrap();
    assert_eq!(answer.headers()["x-routesim-endpoint"], "together");
    let journal = server.journal(None);
    assert_eq!(
        journal[0]["generation"]["provider_responses"][0]["status"],
        503
    );
}

// ---- Everything above this line is the README's Rust example, verbatim. ----

mod serve_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The README's "Use it as a local OpenRouter" section.
fn section() -> &'static str {
    include_str!("../README.md")
        .split("## Use it as a local OpenRouter")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has the section")
}

/// The README shows this file's example as it is: a change to either must reach the other.
#[test]
fn the_readme_shows_this_example() {
    let block = section()
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a rust block");
    assert!(
        include_str!("serve_readme.rs").starts_with(block),
        "tests/serve_readme.rs must start with the README's example, verbatim"
    );
}

/// Splits a command line as sh would for what the README uses: words, 'single quotes'.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// The code blocks of the section in order: (language, text).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut parts = text.split("```");
    parts.next();
    while let (Some(block), _) = (parts.next(), parts.next()) {
        let (lang, body) = block.split_once('\n').unwrap_or((block, ""));
        out.push((lang.to_string(), body.to_string()));
    }
    out
}

/// Runs a README `curl` line with ureq: what curl prints with `-s` (body) or `-si` (status line,
/// headers, blank line, body).
fn curl(args: &[String], base: &str) -> String {
    let agent = serve_support::agent();
    let (mut method, mut headers, mut body, mut url, mut include) =
        ("GET".to_string(), Vec::new(), None, String::new(), false);
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "-s" => {}
            "-si" => include = true,
            "-X" => {
                i += 1;
                method = args[i].clone();
            }
            "-H" => {
                i += 1;
                let (k, v) = args[i].split_once(": ").expect("a header");
                headers.push((k.to_string(), v.to_string()));
            }
            "-d" | "--data-binary" => {
                i += 1;
                let file = args[i].strip_prefix('@').expect("a body file");
                body = Some(serve_support::read(serve_support::fixture(file).as_ref()));
                if method == "GET" {
                    method = "POST".into();
                }
            }
            u if u.starts_with("http") => url = u.replace("http://127.0.0.1:8080", base),
            other => panic!("a curl option the README test does not know: {other}"),
        }
        i += 1;
    }
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let reply = match (method.as_str(), body) {
        ("POST", Some(body)) => serve_support::post(&agent, &url, &body, &headers),
        ("PUT", Some(body)) => serve_support::put(&agent, &url, &body),
        ("GET", None) => serve_support::get(&agent, &url),
        other => panic!("a request the README test does not know: {other:?}"),
    };
    assert!(reply.status < 300, "{url}: {}", reply.body);
    match include {
        false => reply.body,
        true => {
            let reason = match reply.status {
                200 => "OK",
                _ => "",
            };
            let mut out = format!("HTTP/1.1 {} {reason}\n", reply.status);
            let sorted: HashMap<_, _> = reply.headers.iter().collect();
            for (k, v) in sorted {
                out.push_str(&format!("{k}: {v}\n"));
            }
            format!("{out}\n{}", reply.body)
        }
    }
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the section's shell walk-through as written (the server on a free port instead of
/// 8080) and checks each output block: `text` after a `routesim serve` or `routesim route` is
/// its output, after `curl -si` its lines each appear in the answer, after `curl -s` it is the
/// last command's body.
#[test]
fn the_walk_through_prints_what_the_readme_shows() {
    let mut base = String::new();
    let mut server = None;
    let mut last = String::new();
    let mut last_include = false;
    let mut checked = 0;
    for (lang, text) in blocks(section()) {
        match lang.as_str() {
            "sh" => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let args = words(line);
                    match (args[0].as_str(), args.get(1).map(String::as_str)) {
                        ("routesim", Some("serve")) => {
                            let mut child = Command::new(env!("CARGO_BIN_EXE_routesim"))
                                .current_dir(env!("CARGO_MANIFEST_DIR"))
                                .args(&args[1..])
                                .args(["--listen", "127.0.0.1:0"])
                                .stdout(Stdio::piped())
                                .spawn()
                                .unwrap();
                            let mut first = String::new();
                            BufReader::new(child.stdout.take().unwrap())
                                .read_line(&mut first)
                                .unwrap();
                            base = first
                                .trim()
                                .strip_prefix("listening on ")
                                .unwrap()
                                .to_string();
                            // The README's address is the default --listen; the test's is free.
                            last = first.replace(&base, "http://127.0.0.1:8080");
                            last_include = false;
                            server = Some(Serving(child));
                        }
                        ("routesim", _) => {
                            let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
                                .current_dir(env!("CARGO_MANIFEST_DIR"))
                                .args(&args[1..])
                                .output()
                                .unwrap();
                            assert!(out.status.success(), "{line}");
                            last = String::from_utf8(out.stdout).unwrap();
                            last_include = false;
                        }
                        ("curl", _) => {
                            last_include = args.iter().any(|a| a == "-si");
                            last = curl(&args, &base);
                        }
                        _ => panic!("a command the README test does not know: {line}"),
                    }
                }
            }
            "text" if last_include => {
                let lines: Vec<&str> = last.lines().collect();
                for want in text.lines() {
                    assert!(lines.contains(&want), "{want:?} in the answer:\n{last}");
                }
                checked += 1;
            }
            "text" => {
                assert_eq!(
                    last.trim_end(),
                    text.trim_end(),
                    "the README shows the output"
                );
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(server.is_some(), "the walk-through starts a server");
    assert_eq!(checked, 5, "every output block is checked");
}
