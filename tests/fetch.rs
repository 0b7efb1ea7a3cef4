//! `routesim fetch` against a local HTTP/1.1 server on 127.0.0.1: what lands in the output
//! directory, exit codes, retries, the concurrency cap and the API key. Never touches the internet.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server answers one path.
#[derive(Clone)]
enum Route {
    /// 200 with this body.
    Ok(Vec<u8>),
    /// 429 with `Retry-After: SECS` the first time, then 200 with the body.
    RateLimitedOnce(u64, Vec<u8>),
    /// 500 every time.
    ServerErrorForever,
    /// The first time, a Content-Length larger than what is sent, then the connection closes;
    /// then 200 with the body.
    DropOnce(Vec<u8>),
    /// Drops mid-body every time.
    DropForever(Vec<u8>),
    /// This status every time, with an OpenRouter-style error body.
    Status(u16),
}

/// One request the server saw.
struct Hit {
    at: Instant,
    authorization: Option<String>,
}

#[derive(Default)]
struct Seen {
    hits: Mutex<HashMap<String, Vec<Hit>>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct Server {
    base: String,
    seen: Arc<Seen>,
}

/// Connections one test may open; the accept loop ends after this many.
const MAX_CONNECTIONS: usize = 200;
/// How long the server holds each request, so concurrent requests overlap.
const HOLD: Duration = Duration::from_millis(60);

impl Server {
    fn start(routes: Vec<(&str, Route)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let routes: Arc<HashMap<String, Route>> = Arc::new(
            routes
                .into_iter()
                .map(|(p, r)| (p.to_string(), r))
                .collect(),
        );
        let seen = Arc::new(Seen::default());
        let server_seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(MAX_CONNECTIONS) {
                let Ok(stream) = stream else { continue };
                let (routes, seen) = (Arc::clone(&routes), Arc::clone(&server_seen));
                std::thread::spawn(move || serve(stream, &routes, &seen));
            }
        });
        Server {
            base: format!("http://127.0.0.1:{port}"),
            seen,
        }
    }

    fn hits(&self, path: &str) -> usize {
        self.seen.hits.lock().unwrap().get(path).map_or(0, Vec::len)
    }

    fn authorizations(&self) -> Vec<Option<String>> {
        let hits = self.seen.hits.lock().unwrap();
        hits.values()
            .flatten()
            .map(|h| h.authorization.clone())
            .collect()
    }

    fn max_in_flight(&self) -> usize {
        self.seen.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Answers one request on its own connection, then closes it.
fn serve(stream: TcpStream, routes: &HashMap<String, Route>, seen: &Seen) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut authorization = None;
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_string());
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();

    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let nth = {
        let mut hits = seen.hits.lock().unwrap();
        let list = hits.entry(path.clone()).or_default();
        list.push(Hit {
            at: Instant::now(),
            authorization,
        });
        list.len()
    };
    std::thread::sleep(HOLD);
    // Out of flight before the answer is written: the client may start its next request as soon
    // as it has read this one.
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);

    let mut out = &stream;
    let respond = |mut out: &TcpStream, status: &str, extra: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
            body.len()
        );
        let _ = out.write_all(head.as_bytes());
        let _ = out.write_all(body);
    };
    let drop_mid_body = |mut out: &TcpStream, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len() + 100
        );
        let _ = out.write_all(head.as_bytes());
        let _ = out.write_all(&body[..body.len() / 2]);
    };
    match routes.get(&path) {
        Some(Route::Ok(body)) => respond(out, "200 OK", "", body),
        Some(Route::RateLimitedOnce(secs, body)) if nth == 1 => respond(
            out,
            "429 Too Many Requests",
            &format!("Retry-After: {secs}\r\n"),
            br#"{"error": {"code": 429, "message": "Rate limit exceeded"}}"#,
        ),
        Some(Route::RateLimitedOnce(_, body)) => respond(out, "200 OK", "", body),
        Some(Route::ServerErrorForever) => respond(
            out,
            "500 Internal Server Error",
            "",
            br#"{"error": {"code": 500, "message": "Internal Server Error"}}"#,
        ),
        Some(Route::DropOnce(body)) if nth == 1 => drop_mid_body(out, body),
        Some(Route::DropOnce(body)) => respond(out, "200 OK", "", body),
        Some(Route::DropForever(body)) => drop_mid_body(out, body),
        Some(Route::Status(code)) => respond(
            out,
            &format!("{code} Status"),
            "",
            format!(r#"{{"error": {{"code": {code}, "message": "Model not found"}}}}"#).as_bytes(),
        ),
        None => respond(out, "404 Not Found", "", b"{}"),
    }
    let _ = out.flush();
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/openrouter")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn endpoints(id: &str) -> String {
    format!("/models/{id}/endpoints")
}

