//! Loom models of the closed-state windows under racing records.
//!
//! Built only under `--cfg seawall_loom`, as `.ci/run` does:
//!
//! ```text
//! RUSTFLAGS="--cfg seawall_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --test loom_windows
//! ```
//!
//! Each breaker runs in METRICS_ONLY, so every record counts and nothing
//! trips (a trip would make the other records stale). Every thread checks
//! a snapshot after its record, the invariant every snapshot must keep: no
//! more failed or slow calls than calls, no more calls than the window
//! holds. Once the threads are joined, a quiet sequence of records must
//! leave exactly the counts it puts in (no count drifted). Under loom the
//! time window has two stripes and each model thread writes the stripe of
//! its index (see `seawall::sync::stripe_hint`).
//!
//! As in `loom_breaker.rs`, each model runs once per thread with a
//! different thread starting its racing part first, so that loom's
//! backtracking also tries the orders its partial-order reduction would
//! hide behind a load.
#![cfg(seawall_loom)]

mod loom_support;

use std::time::Duration;

use loom::thread;
use loom_support::check;
use seawall::breaker::{Builder, CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

const SLOW: Duration = Duration::from_millis(1);

fn metrics_only(builder: Builder, clock: &ManualClock) -> CircuitBreaker {
    let breaker = builder
        .slow_call_duration_threshold(SLOW)
        .clock(clock.clone())
        .build()
        .unwrap();
    breaker.transition_to(State::MetricsOnly).unwrap();
    breaker
}

/// The invariant of every snapshot.
fn consistent(breaker: &CircuitBreaker, max_calls: u32) {
    let m = breaker.metrics();
    assert!(m.failed_calls() <= m.calls(), "{m:?}");
    assert!(m.slow_calls() <= m.calls(), "{m:?}");
    assert!(m.calls() <= max_calls, "{m:?}");
}

/// One call with `outcome`, lasting `slow` past the threshold if asked.
fn call(breaker: &CircuitBreaker, clock: &ManualClock, outcome: Outcome, slow: bool) {
    let permit = breaker.try_acquire().unwrap();
    if slow {
        clock.advance(SLOW * 2);
    }
    permit.record(outcome);
}

/// Model W1. A count window of one slot holding a failure; two threads
/// replace it at once, a success and a failure. Whatever the order of
/// their slot and aggregate CASes, no snapshot may show two failures in
/// one slot (a replacement counted before the one it replaced).
#[test]
fn count_window_one_slot_racing_records() {
    check(3, |lead| {
        let clock = ManualClock::new();
        let breaker = metrics_only(CircuitBreaker::builder().count_window(1), &clock);
        call(&breaker, &clock, Outcome::Failure, false);

        let spawn = |me: usize, outcome: Outcome| {
            let (b, c) = (breaker.clone(), clock.clone());
            thread::spawn(move || {
                lead.start(me);
                call(&b, &c, outcome, false);
                consistent(&b, 1);
            })
        };
        let t1 = spawn(1, Outcome::Success);
        let t2 = spawn(2, Outcome::Failure);
        lead.start(0);
        consistent(&breaker, 1);
        t1.join().unwrap();
        t2.join().unwrap();
        consistent(&breaker, 1);

        call(&breaker, &clock, Outcome::Success, false);
        let m = breaker.metrics();
        assert_eq!((m.calls(), m.failed_calls(), m.slow_calls()), (1, 0, 0));
    });
}

/// Model W2. Slow calls in a two-slot count window: a slow success and a
/// fast failure race into slots that held a slow failure and a success.
/// The slow count must stay within the calls in every snapshot, and a
/// quiet lap of fast successes must leave no slow call behind.
#[test]
fn count_window_slow_calls_race() {
    check(2, |lead| {
        let clock = ManualClock::new();
        let breaker = metrics_only(CircuitBreaker::builder().count_window(2), &clock);
        call(&breaker, &clock, Outcome::Failure, true);
        call(&breaker, &clock, Outcome::Success, false);

        let (b, c) = (breaker.clone(), clock.clone());
        let t = thread::spawn(move || {
            lead.start(1);
            call(&b, &c, Outcome::Success, true);
            consistent(&b, 2);
        });
        lead.start(0);
        call(&breaker, &clock, Outcome::Failure, false);
        consistent(&breaker, 2);
        t.join().unwrap();

        for _ in 0..2 {
            call(&breaker, &clock, Outcome::Success, false);
        }
        let m = breaker.metrics();
        assert_eq!((m.calls(), m.failed_calls(), m.slow_calls()), (2, 0, 0));
    });
}

/// Model W3. A time window summed across its two stripes while each stripe
/// takes a failure: the sum must never count a failure without its call,
/// and once quiet it must hold both.
#[test]
fn time_window_two_stripes_sum_while_recording() {
    check(2, |lead| {
        let clock = ManualClock::new();
        let breaker = metrics_only(CircuitBreaker::builder().time_window(1), &clock);

        let (b, c) = (breaker.clone(), clock.clone());
        let t = thread::spawn(move || {
            lead.start(1);
            call(&b, &c, Outcome::Failure, false);
        });
        lead.start(0);
        consistent(&breaker, u32::MAX);
        call(&breaker, &clock, Outcome::Failure, false);
        consistent(&breaker, u32::MAX);
        t.join().unwrap();

        let m = breaker.metrics();
        assert_eq!((m.calls(), m.failed_calls()), (2, 2));
    });
}
