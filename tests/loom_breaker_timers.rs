//! Loom models of the breaker's time-based steps: the half-open maximum wait
//! racing probes, and a call arriving between a trip and the publication of
//! its deadline. Run as `tests/loom_breaker.rs` is (see there):
//!
//! ```text
//! RUSTFLAGS="--cfg seawall_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --test loom_breaker_timers
//! ```
#![cfg(seawall_loom)]

mod loom_support;

use std::time::Duration;

use loom::thread;
use loom_support::{build, check, count_window_2, trip_and_wait, WAIT};
use seawall::breaker::{Builder, State};
use seawall::classify::Outcome;

const MAX_WAIT: Duration = Duration::from_secs(5);
const PAST_MAX_WAIT: Duration = Duration::from_secs(6);

/// Two probes, judged together, reopened after `MAX_WAIT`.
fn two_probes_max_wait() -> Builder {
    count_window_2()
        .permitted_number_of_calls_in_half_open_state(2)
        .max_wait_duration_in_half_open_state(MAX_WAIT)
}

/// Model T1. The maximum wait runs out while the probes complete: one
/// thread moves the clock past it and looks at the state, the main thread
/// records both probes' successes (which close the breaker if counted in
/// time). As with a timer, whoever sees OPEN first decides: once a reader
/// has seen OPEN, no outcome recorded afterwards may close the breaker,
/// and the phase ends in exactly one verdict.
#[test]
fn max_wait_racing_probes_never_closes_after_open_was_seen() {
    check(2, |lead| {
        let clock = loom_clock();
        let (breaker, log) = build(two_probes_max_wait(), &clock);
        trip_and_wait(&breaker, &clock);
        let first = breaker.try_acquire().unwrap();
        let second = breaker.try_acquire().unwrap();
        assert_eq!(first.state(), State::HalfOpen);

        let (b, c) = (breaker.clone(), clock.clone());
        let timer = thread::spawn(move || {
            lead.start(1);
            c.advance(PAST_MAX_WAIT);
            b.state()
        });
        lead.start(0);
        first.record(Outcome::Success);
        second.record(Outcome::Success);
        let seen = timer.join().unwrap();

        let end = breaker.state();
        if seen == State::Open {
            assert_eq!(end, State::Open, "closed after OPEN was seen");
        }
        let verdicts =
            log.count(State::HalfOpen, State::Closed) + log.count(State::HalfOpen, State::Open);
        assert_eq!(verdicts, 1, "{:?}", log.transitions());
        assert!(matches!(end, State::Open | State::Closed));
    });
}

/// Model T2. The maximum wait is over before anything races: a late probe
/// outcome, a new call and a reader race to apply it. Exactly one
/// HALF_OPEN -> OPEN, the breaker never closes, the call is refused as OPEN
/// (with the wait counted from when the maximum wait ran out, once it is
/// published).
#[test]
fn late_probe_and_new_call_apply_the_max_wait_once() {
    check(3, |lead| {
        let clock = loom_clock();
        let (breaker, log) = build(two_probes_max_wait(), &clock);
        trip_and_wait(&breaker, &clock);
        let probe = breaker.try_acquire().unwrap();
        clock.advance(PAST_MAX_WAIT);

        let b = breaker.clone();
        let caller = thread::spawn(move || {
            lead.start(1);
            b.try_acquire()
                .map(|p| p.state())
                .map_err(|e| (e.state(), e.retry_after()))
        });
        let b = breaker.clone();
        let reader = thread::spawn(move || {
            lead.start(2);
            (b.is_call_permitted(), b.state())
        });
        lead.start(0);
        probe.record(Outcome::Success);
        let called = caller.join().unwrap();
        let (permitted, seen) = reader.join().unwrap();

        // A call that loads OPEN before whoever reopened it has published
        // the new deadline is refused without a hint: the wait is not
        // known yet, and it is certainly not over.
        let wait_left = WAIT - (PAST_MAX_WAIT - MAX_WAIT);
        assert!(
            matches!(called, Err((State::Open, hint)) if hint.is_none() || hint == Some(wait_left)),
            "{called:?}"
        );
        assert_eq!((permitted, seen), (false, State::Open));
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(log.count(State::HalfOpen, State::Open), 1);
        assert_eq!(log.count(State::HalfOpen, State::Closed), 0);
    });
}

/// Model T3. A call arrives while another thread trips the breaker: it
/// may load OPEN before the trip has published its deadline, and the
/// deadline word it finds then belongs to an earlier state (here a
/// half-open phase's maximum wait, long over). It must be admitted in
/// CLOSED (before the trip) or refused as OPEN, never taken for the first
/// probe of a wait that has not even started.
#[test]
fn call_between_a_trip_and_its_deadline_is_refused() {
    check(2, |lead| {
        let clock = loom_clock();
        let (breaker, log) = build(two_probes_max_wait(), &clock);
        // A full cycle leaves a finite, long-passed deadline word behind.
        trip_and_wait(&breaker, &clock);
        breaker.try_acquire().unwrap().record(Outcome::Success);
        breaker.try_acquire().unwrap().record(Outcome::Success);
        assert_eq!(breaker.state(), State::Closed);
        clock.advance(PAST_MAX_WAIT);
        breaker.try_acquire().unwrap().record(Outcome::Failure);

        let b = breaker.clone();
        let tripper = thread::spawn(move || {
            lead.start(1);
            b.try_acquire().unwrap().record(Outcome::Failure);
        });
        lead.start(0);
        let state = match breaker.try_acquire() {
            Ok(permit) => permit.state(), // dropped: records nothing
            Err(open) => {
                assert!(open.retry_after().is_none_or(|left| left <= WAIT));
                open.state()
            }
        };
        tripper.join().unwrap();

        assert!(
            matches!(state, State::Closed | State::Open),
            "admitted in {state}"
        );
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(log.count(State::Closed, State::Open), 2);
        assert!(!breaker.is_call_permitted());
    });
}

fn loom_clock() -> seawall::clock::ManualClock {
    seawall::clock::ManualClock::new()
}
