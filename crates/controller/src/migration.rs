//! The Migration controller (`pkg/controller/migration`): links each Migration to its
//! Plan and mirrors the plan's execution of it.
//!
//! One pass:
//!
//! 1. the Plan (from the Plan cache) gets a non-controller owner reference on the
//!    Migration, so deleting the Plan deletes its Migrations. Upstream rewrites the
//!    Migration on every reconcile; Ferry patches only when the reference is missing;
//! 2. a completed Migration (`status.completed`) is left alone from then on;
//! 3. validation: `PlanNotValid` (NotSet, NotFound), `PlanNotReady`; the `spec.cancel`
//!    references are looked up in the plan's source inventory (`VMNotFound`,
//!    `VMNotUnique`, Warn);
//! 4. the mirror ([`mirror`]) of the plan's snapshot whose `migration.uid` is this
//!    Migration's: `Executing` → `Running` (not durable) and `started`; `Succeeded` and
//!    `Failed` → durable conditions and `completed`; `Canceled` copied as durable
//!    (without `completed`, as upstream); `status.vms` is a verbatim copy of the
//!    plan's VM statuses;
//! 5. `Ready` when nothing blocks; the status is written if it changed.
//!
//! A Migration wakes when it changes, when its Plan changes (every plan status write
//! during an execution) and when the plan's source inventory reports VM news (for the
//! cancel references).

use std::sync::Arc;

use ferry_api::condition::{Condition, Conditions, Explain, category, ready, reason, types};
use ferry_api::migration::MigrationStatus;
use ferry_api::plan::{Timed, VmStatus};
use ferry_api::{Migration, Plan, Ref, Time};
use ferry_inventory::{FindError, Inventory, Kind};
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;

use crate::cache::valid;
use crate::collectors::InventoryEvent;
use crate::context::{Context, Guarded, ref_set};
use crate::error::{Error, Result};
use crate::runner::{Reconciled, Scoped, drive, error_policy, write_status};

/// The controller's name.
pub const NAME: &str = "migration";

/// The Migration's `spec.plan`, resolved.
#[derive(Clone, Debug)]
pub enum PlanLookup {
    /// `namespace` or `name` is empty.
    NotSet,
    /// No such Plan.
    NotFound,
    /// The Plan.
    Found(Box<Plan>),
}

/// The cancel references that do not resolve to one VM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CancelFindings {
    /// Ref strings of references matching no VM.
    pub not_found: Vec<String>,
    /// Ref strings of references matching several VMs.
    pub ambiguous: Vec<String>,
}

/// Looks the cancel references up with `find` (a VM lookup in the source inventory).
pub fn check_cancel(
    cancel: &[Ref],
    find: &dyn Fn(&Ref) -> Result<(), FindError>,
) -> std::result::Result<CancelFindings, FindError> {
    let mut findings = CancelFindings::default();
    for reference in cancel {
        match find(reference) {
            Ok(()) | Err(FindError::EmptyRef { .. }) => {}
            Err(FindError::NotFound { .. } | FindError::Unsupported { .. }) => {
                findings.not_found.push(reference.to_string());
            }
            Err(FindError::NotUnique { .. }) => findings.ambiguous.push(reference.to_string()),
            Err(error @ FindError::NotReady) => return Err(error),
        }
    }
    Ok(findings)
}

/// The mirrored status parts.
#[derive(Clone, Debug)]
pub struct Mirrored {
    /// Conditions.
    pub conditions: Conditions,
    /// What changed in them.
    pub explain: Explain,
    /// Start and completion.
    pub timed: Timed,
    /// The VM statuses.
    pub vms: Vec<VmStatus>,
}

fn plan_not_valid(reason: &str) -> Condition {
    Condition::new(types::PLAN_NOT_VALID, category::CRITICAL)
        .with_reason(reason)
        .with_message("The `plan` is not valid.")
}

