//! A property test: the lock-free breaker against a plain sequential
//! reference model of resilience4j's rules, on random single-threaded
//! sequences of calls, held permits, clock moves, manual transitions and
//! resets.
//!
//! The model keeps the calls of the current closed phase in a `VecDeque`:
//! a count window keeps the last `size` of them, a time window those of the
//! last `seconds` whole seconds, a consecutive policy only the current run
//! of failures. After every recorded call it trips when the window holds
//! `min(minimum_number_of_calls, size)` calls (a time window does not cap
//! the minimum) and a rate (`part * 100 / calls` in f32) reaches its
//! threshold. OPEN waits a fixed time (deadlines at millisecond resolution,
//! rounded up; the first call strictly after the wait becomes the first
//! probe); HALF_OPEN judges its probes as soon as
//! `min(minimum_number_of_calls, permitted)` of them are done, and, with a
//! maximum wait, a timer reopens it strictly after that wait (the OPEN wait
//! counting from then); a call belongs to the state (generation) that
//! admitted it. OPEN shows the figures of the state it came from, and
//! refusals are counted per state (OPEN continuing its predecessor's count)
//! and for the breaker's life.

use std::collections::VecDeque;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use seawall::breaker::{CircuitBreaker, Permit, State};
use seawall::classify::Outcome;
use seawall::clock::ManualClock;

const MILLI: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MILLI;
const SLOW_MS: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Count(u32),
    Time(u32),
    Consecutive(u32),
}

