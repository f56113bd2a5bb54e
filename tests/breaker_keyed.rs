//! One breaker per key: made on first use from one configuration, apart
//! from each other, readable by key, forgotten when idle but never while a
//! call is in flight.
#![cfg(feature = "keyed")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::breaker::{CircuitBreaker, KeyedBreakerLayer, KeyedBreakers, Open, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;
use seawall::keyed::KeyedMap;
use seawall::observe::Event;
use tokio_test::{assert_pending, assert_ready_ok};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_test::mock;

const IDLE: Duration = Duration::from_secs(60);

fn breakers(clock: &ManualClock) -> KeyedBreakers<&'static str> {
    CircuitBreaker::builder()
        .name("hosts")
        .consecutive_failures(2)
        .wait_duration_in_open_state(Duration::from_secs(600))
        .clock(clock.clone())
        .build_keyed(KeyedMap::builder().idle_timeout(IDLE))
        .expect("valid configuration")
}

fn fail(breakers: &KeyedBreakers<&'static str>, key: &'static str, n: usize) {
    for _ in 0..n {
        breakers
            .get_or_create(&key)
            .try_acquire()
            .expect("admitted")
            .record(Outcome::Failure);
    }
}

#[test]
fn each_key_has_its_own_breaker_named_after_it() {
    let clock = ManualClock::new();
    let b = breakers(&clock);
    fail(&b, "a.example", 2);
    fail(&b, "b.example", 1);
    let states: Vec<_> = ["a.example", "b.example", "c.example"]
        .iter()
        .map(|k| b.get(k).map(|b| b.state()))
        .collect();
    assert_eq!(states, [Some(State::Open), Some(State::Closed), None]);
    let mut names: Vec<String> = b
        .entries()
        .into_iter()
        .map(|(_, breaker)| breaker.name().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["hosts/a.example", "hosts/b.example"]);
    assert_eq!(b.len(), 2);
}

#[test]
fn an_invalid_configuration_is_refused_once_up_front() {
    let err = CircuitBreaker::builder()
        .failure_rate_threshold(0.0)
        .build_keyed::<String>(KeyedMap::builder())
        .unwrap_err();
    assert_eq!(err.field(), "failure_rate_threshold");
    let err = CircuitBreaker::builder()
        .build_keyed::<String>(KeyedMap::builder().max_keys(0))
        .unwrap_err();
    assert_eq!(err.field(), "max_keys");
}

#[test]
fn an_idle_key_is_forgotten_and_starts_again_closed() {
    let clock = ManualClock::new();
    let b = breakers(&clock);
    fail(&b, "a.example", 2);
    assert_eq!(b.get("a.example").unwrap().state(), State::Open);

    // The map reads the breakers' clock.
    clock.advance(IDLE);
    assert_eq!(b.map().evict_idle(), 1);
    assert!(b.get("a.example").is_none());
    assert!(b.get_or_create(&"a.example").try_acquire().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_breaker_with_a_call_in_flight_is_kept() {
    let clock = ManualClock::new();
    let b = breakers(&clock);
    let (inner, mut handle) = mock::pair::<&'static str, &'static str>();
    let mut svc = KeyedBreakerLayer::new(b.clone(), |req: &&'static str| *req).layer(inner);
    handle.allow(1);
    svc.ready().await.unwrap();
    let mut call = tokio_test::task::spawn(svc.call("a.example"));
    assert_pending!(call.poll());

    clock.advance(IDLE * 2);
    assert_eq!(b.map().evict_idle(), 0, "in use");
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response("ok");
    assert_eq!(assert_ready_ok!(call.poll()), "ok");
    drop(call);
    assert_eq!(b.map().evict_idle(), 1, "idle now");
}

#[tokio::test]
async fn the_layer_routes_each_request_to_its_keys_breaker() {
    let clock = ManualClock::new();
    let b = breakers(&clock);
    // Requests are (host, should fail).
    let backend = service_fn(|(_, fail): (&'static str, bool)| async move {
        if fail {
            Err("backend down")
        } else {
            Ok("ok")
        }
    });
    let mut svc =
        KeyedBreakerLayer::new(b.clone(), |req: &(&'static str, bool)| req.0).layer(backend);
    for _ in 0..2 {
        let _ = svc.ready().await.unwrap().call(("bad", true)).await;
    }
    let refused = svc
        .ready()
        .await
        .unwrap()
        .call(("bad", false))
        .await
        .unwrap_err();
    let open = Open::find(&*refused).expect("refused by the breaker");
    assert_eq!(open.name(), "hosts/bad");
    assert_eq!(open.state(), State::Open);
    assert_eq!(
        svc.ready()
            .await
            .unwrap()
            .call(("good", false))
            .await
            .unwrap(),
        "ok"
    );
}

#[cfg(feature = "http")]
#[tokio::test]
async fn the_http_layer_counts_server_errors_per_host() {
    let clock = ManualClock::new();
    let b = breakers(&clock);
    let backend = service_fn(|req: http::Request<()>| async move {
        let status = if req.uri().host() == Some("down.example") {
            500
        } else {
            200
        };
        Ok::<_, std::io::Error>(http::Response::builder().status(status).body(()).unwrap())
    });
    let host =
        |req: &http::Request<()>| -> String { req.uri().host().unwrap_or_default().to_owned() };
    let breakers: KeyedBreakers<String> = CircuitBreaker::builder()
        .consecutive_failures(2)
        .clock(clock.clone())
        .build_keyed(KeyedMap::builder())
        .unwrap();
    let mut svc = KeyedBreakerLayer::http(breakers.clone(), host).layer(backend);
    for uri in [
        "http://down.example/",
        "http://down.example/",
        "http://up.example/",
    ] {
        let req = http::Request::get(uri).body(()).unwrap();
        assert!(svc.ready().await.unwrap().call(req).await.is_ok());
    }
    assert_eq!(breakers.get("down.example").unwrap().state(), State::Open);
    assert_eq!(breakers.get("up.example").unwrap().state(), State::Closed);
    drop(b);
}

#[test]
fn every_keys_events_reach_the_observers() {
    let clock = ManualClock::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let b: KeyedBreakers<u16> = CircuitBreaker::builder()
        .name("shard")
        .consecutive_failures(1)
        .clock(clock.clone())
        .observer(move |event: &Event<'_>| {
            if let Event::BreakerTransition { name, to, .. } = event {
                log.lock().unwrap().push((name.to_string(), *to));
            }
        })
        .build_keyed(KeyedMap::builder())
        .unwrap();
    for shard in [3, 7] {
        b.get_or_create(&shard)
            .try_acquire()
            .unwrap()
            .record(Outcome::Failure);
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("shard/3".to_owned(), State::Open),
            ("shard/7".to_owned(), State::Open)
        ]
    );
}
