//! Observed routing against the prediction (SPEC section 10): reads a log of requests and where
//! they went, groups them by model and effective routing configuration, and tests each group's
//! counts against routesim's prediction (G-test), lists observations the prediction rules out,
//! and fits the load-balancing exponent. Never opens a file: it reads what its caller passes.
//!
//! Per line: the line is parsed (`log.rs`), its request keyed by its parsed form; a new key is
//! compiled once, and groups whose compiled routers are the same (same endpoints, prices,
//! uptimes, runs and exclusions) are one group. Memory grows with the number of groups (and
//! bounded lookup caches), not with the number of lines.
//!
//! `log.rs` reads a line, `predict.rs` computes a group's distributions, `stats.rs` the G-test
//! and the fit's search, `report.rs` the report.

mod log;
mod predict;
mod stats;
mod report;

pub use log::ObservedAs;
pub use predict::EXACT_LIMIT;
pub use report::{Fit, GroupReport, Impossible, Report, Row};
pub use stats::POOL_BELOW;

use crate::catalog::{Catalog, Endpoint, Model};
use crate::error::Error;
use crate::plan::Exclusion;
use crate::request::MAX_REQUEST_BYTES;
use crate::resolve::Options;
use crate::router::{Router, Run};
use crate::slug;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::BufRead;

/// The longest log line read: a request body's limit plus room for the observation.
pub const MAX_LINE_BYTES: usize = MAX_REQUEST_BYTES + (1 << 20);

/// Entries kept in each lookup cache (requests already keyed, names already matched) before it
/// is emptied; the groups themselves are never dropped. Only speed depends on it: a cache
/// emptied on every line (a limit of 0, or the `>=` of its checks turned to `<`, as mutants
/// do) gives the same report, since a request is found again by its router and a name by its
/// cell.
const CACHE_LIMIT: usize = 1 << 16;

/// The range the `alpha` fit searches.
pub const FIT_RANGE: (f64, f64) = (-8.0, 16.0);

/// How to replay a log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplaySettings {
    /// Estimate the exponent `alpha` of the weight `price^-alpha` ([`Report::fit`]).
    pub fit: bool,
    /// Plans drawn for a group whose served distribution is sampled (a run longer than
    /// [`EXACT_LIMIT`]).
    pub draws: u64,
    /// Seed for those draws; the same seed gives the same report.
    pub seed: u64,
}

impl Default for ReplaySettings {
    fn default() -> ReplaySettings {
        ReplaySettings {
            fit: false,
            draws: 200_000,
            seed: 0,
        }
    }
}

/// A replay in progress: feed it lines ([`Replay::read`] or [`Replay::add_line`]), then ask for
/// the [`Report`].
///
/// ```
/// let catalog = routesim::Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n      - { provider: b, pricing: { prompt: 2, completion: 0 } }\n").unwrap();
/// let options = routesim::Options::default();
/// let mut replay = routesim::Replay::new(&catalog, &options, routesim::ReplaySettings::default());
/// // a is 4 times as likely as b to be tried first: 80 to 20 is what the model predicts.
/// let mut log = String::new();
/// for i in 0..100 {
///     let p = if i < 80 { "a" } else { "b" };
///     log += &format!("{{\"request\": {{\"model\": \"m\"}}, \"generation\": {{\"provider_responses\": [{{\"provider_name\": \"{p}\", \"status\": 200}}]}}}}\n");
/// }
/// log += "{\"request\": {\"model\": \"m\", \"provider\": {\"ignore\": [\"b\"]}}, \"provider\": \"b\"}\n";
/// replay.read(log.as_bytes(), "log", &mut |_| {}).unwrap();
/// let report = replay.report();
/// assert_eq!(report.groups[0].rows[0].expected, 80.0);
/// assert!(report.groups[0].p_value.unwrap() > 0.99);
/// assert_eq!(report.impossible[0].line, 101);
/// assert_eq!(report.impossible[0].reason, "ignored");
/// ```
#[derive(Debug)]
pub struct Replay<'c> {
    catalog: &'c Catalog,
    options: Options,
    settings: ReplaySettings,
    groups: Vec<Group<'c>>,
    /// The parsed request (and kind of observation), written out -> its group.
    by_request: HashMap<String, usize>,
    /// The compiled router, written out -> its group.
    by_effect: HashMap<String, usize>,
    impossible: Vec<Impossible>,
    lines: u64,
}