#[derive(Debug, Clone, Copy)]
struct Params {
    policy: Policy,
    min_calls: u32,
    failure_rate: f32,
    slow_rate: f32,
    probes: u32,
    wait_ms: u64,
    max_wait_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Acquire; if admitted, the call lasts `millis` and ends with `outcome`.
    Call { outcome: Outcome, millis: u64 },
    /// Move the clock.
    Advance { millis: u64 },
    /// Acquire and drop the permit at once (a cancelled call).
    AcquireDrop,
    /// Acquire and keep the permit for a later op.
    Hold,
    /// Record an outcome for a held permit (index modulo the held count).
    Complete { index: usize, outcome: Outcome },
    /// Drop a held permit unrecorded.
    Release { index: usize },
    /// `CircuitBreaker::transition_to`.
    Transition(State),
    /// `CircuitBreaker::reset`.
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ModelPermit {
    gen: u32,
    state: State,
    start: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Counts {
    calls: u32,
    failed: u32,
    slow: u32,
}

/// The sequential reference.
#[derive(Debug)]
struct Model {
    p: Params,
    now: u64,
    state: State,
    gen: u32,
    /// (second, failed, slow) of the calls recorded in generation
    /// `window_gen` (the last CLOSED or METRICS_ONLY phase).
    window: VecDeque<(u64, bool, bool)>,
    window_gen: u32,
    deadline: u64,
    issued: u32,
    probes: Counts,
    /// What OPEN shows: the counts of the state it came from and the
    /// minimum below which their rates are undefined (`None`: the window of
    /// generation `window_gen`).
    carried: Option<(Counts, u32, bool)>,
    not_permitted: u64,
    lifetime_not_permitted: u64,
}

fn rate(part: u32, calls: u32) -> f32 {
    part as f32 * 100.0 / calls as f32
}

impl Model {
    fn new(p: Params) -> Self {
        Self {
            p,
            now: 0,
            state: State::Closed,
            gen: 0,
            window: VecDeque::new(),
            window_gen: 0,
            deadline: 0,
            issued: 0,
            probes: Counts::default(),
            carried: Some((Counts::default(), 1, false)),
            not_permitted: 0,
            lifetime_not_permitted: 0,
        }
    }

    fn min_calls(&self) -> u32 {
        match self.p.policy {
            Policy::Count(size) => self.p.min_calls.min(size),
            _ => self.p.min_calls,
        }
    }

    fn trips(&self, c: Counts, min: u32) -> bool {
        c.calls >= min
            && c.calls > 0
            && (rate(c.failed, c.calls) >= self.p.failure_rate
                || rate(c.slow, c.calls) >= self.p.slow_rate)
    }

    fn window_counts(&self) -> Counts {
        let mut c = Counts::default();
        let now_sec = self.now / SECOND;
        for &(sec, failed, slow) in &self.window {
            if let Policy::Time(seconds) = self.p.policy {
                // The buckets of the last `seconds` whole seconds.
                if sec + u64::from(seconds) <= now_sec {
                    continue;
                }
            }
            c.calls += 1;
            c.failed += failed as u32;
            c.slow += slow as u32;
        }
        if let Policy::Consecutive(_) = self.p.policy {
            // The window is the current run of failures; no slow calls.
            c.slow = 0;
        }
        c
    }

    /// Records a closed (or metrics-only) outcome; returns whether the
    /// window trips.
    fn push(&mut self, failed: bool, slow: bool) -> bool {
        match self.p.policy {
            Policy::Count(size) => {
                self.window.push_back((self.now / SECOND, failed, slow));
                if self.window.len() > size as usize {
                    self.window.pop_front();
                }
                self.trips(self.window_counts(), self.min_calls())
            }
            Policy::Time(_) => {
                self.window.push_back((self.now / SECOND, failed, slow));
                self.trips(self.window_counts(), self.min_calls())
            }
            Policy::Consecutive(k) => {
                if failed {
                    self.window.push_back((0, true, false));
                } else {
                    self.window.clear();
                }
                self.window.len() >= k as usize
            }
        }
    }

    fn probe_min(&self) -> u32 {
        self.p.min_calls.min(self.p.probes)
    }

    fn enter(&mut self, state: State) {
        self.enter_at(state, self.now);
    }

    /// Enters `state` at time `at` (a timer may fire before now).
    fn enter_at(&mut self, state: State, at: u64) {
        let from = self.state;
        if state == State::Open {
            self.carried = match from {
                State::Closed | State::MetricsOnly => None,
                State::HalfOpen => Some((self.probes, self.probe_min(), true)),
                State::Open => self.carried,
                State::Disabled | State::ForcedOpen => Some((Counts::default(), 1, false)),
            };
        } else {
            self.not_permitted = 0;
        }
        self.gen += 1;
        self.state = state;
        self.issued = 0;
        self.probes = Counts::default();
        let ceil_ms = |t: u64| t.div_ceil(MILLI) * MILLI;
        match state {
            State::Open => self.deadline = ceil_ms(at + self.p.wait_ms * MILLI),
            State::HalfOpen => {
                self.deadline = match self.p.max_wait_ms {
                    Some(ms) => ceil_ms(at + ms * MILLI),
                    None => u64::MAX,
                }
            }
            State::Closed | State::MetricsOnly => {
                self.window.clear();
                self.window_gen = self.gen;
            }
            _ => {}
        }
    }

    /// Moves the clock, firing the half-open timer on the way.
    fn advance(&mut self, nanos: u64) {
        self.now += nanos;
        if self.state == State::HalfOpen && self.now > self.deadline {
            self.enter_at(State::Open, self.deadline);
        }
    }

    fn reject(
        &mut self,
        state: State,
        retry_after: Option<Duration>,
    ) -> Result<ModelPermit, (State, Option<Duration>)> {
        self.not_permitted += 1;
        self.lifetime_not_permitted += 1;
        Err((state, retry_after))
    }

    /// `Ok(permit)` or `Err((state, retry_after))`.
    fn acquire(&mut self) -> Result<ModelPermit, (State, Option<Duration>)> {
        match self.state {
            State::Closed | State::MetricsOnly | State::Disabled => {}
            State::ForcedOpen => return self.reject(State::ForcedOpen, None),
            State::Open if self.now > self.deadline => {
                self.enter(State::HalfOpen);
                self.issued = 1;
            }
            State::Open => {
                let left = Duration::from_nanos(self.deadline - self.now);
                return self.reject(State::Open, Some(left));
            }
            State::HalfOpen if self.issued < self.p.probes => self.issued += 1,
            State::HalfOpen => return self.reject(State::HalfOpen, None),
        }
        Ok(ModelPermit {
            gen: self.gen,
            state: self.state,
            start: self.now,
        })
    }

    /// Whether a call now would be admitted.
    fn permits(&self) -> bool {
        match self.state {
            State::Closed | State::MetricsOnly | State::Disabled => true,
            State::ForcedOpen => false,
            State::Open => self.now > self.deadline,
            State::HalfOpen => self.issued < self.p.probes,
        }
    }

    fn release(&mut self, permit: ModelPermit) {
        if permit.state == State::HalfOpen && permit.gen == self.gen && self.issued > 0 {
            self.issued -= 1;
        }
    }

    fn record(&mut self, permit: ModelPermit, outcome: Outcome) {
        if outcome == Outcome::Ignored {
            return self.release(permit);
        }
        if permit.gen != self.gen {
            return; // admitted by an earlier state
        }
        let failed = outcome.is_failure();
        let slow = self.now - permit.start > SLOW_MS * MILLI;
        match permit.state {
            State::Closed => {
                if self.push(failed, slow) {
                    self.enter(State::Open);
                }
            }
            State::MetricsOnly => {
                self.push(failed, slow); // never trips
            }
            State::HalfOpen => {
                self.probes.calls += 1;
                self.probes.failed += failed as u32;
                self.probes.slow += slow as u32;
                if self.probes.calls >= self.probe_min() {
                    let verdict = if self.trips(self.probes, self.probe_min()) {
                        State::Open
                    } else {
                        State::Closed
                    };
                    self.enter(verdict);
                }
            }
            State::Disabled => {}
            State::Open | State::ForcedOpen => unreachable!("no permit is admitted there"),
        }
    }

    fn transition(&mut self, to: State) -> Result<(), ()> {
        let forbidden = matches!(
            (self.state, to),
            (State::Closed, State::HalfOpen)
                | (State::MetricsOnly, State::Open)
                | (State::MetricsOnly, State::HalfOpen)
        );
        if forbidden {
            return Err(());
        }
        self.enter(to);
        Ok(())
    }

    fn reset(&mut self) {
        self.enter(State::Closed);
    }

    /// (counts, failure rate) as `metrics()` should report them.
    fn metrics(&self) -> (Counts, Option<f32>) {
        let has_rates = !matches!(self.p.policy, Policy::Consecutive(_));
        let (c, min, has_rates) = match self.state {
            State::Closed | State::MetricsOnly => {
                (self.window_counts(), self.min_calls(), has_rates)
            }
            // OPEN shows the figures of the state it came from.
            State::Open => match self.carried {
                None => (self.window_counts(), self.min_calls(), has_rates),
                Some(carried) => carried,
            },
            State::HalfOpen => (self.probes, self.probe_min(), true),
            State::Disabled | State::ForcedOpen => (Counts::default(), 1, false),
        };
        let defined = has_rates && c.calls >= min && c.calls > 0;
        (c, defined.then(|| rate(c.failed, c.calls)))
    }
}

/// Outcomes, `failures` in 9 of them failures or overloads.
fn outcome(failures: u32) -> impl Strategy<Value = Outcome> {
    prop_oneof![
        7 - failures => Just(Outcome::Success),
        failures => Just(Outcome::Failure),
        1 => Just(Outcome::Overload),
        1 => Just(Outcome::Ignored),
    ]
}

fn duration_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..SLOW_MS,
        1 => Just(SLOW_MS),
        1 => Just(SLOW_MS + 1),
        2 => SLOW_MS..400,
    ]
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Closed),
        Just(State::Open),
        Just(State::HalfOpen),
        Just(State::Disabled),
        Just(State::ForcedOpen),
        Just(State::MetricsOnly),
    ]
}

