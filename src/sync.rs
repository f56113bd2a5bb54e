//! Crate-private facade over the atomics the lock-free cores use.
//!
//! Under `--cfg seawall_loom` (set only by `.ci/run` for the loom test target;
//! a downstream build never sees it) the types come from loom so that its
//! model checker can explore every interleaving of the state machines.

#[cfg(not(seawall_loom))]
#[allow(unused_imports)] // AtomicU32 is unused when no capability is enabled
pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

#[cfg(seawall_loom)]
#[allow(unused_imports)] // AtomicU32 is unused now that every window word is 64 bits
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

/// A small per-thread index used to spread writes over striped counters so
/// that threads do not all write one cache line.
///
/// Each thread takes the next index from a global counter the first time it
/// asks, so the first `n` threads land on distinct stripes.
#[cfg(not(seawall_loom))]
#[inline]
pub(crate) fn stripe_hint() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;

    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    STRIPE.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        // Relaxed: the value only spreads load, it guards nothing.
        let v = NEXT.fetch_add(1, Ordering::Relaxed);
        s.set(v);
        v
    })
}

/// Under loom the stripe is the model thread's index (0 for the model's
/// main thread, then 1, 2, … in spawn order), read from loom's thread id,
/// so that a model is deterministic and its threads write distinct stripes
/// (a two-stripe window then puts the main thread and the first spawned one
/// apart, and the second spawned one with the main thread).
#[cfg(seawall_loom)]
pub(crate) fn stripe_hint() -> usize {
    let id = format!("{:?}", loom::thread::current().id());
    id.trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .unwrap_or(0)
}

/// Pads and aligns a value to its own cache line (128 bytes covers the
/// adjacent-line prefetcher of x86 and the line size of Apple silicon), so
/// that independent hot atomics do not false-share.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
