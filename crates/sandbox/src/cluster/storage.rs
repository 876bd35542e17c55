//! Storage: the PV controller, a hostPath provisioner for the sandbox's StorageClass, and
//! the PVC/PV protection controllers, as the API sees them.
//!
//! - A claim of the sandbox's class (or of no class, which the default class fills in)
//!   gets a PersistentVolume `pvc-<claim uid>`, a directory under `<data>/volumes`
//!   (`Block` claims: a sparse image file of the requested size in that directory),
//!   pre-bound to it, then both are `Bound` (`Immediate` binding; with
//!   `WaitForFirstConsumer`, once the scheduler's `volume.kubernetes.io/selected-node`
//!   annotation is there).
//! - A claim naming a volume (`spec.volumeName`, e.g. Forklift's OVA NFS claim) binds to
//!   it when it exists and is free.
//! - A volume without a claim is `Available`; one whose claim is gone is `Released`, and
//!   deleted with its directory when its reclaim policy is `Delete` and the sandbox
//!   provisioned it.
//! - A deleted claim keeps its `kubernetes.io/pvc-protection` finalizer while a running
//!   pod uses it; a deleted volume keeps `kubernetes.io/pv-protection` while bound.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::config::{ClusterConfig, NODE_NAME, PROVISIONER};
use super::error::{Error, Result};
use super::kubeapi;
use super::volumes::{self, DISK_IMAGE};

const MANAGER: &str = "ferry-sandbox-storage";
/// The finalizer that keeps a claim while pods use it.
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The finalizer that keeps a volume while it is bound.
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";
/// The annotation the scheduler sets on a `WaitForFirstConsumer` claim.
pub const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

struct Ctx {
    client: kube::Client,
    config: Arc<ClusterConfig>,
}

/// Runs the storage controllers until `stop` is cancelled.
pub async fn run(client: kube::Client, config: Arc<ClusterConfig>, stop: CancellationToken) {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config,
    });
    let claims = Controller::new(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<PersistentVolume>::all(client.clone()),
        watcher::Config::default(),
        |pv: PersistentVolume| {
            pv.spec
                .and_then(|s| s.claim_ref)
                .and_then(|c| Some(ObjectRef::new(&c.name?).within(&c.namespace?)))
        },
    )
    .watches(
        Api::<Pod>::all(client.clone()),
        watcher::Config::default(),
        |pod: Pod| {
            let namespace = pod.namespace().unwrap_or_default();
            claims_of(&pod)
                .into_iter()
                .map(move |claim| ObjectRef::new(&claim).within(&namespace))
        },
    )
    .graceful_shutdown_on(stop.clone().cancelled_owned())
    .run(reconcile_claim, retry, Arc::clone(&ctx))
    .for_each(|_| async {});
    let volumes = Controller::new(
        Api::<PersistentVolume>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<PersistentVolumeClaim>::all(client),
        watcher::Config::default(),
        |pvc: PersistentVolumeClaim| {
            pvc.spec
                .and_then(|s| s.volume_name)
                .filter(|v| !v.is_empty())
                .map(|v| ObjectRef::new(&v))
        },
    )
    .graceful_shutdown_on(stop.cancelled_owned())
    .run(reconcile_volume, retry, ctx)
    .for_each(|_| async {});
    futures::join!(claims, volumes);
}

fn retry<K>(_object: Arc<K>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(%error, "storage: retrying");
    Action::requeue(if error.is_conflict() {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(500)
    })
}

/// The claims a pod's volumes name.
pub fn claims_of(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone())
        })
        .collect()
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn without_finalizer(meta: &kube::api::ObjectMeta, finalizer: &str) -> Option<Vec<String>> {
    let finalizers = meta.finalizers.clone().unwrap_or_default();
    finalizers
        .iter()
        .any(|f| f == finalizer)
        .then(|| finalizers.into_iter().filter(|f| f != finalizer).collect())
}

