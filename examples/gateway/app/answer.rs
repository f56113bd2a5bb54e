//! The gateway's own answers: a status, a one-line body naming the reason
//! and, for refusals, when to retry.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};
use seawall::breaker::Open;
use seawall::BoxError;

use super::forward::{TimedOut, Unreachable};
use super::pool::{NoEndpoint, Refused};

pub type Body = BoxBody<Bytes, BoxError>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn reply(status: StatusCode, reason: &str, retry_after: Option<Duration>) -> Response<Body> {
    let mut res = Response::new(full(format!("{reason}\n")));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(after) = retry_after {
        // Retry-After counts whole seconds; round up so a client never comes back early.
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        headers.insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    res
}

/// Turns a refused or failed call into its answer.
pub fn from_error(error: &BoxError) -> Response<Body> {
    if let Some(open) = error.downcast_ref::<Open>() {
        let after = open.retry_after().unwrap_or(Duration::from_secs(1));
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &open.to_string(),
            Some(after),
        );
    }
    if let Some(e) = error.downcast_ref::<Refused>() {
        let after = e.retry_after.unwrap_or(Duration::from_secs(1));
        return reply(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), Some(after));
    }
    if let Some(e) = error.downcast_ref::<seawall::bulkhead::Full>() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &e.to_string(),
            Some(Duration::from_secs(1)),
        );
    }
    if let Some(e) = error.downcast_ref::<seawall::bulkhead::WaitTimedOut>() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &e.to_string(),
            Some(Duration::from_secs(1)),
        );
    }
    if let Some(e) = error.downcast_ref::<NoEndpoint>() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &e.to_string(),
            Some(Duration::from_secs(1)),
        );
    }
    if error.is::<TimedOut>() {
        return reply(StatusCode::GATEWAY_TIMEOUT, "backend timed out", None);
    }
    if let Some(e) = error.downcast_ref::<Unreachable>() {
        return reply(StatusCode::BAD_GATEWAY, &e.to_string(), None);
    }
    reply(
        StatusCode::BAD_GATEWAY,
        &format!("bad gateway: {error}"),
        None,
    )
}
