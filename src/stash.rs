//! Spare `Arc`s kept per thread, so that a call's hold on a shared value
//! costs no atomic write once the thread has made a call or two.
//!
//! A response future must keep its breaker or limiter alive, and cloning an
//! `Arc` for it and dropping that clone later are two atomic
//! read-modify-writes: about 10 ns on the 2-core machine of `benches/`, as
//! much as the rest of a breaker call. Here a future's clone, once its call
//! ends, goes into its thread's stash, and the thread's next call takes it
//! back: the reference count does not move. A thread keeps spares for a few
//! values at once (one entry each, chosen by address), up to [`DEPTH`] per
//! value, so a thread with that many calls in flight on one value still
//! writes no count.
//!
//! The price: a value lives on after its last handle is dropped while some
//! thread still stashes spares of it, until that thread stashes another
//! value in the same entry or exits. So each thread keeps at most
//! [`ENTRIES`] values alive per kind, and their memory is bounded.
//!
//! Under loom the stash is off (a plain clone and drop): the models check
//! the state machines, not this cache.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::thread::LocalKey;

/// Values one thread keeps spares of, per kind of value.
pub(crate) const ENTRIES: usize = 8;
/// Spares one thread keeps of one value: its calls in flight on that value
/// beyond this many clone and drop as usual.
pub(crate) const DEPTH: usize = 64;

/// One thread's spares of one kind of value, in the thread-local that
/// [`kept!`] declares.
pub(crate) struct Stash<T> {
    entries: RefCell<[Vec<Arc<T>>; ENTRIES]>,
}

impl<T> Stash<T> {
    pub(crate) const fn new() -> Self {
        Self {
            entries: RefCell::new([const { Vec::new() }; ENTRIES]),
        }
    }
}

/// A kind of value kept in threads' spares: each kind has a thread-local
/// [`Stash`] of its own, declared by [`kept!`].
pub(crate) trait Kept: Sized + 'static {
    fn spares() -> &'static LocalKey<Stash<Self>>;
}

/// Implements [`Kept`] for a type, with a thread-local stash of its own.
macro_rules! kept {
    ($ty:ty) => {
        impl $crate::stash::Kept for $ty {
            fn spares() -> &'static ::std::thread::LocalKey<$crate::stash::Stash<Self>> {
                ::std::thread_local! {
                    static SPARES: $crate::stash::Stash<$ty> =
                        const { $crate::stash::Stash::new() };
                }
                &SPARES
            }
        }
    };
}
pub(crate) use kept;

/// One call's clone of an `Arc`: taken from its thread's spares (cloned
/// only when there is none) and given back to the spares of the thread it
/// is dropped on.
pub(crate) struct Spare<T: Kept>(Option<Arc<T>>);

impl<T: Kept> Spare<T> {
    #[inline]
    pub(crate) fn of(value: &Arc<T>) -> Self {
        Self(Some(take(T::spares(), value)))
    }
}

impl<T: Kept> Deref for Spare<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match &self.0 {
            Some(value) => value,
            None => unreachable!("taken only by drop"),
        }
    }
}

impl<T: Kept> Drop for Spare<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            give(T::spares(), value);
        }
    }
}

impl<T: Kept> fmt::Debug for Spare<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Spare")
    }
}

/// The entry a value's spares go to: the address, mixed (values are
/// cache-line aligned, so the low bits are all zero).
#[inline]
fn entry<T>(value: &Arc<T>) -> usize {
    let addr = Arc::as_ptr(value) as usize as u64;
    (addr.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - ENTRIES.ilog2())) as usize
}

/// A clone of `value`: a spare from this thread's stash if it has one.
#[inline]
fn take<T: 'static>(stash: &'static LocalKey<Stash<T>>, value: &Arc<T>) -> Arc<T> {
    if cfg!(seawall_loom) {
        return value.clone();
    }
    let spare = stash
        .try_with(|stash| {
            let mut entries = stash.entries.try_borrow_mut().ok()?;
            let spares = &mut entries[entry(value)];
            match spares.last() {
                Some(spare) if Arc::ptr_eq(spare, value) => spares.pop(),
                _ => None,
            }
        })
        .ok()
        .flatten();
    spare.unwrap_or_else(|| value.clone())
}

/// Gives a clone back: into this thread's stash if its entry holds spares
/// of the same value or none, and has room; else it is dropped (as is one
/// spare of the other value the entry holds, so that a value no longer used
/// on this thread leaves it).
#[inline]
fn give<T: 'static>(stash: &'static LocalKey<Stash<T>>, value: Arc<T>) {
    if cfg!(seawall_loom) {
        return;
    }
    // Whatever is dropped is dropped after the borrow ends: a value's drop
    // may run user code (an observer) that makes a call of its own.
    let _evicted = stash.try_with(|stash| {
        let Ok(mut entries) = stash.entries.try_borrow_mut() else {
            return (Some(value), None);
        };
        let spares = &mut entries[entry(&value)];
        match spares.last() {
            Some(spare) if !Arc::ptr_eq(spare, &value) => (Some(value), spares.pop()),
            _ if spares.len() < DEPTH => {
                spares.push(value);
                (None, None)
            }
            _ => (Some(value), None),
        }
    });
}

#[cfg(all(test, not(seawall_loom)))]
mod tests {
    use super::*;

    thread_local! {
        static STASH: Stash<u64> = const { Stash::new() };
    }

    #[test]
    fn a_spare_comes_back_without_moving_the_count() {
        let value = Arc::new(7);
        let held = take(&STASH, &value);
        assert_eq!(Arc::strong_count(&value), 2);
        give(&STASH, held);
        assert_eq!(Arc::strong_count(&value), 2, "stashed, not dropped");
        let again = take(&STASH, &value);
        assert_eq!(Arc::strong_count(&value), 2, "the spare, not a clone");
        give(&STASH, again);
    }

    #[test]
    fn spares_are_bounded_per_value() {
        let value = Arc::new(1);
        let held: Vec<_> = (0..DEPTH + 10).map(|_| take(&STASH, &value)).collect();
        for h in held {
            give(&STASH, h);
        }
        assert_eq!(Arc::strong_count(&value), 1 + DEPTH, "the rest dropped");
    }

    #[test]
    fn another_value_in_the_entry_drains_the_spares_of_the_first() {
        let first = Arc::new(1);
        give(&STASH, take(&STASH, &first));
        // A value of the same entry: its clones are dropped as usual, and
        // each drops one spare of the first, which then leaves this thread.
        let mut candidates = Vec::new();
        let other = loop {
            // Kept alive while searching, so each has a new address.
            let candidate = Arc::new(2);
            if entry(&candidate) == entry(&first) {
                break candidate;
            }
            candidates.push(candidate);
        };
        give(&STASH, take(&STASH, &other));
        assert_eq!(Arc::strong_count(&first), 1, "the first's spare dropped");
        assert_eq!(Arc::strong_count(&other), 1, "the entry was not free yet");
        give(&STASH, take(&STASH, &other));
        assert_eq!(Arc::strong_count(&other), 2, "now it keeps a spare");
    }

    #[test]
    fn a_thread_takes_its_spares_with_it_when_it_exits() {
        let value = Arc::new(3);
        let shared = value.clone();
        std::thread::spawn(move || give(&STASH, take(&STASH, &shared)))
            .join()
            .expect("no panic");
        assert_eq!(Arc::strong_count(&value), 1);
    }
}
