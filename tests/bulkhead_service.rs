//! The bulkhead as a tower service: reservations, refusals, and that no
//! path leaks a permit (dropped futures, panics, cancelled waits, clones).
#![cfg(feature = "bulkhead")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::bulkhead::{Bulkhead, BulkheadLayer, Full, Mode, Rejection, WaitTimedOut};
use seawall::observe::Event;
use tokio_test::{assert_pending, assert_ready, assert_ready_ok, task};
use tower::{service_fn, BoxError, Service, ServiceExt};
use tower_test::mock;

type Mock = mock::Mock<u32, u32>;

fn fail_fast(max: u32) -> BulkheadLayer {
    BulkheadLayer::builder()
        .name("db")
        .max_concurrent_calls(max)
        .build()
        .expect("valid config")
}

fn waiting(max: u32, queue: usize) -> BulkheadLayer {
    BulkheadLayer::builder()
        .name("db")
        .max_concurrent_calls(max)
        .mode(Mode::Wait {
            max_wait: Duration::from_millis(100),
            queue,
        })
        .build()
        .expect("valid config")
}

/// A bulkhead over a mock backend that answers when told.
fn guarded(bulkhead: &BulkheadLayer) -> (Bulkhead<Mock>, mock::Handle<u32, u32>) {
    let (service, handle) = mock::pair::<u32, u32>();
    (Bulkhead::new(service, bulkhead.clone()), handle)
}

/// Polls `service` ready once, with its own task.
fn poll_ready<S: Service<u32, Error = BoxError>>(
    service: &mut S,
) -> std::task::Poll<Result<(), BoxError>> {
    task::spawn(()).enter(|cx, _| service.poll_ready(cx))
}

#[tokio::test]
async fn admits_up_to_the_limit_then_fails_fast_with_full() {
    let bulkhead = fail_fast(2);
    let (mut a, mut handle) = guarded(&bulkhead);
    handle.allow(10);
    let mut b = a.clone();
    let mut c = a.clone();
    assert_ready_ok!(poll_ready(&mut a));
    assert_ready_ok!(poll_ready(&mut b));
    assert_eq!(bulkhead.available_permits(), 0);
    // Refused, but ready: a full bulkhead is not a dead service.
    assert_ready_ok!(poll_ready(&mut c));
    let err = c.call(3).await.unwrap_err();
    let full = err.downcast_ref::<Full>().expect("a Full rejection");
    assert_eq!((full.name(), full.max_concurrent_calls()), ("db", 2));
    assert_eq!(err.to_string(), "bulkhead db is full: 2 concurrent calls");

    let fa = a.call(1);
    drop(b); // a reservation dropped with its service comes back
    assert_eq!(bulkhead.available_permits(), 1);
    let mut fa = task::spawn(fa);
    assert_pending!(fa.poll());
    let (req, reply) = handle
        .next_request()
        .await
        .expect("the call reached the backend");
    assert_eq!(req, 1);
    reply.send_response(10);
    assert_eq!(assert_ready_ok!(fa.poll()), 10);
    assert_eq!(bulkhead.available_permits(), 2);
}

#[tokio::test]
async fn a_dropped_response_future_frees_its_permit() {
    let bulkhead = fail_fast(1);
    let (mut service, mut handle) = guarded(&bulkhead);
    handle.allow(1);
    service.ready().await.expect("ready");
    let future = service.call(1);
    assert_eq!(bulkhead.available_permits(), 0);
    drop(future);
    assert_eq!(bulkhead.available_permits(), 1);
}

#[tokio::test]
async fn a_static_bulkhead_counts_and_frees_permits_as_a_shared_one() {
    let bulkhead: &'static BulkheadLayer = Box::leak(Box::new(fail_fast(1)));
    let (service, mut handle) = mock::pair::<u32, u32>();
    let mut service = Bulkhead::from_static(service, bulkhead);
    handle.allow(2);
    service.ready().await.expect("ready");
    let future = service.call(1);
    assert_eq!(bulkhead.available_permits(), 0, "the call holds the permit");
    let refused = service.ready().await.expect("ready").call(2).await;
    assert!(refused.unwrap_err().is::<Full>());
    drop(future);
    assert_eq!(
        bulkhead.available_permits(),
        1,
        "dropping the call frees it"
    );
}

