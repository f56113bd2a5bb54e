//! The one notion of a call's outcome that every layer learns from.
//!
//! A layer hands the result of the inner call, by reference, to a
//! [`Classify`] implementation and learns an [`Outcome`] from it. The result
//! itself goes back to the caller untouched. Which latency an outcome carries
//! is the layer's business: the breaker measures a call's duration only when
//! a slow-call threshold asks for it.
//!
//! ```
//! use seawall::classify::{Classify, DefaultClassifier, Outcome};
//!
//! let ok: Result<u32, &str> = Ok(200);
//! assert_eq!(DefaultClassifier.classify(ok.as_ref()), Outcome::Success);
//!
//! // Any `Fn(Result<&Res, &E>) -> Outcome` is a classifier too.
//! let teapot = |r: Result<&u32, &&str>| match r {
//!     Ok(418) => Outcome::Ignored,
//!     Ok(_) => Outcome::Success,
//!     Err(_) => Outcome::Failure,
//! };
//! assert_eq!(teapot.classify(Ok(&418)), Outcome::Ignored);
//! ```

use std::time::Duration;

/// How a finished call counts.
///
/// ```
/// use seawall::classify::Outcome;
/// assert!(Outcome::Overload.is_failure());
/// assert!(!Outcome::Ignored.is_failure());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The call did what was asked.
    Success,
    /// The callee failed (an error, an upstream 5xx).
    Failure,
    /// The callee shed the call or took too long: a timeout, an upstream 503
    /// or 429. A circuit breaker counts it as a failure; a concurrency limit
    /// reads it as a sign of overload.
    Overload,
    /// The call says nothing about the callee's health: it was cancelled, or
    /// the caller was at fault (a 4xx). Nothing is recorded, and a half-open
    /// probe slot it held is given back.
    Ignored,
}

impl Outcome {
    /// Whether a circuit breaker counts this outcome as a failure.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failure | Outcome::Overload)
    }
}

/// One finished call as every layer learns from it: its classified
/// [`Outcome`] and how long it took.
///
/// The breaker judges slow calls from the latency, an adaptive limit feeds it
/// to its algorithm, and the balancer's load estimate learns from it, so a
/// caller that measured a call itself can hand the same sample to each.
///
/// ```
/// use std::time::Duration;
/// use seawall::classify::{Outcome, Sample};
///
/// let sample = Sample::new(Outcome::Success, Duration::from_millis(12));
/// assert_eq!(sample.outcome(), Outcome::Success);
/// assert_eq!(sample.latency(), Duration::from_millis(12));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sample {
    outcome: Outcome,
    latency: Duration,
}

impl Sample {
    /// A call that ended with `outcome` after `latency`.
    pub const fn new(outcome: Outcome, latency: Duration) -> Self {
        Self { outcome, latency }
    }

    /// How the call counts.
    pub const fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// How long the call took, from admission to its result.
    pub const fn latency(&self) -> Duration {
        self.latency
    }
}

/// Decides the [`Outcome`] of a call from its result.
///
/// Implemented for [`DefaultClassifier`], for closures
/// `Fn(Result<&Res, &E>) -> Outcome`, and with feature `http` for
/// `HttpClassifier`.
///
/// ```
/// use seawall::classify::{Classify, Outcome};
///
/// /// Timeouts shed load; other errors are failures.
/// #[derive(Clone)]
/// struct TimeoutsAreOverload;
///
/// impl<T> Classify<T, std::io::Error> for TimeoutsAreOverload {
///     fn classify(&self, result: Result<&T, &std::io::Error>) -> Outcome {
///         match result {
///             Ok(_) => Outcome::Success,
///             Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Outcome::Overload,
///             Err(_) => Outcome::Failure,
///         }
///     }
/// }
///
/// let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
/// assert_eq!(TimeoutsAreOverload.classify(Err::<&(), _>(&timeout)), Outcome::Overload);
/// ```
pub trait Classify<Res, E> {
    /// Classifies one result.
    fn classify(&self, result: Result<&Res, &E>) -> Outcome;
}

impl<F, Res, E> Classify<Res, E> for F
where
    F: Fn(Result<&Res, &E>) -> Outcome,
{
    fn classify(&self, result: Result<&Res, &E>) -> Outcome {
        self(result)
    }
}

/// `Ok` is a success, `Err` a failure.
///
/// It cannot tell a timeout from another error for an arbitrary error type;
/// give a closure (or `HttpClassifier`) where overload must be told apart.
///
/// ```
/// use seawall::classify::{Classify, DefaultClassifier, Outcome};
/// let err: Result<(), &str> = Err("boom");
/// assert_eq!(DefaultClassifier.classify(err.as_ref()), Outcome::Failure);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClassifier;

impl<Res, E> Classify<Res, E> for DefaultClassifier {
    fn classify(&self, result: Result<&Res, &E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

#[cfg(feature = "http")]
mod http_status;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use http_status::HttpClassifier;
