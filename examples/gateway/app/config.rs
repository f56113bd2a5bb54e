//! The gateway's configuration file: TOML, durations written as `"250ms"`,
//! every layer knob settable; a refused file names the field, its line and
//! column, and the reason.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

/// Which protection the gateway puts around its pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StackKind {
    /// Breakers per endpoint, health- and load-aware choice, endpoint
    /// limits, route bulkheads.
    #[default]
    Seawall,
    /// Static weighted split, nothing else: what the incident's gateway had.
    Naive,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub stack: StackKind,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    #[serde(default, rename = "pool")]
    pub pools: BTreeMap<String, PoolConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Bytes a request head may take (hyper's read buffer; at least 8192).
    pub max_header_bytes: usize,
    /// Time a client has to send its request head.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Time a client has to send its request body.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    pub max_body_bytes: usize,
    /// How long in-flight requests may finish after Ctrl-C.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_header_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            shutdown_grace: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(1),
            pool_idle_timeout: Duration::from_secs(30),
            pool_max_idle_per_host: 256,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub prefix: Spanned<String>,
    pub pool: Spanned<String>,
    /// Time the backend has to answer (response head), per try.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// The route's bulkhead: calls in flight at once (seawall stack only).
    pub max_concurrency: Option<Spanned<u32>>,
    /// A full bulkhead lets callers wait (`seawall::bulkhead::Mode::Wait`)
    /// instead of refusing them at once; needs `max_concurrency`.
    pub wait: Option<Spanned<WaitConfig>>,
}

/// A bulkhead's bounded wait for a slot.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitConfig {
    /// The longest a caller waits; then 503.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
    /// The most callers waiting at once; one more: 503 at once.
    pub queue: usize,
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    pub endpoints: Spanned<Vec<EndpointConfig>>,
    /// How often host names are resolved again.
    #[serde(default = "default_resolve", with = "humantime_serde")]
    pub resolve_every: Duration,
    /// Calls in flight to one endpoint (seawall stack only).
    pub max_concurrency_per_endpoint: Option<Spanned<u32>>,
    /// Every endpoint's breaker (seawall stack only); seawall's own
    /// configuration, validated by it.
    #[serde(default = "default_breaker")]
    pub breaker: seawall::breaker::Config,
    /// The pool's balancer (seawall stack only).
    pub balance: Option<Spanned<BalanceConfig>>,
    /// An adaptive concurrency limit per endpoint (seawall stack only); it
    /// replaces `max_concurrency_per_endpoint`.
    pub limit: Option<Spanned<LimitConfig>>,
}

impl PoolConfig {
    /// The balancer's knobs, as written or the defaults.
    pub fn balance(&self) -> BalanceConfig {
        self.balance
            .as_ref()
            .map_or_else(BalanceConfig::default, |b| b.get_ref().clone())
    }

    pub fn limit(&self) -> Option<LimitConfig> {
        self.limit.as_ref().map(|l| l.get_ref().clone())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitAlgorithm {
    /// seawall's recommended limit (`Hybrid::recommended()`): a delay
    /// gradient towards a queue of `headroom` × the backend's workers, a
    /// probed no-load latency, a backoff on drops.
    #[default]
    Hybrid,
    /// Netflix's Gradient2: long-term over short-term latency.
    Gradient2,
    /// Additive increase, multiplicative decrease on overload.
    Aimd,
}

/// Knobs of `seawall::limit`'s algorithms (unset: the algorithm's default).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    #[serde(default)]
    pub algorithm: LimitAlgorithm,
    pub initial_limit: Option<u32>,
    pub min_limit: Option<u32>,
    /// The hard ceiling: the limit never learns past it.
    pub max_limit: Option<u32>,
    /// Hybrid only: the queue kept, as a share of the backend's workers.
    pub headroom: Option<f64>,
    /// Hybrid only: the factor applied after a window with a drop.
    pub backoff_ratio: Option<f64>,
    /// Hybrid only: windows between no-load latency probes.
    pub probe_interval: Option<u32>,
    /// Hybrid only: the share of the limit kept while probing.
    pub probe_fraction: Option<f64>,
}

/// Knobs of `seawall::balance`'s two-choices chooser.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BalanceConfig {
    /// Latency every new endpoint is assumed to have.
    #[serde(with = "humantime_serde")]
    pub default_rtt: Duration,
    /// Time constant with which the latency estimate forgets.
    #[serde(with = "humantime_serde")]
    pub decay: Duration,
    /// Latency a failed call counts as, at least.
    #[serde(with = "humantime_serde")]
    pub failure_penalty: Duration,
    /// Outlier detection: eject an endpoint after this many failures in a
    /// row (off by default: the breakers already skip failing endpoints).
    pub consecutive_failures: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub base_ejection_time: Option<Duration>,
    /// The longest an ejection lasts, however many came before.
    #[serde(default, with = "humantime_serde")]
    pub max_ejection_time: Option<Duration>,
    pub max_ejection_percent: Option<f64>,
    /// Below this share of healthy endpoints, balance across all.
    pub panic_threshold: Option<f64>,
    /// How often outliers are looked for (success rate, returns).
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Success-rate outlier detection (off unless set).
    pub success_rate: Option<SuccessRateConfig>,
    /// New and returning endpoints ramp their share up (off unless set).
    pub slow_start: Option<SlowStartConfig>,
}

