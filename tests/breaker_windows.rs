//! Behaviour of the closed-state windows: what trips the breaker, what the
//! window holds and when calls leave it.
//!
//! Every test drives time with a `ManualClock`: nothing sleeps.

use std::time::Duration;

use seawall::breaker::{CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

const MS: Duration = Duration::from_millis(1);

mod support;
use support::{call, calls, timed_call};

// ---------------------------------------------------------------------------
// Failure rate
// ---------------------------------------------------------------------------

#[test]
fn failure_rate_exactly_at_threshold_trips() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(4)
        .minimum_number_of_calls(4)
        .failure_rate_threshold(50.0)
        .clock(clock.clone())
        .build()
        .unwrap();
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Success);
    assert_eq!(
        breaker.state(),
        State::Closed,
        "3 calls are below the minimum"
    );
    call(&breaker, Outcome::Failure);
    // 2 of 4 = 50 %: at the threshold, resilience4j trips.
    assert_eq!(breaker.state(), State::Open);
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (4, 2));
    assert_eq!(m.failure_rate(), Some(50.0));
}

#[test]
fn failure_rate_just_below_threshold_does_not_trip() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(100)
        .minimum_number_of_calls(100)
        .failure_rate_threshold(50.0)
        .clock(clock.clone())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Success, 51);
    calls(&breaker, Outcome::Failure, 49);
    // 49 of 100 = 49 %: below the threshold.
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Closed);
    assert_eq!((m.calls(), m.failed_calls()), (100, 49));
    assert_eq!(m.failure_rate(), Some(49.0));

    // One more failure pushes the oldest success out: 50 of 100.
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Open);
    assert_eq!((m.calls(), m.failed_calls()), (100, 50));
}

#[test]
fn overload_counts_as_a_failure() {
    let breaker = CircuitBreaker::builder()
        .count_window(2)
        .minimum_number_of_calls(2)
        .failure_rate_threshold(100.0)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Overload);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.metrics().failed_calls(), 2);
}

#[test]
fn rates_are_computed_in_single_precision_as_resilience4j() {
    // 1 failure of 3 calls is `1.0 * 100.0 / 3.0` in f32; a threshold one
    // f32 step below it is reached, one step above it is not.
    let threshold = 100.0f32 / 3.0;
    let below = f32::from_bits(threshold.to_bits() - 1);
    let breaker = CircuitBreaker::builder()
        .count_window(3)
        .minimum_number_of_calls(3)
        .failure_rate_threshold(below)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);

    // And a threshold just above it is not.
    let above = f32::from_bits(threshold.to_bits() + 1);
    let breaker = CircuitBreaker::builder()
        .count_window(3)
        .minimum_number_of_calls(3)
        .failure_rate_threshold(above)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Closed);
}

// ---------------------------------------------------------------------------
// Slow calls
// ---------------------------------------------------------------------------

fn slow_breaker(clock: &ManualClock) -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(4)
        .minimum_number_of_calls(4)
        .failure_rate_threshold(100.0)
        .slow_call_rate_threshold(50.0)
        .slow_call_duration_threshold(Duration::from_millis(100))
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[test]
fn slow_call_rate_at_threshold_trips() {
    let clock = ManualClock::new();
    let breaker = slow_breaker(&clock);
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(101),
    );
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(10),
    );
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(100) + Duration::from_nanos(1),
    );
    assert_eq!(
        breaker.state(),
        State::Closed,
        "below the minimum number of calls"
    );
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.slow_calls(), m.failed_calls()), (3, 2, 0));
    timed_call(&breaker, &clock, Outcome::Success, Duration::ZERO);
    // 2 slow of 4 = 50 %, all of them successful.
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Open);
    assert_eq!((m.calls(), m.slow_calls(), m.failed_calls()), (4, 2, 0));
    assert_eq!(m.slow_call_rate(), Some(50.0));
    assert_eq!(m.failure_rate(), Some(0.0));
}

