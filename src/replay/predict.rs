//! A group's predicted distributions over its router's targets (SPEC section 10): the first
//! attempt, and the served endpoint when every attempt fails with probability `1 - uptime`,
//! for the documented exponent 2 or any other `alpha` of the weight `price^-alpha`. Exact,
//! except the served distribution of a run longer than [`EXACT_LIMIT`], which is sampled.

use crate::rng;
use crate::router::{Router, Run};
use rand::Rng;

/// The longest weighted run (zero-price or priced part) whose served distribution is computed
/// exactly: the computation walks every subset of the run, 2^n states of n steps each, so 16
/// ids cost about a million steps. Longer runs are sampled.
pub const EXACT_LIMIT: usize = 16;

/// The first-attempt probability of each target under exponent `alpha`. At `alpha == 2` this
/// is the plan's own `first_probability`.
pub(crate) fn first_attempt(router: &Router, alpha: f64) -> Vec<f64> {
    let mut p = vec![0.0; router.targets().len()];
    if alpha == 2.0 {
        for (q, t) in p.iter_mut().zip(router.targets()) {
            *q = t.first_probability;
        }
        return p;
    }
    if let Some((_, runs)) = router.runs().next() {
        for (id, q) in first_pick(router, &runs[0], alpha) {
            p[id] += q;
        }
    }
    p
}

/// The probability that each target serves, given that the request was served, under exponent
/// `alpha`; `None` when a run is longer than [`EXACT_LIMIT`]. All zeros when nothing can serve.
pub(crate) fn served_exact(router: &Router, alpha: f64) -> Option<Vec<f64>> {
    let fail = |id: usize| 1.0 - router.targets()[id].uptime;
    let mut p = vec![0.0; router.targets().len()];
    let mut reach = 1.0;
    for (first_only, runs) in router.runs() {
        if reach == 0.0 {
            break;
        }
        if first_only {
            let mut all_fail = 0.0;
            for (id, q) in first_pick(router, &runs[0], alpha) {
                p[id] += reach * q * (1.0 - fail(id));
                all_fail += q * fail(id);
            }
            reach *= all_fail;
            continue;
        }
        for run in &runs {
            match *run {
                Run::Fixed(ids) => {
                    for id in ids.iter().map(|id| id.index()) {
                        p[id] += reach * (1.0 - fail(id));
                        reach *= fail(id);
                    }
                }
                Run::Weighted { free, priced } => {
                    if free.len() > EXACT_LIMIT || priced.len() > EXACT_LIMIT {
                        return None;
                    }
                    let free: Vec<usize> = free.iter().map(|id| id.index()).collect();
                    reach = successive(&free, &vec![1.0; free.len()], &fail, reach, &mut p);
                    let priced: Vec<usize> = priced.iter().map(|id| id.index()).collect();
                    let w = weights(router, &priced, alpha);
                    reach = successive(&priced, &w, &fail, reach, &mut p);
                }
            }
        }
    }
    normalize(&mut p);
    Some(p)
}

/// The served distribution sampled from `draws` plans walked with failures at `1 - uptime`
/// (exponent 2, the router's own draw), given that the request was served; and how many of the
/// draws were served, which the standard errors are computed from.
pub(crate) fn served_sampled<R: Rng + ?Sized>(
    router: &Router,
    draws: u64,
    rng: &mut R,
) -> (Vec<f64>, u64) {
    let mut counts = vec![0u64; router.targets().len()];
    let mut buf = router.buffer();
    let mut served = 0;
    for _ in 0..draws {
        // Up with probability `uptime` (`<=` for `<` differs once in 2^53 draws).
        let got = router.draw_until(rng, &mut buf, |rng, id| {
            rng::unit(rng) < router.target(id).uptime
        });
        if let Some(id) = got {
            counts[id.index()] += 1;
            served += 1;
        }
    }
    let n = served.max(1) as f64;
    (counts.iter().map(|&c| c as f64 / n).collect(), served)
}

