//! The manual states (DISABLED, FORCED_OPEN, METRICS_ONLY), manual
//! transitions and resets.
//!
//! Every test drives time with a `ManualClock`: nothing sleeps.

use std::time::Duration;

use seawall::breaker::{Backoff, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

mod support;
use support::call;
use support::states::*;

// ---------------------------------------------------------------------------
// Manual states
// ---------------------------------------------------------------------------

#[test]
fn disabled_admits_everything_and_records_nothing() {
    let clock = ManualClock::new();
    let (breaker, log) = one_strike(&clock, 1);
    breaker.transition_to(State::Disabled).unwrap();
    for _ in 0..100 {
        let permit = breaker.try_acquire().expect("DISABLED admits");
        assert_eq!(permit.state(), State::Disabled);
        permit.record(Outcome::Failure);
    }
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Disabled);
    assert_eq!(
        (m.calls(), m.failed_calls(), m.not_permitted_calls()),
        (0, 0, 0)
    );
    assert_eq!(m.failure_rate(), None);
    assert_eq!(transitions(&log), [(State::Closed, State::Disabled)]);

    // Back to CLOSED: nothing was recorded meanwhile.
    breaker.transition_to(State::Closed).unwrap();
    assert_eq!(breaker.metrics().calls(), 0);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn forced_open_refuses_everything_until_told_otherwise() {
    let clock = ManualClock::new();
    let (breaker, log) = one_strike(&clock, 1);
    breaker.transition_to(State::ForcedOpen).unwrap();
    for _ in 0..3 {
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!(refused.state(), State::ForcedOpen);
        assert_eq!(refused.retry_after(), None);
        assert_eq!(
            refused.to_string(),
            "circuit breaker 'test' is FORCED_OPEN and does not permit further calls"
        );
        clock.advance(Duration::from_secs(3600));
    }
    let m = breaker.metrics();
    assert_eq!(m.state(), State::ForcedOpen);
    assert_eq!(m.not_permitted_calls(), 3);
    let rejected = take(&log)
        .into_iter()
        .filter(|e| {
            *e == Ev::Rejected {
                state: State::ForcedOpen,
                retry_after: None,
            }
        })
        .count();
    assert_eq!(rejected, 3);

    breaker.transition_to(State::Closed).unwrap();
    call(&breaker, Outcome::Success);
}

#[test]
fn metrics_only_records_but_never_trips() {
    let clock = ManualClock::new();
    let (b, log) = builder(&clock);
    let breaker = b
        .count_window(10)
        .minimum_number_of_calls(2)
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    breaker.transition_to(State::MetricsOnly).unwrap();
    assert_eq!(
        breaker.metrics().calls(),
        0,
        "METRICS_ONLY starts a fresh window"
    );
    for _ in 0..25 {
        let permit = breaker.try_acquire().expect("METRICS_ONLY admits");
        assert_eq!(permit.state(), State::MetricsOnly);
        permit.record(Outcome::Failure);
    }
    let m = breaker.metrics();
    assert_eq!(m.state(), State::MetricsOnly);
    assert_eq!((m.calls(), m.failed_calls()), (10, 10));
    assert_eq!(m.failure_rate(), Some(100.0));
    assert_eq!(transitions(&log), [(State::Closed, State::MetricsOnly)]);
}

#[test]
fn metrics_only_with_consecutive_policy_never_trips() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    breaker.transition_to(State::MetricsOnly).unwrap();
    for _ in 0..5 {
        call(&breaker, Outcome::Failure);
    }
    assert_eq!(breaker.state(), State::MetricsOnly);
    assert_eq!(breaker.metrics().failed_calls(), 5);
}

#[test]
fn forbidden_manual_transitions_are_refused() {
    let clock = ManualClock::new();
    let (breaker, log) = one_strike(&clock, 1);

    let err = breaker.transition_to(State::HalfOpen).unwrap_err();
    assert_eq!((err.from(), err.to()), (State::Closed, State::HalfOpen));
    assert_eq!(
        err.to_string(),
        "circuit breaker cannot go from closed to half_open"
    );
    assert_eq!(breaker.state(), State::Closed);

    breaker.transition_to(State::MetricsOnly).unwrap();
    let gen = breaker.metrics().generation();
    for to in [State::Open, State::HalfOpen] {
        let err = breaker.transition_to(to).unwrap_err();
        assert_eq!((err.from(), err.to()), (State::MetricsOnly, to));
        assert_eq!(breaker.state(), State::MetricsOnly);
    }
    assert_eq!(
        breaker.metrics().generation(),
        gen,
        "a refused transition changes nothing"
    );
    assert_eq!(transitions(&log), [(State::Closed, State::MetricsOnly)]);

    // Every other pair is allowed.
    for from in State::ALL {
        for to in State::ALL {
            let forbidden = matches!(
                (from, to),
                (State::Closed, State::HalfOpen)
                    | (State::MetricsOnly, State::Open)
                    | (State::MetricsOnly, State::HalfOpen)
            );
            assert_eq!(from.can_transition_to(to), !forbidden, "{from} -> {to}");
        }
    }
}

