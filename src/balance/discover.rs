//! Feeding a chooser from a `tower::discover::Discover` stream.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower::discover::{Change, Discover};

use super::core::Chooser;
use super::gate::Health;

type HealthFn<K, S> = Arc<dyn Fn(&K, &S) -> Health + Send + Sync>;

pin_project! {
    /// Applies a [`Discover`] stream's changes to a chooser's endpoint set
    /// until the stream ends (`Ok`) or fails (its error). Spawn it: updates
    /// run on its task, requests never wait for it, and no request passes
    /// through it.
    ///
    /// ```
    /// use tower::discover::Change;
    /// use tower::{service_fn, Service, ServiceExt};
    /// use seawall::balance::{Balance, Chooser, Driver};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), seawall::BoxError> {
    /// let svc = service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x + 1) });
    /// let changes = tower::discover::ServiceList::new(vec![svc.clone(), svc]);
    /// let chooser = Chooser::builder().build()?;
    /// let driver = Driver::new(chooser.clone(), changes);
    /// driver.await?; // a static list ends at once; a live stream would be spawned
    /// assert_eq!(chooser.len(), 2);
    /// let mut balance = Balance::new(chooser);
    /// assert_eq!(balance.ready().await?.call(1).await?, 2);
    /// # let _ = Change::<u8, ()>::Remove(0);
    /// # Ok(())
    /// # }
    /// ```
    pub struct Driver<D: Discover> {
        #[pin]
        discover: D,
        chooser: Chooser<D::Key, D::Service>,
        health: Option<HealthFn<D::Key, D::Service>>,
    }
}

impl<D: Discover> Driver<D> {
    /// Applies `discover`'s changes to `chooser` (which shares its set with
    /// every clone, so keep a clone for the balancer).
    pub fn new(chooser: Chooser<D::Key, D::Service>, discover: D) -> Self {
        Self {
            discover,
            chooser,
            health: None,
        }
    }

    /// Gives each inserted endpoint the gates `health` returns for its key
    /// (its breaker, its limit).
    pub fn health(self, health: impl Fn(&D::Key) -> Health + Send + Sync + 'static) -> Self {
        self.health_from(move |key, _| health(key))
    }

    /// Gives each inserted endpoint the gates `health` returns for its key
    /// and service: for a discovery that makes each endpoint together with
    /// its breaker and limit, and sends them in the service.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use seawall::balance::{Chooser, Driver, Health};
    /// use seawall::breaker::{CircuitBreaker, State};
    /// use tower::discover::Change;
    /// # use std::{pin::Pin, task::{Context, Poll}};
    /// # struct Changes(std::vec::IntoIter<Change<&'static str, Arc<Endpoint>>>);
    /// # impl futures_core::Stream for Changes {
    /// #     type Item = Result<Change<&'static str, Arc<Endpoint>>, std::convert::Infallible>;
    /// #     fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
    /// #         Poll::Ready(self.0.next().map(Ok))
    /// #     }
    /// # }
    ///
    /// /// What discovery makes per endpoint: its address and its breaker.
    /// struct Endpoint { addr: &'static str, breaker: CircuitBreaker }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), seawall::BoxError> {
    /// let make = |addr| Arc::new(Endpoint { addr, breaker: CircuitBreaker::builder().name(addr).build().unwrap() });
    /// let (a, b) = (make("10.0.0.1:80"), make("10.0.0.2:80"));
    /// let inserts = vec![Change::Insert(a.addr, a.clone()), Change::Insert(b.addr, b)];
    /// let chooser = Chooser::builder().build()?;
    /// Driver::new(chooser.clone(), Changes(inserts.into_iter()))
    ///     .health_from(|_, ep: &Arc<Endpoint>| Health::new().gate(ep.breaker.clone()).unwrap_or_default())
    ///     .await?;
    /// a.breaker.transition_to(State::ForcedOpen)?;
    /// // Only the other endpoint's breaker admits now.
    /// let mut chooser = chooser;
    /// assert!((0..10).all(|_| chooser.pick().unwrap().get().addr == "10.0.0.2:80"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn health_from(
        mut self,
        health: impl Fn(&D::Key, &D::Service) -> Health + Send + Sync + 'static,
    ) -> Self {
        self.health = Some(Arc::new(health));
        self
    }
}

impl<D> Future for Driver<D>
where
    D: Discover,
    D::Key: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static,
    D::Service: Send + Sync + 'static,
{
    type Output = Result<(), D::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match ready!(this.discover.as_mut().poll_discover(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(e)),
                Some(Ok(Change::Insert(key, svc))) => {
                    let health = this
                        .health
                        .as_ref()
                        .map_or_else(Health::new, |f| f(&key, &svc));
                    this.chooser.insert_with(key, svc, health);
                }
                Some(Ok(Change::Remove(key))) => {
                    this.chooser.remove(&key);
                }
            }
        }
    }
}

impl<D: Discover> fmt::Debug for Driver<D>
where
    D::Key: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("chooser", &self.chooser)
            .finish_non_exhaustive()
    }
}
