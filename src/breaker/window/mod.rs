//! The closed-state windows that decide when to trip.
//!
//! Each window records outcomes of calls admitted in a given closed (or
//! metrics-only) generation. A window starts afresh lazily: the first record
//! of a newer generation resets it, and records of an older one are dropped,
//! so the transition itself never has to touch the window and a late call
//! never counts in a later generation.

mod consecutive;
mod count;
mod time;

pub(crate) use consecutive::Consecutive;
pub(crate) use count::CountWindow;
pub(crate) use time::TimeWindow;

use super::config::{Config, Policy};

/// How many generations back a state can show a window: OPEN shows the
/// window it came from, through at most this many manual OPEN → OPEN
/// transitions. An older window is never read again, and is retired.
pub(crate) const CARRIED_MAX: u32 = u8::MAX as u32;

/// What a window holds, as the breaker evaluates and reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u32,
    pub(crate) failed: u32,
    pub(crate) slow: u32,
}

/// A percentage as resilience4j computes it (single precision).
pub(crate) fn rate(part: u32, calls: u32) -> f32 {
    part as f32 * 100.0 / calls as f32
}

/// The rate thresholds of a window, and the minimum calls below which its
/// rates are undefined.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thresholds {
    pub(crate) failure_rate: f32,
    pub(crate) slow_rate: f32,
    pub(crate) min_calls: u32,
}

impl Thresholds {
    /// resilience4j's verdict: trip when a rate is at or above its
    /// threshold, once the window holds the minimum number of calls.
    pub(crate) fn trips(&self, c: Counts) -> bool {
        c.calls >= self.min_calls
            && c.calls > 0
            && (rate(c.failed, c.calls) >= self.failure_rate
                || rate(c.slow, c.calls) >= self.slow_rate)
    }
}

/// The window a policy asks for.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
    Consecutive(Consecutive),
}

impl Window {
    pub(crate) fn new(config: &Config) -> (Window, Thresholds) {
        let s = &config.0;
        let mut thresholds = Thresholds {
            failure_rate: s.failure_rate_threshold,
            slow_rate: s.slow_call_rate_threshold,
            min_calls: s.minimum_number_of_calls,
        };
        let window = match s.policy {
            Policy::CountWindow { size } => {
                // As in resilience4j, a count window never waits for more
                // calls than it can hold.
                thresholds.min_calls = thresholds.min_calls.min(size);
                Window::Count(CountWindow::new(size))
            }
            Policy::TimeWindow { seconds } => {
                Window::Time(TimeWindow::new(seconds, thresholds.min_calls))
            }
            Policy::ConsecutiveFailures { threshold } => {
                Window::Consecutive(Consecutive::new(threshold))
            }
        };
        (window, thresholds)
    }

    /// Whether recording a success (not slow) of generation `gen` would
    /// change nothing: a full count window holding no failure and no slow
    /// call, or a consecutive run at zero. One load, no write: the healthy
    /// path. A time window always counts the call.
    #[inline]
    pub(crate) fn success_is_noop(&self, gen: u32) -> bool {
        match self {
            Window::Count(w) => w.success_is_noop(gen),
            Window::Consecutive(w) => w.success_is_noop(),
            Window::Time(_) => false,
        }
    }

    /// Whether recording needs the current time.
    pub(crate) fn needs_time(&self) -> bool {
        matches!(self, Window::Time(_))
    }

    /// Records one outcome of a call admitted in generation `gen`;
    /// `is_current` tells whether `gen` is still the breaker's generation.
    /// Returns `Some(trip)` when the record was taken and asked for an
    /// evaluation, `None` when nothing observable changed or the record was
    /// stale.
    #[inline]
    pub(crate) fn record(
        &self,
        thresholds: &Thresholds,
        gen: u32,
        now_nanos: u64,
        (failed, slow): (bool, bool),
        is_current: impl Fn() -> bool,
    ) -> Option<bool> {
        match self {
            Window::Count(w) => w
                .record(gen, failed, slow, is_current)
                .map(|c| thresholds.trips(c)),
            Window::Time(w) => w
                .record(gen, now_nanos, failed, slow, is_current)
                .map(|c| thresholds.trips(c)),
            Window::Consecutive(w) => w.record(gen, failed, is_current),
        }
    }

    /// Called after every transition, into generation `gen`: empties what
    /// no state can show any more, so that a window's tag never comes round
    /// to a later generation however many transitions the breaker makes.
    pub(crate) fn retire(&self, gen: u32) {
        match self {
            Window::Count(w) => w.retire(gen),
            Window::Time(w) => w.retire(gen),
            // Compares all 32 bits of the generation (which has 29).
            Window::Consecutive(_) => {}
        }
    }

    /// What the window holds for generation `gen` (zero if it holds an
    /// older one), and for a consecutive policy the current run length.
    pub(crate) fn counts(&self, gen: u32, now_nanos: u64) -> Counts {
        match self {
            Window::Count(w) => w.counts(gen),
            Window::Time(w) => w.counts(gen, now_nanos),
            Window::Consecutive(w) => w.counts(gen),
        }
    }
}