#[test]
fn manual_transition_to_the_current_state_restarts_it_silently() {
    let clock = ManualClock::new();
    let (b, log) = builder(&clock);
    let breaker = b
        .count_window(10)
        .minimum_number_of_calls(10)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(2)
        .build()
        .unwrap();

    // CLOSED -> CLOSED clears the window.
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    let gen = breaker.metrics().generation();
    breaker.transition_to(State::Closed).unwrap();
    let m = breaker.metrics();
    assert_eq!((m.state(), m.calls()), (State::Closed, 0));
    assert_eq!(m.generation(), gen + 1);
    assert!(
        take(&log).is_empty(),
        "no event for a transition to the same state"
    );

    // OPEN -> OPEN restarts the wait.
    breaker.transition_to(State::Open).unwrap();
    clock.advance(Duration::from_secs(8));
    breaker.transition_to(State::Open).unwrap();
    assert_eq!(retry_after(&breaker), Duration::from_secs(10));
    clock.advance(Duration::from_secs(10) + MS);

    // HALF_OPEN -> HALF_OPEN starts a new probe phase.
    let stale = breaker.try_acquire().unwrap();
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.metrics().calls(), 1);
    breaker.transition_to(State::HalfOpen).unwrap();
    let m = breaker.metrics();
    assert_eq!((m.state(), m.calls()), (State::HalfOpen, 0));
    stale.record(Outcome::Failure); // belongs to the old phase
    assert_eq!(breaker.metrics().calls(), 0);
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);

    assert_eq!(
        transitions(&log),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
        ]
    );
}

#[test]
fn reset_returns_to_closed_and_clears_everything() {
    let clock = ManualClock::new();
    let (b, log) = builder(&clock);
    let breaker = b
        .count_window(4)
        .minimum_number_of_calls(2)
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    assert!(breaker.try_acquire().is_err());
    assert!(breaker.try_acquire().is_err());
    assert_eq!(breaker.metrics().not_permitted_calls(), 2);
    take(&log);

    breaker.reset();
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Closed);
    assert_eq!(
        (m.calls(), m.failed_calls(), m.not_permitted_calls()),
        (0, 0, 0)
    );
    assert_eq!(
        take(&log),
        [
            Ev::Transition {
                from: State::Open,
                to: State::Closed,
                generation: 2
            },
            Ev::Reset,
        ]
    );

    // A reset in CLOSED reports the reset only, and still clears the window.
    call(&breaker, Outcome::Failure);
    breaker.reset();
    assert_eq!(breaker.metrics().calls(), 0);
    assert_eq!(take(&log), [Ev::Reset]);
    call(&breaker, Outcome::Failure);
    assert_eq!(
        breaker.state(),
        State::Closed,
        "one failure is below the minimum of 2"
    );
}

#[test]
fn reset_from_every_state_closes() {
    let clock = ManualClock::new();
    for from in [
        State::Open,
        State::HalfOpen,
        State::Disabled,
        State::ForcedOpen,
        State::MetricsOnly,
    ] {
        let (breaker, log) = one_strike(&clock, 1);
        if from == State::HalfOpen {
            breaker.transition_to(State::Open).unwrap();
        }
        breaker.transition_to(from).unwrap();
        take(&log);
        breaker.reset();
        assert_eq!(breaker.state(), State::Closed);
        let events = take(&log);
        assert_eq!(events.len(), 2, "{from}: {events:?}");
        assert!(
            matches!(events[0], Ev::Transition { from: f, to: State::Closed, .. } if f == from)
        );
        assert_eq!(events[1], Ev::Reset);
    }
}

#[test]
fn reset_restarts_the_backoff() {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .permitted_number_of_calls_in_half_open_state(1)
        .backoff(Backoff::exponential(SEC, 2.0, Duration::from_secs(60)))
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    clock.advance(SEC + MS);
    call(&breaker, Outcome::Failure);
    assert_eq!(retry_after(&breaker), Duration::from_secs(2));
    breaker.reset();
    call(&breaker, Outcome::Failure);
    assert_eq!(retry_after(&breaker), SEC);
}
