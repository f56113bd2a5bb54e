//! The lock-free breaker: admission, recording and transitions.
//!
//! Plain synchronous Rust over atomics (through `crate::sync`), no runtime and
//! no tower: this is what the loom models check.
//!
//! Memory orderings: the state word is loaded with Acquire and changed with
//! AcqRel CAS, so a thread that sees a generation also sees everything the
//! transitioning thread wrote before it (window resets are lazy and need
//! nothing more). The deadline word is published with a CAS after the state
//! CAS that needs it; readers treat an unpublished deadline as "not yet".

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::backoff::splitmix64;
use super::config::{Config, Policy};
use super::error::{Open, TransitionError};
use super::metrics::Metrics;
use super::state::{Deadline, Probes, State, Word, DEADLINE_NEVER, GEN_MASK};
use super::window::{Counts, Thresholds, Window};
use crate::classify::Outcome;
use crate::clock::{saturating_nanos, SharedClock};
use crate::observe::{Event, SharedObserver};
use crate::sync::{AtomicU64, CachePadded, Ordering};

/// A circuit breaker: a cheap, cloneable handle to one shared state
/// machine.
///
/// Use it through [`BreakerLayer`](super::BreakerLayer), or directly: ask
/// for a [`Permit`], make the call, record its [`Outcome`].
///
/// ```
/// use seawall::breaker::{CircuitBreaker, State};
/// use seawall::classify::Outcome;
///
/// let breaker = CircuitBreaker::builder()
///     .count_window(4)
///     .minimum_number_of_calls(4)
///     .build()?;
/// for _ in 0..2 {
///     breaker.try_acquire()?.record(Outcome::Success);
///     breaker.try_acquire()?.record(Outcome::Failure);
/// }
/// // 2 failures of 4 calls is 50 %, the default threshold.
/// assert_eq!(breaker.state(), State::Open);
/// assert!(breaker.try_acquire().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

struct Inner {
    // Loaded by every call; written only by transitions.
    state: CachePadded<AtomicU64>,
    deadline: CachePadded<AtomicU64>,
    not_permitted: CachePadded<AtomicU64>,
    window: Window,
    thresholds: Thresholds,
    probe_thresholds: Thresholds,
    permitted: u8,
    slow_nanos: Option<u64>,
    seed: u64,
    config: Config,
    clock: SharedClock,
    observer: SharedObserver,
}

/// What a call carries from admission to completion: the state word that
/// admitted it (kind and generation, without probe counters) and, with
/// slow-call detection, its start time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawPermit {
    word: u64,
    start: u64,
}

impl RawPermit {
    #[inline]
    fn new(word: Word, start: u64) -> Self {
        let bare = Word {
            probes: Probes::default(),
            ..word
        };
        Self {
            word: bare.encode(),
            start,
        }
    }

    #[inline]
    fn gen(self) -> u32 {
        Word::decode(self.word).gen
    }

    #[inline]
    fn state(self) -> State {
        Word::decode(self.word).state
    }
}

/// Permission to make one call. Record its outcome with
/// [`record`](Permit::record); dropping it unrecorded counts as a cancelled
/// call (nothing is recorded, a half-open probe slot is given back).
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// use seawall::classify::Outcome;
/// let breaker = CircuitBreaker::builder().build()?;
/// let permit = breaker.try_acquire()?;
/// permit.record(Outcome::Success);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    raw: Option<RawPermit>,
}

impl Permit<'_> {
    /// The state the call was admitted in.
    pub fn state(&self) -> State {
        self.raw.map_or(State::Closed, RawPermit::state)
    }

    /// Records the call's outcome.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        if let Some(raw) = self.raw.take() {
            self.breaker.record_raw(raw, outcome);
        }
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            self.breaker.release_raw(raw);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("raw", &self.raw).finish()
    }
}

