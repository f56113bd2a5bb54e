//! The endpoint-admission hook: may this endpoint take a call now?
//!
//! A [`Gate`] guards one endpoint. The chooser asks [`has_room`](Gate::has_room)
//! of each candidate (nothing is consumed) and skips endpoints that refuse;
//! for the endpoint it picks it takes a [`Ticket`] with
//! [`try_acquire`](Gate::try_acquire), and hands it back with the call's
//! sample ([`complete`](Gate::complete)) or unused ([`cancel`](Gate::cancel)).
//! A circuit breaker is a gate (an endpoint whose breaker refuses gets no
//! call but its probes); an adaptive concurrency limit is one too (an
//! endpoint whose limit is full is passed over while another has room).

use std::fmt;
use std::sync::Arc;

use crate::classify::Sample;
use crate::ConfigError;

/// What a gate hands out for one admitted call: two words whose meaning is
/// the gate's (a breaker keeps its state word and start time there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket([u64; 2]);

impl Ticket {
    /// A ticket carrying `words`.
    pub const fn new(words: [u64; 2]) -> Self {
        Self(words)
    }

    /// The words it carries.
    pub const fn words(self) -> [u64; 2] {
        self.0
    }
}

/// Admission to one endpoint, asked by the balancer. Implementations are
/// lock-free and cheap: `has_room` runs for every candidate of every pick.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use seawall::balance::{Gate, Ticket};
/// use seawall::classify::Sample;
///
/// /// At most `max` calls at once.
/// #[derive(Debug)]
/// struct AtMost { max: u64, now: AtomicU64 }
///
/// impl Gate for AtMost {
///     fn has_room(&self) -> bool {
///         self.now.load(Ordering::Acquire) < self.max
///     }
///     fn try_acquire(&self) -> Option<Ticket> {
///         self.now
///             .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1))
///             .ok()
///             .map(|_| Ticket::new([0, 0]))
///     }
///     fn complete(&self, _: Ticket, _: Sample) {
///         self.now.fetch_sub(1, Ordering::AcqRel);
///     }
///     fn cancel(&self, _: Ticket) {
///         self.now.fetch_sub(1, Ordering::AcqRel);
///     }
/// }
/// let gate = AtMost { max: 1, now: AtomicU64::new(0) };
/// let ticket = gate.try_acquire().unwrap();
/// assert!(!gate.has_room());
/// gate.cancel(ticket);
/// assert!(gate.has_room());
/// ```
pub trait Gate: Send + Sync + fmt::Debug + 'static {
    /// Whether a call made now would be admitted; takes nothing.
    fn has_room(&self) -> bool;
    /// Admits one call, or refuses.
    fn try_acquire(&self) -> Option<Ticket>;
    /// The admitted call finished with `sample`.
    fn complete(&self, ticket: Ticket, sample: Sample);
    /// The admitted call was never made, or was cancelled.
    fn cancel(&self, ticket: Ticket);
}

impl<G: Gate + ?Sized> Gate for Arc<G> {
    fn has_room(&self) -> bool {
        (**self).has_room()
    }
    fn try_acquire(&self) -> Option<Ticket> {
        (**self).try_acquire()
    }
    fn complete(&self, ticket: Ticket, sample: Sample) {
        (**self).complete(ticket, sample)
    }
    fn cancel(&self, ticket: Ticket) {
        (**self).cancel(ticket)
    }
}

/// A breaker admits per its state: `has_room` is
/// [`is_call_permitted`](crate::breaker::CircuitBreaker::is_call_permitted),
/// so an OPEN breaker whose wait is over lets exactly its probes through.
#[cfg(feature = "breaker")]
impl Gate for crate::breaker::CircuitBreaker {
    #[inline]
    fn has_room(&self) -> bool {
        self.is_call_permitted()
    }

    #[inline]
    fn try_acquire(&self) -> Option<Ticket> {
        self.acquire_raw().ok().map(|raw| Ticket(raw.into_words()))
    }

    #[inline]
    fn complete(&self, ticket: Ticket, sample: Sample) {
        let raw = crate::breaker::core_raw_permit(ticket.0);
        self.record_raw(raw, sample.outcome());
    }

    fn cancel(&self, ticket: Ticket) {
        self.release_raw(crate::breaker::core_raw_permit(ticket.0));
    }
}

/// The most gates one endpoint carries: a breaker and a limit.
pub const MAX_GATES: usize = 2;

/// The gates of one endpoint (up to [`MAX_GATES`], asked in order).
///
/// ```
/// use seawall::balance::Health;
/// use seawall::breaker::CircuitBreaker;
/// let health = Health::new().gate(CircuitBreaker::builder().build()?)?;
/// assert_eq!(health.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Health {
    gates: [Option<Arc<dyn Gate>>; MAX_GATES],
}

impl Health {
    /// No gate: the endpoint is judged by outlier detection alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a gate; more than [`MAX_GATES`] is an error.
    pub fn gate(mut self, gate: impl Gate) -> Result<Self, ConfigError> {
        let n = self.len();
        if n == MAX_GATES {
            return Err(ConfigError::new(
                "gate",
                n + 1,
                "at most 2 gates per endpoint",
            ));
        }
        self.gates[n] = Some(Arc::new(gate));
        Ok(self)
    }

    /// How many gates there are.
    pub fn len(&self) -> usize {
        self.gates.iter().flatten().count()
    }

    /// Whether there is no gate.
    pub fn is_empty(&self) -> bool {
        self.gates[0].is_none()
    }

    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        self.gates.iter().flatten().all(|g| g.has_room())
    }

    /// Tickets from every gate, or none if one refuses (those already taken
    /// are cancelled).
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<Tickets> {
        let mut tickets = Tickets::default();
        for (i, gate) in self.gates.iter().enumerate() {
            let Some(gate) = gate else { break };
            match gate.try_acquire() {
                Some(t) => tickets.0[i] = Some(t),
                None => {
                    self.cancel(tickets);
                    return None;
                }
            }
        }
        Some(tickets)
    }

    #[inline]
    pub(crate) fn complete(&self, tickets: Tickets, sample: Sample) {
        for (gate, ticket) in self.gates.iter().zip(tickets.0) {
            if let (Some(gate), Some(ticket)) = (gate, ticket) {
                gate.complete(ticket, sample);
            }
        }
    }

    pub(crate) fn cancel(&self, tickets: Tickets) {
        for (gate, ticket) in self.gates.iter().zip(tickets.0) {
            if let (Some(gate), Some(ticket)) = (gate, ticket) {
                gate.cancel(ticket);
            }
        }
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.gates.iter().flatten()).finish()
    }
}

/// The tickets one call holds, one per gate.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tickets([Option<Ticket>; MAX_GATES]);
