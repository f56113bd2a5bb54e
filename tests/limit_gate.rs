//! An adaptive limit as a balancer gate: a full endpoint is passed over
//! while another has room, every permit comes back however the call ends,
//! and the balancer's samples teach the endpoint's algorithm.
#![cfg(all(feature = "balance", feature = "limit"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::balance::{Balance, Chooser, Gate, Health};
use seawall::classify::{Outcome, Sample};
use seawall::clock::ManualClock;
use seawall::limit::algorithm::{Aimd, Fixed};
use seawall::limit::{Algorithm, LimitSample, Limiter};
use tower::{service_fn, Service, ServiceExt};

fn fixed(limit: u32) -> Limiter {
    Limiter::builder(Fixed::new(limit).unwrap())
        .build()
        .unwrap()
}

/// A chooser over endpoints keyed 0..n, each gated by its limiter.
fn chooser(limiters: &[Limiter]) -> Chooser<usize, usize> {
    let chooser = Chooser::builder().seed(5).build().unwrap();
    for (i, limiter) in limiters.iter().enumerate() {
        chooser.insert_with(i, i, Health::new().gate(limiter.clone()).unwrap());
    }
    chooser
}

#[test]
fn a_full_limit_is_passed_over_while_another_endpoint_has_room() {
    let limiters = [fixed(2), fixed(30)];
    let mut chooser = chooser(&limiters);
    let picks: Vec<_> = (0..32)
        .map(|_| chooser.pick().expect("room left"))
        .collect();
    let to_small = picks.iter().filter(|p| *p.get() == 0).count();
    assert_eq!(to_small, 2, "the small endpoint takes exactly its limit");
    assert_eq!(limiters[0].in_flight(), 2);
    assert_eq!(limiters[1].in_flight(), 30);
    assert!(!limiters[0].has_room() && !limiters[1].has_room());
    let err = chooser.pick().unwrap_err();
    assert!(!err.is_empty_set(), "refused, not empty: {err}");
    drop(picks);
    assert!(limiters.iter().all(|l| l.in_flight() == 0 && l.has_room()));
}

#[test]
fn permits_come_back_however_a_pick_ends() {
    type End = fn(seawall::balance::Pick<usize>);
    let ends: [(&str, End); 4] = [
        ("success", |p| p.record(Outcome::Success)),
        ("overload", |p| p.record(Outcome::Overload)),
        ("ignored", |p| p.record(Outcome::Ignored)),
        ("dropped unrecorded", drop),
    ];
    for (name, end) in ends {
        let limiters = [fixed(3)];
        let mut chooser = chooser(&limiters);
        let picks: Vec<_> = (0..3).map(|_| chooser.pick().unwrap()).collect();
        assert_eq!(limiters[0].in_flight(), 3, "{name}");
        for pick in picks {
            end(pick);
        }
        assert_eq!(limiters[0].in_flight(), 0, "{name}: permits back");
        assert_eq!(limiters[0].available(), 3, "{name}: all free");
    }
}

#[test]
fn a_direct_cancel_gives_the_permit_back() {
    let limiter = fixed(1);
    let ticket = Gate::try_acquire(&limiter).expect("a free permit");
    assert!(!limiter.has_room());
    assert!(Gate::try_acquire(&limiter).is_none(), "full");
    limiter.cancel(ticket);
    assert!(limiter.has_room());
    assert_eq!(limiter.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_or_panicking_call_through_the_balancer_gives_its_permit_back() {
    let limiter = fixed(4);
    let chooser = Chooser::builder().seed(1).build().unwrap();
    let endpoint = service_fn(|never: bool| async move {
        if never {
            std::future::pending::<()>().await;
        }
        panic!("the endpoint panics");
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    });
    chooser.insert_with(0, endpoint, Health::new().gate(limiter.clone()).unwrap());
    let mut balance: Balance<usize, _> = Balance::new(chooser);

    let mut pending = tokio_test::task::spawn(balance.ready().await.unwrap().call(true));
    assert!(pending.poll().is_pending());
    assert_eq!(limiter.in_flight(), 1);
    drop(pending);
    assert_eq!(limiter.in_flight(), 0, "dropped future");

    let call = balance.ready().await.unwrap().call(false);
    let panicked = tokio::spawn(call).await.unwrap_err();
    assert!(panicked.is_panic());
    assert_eq!(limiter.in_flight(), 0, "panicking endpoint");
}

/// An algorithm that keeps every sample it is taught.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<LimitSample>>>);

impl Algorithm for Recorder {
    fn limit(&self) -> u32 {
        10
    }
    fn update(&mut self, sample: LimitSample) -> u32 {
        self.0.lock().unwrap().push(sample);
        10
    }
}

#[test]
fn the_balancers_samples_reach_the_algorithm() {
    let clock = ManualClock::new();
    let recorder = Recorder::default();
    let limiter = Limiter::builder(recorder.clone()).build().unwrap();
    let mut chooser = Chooser::builder().clock(clock.clone()).build().unwrap();
    chooser.insert_with(0, 0, Health::new().gate(limiter.clone()).unwrap());

    let picks: Vec<_> = (0..4).map(|_| chooser.pick().unwrap()).collect();
    clock.advance(Duration::from_millis(50));
    let outcomes = [
        Outcome::Success,
        Outcome::Overload,
        Outcome::Ignored,
        Outcome::Failure,
    ];
    for (pick, outcome) in picks.into_iter().zip(outcomes) {
        pick.record(outcome);
    }
    // The learner hands successes over in batches (a drop at once).
    limiter.learner().flush();
    let taught = recorder.0.lock().unwrap().clone();
    // The ignored call teaches nothing; each other brings its round trip,
    // the in-flight count it was admitted at and whether it was a drop.
    let expected = [(1, false), (2, true), (4, false)]
        .map(|(n, dropped)| LimitSample::new(Duration::from_millis(50), n, dropped));
    assert_eq!(taught, expected);
    assert_eq!(limiter.in_flight(), 0);
}

#[test]
fn drops_through_the_balancer_shrink_the_limit_the_balancer_sees() {
    let aimd = Aimd::builder()
        .initial_limit(8)
        .min_limit(1)
        .build()
        .unwrap();
    let limiter = Limiter::builder(aimd).build().unwrap();
    let mut chooser = Chooser::builder().seed(2).build().unwrap();
    chooser.insert_with(0, 0, Health::new().gate(limiter.clone()).unwrap());
    for _ in 0..3 {
        chooser
            .pick()
            .unwrap()
            .record_sample(Sample::new(Outcome::Overload, Duration::from_millis(5)));
    }
    assert!(limiter.limit() < 8, "limit {}", limiter.limit());
    let held: Vec<_> = (0..limiter.limit())
        .map(|_| chooser.pick().unwrap())
        .collect();
    assert!(chooser.pick().is_err(), "full at the shrunk limit");
    drop(held);
}
