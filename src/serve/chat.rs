//! One chat-completion request, start to answer (SPEC section 9): parse the body, compile, draw
//! the plan and walk it against the faults, then shape OpenRouter's body, errors, stream chunks
//! and generation record. Synchronous and I/O-free; the handler in `http.rs` only carries bytes.

use super::Shared;
use crate::catalog::Pricing;
use crate::error::{Error, ErrorKind};
use crate::money::Money;
use crate::request::Request;
use crate::router::{Router, Target};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the server knows of one chat request by the time it answers: enough for the answer's
/// headers, the journal line and the generation record.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// Arrival index (the k of the seed rule) and journal `seq`.
    pub(crate) k: u64,
    pub(crate) time: SystemTime,
    pub(crate) test_id: Option<String>,
    pub(crate) id: String,
    pub(crate) seed: Option<u64>,
    /// The body as JSON, or null when it was not read or is not JSON.
    pub(crate) request: Value,
    /// The requested model id as written, once the body parsed.
    pub(crate) requested: Option<String>,
    pub(crate) streamed: bool,
    pub(crate) attempts: Vec<Tried>,
    pub(crate) served: Option<Served>,
    pub(crate) status: u16,
}

/// One attempt made.
#[derive(Debug, Clone)]
pub(crate) struct Tried {
    pub(crate) model: String,
    pub(crate) endpoint: String,
    pub(crate) provider_name: String,
    pub(crate) status: u16,
    /// Modelled p50 latency in seconds.
    pub(crate) latency: Option<f64>,
    pub(crate) byok: bool,
}

/// The attempt that served, and what it produced.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub(crate) model: String,
    pub(crate) endpoint: String,
    pub(crate) provider_name: String,
    pub(crate) reply: String,
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    /// What the account pays: 0 on its own key.
    pub(crate) cost: Money,
    /// What the provider charges, prompt and completion parts (for BYOK `cost_details`).
    pub(crate) upstream: (Money, Money, Money),
    pub(crate) byok: bool,
    /// p50 throughput in tokens per second, when known.
    pub(crate) throughput: Option<f64>,
}

/// An answer before it becomes HTTP: a status and JSON body, or a stream of chunks.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A status and its serialized JSON body.
    Json(u16, String),
    Stream(Vec<String>),
}

impl Exchange {
    pub(crate) fn new(k: u64, test_id: Option<String>) -> Exchange {
        Exchange {
            k,
            time: SystemTime::now(),
            test_id,
            id: generation_id(k),
            seed: None,
            request: Value::Null,
            requested: None,
            streamed: false,
            attempts: Vec::new(),
            served: None,
            status: 0,
        }
    }

