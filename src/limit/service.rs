use std::fmt;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{BoxError, Service};

use super::future::{Recorder, ResponseFuture};
use super::limiter::{LimitPermit, Ticket};
use super::partition::{PoolRef, SHARED};
use super::{Limiter, Mode};
use crate::admission::{Permit, Reservation, Reserve, WaitError};
use crate::classify::{Classify, DefaultClassifier};

/// A service behind an adaptive concurrency limit. Clones share the
/// limiter; a clone starts without a reservation.
///
/// `poll_ready` reserves a permit (waiting for one in [`Mode::Wait`]),
/// then polls the inner service; `call` moves the permit into the response
/// future. When the call completes, its round-trip time (from `call`, on
/// the limiter's clock), the in-flight count at admission and its
/// classified outcome teach the algorithm, and the permit is freed; a
/// dropped future only frees it. A refused call is ready at once and fails
/// its response future with [`Overloaded`](super::Overloaded), boxed.
///
/// ```
/// use tower::{service_fn, Service, ServiceExt};
/// use seawall::limit::{algorithm::Fixed, Limit, Limiter, Overloaded};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), seawall::BoxError> {
/// let limiter = Limiter::builder(Fixed::new(1)?).build()?;
/// let mut service = Limit::new(service_fn(|x: u8| async move { Ok::<_, std::io::Error>(x) }), limiter.clone());
/// assert_eq!(service.ready().await?.call(1).await?, 1);
///
/// let held = limiter.try_acquire()?;
/// let err = service.ready().await?.call(2).await.unwrap_err();
/// assert!(err.is::<Overloaded>());
/// drop(held);
/// # Ok(())
/// # }
/// ```
pub struct Limit<S, C = DefaultClassifier> {
    inner: S,
    classifier: C,
    state: Reservation<Partition>,
}

/// A limiter and the partition a service's calls belong to: how the
/// service reserves.
struct Partition {
    limiter: Limiter,
    index: usize,
}

impl<S> Limit<S> {
    /// Limits `inner` with `limiter`, for calls of no partition.
    pub fn new(inner: S, limiter: Limiter) -> Self {
        Self::from_parts(inner, limiter, SHARED, DefaultClassifier)
    }
}

impl<S> Limit<S> {
    /// Limits `inner` with a limiter that lives for the rest of the process:
    /// a call then holds a plain reference to it instead of a spare handle
    /// from its thread, as with [`new`](Self::new), which saves a few
    /// nanoseconds per call (see
    /// [`LimitLayer::from_static`](super::LimitLayer::from_static)).
    pub fn from_static(inner: S, limiter: &'static Limiter) -> Self {
        Self::from_parts(inner, limiter.to_static(), SHARED, DefaultClassifier)
    }
}

impl<S, C> Limit<S, C> {
    pub(crate) fn from_parts(inner: S, limiter: Limiter, partition: usize, classifier: C) -> Self {
        Self {
            inner,
            classifier,
            state: Reservation::new(Partition {
                limiter,
                index: partition,
            }),
        }
    }

    /// Classifies results with `classifier` instead.
    pub fn with_classifier<C2>(self, classifier: C2) -> Limit<S, C2> {
        let Partition { limiter, index } = self.state.layer();
        Limit::from_parts(self.inner, limiter.clone(), *index, classifier)
    }

    /// The limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.state.layer().limiter
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

impl Reserve for Partition {
    type Handle = PoolRef;
    type Ticket = Ticket;
    type Permit = LimitPermit;

    #[inline]
    fn try_reserve(&self) -> Option<Ticket> {
        self.limiter.try_ticket(self.index)
    }

    #[inline]
    fn redeem(&self, ticket: Ticket) -> LimitPermit {
        self.limiter.redeem(ticket)
    }

    fn cancel(&self, ticket: Ticket) {
        self.limiter.cancel(ticket);
    }

    fn max_wait(&self) -> Option<Duration> {
        match self.limiter.shared.mode {
            Mode::Wait { max_wait, .. } => Some(max_wait),
            _ => None,
        }
    }

    fn wait_handle(&self) -> PoolRef {
        self.limiter.pool_ref(self.index)
    }

    fn waited(&self, permit: Permit<PoolRef>) -> LimitPermit {
        LimitPermit::new(permit)
    }

    fn refused(&self, error: Option<WaitError>) -> BoxError {
        let waited = match error {
            Some(WaitError::TimedOut) => self.max_wait(),
            _ => None,
        };
        self.limiter.shared.overloaded(self.index, waited).into()
    }
}

impl<S, C, Req> Service<Req> for Limit<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let inner = &mut self.inner;
        self.state.poll_ready(cx, |cx| inner.poll_ready(cx))
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let start = std::cell::Cell::new(0);
        let (inner, classifier) = (&mut self.inner, &self.classifier);
        self.state.call(
            "Limit",
            |partition| {
                // Read only for an admitted call, just before it starts.
                start.set(partition.limiter.shared.clock.now_nanos());
                inner.call(req)
            },
            |future, permit| {
                ResponseFuture::called(
                    future,
                    Recorder::new(permit, start.get(), classifier.clone()),
                )
            },
            ResponseFuture::refused,
        )
    }
}

/// A clone shares the limiter but not the reservation.
impl<S: Clone, C: Clone> Clone for Limit<S, C> {
    fn clone(&self) -> Self {
        let Partition { limiter, index } = self.state.layer();
        Self::from_parts(
            self.inner.clone(),
            limiter.clone(),
            *index,
            self.classifier.clone(),
        )
    }
}

impl<S: fmt::Debug, C> fmt::Debug for Limit<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limit")
            .field("inner", &self.inner)
            .field("limiter", self.limiter())
            .field("state", &self.state.describe())
            .finish()
    }
}
