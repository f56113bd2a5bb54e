//! Behaviour of the breaker's state machine across states: events,
//! refusal counts, generations, and long lives that must not wear the
//! encodings out.
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
// Events and counters
// ---------------------------------------------------------------------------

#[test]
fn events_are_emitted_exactly_once_per_transition() {
    let clock = ManualClock::new();
    let (breaker, log) = one_strike(&clock, 2);
    call(&breaker, Outcome::Failure);
    let _ = breaker.try_acquire();
    clock.advance(Duration::from_secs(10) + MS);
    let p1 = breaker.try_acquire().unwrap();
    let p2 = breaker.try_acquire().unwrap();
    let _ = breaker.try_acquire();
    p1.record(Outcome::Success);
    p2.record(Outcome::Success);
    call(&breaker, Outcome::Success);
    breaker.transition_to(State::ForcedOpen).unwrap();
    breaker.transition_to(State::ForcedOpen).unwrap(); // no event
    breaker.transition_to(State::Closed).unwrap();

    assert_eq!(
        take(&log),
        [
            Ev::Transition {
                from: State::Closed,
                to: State::Open,
                generation: 1
            },
            Ev::Rejected {
                state: State::Open,
                retry_after: Some(Duration::from_secs(10))
            },
            Ev::Transition {
                from: State::Open,
                to: State::HalfOpen,
                generation: 2
            },
            Ev::Rejected {
                state: State::HalfOpen,
                retry_after: None
            },
            Ev::Transition {
                from: State::HalfOpen,
                to: State::Closed,
                generation: 3
            },
            Ev::Transition {
                from: State::Closed,
                to: State::ForcedOpen,
                generation: 4
            },
            Ev::Transition {
                from: State::ForcedOpen,
                to: State::Closed,
                generation: 6
            },
        ]
    );
}

#[test]
fn not_permitted_calls_count_the_refusals_of_the_current_state() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    call(&breaker, Outcome::Failure);
    for _ in 0..3 {
        assert!(breaker.try_acquire().is_err()); // OPEN
    }
    assert_eq!(breaker.metrics().not_permitted_calls(), 3);
    clock.advance(Duration::from_secs(10) + MS);
    let probe = breaker.try_acquire().unwrap();
    assert_eq!(breaker.metrics().not_permitted_calls(), 0, "a new state");
    for _ in 0..2 {
        assert!(breaker.try_acquire().is_err()); // HALF_OPEN, slot taken
    }
    assert_eq!(breaker.metrics().not_permitted_calls(), 2);
    probe.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
    let m = breaker.metrics();
    assert_eq!(m.not_permitted_calls(), 0, "a new state");
    assert_eq!(m.lifetime_not_permitted_calls(), 5, "kept across states");
    breaker.transition_to(State::ForcedOpen).unwrap();
    assert!(breaker.try_acquire().is_err());
    assert_eq!(breaker.metrics().not_permitted_calls(), 1);
    breaker.reset();
    let m = breaker.metrics();
    assert_eq!(m.not_permitted_calls(), 0);
    assert_eq!(m.lifetime_not_permitted_calls(), 6, "never cleared");
}

// ---------------------------------------------------------------------------
// Generations
// ---------------------------------------------------------------------------

#[test]
fn late_closed_call_is_not_recorded_and_is_not_a_probe() {
    let clock = ManualClock::new();
    let (breaker, log) = one_strike(&clock, 1);
    let late_success = breaker.try_acquire().unwrap();
    let late_failure = breaker.try_acquire().unwrap();
    assert_eq!(late_success.state(), State::Closed);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);

    clock.advance(Duration::from_secs(10) + MS);
    let probe = breaker.try_acquire().unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);

    // The CLOSED call completing now is no probe: it neither closes the
    // breaker nor frees or fills the probe slot.
    late_success.record(Outcome::Success);
    let m = breaker.metrics();
    assert_eq!((m.state(), m.calls()), (State::HalfOpen, 0));
    assert_eq!(breaker.try_acquire().unwrap_err().state(), State::HalfOpen);
    late_failure.record(Outcome::Failure);
    assert_eq!(breaker.state(), State::HalfOpen);

    probe.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(transitions(&log).len(), 3);
}

