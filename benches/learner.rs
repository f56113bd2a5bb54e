//! Cost of feeding completed calls to a limit algorithm: seawall's striped
//! `Learner` against one mutex taken per call (the naive design), on one
//! thread and on two threads sharing it (aggregate throughput).
//!
//! ```text
//! cargo bench --features limit --bench learner -- --warm-up-time 1 --measurement-time 3
//! ```

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parking_lot::Mutex;
use seawall::limit::algorithm::{Aimd, Hybrid};
use seawall::limit::{Algorithm, Learner, LimitSample};

/// The naive design: every completed call takes one shared lock.
struct Naive {
    limit: AtomicU32,
    algorithm: Mutex<Box<dyn Algorithm>>,
}

impl Naive {
    fn record(&self, sample: LimitSample) {
        let new = self.algorithm.lock().update(sample);
        self.limit.store(new, Ordering::Relaxed);
    }
}

fn aimd() -> Box<dyn Algorithm> {
    Box::new(
        Aimd::builder()
            .min_limit(1)
            .max_limit(100_000)
            .build()
            .unwrap(),
    )
}

fn sample(i: u64) -> LimitSample {
    // One drop in 64, as in the issue's mixed-outcome target.
    LimitSample::new(Duration::from_micros(500 + i % 7), 10, i % 64 == 0)
}

/// Runs `record` `iters` times on each of `threads` threads; the time until
/// the last finishes.
fn on_threads(threads: u64, iters: u64, record: &(dyn Fn(LimitSample) + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for i in 0..iters {
                    record(black_box(sample(i)));
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    for threads in [1u64, 2] {
        let mut group = c.benchmark_group(format!("record/{threads}_threads"));
        group.throughput(Throughput::Elements(threads));
        type Make = fn() -> Box<dyn Algorithm>;
        let cases: [(&str, Make); 2] = [
            ("aimd", aimd),
            ("hybrid_windowed", || Box::new(Hybrid::recommended())),
        ];
        for (name, make) in cases {
            let learner = Learner::new(make());
            group.bench_function(format!("learner/{name}"), |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|s| {
                        learner.record(s);
                    })
                })
            });
            let naive = Naive {
                limit: AtomicU32::new(1),
                algorithm: Mutex::new(make()),
            };
            group.bench_function(format!("one_mutex/{name}"), |b| {
                b.iter_custom(|iters| on_threads(threads, iters, &|s| naive.record(s)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
