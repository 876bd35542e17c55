//! From a parsed descriptor to inventory resources (pure): upstream's `convert.go`.
//!
//! One VM per `VirtualSystem`. Upstream's mapping, kept:
//!
//! - items by `ResourceType`: 3 → CPU count, units and cores per socket (absent → 0,
//!   unparsable → 1); 4 → memory and its units (raw, not converted); 10 → a NIC
//!   (`ElementName`, `Address` as MAC, `Connection` as network name); anything else → a
//!   device whose kind is `ElementName` without trailing digits/spaces, else
//!   `Description`, else `Unknown`. A later item of the same type overrides an earlier;
//! - disks: **every** `DiskSection/Disk` of the envelope, for every VirtualSystem, named
//!   by the `References/File` at the **same position** (not by `fileRef`);
//! - networks: every `NetworkSection/Network` of the envelope;
//! - `vmw:Config` then `vmw:ExtraConfig` keys: `firmware`,
//!   `bootOptions.efiSecureBootEnabled` / `uefi.secureBoot.enabled`,
//!   `memoryHotAddEnabled`, `cpuHotAddEnabled`, `cpuHotRemoveEnabled` (Go `ParseBool`;
//!   an unparsable value means false);
//! - IDs: networks and disks by upstream's gob hash ([`crate::gob`]); the VM by its
//!   `VirtualSystem/@id` when that is a UUID.
//!
//! Where Ferry differs, on purpose:
//!
//! - a Disk with no File at its position does not crash the server (upstream indexes out
//!   of range); the disk is listed with an empty name and a concern;
//! - a VM whose `@id` is not a UUID gets [`ferry_vm_id`], a stable hash of its descriptor
//!   path and position. Upstream hashes the whole VM with gob in a way that depends on
//!   the server process's type registration order, so those IDs cannot be reproduced;
//!   refer to such VMs by name (as Forklift's own documentation does);
//! - a VirtualSystem without `Name` (VirtualBox exports have none) is named by its
//!   `@id` rather than left nameless;
//! - the disk path of an `.OVF` file is its directory whatever the suffix's case
//!   (upstream compares the extension case-sensitively).

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use super::concerns::Finding;
use super::model::{Device, Disk, ExportSource, Network, Nic, Vm};
use super::ovf::{Config, Envelope, Int, VirtualSystem};
use crate::gob::{self, VmDiskRecord};

/// CPU allocation (`ResourceType` 3).
const RESOURCE_PROCESSOR: i64 = 3;
/// Memory allocation (`ResourceType` 4).
const RESOURCE_MEMORY: i64 = 4;
/// Ethernet adapter (`ResourceType` 10).
const RESOURCE_ETHERNET: i64 = 10;

/// Whether a descriptor came alone or inside an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplianceKind {
    /// A `.ova` tar archive.
    Ova,
    /// A standalone `.ovf` descriptor next to its disk files.
    Ovf,
}

/// A descriptor that was read and parsed, with what the I/O layer learnt about the
/// files around it.
#[derive(Debug, Clone)]
pub struct Appliance {
    /// The `.ova` or `.ovf` path as the conversion pod sees it (e.g. `/ova/vm.ova`).
    pub ovf_path: String,
    /// Archive or standalone descriptor.
    pub kind: ApplianceKind,
    /// The parsed descriptor.
    pub envelope: Envelope,
    /// The disk file names present next to the descriptor: the archive's regular
    /// members, or the files of the `.ovf` directory that the descriptor names.
    pub present_files: HashSet<String>,
    /// Archive members that are links or whose path is absolute or climbs with `..`.
    pub unsafe_entries: Vec<String>,
    /// How the archive is truncated or damaged after the descriptor, if it is.
    pub damage: Option<String>,
}

/// The resources one appliance contributes.
#[derive(Debug, Clone, Default)]
pub struct Converted {
    /// One per VirtualSystem, with findings for [`super::concerns::assess`].
    pub vms: Vec<(Vm, Vec<Finding>)>,
    /// Every disk of the envelope.
    pub disks: Vec<Disk>,
    /// Every network of the envelope.
    pub networks: Vec<Network>,
}

