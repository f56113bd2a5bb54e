//! Bulkheads: fixed compartments of concurrency, so that one slow or hot
//! part of the traffic cannot take every worker.
//!
//! A bulkhead admits at most `max_concurrent_calls` calls at once. When it
//! is full it either fails fast with [`Full`] or lets callers wait in a
//! bounded FIFO queue for at most `max_wait`, failing with [`WaitTimedOut`]
//! after that ([`Mode`]). The pattern and its defaults follow resilience4j's
//! semaphore bulkhead (25 calls, no wait by default); the permit accounting
//! is seawall's own, exact and lock-free, and scales across threads (each
//! thread takes permits from and returns them to its own stripe of a global
//! budget).
//!
//! # Cost
//!
//! Per admitted call: a compare-and-swap to take a permit from the thread's
//! stripe and one to give it back, and a handle keeping the bulkhead alive
//! in the response future: a spare of the calling thread's, given back
//! when the call ends, so in steady state no reference count is written
//! and two threads write no common line. [`BulkheadLayer::from_static`]
//! holds a plain reference instead, for a bulkhead that lives for the rest
//! of the process. In `benches/limits.rs` (one run, a shared 2-core
//! machine; the ratio is the overhead over a bare service divided by that
//! of tower's `ConcurrencyLimit`, 33.7 ns): 0.50× tower, 0.43× with
//! `from_static`; two threads sharing one bulkhead scale 2.0 (tower's:
//! 0.97). Between `poll_ready` and `call` the service keeps only the
//! permit's stripe (its own handle keeps the bulkhead alive); `call` takes
//! the call's hold after starting the inner call, so the permit is written
//! once, in the response future.
//!
//! ```
//! use std::time::Duration;
//! use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
//! use seawall::bulkhead::{BulkheadLayer, Mode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), seawall::BoxError> {
//! let bulkhead = BulkheadLayer::builder()
//!     .name("reports")
//!     .max_concurrent_calls(4)
//!     .mode(Mode::Wait { max_wait: Duration::from_millis(200), queue: 16 })
//!     .build()?;
//! let mut service = ServiceBuilder::new()
//!     .layer(bulkhead.clone())
//!     .service(service_fn(|id: u32| async move { Ok::<_, std::io::Error>(id * 2) }));
//! assert_eq!(service.ready().await?.call(21).await?, 42);
//! assert_eq!(bulkhead.available_permits(), 4);
//! # Ok(())
//! # }
//! ```

mod builder;
mod error;
pub mod future;
#[cfg(feature = "keyed")]
mod keyed;
mod layer;
mod service;

use std::fmt;
use std::time::Duration;

pub use self::builder::{Builder, MAX_CONCURRENT_CALLS};
pub use self::error::{Full, WaitTimedOut};
#[cfg(feature = "keyed")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyed")))]
pub use self::keyed::{KeyedBulkhead, KeyedBulkheadLayer, KeyedBulkheads};
pub use self::layer::{BulkheadLayer, BulkheadPermit};
pub use self::service::Bulkhead;

/// What a full bulkhead does with a call.
///
/// ```
/// use std::time::Duration;
/// use seawall::bulkhead::Mode;
/// let wait = Mode::Wait { max_wait: Duration::from_millis(100), queue: 32 };
/// assert_ne!(wait, Mode::FailFast);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Refuse it at once with [`Full`].
    FailFast,
    /// Let it wait, first come first served, for at most `max_wait`, with
    /// at most `queue` callers waiting; a caller beyond that is refused
    /// with [`Full`], one that waited too long with [`WaitTimedOut`].
    Wait {
        /// The longest a caller waits (above zero).
        max_wait: Duration,
        /// The most callers waiting at once (at least 1).
        queue: usize,
    },
}

/// Why a bulkhead refused a call, as its events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// Every permit was taken and no caller could wait ([`Full`]).
    Full,
    /// The caller waited its maximum wait ([`WaitTimedOut`]).
    WaitTimedOut,
}

impl Rejection {
    /// A short lowercase name, for labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Full => "full",
            Rejection::WaitTimedOut => "wait_timed_out",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
