//! The request body and its `provider` object, parsed into validated preferences.
//!
//! Reads only what routing needs (SPEC section 2); the rest of a chat-completions body
//! (`messages`, `stream`, ...) is skipped. Both snake_case and the TypeScript SDK's camelCase
//! names are accepted in `provider`, and a field set to `null` is the same as a field left out.

use crate::catalog::{DataCollection, PARAMETERS, Parameters, Percentiles, Pricing, Quantization};
use crate::error::Error;
use crate::money::{self, MAX_USAGE_TOKENS, Money};
use crate::parse;
use crate::yaml::{Text, texts};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;
use std::path::Path;

/// A validated request: the models to try and the routing preferences.
///
/// ```
/// let req = routesim::Request::parse(r#"{"model": "a/m:nitro", "temperature": 0.2,
///     "provider": {"allowFallbacks": false}}"#).unwrap();
/// assert_eq!(req.models[0].id, "a/m");
/// assert_eq!(req.sort().map(|s| s.by), Some(routesim::SortBy::Throughput));
/// assert!(!req.provider.allow_fallbacks);
/// assert!(req.parameters.contains_name("temperature"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    /// `model` first, then each entry of `models`, in order (duplicates kept; routing warns).
    pub models: Vec<ModelRef>,
    /// Vocabulary parameters present (non-null) in the body.
    pub parameters: Parameters,
    /// `max_tokens`, or `max_completion_tokens` when only that is given.
    pub max_tokens: Option<u64>,
    /// routesim's `usage_estimate` extension.
    pub usage: Option<UsageEstimate>,
    /// `service_tier`: admits priority or flex endpoints (SPEC section 7).
    pub service_tier: Option<ServiceTier>,
    /// The `provider` preferences.
    pub provider: Preferences,
}

/// A model named by the request.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRef {
    /// The catalog id, without a routing variant suffix.
    pub id: String,
    /// `:nitro`, `:floor` or `:exacto`, if the id carried one.
    pub variant: Option<SortBy>,
    /// Where the request named it: `model` or `models[i]`.
    pub field: String,
}

/// The request's `service_tier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceTier {
    /// The provider's choice: admits nothing.
    Auto,
    /// The default tier: admits nothing and switches off `:nitro` / `:floor` tier admission.
    Default,
    /// Same as `priority`.
    Fast,
    /// Only flex endpoints, by price, when the model has any.
    Flex,
    /// Priority endpoints join and go first; each group by throughput.
    Priority,
    /// Admits nothing.
    Scale,
}

/// Token estimates for cost and context predictions (a routesim extension).
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UsageEstimate {
    /// Expected prompt tokens; without it the context window is not checked.
    pub prompt_tokens: Option<u64>,
    /// Expected completion tokens.
    pub completion_tokens: Option<u64>,
}

impl UsageEstimate {
    /// Both counts given.
    pub const fn new(prompt_tokens: u64, completion_tokens: u64) -> UsageEstimate {
        UsageEstimate {
            prompt_tokens: Some(prompt_tokens),
            completion_tokens: Some(completion_tokens),
        }
    }

    /// The exact cost in USD of one request at these prices ([`Pricing::cost`]); a count left
    /// out counts as 0 tokens. Held at [`Money::MAX`] in the (unreachable for parsed requests
    /// and catalogs) case that the cost does not fit.
    ///
    /// ```
    /// let catalog = routesim::Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1.1, completion: 4.1 } }\n").unwrap();
    /// let usage = routesim::UsageEstimate::new(1000, 500);
    /// assert_eq!(usage.cost(&catalog.models[0].endpoints[0].pricing).to_string(), "0.00315");
    /// ```
    pub fn cost(&self, pricing: &Pricing) -> Money {
        pricing
            .cost(
                self.prompt_tokens.unwrap_or(0),
                self.completion_tokens.unwrap_or(0),
            )
            .unwrap_or(Money::MAX)
    }
}

