use tower::Layer;

use super::partition::SHARED;
use super::{Limit, Limiter};
use crate::classify::DefaultClassifier;
use crate::ConfigError;

/// Wraps services in a [`Limit`] sharing one [`Limiter`], optionally as
/// the calls of one of its partitions.
///
/// ```
/// use tower::{service_fn, ServiceBuilder};
/// use seawall::limit::{algorithm::Gradient2, LimitLayer, Limiter};
///
/// let limiter = Limiter::builder(Gradient2::default())
///     .partition("live", 0.7)
///     .partition("batch", 0.3)
///     .build()?;
/// let live = ServiceBuilder::new()
///     .layer(LimitLayer::new(limiter.clone()).partition("live")?)
///     .service(service_fn(|req: u32| async move { Ok::<_, std::io::Error>(req) }));
/// let batch = ServiceBuilder::new()
///     .layer(LimitLayer::new(limiter).partition("batch")?)
///     .service(service_fn(|req: u32| async move { Ok::<_, std::io::Error>(req) }));
/// # drop((live, batch));
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LimitLayer<C = DefaultClassifier> {
    limiter: Limiter,
    partition: usize,
    classifier: C,
}

impl LimitLayer {
    /// A layer over `limiter`, for calls of no partition; `Ok` is a
    /// success, `Err` a failure (not a drop: give a classifier that tells
    /// overload apart, see [`classifier`](Self::classifier)).
    pub fn new(limiter: Limiter) -> Self {
        Self {
            limiter,
            partition: SHARED,
            classifier: DefaultClassifier,
        }
    }
}

impl LimitLayer {
    /// A layer over a limiter that lives for the rest of the process: its
    /// services' calls hold a plain reference to it instead of a reference
    /// count, which saves two atomic writes per call.
    ///
    /// ```
    /// use tower::{service_fn, ServiceBuilder};
    /// use seawall::limit::{algorithm::Aimd, LimitLayer, Limiter};
    ///
    /// let limiter: &'static Limiter = Box::leak(Box::new(Limiter::builder(Aimd::default()).build()?));
    /// let service = ServiceBuilder::new()
    ///     .layer(LimitLayer::from_static(limiter))
    ///     .service(service_fn(|req: u32| async move { Ok::<_, std::io::Error>(req) }));
    /// # drop(service);
    /// # Ok::<(), seawall::ConfigError>(())
    /// ```
    pub fn from_static(limiter: &'static Limiter) -> Self {
        Self::new(limiter.to_static())
    }
}

impl<C> LimitLayer<C> {
    /// Makes the services' calls those of partition `name`.
    pub fn partition(mut self, name: &str) -> Result<Self, ConfigError> {
        self.partition = self
            .limiter
            .partition_index(name)
            .ok_or_else(|| ConfigError::new("partition", name, "a partition of the limiter"))?;
        Ok(self)
    }

    /// Classifies results with `classifier`: an
    /// [`Outcome::Overload`](crate::classify::Outcome::Overload) is a drop
    /// for the algorithm, an ignored outcome no sample.
    pub fn classifier<C2>(self, classifier: C2) -> LimitLayer<C2> {
        LimitLayer {
            limiter: self.limiter,
            partition: self.partition,
            classifier,
        }
    }

    /// The limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }
}

impl<S, C: Clone> Layer<S> for LimitLayer<C> {
    type Service = Limit<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Limit::from_parts(
            inner,
            self.limiter.clone(),
            self.partition,
            self.classifier.clone(),
        )
    }
}
