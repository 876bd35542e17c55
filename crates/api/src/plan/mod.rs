//! `Plan`: which VMs to migrate, from where to where, and how (`plan.go`, `plan/*.go`).

mod status;
mod vm;

pub use status::{
    DiskDelta, Error, MigrationStatus, Precopy, Progress, Snapshot, SnapshotMap, SnapshotRef,
    SnapshotRefPair, Step, Task, Timed, VmStatus, Warm, Warning, power_state, step_phase,
};
pub use vm::{HookRef, TargetPowerState, Vm, hook_step};

use crate::ObjectReference;
use crate::condition::Conditions;
use crate::mapping::StorageMap;
use crate::provider::{Provider, ProviderType};
use crate::reference::Ref;
use k8s_openapi::api::core::v1::Affinity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

string_enum! {
    /// `spec.type`: the kind of migration. Supersedes the deprecated `spec.warm`.
    pub enum MigrationType {
        /// Cold: the source VM is powered off, then copied.
        Cold = "cold",
        /// Warm: disks are pre-copied while the VM runs, then cut over.
        Warm = "warm",
        /// Live (OpenShift to OpenShift).
        Live = "live",
        /// Conversion only: the disks are already on the destination.
        Conversion = "conversion",
    }
}

/// A source/destination provider pair (`provider.Pair`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderPair {
    /// Source provider.
    #[serde(default)]
    pub source: ObjectReference,
    /// Destination provider.
    #[serde(default)]
    pub destination: ObjectReference,
}

/// The maps a plan uses (`plan.Map`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanMap {
    /// The NetworkMap.
    #[serde(default)]
    pub network: ObjectReference,
    /// The StorageMap (unused for `type: conversion`).
    #[serde(default)]
    pub storage: ObjectReference,
}

/// How vSphere tags become labels on the target VM.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagMapping {
    /// No tag becomes a label.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub disabled: bool,
    /// Only these tags become labels (case-insensitive); empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_tags: Vec<String>,
}

