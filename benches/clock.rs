//! What one clock read costs: the breaker reads its clock on the call path
//! only for time windows and slow-call detection, and this is why the
//! default clock is the coarse one.
//!
//! `cargo bench --bench clock`; compare the rows of one run.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use seawall::clock::{Clock, ManualClock, PreciseClock, SystemClock};
use std::time::{Duration, Instant};

fn clocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock read");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("SystemClock (coarse)", |b| {
        b.iter(|| black_box(SystemClock.now_nanos()))
    });
    group.bench_function("PreciseClock", |b| {
        b.iter(|| black_box(PreciseClock.now_nanos()))
    });
    group.bench_function("std Instant::now", |b| b.iter(|| black_box(Instant::now())));
    let manual = ManualClock::new();
    group.bench_function("ManualClock", |b| b.iter(|| black_box(manual.now_nanos())));
    group.finish();
}

criterion_group!(benches, clocks);
criterion_main!(benches);
