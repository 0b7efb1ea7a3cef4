//! The validated endpoint table: models, their endpoints, and everything routing reads of them.
//!
//! Two raw shapes feed it, kept apart: routesim's native YAML (`native.rs`) and OpenRouter's
//! endpoint-listing JSON (`openrouter.rs`). Both are checked once here, so the engine never
//! re-checks a number.

mod native;
mod openrouter;
mod params;

pub use params::{PARAMETERS, Parameters};

use crate::error::Error;
use crate::money::{self, Money};
use crate::parse;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A validated catalog: one or more models, each with its endpoints.
///
/// ```
/// let yaml = "models:\n  - id: a/m\n    endpoints:\n      - provider: deepinfra\n        pricing: { prompt: 1, completion: 2 }\n";
/// let catalog = routesim::Catalog::parse(yaml).unwrap();
/// assert_eq!(catalog.models[0].endpoints[0].tag, "deepinfra");
/// assert_eq!(catalog.models[0].endpoints[0].uptime, 1.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// The models, in file order.
    pub models: Vec<Model>,
}

/// One model and the endpoints that serve it.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The model id, e.g. `deepseek/deepseek-r1`.
    pub id: String,
    /// Its endpoints in catalog order (may be empty: routing then fails with `no_endpoints`).
    pub endpoints: Vec<Endpoint>,
}

/// One provider endpoint of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Provider slug, e.g. `deepinfra`.
    pub provider: String,
    /// Display name, e.g. `DeepInfra`, when known.
    pub provider_name: Option<String>,
    /// Endpoint slug, e.g. `deepinfra/turbo`; equal to `provider` for the default endpoint.
    /// An OpenRouter listing may give two endpoints of a model the same tag (SPEC section 8).
    pub tag: String,
    /// The endpoint's name in every output, unique within its model: the tag for the first
    /// endpoint with that tag (in catalog order), `TAG#2`, `TAG#3`, ... for later ones. Set by
    /// the loaders; in routesim's YAML, where a tag may not repeat, it is always the tag.
    pub key: String,
    /// Prices in USD per million tokens (per unit for `request` and `image`).
    pub pricing: Pricing,
    /// Output tokens per second.
    pub throughput: Option<Percentiles>,
    /// Seconds to first token.
    pub latency: Option<Percentiles>,
    /// Share of recent requests served, in `0..=1`.
    pub uptime: f64,
    /// Quantization; `Unknown` when the catalog does not say.
    pub quantization: Quantization,
    /// Context window in tokens.
    pub context_length: Option<u64>,
    /// Longest completion the endpoint returns; `None` means no limit.
    pub max_completion_tokens: Option<u64>,
    /// Parameters the endpoint supports; `None` means unknown.
    pub supported_parameters: Option<Parameters>,
    /// Whether the endpoint may store or train on prompts.
    pub data_collection: DataCollection,
    /// Zero data retention endpoint.
    pub zdr: bool,
    /// Output may be used for distillation.
    pub distillable: bool,
    /// Quality score in `0..=1` for `sort: "exacto"`, when known.
    pub quality: Option<f64>,
    /// Service tier, for priority and flex endpoints; `None` for the default tier.
    pub tier: Option<Tier>,
    /// The listing's integer `status` (0 when absent). [`DERANKED_STATUS`] places the endpoint
    /// in the degraded band whatever its uptime; other values change nothing (SPEC section 8).
    pub status: i64,
}

/// The `status` OpenRouter gives its deranked (deprioritised) endpoints, in routesim's reading
/// of the real data: under load balancing such an endpoint is degraded whatever its uptime.
pub const DERANKED_STATUS: i64 = -3;

/// A non-default service tier (SPEC section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Faster, billed at priority rates; admitted by `service_tier: priority|fast` or `:nitro`.
    Priority,
    /// Discounted, may be slower; admitted by `service_tier: flex` or `:floor`.
    Flex,
}

impl Tier {
    /// The lowercase name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Priority => "priority",
            Tier::Flex => "flex",
        }
    }
}

impl Endpoint {
    /// True when this is the provider's default endpoint (its tag is the provider slug).
    pub fn is_default(&self) -> bool {
        self.tag.eq_ignore_ascii_case(&self.provider)
    }

    /// True when the endpoint carries OpenRouter's deranked status ([`DERANKED_STATUS`]).
    pub fn is_deranked(&self) -> bool {
        self.status == DERANKED_STATUS
    }
}

