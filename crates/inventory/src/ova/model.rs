//! The OVA inventory model: what one OVF `VirtualSystem` becomes, with upstream's field
//! names and meanings (`pkg/controller/provider/model/ovf/model.go`). The REST shapes
//! live in [`super::web`]; this is the typed form the plan adapter reads.

use std::fmt;

use serde::Serialize;

use crate::capacity::{CapacityError, resource_capacity};

/// The product an appliance was exported from, guessed from the descriptor's XML
/// namespaces (upstream `GuessSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ExportSource {
    /// VMware (vSphere, Workstation, Fusion, ovftool).
    #[serde(rename = "VMware")]
    VMware,
    /// Oracle VirtualBox.
    #[serde(rename = "VirtualBox")]
    VirtualBox,
    /// Citrix Xen.
    #[serde(rename = "Xen")]
    Xen,
    /// oVirt / Red Hat Virtualization.
    #[serde(rename = "oVirt")]
    Ovirt,
    /// None of the above.
    #[serde(rename = "Unknown")]
    Unknown,
}

impl ExportSource {
    /// Upstream's string for the source.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VMware => "VMware",
            Self::VirtualBox => "VirtualBox",
            Self::Xen => "Xen",
            Self::Ovirt => "oVirt",
            Self::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for ExportSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VM described by one `VirtualSystem` of an OVF descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vm {
    /// The inventory ID: the `VirtualSystem/@id` when it is a UUID, otherwise Ferry's
    /// stable hash of the descriptor path and the system's position (see
    /// [`super::convert::ferry_vm_id`]). Same as [`Vm::uuid`].
    pub id: String,
    /// `VirtualSystem/Name`; when absent (VirtualBox exports have none) the
    /// `VirtualSystem/@id`.
    pub name: String,
    /// The `.ova` file, or the `.ovf` file, as the conversion pod sees it.
    pub ovf_path: String,
    /// The product the appliance came from.
    pub export_source: ExportSource,
    /// `OperatingSystemSection/@osType` (VMware's `vmw:osType`).
    pub os_type: String,
    /// Bumps each time the VM's content changes; starts at 1.
    pub revision: u64,
    /// Same as [`Vm::id`] (upstream keeps both).
    pub uuid: String,
    /// `firmware` from `vmw:Config`/`vmw:ExtraConfig`: `efi`, `bios` or empty.
    pub firmware: String,
    /// `bootOptions.efiSecureBootEnabled` or `uefi.secureBoot.enabled`.
    pub secure_boot: bool,
    /// `cpuHotAddEnabled`.
    pub cpu_hot_add_enabled: bool,
    /// `cpuHotRemoveEnabled`.
    pub cpu_hot_remove_enabled: bool,
    /// `memoryHotAddEnabled`.
    pub memory_hot_add_enabled: bool,
    /// The CPU item's `VirtualQuantity` (0 when there is none).
    pub cpu_count: i64,
    /// `CoresPerSocket`: 0 when absent, 1 when unparsable (upstream).
    pub cores_per_socket: i64,
    /// The memory item's raw `VirtualQuantity`, in [`Vm::memory_units`] (upstream's
    /// `memoryMB` despite the name).
    pub memory: i64,
    /// The memory item's `AllocationUnits` (typically `byte * 2^20`).
    pub memory_units: String,
    /// The CPU item's `AllocationUnits`.
    pub cpu_units: String,
    /// Hardware items other than CPU, memory and NICs.
    pub devices: Vec<Device>,
    /// Network adapters, in descriptor order.
    pub nics: Vec<Nic>,
    /// Every disk of the descriptor's `DiskSection`, in order.
    pub disks: Vec<Disk>,
    /// Every network of the descriptor's `NetworkSection`, in order.
    pub networks: Vec<Network>,
    /// What may go wrong migrating this VM (see [`super::concerns`]).
    pub concerns: Vec<Concern>,
}

impl Vm {
    /// The guest memory in bytes (upstream `getResourceCapacity(MemoryMB, MemoryUnits)`).
    pub fn memory_bytes(&self) -> Result<i64, CapacityError> {
        resource_capacity(self.memory, &self.memory_units)
    }

    /// Whether this VM differs from `other` in anything but its revision.
    pub fn content_differs(&self, other: &Vm) -> bool {
        let mut other = other.clone();
        other.revision = self.revision;
        *self != other
    }
}

/// A virtual disk (upstream `VmDisk` / model `Disk`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disk {
    /// Upstream's hash of the disk record ([`crate::gob::disk_id`]).
    pub id: String,
    /// The disk file name: `References/File[j]/@href`, matched by position.
    pub name: String,
    /// The `.ova` path, or the `.ovf` directory with a trailing `/`.
    pub file_path: String,
    /// `Disk/@capacity` in [`Disk::capacity_allocation_units`]; 0 when unreadable.
    pub capacity: i64,
    /// `Disk/@capacityAllocationUnits`.
    pub capacity_allocation_units: String,
    /// `Disk/@diskId`.
    pub disk_id: String,
    /// `Disk/@fileRef`.
    pub file_ref: String,
    /// `Disk/@format` (e.g. the VMDK streamOptimized URL).
    pub format: String,
    /// `Disk/@populatedSize`; 0 when absent or unreadable.
    pub populated_size: i64,
}

impl Disk {
    /// The capacity in bytes (upstream `getResourceCapacity`).
    pub fn capacity_bytes(&self) -> Result<i64, CapacityError> {
        resource_capacity(self.capacity, &self.capacity_allocation_units)
    }

    /// `<FilePath>::<Name>`: the value of the `forklift.konveyor.io/disk-source`
    /// annotation and of the disk task's name.
    pub fn disk_source(&self) -> String {
        format!("{}::{}", self.file_path, self.name)
    }
}

/// A logical network of the descriptor's `NetworkSection`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Network {
    /// Upstream's hash of the name ([`crate::gob::network_id`]).
    pub id: String,
    /// `Network/@name`; NICs refer to it by this name.
    pub name: String,
    /// `Network/Description`.
    pub description: String,
}

/// A network adapter (resource type 10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Nic {
    /// `ElementName`.
    pub name: String,
    /// `Address`: the MAC address, when the exporter kept it.
    pub mac: String,
    /// `Connection`: the *name* of the network it is attached to.
    pub network: String,
}

/// Any other hardware item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    /// `ElementName` without trailing digits and spaces, else `Description`, else
    /// `Unknown`.
    pub kind: String,
}

/// A storage row: upstream keeps one per disk, with the disk's ID and file name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Storage {
    /// The disk ID.
    pub id: String,
    /// The disk file name.
    pub name: String,
}

/// How serious a concern is (upstream's validation categories).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Category {
    /// The migration will fail or produce a broken VM.
    Critical,
    /// The migration may lose something or need attention afterwards.
    Warning,
    /// For information.
    Information,
}

/// A per-VM finding, shaped as upstream's `Concern` (`{id, label, category,
/// assessment}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Concern {
    /// A stable ID such as `ova.disk.capacity.invalid`.
    pub id: String,
    /// A one-line summary.
    pub label: String,
    /// How serious it is.
    pub category: Category,
    /// What it means and what to do.
    pub assessment: String,
}
