use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower::{BoxError, Layer};

use super::{Builder, Bulkhead, Full, Mode, Rejection, WaitTimedOut};
use crate::admission::{HasPool, Hold, Permit, Pool, Reserve, Striped, TimedAcquire, WaitError};
use crate::observe::{Event, SharedObserver};
use crate::ConfigError;

/// What the clones of one bulkhead share.
pub(crate) struct Inner {
    pool: Pool,
    name: Arc<str>,
    mode: Mode,
    observer: SharedObserver,
}

impl HasPool for Inner {
    #[inline]
    fn pool(&self) -> &Pool {
        &self.pool
    }
}

crate::stash::kept!(crate::sync::CachePadded<Arc<Inner>>);

/// One call's hold on its bulkhead.
pub(crate) type Handle = Hold<Inner>;

/// A bulkhead: a maximum of concurrent calls, shared by every service it
/// wraps and by its clones. It is the tower [`Layer`] too.
///
/// ```
/// use tower::{service_fn, ServiceBuilder};
/// use seawall::bulkhead::BulkheadLayer;
///
/// let bulkhead = BulkheadLayer::builder().name("search").max_concurrent_calls(10).build()?;
/// let service = ServiceBuilder::new()
///     .layer(bulkhead.clone())
///     .service(service_fn(|q: String| async move { Ok::<_, std::io::Error>(q.len()) }));
/// assert_eq!(bulkhead.available_permits(), 10);
/// # drop(service);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct BulkheadLayer {
    shared: Striped<Inner>,
}

