//! Typed configuration: defaults in code, then an optional YAML file, then `TRADING_PLANNER_*`
//! environment variables (nested keys joined by `__`, e.g. `TRADING_PLANNER_SERVER__BIND`).
//! Unknown keys are errors, so a typo never passes silently. A variable's value is read as the
//! type of the key it sets (a token `12345` stays text), and its errors name the variable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use itertools::Itertools;
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use crate::evaluator::settings::DEFAULT_MONTE_CARLO_SEED;

pub const ENV_PREFIX: &str = "TRADING_PLANNER_";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub evaluator: EvaluatorConfig,
    pub generator: GeneratorConfig,
    pub store: StoreConfig,
    pub upstream: UpstreamConfig,
    pub sync: SyncConfig,
    pub auth: AuthConfig,
    pub planner: PlannerConfig,
    pub backtest: BacktestConfig,
    pub migration: MigrationConfig,
    pub feeds: FeedsConfig,
    pub board: BoardConfig,
}

/// The board's own hardware (`src/board`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoardConfig {
    /// The Unix socket of the Uno Q's `arduino-router`, through which the LED matrix shows the
    /// service's state; empty = no matrix. A missing socket is logged once, at debug.
    pub matrix_socket: String,
}

/// Who may change state over HTTP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The bearer token state-changing routes require. Empty: read from `token_file`, else
    /// generated into the data directory on first start and printed once.
    pub token: String,
    /// File holding the token (first line); empty = `<data dir>/access-token`.
    pub token_file: String,
    /// Whether read-only routes (GET) answer without the token.
    pub open_reads: bool,
    /// Who may call the pure computation routes of the old services without the token.
    pub compat_routes: CompatRoutes,
}

/// Token rule of the pure computation routes of the old services (`POST /evaluator/evaluate`,
/// `/opportunity/identify`, `/generator/generate`, `/coordinator/create-plan`), which the old
/// Python clients call without a token. Routes that write or trade always need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompatRoutes {
    /// Open to clients on this machine (loopback), the token for everyone else.
    #[default]
    Loopback,
    /// Open to every client.
    Open,
    /// The token for everyone, like every other state-changing route.
    Token,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token: String::new(),
            token_file: String::new(),
            open_reads: true,
            compat_routes: CompatRoutes::default(),
        }
    }
}

/// The native planner (`/api/plans`, the CLI, the dashboard).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerConfig {
    /// `exhaustive` (every valid combination of the candidates), the only generator of native
    /// runs; the reference's patterns answer `POST /generator/generate`.
    pub generator: String,
    /// Longest sequence.
    pub max_depth: usize,
    /// Most candidates handed to the generator, best priority first; bounds the combinations.
    pub max_candidates: usize,
    /// Most sequences one run evaluates.
    pub max_sequences: u64,
    /// Sequences kept in the beam.
    pub beam_width: usize,
    /// Wall-clock budget of one run; the best plan so far is kept when it runs out.
    pub time_budget_secs: f64,
    /// Early termination: batches always evaluated, then the number without improvement that
    /// stops the run (0 = never stop early).
    pub min_batches: u32,
    pub plateau_batches: u32,
    /// Seed of everything random in a run, so the same inputs give the same plan.
    pub seed: u64,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            generator: "exhaustive".to_string(),
            max_depth: 5,
            max_candidates: 40,
            max_sequences: 5_000_000,
            beam_width: 10,
            time_budget_secs: 10.0,
            min_batches: 4,
            plateau_batches: 64,
            seed: 42,
        }
    }
}

/// The backtest the dashboard runs (`/api/backtests`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BacktestConfig {
    /// Directory of the price, FX and scenario files; a relative path is taken from the
    /// working directory, which is the repository's under `cargo run`.
    pub data_dir: String,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            data_dir: "data/backtest".to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Largest request body accepted, in bytes; larger bodies get 413. Applies to the routes
    /// that take whole portfolios or sequences (the compatibility routes, the proxy).
    pub max_body_bytes: usize,
    /// Largest body of the routes that take a few fields (settings, plans, deposits, the
    /// trading cycle, backtests); larger bodies get 413.
    pub max_small_body_bytes: usize,
    /// Most open connections; at the cap the oldest idle one is closed for a new client, and
    /// when none is idle the new one is refused. Keep it well below the file descriptor limit.
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's head; also how long an idle
    /// keep-alive connection stays open.
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may go without a byte arriving; then the request fails.
    pub body_read_timeout_secs: u64,
    /// Seconds the requests in flight get to finish after SIGTERM before they are cut.
    pub shutdown_grace_secs: u64,
    /// Most live `GET /api/events` streams.
    pub max_event_streams: usize,
    /// Of those, most streams opened without the token (only possible with open reads), so
    /// token holders always find room.
    pub max_anonymous_event_streams: usize,
    /// Host names the server answers to besides the bind address and localhost (DNS
    /// rebinding: a page of another site must not read the API through a name of its own).
    pub allowed_hosts: Vec<String>,
    /// Most plans one `GET /api/plans` page holds, and most entries one `GET /api/ledger` page
    /// holds (and the CSV export reads at a time); more are reached with `before`.
    pub max_page_size: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluatorConfig {
    /// Threads that score sequences; 0 = one less than the number of cores (at least one), so the
    /// HTTP server keeps a core.
    pub threads: usize,
    /// Monte Carlo seed used when a request does not carry one.
    pub monte_carlo_seed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Seed of the random combinatorial sampler when a request does not carry one.
    pub sampler_seed: u64,
    /// Largest batch the exhaustive generator hands on; bounds memory per batch.
    pub batch_size: usize,
    /// Most sequences `POST /generator/generate` streams in exhaustive mode when the request
    /// sets no `exhaustive.max_sequences`.
    pub route_max_sequences: u64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            sampler_seed: 42,
            batch_size: 4096,
            route_max_sequences: 1_000_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Database file name inside the data directory.
    pub file_name: String,
}

