//! Snapshots of what the breaker decides on.

use super::CircuitBreaker;
use crate::breaker::config::Policy;
use crate::breaker::metrics::Metrics;
use crate::breaker::state::{State, GEN_MASK};
use crate::breaker::window::Counts;
use crate::sync::Ordering;

impl CircuitBreaker {
    /// A snapshot of the state and the counts the breaker decides on.
    ///
    /// In CLOSED and METRICS_ONLY it shows the window; in HALF_OPEN the
    /// probes of the current phase; in OPEN the window that tripped it (if
    /// it was tripped from CLOSED); in DISABLED and FORCED_OPEN nothing but
    /// the refused calls.
    pub fn metrics(&self) -> Metrics {
        let inner = &*self.inner;
        let word = self.word();
        let now = if inner.window.needs_time() {
            inner.clock.now_nanos()
        } else {
            0
        };
        let rates = !matches!(inner.config.policy(), Policy::ConsecutiveFailures { .. });
        let (counts, min_calls, rates) = match word.state {
            State::Closed | State::MetricsOnly => (
                inner.window.counts(word.gen, now),
                inner.thresholds.min_calls,
                rates,
            ),
            State::Open => (
                inner
                    .window
                    .counts(word.gen.wrapping_sub(1) & GEN_MASK, now),
                inner.thresholds.min_calls,
                rates,
            ),
            State::HalfOpen => (
                Counts {
                    calls: word.probes.done as u32,
                    failed: word.probes.failed as u32,
                    slow: word.probes.slow as u32,
                },
                inner.permitted as u32,
                true,
            ),
            State::Disabled | State::ForcedOpen => (Counts::default(), 1, false),
        };
        Metrics::new(
            word.state,
            word.gen,
            counts,
            rates && counts.calls >= min_calls && counts.calls > 0,
            inner.not_permitted.load(Ordering::Relaxed),
        )
    }
}
