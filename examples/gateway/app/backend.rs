//! Demo backends on loopback with a capacity: a fixed number of workers and
//! a service time. Within capacity a call takes the service time; beyond it
//! calls queue for a worker (latency grows); past twice the capacity the
//! workers thrash (every call slows down, so throughput falls); past
//! `exhaust_at` calls in the system, new calls fail at once. Load dropping
//! brings it all back. A backend can also be told to fail every call, to
//! reset its connections, or to be slow.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// How a backend answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Healthy = 0,
    /// Every call answers 500 at once.
    Failing = 1,
    /// Every call's connection is closed without an answer.
    Resetting = 2,
}

#[derive(Debug, Clone)]
pub struct BackendSpec {
    pub name: String,
    /// Workers: calls served at once.
    pub capacity: u32,
    pub service_time: Duration,
    /// Calls in the system beyond which new ones fail at once; 0 for never.
    pub exhaust_at: u32,
}

impl BackendSpec {
    pub fn new(name: impl Into<String>, capacity: u32, service_time: Duration) -> Self {
        Self {
            name: name.into(),
            capacity,
            service_time,
            exhaust_at: capacity.saturating_mul(4),
        }
    }
}

/// What a backend saw, for the replay's report.
#[derive(Debug, Default)]
pub struct BackendStats {
    pub in_system: AtomicU32,
    pub peak: AtomicU32,
    pub served: AtomicU64,
    pub failed: AtomicU64,
    /// Time workers actually spent per call, and the time the model asked
    /// for, in microseconds: their ratio is how much slower than asked a
    /// loaded machine ran the backends.
    pub busy_us: AtomicU64,
    pub asked_us: AtomicU64,
    mode: AtomicU8,
    /// Extra service time in milliseconds (a slow backend).
    extra_ms: AtomicU64,
}

/// A running backend; stops when dropped.
#[derive(Debug)]
pub struct Backend {
    pub addr: SocketAddr,
    pub spec: BackendSpec,
    pub stats: Arc<BackendStats>,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    /// Binds 127.0.0.1 on a free port and serves.
    pub async fn spawn(spec: BackendSpec) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(BackendStats::default());
        let workers = Arc::new(Semaphore::new(spec.capacity as usize));
        let shared = Arc::new((spec.clone(), stats.clone(), workers));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| serve(shared.clone(), req));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            spec,
            stats,
            task,
        })
    }

    pub fn set_mode(&self, mode: Mode) {
        self.stats.mode.store(mode as u8, Ordering::Relaxed);
    }

    pub fn set_extra_delay(&self, extra: Duration) {
        self.stats
            .extra_ms
            .store(extra.as_millis() as u64, Ordering::Relaxed);
    }
}

type Shared = Arc<(BackendSpec, Arc<BackendStats>, Arc<Semaphore>)>;

/// Leaves the system count when the call ends, however it ends.
struct InSystem<'a>(&'a BackendStats);

impl Drop for InSystem<'_> {
    fn drop(&mut self) {
        self.0.in_system.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset on purpose")
    }
}

impl std::error::Error for Reset {}

async fn serve(shared: Shared, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Reset> {
    let (spec, stats, workers) = &*shared;
    match stats.mode.load(Ordering::Relaxed) {
        1 => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{} failing\n", spec.name),
            ));
        }
        2 => return Err(Reset),
        _ => {}
    }
    let now = stats.in_system.fetch_add(1, Ordering::Relaxed) + 1;
    let _guard = InSystem(stats);
    stats.peak.fetch_max(now, Ordering::Relaxed);
    if spec.exhaust_at > 0 && now > spec.exhaust_at {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        return Ok(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{} out of resources\n", spec.name),
        ));
    }
    let Ok(_worker) = workers.acquire().await else {
        return Err(Reset);
    };
    let crowd = stats.in_system.load(Ordering::Relaxed);
    let thrash =
        1.0 + f64::from(crowd.saturating_sub(2 * spec.capacity)) / f64::from(spec.capacity.max(1));
    let extra = Duration::from_millis(stats.extra_ms.load(Ordering::Relaxed));
    let asked = spec.service_time.mul_f64(thrash) + extra;
    let began = std::time::Instant::now();
    tokio::time::sleep(asked).await;
    stats
        .busy_us
        .fetch_add(began.elapsed().as_micros() as u64, Ordering::Relaxed);
    stats
        .asked_us
        .fetch_add(asked.as_micros() as u64, Ordering::Relaxed);
    stats.served.fetch_add(1, Ordering::Relaxed);
    let body = if req.uri().path().ends_with("/headers") {
        req.headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("?")))
            .collect()
    } else {
        format!("{}\n", spec.name)
    };
    let mut res = text(StatusCode::OK, body);
    if let Ok(name) = spec.name.parse() {
        res.headers_mut().insert("x-backend", name);
    }
    Ok(res)
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res
}

impl BackendStats {
    /// Starts a new peak from the calls in the system now.
    pub fn reset_peak(&self) {
        self.peak
            .store(self.in_system.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    pub fn calls(&self) -> u64 {
        self.served.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}
