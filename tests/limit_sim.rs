//! The limit algorithms against a simulated backend (`seawall::limit::sim`):
//! `C` workers with exponential service times (mean 10 ms, so noisy) behind
//! a FIFO queue, offered twice their capacity by open-loop Poisson arrivals
//! unless a test says otherwise. Targets come from `sim_support::target`:
//! `1.2 × C` for a queueing server (Little's law plus a 20 % queue that
//! keeps workers busy), `C` for a server that fails fast.
#![cfg(feature = "sim")]

mod sim_support;

use std::time::Duration;

use seawall::limit::sim::{Scenario, ServiceTime};
use sim_support::*;

/// Asserts the median limit over `[from, to)` is within ±20 % of `target`.
fn assert_near(report: &seawall::limit::sim::Report, from: u64, to: u64, target: f64, what: &str) {
    let median = f64::from(report.median_limit(secs(from), secs(to)));
    assert!(
        (median - target).abs() <= 0.2 * target,
        "{what}: median limit {median} over {from}..{to} s, target {target} ± 20 %: {report:?}"
    );
}

// (a) From a cold start far below (1) and far above (10 × C) the recommended
// algorithm reaches the target within 20 s (≈ 200 windows of 100 ms) and
// holds it: the last 20 s of a minute are the steady state, checked for
// C = 10 and C = 100.
#[test]
fn hybrid_converges_from_far_below_and_far_above() {
    for c in [10, 100] {
        for initial in [1, 10 * c] {
            let report = run(&server(c).duration(secs(60)), Algo::Hybrid, initial);
            let what = format!("C = {c}, start at {initial}");
            assert_near(&report, 40, 60, target(c), &what);
            let reached = report.reached_at(target(c), 0.2);
            assert!(reached.is_some_and(|t| t < secs(20)), "{what}: {reached:?}");
        }
    }
}

// (b) Five simulated minutes of steady 2× overload: the level of the last
// minute is no higher than that of the second (10 % slack for noise), and
// still on target. Gradient2 fails exactly this (below).
#[test]
fn hybrid_does_not_drift_up_under_long_overload() {
    for c in [10, 100] {
        let report = run(
            &server(c).duration(secs(300)).warmup(secs(60)),
            Algo::Hybrid,
            c,
        );
        let early = f64::from(report.median_limit(secs(60), secs(120)));
        let late = f64::from(report.median_limit(secs(240), secs(300)));
        assert!(late <= early * 1.1, "C = {c}: {early} then {late}");
        assert_near(
            &report,
            240,
            300,
            target(c),
            &format!("C = {c}, last minute"),
        );
        // And the overload does not cost throughput: goodput ≥ 90 % of
        // capacity (probes and noise-driven backoffs cost a few percent).
        assert!(report.goodput() >= 0.9, "C = {c}: {report:?}");
    }
}

// (c) Service times ×10 for 10 s: the limit may fall, but within 20 s of the
// end it is back on target rather than stuck at its minimum.
#[test]
fn hybrid_recovers_after_a_latency_spike() {
    for c in [10, 100] {
        let scenario =
            server(c)
                .duration(secs(80))
                .warmup(secs(40))
                .latency_spike(secs(30), secs(40), 10.0);
        let report = run(&scenario, Algo::Hybrid, c);
        assert_near(
            &report,
            60,
            80,
            target(c),
            &format!("C = {c}, after the spike"),
        );
    }
}

// (d) Queueing latency stays bounded under 2× overload: the p99 of admitted
// calls is within 1.5× of the service time's own p99 (S × ln 100 = 46 ms
// for exponential service), while a limit that never learns (AIMD on a
// queue that never drops) lets the queue grow and the p99 pass a second.
#[test]
fn hybrid_bounds_queueing_latency() {
    let bound = SERVICE.mul_f64(100f64.ln() * 1.5);
    for c in [10, 100] {
        let mut report = run(&server(c).duration(secs(60)), Algo::Hybrid, c);
        assert!(report.p99() <= bound, "C = {c}: p99 {:?}", report.p99());
    }
    let mut unbounded = run(&server(10).duration(secs(60)), Algo::Aimd, 10);
    assert!(
        unbounded.p99() > Duration::from_secs(1),
        "{:?}",
        unbounded.p99()
    );
}

