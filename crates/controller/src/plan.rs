//! The wiring of the plan controller. The controller itself (validation, execution,
//! destination objects) is built in `ferry-plan`; it plugs in through
//! [`PlanReconciler`], and this module runs it on kube-runtime with every watch a plan
//! depends on:
//!
//! | what changed | which Plans reconcile |
//! |---|---|
//! | the Plan | itself |
//! | a Provider | Plans naming it as source or destination ([`PlanIndex`]) |
//! | a NetworkMap / StorageMap | Plans naming it in `spec.map` ([`PlanIndex`]) |
//! | a Hook | Plans naming it in a VM's `hooks` ([`PlanIndex`]; upstream never maps Hook events) |
//! | a Migration (created, changed, deleted) | the Plan in its `spec.plan` |
//! | a DataVolume, PVC, PV, Pod, Job, VirtualMachine or Conversion labelled `plan-name` and `plan-namespace` | the Plan those labels name |
//! | a VM in the source inventory (created, changed, deleted, renamed) | the non-archived, unfinished Plans from that source listing the VM (by `id`, or by `name` for VMs without one, the old name of a renamed VM too) |
//!
//! The index of references is kept in memory from the Plan cache's events; it replaces
//! upstream's global reference mapper. A debounce ([`coalesce`],
//! `FERRY_PLAN_DEBOUNCE_MILLISECONDS`) reconciles a lone change at once and folds bursts
//! of progress updates into one reconcile, and
//! `MAX_CONCURRENT_RECONCILES` bounds the reconciles in flight.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use ferry_api::condition::types;
use ferry_api::labels;
use ferry_api::{ObjectReference, Plan};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use tracing::Instrument;

use crate::cache::{Cache, CacheEvent, valid};
use crate::collectors::InventoryEvent;
use crate::context::{Context, Guarded, ref_set};
use crate::error::{Error, ErrorClass};
use crate::runner::{Reconciled, Scoped, drive, error_policy};

pub mod coalesce;
pub mod ferry;

/// The controller's name.
pub const NAME: &str = "plan";

/// A failed plan reconcile, as the plan controller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// How to retry.
    pub class: ErrorClass,
    /// A short, stable reason (metrics label).
    pub reason: &'static str,
    /// What went wrong (no secrets).
    pub message: String,
}

/// What `ferry-plan` provides: one reconcile of one Plan, with the shared context
/// (client, settings, clock, caches, inventories).
pub trait PlanReconciler: Send + Sync + 'static {
    /// Reconciles `plan`; `Ok(action)` says when to look again (`await_change` unless
    /// source-side work needs a timer).
    fn reconcile(
        &self,
        plan: Arc<Plan>,
        ctx: Arc<Context>,
    ) -> BoxFuture<'static, Result<Action, PlanError>>;

    /// A Plan was deleted (`plan` as last seen): clean up what it left behind. Called
    /// once per deletion the manager sees; the default does nothing.
    fn deleted(
        &self,
        plan: Arc<Plan>,
        ctx: Arc<Context>,
    ) -> BoxFuture<'static, Result<(), PlanError>> {
        let _ = (plan, ctx);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A kind of object a plan references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Referenced {
    /// A Provider.
    Provider,
    /// A NetworkMap.
    NetworkMap,
    /// A StorageMap.
    StorageMap,
    /// A Hook.
    Hook,
}

type Key = (Referenced, String, String);
type PlanKey = (String, String);

/// Which Plans reference which objects.
#[derive(Default)]
pub struct PlanIndex {
    by_object: RwLock<HashMap<Key, BTreeSet<PlanKey>>>,
    by_plan: RwLock<HashMap<PlanKey, Vec<Key>>>,
}

