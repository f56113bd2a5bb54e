//! The tower adapter: a `Service` that sends each request to the endpoint
//! its chooser picks.

use std::fmt;
use std::hash::Hash;
use std::task::{Context, Poll};

use tower::Service;

use super::core::{Chooser, Pick};
use super::future::ResponseFuture;
use crate::classify::{Classify, DefaultClassifier, Outcome};
use crate::BoxError;

/// A power-of-two-choices balancer over the endpoints of a [`Chooser`].
///
/// Endpoint services must be `Clone` (and `Sync`, as the set is shared):
/// `poll_ready` picks an endpoint, counts a call in flight to it, clones
/// its service and drives that clone to readiness (if it is not ready, it
/// tries one other pick first), so an endpoint that is not ready becomes
/// ready through the caller waiting on it, with no background task; clones of the balancer share the set and the load state
/// directly (no `Buffer`). `call` sends to the reserved endpoint unless it
/// was removed in between; then it picks again. When no endpoint is usable
/// `poll_ready` is still ready and the response future fails at once with
/// [`Unavailable`](super::Unavailable).
///
/// ```
/// use tower::{service_fn, Service, ServiceExt};
/// use seawall::balance::{Balance, Chooser};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), seawall::BoxError> {
/// let chooser = Chooser::builder().seed(7).build()?;
/// for port in [8001u16, 8002] {
///     chooser.insert(port, service_fn(move |req: &'static str| async move {
///         Ok::<_, std::convert::Infallible>(format!("{port}: {req}"))
///     }));
/// }
/// let mut balance = Balance::new(chooser);
/// let reply = balance.ready().await?.call("hello").await?;
/// assert!(reply.ends_with(": hello"));
/// # Ok(())
/// # }
/// ```
pub struct Balance<K, S, C = DefaultClassifier> {
    chooser: Chooser<K, S>,
    classifier: C,
    reserved: Option<Reserved<S>>,
}

/// A picked endpoint and this caller's clone of its service.
struct Reserved<S> {
    pick: Pick<S>,
    svc: S,
    ready: bool,
}

/// Endpoints whose service fails `poll_ready` that one `poll_ready` tries
/// before giving up (then `call` fails fast).
const DEAD_ENDPOINT_RETRIES: usize = 3;

impl<K, S> Balance<K, S> {
    /// A balancer over `chooser`'s endpoints; `Ok` counts as a success,
    /// `Err` as a failure.
    pub fn new(chooser: Chooser<K, S>) -> Self {
        Self::with_classifier(chooser, DefaultClassifier)
    }
}

impl<K, S, C> Balance<K, S, C> {
    /// A balancer that learns each call's outcome from `classifier` (for
    /// HTTP, one that counts 5xx as failures and 503/429 as overload).
    pub fn with_classifier(chooser: Chooser<K, S>, classifier: C) -> Self {
        Self {
            chooser,
            classifier,
            reserved: None,
        }
    }

    /// The chooser: insert and remove endpoints, read their state.
    pub fn chooser(&self) -> &Chooser<K, S> {
        &self.chooser
    }
}

impl<K, S, C, Req> Service<Req> for Balance<K, S, C>
where
    K: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static,
    S: Service<Req> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S, Req, C>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let mut dead = 0;
        let mut parked: Option<Reserved<S>> = None;
        loop {
            let Some(r) = &mut self.reserved else {
                match self.chooser.pick() {
                    Ok(pick) => {
                        let svc = pick.get().clone();
                        self.reserved = Some(Reserved {
                            pick,
                            svc,
                            ready: false,
                        });
                        continue;
                    }
                    // Not an error here (that would mean "this service is
                    // dead"): `call` tries again and fails its future.
                    Err(_) => return Poll::Ready(Ok(())),
                }
            };
            if r.pick.is_removed() {
                self.reserved = None;
                continue;
            }
            if r.ready {
                return Poll::Ready(Ok(()));
            }
            match r.svc.poll_ready(cx) {
                // Another endpoint may be ready: try one more pick before
                // waiting on this one.
                Poll::Pending if parked.is_none() && self.chooser.len() > 1 => {
                    // Held through the next pick: its call in flight makes
                    // it the dearer of two candidates.
                    parked = self.reserved.take();
                }
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {
                    r.ready = true;
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Err(_)) => {
                    // A dead endpoint is a failed call to it: outlier
                    // detection ejects it if it stays dead.
                    if let Some(r) = self.reserved.take() {
                        r.pick.record(Outcome::Failure);
                    }
                    dead += 1;
                    if dead == DEAD_ENDPOINT_RETRIES {
                        return Poll::Ready(Ok(()));
                    }
                }
            }
        }
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let classifier = self.classifier.clone();
        match self.reserved.take() {
            Some(mut r) if r.ready && !r.pick.is_removed() => {
                ResponseFuture::called(r.svc.call(req), r.pick, classifier)
            }
            // Removed since `poll_ready`, or `call` without `poll_ready`:
            // pick afresh; the future drives readiness.
            _ => match self.chooser.pick() {
                Ok(pick) => ResponseFuture::waiting(pick.get().clone(), req, pick, classifier),
                Err(unavailable) => ResponseFuture::failed(unavailable, classifier),
            },
        }
    }
}

/// A clone shares the endpoint set and load state, with its own random
/// sequence and without the original's reservation.
impl<K, S, C: Clone> Clone for Balance<K, S, C> {
    fn clone(&self) -> Self {
        Self {
            chooser: self.chooser.clone(),
            classifier: self.classifier.clone(),
            reserved: None,
        }
    }
}

impl<K: fmt::Debug, S, C> fmt::Debug for Balance<K, S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balance")
            .field("chooser", &self.chooser)
            .field("reserved", &self.reserved.as_ref().map(|r| &r.pick))
            .finish_non_exhaustive()
    }
}
