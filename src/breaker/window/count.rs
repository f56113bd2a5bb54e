//! A count-based window: the last `size` outcomes.
//!
//! The outcomes sit in a ring of slots; a cursor hands out the next slot, and
//! the entering outcome replaces the one there by CAS. The counts live in one
//! aggregate word (generation tag and three 16-bit fields) updated by CAS:
//!
//! ```text
//!  63        48 47        32 31        16 15         0
//! +------------+------------+------------+------------+
//! |    slow    |   failed   |   calls    |  tag (u16) |
//! +------------+------------+------------+------------+
//! ```
//!
//! A slot counts in the aggregate when it is present and carries the
//! aggregate's generation. Each record changes the aggregate by one CAS
//! (the entering outcome counted, the leaving one uncounted), so the
//! aggregate is always the sum of one outcome per slot: `failed ≤ calls`
//! and `slow ≤ calls ≤ size` hold in every word, and every verdict judges
//! a window that existed.
//!
//! That needs the changes to one slot to reach the aggregate in the order
//! they were made. A record therefore marks its slot busy from its slot CAS
//! until its aggregate CAS, and a record that finds its slot busy moves on
//! to the next one, so it never waits for another thread (when every slot is
//! busy, i.e. `size` records are under way at once, the outcome is dropped:
//! only windows smaller than the number of recording threads can see
//! that). Skipping a busy slot makes one outcome leave a lap later than
//! the strict ring order: the window still holds exactly `size` recent
//! outcomes, each counted once.
//!
//! The healthy path writes nothing: a success entering a full window that
//! holds no failure and no slow call replaces a success with a success, which
//! nobody can observe, so it only loads the aggregate. In a window that
//! holds failures, a success whose slot holds a success of its generation
//! writes only the cursor.
//!
//! Tags are compared for equality only; the breaker retires a window that
//! no state can show any more ([`CountWindow::retire`]), so a tag is never
//! far enough behind the generation to be taken for a current one.

use crate::breaker::state::GEN_MASK;
use crate::sync::{AtomicU64, CachePadded, Ordering};

use super::{Counts, CARRIED_MAX};

const PRESENT: u64 = 1 << 31;
const FAILED: u64 = 1 << 30;
const SLOW: u64 = 1 << 29;
/// The slot's change has not reached the aggregate yet.
const BUSY: u64 = 1 << 32;
/// Slots a record tries before it gives up (see the module docs).
const SLOTS_TRIED: u32 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Agg {
    tag: u16,
    calls: u16,
    failed: u16,
    slow: u16,
}

impl Agg {
    fn decode(w: u64) -> Agg {
        Agg {
            tag: w as u16,
            calls: (w >> 16) as u16,
            failed: (w >> 32) as u16,
            slow: (w >> 48) as u16,
        }
    }

    #[inline]
    fn encode(self) -> u64 {
        self.tag as u64
            | (self.calls as u64) << 16
            | (self.failed as u64) << 32
            | (self.slow as u64) << 48
    }

    fn counts(self) -> Counts {
        Counts {
            calls: self.calls as u32,
            failed: self.failed as u32,
            slow: self.slow as u32,
        }
    }

    fn fresh(tag: u16) -> Agg {
        Agg {
            tag,
            calls: 0,
            failed: 0,
            slow: 0,
        }
    }

    /// Adds (`add`) or removes a slot's outcome if it counts under the
    /// aggregate's generation: matched on all 29 bits when the caller knows
    /// it (`generation`), else on the tag's 16.
    fn apply(&mut self, slot: u64, generation: Option<u32>, add: bool) {
        let slot_gen = slot as u32 & GEN_MASK;
        let matches = match generation {
            Some(gen) => slot_gen == gen,
            None => slot_gen as u16 == self.tag,
        };
        if slot & PRESENT == 0 || !matches {
            return;
        }
        // Saturating: a field can only be at its bound here if a record
        // stalled across `CARRIED_MAX` transitions while its window was
        // retired; that window is never shown.
        let step = |v: u16| {
            if add {
                v.saturating_add(1)
            } else {
                v.saturating_sub(1)
            }
        };
        self.calls = step(self.calls);
        if slot & FAILED != 0 {
            self.failed = step(self.failed);
        }
        if slot & SLOW != 0 {
            self.slow = step(self.slow);
        }
    }
}

