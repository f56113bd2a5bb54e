//! The breaker as a tower service: rejections, permits travelling in the
//! response future, cancellation, panics, clones and classifiers.
//!
//! The breaker reads a `ManualClock`; the runtime runs on paused time.

use std::convert::Infallible;
use std::future::Future;
use std::future::{ready, Ready};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use seawall::breaker::future::ResponseFuture;
use seawall::breaker::{Breaker, BreakerLayer, CircuitBreaker, Open, State};
use seawall::classify::{DefaultClassifier, Outcome};
use seawall::clock::ManualClock;
use seawall::BoxError;
use tokio_test::{assert_pending, assert_ready_ok};
use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
use tower_test::mock;

const WAIT: Duration = Duration::from_secs(10);

/// A breaker that trips on one failure, with `probes` half-open probes.
fn one_strike(clock: &ManualClock, probes: u32) -> CircuitBreaker {
    CircuitBreaker::builder()
        .consecutive_failures(1)
        .wait_duration_in_open_state(WAIT)
        .permitted_number_of_calls_in_half_open_state(probes)
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// Opens the breaker and lets its wait pass: the next call is a probe.
fn open_and_wait(breaker: &CircuitBreaker, clock: &ManualClock) {
    breaker.transition_to(State::Open).unwrap();
    clock.advance(WAIT + Duration::from_millis(1));
}

/// The request the mock backend has received. Polled once, never awaited:
/// a request the breaker refused never comes, and awaiting it would hang
/// the test instead of failing it.
fn received<U>(handle: &mut mock::Handle<u32, U>, what: &str) -> (u32, mock::SendResponse<U>) {
    match handle.poll_request() {
        Poll::Ready(Some(request)) => request,
        _ => panic!("expected a request at the backend: {what}"),
    }
}

fn open_of(err: &BoxError) -> Open {
    err.downcast_ref::<Open>()
        .cloned()
        .unwrap_or_else(|| panic!("expected a rejection, got {err}"))
}

/// A backend that fails on `true` and counts its calls.
fn counting_backend(
    calls: Arc<AtomicUsize>,
) -> impl Service<
    bool,
    Response = &'static str,
    Error = std::io::Error,
    Future = impl Future<Output = Result<&'static str, std::io::Error>> + Send,
> + Clone {
    service_fn(move |fail: bool| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if fail {
                Err(std::io::Error::other("backend down"))
            } else {
                Ok("ok")
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn rejection_comes_from_the_response_future_and_skips_the_inner_service() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, &'static str, _>(BreakerLayer::new(breaker.clone()));

    handle.allow(10);
    assert_ready_ok!(svc.poll_ready());
    let fut = svc.call(1);
    let (req, send) = received(&mut handle, "the inner service was called");
    assert_eq!(req, 1);
    send.send_error("backend down");
    let err = fut.await.unwrap_err();
    assert!(
        err.downcast_ref::<Open>().is_none(),
        "an inner error is passed through"
    );
    assert_eq!(err.to_string(), "backend down");
    assert_eq!(breaker.state(), State::Open);

    for req in 2..5 {
        // An open breaker does not make the service look unready.
        assert_ready_ok!(svc.poll_ready());
        let err = svc.call(req).await.unwrap_err();
        let open = open_of(&err);
        assert_eq!(open.state(), State::Open);
        assert_eq!(open.retry_after(), Some(WAIT));
        assert_pending!(handle.poll_request(), "the inner service was not called");
    }
    assert_eq!(breaker.metrics().not_permitted_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn poll_ready_reports_only_the_inner_readiness() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, &'static str, _>(BreakerLayer::new(breaker.clone()));

    // Closed breaker, unready inner service: not ready.
    handle.allow(0);
    assert_pending!(svc.poll_ready());
    handle.allow(1);
    assert_ready_ok!(svc.poll_ready());

    // Forced open, ready inner service: ready (the call is then refused).
    breaker.transition_to(State::ForcedOpen).unwrap();
    assert_ready_ok!(svc.poll_ready());
    let err = svc.call(7).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::ForcedOpen);

    // An error from the inner poll_ready passes through and records nothing.
    breaker.transition_to(State::Closed).unwrap();
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, &'static str, _>(BreakerLayer::new(breaker.clone()));
    handle.send_error("not ready");
    let err = match svc.poll_ready() {
        Poll::Ready(Err(err)) => err,
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(err.to_string(), "not ready");
    assert_eq!(breaker.metrics().calls(), 0);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn successful_calls_pass_through_and_are_recorded() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(10)
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(BreakerLayer::new(breaker.clone()))
        .service(service_fn(
            |x: u32| async move { Ok::<_, Infallible>(x * 2) },
        ));
    for x in 0..4 {
        assert_eq!(svc.ready().await.unwrap().call(x).await.unwrap(), x * 2);
    }
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (4, 0));
}

#[tokio::test(start_paused = true)]
async fn dropping_a_response_future_in_half_open_frees_the_probe_slot() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, &'static str, _>(BreakerLayer::new(breaker.clone()));
    open_and_wait(&breaker, &clock);
    handle.allow(100);

    for req in 0..5 {
        assert_ready_ok!(svc.poll_ready());
        let fut = svc.call(req);
        let (got, _send) = received(&mut handle, "admitted as a probe");
        assert_eq!(got, req);
        assert_eq!(breaker.state(), State::HalfOpen);
        drop(fut); // cancelled: the slot comes back, nothing is recorded
        assert_eq!(breaker.metrics().calls(), 0);
    }

    assert_ready_ok!(svc.poll_ready());
    let fut = svc.call(99);
    let (_, send) = received(&mut handle, "the slot was not leaked");
    send.send_response("ok");
    assert_eq!(fut.await.unwrap(), "ok");
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.metrics().not_permitted_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_pending_probe_holds_its_slot() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, &'static str, _>(BreakerLayer::new(breaker.clone()));
    open_and_wait(&breaker, &clock);
    handle.allow(100);

    assert_ready_ok!(svc.poll_ready());
    let probe = svc.call(1);
    let (_, send) = received(&mut handle, "the probe reached the backend");
    assert_ready_ok!(svc.poll_ready());
    let err = svc.call(2).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::HalfOpen);
    assert_pending!(handle.poll_request());

    send.send_error("still down");
    assert!(probe.await.is_err());
    assert_eq!(breaker.state(), State::Open);
}

/// A service whose `call` panics on `true`.
#[derive(Debug, Clone, Default)]
struct PanicOnCall {
    calls: Arc<AtomicUsize>,
}

impl Service<bool> for PanicOnCall {
    type Response = &'static str;
    type Error = Infallible;
    type Future = Ready<Result<&'static str, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, boom: bool) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if boom {
            panic!("inner service panicked in call");
        }
        ready(Ok("ok"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_inside_the_inner_call_leaks_no_probe_slot() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let inner = PanicOnCall::default();
    let calls = inner.calls.clone();
    let mut svc = Breaker::new(inner, breaker.clone());
    open_and_wait(&breaker, &clock);

    for _ in 0..3 {
        svc.ready().await.unwrap();
        let panicked = catch_unwind(AssertUnwindSafe(|| svc.call(true)));
        assert!(panicked.is_err());
        assert_eq!(breaker.state(), State::HalfOpen);
        assert_eq!(
            breaker.metrics().calls(),
            0,
            "a panicked call records nothing"
        );
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "each probe reached the inner service"
    );

    let reply = svc.ready().await.unwrap().call(false).await;
    assert_eq!(reply.unwrap(), "ok", "the probe slot was given back");
    assert_eq!(breaker.state(), State::Closed);
}

fn panicking_future_backend() -> impl Service<
    bool,
    Response = &'static str,
    Error = Infallible,
    Future = impl Future<Output = Result<&'static str, Infallible>> + Send + 'static,
> + Clone {
    service_fn(|boom: bool| async move {
        if boom {
            panic!("inner future panicked");
        }
        Ok::<_, Infallible>("ok")
    })
}

#[tokio::test(start_paused = true)]
async fn a_panic_while_polling_the_inner_future_leaks_no_probe_slot() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let mut svc = Breaker::new(panicking_future_backend(), breaker.clone());
    open_and_wait(&breaker, &clock);

    for _ in 0..3 {
        let fut = svc.ready().await.unwrap().call(true);
        let joined = tokio::spawn(fut).await;
        assert!(joined.unwrap_err().is_panic());
        assert_eq!(breaker.state(), State::HalfOpen);
        assert_eq!(breaker.metrics().calls(), 0);
    }
    let reply = svc.ready().await.unwrap().call(false).await;
    assert_eq!(reply.unwrap(), "ok", "the probe slot was given back");
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_panic_while_polling_caught_in_place_leaks_no_probe_slot() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let mut svc = mock::Spawn::new(Breaker::new(panicking_future_backend(), breaker.clone()));
    open_and_wait(&breaker, &clock);

    assert_ready_ok!(svc.poll_ready());
    let mut task = tokio_test::task::spawn(svc.call(true));
    let panicked = catch_unwind(AssertUnwindSafe(|| task.poll()));
    assert!(panicked.is_err());
    drop(task);
    assert_eq!(breaker.state(), State::HalfOpen);

    assert_ready_ok!(svc.poll_ready());
    let mut task = tokio_test::task::spawn(svc.call(false));
    match task.poll() {
        Poll::Ready(Ok(reply)) => assert_eq!(reply, "ok"),
        other => panic!("the probe slot leaked: {other:?}"),
    }
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_breaker() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut a = Breaker::new(counting_backend(calls.clone()), breaker.clone());
    let mut b = a.clone();

    assert_eq!(b.ready().await.unwrap().call(false).await.unwrap(), "ok");
    assert!(a.ready().await.unwrap().call(true).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(b.breaker().state(), State::Open);

    let err = b.ready().await.unwrap().call(false).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::Open);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "clone B did not call its inner service"
    );

    // Services made by one layer share its breaker too.
    let layer = BreakerLayer::new(breaker.clone());
    let mut c = ServiceBuilder::new()
        .layer(layer.clone())
        .service(counting_backend(calls.clone()));
    let mut d = ServiceBuilder::new()
        .layer(layer.clone())
        .service(counting_backend(calls.clone()));
    breaker.reset();
    assert!(c.ready().await.unwrap().call(true).await.is_err());
    let err = d.ready().await.unwrap().call(false).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::Open);
    assert_eq!(layer.breaker().state(), State::Open);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_classifier_closure_can_ignore_errors() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = Breaker::new(counting_backend(calls.clone()), breaker.clone()).with_classifier(
        |r: Result<&&'static str, &std::io::Error>| match r {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Ignored,
        },
    );
    for _ in 0..10 {
        let err = svc.ready().await.unwrap().call(true).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "backend down",
            "the error still reaches the caller"
        );
    }
    let m = breaker.metrics();
    assert_eq!((m.state(), m.calls()), (State::Closed, 0));
    assert_eq!(calls.load(Ordering::SeqCst), 10);
}

