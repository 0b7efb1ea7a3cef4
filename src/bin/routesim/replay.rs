//! The `replay` command: reads a log of observed routing, hands it to the library's
//! [`routesim::Replay`], prints the report as JSON or tables (SPEC section 10).

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use routesim::{Error, GroupReport, Replay, ReplaySettings, Report};
use std::fmt::{self, Write as _};
use std::io::{self, BufReader};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct ReplayArgs {
    /// Endpoint catalog: routesim YAML, or OpenRouter's endpoint-listing JSON; a directory
    /// loads every *.json, *.yaml and *.yml in it. Repeat to combine.
    #[arg(long, value_name = "PATH", required = true)]
    pub(crate) catalog: Vec<PathBuf>,
    /// JSON lines, one request each: {"request": BODY} with `generation`, `response` or
    /// `provider`; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub(crate) log: PathBuf,
    /// Account settings (YAML or JSON) the logged requests were sent with.
    #[arg(long, value_name = "FILE")]
    pub(crate) account: Option<PathBuf>,
    /// Endpoint a warm prompt cache pinned for the logged requests.
    #[arg(long, value_name = "SLUG")]
    pub(crate) sticky: Option<String>,
    /// Estimate the exponent alpha of the load-balancing weight price^-alpha (documented: 2).
    #[arg(long)]
    pub(crate) fit: bool,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit 1 when a group's p-value is below P or an observation is impossible.
    #[arg(long, value_name = "P")]
    pub(crate) fail_below: Option<f64>,
    /// Seed for the draws of groups whose served distribution is sampled.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) seed: u64,
    /// Plans drawn per sampled group.
    #[arg(long, value_name = "N", default_value_t = ReplaySettings::default().draws,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) draws: u64,
}

/// Why a replay produced no report; both are bad input (exit 2).
pub(crate) enum Bad {
    /// The library refused a line (or the log could not be read while reading).
    Log(Error),
    /// The log file could not be opened.
    Open(String),
}

/// Reads the log and builds the report.
pub(crate) fn run(
    args: &ReplayArgs,
    catalog: &routesim::Catalog,
    options: &routesim::Options,
) -> Result<Report, Bad> {
    let settings = ReplaySettings {
        fit: args.fit,
        draws: args.draws,
        seed: args.seed,
    };
    let mut replay = Replay::new(catalog, options, settings);
    let stdin = args.log.as_os_str() == "-";
    let progress = match stdin {
        true => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {binary_bytes} read  {binary_bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
        false => {
            let size = std::fs::metadata(&args.log).map_or(0, |m| m.len());
            ProgressBar::new(size).with_style(
                ProgressStyle::with_template(
                    "{bar:30} {percent:>3}%  {binary_bytes}/{binary_total_bytes}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            )
        }
    };
    let mut tick = |n: u64| progress.inc(n);
    let result = match stdin {
        true => replay.read(io::stdin().lock(), "<stdin>", &mut tick),
        false => {
            let name = args.log.display().to_string();
            let file = std::fs::File::open(&args.log)
                .map_err(|err| Bad::Open(format!("{name}: cannot read the file: {err}")))?;
            replay.read(BufReader::with_capacity(1 << 20, file), &name, &mut tick)
        }
    };
    progress.finish_and_clear();
    result.map_err(Bad::Log)?;
    Ok(replay.report())
}

/// Whether `--fail-below P` fails the report: a group's p-value below P, or any impossible
/// observation.
pub(crate) fn fails(report: &Report, below: f64) -> bool {
    !report.impossible.is_empty()
        || report
            .groups
            .iter()
            .any(|g| g.p_value.is_some_and(|p| p < below))
}

/// The readable report: groups whose p-value is below 0.01 first, then the others, each as a
/// table; the impossible observations; the log-likelihood and the fit.
pub(crate) fn table(f: &mut impl fmt::Write, report: &Report) -> fmt::Result {
    let impossible = report.impossible.len();
    writeln!(
        f,
        "routesim replay: {} lines, {} group{}, {} impossible observation{}",
        report.lines,
        report.groups.len(),
        plural(report.groups.len()),
        impossible,
        plural(impossible)
    )?;
    let mut order: Vec<(usize, &GroupReport)> = report.groups.iter().enumerate().collect();
    order.sort_by_key(|(_, g)| !g.p_value.is_some_and(|p| p < 0.01));
    for (i, g) in order {
        group(f, i + 1, g)?;
    }
    if impossible > 0 {
        writeln!(f, "\nimpossible observations (left out of the tests):")?;
        for x in &report.impossible {
            writeln!(
                f,
                "  line {:<6}  {}  {}  {}: {}",
                x.line, x.model, x.provider, x.reason, x.detail
            )?;
        }
    }
    writeln!(
        f,
        "\nlog-likelihood at alpha 2: {:.2}",
        report.log_likelihood
    )?;
    if let Some(fit) = &report.fit {
        writeln!(
            f,
            "fitted alpha: {:.3}  (95% interval {:.3} .. {:.3}; documented 2), G-test at the fit: p = {}",
            fit.alpha,
            fit.low,
            fit.high,
            p_text(fit.p_value_at_fit)
        )?;
    }
    for w in &report.warnings {
        writeln!(f, "warning: {w}")?;
    }
    Ok(())
}

fn group(f: &mut impl fmt::Write, number: usize, g: &GroupReport) -> fmt::Result {
    let flag = match g.p_value {
        Some(p) if p < 0.01 => "  << differs from the prediction",
        _ => "",
    };
    writeln!(
        f,
        "\ngroup {number}: {} ({}, {}, first at line {}), {} requests",
        g.model,
        g.strategy,
        g.observed_as.as_str().replace('_', " "),
        g.first_line,
        g.requests
    )?;
    writeln!(
        f,
        "  G = {:.3}, dof {}, p = {}{flag}",
        g.g_statistic,
        g.dof,
        p_text(g.p_value)
    )?;
    if let Some(d) = g.draws {
        writeln!(
            f,
            "  expected counts sampled from {d} plans (± standard error)"
        )?;
    }
    if g.rows.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = g
        .rows
        .iter()
        .map(|r| match &r.model {
            Some(m) => format!("{m}  {}", r.provider),
            None => r.provider.clone(),
        })
        .collect();
    let eps: Vec<String> = g.rows.iter().map(|r| r.endpoints.join(", ")).collect();
    let w1 = names
        .iter()
        .map(|n| n.chars().count())
        .chain(["provider".len()])
        .max()
        .unwrap_or(0);
    let w2 = eps
        .iter()
        .map(|e| e.chars().count())
        .chain(["endpoints".len()])
        .max()
        .unwrap_or(0);
    writeln!(
        f,
        "  {:<w1$}  {:<w2$}  {:>9}  {:>12}  {:>9}",
        "provider", "endpoints", "observed", "expected", "residual"
    )?;
    for ((r, name), e) in g.rows.iter().zip(&names).zip(&eps) {
        let mut expected = format!("{:.1}", r.expected);
        if let Some(se) = r.standard_error {
            let _ = write!(expected, "±{se:.1}");
        }
        let pooled = if r.pooled { "  (pooled)" } else { "" };
        writeln!(
            f,
            "  {name:<w1$}  {e:<w2$}  {:>9}  {expected:>12}  {:>9.2}{pooled}",
            r.observed, r.residual
        )?;
    }
    Ok(())
}

fn p_text(p: Option<f64>) -> String {
    match p {
        None => "- (nothing to test)".into(),
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        Some(p) => format!("{p:.4}"),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
