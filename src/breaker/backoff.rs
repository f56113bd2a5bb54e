//! How long the breaker stays open, as a function of the attempt number.

use std::time::Duration;

use crate::ConfigError;

/// How long OPEN lasts before the next call may probe.
///
/// The attempt number counts consecutive openings: the first opening after
/// CLOSED is attempt 1, and every failed half-open phase adds one. A breaker
/// that closes starts again at 1.
///
/// ```
/// use std::time::Duration;
/// use seawall::breaker::Backoff;
///
/// let backoff = Backoff::exponential(Duration::from_secs(1), 2.0, Duration::from_secs(60));
/// assert_eq!(backoff.wait(1, 0), Duration::from_secs(1));
/// assert_eq!(backoff.wait(3, 0), Duration::from_secs(4));
/// assert_eq!(backoff.wait(30, 0), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
// Read by hand (`config/de.rs`) for errors that name the key at fault.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
#[non_exhaustive]
pub enum Backoff {
    /// The same wait every time (in a file: a duration such as `"30s"`).
    Fixed(#[cfg_attr(feature = "serde", serde(with = "humantime_serde"))] Duration),
    /// `initial × multiplier^(attempt − 1)`, at most `max`; with `jitter`
    /// `f > 0` the wait is drawn uniformly from `[w·(1 − f), w·(1 + f)]` and
    /// then capped at `max` again, as resilience4j's randomized interval
    /// function does before its cap.
    Exponential {
        /// The first wait.
        #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
        initial: Duration,
        /// The growth factor, at least 1.
        multiplier: f64,
        /// The longest wait.
        #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
        max: Duration,
        /// The randomization factor in `[0, 1)`; 0 for none.
        jitter: f64,
    },
}

impl Backoff {
    /// A fixed wait.
    pub fn fixed(wait: Duration) -> Self {
        Backoff::Fixed(wait)
    }

    /// Exponential growth without jitter.
    pub fn exponential(initial: Duration, multiplier: f64, max: Duration) -> Self {
        Backoff::Exponential {
            initial,
            multiplier,
            max,
            jitter: 0.0,
        }
    }

    /// Adds jitter (a randomization factor in `[0, 1)`, checked when the
    /// breaker is built). A fixed wait `w` becomes a jittered one: waits are
    /// drawn from `[w·(1 − f), w·(1 + f)]`, written as an exponential
    /// backoff of multiplier 1 capped at `w·(1 + f)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use seawall::breaker::Backoff;
    ///
    /// let jittered = Backoff::fixed(Duration::from_secs(10)).with_jitter(0.5);
    /// let waits: Vec<_> = (0..100).map(|e| jittered.wait(1, e)).collect();
    /// assert!(waits.iter().all(|w| (5.0..=15.0).contains(&w.as_secs_f64())));
    /// assert!(waits.iter().any(|w| w.as_secs_f64() > 10.0));
    /// assert!(waits.iter().any(|w| w.as_secs_f64() < 10.0));
    /// ```
    pub fn with_jitter(self, factor: f64) -> Self {
        match self {
            Backoff::Exponential {
                initial,
                multiplier,
                max,
                ..
            } => Backoff::Exponential {
                initial,
                multiplier,
                max,
                jitter: factor,
            },
            Backoff::Fixed(wait) if factor == 0.0 => Backoff::Fixed(wait),
            Backoff::Fixed(wait) => Backoff::Exponential {
                initial: wait,
                multiplier: 1.0,
                // An invalid factor is refused by validation, not here.
                max: Duration::try_from_secs_f64(wait.as_secs_f64() * (1.0 + factor))
                    .unwrap_or(wait),
                jitter: factor,
            },
        }
    }

    /// The wait for attempt `attempt` (1 for the first opening). `entropy`
    /// feeds the jitter: the breaker passes a hash of its seed and the
    /// generation, so a seeded breaker waits the same in every run.
    pub fn wait(&self, attempt: u32, entropy: u64) -> Duration {
        match *self {
            Backoff::Fixed(wait) => wait,
            Backoff::Exponential {
                initial,
                multiplier,
                max,
                jitter,
            } => {
                let exp = attempt.saturating_sub(1).min(i32::MAX as u32) as i32;
                let max_s = max.as_secs_f64();
                let base = (initial.as_secs_f64() * multiplier.powi(exp)).min(max_s);
                let wait = if jitter > 0.0 {
                    // 53 random bits make a uniform float in [0, 1).
                    let unit = (splitmix64(entropy) >> 11) as f64 / (1u64 << 53) as f64;
                    (base * (1.0 - jitter + 2.0 * jitter * unit)).min(max_s)
                } else {
                    base
                };
                // A hand-built, unvalidated backoff must not panic here.
                Duration::try_from_secs_f64(wait).unwrap_or(max)
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        const FIELD: &str = "wait_duration_in_open_state";
        match *self {
            Backoff::Fixed(wait) if wait.is_zero() => Err(ConfigError::new(
                FIELD,
                format_args!("{wait:?}"),
                "a duration greater than zero",
            )),
            Backoff::Fixed(_) => Ok(()),
            Backoff::Exponential {
                initial,
                multiplier,
                max,
                jitter,
            } => {
                if initial.is_zero() {
                    return Err(ConfigError::new(
                        "wait_duration_in_open_state.initial",
                        format_args!("{initial:?}"),
                        "a duration greater than zero",
                    ));
                }
                if !(multiplier.is_finite() && (1.0..=1e6).contains(&multiplier)) {
                    return Err(ConfigError::new(
                        "wait_duration_in_open_state.multiplier",
                        multiplier,
                        "a number in [1, 1000000]",
                    ));
                }
                if max < initial {
                    return Err(ConfigError::new(
                        "wait_duration_in_open_state.max",
                        format_args!("{max:?}"),
                        "a duration at least the initial wait",
                    ));
                }
                if !(jitter.is_finite() && (0.0..1.0).contains(&jitter)) {
                    return Err(ConfigError::new(
                        "wait_duration_in_open_state.jitter",
                        jitter,
                        "a factor in [0, 1)",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// A stateless mixing function (Steele, Lea and Flood's SplitMix64
/// finalizer): jitter becomes a pure function of seed and attempt, so drawing
/// it needs no shared RNG state on the transition path.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
