//! Helpers shared by the breaker's behaviour tests. Each test file uses a
//! part of them.
#![allow(dead_code)]

pub(crate) mod states;

use std::time::Duration;

use seawall::breaker::CircuitBreaker;
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

/// Makes one call that is admitted and ends with `outcome`, instantly.
pub(crate) fn call(breaker: &CircuitBreaker, outcome: Outcome) {
    breaker
        .try_acquire()
        .expect("the breaker admits the call")
        .record(outcome);
}

/// Makes `n` such calls.
pub(crate) fn calls(breaker: &CircuitBreaker, outcome: Outcome, n: usize) {
    for _ in 0..n {
        call(breaker, outcome);
    }
}

/// Makes one call that lasts `duration` on `clock`.
pub(crate) fn timed_call(
    breaker: &CircuitBreaker,
    clock: &ManualClock,
    outcome: Outcome,
    duration: Duration,
) {
    let permit = breaker.try_acquire().expect("the breaker admits the call");
    clock.advance(duration);
    permit.record(outcome);
}
