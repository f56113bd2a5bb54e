//! Loom models of the balancer's lock-free core.
//!
//! Built only under `--cfg seawall_loom`, as `.ci/run` does:
//!
//! ```text
//! RUSTFLAGS="--cfg seawall_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --features balance --test loom_balance
//! ```
//!
//! Every model builds its chooser and its `ManualClock` inside the model
//! (both hold loom atomics and locks of one execution), seeds the picks,
//! and keeps to at most three threads. Debug assertions are off in release,
//! so invariants are asserted here: a pending count that went below zero
//! would wrap into the removal bit and show as an absurd count.
#![cfg(all(seawall_loom, feature = "balance"))]

use std::sync::Arc;

use loom::sync::atomic::{AtomicU64, Ordering};
use loom::thread;
use seawall::balance::{Chooser, EndpointStatus, PendingRequests};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

fn chooser(n: usize) -> Chooser<usize, usize> {
    let chooser = Chooser::builder()
        .seed(1)
        .clock(ManualClock::new())
        .load(PendingRequests::default())
        .consecutive_failures(1)
        .no_success_rate()
        .max_ejection_percent(1.0) // one endpoint at most
        .build()
        .unwrap();
    for i in 0..n {
        chooser.insert(i, i);
    }
    chooser
}

fn in_flight(chooser: &Chooser<usize, usize>) -> u64 {
    chooser.endpoints().iter().map(|e| e.in_flight()).sum()
}

#[test]
fn pending_counts_are_never_negative_and_always_returned() {
    loom::model(|| {
        let main = chooser(1);
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let mut chooser = main.clone();
                thread::spawn(move || {
                    let pick = chooser.pick().expect("one endpoint, no gate");
                    let seen = in_flight(&chooser);
                    assert!((1..=2).contains(&seen), "in flight {seen}");
                    // One call completes, the other is cancelled.
                    if t == 0 {
                        pick.record(Outcome::Success);
                    } else {
                        drop(pick);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(in_flight(&main), 0);
    });
}

#[test]
fn a_removal_racing_a_pick_counts_it_or_refuses_it() {
    // Thread A picks from the view it had before the race; thread B removes
    // endpoint 0 and inserts endpoint 2 (two snapshot swaps). A pick that
    // lands on endpoint 0 must have been in flight when B removed it: then
    // it was sent before the removal, not after.
    loom::model(|| {
        let mut main = chooser(2);
        // A call held on endpoint 1 makes endpoint 0 the cheaper: A picks 0
        // whenever it still sees it.
        let held = std::iter::repeat_with(|| main.pick().unwrap())
            .find(|p| *p.get() == 1)
            .unwrap();
        std::mem::forget(held);
        let mut a = main.clone();
        let b = main.clone();
        let got = Arc::new(AtomicU64::new(u64::MAX));
        let got_a = got.clone();
        let ta = thread::spawn(move || {
            let pick = a.pick().expect("endpoint 1 or 2 is always there");
            got_a.store(*pick.get() as u64, Ordering::Release);
            std::mem::forget(pick); // still in flight at the end
        });
        let tb = thread::spawn(move || {
            let removed = b.remove(&0).expect("endpoint 0 was there");
            b.insert(2, 2);
            removed.in_flight()
        });
        ta.join().unwrap();
        let in_flight_at_removal = tb.join().unwrap();
        let picked = got.load(Ordering::Acquire);
        if picked == 0 {
            assert_eq!(in_flight_at_removal, 1, "a pick of 0 after its removal");
        } else {
            assert_eq!(in_flight_at_removal, 0);
        }
        let keys: Vec<_> = main.endpoints().iter().map(|e| *e.key()).collect();
        assert_eq!(keys, [1, 2]);
    });
}

#[test]
fn ejections_stay_within_the_share_and_are_counted_once() {
    // Two callers fail on whatever they pick (one failure ejects) while a
    // third removes endpoint 0: at most one endpoint is ejected at any
    // time, and the ejected count matches the set at the end whatever the
    // order (a removed ejected endpoint gives its place back).
    loom::model(|| {
        let mut main = chooser(3);
        // Calls held on endpoints 1 and 2 make 0 the cheapest: callers land
        // on it while it is there and usable.
        for key in [1, 2] {
            let held = std::iter::repeat_with(|| main.pick().unwrap())
                .find(|p| *p.get() == key)
                .unwrap();
            std::mem::forget(held);
        }
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let mut chooser = main.clone();
                thread::spawn(move || {
                    if let Ok(pick) = chooser.pick() {
                        pick.record(Outcome::Failure);
                    }
                    assert!(chooser.ejected() <= 1, "share passed");
                })
            })
            .collect();
        main.remove(&0);
        for c in callers {
            c.join().unwrap();
        }
        let listed = main
            .endpoints()
            .iter()
            .filter(|e| matches!(e.status(), EndpointStatus::Ejected { .. }))
            .count();
        assert_eq!(main.ejected(), listed);
        assert!(listed <= 1);
    });
}
