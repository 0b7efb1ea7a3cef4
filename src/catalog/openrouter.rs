//! Raw serde mirror of OpenRouter's endpoint listing (`GET /api/v1/models/{author}/{slug}/endpoints`)
//! and its conversion to the native model: per-token price strings become USD per million,
//! uptime percent becomes a share, latency milliseconds become seconds. Unread keys are ignored.

use super::{
    Catalog, Endpoint, Model, NonNegative, Parameters, Percentiles, Pricing, Quantization, Tier,
};
use crate::parse;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

#[derive(Deserialize)]
#[serde(remote = "Self")]
pub(super) struct ListingModel {
    id: String,
    endpoints: Vec<ListingEndpoint>,
}

parse::map_only!(ListingModel, "a map with `id` and `endpoints`");

#[derive(Deserialize)]
#[serde(remote = "Self")]
struct ListingEndpoint {
    provider_name: Option<String>,
    tag: String,
    pricing: ListingPricing,
    quantization: Option<Quantization>,
    context_length: Option<u64>,
    max_completion_tokens: Option<u64>,
    supported_parameters: Option<Vec<String>>,
    uptime_last_30m: Option<Percent>,
    latency_last_30m: Option<Stats>,
    throughput_last_30m: Option<Stats>,
    status: Option<i64>,
}

parse::map_only!(
    ListingEndpoint,
    "an endpoint: a map with `tag` and `pricing`"
);

#[derive(Deserialize)]
#[serde(remote = "Self")]
struct ListingPricing {
    prompt: PerMillion,
    completion: PerMillion,
    request: Option<PerUnit>,
    image: Option<PerUnit>,
}

parse::map_only!(
    ListingPricing,
    "a map with `prompt` and `completion` prices"
);

/// Converts the `data` object of a listing: one model.
pub(super) fn convert(data: ListingModel) -> Catalog {
    let mut endpoints: Vec<Endpoint> = data.endpoints.into_iter().map(endpoint).collect();
    // A listing may repeat a tag (SPEC section 8); each endpoint still gets a key of its own.
    super::assign_keys(&mut endpoints);
    let model = Model {
        id: data.id,
        endpoints,
    };
    Catalog {
        models: vec![model],
    }
}

fn endpoint(raw: ListingEndpoint) -> Endpoint {
    let provider = raw.tag.split('/').next().unwrap_or_default().to_string();
    // The listing has no tier field; tier endpoints carry a tier-suffixed tag.
    let tier = match raw.tag.rsplit_once('/').map(|(_, suffix)| suffix) {
        Some("priority") => Some(Tier::Priority),
        Some("flex") => Some(Tier::Flex),
        _ => None,
    };
    Endpoint {
        provider,
        provider_name: raw.provider_name,
        key: String::new(),
        tag: raw.tag,
        pricing: Pricing {
            prompt: raw.pricing.prompt.0,
            completion: raw.pricing.completion.0,
            request: raw.pricing.request.map(|v| v.0),
            image: raw.pricing.image.map(|v| v.0),
        },
        throughput: raw.throughput_last_30m.map(Stats::percentiles),
        // Documented in milliseconds; routesim works in seconds.
        latency: raw
            .latency_last_30m
            .map(Stats::percentiles)
            .map(|p| Percentiles {
                p50: p.p50.map(|v| v / 1000.0),
                p75: p.p75.map(|v| v / 1000.0),
                p90: p.p90.map(|v| v / 1000.0),
                p99: p.p99.map(|v| v / 1000.0),
            }),
        // Null means too little data: treated as fully up.
        uptime: raw.uptime_last_30m.map_or(1.0, |p| p.0 / 100.0),
        quantization: raw.quantization.unwrap_or(Quantization::Unknown),
        context_length: raw.context_length,
        max_completion_tokens: raw.max_completion_tokens,
        supported_parameters: raw
            .supported_parameters
            .map(|names| Parameters::from_names(names.iter().map(String::as_str))),
        data_collection: Default::default(),
        zdr: false,
        distillable: true,
        quality: None,
        // The listing has no tier field; tier endpoints carry a tier-suffixed tag.
        tier,
        status: raw.status.unwrap_or(0),
    }
}

/// A `PercentileStats` object; unlike a native percentile map, keys it does not read (`p95`,
/// `count`, ...) are ignored, as everywhere in the listing.
#[derive(Deserialize)]
#[serde(remote = "Self")]
struct Stats {
    p50: Option<NonNegative>,
    p75: Option<NonNegative>,
    p90: Option<NonNegative>,
    p99: Option<NonNegative>,
}

parse::map_only!(Stats, "struct Stats");

impl Stats {
    fn percentiles(self) -> Percentiles {
        Percentiles {
            p50: self.p50.map(|v| v.0),
            p75: self.p75.map(|v| v.0),
            p90: self.p90.map(|v| v.0),
            p99: self.p99.map(|v| v.0),
        }
    }
}

/// A percentage in `0..=100`.
struct Percent(f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::checked_f64(deserializer, "a percentage between 0 and 100", |v| {
            if (0.0..=100.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!(
                    "expected a percentage between 0 and 100, found {v}"
                ))
            }
        })
        .map(Percent)
    }
}

/// A per-token price (decimal string or number) converted to USD per million tokens.
struct PerMillion(f64);
/// A per-unit price (decimal string or number), kept as is.
struct PerUnit(f64);

impl<'de> Deserialize<'de> for PerMillion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(PriceVisitor(6))
            .map(PerMillion)
    }
}

impl<'de> Deserialize<'de> for PerUnit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PriceVisitor(0)).map(PerUnit)
    }
}

/// Reads a price and scales it by `10^self.0`.
struct PriceVisitor(i32);

impl<'de> Visitor<'de> for PriceVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a non-negative decimal string or number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        let scaled = shift_decimal(v, self.0).ok_or_else(|| {
            E::custom(format_args!(
                "expected a non-negative decimal string, found {v:?}"
            ))
        })?;
        self.visit_f64(scaled).map(|_| scaled)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        let scaled = v * 10f64.powi(self.0);
        if scaled.is_finite() && scaled >= 0.0 {
            Ok(scaled)
        } else {
            Err(E::custom(format_args!(
                "expected a non-negative finite price, found {v}"
            )))
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
}

/// Parses a decimal string multiplied by `10^shift`, moving the decimal point in the text so
/// that "0.00000020" becomes exactly 0.2 rather than 0.19999999999999998.
pub(crate) fn shift_decimal(text: &str, shift: i32) -> Option<f64> {
    let t = text.trim();
    let value: f64 = t.parse().ok()?;
    if !value.is_finite() || shift == 0 || t.contains(['e', 'E']) {
        return Some(value * 10f64.powi(shift));
    }
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let shift = shift as usize;
    let mut frac_padded = frac.to_string();
    while frac_padded.len() < shift {
        frac_padded.push('0');
    }
    let (moved, rest) = frac_padded.split_at(shift);
    format!("{sign}{int}{moved}.{rest}0").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_token_strings_convert_to_exact_per_million_prices() {
        assert_eq!(shift_decimal("0.00000020", 6), Some(0.2));
        assert_eq!(shift_decimal("0.0000025", 6), Some(2.5));
        assert_eq!(shift_decimal("0", 6), Some(0.0));
        assert_eq!(shift_decimal("2e-7", 6), Some(2e-7 * 1e6));
        assert_eq!(shift_decimal("abc", 6), None);
    }
}
