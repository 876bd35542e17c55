//! The provider part of a vSphere VM's VirtualMachine (upstream `Builder.VirtualMachine`:
//! `mapDisks`, `mapFirmware`, `mapCPU`, `mapMemory`, `mapClock`, `mapInput`, `mapTpm`,
//! `mapNetworks`; plan spec §6.7; vSphere spec §4).
//!
//! - **Refusals**: a template, a VM that is not connected, a warm plan without CBT.
//! - **Disks**, in VMware's order (sata, ide, scsi, nvme): volume `vol-<i>` (or the volume
//!   name template's output, cut to 63 characters) on the PVC whose disk-source
//!   annotation is the disk's file (snapshot suffixes trimmed on both sides); bus
//!   `virtio` (`sata` in compatibility mode); RDM disks become SCSI LUNs with `rdmAsLun`
//!   (with a reservation when shared and `scsiReservation`); shared disks are
//!   `shareable`, `cache: none` (and `errorPolicy: report` as a LUN); `serial` is
//!   [`disk_serial`] of the backing UUID; `bootOrder: 1` on the root disk (`rootDisk`,
//!   else the disk virt-v2v found, else the first). Shared disks that are not migrated
//!   are attached when their PVC is among the VM's, else left out.
//! - **Firmware**: the UUID as SMBIOS serial (VMware's `VMware-xx …` form on OpenShift
//!   4.20 and later), EFI with the secure boot flag plus SMM when it is on, else BIOS.
//! - **CPU and memory** (not with an instance type): `sockets = numCPU / coresPerSocket`,
//!   `cores = coresPerSocket`, nested virtualization features from the plan VM, the
//!   plan, else the source; `memoryMB` MiB.
//! - **Clock** from the host's time zone, a tablet, and a TPM (`persistent` when the
//!   source has one, else explicitly disabled: MTV-2014).
//! - **Networks**: per NIC, the map entries of its network (by ID, or a port group's or
//!   opaque network's key) through a per-VM NAD pool; `ignored` and unmapped NICs are left
//!   out; `net-<n>` or the network name template; model `virtio` (`e1000e` in
//!   compatibility mode), the MAC (unless a user-defined network cannot keep it), the PCI
//!   address, `state: down` when not connected at power on; pod → masquerade (`l2bridge`
//!   binding under a user-defined network), multus → bridge.
//!
//! Where upstream would panic (no cores per socket, an upper-case root disk letter) or
//! wrap an integer, Ferry uses KubeVirt's defaults or reports a build error.

use super::builder::boot_disk_number;
use super::paths::{trim_backing_file_name, uuid_to_vmware_serial};
use super::{compatibility_mode, migrate_shared_disks, plan_vm};
use crate::adapter::ova::binary_si;
use crate::adapter::{AdapterError, PlanView, inventory_ref};
use crate::kubevirt::serial::disk_serial;
use crate::network::{NadPool, allocate_network};
use crate::template::{NetworkNameData, VolumeNameData, render_name};
use ferry_api::destination::Object;
use ferry_api::destination::VirtualMachine;
use ferry_api::destination::kubevirt::{
    Bootloader, Cpu, CpuFeature, Disk as KvDisk, DiskTarget, Efi, FeatureState, Features, Firmware,
    Interface, Memory, MultusNetwork, Network as KvNetwork, PersistentVolumeClaimVolumeSource,
    VirtualMachineInstanceSpec, VirtualMachineInstanceTemplateSpec, VirtualMachineSpec, Volume,
};
use ferry_api::k8s_openapi::api::core::v1::PersistentVolumeClaim;
use ferry_api::labels::annotation;
use ferry_api::mapping::{DestinationNetworkType, NetworkPair};
use ferry_api::plan::VmStatus;
use ferry_inventory::vsphere::Workload;
use ferry_inventory::vsphere::model::{Disk, Vm, variant};
use ferry_inventory::{FindError, Kind};
use serde_json::json;
use std::collections::BTreeMap;

/// Firmware values.
pub mod firmware {
    /// EFI.
    pub const EFI: &str = "efi";
    /// BIOS.
    pub const BIOS: &str = "bios";
}