/// The Python services that stay Python.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The tradernet broker wrapper (positions, cash, orders, quotes, trades).
    pub tradernet: ServiceConfig,
    /// The scoring service (security scores and pre-computed metrics).
    pub scoring: ServiceConfig,
    /// Services only reverse-proxied by the gateway under their prefixes (`/universe`,
    /// `/portfolio`, `/trading`, `/optimization`); `/scoring` goes to `scoring`.
    pub universe: ServiceConfig,
    pub portfolio: ServiceConfig,
    pub trading: ServiceConfig,
    pub optimization: ServiceConfig,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            tradernet: ServiceConfig {
                // The broker throttles; one request per 1.5 s keeps clear of its 429s.
                min_interval_secs: 1.5,
                ..ServiceConfig::default()
            },
            scoring: ServiceConfig::default(),
            universe: ServiceConfig::default(),
            portfolio: ServiceConfig::default(),
            trading: ServiceConfig::default(),
            optimization: ServiceConfig::default(),
        }
    }
}

/// How one upstream service is reached, and the resilience rules of its calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Base URL, e.g. `http://127.0.0.1:9001`; empty = not configured (nothing is called and
    /// the planner works on stored data).
    pub url: String,
    /// Limit of one HTTP request, from connecting to the last byte of the answer.
    pub timeout_secs: f64,
    /// Extra attempts of an idempotent call after a connect error, a timeout, 408, 429 or 5xx.
    pub retries: u32,
    /// Pause before the first retry, doubled for each further one and jittered ×[0.5, 1.5).
    pub retry_backoff_secs: f64,
    /// Consecutive failed calls that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before it lets one probe through.
    pub breaker_open_secs: f64,
    /// Least time between two requests to the service (0 = no limit).
    pub min_interval_secs: f64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            url: String::new(),
            timeout_secs: 5.0,
            retries: 2,
            retry_backoff_secs: 0.5,
            breaker_failures: 3,
            breaker_open_secs: 30.0,
            min_interval_secs: 0.0,
        }
    }
}

/// The jobs that copy upstream data into the database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Runs the jobs of every configured service; off, the database only changes through the
    /// API and imports.
    pub enabled: bool,
    /// When markets count as open (UTC, Monday to Friday); jobs run at their `open_secs`
    /// interval then and at `closed_secs` otherwise.
    pub market_open_utc: String,
    pub market_close_utc: String,
    pub positions: SyncInterval,
    pub cash: SyncInterval,
    pub pending_orders: SyncInterval,
    pub quotes: SyncInterval,
    pub trades: SyncInterval,
    pub scores: SyncInterval,
    pub metrics: SyncInterval,
}

/// How often one job runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncInterval {
    pub open_secs: f64,
    pub closed_secs: f64,
}

impl SyncInterval {
    const fn minutes(open: u32, closed: u32) -> SyncInterval {
        SyncInterval {
            open_secs: open as f64 * 60.0,
            closed_secs: closed as f64 * 60.0,
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            enabled: true,
            market_open_utc: "07:00".to_string(),
            market_close_utc: "21:00".to_string(),
            positions: SyncInterval::minutes(5, 30),
            cash: SyncInterval::minutes(5, 30),
            pending_orders: SyncInterval::minutes(2, 30),
            quotes: SyncInterval::minutes(5, 60),
            trades: SyncInterval::minutes(5, 30),
            scores: SyncInterval::minutes(360, 720),
            metrics: SyncInterval::minutes(360, 720),
        }
    }
}

/// Where the ECB publishes its daily euro reference rates.
pub const ECB_DAILY_URL: &str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml";

/// Data read from outside the Python services: the scoring service's metric store, daily price
/// CSVs and the ECB's euro reference rates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedsConfig {
    /// The scoring service's `calculations.db`, read (never written) for its pre-computed
    /// metrics at the `sync.metrics` interval; empty = not read.
    pub calculations_db: String,
    /// Daily-price CSV of one symbol; `{symbol}`, `{symbol_lower}`, `{ticker}` and
    /// `{ticker_lower}` are replaced (ticker = the symbol before its first dot). Empty = no
    /// back-fill.
    pub price_csv_url: String,
    /// Least time between two CSV downloads.
    pub price_csv_min_interval_secs: f64,
    /// Hours between two runs of the price back-fill and of the metrics computed from history.
    pub prices_interval_hours: f64,
    /// The ECB's daily euro reference rates (XML), e.g. [`ECB_DAILY_URL`]; empty = not fetched.
    pub ecb_fx_url: String,
    /// Hours between two downloads of the ECB rates.
    pub fx_interval_hours: f64,
    /// Rates whose date is more than this many days old are shown stale.
    pub fx_stale_days: u32,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig {
            calculations_db: String::new(),
            price_csv_url: String::new(),
            price_csv_min_interval_secs: 5.0,
            prices_interval_hours: 24.0,
            ecb_fx_url: String::new(),
            fx_interval_hours: 24.0,
            fx_stale_days: 4,
        }
    }
}

