//! The vSphere validator (upstream `adapter/vsphere/validator.go` and the vSphere rows of
//! `validation.go`; plan spec §2.3, §2.8; vSphere spec §3.1).
//!
//! What the engine turns into conditions:
//!
//! | check | finding | upstream |
//! |---|---|---|
//! | `spec.type` is cold, warm, conversion or unset | [`Validator::migration_type`] | `MigrationType` |
//! | a `networks[].id` not in the network map's references | [`VmFinding::NetworksNotMapped`] | `NetworksMapped` |
//! | a disk's `datastore.id` not in the storage map's references | [`VmFinding::StorageNotMapped`] | `StorageMapped` |
//! | the VM's host is in maintenance mode | [`VmFinding::HostInMaintenance`] | `MaintenanceMode` |
//! | `preserveStaticIPs` and NICs without guest networks, or a guest MAC on no NIC | [`VmFinding::MissingGuestIps`] | `StaticIPs` |
//! | powered on with tools unknown, not installed or not running | [`VmFinding::GuestToolsIssue`] | `GuestToolsInstalled` |
//! | a disk of capacity ≤ 0 | [`VmFinding::InvalidDiskSizes`] | `InvalidDiskSizes` |
//! | RDM (cold, or physical mode) / independent disks, without offload | [`VmFinding::RdmDisks`] / [`VmFinding::IndependentDisks`] | `RDMDiskWarning` / `IndependentDiskWarning` |
//! | offload plugins and a disk on a datastore mapped without one | [`VmFinding::VddkAndOffloadMixed`] | `VDDKAndOffloadMixedUsage` |
//! | shared disks (warm, attached to running VMs, copied twice) | [`VmFinding::SharedDisks`] | `SharedDisks` |
//! | warm: CBT off / a snapshot / consolidation needed | [`VmFinding::MissingChangedBlockTracking`] / [`VmFinding::HasSnapshots`] / [`VmFinding::ConsolidationNeeded`] | `ChangeTrackingEnabled`, `HasSnapshot`, `ConsolidationNeeded` |
//!
//! MAC conflicts, duplicate pod-network mappings (from the facts' NIC references), the
//! PVC name template (from the builder's template data) and `VMCriticalConcerns` (from
//! the inventory's concerns) are the engine's.
//!
//! The shared-disk checks that look for existing shareable PVCs in the target namespace
//! (upstream's "Missing shared disks PVC" and "Already existing shared disks PVCs"
//! warnings) need PVCs the plan view does not carry; they are not made (see the module
//! documentation of [`super`]).

use super::paths::stringify_with_quotes;
use super::{VsphereAdapter, migrate_shared_disks, workload};
use crate::adapter::{AdapterError, PlanView, Validator, VmFinding, inventory_ref};
use ferry_api::Ref;
use ferry_api::condition::category;
use ferry_api::plan::MigrationType;
use ferry_inventory::SourceVm;
use ferry_inventory::vsphere::Workload;
use ferry_inventory::vsphere::model::{Disk, Vm};
use std::collections::BTreeMap;

/// `toolsStatus` of a VM whose tools are not installed.
pub const TOOLS_NOT_INSTALLED: &str = "toolsNotInstalled";
/// `toolsRunningStatus` of a VM whose tools do not run.
pub const GUEST_TOOLS_NOT_RUNNING: &str = "guestToolsNotRunning";
/// `runtime.powerState` of a running VM.
pub const POWERED_ON: &str = "poweredOn";
/// `runtime.powerState` of a stopped VM.
pub const POWERED_OFF: &str = "poweredOff";
/// The message of a warm plan with a VM that has a snapshot (no final period, as the
/// vSphere validator writes it).
pub const HAS_SNAPSHOT_MESSAGE: &str =
    "VM has pre-existing snapshots which are incompatible with warm migration";

/// Upstream `isUnknownToolsStatus`.
fn unknown_tools_status(status: &str) -> bool {
    matches!(status, "" | "null" | "<nil>")
}

/// Upstream `GuestToolsInstalled`: a powered-on VM needs its tools installed and running.
pub fn guest_tools_ok(vm: &Vm) -> bool {
    if vm.power_state != POWERED_ON {
        return true;
    }
    !(unknown_tools_status(&vm.tools_status)
        || vm.tools_status == TOOLS_NOT_INSTALLED
        || vm.tools_running_status == GUEST_TOOLS_NOT_RUNNING)
}

