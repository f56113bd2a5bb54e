//! Gradient of a short RTT against a long-term average.

use std::time::Duration;

use super::{clamp_limit, ensure, ensure_limits, Algorithm, LimitSample};
use crate::ConfigError;

/// RTT-gradient limit, as Netflix's `Gradient2Limit`.
///
/// It keeps `long_rtt`, an exponential average of the RTT over
/// `long_window` samples (factor `2 / (long_window + 1)`, after a warm-up of
/// 10 samples averaged plainly), and per sample, with limit `L`:
///
/// - if `long_rtt / rtt > 2`, `long_rtt ← 0.95 × long_rtt` (latency fell back
///   after a long overload: forget it faster);
/// - if `in_flight < L / 2` (the caller does not use the limit): no change;
/// - else `gradient = clamp(rtt_tolerance × long_rtt / rtt, 0.5, 1)`,
///   `L' = L × gradient + queue_size`,
///   `L ← clamp((1 − smoothing)·L + smoothing·L', min, max)`.
///
/// Defaults (the reference's): initial 20, min 20, max 200, smoothing 0.2,
/// queue size 4, long window 600, RTT tolerance 1.5. Drops are ignored, as in
/// the reference: fast failures keep the gradient at 1 and the limit climbs
/// by `smoothing × queue_size` per sample, and since `long_rtt` follows the
/// RTT it also creeps upward under steady queueing (see
/// `tests/limit_sim.rs`).
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{Algorithm, LimitSample};
/// use seawall::limit::algorithm::Gradient2;
///
/// let mut g = Gradient2::builder().min_limit(1).build()?;
/// // long_rtt = rtt: gradient 1, L' = 20 + 4, L = 0.8·20 + 0.2·24 = 20.8.
/// assert_eq!(g.update(LimitSample::new(Duration::from_millis(10), 20, false)), 20);
/// assert_eq!(g.estimated_limit(), 20.8);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Gradient2 {
    config: Gradient2Config,
    estimated: f64,
    long_rtt: ExpAvg,
}

/// Settings of [`Gradient2`]; [`build`](Gradient2Config::build) validates.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Gradient2Config {
    initial_limit: u32,
    min_limit: u32,
    max_limit: u32,
    smoothing: f64,
    queue_size: u32,
    long_window: u32,
    rtt_tolerance: f64,
}

impl Default for Gradient2Config {
    fn default() -> Self {
        Self {
            initial_limit: 20,
            min_limit: 20,
            max_limit: 200,
            smoothing: 0.2,
            queue_size: 4,
            long_window: 600,
            rtt_tolerance: 1.5,
        }
    }
}

impl Gradient2Config {
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
    /// The highest limit (default 200, the reference's `maxConcurrency`).
    pub fn max_limit(mut self, limit: u32) -> Self {
        self.max_limit = limit;
        self
    }
    /// Weight of a new estimate (default 0.2, in `(0, 1]`).
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = smoothing;
        self
    }
    /// Queue allowed on top of the gradient (default 4).
    pub fn queue_size(mut self, size: u32) -> Self {
        self.queue_size = size;
        self
    }
    /// Samples in the long RTT average (default 600, at least 1).
    pub fn long_window(mut self, samples: u32) -> Self {
        self.long_window = samples;
        self
    }
    /// How much RTT growth counts as no queueing (default 1.5, at least 1).
    pub fn rtt_tolerance(mut self, tolerance: f64) -> Self {
        self.rtt_tolerance = tolerance;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<Gradient2, ConfigError> {
        ensure_limits(self.min_limit, self.max_limit, self.initial_limit)?;
        ensure(
            self.smoothing > 0.0 && self.smoothing <= 1.0,
            "smoothing",
            self.smoothing,
            "a weight in (0, 1]",
        )?;
        ensure(
            self.long_window >= 1,
            "long_window",
            self.long_window,
            "at least 1",
        )?;
        ensure(
            self.rtt_tolerance >= 1.0 && self.rtt_tolerance.is_finite(),
            "rtt_tolerance",
            self.rtt_tolerance,
            "a finite factor of at least 1",
        )?;
        Ok(Gradient2 {
            estimated: f64::from(self.initial_limit),
            long_rtt: ExpAvg::new(self.long_window, 10),
            config: self,
        })
    }
}

/// The reference's `ExpAvgMeasurement`: a plain mean over `warmup` samples,
/// then an exponential average with factor `2 / (window + 1)`.
#[derive(Debug, Clone)]
struct ExpAvg {
    value: f64,
    sum: f64,
    count: u32,
    factor: f64,
    warmup: u32,
}

impl ExpAvg {
    fn new(window: u32, warmup: u32) -> Self {
        Self {
            value: 0.0,
            sum: 0.0,
            count: 0,
            factor: 2.0 / (f64::from(window) + 1.0),
            warmup,
        }
    }

    fn add(&mut self, sample: f64) -> f64 {
        if self.count < self.warmup {
            self.count += 1;
            self.sum += sample;
            self.value = self.sum / f64::from(self.count);
        } else {
            self.value = self.value * (1.0 - self.factor) + sample * self.factor;
        }
        self.value
    }
}

/// The reference's decay of a long average far above the short one.
#[cold]
fn decay(long: &mut f64) {
    *long *= 0.95;
}

impl Gradient2 {
    /// Settings starting from the reference's defaults.
    pub fn builder() -> Gradient2Config {
        Gradient2Config::default()
    }

    /// The limit before truncation to an integer.
    pub fn estimated_limit(&self) -> f64 {
        self.estimated
    }

    /// The long-term RTT average.
    pub fn long_rtt(&self) -> Duration {
        Duration::from_nanos(self.long_rtt.value as u64)
    }
}

impl Default for Gradient2 {
    fn default() -> Self {
        Gradient2Config::default()
            .build()
            .expect("defaults are valid")
    }
}

impl Algorithm for Gradient2 {
    fn limit(&self) -> u32 {
        self.estimated as u32
    }

    #[inline]
    fn update(&mut self, sample: LimitSample) -> u32 {
        let c = &self.config;
        let l = self.estimated;
        let short = super::nanos(sample.rtt()).max(1) as f64;
        let long = self.long_rtt.add(short);
        // `long / short > 2` without the division: the long average is
        // carried from sample to sample, and a division on that chain
        // tripled the cost of an update. A branch, not a select, for the
        // same reason: the decay is rare.
        if long > 2.0 * short {
            decay(&mut self.long_rtt.value);
        }
        if f64::from(sample.in_flight()) < l / 2.0 {
            return self.limit();
        }
        let gradient = (c.rtt_tolerance * long / short).clamp(0.5, 1.0);
        let new = l * gradient + f64::from(c.queue_size);
        let new = l * (1.0 - c.smoothing) + new * c.smoothing;
        self.estimated = clamp_limit(new, c.min_limit, c.max_limit);
        self.limit()
    }
}
