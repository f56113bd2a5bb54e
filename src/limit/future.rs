//! The adaptive limit's response future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tower::BoxError;

use super::limiter::LimitPermit;
use super::LimitSample;
use crate::classify::{Classify, Sample};

/// A call's permit, its start on the limiter's clock, and the classifier
/// that will judge its result.
pub(crate) struct Recorder<C> {
    permit: Option<LimitPermit>,
    start: u64,
    classifier: C,
}

impl<C> Recorder<C> {
    #[inline]
    pub(crate) fn new(permit: LimitPermit, start: u64, classifier: C) -> Self {
        Self {
            permit: Some(permit),
            start,
            classifier,
        }
    }

    #[inline]
    fn record<T, E>(&mut self, result: Result<&T, &E>)
    where
        C: Classify<T, E>,
    {
        let Some(permit) = &self.permit else {
            return;
        };
        let inner = permit.inner();
        let rtt = Duration::from_nanos(inner.clock.now_nanos().saturating_sub(self.start));
        let sample = Sample::new(self.classifier.classify(result), rtt);
        if let Some(sample) = LimitSample::from_sample(sample, permit.in_flight_at_admission()) {
            inner.record(sample);
        }
        // The permit is freed here, after the sample: the algorithm sees
        // the call before a new one can take its slot.
        self.permit = None;
    }
}

pin_project! {
    /// The response future of [`Limit`](super::Limit): the inner call with
    /// its permit, or a refusal. The call teaches the algorithm when it
    /// completes; dropped before that, it only frees its permit.
    ///
    /// ```
    /// use tower::{service_fn, Service, ServiceExt};
    /// use seawall::limit::{algorithm::Fixed, Limit, Limiter};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), seawall::BoxError> {
    /// let limiter = Limiter::builder(Fixed::new(2)?).build()?;
    /// let mut service = Limit::new(service_fn(|x: u8| async move { Ok::<_, std::io::Error>(x) }), limiter.clone());
    /// let future = service.ready().await?.call(7);
    /// assert_eq!(limiter.in_flight(), 1);
    /// assert_eq!(future.await?, 7);
    /// assert_eq!(limiter.in_flight(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F, C>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, C> {
        Called {
            #[pin]
            future: F,
            recorder: Recorder<C>,
        },
        Refused {
            error: Option<BoxError>,
        },
    }
}

impl<F, C> ResponseFuture<F, C> {
    #[inline]
    pub(crate) fn called(future: F, recorder: Recorder<C>) -> Self {
        Self {
            kind: Kind::Called { future, recorder },
        }
    }

    pub(crate) fn refused(error: BoxError) -> Self {
        Self {
            kind: Kind::Refused { error: Some(error) },
        }
    }
}

impl<F, C, T, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    C: Classify<T, E>,
{
    type Output = Result<T, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future, recorder } => {
                let result = ready!(future.poll(cx));
                recorder.record(result.as_ref());
                Poll::Ready(result.map_err(Into::into))
            }
            KindProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
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
