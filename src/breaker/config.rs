//! Breaker configuration: plain data, validated once.

use std::sync::Arc;
use std::time::Duration;

use super::Backoff;
use crate::ConfigError;

/// Largest count window: the window's counters are 16-bit fields of one
/// atomic word (see `window/count.rs`), with headroom for in-flight updates.
pub const MAX_COUNT_WINDOW: u32 = 30_000;
/// Largest time window, in one-second buckets.
pub const MAX_TIME_WINDOW: u32 = 3_600;
/// Most half-open probes: each probe counter is an 8-bit field of the state
/// word.
pub const MAX_HALF_OPEN_PROBES: u32 = 255;

/// What trips a closed breaker.
///
/// In a file: `policy = { type = "count_window", size = 100 }`,
/// `{ type = "time_window", seconds = 60 }` or
/// `{ type = "consecutive_failures", threshold = 5 }`.
///
/// ```
/// use seawall::breaker::{CircuitBreaker, Policy};
/// let breaker = CircuitBreaker::builder()
///     .policy(Policy::TimeWindow { seconds: 30 })
///     .build()?;
/// assert_eq!(breaker.config().policy(), Policy::TimeWindow { seconds: 30 });
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)
)]
#[non_exhaustive]
pub enum Policy {
    /// Failure and slow-call rates over the last `size` calls. The window
    /// truly slides: when a call enters, the oldest leaves.
    CountWindow {
        /// Calls in the window, `1..=30_000`.
        size: u32,
    },
    /// Failure and slow-call rates over the calls of the last `seconds`
    /// whole seconds, kept as one bucket per second (memory does not grow
    /// with the call rate).
    TimeWindow {
        /// One-second buckets, `1..=3_600`.
        seconds: u32,
    },
    /// Trip after `threshold` failures in a row; a success starts the count
    /// again. Slow calls do not count here.
    ConsecutiveFailures {
        /// Failures in a row that trip the breaker, at least 1.
        threshold: u32,
    },
}

/// The validated settings of one circuit breaker.
///
/// Defaults follow resilience4j: a count window of 100 calls, 100 minimum
/// calls, failure-rate threshold 50 %, slow-call-rate threshold 100 %, 60 s
/// open, 10 half-open probes, no maximum half-open wait. One difference:
/// slow-call detection is off until
/// [`slow_call_duration_threshold`](super::Builder::slow_call_duration_threshold)
/// is set, so that the default closed path reads no clock.
///
/// With feature `serde` it deserializes (validated the same way, durations
/// written as `"30s"` or `"250ms"`):
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let config: seawall::breaker::Config = toml::from_str(r#"
///     name = "users"
///     policy = { type = "time_window", seconds = 30 }
///     failure_rate_threshold = 25.0
///     minimum_number_of_calls = 20
///     slow_call_duration_threshold = "2s"
///     wait_duration_in_open_state = { initial = "1s", multiplier = 2.0, max = "1m" }
/// "#).unwrap();
/// assert_eq!(config.name(), "users");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(try_from = "Settings", into = "Settings"))]
pub struct Config(pub(crate) Settings);

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub(crate) struct Settings {
    pub(crate) name: Arc<str>,
    pub(crate) policy: Policy,
    pub(crate) failure_rate_threshold: f32,
    pub(crate) slow_call_rate_threshold: f32,
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub(crate) slow_call_duration_threshold: Option<Duration>,
    pub(crate) minimum_number_of_calls: u32,
    pub(crate) wait_duration_in_open_state: Backoff,
    pub(crate) permitted_number_of_calls_in_half_open_state: u32,
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub(crate) max_wait_duration_in_half_open_state: Option<Duration>,
    pub(crate) seed: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            name: Arc::from("default"),
            policy: Policy::CountWindow { size: 100 },
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold: None,
            minimum_number_of_calls: 100,
            wait_duration_in_open_state: Backoff::Fixed(Duration::from_secs(60)),
            permitted_number_of_calls_in_half_open_state: 10,
            max_wait_duration_in_half_open_state: None,
            seed: None,
        }
    }
}

