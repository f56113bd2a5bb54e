//! Waiting for a permit: a runtime-free future over the wait queue, and
//! the timed wait the tower adapters use (tokio's timer lives only there).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::queue::{Slot, Waiter};
use super::{HasPool, Permit};
use crate::sync::Mutex;

/// Why a wait ended without a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitError {
    /// No permit was free and no caller may wait (fail fast), or the queue
    /// was full.
    Full,
    /// The maximum wait passed.
    TimedOut,
}

/// Waits in the pool's queue until a permit is handed over. Dropped while
/// queued, it leaves the queue; dropped after a permit was handed to it but
/// before it saw it, it gives the permit back.
pub(crate) struct Acquire<H: HasPool> {
    handle: Option<H>,
    waiter: Option<Waiter>,
}

impl<H: HasPool> Acquire<H> {
    pub(crate) fn new(handle: H) -> Self {
        Self {
            handle: Some(handle),
            waiter: None,
        }
    }

    fn take(&mut self, stripe: usize) -> Permit<H> {
        self.waiter = None;
        let handle = self.handle.take().expect("polled after completion");
        Permit::new(handle, stripe)
    }
}

impl<H: HasPool> Unpin for Acquire<H> {}

impl<H: HasPool> Future for Acquire<H> {
    type Output = Result<Permit<H>, WaitError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let handle = this.handle.as_ref().expect("polled after completion");
        if let Some(waiter) = &this.waiter {
            let mut slot = waiter.lock();
            if let Some(stripe) = slot.granted.take() {
                drop(slot);
                return Poll::Ready(Ok(this.take(stripe)));
            }
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if let Some(stripe) = handle.pool().try_acquire() {
            return Poll::Ready(Ok(this.take(stripe)));
        }
        let Some(queue) = handle.pool().queue() else {
            this.handle = None;
            return Poll::Ready(Err(WaitError::Full));
        };
        let waiter: Waiter = Arc::new(Mutex::new(Slot {
            granted: None,
            waker: Some(cx.waker().clone()),
        }));
        if queue.push(&waiter, handle.pool().core()).is_err() {
            this.handle = None;
            return Poll::Ready(Err(WaitError::Full));
        }
        let granted = waiter.lock().granted.take();
        if let Some(stripe) = granted {
            return Poll::Ready(Ok(this.take(stripe)));
        }
        this.waiter = Some(waiter);
        Poll::Pending
    }
}

impl<H: HasPool> Drop for Acquire<H> {
    fn drop(&mut self) {
        if let (Some(waiter), Some(handle)) = (self.waiter.take(), self.handle.as_ref()) {
            if let Some(queue) = handle.pool().queue() {
                if let Some(stripe) = queue.leave(&waiter) {
                    handle.pool().release(stripe);
                }
            }
        }
    }
}

impl<H: HasPool> fmt::Debug for Acquire<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("queued", &self.waiter.is_some())
            .finish()
    }
}

pin_project! {
    /// [`Acquire`] bounded by a maximum wait on tokio's timer.
    pub(crate) struct TimedAcquire<H: HasPool> {
        acquire: Acquire<H>,
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

impl<H: HasPool> TimedAcquire<H> {
    pub(crate) fn new(handle: H, max_wait: Duration) -> Self {
        Self {
            acquire: Acquire::new(handle),
            sleep: tokio::time::sleep(max_wait),
        }
    }
}

impl<H: HasPool> Future for TimedAcquire<H> {
    type Output = Result<Permit<H>, WaitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The queue first: a permit handed over just as the wait expires
        // is used rather than given back.
        if let Poll::Ready(result) = Pin::new(&mut *this.acquire).poll(cx) {
            return Poll::Ready(result);
        }
        if this.sleep.poll(cx).is_ready() {
            // Leaving the queue may find a permit handed over meanwhile.
            if let Some(waiter) = this.acquire.waiter.take() {
                let handle = this.acquire.handle.as_ref().expect("not completed");
                if let Some(queue) = handle.pool().queue() {
                    if let Some(stripe) = queue.leave(&waiter) {
                        return Poll::Ready(Ok(this.acquire.take(stripe)));
                    }
                }
            }
            this.acquire.handle = None;
            return Poll::Ready(Err(WaitError::TimedOut));
        }
        Poll::Pending
    }
}

impl<H: HasPool> fmt::Debug for TimedAcquire<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimedAcquire")
            .field("acquire", &self.acquire)
            .finish()
    }
}
