//! `routesim fetch`: downloads OpenRouter endpoint listings into a directory that `--catalog`
//! loads (SPEC section 8); never parses a listing beyond checking its `data` object.
//!
//! One listing per model goes to `DIR/author__slug.json`, byte for byte as the server sent it,
//! and `DIR/manifest.json` records what each request answered. Requests run on a small pool of
//! threads over a shared queue; 429, 5xx and dropped connections are retried with backoff.
//!
//! `ROUTESIM_FETCH_BACKOFF_MS` (milliseconds, default 250) sets the first backoff step. It exists
//! for the tests, which would otherwise wait seconds for every retry.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize, Serializer};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// OpenRouter's API root.
const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// Tries per request, the first included.
const MAX_TRIES: u32 = 5;
/// Each try, connection to last body byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// No wait between tries is longer, whatever `Retry-After` asks for.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The first backoff step; doubled after every failed try.
const DEFAULT_BACKOFF: Duration = Duration::from_millis(250);
/// Bodies larger than this are refused; a large listing is tens of kilobytes, `/models` a few MB.
const MAX_BODY: u64 = 64 << 20;
/// Exit code when some model could not be fetched (SPEC section 8).
const EXIT_SOME_FAILED: u8 = 4;

/// Arguments of `routesim fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// Model ids (`author/slug`) whose endpoint listings to download.
    #[arg(value_name = "MODEL")]
    models: Vec<String>,
    /// Also download every model that `GET {base}/models` lists.
    #[arg(long)]
    all: bool,
    /// Directory for `author__slug.json` files and `manifest.json`; created if missing.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// API root; OPENROUTER_API_KEY, when set, is sent as a bearer token.
    #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL)]
    base_url: String,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,
}

/// Runs `routesim fetch`: 0 when every listing was written, 4 when some failed, 2 for bad
/// arguments, 1 when the output directory or the manifest cannot be written.
pub fn run(args: &FetchArgs) -> ExitCode {
    let plan = match Plan::from_args(args) {
        Ok(plan) => plan,
        Err(message) => {
            let _ = writeln!(io::stderr(), "routesim: error: command line: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = std::fs::create_dir_all(&args.out) {
        let _ = writeln!(
            io::stderr(),
            "routesim: error: cannot create {}: {err}",
            args.out.display()
        );
        return ExitCode::FAILURE;
    }
    let fetched_at = rfc3339_utc(SystemTime::now());
    let client = Client::new(&plan);

    let mut models: Vec<Result<ModelId, (String, String)>> = Vec::new();
    if args.all {
        match client.list_models(&plan.base) {
            Ok(ids) => models.extend(
                ids.into_iter()
                    .map(|id| ModelId::parse(&id).map_err(|why| (id, format!("listed id {why}")))),
            ),
            Err(failure) => {
                let _ = writeln!(
                    io::stderr(),
                    "routesim: fetch: model list: {} ({})",
                    failure.failure.as_deref().unwrap_or("failed"),
                    tries(failure.tries)
                );
                return ExitCode::from(EXIT_SOME_FAILED);
            }
        }
    }
    models.extend(plan.models.iter().cloned().map(Ok));
    dedup_by_id(&mut models);

    let progress = if io::stderr().is_terminal() {
        ProgressBar::new(models.len() as u64).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} listings  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let report = |id: &str, reason: &str, n: u32| {
        progress.suspend(|| {
            let _ = writeln!(
                io::stderr(),
                "routesim: fetch: {id}: {reason} ({})",
                tries(n)
            );
        });
    };
    let outcomes = run_pool(&models, plan.concurrency, |model| {
        let entry = match model {
            Ok(model) => fetch_one(&client, &plan.base, &args.out, model, &report),
            Err((id, why)) => {
                report(id, why, 0);
                Entry::failed(id)
            }
        };
        progress.inc(1);
        entry
    });
    progress.finish_and_clear();

    let manifest = Manifest {
        fetched_at,
        base_url: &plan.base,
        models: &outcomes,
    };
    if let Err(err) = write_manifest(&args.out, &manifest) {
        let _ = writeln!(
            io::stderr(),
            "routesim: error: cannot write {}: {err}",
            args.out.join("manifest.json").display()
        );
        return ExitCode::FAILURE;
    }
    if outcomes.iter().all(|e| e.file.is_some()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SOME_FAILED)
    }
}

/// The validated command line.
struct Plan {
    /// Without a trailing slash.
    base: String,
    models: Vec<ModelId>,
    concurrency: usize,
    /// `Authorization` header value, from OPENROUTER_API_KEY.
    auth: Option<String>,
    backoff: Duration,
}

impl Plan {
    fn from_args(args: &FetchArgs) -> Result<Plan, String> {
        if args.models.is_empty() && !args.all {
            return Err("fetch needs at least one MODEL (author/slug) or --all".into());
        }
        let models = args
            .models
            .iter()
            .map(|id| ModelId::parse(id).map_err(|why| format!("model id {id:?} {why}")))
            .collect::<Result<Vec<_>, _>>()?;
        let base = check_base_url(&args.base_url)?;
        let auth = match std::env::var("OPENROUTER_API_KEY") {
            Ok(key) if !key.is_empty() => {
                let value = format!("Bearer {key}");
                // Checked here so a key with a newline is one clear error, not one per model.
                ureq::http::HeaderValue::from_str(&value).map_err(|_| {
                    "OPENROUTER_API_KEY holds characters an HTTP header cannot carry".to_string()
                })?;
                Some(value)
            }
            Ok(_) | Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err("OPENROUTER_API_KEY is not valid UTF-8".into());
            }
        };
        let backoff = match std::env::var("ROUTESIM_FETCH_BACKOFF_MS") {
            Ok(ms) => Duration::from_millis(ms.parse().map_err(|_| {
                format!("ROUTESIM_FETCH_BACKOFF_MS: expected milliseconds, found {ms:?}")
            })?),
            Err(_) => DEFAULT_BACKOFF,
        };
        Ok(Plan {
            base,
            models,
            concurrency: usize::try_from(args.concurrency).unwrap_or(usize::MAX),
            auth,
            backoff,
        })
    }
}

