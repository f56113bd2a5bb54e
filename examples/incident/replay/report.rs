//! The printed report: a table per stack, then the targets.

use std::fmt::Write;

use super::checks::Check;
use super::stats::PhaseStats;

pub fn table(stack: &str, phases: &[PhaseStats]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{stack} gateway");
    let _ = write!(
        out,
        "  {:<9} {:>8} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7}",
        "phase", "offered", "sent", "success", "served", "p50", "p99", "max"
    );
    if let Some(first) = phases.first() {
        for b in &first.backends {
            let _ = write!(
                out,
                "  {:>20}",
                format!("{} calls/peak/cap", short(&b.name))
            );
        }
    }
    let _ = writeln!(out);
    for p in phases {
        let _ = write!(
            out,
            "  {:<9} {:>6.0}/s {:>6} {:>7.2}% {:>6.0}/s {:>5.0}ms {:>5.0}ms {:>5.0}ms",
            p.name, p.offered_rps, p.sent, p.success, p.goodput_rps, p.p50_ms, p.p99_ms, p.max_ms
        );
        for b in &p.backends {
            let _ = write!(
                out,
                "  {:>20}",
                format!("{}/{}/{}", b.calls, b.peak, b.capacity)
            );
        }
        let errors: Vec<String> = p
            .errors
            .iter()
            .map(|(status, n)| match status {
                0 => format!("{n}× no answer"),
                s => format!("{n}× {s}"),
            })
            .collect();
        if !errors.is_empty() {
            let _ = write!(out, "  ({})", errors.join(", "));
        }
        let _ = writeln!(out);
    }
    out
}

fn short(name: &str) -> &str {
    name.rsplit('-').next().unwrap_or(name)
}

pub fn verdict(checks: &[Check]) -> String {
    let mut out = String::from("\ntargets\n");
    for c in checks {
        let _ = writeln!(
            out,
            "  [{}] {:<44} target {:<30} measured {}",
            if c.pass { " ok " } else { "FAIL" },
            c.what,
            c.target,
            c.measured
        );
    }
    out
}