/// Operations; `manual` adds manual transitions; clock moves are at most
/// `max_advance_ms`; see `outcome` for `failures`.
fn op(manual: bool, max_advance_ms: u64, failures: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (outcome(failures), duration_ms()).prop_map(|(outcome, millis)| Op::Call { outcome, millis }),
        3 => prop_oneof![Just(0u64), Just(1u64), 1u64..500, 500u64..max_advance_ms]
            .prop_map(|millis| Op::Advance { millis }),
        2 => Just(Op::AcquireDrop),
        2 => Just(Op::Hold),
        2 => (any::<usize>(), outcome(failures)).prop_map(|(index, outcome)| Op::Complete { index, outcome }),
        1 => any::<usize>().prop_map(|index| Op::Release { index }),
        1 => Just(Op::Reset),
        if manual { 2 } else { 0 } => state().prop_map(Op::Transition),
    ]
}

fn params(policy: impl Strategy<Value = Policy>) -> impl Strategy<Value = Params> {
    (
        policy,
        1u32..=8,
        prop_oneof![
            Just(20.0f32),
            Just(100.0 / 3.0),
            Just(50.0),
            Just(75.0),
            Just(100.0)
        ],
        prop_oneof![Just(30.0f32), Just(50.0), Just(100.0)],
        1u32..=3,
        prop_oneof![Just(1u64), 1u64..3_000],
        prop_oneof![Just(None), Just(Some(1u64)), (1u64..2_000).prop_map(Some)],
    )
        .prop_map(
            |(policy, min_calls, failure_rate, slow_rate, probes, wait_ms, max_wait_ms)| Params {
                policy,
                min_calls,
                failure_rate,
                slow_rate,
                probes,
                wait_ms,
                max_wait_ms,
            },
        )
}

