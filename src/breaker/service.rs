use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{BoxError, Service};

use super::core::RawPermit;
use super::future::ResponseFuture;
use super::CircuitBreaker;
use crate::classify::{Classify, DefaultClassifier};
use crate::sync::{stripe_hint, CachePadded};

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
pub struct Breaker<S, C = DefaultClassifier> {
    inner: S,
    handles: Handles,
    classifier: C,
}

impl<S> Breaker<S> {
    /// Guards `inner` with `breaker`.
    pub fn new(inner: S, breaker: CircuitBreaker) -> Self {
        Self::from_parts(inner, Handles::new(breaker), DefaultClassifier)
    }

    /// Guards `inner` with a breaker that lives for the rest of the process
    /// (see [`BreakerLayer::from_static`](super::BreakerLayer::from_static)).
    pub fn from_static(inner: S, breaker: &'static CircuitBreaker) -> Self {
        Self::from_parts(inner, Handles::Static(breaker), DefaultClassifier)
    }
}

impl<S, C> Breaker<S, C> {
    pub(crate) fn from_parts(inner: S, handles: Handles, classifier: C) -> Self {
        Self {
            inner,
            handles,
            classifier,
        }
    }

    /// Classifies results with `classifier` instead.
    pub fn with_classifier<C2>(self, classifier: C2) -> Breaker<S, C2> {
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

impl<S, C, Req> Service<Req> for Breaker<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C>;

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
                let permit = OwnedPermit {
                    handle: self.handles.local(),
                    raw: Some(raw),
                };
                ResponseFuture::called(self.inner.call(req), permit, self.classifier.clone())
            }
            Err(open) => ResponseFuture::rejected(open),
        }
    }
}

/// How the services and their response futures reach the breaker.
///
/// Every response future must keep the breaker alive, and cloning one `Arc`
/// per call would make every call write its reference count: the one cache
/// line all callers share. So the service holds several `Arc`s to the same
/// breaker, each its own allocation on its own cache line, and a call clones
/// the one of its thread's stripe. A breaker that lives for the whole
/// process can be given as `&'static`, and then a call touches no reference
/// count at all.
#[derive(Debug, Clone)]
pub(crate) enum Handles {
    Striped(Arc<[Arc<CachePadded<CircuitBreaker>>]>),
    Static(&'static CircuitBreaker),
}

impl Handles {
    pub(crate) fn new(breaker: CircuitBreaker) -> Self {
        let stripes = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .next_power_of_two()
            .min(64);
        Handles::Striped(
            (0..stripes)
                .map(|_| Arc::new(CachePadded(breaker.clone())))
                .collect(),
        )
    }

    #[inline]
    fn local(&self) -> Handle {
        match self {
            Handles::Striped(stripes) => {
                Handle::Shared(stripes[stripe_hint() & (stripes.len() - 1)].clone())
            }
            Handles::Static(breaker) => Handle::Static(breaker),
        }
    }

    #[inline]
    pub(crate) fn breaker(&self) -> &CircuitBreaker {
        match self {
            Handles::Striped(stripes) => &stripes[0],
            Handles::Static(breaker) => breaker,
        }
    }
}

/// One call's way to its breaker.
#[derive(Debug)]
enum Handle {
    Shared(Arc<CachePadded<CircuitBreaker>>),
    Static(&'static CircuitBreaker),
}

impl std::ops::Deref for Handle {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        match self {
            Handle::Shared(shared) => shared,
            Handle::Static(breaker) => breaker,
        }
    }
}

/// A permit that owns a handle to its breaker; dropped unrecorded, it gives
/// a half-open probe slot back.
#[derive(Debug)]
pub(crate) struct OwnedPermit {
    handle: Handle,
    raw: Option<RawPermit>,
}

impl OwnedPermit {
    #[inline]
    pub(crate) fn record<C, Res, E>(&mut self, classifier: &C, result: Result<&Res, &E>)
    where
        C: Classify<Res, E>,
    {
        if let Some(raw) = self.raw.take() {
            self.handle.record_raw(raw, classifier.classify(result));
        }
    }
}

impl Drop for OwnedPermit {
    #[inline]
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            self.handle.release_raw(raw);
        }
    }
}
