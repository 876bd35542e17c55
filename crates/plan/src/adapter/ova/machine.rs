//! The provider part of an OVA VM's VirtualMachine (upstream `ovfbase` `VirtualMachine`:
//! `mapDisks`, `mapFirmware`, `mapInput`, `mapCPU`, `mapMemory`, `mapNetworks`).
//!
//! - **Disks**, in descriptor order: volume `vol-<i>` on the PVC whose
//!   `forklift.konveyor.io/disk-source` annotation is the disk's source, bus `virtio`,
//!   `serial` = [`disk_serial`] of the OVF `diskId`.
//! - **Firmware**: the descriptor's `firmware` (VMware's `vmw:Config`), else the one
//!   virt-v2v detected (`status.firmware`). `efi`/`uefi` give an EFI boot loader with the
//!   descriptor's secure boot flag, plus SMM when secure boot is on; anything else BIOS.
//!   The SMBIOS serial is the VM's UUID.
//! - **Input**: a virtio tablet.
//! - **CPU and memory** (not with an instance type): `sockets = CpuCount / CoresPerSocket`,
//!   `cores = CoresPerSocket` (0 counts as 1); nested virtualization features `vmx`/`svm`
//!   from the plan VM, else the plan; guest memory from the memory item in its units.
//! - **Networks**: map entries (not `ignored`) grouped by the name of their source network;
//!   each NIC takes an entry of its `Connection` network through a per-VM NAD pool, so
//!   NICs on one network get distinct NADs. NICs without an entry are left out. Network
//!   and interface `net-<n>`, model `virtio`, the source MAC; `pod` is masqueraded
//!   (`l2bridge` binding under a primary user-defined network), `multus` bridged.
//!
//! Upstream ignores the plan's volume and network name templates for OVA, and so does
//! Ferry. Where upstream would panic (a disk without its PVC) or wrap an integer (a
//! negative or huge CPU count), Ferry reports a build error or leaves the value to
//! KubeVirt's default.

use super::binary_si;
use crate::adapter::{AdapterError, PlanView, inventory_ref};
use crate::kubevirt::serial::disk_serial;
use crate::network::{NadPool, allocate_network};
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
use ferry_inventory::ova::model::Vm;
use ferry_inventory::{FindError, Kind};
use serde_json::json;
use std::collections::BTreeMap;

/// Firmware values (upstream `BIOS`, `EFI`, `UEFI`).
pub mod firmware {
    /// BIOS.
    pub const BIOS: &str = "bios";
    /// EFI, as VMware's descriptors write it.
    pub const EFI: &str = "efi";
    /// UEFI, as virt-v2v reports it.
    pub const UEFI: &str = "uefi";
}

/// The disk bus, NIC model and input bus.
pub const VIRTIO: &str = "virtio";
/// The pod-network binding under a primary user-defined network.
pub const UDN_L2BRIDGE: &str = "l2bridge";

/// What the VirtualMachine depends on besides the plan and the inventory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The target namespace has a primary user-defined network (upstream
    /// `DestinationHasUdnNetwork`): pod NICs bind with `l2bridge` instead of masquerade.
    pub udn: bool,
    /// Such a network keeps the source MACs (upstream `UdnSupportsMac`, OpenShift 4.20 and
    /// later).
    pub udn_supports_mac: bool,
}

impl Options {
    /// The options the plan view can tell: the OpenShift version gives
    /// `udn_supports_mac`. The view does not say whether the target namespace has a
    /// primary user-defined network, so `udn` is false here; callers that know pass their
    /// own [`Options`] to [`virtual_machine`].
    pub fn from_view(view: &PlanView<'_>) -> Self {
        Self {
            udn: false,
            udn_supports_mac: version_at_least(&view.settings.openshift_version, 4, 20),
        }
    }
}

/// Whether a version such as `4.20.0-0` or `4.19.3` is at least `major.minor`. An empty or
/// unreadable version is not.
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

