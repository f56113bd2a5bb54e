//! Prints how each limit algorithm fares in simulated scenarios, as the
//! markdown table in `seawall::limit`'s docs:
//!
//! ```text
//! cargo run --release --example limit_table --features full
//! ```
//!
//! Every scenario: `C` workers, exponential service times of mean 10 ms,
//! open-loop Poisson arrivals at 2× capacity (see `tests/sim_support`).

#[path = "../tests/sim_support/mod.rs"]
mod support;

use std::time::Duration;

use support::*;

/// `level (reached / settled)`: the median limit over the last 20 s, when
/// it first reached `target ± 20 %` and from when it stayed there.
fn settle(report: &seawall::limit::sim::Report, target: f64, end: u64) -> String {
    let level = report.median_limit(secs(end - 20), secs(end));
    let time =
        |t: Option<Duration>| t.map_or("never".into(), |t| format!("{:.0} s", t.as_secs_f64()));
    format!(
        "{level} ({} / {})",
        time(report.reached_at(target, 0.2)),
        time(report.settled_at(target, 0.2))
    )
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    println!("| C | algorithm | from 1 | from 10×C | 5 min overload: 2nd → 5th min, goodput, p99 | after 10× spike | fail fast: level, goodput |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for c in [10u32, 100] {
        let t = target(c);
        for algo in Algo::ALL {
            let below = run(&server(c).duration(secs(60)), algo, 1);
            let above = run(&server(c).duration(secs(60)), algo, 10 * c);
            let mut long = run(&server(c).duration(secs(300)).warmup(secs(60)), algo, c);
            let spike = server(c).duration(secs(80)).warmup(secs(40)).latency_spike(
                secs(30),
                secs(40),
                10.0,
            );
            let spike = run(&spike, algo, c);
            let ff = run(&fail_fast(c).duration(secs(60)), algo, c);
            println!(
                "| {c} | {} | {} | {} | {} → {}, {:.0} %, {} | {} | {}, {:.0} % |",
                algo.name(),
                settle(&below, t, 60),
                settle(&above, t, 60),
                long.median_limit(secs(60), secs(120)),
                long.median_limit(secs(240), secs(300)),
                long.goodput() * 100.0,
                ms(long.p99()),
                spike.median_limit(secs(60), secs(80)),
                ff.median_limit(secs(20), secs(60)),
                ff.goodput() * 100.0,
            );
        }
    }
    println!();
    println!("Targets: 1.2 × C with a queue (12 and 120), C without (10 and 100); levels are median limits, (reached / settled): when the limit (median of 11 ticks of 100 ms) first entered target ± 20 % and from when it stayed there to the end of the minute.");
}