/// Which targets can serve at all, told from the plan's shape alone (used where the served
/// distribution is sampled, so that a rare endpoint no draw served is not called impossible):
/// a target serves only if its uptime is above 0 and every attempt that must come before it
/// can fail.
pub(crate) fn can_serve(router: &Router) -> Vec<bool> {
    let up = |id: usize| router.targets()[id].uptime > 0.0;
    let may_fail = |id: usize| router.targets()[id].uptime < 1.0;
    let mut ok = vec![false; router.targets().len()];
    let mut reach = true;
    for (first_only, runs) in router.runs() {
        if !reach {
            break;
        }
        if first_only {
            let picks = first_pick(router, &runs[0], 2.0);
            for &(id, _) in &picks {
                ok[id] |= up(id);
            }
            reach = picks.iter().any(|&(id, _)| may_fail(id));
            continue;
        }
        for run in &runs {
            let ids: Vec<usize> = match *run {
                Run::Fixed(ids) => ids.iter().map(|id| id.index()).collect(),
                Run::Weighted { free, priced } => {
                    free.iter().chain(priced).map(|id| id.index()).collect()
                }
            };
            let fixed = matches!(run, Run::Fixed(_));
            for &id in &ids {
                if !reach {
                    break;
                }
                ok[id] |= up(id);
                if fixed {
                    reach = may_fail(id);
                }
            }
            if !fixed {
                reach = reach && ids.iter().all(|&id| may_fail(id));
            }
        }
    }
    ok
}

/// The first pick of a run: its first id when fixed; a zero-price id uniformly when the run has
/// any; else a priced id with probability proportional to `price^-alpha`.
fn first_pick(router: &Router, run: &Run, alpha: f64) -> Vec<(usize, f64)> {
    match *run {
        Run::Fixed(ids) => ids
            .first()
            .map(|id| (id.index(), 1.0))
            .into_iter()
            .collect(),
        Run::Weighted { free, .. } if !free.is_empty() => {
            let q = 1.0 / free.len() as f64;
            free.iter().map(|id| (id.index(), q)).collect()
        }
        Run::Weighted { priced, .. } => {
            let ids: Vec<usize> = priced.iter().map(|id| id.index()).collect();
            let w = weights(router, &ids, alpha);
            let total: f64 = w.iter().sum();
            ids.into_iter()
                .zip(w)
                .map(|(id, w)| (id, w / total))
                .collect()
        }
    }
}

/// `price^-alpha` for each id, scaled so the largest is 1 (computed from logarithms, so that no
/// exponent over- or underflows where the ratios do not).
fn weights(router: &Router, ids: &[usize], alpha: f64) -> Vec<f64> {
    let logs: Vec<f64> = ids
        .iter()
        .map(|&id| -alpha * router.targets()[id].price.to_f64().ln())
        .collect();
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    logs.iter().map(|l| (l - top).exp()).collect()
}

/// Successive sampling over `ids` (weights `w`), entered with probability `reach`, each attempt
/// failing with `fail(id)`: adds to `p` the probability that each id serves, and returns the
/// probability that all of them fail. Walks every subset of tried-and-failed ids once.
fn successive(
    ids: &[usize],
    w: &[f64],
    fail: &impl Fn(usize) -> f64,
    reach: f64,
    p: &mut [f64],
) -> f64 {
    let n = ids.len();
    // Shortcuts only: no ids, or no chance to get here, leave `p` as the walk would (mutants of
    // this and of the skip below change speed, not results).
    if n == 0 || reach == 0.0 {
        return reach;
    }
    let mut state = vec![0.0; 1 << n];
    state[0] = reach;
    for s in 0..(1usize << n) {
        let here = state[s];
        if here == 0.0 || s == (1 << n) - 1 {
            continue;
        }
        let left: f64 = (0..n).filter(|j| s & (1 << j) == 0).map(|j| w[j]).sum();
        let untried = (0..n).filter(|j| s & (1 << j) == 0).count() as f64;
        for j in (0..n).filter(|j| s & (1 << j) == 0) {
            // Weights that all underflowed to 0 are drawn evenly.
            let pick = match left > 0.0 {
                true => here * w[j] / left,
                false => here / untried,
            };
            let f = fail(ids[j]);
            p[ids[j]] += pick * (1.0 - f);
            // j is untried, so its bit is clear: `|` and `^` (a mutant) set it alike.
            state[s | (1 << j)] += pick * f;
        }
    }
    state[(1 << n) - 1]
}