#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u32,
    /// `u64::MAX / size + 1`: `index` reduces the cursor with two
    /// multiplications instead of a division (Lemire, Kaser and Kurz,
    /// "Faster remainder by direct computation", 2019).
    magic: u64,
    /// Consecutive records go to slots this far apart (coprime with `size`),
    /// so that two threads recording in turn do not share a slot's cache line.
    stride: u32,
    // Read by every call, written only when the window changes.
    agg: CachePadded<AtomicU64>,
    // Written by every call that is not a no-op.
    cursor: CachePadded<AtomicU64>,
    slots: Box<[AtomicU64]>,
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        // 17 slots of 8 bytes span more than a 128-byte line.
        let stride = (17..).find(|&s| gcd(s, size) == 1).unwrap_or(1);
        Self {
            size,
            magic: (u64::MAX / size as u64).wrapping_add(1),
            stride,
            agg: CachePadded(AtomicU64::new(0)),
            cursor: CachePadded(AtomicU64::new(0)),
            slots: (0..size).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// `x mod size`, for `x < 2^32`.
    #[inline]
    fn reduce(&self, x: u32) -> u32 {
        let low = self.magic.wrapping_mul(x as u64);
        ((low as u128 * self.size as u128) >> 64) as u32
    }

    /// The slot of the `n`-th record: the ring order spread by `stride`.
    /// The cursor is reduced from its low 32 bits; at their wrap (every
    /// 2^32 records) one lap is cut short, which only reorders evictions.
    #[inline]
    fn index(&self, n: u64) -> usize {
        let logical = self.reduce(n as u32);
        self.reduce(logical * self.stride) as usize
    }

    /// The aggregate of generation `gen`, started afresh if it holds another
    /// one; `None` if `gen` is no longer the breaker's generation (the record
    /// is stale).
    fn start(&self, gen: u32, is_current: &impl Fn() -> bool) -> Option<Agg> {
        let tag = gen as u16;
        // Acquire pairs with the AcqRel CAS of `record`: a reader that sees a
        // count also sees the slot write that made it.
        let mut word = self.agg.load(Ordering::Acquire);
        loop {
            let agg = Agg::decode(word);
            if agg.tag == tag {
                return Some(agg);
            }
            if !is_current() {
                return None;
            }
            match self.agg.compare_exchange(
                word,
                Agg::fresh(tag).encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Agg::fresh(tag)),
                Err(now) => word = now,
            }
        }
    }

    /// Takes a slot for `entering`: returns it and the outcome it held, or
    /// `None` if the record is stale or found every slot it tried busy.
    /// A slot already holding exactly `entering` (a success of this
    /// generation replacing one) is returned as `(slot, entering)` without
    /// a write: the replacement changes nothing anyone can observe, so the
    /// common case of a mixed window costs the cursor's increment and a
    /// load.
    #[inline]
    fn claim(
        &self,
        gen: u32,
        entering: u64,
        is_current: &impl Fn() -> bool,
    ) -> Option<(&AtomicU64, u64)> {
        for _ in 0..SLOTS_TRIED.min(self.size.saturating_mul(2)) {
            // Relaxed: the cursor only spreads records over slots; the slot
            // CAS is what makes each value leave exactly once.
            let slot = &self.slots[self.index(self.cursor.fetch_add(1, Ordering::Relaxed))];
            // Acquire pairs with the Release that cleared BUSY: our
            // aggregate CAS comes after the one that counted `leaving`.
            let mut leaving = slot.load(Ordering::Acquire);
            loop {
                if leaving == entering {
                    return Some((slot, entering));
                }
                // A stale record (its generation ended after `start`) must
                // not push out another generation's value, which it would
                // then remove under the wrong tag.
                let foreign = leaving & PRESENT != 0 && leaving as u32 & GEN_MASK != gen & GEN_MASK;
                if foreign && !is_current() {
                    return None;
                }
                // A busy slot of our generation is settling: its change
                // must reach the aggregate before ours, so we move on. One
                // of another generation is a stale record's, which counts
                // nothing under our tag whatever the order: taken over
                // (a stalled stale record must not shut a current one out).
                if leaving & BUSY != 0 && !foreign {
                    break;
                }
                match slot.compare_exchange_weak(
                    leaving,
                    entering | BUSY,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Some((slot, leaving & !BUSY)),
                    Err(now) => leaving = now,
                }
            }
        }
        None
    }

    #[inline]
    pub(crate) fn record(
        &self,
        gen: u32,
        failed: bool,
        slow: bool,
        is_current: impl Fn() -> bool,
    ) -> Option<Counts> {
        // Admitted in an older generation: dropped.
        let agg = self.start(gen, &is_current)?;
        if !failed && !slow && agg.encode() == self.full_and_clean(gen) {
            return None;
        }
        let entering = PRESENT
            | (gen & GEN_MASK) as u64
            | if failed { FAILED } else { 0 }
            | if slow { SLOW } else { 0 };
        let (slot, leaving) = self.claim(gen, entering, &is_current)?;
        if leaving == entering {
            // Like for like: the window is as it was, and was judged when
            // it became so.
            return None;
        }
        let counts = self.settle(gen, entering, leaving);
        // Release: the next record on this slot sees our aggregate CAS. A
        // CAS, not a store: a current record may have taken the slot over
        // from us if we are stale.
        let _ = slot.compare_exchange(
            entering | BUSY,
            entering,
            Ordering::Release,
            Ordering::Relaxed,
        );
        counts
    }

    /// Moves the aggregate by one slot change: `entering` in, `leaving` out.
    fn settle(&self, gen: u32, entering: u64, leaving: u64) -> Option<Counts> {
        let mut word = self.agg.load(Ordering::Acquire);
        loop {
            let before = Agg::decode(word);
            // Under our own tag the aggregate's generation is ours, so slots
            // are matched on all 29 bits; under a newer tag (we are stale)
            // only the tag's 16 are known.
            let ours = before.tag == gen as u16;
            let generation = ours.then_some(gen & GEN_MASK);
            let mut after = before;
            after.apply(entering, generation, true);
            after.apply(leaving, generation, false);
            if after == before {
                return ours.then(|| before.counts());
            }
            match self.agg.compare_exchange_weak(
                word,
                after.encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return ours.then(|| after.counts()),
                Err(now) => word = now,
            }
        }
    }

    #[inline]
    pub(crate) fn success_is_noop(&self, gen: u32) -> bool {
        self.agg.load(Ordering::Acquire) == self.full_and_clean(gen)
    }

    #[inline]
    fn full_and_clean(&self, gen: u32) -> u64 {
        Agg {
            calls: self.size as u16,
            ..Agg::fresh(gen as u16)
        }
        .encode()
    }

    pub(crate) fn counts(&self, gen: u32) -> Counts {
        let agg = Agg::decode(self.agg.load(Ordering::Acquire));
        if agg.tag == gen as u16 {
            agg.counts()
        } else {
            Counts::default()
        }
    }

    /// Called after every transition, into generation `gen`: a window more
    /// than `CARRIED_MAX` generations behind can no longer be shown by any
    /// state, so it is emptied before its 16-bit tag could come round again
    /// and pass for a current one (after 65,536 transitions).
    pub(crate) fn retire(&self, gen: u32) {
        let mut word = self.agg.load(Ordering::Acquire);
        loop {
            let agg = Agg::decode(word);
            // A tag "ahead" (half the tag space) is a newer window met by a
            // late call: left alone.
            let behind = (gen as u16).wrapping_sub(agg.tag) as u32;
            if behind <= CARRIED_MAX || behind >= 1 << 15 || agg == Agg::fresh(agg.tag) {
                return;
            }
            match self.agg.compare_exchange(
                word,
                Agg::fresh(gen as u16).encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => word = now,
            }
        }
    }
}
