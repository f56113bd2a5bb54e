//! Three backends of unequal speed behind one P2C balancer, one of which
//! starts failing fast; prints each backend's share and the balancer's view.
//!
//! `cargo run --example balance --features balance`

use std::time::Duration;

use seawall::balance::{Balance, Chooser, PeakEwma};
use seawall::observe::Event;
use tower::{service_fn, BoxError, Service, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let chooser = Chooser::builder()
        .name("example")
        .load(PeakEwma::new(
            Duration::from_millis(5),
            Duration::from_secs(1),
        ))
        .consecutive_failures(3)
        .max_ejection_percent(50.0)
        .observer(|event: &Event<'_>| println!("event: {event:?}"))
        .build()?;
    // (name, latency, fails)
    let backends = [("fast", 1, false), ("slow", 8, false), ("broken", 0, true)];
    for (name, ms, fails) in backends {
        let backend = service_fn(move |_: u32| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if fails {
                Err::<&str, _>(BoxError::from("503 service unavailable"))
            } else {
                Ok::<_, BoxError>(name)
            }
        });
        chooser.insert(name, backend);
    }
    let balance = Balance::new(chooser);

    let mut tasks = Vec::new();
    for worker in 0..8u32 {
        let mut balance = balance.clone();
        tasks.push(tokio::spawn(async move {
            let mut served = [0u32; 3];
            for i in 0..50 {
                let reply = balance.ready().await?.call(worker * 100 + i).await;
                if let Ok(name) = reply {
                    let slot = backends.iter().position(|b| b.0 == name).unwrap_or(2);
                    served[slot] += 1;
                }
            }
            Ok::<_, BoxError>(served)
        }));
    }
    let mut total = [0u32; 3];
    for task in tasks {
        let served = task.await??;
        for (t, s) in total.iter_mut().zip(served) {
            *t += s;
        }
    }
    for ((name, ..), n) in backends.iter().zip(total) {
        println!("{name:>6}: {n} successful calls");
    }
    for endpoint in balance.chooser().endpoints() {
        println!("{:?}", endpoint);
    }
    Ok(())
}
