//! Routes: a path prefix, the pool it goes to, a timeout and, in the seawall
//! stack, a bulkhead so that one busy route cannot take every call slot.

use std::sync::Arc;
use std::time::Duration;

use seawall::bulkhead::{BulkheadLayer, BulkheadPermit, Full, Mode};
use seawall::ConfigError;

use super::pool::Pool;

/// A route's bulkhead: seawall's fail-fast compartment of concurrency.
#[derive(Debug)]
pub struct Bulkhead(pub BulkheadLayer);

impl Bulkhead {
    pub fn new(route: &str, max: u32) -> Result<Self, ConfigError> {
        BulkheadLayer::builder()
            .name(format!("route {route}"))
            .max_concurrent_calls(max)
            .mode(Mode::FailFast)
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

    /// A bulkhead slot, held until the backend's answer has arrived.
    pub fn enter(&self) -> Result<Option<BulkheadPermit>, Full> {
        self.bulkhead
            .as_ref()
            .map(|b| b.0.try_acquire())
            .transpose()
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
