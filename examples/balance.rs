//! Three backends behind one power-of-two-choices balancer: a fast one
//! (1 ms), a slow one (8 ms) and a broken one that fails at once. Eight
//! workers send 50 calls each; the example prints where the calls went and
//! how the balancer sees each endpoint.
//!
//! `cargo run --example balance --features balance`

use std::time::Duration;

use seawall::balance::{Balance, Chooser, EndpointStatus, PeakEwma};
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
    let calls = 8 * 50;
    println!("{calls} calls from 8 workers; successful calls per backend:");
    for ((name, ms, fails), n) in backends.iter().zip(total) {
        let what = if *fails {
            "fails at once".to_owned()
        } else {
            format!("answers in {ms} ms")
        };
        println!(
            "  {name:>6} ({what:<16}) {n:>4}  ({:.0} %)",
            100.0 * f64::from(n) / f64::from(calls)
        );
    }
    println!("\nthe balancer's view (cost = estimated latency × (in flight + 1)):");
    for endpoint in balance.chooser().endpoints() {
        println!(
            "  {:>6}  cost {:>8.1} ms  status {}",
            endpoint.key(),
            endpoint.cost() / 1e6,
            match endpoint.status() {
                EndpointStatus::Ejected { remaining, .. } => format!("ejected for {remaining:?}"),
                EndpointStatus::SlowStarting { weight } => format!("slow start at {weight:.2}"),
                _ => "healthy".to_owned(),
            }
        );
    }
    println!(
        "\nThe slow backend gets a smaller share because its latency counts in its cost; the\n\
         broken one fails fast, yet each failure counts as a 1 s latency, so after its first\n\
         failures it is not picked again: it never even reaches the 3 failures in a row\n\
         that would have it ejected."
    );
    Ok(())
}
