//! Errors of the circuit breaker.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use super::State;

/// A call refused by the breaker (OPEN, FORCED_OPEN, or HALF_OPEN with every
/// probe slot taken). Through the tower layer it arrives as a `BoxError` that
/// downcasts to this type; the inner service was not called.
///
/// Its message names the breaker and the state, as resilience4j's
/// `CallNotPermittedException` does. It holds the breaker's name as a shared
/// `Arc<str>`, so a refusal allocates nothing but the box tower's error type
/// asks for. [`Open::find`] (or [`seawall::rejection`](crate::rejection))
/// finds it behind layers that wrapped it.
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// let breaker = CircuitBreaker::builder().name("backend-a").build()?;
/// breaker.transition_to(State::ForcedOpen)?;
/// let open = breaker.try_acquire().unwrap_err();
/// assert_eq!(open.state(), State::ForcedOpen);
/// assert_eq!(open.name(), "backend-a");
/// assert_eq!(
///     open.to_string(),
///     "circuit breaker 'backend-a' is FORCED_OPEN and does not permit further calls"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    name: Arc<str>,
    state: State,
    retry_after: Option<Duration>,
}

impl Open {
    pub(crate) fn new(name: Arc<str>, state: State, retry_after: Option<Duration>) -> Self {
        Self {
            name,
            state,
            retry_after,
        }
    }

    /// The name of the breaker that refused the call.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state that refused the call.
    pub fn state(&self) -> State {
        self.state
    }

    /// How long until the breaker admits a probe, where known (OPEN only).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Finds a refusal of a breaker in `error` or anywhere in its chain of
    /// sources, so that an outer layer wrapping it does not hide it.
    ///
    /// ```
    /// use seawall::breaker::{CircuitBreaker, Open, State};
    /// use seawall::BoxError;
    ///
    /// #[derive(Debug)]
    /// struct Wrapped(BoxError);
    /// impl std::fmt::Display for Wrapped {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    ///         f.write_str("request failed")
    ///     }
    /// }
    /// impl std::error::Error for Wrapped {
    ///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
    ///         Some(&*self.0)
    ///     }
    /// }
    ///
    /// let breaker = CircuitBreaker::builder().name("db").build()?;
    /// breaker.transition_to(State::ForcedOpen)?;
    /// let err: BoxError = Box::new(Wrapped(Box::new(breaker.try_acquire().unwrap_err())));
    /// assert_eq!(Open::find(&*err).map(Open::name), Some("db"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Open> {
        crate::error::sources(error).find_map(|e| e.downcast_ref::<Open>())
    }
}

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // resilience4j's wording, lowercased as this crate's messages are
        // (but for the state, written as resilience4j's enum constant).
        write!(f, "circuit breaker '{}' is ", self.name)?;
        for c in self.state.as_str().chars() {
            f.write_char(c.to_ascii_uppercase())?;
        }
        f.write_str(" and does not permit further calls")
    }
}

impl std::error::Error for Open {}

/// The error of [`CircuitBreaker::call`](super::CircuitBreaker::call): the
/// breaker refused the call, or the call itself failed.
///
/// Two cases and no more, so it is matched exhaustively. It is transparent:
/// its message and source are those of the case it holds.
///
/// ```
/// use seawall::breaker::{CallError, CircuitBreaker};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), seawall::ConfigError> {
/// let breaker = CircuitBreaker::builder().build()?;
/// let result = breaker.call(async { Err::<(), _>("boom") }).await;
/// assert!(matches!(result, Err(CallError::Inner("boom"))));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError<E> {
    /// The breaker refused the call; the future was not polled.
    Open(Open),
    /// The call ran and returned this error (it was recorded as the
    /// classifier decided).
    Inner(E),
}

impl<E> CallError<E> {
    /// The refusal, if the breaker refused.
    pub fn as_open(&self) -> Option<&Open> {
        match self {
            CallError::Open(open) => Some(open),
            CallError::Inner(_) => None,
        }
    }

    /// The call's own error, if it ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Open(_) => None,
            CallError::Inner(e) => Some(e),
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Open(open) => open.fmt(f),
            CallError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Open(open) => open.source(),
            CallError::Inner(e) => e.source(),
        }
    }
}

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