#[tokio::test(start_paused = true)]
async fn a_classifier_closure_can_fail_successful_responses() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let layer =
        BreakerLayer::new(breaker.clone()).classifier(|r: Result<&u32, &Infallible>| match r {
            Ok(0) => Outcome::Overload,
            _ => Outcome::Success,
        });
    let mut svc = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(|x: u32| async move { Ok::<_, Infallible>(x) }));
    assert_eq!(svc.ready().await.unwrap().call(1).await.unwrap(), 1);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        svc.ready().await.unwrap().call(0).await.unwrap(),
        0,
        "the response is untouched"
    );
    assert_eq!(breaker.state(), State::Open);
    let err = svc.ready().await.unwrap().call(1).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn an_ignored_probe_through_the_service_gives_its_slot_back() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let mut svc = Breaker::new(
        service_fn(|x: u32| async move { Ok::<_, Infallible>(x) }),
        breaker.clone(),
    )
    .with_classifier(|r: Result<&u32, &Infallible>| match r {
        Ok(0) => Outcome::Ignored,
        _ => Outcome::Success,
    });
    open_and_wait(&breaker, &clock);
    for _ in 0..3 {
        assert_eq!(svc.ready().await.unwrap().call(0).await.unwrap(), 0);
        assert_eq!(breaker.state(), State::HalfOpen);
    }
    assert_eq!(svc.ready().await.unwrap().call(1).await.unwrap(), 1);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_inside_the_breaker_counts_as_a_failure() {
    let clock = ManualClock::new();
    let breaker = one_strike(&clock, 1);
    let mut svc = ServiceBuilder::new()
        .layer(BreakerLayer::new(breaker.clone()))
        .timeout(Duration::from_secs(1))
        .service(service_fn(|_: ()| {
            std::future::pending::<Result<(), Infallible>>()
        }));
    // Paused time jumps to the timeout: nothing really waits.
    let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>());
    assert_eq!(breaker.state(), State::Open);
    let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::Open);
}

