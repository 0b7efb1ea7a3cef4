//! The plan: attempts in order, every exclusion with its reason, warnings, and first-attempt
//! probabilities; serializes to the CLI's JSON contract (SPEC sections 5 and 6).

use crate::filter::Reason;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

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
    /// Endpoint key ([`Endpoint::key`](crate::Endpoint::key)): its tag, or `TAG#2`, ... where a
    /// listing repeats the tag.
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
    /// The endpoint's listing `status` ([`Endpoint::status`](crate::Endpoint::status)); printed
    /// only when it is not 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub status: i64,
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
