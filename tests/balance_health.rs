//! Health: outlier ejection and return, the ejected share, panic mode, slow
//! start, success-rate outliers, and gates (breaker, limit).
#![cfg(all(feature = "balance", feature = "breaker"))]

mod balance_sim;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use balance_sim::{Backend, Route, Sim};
use seawall::balance::{
    Chooser, EjectionReason, EndpointStatus, Gate, Health, PendingRequests, SlowStart, SuccessRate,
    Ticket,
};
use seawall::breaker::{CircuitBreaker, State};
use seawall::classify::{Outcome, Sample};
use seawall::clock::ManualClock;
use seawall::observe::Event;

const BASE: Duration = Duration::from_secs(30);

/// A chooser over `n` endpoints keyed 0..n on a manual clock, recording
/// its ejection and return events.
struct Scene {
    clock: ManualClock,
    chooser: Chooser<usize, usize>,
    events: Arc<Mutex<Vec<String>>>,
}

impl Scene {
    fn new(
        n: usize,
        configure: impl FnOnce(seawall::balance::Builder) -> seawall::balance::Builder,
    ) -> Self {
        let clock = ManualClock::new();
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = events.clone();
        let builder = Chooser::builder()
            .seed(11)
            .clock(clock.clone())
            .base_ejection_time(BASE)
            .no_success_rate()
            // No failure penalty: the failing endpoints keep getting calls,
            // so outlier detection is what these tests see.
            .load(PendingRequests::default().failure_penalty(0.0))
            .observer(move |e: &Event<'_>| match e {
                Event::BalanceEjected {
                    endpoint,
                    reason,
                    duration,
                    ..
                } => log.lock().unwrap().push(format!(
                    "ejected {endpoint} {reason:?} {}s",
                    duration.as_secs()
                )),
                Event::BalanceReturned { endpoint, .. } => {
                    log.lock().unwrap().push(format!("returned {endpoint}"))
                }
                Event::BalanceRemoved {
                    endpoint, ejected, ..
                } => log
                    .lock()
                    .unwrap()
                    .push(format!("removed {endpoint} (ejected: {ejected})")),
                _ => {}
            });
        let chooser = configure(builder).build().unwrap();
        for i in 0..n {
            chooser.insert(i, i);
        }
        Self {
            clock,
            chooser,
            events,
        }
    }

    /// Sends `calls` calls, each failing if its endpoint is in `failing`;
    /// returns how many each endpoint got.
    fn send(&mut self, calls: usize, failing: &[usize]) -> Vec<u64> {
        let mut got = vec![0; self.chooser.len()];
        for _ in 0..calls {
            let pick = self.chooser.pick().expect("an endpoint");
            let i = *pick.get();
            got[i] += 1;
            let outcome = if failing.contains(&i) {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            pick.record(outcome);
        }
        got
    }

    fn ejected(&self) -> Vec<usize> {
        self.chooser
            .endpoints()
            .iter()
            .filter(|e| matches!(e.status(), EndpointStatus::Ejected { .. }))
            .map(|e| *e.key())
            .collect()
    }

    fn events(&self) -> Vec<String> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

#[test]
fn consecutive_failures_eject_and_the_time_grows_with_each_ejection() {
    let mut s = Scene::new(4, |b| b.consecutive_failures(3).max_ejection_percent(50.0));
    s.send(400, &[2]);
    assert_eq!(s.ejected(), [2]);
    assert_eq!(s.events(), ["ejected 2 ConsecutiveFailures 30s"]);
    // Ejected: no call reaches it.
    assert_eq!(s.send(1_000, &[2])[2], 0);

    s.clock.advance(BASE);
    assert!(s.send(400, &[2])[2] > 0, "returned after its time");
    // Still failing: ejected again, for twice as long.
    assert_eq!(
        s.events(),
        ["returned 2", "ejected 2 ConsecutiveFailures 60s"]
    );
    s.clock.advance(BASE);
    assert_eq!(s.send(400, &[])[2], 0, "the second ejection lasts 60 s");
    s.clock.advance(BASE);
    assert!(s.send(400, &[])[2] > 0);
    assert_eq!(s.events(), ["returned 2"]);
}

#[test]
fn an_endpoint_that_leaves_while_ejected_is_reported_removed_not_returned() {
    let mut s = Scene::new(4, |b| b.consecutive_failures(3).max_ejection_percent(50.0));
    s.send(400, &[2]);
    assert_eq!(s.events(), ["ejected 2 ConsecutiveFailures 30s"]);
    s.chooser.remove(&2).expect("in the set");
    s.chooser.insert(1, 1); // replaces endpoint 1, which was healthy
                            // Its ejection ends without a return.
    s.clock.advance(BASE);
    assert!(s.chooser.pick().is_ok());
    assert_eq!(
        s.events(),
        ["removed 2 (ejected: true)", "removed 1 (ejected: false)"]
    );
}

#[test]
fn the_ejected_share_is_bounded() {
    // 10 endpoints, at most 20 % ejected: of five failing, two go.
    let mut s = Scene::new(10, |b| b.consecutive_failures(2).max_ejection_percent(20.0));
    s.send(2_000, &[0, 1, 2, 3, 4]);
    assert_eq!(s.ejected().len(), 2);
    // One endpoint may always be ejected, whatever the share.
    let mut s = Scene::new(3, |b| b.consecutive_failures(2).max_ejection_percent(1.0));
    s.send(500, &[0, 1]);
    assert_eq!(s.ejected().len(), 1);
}

#[test]
fn below_the_panic_threshold_every_endpoint_is_used() {
    // Four endpoints, three may be ejected; with two ejected half are
    // healthy (not below 50 %), with three the chooser panics.
    let mut s = Scene::new(4, |b| b.consecutive_failures(1).max_ejection_percent(100.0));
    s.send(200, &[0, 1]);
    assert_eq!(s.ejected(), [0, 1]);
    assert!(!s.chooser.is_panicking());
    let got = s.send(400, &[]);
    assert_eq!((got[0], got[1]), (0, 0));

    s.send(200, &[2]);
    assert_eq!(s.ejected(), [0, 1, 2]);
    assert!(s.chooser.is_panicking());
    let got = s.send(4_000, &[]);
    for (i, n) in got.iter().enumerate() {
        assert!(
            *n > 600,
            "endpoint {i} got {n} of 4000 in panic mode: {got:?}"
        );
    }
}

#[test]
fn success_rate_far_below_the_others_ejects() {
    // Six endpoints over one interval; endpoint 5 fails every other call.
    let mut s = Scene::new(6, |b| {
        b.no_consecutive_failures()
            .success_rate(SuccessRate {
                minimum_hosts: 5,
                request_volume: 50,
                stdev_factor: 1.9,
            })
            .interval(Duration::from_secs(10))
    });
    let mut flip = false;
    for _ in 0..1_200 {
        let pick = s.chooser.pick().unwrap();
        let failed = *pick.get() == 5 && {
            flip = !flip;
            flip
        };
        pick.record(if failed {
            Outcome::Failure
        } else {
            Outcome::Success
        });
    }
    s.clock.advance(Duration::from_secs(10));
    s.send(1, &[]); // the first pick of the new interval judges the last
    assert_eq!(s.ejected(), [5]);
    assert_eq!(s.events(), ["ejected 5 SuccessRate 30s"]);
}

#[test]
fn slow_start_ramps_a_new_endpoint_up() {
    // Four busy endpoints, then a fifth arrives with a 10 s slow start; its
    // share grows from the ramp's floor toward a fair fifth.
    let builder = Chooser::builder()
        .seed(3)
        .load(PendingRequests::default())
        .slow_start(SlowStart::new(Duration::from_secs(10)));
    let mut sim = Sim::new(builder, &[Backend::new(64, 20); 4]);
    // The first four have ramped by the time the fifth arrives.
    sim.run(11_000, 2, Route::P2c);
    let new = sim.add(Backend::new(64, 20));
    sim.take_shares();
    let mut shares = Vec::new();
    for _ in 0..6 {
        sim.run(2_000, 2, Route::P2c);
        shares.push(sim.take_shares()[new]);
    }
    assert!(shares[0] < 0.12, "{shares:?}");
    assert!(
        shares.windows(2).take(4).all(|w| w[1] > w[0]),
        "ramps up: {shares:?}"
    );
    assert!(
        (shares[5] - 0.2).abs() < 0.02,
        "a fair share once ramped: {shares:?}"
    );
    assert!(matches!(
        sim.chooser.endpoints()[new].status(),
        EndpointStatus::Healthy
    ));
}

#[test]
fn an_endpoint_whose_breaker_refuses_gets_only_its_probes() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder()
        .clock(clock.clone())
        .count_window(2)
        .minimum_number_of_calls(2)
        .wait_duration_in_open_state(Duration::from_secs(5))
        .permitted_number_of_calls_in_half_open_state(2)
        .build()
        .unwrap();
    let mut chooser = Chooser::builder()
        .seed(5)
        .clock(clock.clone())
        .build()
        .unwrap();
    chooser.insert(0, 0);
    chooser.insert_with(1, 1, Health::new().gate(breaker.clone()).unwrap());
    for _ in 0..2 {
        breaker.try_acquire().unwrap().record(Outcome::Failure);
    }
    assert_eq!(breaker.state(), State::Open);

    let mut to_one = 0;
    for _ in 0..500 {
        let pick = chooser.pick().unwrap();
        to_one += usize::from(*pick.get() == 1);
        pick.record(Outcome::Success);
    }
    assert_eq!(to_one, 0, "open breaker: skipped");

    clock.advance(Duration::from_millis(5_001));
    assert!(breaker.is_call_permitted());
    // Its wait is over: exactly its two probes reach it while they are out.
    let picks: Vec<_> = (0..500).map(|_| chooser.pick().unwrap()).collect();
    assert_eq!(picks.iter().filter(|p| *p.get() == 1).count(), 2);
    assert_eq!(breaker.state(), State::HalfOpen);
    for pick in picks {
        pick.record(Outcome::Success);
    }
    assert_eq!(breaker.state(), State::Closed);
}

