//! The metrics and tracing observers report through a local recorder and a
//! local subscriber: the library installs nothing global. Observers added
//! one after another all hear every event.

#[test]
fn every_observer_added_hears_every_event() {
    use std::sync::{Arc, Mutex};

    use seawall::breaker::{CircuitBreaker, State};
    use seawall::observe::Event;

    let heard = Arc::new(Mutex::new(Vec::new()));
    let mut builder = CircuitBreaker::builder().name("db");
    for id in 0..3 {
        let heard = heard.clone();
        builder = builder.observer(move |event: &Event<'_>| {
            if let Event::BreakerTransition { to, .. } = event {
                heard.lock().unwrap().push((id, *to));
            }
        });
    }
    let breaker = builder.build().expect("valid config");
    breaker.transition_to(State::ForcedOpen).expect("allowed");
    breaker.transition_to(State::Closed).expect("allowed");
    let heard = heard.lock().unwrap().clone();
    assert_eq!(
        heard,
        [
            (0, State::ForcedOpen),
            (1, State::ForcedOpen),
            (2, State::ForcedOpen),
            (0, State::Closed),
            (1, State::Closed),
            (2, State::Closed),
        ]
    );
}

#[cfg(feature = "metrics")]
#[test]
fn metrics_observer_counts_transitions_and_rejections() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use seawall::breaker::{CircuitBreaker, State};
    use seawall::observe::MetricsObserver;

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
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

    // (name, labels, value) of every metric recorded.
    type Recorded = Vec<(String, Vec<(String, String)>, f64)>;
    let values: Recorded = snapshotter
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
                DebugValue::Histogram(_) => f64::NAN,
            };
            (key.name().to_owned(), labels, value)
        })
        .collect();
    let find = |name: &str, label: (&str, &str)| {
        values
            .iter()
            .find(|(n, labels, _)| {
                n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1)
            })
            .map(|(_, _, v)| *v)
    };
    assert_eq!(
        find("seawall_breaker_rejections_total", ("state", "forced_open")),
        Some(2.0)
    );
    assert_eq!(
        find("seawall_breaker_transitions_total", ("to", "forced_open")),
        Some(1.0)
    );
    assert_eq!(
        find("seawall_breaker_resets_total", ("breaker", "users")),
        Some(1.0)
    );
    assert_eq!(
        find("seawall_breaker_state", ("breaker", "users")),
        Some(0.0)
    );
    assert!(values
        .iter()
        .all(|(name, _, _)| name.starts_with("seawall_")));
}

