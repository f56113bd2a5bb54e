//! Events the layers report, and the hook that receives them.
//!
//! A layer reports to the observers given to its builder (each one added
//! hears every event); the default observes nothing. Events are reported on
//! rare paths (state transitions, resets, limit changes, ejections) and on
//! rejections, never on the healthy call path:
//!
//! | layer | events |
//! | --- | --- |
//! | breaker | [`BreakerTransition`](Event::BreakerTransition), [`BreakerReset`](Event::BreakerReset), [`BreakerRejected`](Event::BreakerRejected) |
//! | bulkhead | [`BulkheadRejected`](Event::BulkheadRejected), [`BulkheadLimitChanged`](Event::BulkheadLimitChanged) |
//! | limit | [`LimitRejected`](Event::LimitRejected), [`LimitChanged`](Event::LimitChanged) |
//! | balance | [`BalanceEjected`](Event::BalanceEjected), [`BalanceReturned`](Event::BalanceReturned), [`BalanceRemoved`](Event::BalanceRemoved) |
//!
//! With feature `tracing` there is [`TracingObserver`] (targets
//! `seawall::<layer>`), with feature `metrics` [`MetricsObserver`] (names
//! `seawall_<layer>_…`, labelled with the instance's name); neither installs
//! a subscriber or recorder, and observers combine as tuples. Both follow
//! the conventions of the crates they feed: `tracing`'s structured fields,
//! and Prometheus' metric naming (`_total` counters, base units).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use seawall::breaker::{CircuitBreaker, State};
//! use seawall::observe::Event;
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let breaker = CircuitBreaker::builder()
//!     .observer(move |event: &Event<'_>| {
//!         if let Event::BreakerTransition { to, .. } = event {
//!             log.lock().unwrap().push(*to);
//!         }
//!     })
//!     .build()?;
//! breaker.transition_to(State::ForcedOpen)?;
//! assert_eq!(*seen.lock().unwrap(), [State::ForcedOpen]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
#[cfg(any(feature = "breaker", feature = "limit", feature = "balance"))]
use std::time::Duration;

#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "tracing")]
mod tracing;

#[cfg(feature = "balance")]
use crate::balance::EjectionReason;
#[cfg(feature = "breaker")]
use crate::breaker::State;

#[cfg(feature = "metrics")]
pub use self::metrics::MetricsObserver;
#[cfg(feature = "tracing")]
pub use self::tracing::TracingObserver;

