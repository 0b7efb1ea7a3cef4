//! Proves the hot path allocation-free (SPEC section 5a): a compiled router draws plans into a
//! buffer from [`Router::buffer`] without touching the heap, under every strategy.
//!
//! This binary installs a counting global allocator. The count is per thread, so the test
//! harness and other tests running on other threads cannot disturb it.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use routesim::{Catalog, Options, Request, Router};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // `const` initialisation: reading it never allocates, so the allocator cannot recurse.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the slot may be gone; those allocations are not ours.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// thread-local `Cell` that needs no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made on this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const DRAWS: usize = 5_000;

/// Two models: one with 160 endpoints (its stable band, about 89 priced, is past the
/// linear-scan limit of 63, so the sorted-keys path runs with its scratch), free ones and every
/// uptime band; one small fallback model.
fn catalog() -> Catalog {
    let mut yaml = String::from("models:\n  - id: big/m\n    endpoints:\n");
    for i in 0..160 {
        let price = if i % 13 == 5 {
            0.0
        } else {
            0.1 + i as f64 * 0.37 % 5.0
        };
        let uptime = [1.0, 0.99, 0.97, 0.9, 0.5][i % 5];
        let quant = ["fp8", "bf16", "int4", "fp16"][i % 4];
        let tools = if i % 3 == 0 {
            "[temperature]"
        } else {
            "[temperature, tools]"
        };
        yaml += &format!(
            "      - {{ provider: p{i}, pricing: {{ prompt: {price}, completion: {price} }}, \
             uptime: {uptime}, throughput: {}, latency: {}, quality: {}, quantization: {quant}, \
             supported_parameters: {tools} }}\n",
            10 + i * 7 % 90,
            0.1 + (i * 11 % 30) as f64 / 10.0,
            (i * 17 % 100) as f64 / 100.0,
        );
    }
    yaml += "  - id: small/m\n    endpoints:\n";
    for (p, price) in [("a", 1.0), ("b", 2.0), ("c", 3.0)] {
        yaml += &format!(
            "      - {{ provider: {p}, pricing: {{ prompt: {price}, completion: 1 }} }}\n"
        );
    }
    Catalog::parse(&yaml).expect("the generated catalog is valid")
}

/// One request per strategy and shape of plan.
const REQUESTS: [&str; 11] = [
    r#"{"model": "big/m"}"#,
    r#"{"model": "big/m", "models": ["small/m"]}"#,
    r#"{"model": "big/m", "provider": {"sort": "price"}}"#,
    r#"{"model": "big/m", "provider": {"sort": "throughput"}}"#,
    r#"{"model": "big/m", "provider": {"sort": "latency"}}"#,
    r#"{"model": "big/m", "provider": {"sort": "exacto"}}"#,
    r#"{"model": "big/m", "models": ["small/m"], "provider": {"sort": {"by": "price", "partition": "none"}}}"#,
    r#"{"model": "big/m", "provider": {"order": ["p7", "p3", "p20"]}}"#,
    r#"{"model": "big/m", "provider": {"order": ["p7", "p3"], "allow_fallbacks": false}}"#,
    r#"{"model": "big/m", "models": ["small/m"], "provider": {"allow_fallbacks": false}}"#,
    r#"{"model": "big/m", "tools": [{"type": "function"}], "provider": {"quantizations": ["fp8", "bf16"], "ignore": ["p2"], "preferred_min_throughput": 40}}"#,
];

/// One router per request; the catalog is leaked so the routers can borrow it for the test.
fn routers() -> Vec<Router<'static>> {
    let catalog: &'static Catalog = Box::leak(Box::new(catalog()));
    REQUESTS
        .iter()
        .map(|text| {
            let request = Request::parse(text).expect("test requests are valid");
            Router::compile(catalog, &request, &Options::default())
                .unwrap_or_else(|e| panic!("{text} routes: {e}"))
        })
        .collect()
}

#[test]
fn the_counter_sees_allocations_on_this_thread() {
    // Without this, a broken counter would make the zero-allocation tests pass vacuously.
    let n = allocations_during(|| {
        let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(8));
        drop(v);
    });
    assert_eq!(n, 1, "one Vec::with_capacity is one allocation");
    let routers = routers();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let n = allocations_during(|| {
        std::hint::black_box(routers[0].plan(&mut rng));
    });
    assert!(n > 0, "Router::plan builds owned data, so it must allocate");
}

#[test]
fn drawing_plans_into_a_buffer_never_allocates() {
    for (router, text) in routers().iter().zip(REQUESTS) {
        let mut buf = router.buffer();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
        let mut attempts = 0usize;
        let n = allocations_during(|| {
            for _ in 0..DRAWS {
                router.draw(&mut rng, &mut buf);
                attempts += buf.attempts().len();
            }
        });
        assert_eq!(n, 0, "{text}: draw allocated {n} times in {DRAWS} draws");
        assert!(attempts >= DRAWS, "{text}: every plan has an attempt");
    }
}

#[test]
fn walking_plans_and_first_picks_never_allocate() {
    for (router, text) in routers().iter().zip(REQUESTS) {
        let mut buf = router.buffer();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(43);
        let mut sum = 0u64;
        let n = allocations_during(|| {
            for _ in 0..DRAWS {
                // Stop at each attempt with probability 1/3, as a simulation with failures would.
                let stopped = router.draw_until(&mut rng, &mut buf, |rng, _| {
                    rand::Rng::next_u32(rng) % 3 == 0
                });
                sum += stopped.map_or(0, |id| id.index() as u64);
                sum += router.first(&mut rng).index() as u64;
            }
        });
        assert_eq!(n, 0, "{text}: draw_until/first allocated {n} times");
        std::hint::black_box(sum);
    }
}
