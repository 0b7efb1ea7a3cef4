//! Observed routing against the prediction (SPEC section 10): reads a log of requests and where
//! they went, groups them by model and effective routing configuration, and tests each group's
//! counts against routesim's prediction (G-test), lists observations the prediction rules out,
//! and fits the load-balancing exponent. Never opens a file: it reads what its caller passes.
//!
//! Per line: the line is parsed (`log.rs`), its request keyed by its parsed form; a new key is
//! compiled once, and groups whose compiled routers are the same (same endpoints, prices,
//! uptimes, runs and exclusions) are one group. Memory grows with the number of distinct
//! requests and groups, not with the number of lines.

mod log;
mod predict;
mod stats;

pub use log::ObservedAs;
pub use predict::EXACT_LIMIT;
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
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::BufRead;

/// The longest log line read: a request body's limit plus room for the observation.
pub const MAX_LINE_BYTES: usize = MAX_REQUEST_BYTES + (1 << 20);

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

/// The report of a replay; serializes to `routesim replay --json` (SPEC section 10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Log lines replayed (blank lines aside).
    pub lines: u64,
    /// One per model and routing configuration (and kind of observation), in order of first
    /// appearance.
    pub groups: Vec<GroupReport>,
    /// Observations the prediction gives probability 0, in line order; left out of the tests.
    pub impossible: Vec<Impossible>,
    /// Sum of the log-probabilities of the counted observations under the documented model
    /// (alpha 2).
    pub log_likelihood: f64,
    /// The fitted exponent, when asked for and when some group's prediction depends on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
    /// What a reader of the numbers should know (a fit that could not be made, an interval
    /// that reached the search range).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One group's test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The request's model (the first of its models).
    pub model: String,
    /// The strategy of the group's plans (`load_balance`, `order`, ...); `unroutable` when no
    /// endpoint is eligible.
    pub strategy: String,
    /// The first line of the log in this group.
    pub first_line: usize,
    /// Every line of the group, impossible ones included.
    pub requests: u64,
    /// What the lines show: attempts or only who served.
    pub observed_as: ObservedAs,
    /// The G statistic over the rows after pooling.
    pub g_statistic: f64,
    /// Rows left after pooling, minus one.
    pub dof: u64,
    /// P(G >= g_statistic) under the prediction; `null` with no degrees of freedom.
    pub p_value: Option<f64>,
    /// Providers (or endpoints, when every line names its endpoint) with their counts.
    pub rows: Vec<Row>,
    /// Plans drawn to sample the served distribution; absent where it is exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draws: Option<u64>,
}

/// A row of a group: a provider's eligible endpoints, or one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The provider's display name (its slug when the catalog has none).
    pub provider: String,
    /// The endpoint keys the row covers.
    pub endpoints: Vec<String>,
    /// Counted observations.
    pub observed: u64,
    /// Expected count under the prediction.
    pub expected: f64,
    /// Pearson residual `(observed - expected) / sqrt(expected)`.
    pub residual: f64,
    /// The model, when it is not the group's (a fallback model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Pooled with the other rows expected below [`POOL_BELOW`] for the G-test.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pooled: bool,
    /// Standard error of `expected`, where the distribution is sampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_error: Option<f64>,
}

/// An observation the prediction gives probability 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impossible {
    /// 1-based line number, counting every physical line.
    pub line: usize,
    /// The model the observation was matched in (the request's model when none matched).
    pub model: String,
    /// The provider (or endpoint key) as the log names it.
    pub provider: String,
    /// An exclusion reason as `route` gives it (`ignored`, `not_in_only`, ...), or
    /// `unknown_provider` (no endpoint of the model), `never_first` (eligible but never tried
    /// first), `never_served` (eligible but no plan can be served by it).
    pub reason: String,
    /// The human detail.
    pub detail: String,
}

