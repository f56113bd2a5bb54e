//! Delay-based limit after TCP Vegas.

use super::rng::SplitMix64;
use super::{ensure, Algorithm, LimitSample};
use crate::ConfigError;

/// Delay-based limit after TCP Vegas (Brakmo and Peterson, 1995), as
/// Netflix's `VegasLimit`.
///
/// It keeps `rtt_noload`, the lowest RTT seen, and per sample estimates the
/// queue the limit `L` builds: `queue = ⌈L × (1 − rtt_noload / rtt)⌉`. With
/// `lg(L) = max(1, ⌊log10 L⌋)`, `α = 3·lg(L)`, `β = 6·lg(L)` and
/// `threshold = lg(L)`:
///
/// - a drop: `L ← L − lg(L)`;
/// - else if `in_flight × 2 < L` (the caller does not use the limit): no
///   change;
/// - else `queue ≤ threshold`: `L ← L + β`; `queue < α`: `L ← L + lg(L)`;
///   `queue > β`: `L ← L − lg(L)`; otherwise no change;
///
/// then `L ← (1 − smoothing)·L + smoothing·clamp(L', 1, max)`. The first
/// sample, and any sample faster than `rtt_noload`, only sets `rtt_noload`.
/// Every `probe_multiplier × L × jitter` samples (jitter uniform in
/// `[0.5, 1)`) `rtt_noload` is reset to the current sample's RTT so a
/// permanent latency change is eventually learned.
///
/// Defaults (the reference's): initial 20, max 1000, smoothing 1, probe
/// multiplier 30. Deviation: the jitter comes from a seeded generator
/// ([`VegasConfig::seed`]) instead of a thread-local one, so runs repeat.
///
/// Known weakness: `rtt_noload` is the minimum of *single* samples, so with
/// noisy service times it sits far below the typical RTT, the queue estimate
/// is inflated and the limit settles below the capacity (see
/// `tests/limit_sim.rs`).
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{Algorithm, LimitSample};
/// use seawall::limit::algorithm::Vegas;
///
/// let mut vegas = Vegas::builder().initial_limit(10).build()?;
/// let ms = Duration::from_millis;
/// vegas.update(LimitSample::new(ms(10), 10, false)); // sets rtt_noload
/// // No queueing: grow by β = 6.
/// assert_eq!(vegas.update(LimitSample::new(ms(10), 10, false)), 16);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Vegas {
    config: VegasConfig,
    estimated: f64,
    rtt_noload: u64,
    probe_count: u64,
    probe_jitter: f64,
    rng: SplitMix64,
}

/// Settings of [`Vegas`]; [`build`](VegasConfig::build) validates.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct VegasConfig {
    initial_limit: u32,
    max_limit: u32,
    smoothing: f64,
    probe_multiplier: u32,
    alpha: Option<u32>,
    beta: Option<u32>,
    seed: u64,
}

impl Default for VegasConfig {
    fn default() -> Self {
        Self {
            initial_limit: 20,
            max_limit: 1000,
            smoothing: 1.0,
            probe_multiplier: 30,
            alpha: None,
            beta: None,
            seed: 0x5EA_3A11,
        }
    }
}

impl VegasConfig {
    /// The limit before any sample (default 20, within `[1, max_limit]`).
    pub fn initial_limit(mut self, limit: u32) -> Self {
        self.initial_limit = limit;
        self
    }
    /// The highest limit (default 1000, the reference's `maxConcurrency`).
    pub fn max_limit(mut self, limit: u32) -> Self {
        self.max_limit = limit;
        self
    }
    /// Weight of a new estimate (default 1: no smoothing; in `(0, 1]`).
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = smoothing;
        self
    }
    /// Samples between `rtt_noload` probes, per unit of limit (default 30,
    /// at least 1).
    pub fn probe_multiplier(mut self, multiplier: u32) -> Self {
        self.probe_multiplier = multiplier;
        self
    }
    /// A fixed α instead of `3·lg(L)` (below β).
    pub fn alpha(mut self, alpha: u32) -> Self {
        self.alpha = Some(alpha);
        self
    }
    /// A fixed β instead of `6·lg(L)` (above α).
    pub fn beta(mut self, beta: u32) -> Self {
        self.beta = Some(beta);
        self
    }
    /// Seed of the probe jitter.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<Vegas, ConfigError> {
        ensure(
            self.max_limit >= 1,
            "max_limit",
            self.max_limit,
            "at least 1",
        )?;
        ensure(
            (1..=self.max_limit).contains(&self.initial_limit),
            "initial_limit",
            self.initial_limit,
            "within [1, max_limit]",
        )?;
        ensure(
            self.smoothing > 0.0 && self.smoothing <= 1.0,
            "smoothing",
            self.smoothing,
            "a weight in (0, 1]",
        )?;
        ensure(
            self.probe_multiplier >= 1,
            "probe_multiplier",
            self.probe_multiplier,
            "at least 1",
        )?;
        if let (Some(a), Some(b)) = (self.alpha, self.beta) {
            ensure(a < b, "alpha", a, "below beta")?;
        }
        let mut rng = SplitMix64::new(self.seed);
        let probe_jitter = jitter(&mut rng);
        Ok(Vegas {
            estimated: f64::from(self.initial_limit),
            rtt_noload: 0,
            probe_count: 0,
            probe_jitter,
            rng,
            config: self,
        })
    }
}

