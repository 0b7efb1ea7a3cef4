//! The catalog in OpenRouter's listing shapes (SPEC section 9): `GET /api/v1/models` and
//! `GET /api/v1/models/{author}/{slug}/endpoints`, with every key `@openrouter/sdk` requires.
//! Numbers are written so that loading the endpoints body back gives the same prices exactly.

use crate::catalog::{Catalog, Endpoint, Model, Parameters, Percentiles, Quantization};
use crate::money::Money;
use serde_json::{Value, json};

/// `GET /api/v1/models`: each model with the pricing of its cheapest endpoint (prompt +
/// completion), as per-token decimal strings.
///
/// ```
/// let catalog = routesim::Catalog::parse(
///     "models:\n  - id: a/m\n    endpoints:\n      - { provider: x, pricing: { prompt: 2, completion: 2 } }\n      - { provider: y, pricing: { prompt: 0.5, completion: 1.5 } }\n",
/// ).unwrap();
/// let body = routesim::serve::models_listing(&catalog);
/// assert_eq!(body["data"][0]["id"], "a/m");
/// assert_eq!(body["data"][0]["pricing"]["prompt"], "0.0000005");
/// ```
pub fn models_listing(catalog: &Catalog) -> Value {
    let data: Vec<Value> = catalog.models.iter().map(model_entry).collect();
    json!({"data": data, "total_count": catalog.models.len(), "links": {"next": null}})
}

fn model_entry(model: &Model) -> Value {
    let cheapest = model.endpoints.iter().min_by(|a, b| {
        let price = |e: &Endpoint| e.pricing.prompt.saturating_add(e.pricing.completion);
        price(a).cmp(&price(b))
    });
    let pricing = cheapest.map_or_else(|| json!({"prompt": "0", "completion": "0"}), pricing);
    let mut parameters: Vec<&str> = model
        .endpoints
        .iter()
        .filter_map(|e| e.supported_parameters.as_ref())
        .flat_map(names)
        .collect();
    parameters.sort_unstable();
    parameters.dedup();
    json!({
        "id": model.id,
        "canonical_slug": model.id,
        "name": model.id,
        "created": 0,
        "description": "",
        "context_length": cheapest.and_then(|e| e.context_length),
        "architecture": {"modality": "text->text", "input_modalities": ["text"],
                          "output_modalities": ["text"], "instruct_type": null},
        "pricing": pricing,
        "top_provider": {"context_length": cheapest.and_then(|e| e.context_length),
                          "max_completion_tokens": cheapest.and_then(|e| e.max_completion_tokens),
                          "is_moderated": false},
        "per_request_limits": null,
        "supported_parameters": parameters,
        "default_parameters": null,
        "supported_voices": null,
        "links": {"details": format!("/api/v1/models/{}/endpoints", model.id)},
    })
}

/// `GET /api/v1/models/{author}/{slug}/endpoints`: one model in OpenRouter's listing shape,
/// which `--catalog` loads back to the same endpoints (prices exactly; uptime to the nearest
/// double).
///
/// Every key `@openrouter/sdk`'s endpoint schema requires is there with a value it accepts,
/// also where routesim's catalog has none: an unknown `context_length` is written as 0, an
/// unknown `supported_parameters` as `[]`, a missing display name as the slug, a latency or throughput with only some percentiles
/// gets the missing ones from the nearest given one. Those stand-ins, and what the listing
/// shape has no field for (data policy, zero retention, distillable, quality, tier), travel
/// exactly in an extra per-endpoint object `routesim` that routesim's listing reader prefers,
/// so a round trip loses nothing; other readers ignore it.
///
/// ```
/// let catalog = routesim::Catalog::parse(
///     "models:\n  - id: a/m\n    endpoints:\n      - { provider: x, pricing: { prompt: 2.15, completion: 0.5 }, uptime: 0.9, latency: 1.1 }\n",
/// ).unwrap();
/// let body = routesim::serve::endpoints_listing(&catalog.models[0]);
/// let back = routesim::Catalog::parse(&body.to_string()).unwrap();
/// assert_eq!(back.models[0].endpoints[0].pricing, catalog.models[0].endpoints[0].pricing);
/// assert_eq!(body["data"]["endpoints"][0]["latency_last_30m"]["p50"], 1100.0);
/// ```
pub fn endpoints_listing(model: &Model) -> Value {
    let endpoints: Vec<Value> = model
        .endpoints
        .iter()
        .map(|e| endpoint_entry(model, e))
        .collect();
    json!({"data": {
        "id": model.id,
        "name": model.id,
        "created": 0,
        "description": "",
        "architecture": {"modality": "text->text", "input_modalities": ["text"],
                          "output_modalities": ["text"], "tokenizer": null, "instruct_type": null},
        "endpoints": endpoints,
    }})
}

