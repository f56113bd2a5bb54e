//! The adaptive limit as a tower service: what each call teaches the
//! algorithm, how admission follows the learned limit, refusals, waiting,
//! and that no path leaks a permit.
#![cfg(feature = "limit")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::classify::{DefaultClassifier, Outcome};
use seawall::clock::ManualClock;
use seawall::limit::{
    Algorithm, Limit, LimitLayer, LimitSample, Limiter, Mode, Overloaded, QueueOrder,
};
use seawall::observe::Event;
use tokio_test::{assert_pending, assert_ready_ok, task};
use tower::{service_fn, BoxError, Layer, Service, ServiceExt};
use tower_test::mock;

/// A test algorithm: records every sample and answers with the limit the
/// test set last.
#[derive(Debug, Clone, Default)]
struct Script {
    limit: Arc<Mutex<u32>>,
    seen: Arc<Mutex<Vec<LimitSample>>>,
}

impl Script {
    fn new(limit: u32) -> Self {
        let script = Self::default();
        *script.limit.lock().unwrap() = limit;
        script
    }

    fn set(&self, limit: u32) {
        *self.limit.lock().unwrap() = limit;
    }

    fn seen(&self) -> Vec<LimitSample> {
        self.seen.lock().unwrap().clone()
    }
}

impl Algorithm for Script {
    fn limit(&self) -> u32 {
        *self.limit.lock().unwrap()
    }

    fn update(&mut self, sample: LimitSample) -> u32 {
        self.seen.lock().unwrap().push(sample);
        self.limit()
    }
}

