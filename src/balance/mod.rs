//! Power-of-two-choices balancing over measured load, with health.
//!
//! A [`Chooser`] holds a set of endpoints and picks one per call: it draws
//! two distinct usable endpoints uniformly at random and takes the one with
//! the lower load (Mitzenmacher, "The Power of Two Choices in Randomized
//! Load Balancing", 2001; Finagle's and tower's `p2c`). Two choices keep
//! the busiest endpoint within `O(log log n)` of the mean where one random
//! choice lets it drift `O(log n / log log n)` above, and, unlike a static
//! weighted split, they follow what each endpoint can take right now.
//!
//! - **Load** ([`Load`]): [`PeakEwma`] (RTT estimate × (pending + 1), as
//!   Finagle, linkerd and tower define it) or [`PendingRequests`]; failures
//!   raise an endpoint's load, so an endpoint failing fast never looks fast.
//! - **Gates** ([`Gate`], [`Health`]): per-endpoint admission asked before
//!   a pick. A [`CircuitBreaker`](crate::breaker::CircuitBreaker) is a gate:
//!   an endpoint whose breaker refuses is skipped and gets only its probes.
//!   An adaptive concurrency limit is one too: a full endpoint is passed
//!   over while another has room.
//! - **Outlier detection** as Envoy defines it (architecture overview
//!   "Outlier detection", `config.cluster.v3.OutlierDetection`): ejection
//!   after consecutive failures, or at each interval when an endpoint's
//!   success rate is below mean − stdev × factor; the n-th ejection in a row
//!   lasts n × the base time (capped); at most a share of the set is
//!   ejected at once (but one always may be); below the panic threshold of
//!   healthy endpoints the chooser balances across all.
//! - **Slow start** ([`SlowStart`], Envoy's formula): new and returning
//!   endpoints ramp their share up over a window.
//!
//! The set is shared by clones and published RCU-style (see
//! [`Chooser`]): picks never wait for updates and cost the same for ten or
//! a thousand endpoints. [`Balance`] adapts it to tower; a [`Driver`] feeds
//! it from a `tower::discover::Discover` stream.
//!
//! ```
//! use std::time::Duration;
//! use tower::{service_fn, Service, ServiceExt};
//! use seawall::balance::{Balance, Chooser, Health};
//! use seawall::breaker::CircuitBreaker;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), seawall::BoxError> {
//! let chooser = Chooser::builder()
//!     .name("users")
//!     .consecutive_failures(5)
//!     .base_ejection_time(Duration::from_secs(30))
//!     .build()?;
//! for host in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
//!     let breaker = CircuitBreaker::builder().name(host).build()?;
//!     let backend = service_fn(move |path: &'static str| async move {
//!         Ok::<_, std::io::Error>(format!("{host}{path}"))
//!     });
//!     chooser.insert_with(host, backend, Health::new().gate(breaker)?);
//! }
//! let mut balance = Balance::new(chooser);
//! let reply = balance.ready().await?.call("/users/1").await?;
//! assert!(reply.ends_with("/users/1"));
//! println!("{:?}", balance.chooser().endpoints());
//! # Ok(())
//! # }
//! ```

mod config;
mod core;
mod discover;
pub mod error;
pub mod future;
mod gate;
mod load;
mod rng;
mod service;
mod snapshot;

pub use self::config::{Builder, SlowStart, SuccessRate};
pub use self::core::{Chooser, Pick, Removed};
pub use self::discover::Driver;
pub use self::error::Unavailable;
pub use self::gate::{Gate, Health, Ticket, MAX_GATES};
pub use self::load::{Load, LoadCell, PeakEwma, PendingRequests};
pub use self::service::Balance;
pub use self::snapshot::{EjectionReason, EndpointInfo, EndpointStatus};
