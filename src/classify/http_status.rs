use std::any::Any;

use super::{Classify, Outcome};
use crate::BoxError;

/// Classifies HTTP responses by status (feature `http`, on by default).
///
/// By default: 503 and 429 are [`Outcome::Overload`], any other 5xx is a
/// [`Outcome::Failure`], any other 4xx is [`Outcome::Ignored`] (the caller
/// was at fault, the backend is fine), everything else a
/// [`Outcome::Success`]. An `Err` that is a timeout (tower's
/// `timeout::error::Elapsed`, or an `io::Error` of kind `TimedOut`, alone or
/// anywhere in a `BoxError`'s sources) is [`Outcome::Overload`]; any other
/// `Err` a failure. Each class can be re-mapped.
///
/// [`BreakerLayer::http`](crate::breaker::BreakerLayer::http) puts it in
/// front of an HTTP service.
///
/// ```
/// use http::{Response, StatusCode};
/// use seawall::classify::{Classify, HttpClassifier, Outcome};
///
/// let classify = HttpClassifier::new().client_errors(Outcome::Failure);
/// let res = Response::builder().status(StatusCode::NOT_FOUND).body(()).unwrap();
/// let result: Result<&Response<()>, &std::io::Error> = Ok(&res);
/// assert_eq!(classify.classify(result), Outcome::Failure);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HttpClassifier {
    server_errors: Outcome,
    overload: Outcome,
    client_errors: Outcome,
    transport_errors: Outcome,
    timeouts: Outcome,
}

impl Default for HttpClassifier {
    fn default() -> Self {
        Self {
            server_errors: Outcome::Failure,
            overload: Outcome::Overload,
            client_errors: Outcome::Ignored,
            transport_errors: Outcome::Failure,
            timeouts: Outcome::Overload,
        }
    }
}

impl HttpClassifier {
    /// The default mapping described above.
    pub fn new() -> Self {
        Self::default()
    }

    /// How 5xx other than 503 count (default [`Outcome::Failure`]).
    pub fn server_errors(mut self, outcome: Outcome) -> Self {
        self.server_errors = outcome;
        self
    }

    /// How 503 and 429 count (default [`Outcome::Overload`]).
    pub fn overload(mut self, outcome: Outcome) -> Self {
        self.overload = outcome;
        self
    }

    /// How 4xx other than 429 count (default [`Outcome::Ignored`]).
    pub fn client_errors(mut self, outcome: Outcome) -> Self {
        self.client_errors = outcome;
        self
    }

    /// How an `Err` from the inner service that is not a timeout counts
    /// (default [`Outcome::Failure`]).
    pub fn transport_errors(mut self, outcome: Outcome) -> Self {
        self.transport_errors = outcome;
        self
    }

    /// How an `Err` that is a timeout counts (default
    /// [`Outcome::Overload`]).
    pub fn timeouts(mut self, outcome: Outcome) -> Self {
        self.timeouts = outcome;
        self
    }

    /// Classifies an error of the inner service.
    pub fn error<E: 'static>(&self, error: &E) -> Outcome {
        if is_timeout(error) {
            self.timeouts
        } else {
            self.transport_errors
        }
    }

    /// Classifies a bare status code.
    pub fn status(&self, status: http::StatusCode) -> Outcome {
        use http::StatusCode;
        match status {
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => self.overload,
            s if s.is_server_error() => self.server_errors,
            s if s.is_client_error() => self.client_errors,
            _ => Outcome::Success,
        }
    }
}

impl<B, E: 'static> Classify<http::Response<B>, E> for HttpClassifier {
    fn classify(&self, result: Result<&http::Response<B>, &E>) -> Outcome {
        match result {
            Ok(res) => self.status(res.status()),
            Err(e) => self.error(e),
        }
    }
}

/// Whether an error of any type is a timeout. The error types a tower stack
/// produces are few: the concrete `Elapsed` or `io::Error`, or a `BoxError`
/// that may wrap either.
fn is_timeout<E: 'static>(error: &E) -> bool {
    let any: &dyn Any = error;
    if let Some(boxed) = any.downcast_ref::<BoxError>() {
        return crate::error::sources(&**boxed).any(|e| {
            e.is::<tower::timeout::error::Elapsed>()
                || e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        });
    }
    any.is::<tower::timeout::error::Elapsed>()
        || any
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
}
