//! The breaker builder.

use std::sync::Arc;
use std::time::Duration;

use super::config::{Config, Policy, Settings};
use super::{Backoff, CircuitBreaker};
use crate::clock::{Clock, SharedClock};
use crate::observe::{Observer, SharedObserver};
use crate::ConfigError;

/// Builds a [`CircuitBreaker`]; [`build`](Builder::build) validates.
///
/// Setters are named after resilience4j's configuration keys (and the serde
/// keys of [`Config`]), with shortcuts for the policies.
///
/// ```
/// use std::time::Duration;
/// use seawall::breaker::{Backoff, CircuitBreaker};
///
/// let breaker = CircuitBreaker::builder()
///     .name("inventory")
///     .time_window(30)
///     .minimum_number_of_calls(20)
///     .failure_rate_threshold(25.0)
///     .slow_call_duration_threshold(Duration::from_secs(2))
///     .backoff(Backoff::exponential(Duration::from_secs(1), 2.0, Duration::from_secs(60)).with_jitter(0.2))
///     .permitted_number_of_calls_in_half_open_state(5)
///     .build()?;
/// assert_eq!(breaker.name(), "inventory");
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    settings: Settings,
    clock: Option<SharedClock>,
    observer: SharedObserver,
}

impl Builder {
    /// Starts from a configuration (read from a file, say), keeping the
    /// clock and observer already set.
    pub fn config(mut self, config: Config) -> Self {
        self.settings = config.0;
        self
    }

    /// The name used in events and metrics (default `"default"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.settings.name = Arc::from(name.into());
        self
    }

    /// What trips the breaker (default a count window of 100).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.settings.policy = policy;
        self
    }

    /// Rates over the last `size` calls (`1..=30_000`).
    pub fn count_window(self, size: u32) -> Self {
        self.policy(Policy::CountWindow { size })
    }

    /// Rates over the last `seconds` one-second buckets (`1..=3_600`).
    pub fn time_window(self, seconds: u32) -> Self {
        self.policy(Policy::TimeWindow { seconds })
    }

    /// Trip after `threshold` failures in a row (at least 1).
    pub fn consecutive_failures(self, threshold: u32) -> Self {
        self.policy(Policy::ConsecutiveFailures { threshold })
    }

    /// Failure rate in percent, in `(0, 100]`, at or above which the breaker
    /// trips (default 50). Also judges half-open probes.
    pub fn failure_rate_threshold(mut self, percent: f32) -> Self {
        self.settings.failure_rate_threshold = percent;
        self
    }

    /// Slow-call rate in percent, in `(0, 100]`, at or above which the
    /// breaker trips (default 100).
    pub fn slow_call_rate_threshold(mut self, percent: f32) -> Self {
        self.settings.slow_call_rate_threshold = percent;
        self
    }

    /// Calls that take longer than this are slow (non-zero; default: no
    /// slow-call detection, so no clock reads on the call path). Durations
    /// are measured with the breaker's clock: the default
    /// [`SystemClock`](crate::clock::SystemClock) has the resolution of a
    /// kernel tick (a few ms), so give a
    /// [`PreciseClock`](crate::clock::PreciseClock) for thresholds of a few
    /// milliseconds.
    pub fn slow_call_duration_threshold(mut self, threshold: Duration) -> Self {
        self.settings.slow_call_duration_threshold = Some(threshold);
        self
    }

    /// Calls a window must hold before its rates are defined (at least 1,
    /// default 100; a count window caps it at its size).
    pub fn minimum_number_of_calls(mut self, calls: u32) -> Self {
        self.settings.minimum_number_of_calls = calls;
        self
    }

    /// A fixed wait in OPEN (non-zero, default 60 s).
    pub fn wait_duration_in_open_state(self, wait: Duration) -> Self {
        self.backoff(Backoff::Fixed(wait))
    }

    /// How the wait in OPEN grows with consecutive openings.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.settings.wait_duration_in_open_state = backoff;
        self
    }

    /// Probe calls in HALF_OPEN (`1..=255`, default 10).
    pub fn permitted_number_of_calls_in_half_open_state(mut self, calls: u32) -> Self {
        self.settings.permitted_number_of_calls_in_half_open_state = calls;
        self
    }

    /// The longest HALF_OPEN waits for its probes before reopening
    /// (non-zero; default: no limit). Checked lazily, on the next call.
    pub fn max_wait_duration_in_half_open_state(mut self, wait: Duration) -> Self {
        self.settings.max_wait_duration_in_half_open_state = Some(wait);
        self
    }

    /// Seeds the backoff jitter, for reproducible waits (default: random).
    pub fn seed(mut self, seed: u64) -> Self {
        self.settings.seed = Some(seed);
        self
    }

    /// The clock to read (default
    /// [`SystemClock`](crate::clock::SystemClock)); a
    /// [`ManualClock`](crate::clock::ManualClock) in tests.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(SharedClock::new(clock));
        self
    }

    /// Adds an observer: events go to every observer added, in the order
    /// they were added (default: nowhere).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use seawall::breaker::{CircuitBreaker, State};
    /// use seawall::observe::Event;
    ///
    /// let (first, second) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    /// let (a, b) = (first.clone(), second.clone());
    /// let breaker = CircuitBreaker::builder()
    ///     .observer(move |_: &Event<'_>| { a.fetch_add(1, Ordering::Relaxed); })
    ///     .observer(move |_: &Event<'_>| { b.fetch_add(1, Ordering::Relaxed); })
    ///     .build()?;
    /// breaker.transition_to(State::ForcedOpen)?;
    /// assert_eq!((first.load(Ordering::Relaxed), second.load(Ordering::Relaxed)), (1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observer = self.observer.and(observer);
        self
    }

    /// Validates the configuration and builds the breaker.
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        let (config, clock, observer) = self.into_parts()?;
        let clock = clock.unwrap_or(SharedClock::System);
        Ok(CircuitBreaker::from_parts(config, clock, observer))
    }

    /// The validated configuration, the clock if one was given, the
    /// observers.
    pub(crate) fn into_parts(
        self,
    ) -> Result<(Config, Option<SharedClock>, SharedObserver), ConfigError> {
        Ok((Config::try_from(self.settings)?, self.clock, self.observer))
    }
}
