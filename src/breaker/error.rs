//! Errors of the circuit breaker.

use std::fmt;
use std::time::Duration;

use super::State;

/// A call refused by the breaker (OPEN, FORCED_OPEN, or HALF_OPEN with every
/// probe slot taken). Through the tower layer it arrives as a `BoxError` that
/// downcasts to this type; the inner service was not called.
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// let breaker = CircuitBreaker::builder().build()?;
/// breaker.transition_to(State::ForcedOpen)?;
/// let open = breaker.try_acquire().unwrap_err();
/// assert_eq!(open.state(), State::ForcedOpen);
/// assert_eq!(open.to_string(), "circuit breaker is forced open");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    state: State,
    retry_after: Option<Duration>,
}

impl Open {
    pub(crate) fn new(state: State, retry_after: Option<Duration>) -> Self {
        Self { state, retry_after }
    }

    /// The state that refused the call.
    pub fn state(&self) -> State {
        self.state
    }

    /// How long until the breaker admits a probe, where known (OPEN only).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            State::ForcedOpen => "circuit breaker is forced open",
            State::HalfOpen => "circuit breaker is half-open and all probe slots are taken",
            _ => "circuit breaker is open",
        })
    }
}

impl std::error::Error for Open {}

/// A manual transition resilience4j does not allow (CLOSED → HALF_OPEN,
/// METRICS_ONLY → OPEN or HALF_OPEN).
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// let breaker = CircuitBreaker::builder().build()?;
/// let err = breaker.transition_to(State::HalfOpen).unwrap_err();
/// assert_eq!(err.to_string(), "circuit breaker cannot go from closed to half_open");
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError {
    from: State,
    to: State,
}

impl TransitionError {
    pub(crate) fn new(from: State, to: State) -> Self {
        Self { from, to }
    }

    /// The state the breaker was in.
    pub fn from(&self) -> State {
        self.from
    }

    /// The state that was asked for.
    pub fn to(&self) -> State {
        self.to
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit breaker cannot go from {} to {}",
            self.from, self.to
        )
    }
}

impl std::error::Error for TransitionError {}