#[cfg(feature = "metrics")]
#[test]
fn one_metrics_observer_keeps_breakers_apart() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use seawall::breaker::{CircuitBreaker, State};
    use seawall::observe::MetricsObserver;

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let observer = MetricsObserver::new();
    metrics::with_local_recorder(&recorder, || {
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
    let mut refused: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "seawall_breaker_rejections_total")
        .map(|(key, _, _, value)| {
            let breaker = key.key().labels().find(|l| l.key() == "breaker").unwrap();
            let DebugValue::Counter(n) = value else {
                panic!("a counter")
            };
            (breaker.value().to_owned(), n)
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

#[cfg(feature = "tracing")]
#[test]
fn tracing_observer_logs_transitions() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use seawall::breaker::{CircuitBreaker, State};
    use seawall::observe::TracingObserver;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let breaker = CircuitBreaker::builder()
            .name("orders")
            .observer(TracingObserver)
            .build()
            .expect("valid config");
        breaker.transition_to(State::ForcedOpen).expect("allowed");
        assert!(breaker.try_acquire().is_err());
    });
    let logged = String::from_utf8(buffer.0.lock().expect("not poisoned").clone()).expect("utf-8");
    assert!(
        logged.contains("circuit breaker state transition"),
        "{logged}"
    );
    assert!(
        logged.contains("breaker=\"orders\"") || logged.contains("breaker=orders"),
        "{logged}"
    );
    assert!(
        logged.contains("to=\"forced_open\"") || logged.contains("to=forced_open"),
        "{logged}"
    );
    assert!(
        logged.contains("circuit breaker rejected a call"),
        "{logged}"
    );
}

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

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use seawall::balance::EjectionReason;
    use seawall::breaker::State;
    use seawall::bulkhead::Rejection;
    use seawall::observe::{Event, MetricsObserver, Observer};

    type Series = (&'static str, &'static [(&'static str, &'static str)], f64);
    let secs = Duration::from_secs;
    let rows: [(&str, &[Event<'_>], &[Series]); 5] = [
        (
            "breaker",
            &[
                Event::BreakerTransition {
                    name: "db",
                    from: State::Closed,
                    to: State::Open,
                    generation: 1,
                },
                Event::BreakerRejected {
                    name: "db",
                    state: State::Open,
                    retry_after: Some(secs(3)),
                },
                Event::BreakerRejected {
                    name: "db",
                    state: State::Open,
                    retry_after: None,
                },
                Event::BreakerTransition {
                    name: "db",
                    from: State::Open,
                    to: State::HalfOpen,
                    generation: 2,
                },
                Event::BreakerRejected {
                    name: "db",
                    state: State::HalfOpen,
                    retry_after: None,
                },
                Event::BreakerReset { name: "db" },
            ],
            &[
                ("seawall_breaker_state", &[("breaker", "db")], 0.0),
                ("seawall_breaker_resets_total", &[("breaker", "db")], 1.0),
                (
                    "seawall_breaker_transitions_total",
                    &[("breaker", "db"), ("from", "closed"), ("to", "open")],
                    1.0,
                ),
                (
                    "seawall_breaker_transitions_total",
                    &[("breaker", "db"), ("from", "open"), ("to", "half_open")],
                    1.0,
                ),
                (
                    "seawall_breaker_rejections_total",
                    &[("breaker", "db"), ("state", "open")],
                    2.0,
                ),
                (
                    "seawall_breaker_rejections_total",
                    &[("breaker", "db"), ("state", "half_open")],
                    1.0,
                ),
            ],
        ),
        (
            "bulkhead",
            &[
                Event::BulkheadLimitChanged {
                    name: "pool",
                    from: 10,
                    to: 4,
                },
                Event::BulkheadRejected {
                    name: "pool",
                    max_concurrent_calls: 4,
                    reason: Rejection::Full,
                },
                Event::BulkheadRejected {
                    name: "pool",
                    max_concurrent_calls: 4,
                    reason: Rejection::Full,
                },
                Event::BulkheadRejected {
                    name: "pool",
                    max_concurrent_calls: 4,
                    reason: Rejection::WaitTimedOut,
                },
            ],
            &[
                (
                    "seawall_bulkhead_max_concurrent_calls",
                    &[("bulkhead", "pool")],
                    4.0,
                ),
                (
                    "seawall_bulkhead_rejections_total",
                    &[("bulkhead", "pool"), ("reason", "full")],
                    2.0,
                ),
                (
                    "seawall_bulkhead_rejections_total",
                    &[("bulkhead", "pool"), ("reason", "wait_timed_out")],
                    1.0,
                ),
            ],
        ),
        (
            // A rejection also tells the limit (here one the gauge had
            // not seen move).
            "limit",
            &[
                Event::LimitChanged {
                    name: "api",
                    from: 20,
                    to: 21,
                },
                Event::LimitRejected {
                    name: "api",
                    limit: 18,
                    partition: None,
                    waited: None,
                },
                Event::LimitRejected {
                    name: "api",
                    limit: 18,
                    partition: Some("batch"),
                    waited: None,
                },
                Event::LimitRejected {
                    name: "api",
                    limit: 18,
                    partition: Some("batch"),
                    waited: Some(secs(1)),
                },
                Event::LimitRejected {
                    name: "api",
                    limit: 18,
                    partition: Some("live"),
                    waited: Some(secs(1)),
                },
                Event::LimitRejected {
                    name: "api",
                    limit: 18,
                    partition: Some("live"),
                    waited: Some(secs(2)),
                },
            ],
            &[
                ("seawall_limiter_limit", &[("limiter", "api")], 18.0),
                (
                    "seawall_limiter_rejections_total",
                    &[("limiter", "api"), ("reason", "full")],
                    1.0,
                ),
                (
                    "seawall_limiter_rejections_total",
                    &[
                        ("limiter", "api"),
                        ("reason", "full"),
                        ("partition", "batch"),
                    ],
                    1.0,
                ),
                (
                    "seawall_limiter_rejections_total",
                    &[
                        ("limiter", "api"),
                        ("reason", "wait_timed_out"),
                        ("partition", "batch"),
                    ],
                    1.0,
                ),
                (
                    "seawall_limiter_rejections_total",
                    &[
                        ("limiter", "api"),
                        ("reason", "wait_timed_out"),
                        ("partition", "live"),
                    ],
                    2.0,
                ),
            ],
        ),
        (
            "balance",
            &[
                Event::BalanceEjected {
                    name: "web",
                    endpoint: "\"a\"",
                    reason: EjectionReason::ConsecutiveFailures,
                    duration: secs(30),
                    ejections: 1,
                },
                Event::BalanceEjected {
                    name: "web",
                    endpoint: "\"b\"",
                    reason: EjectionReason::SuccessRate,
                    duration: secs(30),
                    ejections: 1,
                },
                Event::BalanceReturned {
                    name: "web",
                    endpoint: "\"a\"",
                },
                Event::BalanceEjected {
                    name: "web",
                    endpoint: "\"a\"",
                    reason: EjectionReason::ConsecutiveFailures,
                    duration: secs(60),
                    ejections: 2,
                },
                Event::BalanceReturned {
                    name: "web",
                    endpoint: "\"a\"",
                },
            ],
            &[
                (
                    "seawall_balancer_endpoint_ejected",
                    &[("balancer", "web"), ("endpoint", "\"a\"")],
                    0.0,
                ),
                (
                    "seawall_balancer_endpoint_ejected",
                    &[("balancer", "web"), ("endpoint", "\"b\"")],
                    1.0,
                ),
                (
                    "seawall_balancer_ejections_total",
                    &[
                        ("balancer", "web"),
                        ("endpoint", "\"a\""),
                        ("reason", "consecutive_failures"),
                    ],
                    2.0,
                ),
                (
                    "seawall_balancer_ejections_total",
                    &[
                        ("balancer", "web"),
                        ("endpoint", "\"b\""),
                        ("reason", "success_rate"),
                    ],
                    1.0,
                ),
            ],
        ),
        (
            // Two instances of each layer through one observer: the second
            // name's handles come from the map, apart from the first's.
            "two instances",
            &[
                Event::BreakerRejected {
                    name: "a",
                    state: State::Open,
                    retry_after: None,
                },
                Event::BreakerRejected {
                    name: "b",
                    state: State::Open,
                    retry_after: None,
                },
                Event::BreakerRejected {
                    name: "b",
                    state: State::Open,
                    retry_after: None,
                },
                Event::BulkheadLimitChanged {
                    name: "a",
                    from: 1,
                    to: 2,
                },
                Event::BulkheadLimitChanged {
                    name: "b",
                    from: 1,
                    to: 3,
                },
                Event::LimitChanged {
                    name: "a",
                    from: 1,
                    to: 4,
                },
                Event::LimitChanged {
                    name: "b",
                    from: 1,
                    to: 5,
                },
                Event::BalanceReturned {
                    name: "a",
                    endpoint: "1",
                },
                Event::BalanceEjected {
                    name: "b",
                    endpoint: "1",
                    reason: EjectionReason::SuccessRate,
                    duration: secs(1),
                    ejections: 1,
                },
            ],
            &[
                ("seawall_breaker_state", &[("breaker", "a")], 0.0),
                ("seawall_breaker_resets_total", &[("breaker", "a")], 0.0),
                (
                    "seawall_breaker_rejections_total",
                    &[("breaker", "a"), ("state", "open")],
                    1.0,
                ),
                ("seawall_breaker_state", &[("breaker", "b")], 0.0),
                ("seawall_breaker_resets_total", &[("breaker", "b")], 0.0),
                (
                    "seawall_breaker_rejections_total",
                    &[("breaker", "b"), ("state", "open")],
                    2.0,
                ),
                (
                    "seawall_bulkhead_max_concurrent_calls",
                    &[("bulkhead", "a")],
                    2.0,
                ),
                (
                    "seawall_bulkhead_max_concurrent_calls",
                    &[("bulkhead", "b")],
                    3.0,
                ),
                ("seawall_limiter_limit", &[("limiter", "a")], 4.0),
                ("seawall_limiter_limit", &[("limiter", "b")], 5.0),
                (
                    "seawall_balancer_endpoint_ejected",
                    &[("balancer", "a"), ("endpoint", "1")],
                    0.0,
                ),
                (
                    "seawall_balancer_endpoint_ejected",
                    &[("balancer", "b"), ("endpoint", "1")],
                    1.0,
                ),
                (
                    "seawall_balancer_ejections_total",
                    &[
                        ("balancer", "b"),
                        ("endpoint", "1"),
                        ("reason", "success_rate"),
                    ],
                    1.0,
                ),
            ],
        ),
    ];
    for (row, events, expected) in rows {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let observer = MetricsObserver::new();
        metrics::with_local_recorder(&recorder, || {
            for event in events {
                observer.on_event(event);
            }
        });
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
                    DebugValue::Histogram(_) => panic!("{row}: no histograms"),
                };
                (key.name().to_owned(), labels, value)
            })
            .collect();
        let mut expected: Vec<Recorded> = expected
            .iter()
            .map(|(name, labels, value)| {
                let labels = labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (name.to_string(), labels, *value)
            })
            .collect();
        let order = |a: &Recorded, b: &Recorded| (&a.0, &a.1).cmp(&(&b.0, &b.1));
        recorded.sort_by(order);
        expected.sort_by(order);
        assert_eq!(recorded, expected, "{row}");
    }
}

