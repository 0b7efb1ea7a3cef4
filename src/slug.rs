//! Endpoint and provider slugs: normalising, matching an endpoint, nearest-slug suggestions.
//!
//! An endpoint slug (with `/`) names the endpoints with that tag; a key (with `#`, such as
//! `together#2`) names one endpoint; a provider slug names all of that provider's endpoints.
//! Case is ignored, and a display name ("Amazon Bedrock") matches its provider, as does its
//! lower-cased, hyphenated form (`amazon-bedrock`). SPEC sections 3 and 8.

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

/// Whether `slug` names an endpoint (a tag or a key) rather than a provider.
pub(crate) fn is_endpoint_slug(slug: &str) -> bool {
    kind(slug) != Kind::Provider
}

/// What a slug names, told by its characters alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No `/` and no `#`: a provider slug or display name.
    Provider,
    /// With `/` and no `#`: every endpoint with that tag.
    Tag,
    /// With `#`: the one endpoint with that key (`together#2`, SPEC section 8).
    Key,
}

fn kind(slug: &str) -> Kind {
    if slug.contains('#') {
        Kind::Key
    } else if slug.contains('/') {
        Kind::Tag
    } else {
        Kind::Provider
    }
}

impl Endpoint {
    /// Whether `slug` (from `order`, `only`, `ignore`, `sticky` or `byok`) matches this endpoint
    /// (SPEC sections 3 and 8), ignoring case: a slug with `#` its [key](Endpoint::key) only, a
    /// slug with `/` its tag (which a listing may share with other endpoints), a provider slug
    /// or display name its provider. A provider slug never matches a service-tier endpoint
    /// (`openai/priority`): only its exact tag or key does.
    ///
    /// ```
    /// let yaml = "models:\n  - id: m\n    endpoints:\n      - provider: deepinfra\n        provider_name: DeepInfra\n        tag: deepinfra/turbo\n        pricing: { prompt: 1, completion: 1 }\n";
    /// let catalog = routesim::Catalog::parse(yaml).unwrap();
    /// let turbo = &catalog.models[0].endpoints[0];
    /// assert!(turbo.matches("deepinfra"));
    /// assert!(turbo.matches("DeepInfra"));
    /// assert!(turbo.matches("DeepInfra/Turbo"));
    /// assert!(!turbo.matches("deepinfra/fp8"));
    /// assert!(!turbo.matches("deepinfra/turbo#2"), "a key names one endpoint: this one's is its tag");
    /// ```
    pub fn matches(&self, slug: &str) -> bool {
        matches(slug, self)
    }
}

/// Whether `slug` (from `order`, `only` or `ignore`) matches endpoint `ep`; see
/// [`Endpoint::matches`].
pub(crate) fn matches(slug: &str, ep: &Endpoint) -> bool {
    let slug = slug.trim();
    match kind(slug) {
        Kind::Key => return slug.eq_ignore_ascii_case(&ep.key),
        Kind::Tag => return slug.eq_ignore_ascii_case(&ep.tag),
        Kind::Provider => {}
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
        let mut consider = |key: &str, want: Kind| {
            if let Some(&i) = self.keys.get(key) {
                if kind(&self.slugs[i]) == want {
                    best = Some(best.map_or(i, |b| b.min(i)));
                }
            }
        };
        consider(&normalize(&ep.tag), Kind::Tag);
        consider(&normalize(&ep.key), Kind::Key);
        if ep.tier.is_none() {
            consider(&normalize(&ep.provider), Kind::Provider);
            if let Some(name) = &ep.provider_name {
                consider(&normalize(name), Kind::Provider);
            }
        }
        best.map(|i| self.slugs[i].as_str())
    }

    /// Whether any slug of the list matches `ep`.
    pub(crate) fn matches(&self, ep: &Endpoint) -> bool {
        self.first_match(ep).is_some()
    }
}