/// `http(s)://host[:port][/path]`, trailing slashes dropped.
fn check_base_url(raw: &str) -> Result<String, String> {
    let base = raw.trim_end_matches('/');
    let bad = |why: &str| format!("--base-url {raw:?}: {why}");
    let uri: ureq::http::Uri = format!("{base}/models")
        .parse()
        .map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(bad("expected an http:// or https:// URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if uri.query().is_some() || base.contains('#') {
        return Err(bad("a base URL takes no query or fragment"));
    }
    Ok(base.to_string())
}

/// A model id that is safe to put in a URL path and a file name.
#[derive(Clone, Debug, PartialEq)]
struct ModelId {
    id: String,
    author: String,
    slug: String,
}

impl ModelId {
    /// Exactly one `/` with text on both sides; no `..`, `\`, control characters or whitespace,
    /// so `author__slug.json` is one file inside DIR.
    fn parse(id: &str) -> Result<ModelId, String> {
        let Some((author, slug)) = id.split_once('/') else {
            return Err("is not author/slug".into());
        };
        if author.is_empty() || slug.is_empty() || slug.contains('/') {
            return Err("is not author/slug (exactly one `/`, text on both sides)".into());
        }
        if id.contains("..") {
            return Err("contains `..`".into());
        }
        if let Some(c) = id
            .chars()
            .find(|c| *c == '\\' || c.is_control() || c.is_whitespace())
        {
            return Err(format!("contains {c:?}"));
        }
        Ok(ModelId {
            id: id.to_string(),
            author: author.to_string(),
            slug: slug.to_string(),
        })
    }

    /// `author__slug.json`.
    fn file_name(&self) -> String {
        format!("{}__{}.json", self.author, self.slug)
    }

    fn endpoints_url(&self, base: &str) -> String {
        format!(
            "{base}/models/{}/{}/endpoints",
            encode_segment(&self.author),
            encode_segment(&self.slug)
        )
    }
}

/// Percent-encodes what a URL path segment cannot carry as is (RFC 3986 `pchar`).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Keeps the first of each id, so a model given twice (or listed and given) is fetched once.
fn dedup_by_id(models: &mut Vec<Result<ModelId, (String, String)>>) {
    let mut seen = std::collections::HashSet::new();
    models.retain(|m| {
        let id = match m {
            Ok(m) => m.id.clone(),
            Err((id, _)) => id.clone(),
        };
        seen.insert(id)
    });
}

/// Calls `job` on every item from at most `workers` threads; results come back in item order.
fn run_pool<T: Sync, R: Send>(items: &[T], workers: usize, job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let workers = workers.clamp(1, items.len().max(1));
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, job(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    debug_assert_eq!(done.len(), items.len(), "every item ran exactly once");
    done.into_iter().map(|(_, r)| r).collect()
}

/// Fetches one listing, checks it and writes it; failures are reported and recorded.
fn fetch_one(
    client: &Client,
    base: &str,
    out: &Path,
    model: &ModelId,
    report: &impl Fn(&str, &str, u32),
) -> Entry {
    let got = client.get(&model.endpoints_url(base));
    let (status, bytes) = (got.status, got.body.as_ref().map_or(0, Vec::len));
    let failed = |reason: &str, n: u32| {
        report(&model.id, reason, n);
        Entry {
            id: model.id.clone(),
            status: status.map_or(Status::Error, Status::Http),
            bytes,
            file: None,
        }
    };
    if let Some(reason) = &got.failure {
        return failed(reason, got.tries);
    }
    let body = got.body.unwrap_or_default();
    if !has_data_object(&body) {
        return failed("the body is not JSON with a `data` object", got.tries);
    }
    let file = model.file_name();
    if let Err(err) = write_atomically(out, &file, &body) {
        return failed(
            &format!("cannot write {}: {err}", out.join(&file).display()),
            got.tries,
        );
    }
    Entry {
        id: model.id.clone(),
        status: status.map_or(Status::Error, Status::Http),
        bytes,
        file: Some(file),
    }
}

fn has_data_object(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v.get("data").is_some_and(serde_json::Value::is_object))
}

/// Writes `DIR/.name.part`, then renames it, so an interrupted run leaves no half listing that
/// `--catalog DIR` would load.
fn write_atomically(dir: &Path, name: &str, body: &[u8]) -> io::Result<()> {
    let part = dir.join(format!(".{name}.part"));
    let result = std::fs::write(&part, body).and_then(|()| std::fs::rename(&part, dir.join(name)));
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(manifest).map_err(io::Error::other)?;
    text.push('\n');
    write_atomically(dir, "manifest.json", text.as_bytes())
}

/// `DIR/manifest.json`.
#[derive(Serialize)]
struct Manifest<'a> {
    fetched_at: String,
    base_url: &'a str,
    models: &'a [Entry],
}

