//! A response body that holds the call's resources until it ends: the
//! route's bulkhead slot, the endpoint's in-flight count and the balancer's
//! pick (with the endpoint's breaker and limit permits). The backend's
//! connection stays busy until its body is read, so the call is not over
//! when the headers arrive (tower-http's in-flight-requests layer counts a
//! request until its body ends too). A body that fails midway turns the
//! call's outcome into a failure.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper::body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use seawall::balance::Pick;
use seawall::bulkhead::BulkheadPermit;
use seawall::classify::{Outcome, Sample};

use super::endpoint::{Endpoint, InFlight};

/// What one call holds on its endpoint until its response body ends. The
/// sample (outcome by status, latency to the headers) is recorded then.
#[derive(Debug)]
pub struct Call {
    pick: Option<Pick<std::sync::Arc<Endpoint>>>,
    sample: Sample,
    _slot: Option<InFlight>,
}

impl Call {
    pub fn new(
        pick: Option<Pick<std::sync::Arc<Endpoint>>>,
        sample: Sample,
        slot: Option<InFlight>,
    ) -> Self {
        Self {
            pick,
            sample,
            _slot: slot,
        }
    }

    fn failed(&mut self) {
        self.sample = Sample::new(Outcome::Failure, self.sample.latency());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(pick) = self.pick.take() {
            pick.record_sample(self.sample);
        }
    }
}

/// Everything a response holds: its route's slot and its call.
#[derive(Debug, Default)]
pub struct Hold {
    pub slot: Option<BulkheadPermit>,
    pub call: Option<Call>,
}

pin_project! {
    /// `B`, releasing its [`Hold`] at its end, on an error or when dropped.
    #[derive(Debug)]
    pub struct Held<B> {
        #[pin]
        inner: B,
        hold: Option<Hold>,
    }
}

impl<B> Held<B> {
    pub fn new(inner: B, hold: Hold) -> Self {
        Self {
            inner,
            hold: Some(hold),
        }
    }
}

impl<B: Body> Body for Held<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            None => drop(this.hold.take()),
            Some(Err(_)) => {
                if let Some(mut hold) = this.hold.take() {
                    if let Some(call) = &mut hold.call {
                        call.failed();
                    }
                }
            }
            Some(Ok(_)) => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
