//! Owned permits, and the striped handles that let a permit keep its pool
//! alive without every call writing a reference count.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::Pool;
use crate::stash::{Kept, Spare};
use crate::sync::{stripe_count, stripe_hint, CachePadded};

/// Something that leads to a [`Pool`].
pub(crate) trait HasPool {
    fn pool(&self) -> &Pool;
}

impl HasPool for Pool {
    #[inline]
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
/// cache line: a call takes a spare of its thread's stripe handle
/// ([`crate::stash`]), cloning it only when the thread has none, so calls
/// write no reference count in steady state and threads never write one
/// common count (the breaker's `Shared` does the same).
/// A value that lives for the rest of the process needs no count at all:
/// [`to_static`](Self::to_static) gives handles whose calls hold a plain
/// reference (the breaker's `from_static`).
pub(crate) struct Striped<T: 'static>(Handles<T>);

enum Handles<T: 'static> {
    Counted(Arc<[Arc<CachePadded<Arc<T>>>]>),
    Static(&'static T),
}

/// One call's hold on a [`Striped`] value.
pub(crate) enum Hold<T: 'static>
where
    CachePadded<Arc<T>>: Kept,
{
    /// A clone of one stripe's handle, from its thread's spares.
    Counted(Spare<CachePadded<Arc<T>>>),
    /// A plain reference: nothing to count.
    Static(&'static T),
}

impl<T> Striped<T> {
    pub(crate) fn new(value: Arc<T>) -> Self {
        let stripes = stripe_count();
        Self(Handles::Counted(
            (0..stripes)
                .map(|_| Arc::new(CachePadded(value.clone())))
                .collect(),
        ))
    }

    /// Handles to the same value whose calls hold a plain reference.
    pub(crate) fn to_static(&'static self) -> Self {
        Self(Handles::Static(self.get()))
    }

    /// The shared value.
    #[inline]
    pub(crate) fn get(&self) -> &T {
        match &self.0 {
            Handles::Counted(stripes) => &stripes[0].0,
            Handles::Static(value) => value,
        }
    }

    /// A hold on the value for one call.
    #[inline]
    pub(crate) fn for_call(&self) -> Hold<T>
    where
        CachePadded<Arc<T>>: Kept,
    {
        match &self.0 {
            Handles::Counted(stripes) => {
                let handle = &stripes[stripe_hint() & (stripes.len() - 1)];
                Hold::Counted(Spare::of(handle))
            }
            Handles::Static(value) => Hold::Static(value),
        }
    }
}

impl<T> Clone for Striped<T> {
    fn clone(&self) -> Self {
        Self(match &self.0 {
            Handles::Counted(stripes) => Handles::Counted(stripes.clone()),
            Handles::Static(value) => Handles::Static(value),
        })
    }
}

impl<T> Deref for Striped<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        self.get()
    }
}

impl<T: fmt::Debug> fmt::Debug for Striped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl<T> Deref for Hold<T>
where
    CachePadded<Arc<T>>: Kept,
{
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match self {
            Hold::Counted(handle) => &handle.0,
            Hold::Static(value) => value,
        }
    }
}

impl<T: HasPool> HasPool for Hold<T>
where
    CachePadded<Arc<T>>: Kept,
{
    #[inline]
    fn pool(&self) -> &Pool {
        (**self).pool()
    }
}

impl<T> fmt::Debug for Hold<T>
where
    CachePadded<Arc<T>>: Kept,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hold::Counted(_) => "Hold::Counted",
            Hold::Static(_) => "Hold::Static",
        })
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

    #[inline]
    pub(crate) fn handle(&self) -> &H {
        &self.handle
    }

    #[inline]
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
