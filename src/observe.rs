//! Events the layers report, and the hook that receives them.
//!
//! A layer reports to one [`Observer`], given when it is built; the default
//! observes nothing. Events are reported on rare paths (state transitions,
//! resets) and on rejections, never on the healthy call path. With feature
//! `tracing` there is [`TracingObserver`], with feature `metrics`
//! [`MetricsObserver`]; neither installs anything global, and observers
//! combine as tuples.
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
#[cfg(any(feature = "breaker", feature = "balance"))]
use std::time::Duration;

#[cfg(feature = "balance")]
use crate::balance::EjectionReason;
#[cfg(feature = "breaker")]
use crate::breaker::State;

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

/// Reports events as `tracing` events (feature `tracing`): transitions and
/// resets at `INFO`, rejections at `DEBUG`, all with target `seawall`.
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// use seawall::observe::TracingObserver;
/// let breaker = CircuitBreaker::builder().observer(TracingObserver).build()?;
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingObserver;

#[cfg(feature = "tracing")]
impl Observer for TracingObserver {
    fn on_event(&self, event: &Event<'_>) {
        match *event {
            #[cfg(feature = "breaker")]
            Event::BreakerTransition {
                name,
                from,
                to,
                generation,
            } => tracing::info!(
                target: "seawall",
                breaker = name,
                from = from.as_str(),
                to = to.as_str(),
                generation,
                "circuit breaker state transition"
            ),
            #[cfg(feature = "breaker")]
            Event::BreakerReset { name } => {
                tracing::info!(target: "seawall", breaker = name, "circuit breaker reset")
            }
            #[cfg(feature = "breaker")]
            Event::BreakerRejected {
                name,
                state,
                retry_after,
            } => tracing::debug!(
                target: "seawall",
                breaker = name,
                state = state.as_str(),
                retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                "circuit breaker rejected a call"
            ),
            #[cfg(feature = "bulkhead")]
            Event::BulkheadRejected {
                name,
                max_concurrent_calls,
                reason,
            } => tracing::debug!(
                target: "seawall",
                bulkhead = name,
                max_concurrent_calls,
                reason = reason.as_str(),
                "bulkhead rejected a call"
            ),
            #[cfg(feature = "bulkhead")]
            Event::BulkheadLimitChanged { name, from, to } => tracing::info!(
                target: "seawall",
                bulkhead = name,
                from,
                to,
                "bulkhead limit changed"
            ),
            #[cfg(feature = "limit")]
            Event::LimitRejected {
                name,
                limit,
                partition,
            } => tracing::debug!(
                target: "seawall",
                limiter = name,
                limit,
                partition,
                "concurrency limit rejected a call"
            ),
            #[cfg(feature = "limit")]
            Event::LimitChanged { name, from, to } => tracing::debug!(
                target: "seawall",
                limiter = name,
                from,
                to,
                "concurrency limit changed"
            ),
            #[cfg(feature = "balance")]
            Event::BalanceEjected {
                name,
                endpoint,
                reason,
                duration,
                ejections,
            } => tracing::warn!(
                target: "seawall",
                balancer = name,
                endpoint,
                reason = reason.as_str(),
                duration_ms = duration.as_millis() as u64,
                ejections,
                "balancer ejected an endpoint"
            ),
            #[cfg(feature = "balance")]
            Event::BalanceReturned { name, endpoint } => tracing::info!(
                target: "seawall",
                balancer = name,
                endpoint,
                "balancer returned an endpoint"
            ),
            Event::_Never(_, never) => match never {},
        }
    }
}

/// Reports events through the `metrics` facade (feature `metrics`). It
/// installs no recorder: the application chooses one.
///
/// | metric | kind | labels |
/// | --- | --- | --- |
/// | `seawall_breaker_transitions_total` | counter | `breaker`, `from`, `to` |
/// | `seawall_breaker_state` | gauge (0 closed, 1 open, 2 half-open, 3 disabled, 4 forced-open, 5 metrics-only) | `breaker` |
/// | `seawall_breaker_resets_total` | counter | `breaker` |
/// | `seawall_breaker_rejections_total` | counter | `breaker`, `state` |
/// | `seawall_balance_ejections_total` | counter | `balancer`, `endpoint`, `reason` |
/// | `seawall_balance_ejected` | gauge (1 ejected, 0 returned) | `balancer`, `endpoint` |
/// | `seawall_bulkhead_rejections_total` | counter | `bulkhead`, `reason` |
/// | `seawall_bulkhead_max_concurrent_calls` | gauge (on change) | `bulkhead` |
/// | `seawall_limit_rejections_total` | counter | `limiter` |
/// | `seawall_limit` | gauge (on change) | `limiter` |
///
/// Handles are registered with the recorder once, on a breaker's first
/// event (each counter on its first use), and kept: after that an event
/// allocates nothing, so a refused call during an outage costs a counter
/// increment. The recorder is the one in place at that first event. Clones
/// share the registered handles.
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// use seawall::observe::MetricsObserver;
/// let breaker = CircuitBreaker::builder().observer(MetricsObserver::new()).build()?;
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
#[derive(Debug, Clone, Default)]
pub struct MetricsObserver(std::sync::Arc<metrics_handles::Registry>);

