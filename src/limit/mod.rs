//! Adaptive concurrency limits.

pub mod algorithm;

pub use self::algorithm::{Algorithm, LimitSample};