impl FeedsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (name, value, least) in [
            (
                "price_csv_min_interval_secs",
                self.price_csv_min_interval_secs,
                0.0,
            ),
            ("prices_interval_hours", self.prices_interval_hours, 0.01),
            ("fx_interval_hours", self.fx_interval_hours, 0.01),
        ] {
            if !(value.is_finite() && value >= least) {
                return Err(ConfigError::Invalid(format!(
                    "feeds.{name} must be a number of at least {least}, not {value}"
                )));
            }
        }
        for (name, url) in [
            ("price_csv_url", &self.price_csv_url),
            ("ecb_fx_url", &self.ecb_fx_url),
        ] {
            if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "feeds.{name} must be an http:// or https:// URL"
                )));
            }
        }
        Ok(())
    }
}

impl SyncConfig {
    /// Every job with its name, for validation and scheduling.
    pub fn intervals(&self) -> [(&'static str, SyncInterval); 7] {
        [
            ("positions", self.positions),
            ("cash", self.cash),
            ("pending_orders", self.pending_orders),
            ("quotes", self.quotes),
            ("trades", self.trades),
            ("scores", self.scores),
            ("metrics", self.metrics),
        ]
    }

    /// The market hours as minutes after midnight UTC.
    pub fn market_minutes(&self) -> Result<(u32, u32), ConfigError> {
        let parse = |key: &str, text: &str| {
            let bad = || ConfigError::Invalid(format!("sync.{key} {text:?} is not HH:MM"));
            let (h, m) = text.split_once(':').ok_or_else(bad)?;
            let h: u32 = h.parse().map_err(|_| bad())?;
            let m: u32 = m.parse().map_err(|_| bad())?;
            if h > 23 || m > 59 {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        Ok((
            parse("market_open_utc", &self.market_open_utc)?,
            parse("market_close_utc", &self.market_close_utc)?,
        ))
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8000".to_string(),
            max_body_bytes: 16 * 1024 * 1024,
            max_small_body_bytes: 64 * 1024,
            max_connections: 512,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            shutdown_grace_secs: 5,
            max_event_streams: 32,
            max_anonymous_event_streams: 8,
            allowed_hosts: Vec::new(),
            max_page_size: 100,
        }
    }
}

impl ServerConfig {
    fn validate_limits(&self) -> Result<(), String> {
        let at_least_one = [
            ("max_small_body_bytes", self.max_small_body_bytes as u64),
            ("max_connections", self.max_connections as u64),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("max_event_streams", self.max_event_streams as u64),
            ("max_page_size", self.max_page_size as u64),
        ];
        if let Some((key, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(format!("server.{key} must be at least 1"));
        }
        if self.max_small_body_bytes > self.max_body_bytes {
            return Err("server.max_small_body_bytes must not exceed server.max_body_bytes".into());
        }
        if self.max_anonymous_event_streams >= self.max_event_streams {
            return Err(
                "server.max_anonymous_event_streams must be below server.max_event_streams, \
                 so token holders keep room"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn header_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_read_timeout_secs)
    }

    pub fn body_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_read_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.shutdown_grace_secs)
    }
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        EvaluatorConfig {
            threads: 0,
            monte_carlo_seed: DEFAULT_MONTE_CARLO_SEED,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            file_name: "trading-planner.db".to_string(),
        }
    }
}

impl EvaluatorConfig {
    /// The scoring thread count to use on this machine.
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.saturating_sub(1).max(1)
    }
}

impl StoreConfig {
    pub fn database_path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(&self.file_name)
    }
}

/// Running in front of the old Python services while migrating: per module, who answers the
/// compatibility routes, whether the other side is asked too for comparison, and the fallback.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationConfig {
    pub gateway: MigrationModule,
    pub coordinator: MigrationModule,
    pub opportunity: MigrationModule,
    pub generator: MigrationModule,
    pub evaluator: MigrationModule,
    pub planning: MigrationModule,
}

/// Who answers a module's compatibility routes.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Primary {
    /// This process; the Python service, when configured, is the fallback.
    #[default]
    Local,
    /// The old Python service at `url`; the client gets its answer unchanged.
    Python,
}

impl Primary {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One module's migration settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationModule {
    pub primary: Primary,
    /// Also asks the side that is not primary, off the request path, and compares the answers.
    #[serde(with = "on_off")]
    pub shadow: bool,
    /// Base URL of the module's old Python service; empty = none.
    pub url: String,
    /// Limit of one call to the Python service, and of one shadow computation.
    pub timeout_secs: f64,
    /// Consecutive failed calls to the Python service that open its circuit breaker.
    pub breaker_failures: u32,
    /// How long the open breaker refuses calls before it lets one probe through.
    pub breaker_open_secs: f64,
    /// Drill: the local module answers 500 without running, so the fallback can be tested.
    pub fail_local: bool,
}

