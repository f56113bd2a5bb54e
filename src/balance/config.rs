//! The balancer's configuration and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::load::{Load, PeakEwma};
use super::Chooser;
use crate::clock::{Clock, SharedClock};
use crate::observe::{Observer, SharedObserver};
use crate::ConfigError;

/// Envoy's success-rate outlier detection: at every interval, among
/// endpoints with at least `request_volume` calls in it, and only if at
/// least `minimum_hosts` have that many, eject those whose success rate is
/// below mean − stdev × `stdev_factor`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuccessRate {
    /// Endpoints with enough calls needed before any is judged (Envoy: 5).
    pub minimum_hosts: u32,
    /// Calls in an interval that make an endpoint count (Envoy: 100).
    pub request_volume: u32,
    /// How many standard deviations below the mean ejects (Envoy: 1.9).
    pub stdev_factor: f64,
}

impl Default for SuccessRate {
    fn default() -> Self {
        Self {
            minimum_hosts: 5,
            request_volume: 100,
            stdev_factor: 1.9,
        }
    }
}

/// Envoy's slow start: a new or returning endpoint's weight grows over
/// `window` as `max(min_weight, (elapsed / window)^(1 / aggression))`, and
/// the chooser divides its cost by that weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowStart {
    /// How long the ramp lasts.
    pub window: Duration,
    /// Above 1 ramps faster early, below 1 slower (Envoy: 1.0).
    pub aggression: f64,
    /// The weight an endpoint starts from, in (0, 1] (Envoy: 10 %).
    pub min_weight: f64,
}

impl SlowStart {
    /// A linear ramp over `window` from a weight of 0.1.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            aggression: 1.0,
            min_weight: 0.1,
        }
    }
}

/// A validated balancer configuration.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) load: Arc<dyn Load>,
    pub(crate) consecutive_failures: Option<u32>,
    pub(crate) success_rate: Option<SuccessRate>,
    pub(crate) interval: u64,
    pub(crate) base_ejection: u64,
    pub(crate) max_ejection: u64,
    pub(crate) max_ejection_percent: f64,
    pub(crate) panic_threshold: f64,
    pub(crate) slow_start: Option<SlowStart>,
    pub(crate) clock: SharedClock,
    pub(crate) observer: SharedObserver,
    pub(crate) seed: Option<u64>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("name", &self.name)
            .field("load", &self.load)
            .field("consecutive_failures", &self.consecutive_failures)
            .field("success_rate", &self.success_rate)
            .field("interval", &Duration::from_nanos(self.interval))
            .field("base_ejection", &Duration::from_nanos(self.base_ejection))
            .field("max_ejection", &Duration::from_nanos(self.max_ejection))
            .field("max_ejection_percent", &self.max_ejection_percent)
            .field("panic_threshold", &self.panic_threshold)
            .field("slow_start", &self.slow_start)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Chooser`] (and from it a [`Balance`](super::Balance)).
/// Defaults follow Envoy's outlier detection: 5 consecutive failures eject,
/// success-rate detection on, 10 s interval, 30 s base ejection time capped
/// at 300 s, at most 10 % of endpoints ejected (but at least one), panic
/// below 50 % healthy; peak-EWMA load; no slow start.
///
/// ```
/// use std::time::Duration;
/// use seawall::balance::{Chooser, PendingRequests, SlowStart};
///
/// let chooser: Chooser<&str, u32> = Chooser::builder()
///     .name("users")
///     .load(PendingRequests::default())
///     .consecutive_failures(3)
///     .base_ejection_time(Duration::from_secs(10))
///     .slow_start(SlowStart::new(Duration::from_secs(30)))
///     .seed(42)
///     .build()?;
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    config: Config,
    interval: Duration,
    base_ejection: Duration,
    max_ejection: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            config: Config {
                name: String::from("balance"),
                load: Arc::new(PeakEwma::default()),
                consecutive_failures: Some(5),
                success_rate: Some(SuccessRate::default()),
                interval: 0,
                base_ejection: 0,
                max_ejection: 0,
                max_ejection_percent: 10.0,
                panic_threshold: 50.0,
                slow_start: None,
                clock: SharedClock::Precise,
                observer: SharedObserver::default(),
                seed: None,
            },
            interval: Duration::from_secs(10),
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(300),
        }
    }
}

