//! One breaker per key (host, route, tenant), made on first use from one
//! configuration (feature `keyed`).

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{BoxError, Layer, Service};

use super::core::Held;
use super::future::ResponseFuture;
use super::{Builder, CircuitBreaker};
use crate::classify::{Classify, DefaultClassifier};
use crate::clock::SharedClock;
use crate::keyed::{self, KeyedMap};
use crate::observe::SharedObserver;
use crate::ConfigError;

/// Circuit breakers by key, each made on first use from one validated
/// configuration, idle ones forgotten (see [`KeyedMap`]): a breaker per
/// upstream host, per route, per tenant, so that one failing backend does
/// not open the circuit for the others.
///
/// Each breaker is named `"{name}/{key}"` after the configuration's name,
/// so events, metrics and refusals say which key refused. Every breaker is
/// readable by key ([`get`](KeyedBreakers::get)) and all of them at once
/// ([`entries`](KeyedBreakers::entries)) for a status page.
///
/// A breaker that goes unused for the map's idle timeout is evicted, and
/// its key starts again CLOSED with empty counts on its next call; a
/// breaker with calls in flight is never evicted.
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// use seawall::classify::Outcome;
/// use seawall::keyed::KeyedMap;
///
/// let breakers = CircuitBreaker::builder()
///     .name("upstream")
///     .consecutive_failures(1)
///     .build_keyed::<String>(KeyedMap::builder())?;
/// breakers.get_or_create("a.example").try_acquire()?.record(Outcome::Failure);
/// breakers.get_or_create("b.example").try_acquire()?.record(Outcome::Success);
///
/// assert_eq!(breakers.get("a.example").map(|b| b.state()), Some(State::Open));
/// assert_eq!(breakers.get("b.example").map(|b| b.state()), Some(State::Closed));
/// assert_eq!(breakers.get("a.example").unwrap().name(), "upstream/a.example");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeyedBreakers<K> {
    map: KeyedMap<K, CircuitBreaker>,
}

impl<K> Clone for KeyedBreakers<K> {
    fn clone(&self) -> Self {
        Self {
            map: self.map.clone(),
        }
    }
}

impl<K: Hash + Eq> fmt::Debug for KeyedBreakers<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakers")
            .field("map", &self.map)
            .finish()
    }
}

impl Builder {
    /// Validates the configuration once and returns breakers by key, made
    /// from it on first use. `map` sets how many keys are kept and for how
    /// long (its clock is this builder's, if one was given). Every observer
    /// added hears the events of every key's breaker.
    pub fn build_keyed<K>(self, map: keyed::Builder) -> Result<KeyedBreakers<K>, ConfigError>
    where
        K: fmt::Display + Hash + Eq + Clone + Send + Sync + 'static,
    {
        let (config, clock, observer) = self.into_parts()?;
        let map = match &clock {
            // The breakers' clock, so that idleness and their waits are
            // measured alike.
            Some(clock) => map.clock(clock.clone()),
            None => map,
        };
        let clock = clock.unwrap_or(SharedClock::System);
        let base = config.name().to_owned();
        let map = map.build(move |key: &K| {
            let mut config = config.clone();
            config.0.name = Arc::from(format!("{base}/{key}"));
            CircuitBreaker::from_parts(config, clock.clone(), SharedObserver::clone(&observer))
        })?;
        Ok(KeyedBreakers { map })
    }
}

impl<K> KeyedBreakers<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// The breaker of `key`, made if the key is new. Holding the returned
    /// `Arc` keeps the breaker from being evicted.
    pub fn get_or_create<Q>(&self, key: &Q) -> Arc<CircuitBreaker>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.map.get_or_create(key)
    }

    /// The breaker of `key`, if it has one (not a use of the key).
    pub fn get<Q>(&self, key: &Q) -> Option<Arc<CircuitBreaker>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    /// Every key and its breaker, for status pages and metrics (allocates).
    pub fn entries(&self) -> Vec<(K, Arc<CircuitBreaker>)> {
        self.map.entries()
    }

    /// The number of keys with a breaker.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key has a breaker.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The map underneath, to evict or remove keys by hand.
    pub fn map(&self) -> &KeyedMap<K, CircuitBreaker> {
        &self.map
    }
}

