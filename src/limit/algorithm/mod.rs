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
//!
//! # Which to pick
//!
//! - **[`Hybrid::recommended()`]** unless you have a reason not to. In the
//!   simulations below it is the only one that reaches its target from a
//!   cold start both far below and far above, holds it through five
//!   minutes of 2× overload without drifting, comes back after a 10×
//!   latency spike, keeps the p99 of admitted calls near the service time's
//!   own, and backs off on a backend that fails fast. Its costs: a probe at
//!   half the limit every 20 windows (a few percent of goodput at small C)
//!   and, at C = 10, integer steps that make it wander ±2 around 12.
//! - **[`Fixed`]** when the capacity is known and stable (a connection
//!   pool of known size): no learning, no surprises.
//! - **[`Windowed`]`<`[`Aimd`]`>`** when the backend signals overload only
//!   by failing (429/503, timeouts) and you want the simplest loss-based
//!   controller; it ignores latency, so in front of a backend that queues
//!   instead of failing it grows to its maximum (first rows below). Never
//!   unwindowed: per-sample backoff collapses on a burst of drops.
//! - **[`Vegas`]** and **[`Gradient2`]**: for compatibility with settings
//!   tuned for Netflix's library. Vegas settles far below capacity when
//!   service times are noisy (its no-load RTT is the least single sample);
//!   Gradient2 ignores drops and, windowed, creeps upward under a steady
//!   overload because its long RTT averages the queueing it causes.
//!
//! # Evidence
//!
//! `cargo run --release --example limit_table --features full` runs every
//! algorithm against the simulator ([`sim`](crate::limit::sim), feature
//! `sim`): C workers with exponential service times (mean 10 ms) behind
//! an unbounded FIFO queue (or none: "fail fast"), open-loop Poisson
//! arrivals at 2× capacity, seed 1. References with their defaults except
//! `min_limit` 1 and `max_limit` 1000; windows of 100 ms.
//! `tests/limit_sim.rs` asserts the same properties.
//!
//! | C | algorithm | from 1 | from 10×C | 5 min overload: 2nd → 5th min, goodput, p99 | after 10× spike | fail fast: level, goodput |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | 10 | aimd | 1000 (never / never) | 1000 (never / never) | 1000 → 1000, 100 %, 1071 ms | 1000 | 11, 92 % |
//! | 10 | aimd+window | 236 (1 s / never) | 262 (never / never) | 319 → 546, 100 %, 594 ms | 268 | 10, 89 % |
//! | 10 | vegas | 6 (never / never) | 6 (never / never) | 6 → 6, 57 %, 46 ms | 6 | 6, 57 % |
//! | 10 | vegas+window | 16 (17 s / never) | 18 (never / never) | 16 → 20, 100 %, 54 ms | 15 | 10, 92 % |
//! | 10 | gradient2 | 24 (never / never) | 1000 (never / never) | 24 → 26, 100 %, 84 ms | 1000 | 28, 92 % |
//! | 10 | gradient2+window | 47 (1 s / never) | 176 (never / never) | 101 → 264, 100 %, 308 ms | 73 | 28, 92 % |
//! | 10 | hybrid (recommended) | 12 (6 s / 58 s) | 12 (0 s / 58 s) | 13 → 12, 91 %, 49 ms | 12 | 11, 87 % |
//! | 100 | aimd | 1000 (never / never) | 1000 (never / never) | 1000 → 1000, 100 %, 136 ms | 1000 | 96, 95 % |
//! | 100 | aimd+window | 498 (10 s / never) | 1000 (never / never) | 918 → 1000, 100 %, 135 ms | 709 | 95, 94 % |
//! | 100 | vegas | 6 (never / never) | 6 (never / never) | 6 → 6, 6 %, 45 ms | 6 | 6, 6 % |
//! | 100 | vegas+window | 49 (never / never) | 259 (never / never) | 33 → 31, 35 %, 46 ms | 30 | 29, 29 % |
//! | 100 | gradient2 | 14 (never / never) | 1000 (never / never) | 14 → 14, 14 %, 46 ms | 13 | 14, 14 % |
//! | 100 | gradient2+window | 265 (12 s / never) | 1000 (never / never) | 569 → 1000, 100 %, 132 ms | 250 | 217, 99 % |
//! | 100 | hybrid (recommended) | 119 (5 s / 5 s) | 120 (0 s / 5 s) | 122 → 119, 97 %, 48 ms | 123 | 95, 90 % |
//!
//! Targets: 1.2 × C with a queue (12 and 120), C without (10 and 100); levels are median limits, (reached / settled): when the limit (median of 11 ticks of 100 ms) first entered target ± 20 % and from when it stayed there to the end of the minute.

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

    /// Learns from `samples` in order, exactly as [`update`](Self::update)
    /// on each would, and returns the new limit. The limiter hands samples
    /// over in batches through this method: one dynamic call per batch,
    /// and inside it `update` is a static call the compiler can inline,
    /// so state carried from sample to sample can stay in registers.
    /// Override it only to share work across a batch.
    fn update_batch(&mut self, samples: &[LimitSample]) -> u32 {
        for &sample in samples {
            self.update(sample);
        }
        self.limit()
    }
}

impl<A: Algorithm + ?Sized> Algorithm for Box<A> {
    fn limit(&self) -> u32 {
        (**self).limit()
    }

    fn update(&mut self, sample: LimitSample) -> u32 {
        (**self).update(sample)
    }

    fn update_batch(&mut self, samples: &[LimitSample]) -> u32 {
        (**self).update_batch(samples)
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

/// The bounds every adaptive algorithm takes: `min_limit ≥ 1`,
/// `max_limit ≥ min_limit`, `initial_limit` between them.
pub(crate) fn ensure_limits(min: u32, max: u32, initial: u32) -> Result<(), ConfigError> {
    ensure(min >= 1, "min_limit", min, "at least 1")?;
    ensure(max >= min, "max_limit", max, "at least min_limit")?;
    ensure(
        (min..=max).contains(&initial),
        "initial_limit",
        initial,
        "within [min_limit, max_limit]",
    )
}

/// Whole nanoseconds, saturating (584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
