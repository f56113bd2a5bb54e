//! What the breaker shows and judges, as resilience4j's metrics: OPEN keeps
//! the figures of the state it came from, refusals count per state, probes
//! are judged as soon as the minimum of them completed.

mod support;

use std::time::Duration;

use seawall::breaker::{CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;
use support::{call, calls};

const MS: Duration = Duration::from_millis(1);
const WAIT: Duration = Duration::from_secs(10);

/// A count window of 4 that trips at 50 % once it holds `min` calls, with
/// `probes` probes.
fn breaker(clock: &ManualClock, min: u32, probes: u32) -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(4)
        .minimum_number_of_calls(min)
        .wait_duration_in_open_state(WAIT)
        .permitted_number_of_calls_in_half_open_state(probes)
        .clock(clock.clone())
        .build()
        .expect("a valid configuration")
}

/// (state, calls, failed, failure rate, refused in this state).
fn figures(b: &CircuitBreaker) -> (State, u32, u32, Option<f32>, u64) {
    let m = b.metrics();
    let calls = m.calls();
    let failed = m.failed_calls();
    (
        m.state(),
        calls,
        failed,
        m.failure_rate(),
        m.not_permitted_calls(),
    )
}

#[test]
fn open_shows_the_closed_window_that_tripped_it() {
    let clock = ManualClock::new();
    let b = breaker(&clock, 4, 2);
    calls(&b, Outcome::Success, 2);
    calls(&b, Outcome::Failure, 2);
    assert_eq!(figures(&b), (State::Open, 4, 2, Some(50.0), 0));
    assert!(b.try_acquire().is_err());
    assert_eq!(figures(&b), (State::Open, 4, 2, Some(50.0), 1));
    // A manual OPEN -> OPEN keeps the figures and continues the count.
    b.transition_to(State::Open).unwrap();
    assert_eq!(figures(&b), (State::Open, 4, 2, Some(50.0), 1));
}

#[test]
fn open_after_failed_probes_shows_them_and_their_refusals() {
    let clock = ManualClock::new();
    let b = breaker(&clock, 4, 2);
    calls(&b, Outcome::Failure, 4);
    clock.advance(WAIT + MS);
    let first = b.try_acquire().unwrap();
    let second = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err(), "both slots taken");
    first.record(Outcome::Failure);
    assert_eq!(figures(&b), (State::HalfOpen, 1, 1, None, 1));
    second.record(Outcome::Success);
    assert_eq!(figures(&b), (State::Open, 2, 1, Some(50.0), 1));
    b.transition_to(State::Open).unwrap();
    assert_eq!(figures(&b), (State::Open, 2, 1, Some(50.0), 1));
}

#[test]
fn open_after_forced_open_or_disabled_shows_no_calls() {
    let clock = ManualClock::new();
    let b = breaker(&clock, 4, 2);
    calls(&b, Outcome::Failure, 4);
    b.transition_to(State::ForcedOpen).unwrap();
    assert!(b.try_acquire().is_err());
    b.transition_to(State::Open).unwrap();
    // resilience4j hands FORCED_OPEN's metrics on: no calls, its refusal.
    assert_eq!(figures(&b), (State::Open, 0, 0, None, 1));
    b.transition_to(State::Disabled).unwrap();
    b.transition_to(State::Open).unwrap();
    assert_eq!(figures(&b), (State::Open, 0, 0, None, 0));
}

#[test]
fn every_other_new_state_starts_its_refusal_count_at_zero() {
    let clock = ManualClock::new();
    let b = breaker(&clock, 4, 1);
    b.transition_to(State::ForcedOpen).unwrap();
    calls_refused(&b, 3);
    for to in [State::Open, State::ForcedOpen, State::HalfOpen] {
        b.transition_to(to).unwrap();
        let expected = if to == State::Open { 3 } else { 0 };
        assert_eq!(b.metrics().not_permitted_calls(), expected, "{to}");
    }
    b.reset();
    let m = b.metrics();
    assert_eq!(m.not_permitted_calls(), 0);
    assert_eq!(m.lifetime_not_permitted_calls(), 3);
}

fn calls_refused(b: &CircuitBreaker, n: usize) {
    for _ in 0..n {
        assert!(b.try_acquire().is_err());
    }
}

/// Outcomes of the probes that complete in turn, and the state after each.
type Steps = &'static [(Outcome, State)];

/// (minimum_number_of_calls, permitted probes, steps).
const VERDICTS: &[(u32, u32, Steps)] = &[
    // Judged after min(2, 5) = 2 probes.
    (
        2,
        5,
        &[
            (Outcome::Success, State::HalfOpen),
            (Outcome::Success, State::Closed),
        ],
    ),
    (
        2,
        5,
        &[
            (Outcome::Success, State::HalfOpen),
            (Outcome::Failure, State::Open),
        ],
    ),
    // min(4, 3) = 3: all the probes.
    (
        4,
        3,
        &[
            (Outcome::Failure, State::HalfOpen),
            (Outcome::Success, State::HalfOpen),
            (Outcome::Success, State::Closed),
        ],
    ),
    (1, 3, &[(Outcome::Failure, State::Open)]),
];

#[test]
fn probes_are_judged_once_the_minimum_of_them_completed() {
    for &(min, probes, steps) in VERDICTS {
        let clock = ManualClock::new();
        let b = breaker(&clock, min, probes);
        while b.state() == State::Closed {
            call(&b, Outcome::Failure);
        }
        clock.advance(WAIT + MS);
        let held: Vec<_> = (0..probes).map(|_| b.try_acquire().unwrap()).collect();
        for (permit, &(outcome, state)) in held.into_iter().zip(steps) {
            permit.record(outcome);
            assert_eq!(b.state(), state, "min {min}, probes {probes}");
        }
        // The probes still out belong to a phase that is over: they change
        // nothing when they complete (they were dropped with `held`).
        let (_, last) = steps[steps.len() - 1];
        assert_eq!(b.state(), last);
    }
}
