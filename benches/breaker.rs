//! Cost of the circuit breaker's healthy (CLOSED) path.
//!
//! Run with `cargo bench --bench breaker`. Every service here is driven
//! synchronously, without a runtime: `poll_ready`, then `call`, then one poll
//! of the response future with a no-op waker. The inner service is a bare
//! `service_fn` returning a ready future, so what is left is the wrapper's
//! own cost.
//!
//! # Group `closed_path`: one thread, ns per call
//!
//! * `a_bare`: the bare service.
//! * `b_fetch_add`: bare + one uncontended `AtomicU64::fetch_add` per call,
//!   the reference atomic.
//! * `b2_hold`: bare + the default handle's per-call hold on a breaker
//!   (`Shared::for_call`), owned by the response future and dropped with
//!   it: the floor of any wrapper whose `'static` response future keeps its
//!   breaker alive. In steady state the hold is a spare of the thread's
//!   (no atomic write); a plain `Arc` clone would be two RMWs.
//! * `c_mutex`: bare + a `parking_lot::Mutex<u64>` lock and increment.
//! * `d_count_window`: seawall's `Breaker`, count window of 100 (minimum 100
//!   calls), all calls succeeding, window full.
//! * `d2_count_window_static`: the same breaker given as `&'static`
//!   (`Breaker::from_static`), so calls take no reference count.
//! * `e_time_window`: a 10-second time window.
//! * `f_slow_call`: count window with slow-call detection (1 s threshold),
//!   which reads the clock twice per call.
//! * `g_consecutive`: the consecutive-failures policy (5).
//! * `h_concurrency_limit`, `h_load_shed`: tower's own layers, for context.
//! * `m_*`: one call in 64 fails (the inner service returns an error), so
//!   every success must slide a failure out of a count window:
//!   `m_count_window`, `m2_count_window_static` (the `&'static` handle),
//!   `m_time_window`, `m3_time_window_static`, `m_slow_call`,
//!   `m4_slow_call_static`, `m5_time_slow` (slow-call detection on the
//!   time window, which shares no line between threads), `m_consecutive`,
//!   and the peer
//!   `m_recloser` (recloser 1.4 around the same outcomes, a count window of
//!   100, called through `Recloser::call` with no reference count), and
//!   `m6_count_window_permit`, seawall's count window used the way recloser
//!   is: `try_acquire`, the call and `record` inside `call`, on the default
//!   handle (a borrowed permit takes no reference count).
//! * `q_count_window_16`, `q2_count_window_static_16`, `q_bare_16`: the
//!   mixed count window (default and `&'static` handle) and the bare
//!   service with 16 calls in flight per thread, all admitted before any
//!   completes, as a server thread runs many requests at once; the summary
//!   gives their cost per call.
//! * `p_floor_*`: what a window's record cannot avoid and nothing else, the
//!   floor the `m_*` rows are held to: none, one or two system-clock reads (a
//!   time window reads one to find its bucket; slow-call detection reads
//!   one at admission and one at the outcome), one uncontended `fetch_add`
//!   (a count window's cursor, a time window's bucket), and with `_hold`
//!   the response future's hold on the breaker (as `b2_hold`). The summary
//!   divides each `m_*` row's overhead by its floor's.
//!
//! # Group `two_threads`: one breaker shared by N threads
//!
//! `<variant>_1t` and `<variant>_2t` run the same per-thread work (one call
//! per thread per iteration) on 1 or 2 threads, each thread with its own
//! clone of the service (clones share the breaker, the atomic or the mutex).
//! The time per iteration is the wall time from the first thread's start to
//! the last thread's end, divided by the iterations. `bare` shows what
//! perfect scaling looks like on the machine; `shared_fetch_add` and `mutex`
//! write one shared cache line per call and should not scale. The `mixed_*`
//! rows are the `m_*` services of the one-thread group (`mixed_static` is
//! `m2_count_window_static`); their target is the scaling of
//! `shared_fetch_add` for the count window and 1.6 for the time window and
//! slow-call detection.
//!
//! # The summary
//!
//! After criterion's own output the bench prints a summary from criterion's
//! estimates (medians) of this run:
//!
//! * overhead = t(variant) − t(bare), and overhead ÷ overhead(`b_fetch_add`):
//!   the closed-path cost in "uncontended atomics". Target for
//!   `d_count_window`: at most 3.
//! * `scaling` = aggregate throughput with 2 threads ÷ with 1 thread
//!   = 2 · t(1t) ÷ t(2t), from wall time. 2.0 is perfect; target at least
//!   1.6 for the breaker variants (on a machine with at least 2 idle cores).
//! * `best`: the same ratio from the fastest sample of each side, the one
//!   least disturbed by other processes.
//! * `cpu 1t`, `cpu 2t`: CPU time per call per thread, from
//!   `/proc/thread-self/schedstat` (Linux), summed over all runs. `cpu-sc`
//!   = 2 · cpu(1t) ÷ cpu(2t) is the scaling the threads would reach if no
//!   other process took a core: contention (a cache line bouncing between
//!   the threads) raises the CPU time per call, preemption does not.
//! * `wait%`: the share of the 2-thread runs spent runnable but waiting for
//!   a CPU. Above 5 % the summary warns that the machine was busy and wall
//!   time understates the scaling.
//!
//! Instruction and atomic counts per call, which no busy machine disturbs,
//! come from `examples/profile_breaker.rs` under callgrind (see the
//! breaker's `window` module docs for the breakdown and the floor it shows).
//!
//! Allocation counts are not measured here (a counting global allocator
//! would need `unsafe`, which the crate forbids); see `tests/alloc.rs`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput};
use parking_lot::Mutex;
use seawall::breaker::{Breaker, BreakerRef, CircuitBreaker, Shared, SharedCall, State};
use seawall::classify::{DefaultClassifier, Outcome};
use seawall::clock::{Clock, SystemClock};
use tower::limit::ConcurrencyLimit;
use tower::load_shed::LoadShed;
use tower::Service;

