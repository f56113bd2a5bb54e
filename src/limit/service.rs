use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{BoxError, Service};

use super::future::{Recorder, ResponseFuture};
use super::limiter::LimitPermit;
use super::partition::{PoolRef, SHARED};
use super::{Limiter, Mode};
use crate::admission::{TimedAcquire, WaitError};
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
    limiter: Limiter,
    partition: usize,
    classifier: C,
    state: State,
}

enum State {
    Idle,
    Waiting(Pin<Box<TimedAcquire<PoolRef>>>),
    Reserved(LimitPermit),
    Refused(BoxError),
}

impl<S> Limit<S> {
    /// Limits `inner` with `limiter`, for calls of no partition.
    pub fn new(inner: S, limiter: Limiter) -> Self {
        Self::from_parts(inner, limiter, SHARED, DefaultClassifier)
    }
}

impl<S> Limit<S> {
    /// Limits `inner` with a limiter that lives for the rest of the process:
    /// a call then holds a plain reference to it, which saves the two
    /// reference-count writes per call of [`new`](Self::new) (see
    /// [`LimitLayer::from_static`](super::LimitLayer::from_static)).
    pub fn from_static(inner: S, limiter: &'static Limiter) -> Self {
        Self::from_parts(inner, limiter.to_static(), SHARED, DefaultClassifier)
    }
}

impl<S, C> Limit<S, C> {
    pub(crate) fn from_parts(inner: S, limiter: Limiter, partition: usize, classifier: C) -> Self {
        Self {
            inner,
            limiter,
            partition,
            classifier,
            state: State::Idle,
        }
    }

    /// Classifies results with `classifier` instead.
    pub fn with_classifier<C2>(self, classifier: C2) -> Limit<S, C2> {
        Limit::from_parts(self.inner, self.limiter, self.partition, classifier)
    }

    /// The limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
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

    #[cold]
    fn when_full(&self) -> State {
        match self.limiter.shared.mode {
            Mode::Wait { max_wait, .. } => State::Waiting(Box::pin(TimedAcquire::new(
                self.limiter.pool_ref(self.partition),
                max_wait,
            ))),
            _ => State::Refused(self.limiter.shared.overloaded(self.partition, None).into()),
        }
    }

    #[cold]
    fn refused(&self, error: WaitError) -> State {
        let waited = match (error, self.limiter.shared.mode) {
            (WaitError::TimedOut, Mode::Wait { max_wait, .. }) => Some(max_wait),
            _ => None::<Duration>,
        };
        State::Refused(
            self.limiter
                .shared
                .overloaded(self.partition, waited)
                .into(),
        )
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
        loop {
            match &mut self.state {
                State::Reserved(_) => return self.inner.poll_ready(cx).map_err(Into::into),
                State::Refused(_) => return Poll::Ready(Ok(())),
                State::Idle => {
                    self.state = match self.limiter.try_acquire_in_quiet(self.partition) {
                        Some(permit) => State::Reserved(permit),
                        None => self.when_full(),
                    }
                }
                State::Waiting(wait) => {
                    self.state = match wait.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(permit)) => State::Reserved(LimitPermit::new(permit)),
                        Poll::Ready(Err(e)) => self.refused(e),
                    }
                }
            }
        }
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Reserved(permit) => {
                // The recorder owns the permit before the inner call
                // starts: a panic in `call` drops it and frees the slot.
                let recorder = Recorder::new(permit, self.classifier.clone());
                ResponseFuture::called(self.inner.call(req), recorder)
            }
            State::Refused(error) => ResponseFuture::refused(error),
            _ => panic!("Limit::call without poll_ready returning Ready first"),
        }
    }
}

/// A clone shares the limiter but not the reservation.
impl<S: Clone, C: Clone> Clone for Limit<S, C> {
    fn clone(&self) -> Self {
        Self::from_parts(
            self.inner.clone(),
            self.limiter.clone(),
            self.partition,
            self.classifier.clone(),
        )
    }
}

impl<S: fmt::Debug, C> fmt::Debug for Limit<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Waiting(_) => "waiting",
            State::Reserved(_) => "reserved",
            State::Refused(_) => "refused",
        };
        f.debug_struct("Limit")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .field("state", &state)
            .finish()
    }
}
