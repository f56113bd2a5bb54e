//! One value per key, made on first use and forgotten when idle: the
//! machinery behind per-key breakers and keyed bulkhead compartments.
//!
//! A [`KeyedMap`] hands out the value of a key (a breaker per host, a
//! compartment per tenant), creating it from one factory the first time the
//! key is seen. Lookups are lock-free reads of a concurrent map
//! ([papaya](https://docs.rs/papaya)), so calls for different keys, or for
//! the same key on different threads, do not serialise on a lock.
//!
//! Memory stays bounded however many distinct keys arrive:
//!
//! * a key not used for [`idle_timeout`](Builder::idle_timeout) is evicted
//!   by a sweep that a call starts at most once per half timeout (no timer
//!   task);
//! * when the map holds [`max_keys`](Builder::max_keys) keys, creating one
//!   more first sweeps the idle keys and then, if still full, evicts the
//!   least recently used eighth of the keys not in use.
//!
//! A value in use (a caller still holds its [`Arc`]) is never evicted, so the
//! map may exceed `max_keys` by the number of keys with calls in flight. An
//! evicted key starts afresh on its next use, with a new value.
//!
//! ```
//! use std::time::Duration;
//! use seawall::clock::ManualClock;
//! use seawall::keyed::KeyedMap;
//!
//! let clock = ManualClock::new();
//! let counters = KeyedMap::builder()
//!     .idle_timeout(Duration::from_secs(60))
//!     .clock(clock.clone())
//!     .build(|tenant: &String| format!("compartment of {tenant}"))?;
//!
//! assert_eq!(*counters.get_or_create("acme"), "compartment of acme");
//! assert_eq!(counters.len(), 1);
//!
//! clock.advance(Duration::from_secs(61));
//! assert_eq!(counters.evict_idle(), 1);
//! assert!(counters.get("acme").is_none());
//! # Ok::<(), seawall::ConfigError>(())
//! ```

mod builder;

pub use self::builder::Builder;

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
// Plain std atomics: the map's bookkeeping is a heuristic (when to sweep,
// how recently a key was used), not a state machine the loom models check.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::clock::SharedClock;

type Factory<K, V> = dyn Fn(&K) -> V + Send + Sync;

/// Values by key, created on first use, evicted when idle. Clones share the
/// map. See the [module docs](self).
pub struct KeyedMap<K, V> {
    shared: Arc<Shared<K, V>>,
}

struct Shared<K, V> {
    map: papaya::HashMap<K, Slot<V>>,
    factory: Box<Factory<K, V>>,
    idle_nanos: u64,
    max_keys: usize,
    clock: SharedClock,
    // Clock reading after which the next call sweeps idle keys.
    next_sweep: AtomicU64,
}

struct Slot<V> {
    value: Arc<V>,
    // Clock reading of the last use, refreshed at most once per
    // `touch_granularity` so that a hot key is not written on every call.
    last_used: AtomicU64,
}

