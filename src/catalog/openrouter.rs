//! Raw serde mirror of OpenRouter's endpoint listing (`GET /api/v1/models/{author}/{slug}/endpoints`)
//! and its conversion to the native model: per-token price strings become USD per million,
//! uptime percent becomes a share, latency milliseconds become seconds. Unread keys are ignored;
//! the `routesim` object that `routesim serve` adds to its listings overrides the stand-ins.

use super::{
    Catalog, DataCollection, Endpoint, Model, NonNegative, Parameters, Percentiles, Pricing,
    Quantization, Tier,
};
use crate::money::{self, Money};
use crate::parse;
use serde::Deserialize;
use serde::de::Deserializer;

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
    /// What `routesim serve` adds to the listings it writes (see `serve::endpoints_listing`):
    /// the catalog's exact facts where the SDK-facing keys hold stand-ins or have no field.
    routesim: Option<Extension>,
}

/// The `routesim` object of a listing endpoint written by `routesim serve`; every key is
/// written, null where the catalog has no value.
#[derive(Deserialize)]
#[serde(remote = "Self")]
struct Extension {
    provider_name: Option<String>,
    context_length: Option<u64>,
    supported_parameters: Option<Vec<String>>,
    latency: Option<Percentiles>,
    throughput: Option<Percentiles>,
    data_collection: DataCollection,
    zdr: bool,
    distillable: bool,
    quality: Option<Share>,
    tier: Option<Tier>,
}

parse::map_only!(
    Extension,
    "the `routesim` object that routesim serve writes"
);

/// A share in `0..=1` (an endpoint's quality).
struct Share(f64);

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::checked_f64(deserializer, "a number between 0 and 1", |v| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("expected a number between 0 and 1, found {v}"))
            }
        })
        .map(Share)
    }
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

fn endpoint(mut raw: ListingEndpoint) -> Endpoint {
    let extension = raw.routesim.take();
    let provider = raw.tag.split('/').next().unwrap_or_default().to_string();
    // The listing has no tier field; tier endpoints carry a tier-suffixed tag.
    let tier = match raw.tag.rsplit_once('/').map(|(_, suffix)| suffix) {
        Some("priority") => Some(Tier::Priority),
        Some("flex") => Some(Tier::Flex),
        _ => None,
    };
    let mut endpoint = Endpoint {
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
    };
    if let Some(x) = extension {
        endpoint.provider_name = x.provider_name;
        endpoint.context_length = x.context_length;
        endpoint.supported_parameters = x
            .supported_parameters
            .map(|names| Parameters::from_names(names.iter().map(String::as_str)));
        endpoint.latency = x.latency;
        endpoint.throughput = x.throughput;
        endpoint.data_collection = x.data_collection;
        endpoint.zdr = x.zdr;
        endpoint.distillable = x.distillable;
        endpoint.quality = x.quality.map(|q| q.0);
        endpoint.tier = x.tier;
    }
    endpoint
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

/// A per-token price (decimal string or number) converted to USD per million tokens exactly,
/// by moving the decimal point in the text: `"0.000005500000000000001"` is 5.500000000000001.
/// At most 24 decimal places per token (18 per million).
struct PerMillion(Money);
/// A per-unit price (decimal string or number), kept as is (at most 24 decimal places).
struct PerUnit(Money);

impl<'de> Deserialize<'de> for PerMillion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        money::deserialize_literal(deserializer, EXPECTING, |text, shown| {
            Money::parse_scaled(text, 6, 18, shown)
        })
        .map(PerMillion)
    }
}

impl<'de> Deserialize<'de> for PerUnit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        money::deserialize_literal(deserializer, EXPECTING, |text, shown| {
            Money::parse_scaled(text, 0, 24, shown)
        })
        .map(PerUnit)
    }
}

const EXPECTING: &str = "a non-negative decimal string or number";

#[cfg(test)]
mod tests {
    use crate::Catalog;

