//! Adaptive concurrency limits.

pub mod algorithm;
mod learner;

pub use self::algorithm::{Algorithm, LimitSample};
