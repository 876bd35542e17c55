//! The vSphere builder (upstream `adapter/vsphere/builder.go`; plan spec §4.5, §6.3, §6.4;
//! vSphere spec §4): tasks, DataVolumes, the disk identity, the credentials and the
//! conversion environment. The VirtualMachine is in [`super::machine`].
//!
//! # Disks
//!
//! A disk's identity is its backing file (`[datastore] vm/vm.vmdk`), with the snapshot
//! suffix trimmed for warm plans ([`base_volume`]). It names the disk's task, annotates
//! its DataVolume (`forklift.konveyor.io/disk-source`) and matches the PVC to the disk
//! when the VirtualMachine is built. Shared disks are left out when the VM does not
//! migrate shared disks.
//!
//! Tasks follow the inventory's disk order with a total of the capacity in MiB, rounded
//! up. DataVolumes follow VMware's order (sata, ide, scsi, nvme), annotated with their
//! index in it (`forklift.konveyor.io/disk-index`), on the storage class the storage map
//! gives the disk's datastore; a disk on an unmapped datastore gets none. The source is
//! `blank` when virt-v2v copies the disks, else `vddk` with upstream's fields (the secret
//! reference is filled in by the engine).

use super::paths::{base_volume, extract_disk_file_name};
use super::{VsphereAdapter, migrate_shared_disks, plan_vm, workload};
use crate::adapter::{
    AdapterError, Builder, DiskVolume, PlanView, ProviderStorage, VmBuild, VmDisks, inventory_ref,
};
use crate::template::PvcNameData;
use ferry_api::destination::DataVolume;
use ferry_api::destination::cdi::{DataVolumeSource, DataVolumeSpec, StorageSpec, VddkSource};
use ferry_api::k8s_openapi::api::core::v1::{EnvVar, Secret, VolumeResourceRequirements};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::labels::{self as keys, annotation};
use ferry_api::mapping::StoragePair;
use ferry_api::plan::{Task, VmStatus};
use ferry_api::provider::{secret as secret_keys, settings};
use ferry_inventory::vsphere::Workload;
use ferry_inventory::vsphere::model::{Disk, Vm};
use ferry_inventory::{FindError, Kind, SourceVm};
use std::collections::BTreeMap;

/// The conversion environment's variable names (vSphere).
pub mod env {
    /// `V2V_vmName`.
    pub const VM_NAME: &str = "V2V_vmName";
    /// `V2V_libvirtURL`.
    pub const LIBVIRT_URL: &str = "V2V_libvirtURL";
    /// `V2V_source`.
    pub const SOURCE: &str = "V2V_source";
    /// The value of [`SOURCE`] for vSphere.
    pub const SOURCE_VSPHERE: &str = "vSphere";
    /// `V2V_fingerprint`.
    pub const FINGERPRINT: &str = "V2V_fingerprint";
    /// `V2V_extra_args`.
    pub const EXTRA_ARGS: &str = "V2V_extra_args";
    /// `V2V_inspector_extra_args`.
    pub const INSPECTOR_EXTRA_ARGS: &str = "V2V_inspector_extra_args";
    /// `V2V_preserveStaticIPs`.
    pub const PRESERVE_STATIC_IPS: &str = "V2V_preserveStaticIPs";
    /// `V2V_staticIPs`.
    pub const STATIC_IPS: &str = "V2V_staticIPs";
    /// `VIRTIO_WIN`.
    pub const VIRTIO_WIN: &str = "VIRTIO_WIN";
    /// The legacy drivers ISO in the conversion image.
    pub const VIRTIO_WIN_LEGACY: &str = "/usr/local/virtio-win-legacy.iso";
    /// `V2V_multipleIPsPerNic`.
    pub const MULTIPLE_IPS_PER_NIC: &str = "V2V_multipleIPsPerNic";
    /// `V2V_HOSTNAME`.
    pub const HOSTNAME: &str = "V2V_HOSTNAME";
    /// `V2V_NBDE_CLEVIS`.
    pub const NBDE_CLEVIS: &str = "V2V_NBDE_CLEVIS";
}

/// The credential keys of the CDI and virt-v2v Secrets.
pub mod secret {
    /// The user.
    pub const ACCESS_KEY_ID: &str = "accessKeyId";
    /// The password.
    pub const SECRET_KEY: &str = "secretKey";
    /// The CA certificate.
    pub const CACERT: &str = "cacert";
}

