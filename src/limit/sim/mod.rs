//! A discrete-event simulator of a backend behind an adaptive limit, to test
//! limit algorithms and to tune their settings before production.
//!
//! Virtual time, one seeded generator, no threads: the same [`Scenario`] and
//! algorithm always give the same [`Report`], in milliseconds of real time
//! for minutes of simulated traffic.
//!
//! The model: open-loop Poisson arrivals at a multiple of the server's
//! capacity (an open loop keeps offering load whatever the latency, as real
//! users do, so overload is not hidden); a limiter in front that admits a
//! call while fewer than the algorithm's limit are in flight and sheds it
//! otherwise; a server of `C` workers with a service-time distribution and a
//! FIFO queue, unbounded, bounded (calls beyond it fail fast as drops), or
//! absent (a fail-fast server). Each completed call is one
//! [`LimitSample`](super::LimitSample) for the algorithm, with the limiter's
//! in-flight count at its admission, exactly as the limit layer feeds it.
//! The capacity is `C / mean service time` calls per second.
//!
//! ```
//! use std::time::Duration;
//! use seawall::limit::algorithm::Hybrid;
//! use seawall::limit::sim::{Scenario, ServiceTime};
//!
//! let ms = Duration::from_millis;
//! let scenario = Scenario::new(10, ServiceTime::Exponential(ms(10)))
//!     .load(2.0)
//!     .duration(Duration::from_secs(30))
//!     .warmup(Duration::from_secs(10));
//! let report = scenario.run(|clock| Hybrid::recommended().with_clock(clock))?;
//! assert!(report.goodput() > 0.9, "{report:?}");
//! # Ok::<(), seawall::ConfigError>(())
//! ```

mod report;
mod run;
mod scenario;

pub use self::report::Report;
pub use self::scenario::{Queue, Scenario, ServiceTime};
