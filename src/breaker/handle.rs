//! How services and their response futures reach the breaker.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use super::CircuitBreaker;
use crate::stash::{self, Stash};
use crate::sync::{stripe_count, stripe_hint, CachePadded};

mod sealed {
    pub trait Sealed {}
}

/// Where a [`Breaker`](super::Breaker) service finds its breaker: [`Shared`]
/// (the default, from [`Breaker::new`](super::Breaker::new) and
/// [`BreakerLayer::new`](super::BreakerLayer::new)) or a
/// `&'static CircuitBreaker` (from `from_static`). Sealed: there is no
/// third kind.
pub trait BreakerRef: Clone + fmt::Debug + Send + Sync + 'static + sealed::Sealed {
    /// What a call holds on to, from admission until its outcome is
    /// recorded.
    type Call: Borrow<CircuitBreaker> + fmt::Debug + Send + Sync + 'static;

    /// The breaker.
    fn breaker(&self) -> &CircuitBreaker;

    /// A hold on the breaker for one call.
    fn for_call(&self) -> Self::Call;
}

/// Handles to one breaker, striped per thread: the default [`BreakerRef`].
///
/// Every response future must keep the breaker alive, and cloning one `Arc`
/// per call would make every call write its reference count: the one cache
/// line all callers share. So the service holds several `Arc`s to the same
/// breaker, each its own allocation on its own cache line, and a call clones
/// the one of its thread's stripe.
#[derive(Clone)]
pub struct Shared(Arc<[Arc<CachePadded<CircuitBreaker>>]>);

impl Shared {
    pub(crate) fn new(breaker: CircuitBreaker) -> Self {
        let stripes = stripe_count();
        Shared(
            (0..stripes)
                .map(|_| Arc::new(CachePadded(breaker.clone())))
                .collect(),
        )
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shared").field(self.breaker()).finish()
    }
}

/// One call's hold on a [`Shared`] breaker: a clone of one stripe's handle,
/// taken from and given back to its thread's spares, so that in steady
/// state a call writes no reference count.
#[derive(Debug)]
pub struct SharedCall(Option<Arc<CachePadded<CircuitBreaker>>>);

thread_local! {
    static SPARES: Stash<CachePadded<CircuitBreaker>> = const { Stash::new() };
}

impl Drop for SharedCall {
    #[inline]
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            stash::give(&SPARES, handle);
        }
    }
}

impl Borrow<CircuitBreaker> for SharedCall {
    #[inline]
    fn borrow(&self) -> &CircuitBreaker {
        match &self.0 {
            Some(handle) => &handle.0,
            None => unreachable!("taken only by drop"),
        }
    }
}

impl sealed::Sealed for Shared {}

impl BreakerRef for Shared {
    type Call = SharedCall;

    #[inline]
    fn breaker(&self) -> &CircuitBreaker {
        &self.0[0]
    }

    #[inline]
    fn for_call(&self) -> SharedCall {
        let handle = &self.0[stripe_hint() & (self.0.len() - 1)];
        SharedCall(Some(stash::take(&SPARES, handle)))
    }
}

impl sealed::Sealed for &'static CircuitBreaker {}

/// A breaker that lives for the rest of the process: a call holds a plain
/// reference, no reference count.
impl BreakerRef for &'static CircuitBreaker {
    type Call = &'static CircuitBreaker;

    #[inline]
    fn breaker(&self) -> &CircuitBreaker {
        self
    }

    #[inline]
    fn for_call(&self) -> &'static CircuitBreaker {
        self
    }
}