impl CircuitBreaker {
    /// A builder with resilience4j's defaults.
    pub fn builder() -> super::Builder {
        super::Builder::default()
    }

    /// A breaker from a validated configuration, on the system clock, with
    /// no observer.
    pub fn new(config: Config) -> Self {
        Self::from_parts(
            config,
            Arc::new(crate::clock::SystemClock),
            SharedObserver::default(),
        )
    }

    pub(crate) fn from_parts(config: Config, clock: SharedClock, observer: SharedObserver) -> Self {
        let (window, thresholds) = Window::new(&config);
        let s = &config.0;
        let permitted = s.permitted_number_of_calls_in_half_open_state as u8;
        let seed = s.seed.unwrap_or_else(|| {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        });
        let inner = Inner {
            state: CachePadded(AtomicU64::new(
                Word {
                    state: State::Closed,
                    gen: 0,
                    probes: Probes::default(),
                }
                .encode(),
            )),
            deadline: CachePadded(AtomicU64::new(0)),
            not_permitted: CachePadded(AtomicU64::new(0)),
            window,
            thresholds,
            probe_thresholds: Thresholds {
                failure_rate: s.failure_rate_threshold,
                slow_rate: s.slow_call_rate_threshold,
                min_calls: permitted as u32,
            },
            permitted,
            slow_nanos: s.slow_call_duration_threshold.map(saturating_nanos),
            seed,
            config,
            clock,
            observer,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The configuration this breaker runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        self.inner.config.name()
    }

    /// The current state. OPEN becomes HALF_OPEN lazily, on the first call
    /// after the wait, so a breaker whose wait is over still reads OPEN until
    /// a call arrives.
    pub fn state(&self) -> State {
        self.word().state
    }

    /// Asks to make one call.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Open> {
        self.acquire_raw().map(|raw| Permit {
            breaker: self,
            raw: Some(raw),
        })
    }

    fn word(&self) -> Word {
        Word::decode(self.inner.state.load(Ordering::Acquire))
    }

