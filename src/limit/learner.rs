//! How completed calls reach the limit algorithm without every call
//! writing one shared cache line.

use std::fmt;
use std::time::Duration;

use super::{Algorithm, LimitSample};
use crate::sync::{
    spin_wait, stripe_count, stripe_hint, AtomicU32, AtomicU64, CachePadded, Mutex, Ordering,
};

/// Samples a stripe buffers before it hands them to the algorithm (two
/// under loom, so that the models reach a full stripe).
const BATCH: usize = if cfg!(seawall_loom) { 2 } else { 16 };

/// Owns an [`Algorithm`], feeds it completed calls and publishes its limit
/// for admission to read with one load.
///
/// Each thread records on a stripe of its own (its own cache lines). The
/// first threads to record (as many as the machine has cores, rounded up
/// to a power of two; a server's worker threads) each own one stripe for
/// good: they append with plain stores, no read-modify-write. Threads that
/// come later share a second set of stripes, claiming one per sample (a
/// compare-and-swap on a line no other thread writes while they do not
/// outnumber stripes); if it is held, the sample goes straight to the
/// algorithm under its lock rather than wait. A stripe hands its samples
/// to the algorithm, in order and under the algorithm's one lock, when it
/// holds 16 of them, or at once when the sample is a drop (with the
/// samples buffered before it), or at [`flush`](Learner::flush), which
/// reads every stripe, owned or shared. So the algorithm's update is one
/// shared write per 16 calls per thread, not per call, and the limit lags
/// by at most 15 successes per stripe: a success reaches the algorithm
/// within 15 later samples on its stripe, a drop at once. A stripe whose
/// thread goes idle keeps its last successes until that thread records
/// again or `flush` runs. Admission stays exact: it never depends on the
/// algorithm.
///
/// The algorithms' arithmetic is unchanged: a hand-over is one
/// [`update_batch`](Algorithm::update_batch), which is one
/// [`update`](Algorithm::update) per sample, in its thread's order.
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{algorithm::Aimd, Learner, LimitSample};
///
/// let aimd = Aimd::builder().initial_limit(10).min_limit(1).build()?;
/// let learner = Learner::new(Box::new(aimd));
/// let ok = LimitSample::new(Duration::from_millis(3), 10, false);
/// let drop = LimitSample::new(Duration::from_millis(3), 10, true);
/// // A success waits in its stripe; a drop hands it over with itself:
/// // +1, then ×0.9.
/// assert_eq!(learner.record(ok), None);
/// assert_eq!(learner.limit(), 10);
/// assert_eq!(learner.record(drop), Some(9));
/// assert_eq!(learner.limit(), 9);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
pub struct Learner {
    limit: CachePadded<AtomicU32>,
    /// One stripe per thread among the first threads to record.
    owned: Box<[CachePadded<Cell>]>,
    /// Stripes the later threads claim per sample.
    claimed: Box<[CachePadded<Cell>]>,
    shared: CachePadded<Mutex<Shared>>,
}

/// One stripe's buffer, in atomics so that its writer uses plain stores.
///
/// A claimed stripe's writer is whoever holds `claim` (an acquire CAS, a
/// release store), and it alone reads and writes the rest.
///
/// An owned stripe has one writer thread for good. It appends outside any
/// lock: the sample's slots, then `len` with a release store, so that a
/// `flush` that reads `len` (acquire) sees the samples below it. `flush`
/// feeds those under the algorithm's lock and moves `consumed` up to them;
/// the owner empties the buffer (both counts back to 0) only under that
/// lock too. So `flush` never reads a slot the owner is writing (the owner
/// writes at `len` or above), and no sample is fed twice.
struct Cell {
    /// 1 while a thread holds a claimed stripe.
    claim: AtomicU32,
    /// Samples buffered; written only by the writer.
    len: AtomicU32,
    /// Samples of an owned stripe already fed by `flush`; read and written
    /// under the algorithm's lock.
    consumed: AtomicU32,
    rtts: [AtomicU64; BATCH],
    /// In-flight at admission in the low half, 1 << 32 for a drop.
    meta: [AtomicU64; BATCH],
}

