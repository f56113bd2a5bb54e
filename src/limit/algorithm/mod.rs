//! Limit algorithms: how an adaptive limit learns a backend's capacity.
//!
//! An [`Algorithm`] is plain arithmetic over [`LimitSample`]s, with no
//! atomics and no runtime: the limiter owns it behind its own
//! synchronisation and feeds it samples (or windows of samples), so the
//! formulas can be unit-tested on hand-computed inputs.
//!
//! | algorithm | learns from | source |
//! | --- | --- | --- |
//! | [`Hybrid`] (recommended, windowed) | delay gradient, probed no-load RTT, drops | seawall, after Gradient2, Vegas, AIMD and BBR |
//! | [`Aimd`] | drops and timeouts | Netflix `AIMDLimit` |
//! | [`Vegas`] | estimated queue from RTT over the least RTT | Netflix `VegasLimit` |
//! | [`Gradient2`] | RTT over its long-term average | Netflix `Gradient2Limit` |
//! | [`Fixed`] | nothing | Netflix `FixedLimit` |
//! | [`Windowed`] | wraps any of them: one aggregated sample per window | Netflix `WindowedLimit` |
//!
//! The formulas and defaults are those of Netflix's concurrency-limits
//! (<https://github.com/Netflix/concurrency-limits>, `limit/*.java`); each
//! type documents its formula, defaults and where seawall deviates.

use std::fmt;
use std::time::Duration;

use crate::classify::{Outcome, Sample};
use crate::ConfigError;

mod aimd;
mod fixed;
mod gradient2;
mod hybrid;
#[allow(unreachable_pub)]
pub(crate) mod rng;
mod vegas;
mod windowed;

pub use self::aimd::{Aimd, AimdConfig};
pub use self::fixed::Fixed;
pub use self::gradient2::{Gradient2, Gradient2Config};
pub use self::hybrid::{Hybrid, HybridConfig};
pub use self::vegas::{Vegas, VegasConfig};
pub use self::windowed::{Aggregate, ShortWindow, Windowed, WindowedConfig};

/// One completed call as a limit algorithm sees it: its round-trip time,
/// how many calls were in flight when it was admitted, and whether it was
/// dropped (an overload: a timeout, an upstream 503 or 429).
///
/// ```
/// use std::time::Duration;
/// use seawall::classify::{Outcome, Sample};
/// use seawall::limit::LimitSample;
///
/// let ok = LimitSample::from_sample(Sample::new(Outcome::Success, Duration::from_millis(8)), 3);
/// assert_eq!(ok.map(|s| s.dropped()), Some(false));
/// // Ignored calls teach the limit nothing.
/// assert!(LimitSample::from_sample(Sample::new(Outcome::Ignored, Duration::ZERO), 3).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSample {
    rtt: Duration,
    in_flight: u32,
    dropped: bool,
}

impl LimitSample {
    /// A sample from its parts.
    pub const fn new(rtt: Duration, in_flight: u32, dropped: bool) -> Self {
        Self {
            rtt,
            in_flight,
            dropped,
        }
    }

    /// The sample a classified call gives, or `None` for an ignored call.
    /// An overload is a drop; a failure is not (it says nothing about
    /// capacity) but its round-trip time still counts.
    pub fn from_sample(sample: Sample, in_flight: u32) -> Option<Self> {
        match sample.outcome() {
            Outcome::Ignored => None,
            outcome => Some(Self::new(
                sample.latency(),
                in_flight,
                outcome == Outcome::Overload,
            )),
        }
    }

    /// The call's round-trip time.
    pub const fn rtt(&self) -> Duration {
        self.rtt
    }

    /// Calls in flight when this one was admitted (itself included).
    pub const fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Whether the call was dropped (overload).
    pub const fn dropped(&self) -> bool {
        self.dropped
    }
}

/// A limit algorithm: learns a concurrency limit from completed calls.
///
/// The limiter calls [`update`](Algorithm::update) with the samples of
/// completed calls (possibly batched per window by a wrapper) and admits at
/// most the returned limit. Implementations are plain data; the limiter
/// serialises the calls.
pub trait Algorithm: fmt::Debug + Send + 'static {
    /// The limit in force now (before any sample: the initial limit).
    fn limit(&self) -> u32;

    /// Learns from one sample and returns the new limit (at least 1).
    fn update(&mut self, sample: LimitSample) -> u32;
}

impl<A: Algorithm + ?Sized> Algorithm for Box<A> {
    fn limit(&self) -> u32 {
        (**self).limit()
    }

    fn update(&mut self, sample: LimitSample) -> u32 {
        (**self).update(sample)
    }
}

/// `Err` naming `field` unless `ok`.
pub(crate) fn ensure(
    ok: bool,
    field: &'static str,
    value: impl fmt::Display,
    expected: &'static str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(field, value, expected))
    }
}

/// `limit` clamped to `[min, max]` (NaN gives `min`).
pub(crate) fn clamp_limit(limit: f64, min: u32, max: u32) -> f64 {
    if limit.is_nan() {
        return f64::from(min);
    }
    limit.clamp(f64::from(min), f64::from(max))
}

/// Whole nanoseconds, saturating (584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
