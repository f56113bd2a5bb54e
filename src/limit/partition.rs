//! Partitions: named shares of one limit.
//!
//! Each partition owns a pool of `floor(limit × share)` permits, and the
//! rest of the limit is a shared pool. A call of a partition takes a permit
//! from its own pool, else from the shared pool, else borrows one from
//! another partition's pool; a borrowed permit goes back to the pool it
//! came from. So a partition gets at least its share whenever it has that
//! many calls to make (once borrowed permits come back, which they do as
//! the calls that borrowed them end), idle shares are lent out, and the
//! sum of all pools is the limit: admission stays exact. (Netflix's
//! `AbstractPartitionedLimiter` instead admits a partition under its share
//! even when the total is reached, which lets in-flight exceed the limit.)

use crate::admission::{HasPool, Hold, Pool};

use super::limiter::Inner;

/// Index of the shared (unreserved) pool; partitions follow it.
pub(crate) const SHARED: usize = 0;

/// A call's hold on one pool of its limiter.
pub(crate) struct PoolRef {
    pub(crate) inner: Hold<Inner>,
    pub(crate) pool: usize,
}

impl HasPool for PoolRef {
    #[inline]
    fn pool(&self) -> &Pool {
        &self.inner.pools[self.pool]
    }
}

/// Splits `limit` into the shared pool's part and each partition's.
pub(crate) fn split(limit: u32, shares: impl Iterator<Item = f64>, out: &mut Vec<u32>) {
    out.clear();
    out.push(0);
    let mut reserved = 0u32;
    for share in shares {
        let part = ((f64::from(limit) * share).floor() as u32).min(limit - reserved);
        reserved += part;
        out.push(part);
    }
    out[SHARED] = limit - reserved;
}

/// Takes a permit for a call of partition `own` (or of no partition when
/// `own` is [`SHARED`]): its own pool, the shared pool, then the others.
/// Returns the pool the permit came from and its stripe.
#[inline]
pub(crate) fn try_acquire(pools: &[Pool], own: usize) -> Option<(usize, usize)> {
    if let Some(stripe) = pools[own].try_acquire() {
        return Some((own, stripe));
    }
    acquire_elsewhere(pools, own)
}

#[cold]
fn acquire_elsewhere(pools: &[Pool], own: usize) -> Option<(usize, usize)> {
    (0..pools.len())
        .filter(|&i| i != own)
        .find_map(|i| pools[i].try_acquire().map(|stripe| (i, stripe)))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn shares_are_floored_and_the_rest_is_shared() {
        let cases: [(u32, &[f64], &[u32]); 4] = [
            (10, &[0.7, 0.3], &[0, 7, 3]),
            (9, &[0.7, 0.3], &[1, 6, 2]),
            (1, &[0.5, 0.5], &[1, 0, 0]),
            (100, &[], &[100]),
        ];
        let mut out = Vec::new();
        for (limit, shares, expected) in cases {
            split(limit, shares.iter().copied(), &mut out);
            assert_eq!(out, expected, "limit {limit}, shares {shares:?}");
        }
    }
}
