//! The algorithms and servers the simulation tests and the convergence
//! table (`examples/limit_table.rs`) share.
#![allow(dead_code)]

use std::time::Duration;

use seawall::clock::ManualClock;
use seawall::limit::algorithm::{Aimd, Gradient2, Hybrid, Vegas, Windowed, WindowedConfig};
use seawall::limit::sim::{Queue, Report, Scenario, ServiceTime};
use seawall::limit::Algorithm;

pub(crate) const SERVICE: Duration = Duration::from_millis(10);

/// The contestants. The references run with their defaults except the
/// floor (`min_limit` 1, the reference's 20 is above a 10-worker server's
/// capacity) and the ceiling (1000, so a cold start from 10× capacity can
/// be expressed); windowed ones use 100 ms windows (the reference's
/// shortest; its default of 1 s only slows the simulations down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algo {
    Aimd,
    AimdWindowed,
    Vegas,
    VegasWindowed,
    Gradient2,
    Gradient2Windowed,
    Hybrid,
}

impl Algo {
    pub(crate) const ALL: [Algo; 7] = [
        Algo::Aimd,
        Algo::AimdWindowed,
        Algo::Vegas,
        Algo::VegasWindowed,
        Algo::Gradient2,
        Algo::Gradient2Windowed,
        Algo::Hybrid,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Algo::Aimd => "aimd",
            Algo::AimdWindowed => "aimd+window",
            Algo::Vegas => "vegas",
            Algo::VegasWindowed => "vegas+window",
            Algo::Gradient2 => "gradient2",
            Algo::Gradient2Windowed => "gradient2+window",
            Algo::Hybrid => "hybrid (recommended)",
        }
    }

    /// The algorithm starting at `initial` on the simulation's clock.
    pub(crate) fn build(self, clock: ManualClock, initial: u32) -> Box<dyn Algorithm> {
        let window = || Windowed::builder().min_window_time(Duration::from_millis(100));
        let aimd = || {
            Aimd::builder()
                .min_limit(1)
                .max_limit(1000)
                .initial_limit(initial)
                .build()
                .unwrap()
        };
        let vegas = || Vegas::builder().initial_limit(initial).build().unwrap();
        let gradient2 = || {
            Gradient2::builder()
                .min_limit(1)
                .max_limit(1000)
                .initial_limit(initial)
                .build()
                .unwrap()
        };
        fn windowed<A: Algorithm>(
            w: WindowedConfig,
            a: A,
            clock: ManualClock,
        ) -> Box<dyn Algorithm> {
            Box::new(w.build(a).unwrap().with_clock(clock))
        }
        match self {
            Algo::Aimd => Box::new(aimd()),
            Algo::AimdWindowed => windowed(window(), aimd(), clock),
            Algo::Vegas => Box::new(vegas()),
            Algo::VegasWindowed => windowed(window(), vegas(), clock),
            Algo::Gradient2 => Box::new(gradient2()),
            Algo::Gradient2Windowed => windowed(window(), gradient2(), clock),
            Algo::Hybrid => {
                let h = Hybrid::builder().initial_limit(initial).build().unwrap();
                Box::new(
                    Hybrid::windowed(h, Windowed::builder())
                        .unwrap()
                        .with_clock(clock),
                )
            }
        }
    }
}

/// `c` workers of exponential service time (mean 10 ms) behind an
/// unbounded queue, offered twice their capacity.
pub(crate) fn server(c: u32) -> Scenario {
    Scenario::new(c, ServiceTime::Exponential(SERVICE)).load(2.0)
}

/// A server that fails fast: no queue.
pub(crate) fn fail_fast(c: u32) -> Scenario {
    server(c).queue(Queue::None)
}

/// The limit a queueing server of `c` workers should get: by Little's law
/// `c` calls in flight keep `c` workers busy at `c / S` calls per second;
/// a headroom of 20 % more waits in the queue so a worker that finishes
/// finds the next call at once despite the randomness of arrivals and
/// service. That queue adds on average 0.2 × S to the latency. Without it,
/// a limit of exactly `c` at 2× load keeps workers idle 8 % of the time
/// (Erlang's loss formula, checked in `tests/limit_sim.rs`).
pub(crate) fn target(c: u32) -> f64 {
    1.2 * f64::from(c)
}

/// A fail-fast server has no queue to hold a headroom: its target is `c`.
pub(crate) fn fail_fast_target(c: u32) -> f64 {
    f64::from(c)
}

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Runs `scenario` with `algo` starting at `initial`.
pub(crate) fn run(scenario: &Scenario, algo: Algo, initial: u32) -> Report {
    scenario.run(|clock| algo.build(clock, initial)).unwrap()
}
