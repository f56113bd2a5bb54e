//! From the calls' records to numbers: per phase, and over time for the chart.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::load::Record;
use super::run::{BackendPhase, StackRun};
use super::scenario::Scenario;

#[derive(Debug, Clone)]
pub struct PhaseStats {
    pub name: &'static str,
    pub offered_rps: f64,
    pub sent: u64,
    pub ok: u64,
    /// Share of sent calls answered 200, in percent.
    pub success: f64,
    /// Calls answered 200 per second of the phase.
    pub goodput_rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub backends: Vec<BackendPhase>,
    /// Calls not answered 200, by status (0: no answer).
    pub errors: std::collections::BTreeMap<u16, u64>,
}

fn histogram() -> Histogram<u64> {
    // Microseconds up to a minute, three significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

fn summarise<'a>(records: impl Iterator<Item = &'a Record>) -> (u64, u64, Histogram<u64>) {
    let mut h = histogram();
    let (mut sent, mut ok) = (0, 0);
    for r in records {
        sent += 1;
        if r.status == 200 {
            ok += 1;
            let _ = h.record((r.latency.as_micros() as u64).max(1));
        }
    }
    (sent, ok, h)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1e3
    }
}

pub fn phases(scenario: &Scenario, run: &StackRun) -> Vec<PhaseStats> {
    scenario
        .phases
        .iter()
        .enumerate()
        .map(|(i, phase)| {
            let (sent, ok, h) = summarise(run.records.iter().filter(|r| r.phase == i));
            let (from, to) = run.spans[i];
            let seconds = (to - from).as_secs_f64().max(1e-3);
            PhaseStats {
                name: phase.name,
                offered_rps: scenario.rate(phase),
                sent,
                ok,
                success: if sent == 0 {
                    0.0
                } else {
                    100.0 * ok as f64 / sent as f64
                },
                goodput_rps: ok as f64 / seconds,
                p50_ms: ms(&h, 0.5),
                p99_ms: ms(&h, 0.99),
                max_ms: h.max() as f64 / 1e3,
                backends: run.backends[i].clone(),
                errors: run
                    .records
                    .iter()
                    .filter(|r| r.phase == i && r.status != 200)
                    .fold(Default::default(), |mut m, r| {
                        *m.entry(r.status).or_insert(0) += 1;
                        m
                    }),
            }
        })
        .collect()
}

/// One slice of the timeline.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub start: Duration,
    pub success: f64,
    pub p99_ms: Option<f64>,
}

pub fn timeline(run: &StackRun, width: Duration) -> Vec<Bucket> {
    let end = run.spans.last().map_or(Duration::ZERO, |s| s.1);
    let n = (end.as_secs_f64() / width.as_secs_f64()).ceil() as usize;
    (0..n)
        .map(|k| {
            let start = width * k as u32;
            let (sent, ok, h) = summarise(
                run.records
                    .iter()
                    .filter(|r| r.sent >= start && r.sent < start + width),
            );
            Bucket {
                start,
                success: if sent == 0 {
                    100.0
                } else {
                    100.0 * ok as f64 / sent as f64
                },
                p99_ms: (!h.is_empty()).then(|| ms(&h, 0.99)),
            }
        })
        .collect()
}