/// A permit of a bulkhead, held outside a tower stack: the slot is free
/// again when it is dropped.
///
/// ```
/// use seawall::bulkhead::BulkheadLayer;
/// let bulkhead = BulkheadLayer::builder().max_concurrent_calls(2).build()?;
/// let permit = bulkhead.try_acquire()?;
/// assert_eq!(bulkhead.available_permits(), 1);
/// drop(permit);
/// assert_eq!(bulkhead.available_permits(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
// Held only for its drop, which frees the slot.
pub struct BulkheadPermit(#[allow(dead_code)] pub(crate) Permit<Handle>);

impl BulkheadLayer {
    /// Starts a [`Builder`].
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The same bulkhead for a bulkhead that lives for the rest of the
    /// process: the calls of the services it wraps hold a plain reference
    /// to it instead of a spare handle from their thread, which saves a few
    /// nanoseconds per call.
    ///
    /// ```
    /// use tower::{service_fn, ServiceBuilder};
    /// use seawall::bulkhead::BulkheadLayer;
    ///
    /// let bulkhead: &'static BulkheadLayer =
    ///     Box::leak(Box::new(BulkheadLayer::builder().max_concurrent_calls(10).build()?));
    /// let service = ServiceBuilder::new()
    ///     .layer(BulkheadLayer::from_static(bulkhead))
    ///     .service(service_fn(|q: String| async move { Ok::<_, std::io::Error>(q.len()) }));
    /// # drop(service);
    /// # Ok::<(), seawall::ConfigError>(())
    /// ```
    pub fn from_static(bulkhead: &'static BulkheadLayer) -> Self {
        Self {
            shared: bulkhead.shared.to_static(),
        }
    }

    pub(crate) fn from_parts(
        name: Arc<str>,
        mode: Mode,
        pool: Pool,
        observer: SharedObserver,
    ) -> Self {
        Self {
            shared: Striped::new(Arc::new(Inner {
                pool,
                name,
                mode,
                observer,
            })),
        }
    }

    /// The bulkhead's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Fail fast or wait.
    pub fn mode(&self) -> Mode {
        self.shared.mode
    }

    /// The maximum of concurrent calls in force.
    pub fn max_concurrent_calls(&self) -> u32 {
        self.shared.pool.core().limit()
    }

    /// Changes the maximum of concurrent calls, at once and for every
    /// clone. Calls in flight above a lower maximum finish; no call is
    /// admitted until in-flight is below it. Waiters get the permits a
    /// higher maximum adds.
    ///
    /// ```
    /// use seawall::bulkhead::BulkheadLayer;
    /// let bulkhead = BulkheadLayer::builder().max_concurrent_calls(2).build()?;
    /// let held = [bulkhead.try_acquire()?, bulkhead.try_acquire()?];
    /// bulkhead.set_max_concurrent_calls(1)?;
    /// drop(held);
    /// assert_eq!(bulkhead.available_permits(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_max_concurrent_calls(&self, max: u32) -> Result<(), ConfigError> {
        super::builder::check_limit(max)?;
        let from = self.shared.pool.set_limit(max);
        if from != max {
            self.shared.observer.emit(&Event::BulkheadLimitChanged {
                name: &self.shared.name,
                from,
                to: max,
            });
        }
        Ok(())
    }

    /// Permits free now.
    pub fn available_permits(&self) -> u32 {
        self.shared.pool.core().available()
    }

    /// Calls holding a permit now (above the maximum only while calls
    /// admitted before a lowering finish).
    pub fn in_flight(&self) -> u32 {
        self.shared.pool.core().in_flight()
    }

    /// Callers waiting for a permit now.
    pub fn waiting_callers(&self) -> usize {
        self.shared.pool.waiting()
    }

    /// Takes a permit if one is free, without waiting (in either mode).
    pub fn try_acquire(&self) -> Result<BulkheadPermit, Full> {
        match self.try_permit() {
            Some(permit) => Ok(BulkheadPermit(permit)),
            None => Err(self.full()),
        }
    }

    /// Takes a permit, waiting for one as the mode allows. Fails with
    /// [`Full`] or [`WaitTimedOut`] (boxed). Dropping the future while it
    /// waits leaves the queue.
    pub async fn acquire(&self) -> Result<BulkheadPermit, BoxError> {
        if let Ok(permit) = self.try_acquire() {
            return Ok(permit);
        }
        let max_wait = match self.shared.mode {
            Mode::Wait { max_wait, .. } => max_wait,
            _ => return Err(self.full().into()),
        };
        TimedAcquire::new(self.shared.for_call(), max_wait)
            .await
            .map(BulkheadPermit)
            .map_err(|e| self.rejection(e, max_wait))
    }

    /// A wait without a timer, for the loom models (tokio's timer needs a
    /// runtime, which loom does not have).
    #[cfg(seawall_loom)]
    #[doc(hidden)]
    pub fn acquire_untimed(
        &self,
    ) -> impl std::future::Future<Output = Option<BulkheadPermit>> + Unpin + Send {
        use std::future::Future;
        let mut acquire = crate::admission::Acquire::new(self.shared.for_call());
        std::future::poll_fn(move |cx| {
            std::pin::Pin::new(&mut acquire)
                .poll(cx)
                .map(|r| r.ok().map(BulkheadPermit))
        })
    }

    #[inline]
    pub(crate) fn for_call(&self) -> Handle {
        self.shared.for_call()
    }

    #[inline]
    pub(crate) fn pool(&self) -> &Pool {
        self.shared.pool()
    }

    /// A permit if one is free: the slot first, then the call's hold, so
    /// that a full bulkhead takes no hold (the service's reservation, at
    /// once).
    #[inline]
    pub(crate) fn try_permit(&self) -> Option<Permit<Handle>> {
        self.try_reserve().map(|stripe| self.redeem(stripe))
    }

    #[cold]
    pub(crate) fn full(&self) -> Full {
        let limit = self.max_concurrent_calls();
        self.emit_rejected(Rejection::Full, limit);
        Full::new(self.shared.name.clone(), limit)
    }

    #[cold]
    pub(crate) fn rejection(&self, error: WaitError, max_wait: Duration) -> BoxError {
        match error {
            WaitError::Full => self.full().into(),
            WaitError::TimedOut => {
                let limit = self.max_concurrent_calls();
                self.emit_rejected(Rejection::WaitTimedOut, limit);
                WaitTimedOut::new(self.shared.name.clone(), limit, max_wait).into()
            }
        }
    }

    fn emit_rejected(&self, reason: Rejection, limit: u32) {
        self.shared.observer.emit(&Event::BulkheadRejected {
            name: &self.shared.name,
            max_concurrent_calls: limit,
            reason,
        });
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = Bulkhead<S>;

    fn layer(&self, inner: S) -> Bulkhead<S> {
        Bulkhead::new(inner, self.clone())
    }
}

impl fmt::Debug for BulkheadLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkheadLayer")
            .field("name", &self.name())
            .field("max_concurrent_calls", &self.max_concurrent_calls())
            .field("available_permits", &self.available_permits())
            .field("waiting_callers", &self.waiting_callers())
            .field("mode", &self.mode())
            .finish()
    }
}
