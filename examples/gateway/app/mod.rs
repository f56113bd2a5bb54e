//! The reference gateway's parts, shared by the gateway binary, the incident
//! replay and the integration tests (which include this folder by `#[path]`,
//! so not every binary uses every item and no item is reachable from a
//! library root).
#![allow(dead_code, unreachable_pub)]

pub mod answer;
pub mod backend;
pub mod config;
pub mod discover;
pub mod endpoint;
pub mod forward;
pub mod gateway;
pub mod held;
pub mod ops;
pub mod pool;
pub mod proxy;
pub mod route;
pub mod server;
