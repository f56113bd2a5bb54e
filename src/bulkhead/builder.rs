//! Building a bulkhead.

use super::{BulkheadLayer, Mode};
use crate::admission::{Order, Pool, WaitQueue};
use crate::observe::{Observer, SharedObserver};
use crate::ConfigError;
use std::fmt;
use std::sync::Arc;

/// The most concurrent calls a bulkhead admits (the admission core counts
/// permits in 32 bits with room for a debt).
pub const MAX_CONCURRENT_CALLS: u32 = 1 << 30;

/// Builds a [`BulkheadLayer`]; see [`BulkheadLayer::builder`].
///
/// Defaults: name `"bulkhead"`, 25 concurrent calls, [`Mode::FailFast`]
/// (resilience4j's bulkhead defaults to 25 calls and no wait).
///
/// ```
/// use std::time::Duration;
/// use seawall::bulkhead::{BulkheadLayer, Mode};
///
/// let err = BulkheadLayer::builder().max_concurrent_calls(0).build().unwrap_err();
/// assert_eq!(err.field(), "max_concurrent_calls");
///
/// let err = BulkheadLayer::builder()
///     .mode(Mode::Wait { max_wait: Duration::from_secs(1), queue: 0 })
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field(), "queue");
/// ```
#[must_use]
pub struct Builder {
    pub(super) name: Arc<str>,
    pub(super) max_concurrent_calls: u32,
    pub(super) mode: Mode,
    pub(super) observer: SharedObserver,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Self {
            name: Arc::from("bulkhead"),
            max_concurrent_calls: 25,
            mode: Mode::FailFast,
            observer: SharedObserver::default(),
        }
    }

    /// The name its rejections and events carry.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = name.into();
        self
    }

    /// The most calls in flight at once, in `1..=2^30`.
    pub fn max_concurrent_calls(mut self, max: u32) -> Self {
        self.max_concurrent_calls = max;
        self
    }

    /// Fail fast when full, or wait in a bounded FIFO queue.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Where events go (rejections, limit changes); a second observer is
    /// added after the first.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observer = self.observer.and(observer);
        self
    }

    /// Checks the configuration and builds the bulkhead.
    pub fn build(self) -> Result<BulkheadLayer, ConfigError> {
        check_limit(self.max_concurrent_calls)?;
        let queue = match self.mode {
            Mode::FailFast => None,
            Mode::Wait { max_wait, queue } => {
                crate::admission::check_wait(max_wait, queue)?;
                Some(WaitQueue::new(queue, Order::Fifo))
            }
        };
        Ok(BulkheadLayer::from_parts(
            self.name,
            self.mode,
            Pool::new(self.max_concurrent_calls, queue),
            self.observer,
        ))
    }
}

pub(crate) fn check_limit(max: u32) -> Result<(), ConfigError> {
    if (1..=MAX_CONCURRENT_CALLS).contains(&max) {
        Ok(())
    } else {
        Err(ConfigError::new(
            "max_concurrent_calls",
            max,
            "a number of calls in 1..=1073741824",
        ))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("mode", &self.mode)
            .finish()
    }
}