/// A gate admitting at most `max` calls at once, as a concurrency limit.
#[derive(Debug)]
struct Limit {
    max: u64,
    now: AtomicU64,
}

impl Gate for Limit {
    fn has_room(&self) -> bool {
        self.now.load(Ordering::Acquire) < self.max
    }
    fn try_acquire(&self) -> Option<Ticket> {
        self.now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Ticket::new([0, 0]))
    }
    fn complete(&self, _: Ticket, _: Sample) {
        self.now.fetch_sub(1, Ordering::AcqRel);
    }
    fn cancel(&self, _: Ticket) {
        self.now.fetch_sub(1, Ordering::AcqRel);
    }
}

#[test]
fn a_full_endpoint_is_passed_over_while_another_has_room_and_none_means_unavailable() {
    let limits: Vec<_> = (0..3)
        .map(|_| {
            Arc::new(Limit {
                max: 2,
                now: AtomicU64::new(0),
            })
        })
        .collect();
    let mut chooser = Chooser::builder().seed(9).build().unwrap();
    for (i, limit) in limits.iter().enumerate() {
        chooser.insert_with(i, i, Health::new().gate(limit.clone()).unwrap());
    }
    // Six calls fill every limit exactly; a seventh finds no room.
    let picks: Vec<_> = (0..6).map(|_| chooser.pick().expect("room left")).collect();
    assert!(limits.iter().all(|l| l.now.load(Ordering::Acquire) == 2));
    let err = chooser.pick().unwrap_err();
    assert!(!err.is_empty_set());
    assert_eq!(err.to_string(), "no endpoint available");
    // Dropping the picks gives every ticket back.
    drop(picks);
    assert!(limits.iter().all(|l| l.now.load(Ordering::Acquire) == 0));
    assert!(chooser.pick().is_ok());
}

#[test]
fn ejection_reasons_have_labels() {
    assert_eq!(EjectionReason::SuccessRate.as_str(), "success_rate");
    assert_eq!(
        EjectionReason::ConsecutiveFailures.as_str(),
        "consecutive_failures"
    );
}
