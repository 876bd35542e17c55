//! KubeVirt `VirtualMachine` and `VirtualMachineInstance` (`kubevirt.io/v1`).

use super::Object;
use crate::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// KubeVirt's API group.
pub const GROUP: &str = "kubevirt.io";
/// KubeVirt's API version.
pub const VERSION: &str = "v1";

/// `spec.runStrategy` values.
pub mod run_strategy {
    /// Always running.
    pub const ALWAYS: &str = "Always";
    /// Stopped.
    pub const HALTED: &str = "Halted";
    /// Started by the user.
    pub const MANUAL: &str = "Manual";
    /// Restarted on failure.
    pub const RERUN_ON_FAILURE: &str = "RerunOnFailure";
    /// Run once.
    pub const ONCE: &str = "Once";
    /// Waits as a live-migration receiver.
    pub const WAIT_AS_RECEIVER: &str = "WaitAsReceiver";
}

/// Desired state of a VirtualMachine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineSpec {
    /// Run strategy ([`run_strategy`]); the successor of `running`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_strategy: Option<String>,
    /// Deprecated: whether the VM runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<bool>,
    /// The VMI template.
    #[serde(default)]
    pub template: VirtualMachineInstanceTemplateSpec,
    /// Everything else (`dataVolumeTemplates`, `instancetype`, `preference`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// The VMI template of a VirtualMachine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualMachineInstanceTemplateSpec {
    /// Template metadata (labels and annotations of the VMI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    /// The VMI spec.
    #[serde(default)]
    pub spec: VirtualMachineInstanceSpec,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// The spec of a VirtualMachineInstance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineInstanceSpec {
    /// The virtual hardware.
    #[serde(default)]
    pub domain: DomainSpec,
    /// Networks the interfaces connect to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<Network>,
    /// Volumes the disks use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Everything else (`affinity`, `evictionStrategy`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// The virtual hardware.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainSpec {
    /// CPU topology and features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// Memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Firmware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<Firmware>,
    /// Hypervisor features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    /// Devices.
    #[serde(default)]
    pub devices: Devices,
    /// Everything else (`resources`, `machine`, `clock`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// CPU topology.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// Cores per socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// Sockets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<u32>,
    /// Threads per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// CPU model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// CPU features (e.g. `vmx`/`svm` with policy `optional`/`disable`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<CpuFeature>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// A CPU feature and its policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuFeature {
    /// Feature name.
    #[serde(default)]
    pub name: String,
    /// Policy (`force`, `require`, `optional`, `disable`, `forbid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// Memory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Memory visible to the guest (a quantity, e.g. `4Gi` or bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<String>,
    /// Everything else (`hugepages`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// Firmware.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Firmware {
    /// Boot loader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootloader: Option<Bootloader>,
    /// SMBIOS serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Everything else (`uuid`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// Boot loader: BIOS or EFI.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bootloader {
    /// BIOS (`bios: {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bios: Option<Object>,
    /// EFI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efi: Option<Efi>,
}

/// EFI boot loader.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Efi {
    /// Secure boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_boot: Option<bool>,
    /// Everything else (`persistent`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// Hypervisor features.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// System management mode (required for EFI secure boot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smm: Option<FeatureState>,
    /// Everything else (`acpi`, `apic`, `hyperv`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// An on/off feature.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureState {
    /// Enabled (KubeVirt's default when the feature is present: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Devices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Devices {
    /// Disks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<Disk>,
    /// Network interfaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<Interface>,
    /// Everything else (`inputs`, `tpm`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// A disk device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// Name; matches a volume.
    #[serde(default)]
    pub name: String,
    /// A disk target (bus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskTarget>,
    /// A LUN target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lun: Option<Object>,
    /// A CD-ROM target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdrom: Option<Object>,
    /// Boot order (1 first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<u32>,
    /// Disk serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// A disk target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskTarget {
    /// Bus: `virtio`, `sata`, `scsi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// A network interface.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// Name; matches a network.
    #[serde(default)]
    pub name: String,
    /// NIC model (`virtio`, `e1000e`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Masquerade binding (`masquerade: {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masquerade: Option<Object>,
    /// Bridge binding (`bridge: {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Object>,
    /// Plugin binding (e.g. `{name: l2bridge}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<Object>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// A network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Name; matches an interface.
    #[serde(default)]
    pub name: String,
    /// The pod network (`pod: {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Object>,
    /// A Multus network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multus: Option<MultusNetwork>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// A Multus network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultusNetwork {
    /// The NAD, `<namespace>/<name>`.
    #[serde(default)]
    pub network_name: String,
    /// Use as the default network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

/// A volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Name; matches a disk.
    #[serde(default)]
    pub name: String,
    /// A PVC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    /// A DataVolume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_volume: Option<DataVolumeVolumeSource>,
    /// Everything else (`cloudInitNoCloud`, `containerDisk`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// A PVC volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaimVolumeSource {
    /// The PVC name.
    #[serde(default)]
    pub claim_name: String,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Everything else (`hotpluggable`, …).
    #[serde(flatten)]
    pub extra: Object,
}

/// A DataVolume volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataVolumeVolumeSource {
    /// The DataVolume name.
    #[serde(default)]
    pub name: String,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

/// Observed state of a VirtualMachine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineStatus {
    /// Human-readable status (`Stopped`, `Running`, `Provisioning`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printable_status: Option<String>,
    /// The VMI is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// The VMI exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<bool>,
    /// Everything else (`conditions`, `volumeSnapshotStatuses`, …).
    #[serde(flatten)]
    pub extra: Object,
}

kind! {
    /// A KubeVirt virtual machine.
    pub struct VirtualMachine {
        group: GROUP,
        version: VERSION,
        api_version: "kubevirt.io/v1",
        kind: "VirtualMachine",
        plural: "virtualmachines",
        spec: VirtualMachineSpec,
        status: VirtualMachineStatus
    }
}

impl VirtualMachine {
    /// Whether the VM is meant to run: `runStrategy` other than `Halted`, else `running`.
    pub fn wants_running(&self) -> bool {
        match self.spec.run_strategy.as_deref() {
            Some(strategy) => strategy != run_strategy::HALTED,
            None => self.spec.running.unwrap_or(false),
        }
    }
}

/// Observed state of a VirtualMachineInstance (minimal).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineInstanceStatus {
    /// Phase (`Pending`, `Scheduling`, `Scheduled`, `Running`, `Succeeded`, `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The node running the VMI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Guest interfaces as reported by the agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<Value>,
    /// Everything else (`conditions`, `migrationState`, …).
    #[serde(flatten)]
    pub extra: Object,
}

kind! {
    /// A running KubeVirt virtual machine instance.
    pub struct VirtualMachineInstance {
        group: GROUP,
        version: VERSION,
        api_version: "kubevirt.io/v1",
        kind: "VirtualMachineInstance",
        plural: "virtualmachineinstances",
        spec: VirtualMachineInstanceSpec,
        status: VirtualMachineInstanceStatus
    }
}