/// One model's line in the manifest.
#[derive(Serialize)]
struct Entry {
    id: String,
    status: Status,
    /// Length of the last body received (0 when none was).
    bytes: usize,
    /// File name inside DIR; null when nothing was written.
    file: Option<String>,
}

impl Entry {
    fn failed(id: &str) -> Entry {
        Entry {
            id: id.to_string(),
            status: Status::Error,
            bytes: 0,
            file: None,
        }
    }
}

/// The last HTTP status, or `"error"` when no answer came (refused, dropped, timed out).
enum Status {
    Http(u16),
    Error,
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Status::Http(code) => s.serialize_u16(*code),
            Status::Error => s.serialize_str("error"),
        }
    }
}

/// What a GET came to after its tries.
struct Got {
    /// The last HTTP status received.
    status: Option<u16>,
    /// The last body received in full.
    body: Option<Vec<u8>>,
    /// Why it failed, when it did.
    failure: Option<String>,
    tries: u32,
}

/// One try.
enum Try {
    Answer {
        status: u16,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
    Transport(ureq::Error),
}

struct Client {
    agent: ureq::Agent,
    auth: Option<String>,
    backoff: Duration,
}

impl Client {
    fn new(plan: &Plan) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            // Statuses are data here: 429 and 5xx are retried, the rest recorded.
            .http_status_as_error(false)
            .user_agent(format!("routesim/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            auth: plan.auth.clone(),
            backoff: plan.backoff,
        }
    }