fn build(p: Params, clock: &ManualClock) -> CircuitBreaker {
    let builder = CircuitBreaker::builder();
    let builder = match p.policy {
        Policy::Count(size) => builder.count_window(size),
        Policy::Time(seconds) => builder.time_window(seconds),
        Policy::Consecutive(k) => builder.consecutive_failures(k),
    };
    let builder = match p.max_wait_ms {
        Some(ms) => builder.max_wait_duration_in_half_open_state(Duration::from_millis(ms)),
        None => builder,
    };
    builder
        .minimum_number_of_calls(p.min_calls)
        .failure_rate_threshold(p.failure_rate)
        .slow_call_rate_threshold(p.slow_rate)
        .slow_call_duration_threshold(Duration::from_millis(SLOW_MS))
        .permitted_number_of_calls_in_half_open_state(p.probes)
        .wait_duration_in_open_state(Duration::from_millis(p.wait_ms))
        .clock(clock.clone())
        .build()
        .expect("generated configurations are valid")
}

/// Acquires on both sides and checks they agree.
fn acquire<'a>(
    breaker: &'a CircuitBreaker,
    model: &mut Model,
    step: usize,
) -> Result<Option<(Permit<'a>, ModelPermit)>, TestCaseError> {
    let real = breaker.try_acquire();
    let expected = model.acquire();
    match (real, expected) {
        (Ok(permit), Ok(m)) => {
            prop_assert_eq!(permit.state(), m.state, "step {}: admitted in", step);
            Ok(Some((permit, m)))
        }
        (Err(open), Err((state, retry_after))) => {
            prop_assert_eq!(open.state(), state, "step {}: refused in", step);
            prop_assert_eq!(
                open.retry_after(),
                retry_after,
                "step {}: retry_after",
                step
            );
            Ok(None)
        }
        (real, expected) => Err(TestCaseError::fail(format!(
            "step {step}: breaker admitted: {}, model admitted: {}",
            real.is_ok(),
            expected.is_ok()
        ))),
    }
}

fn check(
    breaker: &CircuitBreaker,
    model: &Model,
    step: usize,
    op: &Op,
) -> Result<(), TestCaseError> {
    let m = breaker.metrics();
    let (counts, failure_rate) = model.metrics();
    prop_assert_eq!(
        breaker.state(),
        model.state,
        "step {} ({:?}): state",
        step,
        op
    );
    prop_assert_eq!(m.state(), model.state, "step {}: metrics state", step);
    prop_assert_eq!(
        m.generation(),
        model.gen,
        "step {} ({:?}): generation",
        step,
        op
    );
    prop_assert_eq!(
        (m.calls(), m.failed_calls(), m.slow_calls()),
        (counts.calls, counts.failed, counts.slow),
        "step {} ({:?}): (calls, failed, slow) in {}",
        step,
        op,
        model.state
    );
    prop_assert_eq!(
        m.failure_rate(),
        failure_rate,
        "step {}: failure rate",
        step
    );
    prop_assert_eq!(
        m.not_permitted_calls(),
        model.not_permitted,
        "step {}: not permitted",
        step
    );
    prop_assert_eq!(
        m.lifetime_not_permitted_calls(),
        model.lifetime_not_permitted,
        "step {}: lifetime not permitted",
        step
    );
    prop_assert_eq!(
        breaker.is_call_permitted(),
        model.permits(),
        "step {} ({:?}): is_call_permitted in {}",
        step,
        op,
        model.state
    );
    Ok(())
}

