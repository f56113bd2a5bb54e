//! The shared state of an adaptive limit, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::learner::Learner;
use super::partition::{self, PoolRef, SHARED};
use super::{Algorithm, LimitSample, Overloaded};
use crate::admission::{Order, Permit, Pool, Striped, WaitQueue};
use crate::clock::{Clock, SharedClock};
use crate::observe::{Event, Observer, SharedObserver};
use crate::sync::Mutex;
use crate::ConfigError;

/// What a limit does with a call when it is reached.
///
/// ```
/// use std::time::Duration;
/// use seawall::limit::{Mode, QueueOrder};
/// let mode = Mode::Wait { max_wait: Duration::from_millis(20), queue: 64, order: QueueOrder::Lifo };
/// assert_ne!(mode, Mode::FailFast);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Refuse it at once with [`Overloaded`].
    FailFast,
    /// Let it wait for at most `max_wait`, with at most `queue` callers
    /// waiting (per partition), served in `order`.
    Wait {
        /// The longest a caller waits (above zero).
        max_wait: Duration,
        /// The most callers waiting at once (at least 1).
        queue: usize,
        /// Which waiter a freed permit goes to.
        order: QueueOrder,
    },
}

/// Which waiting caller a freed permit goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueOrder {
    /// The one that waited longest.
    Fifo,
    /// The one that arrived last. Under sustained overload the oldest
    /// waiters time out while those served have waited least, which keeps
    /// the latency of served calls low (Facebook's "adaptive LIFO").
    Lifo,
}

/// What the clones of one limiter share.
pub(crate) struct Inner {
    /// The shared pool, then one per partition.
    pub(crate) pools: Box<[Pool]>,
    pub(crate) partitions: Box<[(Arc<str>, f64)]>,
    pub(crate) learner: Learner,
    pub(crate) name: Arc<str>,
    pub(crate) clock: SharedClock,
    pub(crate) observer: SharedObserver,
    pub(crate) mode: Mode,
    /// The limit the pools were last set to (and a buffer for the split),
    /// behind a lock taken only when the learner's limit moved.
    applied: Mutex<(u32, Vec<u32>)>,
}

crate::stash::kept!(crate::sync::CachePadded<Arc<Inner>>);

impl Inner {
    /// Feeds one sample and, if the learner's limit moved, applies it.
    #[inline]
    pub(crate) fn record(&self, sample: LimitSample) {
        if self.learner.record(sample).is_some() {
            self.apply_limit();
        }
    }

    /// Sets the pools to the learner's limit. Under the lock the limit is
    /// read afresh, so that of two racing changes the pools end at the
    /// learner's latest, whatever order the callers get here in.
    #[cold]
    fn apply_limit(&self) {
        let mut applied = self.applied.lock();
        let to = self.learner.limit();
        let from = applied.0;
        if to == from {
            return;
        }
        let (_, parts) = &mut *applied;
        partition::split(to, self.partitions.iter().map(|p| p.1), parts);
        for (pool, &part) in self.pools.iter().zip(parts.iter()) {
            pool.set_limit(part);
        }
        applied.0 = to;
        drop(applied);
        self.observer.emit(&Event::LimitChanged {
            name: &self.name,
            from,
            to,
        });
    }

    /// The limit in force.
    pub(crate) fn limit(&self) -> u32 {
        self.pools.iter().map(|p| p.core().limit()).sum()
    }

    /// In-flight right after an admission from `pool` on `stripe`: from
    /// that pool's view, plus the other pools' snapshots.
    #[inline]
    pub(crate) fn in_flight_at_admission(&self, pool: usize, stripe: usize) -> u32 {
        let own = self.pools[pool].core().in_flight_from(stripe);
        if self.pools.len() == 1 {
            return own;
        }
        own + self
            .pools
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != pool)
            .map(|(_, p)| p.core().in_flight())
            .sum::<u32>()
    }

    #[cold]
    pub(crate) fn overloaded(&self, partition: usize, waited: Option<Duration>) -> Overloaded {
        let limit = self.limit();
        self.observer.emit(&Event::LimitRejected {
            name: &self.name,
            limit,
            partition: (partition != SHARED).then(|| &*self.partitions[partition - 1].0),
            waited,
        });
        Overloaded::new(self.name.clone(), limit, waited)
    }
}

