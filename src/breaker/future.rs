//! The breaker's response future.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower::BoxError;

use super::handle::SharedCall;
use super::service::CallPermit;
use super::{CircuitBreaker, Open};
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
        H: Deref<Target = CircuitBreaker>,
    {
        #[pin]
        kind: Kind<F, C, H>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, C, H>
    where
        H: Deref<Target = CircuitBreaker>,
    {
        Called {
            #[pin]
            future: F,
            permit: CallPermit<H>,
            classifier: C,
        },
        Rejected {
            // Taken when polled: a refusal is boxed once, never cloned.
            error: Option<Open>,
        },
    }
}

impl<F, C, H: Deref<Target = CircuitBreaker>> ResponseFuture<F, C, H> {
    #[inline]
    pub(crate) fn called(future: F, permit: CallPermit<H>, classifier: C) -> Self {
        Self {
            kind: Kind::Called {
                future,
                permit,
                classifier,
            },
        }
    }

    pub(crate) fn rejected(error: Open) -> Self {
        Self {
            kind: Kind::Rejected { error: Some(error) },
        }
    }
}

impl<F, C, H, T, E> Future for ResponseFuture<F, C, H>
where
    H: Deref<Target = CircuitBreaker>,
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
                permit.record(classifier, result.as_ref());
                Poll::Ready(result.map_err(Into::into))
            }
            KindProj::Rejected { error } => {
                let error = error
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Err(Box::new(error)))
            }
        }
    }
}

impl<F, C, H: Deref<Target = CircuitBreaker>> fmt::Debug for ResponseFuture<F, C, H> {
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
