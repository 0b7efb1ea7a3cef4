//! Eligibility: removes endpoints a request cannot use and records the first reason, in the
//! spec's fixed order (SPEC section 4). Never reorders, never reads files.

use crate::account::Account;
use crate::catalog::{DataCollection, Endpoint, Model, Parameters, Quantization, Tier};
use crate::money::Money;
use crate::request::{MaxPrice, Request};
use crate::resolve::Resolved;
use crate::slug::{self, SlugSet};

/// Checks one model's endpoints against the request.
///
/// Returns one entry per endpoint, in catalog order: `None` when eligible, otherwise the first
/// failing reason. Warnings (a soft preference nobody supports) are pushed to `warnings`.
pub(crate) fn filter_model(
    model: &Model,
    request: &Request,
    resolved: &Resolved,
    warnings: &mut Vec<String>,
) -> Vec<Option<Reason>> {
    let account = resolved.account();
    let tiers = resolved.admission(model);
    let ignore: Vec<String> = request
        .provider
        .ignore
        .iter()
        .chain(&account.ignore)
        .cloned()
        .collect();
    let lists = Lists {
        only: request.provider.only.as_deref().map(SlugSet::new),
        account_only: account.only.as_deref().map(SlugSet::new),
        ignore: SlugSet::new(&ignore),
        any_ceiling: request.provider.max_price != MaxPrice::default(),
    };
    let mut verdicts: Vec<Option<Reason>> = model
        .endpoints
        .iter()
        .map(|ep| {
            if !tiers.admits(ep) {
                return Some(Reason::Tier { tier: ep.tier });
            }
            hard_filters(ep, request, account, &lists)
        })
        .collect();
    if !request.provider.require_parameters {
        for (param, reason) in [
            ("tools", Reason::Tools),
            ("response_format", Reason::ResponseFormat),
        ] {
            soft_preference(model, request, param, &reason, &mut verdicts, warnings);
        }
    }
    verdicts
}

/// The request's and the account's slug lists, prepared once per model.
struct Lists<'a> {
    only: Option<SlugSet<'a>>,
    account_only: Option<SlugSet<'a>>,
    /// The request's `ignore` followed by the account's.
    ignore: SlugSet<'a>,
    /// Whether `max_price` sets any ceiling (most requests set none).
    any_ceiling: bool,
}

/// The hard filters, in order: only, ignore, quantizations, data_collection, zdr, distillable,
/// max_price, max_tokens, context_length, require_parameters. Account settings merge in: its
/// allow-list is a ceiling the request's `only` narrows, its ignore list is united with the
/// request's, and its `zdr` and `data_collection: deny` apply as if the request had set them.
fn hard_filters(
    ep: &Endpoint,
    request: &Request,
    account: &Account,
    lists: &Lists,
) -> Option<Reason> {
    let prefs = &request.provider;
    for only in [&lists.only, &lists.account_only].into_iter().flatten() {
        if !only.matches(ep) {
            return Some(Reason::NotInOnly);
        }
    }
    if let Some(s) = lists.ignore.first_match(ep) {
        return Some(Reason::Ignored {
            slug: s.to_string(),
        });
    }
    if let Some(levels) = &prefs.quantizations {
        if !levels.iter().any(|q| q.admits(ep.quantization)) {
            return Some(Reason::Quantization {
                level: ep.quantization,
            });
        }
    }
    let deny = prefs.data_collection == DataCollection::Deny
        || account.data_collection == DataCollection::Deny;
    if deny && ep.data_collection == DataCollection::Allow {
        return Some(Reason::DataCollection);
    }
    if (prefs.zdr || account.zdr) && !ep.zdr {
        return Some(Reason::Zdr);
    }
    if prefs.enforce_distillable_text && !ep.distillable {
        return Some(Reason::Distillable);
    }
    if !lists.any_ceiling {
        return later_filters(ep, request);
    }
    let ceilings = [
        ("prompt", prefs.max_price.prompt, ep.pricing.prompt),
        (
            "completion",
            prefs.max_price.completion,
            ep.pricing.completion,
        ),
        (
            "request",
            prefs.max_price.request,
            ep.pricing.request.unwrap_or(Money::ZERO),
        ),
        (
            "image",
            prefs.max_price.image,
            ep.pricing.image.unwrap_or(Money::ZERO),
        ),
    ];
    for (field, limit, price) in ceilings {
        if let Some(limit) = limit {
            if price > limit {
                return Some(Reason::MaxPrice {
                    field,
                    limit,
                    price,
                });
            }
        }
    }
    later_filters(ep, request)
}

