//! The incident replay (filled in below).
fn main() {}
