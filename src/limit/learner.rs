//! How completed calls reach the limit algorithm without every call
//! writing one shared cache line.

use std::fmt;

use super::{Algorithm, LimitSample};
use crate::sync::{stripe_hint, AtomicU32, CachePadded, Mutex, Ordering};

/// Samples a stripe buffers before it must take the algorithm's lock.
const BATCH: usize = 16;

/// Owns an [`Algorithm`], feeds it completed calls and publishes its limit
/// for admission to read with one load.
///
/// Each thread records on its stripe (on its own cache line). While one
/// stripe alone feeds the learner, each sample goes straight to the
/// algorithm under the one shared lock, so a single caller sees the exact
/// per-sample behaviour at the cost of one uncontended lock. Once another
/// stripe has fed the algorithm in between, the stripe buffers its samples
/// (its buffer's lock is uncontended and stays in its thread's cache) and
/// hands them over 16 at a time, until it finds nobody else fed the
/// algorithm since its own last feed. Under contention the
/// algorithm's lock is then taken once per 16 calls per thread instead of
/// once per call: the limit may lag by up to 16 samples per thread (a stripe
/// whose thread goes idle keeps its last samples until it records again or
/// [`flush`](Learner::flush) runs), which an adaptive limit tolerates;
/// admission stays exact because it never depends on the algorithm.
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{algorithm::Aimd, Learner, LimitSample};
///
/// let aimd = Aimd::builder().initial_limit(10).min_limit(1).build()?;
/// let learner = Learner::new(Box::new(aimd));
/// let drop = LimitSample::new(Duration::from_millis(3), 10, true);
/// assert_eq!(learner.record(drop), Some(9));
/// assert_eq!(learner.limit(), 9);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
pub struct Learner {
    limit: CachePadded<AtomicU32>,
    stripes: Box<[CachePadded<Cell>]>,
    shared: CachePadded<Mutex<Shared>>,
}

/// One stripe: whether it buffers, and its buffer.
struct Cell {
    /// 1 while this stripe batches (another stripe fed the algorithm since
    /// it last did), 0 while it feeds each sample straight through. Only a
    /// hint: a stale read sends one sample down the other path.
    batching: AtomicU32,
    buffer: Mutex<Stripe>,
}

struct Stripe {
    samples: [LimitSample; BATCH],
    len: usize,
}

struct Shared {
    algorithm: Box<dyn Algorithm>,
    /// The stripe that fed the algorithm last (`usize::MAX`: none yet).
    last: usize,
    flushes: u64,
}

impl Stripe {
    fn new() -> Self {
        Self {
            samples: [LimitSample::new(std::time::Duration::ZERO, 0, false); BATCH],
            len: 0,
        }
    }

    fn push(&mut self, sample: LimitSample) {
        if self.len < BATCH {
            self.samples[self.len] = sample;
            self.len += 1;
        } else if sample.dropped() {
            // Full only while the lock holder is slow: keep the signal that
            // matters most, that a call was dropped.
            let last = &mut self.samples[BATCH - 1];
            *last = LimitSample::new(last.rtt(), last.in_flight(), true);
        }
    }
}

impl Learner {
    /// A learner for `algorithm`, its limit published at once.
    pub fn new(algorithm: Box<dyn Algorithm>) -> Self {
        // Two under loom: the models put their threads on different
        // stripes (`record_on_stripe`) to race two feeds.
        let stripes = if cfg!(seawall_loom) {
            2
        } else {
            std::thread::available_parallelism()
                .map_or(1, usize::from)
                .next_power_of_two()
                .min(64)
        };
        Self {
            limit: CachePadded(AtomicU32::new(algorithm.limit().max(1))),
            stripes: (0..stripes)
                .map(|_| {
                    CachePadded(Cell {
                        batching: AtomicU32::new(0),
                        buffer: Mutex::new(Stripe::new()),
                    })
                })
                .collect(),
            shared: CachePadded(Mutex::new(Shared {
                algorithm,
                last: usize::MAX,
                flushes: 0,
            })),
        }
    }

    /// The limit in force: one load.
    #[inline]
    pub fn limit(&self) -> u32 {
        // Relaxed: admission re-checks against its own counter; a stale
        // limit only delays a change by one call.
        self.limit.load(Ordering::Relaxed)
    }

