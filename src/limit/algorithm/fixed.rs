//! A limit that never changes.

use super::{Algorithm, LimitSample};
use crate::ConfigError;

/// A fixed limit, as Netflix's `FixedLimit`: samples change nothing. Useful
/// as a baseline and when a backend's capacity is known.
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{Algorithm, LimitSample};
/// use seawall::limit::algorithm::Fixed;
///
/// let mut fixed = Fixed::new(8)?;
/// assert_eq!(fixed.update(LimitSample::new(Duration::from_secs(9), 8, true)), 8);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    limit: u32,
}

impl Fixed {
    /// A fixed limit (at least 1).
    pub fn new(limit: u32) -> Result<Self, ConfigError> {
        super::ensure(limit >= 1, "limit", limit, "at least 1")?;
        Ok(Self { limit })
    }
}

impl Algorithm for Fixed {
    fn limit(&self) -> u32 {
        self.limit
    }

    #[inline]
    fn update(&mut self, _sample: LimitSample) -> u32 {
        self.limit
    }
}
