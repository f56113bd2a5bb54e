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
    /// A bulkhead was full and the call could not wait.
    #[cfg(feature = "bulkhead")]
    BulkheadFull(&'a crate::bulkhead::Full),
    /// A call waited for a bulkhead's permit for the longest wait allowed.
    #[cfg(feature = "bulkhead")]
    BulkheadWaitTimedOut(&'a crate::bulkhead::WaitTimedOut),
    /// An adaptive concurrency limit shed the call.
    #[cfg(feature = "limit")]
    LimitOverloaded(&'a crate::limit::Overloaded),
    /// A balancer had no usable endpoint.
    #[cfg(feature = "balance")]
    BalanceUnavailable(&'a crate::balance::Unavailable),
    /// Keeps the lifetime in use whatever features are enabled.
    #[doc(hidden)]
    _Never(std::marker::PhantomData<&'a ()>, std::convert::Infallible),
}

impl Rejection<'_> {
    /// When the refusing layer expects to admit calls again, where it
    /// knows: for an HTTP answer's `Retry-After`.
    /// Only a breaker knows (the rest of its wait in OPEN); a full bulkhead
    /// or limit frees up as calls complete, which no layer can foresee.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match *self {
            #[cfg(feature = "breaker")]
            Rejection::BreakerOpen(open) => open.retry_after(),
            _ => None,
        }
    }

    /// The refusal itself, as an error.
    pub fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        match *self {
            #[cfg(feature = "breaker")]
            Rejection::BreakerOpen(r) => r,
            #[cfg(feature = "bulkhead")]
            Rejection::BulkheadFull(r) => r,
            #[cfg(feature = "bulkhead")]
            Rejection::BulkheadWaitTimedOut(r) => r,
            #[cfg(feature = "limit")]
            Rejection::LimitOverloaded(r) => r,
            #[cfg(feature = "balance")]
            Rejection::BalanceUnavailable(r) => r,
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
        if let Some(r) = e.downcast_ref() {
            return Some(Rejection::BreakerOpen(r));
        }
        #[cfg(feature = "bulkhead")]
        if let Some(r) = e.downcast_ref() {
            return Some(Rejection::BulkheadFull(r));
        }
        #[cfg(feature = "bulkhead")]
        if let Some(r) = e.downcast_ref() {
            return Some(Rejection::BulkheadWaitTimedOut(r));
        }
        #[cfg(feature = "limit")]
        if let Some(r) = e.downcast_ref() {
            return Some(Rejection::LimitOverloaded(r));
        }
        #[cfg(feature = "balance")]
        if let Some(r) = e.downcast_ref() {
            return Some(Rejection::BalanceUnavailable(r));
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
