//! The balancer's pure core: an endpoint set shared by handles, and the
//! power-of-two-choices pick. No runtime, no tower: this is what the loom
//! models check and the pick benchmarks measure.
//!
//! The set is published RCU-style. An update builds a new immutable
//! snapshot off to the side, under the update lock, swaps it in under a
//! write lock held for one pointer store, then bumps a version counter.
//! Each handle keeps its own `Arc` of the snapshot and only looks at the
//! version (one load) per pick: it takes the read lock once per change of
//! the set, never otherwise, so updates never make picks wait on them and
//! picks never make updates wait. A pick from a stale snapshot is safe:
//! a removed endpoint's `pending` word refuses it (see `node`).

mod health;
mod node;
mod pick;

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use self::node::Node;
pub use self::pick::Pick;
use super::config::Config;
use super::gate::Health;
use super::rng::Rng;
use super::snapshot::{EndpointInfo, EndpointStatus};
use crate::sync::{AtomicU64, Ordering, RwLock, StdMutex as Mutex};

/// State every endpoint of one set reads.
pub(crate) struct Common {
    pub(crate) config: Config,
    /// Endpoints ejected now.
    pub(crate) ejected: AtomicU64,
    /// Endpoints in the set.
    pub(crate) total: AtomicU64,
    /// When the next interval's sweep is due (clock nanoseconds).
    pub(crate) next_sweep: AtomicU64,
}

struct Snapshot<T> {
    nodes: Box<[Arc<Node<T>>]>,
}

struct Shared<K, T> {
    version: AtomicU64,
    current: RwLock<Arc<Snapshot<T>>>,
    registry: Mutex<Registry<K, T>>,
    common: Arc<Common>,
    seed: u64,
    clones: AtomicU64,
}

struct Registry<K, T> {
    entries: Vec<(K, Arc<Node<T>>)>,
    next_id: u64,
}

/// A power-of-two-choices chooser over a shared set of endpoints: the
/// balancer's core, usable without tower.
///
/// Clones share the set, the load state and the health of every endpoint;
/// each clone has its own random sequence and its own view of the set, so
/// picks on different clones touch no shared lock.
///
/// ```
/// use seawall::balance::Chooser;
/// use seawall::classify::Outcome;
///
/// let mut chooser: Chooser<&str, &str> = Chooser::builder().seed(1).build()?;
/// chooser.insert("a", "10.0.0.1");
/// chooser.insert("b", "10.0.0.2");
/// let pick = chooser.pick()?;
/// assert!(["10.0.0.1", "10.0.0.2"].contains(pick.get()));
/// pick.record(Outcome::Success);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Chooser<K, T> {
    shared: Arc<Shared<K, T>>,
    snapshot: Arc<Snapshot<T>>,
    seen: u64,
    rng: Rng,
}

/// What a removal found: calls still in flight to the endpoint (they run to
/// completion; no new call reaches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    in_flight: u64,
}

impl Removed {
    /// Calls in flight at the moment of removal.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }
}

