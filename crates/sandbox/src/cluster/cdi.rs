//! CDI's DataVolume controller, import path (`cdi.kubevirt.io/v1beta1`), as the API sees
//! it:
//!
//! 1. a DataVolume gets a PVC of the same name, owned by it, with CDI's labels and
//!    annotations (the DataVolume's own annotations, `storage.import.source`,
//!    `storage.contentType`, ...), its size, class, access and volume modes from the
//!    DataVolume or, when it says nothing, the class's StorageProfile;
//! 2. once the claim is bound, an importer pod `importer-<pvc>` (run by the kubelet,
//!    [`super::workload::importer`]) fills it; its state is reflected into the claim's
//!    annotations (`storage.pod.phase`, `storage.pod.restarts`,
//!    `storage.condition.running*`) as CDI's import controller does;
//! 3. the DataVolume's `status` follows: `Pending` → `ImportScheduled` →
//!    `ImportInProgress` (with `progress` `"NN.NN%"` read from the importer's metrics)
//!    → `Succeeded` (`"100.0%"`), with the `Bound`, `Ready` and `Running` conditions and
//!    reasons CDI sets, and Events; the importer pod is deleted when done unless
//!    `storage.pod.retainAfterCompletion` is `"true"`.
//!
//! Sources: `blank`, `http` (real bytes), `vddk` and `imageio` (simulated: no data);
//! anything else fails the DataVolume with a clear condition. No filesystem overhead is
//! added to claim sizes, and populators are not used (`storage.usePopulator` is read as
//! false): the legacy import flow, which Forklift handles as well.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_api::destination::DataVolume;
use ferry_api::destination::cdi::DataVolumeCondition;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::config::ClusterConfig;
use super::error::{Error, Result};
use super::events::{self, Kind};
use super::kubeapi;
use super::setup;
use super::workload::importer;

const MANAGER: &str = "ferry-sandbox-cdi";
const PREFIX: &str = "cdi.kubevirt.io/";
/// The importer image named in importer pods.
pub const IMPORTER_IMAGE: &str = "quay.io/kubevirt/cdi-importer:v1.62.0";

fn ann(key: &str) -> String {
    format!("{PREFIX}{key}")
}

struct Ctx {
    client: kube::Client,
    config: Arc<ClusterConfig>,
    http: reqwest::Client,
}

/// Runs the DataVolume controller until `stop` is cancelled.
pub async fn run(
    client: kube::Client,
    config: Arc<ClusterConfig>,
    stop: CancellationToken,
) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .map_err(|e| Error::Config(format!("building the CDI progress client: {e}")))?;
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config,
        http,
    });
    Controller::new(
        Api::<DataVolume>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<Pod>::all(client),
        watcher::Config::default().labels("cdi.kubevirt.io=importer"),
        |pod: Pod| {
            let namespace = pod.namespace()?;
            pod.owner_references()
                .iter()
                .find(|r| r.kind == "PersistentVolumeClaim")
                .map(|r| ObjectRef::new(&r.name).within(&namespace))
        },
    )
    .graceful_shutdown_on(stop.cancelled_owned())
    .run(reconcile, retry, ctx)
    .for_each(|_| async {})
    .await;
    Ok(())
}

fn retry(_dv: Arc<DataVolume>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(%error, "cdi: retrying");
    Action::requeue(if error.is_conflict() {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(500)
    })
}

/// What fills the DataVolume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    /// `blank: {}`.
    Blank,
    /// `http: {url}`.
    Http(String),
    /// `vddk: {...}`.
    Vddk,
    /// `imageio: {...}`.
    ImageIo,
    /// Anything else (`pvc`, `registry`, `upload`, `snapshot`, `s3`, `gcs`).
    Unsupported(String),
}

impl ImportSource {
    /// The source of a DataVolume (pure).
    pub fn of(dv: &DataVolume) -> Self {
        let Some(source) = &dv.spec.source else {
            return Self::Unsupported("none".into());
        };
        if source.blank.is_some() {
            Self::Blank
        } else if let Some(http) = &source.http {
            Self::Http(http.url.clone())
        } else if source.vddk.is_some() {
            Self::Vddk
        } else if source.imageio.is_some() {
            Self::ImageIo
        } else {
            Self::Unsupported(
                source
                    .extra
                    .keys()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| "none".into()),
            )
        }
    }

    /// `storage.import.source`.
    pub fn annotation(&self) -> &str {
        match self {
            Self::Blank => "none",
            Self::Http(_) => "http",
            Self::Vddk => "vddk",
            Self::ImageIo => "imageio",
            Self::Unsupported(kind) => kind,
        }
    }
}