    /// Unix seconds of arrival.
    pub(crate) fn created(&self) -> u64 {
        self.time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// The `x-routesim-attempts` header: every attempt's key, in order.
    pub(crate) fn attempts_header(&self) -> String {
        let keys: Vec<&str> = self.attempts.iter().map(|a| a.endpoint.as_str()).collect();
        keys.join(",")
    }

    /// How long the answer waits under `--time-scale x`: the failed attempts' and the serving
    /// attempt's latencies, and, when `with_generation`, the completion at the serving
    /// endpoint's throughput.
    pub(crate) fn delay(&self, x: f64, with_generation: bool) -> Duration {
        let latency: f64 = self.attempts.iter().filter_map(|a| a.latency).sum();
        let generation = match (&self.served, with_generation) {
            (Some(s), true) => generation_seconds(s).unwrap_or(0.0),
            _ => 0.0,
        };
        seconds(x * (latency + generation))
    }

    /// The generation record's `data` object (SPEC section 9; every key the SDK requires).
    fn generation(&self) -> Generation<'_> {
        let ms = |s: f64| s * 1000.0;
        let served = self.served.as_ref();
        let latency = match self.attempts.iter().any(|a| a.latency.is_some()) {
            true => Some(ms(self.attempts.iter().filter_map(|a| a.latency).sum())),
            false => None,
        };
        let model = served
            .map(|s| s.model.as_str())
            .or(self.requested.as_deref())
            .unwrap_or_default();
        let cost = served.map_or(Money::ZERO, |s| s.cost);
        let tokens = |f: fn(&Served) -> u64| served.map(f);
        Generation {
            id: &self.id,
            model,
            provider_name: served.map(|s| s.provider_name.as_str()),
            created_at: super::journal::rfc3339(self.time),
            streamed: self.streamed,
            cancelled: false,
            finish_reason: served.map(|_| "stop"),
            native_finish_reason: served.map(|_| "stop"),
            tokens_prompt: tokens(|s| s.prompt_tokens),
            tokens_completion: tokens(|s| s.completion_tokens),
            native_tokens_prompt: tokens(|s| s.prompt_tokens),
            native_tokens_completion: tokens(|s| s.completion_tokens),
            native_tokens_cached: tokens(|_| 0),
            native_tokens_reasoning: tokens(|_| 0),
            native_tokens_completion_images: (),
            total_cost: cost,
            usage: cost,
            is_byok: served.is_some_and(|s| s.byok),
            upstream_inference_cost: served.filter(|s| s.byok).map(|s| s.upstream.0),
            latency,
            generation_time: served.and_then(generation_seconds).map(ms),
            moderation_latency: (),
            provider_responses: self
                .attempts
                .iter()
                .map(|a| ProviderResponse {
                    provider_name: &a.provider_name,
                    endpoint: &a.endpoint,
                    model: &a.model,
                    status: a.status,
                    latency: a.latency.map(ms),
                    is_byok: a.byok,
                })
                .collect(),
            api_type: "completions",
            app_id: (),
            cache_discount: (),
            data_region: "global",
            external_user: (),
            http_referer: (),
            origin: "",
            preset_id: (),
            router: (),
            service_tier: (),
            upstream_id: (),
            user_agent: (),
            web_search_engine: (),
            workspace_id: (),
            num_fetches: (),
            num_input_audio_prompt: (),
            num_media_completion: (),
            num_media_prompt: (),
            num_search_results: (),
            routesim_seed: self.seed,
        }
    }

    /// The journal line: `{"seq","time","test_id","seed","status","request","generation"}`.
    pub(crate) fn journal_line(&self) -> String {
        let line = JournalLine {
            seq: self.k,
            time: super::journal::rfc3339(self.time),
            test_id: self.test_id.as_deref(),
            seed: self.seed,
            status: self.status,
            request: &self.request,
            generation: self.generation(),
        };
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// The arrival index a generation id names: the inverse of the id [`Exchange::new`] gives.
pub(crate) fn seq_of(id: &str) -> Option<u64> {
    let seq = id.strip_prefix(GENERATION_PREFIX)?.parse::<u64>().ok()?;
    // "gen-routesim-07" and "gen-routesim-+7" name nothing: only the id as written out.
    (generation_id(seq) == id).then_some(seq)
}

const GENERATION_PREFIX: &str = "gen-routesim-";

fn generation_id(k: u64) -> String {
    format!("{GENERATION_PREFIX}{k}")
}

/// A journal line, serialized straight from the exchange.
#[derive(Serialize)]
struct JournalLine<'a> {
    seq: u64,
    time: String,
    test_id: Option<&'a str>,
    seed: Option<u64>,
    status: u16,
    request: &'a Value,
    generation: Generation<'a>,
}

/// OpenRouter's generation record; `()` fields are the keys `@openrouter/sdk` requires that
/// routesim has no value for, written as null.
#[derive(Serialize)]
struct Generation<'a> {
    id: &'a str,
    model: &'a str,
    provider_name: Option<&'a str>,
    created_at: String,
    streamed: bool,
    cancelled: bool,
    finish_reason: Option<&'static str>,
    native_finish_reason: Option<&'static str>,
    tokens_prompt: Option<u64>,
    tokens_completion: Option<u64>,
    native_tokens_prompt: Option<u64>,
    native_tokens_completion: Option<u64>,
    native_tokens_cached: Option<u64>,
    native_tokens_reasoning: Option<u64>,
    native_tokens_completion_images: (),
    total_cost: Money,
    usage: Money,
    is_byok: bool,
    upstream_inference_cost: Option<Money>,
    latency: Option<f64>,
    generation_time: Option<f64>,
    moderation_latency: (),
    provider_responses: Vec<ProviderResponse<'a>>,
    api_type: &'static str,
    app_id: (),
    cache_discount: (),
    data_region: &'static str,
    external_user: (),
    http_referer: (),
    origin: &'static str,
    preset_id: (),
    router: (),
    service_tier: (),
    upstream_id: (),
    user_agent: (),
    web_search_engine: (),
    workspace_id: (),
    num_fetches: (),
    num_input_audio_prompt: (),
    num_media_completion: (),
    num_media_prompt: (),
    num_search_results: (),
    routesim_seed: Option<u64>,
}

