//! Counting refused calls: per state, as resilience4j's
//! `numberOfNotPermittedCalls`, and for the breaker's whole life.
//!
//! resilience4j keeps the count in each state's metrics object, so it starts
//! at 0 in every new state, except that OPEN is handed the metrics of the
//! state it came from and keeps counting on top of their refusals (a failed
//! probe phase's refused calls, a manual OPEN -> OPEN's previous count).
//! Here the per-state count is one word tagged with the generation it
//! counts; a new state restarts it lazily, on its first refusal, so a
//! transition never has to touch it.
//!
//! ```text
//!  63                      35 34                 0
//! +--------------------------+--------------------+
//! |     generation (29)      |    refusals (35)   |
//! +--------------------------+--------------------+
//! ```
//!
//! The count saturates at 2^35 - 1 (about 34 billion refusals in one
//! state). Generations are compared on all 29 bits, so a count is taken for
//! the current one only after 2^29 transitions without a refusal, the
//! limit of the generation itself.

use crate::breaker::state::{State, Word, GEN_MASK};
use crate::sync::{AtomicU64, Ordering};

const COUNT_BITS: u32 = 35;
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;

fn pack(gen: u32, count: u64) -> u64 {
    (gen as u64) << COUNT_BITS | count
}

fn unpack(w: u64) -> (u32, u64) {
    ((w >> COUNT_BITS) as u32 & GEN_MASK, w & COUNT_MAX)
}

/// Whether OPEN of generation `gen` inherits the count of generation
/// `tag`: the one right before it.
fn inherits(state: State, gen: u32, tag: u32) -> bool {
    state == State::Open && tag == gen.wrapping_sub(1) & GEN_MASK
}

#[derive(Debug)]
pub(super) struct Refused {
    // Both written by every refusal, so they share one cache line.
    per_state: AtomicU64,
    lifetime: AtomicU64,
}

impl Refused {
    pub(super) fn new() -> Self {
        Self {
            per_state: AtomicU64::new(0),
            lifetime: AtomicU64::new(0),
        }
    }

    /// Counts a call refused in `word`; `current` loads the state word.
    pub(super) fn count(&self, word: Word, current: impl Fn() -> Word) {
        // Relaxed: statistics, ordered with nothing.
        self.lifetime.fetch_add(1, Ordering::Relaxed);
        let mut w = self.per_state.load(Ordering::Relaxed);
        loop {
            let (tag, count) = unpack(w);
            let next = if tag == word.gen {
                // Also when the state has moved on since: a later OPEN may
                // still inherit this generation's count.
                pack(tag, (count + 1).min(COUNT_MAX))
            } else if current().gen != word.gen {
                // A stale refusal whose generation lost the word to a newer
                // one: the newer state's count is not its business.
                return;
            } else if inherits(word.state, word.gen, tag) {
                pack(word.gen, (count + 1).min(COUNT_MAX))
            } else {
                pack(word.gen, 1)
            };
            match self.per_state.compare_exchange_weak(
                w,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => w = now,
            }
        }
    }

    /// Hands the count of generation `from` on to the OPEN of generation
    /// `to` that follows it, so that a chain of OPENs (manual OPEN -> OPEN,
    /// or OPEN after a failed probe phase that refused nothing more) keeps
    /// it; a refusal that slips in before this runs inherits lazily.
    pub(super) fn carry(&self, from: u32, to: u32) {
        let mut w = self.per_state.load(Ordering::Relaxed);
        loop {
            let (tag, count) = unpack(w);
            if tag != from {
                // Nothing to carry, or a refusal of `to` inherited already.
                return;
            }
            match self.per_state.compare_exchange_weak(
                w,
                pack(to, count),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => w = now,
            }
        }
    }

    /// The refusals of the state `word` (0 if it has refused nothing yet).
    pub(super) fn in_state(&self, word: Word) -> u64 {
        let (tag, count) = unpack(self.per_state.load(Ordering::Relaxed));
        if tag == word.gen || inherits(word.state, word.gen, tag) {
            count
        } else {
            0
        }
    }

    /// Every refusal since the breaker was built.
    pub(super) fn lifetime(&self) -> u64 {
        self.lifetime.load(Ordering::Relaxed)
    }
}