/// Gives each endpoint its key (see [`Endpoint::key`]): its tag the first time the tag appears
/// (ignoring case, as matching does), `TAG#2`, `TAG#3`, ... after that.
pub(crate) fn assign_keys(endpoints: &mut [Endpoint]) {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(endpoints.len());
    for ep in endpoints {
        let n = seen.entry(ep.tag.to_ascii_lowercase()).or_insert(0);
        *n += 1;
        ep.key = if *n == 1 {
            ep.tag.clone()
        } else {
            format!("{}#{n}", ep.tag)
        };
    }
}

/// Endpoint prices, exact (SPEC section 8: read as the decimal the file spells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pricing {
    /// USD per million prompt tokens.
    pub prompt: Money,
    /// USD per million completion tokens.
    pub completion: Money,
    /// USD per request, if charged.
    pub request: Option<Money>,
    /// USD per image, if charged.
    pub image: Option<Money>,
}

impl Pricing {
    /// What one request costs at these prices, exactly: `prompt_tokens x prompt +
    /// completion_tokens x completion` (prices per million tokens) plus the request fee.
    /// `None` only when the cost would pass about 3.4 x 10^14 USD, which token counts up to
    /// [`MAX_USAGE_TOKENS`](crate::MAX_USAGE_TOKENS) at catalog prices never reach.
    ///
    /// ```
    /// let catalog = routesim::Catalog::parse(r#"{"data": {"id": "z-ai/glm-5.2", "endpoints": [
    ///     {"tag": "morph", "pricing": {"prompt": "0.0000011", "completion": "0.0000041", "request": "0.0001"}}]}}"#).unwrap();
    /// let pricing = catalog.models[0].endpoints[0].pricing;
    /// assert_eq!(pricing.cost(1000, 500).unwrap().to_string(), "0.00325");
    /// ```
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> Option<Money> {
        self.prompt
            .per_million(prompt_tokens)?
            .checked_add(self.completion.per_million(completion_tokens)?)?
            .checked_add(self.request.unwrap_or(Money::ZERO))
    }
}

/// A metric as percentiles; a plain number in a file means p50 only.
///
/// Throughput percentiles fall as the percentile rises (p90 is what 90% of requests beat);
/// latency percentiles rise.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    /// 75th percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
    /// 90th percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    /// 99th percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
}

impl Percentiles {
    /// Only a median.
    pub fn p50(value: f64) -> Percentiles {
        Percentiles {
            p50: Some(value),
            ..Percentiles::default()
        }
    }

    /// The given percentiles as `(name, value)` pairs, p50 first.
    pub fn given(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        [
            ("p50", self.p50),
            ("p75", self.p75),
            ("p90", self.p90),
            ("p99", self.p99),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| (name, v)))
    }

    /// The named percentile, if given.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "p50" => self.p50,
            "p75" => self.p75,
            "p90" => self.p90,
            "p99" => self.p99,
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Percentiles {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PercentilesVisitor;
        impl<'de> Visitor<'de> for PercentilesVisitor {
            type Value = Percentiles;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative number or a map of p50, p75, p90, p99")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percentiles, E> {
                Ok(Percentiles::p50(non_negative(v).map_err(E::custom)?))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percentiles, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percentiles, E> {
                self.visit_f64(v as f64)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Percentiles, A::Error> {
                let mut out = Percentiles::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "p50" => &mut out.p50,
                        "p75" => &mut out.p75,
                        "p90" => &mut out.p90,
                        "p99" => &mut out.p99,
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["p50", "p75", "p90", "p99"],
                            ));
                        }
                    };
                    let value: Option<NonNegative> = map.next_value()?;
                    *slot = value.map(|v| v.0);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_any(PercentilesVisitor)
    }
}

/// Quantization levels (SPEC section 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// 4-bit integers.
    Int4,
    /// 8-bit integers.
    Int8,
    /// 4-bit floats; the `fp4` filter also admits `mxfp4` and `nvfp4` (SPEC section 3).
    Fp4,
    /// 4-bit microscaling floats (OCP MX).
    Mxfp4,
    /// NVIDIA's 4-bit floats.
    Nvfp4,
    /// 6-bit floats.
    Fp6,
    /// 8-bit floats; the `fp8` filter also admits `mxfp8`.
    Fp8,
    /// 8-bit microscaling floats (OCP MX).
    Mxfp8,
    /// 16-bit IEEE floats.
    Fp16,
    /// 16-bit brain floats.
    Bf16,
    /// 32-bit floats.
    Fp32,
    /// Not stated by the listing; also what a missing quantization counts as.
    Unknown,
}

impl Quantization {
    /// Every level, in the spec's order.
    pub const ALL: [Quantization; 12] = [
        Quantization::Int4,
        Quantization::Int8,
        Quantization::Fp4,
        Quantization::Mxfp4,
        Quantization::Nvfp4,
        Quantization::Fp6,
        Quantization::Fp8,
        Quantization::Mxfp8,
        Quantization::Fp16,
        Quantization::Bf16,
        Quantization::Fp32,
        Quantization::Unknown,
    ];

