//! The provider seam: what the plan controller needs from one source provider type
//! (upstream `adapter/base/doc.go`: `Builder`, `Client`, `Validator`, plus the path facts
//! of `plan.go`).
//!
//! An [`Adapter`] bundles, for one provider type:
//!
//! - [`Adapter::facts`]: the provider-neutral facts about a source VM that the engine's own
//!   checks need (name, MACs, NIC networks, concerns, guest OS family);
//! - a [`Validator`]: the per-provider checks of the validator matrix (plan spec §2.8), as
//!   typed [`VmFinding`]s the engine turns into conditions, never bare booleans;
//! - a [`Builder`]: the per-disk tasks, the DataVolumes, the conversion pod's provider
//!   environment and storage, the VirtualMachine's provider part, the disk identity used
//!   to match DataVolumes to tasks; all pure, from the [`PlanView`] and the inventory VM;
//! - a [`SourceClient`]: the source-side actions (power state, power off/on; snapshots
//!   for warm migrations), which are I/O and asynchronous. For OVA they are no-ops;
//! - path facts ([`Adapter::uses_v2v_transfer`]) and scheduling ([`Adapter::schedule`]).
//!
//! Everything but the source client is pure: the engine calls it while deciding, with the
//! inventory snapshot and the observed objects in the view. Adapters are registered by
//! provider type in [`Adapters`], which the manager puts in the reconcile context.

pub mod ova;
pub mod vsphere;

use crate::settings::Settings;
use crate::template::PvcNameData;
use ferry_api::destination::{DataVolume, VirtualMachine};
use ferry_api::k8s_openapi::api::core::v1::{
    EnvVar, PersistentVolume, PersistentVolumeClaim, Secret, Volume, VolumeMount,
};
use ferry_api::mapping::{NetworkMap, StorageMap};
use ferry_api::plan::{Task, VmStatus};
use ferry_api::provider::{Provider, ProviderType};
use ferry_api::{Plan, Ref};
use ferry_inventory::{Inventory, SourceVm};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The plan as an adapter sees it: the plan (spec and status), its resolved providers and
/// maps, the source inventory and the settings. Everything is already loaded.
#[derive(Clone, Copy)]
pub struct PlanView<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The source provider.
    pub source: &'a Provider,
    /// The destination provider.
    pub destination: &'a Provider,
    /// The network map, when it resolved (and is referenced).
    pub network_map: Option<&'a NetworkMap>,
    /// The storage map, when it resolved (never for `type: conversion`).
    pub storage_map: Option<&'a StorageMap>,
    /// The source inventory.
    pub inventory: &'a dyn Inventory,
    /// Global settings.
    pub settings: &'a Settings,
}

impl PlanView<'_> {
    /// Upstream `ShouldUseV2vForTransfer(vm)`, from the plan's own rule.
    pub fn should_use_v2v_for_transfer(&self, vm: &Ref) -> bool {
        self.plan
            .should_use_v2v_for_transfer(vm, self.source, self.destination, self.storage_map)
    }
}

/// A finding the source inventory reports about a VM (upstream `Concern`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concern {
    /// Stable ID, e.g. `ova.source.unsupported`.
    pub id: String,
    /// Category: `Critical`, `Warning`, `Information`.
    pub category: String,
    /// One-line summary (used in `VMCriticalConcerns` items).
    pub label: String,
    /// What it means.
    pub message: String,
}

/// The concern ID the OVA inventory gives appliances from unsupported OVF exporters; the
/// engine turns it into `UnsupportedOVFExportSource`.
pub const CONCERN_UNSUPPORTED_OVF_SOURCE: &str = "ova.source.unsupported";

/// Provider-neutral facts about a source VM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmFacts {
    /// The VM ID.
    pub id: String,
    /// The VM name.
    pub name: String,
    /// Source MACs compared for conflicts (§2.6); empty ones are ignored.
    pub macs: Vec<String>,
    /// The source network of each NIC (upstream `NICNetworkRefs`), for the pod-network
    /// duplicate check.
    pub nic_networks: Vec<Ref>,
    /// Inventory concerns.
    pub concerns: Vec<Concern>,
    /// The guest is Windows (the `WaitForGuestReboots` phase).
    pub windows: bool,
}

