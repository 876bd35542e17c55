//! The kubelet (and the scheduler's part for the one node): pods go `Pending` →
//! `Running` → `Succeeded`/`Failed`, with a pod IP, container statuses, conditions and
//! Events as a real node reports them; what they run comes from [`super::workload`].
//!
//! The lifecycle of one pod:
//!
//! 1. bound to the node `sandbox` (the `binding` subresource; `WaitForFirstConsumer`
//!    claims get the scheduler's `selected-node` annotation); the cluster's set-up
//!    registers that Node (`setup::ensure_node`) before the kubelet starts;
//! 2. `Pending` while a claim is unbound (`PodScheduled=False`, `Unschedulable`), a
//!    volume cannot be mounted (`FailedMount`, the container `ContainerCreating`) or a
//!    Secret/ConfigMap its environment names is missing (`CreateContainerConfigError`);
//! 3. an address of the pod network, then `Running` once the workload listens
//!    (init containers are reported `Completed`);
//! 4. on exit: restarted with back-off as `restartPolicy` says (`restartCount`,
//!    `CrashLoopBackOff`), else `Succeeded` or `Failed` with the exit code, reason and
//!    termination message; `activeDeadlineSeconds` fails it with `DeadlineExceeded`;
//! 5. on deletion: the workload is stopped and the pod removed (grace period 0).
//!
//! When the sandbox restarts, pods that were `Running` keep their IP and their
//! workload starts again from the beginning (containers survive a kubelet restart; the
//! in-process ones cannot, so they redo their work — every workload here is idempotent).

pub mod ips;
pub mod status;
pub mod view;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use self::ips::IpPool;
use self::status::{Exit, HOST_IP, State};
use self::view::{NotReady, PodFacts};
use super::config::{ClusterConfig, NODE_NAME};
use super::error::{Error, Result};
use super::events::{self, Kind};
use super::kubeapi;
use super::storage::{self, SELECTED_NODE};
use super::workload::{self, PodRun, Ready};

const MANAGER: &str = "ferry-sandbox-kubelet";

/// The kubelet's state: addresses in use and the pods it runs.
pub struct Kubelet {
    client: kube::Client,
    config: Arc<ClusterConfig>,
    ips: Mutex<IpPool>,
    running: Mutex<HashMap<String, CancellationToken>>,
}

impl Kubelet {
    fn ips(&self) -> std::sync::MutexGuard<'_, IpPool> {
        self.ips.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn pod_ip(pod: &Pod) -> Option<Ipv4Addr> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .and_then(|ip| ip.parse().ok())
}

/// Runs the kubelet until `stop` is cancelled.
pub async fn run(client: kube::Client, config: Arc<ClusterConfig>, stop: CancellationToken) {
    let kubelet = Arc::new(Kubelet {
        ips: Mutex::new(IpPool::new(config.pod_network)),
        running: Mutex::new(HashMap::new()),
        client: client.clone(),
        config,
    });
    // Addresses of pods that outlived a restart stay theirs.
    if let Ok(pods) = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        let mut ips = kubelet.ips();
        for pod in &pods.items {
            if !matches!(phase(pod), Some("Succeeded" | "Failed"))
                && let Some(ip) = pod_ip(pod)
            {
                ips.reserve(ip);
            }
        }
    }
    Controller::new(Api::<Pod>::all(client), watcher::Config::default())
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(reconcile, retry, Arc::clone(&kubelet))
        .for_each(|_| async {})
        .await;
    for (_, cancel) in kubelet.running().drain() {
        cancel.cancel();
    }
}

fn retry(_pod: Arc<Pod>, error: &Error, _ctx: Arc<Kubelet>) -> Action {
    tracing::debug!(%error, "kubelet: retrying");
    Action::requeue(Duration::from_millis(500))
}

