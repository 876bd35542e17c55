//! The Conversion controller (upstream `pkg/controller/conversion`): runs the pod of each
//! `Conversion` the plan controller creates when `FEATURE_USE_CONVERSION_CR` is on, and
//! reports its progress in `status.phase`, `stage`, `message`, `pod`, `startTime`,
//! `completionTime`, `snapshot`, `inspectionResult` and the conditions.
//!
//! One pass ([`pipeline::Pass`]):
//!
//! 1. `Succeeded` and `Failed` Conversions are left alone;
//! 2. the spec is validated ([`validate`]); Ferry fails a Conversion whose spec cannot
//!    work with the conditions' messages (upstream leaves it `Pending` for ever, and the
//!    plan's VM with it);
//! 3. a `Canceled` Conversion (the plan sets the phase) or one being deleted: its pod is
//!    deleted, an owned snapshot's removal submitted;
//! 4. `Pending` → `Running` (`startTime`), then the stages of its type ([`phase`]):
//!    `CreatingPod` (the pod is created if no pod has its labels: [`pod`]), `PodRunning`,
//!    `Finished`; a deep inspection also creates and removes its vSphere snapshot when it
//!    owns it ([`snapshot`]: not wired yet) and fetches its results ([`inspect`]);
//! 5. the pod's exit decides: `Succeeded`, or `Failed` with its termination message; a
//!    pod `Pending` longer than `CONVERSION_POD_PENDING_TIMEOUT` fails it with why; a
//!    pod deleted under a running Conversion fails it (upstream starts a new one);
//! 6. the status is written (server-side apply, only when it changed, guarded by the
//!    resourceVersion the pass read) and Events published: one per phase change, one
//!    per condition change.
//!
//! It wakes when a Conversion changes and when its pod does (the manager's pod cache);
//! it polls nothing: the only timers are the pending timeout and, while a deep
//! inspection runs, asking the pod whether its results are ready. A deleted
//! Conversion's pod goes with it: through the garbage collector when they share a
//! namespace (owner reference), through the deletion event otherwise, and at start-up
//! for Conversions deleted while no controller ran.
//!
//! The Conversions reconciled are the manager's cache of them: those labelled
//! `plan-name` and `plan-namespace`, as every Conversion a plan creates is. The pod
//! inherits the labels, so the manager's pod cache holds it.

pub mod inspect;
pub mod phase;
pub mod pipeline;
pub mod pod;
pub mod snapshot;
pub mod validate;

use std::sync::Arc;

use ferry_api::Conversion;
use ferry_api::conversion::{ConversionPhase, ConversionStatus};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use tokio_util::sync::CancellationToken;

use crate::cache::{CacheEvent, valid};
use crate::context::{Context, Guarded};
use crate::error::{Error, Result};
use crate::events::{EventSpec, condition_events};
use crate::runner::{FIELD_MANAGER, Reconciled, Scoped, drive, error_policy, object_ref};
use pipeline::{Failure, Pass};

/// The controller's name (metrics label, Events' reporting controller).
pub const NAME: &str = "conversion";

fn is_terminal(phase: Option<&ConversionPhase>) -> bool {
    matches!(
        phase,
        Some(ConversionPhase::Succeeded | ConversionPhase::Failed)
    )
}

