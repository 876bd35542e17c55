//! The OVA validator (upstream `ovfbase/validator.go`).
//!
//! What the engine turns into conditions:
//!
//! | check | finding / fact | upstream |
//! |---|---|---|
//! | cold only | [`Validator::migration_type`] is true for `cold` or unset; [`Validator::warm_migration`] is false | `MigrationType`, `WarmMigration` |
//! | disks of zero or negative capacity | [`VmFinding::InvalidDiskSizes`] | `InvalidDiskSizes` |
//! | a network of the envelope not in the network map's references | [`VmFinding::NetworksNotMapped`] | `NetworksMapped` |
//! | a disk not in the storage map's references | [`VmFinding::StorageNotMapped`] | `StorageMapped` |
//! | MACs already used on the destination | [`crate::adapter::VmFacts::macs`] | `MacConflicts` |
//! | appliance not exported from VMware | the `ova.source.unsupported` concern in the facts | `UnsupportedOVFExportSource` |
//!
//! Snapshot, shared-disk, power-state, static-IP, guest-tools and maintenance checks
//! always pass, as upstream.
//!
//! `NetworksMapped` covers every network of the envelope, not only those a NIC of the VM
//! uses (upstream's rule): an appliance whose descriptor lists an unused network needs a
//! map entry for it too. The capacity check reads the raw `Disk/@capacity` as upstream
//! does; capacities whose allocation units are unreadable or absurd are caught earlier,
//! by the inventory's Critical `ova.disk.capacity.invalid` concern.

use super::{OvaAdapter, ova_vm};
use crate::adapter::{AdapterError, PlanView, Validator, VmFinding};
use ferry_api::Ref;
use ferry_api::plan::MigrationType;
use ferry_inventory::SourceVm;

impl Validator for OvaAdapter {
    fn warm_migration(&self, _view: &PlanView<'_>) -> bool {
        false
    }

    fn migration_type(&self, view: &PlanView<'_>) -> bool {
        matches!(view.plan.spec.r#type, None | Some(MigrationType::Cold))
    }

    fn check_vm(&self, view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<VmFinding>, AdapterError> {
        let vm = ova_vm(vm)?;
        let mut findings = Vec::new();
        if let Some(map) = view.network_map {
            let references = &map.status.references;
            if vm
                .networks
                .iter()
                .any(|network| !references.find(&Ref::id(network.id.clone())))
            {
                findings.push(VmFinding::NetworksNotMapped);
            }
        }
        if let Some(map) = view.storage_map {
            let references = &map.status.references;
            if vm
                .disks
                .iter()
                .any(|disk| !references.find(&Ref::id(disk.id.clone())))
            {
                findings.push(VmFinding::StorageNotMapped);
            }
        }
        let invalid: Vec<String> = vm
            .disks
            .iter()
            .filter(|disk| disk.capacity <= 0)
            .map(|disk| disk.disk_source())
            .collect();
        if !invalid.is_empty() {
            findings.push(VmFinding::InvalidDiskSizes { disks: invalid });
        }
        Ok(findings)
    }
}