    /// The lowercase name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Quantization::Int4 => "int4",
            Quantization::Int8 => "int8",
            Quantization::Fp4 => "fp4",
            Quantization::Mxfp4 => "mxfp4",
            Quantization::Nvfp4 => "nvfp4",
            Quantization::Fp6 => "fp6",
            Quantization::Fp8 => "fp8",
            Quantization::Mxfp8 => "mxfp8",
            Quantization::Fp16 => "fp16",
            Quantization::Bf16 => "bf16",
            Quantization::Fp32 => "fp32",
            Quantization::Unknown => "unknown",
        }
    }

    /// Whether a filter entry `self` admits an endpoint at `level`: `fp4` also admits `mxfp4`
    /// and `nvfp4`, `fp8` also admits `mxfp8` (SPEC section 3).
    ///
    /// ```
    /// use routesim::Quantization::*;
    /// assert!(Fp4.admits(Nvfp4));
    /// assert!(!Nvfp4.admits(Fp4));
    /// ```
    pub fn admits(self, level: Quantization) -> bool {
        self == level
            || matches!(
                (self, level),
                (Quantization::Fp4, Quantization::Mxfp4 | Quantization::Nvfp4)
                    | (Quantization::Fp8, Quantization::Mxfp8)
            )
    }
}

/// An endpoint's data policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DataCollection {
    /// The provider may store or train on prompts.
    #[default]
    Allow,
    /// The provider neither stores nor trains on prompts.
    Deny,
}

/// The largest catalog text [`Catalog::parse`] accepts: 16 MiB.
///
/// OpenRouter's whole model list, every endpoint included, is a few MiB as native YAML; parsing
/// takes about 20 bytes of memory per byte of text (290 MB and 6 s for a 14 MiB catalog of
/// 80,000 endpoints, measured), so 16 MiB stays well under half a GiB.
pub const MAX_CATALOG_BYTES: usize = 16 << 20;

impl Catalog {
    /// Parses and validates a catalog in routesim's YAML format or OpenRouter's
    /// endpoint-listing JSON (recognised by its top-level `data` key).
    ///
    /// JSON (text opening with `{` or `[`) is read by serde_json, anything else (and text
    /// that turns out not to be JSON) by serde_yaml. Text over [`MAX_CATALOG_BYTES`],
    /// nesting past [`MAX_FLOW_DEPTH`](crate::MAX_FLOW_DEPTH), or YAML whose aliases expand
    /// past [`ALIAS_EXPANSION_BUDGET`](crate::ALIAS_EXPANSION_BUDGET) nodes, is refused
    /// before it is parsed. Errors name no file ([`Error::file`] is `None`); [`Catalog::from_path`]
    /// and [`Catalog::from_reader`] name theirs.
    pub fn parse(text: &str) -> Result<Catalog, Error> {
        let document: Document = parse::from_str(text, MAX_CATALOG_BYTES, "catalog")
            .map_err(|e| e.with_field_label(|field| label_path(text, field)))?;
        let catalog = match document {
            Document::Native(models) => native::convert(models),
            Document::Listing(data) => openrouter::convert(data),
        };
        catalog.validate()?;
        Ok(catalog.with_shared_display_names())
    }

    /// Reads and parses the catalog file at `path`, refusing a file over
    /// [`MAX_CATALOG_BYTES`] without reading it whole. Every error names the file as `path`
    /// displays.
    ///
    /// ```
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/deepseek-r1.yaml");
    /// let catalog = routesim::Catalog::from_path(path.as_ref()).unwrap();
    /// assert_eq!(catalog.models[0].id, "deepseek/deepseek-r1");
    /// let err = routesim::Catalog::from_path("no/such/catalog.yaml".as_ref()).unwrap_err();
    /// assert_eq!(err.file(), Some("no/such/catalog.yaml"));
    /// ```
    pub fn from_path(path: &Path) -> Result<Catalog, Error> {
        parse::from_path(path, MAX_CATALOG_BYTES, Catalog::parse)
    }

    /// Reads a catalog from `reader` to its end and parses it, as [`Catalog::from_path`]
    /// does a file; every error names the source `name` (`<stdin>`, a URL).
    ///
    /// ```
    /// let text = "models:\n  - id: a/m\n    endpoints: [{ provider: a, pricing: { prompt: 1 } }]\n";
    /// let err = routesim::Catalog::from_reader(text.as_bytes(), "<stdin>").unwrap_err();
    /// assert_eq!(err.file(), Some("<stdin>"));
    /// assert_eq!(err.field(), Some("models[0].endpoints[0].pricing"));
    /// assert!(err.to_string().starts_with("<stdin>: models[0] (a/m).endpoints[0] (a).pricing: missing field `completion`"));
    /// ```
    pub fn from_reader(reader: impl Read, name: &str) -> Result<Catalog, Error> {
        parse::from_reader(reader, name, MAX_CATALOG_BYTES, Catalog::parse)
    }

