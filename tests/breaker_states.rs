//! Behaviour of the breaker's state machine: OPEN and its wait, HALF_OPEN
//! and its probes, the manual states, resets, events and generations.
//!
//! Every test drives time with a `ManualClock`: nothing sleeps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::breaker::{Backoff, Builder, CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;
use seawall::observe::Event;

mod support;
use support::call;

const NS: Duration = Duration::from_nanos(1);
const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// An owned copy of an event.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Transition {
        from: State,
        to: State,
        generation: u32,
    },
    Reset,
    Rejected {
        state: State,
        retry_after: Option<Duration>,
    },
}

type Log = Arc<Mutex<Vec<Ev>>>;

/// A builder with a manual clock and an observer that logs every event of a
/// breaker named "test".
fn builder(clock: &ManualClock) -> (Builder, Log) {
    let log: Log = Arc::default();
    let sink = log.clone();
    let builder = CircuitBreaker::builder()
        .name("test")
        .clock(clock.clone())
        .observer(move |event: &Event<'_>| {
            let ev = match *event {
                Event::BreakerTransition {
                    name,
                    from,
                    to,
                    generation,
                } => {
                    assert_eq!(name, "test");
                    Ev::Transition {
                        from,
                        to,
                        generation,
                    }
                }
                Event::BreakerReset { name } => {
                    assert_eq!(name, "test");
                    Ev::Reset
                }
                Event::BreakerRejected {
                    name,
                    state,
                    retry_after,
                } => {
                    assert_eq!(name, "test");
                    Ev::Rejected { state, retry_after }
                }
                _ => return,
            };
            sink.lock().unwrap().push(ev);
        });
    (builder, log)
}

fn transitions(log: &Log) -> Vec<(State, State)> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match *e {
            Ev::Transition { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect()
}

fn take(log: &Log) -> Vec<Ev> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// The wait the breaker announces right now.
fn retry_after(breaker: &CircuitBreaker) -> Duration {
    let open = breaker.try_acquire().expect_err("the breaker is open");
    assert_eq!(open.state(), State::Open);
    open.retry_after().expect("OPEN knows its wait")
}

/// A breaker that trips on one failure.
fn one_strike(clock: &ManualClock, probes: u32) -> (CircuitBreaker, Log) {
    let (b, log) = builder(clock);
    let breaker = b
        .consecutive_failures(1)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(probes)
        .build()
        .unwrap();
    (breaker, log)
}

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

// ---------------------------------------------------------------------------
// HALF_OPEN and its probes
// ---------------------------------------------------------------------------

fn count_breaker(clock: &ManualClock, probes: u32) -> (CircuitBreaker, Log) {
    let (b, log) = builder(clock);
    let breaker = b
        .count_window(4)
        .minimum_number_of_calls(4)
        .failure_rate_threshold(50.0)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(probes)
        .build()
        .unwrap();
    (breaker, log)
}

fn trip_and_wait(breaker: &CircuitBreaker, clock: &ManualClock) {
    while breaker.state() == State::Closed {
        call(breaker, Outcome::Failure);
    }
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(10) + MS);
}

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

#[test]
fn max_wait_in_half_open_reopens_a_stuck_probe_phase() {
    let clock = ManualClock::new();
    let (b, log) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(2)
        .max_wait_duration_in_half_open_state(Duration::from_secs(5))
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
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
    let (b, _) = builder(&clock);
    let breaker = b
        .consecutive_failures(1)
        .wait_duration_in_open_state(Duration::from_secs(10))
        .permitted_number_of_calls_in_half_open_state(2)
        .max_wait_duration_in_half_open_state(Duration::from_secs(5))
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    clock.advance(Duration::from_secs(10) + MS);
    call(&breaker, Outcome::Success);
    clock.advance(Duration::from_secs(5));
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
    // In CLOSED the half-open deadline is gone.
    clock.advance(Duration::from_secs(60));
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

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
