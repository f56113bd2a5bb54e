//! Outlier detection as Envoy defines it: ejection on consecutive
//! failures (inline) and on a success rate far below the others (at each
//! interval), ejection time growing with the number of ejections, a
//! maximum ejected share. See Envoy's "Outlier detection" architecture
//! overview and `config.cluster.v3.OutlierDetection`.

use std::time::Duration;

use super::node::{Node, GONE};
use super::Common;
use crate::balance::EjectionReason;
use crate::classify::{Outcome, Sample};
use crate::observe::Event;
use crate::sync::Ordering;

impl Common {
    /// How many endpoints may be ejected at once: the configured share of
    /// the set, but at least one (as Envoy) unless the share is zero.
    pub(crate) fn max_ejected(&self) -> u64 {
        let pct = self.config.max_ejection_percent;
        if pct <= 0.0 {
            return 0;
        }
        let n = self.total.load(Ordering::Acquire);
        ((n as f64 * pct / 100.0).floor() as u64).max(1)
    }

    /// Whether so few endpoints are healthy that ejections are ignored.
    #[inline]
    pub(crate) fn panicking(&self, n: usize) -> bool {
        let ejected = self.ejected.load(Ordering::Acquire);
        ejected > 0
            && (n as u64).saturating_sub(ejected) as f64 * 100.0
                < self.config.panic_threshold * n as f64
    }
}

impl<T> Node<T> {
    /// Whether the endpoint is ejected at `now`; an ejection whose time is
    /// over ends here (lazily, by whichever pick sees it first).
    #[inline]
    pub(crate) fn is_ejected(&self, now: u64) -> bool {
        let h = self.health.load(Ordering::Acquire);
        if h == 0 || h == GONE {
            return false;
        }
        if h > now {
            return true;
        }
        self.end_ejection(h, now);
        false
    }

    #[cold]
    fn end_ejection(&self, until: u64, now: u64) {
        if self
            .health
            .compare_exchange(until, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return; // another pick ended it, or the endpoint was removed
        }
        let common = &*self.common;
        common.ejected.fetch_sub(1, Ordering::AcqRel);
        self.consecutive.store(0, Ordering::Relaxed);
        if common.config.slow_start.is_some() {
            self.ramp_from.store(now + 1, Ordering::Relaxed);
        }
        common.config.observer.emit(&Event::BalanceReturned {
            name: &common.config.name,
            endpoint: &self.name,
        });
    }

    /// Ejects the endpoint if the ejected share allows; true if it did.
    pub(crate) fn eject(&self, reason: EjectionReason, now: u64) -> bool {
        let common = &*self.common;
        let max = common.max_ejected();
        // Reserve a place in the share first, so the count never passes it.
        if common
            .ejected
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                (c < max).then_some(c + 1)
            })
            .is_err()
        {
            return false;
        }
        let times = self.multiplier.load(Ordering::Relaxed).saturating_add(1);
        let nanos = common
            .config
            .base_ejection
            .saturating_mul(u64::from(times))
            .min(common.config.max_ejection);
        // Never 0 (healthy) nor GONE.
        let until = now.saturating_add(nanos).clamp(1, GONE - 1);
        if self
            .health
            .compare_exchange(0, until, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            common.ejected.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        self.multiplier.store(times, Ordering::Relaxed);
        common.config.observer.emit(&Event::BalanceEjected {
            name: &common.config.name,
            endpoint: &self.name,
            reason,
            duration: Duration::from_nanos(nanos),
            ejections: times,
        });
        true
    }

    /// Learns from one finished call: the load estimate, the interval's
    /// success counts, consecutive failures.
    #[inline]
    pub(crate) fn learn(&self, sample: &Sample, now: u64) {
        let common = &*self.common;
        common.config.load.record(&self.load, sample, now);
        let failed = match sample.outcome() {
            Outcome::Ignored => return,
            o => o.is_failure(),
        };
        if common.config.success_rate.is_some() {
            self.window
                .fetch_add(1 | (u64::from(failed) << 32), Ordering::Relaxed);
        }
        if !failed {
            // Read first: a healthy endpoint's call writes nothing here.
            if self.consecutive.load(Ordering::Relaxed) != 0 {
                self.consecutive.store(0, Ordering::Relaxed);
            }
            return;
        }
        let Some(limit) = common.config.consecutive_failures else {
            return;
        };
        let run = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if run >= limit && self.eject(EjectionReason::ConsecutiveFailures, now) {
            self.consecutive.store(0, Ordering::Relaxed);
        }
    }
}

/// One interval's judgement over the whole set: success-rate outliers are
/// ejected, healthy endpoints' ejection multipliers relax by one, expired
/// ejections end.
pub(crate) fn sweep<T>(nodes: &[std::sync::Arc<Node<T>>], common: &Common, now: u64) {
    let mut rates: Vec<(usize, f64)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let window = node.window.swap(0, Ordering::Relaxed);
        // Read before `is_ejected`, which may end an expired ejection: an
        // endpoint ejected at any point of the interval keeps its
        // multiplier.
        let was_ejected = node.health.load(Ordering::Acquire) != 0;
        if node.is_ejected(now) || was_ejected {
            continue;
        }
        let m = node.multiplier.load(Ordering::Relaxed);
        if m > 0 {
            node.multiplier.store(m - 1, Ordering::Relaxed);
        }
        let calls = window & u64::from(u32::MAX);
        let failures = window >> 32;
        if let Some(sr) = common.config.success_rate {
            if calls >= u64::from(sr.request_volume) && calls > 0 {
                rates.push((i, 1.0 - failures as f64 / calls as f64));
            }
        }
    }
    let Some(sr) = common.config.success_rate else {
        return;
    };
    if rates.len() < sr.minimum_hosts as usize || rates.is_empty() {
        return;
    }
    let n = rates.len() as f64;
    let mean = rates.iter().map(|r| r.1).sum::<f64>() / n;
    let var = rates.iter().map(|r| (r.1 - mean).powi(2)).sum::<f64>() / n;
    let floor = mean - var.sqrt() * sr.stdev_factor;
    for (i, rate) in rates {
        if rate < floor {
            nodes[i].eject(EjectionReason::SuccessRate, now);
        }
    }
}