/// The size a DataVolume asks for (`spec.storage` or `spec.pvc`).
fn requested_size(dv: &DataVolume) -> Option<String> {
    let from_storage = dv
        .spec
        .storage
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone());
    let from_pvc = dv
        .spec
        .pvc
        .as_ref()
        .and_then(|p| p.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone());
    from_storage.or(from_pvc)
}

/// A condition with CDI's transition rules: the transition time moves only when the
/// status changes (pure).
fn condition(
    existing: &[DataVolumeCondition],
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    let old = existing.iter().find(|c| c.r#type == kind);
    let transition = old
        .filter(|c| c.status == status)
        .and_then(|c| c.extra.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    let same = old.is_some_and(|c| {
        c.status == status
            && c.reason.as_deref().unwrap_or_default() == reason
            && c.message.as_deref().unwrap_or_default() == message
    });
    let heartbeat = if same {
        old.and_then(|c| c.extra.get("lastHeartbeatTime").cloned())
            .unwrap_or_else(|| json!(now))
    } else {
        json!(now)
    };
    json!({
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
        "lastHeartbeatTime": heartbeat,
    })
}

/// The state the DataVolume is in, as decided from its claim and importer (pure input
/// to [`status`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The phase.
    pub phase: &'static str,
    /// `status.progress`.
    pub progress: String,
    /// The claim's name, once it exists.
    pub claim: Option<String>,
    /// Whether the claim is bound.
    pub bound: bool,
    /// `Running` condition: status, reason, message.
    pub running: (&'static str, String, String),
    /// Importer restarts.
    pub restarts: i32,
}

/// The DataVolume status for `observed` (pure).
pub fn status(dv: &DataVolume, observed: &Observed, now: &str) -> Value {
    let existing = &dv.status.conditions;
    let claim = observed.claim.clone().unwrap_or_else(|| dv.name_any());
    let (bound_status, bound_reason, bound_message) = match (&observed.claim, observed.bound) {
        (None, _) => ("False", "NotFound", "No PVC found".to_owned()),
        (Some(_), true) => ("True", "Bound", format!("PVC {claim} Bound")),
        (Some(_), false) => ("False", "Pending", format!("PVC {claim} Pending")),
    };
    let (ready_status, ready_reason) = match observed.phase {
        "Succeeded" => ("True", ""),
        _ if observed.running.0 == "True" => ("False", "TransferRunning"),
        _ => ("False", ""),
    };
    let mut status = json!({
        "phase": observed.phase,
        "progress": observed.progress,
        "conditions": [
            condition(existing, "Bound", bound_status, bound_reason, &bound_message, now),
            condition(existing, "Ready", ready_status, ready_reason, "", now),
            condition(existing, "Running", observed.running.0, &observed.running.1, &observed.running.2, now),
        ],
    });
    if let Some(claim) = &observed.claim {
        status["claimName"] = json!(claim);
    }
    if observed.restarts > 0 {
        status["restartCount"] = json!(observed.restarts);
    }
    status
}

/// Whether two statuses differ in anything but heartbeat times.
fn differs(old: &DataVolume, new: &Value) -> bool {
    let strip = |value: Value| -> Value {
        let mut value = value;
        if let Some(conditions) = value.get_mut("conditions").and_then(Value::as_array_mut) {
            for c in conditions {
                if let Some(map) = c.as_object_mut() {
                    map.remove("lastHeartbeatTime");
                    map.remove("lastTransitionTime");
                }
            }
        }
        value
    };
    let old = serde_json::to_value(&old.status).unwrap_or(Value::Null);
    let keys = [
        "phase",
        "progress",
        "conditions",
        "claimName",
        "restartCount",
    ];
    let pick = |v: &Value| -> Value {
        let v = strip(v.clone());
        json!(
            keys.iter()
                .map(|k| v.get(*k).cloned().unwrap_or(Value::Null))
                .collect::<Vec<_>>()
        )
    };
    pick(&old) != pick(new)
}

async fn reconcile(dv: Arc<DataVolume>, ctx: Arc<Ctx>) -> Result<Action> {
    if dv.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    if let Some(rest) = kubeapi::held(&ctx.config.faults, "datavolume", &dv.metadata) {
        return Ok(Action::requeue(rest));
    }
    let namespace = dv.metadata.namespace.clone().unwrap_or_default();
    let name = dv.name_any();
    let dvs: Api<DataVolume> = Api::namespaced(ctx.client.clone(), &namespace);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let now = kubeapi::now();
    let source = ImportSource::of(&dv);
    let write = |observed: Observed| {
        let dvs = dvs.clone();
        let dv = Arc::clone(&dv);
        let now = now.clone();
        async move {
            let new = status(&dv, &observed, &now);
            if differs(&dv, &new) {
                kubeapi::merge_status(&dvs, &dv.name_any(), MANAGER, &new).await?;
            }
            Ok::<(), Error>(())
        }
    };
    if let ImportSource::Unsupported(kind) = &source {
        write(Observed {
            phase: "Failed",
            progress: "N/A".into(),
            claim: None,
            bound: false,
            running: (
                "False",
                "UnsupportedSource".into(),
                format!("the sandbox's CDI does not import from {kind} sources (blank, http, vddk and imageio only)"),
            ),
            restarts: 0,
        })
        .await?;
        return Ok(Action::await_change());
    }
    let claim_name = dv.status.claim_name.clone().unwrap_or_else(|| name.clone());
    let Some(pvc) = kubeapi::get_opt(&pvcs, &claim_name).await? else {
        if dv.status.phase.as_deref() == Some("Succeeded") {
            return Ok(Action::await_change());
        }
        let pvc = claim_for(&ctx, &dv, &source).await?;
        kubeapi::create_or_get(&pvcs, &pvc).await?;
        write(Observed {
            phase: "Pending",
            progress: "N/A".into(),
            claim: Some(claim_name),
            bound: false,
            running: ("False", String::new(), String::new()),
            restarts: 0,
        })
        .await?;
        return Ok(Action::await_change());
    };
    let annotations = pvc.annotations().clone();
    let bound = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let pod_phase = annotations.get(&ann("storage.pod.phase")).cloned();
    let restarts: i32 = annotations
        .get(&ann("storage.pod.restarts"))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let pod_name = format!("importer-{claim_name}");
    if pod_phase.as_deref() == Some("Succeeded") {
        write(Observed {
            phase: "Succeeded",
            progress: "100.0%".into(),
            claim: Some(claim_name.clone()),
            bound,
            running: running_from(&annotations),
            restarts,
        })
        .await?;
        if dv.status.phase.as_deref() != Some("Succeeded") {
            events::record(
                &ctx.client,
                &*dv,
                Kind::Normal,
                "ImportSucceeded",
                &format!("Successfully imported into PVC {claim_name}"),
                "datavolume-import-controller",
            )
            .await;
        }
        let retain = dv
            .annotations()
            .get(&ann("storage.pod.retainAfterCompletion"))
            .map(String::as_str)
            == Some("true");
        if !retain {
            match pods.delete(&pod_name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if super::error::is_status(&e, 404) => {}
                Err(e) => return Err(Error::kube(format!("deleting importer pod {pod_name}"), e)),
            }
        }
        return Ok(Action::await_change());
    }
    if !bound {
        write(Observed {
            phase: "Pending",
            progress: "N/A".into(),
            claim: Some(claim_name),
            bound: false,
            running: ("False", String::new(), String::new()),
            restarts,
        })
        .await?;
        return Ok(Action::await_change());
    }
    if dv
        .status
        .conditions
        .iter()
        .all(|c| !(c.r#type == "Bound" && c.status == "True"))
    {
        events::record(
            &ctx.client,
            &*dv,
            Kind::Normal,
            "Bound",
            &format!("PVC {claim_name} Bound"),
            "datavolume-import-controller",
        )
        .await;
    }
    let pod = match kubeapi::get_opt(&pods, &pod_name).await? {
        Some(pod) => pod,
        None => {
            let pod = importer_pod(&dv, &pvc, &source, &pod_name)?;
            let created = kubeapi::create_or_get(&pods, &pod).await?;
            kubeapi::merge(
                &pvcs,
                &claim_name,
                MANAGER,
                &json!({ "metadata": { "annotations": { ann("storage.import.importPodName"): pod_name } } }),
            )
            .await?;
            created
        }
    };
    let pod_status = pod.status.clone().unwrap_or_default();
    let phase = pod_status.phase.clone().unwrap_or_else(|| "Pending".into());
    let container = pod_status
        .container_statuses
        .as_ref()
        .and_then(|c| c.first())
        .cloned();
    let pod_restarts = container
        .as_ref()
        .map_or(0, |c| c.restart_count)
        .max(restarts);
    let (running, reason, message) = match container.as_ref().and_then(|c| c.state.clone()) {
        Some(state) if state.running.is_some() => {
            ("true", "Pod is running".to_owned(), String::new())
        }
        Some(state) => match (state.terminated, state.waiting) {
            (Some(t), _) => (
                "false",
                t.reason.unwrap_or_default(),
                t.message
                    .as_deref()
                    .and_then(|m| serde_json::from_str::<Value>(m).ok())
                    .and_then(|m| m["message"].as_str().map(str::to_owned))
                    .or(t.message)
                    .unwrap_or_default(),
            ),
            (None, Some(w)) => (
                "false",
                w.reason.unwrap_or_default(),
                w.message.unwrap_or_default(),
            ),
            (None, None) => ("false", String::new(), String::new()),
        },
        None => ("false", String::new(), String::new()),
    };
    let mut pvc_annotations = BTreeMap::from([
        (ann("storage.pod.phase"), phase.clone()),
        (ann("storage.pod.restarts"), pod_restarts.to_string()),
        (ann("storage.condition.running"), running.to_owned()),
        (ann("storage.condition.running.reason"), reason.clone()),
        (ann("storage.condition.running.message"), message.clone()),
        (ann("storage.import.importPodName"), pod_name.clone()),
    ]);
    pvc_annotations.insert(ann("storage.pod.ready"), (running == "true").to_string());
    let changed = pvc_annotations
        .iter()
        .any(|(k, v)| annotations.get(k) != Some(v));
    if changed {
        kubeapi::merge(
            &pvcs,
            &claim_name,
            MANAGER,
            &json!({ "metadata": { "annotations": pvc_annotations } }),
        )
        .await?;
    }
    let (dv_phase, event) = match phase.as_str() {
        "Running" => (
            "ImportInProgress",
            (
                "ImportInProgress",
                format!("Import into {claim_name} in progress"),
            ),
        ),
        "Succeeded" => (
            "Succeeded",
            (
                "ImportSucceeded",
                format!("Successfully imported into PVC {claim_name}"),
            ),
        ),
        "Failed" => (
            "Failed",
            (
                "ImportFailed",
                format!("Failed to import into PVC {claim_name}"),
            ),
        ),
        _ => (
            "ImportScheduled",
            (
                "ImportScheduled",
                format!("Import into {claim_name} scheduled"),
            ),
        ),
    };
    let progress = if dv_phase == "ImportInProgress" {
        match read_progress(&ctx, &pod, &dv).await {
            Some(pct) => format!("{pct:.2}%"),
            None => dv.status.progress.clone().unwrap_or_else(|| "N/A".into()),
        }
    } else if dv_phase == "Succeeded" {
        "100.0%".into()
    } else {
        dv.status.progress.clone().unwrap_or_else(|| "N/A".into())
    };
    let running_condition = (
        if running == "true" { "True" } else { "False" },
        reason,
        message,
    );
    write(Observed {
        phase: dv_phase,
        progress,
        claim: Some(claim_name),
        bound: true,
        running: running_condition,
        restarts: pod_restarts,
    })
    .await?;
    if dv.status.phase.as_deref() != Some(dv_phase) {
        let kind = if dv_phase == "Failed" {
            Kind::Warning
        } else {
            Kind::Normal
        };
        events::record(
            &ctx.client,
            &*dv,
            kind,
            event.0,
            &event.1,
            "datavolume-import-controller",
        )
        .await;
    }
    Ok(match dv_phase {
        "ImportInProgress" => Action::requeue(ctx.config.pace.progress_interval),
        _ => Action::await_change(),
    })
}

fn running_from(annotations: &BTreeMap<String, String>) -> (&'static str, String, String) {
    let status = if annotations
        .get(&ann("storage.condition.running"))
        .map(String::as_str)
        == Some("true")
    {
        "True"
    } else {
        "False"
    };
    (
        status,
        annotations
            .get(&ann("storage.condition.running.reason"))
            .cloned()
            .unwrap_or_default(),
        annotations
            .get(&ann("storage.condition.running.message"))
            .cloned()
            .unwrap_or_default(),
    )
}

/// `kubevirt_cdi_import_progress_total{ownerUID="<dv uid>"}` from the importer.
async fn read_progress(ctx: &Ctx, pod: &Pod, dv: &DataVolume) -> Option<f64> {
    let ip = pod.status.as_ref()?.pod_ip.clone()?;
    let url = format!("http://{ip}:{}/metrics", importer::METRICS_PORT);
    let text = ctx.http.get(url).send().await.ok()?.text().await.ok()?;
    parse_progress(&text, dv.metadata.uid.as_deref().unwrap_or_default())
}

/// The import progress of `owner` in a metrics text (pure).
pub fn parse_progress(text: &str, owner: &str) -> Option<f64> {
    let needle = format!("ownerUID=\"{owner}\"");
    text.lines()
        .filter(|l| l.starts_with("kubevirt_cdi_import_progress_total{") && l.contains(&needle))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .filter(|p| p.is_finite())
        .map(|p| p.clamp(0.0, 100.0))
}

/// The claim CDI creates for a DataVolume.
async fn claim_for(
    ctx: &Ctx,
    dv: &DataVolume,
    source: &ImportSource,
) -> Result<PersistentVolumeClaim> {
    let storage = dv.spec.storage.clone().unwrap_or_default();
    let pvc_spec = dv.spec.pvc.clone();
    let class_name = storage
        .storage_class_name
        .clone()
        .or_else(|| pvc_spec.as_ref().and_then(|p| p.storage_class_name.clone()));
    let class = match class_name.clone() {
        Some(name) => Some(name),
        None => default_class(&ctx.client).await?,
    };
    let (profile_modes, profile_volume_mode) = match &class {
        Some(class) => profile(&ctx.client, class).await,
        None => (vec!["ReadWriteOnce".to_owned()], "Filesystem".to_owned()),
    };
    let access_modes = if !storage.access_modes.is_empty() {
        storage.access_modes.clone()
    } else {
        pvc_spec
            .as_ref()
            .and_then(|p| p.access_modes.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or(profile_modes)
    };
    let volume_mode = storage
        .volume_mode
        .clone()
        .or_else(|| pvc_spec.as_ref().and_then(|p| p.volume_mode.clone()))
        .unwrap_or(profile_volume_mode);
    let size = requested_size(dv).unwrap_or_else(|| "1Gi".into());
    let mut annotations: BTreeMap<String, String> = dv.annotations().clone();
    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    annotations.insert(ann("storage.import.source"), source.annotation().to_owned());
    annotations.insert(ann("storage.contentType"), "kubevirt".into());
    annotations.insert(ann("storage.preallocation.requested"), "false".into());
    annotations.insert(
        ann("createdForDataVolume"),
        dv.metadata.uid.clone().unwrap_or_default(),
    );
    annotations.insert(ann("storage.usePopulator"), "false".into());
    if let ImportSource::Http(url) = source {
        annotations.insert(ann("storage.import.endpoint"), url.clone());
    }
    let mut labels: BTreeMap<String, String> = dv.labels().clone();
    labels.insert("app".into(), "containerized-data-importer".into());
    labels.insert("app.kubernetes.io/component".into(), "storage".into());
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "cdi-controller".into(),
    );
    let mut spec = json!({
        "accessModes": access_modes,
        "volumeMode": volume_mode,
        "resources": { "requests": { "storage": size } },
    });
    if let Some(class) = class {
        spec["storageClassName"] = json!(class);
    }
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": dv.name_any(),
            "namespace": dv.metadata.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [kubeapi::owner_reference(dv, true)],
        },
        "spec": spec,
    }))
    .map_err(|e| Error::json("building a PersistentVolumeClaim", e))
}