impl<K, V> Clone for KeyedMap<K, V> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl KeyedMap<(), ()> {
    /// A builder: idle timeout 5 minutes, at most 10 000 keys, system clock.
    /// The key and value types come from the factory given to
    /// [`build`](Builder::build).
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl<K, V> KeyedMap<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// The value of `key`, created from the factory if the key is new.
    /// Counts as a use of the key.
    pub fn get_or_create<Q>(&self, key: &Q) -> Arc<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let shared = &*self.shared;
        let now = shared.clock.now_nanos();
        if now >= shared.next_sweep.load(Ordering::Relaxed) {
            self.sweep_if_due(now);
        }
        let map = shared.map.pin();
        if let Some(slot) = map.get(key) {
            return slot.touch(now, shared.idle_nanos);
        }
        drop(map);
        self.create(key.to_owned(), now)
    }

    /// The value of `key` if the map holds it; not a use of the key.
    pub fn get<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shared
            .map
            .pin()
            .get(key)
            .map(|slot| slot.value.clone())
    }

    /// Forgets `key`; calls still holding its value finish with it.
    pub fn remove<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shared
            .map
            .pin()
            .remove(key)
            .map(|slot| slot.value.clone())
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.shared.map.len()
    }

    /// Whether the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.shared.map.is_empty()
    }

    /// Every key and its value, for status pages and metrics (allocates;
    /// not for the call path).
    pub fn entries(&self) -> Vec<(K, Arc<V>)> {
        self.shared
            .map
            .pin()
            .iter()
            .map(|(k, slot)| (k.clone(), slot.value.clone()))
            .collect()
    }

    /// Evicts every key idle for the idle timeout and not in use; returns
    /// how many were evicted.
    pub fn evict_idle(&self) -> usize {
        let shared = &*self.shared;
        let now = shared.clock.now_nanos();
        let before = shared.map.len();
        shared
            .map
            .pin()
            .retain(|_, slot| !slot.evictable(now, shared.idle_nanos));
        before.saturating_sub(shared.map.len())
    }

    #[cold]
    fn sweep_if_due(&self, now: u64) {
        let shared = &*self.shared;
        let due = shared.next_sweep.load(Ordering::Relaxed);
        let next = now.saturating_add(shared.idle_nanos / 2);
        // One caller per period sweeps; the others go on.
        if now >= due
            && shared
                .next_sweep
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.evict_idle();
        }
    }

    #[cold]
    fn create(&self, key: K, now: u64) -> Arc<V> {
        let shared = &*self.shared;
        if shared.map.len() >= shared.max_keys {
            self.make_room();
        }
        let map = shared.map.pin();
        let slot = map.get_or_insert_with(key.clone(), || Slot {
            value: Arc::new((shared.factory)(&key)),
            last_used: AtomicU64::new(now),
        });
        slot.value.clone()
    }

    /// Evicts idle keys; if the map is still full, the least recently used
    /// eighth of the keys not in use, so that a stream of new keys pays for
    /// one scan per eighth of the map rather than one per key.
    fn make_room(&self) {
        let shared = &*self.shared;
        self.evict_idle();
        if shared.map.len() < shared.max_keys {
            return;
        }
        let map = shared.map.pin();
        let mut unused: Vec<u64> = map
            .values()
            .filter(|slot| !slot.in_use())
            .map(|slot| slot.last_used.load(Ordering::Relaxed))
            .collect();
        if unused.is_empty() {
            return;
        }
        let evict = (shared.max_keys / 8).clamp(1, unused.len());
        let (_, cutoff, _) = unused.select_nth_unstable(evict - 1);
        let cutoff = *cutoff;
        let mut left = evict;
        map.retain(|_, slot| {
            let old =
                left > 0 && !slot.in_use() && slot.last_used.load(Ordering::Relaxed) <= cutoff;
            left -= old as usize;
            !old
        });
    }
}

impl<V> Slot<V> {
    #[inline]
    fn touch(&self, now: u64, idle_nanos: u64) -> Arc<V> {
        // A use refreshes the stamp only when it has aged by a sixteenth of
        // the timeout: a hot key stays a read, and eviction is at most that
        // much late.
        let last = self.last_used.load(Ordering::Relaxed);
        if now.saturating_sub(last) > idle_nanos / 16 {
            self.last_used.store(now, Ordering::Relaxed);
        }
        self.value.clone()
    }

    fn in_use(&self) -> bool {
        Arc::strong_count(&self.value) > 1
    }

    fn evictable(&self, now: u64, idle_nanos: u64) -> bool {
        !self.in_use() && now.saturating_sub(self.last_used.load(Ordering::Relaxed)) >= idle_nanos
    }
}

impl<K: Hash + Eq, V> fmt::Debug for KeyedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedMap")
            .field("keys", &self.shared.map.len())
            .field("max_keys", &self.shared.max_keys)
            .finish_non_exhaustive()
    }
}
