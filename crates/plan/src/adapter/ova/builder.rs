//! The OVA builder (upstream `ovfbase/builder.go`): tasks, DataVolumes, the disk
//! identity, the conversion environment; the NFS share is in [`super::storage`], the
//! VirtualMachine in [`super::machine`].
//!
//! # Disks
//!
//! A disk's identity is its *disk source*, `<FilePath>::<Name>` (the appliance path, or
//! the `.ovf` directory with a trailing `/`, then the disk file name). It names the disk's
//! task, annotates its DataVolume (`forklift.konveyor.io/disk-source`, copied by CDI to
//! the PVC) and matches the PVC to the disk when the VirtualMachine is built.
//!
//! Upstream's `ResolveDataVolumeIdentifier` also strips a vSphere snapshot suffix
//! (`-000001.vmdk` → `.vmdk`) from the annotation, while the task keeps the full name: a
//! disk file named like `web-000001.vmdk` then never finds its task. OVF appliances hold
//! no snapshot chains, so Ferry keeps the annotation whole, and the identity of a
//! DataVolume always equals its disk's task name.
//!
//! # Sizes
//!
//! DataVolumes request the disk's capacity in bytes after its allocation units
//! ([`ferry_inventory::capacity`], upstream `getResourceCapacity`), as a BinarySI quantity.
//! Task totals are the capacity in bytes after its units, in MiB rounded up (as upstream's
//! vSphere builder rounds). Upstream's OVA builder divides the *raw* capacity by 2^20,
//! ignoring the units, so a 16 GiB disk declared as `16` in `byte * 2^30` shows a total of
//! 0 MB and its progress bar never moves; VMware exports declare units exactly that way.
//! The wire shape is unchanged (an integer total with `unit: MB`); only the number is
//! right. A disk whose capacity cannot be computed gets a total of 0 (the validator
//! already blocks the plan with `InvalidDiskSizes`). See `docs/compatibility.md`.

use super::{OvaAdapter, binary_si, ova_vm};
use crate::adapter::{
    AdapterError, Builder, DiskVolume, PlanView, ProviderStorage, VmBuild, VmDisks,
};
use crate::template::PvcNameData;
use ferry_api::destination::DataVolume;
use ferry_api::destination::cdi::{DataVolumeSource, DataVolumeSpec, StorageSpec};
use ferry_api::k8s_openapi::api::core::v1::{EnvVar, Secret, VolumeResourceRequirements};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::labels::annotation;
use ferry_api::mapping::StoragePair;
use ferry_api::plan::{Task, VmStatus};
use ferry_inventory::ova::model::{Disk, Vm};
use ferry_inventory::{FindError, Kind, SourceVm};
use std::collections::BTreeMap;

/// The conversion environment's variable names.
pub mod env {
    /// The VM name (`V2V_vmName`).
    pub const VM_NAME: &str = "V2V_vmName";
    /// What `virt-v2v -i ova` reads (`V2V_diskPath`).
    pub const DISK_PATH: &str = "V2V_diskPath";
    /// The source kind (`V2V_source`), `ova`.
    pub const SOURCE: &str = "V2V_source";
    /// The value of [`SOURCE`] for OVA.
    pub const SOURCE_OVA: &str = "ova";
}

/// The task annotation giving the progress unit.
pub const TASK_UNIT: &str = "unit";
/// The progress unit of disk tasks.
pub const TASK_UNIT_MB: &str = "MB";

/// Upstream `getDiskSourcePath`: what `virt-v2v -i ova` is given. An `.ova` archive is
/// given as is; for an `.ovf` descriptor, its directory (virt-v2v finds the descriptor
/// and the disks in it). Ferry compares the suffix case-insensitively, as discovery does:
/// upstream would hand virt-v2v the *directory* of an `APPLIANCE.OVA`, which fails.
pub fn disk_source_path(ovf_path: &str) -> &str {
    let is_ova = ovf_path
        .len()
        .checked_sub(4)
        .and_then(|at| ovf_path.get(at..))
        .is_some_and(|suffix| suffix.eq_ignore_ascii_case(".ova"));
    if is_ova {
        return ovf_path;
    }
    // Go's `filepath.Dir` of a clean path: everything before the last `/`, `/` for a
    // top-level file, `.` for a bare name.
    match ovf_path.rfind('/') {
        Some(0) => "/",
        Some(at) => &ovf_path[..at],
        None => ".",
    }
}