/// A fresh output directory under the target dir (not yet created: fetch creates it).
fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fetch")
        .join(test)
        .join("out");
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs the binary with a 1 ms backoff step and no proxy or API key from the environment.
fn fetch(args: &[&str], api_key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_routesim"));
    cmd.arg("fetch").args(args);
    cmd.env("ROUTESIM_FETCH_BACKOFF_MS", "1");
    for var in [
        "OPENROUTER_API_KEY",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    if let Some(key) = api_key {
        cmd.env("OPENROUTER_API_KEY", key);
    }
    cmd.output().expect("run routesim")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json written");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// The manifest entry for `id`.
fn entry<'a>(manifest: &'a Value, id: &str) -> &'a Value {
    manifest["models"]
        .as_array()
        .expect("models is an array")
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} in the manifest"))
}

#[test]
fn every_listing_is_written_byte_for_byte_with_retries_and_the_concurrency_cap() {
    let palmyra = fixture("writer__palmyra-x5.json");
    let gpt = fixture("openai__gpt-5.1-chat.json");
    let relace = fixture("relace__relace-apply-3.json");
    let opus = fixture("anthropic__claude-opus-4.7-fast.json");
    let server = Server::start(vec![
        (
            "/api/v1/models/writer/palmyra-x5/endpoints",
            Route::Ok(palmyra.clone()),
        ),
        (
            "/api/v1/models/openai/gpt-5.1-chat/endpoints",
            Route::Ok(gpt.clone()),
        ),
        (
            "/api/v1/models/relace/relace-apply-3/endpoints",
            Route::RateLimitedOnce(1, relace.clone()),
        ),
        (
            "/api/v1/models/anthropic/claude-opus-4.7-fast/endpoints",
            Route::DropOnce(opus.clone()),
        ),
    ]);
    let dir = out_dir("all_succeed").join("nested");
    let base = format!("{}/api/v1/", server.base);
    let ids = [
        "writer/palmyra-x5",
        "openai/gpt-5.1-chat",
        "relace/relace-apply-3",
        "anthropic/claude-opus-4.7-fast",
    ];
    let mut args = ids.to_vec();
    args.extend(["--out", dir.to_str().unwrap(), "--base-url", &base]);
    args.extend(["--concurrency", "2"]);
    let out = fetch(&args, Some(""));

    assert_eq!(
        out.status.code(),
        Some(0),
        "every model written: exit 0; stderr: {}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out),
        "",
        "no failure lines and no progress bar off a terminal"
    );
    for (id, file, body) in [
        (ids[0], "writer__palmyra-x5.json", &palmyra),
        (ids[1], "openai__gpt-5.1-chat.json", &gpt),
        (ids[2], "relace__relace-apply-3.json", &relace),
        (ids[3], "anthropic__claude-opus-4.7-fast.json", &opus),
    ] {
        let written = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            written == *body,
            "{file} is the body the server sent, unchanged"
        );
        let m = manifest(&dir);
        let e = entry(&m, id);
        assert_eq!(e["status"], 200);
        assert_eq!(e["bytes"], body.len());
        assert_eq!(e["file"], file);
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        5,
        "four listings and the manifest, no leftovers: {names:?}"
    );

    let m = manifest(&dir);
    assert_eq!(
        m["base_url"],
        format!("{}/api/v1", server.base),
        "trailing slash dropped"
    );
    let at = m["fetched_at"].as_str().expect("fetched_at is a string");
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T' && at.starts_with("20"),
        "fetched_at is RFC 3339 UTC: {at}"
    );
    let listed: Vec<&str> = m["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids, "the manifest keeps the command line's order");

    assert_eq!(server.hits(&format!("/api/v1{}", endpoints(ids[0]))), 1);
    assert_eq!(
        server.hits(&format!("/api/v1{}", endpoints(ids[2]))),
        2,
        "429 then 200"
    );
    assert_eq!(
        server.hits(&format!("/api/v1{}", endpoints(ids[3]))),
        2,
        "dropped, then whole"
    );
    let hits = server.seen.hits.lock().unwrap();
    let rate_limited = &hits[&format!("/api/v1{}", endpoints(ids[2]))];
    assert!(
        rate_limited[1].at - rate_limited[0].at >= Duration::from_millis(950),
        "Retry-After: 1 is honoured although the backoff step is 1 ms"
    );
    drop(hits);
    assert!(
        server.max_in_flight() <= 2,
        "--concurrency 2 caps requests in flight, saw {}",
        server.max_in_flight()
    );
    assert_eq!(server.max_in_flight(), 2, "two workers do run at once");
    assert!(
        server.authorizations().iter().all(Option::is_none),
        "an empty OPENROUTER_API_KEY sends no Authorization"
    );
}

