//! Additive increase, multiplicative decrease.

use std::time::Duration;

use super::{ensure, ensure_limits, Algorithm, LimitSample};
use crate::ConfigError;

/// Loss-based AIMD, as Netflix's `AIMDLimit`.
///
/// Per sample, with limit `L`:
///
/// - a drop, or an RTT above `timeout`: `L ← ⌊L × backoff_ratio⌋`;
/// - otherwise, if the call saw at least half the limit in flight
///   (`in_flight × 2 ≥ L`): `L ← L + 1`;
/// - otherwise (the caller is not using the limit) `L` stays;
///
/// then `L` is clamped to `[min_limit, max_limit]`.
///
/// Defaults (the reference's): initial 20, min 20, max 200, backoff ratio
/// 0.9, timeout 5 s. Unwindowed, AIMD backs off once *per dropped sample*,
/// so a burst of drops from one overload episode collapses the limit; wrap it
/// in [`Windowed`](super::Windowed) to back off once per window.
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{Algorithm, LimitSample};
/// use seawall::limit::algorithm::Aimd;
///
/// let mut aimd = Aimd::builder().initial_limit(10).min_limit(1).build()?;
/// assert_eq!(aimd.update(LimitSample::new(Duration::from_millis(5), 10, false)), 11);
/// assert_eq!(aimd.update(LimitSample::new(Duration::from_millis(5), 10, true)), 9);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Aimd {
    config: AimdConfig,
    limit: u32,
}

/// Settings of [`Aimd`]; [`build`](AimdConfig::build) validates. With feature
/// `serde` it deserializes (unknown keys refused, durations as `"5s"`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct AimdConfig {
    initial_limit: u32,
    min_limit: u32,
    max_limit: u32,
    backoff_ratio: f64,
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    timeout: Duration,
}

impl Default for AimdConfig {
    fn default() -> Self {
        Self {
            initial_limit: 20,
            min_limit: 20,
            max_limit: 200,
            backoff_ratio: 0.9,
            timeout: Duration::from_secs(5),
        }
    }
}

impl AimdConfig {
    /// The limit before any sample (default 20, within `[min, max]`).
    pub fn initial_limit(mut self, limit: u32) -> Self {
        self.initial_limit = limit;
        self
    }
    /// The lowest limit (default 20, at least 1).
    pub fn min_limit(mut self, limit: u32) -> Self {
        self.min_limit = limit;
        self
    }
    /// The highest limit (default 200, at least `min_limit`).
    pub fn max_limit(mut self, limit: u32) -> Self {
        self.max_limit = limit;
        self
    }
    /// The factor applied on a drop (default 0.9, in `[0.5, 1)`).
    pub fn backoff_ratio(mut self, ratio: f64) -> Self {
        self.backoff_ratio = ratio;
        self
    }
    /// An RTT above this counts as a drop (default 5 s, positive).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<Aimd, ConfigError> {
        ensure_limits(self.min_limit, self.max_limit, self.initial_limit)?;
        ensure(
            (0.5..1.0).contains(&self.backoff_ratio),
            "backoff_ratio",
            self.backoff_ratio,
            "a ratio in [0.5, 1)",
        )?;
        ensure(
            !self.timeout.is_zero(),
            "timeout",
            format_args!("{:?}", self.timeout),
            "a positive duration",
        )?;
        Ok(Aimd {
            limit: self.initial_limit,
            config: self,
        })
    }
}

impl Aimd {
    /// Settings starting from the reference's defaults.
    pub fn builder() -> AimdConfig {
        AimdConfig::default()
    }
}

impl Default for Aimd {
    fn default() -> Self {
        AimdConfig::default().build().expect("defaults are valid")
    }
}

impl Algorithm for Aimd {
    fn limit(&self) -> u32 {
        self.limit
    }

    #[inline]
    fn update(&mut self, sample: LimitSample) -> u32 {
        let c = &self.config;
        let limit = if sample.dropped() || sample.rtt() > c.timeout {
            (f64::from(self.limit) * c.backoff_ratio) as u32
        } else if u64::from(sample.in_flight()) * 2 >= u64::from(self.limit) {
            self.limit.saturating_add(1)
        } else {
            self.limit
        };
        // In integers: the limit is carried from sample to sample, and a
        // round trip through f64 on that chain doubled an update's cost.
        self.limit = limit.clamp(c.min_limit, c.max_limit);
        self.limit
    }
}