/// A per-provider check that failed for one VM (plan spec §2.3, §2.8). The engine turns
/// each into its condition, with the VM's reference string as the item, in upstream's
/// order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmFinding {
    /// `VMNetworksNotMapped`: a VM network is not in the network map's references.
    NetworksNotMapped,
    /// `VMStorageNotMapped`: a disk's storage is not in the storage map's references.
    StorageNotMapped,
    /// `VMStorageNotSupported` (oVirt direct LUNs).
    StorageNotSupported,
    /// `HostNotReady`: the VM's host is in maintenance mode.
    HostInMaintenance,
    /// `VMMissingGuestIPs`: static IPs cannot be preserved.
    MissingGuestIps,
    /// `VMIpNotMatchingUdnSubnet`.
    IpNotMatchingUdnSubnet,
    /// `VMPowerStateUnsupported` (OpenShift live).
    PowerStateUnsupported,
    /// `VMMigrationTypeUnsupported` (OpenShift live).
    MigrationTypeUnsupported,
    /// `GuestToolsIssue` (vSphere).
    GuestToolsIssue,
    /// `InvalidDiskSizes`: disks (named for logs) with a capacity of zero or less.
    InvalidDiskSizes {
        /// The disks concerned.
        disks: Vec<String>,
    },
    /// `SharedDisks-<id>` / `SharedWarnDisks-<id>`.
    SharedDisks {
        /// The category (`Warn` gives the `SharedWarnDisks` type).
        category: String,
        /// The message; empty means upstream's default.
        message: String,
    },
    /// `VMMissingChangedBlockTracking` (warm).
    MissingChangedBlockTracking,
    /// `VMHasSnapshots` (warm); a provider may override the message.
    HasSnapshots {
        /// The message override.
        message: Option<String>,
    },
    /// `VMConsolidationNeeded` (warm).
    ConsolidationNeeded,
    /// `MissingPvcForOnlyConversion`.
    MissingPvcForOnlyConversion,
    /// `VDDKAndOffloadMixedUsage`.
    VddkAndOffloadMixed,
    /// `RDMDiskWarning`.
    RdmDisks,
    /// `IndependentDiskWarning`.
    IndependentDisks,
    /// `VMHasSnapshots` (NetApp Shift variant).
    NetAppShiftSnapshots,
    /// `NetAppShiftDatastoreNASMissing`, naming the datastore.
    NetAppShiftNasMissing {
        /// The datastore name (or ID).
        datastore: String,
    },
}

/// Why an adapter could not answer: an inventory or client failure, never a user error
/// (those are findings). The engine turns it into a reconcile error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// The inventory could not be read.
    #[error("inventory: {0}")]
    Inventory(String),
    /// The VM is not one this adapter handles (a different provider's inventory).
    #[error("VM {0} is not a VM of this provider type")]
    WrongVm(String),
    /// Building an object failed (bad inventory data).
    #[error("{0}")]
    Build(String),
    /// The source did not answer.
    #[error("source: {0}")]
    Source(String),
    /// The operation is not supported by this provider type.
    #[error("{0} is not supported by this provider")]
    Unsupported(&'static str),
}

