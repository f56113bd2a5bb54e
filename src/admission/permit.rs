//! Owned permits, and the striped handles that let a permit keep its pool
//! alive without every call writing one shared reference count.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::Pool;
use crate::sync::{stripe_hint, CachePadded};

/// Something that leads to a [`Pool`].
pub(crate) trait HasPool {
    fn pool(&self) -> &Pool;
}

impl HasPool for Pool {
    fn pool(&self) -> &Pool {
        self
    }
}

impl<T: HasPool + ?Sized> HasPool for Arc<T> {
    #[inline]
    fn pool(&self) -> &Pool {
        (**self).pool()
    }
}

impl<T: HasPool> HasPool for CachePadded<T> {
    #[inline]
    fn pool(&self) -> &Pool {
        self.0.pool()
    }
}

/// Several handles to one shared value, each its own allocation on its own
/// cache line: a call clones the handle of its thread's stripe, so threads
/// do not write one reference count (the breaker's `Shared` does the same).
pub(crate) struct Striped<T>(Arc<[Arc<CachePadded<Arc<T>>>]>);

impl<T> Striped<T> {
    pub(crate) fn new(value: Arc<T>) -> Self {
        let stripes = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .next_power_of_two()
            .min(64);
        Self(
            (0..stripes)
                .map(|_| Arc::new(CachePadded(value.clone())))
                .collect(),
        )
    }

    /// The shared value.
    #[inline]
    pub(crate) fn get(&self) -> &Arc<T> {
        &self.0[0].0
    }

    /// A hold on the value for one call.
    #[inline]
    pub(crate) fn for_call(&self) -> Arc<CachePadded<Arc<T>>> {
        self.0[stripe_hint() & (self.0.len() - 1)].clone()
    }
}

impl<T> Clone for Striped<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Deref for Striped<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.get()
    }
}

impl<T: fmt::Debug> fmt::Debug for Striped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// One permit, owned: dropping it gives the slot back (to a waiter first).
pub(crate) struct Permit<H: HasPool> {
    handle: H,
    stripe: usize,
}

impl<H: HasPool> Permit<H> {
    /// Wraps a permit `handle`'s pool handed out on `stripe`.
    #[inline]
    pub(crate) fn new(handle: H, stripe: usize) -> Self {
        Self { handle, stripe }
    }

    /// Takes a permit without waiting.
    #[inline]
    pub(crate) fn try_acquire(handle: H) -> Option<Self> {
        let stripe = handle.pool().try_acquire()?;
        Some(Self::new(handle, stripe))
    }

    pub(crate) fn handle(&self) -> &H {
        &self.handle
    }

    pub(crate) fn stripe(&self) -> usize {
        self.stripe
    }
}

impl<H: HasPool> Drop for Permit<H> {
    #[inline]
    fn drop(&mut self) {
        self.handle.pool().release(self.stripe);
    }
}

impl<H: HasPool> fmt::Debug for Permit<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("stripe", &self.stripe)
            .finish()
    }
}