impl TryFrom<Settings> for Config {
    type Error = ConfigError;

    fn try_from(s: Settings) -> Result<Self, ConfigError> {
        let percent = |field, v: f32| {
            if v.is_finite() && v > 0.0 && v <= 100.0 {
                Ok(())
            } else {
                Err(ConfigError::new(field, v, "a percentage in (0, 100]"))
            }
        };
        let positive = |field, v: Option<Duration>| match v {
            Some(d) if d.is_zero() => Err(ConfigError::new(
                field,
                format_args!("{d:?}"),
                "a duration greater than zero",
            )),
            _ => Ok(()),
        };
        match s.policy {
            Policy::CountWindow { size } if !(1..=MAX_COUNT_WINDOW).contains(&size) => {
                return Err(ConfigError::new(
                    "policy.size",
                    size,
                    "a number in 1..=30000",
                ))
            }
            Policy::TimeWindow { seconds } if !(1..=MAX_TIME_WINDOW).contains(&seconds) => {
                return Err(ConfigError::new(
                    "policy.seconds",
                    seconds,
                    "a number in 1..=3600",
                ))
            }
            Policy::ConsecutiveFailures { threshold: 0 } => {
                return Err(ConfigError::new(
                    "policy.threshold",
                    0,
                    "a number of at least 1",
                ))
            }
            _ => {}
        }
        percent("failure_rate_threshold", s.failure_rate_threshold)?;
        percent("slow_call_rate_threshold", s.slow_call_rate_threshold)?;
        positive(
            "slow_call_duration_threshold",
            s.slow_call_duration_threshold,
        )?;
        if s.minimum_number_of_calls == 0 {
            return Err(ConfigError::new(
                "minimum_number_of_calls",
                0,
                "a number of at least 1",
            ));
        }
        s.wait_duration_in_open_state.validate()?;
        let probes = s.permitted_number_of_calls_in_half_open_state;
        if !(1..=MAX_HALF_OPEN_PROBES).contains(&probes) {
            return Err(ConfigError::new(
                "permitted_number_of_calls_in_half_open_state",
                probes,
                "a number in 1..=255",
            ));
        }
        positive(
            "max_wait_duration_in_half_open_state",
            s.max_wait_duration_in_half_open_state,
        )?;
        Ok(Config(s))
    }
}

impl From<Config> for Settings {
    fn from(c: Config) -> Settings {
        c.0
    }
}

impl Config {
    /// The breaker's name, used in events and metrics labels.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The name, shared with every refusal the breaker returns.
    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.0.name
    }

    /// What trips the breaker.
    pub fn policy(&self) -> Policy {
        self.0.policy
    }

    /// The failure rate, in percent, at or above which the breaker trips.
    pub fn failure_rate_threshold(&self) -> f32 {
        self.0.failure_rate_threshold
    }

    /// The slow-call rate, in percent, at or above which the breaker trips.
    pub fn slow_call_rate_threshold(&self) -> f32 {
        self.0.slow_call_rate_threshold
    }

    /// Calls longer than this are slow; `None` turns detection off.
    pub fn slow_call_duration_threshold(&self) -> Option<Duration> {
        self.0.slow_call_duration_threshold
    }

    /// Calls a window must hold before its rates are defined.
    pub fn minimum_number_of_calls(&self) -> u32 {
        self.0.minimum_number_of_calls
    }

    /// How long OPEN lasts.
    pub fn wait_duration_in_open_state(&self) -> Backoff {
        self.0.wait_duration_in_open_state
    }

    /// Probe calls admitted in HALF_OPEN.
    pub fn permitted_number_of_calls_in_half_open_state(&self) -> u32 {
        self.0.permitted_number_of_calls_in_half_open_state
    }

    /// The longest HALF_OPEN may wait for its probes before reopening.
    pub fn max_wait_duration_in_half_open_state(&self) -> Option<Duration> {
        self.0.max_wait_duration_in_half_open_state
    }

    /// The jitter seed, if one was given.
    pub fn seed(&self) -> Option<u64> {
        self.0.seed
    }
}
