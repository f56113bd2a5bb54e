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
