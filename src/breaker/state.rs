//! The breaker's states and the packed state word.
//!
//! One `AtomicU64` holds everything a call's admission needs:
//!
//! ```text
//!  63            56 55          48 47          40 39          32 31                 3 2    0
//! +---------------+--------------+--------------+--------------+--------------------+------+
//! | probes issued | probes done  | probes failed| probes slow  |  generation (29)   | kind |
//! +---------------+--------------+--------------+--------------+--------------------+------+
//! ```
//!
//! The generation grows by one with every transition (wrapping after 2^29),
//! so a compare-and-swap against a loaded word fails whenever anything
//! changed, and a call remembers the generation it was admitted in. The
//! probe counters are used in HALF_OPEN; in OPEN the same bits say whose
//! figures OPEN reports ([`Carried`]), and they are zero in every other
//! state.

use std::fmt;

/// A circuit breaker's state.
///
/// Exactly resilience4j's six states. The set is part of the breaker's
/// definition and will not grow, so the enum is exhaustive: match it
/// without a wildcard arm (a gauge, a status page).
///
/// ```
/// use seawall::breaker::State;
/// assert_eq!(State::HalfOpen.as_str(), "half_open");
/// assert!(!State::Closed.can_transition_to(State::HalfOpen));
/// assert!(State::Open.can_transition_to(State::HalfOpen));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls flow and their outcomes are recorded; the breaker trips when a
    /// threshold is crossed.
    Closed,
    /// Calls are refused until the wait is over.
    Open,
    /// A fixed number of probe calls are admitted and judged.
    HalfOpen,
    /// Calls flow, nothing is recorded, nothing trips (manual).
    Disabled,
    /// Every call is refused until a manual transition (manual).
    ForcedOpen,
    /// Calls flow and are recorded, but the breaker never trips (manual).
    MetricsOnly,
}

impl State {
    /// Every state, in the order of their [`code`](State::code)s.
    pub const ALL: [State; 6] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::Disabled,
        State::ForcedOpen,
        State::MetricsOnly,
    ];

    /// A stable numeric code: 0 closed, 1 open, 2 half-open, 3 disabled,
    /// 4 forced-open, 5 metrics-only (the `seawall_breaker_state` gauge).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The state's name in snake case, as in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::Disabled => "disabled",
            State::ForcedOpen => "forced_open",
            State::MetricsOnly => "metrics_only",
        }
    }

    /// Whether resilience4j allows a transition from `self` to `to`. Every
    /// state may go to itself (which restarts it) and to any other state,
    /// except CLOSED → HALF_OPEN and METRICS_ONLY → OPEN or HALF_OPEN.
    pub fn can_transition_to(self, to: State) -> bool {
        !matches!(
            (self, to),
            (State::Closed, State::HalfOpen)
                | (State::MetricsOnly, State::Open)
                | (State::MetricsOnly, State::HalfOpen)
        )
    }

    #[inline]
    fn from_code(code: u64) -> State {
        // The kind bits are only ever written from a `State`.
        State::ALL[code as usize % State::ALL.len()]
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) const GEN_BITS: u32 = 29;
pub(crate) const GEN_MASK: u32 = (1 << GEN_BITS) - 1;

/// Probe counters of a HALF_OPEN phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Probes {
    /// Slots handed out and not given back (≤ permitted).
    pub(crate) issued: u8,
    /// Probes that completed with a recorded outcome.
    pub(crate) done: u8,
    pub(crate) failed: u8,
    pub(crate) slow: u8,
}

/// A decoded state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word {
    pub(crate) state: State,
    pub(crate) gen: u32,
    pub(crate) probes: Probes,
}

impl Word {
    /// The bits of the kind (the `State` code).
    pub(crate) const KIND_MASK: u64 = 0b111;

    #[inline]
    pub(crate) fn decode(w: u64) -> Word {
        Word {
            state: State::from_code(w & Word::KIND_MASK),
            gen: ((w >> 3) as u32) & GEN_MASK,
            probes: Probes {
                issued: (w >> 56) as u8,
                done: (w >> 48) as u8,
                failed: (w >> 40) as u8,
                slow: (w >> 32) as u8,
            },
        }
    }

