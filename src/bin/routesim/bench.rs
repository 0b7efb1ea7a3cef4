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
///
/// Only the per-iteration conversion of a sample decides what the report says (tested below);
/// the warm-up length, the batch sizing and the loop bounds decide how long this runs and how
/// steady the figures are, so a mutant there changes timing quality, not the report's meaning
/// (cargo mutants lists them as missed; see the README's test section). The `sink` folds keep
/// the optimizer from removing `op` and change nothing else.
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
    let batch = batch_size(budget.as_secs_f64() * 0.9 / f64::from(SAMPLES), per_op);
    let mut samples = Vec::with_capacity(SAMPLES as usize);
    let deadline = Instant::now() + budget.mul_f64(0.9);
    let mut iterations = 0;
    // At least one sample, whatever the budget; the deadline and the sample cap only bound the
    // time spent (mutating them changes how long this runs, not what the report says).
    while samples.is_empty() || (Instant::now() < deadline && samples.len() < SAMPLES as usize) {
        let start = Instant::now();
        for _ in 0..batch {
            sink = sink.wrapping_add(op());
        }
        samples.push(start.elapsed().as_secs_f64() * 1e9 / batch as f64);
        iterations += batch;
    }
    (summarize(name, samples, iterations), sink)
}

/// Iterations per sample so that one sample takes about `sample_time` seconds, given one
/// iteration took `per_op` seconds while warming up; at least 1.
fn batch_size(sample_time: f64, per_op: f64) -> u64 {
    ((sample_time / per_op.max(1e-9)) as u64).max(1)
}

