//! A profiling harness for the breaker's call path, for
//! `valgrind --tool=callgrind` (instructions per call) and plain timing.
//!
//! ```text
//! cargo build --release --example profile_breaker --features breaker
//! valgrind --tool=callgrind --toggle-collect='*drive*' --dump-instr=yes \
//!     target/release/examples/profile_breaker time arc manual 100000
//! ```
//!
//! Arguments: the path (`count`, `time`, `slow`: a count window of 100, a
//! 10-second time window, a count window with slow-call detection;
//! `count-healthy` and `slow-healthy` are those with every call succeeding, `time-slow` the
//! time window with slow-call detection), the
//! handle (`arc`: the default striped `Arc` handle, `static`: a
//! `&'static` breaker), the clock (`manual`: a `ManualClock`, one atomic
//! load; `precise`: `PreciseClock`; `system`: `SystemClock`, whose vDSO
//! lookup valgrind does not survive) and the number of calls. One call in
//! 64 fails, as in the `m_*` rows of `benches/breaker.rs`; each call is
//! `poll_ready`, `call` and one poll of the response future, made inside
//! `drive` so that callgrind can collect exactly the calls.
//!
//! `clock` as the only argument times one read of each clock natively
//! (not under valgrind), the part of a call's cost a profile cannot show.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use seawall::breaker::{Breaker, BreakerRef, CircuitBreaker, State};
use seawall::classify::DefaultClassifier;
use seawall::clock::{Clock, ManualClock, PreciseClock, SystemClock};
use tower::Service;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// The error of one call in 64: a unit struct, so boxing it allocates
/// nothing.
#[derive(Debug)]
struct Fail;

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("backend failed")
    }
}

impl std::error::Error for Fail {}

/// The inner service: one call in 64 fails, or none when `healthy`.
fn mixed(
    healthy: bool,
) -> impl Service<u64, Response = u64, Error = Fail, Future = std::future::Ready<Result<u64, Fail>>>
       + Clone {
    tower::service_fn(move |x: u64| {
        std::future::ready(if !healthy && x % 64 == 63 {
            Err(Fail)
        } else {
            Ok(x)
        })
    })
}

fn breaker(path: &str, clock: &str) -> CircuitBreaker {
    let b = CircuitBreaker::builder();
    let b = match path {
        "count" | "count-healthy" => b.count_window(100).minimum_number_of_calls(100),
        "time" => b.time_window(10),
        "time-slow" => b
            .time_window(10)
            .slow_call_duration_threshold(Duration::from_secs(1)),
        "slow" | "slow-healthy" => b
            .count_window(100)
            .minimum_number_of_calls(100)
            .slow_call_duration_threshold(Duration::from_secs(1)),
        other => panic!("unknown path {other:?}: count, time or slow"),
    };
    let b = match clock {
        "manual" => {
            let clock = ManualClock::new();
            clock.set(Duration::from_secs(1_000));
            b.clock(clock)
        }
        "precise" => b.clock(PreciseClock),
        "system" => b.clock(SystemClock),
        other => panic!("unknown clock {other:?}: manual, precise or system"),
    };
    b.build().expect("valid config")
}

/// `calls` calls through `svc`: the function callgrind collects.
#[inline(never)]
fn drive<S>(svc: &mut S, cx: &mut Context<'_>, from: u64, calls: u64) -> u64
where
    S: Service<u64, Response = u64>,
{
    let mut sum = 0u64;
    for x in from..from + calls {
        match svc.poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            _ => unreachable!("the service is always ready"),
        }
        let fut = pin!(svc.call(black_box(x)));
        sum = sum.wrapping_add(match fut.poll(cx) {
            Poll::Ready(Ok(v)) => v,
            Poll::Ready(Err(_)) => 1,
            Poll::Pending => unreachable!("the service answers at once"),
        });
    }
    sum
}

fn run<B: BreakerRef>(
    mut svc: Breaker<impl Service<u64, Response = u64, Error = Fail>, DefaultClassifier, B>,
    calls: u64,
) {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    // Fill the window first, so that the profile shows the steady state.
    black_box(drive(&mut svc, &mut cx, 0, 1_024));
    let cpu = cpu_ns();
    let start = Instant::now();
    black_box(drive(&mut svc, &mut cx, 1_024, calls));
    let took = start.elapsed();
    let cpu = cpu_ns().zip(cpu).map(|(after, before)| after - before);
    assert_eq!(svc.breaker().state(), State::Closed);
    let per_call = |ns: f64| ns / calls.max(1) as f64;
    println!(
        "{calls} calls, {:.1} ns per call wall time, {} ns CPU time (one thread)",
        per_call(took.as_nanos() as f64),
        cpu.map_or("-".into(), |c| format!("{:.1}", per_call(c as f64))),
    );
}

/// The thread's CPU time so far, from the scheduler (Linux): on a shared
/// machine, time spent waiting for a core is not the call's cost.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn time_clock(name: &str, clock: &dyn Clock) {
    const READS: u64 = 10_000_000;
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..READS {
        sum = sum.wrapping_add(black_box(clock).now_nanos());
    }
    black_box(sum);
    println!(
        "{name:<8} {:.1} ns per read",
        start.elapsed().as_nanos() as f64 / READS as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("clock") {
        time_clock("manual", &ManualClock::new());
        time_clock("precise", &PreciseClock);
        time_clock("system", &SystemClock);
        return;
    }
    let [path, handle, clock, calls] = <[String; 4]>::try_from(args).unwrap_or_else(|_| {
        eprintln!("usage: profile_breaker count|count-healthy|time|time-slow|slow|slow-healthy arc|static manual|precise|system CALLS");
        eprintln!("       profile_breaker clock");
        std::process::exit(2)
    });
    let calls: u64 = calls.parse().expect("CALLS is a number");
    let breaker = breaker(&path, &clock);
    let healthy = path.ends_with("-healthy");
    match handle.as_str() {
        "arc" => run(Breaker::new(mixed(healthy), breaker), calls),
        "static" => run(
            Breaker::from_static(mixed(healthy), Box::leak(Box::new(breaker))),
            calls,
        ),
        other => panic!("unknown handle {other:?}: arc or static"),
    }
}