    fn needs_time_on_record(&self) -> bool {
        self.inner.slow_nanos.is_some() || self.inner.window.needs_time()
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

    fn is_slow(&self, raw: RawPermit, now: u64) -> bool {
        self.inner
            .slow_nanos
            .is_some_and(|limit| now.saturating_sub(raw.start) > limit)
    }

    #[inline]
    pub(crate) fn record_raw(&self, raw: RawPermit, outcome: Outcome) {
        // The healthy path: a success in CLOSED that cannot change the
        // window (whatever generation holds now, it is a no-op there too).
        if outcome == Outcome::Success
            && raw.word & Word::KIND_MASK == State::Closed.code() as u64
            && self.inner.slow_nanos.is_none()
            && self.inner.window.success_is_noop(raw.gen())
        {
            return;
        }
        self.record_slow(raw, outcome)
    }

    #[inline(never)]
    fn record_slow(&self, raw: RawPermit, outcome: Outcome) {
        if outcome == Outcome::Ignored {
            return self.release_raw(raw);
        }
        let inner = &*self.inner;
        let failed = outcome.is_failure();
        match raw.state() {
            State::Closed | State::MetricsOnly => {
                let w = inner.state.load(Ordering::Acquire);
                let word = Word::decode(w);
                if word.gen != raw.gen() {
                    return; // admitted in an earlier generation
                }
                let now = if self.needs_time_on_record() {
                    inner.clock.now_nanos()
                } else {
                    0
                };
                let slow = self.is_slow(raw, now);
                let is_current = || self.word().gen == raw.gen();
                let trip = inner.window.record(
                    &inner.thresholds,
                    raw.gen(),
                    now,
                    (failed, slow),
                    is_current,
                );
                if trip == Some(true) && word.state == State::Closed {
                    // Only the CAS from the very word that admitted the call
                    // trips: of two racing records, one transition.
                    let next = word.next(State::Open);
                    if self.cas(w, next).is_ok() {
                        self.entered(word, next);
                    }
                }
            }
            State::HalfOpen => {
                let slow = inner.slow_nanos.is_some() && self.is_slow(raw, inner.clock.now_nanos());
                let mut w = inner.state.load(Ordering::Acquire);
                loop {
                    let word = Word::decode(w);
                    if word.gen != raw.gen() {
                        return;
                    }
                    let mut next = word;
                    next.probes.done += 1;
                    next.probes.failed += failed as u8;
                    next.probes.slow += slow as u8;
                    if next.probes.done >= inner.permitted {
                        let judged = Counts {
                            calls: next.probes.done as u32,
                            failed: next.probes.failed as u32,
                            slow: next.probes.slow as u32,
                        };
                        let verdict = if inner.probe_thresholds.trips(judged) {
                            State::Open
                        } else {
                            State::Closed
                        };
                        next = word.next(verdict);
                    }
                    match self.cas(w, next) {
                        Ok(()) => {
                            if next.gen != word.gen {
                                self.entered(word, next);
                            }
                            return;
                        }
                        Err(now) => w = now,
                    }
                }
            }
            State::Disabled | State::Open | State::ForcedOpen => {}
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

    fn cas(&self, current: u64, next: Word) -> Result<(), u64> {
        self.inner
            .state
            .compare_exchange(current, next.encode(), Ordering::AcqRel, Ordering::Acquire)
            .map(drop)
    }

    fn deadline(&self) -> Deadline {
        Deadline::decode(self.inner.deadline.load(Ordering::Acquire))
    }

    /// The backoff attempt of the phase `word` belongs to (0 outside OPEN
    /// and HALF_OPEN).
    fn attempt_of(&self, word: Word) -> u8 {
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
    fn entered(&self, from: Word, to: Word) {
        let inner = &*self.inner;
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

    fn publish_deadline(&self, gen: u32, attempt: u8, wait: Option<Duration>) {
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

    fn reject(&self, state: State, retry_after: Option<Duration>) -> Open {
        // Relaxed: a statistic, ordered with nothing.
        self.inner.not_permitted.fetch_add(1, Ordering::Relaxed);
        self.inner.observer.emit(&Event::BreakerRejected {
            name: self.inner.config.name(),
            state,
            retry_after,
        });
        Open::new(state, retry_after)
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

    /// A snapshot of the state and the counts the breaker decides on.
    ///
    /// In CLOSED and METRICS_ONLY it shows the window; in HALF_OPEN the
    /// probes of the current phase; in OPEN the window that tripped it (if
    /// it was tripped from CLOSED); in DISABLED and FORCED_OPEN nothing but
    /// the refused calls.
    pub fn metrics(&self) -> Metrics {
        let inner = &*self.inner;
        let word = self.word();
        let now = if inner.window.needs_time() {
            inner.clock.now_nanos()
        } else {
            0
        };
        let rates = !matches!(inner.config.policy(), Policy::ConsecutiveFailures { .. });
        let (counts, min_calls, rates) = match word.state {
            State::Closed | State::MetricsOnly => (
                inner.window.counts(word.gen, now),
                inner.thresholds.min_calls,
                rates,
            ),
            State::Open => (
                inner
                    .window
                    .counts(word.gen.wrapping_sub(1) & GEN_MASK, now),
                inner.thresholds.min_calls,
                rates,
            ),
            State::HalfOpen => (
                Counts {
                    calls: word.probes.done as u32,
                    failed: word.probes.failed as u32,
                    slow: word.probes.slow as u32,
                },
                inner.permitted as u32,
                true,
            ),
            State::Disabled | State::ForcedOpen => (Counts::default(), 1, false),
        };
        Metrics::new(
            word.state,
            word.gen,
            counts,
            rates && counts.calls >= min_calls && counts.calls > 0,
            inner.not_permitted.load(Ordering::Relaxed),
        )
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}