const DROPPED: u64 = 1 << 32;

impl Cell {
    fn new() -> Self {
        Self {
            claim: AtomicU32::new(0),
            len: AtomicU32::new(0),
            consumed: AtomicU32::new(0),
            rtts: std::array::from_fn(|_| AtomicU64::new(0)),
            meta: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Claims the stripe if nobody holds it.
    #[inline]
    fn try_claim(&self) -> bool {
        // Acquire: pairs with the previous holder's release, so its writes
        // to the buffer are seen. A CAS rather than a swap: a caller that
        // finds the stripe held writes nothing.
        self.claim
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[inline]
    fn release(&self) {
        self.claim.store(0, Ordering::Release);
    }

    /// Appends a sample; the caller is the stripe's writer and the buffer
    /// has room. Returns the new length.
    #[inline]
    fn push(&self, sample: LimitSample) -> usize {
        let len = self.len.load(Ordering::Relaxed) as usize;
        let rtt = u64::try_from(sample.rtt().as_nanos()).unwrap_or(u64::MAX);
        let meta = u64::from(sample.in_flight()) | if sample.dropped() { DROPPED } else { 0 };
        self.rtts[len].store(rtt, Ordering::Relaxed);
        self.meta[len].store(meta, Ordering::Relaxed);
        // Release: an owned stripe's `flush` reads the slots below `len`.
        self.len.store(len as u32 + 1, Ordering::Release);
        len + 1
    }

    /// Feeds the samples from `consumed` up to the buffer's length to the
    /// algorithm; the caller holds the algorithm's lock. With `empty`
    /// (the writer's hand-over) the buffer is then empty, else (a `flush`
    /// of an owned stripe, whose owner may be appending) they are marked
    /// fed. The counts move before the algorithm runs, so that an
    /// algorithm that panics leaves the buffer consistent.
    fn drain(&self, algorithm: &mut dyn Algorithm, empty: bool) {
        let from = self.consumed.load(Ordering::Relaxed) as usize;
        // Acquire: pairs with an owner's push (a no-op for the writer).
        let to = self.len.load(Ordering::Acquire) as usize;
        let mut samples = [LimitSample::new(Duration::ZERO, 0, false); BATCH];
        for (i, sample) in samples[from..to].iter_mut().enumerate() {
            let meta = self.meta[from + i].load(Ordering::Relaxed);
            *sample = LimitSample::new(
                Duration::from_nanos(self.rtts[from + i].load(Ordering::Relaxed)),
                meta as u32,
                meta & DROPPED != 0,
            );
        }
        if empty {
            self.consumed.store(0, Ordering::Relaxed);
            self.len.store(0, Ordering::Relaxed);
        } else {
            self.consumed.store(to as u32, Ordering::Relaxed);
        }
        algorithm.update_batch(&samples[from..to]);
    }
}

struct Shared {
    algorithm: Box<dyn Algorithm>,
}

impl Learner {
    /// A learner for `algorithm`, its limit published at once.
    pub fn new(algorithm: Box<dyn Algorithm>) -> Self {
        // Two under loom: the models put their threads on chosen stripes
        // (`record_on_stripe`).
        let stripes = || {
            (0..stripe_count())
                .map(|_| CachePadded(Cell::new()))
                .collect()
        };
        Self {
            limit: CachePadded(AtomicU32::new(algorithm.limit().max(1))),
            owned: stripes(),
            claimed: stripes(),
            shared: CachePadded(Mutex::new(Shared { algorithm })),
        }
    }

    /// The limit in force: one load.
    #[inline]
    pub fn limit(&self) -> u32 {
        // Relaxed: admission re-checks against its own counter; a stale
        // limit only delays a change by one call.
        self.limit.load(Ordering::Relaxed)
    }

    /// Feeds one completed call (buffered: see the type's docs);
    /// `Some(limit)` when the published limit changed.
    #[inline]
    pub fn record(&self, sample: LimitSample) -> Option<u32> {
        self.record_on(stripe_hint(), sample)
    }

    /// [`record`](Self::record) with a chosen stripe hint, for the loom
    /// models: below the stripe count, a stripe the calling thread must
    /// own alone; from it up, a claimed one.
    #[cfg(seawall_loom)]
    #[doc(hidden)]
    pub fn record_on_stripe(&self, stripe: usize, sample: LimitSample) -> Option<u32> {
        self.record_on(stripe, sample)
    }

    #[inline]
    fn record_on(&self, hint: usize, sample: LimitSample) -> Option<u32> {
        // Hints are unique per thread (`stripe_hint`): the thread with hint
        // `i` is the only one ever to write owned stripe `i`.
        let Some(cell) = self.owned.get(hint) else {
            return self.record_claimed(hint, sample);
        };
        let len = cell.push(sample);
        if len == BATCH || sample.dropped() {
            return self.hand_over(cell);
        }
        None
    }

    #[cold]
    fn record_claimed(&self, hint: usize, sample: LimitSample) -> Option<u32> {
        let cell = &self.claimed[hint & (self.claimed.len() - 1)];
        if !cell.try_claim() {
            return self.feed_one(sample);
        }
        let len = cell.push(sample);
        let changed = if len == BATCH || sample.dropped() {
            // Lock order: a stripe, then the algorithm; nothing takes them
            // the other way round.
            self.hand_over(cell)
        } else {
            None
        };
        cell.release();
        changed
    }

    /// Feeds every buffered sample now; `Some(limit)` when the published
    /// limit changed.
    pub fn flush(&self) -> Option<u32> {
        let mut changed = None;
        {
            // An owner appends without a lock and empties its stripe only
            // under this one: what `flush` reads below `len` stays put.
            let mut shared = self.shared.lock();
            for cell in self.owned.iter() {
                cell.drain(&mut *shared.algorithm, false);
            }
            changed = self.publish(&shared).or(changed);
        }
        for cell in self.claimed.iter() {
            // A holder keeps the stripe only for one append (and a hand-over);
            // wait for it reading, not writing, the claim.
            while !cell.try_claim() {
                while cell.claim.load(Ordering::Relaxed) != 0 {
                    spin_wait();
                }
            }
            if cell.len.load(Ordering::Relaxed) > 0 {
                changed = self.hand_over(cell).or(changed);
            }
            cell.release();
        }
        changed
    }

    /// Calls `f` with the algorithm, to read its state.
    pub fn with_algorithm<R>(&self, f: impl FnOnce(&dyn Algorithm) -> R) -> R {
        f(&*self.shared.lock().algorithm)
    }

    /// The writer's hand-over: every sample its stripe holds, then empty.
    #[cold]
    fn hand_over(&self, cell: &Cell) -> Option<u32> {
        let mut shared = self.shared.lock();
        cell.drain(&mut *shared.algorithm, true);
        self.publish(&shared)
    }

    /// A sample whose stripe another thread holds: straight to the
    /// algorithm rather than wait.
    #[cold]
    fn feed_one(&self, sample: LimitSample) -> Option<u32> {
        let mut shared = self.shared.lock();
        shared.algorithm.update(sample);
        self.publish(&shared)
    }

    /// Publishes the algorithm's limit; the caller holds the shared lock.
    fn publish(&self, shared: &Shared) -> Option<u32> {
        let new = shared.algorithm.limit().max(1);
        // Published under the lock, so the limit readers see is always the
        // one of the latest update, never an older one stored late; being
        // the only writer, a load and a store (only on change) suffice.
        if self.limit.load(Ordering::Relaxed) == new {
            return None;
        }
        self.limit.store(new, Ordering::Relaxed);
        Some(new)
    }
}

impl fmt::Debug for Learner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Learner")
            .field("limit", &self.limit())
            .field("algorithm", &self.shared.lock().algorithm)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(seawall_loom)))]
