//! `seawall::rejection` finds every layer's refusal, however an outer layer
//! wrapped it.
#![cfg(all(
    feature = "breaker",
    feature = "bulkhead",
    feature = "limit",
    feature = "balance"
))]

use std::fmt;

use seawall::balance::Chooser;
use seawall::breaker::{CircuitBreaker, State};
use seawall::bulkhead::BulkheadLayer;
use seawall::limit::algorithm::Fixed;
use seawall::limit::Limiter;
use seawall::{rejection, BoxError, Rejection};

/// An application error that keeps what it wraps as its source.
#[derive(Debug)]
struct Wrapped(BoxError);

impl fmt::Display for Wrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request failed")
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// One refusal of each layer, boxed as the layers' futures return it.
fn refusals() -> Result<Vec<(&'static str, BoxError)>, BoxError> {
    let breaker = CircuitBreaker::builder().name("db").build()?;
    breaker.transition_to(State::Open)?;

    let bulkhead = BulkheadLayer::builder()
        .name("reports")
        .max_concurrent_calls(1)
        .build()?;
    let _held = bulkhead.try_acquire()?;

    let limiter = Limiter::builder(Fixed::new(1)?).name("api").build()?;
    let _taken = limiter.try_acquire()?;

    let mut chooser: Chooser<u8, ()> = Chooser::builder().build()?;

    Ok(vec![
        ("breaker", Box::new(breaker.try_acquire().unwrap_err())),
        ("bulkhead", Box::new(bulkhead.try_acquire().unwrap_err())),
        ("limit", Box::new(limiter.try_acquire().unwrap_err())),
        ("balance", Box::new(chooser.pick().unwrap_err())),
    ])
}

fn kind(r: Rejection<'_>) -> &'static str {
    match r {
        Rejection::BreakerOpen(_) => "breaker",
        Rejection::BulkheadFull(_) | Rejection::BulkheadWaitTimedOut(_) => "bulkhead",
        Rejection::LimitOverloaded(_) => "limit",
        Rejection::BalanceUnavailable(_) => "balance",
        _ => "other",
    }
}

#[test]
fn every_layers_refusal_is_found_bare_and_wrapped() -> Result<(), BoxError> {
    for (layer, refusal) in refusals()? {
        let message = refusal.to_string();
        let found = rejection(&*refusal).expect("found bare");
        assert_eq!(kind(found), layer);
        assert_eq!(found.to_string(), message);

        let wrapped: BoxError = Box::new(Wrapped(Box::new(Wrapped(refusal))));
        let found = rejection(&*wrapped).expect("found through two wrappers");
        assert_eq!(kind(found), layer);
        // Only the breaker knows when it will admit calls again.
        assert_eq!(found.retry_after().is_some(), layer == "breaker", "{layer}");
    }
    Ok(())
}

#[test]
fn other_errors_are_not_refusals() {
    let io: BoxError = Box::new(std::io::Error::other("connection reset"));
    assert!(rejection(&*io).is_none());
    let wrapped: BoxError = Box::new(Wrapped(io));
    assert!(rejection(&*wrapped).is_none());
}