/// The per-provider checks (upstream `base.Validator`).
pub trait Validator: Send + Sync {
    /// Upstream `WarmMigration()`: warm migrations are possible from this provider.
    fn warm_migration(&self, view: &PlanView<'_>) -> bool;

    /// Upstream `MigrationType()`: the plan's `spec.type` is supported.
    fn migration_type(&self, view: &PlanView<'_>) -> bool;

    /// The per-VM checks of the validator matrix, as findings (empty: all passed). The
    /// network and storage checks run only when the view has the map.
    fn check_vm(&self, view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<VmFinding>, AdapterError>;
}

/// One DataVolume the builder wants for a disk; the engine names it (PVC name template),
/// labels and annotates it (VM labels, CDI annotations) and creates it if no DataVolume
/// with the same identity exists.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskVolume {
    /// The DataVolume: spec, and provider annotations (at least
    /// `forklift.konveyor.io/disk-source`). Name and labels are set by the engine.
    pub data_volume: DataVolume,
    /// The PVC name template data of this disk.
    pub name_data: PvcNameData,
}

/// Storage a provider mounts into the conversion pod (OVA: the NFS share).
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderStorage {
    /// A PersistentVolume to ensure (found again by its labels).
    pub volume: Option<PersistentVolume>,
    /// The claim to ensure (found again by its labels); it must be `Bound` before the
    /// conversion runs.
    pub claim: PersistentVolumeClaim,
    /// The pod volume name (the claim name is filled in by the engine).
    pub volume_name: String,
    /// Where the conversion container mounts it.
    pub mount_path: String,
}

/// The provider part of the target VirtualMachine (upstream `Builder.VirtualMachine`):
/// the engine adds metadata, labels, annotations, run strategy and the plan's template
/// settings.
#[derive(Clone, Debug, PartialEq)]
pub struct VmBuild {
    /// The VirtualMachine spec: domain (disks, firmware, CPU, memory, devices), volumes
    /// and networks.
    pub vm: VirtualMachine,
}

/// The PVCs of a VM as the builder sees them when building the VirtualMachine.
#[derive(Clone, Debug, Default)]
pub struct VmDisks<'a> {
    /// The VM's PVCs (created from its DataVolumes), with their annotations.
    pub pvcs: &'a [PersistentVolumeClaim],
}

/// The provider's builder (upstream `base.Builder`): pure functions from the plan view and
/// the inventory VM.
pub trait Builder: Send + Sync {
    /// Upstream `Tasks`: one task per disk, named by the disk identity, total in MB.
    fn tasks(&self, view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<Task>, AdapterError>;

    /// The PVC name template data for each disk, as used when validating the template
    /// (upstream `PVCNameTemplate` of the validator). `target_vm_name` is the resolved
    /// target name.
    fn pvc_name_data(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<PvcNameData>, AdapterError>;

    /// Upstream `DataVolumes`: the DataVolumes of a VM (blank ones for the virt-v2v
    /// transfer).
    fn data_volumes(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<DiskVolume>, AdapterError>;

    /// Upstream `ResolveDataVolumeIdentifier`: the identity of a DataVolume (or PVC), from
    /// its annotations; it equals the name of the disk's task.
    fn resolve_data_volume_identifier(&self, annotations: &BTreeMap<String, String>) -> String;

    /// The data of the CDI and virt-v2v Secrets, from the provider's Secret (upstream
    /// `Builder.Secret`). Never logged.
    fn secret_data(
        &self,
        view: &PlanView<'_>,
        provider_secret: Option<&Secret>,
    ) -> Result<BTreeMap<String, Vec<u8>>, AdapterError>;

    /// The provider's environment for the virt-v2v container (upstream `PodEnvironment`).
    fn conversion_environment(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
    ) -> Result<Vec<EnvVar>, AdapterError>;

    /// Storage the conversion pod needs from the provider (OVA: the NFS share), if any.
    /// `labels` are the labels the engine puts on it (the engine adds them to the
    /// objects returned, and finds them again by them).
    fn provider_storage(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        labels: &BTreeMap<String, String>,
    ) -> Result<Option<ProviderStorage>, AdapterError>;

    /// Extra volumes and mounts for the conversion pod besides the disks and the provider
    /// storage.
    fn conversion_volumes(&self, _view: &PlanView<'_>) -> (Vec<Volume>, Vec<VolumeMount>) {
        (Vec::new(), Vec::new())
    }

    /// Whether the conversion pod requests `/dev/kvm` (vSphere, OVA, Hyper-V).
    fn request_kvm(&self) -> bool {
        true
    }

    /// Upstream `VirtualMachine`: the provider part of the target VM, using the VM's
    /// status (firmware and boot disk detected by virt-v2v) and PVCs.
    fn virtual_machine(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        status: &VmStatus,
        disks: &VmDisks<'_>,
    ) -> Result<VmBuild, AdapterError>;
}

/// A source VM's power state (`restorePowerState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    /// Powered on.
    On,
    /// Powered off.
    Off,
    /// Unknown.
    Unknown,
    /// The provider has no power state (OVA: `""`).
    None,
}

impl PowerState {
    /// The `restorePowerState` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => ferry_api::plan::power_state::ON,
            Self::Off => ferry_api::plan::power_state::OFF,
            Self::Unknown => ferry_api::plan::power_state::UNKNOWN,
            Self::None => "",
        }
    }
}

/// The source-side client of one plan (upstream `base.Client`). Every call is I/O.
pub trait SourceClient: Send + Sync {
    /// The VM's power state.
    fn power_state<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<PowerState, AdapterError>>;
    /// Powers the VM off (vSphere: a guest shutdown); a no-op when already off.
    fn power_off<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<(), AdapterError>>;
    /// Powers the VM on.
    fn power_on<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<(), AdapterError>>;
    /// Whether the VM is off.
    fn powered_off<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<bool, AdapterError>>;
}

/// A source client for providers without source-side actions (OVA): the power state is
/// `""`, the VM always counts as off, and power changes do nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSourceActions;

impl SourceClient for NoSourceActions {
    fn power_state<'a>(&'a self, _: &'a Ref) -> BoxFuture<'a, Result<PowerState, AdapterError>> {
        Box::pin(async { Ok(PowerState::None) })
    }
    fn power_off<'a>(&'a self, _: &'a Ref) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async { Ok(()) })
    }
    fn power_on<'a>(&'a self, _: &'a Ref) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async { Ok(()) })
    }
    fn powered_off<'a>(&'a self, _: &'a Ref) -> BoxFuture<'a, Result<bool, AdapterError>> {
        Box::pin(async { Ok(true) })
    }
}

