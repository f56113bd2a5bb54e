//! What is simulated.

use std::time::Duration;

use crate::clock::ManualClock;
use crate::limit::algorithm::{ensure, Algorithm};
use crate::ConfigError;

use super::Report;

/// How long a worker takes for one call.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ServiceTime {
    /// Always the same.
    Constant(Duration),
    /// Exponentially distributed with this mean: noisy, as a backend with
    /// cache misses and GC pauses.
    Exponential(Duration),
    /// Uniform between the two bounds.
    Uniform(Duration, Duration),
}

impl ServiceTime {
    /// The mean service time.
    pub fn mean(&self) -> Duration {
        match *self {
            Self::Constant(d) | Self::Exponential(d) => d,
            Self::Uniform(a, b) => (a + b) / 2,
        }
    }

    pub(super) fn draw(&self, u: f64) -> f64 {
        match *self {
            Self::Constant(d) => d.as_nanos() as f64,
            Self::Exponential(d) => -(1.0 - u).ln() * d.as_nanos() as f64,
            Self::Uniform(a, b) => {
                a.as_nanos() as f64 + u * (b.as_nanos() as f64 - a.as_nanos() as f64)
            }
        }
    }
}

/// The server's queue in front of its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Queue {
    /// Every call waits for a worker.
    Unbounded,
    /// At most this many wait; a call beyond fails at once as a drop (an
    /// overloaded backend answering 503).
    Bounded(u32),
    /// No queue: a call finding every worker busy fails at once as a drop.
    None,
}

/// A simulated backend and the traffic offered to it.
///
/// Defaults: unbounded queue, offered load 1× capacity, 60 s simulated,
/// statistics after a warm-up of 20 s, the limit recorded every 100 ms, a
/// server-side rejection answered in 50 µs, seed 1.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(super) workers: u32,
    pub(super) service: ServiceTime,
    pub(super) queue: Queue,
    pub(super) load: f64,
    pub(super) load_changes: Vec<(Duration, f64)>,
    pub(super) spikes: Vec<(Duration, Duration, f64)>,
    pub(super) duration: Duration,
    pub(super) warmup: Duration,
    pub(super) tick: Duration,
    pub(super) reject_time: Duration,
    pub(super) seed: u64,
}

impl Scenario {
    /// A server of `workers` workers with this service time.
    pub fn new(workers: u32, service: ServiceTime) -> Self {
        Self {
            workers,
            service,
            queue: Queue::Unbounded,
            load: 1.0,
            load_changes: Vec::new(),
            spikes: Vec::new(),
            duration: Duration::from_secs(60),
            warmup: Duration::from_secs(20),
            tick: Duration::from_millis(100),
            reject_time: Duration::from_micros(50),
            seed: 1,
        }
    }

    /// The server's queue.
    pub fn queue(mut self, queue: Queue) -> Self {
        self.queue = queue;
        self
    }

    /// Offered load as a multiple of capacity (positive).
    pub fn load(mut self, load: f64) -> Self {
        self.load = load;
        self
    }

    /// From `at` on, offer `load` × capacity.
    pub fn load_change(mut self, at: Duration, load: f64) -> Self {
        self.load_changes.push((at, load));
        self
    }

    /// Service times multiplied by `factor` for calls starting in
    /// `[from, to)`.
    pub fn latency_spike(mut self, from: Duration, to: Duration, factor: f64) -> Self {
        self.spikes.push((from, to, factor));
        self
    }

    /// Simulated time.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// Goodput, latency and drops count only after this.
    pub fn warmup(mut self, warmup: Duration) -> Self {
        self.warmup = warmup;
        self
    }

    /// How often the limit is recorded (positive).
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// How long the server takes to reject a call it has no room for.
    pub fn reject_time(mut self, time: Duration) -> Self {
        self.reject_time = time;
        self
    }

    /// The seed of arrivals and service times.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Calls per second the workers complete at the base service time.
    pub fn capacity(&self) -> f64 {
        f64::from(self.workers) / self.service.mean().as_secs_f64()
    }

    /// Runs the scenario with the algorithm `make` builds on the simulation's
    /// clock (pass it to [`Windowed::with_clock`](crate::limit::algorithm::Windowed::with_clock)).
    pub fn run<A: Algorithm>(
        &self,
        make: impl FnOnce(ManualClock) -> A,
    ) -> Result<Report, ConfigError> {
        self.validate()?;
        let clock = ManualClock::new();
        let algorithm = make(clock.clone());
        Ok(super::run::simulate(self, clock, algorithm))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        ensure(self.workers >= 1, "workers", self.workers, "at least 1")?;
        ensure(
            !self.service.mean().is_zero(),
            "service",
            format_args!("{:?}", self.service),
            "a positive mean",
        )?;
        let loads = std::iter::once(self.load).chain(self.load_changes.iter().map(|c| c.1));
        for load in loads {
            ensure(
                load > 0.0 && load.is_finite(),
                "load",
                load,
                "a positive multiple",
            )?;
        }
        for &(_, _, factor) in &self.spikes {
            ensure(
                factor > 0.0 && factor.is_finite(),
                "latency_spike",
                factor,
                "a positive factor",
            )?;
        }
        ensure(
            !self.tick.is_zero(),
            "tick",
            format_args!("{:?}", self.tick),
            "a positive duration",
        )?;
        ensure(
            self.warmup < self.duration,
            "warmup",
            format_args!("{:?}", self.warmup),
            "shorter than duration",
        )
    }
}