/// One pass of validation and mirroring (pure).
pub fn mirror(
    migration: &Migration,
    plan: &PlanLookup,
    cancel: &CancelFindings,
    now: &Time,
) -> Mirrored {
    let mut conditions = Conditions::from(migration.status.conditions.list.clone());
    let mut timed = migration.status.timed.clone();
    let mut vms = migration.status.vms.clone();
    conditions.begin_staging();
    match plan {
        PlanLookup::NotSet => conditions.set(plan_not_valid(reason::NOT_SET), now),
        PlanLookup::NotFound => conditions.set(plan_not_valid(reason::NOT_FOUND), now),
        PlanLookup::Found(plan) if !plan.status.conditions.is_ready() => conditions.set(
            Condition::new(types::PLAN_NOT_READY, category::CRITICAL)
                .with_reason(reason::NOT_FOUND)
                .with_message("The `plan` does not have Ready condition."),
            now,
        ),
        PlanLookup::Found(plan) => {
            if !cancel.not_found.is_empty() {
                conditions.set(
                    Condition::new(types::VM_NOT_FOUND, category::WARN)
                        .with_reason(reason::NOT_FOUND)
                        .with_message("VM not found.")
                        .with_items(cancel.not_found.clone()),
                    now,
                );
            }
            if !cancel.ambiguous.is_empty() {
                conditions.set(
                    Condition::new(types::VM_NOT_UNIQUE, category::WARN)
                        .with_reason(reason::AMBIGUOUS)
                        .with_message("VM reference is ambiguous.")
                        .with_items(cancel.ambiguous.clone()),
                    now,
                );
            }
            reflect(migration, plan, &mut conditions, &mut timed, &mut vms, now);
        }
    }
    if let Some(ready) = ready::migration(&conditions) {
        conditions.set(ready, now);
    }
    conditions.end_staging();
    let explain = conditions.take_explain();
    Mirrored {
        conditions: Conditions::from(conditions.list),
        explain,
        timed,
        vms,
    }
}

/// Upstream `reflectPlan`.
fn reflect(
    migration: &Migration,
    plan: &Plan,
    conditions: &mut Conditions,
    timed: &mut Timed,
    vms: &mut Vec<VmStatus>,
    now: &Time,
) {
    if conditions.has_blocker()
        || conditions.has_any(&[types::CANCELED, types::SUCCEEDED, types::FAILED])
    {
        return;
    }
    let Some(snapshot) = plan
        .status
        .migration
        .snapshot_with_migration(migration.uid())
        .filter(|_| !migration.uid().is_empty())
    else {
        return;
    };
    if let Some(canceled) = snapshot.conditions.find(types::CANCELED) {
        let mut canceled = canceled.clone();
        canceled.durable = true;
        conditions.set(canceled, now);
        return;
    }
    if snapshot.conditions.has(&[types::EXECUTING]) {
        timed.mark_started(now);
        conditions.set(
            Condition::new(types::RUNNING, category::ADVISORY)
                .with_message("The migration is RUNNING."),
            now,
        );
    }
    if snapshot.conditions.has(&[types::SUCCEEDED]) {
        timed.mark_completed(now);
        conditions.set(
            Condition::new(types::SUCCEEDED, category::ADVISORY)
                .with_message("The migration has SUCCEEDED.")
                .durable(),
            now,
        );
    }
    if snapshot.conditions.has(&[types::FAILED]) {
        timed.mark_completed(now);
        conditions.set(
            Condition::new(types::FAILED, category::ADVISORY)
                .with_message("The migration has FAILED.")
                .durable(),
            now,
        );
    }
    vms.clone_from(&plan.status.migration.vms);
}

/// The owner reference a Migration gets to its Plan (no `controller`, no
/// `blockOwnerDeletion`, as upstream's `SetOwnerReference`).
pub fn owner_reference(plan: &Plan) -> OwnerReference {
    OwnerReference {
        api_version: ferry_api::API_VERSION.into(),
        kind: "Plan".into(),
        name: plan.name().into(),
        uid: plan.uid().into(),
        ..OwnerReference::default()
    }
}