/// The task annotation giving the progress unit.
pub const TASK_UNIT: &str = "unit";
/// The progress unit of disk tasks.
pub const TASK_UNIT_MB: &str = "MB";
/// Upstream `DefaultAlignBlockSize`: DataVolumes request whole MiBs.
pub const ALIGN: i64 = 1 << 20;

/// Upstream `RoundUp`: `value` rounded up to a multiple of `multiple` (negative values
/// round towards zero, as the Go `Ceil` of a negative quotient does).
pub fn round_up(value: i64, multiple: i64) -> i64 {
    if multiple <= 0 {
        return value;
    }
    let quotient = value / multiple;
    let rounded = if value % multiple > 0 {
        quotient.saturating_add(1)
    } else {
        quotient
    };
    rounded.saturating_mul(multiple)
}

/// A disk's task total in MiB (upstream `RoundUp(capacity, 2^20) / 2^20`).
pub fn task_total_mb(capacity: i64) -> i64 {
    round_up(capacity, ALIGN) / ALIGN
}

/// Upstream `GetBootDiskNumber`: the disk index of a root disk such as `/dev/sdb` (1);
/// 0 when the value is not `/dev/sd<letter>…`. Upstream takes `<byte> - 'a'`, so an
/// upper-case letter gives a negative index (and would panic indexing); Ferry returns
/// `None` for it.
pub fn boot_disk_number(device: &str) -> Option<usize> {
    const PREFIX: &str = "/dev/sd";
    let Some(rest) = device.strip_prefix(PREFIX).filter(|r| !r.is_empty()) else {
        return Some(0);
    };
    let Some(letter) = rest.bytes().find(|b| char::from(*b).is_alphabetic()) else {
        return Some(0);
    };
    let number = i64::from(letter) - i64::from(b'a') + 1;
    if number == 0 {
        return Some(0);
    }
    usize::try_from(number - 1).ok()
}

/// The VM's disks the migration copies: all of them, or all but the shared ones when the
/// VM does not migrate shared disks (upstream `RemoveSharedDisks`).
pub fn migrated_disks<'a>(view: &PlanView<'_>, vm: &'a Vm, disks: Vec<&'a Disk>) -> Vec<&'a Disk> {
    if migrate_shared_disks(view, vm) {
        disks
    } else {
        disks.into_iter().filter(|disk| !disk.shared).collect()
    }
}

/// The storage map's pairs by datastore ID (upstream `buildDatastoreMap`). A pair whose
/// datastore is not in the inventory is skipped (it can hold none of the VM's disks;
/// upstream fails the VM instead).
fn datastore_map<'a>(
    view: &PlanView<'a>,
    vm: &Vm,
) -> Result<BTreeMap<String, &'a StoragePair>, AdapterError> {
    let Some(map) = view.storage_map else {
        return Err(AdapterError::Build(format!(
            "VM {} has no storage map to place its disks with",
            vm.base.name
        )));
    };
    let mut out = BTreeMap::new();
    for pair in &map.spec.map {
        match view
            .inventory
            .find(Kind::Storage, &inventory_ref(&pair.source))
        {
            Ok(found) => {
                out.entry(found.id).or_insert(pair);
            }
            Err(FindError::NotFound { .. }) => {}
            Err(error) => return Err(AdapterError::Inventory(error.to_string())),
        }
    }
    Ok(out)
}

/// The VDDK image in effect: the provider's `vddkInitImage`, else the global
/// `VDDK_IMAGE` (upstream `GetVDDKImage`).
pub fn vddk_image(view: &PlanView<'_>) -> String {
    view.source
        .setting(settings::VDDK_INIT_IMAGE)
        .filter(|image| !image.is_empty())
        .map_or_else(|| view.settings.vddk_image.clone(), str::to_string)
}

/// The PVC name template data of a disk when building (upstream `setPVCNameFromTemplate`).
fn build_name_data(
    view: &PlanView<'_>,
    vm: &Vm,
    target_vm_name: &str,
    index: usize,
    disk: &Disk,
) -> PvcNameData {
    let root = plan_vm(view, vm)
        .and_then(|planned| boot_disk_number(&planned.root_disk))
        .unwrap_or(0);
    PvcNameData {
        vm_name: vm.base.name.clone(),
        target_vm_name: target_vm_name.to_string(),
        plan_name: view.plan.metadata.name.clone().unwrap_or_default(),
        disk_index: i64::try_from(index).unwrap_or(i64::MAX),
        vm_id: vm.base.id.clone(),
        root_disk_index: i64::try_from(root).unwrap_or(0),
        shared: disk.shared,
        file_name: extract_disk_file_name(&base_volume(&disk.file, view.plan.is_warm())),
        win_drive_letter: disk.win_drive_letter.clone(),
        ..PvcNameData::default()
    }
}

