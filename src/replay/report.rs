//! The report of a replay (SPEC section 10): its JSON shape, each group's rows and G-test at
//! any exponent, the log-likelihood and the fit. Reads the groups `mod.rs` built; never reads
//! the log.

use super::{FIT_RANGE, Group, ObservedAs, Replay, predict, stats};
use serde::Serialize;

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
    /// Pooled with the other rows expected below [`POOL_BELOW`](crate::POOL_BELOW) for the G-test.
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

impl Replay<'_> {
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
        // `probs_at` is `None` for both kinds left out: the filter only saves its calls.
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

impl<'c> Group<'c> {
    /// The predicted distribution at `alpha`; `None` where it is sampled (alpha 2 only) or
    /// nothing is eligible.
    fn probs_at(&self, alpha: f64) -> Option<Vec<f64>> {
        let r = self.router.as_ref()?;
        match self.observed_as {
            ObservedAs::FirstAttempt => Some(predict::first_attempt(r, alpha)),
            ObservedAs::Served => predict::served_exact(r, alpha),
        }
    }

    /// Sum over the counted observations of the log-probability of each under `probs` (a cell
    /// exists only once something counts towards it).
    fn log_likelihood(&self, probs: &[f64]) -> f64 {
        self.cells
            .iter()
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
        // `probs` is a distribution (given that the request was tried, or served), so the
        // expected count of a row is n times its share; a group nothing can serve counts
        // nothing and returned above.
        let n: u64 = observed.iter().sum();
        let keep: Vec<usize> = (0..keys.len())
            .filter(|&r| p[r] > 0.0 || observed[r] > 0)
            .collect();
        let expected: Vec<f64> = keep.iter().map(|&r| n as f64 * p[r]).collect();
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
                        let q = p[r];
                        n as f64 * (q * (1.0 - q) / served.max(1) as f64).sqrt()
                    }),
                }
            })
            .collect();
        (rows, test)
    }
}
