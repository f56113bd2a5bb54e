//! What the replay must show, each target next to the measured value.
//! Capacities are the ones the scenario sets, scaled by how much slower
//! than asked the backends really ran, so a loaded machine does not decide
//! the verdict.

use super::stats::PhaseStats;

#[derive(Debug, Clone)]
pub struct Check {
    pub what: String,
    pub target: String,
    pub measured: String,
    pub pass: bool,
}

/// The inputs of the verdict.
#[derive(Debug)]
pub struct Verdict<'a> {
    pub naive: &'a [PhaseStats],
    pub seawall: &'a [PhaseStats],
    /// Calls per second the backends could serve, as really run.
    pub capacity_rps: f64,
    /// Served-latency bound for the seawall stack in overload.
    pub p99_bound_ms: f64,
    /// The backend that fails in the `failure` phase.
    pub failed_backend: usize,
}

fn phase<'a>(stats: &'a [PhaseStats], name: &str) -> Option<&'a PhaseStats> {
    stats.iter().find(|p| p.name == name)
}

/// Highest peak concurrency over capacity of any backend in any phase.
fn worst_pressure(stats: &[PhaseStats]) -> f64 {
    stats
        .iter()
        .flat_map(|p| &p.backends)
        .map(|b| f64::from(b.peak) / f64::from(b.capacity.max(1)))
        .fold(0.0, f64::max)
}

pub fn checks(v: &Verdict<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    let mut add = |what: &str, target: String, measured: String, pass: bool| {
        out.push(Check {
            what: what.to_owned(),
            target,
            measured,
            pass,
        });
    };
    let pct = |p: Option<&PhaseStats>| p.map_or(0.0, |p| p.success);
    let s = |name| phase(v.seawall, name);
    let n = |name| phase(v.naive, name);

    let normal = pct(s("normal"));
    add(
        "seawall, normal load: success",
        "≥ 99 %".into(),
        format!("{normal:.2} %"),
        normal >= 99.0,
    );
    let surge = s("surge").map_or(0.0, |p| p.goodput_rps);
    let floor = 0.9 * v.capacity_rps;
    add(
        "seawall, surge: served",
        format!("≥ 90 % of capacity = {floor:.0}/s"),
        format!("{surge:.0}/s ({:.0} %)", 100.0 * surge / v.capacity_rps),
        surge >= floor,
    );
    let p99 = s("surge").map_or(f64::INFINITY, |p| p.p99_ms);
    add(
        "seawall, surge: p99 of served",
        format!("≤ {:.0} ms", v.p99_bound_ms),
        format!("{p99:.0} ms"),
        p99 <= v.p99_bound_ms,
    );
    let pressure = worst_pressure(v.seawall);
    add(
        "seawall: busiest backend's peak",
        "≤ 1.5 × capacity".into(),
        format!("{pressure:.2} ×"),
        pressure <= 1.5,
    );
    let failure = pct(s("failure"));
    add(
        "seawall, one backend down: success",
        "≥ 95 %".into(),
        format!("{failure:.2} %"),
        failure >= 95.0,
    );
    let recovery = pct(s("recovery"));
    add(
        "seawall, recovery: success",
        "≥ 99 %".into(),
        format!("{recovery:.2} %"),
        recovery >= 99.0,
    );
    let share = s("recovery").map_or(0.0, |p| {
        let all: u64 = p.backends.iter().map(|b| b.calls).sum();
        let back = p.backends.get(v.failed_backend).map_or(0, |b| b.calls);
        100.0 * back as f64 / all.max(1) as f64
    });
    add(
        "seawall, recovery: returned backend's share",
        "≥ 10 %".into(),
        format!("{share:.1} %"),
        share >= 10.0,
    );

    let naive_surge = n("surge").map_or(0.0, |p| p.goodput_rps);
    add(
        "naive, surge: served (cascade)",
        format!("< 90 % of capacity = {floor:.0}/s"),
        format!(
            "{naive_surge:.0}/s ({:.0} %)",
            100.0 * naive_surge / v.capacity_rps
        ),
        naive_surge < floor,
    );
    let naive_pressure = worst_pressure(v.naive);
    add(
        "naive: busiest backend's peak (cascade)",
        "> 2 × capacity".into(),
        format!("{naive_pressure:.2} ×"),
        naive_pressure > 2.0,
    );
    let naive_failure = pct(n("failure"));
    add(
        "naive, one backend down: success",
        "< 95 %".into(),
        format!("{naive_failure:.2} %"),
        naive_failure < 95.0,
    );
    out
}
