//! The readable forms of the command's output: the plan table, exclusion lists and the
//! simulation report. The library's types carry the facts; how a terminal shows them is the
//! binary's business.

use routesim::{Attempt, Exclusion, Money, Plan, Served, Simulation};
use std::fmt;

/// A row's name in every table: the endpoint, after its model when several models appear, and
/// marked when it is an attempt on the account's own key.
fn label(multi_model: bool, model: &str, endpoint: &str, byok: bool) -> String {
    let own_key = if byok { " (byok)" } else { "" };
    if multi_model {
        format!("{model}  {endpoint}{own_key}")
    } else {
        format!("{endpoint}{own_key}")
    }
}

/// The readable table printed by `routesim route` without `--json`.
pub(crate) fn plan(f: &mut impl fmt::Write, plan: &Plan) -> fmt::Result {
    writeln!(f, "strategy: {}", plan.strategy.as_str())?;
    let multi_model = plan
        .attempts
        .iter()
        .any(|a| a.model != plan.attempts[0].model);
    let name = |a: &Attempt| label(multi_model, &a.model, &a.endpoint, a.byok);
    let width = plan
        .attempts
        .iter()
        .map(|a| name(a).len())
        .max()
        .unwrap_or(0)
        .max("endpoint".len());
    // Prices and costs print as the exact decimals they are (SPEC section 8), so the columns
    // are as wide as the longest one.
    let price_width = column(plan.attempts.iter().map(|a| dollars(a.price)), "price");
    let cost_width = column(plan.attempts.iter().map(|a| dollars(a.cost)), "cost");
    writeln!(
        f,
        "\n  {:>2}  {:<width$}  {:>price_width$}  {:>cost_width$}  {:>8}",
        "#", "endpoint", "price", "cost", "P(first)"
    )?;
    for (i, a) in plan.attempts.iter().enumerate() {
        writeln!(
            f,
            "  {:>2}  {:<width$}  {:>price_width$}  {:>cost_width$}  {:>7.2}%",
            i + 1,
            name(a),
            dollars(a.price),
            dollars(a.cost),
            a.first_probability * 100.0
        )?;
    }
    let usage = &plan.usage;
    let assumed = if usage.assumed {
        ", assumed: the request has no usage_estimate"
    } else {
        ""
    };
    writeln!(
        f,
        "\nexpected first cost {}  (cost per attempt for {} prompt + {} completion tokens{assumed})",
        dollars(plan.expected_first_cost),
        usage.prompt_tokens,
        usage.completion_tokens
    )?;
    if !plan.excluded.is_empty() {
        writeln!(f, "\nexcluded:")?;
        exclusions(f, &plan.excluded)?;
    }
    if !plan.warnings.is_empty() {
        writeln!(f, "\nwarnings:")?;
        for w in &plan.warnings {
            writeln!(f, "  - {w}")?;
        }
    }
    Ok(())
}

/// Writes exclusions as an aligned list: endpoint (with its model when several models appear),
/// reason code, detail.
pub(crate) fn exclusions(f: &mut impl fmt::Write, excluded: &[Exclusion]) -> fmt::Result {
    let multi_model = excluded.iter().any(|e| e.model != excluded[0].model);
    let name = |e: &Exclusion| label(multi_model, &e.model, &e.endpoint, false);
    let width = excluded.iter().map(|e| name(e).len()).max().unwrap_or(0);
    for e in excluded {
        writeln!(
            f,
            "  {:<width$}  {:<18}  {}",
            name(e),
            e.reason.code(),
            e.reason.detail()
        )?;
    }
    Ok(())
}

/// An amount as `$` and its exact decimal, padded to whole cents (`$4.00`, `$2.65`, `$0.001575`,
/// `$5.500000000000001`): zeros added, never digits dropped.
fn dollars(m: Money) -> String {
    let text = m.to_string();
    let places = text.split_once('.').map_or(0, |(_, frac)| frac.len());
    let pad = match places {
        0 => ".00",
        1 => "0",
        _ => "",
    };
    format!("${text}{pad}")
}

