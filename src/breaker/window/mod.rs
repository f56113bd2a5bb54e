//! The closed-state windows that decide when to trip.
//!
//! Each window records outcomes of calls admitted in a given closed (or
//! metrics-only) generation. A window starts afresh lazily: the first record
//! of a newer generation resets it, and records of an older one are dropped,
//! so a late call never counts in a later generation. The one thing a
//! transition does to a window is [`Window::retire`]: windows no state can
//! show any more are emptied, so that their short tags never come round to
//! a current generation (a `reset` clears, however many came before).
//!
//! # Which window under heavy concurrency
//!
//! One call in 64 failing, the service driven synchronously, one run of
//! `benches/breaker.rs` on a 2-core VM (ns per call over a bare service;
//! two threads share one breaker, and "2 threads vs 1" is their aggregate
//! throughput over one thread's, 2.0 being perfect):
//!
//! | policy | ns per call, `&'static` / default handle | floor, `&'static` / default | 2 threads vs 1 | writes per call |
//! | --- | --- | --- | --- | --- |
//! | consecutive failures | – / 7.0 | – | 1.06–1.59 | none while the run is at 0 |
//! | count window | 8.7 / 12.7 | 4.7 / 9.1 | 0.40–0.58 / 0.41–0.75 | the shared cursor |
//! | time window | 10.9 / 15.2 | 6.7 / 11.6 | 1.44–1.45 | the thread's own bucket |
//! | count window + slow calls | 14.0 / 18.6 | 8.9 / 13.2 | 0.47–0.48 | as the count window, two clock reads |
//! | time window + slow calls | – / 19.7 | – / 13.2 | 1.36–1.50 | as the time window, two clock reads |
//! | recloser 1.4 (peer) | 14.9 | – | 0.15–0.20 | a spin lock and its ring |
//! | one shared `fetch_add` | 4.7 | – | 0.62–0.69 | one shared line |
//!
//! The floor is what the row cannot avoid, measured in the same run: an
//! uncontended atomic read-modify-write, the clock reads, and for the
//! default handle the response future's hold on the breaker (a spare of
//! the thread's: 5.8 ns, where an `Arc` clone and drop cost about 10); see
//! [Where the time goes](#where-the-time-goes). Used the way recloser is
//! (`try_acquire` and `record` around the call, no response future owning
//! the breaker), the count window costs 9.6 ns on the default handle.
//! With 16 calls in flight per thread (`q_*` rows, another run) the count
//! window costs 19.3 ns on the default handle and 11.7 with `&'static`:
//! the thread's spares still write no count, but cost more than with one
//! call in flight.
//!
//! * With failures rare, the **consecutive** policy and a **count window**
//!   are cheapest. Every recorded call of a count window increments one
//!   shared cursor, so it scales like one shared atomic (which it is); the
//!   aggregate word is written only when a failure or slow call enters or
//!   leaves, and a fully clean window writes nothing at all.
//! * The **time window** writes only its thread's stripe (no line shared
//!   between threads on the success path), so it is the one to pick when
//!   many cores record at high rates; on one thread it costs a count
//!   window's record plus one clock read.
//! * **Slow-call detection** reads the clock at admission and at the
//!   outcome; turn it on only when latency is a failure signal.
//!
//! # Where the time goes
//!
//! `examples/profile_breaker.rs` under `valgrind --tool=callgrind`
//! (x86-64, a `ManualClock`, one call in 64 failing, `&'static` handle;
//! atomic read-modify-writes are the `lock`-prefixed instructions
//! executed, counted per call):
//!
//! | path | instructions per call | atomic RMWs per call |
//! | --- | --- | --- |
//! | count window | 167 | 1.10: the cursor, and a slot's CAS when a failure enters or leaves |
//! | time window | 211 | 1.03: the bucket's CAS, and the failure's bucket |
//! | count window + slow calls | 225 | 1.10 |
//! | the same, every call succeeding | 129 | 0 |
//! | default handle instead | +120 | 0 in steady state: the thread's spare handle (an `Arc` clone was +24 instructions and 2 RMWs) |
//!
//! (A `ManualClock` is read through its vtable; the system clocks are
//! called directly and cost fewer.) What no implementation avoids is the
//! floor of the table above: an uncontended RMW (4.7–5 ns on the measuring
//! machine) and a system clock read (2.7 ns) per call for a time window, a
//! second read for slow-call detection, and for the default handle the
//! hold on the breaker (about 6 ns as a thread's spare); a time window's
//! bucket is shared by the threads of its stripe, so a plain store would
//! lose counts. The rest, about 5 ns on
//! one thread with a `&'static` breaker, is spread over the record's
//! bookkeeping without a hot spot: the state word compared with the
//! admitting one (a late call must not count in a new generation), the
//! bucket's key of generation and second (the lazy reset), the dispatch on
//! state and window, and the adapter and response future.
//!
//! Under two threads a time window shares one line that every call reads:
//! the word that says whether a success must evaluate too. A failure writes
//! it only while the window does not yet hold its minimum of calls in the
//! current generation and second; with rare failures in a busy window it is
//! not written at all, which took two threads' throughput from about 1.5×
//! to about 2× one thread's.
//!
//! # Encoding limits
//!
//! * Count window: at most 30,000 calls (`MAX_COUNT_WINDOW`: three 16-bit
//!   counts and a 16-bit tag in one word). The tag is 16 bits of the
//!   generation, compared for equality only, and kept within 255
//!   generations of the current one by [`Window::retire`]; only a record
//!   stalled across 65,536 transitions between two of its own instructions
//!   could meet an aliased tag. A record that finds every slot it tries busy
//!   (possible only when more threads record at once than the window has
//!   slots) is dropped, and a busy slot is skipped, which makes one outcome
//!   leave a lap late: the window still holds exactly its size.
//! * Time window: buckets carry ten bits of the generation and 22 bits of
//!   the second. Retiring empties buckets of generations more than 255
//!   back every 256th generation (a full scan of `stripes × seconds`
//!   buckets, so once per 256 transitions). A bucket left untouched within
//!   one closed generation for a multiple of 2^22 s (48 days) that is also a
//!   multiple of the window length would be read as current. A stripe counts
//!   at most 2^32 - 1 calls per second (saturating).
//! * The generation itself has 29 bits: a call held across 2^29
//!   transitions would be taken for a current one.
//!
//! # Consistency
//!
//! A count window's counts live in one word that each record moves by one
//! CAS, with the changes to one slot applied in order, so every snapshot and
//! every verdict is of a window that existed: `failed ≤ calls ≤ size`. A
//! time window sums its stripes reading failures before calls, so no failure
//! is counted without its call (see `TimeWindow::sum`).

