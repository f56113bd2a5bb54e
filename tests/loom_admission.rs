//! Loom models of the admission core under the bulkhead (and the adaptive
//! limit, which shares it): permits never exceed the limit and all come
//! back, also when the limit shrinks concurrently, when permits are dropped
//! on other threads and when waits are cancelled.
//!
//! Built only under `--cfg seawall_loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg seawall_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --features bulkhead,limit --test loom_admission
//! ```
//!
//! Under loom the core has two stripes and each model thread gets its own
//! (the main thread asks first, so it has stripe 0), so the models reach
//! refills, spills, steals from another stripe and reclaims. Each model is
//! run once per lead thread, as in `loom_breaker.rs` (loom's partial-order
//! reduction otherwise hides some load-then-CAS orders, tokio-rs/loom#392).
#![cfg(all(seawall_loom, feature = "bulkhead"))]

mod loom_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;
use loom_support::{check_with, Lead};
use seawall::bulkhead::{BulkheadLayer, BulkheadPermit, Mode};

fn check<F>(threads: usize, model: F)
where
    F: Fn(Lead) + Send + Sync + 'static,
{
    // The set-up of `cached_permits_are_part_of_the_budget` takes a few
    // dozen permits one by one before its threads start.
    check_with(threads, 20_000, model);
}

fn bulkhead(max: u32) -> BulkheadLayer {
    BulkheadLayer::builder()
        .max_concurrent_calls(max)
        .build()
        .unwrap()
}

fn waiting(max: u32) -> BulkheadLayer {
    BulkheadLayer::builder()
        .max_concurrent_calls(max)
        .mode(Mode::Wait {
            max_wait: Duration::from_secs(1),
            queue: 4,
        })
        .build()
        .unwrap()
}

/// Counts the permits the model's threads hold, and checks the bound every
/// time one is taken. It is raised after a permit is taken and lowered
/// before it is dropped, so it never counts more than are really held.
#[derive(Clone)]
struct Held(Arc<AtomicUsize>, usize);

impl Held {
    fn new(limit: usize) -> Self {
        Self(Arc::new(AtomicUsize::new(0)), limit)
    }

    fn take(&self, permit: BulkheadPermit) -> BulkheadPermit {
        let now = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            now <= self.1,
            "{now} permits held under a limit of {}",
            self.1
        );
        permit
    }

    fn give(&self, permit: BulkheadPermit) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
    }
}

/// Takes and gives back a permit `cycles` times, when one is free.
fn cycle(bulkhead: &BulkheadLayer, held: &Held, cycles: usize) {
    for _ in 0..cycles {
        if let Ok(permit) = bulkhead.try_acquire() {
            let permit = held.take(permit);
            held.give(permit);
        }
    }
}

#[test]
fn permits_never_exceed_the_limit_and_all_come_back() {
    check(3, |lead| {
        let limit = 2;
        let bulkhead = bulkhead(limit);
        let held = Held::new(limit as usize);
        // The main thread takes stripe 0 and holds one permit through the
        // race, so the others contend for the last one.
        let kept = held.take(bulkhead.try_acquire().unwrap());
        let threads: Vec<_> = (1..3)
            .map(|me| {
                let (bulkhead, held) = (bulkhead.clone(), held.clone());
                thread::spawn(move || {
                    lead.start(me);
                    cycle(&bulkhead, &held, 2);
                })
            })
            .collect();
        lead.start(0);
        held.give(kept);
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(bulkhead.available_permits(), limit);
        assert_eq!(bulkhead.in_flight(), 0);
    });
}

#[test]
fn cached_permits_are_part_of_the_budget() {
    // A limit large enough that a stripe takes permits from the pool in a
    // batch and caches the rest: the other thread must still find the last
    // free permits (by stealing) and never more.
    check(2, |lead| {
        let limit = 32;
        let bulkhead = bulkhead(limit);
        let held = Held::new(limit as usize);
        let mut kept: Vec<_> = (0..limit - 2)
            .map(|_| held.take(bulkhead.try_acquire().unwrap()))
            .collect();
        let other = {
            let (bulkhead, held) = (bulkhead.clone(), held.clone());
            thread::spawn(move || {
                lead.start(1);
                let got: Vec<_> = (0..3)
                    .filter_map(|_| bulkhead.try_acquire().ok().map(|p| held.take(p)))
                    .collect();
                assert!(!got.is_empty(), "two permits were free, none was found");
                got.into_iter().for_each(|p| held.give(p));
            })
        };
        lead.start(0);
        if let Ok(p) = bulkhead.try_acquire() {
            kept.push(held.take(p));
        }
        other.join().unwrap();
        kept.into_iter().for_each(|p| held.give(p));
        assert_eq!(bulkhead.available_permits(), limit);
    });
}

#[test]
fn a_shrink_holds_for_every_call_admitted_after_it() {
    // Two permits, one held by the main thread throughout; one thread
    // lowers the limit to 1 while another takes and gives back permits.
    // Once the lowering has returned, no call may be admitted: the held
    // permit alone fills the new limit.
    check(3, |lead| {
        let bulkhead = bulkhead(2);
        let shrunk = Arc::new(AtomicBool::new(false));
        // Cache a permit on the main thread's stripe first, so that the
        // shrink has something to reclaim.
        drop(bulkhead.try_acquire().unwrap());
        let kept = bulkhead.try_acquire().unwrap();
        let shrinker = {
            let (bulkhead, shrunk) = (bulkhead.clone(), shrunk.clone());
            thread::spawn(move || {
                lead.start(1);
                bulkhead.set_max_concurrent_calls(1).unwrap();
                shrunk.store(true, Ordering::SeqCst);
            })
        };
        let caller = {
            let (bulkhead, shrunk) = (bulkhead.clone(), shrunk.clone());
            thread::spawn(move || {
                lead.start(2);
                for _ in 0..2 {
                    let after = shrunk.load(Ordering::SeqCst);
                    let admitted = bulkhead.try_acquire();
                    assert!(
                        !(after && admitted.is_ok()),
                        "admitted above a limit lowered before the call"
                    );
                }
            })
        };
        lead.start(0);
        shrinker.join().unwrap();
        caller.join().unwrap();
        assert_eq!(bulkhead.available_permits(), 0);
        drop(kept);
        assert_eq!(bulkhead.available_permits(), 1);
        assert_eq!(bulkhead.max_concurrent_calls(), 1);
    });
}