/// One attempt in a generation record; `latency` (ms) is left out when unknown, as the SDK
/// takes a number or nothing.
#[derive(Serialize)]
struct ProviderResponse<'a> {
    provider_name: &'a str,
    endpoint: &'a str,
    model: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<f64>,
    is_byok: bool,
}

fn seconds(s: f64) -> Duration {
    // Guarded: a huge --time-scale must not panic Duration::from_secs_f64.
    Duration::try_from_secs_f64(s.clamp(0.0, 3600.0)).unwrap_or_default()
}

/// Completion tokens at the serving endpoint's p50 throughput, in seconds.
fn generation_seconds(s: &Served) -> Option<f64> {
    s.throughput
        .filter(|t| *t > 0.0)
        .map(|t| s.completion_tokens as f64 / t)
}

/// The error body: `{"error": {"code", "message", "metadata"}}`.
pub(crate) fn error(status: u16, message: &str, metadata: Value) -> Answer {
    let body = json!({"error": {"code": status, "message": message, "metadata": metadata}});
    Answer::Json(status, body.to_string())
}

/// The one cost computation: tokens at the endpoint's prices (per million) plus its request
/// fee, in USD. Returns (total, prompt part, completion part).
pub(crate) fn cost(
    pricing: &Pricing,
    prompt_tokens: u64,
    completion_tokens: u64,
) -> (Money, Money, Money) {
    // Amounts past Money's range saturate, as `UsageEstimate::cost` does.
    let total = pricing
        .cost(prompt_tokens, completion_tokens)
        .unwrap_or(Money::MAX);
    let prompt = pricing
        .prompt
        .per_million(prompt_tokens)
        .unwrap_or(Money::MAX);
    let completion = pricing
        .completion
        .per_million(completion_tokens)
        .unwrap_or(Money::MAX);
    (total, prompt, completion)
}

/// Characters / 4, rounded up: routesim's token estimate.
fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// The characters of every message's content: a string, or the `text` of each content part.
fn prompt_chars(body: &Value) -> usize {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return 0;
    };
    messages
        .iter()
        .filter_map(|m| m.get("content"))
        .map(|c| match c {
            Value::String(s) => s.chars().count(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .map(|s| s.chars().count())
                .sum(),
            _ => 0,
        })
        .sum()
}

/// The provider's display name, else its slug.
fn display_name(target: &Target<'_>) -> String {
    target
        .source()
        .provider_name
        .clone()
        .unwrap_or_else(|| target.provider.to_string())
}