/// The fitted exponent of the load-balancing weight `price^-alpha`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    /// Maximum-likelihood estimate.
    pub alpha: f64,
    /// Lower end of the 95% profile-likelihood interval.
    pub low: f64,
    /// Upper end of the 95% profile-likelihood interval.
    pub high: f64,
    /// The p-value of the G-test over every group used, at the fitted alpha (degrees of
    /// freedom summed over the groups, minus one for the fitted parameter); `null` when none
    /// are left.
    pub p_value_at_fit: Option<f64>,
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

    /// The report: each group's rows and G-test, the impossible observations, the
    /// log-likelihood at alpha 2 and, when asked for, the fit.
    pub fn report(&self) -> Report {
        let mut warnings = Vec::new();
        let groups = self
            .groups
            .iter()
            .map(|g| {
                let (rows, test) = g.rows(&g.probs);
                GroupReport {
                    model: g.model.to_string(),
                    strategy: g
                        .router
                        .as_ref()
                        .map_or("unroutable", |r| r.strategy().as_str())
                        .to_string(),
                    first_line: g.first_line,
                    requests: g.requests,
                    observed_as: g.observed_as,
                    g_statistic: test.g,
                    dof: test.dof,
                    p_value: test.p_value,
                    rows,
                    draws: g.sampled.map(|(d, _)| d),
                }
            })
            .collect();
        let log_likelihood = self.groups.iter().map(|g| g.log_likelihood(&g.probs)).sum();
        let fit = match self.settings.fit {
            true => self.fit(&mut warnings),
            false => None,
        };
        Report {
            lines: self.lines,
            groups,
            impossible: self.impossible.clone(),
            log_likelihood,
            fit,
            warnings,
        }
    }

    /// The maximum-likelihood alpha over the groups whose prediction is exact for any alpha.
    fn fit(&self, warnings: &mut Vec<String>) -> Option<Fit> {
        let used: Vec<&Group> = self
            .groups
            .iter()
            .filter(|g| g.router.is_some() && g.sampled.is_none())
            .collect();
        let ll = |alpha: f64| -> f64 {
            used.iter()
                .map(|g| g.probs_at(alpha).map_or(0.0, |p| g.log_likelihood(&p)))
                .sum()
        };
        let Some(e) = stats::maximise(ll, FIT_RANGE.0, FIT_RANGE.1) else {
            warnings.push(
                "--fit: no group's prediction depends on alpha (no load-balanced choice among \
                 priced endpoints was observed), so there is nothing to fit"
                    .into(),
            );
            return None;
        };
        if e.open_low || e.open_high {
            warnings.push(format!(
                "--fit: the 95% interval reaches the search range [{}, {}]; the data say little of alpha",
                FIT_RANGE.0, FIT_RANGE.1
            ));
        }
        let (mut g, mut dof) = (0.0, 0u64);
        for group in &used {
            if let Some(p) = group.probs_at(e.at) {
                let (_, test) = group.rows(&p);
                g += test.g;
                dof += test.dof;
            }
        }
        Some(Fit {
            alpha: e.at,
            low: e.low,
            high: e.high,
            p_value_at_fit: stats::survival(g, dof.saturating_sub(1)),
        })
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
            "{}/{}:{}:{:x}:{:x},",
            t.model,
            t.endpoint,
            t.byok,
            t.price.to_bits(),
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
/// service-tier endpoints included.
fn names_provider(name: &str, ep: &Endpoint) -> bool {
    let wanted = slug::normalize(name);
    wanted == slug::normalize(&ep.provider)
        || ep.provider_name.as_deref().is_some_and(|n| {
            name.trim().eq_ignore_ascii_case(n.trim()) || wanted == slug::normalize(n)
        })
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

    /// The predicted distribution at `alpha`; `None` where it is sampled (alpha 2 only) or
    /// nothing is eligible.
    fn probs_at(&self, alpha: f64) -> Option<Vec<f64>> {
        let r = self.router.as_ref()?;
        match self.observed_as {
            ObservedAs::FirstAttempt => Some(predict::first_attempt(r, alpha)),
            ObservedAs::Served => predict::served_exact(r, alpha),
        }
    }

    /// Sum over the counted observations of the log-probability of each under `probs`.
    fn log_likelihood(&self, probs: &[f64]) -> f64 {
        self.cells
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| c.count as f64 * c.targets.iter().map(|&i| probs[i]).sum::<f64>().ln())
            .sum()
    }

    /// The group's rows under `probs`, and the G-test over them.
    fn rows(&self, probs: &[f64]) -> (Vec<Row>, stats::GTest) {
        let Some(router) = &self.router else {
            let (test, _) = stats::g_test(&[], &[]);
            return (Vec::new(), test);
        };
        // Row key: model, provider slug, and the endpoint key when rows are endpoints.
        type Key<'a> = (&'a str, &'a str, Option<&'a str>);
        let counted: u64 = self.cells.iter().map(|c| c.count).sum();
        if counted == 0 {
            let (test, _) = stats::g_test(&[], &[]);
            return (Vec::new(), test);
        }
        let by_endpoint = self.named_endpoints;
        let mut keys: Vec<Key> = Vec::new();
        let mut p: Vec<f64> = Vec::new();
        let mut endpoints: Vec<Vec<String>> = Vec::new();
        let mut display: Vec<&str> = Vec::new();
        let row_of =
            |key: Key<'c>, keys: &mut Vec<Key<'c>>| match keys.iter().position(|k| *k == key) {
                Some(i) => i,
                None => {
                    keys.push(key);
                    keys.len() - 1
                }
            };
        for (i, t) in router.targets().iter().enumerate() {
            let key = (t.model, t.provider, by_endpoint.then_some(t.endpoint));
            let r = row_of(key, &mut keys);
            if r == p.len() {
                p.push(0.0);
                endpoints.push(Vec::new());
                display.push(t.source().provider_name.as_deref().unwrap_or(t.provider));
            }
            // A provider row is named as its default endpoint names the provider (a listing
            // may name other endpoints by region: "Google Vertex (EU)").
            if t.source().is_default() && !by_endpoint {
                if let Some(name) = t.source().provider_name.as_deref() {
                    display[r] = name;
                }
            }
            p[r] += probs[i];
            if !endpoints[r].iter().any(|e| e == t.endpoint) {
                endpoints[r].push(t.endpoint.to_string());
            }
        }
        let mut observed = vec![0u64; keys.len()];
        for c in &self.cells {
            let key = (
                c.model,
                c.provider,
                if by_endpoint { c.endpoint } else { None },
            );
            if let Some(r) = keys.iter().position(|k| *k == key) {
                observed[r] += c.count;
            }
        }
        let n: u64 = observed.iter().sum();
        let total: f64 = p.iter().sum();
        let keep: Vec<usize> = (0..keys.len())
            .filter(|&r| p[r] > 0.0 || observed[r] > 0)
            .collect();
        let expected: Vec<f64> = keep
            .iter()
            .map(|&r| match total > 0.0 {
                true => n as f64 * p[r] / total,
                false => 0.0,
            })
            .collect();
        let counts: Vec<u64> = keep.iter().map(|&r| observed[r]).collect();
        let (test, pooled) = stats::g_test(&counts, &expected);
        let rows = keep
            .iter()
            .enumerate()
            .map(|(j, &r)| {
                let e = expected[j];
                let o = counts[j] as f64;
                Row {
                    provider: display[r].to_string(),
                    endpoints: endpoints[r].clone(),
                    observed: counts[j],
                    expected: e,
                    residual: if o == e { 0.0 } else { (o - e) / e.sqrt() },
                    model: (keys[r].0 != self.model).then(|| keys[r].0.to_string()),
                    pooled: pooled[j],
                    standard_error: self.sampled.map(|(_, served)| {
                        let q = p[r] / total;
                        n as f64 * (q * (1.0 - q) / served.max(1) as f64).sqrt()
                    }),
                }
            })
            .collect();
        (rows, test)
    }
}
