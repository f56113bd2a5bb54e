//! Both runs, their numbers, the verdict, the report and the chart.

use std::time::Duration;

use seawall::BoxError;

use super::app::config::StackKind;
use super::chart::{self, Series};
use super::checks::{self, Check, Verdict};
use super::report;
use super::run::{run_stack, StackRun};
use super::scenario::Scenario;
use super::stats::{self, PhaseStats};

#[derive(Debug)]
pub struct Outcome {
    pub scenario: Scenario,
    pub naive: StackRun,
    pub seawall: StackRun,
    pub naive_stats: Vec<PhaseStats>,
    pub seawall_stats: Vec<PhaseStats>,
    pub capacity_rps: f64,
    pub checks: Vec<Check>,
}

/// Runs the naive stack, then the seawall stack, with the same load.
pub async fn replay(quick: bool, verbose: bool) -> Result<Outcome, BoxError> {
    let scenario = Scenario::incident(quick);
    let naive = run_stack(&scenario, StackKind::Naive, verbose).await?;
    let seawall = run_stack(&scenario, StackKind::Seawall, verbose).await?;
    let naive_stats = stats::phases(&scenario, &naive);
    let seawall_stats = stats::phases(&scenario, &seawall);
    // The seawall run keeps its backends out of thrashing, so its
    // slowdown is the machine's, not the model's.
    let capacity_rps = scenario.capacity_rps() / seawall.slowdown;
    let service = scenario
        .backends
        .first()
        .map_or(Duration::from_millis(50), |b| b.service_time);
    let failed_backend = scenario.phases.iter().find_map(|p| p.failing).unwrap_or(0);
    let checks = checks::checks(&Verdict {
        naive: &naive_stats,
        seawall: &seawall_stats,
        capacity_rps,
        p99_bound_ms: 10.0 * service.as_secs_f64() * 1e3 * seawall.slowdown,
        failed_backend,
    });
    Ok(Outcome {
        scenario,
        naive,
        seawall,
        naive_stats,
        seawall_stats,
        capacity_rps,
        checks,
    })
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }

    pub fn report(&self) -> String {
        let mut out = format!(
            "backends: {} × {} workers × {:?} service time = {:.0} calls/s as configured, {:.0}/s as run (workers ran {:.1} % slower than asked)\n",
            self.scenario.backends.len(),
            self.scenario.backends[0].capacity,
            self.scenario.backends[0].service_time,
            self.scenario.capacity_rps(),
            self.capacity_rps,
            100.0 * (self.seawall.slowdown - 1.0),
        );
        out.push_str(&report::table("naive", &self.naive_stats));
        out.push_str(&report::table("seawall", &self.seawall_stats));
        out.push_str(&report::verdict(&self.checks));
        out
    }

    pub fn svg(&self) -> String {
        let width = Duration::from_millis(500);
        let naive = stats::timeline(&self.naive, width);
        let seawall = stats::timeline(&self.seawall, width);
        let phases: Vec<(&str, Duration)> = self
            .scenario
            .phases
            .iter()
            .zip(&self.seawall.spans)
            .map(|(p, s)| (p.name, s.0))
            .collect();
        let end = self.seawall.spans.last().map_or(Duration::ZERO, |s| s.1);
        chart::svg(
            &[
                Series {
                    label: "naive gateway",
                    color: "#d62728",
                    buckets: &naive,
                },
                Series {
                    label: "seawall gateway",
                    color: "#1f77b4",
                    buckets: &seawall,
                },
            ],
            &phases,
            end,
            width,
        )
    }
}
