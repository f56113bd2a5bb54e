//! A deterministic load simulation for the balancer tests: backends are
//! queues of workers with a fixed service time, time is a `ManualClock`
//! stepped one millisecond at a time, and requests arrive at a fixed rate
//! (open loop, so overload is not hidden).
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use seawall::balance::{Builder, Chooser, Pick};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

/// One simulated backend.
#[derive(Debug, Clone, Copy)]
pub struct Backend {
    /// Calls it serves at once; more wait in its queue.
    pub workers: usize,
    /// How long one call takes once a worker has it, in milliseconds.
    pub service_ms: u64,
    /// Whether every call fails (instantly, like a 503).
    pub fails: bool,
}

impl Backend {
    pub const fn new(workers: usize, service_ms: u64) -> Self {
        Self {
            workers,
            service_ms,
            fails: false,
        }
    }

    pub const fn failing() -> Self {
        Self {
            workers: 1_000,
            service_ms: 0,
            fails: true,
        }
    }
}

struct State {
    backend: Backend,
    /// When each worker is next free (ms).
    free_at: Vec<u64>,
    served: u64,
    in_flight: u64,
    max_queued: u64,
}

/// How requests are sent: through the chooser, or by a fixed split.
#[derive(Debug, Clone, Copy)]
pub enum Route<'a> {
    P2c,
    /// Request `i` goes to backend `weights`-proportionally (round-robin
    /// over a weighted pattern): a static, configured split.
    Static(&'a [u32]),
}

pub struct Sim {
    pub clock: ManualClock,
    pub chooser: Chooser<usize, usize>,
    states: Vec<State>,
    pending: Vec<(u64, usize, Option<Pick<usize>>, Outcome)>,
    now_ms: u64,
    sent: u64,
    pub unavailable: u64,
}

impl Sim {
    /// A simulation over `backends`, with a chooser from `builder` on the
    /// simulation's clock.
    pub fn new(builder: Builder, backends: &[Backend]) -> Self {
        let clock = ManualClock::new();
        let chooser = builder.clock(clock.clone()).build().expect("valid config");
        for i in 0..backends.len() {
            chooser.insert(i, i);
        }
        let states = backends
            .iter()
            .map(|&backend| State {
                backend,
                free_at: vec![0; backend.workers],
                served: 0,
                in_flight: 0,
                max_queued: 0,
            })
            .collect();
        Self {
            clock,
            chooser,
            states,
            pending: Vec::new(),
            now_ms: 0,
            sent: 0,
            unavailable: 0,
        }
    }

    /// Adds a backend at run time (also to the chooser).
    pub fn add(&mut self, backend: Backend) -> usize {
        let i = self.states.len();
        self.states.push(State {
            backend,
            free_at: vec![self.now_ms; backend.workers],
            served: 0,
            in_flight: 0,
            max_queued: 0,
        });
        self.chooser.insert(i, i);
        i
    }

    /// Runs `ms` milliseconds with `per_ms` arrivals each.
    pub fn run(&mut self, ms: u64, per_ms: u32, route: Route<'_>) {
        for _ in 0..ms {
            for _ in 0..per_ms {
                self.send(route);
            }
            self.now_ms += 1;
            self.clock.advance(Duration::from_millis(1));
            self.complete_due();
        }
    }

    fn send(&mut self, route: Route<'_>) {
        let (i, pick) = match route {
            Route::P2c => match self.chooser.pick() {
                Ok(pick) => (*pick.get(), Some(pick)),
                Err(_) => {
                    self.unavailable += 1;
                    return;
                }
            },
            Route::Static(weights) => {
                let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
                let mut slot = self.sent % total;
                let i = weights
                    .iter()
                    .position(|&w| {
                        let hit = slot < u64::from(w);
                        slot = slot.saturating_sub(u64::from(w));
                        hit
                    })
                    .expect("slot within the weights");
                (i, None)
            }
        };
        self.sent += 1;
        let now = self.now_ms;
        let s = &mut self.states[i];
        let (due, outcome) = if s.backend.fails {
            (now, Outcome::Overload)
        } else {
            // FIFO onto the worker free first.
            let w = (0..s.free_at.len())
                .min_by_key(|&w| s.free_at[w])
                .expect("a worker");
            let start = s.free_at[w].max(now);
            s.free_at[w] = start + s.backend.service_ms;
            (start + s.backend.service_ms, Outcome::Success)
        };
        s.served += 1;
        s.in_flight += 1;
        let queued = s.in_flight.saturating_sub(s.backend.workers as u64);
        s.max_queued = s.max_queued.max(queued);
        self.pending.push((due, i, pick, outcome));
    }

    fn complete_due(&mut self) {
        let now = self.now_ms;
        let mut k = 0;
        while k < self.pending.len() {
            if self.pending[k].0 <= now {
                let (_, i, pick, outcome) = self.pending.swap_remove(k);
                self.states[i].in_flight -= 1;
                if let Some(pick) = pick {
                    pick.record(outcome);
                }
            } else {
                k += 1;
            }
        }
    }

    /// Calls each backend received, and resets the counts.
    pub fn take_served(&mut self) -> Vec<u64> {
        self.states
            .iter_mut()
            .map(|s| std::mem::take(&mut s.served))
            .collect()
    }

    /// Each backend's share of the calls since the last take, in [0, 1].
    pub fn take_shares(&mut self) -> Vec<f64> {
        let served = self.take_served();
        let total: u64 = served.iter().sum();
        served
            .iter()
            .map(|&s| s as f64 / total.max(1) as f64)
            .collect()
    }

    /// The longest queue (calls beyond its workers) each backend had.
    pub fn max_queued(&self) -> Vec<u64> {
        self.states.iter().map(|s| s.max_queued).collect()
    }
}
