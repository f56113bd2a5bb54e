//! The consecutive-failures policy: trip after `threshold` failures in a row.
//!
//! One word holds the generation and the run length. A success that finds
//! the run at zero writes nothing, so the healthy path is a single load.

use crate::sync::{AtomicU64, CachePadded, Ordering};

use super::Counts;

#[derive(Debug)]
pub(crate) struct Consecutive {
    threshold: u32,
    run: CachePadded<AtomicU64>,
}

#[inline]
fn decode(w: u64) -> (u32, u32) {
    ((w >> 32) as u32, w as u32)
}

fn encode(gen: u32, run: u32) -> u64 {
    (gen as u64) << 32 | run as u64
}

impl Consecutive {
    pub(crate) fn new(threshold: u32) -> Self {
        Self {
            threshold,
            run: CachePadded(AtomicU64::new(0)),
        }
    }

    /// Returns `Some(trip)` after a failure, `None` after a success or a
    /// stale record.
    pub(crate) fn record(
        &self,
        gen: u32,
        failed: bool,
        is_current: impl Fn() -> bool,
    ) -> Option<bool> {
        let mut word = self.run.load(Ordering::Acquire);
        loop {
            let (tag, run) = decode(word);
            if tag != gen && !is_current() {
                return None; // admitted in an older generation
            }
            let fresh = tag != gen; // a newer generation starts at zero
            let next = match (failed, fresh) {
                (false, true) => return None,
                (false, false) if run == 0 => return None,
                (false, false) => encode(gen, 0),
                (true, true) => encode(gen, 1),
                (true, false) => encode(gen, run.saturating_add(1)),
            };
            match self
                .run
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return failed.then(|| decode(next).1 >= self.threshold),
                Err(now) => word = now,
            }
        }
    }

    /// A success changes nothing while the run is at zero, in any
    /// generation.
    #[inline]
    pub(crate) fn success_is_noop(&self) -> bool {
        decode(self.run.load(Ordering::Acquire)).1 == 0
    }

    pub(crate) fn counts(&self, gen: u32) -> Counts {
        let (tag, run) = decode(self.run.load(Ordering::Acquire));
        let run = if tag == gen { run } else { 0 };
        Counts {
            calls: run,
            failed: run,
            slow: 0,
        }
    }
}
