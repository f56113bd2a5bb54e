//! Prints how each limit algorithm fares in simulated scenarios (the table
//! in `seawall::limit`'s docs):
//!
//! ```text
//! cargo run --release --example limit_table --features full
//! ```

#[path = "../tests/sim_support/mod.rs"]
mod support;

use support::*;

fn main() {
    for c in [10u32, 100] {
        println!(
            "C = {c}: target {:.0} (queueing), {} (fail fast)",
            target(c),
            c
        );
        for algo in Algo::ALL {
            let below = run(&server(c).duration(secs(60)), algo, 1);
            let above = run(&server(c).duration(secs(60)), algo, 10 * c);
            let long = run(&server(c).duration(secs(300)).warmup(secs(60)), algo, c);
            let mut spike = run(
                &server(c)
                    .duration(secs(90))
                    .latency_spike(secs(30), secs(40), 10.0)
                    .warmup(secs(40)),
                algo,
                c,
            );
            let mut ff = run(&fail_fast(c).duration(secs(60)), algo, c);
            println!(
                "{:22} below {:5} settle {:?} | above {:5} settle {:?} | long {:5}->{:5} gp {:.2} | spike min {:?} after {:5} settle {:?} p99 {:?} | ff {:5} gp {:.2} p99 {:?}",
                algo.name(),
                below.median_limit(secs(40), secs(60)),
                below.settled_at(target(c), 0.2),
                above.median_limit(secs(40), secs(60)),
                above.settled_at(target(c), 0.2),
                long.median_limit(secs(60), secs(120)),
                long.median_limit(secs(240), secs(300)),
                long.goodput(),
                spike.limit_range(secs(30), secs(40)),
                spike.median_limit(secs(60), secs(90)),
                spike.settled_at(target(c), 0.2),
                spike.p99(),
                ff.median_limit(secs(20), secs(60)),
                ff.goodput(),
                ff.p99(),
            );
        }
    }
}