/// The pairs of the storage map whose source is one of `vm`'s disks, in map order, each
/// with the disk (upstream `DataVolumes`: every map entry is resolved in the inventory
/// and matched to the VM's disks by ID).
///
/// Ferry differs in two deliberate ways: an entry whose storage is not in the inventory is
/// skipped (it cannot be one of this VM's disks, every one of which is a storage of the
/// same inventory) where upstream fails the VM; and a disk named by two entries gets one
/// DataVolume, from the first.
fn mapped_disks<'a>(
    view: &PlanView<'a>,
    vm: &'a Vm,
) -> Result<Vec<(&'a Disk, &'a StoragePair)>, AdapterError> {
    let Some(map) = view.storage_map else {
        return Err(AdapterError::Build(format!(
            "VM {} has no storage map to place its disks with",
            vm.name
        )));
    };
    let mut out: Vec<(&Disk, &StoragePair)> = Vec::new();
    for pair in &map.spec.map {
        let storage = match view
            .inventory
            .find(Kind::Storage, &crate::adapter::inventory_ref(&pair.source))
        {
            Ok(found) => found,
            Err(FindError::NotFound { .. }) => continue,
            Err(error) => return Err(AdapterError::Inventory(error.to_string())),
        };
        for disk in vm.disks.iter().filter(|disk| disk.id == storage.id) {
            if !out.iter().any(|(seen, _)| seen.id == disk.id) {
                out.push((disk, pair));
            }
        }
    }
    Ok(out)
}

/// The blank DataVolume of one disk (upstream `mapDataVolume`).
fn data_volume(disk: &Disk, pair: &StoragePair) -> Result<DataVolume, AdapterError> {
    let bytes = disk
        .capacity_bytes()
        .map_err(|error| AdapterError::Build(format!("disk {}: {error}", disk.disk_source())))?;
    if bytes <= 0 {
        return Err(AdapterError::Build(format!(
            "disk {} has a capacity of {bytes} bytes; fix the appliance's DiskSection",
            disk.disk_source()
        )));
    }
    let destination = &pair.destination;
    let storage = StorageSpec {
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".to_string(),
                Quantity(binary_si(bytes)),
            )])),
            ..VolumeResourceRequirements::default()
        }),
        storage_class_name: Some(destination.storage_class.clone()),
        access_modes: destination
            .access_mode
            .iter()
            .map(|mode| mode.as_str().to_string())
            .collect(),
        volume_mode: destination
            .volume_mode
            .as_ref()
            .map(|mode| mode.as_str().to_string()),
        ..StorageSpec::default()
    };
    let mut dv = DataVolume::new(
        "",
        "",
        DataVolumeSpec {
            source: Some(DataVolumeSource {
                blank: Some(BTreeMap::new()),
                ..DataVolumeSource::default()
            }),
            storage: Some(storage),
            ..DataVolumeSpec::default()
        },
    );
    dv.metadata.name = None;
    dv.metadata.namespace = None;
    dv.metadata.annotations = Some(BTreeMap::from([(
        annotation::DISK_SOURCE.to_string(),
        disk.disk_source(),
    )]));
    Ok(dv)
}

fn name_data(view: &PlanView<'_>, vm: &Vm, target_vm_name: &str, index: usize) -> PvcNameData {
    PvcNameData {
        vm_name: vm.name.clone(),
        target_vm_name: target_vm_name.to_string(),
        plan_name: view.plan.metadata.name.clone().unwrap_or_default(),
        disk_index: i64::try_from(index).unwrap_or(i64::MAX),
        vm_id: vm.id.clone(),
        ..PvcNameData::default()
    }
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        value_from: None,
    }
}

/// A disk's task total: its size in MiB, rounded up; 0 when the size cannot be computed.
fn task_total_mb(disk: &Disk) -> i64 {
    const MIB: i64 = 0x10_0000;
    disk.capacity_bytes()
        .map(|bytes| bytes.max(0) / MIB + i64::from(bytes.max(0) % MIB != 0))
        .unwrap_or(0)
}

