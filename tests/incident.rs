//! The incident replay in quick mode, in-process: the seawall gateway must
//! stay up where the naive one cascades. Every target is judged against the
//! capacities the replay sets (scaled by how slowly the machine really ran
//! the backends), not against wall-clock luck.

#[path = "../examples/incident/replay/mod.rs"]
mod replay;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seawall_stands_where_the_naive_gateway_cascades() {
    // A stuck replay fails the test instead of hanging it.
    let outcome = tokio::time::timeout(
        Duration::from_secs(240),
        replay::outcome::replay(true, false),
    )
    .await
    .expect("the quick replay finishes within four minutes")
    .expect("the replay runs");
    let report = outcome.report();
    println!("{report}");
    let missed: Vec<_> = outcome.checks.iter().filter(|c| !c.pass).collect();
    assert!(missed.is_empty(), "missed targets: {missed:#?}\n{report}");
    // The chart is drawn from both runs.
    let svg = outcome.svg();
    assert!(svg.starts_with("<svg") && svg.matches("<polyline").count() == 4);
}