/// The bare service's response future.
type Ready<T> = std::future::Ready<Result<T, Infallible>>;

const CLOSED: &str = "closed_path";
const THREADS: &str = "two_threads";

/// A waker that does nothing (`Waker::noop` needs Rust 1.85, above the
/// crate's MSRV; this one is safe and just as cheap to hold).
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}

/// The bare inner service: an always-ready `service_fn`.
fn bare(
) -> impl Service<u64, Response = u64, Error = Infallible, Future = Ready<u64>> + Clone + Send + 'static
{
    tower::service_fn(|x: u64| std::future::ready(Ok::<_, Infallible>(x)))
}

/// Bare + one `fetch_add` per call on an atomic that clones share.
#[derive(Clone)]
struct Counted<S> {
    inner: S,
    hits: Arc<AtomicU64>,
}

impl<S: Service<u64>> Service<u64> for Counted<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, x: u64) -> S::Future {
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.inner.call(x)
    }
}

/// The floor of a window's record, and nothing else: `READS` reads of the
/// system clock and `RMWS` uncontended `fetch_add`s per call, and with
/// `HELD` the default handle's hold on a breaker, owned by the response
/// future (what the default handle adds). Each clone writes a line of its
/// own, as a thread writes its own stripe of a time window.
struct Floor<S, const READS: usize, const RMWS: usize, const HELD: bool> {
    inner: S,
    line: Arc<AtomicU64>,
    handles: Shared,
}

impl<S: Clone, const READS: usize, const RMWS: usize, const HELD: bool> Clone
    for Floor<S, READS, RMWS, HELD>
{
    fn clone(&self) -> Self {
        floor(self.inner.clone())
    }
}

fn floor<S, const READS: usize, const RMWS: usize, const HELD: bool>(
    inner: S,
) -> Floor<S, READS, RMWS, HELD> {
    Floor {
        inner,
        line: Arc::new(AtomicU64::new(0)),
        handles: Shared::new(CircuitBreaker::builder().build().expect("valid")),
    }
}

/// The response future of [`Floor`]: the inner one, maybe holding a handle.
struct FloorFuture<F> {
    inner: F,
    _hold: Option<SharedCall>,
}

impl<F: Future + Unpin> Future for FloorFuture<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

impl<S, const READS: usize, const RMWS: usize, const HELD: bool> Service<u64>
    for Floor<S, READS, RMWS, HELD>
where
    S: Service<u64>,
    S::Future: Unpin,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = FloorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, x: u64) -> Self::Future {
        let mut now = 0;
        for _ in 0..READS {
            now ^= black_box(SystemClock.now_nanos());
        }
        for _ in 0..RMWS {
            self.line.fetch_add(now | 1, Ordering::Relaxed);
        }
        FloorFuture {
            inner: self.inner.call(x),
            _hold: HELD.then(|| self.handles.for_call()),
        }
    }
}