async fn reconcile(pod: Arc<Pod>, ctx: Arc<Kubelet>) -> Result<Action> {
    let uid = pod.uid().unwrap_or_default();
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let spec = pod.spec.clone().unwrap_or_default();
    if spec
        .node_name
        .as_deref()
        .is_some_and(|node| !node.is_empty() && node != NODE_NAME)
    {
        return Ok(Action::await_change());
    }
    if pod.metadata.deletion_timestamp.is_some() {
        if let Some(cancel) = ctx.running().remove(&uid) {
            cancel.cancel();
        }
        if let Some(ip) = pod_ip(&pod) {
            ctx.ips().release(ip);
        }
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&name, &params).await {
            Ok(_) => {}
            Err(e) if super::error::is_status(&e, 404) || super::error::is_status(&e, 409) => {}
            Err(e) => return Err(Error::kube(format!("deleting pod {namespace}/{name}"), e)),
        }
        return Ok(Action::await_change());
    }
    if matches!(phase(&pod), Some("Succeeded" | "Failed")) {
        ctx.running().remove(&uid);
        return Ok(Action::await_change());
    }
    if ctx.running().contains_key(&uid) {
        return Ok(Action::requeue(Duration::from_secs(60)));
    }
    if let Some(rest) = kubeapi::held(&ctx.config.faults, "pod", &pod.metadata) {
        return Ok(Action::requeue(rest));
    }
    if spec.node_name.as_deref().is_none_or(str::is_empty) {
        schedule(&ctx, &pod).await?;
    }
    let cancel = CancellationToken::new();
    ctx.running().insert(uid.clone(), cancel.clone());
    let task_ctx = Arc::clone(&ctx);
    let pod = (*pod).clone();
    tokio::spawn(async move {
        let key = kubeapi::key(&pod);
        if let Err(error) = drive(&task_ctx, pod, cancel).await {
            tracing::warn!(pod = %key, %error, "kubelet: pod failed to run; will retry");
            task_ctx.running().remove(&uid);
        }
    });
    Ok(Action::requeue(Duration::from_secs(60)))
}

/// The scheduler's part: claims waiting for a consumer get the node, the pod is bound.
async fn schedule(ctx: &Kubelet, pod: &Pod) -> Result<()> {
    let namespace = pod.namespace().unwrap_or_default();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let classes: Api<StorageClass> = Api::all(ctx.client.clone());
    for claim in storage::claims_of(pod) {
        let Some(pvc) = kubeapi::get_opt(&claims, &claim).await? else {
            continue;
        };
        let pending = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound");
        let class = pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone());
        if !pending || pvc.annotations().contains_key(SELECTED_NODE) {
            continue;
        }
        let waits = match class {
            Some(class) if !class.is_empty() => kubeapi::get_opt(&classes, &class)
                .await?
                .is_some_and(|c| c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")),
            _ => false,
        };
        if waits {
            kubeapi::merge(
                &claims,
                &claim,
                MANAGER,
                &json!({ "metadata": { "annotations": { SELECTED_NODE: NODE_NAME } } }),
            )
            .await?;
        }
    }
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": { "name": pod.name_any(), "namespace": namespace },
        "target": { "apiVersion": "v1", "kind": "Node", "name": NODE_NAME },
    });
    match pods
        .create_subresource::<Value, Value>(
            "binding",
            &pod.name_any(),
            &PostParams::default(),
            &binding,
        )
        .await
    {
        Ok(_) => {
            events::record(
                &ctx.client,
                pod,
                Kind::Normal,
                "Scheduled",
                &format!("Successfully assigned {} to {NODE_NAME}", kubeapi::key(pod)),
                "default-scheduler",
            )
            .await;
        }
        // Already bound (a restart between binding and starting).
        Err(e) if super::error::is_status(&e, 409) => {}
        Err(e) => return Err(Error::kube(format!("binding pod {}", kubeapi::key(pod)), e)),
    }
    Ok(())
}

