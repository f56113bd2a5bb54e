//! Admission: who may make a call, and the refusals.

use std::time::Duration;

use super::{CircuitBreaker, Permit, RawPermit};
use crate::breaker::error::Open;
use crate::breaker::state::{Deadline, State, Word};
use crate::observe::Event;
use crate::sync::Ordering;

impl CircuitBreaker {
    /// Asks to make one call.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Open> {
        self.acquire_raw().map(|raw| Permit {
            breaker: self,
            raw: Some(raw),
        })
    }

    /// Whether a call made now would be admitted, without taking a permit
    /// or a probe slot: for health checks and for balancers that skip
    /// endpoints whose breaker refuses. Time-based steps are applied as if
    /// a timer had run: an OPEN breaker whose wait is over reads as
    /// permitting (its next call becomes a probe).
    ///
    /// ```
    /// use seawall::breaker::{CircuitBreaker, State};
    /// let breaker = CircuitBreaker::builder().build()?;
    /// assert!(breaker.is_call_permitted());
    /// breaker.transition_to(State::ForcedOpen)?;
    /// assert!(!breaker.is_call_permitted());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_call_permitted(&self) -> bool {
        let inner = &*self.inner;
        let word = self.word();
        match word.state {
            State::Closed | State::MetricsOnly | State::Disabled => true,
            State::ForcedOpen => false,
            State::Open => {
                let deadline = self.deadline();
                deadline.tag == Deadline::tag_of(word.gen)
                    && deadline.passed(inner.clock.now_nanos())
            }
            State::HalfOpen => {
                let deadline = self.deadline();
                let expired = inner
                    .config
                    .0
                    .max_wait_duration_in_half_open_state
                    .is_some()
                    && deadline.tag == Deadline::tag_of(word.gen)
                    && deadline.passed(inner.clock.now_nanos());
                !expired && word.probes.issued < inner.permitted
            }
        }
    }

    #[inline]
    pub(crate) fn acquire_raw(&self) -> Result<RawPermit, Open> {
        let inner = &*self.inner;
        let w = inner.state.load(Ordering::Acquire);
        // The healthy path: CLOSED (kind 0, no payload) and nothing to time.
        if w & Word::KIND_MASK == State::Closed.code() as u64 && inner.slow_nanos.is_none() {
            return Ok(RawPermit { word: w, start: 0 });
        }
        self.acquire_slow(w)
    }

    #[inline(never)]
    fn acquire_slow(&self, mut w: u64) -> Result<RawPermit, Open> {
        let inner = &*self.inner;
        loop {
            let word = Word::decode(w);
            match word.state {
                State::Closed | State::MetricsOnly | State::Disabled => {
                    // DISABLED records nothing, so it need not time the call.
                    let start = if word.state == State::Disabled {
                        0
                    } else {
                        self.start_time()
                    };
                    return Ok(RawPermit::new(word, start));
                }
                State::ForcedOpen => return Err(self.reject(State::ForcedOpen, None)),
                State::Open => {
                    let now = inner.clock.now_nanos();
                    let deadline = self.deadline();
                    if deadline.tag != Deadline::tag_of(word.gen) {
                        // Either the breaker has moved on since we loaded the
                        // state (the deadline is a later one's): look again;
                        // or the transition that opened it has not published
                        // its deadline yet: the wait is not over.
                        let again = inner.state.load(Ordering::Acquire);
                        if again != w {
                            w = again;
                            continue;
                        }
                        return Err(self.reject(State::Open, None));
                    }
                    if !deadline.passed(now) {
                        let left = deadline
                            .millis
                            .saturating_mul(1_000_000)
                            .saturating_sub(now);
                        return Err(self.reject(State::Open, Some(Duration::from_nanos(left))));
                    }
                    // The first call strictly after the wait becomes the
                    // first probe.
                    let mut next = word.next(State::HalfOpen);
                    next.probes.issued = 1;
                    match self.cas(w, next) {
                        Ok(()) => {
                            self.entered(word, next);
                            return Ok(RawPermit::new(next, self.start_time()));
                        }
                        Err(now) => w = now,
                    }
                }
                State::HalfOpen => {
                    if inner
                        .config
                        .0
                        .max_wait_duration_in_half_open_state
                        .is_some()
                    {
                        let deadline = self.deadline();
                        if deadline.tag == Deadline::tag_of(word.gen)
                            && deadline.passed(inner.clock.now_nanos())
                        {
                            // The probe phase never completed: reopen.
                            let next = word.next(State::Open);
                            if self.cas(w, next).is_ok() {
                                self.entered(word, next);
                            }
                            w = inner.state.load(Ordering::Acquire);
                            continue;
                        }
                    }
                    if word.probes.issued >= inner.permitted {
                        return Err(self.reject(State::HalfOpen, None));
                    }
                    let mut next = word;
                    next.probes.issued += 1;
                    match self.cas(w, next) {
                        Ok(()) => return Ok(RawPermit::new(word, self.start_time())),
                        Err(now) => w = now,
                    }
                }
            }
        }
    }

    fn start_time(&self) -> u64 {
        if self.inner.slow_nanos.is_some() {
            self.inner.clock.now_nanos()
        } else {
            0
        }
    }

    pub(super) fn reject(&self, state: State, retry_after: Option<Duration>) -> Open {
        // Relaxed: a statistic, ordered with nothing.
        self.inner.not_permitted.fetch_add(1, Ordering::Relaxed);
        self.inner.observer.emit(&Event::BreakerRejected {
            name: self.inner.config.name(),
            state,
            retry_after,
        });
        Open::new(self.inner.config.shared_name().clone(), state, retry_after)
    }
}