/// Answers one chat request whose body is `bytes`: every status but 401 and 413 (the handler's)
/// comes from here. Fills `ex` for the journal.
pub(crate) fn answer(
    state: &Shared,
    bytes: &[u8],
    seed_header: Option<&str>,
    metadata: bool,
    ex: &mut Exchange,
) -> Answer {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => return bad_request(&format!("the body is not UTF-8: {err}")),
    };
    let body: Value = match serde_json::from_str(text) {
        Ok(body) => body,
        Err(err) => return bad_request(&format!("the body is not JSON: {err}")),
    };
    ex.request = body;
    ex.streamed = ex.request.get("stream").and_then(Value::as_bool) == Some(true);
    let request = match Request::parse(text) {
        Ok(request) => request,
        Err(err) => return bad_request(&err.to_string()),
    };
    ex.requested = ex
        .request
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| request.models.first().map(|m| m.id.clone()));
    let seed = match seed_header {
        None => state.config.seed.wrapping_add(ex.k),
        Some(h) => match h.trim().parse::<u64>() {
            Ok(seed) => seed,
            Err(_) => {
                return bad_request(&format!(
                    "header x-routesim-seed: expected an unsigned 64-bit integer, found {h:?}"
                ));
            }
        },
    };
    ex.seed = Some(seed);
    let router = match Router::compile(&state.config.catalog, &request, &state.config.options) {
        Ok(router) => router,
        Err(err) => return compile_error(&err),
    };
    // The generator `routesim route --seed S` uses: the plan first, failure draws after it.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(crate::mix_seed(seed));
    let mut buf = router.buffer();
    router.draw(&mut rng, &mut buf);
    let served = walk(state, &router, buf.attempts(), &mut rng, ex);
    let Some(target) = served else {
        return all_failed(ex);
    };
    serve(state, &router, target, &request, metadata, ex)
}

fn bad_request(message: &str) -> Answer {
    error(400, message, json!({"code": "bad_request"}))
}

fn compile_error(err: &Error) -> Answer {
    match err.kind() {
        ErrorKind::UnknownModel { .. } => {
            error(400, &err.to_string(), json!({"code": "model_not_found"}))
        }
        ErrorKind::Unroutable(u) => error(
            404,
            &err.to_string(),
            json!({"code": "unroutable", "availability": {
                "code": u.code.as_str(), "message": u.message, "excluded": u.excluded,
                "relaxations": u.relaxations, "warnings": u.warnings,
            }}),
        ),
        _ => bad_request(&err.to_string()),
    }
}

/// Walks the drawn plan: each attempt fails when a fault rule fires, else, under `--failures
/// uptime`, with probability `1 - uptime`; the first that does not fail serves.
fn walk<'r, 'c>(
    state: &Shared,
    router: &'r Router<'c>,
    plan: &[crate::TargetId],
    rng: &mut Xoshiro256PlusPlus,
    ex: &mut Exchange,
) -> Option<&'r Target<'c>> {
    let mut faults = state.faults.lock().unwrap_or_else(|p| p.into_inner());
    for &id in plan {
        let target = router.target(id);
        let fault = faults.decide(target, ex.test_id.as_deref(), &mut || crate::rng::unit(rng));
        let status = match fault {
            Some(status) => Some(status.code()),
            None if state.config.failures == super::Failures::Uptime
                && crate::rng::unit(rng) >= target.uptime =>
            {
                Some(UPTIME_FAILURE_STATUS)
            }
            None => None,
        };
        ex.attempts.push(Tried {
            model: target.model.to_string(),
            endpoint: target.endpoint.to_string(),
            provider_name: display_name(target),
            status: status.unwrap_or(200),
            latency: target.latency,
            byok: target.byok,
        });
        if status.is_none() {
            return Some(target);
        }
    }
    None
}

/// The status an attempt failed by `--failures uptime` is recorded with.
pub const UPTIME_FAILURE_STATUS: u16 = 503;

fn all_failed(ex: &Exchange) -> Answer {
    let attempts: Vec<Value> = ex
        .attempts
        .iter()
        .map(|a| json!({"provider": a.provider_name, "endpoint": a.endpoint, "model": a.model, "status": a.status}))
        .collect();
    let (status, code) = match ex.attempts.iter().all(|a| a.status == 429) {
        true => (429, "capacity_exhausted"),
        false => (503, "temporarily_unavailable"),
    };
    error(
        status,
        &format!(
            "every attempt failed ({} of them): {}",
            ex.attempts.len(),
            ex.attempts_header()
        ),
        json!({"code": code, "attempts": attempts}),
    )
}