/// The objects a Plan references.
pub fn references(plan: &Plan) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut add = |kind: Referenced, reference: &ObjectReference| {
        if let Some((namespace, name)) = ref_set(reference) {
            keys.push((kind, namespace.to_string(), name.to_string()));
        }
    };
    add(Referenced::Provider, &plan.spec.provider.source);
    add(Referenced::Provider, &plan.spec.provider.destination);
    add(Referenced::NetworkMap, &plan.spec.map.network);
    add(Referenced::StorageMap, &plan.spec.map.storage);
    for vm in &plan.spec.vms {
        for hook in &vm.hooks {
            add(Referenced::Hook, &hook.hook);
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

impl PlanIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or replaces) what a Plan references.
    pub fn update(&self, namespace: &str, name: &str, keys: Vec<Key>) {
        let plan = (namespace.to_string(), name.to_string());
        self.remove(namespace, name);
        let mut by_object = self
            .by_object
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for key in &keys {
            by_object
                .entry(key.clone())
                .or_default()
                .insert(plan.clone());
        }
        drop(by_object);
        self.by_plan
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(plan, keys);
    }

    /// Forgets a Plan.
    pub fn remove(&self, namespace: &str, name: &str) {
        let plan = (namespace.to_string(), name.to_string());
        let old = self
            .by_plan
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&plan);
        let mut by_object = self
            .by_object
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for key in old.unwrap_or_default() {
            if let Some(plans) = by_object.get_mut(&key) {
                plans.remove(&plan);
                if plans.is_empty() {
                    by_object.remove(&key);
                }
            }
        }
    }

    /// The Plans referencing an object.
    pub fn plans(&self, kind: Referenced, namespace: &str, name: &str) -> Vec<PlanKey> {
        self.by_object
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(kind, namespace.to_string(), name.to_string()))
            .map(|plans| plans.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Rebuilds the index from every Plan.
    pub fn rebuild<'a>(&self, plans: impl Iterator<Item = &'a Plan>) {
        self.by_object
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.by_plan
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        for plan in plans {
            self.update(plan.namespace(), plan.name(), references(plan));
        }
    }
}

/// Keeps `index` current from the Plan cache's events (run as a task).
pub async fn maintain_index(cache: Arc<Cache<Guarded<Plan>>>, index: Arc<PlanIndex>) {
    // Start from what is there, then follow the changes.
    let mut events = std::pin::pin!(cache.events());
    let rebuild = |index: &PlanIndex| {
        let state = cache.state();
        index.rebuild(state.iter().filter_map(|guard| valid(guard.as_ref())));
    };
    rebuild(&index);
    while let Some(event) = events.next().await {
        match event {
            CacheEvent::Applied(guard) => {
                let namespace = guard.meta().namespace.clone().unwrap_or_default();
                let name = guard.meta().name.clone().unwrap_or_default();
                match valid(guard.as_ref()) {
                    Some(plan) => index.update(&namespace, &name, references(plan)),
                    None => index.remove(&namespace, &name),
                }
            }
            CacheEvent::Deleted(guard) => {
                index.remove(
                    guard.meta().namespace.as_deref().unwrap_or_default(),
                    guard.meta().name.as_deref().unwrap_or_default(),
                );
            }
            CacheEvent::Resynced => rebuild(&index),
        }
    }
}

fn plan_ref((namespace, name): &PlanKey) -> ObjectRef<Guarded<Plan>> {
    ObjectRef::new(name).within(namespace)
}

/// The Plan named by an object's `plan-name` and `plan-namespace` labels.
pub fn labelled_plan(meta: &kube::core::ObjectMeta) -> Option<ObjectRef<Guarded<Plan>>> {
    let labels = meta.labels.as_ref()?;
    let name = labels.get(labels::PLAN_NAME)?;
    let namespace = labels.get(labels::PLAN_NAMESPACE)?;
    (!name.is_empty() && !namespace.is_empty()).then(|| ObjectRef::new(name).within(namespace))
}

/// Whether a Plan still cares about its source's VMs: not archived, not finished.
pub fn wants_vm_news(plan: &Plan) -> bool {
    !plan.spec.archived
        && !plan
            .status
            .conditions
            .has_any(&[types::SUCCEEDED, types::FAILED, types::CANCELED])
}

/// Whether a Plan lists the VM of an inventory change: by `id`, or by a `name` the
/// VM's path (for OVA, its name) ends with (upstream's handler, through
/// `ferry_plan::watch`).
pub fn lists_vm(plan: &Plan, id: &str, path: &str) -> bool {
    ferry_plan::watch::lists_vm(plan, id, path)
}

/// The names of the VMs of each provider's inventory, as last seen in its news (keyed by
/// provider UID, then VM ID), so that a renamed VM also wakes the Plans that named it
/// by its old name, as upstream's handler compares the VM before and after the change.
#[derive(Default)]
struct VmNames {
    by_provider: HashMap<String, HashMap<String, String>>,
}

impl VmNames {
    /// Reads every VM name of a provider's inventory (after a load or missed news).
    fn refresh(&mut self, ctx: &Context, uid: &str) {
        let names = ctx
            .collectors
            .inventory(uid)
            .and_then(|inventory| inventory.list(ferry_inventory::Kind::Vm).ok())
            .map(|vms| vms.into_iter().map(|vm| (vm.id, vm.name)).collect());
        match names {
            Some(names) => {
                self.by_provider.insert(uid.to_string(), names);
            }
            None => {
                self.by_provider.remove(uid);
            }
        }
    }