#[derive(Debug)]
struct Group<'c> {
    model: &'c str,
    observed_as: ObservedAs,
    first_line: usize,
    models: Vec<&'c Model>,
    /// `None` when nothing is eligible.
    router: Option<Router<'c>>,
    excluded: Vec<Exclusion>,
    /// The predicted distribution over the router's targets at alpha 2.
    probs: Vec<f64>,
    /// Which targets the observation can name with a probability above 0.
    possible: Vec<bool>,
    /// Draws and served draws, where `probs` is sampled.
    sampled: Option<(u64, u64)>,
    requests: u64,
    /// Every counted line named its endpoint: rows are endpoints.
    named_endpoints: bool,
    cells: Vec<Cell<'c>>,
    outcomes: HashMap<(bool, Option<String>, String), Outcome>,
}

/// What one kind of observation counts towards: an endpoint, or all of a provider's endpoints
/// in one model.
#[derive(Debug)]
struct Cell<'c> {
    model: &'c str,
    provider: &'c str,
    endpoint: Option<&'c str>,
    targets: Vec<usize>,
    count: u64,
}

#[derive(Debug, Clone)]
enum Outcome {
    Cell(usize),
    Impossible {
        model: String,
        reason: String,
        detail: String,
    },
}

impl<'c> Replay<'c> {
    /// A replay against `catalog` with the account settings, uptime bands and sticky endpoint of
    /// `options`.
    pub fn new(catalog: &'c Catalog, options: &Options, settings: ReplaySettings) -> Replay<'c> {
        Replay {
            catalog,
            options: options.clone(),
            settings,
            groups: Vec::new(),
            by_request: HashMap::new(),
            by_effect: HashMap::new(),
            impossible: Vec::new(),
            lines: 0,
        }
    }

    /// Reads a whole log from `reader`, line by line (streaming: memory does not grow with the
    /// log), calling `progress(bytes)` as it goes. Errors name `name`, the line and the field.
    pub fn read(
        &mut self,
        mut reader: impl BufRead,
        name: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        use std::io::Read;
        let mut buf = Vec::new();
        let mut number = 0;
        let mut unreported = 0u64;
        loop {
            buf.clear();
            let n = (&mut reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|e| Error::io(name, e))?;
            if n == 0 {
                break;
            }
            number += 1;
            if buf.len() > MAX_LINE_BYTES {
                let detail = format!("line longer than {MAX_LINE_BYTES} bytes");
                return Err(Error::input(None, &detail, Some(number)).with_file(name));
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                return Err(Error::input(None, "not UTF-8", Some(number)).with_file(name));
            };
            let text = text.trim_end_matches(['\n', '\r']);
            if !text.trim().is_empty() {
                self.add_line(text, number).map_err(|e| e.with_file(name))?;
            }
            unreported += n as u64;
            if unreported >= 1 << 16 {
                progress(unreported);
                unreported = 0;
            }
        }
        progress(unreported);
        Ok(())
    }

    /// Adds line `number` (1-based, counting every physical line) of a log. A blank line is
    /// skipped; a bad one is an error naming the line and field (nothing is added).
    pub fn add_line(&mut self, text: &str, number: usize) -> Result<(), Error> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let line = log::parse(text, number)?;
        self.lines += 1;
        let observed_as = line.observation.observed_as;
        let key = format!("{}{:?}", observed_as.as_str(), line.request);
        let index = match self.by_request.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.group_for(&line, number)?;
                // A cache only (groups are found by their routers): bounded, so that a log
                // whose every request differs in a field routing ignores stays small.
                if self.by_request.len() >= CACHE_LIMIT {
                    self.by_request.clear();
                }
                self.by_request.insert(key, i);
                i
            }
        };
        let group = &mut self.groups[index];
        group.requests += 1;
        let obs = &line.observation;
        let lookup = (obs.is_endpoint, obs.model.clone(), obs.name.clone());
        let outcome = match group.outcomes.get(&lookup) {
            Some(o) => o.clone(),
            None => {
                let o = group.resolve(obs.is_endpoint, obs.model.as_deref(), &obs.name);
                if group.outcomes.len() >= CACHE_LIMIT {
                    group.outcomes.clear();
                }
                group.outcomes.insert(lookup, o.clone());
                o
            }
        };
        match outcome {
            Outcome::Cell(i) => {
                group.cells[i].count += 1;
                group.named_endpoints &= group.cells[i].endpoint.is_some();
            }
            Outcome::Impossible {
                model,
                reason,
                detail,
            } => self.impossible.push(Impossible {
                line: number,
                model,
                provider: obs.name.clone(),
                reason,
                detail,
            }),
        }
        Ok(())
    }

    /// The group of a request not seen before: compiled once, merged with a group whose
    /// router is the same.
    fn group_for(&mut self, line: &log::Line, number: usize) -> Result<usize, Error> {
        let request = &line.request;
        let observed_as = line.observation.observed_as;
        let compiled = Router::compile(self.catalog, request, &self.options);
        let (router, excluded) = match compiled {
            Ok(router) => (Some(router), Vec::new()),
            Err(err) => match err.unroutable() {
                Some(u) => (None, u.excluded.clone()),
                None => {
                    let text = err.to_string();
                    let detail = err
                        .field()
                        .and_then(|f| text.strip_prefix(&format!("{f}: ")))
                        .unwrap_or(&text);
                    let field = err
                        .field()
                        .map_or("request".into(), |f| format!("request.{f}"));
                    return Err(Error::input(Some(field), detail, Some(number)));
                }
            },
        };
        let mut effect = format!("{}|", observed_as.as_str());
        match &router {
            Some(r) => describe(r, &mut effect),
            None => {
                for x in &excluded {
                    let _ = write!(effect, "{}/{}:{};", x.model, x.endpoint, x.reason.code());
                }
            }
        }
        if let Some(&i) = self.by_effect.get(&effect) {
            return Ok(i);
        }
        // Every requested model is in the catalog: compiling checked.
        let models: Vec<&Model> = request
            .models
            .iter()
            .filter_map(|m| self.catalog.model(&m.id))
            .fold(Vec::new(), |mut v, m| {
                if !v.iter().any(|s: &&Model| s.id == m.id) {
                    v.push(m);
                }
                v
            });
        let mut group = Group {
            model: models.first().map_or("", |m| m.id.as_str()),
            observed_as,
            first_line: number,
            models,
            router,
            excluded,
            probs: Vec::new(),
            possible: Vec::new(),
            sampled: None,
            requests: 0,
            named_endpoints: true,
            cells: Vec::new(),
            outcomes: HashMap::new(),
        };
        if let Some(r) = &group.router {
            (group.probs, group.possible, group.sampled) = match observed_as {
                ObservedAs::FirstAttempt => {
                    let p = predict::first_attempt(r, 2.0);
                    let possible = p.iter().map(|&q| q > 0.0).collect();
                    (p, possible, None)
                }
                ObservedAs::Served => match predict::served_exact(r, 2.0) {
                    Some(p) => {
                        let possible = p.iter().map(|&q| q > 0.0).collect();
                        (p, possible, None)
                    }
                    None => {
                        // A stream of its own per group. Which stream changes only the
                        // sampling noise, so `|` or `&` for `^` (groups sharing streams) is
                        // no test's to see; the seed's reproducibility is.
                        let seed = crate::mix_seed(self.settings.seed ^ self.groups.len() as u64);
                        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
                        let (p, served) = predict::served_sampled(r, self.settings.draws, &mut rng);
                        (
                            p,
                            predict::can_serve(r),
                            Some((self.settings.draws, served)),
                        )
                    }
                },
            };
        }
        self.groups.push(group);
        let i = self.groups.len() - 1;
        self.by_effect.insert(effect, i);
        Ok(i)
    }
}