impl Builder {
    /// The name events carry.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into();
        self
    }

    /// The load estimator (default [`PeakEwma`]).
    pub fn load(mut self, load: impl Load) -> Self {
        self.config.load = Arc::new(load);
        self
    }

    /// Consecutive failures (or overloads) that eject an endpoint; at least 1.
    pub fn consecutive_failures(mut self, n: u32) -> Self {
        self.config.consecutive_failures = Some(n);
        self
    }

    /// Turns off ejection on consecutive failures.
    pub fn no_consecutive_failures(mut self) -> Self {
        self.config.consecutive_failures = None;
        self
    }

    /// Success-rate outlier detection settings.
    pub fn success_rate(mut self, success_rate: SuccessRate) -> Self {
        self.config.success_rate = Some(success_rate);
        self
    }

    /// Turns off success-rate outlier detection.
    pub fn no_success_rate(mut self) -> Self {
        self.config.success_rate = None;
        self
    }

    /// How often success rates are judged, ejection multipliers relax and
    /// ejected endpoints are returned (default 10 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The ejection time of a first ejection; the n-th ejection in a row
    /// lasts n times as long (default 30 s).
    pub fn base_ejection_time(mut self, time: Duration) -> Self {
        self.base_ejection = time;
        self
    }

    /// The longest ejection (default 300 s).
    pub fn max_ejection_time(mut self, time: Duration) -> Self {
        self.max_ejection = time;
        self
    }

    /// The largest share of endpoints ejected at once, in percent; one
    /// endpoint may always be ejected (default 10).
    pub fn max_ejection_percent(mut self, percent: f64) -> Self {
        self.config.max_ejection_percent = percent;
        self
    }

    /// Below this share of healthy endpoints, in percent, the chooser
    /// ignores ejections and balances over all (default 50; 0 never panics).
    /// Gates still apply in panic mode: an open breaker or a full limit
    /// protects its endpoint whatever the others' health.
    pub fn panic_threshold(mut self, percent: f64) -> Self {
        self.config.panic_threshold = percent;
        self
    }

    /// Ramps new and returning endpoints up over a window.
    pub fn slow_start(mut self, slow_start: SlowStart) -> Self {
        self.config.slow_start = Some(slow_start);
        self
    }

    /// The clock (default [`PreciseClock`](crate::clock::PreciseClock):
    /// latencies need nanoseconds).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = SharedClock::new(clock);
        self
    }

    /// Receives ejection, return and endpoint-set events.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.config.observer = std::mem::take(&mut self.config.observer).and(observer);
        self
    }

    /// Seeds the random picks (default: from entropy). Clones of one
    /// chooser derive their own sequences from it.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Validates the configuration and builds an empty chooser.
    pub fn build<K, T>(self) -> Result<Chooser<K, T>, ConfigError>
    where
        K: Clone + Eq + std::hash::Hash + fmt::Debug + Send + Sync + 'static,
        T: Send + Sync + 'static,
    {
        Ok(Chooser::from_config(self.validate()?))
    }

    pub(crate) fn validate(mut self) -> Result<Config, ConfigError> {
        let c = &mut self.config;
        if c.consecutive_failures == Some(0) {
            return Err(ConfigError::new("consecutive_failures", 0, "at least 1"));
        }
        if let Some(sr) = c.success_rate {
            if !(sr.stdev_factor.is_finite() && sr.stdev_factor > 0.0) {
                return Err(ConfigError::new(
                    "success_rate.stdev_factor",
                    sr.stdev_factor,
                    "a finite number above 0",
                ));
            }
            if sr.minimum_hosts == 0 {
                return Err(ConfigError::new(
                    "success_rate.minimum_hosts",
                    0,
                    "at least 1",
                ));
            }
        }
        if self.interval.is_zero() {
            return Err(ConfigError::new("interval", "0s", "a duration above 0"));
        }
        if self.base_ejection.is_zero() {
            return Err(ConfigError::new(
                "base_ejection_time",
                "0s",
                "a duration above 0",
            ));
        }
        if self.max_ejection < self.base_ejection {
            return Err(ConfigError::new(
                "max_ejection_time",
                format!("{:?}", self.max_ejection),
                "a duration at least base_ejection_time",
            ));
        }
        for (field, value) in [
            ("max_ejection_percent", c.max_ejection_percent),
            ("panic_threshold", c.panic_threshold),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(ConfigError::new(field, value, "a percentage in [0, 100]"));
            }
        }
        if let Some(s) = c.slow_start {
            if s.window.is_zero() {
                return Err(ConfigError::new(
                    "slow_start.window",
                    "0s",
                    "a duration above 0",
                ));
            }
            if !(s.aggression.is_finite() && s.aggression > 0.0) {
                return Err(ConfigError::new(
                    "slow_start.aggression",
                    s.aggression,
                    "a finite number above 0",
                ));
            }
            if !(s.min_weight > 0.0 && s.min_weight <= 1.0) {
                return Err(ConfigError::new(
                    "slow_start.min_weight",
                    s.min_weight,
                    "a weight in (0, 1]",
                ));
            }
        }
        use crate::clock::saturating_nanos as ns;
        c.interval = ns(self.interval);
        c.base_ejection = ns(self.base_ejection);
        c.max_ejection = ns(self.max_ejection);
        Ok(self.config)
    }
}
