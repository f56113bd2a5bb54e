//! Behaviour of the keyed map: values made once per key, idle keys evicted,
//! memory bounded, values in use kept.
#![cfg(feature = "keyed")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use seawall::clock::ManualClock;
use seawall::keyed::KeyedMap;

const IDLE: Duration = Duration::from_secs(60);

/// A map of `u64` keys whose values count how many were made, on a manual
/// clock.
fn scenario(max_keys: usize) -> (KeyedMap<u64, u64>, ManualClock, Arc<AtomicUsize>) {
    let clock = ManualClock::new();
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let map = KeyedMap::builder()
        .idle_timeout(IDLE)
        .max_keys(max_keys)
        .clock(clock.clone())
        .build(move |k: &u64| {
            counter.fetch_add(1, Ordering::Relaxed);
            *k * 10
        })
        .expect("valid settings");
    (map, clock, made)
}

#[test]
fn a_key_is_made_once_and_shared_by_clones() {
    let (map, _, made) = scenario(100);
    let other = map.clone();
    let a = map.get_or_create(&7);
    let b = other.get_or_create(&7);
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(*a, 70);
    assert_eq!(made.load(Ordering::Relaxed), 1);
    assert_eq!(map.len(), 1);
}

#[test]
fn get_does_not_create() {
    let (map, _, made) = scenario(100);
    assert!(map.get(&1).is_none());
    assert_eq!(made.load(Ordering::Relaxed), 0);
    assert!(map.is_empty());
}

#[test]
fn an_idle_key_is_evicted_by_a_later_call_and_starts_afresh() {
    let (map, clock, made) = scenario(100);
    drop(map.get_or_create(&1));
    clock.advance(IDLE);
    // Any call after the sweep period sweeps: key 2's call evicts key 1.
    drop(map.get_or_create(&2));
    assert!(map.get(&1).is_none());
    drop(map.get_or_create(&1));
    assert_eq!(made.load(Ordering::Relaxed), 3);
}

#[test]
fn a_used_key_is_not_idle() {
    let (map, clock, _) = scenario(100);
    drop(map.get_or_create(&1));
    for _ in 0..10 {
        clock.advance(IDLE / 4);
        drop(map.get_or_create(&1));
    }
    assert_eq!(map.evict_idle(), 0);
    assert!(map.get(&1).is_some());
}

#[test]
fn a_value_in_use_is_never_evicted() {
    let (map, clock, made) = scenario(2);
    let held = map.get_or_create(&1);
    clock.advance(IDLE * 10);
    assert_eq!(map.evict_idle(), 0);
    // Full of keys in use or fresh: new keys still get their value.
    for k in 2..10 {
        drop(map.get_or_create(&k));
    }
    assert!(Arc::ptr_eq(&held, &map.get_or_create(&1)));
    assert_eq!(made.load(Ordering::Relaxed), 9);
}

#[test]
fn memory_stays_bounded_under_a_stream_of_new_keys() {
    let (map, clock, _) = scenario(64);
    for k in 0..10_000 {
        drop(map.get_or_create(&k));
        clock.advance(Duration::from_millis(1));
        assert!(map.len() <= 64, "{} keys held after key {k}", map.len());
    }
    // The most recent keys survive the eviction of the least recent.
    assert!(map.get(&9_999).is_some());
    assert!(map.get(&0).is_none());
}

#[test]
fn entries_and_remove() {
    let (map, _, _) = scenario(100);
    for k in [3, 1, 2] {
        drop(map.get_or_create(&k));
    }
    let mut keys: Vec<u64> = map.entries().into_iter().map(|(k, _)| k).collect();
    keys.sort_unstable();
    assert_eq!(keys, [1, 2, 3]);
    assert_eq!(map.remove(&2).as_deref(), Some(&20));
    assert_eq!(map.len(), 2);
}

#[test]
fn a_panicking_factory_leaves_the_map_usable() {
    let map = KeyedMap::builder()
        .build(|k: &u32| {
            assert!(*k != 13, "unlucky key");
            *k
        })
        .expect("valid settings");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| map.get_or_create(&13)));
    assert!(caught.is_err());
    assert!(map.get(&13).is_none());
    assert_eq!(*map.get_or_create(&14), 14);
}

#[test]
fn racing_first_uses_agree_on_one_value() {
    let (map, _, _) = scenario(1_000);
    let seen: Vec<Arc<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| map.get_or_create(&42))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(seen.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
}

#[test]
fn invalid_settings_name_the_field() {
    let cases = [
        (KeyedMap::builder().max_keys(0), "max_keys"),
        (
            KeyedMap::builder().idle_timeout(Duration::ZERO),
            "idle_timeout",
        ),
    ];
    for (builder, field) in cases {
        let err = builder.build(|k: &u8| *k).unwrap_err();
        assert_eq!(err.field(), field);
    }
}
