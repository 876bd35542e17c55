//! Per-VM concerns (pure): what upstream's OVA Rego policies
//! (`validation/policies/io/konveyor/forklift/ova/*.rego`, rules version
//! [`RULES_VERSION`]) would say about a VM, computed in process, plus the findings
//! Ferry adds about the appliance itself.
//!
//! Upstream's policies, ported:
//!
//! | id | category | when |
//! |---|---|---|
//! | `ova.cpu_memory.hotplug.enabled` | Warning | CPU hot add/remove or memory hot add |
//! | `ova.disk.count.exceeds.limit` | Warning | more than 165 disks |
//! | `ova.disk.capacity.invalid` | Critical | a disk's capacity is not > 0 bytes |
//! | `ova.source.unsupported` | Warning | the export source is not VMware |
//! | `ova.name.invalid` | Warning | the name is not a DNS-1123-like name under 64 chars |
//!
//! Two of them never fire upstream: `disk_size.rego` reads `input.disks[_].capacity`
//! and `export_source.rego` reads `input.ovaSource`, while the VM JSON has `Capacity`
//! and `exportSource`. Ferry evaluates what those policies mean: a disk capacity, *in
//! bytes after its allocation units*, must be positive (Ferry also flags unknown units,
//! overflow and sizes above [`MAX_DISK_BYTES`]), and a non-VMware source is flagged.
//! `ova.cpu_affinity.detected` is not ported: OVF carries no CPU affinity, so it can
//! never fire. `ova.name.invalid` keeps upstream's regular expression, which (unlike its
//! assessment text) accepts upper-case letters.
//!
//! Ferry's own concerns, about the appliance rather than the guest:
//!
//! | id | category | when |
//! |---|---|---|
//! | `ova.disk.file.missing` | Critical | a Disk has no File at its position, or the file is not in the archive/directory |
//! | `ova.disk.file.unsafe` | Critical | a File href is absolute or climbs out with `..` |
//! | `ova.archive.unsafe` | Critical | the archive has link members or members with absolute/`..` paths |
//! | `ova.archive.truncated` | Critical | the archive ends inside a member, or a header after the descriptor is damaged |
//! | `ova.descriptor.invalid` | Warning | a number in the descriptor is unreadable and was taken as 0 |
//! | `ova.name.duplicate` | Warning | another VM of the provider has the same name |
//!
//! Concerns are sorted by category (Critical first), then id, then label.

use std::collections::HashMap;

use super::convert::ApplianceKind;
use super::model::{Category, Concern, ExportSource, Vm};

/// The rules version of upstream's OVA policies these concerns correspond to; reported
/// as the VM's `policyVersion`.
pub const RULES_VERSION: i64 = 5;
/// KubeVirt's limit on disks per VM (upstream `max_disk_count`).
pub const MAX_DISK_COUNT: usize = 165;
/// The largest disk Ferry believes: 1 PiB. VMware's own limit is 62 TB; anything above
/// this is a corrupt or hostile descriptor, not a disk.
pub const MAX_DISK_BYTES: i64 = 1 << 50;
/// How many offending archive members a concern names before summarising.
const NAMED_MEMBERS: usize = 5;

/// Something convert noticed about a VM's appliance, turned into a concern here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// `DiskSection/Disk` at `position` has no `References/File` at the same position.
    DiskWithoutFile {
        /// The disk's `diskId`.
        disk_id: String,
        /// Its position in the `DiskSection`.
        position: usize,
    },
    /// The disk file named by the descriptor is not in the archive or directory.
    DiskFileMissing {
        /// The file name.
        name: String,
        /// Where it was looked for.
        kind: ApplianceKind,
    },
    /// The disk file name is absolute or climbs with `..`.
    DiskFileUnsafe {
        /// The file name.
        name: String,
    },
    /// The disk capacity attribute is not an integer.
    DiskCapacityUnreadable {
        /// The disk file name.
        name: String,
        /// The attribute as found.
        value: String,
    },
    /// A number elsewhere in the descriptor is unreadable (taken as 0).
    InvalidNumber {
        /// Which element or attribute.
        element: &'static str,
        /// The text as found.
        value: String,
    },
    /// Archive members that are links or escape the archive's directory.
    ArchiveUnsafeEntries(Vec<String>),
    /// How the archive is truncated or damaged (e.g. "ends inside member 'disk1.vmdk'").
    ArchiveDamaged(String),
}