fn run(p: Params, ops: &[Op]) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let breaker = build(p, &clock);
    let mut model = Model::new(p);
    let mut held: Vec<(Permit<'_>, ModelPermit)> = Vec::new();
    let advance = |model: &mut Model, millis: u64| {
        clock.advance(Duration::from_millis(millis));
        model.advance(millis * MILLI);
    };

    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Call { outcome, millis } => {
                let admitted = acquire(&breaker, &mut model, step)?;
                advance(&mut model, millis);
                if let Some((permit, m)) = admitted {
                    permit.record(outcome);
                    model.record(m, outcome);
                }
            }
            Op::Advance { millis } => advance(&mut model, millis),
            Op::AcquireDrop => {
                if let Some((permit, m)) = acquire(&breaker, &mut model, step)? {
                    drop(permit);
                    model.release(m);
                }
            }
            Op::Hold => {
                if let Some(pair) = acquire(&breaker, &mut model, step)? {
                    held.push(pair);
                }
            }
            Op::Complete { index, outcome } => {
                if !held.is_empty() {
                    let (permit, m) = held.swap_remove(index % held.len());
                    permit.record(outcome);
                    model.record(m, outcome);
                }
            }
            Op::Release { index } => {
                if !held.is_empty() {
                    let (permit, m) = held.swap_remove(index % held.len());
                    drop(permit);
                    model.release(m);
                }
            }
            Op::Transition(to) => {
                let real = breaker.transition_to(to);
                let expected = model.transition(to);
                prop_assert_eq!(
                    real.is_ok(),
                    expected.is_ok(),
                    "step {}: transition to {}",
                    step,
                    to
                );
            }
            Op::Reset => {
                breaker.reset();
                model.reset();
            }
        }
        check(&breaker, &model, step, op)?;
    }
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5EA_3A11),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn count_window_breaker_matches_the_reference_model(
        p in params((1u32..=6).prop_map(Policy::Count)),
        ops in proptest::collection::vec(op(false, 4_000, 3), 1..120),
    ) {
        run(p, &ops)?;
    }

    #[test]
    fn consecutive_breaker_matches_the_reference_model(
        p in params((1u32..=4).prop_map(Policy::Consecutive)),
        ops in proptest::collection::vec(op(false, 4_000, 3), 1..120),
    ) {
        run(p, &ops)?;
    }

    #[test]
    fn manual_transitions_match_the_reference_model(
        p in params(prop_oneof![
            (1u32..=6).prop_map(Policy::Count),
            (1u32..=4).prop_map(Policy::Time),
            (1u32..=4).prop_map(Policy::Consecutive),
        ]),
        ops in proptest::collection::vec(op(true, 4_000, 3), 1..120),
    ) {
        run(p, &ops)?;
    }
}

proptest! {
    // Time windows have more to explore (bucket boundaries, evictions):
    // more cases, clock moves shorter than most windows so that calls leave
    // a few at a time, and mostly successes, so that windows stay closed
    // long enough for old calls to leave them.
    #![proptest_config(config(512))]

    #[test]
    fn time_window_breaker_matches_the_reference_model(
        p in params((1u32..=4).prop_map(Policy::Time)),
        ops in proptest::collection::vec(op(false, 2_500, 1), 1..120),
    ) {
        run(p, &ops)?;
    }
}

/// A hand-written sequence through every automatic state, as a smoke test
/// of the model itself.
#[test]
fn model_and_breaker_agree_on_a_full_cycle() {
    let p = Params {
        policy: Policy::Count(4),
        min_calls: 4,
        failure_rate: 50.0,
        slow_rate: 100.0,
        probes: 2,
        wait_ms: 1_000,
        max_wait_ms: None,
    };
    let f = |outcome| Op::Call { outcome, millis: 0 };
    let ops = [
        f(Outcome::Success),
        f(Outcome::Failure),
        f(Outcome::Success),
        f(Outcome::Failure), // 50 %: OPEN
        Op::Advance { millis: 1_000 },
        f(Outcome::Success), // refused at exactly the wait
        Op::Advance { millis: 1 },
        Op::Hold, // first probe
        Op::AcquireDrop,
        f(Outcome::Success),
        Op::Complete {
            index: 0,
            outcome: Outcome::Success,
        }, // CLOSED
        Op::Call {
            outcome: Outcome::Success,
            millis: 150,
        },
        Op::Transition(State::MetricsOnly),
        f(Outcome::Failure),
        Op::Transition(State::Open), // refused
        Op::Transition(State::Disabled),
        Op::Transition(State::ForcedOpen),
        f(Outcome::Success),
        Op::Reset,
    ];
    run(p, &ops).unwrap();
}
