//! A [`Limiter`] as a balancer gate: an endpoint whose limit is full is
//! passed over while another has room, and each call the balancer sends
//! teaches the endpoint's algorithm.
//!
//! A gate's ticket is two words, not an owned permit, so the limiter hands
//! out a [`RawPermit`] here: which pool the permit came from, the stripe to
//! give it back to, and the in-flight count at admission the sample needs.
//! The balancer holds the limiter (in the endpoint's gates) for as long as
//! the ticket lives, so the raw permit needs no handle of its own, and a
//! call costs no reference-count write.

use super::limiter::Limiter;
use super::partition::{self, SHARED};
use super::LimitSample;
use crate::balance::{Gate, Ticket};
use crate::classify::Sample;

/// One admitted call's permit, without a handle to its limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawPermit {
    pool: u32,
    stripe: u32,
    in_flight: u32,
}

impl RawPermit {
    /// Two words: pool and stripe in the first, in-flight in the second.
    pub(crate) fn into_words(self) -> [u64; 2] {
        [
            u64::from(self.pool) << 32 | u64::from(self.stripe),
            u64::from(self.in_flight),
        ]
    }

    pub(crate) fn from_words(words: [u64; 2]) -> Self {
        Self {
            pool: (words[0] >> 32) as u32,
            stripe: words[0] as u32,
            in_flight: words[1] as u32,
        }
    }
}

impl Limiter {
    /// Takes a permit of no partition without waiting (a partition's or
    /// the shared pool's, as [`try_acquire`](Limiter::try_acquire) does).
    #[inline]
    pub(crate) fn acquire_raw(&self) -> Option<RawPermit> {
        let (pool, stripe) = partition::try_acquire(&self.shared.pools, SHARED)?;
        let in_flight = self.shared.in_flight_at_admission(pool, stripe);
        Some(RawPermit {
            pool: pool as u32,
            stripe: stripe as u32,
            in_flight,
        })
    }

    /// Gives the permit back, learning nothing.
    #[inline]
    pub(crate) fn release_raw(&self, raw: RawPermit) {
        self.shared.pools[raw.pool as usize].release(raw.stripe as usize);
    }

    /// Teaches the algorithm the call's sample (an ignored outcome teaches
    /// nothing), then gives the permit back.
    #[inline]
    pub(crate) fn record_raw(&self, raw: RawPermit, sample: Sample) {
        if let Some(sample) = LimitSample::from_sample(sample, raw.in_flight) {
            self.shared.record(sample);
        }
        self.release_raw(raw);
    }
}

/// A limiter admits while it has a free permit. The balancer never waits
/// on a gate, so a limiter built with [`Mode::Wait`](super::Mode::Wait)
/// admits here without waiting; round-trip times are the balancer's (its
/// clock times the call), not the limiter's clock's.
///
/// ```
/// use seawall::balance::{Chooser, Health};
/// use seawall::classify::Outcome;
/// use seawall::limit::{algorithm::Fixed, Limiter};
///
/// let limiter = Limiter::builder(Fixed::new(1)?).build()?;
/// let mut chooser = Chooser::builder().build()?;
/// chooser.insert_with("a", "a", Health::new().gate(limiter.clone())?);
/// let to_a = chooser.pick()?;
/// assert_eq!(limiter.in_flight(), 1);
/// chooser.insert("b", "b");
/// // "a" is full: every other call goes to "b".
/// assert!((0..20).all(|_| *chooser.pick().unwrap().get() == "b"));
/// to_a.record(Outcome::Success);
/// assert_eq!(limiter.in_flight(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Gate for Limiter {
    #[inline]
    fn has_room(&self) -> bool {
        self.available() > 0
    }

    #[inline]
    fn try_acquire(&self) -> Option<Ticket> {
        self.acquire_raw().map(|raw| Ticket::new(raw.into_words()))
    }

    #[inline]
    fn complete(&self, ticket: Ticket, sample: Sample) {
        self.record_raw(RawPermit::from_words(ticket.words()), sample);
    }

    #[inline]
    fn cancel(&self, ticket: Ticket) {
        self.release_raw(RawPermit::from_words(ticket.words()));
    }
}

#[cfg(test)]
mod tests {
    use super::RawPermit;

    #[test]
    fn a_raw_permit_survives_its_words() {
        let cases = [
            RawPermit {
                pool: 0,
                stripe: 0,
                in_flight: 1,
            },
            RawPermit {
                pool: 3,
                stripe: 63,
                in_flight: u32::MAX,
            },
        ];
        for raw in cases {
            assert_eq!(RawPermit::from_words(raw.into_words()), raw);
        }
    }
}