/// The paravirtual bus and model.
pub const VIRTIO: &str = "virtio";
/// The emulated NIC of compatibility mode.
pub const E1000E: &str = "e1000e";
/// The disk bus of compatibility mode.
pub const SATA: &str = "sata";
/// The input bus of compatibility mode.
pub const USB: &str = "usb";
/// The bus of LUNs.
pub const SCSI: &str = "scsi";
/// The pod-network binding under a primary user-defined network.
pub const UDN_L2BRIDGE: &str = "l2bridge";
/// CDI's annotation with a VDDK import's backing file (upstream `AnnImportBackingFile`).
pub const IMPORT_BACKING_FILE: &str = "cdi.kubevirt.io/storage.import.backingFile";
/// The annotation with static IPs of pod NICs under a user-defined network.
pub const STATIC_UDN_IPS: &str = "network.kubevirt.io/addresses";
/// A connection state the builder accepts.
pub const CONNECTED: &str = "connected";

/// What the VirtualMachine depends on besides the plan and the inventory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The target namespace has a primary user-defined network.
    pub udn: bool,
    /// Such a network keeps the source MACs (OpenShift 4.20 and later).
    pub udn_supports_mac: bool,
    /// The SMBIOS serial in VMware's form (`FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER`, on
    /// OpenShift 4.20 and later).
    pub vmware_system_serial: bool,
    /// Static IPs of pod NICs go into the template (`FEATURE_STATIC_UDN_IP_ADDRESSES`).
    pub static_udn_ip_addresses: bool,
}

impl Options {
    /// The options the plan view can tell. Whether the target namespace has a primary
    /// user-defined network is not in the view, so `udn` is false; callers that know pass
    /// their own [`Options`].
    pub fn from_view(view: &PlanView<'_>) -> Self {
        let ocp_420 = version_at_least(&view.settings.openshift_version, 4, 20);
        Self {
            udn: false,
            udn_supports_mac: ocp_420,
            vmware_system_serial: view.settings.openshift && ocp_420,
            static_udn_ip_addresses: view.settings.static_udn_ip_addresses,
        }
    }
}

/// Whether a version such as `4.20.0-0` is at least `major.minor`.
fn version_at_least(version: &str, major: u64, minor: u64) -> bool {
    let mut parts = version
        .trim()
        .trim_start_matches('v')
        .split(['.', '-', '+'])
        .map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(found_major)), Some(Ok(found_minor))) => {
            (found_major, found_minor) >= (major, minor)
        }
        _ => false,
    }
}

/// Upstream's refusals before building.
pub fn refusal(view: &PlanView<'_>, vm: &Vm) -> Option<String> {
    let reference = ferry_api::Ref::with_id_and_name(vm.base.id.clone(), vm.base.name.clone());
    if vm.is_template {
        return Some(format!("VM {reference} is a template"));
    }
    if vm.connection_state != CONNECTED {
        return Some(format!("VM {reference} is not connected"));
    }
    if view.plan.is_warm() && !vm.change_tracking_enabled {
        return Some(format!(
            "Changed Block Tracking (CBT) is disabled for VM {reference}"
        ));
    }
    None
}

/// The VirtualMachine of a vSphere VM: spec only (the engine adds metadata, labels and
/// the run strategy). `status` is the VM's migration status, `pvcs` its PVCs.
pub fn virtual_machine(
    view: &PlanView<'_>,
    workload: &Workload,
    status: &VmStatus,
    pvcs: &[PersistentVolumeClaim],
    options: &Options,
) -> Result<VirtualMachine, AdapterError> {
    let vm = &workload.vm;
    if let Some(reason) = refusal(view, vm) {
        return Err(AdapterError::Build(reason));
    }
    let compat = compatibility_mode(view);
    let mut spec = VirtualMachineInstanceSpec::default();
    let (volumes, disks) = disks(view, vm, status, pvcs, compat)?;
    spec.volumes = volumes;
    spec.domain.devices.disks = disks;
    let (firmware, features) = firmware(vm, options.vmware_system_serial);
    spec.domain.firmware = Some(firmware);
    if let Some(features) = features {
        spec.domain.features = Some(features);
    }
    if status.vm.instance_type.is_empty() {
        spec.domain.cpu = Some(cpu(view, vm)?);
        spec.domain.memory = Some(memory(vm)?);
    }
    if let Some(host) = workload.host()
        && !host.timezone.is_empty()
    {
        spec.domain
            .extra
            .insert("clock".to_string(), json!({ "timezone": host.timezone }));
    }
    let bus = if compat { USB } else { VIRTIO };
    spec.domain.devices.extra.insert(
        "inputs".to_string(),
        json!([{"type": "tablet", "name": "tablet", "bus": bus}]),
    );
    spec.domain.devices.extra.insert(
        "tpm".to_string(),
        if vm.tpm_enabled {
            json!({ "persistent": true })
        } else {
            json!({ "enabled": false })
        },
    );
    let (networks, interfaces, static_ips) = networks(view, workload, options, compat)?;
    spec.networks = networks;
    spec.domain.devices.interfaces = interfaces;
    let mut template = VirtualMachineInstanceTemplateSpec {
        spec,
        ..VirtualMachineInstanceTemplateSpec::default()
    };
    if options.static_udn_ip_addresses
        && options.udn
        && view.plan.spec.preserve_static_ips()
        && !static_ips.is_empty()
    {
        let value = serde_json::to_string(&static_ips)
            .map_err(|error| AdapterError::Build(error.to_string()))?;
        template
            .metadata
            .get_or_insert_with(Default::default)
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(STATIC_UDN_IPS.to_string(), value);
    }
    let mut machine = VirtualMachine::new(
        "",
        "",
        VirtualMachineSpec {
            template,
            ..VirtualMachineSpec::default()
        },
    );
    machine.metadata.name = None;
    machine.metadata.namespace = None;
    Ok(machine)
}