/// The filters after max_price: max_tokens, context_length, require_parameters.
fn later_filters(ep: &Endpoint, request: &Request) -> Option<Reason> {
    let prefs = &request.provider;
    if let (Some(requested), Some(limit)) = (request.max_tokens, ep.max_completion_tokens) {
        if limit < requested {
            return Some(Reason::MaxTokens { limit, requested });
        }
    }
    let prompt = request.usage.and_then(|u| u.prompt_tokens);
    if let (Some(prompt), Some(context_length)) = (prompt, ep.context_length) {
        let needed = prompt.saturating_add(request.max_tokens.unwrap_or(0));
        if context_length < needed {
            return Some(Reason::ContextLength {
                context_length,
                needed,
            });
        }
    }
    if prefs.require_parameters {
        match ep.supported_parameters {
            None => {
                return Some(Reason::RequireParameters {
                    missing: Vec::new(),
                });
            }
            Some(supported) if !supported.is_superset(request.parameters) => {
                return Some(Reason::RequireParameters {
                    missing: request.parameters.missing_from(supported).collect(),
                });
            }
            Some(_) => {}
        }
    }
    None
}

/// `tools` / `response_format` without `require_parameters`: if some eligible endpoints support
/// the parameter, the others go; if none do, all stay and the plan warns.
fn soft_preference(
    model: &Model,
    request: &Request,
    param: &str,
    reason: &Reason,
    verdicts: &mut [Option<Reason>],
    warnings: &mut Vec<String>,
) {
    if !request.parameters.contains_name(param) {
        return;
    }
    // Unknown support counts as support (SPEC section 1).
    let supports = |ep: &Endpoint| {
        ep.supported_parameters
            .is_none_or(|s: Parameters| s.contains_name(param))
    };
    let eligible = || {
        model
            .endpoints
            .iter()
            .zip(verdicts.iter())
            .filter(|(_, v)| v.is_none())
    };
    if eligible().next().is_none() {
        return;
    }
    if eligible().any(|(ep, _)| supports(ep)) {
        for (ep, v) in model.endpoints.iter().zip(verdicts.iter_mut()) {
            if v.is_none() && !supports(ep) {
                *v = Some(reason.clone());
            }
        }
    } else {
        warnings.push(format!(
            "{}: no eligible endpoint supports {param}; the request will be routed and {param} ignored",
            model.id
        ));
    }
}

/// Warnings for `order`, `only` and `ignore` entries that match no endpoint of the model, each
/// with the nearest slug as a suggestion. Past [`MAX_SLUG_WARNINGS`] per list, one line counts
/// the rest, so that a list of thousands of slugs costs neither seconds nor pages.
pub(crate) fn slug_warnings(model: &Model, request: &Request, warnings: &mut Vec<String>) {
    let prefs = &request.provider;
    let lists = [
        ("order", prefs.order.as_deref()),
        ("only", prefs.only.as_deref()),
        ("ignore", Some(prefs.ignore.as_slice())),
    ];
    if lists
        .iter()
        .all(|(_, list)| list.is_none_or(|l| l.is_empty()))
    {
        return;
    }
    // Every key a slug can match an endpoint of this model by, as `SlugSet` normalises them.
    let mut tags = std::collections::HashSet::new();
    let mut providers = std::collections::HashSet::new();
    for ep in &model.endpoints {
        tags.insert(slug::normalize(&ep.tag));
        tags.insert(slug::normalize(&ep.key));
        if ep.tier.is_none() {
            providers.insert(slug::normalize(&ep.provider));
            providers.extend(ep.provider_name.as_deref().map(slug::normalize));
        }
    }
    for (field, list) in lists {
        let mut unmatched = 0;
        for (i, s) in list.unwrap_or_default().iter().enumerate() {
            let key = slug::normalize(s);
            let keys = if slug::is_endpoint_slug(s) {
                &tags
            } else {
                &providers
            };
            if keys.contains(&key) {
                continue;
            }
            unmatched += 1;
            if unmatched > MAX_SLUG_WARNINGS {
                continue;
            }
            let candidates = model
                .endpoints
                .iter()
                .flat_map(|ep| [ep.key.as_str(), ep.provider.as_str()]);
            let hint = match slug::nearest(s, candidates) {
                Some(near) => format!("; did you mean {near:?}?"),
                None => String::new(),
            };
            warnings.push(format!(
                "provider.{field}[{i}] {s:?} matches no endpoint of {}{hint}",
                model.id
            ));
        }
        if unmatched > MAX_SLUG_WARNINGS {
            warnings.push(format!(
                "provider.{field}: {} more entries match no endpoint of {}",
                unmatched - MAX_SLUG_WARNINGS,
                model.id
            ));
        }
    }
}