impl Default for MigrationModule {
    fn default() -> Self {
        MigrationModule {
            primary: Primary::Local,
            shadow: false,
            url: String::new(),
            timeout_secs: 30.0,
            breaker_failures: 3,
            breaker_open_secs: 30.0,
            fail_local: false,
        }
    }
}

impl MigrationConfig {
    /// The modules with their names, which are also their route prefixes.
    pub fn modules(&self) -> [(&'static str, &MigrationModule); 6] {
        [
            ("gateway", &self.gateway),
            ("coordinator", &self.coordinator),
            ("opportunity", &self.opportunity),
            ("generator", &self.generator),
            ("evaluator", &self.evaluator),
            ("planning", &self.planning),
        ]
    }

    /// The module named `name`.
    pub fn module(&self, name: &str) -> Option<&MigrationModule> {
        self.modules()
            .into_iter()
            .find_map(|(n, m)| (n == name).then_some(m))
    }
}

/// Port of each module's service in the old deployment, for error messages.
fn old_port(module: &str) -> u16 {
    match module {
        "planning" => 8006,
        "gateway" => 8007,
        "opportunity" => 8008,
        "generator" => 8009,
        "evaluator" => 8010,
        _ => 8011,
    }
}

impl MigrationModule {
    /// The base URL, or `None` when no Python service is configured.
    pub fn base_url(&self) -> Option<&str> {
        let url = self.url.trim_end_matches('/');
        (!url.is_empty()).then_some(url)
    }

    fn validate(&self, name: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid(format!("migration.{name}.{reason}"));
        match self.base_url() {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(invalid(format!(
                    "url {url:?} must start with http:// or https://"
                )));
            }
            Some(_) => {}
            None => {
                let needs = if self.primary == Primary::Python {
                    Some("primary: python")
                } else if self.shadow {
                    Some("shadow: on")
                } else {
                    None
                };
                if let Some(setting) = needs {
                    return Err(invalid(format!(
                        "url is empty, but {setting} needs the old Python {name} service's \
                         base URL (the old deployment used http://127.0.0.1:{})",
                        old_port(name)
                    )));
                }
            }
        }
        check_calls(
            &[
                ("timeout_secs", self.timeout_secs, 0.001),
                ("breaker_open_secs", self.breaker_open_secs, 0.0),
            ],
            self.breaker_failures,
        )
        .map_err(invalid)
    }
}

/// The checks every remote service's settings share: durations in seconds between their least
/// value and a day, and a breaker that opens after at least one failure.
fn check_calls(seconds: &[(&str, f64, f64)], breaker_failures: u32) -> Result<(), String> {
    for &(key, value, least) in seconds {
        if !(value.is_finite() && value >= least && value <= 86_400.0) {
            return Err(format!(
                "{key} must be between {least} and 86400 seconds, not {value}"
            ));
        }
    }
    if breaker_failures == 0 {
        return Err("breaker_failures must be at least 1".into());
    }
    Ok(())
}

/// `on`/`off` switches. YAML 1.2 (serde_yaml 0.9) reads `on` and `off` as strings, so both
/// those words and the booleans `true`/`false` are accepted; they are written as `on`/`off`.
mod on_off {
    use serde::de::{self, Deserializer, Visitor};
    use serde::ser::Serializer;

