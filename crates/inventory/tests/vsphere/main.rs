//! The vSphere inventory against govmomi's vCenter simulator (vcsim), started per test
//! on a free loopback port (`FERRY_VCSIM`, built by `scripts/setup.d/20-vcsim.sh`).
//!
//! - `collector`: the inventory equals what vcsim serves and follows changes made
//!   through the vSphere API, without reloads; reconnection after vcsim restarts;
//!   large models;
//! - `connection`: connection tests and their typed outcomes, with no secret in any
//!   string;
//! - `rest`: Forklift's routes and JSON (golden documents), paging, names, parity;
//! - `hostile`: names with slashes and non-ASCII, VMs without disks, shared disks.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod collector;
mod common;
mod connection;
mod hostile;
mod rest;
