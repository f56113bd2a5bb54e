//! What a simulation measured.

use std::fmt;
use std::time::Duration;

use super::Scenario;

/// The outcome of one [`Scenario`] run: the limit over time, and after the
/// warm-up the goodput, drops, shed calls and latency of admitted calls.
#[derive(Clone)]
pub struct Report {
    pub(super) limits: Vec<(Duration, u32)>,
    pub(super) latencies: Vec<u64>,
    pub(super) offered: u64,
    pub(super) shed: u64,
    pub(super) dropped: u64,
    capacity: f64,
    measured: Duration,
    sorted: bool,
}

impl Report {
    pub(super) fn new(s: &Scenario) -> Self {
        Self {
            limits: Vec::new(),
            latencies: Vec::new(),
            offered: 0,
            shed: 0,
            dropped: 0,
            capacity: s.capacity(),
            measured: s.duration - s.warmup,
            sorted: false,
        }
    }

    /// The limit at each tick, from time zero.
    pub fn limits(&self) -> &[(Duration, u32)] {
        &self.limits
    }

    /// The limit in force at `at`.
    pub fn limit_at(&self, at: Duration) -> u32 {
        self.window(at, at + Duration::from_nanos(1))
            .next()
            .or_else(|| self.limits.last().map(|l| l.1))
            .unwrap_or(0)
    }

    fn window(&self, from: Duration, to: Duration) -> impl Iterator<Item = u32> + '_ {
        self.limits
            .iter()
            .filter(move |(t, _)| (from..to).contains(t))
            .map(|l| l.1)
    }

    /// The mean limit over `[from, to)`.
    pub fn mean_limit(&self, from: Duration, to: Duration) -> f64 {
        let (sum, n) = self
            .window(from, to)
            .fold((0.0, 0u32), |(s, n), l| (s + f64::from(l), n + 1));
        sum / f64::from(n.max(1))
    }

    /// The least and greatest limit over `[from, to)`.
    pub fn limit_range(&self, from: Duration, to: Duration) -> (u32, u32) {
        self.window(from, to)
            .fold((u32::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)))
    }

    /// The first time from which the limit stays within `target × (1 ±
    /// tolerance)` to the end, if it does. The limit is smoothed by a
    /// running median of 11 ticks first, so a brief dip (an RTT probe) does
    /// not count as leaving the band.
    pub fn settled_at(&self, target: f64, tolerance: f64) -> Option<Duration> {
        let n = self.limits.len();
        let last_out = (0..n)
            .rev()
            .find(|&i| !self.smoothed_within(i, target, tolerance));
        match last_out {
            None => self.limits.first().map(|l| l.0),
            Some(i) => self.limits.get(i + 1).map(|l| l.0),
        }
    }

    /// The first time the limit, smoothed as in
    /// [`settled_at`](Self::settled_at), is within `target × (1 ±
    /// tolerance)`: how long convergence took.
    pub fn reached_at(&self, target: f64, tolerance: f64) -> Option<Duration> {
        (0..self.limits.len())
            .find(|&i| self.smoothed_within(i, target, tolerance))
            .map(|i| self.limits[i].0)
    }

    fn smoothed_within(&self, i: usize, target: f64, tolerance: f64) -> bool {
        let n = self.limits.len();
        let mut around: Vec<u32> = self.limits[i.saturating_sub(5)..(i + 6).min(n)]
            .iter()
            .map(|l| l.1)
            .collect();
        around.sort_unstable();
        let median = f64::from(around[around.len() / 2]);
        (median - target).abs() <= target * tolerance
    }

    /// The median limit over `[from, to)`: the level the limit holds,
    /// whatever brief probes or backoffs it makes.
    pub fn median_limit(&self, from: Duration, to: Duration) -> u32 {
        let mut all: Vec<u32> = self.window(from, to).collect();
        all.sort_unstable();
        all.get(all.len() / 2).copied().unwrap_or(0)
    }

    /// Successful calls per second over the capacity, after the warm-up.
    pub fn goodput(&self) -> f64 {
        self.latencies.len() as f64 / self.measured.as_secs_f64() / self.capacity
    }

    /// Calls the server dropped (its queue was full), after the warm-up.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Calls the limiter shed, after the warm-up.
    pub fn shed(&self) -> u64 {
        self.shed
    }

    /// Calls offered, after the warm-up.
    pub fn offered(&self) -> u64 {
        self.offered
    }

    /// The latency at quantile `q` in `[0, 1]` of admitted calls that
    /// succeeded after the warm-up (zero if none did).
    pub fn latency(&mut self, q: f64) -> Duration {
        if !self.sorted {
            self.latencies.sort_unstable();
            self.sorted = true;
        }
        let n = self.latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let i = ((n as f64 * q.clamp(0.0, 1.0)).ceil() as usize).clamp(1, n) - 1;
        Duration::from_nanos(self.latencies[i])
    }

    /// The 99th percentile latency of admitted successful calls.
    pub fn p99(&mut self) -> Duration {
        self.latency(0.99)
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.limits.last().map_or(Duration::ZERO, |l| l.0);
        let tail: Vec<u32> = self
            .limits
            .iter()
            .rev()
            .step_by(10)
            .take(12)
            .map(|l| l.1)
            .collect();
        f.debug_struct("Report")
            .field("goodput", &self.goodput())
            .field("offered", &self.offered)
            .field("shed", &self.shed)
            .field("dropped", &self.dropped)
            .field("final_limit", &self.limit_at(end))
            .field("limits_each_second_backwards", &tail)
            .finish_non_exhaustive()
    }
}
