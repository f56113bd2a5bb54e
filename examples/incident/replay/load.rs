//! The open-loop load: calls sent at a fixed rate whatever the answers do,
//! so that overload shows instead of slowing the sender down (a closed loop
//! would hide it).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::MissedTickBehavior;

/// One call as the client saw it.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    pub phase: usize,
    /// When it was sent, since the run began.
    pub sent: Duration,
    pub latency: Duration,
    /// The answer's status, or 0 when none came (connection failed, or the
    /// client gave up).
    pub status: u16,
}

/// Counters the progress line reads while the load runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub done: AtomicU64,
}

pub type LoadClient = Client<HttpConnector, Empty<Bytes>>;

pub fn client() -> LoadClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(4096)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(connector)
}

/// Sends `rate` calls per second for `duration`, spawning each call so that
/// the schedule never waits for an answer; returns when the last is sent.
#[allow(clippy::too_many_arguments)]
pub async fn send_phase(
    client: &LoadClient,
    target: SocketAddr,
    phase: usize,
    rate: f64,
    duration: Duration,
    origin: Instant,
    rng: &mut fastrand::Rng,
    records: &Arc<Mutex<Vec<Record>>>,
    progress: &Arc<Progress>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    let calls = (rate * duration.as_secs_f64()).round() as u64;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    // A late tick sends the calls it owes at once: the average rate holds.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for _ in 0..calls {
        tick.tick().await;
        let uri = format!("http://{target}/items/{}", rng.u32(..100_000));
        let (client, records, progress) = (client.clone(), records.clone(), progress.clone());
        progress.sent.fetch_add(1, Ordering::Relaxed);
        tasks.push(tokio::spawn(async move {
            let sent = origin.elapsed();
            let began = Instant::now();
            let status = call(&client, &uri).await;
            let latency = began.elapsed();
            progress.done.fetch_add(1, Ordering::Relaxed);
            if status == 200 {
                progress.ok.fetch_add(1, Ordering::Relaxed);
            }
            let record = Record {
                phase,
                sent,
                latency,
                status,
            };
            records
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(record);
        }));
    }
}

/// The client's own deadline: well past the gateway's timeout, so that it
/// only fires when the gateway itself is stuck.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);

async fn call(client: &LoadClient, uri: &str) -> u16 {
    let Ok(req) = Request::get(uri).body(Empty::new()) else {
        return 0;
    };
    let exchange = async {
        let res = client.request(req).await.ok()?;
        let status = res.status().as_u16();
        res.into_body().collect().await.ok()?;
        Some(status)
    };
    tokio::time::timeout(CLIENT_TIMEOUT, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}