    #[inline]
    pub(crate) fn encode(self) -> u64 {
        let p = self.probes;
        self.state.code() as u64
            | ((self.gen & GEN_MASK) as u64) << 3
            | (p.issued as u64) << 56
            | (p.done as u64) << 48
            | (p.failed as u64) << 40
            | (p.slow as u64) << 32
    }

    /// The word for entering `state` as the next generation: fresh probe
    /// counters, except that OPEN carries the figures of the state it came
    /// from, as resilience4j's `OpenState` keeps its predecessor's metrics.
    pub(crate) fn next(self, state: State) -> Word {
        let carried = match state {
            State::Open => match self.state {
                State::Closed | State::MetricsOnly => Carried::Window { back: 1 },
                State::HalfOpen => Carried::Probes(Probes {
                    issued: 0,
                    ..self.probes
                }),
                // A manual OPEN -> OPEN keeps the figures it showed; a
                // closed window one generation further back.
                State::Open => match self.carried() {
                    Carried::Window { back } => back
                        .checked_add(1)
                        .map_or(Carried::Nothing, |back| Carried::Window { back }),
                    other => other,
                },
                State::Disabled | State::ForcedOpen => Carried::Nothing,
            },
            _ => Carried::Nothing,
        };
        Word {
            state,
            gen: self.gen.wrapping_add(1) & GEN_MASK,
            probes: carried.encode(),
        }
    }

    /// Whose figures an OPEN word reports.
    pub(crate) fn carried(self) -> Carried {
        if self.state != State::Open {
            return Carried::Nothing;
        }
        match self.probes.issued {
            Carried::PROBES => Carried::Probes(Probes {
                issued: 0,
                ..self.probes
            }),
            Carried::WINDOW => Carried::Window {
                back: self.probes.done,
            },
            _ => Carried::Nothing,
        }
    }
}

/// The figures OPEN reports: those of the state it came from. They live in
/// the probe bits of the OPEN word (unused there), tagged by the `issued`
/// byte, so that reading them costs no other load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carried {
    /// Nothing to show (OPEN entered from DISABLED or FORCED_OPEN, or a
    /// closed window more than 255 manual re-openings ago).
    Nothing,
    /// The closed (or metrics-only) window of generation `gen - back`.
    Window { back: u8 },
    /// The probe counts of the failed HALF_OPEN phase.
    Probes(Probes),
}

impl Carried {
    const PROBES: u8 = 1;
    const WINDOW: u8 = 2;

    fn encode(self) -> Probes {
        match self {
            Carried::Nothing => Probes::default(),
            Carried::Window { back } => Probes {
                issued: Carried::WINDOW,
                done: back,
                ..Probes::default()
            },
            Carried::Probes(p) => Probes {
                issued: Carried::PROBES,
                ..p
            },
        }
    }
}

/// The deadline word: when OPEN ends or HALF_OPEN gives up, tagged with the
/// generation it belongs to, plus the attempt number of the backoff.
///
/// ```text
///  63        48 47     40 39                                   0
/// +------------+---------+--------------------------------------+
/// | gen (16)   | attempt | deadline, ms since the breaker's origin |
/// +------------+---------+--------------------------------------+
/// ```
///
/// It is written right after every transition's state CAS (with no deadline
/// where the new state needs none, so the tag keeps up with the generation),
/// and a reader can find it one generation behind: the tag tells it apart,
/// and a deadline that is not published yet counts as not reached.
///
/// Times count from the breaker's origin (the clock's reading when it was
/// built), not from the clock's own origin, which may lie anywhere (the
/// UNIX epoch, say): 40 bits of milliseconds hold 34.8 years of the
/// breaker's life. A deadline beyond that is clamped to the last
/// representable millisecond, so in a breaker older than that every wait
/// ends at once instead of never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    pub(crate) tag: u16,
    pub(crate) attempt: u8,
    pub(crate) millis: u64,
}

