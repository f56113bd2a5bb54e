//! Robustness of the breaker's core: any clock origin, user code that
//! panics, late outcomes of a probe phase that ran out of time.
//!
//! Time is a `ManualClock`; nothing sleeps. Futures are polled by hand, so
//! a future that never completes fails an assertion instead of hanging.

mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use seawall::breaker::{Breaker, Builder, CircuitBreaker, State};
use seawall::classify::Outcome;
use seawall::clock::{Clock, ManualClock};
use seawall::observe::{Event, Observer};
use support::call;
use tower::{service_fn, Service};

const MS: Duration = Duration::from_millis(1);
const WAIT: Duration = Duration::from_secs(10);

/// A breaker that trips on one failure, with `probes` probes and a wait of
/// `WAIT`.
fn one_strike(b: Builder, clock: &ManualClock, probes: u32) -> CircuitBreaker {
    b.consecutive_failures(1)
        .wait_duration_in_open_state(WAIT)
        .permitted_number_of_calls_in_half_open_state(probes)
        .clock(clock.clone())
        .build()
        .expect("a valid configuration")
}

// ---------------------------------------------------------------------------
// Any clock origin
// ---------------------------------------------------------------------------

/// A clock whose origin lies far back: it reads `base` plus a manual
/// clock's time.
#[derive(Debug, Clone)]
struct Shifted {
    base: u64,
    clock: ManualClock,
}

impl Clock for Shifted {
    fn now_nanos(&self) -> u64 {
        self.base + self.clock.now_nanos()
    }
}

/// Trips, waits, probes and closes on a clock that starts at `base` ns.
fn full_cycle_from(base: u64) {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .consecutive_failures(1)
        .wait_duration_in_open_state(WAIT)
        .permitted_number_of_calls_in_half_open_state(1)
        .max_wait_duration_in_half_open_state(Duration::from_secs(5))
        .clock(Shifted {
            base,
            clock: clock.clone(),
        })
        .build()
        .unwrap();
    call(&breaker, Outcome::Failure);
    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(open.retry_after(), Some(WAIT), "origin {base}");
    clock.advance(WAIT + MS);
    assert!(breaker.is_call_permitted(), "origin {base}: the wait ends");
    let probe = breaker.try_acquire().expect("a probe");
    clock.advance(Duration::from_secs(5) + MS);
    assert_eq!(breaker.state(), State::Open, "origin {base}: max wait");
    drop(probe);
    clock.advance(WAIT);
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed, "origin {base}");
}

#[test]
fn a_tripped_breaker_reopens_whatever_the_clock_origin() {
    const YEAR: u64 = 365 * 24 * 3600 * 1_000_000_000;
    for base in [
        0,
        1,
        999_999,
        56 * YEAR, // a clock counting from the UNIX epoch
        35 * YEAR, // past the 34.8 years 40 bits of milliseconds hold
        u64::MAX / 4,
        u64::MAX / 2,
    ] {
        full_cycle_from(base);
    }
}

