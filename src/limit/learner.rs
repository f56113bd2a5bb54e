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
/// Samples first go to a per-thread stripe (a small buffer on its own cache
/// line, so a thread's lock of it is uncontended and stays in its cache).
/// A stripe hands its buffer to the algorithm, under the one shared lock,
/// after every sample while it is the only stripe feeding the learner, so a
/// single caller sees the exact per-sample behaviour; once another stripe
/// has fed it in between, after every 16 samples. Under contention the
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
    stripes: Box<[CachePadded<Mutex<Stripe>>]>,
    shared: Mutex<Shared>,
}

struct Stripe {
    samples: [LimitSample; BATCH],
    len: usize,
    /// Samples to buffer before feeding the algorithm: 1 alone, `BATCH`
    /// when another stripe fed it since this one last did.
    flush_at: usize,
    /// `Shared::flushes` just after this stripe's last flush.
    seen: u64,
}

struct Shared {
    algorithm: Box<dyn Algorithm>,
    flushes: u64,
}

impl Stripe {
    fn new() -> Self {
        Self {
            samples: [LimitSample::new(std::time::Duration::ZERO, 0, false); BATCH],
            len: 0,
            flush_at: 1,
            seen: 0,
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
        // stripes (`record_on`) to race two feeds.
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
                .map(|_| CachePadded(Mutex::new(Stripe::new())))
                .collect(),
            shared: Mutex::new(Shared {
                algorithm,
                flushes: 0,
            }),
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
        let stripe = &self.stripes[hint & (self.stripes.len() - 1)];
        let mut stripe = stripe.lock();
        stripe.push(sample);
        if stripe.len < stripe.flush_at {
            return None;
        }
        self.feed(&mut stripe)
    }

    /// Feeds every buffered sample now; `Some(limit)` when the published
    /// limit changed.
    pub fn flush(&self) -> Option<u32> {
        let mut changed = None;
        for stripe in self.stripes.iter() {
            let mut stripe = stripe.lock();
            if stripe.len > 0 {
                changed = self.feed(&mut stripe).or(changed);
            }
        }
        changed
    }

    /// Calls `f` with the algorithm, to read its state.
    pub fn with_algorithm<R>(&self, f: impl FnOnce(&dyn Algorithm) -> R) -> R {
        f(&*self.shared.lock().algorithm)
    }

    fn feed(&self, stripe: &mut Stripe) -> Option<u32> {
        // Lock order: a stripe, then the shared state; nothing takes them
        // the other way round.
        let mut shared = self.shared.lock();
        let others = shared.flushes != stripe.seen;
        shared.flushes += 1;
        stripe.seen = shared.flushes;
        stripe.flush_at = if others { BATCH } else { 1 };
        for sample in &stripe.samples[..stripe.len] {
            shared.algorithm.update(*sample);
        }
        stripe.len = 0;
        let new = shared.algorithm.limit().max(1);
        // Published under the lock, so the limit readers see is always the
        // one of the latest update, never an older one stored late.
        let old = self.limit.swap(new, Ordering::Relaxed);
        (old != new).then_some(new)
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
        let flushes = learner.shared.lock().flushes;
        assert!(flushes <= u64::from(threads * per_thread) + learner.stripes.len() as u64);
    }

    #[test]
    fn a_stripe_that_saw_another_batches_until_alone_again() {
        let learner = Learner::new(aimd());
        let mut stripe = Stripe::new();
        learner.shared.lock().flushes = 7; // another stripe fed the algorithm
        stripe.push(used());
        learner.feed(&mut stripe);
        assert_eq!(stripe.flush_at, BATCH);
        stripe.push(used());
        learner.feed(&mut stripe);
        assert_eq!(stripe.flush_at, 1, "nobody else fed it in between");
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
