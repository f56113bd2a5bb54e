//! The incident replay: the outage of `INCIDENT.md` rebuilt on loopback and
//! run through a naive gateway and through the seawall gateway with the
//! same seeded open-loop load. Shared by the `incident` example and
//! `tests/incident.rs`.
#![allow(dead_code, unreachable_pub)]

#[path = "../../gateway/app/mod.rs"]
pub mod app;
pub mod chart;
pub mod checks;
pub mod load;
pub mod outcome;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
