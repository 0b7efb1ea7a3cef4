//! Selection speed (issue 4): compiling a request, drawing full plans under each strategy and
//! drawing only the first pick, for catalogs of 4 to 1024 endpoints generated from a seed, each
//! beside a baseline that only sorts the same endpoints by price; and loading a catalog of
//! 1,000 models x 10 endpoints from YAML and from JSON text; and loading a directory of 306
//! OpenRouter listings as one catalog (`load/site/306`: the fixture listings copied under
//! distinct model ids, the size of the real 2026-07-31 capture).
//!
//! Ids are paths: `compile/n16/load_balance`, `plan/n16/sort_price`, `first/n16/load_balance`,
//! `plan/n16/price_sort_baseline`, `load/yaml/1000x10`. Reproduce the README table with
//! `cargo bench --bench routing -- --warm-up-time 1 --measurement-time 2`.

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use routesim::{
    Catalog, DataCollection, Endpoint, Model, Money, Options, Parameters, Percentiles, Pricing,
    Quantization, Request, Router,
};
use serde_json::{Map, Value, json};
use std::hint::black_box;

/// Endpoint counts of the generated single-model catalogs.
const SIZES: [usize; 5] = [4, 16, 64, 256, 1024];
/// Seed for catalog generation; a second, fixed seed drives the draws.
const CATALOG_SEED: u64 = 0x00C0_FFEE;
const DRAW_SEED: u64 = 7;
const MODEL: &str = "bench/model";

/// The requests benchmarked on every catalog, by id.
const REQUESTS: [(&str, &str); 7] = [
    ("load_balance", r#"{"model": "bench/model"}"#),
    (
        "sort_price",
        r#"{"model": "bench/model", "provider": {"sort": "price"}}"#,
    ),
    (
        "sort_throughput",
        r#"{"model": "bench/model", "provider": {"sort": "throughput"}}"#,
    ),
    (
        "sort_latency",
        r#"{"model": "bench/model", "provider": {"sort": "latency"}}"#,
    ),
    (
        "sort_exacto",
        r#"{"model": "bench/model", "provider": {"sort": "exacto"}}"#,
    ),
    // Three named endpoints first, then the rest load-balanced.
    (
        "order",
        r#"{"model": "bench/model", "provider": {"order": ["p0002", "p0000", "p0003"]}}"#,
    ),
    // Several hard filters and a soft `tools` preference at once.
    (
        "filters",
        r#"{"model": "bench/model", "max_tokens": 2048, "temperature": 0.7,
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "provider": {"quantizations": ["fp8", "bf16", "unknown"], "ignore": ["p0001"],
                         "max_price": {"prompt": 4}}}"#,
    ),
];

const QUANTIZATIONS: [Quantization; 5] = [
    Quantization::Fp8,
    Quantization::Bf16,
    Quantization::Int4,
    Quantization::Unknown,
    Quantization::Fp16,
];

/// One generated endpoint: provider `p{i:04}`, prices spread over two orders of magnitude,
/// mostly stable uptime with some degraded and down endpoints, and a few free ones.
fn endpoint(rng: &mut Xoshiro256PlusPlus, i: usize) -> Endpoint {
    let provider = format!("p{i:04}");
    let free = rng.random_range(0..32) == 0;
    let prompt = if free {
        0.0
    } else {
        rng.random_range(0.05..5.0)
    };
    let band = rng.random_range(0.0..1.0);
    let uptime = if band < 0.8 {
        rng.random_range(0.95..=1.0)
    } else if band < 0.92 {
        rng.random_range(0.80..0.95)
    } else {
        rng.random_range(0.3..0.80)
    };
    let mut params = vec!["temperature", "top_p", "max_tokens", "stop"];
    if rng.random_bool(0.7) {
        params.push("tools");
    }
    if rng.random_bool(0.5) {
        params.push("response_format");
    }
    Endpoint {
        tag: provider.clone(),
        key: provider.clone(),
        provider_name: Some(format!("Provider {i}")),
        provider,
        pricing: Pricing {
            prompt: dollars(prompt),
            completion: dollars(prompt * rng.random_range(1.0..4.0)),
            request: None,
            image: None,
        },
        throughput: rng
            .random_bool(0.9)
            .then(|| Percentiles::p50(rng.random_range(10.0..200.0))),
        latency: rng
            .random_bool(0.9)
            .then(|| Percentiles::p50(rng.random_range(0.1..3.0))),
        uptime,
        quantization: QUANTIZATIONS[rng.random_range(0..QUANTIZATIONS.len())],
        context_length: Some(if rng.random_bool(0.5) {
            32_768
        } else {
            131_072
        }),
        max_completion_tokens: rng.random_bool(0.6).then_some(8192),
        supported_parameters: Some(Parameters::from_names(params)),
        data_collection: if rng.random_bool(0.6) {
            DataCollection::Deny
        } else {
            DataCollection::Allow
        },
        zdr: rng.random_bool(0.3),
        distillable: rng.random_bool(0.9),
        quality: rng.random_bool(0.5).then(|| rng.random_range(0.0..1.0)),
        tier: None,
        status: 0,
    }
}