#[test]
fn call_lasting_exactly_the_threshold_is_not_slow() {
    let clock = ManualClock::new();
    let breaker = slow_breaker(&clock);
    for _ in 0..4 {
        timed_call(
            &breaker,
            &clock,
            Outcome::Success,
            Duration::from_millis(100),
        );
    }
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Closed);
    assert_eq!((m.calls(), m.slow_calls()), (4, 0));
    assert_eq!(m.slow_call_rate(), Some(0.0));

    // One nanosecond more is slow.
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(100) + Duration::from_nanos(1),
    );
    assert_eq!(breaker.metrics().slow_calls(), 1);
}

#[test]
fn slow_failures_count_in_both_rates() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(4)
        .minimum_number_of_calls(4)
        .failure_rate_threshold(100.0)
        .slow_call_rate_threshold(100.0)
        .slow_call_duration_threshold(Duration::from_millis(100))
        .clock(clock.clone())
        .build()
        .unwrap();
    timed_call(
        &breaker,
        &clock,
        Outcome::Failure,
        Duration::from_millis(500),
    );
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(500),
    );
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls(), m.slow_calls()), (2, 1, 2));
    assert_eq!(m.successful_calls(), 1);
}

#[test]
fn without_a_duration_threshold_no_call_is_slow() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(2)
        .minimum_number_of_calls(2)
        .slow_call_rate_threshold(1.0)
        .clock(clock.clone())
        .build()
        .unwrap();
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_secs(3600),
    );
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_secs(3600),
    );
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.slow_calls(), 0);
}

#[test]
fn slow_call_rate_trips_a_time_window() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(10)
        .minimum_number_of_calls(2)
        .slow_call_rate_threshold(50.0)
        .slow_call_duration_threshold(Duration::from_secs(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(200),
    );
    assert_eq!(breaker.state(), State::Closed);
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(1500),
    );
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Open);
    assert_eq!((m.calls(), m.slow_calls()), (2, 1));
}

// ---------------------------------------------------------------------------
// Minimum number of calls
// ---------------------------------------------------------------------------

#[test]
fn no_trip_below_minimum_number_of_calls() {
    let breaker = CircuitBreaker::builder()
        .count_window(10)
        .minimum_number_of_calls(5)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Failure, 4);
    let m = breaker.metrics();
    assert_eq!(
        m.state(),
        State::Closed,
        "100 % failures, but only 4 of 5 calls"
    );
    assert_eq!((m.calls(), m.failed_calls()), (4, 4));
    assert_eq!(
        m.failure_rate(),
        None,
        "rates are undefined below the minimum"
    );
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn count_window_caps_minimum_at_its_size() {
    let breaker = CircuitBreaker::builder()
        .count_window(3)
        .minimum_number_of_calls(100)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Closed);
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!(
        m.state(),
        State::Open,
        "a count window of 3 never waits for 100 calls"
    );
    assert_eq!(m.failure_rate(), Some(100.0));
}

#[test]
fn time_window_does_not_cap_minimum() {
    let breaker = CircuitBreaker::builder()
        .time_window(1)
        .minimum_number_of_calls(20)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Failure, 19);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.metrics().failure_rate(), None);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

// ---------------------------------------------------------------------------
// Count window eviction
// ---------------------------------------------------------------------------

#[test]
fn count_window_truly_slides() {
    let breaker = CircuitBreaker::builder()
        .count_window(3)
        .minimum_number_of_calls(3)
        .failure_rate_threshold(50.0)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Success);
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (3, 1));
    assert_eq!(m.state(), State::Closed, "1 of 3 is below 50 %");

    // The fourth call pushes the failure, the oldest, out.
    call(&breaker, Outcome::Success);
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (3, 0));
    assert_eq!(m.failure_rate(), Some(0.0));

    // S S F: 33 %, then S F F: 67 %.
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.metrics().failed_calls(), 1);
    assert_eq!(breaker.state(), State::Closed);
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Open);
    assert_eq!((m.calls(), m.failed_calls()), (3, 2));
}

