//! Recording outcomes, and the verdicts they lead to.

use super::{CircuitBreaker, RawPermit};
use crate::breaker::state::{State, Word};
use crate::breaker::window::Counts;
use crate::classify::Outcome;
use crate::sync::Ordering;

impl CircuitBreaker {
    /// Whether the call was slow: by the latency its caller measured, if
    /// given, else by the clock.
    pub(super) fn is_slow(&self, raw: RawPermit, now: u64, measured: Option<u64>) -> bool {
        let elapsed = measured.unwrap_or_else(|| now.saturating_sub(raw.start));
        self.inner.slow_nanos.is_some_and(|limit| elapsed > limit)
    }

    #[inline]
    pub(crate) fn record_raw(&self, raw: RawPermit, outcome: Outcome) {
        // The healthy path: a success in CLOSED that cannot change the
        // window (whatever generation holds now, it is a no-op there too).
        let inner = &*self.inner;
        if outcome == Outcome::Success
            && raw.word & Word::KIND_MASK == State::Closed.code() as u64
            && inner.window.success_is_noop(raw.gen())
        {
            if inner.slow_nanos.is_none() {
                return;
            }
            return self.record_timed_success(raw);
        }
        self.record_slow(raw, outcome, None)
    }

    /// A success in a full, clean window with slow-call detection on: a
    /// fast one changes nothing either. The clock is read only once the
    /// window is known clean, so a record that goes on reads it once, in
    /// `record_slow`.
    #[inline(never)]
    fn record_timed_success(&self, raw: RawPermit) {
        let elapsed = self.inner.clock.now_nanos().saturating_sub(raw.start);
        if self.inner.slow_nanos.is_some_and(|limit| elapsed > limit) {
            self.record_slow(raw, Outcome::Success, Some(elapsed));
        }
    }

    #[inline(never)]
    pub(super) fn record_slow(&self, raw: RawPermit, outcome: Outcome, measured: Option<u64>) {
        if outcome == Outcome::Ignored {
            return self.release_raw(raw);
        }
        let failed = outcome.is_failure();
        // Dispatched on the kind bits: decoding the state costs a division.
        let kind = raw.word & Word::KIND_MASK;
        if kind == State::Closed.code() as u64 || kind == State::MetricsOnly.code() as u64 {
            self.record_closed(raw, failed, measured)
        } else if kind == State::HalfOpen.code() as u64 {
            self.record_probe(raw, failed, measured)
        }
    }

    /// An outcome of a call admitted in CLOSED or METRICS_ONLY: into the
    /// window, and a trip if the window says so.
    #[inline(always)]
    fn record_closed(&self, raw: RawPermit, failed: bool, measured: Option<u64>) {
        let inner = &*self.inner;
        // These states carry no probe counters, so the state word equals
        // the call's exactly while its generation lasts: one compare
        // instead of decoding the word.
        let w = inner.state.load(Ordering::Acquire);
        if w != raw.word {
            return; // admitted in an earlier generation
        }
        // One clock read serves both the slow-call verdict and the time
        // window's bucket.
        let now = if inner.timed_record {
            inner.clock.now_nanos()
        } else {
            0
        };
        let slow = self.is_slow(raw, now, measured);
        let is_current = || inner.state.load(Ordering::Acquire) == raw.word;
        let trip = inner.window.record(
            &inner.thresholds,
            raw.gen(),
            now,
            (failed, slow),
            is_current,
        );
        if trip == Some(true) && raw.word & Word::KIND_MASK == State::Closed.code() as u64 {
            // Only the CAS from the very word that admitted the call
            // trips: of two racing records, one transition.
            let word = Word::decode(w);
            let next = word.next(State::Open);
            if self.cas(w, next).is_ok() {
                self.entered(word, next, self.now());
            }
        }
    }

    /// An outcome of a half-open probe.
    fn record_probe(&self, raw: RawPermit, failed: bool, measured: Option<u64>) {
        let inner = &*self.inner;
        let timed = inner.slow_nanos.is_some()
            || inner
                .config
                .0
                .max_wait_duration_in_half_open_state
                .is_some();
        let clock = if timed { inner.clock.now_nanos() } else { 0 };
        let slow = self.is_slow(raw, clock, measured);
        let now = clock.saturating_sub(inner.origin);
        let mut w = inner.state.load(Ordering::Acquire);
        loop {
            let word = Word::decode(w);
            if word.gen != raw.gen() {
                return;
            }
            if let Some(ran_out) = self.half_open_expired(word, now) {
                // Recorded after the phase ran out of time: a timer
                // would have reopened the breaker already, and this
                // outcome would have been too late to count.
                return self.time_out_probes(w, word, ran_out);
            }
            let mut counted = word;
            counted.probes.done += 1;
            counted.probes.failed += failed as u8;
            counted.probes.slow += slow as u8;
            let p = counted.probes;
            // resilience4j judges as soon as the minimum number of
            // probes has completed; later probes of the phase are
            // then late calls of an earlier generation.
            let next = if p.done as u32 >= inner.probe_thresholds.min_calls {
                let judged = Counts {
                    calls: p.done as u32,
                    failed: p.failed as u32,
                    slow: p.slow as u32,
                };
                if inner.probe_thresholds.trips(judged) {
                    counted.next(State::Open)
                } else {
                    counted.next(State::Closed)
                }
            } else {
                counted
            };
            match self.cas(w, next) {
                Ok(()) => {
                    if next.gen != word.gen {
                        self.entered(word, next, self.now());
                    }
                    return;
                }
                Err(now) => w = now,
            }
        }
    }

    /// A call that ends without an outcome gives its probe slot back.
    ///
    /// Cold and out of line: every response future's drop glue holds a call
    /// to it, and keeping that glue small lets it inline on the hot path.
    #[cold]
    #[inline(never)]
    pub(crate) fn release_raw(&self, raw: RawPermit) {
        if raw.state() != State::HalfOpen {
            return;
        }
        let mut w = self.inner.state.load(Ordering::Acquire);
        loop {
            let word = Word::decode(w);
            if word.gen != raw.gen() || word.probes.issued == 0 {
                return;
            }
            let mut next = word;
            next.probes.issued -= 1;
            match self.cas(w, next) {
                Ok(()) => return,
                Err(now) => w = now,
            }
        }
    }
}
