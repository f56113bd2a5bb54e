//! Keyed compartments: a limit per key, under an optional global limit,
//! idle keys forgotten.
#![cfg(all(feature = "bulkhead", feature = "keyed"))]

use std::time::Duration;

use seawall::bulkhead::{BulkheadLayer, Full, KeyedBulkheadLayer, KeyedBulkheads, Mode};
use seawall::clock::ManualClock;
use seawall::keyed::KeyedMap;
use tokio_test::{assert_pending, task};
use tower::{BoxError, Layer, Service, ServiceExt};
use tower_test::mock;

type Req = (&'static str, u32);

fn tenants(max: u32, clock: &ManualClock) -> KeyedBulkheads<&'static str> {
    BulkheadLayer::builder()
        .name("tenant")
        .max_concurrent_calls(max)
        .build_keyed(
            KeyedMap::builder()
                .idle_timeout(Duration::from_secs(60))
                .clock(clock.clone()),
        )
        .expect("valid config")
}

fn tenant_of(req: &Req) -> &'static str {
    req.0
}

/// Starts a call for `tenant` that stays in flight; the error if refused.
async fn start<S>(svc: &mut S, tenant: &'static str) -> Result<S::Future, BoxError>
where
    S: Service<Req, Error = BoxError>,
{
    svc.ready().await?;
    Ok(svc.call((tenant, 0)))
}

#[tokio::test]
async fn one_key_cannot_take_the_others_permits() {
    let clock = ManualClock::new();
    let bulkheads = tenants(2, &clock);
    let (backend, mut handle) = mock::pair::<Req, u32>();
    handle.allow(100);
    let mut svc = KeyedBulkheadLayer::new(bulkheads.clone(), tenant_of).layer(backend);

    let mut acme: Vec<_> = Vec::new();
    for _ in 0..2 {
        let mut call = task::spawn(start(&mut svc, "acme").await.expect("admitted"));
        assert_pending!(call.poll());
        acme.push(call);
    }
    let refused = start(&mut svc, "acme")
        .await
        .expect("ready")
        .await
        .unwrap_err();
    let full = refused.downcast_ref::<Full>().expect("Full");
    assert_eq!(
        (full.name(), full.max_concurrent_calls()),
        ("tenant/acme", 2)
    );
    let globex = start(&mut svc, "globex").await.expect("admitted");
    drop(globex);
    drop(acme);
    assert_eq!(
        bulkheads.get("acme").map(|b| b.available_permits()),
        Some(2)
    );
}

#[tokio::test]
async fn a_global_bulkhead_under_the_keys_bounds_them_all() {
    let clock = ManualClock::new();
    let global = BulkheadLayer::builder()
        .name("all")
        .max_concurrent_calls(3)
        .build()
        .expect("valid config");
    let (backend, mut handle) = mock::pair::<Req, u32>();
    handle.allow(100);
    let mut svc =
        KeyedBulkheadLayer::new(tenants(2, &clock), tenant_of).layer(global.clone().layer(backend));
    let mut calls = Vec::new();
    for tenant in ["a", "a", "b"] {
        let mut call = task::spawn(start(&mut svc, tenant).await.expect("admitted"));
        assert_pending!(call.poll());
        calls.push(call);
    }
    let err = start(&mut svc, "c")
        .await
        .expect("ready")
        .await
        .unwrap_err();
    assert_eq!(err.downcast_ref::<Full>().map(Full::name), Some("all"));
    drop(calls);
    assert_eq!(global.available_permits(), 3);
}

#[tokio::test]
async fn idle_keys_are_evicted_but_never_with_calls_in_flight() {
    let clock = ManualClock::new();
    let bulkheads = tenants(1, &clock);
    let (backend, mut handle) = mock::pair::<Req, u32>();
    handle.allow(100);
    let mut svc = KeyedBulkheadLayer::new(bulkheads.clone(), tenant_of).layer(backend);
    let busy = start(&mut svc, "busy").await.expect("admitted");
    drop(start(&mut svc, "idle").await.expect("admitted"));
    clock.advance(Duration::from_secs(61));
    bulkheads.map().evict_idle();
    assert!(bulkheads.get("idle").is_none(), "idle key evicted");
    assert!(bulkheads.get("busy").is_some(), "a key in use is kept");
    // Still one permit for "busy": its bulkhead was not remade empty.
    let again = start(&mut svc, "busy")
        .await
        .expect("ready")
        .await
        .unwrap_err();
    assert!(again.is::<Full>());
    drop(busy);
}

#[test]
fn keyed_compartments_fail_fast() {
    let err = BulkheadLayer::builder()
        .mode(Mode::Wait {
            max_wait: Duration::from_secs(1),
            queue: 1,
        })
        .build_keyed::<String>(KeyedMap::builder())
        .unwrap_err();
    assert_eq!(err.field(), "mode");
}
