//! The plan: attempts in order, every exclusion with its reason, warnings, and first-attempt
//! probabilities; serializes to the CLI's JSON contract (SPEC sections 5 and 6).

use crate::catalog::{Quantization, Tier};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use std::fmt;

/// An ordered fallback list for one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// How the attempts were ordered.
    pub strategy: Strategy,
    /// The endpoint tried first, then the next if that one fails, and so on.
    pub attempts: Vec<Attempt>,
    /// Every endpoint of the requested models that is not attempted, with why, in catalog order.
    pub excluded: Vec<Exclusion>,
    /// Things the user should know: unmatched slugs, ignored parameters, repeated models.
    pub warnings: Vec<String>,
}

/// How a plan was ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Price load balancing with uptime bands (the default).
    LoadBalance,
    /// `sort: "price"` or `:floor`.
    SortPrice,
    /// `sort: "throughput"` or `:nitro`.
    SortThroughput,
    /// `sort: "latency"`.
    SortLatency,
    /// `sort: "exacto"` or `:exacto`.
    SortExacto,
    /// `order` matched at least one eligible endpoint.
    Order,
}

impl Strategy {
    /// The snake_case name printed in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LoadBalance => "load_balance",
            Strategy::SortPrice => "sort_price",
            Strategy::SortThroughput => "sort_throughput",
            Strategy::SortLatency => "sort_latency",
            Strategy::SortExacto => "sort_exacto",
            Strategy::Order => "order",
        }
    }
}

/// One attempt of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// Model id.
    pub model: String,
    /// Endpoint slug.
    pub endpoint: String,
    /// Provider slug.
    pub provider: String,
    /// The price used for ordering: prompt + completion per million tokens, or the expected
    /// request cost in USD when the request carries `usage_estimate`.
    pub price: f64,
    /// Exact probability that this endpoint is the first attempt under this request.
    pub first_probability: f64,
    /// True for an attempt on the account's own key (BYOK), tried before shared capacity.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub byok: bool,
}

/// An endpoint left out of the plan, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    /// Model id.
    pub model: String,
    /// Endpoint slug.
    pub endpoint: String,
    /// The first filter it failed, with the facts.
    pub reason: Reason,
}

impl Serialize for Exclusion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Exclusion", 4)?;
        s.serialize_field("model", &self.model)?;
        s.serialize_field("endpoint", &self.endpoint)?;
        s.serialize_field("reason", self.reason.code())?;
        s.serialize_field("detail", &self.reason.detail())?;
        s.end()
    }
}

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
        limit: f64,
        /// The endpoint's price.
        price: f64,
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

impl fmt::Display for Plan {
    /// The readable table printed by `routesim route` without `--json`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "strategy: {}", self.strategy.as_str())?;
        let multi_model = self
            .attempts
            .iter()
            .any(|a| a.model != self.attempts[0].model);
        let name = |a: &Attempt| {
            let own_key = if a.byok { " (byok)" } else { "" };
            if multi_model {
                format!("{}  {}{own_key}", a.model, a.endpoint)
            } else {
                format!("{}{own_key}", a.endpoint)
            }
        };
        let width = self
            .attempts
            .iter()
            .map(|a| name(a).len())
            .max()
            .unwrap_or(0)
            .max("endpoint".len());
        writeln!(
            f,
            "\n  {:>2}  {:<width$}  {:>12}  {:>8}",
            "#", "endpoint", "price", "P(first)"
        )?;
        for (i, a) in self.attempts.iter().enumerate() {
            writeln!(
                f,
                "  {:>2}  {:<width$}  {:>12}  {:>7.2}%",
                i + 1,
                name(a),
                format_price(a.price),
                a.first_probability * 100.0
            )?;
        }
        if !self.excluded.is_empty() {
            writeln!(f, "\nexcluded:")?;
            write_exclusions(f, &self.excluded)?;
        }
        if !self.warnings.is_empty() {
            writeln!(f, "\nwarnings:")?;
            for w in &self.warnings {
                writeln!(f, "  - {w}")?;
            }
        }
        Ok(())
    }
}

/// Writes exclusions as an aligned list: endpoint (with its model when several models appear),
/// reason code, detail.
pub fn write_exclusions(f: &mut impl fmt::Write, excluded: &[Exclusion]) -> fmt::Result {
    let multi_model = excluded.iter().any(|e| e.model != excluded[0].model);
    let name = |e: &Exclusion| {
        if multi_model {
            format!("{}  {}", e.model, e.endpoint)
        } else {
            e.endpoint.clone()
        }
    };
    let width = excluded.iter().map(|e| name(e).len()).max().unwrap_or(0);
    for e in excluded {
        writeln!(
            f,
            "  {:<width$}  {:<18}  {}",
            name(e),
            e.reason.code(),
            e.reason.detail()
        )?;
    }
    Ok(())
}

fn format_price(price: f64) -> String {
    if price >= 0.01 || price == 0.0 {
        format!("${price:.2}")
    } else {
        format!("${price:.6}")
    }
}
