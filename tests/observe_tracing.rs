//! `TracingObserver` against a local subscriber: every layer's events are
//! logged with the documented target, level, message and fields.

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
    let rows: [(Event<'_>, &str); 12] = [
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
        (
            Event::BalanceRemoved {
                name: "web",
                endpoint: "\"a\"",
                ejected: true,
            },
            r#"DEBUG seawall::balance: balancer removed an endpoint balancer="web" endpoint="\"a\"" ejected=true"#,
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

#[cfg(feature = "tracing")]
#[test]
fn tracing_observer_logs_transitions() {
    use seawall::breaker::{CircuitBreaker, State};
    use seawall::observe::TracingObserver;

    let logged = log_lines(tracing::Level::DEBUG, || {
        let breaker = CircuitBreaker::builder()
            .name("orders")
            .observer(TracingObserver)
            .build()
            .expect("valid config");
        breaker.transition_to(State::ForcedOpen).expect("allowed");
        assert!(breaker.try_acquire().is_err());
    });
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