    /// Loads every catalog at `paths` as one (SPEC section 8): a file is read as
    /// [`Catalog::from_path`] reads it; a directory contributes every `*.json`, `*.yaml` and
    /// `*.yml` file directly in it (not in subdirectories), in name order, except
    /// `manifest.json`, which `routesim fetch` writes beside the listings. The models are then
    /// merged as [`Catalog::merge`] merges them, so a model id in two files is an error naming
    /// both. Every error names its file; a directory with no catalog file in it is an error.
    ///
    /// ```
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/openrouter");
    /// let file = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/deepseek-r1.yaml");
    /// let catalog = routesim::Catalog::from_paths(&[dir, file]).unwrap();
    /// assert!(catalog.model("z-ai/glm-5.2").is_some() && catalog.model("deepseek/deepseek-r1").is_some());
    /// let twice = routesim::Catalog::from_paths(&[file, file]).unwrap_err();
    /// assert!(twice.to_string().contains("is also in"), "{twice}");
    /// ```
    pub fn from_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Catalog, Error> {
        let mut files = Vec::new();
        for path in paths.iter().map(AsRef::as_ref) {
            if path.is_dir() {
                files.extend(catalog_files(path)?);
            } else {
                files.push(path.to_path_buf());
            }
        }
        let mut parts = Vec::with_capacity(files.len());
        for file in &files {
            parts.push((file.display().to_string(), Catalog::from_path(file)?));
        }
        Catalog::merge(parts)
    }

    /// Merges catalogs into one, models in the order given; each catalog comes with the name
    /// of its source (a file name) for errors. The same model id in two sources is an error
    /// naming both (the later source is the error's [`file`](Error::file)); no sources at all
    /// make an empty catalog, which is an error too.
    ///
    /// ```
    /// let a = routesim::Catalog::parse("models:\n  - id: a/m\n    endpoints: []\n").unwrap();
    /// let b = routesim::Catalog::parse("models:\n  - id: b/m\n    endpoints: []\n").unwrap();
    /// let both = routesim::Catalog::merge([("a.yaml", a.clone()), ("b.yaml", b)]).unwrap();
    /// assert_eq!(both.models.len(), 2);
    /// let err = routesim::Catalog::merge([("a.yaml", a.clone()), ("c.yaml", a)]).unwrap_err();
    /// assert_eq!(err.file(), Some("c.yaml"));
    /// assert_eq!(err.to_string(), "c.yaml: models[0].id: model id \"a/m\" is also in a.yaml");
    /// ```
    pub fn merge<S: AsRef<str>>(
        sources: impl IntoIterator<Item = (S, Catalog)>,
    ) -> Result<Catalog, Error> {
        let mut models: Vec<Model> = Vec::new();
        let mut names: Vec<S> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (name, catalog) in sources {
            for (mi, model) in catalog.models.into_iter().enumerate() {
                if let Some(&first) = seen.get(&model.id) {
                    let detail = format!(
                        "model id {:?} is also in {}",
                        model.id,
                        names[first].as_ref()
                    );
                    let field = format!("models[{mi}].id");
                    return Err(Error::input(Some(field), &detail, None).with_file(name.as_ref()));
                }
                seen.insert(model.id.clone(), names.len());
                models.push(model);
            }
            names.push(name);
        }
        if models.is_empty() {
            let detail = "a catalog needs at least one model, found none";
            return Err(Error::input(Some("models".into()), detail, None));
        }
        Ok(Catalog { models })
    }

    /// Gives every endpoint of a provider the display name that any of its siblings carries,
    /// so that "DeepInfra" matches `deepinfra/turbo` even when only the default endpoint names it.
    fn with_shared_display_names(mut self) -> Catalog {
        for model in &mut self.models {
            let names: Vec<(String, String)> = model
                .endpoints
                .iter()
                .filter_map(|ep| {
                    Some((ep.provider.to_ascii_lowercase(), ep.provider_name.clone()?))
                })
                .collect();
            for ep in model
                .endpoints
                .iter_mut()
                .filter(|ep| ep.provider_name.is_none())
            {
                let provider = ep.provider.to_ascii_lowercase();
                ep.provider_name = names
                    .iter()
                    .find(|(p, _)| *p == provider)
                    .map(|(_, n)| n.clone());
            }
        }
        self
    }