    /// GETs `url` up to [`MAX_TRIES`] times: 429, 5xx and transport failures are retried after
    /// [`wait_before_retry`]; a 2xx answer or any other status ends it.
    fn get(&self, url: &str) -> Got {
        let mut got = Got {
            status: None,
            body: None,
            failure: None,
            tries: 0,
        };
        for k in 0..MAX_TRIES {
            got.tries = k + 1;
            let (retry_after, reason) = match self.try_once(url) {
                Try::Answer {
                    status,
                    retry_after,
                    body,
                } => {
                    got.status = Some(status);
                    let reason = http_failure(status, &body);
                    got.body = Some(body);
                    match reason {
                        None => {
                            got.failure = None;
                            return got;
                        }
                        Some(reason) if status == 429 || status >= 500 => (retry_after, reason),
                        Some(reason) => {
                            got.failure = Some(reason);
                            return got;
                        }
                    }
                }
                Try::Transport(err) => {
                    got.status = None;
                    got.body = None;
                    let transient = is_transient(&err);
                    let reason = transport_failure(&err);
                    if !transient {
                        got.failure = Some(reason);
                        return got;
                    }
                    (None, reason)
                }
            };
            got.failure = Some(reason);
            if k + 1 < MAX_TRIES {
                let jitter = rand::random_range(0.0..0.5);
                std::thread::sleep(wait_before_retry(self.backoff, k, jitter, retry_after));
            }
        }
        got
    }

    fn try_once(&self, url: &str) -> Try {
        let mut request = self.agent.get(url);
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth);
        }
        let mut response = match request.call() {
            Ok(response) => response,
            Err(err) => return Try::Transport(err),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        match response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
        {
            Ok(body) => Try::Answer {
                status,
                retry_after,
                body,
            },
            Err(err) => Try::Transport(err),
        }
    }

    /// The ids `GET {base}/models` lists (`{"data": [{"id": ...}, ...]}`), in its order.
    fn list_models(&self, base: &str) -> Result<Vec<String>, Got> {
        #[derive(Deserialize)]
        struct List {
            data: Vec<Listed>,
        }
        #[derive(Deserialize)]
        struct Listed {
            id: String,
        }
        let mut got = self.get(&format!("{base}/models"));
        if got.failure.is_some() {
            return Err(got);
        }
        let body = got.body.take().unwrap_or_default();
        match serde_json::from_slice::<List>(&body) {
            Ok(list) => Ok(list.data.into_iter().map(|m| m.id).collect()),
            Err(err) => {
                got.failure = Some(format!(
                    "the body is not a model list ({{\"data\": [{{\"id\": ...}}]}}): {err}"
                ));
                Err(got)
            }
        }
    }
}

/// None for a 2xx answer; otherwise `HTTP 404` and, when the body is OpenRouter's
/// `{"error": {"message": ...}}`, that message.
fn http_failure(status: u16, body: &[u8]) -> Option<String> {
    if (200..300).contains(&status) {
        return None;
    }
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_string));
    Some(match message {
        Some(m) => format!("HTTP {status}: {}", truncate(&m, 200)),
        None => format!("HTTP {status}"),
    })
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// Refused, dropped and timed-out connections may work on the next try; a bad URL, a TLS
/// failure or an oversized body will not.
fn is_transient(err: &ureq::Error) -> bool {
    matches!(
        err,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Protocol(_)
    )
}

fn transport_failure(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Timeout(_) => format!("timed out after {}s", REQUEST_TIMEOUT.as_secs()),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the connection closed before the whole body arrived".into()
        }
        ureq::Error::Io(e) => format!("connection failed: {e}"),
        other => other.to_string(),
    }
}

