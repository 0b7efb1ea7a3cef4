//! Raw serde mirror of routesim's native YAML catalog: shapes only, no logic beyond defaults.

use super::{Catalog, DataCollection, Endpoint, Fraction, Model, Parameters};
use super::{PerMillionText, PerUnitText};
use super::{Percentiles, Pricing, Quantization, Tier};
use crate::parse;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub(super) struct RawModel {
    id: String,
    endpoints: Vec<RawEndpoint>,
}

parse::map_only!(RawModel, "a model: a map with `id` and `endpoints`");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct RawEndpoint {
    provider: String,
    provider_name: Option<String>,
    tag: Option<String>,
    pricing: RawPricing,
    throughput: Option<Percentiles>,
    latency: Option<Percentiles>,
    uptime: Option<Fraction>,
    quantization: Option<Quantization>,
    context_length: Option<u64>,
    max_completion_tokens: Option<u64>,
    supported_parameters: Option<Vec<String>>,
    data_collection: Option<DataCollection>,
    zdr: Option<bool>,
    distillable: Option<bool>,
    quality: Option<Fraction>,
    tier: Option<Tier>,
    status: Option<i64>,
}

parse::map_only!(
    RawEndpoint,
    "an endpoint: a map with `provider` and `pricing`"
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct RawPricing {
    prompt: PerMillionText,
    completion: PerMillionText,
    request: Option<PerUnitText>,
    image: Option<PerUnitText>,
}

parse::map_only!(RawPricing, "a map with `prompt` and `completion` prices");

/// Converts the `models` list of a native catalog.
pub(super) fn convert(models: Vec<RawModel>) -> Catalog {
    let models = models
        .into_iter()
        .map(|m| Model {
            id: m.id,
            endpoints: m.endpoints.into_iter().map(endpoint).collect(),
        })
        .collect();
    Catalog { models }
}

fn endpoint(raw: RawEndpoint) -> Endpoint {
    let tag = raw.tag.unwrap_or_else(|| raw.provider.clone());
    Endpoint {
        // A tag may not repeat here (validation refuses it), so the key is the tag.
        key: tag.clone(),
        tag,
        provider: raw.provider,
        provider_name: raw.provider_name,
        pricing: Pricing {
            prompt: raw.pricing.prompt.0,
            completion: raw.pricing.completion.0,
            request: raw.pricing.request.map(|v| v.0),
            image: raw.pricing.image.map(|v| v.0),
        },
        throughput: raw.throughput,
        latency: raw.latency,
        uptime: raw.uptime.map_or(1.0, |u| u.0),
        quantization: raw.quantization.unwrap_or(Quantization::Unknown),
        context_length: raw.context_length,
        max_completion_tokens: raw.max_completion_tokens,
        supported_parameters: raw
            .supported_parameters
            .map(|names| Parameters::from_names(names.iter().map(String::as_str))),
        data_collection: raw.data_collection.unwrap_or_default(),
        zdr: raw.zdr.unwrap_or(false),
        distillable: raw.distillable.unwrap_or(true),
        quality: raw.quality.map(|q| q.0),
        tier: raw.tier,
        status: raw.status.unwrap_or(0),
    }
}
