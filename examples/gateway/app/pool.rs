//! A pool of endpoints and the choice of one per call: the naive stack
//! splits by static weights; the seawall stack asks `seawall::balance`'s
//! chooser, which takes the less loaded (peak-EWMA) of two random endpoints
//! whose gates (breaker, concurrency limit) have room. Endpoint-set changes
//! reach the chooser as a `tower::discover::Discover` stream, applied by
//! `seawall::balance::Driver` on its own task.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use seawall::balance::{Chooser, Driver, Health, Unavailable};
use seawall::classify::{Classify, HttpClassifier, Outcome, Sample};
use seawall::BoxError;
use tokio::sync::mpsc;
use tower::discover::Change;

use super::config::StackKind;
use super::endpoint::{Endpoint, InFlight};
use super::held::Call;

/// The pool has no endpoint (none resolved).
#[derive(Debug)]
pub struct NoEndpoint(pub String);

impl fmt::Display for NoEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pool {} has no endpoint", self.0)
    }
}

impl std::error::Error for NoEndpoint {}

pub type Endpoints = Arc<Vec<Arc<Endpoint>>>;

/// Every endpoint refuses: their breakers are open (`retry_after` from the
/// soonest) or their limits full.
#[derive(Debug)]
pub struct Refused {
    pub pool: String,
    pub retry_after: Option<Duration>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.retry_after {
            Some(_) => write!(
                f,
                "pool {}: every endpoint's circuit breaker is open",
                self.pool
            ),
            None => write!(
                f,
                "pool {} overloaded: every endpoint is at its concurrency limit",
                self.pool
            ),
        }
    }
}

impl std::error::Error for Refused {}

type EndpointChange = Change<SocketAddr, Arc<Endpoint>>;

/// The pool's endpoint changes as a `Discover` stream (tower implements
/// `Discover` for every stream of `Change`s).
struct Changes(mpsc::UnboundedReceiver<EndpointChange>);

impl futures_core::Stream for Changes {
    type Item = Result<EndpointChange, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|c| c.map(Ok))
    }
}

#[derive(Debug)]
pub struct Pool {
    pub name: String,
    pub kind: StackKind,
    endpoints: RwLock<Endpoints>,
    chooser: Option<Chooser<SocketAddr, Arc<Endpoint>>>,
    /// Feeds the chooser's `Driver`, which ends when the pool goes.
    changes: Option<mpsc::UnboundedSender<EndpointChange>>,
    next: AtomicUsize,
}

impl Pool {
    /// A naive pool without a chooser, a seawall pool with one, fed by a
    /// `Driver` spawned here (each endpoint's gates come with it).
    pub fn new(
        name: String,
        kind: StackKind,
        chooser: Option<Chooser<SocketAddr, Arc<Endpoint>>>,
    ) -> Self {
        let chooser = chooser.filter(|_| kind == StackKind::Seawall);
        let changes = chooser.as_ref().map(|chooser| {
            let (tx, rx) = mpsc::unbounded_channel();
            let driver = Driver::new(chooser.clone(), Changes(rx))
                .health_from(|_, endpoint: &Arc<Endpoint>| health(endpoint));
            tokio::spawn(driver);
            tx
        });
        Self {
            name,
            kind,
            endpoints: RwLock::new(Arc::default()),
            chooser,
            changes,
            next: AtomicUsize::new(0),
        }
    }

    /// Waits until the chooser holds the endpoint set (the driver applies
    /// changes on its own task), for at most a second.
    pub async fn settled(&self) {
        let Some(chooser) = &self.chooser else { return };
        let want = self.endpoints().len();
        let wait = async {
            while chooser.len() != want {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), wait).await;
    }

    pub fn endpoints(&self) -> Endpoints {
        self.endpoints
            .read()
            .map_or_else(|e| e.into_inner().clone(), |g| g.clone())
    }