/// A window of 100 slides in strict order, also when another thread
/// filled it.
#[test]
fn count_window_of_100_slides_in_order_whichever_thread_records() {
    let breaker = CircuitBreaker::builder()
        .count_window(100)
        .minimum_number_of_calls(100)
        .failure_rate_threshold(100.0)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let figures = |b: &CircuitBreaker| (b.metrics().calls(), b.metrics().failed_calls());
    for lap in 0..3 {
        call(&breaker, Outcome::Failure);
        calls(&breaker, Outcome::Success, 99);
        assert_eq!(figures(&breaker), (100, 1), "lap {lap}: the failure is in");
        call(&breaker, Outcome::Success);
        assert_eq!(
            figures(&breaker),
            (100, 0),
            "lap {lap}: it left 100 calls later"
        );
    }

    // Another thread fills the window (a success, then failures: all 100 %
    // would trip); this one pushes them out in the order they came.
    std::thread::scope(|s| {
        s.spawn(|| {
            call(&breaker, Outcome::Success);
            calls(&breaker, Outcome::Failure, 99);
        });
    });
    assert_eq!(figures(&breaker), (100, 99));
    calls(&breaker, Outcome::Success, 99);
    assert_eq!(figures(&breaker), (100, 1));
    call(&breaker, Outcome::Success);
    assert_eq!(figures(&breaker), (100, 0));
}

#[test]
fn count_window_evicts_slow_calls_too() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(2)
        .minimum_number_of_calls(2)
        .slow_call_duration_threshold(Duration::from_millis(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    timed_call(
        &breaker,
        &clock,
        Outcome::Success,
        Duration::from_millis(20),
    );
    timed_call(&breaker, &clock, Outcome::Success, MS);
    assert_eq!(breaker.metrics().slow_calls(), 1);
    timed_call(&breaker, &clock, Outcome::Success, MS);
    assert_eq!(breaker.metrics().slow_calls(), 0);
    assert_eq!(breaker.metrics().calls(), 2);
}

#[test]
fn count_window_keeps_sliding_over_many_laps() {
    let breaker = CircuitBreaker::builder()
        .count_window(5)
        .minimum_number_of_calls(5)
        .failure_rate_threshold(100.0)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    for lap in 0..20 {
        call(&breaker, Outcome::Failure);
        let m = breaker.metrics();
        assert_eq!(m.calls(), if lap == 0 { 1 } else { 5 });
        assert_eq!(m.failed_calls(), 1.min(m.calls()), "lap {lap}");
        calls(&breaker, Outcome::Success, 4);
        let m = breaker.metrics();
        assert_eq!((m.calls(), m.failed_calls()), (5, 1), "lap {lap}");
    }
    assert_eq!(breaker.state(), State::Closed);
}

// ---------------------------------------------------------------------------
// Time window eviction
// ---------------------------------------------------------------------------

#[test]
fn time_window_buckets_split_at_whole_seconds() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(3)
        .minimum_number_of_calls(100)
        .clock(clock.clone())
        .build()
        .unwrap();
    clock.set(Duration::from_millis(999));
    call(&breaker, Outcome::Failure); // bucket of second 0
    clock.set(Duration::from_secs(1));
    call(&breaker, Outcome::Success); // bucket of second 1
    assert_eq!(breaker.metrics().calls(), 2);

    // Second 0 leaves the window when second 3 begins.
    clock.set(Duration::from_secs(3) - Duration::from_nanos(1));
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (2, 1));
    clock.set(Duration::from_secs(3));
    let m = breaker.metrics();
    assert_eq!(
        (m.calls(), m.failed_calls()),
        (1, 0),
        "the call at 0.999 s left, the one at 1.0 s stays"
    );

    // Second 1 leaves when second 4 begins.
    clock.set(Duration::from_secs(4) - Duration::from_nanos(1));
    assert_eq!(breaker.metrics().calls(), 1);
    clock.set(Duration::from_secs(4));
    assert_eq!(breaker.metrics().calls(), 0);
}

#[test]
fn time_window_reuses_buckets_after_they_expire() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(2)
        .minimum_number_of_calls(100)
        .clock(clock.clone())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Failure, 3); // second 0
    clock.set(Duration::from_millis(1500));
    calls(&breaker, Outcome::Success, 2); // second 1
    assert_eq!(breaker.metrics().calls(), 5);
    clock.set(Duration::from_millis(2500));
    // Second 2 shares second 0's bucket: the old counts must not show.
    call(&breaker, Outcome::Success);
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (3, 0));
    // Long after: nothing left.
    clock.set(Duration::from_secs(100));
    assert_eq!(breaker.metrics().calls(), 0);
}