/// Writes the whole status with server-side apply when it differs from the one read;
/// the resourceVersion read makes a write from a stale read a conflict. Returns whether
/// it wrote.
async fn write_status(
    scoped: &Scoped,
    conversion: &Conversion,
    status: &ConversionStatus,
) -> Result<bool> {
    if conversion.status == *status {
        return Ok(false);
    }
    let (namespace, name) = (conversion.namespace(), conversion.name());
    let api: Api<Conversion> = Api::namespaced(scoped.ctx.client.clone(), namespace);
    let patch = serde_json::json!({
        "apiVersion": ferry_api::API_VERSION,
        "kind": "Conversion",
        "metadata": {
            "name": name,
            "resourceVersion": conversion.metadata.resource_version,
        },
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(|source| {
        Error::kube(
            "write the status of",
            format!("Conversion {namespace}/{name}"),
            source,
        )
    })?;
    Ok(true)
}

/// The Event of a phase change, if the phase changed.
pub fn phase_event(before: &ConversionStatus, after: &ConversionStatus) -> Option<EventSpec> {
    let phase = after.phase.as_ref()?;
    if before.phase.as_ref() == Some(phase) {
        return None;
    }
    Some(EventSpec {
        warning: *phase == ConversionPhase::Failed,
        reason: phase.to_string(),
        note: after.message.clone(),
        action: "PhaseChanged",
    })
}

fn reconcile<'a>(conversion: &'a Conversion, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        if is_terminal(conversion.status.phase.as_ref()) {
            return Ok(Action::await_change());
        }
        let now = scoped.ctx.now();
        let mut pass = Pass::new(&scoped.ctx, conversion, now.clone());
        pass.status.conditions.begin_staging();
        pass.status
            .conditions
            .set_all(validate::findings(conversion), &now);
        if conversion.metadata.deletion_timestamp.is_some() {
            pass.status.phase = Some(ConversionPhase::Canceled);
        }
        let failure = if pass.status.phase == Some(ConversionPhase::Canceled) {
            match pass.cancel().await {
                Ok(()) => None,
                Err(Failure::Transient(error)) => return Err(error),
                Err(Failure::Definitive(message)) => {
                    tracing::warn!(%message, "cannot clean up the canceled conversion");
                    None
                }
            }
        } else if pass.status.conditions.has_blocker() {
            pass.status.phase = Some(ConversionPhase::Failed);
            Some(phase::blockers(&pass.status.conditions))
        } else {
            match pass.run().await {
                Ok(true) => {
                    pass.status.phase = Some(ConversionPhase::Succeeded);
                    None
                }
                Ok(false) => None,
                Err(Failure::Definitive(message)) => {
                    pass.status.phase = Some(ConversionPhase::Failed);
                    Some(message)
                }
                Err(Failure::Transient(error)) => return Err(error),
            }
        };
        if pass.status.phase == Some(ConversionPhase::Failed) {
            pass.release_snapshot().await;
        }
        phase::resolve(&mut pass.status, failure.as_deref(), &now);
        pass.status.conditions.end_staging();
        let explain = pass.status.conditions.take_explain();
        pass.status.observed_generation = conversion.generation();
        if let Some(failure) = &failure {
            tracing::info!(%failure, "conversion failed");
        }
        if write_status(scoped, conversion, &pass.status).await? {
            let mut events: Vec<EventSpec> = phase_event(&conversion.status, &pass.status)
                .into_iter()
                .collect();
            events.extend(condition_events(&explain));
            if !events.is_empty() {
                scoped.events.publish(&object_ref(conversion), events).await;
            }
        }
        Ok(match pass.requeue {
            Some(after) if !is_terminal(pass.status.phase.as_ref()) => Action::requeue(after),
            _ => Action::await_change(),
        })
    })
}

/// The Conversions a pod belongs to: its owner, else (a pod in another namespace) the
/// Conversions named by its `conversion` label whose pods go to the pod's namespace.
fn owners_of(ctx: &Context, pod: &Pod) -> Vec<ObjectRef<Guarded<Conversion>>> {
    let Some(name) = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(pod::LABEL_CONVERSION))
    else {
        return Vec::new();
    };
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "Conversion" && o.api_version == ferry_api::API_VERSION);
    if let Some(owner) = owner {
        return vec![ObjectRef::new(&owner.name).within(namespace)];
    }
    ctx.caches
        .destination
        .conversions
        .state()
        .iter()
        .filter_map(|guard| valid(guard.as_ref()))
        .filter(|c| c.name() == name && pod::target_namespace(c) == namespace)
        .map(|c| ObjectRef::new(c.name()).within(c.namespace()))
        .collect()
}