/// The candidate closest to `slug` by Levenshtein distance over chars (strsim's), ignoring
/// case; ties keep the first candidate.
pub(crate) fn nearest<'a>(
    slug: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted = normalize(slug);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&wanted, &c.to_ascii_lowercase()), c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing in the shape of the real data: `together` twice (as for google/gemma-4-31b-it)
    /// and `google-vertex/us-south1` twice (as for qwen/qwen3-235b-a22b-2507).
    const REPEATED: &str = r#"{"data": {"id": "x/m", "endpoints": [
        {"provider_name": "Together", "tag": "together", "pricing": {"prompt": "0.00000028", "completion": "0.00000086"}},
        {"provider_name": "Google Vertex", "tag": "google-vertex/us-south1", "pricing": {"prompt": "0.00000022", "completion": "0.00000088"}},
        {"provider_name": "Together", "tag": "together", "pricing": {"prompt": "0.00000039", "completion": "0.00000097"}, "status": -2},
        {"provider_name": "Google Vertex", "tag": "google-vertex/us-south1", "pricing": {"prompt": "0.00000025", "completion": "0.000001"}}
    ]}}"#;

    #[test]
    fn a_tag_matches_every_endpoint_with_it_and_a_key_only_its_own_endpoint() {
        let catalog = crate::Catalog::parse(REPEATED).unwrap();
        let eps = &catalog.models[0].endpoints;
        let matching = |slug: &str| -> Vec<&str> {
            let by_fn: Vec<&str> = eps
                .iter()
                .filter(|ep| matches(slug, ep))
                .map(|ep| ep.key.as_str())
                .collect();
            let list = vec![slug.to_string()];
            let set = SlugSet::new(&list);
            let by_set: Vec<&str> = eps
                .iter()
                .filter(|ep| set.matches(ep))
                .map(|ep| ep.key.as_str())
                .collect();
            assert_eq!(
                by_fn, by_set,
                "a slug set matches as matches() does ({slug})"
            );
            by_fn
        };
        assert_eq!(
            matching("together"),
            ["together", "together#2"],
            "the provider slug (and default tag) matches both"
        );
        assert_eq!(matching("together#2"), ["together#2"], "a key matches one");
        assert_eq!(matching("TOGETHER#2"), ["together#2"], "ignoring case");
        assert_eq!(
            matching("google-vertex/us-south1"),
            ["google-vertex/us-south1", "google-vertex/us-south1#2"],
            "an endpoint tag matches every endpoint with it"
        );
        assert_eq!(
            matching("Google-Vertex/US-South1#2"),
            ["google-vertex/us-south1#2"]
        );
        assert!(
            matching("together#1").is_empty() && matching("together#3").is_empty(),
            "the first endpoint's key is its bare tag, and no third one exists"
        );
        assert!(
            is_endpoint_slug("together#2"),
            "a slug with # names an endpoint"
        );
    }

    /// A display name matches as written or normalised, even where its normalised form is not
    /// the provider slug (slug `bedrock`, name "Amazon Bedrock").
    #[test]
    fn a_display_name_matches_as_written_and_normalised() {
        let catalog = crate::Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: bedrock, provider_name: Amazon Bedrock, pricing: { prompt: 1, completion: 1 } }\n").unwrap();
        let ep = &catalog.models[0].endpoints[0];
        assert!(matches("amazon-bedrock", ep), "the normalised display name");
        assert!(matches("Amazon Bedrock", ep), "the display name as written");
        assert!(matches("BEDROCK", ep), "the slug, any case");
        assert!(!matches("amazon", ep));
        let list = vec!["amazon-bedrock".to_string()];
        assert_eq!(SlugSet::new(&list).first_match(ep), Some("amazon-bedrock"));
    }

    #[test]
    fn a_slug_set_finds_the_first_entry_matching_by_display_name() {
        let catalog = crate::Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: amazon-bedrock, provider_name: Amazon Bedrock, pricing: { prompt: 1, completion: 1 } }\n").unwrap();
        let ep = &catalog.models[0].endpoints[0];
        let list = vec!["novita".to_string(), "Amazon Bedrock".to_string()];
        assert_eq!(SlugSet::new(&list).first_match(ep), Some("Amazon Bedrock"));
    }

    #[test]
    fn the_nearest_slug_is_the_one_fewest_edits_away_and_ties_keep_the_first() {
        let candidates = [
            "deepinfra",
            "deepinfra/fast",
            "deepinfra/turbo",
            "together/turbo",
            "novita",
        ];
        // Distances, in candidate order: 6, 5, 2, 10, 13 (a swap is two substitutions).
        assert_eq!(
            nearest("Deepinfra/Trubo", candidates),
            Some("deepinfra/turbo")
        );
        // 11, 13, 8, 1, 11: one insertion.
        assert_eq!(nearest("togther/turbo", candidates), Some("together/turbo"));
        // 4, 4, 2, 10, 11: the shared prefix does not make deepinfra nearer.
        assert_eq!(
            nearest("deepinfra/tur", candidates),
            Some("deepinfra/turbo")
        );
        // 5, 9, 5, 6, 9: deepinfra and deepinfra/turbo tie, and the first candidate wins.
        assert_eq!(nearest("deep/turbo", candidates), Some("deepinfra"));
        // "ab" is one substitution from both "ac" and "ad": the first wins.
        assert_eq!(nearest("ab", ["ac", "ad"]), Some("ac"));
        assert_eq!(nearest("ab", ["ad", "ac"]), Some("ad"));
        assert_eq!(nearest("ab", []), None);
    }

    #[test]
    fn display_names_normalise_to_slugs() {
        assert_eq!(normalize("Amazon Bedrock"), "amazon-bedrock");
        assert!(is_endpoint_slug("deepinfra/turbo"));
        assert!(!is_endpoint_slug("deepinfra"));
    }
}