/// `Retry-After` in seconds; the HTTP-date form is ignored (the backoff applies instead).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The wait after failed try `k` (0-based): `base * 2^k`, stretched by `jitter` (0 to 0.5) so
/// parallel workers do not retry in step, at least what `Retry-After` asked, at most [`MAX_WAIT`].
fn wait_before_retry(
    base: Duration,
    k: u32,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Duration {
    let backoff = base
        .saturating_mul(1 << k.min(16))
        .mul_f64(1.0 + jitter.clamp(0.0, 0.5));
    backoff.max(retry_after.unwrap_or_default()).min(MAX_WAIT)
}

/// "after 1 try", "after 5 tries"; "not fetched" for an id refused before any request.
fn tries(n: u32) -> String {
    match n {
        0 => "not fetched".into(),
        1 => "after 1 try".into(),
        n => format!("after {n} tries"),
    }
}

/// `2026-07-31T12:34:56Z`: whole seconds, UTC.
fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian
/// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |s| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_785_501_296), "2026-07-31T12:34:56Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z", "a leap day");
        assert_eq!(
            at(4_107_542_399),
            "2100-02-28T23:59:59Z",
            "2100 is no leap year"
        );
    }

    #[test]
    fn model_ids_map_to_one_file_inside_the_directory() {
        let m = ModelId::parse("z-ai/glm-5.2").unwrap();
        assert_eq!(m.file_name(), "z-ai__glm-5.2.json");
        assert_eq!(
            m.endpoints_url("http://h/api/v1"),
            "http://h/api/v1/models/z-ai/glm-5.2/endpoints"
        );
        let free = ModelId::parse("meta-llama/llama-3.1-8b-instruct:free").unwrap();
        assert_eq!(
            free.file_name(),
            "meta-llama__llama-3.1-8b-instruct:free.json"
        );
    }

    #[test]
    fn ids_that_could_leave_the_directory_are_refused() {
        for bad in [
            "noslash", "a/b/c", "/slug", "author/", "../x", "a/..", "a/x..y", "a\\b/c", "a/b\nc",
            "a/b c", "",
        ] {
            assert!(ModelId::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn url_path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("gpt-4o:extended~1"), "gpt-4o:extended~1");
        assert_eq!(encode_segment("a?b#c%d"), "a%3Fb%23c%25d");
    }

    #[test]
    fn base_urls_are_checked_and_lose_their_trailing_slash() {
        assert_eq!(
            check_base_url("https://openrouter.ai/api/v1/").as_deref(),
            Ok("https://openrouter.ai/api/v1")
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        for bad in [
            "",
            "openrouter.ai",
            "ftp://x/y",
            "http://",
            "http://h/a b",
            "http://h/?q=1",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after_within_the_cap() {
        let base = Duration::from_millis(250);
        assert_eq!(wait_before_retry(base, 0, 0.0, None), base);
        assert_eq!(
            wait_before_retry(base, 3, 0.0, None),
            Duration::from_secs(2)
        );
        assert_eq!(
            wait_before_retry(base, 1, 0.5, None),
            Duration::from_millis(750),
            "jitter adds at most half"
        );
        assert_eq!(
            wait_before_retry(base, 0, 0.0, Some(Duration::from_secs(3))),
            Duration::from_secs(3),
            "Retry-After longer than the backoff wins"
        );
        assert_eq!(
            wait_before_retry(base, 0, 0.0, Some(Duration::from_secs(3600))),
            MAX_WAIT
        );
        assert_eq!(wait_before_retry(base, 30, 0.5, None), MAX_WAIT);
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn openrouter_error_messages_are_quoted() {
        let body = br#"{"error": {"code": 404, "message": "Model not found"}}"#;
        assert_eq!(
            http_failure(404, body).as_deref(),
            Some("HTTP 404: Model not found")
        );
        assert_eq!(http_failure(502, b"<html>").as_deref(), Some("HTTP 502"));
        assert_eq!(http_failure(200, b""), None);
    }

    #[test]
    fn listings_need_a_data_object() {
        assert!(has_data_object(
            br#"{"data": {"id": "a/b", "endpoints": []}}"#
        ));
        assert!(!has_data_object(br#"{"data": []}"#));
        assert!(!has_data_object(b"<html></html>"));
    }

    #[test]
    fn the_pool_keeps_item_order_and_runs_each_item_once() {
        let items: Vec<u32> = (0..50).collect();
        for workers in [1, 3, 64] {
            assert_eq!(
                run_pool(&items, workers, |i| i * 2),
                (0..50).map(|i| i * 2).collect::<Vec<_>>()
            );
        }
        assert!(run_pool(&[] as &[u32], 4, |i| *i).is_empty());
    }
}
