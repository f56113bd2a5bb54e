//! seawall's recommended algorithm: delay gradient, RTT probes, loss backoff.

use super::{clamp_limit, ensure, ensure_limits, Algorithm, LimitSample, Windowed, WindowedConfig};
use crate::ConfigError;
use std::time::Duration;

/// seawall's recommended limit: a delay gradient towards a fixed queueing
/// headroom, a no-load RTT re-measured by periodic probes, and a
/// multiplicative backoff on drops. It learns once per *window* (see
/// [`Hybrid::recommended`]), not per call.
///
/// Per window, with limit `L`, window RTT `rtt` (average), `base` the
/// no-load RTT and `r = rtt / base`:
///
/// 1. a drop in the window: `L ← L × backoff_ratio` (loss is the one
///    signal a backend that fails fast gives, and the one Gradient2
///    ignores);
/// 2. else `r > 1 + headroom`: `L ← L × max(0.5, (1 + headroom) / r)`;
/// 3. else if `in_flight × 2 < L` (the caller does not use the limit): no
///    change, so idle periods do not inflate it;
/// 4. else `r ≤ 1 + headroom / 2`: `L ← L + max(1, √L)`; otherwise `L ← L + 1`;
///
/// then `L` is clamped to `[min_limit, max_limit]`. Under saturation Little's
/// law gives `rtt = L × S / C` for `C` workers of service time `S`, so
/// `r = L / C` and the fixed point is `L = (1 + headroom) × C`: every worker
/// busy and a queue of `headroom × C`, which bounds the queueing delay at
/// `headroom × S` on average.
///
/// `base` comes from probes. Every `probe_interval` windows the limit drops
/// to `L × probe_fraction` for two windows: the first drains the queue, the
/// second measures the RTT without queueing; `base` becomes the mean of that
/// measurement and the previous base (the first probe sets it; before it,
/// the least window RTT stands in). Then `L` is restored. Probing keeps the
/// base honest both ways: it cannot drift up with a standing queue (the
/// Gradient2 creep: its long RTT is an average of queued RTTs) and it does
/// not stay stuck below a backend whose latency truly rose (a 10× latency
/// step is mostly learned within three probes instead of holding the limit
/// at its minimum). Averaging, not a minimum, keeps noise from biasing the
/// base low: the least of many noisy RTTs sits far below the typical one,
/// which is why Vegas settles under the capacity when service times vary.
///
/// Sources: the gradient and the "in_flight × 2 < L" guard are Netflix's
/// Gradient2 and Vegas; the drop backoff is AIMD (Chiu and Jain, 1989); the
/// periodic drain to measure the no-load RTT is BBR's ProbeRTT (Cardwell et
/// al., "BBR: congestion-based congestion control", ACM Queue 2016).
///
/// Defaults: initial 20, min 1, max 1000, headroom 0.2, backoff 0.9, probe
/// every 20 windows at half the limit.
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{Algorithm, LimitSample};
/// use seawall::limit::algorithm::Hybrid;
///
/// let mut h = Hybrid::builder().initial_limit(10).build()?;
/// let ms = Duration::from_millis;
/// h.update(LimitSample::new(ms(10), 10, false)); // base 10 ms: r = 1, +√10
/// assert_eq!(h.limit(), 13);
/// // r = 2: L × 1.2 / 2.
/// assert_eq!(h.update(LimitSample::new(ms(20), 13, false)), 7);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hybrid {
    config: HybridConfig,
    limit: f64,
    base: f64,
    probed: bool,
    windows: u32,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Normal,
    Draining { saved: f64 },
    Measuring { saved: f64 },
}

/// Settings of [`Hybrid`]; [`build`](HybridConfig::build) validates.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct HybridConfig {
    initial_limit: u32,
    min_limit: u32,
    max_limit: u32,
    headroom: f64,
    backoff_ratio: f64,
    probe_interval: u32,
    probe_fraction: f64,
}

impl Default for HybridConfig {
    fn default() -> Self {
        Self {
            initial_limit: 20,
            min_limit: 1,
            max_limit: 1000,
            headroom: 0.2,
            backoff_ratio: 0.9,
            probe_interval: 20,
            probe_fraction: 0.5,
        }
    }
}