#[test]
fn with_all_a_model_that_keeps_failing_is_reported_and_the_others_are_written() {
    let palmyra = fixture("writer__palmyra-x5.json");
    let gpt = fixture("openai__gpt-5.1-chat.json");
    let list = br#"{"data": [
        {"id": "writer/palmyra-x5", "name": "Writer: Palmyra X5"},
        {"id": "broken/always-500"},
        {"id": "openai/gpt-5.1-chat"},
        {"id": "gone/model"}
    ]}"#;
    let server = Server::start(vec![
        ("/models", Route::Ok(list.to_vec())),
        (
            "/models/writer/palmyra-x5/endpoints",
            Route::Ok(palmyra.clone()),
        ),
        (
            "/models/openai/gpt-5.1-chat/endpoints",
            Route::Ok(gpt.clone()),
        ),
        (
            "/models/broken/always-500/endpoints",
            Route::ServerErrorForever,
        ),
        ("/models/gone/model/endpoints", Route::Status(404)),
    ]);
    let dir = out_dir("all_flag");
    let out = fetch(
        &[
            "--all",
            "--out",
            dir.to_str().unwrap(),
            "--base-url",
            &server.base,
        ],
        Some("sk-or-test-key"),
    );

    assert_eq!(out.status.code(), Some(4), "some model failed: exit 4");
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l
            == "routesim: fetch: broken/always-500: HTTP 500: Internal Server Error (after 5 tries)"),
        "one clear line for the 500 model: {err}"
    );
    assert!(
        err.lines()
            .any(|l| l == "routesim: fetch: gone/model: HTTP 404: Model not found (after 1 try)"),
        "one clear line for the 404 model: {err}"
    );
    assert_eq!(err.lines().count(), 2, "one line per failed model: {err}");

    assert!(std::fs::read(dir.join("writer__palmyra-x5.json")).unwrap() == palmyra);
    assert!(std::fs::read(dir.join("openai__gpt-5.1-chat.json")).unwrap() == gpt);
    assert!(
        !dir.join("broken__always-500.json").exists(),
        "a failed model writes no file"
    );
    assert!(!dir.join("gone__model.json").exists());

    let m = manifest(&dir);
    assert_eq!(m["base_url"], server.base);
    let ids: Vec<&str> = m["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "writer/palmyra-x5",
            "broken/always-500",
            "openai/gpt-5.1-chat",
            "gone/model"
        ],
        "--all fetches what /models lists, in its order"
    );
    assert_eq!(entry(&m, "broken/always-500")["status"], 500);
    assert_eq!(entry(&m, "broken/always-500")["file"], Value::Null);
    assert_eq!(entry(&m, "gone/model")["status"], 404);
    assert_eq!(
        entry(&m, "writer/palmyra-x5")["file"],
        "writer__palmyra-x5.json"
    );

    assert_eq!(server.hits("/models"), 1);
    assert_eq!(
        server.hits(&endpoints("broken/always-500")),
        5,
        "5 tries in all, no more"
    );
    assert_eq!(
        server.hits(&endpoints("gone/model")),
        1,
        "a 404 is not retried"
    );
    assert!(server.max_in_flight() <= 4, "the default cap is 4");
    let auth = server.authorizations();
    assert_eq!(auth.len(), 1 + 1 + 1 + 5 + 1);
    assert!(
        auth.iter()
            .all(|a| a.as_deref() == Some("Bearer sk-or-test-key")),
        "OPENROUTER_API_KEY goes as a bearer token on every request, /models included: {auth:?}"
    );
}

