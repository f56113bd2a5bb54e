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
//! bits of the clock's whole seconds. A record a little behind its bucket's
//! key (it raced with a newer second or generation) is outside the window and
//! is dropped; a bucket any further ahead is stale and is overwritten.
//! Epochs cannot come round: the breaker retires buckets of generations no
//! state can show any more ([`TimeWindow::retire`]). The limit of the
//! encoding: a bucket left untouched, in one closed generation, for a whole
//! multiple of 2^22 s (48 days) that is also a multiple of the window length
//! would be read as current.

#[cfg(seawall_loom)]
use crate::sync::fence;
use crate::sync::{stripe_count, stripe_hint, AtomicU64, CachePadded, Ordering};

use super::{Counts, CARRIED_MAX};

const SEC_BITS: u32 = 22;
const SEC_MASK: u64 = (1 << SEC_BITS) - 1;
const EPOCH_MASK: u64 = (1 << 10) - 1;
const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Unused buckets between stripes: 4 × 32 bytes keep two stripes' buckets
/// off each other's cache lines (and their adjacent-line prefetch).
const GAP: usize = 4;
/// How far behind a bucket's second a racing record may be and still be told
/// apart from a stale bucket.
const MAX_LATE_SECS: u64 = 4 * 3_600;
/// `recheck` value: evaluate every record.
const RECHECK_ALWAYS: u64 = u64::MAX;
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

    /// Whether a bucket holding `self` (same epoch, another second) is
    /// ahead of a record for `record`: the record read the clock before
    /// another thread that already moved the bucket on, so it is outside the
    /// window. A record can be late by a little only; a bucket further
    /// "ahead" than that is in truth stale, left from long ago, and the
    /// record overwrites it.
    fn ahead_of(self, record: Key) -> bool {
        let ahead = self.sec.wrapping_sub(record.sec) & SEC_MASK;
        ahead != 0 && ahead <= MAX_LATE_SECS
    }
}

