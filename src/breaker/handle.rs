//! How services and their response futures reach the breaker.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use super::CircuitBreaker;
use crate::stash::{kept, Spare};
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
/// per call would make every call write its reference count twice (clone
/// and drop): the one cache line all callers share. So the service holds
/// several `Arc`s to the same breaker, each its own allocation on its own
/// cache line, and a call's hold ([`SharedCall`]) comes from its thread's
/// spares: a call that ends gives its hold back to the thread it ends on,
/// and that thread's next call takes it again, so in steady state a call
/// writes no reference count at all (only a thread without a spare clones
/// its stripe's handle). The price is a little memory: a thread keeps
/// spares of at most 8 breakers (up to 64 each, one per call it had in
/// flight), and a breaker whose last handle is dropped lives on while some
/// thread keeps a spare of it: until that thread exits, or gives back holds
/// of other breakers that take its place among its spares. (So a keyed map
/// that evicts idle breakers keeps at most 8 more alive per thread.)
///
/// Custom services can hold a breaker the same way: keep a `Shared` and
/// move [`for_call`](BreakerRef::for_call)'s hold into the response future.
///
/// ```
/// use std::borrow::Borrow;
/// use seawall::breaker::{BreakerRef, CircuitBreaker, Shared};
///
/// let handles = Shared::new(CircuitBreaker::builder().build()?);
/// let hold = handles.for_call(); // 'static: it may move into a future
/// let breaker: &CircuitBreaker = hold.borrow();
/// assert!(breaker.is_call_permitted());
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Shared(Arc<[Arc<CachePadded<CircuitBreaker>>]>);

impl Shared {
    /// Handles to `breaker` (clones of the handle share it).
    pub fn new(breaker: CircuitBreaker) -> Self {
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
/// taken from and given back to its thread's spares (see [`Shared`]).
#[derive(Debug)]
pub struct SharedCall(Spare<CachePadded<CircuitBreaker>>);

kept!(CachePadded<CircuitBreaker>);

impl Borrow<CircuitBreaker> for SharedCall {
    #[inline]
    fn borrow(&self) -> &CircuitBreaker {
        &self.0 .0
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
        SharedCall(Spare::of(handle))
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

#[cfg(all(test, not(seawall_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_reuses_its_hold_without_counting() {
        let handles = Shared::new(CircuitBreaker::builder().build().expect("valid"));
        // The thread's first hold is a clone; given back, it is its spare.
        drop(handles.for_call());
        let stripe = &handles.0[stripe_hint() & (handles.0.len() - 1)];
        let held = Arc::strong_count(stripe);
        for _ in 0..3 {
            let hold = handles.for_call();
            assert_eq!(Arc::strong_count(stripe), held, "the spare, moved");
            drop(hold);
        }
        assert_eq!(Arc::strong_count(stripe), held, "given back, not dropped");
        // With 16 calls in flight the thread keeps 16 spares, once it has
        // had 16 calls in flight.
        drop((0..16).map(|_| handles.for_call()).collect::<Vec<_>>());
        let held = Arc::strong_count(stripe);
        let holds: Vec<_> = (0..16).map(|_| handles.for_call()).collect();
        assert_eq!(Arc::strong_count(stripe), held, "16 spares, moved");
        drop(holds);
        assert_eq!(Arc::strong_count(stripe), held, "16 given back");
    }
}
