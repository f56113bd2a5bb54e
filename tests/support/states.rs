//! A breaker that logs its events, and scenario helpers, for the state
//! machine's behaviour tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::breaker::{Builder, CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;
use seawall::observe::Event;

use super::call;

pub(crate) const NS: Duration = Duration::from_nanos(1);
pub(crate) const MS: Duration = Duration::from_millis(1);
pub(crate) const SEC: Duration = Duration::from_secs(1);

/// An owned copy of an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ev {
    Transition {
        from: State,
        to: State,
        generation: u32,
    },
    Reset,
    Rejected {
        state: State,
        retry_after: Option<Duration>,
    },
}

pub(crate) type Log = Arc<Mutex<Vec<Ev>>>;

/// A builder with a manual clock and an observer that logs every event of a
/// breaker named "test".
pub(crate) fn builder(clock: &ManualClock) -> (Builder, Log) {
    let log: Log = Arc::default();
    let sink = log.clone();
    let builder = CircuitBreaker::builder()
        .name("test")
        .clock(clock.clone())
        .observer(move |event: &Event<'_>| {
            let ev = match *event {
                Event::BreakerTransition {
                    name,
                    from,
                    to,
                    generation,
                } => {
                    assert_eq!(name, "test");
                    Ev::Transition {
                        from,
                        to,
                        generation,
                    }
                }
                Event::BreakerReset { name } => {
                    assert_eq!(name, "test");
                    Ev::Reset
                }
                Event::BreakerRejected {
                    name,
                    state,
                    retry_after,
                } => {
                    assert_eq!(name, "test");
                    Ev::Rejected { state, retry_after }
                }
                _ => return,
            };
            sink.lock().unwrap().push(ev);
        });
    (builder, log)
}

pub(crate) fn transitions(log: &Log) -> Vec<(State, State)> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match *e {
            Ev::Transition { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect()
}

pub(crate) fn take(log: &Log) -> Vec<Ev> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// The wait the breaker announces right now.
pub(crate) fn retry_after(breaker: &CircuitBreaker) -> Duration {
    let open = breaker.try_acquire().expect_err("the breaker is open");
    assert_eq!(open.state(), State::Open);
    open.retry_after().expect("OPEN knows its wait")
}

/// A breaker that trips on one failure.
pub(crate) fn one_strike(clock: &ManualClock, probes: u32) -> (CircuitBreaker, Log) {
    let (b, log) = builder(clock);
    let breaker = b
        .consecutive_failures(1)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(probes)
        .build()
        .unwrap();
    (breaker, log)
}

pub(crate) fn count_breaker(clock: &ManualClock, probes: u32) -> (CircuitBreaker, Log) {
    let (b, log) = builder(clock);
    let breaker = b
        .count_window(4)
        .minimum_number_of_calls(4)
        .failure_rate_threshold(50.0)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(probes)
        .build()
        .unwrap();
    (breaker, log)
}

pub(crate) fn trip_and_wait(breaker: &CircuitBreaker, clock: &ManualClock) {
    while breaker.state() == State::Closed {
        call(breaker, Outcome::Failure);
    }
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(10) + MS);
}
