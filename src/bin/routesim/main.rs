//! The `routesim` command: parses arguments, calls the library, prints a table or JSON.

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
mod render;

use routesim::{
    Account, Bands, Catalog, Error, MAX_CATALOG_BYTES, MAX_REQUEST_BYTES, Options, Request, Router,
    Settings,
};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Predicts where an OpenRouter-style LLM router sends a request.
#[derive(Parser)]
#[command(name = "routesim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the ordered fallback plan for one request.
    Route(RouteArgs),
    /// Sample many requests: where traffic goes, what it costs, how often it fails.
    Simulate(SimulateArgs),
}

#[derive(Args)]
struct Common {
    /// Endpoint catalog: routesim YAML, or OpenRouter's endpoint-listing JSON.
    #[arg(long, value_name = "FILE")]
    catalog: PathBuf,
    /// Request body (JSON or YAML), as sent to /api/v1/chat/completions.
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// Account settings (YAML or JSON): ignore, only, zdr, data_collection, default_sort, byok, sticky.
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// Endpoint a warm prompt cache pins: moved to the front unless the request sets `order`.
    #[arg(long, value_name = "SLUG")]
    sticky: Option<String>,
    /// Seed for the random draws; the same seed gives the same result.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Uptime at or above which an endpoint is stable.
    #[arg(long, value_name = "SHARE", default_value_t = Bands::default().stable)]
    stable_uptime: f64,
    /// Uptime below which an endpoint is down (a last resort).
    #[arg(long, value_name = "SHARE", default_value_t = Bands::default().down)]
    down_uptime: f64,
}

#[derive(Args)]
struct RouteArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct SimulateArgs {
    #[command(flatten)]
    common: Common,
    /// Number of simulated requests.
    #[arg(long, value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    requests: u64,
    /// Worker threads; the result is the same for any count [default: available cores].
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..))]
    threads: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Route(args) => route(args),
        Command::Simulate(args) => simulate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::ClosedPipe) => ExitCode::SUCCESS,
        Err(Failure::Output(err)) => {
            let _ = writeln!(
                io::stderr(),
                "routesim: error: cannot write the output: {err}"
            );
            ExitCode::FAILURE
        }
        Err(Failure::Routing(err, json)) => report(&err, json),
    }
}

enum Failure {
    Routing(Error, bool),
    /// stdout was closed by its reader (`| head`): end quietly, exit 0.
    ClosedPipe,
    /// Any other failure to write the output (a full disk, ...): exit 1.
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Failure {
        // Only stdout writes reach here.
        match err.kind() {
            io::ErrorKind::BrokenPipe => Failure::ClosedPipe,
            _ => Failure::Output(err),
        }
    }
}

/// What the engine needs, read and validated from the command line.
struct Loaded {
    catalog: Catalog,
    request: Request,
    options: Options,
    seed: u64,
}

fn load(args: &Common) -> Result<Loaded, Failure> {
    let fail = |err| Failure::Routing(err, args.json);
    let bands = Bands {
        stable: args.stable_uptime,
        down: args.down_uptime,
    };
    if !(0.0..=1.0).contains(&bands.down) || !(bands.down..=1.0).contains(&bands.stable) {
        return Err(fail(Error::Input {
            file: "command line".into(),
            message: format!(
                "--down-uptime {} and --stable-uptime {} must satisfy 0 <= down <= stable <= 1",
                bands.down, bands.stable
            ),
            line: None,
        }));
    }
    let catalog = read(&args.catalog, MAX_CATALOG_BYTES, Catalog::parse).map_err(fail)?;
    let request = read(&args.request, MAX_REQUEST_BYTES, Request::parse).map_err(fail)?;
    let account = match &args.account {
        Some(path) => read(path, MAX_REQUEST_BYTES, Account::parse).map_err(fail)?,
        None => Account::default(),
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    Ok(Loaded {
        catalog,
        request,
        options: Options {
            bands,
            account,
            sticky: args.sticky.clone(),
        },
        seed,
    })
}

/// Reads a UTF-8 file of at most `limit` bytes (never more into memory) and parses it.
fn read<T>(
    path: &Path,
    limit: usize,
    parse: fn(&str) -> Result<T, routesim::ParseError>,
) -> Result<T, Error> {
    let file = path.display().to_string();
    let io_error = |source| Error::Io {
        file: file.clone(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut bytes))
        .map_err(io_error)?;
    let input = |message: String, line: Option<usize>| Error::Input {
        file: file.clone(),
        message,
        line,
    };
    if bytes.len() > limit {
        let size =
            std::fs::metadata(path).map_or(String::from("more than"), |m| m.len().to_string());
        return Err(input(
            format!(
                "file is {size} bytes, over the limit of {limit} bytes ({} MiB)",
                limit >> 20
            ),
            None,
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        input(
            format!("expected UTF-8 text, found an invalid byte at offset {at}"),
            Some(line),
        )
    })?;
    parse(&text).map_err(|e| input(e.message, e.line))
}

/// Compiles the loaded request, naming the request file in routing errors.
fn compile<'c>(args: &Common, loaded: &'c Loaded) -> Result<Router<'c>, Failure> {
    Router::compile(&loaded.catalog, &loaded.request, &loaded.options)
        .map_err(|e| Failure::Routing(e.in_file(&args.request.display().to_string()), args.json))
}

