//! A snapshot of what the breaker decides on.

use super::window::{rate, Counts};
use super::State;

/// A breaker's state and counts at one moment, from
/// [`CircuitBreaker::metrics`](super::CircuitBreaker::metrics).
///
/// Rates are `None` while they are undefined: fewer calls than the minimum
/// (in HALF_OPEN: than the permitted probes), or a consecutive-failures
/// policy, which has no rates; its `failed_calls` is the current run.
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// use seawall::classify::Outcome;
/// let breaker = CircuitBreaker::builder().count_window(10).minimum_number_of_calls(2).build()?;
/// breaker.try_acquire()?.record(Outcome::Success);
/// breaker.try_acquire()?.record(Outcome::Failure);
/// let m = breaker.metrics();
/// assert_eq!(m.state(), State::Open);
/// assert_eq!((m.calls(), m.failed_calls()), (2, 1));
/// assert_eq!(m.failure_rate(), Some(50.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    state: State,
    generation: u32,
    counts: Counts,
    rates_defined: bool,
    not_permitted: u64,
    lifetime_not_permitted: u64,
}

impl Metrics {
    pub(crate) fn new(
        state: State,
        generation: u32,
        counts: Counts,
        rates_defined: bool,
        not_permitted: u64,
        lifetime_not_permitted: u64,
    ) -> Self {
        Self {
            state,
            generation,
            counts,
            rates_defined,
            not_permitted,
            lifetime_not_permitted,
        }
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The generation: one more with every transition.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Calls in the window.
    pub fn calls(&self) -> u32 {
        self.counts.calls
    }

    /// Failed calls in the window (failures and overloads).
    pub fn failed_calls(&self) -> u32 {
        self.counts.failed
    }

    /// Successful calls in the window (slow ones included).
    pub fn successful_calls(&self) -> u32 {
        self.counts.calls.saturating_sub(self.counts.failed)
    }

    /// Slow calls in the window, failed or not.
    pub fn slow_calls(&self) -> u32 {
        self.counts.slow
    }

    /// Calls refused in the current state, as resilience4j's
    /// `numberOfNotPermittedCalls`: 0 in every new state, except that OPEN
    /// continues the count of the state it came from (the refusals of a
    /// failed probe phase, or of the OPEN before a manual OPEN → OPEN), as
    /// resilience4j's OPEN keeps its predecessor's metrics.
    pub fn not_permitted_calls(&self) -> u64 {
        self.not_permitted
    }

    /// Calls refused since the breaker was built, in every state; never
    /// cleared, not even by [`reset`](super::CircuitBreaker::reset), so it
    /// suits a monotonic counter metric.
    pub fn lifetime_not_permitted_calls(&self) -> u64 {
        self.lifetime_not_permitted
    }

    /// Failed calls as a percentage of calls, when defined.
    pub fn failure_rate(&self) -> Option<f32> {
        self.rates_defined
            .then(|| rate(self.counts.failed, self.counts.calls))
    }

    /// Slow calls as a percentage of calls, when defined.
    pub fn slow_call_rate(&self) -> Option<f32> {
        self.rates_defined
            .then(|| rate(self.counts.slow, self.counts.calls))
    }
}