/// The borrowed-permit API around the mixed service, with the default
/// handle: `try_acquire`, the call, `record`, all inside `call`, as
/// recloser's `Recloser::call` does (no response future owns the breaker, so
/// no reference count).
#[derive(Clone)]
struct Permitted {
    breaker: CircuitBreaker,
}

impl Service<u64> for Permitted {
    type Response = u64;
    type Error = Fail;
    type Future = std::future::Ready<Result<u64, Fail>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, x: u64) -> Self::Future {
        let Ok(permit) = self.breaker.try_acquire() else {
            return std::future::ready(Err(Fail));
        };
        let result = if fails(x) { Err(Fail) } else { Ok(x) };
        permit.record(if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        });
        std::future::ready(result)
    }
}

/// Bare + one mutex lock and increment per call on a mutex that clones share.
#[derive(Clone)]
struct Locked<S> {
    inner: S,
    hits: Arc<Mutex<u64>>,
}

impl<S: Service<u64>> Service<u64> for Locked<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, x: u64) -> S::Future {
        *self.hits.lock() += 1;
        self.inner.call(x)
    }
}

fn counted() -> Counted<
    impl Service<u64, Response = u64, Error = Infallible, Future = Ready<u64>> + Clone + Send,
> {
    Counted {
        inner: bare(),
        hits: Arc::new(AtomicU64::new(0)),
    }
}

fn locked(
) -> Locked<impl Service<u64, Response = u64, Error = Infallible, Future = Ready<u64>> + Clone + Send>
{
    Locked {
        inner: bare(),
        hits: Arc::new(Mutex::new(0)),
    }
}

/// A breaker-guarded bare service, warmed up so that its window is full.
fn guarded(
    breaker: CircuitBreaker,
) -> Breaker<
    impl Service<u64, Response = u64, Error = Infallible, Future = Ready<u64>> + Clone + Send,
> {
    warmed(Breaker::new(bare(), breaker))
}

/// The same over a breaker given as `&'static` (no reference count per
/// call).
fn guarded_static(
    breaker: CircuitBreaker,
) -> Breaker<
    impl Service<u64, Response = u64, Error = Infallible, Future = Ready<u64>> + Clone + Send,
    DefaultClassifier,
    &'static CircuitBreaker,
> {
    warmed(Breaker::from_static(bare(), Box::leak(Box::new(breaker))))
}

fn warmed<S, B>(mut svc: Breaker<S, DefaultClassifier, B>) -> Breaker<S, DefaultClassifier, B>
where
    S: Service<u64, Response = u64>,
    Breaker<S, DefaultClassifier, B>: Service<u64, Response = u64>,
    B: BreakerRef,
{
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    for i in 0..1_000 {
        call_once(&mut svc, &mut cx, i);
    }
    assert_eq!(svc.breaker().state(), State::Closed);
    svc
}

fn count_window() -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(100)
        .minimum_number_of_calls(100)
        .build()
        .expect("valid config")
}

fn time_window() -> CircuitBreaker {
    CircuitBreaker::builder()
        .time_window(10)
        .build()
        .expect("valid config")
}

fn slow_call() -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(100)
        .minimum_number_of_calls(100)
        .slow_call_duration_threshold(Duration::from_secs(1))
        .build()
        .expect("valid config")
}

/// Slow-call detection on a time window: no shared line on the success
/// path, unlike the count window's cursor.
fn time_slow() -> CircuitBreaker {
    CircuitBreaker::builder()
        .time_window(10)
        .slow_call_duration_threshold(Duration::from_secs(1))
        .build()
        .expect("valid config")
}

fn consecutive() -> CircuitBreaker {
    CircuitBreaker::builder()
        .consecutive_failures(5)
        .build()
        .expect("valid config")
}

/// The error of the mixed-outcome rows: a unit struct, so boxing it
/// allocates nothing.
#[derive(Debug, Clone, Copy)]
struct Fail;

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("backend failed")
    }
}

impl std::error::Error for Fail {}

/// Whether call `x` of the mixed-outcome rows fails: one in 64.
#[inline(always)]
fn fails(x: u64) -> bool {
    x % 64 == 63
}