mod consecutive;
mod count;
mod time;

pub(crate) use consecutive::Consecutive;
pub(crate) use count::CountWindow;
pub(crate) use time::TimeWindow;

use super::config::{Config, Policy};

/// How many generations back a state can show a window: OPEN shows the
/// window it came from, through at most this many manual OPEN → OPEN
/// transitions. An older window is never read again, and is retired.
pub(crate) const CARRIED_MAX: u32 = u8::MAX as u32;

/// What a window holds, as the breaker evaluates and reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u32,
    pub(crate) failed: u32,
    pub(crate) slow: u32,
}

/// A percentage as resilience4j computes it (single precision).
pub(crate) fn rate(part: u32, calls: u32) -> f32 {
    part as f32 * 100.0 / calls as f32
}

/// The rate thresholds of a window, and the minimum calls below which its
/// rates are undefined.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thresholds {
    pub(crate) failure_rate: f32,
    pub(crate) slow_rate: f32,
    pub(crate) min_calls: u32,
}

impl Thresholds {
    /// resilience4j's verdict: trip when a rate is at or above its
    /// threshold, once the window holds the minimum number of calls.
    pub(crate) fn trips(&self, c: Counts) -> bool {
        c.calls >= self.min_calls
            && c.calls > 0
            && (rate(c.failed, c.calls) >= self.failure_rate
                || rate(c.slow, c.calls) >= self.slow_rate)
    }
}

/// The window a policy asks for.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
    Consecutive(Consecutive),
}

impl Window {
    pub(crate) fn new(config: &Config) -> (Window, Thresholds) {
        let s = &config.0;
        let mut thresholds = Thresholds {
            failure_rate: s.failure_rate_threshold,
            slow_rate: s.slow_call_rate_threshold,
            min_calls: s.minimum_number_of_calls,
        };
        let window = match s.policy {
            Policy::CountWindow { size } => {
                // As in resilience4j, a count window never waits for more
                // calls than it can hold.
                thresholds.min_calls = thresholds.min_calls.min(size);
                Window::Count(CountWindow::new(size))
            }
            Policy::TimeWindow { seconds } => {
                Window::Time(TimeWindow::new(seconds, thresholds.min_calls))
            }
            Policy::ConsecutiveFailures { threshold } => {
                Window::Consecutive(Consecutive::new(threshold))
            }
        };
        (window, thresholds)
    }

    /// Whether recording a success (not slow) of generation `gen` would
    /// change nothing: a full count window holding no failure and no slow
    /// call, or a consecutive run at zero. One load, no write: the healthy
    /// path. A time window always counts the call.
    #[inline]
    pub(crate) fn success_is_noop(&self, gen: u32) -> bool {
        match self {
            Window::Count(w) => w.success_is_noop(gen),
            Window::Consecutive(w) => w.success_is_noop(),
            Window::Time(_) => false,
        }
    }

    /// Whether recording needs the current time.
    pub(crate) fn needs_time(&self) -> bool {
        matches!(self, Window::Time(_))
    }

    /// Records one outcome of a call admitted in generation `gen`;
    /// `is_current` tells whether `gen` is still the breaker's generation.
    /// Returns `Some(trip)` when the record was taken and asked for an
    /// evaluation, `None` when nothing observable changed or the record was
    /// stale.
    #[inline]
    pub(crate) fn record(
        &self,
        thresholds: &Thresholds,
        gen: u32,
        now_nanos: u64,
        (failed, slow): (bool, bool),
        is_current: impl Fn() -> bool,
    ) -> Option<bool> {
        match self {
            Window::Count(w) => w
                .record(gen, failed, slow, is_current)
                .map(|c| thresholds.trips(c)),
            Window::Time(w) => w
                .record(gen, now_nanos, failed, slow, is_current)
                .map(|c| thresholds.trips(c)),
            Window::Consecutive(w) => w.record(gen, failed, is_current),
        }
    }

    /// Called after every transition, into generation `gen`: empties what
    /// no state can show any more, so that a window's tag never comes round
    /// to a later generation however many transitions the breaker makes.
    pub(crate) fn retire(&self, gen: u32) {
        match self {
            Window::Count(w) => w.retire(gen),
            Window::Time(w) => w.retire(gen),
            // Compares all 32 bits of the generation (which has 29).
            Window::Consecutive(_) => {}
        }
    }

    /// What the window holds for generation `gen` (zero if it holds an
    /// older one), and for a consecutive policy the current run length.
    pub(crate) fn counts(&self, gen: u32, now_nanos: u64) -> Counts {
        match self {
            Window::Count(w) => w.counts(gen),
            Window::Time(w) => w.counts(gen, now_nanos),
            Window::Consecutive(w) => w.counts(gen),
        }
    }
}