/// A generated price as an exact amount, to the nano-dollar (the draws of the generator stay
/// those of the f64 prices before money was exact, so the catalogs are the same up to that).
fn dollars(price: f64) -> Money {
    Money::from_decimal((price * 1e9).round() as u128, 9).expect("a small price")
}

/// A catalog of one model with `n` endpoints, the same for the same `n` in every run.
fn single_model(n: usize) -> Catalog {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(CATALOG_SEED ^ n as u64);
    Catalog {
        models: vec![Model {
            id: MODEL.to_string(),
            endpoints: (0..n).map(|i| endpoint(&mut rng, i)).collect(),
        }],
    }
}

fn request(text: &str) -> Request {
    Request::parse(text).expect("benchmark requests are valid")
}

fn router<'c>(catalog: &'c Catalog, text: &str) -> Router<'c> {
    Router::compile(catalog, &request(text), &Options::default())
        .expect("every benchmark request routes on every generated catalog")
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    for n in SIZES {
        let catalog = single_model(n);
        for (name, text) in [REQUESTS[0], REQUESTS[6]] {
            // Time the success path only: an unroutable request would time an early error.
            let eligible = router(&catalog, text).targets().len();
            eprintln!("n{n}/{name}: {eligible} of {n} endpoints eligible");
            let request = request(text);
            let options = Options::default();
            group.bench_function(BenchmarkId::new(format!("n{n}"), name), |b| {
                b.iter(|| black_box(Router::compile(black_box(&catalog), &request, &options)))
            });
        }
    }
    group.finish();
}

/// Listings in the real capture of OpenRouter's site (`../shared/data/openrouter-2026-07-31`).
const SITE_FILES: usize = 306;

/// A directory of [`SITE_FILES`] listings, `m000__x.json` ..., made from the fixture listings
/// in turn, each under a model id of its own, plus the `manifest.json` that `routesim fetch`
/// writes beside them (skipped by the loader). Benches may not read `../shared`.
fn site_directory() -> std::path::PathBuf {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openrouter");
    let mut listings: Vec<std::path::PathBuf> = std::fs::read_dir(&fixtures)
        .expect("fixtures/openrouter is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    listings.sort();
    let listings: Vec<Value> = listings
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).expect("a fixture reads")).expect("JSON"))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-site");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    for i in 0..SITE_FILES {
        let mut listing = listings[i % listings.len()].clone();
        listing["data"]["id"] = json!(format!("bench/m{i:03}"));
        let text = serde_json::to_string_pretty(&listing).expect("a listing serializes");
        std::fs::write(dir.join(format!("m{i:03}__x.json")), text).expect("write a listing");
    }
    std::fs::write(dir.join("manifest.json"), r#"{"models": []}"#).expect("write a manifest");
    dir
}

fn plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    for n in SIZES {
        let catalog = single_model(n);
        // Baseline: only sort the same endpoints by price, from catalog order every time.
        let prices: Vec<f64> = catalog.models[0]
            .endpoints
            .iter()
            .map(|ep| {
                ep.pricing
                    .prompt
                    .saturating_add(ep.pricing.completion)
                    .to_f64()
            })
            .collect();
        let unsorted: Vec<u32> = (0..n as u32).collect();
        let mut ids = unsorted.clone();
        group.bench_function(
            BenchmarkId::new(format!("n{n}"), "price_sort_baseline"),
            |b| {
                b.iter(|| {
                    ids.copy_from_slice(&unsorted);
                    ids.sort_unstable_by(|&x, &y| {
                        prices[x as usize].total_cmp(&prices[y as usize])
                    });
                    black_box(ids.as_slice());
                })
            },
        );
        for (name, text) in REQUESTS {
            let router = router(&catalog, text);
            let mut buf = router.buffer();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(DRAW_SEED);
            group.bench_function(BenchmarkId::new(format!("n{n}"), name), |b| {
                b.iter(|| {
                    router.draw(&mut rng, &mut buf);
                    black_box(buf.attempts());
                })
            });
        }
    }
    group.finish();
}