    /// Feeds one completed call; `Some(limit)` when the published limit
    /// changed.
    pub fn record(&self, sample: LimitSample) -> Option<u32> {
        self.record_on(stripe_hint(), sample)
    }

    /// [`record`](Self::record) on a chosen stripe, for the loom models
    /// (their threads all get the same stripe hint).
    #[cfg(seawall_loom)]
    #[doc(hidden)]
    pub fn record_on_stripe(&self, stripe: usize, sample: LimitSample) -> Option<u32> {
        self.record_on(stripe, sample)
    }

    fn record_on(&self, hint: usize, sample: LimitSample) -> Option<u32> {
        let index = hint & (self.stripes.len() - 1);
        let cell = &self.stripes[index];
        // Relaxed: the flag only picks a path; both are correct.
        if cell.batching.load(Ordering::Relaxed) == 0 {
            // Alone: straight to the algorithm, one lock as in the naive
            // design, so a single caller sees exact per-sample behaviour.
            let mut shared = self.shared.lock();
            if shared.last != index && shared.last != usize::MAX {
                cell.batching.store(1, Ordering::Relaxed);
            }
            shared.last = index;
            shared.flushes += 1;
            shared.algorithm.update(sample);
            return self.publish(&shared);
        }
        let mut stripe = cell.buffer.lock();
        stripe.push(sample);
        if stripe.len < BATCH {
            return None;
        }
        self.feed(index, &mut stripe)
    }

    /// Feeds every buffered sample now; `Some(limit)` when the published
    /// limit changed.
    pub fn flush(&self) -> Option<u32> {
        let mut changed = None;
        for (index, cell) in self.stripes.iter().enumerate() {
            let mut stripe = cell.buffer.lock();
            if stripe.len > 0 {
                changed = self.feed(index, &mut stripe).or(changed);
            }
        }
        changed
    }

    /// Calls `f` with the algorithm, to read its state.
    pub fn with_algorithm<R>(&self, f: impl FnOnce(&dyn Algorithm) -> R) -> R {
        f(&*self.shared.lock().algorithm)
    }

    fn feed(&self, index: usize, stripe: &mut Stripe) -> Option<u32> {
        // Lock order: a stripe, then the shared state; nothing takes them
        // the other way round.
        let mut shared = self.shared.lock();
        if shared.last == index {
            // Nobody else fed it since this stripe last did: alone again.
            self.stripes[index].batching.store(0, Ordering::Relaxed);
        }
        shared.last = index;
        shared.flushes += 1;
        for sample in &stripe.samples[..stripe.len] {
            shared.algorithm.update(*sample);
        }
        stripe.len = 0;
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
    use std::time::Duration;

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

    #[test]
    fn alone_every_sample_reaches_the_algorithm_at_once() {
        let learner = Learner::new(aimd());
        for i in 1..=5 {
            assert_eq!(learner.record(used()), Some(100 + i));
        }
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
    fn stripes_batch_while_another_feeds_and_stop_when_alone() {
        let learner = Learner::new(aimd());
        let batching = |i: usize| learner.stripes[i].batching.load(Ordering::Relaxed) == 1;
        let stripes = learner.stripes.len();
        learner.record_on(0, used());
        assert!(!batching(0), "the first feeder is alone");
        learner.record_on(1, used());
        assert!(
            batching(1 % stripes) || stripes == 1,
            "stripe 0 fed in between"
        );
        if stripes > 1 {
            // Stripe 1 now buffers: 15 samples reach nobody, the 16th all.
            for _ in 1..BATCH {
                assert_eq!(learner.record_on(1, used()), None);
            }
            assert_eq!(learner.limit(), 102);
            assert_eq!(learner.record_on(1, used()), Some(118));
            // Nobody fed the algorithm between stripe 1's two feeds: it is
            // alone again and back to one sample at a time.
            assert!(!batching(1));
            assert_eq!(learner.record_on(1, used()), Some(119));
        }
    }

    #[test]
    fn a_full_stripe_keeps_a_drop() {
        let mut stripe = Stripe::new();
        for _ in 0..=BATCH {
            stripe.push(used());
        }
        stripe.push(LimitSample::new(Duration::from_millis(1), 1, true));
        assert_eq!(stripe.len, BATCH);
        assert!(stripe.samples[BATCH - 1].dropped());
    }
}
