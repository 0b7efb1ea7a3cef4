//! `routesim serve`: the flags of SPEC section 9 turned into a `routesim::serve::Config`, the
//! `listening on` line, and SIGINT/SIGTERM as the shutdown; the server is the library's.

use clap::{Args, ValueEnum};
use routesim::serve::{Config, Failures, Rule};
use routesim::{Account, Bands, Catalog, Options};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Endpoint catalog (file or directory), as for `route`. Repeat to combine.
    #[arg(long, value_name = "PATH", required = true)]
    catalog: Vec<PathBuf>,
    /// Account settings (YAML or JSON), as for `route`.
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// Endpoint a warm prompt cache pins, as for `route`.
    #[arg(long, value_name = "SLUG")]
    sticky: Option<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Request k (from 0) without an x-routesim-seed header gets seed N + k.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Whether attempts also fail at their endpoint's 1 - uptime.
    #[arg(long, value_enum, default_value_t = FailureMode::None)]
    failures: FailureMode,
    /// Fault rules (YAML or JSON list); replaced by PUT /routesim/faults.
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
    /// Require `Authorization: Bearer KEY` on every path.
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// Wait X times the modelled latency and generation time (0: answer at once).
    #[arg(long, value_name = "X", default_value_t = 0.0)]
    time_scale: f64,
    /// Keep the last N requests in the journal.
    #[arg(long, value_name = "N", default_value_t = routesim::serve::DEFAULT_JOURNAL_LIMIT)]
    journal_limit: usize,
    /// The reply text [default: "routesim: served by KEY (MODEL)"].
    #[arg(long, value_name = "TEXT")]
    reply: Option<String>,
    /// Uptime at or above which an endpoint is stable.
    #[arg(long, value_name = "SHARE", default_value_t = Bands::default().stable)]
    stable_uptime: f64,
    /// Uptime below which an endpoint is down (a last resort).
    #[arg(long, value_name = "SHARE", default_value_t = Bands::default().down)]
    down_uptime: f64,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailureMode {
    /// Only fault rules fail attempts.
    None,
    /// Attempts also fail with probability 1 - uptime.
    Uptime,
}

/// Bad input: the message, exit 2.
fn bad(message: impl std::fmt::Display) -> ExitCode {
    let _ = writeln!(io::stderr(), "routesim: error: {message}");
    ExitCode::from(2)
}

pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let bands = Bands {
        stable: args.stable_uptime,
        down: args.down_uptime,
    };
    if !(0.0..=1.0).contains(&bands.down) || !(bands.down..=1.0).contains(&bands.stable) {
        return bad(format!(
            "command line: --down-uptime {} and --stable-uptime {} must satisfy 0 <= down <= stable <= 1",
            bands.down, bands.stable
        ));
    }
    if !(args.time_scale.is_finite() && args.time_scale >= 0.0) {
        return bad(format!(
            "command line: --time-scale {} must be a number >= 0",
            args.time_scale
        ));
    }
    if args.catalog.iter().any(|p| p.as_os_str() == "-") {
        return bad("command line: serve reads no standard input: give --catalog a file");
    }
    let catalog = match Catalog::from_paths(&args.catalog) {
        Ok(catalog) => catalog,
        Err(err) => return bad(err),
    };
    let account = match &args.account {
        Some(path) => match Account::from_path(path) {
            Ok(account) => account,
            Err(err) => return bad(err),
        },
        None => Account::default(),
    };
    let faults = match &args.faults {
        Some(path) => match Rule::from_path(path) {
            Ok(rules) => rules,
            Err(err) => return bad(err),
        },
        None => Vec::new(),
    };
    let mut config = Config::new(catalog);
    config.options = Options {
        bands,
        account,
        sticky: args.sticky.clone(),
    };
    config.listen = args.listen;
    config.seed = args.seed;
    config.failures = match args.failures {
        FailureMode::None => Failures::None,
        FailureMode::Uptime => Failures::Uptime,
    };
    config.faults = faults;
    config.api_key = args.api_key.clone();
    config.time_scale = args.time_scale;
    config.journal_limit = args.journal_limit;
    config.reply = args.reply.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(io::stderr(), "routesim: error: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr(), "routesim: error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> io::Result<()> {
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    {
        let mut out = io::stdout().lock();
        // A closed stdout must not stop the server: the line is for whoever reads it.
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }
    routesim::serve::run(config, listener, stop_signal()).await
}

/// Completes on the first SIGINT or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