mod tests {
    use super::*;
    use crate::limit::algorithm::Aimd;

    fn aimd() -> Box<dyn Algorithm> {
        Box::new(
            Aimd::builder()
                .initial_limit(100)
                .min_limit(1)
                .max_limit(100_000)
                .build()
                .unwrap(),
        )
    }

    fn used() -> LimitSample {
        LimitSample::new(Duration::from_millis(1), 100_000, false)
    }

    fn dropped() -> LimitSample {
        LimitSample::new(Duration::from_millis(1), 100_000, true)
    }

    #[test]
    fn successes_reach_the_algorithm_per_batch_and_drops_at_once() {
        let learner = Learner::new(aimd());
        // 15 successes wait in the stripe; the 16th hands all over (+16).
        for _ in 1..BATCH {
            assert_eq!(learner.record_on(0, used()), None);
        }
        assert_eq!(learner.limit(), 100);
        assert_eq!(learner.record_on(0, used()), Some(116));
        // A drop takes the successes before it along, in order:
        // 116 + 2 = 118, then ⌊118 × 0.9⌋ = 106.
        learner.record_on(0, used());
        learner.record_on(0, used());
        assert_eq!(learner.record_on(0, dropped()), Some(106));
        // What a stripe still holds reaches the algorithm at flush.
        learner.record_on(0, used());
        assert_eq!(learner.flush(), Some(107));
        assert_eq!(learner.flush(), None, "nothing left");
    }