#[cfg(feature = "http")]
#[tokio::test(start_paused = true)]
async fn http_classifier_trips_on_503_and_ignores_404() {
    use seawall::classify::HttpClassifier;

    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .count_window(4)
        .minimum_number_of_calls(4)
        .failure_rate_threshold(50.0)
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(BreakerLayer::new(breaker.clone()).classifier(HttpClassifier::new()))
        .service(service_fn(|status: u16| async move {
            Ok::<_, Infallible>(http::Response::builder().status(status).body(()).unwrap())
        }));
    let mut send = |status: u16| {
        let fut = svc.call(status);
        async move { fut.await.unwrap().status().as_u16() }
    };

    for _ in 0..10 {
        assert_eq!(send(404).await, 404);
    }
    assert_eq!(
        breaker.metrics().calls(),
        0,
        "404 is the caller's fault: ignored"
    );

    assert_eq!(send(200).await, 200);
    assert_eq!(send(503).await, 503, "the response reaches the caller");
    assert_eq!(send(200).await, 200);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(send(503).await, 503);
    let m = breaker.metrics();
    assert_eq!((m.calls(), m.failed_calls()), (4, 2));
    assert_eq!(m.state(), State::Open, "two 503 of four calls = 50 %");

    let err = svc.call(200).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::Open);
}

