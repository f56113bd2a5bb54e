//! Many real threads recording into one small window at once.
//!
//! Loom explores every interleaving of a few records; these tests run many
//! more on real threads, several writers per slot, and assert only what
//! must hold in every interleaving: a snapshot never shows more failed or
//! slow calls than calls, nor more calls than the window holds, and once
//! the writers are done the window holds exactly what a quiet sequence of
//! records puts in it (no count drifted). Iterations are bounded and no
//! assertion depends on timing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use seawall::breaker::{Builder, CircuitBreaker, Metrics, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

mod support;
use support::calls;

const WRITERS: usize = 6;
const RECORDS: usize = 200_000;

/// Every snapshot must be a window that can exist.
fn check(m: &Metrics, max_calls: u32) {
    assert!(m.failed_calls() <= m.calls(), "{m:?}");
    assert!(m.slow_calls() <= m.calls(), "{m:?}");
    assert!(m.calls() <= max_calls, "{m:?}");
    for rate in [m.failure_rate(), m.slow_call_rate()].into_iter().flatten() {
        assert!((0.0..=100.0).contains(&rate), "{m:?}");
    }
}

/// The outcome writer `w` records as its `i`-th: a mix in which about
/// one call in three fails, seeded by the indices.
fn outcome(w: usize, i: usize) -> Outcome {
    if (i * 7 + w * 3) % 3 == 0 {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

/// Runs `WRITERS` threads recording `RECORDS` outcomes each (one of them
/// also moving `clock` on by `tick` every 64 records) while the main thread
/// checks snapshots; returns the number of failures recorded.
fn hammer(breaker: &CircuitBreaker, clock: &ManualClock, tick: Duration, max_calls: u32) -> usize {
    let done = AtomicBool::new(false);
    let failures = thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (breaker, clock) = (breaker.clone(), clock.clone());
                s.spawn(move || {
                    let mut failures = 0;
                    for i in 0..RECORDS {
                        let permit = breaker.try_acquire().expect("METRICS_ONLY admits");
                        if w == 0 && i % 64 == 0 {
                            clock.advance(tick);
                        }
                        let o = outcome(w, i);
                        failures += (o == Outcome::Failure) as usize;
                        permit.record(o);
                    }
                    failures
                })
            })
            .collect();
        let reader = s.spawn(|| {
            let mut snapshots = 0u64;
            while !done.load(Ordering::Relaxed) {
                check(&breaker.metrics(), max_calls);
                snapshots += 1;
            }
            snapshots
        });
        let failures = writers.into_iter().map(|h| h.join().unwrap()).sum();
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        failures
    });
    check(&breaker.metrics(), max_calls);
    failures
}

/// METRICS_ONLY records without tripping, so every record counts.
fn metrics_only(builder: Builder, clock: &ManualClock) -> CircuitBreaker {
    let breaker = builder.clock(clock.clone()).build().unwrap();
    breaker.transition_to(State::MetricsOnly).unwrap();
    breaker
}

#[test]
fn small_count_windows_stay_consistent_under_many_writers() {
    for size in [1, 2, 3, 8] {
        let clock = ManualClock::new();
        let breaker = metrics_only(
            CircuitBreaker::builder()
                .count_window(size)
                .slow_call_duration_threshold(Duration::from_millis(1)),
            &clock,
        );
        hammer(&breaker, &clock, Duration::from_millis(2), size);
        // Quiet again: `size` failures, then `size` successes, must push
        // every earlier outcome out and be counted exactly.
        calls(&breaker, Outcome::Failure, size as usize);
        let m = breaker.metrics();
        assert_eq!(
            (m.calls(), m.failed_calls(), m.slow_calls()),
            (size, size, 0),
            "size {size}"
        );
        calls(&breaker, Outcome::Success, size as usize);
        let m = breaker.metrics();
        assert_eq!(
            (m.calls(), m.failed_calls(), m.slow_calls()),
            (size, 0, 0),
            "size {size}"
        );
    }
}

#[test]
fn time_window_sums_stay_consistent_under_many_writers() {
    let clock = ManualClock::new();
    let breaker = metrics_only(CircuitBreaker::builder().time_window(10), &clock);
    // The clock stands still: every record lands in one second, so the
    // window must end up holding every one of them.
    let failures = hammer(&breaker, &clock, Duration::ZERO, u32::MAX);
    let m = breaker.metrics();
    assert_eq!(m.calls() as usize, WRITERS * RECORDS);
    assert_eq!(m.failed_calls() as usize, failures);
}

#[test]
fn time_window_stays_consistent_while_seconds_pass() {
    let clock = ManualClock::new();
    let breaker = metrics_only(
        CircuitBreaker::builder()
            .time_window(2)
            .slow_call_duration_threshold(Duration::from_millis(1)),
        &clock,
    );
    // Buckets move on to newer seconds while others are summed.
    hammer(&breaker, &clock, Duration::from_millis(300), u32::MAX);
    clock.advance(Duration::from_secs(5));
    calls(&breaker, Outcome::Failure, 3);
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls(), m.slow_calls()), (3, 3, 0));
}