impl HybridConfig {
    /// The limit before any sample (default 20, within `[min, max]`).
    pub fn initial_limit(mut self, limit: u32) -> Self {
        self.initial_limit = limit;
        self
    }
    /// The lowest limit (default 1, at least 1).
    pub fn min_limit(mut self, limit: u32) -> Self {
        self.min_limit = limit;
        self
    }
    /// The highest limit (default 1000, at least `min_limit`).
    pub fn max_limit(mut self, limit: u32) -> Self {
        self.max_limit = limit;
        self
    }
    /// Queue kept as a share of the workers (default 0.2, in `(0, 1]`).
    pub fn headroom(mut self, headroom: f64) -> Self {
        self.headroom = headroom;
        self
    }
    /// The factor applied on a window with a drop (default 0.9, in
    /// `[0.5, 1)`).
    pub fn backoff_ratio(mut self, ratio: f64) -> Self {
        self.backoff_ratio = ratio;
        self
    }
    /// Windows between RTT probes (default 20, at least 2).
    pub fn probe_interval(mut self, windows: u32) -> Self {
        self.probe_interval = windows;
        self
    }
    /// The share of the limit kept while probing (default 0.5, in
    /// `(0, 1)`; it must bring the limit under the workers to drain).
    pub fn probe_fraction(mut self, fraction: f64) -> Self {
        self.probe_fraction = fraction;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<Hybrid, ConfigError> {
        ensure_limits(self.min_limit, self.max_limit, self.initial_limit)?;
        ensure(
            self.headroom > 0.0 && self.headroom <= 1.0,
            "headroom",
            self.headroom,
            "a share in (0, 1]",
        )?;
        ensure(
            (0.5..1.0).contains(&self.backoff_ratio),
            "backoff_ratio",
            self.backoff_ratio,
            "a ratio in [0.5, 1)",
        )?;
        ensure(
            self.probe_interval >= 2,
            "probe_interval",
            self.probe_interval,
            "at least 2",
        )?;
        ensure(
            self.probe_fraction > 0.0 && self.probe_fraction < 1.0,
            "probe_fraction",
            self.probe_fraction,
            "a share in (0, 1)",
        )?;
        Ok(Hybrid {
            limit: f64::from(self.initial_limit),
            base: f64::INFINITY,
            probed: false,
            windows: 0,
            phase: Phase::Normal,
            config: self,
        })
    }
}

impl Hybrid {
    /// Settings starting from the defaults.
    pub fn builder() -> HybridConfig {
        HybridConfig::default()
    }

    /// The recommended limit: [`Hybrid`] with its defaults, fed averaged
    /// windows of `clamp(2 × min RTT, 100 ms, 1 s)` and at least 10 samples,
    /// a short window kept open until it has them.
    pub fn recommended() -> Windowed<Hybrid> {
        Self::windowed(Self::default(), Windowed::builder())
            .expect("the recommended settings are valid")
    }

    /// `hybrid` behind a window configured as in [`recommended`](Self::recommended),
    /// starting from `window`.
    pub fn windowed(
        hybrid: Hybrid,
        window: WindowedConfig,
    ) -> Result<Windowed<Hybrid>, ConfigError> {
        window
            .min_window_time(Duration::from_millis(100))
            .short_window(super::ShortWindow::Extend)
            .build(hybrid)
    }

    /// The no-load RTT in use (zero before the first window).
    pub fn base_rtt(&self) -> Duration {
        if self.base.is_finite() {
            Duration::from_nanos(self.base as u64)
        } else {
            Duration::ZERO
        }
    }

    /// Whether an RTT probe is under way.
    pub fn probing(&self) -> bool {
        self.phase != Phase::Normal
    }

    fn clamp(&self, limit: f64) -> f64 {
        clamp_limit(limit, self.config.min_limit, self.config.max_limit)
    }

    fn backoff(&self, limit: f64, dropped: bool) -> f64 {
        if dropped {
            self.clamp(limit * self.config.backoff_ratio)
        } else {
            limit
        }
    }
}

impl Default for Hybrid {
    fn default() -> Self {
        HybridConfig::default().build().expect("defaults are valid")
    }
}

impl Algorithm for Hybrid {
    fn limit(&self) -> u32 {
        self.limit as u32
    }

    #[inline]
    fn update(&mut self, sample: LimitSample) -> u32 {
        let c = &self.config;
        let rtt = super::nanos(sample.rtt()).max(1) as f64;
        match self.phase {
            Phase::Draining { saved } => {
                self.phase = Phase::Measuring {
                    saved: self.backoff(saved, sample.dropped()),
                };
            }
            Phase::Measuring { saved } => {
                self.base = if self.probed {
                    (self.base + rtt) / 2.0
                } else {
                    rtt
                };
                self.probed = true;
                self.limit = self.backoff(saved, sample.dropped());
                self.phase = Phase::Normal;
                self.windows = 0;
            }
            Phase::Normal => {
                if !self.probed {
                    self.base = self.base.min(rtt);
                }
                let r = rtt / self.base;
                let target = 1.0 + c.headroom;
                let l = self.limit;
                let new = if sample.dropped() {
                    l * c.backoff_ratio
                } else if r > target {
                    l * (target / r).max(0.5)
                } else if f64::from(sample.in_flight()) * 2.0 < l {
                    l
                } else if r <= 1.0 + c.headroom / 2.0 {
                    l + l.sqrt().max(1.0)
                } else {
                    l + 1.0
                };
                self.limit = self.clamp(new);
                self.windows += 1;
                if self.windows >= c.probe_interval {
                    self.phase = Phase::Draining { saved: self.limit };
                    self.limit = self.clamp(self.limit * c.probe_fraction);
                }
            }
        }
        self.limit()
    }
}