#[test]
fn a_manual_clock_set_35_years_on_still_ends_the_wait() {
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(35 * 365 * 24 * 3600));
    let breaker = one_strike(CircuitBreaker::builder(), &clock, 1);
    call(&breaker, Outcome::Failure);
    clock.advance(WAIT + MS);
    call(&breaker, Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

// ---------------------------------------------------------------------------
// The half-open maximum wait is a timer
// ---------------------------------------------------------------------------

#[test]
fn probes_recorded_after_the_maximum_wait_never_close_the_breaker() {
    let clock = ManualClock::new();
    let breaker = one_strike(
        CircuitBreaker::builder()
            .minimum_number_of_calls(4)
            .max_wait_duration_in_half_open_state(Duration::from_secs(5)),
        &clock,
        4,
    );
    call(&breaker, Outcome::Failure);
    clock.advance(WAIT + MS);
    let probes: Vec<_> = (0..4).map(|_| breaker.try_acquire().unwrap()).collect();
    clock.advance(Duration::from_secs(5) + MS);
    for probe in probes {
        probe.record(Outcome::Success);
        assert_eq!(breaker.state(), State::Open);
    }
    let m = breaker.metrics();
    assert_eq!((m.state(), m.calls()), (State::Open, 0), "none counted");
}

#[test]
fn state_metrics_and_readiness_agree_once_the_maximum_wait_is_over() {
    let clock = ManualClock::new();
    let breaker = one_strike(
        CircuitBreaker::builder()
            .minimum_number_of_calls(2)
            .max_wait_duration_in_half_open_state(Duration::from_secs(5)),
        &clock,
        2,
    );
    call(&breaker, Outcome::Failure);
    clock.advance(WAIT + MS);
    breaker.try_acquire().unwrap().record(Outcome::Failure);
    let _stuck = breaker.try_acquire().unwrap();
    let half_open = breaker.metrics();
    clock.advance(Duration::from_secs(5) + MS);
    let m = breaker.metrics();
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(m.state(), State::Open);
    assert_eq!(m.generation(), half_open.generation() + 1);
    assert_eq!((m.calls(), m.failed_calls()), (1, 1), "the probe phase's");
    assert!(!breaker.is_call_permitted());
    // The OPEN a timer would have entered then ends WAIT later.
    clock.advance(WAIT - MS);
    assert!(!breaker.is_call_permitted());
    clock.advance(MS);
    assert!(breaker.is_call_permitted());
    assert_eq!(breaker.state(), State::Open, "until a call arrives");
    assert_eq!(breaker.try_acquire().unwrap().state(), State::HalfOpen);
}

// ---------------------------------------------------------------------------
// User code that panics
// ---------------------------------------------------------------------------

/// An observer that panics on the transitions `to` one state.
#[derive(Debug)]
struct PanicsOn(State);

impl Observer for PanicsOn {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::BreakerTransition { to, .. } = event {
            if *to == self.0 {
                panic!("observer panics on {to}");
            }
        }
    }
}

#[test]
fn a_panicking_observer_takes_no_probe_slot_and_breaks_no_transition() {
    for to in [State::Open, State::HalfOpen, State::Closed] {
        let clock = ManualClock::new();
        let breaker = one_strike(CircuitBreaker::builder().observer(PanicsOn(to)), &clock, 1);
        call(&breaker, Outcome::Failure);
        assert_eq!(breaker.state(), State::Open, "panics on {to}");
        assert_eq!(breaker.try_acquire().unwrap_err().retry_after(), Some(WAIT));
        clock.advance(WAIT + MS);
        // The probe's transition to HALF_OPEN calls the observer.
        let probe = breaker.try_acquire().expect("the probe is admitted");
        drop(probe);
        // With one probe permitted, a leaked slot would refuse this one.
        call(&breaker, Outcome::Success);
        assert_eq!(breaker.state(), State::Closed, "panics on {to}");
    }
}

/// Polls a future once: a future that never completes fails the test's
/// assertion instead of hanging it.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let waker = futures_noop_waker();
    pin!(future).as_mut().poll(&mut Context::from_waker(&waker))
}

fn futures_noop_waker() -> Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(Noop))
}

#[test]
fn a_panicking_classifier_in_the_tower_future_gives_the_probe_slot_back() {
    let clock = ManualClock::new();
    let breaker = one_strike(CircuitBreaker::builder(), &clock, 1);
    let panics = Arc::new(AtomicBool::new(true));
    let classify = {
        let panics = panics.clone();
        move |result: Result<&(), &&'static str>| {
            if panics.load(Ordering::Relaxed) {
                panic!("classifier panics");
            }
            if result.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            }
        }
    };
    let mut service = Breaker::new(
        service_fn(|()| async { Ok::<(), &'static str>(()) }),
        breaker.clone(),
    )
    .with_classifier(classify);
    call(&breaker, Outcome::Failure);
    clock.advance(WAIT + MS);

    assert!(poll_once(std::future::poll_fn(|cx| service.poll_ready(cx))).is_ready());
    let probe = service.call(());
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(probe)));
    assert!(unwound.is_err(), "the classifier panicked");
    assert_eq!(breaker.state(), State::HalfOpen);
    assert!(breaker.is_call_permitted(), "the slot is free again");

    panics.store(false, Ordering::Relaxed);
    let next = service.call(());
    assert!(matches!(poll_once(next), Poll::Ready(Ok(()))));
    assert_eq!(breaker.state(), State::Closed);
}
