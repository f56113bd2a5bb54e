//! What the breaker shows: its state and counts, as a timer would have left
//! them.

use super::CircuitBreaker;
use crate::breaker::config::Policy;
use crate::breaker::metrics::Metrics;
use crate::breaker::state::{Carried, State, Word, GEN_MASK};
use crate::breaker::window::Counts;

impl CircuitBreaker {
    /// `word` as a timer would have left it at `now` (ns since the
    /// breaker's origin): a probe phase whose maximum wait ran out is the
    /// OPEN that follows it. The word itself moves only on the next call or
    /// record, and moves exactly there (see `time_out_probes`).
    pub(super) fn current(&self, word: Word, now: u64) -> Word {
        match self.half_open_expired(word, now) {
            Some(_) => word.next(State::Open),
            None => word,
        }
    }

    /// A snapshot of the state and the counts the breaker decides on, as
    /// resilience4j's metrics of the current state.
    ///
    /// In CLOSED and METRICS_ONLY it shows the window; in HALF_OPEN the
    /// probes of the current phase (rates defined once the minimum number
    /// of probes completed); in OPEN the figures of the state it came from:
    /// the window that tripped it, the probes that failed, or on a manual
    /// OPEN → OPEN what the previous OPEN showed (nothing after DISABLED or
    /// FORCED_OPEN); in DISABLED and FORCED_OPEN no calls. The refusal count
    /// is the current state's (OPEN continues the count of the state it
    /// came from, as in resilience4j).
    pub fn metrics(&self) -> Metrics {
        let inner = &*self.inner;
        let word = self.word();
        let word = if word.state == State::HalfOpen {
            self.current(word, self.now())
        } else {
            word
        };
        let window_now = if inner.window.needs_time() {
            inner.clock.now_nanos()
        } else {
            0
        };
        let rates = !matches!(inner.config.policy(), Policy::ConsecutiveFailures { .. });
        let window = |back: u8| {
            let gen = word.gen.wrapping_sub(back as u32) & GEN_MASK;
            (
                inner.window.counts(gen, window_now),
                inner.thresholds.min_calls,
                rates,
            )
        };
        let probes = |p: crate::breaker::state::Probes| {
            (
                Counts {
                    calls: p.done as u32,
                    failed: p.failed as u32,
                    slow: p.slow as u32,
                },
                inner.probe_thresholds.min_calls,
                true,
            )
        };
        let (counts, min_calls, rates) = match word.state {
            State::Closed | State::MetricsOnly => window(0),
            State::HalfOpen => probes(word.probes),
            State::Open => match word.carried() {
                Carried::Window { back } => window(back),
                Carried::Probes(p) => probes(p),
                Carried::Nothing => (Counts::default(), 1, false),
            },
            State::Disabled | State::ForcedOpen => (Counts::default(), 1, false),
        };
        Metrics::new(
            word.state,
            word.gen,
            counts,
            rates && counts.calls >= min_calls && counts.calls > 0,
            inner.refused.in_state(word),
            inner.refused.lifetime(),
        )
    }
}
