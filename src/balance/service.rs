//! The tower adapter: a `Service` that sends each request to the endpoint
//! its chooser picks.

use std::fmt;
use std::hash::Hash;
use std::task::{Context, Poll};

use tower::Service;

use super::core::{Chooser, Pick};
use super::future::ResponseFuture;
use crate::classify::{Classify, DefaultClassifier};
use crate::BoxError;

/// A power-of-two-choices balancer over the endpoints of a [`Chooser`].
///
/// Endpoint services must be `Clone`: a call clones the picked endpoint's
/// service and drives that clone's readiness in its own response future, so
/// an endpoint that is not ready becomes ready through the calls waiting on
/// it, with no background task, and clones of the balancer share the set
/// and the load state directly (no `Buffer`). `poll_ready` reserves a pick
/// (a call counted in flight) and is always ready; `call` sends to it,
/// unless the endpoint was removed in between, then picks again. When no
/// endpoint is usable the response future fails at once with
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
    reserved: Option<Pick<S>>,
}

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
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        if self.reserved.as_ref().map_or(true, Pick::is_removed) {
            // A failed pick is not an error here (that would mean "this
            // service is dead"): `call` tries again and fails its future.
            self.reserved = self.chooser.pick().ok();
        }
        Poll::Ready(Ok(()))
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let pick = match self.reserved.take().filter(|p| !p.is_removed()) {
            Some(pick) => Ok(pick),
            None => self.chooser.pick(),
        };
        match pick {
            Ok(pick) => ResponseFuture::new(pick.get().clone(), req, pick, self.classifier.clone()),
            Err(unavailable) => ResponseFuture::failed(unavailable, self.classifier.clone()),
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
            .field("reserved", &self.reserved)
            .finish_non_exhaustive()
    }
}