/// How many unmatched slugs of one list get a warning of their own.
pub(crate) const MAX_SLUG_WARNINGS: usize = 10;

/// Why an endpoint was left out: the first failing filter in the spec's order (SPEC section 4).
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// A service-tier endpoint nothing admitted, or a default-tier endpoint under
    /// `service_tier: "flex"` when the model has flex endpoints.
    Tier {
        /// The endpoint's tier (`None` for the default tier).
        tier: Option<Tier>,
    },
    /// `only` is set and names none of this endpoint's slugs.
    NotInOnly,
    /// `ignore` names it.
    Ignored {
        /// The matching `ignore` entry.
        slug: String,
    },
    /// Its quantization is not in `quantizations`.
    Quantization {
        /// The endpoint's level.
        level: Quantization,
    },
    /// `data_collection: deny` and the endpoint may collect data.
    DataCollection,
    /// `zdr: true` and the endpoint is not ZDR.
    Zdr,
    /// `enforce_distillable_text: true` and the endpoint is not distillable.
    Distillable,
    /// A price is above a `max_price` ceiling.
    MaxPrice {
        /// `prompt`, `completion`, `request` or `image`.
        field: &'static str,
        /// The ceiling.
        limit: Money,
        /// The endpoint's price.
        price: Money,
    },
    /// The endpoint's `max_completion_tokens` is below the request's `max_tokens`.
    MaxTokens {
        /// The endpoint's limit.
        limit: u64,
        /// The request's `max_tokens`.
        requested: u64,
    },
    /// Prompt estimate plus `max_tokens` does not fit the context window.
    ContextLength {
        /// The endpoint's context window.
        context_length: u64,
        /// Tokens the request needs.
        needed: u64,
    },
    /// `require_parameters: true` and the endpoint lacks some (or its support is unknown).
    RequireParameters {
        /// The parameters it lacks; empty when its support is unknown.
        missing: Vec<&'static str>,
    },
    /// The request has `tools` and other endpoints support them while this one does not.
    Tools,
    /// The request has `response_format` and other endpoints support it while this one does not.
    ResponseFormat,
    /// `allow_fallbacks: false` cut it: not named by `order`, or not the first choice.
    FallbacksDisabled {
        /// True when `order` is set and does not name it.
        has_order: bool,
    },
}