/// Counts one record in `word` under `key`. Returns false when the bucket
/// belongs to a newer key, i.e. the record is outside the window. Which of
/// two epochs is newer is asked of the state word (`is_current`), so an epoch
/// that fell any distance behind is simply replaced.
fn bump(word: &AtomicU64, key: Key, is_current: &impl Fn() -> bool) -> bool {
    let mut cur = word.load(Ordering::Acquire);
    loop {
        let held = Key::of(cur);
        let count = cur as u32;
        let next = if held == key {
            key.with(count.saturating_add(1))
        } else if count == 0
            || if held.epoch == key.epoch {
                !held.ahead_of(key)
            } else {
                is_current()
            }
        {
            // The bucket is empty or stale: it starts afresh with us.
            key.with(1)
        } else {
            return false;
        };
        // SeqCst: the count is in the single total order of `record`'s
        // store-buffering pattern (it costs nothing over AcqRel on x86 and
        // ARMv8).
        match word.compare_exchange_weak(cur, next, Ordering::SeqCst, Ordering::Acquire) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
}

/// The `recheck` value saying: in generation `gen`, at second `sec`, the
/// window held failures or slow calls and at least its minimum of calls.
/// The whole generation (29 bits) and 32 bits of the second, so that no
/// number of transitions within a second makes an old tag pass for a
/// current one; bit 63 set and bits 61–62 clear, so never 0 and never
/// `RECHECK_ALWAYS`.
fn settled(gen: u32, sec: u64) -> u64 {
    1 << 63 | u64::from(gen & 0x1fff_ffff) << 32 | (sec & 0xffff_ffff)
}

fn read(word: &AtomicU64, key: Key) -> u32 {
    // SeqCst: see `bump` (a plain load on x86, `ldar` on ARMv8).
    let w = word.load(Ordering::SeqCst);
    if Key::of(w) == key {
        w as u32
    } else {
        0
    }
}

/// Empties `word` if it counts for an epoch more than `CARRIED_MAX`
/// generations away from `epoch` (either way: a bucket "ahead" that far
/// is one left from a generation that wrapped round).
fn retire_word(word: &AtomicU64, epoch: u64) {
    let cur = word.load(Ordering::Acquire);
    let away = epoch.wrapping_sub(Key::of(cur).epoch) & EPOCH_MASK;
    let far = away > CARRIED_MAX as u64 && away < EPOCH_MASK + 1 - CARRIED_MAX as u64;
    if far && cur as u32 != 0 {
        // A failed CAS means a record just wrote the word, for a current
        // generation: left alone.
        let _ = word.compare_exchange(cur, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

#[derive(Debug)]
pub(crate) struct TimeWindow {
    seconds: u32,
    min_calls: u32,
    stripes: usize,
    /// Buckets per stripe: `seconds` rounded up to a power of two, so that a
    /// second finds its bucket with a mask instead of a division (each
    /// bucket is keyed by its second, so spare ones are simply unused).
    ring: usize,
    /// Buckets from one stripe's first to the next one's: `ring + GAP`.
    stride: usize,
    buckets: Box<[Bucket]>,
    /// When a success must evaluate too, although it cannot raise a rate by
    /// itself: 0 while the window holds no failure and no slow call (rates
    /// are zero); `RECHECK_ALWAYS` while it holds some but fewer calls than
    /// the minimum (a success can make the rates defined); otherwise the
    /// [`settled`] tag of the generation and second of the last evaluation,
    /// because when a new second begins older calls leave the window and
    /// can raise a rate. In the steady state of rare failures it holds that
    /// tag and nothing writes it: every call reads this line, so a write
    /// per failure would cost every other thread a cache miss.
    recheck: CachePadded<AtomicU64>,
}

impl TimeWindow {
    pub(crate) fn new(seconds: u32, min_calls: u32) -> Self {
        // Two under loom, so that the models race a sum across stripes.
        let stripes = stripe_count().min(MAX_STRIPES);
        let ring = (seconds as usize).next_power_of_two();
        Self {
            seconds,
            min_calls,
            stripes,
            ring,
            stride: ring + GAP,
            buckets: (0..stripes * (ring + GAP))
                .map(|_| Bucket::default())
                .collect(),
            recheck: CachePadded(AtomicU64::new(0)),
        }
    }

    #[inline]
    fn bucket(&self, stripe: usize, sec: u64) -> &Bucket {
        &self.buckets[stripe * self.stride + (sec as usize & (self.ring - 1))]
    }

    #[inline]
    pub(crate) fn record(
        &self,
        gen: u32,
        now_nanos: u64,
        failed: bool,
        slow: bool,
        is_current: impl Fn() -> bool,
    ) -> Option<Counts> {
        let sec = now_nanos / NANOS_PER_SEC;
        let key = Key::new(gen, sec);
        let bucket = self.bucket(stripe_hint() & (self.stripes - 1), sec);
        if !bump(&bucket.calls, key, &is_current) {
            return None;
        }
        if failed {
            bump(&bucket.failed, key, &is_current);
        }
        if slow {
            bump(&bucket.slow, key, &is_current);
        }
        let bad = failed || slow;
        let settled = settled(gen, sec);
        // A window that held its minimum of calls in this generation and
        // second still does (a second's counts only grow), so no success
        // can be the one that brings it there: the request below is needed
        // only otherwise.
        if bad && self.recheck.load(Ordering::SeqCst) != settled {
            // Ask successes to evaluate before summing. This is the
            // store-buffering pattern: either this sum sees a racing
            // success's count, or that success sees the request and
            // evaluates itself, so a success that brings the window to its
            // minimum is never missed by both. Its writes and reads are
            // SeqCst, so they fall in one total order, and no fence is
            // needed: a fence costs a success more than the rest of its
            // record on x86 (`mfence`), where these SeqCst accesses cost
            // what Acquire and Release do (the store, on this rare path,
            // is an `xchg`).
            self.recheck.store(RECHECK_ALWAYS, Ordering::SeqCst);
        }
        // loom treats SeqCst accesses as AcqRel, so its models need the
        // fence to see the total order that real atomics give.
        #[cfg(seawall_loom)]
        fence(Ordering::SeqCst);
        // SeqCst, and Acquire in effect: a success that sees the request
        // also sees the buckets the failure wrote before making it.
        let recheck = self.recheck.load(Ordering::SeqCst);
        let new_second = recheck != 0 && recheck != settled;
        if !(bad || new_second) {
            return None;
        }
        let counts = self.sum(gen, sec);
        let next = if counts.failed == 0 && counts.slow == 0 {
            0
        } else if counts.calls < self.min_calls {
            RECHECK_ALWAYS
        } else {
            settled
        };
        if next != recheck {
            self.recheck.store(next, Ordering::Release);
        }
        Some(counts)
    }

    /// The window's counts, with `failed ≤ calls` and `slow ≤ calls`.
    ///
    /// A record bumps `calls` before `failed` and `slow`, and the sum reads
    /// them the other way round (with Acquire): every failure or slow call
    /// it counts has its call counted too, unless the bucket moved on to a
    /// newer key in between, and then the bucket's figures are cut down to
    /// its calls (to none, for the key read). So each bucket contributes
    /// counts that it held at one moment, plus calls made since: no failure
    /// without its call, never a rate above what the bucket had.
    fn sum(&self, gen: u32, sec: u64) -> Counts {
        let mut c = Counts::default();
        for back in 0..(self.seconds as u64).min(sec + 1) {
            let key = Key::new(gen, sec - back);
            for stripe in 0..self.stripes {
                let b = self.bucket(stripe, sec - back);
                let failed = read(&b.failed, key);
                let slow = read(&b.slow, key);
                let calls = read(&b.calls, key);
                c.calls = c.calls.saturating_add(calls);
                c.failed = c.failed.saturating_add(failed.min(calls));
                c.slow = c.slow.saturating_add(slow.min(calls));
            }
        }
        c
    }

    /// Called after every transition, into generation `gen`. Buckets are
    /// keyed by ten bits of the generation, so a bucket 1,024 generations
    /// old would pass for a current one: every 256th generation (a
    /// `CARRIED_MAX + 1` step, so every bucket is met while between 256 and
    /// 768 generations old) empties the buckets of generations no state
    /// can show any more. A full scan, but once per 256 transitions.
    pub(crate) fn retire(&self, gen: u32) {
        if gen % (CARRIED_MAX + 1) != 0 {
            return;
        }
        let epoch = gen as u64 & EPOCH_MASK;
        for b in self.buckets.iter() {
            retire_word(&b.calls, epoch);
            retire_word(&b.failed, epoch);
            retire_word(&b.slow, epoch);
        }
    }

    pub(crate) fn counts(&self, gen: u32, now_nanos: u64) -> Counts {
        self.sum(gen, now_nanos / NANOS_PER_SEC)
    }
}