/// An adaptive concurrency limit: an [`Algorithm`] learning the limit from
/// completed calls, and an exact, lock-free admission that follows it.
/// Clones share it; [`LimitLayer`](super::LimitLayer) wraps services in it.
///
/// ```
/// use seawall::limit::{algorithm::Aimd, Limiter};
/// let limiter = Limiter::builder(Aimd::default()).name("backend").build()?;
/// println!("limit {} with {} in flight", limiter.limit(), limiter.in_flight());
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Limiter {
    pub(crate) shared: Striped<Inner>,
}

/// A permit of a [`Limiter`] taken outside a tower stack. Dropping it frees
/// the slot and teaches the algorithm nothing; [`record`](Self::record)
/// teaches it the call's outcome first.
///
/// ```
/// use std::time::Duration;
/// use seawall::classify::{Outcome, Sample};
/// use seawall::limit::{algorithm::Fixed, Limiter};
///
/// let limiter = Limiter::builder(Fixed::new(4)?).build()?;
/// let permit = limiter.try_acquire()?;
/// assert_eq!(limiter.in_flight(), 1);
/// permit.record(Sample::new(Outcome::Success, Duration::from_millis(3)));
/// assert_eq!(limiter.in_flight(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LimitPermit {
    permit: Permit<PoolRef>,
    in_flight: u32,
}

impl LimitPermit {
    #[inline]
    pub(crate) fn new(permit: Permit<PoolRef>) -> Self {
        let in_flight = permit
            .handle()
            .inner
            .in_flight_at_admission(permit.handle().pool, permit.stripe());
        Self { permit, in_flight }
    }

    /// Calls in flight when this one was admitted, itself included.
    #[inline]
    pub fn in_flight_at_admission(&self) -> u32 {
        self.in_flight
    }

    /// Teaches the algorithm the call's sample (ignored outcomes teach it
    /// nothing), then frees the slot.
    pub fn record(self, sample: crate::classify::Sample) {
        if let Some(sample) = LimitSample::from_sample(sample, self.in_flight) {
            self.permit.handle().inner.record(sample);
        }
    }

    #[inline]
    pub(crate) fn inner(&self) -> &Inner {
        &self.permit.handle().inner
    }
}

impl Limiter {
    /// Starts a [`Builder`] around `algorithm`.
    pub fn builder(algorithm: impl Algorithm) -> Builder {
        Builder::new(Box::new(algorithm))
    }

    /// The same limiter, its calls holding a plain reference to it instead
    /// of a handle (see [`Limit::from_static`](super::Limit::from_static)).
    pub(crate) fn to_static(&'static self) -> Self {
        Self {
            shared: self.shared.to_static(),
        }
    }

    /// The limiter's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The limit in force (the sum of the partitions' shares, if any).
    pub fn limit(&self) -> u32 {
        self.shared.limit()
    }

    /// Calls holding a permit now.
    pub fn in_flight(&self) -> u32 {
        self.shared.pools.iter().map(|p| p.core().in_flight()).sum()
    }

    /// Permits free now.
    pub fn available(&self) -> u32 {
        self.shared.pools.iter().map(|p| p.core().available()).sum()
    }

    /// Callers waiting for a permit now.
    pub fn waiting_callers(&self) -> usize {
        self.shared.pools.iter().map(Pool::waiting).sum()
    }