/// Desired state of a Plan.
///
/// Booleans whose CRD default is `true` are `Option<bool>`: absent means the default (the
/// API server fills it in on write), and Ferry never writes `false` unless it was set. Read
/// them through the methods of the same name, which return the effective value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanSpec {
    /// Description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Target namespace.
    #[serde(default)]
    pub target_namespace: String,
    /// ServiceAccount for migration pods in the target namespace; overrides the global
    /// `controller_migration_service_account`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub service_account: String,
    /// Labels for the target VMs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_labels: BTreeMap<String, String>,
    /// Node selector for the target VMs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_node_selector: BTreeMap<String, String>,
    /// Affinity for the target VMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "atomic"))]
    pub target_affinity: Option<Affinity>,
    /// Labels for the virt-v2v convertor pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convertor_labels: BTreeMap<String, String>,
    /// Node selector for the virt-v2v convertor pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convertor_node_selector: BTreeMap<String, String>,
    /// Affinity for the virt-v2v convertor pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "atomic"))]
    pub convertor_affinity: Option<Affinity>,
    /// Storage class of a temporary PVC for conversion scratch space.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub conversion_temp_storage_class: String,
    /// Size (a quantity) of the temporary conversion PVC; set together with the class.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub conversion_temp_storage_size: String,
    /// Source and destination providers.
    #[serde(default)]
    pub provider: ProviderPair,
    /// Network and storage maps.
    #[serde(default)]
    pub map: PlanMap,
    /// The VMs to migrate.
    #[serde(default)]
    pub vms: Vec<Vm>,
    /// Deprecated: a warm migration. Use `type: warm`.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub warm: bool,
    /// The NetworkAttachmentDefinition used for disk transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_network: Option<ObjectReference>,
    /// Archive the plan.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub archived: bool,
    /// Preserve the oVirt cluster CPU model and flags.
    #[serde(
        default,
        skip_serializing_if = "crate::omit::is_false",
        rename = "preserveClusterCpuModel"
    )]
    pub preserve_cluster_cpu_model: bool,
    /// Preserve static IPs (CRD default `true`; see [`Self::preserve_static_ips`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "preserveStaticIPs"
    )]
    #[schemars(extend("x-ferry-default" = true))]
    pub preserve_static_ips: Option<bool>,
    /// Skip the zone node selector (EC2).
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub skip_zone_node_selector: bool,
    /// Deprecated: the KubeVirt disk bus.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub disk_bus: String,
    /// Go template for PVC names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pvc_name_template: String,
    /// Use the PVC name template output as `generateName`; see
    /// [`Self::pvc_name_template_use_generate_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_name_template_use_generate_name: Option<bool>,
    /// Go template for volume names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_name_template: String,
    /// Go template for network interface names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_name_template: String,
    /// Migrate shared disks (CRD default `true`; see [`Self::migrate_shared_disks`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-ferry-default" = true))]
    pub migrate_shared_disks: Option<bool>,
    /// Map RDM disks as LUNs.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub rdm_as_lun: bool,
    /// SCSI reservation for LUNs.
    #[serde(
        default,
        skip_serializing_if = "crate::omit::is_false",
        rename = "scsiReservation"
    )]
    pub scsi_reservation: bool,
    /// Delete the guest conversion pod after a successful migration.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub delete_guest_conversion_pod: bool,
    /// Delete the target VM when a VM migration fails (CRD default `true`; see
    /// [`Self::delete_vm_on_fail_migration`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-ferry-default" = true))]
    pub delete_vm_on_fail_migration: Option<bool>,
    /// Install legacy (SHA-1 signed) Windows drivers; `None` auto-detects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_legacy_drivers: Option<bool>,
    /// Nested virtualization on the target VMs; `None` follows the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_nested_virtualization: Option<bool>,
    /// Skip guest conversion (raw copy).
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    #[schemars(extend("x-ferry-default" = false))]
    pub skip_guest_conversion: bool,
    /// With `skipGuestConversion`, use compatibility devices (CRD default `true`; see
    /// [`Self::use_compatibility_mode`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-ferry-default" = true))]
    pub use_compatibility_mode: Option<bool>,
    /// Migration type; see [`Plan::migration_type`].
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub r#type: Option<MigrationType>,
    /// Power state of the target VMs after migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_power_state: Option<TargetPowerState>,
    /// Inspect VM disks before the first transfer (warm vSphere; CRD default `true`; see
    /// [`Self::run_preflight_inspection`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-ferry-default" = true))]
    pub run_preflight_inspection: Option<bool>,
    /// ConfigMap of customization scripts for virt-customize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customization_scripts: Option<ObjectReference>,
    /// virt-v2v image override for this plan.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub virt_v2v_image: String,
    /// Use the XFSv4-compatible virt-v2v image.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    #[schemars(extend("x-ferry-default" = false))]
    pub xfs_compatibility: bool,
    /// How vSphere tags become labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_mapping: Option<TagMapping>,
}

impl PlanSpec {
    /// Effective `preserveStaticIPs` (absent: `true`).
    pub fn preserve_static_ips(&self) -> bool {
        self.preserve_static_ips.unwrap_or(true)
    }

    /// Effective `migrateSharedDisks` (absent: `true`).
    pub fn migrate_shared_disks(&self) -> bool {
        self.migrate_shared_disks.unwrap_or(true)
    }

    /// Effective `deleteVmOnFailMigration` (absent: `true`, the CRD default; upstream's Go
    /// comment says false, but the API server applies the CRD's).
    pub fn delete_vm_on_fail_migration(&self) -> bool {
        self.delete_vm_on_fail_migration.unwrap_or(true)
    }

    /// Effective `useCompatibilityMode` (absent: `true`).
    pub fn use_compatibility_mode(&self) -> bool {
        self.use_compatibility_mode.unwrap_or(true)
    }

    /// Effective `runPreflightInspection` (absent: `true`).
    pub fn run_preflight_inspection(&self) -> bool {
        self.run_preflight_inspection.unwrap_or(true)
    }

    /// Effective `pvcNameTemplateUseGenerateName`: absent means `true`, except `false`
    /// for an OpenShift source.
    pub fn pvc_name_template_use_generate_name(&self, source_is_openshift: bool) -> bool {
        self.pvc_name_template_use_generate_name
            .unwrap_or(!source_is_openshift)
    }

    /// Effective `migrateSharedDisks` of a VM: the VM's value, else the plan's.
    pub fn vm_migrate_shared_disks(&self, vm: &Vm) -> bool {
        vm.migrate_shared_disks
            .unwrap_or_else(|| self.migrate_shared_disks())
    }