    /// The model with this exact id.
    pub fn model(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    /// Checks what serde cannot: non-empty, unique model ids, unique endpoint slugs, tags that
    /// belong to their provider.
    fn validate(&self) -> Result<(), Error> {
        // `label` is the path as messages print it, naming the model and endpoint.
        let fail = |field: String, label: &str, detail: String| {
            Err(Error::input(Some(field), &detail, None).with_field_label(|_| label.to_string()))
        };
        if self.models.is_empty() {
            let detail = "a catalog needs at least one model, found none".to_string();
            return fail("models".into(), "models", detail);
        }
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (mi, model) in self.models.iter().enumerate() {
            if let Some(first) = ids.insert(&model.id, mi) {
                let field = format!("models[{mi}].id");
                let detail = format!(
                    "duplicate model id {:?} (first at models[{first}])",
                    model.id
                );
                return fail(field.clone(), &field, detail);
            }
            let mut tags: HashMap<String, usize> = HashMap::new();
            for (ei, ep) in model.endpoints.iter().enumerate() {
                let at = |name: &str| {
                    (
                        format!("models[{mi}].endpoints[{ei}].{name}"),
                        format!(
                            "models[{mi}] ({}).endpoints[{ei}] ({}).{name}",
                            model.id, ep.key
                        ),
                    )
                };
                if ep.provider.trim().is_empty() {
                    let (field, label) = at("provider");
                    let detail = "expected a provider slug, found an empty string".to_string();
                    return fail(field, &label, detail);
                }
                let tag_provider = ep.tag.split('/').next().unwrap_or_default();
                if !tag_provider.eq_ignore_ascii_case(&ep.provider) {
                    let (field, label) = at("tag");
                    let detail = format!(
                        "tag {:?} belongs to provider {tag_provider:?}, but the endpoint's provider is {:?}",
                        ep.tag, ep.provider
                    );
                    return fail(field, &label, detail);
                }
                // Keys differ wherever tags repeat in a listing; in routesim's YAML a key is its
                // tag, so a repeated tag lands here (SPEC section 8: a typo there).
                if let Some(first) = tags.insert(ep.key.to_ascii_lowercase(), ei) {
                    let (field, label) = at("tag");
                    let detail = format!(
                        "duplicate endpoint slug {:?} in model {} (first at endpoints[{first}])",
                        ep.key, model.id
                    );
                    return fail(field, &label, detail);
                }
            }
        }
        Ok(())
    }
}

/// The catalog files directly in `dir`, in name order: `*.json`, `*.yaml`, `*.yml`, without
/// `manifest.json` (written by `routesim fetch`; not a listing). Errors name the directory.
fn catalog_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let name = dir.display().to_string();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(&name, e))? {
        let path = entry.map_err(|e| Error::io(&name, e))?.path();
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let catalog_like = [".json", ".yaml", ".yml"]
            .iter()
            .any(|ext| file_name.ends_with(ext));
        if catalog_like && file_name != "manifest.json" && path.is_file() {
            files.push(path);
        }
    }
    // As bytes: every entry shares the directory's prefix, so this is file-name order, and
    // comparing paths component by component cost 5% of loading the 306-listing capture
    // (callgrind).
    files.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    if files.is_empty() {
        let detail = "expected *.json, *.yaml or *.yml catalog files in this directory, found none";
        return Err(Error::input(None, detail, None).with_file(&name));
    }
    Ok(files)
}

/// Names the model and endpoint behind a catalog error path, as validation messages do:
/// `models[0].endpoints[3].pricing` becomes `models[0] (a/m).endpoints[3] (deepinfra/turbo).pricing`
/// and `data.endpoints[3]` becomes `data.endpoints[3] (deepinfra/fp8)`. The text is read again
/// leniently for the ids; when that fails, the path is returned as it was.
fn label_path(text: &str, path: &str) -> String {
    use serde_json::Value;
    let index = |rest: &str| -> Option<(usize, usize)> {
        let close = rest.find(']')?;
        Some((rest[..close].parse().ok()?, close + 1))
    };
    let Some(doc) = parse::document(text) else {
        return path.to_string();
    };
    let label = |v: &Value, keys: &[&str]| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .map(|s| format!(" ({s})"))
            .unwrap_or_default()
    };
    let mut out = String::new();
    let mut rest = path;
    let mut node = &doc;
    // (path prefix, the map holding the list, the list, the keys that label an item)
    let steps: [(&str, Option<&str>, &str, &[&str]); 3] = [
        ("models[", None, "models", &["id"]),
        (".endpoints[", None, "endpoints", &["tag", "provider"]),
        ("data.endpoints[", Some("data"), "endpoints", &["tag"]),
    ];
    for (prefix, parent, list, keys) in steps {
        let Some(after) = rest.strip_prefix(prefix) else {
            continue;
        };
        let Some((i, used)) = index(after) else {
            break;
        };
        let holder = parent.and_then(|p| node.get(p)).unwrap_or(node);
        let Some(item) = holder.get(list).and_then(|l| l.get(i)) else {
            break;
        };
        out.push_str(prefix);
        out.push_str(&after[..used]);
        out.push_str(&label(item, keys));
        rest = &after[used..];
        node = item;
    }
    out.push_str(rest);
    out
}

