//! The bounded queue of callers waiting for a permit. Off the hot path: a
//! releasing caller only reads the waiter count unless someone waits.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::task::Waker;

use super::Admission;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// Which waiter a freed permit goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// The one that waited longest.
    Fifo,
    /// The one that arrived last: under overload the others time out, and
    /// those still served have waited least.
    Lifo,
}

/// One waiting caller, shared by its future and the queue.
pub(crate) type Waiter = Arc<Mutex<Slot>>;

/// What a waiter was handed, and how to wake it.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    pub(crate) granted: Option<usize>,
    pub(crate) waker: Option<Waker>,
}

pub(crate) struct WaitQueue {
    waiting: AtomicUsize,
    waiters: Mutex<VecDeque<Waiter>>,
    max: usize,
    order: Order,
}

/// The queue already holds its maximum of waiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueFull;

impl WaitQueue {
    pub(crate) fn new(max: usize, order: Order) -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            waiters: Mutex::new(VecDeque::new()),
            max,
            order,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) != 0
    }

    /// Queues `waiter`, then hands out any permit that was freed before the
    /// queue counted it.
    pub(crate) fn push(&self, waiter: &Waiter, core: &Admission) -> Result<(), QueueFull> {
        {
            let mut waiters = self.waiters.lock();
            if waiters.len() >= self.max {
                return Err(QueueFull);
            }
            waiters.push_back(waiter.clone());
            self.waiting.store(waiters.len(), Ordering::Relaxed);
        }
        // Pairs with the fence in `Pool::release`.
        crate::sync::fence(Ordering::SeqCst);
        self.grant(core);
        Ok(())
    }

    /// Hands free permits to waiters in queue order.
    pub(crate) fn grant(&self, core: &Admission) {
        let mut wake = Vec::new();
        {
            let mut waiters = self.waiters.lock();
            while !waiters.is_empty() {
                let Some(stripe) = core.try_acquire() else {
                    break;
                };
                let waiter = match self.order {
                    Order::Fifo => waiters.pop_front(),
                    Order::Lifo => waiters.pop_back(),
                };
                let Some(waiter) = waiter else { break };
                let mut slot = waiter.lock();
                slot.granted = Some(stripe);
                wake.extend(slot.waker.take());
            }
            self.waiting.store(waiters.len(), Ordering::Relaxed);
        }
        wake.into_iter().for_each(Waker::wake);
    }

    /// Takes `waiter` out of the queue: returns the permit it was handed,
    /// if any, which the caller then owns (and must use or give back).
    pub(crate) fn leave(&self, waiter: &Waiter) -> Option<usize> {
        let mut waiters = self.waiters.lock();
        if let Some(stripe) = waiter.lock().granted.take() {
            return Some(stripe);
        }
        if let Some(at) = waiters.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            waiters.remove(at);
            self.waiting.store(waiters.len(), Ordering::Relaxed);
        }
        None
    }
}

impl fmt::Debug for WaitQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitQueue")
            .field("waiting", &self.len())
            .field("max", &self.max)
            .field("order", &self.order)
            .finish()
    }
}

/// Checks the settings of a bounded wait, as the bulkhead and the limit
/// take them: a wait above zero and room for at least one caller.
pub(crate) fn check_wait(
    max_wait: std::time::Duration,
    queue: usize,
) -> Result<(), crate::ConfigError> {
    if max_wait.is_zero() {
        return Err(crate::ConfigError::new(
            "max_wait",
            format_args!("{max_wait:?}"),
            "a duration above zero (use Mode::FailFast not to wait)",
        ));
    }
    if queue == 0 {
        return Err(crate::ConfigError::new(
            "queue",
            queue,
            "at least 1 waiting caller (use Mode::FailFast not to wait)",
        ));
    }
    Ok(())
}
