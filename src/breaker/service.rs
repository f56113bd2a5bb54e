use std::task::{Context, Poll};

use tower::{BoxError, Service};

use super::core::Held;
use super::future::ResponseFuture;
use super::handle::{BreakerRef, Shared};
use super::CircuitBreaker;
use crate::classify::{Classify, DefaultClassifier};

/// A service guarded by a circuit breaker. Clones share the breaker.
///
/// A refused call fails its response future with [`Open`](super::Open)
/// (boxed); `poll_ready` only reports the inner service's readiness, so an
/// open breaker never makes the service look dead to tower. The permit
/// travels in the response future: dropping the future, or a panic in the
/// inner service, gives a half-open probe slot back.
///
/// ```
/// use tower::{service_fn, Service, ServiceExt};
/// use seawall::breaker::{Breaker, CircuitBreaker, Open, State};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let breaker = CircuitBreaker::builder().build()?;
/// let mut service = Breaker::new(
///     service_fn(|_: ()| async { Ok::<_, std::io::Error>("pong") }),
///     breaker.clone(),
/// );
/// assert_eq!(service.ready().await?.call(()).await?, "pong");
///
/// breaker.transition_to(State::ForcedOpen)?;
/// let err = service.ready().await?.call(()).await.unwrap_err();
/// assert_eq!(err.downcast_ref::<Open>().map(Open::state), Some(State::ForcedOpen));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Breaker<S, C = DefaultClassifier, B = Shared> {
    inner: S,
    handles: B,
    classifier: C,
}

impl<S> Breaker<S> {
    /// Guards `inner` with `breaker`, classifying `Ok` as success and `Err`
    /// as failure (an HTTP service wants [`Breaker::http`]).
    pub fn new(inner: S, breaker: CircuitBreaker) -> Self {
        Self::from_parts(inner, Shared::new(breaker), DefaultClassifier)
    }
}

impl<S> Breaker<S, DefaultClassifier, &'static CircuitBreaker> {
    /// Guards `inner` with a breaker that lives for the rest of the process
    /// (see [`BreakerLayer::from_static`](super::BreakerLayer::from_static)).
    pub fn from_static(inner: S, breaker: &'static CircuitBreaker) -> Self {
        Self::from_parts(inner, breaker, DefaultClassifier)
    }
}

impl<S, C, B: BreakerRef> Breaker<S, C, B> {
    pub(crate) fn from_parts(inner: S, handles: B, classifier: C) -> Self {
        Self {
            inner,
            handles,
            classifier,
        }
    }

    /// Classifies results with `classifier` instead.
    pub fn with_classifier<C2>(self, classifier: C2) -> Breaker<S, C2, B> {
        Breaker::from_parts(self.inner, self.handles, classifier)
    }

    /// The breaker.
    pub fn breaker(&self) -> &CircuitBreaker {
        self.handles.breaker()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, B, Req> Service<Req> for Breaker<S, C, B>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
    B: BreakerRef,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C, B::Call>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    // Inlined: the healthy path is a handful of instructions, less than the
    // calls that would surround it (benches/breaker.rs).
    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        match self.handles.breaker().acquire_raw() {
            Ok(raw) => {
                // The permit exists before the inner call, so a panic inside
                // it drops the permit and frees the slot.
                let permit = Held::new(self.handles.for_call(), raw);
                ResponseFuture::called(self.inner.call(req), permit, self.classifier.clone())
            }
            Err(open) => ResponseFuture::rejected(self.handles.for_call(), open),
        }
    }
}

#[cfg(feature = "http")]
impl<S> Breaker<S, crate::classify::HttpClassifier> {
    /// Guards an HTTP service: 5xx responses and timeouts count against
    /// the backend (see [`BreakerLayer::http`](super::BreakerLayer::http)).
    pub fn http(inner: S, breaker: CircuitBreaker) -> Self {
        Breaker::new(inner, breaker).with_classifier(crate::classify::HttpClassifier::new())
    }
}
