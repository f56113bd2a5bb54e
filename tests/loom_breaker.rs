#![cfg(seawall_loom)]
#[test]
fn smoke() {
    loom::model(|| {});
}
