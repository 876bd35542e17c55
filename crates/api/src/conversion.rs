//! `Conversion`: one guest conversion or inspection run by virt-v2v, delegated by the plan
//! controller when `feature_use_conversion_cr` is on (`conversion.go`).

use crate::condition::Conditions;
use crate::reference::Ref;
use crate::{ObjectReference, Time};
use k8s_openapi::api::core::v1::{Affinity, Volume, VolumeMount};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `spec.settings` key holding a pre-existing vSphere snapshot MoRef: the controller then
/// neither creates nor removes the snapshot.
pub const SETTINGS_SNAPSHOT_MOREF: &str = "SNAPSHOT_MOREF";

string_enum! {
    /// What the conversion does.
    pub enum ConversionType {
        /// Deep inspection of the disks (vm-migration-detective).
        DeepInspection = "DeepInspection",
        /// Inspection with virt-v2v-inspector (kept for compatibility).
        Inspection = "Inspection",
        /// Convert disks already on the destination, in place.
        InPlace = "InPlace",
        /// virt-v2v copies from the source and converts.
        Remote = "Remote",
    }
}

string_enum! {
    /// Life cycle phase of a Conversion.
    pub enum ConversionPhase {
        /// Not started.
        Pending = "Pending",
        /// Running.
        Running = "Running",
        /// Succeeded.
        Succeeded = "Succeeded",
        /// Failed.
        Failed = "Failed",
        /// Canceled.
        Canceled = "Canceled",
    }
}

string_enum! {
    /// Stage within a Conversion's phase.
    pub enum ConversionStage {
        /// Creating the pod.
        CreatingPod = "CreatingPod",
        /// The pod runs.
        PodRunning = "PodRunning",
        /// Creating a vSphere snapshot.
        CreatingSnapshot = "CreatingSnapshot",
        /// Waiting for the snapshot.
        WaitingForSnapshot = "WaitingForSnapshot",
        /// Removing the snapshot.
        RemovingSnapshot = "RemovingSnapshot",
        /// Waiting for the snapshot removal.
        WaitingForSnapshotRemoval = "WaitingForSnapshotRemoval",
        /// Fetching inspection results from the pod.
        FetchingResults = "FetchingResults",
        /// Done.
        Finished = "Finished",
    }
}

string_enum! {
    /// How encrypted disks are unlocked.
    pub enum DiskEncryptionType {
        /// A LUKS passphrase from a Secret.
        Luks = "LUKS",
        /// Clevis (tang/TPM2), no passphrase.
        Clevis = "Clevis",
    }
}

/// A disk to convert.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiskRef {
    /// PVC name.
    #[serde(default)]
    pub name: String,
    /// PVC namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Volume mode of the PVC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    /// Where a filesystem PVC is mounted in the pod.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mount_path: String,
    /// Where a block PVC appears in the pod.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device_path: String,
}

fn disk_encryption_type(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    // controller-gen emits both the type-level and the field-level enum marker.
    schemars::json_schema!({
        "type": "string",
        "allOf": [{"enum": ["LUKS", "Clevis"]}, {"enum": ["LUKS", "Clevis"]}],
    })
}

/// Disk decryption.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DiskEncryption {
    /// `LUKS` or `Clevis`.
    #[serde(default, rename = "type")]
    #[schemars(schema_with = "disk_encryption_type")]
    pub r#type: DiskEncryptionType,
    /// The LUKS passphrase Secret. Always serialized, as upstream does.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub secret: ObjectReference,
}

/// How to reach the source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Connection {
    /// Secret with the connection details (injected as `V2V_*` variables).
    #[serde(default)]
    pub secret: ObjectReference,
}

/// Settings of the conversion pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSettings {
    /// Annotations selecting the transfer network.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transfer_network_annotations: BTreeMap<String, String>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// ServiceAccount.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account: String,
    /// Affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// generateName of the pod.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    /// Request `/dev/kvm` (CRD default `true`; see [`Self::request_kvm`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "requestKVM"
    )]
    #[schemars(extend("x-ferry-default" = true))]
    pub request_kvm: Option<bool>,
}

