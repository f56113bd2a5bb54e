//! HALF_OPEN and its probes: admission, verdicts, released slots and the
//! maximum wait.
//!
//! Every test drives time with a `ManualClock`: nothing sleeps.

use std::time::Duration;

use seawall::breaker::{CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

mod support;
use support::call;
use support::states::*;

// ---------------------------------------------------------------------------
// HALF_OPEN and its probes
// ---------------------------------------------------------------------------

#[test]
fn half_open_success_closes_with_a_fresh_window() {
    let clock = ManualClock::new();
    let (breaker, log) = count_breaker(&clock, 2);
    trip_and_wait(&breaker, &clock);
    assert_eq!(
        breaker.metrics().failed_calls(),
        4,
        "OPEN shows the window that tripped it"
    );

    call(&breaker, Outcome::Success);
    let m = breaker.metrics();
    assert_eq!(m.state(), State::HalfOpen);
    assert_eq!((m.calls(), m.failed_calls()), (1, 0));
    assert_eq!(
        m.failure_rate(),
        None,
        "undefined until every probe is done"
    );
    call(&breaker, Outcome::Success);

    let m = breaker.metrics();
    assert_eq!(m.state(), State::Closed);
    assert_eq!((m.calls(), m.failed_calls()), (0, 0), "a fresh window");
    assert_eq!(m.generation(), 3);
    assert_eq!(
        transitions(&log),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
        ]
    );
    // The old failures are gone: three failures do not reach the minimum.
    for _ in 0..3 {
        call(&breaker, Outcome::Failure);
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.metrics().failed_calls(), 3);
}

#[test]
fn half_open_failure_reopens() {
    let clock = ManualClock::new();
    let (breaker, log) = count_breaker(&clock, 1);
    trip_and_wait(&breaker, &clock);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(retry_after(&breaker), Duration::from_secs(10));
    assert_eq!(
        transitions(&log),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open),
        ]
    );
    // OPEN after HALF_OPEN shows the probe that failed.
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (1, 1));
    assert_eq!(m.failure_rate(), Some(100.0));
}

#[test]
fn half_open_probes_are_judged_together_once_all_are_done() {
    let clock = ManualClock::new();
    let (breaker, _) = count_breaker(&clock, 3);
    trip_and_wait(&breaker, &clock);
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!(
        m.state(),
        State::HalfOpen,
        "2 of 3 probes done: not judged yet"
    );
    assert_eq!((m.calls(), m.failed_calls()), (2, 2));
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Open, "2 failed of 3 = 67 %");

    // 1 failed of 3 = 33 %: closes.
    clock.advance(Duration::from_secs(10) + MS);
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn half_open_slow_probes_reopen() {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .slow_call_rate_threshold(50.0)
        .slow_call_duration_threshold(Duration::from_millis(100))
        .wait_duration_in_open_state(SEC)
        .permitted_number_of_calls_in_half_open_state(2)
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    clock.advance(SEC + MS);
    let fast = breaker.try_acquire().unwrap();
    let slow = breaker.try_acquire().unwrap();
    fast.record(Outcome::Success);
    clock.advance(Duration::from_millis(150));
    slow.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Open, "1 slow probe of 2 = 50 %");
}

#[test]
fn half_open_admits_exactly_the_permitted_probes() {
    let clock = ManualClock::new();
    let (breaker, log) = one_strike(&clock, 3);
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
    take(&log);

    let probes: Vec<_> = (0..3)
        .map(|_| breaker.try_acquire().expect("a probe"))
        .collect();
    assert!(probes.iter().all(|p| p.state() == State::HalfOpen));
    for _ in 0..5 {
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!(refused.state(), State::HalfOpen);
        assert_eq!(refused.retry_after(), None);
        assert_eq!(
            refused.to_string(),
            "circuit breaker 'test' is HALF_OPEN and does not permit further calls"
        );
    }
    assert_eq!(breaker.metrics().not_permitted_calls(), 5);
    let events = take(&log);
    assert_eq!(
        events[0],
        Ev::Transition {
            from: State::Open,
            to: State::HalfOpen,
            generation: 2
        }
    );
    assert_eq!(
        events[1..],
        vec![
            Ev::Rejected {
                state: State::HalfOpen,
                retry_after: None
            };
            5
        ][..]
    );

    for p in probes {
        p.record(Outcome::Success);
    }
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn ignored_probe_gives_its_slot_back() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
    for _ in 0..10 {
        call(&breaker, Outcome::Ignored);
        let m = breaker.metrics();
        assert_eq!(m.state(), State::HalfOpen);
        assert_eq!(m.calls(), 0);
    }
    assert_eq!(breaker.metrics().not_permitted_calls(), 0);
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn dropped_probe_gives_its_slot_back() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 2);
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
    let kept = breaker.try_acquire().unwrap();
    for _ in 0..10 {
        let dropped = breaker
            .try_acquire()
            .expect("the second slot is free again");
        drop(dropped);
    }
    let second = breaker.try_acquire().unwrap();
    assert!(breaker.try_acquire().is_err(), "both slots taken");
    kept.record(Outcome::Success);
    assert_eq!(breaker.state(), State::HalfOpen);
    second.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

/// Two probes, at most 5 s in HALF_OPEN: tripped by one failure, and its
/// 10 s wait just over, so the next call is the first probe.
fn tripped_with_max_wait_5s(clock: &ManualClock) -> (CircuitBreaker, Log) {
    let (b, log) = builder(clock);
    let breaker = b
        .consecutive_failures(1)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(2)
        .max_wait_duration_in_half_open_state(Duration::from_secs(5))
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
    (breaker, log)
}

#[test]
fn max_wait_in_half_open_reopens_a_stuck_probe_phase() {
    let clock = ManualClock::new();
    let (breaker, log) = tripped_with_max_wait_5s(&clock);
    let p1 = breaker.try_acquire().unwrap();
    let p2 = breaker.try_acquire().unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);

    clock.advance(Duration::from_secs(5));
    let refused = breaker.try_acquire().unwrap_err();
    assert_eq!(
        refused.state(),
        State::HalfOpen,
        "at exactly the maximum wait: still half-open"
    );
    // As if a timer had fired: OPEN as soon as the wait is over, before
    // any call, and its wait counts from then.
    clock.advance(Duration::from_secs(1));
    assert_eq!(breaker.state(), State::Open);
    assert!(!breaker.is_call_permitted());

    let refused = breaker.try_acquire().unwrap_err();
    assert_eq!(refused.state(), State::Open);
    // Reopened when the maximum wait ran out, 1 s ago.
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(9)));
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        transitions(&log),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open),
        ]
    );

    // The stuck probes finishing now change nothing.
    p1.record(Outcome::Success);
    p2.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(transitions(&log).len(), 3);
}

#[test]
fn max_wait_in_half_open_does_not_fire_while_probes_complete_in_time() {
    let clock = ManualClock::new();
    let (breaker, _) = tripped_with_max_wait_5s(&clock);
    call(&breaker, Outcome::Success);
    clock.advance(Duration::from_secs(5));
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
    // In CLOSED the half-open deadline is gone.
    clock.advance(Duration::from_secs(60));
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}
