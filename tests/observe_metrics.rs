//! `MetricsObserver` against a local recorder: every layer's events leave
//! the documented series (names, labels, values) and no other.

/// Every event of every layer, as `MetricsObserver` reports it: each row
/// feeds events to a fresh observer under a local recorder and lists every
/// series it must leave (name, labels in order, value) and no other.
#[cfg(all(
    feature = "metrics",
    feature = "breaker",
    feature = "bulkhead",
    feature = "limit",
    feature = "balance"
))]
#[test]
fn metrics_observer_reports_every_layer() {
    use std::time::Duration;

    use seawall::balance::EjectionReason;
    use seawall::breaker::State;
    use seawall::bulkhead::Rejection;
    use seawall::observe::{Event, MetricsObserver, Observer};

    let secs = Duration::from_secs;
    let ejected = |endpoint| Event::BalanceEjected {
        name: "web",
        endpoint,
        reason: EjectionReason::ConsecutiveFailures,
        duration: secs(1),
        ejections: 1,
    };
    let removed = |endpoint, ejected| Event::BalanceRemoved {
        name: "web",
        endpoint,
        ejected,
    };
    #[rustfmt::skip]
    let rows: [(&str, &[Event<'_>], &[Series]); 5] = [
        (
            "breaker",
            &[
                Event::BreakerTransition { name: "db", from: State::Closed, to: State::Open, generation: 1 },
                Event::BreakerRejected { name: "db", state: State::Open, retry_after: Some(secs(3)) },
                Event::BreakerRejected { name: "db", state: State::Open, retry_after: None },
                Event::BreakerTransition { name: "db", from: State::Open, to: State::HalfOpen, generation: 2 },
                Event::BreakerRejected { name: "db", state: State::HalfOpen, retry_after: None },
                Event::BreakerReset { name: "db" },
            ],
            &[
                ("seawall_breaker_state", &[("breaker", "db")], 0.0),
                ("seawall_breaker_resets_total", &[("breaker", "db")], 1.0),
                ("seawall_breaker_transitions_total", &[("breaker", "db"), ("from", "closed"), ("to", "open")], 1.0),
                ("seawall_breaker_transitions_total", &[("breaker", "db"), ("from", "open"), ("to", "half_open")], 1.0),
                ("seawall_breaker_rejections_total", &[("breaker", "db"), ("state", "open")], 2.0),
                ("seawall_breaker_rejections_total", &[("breaker", "db"), ("state", "half_open")], 1.0),
            ],
        ),
        (
            "bulkhead",
            &[
                Event::BulkheadLimitChanged { name: "pool", from: 10, to: 4 },
                Event::BulkheadRejected { name: "pool", max_concurrent_calls: 4, reason: Rejection::Full },
                Event::BulkheadRejected { name: "pool", max_concurrent_calls: 4, reason: Rejection::Full },
                Event::BulkheadRejected { name: "pool", max_concurrent_calls: 4, reason: Rejection::WaitTimedOut },
            ],
            &[
                ("seawall_bulkhead_max_concurrent_calls", &[("bulkhead", "pool")], 4.0),
                ("seawall_bulkhead_rejections_total", &[("bulkhead", "pool"), ("reason", "full")], 2.0),
                ("seawall_bulkhead_rejections_total", &[("bulkhead", "pool"), ("reason", "wait_timed_out")], 1.0),
            ],
        ),
        (
            // A rejection also tells the limit (here one the gauge had
            // not seen move).
            "limit",
            &[
                Event::LimitChanged { name: "api", from: 20, to: 21 },
                Event::LimitRejected { name: "api", limit: 18, partition: None, waited: None },
                Event::LimitRejected { name: "api", limit: 18, partition: Some("batch"), waited: None },
                Event::LimitRejected { name: "api", limit: 18, partition: Some("batch"), waited: Some(secs(1)) },
                Event::LimitRejected { name: "api", limit: 18, partition: Some("live"), waited: Some(secs(1)) },
                Event::LimitRejected { name: "api", limit: 18, partition: Some("live"), waited: Some(secs(2)) },
            ],
            &[
                ("seawall_limiter_limit", &[("limiter", "api")], 18.0),
                ("seawall_limiter_rejections_total", &[("limiter", "api"), ("reason", "full")], 1.0),
                ("seawall_limiter_rejections_total", &[("limiter", "api"), ("reason", "full"), ("partition", "batch")], 1.0),
                ("seawall_limiter_rejections_total", &[("limiter", "api"), ("reason", "wait_timed_out"), ("partition", "batch")], 1.0),
                ("seawall_limiter_rejections_total", &[("limiter", "api"), ("reason", "wait_timed_out"), ("partition", "live")], 2.0),
            ],
        ),
        (
            "balance",
            &[
                Event::BalanceEjected { name: "web", endpoint: "\"a\"", reason: EjectionReason::ConsecutiveFailures, duration: secs(30), ejections: 1 },
                Event::BalanceEjected { name: "web", endpoint: "\"b\"", reason: EjectionReason::SuccessRate, duration: secs(30), ejections: 1 },
                Event::BalanceReturned { name: "web", endpoint: "\"a\"" },
                Event::BalanceEjected { name: "web", endpoint: "\"a\"", reason: EjectionReason::ConsecutiveFailures, duration: secs(60), ejections: 2 },
                Event::BalanceReturned { name: "web", endpoint: "\"a\"" },
                // An ejected endpoint leaves, comes back, is ejected and
                // leaves again; one that was never ejected leaves no series.
                ejected("\"c\""),
                removed("\"c\"", true),
                removed("\"d\"", false),
                ejected("\"c\""),
                removed("\"c\"", true),
            ],
            &[
                ("seawall_balancer_endpoint_ejected", &[("balancer", "web"), ("endpoint", "\"a\"")], 0.0),
                ("seawall_balancer_endpoint_ejected", &[("balancer", "web"), ("endpoint", "\"b\"")], 1.0),
                ("seawall_balancer_endpoint_ejected", &[("balancer", "web"), ("endpoint", "\"c\"")], 0.0),
                ("seawall_balancer_ejections_total", &[("balancer", "web"), ("endpoint", "\"a\""), ("reason", "consecutive_failures")], 2.0),
                ("seawall_balancer_ejections_total", &[("balancer", "web"), ("endpoint", "\"b\""), ("reason", "success_rate")], 1.0),
                ("seawall_balancer_ejections_total", &[("balancer", "web"), ("endpoint", "\"c\""), ("reason", "consecutive_failures")], 2.0),
            ],
        ),
        (
            // Two instances of each layer through one observer: the second
            // name's handles come from the map, apart from the first's.
            "two instances",
            &[
                Event::BreakerRejected { name: "a", state: State::Open, retry_after: None },
                Event::BreakerRejected { name: "b", state: State::Open, retry_after: None },
                Event::BreakerRejected { name: "b", state: State::Open, retry_after: None },
                Event::BulkheadLimitChanged { name: "a", from: 1, to: 2 },
                Event::BulkheadLimitChanged { name: "b", from: 1, to: 3 },
                Event::LimitChanged { name: "a", from: 1, to: 4 },
                Event::LimitChanged { name: "b", from: 1, to: 5 },
                Event::BalanceReturned { name: "a", endpoint: "1" },
                Event::BalanceEjected { name: "b", endpoint: "1", reason: EjectionReason::SuccessRate, duration: secs(1), ejections: 1 },
            ],
            &[
                ("seawall_breaker_state", &[("breaker", "a")], 0.0),
                ("seawall_breaker_resets_total", &[("breaker", "a")], 0.0),
                ("seawall_breaker_rejections_total", &[("breaker", "a"), ("state", "open")], 1.0),
                ("seawall_breaker_state", &[("breaker", "b")], 0.0),
                ("seawall_breaker_resets_total", &[("breaker", "b")], 0.0),
                ("seawall_breaker_rejections_total", &[("breaker", "b"), ("state", "open")], 2.0),
                ("seawall_bulkhead_max_concurrent_calls", &[("bulkhead", "a")], 2.0),
                ("seawall_bulkhead_max_concurrent_calls", &[("bulkhead", "b")], 3.0),
                ("seawall_limiter_limit", &[("limiter", "a")], 4.0),
                ("seawall_limiter_limit", &[("limiter", "b")], 5.0),
                ("seawall_balancer_endpoint_ejected", &[("balancer", "a"), ("endpoint", "1")], 0.0),
                ("seawall_balancer_endpoint_ejected", &[("balancer", "b"), ("endpoint", "1")], 1.0),
                ("seawall_balancer_ejections_total", &[("balancer", "b"), ("endpoint", "1"), ("reason", "success_rate")], 1.0),
            ],
        ),
    ];
    for (row, events, expected) in rows {
        let observer = MetricsObserver::new();
        let recorded = recording(|| {
            for event in events {
                observer.on_event(event);
            }
        });
        assert_eq!(recorded, series(expected), "{row}");
    }
}

/// Refusals and limit changes through the real layers reach the recorder
/// under the layers' names.
#[cfg(all(feature = "metrics", feature = "bulkhead", feature = "limit"))]
#[test]
fn layers_report_through_the_metrics_observer() {
    use seawall::bulkhead::BulkheadLayer;
    use seawall::limit::{algorithm::Fixed, Limiter};
    use seawall::observe::MetricsObserver;

    let observer = MetricsObserver::new();
    let recorded = recording(|| {
        let bulkhead = BulkheadLayer::builder()
            .name("pool")
            .max_concurrent_calls(1)
            .observer(observer.clone())
            .build()
            .expect("valid config");
        let limiter = Limiter::builder(Fixed::new(1).expect("valid"))
            .name("api")
            .observer(observer.clone())
            .build()
            .expect("valid config");
        let _held = (bulkhead.try_acquire(), limiter.try_acquire());
        for _ in 0..2 {
            assert!(bulkhead.try_acquire().is_err());
        }
        assert!(limiter.try_acquire().is_err());
        bulkhead.set_max_concurrent_calls(3).expect("valid");
    });
    let expected: &[Series] = &[
        (
            "seawall_bulkhead_max_concurrent_calls",
            &[("bulkhead", "pool")],
            3.0,
        ),
        (
            "seawall_bulkhead_rejections_total",
            &[("bulkhead", "pool"), ("reason", "full")],
            2.0,
        ),
        ("seawall_limiter_limit", &[("limiter", "api")], 1.0),
        (
            "seawall_limiter_rejections_total",
            &[("limiter", "api"), ("reason", "full")],
            1.0,
        ),
    ];
    assert_eq!(recorded, series(expected));
}

#[cfg(feature = "metrics")]
#[test]
fn metrics_observer_counts_transitions_and_rejections() {
    use seawall::breaker::{CircuitBreaker, State};
    use seawall::observe::MetricsObserver;

    let values = recording(|| {
        let breaker = CircuitBreaker::builder()
            .name("users")
            .observer(MetricsObserver::new())
            .build()
            .expect("valid config");
        breaker.transition_to(State::ForcedOpen).expect("allowed");
        assert!(breaker.try_acquire().is_err());
        assert!(breaker.try_acquire().is_err());
        breaker.reset();
    });
    let find = |name: &str, label: (&str, &str)| {
        values
            .iter()
            .find(|(n, labels, _)| {
                n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1)
            })
            .map(|(_, _, v)| *v)
    };
    let expected = [
        (
            "seawall_breaker_rejections_total",
            ("state", "forced_open"),
            2.0,
        ),
        (
            "seawall_breaker_transitions_total",
            ("to", "forced_open"),
            1.0,
        ),
        ("seawall_breaker_resets_total", ("breaker", "users"), 1.0),
        ("seawall_breaker_state", ("breaker", "users"), 0.0),
    ];
    for (name, label, value) in expected {
        assert_eq!(find(name, label), Some(value), "{name} {label:?}");
    }
    assert!(values
        .iter()
        .all(|(name, _, _)| name.starts_with("seawall_")));
}

#[cfg(feature = "metrics")]
#[test]
fn one_metrics_observer_keeps_breakers_apart() {
    use seawall::breaker::{CircuitBreaker, State};
    use seawall::observe::MetricsObserver;

    let observer = MetricsObserver::new();
    let recorded = recording(|| {
        // (name, refusals): the second and third breakers share the first's
        // observer through clones.
        for (name, refusals) in [("a", 1), ("b", 2), ("c", 3)] {
            let breaker = CircuitBreaker::builder()
                .name(name)
                .observer(observer.clone())
                .build()
                .expect("valid config");
            breaker.transition_to(State::ForcedOpen).expect("allowed");
            for _ in 0..refusals {
                assert!(breaker.try_acquire().is_err());
            }
        }
    });
    let mut refused: Vec<(String, u64)> = recorded
        .into_iter()
        .filter(|(name, ..)| name == "seawall_breaker_rejections_total")
        .map(|(_, labels, n)| {
            let (_, breaker) = labels.into_iter().find(|(k, _)| k == "breaker").unwrap();
            (breaker, n as u64)
        })
        .collect();
    refused.sort();
    assert_eq!(
        refused,
        [
            ("a".to_owned(), 1),
            ("b".to_owned(), 2),
            ("c".to_owned(), 3)
        ]
    );
}

/// An expected series: name, labels in order, value.
#[cfg(feature = "metrics")]
type Series = (&'static str, &'static [(&'static str, &'static str)], f64);

/// Every series a local recorder holds after `f`, in name and label order.
#[cfg(feature = "metrics")]
fn recording(f: impl FnOnce()) -> Vec<Recorded> {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, f);
    let mut recorded: Vec<Recorded> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => panic!("no histograms"),
            };
            (key.name().to_owned(), labels, value)
        })
        .collect();
    recorded.sort_by(order);
    recorded
}

/// `expected` as recorded series, in the same order.
#[cfg(feature = "metrics")]
fn series(expected: &[Series]) -> Vec<Recorded> {
    let mut series: Vec<Recorded> = expected
        .iter()
        .map(|(name, labels, value)| {
            let labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (name.to_string(), labels, *value)
        })
        .collect();
    series.sort_by(order);
    series
}

#[cfg(feature = "metrics")]
fn order(a: &Recorded, b: &Recorded) -> std::cmp::Ordering {
    (&a.0, &a.1).cmp(&(&b.0, &b.1))
}

#[cfg(feature = "metrics")]
type Recorded = (String, Vec<(String, String)>, f64);