/// The figure for per-iteration sample times (nanoseconds, at least one sample): quantiles by
/// nearest rank over the sorted samples, the ratio left at 1 for [`set_ratios`].
fn summarize(name: &'static str, mut samples: Vec<f64>, iterations: u64) -> Figure {
    samples.sort_by(f64::total_cmp);
    let last = samples.len().saturating_sub(1);
    let at = |q: f64| {
        samples
            .get((last as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Figure {
        name,
        median_ns: at(0.5),
        min_ns: at(0.0),
        p10_ns: at(0.1),
        p90_ns: at(0.9),
        max_ns: at(1.0),
        iterations,
        ratio_to_baseline: 1.0,
    }
}

/// Each figure's median over the first figure's (the baseline's).
fn set_ratios(figures: &mut [Figure]) {
    let Some(baseline) = figures.first().map(|f| f.median_ns) else {
        return;
    };
    for f in figures {
        f.ratio_to_baseline = f.median_ns / baseline;
    }
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
    // The five share the budget (timing only: a mutant here changes how long the run takes).
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
    // probability 1 - uptime. (What is served only feeds the sink: mutating the comparison
    // changes how many attempts are walked, which is timing, not the report.)
    let (f, s) = measure("simulate_request", each, || {
        let served = router.draw_until(&mut rng, &mut buf, |rng, id| {
            rng.random::<f64>() < router.target(id).uptime
        });
        served.map_or(0, |id| id.index() as u64 + 1)
    });
    figures.push(f);
    black_box(sink ^ s);
    set_ratios(&mut figures);
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
    for f in &report.benchmarks {
        let _ = writeln!(
            out,
            "  {:<17} {:>11} {:>11} {:>11} {:>11} {:>11} {:>12} {:>8.2}x",
            f.name,
            time(f.median_ns),
            time(f.min_ns),
            time(f.p10_ns),
            time(f.p90_ns),
            time(f.max_ns),
            f.iterations,
            f.ratio_to_baseline
        );
    }
    out
}

/// A per-iteration time in the unit that keeps it readable: ns below 1 us, us below 1 ms.
fn time(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.1} ns"),
        ns if ns < 1e6 => format!("{:.2} us", ns / 1e3),
        ns => format!("{:.2} ms", ns / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_taken_by_nearest_rank_over_the_sorted_samples() {
        // 11 samples, shuffled: ranks 0..=10, so p10 is rank 1, the median rank 5, p90 rank 9.
        let samples = vec![
            70.0, 10.0, 100.0, 0.0, 50.0, 30.0, 90.0, 20.0, 60.0, 40.0, 80.0,
        ];
        let f = summarize("x", samples, 42);
        assert_eq!(
            (f.min_ns, f.p10_ns, f.median_ns, f.p90_ns, f.max_ns),
            (0.0, 10.0, 50.0, 90.0, 100.0)
        );
        assert_eq!(f.iterations, 42);
        assert_eq!(f.ratio_to_baseline, 1.0);
    }

    #[test]
    fn per_iteration_times_lie_between_the_work_done_and_the_time_spent() {
        // Each iteration spins for at least 2 us, so no per-iteration figure can be below that;
        // and the samples together cannot account for more time than the whole call took.
        // Both hold on any machine, however loaded: bounds, not timings.
        let floor = Duration::from_micros(2);
        let start = Instant::now();
        let (f, _) = measure("spin", Duration::from_millis(40), || {
            let t = Instant::now();
            while t.elapsed() < floor {}
            1
        });
        let spent_ns = start.elapsed().as_secs_f64() * 1e9;
        assert!(
            f.min_ns >= 2000.0,
            "an iteration takes at least 2 us: {f:?}"
        );
        assert!(
            f.min_ns * f.iterations as f64 <= spent_ns,
            "iterations x the fastest iteration fit in the {spent_ns} ns spent: {f:?}"
        );
        assert!(
            f.iterations > 1,
            "a 40 ms budget holds more than one 2 us iteration"
        );
    }

    #[test]
    fn one_sample_is_every_quantile() {
        let f = summarize("x", vec![7.0], 1);
        assert_eq!((f.min_ns, f.median_ns, f.max_ns), (7.0, 7.0, 7.0));
    }

    #[test]
    fn ratios_divide_by_the_baseline_median() {
        let mut figures = vec![
            summarize("base", vec![4.0], 1),
            summarize("a", vec![10.0], 1),
            summarize("b", vec![2.0], 1),
        ];
        set_ratios(&mut figures);
        let ratios: Vec<f64> = figures.iter().map(|f| f.ratio_to_baseline).collect();
        assert_eq!(ratios, [1.0, 2.5, 0.5]);
        set_ratios(&mut []);
    }

    #[test]
    fn batches_fill_a_sample_and_hold_at_least_one_iteration() {
        assert_eq!(batch_size(0.01, 0.001), 10);
        assert_eq!(
            batch_size(0.001, 0.01),
            1,
            "an iteration longer than a sample"
        );
        // A warm-up too fast to time counts as 1 ns per iteration.
        // (1e-6 / 1e-9 is 999.99... in binary, so 999 or 1000.)
        assert!((999..=1000).contains(&batch_size(1e-6, 0.0)));
    }

    #[test]
    fn times_change_unit_at_a_microsecond_and_a_millisecond() {
        assert_eq!(time(999.0), "999.0 ns");
        assert_eq!(time(1e3), "1.00 us");
        assert_eq!(time(2.5e5), "250.00 us");
        assert_eq!(time(1e6), "1.00 ms");
        assert_eq!(time(3.25e6), "3.25 ms");
    }

    #[test]
    fn the_table_has_a_row_per_benchmark_with_its_ratio() {
        let mut benchmarks = vec![
            summarize("sort_baseline", vec![100.0], 5),
            summarize("plan", vec![300.0], 7),
        ];
        set_ratios(&mut benchmarks);
        let report = Report {
            targets: 3,
            seconds: 0.5,
            benchmarks,
        };
        let table = table(&report);
        assert!(table.starts_with("3 targets, 0.5 s in all"), "{table}");
        let plan = table
            .lines()
            .find(|l| l.trim_start().starts_with("plan"))
            .unwrap();
        assert!(
            plan.contains("300.0 ns") && plan.contains(" 7 ") && plan.ends_with("3.00x"),
            "{plan}"
        );
    }
}