// A server with no queue says "too much" only by failing calls fast. The
// recommended algorithm backs off once per window with a drop and holds the
// limit near C (target C, ±20 %); goodput stays ≥ 85 % (the additive
// sawtooth below C costs more than on a queueing server) and the p99 is the
// service time's.
#[test]
fn hybrid_on_a_fail_fast_server() {
    let bound = SERVICE.mul_f64(100f64.ln() * 1.2);
    for c in [10, 100] {
        let mut report = run(&fail_fast(c).duration(secs(60)), Algo::Hybrid, c);
        assert_near(&report, 20, 60, fail_fast_target(c), &format!("C = {c}"));
        assert!(report.goodput() >= 0.85, "C = {c}: {report:?}");
        assert!(report.p99() <= bound, "C = {c}: p99 {:?}", report.p99());
    }
}

// Known failure of the reference: Gradient2 ignores drops. On a fail-fast
// server the rejected calls return fast, the gradient stays at 1 and the
// limit climbs to twice the capacity and more. (Unwindowed at C = 100 the
// per-sample noise keeps it low instead, which is no better.)
#[test]
fn gradient2_ignores_drops() {
    for (algo, c) in [
        (Algo::Gradient2, 10),
        (Algo::Gradient2Windowed, 10),
        (Algo::Gradient2Windowed, 100),
    ] {
        let report = run(&fail_fast(c).duration(secs(60)), algo, c);
        let level = f64::from(report.median_limit(secs(20), secs(60)));
        assert!(
            level > 2.0 * fail_fast_target(c),
            "{algo:?}, C = {c}: {report:?}"
        );
    }
}

// Known failure of the reference: Gradient2's long RTT is an average of the
// RTTs it is queueing up, so under a steady overload it follows them and
// the limit creeps upward, far past the target, minute after minute.
#[test]
fn gradient2_creeps_upward_under_steady_overload() {
    let report = run(
        &server(100).duration(secs(300)).warmup(secs(60)),
        Algo::Gradient2Windowed,
        100,
    );
    let early = f64::from(report.median_limit(secs(60), secs(120)));
    let late = f64::from(report.median_limit(secs(240), secs(300)));
    assert!(
        late > 1.5 * early && late > 2.0 * target(100),
        "{early} then {late}"
    );
}

// Known failure of the reference: Vegas takes the least single RTT as its
// no-load RTT. With exponential service times that minimum is a fraction of
// the mean, every sample looks queued and the limit settles far under the
// capacity, with goodput to match. With constant service times it does not.
#[test]
fn vegas_underestimates_with_noisy_latency() {
    let noisy = run(&server(100).duration(secs(60)), Algo::Vegas, 100);
    let level = f64::from(noisy.median_limit(secs(40), secs(60)));
    assert!(level < 0.5 * target(100), "{noisy:?}");
    assert!(noisy.goodput() < 0.5, "{noisy:?}");

    let steady = Scenario::new(100, ServiceTime::Constant(SERVICE))
        .load(2.0)
        .duration(secs(60));
    let steady = run(&steady, Algo::Vegas, 100);
    let level = f64::from(steady.median_limit(secs(40), secs(60)));
    assert!(level >= 0.8 * target(100), "{steady:?}");
}

// Known failure of the reference: windowed, Vegas grows by at most β per
// window and backs off on noise, so from a cold start it is still far under
// the target after a minute, where the recommended algorithm is on it.
#[test]
fn vegas_ramps_slowly() {
    let vegas = run(&server(100).duration(secs(60)), Algo::VegasWindowed, 1);
    assert!(
        vegas.limit_at(secs(30)) < (0.5 * target(100)) as u32,
        "{vegas:?}"
    );
    let hybrid = run(&server(100).duration(secs(60)), Algo::Hybrid, 1);
    assert!(
        hybrid.limit_at(secs(30)) >= (0.8 * target(100)) as u32,
        "{hybrid:?}"
    );
}

// Known failure of the reference: AIMD without a window backs off once per
// dropped *sample*. One excursion over a fail-fast server's capacity drops
// several calls at once and each multiplies the limit by 0.9, so it falls
// much further below C than the windowed AIMD, which backs off once per
// window.
#[test]
fn aimd_without_a_window_backs_off_per_sample() {
    let per_sample = run(&fail_fast(100).duration(secs(60)), Algo::Aimd, 100);
    let windowed = run(&fail_fast(100).duration(secs(60)), Algo::AimdWindowed, 100);
    let (low, _) = per_sample.limit_range(secs(20), secs(60));
    let (windowed_low, _) = windowed.limit_range(secs(20), secs(60));
    assert!(
        low < windowed_low,
        "per sample down to {low}, windowed {windowed_low}"
    );
}

