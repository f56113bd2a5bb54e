use super::{Classify, Outcome};

/// Classifies HTTP responses by status (feature `http`).
///
/// By default: 503 and 429 are [`Outcome::Overload`], any other 5xx is a
/// [`Outcome::Failure`], any other 4xx is [`Outcome::Ignored`] (the caller
/// was at fault, the backend is fine), everything else a
/// [`Outcome::Success`]. A transport error (`Err`) is a failure. Each class
/// can be re-mapped.
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
}

impl Default for HttpClassifier {
    fn default() -> Self {
        Self {
            server_errors: Outcome::Failure,
            overload: Outcome::Overload,
            client_errors: Outcome::Ignored,
            transport_errors: Outcome::Failure,
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

    /// How an `Err` from the inner service counts (default
    /// [`Outcome::Failure`]).
    pub fn transport_errors(mut self, outcome: Outcome) -> Self {
        self.transport_errors = outcome;
        self
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

impl<B, E> Classify<http::Response<B>, E> for HttpClassifier {
    fn classify(&self, result: Result<&http::Response<B>, &E>) -> Outcome {
        match result {
            Ok(res) => self.status(res.status()),
            Err(_) => self.transport_errors,
        }
    }
}