/// Wraps services in a [`KeyedBreaker`]: each request goes through the
/// breaker of the key `extract` reads from it.
///
/// ```
/// use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
/// use seawall::breaker::{CircuitBreaker, KeyedBreakerLayer, Open, State};
/// use seawall::keyed::KeyedMap;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), seawall::BoxError> {
/// let breakers = CircuitBreaker::builder()
///     .name("tenants")
///     .consecutive_failures(2)
///     .build_keyed::<&'static str>(KeyedMap::builder())?;
/// // Requests are (tenant, should fail).
/// let mut service = ServiceBuilder::new()
///     .layer(KeyedBreakerLayer::new(breakers.clone(), |req: &(&'static str, bool)| req.0))
///     .service(service_fn(|(_, fail): (&'static str, bool)| async move {
///         if fail { Err("backend down") } else { Ok("ok") }
///     }));
/// for _ in 0..2 {
///     let _ = service.ready().await?.call(("noisy", true)).await;
/// }
/// let refused = service.ready().await?.call(("noisy", false)).await.unwrap_err();
/// assert_eq!(refused.downcast_ref::<Open>().map(Open::name), Some("tenants/noisy"));
/// assert_eq!(service.ready().await?.call(("quiet", false)).await?, "ok");
/// assert_eq!(breakers.get("noisy").map(|b| b.state()), Some(State::Open));
/// # Ok(())
/// # }
/// ```
pub struct KeyedBreakerLayer<K, F, C = DefaultClassifier> {
    breakers: KeyedBreakers<K>,
    extract: F,
    classifier: C,
}

impl<K, F> KeyedBreakerLayer<K, F> {
    /// A layer choosing each request's breaker by `extract(&request)`;
    /// `Ok` is a success and `Err` a failure.
    pub fn new(breakers: KeyedBreakers<K>, extract: F) -> Self {
        Self {
            breakers,
            extract,
            classifier: DefaultClassifier,
        }
    }
}

#[cfg(feature = "http")]
impl<K, F> KeyedBreakerLayer<K, F, crate::classify::HttpClassifier> {
    /// A layer for HTTP services: 5xx answers and timeouts count (see
    /// [`BreakerLayer::http`](super::BreakerLayer::http)).
    pub fn http(breakers: KeyedBreakers<K>, extract: F) -> Self {
        KeyedBreakerLayer::new(breakers, extract).classifier(crate::classify::HttpClassifier::new())
    }
}

impl<K, F, C> KeyedBreakerLayer<K, F, C> {
    /// Classifies results with `classifier` instead.
    pub fn classifier<C2>(self, classifier: C2) -> KeyedBreakerLayer<K, F, C2> {
        KeyedBreakerLayer {
            breakers: self.breakers,
            extract: self.extract,
            classifier,
        }
    }

    /// The breakers.
    pub fn breakers(&self) -> &KeyedBreakers<K> {
        &self.breakers
    }
}

impl<K, F: Clone, C: Clone> Clone for KeyedBreakerLayer<K, F, C> {
    fn clone(&self) -> Self {
        Self {
            breakers: self.breakers.clone(),
            extract: self.extract.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<K: Hash + Eq, F, C: fmt::Debug> fmt::Debug for KeyedBreakerLayer<K, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakerLayer")
            .field("breakers", &self.breakers)
            .field("classifier", &self.classifier)
            .finish_non_exhaustive()
    }
}

impl<S, K, F: Clone, C: Clone> Layer<S> for KeyedBreakerLayer<K, F, C> {
    type Service = KeyedBreaker<S, K, F, C>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyedBreaker {
            inner,
            breakers: self.breakers.clone(),
            extract: self.extract.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service guarded by one breaker per key (see [`KeyedBreakerLayer`]).
/// A refused call fails its response future with [`Open`](super::Open),
/// naming the key's breaker; the inner service is not called.
pub struct KeyedBreaker<S, K, F, C = DefaultClassifier> {
    inner: S,
    breakers: KeyedBreakers<K>,
    extract: F,
    classifier: C,
}

impl<S, K, F, C> KeyedBreaker<S, K, F, C> {
    /// The breakers.
    pub fn breakers(&self) -> &KeyedBreakers<K> {
        &self.breakers
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, K, F: Clone, C: Clone> Clone for KeyedBreaker<S, K, F, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            breakers: self.breakers.clone(),
            extract: self.extract.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<S: fmt::Debug, K: Hash + Eq, F, C: fmt::Debug> fmt::Debug for KeyedBreaker<S, K, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreaker")
            .field("inner", &self.inner)
            .field("breakers", &self.breakers)
            .field("classifier", &self.classifier)
            .finish_non_exhaustive()
    }
}

impl<S, K, F, C, Req> Service<Req> for KeyedBreaker<S, K, F, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    F: Fn(&Req) -> K,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C, Arc<CircuitBreaker>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let key = (self.extract)(&req);
        // The future holds the key's breaker: it cannot be evicted while
        // the call is in flight.
        let breaker = self.breakers.map.get_or_create(&key);
        match breaker.acquire_raw() {
            Ok(raw) => {
                let permit = Held::new(breaker, raw);
                ResponseFuture::called(self.inner.call(req), permit, self.classifier.clone())
            }
            Err(open) => ResponseFuture::rejected(breaker, open),
        }
    }
}