// The simulator itself, against what queueing theory says, so the results
// above measure the algorithms and not a bug of the model.
mod simulator {
    use super::*;
    use seawall::limit::algorithm::Fixed;
    use seawall::limit::sim::Queue;

    fn fixed(scenario: &Scenario, limit: u32) -> seawall::limit::sim::Report {
        scenario.run(|_| Fixed::new(limit).unwrap()).unwrap()
    }

    // Under capacity nothing is shed or dropped and the goodput is the
    // offered load (±5 % for Poisson noise over 40 s).
    #[test]
    fn under_capacity_everything_offered_is_served() {
        let report = fixed(&server(10).load(0.5), 1000);
        assert_eq!((report.shed(), report.dropped()), (0, 0));
        assert!((report.goodput() - 0.5).abs() < 0.05, "{report:?}");
    }

    /// Erlang's loss formula B(a, c): the share of calls a loss system of
    /// `c` servers refuses under `a` Erlangs of offered traffic (by the
    /// recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1))).
    fn erlang_b(a: f64, c: u32) -> f64 {
        (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
    }

    // A limit of exactly C in front of C workers is a loss system: no call
    // ever waits (with constant service every latency is S), and the share
    // carried follows Erlang's B formula, insensitive to the service
    // distribution: at 2× load on 10 workers, a = 20 Erlangs, B ≈ 0.538,
    // goodput = 2 × (1 − B) ≈ 0.924 of capacity.
    #[test]
    fn a_limit_of_c_is_an_erlang_loss_system() {
        let expected = 2.0 * (1.0 - erlang_b(20.0, 10));
        let scenario = Scenario::new(10, ServiceTime::Constant(SERVICE)).load(2.0);
        let mut report = fixed(&scenario, 10);
        assert_eq!(report.latency(0.0), SERVICE);
        assert_eq!(report.p99(), SERVICE);
        assert!(
            (report.goodput() - expected).abs() < 0.01,
            "{expected}: {report:?}"
        );
        let exponential = fixed(&server(10), 10);
        assert!(
            (exponential.goodput() - expected).abs() < 0.01,
            "{exponential:?}"
        );
    }

    // A bounded queue fails what does not fit, fast; a fail-fast server
    // drops every call that finds the workers busy.
    #[test]
    fn full_queues_drop() {
        let mut bounded = fixed(&server(10).queue(Queue::Bounded(5)), 1000);
        assert!(bounded.dropped() > 0);
        // At most 5 waiting: a call waits for at most 5 services, about
        // S × (ln 100 + 5 / C) at p99; far below an unbounded queue's.
        assert!(bounded.p99() < SERVICE * 7, "{:?}", bounded.p99());
        let none = fixed(&fail_fast(10), 1000);
        assert!(none.dropped() > none.offered() / 3, "{none:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let a = run(
            &server(10).duration(secs(30)).warmup(secs(10)),
            Algo::Hybrid,
            1,
        );
        let b = run(
            &server(10).duration(secs(30)).warmup(secs(10)),
            Algo::Hybrid,
            1,
        );
        let c = run(
            &server(10).duration(secs(30)).warmup(secs(10)).seed(2),
            Algo::Hybrid,
            1,
        );
        assert_eq!(a.limits(), b.limits());
        assert_eq!(a.offered(), b.offered());
        assert_ne!(a.limits(), c.limits());
    }

    #[test]
    fn invalid_scenarios_name_their_field() {
        let cases = [
            ("workers", Scenario::new(0, ServiceTime::Constant(SERVICE))),
            (
                "service",
                Scenario::new(1, ServiceTime::Constant(Duration::ZERO)),
            ),
            ("load", server(1).load(0.0)),
            ("load", server(1).load_change(secs(1), f64::NAN)),
            (
                "latency_spike",
                server(1).latency_spike(secs(1), secs(2), -1.0),
            ),
            ("warmup", server(1).duration(secs(10)).warmup(secs(10))),
            ("tick", server(1).tick(Duration::ZERO)),
        ];
        for (field, scenario) in cases {
            let err = scenario.run(|_| Fixed::new(1).unwrap()).unwrap_err();
            assert_eq!(err.field(), field);
        }
    }
}
