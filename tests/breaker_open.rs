//! OPEN and its wait: the first call strictly after it, the retry-after
//! hint, backoff and jitter.
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
// OPEN and its wait
// ---------------------------------------------------------------------------

#[test]
fn open_admits_first_call_strictly_after_the_wait() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    call(&breaker, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);

    clock.advance(Duration::from_secs(10));
    let open = breaker
        .try_acquire()
        .expect_err("at exactly the wait: still open");
    assert_eq!(open.state(), State::Open);
    assert_eq!(open.retry_after(), Some(Duration::ZERO));
    assert_eq!(breaker.state(), State::Open);

    clock.advance(NS);
    let probe = breaker.try_acquire().expect("1 ns after the wait: a probe");
    assert_eq!(probe.state(), State::HalfOpen);
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn open_admits_a_probe_one_millisecond_after_the_wait() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    clock.set(Duration::from_secs(5));
    call(&breaker, Outcome::Failure);
    clock.set(Duration::from_secs(15) - NS);
    assert!(breaker.try_acquire().is_err());
    clock.set(Duration::from_secs(15));
    assert!(breaker.try_acquire().is_err());
    clock.set(Duration::from_secs(15) + MS);
    let probe = breaker.try_acquire().expect("a probe");
    assert_eq!(probe.state(), State::HalfOpen);
}

#[test]
fn state_reads_open_until_a_call_arrives() {
    let clock = ManualClock::new();
    let (breaker, log) = one_strike(&clock, 1);
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(3600));
    // No timer: the transition waits for a call.
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.metrics().state(), State::Open);
    assert_eq!(transitions(&log), [(State::Closed, State::Open)]);
    let _probe = breaker.try_acquire().unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn open_error_carries_state_and_retry_after() {
    let clock = ManualClock::new();
    let (breaker, _) = one_strike(&clock, 1);
    call(&breaker, Outcome::Failure);

    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(open.state(), State::Open);
    assert_eq!(open.retry_after(), Some(Duration::from_secs(10)));
    assert_eq!(
        open.to_string(),
        "circuit breaker 'test' is OPEN and does not permit further calls"
    );

    clock.advance(Duration::from_millis(4_250));
    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(open.retry_after(), Some(Duration::from_millis(5_750)));

    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(open);
    assert!(boxed.downcast_ref::<seawall::breaker::Open>().is_some());
}

#[test]
fn exponential_backoff_grows_across_failed_probe_phases_and_caps() {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .permitted_number_of_calls_in_half_open_state(1)
        .backoff(Backoff::exponential(SEC, 2.0, Duration::from_secs(5)))
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    for expected in [1, 2, 4, 5, 5, 5] {
        let wait = Duration::from_secs(expected);
        assert_eq!(retry_after(&breaker), wait);
        clock.advance(wait);
        assert!(
            breaker.try_acquire().is_err(),
            "not before the wait is over"
        );
        clock.advance(MS);
        call(&breaker, Outcome::Failure); // the probe fails: reopen, longer
        assert_eq!(breaker.state(), State::Open);
    }

    // A successful probe phase closes the breaker; the next opening starts
    // over at the initial wait.
    clock.advance(Duration::from_secs(5) + MS);
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
    call(&breaker, Outcome::Failure);
    assert_eq!(retry_after(&breaker), SEC);
}

/// The waits of `count` consecutive openings of a breaker with jitter.
fn jittered_waits(seed: u64, count: usize) -> Vec<Duration> {
    let clock = ManualClock::new();
    let (b, _) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .permitted_number_of_calls_in_half_open_state(1)
        .backoff(Backoff::exponential(SEC, 2.0, Duration::from_secs(20)).with_jitter(0.5))
        .seed(seed)
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    let mut waits = Vec::new();
    for _ in 0..count {
        let wait = retry_after(&breaker);
        waits.push(wait);
        clock.advance(wait + MS);
        call(&breaker, Outcome::Failure);
    }
    waits
}

#[test]
fn jittered_backoff_is_reproducible_with_a_seed_and_bounded() {
    let waits = jittered_waits(42, 8);
    assert_eq!(waits, jittered_waits(42, 8), "same seed, same waits");
    assert_ne!(waits, jittered_waits(7, 8), "another seed, other waits");

    let max = Duration::from_secs(20);
    for (i, wait) in waits.iter().enumerate() {
        let base = SEC.mul_f64(2f64.powi(i as i32)).min(max);
        let low = base.mul_f64(0.5);
        // Deadlines have millisecond resolution, rounded up.
        let high = (base.mul_f64(1.5) + MS).min(max);
        assert!(
            (low..=high).contains(wait),
            "attempt {}: {wait:?} outside [{low:?}, {high:?}]",
            i + 1
        );
    }
    assert!(
        waits.windows(2).any(|w| w[0] != w[1] && w[1] != max),
        "jitter varies the waits: {waits:?}"
    );
}
