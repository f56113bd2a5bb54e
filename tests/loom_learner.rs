//! Loom models of the limit learner: stripes buffering samples (two per
//! stripe under loom) and handing them to one algorithm.
//!
//! ```text
//! RUSTFLAGS="--cfg seawall_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --features limit --test loom_learner
//! ```
#![cfg(all(seawall_loom, feature = "limit"))]

use std::sync::Arc;
use std::time::Duration;

use seawall::limit::algorithm::Aimd;
use seawall::limit::{Learner, LimitSample};

/// AIMD from a limit of 10: +1 per success, ⌊×0.9⌋ per drop.
fn learner() -> Arc<Learner> {
    let aimd = Aimd::builder()
        .initial_limit(10)
        .min_limit(1)
        .max_limit(100)
        .build()
        .unwrap();
    Arc::new(Learner::new(Box::new(aimd)))
}

fn sample(dropped: bool) -> LimitSample {
    LimitSample::new(Duration::from_millis(1), 100, dropped)
}

/// Two threads on two stripes record at once (one success, one drop); whatever the interleaving, the published limit is the
/// algorithm's own after every feed has returned, and every sample reached
/// the algorithm once flushed. A limit published outside the lock would let
/// an older limit overwrite a newer one.
#[test]
fn published_limit_is_the_algorithms() {
    loom::model(|| {
        let learner = learner();
        let threads: Vec<_> = [(0, vec![true]), (1, vec![false, false])]
            .into_iter()
            .map(|(stripe, samples)| {
                let learner = learner.clone();
                loom::thread::spawn(move || {
                    for dropped in samples {
                        learner.record_on_stripe(stripe, sample(dropped));
                        let published = learner.limit();
                        assert!((9..=12).contains(&published), "{published}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        learner.flush();
        let algorithm = learner.with_algorithm(|a| a.limit());
        assert_eq!(learner.limit(), algorithm);
        // Two successes (+1) and a drop (⌊×0.9⌋) in any order: D S S gives
        // 11, S D S and S S D give 10.
        assert!(algorithm == 10 || algorithm == 11, "{algorithm}");
    });
}

/// Two threads on one claimed stripe (threads that came after the owned
/// stripes were taken) record while the main thread flushes: a thread that
/// finds the stripe held feeds the algorithm directly, the holder appends
/// under its claim, and the flush waits for the claim. Every success reaches the algorithm exactly once:
/// none lost in a buffer a racing writer overwrote, none fed twice by a
/// hand-over and a flush.
#[test]
fn a_shared_stripe_loses_and_repeats_no_sample() {
    loom::model(|| {
        let learner = learner();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let learner = learner.clone();
                loom::thread::spawn(move || {
                    // Hint 2: past the two owned stripes, claimed stripe 0.
                    learner.record_on_stripe(2, sample(false));
                    let published = learner.limit();
                    assert!((10..=12).contains(&published), "{published}");
                })
            })
            .collect();
        learner.flush();
        for t in threads {
            t.join().unwrap();
        }
        learner.flush();
        assert_eq!(learner.limit(), 12, "each success added one, once");
        assert_eq!(learner.with_algorithm(|a| a.limit()), 12);
    });
}

/// A thread appends to the stripe it owns (no claim: plain stores, then a
/// release of the length) while the main thread flushes: three successes,
/// so one hand-over of a full buffer (two under loom) and one left over.
/// The flush feeds only what lies below the length it read and marks it
/// fed; the owner's hand-over feeds from there. Every success reaches the
/// algorithm exactly once. Fails if the length is stored relaxed (a flush
/// reads a slot not yet written: a sample of in-flight 0, which adds
/// nothing) or if a flush does not mark what it fed (fed twice).
#[test]
fn an_owned_stripe_and_a_flush_lose_and_repeat_no_sample() {
    loom::model(|| {
        let learner = learner();
        let owner = {
            let learner = learner.clone();
            loom::thread::spawn(move || {
                for _ in 0..3 {
                    learner.record_on_stripe(1, sample(false));
                }
            })
        };
        learner.flush();
        owner.join().unwrap();
        learner.flush();
        assert_eq!(learner.limit(), 13, "each success added one, once");
    });
}
