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
use seawall::classify::{Outcome, Sample};
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

/// Allocations made while `f` runs once: for a step that changes state.
fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

/// The fewest allocations over three runs of `f`: dhat counts the whole
/// process, and now and then a block or four come from outside the test's
/// thread; an allocation per event would show in every run.
fn fewest_allocations(mut f: impl FnMut()) -> u64 {
    (0..3)
        .map(|_| allocations_during(&mut f))
        .min()
        .expect("three runs")
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
                Ok(1) => Outcome::Success,
                _ => Outcome::Failure,
            },
        );
        // Warm up: fill the window, let lazy structures settle.
        for _ in 0..200 {
            call(&mut svc, &waker, false);
        }
        let healthy = fewest_allocations(|| {
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

        // Outside the layer: owned permits, measured samples and `call`.
        let owned = fewest_allocations(|| {
            for i in 0..1_000u32 {
                let permit = breaker.try_acquire_owned().expect("closed");
                if i % 2 == 0 {
                    permit.record(Outcome::Success);
                } else {
                    permit.record_sample(Sample::new(Outcome::Success, Duration::from_millis(1)));
                }
            }
        });
        assert_eq!(owned, 0, "{name}: allocations with owned permits");
        let called = fewest_allocations(|| {
            for _ in 0..1_000 {
                let mut cx = Context::from_waker(&waker);
                let fut = pin!(breaker.call(async { Ok::<_, ()>(()) }));
                assert!(fut.poll(&mut cx).is_ready());
            }
        });
        assert_eq!(called, 0, "{name}: allocations in CircuitBreaker::call");

        // A refusal through the layer allocates exactly its `BoxError`; the
        // breaker's name is shared, not copied.
        breaker
            .transition_to(State::ForcedOpen)
            .expect("any state may force open");
        let refused = allocations_during(|| {
            for _ in 0..10 {
                assert!(!call(&mut svc, &waker, false));
            }
        });
        assert_eq!(refused, 10, "{name}: one box per refusal");
        let direct = allocations_during(|| {
            for _ in 0..10 {
                assert!(breaker.try_acquire_owned().is_err());
            }
        });
        assert_eq!(
            direct, 0,
            "{name}: a refusal outside the layer is not boxed"
        );
        breaker.reset();
    }
    #[cfg(feature = "metrics")]
    metrics_observer_allocates_once_per_handle();
    #[cfg(all(
        feature = "metrics",
        feature = "bulkhead",
        feature = "limit",
        feature = "balance"
    ))]
    metrics_observer_allocates_once_per_label_set();
    #[cfg(feature = "keyed")]
    keyed_breakers_allocate_only_for_new_keys(&waker);
    #[cfg(feature = "bulkhead")]
    bulkheads_allocate_nothing_per_admitted_call(&waker);
    #[cfg(feature = "limit")]
    limits_allocate_nothing_per_admitted_call(&waker);
    #[cfg(feature = "balance")]
    balance_rows(&waker);
}

/// An admitted call through a bulkhead allocates nothing, in either mode
/// (a wait that finds a free permit does not queue).
#[cfg(feature = "bulkhead")]
fn bulkheads_allocate_nothing_per_admitted_call(waker: &Waker) {
    use seawall::bulkhead::{Bulkhead, BulkheadLayer, Mode};

    let modes = [
        Mode::FailFast,
        Mode::Wait {
            max_wait: Duration::from_secs(1),
            queue: 8,
        },
    ];
    for mode in modes {
        let bulkhead = BulkheadLayer::builder()
            .max_concurrent_calls(10)
            .mode(mode)
            .build()
            .expect("valid config");
        let backend = service_fn(|fail: bool| async move { Ok::<u8, Infallible>(u8::from(!fail)) });
        let forever: &'static BulkheadLayer = Box::leak(Box::new(bulkhead.clone()));
        let services = [
            ("counted", Bulkhead::new(backend, bulkhead)),
            ("static", Bulkhead::from_static(backend, forever)),
        ];
        for (kind, mut svc) in services {
            for _ in 0..100 {
                call(&mut svc, waker, false);
            }
            let admitted = allocations_during(|| {
                for _ in 0..1_000 {
                    assert!(call(&mut svc, waker, false));
                }
            });
            assert_eq!(
                admitted, 0,
                "bulkhead {mode:?} {kind}: allocations per admitted call"
            );
        }
    }
    #[cfg(feature = "balance")]
    balance_rows(waker);
}

