//! A bulkhead keeping a slow report endpoint from taking every worker.
//!
//! Twenty report requests arrive at once at a backend that takes 50 ms per
//! report. The bulkhead lets four run, queues up to eight for at most
//! 80 ms, and refuses the rest at once; the printout shows who got
//! through, who timed out waiting, and who was refused.
//!
//! Run with `cargo run --example bulkhead --features bulkhead`.

use std::time::Duration;

use seawall::bulkhead::{BulkheadLayer, Full, Mode, WaitTimedOut};
use seawall::observe::Event;
use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let bulkhead = BulkheadLayer::builder()
        .name("reports")
        .max_concurrent_calls(4)
        .mode(Mode::Wait {
            max_wait: Duration::from_millis(80),
            queue: 8,
        })
        .observer(|event: &Event<'_>| {
            if let Event::BulkheadRejected { name, reason, .. } = event {
                eprintln!("  event: {name} rejected a call ({reason})");
            }
        })
        .build()?;

    let service = ServiceBuilder::new()
        .layer(bulkhead.clone())
        .service(service_fn(|id: u32| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, BoxError>(format!("report {id}"))
        }));

    let calls = (0..20).map(|id| {
        let mut service = service.clone();
        async move { service.ready().await?.call(id).await }
    });
    let results = futures_join_all(calls).await;

    let (mut done, mut timed_out, mut full) = (0, 0, 0);
    for result in results {
        match result {
            Ok(_) => done += 1,
            Err(e) if e.is::<WaitTimedOut>() => timed_out += 1,
            Err(e) if e.is::<Full>() => full += 1,
            Err(e) => return Err(e),
        }
    }
    println!("served {done}, timed out waiting {timed_out}, refused at once {full}");
    println!(
        "after the burst: {} permits free, {} callers waiting",
        bulkhead.available_permits(),
        bulkhead.waiting_callers()
    );
    Ok(())
}

/// Runs the futures concurrently on this task and collects their outputs
/// in order (a tiny `join_all`, to keep the example's dependencies to
/// tokio and tower).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.map(|f| Box::pin(f)).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, out) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}
