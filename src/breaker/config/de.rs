//! Reading a [`Config`] from a file (feature `serde`).
//!
//! Written by hand rather than derived so that every refusal says what is
//! wrong in the user's terms: an unknown key by name, a value out of range
//! by field and range (checked as the value is read, so that a format which
//! tracks positions, like TOML, adds the line), an empty table or a list
//! as not a configuration at all.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::{check, Config, Policy, Settings};
use crate::breaker::Backoff;
use crate::ConfigError;

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ConfigVisitor)
    }
}

struct ConfigVisitor;

impl<'de> Visitor<'de> for ConfigVisitor {
    type Value = Config;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a circuit breaker configuration: a table of settings")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Config, A::Error> {
        let file = File::deserialize(MapAccessDeserializer::new(map))?;
        file.into_config().map_err(de::Error::custom)
    }
}

/// The keys a file may hold: this crate's, and resilience4j's sliding
/// window pair.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    #[serde(default, deserialize_with = "policy")]
    policy: Option<Policy>,
    sliding_window_type: Option<WindowType>,
    sliding_window_size: Option<u32>,
    #[serde(default, deserialize_with = "failure_rate")]
    failure_rate_threshold: Option<f32>,
    #[serde(default, deserialize_with = "slow_rate")]
    slow_call_rate_threshold: Option<f32>,
    #[serde(default, deserialize_with = "slow_duration")]
    slow_call_duration_threshold: Option<Duration>,
    #[serde(default, deserialize_with = "minimum_calls")]
    minimum_number_of_calls: Option<u32>,
    wait_duration_in_open_state: Option<Backoff>,
    #[serde(default, deserialize_with = "probes")]
    permitted_number_of_calls_in_half_open_state: Option<u32>,
    #[serde(default, deserialize_with = "max_half_open_wait")]
    max_wait_duration_in_half_open_state: Option<Duration>,
    seed: Option<u64>,
}

/// resilience4j's `slidingWindowType`.
#[derive(Clone, Copy, serde::Deserialize)]
enum WindowType {
    #[serde(rename = "COUNT_BASED", alias = "count_based")]
    CountBased,
    #[serde(rename = "TIME_BASED", alias = "time_based")]
    TimeBased,
}

impl File {
    fn is_empty(&self) -> bool {
        let File {
            name,
            policy,
            sliding_window_type,
            sliding_window_size,
            failure_rate_threshold,
            slow_call_rate_threshold,
            slow_call_duration_threshold,
            minimum_number_of_calls,
            wait_duration_in_open_state,
            permitted_number_of_calls_in_half_open_state,
            max_wait_duration_in_half_open_state,
            seed,
        } = self;
        name.is_none()
            && policy.is_none()
            && sliding_window_type.is_none()
            && sliding_window_size.is_none()
            && failure_rate_threshold.is_none()
            && slow_call_rate_threshold.is_none()
            && slow_call_duration_threshold.is_none()
            && minimum_number_of_calls.is_none()
            && wait_duration_in_open_state.is_none()
            && permitted_number_of_calls_in_half_open_state.is_none()
            && max_wait_duration_in_half_open_state.is_none()
            && seed.is_none()
    }

    fn into_config(self) -> Result<Config, ConfigError> {
        if self.is_empty() {
            return Err(ConfigError::new(
                "configuration",
                "an empty table",
                "at least one setting",
            ));
        }
        let d = Settings::default();
        let policy =
            match (
                self.policy,
                self.sliding_window_type,
                self.sliding_window_size,
            ) {
                (Some(_), Some(_), _) | (Some(_), _, Some(_)) => return Err(ConfigError::new(
                    "policy",
                    "given with sliding_window_type or sliding_window_size",
                    "either policy or resilience4j's sliding_window_type and sliding_window_size",
                )),
                (Some(policy), None, None) => policy,
                (None, None, None) => d.policy,
                (None, kind, size) => {
                    // resilience4j's defaults: COUNT_BASED, 100.
                    let size = size.unwrap_or(100);
                    let policy = match kind.unwrap_or(WindowType::CountBased) {
                        WindowType::CountBased => Policy::CountWindow { size },
                        WindowType::TimeBased => Policy::TimeWindow { seconds: size },
                    };
                    check::policy_as(policy, ["sliding_window_size"; 3])?;
                    policy
                }
            };
        Config::try_from(Settings {
            name: self.name.map_or(d.name, Arc::from),
            policy,
            failure_rate_threshold: self
                .failure_rate_threshold
                .unwrap_or(d.failure_rate_threshold),
            slow_call_rate_threshold: self
                .slow_call_rate_threshold
                .unwrap_or(d.slow_call_rate_threshold),
            slow_call_duration_threshold: self
                .slow_call_duration_threshold
                .or(d.slow_call_duration_threshold),
            minimum_number_of_calls: self
                .minimum_number_of_calls
                .unwrap_or(d.minimum_number_of_calls),
            wait_duration_in_open_state: self
                .wait_duration_in_open_state
                .unwrap_or(d.wait_duration_in_open_state),
            permitted_number_of_calls_in_half_open_state: self
                .permitted_number_of_calls_in_half_open_state
                .unwrap_or(d.permitted_number_of_calls_in_half_open_state),
            max_wait_duration_in_half_open_state: self
                .max_wait_duration_in_half_open_state
                .or(d.max_wait_duration_in_half_open_state),
            seed: self.seed.or(d.seed),
        })
    }
}

