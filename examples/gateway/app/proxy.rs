//! One request through the gateway: route, bulkhead, bounded body read,
//! header rewriting, the pool's call, and the answer.

use std::net::SocketAddr;
use std::time::Instant;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST};
use hyper::{Request, Response, StatusCode, Version};
use seawall::BoxError;

use super::answer::{self, reply, Body};
use super::forward::CallTimeout;
use super::gateway::Gateway;
use super::held::{Held, Hold};
use super::ops;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub async fn handle(gw: &Gateway, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let start = Instant::now();
    let path = req.uri().path().to_owned();
    if let Some(res) = ops::serve(gw, &path) {
        return res;
    }
    let Some(route) = gw.routes.find(&path) else {
        return reply(StatusCode::NOT_FOUND, "no route for this path", None);
    };
    let res = match forward(gw, route, req, peer).await {
        Ok(res) => res,
        Err(res) => res,
    };
    let status = res.status().as_u16().to_string();
    metrics::counter!("seawall_gateway_requests_total", "route" => route.prefix.clone(), "status" => status).increment(1);
    metrics::histogram!("seawall_gateway_request_duration_seconds", "route" => route.prefix.clone())
        .record(start.elapsed().as_secs_f64());
    res
}

async fn forward(
    gw: &Gateway,
    route: &super::route::Route,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Response<Body>> {
    let slot = route.enter().await.map_err(|e| answer::from_error(&e))?;
    let (mut parts, body) = req.into_parts();
    let server = &gw.config.server;
    let read = tokio::time::timeout(
        server.body_read_timeout,
        Limited::new(body, server.max_body_bytes).collect(),
    );
    let body = match read.await {
        Err(_) => {
            return Err(reply(
                StatusCode::REQUEST_TIMEOUT,
                "request body not sent in time",
                None,
            ))
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
                None,
            ))
        }
        Ok(Err(_)) => {
            return Err(reply(
                StatusCode::BAD_REQUEST,
                "request body could not be read",
                None,
            ))
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(HOST);
    add_forwarded_for(&mut parts.headers, peer);
    parts.version = Version::HTTP_11;
    parts.extensions.insert(CallTimeout(route.timeout));
    let upstream = Request::from_parts(parts, Full::new(body));
    match route.pool.call(upstream).await {
        Ok((res, call)) => Ok(downstream(
            res,
            Hold {
                slot,
                call: Some(call),
            },
        )),
        Err(e) => Err(answer::from_error(&e)),
    }
}

/// The backend's answer for the client; the route's slot and the call's
/// hold on its endpoint go with the body, released when it ends.
fn downstream(res: Response<Incoming>, hold: Hold) -> Response<Body> {
    let (mut parts, body) = res.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let body = Held::new(body, hold);
    Response::from_parts(parts, body.map_err(BoxError::from).boxed())
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn add_forwarded_for(headers: &mut HeaderMap, peer: SocketAddr) {
    let ip = peer.ip().to_string();
    let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(before) => format!("{before}, {ip}"),
        None => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert("x-forwarded-for", v);
    }
}
