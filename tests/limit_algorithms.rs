//! The arithmetic of each limit algorithm on hand-computed samples, and the
//! validation of their settings.
#![cfg(feature = "limit")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::clock::ManualClock;
use seawall::limit::algorithm::{
    Aggregate, Aimd, Fixed, Gradient2, Hybrid, ShortWindow, Vegas, Windowed,
};
use seawall::limit::{Algorithm, LimitSample};
use seawall::ConfigError;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A successful sample.
fn ok(rtt_ms: u64, in_flight: u32) -> LimitSample {
    LimitSample::new(ms(rtt_ms), in_flight, false)
}

/// A dropped sample.
fn drop(rtt_ms: u64, in_flight: u32) -> LimitSample {
    LimitSample::new(ms(rtt_ms), in_flight, true)
}

/// Feeds `samples` and checks the limit after each one.
fn check(name: &str, mut algorithm: impl Algorithm, steps: &[(LimitSample, u32)]) {
    for (i, (sample, expected)) in steps.iter().enumerate() {
        let got = algorithm.update(*sample);
        assert_eq!(got, *expected, "{name}: step {i} ({sample:?})");
        assert_eq!(algorithm.limit(), got, "{name}: limit() after step {i}");
    }
}

fn aimd(initial: u32) -> Aimd {
    Aimd::builder()
        .initial_limit(initial)
        .min_limit(1)
        .max_limit(12)
        .build()
        .unwrap()
}

#[test]
fn aimd_adds_one_when_used_and_multiplies_on_drops() {
    check("used: 5 × 2 ≥ 10", aimd(10), &[(ok(5, 5), 11)]);
    check("unused: 4 × 2 < 10", aimd(10), &[(ok(5, 4), 10)]);
    check("drop: ⌊10 × 0.9⌋", aimd(10), &[(drop(5, 10), 9)]);
    check("timeout: 6 s > 5 s", aimd(10), &[(ok(6000, 10), 9)]);
    check("capped at max", aimd(12), &[(ok(5, 12), 12)]);
    check("floored at min", aimd(1), &[(drop(5, 1), 1)]);
    // The reference's default floor of 20 holds however many drops come.
    check("default min 20", Aimd::default(), &[(drop(5, 20), 20)]);
    check(
        "per sample: three drops, three backoffs",
        aimd(12),
        &[(drop(5, 12), 10), (drop(5, 12), 9), (drop(5, 12), 8)],
    );
}

fn vegas() -> seawall::limit::algorithm::VegasConfig {
    Vegas::builder().initial_limit(10)
}

#[test]
fn vegas_moves_by_the_estimated_queue() {
    // Each case: the first sample sets rtt_noload = 10 ms.
    let v = || vegas().build().unwrap();
    check(
        "no queue: +β = 6",
        v(),
        &[(ok(10, 10), 10), (ok(10, 10), 16)],
    );
    // queue = ⌈10 × (1 − 10/12)⌉ = 2: above threshold 1, below α = 3: +lg.
    check(
        "small queue: +1",
        v(),
        &[(ok(10, 10), 10), (ok(12, 10), 11)],
    );
    // queue = ⌈10 × 0.5⌉ = 5, within [α, β] = [3, 6].
    check("sweet spot", v(), &[(ok(10, 10), 10), (ok(20, 10), 10)]);
    // queue = ⌈10 × 0.75⌉ = 8 > β.
    check("long queue: −1", v(), &[(ok(10, 10), 10), (ok(40, 10), 9)]);
    check("drop: −1", v(), &[(ok(10, 10), 10), (drop(10, 10), 9)]);
    check(
        "unused: 4 × 2 < 10",
        v(),
        &[(ok(10, 10), 10), (ok(10, 4), 10)],
    );
    check(
        "a faster sample only lowers rtt_noload",
        v(),
        &[(ok(10, 10), 10), (ok(5, 10), 10), (ok(10, 10), 10)],
    );
    let smoothed = vegas().smoothing(0.5).build().unwrap();
    check(
        "smoothing: (10 + 16) / 2",
        smoothed,
        &[(ok(10, 10), 10), (ok(10, 10), 13)],
    );
    let fixed = vegas().alpha(1).beta(2).build().unwrap();
    // queue 5 > β = 2.
    check("fixed α, β", fixed, &[(ok(10, 10), 10), (ok(20, 10), 9)]);
}