fn normalize(p: &mut [f64]) {
    let total: f64 = p.iter().sum();
    if total > 0.0 {
        p.iter_mut().for_each(|q| *q /= total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, Options, Request};
    use rand::SeedableRng;

    const CATALOG: &str = "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 }, uptime: 0.96 }\n      - { provider: b, pricing: { prompt: 2, completion: 0 }, uptime: 0.97 }\n      - { provider: c, pricing: { prompt: 3, completion: 0 }, uptime: 0.99 }\n      - { provider: d, pricing: { prompt: 1, completion: 0 }, uptime: 0.85 }\n      - { provider: e, pricing: { prompt: 1, completion: 0 }, uptime: 0.5 }\n";

    fn router<'c>(catalog: &'c Catalog, request: &str) -> Router<'c> {
        Router::compile(
            catalog,
            &Request::parse(request).unwrap(),
            &Options::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_first_attempt_at_alpha_2_is_the_plans_and_other_alphas_reweigh_it() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let r = router(&catalog, r#"{"model":"m"}"#);
        let own = first_attempt(&r, 2.0);
        let computed = first_attempt(&r, 2.0 + 1e-15);
        for (a, b) in own.iter().zip(&computed) {
            assert!(
                (a - b).abs() < 1e-12,
                "replay's weights are the router's at alpha 2"
            );
        }
        let one = first_attempt(&r, 1.0);
        let total = 1.0 + 0.5 + 1.0 / 3.0;
        assert!((one[0] - 1.0 / total).abs() < 1e-12);
        assert!((one[2] - (1.0 / 3.0) / total).abs() < 1e-12);
        assert_eq!(one[3], 0.0, "degraded endpoints never come first");
    }

    #[test]
    fn the_exact_served_distribution_matches_a_long_simulation() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let r = router(&catalog, r#"{"model":"m"}"#);
        let exact = served_exact(&r, 2.0).unwrap();
        assert!((exact.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let draws = 400_000;
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
        let (sampled, served) = served_sampled(&r, draws, &mut rng);
        assert_eq!(sampled.len(), exact.len(), "one share per target");
        // Everything fails with (0.04 x 0.03 x 0.01 x 0.15 x 0.5) at most: all but a few served.
        assert!(served > draws - 10 && served <= draws, "{served}");
        for (e, s) in exact.iter().zip(&sampled) {
            let se = (e * (1.0 - e) / served as f64).sqrt();
            assert!(
                (e - s).abs() <= 5.0 * se + 1e-12,
                "exact {e}, sampled {s}, se {se}"
            );
        }
        assert!(
            exact[4] > 0.0 && exact[4] < 1e-3,
            "the down endpoint serves only when all else failed"
        );
    }

    #[test]
    fn fixed_and_first_only_plans_serve_in_order() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        let sorted = router(
            &catalog,
            r#"{"model":"m","provider":{"sort":"price","only":["a","b"]}}"#,
        );
        let p = served_exact(&sorted, 2.0).unwrap();
        let served = 0.96 + 0.04 * 0.97;
        assert!((p[0] - 0.96 / served).abs() < 1e-12);
        let first_only = router(
            &catalog,
            r#"{"model":"m","provider":{"allow_fallbacks":false}}"#,
        );
        let p = served_exact(&first_only, 2.0).unwrap();
        let first = first_attempt(&first_only, 2.0);
        let up = [0.96, 0.97, 0.99];
        let total: f64 = (0..3).map(|i| first[i] * up[i]).sum();
        for i in 0..3 {
            assert!((p[i] - first[i] * up[i] / total).abs() < 1e-12);
        }
        assert!(can_serve(&first_only)[..3].iter().all(|&b| b));
        assert!(!can_serve(&first_only)[3], "cut by allow_fallbacks: false");
    }

    /// Under any exponent zero-price endpoints share the first attempt equally; weights are
    /// scaled to the largest so that steep exponents over tiny prices stay finite.
    #[test]
    fn first_picks_share_free_endpoints_and_survive_steep_exponents() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: f, pricing: { prompt: 0, completion: 0 } }\n      - { provider: g, pricing: { prompt: 0, completion: 0 } }\n      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n  - id: tiny\n    endpoints:\n      - { provider: a, pricing: { prompt: 0.000000000000000001, completion: 0 } }\n      - { provider: b, pricing: { prompt: 0.000000000000000002, completion: 0 } }\n").unwrap();
        let r = router(&catalog, r#"{"model":"m"}"#);
        assert_eq!(first_attempt(&r, 1.0), [0.5, 0.5, 0.0]);
        let r = router(&catalog, r#"{"model":"tiny"}"#);
        // Weighed prices of 10^-18 and 2 x 10^-18: price^-20 alone would overflow f64.
        let p = first_attempt(&r, 20.0);
        let want = 1.0 / (1.0 + 2f64.powi(-20));
        assert!((p[0] - want).abs() < 1e-12, "{p:?}");
        assert!((p[1] - (1.0 - want)).abs() < 1e-12, "{p:?}");
    }

    /// The subset walk against a sum over every order of a three-id run: each order's chance
    /// (successive draws by weight), times the chance that each id serves in it.
    #[test]
    fn the_subset_walk_matches_a_sum_over_every_order() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 }, uptime: 0.95 }\n      - { provider: b, pricing: { prompt: 2, completion: 0 }, uptime: 0.96 }\n      - { provider: c, pricing: { prompt: 4, completion: 0 }, uptime: 0.97 }\n").unwrap();
        let r = router(&catalog, r#"{"model":"m"}"#);
        let p = served_exact(&r, 2.0).unwrap();
        let (w, up) = ([1.0, 0.25, 0.0625], [0.95, 0.96, 0.97]);
        let mut want = [0.0; 3];
        for order in [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ] {
            let (mut chance, mut left) = (1.0, 1.3125);
            for &i in &order {
                chance *= w[i] / left;
                left -= w[i];
            }
            let mut reach = chance;
            for &i in &order {
                want[i] += reach * up[i];
                reach *= 1.0 - up[i];
            }
        }
        let total: f64 = want.iter().sum();
        for i in 0..3 {
            assert!((p[i] - want[i] / total).abs() < 1e-12, "{p:?} vs {want:?}");
        }
    }

    /// When every weight left has underflowed to 0, the ids left are drawn evenly: at
    /// exponent 20, prices 10^-18 and 1 weigh 1 and e^-829 = 0.
    #[test]
    fn ids_whose_weights_underflowed_are_drawn_evenly() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 0.000000000000000001, completion: 0 }, uptime: 0.96 }\n      - { provider: b, pricing: { prompt: 1, completion: 0 }, uptime: 0.97 }\n      - { provider: c, pricing: { prompt: 1, completion: 0 }, uptime: 0.98 }\n").unwrap();
        let r = router(&catalog, r#"{"model":"m"}"#);
        let p = served_exact(&r, 20.0).unwrap();
        let (a, b, c) = (0.96, 0.97, 0.98);
        let after_a = 1.0 - a;
        let served_b = after_a * 0.5 * (b + (1.0 - c) * b);
        let served_c = after_a * 0.5 * (c + (1.0 - b) * c);
        let total = a + served_b + served_c;
        let want = [a / total, served_b / total, served_c / total];
        for i in 0..3 {
            assert!((p[i] - want[i]).abs() < 1e-12, "{p:?} vs {want:?}");
        }
    }

    /// SPEC section 4: `allow_fallbacks: false` limits fallbacks inside each model, not to the
    /// next model. The next model serves when the first one's single pick fails.
    #[test]
    fn a_cut_model_falls_through_to_the_next_when_its_pick_fails() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 }, uptime: 0.96 }\n      - { provider: b, pricing: { prompt: 2, completion: 0 }, uptime: 0.97 }\n  - id: n\n    endpoints:\n      - { provider: c, pricing: { prompt: 1, completion: 0 }, uptime: 0.99 }\n").unwrap();
        let r = router(
            &catalog,
            r#"{"models":["m","n"],"provider":{"allow_fallbacks":false}}"#,
        );
        let p = served_exact(&r, 2.0).unwrap();
        // a first with 0.8, b with 0.2 (weights 1 and 1/4).
        let m_fails = 0.8 * 0.04 + 0.2 * 0.03;
        let served = [0.8 * 0.96, 0.2 * 0.97, m_fails * 0.99];
        let total: f64 = served.iter().sum();
        for (i, want) in served.iter().enumerate() {
            assert!(
                (p[i] - want / total).abs() < 1e-12,
                "{i}: {} vs {}",
                p[i],
                want / total
            );
        }
    }

    /// Weighted runs of up to EXACT_LIMIT ids, zero-price or priced, are computed exactly;
    /// one more and the served distribution is sampled instead.
    #[test]
    fn runs_up_to_the_exact_limit_are_computed_exactly() {
        let run = |n: usize, price: u32| {
            let mut yaml = String::from("models:\n  - id: m\n    endpoints:\n");
            for i in 0..n {
                yaml += &format!(
                    "      - {{ provider: p{i}, pricing: {{ prompt: {}, completion: 0 }}, uptime: 0.99 }}\n",
                    price * (i as u32 + 1)
                );
            }
            let catalog = Catalog::parse(&yaml).unwrap();
            let r = router(&catalog, r#"{"model":"m"}"#);
            served_exact(&r, 2.0).is_some()
        };
        assert!(run(EXACT_LIMIT, 1), "16 priced");
        assert!(!run(EXACT_LIMIT + 1, 1), "17 priced");
        assert!(run(EXACT_LIMIT, 0), "16 free");
        assert!(!run(EXACT_LIMIT + 1, 0), "17 free");
    }

    /// A weighted run holding an endpoint that never fails is never passed, whatever order it
    /// is drawn in; an endpoint with uptime 0 never serves.
    #[test]
    fn a_run_with_a_never_failing_endpoint_ends_the_walk() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 }, uptime: 1.0 }\n      - { provider: b, pricing: { prompt: 2, completion: 0 }, uptime: 0.97 }\n      - { provider: c, pricing: { prompt: 1, completion: 0 }, uptime: 0.9 }\n      - { provider: d, pricing: { prompt: 1, completion: 0 }, uptime: 0.0 }\n").unwrap();
        let r = router(&catalog, r#"{"model":"m"}"#);
        assert_eq!(can_serve(&r), [true, true, false, false]);
        let exact: Vec<bool> = served_exact(&r, 2.0)
            .unwrap()
            .iter()
            .map(|&p| p > 0.0)
            .collect();
        assert_eq!(exact, [true, true, false, false]);
        let r = router(&catalog, r#"{"model":"m","provider":{"ignore":["a"]}}"#);
        assert_eq!(
            can_serve(&r),
            [true, true, false],
            "b, c; d is down for good"
        );
    }

    #[test]
    fn nothing_serves_when_every_endpoint_is_down_for_good() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 }, uptime: 0 }\n      - { provider: b, pricing: { prompt: 2, completion: 0 }, uptime: 0 }\n").unwrap();
        let r = router(&catalog, r#"{"model":"m"}"#);
        assert_eq!(
            served_exact(&r, 2.0).unwrap(),
            [0.0, 0.0],
            "zeros, not 0 / 0"
        );
        assert_eq!(can_serve(&r), [false, false]);
    }

    #[test]
    fn an_endpoint_behind_one_that_never_fails_can_never_serve() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 0 } }\n      - { provider: b, pricing: { prompt: 2, completion: 0 } }\n").unwrap();
        let r = router(&catalog, r#"{"model":"m","provider":{"sort":"price"}}"#);
        assert_eq!(can_serve(&r), [true, false]);
        assert_eq!(served_exact(&r, 2.0).unwrap(), [1.0, 0.0]);
    }

    #[test]
    fn what_can_serve_is_what_the_exact_distribution_gives_a_chance() {
        let catalog = Catalog::parse(CATALOG).unwrap();
        for request in [
            r#"{"model":"m"}"#,
            r#"{"model":"m","provider":{"sort":"price"}}"#,
            r#"{"model":"m","provider":{"order":["c","b"],"allow_fallbacks":false}}"#,
            r#"{"model":"m","provider":{"allow_fallbacks":false}}"#,
            r#"{"model":"m","provider":{"ignore":["a"]}}"#,
        ] {
            let r = router(&catalog, request);
            let exact: Vec<bool> = served_exact(&r, 2.0)
                .unwrap()
                .iter()
                .map(|&p| p > 0.0)
                .collect();
            assert_eq!(can_serve(&r), exact, "{request}");
        }
    }
}