/// Converts one appliance.
pub fn convert(appliance: &Appliance) -> Converted {
    let envelope = &appliance.envelope;
    let export_source = guess_source(&envelope.attribute_values);
    let (disks, disk_findings) = disks(appliance);
    let networks: Vec<Network> = envelope
        .networks
        .iter()
        .map(|network| Network {
            id: gob::network_id(&network.name),
            name: network.name.clone(),
            description: network.description.clone(),
        })
        .collect();
    let mut archive_findings = Vec::new();
    if !appliance.unsafe_entries.is_empty() {
        archive_findings.push(Finding::ArchiveUnsafeEntries(
            appliance.unsafe_entries.clone(),
        ));
    }
    if let Some(damage) = &appliance.damage {
        archive_findings.push(Finding::ArchiveDamaged(damage.clone()));
    }
    let vms = envelope
        .systems
        .iter()
        .enumerate()
        .map(|(index, system)| {
            let mut findings = disk_findings.clone();
            findings.extend(archive_findings.iter().cloned());
            let vm = vm(
                appliance,
                index,
                system,
                export_source,
                &disks,
                &networks,
                &mut findings,
            );
            (vm, findings)
        })
        .collect();
    Converted {
        vms,
        disks,
        networks,
    }
}

/// Upstream `GuessSource`: a product namespace among the envelope's attribute values.
pub fn guess_source(values: &[String]) -> ExportSource {
    let mut vmware = false;
    for value in values {
        match value.as_str() {
            "http://schemas.citrix.com/ovf/envelope/1"
            | "http://www.citrix.com/xenclient/ovf/1" => {
                return ExportSource::Xen;
            }
            "http://www.virtualbox.org/ovf/machine" => return ExportSource::VirtualBox,
            "http://www.ovirt.org/ovf" => return ExportSource::Ovirt,
            other => vmware |= other.contains("http://www.vmware.com/schema/ovf"),
        }
    }
    if vmware {
        ExportSource::VMware
    } else {
        ExportSource::Unknown
    }
}

/// Upstream `GetDiskPath`: the archive itself, or the descriptor's directory with a
/// trailing `/`.
pub fn disk_path(ovf_path: &str, kind: ApplianceKind) -> String {
    match kind {
        ApplianceKind::Ova => ovf_path.to_owned(),
        ApplianceKind::Ovf => match ovf_path.rfind('/') {
            Some(slash) => ovf_path[..=slash].to_owned(),
            None => ovf_path.to_owned(),
        },
    }
}

/// Ferry's ID for a VM whose `VirtualSystem/@id` is not a UUID: the first 36 hex
/// characters of `sha256("ferry.ova.vm\n<ovf path>\n<index of the VirtualSystem>")`.
/// Stable for as long as the appliance stays at the same path.
pub fn ferry_vm_id(ovf_path: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("ferry.ova.vm\n{ovf_path}\n{index}"));
    let mut id = hex::encode(digest);
    id.truncate(36);
    id
}

fn disks(appliance: &Appliance) -> (Vec<Disk>, Vec<Finding>) {
    let envelope = &appliance.envelope;
    let file_path = disk_path(&appliance.ovf_path, appliance.kind);
    let mut findings = Vec::new();
    let disks = envelope
        .disks
        .iter()
        .enumerate()
        .map(|(position, descriptor)| {
            let name = match envelope.files.get(position) {
                Some(href) => href.clone(),
                None => {
                    findings.push(Finding::DiskWithoutFile {
                        disk_id: descriptor.disk_id.clone(),
                        position,
                    });
                    String::new()
                }
            };
            if !name.is_empty() {
                if !is_plain_relative(&name) {
                    findings.push(Finding::DiskFileUnsafe { name: name.clone() });
                } else if !appliance.present_files.contains(&name) {
                    findings.push(Finding::DiskFileMissing {
                        name: name.clone(),
                        kind: appliance.kind,
                    });
                }
            }
            if let Int::Invalid(value) = &descriptor.capacity {
                findings.push(Finding::DiskCapacityUnreadable {
                    name: name.clone(),
                    value: value.clone(),
                });
            }
            if let Int::Invalid(value) = &descriptor.populated_size {
                findings.push(Finding::InvalidNumber {
                    element: "Disk/@populatedSize",
                    value: value.clone(),
                });
            }
            let capacity = descriptor.capacity.value();
            let populated_size = descriptor.populated_size.value();
            let id = gob::disk_id(&VmDiskRecord {
                name: &name,
                file_path: &file_path,
                capacity,
                capacity_allocation_units: &descriptor.capacity_allocation_units,
                disk_id: &descriptor.disk_id,
                file_ref: &descriptor.file_ref,
                format: &descriptor.format,
                populated_size,
            });
            Disk {
                id,
                name,
                file_path: file_path.clone(),
                capacity,
                capacity_allocation_units: descriptor.capacity_allocation_units.clone(),
                disk_id: descriptor.disk_id.clone(),
                file_ref: descriptor.file_ref.clone(),
                format: descriptor.format.clone(),
                populated_size,
            }
        })
        .collect();
    (disks, findings)
}