/// The balancer allocates nothing per call once warmed up: over endpoints
/// with no gate, with breaker gates and with breaker and adaptive-limit
/// gates, with either load estimator.
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
        for gated in ["none", "breaker", "breaker and limit"] {
            let clock = ManualClock::new();
            let chooser = builder()
                .clock(clock.clone())
                .seed(3)
                .build()
                .expect("valid");
            for i in 0..10 {
                let mut health = Health::new();
                if gated != "none" {
                    let breaker = CircuitBreaker::builder()
                        .clock(clock.clone())
                        .build()
                        .expect("valid");
                    health = health.gate(breaker).expect("one gate");
                }
                #[cfg(feature = "limit")]
                if gated == "breaker and limit" {
                    use seawall::limit::{algorithm::Hybrid, Limiter};
                    let limiter = Limiter::builder(Hybrid::recommended())
                        .build()
                        .expect("valid");
                    health = health.gate(limiter).expect("two gates");
                }
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

/// An admitted call through an adaptive limit allocates nothing, whatever
/// the algorithm, also when its outcome is a drop that moves the limit.
#[cfg(feature = "limit")]
fn limits_allocate_nothing_per_admitted_call(waker: &Waker) {
    use seawall::limit::algorithm::{Aimd, Fixed, Gradient2, Hybrid, Vegas};
    use seawall::limit::{Algorithm, Limit, Limiter};

    let algorithms = [
        ("fixed", limiter(Fixed::new(100).expect("valid"))),
        ("aimd", limiter(Aimd::default())),
        ("vegas", limiter(Vegas::default())),
        ("gradient2", limiter(Gradient2::default())),
        ("hybrid", limiter(Hybrid::recommended())),
    ];
    fn limiter(algorithm: impl Algorithm) -> Limiter {
        Limiter::builder(algorithm).build().expect("valid config")
    }
    let classify = |r: Result<&u8, &Infallible>| match r {
        Ok(0) => Outcome::Overload,
        _ => Outcome::Success,
    };
    for (name, limiter) in algorithms {
        let backend = service_fn(|fail: bool| async move { Ok::<u8, Infallible>(u8::from(!fail)) });
        let forever: &'static Limiter = Box::leak(Box::new(limiter.clone()));
        let services = [
            ("counted", Limit::new(backend, limiter)),
            ("static", Limit::from_static(backend, forever)),
        ];
        for (kind, svc) in services {
            let mut svc = svc.with_classifier(classify);
            for i in 0..2_000 {
                call(&mut svc, waker, i % 64 == 0);
            }
            let admitted = allocations_during(|| {
                for i in 0..1_000 {
                    call(&mut svc, waker, i % 64 == 0);
                }
            });
            assert_eq!(
                admitted, 0,
                "limit {name} {kind}: allocations per admitted call"
            );
        }
    }
}

/// A call for a key that has its breaker allocates nothing (with a key
/// that is itself free to extract, as here).
#[cfg(feature = "keyed")]
fn keyed_breakers_allocate_only_for_new_keys(waker: &Waker) {
    use seawall::breaker::KeyedBreakerLayer;
    use tower::Layer;

    let breakers = CircuitBreaker::builder()
        .clock(ManualClock::new())
        .build_keyed::<u8>(seawall::keyed::KeyedMap::builder())
        .expect("valid config");
    let backend = service_fn(|fail: bool| async move { Ok::<u8, Infallible>(u8::from(!fail)) });
    let mut svc = KeyedBreakerLayer::new(breakers, |fail: &bool| u8::from(*fail)).layer(backend);
    call(&mut svc, waker, false); // makes key 0's breaker
    let keyed = allocations_during(|| {
        for _ in 0..1_000 {
            assert!(call(&mut svc, waker, false));
        }
    });
    assert_eq!(keyed, 0, "allocations per call for a known key");
}

/// During an outage every refused call is an event: after a breaker's
/// handles are registered, reporting allocates nothing.
#[cfg(feature = "metrics")]
fn metrics_observer_allocates_once_per_handle() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let breaker = CircuitBreaker::builder()
            .name("outage")
            .observer(seawall::observe::MetricsObserver::new())
            .build()
            .expect("valid config");
        // Registers the handles of every event below once.
        breaker.transition_to(State::ForcedOpen).expect("allowed");
        assert!(breaker.try_acquire().is_err());
        breaker.transition_to(State::Closed).expect("allowed");
        breaker.reset();

        let reporting = allocations_during(|| {
            breaker.transition_to(State::ForcedOpen).expect("allowed");
            for _ in 0..1_000 {
                assert!(breaker.try_acquire().is_err());
            }
            breaker.transition_to(State::Closed).expect("allowed");
            breaker.reset();
        });
        assert_eq!(reporting, 0, "allocations reporting through metrics");
    });
}

