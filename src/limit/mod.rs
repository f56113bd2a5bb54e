//! Adaptive concurrency limits.
//!
//! A [`Limiter`] admits at most its current limit of concurrent calls and
//! learns that limit from the calls it admits: each completed call gives
//! its [`Algorithm`] one [`LimitSample`] (round-trip time, in-flight count
//! at admission, dropped or not, from the layer's
//! [`Classify`](crate::classify::Classify)). [`LimitLayer`] and [`Limit`]
//! put it in a tower stack, reserving in `poll_ready` like tower's
//! `ConcurrencyLimit`; a call over the limit fails fast with [`Overloaded`]
//! or waits in a bounded FIFO or LIFO queue ([`Mode`]). Admission is the
//! bulkhead's exact, lock-free striped core: in-flight never exceeds the
//! limit, also while it shrinks. Partitions give named shares of the limit
//! (see [`Builder::partition`]).
//!
//! # Cost
//!
//! Per admitted call, on top of the bulkhead's admission (two
//! compare-and-swaps on the thread's stripe, and the thread's spare handle
//! keeping the limiter alive, or a plain reference when the limiter is
//! built into the stack with [`Limit::from_static`] or
//! [`LimitLayer::from_static`]): two reads of the limiter's clock for
//! the round-trip time (a few nanoseconds each with the default coarse
//! [`SystemClock`](crate::clock::SystemClock); both are needed, the RTT is
//! never guessed), the in-flight count at admission (loads of lines other
//! threads rarely write), and plain stores of the sample into the thread's
//! own [`Learner`] stripe (a compare-and-swap claiming a shared stripe
//! only for threads beyond the machine's parallelism); the algorithm runs
//! once per 16 samples per thread (at once on a drop), in one call over
//! the batch ([`Algorithm::update_batch`]), so two threads share no
//! written cache line per call. Measured in `benches/limits.rs` (one run,
//! a shared 2-core machine; overhead over a bare service divided by that
//! of tower's static `ConcurrencyLimit`, 33.7 ns): 0.90–0.95× with the
//! default shared limiter (fixed 0.90, AIMD and Vegas 0.92, Gradient2,
//! hybrid and windowed AIMD 0.95; windowed Vegas and Gradient2 0.95 in a
//! later run), 0.78–0.85× with `from_static`, and 0.89–0.95× and
//! 0.79–0.85× with 1 call in 64 dropped; 0 allocations per
//! admitted call; two threads sharing one limiter scale 1.5–1.9 (tower's:
//! 0.97).

pub mod algorithm;
mod learner;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;

pub use self::algorithm::{Algorithm, LimitSample};
pub use self::learner::Learner;

mod error;
pub mod future;
#[cfg(feature = "balance")]
mod gate;
mod layer;
mod limiter;
mod partition;
mod service;

pub use self::error::Overloaded;
pub use self::layer::LimitLayer;
pub use self::limiter::{Builder, LimitPermit, Limiter, Mode, QueueOrder};
pub use self::service::Limit;
