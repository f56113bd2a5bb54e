//! Keyed compartments: one bulkhead per key (route, tenant, backend), made
//! on first use, idle ones forgotten (feature `keyed`).

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{BoxError, Layer, Service};

use super::future::ResponseFuture;
use super::service::PermitGuard;
use super::{Builder, BulkheadLayer, Mode};
use crate::keyed::{self, KeyedMap};
use crate::ConfigError;

/// Bulkheads by key, each made on first use from one validated
/// configuration and named `"{name}/{key}"`, idle ones evicted (see
/// [`KeyedMap`]): one hot key cannot take the permits of the others. A key
/// with calls in flight is never evicted.
///
/// ```
/// use seawall::bulkhead::BulkheadLayer;
/// use seawall::keyed::KeyedMap;
///
/// let tenants = BulkheadLayer::builder()
///     .name("tenant")
///     .max_concurrent_calls(2)
///     .build_keyed::<String>(KeyedMap::builder())?;
/// let acme = tenants.get_or_create("acme");
/// let _held = [acme.try_acquire()?, acme.try_acquire()?];
/// assert!(acme.try_acquire().is_err());
/// assert!(tenants.get_or_create("globex").try_acquire().is_ok());
/// assert_eq!(acme.name(), "tenant/acme");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeyedBulkheads<K> {
    map: KeyedMap<K, BulkheadLayer>,
}

impl<K> Clone for KeyedBulkheads<K> {
    fn clone(&self) -> Self {
        Self {
            map: self.map.clone(),
        }
    }
}

impl<K: Hash + Eq> fmt::Debug for KeyedBulkheads<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBulkheads")
            .field("map", &self.map)
            .finish()
    }
}

impl Builder {
    /// Validates the configuration once and returns bulkheads by key, made
    /// from it on first use; `map` sets how many keys are kept and for how
    /// long. A key's compartment is admitted in `call`, once the request
    /// and so its key are known, so it fails fast: the mode must be
    /// [`Mode::FailFast`] (to wait, put a global [`BulkheadLayer`] in Wait
    /// mode under the [`KeyedBulkheadLayer`]).
    pub fn build_keyed<K>(self, map: keyed::Builder) -> Result<KeyedBulkheads<K>, ConfigError>
    where
        K: fmt::Display + Hash + Eq + Clone + Send + Sync + 'static,
    {
        if self.mode != Mode::FailFast {
            return Err(ConfigError::new(
                "mode",
                format_args!("{:?}", self.mode),
                "Mode::FailFast for keyed compartments",
            ));
        }
        super::builder::check_limit(self.max_concurrent_calls)?;
        let template = self;
        let map = map.build(move |key: &K| {
            Builder {
                name: Arc::from(format!("{}/{key}", template.name)),
                max_concurrent_calls: template.max_concurrent_calls,
                mode: Mode::FailFast,
                observer: template.observer.clone(),
            }
            .build()
            .expect("validated once before")
        })?;
        Ok(KeyedBulkheads { map })
    }
}

impl<K> KeyedBulkheads<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// The bulkhead of `key`, made if the key is new. Holding the `Arc`
    /// keeps it from being evicted.
    pub fn get_or_create<Q>(&self, key: &Q) -> Arc<BulkheadLayer>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.map.get_or_create(key)
    }

    /// The bulkhead of `key`, if it has one (not a use of the key).
    pub fn get<Q>(&self, key: &Q) -> Option<Arc<BulkheadLayer>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    /// The map underneath: its length, entries, and eviction by hand.
    pub fn map(&self) -> &KeyedMap<K, BulkheadLayer> {
        &self.map
    }
}

/// Wraps services so that each call is admitted by its key's compartment,
/// the key extracted from the request by `key`. For a global limit over all
/// keys, put a [`BulkheadLayer`] under it: its permit is reserved in
/// `poll_ready` (and waited for, in Wait mode), the key's in `call`; a call
/// its key refuses leaves the service ready, the global permit reserved for
/// the next call.
///
/// ```
/// use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
/// use seawall::bulkhead::{BulkheadLayer, Full, KeyedBulkheadLayer};
/// use seawall::keyed::KeyedMap;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), seawall::BoxError> {
/// let per_tenant = BulkheadLayer::builder()
///     .max_concurrent_calls(1)
///     .build_keyed::<&'static str>(KeyedMap::builder())?;
/// let global = BulkheadLayer::builder().max_concurrent_calls(100).build()?;
/// let mut service = ServiceBuilder::new()
///     .layer(KeyedBulkheadLayer::new(per_tenant.clone(), |req: &(&'static str, u32)| req.0))
///     .layer(global)
///     .service(service_fn(|req: (&'static str, u32)| async move { Ok::<_, std::io::Error>(req.1) }));
///
/// let _busy = per_tenant.get_or_create(&"acme").try_acquire()?;
/// let err = service.ready().await?.call(("acme", 1)).await.unwrap_err();
/// assert!(err.is::<Full>());
/// assert_eq!(service.ready().await?.call(("globex", 2)).await?, 2);
/// # Ok(())
/// # }
/// ```
pub struct KeyedBulkheadLayer<K, F> {
    bulkheads: KeyedBulkheads<K>,
    key: F,
}

impl<K, F> KeyedBulkheadLayer<K, F> {
    /// Compartments from `bulkheads`, keyed by `key(&request)`.
    pub fn new(bulkheads: KeyedBulkheads<K>, key: F) -> Self {
        Self { bulkheads, key }
    }
}

impl<K, F: Clone> Clone for KeyedBulkheadLayer<K, F> {
    fn clone(&self) -> Self {
        Self {
            bulkheads: self.bulkheads.clone(),
            key: self.key.clone(),
        }
    }
}

impl<K: Hash + Eq, F> fmt::Debug for KeyedBulkheadLayer<K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBulkheadLayer")
            .field("bulkheads", &self.bulkheads)
            .finish()
    }
}

impl<S, K, F: Clone> Layer<S> for KeyedBulkheadLayer<K, F> {
    type Service = KeyedBulkhead<S, K, F>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyedBulkhead {
            inner,
            bulkheads: self.bulkheads.clone(),
            key: self.key.clone(),
        }
    }
}

/// A service whose calls are admitted by their key's compartment. See
/// [`KeyedBulkheadLayer`].
pub struct KeyedBulkhead<S, K, F> {
    inner: S,
    bulkheads: KeyedBulkheads<K>,
    key: F,
}

impl<S: Clone, K, F: Clone> Clone for KeyedBulkhead<S, K, F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            bulkheads: self.bulkheads.clone(),
            key: self.key.clone(),
        }
    }
}

impl<S: fmt::Debug, K: Hash + Eq, F> fmt::Debug for KeyedBulkhead<S, K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBulkhead")
            .field("inner", &self.inner)
            .field("bulkheads", &self.bulkheads)
            .finish()
    }
}

impl<S, K, F, Req> Service<Req> for KeyedBulkhead<S, K, F>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    F: Fn(&Req) -> K,
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let bulkhead = self.bulkheads.get_or_create(&(self.key)(&req));
        match bulkhead.try_permit() {
            Some(permit) => {
                let guard = PermitGuard(Some(permit), Some(bulkhead));
                ResponseFuture::called(self.inner.call(req), guard)
            }
            // The inner service stays ready (and keeps a global
            // reservation) for the next call.
            None => ResponseFuture::refused(bulkhead.full().into()),
        }
    }
}
