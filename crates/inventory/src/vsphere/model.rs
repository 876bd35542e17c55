//! The vSphere inventory model: what the collector keeps of each managed object, with
//! upstream's field names and meanings (`pkg/controller/provider/model/vsphere/model.go`).
//!
//! This is the typed form the plan adapter (builder and validator) reads through
//! [`crate::SourceVm::Vsphere`]. The sub-objects a VM's JSON embeds (disks, NICs,
//! devices, guest networks, ...) serialize exactly as upstream's model structs do; the
//! resources themselves are rendered by [`super::web`].
//!
//! Upstream distinguishes "never set" (`null` in JSON) from "empty" (`[]`) for most
//! lists, and which one a field gets depends on how its adapter builds it; the
//! `Option<Vec<_>>` fields below keep that distinction (`None` is `null`).

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Serialize;

pub use crate::ova::model::Category;

/// What upstream's policies say about a VM, shaped as upstream's `Concern` (`{id, label,
/// category, assessment}`). Constant texts (most of them) are shared, not copied per VM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Concern {
    /// A stable ID such as `vmware.disk.capacity.invalid`.
    pub id: &'static str,
    /// A one-line summary.
    pub label: Cow<'static, str>,
    /// How serious it is.
    pub category: Category,
    /// What it means and what to do.
    pub assessment: Cow<'static, str>,
}

/// Upstream's model kinds (`libref.ToKind`), used in references.
pub mod kind {
    /// A folder.
    pub const FOLDER: &str = "Folder";
    /// A datacenter.
    pub const DATACENTER: &str = "Datacenter";
    /// A cluster or a standalone host's compute resource.
    pub const CLUSTER: &str = "Cluster";
    /// An ESXi host.
    pub const HOST: &str = "Host";
    /// A network of any variant.
    pub const NETWORK: &str = "Network";
    /// A datastore.
    pub const DATASTORE: &str = "Datastore";
    /// A virtual machine.
    pub const VM: &str = "VM";
}

/// Network variants (`variant` of a network).
pub mod variant {
    /// A standard (host) port group network.
    pub const STANDARD: &str = "Standard";
    /// A distributed port group.
    pub const DV_PORT_GROUP: &str = "DvPortGroup";
    /// An NSX opaque network.
    pub const OPAQUE_NETWORK: &str = "OpaqueNetwork";
    /// A distributed switch.
    pub const DV_SWITCH: &str = "DvSwitch";
    /// A standalone host's compute resource (a cluster variant).
    pub const COMPUTE_RESOURCE: &str = "ComputeResource";
}

/// Disk buses (`bus` of a disk and a controller).
pub mod bus {
    /// NVMe.
    pub const NVME: &str = "nvme";
    /// USB.
    pub const USB: &str = "usb";
    /// SATA (AHCI).
    pub const SATA: &str = "sata";
    /// SCSI (BusLogic, LSI Logic, LSI Logic SAS, ParaVirtual).
    pub const SCSI: &str = "scsi";
    /// IDE.
    pub const IDE: &str = "ide";
}

/// A reference to another object: upstream's `Ref` (`{"kind","id"}`). The kind is one
/// of [`kind`], or the raw vSphere type for objects upstream does not model (e.g.
/// `VirtualMachineSnapshot`, `OptionManager`, vcsim's `DistributedVirtualSwitch`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjRef {
    /// The kind.
    pub kind: String,
    /// The ID (a managed object reference value, or a sanitized datastore ID).
    pub id: String,
}

impl ObjRef {
    /// A reference of this kind.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
        }
    }

    /// Whether this is the empty reference (`{"kind":"","id":""}`).
    pub fn is_empty(&self) -> bool {
        self.kind.is_empty() && self.id.is_empty()
    }
}

/// The fields every object has (upstream `Base`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Base {
    /// The managed object ID (`vm-42`), or for datastores the sanitized ID.
    pub id: String,
    /// The variant: networks and standalone compute resources only.
    pub variant: String,
    /// The name, URL-unescaped as upstream does.
    pub name: String,
    /// The parent.
    pub parent: ObjRef,
    /// Starts at 1 and bumps each time the object's content changes.
    pub revision: u64,
}

