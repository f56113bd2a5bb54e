//! Power of two choices (Mitzenmacher, "The Power of Two Choices in
//! Randomized Load Balancing", 2001; as in Finagle and tower's `p2c`): draw
//! two distinct usable endpoints uniformly, send to the cheaper.
//!
//! Pick cost does not grow with the set: candidates are drawn by bounded
//! rejection sampling (an endpoint that is removed, ejected or whose gate
//! refuses is redrawn, at most [`DRAWS`] times per candidate). Only when no
//! usable endpoint was drawn at all does a pick scan the set, once, from a
//! random place: most endpoints are unusable then, and the alternative is
//! refusing a call that one endpoint could take.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::node::Node;
use super::{health, Chooser};
use crate::balance::error::Unavailable;
use crate::balance::gate::Tickets;
use crate::classify::{Outcome, Sample};
use crate::sync::Ordering;

/// Draws per candidate before giving up on rejection sampling.
const DRAWS: usize = 8;

impl<K, T> Chooser<K, T>
where
    K: Clone + Eq + std::hash::Hash + fmt::Debug + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    /// Picks an endpoint and counts a call in flight to it, or fails fast
    /// when no endpoint is usable.
    #[inline]
    pub fn pick(&mut self) -> Result<Pick<T>, Unavailable> {
        self.refresh();
        let n = self.snapshot.nodes.len();
        if n == 0 {
            return Err(Unavailable::no_endpoints());
        }
        let common = &*self.shared.common;
        let now = common.config.clock.now_nanos();
        if now >= common.next_sweep.load(Ordering::Relaxed) {
            self.sweep(now);
        }
        let panic = self.shared.common.panicking(n);
        // Two rounds: a candidate's gate may close between the look and the
        // acquire, or the endpoint may be removed in between.
        for _ in 0..2 {
            let Some(i) = self.choose(n, panic, now) else {
                break;
            };
            let node = &self.snapshot.nodes[i];
            if let Some(pick) = Pick::admit(node, now) {
                return Ok(pick);
            }
        }
        Err(Unavailable::all_refusing())
    }

    /// The index of the cheaper of two usable candidates.
    #[inline]
    fn choose(&mut self, n: usize, panic: bool, now: u64) -> Option<usize> {
        let nodes = &self.snapshot.nodes;
        let usable = |i: usize| usable(&nodes[i], panic, now);
        let first = (0..DRAWS)
            .map(|_| self.rng.below(n))
            .find(|&i| usable(i))
            .or_else(|| scan(n, self.rng.below(n), usable))?;
        if n == 1 {
            return Some(first);
        }
        let second = (0..DRAWS)
            .map(|_| {
                // Uniform over the others: draw from n-1 and skip `first`.
                let j = self.rng.below(n - 1);
                j + usize::from(j >= first)
            })
            .find(|&j| usable(j));
        Some(match second {
            Some(j) if nodes[j].cost(now) < nodes[first].cost(now) => j,
            _ => first,
        })
    }

    #[cold]
    fn sweep(&self, now: u64) {
        let common = &*self.shared.common;
        let due = common.next_sweep.load(Ordering::Acquire);
        // One handle wins the interval; the others go on picking.
        if now < due
            || common
                .next_sweep
                .compare_exchange(
                    due,
                    now.saturating_add(common.config.interval),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            return;
        }
        health::sweep(&self.snapshot.nodes, common, now);
    }
}

#[inline]
fn usable<T>(node: &Node<T>, panic: bool, now: u64) -> bool {
    !node.is_removed() && (!node.is_ejected(now) || panic) && node.gates.has_room()
}

#[cold]
fn scan(n: usize, start: usize, usable: impl Fn(usize) -> bool) -> Option<usize> {
    (0..n).map(|k| (start + k) % n).find(|&i| usable(i))
}

/// One call's hold on the endpoint it was sent to: it counts the call in
/// flight until it is dropped, and carries the gates' tickets. Record the
/// call's outcome with [`record`](Pick::record); dropping it unrecorded
/// counts as a cancelled call (the gates get their tickets back, nothing is
/// learned).
///
/// ```
/// use seawall::balance::Chooser;
/// use seawall::classify::Outcome;
///
/// let mut chooser: Chooser<u8, &str> = Chooser::builder().build()?;
/// chooser.insert(1, "only");
/// let pick = chooser.pick()?;
/// assert_eq!(chooser.endpoints()[0].in_flight(), 1);
/// drop(pick);
/// assert_eq!(chooser.endpoints()[0].in_flight(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pick<T> {
    node: Arc<Node<T>>,
    tickets: Option<Tickets>,
    start: u64,
}

impl<T> Pick<T> {
    #[inline]
    fn admit(node: &Arc<Node<T>>, now: u64) -> Option<Self> {
        if !node.enter() {
            return None;
        }
        let Some(tickets) = node.gates.try_acquire() else {
            node.leave();
            return None;
        };
        Some(Self {
            node: node.clone(),
            tickets: Some(tickets),
            start: now,
        })
    }

    /// The endpoint's value (for the tower adapter, its service).
    pub fn get(&self) -> &T {
        &self.node.value
    }

    /// The endpoint's stable id (its insertion number).
    pub fn id(&self) -> u64 {
        self.node.id
    }

    /// Whether the endpoint left the set since it was picked: then the call
    /// must not be sent; drop this pick and pick again.
    #[inline]
    pub fn is_removed(&self) -> bool {
        self.node.is_removed()
    }

    /// Records the call's outcome, timed from the pick on the chooser's
    /// clock.
    #[inline]
    pub fn record(self, outcome: Outcome) {
        let now = self.node.common.config.clock.now_nanos();
        let latency = Duration::from_nanos(now.saturating_sub(self.start));
        self.finish(Sample::new(outcome, latency), now)
    }

    /// Records a sample measured by the caller.
    pub fn record_sample(self, sample: Sample) {
        let now = self.node.common.config.clock.now_nanos();
        self.finish(sample, now)
    }

    #[inline]
    fn finish(mut self, sample: Sample, now: u64) {
        if let Some(tickets) = self.tickets.take() {
            self.node.gates.complete(tickets, sample);
        }
        self.node.learn(&sample, now);
    }
}

impl<T> Drop for Pick<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(tickets) = self.tickets.take() {
            self.node.gates.cancel(tickets);
        }
        self.node.leave();
    }
}

impl<T> fmt::Debug for Pick<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pick")
            .field("endpoint", &self.node.name)
            .field("id", &self.node.id)
            .finish_non_exhaustive()
    }
}
