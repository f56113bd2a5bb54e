//! The bulkhead's response future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower::BoxError;

use super::service::PermitGuard;

pin_project! {
    /// The response future of [`Bulkhead`](super::Bulkhead): the inner call
    /// holding its permit, or a refusal. The permit is freed when the call
    /// completes or the future is dropped.
    ///
    /// ```
    /// use tower::{service_fn, Service, ServiceExt};
    /// use seawall::bulkhead::{Bulkhead, BulkheadLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), seawall::BoxError> {
    /// let bulkhead = BulkheadLayer::builder().max_concurrent_calls(1).build()?;
    /// let mut service = Bulkhead::new(service_fn(|x: u8| async move { Ok::<_, std::io::Error>(x) }), bulkhead.clone());
    /// let future = service.ready().await?.call(7);
    /// assert_eq!(bulkhead.available_permits(), 0);
    /// assert_eq!(future.await?, 7);
    /// assert_eq!(bulkhead.available_permits(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Called {
            #[pin]
            future: F,
            permit: PermitGuard,
        },
        Refused {
            error: Option<BoxError>,
        },
    }
}

impl<F> ResponseFuture<F> {
    #[inline]
    pub(crate) fn called(future: F, permit: PermitGuard) -> Self {
        Self {
            kind: Kind::Called { future, permit },
        }
    }

    pub(crate) fn refused(error: BoxError) -> Self {
        Self {
            kind: Kind::Refused { error: Some(error) },
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future, permit } => {
                let result = ready!(future.poll(cx));
                // Free the slot as the call ends, not when the caller gets
                // round to dropping the future.
                permit.0 = None;
                Poll::Ready(result.map_err(Into::into))
            }
            KindProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Called { .. } => "called",
            Kind::Refused { .. } => "refused",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}