async fn reconcile_claim(pvc: Arc<PersistentVolumeClaim>, ctx: Arc<Ctx>) -> Result<Action> {
    let namespace = pvc.namespace().unwrap_or_default();
    let name = pvc.name_any();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    if pvc.metadata.deletion_timestamp.is_some() {
        if let Some(rest) = without_finalizer(&pvc.metadata, PVC_PROTECTION) {
            let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
            let list = pods
                .list(&ListParams::default())
                .await
                .map_err(|e| Error::kube(format!("listing pods in {namespace}"), e))?;
            let used = list
                .items
                .iter()
                .any(|pod| !is_terminal(pod) && claims_of(pod).contains(&name));
            if !used {
                kubeapi::merge(
                    &api,
                    &name,
                    MANAGER,
                    &json!({ "metadata": { "finalizers": rest } }),
                )
                .await?;
            }
        }
        return Ok(Action::await_change());
    }
    if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound") {
        return Ok(Action::await_change());
    }
    if let Some(rest) = kubeapi::held(&ctx.config.faults, "persistentvolumeclaim", &pvc.metadata) {
        return Ok(Action::requeue(rest));
    }
    let spec = pvc.spec.clone().unwrap_or_default();
    let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let (pv, provisioner) = match spec.volume_name.as_deref().filter(|v| !v.is_empty()) {
        Some(volume) => match kubeapi::get_opt(&pvs, volume).await? {
            Some(pv) => (pv, None),
            None => return Ok(Action::await_change()),
        },
        None => {
            let Some(class) =
                storage_class(&ctx.client, spec.storage_class_name.as_deref()).await?
            else {
                return Ok(Action::await_change());
            };
            if class.provisioner != PROVISIONER {
                return Ok(Action::await_change());
            }
            let waits = class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer");
            if waits && !pvc.annotations().contains_key(SELECTED_NODE) {
                return Ok(Action::await_change());
            }
            (provision(&ctx, &pvc, &class).await?, Some(PROVISIONER))
        }
    };
    bind(&ctx, &pvc, &pv, provisioner).await?;
    Ok(Action::await_change())
}

/// The class a claim gets: the named one, or the default when the claim names none.
/// `Some("")` asks for no class (static volumes only).
async fn storage_class(client: &kube::Client, name: Option<&str>) -> Result<Option<StorageClass>> {
    let api: Api<StorageClass> = Api::all(client.clone());
    match name {
        Some("") => Ok(None),
        Some(name) => kubeapi::get_opt(&api, name).await,
        None => {
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| Error::kube("listing storage classes", e))?;
            Ok(list
                .items
                .into_iter()
                .find(|c| c.annotations().get(DEFAULT_CLASS).map(String::as_str) == Some("true")))
        }
    }
}

/// Creates the volume for a claim: its directory (or image file) and the PV, pre-bound.
async fn provision(
    ctx: &Ctx,
    pvc: &PersistentVolumeClaim,
    class: &StorageClass,
) -> Result<PersistentVolume> {
    let uid = pvc.uid().unwrap_or_default();
    let pv_name = format!("pvc-{uid}");
    let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
    if let Some(existing) = kubeapi::get_opt(&pvs, &pv_name).await? {
        return Ok(existing);
    }
    let spec = pvc.spec.clone().unwrap_or_default();
    let size = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .cloned()
        .unwrap_or_else(|| Quantity("1Gi".into()));
    let block = spec.volume_mode.as_deref() == Some("Block");
    let dir = volumes::volume_dir(&ctx.config, &pv_name);
    fs::create_dir_all(&dir).map_err(|e| Error::io("creating a volume directory", &dir, e))?;
    let (path, path_type) = if block {
        let image = dir.join(DISK_IMAGE);
        let bytes = parse_quantity(&size.0).unwrap_or(1 << 30);
        create_sparse(&image, bytes)?;
        (image, "File")
    } else {
        (dir, "Directory")
    };
    let pv: PersistentVolume = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": pv_name,
            "annotations": { "pv.kubernetes.io/provisioned-by": PROVISIONER },
            "finalizers": [PV_PROTECTION],
        },
        "spec": {
            "capacity": { "storage": size.0 },
            "accessModes": spec.access_modes.clone().unwrap_or_else(|| vec!["ReadWriteOnce".into()]),
            "volumeMode": if block { "Block" } else { "Filesystem" },
            "persistentVolumeReclaimPolicy": class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
            "storageClassName": class.name_any(),
            "hostPath": { "path": path.display().to_string(), "type": path_type },
            "claimRef": claim_ref(pvc),
            "nodeAffinity": { "required": { "nodeSelectorTerms": [{ "matchExpressions": [{
                "key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_NAME],
            }] }] } },
        },
    }))
    .map_err(|e| Error::json("building a PersistentVolume", e))?;
    match pvs.create(&PostParams::default(), &pv).await {
        Ok(created) => Ok(created),
        Err(error) if super::error::is_status(&error, 409) => pvs
            .get(&pv_name)
            .await
            .map_err(|e| Error::kube(format!("reading PV {pv_name}"), e)),
        Err(error) => Err(Error::kube(format!("creating PV {pv_name}"), error)),
    }
}