async fn ensure_owner(ctx: &Context, migration: &Migration, plan: &Plan) -> Result<()> {
    if plan.uid().is_empty() {
        return Ok(());
    }
    let mut owners = migration
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default();
    if owners.iter().any(|owner| owner.uid == plan.uid()) {
        return Ok(());
    }
    owners.push(owner_reference(plan));
    let api: Api<Migration> = Api::namespaced(ctx.client.clone(), migration.namespace());
    // The resource version makes the list update a compare-and-swap (409 on a race).
    let patch = serde_json::json!({
        "metadata": {
            "resourceVersion": migration.metadata.resource_version,
            "ownerReferences": owners,
        }
    });
    api.patch(
        migration.name(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|source| {
        Error::kube(
            "set the owner reference of",
            format!("Migration {}/{}", migration.namespace(), migration.name()),
            source,
        )
    })?;
    tracing::info!(plan = plan.name(), "owner reference to the plan set");
    Ok(())
}

/// The source inventory's verdict on the cancel references.
fn cancel_findings(ctx: &Context, migration: &Migration, plan: &Plan) -> Result<CancelFindings> {
    if migration.spec.cancel.is_empty() {
        return Ok(CancelFindings::default());
    }
    let source = ctx
        .caches
        .provider_ref(&plan.spec.provider.source)
        .ok_or_else(|| Error::ProviderNotReady("the plan's source provider is not found".into()))?;
    let Some(inventory) = ctx.collectors.inventory(source.uid()) else {
        // A source Ferry has no inventory of (the host cluster): nothing to look up.
        return Ok(CancelFindings::default());
    };
    let find = |reference: &Ref| inventory_find(inventory.as_ref(), reference);
    check_cancel(&migration.spec.cancel, &find).map_err(|_| {
        Error::ProviderNotReady(format!(
            "{}/{} (its inventory is not loaded)",
            source.namespace(),
            source.name()
        ))
    })
}

fn inventory_find(inventory: &dyn Inventory, reference: &Ref) -> Result<(), FindError> {
    inventory.find(Kind::Vm, reference).map(|_| ())
}

fn reconcile<'a>(migration: &'a Migration, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        let ctx = &scoped.ctx;
        let plan = match ref_set(&migration.spec.plan) {
            None => PlanLookup::NotSet,
            Some((namespace, name)) => match ctx.caches.plan(namespace, name) {
                None => PlanLookup::NotFound,
                Some(plan) => PlanLookup::Found(Box::new(plan)),
            },
        };
        if let PlanLookup::Found(plan) = &plan {
            ensure_owner(ctx, migration, plan).await?;
        }
        if migration.status.timed.marked_completed() {
            return Ok(Action::await_change());
        }
        let cancel = match &plan {
            PlanLookup::Found(plan) if plan.status.conditions.is_ready() => {
                cancel_findings(ctx, migration, plan)?
            }
            _ => CancelFindings::default(),
        };
        let now = ctx.now();
        let mirrored = mirror(migration, &plan, &cancel, &now);
        let current = &migration.status;
        let status = MigrationStatus {
            timed: mirrored.timed,
            conditions: mirrored.conditions,
            observed_generation: migration.generation(),
            vms: mirrored.vms,
        };
        write_status(scoped, migration, current, &status, &mirrored.explain).await?;
        Ok(Action::await_change())
    })
}

fn migrations_where(
    ctx: &Context,
    matches: impl Fn(&Migration) -> bool,
) -> Vec<ObjectRef<Guarded<Migration>>> {
    ctx.caches
        .migrations
        .state()
        .iter()
        .filter_map(|guard| valid(guard.as_ref()))
        .filter(|migration| matches(migration))
        .map(|migration| ObjectRef::new(migration.name()).within(migration.namespace()))
        .collect()
}

/// VM news from a source inventory, for running Migrations with cancel references on
/// plans from that source.
fn hub_requests(
    ctx: Arc<Context>,
) -> impl futures::Stream<Item = ObjectRef<Guarded<Migration>>> + Send + 'static {
    let receiver = ctx.collectors.subscribe();
    futures::stream::unfold((receiver, ctx), |(mut receiver, ctx)| async move {
        loop {
            let event = match receiver.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            if let InventoryEvent::Changed(_, change) = &event
                && change.kind != Kind::Vm
            {
                continue;
            }
            let key = event.provider().clone();
            let migrations = migrations_where(&ctx, |migration| {
                !migration.spec.cancel.is_empty()
                    && !migration.status.timed.marked_completed()
                    && ctx
                        .caches
                        .plan_ref(&migration.spec.plan)
                        .is_some_and(|plan| key.is(&plan.spec.provider.source))
            });
            if !migrations.is_empty() {
                return Some((futures::stream::iter(migrations), (receiver, ctx)));
            }
        }
    })
    .flatten()
}

/// The controller, ready to run until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> impl std::future::Future<Output = ()> + Send {
    let scoped = Scoped::new(Arc::clone(&ctx), NAME);
    let by_plan = Arc::clone(&ctx);
    Controller::for_shared_stream(
        ctx.caches.migrations.changed(),
        ctx.caches.migrations.store(),
    )
    .with_config(Config::default().concurrency(ctx.settings.manager.max_concurrent_reconciles))
    .watches_shared_stream(ctx.caches.plans.changed(), move |guard| {
        use kube::Resource;
        let namespace = guard.meta().namespace.clone().unwrap_or_default();
        let name = guard.meta().name.clone().unwrap_or_default();
        migrations_where(&by_plan, |migration| {
            crate::provider::names(&migration.spec.plan, &namespace, &name)
        })
    })
    .reconcile_on(hub_requests(Arc::clone(&ctx)))
    .graceful_shutdown_on(shutdown)
    .run(
        |guard, scoped| drive(guard, scoped, reconcile),
        error_policy,
        scoped,
    )
    .for_each(|_| futures::future::ready(()))
}

#[cfg(test)]
mod tests;