/// The bare service failing one call in 64.
fn mixed(
) -> impl Service<u64, Response = u64, Error = Fail, Future = std::future::Ready<Result<u64, Fail>>>
       + Clone
       + Send
       + 'static {
    tower::service_fn(|x: u64| std::future::ready(if fails(x) { Err(Fail) } else { Ok(x) }))
}

/// The mixed service behind a breaker, warmed up.
fn guarded_mixed(
    breaker: CircuitBreaker,
) -> Breaker<impl Service<u64, Response = u64, Error = Fail, Future: Unpin> + Clone + Send> {
    warmed(Breaker::new(mixed(), breaker))
}

/// The same over a breaker given as `&'static`: no reference count per
/// call, like the peer row's borrowed `Recloser`.
fn guarded_mixed_static(
    breaker: CircuitBreaker,
) -> Breaker<
    impl Service<u64, Response = u64, Error = Fail, Future: Unpin> + Clone + Send,
    DefaultClassifier,
    &'static CircuitBreaker,
> {
    warmed(Breaker::from_static(mixed(), Box::leak(Box::new(breaker))))
}

/// The peer: recloser (a count window of 100 over a spin-locked ring, the
/// call made inside `Recloser::call`), around the same mixed outcomes.
#[derive(Clone)]
struct Reclosed {
    breaker: Arc<recloser::Recloser>,
}

impl Service<u64> for Reclosed {
    type Response = u64;
    type Error = recloser::Error<Fail>;
    type Future = std::future::Ready<Result<u64, recloser::Error<Fail>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, x: u64) -> Self::Future {
        std::future::ready(
            self.breaker
                .call(|| if fails(x) { Err(Fail) } else { Ok(x) }),
        )
    }
}

fn reclosed() -> Reclosed {
    Reclosed {
        breaker: Arc::new(
            recloser::Recloser::custom()
                .error_rate(0.5)
                .closed_len(100)
                .build(),
        ),
    }
}