/// The VirtualMachine of an OVA VM: spec only (no name, namespace, labels or run
/// strategy; the engine adds them). `status` is the VM's migration status (its plan
/// entry and the firmware virt-v2v found); `pvcs` are the VM's PVCs.
pub fn virtual_machine(
    view: &PlanView<'_>,
    vm: &Vm,
    status: &VmStatus,
    pvcs: &[PersistentVolumeClaim],
    options: &Options,
) -> Result<VirtualMachine, AdapterError> {
    let mut spec = VirtualMachineInstanceSpec::default();
    let (volumes, disks) = disks(vm, pvcs)?;
    spec.volumes = volumes;
    spec.domain.devices.disks = disks;
    let (firmware, features) = firmware(vm, &status.firmware);
    spec.domain.firmware = Some(firmware);
    if let Some(features) = features {
        spec.domain.features = Some(features);
    }
    spec.domain.devices.extra.insert(
        "inputs".to_string(),
        json!([{"type": "tablet", "name": "tablet", "bus": VIRTIO}]),
    );
    if status.vm.instance_type.is_empty() {
        let nested = status
            .vm
            .enable_nested_virtualization
            .or(view.plan.spec.enable_nested_virtualization);
        spec.domain.cpu = Some(cpu(vm, nested)?);
        spec.domain.memory = Some(memory(vm)?);
    }
    let (networks, interfaces) = networks(view, vm, options)?;
    spec.networks = networks;
    spec.domain.devices.interfaces = interfaces;
    let mut machine = VirtualMachine::new(
        "",
        "",
        VirtualMachineSpec {
            template: VirtualMachineInstanceTemplateSpec {
                spec,
                ..VirtualMachineInstanceTemplateSpec::default()
            },
            ..VirtualMachineSpec::default()
        },
    );
    machine.metadata.name = None;
    machine.metadata.namespace = None;
    Ok(machine)
}

/// Upstream `mapDisks`: a volume and a virtio disk per descriptor disk.
fn disks(
    vm: &Vm,
    pvcs: &[PersistentVolumeClaim],
) -> Result<(Vec<Volume>, Vec<KvDisk>), AdapterError> {
    let by_source: BTreeMap<&str, &PersistentVolumeClaim> = pvcs
        .iter()
        .filter_map(|pvc| {
            let source = pvc
                .metadata
                .annotations
                .as_ref()?
                .get(annotation::DISK_SOURCE)?;
            Some((source.as_str(), pvc))
        })
        .collect();
    let mut volumes = Vec::with_capacity(vm.disks.len());
    let mut disks = Vec::with_capacity(vm.disks.len());
    for (index, disk) in vm.disks.iter().enumerate() {
        let source = disk.disk_source();
        let claim_name = by_source
            .get(source.as_str())
            .and_then(|pvc| pvc.metadata.name.clone())
            .ok_or_else(|| {
                AdapterError::Build(format!(
                    "failed to find persistent volume for disk {source}"
                ))
            })?;
        let name = format!("vol-{index}");
        volumes.push(Volume {
            name: name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name,
                ..PersistentVolumeClaimVolumeSource::default()
            }),
            ..Volume::default()
        });
        disks.push(KvDisk {
            name,
            disk: Some(DiskTarget {
                bus: Some(VIRTIO.to_string()),
                ..DiskTarget::default()
            }),
            serial: Some(disk_serial(
                &disk.disk_id,
                &vm.id,
                i64::try_from(index).unwrap_or(i64::MAX),
            )),
            ..KvDisk::default()
        });
    }
    Ok((volumes, disks))
}

/// Upstream `mapFirmware`: the firmware and, with secure boot on EFI, the SMM feature.
/// `detected` is the firmware virt-v2v reported (`status.firmware`), used when the
/// descriptor has none.
pub fn firmware(vm: &Vm, detected: &str) -> (Firmware, Option<Features>) {
    let kind = if vm.firmware.is_empty() {
        detected
    } else {
        vm.firmware.as_str()
    };
    let mut out = Firmware {
        serial: Some(vm.uuid.clone()).filter(|uuid| !uuid.is_empty()),
        ..Firmware::default()
    };
    match kind {
        firmware::EFI | firmware::UEFI => {
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
        }
        _ => {
            out.bootloader = Some(Bootloader {
                bios: Some(Object::new()),
                ..Bootloader::default()
            });
            (out, None)
        }
    }
}