#[test]
fn time_window_success_reaching_minimum_trips() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(10)
        .minimum_number_of_calls(4)
        .clock(clock.clone())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Failure, 3);
    assert_eq!(breaker.state(), State::Closed, "3 calls, minimum 4");
    clock.advance(Duration::from_millis(300));
    call(&breaker, Outcome::Success);
    // 3 of 4 failed: the success made the rate defined, and it is 75 %.
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Open);
    assert_eq!((m.calls(), m.failed_calls()), (4, 3));
}

/// Successes leaving the window raise the failure rate; the next call,
/// success or not, is evaluated against the window as it is now, as
/// resilience4j evaluates after every recorded call.
#[test]
fn time_window_success_trips_after_successes_left_the_window() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(2)
        .minimum_number_of_calls(3)
        .failure_rate_threshold(50.0)
        .clock(clock.clone())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Success, 6); // second 0
    clock.set(Duration::from_millis(1500));
    calls(&breaker, Outcome::Failure, 4); // second 1: 4 of 10 = 40 %
    assert_eq!(breaker.state(), State::Closed);

    clock.set(Duration::from_millis(2500)); // second 0 has left
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (4, 4));
    call(&breaker, Outcome::Success);
    // The window now holds 4 failures of 5 calls: 80 %.
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (5, 4));
    assert_eq!(
        m.state(),
        State::Open,
        "a success evaluated an 80 % failure rate and did not trip"
    );
}

/// The same, where the eviction also takes the window below its minimum:
/// the success that brings it back to the minimum must trip it.
#[test]
fn time_window_success_back_at_minimum_after_eviction_trips() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(2)
        .minimum_number_of_calls(3)
        .failure_rate_threshold(50.0)
        .clock(clock.clone())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Success, 3); // second 0
    clock.set(Duration::from_millis(1500));
    calls(&breaker, Outcome::Failure, 2); // second 1: 2 of 5 = 40 %
    assert_eq!(breaker.state(), State::Closed);

    clock.set(Duration::from_millis(2500)); // second 0 has left: 2 calls
    assert_eq!(breaker.metrics().calls(), 2);
    assert_eq!(breaker.metrics().failure_rate(), None);
    call(&breaker, Outcome::Success);
    // 3 calls, the minimum, 2 failed: 67 %.
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (3, 2));
    assert_eq!(
        m.state(),
        State::Open,
        "the success reaching the minimum at 67 % did not trip"
    );
}

// ---------------------------------------------------------------------------
// Consecutive failures
// ---------------------------------------------------------------------------

#[test]
fn consecutive_failures_trip_after_k_in_a_row() {
    let breaker = CircuitBreaker::builder()
        .consecutive_failures(3)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.failed_calls(), 2, "the current run");
    assert_eq!(m.failure_rate(), None, "a consecutive policy has no rates");
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn success_resets_the_consecutive_run() {
    let breaker = CircuitBreaker::builder()
        .consecutive_failures(3)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.metrics().failed_calls(), 0);
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Closed);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn consecutive_policy_ignores_minimum_calls_and_slow_calls() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .consecutive_failures(2)
        .minimum_number_of_calls(100)
        .slow_call_rate_threshold(1.0)
        .slow_call_duration_threshold(MS)
        .clock(clock.clone())
        .build()
        .unwrap();
    for _ in 0..5 {
        timed_call(&breaker, &clock, Outcome::Success, Duration::from_secs(1));
    }
    assert_eq!(
        breaker.state(),
        State::Closed,
        "slow calls do not count here"
    );
    call(&breaker, Outcome::Overload);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

// ---------------------------------------------------------------------------
// Ignored outcomes
// ---------------------------------------------------------------------------