/// The `provider` preferences object (SPEC section 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Preferences {
    /// Slugs to try first, in this order.
    pub order: Option<Vec<String>>,
    /// False: only endpoints named by `order` (or only the first choice without `order`).
    pub allow_fallbacks: bool,
    /// Only endpoints that support every parameter in the request.
    pub require_parameters: bool,
    /// `Deny` skips endpoints whose data policy is `allow`.
    pub data_collection: DataCollection,
    /// Only zero-data-retention endpoints.
    pub zdr: bool,
    /// Only distillable endpoints.
    pub enforce_distillable_text: bool,
    /// Allow only these slugs.
    pub only: Option<Vec<String>>,
    /// Skip these slugs.
    pub ignore: Vec<String>,
    /// Allow only these quantizations.
    pub quantizations: Option<Vec<Quantization>>,
    /// Strict ordering.
    pub sort: Option<Sort>,
    /// Price ceilings.
    pub max_price: MaxPrice,
    /// Endpoints below it go after those that meet it (tokens per second).
    pub preferred_min_throughput: Option<Percentiles>,
    /// Endpoints above it go after those that meet it (seconds).
    pub preferred_max_latency: Option<Percentiles>,
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            order: None,
            allow_fallbacks: true,
            require_parameters: false,
            data_collection: DataCollection::Allow,
            zdr: false,
            enforce_distillable_text: false,
            only: None,
            ignore: Vec::new(),
            quantizations: None,
            sort: None,
            max_price: MaxPrice::default(),
            preferred_min_throughput: None,
            preferred_max_latency: None,
        }
    }
}

/// What to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Lowest price first.
    Price,
    /// Highest p50 throughput first.
    Throughput,
    /// Lowest p50 latency first.
    Latency,
    /// Highest `quality` first (SPEC section 7).
    Exacto,
}

/// Whether a sort keeps models apart (`Model`, the default) or sorts all endpoints together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Partition {
    /// The primary model's endpoints first, then each fallback model's.
    #[default]
    Model,
    /// The endpoints of all models sorted together.
    None,
}

/// A strict sort: key and partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The key.
    pub by: SortBy,
    /// Whether models stay apart.
    pub partition: Partition,
}

/// `max_price` ceilings; `None` means no ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MaxPrice {
    /// USD per million prompt tokens.
    pub prompt: Option<Money>,
    /// USD per million completion tokens.
    pub completion: Option<Money>,
    /// USD per request.
    pub request: Option<Money>,
    /// USD per image.
    pub image: Option<Money>,
    /// USD per audio unit (no catalog field carries an audio price, so it never excludes).
    pub audio: Option<Money>,
}

/// The largest request text [`Request::parse`] accepts: 16 MiB.
///
/// A chat-completions body may carry long conversations and base64 images that routing never
/// reads; 16 MiB admits those while bounding the memory a hostile file can take.
pub const MAX_REQUEST_BYTES: usize = 16 << 20;

impl Request {
    /// Parses a request body (JSON or YAML).
    ///
    /// JSON is read by serde_json, anything else by serde_yaml, as [`Catalog::parse`](crate::Catalog::parse)
    /// describes. Text over [`MAX_REQUEST_BYTES`], nesting past
    /// [`MAX_FLOW_DEPTH`](crate::MAX_FLOW_DEPTH), or YAML whose aliases expand past
    /// [`ALIAS_EXPANSION_BUDGET`](crate::ALIAS_EXPANSION_BUDGET) nodes, is refused before
    /// it is parsed. Errors name no file; [`Request::from_path`] and [`Request::from_reader`]
    /// name theirs.
    pub fn parse(text: &str) -> Result<Request, Error> {
        let raw: RawRequest = parse::from_str(text, MAX_REQUEST_BYTES, "request")?;
        let mut models = Vec::new();
        if let Some(id) = raw.model {
            models.push(model_ref(&id, "model".to_string()));
        }
        for (i, id) in raw.models.into_iter().flatten().enumerate() {
            models.push(model_ref(&id, format!("models[{i}]")));
        }
        if models.is_empty() {
            return Err(Error::input(
                Some("model".into()),
                "missing field `model` (a model id, or a `models` list)",
                None,
            ));
        }
        let p = raw.provider.unwrap_or_default();
        Ok(Request {
            models,
            parameters: raw.parameters,
            max_tokens: raw.max_tokens.or(raw.max_completion_tokens),
            usage: raw.usage_estimate,
            service_tier: raw.service_tier,
            provider: Preferences {
                order: p.order.map(texts),
                allow_fallbacks: p.allow_fallbacks.unwrap_or(true),
                require_parameters: p.require_parameters.unwrap_or(false),
                data_collection: p.data_collection.unwrap_or_default(),
                zdr: p.zdr.unwrap_or(false),
                enforce_distillable_text: p.enforce_distillable_text.unwrap_or(false),
                only: p.only.map(texts),
                ignore: p.ignore.map(texts).unwrap_or_default(),
                quantizations: p.quantizations,
                sort: p.sort.and_then(|s| s.0),
                max_price: p
                    .max_price
                    .map(RawMaxPrice::into_max_price)
                    .unwrap_or_default(),
                preferred_min_throughput: p.preferred_min_throughput,
                preferred_max_latency: p.preferred_max_latency,
            },
        })
    }