#[test]
fn vegas_probes_reset_the_no_load_rtt() {
    // With one unit of limit per probe, every sample is a probe.
    let mut v = Vegas::builder()
        .initial_limit(1)
        .probe_multiplier(1)
        .build()
        .unwrap();
    v.update(ok(10, 1));
    v.update(ok(20, 1));
    assert_eq!(v.rtt_noload(), ms(20));
}

fn gradient2() -> Gradient2 {
    Gradient2::builder().min_limit(1).build().unwrap()
}

#[test]
fn gradient2_follows_the_long_rtt_gradient() {
    // long = 10: gradient 1, L' = 24, L = 0.8 × 20 + 0.2 × 24 = 20.8.
    let mut g = gradient2();
    assert_eq!(g.update(ok(10, 20)), 20);
    assert_eq!(g.estimated_limit(), 20.8);
    // long = (10 + 40) / 2 = 25, gradient 1.5 × 25 / 40 = 0.9375,
    // L' = 20.8 × 0.9375 + 4 = 23.5, L = 0.8 × 20.8 + 0.2 × 23.5 = 21.34.
    assert_eq!(g.update(ok(40, 20)), 21);
    assert!((g.estimated_limit() - 21.34).abs() < 1e-9);

    check("unused: 9 < 20 / 2", gradient2(), &[(ok(10, 9), 20)]);
    let mut ignores = gradient2();
    ignores.update(drop(10, 20));
    assert_eq!(ignores.estimated_limit(), 20.8, "drops are ignored");

    // long = (100 + 10) / 2 = 55 > 2 × 10: long ← 0.95 × 55.
    let mut g = gradient2();
    g.update(ok(100, 1));
    g.update(ok(10, 1));
    assert_eq!(g.long_rtt(), Duration::from_micros(52_250));
    check(
        "default min 20",
        Gradient2::default(),
        &[(ok(1000, 20), 20)],
    );
}

#[test]
fn fixed_never_moves() {
    check(
        "fixed",
        Fixed::new(7).unwrap(),
        &[(drop(1, 7), 7), (ok(1, 7), 7)],
    );
}

fn hybrid(initial: u32) -> seawall::limit::algorithm::HybridConfig {
    Hybrid::builder().initial_limit(initial)
}

#[test]
fn hybrid_steers_towards_the_headroom() {
    let h = |initial| hybrid(initial).build().unwrap();
    // base = 10: r = 1 ≤ 1.1: L + √L = 16 + 4.
    check("no queue: +√L", h(16), &[(ok(10, 16), 20)]);
    // r = 1.15 in (1.1, 1.2]: +1.
    check(
        "small queue: +1",
        h(16),
        &[(ok(100, 16), 20), (ok(115, 20), 21)],
    );
    // r = 2: L × 1.2 / 2.
    check(
        "queue: ×(1 + h) / r",
        h(20),
        &[(ok(10, 20), 24), (ok(20, 24), 14)],
    );
    // r = 10: the factor is floored at 0.5.
    check(
        "at most halves",
        h(20),
        &[(ok(10, 20), 24), (ok(100, 24), 12)],
    );
    check("drop: ×0.9", h(20), &[(drop(10, 20), 18)]);
    check("unused: 4 × 2 < 20", h(20), &[(ok(10, 4), 20)]);
}

#[test]
fn hybrid_probes_re_measure_the_base_rtt() {
    let mut h = hybrid(16).probe_interval(2).build().unwrap();
    assert_eq!(h.update(ok(10, 16)), 20); // window 1, base 10
    assert_eq!(h.update(ok(10, 20)), 12); // window 2: +√20 = 24.47, probe at half
    assert!(h.probing());
    assert_eq!(h.update(ok(30, 12)), 12); // draining
    assert_eq!(h.update(ok(30, 12)), 24); // measured 30, limit restored
    assert!(!h.probing());
    // The first probe sets the base.
    assert_eq!(h.base_rtt(), ms(30));
    assert_eq!(h.update(ok(60, 24)), 14); // r = 2: ×0.6
    h.update(ok(60, 14)); // the second window: probe
    h.update(ok(60, 7));
    h.update(ok(60, 7));
    // Later probes average: (30 + 60) / 2.
    assert_eq!(h.base_rtt(), ms(45));
}

/// An algorithm that records what it is fed.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<LimitSample>>>);

impl Algorithm for Recorder {
    fn limit(&self) -> u32 {
        1
    }
    fn update(&mut self, sample: LimitSample) -> u32 {
        self.0.lock().unwrap().push(sample);
        1
    }
}

