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
/// Indices are leased: a thread takes the lowest index no live thread
/// holds the first time it asks, and gives it back when it exits. So live
/// threads hold distinct indices, and as many threads as a structure has
/// stripes land on distinct stripes however many threads came and went
/// before (a counter that only grows would spread threads that churn, a
/// blocking pool's, at random). The limit's learner relies on it: the
/// thread holding index `i` is the only one writing owned stripe `i`.
/// While a thread exits, after its lease has gone back, it reads
/// [`UNLEASED`], past any owned stripe.
#[cfg(not(seawall_loom))]
#[cfg_attr(not(feature = "breaker"), allow(dead_code))]
#[inline]
pub(crate) fn stripe_hint() -> usize {
    match HINT.with(std::cell::Cell::get) {
        NONE => lease(),
        hint => hint,
    }
}

#[cfg(not(seawall_loom))]
thread_local! {
    /// The thread's leased index, [`NONE`] before its first call. A
    /// constant-initialised value with nothing to drop, so that reading it
    /// is one load: no lazy-initialisation or destructor-state check, which
    /// every call made up to three times.
    static HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(NONE) };
    /// The lease itself, whose destructor gives the index back.
    static LEASE: Lease = Lease::take();
}

/// The hint of a thread that has not asked yet.
#[cfg(not(seawall_loom))]
const NONE: usize = usize::MAX;

/// The index of a thread whose lease is gone (it is exiting).
#[cfg(not(seawall_loom))]
const UNLEASED: usize = usize::MAX >> 1;

/// Takes the thread's lease on its first call (or reads [`UNLEASED`] if
/// its thread-locals are being destroyed).
#[cfg(not(seawall_loom))]
#[cold]
fn lease() -> usize {
    let hint = LEASE.try_with(|lease| lease.0).unwrap_or(UNLEASED);
    HINT.with(|h| h.set(hint));
    hint
}

/// A thread's stripe index, given back when the thread exits.
#[cfg(not(seawall_loom))]
struct Lease(usize);

/// Indices ever leased, and those given back (taken lowest first).
#[cfg(not(seawall_loom))]
static LEASES: std::sync::Mutex<(usize, Vec<usize>)> = std::sync::Mutex::new((0, Vec::new()));

#[cfg(not(seawall_loom))]
impl Lease {
    #[cold]
    fn take() -> Self {
        let mut leases = LEASES.lock().unwrap_or_else(|e| e.into_inner());
        let (next, free) = &mut *leases;
        match free.iter().enumerate().min_by_key(|&(_, &i)| i) {
            Some((at, _)) => Self(free.swap_remove(at)),
            None => {
                *next += 1;
                Self(*next - 1)
            }
        }
    }
}

#[cfg(not(seawall_loom))]
impl Drop for Lease {
    fn drop(&mut self) {
        // Off the index before another thread can take it.
        HINT.with(|h| h.set(UNLEASED));
        // The mutex orders this thread's last writes to an owned stripe
        // before the next holder's first.
        let mut leases = LEASES.lock().unwrap_or_else(|e| e.into_inner());
        leases.1.push(self.0);
    }
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

#[cfg(all(test, not(seawall_loom)))]
mod tests {
    use super::stripe_hint;

    #[test]
    fn live_threads_hold_distinct_stripe_hints() {
        let threads = 8;
        let barrier = std::sync::Barrier::new(threads);
        let mut hints: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let hint = stripe_hint();
                        // All alive at once, each holding its lease.
                        barrier.wait();
                        assert_eq!(stripe_hint(), hint, "a thread keeps its hint");
                        hint
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        hints.sort_unstable();
        hints.dedup();
        assert_eq!(hints.len(), threads);
    }
}
