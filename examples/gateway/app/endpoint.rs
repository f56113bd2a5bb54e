//! One backend endpoint: its service (with or without a breaker) and the
//! load the gateway has put on it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use seawall::balance::{Gate, Ticket};
use seawall::breaker::CircuitBreaker;
use seawall::classify::Sample;
use seawall::limit::Limiter;
use seawall::BoxError;
use tower::ServiceExt;

use super::forward::Forward;

/// A fixed cap on an endpoint's calls in flight, as a balancer gate: a full
/// endpoint is passed over while another has room. An adaptive limit
/// (`seawall::limit::Limiter`, itself a gate) takes its place when the pool
/// configures one.
#[derive(Debug)]
pub struct EndpointLimit {
    pub max: u32,
    now: AtomicU32,
}

impl EndpointLimit {
    pub fn new(max: u32) -> Self {
        Self {
            max,
            now: AtomicU32::new(0),
        }
    }

    pub fn in_use(&self) -> u32 {
        self.now.load(Ordering::Acquire)
    }
}

impl Gate for EndpointLimit {
    fn has_room(&self) -> bool {
        self.in_use() < self.max
    }

    fn try_acquire(&self) -> Option<Ticket> {
        self.now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Ticket::new([0, 0]))
    }

    fn complete(&self, _: Ticket, _: Sample) {
        self.now.fetch_sub(1, Ordering::AcqRel);
    }

    fn cancel(&self, _: Ticket) {
        self.now.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug)]
pub struct Endpoint {
    /// As written in the configuration (`host:port`).
    pub address: String,
    pub addr: SocketAddr,
    pub weight: u32,
    pub breaker: Option<CircuitBreaker>,
    pub limit: Option<Arc<EndpointLimit>>,
    /// The adaptive limit, a balancer gate itself (clones share it).
    pub adaptive: Option<Limiter>,
    service: Forward,
    in_flight: AtomicU32,
    pub peak: AtomicU32,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// Exponentially weighted latency in microseconds, for the status page
    /// (the balancer keeps its own peak-EWMA); it fades while no call
    /// completes.
    ewma_us: AtomicU64,
    /// When the estimate last learned, in microseconds since `epoch`.
    updated_us: AtomicU64,
    epoch: Instant,
}

/// How fast an unrefreshed latency estimate fades.
const DECAY: Duration = Duration::from_secs(1);

impl Endpoint {
    pub fn new(
        address: String,
        addr: SocketAddr,
        weight: u32,
        service: Forward,
        breaker: Option<CircuitBreaker>,
        limit: Option<Arc<EndpointLimit>>,
    ) -> Self {
        Self {
            address,
            addr,
            weight,
            breaker,
            limit,
            adaptive: None,
            service,
            in_flight: AtomicU32::new(0),
            peak: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            ewma_us: AtomicU64::new(0),
            updated_us: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Gates the endpoint with an adaptive limit (instead of a fixed cap).
    pub fn with_adaptive(mut self, limit: Limiter) -> Self {
        self.limit = None;
        self.adaptive = Some(limit);
        self
    }

    /// The cap on its calls in flight now: fixed, or as learned.
    pub fn current_limit(&self) -> Option<u32> {
        match (&self.limit, &self.adaptive) {
            (_, Some(a)) => Some(a.limit()),
            (Some(l), None) => Some(l.max),
            (None, None) => None,
        }
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.decayed_us())
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn decayed_us(&self) -> u64 {
        let since = self
            .now_us()
            .saturating_sub(self.updated_us.load(Ordering::Relaxed));
        let keep = (-(since as f64) / DECAY.as_micros() as f64).exp();
        (self.ewma_us.load(Ordering::Relaxed) as f64 * keep) as u64
    }

    /// Whether its breaker would admit a call now.
    pub fn permitted(&self) -> bool {
        self.breaker
            .as_ref()
            .map_or(true, CircuitBreaker::is_call_permitted)
    }

    /// Takes an in-flight slot, if fewer than `limit` are taken.
    pub fn try_reserve(self: &Arc<Self>, limit: Option<u32>) -> Option<InFlight> {
        let taken =
            self.in_flight
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| match limit {
                    Some(max) if n >= max => None,
                    _ => Some(n + 1),
                });
        let n = taken.ok()? + 1;
        self.peak.fetch_max(n, Ordering::Relaxed);
        Some(InFlight(self.clone()))
    }

    /// Calls the endpoint (its breaker and limit, if any, were passed by
    /// the balancer), counting the call for the status page.
    pub async fn call(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, BoxError> {
        let start = Instant::now();
        let result = self.service.clone().oneshot(req).await;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let failed = result
            .as_ref()
            .map_or(true, |res| res.status().is_server_error());
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.observe(start.elapsed());
        result
    }

    fn observe(&self, took: Duration) {
        let sample = took.as_micros().min(u128::from(u32::MAX)) as u64;
        // Weight 1/4 for the newest sample: a few calls move the estimate.
        // Two racing updates may lose one sample; an estimate can afford it.
        let old = self.decayed_us();
        let new = if old == 0 {
            sample
        } else {
            (old * 3 + sample) / 4
        };
        self.ewma_us.store(new, Ordering::Relaxed);
        self.updated_us.store(self.now_us(), Ordering::Relaxed);
    }
}

/// One call in flight to an endpoint; gives its slot back when dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Endpoint>);

impl InFlight {
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
