//! One endpoint's shared state: pending calls, health, load.
//!
//! Words and the orderings that make them correct:
//! - `pending`: calls in flight in the low bits, [`REMOVED`] in bit 63. One
//!   word for both, so a pick and a removal are ordered by that word alone:
//!   either the pick's `fetch_add` comes first and the removal's `fetch_or`
//!   counts it in flight, or the removal comes first and the pick sees the
//!   bit and backs out. No store-load (Dekker) ordering is needed.
//! - `health`: 0 healthy, [`GONE`] removed, anything else the clock
//!   nanosecond the ejection ends. Every change is one CAS or swap on this
//!   word, and the share counter `Common::ejected` moves once per change
//!   into or out of "ejected" (reserved before the CAS, given back if the
//!   CAS loses), so it never undercounts and never passes the maximum.

use std::sync::Arc;

use super::Common;
use crate::balance::gate::Health;
use crate::balance::load::LoadCell;
use crate::observe::Event;
use crate::sync::{AtomicU32, AtomicU64, CachePadded, Ordering};

/// Bit 63 of `pending`: the endpoint left the set.
pub(crate) const REMOVED: u64 = 1 << 63;
/// `health` of a removed endpoint.
pub(crate) const GONE: u64 = u64::MAX;

/// One endpoint, shared by every snapshot that lists it and every call
/// that picked it.
pub(crate) struct Node<T> {
    // Written by every call: its own cache line, apart from the words picks
    // only read.
    pub(crate) pending: CachePadded<AtomicU64>,
    pub(crate) health: AtomicU64,
    pub(crate) consecutive: AtomicU32,
    /// Ejections in a row (Envoy's ejection-time multiplier).
    pub(crate) multiplier: AtomicU32,
    /// Calls (low 32 bits) and failures (high 32 bits) in this interval.
    pub(crate) window: AtomicU64,
    /// Slow start began at this clock nanosecond + 1; 0 when not ramping.
    pub(crate) ramp_from: AtomicU64,
    pub(crate) load: LoadCell,
    pub(crate) gates: Health,
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) value: T,
    pub(crate) common: Arc<Common>,
}

impl<T> Node<T> {
    pub(crate) fn new(
        id: u64,
        name: String,
        value: T,
        gates: Health,
        common: Arc<Common>,
        now: u64,
    ) -> Self {
        let load = LoadCell::new();
        common.config.load.init(&load, now);
        let ramp = if common.config.slow_start.is_some() {
            now + 1
        } else {
            0
        };
        Self {
            pending: CachePadded(AtomicU64::new(0)),
            health: AtomicU64::new(0),
            consecutive: AtomicU32::new(0),
            multiplier: AtomicU32::new(0),
            window: AtomicU64::new(0),
            ramp_from: AtomicU64::new(ramp),
            load,
            gates,
            id,
            name,
            value,
            common,
        }
    }

    /// Calls in flight.
    pub(crate) fn in_flight(&self) -> u64 {
        self.pending.load(Ordering::Acquire) & !REMOVED
    }

    pub(crate) fn is_removed(&self) -> bool {
        self.pending.load(Ordering::Acquire) & REMOVED != 0
    }

    /// Counts one call in flight, unless the endpoint was removed.
    #[inline]
    pub(crate) fn enter(&self) -> bool {
        // AcqRel: pairs with the removal's fetch_or on the same word.
        let prev = self.pending.fetch_add(1, Ordering::AcqRel);
        if prev & REMOVED != 0 {
            self.leave();
            return false;
        }
        true
    }

    /// One call left (finished, cancelled or backed out).
    #[inline]
    pub(crate) fn leave(&self) {
        let prev = self.pending.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(prev & !REMOVED > 0, "pending count went below zero");
    }

    /// Marks the endpoint removed; returns the calls in flight at that
    /// moment. Its ejection, if any, stops counting against the share.
    pub(crate) fn remove(&self) -> u64 {
        let prev = self.pending.fetch_or(REMOVED, Ordering::AcqRel);
        let health = self.health.swap(GONE, Ordering::AcqRel);
        let ejected = health != 0 && health != GONE;
        if ejected {
            self.common.ejected.fetch_sub(1, Ordering::AcqRel);
        }
        // An ejected endpoint that leaves never returns: without this an
        // observer would show it ejected for good.
        self.common.config.observer.emit(&Event::BalanceRemoved {
            name: &self.common.config.name,
            endpoint: &self.name,
            ejected,
        });
        prev & !REMOVED
    }

    /// The slow-start weight at `now`, in (0, 1]; 1 when not ramping.
    #[inline]
    pub(crate) fn weight(&self, now: u64) -> f64 {
        let from = self.ramp_from.load(Ordering::Relaxed);
        if from == 0 {
            return 1.0;
        }
        let Some(slow) = self.common.config.slow_start else {
            return 1.0;
        };
        let elapsed = now.saturating_sub(from - 1) as f64;
        let window = crate::clock::saturating_nanos(slow.window) as f64;
        if elapsed >= window {
            // Done ramping: later picks skip the arithmetic. A CAS, so a
            // ramp restarted meanwhile (a return) is kept.
            let _ = self
                .ramp_from
                .compare_exchange(from, 0, Ordering::Relaxed, Ordering::Relaxed);
            return 1.0;
        }
        (elapsed / window)
            .powf(1.0 / slow.aggression)
            .max(slow.min_weight)
    }

    /// The cost the chooser compares: load over slow-start weight.
    #[inline]
    pub(crate) fn cost(&self, now: u64) -> f64 {
        let load = self
            .common
            .config
            .load
            .cost(&self.load, self.in_flight(), now);
        load / self.weight(now)
    }
}
