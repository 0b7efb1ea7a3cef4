//! The local OpenRouter (SPEC section 9, feature `serve`): an HTTP server that routes each chat
//! request with the library, fails attempts as fault rules say, and answers, bills and journals
//! as OpenRouter does. A thin shell: the routing is [`Router::compile`](crate::Router::compile)
//! and a draw with one generator per request, exactly as `routesim route --seed S`.
//!
//! In-process use, for Rust tests, in the manner of the wiremock crate: [`Server::start`] binds a
//! free loopback port, [`Server::url`] names it, and dropping the server stops it.
//!
//! ```
//! let catalog = routesim::Catalog::parse(
//!     "models:\n  - id: acme/widget\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 2 } }\n",
//! ).unwrap();
//! let server = routesim::serve::Server::start(routesim::serve::Config::new(catalog)).unwrap();
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! server.set_faults(routesim::serve::Rule::parse_list("- { endpoint: a, status: 429 }").unwrap());
//! assert_eq!(server.faults().len(), 1);
//! assert_eq!(server.stats().requests, 0);
//! server.shutdown().unwrap();
//! ```

mod chat;
mod faults;
mod http;
mod journal;
mod listing;

pub use chat::UPTIME_FAILURE_STATUS;
pub use faults::{FAULT_STATUSES, FaultStatus, MAX_FAULTS_BYTES, Rule, TIMEOUT_STATUS};
pub use journal::{DEFAULT_JOURNAL_LIMIT, Stats};
pub use listing::{endpoints_listing, models_listing};

use crate::catalog::Catalog;
use crate::resolve::Options;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The largest chat request body: 16 MiB, as [`MAX_REQUEST_BYTES`](crate::MAX_REQUEST_BYTES).
pub const MAX_BODY_BYTES: usize = crate::request::MAX_REQUEST_BYTES;

/// Whether attempts fail on their own, without a fault rule (`--failures`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Failures {
    /// Only fault rules fail attempts (the default).
    #[default]
    None,
    /// Each attempt also fails with probability `1 - uptime`, drawn after the plan.
    Uptime,
}

/// The server's limits (SPEC section 9), set in one place where the server is built.
///
/// ```
/// let limits = routesim::serve::Limits::default();
/// assert_eq!(limits.max_connections, 1024);
/// assert_eq!(limits.header_timeout.as_secs(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// A connection that sends no complete request header in this long is closed.
    pub header_timeout: Duration,
    /// At most this many connections are served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// On shutdown, requests in flight get this long to finish.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Everything the server is started with: the flags of `routesim serve`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The endpoint catalog requests are routed against.
    pub catalog: Catalog,
    /// Account settings, sticky endpoint and uptime bands, as for `route`.
    pub options: Options,
    /// Where to listen; port 0 picks a free port. [`Config::new`] gives `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Request k (from 0) without an `x-routesim-seed` header gets seed `seed + k`.
    pub seed: u64,
    /// Whether attempts also fail at their uptime.
    pub failures: Failures,
    /// The fault rules in force at start.
    pub faults: Vec<Rule>,
    /// When set, every path wants `Authorization: Bearer KEY`.
    pub api_key: Option<String>,
    /// Above 0, answers wait this many times the modelled latency and generation time.
    pub time_scale: f64,
    /// The journal keeps the last this many requests.
    pub journal_limit: usize,
    /// The reply text; by default `routesim: served by KEY (MODEL)`.
    pub reply: Option<String>,
    /// Header timeout, connection cap, shutdown grace.
    pub limits: Limits,
}