fn endpoint_entry(model: &Model, e: &Endpoint) -> Value {
    let uptime = decimal_number(&shift_decimal_text(&e.uptime.to_string(), 2));
    let provider_name = e
        .provider_name
        .clone()
        .unwrap_or_else(|| e.provider.clone());
    let quantization = match e.quantization {
        Quantization::Unknown => Value::Null,
        q => json!(q.as_str()),
    };
    json!({
        "name": format!("{provider_name} | {}", model.id),
        "model_id": model.id,
        "model_name": model.id,
        "provider_name": provider_name,
        "tag": e.tag,
        "pricing": pricing(e),
        "quantization": quantization,
        "context_length": e.context_length.unwrap_or(0),
        "max_completion_tokens": e.max_completion_tokens,
        "max_prompt_tokens": null,
        "supported_parameters": e.supported_parameters.as_ref().map_or_else(Vec::new, names),
        "supports_tool_choice": tool_choice(e),
        "status": e.status,
        "uptime_last_30m": uptime,
        "uptime_last_5m": uptime,
        "uptime_last_1d": uptime,
        "latency_last_30m": e.latency.map(|p| percentiles(&filled(&p), 3)),
        "throughput_last_30m": e.throughput.map(|p| percentiles(&filled(&p), 0)),
        "routesim": extension(e),
        "supports_implicit_caching": false,
    })
}

/// The exact facts the SDK-facing keys cannot hold (see [`endpoints_listing`]), in routesim's
/// own units (seconds, shares); read back by the catalog's listing reader.
fn extension(e: &Endpoint) -> Value {
    json!({
        "provider_name": e.provider_name,
        "context_length": e.context_length,
        "supported_parameters": e.supported_parameters.as_ref().map(names),
        "latency": e.latency.map(|p| percentiles(&p, 0)),
        "throughput": e.throughput.map(|p| percentiles(&p, 0)),
        "data_collection": e.data_collection,
        "zdr": e.zdr,
        "distillable": e.distillable,
        "quality": e.quality,
        "tier": e.tier,
    })
}

/// Tool choice is supported where `tool_choice` is (an unknown parameter list supports all).
fn tool_choice(e: &Endpoint) -> Value {
    let yes = e.supported_parameters.as_ref().is_none_or(|p| {
        Parameters::from_names(["tool_choice"])
            .missing_from(*p)
            .next()
            .is_none()
    });
    json!({"auto": yes, "function": yes, "none": yes, "required": yes})
}

/// All four percentiles, each missing one taken from the nearest given one (the lower on a
/// tie): the SDK's `PercentileStats` requires all four.
fn filled(p: &Percentiles) -> Percentiles {
    let given: Vec<(usize, f64)> = [p.p50, p.p75, p.p90, p.p99]
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let at = |i: usize| {
        given
            .iter()
            .min_by_key(|(j, _)| (i.abs_diff(*j), *j))
            .map(|&(_, v)| v)
    };
    Percentiles {
        p50: at(0),
        p75: at(1),
        p90: at(2),
        p99: at(3),
    }
}

/// The parameter names of a set (`max_tokens` standing for the pair).
fn names(p: &Parameters) -> Vec<&'static str> {
    p.missing_from(Parameters::from_names([])).collect()
}

/// Per-token price strings: the per-million decimal with its point moved six places left.
fn pricing(e: &Endpoint) -> Value {
    // Exact: Money prints the decimal it is, and the point moves in the text.
    let per_token = |p: Money| shift_decimal_text(&p.to_string(), -6);
    let mut out = json!({
        "prompt": per_token(e.pricing.prompt),
        "completion": per_token(e.pricing.completion),
    });
    if let Some(request) = e.pricing.request {
        out["request"] = json!(request.to_string());
    }
    if let Some(image) = e.pricing.image {
        out["image"] = json!(image.to_string());
    }
    out
}

/// The percentiles given, each scaled by `10^shift` (3: seconds to milliseconds).
fn percentiles(p: &Percentiles, shift: i32) -> Value {
    let mut out = serde_json::Map::new();
    for (name, value) in p.given() {
        out.insert(
            name.to_string(),
            decimal_number(&shift_decimal_text(&value.to_string(), shift)),
        );
    }
    Value::Object(out)
}

fn decimal_number(text: &str) -> Value {
    text.parse::<f64>().map_or(Value::Null, |v| json!(v))
}

