//! The Ferry manager: wires the provider, map, hook, host, migration, conversion and
//! plan controllers onto kube-runtime.
//!
//! Layout:
//! - [`manager`]: [`manager::start`] builds the shared [`Context`] and runs every
//!   controller until shut down; the `ferry controller` command and the sandbox call it;
//! - [`provider`], [`maps`], [`hook`], [`host`], [`migration`], [`conversion`]: one
//!   controller each, a pure validation module next to the reconcile that does the I/O;
//! - [`plan`]: the wiring of the plan controller (built in `ferry-plan`): its watches
//!   and how changes map back to Plans;
//! - [`cache`]: one long-lived watch per kind, shared by all controllers;
//! - [`collectors`]: the inventory collectors the Provider controller runs;
//! - [`runner`], [`policy`], [`error`]: what every controller shares (the reconcile
//!   wrapper, the error policy, the status writer);
//! - [`settings`], [`metrics`], [`events`], [`health`], [`leader`], [`rbac`], [`clock`].

pub mod cache;
pub mod clock;
pub mod collectors;
pub mod context;
pub mod conversion;
pub mod error;
pub mod events;
pub mod findings;
pub mod guard;
pub mod health;
pub mod hook;
pub mod host;
pub mod leader;
pub mod manager;
pub mod maps;
pub mod metrics;
pub mod migration;
pub mod plan;
pub mod policy;
pub mod provider;
pub mod rbac;
pub mod runner;
pub mod settings;
pub mod telemetry;

pub use context::{Caches, Context};
pub use error::{Error, ErrorClass};
pub use manager::{ClientSource, Manager, ManagerConfig, run, start};
pub use plan::{PlanError, PlanReconciler};
pub use settings::Settings;
