//! The `routesim` command: parses arguments, calls the library, prints a table or JSON.

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
mod fetch;
mod bench;
mod render;
mod serve;
mod replay;

use routesim::{Account, Bands, Catalog, Error, ErrorKind, Options, Request, Router, Settings};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// mimalloc rather than glibc malloc, for `routesim serve`: glibc's per-thread arenas grew page by
// page while the journal filled, an mprotect call every ~2 requests (strace -c). With mimalloc, on
// the 16-endpoint fixture: 2.95 -> 2.11 syscalls and (callgrind) 63,500 -> 54,300 instructions
// per chat request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Time compiling, drawing and simulating on your own catalog and request, beside a sort
    /// baseline measured in the same run.
    Bench(BenchArgs),
    /// Compare a log of observed routing (generation records, chat responses or provider
    /// names) with the prediction: a G-test per routing configuration, impossible observations,
    /// and with --fit the load-balancing exponent.
    Replay(replay::ReplayArgs),
    /// Download OpenRouter endpoint listings into a directory `--catalog` loads.
    Fetch(fetch::FetchArgs),
    /// Serve a local OpenRouter: routes, fails, bills and journals chat requests as `route`
    /// predicts (point a client's base URL at http://HOST:PORT/api/v1).
    Serve(serve::ServeArgs),
    /// Print a shell completion script: `routesim completions bash > /etc/bash_completion.d/routesim`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct Common {
    /// Endpoint catalog: routesim YAML, or OpenRouter's endpoint-listing JSON; a directory
    /// loads every *.json, *.yaml and *.yml in it (manifest.json aside). Repeat to combine.
    #[arg(long, value_name = "PATH", required = true)]
    catalog: Vec<PathBuf>,
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
struct BenchArgs {
    #[command(flatten)]
    common: Common,
    /// Total time for the five measurements, warm-up included.
    #[arg(long, value_name = "S", default_value_t = 3.0)]
    seconds: f64,
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
    let (result, common) = match &cli.command {
        Command::Route(args) => (route(args), &args.common),
        Command::Simulate(args) => (simulate(args), &args.common),
        Command::Bench(args) => (bench(args), &args.common),
        Command::Fetch(args) => return fetch::run(args),
        Command::Serve(args) => return serve::run(args),
        Command::Replay(args) => return replay_command(args),
        Command::Completions { shell } => {
            // Generated into memory first: clap_complete panics on a failed write, and a closed
            // pipe must end quietly like every other command's output.
            let mut script = Vec::new();
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "routesim", &mut script);
            return match io::stdout().lock().write_all(&script) {
                Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
                    let _ = writeln!(
                        io::stderr(),
                        "routesim: error: cannot write the output: {err}"
                    );
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            };
        }
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
        Err(Failure::Routing(err, json)) => report(&err, json, &common.request),
        Err(Failure::CommandLine(message)) => {
            let _ = writeln!(io::stderr(), "routesim: error: command line: {message}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    Routing(Error, bool),
    /// Flags that do not fit together (exit 2).
    CommandLine(String),
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
        return Err(Failure::CommandLine(format!(
            "--down-uptime {} and --stable-uptime {} must satisfy 0 <= down <= stable <= 1",
            bands.down, bands.stable
        )));
    }
    // `-` is standard input, which can be read once: at most one input may name it.
    let dashes = args.catalog.iter().filter(|p| is_stdin(p)).count()
        + usize::from(is_stdin(&args.request))
        + args.account.iter().filter(|p| is_stdin(p)).count();
    if dashes > 1 {
        return Err(Failure::CommandLine(
            "standard input (-) can be read once: give it to one of --catalog, --request and --account"
                .into(),
        ));
    }
    let catalog = load_catalog(&args.catalog).map_err(fail)?;
    let request = match is_stdin(&args.request) {
        true => Request::from_reader(io::stdin().lock(), STDIN),
        false => Request::from_path(&args.request),
    }
    .map_err(fail)?;
    let account = match &args.account {
        Some(path) if is_stdin(path) => {
            Account::from_reader(io::stdin().lock(), STDIN).map_err(fail)?
        }
        Some(path) => Account::from_path(path).map_err(fail)?,
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

/// How errors name standard input.
const STDIN: &str = "<stdin>";

/// Whether a path argument is `-`, standard input.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The catalogs at `paths` as one; a `-` among them is read from standard input, with the same
/// size limit and messages as a file.
fn load_catalog(paths: &[PathBuf]) -> Result<Catalog, Error> {
    if !paths.iter().any(|p| is_stdin(p)) {
        return Catalog::from_paths(paths);
    }
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        let catalog = match is_stdin(path) {
            true => Catalog::from_reader(io::stdin().lock(), STDIN)?,
            false => Catalog::from_paths(std::slice::from_ref(path))?,
        };
        let name = match is_stdin(path) {
            true => STDIN.to_string(),
            false => path.display().to_string(),
        };
        sources.push((name, catalog));
    }
    Catalog::merge(sources)
}

/// Compiles the loaded request.
fn compile<'c>(args: &Common, loaded: &'c Loaded) -> Result<Router<'c>, Failure> {
    Router::compile(&loaded.catalog, &loaded.request, &loaded.options)
        .map_err(|e| Failure::Routing(e, args.json))
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

fn bench(args: &BenchArgs) -> Result<(), Failure> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(Failure::CommandLine(format!(
            "--seconds {} must be a number of seconds in (0, 3600]",
            args.seconds
        )));
    }
    let loaded = load(&args.common)?;
    let router = compile(&args.common, &loaded)?;
    let report = bench::run(
        &loaded.catalog,
        &loaded.request,
        &loaded.options,
        &router,
        args.seconds,
        loaded.seed,
    );
    let mut out = io::stdout().lock();
    if args.common.json {
        let text = serde_json::to_string_pretty(&report).expect("a report always serializes");
        writeln!(out, "{text}")?;
    } else {
        writeln!(out, "routesim bench {}", model_chain(&loaded.request))?;
        write!(out, "{}", bench::table(&report))?;
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

/// `routesim replay`: exit 0 with the report written, 1 when `--fail-below` fails it, 2 for
/// bad input.
fn replay_command(args: &replay::ReplayArgs) -> ExitCode {
    let bad = |message: String| {
        let _ = writeln!(io::stderr(), "routesim: error: {message}");
        ExitCode::from(2)
    };
    if let Some(p) = args.fail_below {
        if !(0.0..=1.0).contains(&p) {
            return bad(format!(
                "command line: --fail-below {p} must be a p-value in [0, 1]"
            ));
        }
    }
    let stdin = [
        is_stdin(&args.log),
        args.account.as_deref().is_some_and(is_stdin),
    ]
    .into_iter()
    .chain(args.catalog.iter().map(|p| is_stdin(p)))
    .filter(|&b| b)
    .count();
    if stdin > 1 {
        return bad(
            "command line: standard input (-) can be read once: give it to one of --catalog, --log and --account"
                .into(),
        );
    }
    let catalog = match load_catalog(&args.catalog) {
        Ok(c) => c,
        Err(err) => return report(&err, false, &args.log),
    };
    let account = match &args.account {
        Some(path) if is_stdin(path) => Account::from_reader(io::stdin().lock(), STDIN),
        Some(path) => Account::from_path(path),
        None => Ok(Account::default()),
    };
    let account = match account {
        Ok(a) => a,
        Err(err) => return report(&err, false, &args.log),
    };
    let options = Options {
        account,
        sticky: args.sticky.clone(),
        ..Options::default()
    };
    let result = match replay::run(args, &catalog, &options) {
        Ok(r) => r,
        Err(replay::Bad::Open(message)) => return bad(message),
        Err(replay::Bad::Log(err)) => return report(&err, false, &args.log),
    };
    let mut text = String::new();
    if args.json {
        text = serde_json::to_string_pretty(&result).expect("a report always serializes");
        text.push('\n');
    } else {
        let _ = replay::table(&mut text, &result);
    }
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(
                io::stderr(),
                "routesim: error: cannot write the output: {err}"
            );
            return ExitCode::FAILURE;
        }
        Ok(()) => {}
    }
    match args.fail_below {
        Some(p) if replay::fails(&result, p) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// Runs shorter than this finish too fast for a progress bar to help.
const PROGRESS_MIN_REQUESTS: u64 = 1 << 22;

/// Prints an error to stderr (and, for exit 3 with `--json`, to stdout) and picks the exit code.
/// An unknown-model error is prefixed with the request file, which the library does not know.
fn report(err: &Error, json: bool, request: &Path) -> ExitCode {
    let mut stderr = io::stderr().lock();
    let file = match err.kind() {
        ErrorKind::UnknownModel { .. } => format!("{}: ", request.display()),
        _ => String::new(),
    };
    let _ = writeln!(stderr, "routesim: error: {file}{err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let _ = writeln!(stderr, "  caused by: {cause}");
        source = cause.source();
    }
    if let Some(u) = err.unroutable() {
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