/// The concerns of one VM, from its own content and its appliance's findings.
pub fn assess(vm: &Vm, findings: &[Finding]) -> Vec<Concern> {
    let mut concerns = Vec::new();
    if vm.cpu_hot_add_enabled || vm.cpu_hot_remove_enabled || vm.memory_hot_add_enabled {
        concerns.push(concern(
            "ova.cpu_memory.hotplug.enabled",
            Category::Warning,
            "CPU/Memory hotplug detected".into(),
            "Hot pluggable CPU or memory is not currently supported by Migration Toolkit for \
             Virtualization. You can reconfigure CPU or memory after migration."
                .into(),
        ));
    }
    if vm.disks.len() > MAX_DISK_COUNT {
        let count = vm.disks.len();
        concerns.push(concern(
            "ova.disk.count.exceeds.limit",
            Category::Warning,
            format!("VM has {count} disks, which exceeds the limit of {MAX_DISK_COUNT}"),
            format!(
                "The VM has {count} disks but the target platform supports a maximum of \
                 {MAX_DISK_COUNT} disks per VM. Migration may result in network connectivity \
                 issues."
            ),
        ));
    }
    for disk in &vm.disks {
        let unreadable = findings.iter().any(|finding| {
            matches!(finding, Finding::DiskCapacityUnreadable { name, .. } if *name == disk.name)
        });
        if unreadable {
            continue;
        }
        let label_name = if disk.name.is_empty() {
            &disk.disk_id
        } else {
            &disk.name
        };
        match disk.capacity_bytes() {
            Ok(bytes) if bytes <= 0 => concerns.push(concern(
                "ova.disk.capacity.invalid",
                Category::Critical,
                format!("Disk '{label_name}' has an invalid capacity of {bytes} bytes"),
                format!(
                    "Disk '{label_name}' in '{}' has a capacity of {bytes} bytes, which is not \
                     allowed. Capacity must be greater than zero.",
                    disk.file_path
                ),
            )),
            Ok(bytes) if bytes > MAX_DISK_BYTES => concerns.push(concern(
                "ova.disk.capacity.invalid",
                Category::Critical,
                format!("Disk '{label_name}' has an absurd capacity of {bytes} bytes"),
                format!(
                    "Disk '{label_name}' in '{}' claims {bytes} bytes, more than the \
                     {MAX_DISK_BYTES} bytes (1 PiB) any hypervisor exports. The descriptor is \
                     corrupt: re-export the appliance.",
                    disk.file_path
                ),
            )),
            Ok(_) => {}
            Err(error) => concerns.push(concern(
                "ova.disk.capacity.invalid",
                Category::Critical,
                format!(
                    "Disk '{label_name}' has invalid capacity units '{}'",
                    disk.capacity_allocation_units
                ),
                format!(
                    "The size of disk '{label_name}' in '{}' cannot be computed: {error}. Fix \
                     the disk's capacityAllocationUnits (e.g. 'byte * 2^30') or re-export the \
                     appliance.",
                    disk.file_path
                ),
            )),
        }
    }
    if vm.export_source != ExportSource::VMware {
        concerns.push(concern(
            "ova.source.unsupported",
            Category::Warning,
            "Unsupported OVA source".into(),
            "This OVA may not have been exported from a VMware source, and may have issues \
             during import."
                .into(),
        ));
    }
    if !valid_vm_name(&vm.name) {
        concerns.push(concern(
            "ova.name.invalid",
            Category::Warning,
            "Invalid VM Name".into(),
            "The VM name does not comply with the DNS subdomain name format. Edit the name or \
             it will be renamed automatically during the migration to meet RFC 1123. The VM \
             name must be a maximum of 63 characters containing lowercase letters (a-z), \
             numbers (0-9), periods (.), and hyphens (-). The first and last character must be \
             a letter or number. The name cannot contain uppercase letters, spaces or special \
             characters."
                .into(),
        ));
    }
    for finding in findings {
        concerns.push(finding_concern(vm, finding));
    }
    sort(&mut concerns);
    concerns
}

/// Adds `ova.name.duplicate` to every VM that shares its name with another.
pub fn flag_duplicate_names(vms: &mut [Vm]) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for vm in vms.iter() {
        *counts.entry(vm.name.clone()).or_default() += 1;
    }
    for vm in vms.iter_mut() {
        let count = counts.get(&vm.name).copied().unwrap_or(0);
        if count > 1 {
            vm.concerns.push(concern(
                "ova.name.duplicate",
                Category::Warning,
                "Duplicate VM name".into(),
                format!(
                    "{count} VMs of this provider are named '{}', so a reference by name is \
                     ambiguous. Refer to this VM by its ID ({}) in plans.",
                    vm.name, vm.id
                ),
            ));
            sort(&mut vm.concerns);
        }
    }
}