async fn default_class(client: &kube::Client) -> Result<Option<String>> {
    let list = Api::<StorageClass>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("listing storage classes", e))?;
    Ok(list
        .items
        .iter()
        .find(|c| {
            c.annotations()
                .get("storageclass.kubernetes.io/is-default-class")
                .map(String::as_str)
                == Some("true")
        })
        .map(ResourceExt::name_any))
}

/// Access modes and volume mode from the class's StorageProfile.
async fn profile(client: &kube::Client, class: &str) -> (Vec<String>, String) {
    let api = setup::dynamic(
        client,
        "cdi.kubevirt.io",
        "v1beta1",
        "StorageProfile",
        "storageprofiles",
    );
    let found = api.get_opt(class).await.ok().flatten();
    let set = found.as_ref().and_then(|p| {
        p.data["status"]["claimPropertySets"]
            .as_array()
            .and_then(|s| s.first().cloned())
    });
    let modes = set
        .as_ref()
        .and_then(|s| s["accessModes"].as_array().cloned())
        .map(|m| {
            m.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| vec!["ReadWriteOnce".into()]);
    let mode = set
        .as_ref()
        .and_then(|s| s["volumeMode"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "Filesystem".into());
    (modes, mode)
}

/// CDI's importer pod for a claim.
fn importer_pod(
    dv: &DataVolume,
    pvc: &PersistentVolumeClaim,
    source: &ImportSource,
    name: &str,
) -> Result<Pod> {
    let block = pvc.spec.as_ref().and_then(|s| s.volume_mode.as_deref()) == Some("Block");
    let size = pvc
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone())
        .or_else(|| requested_size(dv))
        .unwrap_or_default();
    let mut env = vec![
        json!({ "name": "IMPORTER_SOURCE", "value": source.annotation() }),
        json!({ "name": "IMPORTER_CONTENTTYPE", "value": "kubevirt" }),
        json!({ "name": "IMPORTER_IMAGE_SIZE", "value": size }),
        json!({ "name": "OWNER_UID", "value": dv.metadata.uid }),
        json!({ "name": "FILESYSTEM_OVERHEAD", "value": if block { "0" } else { "0.06" } }),
        json!({ "name": "INSECURE_TLS", "value": "false" }),
    ];
    let spec_source = dv.spec.source.clone().unwrap_or_default();
    let mut secret = None;
    match source {
        ImportSource::Http(url) => {
            env.push(json!({ "name": "IMPORTER_ENDPOINT", "value": url }));
            secret = spec_source.http.as_ref().and_then(|h| h.secret_ref.clone());
        }
        ImportSource::Vddk => {
            if let Some(v) = &spec_source.vddk {
                env.push(json!({ "name": "IMPORTER_ENDPOINT", "value": v.url.clone().unwrap_or_default() }));
                env.push(
                    json!({ "name": "IMPORTER_UUID", "value": v.uuid.clone().unwrap_or_default() }),
                );
                env.push(json!({ "name": "IMPORTER_BACKING_FILE", "value": v.backing_file.clone().unwrap_or_default() }));
                env.push(json!({ "name": "IMPORTER_THUMBPRINT", "value": v.thumbprint.clone().unwrap_or_default() }));
                secret = v.secret_ref.clone();
            }
        }
        ImportSource::ImageIo => {
            if let Some(i) = &spec_source.imageio {
                env.push(json!({ "name": "IMPORTER_ENDPOINT", "value": i.url }));
                env.push(json!({ "name": "IMPORTER_DISK_ID", "value": i.disk_id }));
                secret = i.secret_ref.clone();
            }
        }
        ImportSource::Blank | ImportSource::Unsupported(_) => {}
    }
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        for (var, key) in [
            ("IMPORTER_ACCESS_KEY_ID", "accessKeyId"),
            ("IMPORTER_SECRET_KEY", "secretKey"),
        ] {
            env.push(json!({ "name": var, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } }));
        }
    }
    let mut container = json!({
        "name": "importer",
        "image": IMPORTER_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["-v=1"],
        "env": env,
        "ports": [{ "name": "metrics", "containerPort": importer::METRICS_PORT, "protocol": "TCP" }],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    });
    if block {
        container["volumeDevices"] =
            json!([{ "name": "cdi-data-vol", "devicePath": importer::BLOCK_DEVICE }]);
    } else {
        container["volumeMounts"] =
            json!([{ "name": "cdi-data-vol", "mountPath": importer::DATA_DIR }]);
    }
    let mut spec = json!({
        "restartPolicy": "OnFailure",
        "containers": [container],
        "volumes": [{ "name": "cdi-data-vol", "persistentVolumeClaim": { "claimName": pvc.name_any(), "readOnly": false } }],
        "securityContext": { "fsGroup": 107 },
    });
    if let Some(sa) = dv.annotations().get(&ann("storage.pod.serviceAccountName")) {
        spec["serviceAccountName"] = json!(sa);
    }
    let mut annotations =
        json!({ ann("storage.createdByController"): "yes", "sidecar.istio.io/inject": "false" });
    for key in [
        "k8s.v1.cni.cncf.io/networks",
        "v1.multus-cni.io/default-network",
    ] {
        if let Some(value) = dv.annotations().get(key) {
            annotations[key] = json!(value);
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": pvc.namespace(),
            "labels": {
                "app": "containerized-data-importer",
                "app.kubernetes.io/component": "storage",
                "app.kubernetes.io/managed-by": "cdi-controller",
                "cdi.kubevirt.io": "importer",
                "prometheus.cdi.kubevirt.io": "true",
            },
            "annotations": annotations,
            "ownerReferences": [kubeapi::owner_reference(pvc, true)],
        },
        "spec": spec,
    }))
    .map_err(|e| Error::json("building an importer pod", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dv(value: Value) -> DataVolume {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn sources() {
        let blank = dv(
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": { "name": "d" }, "spec": { "source": { "blank": {} } } }),
        );
        assert_eq!(ImportSource::of(&blank), ImportSource::Blank);
        assert_eq!(ImportSource::of(&blank).annotation(), "none");
        let registry = dv(
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": { "name": "d" }, "spec": { "source": { "registry": { "url": "docker://x" } } } }),
        );
        assert_eq!(
            ImportSource::of(&registry),
            ImportSource::Unsupported("registry".into())
        );
    }

    #[test]
    fn status_follows_cdi() {
        let d = dv(
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": { "name": "disk-1" }, "spec": { "source": { "blank": {} } } }),
        );
        let observed = Observed {
            phase: "ImportInProgress",
            progress: "42.00%".into(),
            claim: Some("disk-1".into()),
            bound: true,
            running: ("True", "Pod is running".into(), String::new()),
            restarts: 0,
        };
        let s = status(&d, &observed, "t1");
        assert_eq!(s["phase"], "ImportInProgress");
        assert_eq!(s["progress"], "42.00%");
        assert_eq!(s["conditions"][0]["reason"], "Bound");
        assert_eq!(s["conditions"][0]["message"], "PVC disk-1 Bound");
        assert_eq!(s["conditions"][1]["reason"], "TransferRunning");
        assert_eq!(s["conditions"][2]["status"], "True");
        assert!(differs(&d, &s));
        // A status equal but for time stamps is not rewritten.
        let mut written = d.clone();
        written.status = serde_json::from_value(s.clone()).unwrap();
        let again = status(&written, &observed, "t2");
        assert!(!differs(&written, &again));
        assert_eq!(again["conditions"][0]["lastTransitionTime"], "t1");
    }

    #[test]
    fn progress_metric() {
        let text = "# HELP x\nkubevirt_cdi_import_progress_total{ownerUID=\"u1\"} 13.45\nkubevirt_cdi_import_progress_total{ownerUID=\"u2\"} 99\n";
        assert_eq!(parse_progress(text, "u1"), Some(13.45));
        assert_eq!(parse_progress(text, "u2"), Some(99.0));
        assert_eq!(parse_progress(text, "u3"), None);
        assert_eq!(
            parse_progress(
                "kubevirt_cdi_import_progress_total{ownerUID=\"u\"} NaN",
                "u"
            ),
            None
        );
    }
}
