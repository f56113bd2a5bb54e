//! Cost of the P2C balancer.
//!
//! Run with `cargo bench --features balance --bench balance -- --warm-up-time 1
//! --measurement-time 3`. Endpoints are bare `service_fn`s returning ready
//! futures, driven synchronously with a no-op waker unless said otherwise,
//! so what is measured is the balancer's own cost.
//!
//! * `pick/<load>/<n>`: `Chooser::pick` then `Pick::record`, over 10, 100
//!   and 1000 endpoints. Target: flat (within 20 %) in `n`.
//! * `call/seawall/10`, `call/tower_p2c/10`: `poll_ready` + `call` + one
//!   poll, seawall's `Balance` against tower's `p2c::Balance` over
//!   `PendingRequestsDiscover`, one thread, no `Buffer`.
//! * `shared/seawall`, `shared/tower_p2c_buffer`: the same call on a
//!   current-thread tokio runtime, as a balancer shared by several tasks
//!   must be used: a seawall clone directly, tower's behind `Buffer`.
//! * `threads/seawall_1t`, `threads/seawall_2t`: one balancer shared by 1
//!   or 2 threads (a clone each), one call per thread per iteration; the
//!   time is wall time per iteration, so aggregate throughput with 2 threads
//!   ÷ with 1 = 2 · t(1t) ÷ t(2t). Target: at least 1.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use seawall::balance::{Balance, Chooser, Load, PeakEwma, PendingRequests};
use seawall::classify::Outcome;
use tower::{service_fn, Service, ServiceExt};

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn endpoint() -> impl Service<
    u32,
    Response = u32,
    Error = Infallible,
    Future = impl Future<Output = Result<u32, Infallible>> + Send,
> + Clone
       + Send
       + Sync {
    service_fn(|x: u32| std::future::ready(Ok::<_, Infallible>(x)))
}

/// One call driven by hand: the endpoints are always ready.
#[inline]
fn call<S: Service<u32>>(svc: &mut S, cx: &mut Context<'_>) {
    assert!(svc.poll_ready(cx).is_ready());
    let fut = pin!(svc.call(black_box(1)));
    assert!(matches!(fut.poll(cx), Poll::Ready(Ok(_))));
}

fn chooser<L: Load>(load: L, n: usize) -> Chooser<usize, usize> {
    let chooser = Chooser::builder().seed(1).load(load).build().unwrap();
    for i in 0..n {
        chooser.insert(i, i);
    }
    chooser
}

fn pick(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick");
    group.throughput(Throughput::Elements(1));
    for n in [10, 100, 1000] {
        let mut ch = chooser(PendingRequests::default(), n);
        group.bench_with_input(BenchmarkId::new("pending", n), &n, |b, _| {
            b.iter(|| ch.pick().unwrap().record(Outcome::Success))
        });
        let mut ch = chooser(PeakEwma::default(), n);
        group.bench_with_input(BenchmarkId::new("peak_ewma", n), &n, |b, _| {
            b.iter(|| ch.pick().unwrap().record(Outcome::Success))
        });
    }
    group.finish();
}

fn seawall_balance(
    n: usize,
) -> Balance<usize, impl Service<u32, Response = u32, Error = Infallible> + Clone + Send + Sync> {
    let chooser = Chooser::builder().seed(1).build().unwrap();
    for i in 0..n {
        chooser.insert(i, endpoint());
    }
    Balance::new(chooser)
}

fn tower_p2c(
    n: usize,
) -> impl Service<
    u32,
    Response = u32,
    Error = tower::BoxError,
    Future = impl Future<Output = Result<u32, tower::BoxError>> + Send,
> + Send {
    let list = tower::discover::ServiceList::new((0..n).map(|_| endpoint()).collect::<Vec<_>>());
    let discover =
        tower::load::PendingRequestsDiscover::new(list, tower::load::CompleteOnResponse::default());
    tower::balance::p2c::Balance::new(discover)
}

fn per_call(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group("call");
    group.throughput(Throughput::Elements(1));
    let mut sw = seawall_balance(10);
    group.bench_function("seawall/10", |b| b.iter(|| call(&mut sw, &mut cx)));
    let mut tw = tower_p2c(10);
    group.bench_function("tower_p2c/10", |b| b.iter(|| call(&mut tw, &mut cx)));
    group.finish();

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("shared");
    group.throughput(Throughput::Elements(1));
    let sw = seawall_balance(10);
    group.bench_function("seawall", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut svc = sw.clone();
                    svc.ready().await.unwrap().call(1).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    let tw = rt.block_on(async { tower::buffer::Buffer::new(tower_p2c(10), 1024) });
    group.bench_function("tower_p2c_buffer", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut svc = tw.clone();
                    svc.ready().await.unwrap().call(1).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// Wall time of `iters` calls on each of `threads` threads sharing one
/// balancer.
fn run_threads<B>(balance: &B, threads: usize, iters: u64) -> Duration
where
    B: Service<u32> + Clone + Send,
{
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let mut svc = balance.clone();
            s.spawn(move || {
                let waker = Waker::from(Arc::new(Noop));
                let mut cx = Context::from_waker(&waker);
                for _ in 0..iters {
                    call(&mut svc, &mut cx);
                }
            });
        }
    });
    start.elapsed()
}

fn threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads");
    let sw = seawall_balance(10);
    for n in [1, 2] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("seawall_{n}t"), |b| {
            b.iter_custom(|iters| run_threads(&sw, n, iters))
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    pick(&mut c);
    per_call(&mut c);
    threads(&mut c);
    c.final_summary();
}
