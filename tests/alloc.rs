//! The breaker allocates nothing per call, on any path a healthy or tripped
//! service takes (rejections box their error, as tower's own layers do, and
//! are counted separately).
//!
//! Allocations are counted by dhat's global allocator, so this file is its
//! own test binary with a single test: dhat's counters are process-wide.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use seawall::breaker::{Breaker, CircuitBreaker, State};
use seawall::clock::ManualClock;
use tower::{service_fn, Service};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A waker that does nothing: the futures here are always ready.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Calls the service once, driving its (always ready) future by hand.
fn call<S>(svc: &mut S, waker: &Waker, fail: bool) -> bool
where
    S: Service<bool, Response = u8>,
{
    let mut cx = Context::from_waker(waker);
    assert!(svc.poll_ready(&mut cx).is_ready());
    let fut = pin!(svc.call(fail));
    match fut.poll(&mut cx) {
        Poll::Ready(res) => res.is_ok(),
        Poll::Pending => unreachable!("the inner service is always ready"),
    }
}

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

#[test]
fn no_allocation_per_call() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // The counter sees allocations: this file would notice one per call.
    assert_eq!(
        allocations_during(|| drop(std::hint::black_box(Box::new(1u64)))),
        1
    );
    let clock = ManualClock::new();
    let waker = Waker::from(Arc::new(Noop));
    let backend = service_fn(|fail: bool| async move {
        if fail {
            Ok::<u8, Infallible>(0)
        } else {
            Ok(1)
        }
    });

    let configs = [
        ("count window", CircuitBreaker::builder().count_window(100)),
        ("time window", CircuitBreaker::builder().time_window(10)),
        (
            "slow calls",
            CircuitBreaker::builder().slow_call_duration_threshold(Duration::from_secs(1)),
        ),
        (
            "consecutive",
            CircuitBreaker::builder().consecutive_failures(5),
        ),
    ];
    for (name, builder) in configs {
        let breaker = builder
            .minimum_number_of_calls(10)
            .permitted_number_of_calls_in_half_open_state(3)
            .clock(clock.clone())
            .build()
            .expect("valid config");
        let mut svc = Breaker::new(backend, breaker.clone()).with_classifier(
            |r: Result<&u8, &Infallible>| match r {
                Ok(1) => seawall::classify::Outcome::Success,
                _ => seawall::classify::Outcome::Failure,
            },
        );
        // Warm up: fill the window, let lazy structures settle.
        for _ in 0..200 {
            call(&mut svc, &waker, false);
        }
        let healthy = allocations_during(|| {
            for _ in 0..1_000 {
                assert!(call(&mut svc, &waker, false));
            }
        });
        assert_eq!(healthy, 0, "{name}: allocations on the healthy path");

        let failing = allocations_during(|| {
            for _ in 0..5 {
                call(&mut svc, &waker, true);
            }
        });
        assert_eq!(failing, 0, "{name}: allocations while recording failures");

        // Trip it, wait, and probe: the half-open path allocates nothing
        // either.
        breaker.transition_to(State::Open).expect("closed may open");
        clock.advance(Duration::from_secs(61));
        let probing = allocations_during(|| {
            for _ in 0..3 {
                call(&mut svc, &waker, false);
            }
        });
        assert_eq!(probing, 0, "{name}: allocations in half-open");
        assert_eq!(breaker.state(), State::Closed, "{name}: probes closed it");
    }
    #[cfg(feature = "balance")]
    balance_rows(&waker);
}

/// The balancer allocates nothing per call once warmed up: over endpoints
/// with no gate and with breaker gates, with either load estimator.
#[cfg(feature = "balance")]
fn balance_rows(waker: &Waker) {
    use seawall::balance::{Balance, Chooser, Health, PeakEwma, PendingRequests};

    let endpoint = service_fn(|fail: bool| async move { Ok::<u8, Infallible>(u8::from(!fail)) });
    type MakeBuilder = fn() -> seawall::balance::Builder;
    let builders: [(&str, MakeBuilder); 2] = [
        ("peak ewma", || Chooser::builder().load(PeakEwma::default())),
        ("pending", || {
            Chooser::builder().load(PendingRequests::default())
        }),
    ];
    for (name, builder) in builders {
        for gated in [false, true] {
            let clock = ManualClock::new();
            let chooser = builder()
                .clock(clock.clone())
                .seed(3)
                .build()
                .expect("valid");
            for i in 0..10 {
                let health = if gated {
                    let breaker = CircuitBreaker::builder()
                        .clock(clock.clone())
                        .build()
                        .expect("valid");
                    Health::new().gate(breaker).expect("one gate")
                } else {
                    Health::new()
                };
                chooser.insert_with(i, endpoint, health);
            }
            let mut svc = Balance::new(chooser);
            for _ in 0..200 {
                call(&mut svc, waker, false);
            }
            let calls = allocations_during(|| {
                for _ in 0..1_000 {
                    assert!(call(&mut svc, waker, false));
                }
            });
            assert_eq!(
                calls, 0,
                "balance {name} (gated: {gated}): allocations per call"
            );
        }
    }
}