    pub fn serialize<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if *value { "on" } else { "off" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        struct OnOff;
        impl Visitor<'_> for OnOff {
            type Value = bool;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("on or off")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
                Ok(value)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
                match value.to_ascii_lowercase().as_str() {
                    "on" | "true" => Ok(true),
                    "off" | "false" => Ok(false),
                    _ => Err(E::custom(format!("expected on or off, not {value:?}"))),
                }
            }
        }
        deserializer.deserialize_any(OnOff)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("environment variable {name}: {reason}")]
    Env { name: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` (if any), then the `TRADING_PLANNER_*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut tree = serde_yaml::to_value(Config::default()).expect("defaults serialise");
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.into(),
                source,
            })?;
            let overlay: Value =
                serde_yaml::from_str(&text).map_err(|source| ConfigError::Yaml {
                    path: path.into(),
                    source,
                })?;
            if !overlay.is_null() {
                merge(&mut tree, overlay);
            }
        }
        let defaults = serde_yaml::to_value(Config::default()).expect("defaults serialise");
        let vars = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .sorted();
        // Dotted key → the variable that set it, so later errors can name the variable.
        let mut set_by: BTreeMap<String, String> = BTreeMap::new();
        for (name, raw) in vars {
            let key = &name[ENV_PREFIX.len()..];
            // The data directory is a command-line setting with its own variable.
            if key == "DATA_DIR" {
                continue;
            }
            let env_error = |reason: String| ConfigError::Env {
                name: name.clone(),
                reason,
            };
            let path: Vec<String> = key.split("__").map(str::to_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(env_error("empty key segment".into()));
            }
            let default = key_default(&defaults, &path).map_err(env_error)?;
            let value = typed_value(&raw, default).map_err(env_error)?;
            set_path(&mut tree, &path, value).map_err(env_error)?;
            set_by.insert(path.join("."), name.clone());
        }
        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let key = e.path().to_string();
            let reason = e.into_inner().to_string();
            match set_by.get(&key) {
                Some(name) => ConfigError::Env {
                    name: name.clone(),
                    reason,
                },
                None => ConfigError::Invalid(format!("{key}: {reason}")),
            }
        })?;
        config.validate().map_err(|e| blame_variable(e, &set_by))?;
        Ok(config)
    }

    /// Loads with the process environment.
    pub fn load_from_env(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load(file, std::env::vars())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.server
            .bind
            .parse::<std::net::SocketAddr>()
            .map_err(|e| {
                ConfigError::Invalid(format!("server.bind {:?}: {e}", self.server.bind))
            })?;
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "server.max_body_bytes must be at least 1024".into(),
            ));
        }
        self.server
            .validate_limits()
            .map_err(ConfigError::Invalid)?;
        if self.generator.batch_size == 0 {
            return Err(ConfigError::Invalid(
                "generator.batch_size must be at least 1".into(),
            ));
        }
        for (name, service) in [
            ("tradernet", &self.upstream.tradernet),
            ("scoring", &self.upstream.scoring),
            ("universe", &self.upstream.universe),
            ("portfolio", &self.upstream.portfolio),
            ("trading", &self.upstream.trading),
            ("optimization", &self.upstream.optimization),
        ] {
            service.validate(name)?;
        }
        for (name, interval) in self.sync.intervals() {
            for (which, secs) in [
                ("open_secs", interval.open_secs),
                ("closed_secs", interval.closed_secs),
            ] {
                if !(secs.is_finite() && secs >= 0.01) {
                    return Err(ConfigError::Invalid(format!(
                        "sync.{name}.{which} must be at least 0.01 seconds, not {secs}"
                    )));
                }
            }
        }
        self.sync.market_minutes()?;
        self.feeds.validate()?;
        for (name, module) in self.migration.modules() {
            module.validate(name)?;
        }
        let p = &self.planner;
        // The run streams the exhaustive generator's batches; the reference's patterns are
        // only wired to POST /generator/generate, so accepting `reference` would ignore it.
        if p.generator != "exhaustive" {
            return Err(ConfigError::Invalid(format!(
                "planner.generator {:?} is not available for native planning runs; the accepted \
                 value is exhaustive (the reference's patterns answer POST /generator/generate)",
                p.generator
            )));
        }
        if !(1..=crate::generator::exhaustive::MAX_DEPTH).contains(&p.max_depth) {
            return Err(ConfigError::Invalid(format!(
                "planner.max_depth must be between 1 and {}",
                crate::generator::exhaustive::MAX_DEPTH
            )));
        }
        if p.max_candidates == 0 || p.beam_width == 0 || p.max_sequences == 0 {
            return Err(ConfigError::Invalid(
                "planner.max_candidates, beam_width and max_sequences must be at least 1".into(),
            ));
        }
        if !(p.time_budget_secs.is_finite() && p.time_budget_secs > 0.0) {
            return Err(ConfigError::Invalid(
                "planner.time_budget_secs must be a positive number of seconds".into(),
            ));
        }
        if self.backtest.data_dir.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "backtest.data_dir must name the directory of the backtest data".into(),
            ));
        }
        if self.store.file_name.is_empty() || self.store.file_name.contains('/') {
            return Err(ConfigError::Invalid(
                "store.file_name must be a plain file name".into(),
            ));
        }
        Ok(())
    }
}

impl ServiceConfig {
    /// The base URL, or `None` when the service is not configured.
    pub fn base_url(&self) -> Option<&str> {
        let url = self.url.trim_end_matches('/');
        (!url.is_empty()).then_some(url)
    }

    fn validate(&self, name: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid(format!("upstream.{name}.{reason}"));
        if let Some(url) = self.base_url()
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid(format!(
                "url {url:?} must start with http:// or https://"
            )));
        }
        check_calls(
            &[
                ("timeout_secs", self.timeout_secs, 0.001),
                ("retry_backoff_secs", self.retry_backoff_secs, 0.0),
                ("breaker_open_secs", self.breaker_open_secs, 0.0),
                ("min_interval_secs", self.min_interval_secs, 0.0),
            ],
            self.breaker_failures,
        )
        .map_err(invalid)?;
        if self.retries > 10 {
            return Err(invalid("retries must be at most 10".into()));
        }
        Ok(())
    }
}

fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// The default value of the key at `path`, which gives the type a variable's text is read as;
/// an error when no such key exists.
fn key_default<'a>(defaults: &'a Value, path: &[String]) -> Result<&'a Value, String> {
    let mut node = defaults;
    for (i, segment) in path.iter().enumerate() {
        let section = path[..i].join(".");
        let map = node
            .as_mapping()
            .ok_or_else(|| format!("{section} is not a section"))?;
        node = map.get(segment.as_str()).ok_or_else(|| {
            let known = map.keys().filter_map(Value::as_str).join(", ");
            let key = path[..=i].join(".");
            if section.is_empty() {
                format!("unknown key {key}; the sections are {known}")
            } else {
                format!("unknown key {key}; {section} has {known}")
            }
        })?;
    }
    Ok(node)
}

