//! Events as `metrics` counters and gauges, through handles registered once
//! per instance and label set.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

#[cfg(feature = "balance")]
use self::handles::balancer;
#[cfg(feature = "breaker")]
use self::handles::breaker;
#[cfg(feature = "bulkhead")]
use self::handles::bulkhead;
#[cfg(feature = "limit")]
use self::handles::limiter;
use super::{Event, Observer};

mod handles;

/// Reports events through the `metrics` facade (feature `metrics`). It
/// installs no recorder: the application chooses one (for Prometheus,
/// `metrics-exporter-prometheus`).
///
/// Every name starts with `seawall_<layer>_`, and every metric carries the
/// instance's name (`name` on its builder) as a label named after its
/// layer. Instances left unnamed share their layer's default name, and so
/// their series: name each one. One observer may serve every layer; a
/// breaker and a bulkhead of the same name stay apart.
///
/// | metric | kind | labels | meaning |
/// | --- | --- | --- | --- |
/// | `seawall_breaker_state` | gauge | `breaker` | the state entered last: 0 closed, 1 open, 2 half-open, 3 disabled, 4 forced-open, 5 metrics-only (`State::code`) |
/// | `seawall_breaker_transitions_total` | counter | `breaker`, `from`, `to` | state transitions |
/// | `seawall_breaker_resets_total` | counter | `breaker` | resets to closed with cleared figures |
/// | `seawall_breaker_rejections_total` | counter | `breaker`, `state` | calls refused, by the state that refused them |
/// | `seawall_bulkhead_max_concurrent_calls` | gauge | `bulkhead` | the maximum of concurrent calls, set when it changes and at each rejection |
/// | `seawall_bulkhead_rejections_total` | counter | `bulkhead`, `reason` | calls refused: `full`, or `wait_timed_out` |
/// | `seawall_limiter_limit` | gauge | `limiter` | the adaptive limit, set when it moves and at each rejection |
/// | `seawall_limiter_rejections_total` | counter | `limiter`, `reason`, and `partition` if the call had one | calls refused: `full` (at once), or `wait_timed_out` |
/// | `seawall_balancer_ejections_total` | counter | `balancer`, `endpoint`, `reason` | outlier ejections: `consecutive_failures`, or `success_rate` |
/// | `seawall_balancer_endpoint_ejected` | gauge | `balancer`, `endpoint` | 1 while the endpoint is ejected, 0 once it returns or leaves the set |
///
/// Label values are the `as_str` of the event's enums (`State`,
/// `bulkhead::Rejection`, `balance::EjectionReason`); an endpoint is its
/// key as `Debug`. Nothing is reported on the healthy call path, so a
/// gauge appears with its instance's first event, and in-flight counts are
/// read from the layers themselves (`BulkheadLayer::in_flight`,
/// `Limiter::in_flight`, `CircuitBreaker::metrics`).
///
/// Handles are registered with the recorder once per instance and label
/// set, at its first event, and kept: after that an event allocates
/// nothing, so a refused call during an outage costs a lookup and a counter
/// increment. The first instance an observer sees is found without a lock,
/// further ones in a map behind a read lock. The recorder is the one in
/// place at that first event. Clones share the registered handles; the
/// observer keeps one set per name it has seen (as the recorder keeps one
/// series per label set), so keyed layers over unbounded keys grow both;
/// a balancer's endpoint that leaves the set lets its handles go.
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// use seawall::observe::MetricsObserver;
///
/// // One observer for every layer; each instance named for its label.
/// let observer = MetricsObserver::new();
/// let users = CircuitBreaker::builder().name("users").observer(observer.clone()).build()?;
/// let orders = CircuitBreaker::builder().name("orders").observer(observer).build()?;
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
#[derive(Debug, Clone, Default)]
pub struct MetricsObserver(Arc<Layers>);