/// The compiled router written out: what decides every prediction and every impossibility
/// (strategy, runs with each target's endpoint, own-key mark, price and uptime, exclusions).
fn describe(router: &Router, out: &mut String) {
    let _ = write!(out, "{}|", router.strategy().as_str());
    let target = |out: &mut String, id: &crate::TargetId| {
        let t = router.target(*id);
        let _ = write!(
            out,
            "{}/{}:{}:{}:{:x},",
            t.model,
            t.endpoint,
            t.byok,
            t.price,
            t.uptime.to_bits()
        );
    };
    for (first_only, runs) in router.runs() {
        let _ = write!(out, "[{first_only}");
        for run in runs {
            match run {
                Run::Fixed(ids) => {
                    out.push_str("(f ");
                    ids.iter().for_each(|id| target(out, id));
                }
                Run::Weighted { free, priced } => {
                    out.push_str("(w ");
                    free.iter().for_each(|id| target(out, id));
                    out.push('|');
                    priced.iter().for_each(|id| target(out, id));
                }
            }
            out.push(')');
        }
        out.push(']');
    }
    for (model, endpoint, reason) in router.excluded() {
        let _ = write!(out, "{model}/{endpoint}:{};", reason.code());
    }
}

/// Whether a provider name from a log (display name or slug) names the provider of `ep`,
/// service-tier endpoints included: equal to its slug or display name once both are
/// normalized (case and spaces aside: "google ai studio" and "Google-AI-Studio" name "Google
/// AI Studio").
fn names_provider(name: &str, ep: &Endpoint) -> bool {
    let wanted = slug::normalize(name);
    wanted == slug::normalize(&ep.provider)
        || ep
            .provider_name
            .as_deref()
            .is_some_and(|n| wanted == slug::normalize(n))
}