#[test]
fn late_closed_call_does_not_count_in_open_or_a_later_closed_window() {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .count_window(4)
        .minimum_number_of_calls(2)
        .build()
        .unwrap();
    let held: Vec<_> = (0..3).map(|_| breaker.try_acquire().unwrap()).collect();
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    let mut held = held.into_iter();
    held.next().unwrap().record(Outcome::Success);
    assert_eq!(breaker.metrics().calls(), 2, "OPEN's window is frozen");

    breaker.reset();
    held.next().unwrap().record(Outcome::Failure);
    held.next().unwrap().record(Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!((m.state(), m.calls()), (State::Closed, 0));
}

#[test]
fn late_closed_call_does_not_count_in_a_later_time_window() {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .time_window(10)
        .minimum_number_of_calls(2)
        .build()
        .unwrap();
    let held = breaker.try_acquire().unwrap();
    call(&breaker, Outcome::Failure);
    breaker.transition_to(State::Closed).unwrap();
    held.record(Outcome::Failure);
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!((m.state(), m.calls()), (State::Closed, 1));
}

#[test]
fn late_probe_of_an_earlier_phase_is_not_recorded() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 2);
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
    let old = breaker.try_acquire().unwrap();
    call(&breaker, Outcome::Failure);
    breaker.transition_to(State::Open).unwrap();
    clock.advance(Duration::from_secs(10) + MS);
    let fresh = breaker.try_acquire().unwrap();
    // The old probe's outcome and its dropped slot belong to the old phase.
    old.record(Outcome::Failure);
    assert_eq!(breaker.metrics().calls(), 0);
    let second = breaker.try_acquire().unwrap();
    assert!(
        breaker.try_acquire().is_err(),
        "two slots in this phase, both taken"
    );
    fresh.record(Outcome::Success);
    second.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

// ---------------------------------------------------------------------------
// Long lives: generation encodings must not wear out
// ---------------------------------------------------------------------------

/// Many resets (or manual transitions between CLOSED, DISABLED and the
/// like) publish no OPEN deadline; the next opening must still end.
#[test]
fn open_still_ends_after_many_resets() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    for _ in 0..40_000 {
        breaker.reset();
    }
    assert_eq!(breaker.metrics().generation(), 40_000);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(
        open.retry_after(),
        Some(Duration::from_secs(10)),
        "the OPEN deadline was not published"
    );
    clock.advance(Duration::from_secs(10) + MS);
    let probe = breaker
        .try_acquire()
        .expect("the wait is over: the next call is a probe");
    probe.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn open_still_ends_after_many_manual_transitions() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    for _ in 0..20_000 {
        breaker.transition_to(State::Disabled).unwrap();
        breaker.transition_to(State::Closed).unwrap();
    }
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(10) + MS);
    assert!(
        breaker.try_acquire().is_ok(),
        "generation {}: OPEN never ends",
        breaker.metrics().generation()
    );
}

#[test]
fn the_largest_probe_phase_admits_and_judges_255_probes() {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .minimum_number_of_calls(255)
        .permitted_number_of_calls_in_half_open_state(seawall::breaker::MAX_HALF_OPEN_PROBES)
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
    let probes: Vec<_> = (0..255)
        .map(|_| breaker.try_acquire().expect("a probe"))
        .collect();
    assert_eq!(breaker.try_acquire().unwrap_err().state(), State::HalfOpen);
    let mut probes = probes.into_iter();
    for p in probes.by_ref().take(127) {
        p.record(Outcome::Failure);
    }
    for p in probes {
        p.record(Outcome::Success);
    }
    // 127 failed of 255 = 49.8 %: below the default 50 %.
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_stuck_probe_phase_reopens_with_the_next_backoff_wait() {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .permitted_number_of_calls_in_half_open_state(1)
        .max_wait_duration_in_half_open_state(Duration::from_secs(30))
        .backoff(Backoff::exponential(SEC, 3.0, Duration::from_secs(60)))
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    assert_eq!(retry_after(&breaker), SEC);
    clock.advance(SEC + MS);
    let _stuck = breaker.try_acquire().unwrap();
    clock.advance(Duration::from_secs(30) + MS);
    let refused = breaker.try_acquire().unwrap_err();
    assert_eq!(refused.state(), State::Open);
    // The wait of attempt 2 started when the maximum wait ran out, 1 ms ago.
    assert_eq!(
        refused.retry_after(),
        Some(Duration::from_secs(3) - MS),
        "attempt 2"
    );
}