/// A variable's text as a value of the type of its key's default: a text key takes it as
/// written (a token `12345` is the text "12345", not a number), a number or switch key must
/// parse as one. A whole section is given as YAML.
fn typed_value(raw: &str, default: &Value) -> Result<Value, String> {
    let expected = |what: &str| format!("expected {what}, got {raw:?}");
    let text = raw.trim();
    match default {
        Value::String(_) => Ok(Value::String(raw.to_string())),
        Value::Bool(_) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(expected("true or false")),
        },
        Value::Number(n) if n.is_f64() => text
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| expected("a number")),
        Value::Number(n) if n.is_u64() => text
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| expected("an unsigned integer")),
        Value::Number(_) => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| expected("an integer")),
        _ => serde_yaml::from_str(raw).map_err(|e| e.to_string()),
    }
}

/// A validation error about a key an environment variable set, reported as that variable's.
fn blame_variable(error: ConfigError, set_by: &BTreeMap<String, String>) -> ConfigError {
    let ConfigError::Invalid(message) = &error else {
        return error;
    };
    let culprit = set_by.iter().find(|(key, _)| {
        message
            .strip_prefix(key.as_str())
            .is_some_and(|rest| rest.starts_with([' ', ':']))
    });
    match culprit {
        Some((_, name)) => ConfigError::Env {
            name: name.clone(),
            reason: message.clone(),
        },
        None => error,
    }
}

