use tower::Layer;

use super::handle::{BreakerRef, Shared};
use super::{Breaker, CircuitBreaker};
use crate::classify::DefaultClassifier;

/// Wraps services in a [`Breaker`] sharing one [`CircuitBreaker`].
///
/// ```
/// use tower::{service_fn, ServiceBuilder};
/// use seawall::breaker::{BreakerLayer, CircuitBreaker};
///
/// let breaker = CircuitBreaker::builder().consecutive_failures(5).build()?;
/// let service = ServiceBuilder::new()
///     .layer(BreakerLayer::new(breaker.clone()))
///     .service(service_fn(|req: u32| async move { Ok::<_, std::io::Error>(req) }));
/// # drop(service);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BreakerLayer<C = DefaultClassifier, B = Shared> {
    handles: B,
    classifier: C,
}

impl BreakerLayer {
    /// A layer over `breaker`, classifying `Ok` as success and `Err` as
    /// failure. In front of an HTTP service use
    /// [`http`](BreakerLayer::http) instead, so that 5xx answers count.
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self {
            handles: Shared::new(breaker),
            classifier: DefaultClassifier,
        }
    }
}

impl BreakerLayer<DefaultClassifier, &'static CircuitBreaker> {
    /// A layer over a breaker that lives for the rest of the process, such
    /// as one made with `Box::leak` or kept in a `static`. Its calls then
    /// hold a plain reference instead of a thread's spare handle, which
    /// saves about 4 ns per call (see `benches/breaker.rs`); use it for
    /// breakers made once at start-up, not for ones created per endpoint as
    /// endpoints come and go.
    ///
    /// ```
    /// use tower::{service_fn, ServiceBuilder};
    /// use seawall::breaker::{BreakerLayer, CircuitBreaker};
    ///
    /// let breaker: &'static CircuitBreaker =
    ///     Box::leak(Box::new(CircuitBreaker::builder().name("db").build()?));
    /// let service = ServiceBuilder::new()
    ///     .layer(BreakerLayer::from_static(breaker))
    ///     .service(service_fn(|req: u32| async move { Ok::<_, std::io::Error>(req) }));
    /// # drop(service);
    /// # Ok::<(), seawall::ConfigError>(())
    /// ```
    pub fn from_static(breaker: &'static CircuitBreaker) -> Self {
        Self {
            handles: breaker,
            classifier: DefaultClassifier,
        }
    }
}

impl<C, B: BreakerRef> BreakerLayer<C, B> {
    /// Classifies results with `classifier` instead.
    pub fn classifier<C2>(self, classifier: C2) -> BreakerLayer<C2, B> {
        BreakerLayer {
            handles: self.handles,
            classifier,
        }
    }

    /// The breaker the services share.
    pub fn breaker(&self) -> &CircuitBreaker {
        self.handles.breaker()
    }
}

impl<S, C: Clone, B: BreakerRef> Layer<S> for BreakerLayer<C, B> {
    type Service = Breaker<S, C, B>;

    fn layer(&self, inner: S) -> Self::Service {
        Breaker::from_parts(inner, self.handles.clone(), self.classifier.clone())
    }
}

#[cfg(feature = "http")]
impl BreakerLayer<crate::classify::HttpClassifier> {
    /// A layer over `breaker` for an HTTP service (feature `http`, on by
    /// default): a response with a 5xx status counts as a failure (503 and
    /// 429 as overload), a timeout as overload, a 4xx is ignored; see
    /// [`HttpClassifier`](crate::classify::HttpClassifier). With
    /// [`new`](BreakerLayer::new) only an `Err` would count, and an HTTP
    /// service answers `Ok(500)`.
    ///
    /// ```
    /// use http::{Response, StatusCode};
    /// use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
    /// use seawall::breaker::{BreakerLayer, CircuitBreaker, State};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), seawall::BoxError> {
    /// let breaker = CircuitBreaker::builder().name("users-api").consecutive_failures(3).build()?;
    /// let mut service = ServiceBuilder::new()
    ///     .layer(BreakerLayer::http(breaker.clone()))
    ///     .service(service_fn(|_req: http::Request<()>| async {
    ///         Ok::<_, std::io::Error>(Response::builder().status(500).body(()).unwrap())
    ///     }));
    /// for _ in 0..3 {
    ///     let res = service.ready().await?.call(http::Request::new(())).await?;
    ///     assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    /// }
    /// assert_eq!(breaker.state(), State::Open);
    /// # Ok(())
    /// # }
    /// ```
    pub fn http(breaker: CircuitBreaker) -> Self {
        BreakerLayer::new(breaker).classifier(crate::classify::HttpClassifier::new())
    }
}