    /// Effective target power state of a VM: the VM's, else the plan's (`None` = auto).
    pub fn vm_target_power_state<'a>(&'a self, vm: &'a Vm) -> Option<&'a TargetPowerState> {
        vm.target_power_state
            .as_ref()
            .or(self.target_power_state.as_ref())
    }

    /// Upstream `FindVM`: the planned VM with the reference's `id`; a planned VM without
    /// an ID matches by (non-empty) name instead.
    pub fn find_vm(&self, reference: &Ref) -> Option<&Vm> {
        status::find_vm_index(self.vms.iter(), reference).and_then(|i| self.vms.get(i))
    }

    /// [`Self::find_vm`], mutably.
    pub fn find_vm_mut(&mut self, reference: &Ref) -> Option<&mut Vm> {
        status::find_vm_index(self.vms.iter(), reference).and_then(|i| self.vms.get_mut(i))
    }
}

/// Observed state of a Plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub observed_generation: i64,
    /// The storage map resolves to a NetApp Shift destination.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub net_app_shift_destination: bool,
    /// Execution status. Always serialized (`migration: {}` when empty), as upstream does.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub migration: MigrationStatus,
}

forklift_kind! {
    /// A migration plan.
    pub struct Plan {
        kind: "Plan",
        plural: "plans",
        spec: PlanSpec,
        status: PlanStatus
    }
}

/// Annotation the webhook adds to new plans (and the controller to legacy ones) once the
/// volume populators are labelled.
pub const ANNOTATION_POPULATOR_LABELS: &str = "populatorLabels";

impl Plan {
    /// Upstream `IsWarm()`: `spec.warm` or `type: warm`.
    pub fn is_warm(&self) -> bool {
        self.spec.warm || self.spec.r#type == Some(MigrationType::Warm)
    }

    /// The effective migration type, in upstream's itinerary order: `conversion` and
    /// `live` as written, then warm ([`Self::is_warm`]), then any other written value, else
    /// cold.
    pub fn migration_type(&self) -> MigrationType {
        match &self.spec.r#type {
            Some(t @ (MigrationType::Conversion | MigrationType::Live)) => t.clone(),
            _ if self.is_warm() => MigrationType::Warm,
            Some(other) => other.clone(),
            None => MigrationType::Cold,
        }
    }

    /// Upstream `ShouldRunPreflightInspection()`: vSphere source, warm, guest conversion
    /// not skipped, and `runPreflightInspection` (default true).
    pub fn should_run_preflight_inspection(&self, source: &Provider) -> bool {
        source.is(ProviderType::VSphere)
            && self.is_warm()
            && !self.spec.skip_guest_conversion
            && self.spec.run_preflight_inspection()
    }

    /// Upstream `ShouldUseV2vForTransfer(vm)`: whether virt-v2v copies the disks (instead
    /// of CDI). vSphere: only cold, to the host, with shared disks migrated, conversion not
    /// skipped, not conversion-only, not NetApp Shift and without copy offload; OVA and
    /// Hyper-V: always; others: never.
    pub fn should_use_v2v_for_transfer(
        &self,
        vm: &Ref,
        source: &Provider,
        destination: &Provider,
        storage_map: Option<&StorageMap>,
    ) -> bool {
        match source.provider_type() {
            Some(ProviderType::VSphere) => {
                let migrate_shared_disks = match self.spec.find_vm(vm) {
                    Some(planned) => self.spec.vm_migrate_shared_disks(planned),
                    None => self.spec.migrate_shared_disks(),
                };
                !(self.is_warm()
                    || !destination.is_host()
                    || !migrate_shared_disks
                    || self.spec.skip_guest_conversion
                    || self.spec.r#type == Some(MigrationType::Conversion)
                    || self.status.net_app_shift_destination
                    || storage_map.is_some_and(StorageMap::uses_offload_plugin))
            }
            Some(ProviderType::Ova | ProviderType::HyperV) => true,
            _ => false,
        }
    }

    /// Whether the plan has Ready (visible, True).
    pub fn is_ready(&self) -> bool {
        self.status.conditions.is_ready()
    }
}

#[cfg(test)]
mod tests;