impl<'c> Group<'c> {
    /// What an observation counts towards, or why it is impossible.
    fn resolve(&mut self, is_endpoint: bool, model: Option<&str>, name: &str) -> Outcome {
        let hinted: Vec<&'c Model> = match model {
            Some(hint) => self
                .models
                .iter()
                .copied()
                .filter(|m| m.id == hint || hint.split_once(':').is_some_and(|(id, _)| m.id == id))
                .collect(),
            None => Vec::new(),
        };
        let search = if hinted.is_empty() {
            self.models.clone()
        } else {
            hinted
        };
        for m in search {
            let mut eps: Vec<&'c Endpoint> = match is_endpoint {
                true => m
                    .endpoints
                    .iter()
                    .filter(|ep| ep.key.eq_ignore_ascii_case(name))
                    .collect(),
                false => m
                    .endpoints
                    .iter()
                    .filter(|ep| names_provider(name, ep))
                    .collect(),
            };
            if is_endpoint && eps.is_empty() {
                eps = m
                    .endpoints
                    .iter()
                    .filter(|ep| ep.tag.eq_ignore_ascii_case(name))
                    .collect();
            }
            if eps.is_empty() {
                continue;
            }
            return self.outcome(m, &eps, is_endpoint);
        }
        let what = match is_endpoint {
            true => "has the key",
            false => "belongs to a provider named",
        };
        Outcome::Impossible {
            model: self.model.to_string(),
            reason: "unknown_provider".into(),
            detail: format!("no endpoint of {} {what} {name:?}", self.model),
        }
    }

    /// The outcome of an observation naming `eps` of model `m`.
    fn outcome(&mut self, m: &'c Model, eps: &[&'c Endpoint], is_endpoint: bool) -> Outcome {
        let targets: Vec<usize> = match &self.router {
            Some(r) => r
                .targets()
                .iter()
                .enumerate()
                .filter(|(_, t)| eps.iter().any(|ep| std::ptr::eq(t.source(), *ep)))
                .map(|(i, _)| i)
                .collect(),
            None => Vec::new(),
        };
        if targets.iter().any(|&i| self.possible[i]) {
            let provider = eps[0].provider.as_str();
            let endpoint = is_endpoint.then(|| eps[0].key.as_str());
            let found = self
                .cells
                .iter()
                .position(|c| c.model == m.id && c.provider == provider && c.endpoint == endpoint);
            return Outcome::Cell(found.unwrap_or_else(|| {
                self.cells.push(Cell {
                    model: &m.id,
                    provider,
                    endpoint,
                    targets,
                    count: 0,
                });
                self.cells.len() - 1
            }));
        }
        if targets.is_empty() {
            let excluded =
                |x: &&Exclusion| x.model == m.id && eps.iter().any(|ep| ep.key == x.endpoint);
            if let Some(x) = self.excluded.iter().find(excluded) {
                return Outcome::Impossible {
                    model: m.id.clone(),
                    reason: x.reason.code().into(),
                    detail: x.reason.detail(),
                };
            }
            if let Some((_, _, reason)) = self.router.as_ref().and_then(|r| {
                r.excluded().find(|(model, endpoint, _)| {
                    *model == m.id && eps.iter().any(|ep| ep.key == *endpoint)
                })
            }) {
                return Outcome::Impossible {
                    model: m.id.clone(),
                    reason: reason.code().into(),
                    detail: reason.detail(),
                };
            }
        }
        let (reason, detail) = match self.observed_as {
            ObservedAs::FirstAttempt => (
                "never_first",
                "eligible, but never tried first: an earlier band, order entry or pinned endpoint always goes before it",
            ),
            ObservedAs::Served => (
                "never_served",
                "eligible, but no plan is served by it: an attempt that never fails goes before it, or it is cut or never up",
            ),
        };
        Outcome::Impossible {
            model: m.id.clone(),
            reason: reason.into(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n      - { provider: b, pricing: { prompt: 2, completion: 0 } }\n";

    /// A log line served by `provider`, padded with spaces inside its JSON to `len` bytes with
    /// its newline.
    fn padded(provider: &str, len: usize) -> String {
        let head = r#"{"request": {"model": "m"},"#;
        let tail = format!("\"provider\": \"{provider}\"}}\n");
        let pad = len - head.len() - tail.len();
        format!("{head}{}{tail}", " ".repeat(pad))
    }

    /// A replay of `log` (as the file `log.jsonl`) against the YAML `catalog`.
    fn replay_log(
        catalog: &str,
        options: &Options,
        settings: ReplaySettings,
        log: &str,
    ) -> Result<Report, Error> {
        let catalog = Catalog::parse(catalog).unwrap();
        let mut replay = Replay::new(&catalog, options, settings);
        replay.read(log.as_bytes(), "log.jsonl", &mut |_| {})?;
        Ok(replay.report())
    }

    fn read(log: &str) -> Result<Report, Error> {
        replay_log(CATALOG, &Options::default(), ReplaySettings::default(), log)
    }

    /// A line holds a request at its size limit and the observation beside it: up to
    /// MAX_LINE_BYTES with its newline (16 MiB + 1 MiB) is read, one byte more is refused.
    #[test]
    fn lines_are_read_up_to_the_request_limit_plus_a_mebibyte() {
        assert!(read(&padded("a", MAX_REQUEST_BYTES + 1000)).is_ok());
        let err = read(&padded("a", MAX_REQUEST_BYTES + (2 << 20))).unwrap_err();
        assert!(err.to_string().contains("line longer than"), "{err}");
        let report = read(&(padded("a", MAX_LINE_BYTES) + &padded("b", 100))).unwrap();
        assert_eq!(report.lines, 2);
        let err = read(&(padded("a", 100) + &padded("a", MAX_LINE_BYTES + 1))).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("log.jsonl") && text.contains("line 2"),
            "{text}"
        );
        assert!(
            text.contains(&format!("longer than {MAX_LINE_BYTES} bytes")),
            "{text}"
        );
    }

    /// Progress comes in steps of at least 64 KiB (the last one aside) and adds up to the log.
    #[test]
    fn progress_adds_up_to_the_bytes_read_in_steps_of_64_kib() {
        let log: String = (0..300).map(|i| padded(["a", "b"][i % 2], 1000)).collect();
        let catalog = Catalog::parse(CATALOG).unwrap();
        let mut replay = Replay::new(&catalog, &Options::default(), ReplaySettings::default());
        let mut steps = Vec::new();
        replay
            .read(log.as_bytes(), "log", &mut |n| steps.push(n))
            .unwrap();
        assert_eq!(steps.iter().sum::<u64>(), 300_000);
        assert_eq!(steps.len(), 5, "{steps:?}");
        assert!(steps[..4].iter().all(|&n| n >= 1 << 16), "{steps:?}");
    }

    /// A replay of `lines` against the YAML `catalog`.
    fn replay(catalog: &str, lines: &[&str]) -> Report {
        let log = lines.join("\n");
        replay_log(
            catalog,
            &Options::default(),
            ReplaySettings::default(),
            &log,
        )
        .unwrap()
    }

    /// A model of EXACT_LIMIT + 1 endpoints (a sampled run), endpoint `i` with `price(i)`.
    fn too_many_to_enumerate(price: impl Fn(usize) -> u32, uptime: f64) -> String {
        let mut catalog = String::from("models:\n  - id: m\n    endpoints:\n");
        for i in 0..=EXACT_LIMIT {
            let price = price(i);
            catalog += &format!(
                "      - {{ provider: p{i}, pricing: {{ prompt: {price}, completion: 0 }}, uptime: {uptime} }}\n"
            );
        }
        catalog
    }

    /// Each row as (model, provider, endpoints, observed), and each impossible line as
    /// (line, reason).
    type Rows = Vec<(Option<String>, String, Vec<String>, u64)>;
    fn rows(report: &Report) -> (Rows, Vec<(usize, String)>) {
        let rows = report.groups[0]
            .rows
            .iter()
            .map(|r| {
                (
                    r.model.clone(),
                    r.provider.clone(),
                    r.endpoints.clone(),
                    r.observed,
                )
            })
            .collect();
        let impossible = report
            .impossible
            .iter()
            .map(|i| (i.line, i.reason.clone()))
            .collect();
        (rows, impossible)
    }

    const TWO_MODELS: &str = "models:
  - id: m
    endpoints:
      - { provider: a, provider_name: Alpha Cloud, pricing: { prompt: 1, completion: 0 }, uptime: 0.9 }
      - { provider: b, pricing: { prompt: 2, completion: 0 }, uptime: 0.9 }
  - id: n
    endpoints:
      - { provider: a, provider_name: Alpha Cloud, pricing: { prompt: 1, completion: 0 }, uptime: 0.9 }
      - { provider: c, pricing: { prompt: 3, completion: 0 }, uptime: 0.9 }
";

    /// Observations count towards the model the log names (`n:free` is `n`), else the first
    /// with the provider; names match case and spaces aside; one row per model and provider.
    #[test]
    fn observations_find_their_model_and_provider() {
        let request = r#""request": {"model": "m", "models": ["m", "n"]}"#;
        let lines = [
            format!(r#"{{{request}, "provider": "c"}}"#),
            format!(r#"{{{request}, "response": {{"provider": "a", "model": "n"}}}}"#),
            format!(
                r#"{{{request}, "response": {{"provider": "alpha cloud", "model": "n:free"}}}}"#
            ),
            format!(r#"{{{request}, "provider": "Alpha-Cloud"}}"#),
            format!(r#"{{{request}, "provider": "A"}}"#),
            format!(r#"{{{request}, "provider": "d"}}"#),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (mut rows, impossible) = rows(&replay(TWO_MODELS, &lines));
        rows.retain(|r| r.3 > 0);
        // Rows are providers (by display name) with their endpoints' keys, in catalog order.
        let row = |model: Option<&str>, provider: &str, key: &str, n| {
            let model = model.map(String::from);
            (model, provider.to_string(), vec![key.to_string()], n)
        };
        let want = [
            row(None, "Alpha Cloud", "a", 2),
            row(Some("n"), "Alpha Cloud", "a", 2),
            row(Some("n"), "c", "c", 1),
        ];
        assert_eq!(rows, want);
        assert_eq!(impossible, [(6, "unknown_provider".to_string())]);
    }

    /// An endpoint a listing names twice is observed by its own key, `together#2`.
    #[test]
    fn an_endpoint_is_observed_by_its_key() {
        let catalog =
            Catalog::from_path("fixtures/openrouter/google__gemma-4-31b-it.json".as_ref()).unwrap();
        let mut replay = Replay::new(&catalog, &Options::default(), ReplaySettings::default());
        let line = r#"{"request": {"model": "google/gemma-4-31b-it"}, "generation": {"provider_responses": [{"provider_name": "Together", "endpoint": "together#2", "status": 200}]}}"#;
        replay.add_line(line, 1).unwrap();
        let report = replay.report();
        let (rows, impossible) = rows(&report);
        let counted: Vec<_> = rows.iter().filter(|r| r.3 > 0).map(|r| &r.2).collect();
        assert_eq!(counted, [&["together#2".to_string()]], "{impossible:?}");
    }

    /// An excluded endpoint is impossible for its own reason, whether the request routes or
    /// nothing is eligible; one that is eligible but never serves is `never_served`.
    #[test]
    fn impossible_observations_give_their_own_reason() {
        let catalog = "models:
  - id: m
    endpoints:
      - { provider: a, quantization: fp4, pricing: { prompt: 1, completion: 0 }, uptime: 1.0 }
      - { provider: b, quantization: fp8, pricing: { prompt: 2, completion: 0 } }
      - { provider: c, quantization: fp8, pricing: { prompt: 3, completion: 0 } }
      - { provider: d, quantization: fp4, pricing: { prompt: 4, completion: 0 } }
";
        let reasons = |request: &str| {
            let lines: Vec<String> = ["a", "b", "c", "d"]
                .iter()
                .map(|p| format!(r#"{{"request": {request}, "provider": "{p}"}}"#))
                .collect();
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let (_, impossible) = rows(&replay(catalog, &lines));
            impossible
        };
        let s = String::from;
        let routable = r#"{"model": "m", "provider": {"ignore": ["b"], "quantizations": ["fp8"]}}"#;
        assert_eq!(
            reasons(routable),
            [
                (1, s("quantization")),
                (2, s("ignored")),
                (4, s("quantization"))
            ]
        );
        let unroutable =
            r#"{"model": "m", "provider": {"ignore": ["b", "c"], "quantizations": ["fp8"]}}"#;
        assert_eq!(
            reasons(unroutable),
            [
                (1, s("quantization")),
                (2, s("ignored")),
                (3, s("ignored")),
                (4, s("quantization"))
            ]
        );
        let cheapest_never_fails = r#"{"model": "m", "provider": {"sort": "price"}}"#;
        let got = reasons(cheapest_never_fails);
        assert_eq!(
            got,
            [
                (2, s("never_served")),
                (3, s("never_served")),
                (4, s("never_served"))
            ]
        );
    }

    /// The fit's interval is reported open when it reaches either end of the search range.
    #[test]
    fn a_fit_at_either_end_of_its_range_is_reported_open() {
        let fit = |a: usize, b: usize| {
            let settings = ReplaySettings {
                fit: true,
                ..ReplaySettings::default()
            };
            let first = |p: &str| {
                format!(
                    r#"{{"request": {{"model": "m"}}, "generation": {{"provider_responses": [{{"provider_name": "{p}", "status": 200}}]}}}}"#
                )
            };
            let log: Vec<String> = (0..a)
                .map(|_| first("a"))
                .chain((0..b).map(|_| first("b")))
                .collect();
            let report =
                replay_log(CATALOG, &Options::default(), settings, &log.join("\n")).unwrap();
            let open = report
                .warnings
                .iter()
                .any(|w| w.contains("reaches the search range"));
            (report.fit.unwrap().alpha, open)
        };
        let (alpha, open) = fit(80, 20);
        assert!((alpha - 2.0).abs() < 0.01 && !open, "{alpha}");
        let (alpha, open) = fit(100, 0);
        assert!(alpha > 8.0 && open, "all to the cheaper: {alpha}");
        let (alpha, open) = fit(0, 100);
        assert!(alpha < 0.0 && open, "all to the dearer: {alpha}");
    }

    /// Rows (report.rs): a provider row is named as its default endpoint names the provider;
    /// an eligible provider nobody observed is a row, one never chosen is not; expected counts
    /// add up to the observations, served ones too (P(served) below 1).
    #[test]
    fn rows_are_named_by_the_default_endpoint_and_keep_what_is_eligible() {
        let catalog = "models:
  - id: m
    endpoints:
      - { provider: p, provider_name: P Cloud, pricing: { prompt: 1, completion: 0 }, uptime: 0.99 }
      - { provider: p, tag: p/eu, provider_name: P Cloud (EU), pricing: { prompt: 1, completion: 0 }, uptime: 0.99 }
      - { provider: q, pricing: { prompt: 2, completion: 0 }, uptime: 0.99 }
";
        let served = |request: &str, p: &str| {
            format!(r#"{{"request": {{"model": "m"{request}}}, "provider": "{p}"}}"#)
        };
        let first = |request: &str, p: &str| {
            format!(
                r#"{{"request": {{"model": "m"{request}}}, "generation": {{"provider_responses": [{{"provider_name": "{p}", "status": 200}}]}}}}"#
            )
        };
        let rows = |line: String| {
            let log = vec![line; 30];
            let log: Vec<&str> = log.iter().map(String::as_str).collect();
            let report = replay(catalog, &log);
            let rows = &report.groups[0].rows;
            let expected: f64 = rows.iter().map(|r| r.expected).sum();
            assert!((expected - 30.0).abs() < 1e-9, "{expected}");
            rows.iter()
                .map(|r| (r.provider.clone(), r.observed))
                .collect::<Vec<_>>()
        };
        let s = String::from;
        assert_eq!(
            rows(served("", "P Cloud")),
            [(s("P Cloud"), 30), (s("q"), 0)]
        );
        assert_eq!(
            rows(first("", "P Cloud")),
            [(s("P Cloud"), 30), (s("q"), 0)]
        );
        let by_price = r#", "provider": {"sort": "price"}"#;
        assert_eq!(rows(first(by_price, "P Cloud")), [(s("P Cloud"), 30)]);
    }

    /// A run longer than EXACT_LIMIT is sampled: each row carries the binomial standard error
    /// of its expected count, n * sqrt(q (1 - q) / served draws). With the stable band from
    /// uptime 0.05 and every uptime 0.1, a draw fails everywhere with chance 0.9^17 = 0.167,
    /// so served draws are not all draws.
    #[test]
    fn a_sampled_row_carries_its_standard_error() {
        let catalog = too_many_to_enumerate(|_| 1, 0.1);
        let mut options = Options::default();
        options.bands.stable = 0.05;
        options.bands.down = 0.05;
        let settings = ReplaySettings {
            draws: 20_000,
            ..ReplaySettings::default()
        };
        let line = r#"{"request": {"model": "m"}, "provider": "p0"}"#;
        let report = replay_log(&catalog, &options, settings, &vec![line; 50].join("\n")).unwrap();
        let group = &report.groups[0];
        assert_eq!(group.draws, Some(20_000));
        assert_eq!(group.rows.len(), EXACT_LIMIT + 1);
        // Served draws are 16,666 give or take 53 (one standard deviation), 0.16% on the
        // error; counting every draw instead would make it 9.6% smaller.
        let served = (1.0 - 0.9f64.powi(17)) * 20_000.0;
        for row in &group.rows {
            let q = row.expected / 50.0;
            let se = 50.0 * (q * (1.0 - q) / served).sqrt();
            let got = row.standard_error.unwrap();
            assert!((got / se - 1.0).abs() < 0.01, "{got} against {se}");
            assert!((q - 1.0 / 17.0).abs() < 0.01, "{q}");
        }
    }

    /// In a sampled group an endpoint no draw served can still serve: its observation is
    /// counted, and its row kept, with an expected count of 0.
    #[test]
    fn a_sampled_group_keeps_an_observed_row_no_draw_served() {
        let catalog = too_many_to_enumerate(|i| if i == 0 { 1000 } else { 1 }, 0.99);
        let settings = ReplaySettings {
            draws: 2_000,
            ..ReplaySettings::default()
        };
        let line = r#"{"request": {"model": "m"}, "provider": "p0"}"#;
        let report = replay_log(&catalog, &Options::default(), settings, line).unwrap();
        assert!(report.impossible.is_empty(), "{:?}", report.impossible);
        let row = report.groups[0].rows.iter().find(|r| r.provider == "p0");
        let row = row.expect("p0's row is kept");
        assert_eq!((row.observed, row.expected), (1, 0.0));
    }
}