/// The 200 answer of a served request, plain or streamed.
fn serve(
    state: &Shared,
    router: &Router<'_>,
    target: &Target<'_>,
    request: &Request,
    metadata: bool,
    ex: &mut Exchange,
) -> Answer {
    let reply = match &state.config.reply {
        Some(text) => text.clone(),
        None => format!("routesim: served by {} ({})", target.endpoint, target.model),
    };
    let usage = request.usage.unwrap_or_default();
    let prompt_tokens = usage
        .prompt_tokens
        .unwrap_or_else(|| tokens(prompt_chars(&ex.request)));
    let mut completion_tokens = usage
        .completion_tokens
        .unwrap_or_else(|| tokens(reply.chars().count()));
    if let Some(max) = request.max_tokens {
        completion_tokens = completion_tokens.min(max);
    }
    let upstream = cost(&target.pricing, prompt_tokens, completion_tokens);
    let served = Served {
        model: target.model.to_string(),
        endpoint: target.endpoint.to_string(),
        provider_name: display_name(target),
        reply,
        prompt_tokens,
        completion_tokens,
        cost: if target.byok { Money::ZERO } else { upstream.0 },
        upstream,
        byok: target.byok,
        throughput: target.source().throughput.and_then(|t| t.p50),
    };
    let metadata = metadata.then(|| openrouter_metadata(router, &served, ex));
    let answer = match ex.streamed {
        true => Answer::Stream(chunks(ex, &served)),
        false => Answer::Json(200, completion_body(ex, &served, metadata)),
    };
    ex.served = Some(served);
    answer
}