fn read<G>(r: Result<G, std::sync::PoisonError<G>>) -> G {
    // A panic while holding a lock leaves the data consistent (every update
    // publishes a complete snapshot), so a poisoned lock is used as is.
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Chooser<(), ()> {
    /// A builder with Envoy's outlier-detection defaults.
    pub fn builder() -> super::Builder {
        super::Builder::default()
    }
}

impl<K, T> Chooser<K, T>
where
    K: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    pub(crate) fn from_config(config: Config) -> Self {
        let seed = config
            .seed
            .unwrap_or_else(|| Rng::from_entropy().next_u64());
        let now = config.clock.now_nanos();
        let next_sweep = now.saturating_add(config.interval);
        let snapshot = Arc::new(Snapshot {
            nodes: Box::new([]),
        });
        let shared = Shared {
            version: AtomicU64::new(0),
            current: RwLock::new(snapshot.clone()),
            registry: Mutex::new(Registry {
                entries: Vec::new(),
                next_id: 0,
            }),
            common: Arc::new(Common {
                config,
                ejected: AtomicU64::new(0),
                total: AtomicU64::new(0),
                next_sweep: AtomicU64::new(next_sweep),
            }),
            seed,
            clones: AtomicU64::new(0),
        };
        Self {
            shared: Arc::new(shared),
            snapshot,
            seen: 0,
            rng: Rng::new(seed),
        }
    }

    /// Adds an endpoint with no gate, replacing one with the same key.
    pub fn insert(&self, key: K, value: T) {
        self.insert_with(key, value, Health::new())
    }

    /// Adds an endpoint guarded by `health`'s gates (its breaker, its
    /// limit), replacing one with the same key (the old one is removed:
    /// its calls in flight complete, it gets no new call).
    pub fn insert_with(&self, key: K, value: T, health: Health) {
        let common = &self.shared.common;
        let now = common.config.clock.now_nanos();
        let mut reg = read(self.shared.registry.lock());
        if let Some(i) = reg.entries.iter().position(|(k, _)| *k == key) {
            let (_, old) = reg.entries.remove(i);
            old.remove();
        }
        let id = reg.next_id;
        reg.next_id += 1;
        let name = format!("{key:?}");
        let node = Node::new(id, name, value, health, common.clone(), now);
        reg.entries.push((key, Arc::new(node)));
        self.publish(&reg);
    }

    /// Removes an endpoint: no new call reaches it, also one picked before
    /// the removal but not yet sent ([`Pick::is_removed`]); calls in flight
    /// complete.
    pub fn remove(&self, key: &K) -> Option<Removed> {
        let mut reg = read(self.shared.registry.lock());
        let i = reg.entries.iter().position(|(k, _)| k == key)?;
        let (_, node) = reg.entries.remove(i);
        let in_flight = node.remove();
        self.publish(&reg);
        Some(Removed { in_flight })
    }

    /// Publishes the registry as the new snapshot (under the update lock).
    fn publish(&self, reg: &Registry<K, T>) {
        let nodes: Box<[_]> = reg.entries.iter().map(|(_, n)| n.clone()).collect();
        let shared = &*self.shared;
        shared
            .common
            .total
            .store(nodes.len() as u64, Ordering::Release);
        *read(shared.current.write()) = Arc::new(Snapshot { nodes });
        // Release: a handle that sees the new version finds the new
        // snapshot (or a later one) behind the read lock.
        shared.version.fetch_add(1, Ordering::Release);
    }

    /// Brings this handle's view of the set up to date: one load unless the
    /// set changed.
    #[inline]
    fn refresh(&mut self) {
        let v = self.shared.version.load(Ordering::Acquire);
        if v != self.seen {
            self.reload(v);
        }
    }

    #[cold]
    fn reload(&mut self, v: u64) {
        self.snapshot = read(self.shared.current.read()).clone();
        self.seen = v;
    }

    /// How many endpoints the set holds.
    pub fn len(&self) -> usize {
        self.shared.common.total.load(Ordering::Acquire) as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every endpoint's key, load and state, in insertion order.
    pub fn endpoints(&self) -> Vec<EndpointInfo<K>> {
        let now = self.shared.common.config.clock.now_nanos();
        let reg = read(self.shared.registry.lock());
        reg.entries
            .iter()
            .map(|(key, node)| {
                let h = node.health.load(Ordering::Acquire);
                let weight = node.weight(now);
                let status = if h != 0 && h != node::GONE && h > now {
                    EndpointStatus::Ejected {
                        remaining: std::time::Duration::from_nanos(h - now),
                        ejections: node.multiplier.load(Ordering::Relaxed),
                    }
                } else if weight < 1.0 {
                    EndpointStatus::SlowStarting { weight }
                } else {
                    EndpointStatus::Healthy
                };
                EndpointInfo::new(
                    key.clone(),
                    node.id,
                    node.in_flight(),
                    node.cost(now),
                    status,
                )
            })
            .collect()
    }

    /// How many endpoints outlier detection has ejected now.
    pub fn ejected(&self) -> usize {
        self.shared.common.ejected.load(Ordering::Acquire) as usize
    }

    /// Whether fewer endpoints are healthy than the panic threshold allows,
    /// so picks ignore ejections.
    pub fn is_panicking(&self) -> bool {
        self.shared.common.panicking(self.len())
    }
}

impl<K, T> Clone for Chooser<K, T> {
    fn clone(&self) -> Self {
        let k = self.shared.clones.fetch_add(1, Ordering::Relaxed) + 1;
        // Each clone derives its own sequence from the seed and its number,
        // so seeded runs stay reproducible and clones do not pick in step.
        let mut mix = Rng::new(self.shared.seed ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        Self {
            shared: self.shared.clone(),
            snapshot: self.snapshot.clone(),
            seen: self.seen,
            rng: mix.fork(),
        }
    }
}

impl<K: fmt::Debug, T> fmt::Debug for Chooser<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chooser")
            .field("name", &self.shared.common.config.name)
            .field("endpoints", &self.snapshot.nodes.len())
            .field(
                "ejected",
                &self.shared.common.ejected.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}
