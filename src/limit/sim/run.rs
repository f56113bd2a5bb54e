//! The event loop.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use super::{Queue, Report, Scenario};
use crate::clock::ManualClock;
use crate::limit::algorithm::rng::SplitMix64;
use crate::limit::algorithm::{nanos, Algorithm};
use crate::limit::LimitSample;

/// A call the limiter admitted: when, and how many were in flight then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    admitted: u64,
    in_flight: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival,
    Done { call: Call, dropped: bool },
}

struct Sim<'a, A> {
    s: &'a Scenario,
    algorithm: A,
    rng: SplitMix64,
    events: BinaryHeap<Reverse<(u64, u64, Event)>>,
    seq: u64,
    busy: u32,
    queue: VecDeque<Call>,
    in_flight: u32,
    report: Report,
}

pub(super) fn simulate<A: Algorithm>(s: &Scenario, clock: ManualClock, algorithm: A) -> Report {
    let mut sim = Sim {
        s,
        algorithm,
        rng: SplitMix64::new(s.seed),
        events: BinaryHeap::new(),
        seq: 0,
        busy: 0,
        queue: VecDeque::new(),
        in_flight: 0,
        report: Report::new(s),
    };
    let end = nanos(s.duration);
    let warmup = nanos(s.warmup);
    let tick = nanos(s.tick);
    let mut next_tick = 0;
    sim.schedule_arrival(0);
    while let Some(Reverse((now, _, event))) = sim.events.pop() {
        if now > end {
            break;
        }
        while next_tick <= now {
            sim.report
                .limits
                .push((Duration::from_nanos(next_tick), sim.limit()));
            next_tick += tick;
        }
        clock.set(Duration::from_nanos(now));
        match event {
            Event::Arrival => sim.arrive(now, now >= warmup),
            Event::Done { call, dropped } => sim.complete(now, call, dropped, now >= warmup),
        }
    }
    sim.report
}

impl<A: Algorithm> Sim<'_, A> {
    fn limit(&self) -> u32 {
        self.algorithm.limit().max(1)
    }

    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, event)));
    }

    fn load_at(&self, now: u64) -> f64 {
        self.s
            .load_changes
            .iter()
            .filter(|(at, _)| nanos(*at) <= now)
            .max_by_key(|(at, _)| *at)
            .map_or(self.s.load, |c| c.1)
    }

    fn latency_factor(&self, now: u64) -> f64 {
        self.s
            .spikes
            .iter()
            .filter(|(from, to, _)| (nanos(*from)..nanos(*to)).contains(&now))
            .map(|s| s.2)
            .product()
    }

    fn schedule_arrival(&mut self, now: u64) {
        let rate = self.load_at(now) * self.s.capacity() / 1e9;
        let gap = -(1.0 - self.rng.next_f64()).ln() / rate;
        self.push(now + gap.max(1.0) as u64, Event::Arrival);
    }

    fn start(&mut self, now: u64, call: Call) {
        self.busy += 1;
        let service = self.s.service.draw(self.rng.next_f64()) * self.latency_factor(now);
        self.push(
            now + service.max(1.0) as u64,
            Event::Done {
                call,
                dropped: false,
            },
        );
    }

    fn arrive(&mut self, now: u64, measured: bool) {
        self.schedule_arrival(now);
        if measured {
            self.report.offered += 1;
        }
        if self.in_flight >= self.limit() {
            if measured {
                self.report.shed += 1;
            }
            return;
        }
        self.in_flight += 1;
        let call = Call {
            admitted: now,
            in_flight: self.in_flight,
        };
        let room = match self.s.queue {
            Queue::Unbounded => true,
            Queue::Bounded(n) => self.queue.len() < n as usize,
            Queue::None => false,
        };
        if self.busy < self.s.workers {
            self.start(now, call);
        } else if room {
            self.queue.push_back(call);
        } else {
            let at = now + nanos(self.s.reject_time);
            self.push(
                at,
                Event::Done {
                    call,
                    dropped: true,
                },
            );
        }
    }

    fn complete(&mut self, now: u64, call: Call, dropped: bool, measured: bool) {
        self.in_flight -= 1;
        if !dropped {
            self.busy -= 1;
            if let Some(next) = self.queue.pop_front() {
                self.start(now, next);
            }
        }
        let rtt = now - call.admitted;
        if measured {
            if dropped {
                self.report.dropped += 1;
            } else {
                self.report.latencies.push(rtt);
            }
        }
        self.algorithm.update(LimitSample::new(
            Duration::from_nanos(rtt),
            call.in_flight,
            dropped,
        ));
    }
}