/// Upstream `StaticIPs`: with `preserveStaticIPs`, a VM with NICs must report guest
/// networks, and every guest network's MAC must be one of its NICs'.
pub fn static_ips_ok(preserve_static_ips: bool, vm: &Vm) -> bool {
    if !preserve_static_ips {
        return true;
    }
    let guest = vm.guest_networks.as_deref().unwrap_or_default();
    if !vm.nics().is_empty() && guest.is_empty() {
        return false;
    }
    guest
        .iter()
        .all(|network| vm.nics().iter().any(|nic| nic.mac == network.mac))
}

/// Upstream `InvalidDiskSizes`: the files of the disks with a capacity of 0 or less.
pub fn invalid_disk_sizes(vm: &Vm) -> Vec<String> {
    vm.disks()
        .iter()
        .filter(|disk| disk.capacity <= 0)
        .map(|disk| disk.file.clone())
        .collect()
}

/// Upstream's RDM rule: an RDM disk when the plan is cold, or a physical-mode one.
pub fn has_rdm_warning(vm: &Vm, warm: bool) -> bool {
    vm.disks()
        .iter()
        .any(|disk| disk.rdm && (!warm || disk.physical_mode))
}

/// Upstream's independent-disk rule.
pub fn has_independent_disk(vm: &Vm) -> bool {
    vm.disks().iter().any(|disk| {
        matches!(
            disk.mode.as_str(),
            "independent_persistent" | "independent_nonpersistent"
        )
    })
}

/// Upstream `VM.HasDisk`: the same backing file.
fn has_disk(vm: &Vm, disk: &Disk) -> bool {
    vm.disks().iter().any(|own| own.file == disk.file)
}

/// Upstream `SharedDisks`, without the checks that read the target namespace's PVCs:
/// `(category, message)` when the VM cannot (or should not) be migrated as planned.
///
/// 1. A warm plan with a shared disk: no category (so it does not block, upstream's
///    quirk), "The shared disks cannot be used with warm migration".
/// 2. Another VM attached to one of its shared disks is not powered off: Critical.
/// 3. Migrating shared disks, and a shared disk belongs to more than one planned VM that
///    migrates shared disks: Warn, the disk would be copied once per VM (upstream's
///    "coppied"). The prefixes are in file order (upstream's follow Go map order).
pub fn shared_disks(view: &PlanView<'_>, workload: &Workload) -> Option<(String, String)> {
    let vm = &workload.vm;
    let shared: Vec<&Disk> = vm.disks().iter().filter(|disk| disk.shared).collect();
    if shared.is_empty() {
        return None;
    }
    if view.plan.is_warm() {
        return Some((
            String::new(),
            "The shared disks cannot be used with warm migration".to_string(),
        ));
    }
    // Every listed VM (upstream lists `vms`: no templates, no ghosts) attached to one of
    // the shared disks, this one included.
    let mut running: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for disk in &shared {
        for other in workload.snapshot.vms.values().filter(|vm| vm.is_listed()) {
            if has_disk(other, disk)
                && seen.insert(other.base.id.clone())
                && other.power_state != POWERED_OFF
            {
                running.push(other.base.name.clone());
            }
        }
    }
    if !running.is_empty() {
        return Some((
            category::CRITICAL.to_string(),
            format!(
                "Virtual Machines {} are running with attached shared disk, please power them off",
                stringify_with_quotes(&running)
            ),
        ));
    }
    if !migrate_shared_disks(view, vm) {
        return None;
    }
    let mut occurrences: BTreeMap<&str, usize> = BTreeMap::new();
    for planned in &view.plan.spec.vms {
        if !view.plan.spec.vm_migrate_shared_disks(planned) {
            continue;
        }
        let Ok(SourceVm::Vsphere(other)) = view.inventory.vm(&inventory_ref(&planned.reference()))
        else {
            continue;
        };
        for disk in other.vm.disks() {
            if disk.shared && has_disk(vm, disk) {
                *occurrences.entry(file_of(vm, disk)).or_default() += 1;
            }
        }
    }
    let duplicated: Vec<(&str, usize)> = occurrences
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .collect();
    if duplicated.is_empty() {
        return None;
    }
    let mut message = String::new();
    for (file, count) in &duplicated {
        message = format!("the shared disk '{file}' will be coppied {count}x, {message}");
    }
    let label = if duplicated.len() == 1 {
        "disk"
    } else {
        "disks"
    };
    Some((
        category::WARN.to_string(),
        format!(
            "{message} please detach the {label} from all but one of the VMs, or remove the VMs from the plan to avoid duplicating the {label}"
        ),
    ))
}

