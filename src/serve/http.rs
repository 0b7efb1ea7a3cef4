//! The HTTP shell: paths to handlers, the API key, body and header limits, the connection cap,
//! the accept loop and graceful shutdown. Handlers parse, call `chat`, `listing` or the journal,
//! and shape the answer; no routing happens here.

use super::chat::{self, Answer, Exchange};
use super::{MAX_BODY_BYTES, Rule, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

type Shell = State<Arc<Shared>>;

const CHAT_PATH: &str = "/api/v1/chat/completions";

/// Every path of SPEC section 9, the API key in front of all of them.
fn app(shared: Arc<Shared>) -> axum::Router {
    let router = axum::Router::new()
        .route(CHAT_PATH, post(chat_completions))
        .route("/api/v1/models", get(models))
        .route("/api/v1/models/{author}/{slug}/endpoints", get(endpoints))
        .route("/api/v1/generation", get(generation))
        .route("/routesim/journal", get(journal).delete(clear_journal))
        .route(
            "/routesim/faults",
            get(faults).put(set_faults).delete(clear_faults),
        )
        .route("/routesim/stats", get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Without --api-key the check passes everything: leaving the layer out saves its boxed
    // future per request (callgrind: 54,300 -> 52,200 instructions per chat request).
    let router = match shared.config.api_key {
        Some(_) => router.layer(middleware::from_fn_with_state(shared.clone(), api_key)),
        None => router,
    };
    router.with_state(shared)
}

/// Accepts connections until `shutdown`, at most [`Limits::max_connections`](super::Limits) at
/// once, each closed when it sends no complete header within the header timeout; then lets the
/// requests in flight finish, for at most the shutdown grace.
pub(crate) async fn run(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let limits = shared.config.limits;
    let app = app(shared);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
    Ok(())
}

/// Compares in time that depends only on the lengths, not on where the texts differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ given.get(i).copied().unwrap_or(!e);
    }
    diff == 0
}

/// Whether the request carries `Authorization: Bearer KEY` when `--api-key` is set.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(key) = &shared.config.api_key else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .and_then(|v| v.strip_prefix(b"Bearer "))
        .unwrap_or(b"");
    same_secret(given, key.as_bytes())
}

fn unauthorized() -> Answer {
    chat::error(
        401,
        "missing or wrong API key: send Authorization: Bearer KEY with the key given to --api-key",
        json!({"code": "unauthorized"}),
    )
}

/// The API key check for every path but chat completions, which checks it itself so that a
/// refused request is still counted and journaled.
async fn api_key(State(shared): Shell, request: Request, next: Next) -> Response {
    let chat = request.method() == Method::POST && request.uri().path() == CHAT_PATH;
    if chat || authorized(&shared, request.headers()) {
        return next.run(request).await;
    }
    respond(unauthorized(), Vec::new())
}

