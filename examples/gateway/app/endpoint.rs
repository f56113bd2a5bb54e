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
use seawall::breaker::{Breaker, BreakerLayer, CircuitBreaker, Open};
use seawall::classify::HttpClassifier;
use seawall::BoxError;
use tower::{Layer, ServiceExt};

use super::forward::Forward;

/// The naive stack calls the endpoint bare; the seawall stack through its
/// breaker.
#[derive(Debug, Clone)]
pub enum EndpointService {
    Bare(Forward),
    Guarded(Breaker<Forward, HttpClassifier>),
}

#[derive(Debug)]
pub struct Endpoint {
    /// As written in the configuration (`host:port`).
    pub address: String,
    pub addr: SocketAddr,
    pub weight: u32,
    pub breaker: Option<CircuitBreaker>,
    service: EndpointService,
    in_flight: AtomicU32,
    pub peak: AtomicU32,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// Calls its breaker refused.
    pub refused: AtomicU64,
    /// Exponentially weighted latency in microseconds. It decays while no
    /// call completes (as tower's peak-EWMA does), so an endpoint that was
    /// slow, or just came back, is tried again rather than starved.
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
        forward: Forward,
        breaker: Option<CircuitBreaker>,
    ) -> Self {
        let service = match &breaker {
            Some(b) => EndpointService::Guarded(
                BreakerLayer::new(b.clone())
                    .classifier(HttpClassifier::new())
                    .layer(forward),
            ),
            None => EndpointService::Bare(forward),
        };
        Self {
            address,
            addr,
            weight,
            breaker,
            service,
            in_flight: AtomicU32::new(0),
            peak: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            ewma_us: AtomicU64::new(0),
            updated_us: AtomicU64::new(0),
            epoch: Instant::now(),
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

    /// Peak-free load estimate for the choice between two endpoints:
    /// expected latency times the calls it would have.
    pub fn load(&self) -> u64 {
        self.decayed_us().max(1) * (u64::from(self.in_flight()) + 1)
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

    /// Calls the endpoint. Failures teach the latency estimate their real
    /// latency: a fast-failing endpoint looks cheap only until its breaker
    /// opens, and is not starved once it recovers.
    pub async fn call(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, BoxError> {
        let start = Instant::now();
        let result = match &self.service {
            EndpointService::Bare(s) => s.clone().oneshot(req).await,
            EndpointService::Guarded(s) => s.clone().oneshot(req).await,
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let failed = match &result {
            Ok(res) => res.status().is_server_error(),
            Err(e) if e.is::<Open>() => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return result;
            }
            Err(_) => true,
        };
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
