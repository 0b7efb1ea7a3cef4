//! Shared by the property-test files: a runner that counts how many cases a property really
//! exercised.

use proptest::strategy::Strategy;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::cell::Cell;

/// Runs a property as `proptest!` does, with `config` (cases from `PROPTEST_CASES`, shrinking,
/// the regressions file), counting the cases whose `check` returned `Ok(true)`: those it
/// exercised rather than skipped (a check that needs a routable request skips unroutable ones).
/// Fails when fewer than `min_share` of the cases were exercised, so that a strategy drifting
/// towards cases a check skips cannot leave the property checking nothing.
pub fn run_counting<S: Strategy>(
    name: &str,
    config: proptest::test_runner::Config,
    strategy: S,
    min_share: f64,
    check: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) {
    let seen = Cell::new(0u32);
    let exercised = Cell::new(0u32);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        seen.set(seen.get() + 1);
        if check(value)? {
            exercised.set(exercised.get() + 1);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{name}: {err}");
    }
    let share = f64::from(exercised.get()) / f64::from(seen.get().max(1));
    eprintln!(
        "{name}: {} of {} cases exercised ({share:.2})",
        exercised.get(),
        seen.get()
    );
    assert!(
        share >= min_share,
        "{name}: only {} of {} cases exercised the property; at least a share of {min_share} \
         must, or the strategy has drifted towards cases the check skips",
        exercised.get(),
        seen.get()
    );
}