/// Every event of every layer, for a first and a second instance (the
/// second's handles come from the observer's map): the first report of
/// each registers its handles, repeating it allocates nothing. Refusals
/// through a bulkhead and a limiter reporting to the observer allocate
/// nothing either.
#[cfg(all(
    feature = "metrics",
    feature = "bulkhead",
    feature = "limit",
    feature = "balance"
))]
fn metrics_observer_allocates_once_per_label_set() {
    use seawall::balance::EjectionReason;
    use seawall::bulkhead::{BulkheadLayer, Rejection};
    use seawall::limit::{algorithm::Fixed, Limiter};
    use seawall::observe::{Event, MetricsObserver, Observer};

    fn events(name: &str) -> Vec<Event<'_>> {
        let secs = Duration::from_secs;
        vec![
            Event::BreakerTransition {
                name,
                from: State::Closed,
                to: State::Open,
                generation: 1,
            },
            Event::BreakerRejected {
                name,
                state: State::Open,
                retry_after: Some(secs(1)),
            },
            Event::BreakerReset { name },
            Event::BulkheadRejected {
                name,
                max_concurrent_calls: 1,
                reason: Rejection::Full,
            },
            Event::BulkheadRejected {
                name,
                max_concurrent_calls: 1,
                reason: Rejection::WaitTimedOut,
            },
            Event::BulkheadLimitChanged {
                name,
                from: 1,
                to: 2,
            },
            Event::LimitRejected {
                name,
                limit: 1,
                partition: None,
                waited: None,
            },
            Event::LimitRejected {
                name,
                limit: 1,
                partition: Some("batch"),
                waited: Some(secs(1)),
            },
            Event::LimitRejected {
                name,
                limit: 1,
                partition: Some("live"),
                waited: None,
            },
            Event::LimitChanged {
                name,
                from: 1,
                to: 2,
            },
            Event::BalanceEjected {
                name,
                endpoint: "a",
                reason: EjectionReason::SuccessRate,
                duration: secs(1),
                ejections: 1,
            },
            Event::BalanceEjected {
                name,
                endpoint: "b",
                reason: EjectionReason::ConsecutiveFailures,
                duration: secs(1),
                ejections: 1,
            },
            Event::BalanceReturned {
                name,
                endpoint: "b",
            },
            Event::BalanceRemoved {
                name,
                endpoint: "a",
                ejected: true,
            },
        ]
    }

    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let observer = MetricsObserver::new();
        for name in ["first", "second"] {
            for event in events(name) {
                observer.on_event(&event);
                let again = fewest_allocations(|| {
                    for _ in 0..100 {
                        observer.on_event(&event);
                    }
                });
                assert_eq!(again, 0, "allocations repeating {event:?}");
            }
        }

        let bulkhead = BulkheadLayer::builder()
            .name("refusing")
            .max_concurrent_calls(1)
            .observer(observer.clone())
            .build()
            .expect("valid config");
        let limiter = Limiter::builder(Fixed::new(1).expect("valid"))
            .name("refusing")
            .observer(observer.clone())
            .build()
            .expect("valid config");
        let _held = (bulkhead.try_acquire(), limiter.try_acquire());
        assert!(bulkhead.try_acquire().is_err() && limiter.try_acquire().is_err());
        let refusing = fewest_allocations(|| {
            for _ in 0..1_000 {
                assert!(bulkhead.try_acquire().is_err());
                assert!(limiter.try_acquire().is_err());
            }
        });
        assert_eq!(refusing, 0, "allocations per reported refusal");
    });
}
