//! Crate-private facade over the atomics the lock-free cores use.
//!
//! Under `--cfg seawall_loom` (set only by `.ci/run` for the loom test target;
//! a downstream build never sees it) the types come from loom so that its
//! model checker can explore every interleaving of the state machines.

#[cfg(not(seawall_loom))]
#[allow(unused_imports)] // AtomicU32 is unused when no capability is enabled
pub(crate) use std::sync::atomic::{fence, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(seawall_loom))]
#[allow(unused_imports)] // only the balancer's endpoint set uses them
pub(crate) use std::sync::{Mutex as StdMutex, RwLock};

#[cfg(seawall_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(seawall_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Mutex as StdMutex, RwLock};

/// A small per-thread index used to spread writes over striped counters so
/// that threads do not all write one cache line.
///
/// Each thread takes the next index from a global counter the first time it
/// asks, so the first `n` threads land on distinct stripes.
#[cfg(not(seawall_loom))]
#[cfg_attr(not(feature = "breaker"), allow(dead_code))]
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

/// How many stripes a striped structure gets: the machine's parallelism
/// rounded up to a power of two (masks pick a stripe), at most 64; two
/// under loom, so that models race two stripes.
pub(crate) fn stripe_count() -> usize {
    if cfg!(seawall_loom) {
        return 2;
    }
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .next_power_of_two()
        .min(64)
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

/// A per-thread stripe index for the admission core (bulkhead, adaptive
/// limit): [`stripe_hint`] outside loom.
#[cfg(not(seawall_loom))]
#[inline]
pub(crate) fn admission_stripe() -> usize {
    stripe_hint()
}

/// Under loom, unlike [`stripe_hint`], each thread of an execution gets its
/// own stripe (0 for the first thread that asks, then 1, …), so the
/// admission models reach the paths that move permits between stripes
/// (refill, spill, stealing, reclaiming on shrink).
#[cfg(seawall_loom)]
pub(crate) fn admission_stripe() -> usize {
    use std::cell::Cell;
    loom::lazy_static! {
        static ref NEXT: loom::sync::atomic::AtomicUsize = loom::sync::atomic::AtomicUsize::new(0);
    }
    loom::thread_local! {
        static STRIPE: Cell<usize> = Cell::new(usize::MAX);
    }
    STRIPE.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        s.get()
    })
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

/// Backs off while another thread holds a short claim: loom's yield under
/// the models (so they can run the holder), the OS's otherwise.
#[cfg(feature = "limit")]
pub(crate) fn spin_wait() {
    #[cfg(seawall_loom)]
    loom::thread::yield_now();
    #[cfg(not(seawall_loom))]
    std::thread::yield_now();
}

/// A mutex for rare paths (wait queues), parking_lot's outside loom and
/// loom's inside, so that the models can interleave around it.
#[cfg(any(feature = "bulkhead", feature = "limit"))]
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(
    #[cfg(not(seawall_loom))] parking_lot::Mutex<T>,
    #[cfg(seawall_loom)] loom::sync::Mutex<T>,
);

#[cfg(any(feature = "bulkhead", feature = "limit"))]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(not(seawall_loom))]
        return Self(parking_lot::Mutex::new(value));
        #[cfg(seawall_loom)]
        return Self(loom::sync::Mutex::new(value));
    }

    #[cfg(not(seawall_loom))]
    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, T> {
        self.0.lock()
    }

    #[cfg(seawall_loom)]
    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