/// Something a layer reports.
///
/// ```
/// use seawall::breaker::State;
/// use seawall::observe::Event;
///
/// fn describe(event: &Event<'_>) -> String {
///     match event {
///         Event::BreakerTransition { name, from, to, .. } => format!("{name}: {from} -> {to}"),
///         other => format!("{other:?}"),
///     }
/// }
/// let event = Event::BreakerTransition { name: "db", from: State::Closed, to: State::Open, generation: 1 };
/// assert_eq!(describe(&event), "db: closed -> open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A circuit breaker moved from one state to another (a manual
    /// transition to the state it was in is not reported).
    #[cfg(feature = "breaker")]
    BreakerTransition {
        /// The breaker's name.
        name: &'a str,
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// The generation of the new state: it grows by one with every
        /// transition, so observers can order events that reached them out
        /// of order.
        generation: u32,
    },
    /// A circuit breaker was reset to closed with cleared metrics.
    #[cfg(feature = "breaker")]
    BreakerReset {
        /// The breaker's name.
        name: &'a str,
    },
    /// A circuit breaker refused a call.
    #[cfg(feature = "breaker")]
    BreakerRejected {
        /// The breaker's name.
        name: &'a str,
        /// The state that refused it.
        state: State,
        /// When the breaker expects to admit calls again, where known.
        retry_after: Option<Duration>,
    },
    /// A bulkhead refused a call.
    #[cfg(feature = "bulkhead")]
    BulkheadRejected {
        /// The bulkhead's name.
        name: &'a str,
        /// Its maximum of concurrent calls when it refused.
        max_concurrent_calls: u32,
        /// Full, or the wait timed out.
        reason: crate::bulkhead::Rejection,
    },
    /// A bulkhead's maximum of concurrent calls was changed.
    #[cfg(feature = "bulkhead")]
    BulkheadLimitChanged {
        /// The bulkhead's name.
        name: &'a str,
        /// The maximum before.
        from: u32,
        /// The maximum now.
        to: u32,
    },
    /// An adaptive concurrency limit refused a call (full, or its wait
    /// timed out).
    #[cfg(feature = "limit")]
    LimitRejected {
        /// The limit's name.
        name: &'a str,
        /// The limit when it refused.
        limit: u32,
        /// The partition the call belonged to, if the limit is partitioned.
        partition: Option<&'a str>,
        /// How long the call waited before it was refused: `None` when it
        /// was refused at once (fail fast, or a full queue).
        waited: Option<Duration>,
    },
    /// An adaptive concurrency limit moved.
    #[cfg(feature = "limit")]
    LimitChanged {
        /// The limit's name.
        name: &'a str,
        /// The limit before.
        from: u32,
        /// The limit now.
        to: u32,
    },
    /// A balancer's outlier detection ejected an endpoint.
    #[cfg(feature = "balance")]
    BalanceEjected {
        /// The balancer's name.
        name: &'a str,
        /// The endpoint (its key, as `Debug`).
        endpoint: &'a str,
        /// Why.
        reason: EjectionReason,
        /// How long it stays ejected.
        duration: Duration,
        /// Ejections in a row, the multiplier of the base ejection time.
        ejections: u32,
    },
    /// An ejected endpoint's time was over and it is picked again.
    #[cfg(feature = "balance")]
    BalanceReturned {
        /// The balancer's name.
        name: &'a str,
        /// The endpoint (its key, as `Debug`).
        endpoint: &'a str,
    },
    /// An endpoint left a balancer's set: removed, or replaced by one with
    /// the same key. Observers can forget what they kept about it; an
    /// ejection it was serving ends without a [`BalanceReturned`](Event::BalanceReturned).
    #[cfg(feature = "balance")]
    BalanceRemoved {
        /// The balancer's name.
        name: &'a str,
        /// The endpoint (its key, as `Debug`).
        endpoint: &'a str,
        /// Whether it was ejected when it left.
        ejected: bool,
    },
    /// Keeps the lifetime in use when no capability is enabled.
    #[doc(hidden)]
    _Never(std::marker::PhantomData<&'a ()>, std::convert::Infallible),
}

/// Receives events. Implementations must be cheap and must not block: they
/// run on the thread that caused the event.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use seawall::observe::{Event, Observer};
///
/// /// Counts refused calls.
/// #[derive(Default)]
/// struct Refusals(AtomicU64);
///
/// impl Observer for Refusals {
///     fn on_event(&self, event: &Event<'_>) {
///         if let Event::BreakerRejected { .. } = event {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// # let _ = Refusals::default();
/// ```
pub trait Observer: Send + Sync + 'static {
    /// Called once per event.
    fn on_event(&self, event: &Event<'_>);
}

/// Observes nothing.
impl Observer for () {
    fn on_event(&self, _: &Event<'_>) {}
}

impl<F> Observer for F
where
    F: Fn(&Event<'_>) + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_event(&self, event: &Event<'_>) {
        self.0.on_event(event);
        self.1.on_event(event);
    }
}

/// The `reason` of a limit's rejection, in the bulkhead's words: a call
/// refused at once found the limit full, one that waited timed out.
#[cfg(all(feature = "limit", any(feature = "tracing", feature = "metrics")))]
fn limit_reason(waited: Option<Duration>) -> &'static str {
    match waited {
        None => "full",
        Some(_) => "wait_timed_out",
    }
}

/// A type-erased observer as layers store it: none, or one that may itself
/// fan out to several.
#[derive(Clone, Default)]
pub(crate) struct SharedObserver(Option<std::sync::Arc<dyn Observer>>);

impl SharedObserver {
    /// Adds `observer` after the ones already there: setting a second
    /// observer must not silently drop the first.
    pub(crate) fn and(self, observer: impl Observer) -> Self {
        Self(Some(match self.0 {
            None => std::sync::Arc::new(observer),
            Some(first) => std::sync::Arc::new((Fanout(first), observer)),
        }))
    }

    #[inline]
    pub(crate) fn emit(&self, event: &Event<'_>) {
        if let Some(observer) = &self.0 {
            observer.on_event(event)
        }
    }
}

/// The observers added before, in front of one added later.
struct Fanout(std::sync::Arc<dyn Observer>);

impl Observer for Fanout {
    fn on_event(&self, event: &Event<'_>) {
        self.0.on_event(event)
    }
}

impl fmt::Debug for SharedObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer"
        } else {
            "NoObserver"
        })
    }
}