/// A disk file reference the conversion can open inside the appliance: relative, and
/// never climbing out with `..`.
pub fn is_plain_relative(href: &str) -> bool {
    !href.starts_with('/')
        && !href.contains('\\')
        && !href.contains('\0')
        && href.split('/').all(|segment| segment != "..")
}

fn vm(
    appliance: &Appliance,
    index: usize,
    system: &VirtualSystem,
    export_source: ExportSource,
    disks: &[Disk],
    networks: &[Network],
    findings: &mut Vec<Finding>,
) -> Vm {
    let id = if uuid::Uuid::try_parse(&system.id).is_ok() {
        system.id.clone()
    } else {
        ferry_vm_id(&appliance.ovf_path, index)
    };
    let name = match &system.name {
        Some(name) if !name.is_empty() => name.clone(),
        _ => system.id.clone(),
    };
    let mut vm = Vm {
        uuid: id.clone(),
        id,
        name,
        ovf_path: appliance.ovf_path.clone(),
        export_source,
        os_type: system.os_type.clone(),
        revision: 1,
        firmware: String::new(),
        secure_boot: false,
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
        disks: disks.to_vec(),
        networks: networks.to_vec(),
        concerns: Vec::new(),
    };
    for item in &system.items {
        let resource_type = match &item.resource_type {
            Int::Value(value) => Some(*value),
            Int::Invalid(value) => {
                findings.push(Finding::InvalidNumber {
                    element: "Item/ResourceType",
                    value: value.clone(),
                });
                None
            }
        };
        let quantity = || match &item.virtual_quantity {
            Int::Value(value) => (*value, None),
            Int::Invalid(value) => (
                0,
                Some(Finding::InvalidNumber {
                    element: "Item/VirtualQuantity",
                    value: value.clone(),
                }),
            ),
        };
        match resource_type {
            Some(RESOURCE_PROCESSOR) => {
                let (count, finding) = quantity();
                findings.extend(finding);
                vm.cpu_count = count;
                vm.cpu_units = item.allocation_units.clone();
                if !item.cores_per_socket.is_empty() {
                    vm.cores_per_socket = item.cores_per_socket.parse::<i32>().map_or(1, i64::from);
                }
            }
            Some(RESOURCE_MEMORY) => {
                let (memory, finding) = quantity();
                findings.extend(finding);
                vm.memory = memory;
                vm.memory_units = item.allocation_units.clone();
            }
            Some(RESOURCE_ETHERNET) => vm.nics.push(Nic {
                name: item.element_name.clone(),
                mac: item.address.clone(),
                network: item.connection.clone(),
            }),
            _ => vm.devices.push(Device {
                kind: device_kind(&item.element_name, &item.description),
            }),
        }
    }
    for config in system.configs.iter().chain(&system.extra_configs) {
        apply_config(&mut vm, config);
    }
    vm
}

/// Upstream's device kind: `ElementName` without its trailing number ("Hard disk 1" →
/// "Hard disk"), else `Description`, else `Unknown`.
fn device_kind(element_name: &str, description: &str) -> String {
    let kind = if element_name.is_empty() {
        description
    } else {
        element_name.trim_end_matches(|c: char| c.is_numeric() || c.is_whitespace())
    };
    if kind.is_empty() {
        "Unknown".to_owned()
    } else {
        kind.to_owned()
    }
}

fn apply_config(vm: &mut Vm, config: &Config) {
    let value = &config.value;
    match config.key.as_str() {
        "firmware" => vm.firmware = value.clone(),
        "bootOptions.efiSecureBootEnabled" | "uefi.secureBoot.enabled" => {
            vm.secure_boot = go_parse_bool(value);
        }
        "memoryHotAddEnabled" => vm.memory_hot_add_enabled = go_parse_bool(value),
        "cpuHotAddEnabled" => vm.cpu_hot_add_enabled = go_parse_bool(value),
        "cpuHotRemoveEnabled" => vm.cpu_hot_remove_enabled = go_parse_bool(value),
        _ => {}
    }
}