#[tokio::test]
async fn a_panicking_inner_service_frees_its_permit() {
    let bulkhead = fail_fast(1);
    let mut service = Bulkhead::new(
        service_fn(|x: u32| {
            assert!(x != 13, "unlucky");
            std::future::ready(Ok::<_, BoxError>(x))
        }),
        bulkhead.clone(),
    );
    service.ready().await.expect("ready");
    let panicked = catch_unwind(AssertUnwindSafe(|| drop(service.call(13))));
    assert!(panicked.is_err());
    assert_eq!(bulkhead.available_permits(), 1);
    assert_eq!(
        service
            .ready()
            .await
            .expect("ready")
            .call(2)
            .await
            .expect("ok"),
        2
    );
}

#[tokio::test]
async fn a_clone_starts_without_a_reservation() {
    let bulkhead = fail_fast(1);
    let (mut service, _handle) = guarded(&bulkhead);
    assert_ready_ok!(poll_ready(&mut service));
    let mut clone = service.clone();
    // The clone did not copy the reservation: it has to reserve, and
    // cannot.
    assert_eq!(bulkhead.available_permits(), 0);
    assert_ready_ok!(poll_ready(&mut clone));
    let err = clone.call(1).await.unwrap_err();
    assert!(err.is::<Full>());
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_first_come_first_served() {
    let bulkhead = waiting(1, 4);
    let held = bulkhead.try_acquire().expect("free");
    let mut first = task::spawn(bulkhead.acquire());
    let mut second = task::spawn(bulkhead.acquire());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    assert_eq!(bulkhead.waiting_callers(), 2);
    drop(held);
    assert!(first.is_woken());
    assert!(!second.is_woken());
    let permit = assert_ready!(first.poll()).expect("handed the permit");
    assert_pending!(second.poll());
    drop(permit);
    assert_ready!(second.poll()).expect("handed the permit");
    assert_eq!(bulkhead.waiting_callers(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_wait_longer_than_max_wait_times_out() {
    let bulkhead = waiting(1, 4);
    let (mut service, _handle) = guarded(&bulkhead);
    let _held = bulkhead.try_acquire().expect("free");
    let err = service
        .ready()
        .await
        .expect("ready")
        .call(1)
        .await
        .unwrap_err();
    let timed_out = err.downcast_ref::<WaitTimedOut>().expect("timed out");
    assert_eq!(timed_out.max_wait(), Duration::from_millis(100));
    assert_eq!(bulkhead.waiting_callers(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_at_once() {
    let bulkhead = waiting(1, 1);
    let _held = bulkhead.try_acquire().expect("free");
    let mut queued = task::spawn(bulkhead.acquire());
    assert_pending!(queued.poll());
    let err = bulkhead.acquire().await.unwrap_err();
    assert!(err.is::<Full>());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_wait_leaves_the_queue_and_leaks_nothing() {
    // Cancelled while queued, and cancelled after a permit was handed over
    // but before the waiter saw it.
    for handed_over in [false, true] {
        let bulkhead = waiting(1, 4);
        let (mut service, _handle) = guarded(&bulkhead);
        let held = bulkhead.try_acquire().expect("free");
        assert_pending!(poll_ready(&mut service));
        assert_eq!(bulkhead.waiting_callers(), 1);
        if handed_over {
            drop(held);
            assert_eq!(bulkhead.available_permits(), 0, "handed to the waiter");
            drop(service);
        } else {
            drop(service);
            assert_eq!(bulkhead.waiting_callers(), 0);
            drop(held);
        }
        assert_eq!(
            bulkhead.available_permits(),
            1,
            "handed over: {handed_over}"
        );
        assert_eq!(bulkhead.waiting_callers(), 0);
    }
}

/// A service keeps the permit it reserved in `poll_ready` until `call`:
/// dropped or unwrapped before that, it gives the permit back, whether it
/// took it at once or after a wait.
#[tokio::test(start_paused = true)]
async fn a_reservation_no_call_took_is_given_back() {
    type Discard = fn(Bulkhead<Mock>);
    let cases: [(&str, Discard); 2] = [("dropped", drop), ("unwrapped", |s| drop(s.into_inner()))];
    for (how, discard) in cases {
        for after_a_wait in [false, true] {
            let bulkhead = waiting(1, 4);
            let (mut service, _handle) = guarded(&bulkhead);
            if after_a_wait {
                let held = bulkhead.try_acquire().expect("free");
                assert_pending!(poll_ready(&mut service));
                drop(held);
            }
            assert_ready_ok!(poll_ready(&mut service));
            assert_eq!(bulkhead.available_permits(), 0, "reserved");
            discard(service);
            assert_eq!(
                bulkhead.available_permits(),
                1,
                "{how}, after a wait: {after_a_wait}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn changing_the_limit_at_run_time() {
    let bulkhead = waiting(2, 4);
    let held = [
        bulkhead.try_acquire().expect("free"),
        bulkhead.try_acquire().expect("free"),
    ];
    bulkhead.set_max_concurrent_calls(1).expect("valid");
    let [a, b] = held;
    drop(a);
    // In flight (1) is not below the new limit (1): nothing is free yet.
    assert_eq!(bulkhead.available_permits(), 0);
    assert!(bulkhead.try_acquire().is_err());
    drop(b);
    assert_eq!(bulkhead.available_permits(), 1);

    let held = bulkhead.try_acquire().expect("free");
    let mut waiter = task::spawn(bulkhead.acquire());
    assert_pending!(waiter.poll());
    bulkhead.set_max_concurrent_calls(2).expect("valid");
    assert!(waiter.is_woken(), "a raised limit serves waiters");
    assert_ready!(waiter.poll()).expect("handed the new permit");
    drop(held);
    assert!(bulkhead.set_max_concurrent_calls(0).is_err());
}

#[tokio::test]
async fn rejections_and_limit_changes_are_observed() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let bulkhead = BulkheadLayer::builder()
        .name("db")
        .max_concurrent_calls(1)
        .observer(move |event: &Event<'_>| {
            let line = match event {
                Event::BulkheadRejected {
                    name,
                    max_concurrent_calls,
                    reason,
                } => {
                    format!("{name} {reason} {max_concurrent_calls}")
                }
                Event::BulkheadLimitChanged { name, from, to } => format!("{name} {from}->{to}"),
                _ => return,
            };
            log.lock().unwrap().push(line);
        })
        .build()
        .expect("valid config");
    let _held = bulkhead.try_acquire().expect("free");
    assert!(bulkhead.try_acquire().is_err());
    bulkhead.set_max_concurrent_calls(3).expect("valid");
    bulkhead.set_max_concurrent_calls(3).expect("valid");
    assert_eq!(*seen.lock().unwrap(), ["db full 1", "db 1->3"]);
    let _ = Rejection::WaitTimedOut;
}

#[test]
fn invalid_configuration_is_an_error_naming_the_field() {
    let wait = |max_wait, queue| Mode::Wait { max_wait, queue };
    let cases = [
        (
            BulkheadLayer::builder().max_concurrent_calls(0),
            "max_concurrent_calls",
        ),
        (
            BulkheadLayer::builder().max_concurrent_calls(u32::MAX),
            "max_concurrent_calls",
        ),
        (
            BulkheadLayer::builder().mode(wait(Duration::ZERO, 4)),
            "max_wait",
        ),
        (
            BulkheadLayer::builder().mode(wait(Duration::from_secs(1), 0)),
            "queue",
        ),
    ];
    for (builder, field) in cases {
        assert_eq!(builder.build().unwrap_err().field(), field);
    }
}

#[test]
fn the_public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    type Inner = tower::util::ServiceFn<fn(u32) -> std::future::Ready<Result<u32, BoxError>>>;
    send_sync::<BulkheadLayer>();
    send_sync::<Bulkhead<Inner>>();
    send_sync::<seawall::bulkhead::future::ResponseFuture<std::future::Ready<Result<u32, BoxError>>>>(
    );
    send_sync::<seawall::bulkhead::BulkheadPermit>();
    send_sync::<Full>();
    send_sync::<WaitTimedOut>();
}
