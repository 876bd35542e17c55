//! Test support shared by the plan controller's integration tests: an in-memory source
//! inventory, a test adapter (the engine's only adapter until the OVA adapter lands), and
//! builders for providers, maps, plans and the `Observed` snapshot.
//!
//! The test adapter serves OVA-shaped VMs (the inventory's OVA model) so it exercises the
//! same `SourceVm` the real OVA adapter will get, with a deliberately simple builder.

#![allow(dead_code, missing_docs, unused_imports)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod adapter;
pub mod cluster;
pub mod fixtures;
pub mod inventory;
pub mod manager;
pub mod sim;

pub use adapter::TestAdapter;
pub use fixtures::*;
pub use inventory::{TestInventory, disk, nic, vm};
