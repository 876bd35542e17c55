//! The NFS share of an OVA provider, as the conversion pod mounts it (upstream
//! `BuildPVForNFS`, `BuildPVCForNFS`, `nfsPVLabels`, `nfsPVCLabels` in
//! `pkg/controller/plan/kubevirt.go`; plan spec §6.4, §6.8, §3.8).
//!
//! Per VM and Migration, a static PersistentVolume and a claim bound to it:
//!
//! - PV, `generateName: ova-store-pv-<provider>-<plan>-`: `nfs: {server, path}` from the
//!   Provider URL, `ReadOnlyMany`, `1Gi` (a nominal size: NFS ignores it), no storage
//!   class, the reclaim policy left to the API server (`Retain` for static volumes);
//! - PVC, `generateName: ova-store-pvc-<provider>-<plan>-`, in the target namespace:
//!   `storageClassName: ""`, `ReadOnlyMany`, `1Gi`, `volumeName` = the PV's name, which
//!   the engine fills in once the PV exists (its name is generated);
//! - labels: `provider` (the source Provider's name), `app: forklift`, `plan` (UID),
//!   `plan-name`, `plan-namespace`, `vmID`, and `ova: nfs-pv` / `ova: nfs-pvc`. The
//!   `migration` label is the Migration's **name** on the PV and its **UID** on the PVC:
//!   upstream's quirk, kept so that objects created by either controller are found by
//!   the other.
//!
//! Both objects are found again by the full label set they carry (upstream lists with
//! `SelectorFromSet(labels)` before creating), so a pass that is repeated, or resumed after
//! a crash, reuses them. The conversion pod mounts the claim as volume [`VOLUME_NAME`] at
//! [`MOUNT_PATH`]. Archiving a plan deletes them by [`archive_selectors`]; the conversion
//! waits until the claim of the current Migration ([`claim_selector`]) is `Bound`.

use crate::adapter::{AdapterError, PlanView, ProviderStorage};
use ferry_api::ObjectMeta;
use ferry_api::k8s_openapi::api::core::v1::{
    NFSVolumeSource, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeSpec, VolumeResourceRequirements,
};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::labels;
use ferry_inventory::ova::url::NfsShare;
use std::collections::BTreeMap;

/// The conversion pod's volume name for the share.
pub const VOLUME_NAME: &str = "store-pv";
/// Where the conversion pod mounts the share; inventory paths start with it.
pub const MOUNT_PATH: &str = "/ova";
/// The nominal size of the PV and PVC.
pub const SIZE: &str = "1Gi";
/// The access mode of the PV and PVC.
pub const ACCESS_MODE: &str = "ReadOnlyMany";
/// The `ova` label value on the PV.
pub const PV_LABEL: &str = "nfs-pv";
/// The `ova` label value on the PVC.
pub const PVC_LABEL: &str = "nfs-pvc";
/// The `app` label value on both.
pub const APP: &str = "forklift";

/// Upstream `getEntityPrefixName`: `ova-store-<pv|pvc>-<provider>-<plan>-`.
pub fn generate_name(kind: &str, provider: &str, plan: &str) -> String {
    format!("ova-store-{kind}-{provider}-{plan}-")
}

/// The labels that select a plan's OVA PVs and PVCs when the plan is archived (upstream
/// `GetOvaPvListNfs`, `GetOvaPvcListNfs`): `(PV selector, PVC selector)`.
pub fn archive_selectors(plan_uid: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let selector = |value: &str| {
        BTreeMap::from([
            (labels::PLAN.to_string(), plan_uid.to_string()),
            (labels::OVA.to_string(), value.to_string()),
        ])
    };
    (selector(PV_LABEL), selector(PVC_LABEL))
}

/// The labels that select the claim a VM's conversion waits for (upstream
/// `EnsureProviderVirtV2VPVCStatus`): the current Migration's UID, `ova: nfs-pvc`, the VM.
pub fn claim_selector(migration_uid: &str, vm_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MIGRATION.to_string(), migration_uid.to_string()),
        (labels::OVA.to_string(), PVC_LABEL.to_string()),
        (labels::VM_ID.to_string(), vm_id.to_string()),
    ])
}