/// Whether a pod is a Conversion's: the `conversion` label and a conversion app.
fn is_conversion_pod(pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let app = labels.and_then(|l| l.get(ferry_api::labels::FORKLIFT_APP));
    labels.is_some_and(|l| l.contains_key(pod::LABEL_CONVERSION))
        && matches!(
            app.map(String::as_str),
            Some(
                ferry_api::labels::app::VIRT_V2V
                    | ferry_api::labels::app::VIRT_V2V_INSPECTION
                    | pod::APP_DEEP_INSPECTION
            )
        )
}

/// Deletes the pods of a deleted Conversion (those the garbage collector does not
/// reach: in another namespace).
async fn deleted(ctx: &Context, conversion: &Conversion) {
    let namespace = pod::target_namespace(conversion);
    let selector = pod::selector(conversion);
    let pods: Vec<Arc<Pod>> = ctx
        .caches
        .destination
        .pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(namespace))
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| pod::matches(p.metadata.labels.as_ref(), &selector))
        .collect();
    for pod in pods {
        if let Err(error) = pipeline::delete_pod(ctx, &pod).await {
            tracing::warn!(%error, "cannot delete the pod of a deleted conversion");
        }
    }
}

/// Deletes conversion pods whose Conversion is gone (deleted while no controller ran).
async fn sweep(ctx: &Context) {
    let orphans: Vec<Arc<Pod>> = ctx
        .caches
        .destination
        .pods
        .state()
        .into_iter()
        .filter(|p| is_conversion_pod(p) && p.metadata.deletion_timestamp.is_none())
        .filter(|p| owners_of(ctx, p).is_empty())
        .filter(|p| {
            // Owned pods are the garbage collector's.
            !p.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "Conversion")
        })
        .collect();
    for pod in orphans {
        tracing::info!(
            pod = pod.metadata.name.as_deref().unwrap_or_default(),
            namespace = pod.metadata.namespace.as_deref().unwrap_or_default(),
            "deleting a conversion pod whose Conversion is gone"
        );
        if let Err(error) = pipeline::delete_pod(ctx, &pod).await {
            tracing::warn!(%error, "cannot delete an orphaned conversion pod");
        }
    }
}

/// Follows Conversion deletions (until `shutdown`).
async fn deletions(ctx: Arc<Context>, shutdown: CancellationToken) {
    let mut events = std::pin::pin!(ctx.caches.destination.conversions.events());
    sweep(&ctx).await;
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.next() => event,
        };
        match event {
            None => return,
            Some(CacheEvent::Deleted(guard)) => {
                if let Some(conversion) = valid(guard.as_ref()) {
                    deleted(&ctx, conversion).await;
                }
            }
            Some(CacheEvent::Resynced) => sweep(&ctx).await,
            Some(CacheEvent::Applied(_)) => {}
        }
    }
}

/// The controller, ready to run until `shutdown` fires.
pub fn controller(
    ctx: Arc<Context>,
    shutdown: CancellationToken,
) -> impl std::future::Future<Output = ()> + Send {
    let cleanup = deletions(Arc::clone(&ctx), shutdown.clone());
    let scoped = Scoped::new(Arc::clone(&ctx), NAME);
    let destination = &ctx.caches.destination;
    let by_pod = Arc::clone(&ctx);
    let run = Controller::for_shared_stream(
        destination.conversions.changed(),
        destination.conversions.store(),
    )
    .with_config(Config::default().concurrency(ctx.settings.manager.max_concurrent_reconciles))
    .watches_shared_stream(destination.pods.changed(), move |pod| {
        owners_of(&by_pod, &pod)
    })
    .graceful_shutdown_on(shutdown.cancelled_owned())
    .run(
        |guard, scoped| drive(guard, scoped, reconcile),
        error_policy,
        scoped,
    )
    .for_each(|_| futures::future::ready(()));
    async move {
        futures::future::join(run, cleanup).await;
    }
}

#[cfg(test)]
mod tests;
