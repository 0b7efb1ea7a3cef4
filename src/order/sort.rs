//! The strict sorts (SPEC section 4, point 2): by price, throughput, latency or quality, missing
//! metrics last, ties by price and then by endpoint key. Never draws.

use super::Candidate;
use crate::catalog::Percentiles;
use crate::request::SortBy;
use std::cmp::Ordering;

/// Cheapest first, compared exactly (SPEC section 8), ties by key (unique within a model, unlike a listing's tags).
pub(super) fn by_price(a: &Candidate, b: &Candidate) -> Ordering {
    a.price.cmp(&b.price).then_with(|| a.ep.key.cmp(&b.ep.key))
}

/// Strict sort order: by the key (missing metrics last), then price, then slug.
pub(super) fn by_key(by: SortBy, a: &Candidate, b: &Candidate) -> Ordering {
    let p50 = |m: Option<Percentiles>| m.and_then(|m| m.p50);
    let key = match by {
        SortBy::Price => Ordering::Equal,
        SortBy::Throughput => missing_last(p50(a.ep.throughput), p50(b.ep.throughput), true),
        SortBy::Latency => missing_last(p50(a.ep.latency), p50(b.ep.latency), false),
        SortBy::Exacto => missing_last(a.ep.quality, b.ep.quality, true),
    };
    key.then_with(|| by_price(a, b))
}

fn missing_last(a: Option<f64>, b: Option<f64>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if descending => b.total_cmp(&a),
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
