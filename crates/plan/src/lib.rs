//! The plan controller: validation, Migration execution, itineraries and the destination
//! objects of each VM (Forklift's `pkg/controller/plan`, plan spec in the shared docs).
//!
//! The controller is a pipeline of named steps, and only the edges do I/O:
//!
//! ```text
//! observe (reads) → validate (pure) → decide (pure) ⇄ apply (writes) → write status
//! ```
//!
//! Modules:
//! - [`reconcile`]: the entry point the manager calls ([`reconcile::reconcile`] with a
//!   [`reconcile::Context`]); [`watch`]: which changes wake which plan;
//! - [`observe`] (reads), [`apply`] (writes destination objects), [`status`] (writes the
//!   Plan status), [`events`] (Events from status changes), [`http`] (conversion pod
//!   calls), [`orphans`] (cleanup after a Plan is deleted);
//! - [`pass`]: one reconcile over a snapshot (skip, validate, archive, stage, execute);
//! - [`validate`]: every plan condition of the validation catalogue, from an
//!   [`observe::Observed`] snapshot;
//! - [`names`], [`template`], [`mac`], [`network`], [`quantity`]: the rules validation
//!   and the builders share (DNS-1123 names and upstream's normalization, Go name
//!   templates with the Sprig subset, MAC conflicts, NIC mappings, quantities);
//! - [`conditions`]: each condition with upstream's type, category, reason and message;
//! - [`execute`]: runs, itineraries, pipelines, the scheduler;
//! - [`kubevirt`]: the destination objects, with upstream's names, labels and annotations;
//! - [`adapter`]: the seam a provider type plugs into (validator, builder, source client);
//! - [`settings`]: the global settings the controller reads, with upstream's names.

pub mod adapter;
pub mod apply;
pub mod conditions;
pub mod events;
pub mod execute;
pub mod http;
pub mod kubevirt;
pub mod mac;
pub mod names;
pub mod network;
pub mod observe;
pub mod orphans;
pub mod pass;
pub mod quantity;
pub mod reconcile;
pub mod settings;
pub mod status;
pub mod template;
pub mod validate;
pub mod watch;

pub use reconcile::{Context, ErrorClass, ReconcileError, Reconciled, reconcile};
pub use settings::Settings;
