//! One pass over a Conversion's stages (upstream `pipeline.go`, `ensurer.go`): the I/O
//! half of the controller. Reads come from the manager's caches; the API server is asked
//! only to create or delete a pod, to list pods when the cache has none (a pod created a
//! moment ago), and to check the claims and secrets a new pod mounts.

use std::time::Duration;

use ferry_api::conversion::{
    ConversionPhase, ConversionStage, ConversionStatus, ConversionType, DiskRef,
    SETTINGS_SNAPSHOT_MOREF, SnapshotStatus,
};
use ferry_api::{Conversion, ObjectReference, Time};
use ferry_plan::http::ReqwestPods;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;

use super::phase::{self, PendingClock};
use super::snapshot::{NotWired, Snapshots};
use super::{inspect, pod};
use crate::context::Context;
use crate::error::Error;

/// How often a running deep inspection is asked whether its results are ready (the pod
/// tells nothing else; upstream asks on every requeue).
pub const RESULTS_POLL: Duration = Duration::from_secs(5);
/// How often an owned snapshot's vSphere task is looked at.
pub const SNAPSHOT_POLL: Duration = Duration::from_secs(10);

/// Why a pass stopped short.
#[derive(Debug)]
pub enum Failure {
    /// The conversion cannot succeed: it fails with this message.
    Definitive(String),
    /// Ferry's own failure (the API server): the pass is retried with backoff.
    Transient(Error),
}

fn definitive(message: impl Into<String>) -> Failure {
    Failure::Definitive(message.into())
}

/// Whether the API server's refusal of a write is final for this spec (bad request,
/// forbidden by admission, namespace missing, invalid), rather than worth retrying.
fn refused(error: &kube::Error) -> Option<String> {
    match error {
        kube::Error::Api(status) if matches!(status.code, 400 | 403 | 404 | 422) => {
            Some(status.message.clone())
        }
        _ => None,
    }
}

/// The state of one pass.
pub struct Pass<'a> {
    ctx: &'a Context,
    conversion: &'a Conversion,
    /// The status being computed.
    pub status: ConversionStatus,
    now: Time,
    /// When to look again, if a timer is needed.
    pub requeue: Option<Duration>,
}

impl<'a> Pass<'a> {
    /// A pass over `conversion` at `now`.
    pub fn new(ctx: &'a Context, conversion: &'a Conversion, now: Time) -> Self {
        let mut status = conversion.status.clone();
        if status.phase.is_none() {
            status.phase = Some(ConversionPhase::Pending);
        }
        Self {
            ctx,
            conversion,
            status,
            now,
            requeue: None,
        }
    }

    fn wake_in(&mut self, after: Duration) {
        self.requeue = Some(self.requeue.map_or(after, |r| r.min(after)));
    }