pub(crate) const DEADLINE_NEVER: u64 = (1 << 40) - 1;
/// The latest finite deadline, in ms.
const DEADLINE_LAST: u64 = DEADLINE_NEVER - 1;

impl Deadline {
    pub(crate) fn decode(w: u64) -> Deadline {
        Deadline {
            tag: (w >> 48) as u16,
            attempt: (w >> 40) as u8,
            millis: w & DEADLINE_NEVER,
        }
    }

    pub(crate) fn encode(self) -> u64 {
        (self.tag as u64) << 48 | (self.attempt as u64) << 40 | self.millis.min(DEADLINE_NEVER)
    }

    pub(crate) fn tag_of(gen: u32) -> u16 {
        gen as u16
    }

    /// Milliseconds since the breaker's origin, rounded up so that the wait
    /// is never shortened, and clamped below [`DEADLINE_NEVER`] so that a
    /// finite wait always ends.
    pub(crate) fn millis_at(nanos: u64) -> u64 {
        nanos.div_ceil(1_000_000).min(DEADLINE_LAST)
    }

    /// The deadline, in ms, of a wait of `wait` from `at` (ns since the
    /// breaker's origin).
    pub(crate) fn after(at: u64, wait: std::time::Duration) -> u64 {
        Deadline::millis_at(at.saturating_add(crate::clock::saturating_nanos(wait)))
    }

    /// The deadline in nanoseconds since the breaker's origin.
    pub(crate) fn nanos(self) -> u64 {
        self.millis.saturating_mul(1_000_000)
    }

    /// Whether `now` lies strictly after this deadline.
    pub(crate) fn passed(self, now_nanos: u64) -> bool {
        self.millis != DEADLINE_NEVER && now_nanos > self.millis.saturating_mul(1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_round_trips() {
        let w = Word {
            state: State::HalfOpen,
            gen: GEN_MASK,
            probes: Probes {
                issued: 255,
                done: 7,
                failed: 3,
                slow: 1,
            },
        };
        assert_eq!(Word::decode(w.encode()), w);
        assert_eq!(w.next(State::Closed).gen, 0);
    }

    #[test]
    fn open_carries_the_figures_of_the_state_it_came_from() {
        let probes = Probes {
            issued: 3,
            done: 2,
            failed: 2,
            slow: 1,
        };
        let half_open = Word {
            state: State::HalfOpen,
            gen: 7,
            probes,
        };
        let open = half_open.next(State::Open);
        let counts = Probes {
            issued: 0,
            ..probes
        };
        assert_eq!(open.carried(), Carried::Probes(counts));
        assert_eq!(open.next(State::Open).carried(), Carried::Probes(counts));
        let closed = Word {
            state: State::Closed,
            gen: 7,
            probes: Probes::default(),
        };
        let tripped = closed.next(State::Open);
        assert_eq!(tripped.carried(), Carried::Window { back: 1 });
        assert_eq!(
            tripped.next(State::Open).carried(),
            Carried::Window { back: 2 }
        );
        let forced = Word {
            state: State::ForcedOpen,
            ..closed
        };
        assert_eq!(forced.next(State::Open).carried(), Carried::Nothing);
        assert_eq!(open.next(State::HalfOpen).probes, Probes::default());
    }

    #[test]
    fn deadlines_are_clamped_so_a_finite_wait_ends() {
        assert_eq!(Deadline::millis_at(u64::MAX), DEADLINE_LAST);
        let d = Deadline {
            tag: 0,
            attempt: 1,
            millis: Deadline::millis_at(u64::MAX),
        };
        assert!(d.passed(u64::MAX));
    }

    #[test]
    fn deadline_is_strict() {
        let d = Deadline {
            tag: 1,
            attempt: 1,
            millis: 30_000,
        };
        assert_eq!(Deadline::decode(d.encode()), d);
        assert!(!d.passed(30_000_000_000));
        assert!(d.passed(30_000_000_001));
    }
}
