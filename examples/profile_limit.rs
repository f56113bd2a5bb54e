//! A profiling harness for admission (bulkhead, adaptive limit, tower's
//! `ConcurrencyLimit`), for `valgrind --tool=callgrind`: instructions per
//! call.
//!
//! ```text
//! cargo build --release --example profile_limit --features bulkhead,limit
//! valgrind --tool=callgrind --toggle-collect='*drive*' \
//!     target/release/examples/profile_limit fixed 20000
//! ```
//!
//! Arguments: the row (`tower`, `bulkhead`, `bulkhead_static`, `fixed`,
//! `fixed_static`, `hybrid`, `hybrid_static`: the limiter with a fixed
//! limit or the recommended algorithm, on the default handle or
//! `&'static`) and the number of calls. Every call succeeds; each is
//! `poll_ready`, `call` and one poll of the response future, made inside
//! `drive` so that callgrind collects exactly the calls. The limiter reads
//! a `ManualClock` (valgrind does not survive the system clock's vDSO
//! lookup). Run twice with different counts and divide the difference by
//! the difference of the counts: that removes the set-up.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use seawall::bulkhead::{Bulkhead, BulkheadLayer};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;
use seawall::limit::algorithm::{Fixed, Hybrid};
use seawall::limit::{Limit, Limiter};
use tower::limit::ConcurrencyLimit;
use tower::Service;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

type Ready = std::future::Ready<Result<u64, Infallible>>;

fn bare() -> impl Service<u64, Response = u64, Error = Infallible, Future = Ready> + Clone {
    tower::service_fn(|x: u64| std::future::ready(Ok(x)))
}

fn success(_: Result<&u64, &Infallible>) -> Outcome {
    Outcome::Success
}

/// `n` calls, one at a time.
#[inline(never)]
fn drive<S>(svc: &mut S, n: u64) -> u64
where
    S: Service<u64, Response = u64>,
{
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut sum = 0u64;
    for i in 0..n {
        assert!(svc.poll_ready(&mut cx).is_ready(), "limits far above 1");
        let future = pin!(svc.call(black_box(i)));
        if let Poll::Ready(Ok(v)) = future.poll(&mut cx) {
            sum = sum.wrapping_add(v);
        }
    }
    sum
}

fn bulkhead() -> BulkheadLayer {
    BulkheadLayer::builder()
        .max_concurrent_calls(10_000)
        .build()
        .expect("valid")
}

fn limiter(algorithm: &str) -> Limiter {
    let builder = match algorithm {
        "fixed" => Limiter::builder(Fixed::new(10_000).expect("valid")),
        "hybrid" => Limiter::builder(Hybrid::recommended()),
        other => panic!("unknown row {other:?}"),
    };
    builder.clock(ManualClock::new()).build().expect("valid")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(row), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse().ok())) else {
        eprintln!("usage: profile_limit <row> <calls>");
        std::process::exit(2);
    };
    let sum = match row.as_str() {
        "tower" => drive(&mut ConcurrencyLimit::new(bare(), 10_000), n),
        "bulkhead" => drive(&mut Bulkhead::new(bare(), bulkhead()), n),
        "bulkhead_static" => {
            let forever: &'static BulkheadLayer = Box::leak(Box::new(bulkhead()));
            drive(&mut Bulkhead::from_static(bare(), forever), n)
        }
        row => match row.strip_suffix("_static") {
            Some(algorithm) => {
                let forever: &'static Limiter = Box::leak(Box::new(limiter(algorithm)));
                drive(
                    &mut Limit::from_static(bare(), forever).with_classifier(success),
                    n,
                )
            }
            None => drive(
                &mut Limit::new(bare(), limiter(row)).with_classifier(success),
                n,
            ),
        },
    };
    println!("{sum}");
}
