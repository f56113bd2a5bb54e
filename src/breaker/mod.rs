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
//! becomes a probe. HALF_OPEN admits at most `permitted` probes at a time
//! and judges them as one count window of that size as soon as
//! `min(minimum_number_of_calls, permitted)` of them have completed:
//! CLOSED if both rates stay below their thresholds, OPEN again (with the
//! next, longer wait) otherwise; with a maximum wait, OPEN also when the
//! phase outlives it. DISABLED, FORCED_OPEN and METRICS_ONLY are reached by
//! hand through [`CircuitBreaker::transition_to`].
//!
//! No timer task runs. OPEN → HALF_OPEN happens on the first call after the
//! wait, as in resilience4j without `automaticTransitionFromOpenToHalfOpenEnabled`:
//! [`state`](CircuitBreaker::state) reads OPEN until that call, while
//! [`is_call_permitted`](CircuitBreaker::is_call_permitted) already says it
//! would be admitted. The half-open maximum wait, which resilience4j always
//! schedules, is applied by whatever comes first after it (a call, an
//! outcome, `state()`, `metrics()`, `is_call_permitted()`, a manual
//! transition), and applied as the timer would have: OPEN from the moment
//! the wait ran out, its own wait counted from then, and no outcome
//! recorded after that moment counted.
//!
//! [`Metrics`] are those of the current state, as resilience4j's: the
//! window in CLOSED, the probes in HALF_OPEN, and in OPEN the figures of the
//! state it came from (the window that tripped it, the probes that failed,
//! the previous OPEN's on a manual OPEN → OPEN). The refusal count starts
//! at 0 in every state, except that OPEN continues its predecessor's count
//! (resilience4j hands OPEN its predecessor's metrics object, refusal
//! counter included); [`Metrics::lifetime_not_permitted_calls`] counts
//! every refusal since the breaker was built.
//!
//! # Differences from resilience4j
//!
//! Checked against resilience4j's `CircuitBreakerStateMachine`,
//! `CircuitBreakerMetrics`, `FixedSizeSlidingWindowMetrics` and
//! `SlidingTimeWindowMetrics` (2.x). Where the rules above say "as
//! resilience4j", they match; what differs, and why:
//!
//! * **Generations.** A call belongs to the state (and generation) that
//!   admitted it; an outcome that arrives after its state ended is dropped.
//!   resilience4j records it in whatever state is current: a slow call
//!   admitted in CLOSED can be counted as a half-open probe, a probe still
//!   out after the verdict counts in the next CLOSED window, and outcomes
//!   completing in OPEN land in the metrics OPEN shows. Kept: a verdict
//!   must be about the calls it admitted.
//! * **Cancellation.** A call whose response future is dropped, or whose
//!   inner service panics, records nothing and frees its probe slot, as an
//!   ignored outcome does in both. resilience4j's Reactor operator does
//!   the same for a cancelled subscription, but its `CompletionStage` and
//!   `Future` decorators report a cancellation as an error, counted as a
//!   failure unless configured as ignored.
//! * **Slow-call detection is off by default**, so that the default closed
//!   path reads no clock; resilience4j always measures (60 s threshold).
//! * **No timer.** The automatic OPEN → HALF_OPEN
//!   (`automaticTransitionFromOpenToHalfOpenEnabled`) is not offered, and
//!   the events of the half-open maximum wait are reported when it is
//!   applied (see above), not at the instant it ran out. A call that finds
//!   OPEN before the transition into it has published its deadline (a
//!   window of a few instructions) is refused without a retry-after hint.
//!   `transitionToStateAfterWaitDuration` (CLOSED instead of OPEN after the
//!   maximum wait) is not offered: it would close a breaker on no evidence.
//! * **Backoff attempts.** FORCED_OPEN, DISABLED and METRICS_ONLY restart
//!   the backoff; resilience4j's FORCED_OPEN counts one more attempt and
//!   hands it on to a following OPEN or HALF_OPEN. Kept: forcing the
//!   breaker open is an operator's decision, not evidence that the backend
//!   failed again, and should not lengthen the next automatic wait.
//! * **Classification** replaces `recordExceptions`, `ignoreExceptions`,
//!   `recordResultPredicate` and `ignoreExceptionsPrecedenceEnabled`: one
//!   [`Classify`](crate::classify::Classify) maps a result to success,
//!   failure, overload (counted as a failure) or ignored.
//!   `transitionOnResult` (a result that forces OPEN for a given time),
//!   `transitionToOpenStateFor`/`Until`, `initialState` (call
//!   `transition_to` after building) and `currentTimestampFunction` (use a
//!   [`Clock`](crate::clock::Clock)) are not offered.
//! * **Consecutive failures** is an extra policy (as failsafe's and
//!   Polly's); its probes are judged by rate like any other policy's.
//! * **Metrics** give calls, failed, successful and slow calls, rates and
//!   refusals. Not offered: total and average duration, and slow calls
//!   split into successful and failed. Undefined rates are `None` where
//!   resilience4j returns -1.
//! * **Events** are transitions, resets and refusals. resilience4j also
//!   publishes per-call events (success, error, ignored error) and
//!   failure-rate/slow-call-rate-exceeded events (the only signal of
//!   METRICS_ONLY); seawall does not: per-call events would cost the
//!   healthy path. Events of racing transitions may reach an observer out
//!   of order (also in resilience4j); each carries its generation. An
//!   observer that panics is caught and ignored, as resilience4j catches
//!   what its event consumers throw.
//! * **Time-window buckets** are whole seconds of the breaker's monotonic
//!   clock, not of the wall clock (resilience4j uses UTC epoch seconds), so
//!   a wall-clock step does not move the window.
//! * **Limits** (below): at most 255 probes, 30 000 calls in a count
//!   window, 3 600 one-second buckets; deadlines at millisecond resolution;
//!   a manual OPEN → OPEN repeated more than 255 times in a row shows no
//!   window any more.
//!
//! # Limits of the encoding
//!
//! The state word packs the generation in 29 bits and the probe counters in
//! 8 (so at most 255 probes); the count window's counters are 16-bit fields
//! (so at most 30 000 calls); deadlines have millisecond resolution and
//! count from the breaker's creation, so any clock origin works; after
//! 34.8 years of a breaker's life they would saturate, and every wait would
//! then end at once rather than never. A call held across 2^29 transitions
//! could be taken for a call of the current generation.
//!
//! # Sharing the breaker
//!
//! Clones of a [`Breaker`] service share its breaker. By default
//! ([`Shared`]) each call holds the breaker alive until it completes with a
//! spare handle of its thread's, given back when the call ends, so that in
//! steady state a call writes no reference count and threads write no
//! common cache line (the hold is then about 4 ns of a call's cost). A
//! breaker made once for the life of the process can be given as
//! `&'static CircuitBreaker` ([`BreakerLayer::from_static`]), and then a
//! call holds a plain reference (`benches/breaker.rs`).
//!
//! # Composition
//!
//! The [`guide`] shows the breaker with tower's `retry` and `timeout`, in an
//! axum application (503 with `Retry-After`), one per endpoint, and how to
//! choose its window and thresholds. Outside tower, take an
//! [`OwnedPermit`] in your own service, or wrap a future with
//! [`CircuitBreaker::call`].
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
pub mod guide;
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