/// How a VM counts against the in-flight limit (plan spec §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The unit the limit applies to: `""` for the whole source provider (every provider
    /// but vSphere and Hyper-V), the ESXi host or owner node otherwise.
    pub key: String,
    /// The VM's cost in its current phase (1 for every provider but vSphere on the CDI
    /// path).
    pub cost: usize,
}

/// One provider type's part of the plan controller. See the module documentation.
pub trait Adapter: Send + Sync {
    /// The provider type served.
    fn provider_type(&self) -> ProviderType;

    /// Provider-neutral facts about a VM of this provider's inventory.
    fn facts(&self, vm: &SourceVm) -> Result<VmFacts, AdapterError>;

    /// The validator.
    fn validator(&self) -> &dyn Validator;

    /// The builder.
    fn builder(&self) -> &dyn Builder;

    /// A source client for this plan's source provider (with its Secret, when it has one).
    fn source_client(
        &self,
        source: &Provider,
        secret: Option<&Secret>,
    ) -> Result<Arc<dyn SourceClient>, AdapterError>;

    /// Upstream `ShouldUseV2vForTransfer(vm)`: virt-v2v copies the disks (no CDI copy).
    fn uses_v2v_transfer(&self, view: &PlanView<'_>, vm: &Ref) -> bool {
        view.should_use_v2v_for_transfer(vm)
    }

    /// How the VM counts against the in-flight limit in `status`'s phase.
    fn schedule(&self, _view: &PlanView<'_>, _vm: &SourceVm, _status: &VmStatus) -> Schedule {
        Schedule {
            key: String::new(),
            cost: 1,
        }
    }
}

/// The adapters the controller knows, by provider type.
#[derive(Clone, Default)]
pub struct Adapters {
    by_type: BTreeMap<String, Arc<dyn Adapter>>,
}

impl Adapters {
    /// No adapters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the adapter of its provider type.
    pub fn insert(&mut self, adapter: Arc<dyn Adapter>) {
        self.by_type
            .insert(adapter.provider_type().as_str().to_string(), adapter);
    }

    /// Registers an adapter, builder style.
    #[must_use]
    pub fn with(mut self, adapter: Arc<dyn Adapter>) -> Self {
        self.insert(adapter);
        self
    }

    /// The adapter of a provider's type.
    pub fn get(&self, provider: &Provider) -> Option<&Arc<dyn Adapter>> {
        self.by_type.get(provider.type_name())
    }
}

impl std::fmt::Debug for Adapters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_type.keys()).finish()
    }
}

/// Converts an API reference to the inventory's (the inventory crate mirrors it).
pub fn inventory_ref(reference: &Ref) -> ferry_inventory::Ref {
    ferry_inventory::Ref {
        id: reference.id.clone(),
        name: reference.name.clone(),
        namespace: reference.namespace.clone(),
        r#type: reference.r#type.clone(),
    }
}
