//! What every controller shares: its scoped context, the reconcile wrapper (decoding
//! guard, metrics, logs, attempt counts), the error policy and the status writer.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use ferry_api::ObjectReference;
use ferry_api::condition::{Condition, Conditions, Explain};
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::context::{Context, Guarded};
use crate::error::{Error, ErrorClass, Result};
use crate::events::{EventSpec, Publisher, condition_events};
use crate::policy::{Attempts, decide};

/// The field manager of every status Ferry writes.
pub const FIELD_MANAGER: &str = "ferry-controller";

/// One controller's view of the shared [`Context`].
pub struct Scoped {
    /// The shared context.
    pub ctx: Arc<Context>,
    /// The controller's name (`provider`, `networkmap`, ...): metrics label and the
    /// Events' reporting controller.
    pub name: &'static str,
    /// Its Event publisher.
    pub events: Publisher,
    /// The plan controller's reconcile (only in the plan controller's scope).
    pub plan: Option<Arc<dyn crate::plan::PlanReconciler>>,
    attempts: Attempts,
}

impl Scoped {
    /// The scoped context of controller `name`.
    pub fn new(ctx: Arc<Context>, name: &'static str) -> Arc<Self> {
        let events = Publisher::new(ctx.client.clone(), name, &ctx.instance);
        Arc::new(Self {
            ctx,
            name,
            events,
            plan: None,
            attempts: Attempts::default(),
        })
    }

    /// The scoped context of the plan controller, carrying its reconcile.
    pub fn for_plan(
        ctx: Arc<Context>,
        name: &'static str,
        reconciler: Arc<dyn crate::plan::PlanReconciler>,
    ) -> Arc<Self> {
        let events = Publisher::new(ctx.client.clone(), name, &ctx.instance);
        Arc::new(Self {
            ctx,
            name,
            events,
            plan: Some(reconciler),
            attempts: Attempts::default(),
        })
    }
}

/// A boxed reconcile future borrowing its object and context.
pub type Reconciled<'a> = Pin<Box<dyn Future<Output = Result<Action>> + Send + 'a>>;

fn key<K: Resource>(object: &K) -> String {
    format!(
        "{}/{}",
        object.meta().namespace.as_deref().unwrap_or_default(),
        object.meta().name.as_deref().unwrap_or_default()
    )
}

/// Runs `reconcile` on a decoded object, or reports an object that did not decode;
/// records metrics and resets the attempt count on success.
pub async fn drive<K>(
    guard: Arc<Guarded<K>>,
    scoped: Arc<Scoped>,
    reconcile: for<'a> fn(&'a K, &'a Scoped) -> Reconciled<'a>,
) -> Result<Action>
where
    K: Resource<DynamicType = ()> + Debug + Send + Sync + 'static,
{
    let started = Instant::now();
    let key = key(guard.as_ref());
    let span = tracing::info_span!(
        "reconcile",
        controller = scoped.name,
        namespace = guard.meta().namespace.as_deref().unwrap_or_default(),
        name = guard.meta().name.as_deref().unwrap_or_default(),
    );
    let result = async {
        match &guard.0 {
            Ok(object) => reconcile(object, &scoped).await,
            Err(invalid) => {
                let error = Error::Malformed {
                    kind: kind_of::<K>(),
                    namespace: invalid.metadata.namespace.clone().unwrap_or_default(),
                    name: invalid.metadata.name.clone().unwrap_or_default(),
                    message: invalid.error.clone(),
                };
                let regarding = ObjectReference {
                    api_version: Some(K::api_version(&()).into_owned()),
                    kind: Some(K::kind(&()).into_owned()),
                    namespace: invalid.metadata.namespace.clone(),
                    name: invalid.metadata.name.clone(),
                    uid: invalid.metadata.uid.clone(),
                    resource_version: invalid.metadata.resource_version.clone(),
                    ..ObjectReference::default()
                };
                scoped
                    .events
                    .publish(
                        &regarding,
                        vec![EventSpec {
                            warning: true,
                            reason: "MalformedObject".into(),
                            note: error.to_string(),
                            action: "Decode",
                        }],
                    )
                    .await;
                Err(error)
            }
        }
    }
    .instrument(span)
    .await;
    scoped.ctx.metrics.reconciled(
        scoped.name,
        started.elapsed(),
        result.as_ref().err().map(Error::reason),
    );
    if result.is_ok() {
        scoped.attempts.succeeded(&key);
    }
    result
}

