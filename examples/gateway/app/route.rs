//! Routes: a path prefix, the pool it goes to, a timeout and, in the seawall
//! stack, a bulkhead so that one busy route cannot take every call slot.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::pool::Pool;

/// The route's bulkhead is full.
#[derive(Debug)]
pub struct RouteFull(pub String);

impl fmt::Display for RouteFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route {} is at its concurrency limit", self.0)
    }
}

impl std::error::Error for RouteFull {}

#[derive(Debug)]
pub struct Bulkhead {
    slots: Arc<Semaphore>,
    pub max: u32,
}

impl Bulkhead {
    pub fn new(max: u32) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max as usize)),
            max,
        }
    }

    pub fn in_use(&self) -> u32 {
        self.max - self.slots.available_permits() as u32
    }
}

#[derive(Debug)]
pub struct Route {
    pub prefix: String,
    pub pool: Arc<Pool>,
    pub timeout: Duration,
    pub bulkhead: Option<Bulkhead>,
}

impl Route {
    /// Whether `path` is under this route's prefix, on a segment boundary.
    pub fn matches(&self, path: &str) -> bool {
        let p = self.prefix.as_str();
        path.starts_with(p)
            && (p.ends_with('/') || path.len() == p.len() || path[p.len()..].starts_with('/'))
    }

    /// A bulkhead slot, held until the backend's answer has arrived.
    pub fn enter(&self) -> Result<Option<OwnedSemaphorePermit>, RouteFull> {
        match &self.bulkhead {
            None => Ok(None),
            Some(b) => b
                .slots
                .clone()
                .try_acquire_owned()
                .map(Some)
                .map_err(|_| RouteFull(self.prefix.clone())),
        }
    }
}

/// Routes, longest prefix first.
#[derive(Debug, Default)]
pub struct Routes(pub Vec<Route>);

impl Routes {
    pub fn new(mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Self(routes)
    }

    pub fn find(&self, path: &str) -> Option<&Route> {
        self.0.iter().find(|r| r.matches(path))
    }
}
