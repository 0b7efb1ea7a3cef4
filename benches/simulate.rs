//! Simulated requests per second on a 16-endpoint model (the issue's target: 10 million per
//! second per core). One iteration simulates one chunk of requests on one thread.
//!
//! Each case is measured twice: `simulate/wall/...` in wall-clock time, and `simulate/cpu/...`
//! in the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which is the per-core
//! figure even when other processes share the cores.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use routesim::{self, SIMULATION_CHUNK as CHUNK, Settings, Simulation};
use routesim::{Catalog, Options, Request, Router};
use std::hint::black_box;
use std::time::Duration;

/// Sixteen endpoints, prices $0.40 to $6.40: thirteen stable, two degraded, one down.
fn catalog() -> Catalog {
    let mut yaml = String::from("models:\n  - id: bench/m16\n    endpoints:\n");
    for i in 0..16 {
        let price = 0.2 + 0.2 * i as f64;
        let uptime = match i {
            5 | 11 => 0.9,
            13 => 0.6,
            _ => 0.999 - 0.002 * (i % 4) as f64,
        };
        yaml.push_str(&format!(
            "      - {{ provider: p{i:02}, pricing: {{ prompt: {price}, completion: {price} }}, \
             uptime: {uptime}, latency: {} }}\n",
            0.3 + 0.05 * i as f64
        ));
    }
    Catalog::parse(&yaml).expect("bench catalog parses")
}

const CASES: [(&str, &str); 3] = [
    ("load_balance", r#"{"model": "bench/m16"}"#),
    (
        "no_fallbacks",
        r#"{"model": "bench/m16", "provider": {"allow_fallbacks": false}}"#,
    ),
    (
        "sort_price",
        r#"{"model": "bench/m16", "provider": {"sort": "price"}}"#,
    ),
];

/// One chunk of requests with a fresh seed, checked so that the work cannot be optimized away.
fn one_chunk(router: &Router, settings: &mut Settings) -> Simulation {
    settings.seed = settings.seed.wrapping_add(1);
    let sim = routesim::simulate(router, black_box(settings));
    let served: f64 = sim.served.iter().map(|s| s.share).sum();
    assert!(
        (served + sim.failed_share - 1.0).abs() < 1e-9,
        "every request is served or failed"
    );
    sim
}

/// CPU time used so far by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the OS defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "the thread CPU clock is available");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn bench(c: &mut Criterion) {
    let catalog = catalog();
    let routers: Vec<(&str, Router, Settings)> = CASES
        .iter()
        .map(|(name, body)| {
            let request = Request::parse(body).expect("bench request parses");
            let router =
                Router::compile(&catalog, &request, &Options::default()).expect("routable");
            let settings = Settings::new(&request, CHUNK, 0);
            (*name, router, settings)
        })
        .collect();
    for clock in ["wall", "cpu"] {
        let mut group = c.benchmark_group(format!("simulate/{clock}/n16"));
        group.throughput(Throughput::Elements(CHUNK));
        group.sample_size(20);
        for (name, router, settings) in &routers {
            let mut settings = *settings;
            group.bench_function(*name, |b| {
                if clock == "wall" {
                    b.iter(|| one_chunk(router, &mut settings));
                } else {
                    b.iter_custom(|iters| {
                        let start = thread_cpu_time();
                        for _ in 0..iters {
                            black_box(one_chunk(router, &mut settings));
                        }
                        thread_cpu_time() - start
                    });
                }
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