impl Reason {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Tier { .. } => "tier",
            Reason::NotInOnly => "not_in_only",
            Reason::Ignored { .. } => "ignored",
            Reason::Quantization { .. } => "quantization",
            Reason::DataCollection => "data_collection",
            Reason::Zdr => "zdr",
            Reason::Distillable => "distillable",
            Reason::MaxPrice { .. } => "max_price",
            Reason::MaxTokens { .. } => "max_tokens",
            Reason::ContextLength { .. } => "context_length",
            Reason::RequireParameters { .. } => "require_parameters",
            Reason::Tools => "tools",
            Reason::ResponseFormat => "response_format",
            Reason::FallbacksDisabled { .. } => "fallbacks_disabled",
        }
    }

    /// Position of this filter in the spec's order; later stages have larger numbers.
    pub fn stage(&self) -> u8 {
        match self {
            Reason::Tier { .. } => 0,
            Reason::NotInOnly => 1,
            Reason::Ignored { .. } => 2,
            Reason::Quantization { .. } => 3,
            Reason::DataCollection => 4,
            Reason::Zdr => 5,
            Reason::Distillable => 6,
            Reason::MaxPrice { .. } => 7,
            Reason::MaxTokens { .. } => 8,
            Reason::ContextLength { .. } => 9,
            Reason::RequireParameters { .. } => 10,
            Reason::Tools => 11,
            Reason::ResponseFormat => 12,
            Reason::FallbacksDisabled { .. } => 13,
        }
    }

    /// Whether this is a data-policy filter (availability class `privacy_restricted`).
    pub fn is_privacy(&self) -> bool {
        matches!(
            self,
            Reason::DataCollection | Reason::Zdr | Reason::Distillable
        )
    }

    /// One human sentence with the facts.
    pub fn detail(&self) -> String {
        match self {
            Reason::Tier { tier: Some(tier) } => format!(
                "{}-tier endpoint not admitted: name its tag in order or only, or set service_tier",
                tier.as_str()
            ),
            Reason::Tier { tier: None } => {
                "service_tier is flex and the model has flex endpoints".into()
            }
            Reason::NotInOnly => {
                "provider.only (or the account's allowed providers) does not name this endpoint".into()
            }
            Reason::Ignored { slug } => {
                format!("provider.ignore (or the account's ignore list) names it ({slug:?})")
            }
            Reason::Quantization { level } => format!(
                "quantization {} is not in provider.quantizations",
                level.as_str()
            ),
            Reason::DataCollection => {
                "data_collection is deny and this endpoint may store or train on prompts"
                    .into()
            }
            Reason::Zdr => "zdr is on and this endpoint is not zero data retention".into(),
            Reason::Distillable => {
                "provider.enforce_distillable_text is true and this endpoint's output is not distillable"
                    .into()
            }
            Reason::MaxPrice {
                field,
                limit,
                price,
            } => format!("{field} price {price} is above provider.max_price.{field} {limit}"),
            Reason::MaxTokens { limit, requested } => format!(
                "max_completion_tokens {limit} is below the requested max_tokens {requested}"
            ),
            Reason::ContextLength {
                context_length,
                needed,
            } => format!(
                "context_length {context_length} is smaller than the {needed} tokens the request needs"
            ),
            Reason::RequireParameters { missing } if missing.is_empty() => {
                "provider.require_parameters is true and this endpoint's supported parameters are unknown"
                    .into()
            }
            Reason::RequireParameters { missing } => format!(
                "provider.require_parameters is true and this endpoint does not support {}",
                missing.join(", ")
            ),
            Reason::Tools => {
                "the request has tools and other endpoints of the model support them".into()
            }
            Reason::ResponseFormat => {
                "the request has response_format and other endpoints of the model support it".into()
            }
            Reason::FallbacksDisabled { has_order: true } => {
                "provider.allow_fallbacks is false and provider.order does not name it".into()
            }
            Reason::FallbacksDisabled { has_order: false } => {
                "provider.allow_fallbacks is false and it was not the first choice".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    const CATALOG: &str = r#"
models:
  - id: m
    endpoints:
      - { provider: alpha, provider_name: Alpha Cloud, pricing: { prompt: 1, completion: 2 }, quantization: fp8, context_length: 1000, max_completion_tokens: 500, supported_parameters: [tools, temperature, max_tokens], data_collection: deny, zdr: true }
      - { provider: alpha, tag: alpha/fast, pricing: { prompt: 3, completion: 4, request: 0.5 }, quantization: mxfp4, supported_parameters: [temperature] }
      - { provider: beta, pricing: { prompt: 0.5, completion: 0.5 }, distillable: false }
"#;

    fn reasons(request: &str) -> (Vec<Option<&'static str>>, Vec<String>) {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let request = Request::parse(request).unwrap();
        let mut warnings = Vec::new();
        let options = crate::resolve::Options::default();
        let resolved = Resolved::new(&request, &options);
        let verdicts = filter_model(&catalog.models[0], &request, &resolved, &mut warnings);
        (
            verdicts
                .iter()
                .map(|v| v.as_ref().map(Reason::code))
                .collect(),
            warnings,
        )
    }

    #[test]
    fn only_admits_named_providers_and_endpoints() {
        let (r, _) = reasons(r#"{"model":"m","provider":{"only":["alpha/fast","beta"]}}"#);
        assert_eq!(r, [Some("not_in_only"), None, None]);
        let (r, _) = reasons(r#"{"model":"m","provider":{"only":["Alpha Cloud"]}}"#);
        assert_eq!(
            r,
            [None, None, Some("not_in_only")],
            "a display name admits its provider"
        );
    }

    #[test]
    fn only_matching_nothing_excludes_everything() {
        let (r, _) = reasons(r#"{"model":"m","provider":{"only":["gamma"]}}"#);
        assert_eq!(r, [Some("not_in_only"); 3]);
    }

    #[test]
    fn ignore_by_provider_slug_removes_all_its_endpoints() {
        let (r, _) = reasons(r#"{"model":"m","provider":{"ignore":["ALPHA"]}}"#);
        assert_eq!(r, [Some("ignored"), Some("ignored"), None]);
    }

    #[test]
    fn quantization_family_fp4_admits_mxfp4_and_missing_is_unknown() {
        let (r, _) = reasons(r#"{"model":"m","provider":{"quantizations":["fp4"]}}"#);
        assert_eq!(r, [Some("quantization"), None, Some("quantization")]);
        let (r, _) = reasons(r#"{"model":"m","provider":{"quantizations":["unknown"]}}"#);
        assert_eq!(r, [Some("quantization"), Some("quantization"), None]);
    }

    #[test]
    fn data_policy_filters_apply_in_order() {
        let (r, _) = reasons(r#"{"model":"m","provider":{"data_collection":"deny"}}"#);
        assert_eq!(r, [None, Some("data_collection"), Some("data_collection")]);
        let (r, _) = reasons(r#"{"model":"m","provider":{"zdr":true}}"#);
        assert_eq!(r, [None, Some("zdr"), Some("zdr")]);
        let (r, _) = reasons(r#"{"model":"m","provider":{"enforce_distillable_text":true}}"#);
        assert_eq!(r, [None, None, Some("distillable")]);
    }

    #[test]
    fn max_price_checks_each_given_ceiling_and_equal_passes() {
        let (r, _) = reasons(r#"{"model":"m","provider":{"max_price":{"completion":2}}}"#);
        assert_eq!(r, [None, Some("max_price"), None]);
        let (r, _) = reasons(r#"{"model":"m","provider":{"max_price":{"request":"0.1"}}}"#);
        assert_eq!(
            r,
            [None, Some("max_price"), None],
            "a missing request price counts as 0"
        );
    }

    #[test]
    fn max_tokens_and_context_length_use_the_limits_when_known() {
        let (r, _) = reasons(r#"{"model":"m","max_tokens":600}"#);
        assert_eq!(
            r,
            [Some("max_tokens"), None, None],
            "no limit means unlimited"
        );
        let (r, _) =
            reasons(r#"{"model":"m","max_tokens":400,"usage_estimate":{"prompt_tokens":700}}"#);
        assert_eq!(r, [Some("context_length"), None, None]);
    }

    #[test]
    fn without_a_prompt_estimate_the_context_window_is_not_checked() {
        let (r, _) =
            reasons(r#"{"model":"m","max_tokens":400,"usage_estimate":{"completion_tokens":700}}"#);
        assert_eq!(r, [None, None, None]);
    }

    #[test]
    fn unknown_support_is_excluded_under_require_parameters_even_without_parameters() {
        let (r, _) = reasons(r#"{"model":"m","provider":{"require_parameters":true}}"#);
        assert_eq!(r, [None, None, Some("require_parameters")]);
    }

    #[test]
    fn require_parameters_excludes_missing_and_unknown_support() {
        let (r, _) = reasons(
            r#"{"model":"m","temperature":1,"tools":[],"provider":{"require_parameters":true}}"#,
        );
        assert_eq!(
            r,
            [None, Some("require_parameters"), Some("require_parameters")]
        );
    }

    #[test]
    fn tools_is_a_soft_preference_unless_nobody_supports_it() {
        let (r, w) = reasons(r#"{"model":"m","tools":[{"type":"function"}]}"#);
        assert_eq!(
            r,
            [None, Some("tools"), None],
            "unknown support (beta) counts as support"
        );
        assert!(w.is_empty());
        let (r, w) = reasons(
            r#"{"model":"m","response_format":{"type":"json_object"},"provider":{"only":["alpha"]}}"#,
        );
        assert_eq!(
            r,
            [None, None, Some("not_in_only")],
            "nobody supports it: all stay"
        );
        assert!(
            w[0].contains("response_format"),
            "and the plan warns: {w:?}"
        );
    }

    #[test]
    fn each_endpoint_gets_its_first_failing_reason() {
        let (r, _) = reasons(
            r#"{"model":"m","provider":{"ignore":["beta"],"zdr":true,"quantizations":["fp8"]}}"#,
        );
        assert_eq!(r, [None, Some("quantization"), Some("ignored")]);
    }

    #[test]
    fn unmatched_slugs_warn_with_a_suggestion() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let request =
            Request::parse(r#"{"model":"m","provider":{"order":["alpha/fsat"],"ignore":["bta"]}}"#)
                .unwrap();
        let mut warnings = Vec::new();
        slug_warnings(&catalog.models[0], &request, &mut warnings);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("did you mean \"alpha/fast\""),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("provider.ignore[0]") && warnings[1].contains("\"beta\""),
            "{warnings:?}"
        );
    }

    /// SPEC 2: endpoints whose `context_length` is *smaller* than prompt plus `max_tokens` go;
    /// one exactly that large stays. alpha's window is 1000 tokens.
    #[test]
    fn a_context_window_exactly_the_size_needed_is_enough() {
        let at = |prompt: u64| {
            let body = format!(
                r#"{{"model":"m","max_tokens":400,"usage_estimate":{{"prompt_tokens":{prompt}}}}}"#
            );
            reasons(&body).0[0]
        };
        assert_eq!(at(600), None, "600 + 400 = 1000 fits a 1000-token window");
        assert_eq!(at(601), Some("context_length"), "1001 does not");
    }

    /// The sentence each exclusion carries names the facts: the limits, the prices, the
    /// parameters missing, or that support is unknown.
    #[test]
    fn each_reason_says_what_excluded_the_endpoint() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let detail = |request: &str, endpoint: usize| {
            let request = Request::parse(request).unwrap();
            let options = crate::resolve::Options::default();
            let resolved = Resolved::new(&request, &options);
            let verdicts = filter_model(&catalog.models[0], &request, &resolved, &mut Vec::new());
            verdicts[endpoint].as_ref().map(Reason::detail)
        };
        let require = r#"{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"provider":{"require_parameters":true}}"#;
        assert_eq!(
            detail(require, 1).as_deref(),
            Some("provider.require_parameters is true and this endpoint does not support tools")
        );
        assert_eq!(
            detail(require, 2).as_deref(),
            Some(
                "provider.require_parameters is true and this endpoint's supported parameters are unknown"
            )
        );
        assert_eq!(
            detail(r#"{"model":"m","max_tokens":600}"#, 0).as_deref(),
            Some("max_completion_tokens 500 is below the requested max_tokens 600")
        );
        assert_eq!(
            detail(
                r#"{"model":"m","provider":{"max_price":{"request":0.1}}}"#,
                1
            )
            .as_deref(),
            Some("request price 0.5 is above provider.max_price.request 0.1")
        );
        assert_eq!(detail(r#"{"model":"m"}"#, 0), None);
    }

    /// SPEC 2: `max_tokens` above an endpoint's `max_completion_tokens` excludes it; exactly
    /// the limit is allowed. alpha's limit is 500 tokens.
    #[test]
    fn max_tokens_exactly_the_completion_limit_is_allowed() {
        let at = |max_tokens: u64| {
            reasons(&format!(r#"{{"model":"m","max_tokens":{max_tokens}}}"#)).0[0]
        };
        assert_eq!(at(500), None);
        assert_eq!(at(501), Some("max_tokens"));
    }

    /// Past MAX_SLUG_WARNINGS unmatched entries of one list, one line counts the rest.
    #[test]
    fn unmatched_slug_warnings_stop_at_the_limit_and_count_the_rest() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let warn = |n: usize| {
            let order: Vec<String> = (0..n).map(|i| format!("\"nobody{i}\"")).collect();
            let body = format!(
                r#"{{"model":"m","provider":{{"order":[{}]}}}}"#,
                order.join(",")
            );
            let request = Request::parse(&body).unwrap();
            let mut warnings = Vec::new();
            slug_warnings(&catalog.models[0], &request, &mut warnings);
            warnings
        };
        let at_limit = warn(MAX_SLUG_WARNINGS);
        assert_eq!(at_limit.len(), MAX_SLUG_WARNINGS, "{at_limit:?}");
        assert!(
            at_limit
                .iter()
                .all(|w| w.contains("matches no endpoint of m"))
        );
        let past = warn(MAX_SLUG_WARNINGS + 1);
        assert_eq!(past.len(), MAX_SLUG_WARNINGS + 1, "{past:?}");
        assert_eq!(
            past[MAX_SLUG_WARNINGS],
            "provider.order: 1 more entries match no endpoint of m"
        );
        assert!(past[MAX_SLUG_WARNINGS - 1].contains("provider.order[9]"));
    }
}
