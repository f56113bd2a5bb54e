//! The tower adapter: discovery churn under load, removal between
//! `poll_ready` and `call`, readiness driven without new requests, fast
//! failure, cancellation and panics leaking nothing, clones sharing state.
#![cfg(all(feature = "balance", feature = "breaker"))]

use std::collections::HashSet;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use seawall::balance::{Balance, Chooser, Driver, Health, Unavailable};
use seawall::breaker::{CircuitBreaker, State};
use tokio::sync::mpsc;
use tower::discover::Change;
use tower::{service_fn, BoxError, Service, ServiceExt};

type Changes<S> = mpsc::UnboundedReceiver<Result<Change<usize, S>, Infallible>>;

/// A `Discover` stream fed by the test.
struct Feed<S>(Changes<S>);

impl<S> futures_core::Stream for Feed<S> {
    type Item = Result<Change<usize, S>, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// An endpoint that answers with its id after 5 ms, and notes a call that
/// reaches it after the test declared it removed.
fn endpoint(
    id: usize,
    removed: Arc<Mutex<HashSet<usize>>>,
    violations: Arc<Mutex<Vec<usize>>>,
) -> impl Service<u32, Response = usize, Error = Infallible, Future = impl Send> + Clone + Send + Sync
{
    service_fn(move |_: u32| {
        if removed.lock().unwrap().contains(&id) {
            violations.lock().unwrap().push(id);
        }
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, Infallible>(id)
        }
    })
}