#[test]
fn ignored_outcomes_record_nothing_in_a_count_window() {
    let breaker = CircuitBreaker::builder()
        .count_window(3)
        .minimum_number_of_calls(1)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Ignored, 10);
    let m = breaker.metrics();
    assert_eq!(
        (m.state(), m.calls(), m.failed_calls()),
        (State::Closed, 0, 0)
    );
    call(&breaker, Outcome::Success);
    call(&breaker, Outcome::Ignored);
    // An ignored call does not push the success out either.
    calls(&breaker, Outcome::Ignored, 5);
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (1, 0));
    assert_eq!(m.state(), State::Closed);
}

#[test]
fn ignored_outcomes_record_nothing_in_a_time_window() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(5)
        .minimum_number_of_calls(1)
        .slow_call_duration_threshold(MS)
        .clock(clock.clone())
        .build()
        .unwrap();
    for _ in 0..10 {
        timed_call(
            &breaker,
            &clock,
            Outcome::Ignored,
            Duration::from_millis(100),
        );
    }
    let m = breaker.metrics();
    assert_eq!(
        (m.state(), m.calls(), m.slow_calls()),
        (State::Closed, 0, 0)
    );
}

#[test]
fn ignored_outcomes_neither_extend_nor_break_a_consecutive_run() {
    let breaker = CircuitBreaker::builder()
        .consecutive_failures(3)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Ignored);
    call(&breaker, Outcome::Failure);
    calls(&breaker, Outcome::Ignored, 4);
    assert_eq!(breaker.metrics().failed_calls(), 2);
    assert_eq!(breaker.state(), State::Closed);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn dropped_permit_in_closed_records_nothing() {
    let breaker = CircuitBreaker::builder()
        .count_window(3)
        .minimum_number_of_calls(1)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    for _ in 0..5 {
        drop(breaker.try_acquire().unwrap());
    }
    assert_eq!(breaker.metrics().calls(), 0);
}

// ---------------------------------------------------------------------------
// Long lives: generation and clock encodings must not wear out
// ---------------------------------------------------------------------------

/// Keeps the breaker failing its probes for `phases` half-open phases (two
/// transitions each), then lets one probe phase succeed: CLOSED again.
fn long_outage(breaker: &CircuitBreaker, clock: &ManualClock, phases: u32) {
    assert_eq!(breaker.state(), State::Open);
    for _ in 0..phases {
        clock.advance(Duration::from_secs(1) + MS);
        call(breaker, Outcome::Failure); // the probe fails: OPEN again
    }
    clock.advance(Duration::from_secs(1) + MS);
    call(breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

/// A backend down for a long time (about 20 000 failed probe phases, 40 000
/// transitions) recovers; the count window must record and trip as before.
#[test]
fn count_window_still_records_after_a_long_outage() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(4)
        .minimum_number_of_calls(4)
        .wait_duration_in_open_state(Duration::from_secs(1))
        .permitted_number_of_calls_in_half_open_state(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Failure, 4);
    long_outage(&breaker, &clock, 20_000);

    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Success);
    let m = breaker.metrics();
    assert_eq!(
        (m.calls(), m.failed_calls()),
        (2, 1),
        "generation {}: the window recorded nothing",
        m.generation()
    );
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open, "3 failures of 4 did not trip");
}

/// The same for a time window, after a few hundred failed probe phases.
#[test]
fn time_window_still_records_after_many_failed_probe_phases() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(2)
        .minimum_number_of_calls(4)
        .wait_duration_in_open_state(Duration::from_secs(1))
        .permitted_number_of_calls_in_half_open_state(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    // Fill both buckets, then trip.
    call(&breaker, Outcome::Success);
    clock.advance(Duration::from_secs(1));
    calls(&breaker, Outcome::Failure, 3);
    assert_eq!(breaker.state(), State::Open);
    long_outage(&breaker, &clock, 300);

    for _ in 0..2 {
        call(&breaker, Outcome::Failure);
        call(&breaker, Outcome::Success);
        clock.advance(Duration::from_millis(500));
    }
    let m = breaker.metrics();
    assert_eq!(
        (m.calls(), m.failed_calls()),
        (4, 2),
        "generation {}: the window lost calls",
        m.generation()
    );
    assert_eq!(
        m.state(),
        State::Open,
        "2 failures of 4 = 50 % did not trip"
    );
}