fn jitter(rng: &mut SplitMix64) -> f64 {
    0.5 + rng.next_f64() * 0.5
}

/// `max(1, ⌊log10 x⌋)`, the reference's `Log10RootIntFunction`, counted
/// in integer digits: exact at powers of ten (where a floating-point
/// `log10` may land just below) and without a libm call per sample.
pub(crate) fn lg(x: f64) -> f64 {
    if x < 10.0 {
        1.0
    } else {
        // `as` saturates; a limit is at most `u32::MAX` anyway.
        f64::from((x as u64).ilog10())
    }
}

impl Vegas {
    /// Settings starting from the reference's defaults.
    pub fn builder() -> VegasConfig {
        VegasConfig::default()
    }

    /// The lowest RTT seen since the last probe (zero before any sample).
    pub fn rtt_noload(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.rtt_noload)
    }
}

impl Default for Vegas {
    fn default() -> Self {
        VegasConfig::default().build().expect("defaults are valid")
    }
}

impl Algorithm for Vegas {
    fn limit(&self) -> u32 {
        self.estimated as u32
    }

    #[inline]
    fn update(&mut self, sample: LimitSample) -> u32 {
        // A zero RTT (the reference throws) says nothing about queueing.
        let rtt = super::nanos(sample.rtt()).max(1);
        self.probe_count += 1;
        if self.probe_jitter * f64::from(self.config.probe_multiplier) * self.estimated
            <= self.probe_count as f64
        {
            self.probe_jitter = jitter(&mut self.rng);
            self.probe_count = 0;
            self.rtt_noload = rtt;
            return self.limit();
        }
        if self.rtt_noload == 0 || rtt < self.rtt_noload {
            self.rtt_noload = rtt;
            return self.limit();
        }
        let l = self.estimated;
        // An application-limited success says nothing: checked before the
        // queue estimate and its division.
        if !sample.dropped() && f64::from(sample.in_flight()) * 2.0 < l {
            return self.limit();
        }
        let lgl = lg(l.floor());
        let new = if sample.dropped() {
            l - lgl
        } else {
            let queue = (l * (1.0 - self.rtt_noload as f64 / rtt as f64)).ceil();
            let alpha = self.config.alpha.map_or(3.0 * lgl, f64::from);
            let beta = self.config.beta.map_or(6.0 * lgl, f64::from);
            if queue <= lgl {
                l + beta
            } else if queue < alpha {
                l + lgl
            } else if queue > beta {
                l - lgl
            } else {
                return self.limit();
            }
        };
        let new = new.clamp(1.0, f64::from(self.config.max_limit));
        let s = self.config.smoothing;
        self.estimated = (1.0 - s) * l + s * new;
        self.limit()
    }
}

#[cfg(all(test, not(seawall_loom)))]
mod tests {
    use super::lg;

    #[test]
    fn lg_counts_digits_exactly_at_powers_of_ten() {
        let cases = [
            (0.0, 1.0),
            (9.0, 1.0),
            (10.0, 1.0),
            (99.0, 1.0),
            (100.0, 2.0),
            (999.0, 2.0),
            (1000.0, 3.0),
            (1e9, 9.0),
            (f64::from(u32::MAX), 9.0),
        ];
        for (x, expected) in cases {
            assert_eq!(lg(x), expected, "lg({x})");
        }
    }
}
