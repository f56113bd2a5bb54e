//! The balancer's response future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower::Service;

use super::core::Pick;
use super::Unavailable;
use crate::classify::{Classify, Outcome};
use crate::BoxError;

pin_project! {
    /// The response future of [`Balance`](super::Balance): the endpoint's
    /// call, whose outcome it records (when `call` had to pick afresh, it
    /// first waits for that endpoint's readiness). Dropping it at any point returns the endpoint's pending
    /// count and the gates' tickets.
    ///
    /// ```
    /// use tower::{service_fn, Service};
    /// use seawall::balance::{Balance, Chooser, Unavailable};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), seawall::BoxError> {
    /// let chooser = Chooser::builder().build()?;
    /// chooser.insert(0u8, service_fn(|()| async { Ok::<_, std::io::Error>(()) }));
    /// chooser.remove(&0);
    /// let mut balance = Balance::new(chooser);
    /// // No endpoint: the future fails at once.
    /// let err = balance.call(()).await.unwrap_err();
    /// assert!(err.downcast_ref::<Unavailable>().is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub struct ResponseFuture<S, Req, C>
    where
        S: Service<Req>,
    {
        #[pin]
        state: State<S, Req>,
        pick: Option<Pick<S>>,
        classifier: C,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, Req>
    where
        S: Service<Req>,
    {
        Waiting { svc: Option<S>, req: Option<Req> },
        Called { #[pin] fut: S::Future },
        Failed { err: Option<Unavailable> },
    }
}

impl<S: Service<Req>, Req, C> ResponseFuture<S, Req, C> {
    pub(crate) fn called(fut: S::Future, pick: Pick<S>, classifier: C) -> Self {
        Self {
            state: State::Called { fut },
            pick: Some(pick),
            classifier,
        }
    }

    pub(crate) fn waiting(svc: S, req: Req, pick: Pick<S>, classifier: C) -> Self {
        Self {
            state: State::Waiting {
                svc: Some(svc),
                req: Some(req),
            },
            pick: Some(pick),
            classifier,
        }
    }

    pub(crate) fn failed(err: Unavailable, classifier: C) -> Self {
        Self {
            state: State::Failed { err: Some(err) },
            pick: None,
            classifier,
        }
    }
}

impl<S, Req, C> Future for ResponseFuture<S, Req, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error>,
{
    type Output = Result<S::Response, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Waiting { svc, req } => {
                    let s = svc.as_mut().expect("polled after completion");
                    if let Err(e) = ready!(s.poll_ready(cx)) {
                        // A dead endpoint is a failed call to it.
                        if let Some(pick) = this.pick.take() {
                            pick.record(Outcome::Failure);
                        }
                        return Poll::Ready(Err(e.into()));
                    }
                    if this.pick.as_ref().is_some_and(Pick::is_removed) {
                        // Removed while this call waited for readiness (it
                        // was picked after `poll_ready`): not sent.
                        *this.pick = None;
                        return Poll::Ready(Err(Box::new(Unavailable::all_refusing())));
                    }
                    let (mut s, r) = (svc.take(), req.take());
                    let fut = match (&mut s, r) {
                        (Some(s), Some(r)) => s.call(r),
                        _ => unreachable!("taken only here"),
                    };
                    this.state.set(State::Called { fut });
                }
                StateProj::Called { fut } => {
                    let res = ready!(fut.poll(cx));
                    if let Some(pick) = this.pick.take() {
                        pick.record(this.classifier.classify(res.as_ref()));
                    }
                    return Poll::Ready(res.map_err(Into::into));
                }
                StateProj::Failed { err } => {
                    let err = err.take().expect("polled after completion");
                    return Poll::Ready(Err(Box::new(err)));
                }
            }
        }
    }
}

impl<S: Service<Req>, Req, C> fmt::Debug for ResponseFuture<S, Req, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Waiting { .. } => "waiting for the endpoint",
            State::Called { .. } => "called",
            State::Failed { .. } => "failed",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .field("pick", &self.pick)
            .finish_non_exhaustive()
    }
}