/// The PVCs by trimmed disk source (upstream's `pvcMap`).
fn pvcs_by_source(pvcs: &[PersistentVolumeClaim]) -> BTreeMap<String, &PersistentVolumeClaim> {
    pvcs.iter()
        .filter_map(|pvc| {
            let annotations = pvc.metadata.annotations.as_ref()?;
            let source = annotations
                .get(annotation::DISK_SOURCE)
                .or_else(|| annotations.get(IMPORT_BACKING_FILE))?;
            Some((trim_backing_file_name(source), pvc))
        })
        .collect()
}

/// The volume name template in effect: the VM's, else the plan's.
fn volume_name_template<'a>(view: &'a PlanView<'_>, vm: &Vm) -> &'a str {
    plan_vm(view, vm)
        .map(|planned| planned.volume_name_template.as_str())
        .filter(|t| !t.is_empty())
        .unwrap_or(view.plan.spec.volume_name_template.as_str())
}

/// The network name template in effect: the VM's, else the plan's.
fn network_name_template<'a>(view: &'a PlanView<'_>, vm: &Vm) -> &'a str {
    plan_vm(view, vm)
        .map(|planned| planned.network_name_template.as_str())
        .filter(|t| !t.is_empty())
        .unwrap_or(view.plan.spec.network_name_template.as_str())
}

/// The index of the boot disk: the plan VM's `rootDisk`, else the disk virt-v2v found,
/// else 0 (`None` when `rootDisk` names an impossible index).
fn boot_disk(view: &PlanView<'_>, vm: &Vm, status: &VmStatus) -> Option<usize> {
    match plan_vm(view, vm) {
        Some(planned) if !planned.root_disk.is_empty() => boot_disk_number(&planned.root_disk),
        Some(_) => Some(
            status
                .detected_boot_disk
                .and_then(|d| usize::try_from(d).ok())
                .unwrap_or(0),
        ),
        None => Some(0),
    }
}

/// Upstream `mapDisks` (VMware order).
fn disks(
    view: &PlanView<'_>,
    vm: &Vm,
    status: &VmStatus,
    pvcs: &[PersistentVolumeClaim],
    compat: bool,
) -> Result<(Vec<Volume>, Vec<KvDisk>), AdapterError> {
    let by_source = pvcs_by_source(pvcs);
    let migrate_shared = migrate_shared_disks(view, vm);
    let planned = plan_vm(view, vm);
    let rdm_as_lun = planned
        .and_then(|p| p.rdm_as_lun)
        .unwrap_or(view.plan.spec.rdm_as_lun);
    let reservation = planned
        .and_then(|p| p.scsi_reservation)
        .unwrap_or(view.plan.spec.scsi_reservation);
    let template = volume_name_template(view, vm);
    let mut volumes = Vec::new();
    let mut disks = Vec::new();
    let ordered: Vec<&Disk> = vm.disks_vmware_order();
    for disk in ordered {
        let Some(pvc) = by_source.get(&trim_backing_file_name(&disk.file)) else {
            if disk.shared && !migrate_shared {
                // Upstream logs and leaves out a shared disk without a shareable PVC:
                // it can be attached by hand later.
                continue;
            }
            return Err(AdapterError::Build(format!(
                "failed to find persistent volume for disk {}",
                disk.file
            )));
        };
        let claim_name = pvc.metadata.name.clone().unwrap_or_default();
        let index = volumes.len();
        let mut name = format!("vol-{index}");
        if !template.is_empty() {
            let data = VolumeNameData {
                pvc_name: claim_name.clone(),
                volume_index: i64::try_from(index).unwrap_or(i64::MAX),
            };
            if let Some(rendered) = render_name(template, &data.to_value()) {
                name = rendered;
            }
        }
        let name = crate::names::truncate(&name, 63).to_string();
        volumes.push(Volume {
            name: name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name,
                ..PersistentVolumeClaimVolumeSource::default()
            }),
            ..Volume::default()
        });
        let as_lun = disk.rdm && rdm_as_lun;
        let mut kv = KvDisk {
            name,
            serial: Some(disk_serial(&disk.serial, &vm.base.id, disk.key)),
            ..KvDisk::default()
        };
        if as_lun {
            let mut lun = Object::new();
            lun.insert("bus".to_string(), json!(SCSI));
            if disk.shared && reservation {
                lun.insert("reservation".to_string(), json!(true));
            }
            kv.lun = Some(lun);
        } else {
            kv.disk = Some(DiskTarget {
                bus: Some(if compat { SATA } else { VIRTIO }.to_string()),
                ..DiskTarget::default()
            });
        }
        if disk.shared {
            kv.extra.insert("shareable".to_string(), json!(true));
            kv.extra.insert("cache".to_string(), json!("none"));
            if as_lun {
                kv.extra.insert("errorPolicy".to_string(), json!("report"));
            }
        }
        disks.push(kv);
    }
    if disks.is_empty() && !vm.disks().is_empty() {
        return Err(AdapterError::Build(format!(
            "no disks were successfully mapped for VM {}",
            vm.base.name
        )));
    }
    if let Some(boot) = boot_disk(view, vm, status)
        && let Some(disk) = disks.get_mut(boot)
    {
        disk.boot_order = Some(1);
    }
    Ok((volumes, disks))
}

