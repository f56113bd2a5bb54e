//! Load estimators: how busy an endpoint looks to the chooser.
//!
//! [`PeakEwma`] is the estimator of Finagle, linkerd and tower
//! (`tower::load::PeakEwma`): cost = RTT estimate × (pending + 1), where the
//! estimate jumps to any RTT above it (the peak) and otherwise moves toward
//! new samples with weight `1 - e^(-elapsed/decay)`, and decays toward zero
//! while no sample arrives, so an idle endpoint is tried again.
//! [`PendingRequests`] counts calls in flight.
//!
//! Plain peak-EWMA has a known flaw: an endpoint that fails fast (an instant
//! 503) shows a tiny RTT and attracts more traffic. Both estimators here
//! charge failures: [`PeakEwma`] records a failed or overloaded call as an
//! RTT of at least its failure penalty, [`PendingRequests`] multiplies its
//! cost by a decaying failure ratio.

use std::fmt;
use std::time::Duration;

use crate::classify::{Outcome, Sample};
use crate::clock::saturating_nanos;
use crate::sync::{AtomicU64, Ordering};

/// Two words of per-endpoint state an estimator keeps, lock-free. The
/// meaning of each word is the estimator's.
pub struct LoadCell {
    words: [AtomicU64; 2],
}

impl LoadCell {
    pub(crate) fn new() -> Self {
        Self {
            words: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    /// Reads word `i` (0 or 1).
    pub fn get(&self, i: usize) -> u64 {
        self.words[i].load(Ordering::Acquire)
    }

    /// Writes word `i` (0 or 1).
    pub fn set(&self, i: usize, value: u64) {
        self.words[i].store(value, Ordering::Release)
    }

    /// Replaces word `i`, returning the previous value.
    pub fn swap(&self, i: usize, value: u64) -> u64 {
        self.words[i].swap(value, Ordering::AcqRel)
    }

    /// Applies `f` to word `i` until it sticks (a CAS loop).
    pub fn update(&self, i: usize, mut f: impl FnMut(u64) -> u64) {
        let _ = self.words[i].fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| Some(f(v)));
    }
}

impl fmt::Debug for LoadCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LoadCell")
            .field(&self.get(0))
            .field(&self.get(1))
            .finish()
    }
}

/// Estimates an endpoint's load from its pending calls and past samples.
/// Lower is better; the chooser compares two endpoints' costs.
///
/// ```
/// use seawall::balance::{Load, LoadCell};
/// use seawall::classify::Sample;
///
/// /// Every endpoint costs its pending calls, nothing learned.
/// #[derive(Debug)]
/// struct Pending;
///
/// impl Load for Pending {
///     fn init(&self, _: &LoadCell, _: u64) {}
///     fn cost(&self, _: &LoadCell, pending: u64, _: u64) -> f64 {
///         pending as f64
///     }
///     fn record(&self, _: &LoadCell, _: &Sample, _: u64) {}
/// }
/// ```
pub trait Load: Send + Sync + fmt::Debug + 'static {
    /// Prepares a new endpoint's cell at time `now` (clock nanoseconds).
    fn init(&self, cell: &LoadCell, now: u64);
    /// The endpoint's cost with `pending` calls in flight.
    fn cost(&self, cell: &LoadCell, pending: u64, now: u64) -> f64;
    /// Learns from one finished call.
    fn record(&self, cell: &LoadCell, sample: &Sample, now: u64);
}

/// Peak-EWMA load (cost = RTT estimate × (pending + 1)).
///
/// ```
/// use std::time::Duration;
/// use seawall::balance::PeakEwma;
/// let load = PeakEwma::new(Duration::from_millis(30), Duration::from_secs(10))
///     .failure_penalty(Duration::from_secs(1));
/// # let _ = load;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PeakEwma {
    default_rtt: f64,
    decay: f64,
    penalty: f64,
}

impl PeakEwma {
    /// An estimator starting every endpoint at `default_rtt`, forgetting
    /// with time constant `decay` (linkerd uses 30 ms and 10 s, the
    /// [`Default`]). Zero durations are raised to one nanosecond.
    pub fn new(default_rtt: Duration, decay: Duration) -> Self {
        Self {
            default_rtt: saturating_nanos(default_rtt).max(1) as f64,
            decay: saturating_nanos(decay).max(1) as f64,
            penalty: 1e9,
        }
    }

    /// The RTT a failed or overloaded call counts as at least (default 1 s),
    /// so an endpoint answering errors fast does not look fast.
    pub fn failure_penalty(mut self, penalty: Duration) -> Self {
        self.penalty = saturating_nanos(penalty) as f64;
        self
    }

    /// The estimate decayed to `now`, in nanoseconds.
    fn estimate(&self, cell: &LoadCell, now: u64) -> f64 {
        let rtt = f64::from_bits(cell.get(0));
        let elapsed = now.saturating_sub(cell.get(1)) as f64;
        rtt * (-elapsed / self.decay).exp()
    }
}

impl Default for PeakEwma {
    fn default() -> Self {
        Self::new(Duration::from_millis(30), Duration::from_secs(10))
    }
}

impl Load for PeakEwma {
    fn init(&self, cell: &LoadCell, now: u64) {
        cell.set(0, self.default_rtt.to_bits());
        cell.set(1, now);
    }