/// Reads a value and checks it on the spot.
fn checked<'de, D, T>(
    d: D,
    check: impl FnOnce(&T) -> Result<(), ConfigError>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let value = T::deserialize(d)?;
    check(&value).map_err(de::Error::custom)?;
    Ok(Some(value))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    humantime_serde::Serde::<Duration>::deserialize(d).map(humantime_serde::Serde::into_inner)
}

fn policy<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Policy>, D::Error> {
    checked(d, |p: &Policy| check::policy(*p))
}

fn failure_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    checked(d, |v: &f32| check::percent("failure_rate_threshold", *v))
}

fn slow_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    checked(d, |v: &f32| check::percent("slow_call_rate_threshold", *v))
}

fn minimum_calls<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    checked(d, |v: &u32| {
        check::at_least_one("minimum_number_of_calls", *v)
    })
}

fn probes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    checked(d, |v: &u32| check::probes(*v))
}

fn positive_duration<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<Duration>, D::Error> {
    let value = duration(d)?;
    check::positive(field, Some(value)).map_err(de::Error::custom)?;
    Ok(Some(value))
}

fn slow_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    positive_duration(d, "slow_call_duration_threshold")
}

fn max_half_open_wait<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    positive_duration(d, "max_wait_duration_in_half_open_state")
}

/// A wait in OPEN: a duration (`"30s"`), or a table
/// `{ initial, multiplier = 1, max, jitter = 0 }`.
impl<'de> Deserialize<'de> for Backoff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BackoffVisitor)
    }
}

struct BackoffVisitor;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BackoffTable {
    #[serde(deserialize_with = "duration")]
    initial: Duration,
    multiplier: Option<f64>,
    #[serde(default, deserialize_with = "some_duration")]
    max: Option<Duration>,
    jitter: Option<f64>,
}

fn some_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

impl<'de> Visitor<'de> for BackoffVisitor {
    type Value = Backoff;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"30s\", or a table { initial, multiplier, max, jitter }")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Backoff, E> {
        let wait = humantime_serde::re::humantime::parse_duration(text).map_err(|e| {
            E::custom(format_args!(
                "invalid wait_duration_in_open_state: {text:?} ({e})"
            ))
        })?;
        let backoff = Backoff::Fixed(wait);
        backoff.validate().map_err(E::custom)?;
        Ok(backoff)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Backoff, A::Error> {
        let t = BackoffTable::deserialize(MapAccessDeserializer::new(map))?;
        let multiplier = t.multiplier.unwrap_or(1.0);
        let jitter = t.jitter.unwrap_or(0.0);
        let backoff = match t.max {
            Some(max) => Backoff::Exponential {
                initial: t.initial,
                multiplier,
                max,
                jitter,
            },
            // A wait that does not grow needs no cap.
            None if multiplier == 1.0 => Backoff::Fixed(t.initial).with_jitter(jitter),
            None => {
                return Err(de::Error::custom(ConfigError::new(
                    "wait_duration_in_open_state.max",
                    "missing",
                    "the longest wait, for a multiplier above 1",
                )))
            }
        };
        backoff.validate().map_err(de::Error::custom)?;
        Ok(backoff)
    }
}