/// One call: `poll_ready`, `call`, one poll of the response future.
#[inline(always)]
fn call_once<S>(svc: &mut S, cx: &mut Context<'_>, x: u64) -> u64
where
    S: Service<u64, Response = u64>,
{
    match svc.poll_ready(cx) {
        Poll::Ready(Ok(())) => {}
        _ => unreachable!("the services here are always ready"),
    }
    let fut = pin!(svc.call(x));
    match fut.poll(cx) {
        Poll::Ready(Ok(v)) => v,
        // The mixed-outcome rows fail one call in 64.
        Poll::Ready(Err(_)) => u64::MAX,
        Poll::Pending => unreachable!("the services here answer at once"),
    }
}

fn bench_one<S>(c: &mut Criterion, id: &str, mut svc: S)
where
    S: Service<u64, Response = u64>,
{
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group(CLOSED);
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    let mut x = 0u64;
    group.bench_function(id, |b| {
        b.iter(|| {
            x = x.wrapping_add(1);
            call_once(&mut svc, &mut cx, black_box(x))
        })
    });
    group.finish();
}

/// Calls a thread has in flight at once in the `q_*` rows.
const IN_FLIGHT: usize = 16;

/// `IN_FLIGHT` calls admitted before any completes, then all completed, as
/// a server thread with many requests in flight runs them; the row's time
/// is per call (criterion's per iteration, divided in the summary).
fn bench_in_flight<S>(c: &mut Criterion, id: &str, mut svc: S)
where
    S: Service<u64, Response = u64>,
    S::Future: Unpin,
{
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut group = c.benchmark_group(CLOSED);
    configure(&mut group);
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    let mut x = 0u64;
    let mut futures = Vec::with_capacity(IN_FLIGHT);
    group.bench_function(id, |b| {
        b.iter(|| {
            for _ in 0..IN_FLIGHT {
                x = x.wrapping_add(1);
                assert!(svc.poll_ready(&mut cx).is_ready());
                futures.push(svc.call(black_box(x)));
            }
            let mut sum = 0u64;
            for mut future in futures.drain(..) {
                if let Poll::Ready(Ok(v)) = std::pin::Pin::new(&mut future).poll(&mut cx) {
                    sum = sum.wrapping_add(v);
                }
            }
            sum
        })
    });
    group.finish();
}

fn configure<M: criterion::measurement::Measurement>(group: &mut criterion::BenchmarkGroup<'_, M>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
}

fn closed_path(c: &mut Criterion) {
    bench_one(c, "a_bare", bare());
    bench_one(c, "b_fetch_add", counted());
    bench_one(c, "b2_hold", floor::<_, 0, 0, true>(bare()));
    bench_one(c, "c_mutex", locked());
    let d = guarded(count_window());
    bench_one(c, "d_count_window", d.clone());
    assert_eq!(d.breaker().state(), State::Closed);
    let d2 = guarded_static(count_window());
    bench_one(c, "d2_count_window_static", d2.clone());
    assert_eq!(d2.breaker().state(), State::Closed);
    let e = guarded(time_window());
    bench_one(c, "e_time_window", e.clone());
    assert_eq!(e.breaker().state(), State::Closed);
    let f = guarded(slow_call());
    bench_one(c, "f_slow_call", f.clone());
    assert_eq!(f.breaker().state(), State::Closed);
    let g = guarded(consecutive());
    bench_one(c, "g_consecutive", g.clone());
    assert_eq!(g.breaker().state(), State::Closed);
    bench_one(
        c,
        "h_concurrency_limit",
        ConcurrencyLimit::new(bare(), usize::MAX >> 4),
    );
    bench_one(c, "h_load_shed", LoadShed::new(bare()));
    // One call in 64 fails: every success must slide a failure out.
    bench_one(c, "m_count_window", guarded_mixed(count_window()));
    bench_one(
        c,
        "m2_count_window_static",
        guarded_mixed_static(count_window()),
    );
    bench_one(c, "m_time_window", guarded_mixed(time_window()));
    bench_one(
        c,
        "m3_time_window_static",
        guarded_mixed_static(time_window()),
    );
    bench_one(c, "m_slow_call", guarded_mixed(slow_call()));
    bench_one(c, "m4_slow_call_static", guarded_mixed_static(slow_call()));
    bench_one(c, "m5_time_slow", guarded_mixed(time_slow()));
    bench_one(c, "m_consecutive", guarded_mixed(consecutive()));
    bench_one(c, "m_recloser", reclosed());
    let permitted = Permitted {
        breaker: count_window(),
    };
    bench_one(c, "m6_count_window_permit", permitted.clone());
    // The same mixed count window with 16 calls in flight per thread.
    bench_in_flight(c, "q_count_window_16", guarded_mixed(count_window()));
    bench_in_flight(
        c,
        "q2_count_window_static_16",
        guarded_mixed_static(count_window()),
    );
    bench_in_flight(c, "q_bare_16", bare());
    assert_eq!(permitted.breaker.state(), State::Closed);
    // The floors: what the rows above cannot avoid.
    bench_one(c, "p_floor_1rmw_hold", floor::<_, 0, 1, true>(bare()));
    bench_one(c, "p_floor_1clock_1rmw", floor::<_, 1, 1, false>(bare()));
    bench_one(
        c,
        "p_floor_1clock_1rmw_hold",
        floor::<_, 1, 1, true>(bare()),
    );
    bench_one(c, "p_floor_2clock_1rmw", floor::<_, 2, 1, false>(bare()));
    bench_one(
        c,
        "p_floor_2clock_1rmw_hold",
        floor::<_, 2, 1, true>(bare()),
    );
}

/// The calling thread's scheduler statistics from
/// `/proc/thread-self/schedstat` (Linux): nanoseconds spent on a CPU and
/// nanoseconds spent runnable but waiting for one. None elsewhere.
fn schedstat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// CPU time, run-queue wait and calls of one benchmark's threads, summed
/// over every `iter_custom` run of it.
#[derive(Default, Clone, Copy)]
struct Sched {
    run_ns: u64,
    wait_ns: u64,
    calls: u64,
}

static SCHED: Mutex<BTreeMap<String, Sched>> = Mutex::new(BTreeMap::new());

/// Runs `iters` calls on each of `threads` threads, each with its own clone
/// of `svc`, all released together; returns the wall time from the first
/// start to the last end, and adds the threads' scheduler statistics to
/// `SCHED[id]`.
fn run_threads<S>(id: &str, svc: &S, threads: usize, iters: u64) -> Duration
where
    S: Service<u64, Response = u64> + Clone + Send,
{
    let barrier = Barrier::new(threads);
    type Span = (Instant, Instant, Option<(u64, u64)>);
    let spans: Vec<Span> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let mut svc = svc.clone();
                let barrier = &barrier;
                s.spawn(move || {
                    let waker = noop_waker();
                    let mut cx = Context::from_waker(&waker);
                    // Touch the thread's stripe before the clock starts.
                    black_box(call_once(&mut svc, &mut cx, 0));
                    barrier.wait();
                    let before = schedstat();
                    let start = Instant::now();
                    for i in 0..iters {
                        black_box(call_once(&mut svc, &mut cx, black_box(i)));
                    }
                    let end = Instant::now();
                    let after = schedstat();
                    let sched = before
                        .zip(after)
                        .map(|(b, a)| (a.0.saturating_sub(b.0), a.1.saturating_sub(b.1)));
                    (start, end, sched)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread panicked"))
            .collect()
    });
    let mut stats = SCHED.lock();
    let entry = stats.entry(id.to_owned()).or_default();
    for (_, _, sched) in &spans {
        if let Some((run, wait)) = sched {
            entry.run_ns += run;
            entry.wait_ns += wait;
            entry.calls += iters;
        }
    }
    let start = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("one thread at least");
    let end = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("one thread at least");
    end - start
}

fn bench_scaling<S>(c: &mut Criterion, name: &str, svc: S)
where
    S: Service<u64, Response = u64> + Clone + Send,
{
    let mut group = c.benchmark_group(THREADS);
    configure(&mut group);
    for threads in [1usize, 2] {
        let id = format!("{name}_{threads}t");
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| run_threads(&id, &svc, threads, iters))
        });
    }
    group.finish();
}

