//! Events as `tracing` events.

use super::{Event, Observer};

/// Reports events as `tracing` events (feature `tracing`), one target per
/// layer so a filter such as `RUST_LOG=seawall::breaker=info` picks one.
/// The instance's name is the field named after its layer (`breaker`,
/// `bulkhead`, `limiter`, `balancer`), as in the metrics' labels.
///
/// | target | level | message | fields |
/// | --- | --- | --- | --- |
/// | `seawall::breaker` | `INFO` | circuit breaker state transition | `breaker`, `from`, `to`, `generation` |
/// | `seawall::breaker` | `INFO` | circuit breaker reset | `breaker` |
/// | `seawall::breaker` | `DEBUG` | circuit breaker rejected a call | `breaker`, `state`, `retry_after_ms` (when known) |
/// | `seawall::bulkhead` | `DEBUG` | bulkhead rejected a call | `bulkhead`, `reason`, `max_concurrent_calls` |
/// | `seawall::bulkhead` | `INFO` | bulkhead limit changed | `bulkhead`, `from`, `to` |
/// | `seawall::limit` | `DEBUG` | concurrency limit rejected a call | `limiter`, `reason`, `limit`, `partition` and `waited_ms` (when known) |
/// | `seawall::limit` | `DEBUG` | concurrency limit changed | `limiter`, `from`, `to` |
/// | `seawall::balance` | `WARN` | balancer ejected an endpoint | `balancer`, `endpoint`, `reason`, `duration_ms`, `ejections` |
/// | `seawall::balance` | `INFO` | balancer returned an endpoint | `balancer`, `endpoint` |
/// | `seawall::balance` | `DEBUG` | balancer removed an endpoint | `balancer`, `endpoint`, `ejected` |
///
/// Rejections are at `DEBUG`: during an outage every refused call is one,
/// and the counters of `MetricsObserver` (feature `metrics`) are the
/// cheaper way to watch them. An adaptive limit moves often, so its changes
/// are at `DEBUG` too; a bulkhead's limit changes only when asked to.
/// Labels such as `state` and `reason` take the same values as the metrics'.
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// use seawall::observe::TracingObserver;
/// let breaker = CircuitBreaker::builder().observer(TracingObserver).build()?;
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingObserver;

impl Observer for TracingObserver {
    fn on_event(&self, event: &Event<'_>) {
        match *event {
            #[cfg(feature = "breaker")]
            Event::BreakerTransition {
                name,
                from,
                to,
                generation,
            } => ::tracing::info!(
                target: "seawall::breaker",
                breaker = name,
                from = from.as_str(),
                to = to.as_str(),
                generation,
                "circuit breaker state transition"
            ),
            #[cfg(feature = "breaker")]
            Event::BreakerReset { name } => {
                ::tracing::info!(target: "seawall::breaker", breaker = name, "circuit breaker reset")
            }
            #[cfg(feature = "breaker")]
            Event::BreakerRejected {
                name,
                state,
                retry_after,
            } => ::tracing::debug!(
                target: "seawall::breaker",
                breaker = name,
                state = state.as_str(),
                retry_after_ms = retry_after.map(millis),
                "circuit breaker rejected a call"
            ),
            #[cfg(feature = "bulkhead")]
            Event::BulkheadRejected {
                name,
                max_concurrent_calls,
                reason,
            } => ::tracing::debug!(
                target: "seawall::bulkhead",
                bulkhead = name,
                reason = reason.as_str(),
                max_concurrent_calls,
                "bulkhead rejected a call"
            ),
            #[cfg(feature = "bulkhead")]
            Event::BulkheadLimitChanged { name, from, to } => ::tracing::info!(
                target: "seawall::bulkhead",
                bulkhead = name,
                from,
                to,
                "bulkhead limit changed"
            ),
            #[cfg(feature = "limit")]
            Event::LimitRejected {
                name,
                limit,
                partition,
                waited,
            } => ::tracing::debug!(
                target: "seawall::limit",
                limiter = name,
                reason = super::limit_reason(waited),
                limit,
                partition,
                waited_ms = waited.map(millis),
                "concurrency limit rejected a call"
            ),
            #[cfg(feature = "limit")]
            Event::LimitChanged { name, from, to } => ::tracing::debug!(
                target: "seawall::limit",
                limiter = name,
                from,
                to,
                "concurrency limit changed"
            ),
            #[cfg(feature = "balance")]
            Event::BalanceEjected {
                name,
                endpoint,
                reason,
                duration,
                ejections,
            } => ::tracing::warn!(
                target: "seawall::balance",
                balancer = name,
                endpoint,
                reason = reason.as_str(),
                duration_ms = millis(duration),
                ejections,
                "balancer ejected an endpoint"
            ),
            #[cfg(feature = "balance")]
            Event::BalanceReturned { name, endpoint } => ::tracing::info!(
                target: "seawall::balance",
                balancer = name,
                endpoint,
                "balancer returned an endpoint"
            ),
            #[cfg(feature = "balance")]
            Event::BalanceRemoved {
                name,
                endpoint,
                ejected,
            } => ::tracing::debug!(
                target: "seawall::balance",
                balancer = name,
                endpoint,
                ejected,
                "balancer removed an endpoint"
            ),
            Event::_Never(_, never) => match never {},
        }
    }
}

#[cfg(any(feature = "breaker", feature = "limit", feature = "balance"))]
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
