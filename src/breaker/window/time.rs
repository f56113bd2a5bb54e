//! A time-based window: `seconds` one-second buckets, striped per thread.
//!
//! Each thread writes the buckets of its own stripe, so concurrent calls do
//! not share a written cache line; a failure or a slow call sums all stripes
//! to evaluate. Memory is `stripes × seconds` buckets whatever the call rate.
//!
//! Every bucket word carries the key it counts for, so a bucket resets
//! lazily when a newer second (or a newer closed generation) first writes it:
//!
//! ```text
//!  63       54 53                 32 31                 0
//! +-----------+---------------------+--------------------+
//! | epoch (10)| second (22 bits)    | count (u32)        |
//! +-----------+---------------------+--------------------+
//! ```
//!
//! The epoch is the low bits of the closed generation, the second the low
//! bits of the clock's whole seconds; a record whose key is older than the
//! bucket's is outside the window (or from an older generation) and is
//! dropped. The limits of the encoding: a bucket left untouched for a whole
//! multiple of 2^22 s (48 days) that is also a multiple of the window length,
//! in the same epoch, would be read as current.

use crate::sync::{stripe_hint, AtomicU32, AtomicU64, CachePadded, Ordering};

use super::Counts;

const SEC_BITS: u32 = 22;
const SEC_MASK: u64 = (1 << SEC_BITS) - 1;
const EPOCH_MASK: u64 = (1 << 10) - 1;
const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Unused buckets between stripes: 4 × 32 bytes keep two stripes' buckets
/// off each other's cache lines (and their adjacent-line prefetch).
const GAP: usize = 4;
const MAX_STRIPES: usize = 16;

#[derive(Debug, Default)]
#[repr(align(32))]
struct Bucket {
    calls: AtomicU64,
    failed: AtomicU64,
    slow: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    epoch: u64,
    sec: u64,
}

impl Key {
    fn new(gen: u32, sec: u64) -> Key {
        Key {
            epoch: gen as u64 & EPOCH_MASK,
            sec: sec & SEC_MASK,
        }
    }

    fn of(word: u64) -> Key {
        Key {
            epoch: word >> 54,
            sec: (word >> 32) & SEC_MASK,
        }
    }

    fn with(self, count: u32) -> u64 {
        self.epoch << 54 | self.sec << 32 | count as u64
    }

    /// Whether `self` is later than `other`: a newer epoch, or the same
    /// epoch and a newer second (both compared modulo their width).
    fn newer_than(self, other: Key) -> bool {
        if self.epoch != other.epoch {
            let d = self.epoch.wrapping_sub(other.epoch) & EPOCH_MASK;
            return d <= EPOCH_MASK / 2;
        }
        let d = self.sec.wrapping_sub(other.sec) & SEC_MASK;
        d != 0 && d <= SEC_MASK / 2
    }
}

/// Counts one record in `word` under `key`. Returns false when the bucket
/// belongs to a newer key, i.e. the record is outside the window.
fn bump(word: &AtomicU64, key: Key) -> bool {
    let mut cur = word.load(Ordering::Acquire);
    loop {
        let held = Key::of(cur);
        let count = cur as u32;
        let next = if held == key {
            key.with(count.saturating_add(1))
        } else if count == 0 || key.newer_than(held) {
            key.with(1)
        } else {
            return false;
        };
        match word.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
}

fn read(word: &AtomicU64, key: Key) -> u32 {
    let w = word.load(Ordering::Acquire);
    if Key::of(w) == key {
        w as u32
    } else {
        0
    }
}

#[derive(Debug)]
pub(crate) struct TimeWindow {
    seconds: u32,
    min_calls: u32,
    stripes: usize,
    buckets: Box<[Bucket]>,
    /// Set while the window holds failures or slow calls but fewer calls than
    /// the minimum: then a success can make the rates defined, so successes
    /// evaluate too until the minimum is reached.
    pending: CachePadded<AtomicU32>,
}

impl TimeWindow {
    pub(crate) fn new(seconds: u32, min_calls: u32) -> Self {
        let stripes = if cfg!(seawall_loom) {
            1
        } else {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .next_power_of_two()
                .min(MAX_STRIPES)
        };
        let stride = seconds as usize + GAP;
        Self {
            seconds,
            min_calls,
            stripes,
            buckets: (0..stripes * stride).map(|_| Bucket::default()).collect(),
            pending: CachePadded(AtomicU32::new(0)),
        }
    }

    fn bucket(&self, stripe: usize, sec: u64) -> &Bucket {
        let stride = self.seconds as usize + GAP;
        &self.buckets[stripe * stride + (sec % self.seconds as u64) as usize]
    }

    pub(crate) fn record(
        &self,
        gen: u32,
        now_nanos: u64,
        failed: bool,
        slow: bool,
    ) -> Option<Counts> {
        let sec = now_nanos / NANOS_PER_SEC;
        let key = Key::new(gen, sec);
        let bucket = self.bucket(stripe_hint() & (self.stripes - 1), sec);
        if !bump(&bucket.calls, key) {
            return None;
        }
        if failed {
            bump(&bucket.failed, key);
        }
        if slow {
            bump(&bucket.slow, key);
        }
        // Relaxed: the flag only decides whether to evaluate; the sum reads
        // the buckets themselves with Acquire.
        if !(failed || slow || self.pending.load(Ordering::Relaxed) != 0) {
            return None;
        }
        let counts = self.sum(gen, sec);
        let pending = (counts.failed > 0 || counts.slow > 0) && counts.calls < self.min_calls;
        if pending != (self.pending.load(Ordering::Relaxed) != 0) {
            self.pending.store(pending as u32, Ordering::Relaxed);
        }
        Some(counts)
    }

    fn sum(&self, gen: u32, sec: u64) -> Counts {
        let mut c = Counts::default();
        for back in 0..(self.seconds as u64).min(sec + 1) {
            let key = Key::new(gen, sec - back);
            for stripe in 0..self.stripes {
                let b = self.bucket(stripe, sec - back);
                c.calls = c.calls.saturating_add(read(&b.calls, key));
                c.failed = c.failed.saturating_add(read(&b.failed, key));
                c.slow = c.slow.saturating_add(read(&b.slow, key));
            }
        }
        c
    }

    pub(crate) fn counts(&self, gen: u32, now_nanos: u64) -> Counts {
        self.sum(gen, now_nanos / NANOS_PER_SEC)
    }
}