impl PodSettings {
    /// Effective `requestKVM` (absent: `true`).
    pub fn request_kvm(&self) -> bool {
        self.request_kvm.unwrap_or(true)
    }
}

/// Desired state of a Conversion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversionSpec {
    /// What to do.
    #[serde(default, rename = "type")]
    pub r#type: ConversionType,
    /// The destination Provider; empty or the host means the local cluster. Always
    /// serialized, as upstream does.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub destination: ObjectReference,
    /// The source VM.
    #[serde(default)]
    pub vm: Ref,
    /// Disks to convert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<DiskRef>,
    /// How to reach the source.
    #[serde(default)]
    pub connection: Connection,
    /// Disk decryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_encryption: Option<DiskEncryption>,
    /// virt-v2v image; empty means the global default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// Target namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_namespace: String,
    /// Use the XFSv4-compatible image.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    #[schemars(extend("x-ferry-default" = false))]
    pub xfs_compatibility: bool,
    /// Provider-specific settings ([`SETTINGS_SNAPSHOT_MOREF`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
    /// VDDK init image (required for DeepInspection).
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        rename = "vddkImage"
    )]
    pub vddk_image: String,
    /// The destination is the local cluster.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub local_migration: bool,
    /// Pod settings. Always serialized, as upstream does.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub pod_settings: PodSettings,
    /// Extra volumes for the pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_volumes: Vec<Volume>,
    /// Extra mounts for the pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_mounts: Vec<VolumeMount>,
}

/// One finding of a deep inspection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InspectionConcern {
    /// Concern ID.
    #[serde(default)]
    pub id: String,
    /// Category (e.g. `Critical`).
    #[serde(default)]
    pub category: String,
    /// Short label.
    #[serde(default)]
    pub label: String,
    /// Message.
    #[serde(default)]
    pub message: String,
}

/// Guest operating system found by inspection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OsInfo {
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Distribution.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub distro: String,
    /// Version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Architecture.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arch: String,
}

/// A filesystem found by inspection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InspectionFilesystem {
    /// Device.
    #[serde(default)]
    pub device: String,
    /// Filesystem type.
    #[serde(default, rename = "type")]
    pub r#type: String,
    /// Filesystem UUID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uuid: String,
}

/// A mount point found by inspection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InspectionMountpoint {
    /// Device.
    #[serde(default)]
    pub device: String,
    /// Mount point.
    #[serde(default)]
    pub mount_point: String,
}

/// Summary of a deep inspection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InspectionResult {
    /// Every check passed.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub all_checks_passed: bool,
    /// Operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_info: Option<OsInfo>,
    /// Concerns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concerns: Vec<InspectionConcern>,
    /// Filesystems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filesystems: Vec<InspectionFilesystem>,
    /// Mount points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mountpoints: Vec<InspectionMountpoint>,
}

/// vSphere snapshot bookkeeping of a Conversion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotStatus {
    /// The snapshot's managed object reference.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub moref: String,
    /// The controller created the snapshot and removes it.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub owned: bool,
    /// Create task.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub create_task_id: String,
    /// Remove task.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remove_task_id: String,
}

/// Observed state of a Conversion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversionStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub observed_generation: i64,
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ConversionPhase>,
    /// Stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<ConversionStage>,
    /// Explanation of the current phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The conversion pod. Always serialized, as upstream does.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub pod: ObjectReference,
    /// Start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Snapshot bookkeeping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotStatus>,
    /// Inspection result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection_result: Option<InspectionResult>,
}

forklift_kind! {
    /// A guest conversion or inspection.
    pub struct Conversion {
        kind: "Conversion",
        plural: "conversions",
        spec: ConversionSpec,
        status: ConversionStatus
    }
}