/// An answer as HTTP, with extra headers.
fn respond(answer: Answer, headers: Vec<(HeaderName, String)>) -> Response {
    let mut response = match answer {
        Answer::Json(status, body) => {
            // Built by hand rather than from a (status, headers, body) tuple: the tuple parses
            // and checks its header value and first sets the String body's text/plain type.
            let mut response = Response::new(Body::from(body));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Answer::Stream(events) => sse(events, Duration::ZERO),
    };
    add_headers(&mut response, headers);
    response
}

/// Whether event `i` of a stream with `content` content chunks (all but the stop chunk, the
/// usage chunk and [DONE]) waits the gap first: every content chunk but the first (the gap is
/// the generation time over the content chunks, so a stream spends (c - 1)/c of it), and the
/// closing events follow the last at once.
fn waits_before(i: usize, content: usize) -> bool {
    i > 0 && i < content
}

/// A `text/event-stream` body: the events in turn, `gap` before each content chunk but the
/// first. (A zero gap skips the sleep: only time could tell the difference.)
fn sse(events: Vec<String>, gap: Duration) -> Response {
    let content = events.len().saturating_sub(3);
    let stream = futures_util::stream::unfold((0usize, events), move |(i, events)| async move {
        let event = events.get(i)?.clone();
        if !gap.is_zero() && waits_before(i, content) {
            tokio::time::sleep(gap).await;
        }
        Some((Ok::<Bytes, Infallible>(Bytes::from(event)), (i + 1, events)))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why a body was not read.
enum Unread {
    TooLarge,
    Broken(String),
}

/// Reads a body of at most [`MAX_BODY_BYTES`]; a declared or actual length above it is refused
/// before the body is read whole.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Unread> {
    let declared = header_text(headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(Unread::TooLarge);
    }
    match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(Unread::TooLarge),
        Err(err) => Err(Unread::Broken(err.to_string())),
    }
}

/// `POST /api/v1/chat/completions`.
async fn chat_completions(State(shared): Shell, headers: HeaderMap, body: Body) -> Response {
    let k = shared.arrive();
    let test_id = header_text(&headers, "x-test-id").map(str::to_string);
    let mut ex = Exchange::new(k, test_id);
    let answer = match (
        authorized(&shared, &headers),
        read_body(&headers, body).await,
    ) {
        (false, _) => unauthorized(),
        (true, Err(Unread::TooLarge)) => chat::error(
            413,
            &format!("the body is over {MAX_BODY_BYTES} bytes (16 MiB)"),
            json!({"code": "payload_too_large"}),
        ),
        (true, Err(Unread::Broken(err))) => chat::error(
            400,
            &format!("the body could not be read: {err}"),
            json!({"code": "bad_request"}),
        ),
        (true, Ok(bytes)) => {
            let metadata = header_text(&headers, "x-openrouter-metadata")
                .is_some_and(|v| v.eq_ignore_ascii_case("enabled"));
            let seed = header_text(&headers, "x-routesim-seed");
            chat::answer(&shared, &bytes, seed, metadata, &mut ex)
        }
    };
    ex.status = match &answer {
        Answer::Json(status, _) => *status,
        Answer::Stream(_) => 200,
    };
    let mut extra = vec![(GENERATION_ID, ex.id.clone())];
    if let Some(seed) = ex.seed {
        extra.push((SEED, seed.to_string()));
    }
    if !ex.attempts.is_empty() {
        extra.push((ATTEMPTS, ex.attempts_header()));
    }
    if let Some(served) = &ex.served {
        extra.push((ENDPOINT, served.endpoint.clone()));
    }
    // At time scale 0 the delay and the gap would both be zero: `x > 0.0` only skips
    // computing them (so `>=` for `>` is no test's to see).
    let x = shared.config.time_scale;
    let delay = (x > 0.0).then(|| ex.delay(x, !matches!(answer, Answer::Stream(_))));
    let gap = match (&answer, &ex.served) {
        (Answer::Stream(events), Some(served)) if x > 0.0 => {
            Some(chat::chunk_gap(served, x, events.len().saturating_sub(3)))
        }
        _ => None,
    };
    // The exchange itself goes to the journal, which writes its line when read (journal.rs).
    let evicted = shared
        .journal()
        .record(k, ex.status, ex.test_id.clone(), Arc::new(ex));
    drop(evicted);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match (answer, gap) {
        (Answer::Stream(events), Some(gap)) => {
            let mut response = sse(events, gap);
            add_headers(&mut response, extra);
            response
        }
        (answer, _) => respond(answer, extra),
    }
}

// Header names as constants: a `&'static str` name is parsed again on every insert. With the
// hand-built response below, this took `respond` from 6,900 to 4,000 of a chat request's
// instructions under callgrind (release build, 16-endpoint fixture, wrk at 4 connections).
const GENERATION_ID: HeaderName = HeaderName::from_static("x-generation-id");
const SEED: HeaderName = HeaderName::from_static("x-routesim-seed");
const ATTEMPTS: HeaderName = HeaderName::from_static("x-routesim-attempts");
const ENDPOINT: HeaderName = HeaderName::from_static("x-routesim-endpoint");

fn add_headers(response: &mut Response, headers: Vec<(HeaderName, String)>) {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
}

fn json_ok(body: &Value) -> Response {
    respond(Answer::Json(200, body.to_string()), Vec::new())
}

/// `GET /api/v1/models`.
async fn models(State(shared): Shell) -> Response {
    json_ok(&super::models_listing(&shared.config.catalog))
}

/// `GET /api/v1/models/{author}/{slug}/endpoints`.
async fn endpoints(State(shared): Shell, Path((author, slug)): Path<(String, String)>) -> Response {
    let id = format!("{author}/{slug}");
    match shared.config.catalog.model(&id) {
        Some(model) => json_ok(&super::endpoints_listing(model)),
        None => respond(
            chat::error(
                404,
                &format!("model {id:?} is not in the catalog"),
                json!({"code": "model_not_found"}),
            ),
            Vec::new(),
        ),
    }
}

/// `GET /api/v1/generation?id=ID`.
async fn generation(
    State(shared): Shell,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = query.get("id") else {
        return respond(
            chat::error(
                400,
                "the query parameter id is missing",
                json!({"code": "bad_request"}),
            ),
            Vec::new(),
        );
    };
    let record = shared
        .journal_line(id)
        .and_then(|line| serde_json::from_str::<Value>(&line).ok())
        .and_then(|mut line| line.get_mut("generation").map(Value::take));
    match record {
        Some(data) => json_ok(&json!({ "data": data })),
        None => respond(
            chat::error(
                404,
                &format!("generation {id:?} is not in the journal"),
                json!({"code": "not_found"}),
            ),
            Vec::new(),
        ),
    }
}

/// `GET /routesim/journal[?test_id=X]`: JSON lines.
async fn journal(State(shared): Shell, Query(query): Query<HashMap<String, String>>) -> Response {
    let text = shared.journal_lines(query.get("test_id").map(String::as_str));
    ([(header::CONTENT_TYPE, "application/x-ndjson")], text).into_response()
}

/// `DELETE /routesim/journal`.
async fn clear_journal(State(shared): Shell) -> Response {
    shared.journal().clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /routesim/faults`: the rules in force.
async fn faults(State(shared): Shell) -> Response {
    json_ok(&json!(shared.faults().rules()))
}

/// `PUT /routesim/faults`: replaces the rules with the body's (YAML or JSON).
async fn set_faults(State(shared): Shell, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&headers, body).await {
        Ok(bytes) => bytes,
        Err(Unread::TooLarge) => {
            return respond(
                chat::error(
                    413,
                    "the body is over 16 MiB",
                    json!({"code": "payload_too_large"}),
                ),
                Vec::new(),
            );
        }
        Err(Unread::Broken(err)) => {
            return respond(
                chat::error(400, &err, json!({"code": "bad_request"})),
                Vec::new(),
            );
        }
    };
    let parsed = std::str::from_utf8(&bytes)
        .map_err(|e| format!("the body is not UTF-8: {e}"))
        .and_then(|text| Rule::parse_list(text).map_err(|e| e.to_string()));
    match parsed {
        Ok(rules) => {
            *shared.faults() = super::faults::Faults::new(rules);
            json_ok(&json!(shared.faults().rules()))
        }
        Err(message) => respond(
            chat::error(400, &message, json!({"code": "bad_request"})),
            Vec::new(),
        ),
    }
}

/// `DELETE /routesim/faults`.
async fn clear_faults(State(shared): Shell) -> Response {
    *shared.faults() = super::faults::Faults::default();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /routesim/stats`.
async fn stats(State(shared): Shell) -> Response {
    json_ok(&json!(shared.stats()))
}

async fn not_found(request: Request) -> Response {
    let message = format!("no such path: {}", request.uri().path());
    respond(
        chat::error(404, &message, json!({"code": "not_found"})),
        Vec::new(),
    )
}

async fn method_not_allowed(request: Request) -> Response {
    let message = format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    );
    respond(
        chat::error(405, &message, json!({"code": "method_not_allowed"})),
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::{same_secret, waits_before};

    /// A chat request to deepinfra/turbo (latency 0.45 s, 95 tokens/s) at `time_scale` x,
    /// plain or streamed, in tokio's paused clock: milliseconds until the answer's head, and
    /// until its last byte.
    async fn answered(x: f64, stream: bool) -> (u128, u128) {
        use futures_util::StreamExt;
        let catalog =
            crate::Catalog::from_path(std::path::Path::new("fixtures/deepseek-r1.yaml")).unwrap();
        let mut config = crate::serve::Config::new(catalog);
        config.time_scale = x;
        let shared = std::sync::Arc::new(super::Shared::new(config));
        let body = format!(
            r#"{{"model": "deepseek/deepseek-r1", "stream": {stream}, "provider": {{"order": ["deepinfra/turbo"]}}}}"#
        );
        let start = tokio::time::Instant::now();
        let headers = axum::http::HeaderMap::new();
        let state = axum::extract::State(shared);
        let response = super::chat_completions(state, headers, body.into()).await;
        assert_eq!(response.status(), 200);
        let head = start.elapsed().as_millis();
        let mut body = response.into_body().into_data_stream();
        while let Some(chunk) = body.next().await {
            assert!(chunk.is_ok());
        }
        (head, start.elapsed().as_millis())
    }

    /// The answer waits the attempts' latency times the scale, and a plain answer the
    /// generation too; a stream spends the generation between its chunks instead.
    #[tokio::test(start_paused = true)]
    async fn time_scale_delays_the_answer_and_paces_a_stream() {
        assert_eq!(answered(0.0, false).await, (0, 0), "time scale 0: at once");
        assert_eq!(answered(0.0, true).await, (0, 0));
        let (plain, plain_end) = answered(1.0, false).await;
        assert!(plain > 450 && plain == plain_end, "{plain} {plain_end}");
        let (double, _) = answered(2.0, false).await;
        assert!(double.abs_diff(2 * plain) <= 1, "{double} against {plain}");
        let (head, end) = answered(1.0, true).await;
        assert_eq!(head, 450, "a stream's head waits the latency alone");
        assert!(end > head && end <= plain, "{head} {end} {plain}");
    }

    /// In tokio's paused clock, which moves only when every task waits: each event's arrival
    /// time in whole gaps.
    #[tokio::test(start_paused = true)]
    async fn a_stream_is_paced_by_its_gap() {
        use futures_util::StreamExt;
        let arrivals = |gap: u64| async move {
            let events: Vec<String> = (0..6).map(|i| format!("event {i}\n")).collect();
            let body = super::sse(events, std::time::Duration::from_secs(gap)).into_body();
            let start = tokio::time::Instant::now();
            let mut stream = body.into_data_stream();
            let mut at = Vec::new();
            while let Some(chunk) = stream.next().await {
                assert!(chunk.is_ok());
                at.push(start.elapsed().as_secs());
            }
            at
        };
        assert_eq!(arrivals(1).await, [0, 1, 2, 2, 2, 2]);
        assert_eq!(arrivals(0).await, [0; 6]);
    }

    #[test]
    fn content_chunks_but_the_first_wait_and_the_closing_events_do_not() {
        // Six events: three content chunks, then stop, usage and [DONE].
        let waits: Vec<bool> = (0..6).map(|i| waits_before(i, 3)).collect();
        assert_eq!(waits, [false, true, true, false, false, false]);
        assert!(!waits_before(0, 1), "one content chunk goes at once");
    }

    #[test]
    fn secrets_are_equal_only_when_every_byte_and_the_length_agree() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
        assert!(!same_secret(b"", b"abc"));
        assert!(same_secret(b"", b""));
    }
}
