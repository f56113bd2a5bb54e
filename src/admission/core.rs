//! The exact, striped permit budget.

use std::fmt;

use crate::sync::{
    admission_stripe, stripe_count, AtomicI64, AtomicU32, AtomicU64, CachePadded, Ordering,
};

/// The low half of a stripe word counts its cached permits, the high half
/// is the stripe's epoch, bumped by every reclaim.
const COUNT: u64 = u32::MAX as u64;
const EPOCH: u64 = 1 << 32;

/// A permit budget of `limit` permits, spread over a global pool and one
/// small cache per stripe (a stripe is chosen per thread).
///
/// Conservation: `in_flight + global + Σ cached + in transit = limit` at
/// all times, where a permit is "in transit" between the atomic that gave
/// it up and the one that receives it (refill, spill, reclaim) and nobody
/// can use it meanwhile. A caller takes a permit only out of a stripe cache
/// or out of a positive global pool, so in-flight never exceeds the limit.
///
/// When the limit shrinks by `d`, the global pool goes down by `d`, possibly
/// below zero: a debt, which returning permits pay before anything else, so
/// in-flight above a shrunk limit drains without new admissions. The
/// shrinking caller then reclaims every stripe cache into the global pool
/// and bumps each stripe's epoch; a caller returning a permit reads its
/// stripe word before the global pool and only caches the permit with a CAS
/// on that word, so it cannot cache a permit behind a reclaim it did not see
/// while a debt is open. Once the shrink returns, a call admitted later
/// finds a free permit only if in-flight is below the new limit.
///
/// Two threads on different stripes share no written cache line while
/// in-flight stays below the limit: each takes from and returns to its own
/// stripe, and only reads the global pool.
pub(crate) struct Admission {
    stripes: Box<[CachePadded<AtomicU64>]>,
    global: CachePadded<AtomicI64>,
    limit: AtomicU32,
    /// Most permits one stripe keeps cached: small, so that a limit is
    /// never hoarded by one thread's cache (others steal from it anyway).
    cap: AtomicU32,
}

impl Admission {
    /// A budget of `limit` permits, all in the global pool.
    pub(crate) fn new(limit: u32) -> Self {
        let stripes = stripe_count();
        Self {
            stripes: (0..stripes)
                .map(|_| CachePadded(AtomicU64::new(0)))
                .collect(),
            global: CachePadded(AtomicI64::new(i64::from(limit))),
            limit: AtomicU32::new(limit),
            cap: AtomicU32::new(cap_for(limit, stripes)),
        }
    }

