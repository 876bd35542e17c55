//! `ferry sandbox`: a whole migration on one machine.
//!
//! One process runs Ferry's embedded API server (state in the data directory; or the
//! real kube-apiserver and etcd, [`server`]), the
//! simulated cluster ([`crate::cluster`]), Forklift's CRDs, the OVA inventory over a
//! catalog directory (served with Forklift's REST routes), and Ferry's controllers
//! ([`controllers`]); then creates the Providers, maps, a Plan over sample appliances
//! and a Migration ([`demo`]), shows per-VM progress ([`progress`]) and a summary, and
//! serves until interrupted so the result can be inspected with `kubectl`.
//!
//! [`Sandbox`] is the same machinery as a library, for tests: start, stop and restart
//! the controllers, create the demo objects, read the Plan.

pub mod catalog;
pub mod controllers;
pub mod demo;
pub mod layout;
pub mod prereq;
pub mod progress;
mod run;
pub mod server;
pub mod vsphere;

pub use run::{Options, Outcome, Sandbox, SandboxError, SandboxOptions, run};
pub use server::ServerChoice;
