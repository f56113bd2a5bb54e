//! Rejections of the bulkhead.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A call the bulkhead refused because all its permits were taken (and, in
/// [`Mode::Wait`](super::Mode::Wait), its wait queue was full). Through the
/// tower layer it arrives as a `BoxError` that downcasts to this type; the
/// inner service was not called.
///
/// ```
/// use seawall::bulkhead::BulkheadLayer;
/// let bulkhead = BulkheadLayer::builder().name("db").max_concurrent_calls(1).build()?;
/// let _held = bulkhead.try_acquire()?;
/// let full = bulkhead.try_acquire().unwrap_err();
/// assert_eq!(full.max_concurrent_calls(), 1);
/// assert_eq!(full.to_string(), "bulkhead db is full: 1 concurrent calls");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Full {
    name: Arc<str>,
    limit: u32,
}

impl Full {
    pub(crate) fn new(name: Arc<str>, limit: u32) -> Self {
        Self { name, limit }
    }

    /// The bulkhead's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its maximum of concurrent calls when it refused.
    pub fn max_concurrent_calls(&self) -> u32 {
        self.limit
    }
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bulkhead {} is full: {} concurrent calls",
            self.name, self.limit
        )
    }
}

impl std::error::Error for Full {}

/// A call that waited its maximum wait for a permit without getting one.
/// The inner service was not called.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use seawall::bulkhead::{BulkheadLayer, Mode, WaitTimedOut};
///
/// let bulkhead = BulkheadLayer::builder()
///     .name("db")
///     .max_concurrent_calls(1)
///     .mode(Mode::Wait { max_wait: Duration::from_millis(50), queue: 8 })
///     .build()?;
/// let _held = bulkhead.try_acquire()?;
/// let err = bulkhead.acquire().await.unwrap_err();
/// let timed_out = err.downcast_ref::<WaitTimedOut>().expect("timed out");
/// assert_eq!(timed_out.max_wait(), Duration::from_millis(50));
/// assert_eq!(err.to_string(), "bulkhead db wait timed out after 50ms: 1 concurrent calls");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTimedOut {
    name: Arc<str>,
    limit: u32,
    max_wait: Duration,
}

impl WaitTimedOut {
    pub(crate) fn new(name: Arc<str>, limit: u32, max_wait: Duration) -> Self {
        Self {
            name,
            limit,
            max_wait,
        }
    }

    /// The bulkhead's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its maximum of concurrent calls when the wait ended.
    pub fn max_concurrent_calls(&self) -> u32 {
        self.limit
    }

    /// How long the call waited.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }
}

impl fmt::Display for WaitTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bulkhead {} wait timed out after {:?}: {} concurrent calls",
            self.name, self.max_wait, self.limit
        )
    }
}

impl std::error::Error for WaitTimedOut {}