/// Go `strconv.ParseBool`, with upstream's "error means false".
fn go_parse_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ova::ovf;

    fn appliance(xml: &str, kind: ApplianceKind, present: &[&str]) -> Appliance {
        Appliance {
            ovf_path: match kind {
                ApplianceKind::Ova => "/ova/centos44.ova".into(),
                ApplianceKind::Ovf => "/ova/dir/centos44.ovf".into(),
            },
            kind,
            envelope: ovf::parse(xml, 100_000).unwrap(),
            present_files: present.iter().map(|name| (*name).to_owned()).collect(),
            unsafe_entries: Vec::new(),
            damage: None,
        }
    }

    const CENTOS44: &str = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
        xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vmw="http://www.vmware.com/schema/ovf"
        xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
      <References><File ovf:href="centos44_new-disk1.vmdk" ovf:id="file1"/></References>
      <DiskSection><Disk ovf:capacity="8589934592" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1"
        ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
      <NetworkSection><Network ovf:name="VM Network"><Description>The VM Network network</Description></Network></NetworkSection>
      <VirtualSystem ovf:id="centos44"><Name>centos44</Name>
        <OperatingSystemSection vmw:osType="centos64Guest"/>
        <VirtualHardwareSection>
          <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ResourceType>3</rasd:ResourceType>
            <rasd:VirtualQuantity>2</rasd:VirtualQuantity><vmw:CoresPerSocket>two</vmw:CoresPerSocket></Item>
          <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType>
            <rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
          <Item><rasd:Address>00:50:56:01:02:03</rasd:Address><rasd:Connection>VM Network</rasd:Connection>
            <rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:ResourceType>10</rasd:ResourceType></Item>
          <Item><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:ResourceType>17</rasd:ResourceType></Item>
          <Item><rasd:Description>SCSI Controller</rasd:Description><rasd:ResourceType>6</rasd:ResourceType></Item>
          <Item><rasd:ResourceType>14</rasd:ResourceType></Item>
          <vmw:Config vmw:key="firmware" vmw:value="efi"/>
          <vmw:Config vmw:key="bootOptions.efiSecureBootEnabled" vmw:value="true"/>
          <vmw:Config vmw:key="cpuHotAddEnabled" vmw:value="yes"/>
          <vmw:ExtraConfig vmw:key="memoryHotAddEnabled" vmw:value="1"/>
        </VirtualHardwareSection>
      </VirtualSystem>
    </Envelope>"#;

    #[test]
    fn converts_like_upstream_with_upstream_ids() {
        let converted = convert(&appliance(
            CENTOS44,
            ApplianceKind::Ova,
            &["centos44_new-disk1.vmdk"],
        ));
        let (vm, findings) = &converted.vms[0];
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(vm.name, "centos44");
        assert_eq!(vm.id, ferry_vm_id("/ova/centos44.ova", 0));
        assert_eq!(vm.uuid, vm.id);
        assert_eq!(vm.export_source, ExportSource::VMware);
        assert_eq!(vm.os_type, "centos64Guest");
        assert_eq!((vm.cpu_count, vm.cores_per_socket), (2, 1));
        assert_eq!(vm.cpu_units, "hertz * 10^6");
        assert_eq!((vm.memory, vm.memory_units.as_str()), (2048, "byte * 2^20"));
        assert_eq!(vm.memory_bytes(), Ok(2048 << 20));
        assert_eq!(
            vm.nics,
            [Nic {
                name: "Network adapter 1".into(),
                mac: "00:50:56:01:02:03".into(),
                network: "VM Network".into()
            }]
        );
        let kinds: Vec<&str> = vm.devices.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(kinds, ["Hard disk", "SCSI Controller", "Unknown"]);
        assert_eq!(vm.firmware, "efi");
        assert!(vm.secure_boot);
        assert!(!vm.cpu_hot_add_enabled, "'yes' is not a Go bool");
        assert!(vm.memory_hot_add_enabled);
        assert_eq!(vm.disks[0].id, "dfe5d9e97ea86a094492a5958373f748252e");
        assert_eq!(
            vm.disks[0].disk_source(),
            "/ova/centos44.ova::centos44_new-disk1.vmdk"
        );
        assert_eq!(vm.networks[0].id, "ae1badc8c693926f492a01e2f357d6af321b");
        assert_eq!(converted.disks.len(), 1);
        assert_eq!(converted.networks.len(), 1);
    }

    #[test]
    fn cores_per_socket_absent_is_zero_and_uuid_ids_are_kept() {
        let xml = r#"<Envelope><VirtualSystem ovf:id="6F9619FF-8B86-D011-B42D-00C04FC964FF"
            xmlns:ovf="urn:ovf"><Name>x</Name><VirtualHardwareSection><Item><ResourceType>3</ResourceType>
            <VirtualQuantity>8</VirtualQuantity></Item></VirtualHardwareSection></VirtualSystem></Envelope>"#;
        let converted = convert(&appliance(xml, ApplianceKind::Ova, &[]));
        let vm = &converted.vms[0].0;
        assert_eq!(vm.id, "6F9619FF-8B86-D011-B42D-00C04FC964FF");
        assert_eq!((vm.cpu_count, vm.cores_per_socket), (8, 0));
        assert_eq!(vm.export_source, ExportSource::Unknown);
    }

    #[test]
    fn a_disk_without_file_is_a_finding_not_a_panic() {
        let xml = r#"<Envelope><References><File href="a.vmdk"/></References><DiskSection>
            <Disk diskId="vmdisk1" capacity="1"/><Disk diskId="vmdisk2" capacity="1"/></DiskSection>
            <VirtualSystem id="v"/></Envelope>"#;
        let converted = convert(&appliance(xml, ApplianceKind::Ova, &["a.vmdk"]));
        let (vm, findings) = &converted.vms[0];
        assert_eq!(vm.name, "v", "no <Name>: the @id names the VM");
        assert_eq!(vm.disks[1].name, "");
        assert_eq!(
            findings,
            &[Finding::DiskWithoutFile {
                disk_id: "vmdisk2".into(),
                position: 1
            }]
        );
    }

    #[test]
    fn ovf_disk_paths_are_the_directory() {
        assert_eq!(disk_path("/ova/dir/x.ovf", ApplianceKind::Ovf), "/ova/dir/");
        assert_eq!(disk_path("/ova/dir/X.OVF", ApplianceKind::Ovf), "/ova/dir/");
        assert_eq!(disk_path("/ova/x.ova", ApplianceKind::Ova), "/ova/x.ova");
        let converted = convert(&appliance(
            CENTOS44,
            ApplianceKind::Ovf,
            &["centos44_new-disk1.vmdk"],
        ));
        assert_eq!(converted.disks[0].file_path, "/ova/dir/");
    }

    #[test]
    fn sources_are_guessed_from_namespaces() {
        let guess = |values: &[&str]| {
            guess_source(&values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(
            guess(&[
                "http://www.vmware.com/schema/ovf",
                "http://www.virtualbox.org/ovf/machine"
            ]),
            ExportSource::VirtualBox
        );
        assert_eq!(guess(&["http://www.ovirt.org/ovf"]), ExportSource::Ovirt);
        assert_eq!(
            guess(&["http://www.citrix.com/xenclient/ovf/1"]),
            ExportSource::Xen
        );
        assert_eq!(
            guess(&["x http://www.vmware.com/schema/ovf y"]),
            ExportSource::VMware
        );
        assert_eq!(guess(&["urn:other"]), ExportSource::Unknown);
    }

    #[test]
    fn unsafe_and_missing_disk_files_are_findings() {
        let xml = r#"<Envelope><References><File href="../../etc/shadow"/><File href="gone.vmdk"/>
            </References><DiskSection><Disk capacity="1"/><Disk capacity="x1"/></DiskSection>
            <VirtualSystem id="v"/></Envelope>"#;
        let converted = convert(&appliance(xml, ApplianceKind::Ova, &[]));
        let findings = &converted.vms[0].1;
        assert!(findings.contains(&Finding::DiskFileUnsafe {
            name: "../../etc/shadow".into()
        }));
        assert!(findings.contains(&Finding::DiskFileMissing {
            name: "gone.vmdk".into(),
            kind: ApplianceKind::Ova
        }));
        assert!(findings.contains(&Finding::DiskCapacityUnreadable {
            name: "gone.vmdk".into(),
            value: "x1".into()
        }));
        assert!(!is_plain_relative("/abs"));
        assert!(is_plain_relative("sub/disk.vmdk"));
    }
}