impl Config {
    /// The defaults of `routesim serve` for `catalog`, but on a free loopback port.
    ///
    /// ```
    /// let catalog = routesim::Catalog::parse("models:\n  - id: a/m\n    endpoints: []\n").unwrap();
    /// let config = routesim::serve::Config::new(catalog);
    /// assert_eq!(config.listen.to_string(), "127.0.0.1:0");
    /// assert_eq!(config.journal_limit, 100_000);
    /// ```
    pub fn new(catalog: Catalog) -> Config {
        Config {
            catalog,
            options: Options::default(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 0,
            failures: Failures::None,
            faults: Vec::new(),
            api_key: None,
            time_scale: 0.0,
            journal_limit: DEFAULT_JOURNAL_LIMIT,
            reply: None,
            limits: Limits::default(),
        }
    }
}

/// The state every handler shares: the configuration, the request counter, the faults in force
/// and the journal.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    next: AtomicU64,
    pub(crate) faults: Mutex<faults::Faults>,
    journal: Mutex<journal::Journal<Arc<chat::Exchange>>>,
}

impl Shared {
    fn new(config: Config) -> Shared {
        Shared {
            next: AtomicU64::new(0),
            faults: Mutex::new(faults::Faults::new(config.faults.clone())),
            journal: Mutex::new(journal::Journal::new(config.journal_limit)),
            config,
        }
    }

    /// Takes the next arrival index k, which also counts the request (`Stats::requests` is
    /// the number of indices taken: no lock for it).
    pub(crate) fn arrive(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The journal, even after a handler panicked while holding it (none should).
    pub(crate) fn journal(&self) -> MutexGuard<'_, journal::Journal<Arc<chat::Exchange>>> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The journal's lines (of one test id, when given), newline-terminated, written out now
    /// and outside the lock, so that chat requests do not wait for a long journal.
    pub(crate) fn journal_lines(&self, test_id: Option<&str>) -> String {
        let entries: Vec<Arc<chat::Exchange>> = self.journal().entries(test_id).cloned().collect();
        let mut out = String::new();
        for ex in entries {
            out.push_str(&ex.journal_line());
            out.push('\n');
        }
        out
    }

    /// The journal line of the request with generation id `id`, if still kept.
    pub(crate) fn journal_line(&self, id: &str) -> Option<String> {
        let seq = chat::seq_of(id)?;
        let ex = self.journal().find(seq).cloned()?;
        Some(ex.journal_line())
    }

    /// The counters of `/routesim/stats`.
    pub(crate) fn stats(&self) -> Stats {
        // Read under the journal lock, after it: every request counted by status has arrived.
        let journal = self.journal();
        journal.stats(self.next.load(Ordering::Relaxed))
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves `config` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (at most [`Limits::shutdown_grace`]). `routesim serve` is this with SIGINT and SIGTERM as
/// `shutdown`; [`Server::start`] runs it on its own thread.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    http::run(Arc::new(Shared::new(config)), listener, shutdown).await
}

/// A running server on its own thread and runtime; stops (gracefully) when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Binds `config.listen` and starts serving on a new thread; returns once the port is bound,
    /// so requests may be sent at once.
    pub fn start(config: Config) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(config.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("routesim-serve".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    http::run(inner, listener, async {
                        let _ = stopped.await;
                    })
                    .await
                })
            })?;
        Ok(Server {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, the root of every path.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://HOST:PORT/api/v1`, the base URL an OpenRouter client is given.
    pub fn api_base(&self) -> String {
        format!("{}/api/v1", self.url())
    }

    /// Replaces the fault rules (as `PUT /routesim/faults`).
    pub fn set_faults(&self, rules: Vec<Rule>) {
        *self.shared.faults() = faults::Faults::new(rules);
    }

    /// Clears the fault rules (as `DELETE /routesim/faults`).
    pub fn clear_faults(&self) {
        self.set_faults(Vec::new());
    }

    /// The fault rules in force, `times` showing what is left of each.
    pub fn faults(&self) -> Vec<Rule> {
        self.shared.faults().rules()
    }

    /// The journal lines (of one test id, when given), parsed, in arrival order.
    pub fn journal(&self, test_id: Option<&str>) -> Vec<serde_json::Value> {
        let text = self.shared.journal_lines(test_id);
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Clears the journal (as `DELETE /routesim/journal`).
    pub fn clear_journal(&self) {
        self.shared.journal().clear();
    }

    /// The counters of `GET /routesim/stats`.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Stops accepting, lets requests in flight finish (at most the shutdown grace) and waits
    /// for the server thread.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