    /// The algorithm and its state, for display (`{:?}`).
    pub fn algorithm(&self) -> impl fmt::Debug + '_ {
        &self.shared.learner
    }

    /// The learner feeding the algorithm: read the algorithm's state with
    /// [`Learner::with_algorithm`](super::Learner::with_algorithm), or hand
    /// it buffered samples with [`flush`](super::Learner::flush)
    /// (admission follows the next limit a completed call publishes).
    pub fn learner(&self) -> &super::Learner {
        &self.shared.learner
    }

    /// The partitions' names and shares, in the order they were added.
    pub fn partitions(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.shared.partitions.iter().map(|(n, s)| (&**n, *s))
    }

    /// Takes a permit for a call of no partition, without waiting.
    pub fn try_acquire(&self) -> Result<LimitPermit, Overloaded> {
        self.try_acquire_in(SHARED)
    }

    /// Takes a permit for a call of `partition`, without waiting. An
    /// unknown partition is refused.
    pub fn try_acquire_for(&self, partition: &str) -> Result<LimitPermit, Overloaded> {
        match self.partition_index(partition) {
            Some(index) => self.try_acquire_in(index),
            None => Err(self.shared.overloaded(SHARED, None)),
        }
    }

    pub(crate) fn partition_index(&self, name: &str) -> Option<usize> {
        self.shared
            .partitions
            .iter()
            .position(|(n, _)| &**n == name)
            .map(|i| i + 1)
    }

    #[inline]
    pub(crate) fn try_acquire_in(&self, partition: usize) -> Result<LimitPermit, Overloaded> {
        self.try_acquire_in_quiet(partition)
            .ok_or_else(|| self.shared.overloaded(partition, None))
    }

    /// Like `try_acquire_in`, leaving the refusal (and its event) to the
    /// caller.
    #[inline]
    pub(crate) fn try_acquire_in_quiet(&self, partition: usize) -> Option<LimitPermit> {
        self.try_ticket(partition).map(|ticket| self.redeem(ticket))
    }

    /// A permit of `partition` if one is free, not yet held by a call.
    #[inline]
    pub(crate) fn try_ticket(&self, partition: usize) -> Option<Ticket> {
        let (pool, stripe) = partition::try_acquire(&self.shared.pools, partition)?;
        let in_flight = self.shared.in_flight_at_admission(pool, stripe);
        Some(Ticket::new(pool, stripe, in_flight))
    }

    /// The call's permit for `ticket`, built in place.
    #[inline]
    pub(crate) fn redeem(&self, ticket: Ticket) -> LimitPermit {
        LimitPermit {
            permit: Permit::new(self.pool_ref(ticket.pool()), ticket.stripe()),
            in_flight: ticket.in_flight(),
        }
    }

    /// Gives back the permit of a ticket no call redeemed.
    pub(crate) fn cancel(&self, ticket: Ticket) {
        self.shared.pools[ticket.pool()].release(ticket.stripe());
    }

    #[inline]
    pub(crate) fn pool_ref(&self, pool: usize) -> PoolRef {
        PoolRef {
            inner: self.shared.for_call(),
            pool,
        }
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("name", &self.name())
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .field("waiting_callers", &self.waiting_callers())
            .field("learner", &self.shared.learner)
            .finish()
    }
}

/// Partitions a limiter may have: a [`Ticket`] packs a pool's index in 16
/// bits (and a thousand shares of one limit are below 0.1 % each).
const MAX_PARTITIONS: usize = 1024;

