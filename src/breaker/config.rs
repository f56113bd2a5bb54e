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
/// With feature `serde` it deserializes, validated the same way: durations
/// are written as `"30s"` or `"250ms"`; the wait in OPEN as a duration, or
/// as a table `{ initial, multiplier, max, jitter }` (a `multiplier` of 1,
/// the default, with a `jitter` is a jittered fixed wait); the policy as
/// `policy = { type = ... }` or, with resilience4j's keys,
/// `sliding_window_type = "COUNT_BASED"` or `"TIME_BASED"` and
/// `sliding_window_size`. A key it does not know is an error naming the key,
/// a value out of range an error naming the field (with its position in a
/// TOML file), and an empty table is not a configuration.
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(into = "Settings"))]
pub struct Config(pub(crate) Settings);

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub(crate) struct Settings {
    pub(crate) name: Arc<str>,
    pub(crate) policy: Policy,
    pub(crate) failure_rate_threshold: f32,
    pub(crate) slow_call_rate_threshold: f32,
    #[cfg_attr(
        feature = "serde",
        serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")
    )]
    pub(crate) slow_call_duration_threshold: Option<Duration>,
    pub(crate) minimum_number_of_calls: u32,
    pub(crate) wait_duration_in_open_state: Backoff,
    pub(crate) permitted_number_of_calls_in_half_open_state: u32,
    #[cfg_attr(
        feature = "serde",
        serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")
    )]
    pub(crate) max_wait_duration_in_half_open_state: Option<Duration>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
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
        check::policy(s.policy)?;
        check::percent("failure_rate_threshold", s.failure_rate_threshold)?;
        check::percent("slow_call_rate_threshold", s.slow_call_rate_threshold)?;
        check::positive(
            "slow_call_duration_threshold",
            s.slow_call_duration_threshold,
        )?;
        check::at_least_one("minimum_number_of_calls", s.minimum_number_of_calls)?;
        s.wait_duration_in_open_state.validate()?;
        check::probes(s.permitted_number_of_calls_in_half_open_state)?;
        check::positive(
            "max_wait_duration_in_half_open_state",
            s.max_wait_duration_in_half_open_state,
        )?;
        Ok(Config(s))
    }
}

/// One check per kind of field, shared by the builder and the file reader
/// (which runs them as each value is read, so a format that knows positions
/// reports where the value is).
pub(crate) mod check {
    use std::time::Duration;

    use super::{Policy, MAX_COUNT_WINDOW, MAX_HALF_OPEN_PROBES, MAX_TIME_WINDOW};
    use crate::ConfigError;

    pub(crate) fn percent(field: &'static str, v: f32) -> Result<(), ConfigError> {
        if v.is_finite() && v > 0.0 && v <= 100.0 {
            Ok(())
        } else {
            Err(ConfigError::new(field, v, "a percentage in (0, 100]"))
        }
    }

    pub(crate) fn positive(field: &'static str, v: Option<Duration>) -> Result<(), ConfigError> {
        match v {
            Some(d) if d.is_zero() => Err(ConfigError::new(
                field,
                format_args!("{d:?}"),
                "a duration greater than zero",
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn at_least_one(field: &'static str, v: u32) -> Result<(), ConfigError> {
        if v == 0 {
            Err(ConfigError::new(field, 0, "a number of at least 1"))
        } else {
            Ok(())
        }
    }

    pub(crate) fn probes(v: u32) -> Result<(), ConfigError> {
        if (1..=MAX_HALF_OPEN_PROBES).contains(&v) {
            Ok(())
        } else {
            Err(ConfigError::new(
                "permitted_number_of_calls_in_half_open_state",
                v,
                "a number in 1..=255",
            ))
        }
    }

    /// Checks a policy; `fields` names its size as the file spelt it.
    pub(crate) fn policy_as(policy: Policy, fields: [&'static str; 3]) -> Result<(), ConfigError> {
        match policy {
            Policy::CountWindow { size } if !(1..=MAX_COUNT_WINDOW).contains(&size) => {
                Err(ConfigError::new(fields[0], size, "a number in 1..=30000"))
            }
            Policy::TimeWindow { seconds } if !(1..=MAX_TIME_WINDOW).contains(&seconds) => {
                Err(ConfigError::new(fields[1], seconds, "a number in 1..=3600"))
            }
            Policy::ConsecutiveFailures { threshold: 0 } => {
                Err(ConfigError::new(fields[2], 0, "a number of at least 1"))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn policy(policy: Policy) -> Result<(), ConfigError> {
        policy_as(
            policy,
            ["policy.size", "policy.seconds", "policy.threshold"],
        )
    }
}

#[cfg(feature = "serde")]
mod de;

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