/// The DataVolume of one disk (upstream `DataVolumes`, one iteration).
fn data_volume(
    view: &PlanView<'_>,
    workload: &Workload,
    disk: &Disk,
    index: usize,
    pair: &StoragePair,
    use_v2v: bool,
) -> DataVolume {
    let vm = &workload.vm;
    let warm = view.plan.is_warm();
    let source = if use_v2v {
        DataVolumeSource {
            blank: Some(BTreeMap::new()),
            ..DataVolumeSource::default()
        }
    } else {
        DataVolumeSource {
            vddk: Some(VddkSource {
                url: Some(view.source.spec.url.clone()),
                uuid: Some(vm.uuid.clone()),
                backing_file: Some(base_volume(&disk.file, warm)),
                thumbprint: Some(view.source.status.fingerprint.clone()),
                // The engine fills in the name of the CDI secret it creates.
                secret_ref: None,
                init_image_url: Some(vddk_image(view)),
                ..VddkSource::default()
            }),
            ..DataVolumeSource::default()
        }
    };
    let destination = &pair.destination;
    let storage = StorageSpec {
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".to_string(),
                Quantity(crate::adapter::ova::binary_si(round_up(
                    disk.capacity,
                    ALIGN,
                ))),
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
            source: Some(source),
            storage: Some(storage),
            ..DataVolumeSpec::default()
        },
    );
    dv.metadata.name = None;
    dv.metadata.namespace = None;
    dv.metadata.annotations = Some(BTreeMap::from([
        (
            annotation::DISK_SOURCE.to_string(),
            base_volume(&disk.file, warm),
        ),
        (annotation::DISK_INDEX.to_string(), index.to_string()),
    ]));
    if disk.shared {
        dv.metadata.labels = Some(BTreeMap::from([(
            keys::SHAREABLE.to_string(),
            "true".to_string(),
        )]));
    }
    dv
}

