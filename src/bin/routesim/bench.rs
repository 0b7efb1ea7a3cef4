//! `routesim bench`: times compiling, drawing and simulating on the user's own catalog and
//! request, beside a sort baseline measured in the same run, through the library's public API
//! only, as a user's own benchmark would.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use routesim::{Catalog, Options, Request, Router, TargetId};
use serde::Serialize;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One measured operation: per-iteration times over the samples, in nanoseconds.
#[derive(Debug, Serialize)]
pub(crate) struct Figure {
    name: &'static str,
    median_ns: f64,
    min_ns: f64,
    p10_ns: f64,
    p90_ns: f64,
    max_ns: f64,
    iterations: u64,
    /// The median over the baseline's median (1 for the baseline itself).
    ratio_to_baseline: f64,
}

/// The whole report, as `--json` prints it.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Eligible endpoints (targets) of the compiled request: the baseline sorts as many ids.
    targets: usize,
    /// The time budget, shared by the five measurements.
    seconds: f64,
    /// The baseline first, then compile, plan, first and simulate_request.
    benchmarks: Vec<Figure>,
}

/// Samples taken per measurement, at most; each sample times a batch of iterations.
const SAMPLES: u32 = 100;

/// Times `op` for about `budget`: a tenth of it warms up and sizes the batches, the rest takes
/// samples of whole batches until the budget is spent.
fn measure(name: &'static str, budget: Duration, mut op: impl FnMut() -> u64) -> (Figure, u64) {
    let mut sink = 0u64;
    let warm_until = Instant::now() + budget / 10;
    let mut warm = 0u64;
    let warm_start = Instant::now();
    while warm == 0 || Instant::now() < warm_until {
        sink = sink.wrapping_add(op());
        warm += 1;
    }
    let per_op = warm_start.elapsed().as_secs_f64() / warm as f64;
    let sample_time = budget.as_secs_f64() * 0.9 / f64::from(SAMPLES);
    let batch = ((sample_time / per_op.max(1e-9)) as u64).max(1);
    let mut samples = Vec::with_capacity(SAMPLES as usize);
    let deadline = Instant::now() + budget.mul_f64(0.9);
    let mut iterations = 0;
    while samples.is_empty() || (Instant::now() < deadline && samples.len() < SAMPLES as usize) {
        let start = Instant::now();
        for _ in 0..batch {
            sink = sink.wrapping_add(op());
        }
        samples.push(start.elapsed().as_secs_f64() * 1e9 / batch as f64);
        iterations += batch;
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let figure = Figure {
        name,
        median_ns: at(0.5),
        min_ns: samples[0],
        p10_ns: at(0.1),
        p90_ns: at(0.9),
        max_ns: samples[samples.len() - 1],
        iterations,
        ratio_to_baseline: 1.0,
    };
    (figure, sink)
}

/// Runs the five measurements; `router` was compiled from `catalog`, `request` and `options`.
pub(crate) fn run(
    catalog: &Catalog,
    request: &Request,
    options: &Options,
    router: &Router,
    seconds: f64,
    seed: u64,
) -> Report {
    let each = Duration::from_secs_f64(seconds / 5.0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(routesim::mix_seed(seed));
    // The baseline: an unstable sort by price of as many ids as the request has targets.
    let unsorted: Vec<(f64, TargetId)> = router
        .ids()
        .map(|id| (router.target(id).price.to_f64(), id))
        .collect();
    let mut ids = unsorted.clone();
    let mut sink = 0u64;
    let mut figures = Vec::with_capacity(5);
    let (f, s) = measure("sort_baseline", each, || {
        ids.copy_from_slice(&unsorted);
        ids.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        black_box(&ids).first().map_or(0, |x| x.1.index() as u64)
    });
    figures.push(f);
    sink ^= s;
    let (f, s) = measure("compile", each, || {
        let compiled = Router::compile(black_box(catalog), request, options);
        compiled.map_or(0, |r| r.targets().len() as u64)
    });
    figures.push(f);
    sink ^= s;
    let mut buf = router.buffer();
    let (f, s) = measure("plan", each, || {
        router.draw(&mut rng, &mut buf);
        buf.attempts().len() as u64
    });
    figures.push(f);
    sink ^= s;
    let (f, s) = measure("first", each, || router.first(&mut rng).index() as u64);
    figures.push(f);
    sink ^= s;
    // One simulated request: the plan walked until an attempt succeeds, each failing with
    // probability 1 - uptime.
    let (f, s) = measure("simulate_request", each, || {
        let served = router.draw_until(&mut rng, &mut buf, |rng, id| {
            rng.random::<f64>() < router.target(id).uptime
        });
        served.map_or(0, |id| id.index() as u64 + 1)
    });
    figures.push(f);
    black_box(sink ^ s);
    let baseline = figures[0].median_ns;
    for f in &mut figures {
        f.ratio_to_baseline = f.median_ns / baseline;
    }
    Report {
        targets: router.targets().len(),
        seconds,
        benchmarks: figures,
    }
}

/// The readable table.
pub(crate) fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} targets, {} s in all; times per iteration\n\n  {:<17} {:>11} {:>11} {:>11} {:>11} {:>11} {:>12} {:>9}",
        report.targets,
        report.seconds,
        "benchmark",
        "median",
        "min",
        "p10",
        "p90",
        "max",
        "iterations",
        "x sort"
    );
    let t = |ns: f64| match ns {
        ns if ns < 1e3 => format!("{ns:.1} ns"),
        ns if ns < 1e6 => format!("{:.2} us", ns / 1e3),
        ns => format!("{:.2} ms", ns / 1e6),
    };
    for f in &report.benchmarks {
        let _ = writeln!(
            out,
            "  {:<17} {:>11} {:>11} {:>11} {:>11} {:>11} {:>12} {:>8.2}x",
            f.name,
            t(f.median_ns),
            t(f.min_ns),
            t(f.p10_ns),
            t(f.p90_ns),
            t(f.max_ns),
            f.iterations,
            f.ratio_to_baseline
        );
    }
    out
}
