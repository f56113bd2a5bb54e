//! What the balancer shows of each endpoint.

use std::time::Duration;

/// An endpoint's state as the chooser sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum EndpointStatus {
    /// Picked on its load alone.
    Healthy,
    /// Ejected by outlier detection: not picked (outside panic mode) until
    /// the time is over.
    Ejected {
        /// Time left.
        remaining: Duration,
        /// Ejections in a row, the multiplier of the ejection time.
        ejections: u32,
    },
    /// Ramping up after being added or returned: its cost is divided by
    /// `weight`.
    SlowStarting {
        /// The current weight, in (0, 1).
        weight: f64,
    },
}

/// Why outlier detection ejected an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EjectionReason {
    /// Too many failures in a row.
    ConsecutiveFailures,
    /// A success rate far below the other endpoints'.
    SuccessRate,
}

impl EjectionReason {
    /// A short lowercase label (for metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            EjectionReason::ConsecutiveFailures => "consecutive_failures",
            EjectionReason::SuccessRate => "success_rate",
        }
    }
}

/// One endpoint in [`Chooser::endpoints`](super::Chooser::endpoints).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointInfo<K> {
    key: K,
    id: u64,
    in_flight: u64,
    cost: f64,
    status: EndpointStatus,
}

impl<K> EndpointInfo<K> {
    pub(crate) fn new(key: K, id: u64, in_flight: u64, cost: f64, status: EndpointStatus) -> Self {
        Self {
            key,
            id,
            in_flight,
            cost,
            status,
        }
    }

    /// The endpoint's key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Its stable id (insertion number).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// The cost the chooser compares now (load over slow-start weight).
    pub fn cost(&self) -> f64 {
        self.cost
    }

    /// Healthy, ejected or slow-starting.
    pub fn status(&self) -> EndpointStatus {
        self.status
    }
}
