//! Endpoint and provider slugs: normalising, matching an endpoint, nearest-slug suggestions.
//!
//! An endpoint slug (with `/`) names one endpoint; a provider slug names all of that
//! provider's endpoints. Case is ignored, and a display name ("Amazon Bedrock") matches its
//! provider, as does its lower-cased, hyphenated form (`amazon-bedrock`). SPEC section 3.

use crate::catalog::Endpoint;

/// Lower-cases and turns spaces into hyphens: "Amazon Bedrock" -> "amazon-bedrock".
pub(crate) fn normalize(slug: &str) -> String {
    normalized_chars(slug).collect()
}

/// The characters of `normalize(slug)`, without building the string.
fn normalized_chars(slug: &str) -> impl Iterator<Item = char> + '_ {
    slug.trim().chars().map(|c| {
        if c.is_whitespace() {
            '-'
        } else {
            c.to_ascii_lowercase()
        }
    })
}

/// Whether `slug` names an endpoint rather than a provider.
pub(crate) fn is_endpoint_slug(slug: &str) -> bool {
    slug.contains('/')
}

impl Endpoint {
    /// Whether `slug` (from `order`, `only`, `ignore`, `sticky` or `byok`) matches this endpoint
    /// (SPEC section 3): an endpoint slug its tag, a provider slug or display name its provider,
    /// ignoring case. A provider slug never matches a service-tier endpoint (`openai/priority`):
    /// only its exact tag does.
    ///
    /// ```
    /// let yaml = "models:\n  - id: m\n    endpoints:\n      - provider: deepinfra\n        provider_name: DeepInfra\n        tag: deepinfra/turbo\n        pricing: { prompt: 1, completion: 1 }\n";
    /// let catalog = routesim::Catalog::parse(yaml).unwrap();
    /// let turbo = &catalog.models[0].endpoints[0];
    /// assert!(turbo.matches("deepinfra"));
    /// assert!(turbo.matches("DeepInfra"));
    /// assert!(turbo.matches("DeepInfra/Turbo"));
    /// assert!(!turbo.matches("deepinfra/fp8"));
    /// ```
    pub fn matches(&self, slug: &str) -> bool {
        matches(slug, self)
    }
}

/// Whether `slug` (from `order`, `only` or `ignore`) matches endpoint `ep`; see
/// [`Endpoint::matches`].
pub(crate) fn matches(slug: &str, ep: &Endpoint) -> bool {
    let slug = slug.trim();
    if is_endpoint_slug(slug) {
        return slug.eq_ignore_ascii_case(&ep.tag);
    }
    if ep.tier.is_some() {
        return false;
    }
    same_normalized(slug, &ep.provider)
        || ep.provider_name.as_deref().is_some_and(|name| {
            slug.eq_ignore_ascii_case(name.trim()) || same_normalized(slug, name)
        })
}

/// `normalize(a) == normalize(b)` without allocating: matching runs for every slug against
/// every endpoint, so it must stay cheap.
fn same_normalized(a: &str, b: &str) -> bool {
    normalized_chars(a).eq(normalized_chars(b))
}

/// A list of slugs (`only`, `ignore`, ...) prepared for matching many endpoints: each slug is
/// normalised once and looked up by key, so a list of thousands costs no more per endpoint than
/// a list of one. Matches exactly as [`matches()`] does.
#[derive(Debug, Clone)]
pub(crate) struct SlugSet<'a> {
    slugs: &'a [String],
    /// Normalised slug -> index of its first occurrence in `slugs`.
    keys: std::collections::HashMap<String, usize>,
}

impl<'a> SlugSet<'a> {
    /// Prepares `slugs` for matching.
    pub(crate) fn new(slugs: &'a [String]) -> SlugSet<'a> {
        let mut keys = std::collections::HashMap::with_capacity(slugs.len());
        for (i, slug) in slugs.iter().enumerate() {
            keys.entry(normalize(slug)).or_insert(i);
        }
        SlugSet { slugs, keys }
    }

    /// The first slug of the list that matches `ep`, if any.
    pub(crate) fn first_match(&self, ep: &Endpoint) -> Option<&'a str> {
        if self.keys.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        let mut consider = |key: &str, want_endpoint_slug: bool| {
            if let Some(&i) = self.keys.get(key) {
                if is_endpoint_slug(&self.slugs[i]) == want_endpoint_slug {
                    best = Some(best.map_or(i, |b| b.min(i)));
                }
            }
        };
        consider(&normalize(&ep.tag), true);
        if ep.tier.is_none() {
            consider(&normalize(&ep.provider), false);
            if let Some(name) = &ep.provider_name {
                consider(&normalize(name), false);
            }
        }
        best.map(|i| self.slugs[i].as_str())
    }

    /// Whether any slug of the list matches `ep`.
    pub(crate) fn matches(&self, ep: &Endpoint) -> bool {
        self.first_match(ep).is_some()
    }
}

/// The candidate closest to `slug` by edit distance (case-insensitive); ties keep the first.
pub(crate) fn nearest<'a>(
    slug: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
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
    fn a_slug_set_finds_the_first_entry_matching_by_display_name() {
        let catalog = crate::Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: amazon-bedrock, provider_name: Amazon Bedrock, pricing: { prompt: 1, completion: 1 } }\n").unwrap();
        let ep = &catalog.models[0].endpoints[0];
        let list = vec!["novita".to_string(), "Amazon Bedrock".to_string()];
        assert_eq!(SlugSet::new(&list).first_match(ep), Some("Amazon Bedrock"));
    }

    #[test]
    fn nearest_picks_the_closest_candidate() {
        assert_eq!(
            nearest("deepinfar", ["novita", "deepinfra"]),
            Some("deepinfra")
        );
    }

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