fn claim_ref(pvc: &PersistentVolumeClaim) -> Value {
    json!({
        "kind": "PersistentVolumeClaim",
        "apiVersion": "v1",
        "namespace": pvc.namespace(),
        "name": pvc.name_any(),
        "uid": pvc.uid(),
        "resourceVersion": pvc.resource_version(),
    })
}

/// Binds a claim and a volume: the volume's `claimRef` and phase, the claim's
/// `volumeName`, annotations and phase.
async fn bind(
    ctx: &Ctx,
    pvc: &PersistentVolumeClaim,
    pv: &PersistentVolume,
    provisioner: Option<&str>,
) -> Result<()> {
    let pv_name = pv.name_any();
    let pv_spec = pv.spec.clone().unwrap_or_default();
    let uid = pvc.uid().unwrap_or_default();
    if let Some(existing) = &pv_spec.claim_ref {
        let same_claim = existing.name.as_deref() == Some(pvc.name_any().as_str())
            && existing.namespace == pvc.namespace();
        let same_uid = existing
            .uid
            .as_deref()
            .is_none_or(|u| u.is_empty() || u == uid);
        if !(same_claim && same_uid) {
            tracing::debug!(pv = %pv_name, claim = %kubeapi::key(pvc), "volume bound to another claim");
            return Ok(());
        }
    }
    let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let needs_ref = pv_spec.claim_ref.as_ref().and_then(|c| c.uid.as_deref()) != Some(uid.as_str());
    if needs_ref {
        let mut patch = json!({ "spec": { "claimRef": claim_ref(pvc) } });
        if pv_spec.claim_ref.is_none() {
            patch["metadata"] =
                json!({ "annotations": { "pv.kubernetes.io/bound-by-controller": "yes" } });
        }
        kubeapi::merge(&pvs, &pv_name, MANAGER, &patch).await?;
    }
    if pv.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound") {
        kubeapi::merge_status(&pvs, &pv_name, MANAGER, &json!({ "phase": "Bound" })).await?;
    }
    let namespace = pvc.namespace().unwrap_or_default();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let claim_spec = pvc.spec.clone().unwrap_or_default();
    let mut annotations = BTreeMap::from([(
        "pv.kubernetes.io/bind-completed".to_owned(),
        "yes".to_owned(),
    )]);
    if claim_spec.volume_name.as_deref().is_none_or(str::is_empty) {
        annotations.insert("pv.kubernetes.io/bound-by-controller".into(), "yes".into());
    }
    if let Some(provisioner) = provisioner {
        annotations.insert(
            "volume.kubernetes.io/storage-provisioner".into(),
            provisioner.into(),
        );
        annotations.insert(
            "volume.beta.kubernetes.io/storage-provisioner".into(),
            provisioner.into(),
        );
    }
    let mut patch = json!({ "metadata": { "annotations": annotations } });
    if claim_spec.volume_name.as_deref().is_none_or(str::is_empty) {
        patch["spec"] = json!({ "volumeName": pv_name });
    }
    if claim_spec.storage_class_name.is_none()
        && let Some(class) = &pv_spec.storage_class_name
    {
        patch["spec"]["storageClassName"] = json!(class);
    }
    kubeapi::merge(&pvcs, &pvc.name_any(), MANAGER, &patch).await?;
    kubeapi::merge_status(
        &pvcs,
        &pvc.name_any(),
        MANAGER,
        &json!({
            "phase": "Bound",
            "accessModes": pv_spec.access_modes,
            "capacity": pv_spec.capacity,
        }),
    )
    .await?;
    tracing::debug!(claim = %kubeapi::key(pvc), pv = %pv_name, "bound");
    Ok(())
}