/// Results are classified by value: 0 is a drop, 1 is ignored, anything
/// else a success.
fn by_value(result: Result<&u32, &BoxError>) -> Outcome {
    match result {
        Ok(0) => Outcome::Overload,
        Ok(1) => Outcome::Ignored,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

type Svc = Limit<mock::Mock<u32, u32>, fn(Result<&u32, &BoxError>) -> Outcome>;

fn service(limiter: &Limiter) -> (Svc, mock::Handle<u32, u32>) {
    let (inner, mut handle) = mock::pair::<u32, u32>();
    handle.allow(100);
    let classify: fn(Result<&u32, &BoxError>) -> Outcome = by_value;
    let layer = LimitLayer::new(limiter.clone()).classifier(classify);
    (layer.layer(inner), handle)
}

fn poll_ready<S: Service<u32, Error = BoxError>>(
    svc: &mut S,
) -> std::task::Poll<Result<(), BoxError>> {
    task::spawn(()).enter(|cx, _| svc.poll_ready(cx))
}

/// Makes one call through `svc` that the backend answers with `answer`
/// after `rtt` on `clock`.
async fn call(
    svc: &mut Svc,
    handle: &mut mock::Handle<u32, u32>,
    clock: &ManualClock,
    answer: u32,
    rtt: Duration,
) -> Result<u32, BoxError> {
    svc.ready().await?;
    let mut future = task::spawn(svc.call(answer));
    assert_pending!(future.poll());
    let (_, reply) = handle
        .next_request()
        .await
        .expect("the call reached the backend");
    clock.advance(rtt);
    reply.send_response(answer);
    future.await
}

#[tokio::test]
async fn each_completed_call_teaches_the_algorithm_one_sample() {
    let clock = ManualClock::new();
    let script = Script::new(10);
    let limiter = Limiter::builder(script.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let (mut svc, mut handle) = service(&limiter);
    let ms = Duration::from_millis;

    // (answer, rtt) -> the sample expected, if any.
    let cases = [
        (7, ms(12), Some(LimitSample::new(ms(12), 1, false))),
        (0, ms(40), Some(LimitSample::new(ms(40), 1, true))),
        (1, ms(5), None),
    ];
    for (answer, rtt, expected) in cases {
        let before = script.seen().len();
        call(&mut svc, &mut handle, &clock, answer, rtt)
            .await
            .expect("answered");
        // A success may wait in its thread's stripe (a drop never does).
        limiter.learner().flush();
        assert_eq!(
            script.seen().get(before).copied(),
            expected,
            "answer {answer}"
        );
    }

    // In flight at admission counts the calls already admitted.
    let held = limiter.try_acquire().expect("free");
    assert_eq!(held.in_flight_at_admission(), 1);
    call(&mut svc, &mut handle, &clock, 9, ms(1))
        .await
        .expect("answered");
    limiter.learner().flush();
    assert_eq!(script.seen().last().map(LimitSample::in_flight), Some(2));
}

#[tokio::test]
async fn admission_follows_the_learned_limit_and_reports_changes() {
    let clock = ManualClock::new();
    let script = Script::new(3);
    let changes = Arc::new(Mutex::new(Vec::new()));
    let log = changes.clone();
    let limiter = Limiter::builder(script.clone())
        .name("backend")
        .clock(clock.clone())
        .observer(move |event: &Event<'_>| {
            if let Event::LimitChanged { from, to, .. } = event {
                log.lock().unwrap().push((*from, *to));
            }
        })
        .build()
        .unwrap();
    let (mut svc, mut handle) = service(&limiter);
    let mut held: Vec<_> = (0..2)
        .map(|_| limiter.try_acquire().expect("free"))
        .collect();

    // The next sample, a drop (which reaches the algorithm at once),
    // lowers the limit to 1 while two are held.
    script.set(1);
    call(&mut svc, &mut handle, &clock, 0, Duration::from_millis(1))
        .await
        .expect("answered");
    assert_eq!(limiter.limit(), 1);
    assert_eq!(*changes.lock().unwrap(), [(3, 1)]);
    drop(held.pop());
    assert!(
        limiter.try_acquire().is_err(),
        "one held fills a limit of 1"
    );
    assert_eq!(limiter.available(), 0);
    drop(held);
    assert_eq!(limiter.available(), 1);
}

#[tokio::test]
async fn a_reached_limit_fails_fast_with_overloaded() {
    let limiter = Limiter::builder(Script::new(1))
        .name("backend")
        .build()
        .unwrap();
    let (mut a, _handle) = service(&limiter);
    let mut b = a.clone();
    assert_ready_ok!(poll_ready(&mut a));
    // The peer's bug: clones compared a shared count without reserving.
    assert_ready_ok!(poll_ready(&mut b));
    let err = b.call(5).await.unwrap_err();
    let overloaded = err.downcast_ref::<Overloaded>().expect("Overloaded");
    assert_eq!(
        (overloaded.name(), overloaded.limit(), overloaded.waited()),
        ("backend", 1, None)
    );
    assert_eq!(
        err.to_string(),
        "concurrency limit backend reached: 1 calls in flight"
    );
}

#[tokio::test]
async fn a_static_limiter_holds_teaches_and_frees_as_a_shared_one() {
    let script = Script::new(1);
    let limiter: &'static Limiter =
        Box::leak(Box::new(Limiter::builder(script.clone()).build().unwrap()));
    let (inner, mut handle) = mock::pair::<u32, u32>();
    handle.allow(2);
    let classify: fn(Result<&u32, &BoxError>) -> Outcome = by_value;
    let mut svc = LimitLayer::from_static(limiter)
        .classifier(classify)
        .layer(inner);
    svc.ready().await.expect("ready");
    let mut future = task::spawn(svc.call(0));
    assert_pending!(future.poll());
    assert_eq!(limiter.in_flight(), 1, "the call holds the permit");
    let refused = svc.ready().await.expect("ready").call(5).await;
    assert!(refused.unwrap_err().is::<Overloaded>());
    let (_, reply) = handle.next_request().await.expect("reached the backend");
    reply.send_response(0);
    future.await.expect("answered");
    assert_eq!(limiter.in_flight(), 0, "completing the call frees it");
    assert_eq!(script.seen().len(), 1, "and teaches the algorithm");
}

#[tokio::test]
async fn dropped_futures_and_panics_free_their_permit_and_teach_nothing() {
    let script = Script::new(1);
    let limiter = Limiter::builder(script.clone()).build().unwrap();
    let (mut svc, _handle) = service(&limiter);
    svc.ready().await.expect("ready");
    drop(svc.call(5));
    assert_eq!(limiter.in_flight(), 0);

    let mut panicky = Limit::new(
        service_fn(|x: u32| {
            assert!(x != 13, "unlucky");
            std::future::ready(Ok::<_, BoxError>(x))
        }),
        limiter.clone(),
    );
    panicky.ready().await.expect("ready");
    assert!(catch_unwind(AssertUnwindSafe(|| drop(panicky.call(13)))).is_err());
    assert_eq!(limiter.in_flight(), 0);
    assert!(script.seen().is_empty());
}

/// A service keeps the permit it reserved in `poll_ready` until `call`:
/// dropped, unwrapped or re-classified before that, it gives it back.
#[tokio::test]
async fn a_reservation_no_call_took_is_given_back() {
    type Discard = fn(Svc);
    let cases: [(&str, Discard); 3] = [
        ("dropped", drop),
        ("unwrapped", |s| drop(s.into_inner())),
        ("re-classified", |s| {
            drop(s.with_classifier(DefaultClassifier))
        }),
    ];
    for (how, discard) in cases {
        let limiter = Limiter::builder(Script::new(1)).build().unwrap();
        let (mut svc, _handle) = service(&limiter);
        svc.ready().await.expect("ready");
        assert_eq!(limiter.in_flight(), 1, "{how}: reserved");
        discard(svc);
        assert_eq!(limiter.in_flight(), 0, "{how}");
    }
}

fn waiting(order: QueueOrder) -> Limiter {
    Limiter::builder(Script::new(1))
        .mode(Mode::Wait {
            max_wait: Duration::from_millis(50),
            queue: 4,
            order,
        })
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_queue_order() {
    // (order, which of two waiters gets the first freed permit)
    for (order, first_served) in [(QueueOrder::Fifo, 0), (QueueOrder::Lifo, 1)] {
        let limiter = waiting(order);
        let held = limiter.try_acquire().expect("free");
        let (a, _ha) = service(&limiter);
        let mut waiters = [a.clone(), a];
        for w in waiters.iter_mut() {
            assert_pending!(poll_ready(w));
        }
        assert_eq!(limiter.waiting_callers(), 2);
        drop(held);
        assert!(
            poll_ready(&mut waiters[first_served]).is_ready(),
            "{order:?}"
        );
        assert_pending!(poll_ready(&mut waiters[1 - first_served]));
    }
}

#[tokio::test(start_paused = true)]
async fn a_wait_times_out_and_a_cancelled_wait_leaks_nothing() {
    let limiter = waiting(QueueOrder::Fifo);
    let held = limiter.try_acquire().expect("free");
    let (mut svc, _handle) = service(&limiter);
    let err = svc.ready().await.expect("ready").call(5).await.unwrap_err();
    let overloaded = err.downcast_ref::<Overloaded>().expect("Overloaded");
    assert_eq!(overloaded.waited(), Some(Duration::from_millis(50)));
    assert_eq!(limiter.waiting_callers(), 0);

    // Handed a permit, then dropped before it saw it: the permit returns.
    let (mut waiter, _h) = service(&limiter);
    assert_pending!(poll_ready(&mut waiter));
    drop(held);
    drop(waiter);
    assert_eq!((limiter.in_flight(), limiter.waiting_callers()), (0, 0));
}

#[tokio::test]
async fn partitions_lend_idle_shares_and_keep_their_guarantee() {
    let limiter = Limiter::builder(Script::new(10))
        .partition("live", 0.7)
        .partition("batch", 0.3)
        .build()
        .unwrap();
    // Batch alone may use the whole limit while live is idle.
    let batch: Vec<_> = (0..10)
        .map(|_| limiter.try_acquire_for("batch").expect("borrowed"))
        .collect();
    assert!(limiter.try_acquire_for("batch").is_err());
    assert!(
        limiter.try_acquire_for("live").is_err(),
        "borrowed permits are not taken back early"
    );
    // As batch calls end, live's lent permits go back to live: batch
    // cannot take them again while live wants them.
    drop(batch);
    let live: Vec<_> = (0..7)
        .map(|_| limiter.try_acquire_for("live").expect("its share"))
        .collect();
    let batch: Vec<_> = (0..3)
        .map(|_| limiter.try_acquire_for("batch").expect("its share"))
        .collect();
    assert!(limiter.try_acquire_for("batch").is_err());
    assert!(limiter.try_acquire_for("live").is_err());
    assert_eq!(limiter.in_flight(), 10);
    drop((live, batch));
    assert!(
        limiter.try_acquire_for("nightly").is_err(),
        "unknown partition"
    );
    assert!(LimitLayer::new(limiter).partition("nightly").is_err());
}

#[test]
fn invalid_configuration_is_an_error_naming_the_field() {
    let wait = |max_wait, queue| Mode::Wait {
        max_wait,
        queue,
        order: QueueOrder::Fifo,
    };
    let cases = [
        (
            Limiter::builder(Script::new(1)).mode(wait(Duration::ZERO, 1)),
            "max_wait",
        ),
        (
            Limiter::builder(Script::new(1)).mode(wait(Duration::from_secs(1), 0)),
            "queue",
        ),
        (
            Limiter::builder(Script::new(1)).partition("a", 0.0),
            "partition",
        ),
        (
            Limiter::builder(Script::new(1))
                .partition("a", 0.6)
                .partition("b", 0.6),
            "partition",
        ),
        (
            Limiter::builder(Script::new(1))
                .partition("a", 0.2)
                .partition("a", 0.2),
            "partition",
        ),
        (
            (0..1025).fold(Limiter::builder(Script::new(1)), |b, i| {
                b.partition(i.to_string(), 1e-4)
            }),
            "partition",
        ),
    ];
    for (builder, field) in cases {
        assert_eq!(builder.build().unwrap_err().field(), field);
    }
}

#[test]
fn the_public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    type Ready = std::future::Ready<Result<u32, BoxError>>;
    send_sync::<Limiter>();
    send_sync::<LimitLayer>();
    send_sync::<Limit<tower::util::ServiceFn<fn(u32) -> Ready>>>();
    send_sync::<seawall::limit::future::ResponseFuture<Ready, seawall::classify::DefaultClassifier>>(
    );
    send_sync::<seawall::limit::LimitPermit>();
    send_sync::<Overloaded>();
}
