//! Feeds an algorithm one aggregated sample per time window.

use std::fmt;
use std::time::Duration;

use super::{ensure, nanos, Algorithm, LimitSample};
use crate::clock::{Clock, SharedClock};
use crate::ConfigError;

/// Wraps an algorithm so it learns once per window of samples, as Netflix's
/// `WindowedLimit`.
///
/// A window aggregates its samples: the RTT is their average or a
/// percentile ([`Aggregate`]), the in-flight count their maximum, and the
/// window is a drop if any sample is. Samples faster than
/// `min_rtt_threshold` are discarded (cache hits and the like say nothing
/// about the backend's queue). A window closes on the first sample after
/// its end, and the next one lasts `clamp(2 × min RTT, min_window_time,
/// max_window_time)`; a closed window with fewer than `window_size` samples
/// is discarded ([`ShortWindow::Discard`], the reference) or kept open
/// until it has them ([`ShortWindow::Extend`]).
///
/// Defaults (the reference's): windows of 1 s, at least 10 samples, floor
/// 100 µs, average RTT. Deviations, and why:
///
/// - a *dropped* sample below the floor still marks its window as a drop
///   (its RTT is left out of the average): the reference discards it, so a
///   backend that rejects fast (an immediate 503) could never lower the
///   limit;
/// - [`ShortWindow::Extend`]: at a small limit and a long RTT a window may
///   never collect `window_size` samples, and with `Discard` the delegate
///   then never learns again, stuck at its minimum;
/// - the minimum window time may be as short as 1 ms (the reference: 100 ms)
///   for fast backends;
/// - the time comes from a [`Clock`] read per sample (the reference derives
///   it from the sample's start time plus its RTT), so simulations drive
///   it with a [`ManualClock`](crate::clock::ManualClock).
///
/// ```
/// use std::time::Duration;
/// use seawall::clock::ManualClock;
/// use seawall::limit::{Algorithm, LimitSample};
/// use seawall::limit::algorithm::{Aimd, Windowed};
///
/// let clock = ManualClock::new();
/// let aimd = Aimd::builder().initial_limit(10).min_limit(1).build()?;
/// let mut windowed = Windowed::builder().build(aimd)?.with_clock(clock.clone());
/// let drop = LimitSample::new(Duration::from_millis(5), 10, true);
/// windowed.update(drop); // the first sample only starts the first window
/// for _ in 0..20 {
///     windowed.update(drop);
/// }
/// clock.advance(Duration::from_secs(1));
/// // One backoff for the whole window of 21 drops, not 21.
/// assert_eq!(windowed.update(drop), 9);
/// # Ok::<(), seawall::ConfigError>(())
/// ```
pub struct Windowed<A> {
    config: WindowedConfig,
    delegate: A,
    clock: SharedClock,
    next_update: u64,
    window: Window,
}

/// How a window's RTT is aggregated.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Aggregate {
    /// The mean RTT (the reference's default).
    Average,
    /// The RTT at this quantile, in `(0, 1)`, of up to `max_samples` RTTs.
    Percentile(f64),
}

/// What becomes of a window that ends with fewer than `window_size` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ShortWindow {
    /// Thrown away; a new window starts (the reference).
    Discard,
    /// Kept open until it has enough samples.
    Extend,
}

/// Settings of [`Windowed`]; [`build`](WindowedConfig::build) validates.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct WindowedConfig {
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    min_window_time: Duration,
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    max_window_time: Duration,
    window_size: u32,
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    min_rtt_threshold: Duration,
    aggregate: Aggregate,
    max_samples: u32,
    short_window: ShortWindow,
}

impl Default for WindowedConfig {
    fn default() -> Self {
        Self {
            min_window_time: Duration::from_secs(1),
            max_window_time: Duration::from_secs(1),
            window_size: 10,
            min_rtt_threshold: Duration::from_micros(100),
            aggregate: Aggregate::Average,
            max_samples: 1000,
            short_window: ShortWindow::Discard,
        }
    }
}

impl WindowedConfig {
    /// The shortest window (default 1 s, at least 1 ms).
    pub fn min_window_time(mut self, time: Duration) -> Self {
        self.min_window_time = time;
        self
    }
    /// The longest window (default 1 s, at least `min_window_time`).
    pub fn max_window_time(mut self, time: Duration) -> Self {
        self.max_window_time = time;
        self
    }
    /// Samples a window needs to count (default 10, at least 1).
    pub fn window_size(mut self, samples: u32) -> Self {
        self.window_size = samples;
        self
    }
    /// Samples faster than this are discarded (default 100 µs).
    pub fn min_rtt_threshold(mut self, threshold: Duration) -> Self {
        self.min_rtt_threshold = threshold;
        self
    }
    /// How the RTT is aggregated (default the average).
    pub fn aggregate(mut self, aggregate: Aggregate) -> Self {
        self.aggregate = aggregate;
        self
    }
    /// RTTs kept per window for a percentile (default 1000, `1..=100_000`);
    /// later samples still count for in-flight and drops.
    pub fn max_samples(mut self, samples: u32) -> Self {
        self.max_samples = samples;
        self
    }
    /// What becomes of short windows (default [`ShortWindow::Discard`]).
    pub fn short_window(mut self, short: ShortWindow) -> Self {
        self.short_window = short;
        self
    }