/// One pod's life, from `Pending` to its end (or until cancelled).
async fn drive(ctx: &Arc<Kubelet>, pod: Pod, cancel: CancellationToken) -> Result<()> {
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let uid = pod.uid().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let spec = pod.spec.clone().unwrap_or_default();
    let resuming = phase(&pod) == Some("Running");
    let started = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(|t| kubeapi::timestamp(t.0))
        .unwrap_or_else(kubeapi::now);
    let images: Vec<(String, String)> = spec
        .containers
        .iter()
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .collect();
    let init_images: Vec<(String, String)> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .collect();
    let statuses = |state: &State, restarts: i32, last: Option<&State>| -> Vec<Value> {
        images
            .iter()
            .map(|(n, i)| status::container_status(n, i, &uid, state, restarts, last))
            .collect()
    };
    let init_statuses = |done: bool| -> Vec<Value> {
        init_images
            .iter()
            .map(|(n, i)| {
                let state = if done {
                    State::Terminated(Exit::success(), started.clone(), started.clone())
                } else {
                    State::Waiting("PodInitializing".into(), None)
                };
                status::container_status(n, i, &uid, &state, 0, None)
            })
            .collect()
    };
    let write = |status: Value| {
        let api = api.clone();
        let name = name.clone();
        async move {
            kubeapi::merge_status(&api, &name, MANAGER, &status)
                .await
                .map(|_| ())
        }
    };

    let (ip, ports) = match pod_ip(&pod).filter(|_| resuming) {
        Some(ip) if ctx.config.pod_network.host(ip).is_some() => {
            ctx.ips().reserve(ip);
            (ip, ips::Ports::bind(ip).unwrap_or_default())
        }
        _ => ctx
            .ips()
            .allocate()
            .ok_or_else(|| Error::Config("the sandbox's pod network has no free address".into()))?,
    };
    let ports = Arc::new(ports);
    let facts = PodFacts {
        ip: Some(ip),
        host_ip: HOST_IP,
    };
    let mut restarts = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .map_or(0, |c| c.restart_count);

    // Pending until every volume mounts and every referenced object exists.
    let mut reported: Option<NotReady> = None;
    let (_init, containers) = loop {
        match view::resolve(&ctx.client, &ctx.config, &pod, &facts).await {
            Ok(resolved) => break resolved,
            Err(not_ready) => {
                if reported.as_ref() != Some(&not_ready) {
                    let now = kubeapi::now();
                    let status = match &not_ready {
                        NotReady::Unbound(_) => status::pod_status(
                            "Pending",
                            status::conditions(
                                "Pending",
                                false,
                                Some(&not_ready.to_string()),
                                false,
                                &now,
                            ),
                            None,
                            None,
                            vec![],
                            vec![],
                            None,
                        ),
                        NotReady::Mount { .. } | NotReady::Config(_) => {
                            let waiting = match not_ready {
                                NotReady::Config(ref m) => State::Waiting(
                                    "CreateContainerConfigError".into(),
                                    Some(m.clone()),
                                ),
                                _ => State::Waiting("ContainerCreating".into(), None),
                            };
                            status::pod_status(
                                "Pending",
                                status::conditions(
                                    "Pending",
                                    true,
                                    None,
                                    init_images.is_empty(),
                                    &now,
                                ),
                                None,
                                Some(&started),
                                init_statuses(false),
                                statuses(&waiting, restarts, None),
                                None,
                            )
                        }
                    };
                    write(status).await?;
                    let kind = if matches!(not_ready, NotReady::Unbound(_)) {
                        "default-scheduler"
                    } else {
                        "kubelet"
                    };
                    let reason = match not_ready {
                        NotReady::Unbound(_) => "FailedScheduling",
                        NotReady::Mount { .. } => "FailedMount",
                        NotReady::Config(_) => "Failed",
                    };
                    events::record(
                        &ctx.client,
                        &pod,
                        Kind::Warning,
                        reason,
                        &not_ready.to_string(),
                        kind,
                    )
                    .await;
                    reported = Some(not_ready);
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    () = cancel.cancelled() => return Ok(()),
                }
            }
        }
    };
    if !resuming {
        let now = kubeapi::now();
        write(status::pod_status(
            "Pending",
            status::conditions("Pending", true, None, true, &now),
            None,
            Some(&started),
            init_statuses(true),
            statuses(
                &State::Waiting("ContainerCreating".into(), None),
                restarts,
                None,
            ),
            None,
        ))
        .await?;
        tokio::select! {
            () = tokio::time::sleep(ctx.config.pace.pod_start) => {}
            () = cancel.cancelled() => return Ok(()),
        }
    }

    let workload = workload::classify(&pod, ctx.config.pace.generic_run);
    let deadline = spec
        .active_deadline_seconds
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s.unsigned_abs()));
    let policy = spec
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".into());
    let began =
        tokio::time::Instant::now() - kubeapi::age(&pod.metadata).min(Duration::from_secs(86_400));
    let mut last: Option<State> = None;
    loop {
        let run_started = kubeapi::now();
        let (ready, mut ready_rx) = Ready::new();
        let run = PodRun {
            client: ctx.client.clone(),
            config: Arc::clone(&ctx.config),
            pod: pod.clone(),
            ip,
            ports: Arc::clone(&ports),
            containers: containers.clone(),
            cancel: cancel.child_token(),
        };
        if !resuming || restarts > 0 || last.is_some() {
            events::record(
                &ctx.client,
                &pod,
                Kind::Normal,
                "Started",
                &format!(
                    "Started container {}",
                    images.first().map(|i| i.0.as_str()).unwrap_or("")
                ),
                "kubelet",
            )
            .await;
        }
        let work = workload::run(&workload, &run, ready);
        tokio::pin!(work);
        let mut running_written = false;
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(began + d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timeout);
        let exit = loop {
            tokio::select! {
                signal = &mut ready_rx, if !running_written => {
                    running_written = true;
                    if signal.is_ok() {
                        let now = kubeapi::now();
                        write(status::pod_status(
                            "Running",
                            status::conditions("Running", true, None, true, &now),
                            Some(ip),
                            Some(&started),
                            init_statuses(true),
                            statuses(&State::Running(run_started.clone()), restarts, last.as_ref()),
                            None,
                        ))
                        .await?;
                    }
                }
                exit = &mut work => break exit,
                () = &mut timeout => {
                    run.cancel.cancel();
                    break Some(Exit {
                        code: 137,
                        reason: "DeadlineExceeded".into(),
                        message: Some("Pod was active on the node longer than the specified deadline".into()),
                    });
                }
            }
        };
        let Some(exit) = exit else {
            // Deleted or stopping: the reconcile of the deletion finishes the pod.
            return Ok(());
        };
        let finished = kubeapi::now();
        let for_logs = run.log(images.first().map(|i| i.0.as_str()).unwrap_or("main"));
        for_logs.close();
        let deadline_exceeded = exit.reason == "DeadlineExceeded";
        let restart = !deadline_exceeded
            && match policy.as_str() {
                "Never" => false,
                "OnFailure" => !exit.succeeded(),
                _ => true,
            };
        let terminated = State::Terminated(exit.clone(), run_started, finished);
        if restart {
            restarts += 1;
            let backoff = ctx.config.pace.restart_backoff
                * 2u32.saturating_pow(restarts.clamp(0, 3) as u32 - 1);
            let now = kubeapi::now();
            write(status::pod_status(
                "Running",
                status::conditions("Pending", true, None, true, &now),
                Some(ip),
                Some(&started),
                init_statuses(true),
                statuses(
                    &State::Waiting(
                        "CrashLoopBackOff".into(),
                        Some(format!(
                            "back-off restarting failed container {}",
                            images.first().map(|i| i.0.as_str()).unwrap_or("")
                        )),
                    ),
                    restarts,
                    Some(&terminated),
                ),
                None,
            ))
            .await?;
            events::record(
                &ctx.client,
                &pod,
                Kind::Warning,
                "BackOff",
                "Back-off restarting failed container",
                "kubelet",
            )
            .await;
            last = Some(terminated);
            tokio::select! {
                () = tokio::time::sleep(backoff) => continue,
                () = cancel.cancelled() => return Ok(()),
            }
        }
        let phase = status::final_phase(std::slice::from_ref(&exit));
        let now = kubeapi::now();
        let message = deadline_exceeded.then_some((
            "DeadlineExceeded",
            "Pod was active on the node longer than the specified deadline",
        ));
        write(status::pod_status(
            phase,
            status::conditions(phase, true, None, true, &now),
            Some(ip),
            Some(&started),
            init_statuses(true),
            statuses(&terminated, restarts, last.as_ref()),
            message,
        ))
        .await?;
        ctx.ips().release(ip);
        if !exit.succeeded() {
            events::record(
                &ctx.client,
                &pod,
                Kind::Warning,
                if deadline_exceeded {
                    "DeadlineExceeded"
                } else {
                    "Failed"
                },
                exit.message.as_deref().unwrap_or("container failed"),
                "kubelet",
            )
            .await;
        }
        tracing::debug!(pod = %format!("{namespace}/{name}"), phase, code = exit.code, "pod finished");
        return Ok(());
    }
}