impl Builder for OvaAdapter {
    /// Upstream `Tasks`: one per disk, in descriptor order, named by the disk source, with
    /// a total of the disk's size in MiB (rounded up) and `unit: MB`.
    fn tasks(&self, _view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<Task>, AdapterError> {
        Ok(ova_vm(vm)?
            .disks
            .iter()
            .map(|disk| {
                let mut task = Task::new(disk.disk_source(), task_total_mb(disk));
                task.annotations
                    .insert(TASK_UNIT.to_string(), TASK_UNIT_MB.to_string());
                task
            })
            .collect())
    }

    /// Upstream `PVCNameTemplate` (validator): one entry per disk, `DiskIndex` its position
    /// in the descriptor.
    fn pvc_name_data(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<PvcNameData>, AdapterError> {
        let vm = ova_vm(vm)?;
        Ok((0..vm.disks.len())
            .map(|index| name_data(view, vm, target_vm_name, index))
            .collect())
    }

    /// Upstream `DataVolumes`: a blank DataVolume per mapped disk, in storage-map order,
    /// `DiskIndex` counting the DataVolumes produced.
    fn data_volumes(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<DiskVolume>, AdapterError> {
        let vm = ova_vm(vm)?;
        mapped_disks(view, vm)?
            .into_iter()
            .enumerate()
            .map(|(index, (disk, pair))| {
                Ok(DiskVolume {
                    data_volume: data_volume(disk, pair)?,
                    name_data: name_data(view, vm, target_vm_name, index),
                })
            })
            .collect()
    }

    /// The `forklift.konveyor.io/disk-source` annotation, whole (see the module
    /// documentation for why the snapshot suffix is not trimmed).
    fn resolve_data_volume_identifier(&self, annotations: &BTreeMap<String, String>) -> String {
        annotations
            .get(annotation::DISK_SOURCE)
            .cloned()
            .unwrap_or_default()
    }

    /// Upstream `Builder.Secret` is a no-op for OVA: the share needs no credentials.
    fn secret_data(
        &self,
        _view: &PlanView<'_>,
        _provider_secret: Option<&Secret>,
    ) -> Result<BTreeMap<String, Vec<u8>>, AdapterError> {
        Ok(BTreeMap::new())
    }

    /// Upstream `PodEnvironment`: `V2V_vmName`, `V2V_diskPath`, `V2V_source=ova`.
    fn conversion_environment(
        &self,
        _view: &PlanView<'_>,
        vm: &SourceVm,
    ) -> Result<Vec<EnvVar>, AdapterError> {
        let vm = ova_vm(vm)?;
        Ok(vec![
            env_var(env::VM_NAME, &vm.name),
            env_var(env::DISK_PATH, disk_source_path(&vm.ovf_path)),
            env_var(env::SOURCE, env::SOURCE_OVA),
        ])
    }

    fn provider_storage(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        labels: &BTreeMap<String, String>,
    ) -> Result<Option<ProviderStorage>, AdapterError> {
        let vm = ova_vm(vm)?;
        super::storage::nfs_storage(view, &vm.id, labels).map(Some)
    }

    fn virtual_machine(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        status: &VmStatus,
        disks: &VmDisks<'_>,
    ) -> Result<VmBuild, AdapterError> {
        let vm = ova_vm(vm)?;
        let options = super::machine::Options::from_view(view);
        super::machine::virtual_machine(view, vm, status, disks.pvcs, &options)
            .map(|vm| VmBuild { vm })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_v2v_is_given_the_archive_or_the_descriptor_directory() {
        for (path, expected) in [
            ("/ova/web.ova", "/ova/web.ova"),
            ("/ova/sub/WEB.OVA", "/ova/sub/WEB.OVA"),
            ("/ova/web/web.ovf", "/ova/web"),
            ("/ova/web.ovf", "/ova"),
            ("/web.ovf", "/"),
            ("web.ovf", "."),
            ("/ova/a.ova.ovf", "/ova"),
            ("", "."),
            ("ova", "."),
            ("/ova/ü.ova", "/ova/ü.ova"),
        ] {
            assert_eq!(disk_source_path(path), expected, "{path}");
        }
    }
}
