//! What is replayed: three backends with a capacity, the misconfigured
//! static split, and the incident's timeline as phases of offered load.

use std::time::Duration;

use super::app::backend::BackendSpec;
use super::app::config::StackKind;

/// One stretch of the timeline.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: &'static str,
    pub duration: Duration,
    /// Offered load as a share of the backends' healthy capacity.
    pub load: f64,
    /// The backend (index) that fails every call during this phase.
    pub failing: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub backends: Vec<BackendSpec>,
    /// The naive split, skewed like the incident's misconfiguration.
    pub weights: Vec<u32>,
    pub phases: Vec<Phase>,
    /// The route's timeout, the same for both stacks.
    pub timeout: Duration,
    pub seed: u64,
}

impl Scenario {
    /// `quick` (CI) keeps every phase but shortens it.
    pub fn incident(quick: bool) -> Self {
        let secs = |full: u64, short: u64| Duration::from_secs(if quick { short } else { full });
        let service = Duration::from_millis(50);
        Self {
            backends: ["backend-a", "backend-b", "backend-c"]
                .iter()
                .map(|name| BackendSpec::new(*name, 4, service))
                .collect(),
            weights: vec![12, 5, 3],
            phases: vec![
                Phase {
                    name: "normal",
                    duration: secs(15, 5),
                    load: 0.4,
                    failing: None,
                },
                Phase {
                    name: "surge",
                    duration: secs(20, 6),
                    load: 1.5,
                    failing: None,
                },
                Phase {
                    name: "failure",
                    duration: secs(20, 6),
                    load: 0.4,
                    failing: Some(1),
                },
                Phase {
                    name: "recovery",
                    duration: secs(15, 5),
                    load: 0.4,
                    failing: None,
                },
            ],
            timeout: Duration::from_secs(1),
            seed: 0x1ac1_de17,
        }
    }

    /// Calls per second all backends serve when healthy, as configured.
    pub fn capacity_rps(&self) -> f64 {
        self.backends
            .iter()
            .map(|b| f64::from(b.capacity) / b.service_time.as_secs_f64())
            .sum()
    }

    pub fn rate(&self, phase: &Phase) -> f64 {
        phase.load * self.capacity_rps()
    }

    /// The gateway's configuration file for one stack: the same text for
    /// both but the `stack` line, so nothing else differs.
    pub fn config(&self, stack: StackKind, addrs: &[std::net::SocketAddr]) -> String {
        let endpoints: Vec<String> = addrs
            .iter()
            .zip(&self.weights)
            .map(|(a, w)| format!("{{ address = \"{a}\", weight = {w} }}"))
            .collect();
        format!(
            r#"stack = "{stack}"

[server]
listen = "127.0.0.1:0"
pool_max_idle_per_host = 1024

[[route]]
prefix = "/"
pool = "backends"
timeout = "{timeout}ms"

[pool.backends]
endpoints = [{endpoints}]

# Each endpoint's adaptive limit: seawall's recommended Hybrid, which
# settles at (1 + headroom) x the backend's workers under saturation. It
# starts at 4 (lower, the three limits fill under normal load's bursts) and
# grows while latency stays at its no-load level. headroom
# 0.3 keeps one call queued per backend (0.2 rounds down to no queue);
# probes drop to 3/4 of the limit, still under the workers. max_limit is a
# hard ceiling at 1.5 x the workers: without it the limit grows during
# normal load to twice the calls it sees in flight (10 to 11 here), and the
# surge's first windows overshoot it (4.0 x capacity, 81 % served).
[pool.backends.limit]
algorithm = "hybrid"
initial_limit = 4
min_limit = 1
max_limit = 6
headroom = 0.3
probe_fraction = 0.75

[pool.backends.breaker]
policy = {{ type = "consecutive_failures", threshold = 3 }}
wait_duration_in_open_state = "1s"
permitted_number_of_calls_in_half_open_state = 1

# The replay's phases last seconds, not minutes: the balancer's latency
# estimate forgets on the same scale.
[pool.backends.balance]
decay = "1s"
failure_penalty = "250ms"
"#,
            stack = match stack {
                StackKind::Naive => "naive",
                StackKind::Seawall => "seawall",
            },
            timeout = self.timeout.as_millis(),
            endpoints = endpoints.join(", "),
        )
    }
}