    #[test]
    fn a_sample_whose_claimed_stripe_is_held_goes_straight_through() {
        let learner = Learner::new(aimd());
        // Hints past the owned stripes claim one per sample.
        let late = learner.owned.len();
        assert!(learner.claimed[0].try_claim(), "free at first");
        assert_eq!(learner.record_on(late, used()), Some(101));
        learner.claimed[0].release();
        assert_eq!(learner.record_on(late, used()), None, "buffered again");
        assert_eq!(learner.flush(), Some(102));
    }

    #[test]
    fn a_flush_between_an_owners_appends_feeds_each_sample_once() {
        let learner = Learner::new(aimd());
        for _ in 0..3 {
            learner.record_on(0, used());
        }
        assert_eq!(learner.flush(), Some(103), "the three buffered");
        // The owner's buffer fills up with the 13 that follow: its
        // hand-over feeds only those.
        for _ in 3..BATCH - 1 {
            assert_eq!(learner.record_on(0, used()), None);
        }
        assert_eq!(learner.record_on(0, used()), Some(116));
        assert_eq!(learner.flush(), None, "nothing left, nothing twice");
        assert_eq!(learner.record_on(0, used()), None, "an empty buffer again");
        assert_eq!(learner.flush(), Some(117));
    }

    #[test]
    fn contended_stripes_batch_and_lose_nothing() {
        let learner = Learner::new(aimd());
        let threads = 4;
        let per_thread = 1000;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..per_thread {
                        learner.record(used());
                    }
                });
            }
        });
        learner.flush();
        // Every success added one, however the samples were batched.
        assert_eq!(learner.limit(), 100 + threads * per_thread);
    }

    #[test]
    fn a_sample_survives_the_buffer_exactly() {
        let cell = Cell::new();
        let cases = [
            LimitSample::new(Duration::from_nanos(1), 0, false),
            LimitSample::new(Duration::from_secs(3600), u32::MAX, true),
        ];
        #[derive(Debug)]
        struct Seen(Vec<LimitSample>);
        impl Algorithm for Seen {
            fn limit(&self) -> u32 {
                1
            }
            fn update(&mut self, sample: LimitSample) -> u32 {
                self.0.push(sample);
                1
            }
        }
        let mut seen = Seen(Vec::new());
        for sample in cases {
            cell.push(sample);
        }
        cell.drain(&mut seen, true);
        assert_eq!(seen.0, cases);
        assert_eq!(cell.len.load(Ordering::Relaxed), 0);
    }
}
