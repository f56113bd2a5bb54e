//! The admission core shared by the bulkhead and the adaptive limit: an
//! exact, lock-free, striped permit budget ([`Admission`]), an optional
//! bounded wait queue ([`WaitQueue`]), and the owned permit that gives its
//! slot back on drop.
//!
//! A single in-flight counter is one cache line every call writes twice,
//! so two threads sharing it run slower together than one alone. Here each
//! thread takes permits from and returns them to its own stripe's small
//! cache, filled in batches from a global pool; the cached permits are part
//! of the budget, so admission stays exact (see [`Admission`] for the
//! argument, `tests/loom_admission.rs` for the models).

// Each of the bulkhead and the limit alone uses a part of it.
#![cfg_attr(not(all(feature = "bulkhead", feature = "limit")), allow(dead_code))]

mod core;
mod permit;
mod queue;
mod reserve;
mod wait;

pub(crate) use self::core::Admission;
pub(crate) use self::permit::{HasPool, Hold, Permit, Striped};
pub(crate) use self::queue::{check_wait, Order, WaitQueue};
pub(crate) use self::reserve::{Reservation, Reserve};
#[cfg(seawall_loom)]
pub(crate) use self::wait::Acquire;
pub(crate) use self::wait::{TimedAcquire, WaitError};

use crate::sync::{fence, Ordering};

/// A permit budget and, for callers that may wait, its queue.
#[derive(Debug)]
pub(crate) struct Pool {
    core: Admission,
    queue: Option<WaitQueue>,
}

impl Pool {
    pub(crate) fn new(limit: u32, queue: Option<WaitQueue>) -> Self {
        Self {
            core: Admission::new(limit),
            queue,
        }
    }

    #[inline]
    pub(crate) fn core(&self) -> &Admission {
        &self.core
    }

    pub(crate) fn queue(&self) -> Option<&WaitQueue> {
        self.queue.as_ref()
    }

    /// Takes a permit without waiting.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<usize> {
        self.core.try_acquire()
    }

    /// Gives a permit back, to the first waiter if one waits.
    #[inline]
    pub(crate) fn release(&self, stripe: usize) {
        self.core.release(stripe);
        if let Some(queue) = &self.queue {
            // SeqCst fence against the one a waiter runs between counting
            // itself and looking for a free permit: either it sees this
            // permit or this call sees it waiting (no lost wake-up).
            fence(Ordering::SeqCst);
            if queue.has_waiters() {
                queue.grant(&self.core);
            }
        }
    }

    /// Sets the limit; permits it adds go to waiters first.
    pub(crate) fn set_limit(&self, limit: u32) -> u32 {
        let old = self.core.set_limit(limit);
        if let Some(queue) = &self.queue {
            fence(Ordering::SeqCst);
            if queue.has_waiters() {
                queue.grant(&self.core);
            }
        }
        old
    }

    /// Callers waiting for a permit now.
    pub(crate) fn waiting(&self) -> usize {
        self.queue.as_ref().map_or(0, WaitQueue::len)
    }
}