/// Envoy's success-rate ejection: an endpoint far below the others' rate.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessRateConfig {
    /// Endpoints with enough calls needed before any is judged.
    pub minimum_hosts: u32,
    /// Calls in an interval that make an endpoint count.
    pub request_volume: u32,
    /// How many standard deviations below the mean ejects.
    pub stdev_factor: f64,
}

/// Envoy's slow start.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowStartConfig {
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    #[serde(default = "one")]
    pub aggression: f64,
    #[serde(default = "a_tenth")]
    pub min_weight: f64,
}

fn one() -> f64 {
    1.0
}

fn a_tenth() -> f64 {
    0.1
}

impl Default for BalanceConfig {
    fn default() -> Self {
        Self {
            default_rtt: Duration::from_millis(30),
            decay: Duration::from_secs(10),
            failure_penalty: Duration::from_secs(1),
            consecutive_failures: None,
            base_ejection_time: None,
            max_ejection_time: None,
            max_ejection_percent: None,
            panic_threshold: None,
            interval: None,
            success_rate: None,
            slow_start: None,
        }
    }
}

fn default_resolve() -> Duration {
    Duration::from_secs(10)
}

/// Five failures in a row open an endpoint's breaker for five seconds.
pub fn default_breaker() -> seawall::breaker::Config {
    seawall::breaker::CircuitBreaker::builder()
        .consecutive_failures(5)
        .wait_duration_in_open_state(Duration::from_secs(5))
        .permitted_number_of_calls_in_half_open_state(1)
        .build()
        .map(|b| b.config().clone())
        .unwrap_or_default()
}

/// `"host:port"`, or `{ address = "host:port", weight = 3 }`; the weight
/// only matters to the naive stack's static split.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EndpointConfig {
    Address(String),
    Weighted { address: String, weight: u32 },
}

impl EndpointConfig {
    pub fn address(&self) -> &str {
        match self {
            EndpointConfig::Address(a) | EndpointConfig::Weighted { address: a, .. } => a,
        }
    }

    pub fn weight(&self) -> u32 {
        match self {
            EndpointConfig::Address(_) => 1,
            EndpointConfig::Weighted { weight, .. } => *weight,
        }
    }
}

/// Why a configuration file was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError {
    pub field: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: `{}`: {}",
            self.line, self.column, self.field, self.reason
        )
    }
}

impl std::error::Error for ConfigFileError {}

