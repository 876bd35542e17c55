//! Forklift's `forklift.konveyor.io/v1beta1` API for Ferry: the kinds, the condition
//! model, references, CRD generation, and the destination types Ferry writes.
//!
//! Everything here is data and pure functions: no client, no I/O. The wire shapes follow
//! upstream Forklift (commit in `fixtures/upstream/COMMIT`) field for field, including its
//! Go serialization quirks (fields that are always emitted, `null` provider type,
//! seconds-precision times), so objects written by Forklift, the console plugin or
//! `kubectl-mtv` round-trip unchanged.
//!
//! Layout:
//! - one module per kind ([`provider`], [`plan`], [`migration`], [`mapping`], [`hook`],
//!   [`host`], [`provider_server`], [`conversion`], [`forklift_controller`],
//!   [`populator`]); each kind implements [`k8s_openapi::Resource`] (and therefore
//!   `kube::Resource`), so `kube::Api<Plan>` works;
//! - [`reference`]: `ref.Ref` and `ref.Refs`;
//! - [`condition`]: Forklift's condition model (staging, durable, categories) and the
//!   condition/reason catalogue;
//! - [`phase`], [`labels`]: VM phase and pipeline step names, label and annotation keys;
//! - [`destination`]: KubeVirt `VirtualMachine`, CDI `DataVolume` and Multus
//!   `NetworkAttachmentDefinition`, typed where Ferry reads or writes and lossless elsewhere;
//! - [`crds`]: the CustomResourceDefinitions Ferry serves, generated from these types.

#[macro_use]
mod macros;

pub mod condition;
pub mod conversion;
pub mod crds;
pub mod destination;
pub mod forklift_controller;
pub mod hook;
pub mod host;
pub mod labels;
pub mod mapping;
pub mod migration;
mod omit;
pub mod phase;
pub mod plan;
pub mod populator;
pub mod provider;
pub mod provider_server;
pub mod reference;
mod schema;
pub mod strconv;
pub mod time;

pub use k8s_openapi;
pub use k8s_openapi::api::core::v1::ObjectReference;
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

pub use conversion::Conversion;
pub use forklift_controller::ForkliftController;
pub use hook::Hook;
pub use host::Host;
pub use mapping::{NetworkMap, StorageMap};
pub use migration::Migration;
pub use plan::Plan;
pub use populator::{OpenstackVolumePopulator, OvirtVolumePopulator, VSphereXcopyVolumePopulator};
pub use provider::Provider;
pub use provider_server::{HyperVProviderServer, OVAProviderServer};
pub use reference::{Ref, Refs};
pub use schema::SchemaError;

/// The API group of every Forklift kind.
pub const GROUP: &str = "forklift.konveyor.io";
/// The only version of the group: served and stored, no conversion.
pub const VERSION: &str = "v1beta1";
/// `apiVersion` of every Forklift object.
pub const API_VERSION: &str = "forklift.konveyor.io/v1beta1";