    /// The limit in force.
    #[inline]
    pub(crate) fn limit(&self) -> u32 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Takes one permit if in-flight is below the limit; returns the stripe
    /// to give it back to.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<usize> {
        let stripe = admission_stripe() & (self.stripes.len() - 1);
        if take_cached(&self.stripes[stripe]) {
            return Some(stripe);
        }
        self.acquire_slow(stripe)
    }

    #[cold]
    fn acquire_slow(&self, stripe: usize) -> Option<usize> {
        let n = self.stripes.len() as i64;
        let mut g = self.global.load(Ordering::Acquire);
        while g > 0 {
            // Take a batch only while the pool is large, so that permits in
            // transit never make a caller near the limit find it empty.
            let cap = i64::from(self.cap.load(Ordering::Relaxed));
            let take = (g / (4 * n)).clamp(1, cap);
            match self.global.compare_exchange_weak(
                g,
                g - take,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if take > 1 {
                        self.deposit(stripe, (take - 1) as u32);
                    }
                    return Some(stripe);
                }
                Err(now) => g = now,
            }
        }
        // The pool is empty: free permits can only sit in other stripes'
        // caches.
        let mask = self.stripes.len() - 1;
        (1..self.stripes.len())
            .map(|i| (stripe + i) & mask)
            .any(|other| take_cached(&self.stripes[other]))
            .then_some(stripe)
    }

    /// Gives one permit back to `stripe` (the one `try_acquire` returned).
    #[inline]
    pub(crate) fn release(&self, stripe: usize) {
        self.deposit(stripe, 1);
    }

    /// Puts `n` free permits into `stripe`'s cache, paying a debt first and
    /// spilling what the cache cannot hold into the global pool.
    #[inline]
    fn deposit(&self, stripe: usize, mut n: u32) {
        let cell = &self.stripes[stripe];
        // Acquire: a word written by a reclaim makes the shrink's debt
        // visible to the load of the pool below.
        let mut word = cell.load(Ordering::Acquire);
        loop {
            let g = self.global.load(Ordering::Acquire);
            if g < 0 {
                let pay = i64::from(n).min(-g);
                if self
                    .global
                    .compare_exchange_weak(g, g + pay, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    n -= pay as u32;
                    if n == 0 {
                        return;
                    }
                }
                word = cell.load(Ordering::Acquire);
                continue;
            }
            let cached = (word & COUNT) as u32;
            let keep = n.min(self.cap.load(Ordering::Relaxed).saturating_sub(cached));
            if keep == 0 {
                self.global.fetch_add(i64::from(n), Ordering::AcqRel);
                return;
            }
            // The CAS fails if a reclaim bumped the epoch since `word` was
            // read: the pool is then read again, with the debt in it.
            match cell.compare_exchange_weak(
                word,
                word + u64::from(keep),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if n > keep {
                        self.global.fetch_add(i64::from(n - keep), Ordering::AcqRel);
                    }
                    return;
                }
                Err(now) => word = now,
            }
        }
    }

    /// Sets the limit and returns the previous one. Growing adds permits to
    /// the pool; shrinking takes them out (into debt if they are in flight)
    /// and reclaims every stripe cache before returning.
    pub(crate) fn set_limit(&self, limit: u32) -> u32 {
        let old = self.limit.swap(limit, Ordering::AcqRel);
        self.cap
            .store(cap_for(limit, self.stripes.len()), Ordering::Relaxed);
        let delta = i64::from(limit) - i64::from(old);
        if delta > 0 {
            self.global.fetch_add(delta, Ordering::AcqRel);
        } else if delta < 0 {
            // The debt is in the pool before any stripe's epoch moves
            // (release), so a depositor that sees the new epoch sees it.
            self.global.fetch_add(delta, Ordering::AcqRel);
            for cell in self.stripes.iter() {
                // One RMW empties the cache and bumps the epoch, so that a
                // depositor's CAS on the old word fails.
                let old = cell
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                        Some((w & !COUNT).wrapping_add(EPOCH))
                    })
                    .unwrap_or_else(|w| w);
                let cached = old & COUNT;
                if cached > 0 {
                    self.global.fetch_add(cached as i64, Ordering::AcqRel);
                }
            }
        }
        old
    }

    /// Permits free now (a snapshot; racing calls may change it at once).
    pub(crate) fn available(&self) -> u32 {
        let cached: u64 = self
            .stripes
            .iter()
            .map(|c| c.load(Ordering::Acquire) & COUNT)
            .sum();
        let free = self.global.load(Ordering::Acquire) + cached as i64;
        free.clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Permits held now (a snapshot; it may exceed a limit that shrank
    /// while they were held).
    pub(crate) fn in_flight(&self) -> u32 {
        let cached: u64 = self
            .stripes
            .iter()
            .map(|c| c.load(Ordering::Acquire) & COUNT)
            .sum();
        let held = i64::from(self.limit()) - self.global.load(Ordering::Acquire) - cached as i64;
        held.clamp(0, i64::from(u32::MAX)) as u32
    }

    /// In-flight as seen from `stripe` right after an admission, counting
    /// the admitted call: exact but for the permits cached on other
    /// stripes (at most `cap` each, a small share of the limit), and read
    /// without touching other stripes' cache lines.
    #[inline]
    pub(crate) fn in_flight_from(&self, stripe: usize) -> u32 {
        let own = (self.stripes[stripe].load(Ordering::Relaxed) & COUNT) as i64;
        let g = self.global.load(Ordering::Relaxed).max(0);
        (i64::from(self.limit()) - g - own).clamp(1, i64::from(u32::MAX)) as u32
    }
}

/// Takes one permit from a stripe cache if it holds any.
#[inline]
fn take_cached(cell: &AtomicU64) -> bool {
    let mut word = cell.load(Ordering::Relaxed);
    while word & COUNT != 0 {
        // Acquire pairs with the deposit that cached the permit.
        match cell.compare_exchange_weak(word, word - 1, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => word = now,
        }
    }
    false
}

/// A stripe caches at most an eighth of its share of the limit (at least
/// one permit, so a thread's call-release cycle stays on its stripe).
fn cap_for(limit: u32, stripes: usize) -> u32 {
    (limit / (8 * stripes as u32)).clamp(1, 256)
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission")
            .field("limit", &self.limit())
            .field("available", &self.available())
            .finish()
    }
}