async fn reconcile_volume(pv: Arc<PersistentVolume>, ctx: Arc<Ctx>) -> Result<Action> {
    let name = pv.name_any();
    let api: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let phase = pv.status.as_ref().and_then(|s| s.phase.clone());
    if pv.metadata.deletion_timestamp.is_some() {
        if phase.as_deref() != Some("Bound")
            && let Some(rest) = without_finalizer(&pv.metadata, PV_PROTECTION)
        {
            kubeapi::merge(
                &api,
                &name,
                MANAGER,
                &json!({ "metadata": { "finalizers": rest } }),
            )
            .await?;
        }
        return Ok(Action::await_change());
    }
    let spec = pv.spec.clone().unwrap_or_default();
    let Some(claim) = spec.claim_ref.clone() else {
        if phase.as_deref() != Some("Available") {
            kubeapi::merge_status(&api, &name, MANAGER, &json!({ "phase": "Available" })).await?;
        }
        return Ok(Action::await_change());
    };
    let (Some(claim_ns), Some(claim_name)) = (claim.namespace.clone(), claim.name.clone()) else {
        return Ok(Action::await_change());
    };
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &claim_ns);
    let current = kubeapi::get_opt(&pvcs, &claim_name).await?;
    let claim_gone = match (&current, claim.uid.as_deref()) {
        (None, _) => true,
        (Some(pvc), Some(uid)) if !uid.is_empty() => pvc.uid().as_deref() != Some(uid),
        _ => false,
    };
    if !claim_gone {
        return Ok(Action::await_change());
    }
    if phase.as_deref() == Some("Pending") || phase.is_none() {
        // Not yet bound by the claim side; give binding a moment.
        if kubeapi::age(&pv.metadata) < Duration::from_secs(5) {
            return Ok(Action::requeue(Duration::from_secs(1)));
        }
    }
    if phase.as_deref() != Some("Released") {
        kubeapi::merge_status(&api, &name, MANAGER, &json!({ "phase": "Released" })).await?;
    }
    let ours = pv
        .annotations()
        .get("pv.kubernetes.io/provisioned-by")
        .map(String::as_str)
        == Some(PROVISIONER);
    if ours && spec.persistent_volume_reclaim_policy.as_deref() == Some("Delete") {
        let dir = volumes::volume_dir(&ctx.config, &name);
        if dir.starts_with(ctx.config.volumes_dir())
            && volumes::is_plain_relative(Path::new(&name))
            && let Err(error) = fs::remove_dir_all(&dir)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            return Err(Error::io("deleting a volume directory", dir, error));
        }
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(error) if super::error::is_status(&error, 404) => {}
            Err(error) => return Err(Error::kube(format!("deleting PV {name}"), error)),
        }
        // Nothing else holds it: the volume is unbound now.
        if let Some(rest) = without_finalizer(&pv.metadata, PV_PROTECTION) {
            let _ = kubeapi::merge(
                &api,
                &name,
                MANAGER,
                &json!({ "metadata": { "finalizers": rest } }),
            )
            .await;
        }
        tracing::debug!(pv = %name, "deleted a released volume");
    }
    Ok(Action::await_change())
}

/// Creates (or grows) a sparse file of `bytes`.
pub fn create_sparse(path: &Path, bytes: u64) -> Result<()> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("creating an image file", path, e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len < bytes {
        file.set_len(bytes)
            .map_err(|e| Error::io("sizing an image file", path, e))?;
    }
    Ok(())
}

/// Parses a Kubernetes quantity of bytes (`1Gi`, `500M`, `1048576`, `1.5Gi`, `1e3`).
/// `None` for anything else, or a value out of `u64`.
pub fn parse_quantity(text: &str) -> Option<u64> {
    let text = text.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    let (number, scale) = SUFFIXES
        .iter()
        .find_map(|(suffix, scale)| text.strip_suffix(suffix).map(|n| (n, *scale)))
        .unwrap_or((text, 1.0));
    if number.is_empty()
        || !number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let bytes = (value * scale).ceil();
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("1Gi"), Some(1 << 30));
        assert_eq!(parse_quantity("64Mi"), Some(64 << 20));
        assert_eq!(parse_quantity("1048576"), Some(1 << 20));
        assert_eq!(parse_quantity("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_quantity("2k"), Some(2000));
        assert_eq!(parse_quantity("1e3"), Some(1000));
        assert_eq!(parse_quantity("500m"), Some(1));
        for bad in ["", "Gi", "x", "-1", "1Zi", "99999999999Ei", "NaN"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn finalizers_are_removed_alone() {
        let meta = kube::api::ObjectMeta {
            finalizers: Some(vec![PVC_PROTECTION.into(), "other".into()]),
            ..Default::default()
        };
        assert_eq!(
            without_finalizer(&meta, PVC_PROTECTION),
            Some(vec!["other".into()])
        );
        assert_eq!(without_finalizer(&meta, PV_PROTECTION), None);
    }
}
