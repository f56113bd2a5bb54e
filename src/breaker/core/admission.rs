//! Admission: who may make a call, and the refusals.

use std::time::Duration;

use super::{CircuitBreaker, Held, Permit, RawPermit};
use crate::breaker::error::Open;
use crate::breaker::state::{Deadline, State, Word};
use crate::observe::Event;
use crate::sync::Ordering;

impl CircuitBreaker {
    /// Asks to make one call.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Open> {
        self.acquire_raw().map(|raw| Permit {
            held: Held::new(self, raw),
        })
    }

    /// Whether a call made now would be admitted, without taking a permit
    /// or a probe slot and without changing anything: for health checks
    /// and for balancers that skip endpoints whose breaker refuses. It
    /// answers exactly as [`try_acquire`](Self::try_acquire) would at this
    /// instant: an OPEN breaker whose wait is over permits (its next call
    /// becomes a probe), a HALF_OPEN phase permits while it has a free
    /// probe slot and its maximum wait has not run out (after that it is
    /// OPEN, and permits again once that OPEN's wait is over too). The
    /// only thing it may change is a due half-open timeout, which it
    /// applies as [`state`](Self::state) does.
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
        let word = self.settled();
        match word.state {
            State::Closed | State::MetricsOnly | State::Disabled => true,
            State::ForcedOpen => false,
            State::Open => {
                let deadline = self.deadline();
                if deadline.tag == Deadline::tag_of(word.gen) {
                    return deadline.passed(self.now());
                }
                // Our word is stale (the deadline is a later state's: ask
                // again), or its deadline is not published yet, and then
                // `acquire_slow` refuses too.
                self.word() != word && self.is_call_permitted()
            }
            State::HalfOpen => word.probes.issued < self.inner.permitted,
        }
    }

    #[inline]
    pub(crate) fn acquire_raw(&self) -> Result<RawPermit, Open> {
        let inner = &*self.inner;
        let w = inner.state.load(Ordering::Acquire);
        // The healthy path: CLOSED (kind 0, no payload), the call timed
        // only where slow calls are detected.
        if w & Word::KIND_MASK == State::Closed.code() as u64 {
            if inner.slow_nanos.is_none() {
                return Ok(RawPermit { word: w, start: 0 });
            }
            return Ok(self.acquire_timed(w));
        }
        self.acquire_slow(w)
    }

    /// CLOSED with slow-call detection: the call starts on the clock. Out
    /// of line, so that the untimed healthy path stays a load and a test.
    #[inline(never)]
    fn acquire_timed(&self, w: u64) -> RawPermit {
        RawPermit {
            word: w,
            start: self.inner.clock.now_nanos(),
        }
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
                State::ForcedOpen => return Err(self.reject(word, None)),
                State::Open => {
                    let now = self.now();
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
                        return Err(self.reject(word, None));
                    }
                    if !deadline.passed(now) {
                        let left = deadline.nanos().saturating_sub(now);
                        return Err(self.reject(word, Some(Duration::from_nanos(left))));
                    }
                    // The first call strictly after the wait becomes the
                    // first probe.
                    let mut next = word.next(State::HalfOpen);
                    next.probes.issued = 1;
                    match self.cas(w, next) {
                        Ok(()) => {
                            // The permit exists before any user code runs.
                            let raw = RawPermit::new(next, self.start_time());
                            self.entered(word, next, now);
                            return Ok(raw);
                        }
                        Err(now) => w = now,
                    }
                }
                State::HalfOpen => {
                    if let Some(ran_out) = self.half_open_expired(word, self.now()) {
                        // The probe phase ran out of time: OPEN, as a timer
                        // would have made it then.
                        self.time_out_probes(w, word, ran_out);
                        w = inner.state.load(Ordering::Acquire);
                        continue;
                    }
                    if word.probes.issued >= inner.permitted {
                        return Err(self.reject(word, None));
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

    /// A refusal in `word`, counted and reported.
    pub(super) fn reject(&self, word: Word, retry_after: Option<Duration>) -> Open {
        self.inner.refused.count(word, || self.word());
        self.emit(&Event::BreakerRejected {
            name: self.inner.config.name(),
            state: word.state,
            retry_after,
        });
        self.open_error(word.state, retry_after)
    }

    /// The error of a refusal in `state`, naming this breaker.
    pub(crate) fn open_error(&self, state: State, retry_after: Option<Duration>) -> Open {
        Open::new(self.inner.config.shared_name().clone(), state, retry_after)
    }
}
