//! The reservation a bulkhead or limit service makes in `poll_ready` and
//! hands to `call`: one state machine for both layers, each saying how it
//! takes, waits for and refuses permits ([`Reserve`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tower::BoxError;

use super::{HasPool, Permit, TimedAcquire, WaitError};

/// How a layer reserves: without waiting, by waiting, or by refusing.
pub(crate) trait Reserve {
    /// What a waiting caller's permit leads to.
    type Handle: HasPool;
    /// What `call` receives.
    type Permit;

    /// A permit if one is free now.
    fn try_reserve(&self) -> Option<Self::Permit>;

    /// How long a caller may wait when none is free, if it may.
    fn max_wait(&self) -> Option<Duration>;

    /// A handle for a caller about to wait.
    fn wait_handle(&self) -> Self::Handle;

    /// The permit a wait ended with, as `call` wants it.
    fn waited(&self, permit: Permit<Self::Handle>) -> Self::Permit;

    /// The error of a caller refused after waiting (`Some` time) or at once.
    fn refused(&self, error: Option<WaitError>) -> BoxError;
}

/// Where a service is between `poll_ready` and `call`.
pub(crate) enum Reservation<R: Reserve> {
    Idle,
    Waiting(Pin<Box<TimedAcquire<R::Handle>>>),
    Reserved(R::Permit),
    Refused(BoxError),
}

impl<R: Reserve> Reservation<R> {
    /// `poll_ready` of a service reserving with `layer` in front of
    /// `inner`: ready once it holds a permit and `inner` is ready, or at
    /// once with a refusal (`call` returns it in the response future, so
    /// that a full layer never makes the service look dead to tower).
    #[inline]
    pub(crate) fn poll_ready<E: Into<BoxError>>(
        &mut self,
        cx: &mut Context<'_>,
        layer: &R,
        inner: impl FnOnce(&mut Context<'_>) -> Poll<Result<(), E>>,
    ) -> Poll<Result<(), BoxError>> {
        ready!(self.poll(cx, layer));
        if matches!(self, Reservation::Reserved(_)) {
            return inner(cx).map_err(Into::into);
        }
        Poll::Ready(Ok(()))
    }

    /// Drives the reservation until it holds a permit or a refusal.
    #[inline]
    fn poll(&mut self, cx: &mut Context<'_>, layer: &R) -> Poll<()> {
        // The common case: a permit free at once, written over the idle
        // state. `replace` rather than an assignment, which would call the
        // state's drop glue (nothing to drop in `Idle`) and make the
        // permit go through the stack around that call.
        if let Reservation::Idle = self {
            match layer.try_reserve() {
                Some(permit) => {
                    let idle = std::mem::replace(self, Reservation::Reserved(permit));
                    debug_assert!(matches!(idle, Reservation::Idle));
                    std::mem::forget(idle);
                    return Poll::Ready(());
                }
                None => *self = Self::when_full(layer),
            }
        }
        self.poll_wait(cx, layer)
    }

    /// The rest of `poll`: a wait in progress, or a reservation or refusal
    /// already made.
    fn poll_wait(&mut self, cx: &mut Context<'_>, layer: &R) -> Poll<()> {
        let Reservation::Waiting(wait) = self else {
            return Poll::Ready(());
        };
        *self = match ready!(wait.as_mut().poll(cx)) {
            Ok(permit) => Reservation::Reserved(layer.waited(permit)),
            Err(e) => Reservation::Refused(layer.refused(Some(e))),
        };
        Poll::Ready(())
    }

    #[cold]
    fn when_full(layer: &R) -> Self {
        match layer.max_wait() {
            Some(max_wait) => {
                Reservation::Waiting(Box::pin(TimedAcquire::new(layer.wait_handle(), max_wait)))
            }
            None => Reservation::Refused(layer.refused(None)),
        }
    }

    /// What `call` takes: the permit or the refusal. Panics, naming
    /// `service`, if `poll_ready` did not return `Ready` first.
    #[inline]
    pub(crate) fn take(&mut self, service: &str) -> Result<R::Permit, BoxError> {
        match std::mem::replace(self, Reservation::Idle) {
            Reservation::Reserved(permit) => Ok(permit),
            Reservation::Refused(error) => Err(error),
            _ => panic!("{service}::call without poll_ready returning Ready first"),
        }
    }

    /// The state, for `Debug`.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Reservation::Idle => "idle",
            Reservation::Waiting(_) => "waiting",
            Reservation::Reserved(_) => "reserved",
            Reservation::Refused(_) => "refused",
        }
    }
}