/// The server's `About`: what the provider resource shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct About {
    /// `about.apiVersion`.
    pub api_version: String,
    /// `about.licenseProductName`.
    pub product: String,
    /// `about.instanceUuid`.
    pub instance_uuid: String,
    /// Whether the server is a vCenter (`apiType` `VirtualCenter`) rather than an ESXi host.
    pub is_vcenter: bool,
}

/// A folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folder {
    /// ID, name, parent, revision.
    pub base: Base,
    /// The parent datacenter's ID, when the parent is a datacenter.
    pub datacenter: String,
    /// The parent folder's ID, when the parent is a folder.
    pub folder: String,
    /// `childEntity`.
    pub children: Option<Vec<ObjRef>>,
}

/// A datacenter, with its four system folders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Datacenter {
    /// ID, name, parent, revision.
    pub base: Base,
    /// `hostFolder`.
    pub clusters: ObjRef,
    /// `networkFolder`.
    pub networks: ObjRef,
    /// `datastoreFolder`.
    pub datastores: ObjRef,
    /// `vmFolder`.
    pub vms: ObjRef,
}

/// A cluster, or a standalone host's compute resource (variant `ComputeResource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    /// ID, variant, name, parent, revision.
    pub base: Base,
    /// The parent's ID.
    pub folder: String,
    /// `host`.
    pub hosts: Option<Vec<ObjRef>>,
    /// `network`.
    pub networks: Option<Vec<ObjRef>>,
    /// `datastore`.
    pub datastores: Option<Vec<ObjRef>>,
    /// `configuration.dasConfig.enabled`.
    pub das_enabled: bool,
    /// Always `[]` once reported (upstream's cast never matches the wire type).
    pub das_vms: Option<Vec<ObjRef>>,
    /// `configuration.drsConfig.enabled`.
    pub drs_enabled: bool,
    /// `configuration.drsConfig.defaultVmBehavior`.
    pub drs_behavior: String,
    /// Always `[]` once reported, as `das_vms`.
    pub drs_vms: Option<Vec<ObjRef>>,
}

/// An ESXi host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Host {
    /// ID, name, parent, revision.
    pub base: Base,
    /// The parent compute resource's ID (a cluster, or a standalone host's resource).
    pub cluster: String,
    /// `overallStatus`: `green`, `yellow`, `red`, `gray`.
    pub status: String,
    /// `summary.runtime.inMaintenanceMode`.
    pub in_maintenance_mode: bool,
    /// `summary.managementServerIp`.
    pub management_server_ip: String,
    /// The selected management vNICs' IPv4 addresses (not in REST; the plan adapter's
    /// ESXi host transfer uses them).
    pub management_ips: Vec<String>,
    /// `summary.config.sslThumbprint`.
    pub thumbprint: String,
    /// `config.dateTimeInfo.timeZone.name`.
    pub timezone: String,
    /// `summary.hardware.numCpuPkgs`.
    pub cpu_sockets: i64,
    /// `summary.hardware.numCpuCores`.
    pub cpu_cores: i64,
    /// `summary.hardware.memorySize`.
    pub memory_bytes: i64,
    /// `config.product.name`.
    pub product_name: String,
    /// `config.product.version`.
    pub product_version: String,
    /// `hardware.systemInfo.model`.
    pub model: String,
    /// `hardware.systemInfo.vendor`.
    pub vendor: String,
    /// Switches, port groups and NICs.
    pub network: HostNetwork,
    /// `network`.
    pub networks: Option<Vec<ObjRef>>,
    /// `datastore`.
    pub datastores: Option<Vec<ObjRef>>,
    /// `config.storageDevice.scsiLun` (SCSI disks only).
    pub host_scsi_disks: Option<Vec<HostScsiDisk>>,
    /// `configManager.advancedOption`.
    pub advanced_options: ObjRef,
    /// `capability.vmotionSupported`.
    pub vmotion_supported: bool,
    /// `capability.storageVMotionSupported`.
    pub storage_vmotion_supported: bool,
}

/// A host's networking (`networking` in REST).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HostNetwork {
    /// Physical NICs, fastest first.
    #[serde(rename = "pNICs")]
    pub pnics: Option<Vec<Pnic>>,
    /// VMkernel NICs, largest MTU first.
    #[serde(rename = "vNICs")]
    pub vnics: Option<Vec<Vnic>>,
    /// Standard port groups.
    #[serde(rename = "portGroups")]
    pub port_groups: Option<Vec<PortGroup>>,
    /// Standard switches.
    pub switches: Option<Vec<Switch>>,
}

