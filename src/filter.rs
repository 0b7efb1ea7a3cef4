//! Eligibility: removes endpoints a request cannot use and records the first reason, in the
//! spec's fixed order (SPEC section 4). Never reorders, never reads files.

use crate::catalog::{DataCollection, Endpoint, Model, Parameters};
use crate::plan::Reason;
use crate::request::Request;
use crate::slug;

/// Checks one model's endpoints against the request.
///
/// Returns one entry per endpoint, in catalog order: `None` when eligible, otherwise the first
/// failing reason. Warnings (a soft preference nobody supports) are pushed to `warnings`.
pub fn filter_model(
    model: &Model,
    request: &Request,
    warnings: &mut Vec<String>,
) -> Vec<Option<Reason>> {
    let mut verdicts: Vec<Option<Reason>> = model
        .endpoints
        .iter()
        .map(|ep| hard_filters(ep, request))
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

/// The hard filters, in order: only, ignore, quantizations, data_collection, zdr, distillable,
/// max_price, max_tokens, context_length, require_parameters.
fn hard_filters(ep: &Endpoint, request: &Request) -> Option<Reason> {
    let prefs = &request.provider;
    if let Some(only) = &prefs.only {
        if !only.iter().any(|s| slug::matches(s, ep)) {
            return Some(Reason::NotInOnly);
        }
    }
    if let Some(s) = prefs.ignore.iter().find(|s| slug::matches(s, ep)) {
        return Some(Reason::Ignored { slug: s.clone() });
    }
    if let Some(levels) = &prefs.quantizations {
        if !levels.iter().any(|q| q.admits(ep.quantization)) {
            return Some(Reason::Quantization {
                level: ep.quantization,
            });
        }
    }
    if prefs.data_collection == DataCollection::Deny && ep.data_collection == DataCollection::Allow
    {
        return Some(Reason::DataCollection);
    }
    if prefs.zdr && !ep.zdr {
        return Some(Reason::Zdr);
    }
    if prefs.enforce_distillable_text && !ep.distillable {
        return Some(Reason::Distillable);
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
            ep.pricing.request.unwrap_or(0.0),
        ),
        (
            "image",
            prefs.max_price.image,
            ep.pricing.image.unwrap_or(0.0),
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
    if let (Some(requested), Some(limit)) = (request.max_tokens, ep.max_completion_tokens) {
        if limit < requested {
            return Some(Reason::MaxTokens { limit, requested });
        }
    }
    if let (Some(usage), Some(context_length)) = (request.usage, ep.context_length) {
        let needed = usage
            .prompt_tokens
            .saturating_add(request.max_tokens.unwrap_or(0));
        if context_length < needed {
            return Some(Reason::ContextLength {
                context_length,
                needed,
            });
        }
    }
    if prefs.require_parameters && !request.parameters.is_empty() {
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
/// with the nearest slug as a suggestion.
pub fn slug_warnings(model: &Model, request: &Request, warnings: &mut Vec<String>) {
    let prefs = &request.provider;
    let lists = [
        ("order", prefs.order.as_deref()),
        ("only", prefs.only.as_deref()),
        ("ignore", Some(prefs.ignore.as_slice())),
    ];
    for (field, list) in lists {
        for (i, s) in list.unwrap_or_default().iter().enumerate() {
            if model.endpoints.iter().any(|ep| slug::matches(s, ep)) {
                continue;
            }
            let candidates = model
                .endpoints
                .iter()
                .flat_map(|ep| [ep.tag.as_str(), ep.provider.as_str()]);
            let hint = match slug::nearest(s, candidates) {
                Some(near) => format!("; did you mean {near:?}?"),
                None => String::new(),
            };
            warnings.push(format!(
                "provider.{field}[{i}] {s:?} matches no endpoint of {}{hint}",
                model.id
            ));
        }
    }
}
