//! The innermost service: one call to one endpoint over the pooled
//! keep-alive client, bounded by the route's timeout, so that a timeout is
//! an outcome the endpoint's breaker learns from.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use seawall::BoxError;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The route's timeout, carried to the endpoint in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct CallTimeout(pub Duration);

/// The endpoint did not answer within the route's timeout.
#[derive(Debug)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("backend timed out")
    }
}

impl std::error::Error for TimedOut {}

/// The endpoint could not be reached, or dropped the connection.
#[derive(Debug)]
pub struct Unreachable(pub hyper_util::client::legacy::Error);

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "backend unreachable: {}", self.0)
    }
}

impl std::error::Error for Unreachable {}

#[derive(Debug, Clone)]
pub struct Forward {
    client: HttpClient,
    addr: SocketAddr,
}

impl Forward {
    pub fn new(client: HttpClient, addr: SocketAddr) -> Self {
        Self { client, addr }
    }
}

impl tower::Service<Request<Full<Bytes>>> for Forward {
    type Response = Response<Incoming>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Incoming>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Full<Bytes>>) -> Self::Future {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let uri = format!("http://{}{}", self.addr, path).parse::<Uri>();
        let timeout = req
            .extensions()
            .get::<CallTimeout>()
            .map_or(Duration::from_secs(30), |t| t.0);
        let client = self.client.clone();
        Box::pin(async move {
            *req.uri_mut() = uri?;
            match tokio::time::timeout(timeout, client.request(req)).await {
                Ok(Ok(res)) => Ok(res),
                Ok(Err(e)) => Err(Unreachable(e).into()),
                Err(_) => Err(TimedOut.into()),
            }
        })
    }
}