/// A physical NIC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pnic {
    /// `key`.
    pub key: String,
    /// `linkSpeed.speedMb`, 0 when down.
    #[serde(rename = "linkSpeed")]
    pub link_speed: i64,
}

/// A VMkernel NIC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vnic {
    /// `key`.
    pub key: String,
    /// `device` (`vmk0`).
    pub device: String,
    /// The standard port group name.
    pub port_group: String,
    /// The distributed port group key.
    pub d_port_group: String,
    /// IPv4 address.
    pub ip_address: String,
    /// IPv6 addresses.
    pub ip_v6_address: Option<Vec<String>>,
    /// IPv4 netmask.
    pub subnet_mask: String,
    /// MTU.
    pub mtu: i64,
}

/// A standard port group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PortGroup {
    /// `key`.
    pub key: String,
    /// `spec.name`.
    pub name: String,
    /// The switch's key.
    #[serde(rename = "vSwitch")]
    pub switch: String,
    /// `spec.vlanId`.
    #[serde(rename = "vlanId")]
    pub vlan_id: i64,
}

/// A standard switch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Switch {
    /// `key`.
    pub key: String,
    /// `name`.
    pub name: String,
    /// Port group keys.
    #[serde(rename = "portGroups")]
    pub port_groups: Option<Vec<String>>,
    /// Physical NIC keys.
    #[serde(rename = "pNICs")]
    pub pnics: Option<Vec<String>>,
}

/// A host SCSI disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostScsiDisk {
    /// `canonicalName`.
    pub canonical_name: String,
    /// `vendor`, trimmed.
    pub vendor: String,
    /// Never filled upstream.
    pub model: String,
    /// `key`, trimmed.
    pub key: String,
}

/// A network: standard, distributed port group, opaque, or distributed switch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    /// ID, variant, name, parent, revision.
    pub base: Base,
    /// Always empty (upstream reads a `Tag[]` as a string).
    pub tag: String,
    /// The distributed switch of a port group.
    pub dv_switch: ObjRef,
    /// A port group's key, or an opaque network's ID.
    pub key: String,
    /// A distributed switch's member hosts with physical NIC backing.
    pub host: Option<Vec<DvsHost>>,
    /// A port group's VLAN: the ID when > 0, or trunk ranges `s-e,…`.
    pub vlan_id: String,
}

/// A distributed switch member (upstream's untagged `DVSHost`: PascalCase keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DvsHost {
    /// The host.
    #[serde(rename = "Host")]
    pub host: ObjRef,
    /// The physical NIC device names.
    #[serde(rename = "PNIC")]
    pub pnic: Vec<String>,
}

/// A datastore.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Datastore {
    /// ID (sanitized), name, parent, revision.
    pub base: Base,
    /// `summary.type`: `VMFS`, `NFS`, `NFS41`, `vsan`, `VVOL` (`OTHER` on vcsim).
    pub r#type: String,
    /// `summary.capacity` in bytes.
    pub capacity: i64,
    /// `summary.freeSpace` in bytes.
    pub free: i64,
    /// `summary.maintenanceMode`.
    pub maintenance_mode: String,
    /// VMFS extents' disk names.
    pub backing_devices_names: Option<Vec<String>>,
    /// NAS remote host.
    pub nas_remote_host: String,
    /// NAS remote path.
    pub nas_remote_path: String,
    /// NAS remote host names.
    pub nas_remote_host_names: Option<Vec<String>>,
    /// `capability.storageIORMSupported`.
    pub storage_iorm_supported: bool,
    /// `iormConfiguration.enabled`.
    pub iorm_enabled: bool,
    /// Congestion threshold, clamped to 5..=100 (30 when unset).
    pub iorm_congestion_threshold: i64,
    /// `automatic` or `manual` (empty when unreported).
    pub iorm_congestion_threshold_mode: String,
    /// Percent of peak throughput, clamped to 50..=100 (90 when unset).
    pub iorm_percent_of_peak_throughput: i64,
}