    /// Reads and parses the request body in the file at `path`, refusing a file over
    /// [`MAX_REQUEST_BYTES`] without reading it whole. Every error names the file as `path`
    /// displays.
    ///
    /// ```
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/requests/default.json");
    /// let request = routesim::Request::from_path(path.as_ref()).unwrap();
    /// assert_eq!(request.models[0].id, "deepseek/deepseek-r1");
    /// ```
    pub fn from_path(path: &Path) -> Result<Request, Error> {
        parse::from_path(path, MAX_REQUEST_BYTES, Request::parse)
    }

    /// Reads a request body from `reader` to its end and parses it, as
    /// [`Request::from_path`] does a file; every error names the source `name`.
    ///
    /// ```
    /// let body = br#"{"model": "a/m", "provider": {"sort": "cheapest"}}"#;
    /// let err = routesim::Request::from_reader(&body[..], "<stdin>").unwrap_err();
    /// assert_eq!(err.field(), Some("provider.sort"));
    /// assert!(err.to_string().starts_with("<stdin>: provider.sort: unknown variant `cheapest`"));
    /// ```
    pub fn from_reader(reader: impl Read, name: &str) -> Result<Request, Error> {
        parse::from_reader(reader, name, MAX_REQUEST_BYTES, Request::parse)
    }

    /// The sort in force: `provider.sort` if set, else the primary model's variant
    /// (`:nitro` throughput, `:floor` price, `:exacto` exacto), partitioned by model.
    pub fn sort(&self) -> Option<Sort> {
        self.provider.sort.or_else(|| {
            self.models.first().and_then(|m| m.variant).map(|by| Sort {
                by,
                partition: Partition::Model,
            })
        })
    }
}

/// Splits a routing variant off a model id; other suffixes (`:free`, ...) stay in the id.
fn model_ref(written: &str, field: String) -> ModelRef {
    let variant = written.rsplit_once(':').and_then(|(id, suffix)| {
        let by = match suffix {
            "nitro" => SortBy::Throughput,
            "floor" => SortBy::Price,
            "exacto" => SortBy::Exacto,
            _ => return None,
        };
        Some((id, by))
    });
    match variant {
        Some((id, by)) => ModelRef {
            id: id.to_string(),
            variant: Some(by),
            field,
        },
        None => ModelRef {
            id: written.to_string(),
            variant: None,
            field,
        },
    }
}

/// The top level of a request body: known fields typed, vocabulary parameters recorded by
/// presence, everything else skipped.
#[derive(Default)]
struct RawRequest {
    model: Option<String>,
    models: Option<Vec<String>>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    usage_estimate: Option<UsageEstimate>,
    service_tier: Option<ServiceTier>,
    provider: Option<RawProvider>,
    parameters: Parameters,
}