#[cfg(feature = "metrics")]
impl MetricsObserver {
    /// An observer with nothing registered yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[cfg(feature = "metrics")]
impl Observer for MetricsObserver {
    fn on_event(&self, event: &Event<'_>) {
        match *event {
            #[cfg(feature = "breaker")]
            Event::BreakerTransition { name, from, to, .. } => {
                self.0.with(name, |h| {
                    h.transition(from, to).increment(1);
                    h.state.set(to.code() as f64);
                });
            }
            #[cfg(feature = "breaker")]
            Event::BreakerReset { name } => self.0.with(name, |h| {
                h.resets.increment(1);
                h.state.set(State::Closed.code() as f64);
            }),
            #[cfg(feature = "breaker")]
            Event::BreakerRejected { name, state, .. } => {
                self.0.with(name, |h| h.rejection(state).increment(1))
            }
            #[cfg(feature = "bulkhead")]
            Event::BulkheadRejected { name, reason, .. } => metrics::counter!(
                "seawall_bulkhead_rejections_total",
                "bulkhead" => name.to_owned(),
                "reason" => reason.as_str()
            )
            .increment(1),
            #[cfg(feature = "bulkhead")]
            Event::BulkheadLimitChanged { name, to, .. } => {
                metrics::gauge!("seawall_bulkhead_max_concurrent_calls", "bulkhead" => name.to_owned())
                    .set(f64::from(to))
            }
            #[cfg(feature = "limit")]
            Event::LimitRejected { name, .. } => metrics::counter!(
                "seawall_limit_rejections_total",
                "limiter" => name.to_owned()
            )
            .increment(1),
            #[cfg(feature = "limit")]
            Event::LimitChanged { name, to, .. } => {
                metrics::gauge!("seawall_limit", "limiter" => name.to_owned()).set(f64::from(to))
            }
            #[cfg(feature = "balance")]
            Event::BalanceEjected {
                name,
                endpoint,
                reason,
                ..
            } => {
                metrics::counter!(
                    "seawall_balance_ejections_total",
                    "balancer" => name.to_owned(),
                    "endpoint" => endpoint.to_owned(),
                    "reason" => reason.as_str()
                )
                .increment(1);
                metrics::gauge!(
                    "seawall_balance_ejected",
                    "balancer" => name.to_owned(),
                    "endpoint" => endpoint.to_owned()
                )
                .set(1.0);
            }
            #[cfg(feature = "balance")]
            Event::BalanceReturned { name, endpoint } => metrics::gauge!(
                "seawall_balance_ejected",
                "balancer" => name.to_owned(),
                "endpoint" => endpoint.to_owned()
            )
            .set(0.0),
            Event::_Never(_, never) => match never {},
        }
    }
}

/// The metric handles of each breaker a [`MetricsObserver`] has seen.
#[cfg(feature = "metrics")]
mod metrics_handles {
    use std::sync::{Mutex, OnceLock};

    #[cfg(feature = "breaker")]
    use crate::breaker::State;

    /// The usual case is one breaker per observer: its handles are read
    /// without a lock. Further breakers' go in a list behind a mutex.
    #[derive(Debug, Default)]
    pub(super) struct Registry {
        first: OnceLock<Handles>,
        others: Mutex<Vec<Handles>>,
    }

    impl Registry {
        pub(super) fn with(&self, name: &str, f: impl FnOnce(&Handles)) {
            let first = self.first.get_or_init(|| Handles::new(name));
            if &*first.name == name {
                return f(first);
            }
            let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
            match others.iter().position(|h| &*h.name == name) {
                Some(i) => f(&others[i]),
                None => {
                    others.push(Handles::new(name));
                    f(others.last().expect("just pushed"))
                }
            }
        }
    }

    /// One breaker's handles; counters whose labels depend on a state are
    /// registered on first use.
    #[derive(Debug)]
    pub(super) struct Handles {
        name: Box<str>,
        pub(super) state: metrics::Gauge,
        pub(super) resets: metrics::Counter,
        #[cfg(feature = "breaker")]
        rejections: [OnceLock<metrics::Counter>; State::ALL.len()],
        #[cfg(feature = "breaker")]
        transitions: [[OnceLock<metrics::Counter>; State::ALL.len()]; State::ALL.len()],
    }

    impl Handles {
        fn new(name: &str) -> Self {
            let label = name.to_owned();
            Self {
                name: name.into(),
                state: metrics::gauge!("seawall_breaker_state", "breaker" => label.clone()),
                resets: metrics::counter!("seawall_breaker_resets_total", "breaker" => label),
                #[cfg(feature = "breaker")]
                rejections: Default::default(),
                #[cfg(feature = "breaker")]
                transitions: Default::default(),
            }
        }

        #[cfg(feature = "breaker")]
        pub(super) fn rejection(&self, state: State) -> &metrics::Counter {
            self.rejections[state.code() as usize].get_or_init(|| {
                metrics::counter!(
                    "seawall_breaker_rejections_total",
                    "breaker" => self.name.to_string(),
                    "state" => state.as_str()
                )
            })
        }

        #[cfg(feature = "breaker")]
        pub(super) fn transition(&self, from: State, to: State) -> &metrics::Counter {
            self.transitions[from.code() as usize][to.code() as usize].get_or_init(|| {
                metrics::counter!(
                    "seawall_breaker_transitions_total",
                    "breaker" => self.name.to_string(),
                    "from" => from.as_str(),
                    "to" => to.as_str()
                )
            })
        }
    }
}
