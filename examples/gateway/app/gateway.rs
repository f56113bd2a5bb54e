//! Assembling a gateway from its configuration, and running it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use seawall::clock::ManualClock;
use seawall::BoxError;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{BalanceConfig, Config, StackKind};
use super::discover::{self, Factory};
use super::forward::HttpClient;
use super::pool::Pool;
use super::route::{Bulkhead, Route, Routes};
use super::server;
use seawall::balance::{Chooser, PeakEwma, SlowStart, SuccessRate};

/// What the embedding program adds to a configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Time for every breaker (tests); the system clock otherwise.
    pub clock: Option<ManualClock>,
    /// Where `/metrics` renders from; without it `/metrics` answers 503.
    pub metrics: Option<PrometheusHandle>,
    /// Seed of the balancer's random choices.
    pub seed: u64,
}

#[derive(Debug)]
pub struct Gateway {
    pub config: Config,
    pub routes: Routes,
    pub pools: BTreeMap<String, Arc<Pool>>,
    pub metrics: Option<PrometheusHandle>,
    pub started: Instant,
}

/// A gateway serving on its address until [`Running::shutdown`].
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    refreshers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (within the grace
    /// period), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        for r in &self.refreshers {
            r.abort();
        }
    }
}

pub fn client(config: &Config) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(config.server.connect_timeout));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(config.server.pool_idle_timeout)
        .pool_max_idle_per_host(config.server.pool_max_idle_per_host)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(connector)
}

/// A pool's chooser: peak-EWMA load; outlier detection only if asked for,
/// since the breakers already skip failing endpoints.
pub fn chooser<T: Send + Sync + 'static>(
    name: &str,
    c: &BalanceConfig,
    seed: u64,
) -> Result<Chooser<SocketAddr, T>, BoxError> {
    let load = PeakEwma::new(c.default_rtt, c.decay).failure_penalty(c.failure_penalty);
    let mut b = Chooser::builder()
        .name(name)
        .load(load)
        .seed(seed)
        .no_success_rate();
    b = match c.consecutive_failures {
        Some(n) => b.consecutive_failures(n),
        None => b.no_consecutive_failures(),
    };
    if let Some(t) = c.base_ejection_time {
        b = b.base_ejection_time(t);
    }
    if let Some(p) = c.max_ejection_percent {
        b = b.max_ejection_percent(p);
    }
    if let Some(p) = c.panic_threshold {
        b = b.panic_threshold(p);
    }
    if let Some(t) = c.max_ejection_time {
        b = b.max_ejection_time(t);
    }
    if let Some(t) = c.interval {
        b = b.interval(t);
    }
    if let Some(s) = c.success_rate {
        b = b.success_rate(SuccessRate {
            minimum_hosts: s.minimum_hosts,
            request_volume: s.request_volume,
            stdev_factor: s.stdev_factor,
        });
    }
    if let Some(s) = c.slow_start {
        b = b.slow_start(SlowStart {
            window: s.window,
            aggression: s.aggression,
            min_weight: s.min_weight,
        });
    }
    Ok(b.build()?)
}

/// Binds `config.server.listen`, resolves every pool and serves.
pub async fn start(config: Config, options: Options) -> Result<Running, BoxError> {
    let listener = TcpListener::bind(config.server.listen).await?;
    let addr = listener.local_addr()?;
    let client = client(&config);
    let mut pools = BTreeMap::new();
    let mut refreshers = Vec::new();
    for (i, (name, pc)) in config.pools.iter().enumerate() {
        let limit = pc
            .max_concurrency_per_endpoint
            .as_ref()
            .map(|m| *m.get_ref());
        let chooser = match config.stack {
            StackKind::Seawall => Some(chooser(name, &pc.balance(), options.seed ^ i as u64)?),
            StackKind::Naive => None,
        };
        let pool = Arc::new(Pool::new(name.clone(), config.stack, chooser));
        let factory = Factory {
            pool: name.clone(),
            kind: config.stack,
            client: client.clone(),
            breaker: pc.breaker.clone(),
            clock: options.clock.clone(),
            limit,
            adaptive: pc.limit(),
        };
        let entries = pc.endpoints.get_ref().clone();
        discover::apply(&pool, &factory, &discover::resolve(&entries).await)?;
        pool.settled().await;
        refreshers.push(discover::spawn_refresh(
            pool.clone(),
            factory,
            entries,
            pc.resolve_every,
        ));
        pools.insert(name.clone(), pool);
    }
    let mut routes = Vec::new();
    for r in &config.routes {
        let bulkhead = match (config.stack, &r.max_concurrency) {
            (StackKind::Seawall, Some(max)) => {
                let wait = r.wait.as_ref().map(|w| *w.get_ref());
                Some(Bulkhead::new(r.prefix.get_ref(), *max.get_ref(), wait)?)
            }
            _ => None,
        };
        routes.push(Route {
            prefix: r.prefix.get_ref().clone(),
            pool: pools[r.pool.get_ref()].clone(),
            timeout: r.timeout,
            bulkhead,
        });
    }
    let gateway = Arc::new(Gateway {
        config,
        routes: Routes::new(routes),
        pools,
        metrics: options.metrics,
        started: Instant::now(),
    });
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(server::serve(listener, gateway.clone(), stopped));
    Ok(Running {
        addr,
        gateway,
        stop,
        server,
        refreshers,
    })
}