impl<'de> Deserialize<'de> for RawRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequestVisitor;
        impl<'de> Visitor<'de> for RequestVisitor {
            type Value = RawRequest;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a chat-completions request body (a JSON object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRequest, A::Error> {
                let mut raw = RawRequest::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "model" => raw.model = map.next_value::<Option<Text>>()?.map(|t| t.0),
                        "models" => raw.models = map.next_value::<Option<Vec<Text>>>()?.map(texts),
                        "max_tokens" => raw.max_tokens = map.next_value()?,
                        "max_completion_tokens" => raw.max_completion_tokens = map.next_value()?,
                        "usage_estimate" => {
                            raw.usage_estimate =
                                map.next_value::<Option<RawUsage>>()?
                                    .map(|u| UsageEstimate {
                                        prompt_tokens: u.prompt_tokens.map(|t| t.0),
                                        completion_tokens: u.completion_tokens.map(|t| t.0),
                                    })
                        }
                        "service_tier" => raw.service_tier = map.next_value()?,
                        "provider" => raw.provider = map.next_value()?,
                        _ => {
                            let value: Option<de::IgnoredAny> = map.next_value()?;
                            if value.is_none() {
                                continue;
                            }
                        }
                    }
                    if PARAMETERS.contains(&key.as_str()) {
                        let present = match key.as_str() {
                            "max_tokens" => raw.max_tokens.is_some(),
                            "max_completion_tokens" => raw.max_completion_tokens.is_some(),
                            _ => true,
                        };
                        if present {
                            raw.parameters.insert(&key);
                        }
                    }
                }
                Ok(raw)
            }
        }
        deserializer.deserialize_map(RequestVisitor)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct RawProvider {
    order: Option<Vec<Text>>,
    #[serde(alias = "allowFallbacks")]
    allow_fallbacks: Option<bool>,
    #[serde(alias = "requireParameters")]
    require_parameters: Option<bool>,
    #[serde(alias = "dataCollection")]
    data_collection: Option<DataCollection>,
    zdr: Option<bool>,
    #[serde(alias = "enforceDistillableText")]
    enforce_distillable_text: Option<bool>,
    only: Option<Vec<Text>>,
    ignore: Option<Vec<Text>>,
    quantizations: Option<Vec<Quantization>>,
    sort: Option<RawSort>,
    #[serde(alias = "maxPrice")]
    max_price: Option<RawMaxPrice>,
    #[serde(alias = "preferredMinThroughput")]
    preferred_min_throughput: Option<Percentiles>,
    #[serde(alias = "preferredMaxLatency")]
    preferred_max_latency: Option<Percentiles>,
}

parse::map_only!(RawProvider, "the provider preferences: a map");

/// `usage_estimate`, read as a map only (see [`parse::map_only`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct RawUsage {
    prompt_tokens: Option<Tokens>,
    completion_tokens: Option<Tokens>,
}

parse::map_only!(RawUsage, "struct UsageEstimate");

/// `sort`: a key name, or `{by, partition}` (a null `by` means no sort).
struct RawSort(Option<Sort>);

impl<'de> Deserialize<'de> for RawSort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SortVisitor;
        impl<'de> Visitor<'de> for SortVisitor {
            type Value = RawSort;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "one of \"price\", \"throughput\", \"latency\", \"exacto\", or {by, partition}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSort, E> {
                let by = SortBy::deserialize(v.into_deserializer())?;
                Ok(RawSort(Some(Sort {
                    by,
                    partition: Partition::Model,
                })))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSort, A::Error> {
                let mut by = None;
                let mut partition = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "by" => by = map.next_value::<Option<SortBy>>()?,
                        "partition" => partition = map.next_value::<Option<Partition>>()?,
                        other => {
                            return Err(de::Error::unknown_field(other, &["by", "partition"]));
                        }
                    }
                }
                Ok(RawSort(by.map(|by| Sort {
                    by,
                    partition: partition.unwrap_or_default(),
                })))
            }
        }
        deserializer.deserialize_any(SortVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct RawMaxPrice {
    prompt: Option<Ceiling>,
    completion: Option<Ceiling>,
    request: Option<Ceiling>,
    image: Option<Ceiling>,
    audio: Option<Ceiling>,
}

parse::map_only!(
    RawMaxPrice,
    "a map of price ceilings (`prompt`, `completion`, `request`, `image`, `audio`)"
);

impl RawMaxPrice {
    fn into_max_price(self) -> MaxPrice {
        MaxPrice {
            prompt: self.prompt.map(|c| c.0),
            completion: self.completion.map(|c| c.0),
            request: self.request.map(|c| c.0),
            image: self.image.map(|c| c.0),
            audio: self.audio.map(|c| c.0),
        }
    }
}

/// A price ceiling: a non-negative number or decimal string, read as the decimal it spells
/// and compared exactly (at most 24 decimal places).
struct Ceiling(Money);

impl<'de> Deserialize<'de> for Ceiling {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        money::deserialize_literal(
            deserializer,
            "a non-negative number or decimal string",
            |text, shown| Money::parse_scaled(text, 0, 24, shown),
        )
        .map(Ceiling)
    }
}