    fn prices(pricing: &str) -> Result<Vec<String>, String> {
        let json = format!(
            r#"{{"data": {{"id": "x/m", "endpoints": [{{"tag": "a", "pricing": {pricing}}}]}}}}"#
        );
        let c = Catalog::parse(&json).map_err(|e| e.to_string())?;
        let p = c.models[0].endpoints[0].pricing;
        Ok([Some(p.prompt), Some(p.completion), p.request, p.image]
            .iter()
            .flatten()
            .map(|m| m.to_string())
            .collect())
    }

    #[test]
    fn per_token_strings_and_numbers_convert_to_exact_per_million_prices() {
        let got = prices(
            r#"{"prompt": "0.00000020", "completion": "0.000005500000000000001", "request": "0.0001", "image": 0.01}"#,
        );
        assert_eq!(got.unwrap(), ["0.2", "5.500000000000001", "0.0001", "0.01"]);
        let got = prices(r#"{"prompt": 2e-7, "completion": 0.000005500000000000001}"#);
        assert_eq!(
            got.unwrap(),
            ["0.2", "5.500000000000001"],
            "JSON numbers are read as the text they spell, not the nearest f64"
        );
    }

    #[test]
    fn bad_prices_name_the_field() {
        let e = prices(r#"{"prompt": "abc", "completion": "0"}"#).unwrap_err();
        assert!(e.contains("pricing.prompt") && e.contains("\"abc\""), "{e}");
        let e = prices(r#"{"prompt": "0", "completion": -0.000001}"#).unwrap_err();
        assert!(
            e.contains("pricing.completion") && e.contains("non-negative"),
            "{e}"
        );
        let e = prices(r#"{"prompt": "0", "completion": [1]}"#).unwrap_err();
        assert!(
            e.contains("pricing.completion") && e.contains("sequence"),
            "{e}"
        );
        let e = prices(r#"{"prompt": "0.0000000000000000000000001", "completion": "0"}"#);
        assert!(e.unwrap_err().contains("decimal places"));
        let e = prices(r#"{"prompt": {"a": 1}, "completion": "0"}"#).unwrap_err();
        assert!(e.contains("invalid type: map"), "{e}");
    }

    /// Latency is listed in milliseconds and uptime in percent; routesim keeps seconds and
    /// fractions. A tag's `/priority` or `/flex` suffix is its tier.
    #[test]
    fn listing_units_and_tier_suffixes_convert() {
        let json = r#"{"data": {"id": "x/m", "endpoints": [
            {"tag": "a/flex", "pricing": {"prompt": "0", "completion": "0"},
             "latency_last_30m": {"p50": 450, "p75": 600, "p90": 900, "p99": 2000},
             "throughput_last_30m": {"p50": 80, "p99": 20}, "uptime_last_30m": 99.5},
            {"tag": "a/priority", "pricing": {"prompt": "0", "completion": "0"}, "uptime_last_30m": null},
            {"tag": "a", "pricing": {"prompt": "0", "completion": "0"}}]}}"#;
        let c = Catalog::parse(json).unwrap();
        let eps = &c.models[0].endpoints;
        let latency = eps[0].latency.unwrap();
        assert_eq!(
            [latency.p50, latency.p75, latency.p90, latency.p99],
            [Some(0.45), Some(0.6), Some(0.9), Some(2.0)]
        );
        let throughput = eps[0].throughput.unwrap();
        assert_eq!([throughput.p50, throughput.p99], [Some(80.0), Some(20.0)]);
        assert_eq!(eps[0].uptime, 0.995);
        assert_eq!(eps[1].uptime, 1.0, "null: too little data, treated as up");
        let tiers: Vec<_> = eps.iter().map(|e| e.tier).collect();
        assert_eq!(
            tiers,
            [Some(crate::Tier::Flex), Some(crate::Tier::Priority), None]
        );
    }
}
