//! `Observed`: one snapshot of everything a plan's reconcile reads, loaded up front so
//! validation and execution are pure functions of it.
//!
//! [`Observed`] is plain data; tests build it by hand, and [`load`] reads it from the
//! API server.

pub mod load;

pub use load::{Inventories, LoadError, Reader, load, read_plan};

use crate::mac::DestinationVm;
use ferry_api::destination::{DataVolume, NetworkAttachmentDefinition, VirtualMachine};
use ferry_api::k8s_openapi::api::batch::v1::Job;
use ferry_api::k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
};
use ferry_api::k8s_openapi::api::storage::v1::{CSIStorageCapacity, StorageClass};
use ferry_api::{Conversion, Hook, Migration, NetworkMap, Plan, Provider, StorageMap};
use ferry_inventory::Inventory;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The outcome of resolving an `ObjectReference` (`namespace` + `name`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Lookup<T> {
    /// The reference lacks a namespace or a name (upstream `RefSet` is false).
    #[default]
    NotSet,
    /// No such object.
    NotFound,
    /// The object.
    Found(T),
}

impl<T> Lookup<T> {
    /// The object, if found.
    pub fn found(&self) -> Option<&T> {
        match self {
            Self::Found(value) => Some(value),
            _ => None,
        }
    }

    /// Maps the found object.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Lookup<U> {
        match self {
            Self::NotSet => Lookup::NotSet,
            Self::NotFound => Lookup::NotFound,
            Self::Found(value) => Lookup::Found(f(value)),
        }
    }
}

/// A `namespace/name` key.
pub type Key = (String, String);

/// The destination objects of a plan, found by its labels (`plan=<uid>`), plus the
/// provider storage PVs (cluster-scoped).
#[derive(Clone, Debug, Default)]
pub struct Destination {
    /// DataVolumes in the target namespace.
    pub data_volumes: Vec<DataVolume>,
    /// PVCs in the target namespace.
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// PVs (cluster-scoped).
    pub pvs: Vec<PersistentVolume>,
    /// Pods in the target namespace.
    pub pods: Vec<Pod>,
    /// Jobs in the target namespace and, for hooks, in the plan namespace.
    pub jobs: Vec<Job>,
    /// VirtualMachines in the target namespace.
    pub vms: Vec<VirtualMachine>,
    /// Secrets in the target namespace.
    pub secrets: Vec<Secret>,
    /// ConfigMaps in the target and plan namespaces.
    pub config_maps: Vec<ConfigMap>,
    /// Conversions in the plan namespace.
    pub conversions: Vec<Conversion>,
}

/// Everything one reconcile of a plan reads.
#[derive(Clone, Default)]
pub struct Observed {
    /// The plan, as read.
    pub plan: Plan,
    /// `spec.provider.source`.
    pub source: Lookup<Provider>,
    /// `spec.provider.destination`.
    pub destination: Lookup<Provider>,
    /// The source provider's Secret (not read for the host provider).
    pub source_secret: Option<Secret>,
    /// `spec.map.network`.
    pub network_map: Lookup<NetworkMap>,
    /// `spec.map.storage`.
    pub storage_map: Lookup<StorageMap>,
    /// The hooks the VMs name, by `namespace/name`; `None` when not found.
    pub hooks: BTreeMap<Key, Option<Hook>>,
    /// The Migrations whose `spec.plan` names this plan.
    pub migrations: Vec<Migration>,
    /// The source provider's inventory, when registered.
    pub inventory: Option<Arc<dyn Inventory>>,
    /// The target namespace, when it exists.
    pub target_namespace: Option<Namespace>,
    /// The controller's namespace (`POD_NAMESPACE`), when it exists.
    pub controller_namespace: Option<Namespace>,
    /// NetworkAttachmentDefinitions read by `namespace/name` (the transfer network);
    /// `None` when not found.
    pub nads: BTreeMap<Key, Option<NetworkAttachmentDefinition>>,
    /// NADs in the target namespace labelled as user-defined networks.
    pub udn_nads: Vec<NetworkAttachmentDefinition>,
    /// ServiceAccounts known to exist, by `namespace/name` (only those looked up).
    pub service_accounts: BTreeSet<Key>,
    /// The conversion temp storage class, when the plan names one.
    pub temp_storage_class: Lookup<StorageClass>,
    /// CSIStorageCapacity objects (all namespaces).
    pub storage_capacities: Vec<CSIStorageCapacity>,
    /// Why CSIStorageCapacity objects could not be listed, if they could not.
    pub storage_capacities_error: Option<String>,
    /// Every VirtualMachine on the destination (all namespaces), for MAC conflicts and
    /// existing target names.
    pub destination_vms: Vec<DestinationVmInfo>,
    /// The plan's destination objects.
    pub objects: Destination,
    /// Other plans with the same source provider, for the in-flight limit.
    pub other_plans: Vec<Plan>,
    /// The `VIRT_V2V_EXTRA_CONF_CONFIG_MAP` ConfigMap in the plan namespace, when the
    /// setting names one and it exists.
    pub extra_v2v_conf: Option<ConfigMap>,
    /// `spec.customizationScripts` (its namespace defaults to the plan's).
    pub customization_scripts: Lookup<ConfigMap>,
    /// The LUKS Secrets the VMs name, by `namespace/name`; `None` when not found.
    pub luks_secrets: BTreeMap<Key, Option<Secret>>,
    /// Outcomes of source operations and pod calls made during this reconcile.
    pub results: crate::execute::action::Results,
}

/// A destination VirtualMachine, reduced to what validation needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationVmInfo {
    /// Namespace, name and interface MACs.
    pub vm: DestinationVm,
    /// Its labels (to recognize this plan's own VMs).
    pub labels: BTreeMap<String, String>,
}

impl DestinationVmInfo {
    /// From a VirtualMachine.
    pub fn of(vm: &VirtualMachine) -> Self {
        Self {
            vm: DestinationVm::of(vm),
            labels: vm.metadata.labels.clone().unwrap_or_default(),
        }
    }
}

impl std::fmt::Debug for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("plan", &self.plan.metadata.name)
            .field("source", &self.source.found().map(|p| &p.metadata.name))
            .field("inventory", &self.inventory.is_some())
            .finish_non_exhaustive()
    }
}

/// `namespace/name` of an `ObjectReference`, or `None` when either is empty (upstream
/// `RefSet` is false).
pub fn ref_key(reference: &ferry_api::ObjectReference) -> Option<Key> {
    let namespace = reference.namespace.as_deref().unwrap_or_default();
    let name = reference.name.as_deref().unwrap_or_default();
    (!namespace.is_empty() && !name.is_empty()).then(|| (namespace.to_string(), name.to_string()))
}