/// "a/model -> b/fallback", for headers.
fn model_chain(request: &Request) -> String {
    let ids: Vec<&str> = request.models.iter().map(|m| m.id.as_str()).collect();
    ids.join(" -> ")
}

fn route(args: &RouteArgs) -> Result<(), Failure> {
    let json = args.common.json;
    let loaded = load(&args.common)?;
    let router = compile(&args.common, &loaded)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(routesim::mix_seed(loaded.seed));
    let plan = router.plan(&mut rng);
    let mut out = io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&plan).expect("a plan always serializes");
        writeln!(out, "{text}")?;
    } else {
        writeln!(
            out,
            "routesim plan for {}  (seed {})",
            model_chain(&loaded.request),
            loaded.seed
        )?;
        let mut text = String::new();
        let _ = render::plan(&mut text, &plan);
        write!(out, "{text}")?;
    }
    out.flush()?;
    Ok(())
}

fn simulate(args: &SimulateArgs) -> Result<(), Failure> {
    let json = args.common.json;
    let loaded = load(&args.common)?;
    let router = compile(&args.common, &loaded)?;
    let mut settings = Settings::new(&loaded.request, args.requests, loaded.seed);
    settings.threads = match args.threads {
        Some(t) => t as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // Only long runs get a progress bar; indicatif draws nothing when stderr is not a terminal.
    let progress = if json || args.requests < PROGRESS_MIN_REQUESTS {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.requests).with_style(
            ProgressStyle::with_template(
                "{bar:30} {percent:>3}%  {human_pos}/{human_len}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let sim = routesim::simulate_with_progress(&router, &settings, &|n| progress.inc(n));
    progress.finish_and_clear();
    let mut out = io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&sim).expect("a simulation always serializes");
        writeln!(out, "{text}")?;
    } else {
        writeln!(
            out,
            "routesim simulate {}  ({} requests, seed {}, strategy {})\n",
            model_chain(&loaded.request),
            sim.requests,
            loaded.seed,
            router.strategy().as_str()
        )?;
        let mut text = String::new();
        let _ = render::simulation(&mut text, &sim);
        write!(out, "{text}")?;
    }
    out.flush()?;
    Ok(())
}

/// Runs shorter than this finish too fast for a progress bar to help.
const PROGRESS_MIN_REQUESTS: u64 = 1 << 22;

/// Prints an error to stderr (and, for exit 3 with `--json`, to stdout) and picks the exit code.
fn report(err: &Error, json: bool) -> ExitCode {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "routesim: error: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let _ = writeln!(stderr, "  caused by: {cause}");
        source = cause.source();
    }
    if let Error::Unroutable(u) = err {
        let mut text = String::new();
        let _ = render::exclusions(&mut text, &u.excluded);
        let _ = write!(stderr, "excluded:\n{text}");
        for w in &u.warnings {
            let _ = writeln!(stderr, "warning: {w}");
        }
        if !u.relaxations.is_empty() {
            let _ = writeln!(stderr, "would route if:");
            for r in &u.relaxations {
                let _ = writeln!(
                    stderr,
                    "  - {} were dropped: {}",
                    r.drop,
                    r.endpoints.join(", ")
                );
            }
        }
        if json {
            // A struct rather than json!, so the fields keep their documented order.
            #[derive(serde::Serialize)]
            struct Body<'a> {
                error: &'a routesim::Unroutable,
            }
            if let Ok(text) = serde_json::to_string_pretty(&Body { error: u }) {
                let _ = writeln!(io::stdout().lock(), "{text}");
            }
        }
    }
    ExitCode::from(err.exit_code() as u8)
}