/// Feeds `samples` at time 0, then one 40 ms sample one second later, and
/// returns what the delegate saw.
fn window_of(
    config: seawall::limit::algorithm::WindowedConfig,
    samples: &[LimitSample],
) -> Vec<LimitSample> {
    let clock = ManualClock::new();
    let recorder = Recorder::default();
    let mut w = config
        .build(recorder.clone())
        .unwrap()
        .with_clock(clock.clone());
    for s in samples {
        w.update(*s);
    }
    clock.advance(Duration::from_secs(1));
    w.update(ok(40, 1));
    let seen = recorder.0.lock().unwrap().clone();
    seen
}

#[test]
fn windowed_aggregates_one_sample_per_window() {
    let samples = [ok(10, 3), drop(20, 7), ok(30, 5)];
    let base = || Windowed::builder().window_size(3);
    // Average of 10, 20, 30, 40; max in flight 7; a drop.
    assert_eq!(
        window_of(base(), &samples),
        [LimitSample::new(ms(25), 7, true)]
    );
    // p50 of four: the 2nd smallest (round(4 × 0.5) − 1).
    let p50 = base().aggregate(Aggregate::Percentile(0.5));
    assert_eq!(
        window_of(p50, &samples),
        [LimitSample::new(ms(20), 7, true)]
    );
    let p90 = base().aggregate(Aggregate::Percentile(0.9));
    assert_eq!(window_of(p90, &samples)[0].rtt(), ms(40));
}

#[test]
fn windowed_discards_short_windows_and_fast_samples() {
    let few = [ok(10, 3)];
    let discard = Windowed::builder().window_size(10);
    assert!(window_of(discard, &few).is_empty(), "2 of 10 samples");
    // Extended instead: the window stays open and closes with the 10th.
    let clock = ManualClock::new();
    let recorder = Recorder::default();
    let mut w = Windowed::builder()
        .window_size(10)
        .short_window(ShortWindow::Extend)
        .build(recorder.clone())
        .unwrap()
        .with_clock(clock.clone());
    for _ in 0..9 {
        clock.advance(Duration::from_secs(1));
        w.update(ok(10, 1));
    }
    assert!(recorder.0.lock().unwrap().is_empty());
    clock.advance(Duration::from_secs(1));
    w.update(ok(10, 1));
    assert_eq!(recorder.0.lock().unwrap().len(), 1);

    // A 50 µs success is discarded; a 50 µs drop still marks the window.
    let fast = LimitSample::new(Duration::from_micros(50), 9, false);
    let fast_drop = LimitSample::new(Duration::from_micros(50), 2, true);
    let seen = window_of(
        Windowed::builder().window_size(3),
        &[fast, fast_drop, ok(20, 1)],
    );
    assert_eq!(seen, [LimitSample::new(ms(30), 2, true)]);
}

#[test]
fn windowed_windows_last_twice_the_least_rtt_within_bounds() {
    let clock = ManualClock::new();
    let recorder = Recorder::default();
    let mut w = Windowed::builder()
        .window_size(1)
        .min_window_time(ms(100))
        .build(recorder.clone())
        .unwrap()
        .with_clock(clock.clone());
    w.update(ok(10, 1));
    clock.advance(ms(1)); // closes the first window: next ends 2 × 10 → 100 ms later
    w.update(ok(10, 1));
    clock.advance(ms(100));
    w.update(ok(10, 1));
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        1,
        "100 ms is not past the end"
    );
    clock.advance(ms(1));
    w.update(ok(10, 1));
    assert_eq!(recorder.0.lock().unwrap().len(), 2);
}

