//! The breaker against its own past: the same rows built from this tree and
//! from an earlier commit, run back to back on one machine, so that "no
//! regression" and "halved" are ratios from one session, not figures from
//! different days. `scripts/baseline.sh` builds this file against the
//! foundation commit in a temporary worktree and prints the table; on its
//! own (`cargo bench --bench baseline`) it only measures this tree.
//!
//! It uses only the API both commits share: `CircuitBreaker::builder`,
//! `Breaker::new` and `Breaker::from_static`. Rows: `ok_*` every call
//! succeeds, `mixed_*` one call in 64 fails; `count` a 100-call window,
//! `time` a 10-second window, `slow` a count window with slow-call
//! detection, `time_slow` both; `_static` over a `&'static` breaker.
//! `b_fetch_add` and `h_concurrency_limit` anchor the run.

// `main` and the helpers are the bench's own; nothing here is API.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use seawall::breaker::{Breaker, CircuitBreaker};
use tower::limit::ConcurrencyLimit;
use tower::Service;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

#[derive(Debug, Clone, Copy)]
struct Fail;

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("backend failed")
    }
}

impl std::error::Error for Fail {}

type Answer = std::future::Ready<Result<u64, Fail>>;

/// The bare service; with `mixed`, call `x` fails when `x % 64 == 63`.
fn backend(
    mixed: bool,
) -> impl Service<u64, Response = u64, Error = Fail, Future = Answer> + Clone {
    tower::service_fn(move |x: u64| {
        std::future::ready(if mixed && x % 64 == 63 {
            Err(Fail)
        } else {
            Ok(x)
        })
    })
}

fn build(slow: bool, time: bool) -> CircuitBreaker {
    let builder = CircuitBreaker::builder();
    let builder = if time {
        builder.time_window(10)
    } else {
        builder.count_window(100).minimum_number_of_calls(100)
    };
    let builder = if slow {
        builder.slow_call_duration_threshold(Duration::from_secs(1))
    } else {
        builder
    };
    builder.build().expect("valid config")
}

fn leak(breaker: CircuitBreaker) -> &'static CircuitBreaker {
    Box::leak(Box::new(breaker))
}

#[inline(always)]
fn call_once<S: Service<u64>>(svc: &mut S, cx: &mut Context<'_>, x: u64) -> bool {
    let _ = svc.poll_ready(cx);
    let future = pin!(svc.call(x));
    matches!(future.poll(cx), Poll::Ready(Ok(_)))
}

/// Warms the window up (1,000 calls), then measures one call per iteration.
fn row<S: Service<u64>>(c: &mut Criterion, id: &str, mut svc: S) {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    for x in 0..1_000 {
        call_once(&mut svc, &mut cx, x);
    }
    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    let mut x = 1_000u64;
    group.bench_function(id, |b| {
        b.iter(|| {
            x = x.wrapping_add(1);
            call_once(&mut svc, &mut cx, black_box(x))
        })
    });
    group.finish();
}

/// The bare service plus one shared `fetch_add` per call.
#[derive(Clone)]
struct Counted<S>(S, Arc<AtomicU64>);

impl<S: Service<u64>> Service<u64> for Counted<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, x: u64) -> S::Future {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.call(x)
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    row(&mut c, "a_bare", backend(false));
    row(
        &mut c,
        "b_fetch_add",
        Counted(backend(false), Arc::default()),
    );
    row(
        &mut c,
        "h_concurrency_limit",
        ConcurrencyLimit::new(backend(false), 1 << 40),
    );
    for (outcomes, mixed) in [("ok", false), ("mixed", true)] {
        for (window, slow, time) in [
            ("count", false, false),
            ("time", false, true),
            ("slow", true, false),
            ("time_slow", true, true),
        ] {
            let id = format!("{outcomes}_{window}");
            row(&mut c, &id, Breaker::new(backend(mixed), build(slow, time)));
            let id = format!("{id}_static");
            row(
                &mut c,
                &id,
                Breaker::from_static(backend(mixed), leak(build(slow, time))),
            );
        }
    }
    c.final_summary();
}
