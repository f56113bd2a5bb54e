//! Endpoint discovery: each pool's configured `host:port` entries are
//! resolved at start and again every `resolve_every`; endpoints that stay
//! keep their breaker and load, new ones are added, vanished ones dropped:
//! the pool turns the difference into the `Change`s of its `Discover` stream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use seawall::breaker::{CircuitBreaker, Config as BreakerConfig};
use seawall::clock::ManualClock;
use seawall::BoxError;
use tokio::task::JoinHandle;

use super::config::{EndpointConfig, StackKind};
use super::config::{LimitAlgorithm, LimitConfig};
use super::endpoint::{Endpoint, EndpointLimit};
use super::forward::{Forward, HttpClient};
use super::pool::Pool;
use seawall::clock::PreciseClock;
use seawall::limit::algorithm::{Aimd, Gradient2, Hybrid, Windowed};
use seawall::limit::Limiter;

/// What it takes to make an endpoint of one pool.
#[derive(Debug, Clone)]
pub struct Factory {
    pub pool: String,
    pub kind: StackKind,
    pub client: HttpClient,
    pub breaker: BreakerConfig,
    pub clock: Option<ManualClock>,
    /// Calls in flight per endpoint (seawall stack).
    pub limit: Option<u32>,
    /// An adaptive limit per endpoint instead (seawall stack).
    pub adaptive: Option<LimitConfig>,
}

/// One endpoint's adaptive limiter. Its latencies come from the
/// balancer's precise clock; Hybrid's windows are timed on a precise clock
/// too, since the backends answer in tens of milliseconds.
pub fn limiter(name: String, c: &LimitConfig) -> Result<Limiter, BoxError> {
    macro_rules! tuned {
        ($builder:expr) => {{
            let mut b = $builder;
            if let Some(v) = c.initial_limit {
                b = b.initial_limit(v);
            }
            if let Some(v) = c.min_limit {
                b = b.min_limit(v);
            }
            if let Some(v) = c.max_limit {
                b = b.max_limit(v);
            }
            b
        }};
    }
    let hybrid_only = [
        ("headroom", c.headroom.is_some()),
        ("backoff_ratio", c.backoff_ratio.is_some()),
        ("probe_interval", c.probe_interval.is_some()),
        ("probe_fraction", c.probe_fraction.is_some()),
    ];
    if c.algorithm != LimitAlgorithm::Hybrid {
        if let Some((knob, _)) = hybrid_only.iter().find(|(_, set)| *set) {
            return Err(format!("limit.{knob}: only the hybrid algorithm has it").into());
        }
    }
    let builder = match c.algorithm {
        LimitAlgorithm::Hybrid => {
            let mut h = tuned!(Hybrid::builder());
            if let Some(v) = c.headroom {
                h = h.headroom(v);
            }
            if let Some(v) = c.backoff_ratio {
                h = h.backoff_ratio(v);
            }
            if let Some(v) = c.probe_interval {
                h = h.probe_interval(v);
            }
            if let Some(v) = c.probe_fraction {
                h = h.probe_fraction(v);
            }
            let windowed = Hybrid::windowed(h.build()?, Windowed::builder())?;
            Limiter::builder(windowed.with_clock(PreciseClock))
        }
        LimitAlgorithm::Gradient2 => Limiter::builder(tuned!(Gradient2::builder()).build()?),
        LimitAlgorithm::Aimd => Limiter::builder(tuned!(Aimd::builder()).build()?),
    };
    Ok(builder.name(name).clock(PreciseClock).build()?)
}

impl Factory {
    fn make(&self, address: &str, addr: SocketAddr, weight: u32) -> Result<Endpoint, BoxError> {
        let breaker = match self.kind {
            StackKind::Naive => None,
            StackKind::Seawall => {
                let builder = CircuitBreaker::builder()
                    .config(self.breaker.clone())
                    .name(format!("{}/{addr}", self.pool));
                let builder = match &self.clock {
                    Some(clock) => builder.clock(clock.clone()),
                    None => builder,
                };
                Some(builder.build()?)
            }
        };
        let forward = Forward::new(self.client.clone(), addr);
        let limit = match self.kind {
            StackKind::Naive => None,
            StackKind::Seawall => self.limit.map(|max| Arc::new(EndpointLimit::new(max))),
        };
        let endpoint = Endpoint::new(address.to_owned(), addr, weight, forward, breaker, limit);
        Ok(match (self.kind, &self.adaptive) {
            (StackKind::Seawall, Some(c)) => {
                let limiter = limiter(format!("{}/{addr}", self.pool), c)?;
                endpoint.with_adaptive(limiter)
            }
            _ => endpoint,
        })
    }
}

/// Resolves every entry; an entry that does not resolve is skipped (and
/// tried again at the next refresh).
pub async fn resolve(entries: &[EndpointConfig]) -> Vec<(String, SocketAddr, u32)> {
    let mut out = Vec::new();
    for entry in entries {
        if let Ok(addrs) = tokio::net::lookup_host(entry.address()).await {
            for addr in addrs {
                if !out.iter().any(|(_, a, _)| *a == addr) {
                    out.push((entry.address().to_owned(), addr, entry.weight()));
                }
            }
        }
    }
    out
}

/// Makes the pool's endpoint set match `resolved`, keeping the endpoints
/// that stay.
pub fn apply(
    pool: &Pool,
    factory: &Factory,
    resolved: &[(String, SocketAddr, u32)],
) -> Result<(), BoxError> {
    let current = pool.endpoints();
    let mut next = Vec::with_capacity(resolved.len());
    for (address, addr, weight) in resolved {
        match current.iter().find(|e| e.addr == *addr) {
            Some(kept) => next.push(kept.clone()),
            None => next.push(Arc::new(factory.make(address, *addr, *weight)?)),
        }
    }
    let same = next.len() == current.len()
        && next
            .iter()
            .zip(current.iter())
            .all(|(a, b)| Arc::ptr_eq(a, b));
    if !same {
        pool.replace(next);
    }
    Ok(())
}

/// Resolves again every `every` for as long as the task runs.
pub fn spawn_refresh(
    pool: Arc<Pool>,
    factory: Factory,
    entries: Vec<EndpointConfig>,
    every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let resolved = resolve(&entries).await;
            // A failed lookup keeps the last known endpoints rather than emptying the pool.
            if !resolved.is_empty() {
                let _ = apply(&pool, &factory, &resolved);
            }
        }
    })
}