#[test]
fn a_body_that_is_not_a_listing_or_never_arrives_whole_is_a_failure() {
    let palmyra = fixture("writer__palmyra-x5.json");
    let server = Server::start(vec![
        (
            "/models/writer/palmyra-x5/endpoints",
            Route::Ok(palmyra.clone()),
        ),
        (
            "/models/html/page/endpoints",
            Route::Ok(b"<html>maintenance</html>".to_vec()),
        ),
        (
            "/models/array/data/endpoints",
            Route::Ok(br#"{"data": []}"#.to_vec()),
        ),
        (
            "/models/cut/off/endpoints",
            Route::DropForever(palmyra.clone()),
        ),
    ]);
    let dir = out_dir("bad_bodies");
    let out = fetch(
        &[
            "html/page",
            "writer/palmyra-x5",
            "array/data",
            "cut/off",
            "html/page",
            "--out",
            dir.to_str().unwrap(),
            "--base-url",
            &server.base,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(
        err.contains(
            "routesim: fetch: html/page: the body is not JSON with a `data` object (after 1 try)\n"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "routesim: fetch: array/data: the body is not JSON with a `data` object (after 1 try)\n"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "routesim: fetch: cut/off: the connection closed before the whole body arrived \
             (after 5 tries)\n"
        ),
        "a connection dropped mid-body every time fails after 5 tries: {err}"
    );
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(!dir.join("html__page.json").exists());
    assert!(!dir.join("array__data.json").exists());
    assert!(
        !dir.join("cut__off.json").exists(),
        "half a body is never written"
    );
    assert!(std::fs::read(dir.join("writer__palmyra-x5.json")).unwrap() == palmyra);

    let m = manifest(&dir);
    assert_eq!(
        m["models"].as_array().unwrap().len(),
        4,
        "a repeated id is fetched once"
    );
    assert_eq!(server.hits(&endpoints("html/page")), 1);
    assert_eq!(server.hits(&endpoints("cut/off")), 5);
    let html = entry(&m, "html/page");
    assert_eq!(html["status"], 200);
    assert_eq!(html["bytes"], 24);
    assert_eq!(html["file"], Value::Null);
    assert_eq!(
        entry(&m, "cut/off")["status"],
        "error",
        "no whole answer came"
    );
    assert!(
        server.authorizations().iter().all(Option::is_none),
        "no OPENROUTER_API_KEY, no Authorization"
    );
}

#[test]
fn bad_arguments_exit_2_before_any_request() {
    // Nothing listens on port 1; a request would fail, not exit 2.
    let dir = out_dir("bad_arguments");
    let d = dir.to_str().unwrap();
    let base = "http://127.0.0.1:1";
    for (args, says) in [
        (vec!["--out", d, "--base-url", base], "at least one MODEL"),
        (
            vec!["noslash", "--out", d, "--base-url", base],
            "\"noslash\"",
        ),
        (vec!["a/b/c", "--out", d, "--base-url", base], "\"a/b/c\""),
        (vec!["../etc", "--out", d, "--base-url", base], "`..`"),
        (
            vec!["a/b", "--out", d, "--base-url", "ftp://example.com"],
            "http://",
        ),
        (
            vec!["a/b", "--out", d, "--base-url", "not a url"],
            "--base-url",
        ),
        (
            vec!["a/b", "--out", d, "--base-url", base, "--concurrency", "0"],
            "--concurrency",
        ),
        (vec!["a/b", "--base-url", base], "--out"),
    ] {
        let out = fetch(&args, None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} is a bad argument: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(
            !dir.exists(),
            "{args:?}: nothing is written for bad arguments"
        );
    }
}
