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

/// Objects of one kind, with an index by their `vmID` label built on first use (a
/// plan of a thousand VMs looks up each VM's objects among thousands). Reads go through
/// `Deref` to the `Vec`; any mutable access drops the index.
#[derive(Default)]
pub struct Objects<T> {
    items: Vec<T>,
    by_vm: std::sync::OnceLock<std::collections::HashMap<String, Vec<usize>>>,
}

impl<T> Objects<T> {
    /// The objects.
    pub fn new(items: Vec<T>) -> Self {
        Self {
            items,
            by_vm: std::sync::OnceLock::new(),
        }
    }

    /// The objects, by value.
    pub fn into_inner(self) -> Vec<T> {
        self.items
    }
}

impl<T: ferry_api::k8s_openapi::Metadata<Ty = ferry_api::ObjectMeta>> Objects<T> {
    /// The positions of the objects labelled `vmID=<vm_id>`.
    pub fn positions_of_vm(&self, vm_id: &str) -> &[usize] {
        self.by_vm
            .get_or_init(|| {
                let mut index: std::collections::HashMap<String, Vec<usize>> =
                    std::collections::HashMap::new();
                for (position, item) in self.items.iter().enumerate() {
                    if let Some(vm) = item
                        .metadata()
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(ferry_api::labels::VM_ID))
                    {
                        index.entry(vm.clone()).or_default().push(position);
                    }
                }
                index
            })
            .get(vm_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

impl<T> std::ops::Deref for Objects<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.items
    }
}

impl<T> std::ops::DerefMut for Objects<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        self.by_vm.take();
        &mut self.items
    }
}

impl<T: Clone> Clone for Objects<T> {
    fn clone(&self) -> Self {
        Self::new(self.items.clone())
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Objects<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.items.fmt(f)
    }
}

impl<T> From<Vec<T>> for Objects<T> {
    fn from(items: Vec<T>) -> Self {
        Self::new(items)
    }
}

impl<T> IntoIterator for Objects<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Objects<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Objects<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.by_vm.take();
        self.items.iter_mut()
    }
}

impl<T> FromIterator<T> for Objects<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

/// The destination objects of a plan, found by its labels (`plan=<uid>`), plus the
/// provider storage PVs (cluster-scoped).
#[derive(Clone, Debug, Default)]
pub struct Destination {
    /// DataVolumes in the target namespace.
    pub data_volumes: Objects<DataVolume>,
    /// PVCs in the target namespace.
    pub pvcs: Objects<PersistentVolumeClaim>,
    /// PVs (cluster-scoped).
    pub pvs: Objects<PersistentVolume>,
    /// Pods in the target namespace.
    pub pods: Objects<Pod>,
    /// Jobs in the target namespace and, for hooks, in the plan namespace.
    pub jobs: Objects<Job>,
    /// VirtualMachines in the target namespace.
    pub vms: Objects<VirtualMachine>,
    /// Secrets in the target namespace.
    pub secrets: Objects<Secret>,
    /// ConfigMaps in the target and plan namespaces.
    pub config_maps: Objects<ConfigMap>,
    /// Conversions in the plan namespace.
    pub conversions: Objects<Conversion>,
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