fn two_threads(c: &mut Criterion) {
    bench_scaling(c, "bare", bare());
    bench_scaling(c, "shared_fetch_add", counted());
    bench_scaling(c, "mutex", locked());
    let d = guarded(count_window());
    bench_scaling(c, "count_window", d.clone());
    assert_eq!(d.breaker().state(), State::Closed);
    let d2 = guarded_static(count_window());
    bench_scaling(c, "count_window_static", d2.clone());
    assert_eq!(d2.breaker().state(), State::Closed);
    let e = guarded(time_window());
    bench_scaling(c, "time_window", e.clone());
    assert_eq!(e.breaker().state(), State::Closed);
    let g = guarded(consecutive());
    bench_scaling(c, "consecutive", g.clone());
    assert_eq!(g.breaker().state(), State::Closed);
    for (name, breaker) in [
        ("mixed_count", count_window()),
        ("mixed_time", time_window()),
        ("mixed_slow", slow_call()),
        ("mixed_time_slow", time_slow()),
        ("mixed_consec", consecutive()),
    ] {
        let m = guarded_mixed(breaker);
        bench_scaling(c, name, m.clone());
        assert_eq!(m.breaker().state(), State::Closed, "{name} tripped");
    }
    bench_scaling(c, "mixed_static", guarded_mixed_static(count_window()));
    bench_scaling(c, "mixed_recloser", reclosed());
}

/// Where criterion may have written its estimates, in the order criterion
/// picks: `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`, else (under
/// cargo) the target directory, which holds the bench binary in
/// `<target>/<profile>/deps/`, or (run by hand) `./target/criterion`.
fn criterion_homes() -> Vec<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return vec![home.into()];
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return vec![PathBuf::from(target).join("criterion")];
    }
    let mut homes = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(target) = exe.parent().and_then(Path::parent).and_then(Path::parent) {
            homes.push(target.join("criterion"));
        }
    }
    homes.push(PathBuf::from("target/criterion"));
    homes
}