/// A catalog file in either shape, told apart in one pass by its top-level key: `models`
/// (routesim's YAML) or `data` (an OpenRouter endpoint listing, whose other keys are ignored).
enum Document {
    Native(Vec<native::RawModel>),
    Listing(openrouter::ListingModel),
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocumentVisitor;
        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = Document;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a catalog: a map with `models` (routesim YAML) or `data` (an OpenRouter endpoint listing)",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
                let mut models = None;
                let mut data = None;
                let mut unknown = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "models" if models.is_none() => models = Some(map.next_value()?),
                        "data" if data.is_none() => data = Some(map.next_value()?),
                        "models" => return Err(de::Error::duplicate_field("models")),
                        "data" => return Err(de::Error::duplicate_field("data")),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            unknown.get_or_insert(key);
                        }
                    }
                }
                match (models, data, unknown) {
                    (None, Some(data), _) => Ok(Document::Listing(data)),
                    (Some(_), Some(_), _) => Err(de::Error::custom(
                        "a catalog has either `models` (routesim YAML) or `data` (an OpenRouter listing), not both",
                    )),
                    (Some(_), None, Some(key)) => Err(de::Error::unknown_field(&key, &["models"])),
                    (Some(models), None, None) => Ok(Document::Native(models)),
                    (None, None, _) => Err(de::Error::missing_field("models")),
                }
            }
        }
        deserializer.deserialize_map(DocumentVisitor)
    }
}

/// A price in routesim's own files, in USD per million tokens, read as the decimal it spells:
/// at most 18 decimal places, so that one token's share is exact (see `money.rs`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PerMillionText(pub Money);

impl<'de> Deserialize<'de> for PerMillionText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        money::deserialize_literal(
            deserializer,
            "a non-negative decimal price",
            |text, shown| Money::parse_scaled(text, 0, 18, shown),
        )
        .map(PerMillionText)
    }
}

/// A price per unit (a request, an image) in USD, read as the decimal it spells (at most 24
/// decimal places).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PerUnitText(pub Money);

impl<'de> Deserialize<'de> for PerUnitText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        money::deserialize_literal(
            deserializer,
            "a non-negative decimal price",
            |text, shown| Money::parse_scaled(text, 0, 24, shown),
        )
        .map(PerUnitText)
    }
}

/// A non-negative finite number, checked while parsing so the error carries its path and line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NonNegative(pub f64);

fn non_negative(v: f64) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("expected a non-negative finite number, found {v}"))
    }
}

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_f64(deserializer, "a non-negative finite number", non_negative).map(NonNegative)
    }
}

/// Reads a number and checks it inside the visitor, so that the parser's error carries the
/// field's path and line (an error raised after `f64::deserialize` returns names only the
/// enclosing map).
pub(crate) fn checked_f64<'de, D: Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
    check: fn(f64) -> Result<f64, String>,
) -> Result<f64, D::Error> {
    struct Checked(&'static str, fn(f64) -> Result<f64, String>);
    impl Visitor<'_> for Checked {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            (self.1)(v).map_err(E::custom)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            self.visit_f64(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            self.visit_f64(v as f64)
        }
    }
    deserializer.deserialize_f64(Checked(expecting, check))
}

