//! Routes: a path prefix, the pool it goes to, a timeout and, in the seawall
//! stack, a bulkhead so that one busy route cannot take every call slot.

use std::sync::Arc;
use std::time::Duration;

use seawall::bulkhead::{BulkheadLayer, BulkheadPermit, Mode};
use seawall::{BoxError, ConfigError};

use super::config::WaitConfig;
use super::pool::Pool;

/// A route's bulkhead: seawall's compartment of concurrency, failing fast
/// or letting callers wait a bounded time.
#[derive(Debug)]
pub struct Bulkhead(pub BulkheadLayer);

impl Bulkhead {
    pub fn new(route: &str, max: u32, wait: Option<WaitConfig>) -> Result<Self, ConfigError> {
        let mode = match wait {
            None => Mode::FailFast,
            Some(w) => Mode::Wait {
                max_wait: w.max_wait,
                queue: w.queue,
            },
        };
        BulkheadLayer::builder()
            .name(format!("route {route}"))
            .max_concurrent_calls(max)
            .mode(mode)
            .build()
            .map(Self)
    }

    pub fn max(&self) -> u32 {
        self.0.max_concurrent_calls()
    }

    pub fn in_use(&self) -> u32 {
        self.0.in_flight()
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

    /// A bulkhead slot (waited for if the route's bulkhead waits), held
    /// until the backend's answer has arrived.
    pub async fn enter(&self) -> Result<Option<BulkheadPermit>, BoxError> {
        match &self.bulkhead {
            None => Ok(None),
            Some(b) => b.0.acquire().await.map(Some),
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
