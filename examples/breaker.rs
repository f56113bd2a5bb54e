//! A circuit breaker opening and recovering in front of a flaky backend.
//!
//! Run with `cargo run --example breaker`. It prints the scenario, then each
//! state transition as it happens, then what the breaker did, in words.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seawall::breaker::{BreakerLayer, CircuitBreaker, State};
use seawall::observe::Event;
use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};

/// When the backend is down, in milliseconds after the start.
const OUTAGE_MS: std::ops::Range<u128> = 150..700;
const CALLS: u32 = 120;
const EVERY: Duration = Duration::from_millis(10);

/// What a transition means, for someone meeting a breaker for the first time.
fn meaning(from: State, to: State) -> &'static str {
    match (from, to) {
        (State::Closed, State::Open) => {
            "too many recent calls failed: calls are now refused at once"
        }
        (State::Open, State::HalfOpen) => "the wait is over: a few probe calls may try the backend",
        (State::HalfOpen, State::Open) => "the probes failed: refusing calls for another wait",
        (State::HalfOpen, State::Closed) => "the probes succeeded: calls flow normally again",
        _ => "changed by hand",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    println!("Scenario");
    println!(
        "  A client calls a backend every {} ms, {CALLS} times. The backend fails every call",
        EVERY.as_millis()
    );
    println!(
        "  from {} ms to {} ms after the start, then recovers. Between them sits a breaker",
        OUTAGE_MS.start, OUTAGE_MS.end
    );
    println!("  that looks at the last 10 calls (once it has seen at least 5), opens when half");
    println!("  of them failed, stays open 300 ms, then lets 3 probe calls through.\n");
    println!("Transitions");

    let started = Instant::now();
    let breaker = CircuitBreaker::builder()
        .name("flaky-backend")
        .count_window(10)
        .minimum_number_of_calls(5)
        .failure_rate_threshold(50.0)
        .wait_duration_in_open_state(Duration::from_millis(300))
        .permitted_number_of_calls_in_half_open_state(3)
        .observer(move |event: &Event<'_>| {
            if let Event::BreakerTransition { from, to, .. } = *event {
                let step = format!("{from} -> {to}");
                println!(
                    "  {:>5} ms  {step:<20}  {}",
                    started.elapsed().as_millis(),
                    meaning(from, to)
                );
            }
        })
        .build()?;

    let reached = Arc::new(AtomicU32::new(0));
    let counter = reached.clone();
    let backend = service_fn(move |_req: u32| {
        counter.fetch_add(1, Ordering::Relaxed);
        let down = OUTAGE_MS.contains(&started.elapsed().as_millis());
        async move {
            if down {
                Err::<&str, BoxError>("backend unavailable".into())
            } else {
                Ok("ok")
            }
        }
    });
    let mut service = ServiceBuilder::new()
        .layer(BreakerLayer::new(breaker.clone()))
        .service(backend);

    let (mut ok, mut failed, mut refused) = (0, 0, 0);
    for req in 0..CALLS {
        match service.ready().await?.call(req).await {
            Ok(_) => ok += 1,
            // A refusal names the breaker and says when to retry.
            Err(err) if seawall::rejection(&*err).is_some() => refused += 1,
            Err(_) => failed += 1,
        }
        tokio::time::sleep(EVERY).await;
    }

    let metrics = breaker.metrics();
    println!("\nSummary");
    println!("  Of {CALLS} calls, {ok} succeeded and {failed} failed at the backend.");
    println!(
        "  {refused} were refused by the breaker without reaching the backend, which \
         saw {} calls:",
        reached.load(Ordering::Relaxed)
    );
    println!("  while it was down, it was left alone instead of being hammered.");
    let rate = match metrics.failure_rate() {
        Some(rate) => format!("{rate:.0} % of them failed"),
        None => "too few to judge".to_owned(),
    };
    println!(
        "  The breaker ends {}; its window holds the last {} calls, and {rate}.",
        metrics.state(),
        metrics.calls()
    );
    Ok(())
}
