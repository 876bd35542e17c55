//! The volume populators: custom resources a PVC's `dataSourceRef` points at, which a
//! populator pod fills from the source (`*populator.go`). They have no status subresource;
//! Go always serializes their `status` and its `progress`.

use crate::ObjectReference;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Status of the OpenStack and oVirt populators.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PopulatorStatus {
    /// Progress as a percentage string.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub progress: String,
}

/// Desired state of an OpenstackVolumePopulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenstackVolumePopulatorSpec {
    /// Keystone URL.
    #[serde(default, rename = "identityUrl")]
    pub identity_url: String,
    /// Secret with the OpenStack credentials.
    #[serde(default)]
    pub secret_name: String,
    /// The Glance image to populate from.
    #[serde(default, rename = "imageId")]
    pub image_id: String,
    /// NetworkAttachmentDefinition for the populator pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_network: Option<ObjectReference>,
}

/// Desired state of an OvirtVolumePopulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OvirtVolumePopulatorSpec {
    /// oVirt engine URL.
    #[serde(default, rename = "engineUrl")]
    pub engine_url: String,
    /// Secret with the engine credentials.
    #[serde(default)]
    pub engine_secret_name: String,
    /// The disk to populate from.
    #[serde(default, rename = "diskId")]
    pub disk_id: String,
    /// NetworkAttachmentDefinition for the populator pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_network: Option<ObjectReference>,
}

/// Desired state of a VSphereXcopyVolumePopulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VSphereXcopyVolumePopulatorSpec {
    /// The source VM ID.
    #[serde(default, rename = "vmId")]
    pub vm_id: String,
    /// The source disk, `[datastore] vm/disk.vmdk`.
    #[serde(default)]
    pub vmdk_path: String,
    /// Secret with the storage and vSphere credentials.
    #[serde(default)]
    pub secret_name: String,
    /// The storage array product.
    #[serde(default)]
    pub storage_vendor_product: String,
    /// ESXi host to run the copy on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub migration_host: String,
}

/// Status of a VSphereXcopyVolumePopulator; every field is a string.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VSphereXcopyVolumePopulatorStatus {
    /// Progress as a percentage string.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub progress: String,
    /// Whether XCOPY was used.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub xcopy_used: String,
    /// VIB version on the ESXi host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vib_version: String,
    /// Copy duration in seconds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub copy_duration_seconds: String,
    /// Result.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub result: String,
    /// Storage vendor.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_vendor: String,
    /// Clone method.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clone_method: String,
    /// Storage protocol.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_protocol: String,
    /// Provisioned bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provisioned_bytes: String,
    /// Allocated bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub allocated_bytes: String,
}

forklift_kind! {
    /// Populates a PVC from an OpenStack image.
    pub struct OpenstackVolumePopulator {
        kind: "OpenstackVolumePopulator",
        plural: "openstackvolumepopulators",
        spec: OpenstackVolumePopulatorSpec,
        status: PopulatorStatus, always
    }
}

forklift_kind! {
    /// Populates a PVC from an oVirt disk.
    pub struct OvirtVolumePopulator {
        kind: "OvirtVolumePopulator",
        plural: "ovirtvolumepopulators",
        spec: OvirtVolumePopulatorSpec,
        status: PopulatorStatus, always
    }
}

forklift_kind! {
    /// Populates a PVC by XCOPY from a vSphere disk on the same array.
    pub struct VSphereXcopyVolumePopulator {
        kind: "VSphereXcopyVolumePopulator",
        plural: "vspherexcopyvolumepopulators",
        spec: VSphereXcopyVolumePopulatorSpec,
        status: VSphereXcopyVolumePopulatorStatus, always
    }
}