/// Moves the decimal point of a plain decimal (`2.15`, as f64's `Display` writes it, never
/// with an exponent) `shift` places right (positive) or left (negative), in the text, so that
/// no rounding happens: `("2.15", -6)` gives `0.00000215`.
fn shift_decimal_text(text: &str, shift: i32) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = format!("{int}{frac}");
    // The point sits after `point` digits of `all`.
    let point = int.len() as i64 + i64::from(shift);
    let (int, frac) = if point <= 0 {
        (
            "0".to_string(),
            format!("{}{all}", "0".repeat((-point) as usize)),
        )
    } else if point as usize >= all.len() {
        (
            format!("{all}{}", "0".repeat(point as usize - all.len())),
            String::new(),
        )
    } else {
        let (i, f) = all.split_at(point as usize);
        (i.to_string(), f.to_string())
    };
    let int = match int.trim_start_matches('0') {
        "" => "0",
        trimmed => trimmed,
    };
    let frac = frac.trim_end_matches('0');
    match frac.is_empty() {
        true => format!("{sign}{int}"),
        false => format!("{sign}{int}.{frac}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fixture model, written as a listing and read back, is the same endpoints: the
    /// SDK-facing stand-ins never leak into routing.
    #[test]
    fn listings_load_back_to_the_same_endpoints() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut checked = 0;
        for file in [
            "deepseek-r1.yaml",
            "llama-3.1-70b.yaml",
            "tiers.yaml",
            "abc.yaml",
        ] {
            let catalog = Catalog::from_path(format!("{root}/fixtures/{file}").as_ref())
                .expect("the fixture loads");
            for model in &catalog.models {
                let body = endpoints_listing(model).to_string();
                let back = Catalog::parse(&body).expect("the listing loads");
                let got = &back.models[0].endpoints;
                assert_eq!(got.len(), model.endpoints.len());
                for (want, got) in model.endpoints.iter().zip(got) {
                    let mut got = got.clone();
                    assert!(
                        (got.uptime - want.uptime).abs() < 1e-12,
                        "{file}: {}",
                        want.key
                    );
                    got.uptime = want.uptime;
                    assert_eq!(&got, want, "{file}: {} round-trips", want.key);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20, "{checked} endpoints checked");
    }

    #[test]
    fn the_models_listing_prices_each_model_at_its_cheapest_endpoint() {
        let catalog = Catalog::parse(
            "models:\n  - id: a/m\n    endpoints:\n      - { provider: x, pricing: { prompt: 2, completion: 1 }, supported_parameters: [tools, seed], context_length: 100 }\n      - { provider: y, pricing: { prompt: 1.5, completion: 1 }, supported_parameters: [seed, top_k], context_length: 50 }\n  - id: b/n\n    endpoints: []\n",
        )
        .expect("a catalog");
        let body = models_listing(&catalog);
        assert_eq!(body["total_count"], 2);
        let a = &body["data"][0];
        assert_eq!(a["id"], "a/m");
        assert_eq!(
            a["pricing"],
            json!({"prompt": "0.0000015", "completion": "0.000001"})
        );
        assert_eq!(a["context_length"], 50, "the cheapest endpoint's (y)");
        assert_eq!(a["supported_parameters"], json!(["seed", "tools", "top_k"]));
        let b = &body["data"][1];
        assert_eq!(b["pricing"], json!({"prompt": "0", "completion": "0"}));
        assert_eq!(b["context_length"], Value::Null);
    }

    #[test]
    fn sdk_stand_ins_fill_what_the_catalog_lacks() {
        let catalog = Catalog::parse(
            "models:\n  - id: a/m\n    endpoints:\n      - { provider: x, pricing: { prompt: 1, completion: 1 }, latency: { p50: 1.0, p99: 3.0 } }\n      - { provider: y, pricing: { prompt: 1, completion: 1 }, supported_parameters: [max_tokens] }\n",
        )
        .expect("a catalog");
        let body = endpoints_listing(&catalog.models[0]);
        let x = &body["data"]["endpoints"][0];
        assert_eq!(x["context_length"], 0, "unknown context: 0 for the SDK");
        assert_eq!(
            x["routesim"]["context_length"],
            Value::Null,
            "and exactly unknown"
        );
        assert_eq!(x["supported_parameters"], json!([]));
        assert_eq!(x["routesim"]["supported_parameters"], Value::Null);
        assert_eq!(
            x["supports_tool_choice"]["auto"], true,
            "unknown parameters support all"
        );
        // p75 is nearer p50, p90 nearer p99.
        assert_eq!(
            x["latency_last_30m"],
            json!({"p50": 1000.0, "p75": 1000.0, "p90": 3000.0, "p99": 3000.0})
        );
        assert_eq!(x["routesim"]["latency"], json!({"p50": 1.0, "p99": 3.0}));
        let y = &body["data"]["endpoints"][1];
        assert_eq!(y["supports_tool_choice"]["auto"], false);
        assert_eq!(y["latency_last_30m"], Value::Null);
    }

    #[test]
    fn decimal_points_move_in_the_text() {
        assert_eq!(shift_decimal_text("2.15", -6), "0.00000215");
        assert_eq!(shift_decimal_text("0.5", -6), "0.0000005");
        assert_eq!(shift_decimal_text("3", -6), "0.000003");
        assert_eq!(shift_decimal_text("1234567", -6), "1.234567");
        assert_eq!(shift_decimal_text("0", -6), "0");
        assert_eq!(shift_decimal_text("1.1", 3), "1100");
        assert_eq!(shift_decimal_text("0.998", 2), "99.8");
        assert_eq!(shift_decimal_text("0.45", 3), "450");
        assert_eq!(shift_decimal_text("1", 2), "100");
    }
}