    pub fn chooser(&self) -> Option<&Chooser<SocketAddr, Arc<Endpoint>>> {
        self.chooser.as_ref()
    }

    /// The new endpoint set; the chooser learns the difference through
    /// its discovery stream (its endpoints that stay keep their load).
    pub fn replace(&self, endpoints: Vec<Arc<Endpoint>>) {
        let mut slot = self.endpoints.write().unwrap_or_else(|e| e.into_inner());
        if let Some(changes) = &self.changes {
            // A send fails only once the driver has stopped, with the pool.
            for gone in slot
                .iter()
                .filter(|o| !endpoints.iter().any(|n| Arc::ptr_eq(n, o)))
            {
                let _ = changes.send(Change::Remove(gone.addr));
            }
            for new in endpoints
                .iter()
                .filter(|n| !slot.iter().any(|o| Arc::ptr_eq(n, o)))
            {
                let _ = changes.send(Change::Insert(new.addr, new.clone()));
            }
        }
        *slot = Arc::new(endpoints);
    }

    /// Sends the call; on an answer, also what the call holds on its
    /// endpoint until the answer's body ends (see `held`).
    pub async fn call(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Call), BoxError> {
        let Some(chooser) = &self.chooser else {
            let all = self.endpoints();
            if all.is_empty() {
                return Err(NoEndpoint(self.name.clone()).into());
            }
            let slot = self.weighted(&all);
            let res = slot.endpoint().call(req).await?;
            let sample = Sample::new(Outcome::Success, Duration::ZERO);
            return Ok((res, Call::new(None, sample, Some(slot))));
        };
        let mut chooser = chooser.clone();
        let pick = match chooser.pick() {
            Ok(pick) => pick,
            Err(e) => return Err(self.refusal(e)),
        };
        let endpoint = pick.get().clone();
        let slot = endpoint.try_reserve(None);
        let start = Instant::now();
        let result = endpoint.call(req).await;
        let outcome = HttpClassifier::new().classify(result.as_ref());
        let sample = Sample::new(outcome, start.elapsed());
        match result {
            Ok(res) => Ok((res, Call::new(Some(pick), sample, slot))),
            Err(e) => {
                pick.record_sample(sample);
                Err(e)
            }
        }
    }

    fn refusal(&self, e: Unavailable) -> BoxError {
        if e.is_empty_set() {
            return NoEndpoint(self.name.clone()).into();
        }
        // Ask the breakers when the soonest may admit again; a permit
        // granted by the way is dropped unused, which gives it back.
        let retry_after = self
            .endpoints()
            .iter()
            .filter_map(|e| e.breaker.as_ref()?.try_acquire().err()?.retry_after())
            .min();
        Refused {
            pool: self.name.clone(),
            retry_after,
        }
        .into()
    }

    fn weighted(&self, all: &[Arc<Endpoint>]) -> InFlight {
        let total: usize = all.iter().map(|e| e.weight as usize).sum();
        let mut k = self.next.fetch_add(1, Ordering::Relaxed) % total.max(1);
        let chosen = all
            .iter()
            .find(|e| {
                let hit = k < e.weight as usize;
                k = k.saturating_sub(e.weight as usize);
                hit
            })
            .unwrap_or(&all[0]);
        match chosen.try_reserve(None) {
            Some(slot) => slot,
            None => unreachable!("a reservation without a limit always succeeds"),
        }
    }
}

/// An endpoint's gates, breaker first: an open breaker skips the endpoint
/// before its limit is asked.
fn health(endpoint: &Endpoint) -> Health {
    let mut health = Health::new();
    if let Some(b) = &endpoint.breaker {
        health = health.gate(b.clone()).unwrap_or_default();
    }
    if let Some(limit) = &endpoint.limit {
        health = health.gate(limit.clone()).unwrap_or_default();
    }
    if let Some(limit) = &endpoint.adaptive {
        health = health.gate(limit.clone()).unwrap_or_default();
    }
    health
}