fn set_path(tree: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let mut node = tree;
    for (i, segment) in path.iter().enumerate() {
        let map: &mut Mapping = node
            .as_mapping_mut()
            .ok_or_else(|| format!("{} is not a section", path[..i].join(".")))?;
        let key = Value::String(segment.clone());
        if i + 1 == path.len() {
            map.insert(key, value);
            return Ok(());
        }
        node = map
            .entry(key)
            .or_insert_with(|| Value::Mapping(Mapping::new()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_file_or_env() {
        assert_eq!(Config::load(None, env(&[])).unwrap(), Config::default());
    }

    #[test]
    fn shipped_default_yaml_equals_the_defaults_in_code() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.yaml");
        assert_eq!(
            Config::load(Some(&path), env(&[])).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "server:\n  bind: 0.0.0.0:9000\nevaluator:\n  threads: 3\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            env(&[
                ("TRADING_PLANNER_EVALUATOR__THREADS", "5"),
                ("TRADING_PLANNER_SERVER__MAX_BODY_BYTES", "4096"),
                ("TRADING_PLANNER_SERVER__MAX_SMALL_BODY_BYTES", "1024"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.bind, "0.0.0.0:9000");
        assert_eq!(config.evaluator.threads, 5);
        assert_eq!(config.server.max_body_bytes, 4096);
        assert_eq!(config.server.max_small_body_bytes, 1024);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_readable_errors() {
        let err = Config::load(None, env(&[("TRADING_PLANNER_SERVER__BINDD", "x")])).unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
        let err =
            Config::load(None, env(&[("TRADING_PLANNER_SERVER__BIND", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("server.bind"), "{err}");
        let err =
            Config::load(None, env(&[("TRADING_PLANNER_EVALUATOR__THREADS", "many")])).unwrap_err();
        assert!(
            err.to_string().contains(
                "TRADING_PLANNER_EVALUATOR__THREADS: expected an unsigned integer, got \"many\""
            ),
            "{err}"
        );
    }

    /// The error text of a load with the one variable `name` set to `value`.
    fn load_error(name: &str, value: &str) -> String {
        Config::load(None, env(&[(name, value)]))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_numeric_token_is_read_as_text() {
        let config = Config::load(None, env(&[("TRADING_PLANNER_AUTH__TOKEN", "12345")])).unwrap();
        assert_eq!(config.auth.token, "12345");
        let config = Config::load(None, env(&[("TRADING_PLANNER_AUTH__TOKEN", "0x1F")])).unwrap();
        assert_eq!(
            config.auth.token, "0x1F",
            "kept as written, not as the number 31"
        );
    }

    #[test]
    fn a_switch_key_takes_true_or_false_and_names_the_variable_otherwise() {
        let config =
            Config::load(None, env(&[("TRADING_PLANNER_AUTH__OPEN_READS", "false")])).unwrap();
        assert!(!config.auth.open_reads);
        let config = Config::load(None, env(&[("TRADING_PLANNER_SYNC__ENABLED", "TRUE")])).unwrap();
        assert!(config.sync.enabled);
        let err = load_error("TRADING_PLANNER_SYNC__ENABLED", "yes");
        assert_eq!(
            err,
            "environment variable TRADING_PLANNER_SYNC__ENABLED: expected true or false, got \"yes\""
        );
    }

    #[test]
    fn number_keys_parse_integers_and_decimals() {
        let config = Config::load(
            None,
            env(&[
                ("TRADING_PLANNER_PLANNER__MAX_SEQUENCES", "1000"),
                ("TRADING_PLANNER_PLANNER__TIME_BUDGET_SECS", "2.5"),
                ("TRADING_PLANNER_UPSTREAM__SCORING__TIMEOUT_SECS", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(config.planner.max_sequences, 1000);
        assert_eq!(config.planner.time_budget_secs, 2.5);
        assert_eq!(config.upstream.scoring.timeout_secs, 7.0);
        let err = load_error("TRADING_PLANNER_PLANNER__TIME_BUDGET_SECS", "soon");
        assert!(
            err.contains("TRADING_PLANNER_PLANNER__TIME_BUDGET_SECS: expected a number"),
            "{err}"
        );
    }

    #[test]
    fn errors_found_after_parsing_still_name_the_variable() {
        // Too large for the key's u32: found when the tree becomes a Config.
        let err = load_error("TRADING_PLANNER_UPSTREAM__SCORING__RETRIES", "99999999999");
        assert!(
            err.starts_with("environment variable TRADING_PLANNER_UPSTREAM__SCORING__RETRIES: "),
            "{err}"
        );
        // Refused by validation.
        let err = load_error("TRADING_PLANNER_SERVER__BIND", "nowhere");
        assert!(
            err.starts_with("environment variable TRADING_PLANNER_SERVER__BIND: server.bind"),
            "{err}"
        );
        let err = load_error("TRADING_PLANNER_MIGRATION__EVALUATOR__PRIMARY", "pyhton");
        assert!(
            err.contains("TRADING_PLANNER_MIGRATION__EVALUATOR__PRIMARY: unknown variant"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_lists_the_keys_of_its_section() {
        let err = load_error("TRADING_PLANNER_SERVER__BINDD", "x");
        assert!(
            err.starts_with(
                "environment variable TRADING_PLANNER_SERVER__BINDD: unknown key server.bindd; \
                 server has bind, max_body_bytes, max_small_body_bytes, max_connections"
            ),
            "{err}"
        );
        let err = load_error("TRADING_PLANNER_SERVER__BIND__PORT", "1");
        assert!(err.contains("server.bind is not a section"), "{err}");
    }

    #[test]
    fn the_reference_generator_is_refused_for_native_runs() {
        let err = load_error("TRADING_PLANNER_PLANNER__GENERATOR", "reference");
        assert!(err.contains("TRADING_PLANNER_PLANNER__GENERATOR"), "{err}");
        assert!(err.contains("planner.generator \"reference\""), "{err}");
        assert!(err.contains("the accepted value is exhaustive"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, "planner:\n  generator: reference\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid configuration: planner.generator"),
            "{err}"
        );
    }

    #[test]
    fn data_dir_variable_is_left_to_the_command_line() {
        assert!(Config::load(None, env(&[("TRADING_PLANNER_DATA_DIR", "/tmp/x")])).is_ok());
    }

    #[test]
    fn the_backtest_data_directory_is_set_from_the_environment_and_must_not_be_empty() {
        let config = Config::load(
            None,
            env(&[("TRADING_PLANNER_BACKTEST__DATA_DIR", "/srv/backtest")]),
        )
        .unwrap();
        assert_eq!(config.backtest.data_dir, "/srv/backtest");
        let err = load_error("TRADING_PLANNER_BACKTEST__DATA_DIR", " ");
        assert!(
            err.contains("TRADING_PLANNER_BACKTEST__DATA_DIR") && err.contains("backtest.data_dir"),
            "{err}"
        );
    }

    #[test]
    fn an_upstream_url_is_set_from_the_environment() {
        let config = Config::load(
            None,
            env(&[
                (
                    "TRADING_PLANNER_UPSTREAM__TRADERNET__URL",
                    "http://127.0.0.1:9001/",
                ),
                ("TRADING_PLANNER_SYNC__QUOTES__OPEN_SECS", "0.5"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.upstream.tradernet.base_url(),
            Some("http://127.0.0.1:9001")
        );
        assert_eq!(config.upstream.scoring.base_url(), None);
        assert_eq!(config.upstream.tradernet.min_interval_secs, 1.5);
        assert_eq!(config.sync.quotes.open_secs, 0.5);
    }

    #[test]
    fn bad_upstream_and_sync_values_are_refused() {
        for (name, value, expected) in [
            (
                "TRADING_PLANNER_UPSTREAM__SCORING__URL",
                "localhost:8004",
                "upstream.scoring.url",
            ),
            (
                "TRADING_PLANNER_UPSTREAM__TRADERNET__TIMEOUT_SECS",
                "0",
                "timeout_secs",
            ),
            (
                "TRADING_PLANNER_UPSTREAM__TRADERNET__BREAKER_FAILURES",
                "0",
                "breaker_failures",
            ),
            (
                "TRADING_PLANNER_SYNC__CASH__CLOSED_SECS",
                "0",
                "sync.cash.closed_secs",
            ),
            (
                "TRADING_PLANNER_SYNC__MARKET_OPEN_UTC",
                "25:00",
                "market_open_utc",
            ),
        ] {
            let err = Config::load(None, env(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(expected), "{name}: {err}");
        }
    }

    #[test]
    fn migration_defaults_are_local_without_shadow_or_url() {
        let config = Config::default();
        let mut names: Vec<&str> = Vec::new();
        for (name, module) in config.migration.modules() {
            assert_eq!(module.primary, Primary::Local, "{name}");
            assert!(!module.shadow && !module.fail_local, "{name}");
            assert_eq!(module.base_url(), None, "{name}");
            assert_eq!(config.migration.module(name), Some(module));
            names.push(name);
        }
        names.sort_unstable();
        let mut local = crate::gateway::system::LOCAL_MODULES.to_vec();
        local.sort_unstable();
        assert_eq!(names, local, "one migration entry per local module");
        assert_eq!(config.migration.module("scoring"), None);
    }

    #[test]
    fn migration_switches_come_from_the_environment_as_words_or_booleans() {
        let config = Config::load(
            None,
            env(&[
                ("TRADING_PLANNER_MIGRATION__EVALUATOR__PRIMARY", "python"),
                ("TRADING_PLANNER_MIGRATION__EVALUATOR__SHADOW", "on"),
                (
                    "TRADING_PLANNER_MIGRATION__EVALUATOR__URL",
                    "http://127.0.0.1:8010/",
                ),
                (
                    "TRADING_PLANNER_MIGRATION__PLANNING__URL",
                    "http://127.0.0.1:8006",
                ),
                ("TRADING_PLANNER_MIGRATION__PLANNING__SHADOW", "true"),
                ("TRADING_PLANNER_MIGRATION__PLANNING__FAIL_LOCAL", "true"),
                ("TRADING_PLANNER_MIGRATION__GENERATOR__SHADOW", "off"),
            ]),
        )
        .unwrap();
        let evaluator = &config.migration.evaluator;
        assert_eq!(evaluator.primary, Primary::Python);
        assert!(evaluator.shadow);
        assert_eq!(evaluator.base_url(), Some("http://127.0.0.1:8010"));
        let planning = &config.migration.planning;
        assert_eq!(planning.primary, Primary::Local);
        assert!(planning.shadow && planning.fail_local);
        assert!(!config.migration.generator.shadow);
    }

    #[test]
    fn migration_switches_read_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "migration:\n  opportunity:\n    primary: python\n    shadow: on\n    \
             url: http://127.0.0.1:8008\n  generator:\n    shadow: true\n    \
             url: http://127.0.0.1:8009\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), env(&[])).unwrap();
        assert_eq!(config.migration.opportunity.primary, Primary::Python);
        assert!(config.migration.opportunity.shadow);
        assert!(config.migration.generator.shadow);
        assert_eq!(config.migration.generator.primary, Primary::Local);
        // Written back as the words the file uses.
        let text = serde_yaml::to_string(&config.migration.generator).unwrap();
        assert!(text.contains("shadow: on"), "{text}");
    }

    #[test]
    fn python_primary_or_shadow_without_a_url_is_a_readable_error() {
        for (key, value, needs) in [
            ("PRIMARY", "python", "primary: python"),
            ("SHADOW", "on", "shadow: on"),
        ] {
            let name = format!("TRADING_PLANNER_MIGRATION__EVALUATOR__{key}");
            let err = Config::load(None, env(&[(&name, value)])).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("migration.evaluator.url is empty"), "{text}");
            assert!(text.contains(needs), "{text}");
            assert!(text.contains("http://127.0.0.1:8010"), "{text}");
        }
        let err = Config::load(
            None,
            env(&[("TRADING_PLANNER_MIGRATION__COORDINATOR__PRIMARY", "python")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:8011"), "{err}");
        // Fallback alone needs no url: without one, the local answer stands.
        assert!(
            Config::load(
                None,
                env(&[("TRADING_PLANNER_MIGRATION__EVALUATOR__FAIL_LOCAL", "true")])
            )
            .is_ok()
        );
    }

    #[test]
    fn bad_migration_values_are_refused() {
        for (name, value, expected) in [
            (
                "TRADING_PLANNER_MIGRATION__EVALUATOR__PRIMARY",
                "pyhton",
                "pyhton",
            ),
            (
                "TRADING_PLANNER_MIGRATION__EVALUATOR__SHADOW",
                "maybe",
                "expected on or off",
            ),
            (
                "TRADING_PLANNER_MIGRATION__EVALUATOR__URL",
                "127.0.0.1:8010",
                "migration.evaluator.url",
            ),
            (
                "TRADING_PLANNER_MIGRATION__GATEWAY__TIMEOUT_SECS",
                "0",
                "migration.gateway.timeout_secs",
            ),
            (
                "TRADING_PLANNER_MIGRATION__GATEWAY__BREAKER_FAILURES",
                "0",
                "migration.gateway.breaker_failures",
            ),
            (
                "TRADING_PLANNER_MIGRATION__GATEWAY__BREAKER_OPEN_SECS",
                "-1",
                "migration.gateway.breaker_open_secs",
            ),
            (
                "TRADING_PLANNER_MIGRATION__SCORING__PRIMARY",
                "python",
                "scoring",
            ),
        ] {
            let err = Config::load(None, env(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(expected), "{name}: {err}");
        }
    }
}