/// A virtual machine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vm {
    /// ID, name, parent, revision.
    pub base: Base,
    /// The parent's ID (a folder, or a resource pool for vApp members).
    pub folder: String,
    /// `runtime.host`'s ID.
    pub host: String,
    /// `config.uuid` (the BIOS UUID).
    pub uuid: String,
    /// `config.instanceUuid`.
    pub instance_uuid: String,
    /// `config.firmware`: `bios` or `efi`.
    pub firmware: String,
    /// `runtime.powerState`: `poweredOn`, `poweredOff`, `suspended`.
    pub power_state: String,
    /// `runtime.connectionState`.
    pub connection_state: String,
    /// `config.cpuAffinity.affinitySet`.
    pub cpu_affinity: Option<Vec<i64>>,
    /// `config.cpuHotAddEnabled`.
    pub cpu_hot_add_enabled: bool,
    /// `config.cpuHotRemoveEnabled`.
    pub cpu_hot_remove_enabled: bool,
    /// `config.memoryHotAddEnabled`.
    pub memory_hot_add_enabled: bool,
    /// `config.ftInfo` is set.
    pub fault_tolerance_enabled: bool,
    /// `config.hardware.numCPU`.
    pub cpu_count: i64,
    /// `config.hardware.numCoresPerSocket`.
    pub cores_per_socket: i64,
    /// `config.hardware.memoryMB`.
    pub memory_mb: i64,
    /// `summary.config.guestFullName`.
    pub guest_name: String,
    /// `guest.guestFullName` (from VMware Tools).
    pub guest_name_from_vmware_tools: String,
    /// `guest.hostName`.
    pub host_name: String,
    /// `summary.guest.guestId`, kept when a later report is empty (powered off).
    pub guest_id: String,
    /// `summary.quickStats.balloonedMemory`.
    pub ballooned_memory: i64,
    /// `summary.guest.ipAddress`.
    pub ip_address: String,
    /// `numa.nodeAffinity` from `config.extraConfig`, split on `,`.
    pub numa_node_affinity: Option<Vec<String>>,
    /// `summary.storage.committed`.
    pub storage_used: i64,
    /// The current snapshot (`snapshot.currentSnapshot`), empty when none.
    pub snapshot: ObjRef,
    /// The whole snapshot tree (`snapshot`; not in REST), for warm migration's
    /// bookkeeping.
    pub snapshot_tree: Option<ferry_vim::SnapshotInfo>,
    /// `config.template`.
    pub is_template: bool,
    /// `config.changeTrackingEnabled`, or `ctkEnabled` in `config.extraConfig`.
    pub change_tracking_enabled: bool,
    /// `summary.config.tpmPresent`.
    pub tpm_enabled: bool,
    /// Tracked devices: passthrough, SR-IOV, USB controllers and backed NICs.
    pub devices: Option<Vec<Device>>,
    /// PCI bridges from `config.extraConfig` (`pciBridgeN.*`).
    pub pci_bridges: Option<Vec<PciBridge>>,
    /// Backed, non-SR-IOV NICs.
    pub nics: Option<Vec<Nic>>,
    /// Virtual disks, in device order.
    pub disks: Option<Vec<Disk>>,
    /// Every device, as a controller (`bus` empty for non-controllers, as upstream).
    pub controllers: Option<Vec<Controller>>,
    /// `network`.
    pub networks: Option<Vec<ObjRef>>,
    /// What upstream's policies would say about the VM ([`super::concerns`]).
    pub concerns: Vec<Concern>,
    /// One entry per IP of each guest NIC that has an IP configuration.
    pub guest_networks: Option<Vec<GuestNetwork>>,
    /// `guest.disk`.
    pub guest_disks: Option<Vec<GuestDisk>>,
    /// Routes with a gateway from `guest.ipStack`.
    pub guest_ip_stacks: Option<Vec<GuestIpStack>>,
    /// `guestinfo.appInfo` applications (not in REST).
    pub guest_apps: Option<Vec<GuestApp>>,
    /// `config.bootOptions.efiSecureBootEnabled`.
    pub secure_boot: bool,
    /// `guest.toolsStatus` (`<nil>` when unset, as upstream prints it).
    pub tools_status: String,
    /// `guest.toolsRunningStatus`.
    pub tools_running_status: String,
    /// `guest.toolsVersionStatus2`.
    pub tools_version_status: String,
    /// `disk.EnableUUID` from `config.extraConfig`.
    pub disk_enable_uuid: bool,
    /// `config.nestedHVEnabled`.
    pub nested_hv_enabled: bool,
    /// `availableField`.
    pub custom_def: Option<Vec<CustomFieldDef>>,
    /// `customValue` (string values).
    pub custom_values: Option<Vec<CustomFieldValue>>,
    /// vSphere tags (not collected: Ferry does not use the vAPI; always `None`).
    pub tags: Option<Vec<Tag>>,
    /// `runtime.consolidationNeeded`.
    pub consolidation_needed: bool,
    /// `config.changeVersion` (not in REST): a change means the configuration changed.
    pub change_version: String,
    /// Disks with `<bus><n>:<unit>.ctkEnabled` true in `config.extraConfig` (lowercase
    /// keys, not in REST).
    pub ctk_disks: BTreeSet<String>,
}