/// The limiter hands samples over in batches ([`Algorithm::update_batch`]):
/// a batch must teach exactly what its samples teach one at a time, for
/// every algorithm and wrapped in a window (whose clock does not move
/// within a hand-over).
#[test]
fn a_batch_teaches_what_its_samples_teach_one_by_one() {
    fn compare<A: Algorithm>(name: &str, make: impl Fn(&ManualClock) -> A) {
        let clock = ManualClock::new();
        let (mut single, mut batched) = (make(&clock), make(&clock));
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..200 {
            let batch: Vec<_> = (0..rng.usize(1..=16))
                .map(|_| {
                    let rtt = Duration::from_micros(rng.u64(1..50_000));
                    LimitSample::new(rtt, rng.u32(0..60), rng.u8(0..20) == 0)
                })
                .collect();
            for &sample in &batch {
                single.update(sample);
            }
            let limit = batched.update_batch(&batch);
            assert_eq!(limit, single.limit(), "{name}: round {round}");
            assert_eq!(
                format!("{batched:?}"),
                format!("{single:?}"),
                "{name}: state after round {round}"
            );
            clock.advance(Duration::from_millis(rng.u64(0..30)));
        }
    }
    let windowed = |clock: &ManualClock, delegate| {
        Windowed::builder()
            .window_size(5)
            .build(delegate)
            .unwrap()
            .with_clock(clock.clone())
    };
    compare("aimd", |_| Aimd::default());
    compare("vegas", |_| Vegas::default());
    compare("gradient2", |_| Gradient2::default());
    compare("fixed", |_| Fixed::new(7).unwrap());
    compare("hybrid", |_| Hybrid::default());
    compare("boxed", |_| {
        Box::new(Gradient2::default()) as Box<dyn Algorithm>
    });
    compare("windowed aimd", |c| {
        windowed(c, Box::new(Aimd::default()) as Box<dyn Algorithm>)
    });
    compare("windowed hybrid", |c| {
        windowed(c, Box::new(Hybrid::default()) as Box<dyn Algorithm>)
    });
}

#[test]
fn invalid_settings_name_their_field() {
    let cases: Vec<(&str, Result<(), ConfigError>)> = vec![
        (
            "backoff_ratio",
            Aimd::builder().backoff_ratio(1.0).build().map(drop_it),
        ),
        (
            "initial_limit",
            Aimd::builder().initial_limit(5).build().map(drop_it),
        ),
        (
            "min_limit",
            Aimd::builder().min_limit(0).build().map(drop_it),
        ),
        (
            "timeout",
            Aimd::builder().timeout(Duration::ZERO).build().map(drop_it),
        ),
        (
            "smoothing",
            Vegas::builder().smoothing(0.0).build().map(drop_it),
        ),
        (
            "alpha",
            Vegas::builder().alpha(6).beta(3).build().map(drop_it),
        ),
        (
            "rtt_tolerance",
            Gradient2::builder().rtt_tolerance(0.9).build().map(drop_it),
        ),
        (
            "max_limit",
            Gradient2::builder().max_limit(10).build().map(drop_it),
        ),
        ("limit", Fixed::new(0).map(drop_it)),
        (
            "window_size",
            Windowed::builder()
                .window_size(0)
                .build(Fixed::new(1).unwrap())
                .map(drop_it),
        ),
        (
            "aggregate",
            Windowed::builder()
                .aggregate(Aggregate::Percentile(1.0))
                .build(Fixed::new(1).unwrap())
                .map(drop_it),
        ),
        (
            "max_window_time",
            Windowed::builder()
                .max_window_time(ms(10))
                .build(Fixed::new(1).unwrap())
                .map(drop_it),
        ),
        (
            "headroom",
            Hybrid::builder().headroom(0.0).build().map(drop_it),
        ),
        (
            "probe_interval",
            Hybrid::builder().probe_interval(1).build().map(drop_it),
        ),
        (
            "probe_fraction",
            Hybrid::builder().probe_fraction(1.0).build().map(drop_it),
        ),
    ];
    for (field, result) in cases {
        let err = result.expect_err(field);
        assert_eq!(err.field(), field, "{err}");
    }
    assert_eq!(
        Aimd::builder()
            .backoff_ratio(1.0)
            .build()
            .unwrap_err()
            .to_string(),
        "invalid backoff_ratio: 1, expected a ratio in [0.5, 1)"
    );
}

fn drop_it<T>(_: T) {}

#[cfg(feature = "serde")]
#[test]
fn configs_deserialize_with_human_durations_and_refuse_unknown_keys() {
    use seawall::limit::algorithm::{AimdConfig, WindowedConfig};
    let aimd: AimdConfig =
        serde_json::from_str(r#"{"min_limit": 1, "initial_limit": 4, "timeout": "2s"}"#).unwrap();
    assert_eq!(
        aimd,
        Aimd::builder()
            .min_limit(1)
            .initial_limit(4)
            .timeout(ms(2000))
    );
    let window: WindowedConfig =
        serde_json::from_str(r#"{"min_window_time": "100ms", "aggregate": {"percentile": 0.9}}"#)
            .unwrap();
    assert_eq!(
        window,
        Windowed::builder()
            .min_window_time(ms(100))
            .aggregate(Aggregate::Percentile(0.9))
    );
    let unknown = serde_json::from_str::<AimdConfig>(r#"{"backof_ratio": 0.5}"#);
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
}