    /// Records a VM change; returns the name the VM had before, if it differs.
    fn record(&mut self, uid: &str, change: &ferry_inventory::Change) -> Option<String> {
        let names = self.by_provider.entry(uid.to_string()).or_default();
        let before = if change.action == ferry_inventory::Action::Deleted {
            names.remove(&change.id)
        } else {
            names.insert(change.id.clone(), change.name.clone())
        };
        before.filter(|old| *old != change.name)
    }
}

fn inventory_requests(
    ctx: Arc<Context>,
) -> impl Stream<Item = ObjectRef<Guarded<Plan>>> + Send + 'static {
    let receiver = ctx.collectors.subscribe();
    let state = (receiver, ctx, VmNames::default());
    futures::stream::unfold(state, |(mut receiver, ctx, mut names)| async move {
        loop {
            let event = match receiver.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            let key = event.provider().clone();
            let vm = match &event {
                InventoryEvent::Changed(_, change) if change.kind == ferry_inventory::Kind::Vm => {
                    let before = names.record(&key.uid, change);
                    Some((change.id.clone(), change.name.clone(), before))
                }
                InventoryEvent::Changed(..) => continue,
                InventoryEvent::Status(_) | InventoryEvent::Lagged(_) => {
                    names.refresh(&ctx, &key.uid);
                    None
                }
            };
            let plans: Vec<_> = ctx
                .caches
                .plans
                .state()
                .iter()
                .filter_map(|guard| valid(guard.as_ref()))
                .filter(|plan| key.is(&plan.spec.provider.source) && wants_vm_news(plan))
                .filter(|plan| {
                    vm.as_ref().is_none_or(|(id, name, before)| {
                        lists_vm(plan, id, name)
                            || before.as_ref().is_some_and(|old| lists_vm(plan, id, old))
                    })
                })
                .map(|plan| ObjectRef::new(plan.name()).within(plan.namespace()))
                .collect();
            if !plans.is_empty() {
                return Some((futures::stream::iter(plans), (receiver, ctx, names)));
            }
        }
    })
    .flatten()
}

fn reconcile<'a>(plan: &'a Plan, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        let reconciler = scoped.plan.as_ref().ok_or_else(|| Error::Plan {
            class: ErrorClass::Transient,
            reason: "NotWired",
            message: "the plan controller is not wired".into(),
        })?;
        let span = tracing::info_span!("plan", plan = plan.name());
        reconciler
            .reconcile(Arc::new(plan.clone()), Arc::clone(&scoped.ctx))
            .instrument(span)
            .await
            .map_err(|error| Error::Plan {
                class: error.class,
                reason: error.reason,
                message: error.message,
            })
    })
}

/// Whether a Plan update needs a reconcile: its spec changed since the status was
/// written (`observedGeneration < generation`) or it was never reconciled; the plan
/// controller's own status writes then wake nothing (upstream's predicate).
pub fn needs_reconcile(plan: &Plan) -> bool {
    plan.status.observed_generation < plan.generation() || plan.status.conditions.is_empty()
}

/// The Plans that need a reconcile: each Plan the first time it is seen (after a
/// restart every Plan is looked at once, so executions resume), then only when
/// [`needs_reconcile`] or its generation moved.
fn plan_triggers(
    cache: &Cache<Guarded<Plan>>,
) -> impl Stream<Item = Arc<Guarded<Plan>>> + Send + 'static {
    let mut seen: HashMap<String, i64> = HashMap::new();
    cache.changed().filter(move |guard| {
        let uid = guard.meta().uid.clone().unwrap_or_default();
        let generation = guard.meta().generation.unwrap_or_default();
        let first = seen
            .insert(uid, generation)
            .is_none_or(|before| before != generation);
        let wanted = first || valid(guard.as_ref()).is_none_or(needs_reconcile);
        futures::future::ready(wanted)
    })
}

/// Tells the plan controller about deleted Plans (until `shutdown`).
async fn deletions(
    ctx: Arc<Context>,
    reconciler: Arc<dyn PlanReconciler>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut events = std::pin::pin!(ctx.caches.plans.events());
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.next() => event,
        };
        let Some(event) = event else { return };
        let CacheEvent::Deleted(guard) = event else {
            continue;
        };
        let Some(plan) = valid(guard.as_ref()).cloned() else {
            continue;
        };
        let plan = Arc::new(plan);
        for attempt in 1..=5u32 {
            match reconciler
                .deleted(Arc::clone(&plan), Arc::clone(&ctx))
                .await
            {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(plan = plan.name(), namespace = plan.namespace(), attempt, error = %error.message, "cleaning up after a deleted plan failed");
                    tokio::time::sleep(crate::policy::backoff(attempt)).await;
                }
            }
        }
    }
}

