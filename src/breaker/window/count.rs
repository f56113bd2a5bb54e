//! A count-based window: the last `size` outcomes, truly sliding.
//!
//! The outcomes sit in a ring of slots; a cursor hands out the next slot, and
//! the entering outcome replaces the one there by CAS, so every outcome
//! leaves exactly once however records race. The counts live in one aggregate word
//! (generation tag and three signed 16-bit fields) updated by CAS:
//!
//! ```text
//!  63        48 47        32 31        16 15         0
//! +------------+------------+------------+------------+
//! | slow (i16) |failed (i16)| calls (i16)|  tag (u16) |
//! +------------+------------+------------+------------+
//! ```
//!
//! A slot counts in the aggregate when it is present and carries the
//! aggregate's tag. A record applies its delta (the entering slot counted,
//! the leaving one uncounted) against the tag it finds at CAS time, so a
//! record racing with another on the same slot, or with a reset to a newer
//! generation, can make a field transiently one lower, never lose a count for
//! good; the fields are signed for that and read clamped at zero.
//!
//! The healthy path writes nothing: a success entering a full window that
//! holds no failure and no slow call replaces a success with a success, which
//! nobody can observe, so it only loads the aggregate.

use crate::breaker::state::GEN_MASK;
use crate::sync::{AtomicU32, AtomicU64, CachePadded, Ordering};

use super::Counts;

const PRESENT: u32 = 1 << 31;
const FAILED: u32 = 1 << 30;
const SLOW: u32 = 1 << 29;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Agg {
    tag: u16,
    calls: i16,
    failed: i16,
    slow: i16,
}

impl Agg {
    fn decode(w: u64) -> Agg {
        Agg {
            tag: w as u16,
            calls: (w >> 16) as u16 as i16,
            failed: (w >> 32) as u16 as i16,
            slow: (w >> 48) as u16 as i16,
        }
    }

    #[inline]
    fn encode(self) -> u64 {
        self.tag as u64
            | (self.calls as u16 as u64) << 16
            | (self.failed as u16 as u64) << 32
            | (self.slow as u16 as u64) << 48
    }

    fn counts(self) -> Counts {
        Counts {
            calls: self.calls.max(0) as u32,
            failed: self.failed.max(0) as u32,
            slow: self.slow.max(0) as u32,
        }
    }

    /// Adds (`sign` 1) or removes (`sign` -1) a slot if it counts under the
    /// aggregate's generation: matched on all 29 bits when the caller knows
    /// it (`generation`), else on the tag's 16.
    fn apply(&mut self, slot: u32, generation: Option<u32>, sign: i16) {
        let slot_gen = slot & GEN_MASK;
        let matches = match generation {
            Some(gen) => slot_gen == gen,
            None => slot_gen as u16 == self.tag,
        };
        if slot & PRESENT != 0 && matches {
            self.calls = self.calls.wrapping_add(sign);
            if slot & FAILED != 0 {
                self.failed = self.failed.wrapping_add(sign);
            }
            if slot & SLOW != 0 {
                self.slow = self.slow.wrapping_add(sign);
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u32,
    // Read by every call, written only when the window changes.
    agg: CachePadded<AtomicU64>,
    // Written by every call that is not a no-op.
    cursor: CachePadded<AtomicU64>,
    slots: Box<[AtomicU32]>,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        Self {
            size,
            agg: CachePadded(AtomicU64::new(0)),
            cursor: CachePadded(AtomicU64::new(0)),
            slots: (0..size).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// The aggregate of generation `gen`, started afresh if it holds another
    /// one; `None` if `gen` is no longer the breaker's generation (the record
    /// is stale).
    ///
    /// Tags are only compared for equality: which of two tags is newer is
    /// asked of the state word, so a tag that fell any distance behind (a
    /// long outage makes tens of thousands of transitions without a closed
    /// record) is simply replaced.
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
            let fresh = Agg {
                tag,
                calls: 0,
                failed: 0,
                slow: 0,
            };
            match self.agg.compare_exchange(
                word,
                fresh.encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(fresh),
                Err(now) => word = now,
            }
        }
    }

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

        // Relaxed: the cursor only spreads records over slots; the slot CAS
        // is what makes each value leave exactly once.
        let index = self.cursor.fetch_add(1, Ordering::Relaxed) % self.size as u64;
        let entering = PRESENT
            | (gen & GEN_MASK)
            | if failed { FAILED } else { 0 }
            | if slow { SLOW } else { 0 };
        // Each slot value leaves exactly once: whoever replaces it by CAS
        // removes it from the aggregate. A stale record (its generation
        // ended after `start`) must not push out another generation's
        // value, which it would then remove under the wrong tag.
        let slot = &self.slots[index as usize];
        let mut leaving = slot.load(Ordering::Acquire);
        loop {
            let foreign = leaving & PRESENT != 0 && leaving & GEN_MASK != gen & GEN_MASK;
            if foreign && !is_current() {
                return None;
            }
            match slot.compare_exchange_weak(leaving, entering, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => leaving = now,
            }
        }

        let mut word = self.agg.load(Ordering::Acquire);
        loop {
            let before = Agg::decode(word);
            // Under our own tag the aggregate's generation is ours, so slots
            // are matched on all 29 bits; under a newer tag (we are stale)
            // only the tag's 16 are known.
            let generation = (before.tag == gen as u16).then_some(gen & GEN_MASK);
            let mut after = before;
            after.apply(entering, generation, 1);
            after.apply(leaving, generation, -1);
            if after == before {
                // Stale under a newer tag, or a like-for-like replacement.
                return (before.tag == gen as u16).then(|| before.counts());
            }
            match self.agg.compare_exchange_weak(
                word,
                after.encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return (after.tag == gen as u16).then(|| after.counts()),
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
            tag: gen as u16,
            calls: self.size as i16,
            failed: 0,
            slow: 0,
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
}
