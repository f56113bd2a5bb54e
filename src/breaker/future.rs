//! The breaker's response future.

use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tower::BoxError;

use super::core::Held;
use super::handle::SharedCall;
use super::{CircuitBreaker, Open, State};
use crate::classify::Classify;

pin_project! {
    /// The response future of [`Breaker`](super::Breaker): the inner call
    /// with its permit, or a refusal. The call's outcome is recorded when it
    /// completes; dropped before that, it records nothing and frees a
    /// half-open probe slot.
    ///
    /// ```
    /// use tower::{service_fn, Service, ServiceExt};
    /// use seawall::breaker::{Breaker, CircuitBreaker};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), seawall::BoxError> {
    /// let breaker = CircuitBreaker::builder().build()?;
    /// let mut service = Breaker::new(service_fn(|x: u8| async move { Ok::<_, std::io::Error>(x) }), breaker);
    /// let future = service.ready().await?.call(7);
    /// assert_eq!(future.await?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub struct ResponseFuture<F, C, H = SharedCall>
    where
        H: Borrow<CircuitBreaker>,
    {
        #[pin]
        kind: Kind<F, C, H>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, C, H>
    where
        H: Borrow<CircuitBreaker>,
    {
        Called {
            #[pin]
            future: F,
            permit: Held<H>,
            classifier: C,
        },
        // The refusal in parts, its error made when polled: with a
        // `&'static` handle nothing here needs dropping, so such a future
        // has no drop glue beyond its permit's (benches/baseline.rs).
        Rejected {
            handle: H,
            state: State,
            retry_after: Option<Duration>,
        },
    }
}

impl<F, C, H: Borrow<CircuitBreaker>> ResponseFuture<F, C, H> {
    #[inline]
    pub(crate) fn called(future: F, permit: Held<H>, classifier: C) -> Self {
        Self {
            kind: Kind::Called {
                future,
                permit,
                classifier,
            },
        }
    }

    pub(crate) fn rejected(handle: H, refusal: Open) -> Self {
        Self {
            kind: Kind::Rejected {
                handle,
                state: refusal.state(),
                retry_after: refusal.retry_after(),
            },
        }
    }
}

impl<F, C, H, T, E> Future for ResponseFuture<F, C, H>
where
    H: Borrow<CircuitBreaker>,
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    C: Classify<T, E>,
{
    type Output = Result<T, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called {
                future,
                permit,
                classifier,
            } => {
                let result = ready!(future.poll(cx));
                // Recorded in place: moving the permit out would copy it
                // through memory on the hot path for nothing.
                permit.record_classified(classifier, result.as_ref());
                Poll::Ready(result.map_err(Into::into))
            }
            KindProj::Rejected {
                handle,
                state,
                retry_after,
            } => Poll::Ready(Err(Box::new(
                Borrow::<CircuitBreaker>::borrow(handle).open_error(*state, *retry_after),
            ))),
        }
    }
}

impl<F, C, H: Borrow<CircuitBreaker>> fmt::Debug for ResponseFuture<F, C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Called { .. } => "called",
            Kind::Rejected { .. } => "rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}