/// The file of `vm`'s disk that `disk` names (same file), borrowed from `vm`.
fn file_of<'a>(vm: &'a Vm, disk: &Disk) -> &'a str {
    vm.disks()
        .iter()
        .find(|own| own.file == disk.file)
        .map(|own| own.file.as_str())
        .unwrap_or_default()
}

/// Upstream's offload rule: `FEATURE_COPY_OFFLOAD` and a storage map with an offload
/// plugin.
pub fn plan_uses_offload(view: &PlanView<'_>) -> bool {
    view.settings.copy_offload
        && view
            .storage_map
            .is_some_and(|map| map.uses_offload_plugin())
}

/// Upstream `vmUsesVddk`: a disk on a mapped datastore whose pair has no offload plugin.
fn uses_vddk(view: &PlanView<'_>, vm: &Vm) -> bool {
    let Some(map) = view.storage_map else {
        return false;
    };
    vm.disks().iter().any(|disk| {
        map.find_storage(&disk.datastore.id).is_some_and(|pair| {
            !pair
                .offload_plugin
                .as_ref()
                .is_some_and(ferry_api::mapping::OffloadPlugin::is_set)
        })
    })
}

impl Validator for VsphereAdapter {
    fn warm_migration(&self, _view: &PlanView<'_>) -> bool {
        true
    }

    fn migration_type(&self, view: &PlanView<'_>) -> bool {
        matches!(
            view.plan.spec.r#type,
            None | Some(MigrationType::Cold | MigrationType::Warm | MigrationType::Conversion)
        )
    }

    fn check_vm(&self, view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<VmFinding>, AdapterError> {
        let workload = workload(vm)?;
        let vm = &workload.vm;
        let mut findings = Vec::new();
        if let Some(map) = view.network_map {
            let references = &map.status.references;
            if vm
                .networks
                .iter()
                .flatten()
                .any(|network| !references.find(&Ref::id(network.id.clone())))
            {
                findings.push(VmFinding::NetworksNotMapped);
            }
        }
        if let Some(map) = view.storage_map {
            let references = &map.status.references;
            if vm
                .disks()
                .iter()
                .any(|disk| !references.find(&Ref::id(disk.datastore.id.clone())))
            {
                findings.push(VmFinding::StorageNotMapped);
            }
        }
        if !vm.host.is_empty() {
            let host = workload.host().ok_or_else(|| {
                AdapterError::Inventory(format!(
                    "host '{}' of VM '{}' is not in the inventory",
                    vm.host, vm.base.id
                ))
            })?;
            if host.in_maintenance_mode {
                findings.push(VmFinding::HostInMaintenance);
            }
        }
        if !static_ips_ok(view.plan.spec.preserve_static_ips(), vm) {
            findings.push(VmFinding::MissingGuestIps);
        }
        if !guest_tools_ok(vm) {
            findings.push(VmFinding::GuestToolsIssue);
        }
        let invalid = invalid_disk_sizes(vm);
        if !invalid.is_empty() {
            findings.push(VmFinding::InvalidDiskSizes { disks: invalid });
        }
        let offload = plan_uses_offload(view);
        if offload {
            if uses_vddk(view, vm) {
                findings.push(VmFinding::VddkAndOffloadMixed);
            }
        } else {
            if has_rdm_warning(vm, view.plan.is_warm()) {
                findings.push(VmFinding::RdmDisks);
            }
            if has_independent_disk(vm) {
                findings.push(VmFinding::IndependentDisks);
            }
        }
        if let Some((category, message)) = shared_disks(view, workload) {
            findings.push(VmFinding::SharedDisks { category, message });
        }
        if view.plan.is_warm() {
            if !vm.change_tracking_enabled {
                findings.push(VmFinding::MissingChangedBlockTracking);
            }
            if !vm.snapshot.id.is_empty() {
                findings.push(VmFinding::HasSnapshots {
                    message: Some(HAS_SNAPSHOT_MESSAGE.to_string()),
                });
            }
            if vm.consolidation_needed {
                findings.push(VmFinding::ConsolidationNeeded);
            }
        }
        Ok(findings)
    }
}