/// Upstream `mapCPU`.
fn cpu(vm: &Vm, nested: Option<bool>) -> Result<Cpu, AdapterError> {
    let cores = if vm.cores_per_socket <= 0 {
        1
    } else {
        vm.cores_per_socket
    };
    let too_many = || {
        AdapterError::Build(format!(
            "VM {} declares {} CPUs with {} cores per socket, more than KubeVirt accepts",
            vm.name, vm.cpu_count, vm.cores_per_socket
        ))
    };
    let sockets = match vm.cpu_count / cores {
        // No CPU item (or a nonsensical count): KubeVirt's default topology.
        sockets if sockets <= 0 => None,
        sockets => Some(u32::try_from(sockets).map_err(|_| too_many())?),
    };
    let mut out = Cpu {
        sockets,
        cores: Some(u32::try_from(cores).map_err(|_| too_many())?),
        ..Cpu::default()
    };
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

/// Upstream `mapMemory`: the memory item in its allocation units, in bytes.
fn memory(vm: &Vm) -> Result<Memory, AdapterError> {
    let bytes = vm
        .memory_bytes()
        .map_err(|error| AdapterError::Build(format!("VM {} memory: {error}", vm.name)))?;
    if bytes <= 0 {
        return Err(AdapterError::Build(format!(
            "VM {} has no memory size in its descriptor (memory item {} '{}')",
            vm.name, vm.memory, vm.memory_units
        )));
    }
    Ok(Memory {
        guest: Some(binary_si(bytes)),
        ..Memory::default()
    })
}

/// Upstream `resolveNICMappings` + `mapNetworks`.
fn networks(
    view: &PlanView<'_>,
    vm: &Vm,
    options: &Options,
) -> Result<(Vec<KvNetwork>, Vec<Interface>), AdapterError> {
    let Some(map) = view.network_map else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut by_network: BTreeMap<String, Vec<&NetworkPair>> = BTreeMap::new();
    for pair in &map.spec.map {
        if pair.destination.r#type == DestinationNetworkType::Ignored {
            continue;
        }
        // An entry whose network is not in the inventory matches no NIC (upstream fails
        // the VM instead).
        match view
            .inventory
            .find(Kind::Network, &inventory_ref(&pair.source.reference()))
        {
            Ok(found) => by_network.entry(found.name).or_default().push(pair),
            Err(FindError::NotFound { .. }) => {}
            Err(error) => return Err(AdapterError::Inventory(error.to_string())),
        }
    }
    let mut pool = NadPool::new();
    let mut networks = Vec::new();
    let mut interfaces = Vec::new();
    for nic in &vm.nics {
        let pairs = by_network
            .get(&nic.network)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(pair) = allocate_network(&mut pool, pairs) else {
            continue;
        };
        let name = format!("net-{}", networks.len());
        let mut network = KvNetwork {
            name: name.clone(),
            ..KvNetwork::default()
        };
        let mut interface = Interface {
            name,
            model: Some(VIRTIO.to_string()),
            ..Interface::default()
        };
        if (!options.udn || options.udn_supports_mac) && !nic.mac.is_empty() {
            interface.mac_address = Some(nic.mac.clone());
        }
        let destination = &pair.destination;
        match &destination.r#type {
            DestinationNetworkType::Pod => {
                network.pod = Some(Object::new());
                if options.udn {
                    interface.binding =
                        Some(Object::from([("name".to_string(), json!(UDN_L2BRIDGE))]));
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
                    nic.network
                )));
            }
        }
        networks.push(network);
        interfaces.push(interface);
    }
    Ok((networks, interfaces))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_inventory::ova::model::ExportSource;

    fn model(firmware: &str, secure_boot: bool) -> Vm {
        Vm {
            id: String::new(),
            name: "vm".into(),
            ovf_path: "/ova/vm.ova".into(),
            export_source: ExportSource::VMware,
            os_type: String::new(),
            revision: 1,
            uuid: String::new(),
            firmware: firmware.into(),
            secure_boot,
            cpu_hot_add_enabled: false,
            cpu_hot_remove_enabled: false,
            memory_hot_add_enabled: false,
            cpu_count: 0,
            cores_per_socket: 0,
            memory: 0,
            memory_units: String::new(),
            cpu_units: String::new(),
            devices: Vec::new(),
            nics: Vec::new(),
            disks: Vec::new(),
            networks: Vec::new(),
            concerns: Vec::new(),
        }
    }

    fn efi(secure_boot: bool) -> Option<Bootloader> {
        Some(Bootloader {
            efi: Some(Efi {
                secure_boot: Some(secure_boot),
                ..Efi::default()
            }),
            ..Bootloader::default()
        })
    }

    fn bios() -> Option<Bootloader> {
        Some(Bootloader {
            bios: Some(Object::new()),
            ..Bootloader::default()
        })
    }

    fn smm() -> Option<FeatureState> {
        Some(FeatureState {
            enabled: Some(true),
        })
    }

    /// One row of upstream's firmware table.
    struct Case {
        name: &'static str,
        firmware: &'static str,
        secure_boot: bool,
        /// The firmware virt-v2v reported (`status.firmware`).
        detected: &'static str,
        bootloader: Option<Bootloader>,
        smm: Option<FeatureState>,
    }

    /// Upstream `firmware_test.go` (`TestMapFirmware`).
    #[test]
    fn upstream_firmware_table() {
        let case = |name, firmware, secure_boot, detected, bootloader, smm| Case {
            name,
            firmware,
            secure_boot,
            detected,
            bootloader,
            smm,
        };
        let cases = [
            case(
                "UEFI with SecureBoot enabled",
                "uefi",
                true,
                "",
                efi(true),
                smm(),
            ),
            case(
                "UEFI with SecureBoot disabled",
                "uefi",
                false,
                "",
                efi(false),
                None,
            ),
            case(
                "BIOS firmware ignores SecureBoot",
                "bios",
                true,
                "",
                bios(),
                None,
            ),
            case(
                "Empty firmware defaults to BIOS",
                "",
                false,
                "",
                bios(),
                None,
            ),
            case(
                "Empty firmware falls back to the migration status UEFI with SecureBoot",
                "",
                true,
                "uefi",
                efi(true),
                smm(),
            ),
            case(
                "OVF 'efi' maps to EFI (not BIOS)",
                "efi",
                false,
                "",
                efi(false),
                None,
            ),
            case(
                "OVF 'efi' with SecureBoot enabled",
                "efi",
                true,
                "",
                efi(true),
                smm(),
            ),
        ];
        for case in cases {
            let (firmware, features) =
                firmware(&model(case.firmware, case.secure_boot), case.detected);
            assert_eq!(firmware.bootloader, case.bootloader, "{}", case.name);
            assert_eq!(features.and_then(|f| f.smm), case.smm, "{}", case.name);
            assert_eq!(firmware.serial, None, "{}: no UUID, no serial", case.name);
        }
    }

    #[test]
    fn the_descriptor_wins_over_virt_v2v_and_values_are_exact() {
        let loader = |vm: &Vm, detected: &str| firmware(vm, detected).0.bootloader;
        assert_eq!(loader(&model("bios", false), "uefi"), bios());
        assert_eq!(loader(&model("", false), "bios"), bios());
        // Upstream compares exactly: `EFI` is not `efi`.
        assert_eq!(loader(&model("EFI", true), ""), bios());
        let mut vm = model("efi", false);
        vm.uuid = "42".into();
        assert_eq!(firmware_serial(&vm), Some("42".to_string()));
    }

    fn firmware_serial(vm: &Vm) -> Option<String> {
        firmware(vm, "").0.serial
    }

    #[test]
    fn cpu_topology() {
        let mut vm = model("", false);
        for (count, cores_per_socket, sockets, cores) in [
            (4, 2, Some(4 / 2), 2),
            (4, 0, Some(4), 1),
            (3, 2, Some(1), 2),
            (1, 2, None, 2),
            (0, 0, None, 1),
            (-3, 1, None, 1),
            (8, -2, Some(8), 1),
        ] {
            vm.cpu_count = count;
            vm.cores_per_socket = cores_per_socket;
            let out = cpu(&vm, None).unwrap();
            assert_eq!(
                (out.sockets, out.cores),
                (sockets, Some(cores)),
                "{count}/{cores_per_socket}"
            );
            assert!(out.features.is_empty());
        }
        vm.cpu_count = i64::MAX;
        vm.cores_per_socket = 1;
        assert!(matches!(cpu(&vm, None), Err(AdapterError::Build(_))));
        vm.cpu_count = 2;
        let on = cpu(&vm, Some(true)).unwrap();
        assert_eq!(
            on.features
                .iter()
                .map(|f| (f.name.as_str(), f.policy.as_deref()))
                .collect::<Vec<_>>(),
            [("vmx", Some("optional")), ("svm", Some("optional"))]
        );
        let off = cpu(&vm, Some(false)).unwrap();
        assert!(
            off.features
                .iter()
                .all(|f| f.policy.as_deref() == Some("disable"))
        );
    }

    /// Guest memory through upstream's capacity rules (`capacity_test.go` units).
    #[test]
    fn memory_in_its_units() {
        let mut vm = model("", false);
        for (quantity, units, guest) in [
            (2048, "byte * 2^20", "2Gi"),
            (1024, "MegaBytes", "1Gi"),
            (3, "byte * 2^30", "3Gi"),
            (2, "byte * 1024", "2Ki"),
            (1, "byte*3*2^10", "3Ki"),
            (1, "byte * 3^10", "59049"),
            (1_073_741_824, "", "1Gi"),
            (20, "byte", "20"),
        ] {
            vm.memory = quantity;
            vm.memory_units = units.into();
            assert_eq!(
                memory(&vm).unwrap().guest.as_deref(),
                Some(guest),
                "{quantity} {units}"
            );
        }
        for (quantity, units) in [
            (100, "byte*2^"),
            (10, "kilobytes"),
            (1, "byte + 2^20"),
            (0, "byte"),
            (-1, "byte * 2^20"),
        ] {
            vm.memory = quantity;
            vm.memory_units = units.into();
            let error = memory(&vm).unwrap_err();
            assert!(
                matches!(error, AdapterError::Build(_)),
                "{quantity} {units}"
            );
        }
    }

    #[test]
    fn versions() {
        assert!(version_at_least("4.20.0-0", 4, 20));
        assert!(version_at_least("v4.21", 4, 20));
        assert!(version_at_least("5.0", 4, 20));
        assert!(!version_at_least("4.19.9", 4, 20));
        assert!(!version_at_least("", 4, 20));
        assert!(!version_at_least("four", 4, 20));
    }
}
