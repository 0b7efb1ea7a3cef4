//! Why a request cannot route, and what would let it: the availability class of an unroutable
//! request (SPEC section 5) and the relaxation hints, found by re-routing with each preference
//! dropped on its own (SPEC section 7).

use crate::account::Account;
use crate::catalog::{Catalog, DataCollection, Model};
use crate::compile;
use crate::error::Error;
use crate::plan::Exclusion;
use crate::request::Request;
use crate::resolve::Options;
use serde::Serialize;
use std::fmt;

/// Availability classes, named as OpenRouter's availability errors are (SPEC section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityCode {
    /// The model has no endpoints at all.
    NoEndpoints,
    /// The last endpoints were removed by a data-policy filter (data_collection, zdr, distillable).
    PrivacyRestricted,
    /// The last endpoints were removed by any other filter.
    ConstraintFiltered,
}

impl AvailabilityCode {
    /// The snake_case code, as printed in the JSON error.
    pub fn as_str(self) -> &'static str {
        match self {
            AvailabilityCode::NoEndpoints => "no_endpoints",
            AvailabilityCode::PrivacyRestricted => "privacy_restricted",
            AvailabilityCode::ConstraintFiltered => "constraint_filtered",
        }
    }
}

/// One request preference (or account setting) whose removal alone would let the request route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relaxation {
    /// The dotted name of what would be dropped, e.g. `provider.zdr`.
    pub drop: String,
    /// The endpoint slugs the request would then route to, in plan order.
    pub endpoints: Vec<String>,
}

/// No endpoint can serve the request: why, classified, with every exclusion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unroutable {
    /// The availability class.
    pub code: AvailabilityCode,
    /// One readable sentence.
    pub message: String,
    /// Every endpoint of every requested model, with the reason it was left out.
    pub excluded: Vec<Exclusion>,
    /// Single preferences whose removal would let the request route (SPEC section 7).
    pub relaxations: Vec<Relaxation>,
    /// Warnings found on the way, such as a slug that matches no endpoint.
    pub warnings: Vec<String>,
}

impl fmt::Display for Unroutable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// The error for a request nothing can serve, classified by the latest filter stage that
/// excluded an endpoint (SPEC section 5).
pub(crate) fn unroutable(
    models: &[&Model],
    excluded: Vec<Exclusion>,
    warnings: Vec<String>,
) -> Error {
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    let latest = excluded.iter().map(|e| &e.reason).max_by_key(|r| r.stage());
    let (code, message) = match latest {
        None => (
            AvailabilityCode::NoEndpoints,
            format!("no endpoints serve {}", ids.join(", ")),
        ),
        Some(reason) => {
            let code = if reason.is_privacy() {
                AvailabilityCode::PrivacyRestricted
            } else {
                AvailabilityCode::ConstraintFiltered
            };
            let mut counts: Vec<(&str, usize)> = Vec::new();
            for e in &excluded {
                match counts.iter_mut().find(|(c, _)| *c == e.reason.code()) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((e.reason.code(), 1)),
                }
            }
            let counts: Vec<String> = counts.iter().map(|(c, n)| format!("{n} {c}")).collect();
            (
                code,
                format!(
                    "no endpoint of {} can serve the request; the last were removed by {} ({} excluded: {})",
                    ids.join(", "),
                    reason.code(),
                    excluded.len(),
                    counts.join(", ")
                ),
            )
        }
    };
    Error::from_unroutable(Unroutable {
        code,
        message,
        excluded,
        relaxations: Vec::new(),
        warnings,
    })
}

/// Re-routes with each request preference (and account setting) removed on its own, and
/// reports every removal that would leave endpoints, with those endpoints in their likeliest
/// order (SPEC section 7).
pub(crate) fn relaxations(
    catalog: &Catalog,
    request: &Request,
    options: &Options,
) -> Vec<Relaxation> {
    let mut out = Vec::new();
    for (drop, request, options) in single_drops(request, options) {
        if let Ok(router) = compile::compile_once(catalog, &request, &options) {
            let mut endpoints: Vec<String> = Vec::new();
            for id in router.likely_order() {
                let name = router.target(id).endpoint;
                if !endpoints.iter().any(|e| e == name) {
                    endpoints.push(name.to_string());
                }
            }
            out.push(Relaxation {
                drop: drop.to_string(),
                endpoints,
            });
        }
    }
    out
}