#[test]
fn in_flight_above_a_shrunk_limit_drains_first() {
    // Two permits held; the limit drops to 1 while one of them comes back
    // on another thread. Whatever the order, exactly one permit is free at
    // the end: the returned one paid the debt or was reclaimed.
    check(2, |lead| {
        let bulkhead = bulkhead(2);
        let a = bulkhead.try_acquire().unwrap();
        let b = bulkhead.try_acquire().unwrap();
        let releaser = thread::spawn(move || {
            lead.start(1);
            drop(b);
        });
        lead.start(0);
        bulkhead.set_max_concurrent_calls(1).unwrap();
        releaser.join().unwrap();
        assert_eq!(
            bulkhead.available_permits(),
            0,
            "one held fills a limit of 1"
        );
        assert!(bulkhead.try_acquire().is_err());
        drop(a);
        assert_eq!(bulkhead.available_permits(), 1);
    });
}

struct Flag(std::sync::atomic::AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_waiter_is_never_left_waiting_beside_a_free_permit() {
    // One permit, held by the main thread; a waiter queues while the main
    // thread gives the permit back. After both, the waiter holds it, or
    // was woken and gets it when polled again: no lost wake-up.
    check(2, |lead| {
        let bulkhead = waiting(1);
        let held = bulkhead.try_acquire().unwrap();
        let waiter = {
            let bulkhead = bulkhead.clone();
            thread::spawn(move || {
                lead.start(1);
                let flag = Arc::new(Flag(Default::default()));
                let waker = Waker::from(flag.clone());
                let mut wait = bulkhead.acquire_untimed();
                match Pin::new(&mut wait).poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(permit) => (Some(permit.expect("granted")), None, flag),
                    Poll::Pending => (None, Some(wait), flag),
                }
            })
        };
        lead.start(0);
        drop(held);
        let (done, pending, flag) = waiter.join().unwrap();
        if let Some(mut wait) = pending {
            assert!(
                flag.0.load(std::sync::atomic::Ordering::SeqCst),
                "never woken"
            );
            let waker = Waker::from(flag.clone());
            let permit = match Pin::new(&mut wait).poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(permit) => permit.expect("granted"),
                Poll::Pending => panic!("woken but not granted while a permit is free"),
            };
            assert_eq!(bulkhead.available_permits(), 0);
            drop(permit);
        }
        drop(done);
        assert_eq!(bulkhead.available_permits(), 1);
        assert_eq!(bulkhead.waiting_callers(), 0);
    });
}

#[test]
fn a_cancelled_wait_never_keeps_a_permit() {
    // A waiter polls once and is dropped (cancelled) while the permit it
    // waits for is given back: the permit ends up free either way.
    check(2, |lead| {
        let bulkhead = waiting(1);
        let held = bulkhead.try_acquire().unwrap();
        let waiter = {
            let bulkhead = bulkhead.clone();
            thread::spawn(move || {
                lead.start(1);
                let waker = Waker::from(Arc::new(Flag(Default::default())));
                let mut wait = bulkhead.acquire_untimed();
                let polled = Pin::new(&mut wait).poll(&mut Context::from_waker(&waker));
                drop(polled);
                drop(wait);
            })
        };
        lead.start(0);
        drop(held);
        waiter.join().unwrap();
        assert_eq!(bulkhead.available_permits(), 1);
        assert_eq!(bulkhead.waiting_callers(), 0);
    });
}

/// Partition accounting: two partitions of one permit each. Each thread
/// takes permits for its own partition (borrowing the other's when idle),
/// and the total held never exceeds the limit; at the end every pool has
/// all its permits back.
#[cfg(feature = "limit")]
#[test]
fn partitions_never_exceed_the_limit_and_give_borrowed_permits_back() {
    use seawall::limit::algorithm::Fixed;
    use seawall::limit::Limiter;

    check(3, |lead| {
        let limiter = Limiter::builder(Fixed::new(2).unwrap())
            .partition("live", 0.5)
            .partition("batch", 0.5)
            .build()
            .unwrap();
        let held = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = [(1, "live"), (2, "batch")]
            .into_iter()
            .map(|(me, partition)| {
                let (limiter, held) = (limiter.clone(), held.clone());
                thread::spawn(move || {
                    lead.start(me);
                    let mut mine = Vec::new();
                    for _ in 0..2 {
                        if let Ok(permit) = limiter.try_acquire_for(partition) {
                            let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                            assert!(now <= 2, "{now} permits held under a limit of 2");
                            mine.push(permit);
                        }
                    }
                    held.fetch_sub(mine.len(), Ordering::SeqCst);
                })
            })
            .collect();
        lead.start(0);
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(limiter.in_flight(), 0);
        assert_eq!(limiter.available(), 2);
        // Each partition has its own permit back: both can be taken at
        // once, one per partition.
        let live = limiter.try_acquire_for("live").unwrap();
        let batch = limiter.try_acquire_for("batch").unwrap();
        assert!(limiter.try_acquire_for("live").is_err());
        drop((live, batch));
    });
}