impl Vm {
    /// Whether upstream's `vms` list hides the VM: a template, or a "ghost" with no
    /// UUID, instance UUID or host.
    pub fn is_listed(&self) -> bool {
        let ghost = self.uuid.is_empty() && self.instance_uuid.is_empty() && self.host.is_empty();
        !self.is_template && !ghost
    }

    /// The disks, or none.
    pub fn disks(&self) -> &[Disk] {
        self.disks.as_deref().unwrap_or_default()
    }

    /// The NICs, or none.
    pub fn nics(&self) -> &[Nic] {
        self.nics.as_deref().unwrap_or_default()
    }

    /// The tracked devices, or none.
    pub fn devices(&self) -> &[Device] {
        self.devices.as_deref().unwrap_or_default()
    }

    /// The disks in libvirt's order (buses scsi, sata, ide, nvme; then controller key,
    /// unit number, device key), as virt-v2v and the builder number them.
    pub fn disks_libvirt_order(&self) -> Vec<&Disk> {
        self.disks_by_buses(&[bus::SCSI, bus::SATA, bus::IDE, bus::NVME])
    }

    /// The disks in VMware's order (sata, ide, scsi, nvme).
    pub fn disks_vmware_order(&self) -> Vec<&Disk> {
        self.disks_by_buses(&[bus::SATA, bus::IDE, bus::SCSI, bus::NVME])
    }

    fn disks_by_buses(&self, buses: &[&str]) -> Vec<&Disk> {
        let mut ordered = Vec::new();
        for wanted in buses {
            let mut on_bus: Vec<&Disk> = self.disks().iter().filter(|d| d.bus == *wanted).collect();
            on_bus.sort_by_key(|d| (d.controller_key, d.unit_number, d.key));
            ordered.extend(on_bus);
        }
        ordered
    }

    /// Whether the guest is Windows (upstream `IsWindows`: `win` in the guest ID or name).
    pub fn is_windows(&self) -> bool {
        self.guest_id.to_lowercase().contains("win")
            || self.guest_name.to_lowercase().contains("win")
    }
}

/// A virtual disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// The device key.
    pub key: i64,
    /// The unit number on its controller.
    pub unit_number: i64,
    /// The controller's device key.
    pub controller_key: i64,
    /// `[datastore] path/file.vmdk` (an RDM v2's descriptor file).
    pub file: String,
    /// The datastore (sanitized ID), empty for a raw disk.
    pub datastore: ObjRef,
    /// `capacityInBytes` (upstream reads no other field).
    pub capacity: i64,
    /// The disk file is attached to more than one VM (upstream's validation recomputes
    /// it so, over the backing's `sharing`).
    pub shared: bool,
    /// A raw device mapping.
    pub rdm: bool,
    /// A physical-mode RDM.
    #[serde(skip_serializing_if = "is_false")]
    pub physical_mode: bool,
    /// The controller's bus ([`bus`]), empty for an unknown controller.
    pub bus: String,
    /// `diskMode`: `persistent`, `independent_persistent`, ...
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    /// The backing `uuid`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub serial: String,
    /// The Windows drive letter the guest mounts it as (lowercase), if known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub win_drive_letter: String,
    /// `<bus><n>:<unit>.ctkEnabled` is true in `config.extraConfig`.
    pub change_tracking_enabled: bool,
    /// The parent backing's file (a snapshot's base).
    #[serde(rename = "parent")]
    pub parent_file: String,
    /// An RDM's device name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub device_name: String,
    /// A vVol's backing object ID.
    #[serde(rename = "vvolId", skip_serializing_if = "String::is_empty")]
    pub vvol_id: String,
    /// An RDM's LUN UUID.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lun_uuid: String,
}