/// Every set preference, each removed alone: `(name, request without it, options without it)`.
fn single_drops(request: &Request, options: &Options) -> Vec<(&'static str, Request, Options)> {
    let mut out: Vec<(&'static str, Request, Options)> = Vec::new();
    let p = &request.provider;
    let mut req = |name: &'static str, set: bool, edit: &dyn Fn(&mut Request)| {
        if set {
            let mut r = request.clone();
            edit(&mut r);
            out.push((name, r, options.clone()));
        }
    };
    req("provider.only", p.only.is_some(), &|r| {
        r.provider.only = None
    });
    req("provider.ignore", !p.ignore.is_empty(), &|r| {
        r.provider.ignore.clear()
    });
    req("provider.quantizations", p.quantizations.is_some(), &|r| {
        r.provider.quantizations = None
    });
    req(
        "provider.data_collection",
        p.data_collection == DataCollection::Deny,
        &|r| r.provider.data_collection = DataCollection::Allow,
    );
    req("provider.zdr", p.zdr, &|r| r.provider.zdr = false);
    req(
        "provider.enforce_distillable_text",
        p.enforce_distillable_text,
        &|r| r.provider.enforce_distillable_text = false,
    );
    req(
        "provider.max_price",
        p.max_price != Default::default(),
        &|r| r.provider.max_price = Default::default(),
    );
    req("max_tokens", request.max_tokens.is_some(), &|r| {
        r.max_tokens = None
    });
    req("usage_estimate", request.usage.is_some(), &|r| {
        r.usage = None
    });
    req("provider.require_parameters", p.require_parameters, &|r| {
        r.provider.require_parameters = false
    });
    req("provider.order", p.order.is_some(), &|r| {
        r.provider.order = None
    });
    req("provider.allow_fallbacks", !p.allow_fallbacks, &|r| {
        r.provider.allow_fallbacks = true
    });
    req("service_tier", request.service_tier.is_some(), &|r| {
        r.service_tier = None
    });
    let a = &options.account;
    let mut acc = |name: &'static str, set: bool, edit: &dyn Fn(&mut Account)| {
        if set {
            let mut o = options.clone();
            edit(&mut o.account);
            out.push((name, request.clone(), o));
        }
    };
    acc("account.only", a.only.is_some(), &|a| a.only = None);
    acc("account.ignore", !a.ignore.is_empty(), &|a| {
        a.ignore.clear()
    });
    acc("account.zdr", a.zdr, &|a| a.zdr = false);
    acc(
        "account.data_collection",
        a.data_collection == DataCollection::Deny,
        &|a| a.data_collection = DataCollection::Allow,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drops(request: &str, account: &str) -> Vec<&'static str> {
        let request = Request::parse(request).unwrap();
        let options = Options {
            account: Account::parse(account).unwrap(),
            ..Options::default()
        };
        single_drops(&request, &options)
            .into_iter()
            .map(|(name, _, _)| name)
            .collect()
    }

    /// A hint is offered only for what the request or the account actually sets.
    #[test]
    fn only_set_preferences_are_dropped() {
        assert!(drops(r#"{"model":"m"}"#, "{}").is_empty());
        let everything = r#"{"model":"m","max_tokens":10,"usage_estimate":{"prompt_tokens":5},
            "service_tier":"flex","provider":{"only":["a"],"ignore":["b"],
            "quantizations":["fp8"],"data_collection":"deny","zdr":true,
            "enforce_distillable_text":true,"max_price":{"prompt":1},"require_parameters":true,
            "order":["a"],"allow_fallbacks":false}}"#;
        let account = "only: [a]\nignore: [b]\nzdr: true\ndata_collection: deny\n";
        assert_eq!(
            drops(everything, account),
            [
                "provider.only",
                "provider.ignore",
                "provider.quantizations",
                "provider.data_collection",
                "provider.zdr",
                "provider.enforce_distillable_text",
                "provider.max_price",
                "max_tokens",
                "usage_estimate",
                "provider.require_parameters",
                "provider.order",
                "provider.allow_fallbacks",
                "service_tier",
                "account.only",
                "account.ignore",
                "account.zdr",
                "account.data_collection",
            ]
        );
        assert_eq!(
            drops(
                r#"{"model":"m","provider":{"data_collection":"allow","allow_fallbacks":true}}"#,
                "data_collection: allow\n"
            ),
            Vec::<&str>::new(),
            "the defaults spelled out are not set preferences"
        );
    }

    /// The error names its availability class and counts the exclusions by reason; the
    /// class is the latest filter stage's (SPEC section 5).
    #[test]
    fn unroutable_errors_print_their_class_then_the_counts() {
        let catalog = Catalog::parse(
            "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n      - { provider: b, pricing: { prompt: 2, completion: 2 }, zdr: true }\n  - id: empty\n    endpoints: []\n",
        )
        .unwrap();
        let error = |body: &str| {
            let request = Request::parse(body).unwrap();
            let err = compile::compile_once(&catalog, &request, &Options::default()).unwrap_err();
            let unroutable = err.unroutable().expect("an unroutable request").clone();
            (unroutable.code.as_str(), unroutable.to_string())
        };
        assert_eq!(
            error(r#"{"model":"m","provider":{"zdr":true,"ignore":["b"]}}"#),
            (
                "privacy_restricted",
                "privacy_restricted: no endpoint of m can serve the request; the last were removed by zdr (2 excluded: 1 zdr, 1 ignored)".into()
            )
        );
        assert_eq!(
            error(r#"{"model":"m","provider":{"max_price":{"prompt":0.5}}}"#).0,
            "constraint_filtered"
        );
        assert_eq!(
            error(r#"{"model":"empty"}"#),
            (
                "no_endpoints",
                "no_endpoints: no endpoints serve empty".into()
            )
        );
    }

    /// Each removal that routes is reported with its endpoints in their likeliest order:
    /// zero-price first, then cheapest first; removals that still route nowhere are not.
    #[test]
    fn relaxations_list_the_endpoints_in_their_likeliest_order() {
        let catalog = Catalog::parse(
            "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n      - { provider: b, pricing: { prompt: 2, completion: 2 } }\n      - { provider: c, pricing: { prompt: 0, completion: 0 } }\n",
        )
        .unwrap();
        let request =
            Request::parse(r#"{"model":"m","provider":{"zdr":true,"ignore":["a"]}}"#).unwrap();
        let got = relaxations(&catalog, &request, &Options::default());
        assert_eq!(
            got,
            [Relaxation {
                drop: "provider.zdr".into(),
                endpoints: vec!["c".into(), "b".into()],
            }],
            "dropping the ignore list alone still leaves zdr excluding everything"
        );
    }
}