/// Under a steady stream of triggers a Plan reconciles at least once every this many
/// debounce periods (`FERRY_PLAN_DEBOUNCE_MILLISECONDS`).
pub const MAX_WAIT_FACTOR: u32 = 10;

/// One source of plan triggers.
type Triggers = futures::stream::BoxStream<'static, ObjectRef<Guarded<Plan>>>;

/// The Plans `map` names for each item of `changes`.
fn mapped<T, I>(
    changes: impl Stream<Item = T> + Send + 'static,
    map: impl Fn(T) -> I + Send + 'static,
) -> Triggers
where
    I: IntoIterator<Item = ObjectRef<Guarded<Plan>>>,
    I::IntoIter: Send + 'static,
{
    changes
        .flat_map(move |item| futures::stream::iter(map(item)))
        .boxed()
}

/// The plan controller with every watch, ready to run until `shutdown` fires.
pub fn controller(
    ctx: Arc<Context>,
    reconciler: Arc<dyn PlanReconciler>,
    index: Arc<PlanIndex>,
    shutdown: tokio_util::sync::CancellationToken,
) -> impl std::future::Future<Output = ()> + Send {
    let cleanup = deletions(Arc::clone(&ctx), Arc::clone(&reconciler), shutdown.clone());
    let scoped = Scoped::for_plan(Arc::clone(&ctx), NAME, reconciler);
    let settings = &ctx.settings.manager;
    // kube-runtime's debounce would put a reconcile off for as long as triggers keep
    // coming; every trigger goes through [`coalesce`] instead (leading edge, bounded wait).
    let config = Config::default().concurrency(settings.max_concurrent_reconciles);
    let quiet = settings.plan_debounce;
    let max_wait = quiet.saturating_mul(MAX_WAIT_FACTOR);
    let by_index = |kind: Referenced, index: &Arc<PlanIndex>| {
        let index = Arc::clone(index);
        move |meta: &kube::core::ObjectMeta| {
            index
                .plans(
                    kind,
                    meta.namespace.as_deref().unwrap_or_default(),
                    meta.name.as_deref().unwrap_or_default(),
                )
                .iter()
                .map(plan_ref)
                .collect::<Vec<_>>()
        }
    };
    let providers = by_index(Referenced::Provider, &index);
    let network_maps = by_index(Referenced::NetworkMap, &index);
    let storage_maps = by_index(Referenced::StorageMap, &index);
    let hooks = by_index(Referenced::Hook, &index);
    let caches = &ctx.caches;
    let destination = &caches.destination;
    let mut triggers: Vec<Triggers> = vec![
        plan_triggers(&caches.plans)
            .map(|guard| {
                let meta = guard.meta();
                ObjectRef::new(meta.name.as_deref().unwrap_or_default())
                    .within(meta.namespace.as_deref().unwrap_or_default())
            })
            .boxed(),
        mapped(caches.providers.changed(), move |g| providers(g.meta())),
        mapped(caches.network_maps.changed(), move |g| {
            network_maps(g.meta())
        }),
        mapped(caches.storage_maps.changed(), move |g| {
            storage_maps(g.meta())
        }),
        mapped(caches.hooks.changed(), move |g| hooks(g.meta())),
        mapped(caches.migrations.changed(), |guard| {
            valid(guard.as_ref())
                .and_then(|migration| ref_set(&migration.spec.plan))
                .map(|(namespace, name)| ObjectRef::new(name).within(namespace))
        }),
        inventory_requests(Arc::clone(&ctx)).boxed(),
        mapped(destination.pvcs.changed(), |o| labelled_plan(o.meta())),
        mapped(destination.pvs.changed(), |o| labelled_plan(o.meta())),
        mapped(destination.pods.changed(), |o| labelled_plan(o.meta())),
        mapped(destination.jobs.changed(), |o| labelled_plan(o.meta())),
        mapped(destination.conversions.changed(), |o| {
            labelled_plan(o.meta())
        }),
    ];
    if let Some(data_volumes) = &destination.data_volumes {
        triggers.push(mapped(data_volumes.changed(), |o| labelled_plan(o.meta())));
    }
    if let Some(vms) = &destination.virtual_machines {
        triggers.push(mapped(vms.changed(), |o| labelled_plan(o.meta())));
    }
    let triggers = coalesce::coalesced(futures::stream::select_all(triggers), quiet, max_wait);
    let controller = Controller::for_shared_stream(
        futures::stream::pending::<Arc<Guarded<Plan>>>(),
        caches.plans.store(),
    )
    .with_config(config)
    .reconcile_on(triggers);
    let run = controller
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
