//! Composing the breaker with tower, axum and per-endpoint breakers, and
//! choosing its window and thresholds. Every example here is compiled and
//! run as a doctest.
//!
//! # Layer order with `retry` and `timeout`
//!
//! Outermost first: **retry → breaker → timeout → service**.
//!
//! * The **timeout sits inside the breaker**, so a call that hangs ends as
//!   a timeout the breaker counts (as overload, with
//!   [`BreakerLayer::http`](super::BreakerLayer::http) or any classifier
//!   that sees `Err`), and a half-open probe that hangs gives its verdict
//!   after the timeout instead of holding the probe slot for ever.
//! * The **retry sits outside**, so each attempt asks the breaker, and its
//!   policy **does not retry a refusal**: the breaker refused because the
//!   backend is failing, and an immediate retry would only be refused again
//!   (or, in half-open, take another probe slot). [`crate::rejection`]
//!   finds the refusal however the error was wrapped.
//!
//! ```
//! use std::time::Duration;
//! use tower::retry::Policy;
//! use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};
//! use seawall::breaker::{BreakerLayer, CircuitBreaker, State};
//!
//! /// Retries failed calls up to `left` times, but never a refusal.
//! #[derive(Clone)]
//! struct RetryUnlessRefused { left: u32 }
//!
//! impl<Req: Clone, Res> Policy<Req, Res, BoxError> for RetryUnlessRefused {
//!     type Future = std::future::Ready<()>;
//!
//!     fn retry(&mut self, _: &mut Req, result: &mut Result<Res, BoxError>) -> Option<Self::Future> {
//!         match result {
//!             Err(err) if self.left > 0 && seawall::rejection(&**err).is_none() => {
//!                 self.left -= 1;
//!                 Some(std::future::ready(()))
//!             }
//!             _ => None,
//!         }
//!     }
//!
//!     fn clone_request(&mut self, req: &Req) -> Option<Req> {
//!         Some(req.clone())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), BoxError> {
//! let breaker = CircuitBreaker::builder().name("search").consecutive_failures(3).build()?;
//! let hanging = service_fn(|_: ()| std::future::pending::<Result<(), BoxError>>());
//! let mut stack = ServiceBuilder::new()
//!     .retry(RetryUnlessRefused { left: 5 })
//!     .layer(BreakerLayer::new(breaker.clone()))
//!     .timeout(Duration::from_secs(2))
//!     .service(hanging);
//!
//! // Three attempts time out and open the breaker; the retry stops at the
//! // refusal instead of spending its last two attempts on it.
//! let err = stack.ready().await?.call(()).await.unwrap_err();
//! assert!(seawall::rejection(&*err).is_some(), "{err}");
//! assert_eq!(breaker.state(), State::Open);
//! assert_eq!(breaker.metrics().not_permitted_calls(), 1, "one refusal, not retried");
//! # Ok(())
//! # }
//! ```
//!
//! # axum: a refusal becomes 503 with `Retry-After`
//!
//! An axum route's service must not fail, so a `HandleErrorLayer` turns the
//! breaker's error into a response: 503 with a `Retry-After` header when
//! the breaker refused (the caller can come back then), 500 for anything
//! else. Put the breaker inside it, and give it the HTTP classifier so that
//! the handler's own 5xx answers count.
//!
//! ```
//! use axum::error_handling::HandleErrorLayer;
//! use axum::http::{header, Request, StatusCode};
//! use axum::response::{IntoResponse, Response};
//! use axum::{routing::get, Router};
//! use tower::{BoxError, ServiceBuilder, ServiceExt};
//! use seawall::breaker::{BreakerLayer, CircuitBreaker};
//!
//! async fn refusal_to_response(err: BoxError) -> Response {
//!     match seawall::rejection(&*err) {
//!         Some(refused) => {
//!             // Whole seconds, rounded up: `Retry-After: 0` would invite a
//!             // retry that is refused again.
//!             let secs = refused
//!                 .retry_after()
//!                 .map_or(1, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
//!             (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, secs.to_string())], refused.to_string())
//!                 .into_response()
//!         }
//!         None => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let breaker = CircuitBreaker::builder()
//!     .name("reports")
//!     .consecutive_failures(2)
//! #   .clock(seawall::clock::ManualClock::new()) // an exact Retry-After below
//!     .build()?;
//! let app = Router::new()
//!     .route("/report", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
//!     .layer(
//!         ServiceBuilder::new()
//!             .layer(HandleErrorLayer::new(refusal_to_response))
//!             .layer(BreakerLayer::http(breaker.clone())),
//!     );
//!
//! let get_report = || Request::get("/report").body(axum::body::Body::empty()).unwrap();
//! for _ in 0..2 {
//!     let res = app.clone().oneshot(get_report()).await?;
//!     assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! }
//! let res = app.clone().oneshot(get_report()).await?;
//! assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
//! assert_eq!(res.headers()[header::RETRY_AFTER], "60");
//! # Ok(())
//! # }
//! ```
//!
//! # One breaker per endpoint
//!
//! A breaker judges one thing: give each backend (or route) its own, so
//! that one failing dependency does not refuse calls to the healthy ones.
//! Clones of a [`CircuitBreaker`](super::CircuitBreaker) and of its layer
//! share one state, so build one per endpoint from one configuration and
//! clone it into every connection's stack:
//!
//! ```
//! use seawall::breaker::{BreakerLayer, CircuitBreaker, Config};
//!
//! let shared = CircuitBreaker::builder().time_window(30).minimum_number_of_calls(20);
//! let config: Config = shared.build()?.config().clone();
//! let per_backend = |name: &str| {
//!     CircuitBreaker::builder().config(config.clone()).name(name).build().map(BreakerLayer::http)
//! };
//! let users = per_backend("users")?;
//! let billing = per_backend("billing")?;
//! assert_ne!(users.breaker().name(), billing.breaker().name());
//! # Ok::<(), seawall::ConfigError>(())
//! ```
//!
//! When the endpoints are not known in advance (a breaker per upstream
//! host, per tenant), use `KeyedBreakers` and `KeyedBreakerLayer`
//! (feature `keyed`): a breaker per key extracted from the request, made on
//! first use, forgotten when idle.
//!
//! # Choosing the window and the thresholds
//!
//! * **Count window** (`count_window(n)`): the last `n` calls. Choose `n`
//!   as the number of calls the decision should rest on at your normal
//!   rate: 100 calls at 50 calls per second judges the last two seconds,
//!   at 1 per second the last minute and a half. It forgets nothing while
//!   traffic pauses.
//! * **Time window** (`time_window(s)`): the calls of the last `s`
//!   seconds, whatever their number. Choose it when the rate varies a lot
//!   or when the question is "how did the last minute go". Old failures
//!   age out even without traffic.
//! * **Consecutive failures** (`consecutive_failures(k)`): for low or very
//!   irregular traffic, where a rate over few calls means little.
//! * **`minimum_number_of_calls`** keeps a quiet period from tripping on
//!   two failures of three calls: set it to the smallest number of calls
//!   whose failure rate you would act on (often 10 to 20 % of a count
//!   window, or a few seconds' calls for a time window).
//! * **`failure_rate_threshold`**: the failure rate at which calling the
//!   backend does more harm than good; 50 % (resilience4j's default) is a
//!   sound start. Classify what is not the backend's fault (a 4xx, a
//!   cancelled call) as ignored so that it does not count.
//! * **Slow calls**: set `slow_call_duration_threshold` below the timeout
//!   inside the breaker, so that a backend that answers, but too slowly,
//!   opens the circuit before it times every call out.
//! * **`wait_duration_in_open_state`**: about how long the backend takes
//!   to recover (a restart, a fail-over); an exponential backoff with jitter
//!   spreads the probes of many clients that opened together.
//! * **`permitted_number_of_calls_in_half_open_state`**: enough probes to
//!   judge (the failure-rate threshold applies to them), few enough not to
//!   flood a backend that is still weak: 3 to 10.
//!
//! # Under heavy concurrency
//!
//! Measured with `cargo bench --bench breaker` on a 2-core VM, one call in
//! 64 failing; ns per call added to a bare service on one thread (default
//! handle, then a `&'static` breaker from `Breaker::from_static`), and two
//! threads sharing one breaker as their throughput over one thread's:
//!
//! | window | ns per call | 2 threads vs 1 |
//! | --- | --- | --- |
//! | count window | 12.7 (8.7) | 0.41–0.75 (0.40–0.58) |
//! | time window | 15.2 (10.9) | 1.44–1.45 |
//! | count window + slow calls | 18.6 (14.0) | 0.47–0.48 |
//! | time window + slow calls | 19.7 | 1.36–1.50 |
//! | consecutive failures | 7.0 | 1.06–1.59 |
//! | recloser 1.4, for comparison | 14.9 | 0.15–0.20 |
//! | one shared `fetch_add` | 4.7 | 0.62–0.69 |
//!
//! (Ranges are over three runs; the two-thread rows of a shared 2-core
//! machine vary that much.) A time window's two threads together still
//! make a pair of calls in about 24 ns, against 29 ns before this release's
//! spare handles; the ratio fell because one thread got faster still (23
//! to 17 ns), and what two threads share (a failure's verdict reads the
//! other thread's buckets) is now a larger part of a call.
//!
//! A count window keeps an exact order of the last `n` calls, so every
//! recorded call moves one shared cursor: with failures present it scales
//! like one shared atomic. A time window writes only the calling thread's
//! buckets. So when many cores call one breaker at high rates, choose a
//! time window, and put slow-call detection on a time window too. For the
//! hottest paths a `&'static` breaker saves the hold that each response
//! future otherwise takes from its thread's spares (about 4 ns per call).
