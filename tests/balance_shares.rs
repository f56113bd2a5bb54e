//! How the chooser spreads calls: equal shares, the two-choices bound,
//! slow and failing endpoints, and the incident's unequal backends.
#![cfg(feature = "balance")]

mod balance_sim;

use balance_sim::{Backend, Route, Sim};
use seawall::balance::{Chooser, PeakEwma, PendingRequests};
use std::time::Duration;

fn builder() -> seawall::balance::Builder {
    // Outlier detection off: these tests are about load alone.
    Chooser::builder()
        .seed(0x5eed)
        .no_consecutive_failures()
        .no_success_rate()
}

#[test]
fn equal_endpoints_get_equal_shares() {
    // 10 equal backends, 100k calls: a fair share is 10 %, and a count's
    // standard deviation under uniform choice is about 1 % of it, so 5 %
    // relative tolerance is five sigma.
    for (name, builder) in [
        ("peak ewma", builder()),
        ("pending", builder().load(PendingRequests::default())),
    ] {
        let mut sim = Sim::new(builder, &[Backend::new(4, 2); 10]);
        sim.run(50_000, 2, Route::P2c);
        for share in sim.take_shares() {
            assert!((share - 0.1).abs() < 0.005, "{name}: {share}");
        }
    }
}

#[test]
fn two_choices_bound_the_busiest_endpoint() {
    // Balls into bins: n calls held open over n endpoints. One random
    // choice puts about ln n / ln ln n on the busiest (6 or 7 for 1000);
    // two choices about ln ln n / ln 2 (3).
    let n = 1000;
    let mut chooser = builder().load(PendingRequests::default()).build().unwrap();
    for i in 0..n {
        chooser.insert(i, i);
    }
    let picks: Vec<_> = (0..n).map(|_| chooser.pick().unwrap()).collect();
    let p2c_max = chooser
        .endpoints()
        .iter()
        .map(|e| e.in_flight())
        .max()
        .unwrap();
    drop(picks);

    let mut bins = vec![0u32; n];
    let mut x = 0x5eedu64;
    for _ in 0..n {
        // splitmix64: the one-choice baseline, seeded.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bins[((z ^ (z >> 31)) % n as u64) as usize] += 1;
    }
    let one_max = u64::from(*bins.iter().max().unwrap());
    assert!(p2c_max <= 4, "two choices: {p2c_max}");
    assert!(one_max >= 5, "one choice: {one_max}");
    assert!(chooser.endpoints().iter().all(|e| e.in_flight() == 0));
}

#[test]
fn a_much_slower_endpoint_gets_a_small_share() {
    // Four backends of 2 ms and one of 40 ms, each with ample workers.
    let mut backends = vec![Backend::new(64, 2); 4];
    backends.push(Backend::new(64, 40));
    let mut sim = Sim::new(builder(), &backends);
    sim.run(2_000, 4, Route::P2c); // warm up the estimates
    sim.take_shares();
    sim.run(10_000, 4, Route::P2c);
    let shares = sim.take_shares();
    assert!(shares[4] < 0.05, "slow endpoint's share {shares:?}");
}

#[test]
fn a_fast_failing_endpoint_gets_almost_nothing() {
    // Failures raise the load, with no outlier detection to hide behind:
    // the broken backend answers at once, which plain peak-EWMA would love.
    for (name, builder) in [
        ("peak ewma", builder().load(PeakEwma::default())),
        ("pending", builder().load(PendingRequests::default())),
    ] {
        let mut backends = vec![Backend::new(64, 5); 4];
        backends.push(Backend::failing());
        let mut sim = Sim::new(builder, &backends);
        sim.run(1_000, 4, Route::P2c);
        sim.take_shares();
        sim.run(10_000, 4, Route::P2c);
        let shares = sim.take_shares();
        assert!(
            shares[4] < 0.03,
            "{name}: failing endpoint's share {shares:?}"
        );
    }
}

#[test]
fn unequal_backends_a_static_split_overloads_one_p2c_keeps_all_under_capacity() {
    // The incident: three backends of unequal capacity (200, 600 and 800
    // calls/s), 1000 calls/s offered, which they can take together. A
    // split configured 40/30/30 sends 400/s to the smallest one: its queue
    // grows without bound. P2C over peak-EWMA load sees its latency rise
    // and keeps every queue short.
    let backends = [
        Backend::new(2, 10),
        Backend::new(6, 10),
        Backend::new(8, 10),
    ];

    let mut skewed = Sim::new(builder(), &backends);
    skewed.run(10_000, 1, Route::Static(&[40, 30, 30]));
    let skewed_queues = skewed.max_queued();
    assert!(
        skewed_queues[0] > 1_000,
        "static split queues {skewed_queues:?}"
    );

    let builder = builder().load(PeakEwma::new(
        Duration::from_millis(10),
        Duration::from_secs(1),
    ));
    let mut p2c = Sim::new(builder, &backends);
    p2c.run(10_000, 1, Route::P2c);
    let queues = p2c.max_queued();
    assert!(queues.iter().all(|&q| q <= 10), "p2c queues {queues:?}");
    assert_eq!(p2c.unavailable, 0);
}