#[tokio::test(start_paused = true)]
async fn discovery_churn_under_load_sends_nothing_to_a_removed_endpoint() {
    let removed = Arc::new(Mutex::new(HashSet::new()));
    let violations = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::unbounded_channel();
    let chooser = Chooser::builder().seed(21).build().unwrap();
    tokio::spawn(Driver::new(chooser.clone(), Feed(rx)));
    let balance = Balance::new(chooser.clone());
    let ep = |id| endpoint(id, removed.clone(), violations.clone());
    for id in 0..4 {
        tx.send(Ok(Change::Insert(id, ep(id)))).unwrap();
    }
    tokio::task::yield_now().await;

    let mut workers = Vec::new();
    for w in 0..8u32 {
        let mut balance = balance.clone();
        workers.push(tokio::spawn(async move {
            let mut answers = 0;
            for i in 0..200 {
                let svc = balance.ready().await?;
                if (w + i) % 3 == 0 {
                    // Reserved, not yet called: the churn may remove it now.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                svc.call(i).await?;
                answers += 1;
            }
            Ok::<_, BoxError>(answers)
        }));
    }
    // Churn: every 7 ms a new endpoint arrives and the oldest leaves.
    for round in 0..40 {
        tokio::time::sleep(Duration::from_millis(7)).await;
        tx.send(Ok(Change::Insert(4 + round, ep(4 + round))))
            .unwrap();
        tx.send(Ok(Change::Remove(round))).unwrap();
        while chooser.endpoints().iter().any(|e| *e.key() == round) {
            tokio::task::yield_now().await;
        }
        removed.lock().unwrap().insert(round);
    }
    for worker in workers {
        assert_eq!(worker.await.unwrap().unwrap(), 200, "every call answered");
    }
    assert_eq!(*violations.lock().unwrap(), Vec::<usize>::new());
    assert!(chooser.endpoints().iter().all(|e| e.in_flight() == 0));
}

fn answering(
    id: usize,
) -> impl Service<(), Response = usize, Error = Infallible, Future = impl Send> + Clone + Send + Sync
{
    service_fn(move |()| async move { Ok::<_, Infallible>(id) })
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_removed_between_poll_ready_and_call_gets_nothing() {
    for seed in 0..8 {
        let chooser = Chooser::builder().seed(seed).build().unwrap();
        chooser.insert(0, answering(0));
        chooser.insert(1, answering(1));
        let mut balance = Balance::new(chooser.clone());
        balance.ready().await.unwrap();
        let reserved = chooser
            .endpoints()
            .iter()
            .find(|e| e.in_flight() == 1)
            .map(|e| *e.key())
            .expect("poll_ready reserved one");
        assert_eq!(chooser.remove(&reserved).unwrap().in_flight(), 1);
        let answer = balance.call(()).await.unwrap();
        assert_eq!(answer, 1 - reserved);
        assert_eq!(chooser.endpoints()[0].in_flight(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn a_not_ready_endpoint_becomes_ready_without_new_requests() {
    let (mock, mut handle) = tower_test::mock::pair::<u32, u32>();
    handle.allow(0);
    let chooser = Chooser::builder().build().unwrap();
    chooser.insert(0, mock);
    let mut balance = Balance::new(chooser);
    let mut call = tokio_test::task::spawn(async move { balance.ready().await?.call(7).await });
    assert!(call.poll().is_pending(), "the endpoint is not ready");
    handle.allow(1);
    assert!(call.is_woken(), "its readiness wakes the waiting caller");
    assert!(call.poll().is_pending());
    let (req, respond) = handle.next_request().await.unwrap();
    assert_eq!(req, 7);
    respond.send_response(8);
    assert_eq!(call.await.unwrap(), 8);
}

#[tokio::test(start_paused = true)]
async fn a_caller_does_not_wait_on_a_not_ready_endpoint_while_another_is_ready() {
    for seed in 0..8 {
        let (stuck, mut stuck_handle) = tower_test::mock::pair::<u32, u32>();
        let (ready, mut ready_handle) = tower_test::mock::pair::<u32, u32>();
        stuck_handle.allow(0);
        ready_handle.allow(1);
        let chooser = Chooser::builder().seed(seed).build().unwrap();
        chooser.insert(0, stuck);
        chooser.insert(1, ready);
        let mut balance = Balance::new(chooser);
        let mut call = tokio_test::task::spawn(async move { balance.ready().await?.call(1).await });
        assert!(call.poll().is_pending(), "waits for the answer only");
        let (req, respond) = ready_handle
            .next_request()
            .await
            .expect("sent to the ready one");
        assert_eq!(req, 1);
        respond.send_response(2);
        assert_eq!(call.await.unwrap(), 2);
    }
}

#[tokio::test(start_paused = true)]
async fn no_usable_endpoint_fails_fast() {
    // Empty set, then every endpoint's breaker forced open.
    let chooser = Chooser::builder().build().unwrap();
    let mut balance = Balance::new(chooser.clone());
    let err = tokio::time::timeout(Duration::from_secs(1), balance.ready_oneshot_call())
        .await
        .expect("fails fast, never hangs")
        .unwrap_err();
    assert!(err.downcast_ref::<Unavailable>().unwrap().is_empty_set());

    for id in 0..3 {
        let breaker = CircuitBreaker::builder().build().unwrap();
        breaker.transition_to(State::ForcedOpen).unwrap();
        chooser.insert_with(id, answering(id), Health::new().gate(breaker).unwrap());
    }
    let err = tokio::time::timeout(Duration::from_secs(1), balance.ready_oneshot_call())
        .await
        .expect("fails fast, never hangs")
        .unwrap_err();
    let unavailable = err.downcast_ref::<Unavailable>().unwrap();
    assert!(!unavailable.is_empty_set());
}

/// `ready` then `call`, as one future borrowing the service.
trait ReadyCall {
    fn ready_oneshot_call(&mut self) -> impl std::future::Future<Output = Result<usize, BoxError>>;
}

impl<S: Service<(), Response = usize, Error = BoxError>> ReadyCall for S {
    async fn ready_oneshot_call(&mut self) -> Result<usize, BoxError> {
        self.ready().await?.call(()).await
    }
}

#[tokio::test(start_paused = true)]
async fn dropped_futures_and_panicking_endpoints_leak_nothing() {
    let chooser = Chooser::builder().seed(1).build().unwrap();
    chooser.insert(
        0,
        service_fn(|panic: bool| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert!(!panic, "the endpoint panics");
            Ok::<_, Infallible>(())
        }),
    );
    let mut balance = Balance::new(chooser.clone());
    let in_flight = || chooser.endpoints()[0].in_flight();

    // A reservation held by a clone-less service, then dropped.
    balance.ready().await.unwrap();
    assert_eq!(in_flight(), 1);
    let fut = balance.call(false);
    assert_eq!(in_flight(), 1);
    drop(fut);
    assert_eq!(in_flight(), 0);

    // A panic inside the endpoint's future.
    let mut b = balance.clone();
    let join = tokio::spawn(async move { b.ready().await?.call(true).await });
    assert!(join.await.unwrap_err().is_panic());
    assert_eq!(in_flight(), 0);

    // A reservation dropped with its service.
    let mut b = balance.clone();
    b.ready().await.unwrap();
    assert_eq!(in_flight(), 1);
    drop(b);
    assert_eq!(in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn clones_share_load_and_start_without_a_reservation() {
    let chooser = Chooser::builder().seed(4).build().unwrap();
    chooser.insert(0, answering(0));
    let mut a = Balance::new(chooser.clone());
    a.ready().await.unwrap();
    let b = a.clone();
    // The clone sees the original's call in flight and holds none itself.
    assert_eq!(b.chooser().endpoints()[0].in_flight(), 1);
    drop(a);
    assert_eq!(b.chooser().endpoints()[0].in_flight(), 0);
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    type Svc = tower::util::BoxCloneSyncService<(), usize, BoxError>;
    send_sync::<Chooser<usize, Svc>>();
    send_sync::<Balance<usize, Svc>>();
    send_sync::<seawall::balance::Pick<Svc>>();
    send_sync::<Unavailable>();
    fn send<T: Send>() {}
    send::<seawall::balance::future::ResponseFuture<Svc, (), seawall::classify::DefaultClassifier>>(
    );
}

#[tokio::test(start_paused = true)]
async fn discovered_endpoints_get_the_gates_their_service_carries() {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut chooser: Chooser<usize, Arc<(usize, CircuitBreaker)>> =
        Chooser::builder().seed(4).build().unwrap();
    tokio::spawn(Driver::new(chooser.clone(), Feed(rx)).health_from(
        |_, ep: &Arc<(usize, CircuitBreaker)>| Health::new().gate(ep.1.clone()).unwrap(),
    ));
    let breakers: Vec<_> = (0..3)
        .map(|_| CircuitBreaker::builder().build().unwrap())
        .collect();
    for (id, breaker) in breakers.iter().enumerate() {
        tx.send(Ok(Change::Insert(id, Arc::new((id, breaker.clone())))))
            .unwrap();
    }
    while chooser.len() < 3 {
        tokio::task::yield_now().await;
    }
    breakers[1].transition_to(State::ForcedOpen).unwrap();
    let mut got = [0; 3];
    for _ in 0..300 {
        let pick = chooser.pick().unwrap();
        got[pick.get().0] += 1;
        pick.record(seawall::classify::Outcome::Success);
    }
    assert_eq!(got[1], 0, "its own breaker gates each endpoint: {got:?}");
    breakers[0].transition_to(State::ForcedOpen).unwrap();
    assert!((0..100).all(|_| chooser.pick().unwrap().get().0 == 2));
}
