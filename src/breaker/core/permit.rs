//! What a call carries from admission to completion.

use std::fmt;

use super::CircuitBreaker;
use crate::breaker::state::{Probes, State, Word};
use crate::classify::Outcome;

/// What a call carries from admission to completion: the state word that
/// admitted it (kind and generation, without probe counters) and, with
/// slow-call detection, its start time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawPermit {
    pub(super) word: u64,
    pub(super) start: u64,
}

impl RawPermit {
    /// The permit as two words, for callers that carry it opaquely (the
    /// balancer's endpoint gate).
    #[cfg(feature = "balance")]
    #[inline]
    pub(crate) fn into_words(self) -> [u64; 2] {
        [self.word, self.start]
    }

    /// A permit from [`into_words`](Self::into_words).
    #[cfg(feature = "balance")]
    #[inline]
    pub(crate) fn from_words([word, start]: [u64; 2]) -> Self {
        Self { word, start }
    }

    #[inline]
    pub(super) fn new(word: Word, start: u64) -> Self {
        let bare = Word {
            probes: Probes::default(),
            ..word
        };
        Self {
            word: bare.encode(),
            start,
        }
    }

    #[inline]
    pub(super) fn gen(self) -> u32 {
        Word::decode(self.word).gen
    }

    #[inline]
    pub(super) fn state(self) -> State {
        Word::decode(self.word).state
    }
}

/// Permission to make one call. Record its outcome with
/// [`record`](Permit::record); dropping it unrecorded counts as a cancelled
/// call (nothing is recorded, a half-open probe slot is given back).
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// use seawall::classify::Outcome;
/// let breaker = CircuitBreaker::builder().build()?;
/// let permit = breaker.try_acquire()?;
/// permit.record(Outcome::Success);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Permit<'a> {
    pub(super) breaker: &'a CircuitBreaker,
    pub(super) raw: Option<RawPermit>,
}

impl Permit<'_> {
    /// The state the call was admitted in.
    pub fn state(&self) -> State {
        self.raw.map_or(State::Closed, RawPermit::state)
    }

    /// Records the call's outcome.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        if let Some(raw) = self.raw.take() {
            self.breaker.record_raw(raw, outcome);
        }
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            self.breaker.release_raw(raw);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("raw", &self.raw).finish()
    }
}
