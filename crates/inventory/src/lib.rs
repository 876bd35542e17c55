//! Source inventories and the Forklift-compatible inventory REST service.
//!
//! - [`query`]: the provider-neutral interface the controllers use ([`query::Inventory`]:
//!   find by `ref`, list, full VMs, status, change feed, problems);
//! - [`registry`]: the providers served, by Provider UID;
//! - [`rest`]: Forklift's inventory routes (`/providers/...`), provider-independent,
//!   with paging, parity (206), bearer-token authentication and error mapping;
//! - [`ova`]: the OVA provider: catalog discovery, OVF parsing, upstream-compatible
//!   IDs, concerns, the collector and its REST collections, sample appliances;
//! - [`vsphere`]: the vSphere provider: connection test, the event-driven collector,
//!   the model, concerns, and its REST collections and trees;
//! - [`capacity`]: OVF allocation units (upstream `getResourceCapacity`), shared with
//!   the OVA plan adapter;
//! - [`gob`]: the Go gob encoding behind upstream's OVA network and disk IDs.

pub mod capacity;
pub mod gob;
pub mod ova;
pub mod query;
pub mod registry;
pub mod rest;
pub mod vsphere;

pub use query::{
    Action, Change, FindError, Found, Inventory, InventoryStatus, Kind, Problem, Ref, SourceVm,
};
pub use registry::{ProviderInfo, Registered, Registry};
