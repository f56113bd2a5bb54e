//! Rejections of the adaptive limit.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A call the limit refused: as many calls as the limit allows were in
/// flight (and, when callers may wait, the wait queue was full or the
/// wait timed out). Through the tower layer it arrives as a `BoxError`
/// that downcasts to this type; the inner service was not called.
///
/// ```
/// use seawall::limit::{algorithm::Fixed, Limiter};
/// let limiter = Limiter::builder(Fixed::new(1)?).name("api").build()?;
/// let _held = limiter.try_acquire()?;
/// let refused = limiter.try_acquire().unwrap_err();
/// assert_eq!(refused.limit(), 1);
/// assert_eq!(refused.to_string(), "concurrency limit api reached: 1 calls in flight");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overloaded {
    name: Arc<str>,
    limit: u32,
    waited: Option<Duration>,
}

impl Overloaded {
    pub(crate) fn new(name: Arc<str>, limit: u32, waited: Option<Duration>) -> Self {
        Self {
            name,
            limit,
            waited,
        }
    }

    /// The limiter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit when the call was refused.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// How long the call waited before it was refused: `None` when it was
    /// refused at once (fail fast, or a full queue).
    pub fn waited(&self) -> Option<Duration> {
        self.waited
    }
}

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "concurrency limit {} reached: {} calls in flight",
            self.name, self.limit
        )?;
        if let Some(waited) = self.waited {
            write!(f, " after waiting {waited:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Overloaded {}
