//! Configures a [`KeyedMap`].

use std::hash::Hash;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::{KeyedMap, Shared};
use crate::clock::{saturating_nanos, Clock, SharedClock};
use crate::ConfigError;

/// Builds a [`KeyedMap`]; [`build`](Builder::build) validates and takes the
/// factory that makes the value of a new key.
///
/// ```
/// use std::time::Duration;
/// use seawall::keyed::KeyedMap;
///
/// let map = KeyedMap::builder()
///     .idle_timeout(Duration::from_secs(600))
///     .max_keys(1_000)
///     .build(|host: &String| host.len())?;
/// assert_eq!(*map.get_or_create("db-1"), 4);
///
/// let err = KeyedMap::builder().max_keys(0).build(|k: &u32| *k).unwrap_err();
/// assert_eq!(err.field(), "max_keys");
/// # Ok::<(), seawall::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    idle_timeout: Duration,
    max_keys: usize,
    clock: Option<SharedClock>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(300),
            max_keys: 10_000,
            clock: None,
        }
    }
}

impl Builder {
    /// How long a key may go unused before it is evicted (non-zero; default
    /// 5 minutes).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// How many keys the map holds before creating one more evicts the
    /// least recently used (at least 1; default 10 000). Keys with calls in
    /// flight are never evicted and may exceed it.
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.max_keys = keys;
        self
    }

    /// The clock idleness is measured with (default
    /// [`SystemClock`](crate::clock::SystemClock)); a [`ManualClock`](crate::clock::ManualClock) in tests.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(SharedClock::new(clock));
        self
    }

    /// Validates the settings and builds the map; `factory` makes the value
    /// of a key on its first use.
    pub fn build<K, V>(
        self,
        factory: impl Fn(&K) -> V + Send + Sync + 'static,
    ) -> Result<KeyedMap<K, V>, ConfigError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        if self.idle_timeout.is_zero() {
            return Err(ConfigError::new(
                "idle_timeout",
                "0s",
                "a non-zero duration",
            ));
        }
        if self.max_keys == 0 {
            return Err(ConfigError::new("max_keys", 0, "at least 1"));
        }
        Ok(KeyedMap {
            shared: Arc::new(Shared {
                map: papaya::HashMap::new(),
                factory: Box::new(factory),
                idle_nanos: saturating_nanos(self.idle_timeout),
                max_keys: self.max_keys,
                clock: self.clock.unwrap_or(SharedClock::System),
                next_sweep: AtomicU64::new(0),
            }),
        })
    }
}
