//! Using the breaker outside its tower layer: owned permits in a custom
//! service, `call`/`call_with`, outcomes with measured latencies, and
//! refusals that name their breaker and are found behind wrappers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use seawall::breaker::{CallError, CircuitBreaker, Open, OwnedPermit, State};
use seawall::classify::{DefaultClassifier, Outcome, Sample};
use seawall::clock::ManualClock;
use seawall::{rejection, BoxError, Rejection};
use tower::{service_fn, Service, ServiceExt};

const WAIT: Duration = Duration::from_secs(10);

fn breaker(clock: &ManualClock, probes: u32) -> CircuitBreaker {
    CircuitBreaker::builder()
        .name("backend-a")
        .consecutive_failures(2)
        .wait_duration_in_open_state(WAIT)
        .permitted_number_of_calls_in_half_open_state(probes)
        .clock(clock.clone())
        .build()
        .expect("valid configuration")
}

/// Opens the breaker and lets the wait pass: the next call is a probe.
fn half_open(breaker: &CircuitBreaker, clock: &ManualClock) {
    breaker.transition_to(State::Open).unwrap();
    clock.advance(WAIT + Duration::from_millis(1));
}

/// A hand-written service, as users write them: it acquires in `call` and
/// moves the owned permit into its `'static` response future.
#[derive(Clone)]
struct Guarded<S> {
    inner: S,
    breaker: CircuitBreaker,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'static>>;

impl<S> Service<bool> for Guarded<S>
where
    S: Service<bool, Error = BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: bool) -> Self::Future {
        let permit: OwnedPermit = match self.breaker.try_acquire_owned() {
            Ok(permit) => permit,
            Err(open) => return Box::pin(async move { Err(open.into()) }),
        };
        let call = self.inner.call(req);
        Box::pin(async move {
            let result = call.await;
            permit.record_result(&DefaultClassifier, result.as_ref());
            result
        })
    }
}