/// A recorded series: name, labels in order, value.
#[cfg(feature = "metrics")]
type Recorded = (String, Vec<(String, String)>, f64);

/// Every event of every layer, as `TracingObserver` logs it: level, target,
/// message and fields, one line per event.
#[cfg(all(
    feature = "tracing",
    feature = "breaker",
    feature = "bulkhead",
    feature = "limit",
    feature = "balance"
))]
#[test]
fn tracing_observer_logs_every_layer() {
    use std::time::Duration;

    use seawall::balance::EjectionReason;
    use seawall::breaker::State;
    use seawall::bulkhead::Rejection;
    use seawall::observe::{Event, Observer, TracingObserver};

    let secs = Duration::from_secs;
    let rows: [(Event<'_>, &str); 11] = [
        (
            Event::BreakerTransition {
                name: "db",
                from: State::Closed,
                to: State::Open,
                generation: 1,
            },
            r#"INFO seawall::breaker: circuit breaker state transition breaker="db" from="closed" to="open" generation=1"#,
        ),
        (
            Event::BreakerReset { name: "db" },
            r#"INFO seawall::breaker: circuit breaker reset breaker="db""#,
        ),
        (
            Event::BreakerRejected {
                name: "db",
                state: State::Open,
                retry_after: Some(Duration::from_millis(1500)),
            },
            r#"DEBUG seawall::breaker: circuit breaker rejected a call breaker="db" state="open" retry_after_ms=1500"#,
        ),
        (
            Event::BreakerRejected {
                name: "db",
                state: State::ForcedOpen,
                retry_after: None,
            },
            r#"DEBUG seawall::breaker: circuit breaker rejected a call breaker="db" state="forced_open""#,
        ),
        (
            Event::BulkheadRejected {
                name: "pool",
                max_concurrent_calls: 4,
                reason: Rejection::WaitTimedOut,
            },
            r#"DEBUG seawall::bulkhead: bulkhead rejected a call bulkhead="pool" reason="wait_timed_out" max_concurrent_calls=4"#,
        ),
        (
            Event::BulkheadLimitChanged {
                name: "pool",
                from: 4,
                to: 8,
            },
            r#"INFO seawall::bulkhead: bulkhead limit changed bulkhead="pool" from=4 to=8"#,
        ),
        (
            Event::LimitRejected {
                name: "api",
                limit: 7,
                partition: None,
                waited: None,
            },
            r#"DEBUG seawall::limit: concurrency limit rejected a call limiter="api" reason="full" limit=7"#,
        ),
        (
            Event::LimitRejected {
                name: "api",
                limit: 7,
                partition: Some("batch"),
                waited: Some(secs(2)),
            },
            r#"DEBUG seawall::limit: concurrency limit rejected a call limiter="api" reason="wait_timed_out" limit=7 partition="batch" waited_ms=2000"#,
        ),
        (
            Event::LimitChanged {
                name: "api",
                from: 7,
                to: 9,
            },
            r#"DEBUG seawall::limit: concurrency limit changed limiter="api" from=7 to=9"#,
        ),
        (
            Event::BalanceEjected {
                name: "web",
                endpoint: "\"a\"",
                reason: EjectionReason::SuccessRate,
                duration: secs(30),
                ejections: 2,
            },
            r#"WARN seawall::balance: balancer ejected an endpoint balancer="web" endpoint="\"a\"" reason="success_rate" duration_ms=30000 ejections=2"#,
        ),
        (
            Event::BalanceReturned {
                name: "web",
                endpoint: "\"a\"",
            },
            r#"INFO seawall::balance: balancer returned an endpoint balancer="web" endpoint="\"a\"""#,
        ),
    ];
    for (event, expected) in rows {
        let logged = log_lines(tracing::Level::DEBUG, || TracingObserver.on_event(&event));
        assert_eq!(logged.trim(), expected, "{event:?}");
    }
    // Rejections and an adaptive limit's moves stay out of an INFO log.
    let quiet = log_lines(tracing::Level::INFO, || {
        for (event, _) in rows {
            TracingObserver.on_event(&event);
        }
    });
    assert_eq!(quiet.lines().filter(|l| l.starts_with("DEBUG")).count(), 0);
    assert_eq!(quiet.lines().count(), 5, "{quiet}");
}

/// What a local `fmt` subscriber at `level` logs while `f` runs, without
/// times or colours.
#[cfg(feature = "tracing")]
fn log_lines(level: tracing::Level, f: impl FnOnce()) -> String {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .with_max_level(level)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let logged = buffer.0.lock().expect("not poisoned").clone();
    String::from_utf8(logged).expect("utf-8")
}