/// Upstream `valid_vm_name`: `^(([A-Za-z0-9][-A-Za-z0-9.]*)?[A-Za-z0-9])?$`, fewer than
/// 64 characters.
pub fn valid_vm_name(name: &str) -> bool {
    if name.chars().count() >= 64 {
        return false;
    }
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return true;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
}

fn finding_concern(vm: &Vm, finding: &Finding) -> Concern {
    match finding {
        Finding::DiskWithoutFile { disk_id, position } => concern(
            "ova.disk.file.missing",
            Category::Critical,
            format!("Disk '{disk_id}' has no file"),
            format!(
                "Disk {} ('{disk_id}') of the DiskSection has no File at the same position in \
                 References, so there is nothing to convert. The descriptor '{}' is incomplete: \
                 re-export the appliance.",
                position + 1,
                vm.ovf_path
            ),
        ),
        Finding::DiskFileMissing { name, kind } => concern(
            "ova.disk.file.missing",
            Category::Critical,
            format!("Disk file '{name}' is missing"),
            match kind {
                ApplianceKind::Ova => format!(
                    "The archive '{}' has no member named '{name}', which the descriptor lists \
                     as a disk. Re-export or re-copy the appliance.",
                    vm.ovf_path
                ),
                ApplianceKind::Ovf => format!(
                    "There is no regular file '{name}' next to '{}', which the descriptor lists \
                     as a disk. Copy the disk files with the descriptor.",
                    vm.ovf_path
                ),
            },
        ),
        Finding::DiskFileUnsafe { name } => concern(
            "ova.disk.file.unsafe",
            Category::Critical,
            format!("Disk file '{name}' is outside the appliance"),
            format!(
                "The descriptor '{}' names disk file '{name}', which is absolute or climbs out \
                 with '..'. Ferry only converts files inside the appliance; fix the href.",
                vm.ovf_path
            ),
        ),
        Finding::DiskCapacityUnreadable { name, value } => concern(
            "ova.disk.capacity.invalid",
            Category::Critical,
            format!("Disk '{name}' has an unreadable capacity '{value}'"),
            format!(
                "The capacity of disk '{name}' in '{}' is '{value}', which is not an integer \
                 (a template placeholder?). Fix the descriptor or re-export the appliance.",
                vm.ovf_path
            ),
        ),
        Finding::InvalidNumber { element, value } => concern(
            "ova.descriptor.invalid",
            Category::Warning,
            format!("Unreadable {element} '{value}'"),
            format!(
                "The descriptor '{}' has '{value}' in {element}, which is not an integer; it \
                 was taken as 0. Check the VM's hardware after migration.",
                vm.ovf_path
            ),
        ),
        Finding::ArchiveUnsafeEntries(entries) => {
            let mut named: Vec<String> = entries
                .iter()
                .take(NAMED_MEMBERS)
                .map(|entry| format!("'{entry}'"))
                .collect();
            if entries.len() > NAMED_MEMBERS {
                named.push(format!("and {} more", entries.len() - NAMED_MEMBERS));
            }
            concern(
                "ova.archive.unsafe",
                Category::Critical,
                "The archive has unsafe members".into(),
                format!(
                    "The archive '{}' has members that are links or whose path is absolute or \
                     climbs with '..': {}. Unpacking it could touch files outside its \
                     directory; re-export the appliance.",
                    vm.ovf_path,
                    named.join(", ")
                ),
            )
        }
        Finding::ArchiveDamaged(damage) => concern(
            "ova.archive.truncated",
            Category::Critical,
            "The archive is truncated or damaged".into(),
            format!(
                "The archive '{}' {damage}: the copy is incomplete or corrupt. Copy the \
                 appliance again.",
                vm.ovf_path
            ),
        ),
    }
}

fn concern(id: &str, category: Category, label: String, assessment: String) -> Concern {
    Concern {
        id: id.to_owned(),
        label,
        category,
        assessment,
    }
}