fn backend() -> impl Service<bool, Response = &'static str, Error = BoxError, Future: Send> + Clone
{
    service_fn(|fail: bool| async move {
        if fail {
            Err::<&'static str, BoxError>("backend down".into())
        } else {
            Ok("ok")
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_custom_service_moves_an_owned_permit_into_a_static_future() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let svc = Guarded {
        inner: backend(),
        breaker: breaker.clone(),
    };
    // Spawned: the response future owns everything it needs.
    for fail in [false, true, true] {
        let call = svc.clone().oneshot(fail);
        let _ = tokio::spawn(call).await.unwrap();
    }
    assert_eq!(breaker.state(), State::Open);
    let err = svc.clone().oneshot(false).await.unwrap_err();
    assert_eq!(Open::find(&*err).map(Open::state), Some(State::Open));
}

#[test]
fn an_owned_permit_dropped_unrecorded_frees_its_probe_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    half_open(&breaker, &clock);
    let probe = breaker.try_acquire_owned().expect("the probe is admitted");
    assert_eq!(probe.state(), State::HalfOpen);
    assert!(breaker.try_acquire_owned().is_err(), "one probe only");
    drop(probe);
    let again = breaker
        .try_acquire_owned()
        .expect("the slot was given back");
    again.record(Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn an_owned_permit_keeps_its_breaker_alive() {
    let clock = ManualClock::new();
    let permit = breaker(&clock, 1).try_acquire_owned().unwrap();
    assert_eq!(permit.breaker().name(), "backend-a");
    permit.record(Outcome::Failure);
}

#[tokio::test(start_paused = true)]
async fn call_records_ok_as_success_and_err_as_failure() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    assert_eq!(breaker.call(async { Ok::<_, &str>(1) }).await, Ok(1));
    for _ in 0..2 {
        let err = breaker.call(async { Err::<u8, _>("down") }).await;
        assert_eq!(err, Err(CallError::Inner("down")));
    }
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn a_refused_call_never_polls_its_future() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    breaker.transition_to(State::ForcedOpen).unwrap();
    let polled = AtomicBool::new(false);
    let result = breaker
        .call(async {
            polled.store(true, Ordering::SeqCst);
            Ok::<_, &str>(())
        })
        .await;
    let open = result.unwrap_err().as_open().cloned().expect("refused");
    assert_eq!(open.state(), State::ForcedOpen);
    assert!(!polled.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn call_with_classifies_ok_results() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let by_status = |r: Result<&u16, &()>| match r {
        Ok(s) if *s >= 500 => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    };
    for _ in 0..2 {
        assert_eq!(
            breaker.call_with(by_status, async { Ok(500) }).await,
            Ok(500)
        );
    }
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_or_panicking_call_frees_its_probe_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    half_open(&breaker, &clock);

    // Cancelled: polled once (the probe is taken), then dropped.
    let mut task = tokio_test::task::spawn(breaker.call(std::future::pending::<Result<(), ()>>()));
    tokio_test::assert_pending!(task.poll());
    assert!(!breaker.is_call_permitted(), "the probe slot is taken");
    drop(task);
    assert!(breaker.is_call_permitted(), "cancelling gave the slot back");

    // Panicking inside the awaited future.
    let b = breaker.clone();
    let panicked = tokio::spawn(async move {
        b.call(async { panic!("user code panics") as Result<(), ()> })
            .await
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    assert!(breaker.is_call_permitted(), "the panic gave the slot back");
    assert_eq!(breaker.call(async { Ok::<_, ()>(()) }).await, Ok(()));
    assert_eq!(breaker.state(), State::Closed);
}

/// A breaker judging slow calls over a count window of 2.
fn slow_judge(clock: &ManualClock) -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(2)
        .minimum_number_of_calls(2)
        .slow_call_duration_threshold(Duration::from_secs(1))
        .slow_call_rate_threshold(100.0)
        .permitted_number_of_calls_in_half_open_state(1)
        .wait_duration_in_open_state(WAIT)
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[test]
fn measured_latency_decides_slowness_instead_of_the_clock() {
    let secs = Duration::from_secs;
    // (measured latency, time passing on the breaker's clock, opens)
    let cases = [
        (secs(2), Duration::ZERO, true),
        (Duration::from_millis(10), secs(5), false),
        (secs(1), Duration::ZERO, false), // the threshold itself is not slow
    ];
    for (latency, clock_time, opens) in cases {
        let clock = ManualClock::new();
        let breaker = slow_judge(&clock);
        for _ in 0..2 {
            let permit = breaker.try_acquire().unwrap();
            clock.advance(clock_time);
            permit.record_sample(Sample::new(Outcome::Success, latency));
        }
        let expected = if opens { State::Open } else { State::Closed };
        assert_eq!(
            breaker.state(),
            expected,
            "latency {latency:?}, clock {clock_time:?}"
        );
    }
}

#[test]
fn a_measured_slow_probe_reopens() {
    let clock = ManualClock::new();
    let breaker = slow_judge(&clock);
    half_open(&breaker, &clock);
    breaker
        .try_acquire_owned()
        .unwrap()
        .record_sample(Sample::new(Outcome::Success, Duration::from_secs(3)));
    assert_eq!(breaker.state(), State::Open);

    clock.advance(WAIT * 4);
    breaker
        .try_acquire()
        .unwrap()
        .record_with_latency(Outcome::Success, Duration::from_millis(3));
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn refusals_name_the_breaker_and_the_state() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let cases = [
        (
            State::Open,
            "circuit breaker 'backend-a' is OPEN and does not permit further calls",
        ),
        (
            State::ForcedOpen,
            "circuit breaker 'backend-a' is FORCED_OPEN and does not permit further calls",
        ),
        (
            State::HalfOpen,
            "circuit breaker 'backend-a' is HALF_OPEN and does not permit further calls",
        ),
    ];
    for (state, message) in cases {
        breaker.reset();
        match state {
            State::HalfOpen => {
                half_open(&breaker, &clock);
                std::mem::forget(breaker.try_acquire().unwrap());
            }
            other => breaker.transition_to(other).unwrap(),
        }
        let open = breaker.try_acquire().unwrap_err();
        assert_eq!(open.to_string(), message);
        assert_eq!(open.name(), "backend-a");
        assert_eq!(
            open.retry_after().is_some(),
            state == State::Open,
            "{state}"
        );
    }
}

/// An application error that wraps another, as outer layers do.
#[derive(Debug)]
struct Wrapped(BoxError);

impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upstream call failed")
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

#[test]
fn a_rejection_is_found_however_deeply_it_is_wrapped() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    breaker.transition_to(State::Open).unwrap();
    let open: BoxError = Box::new(breaker.try_acquire().unwrap_err());
    let twice: BoxError = Box::new(Wrapped(Box::new(Wrapped(open))));
    let found = rejection(&*twice).expect("found through two wrappers");
    assert!(matches!(found, Rejection::BreakerOpen(open) if open.name() == "backend-a"));
    assert_eq!(found.retry_after(), Some(WAIT));
    assert!(found.to_string().contains("'backend-a' is OPEN"));

    let unrelated: BoxError = Box::new(Wrapped("connection reset".into()));
    assert!(rejection(&*unrelated).is_none());
    assert!(Open::find(&*unrelated).is_none());
}