/// A share in `0..=1`, checked while parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fraction(pub f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_f64(deserializer, "a share between 0 and 1", |v| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("expected a share between 0 and 1, found {v}"))
            }
        })
        .map(Fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// A checked number given a string says what it expected.
    #[test]
    fn a_checked_number_of_the_wrong_type_says_what_it_expected() {
        let err = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 }, uptime: high }\n").unwrap_err();
        assert!(err.to_string().contains("a share between 0 and 1"), "{err}");
    }

    /// A repeated top-level key is refused by name, in either shape (JSON parsers keep the
    /// last of two keys; a catalog must not).
    #[test]
    fn a_top_level_key_given_twice_is_refused() {
        for text in [
            r#"{"models": [], "models": []}"#,
            r#"{"data": {"id": "a/m", "endpoints": []}, "data": {"id": "a/m", "endpoints": []}}"#,
        ] {
            let err = Catalog::parse(text).unwrap_err();
            let key = if text.contains("models") {
                "models"
            } else {
                "data"
            };
            assert!(
                err.to_string()
                    .contains(&format!("duplicate field `{key}`")),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn percentiles_are_read_by_name_and_a_list_is_refused_with_what_was_expected() {
        let c = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 }, throughput: { p50: 1, p75: 2, p90: 3, p99: 4 } }\n").unwrap();
        let t = c.models[0].endpoints[0].throughput.unwrap();
        let got: Vec<Option<f64>> = ["p50", "p75", "p90", "p99", "p95"]
            .iter()
            .map(|n| t.get(n))
            .collect();
        assert_eq!(got, [Some(1.0), Some(2.0), Some(3.0), Some(4.0), None]);
        let err = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 }, throughput: [1] }\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("a non-negative number or a map of p50, p75, p90, p99"),
            "{err}"
        );
        let err = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 }, latency: -5 }\n").unwrap_err();
        assert!(
            err.to_string().contains("latency"),
            "a negative integer is refused: {err}"
        );
        let c = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 }, latency: 5 }\n").unwrap();
        assert_eq!(c.models[0].endpoints[0].latency.unwrap().p50, Some(5.0));
    }

    #[test]
    fn tiers_are_named_as_files_spell_them() {
        assert_eq!(
            [Tier::Priority.as_str(), Tier::Flex.as_str()],
            ["priority", "flex"]
        );
        let c = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, tag: a/flex, tier: flex, pricing: { prompt: 1, completion: 1 } }\n").unwrap();
        let tier = c.models[0].endpoints[0].tier.unwrap();
        assert_eq!(tier.as_str(), "flex", "the name reads back");
    }

    #[test]
    fn repeated_listing_tags_are_kept_with_numbered_keys_in_listing_order() {
        let json = r#"{"data": {"id": "x/m", "endpoints": [
            {"tag": "together", "pricing": {"prompt": "0.00000028", "completion": "0.00000086"}},
            {"tag": "a/fp8", "pricing": {"prompt": "1", "completion": "1"}, "status": -3},
            {"tag": "together", "pricing": {"prompt": "0.00000039", "completion": "0.00000097"}},
            {"tag": "Together", "pricing": {"prompt": "0.0000004", "completion": "0.000001"}}
        ]}}"#;
        let c = Catalog::parse(json).unwrap();
        let eps = &c.models[0].endpoints;
        let keys: Vec<&str> = eps.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["together", "a/fp8", "together#2", "Together#3"]);
        let tags: Vec<&str> = eps.iter().map(|e| e.tag.as_str()).collect();
        assert_eq!(
            tags,
            ["together", "a/fp8", "together", "Together"],
            "tags kept"
        );
        assert_eq!(
            eps[2].pricing.prompt.to_string(),
            "0.39",
            "both endpoints keep their own prices"
        );
        let statuses: Vec<i64> = eps.iter().map(|e| e.status).collect();
        assert_eq!(statuses, [0, -3, 0, 0], "status read, 0 when absent");
        assert!(eps[1].is_deranked() && !eps[0].is_deranked());
    }

    #[test]
    fn native_keys_are_tags_and_native_status_is_optional() {
        let c = Catalog::parse(&format!(
            "{HEAD}      - {{ provider: a, tag: a/x, pricing: {{ prompt: 1, completion: 1 }}, status: -3 }}\n      - {{ provider: b, pricing: {{ prompt: 1, completion: 1 }} }}\n"
        ))
        .unwrap();
        let eps = &c.models[0].endpoints;
        assert_eq!((eps[0].key.as_str(), eps[0].status), ("a/x", -3));
        assert_eq!((eps[1].key.as_str(), eps[1].status), ("b", 0));
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, pricing: {{ prompt: 1, completion: 1 }}, status: bad }}\n"
        ));
        assert!(e.message.contains("status"), "{}", e.message);
    }

    #[test]
    fn a_listing_tag_that_spells_another_endpoints_key_is_a_duplicate() {
        let json = r#"{"data": {"id": "x/m", "endpoints": [
            {"tag": "a", "pricing": {"prompt": "1", "completion": "1"}},
            {"tag": "a", "pricing": {"prompt": "1", "completion": "1"}},
            {"tag": "a#2", "pricing": {"prompt": "1", "completion": "1"}}
        ]}}"#;
        let e = Catalog::parse(json).unwrap_err();
        assert!(
            e.to_string().contains("duplicate endpoint slug \"a#2\""),
            "keys must stay unique: {e}"
        );
    }

    /// The error's message (everything after the file name) and line.
    struct Failure {
        message: String,
        line: Option<usize>,
    }

    fn err(yaml: &str) -> Failure {
        let e = Catalog::parse(yaml).expect_err("invalid catalog");
        let ErrorKind::Input { message, line, .. } = e.kind() else {
            panic!("an invalid catalog is bad input: {e:?}");
        };
        Failure {
            message: message.clone(),
            line: *line,
        }
    }

    const HEAD: &str = "models:\n  - id: m\n    endpoints:\n";

    #[test]
    fn negative_prices_name_the_field_and_line() {
        let e = err(&format!(
            "{HEAD}      - provider: a\n        pricing: {{ prompt: -1, completion: 1 }}\n"
        ));
        assert!(
            e.message
                .starts_with("models[0] (m).endpoints[0] (a).pricing.prompt"),
            "{}",
            e.message
        );
        assert!(e.message.contains("non-negative"), "{}", e.message);
        assert_eq!(e.line, Some(5));
    }

    #[test]
    fn non_finite_numbers_and_bad_uptime_are_refused() {
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, pricing: {{ prompt: .nan, completion: 1 }} }}\n"
        ));
        assert!(e.message.contains("pricing.prompt"), "{}", e.message);
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, pricing: {{ prompt: 1, completion: 1 }}, uptime: 1.5 }}\n"
        ));
        assert!(
            e.message.contains("uptime") && e.message.contains("1.5"),
            "{}",
            e.message
        );
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, pricing: {{ prompt: 1, completion: 1 }}, throughput: .inf }}\n"
        ));
        assert!(e.message.contains("throughput"), "{}", e.message);
    }

    #[test]
    fn unknown_quantization_lists_the_valid_ones() {
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, pricing: {{ prompt: 1, completion: 1 }}, quantization: fp3 }}\n"
        ));
        assert!(
            e.message.contains("quantization") && e.message.contains("nvfp4"),
            "{}",
            e.message
        );
    }

    #[test]
    fn duplicate_slugs_and_foreign_tags_are_refused() {
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, pricing: {{ prompt: 1, completion: 1 }} }}\n      - {{ provider: a, tag: A, pricing: {{ prompt: 1, completion: 1 }} }}\n"
        ));
        assert!(
            e.message.contains("duplicate endpoint slug"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("models[0] (m).endpoints[1]"),
            "{}",
            e.message
        );
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, tag: b/turbo, pricing: {{ prompt: 1, completion: 1 }} }}\n"
        ));
        assert!(
            e.message.contains(".tag") && e.message.contains("\"b\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn empty_catalogs_are_refused_but_empty_models_are_valid() {
        assert!(err("models: []\n").message.contains("at least one model"));
        let c = Catalog::parse("models:\n  - id: m\n    endpoints: []\n").unwrap();
        assert!(c.models[0].endpoints.is_empty());
    }

    #[test]
    fn unknown_fields_are_refused_in_native_files() {
        let e = err(&format!(
            "{HEAD}      - {{ provider: a, pricing: {{ prompt: 1, completion: 1 }}, uptme: 1 }}\n"
        ));
        assert!(e.message.contains("uptme"), "{}", e.message);
    }

    #[test]
    fn openrouter_listing_converts_units_and_ignores_unread_keys() {
        let json = r#"{"data": {"id": "x/y", "architecture": {"modality": "text"}, "endpoints": [
            {"provider_name": "Deep Infra", "tag": "deepinfra/fp8", "status": 0,
             "pricing": {"prompt": "0.0000002", "completion": "0.0000006", "discount": 0, "input_cache_read": "0"},
             "quantization": null, "context_length": 1000, "max_completion_tokens": null,
             "supported_parameters": ["tools"], "uptime_last_30m": 90, "latency_last_30m": {"p50": 500, "p75": 700, "p90": 900, "p99": 2000, "p95": 1500},
             "throughput_last_30m": {"p50": 20, "count": 12}}]}}"#;
        let c = Catalog::parse(json).unwrap();
        let ep = &c.models[0].endpoints[0];
        assert_eq!(
            (ep.provider.as_str(), ep.tag.as_str()),
            ("deepinfra", "deepinfra/fp8")
        );
        let prices = (
            ep.pricing.prompt.to_string(),
            ep.pricing.completion.to_string(),
        );
        assert_eq!(prices, ("0.2".to_string(), "0.6".to_string()));
        assert_eq!(ep.uptime, 0.9);
        assert_eq!(ep.latency.and_then(|l| l.p50), Some(0.5));
        assert_eq!(ep.quantization, Quantization::Unknown);
        assert_eq!(ep.max_completion_tokens, None);
        assert!(
            ep.supported_parameters
                .is_some_and(|p| p.contains_name("tools"))
        );
    }
}
