//! Helpers shared by the loom models (see `tests/loom_breaker.rs`
//! for how the models are run and why each runs once per lead thread).
#![allow(dead_code)]

use std::mem;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loom::thread;
use seawall::breaker::{Builder, CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;
use seawall::observe::Event;

/// The wait in OPEN of every model; the clock is advanced past it to let a
/// call move the breaker to HALF_OPEN.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
pub(crate) const PAST_WAIT: Duration = Duration::from_secs(11);

/// Which thread of a model starts its racing part first: thread `i` (0 is
/// the model's main thread, spawned threads count from 1) yields once
/// before its racing part if `i` is below the lead, so loom's first
/// schedule of the execution runs the lead first and its backtracking
/// works from there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lead(pub(crate) usize);

impl Lead {
    /// Called by thread `me` right before its racing part.
    pub(crate) fn start(self, me: usize) {
        if me < self.0 {
            thread::yield_now();
        }
    }
}

/// Runs `model` under loom once per lead thread (`threads` in all).
pub(crate) fn check<F>(threads: usize, model: F)
where
    F: Fn(Lead) + Send + Sync + 'static,
{
    check_with(threads, loom::model::Builder::new().max_branches, model);
}

/// [`check`] with room for `max_branches` branches per execution, for
/// models whose set-up makes many atomic operations.
pub(crate) fn check_with<F>(threads: usize, max_branches: usize, model: F)
where
    F: Fn(Lead) + Send + Sync + 'static,
{
    let model = Arc::new(model);
    for lead in 0..threads {
        let model = model.clone();
        let mut builder = loom::model::Builder::new();
        builder.max_branches = max_branches;
        builder.check(move || model(Lead(lead)));
    }
}

/// The transitions a breaker reported. Events of racing transitions can
/// reach the observer out of order (each is emitted after its CAS), so they
/// are ordered by the generation they carry. A std mutex is fine here: loom
/// runs one thread at a time and never preempts inside it, since no loom
/// operation happens under the lock.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<(u32, State, State)>>>);

impl Log {
    /// `(from, to)` of every transition, in generation order.
    pub(crate) fn transitions(&self) -> Vec<(State, State)> {
        let mut events = self.0.lock().unwrap().clone();
        events.sort_by_key(|&(generation, _, _)| generation);
        let generations: Vec<_> = events.iter().map(|e| e.0).collect();
        assert!(
            generations.windows(2).all(|w| w[0] != w[1]),
            "two transitions reported one generation: {events:?}"
        );
        events.into_iter().map(|(_, from, to)| (from, to)).collect()
    }

    pub(crate) fn count(&self, from: State, to: State) -> usize {
        self.transitions()
            .iter()
            .filter(|&&t| t == (from, to))
            .count()
    }
}

/// Builds `builder` on `clock`, logging transitions to the returned log.
pub(crate) fn build(builder: Builder, clock: &ManualClock) -> (CircuitBreaker, Log) {
    let log = Log::default();
    let sink = log.clone();
    let breaker = builder
        .wait_duration_in_open_state(WAIT)
        .seed(0)
        .clock(clock.clone())
        .observer(move |event: &Event<'_>| {
            if let Event::BreakerTransition {
                from,
                to,
                generation,
                ..
            } = event
            {
                sink.0.lock().unwrap().push((*generation, *from, *to));
            }
        })
        .build()
        .unwrap();
    (breaker, log)
}

/// A count window of 2 that trips at 50 % once it holds 2 calls.
pub(crate) fn count_window_2() -> Builder {
    CircuitBreaker::builder()
        .count_window(2)
        .minimum_number_of_calls(2)
        .failure_rate_threshold(50.0)
}

/// Trips `breaker` (built from `count_window_2`) from CLOSED on this thread
/// and moves the clock past the wait, so that the next call opens HALF_OPEN.
pub(crate) fn trip_and_wait(breaker: &CircuitBreaker, clock: &ManualClock) {
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    clock.advance(PAST_WAIT);
}

/// Asks for a probe and holds it for good; returns 1 if it was admitted,
/// 0 if refused.
pub(crate) fn hold_probe(breaker: &CircuitBreaker) -> usize {
    match breaker.try_acquire() {
        Ok(permit) => {
            assert_eq!(permit.state(), State::HalfOpen);
            mem::forget(permit);
            1
        }
        Err(_) => 0,
    }
}
