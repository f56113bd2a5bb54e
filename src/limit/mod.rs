//! Adaptive concurrency limits.

pub mod algorithm;
mod learner;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;

pub use self::algorithm::{Algorithm, LimitSample};