impl Config {
    /// Parses and checks a configuration file's text.
    pub fn parse(text: &str) -> Result<Self, ConfigFileError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            located(text, span, e.message().trim().to_owned())
        })?;
        config.check(text)?;
        Ok(config)
    }

    fn check(&self, text: &str) -> Result<(), ConfigFileError> {
        let refuse = |span: Range<usize>, field: &str, reason: &str| {
            let mut e = located(text, span, reason.to_owned());
            e.field = field.to_owned();
            Err(e)
        };
        if self.server.max_header_bytes < 8192 {
            return refuse(0..0, "server.max_header_bytes", "at least 8192");
        }
        for (i, route) in self.routes.iter().enumerate() {
            if !route.prefix.get_ref().starts_with('/') {
                return refuse(
                    route.prefix.span(),
                    &format!("route[{i}].prefix"),
                    "must start with `/`",
                );
            }
            if !self.pools.contains_key(route.pool.get_ref()) {
                return refuse(
                    route.pool.span(),
                    &format!("route[{i}].pool"),
                    "no pool of that name",
                );
            }
            if let Some(max) = &route.max_concurrency {
                if *max.get_ref() == 0 {
                    return refuse(
                        max.span(),
                        &format!("route[{i}].max_concurrency"),
                        "at least 1",
                    );
                }
            }
            if let Some(wait) = &route.wait {
                let Some(max) = &route.max_concurrency else {
                    return refuse(
                        wait.span(),
                        &format!("route[{i}].wait"),
                        "needs max_concurrency (the bulkhead it waits for)",
                    );
                };
                let built = super::route::Bulkhead::new(
                    route.prefix.get_ref(),
                    *max.get_ref(),
                    Some(*wait.get_ref()),
                );
                if let Err(e) = built {
                    return refuse_layer(text, wait.span(), &format!("route[{i}].wait"), &e);
                }
            }
        }
        for (name, pool) in &self.pools {
            if pool.endpoints.get_ref().is_empty() {
                return refuse(
                    pool.endpoints.span(),
                    &format!("pool.{name}.endpoints"),
                    "at least one endpoint",
                );
            }
            for ep in pool.endpoints.get_ref() {
                if ep.weight() == 0 || !ep.address().contains(':') {
                    return refuse(
                        pool.endpoints.span(),
                        &format!("pool.{name}.endpoints"),
                        "each endpoint is `host:port` with a weight of at least 1",
                    );
                }
            }
            if let Some(balance) = &pool.balance {
                let built = super::gateway::chooser::<()>(name, balance.get_ref(), 0);
                if let Err(e) = built {
                    return refuse_boxed(text, balance.span(), &format!("pool.{name}.balance"), &e);
                }
            }
            if let Some(limit) = &pool.limit {
                if let Err(e) = super::discover::limiter(name.clone(), limit.get_ref()) {
                    return refuse_boxed(text, limit.span(), &format!("pool.{name}.limit"), &e);
                }
            }
            if let Some(max) = &pool.max_concurrency_per_endpoint {
                if *max.get_ref() == 0 {
                    return refuse(
                        max.span(),
                        &format!("pool.{name}.max_concurrency_per_endpoint"),
                        "at least 1",
                    );
                }
            }
        }
        Ok(())
    }
}

/// A layer refused a table's settings: the error names the table's position
/// and the layer's field, range and reason.
fn refuse_layer<T>(
    text: &str,
    span: Range<usize>,
    table: &str,
    e: &seawall::ConfigError,
) -> Result<T, ConfigFileError> {
    let mut located = located(text, span, e.to_string());
    located.field = format!("{table}.{}", e.field());
    Err(located)
}

fn refuse_boxed<T>(
    text: &str,
    span: Range<usize>,
    table: &str,
    e: &seawall::BoxError,
) -> Result<T, ConfigFileError> {
    match e.downcast_ref::<seawall::ConfigError>() {
        Some(e) => refuse_layer(text, span, table, e),
        None => {
            let mut located = located(text, span, e.to_string());
            located.field = table.to_owned();
            Err(located)
        }
    }
}

/// An error at `span` of `text`, naming the key written on that line.
fn located(text: &str, span: Range<usize>, reason: String) -> ConfigFileError {
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    ConfigFileError {
        field: key_at(text, line),
        line,
        column,
        reason,
    }
}

/// `table.key` for the key on `line` (1-based), from the nearest header above.
fn key_at(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(here) = lines.get(line.saturating_sub(1)) else {
        return String::from("(file)");
    };
    let key = here.split('=').next().unwrap_or("").trim();
    let header = lines[..line.saturating_sub(1)]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').to_owned());
    match (header, key.starts_with('[')) {
        (_, true) => key.trim_matches(|c| c == '[' || c == ']').to_owned(),
        (Some(h), false) if !key.is_empty() => format!("{h}.{key}"),
        (Some(h), false) => h,
        (None, _) if key.is_empty() => String::from("(file)"),
        (None, _) => key.to_owned(),
    }
}
