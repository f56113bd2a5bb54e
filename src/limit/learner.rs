//! How completed calls reach the limit algorithm.

// Until the limit service uses it (in progress on the `bulkhead` branch).
#![allow(dead_code)]

use std::fmt;

use parking_lot::Mutex;

use super::{Algorithm, LimitSample};
use crate::sync::{AtomicU32, Ordering};

/// Owns an [`Algorithm`] and publishes its limit for admission to read with
/// one load.
pub(crate) struct Learner {
    limit: AtomicU32,
    algorithm: Mutex<Box<dyn Algorithm>>,
}

impl Learner {
    pub(crate) fn new(algorithm: Box<dyn Algorithm>) -> Self {
        Self {
            limit: AtomicU32::new(algorithm.limit().max(1)),
            algorithm: Mutex::new(algorithm),
        }
    }

    /// The limit in force.
    pub(crate) fn limit(&self) -> u32 {
        // Relaxed: admission re-checks against its own counter; a stale
        // limit only delays a change by one call.
        self.limit.load(Ordering::Relaxed)
    }

    /// Feeds one completed call; `Some(limit)` when the limit changed.
    pub(crate) fn record(&self, sample: LimitSample) -> Option<u32> {
        let new = self.algorithm.lock().update(sample).max(1);
        let old = self.limit.swap(new, Ordering::Relaxed);
        (old != new).then_some(new)
    }
}

impl fmt::Debug for Learner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Learner")
            .field("limit", &self.limit())
            .field("algorithm", &*self.algorithm.lock())
            .finish()
    }
}
