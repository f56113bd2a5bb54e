//! An adaptive concurrency limit finding a backend's capacity by itself.
//!
//! The backend has 8 workers and serves a call in 5 ms; past 8 calls in
//! flight the others queue (latency grows with the queue), and past 32 it
//! sheds them (an overload the limit learns from). Forty-eight clients call
//! it as fast as they can for three seconds through seawall's recommended
//! algorithm, and the printout shows the limit settling between the 8
//! workers and the 32 calls the backend holds before it sheds, far below
//! the 48 the clients would push (tokio's millisecond timer coarsens the
//! backend's latency, so the exact figure varies from run to run).
//!
//! Run with `cargo run --example limit --features limit`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use seawall::classify::Outcome;
use seawall::clock::PreciseClock;
use seawall::limit::algorithm::Hybrid;
use seawall::limit::{LimitLayer, Limiter, Overloaded};
use seawall::observe::Event;
use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};

const WORKERS: u32 = 8;
const SERVICE: Duration = Duration::from_millis(5);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let changes = Arc::new(AtomicU64::new(0));
    let counter = changes.clone();
    let limiter = Limiter::builder(Hybrid::recommended())
        .name("backend")
        .clock(PreciseClock)
        .observer(move |event: &Event<'_>| {
            if let Event::LimitChanged { .. } = event {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()?;

    let in_flight = Arc::new(AtomicU32::new(0));
    let backend = service_fn(move |_: u32| {
        let in_flight = in_flight.clone();
        async move {
            let now = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            let result = if now > 4 * WORKERS {
                Err::<u32, BoxError>("shed".into())
            } else {
                // Past the workers, calls queue: each waits its turn.
                tokio::time::sleep(SERVICE * now.div_ceil(WORKERS)).await;
                Ok(now)
            };
            in_flight.fetch_sub(1, Ordering::Relaxed);
            result
        }
    });
    let overload_on_error = |r: Result<&u32, &BoxError>| match r {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Overload,
    };
    let service = ServiceBuilder::new()
        .layer(LimitLayer::new(limiter.clone()).classifier(overload_on_error))
        .service(backend);

    let served = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut clients = Vec::new();
    for _ in 0..48 {
        let (mut service, served, refused) = (service.clone(), served.clone(), refused.clone());
        clients.push(tokio::spawn(async move {
            while tokio::time::Instant::now() < deadline {
                match service.ready().await?.call(0).await {
                    Ok(_) => served.fetch_add(1, Ordering::Relaxed),
                    Err(e) if e.is::<Overloaded>() => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        // A refused client backs off a little.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        0
                    }
                    Err(_) => 0,
                };
            }
            Ok::<_, BoxError>(())
        }));
    }
    for tick in 1..=12 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        println!(
            "t={:>4} ms  limit {:>3}  in flight {:>3}",
            tick * 250,
            limiter.limit(),
            limiter.in_flight()
        );
    }
    for client in clients {
        client.await??;
    }
    println!(
        "served {}, refused {}, limit changes {}; {:?}",
        served.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        changes.load(Ordering::Relaxed),
        limiter.algorithm()
    );
    Ok(())
}