/// A file criterion wrote for `group/id` in this run (None if it did not
/// run it: a file older than `since` is left over from an earlier run).
fn estimate_file(
    homes: &[PathBuf],
    group: &str,
    id: &str,
    file: &str,
    since: SystemTime,
) -> Option<serde_json::Value> {
    homes.iter().find_map(|home| {
        let path = home.join(group).join(id).join("new").join(file);
        let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
        if modified < since {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        serde_json::from_str(&text).ok()
    })
}

/// The median time per iteration, in ns, that this run estimated for
/// `group/id`.
fn median_ns(homes: &[PathBuf], group: &str, id: &str, since: SystemTime) -> Option<f64> {
    estimate_file(homes, group, id, "estimates.json", since)?["median"]["point_estimate"].as_f64()
}

/// The time per iteration, in ns, of the fastest sample of `group/id`: the
/// sample least disturbed by other processes on a shared machine.
fn best_ns(homes: &[PathBuf], group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let sample = estimate_file(homes, group, id, "sample.json", since)?;
    let iters = sample["iters"].as_array()?;
    let times = sample["times"].as_array()?;
    iters
        .iter()
        .zip(times)
        .filter_map(|(n, t)| Some(t.as_f64()? / n.as_f64()?))
        .min_by(f64::total_cmp)
}

fn summary(since: SystemTime) {
    let home = criterion_homes();
    let closed = |id: &str| median_ns(&home, CLOSED, id, since);
    let ids = [
        "a_bare",
        "b_fetch_add",
        "b2_hold",
        "c_mutex",
        "d_count_window",
        "d2_count_window_static",
        "e_time_window",
        "f_slow_call",
        "g_consecutive",
        "h_concurrency_limit",
        "h_load_shed",
        "m_count_window",
        "m2_count_window_static",
        "m_time_window",
        "m3_time_window_static",
        "m_slow_call",
        "m4_slow_call_static",
        "m5_time_slow",
        "m_consecutive",
        "m_recloser",
        "m6_count_window_permit",
        "p_floor_1rmw_hold",
        "p_floor_1clock_1rmw",
        "p_floor_1clock_1rmw_hold",
        "p_floor_2clock_1rmw",
        "p_floor_2clock_1rmw_hold",
    ];
    let bare = closed("a_bare");
    let atomic = closed("b_fetch_add").zip(bare).map(|(b, a)| b - a);
    let mut printed = false;
    for id in ids {
        let Some(t) = closed(id) else { continue };
        if !printed {
            println!("\nsummary ({CLOSED}, medians, one thread)");
            println!(
                "{:<22} {:>9} {:>10} {:>12}",
                "variant", "ns/call", "overhead", "x fetch_add"
            );
            printed = true;
        }
        let over = bare.map(|a| t - a);
        let ratio = over.zip(atomic).map(|(o, a)| o / a);
        println!(
            "{:<22} {:>9.2} {:>10} {:>12}",
            id,
            t,
            over.map_or("-".into(), |o| format!("{o:.2}")),
            ratio.map_or("-".into(), |r| format!("{r:.2}")),
        );
    }
    // Each mixed row against its floor (overheads over bare) and against
    // recloser's whole cost.
    let overhead = |id: &str| closed(id).zip(bare).map(|(t, a)| t - a);
    let mut printed = false;
    for (id, floor) in [
        ("m_count_window", "p_floor_1rmw_hold"),
        ("m2_count_window_static", "b_fetch_add"),
        ("m6_count_window_permit", "b_fetch_add"),
        ("m_time_window", "p_floor_1clock_1rmw_hold"),
        ("m3_time_window_static", "p_floor_1clock_1rmw"),
        ("m_slow_call", "p_floor_2clock_1rmw_hold"),
        ("m4_slow_call_static", "p_floor_2clock_1rmw"),
        ("m5_time_slow", "p_floor_2clock_1rmw_hold"),
    ] {
        let (Some(o), Some(f)) = (overhead(id), overhead(floor)) else {
            continue;
        };
        if !printed {
            println!("\nmixed rows against their floor and recloser (overhead over bare)");
            println!(
                "{:<24} {:>8} {:<25} {:>8} {:>7} {:>11}",
                "variant", "ns", "floor", "ns", "/floor", "/recloser"
            );
            printed = true;
        }
        let vs_recloser = overhead("m_recloser").map_or("-".into(), |r| format!("{:.2}", o / r));
        println!(
            "{id:<24} {o:>8.2} {floor:<25} {f:>8.2} {:>7.2} {vs_recloser:>11}",
            o / f
        );
    }
    for id in ["d_count_window", "d2_count_window_static"] {
        if let Some(r) = closed(id)
            .zip(bare)
            .zip(atomic)
            .map(|((d, a), b)| (d - a) / b)
        {
            let verdict = if r <= 3.0 { "meets" } else { "MISSES" };
            println!("{id} overhead = {r:.2} x fetch_add overhead: {verdict} target <= 3");
        }
    }
    // Many calls in flight per thread: per call, over the bare service
    // driven the same way, against recloser's cost (one call at a time).
    let per_call = |id: &str| closed(id).map(|t| t / IN_FLIGHT as f64);
    if let Some(bare16) = per_call("q_bare_16") {
        println!("\n{IN_FLIGHT} calls in flight per thread (overhead over bare, ns per call)");
        for id in ["q_count_window_16", "q2_count_window_static_16"] {
            if let Some(t) = per_call(id) {
                let o = t - bare16;
                let vs = overhead("m_recloser").map_or("-".into(), |r| format!("{:.2}", o / r));
                println!("{id:<26} {o:>8.2}   /recloser {vs}");
            }
        }
    }

    let sched = SCHED.lock().clone();
    let cpu_ns = |id: &str| {
        sched
            .get(id)
            .filter(|s| s.calls > 0 && s.run_ns > 0)
            .map(|s| s.run_ns as f64 / s.calls as f64)
    };
    let wait_pct = |id: &str| {
        sched
            .get(id)
            .filter(|s| s.run_ns + s.wait_ns > 0)
            .map(|s| 100.0 * s.wait_ns as f64 / (s.run_ns + s.wait_ns) as f64)
    };
    let fmt = |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
    let mut printed = false;
    let mut busy = false;
    for name in [
        "bare",
        "shared_fetch_add",
        "mutex",
        "count_window",
        "count_window_static",
        "time_window",
        "consecutive",
        "mixed_count",
        "mixed_static",
        "mixed_time",
        "mixed_slow",
        "mixed_time_slow",
        "mixed_consec",
        "mixed_recloser",
    ] {
        let (id1, id2) = (format!("{name}_1t"), format!("{name}_2t"));
        let one = median_ns(&home, THREADS, &id1, since);
        let two = median_ns(&home, THREADS, &id2, since);
        let (Some(one), Some(two)) = (one, two) else {
            continue;
        };
        if !printed {
            println!("\nsummary ({THREADS}; ns per iteration = one call on each thread)");
            println!(
                "{:<17} {:>7} {:>7} {:>8} {:>7} {:>8} {:>8} {:>7} {:>6}",
                "variant",
                "1t ns",
                "2t ns",
                "scaling",
                "best",
                "cpu 1t",
                "cpu 2t",
                "cpu-sc",
                "wait%"
            );
            printed = true;
        }
        let scaling = 2.0 * one / two;
        let best = best_ns(&home, THREADS, &id1, since)
            .zip(best_ns(&home, THREADS, &id2, since))
            .map(|(one, two)| 2.0 * one / two);
        let (cpu1, cpu2) = (cpu_ns(&id1), cpu_ns(&id2));
        let cpu_scaling = cpu1.zip(cpu2).map(|(one, two)| 2.0 * one / two);
        let wait = wait_pct(&id2);
        busy |= wait.is_some_and(|w| w > 5.0);
        // The breaker rows held to 1.6; the count window's mixed rows are
        // held to `shared_fetch_add`'s scaling instead.
        let held_to_1_6 = matches!(
            name,
            "count_window"
                | "count_window_static"
                | "time_window"
                | "consecutive"
                | "mixed_time"
                | "mixed_slow"
                | "mixed_time_slow"
        );
        let target = if !held_to_1_6 {
            ""
        } else if scaling >= 1.6 {
            "  meets >= 1.6"
        } else if cpu_scaling.is_some_and(|c| c >= 1.6) {
            "  misses >= 1.6 on wall time, meets on CPU time (machine busy)"
        } else {
            "  MISSES >= 1.6"
        };
        println!(
            "{:<17} {:>7.2} {:>7.2} {:>8.2} {:>7} {:>8} {:>8} {:>7} {:>6}{target}",
            name,
            one,
            two,
            scaling,
            fmt(best, 2),
            fmt(cpu1, 2),
            fmt(cpu2, 2),
            fmt(cpu_scaling, 2),
            fmt(wait, 1),
        );
    }
    if busy {
        println!(
            "warning: the 2-thread runs waited for a CPU more than 5 % of the time: \
             other processes held a core, so wall-time scaling understates; \
             cpu-sc (CPU time per call, 1t vs 2t) is the contention-only figure"
        );
    }
}

fn main() {
    let since = SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    closed_path(&mut c);
    two_threads(&mut c);
    c.final_summary();
    summary(since);
}
