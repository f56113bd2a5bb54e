use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::{BoxError, Service};

use super::future::ResponseFuture;
use super::layer::Handle;
use super::{BulkheadLayer, Mode};
use crate::admission::{Permit, TimedAcquire};

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
    bulkhead: BulkheadLayer,
    state: State,
}

enum State {
    Idle,
    Waiting(Pin<Box<TimedAcquire<Handle>>>),
    Reserved(Permit<Handle>),
    Refused(BoxError),
}

impl<S> Bulkhead<S> {
    /// Guards `inner` with `bulkhead`.
    pub fn new(inner: S, bulkhead: BulkheadLayer) -> Self {
        Self {
            inner,
            bulkhead,
            state: State::Idle,
        }
    }

    /// Guards `inner` with a bulkhead that lives for the rest of the
    /// process (see [`BulkheadLayer::from_static`]).
    pub fn from_static(inner: S, bulkhead: &'static BulkheadLayer) -> Self {
        Self::new(inner, BulkheadLayer::from_static(bulkhead))
    }

    /// The bulkhead.
    pub fn bulkhead(&self) -> &BulkheadLayer {
        &self.bulkhead
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
        loop {
            match &mut self.state {
                State::Reserved(_) => return self.inner.poll_ready(cx).map_err(Into::into),
                State::Refused(_) => return Poll::Ready(Ok(())),
                State::Idle => {
                    self.state = match Permit::try_acquire(self.bulkhead.for_call()) {
                        Some(permit) => State::Reserved(permit),
                        None => self.when_full(),
                    }
                }
                State::Waiting(wait) => {
                    self.state = match wait.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(permit)) => State::Reserved(permit),
                        Poll::Ready(Err(e)) => State::Refused(
                            self.bulkhead.rejection(e, max_wait(self.bulkhead.mode())),
                        ),
                    }
                }
            }
        }
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        match std::mem::replace(&mut self.state, State::Idle) {
            // The permit is in the future before the inner call starts: a
            // panic in `call` drops it and frees the slot.
            State::Reserved(permit) => {
                let permit = PermitGuard(Some(permit), None);
                ResponseFuture::called(self.inner.call(req), permit)
            }
            State::Refused(error) => ResponseFuture::refused(error),
            _ => panic!("Bulkhead::call without poll_ready returning Ready first"),
        }
    }
}

/// Moves the permit through `call` so that a panic in the inner call drops
/// it. A keyed compartment's call also holds its key's bulkhead, so that
/// the key is not evicted (and remade empty) while the call is in flight;
/// the permit is released first (fields drop in order).
pub(crate) struct PermitGuard(
    pub(crate) Option<Permit<Handle>>,
    pub(crate) Option<std::sync::Arc<BulkheadLayer>>,
);

impl<S> Bulkhead<S> {
    #[cold]
    fn when_full(&self) -> State {
        match self.bulkhead.mode() {
            Mode::Wait { max_wait, .. } => State::Waiting(Box::pin(TimedAcquire::new(
                self.bulkhead.for_call(),
                max_wait,
            ))),
            _ => State::Refused(self.bulkhead.full().into()),
        }
    }
}

fn max_wait(mode: Mode) -> std::time::Duration {
    match mode {
        Mode::Wait { max_wait, .. } => max_wait,
        _ => std::time::Duration::ZERO,
    }
}

/// A clone shares the bulkhead but not the reservation.
impl<S: Clone> Clone for Bulkhead<S> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.bulkhead.clone())
    }
}

impl<S: fmt::Debug> fmt::Debug for Bulkhead<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Waiting(_) => "waiting",
            State::Reserved(_) => "reserved",
            State::Refused(_) => "refused",
        };
        f.debug_struct("Bulkhead")
            .field("inner", &self.inner)
            .field("bulkhead", &self.bulkhead)
            .field("state", &state)
            .finish()
    }
}