/// The 200 body: OpenRouter's `chat.completion`, written key by key into one buffer.
///
/// The same bytes serde writes from the structs of `completion_body_from_structs` (the test
/// below checks it), without a serializer call per key (32 `serialize_str` calls of about 210
/// instructions each): under callgrind the serving step went from 11,000 to 5,100 of a chat
/// request's ~74,000 instructions. Values still go through serde_json, so strings are escaped
/// and numbers printed exactly as before.
fn completion_body(ex: &Exchange, served: &Served, metadata: Option<Value>) -> String {
    let mut out = Vec::with_capacity(640);
    out.extend_from_slice(b"{\"id\":");
    put(&mut out, &ex.id);
    out.extend_from_slice(b",\"object\":\"chat.completion\",\"created\":");
    put(&mut out, &ex.created());
    out.extend_from_slice(b",\"model\":");
    put(&mut out, &served.model);
    out.extend_from_slice(b",\"provider\":");
    put(&mut out, &served.provider_name);
    out.extend_from_slice(
        b",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":",
    );
    put(&mut out, &served.reply);
    out.extend_from_slice(
        b"},\"finish_reason\":\"stop\",\"native_finish_reason\":\"stop\",\"logprobs\":null}],\"usage\":",
    );
    write_usage(&mut out, served);
    out.extend_from_slice(b",\"system_fingerprint\":null");
    if let Some(metadata) = &metadata {
        out.extend_from_slice(b",\"openrouter_metadata\":");
        put(&mut out, metadata);
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// [`usage`] as serde writes it, key by key.
fn write_usage(out: &mut Vec<u8>, s: &Served) {
    out.extend_from_slice(b"{\"prompt_tokens\":");
    put(out, &s.prompt_tokens);
    out.extend_from_slice(b",\"completion_tokens\":");
    put(out, &s.completion_tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    put(out, &(s.prompt_tokens + s.completion_tokens));
    out.extend_from_slice(b",\"cost\":");
    put(out, &s.cost);
    out.extend_from_slice(b",\"is_byok\":");
    put(out, &s.byok);
    out.extend_from_slice(
        b",\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}",
    );
    if let Some(details) = usage(s).cost_details {
        out.extend_from_slice(b",\"cost_details\":");
        put(out, &details);
    }
    out.push(b'}');
}

/// Appends `value` as serde_json writes it (into a Vec it cannot fail for these types).
fn put<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `usage`, with `cost_details` on the account's own key.
#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    cost: Money,
    is_byok: bool,
    prompt_tokens_details: CachedTokens,
    completion_tokens_details: ReasoningTokens,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_details: Option<CostDetails>,
}

#[derive(Serialize)]
struct CachedTokens {
    cached_tokens: u64,
}

#[derive(Serialize)]
struct ReasoningTokens {
    reasoning_tokens: u64,
}

#[derive(Serialize)]
struct CostDetails {
    upstream_inference_cost: Money,
    upstream_inference_prompt_cost: Money,
    upstream_inference_completions_cost: Money,
}

fn usage(s: &Served) -> Usage {
    Usage {
        prompt_tokens: s.prompt_tokens,
        completion_tokens: s.completion_tokens,
        total_tokens: s.prompt_tokens + s.completion_tokens,
        cost: s.cost,
        is_byok: s.byok,
        prompt_tokens_details: CachedTokens { cached_tokens: 0 },
        completion_tokens_details: ReasoningTokens {
            reasoning_tokens: 0,
        },
        cost_details: s.byok.then_some(CostDetails {
            upstream_inference_cost: s.upstream.0,
            upstream_inference_prompt_cost: s.upstream.1,
            upstream_inference_completions_cost: s.upstream.2,
        }),
    }
}

fn openrouter_metadata(router: &Router<'_>, served: &Served, ex: &Exchange) -> Value {
    let available: Vec<Value> = router
        .targets()
        .iter()
        .filter(|t| !t.byok)
        .map(|t| {
            let selected = t.endpoint == served.endpoint && t.model == served.model;
            json!({"provider": display_name(t), "model": t.model, "selected": selected})
        })
        .collect();
    let total = router.targets().iter().filter(|t| !t.byok).count() + excluded_count(router);
    let attempts: Vec<Value> = ex
        .attempts
        .iter()
        .map(|a| json!({"provider": a.provider_name, "model": a.model, "status": a.status}))
        .collect();
    json!({
        "strategy": router.strategy().as_str(),
        "requested": ex.requested,
        "summary": format!("available={}, selected={}", available.len(), served.provider_name),
        "attempt": ex.attempts.len(),
        "is_byok": served.byok,
        "region": null,
        "endpoints": {"total": total, "available": available},
        "attempts": attempts,
    })
}

/// Endpoints of the requested models that the router excluded.
fn excluded_count(router: &Router<'_>) -> usize {
    let mut buf = router.buffer();
    router.draw(&mut Xoshiro256PlusPlus::seed_from_u64(0), &mut buf);
    router
        .plan_from(&buf)
        .excluded
        .iter()
        .filter(|e| !matches!(e.reason, crate::Reason::FallbacksDisabled { .. }))
        .count()
}

/// The server-sent events of a streamed answer, each a whole `data: ...\n\n` event: the reply
/// split over several chunks, the stop chunk, the usage chunk, `[DONE]`.
fn chunks(ex: &Exchange, served: &Served) -> Vec<String> {
    let created = ex.created();
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": ex.id, "object": "chat.completion.chunk", "created": created,
            "model": served.model, "provider": served.provider_name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    };
    let mut events = Vec::new();
    let mut first = true;
    for piece in split_reply(&served.reply) {
        let delta = match first {
            true => json!({"role": "assistant", "content": piece}),
            false => json!({"content": piece}),
        };
        first = false;
        events.push(chunk(delta, Value::Null));
    }
    if first {
        events.push(chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        ));
    }
    events.push(chunk(json!({}), json!("stop")));
    events.push(json!({
        "id": ex.id, "object": "chat.completion.chunk", "created": created,
        "model": served.model, "provider": served.provider_name,
        "choices": [], "usage": usage(served),
    }));
    let mut out: Vec<String> = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// The reply in pieces of about one estimated token (4 characters), split at word starts
/// where possible so that joining them gives the reply back.
pub(crate) fn split_reply(reply: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut chars = 0;
    for (i, c) in reply.char_indices() {
        if chars >= 4 && (c == ' ' || chars >= 16) {
            pieces.push(&reply[start..i]);
            start = i;
            chars = 0;
        }
        chars += 1;
    }
    if start < reply.len() {
        pieces.push(&reply[start..]);
    }
    pieces
}

/// How long to wait between content chunks under `--time-scale x`: the completion at the
/// serving endpoint's throughput, spread evenly over the content chunks.
pub(crate) fn chunk_gap(served: &Served, x: f64, content_chunks: usize) -> Duration {
    let total = generation_seconds(served).unwrap_or(0.0) * x;
    seconds(total / content_chunks.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 200 body as serde writes it from structs: the oracle [`completion_body`] is checked against.
    #[cfg(test)]
    fn completion_body_from_structs(
        ex: &Exchange,
        served: &Served,
        metadata: Option<Value>,
    ) -> String {
        #[derive(Serialize)]
        struct Completion<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            model: &'a str,
            provider: &'a str,
            choices: [Choice<'a>; 1],
            usage: Usage,
            system_fingerprint: (),
            #[serde(skip_serializing_if = "Option::is_none")]
            openrouter_metadata: Option<Value>,
        }
        #[derive(Serialize)]
        struct Choice<'a> {
            index: u32,
            message: Message<'a>,
            finish_reason: &'static str,
            native_finish_reason: &'static str,
            logprobs: (),
        }
        #[derive(Serialize)]
        struct Message<'a> {
            role: &'static str,
            content: &'a str,
        }
        let body = Completion {
            id: &ex.id,
            object: "chat.completion",
            created: ex.created(),
            model: &served.model,
            provider: &served.provider_name,
            choices: [Choice {
                index: 0,
                message: Message {
                    role: "assistant",
                    content: &served.reply,
                },
                finish_reason: "stop",
                native_finish_reason: "stop",
                logprobs: (),
            }],
            usage: usage(served),
            system_fingerprint: (),
            openrouter_metadata: metadata,
        };
        serde_json::to_string(&body).unwrap_or_default()
    }

    fn served(byok: bool, reply: &str) -> Served {
        Served {
            model: "moonshotai/kimi-k2.7-code".into(),
            endpoint: "coreweave/int4".into(),
            provider_name: "CoreWeave \"quoted\"".into(),
            reply: reply.into(),
            prompt_tokens: 2,
            completion_tokens: 13,
            cost: if byok {
                Money::ZERO
            } else {
                money("0.0000317")
            },
            // An amount no f64 spells: the body must carry every digit.
            upstream: (
                money("0.0000317"),
                money("0.000005500000000000001"),
                money("0.0000305"),
            ),
            byok,
            throughput: Some(80.0),
        }
    }

    #[test]
    fn the_completion_body_is_what_serde_writes_from_the_structs() {
        let ex = Exchange::new(7, Some("t".into()));
        let metadata = json!({"strategy": "price", "attempts": [{"status": 200}], "region": null});
        for byok in [false, true] {
            for reply in [
                "routesim: served by coreweave/int4",
                "",
                "é \"q\" \\ \n\u{1}",
            ] {
                for metadata in [None, Some(metadata.clone())] {
                    let s = served(byok, reply);
                    let by_hand = completion_body(&ex, &s, metadata.clone());
                    assert_eq!(by_hand, completion_body_from_structs(&ex, &s, metadata));
                    let parsed: Value = serde_json::from_str(&by_hand).unwrap();
                    assert_eq!(parsed["choices"][0]["message"]["content"], reply);
                }
            }
        }
    }

    /// Two attempts of 0.25 s and 0.5 s latency, the second serving 13 tokens at 80 tokens/s
    /// (0.1625 s): the wait under `--time-scale x` and the generation record's milliseconds.
    #[test]
    fn the_wait_adds_every_attempts_latency_and_the_generation_then_scales() {
        let mut ex = Exchange::new(0, None);
        for (endpoint, latency, status) in [("a", 0.25, 503), ("coreweave/int4", 0.5, 200)] {
            ex.attempts.push(Tried {
                model: "m".into(),
                endpoint: endpoint.into(),
                provider_name: "P".into(),
                status,
                latency: Some(latency),
                byok: false,
            });
        }
        assert_eq!(
            ex.delay(2.0, false),
            Duration::from_secs_f64(1.5),
            "no one served"
        );
        ex.served = Some(served(false, "x"));
        assert_eq!(ex.delay(2.0, false), Duration::from_secs_f64(1.5));
        assert_eq!(ex.delay(2.0, true), Duration::from_secs_f64(2.0 * 0.9125));
        assert_eq!(ex.delay(0.0, true), Duration::ZERO);
        if let Some(s) = ex.served.as_mut() {
            s.throughput = Some(0.0);
        }
        assert_eq!(
            ex.delay(2.0, true),
            Duration::from_secs_f64(1.5),
            "a throughput of 0 is unknown, not an endless generation"
        );
        ex.served = Some(served(false, "x"));
        let record = serde_json::to_value(ex.generation()).unwrap();
        assert_eq!(record["latency"], 750.0);
        assert_eq!(record["generation_time"], 162.5);
        assert_eq!(record["provider_responses"][0]["latency"], 250.0);
        assert_eq!(record["provider_responses"][1]["status"], 200);
    }

    /// The generation time (13 tokens at 80 tokens/s), scaled, spread over the content chunks.
    #[test]
    fn chunks_are_spaced_by_the_scaled_generation_time() {
        let s = served(false, "x");
        assert_eq!(
            chunk_gap(&s, 2.0, 5),
            Duration::from_secs_f64(0.1625 * 2.0 / 5.0)
        );
        assert_eq!(
            chunk_gap(&s, 2.0, 0),
            Duration::from_secs_f64(0.1625 * 2.0),
            "no chunk"
        );
        assert_eq!(chunk_gap(&s, 0.0, 5), Duration::ZERO);
    }

    #[test]
    fn a_generation_id_names_its_arrival_index() {
        let ex = Exchange::new(42, None);
        assert_eq!(seq_of(&ex.id), Some(42));
        assert_eq!(seq_of("gen-routesim-0"), Some(0));
        for id in [
            "gen-routesim-042",
            "gen-routesim-+42",
            "gen-routesim-",
            "gen-x-1",
            "42",
        ] {
            assert_eq!(seq_of(id), None, "{id:?} is not an id the server gives");
        }
    }

    #[test]
    fn the_reply_splits_into_pieces_that_join_back() {
        let reply = "routesim: served by deepinfra/turbo (deepseek/deepseek-r1)";
        let pieces = split_reply(reply);
        assert!(pieces.len() > 3, "several chunks: {pieces:?}");
        assert_eq!(pieces.concat(), reply);
        assert_eq!(
            split_reply("ab cdef gh ijklmnopqrstuvwxyz0123"),
            ["ab cdef", " gh ijklmnopqrst", "uvwxyz0123"],
            "at a space once a piece has 4 characters, else after 16"
        );
        assert_eq!(split_reply(""), Vec::<&str>::new());
        let long = "é".repeat(40);
        assert_eq!(
            split_reply(&long).concat(),
            long,
            "multi-byte characters stay whole"
        );
    }

    #[test]
    fn tokens_are_characters_over_four_rounded_up() {
        assert_eq!(tokens(0), 0);
        assert_eq!(tokens(1), 1);
        assert_eq!(tokens(8), 2);
        assert_eq!(tokens(9), 3);
        let body = json!({"messages": [{"content": "abcd"}, {"content": [{"type": "text", "text": "éé"}]}]});
        assert_eq!(prompt_chars(&body), 6);
    }

    fn money(text: &str) -> Money {
        text.parse().expect("a decimal")
    }

    #[test]
    fn cost_is_tokens_at_per_million_prices_plus_the_request_fee() {
        let pricing = Pricing {
            prompt: money("2"),
            completion: money("4.1"),
            request: Some(money("0.5")),
            image: None,
        };
        let (total, prompt, completion) = cost(&pricing, 1_000_000, 500_000);
        assert_eq!((prompt, completion), (money("2"), money("2.05")));
        assert_eq!(total, money("4.55"), "exact: 2 + 2.05 + 0.5");
        // 3 tokens at $0.1 per million: 3e-7 exactly, not 3.0000000000000004e-7.
        let (total, ..) = cost(
            &Pricing {
                prompt: money("0.1"),
                completion: Money::ZERO,
                request: None,
                image: None,
            },
            3,
            0,
        );
        assert_eq!(total.to_string(), "0.0000003");
    }
}
