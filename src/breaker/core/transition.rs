//! State changes: deadlines, events, manual control.

use std::time::Duration;

use super::CircuitBreaker;
use crate::breaker::backoff::splitmix64;
use crate::breaker::error::TransitionError;
use crate::breaker::state::{Deadline, State, Word, DEADLINE_NEVER};
use crate::clock::saturating_nanos;
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

    /// Work that follows a successful transition CAS from `from` to `to`:
    /// publish the deadline the new state needs, report the event.
    pub(super) fn entered(&self, from: Word, to: Word) {
        let inner = &*self.inner;
        inner.window.retire(to.gen);
        let settings = &inner.config.0;
        // Every transition publishes a deadline word, even one with no
        // deadline, so that its 16-bit tag stays close to the generation.
        let (attempt, wait) = match to.state {
            State::Open => {
                let attempt = self.attempt_of(from).saturating_add(1);
                let entropy = splitmix64(inner.seed ^ to.gen as u64);
                let wait = settings
                    .wait_duration_in_open_state
                    .wait(attempt as u32, entropy);
                (attempt, Some(wait))
            }
            State::HalfOpen => (
                self.attempt_of(from),
                settings.max_wait_duration_in_half_open_state,
            ),
            State::Closed | State::MetricsOnly | State::Disabled | State::ForcedOpen => (0, None),
        };
        self.publish_deadline(to.gen, attempt, wait);
        if from.state != to.state {
            inner.observer.emit(&Event::BreakerTransition {
                name: inner.config.name(),
                from: from.state,
                to: to.state,
                generation: to.gen,
            });
        }
    }

    pub(super) fn publish_deadline(&self, gen: u32, attempt: u8, wait: Option<Duration>) {
        let millis = match wait {
            Some(wait) => Deadline::millis_at(
                self.inner
                    .clock
                    .now_nanos()
                    .saturating_add(saturating_nanos(wait)),
            ),
            None => DEADLINE_NEVER,
        };
        let ours = Deadline {
            tag: Deadline::tag_of(gen),
            attempt,
            millis,
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
            if !word.state.can_transition_to(to) {
                return Err(TransitionError::new(word.state, to));
            }
            let next = word.next(to);
            match self.cas(w, next) {
                Ok(()) => {
                    self.entered(word, next);
                    return Ok(());
                }
                Err(now) => w = now,
            }
        }
    }

    /// Returns to CLOSED with cleared metrics (including the count of
    /// refused calls) and reports a reset event.
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
            let next = word.next(State::Closed);
            match self.cas(w, next) {
                Ok(()) => {
                    self.inner.not_permitted.store(0, Ordering::Relaxed);
                    self.entered(word, next);
                    self.inner.observer.emit(&Event::BreakerReset {
                        name: self.inner.config.name(),
                    });
                    return;
                }
                Err(now) => w = now,
            }
        }
    }
}