fn first(c: &mut Criterion) {
    let mut group = c.benchmark_group("first");
    for n in SIZES {
        let catalog = single_model(n);
        let router = router(&catalog, REQUESTS[0].1);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(DRAW_SEED);
        group.bench_function(BenchmarkId::new(format!("n{n}"), "load_balance"), |b| {
            b.iter(|| black_box(router.first(&mut rng)))
        });
    }
    group.finish();
}

/// The native catalog as a JSON value: 1,000 models x 10 endpoints, every field routing reads.
fn large_catalog() -> Value {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(CATALOG_SEED);
    let models: Vec<Value> = (0..1000)
        .map(|m| {
            let endpoints: Vec<Value> = (0..10)
                .map(|i| {
                    let ep = endpoint(&mut rng, i);
                    let mut obj = Map::new();
                    obj.insert("provider".into(), json!(ep.provider));
                    obj.insert("provider_name".into(), json!(ep.provider_name));
                    obj.insert(
                        "pricing".into(),
                        json!({"prompt": ep.pricing.prompt, "completion": ep.pricing.completion}),
                    );
                    if let Some(t) = ep.throughput {
                        obj.insert("throughput".into(), json!(t));
                    }
                    if let Some(l) = ep.latency {
                        obj.insert("latency".into(), json!(l));
                    }
                    obj.insert("uptime".into(), json!(ep.uptime));
                    obj.insert("quantization".into(), json!(ep.quantization));
                    obj.insert("context_length".into(), json!(ep.context_length));
                    obj.insert(
                        "max_completion_tokens".into(),
                        json!(ep.max_completion_tokens),
                    );
                    let params: Vec<&str> = routesim::PARAMETERS
                        .iter()
                        .copied()
                        .filter(|p| ep.supported_parameters.is_some_and(|s| s.contains_name(p)))
                        .collect();
                    obj.insert("supported_parameters".into(), json!(params));
                    obj.insert("data_collection".into(), json!(ep.data_collection));
                    obj.insert("zdr".into(), json!(ep.zdr));
                    if let Some(q) = ep.quality {
                        obj.insert("quality".into(), json!(q));
                    }
                    Value::Object(obj)
                })
                .collect();
            json!({"id": format!("bench/model-{m:04}"), "endpoints": endpoints})
        })
        .collect();
    json!({ "models": models })
}

fn load(c: &mut Criterion) {
    let value = large_catalog();
    let texts = [
        (
            "yaml",
            serde_yaml::to_string(&value).expect("a JSON value serializes to YAML"),
        ),
        ("json", value.to_string()),
    ];
    for (format, text) in &texts {
        // Measure the success path only: a text the loader refused would time an early error.
        let parsed = Catalog::parse(text).unwrap_or_else(|e| panic!("{format} catalog: {e:?}"));
        assert_eq!(
            parsed.models.len() * parsed.models[0].endpoints.len(),
            10_000
        );
    }
    let mut group = c.benchmark_group("load");
    // Each parse takes tens of milliseconds: flat sampling keeps the run short.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for (format, text) in &texts {
        group.bench_function(BenchmarkId::new(*format, "1000x10"), |b| {
            b.iter(|| black_box(Catalog::parse(black_box(text))))
        });
    }
    let site = site_directory();
    group.bench_function(BenchmarkId::new("site", SITE_FILES), |b| {
        b.iter(|| {
            let catalog = Catalog::from_paths(black_box(&[&site]));
            assert_eq!(catalog.map(|c| c.models.len()).ok(), Some(SITE_FILES));
        })
    });
    group.finish();
}

/// The README's `routesim bench` example, on the same fixture and request: `fixture/*` times the
/// same calls, so the two tools' figures can be compared on one catalog.
fn fixture(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let catalog = Catalog::from_path(std::path::Path::new(&format!(
        "{root}/fixtures/deepseek-r1.yaml"
    )))
    .expect("the fixture loads");
    let request = Request::from_path(std::path::Path::new(&format!(
        "{root}/fixtures/requests/default.json"
    )))
    .expect("the request loads");
    let options = Options::default();
    let router = Router::compile(&catalog, &request, &options).expect("the fixture routes");
    let mut group = c.benchmark_group("fixture");
    group.bench_function("deepseek-r1/compile", |b| {
        b.iter(|| black_box(Router::compile(black_box(&catalog), &request, &options)))
    });
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let mut buf = router.buffer();
    group.bench_function("deepseek-r1/plan", |b| {
        b.iter(|| {
            router.draw(&mut rng, &mut buf);
            black_box(buf.attempts().len())
        })
    });
    group.finish();
}

criterion_group!(benches, compile, plan, first, load, fixture);
criterion_main!(benches);
