//! Observers added one after another all hear every event. (The metrics
//! and tracing observers have their own files.)

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