/// Upstream `mapFirmware`.
pub fn firmware(vm: &Vm, vmware_serial: bool) -> (Firmware, Option<Features>) {
    let serial = if vmware_serial {
        uuid_to_vmware_serial(&vm.uuid)
    } else {
        vm.uuid.clone()
    };
    let mut out = Firmware {
        serial: Some(serial).filter(|s| !s.is_empty()),
        ..Firmware::default()
    };
    if vm.firmware == firmware::EFI {
        out.bootloader = Some(Bootloader {
            efi: Some(Efi {
                secure_boot: Some(vm.secure_boot),
                ..Efi::default()
            }),
            ..Bootloader::default()
        });
        let features = vm.secure_boot.then(|| Features {
            smm: Some(FeatureState {
                enabled: Some(true),
            }),
            ..Features::default()
        });
        (out, features)
    } else {
        out.bootloader = Some(Bootloader {
            bios: Some(Object::new()),
            ..Bootloader::default()
        });
        (out, None)
    }
}

/// Upstream `mapCPU`.
pub fn cpu(view: &PlanView<'_>, vm: &Vm) -> Result<Cpu, AdapterError> {
    let cores = if vm.cores_per_socket <= 0 {
        1
    } else {
        vm.cores_per_socket
    };
    let too_many = || {
        AdapterError::Build(format!(
            "VM {} has {} CPUs with {} cores per socket, more than KubeVirt accepts",
            vm.base.name, vm.cpu_count, vm.cores_per_socket
        ))
    };
    let sockets = match vm.cpu_count / cores {
        sockets if sockets <= 0 => None,
        sockets => Some(u32::try_from(sockets).map_err(|_| too_many())?),
    };
    let mut out = Cpu {
        sockets,
        cores: Some(u32::try_from(cores).map_err(|_| too_many())?),
        ..Cpu::default()
    };
    let nested = plan_vm(view, vm)
        .and_then(|planned| planned.enable_nested_virtualization)
        .or(view.plan.spec.enable_nested_virtualization)
        .or(vm.nested_hv_enabled.then_some(true));
    if let Some(enabled) = nested {
        let policy = if enabled { "optional" } else { "disable" };
        out.features = ["vmx", "svm"]
            .into_iter()
            .map(|name| CpuFeature {
                name: name.to_string(),
                policy: Some(policy.to_string()),
            })
            .collect();
    }
    Ok(out)
}

/// Upstream `mapMemory`.
pub fn memory(vm: &Vm) -> Result<Memory, AdapterError> {
    let bytes = vm.memory_mb.checked_mul(1 << 20).ok_or_else(|| {
        AdapterError::Build(format!(
            "VM {} has {} MiB of memory, more than can be expressed",
            vm.base.name, vm.memory_mb
        ))
    })?;
    Ok(Memory {
        guest: Some(binary_si(bytes)),
        ..Memory::default()
    })
}