    fn snapshots(&self) -> &'static dyn Snapshots {
        &NotWired
    }

    fn http(&self) -> Result<ReqwestPods, Failure> {
        ReqwestPods::new().map_err(|error| {
            Failure::Transient(Error::Plan {
                class: crate::error::ErrorClass::Transient,
                reason: "HttpClient",
                message: error.to_string(),
            })
        })
    }

    /// Runs the stages from the current one as far as they go; `Ok(true)` when the
    /// conversion succeeded.
    pub async fn run(&mut self) -> Result<bool, Failure> {
        if self.status.phase == Some(ConversionPhase::Pending) {
            self.start();
        }
        match self.conversion.spec.r#type {
            ConversionType::DeepInspection => self.deep_inspection().await,
            _ => self.virt_v2v().await,
        }
    }

    /// Upstream `runPhasePending`: a deep inspection records whether it owns its
    /// snapshot; then the conversion runs.
    fn start(&mut self) {
        let conversion = self.conversion;
        if conversion.spec.r#type == ConversionType::DeepInspection {
            self.status.snapshot = Some(if phase::owns_snapshot(conversion) {
                SnapshotStatus {
                    owned: true,
                    ..SnapshotStatus::default()
                }
            } else {
                SnapshotStatus {
                    moref: conversion
                        .spec
                        .settings
                        .get(SETTINGS_SNAPSHOT_MOREF)
                        .map(|m| m.trim().to_string())
                        .unwrap_or_default(),
                    owned: false,
                    ..SnapshotStatus::default()
                }
            });
        }
        self.status.phase = Some(ConversionPhase::Running);
        if self.status.start_time.is_none() {
            self.status.start_time = Some(self.now.clone());
        }
    }

    fn set_stage(&mut self, stage: ConversionStage) {
        self.status.stage = Some(stage);
    }

    async fn virt_v2v(&mut self) -> Result<bool, Failure> {
        let mut stage = phase::current(self.status.stage.as_ref(), self.conversion);
        loop {
            self.set_stage(stage.clone());
            match stage {
                ConversionStage::Finished => return self.finish().await,
                _ => {
                    let pod = self.ensure_pod().await?;
                    match pod::state(&pod) {
                        pod::PodState::Pending { reason } => {
                            self.pending(&pod, &reason)?;
                            self.set_stage(ConversionStage::CreatingPod);
                            return Ok(false);
                        }
                        pod::PodState::Running { .. } => {
                            self.set_stage(ConversionStage::PodRunning);
                            return Ok(false);
                        }
                        _ => {
                            stage = phase::next(&ConversionStage::PodRunning, self.conversion)
                                .unwrap_or(ConversionStage::Finished);
                        }
                    }
                }
            }
        }
    }

    /// Upstream `podHandler` at `Finished`: the pod's exit decides.
    async fn finish(&mut self) -> Result<bool, Failure> {
        let Some(pod) = self.find_pod().await? else {
            if self.status.inspection_result.is_some() {
                return Ok(true);
            }
            return Err(definitive(format!(
                "the conversion pod in namespace {} is gone before it finished",
                pod::target_namespace(self.conversion)
            )));
        };
        let name = pod_name(&pod);
        match pod::state(&pod) {
            pod::PodState::Succeeded => Ok(true),
            pod::PodState::Failed { message } => Err(definitive(failed_pod(&name, &message))),
            pod::PodState::Unknown => Err(definitive(format!(
                "conversion pod {name} is in an unknown state"
            ))),
            pod::PodState::Pending { reason } => {
                self.pending(&pod, &reason)?;
                Ok(false)
            }
            pod::PodState::Running { .. } => Ok(false),
        }
    }

    async fn deep_inspection(&mut self) -> Result<bool, Failure> {
        let mut stage = phase::current(self.status.stage.as_ref(), self.conversion);
        loop {
            self.set_stage(stage.clone());
            let done = match stage {
                ConversionStage::CreatingSnapshot => self.create_snapshot().await?,
                ConversionStage::WaitingForSnapshot => self.wait_for_snapshot().await?,
                ConversionStage::FetchingResults => self.fetch_results().await?,
                ConversionStage::RemovingSnapshot => self.remove_snapshot().await?,
                ConversionStage::WaitingForSnapshotRemoval => self.wait_for_removal().await?,
                ConversionStage::Finished => return self.finish().await,
                _ => self.deep_inspection_pod().await?,
            };
            if !done {
                return Ok(false);
            }
            stage = phase::next(&stage, self.conversion).unwrap_or(ConversionStage::Finished);
        }
    }

    fn snapshot_status(&mut self) -> &mut SnapshotStatus {
        self.status
            .snapshot
            .get_or_insert_with(SnapshotStatus::default)
    }

    async fn create_snapshot(&mut self) -> Result<bool, Failure> {
        let task = self
            .snapshots()
            .create(self.conversion)
            .await
            .map_err(|e| definitive(e.to_string()))?;
        self.snapshot_status().create_task_id = task;
        Ok(true)
    }

    async fn wait_for_snapshot(&mut self) -> Result<bool, Failure> {
        let task = self.snapshot_status().create_task_id.clone();
        match self.snapshots().created(self.conversion, &task).await {
            Ok(Some(moref)) => {
                let snapshot = self.snapshot_status();
                snapshot.create_task_id.clear();
                snapshot.moref = moref;
                Ok(true)
            }
            Ok(None) => {
                self.wake_in(SNAPSHOT_POLL);
                Ok(false)
            }
            Err(error) => Err(definitive(format!(
                "the vSphere snapshot creation failed: {error}"
            ))),
        }
    }

    async fn remove_snapshot(&mut self) -> Result<bool, Failure> {
        let moref = self.snapshot_status().moref.clone();
        if moref.is_empty() {
            return Ok(true);
        }
        let task = self
            .snapshots()
            .remove(self.conversion, &moref)
            .await
            .map_err(|e| definitive(format!("the vSphere snapshot removal failed: {e}")))?;
        self.snapshot_status().remove_task_id = task;
        Ok(true)
    }

    async fn wait_for_removal(&mut self) -> Result<bool, Failure> {
        let task = self.snapshot_status().remove_task_id.clone();
        if task.is_empty() {
            return Ok(true);
        }
        match self.snapshots().removed(self.conversion, &task).await {
            Ok(true) => {
                self.status.snapshot = None;
                Ok(true)
            }
            Ok(false) => {
                self.wake_in(SNAPSHOT_POLL);
                Ok(false)
            }
            Err(error) => Err(definitive(format!(
                "the vSphere snapshot removal failed: {error}"
            ))),
        }
    }

    /// Upstream `RemoveOwnedSnapshot`, fire and forget: after a failure or a cancel, an
    /// owned snapshot's removal is submitted and not waited for.
    pub async fn release_snapshot(&mut self) {
        let Some(snapshot) = self.status.snapshot.as_ref() else {
            return;
        };
        if !snapshot.owned || snapshot.moref.is_empty() || !snapshot.remove_task_id.is_empty() {
            return;
        }
        let moref = snapshot.moref.clone();
        match self.snapshots().remove(self.conversion, &moref).await {
            Ok(task) => self.snapshot_status().remove_task_id = task,
            Err(error) => {
                tracing::warn!(%error, "cannot remove the deep inspection's snapshot");
            }
        }
    }

    /// Upstream `runStageDeepInspectionPod`: done once the pod says its results are
    /// ready, or once it exited.
    async fn deep_inspection_pod(&mut self) -> Result<bool, Failure> {
        let pod = self.ensure_pod().await?;
        match pod::state(&pod) {
            pod::PodState::Pending { reason } => {
                self.pending(&pod, &reason)?;
                self.set_stage(ConversionStage::CreatingPod);
                Ok(false)
            }
            pod::PodState::Running { ip } => {
                self.set_stage(ConversionStage::PodRunning);
                let ready = match ip {
                    Some(ip) => inspect::ready(&self.http()?, &ip, inspect::PORT).await,
                    None => false,
                };
                if !ready {
                    self.wake_in(RESULTS_POLL);
                }
                Ok(ready)
            }
            _ => {
                self.set_stage(ConversionStage::PodRunning);
                Ok(true)
            }
        }
    }

    /// Upstream `runStageFetchingResults`; a pod that ended before its results were
    /// read fails the conversion (upstream waits for ever).
    async fn fetch_results(&mut self) -> Result<bool, Failure> {
        let Some(pod) = self.find_pod().await? else {
            return Err(definitive(
                "the deep-inspection pod is gone before its results were fetched",
            ));
        };
        let name = pod_name(&pod);
        match pod::state(&pod) {
            pod::PodState::Failed { message } => Err(definitive(format!(
                "pod {name} failed before /results could be fetched: {message}"
            ))),
            pod::PodState::Succeeded | pod::PodState::Unknown => Err(definitive(format!(
                "pod {name} ended before /results could be fetched"
            ))),
            pod::PodState::Pending { .. } | pod::PodState::Running { ip: None } => {
                self.wake_in(RESULTS_POLL);
                Ok(false)
            }
            pod::PodState::Running { ip: Some(ip) } => {
                let http = self.http()?;
                match inspect::results(&http, &ip, inspect::PORT).await {
                    inspect::Fetched::Results(result) => {
                        tracing::info!(
                            passed = result.all_checks_passed,
                            concerns = result.concerns.len(),
                            "deep inspection results fetched"
                        );
                        self.status.inspection_result = Some(result);
                        inspect::shutdown(&http, &ip, inspect::PORT).await;
                        Ok(true)
                    }
                    inspect::Fetched::NotYet(why) => {
                        tracing::debug!(%why, "deep inspection results not available yet");
                        self.wake_in(RESULTS_POLL);
                        Ok(false)
                    }
                    inspect::Fetched::Unreadable(why) => Err(definitive(why)),
                }
            }
        }
    }

    /// Upstream `checkPendingPodTimeout`; arms the timer for the rest of the wait.
    fn pending(&mut self, pod: &Pod, reason: &str) -> Result<(), Failure> {
        let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
        let timeout = self
            .ctx
            .settings
            .migration
            .conversion_pod_pending_timeout_minutes;
        match phase::pending_clock(created, self.now.0, timeout) {
            PendingClock::Unbounded => Ok(()),
            PendingClock::Remaining(left) => {
                // One second past the deadline: the clock reads whole seconds.
                self.wake_in(left + Duration::from_secs(1));
                Ok(())
            }
            PendingClock::Expired(elapsed) => Err(definitive(format!(
                "conversion pod {} stuck in Pending for {} (reason: {reason})",
                pod_name(pod),
                phase::go_duration(elapsed)
            ))),
        }
    }

    /// The Conversion's pods in the manager's pod cache.
    fn cached_pods(&self) -> Vec<Pod> {
        let namespace = pod::target_namespace(self.conversion);
        let selector = pod::selector(self.conversion);
        self.ctx
            .caches
            .destination
            .pods
            .state()
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace))
            .filter(|p| pod::matches(p.metadata.labels.as_ref(), &selector))
            .map(|p| p.as_ref().clone())
            .collect()
    }

    /// The Conversion's pods: from the cache, else (a pod created a moment ago) from
    /// the API server.
    async fn pods(&self) -> Result<Vec<Pod>, Failure> {
        let cached = self.cached_pods();
        if !cached.is_empty() {
            return Ok(cached);
        }
        let namespace = pod::target_namespace(self.conversion);
        let selector = pod::selector(self.conversion);
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), namespace);
        let params = ListParams::default().labels(&label_selector(&selector));
        let listed = api.list(&params).await.map_err(|source| {
            Failure::Transient(Error::kube(
                "list",
                format!("the conversion pods in namespace {namespace}"),
                source,
            ))
        })?;
        Ok(listed.items)
    }

    /// The Conversion's one pod, if any (several is a failure, as upstream's `GetPod`).
    async fn find_pod(&self) -> Result<Option<Pod>, Failure> {
        let mut pods = self.pods().await?;
        match pods.len() {
            0 => Ok(None),
            1 => Ok(pods.pop()),
            n => Err(definitive(format!(
                "found {n} pods with the labels of this conversion in namespace {}; delete the extra ones",
                pod::target_namespace(self.conversion)
            ))),
        }
    }

    /// Upstream `EnsurePod`: the pod, created when there is none. A pod this
    /// Conversion already ran that is gone fails it, as a lost pod fails the plan's
    /// direct route (upstream would start the conversion over; when the plan deletes
    /// the pod and the Conversion together, that would start a pod only to delete it).
    async fn ensure_pod(&mut self) -> Result<Pod, Failure> {
        let pod = match self.find_pod().await? {
            Some(pod) => pod,
            None => {
                if let Some(name) = self.status.pod.name.as_deref().filter(|n| !n.is_empty()) {
                    return Err(definitive(format!(
                        "conversion pod {}/{name} was deleted before the conversion finished",
                        pod::target_namespace(self.conversion)
                    )));
                }
                self.create_pod().await?
            }
        };
        self.status.pod = ObjectReference {
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            ..ObjectReference::default()
        };
        Ok(pod)
    }

    async fn create_pod(&mut self) -> Result<Pod, Failure> {
        let conversion = self.conversion;
        let namespace = pod::target_namespace(conversion);
        let disks = self.resolve_disks().await?;
        self.check_secrets().await?;
        let settings = crate::plan::ferry::plan_settings(&self.ctx.settings);
        let pod = match conversion.spec.r#type {
            ConversionType::DeepInspection => {
                let images = pod::DeepInspectionImages {
                    image: self.ctx.settings.images.deep_inspection.clone(),
                    xfs: self.ctx.settings.images.deep_inspection_xfs.clone(),
                };
                let snapshot = self.status.snapshot.as_ref().map(|s| s.moref.as_str());
                pod::deep_inspection(conversion, &disks, snapshot, &settings, &images)
                    .map_err(|e| definitive(e.to_string()))?
            }
            _ => pod::virt_v2v(conversion, &disks, &settings),
        };
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), namespace);
        let created = api.create(&PostParams::default(), &pod).await.map_err(
            |source| match refused(&source) {
                Some(message) => definitive(format!(
                    "the API server refused the conversion pod in namespace {namespace}: {message}"
                )),
                None => Failure::Transient(Error::kube(
                    "create",
                    format!("the conversion pod in namespace {namespace}"),
                    source,
                )),
            },
        )?;
        tracing::info!(
            pod = created.metadata.name.as_deref().unwrap_or_default(),
            namespace,
            r#type = %conversion.spec.r#type,
            "conversion pod created"
        );
        Ok(created)
    }

    /// `spec.disks` with each volume mode resolved from its claim (upstream
    /// `VolumesFromDiskRefs`); a missing claim fails the conversion.
    async fn resolve_disks(&self) -> Result<Vec<DiskRef>, Failure> {
        let mut disks = self.conversion.spec.disks.clone();
        for (i, disk) in disks.iter_mut().enumerate() {
            let api: Api<PersistentVolumeClaim> =
                Api::namespaced(self.ctx.client.clone(), &disk.namespace);
            let claim = api.get_opt(&disk.name).await.map_err(|source| {
                Failure::Transient(Error::kube(
                    "read",
                    format!("PersistentVolumeClaim {}/{}", disk.namespace, disk.name),
                    source,
                ))
            })?;
            let Some(claim) = claim else {
                return Err(definitive(format!(
                    "spec.disks[{i}]: PersistentVolumeClaim {}/{} not found",
                    disk.namespace, disk.name
                )));
            };
            if disk.volume_mode.is_none() {
                disk.volume_mode = claim.spec.and_then(|s| s.volume_mode);
            }
        }
        Ok(disks)
    }

    /// The secrets the pod mounts exist in its namespace (a pod missing one would sit in
    /// `ContainerCreating` until the pending timeout).
    async fn check_secrets(&self) -> Result<(), Failure> {
        let spec = &self.conversion.spec;
        let namespace = pod::target_namespace(self.conversion);
        let wanted = [
            ("connection", spec.connection.secret.name.as_deref()),
            ("LUKS", pod::luks_secret(self.conversion)),
        ];
        for (what, name) in wanted {
            let Some(name) = name.filter(|n| !n.is_empty()) else {
                continue;
            };
            let reference = ObjectRef::<PartialObjectMeta<Secret>>::new(name).within(namespace);
            if self.ctx.caches.secrets.get(&reference).is_some() {
                continue;
            }
            let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), namespace);
            let found = api.get_metadata_opt(name).await.map_err(|source| {
                Failure::Transient(Error::kube(
                    "read",
                    format!("Secret {namespace}/{name}"),
                    source,
                ))
            })?;
            if found.is_none() {
                return Err(definitive(format!(
                    "the {what} secret {namespace}/{name} does not exist"
                )));
            }
        }
        Ok(())
    }

    /// A canceled (or deleted) conversion: its pod is deleted and an owned snapshot's
    /// removal submitted.
    pub async fn cancel(&mut self) -> Result<(), Failure> {
        // The cache is enough: a pod it does not hold yet wakes this Conversion when it
        // appears.
        for pod in self.cached_pods() {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            delete_pod(self.ctx, &pod)
                .await
                .map_err(Failure::Transient)?;
        }
        self.release_snapshot().await;
        self.set_stage(ConversionStage::Finished);
        Ok(())
    }
}

/// `namespace/name` of a pod.
pub fn pod_name(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The failure message of a pod that failed.
pub fn failed_pod(name: &str, message: &str) -> String {
    if message.is_empty() {
        format!("conversion pod {name} failed")
    } else {
        format!("conversion pod {name} failed: {message}")
    }
}

/// `k=v,k=v`.
pub fn label_selector(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Deletes a pod (gone already is fine).
pub async fn delete_pod(ctx: &Context, pod: &Pod) -> Result<(), Error> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {
            tracing::info!(pod = name, namespace, "conversion pod deleted");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => Err(Error::kube(
            "delete",
            format!("Pod {namespace}/{name}"),
            source,
        )),
    }
}