    /// Validates the settings and wraps `delegate`, on the system clock.
    pub fn build<A: Algorithm>(self, delegate: A) -> Result<Windowed<A>, ConfigError> {
        ensure(
            self.min_window_time >= Duration::from_millis(1),
            "min_window_time",
            format_args!("{:?}", self.min_window_time),
            "at least 1ms",
        )?;
        ensure(
            self.max_window_time >= self.min_window_time,
            "max_window_time",
            format_args!("{:?}", self.max_window_time),
            "at least min_window_time",
        )?;
        ensure(
            self.window_size >= 1,
            "window_size",
            self.window_size,
            "at least 1",
        )?;
        ensure(
            (1..=100_000).contains(&self.max_samples),
            "max_samples",
            self.max_samples,
            "1..=100000",
        )?;
        if let Aggregate::Percentile(p) = self.aggregate {
            ensure(p > 0.0 && p < 1.0, "aggregate", p, "a percentile in (0, 1)")?;
        }
        let keep = match self.aggregate {
            Aggregate::Average => 0,
            _ => self.max_samples as usize,
        };
        Ok(Windowed {
            delegate,
            clock: SharedClock::System,
            next_update: 0,
            window: Window::new(keep),
            config: self,
        })
    }
}

/// One window's aggregate.
#[derive(Debug, Clone)]
struct Window {
    count: u32,
    timed: u32,
    sum: u64,
    min: u64,
    max_in_flight: u32,
    dropped: bool,
    rtts: Vec<u64>,
}

impl Window {
    fn new(keep: usize) -> Self {
        Self {
            count: 0,
            timed: 0,
            sum: 0,
            min: u64::MAX,
            max_in_flight: 0,
            dropped: false,
            rtts: Vec::with_capacity(keep),
        }
    }

    fn clear(&mut self) {
        let rtts = std::mem::take(&mut self.rtts);
        *self = Self {
            rtts,
            ..Self::new(0)
        };
        self.rtts.clear();
    }

    fn rtt(&mut self, aggregate: Aggregate, floor: u64) -> u64 {
        if self.timed == 0 {
            // Only fast drops: their RTT was left out; the floor stands in.
            return floor;
        }
        match aggregate {
            Aggregate::Percentile(p) if !self.rtts.is_empty() => {
                self.rtts.sort_unstable();
                let n = self.rtts.len();
                let index = ((n as f64 * p).round() as usize).clamp(1, n) - 1;
                self.rtts[index]
            }
            _ => self.sum / u64::from(self.timed),
        }
    }
}

impl Windowed<()> {
    /// Settings starting from the reference's defaults.
    pub fn builder() -> WindowedConfig {
        WindowedConfig::default()
    }
}

impl<A> Windowed<A> {
    /// Reads time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// The wrapped algorithm.
    pub fn delegate(&self) -> &A {
        &self.delegate
    }

    /// Samples in the current window so far.
    pub fn window_samples(&self) -> u32 {
        self.window.count
    }
}

impl<A: Algorithm> Algorithm for Windowed<A> {
    fn limit(&self) -> u32 {
        self.delegate.limit()
    }

    fn update(&mut self, sample: LimitSample) -> u32 {
        let now = self.clock.now_nanos();
        self.update_at(sample, now)
    }

    /// One clock read for the whole batch: its samples are handed over
    /// together, so they all end their windows at the same moment.
    fn update_batch(&mut self, samples: &[LimitSample]) -> u32 {
        let now = self.clock.now_nanos();
        for &sample in samples {
            self.update_at(sample, now);
        }
        self.delegate.limit()
    }
}

impl<A: Algorithm> Windowed<A> {
    /// [`update`](Algorithm::update) at `now` on the window's clock.
    #[inline]
    fn update_at(&mut self, sample: LimitSample, now: u64) -> u32 {
        let c = &self.config;
        let rtt = nanos(sample.rtt());
        let floor = nanos(c.min_rtt_threshold);
        let w = &mut self.window;
        if rtt >= floor {
            w.timed += 1;
            w.sum = w.sum.saturating_add(rtt);
            w.min = w.min.min(rtt);
            if w.rtts.len() < w.rtts.capacity() {
                w.rtts.push(rtt);
            }
        } else if !sample.dropped() {
            return self.delegate.limit();
        }
        w.count += 1;
        w.max_in_flight = w.max_in_flight.max(sample.in_flight());
        w.dropped |= sample.dropped();

        if now <= self.next_update {
            return self.delegate.limit();
        }
        let ready = w.count >= c.window_size;
        if !ready && c.short_window == ShortWindow::Extend {
            return self.delegate.limit();
        }
        let length = match w.min {
            u64::MAX => nanos(c.max_window_time),
            min => min
                .saturating_mul(2)
                .clamp(nanos(c.min_window_time), nanos(c.max_window_time)),
        };
        self.next_update = now.saturating_add(length);
        if ready {
            let aggregated = LimitSample::new(
                Duration::from_nanos(w.rtt(c.aggregate, floor)),
                w.max_in_flight,
                w.dropped,
            );
            self.delegate.update(aggregated);
        }
        self.window.clear();
        self.delegate.limit()
    }
}

impl<A: fmt::Debug> fmt::Debug for Windowed<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Windowed")
            .field("delegate", &self.delegate)
            .field("window_samples", &self.window.count)
            .field("window_dropped", &self.window.dropped)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
