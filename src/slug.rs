//! Endpoint and provider slugs: normalising, matching an endpoint, nearest-slug suggestions.
//!
//! An endpoint slug (with `/`) names one endpoint; a provider slug names all of that
//! provider's endpoints. Case is ignored, and a display name ("Amazon Bedrock") matches its
//! provider, as does its lower-cased, hyphenated form (`amazon-bedrock`). SPEC section 3.

use crate::catalog::Endpoint;

/// Lower-cases and turns spaces into hyphens: "Amazon Bedrock" -> "amazon-bedrock".
pub fn normalize(slug: &str) -> String {
    slug.trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Whether `slug` names an endpoint rather than a provider.
pub fn is_endpoint_slug(slug: &str) -> bool {
    slug.contains('/')
}

/// Whether `slug` (from `order`, `only` or `ignore`) matches endpoint `ep`. A provider slug
/// never matches a service-tier endpoint (`openai/priority`): only its exact tag does.
///
/// ```
/// use routesim::slug::matches;
/// let yaml = "models:\n  - id: m\n    endpoints:\n      - provider: deepinfra\n        provider_name: DeepInfra\n        tag: deepinfra/turbo\n        pricing: { prompt: 1, completion: 1 }\n";
/// let catalog = routesim::Catalog::parse(yaml).unwrap();
/// let turbo = &catalog.models[0].endpoints[0];
/// assert!(matches("deepinfra", turbo));
/// assert!(matches("DeepInfra", turbo));
/// assert!(matches("DeepInfra/Turbo", turbo));
/// assert!(!matches("deepinfra/fp8", turbo));
/// ```
pub fn matches(slug: &str, ep: &Endpoint) -> bool {
    let slug = slug.trim();
    if is_endpoint_slug(slug) {
        return slug.eq_ignore_ascii_case(&ep.tag);
    }
    if ep.tier.is_some() {
        return false;
    }
    let wanted = normalize(slug);
    wanted.eq_ignore_ascii_case(&ep.provider)
        || ep
            .provider_name
            .as_deref()
            .is_some_and(|name| slug.eq_ignore_ascii_case(name.trim()) || wanted == normalize(name))
}

/// The candidate closest to `slug` by edit distance (case-insensitive); ties keep the first.
///
/// ```
/// assert_eq!(routesim::slug::nearest("deepinfar", ["novita", "deepinfra"]), Some("deepinfra"));
/// ```
pub fn nearest<'a>(slug: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = normalize(slug);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&wanted, &c.to_ascii_lowercase()), c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != *cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn display_names_normalise_to_slugs() {
        assert_eq!(normalize("Amazon Bedrock"), "amazon-bedrock");
        assert!(is_endpoint_slug("deepinfra/turbo"));
        assert!(!is_endpoint_slug("deepinfra"));
    }
}