/// The width of a column: its longest cell or its heading.
fn column(cells: impl Iterator<Item = String>, heading: &str) -> usize {
    cells.map(|c| c.len()).max().unwrap_or(0).max(heading.len())
}

/// Width of a full bar (100% of requests) in terminal columns.
const BAR_WIDTH: usize = 40;

/// A horizontal bar of `share` of [`BAR_WIDTH`] columns, in eighths of a column.
fn bar(share: f64) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (share.clamp(0.0, 1.0) * (BAR_WIDTH * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        s.push(EIGHTHS[eighths % 8]);
    }
    s
}

/// The readable report printed by `routesim simulate` without `--json`: a table with the
/// exact values beside the sampled ones, then a bar chart of traffic share.
pub(crate) fn simulation(f: &mut impl fmt::Write, sim: &Simulation) -> fmt::Result {
    let multi_model = sim.served.iter().any(|s| s.model != sim.served[0].model);
    let name = |s: &Served| label(multi_model, &s.model, &s.endpoint, s.byok);
    let width = sim
        .served
        .iter()
        .map(|s| name(s).chars().count())
        .chain(["endpoint".len(), "failed everywhere".len()])
        .max()
        .unwrap_or(0);
    // Tiny exact odds (say 7e-14) would read as 0.000%: show those in scientific notation.
    let pct = |x: f64| match x * 100.0 {
        p if p > 0.0 && p < 0.0005 => format!("{p:.1e}%"),
        p => format!("{p:.3}%"),
    };
    writeln!(
        f,
        "  {:<width$}  {:>9}  {:>9}  {:>11}",
        "endpoint", "served", "first", "exact first"
    )?;
    for s in &sim.served {
        writeln!(
            f,
            "  {:<width$}  {:>9}  {:>9}  {:>11}",
            name(s),
            pct(s.share),
            pct(s.first_share),
            pct(s.exact_first_share)
        )?;
    }
    writeln!(
        f,
        "  {:<width$}  {:>9}  {:>9}  {:>11}",
        "failed everywhere",
        pct(sim.failed_share),
        "",
        format!("exact {}", pct(sim.exact_failed_share))
    )?;
    writeln!(f, "\ntraffic share (full bar = 100% of requests)")?;
    let rows = sim
        .served
        .iter()
        .map(|s| (name(s), s.share))
        .chain([("failed everywhere".to_string(), sim.failed_share)]);
    for (label, share) in rows {
        writeln!(
            f,
            "  {label:<width$}  {:<BAR_WIDTH$}  {:>8}",
            bar(share),
            pct(share)
        )?;
    }
    writeln!(f, "\nmean attempts per request   {:.4}", sim.mean_attempts)?;
    writeln!(f, "mean cost per request       {}", dollars(sim.mean_cost))?;
    writeln!(f, "mean time to first token    {:.4} s", sim.mean_latency)?;
    for note in &sim.notes {
        writeln!(f, "note: {note}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_exactly_padded_to_cents() {
        let m = |t: &str| t.parse::<Money>().unwrap();
        assert_eq!(dollars(m("4")), "$4.00");
        assert_eq!(dollars(m("3.2")), "$3.20");
        assert_eq!(dollars(m("2.65")), "$2.65");
        assert_eq!(dollars(m("0.001575")), "$0.001575");
        assert_eq!(dollars(m("38.500000000000001")), "$38.500000000000001");
    }

    #[test]
    fn bars_are_proportional_in_eighths_of_a_column() {
        assert_eq!(bar(0.0), "");
        assert_eq!(
            bar(1.0).chars().count(),
            BAR_WIDTH,
            "a full bar is BAR_WIDTH wide"
        );
        assert_eq!(bar(0.5), "█".repeat(BAR_WIDTH / 2));
        assert_eq!(bar(1.0 / 320.0), "▏", "one eighth of a column is visible");
    }
}
