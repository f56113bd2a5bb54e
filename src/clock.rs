//! Monotonic time, injected.
//!
//! Every time-based decision in seawall (time windows, slow-call detection,
//! open durations) reads a [`Clock`], so tests can drive time by hand with a
//! [`ManualClock`] instead of sleeping. Paths that need no time never read
//! the clock: a breaker with a count window and no slow-call threshold makes
//! no clock read on its closed path.
//!
//! [`ManualClock`] is always available (it costs nothing unless used), so
//! downstream crates can test their own stacks deterministically too.
//!
//! ```
//! use std::time::Duration;
//! use seawall::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let shared = clock.clone();
//! clock.advance(Duration::from_millis(1500));
//! assert_eq!(shared.now(), Duration::from_millis(1500));
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sync::{AtomicU64, Ordering};

/// A source of monotonic time, as the duration since an arbitrary fixed
/// origin. Implementations must never go backwards.
///
/// ```
/// use seawall::clock::Clock;
///
/// /// A clock frozen at one instant.
/// #[derive(Debug)]
/// struct Frozen(u64);
///
/// impl Clock for Frozen {
///     fn now_nanos(&self) -> u64 {
///         self.0
///     }
/// }
///
/// assert_eq!(Frozen(1_500_000_000).now().as_millis(), 1500);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Nanoseconds since this clock's origin.
    fn now_nanos(&self) -> u64;

    /// The time since this clock's origin.
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }
}

/// The system's monotonic clock, read cheaply: on Linux the coarse monotonic
/// clock (`CLOCK_MONOTONIC_COARSE`, a vDSO read of a few nanoseconds, with the
/// resolution of one kernel tick, typically 1 to 4 ms), elsewhere
/// [`Instant`]. Coarse time is plenty for one-second window buckets and
/// millisecond open durations; for slow-call thresholds of a few milliseconds
/// use [`PreciseClock`].
///
/// ```
/// use seawall::clock::{Clock, SystemClock};
/// let a = SystemClock.now();
/// assert!(SystemClock.now() >= a);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(target_os = "linux")]
    #[inline]
    fn now_nanos(&self) -> u64 {
        use rustix::time::{clock_gettime, ClockId};
        let t = clock_gettime(ClockId::MonotonicCoarse);
        // Monotonic time is never negative; u64 nanoseconds cover 584 years.
        (t.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(t.tv_nsec as u64)
    }

    #[cfg(not(target_os = "linux"))]
    fn now_nanos(&self) -> u64 {
        PreciseClock.now_nanos()
    }
}

/// The precise monotonic clock ([`Instant`]), measured from the first time
/// any `PreciseClock` in the process is read. Dearer to read than
/// [`SystemClock`] on Linux, but with nanosecond resolution.
///
/// ```
/// use seawall::clock::{Clock, PreciseClock};
/// let a = PreciseClock.now();
/// assert!(PreciseClock.now() >= a);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PreciseClock;

impl Clock for PreciseClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        Instant::now().saturating_duration_since(origin).as_nanos() as u64
    }
}

/// A clock that only moves when told to. Clones share one time, so a test can
/// keep a clone and advance the clock a breaker reads.
///
/// ```
/// use std::time::Duration;
/// use seawall::clock::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// clock.set(Duration::from_secs(10));
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(clock.now(), Duration::from_secs(11));
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (saturating at `u64::MAX` nanoseconds).
    pub fn advance(&self, by: Duration) {
        let by = saturating_nanos(by);
        // fetch_update instead of fetch_add so that the clock saturates
        // rather than wraps back in time.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Sets the clock to `to`, or leaves it where it is if `to` lies in the
    /// past: a clock never goes backwards.
    pub fn set(&self, to: Duration) {
        let to = saturating_nanos(to);
        self.nanos.fetch_max(to, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Acquire)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &Duration::from_nanos(self.now_nanos()))
            .finish()
    }
}

/// `d` in nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A shareable clock as the layers store it. The built-in system clocks are
/// called directly rather than through a vtable: the time window and
/// slow-call detection read the clock on every call, and the adaptive
/// limit twice, so the indirect call showed in their profiles.
#[derive(Clone, Debug)]
pub(crate) enum SharedClock {
    System,
    Precise,
    Other(Arc<dyn Clock>),
}

impl SharedClock {
    /// `clock`, called directly if it is one of the system clocks (or
    /// already shared, as when one layer hands its clock to another).
    pub(crate) fn new(clock: impl Clock) -> Self {
        let any: &dyn std::any::Any = &clock;
        if let Some(shared) = any.downcast_ref::<SharedClock>() {
            shared.clone()
        } else if any.is::<SystemClock>() {
            Self::System
        } else if any.is::<PreciseClock>() {
            Self::Precise
        } else {
            Self::Other(Arc::new(clock))
        }
    }

    /// Nanoseconds since the clock's origin (inherent, so that callers need
    /// not import [`Clock`]).
    #[inline]
    pub(crate) fn now_nanos(&self) -> u64 {
        match self {
            Self::System => SystemClock.now_nanos(),
            Self::Precise => PreciseClock.now_nanos(),
            Self::Other(clock) => clock.now_nanos(),
        }
    }
}

impl Clock for SharedClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        SharedClock::now_nanos(self)
    }
}

#[cfg(all(test, not(seawall_loom)))]
mod tests {
    use super::*;

    #[test]
    fn system_clocks_are_called_directly_and_others_through_their_vtable() {
        assert!(matches!(SharedClock::new(SystemClock), SharedClock::System));
        assert!(matches!(
            SharedClock::new(PreciseClock),
            SharedClock::Precise
        ));
        let manual = ManualClock::new();
        let shared = SharedClock::new(manual.clone());
        assert!(matches!(shared, SharedClock::Other(_)));
        let system = SharedClock::new(SharedClock::System);
        assert!(matches!(system, SharedClock::System), "not wrapped again");
        manual.set(Duration::from_secs(5));
        assert_eq!(
            shared.now(),
            Duration::from_secs(5),
            "reads the user's clock"
        );
    }
}
