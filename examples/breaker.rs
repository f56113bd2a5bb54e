//! A circuit breaker opening and recovering against a flaky backend.
//!
//! The backend fails every call during an outage, 150 to 700 ms after the start, then recovers. The
//! breaker trips on the failure rate, refuses calls while open (the backend
//! gets a rest), probes after the wait and closes again once it is healthy.
//!
//! Run with `cargo run --example breaker`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seawall::breaker::{BreakerLayer, CircuitBreaker, Open};
use seawall::observe::Event;
use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let started = Instant::now();
    let breaker = CircuitBreaker::builder()
        .name("flaky-backend")
        .count_window(10)
        .minimum_number_of_calls(5)
        .failure_rate_threshold(50.0)
        .wait_duration_in_open_state(Duration::from_millis(300))
        .permitted_number_of_calls_in_half_open_state(3)
        .observer(move |event: &Event<'_>| {
            if let Event::BreakerTransition { from, to, .. } = event {
                println!(
                    "{:>6} ms  transition {from} -> {to}",
                    started.elapsed().as_millis()
                );
            }
        })
        .build()?;

    // The backend is down from 150 ms to 700 ms after the start.
    let served = Arc::new(AtomicU32::new(0));
    let counter = served.clone();
    let backend = service_fn(move |_req: u32| {
        counter.fetch_add(1, Ordering::Relaxed);
        let down = (150..700).contains(&started.elapsed().as_millis());
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
    for req in 0..120 {
        match service.ready().await?.call(req).await {
            Ok(_) => ok += 1,
            Err(err) if err.is::<Open>() => refused += 1,
            Err(_) => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let metrics = breaker.metrics();
    println!(
        "\n{ok} succeeded, {failed} failed, {refused} refused by the breaker; \
         the backend saw {} calls",
        served.load(Ordering::Relaxed)
    );
    println!(
        "final state {} (window: {} calls, failure rate {:?})",
        metrics.state(),
        metrics.calls(),
        metrics.failure_rate()
    );
    Ok(())
}