#[cfg(feature = "http")]
#[test]
fn http_classifier_default_mapping() {
    use http::StatusCode;
    use seawall::classify::HttpClassifier;

    let c = HttpClassifier::new();
    assert_eq!(c.status(StatusCode::SERVICE_UNAVAILABLE), Outcome::Overload);
    assert_eq!(c.status(StatusCode::TOO_MANY_REQUESTS), Outcome::Overload);
    assert_eq!(
        c.status(StatusCode::INTERNAL_SERVER_ERROR),
        Outcome::Failure
    );
    assert_eq!(c.status(StatusCode::NOT_FOUND), Outcome::Ignored);
    assert_eq!(c.status(StatusCode::OK), Outcome::Success);
    assert_eq!(c.status(StatusCode::MOVED_PERMANENTLY), Outcome::Success);
    assert_eq!(
        c.client_errors(Outcome::Failure)
            .status(StatusCode::NOT_FOUND),
        Outcome::Failure
    );
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn breaker_types_are_send_and_sync() {
    assert_send_sync::<CircuitBreaker>();
    assert_send_sync::<BreakerLayer>();
    assert_send_sync::<Breaker<PanicOnCall>>();
    assert_send_sync::<Breaker<PanicOnCall, fn(Result<&&str, &Infallible>) -> Outcome>>();
    assert_send_sync::<ResponseFuture<Ready<Result<u8, Infallible>>, DefaultClassifier>>();
    assert_send_sync::<seawall::breaker::Permit<'static>>();
    assert_send_sync::<Open>();
    assert_send_sync::<seawall::breaker::TransitionError>();
    assert_send_sync::<seawall::ConfigError>();
    #[cfg(feature = "http")]
    {
        assert_send_sync::<BreakerLayer<seawall::classify::HttpClassifier>>();
        assert_send_sync::<Breaker<PanicOnCall, seawall::classify::HttpClassifier>>();
    }
}

/// A breaker given as `&'static` behaves as a shared one: rejections,
/// recording, and a dropped probe future giving its slot back.
#[tokio::test(start_paused = true)]
async fn a_static_breaker_records_rejects_and_frees_probe_slots() {
    let clock = ManualClock::new();
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(one_strike(&clock, 1)));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut a = Breaker::from_static(counting_backend(calls.clone()), breaker);
    let mut b = ServiceBuilder::new()
        .layer(BreakerLayer::from_static(breaker))
        .service(counting_backend(calls.clone()));

    assert!(a.ready().await.unwrap().call(true).await.is_err());
    assert_eq!(breaker.state(), State::Open);
    let err = b.ready().await.unwrap().call(false).await.unwrap_err();
    assert_eq!(open_of(&err).state(), State::Open);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "refused calls skip the backend"
    );

    clock.advance(WAIT + Duration::from_millis(1));
    let probe = a.ready().await.unwrap().call(false);
    assert_eq!(breaker.state(), State::HalfOpen);
    drop(probe); // cancelled before it was polled: the slot comes back
    assert_eq!(b.ready().await.unwrap().call(false).await.unwrap(), "ok");
    assert_eq!(breaker.state(), State::Closed);
}
