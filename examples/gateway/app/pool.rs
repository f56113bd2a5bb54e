//! A pool of endpoints and the choice of one per call: the naive stack
//! splits by static weights; the seawall stack picks the less loaded of two
//! random endpoints whose breaker admits calls and which are below their
//! concurrency limit (power of two choices, Mitzenmacher 2001).

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use seawall::BoxError;

use super::config::StackKind;
use super::endpoint::{Endpoint, InFlight};

/// Every endpoint the breakers admit is at its concurrency limit.
#[derive(Debug)]
pub struct Overloaded(pub String);

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pool {} overloaded: every endpoint is at its concurrency limit",
            self.0
        )
    }
}

impl std::error::Error for Overloaded {}

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

#[derive(Debug)]
pub struct Pool {
    pub name: String,
    pub kind: StackKind,
    /// Calls in flight per endpoint (seawall stack only).
    pub limit: Option<u32>,
    endpoints: RwLock<Endpoints>,
    next: AtomicUsize,
    rng: AtomicU64,
}

impl Pool {
    pub fn new(name: String, kind: StackKind, limit: Option<u32>, seed: u64) -> Self {
        Self {
            name,
            kind,
            limit: limit.filter(|_| kind == StackKind::Seawall),
            endpoints: RwLock::new(Arc::default()),
            next: AtomicUsize::new(0),
            rng: AtomicU64::new(seed),
        }
    }

    pub fn endpoints(&self) -> Endpoints {
        self.endpoints
            .read()
            .map_or_else(|e| e.into_inner().clone(), |g| g.clone())
    }

    pub fn replace(&self, endpoints: Vec<Arc<Endpoint>>) {
        let mut slot = self.endpoints.write().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(endpoints);
    }

    pub async fn call(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, BoxError> {
        let slot = self.pick()?;
        slot.endpoint().call(req).await
    }

    fn pick(&self) -> Result<InFlight, BoxError> {
        let all = self.endpoints();
        if all.is_empty() {
            return Err(NoEndpoint(self.name.clone()).into());
        }
        match self.kind {
            StackKind::Naive => Ok(self.weighted(&all)),
            StackKind::Seawall => self.two_choices(&all),
        }
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

    fn two_choices(&self, all: &[Arc<Endpoint>]) -> Result<InFlight, BoxError> {
        let healthy: Vec<&Arc<Endpoint>> = all.iter().filter(|e| e.permitted()).collect();
        // With every breaker refusing, let the breakers answer (503 with
        // Retry-After) rather than inventing a refusal of our own.
        let candidates: Vec<&Arc<Endpoint>> = if healthy.is_empty() {
            all.iter().collect()
        } else {
            healthy
        };
        let n = candidates.len();
        let a = self.random(n);
        let b = if n > 1 {
            (a + 1 + self.random(n - 1)) % n
        } else {
            a
        };
        let (first, second) = if candidates[a].load() <= candidates[b].load() {
            (a, b)
        } else {
            (b, a)
        };
        if let Some(slot) = candidates[first].try_reserve(self.limit) {
            return Ok(slot);
        }
        if let Some(slot) = candidates[second].try_reserve(self.limit) {
            return Ok(slot);
        }
        // Both were full: any endpoint with room, the least loaded first.
        let mut rest: Vec<&&Arc<Endpoint>> = candidates.iter().collect();
        rest.sort_by_key(|e| e.load());
        rest.into_iter()
            .find_map(|e| e.try_reserve(self.limit))
            .ok_or_else(|| Overloaded(self.name.clone()).into())
    }

    /// A number below `n` from a seeded splitmix64 sequence shared by all
    /// callers without a lock.
    fn random(&self, n: usize) -> usize {
        let mut z = self.rng.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n.max(1) as u64) as usize
    }
}