/// A permit taken from a pool on a stripe, and the in-flight count it was
/// admitted at: what a [`Limit`](super::Limit) service keeps between
/// `poll_ready` and `call` (its own limiter handle keeps the pool alive).
/// One word, so that `call` reads it with the one load `poll_ready` stored
/// it with: a wide load of narrower stores stalls on store forwarding,
/// which cost about 4 ns a call here.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl Ticket {
    /// Packs: in-flight in the high half, then the pool, then the stripe
    /// (at most 64 stripes, at most `MAX_PARTITIONS + 1` pools).
    #[inline]
    fn new(pool: usize, stripe: usize, in_flight: u32) -> Self {
        debug_assert!(pool <= MAX_PARTITIONS && stripe <= usize::from(u16::MAX));
        Self(u64::from(in_flight) << 32 | (pool as u64) << 16 | stripe as u64)
    }

    #[inline]
    fn pool(self) -> usize {
        (self.0 >> 16) as u16 as usize
    }

    #[inline]
    fn stripe(self) -> usize {
        self.0 as u16 as usize
    }

    #[inline]
    fn in_flight(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// Builds a [`Limiter`]; see [`Limiter::builder`].
///
/// Defaults: name `"limit"`, [`Mode::FailFast`], no partitions, the
/// coarse [`SystemClock`](crate::clock::SystemClock) for round-trip times (use
/// [`PreciseClock`](crate::clock::PreciseClock) when calls take less than a
/// few milliseconds).
///
/// ```
/// use seawall::limit::{algorithm::Vegas, Limiter};
/// let err = Limiter::builder(Vegas::default())
///     .partition("live", 0.7)
///     .partition("batch", 0.4)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field(), "partition");
/// ```
#[must_use]
pub struct Builder {
    algorithm: Box<dyn Algorithm>,
    name: Arc<str>,
    mode: Mode,
    clock: SharedClock,
    observer: SharedObserver,
    partitions: Vec<(Arc<str>, f64)>,
}

impl Builder {
    fn new(algorithm: Box<dyn Algorithm>) -> Self {
        Self {
            algorithm,
            name: Arc::from("limit"),
            mode: Mode::FailFast,
            clock: SharedClock::System,
            observer: SharedObserver::default(),
            partitions: Vec::new(),
        }
    }

    /// The name its rejections and events carry.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = name.into();
        self
    }

    /// Fail fast when the limit is reached, or wait in a bounded queue.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The clock round-trip times are measured with.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// Where events go (limit changes, rejections); a second observer is
    /// added after the first.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observer = self.observer.and(observer);
        self
    }

    /// Adds a partition guaranteed `share` (in `(0, 1]`) of the limit when
    /// the limit is reached; the shares sum to at most 1, over at most
    /// 1024 partitions. In
    /// [`Mode::Wait`] a partition's callers wait in their own queue for
    /// their own share's permits (borrowing is for calls that find a permit
    /// free at once).
    pub fn partition(mut self, name: impl Into<Arc<str>>, share: f64) -> Self {
        self.partitions.push((name.into(), share));
        self
    }

    /// Checks the configuration and builds the limiter.
    pub fn build(self) -> Result<Limiter, ConfigError> {
        let queue = match self.mode {
            Mode::FailFast => None,
            Mode::Wait {
                max_wait,
                queue,
                order,
            } => {
                crate::admission::check_wait(max_wait, queue)?;
                Some((queue, order))
            }
        };
        if self.partitions.len() > MAX_PARTITIONS {
            return Err(ConfigError::new(
                "partition",
                format_args!("{} partitions", self.partitions.len()),
                "at most 1024 partitions",
            ));
        }
        let mut total = 0.0;
        for (name, share) in &self.partitions {
            if !(*share > 0.0 && *share <= 1.0) {
                return Err(ConfigError::new("partition", share, "a share in (0, 1]"));
            }
            total += share;
            if self.partitions.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(ConfigError::new("partition", name, "distinct names"));
            }
        }
        if total > 1.0 + 1e-9 {
            return Err(ConfigError::new(
                "partition",
                format_args!("shares summing to {total}"),
                "shares summing to at most 1",
            ));
        }
        let learner = Learner::new(self.algorithm);
        let limit = learner.limit();
        let mut parts = Vec::with_capacity(self.partitions.len() + 1);
        partition::split(limit, self.partitions.iter().map(|p| p.1), &mut parts);
        let pools = parts
            .iter()
            .map(|&part| {
                let queue = queue.map(|(max, order)| {
                    let order = match order {
                        QueueOrder::Fifo => Order::Fifo,
                        QueueOrder::Lifo => Order::Lifo,
                    };
                    WaitQueue::new(max, order)
                });
                Pool::new(part, queue)
            })
            .collect();
        Ok(Limiter {
            shared: Striped::new(Arc::new(Inner {
                pools,
                partitions: self.partitions.into_boxed_slice(),
                learner,
                name: self.name,
                clock: self.clock,
                observer: self.observer,
                mode: self.mode,
                applied: Mutex::new((limit, parts)),
            })),
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("algorithm", &self.algorithm)
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("partitions", &self.partitions)
            .finish()
    }
}
