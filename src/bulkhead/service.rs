use std::fmt;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{BoxError, Service};

use super::future::ResponseFuture;
use super::layer::Handle;
use super::{BulkheadLayer, Mode};
use crate::admission::{Permit, Reservation, Reserve, WaitError};

/// A service behind a bulkhead. Clones share the bulkhead; a clone starts
/// without a reservation.
///
/// `poll_ready` reserves a permit (waiting for one in [`Mode::Wait`]) and
/// then polls the inner service; `call` moves the permit into the response
/// future, which frees it when the call completes, when the future is
/// dropped, or if the inner service panics. A refused call is ready at once
/// and fails its response future with [`Full`](super::Full) or
/// [`WaitTimedOut`](super::WaitTimedOut), boxed: a full bulkhead never
/// makes the service look dead to tower.
///
/// ```
/// use tower::{service_fn, Service, ServiceExt};
/// use seawall::bulkhead::{Bulkhead, BulkheadLayer, Full};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), seawall::BoxError> {
/// let bulkhead = BulkheadLayer::builder().max_concurrent_calls(1).build()?;
/// let mut service = Bulkhead::new(service_fn(|x: u8| async move { Ok::<_, std::io::Error>(x) }), bulkhead.clone());
/// assert_eq!(service.ready().await?.call(1).await?, 1);
///
/// let held = bulkhead.try_acquire()?;
/// let err = service.ready().await?.call(2).await.unwrap_err();
/// assert!(err.is::<Full>());
/// drop(held);
/// # Ok(())
/// # }
/// ```
pub struct Bulkhead<S> {
    inner: S,
    state: Reservation<BulkheadLayer>,
}

impl<S> Bulkhead<S> {
    /// Guards `inner` with `bulkhead`.
    pub fn new(inner: S, bulkhead: BulkheadLayer) -> Self {
        Self {
            inner,
            state: Reservation::new(bulkhead),
        }
    }

    /// Guards `inner` with a bulkhead that lives for the rest of the
    /// process (see [`BulkheadLayer::from_static`]).
    pub fn from_static(inner: S, bulkhead: &'static BulkheadLayer) -> Self {
        Self::new(inner, BulkheadLayer::from_static(bulkhead))
    }

    /// The bulkhead.
    pub fn bulkhead(&self) -> &BulkheadLayer {
        self.state.layer()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service (a reservation is given back).
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for Bulkhead<S>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let inner = &mut self.inner;
        self.state.poll_ready(cx, |cx| inner.poll_ready(cx))
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let inner = &mut self.inner;
        self.state.call(
            "Bulkhead",
            |_| inner.call(req),
            |future, permit| ResponseFuture::called(future, PermitGuard(Some(permit), None)),
            ResponseFuture::refused,
        )
    }
}

/// A call's permit, in its response future. A keyed compartment's call
/// also holds its key's bulkhead, so that the key is not evicted (and
/// remade empty) while the call is in flight; the permit is released first
/// (fields drop in order).
pub(crate) struct PermitGuard(
    pub(crate) Option<Permit<Handle>>,
    pub(crate) Option<std::sync::Arc<BulkheadLayer>>,
);

impl Reserve for BulkheadLayer {
    type Handle = Handle;
    /// The stripe the permit came from.
    type Ticket = usize;
    type Permit = Permit<Handle>;

    #[inline]
    fn try_reserve(&self) -> Option<usize> {
        self.pool().try_acquire()
    }

    #[inline]
    fn redeem(&self, stripe: usize) -> Permit<Handle> {
        Permit::new(self.for_call(), stripe)
    }

    fn cancel(&self, stripe: usize) {
        self.pool().release(stripe);
    }

    fn max_wait(&self) -> Option<Duration> {
        match self.mode() {
            Mode::Wait { max_wait, .. } => Some(max_wait),
            _ => None,
        }
    }

    fn wait_handle(&self) -> Handle {
        self.for_call()
    }

    fn waited(&self, permit: Permit<Handle>) -> Permit<Handle> {
        permit
    }

    fn refused(&self, error: Option<WaitError>) -> BoxError {
        match error {
            Some(e) => self.rejection(e, self.max_wait().unwrap_or_default()),
            None => self.full().into(),
        }
    }
}

/// A clone shares the bulkhead but not the reservation.
impl<S: Clone> Clone for Bulkhead<S> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.bulkhead().clone())
    }
}

impl<S: fmt::Debug> fmt::Debug for Bulkhead<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulkhead")
            .field("inner", &self.inner)
            .field("bulkhead", self.bulkhead())
            .field("state", &self.state.describe())
            .finish()
    }
}
