//! The lock-free breaker: admission, recording and transitions.
//!
//! Plain synchronous Rust over atomics (through `crate::sync`), no runtime and
//! no tower: this is what the loom models check. One file per job:
//! `admission` (who may call), `record` (outcomes and verdicts),
//! `transition` (state changes, deadlines, manual control), `snapshot`
//! (state and metrics as a timer would show them), `refused` (refusal
//! counts), `permit` (what a call carries).
//!
//! Memory orderings: the state word is loaded with Acquire and changed with
//! AcqRel CAS, so a thread that sees a generation also sees everything the
//! transitioning thread wrote before it (window resets are lazy and need
//! nothing more). The deadline word is published with a CAS after the state
//! CAS that needs it; readers treat an unpublished deadline as "not yet".
//!
//! User code (observers) is called only after the breaker's own state is
//! complete, and behind `catch_unwind`: a panicking observer can hold no
//! probe slot and leave no deadline unpublished.

mod admission;
mod permit;
mod record;
mod refused;
mod snapshot;
mod transition;

use std::fmt;
use std::sync::Arc;

use super::config::Config;
use super::state::{Probes, State, Word};
use super::window::{Thresholds, Window};
use crate::clock::{saturating_nanos, SharedClock};
use crate::observe::SharedObserver;
use crate::sync::{AtomicU64, CachePadded, Ordering};

pub(crate) use self::permit::{Held, RawPermit};
pub use self::permit::{OwnedPermit, Permit};

/// A circuit breaker: a cheap, cloneable handle to one shared state
/// machine.
///
/// Use it through [`BreakerLayer`](super::BreakerLayer), or directly: ask
/// for a [`Permit`], make the call, record its [`Outcome`](crate::classify::Outcome).
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
    refused: CachePadded<refused::Refused>,
    // The clock's reading when the breaker was built: deadlines count from
    // here, so that they fit their 40 bits whatever the clock's origin.
    origin: u64,
    window: Window,
    thresholds: Thresholds,
    probe_thresholds: Thresholds,
    permitted: u8,
    slow_nanos: Option<u64>,
    // Whether recording an outcome reads the clock: slow-call detection
    // or a time window (one read serves both).
    timed_record: bool,
    seed: u64,
    config: Config,
    clock: SharedClock,
    observer: SharedObserver,
}

impl CircuitBreaker {
    /// A builder with resilience4j's defaults.
    pub fn builder() -> super::Builder {
        super::Builder::default()
    }

    /// A breaker from a validated configuration, on the system clock, with
    /// no observer.
    pub fn new(config: Config) -> Self {
        Self::from_parts(config, SharedClock::System, SharedObserver::default())
    }

    pub(crate) fn from_parts(config: Config, clock: SharedClock, observer: SharedObserver) -> Self {
        let (window, thresholds) = Window::new(&config);
        let s = &config.0;
        let permitted = s.permitted_number_of_calls_in_half_open_state as u8;
        let slow_nanos = s.slow_call_duration_threshold.map(saturating_nanos);
        let timed_record = slow_nanos.is_some() || window.needs_time();
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
            refused: CachePadded(refused::Refused::new()),
            origin: clock.now_nanos(),
            window,
            thresholds,
            // As resilience4j's half-open metrics: a count window of the
            // permitted probes, judged once it holds the minimum number of
            // calls (capped at its size, as any count window).
            probe_thresholds: Thresholds {
                failure_rate: s.failure_rate_threshold,
                slow_rate: s.slow_call_rate_threshold,
                min_calls: s.minimum_number_of_calls.min(permitted as u32),
            },
            permitted,
            slow_nanos,
            timed_record,
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

    /// The current state, as a timer would have made it: a HALF_OPEN
    /// phase whose maximum wait is over reads OPEN (the read makes that
    /// move, reporting its event, if no call has made it yet). OPEN itself becomes
    /// HALF_OPEN only on the first call after its wait (resilience4j's
    /// default, without `automaticTransitionFromOpenToHalfOpenEnabled`), so
    /// a breaker whose wait is over still reads OPEN until a call arrives;
    /// [`is_call_permitted`](Self::is_call_permitted) tells that this call
    /// would be admitted.
    pub fn state(&self) -> State {
        let word = self.word();
        if word.state == State::HalfOpen {
            return self.settled().state;
        }
        word.state
    }

    /// Nanoseconds since the breaker was built.
    #[inline]
    fn now(&self) -> u64 {
        let inner = &*self.inner;
        inner.clock.now_nanos().saturating_sub(inner.origin)
    }

    fn word(&self) -> Word {
        Word::decode(self.inner.state.load(Ordering::Acquire))
    }

    fn cas(&self, current: u64, next: Word) -> Result<(), u64> {
        self.inner
            .state
            .compare_exchange(current, next.encode(), Ordering::AcqRel, Ordering::Acquire)
            .map(drop)
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