/// A rarely called backend: a month without calls, then calls again.
#[test]
fn time_window_still_records_after_a_month_without_calls() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .time_window(1)
        .minimum_number_of_calls(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    call(&breaker, Outcome::Success);
    clock.advance(Duration::from_secs(30 * 24 * 3600));
    assert_eq!(breaker.metrics().calls(), 0);
    call(&breaker, Outcome::Failure);
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!(
        (m.calls(), m.failed_calls()),
        (2, 2),
        "the window lost calls"
    );
    assert_eq!(m.state(), State::Open);
}

#[test]
fn the_largest_count_window_counts_every_call() {
    let breaker = CircuitBreaker::builder()
        .count_window(seawall::breaker::MAX_COUNT_WINDOW)
        .minimum_number_of_calls(seawall::breaker::MAX_COUNT_WINDOW)
        .failure_rate_threshold(100.0)
        .clock(ManualClock::new())
        .build()
        .unwrap();
    calls(&breaker, Outcome::Failure, 29_999);
    let m = breaker.metrics();
    assert_eq!(
        (m.state(), m.calls(), m.failed_calls()),
        (State::Closed, 29_999, 29_999)
    );
    call(&breaker, Outcome::Failure);
    let m = breaker.metrics();
    assert_eq!(
        (m.state(), m.calls(), m.failed_calls()),
        (State::Open, 30_000, 30_000)
    );
}

// ---------------------------------------------------------------------------
// No aliasing: a reset clears, however many came before
// ---------------------------------------------------------------------------

/// Records three failures (below the minimum: nothing trips), makes
/// `transitions` manual transitions ending in CLOSED with the clock
/// standing still, and checks the window is empty, then counts afresh.
fn old_counts_stay_dead(breaker: CircuitBreaker, transitions: u32, how: &str) {
    calls(&breaker, Outcome::Failure, 3);
    assert_eq!(breaker.metrics().failed_calls(), 3);
    for i in 0..transitions {
        match how {
            "reset" => breaker.reset(),
            // Through a state that keeps no window, back to CLOSED.
            _ if i % 2 == 0 => breaker.transition_to(State::ForcedOpen).unwrap(),
            _ => breaker.transition_to(State::Closed).unwrap(),
        }
    }
    assert_eq!(breaker.state(), State::Closed);
    let m = breaker.metrics();
    assert_eq!(
        (m.calls(), m.failed_calls(), m.slow_calls()),
        (0, 0, 0),
        "{how} x {transitions} (generation {}): old counts came back",
        m.generation()
    );
    call(&breaker, Outcome::Success);
    let m = breaker.metrics();
    assert_eq!(
        (m.calls(), m.failed_calls()),
        (1, 0),
        "{how} x {transitions}"
    );
}

#[test]
fn resets_never_bring_old_counts_back() {
    let count = || {
        CircuitBreaker::builder()
            .count_window(10)
            .minimum_number_of_calls(10)
            .clock(ManualClock::new())
            .build()
            .unwrap()
    };
    let time = || {
        CircuitBreaker::builder()
            .time_window(10)
            .minimum_number_of_calls(100)
            .clock(ManualClock::new())
            .build()
            .unwrap()
    };
    // The count window's tag has 16 bits of the generation, the time
    // window's buckets 10: exactly one and two whole turns, and a few odd
    // counts on the way.
    type Build = fn() -> CircuitBreaker;
    let cases: [(&str, Build, u32, &str); 8] = [
        ("count", count, 1 << 16, "reset"),
        ("count", count, 2 << 16, "reset"),
        ("count", count, (1 << 16) + 2, "transition"),
        ("count", count, 300, "reset"),
        ("time", time, 1 << 10, "reset"),
        ("time", time, 2 << 10, "reset"),
        ("time", time, 1 << 16, "reset"),
        ("time", time, 1 << 10, "transition"),
    ];
    for (window, build, transitions, how) in cases {
        eprintln!("{window} window, {how} x {transitions}");
        old_counts_stay_dead(build(), transitions, how);
    }
}