fn sort(concerns: &mut [Concern]) {
    concerns.sort_by(|a, b| (a.category, &a.id, &a.label).cmp(&(b.category, &b.id, &b.label)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ova::model::Disk;

    fn vm() -> Vm {
        Vm {
            id: "id".into(),
            name: "web-1".into(),
            ovf_path: "/ova/web.ova".into(),
            export_source: ExportSource::VMware,
            os_type: String::new(),
            revision: 1,
            uuid: "id".into(),
            firmware: String::new(),
            secure_boot: false,
            cpu_hot_add_enabled: false,
            cpu_hot_remove_enabled: false,
            memory_hot_add_enabled: false,
            cpu_count: 1,
            cores_per_socket: 1,
            memory: 1,
            memory_units: "byte * 2^30".into(),
            cpu_units: String::new(),
            devices: vec![],
            nics: vec![],
            disks: vec![disk(1, "byte * 2^30")],
            networks: vec![],
            concerns: vec![],
        }
    }

    fn disk(capacity: i64, units: &str) -> Disk {
        Disk {
            id: "d".into(),
            name: "web-disk1.vmdk".into(),
            file_path: "/ova/web.ova".into(),
            capacity,
            capacity_allocation_units: units.into(),
            disk_id: "vmdisk1".into(),
            file_ref: "file1".into(),
            format: String::new(),
            populated_size: 0,
        }
    }

    fn ids(concerns: &[Concern]) -> Vec<&str> {
        concerns.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn a_clean_vmware_vm_has_no_concerns() {
        assert_eq!(assess(&vm(), &[]), []);
    }

    #[test]
    fn capacities_are_judged_in_bytes() {
        for (capacity, units) in [
            (0, "byte"),
            (-1, "byte * 2^30"),
            (1 << 20, "byte * 2^40"),
            (1, "kilobytes"),
            (1, "byte * 2^70"),
        ] {
            let mut subject = vm();
            subject.disks = vec![disk(capacity, units)];
            let concerns = assess(&subject, &[]);
            assert_eq!(
                ids(&concerns),
                ["ova.disk.capacity.invalid"],
                "({capacity}, {units})"
            );
            assert_eq!(concerns[0].category, Category::Critical);
        }
        let mut subject = vm();
        subject.disks = vec![disk(0, "byte")];
        assert_eq!(
            assess(&subject, &[])[0].label,
            "Disk 'web-disk1.vmdk' has an invalid capacity of 0 bytes"
        );
    }

    #[test]
    fn upstream_policies_that_never_fired_do_fire() {
        let mut subject = vm();
        subject.export_source = ExportSource::VirtualBox;
        subject.cpu_hot_add_enabled = true;
        subject.name = "Web Server".into();
        assert_eq!(
            ids(&assess(&subject, &[])),
            [
                "ova.cpu_memory.hotplug.enabled",
                "ova.name.invalid",
                "ova.source.unsupported"
            ]
        );
    }

    #[test]
    fn too_many_disks() {
        let mut subject = vm();
        subject.disks = vec![disk(1, "byte"); MAX_DISK_COUNT + 1];
        let concerns = assess(&subject, &[]);
        assert_eq!(ids(&concerns), ["ova.disk.count.exceeds.limit"]);
        assert_eq!(
            concerns[0].label,
            "VM has 166 disks, which exceeds the limit of 165"
        );
    }

    #[test]
    fn upstream_name_rule() {
        for good in ["", "a", "web-1", "Web.1", "a-b.c", &"x".repeat(63)] {
            assert!(valid_vm_name(good), "{good:?}");
        }
        for bad in ["-a", "a-", "a b", "a_b", "é", &"x".repeat(64), "."] {
            assert!(!valid_vm_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn findings_become_critical_concerns() {
        let concerns = assess(
            &vm(),
            &[
                Finding::ArchiveUnsafeEntries((0..7).map(|i| format!("../evil{i}")).collect()),
                Finding::DiskWithoutFile {
                    disk_id: "vmdisk2".into(),
                    position: 1,
                },
            ],
        );
        assert_eq!(
            ids(&concerns),
            ["ova.archive.unsafe", "ova.disk.file.missing"]
        );
        assert!(concerns[0].assessment.contains("'../evil4', and 2 more"));
        assert!(concerns[1].assessment.contains("Disk 2 ('vmdisk2')"));
    }

    #[test]
    fn duplicate_names_are_flagged_on_each() {
        let mut vms = vec![vm(), vm(), vm()];
        vms[2].name = "other".into();
        flag_duplicate_names(&mut vms);
        assert_eq!(ids(&vms[0].concerns), ["ova.name.duplicate"]);
        assert_eq!(ids(&vms[1].concerns), ["ova.name.duplicate"]);
        assert!(vms[2].concerns.is_empty());
    }
}
