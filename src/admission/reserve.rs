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
    /// A permit taken at once, held by the service until `call`: a few
    /// integers, since the service's own handle keeps the pool alive
    /// meanwhile. `call` redeems it for a [`Permit`](Self::Permit), which
    /// takes the call's hold; keeping the hold out of the service's state
    /// is what makes `call` copy a few integers rather than the permit.
    type Ticket: Copy;
    /// What `call` receives.
    type Permit;

    /// A ticket if a permit is free now.
    fn try_reserve(&self) -> Option<Self::Ticket>;

    /// The call's permit for `ticket`.
    fn redeem(&self, ticket: Self::Ticket) -> Self::Permit;

    /// Gives back the permit of a ticket no call redeemed.
    fn cancel(&self, ticket: Self::Ticket);

    /// How long a caller may wait when none is free, if it may.
    fn max_wait(&self) -> Option<Duration>;

    /// A handle for a caller about to wait.
    fn wait_handle(&self) -> Self::Handle;

    /// The permit a wait ended with, as `call` wants it.
    fn waited(&self, permit: Permit<Self::Handle>) -> Self::Permit;

    /// The error of a caller refused after waiting (`Some` time) or at once.
    fn refused(&self, error: Option<WaitError>) -> BoxError;
}

/// A service's layer and where the service is between `poll_ready` and
/// `call`. Dropping it gives back a permit no call took.
pub(crate) struct Reservation<R: Reserve> {
    layer: R,
    state: State<R>,
}

enum State<R: Reserve> {
    Idle,
    Waiting(Pin<Box<TimedAcquire<R::Handle>>>),
    Reserved(R::Ticket),
    /// A permit a wait ended with (it holds its pool already).
    Granted(R::Permit),
    Refused(BoxError),
}

impl<R: Reserve> Reservation<R> {
    /// Reserving with `layer`, nothing reserved yet.
    pub(crate) fn new(layer: R) -> Self {
        Self {
            layer,
            state: State::Idle,
        }
    }

    /// The layer.
    #[inline]
    pub(crate) fn layer(&self) -> &R {
        &self.layer
    }

    /// `poll_ready` of a service reserving in front of `inner`: ready once
    /// it holds a permit and `inner` is ready, or at once with a refusal
    /// (`call` returns it in the response future, so that a full layer
    /// never makes the service look dead to tower).
    #[inline]
    pub(crate) fn poll_ready<E: Into<BoxError>>(
        &mut self,
        cx: &mut Context<'_>,
        inner: impl FnOnce(&mut Context<'_>) -> Poll<Result<(), E>>,
    ) -> Poll<Result<(), BoxError>> {
        ready!(self.poll(cx));
        if matches!(self.state, State::Reserved(_) | State::Granted(_)) {
            return inner(cx).map_err(Into::into);
        }
        Poll::Ready(Ok(()))
    }

    /// Drives the reservation until it holds a permit or a refusal.
    #[inline]
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // The common case: a permit free at once, written over the idle
        // state. `replace` rather than an assignment, which would call the
        // state's drop glue (nothing to drop in `Idle`).
        if let State::Idle = self.state {
            match self.layer.try_reserve() {
                Some(ticket) => {
                    forget_idle(std::mem::replace(&mut self.state, State::Reserved(ticket)));
                    return Poll::Ready(());
                }
                None => self.state = Self::when_full(&self.layer),
            }
        }
        self.poll_wait(cx)
    }

    /// The rest of `poll`: a wait in progress, or a reservation or refusal
    /// already made.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let State::Waiting(wait) = &mut self.state else {
            return Poll::Ready(());
        };
        self.state = match ready!(wait.as_mut().poll(cx)) {
            Ok(permit) => State::Granted(self.layer.waited(permit)),
            Err(e) => State::Refused(self.layer.refused(Some(e))),
        };
        Poll::Ready(())
    }

    #[cold]
    fn when_full(layer: &R) -> State<R> {
        match layer.max_wait() {
            Some(max_wait) => {
                State::Waiting(Box::pin(TimedAcquire::new(layer.wait_handle(), max_wait)))
            }
            None => State::Refused(layer.refused(None)),
        }
    }

    /// `call` of a service reserving in front of an inner service: makes
    /// the inner call (`call`, given the layer) and returns its response
    /// future with the call's permit (`wrap`), or the refusal's
    /// (`refuse`). Panics, naming `service`, if `poll_ready` did not return
    /// `Ready` first.
    #[inline]
    pub(crate) fn call<F, Out>(
        &mut self,
        service: &str,
        call: impl FnOnce(&R) -> F,
        wrap: impl FnOnce(F, R::Permit) -> Out,
        refuse: impl FnOnce(BoxError) -> Out,
    ) -> Out {
        if let State::Reserved(ticket) = self.state {
            // Only the ticket is read, not the whole state. It is redeemed
            // after the inner call, so that the permit is built once, in
            // the future (built before, it went through the stack); until
            // then a panic in the inner call gives it back.
            forget_idle(std::mem::replace(&mut self.state, State::Idle));
            let unredeemed = Unredeemed {
                layer: &self.layer,
                ticket,
            };
            let future = call(&self.layer);
            std::mem::forget(unredeemed);
            return wrap(future, self.layer.redeem(ticket));
        }
        match self.take_other(service) {
            Ok(permit) => wrap(call(&self.layer), permit),
            Err(error) => refuse(error),
        }
    }

    #[cold]
    fn take_other(&mut self, service: &str) -> Result<R::Permit, BoxError> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Granted(permit) => Ok(permit),
            State::Refused(error) => Err(error),
            _ => panic!("{service}::call without poll_ready returning Ready first"),
        }
    }

    /// The state, for `Debug`.
    pub(crate) fn describe(&self) -> &'static str {
        match self.state {
            State::Idle => "idle",
            State::Waiting(_) => "waiting",
            State::Reserved(_) | State::Granted(_) => "reserved",
            State::Refused(_) => "refused",
        }
    }
}

/// Forgets a state known to hold nothing to drop (idle, or a ticket whose
/// permit moved on), so that no drop glue is called for it.
#[inline]
fn forget_idle<R: Reserve>(state: State<R>) {
    debug_assert!(matches!(state, State::Idle | State::Reserved(_)));
    std::mem::forget(state);
}

/// A ticket taken out of the state and not yet redeemed: given back if
/// the inner call panics.
struct Unredeemed<'a, R: Reserve> {
    layer: &'a R,
    ticket: R::Ticket,
}

impl<R: Reserve> Drop for Unredeemed<'_, R> {
    fn drop(&mut self) {
        self.layer.cancel(self.ticket);
    }
}

impl<R: Reserve> Drop for Reservation<R> {
    fn drop(&mut self) {
        if let State::Reserved(ticket) = self.state {
            self.layer.cancel(ticket);
        }
    }
}
