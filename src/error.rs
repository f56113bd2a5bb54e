//! The error every builder returns for a configuration it cannot accept.

use std::fmt;

/// A configuration value outside its accepted range. It names the field (as
/// in the builder method and the serde key) and the range.
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// let err = CircuitBreaker::builder().failure_rate_threshold(0.0).build().unwrap_err();
/// assert_eq!(err.field(), "failure_rate_threshold");
/// assert_eq!(err.to_string(), "invalid failure_rate_threshold: 0, expected a percentage in (0, 100]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    value: String,
    expected: &'static str,
}

impl ConfigError {
    pub(crate) fn new(
        field: &'static str,
        value: impl fmt::Display,
        expected: &'static str,
    ) -> Self {
        Self {
            field,
            value: value.to_string(),
            expected,
        }
    }

    /// The field that was refused.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The refused value, as text.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What the field accepts.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}: {}, expected {}",
            self.field, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// A call that a seawall layer refused, found by [`rejection`]. One variant
/// per kind of refusal; more come as layers are added, so match with a
/// wildcard arm.
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// use seawall::{rejection, BoxError, Rejection};
///
/// let breaker = CircuitBreaker::builder().name("db").build()?;
/// breaker.transition_to(State::ForcedOpen)?;
/// let err: BoxError = Box::new(breaker.try_acquire().unwrap_err());
/// match rejection(&*err) {
///     Some(Rejection::BreakerOpen(open)) => assert_eq!(open.name(), "db"),
///     other => panic!("expected a refusal, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection<'a> {
    /// A circuit breaker refused the call.
    #[cfg(feature = "breaker")]
    BreakerOpen(&'a crate::breaker::Open),
    /// Keeps the lifetime in use when no capability is enabled.
    #[cfg(not(feature = "breaker"))]
    #[doc(hidden)]
    _Never(std::marker::PhantomData<&'a ()>, std::convert::Infallible),
}

impl Rejection<'_> {
    /// When the refusing layer expects to admit calls again, where it
    /// knows: for an HTTP answer's `Retry-After`.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match *self {
            #[cfg(feature = "breaker")]
            Rejection::BreakerOpen(open) => open.retry_after(),
            #[cfg(not(feature = "breaker"))]
            Rejection::_Never(_, never) => match never {},
        }
    }

    /// The refusal itself, as an error.
    pub fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        match *self {
            #[cfg(feature = "breaker")]
            Rejection::BreakerOpen(open) => open,
            #[cfg(not(feature = "breaker"))]
            Rejection::_Never(_, never) => match never {},
        }
    }
}

impl fmt::Display for Rejection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_error(), f)
    }
}

/// Finds a seawall refusal in `error` or anywhere in its chain of sources:
/// an outer layer (a retry, a timeout, an application error type) may have
/// wrapped it. `None` when the call was not refused by seawall.
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// use seawall::{rejection, BoxError};
///
/// let breaker = CircuitBreaker::builder().build()?;
/// let io: BoxError = Box::new(std::io::Error::other("reset by peer"));
/// assert!(rejection(&*io).is_none());
/// breaker.transition_to(State::Open)?;
/// let open: BoxError = Box::new(breaker.try_acquire().unwrap_err());
/// assert!(rejection(&*open).and_then(|r| r.retry_after()).is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rejection<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<Rejection<'a>> {
    sources(error).find_map(|e| {
        #[cfg(feature = "breaker")]
        if let Some(open) = e.downcast_ref::<crate::breaker::Open>() {
            return Some(Rejection::BreakerOpen(open));
        }
        let _ = e;
        None
    })
}

/// `error`, then its sources, outermost first.
pub(crate) fn sources<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}