fn one_gib() -> BTreeMap<String, Quantity> {
    BTreeMap::from([("storage".to_string(), Quantity(SIZE.to_string()))])
}

/// The current Migration's `(name, uid)`: the UID from the engine's `migration` label,
/// else the active snapshot's; the name from the snapshot of that Migration.
fn migration(
    view: &PlanView<'_>,
    engine_labels: &BTreeMap<String, String>,
) -> Result<(String, String), AdapterError> {
    let status = &view.plan.status.migration;
    let uid = engine_labels
        .get(labels::MIGRATION)
        .filter(|uid| !uid.is_empty())
        .cloned()
        .or_else(|| {
            status
                .active_snapshot()
                .map(|snapshot| snapshot.migration.uid.clone())
                .filter(|uid| !uid.is_empty())
        })
        .ok_or_else(|| {
            AdapterError::Build(
                "the NFS share is mounted for a Migration, and the plan has none running"
                    .to_string(),
            )
        })?;
    // Without a snapshot of that Migration (not expected while it runs) the PV carries the
    // UID too; it is still found again by the same labels on every pass.
    let name = status
        .snapshot_with_migration(&uid)
        .map(|snapshot| snapshot.migration.name.clone())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| uid.clone());
    Ok((name, uid))
}

/// The NFS PV and PVC of one VM's conversion, the pod volume and its mount point, with
/// exactly upstream's labels. Of `engine_labels` (the engine's labels for the VM's
/// objects) only `migration`, the current Migration's UID, is read; without it the plan's
/// active snapshot names the Migration.
pub fn nfs_storage(
    view: &PlanView<'_>,
    vm_id: &str,
    engine_labels: &BTreeMap<String, String>,
) -> Result<ProviderStorage, AdapterError> {
    let share = NfsShare::parse(&view.source.spec.url)
        .map_err(|error| AdapterError::Build(error.to_string()))?;
    let plan = view.plan;
    let plan_name = plan.metadata.name.clone().unwrap_or_default();
    let provider = plan
        .spec
        .provider
        .source
        .name
        .clone()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| view.source.metadata.name.clone().unwrap_or_default());
    let (migration_name, migration_uid) = migration(view, engine_labels)?;
    let labels_with = |migration: &str, ova: &str| {
        let mut out = labels::plan_labels(
            plan.metadata.uid.as_deref().unwrap_or_default(),
            &plan_name,
            plan.metadata.namespace.as_deref().unwrap_or_default(),
            Some(migration),
        );
        for (key, value) in [
            (labels::PROVIDER, provider.as_str()),
            (labels::APP, APP),
            (labels::OVA, ova),
            (labels::VM_ID, vm_id),
        ] {
            out.insert(key.to_string(), value.to_string());
        }
        out
    };
    let volume = PersistentVolume {
        metadata: ObjectMeta {
            generate_name: Some(generate_name("pv", &provider, &plan_name)),
            labels: Some(labels_with(&migration_name, PV_LABEL)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some(one_gib()),
            access_modes: Some(vec![ACCESS_MODE.to_string()]),
            nfs: Some(NFSVolumeSource {
                server: share.server,
                path: share.path,
                read_only: None,
            }),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    };
    let claim = PersistentVolumeClaim {
        metadata: ObjectMeta {
            generate_name: Some(generate_name("pvc", &provider, &plan_name)),
            namespace: Some(plan.spec.target_namespace.clone()),
            labels: Some(labels_with(&migration_uid, PVC_LABEL)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![ACCESS_MODE.to_string()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(one_gib()),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: Some(String::new()),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    };
    Ok(ProviderStorage {
        volume: Some(volume),
        claim,
        volume_name: VOLUME_NAME.to_string(),
        mount_path: MOUNT_PATH.to_string(),
    })
}