/// Upstream `buildNICResolver`: the map pairs by the keys NICs name networks with (the
/// network ID, and for port groups and opaque networks their key).
fn pairs_by_network<'a>(
    view: &PlanView<'a>,
    workload: &Workload,
) -> Result<BTreeMap<String, Vec<&'a NetworkPair>>, AdapterError> {
    let mut out: BTreeMap<String, Vec<&NetworkPair>> = BTreeMap::new();
    let Some(map) = view.network_map else {
        return Ok(out);
    };
    for pair in &map.spec.map {
        let found = match view
            .inventory
            .find(Kind::Network, &inventory_ref(&pair.source.reference()))
        {
            Ok(found) => found,
            // An entry whose network is not in the inventory matches no NIC (upstream
            // fails the VM instead).
            Err(FindError::NotFound { .. }) => continue,
            Err(error) => return Err(AdapterError::Inventory(error.to_string())),
        };
        if let Some(network) = workload.snapshot.network(&found.id)
            && (network.base.variant == variant::DV_PORT_GROUP
                || network.base.variant == variant::OPAQUE_NETWORK)
            && !network.key.is_empty()
        {
            out.entry(network.key.clone()).or_default().push(pair);
        }
        out.entry(found.id).or_default().push(pair);
    }
    Ok(out)
}

type Networks = (
    Vec<KvNetwork>,
    Vec<Interface>,
    BTreeMap<String, Vec<String>>,
);

/// Upstream `mapNetworks`.
fn networks(
    view: &PlanView<'_>,
    workload: &Workload,
    options: &Options,
    compat: bool,
) -> Result<Networks, AdapterError> {
    let vm = &workload.vm;
    let by_network = pairs_by_network(view, workload)?;
    let template = network_name_template(view, vm);
    let mut pool = NadPool::new();
    let mut networks = Vec::new();
    let mut interfaces = Vec::new();
    let mut static_ips: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for nic in vm.nics() {
        let pairs = by_network
            .get(&nic.network.id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(pair) = allocate_network(&mut pool, pairs) else {
            continue;
        };
        let destination = &pair.destination;
        if destination.r#type == DestinationNetworkType::Ignored {
            continue;
        }
        let index = networks.len();
        let mut name = format!("net-{index}");
        if !template.is_empty() {
            let data = NetworkNameData {
                network_name: destination.name.clone(),
                network_namespace: destination.namespace.clone(),
                network_type: destination.r#type.to_string(),
                network_index: i64::try_from(index).unwrap_or(i64::MAX),
            };
            if let Some(rendered) = render_name(template, &data.to_value()) {
                name = rendered;
            }
        }
        let mut network = KvNetwork {
            name: name.clone(),
            ..KvNetwork::default()
        };
        let mut interface = Interface {
            name: name.clone(),
            model: Some(if compat { E1000E } else { VIRTIO }.to_string()),
            ..Interface::default()
        };
        if !options.udn || options.udn_supports_mac {
            interface.mac_address = Some(nic.mac.clone()).filter(|mac| !mac.is_empty());
        }
        if !nic.pci_address.is_empty() {
            interface
                .extra
                .insert("pciAddress".to_string(), json!(nic.pci_address));
        }
        if !nic.start_connected {
            interface.extra.insert("state".to_string(), json!("down"));
        }
        match &destination.r#type {
            DestinationNetworkType::Pod => {
                network.pod = Some(Object::new());
                if options.udn {
                    interface.binding =
                        Some(Object::from([("name".to_string(), json!(UDN_L2BRIDGE))]));
                    if view.plan.spec.preserve_static_ips() {
                        let ips: Vec<String> = vm
                            .guest_networks
                            .iter()
                            .flatten()
                            .filter(|g| g.device_config_id == nic.device_key)
                            .filter(|g| g.ip.parse::<std::net::Ipv4Addr>().is_ok())
                            .map(|g| g.ip.clone())
                            .collect();
                        if !ips.is_empty() {
                            static_ips.insert(name.clone(), ips);
                        }
                    }
                } else {
                    interface.masquerade = Some(Object::new());
                }
            }
            DestinationNetworkType::Multus => {
                network.multus = Some(MultusNetwork {
                    network_name: if destination.namespace.is_empty() {
                        destination.name.clone()
                    } else {
                        format!("{}/{}", destination.namespace, destination.name)
                    },
                    default: None,
                });
                interface.bridge = Some(Object::new());
            }
            other => {
                return Err(AdapterError::Build(format!(
                    "the network map sends network '{}' to a destination of type '{other}', \
                     which is neither 'pod' nor 'multus'",
                    nic.network.id
                )));
            }
        }
        networks.push(network);
        interfaces.push(interface);
    }
    Ok((networks, interfaces, static_ips))
}