    #[inline]
    fn cost(&self, cell: &LoadCell, pending: u64, now: u64) -> f64 {
        self.estimate(cell, now) * (pending + 1) as f64
    }

    fn record(&self, cell: &LoadCell, sample: &Sample, now: u64) {
        let mut rtt = saturating_nanos(sample.latency()) as f64;
        match sample.outcome() {
            Outcome::Ignored => return,
            Outcome::Success => {}
            _ => rtt = rtt.max(self.penalty),
        }
        // Racing samples each take the time since the previous one: the
        // elapsed time is shared out, not counted twice.
        let last = cell.swap(1, now);
        let elapsed = now.saturating_sub(last) as f64;
        let weight = 1.0 - (-elapsed / self.decay).exp();
        cell.update(0, |bits| {
            let prior = f64::from_bits(bits);
            let next = if rtt > prior {
                rtt
            } else {
                prior * (1.0 - weight) + rtt * weight
            };
            next.to_bits()
        });
    }
}

/// Pending-requests load: cost = (pending + 1) × (1 + penalty × failure
/// ratio), where the failure ratio is an exponentially weighted average over
/// recent calls (weight 1/10 per call).
///
/// ```
/// use seawall::balance::PendingRequests;
/// let load = PendingRequests::default().failure_penalty(20.0);
/// # let _ = load;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PendingRequests {
    penalty: f64,
}

impl PendingRequests {
    /// How much a failure ratio of one multiplies the cost, beyond one
    /// (default 10: an endpoint failing every call costs like eleven times
    /// its pending calls). Negative or NaN values count as zero.
    pub fn failure_penalty(mut self, penalty: f64) -> Self {
        self.penalty = if penalty > 0.0 { penalty } else { 0.0 };
        self
    }
}

impl Default for PendingRequests {
    fn default() -> Self {
        Self { penalty: 10.0 }
    }
}

impl Load for PendingRequests {
    fn init(&self, cell: &LoadCell, _: u64) {
        cell.set(0, 0f64.to_bits());
    }

    #[inline]
    fn cost(&self, cell: &LoadCell, pending: u64, _: u64) -> f64 {
        let failures = f64::from_bits(cell.get(0));
        (pending + 1) as f64 * (1.0 + self.penalty * failures)
    }

    fn record(&self, cell: &LoadCell, sample: &Sample, _: u64) {
        let failed = match sample.outcome() {
            Outcome::Ignored => return,
            Outcome::Success => 0.0,
            _ => 1.0,
        };
        // A healthy endpoint's successes write nothing: the ratio is zero
        // and stays so.
        if failed == 0.0 && cell.get(0) == 0 {
            return;
        }
        cell.update(0, |bits| {
            let next = f64::from_bits(bits) * 0.9 + failed * 0.1;
            // Flush to zero once negligible, so the read above can skip.
            if next < 1e-6 { 0f64 } else { next }.to_bits()
        });
    }
}

#[cfg(all(test, not(seawall_loom)))]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn sample(outcome: Outcome, ms: u64) -> Sample {
        Sample::new(outcome, Duration::from_millis(ms))
    }

    #[test]
    fn peak_ewma_takes_peaks_and_decays() {
        let load = PeakEwma::default();
        let cell = LoadCell::new();
        load.init(&cell, 0);
        assert_eq!(load.cost(&cell, 0, 0), 30.0 * MS as f64);
        assert_eq!(load.cost(&cell, 2, 0), 90.0 * MS as f64);
        load.record(&cell, &sample(Outcome::Success, 100), 1);
        assert_eq!(load.cost(&cell, 0, 1), 100.0 * MS as f64);
        // After one decay period the estimate is e^-1 of itself.
        let later = 1 + 10_000 * MS;
        let decayed = load.cost(&cell, 0, later) / (100.0 * MS as f64);
        assert!((decayed - (-1f64).exp()).abs() < 1e-6, "{decayed}");
        // A lower sample moves the estimate part of the way.
        load.record(&cell, &sample(Outcome::Success, 10), later);
        let est = load.cost(&cell, 0, later) / MS as f64;
        assert!(est > 10.0 && est < 100.0, "{est}");
    }

    #[test]
    fn fast_failures_do_not_look_fast() {
        for load in [
            &PeakEwma::default() as &dyn Load,
            &PendingRequests::default(),
        ] {
            let (ok, bad) = (LoadCell::new(), LoadCell::new());
            load.init(&ok, 0);
            load.init(&bad, 0);
            for t in 1..20 {
                load.record(&ok, &sample(Outcome::Success, 20), t * MS);
                load.record(&bad, &sample(Outcome::Overload, 0), t * MS);
            }
            let now = 20 * MS;
            assert!(
                load.cost(&bad, 0, now) > 5.0 * load.cost(&ok, 0, now),
                "{load:?}"
            );
        }
    }

    #[test]
    fn ignored_calls_teach_nothing() {
        let load = PendingRequests::default();
        let cell = LoadCell::new();
        load.init(&cell, 0);
        load.record(&cell, &sample(Outcome::Ignored, 0), 0);
        assert_eq!(load.cost(&cell, 3, 0), 4.0);
    }
}
