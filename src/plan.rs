//! The plan: attempts in order, every exclusion with its reason, warnings, and first-attempt
//! probabilities; serializes to the CLI's JSON contract (SPEC sections 5 and 6).

use crate::filter::Reason;
use crate::money::Money;
use crate::request::Request;
use crate::simulate::DEFAULT_USAGE;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

/// An ordered fallback list for one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// How the attempts were ordered.
    pub strategy: Strategy,
    /// What the first attempt is expected to cost (SPEC section 8): the sum over the endpoints
    /// that can be first of first probability x [`Attempt::cost`] (under `allow_fallbacks:
    /// false` without `order` that includes those this draw left out). Exact when the first
    /// attempt is certain; otherwise rounded to 12 significant digits, as a mean is.
    pub expected_first_cost: Money,
    /// The token counts every attempt's `cost` is for.
    pub usage: PlanUsage,
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
    /// Endpoint key ([`Endpoint::key`](crate::Endpoint::key)): its tag, or `TAG#2`, ... where a
    /// listing repeats the tag.
    pub endpoint: String,
    /// Provider slug.
    pub provider: String,
    /// The exact price used for ordering: prompt + completion per million tokens, or the
    /// expected request cost in USD when the request carries `usage_estimate`.
    pub price: Money,
    /// What this attempt would cost in USD, exactly, for [`Plan::usage`]: the request's
    /// `usage_estimate`, else [`DEFAULT_USAGE`] (SPEC section 8).
    pub cost: Money,
    /// Exact probability that this endpoint is the first attempt under this request.
    pub first_probability: f64,
    /// True for an attempt on the account's own key (BYOK), tried before shared capacity.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub byok: bool,
    /// The endpoint's listing `status` ([`Endpoint::status`](crate::Endpoint::status)); printed
    /// only when it is not 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub status: i64,
}

/// The token counts behind a plan's costs.
///
/// ```
/// let request = routesim::Request::parse(r#"{"model": "m"}"#).unwrap();
/// let usage = routesim::PlanUsage::of(&request);
/// assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.assumed), (1000, 500, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanUsage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// True when the request has no `usage_estimate` and the counts are [`DEFAULT_USAGE`].
    pub assumed: bool,
}

impl PlanUsage {
    /// The request's `usage_estimate` (a count left out is 0), else [`DEFAULT_USAGE`], assumed.
    pub fn of(request: &Request) -> PlanUsage {
        let usage = request.usage.unwrap_or(DEFAULT_USAGE);
        PlanUsage {
            prompt_tokens: usage.prompt_tokens.unwrap_or(0),
            completion_tokens: usage.completion_tokens.unwrap_or(0),
            assumed: request.usage.is_none(),
        }
    }

    /// What a request of these counts costs at `pricing` ([`Pricing::cost`](crate::Pricing::cost)),
    /// held at [`Money::MAX`] if it does not fit.
    pub fn cost(&self, pricing: &crate::Pricing) -> Money {
        pricing
            .cost(self.prompt_tokens, self.completion_tokens)
            .unwrap_or(Money::MAX)
    }
}

fn is_zero(status: &i64) -> bool {
    *status == 0
}

/// An endpoint left out of the plan, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    /// Model id.
    pub model: String,
    /// Endpoint key, as in [`Attempt::endpoint`].
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