/// A tracked device (`devices[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The vSphere type name (`VirtualE1000`, `VirtualPCIPassthrough`, ...).
    pub kind: String,
    /// The device key.
    pub key: i64,
    /// The persistent PCI slot number, 0 when none.
    pub pci_slot_number: i64,
}

/// A virtual PCI bridge from `config.extraConfig` (not in REST).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PciBridge {
    /// `N` of `pciBridgeN`.
    pub number: i64,
    /// Its slot number.
    pub slot_number: i64,
    /// Its function count (1 for a legacy bridge).
    pub functions: i64,
}

/// A virtual NIC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Nic {
    /// The network: a `Network` moref, a distributed port group key, or an opaque
    /// network ID (kind `Network`).
    pub network: ObjRef,
    /// The MAC address, lowercase.
    pub mac: String,
    /// The NIC's position among the VM's NICs (before the guest order is applied).
    #[serde(rename = "order")]
    pub index: i64,
    /// The device key.
    pub device_key: i64,
    /// The guest-visible PCI address (`0000:bb:dd.0`), or empty.
    pub pci_address: String,
    /// `connectable.startConnected` (true when unset).
    pub start_connected: bool,
    /// The device type (`VirtualVmxnet3`, `VirtualE1000e`, ...), not in REST: the
    /// builder's interface model.
    #[serde(skip)]
    pub model: String,
}

/// A virtual controller (or any other device, with an empty bus, as upstream).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Controller {
    /// The device key.
    pub key: i64,
    /// The bus, or empty.
    pub bus: String,
    /// The keys of the devices on it.
    pub disks: Vec<i64>,
}

/// One IP of a guest NIC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestNetwork {
    /// The guest NIC's index, as a string.
    pub device: String,
    /// The virtual NIC's device key.
    pub device_config_id: i64,
    /// The MAC address, lowercase.
    pub mac: String,
    /// The address.
    pub ip: String,
    /// How it was configured (`dhcp`, `manual`, ...).
    pub origin: String,
    /// The prefix length.
    #[serde(rename = "prefix")]
    pub prefix_length: i64,
    /// DNS servers.
    pub dns: Option<Vec<String>>,
    /// The network name.
    pub network: String,
}

/// A guest route with a gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestIpStack {
    /// The gateway's device.
    pub device: String,
    /// The gateway address.
    pub gateway: String,
    /// The destination network.
    pub network: String,
    /// The prefix length.
    #[serde(rename = "prefix")]
    pub prefix_length: i64,
    /// DNS servers.
    pub dns: Option<Vec<String>>,
}

/// A guest file system (`guestDisks[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestDisk {
    /// The first mapped virtual disk's key, 0 when unmapped.
    pub key: i64,
    /// The mount point (`/`, `C:\`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub disk_path: String,
    /// Capacity in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub capacity: i64,
    /// Free space in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub free_space: i64,
    /// File system type.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filesystem_type: String,
}

/// A guest application (`guestinfo.appInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GuestApp {
    /// Its name.
    pub name: String,
    /// Its version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// A custom attribute definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldDef {
    /// Its name.
    pub name: String,
    /// Its key.
    pub key: i64,
    /// The type it applies to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub managed_object_type: String,
}

/// A custom attribute value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CustomFieldValue {
    /// The definition's key.
    pub key: i64,
    /// The value.
    pub value: String,
}

/// A vSphere tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tag {
    /// Its ID.
    pub id: String,
    /// Its description.
    pub description: String,
    /// Its name.
    pub name: String,
    /// Its category.
    #[serde(rename = "categoryID")]
    pub category_id: String,
    /// The types it may be used by.
    #[serde(rename = "usedBy")]
    pub used_by: Option<Vec<String>>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}