/// A token count of `usage_estimate`, at most [`MAX_USAGE_TOKENS`] so that costs stay exact.
struct Tokens(u64);

impl<'de> Deserialize<'de> for Tokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TokensVisitor;
        impl Visitor<'_> for TokensVisitor {
            type Value = Tokens;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a token count from 0 to {MAX_USAGE_TOKENS}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tokens, E> {
                if v <= MAX_USAGE_TOKENS {
                    Ok(Tokens(v))
                } else {
                    Err(E::custom(format_args!(
                        "expected a token count of at most {MAX_USAGE_TOKENS}, found {v}"
                    )))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tokens, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
        }
        deserializer.deserialize_u64(TokensVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_and_snake_case_names_mean_the_same() {
        let a = Request::parse(r#"{"model":"m","provider":{"allowFallbacks":false,"maxPrice":{"prompt":"1.5"},"preferredMaxLatency":2}}"#).unwrap();
        let b = Request::parse(r#"{"model":"m","provider":{"allow_fallbacks":false,"max_price":{"prompt":1.5},"preferred_max_latency":{"p50":2}}}"#).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn explicit_nulls_mean_left_out() {
        let a = Request::parse(
            r#"{"model":"m","temperature":null,"provider":{"order":null,"sort":null,"zdr":null}}"#,
        )
        .unwrap();
        assert_eq!(a.provider, Preferences::default());
        assert!(a.parameters.is_empty(), "a null parameter is not present");
    }

    #[test]
    fn unknown_sort_key_names_the_field_and_the_choices() {
        let err = Request::parse(r#"{"model":"m","provider":{"sort":"cheapest"}}"#).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("provider.sort"), "{}", message);
        assert!(message.contains("throughput"), "{}", message);
    }

    #[test]
    fn unknown_provider_field_is_an_error_naming_it() {
        let err = Request::parse("{\"model\":\"m\",\n\"provider\":{\"odrer\":[]}}").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("odrer"), "{}", message);
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn variants_set_the_sort_but_an_explicit_sort_wins() {
        let r = Request::parse(r#"{"model":"m:floor"}"#).unwrap();
        assert_eq!(r.sort().map(|s| s.by), Some(SortBy::Price));
        let r = Request::parse(r#"{"model":"m:nitro","provider":{"sort":"latency"}}"#).unwrap();
        assert_eq!(r.sort().map(|s| s.by), Some(SortBy::Latency));
        let r = Request::parse(r#"{"model":"m:free"}"#).unwrap();
        assert_eq!(r.models[0].id, "m:free");
        assert_eq!(r.sort(), None);
    }

    #[test]
    fn sort_object_form_reads_partition() {
        let r = Request::parse(
            r#"{"model":"m","provider":{"sort":{"by":"price","partition":"none"}}}"#,
        )
        .unwrap();
        assert_eq!(
            r.provider.sort,
            Some(Sort {
                by: SortBy::Price,
                partition: Partition::None
            })
        );
    }

    #[test]
    fn max_completion_tokens_stands_in_for_max_tokens() {
        let r = Request::parse(r#"{"model":"m","max_completion_tokens":100}"#).unwrap();
        assert_eq!(r.max_tokens, Some(100));
        assert!(r.parameters.contains_name("max_tokens"));
    }
}
