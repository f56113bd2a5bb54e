//! Tower layers that keep a service standing when what it calls is slow,
//! failing or overloaded.
//!
//! seawall's layers sit on lock-free state machines, plain Rust over atomics
//! that are model-checked with [loom](https://docs.rs/loom), and adapt them to
//! tower's `Service`: a circuit breaker, a bulkhead, an adaptive concurrency
//! limit and a power-of-two-choices balancer. Every layer learns from the
//! same classified outcome of a call ([`classify`]), reads time from an
//! injected [`clock`], reports to an [`observe`] hook, refuses calls from its
//! response future (never from `poll_ready`) with an error that
//! [`rejection`] finds anywhere in a source chain, and rejects bad
//! configuration with a [`ConfigError`] naming the field.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`balance`] | power-of-two-choices balancing over measured load, with outlier ejection and slow start |
//! | [`breaker`] | circuit breaker: closed / open / half-open and manual states, count, time and consecutive policies |
//! | [`bulkhead`] | fixed concurrency compartments, fail fast or a bounded wait |
//! | [`limit`] | adaptive concurrency limits |
//! | [`classify`] | the one notion of a call's outcome every layer learns from |
//! | [`clock`] | injected monotonic time; a manual clock for tests |
//! | [`keyed`] | one value per key, made on first use, evicted when idle (feature `keyed`) |
//! | [`observe`] | events, the observer hook, `tracing` and `metrics` observers |
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//! use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
//! use seawall::breaker::{BreakerLayer, CircuitBreaker};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let breaker = CircuitBreaker::builder()
//!     .name("backend")
//!     .count_window(50)
//!     .minimum_number_of_calls(20)
//!     .failure_rate_threshold(50.0)
//!     .wait_duration_in_open_state(Duration::from_secs(10))
//!     .build()?;
//!
//! let mut service = ServiceBuilder::new()
//!     .layer(BreakerLayer::new(breaker.clone()))
//!     .service(service_fn(|name: &'static str| async move {
//!         Ok::<_, std::io::Error>(format!("hello {name}"))
//!     }));
//!
//! let reply = service.ready().await?.call("seawall").await?;
//! assert_eq!(reply, "hello seawall");
//! println!("{:?}", breaker.metrics());
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | default | enables |
//! | --- | --- | --- |
//! | `breaker` | yes | the circuit breaker |
//! | `balance` | no | the power-of-two-choices balancer |
//! | `bulkhead` | no | the bulkhead |
//! | `limit` | no | the adaptive concurrency limit |
//! | `full` | no | every capability and integration: all the features in this table |
//! | `sim` | no | [`limit::sim`], a discrete-event simulator to tune limit algorithms |
//! | `keyed` | no | [`keyed::KeyedMap`], behind per-key breakers and bulkheads |
//! | `tracing` | no | [`observe::TracingObserver`] |
//! | `metrics` | no | [`observe::MetricsObserver`] (the `metrics` facade) |
//! | `serde` | no | deserializing configurations, durations as `"30s"` |
//! | `http` | yes | [`classify::HttpClassifier`], `BreakerLayer::http` |

#![cfg_attr(docsrs, feature(doc_cfg))]
// The shared pieces (clock, observer plumbing, striped handles) are not all
// used by every capability; a build with one capability alone leaves some unused.
#![cfg_attr(
    not(all(feature = "breaker", feature = "limit", feature = "balance")),
    allow(dead_code)
)]

#[cfg(any(feature = "bulkhead", feature = "limit"))]
mod admission;
#[cfg(feature = "balance")]
#[cfg_attr(docsrs, doc(cfg(feature = "balance")))]
pub mod balance;
#[cfg(feature = "breaker")]
#[cfg_attr(docsrs, doc(cfg(feature = "breaker")))]
pub mod breaker;
#[cfg(feature = "bulkhead")]
#[cfg_attr(docsrs, doc(cfg(feature = "bulkhead")))]
pub mod bulkhead;
pub mod classify;
pub mod clock;
mod error;
#[cfg(feature = "keyed")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyed")))]
pub mod keyed;
#[cfg(feature = "limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "limit")))]
pub mod limit;
pub mod observe;
#[cfg(any(feature = "breaker", feature = "bulkhead", feature = "limit"))]
mod stash;
mod sync;

pub use error::{rejection, ConfigError, Rejection};

/// The boxed error type of every seawall service, as in tower.
pub use tower::BoxError;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