impl MetricsObserver {
    /// An observer with nothing registered yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Observer for MetricsObserver {
    fn on_event(&self, event: &Event<'_>) {
        #[cfg_attr(
            not(any(
                feature = "breaker",
                feature = "bulkhead",
                feature = "limit",
                feature = "balance"
            )),
            allow(unused_variables)
        )]
        let layers = &*self.0;
        match *event {
            #[cfg(feature = "breaker")]
            Event::BreakerTransition { name, from, to, .. } => {
                layers.breakers.with(name, breaker::Handles::new, |h| {
                    h.transition(from, to).increment(1);
                    h.state.set(f64::from(to.code()));
                })
            }
            #[cfg(feature = "breaker")]
            Event::BreakerReset { name } => {
                layers.breakers.with(name, breaker::Handles::new, |h| {
                    h.resets.increment(1);
                    h.state.set(f64::from(crate::breaker::State::Closed.code()));
                })
            }
            #[cfg(feature = "breaker")]
            Event::BreakerRejected { name, state, .. } => {
                layers.breakers.with(name, breaker::Handles::new, |h| {
                    h.rejection(state).increment(1)
                })
            }
            #[cfg(feature = "bulkhead")]
            Event::BulkheadRejected {
                name,
                max_concurrent_calls,
                reason,
            } => layers.bulkheads.with(name, bulkhead::Handles::new, |h| {
                h.rejection(reason).increment(1);
                h.max.set(f64::from(max_concurrent_calls));
            }),
            #[cfg(feature = "bulkhead")]
            Event::BulkheadLimitChanged { name, to, .. } => {
                layers
                    .bulkheads
                    .with(name, bulkhead::Handles::new, |h| h.max.set(f64::from(to)))
            }
            #[cfg(feature = "limit")]
            Event::LimitRejected {
                name,
                limit,
                partition,
                waited,
            } => layers.limiters.with(name, limiter::Handles::new, |h| {
                h.count_rejection(partition, waited);
                h.limit.set(f64::from(limit));
            }),
            #[cfg(feature = "limit")]
            Event::LimitChanged { name, to, .. } => {
                layers
                    .limiters
                    .with(name, limiter::Handles::new, |h| h.limit.set(f64::from(to)))
            }
            #[cfg(feature = "balance")]
            Event::BalanceEjected {
                name,
                endpoint,
                reason,
                ..
            } => layers.balancers.with(name, balancer::Handles::new, |h| {
                h.endpoint(endpoint, |e| {
                    e.ejection(&h.name, endpoint, reason).increment(1);
                    e.ejected.set(1.0);
                })
            }),
            #[cfg(feature = "balance")]
            Event::BalanceReturned { name, endpoint } => {
                layers.balancers.with(name, balancer::Handles::new, |h| {
                    h.endpoint(endpoint, |e| e.ejected.set(0.0))
                })
            }
            #[cfg(feature = "balance")]
            Event::BalanceRemoved { name, endpoint, .. } => {
                layers
                    .balancers
                    .with(name, balancer::Handles::new, |h| h.forget(endpoint))
            }
            Event::_Never(_, never) => match never {},
        }
    }
}

/// The handles of every instance seen, one registry per layer.
#[derive(Debug, Default)]
struct Layers {
    #[cfg(feature = "breaker")]
    breakers: Registry<breaker::Handles>,
    #[cfg(feature = "bulkhead")]
    bulkheads: Registry<bulkhead::Handles>,
    #[cfg(feature = "limit")]
    limiters: Registry<limiter::Handles>,
    #[cfg(feature = "balance")]
    balancers: Registry<balancer::Handles>,
}

/// Handles by name, each registered once. The usual case is one instance
/// per observer: its handles are read without a lock. Further ones go in a
/// map that events read under a shared lock, and only a new name writes.
struct Registry<H> {
    first: OnceLock<(Box<str>, H)>,
    others: RwLock<HashMap<Box<str>, H>>,
}

impl<H> Default for Registry<H> {
    fn default() -> Self {
        Self {
            first: OnceLock::new(),
            others: RwLock::default(),
        }
    }
}

impl<H> fmt::Debug for Registry<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let others = self.others.read().map_or(0, |m| m.len());
        f.debug_struct("Registry")
            .field("names", &(usize::from(self.first.get().is_some()) + others))
            .finish()
    }
}

impl<H> Registry<H> {
    /// Runs `f` on `name`'s handles, registering them with `new` first if
    /// this is the name's first event.
    fn with(&self, name: &str, new: impl FnOnce(&str) -> H, f: impl FnOnce(&H)) {
        let mut new = Some(new);
        let (first, handles) = self
            .first
            .get_or_init(|| (name.into(), new.take().expect("runs once")(name)));
        if &**first == name {
            return f(handles);
        }
        if let Some(handles) = self
            .others
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return f(handles);
        }
        let new = new.expect("only the first name's handles were made");
        let mut others = self.others.write().unwrap_or_else(PoisonError::into_inner);
        f(others.entry(name.into()).or_insert_with(|| new(name)))
    }

    /// Runs `f` on `name`'s handles if it has any, and lets them go (but
    /// the first name's, which stay for the observer's life).
    #[cfg(feature = "balance")]
    fn forget(&self, name: &str, f: impl FnOnce(&H)) {
        match self.first.get() {
            Some((first, handles)) if &**first == name => f(handles),
            _ => {
                let mut others = self.others.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(handles) = others.remove(name) {
                    f(&handles)
                }
            }
        }
    }
}

/// Counters of one metric that differ by an enum label, registered on the
/// label's first use (a series at 0 for every state pair would only be
/// noise).
struct Labelled<const N: usize>([OnceLock<::metrics::Counter>; N]);

impl<const N: usize> Labelled<N> {
    fn new() -> Self {
        Self(std::array::from_fn(|_| OnceLock::new()))
    }

    fn get(&self, i: usize, register: impl FnOnce() -> ::metrics::Counter) -> &::metrics::Counter {
        self.0[i].get_or_init(register)
    }
}

impl<const N: usize> fmt::Debug for Labelled<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let used = self.0.iter().filter(|c| c.get().is_some()).count();
        f.debug_struct("Labelled").field("used", &used).finish()
    }
}