fn env_var(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// The inventory path of the VM's host, or of its standalone compute resource (upstream
/// `getSourceDetails`).
pub fn host_path(workload: &Workload) -> Result<String, AdapterError> {
    let vm = &workload.vm;
    let host = workload.host().ok_or_else(|| {
        AdapterError::Inventory(format!(
            "host '{}' of VM '{}' is not in the inventory",
            vm.host, vm.base.id
        ))
    })?;
    let snapshot = &workload.snapshot;
    if host.base.parent.kind == ferry_inventory::vsphere::model::kind::CLUSTER
        && let Some(cluster) = snapshot.cluster(&host.base.parent.id)
        && cluster.base.variant == ferry_inventory::vsphere::model::variant::COMPUTE_RESOURCE
    {
        return Ok(snapshot.path(&cluster.base));
    }
    Ok(snapshot.path(&host.base))
}

/// Whether the provider Secret says `insecureSkipVerify` (Go `ParseBool`).
pub fn insecure(secret: Option<&Secret>) -> bool {
    secret_value(secret, secret_keys::INSECURE_SKIP_VERIFY)
        .and_then(|value| ferry_api::strconv::parse_bool(&value))
        .unwrap_or(false)
}

/// A Secret's value as text (lossy for non-UTF-8 bytes; only read for names and flags).
pub fn secret_value(secret: Option<&Secret>, key: &str) -> Option<String> {
    secret?
        .data
        .as_ref()?
        .get(key)
        .map(|value| String::from_utf8_lossy(&value.0).into_owned())
}

/// Upstream `util.GetCACert`: `ca.crt`, else the deprecated `cacert`.
pub fn ca_cert(secret: Option<&Secret>) -> Option<Vec<u8>> {
    let data = secret?.data.as_ref()?;
    [secret_keys::CA_CERT, secret_keys::CACERT_DEPRECATED]
        .iter()
        .find_map(|key| data.get(*key).filter(|v| !v.0.is_empty()))
        .map(|value| value.0.clone())
}

impl Builder for VsphereAdapter {
    /// Upstream `Tasks`: one per migrated disk, in inventory order, named by its base
    /// volume, with the capacity in MiB (rounded up) and `unit: MB`.
    fn tasks(&self, view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<Task>, AdapterError> {
        let workload = workload(vm)?;
        let vm = &workload.vm;
        let warm = view.plan.is_warm();
        Ok(migrated_disks(view, vm, vm.disks().iter().collect())
            .into_iter()
            .map(|disk| {
                let mut task =
                    Task::new(base_volume(&disk.file, warm), task_total_mb(disk.capacity));
                task.annotations
                    .insert(TASK_UNIT.to_string(), TASK_UNIT_MB.to_string());
                task
            })
            .collect())
    }

    /// Upstream `PVCNameTemplate` (validator): one entry per disk in inventory order,
    /// `RootDiskIndex` 1 and `Shared` false (upstream's fixed test values).
    fn pvc_name_data(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<PvcNameData>, AdapterError> {
        let vm = &workload(vm)?.vm;
        Ok(vm
            .disks()
            .iter()
            .enumerate()
            .map(|(index, disk)| PvcNameData {
                vm_name: vm.base.name.clone(),
                target_vm_name: target_vm_name.to_string(),
                plan_name: view.plan.metadata.name.clone().unwrap_or_default(),
                disk_index: i64::try_from(index).unwrap_or(i64::MAX),
                vm_id: vm.base.id.clone(),
                root_disk_index: 1,
                shared: false,
                file_name: extract_disk_file_name(&disk.file),
                win_drive_letter: disk.win_drive_letter.clone(),
                ..PvcNameData::default()
            })
            .collect())
    }

    /// Upstream `DataVolumes`: a DataVolume per migrated disk on a mapped datastore, in
    /// VMware's disk order.
    fn data_volumes(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<DiskVolume>, AdapterError> {
        let workload = workload(vm)?;
        let vm = &workload.vm;
        let by_datastore = datastore_map(view, vm)?;
        let use_v2v = view.should_use_v2v_for_transfer(&ferry_api::Ref::with_id_and_name(
            vm.base.id.clone(),
            vm.base.name.clone(),
        ));
        let disks = migrated_disks(view, vm, vm.disks_vmware_order());
        let mut out = Vec::new();
        for (index, disk) in disks.into_iter().enumerate() {
            let Some(pair) = by_datastore.get(&disk.datastore.id) else {
                continue;
            };
            out.push(DiskVolume {
                data_volume: data_volume(view, workload, disk, index, pair, use_v2v),
                name_data: build_name_data(view, vm, target_vm_name, index, disk),
            });
        }
        Ok(out)
    }

    /// Upstream `ResolveDataVolumeIdentifier`: the disk-source annotation. DataVolumes
    /// are annotated with the base volume already (trimmed for warm plans), and their
    /// PVCs carry the same annotation, so it is the identity as written.
    fn resolve_data_volume_identifier(&self, annotations: &BTreeMap<String, String>) -> String {
        annotations
            .get(annotation::DISK_SOURCE)
            .cloned()
            .unwrap_or_default()
    }

    /// Upstream `Builder.Secret`: `accessKeyId` and `secretKey` from the provider
    /// Secret's `user` and `password`, and its CA certificate as `cacert`. Never logged.
    ///
    /// The user name and `insecureSkipVerify` are also remembered for the provider
    /// ([`super::Credentials`]): the conversion environment needs them (the libvirt URL
    /// names the user and the TLS mode) and the engine asks for it, without the Secret,
    /// right after it has ensured the conversion's Secret with this method.
    fn secret_data(
        &self,
        view: &PlanView<'_>,
        provider_secret: Option<&Secret>,
    ) -> Result<BTreeMap<String, Vec<u8>>, AdapterError> {
        self.remember(view.source, provider_secret);
        let Some(data) = provider_secret.and_then(|s| s.data.as_ref()) else {
            return Err(AdapterError::Build(
                "the source provider has no Secret with `user` and `password`".to_string(),
            ));
        };
        let value = |key: &str| data.get(key).map(|v| v.0.clone()).unwrap_or_default();
        let mut out = BTreeMap::from([
            (secret::ACCESS_KEY_ID.to_string(), value(secret_keys::USER)),
            (secret::SECRET_KEY.to_string(), value(secret_keys::PASSWORD)),
        ]);
        if let Some(ca) = ca_cert(provider_secret) {
            out.insert(secret::CACERT.to_string(), ca);
        }
        Ok(out)
    }

    /// Upstream `PodEnvironment` (plan spec §6.4, vSphere list), in upstream's order.
    fn conversion_environment(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
    ) -> Result<Vec<EnvVar>, AdapterError> {
        let credentials = self.credentials(view.source).ok_or_else(|| {
            AdapterError::Build(
                "the source provider's Secret has not been read for this plan yet".to_string(),
            )
        })?;
        conversion_environment(view, workload(vm)?, &credentials)
    }

    /// vSphere has no provider storage: virt-v2v reads the datastores over HTTPS.
    fn provider_storage(
        &self,
        _view: &PlanView<'_>,
        _vm: &SourceVm,
        _labels: &BTreeMap<String, String>,
    ) -> Result<Option<ProviderStorage>, AdapterError> {
        Ok(None)
    }

    fn virtual_machine(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        status: &VmStatus,
        disks: &VmDisks<'_>,
    ) -> Result<VmBuild, AdapterError> {
        let workload = workload(vm)?;
        let options = super::machine::Options::from_view(view);
        super::machine::virtual_machine(view, workload, status, disks.pvcs, &options)
            .map(|vm| VmBuild { vm })
    }
}

/// The conversion environment of a VM (upstream `PodEnvironment`), with the provider
/// Secret's user name and TLS mode.
pub fn conversion_environment(
    view: &PlanView<'_>,
    workload: &Workload,
    credentials: &super::Credentials,
) -> Result<Vec<EnvVar>, AdapterError> {
    let vm = &workload.vm;
    let mut out = Vec::new();
    let static_ips = if view.plan.spec.preserve_static_ips() {
        out.push(env_var(env::PRESERVE_STATIC_IPS, "true"));
        super::static_ips::static_ips(vm)
    } else {
        String::new()
    };
    let legacy = view
        .plan
        .spec
        .install_legacy_drivers
        .unwrap_or_else(|| super::is_legacy_windows(vm));
    if legacy {
        out.push(env_var(env::VIRTIO_WIN, env::VIRTIO_WIN_LEGACY));
    } else if super::is_windows(vm) && super::static_ips::multiple_ips_per_nic(vm) {
        out.push(env_var(env::MULTIPLE_IPS_PER_NIC, "true"));
    }
    if !vm.host_name.is_empty() {
        out.push(env_var(env::HOSTNAME, vm.host_name.clone()));
    }
    if plan_vm(view, vm).is_some_and(|planned| planned.nbde_clevis) {
        out.push(env_var(env::NBDE_CLEVIS, "true"));
    }
    let details = super::libvirt::source_details(
        view.source,
        &credentials.user,
        credentials.insecure,
        &host_path(workload)?,
    )
    .map_err(|error| AdapterError::Build(error.to_string()))?;
    out.push(env_var(env::VM_NAME, vm.base.name.clone()));
    out.push(env_var(env::LIBVIRT_URL, details.url));
    out.push(env_var(env::SOURCE, env::SOURCE_VSPHERE));
    out.push(env_var(env::FINGERPRINT, details.fingerprint));
    // Upstream passes the settings as JSON arrays (`[]` when unset).
    let json = |args: &[String]| serde_json::to_string(args).unwrap_or_else(|_| "[]".into());
    out.push(env_var(
        env::EXTRA_ARGS,
        json(&view.settings.virt_v2v_extra_args),
    ));
    out.push(env_var(
        env::INSPECTOR_EXTRA_ARGS,
        json(&view.settings.virt_v2v_inspector_extra_args),
    ));
    if !static_ips.is_empty() {
        out.push(env_var(env::STATIC_IPS, static_ips));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_whole_mebibytes() {
        assert_eq!(task_total_mb(10 << 30), 10240);
        assert_eq!(task_total_mb(1), 1);
        assert_eq!(task_total_mb(0), 0);
        assert_eq!(task_total_mb((1 << 20) + 1), 2);
        assert_eq!(task_total_mb(-5), 0);
        assert_eq!(round_up(1024, ALIGN), ALIGN);
        assert_eq!(round_up(i64::MAX, ALIGN), i64::MAX, "saturates");
        assert_eq!(round_up(5, 0), 5);
    }

    #[test]
    fn boot_disk_numbers_as_upstream() {
        for (device, want) in [
            ("/dev/sda", Some(0)),
            ("/dev/sdb", Some(1)),
            ("/dev/sdc1", Some(2)),
            ("/dev/sd", Some(0)),
            ("/dev/vda", Some(0)),
            ("", Some(0)),
            ("/dev/sd1", Some(0)),
            ("/dev/sdB", None),
        ] {
            assert_eq!(boot_disk_number(device), want, "{device:?}");
        }
    }
}