fn kind_of<K: Resource<DynamicType = ()>>() -> &'static str {
    // The kinds Ferry reconciles; anything else is named generically.
    match K::kind(&()).as_ref() {
        "Provider" => "Provider",
        "NetworkMap" => "NetworkMap",
        "StorageMap" => "StorageMap",
        "Hook" => "Hook",
        "Host" => "Host",
        "Migration" => "Migration",
        "Plan" => "Plan",
        _ => "object",
    }
}

/// The shared error policy (see [`crate::policy`]).
pub fn error_policy<K>(guard: Arc<Guarded<K>>, error: &Error, scoped: Arc<Scoped>) -> Action
where
    K: Resource<DynamicType = ()>,
{
    let key = key(guard.as_ref());
    let attempt = scoped.attempts.failed(&key);
    let class = error.class();
    match class {
        ErrorClass::Malformed => {
            if attempt == 1 {
                tracing::warn!(controller = scoped.name, object = %key, %error, "object cannot be decoded; waiting for it to change");
            }
        }
        ErrorClass::Conflict => {
            tracing::info!(controller = scoped.name, object = %key, %error, "conflict; retrying");
        }
        ErrorClass::ProviderNotReady => {
            tracing::debug!(controller = scoped.name, object = %key, %error, "waiting for the provider");
        }
        ErrorClass::Transient => {
            tracing::error!(controller = scoped.name, object = %key, attempt, error = %error, "reconcile failed");
        }
    }
    decide(class, attempt)
}

/// The recomputed conditions of one pass: staging over the previous list, the
/// findings, `Ready` when `ready` grants it. Unchanged conditions keep their
/// `lastTransitionTime`, durable ones are carried over.
pub fn recompute(
    previous: &Conditions,
    findings: Vec<Condition>,
    ready: fn(&Conditions) -> Option<Condition>,
    now: &ferry_api::Time,
) -> (Conditions, Explain) {
    let mut conditions = Conditions::from(previous.list.clone());
    conditions.begin_staging();
    conditions.set_all(findings, now);
    if let Some(condition) = ready(&conditions) {
        conditions.set(condition, now);
    }
    conditions.end_staging();
    let explain = conditions.take_explain();
    (Conditions::from(conditions.list), explain)
}

/// Writes `status` (the whole status) with server-side apply through the status
/// subresource, when it differs from `current`; then publishes Events for `explain`.
/// Returns whether a write happened.
pub async fn write_status<K, S>(
    scoped: &Scoped,
    object: &K,
    current: &S,
    status: &S,
    explain: &Explain,
) -> Result<bool>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
    S: Serialize + PartialEq,
{
    if current == status {
        return Ok(false);
    }
    let namespace = object.meta().namespace.as_deref().unwrap_or_default();
    let name = object.meta().name.as_deref().unwrap_or_default();
    let api: Api<K> = Api::namespaced(scoped.ctx.client.clone(), namespace);
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": { "name": name },
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
            format!("{} {namespace}/{name}", K::kind(&())),
            source,
        )
    })?;
    let events = condition_events(explain);
    if !events.is_empty() {
        for event in &events {
            tracing::info!(
                condition = %event.reason,
                action = event.action,
                message = %event.note,
                "condition changed"
            );
        }
        let regarding = object_ref(object);
        scoped.events.publish(&regarding, events).await;
    }
    Ok(true)
}

/// An `ObjectReference` to `object`.
pub fn object_ref<K: Resource<DynamicType = ()>>(object: &K) -> ObjectReference {
    let meta = object.meta();
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..ObjectReference::default()
    }
}
