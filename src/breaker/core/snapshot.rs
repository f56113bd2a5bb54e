//! What the breaker shows: its state and counts, with a due half-open
//! timer applied first.

use super::CircuitBreaker;
use crate::breaker::config::Policy;
use crate::breaker::metrics::Metrics;
use crate::breaker::state::{Carried, State, Word, GEN_MASK};
use crate::breaker::window::Counts;
use crate::sync::Ordering;

impl CircuitBreaker {
    /// The state word, after making the move a half-open timer would have
    /// made by now, if one is due. Readers make it rather than pretend it
    /// (returning the OPEN that would follow): once anyone has seen the
    /// phase as OPEN, a probe outcome recorded later must find it OPEN too,
    /// and a record that read the clock before the maximum wait ran out but
    /// lands after such a reader fails its CAS and drops its outcome.
    pub(super) fn settled(&self) -> Word {
        let mut w = self.inner.state.load(Ordering::Acquire);
        loop {
            let word = Word::decode(w);
            if word.state != State::HalfOpen {
                return word;
            }
            match self.half_open_expired(word, self.now()) {
                Some(ran_out) => self.time_out_probes(w, word, ran_out),
                None => {
                    // Not due, or the deadline read belongs to a later
                    // state (ours is stale: someone has reopened it): only
                    // a word that has not changed since can be trusted.
                    let again = self.inner.state.load(Ordering::Acquire);
                    if again == w {
                        return word;
                    }
                    w = again;
                    continue;
                }
            }
            w = self.inner.state.load(Ordering::Acquire);
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
        let word = self.settled();
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
