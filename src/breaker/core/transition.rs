//! State changes: deadlines, events, manual control.

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use super::CircuitBreaker;
use crate::breaker::backoff::splitmix64;
use crate::breaker::error::TransitionError;
use crate::breaker::state::{Deadline, State, Word, DEADLINE_NEVER};
use crate::observe::Event;
use crate::sync::Ordering;

impl CircuitBreaker {
    pub(super) fn deadline(&self) -> Deadline {
        Deadline::decode(self.inner.deadline.load(Ordering::Acquire))
    }

    /// The backoff attempt of the phase `word` belongs to (0 outside OPEN
    /// and HALF_OPEN).
    pub(super) fn attempt_of(&self, word: Word) -> u8 {
        if !matches!(word.state, State::Open | State::HalfOpen) {
            return 0;
        }
        let d = self.deadline();
        let tag = Deadline::tag_of(word.gen);
        // HALF_OPEN copies its attempt from the OPEN before it, so either
        // deadline will do.
        if d.tag == tag || d.tag == tag.wrapping_sub(1) {
            d.attempt
        } else {
            0
        }
    }

    /// When the probe phase `word` ran out of time, if it has by `now`
    /// (ns since the breaker's origin): the moment its maximum wait ended.
    /// `None` outside HALF_OPEN, without a maximum wait, or while its
    /// deadline is not published (it was entered a moment ago).
    pub(super) fn half_open_expired(&self, word: Word, now: u64) -> Option<u64> {
        if word.state != State::HalfOpen
            || self
                .inner
                .config
                .0
                .max_wait_duration_in_half_open_state
                .is_none()
        {
            return None;
        }
        let d = self.deadline();
        (d.tag == Deadline::tag_of(word.gen) && d.passed(now)).then(|| d.nanos())
    }

    /// Ends the probe phase `word` (loaded as `w`) that ran out of time at
    /// `ran_out`: OPEN, with its wait counted from then, as if a timer had
    /// fired. Losing the CAS is fine: whoever won moved the phase on.
    pub(super) fn time_out_probes(&self, w: u64, word: Word, ran_out: u64) {
        let next = word.next(State::Open);
        if self.cas(w, next).is_ok() {
            self.entered(word, next, ran_out);
        }
    }

    /// Makes the move a half-open timer would have made by now, if any is
    /// due, so that a manual transition starts from the state `state()`
    /// shows (and its events come in a timer's order); true if one was.
    fn timer_due(&self, w: u64, word: Word) -> bool {
        match self.half_open_expired(word, self.now()) {
            Some(ran_out) => {
                self.time_out_probes(w, word, ran_out);
                true
            }
            None => false,
        }
    }

    /// The wait OPEN of generation `gen` starts with: the backoff's wait
    /// for its `attempt`, jittered by the generation.
    pub(super) fn open_wait(&self, attempt: u8, gen: u32) -> Duration {
        let inner = &*self.inner;
        let entropy = splitmix64(inner.seed ^ gen as u64);
        inner
            .config
            .0
            .wait_duration_in_open_state
            .wait(attempt as u32, entropy)
    }

    /// Work that follows a successful transition CAS from `from` to `to`,
    /// which took effect `at` (ns since the breaker's origin: now, or the
    /// moment a half-open maximum wait ran out): publish the deadline the
    /// new state needs, then report the event.
    pub(super) fn entered(&self, from: Word, to: Word, at: u64) {
        let inner = &*self.inner;
        inner.window.retire(to.gen);
        // Every transition publishes a deadline word, even one with no
        // deadline, so that its 16-bit tag stays close to the generation.
        let (attempt, wait) = match to.state {
            State::Open => {
                let attempt = self.attempt_of(from).saturating_add(1);
                (attempt, Some(self.open_wait(attempt, to.gen)))
            }
            State::HalfOpen => (
                self.attempt_of(from),
                inner.config.0.max_wait_duration_in_half_open_state,
            ),
            State::Closed | State::MetricsOnly | State::Disabled | State::ForcedOpen => (0, None),
        };
        self.publish_deadline(to.gen, attempt, wait.map(|w| Deadline::after(at, w)));
        if to.state == State::Open {
            inner.refused.carry(from.gen, to.gen);
        }
        if from.state != to.state {
            self.emit(&Event::BreakerTransition {
                name: inner.config.name(),
                from: from.state,
                to: to.state,
                generation: to.gen,
            });
        }
    }

    /// Calls the observer. A panic there is caught and dropped, as
    /// resilience4j catches what its event consumers throw: the breaker's
    /// state is complete before any event is emitted, and an observer must
    /// not be able to make a transition or a refusal fail half-way. The
    /// panic hook has reported it already.
    pub(super) fn emit(&self, event: &Event<'_>) {
        let observer = &self.inner.observer;
        let _ = panic::catch_unwind(AssertUnwindSafe(|| observer.emit(event)));
    }

    fn publish_deadline(&self, gen: u32, attempt: u8, millis: Option<u64>) {
        let ours = Deadline {
            tag: Deadline::tag_of(gen),
            attempt,
            millis: millis.unwrap_or(DEADLINE_NEVER),
        };
        let slot = &self.inner.deadline;
        let mut cur = slot.load(Ordering::Acquire);
        loop {
            // A later transition publishes its own deadline (perhaps
            // already): never overwrite it.
            if self.word().gen != gen {
                return;
            }
            match slot.compare_exchange_weak(
                cur,
                ours.encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Moves the breaker to `to` by hand, as resilience4j's
    /// `transitionTo…State`. A transition to the current state reports no
    /// event but starts that state afresh (new window, new probe phase, new
    /// wait). CLOSED → HALF_OPEN and METRICS_ONLY → OPEN or HALF_OPEN are
    /// refused.
    ///
    /// ```
    /// use seawall::breaker::{CircuitBreaker, State};
    /// let breaker = CircuitBreaker::builder().build()?;
    /// breaker.transition_to(State::Disabled)?;
    /// assert_eq!(breaker.state(), State::Disabled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transition_to(&self, to: State) -> Result<(), TransitionError> {
        let mut w = self.inner.state.load(Ordering::Acquire);
        loop {
            let word = Word::decode(w);
            if self.timer_due(w, word) {
                w = self.inner.state.load(Ordering::Acquire);
                continue;
            }
            if !word.state.can_transition_to(to) {
                return Err(TransitionError::new(word.state, to));
            }
            let next = word.next(to);
            match self.cas(w, next) {
                Ok(()) => {
                    self.entered(word, next, self.now());
                    return Ok(());
                }
                Err(now) => w = now,
            }
        }
    }

    /// Returns to CLOSED with cleared metrics (the per-state count of
    /// refused calls starts again at 0; the lifetime count is kept) and
    /// reports a reset event.
    ///
    /// ```
    /// use seawall::breaker::{CircuitBreaker, State};
    /// let breaker = CircuitBreaker::builder().build()?;
    /// breaker.transition_to(State::ForcedOpen)?;
    /// breaker.reset();
    /// assert_eq!(breaker.state(), State::Closed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset(&self) {
        let mut w = self.inner.state.load(Ordering::Acquire);
        loop {
            let word = Word::decode(w);
            if self.timer_due(w, word) {
                w = self.inner.state.load(Ordering::Acquire);
                continue;
            }
            let next = word.next(State::Closed);
            match self.cas(w, next) {
                Ok(()) => {
                    self.entered(word, next, self.now());
                    self.emit(&Event::BreakerReset {
                        name: self.inner.config.name(),
                    });
                    return;
                }
                Err(now) => w = now,
            }
        }
    }
}
