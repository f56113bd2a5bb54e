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
