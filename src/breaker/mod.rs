//! A lock-free circuit breaker with resilience4j's semantics.
//!
//! # States
//!
//! CLOSED admits every call and records outcomes in a window; when the
//! failure rate or the slow-call rate reaches its threshold (with at least
//! the minimum number of calls in the window), or after `k` consecutive
//! failures, the breaker trips to OPEN. OPEN refuses calls with [`Open`]
//! until its wait (fixed, or an exponential [`Backoff`] with optional jitter)
//! is over; the first call strictly after the wait moves it to HALF_OPEN and
//! becomes a probe. HALF_OPEN admits exactly `permitted` probes and judges
//! them as one window of that size: CLOSED if both rates stay below their
//! thresholds, OPEN again (with the next, longer wait) otherwise. DISABLED,
//! FORCED_OPEN and METRICS_ONLY are reached by hand through
//! [`CircuitBreaker::transition_to`]. No timer task runs: every time-based
//! step happens on the call that finds the time has come.
//!
//! # Differences from resilience4j
//!
//! * **Generations.** A call belongs to the state (and generation) that
//!   admitted it. A slow call admitted in CLOSED that completes after the
//!   breaker opened is not recorded anywhere, and in particular is not taken
//!   for a half-open probe. resilience4j records a late outcome in whatever
//!   state is current.
//! * **Slow-call detection is off by default**, so that the default closed
//!   path reads no clock; resilience4j always measures (60 s threshold).
//! * **Lazy timing.** OPEN → HALF_OPEN and the half-open maximum wait happen
//!   on the next call, as resilience4j does without its
//!   `automaticTransitionFromOpenToHalfOpenEnabled` scheduler.
//! * **Counting refused calls**: one counter for the breaker's life, cleared
//!   by [`reset`](CircuitBreaker::reset), rather than one per state.
//! * **A cancelled call** (response future dropped, or the inner service
//!   panicked) is ignored: it frees its half-open slot and records nothing.
//!
//! # Limits of the encoding
//!
//! The state word packs the generation in 29 bits and the probe counters in
//! 8 (so at most 255 probes); the count window's counters are 16-bit fields
//! (so at most 30 000 calls); deadlines have millisecond resolution. A call
//! held across 2^29 transitions could be taken for a call of the current
//! generation.
//!
//! # Sharing the breaker
//!
//! Clones of a [`Breaker`] service share its breaker. By default
//! ([`Shared`]) each call holds a reference count on the breaker until it
//! completes, taken from a per-thread stripe so that threads write no
//! common cache line; that count is most of what a healthy call costs. A
//! breaker made once for the life of the process can be given as
//! `&'static CircuitBreaker` ([`BreakerLayer::from_static`]), and then a
//! healthy call costs about one uncontended atomic operation
//! (`benches/breaker.rs`).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
//! use seawall::breaker::{BreakerLayer, CircuitBreaker, Open, State};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let breaker = CircuitBreaker::builder()
//!     .consecutive_failures(3)
//!     .wait_duration_in_open_state(Duration::from_secs(30))
//!     .build()?;
//! let mut service = ServiceBuilder::new()
//!     .layer(BreakerLayer::new(breaker.clone()))
//!     .service(service_fn(|fail: bool| async move {
//!         if fail { Err("backend down") } else { Ok("ok") }
//!     }));
//!
//! for _ in 0..3 {
//!     let _ = service.ready().await?.call(true).await;
//! }
//! assert_eq!(breaker.state(), State::Open);
//! let err = service.ready().await?.call(false).await.unwrap_err();
//! let open = err.downcast_ref::<Open>().expect("refused by the breaker");
//! assert!(open.retry_after().is_some());
//! # Ok(())
//! # }
//! ```

mod backoff;
mod builder;
mod config;
mod core;
pub mod error;
pub mod future;
mod handle;
#[cfg(feature = "keyed")]
mod keyed;
mod layer;
mod metrics;
mod service;
mod state;
mod window;

pub use self::backoff::Backoff;
pub use self::builder::Builder;
pub use self::config::{Config, Policy, MAX_COUNT_WINDOW, MAX_HALF_OPEN_PROBES, MAX_TIME_WINDOW};
pub use self::core::{CircuitBreaker, OwnedPermit, Permit};
pub use self::error::{CallError, Open, TransitionError};
pub use self::handle::{BreakerRef, Shared, SharedCall};
#[cfg(feature = "keyed")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyed")))]
pub use self::keyed::{KeyedBreaker, KeyedBreakerLayer, KeyedBreakers};
pub use self::layer::BreakerLayer;
pub use self::metrics::Metrics;
pub use self::service::Breaker;
pub use self::state::State;

/// A raw permit from the words a balancer ticket carries.
#[cfg(feature = "balance")]
pub(crate) fn core_raw_permit(words: [u64; 2]) -> self::core::RawPermit {
    self::core::RawPermit::from_words(words)
}
