//! [`KubeApply`]: performs the engine's actions against the API server, the only writer
//! of destination objects, and records each outcome in the [`Observed`] snapshot so the
//! next decision of the same reconcile sees it.
//!
//! Every action is idempotent, so a controller killed at any instant and restarted
//! repeats nothing twice:
//! - a create of a named object that already exists counts as created (the existing
//!   object is read and recorded); objects with `generateName` are only asked for when
//!   no object with their labels exists, and [`crate::observe::load`] reads every object
//!   labelled with the plan's UID before the first decision;
//! - a delete of an object that is gone counts as deleted;
//! - patches are JSON merge patches (idempotent by nature);
//! - source operations and pod calls never fail the apply: their failures are answers
//!   the engine turns into step errors (or asks again later).

use crate::adapter::{Adapters, SourceClient};
use crate::execute::Apply;
use crate::execute::action::{
    Action, HttpRequest, Kind, Object, Propagation, SourceAnswer, SourceOp,
};
use crate::http::PodHttp;
use crate::observe::{DestinationVmInfo, Observed};
use ferry_api::ObjectMeta;
use ferry_api::Ref;
use futures::StreamExt;
use futures::future::BoxFuture;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::{ClusterResourceScope, NamespaceResourceScope};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

/// An action the API server refused.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {source}")]
pub struct ApplyError {
    /// What was being done (`create Pod ns/name…`).
    pub action: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

impl ApplyError {
    /// Whether the write lost an optimistic-concurrency race (HTTP 409 Conflict).
    pub fn is_conflict(&self) -> bool {
        matches!(&self.source, kube::Error::Api(status) if status.code == 409)
    }
}

/// An object kind `apply` writes.
trait Writable:
    kube::Resource<DynamicType = ()>
    + Clone
    + Serialize
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Writable for K where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

fn named(meta: &ObjectMeta) -> Option<&str> {
    meta.name.as_deref().filter(|name| !name.is_empty())
}

/// Creates a namespaced object; a named one that exists already is read instead.
async fn create_in<K>(client: &kube::Client, object: &K) -> Result<K, kube::Error>
where
    K: Writable + kube::Resource<Scope = NamespaceResourceScope>,
{
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    match api.create(&PostParams::default(), object).await {
        Ok(created) => Ok(created),
        Err(error) => match (status_code(&error), named(object.meta())) {
            (Some(409), Some(name)) => api.get(name).await,
            _ => Err(error),
        },
    }
}

/// Creates a cluster-scoped object; a named one that exists already is read instead.
async fn create_cluster<K>(client: &kube::Client, object: &K) -> Result<K, kube::Error>
where
    K: Writable + kube::Resource<Scope = ClusterResourceScope>,
{
    let api: Api<K> = Api::all(client.clone());
    match api.create(&PostParams::default(), object).await {
        Ok(created) => Ok(created),
        Err(error) => match (status_code(&error), named(object.meta())) {
            (Some(409), Some(name)) => api.get(name).await,
            _ => Err(error),
        },
    }
}

/// Replaces a namespaced object: the current one's `resourceVersion` is taken, so a
/// replace never fails on a stale read; it creates the object when it is gone.
async fn update_in<K>(client: &kube::Client, object: &K) -> Result<K, kube::Error>
where
    K: Writable + kube::Resource<Scope = NamespaceResourceScope>,
{
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let name = object.meta().name.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    match api.get_opt(&name).await? {
        Some(current) => {
            let mut replacement = object.clone();
            replacement.meta_mut().resource_version = current.meta().resource_version.clone();
            replacement.meta_mut().uid = current.meta().uid.clone();
            api.replace(&name, &PostParams::default(), &replacement)
                .await
        }
        None => api.create(&PostParams::default(), object).await,
    }
}

fn delete_params(propagation: Option<Propagation>) -> DeleteParams {
    match propagation {
        Some(Propagation::Foreground) => DeleteParams::foreground(),
        Some(Propagation::Background) => DeleteParams::background(),
        None => DeleteParams::default(),
    }
}

async fn delete_in<K>(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    propagation: Option<Propagation>,
) -> Result<(), kube::Error>
where
    K: Writable + kube::Resource<Scope = NamespaceResourceScope>,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    match api.delete(name, &delete_params(propagation)).await {
        Ok(_) => Ok(()),
        Err(error) if status_code(&error) == Some(404) => Ok(()),
        Err(error) => Err(error),
    }
}

async fn delete_cluster<K>(
    client: &kube::Client,
    name: &str,
    propagation: Option<Propagation>,
) -> Result<(), kube::Error>
where
    K: Writable + kube::Resource<Scope = ClusterResourceScope>,
{
    let api: Api<K> = Api::all(client.clone());
    match api.delete(name, &delete_params(propagation)).await {
        Ok(_) => Ok(()),
        Err(error) if status_code(&error) == Some(404) => Ok(()),
        Err(error) => Err(error),
    }
}

async fn patch_in<K>(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<Option<K>, kube::Error>
where
    K: Writable + kube::Resource<Scope = NamespaceResourceScope>,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(patched) => Ok(Some(patched)),
        Err(error) if status_code(&error) == Some(404) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn patch_cluster<K>(
    client: &kube::Client,
    name: &str,
    patch: &serde_json::Value,
) -> Result<Option<K>, kube::Error>
where
    K: Writable + kube::Resource<Scope = ClusterResourceScope>,
{
    let api: Api<K> = Api::all(client.clone());
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(patched) => Ok(Some(patched)),
        Err(error) if status_code(&error) == Some(404) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Puts `object` in `items`, replacing the one with its namespace and name.
fn upsert<K: kube::Resource>(items: &mut Vec<K>, object: K) {
    let (namespace, name) = (&object.meta().namespace, &object.meta().name);
    match items
        .iter()
        .position(|o| &o.meta().name == name && &o.meta().namespace == namespace)
    {
        Some(at) => items[at] = object,
        None => items.push(object),
    }
}

/// Removes the object with `namespace` (`""`: any) and `name` from `items`.
fn remove<K: kube::Resource>(items: &mut Vec<K>, namespace: &str, name: &str) {
    items.retain(|o| {
        !(o.meta().name.as_deref() == Some(name)
            && (namespace.is_empty() || o.meta().namespace.as_deref() == Some(namespace)))
    });
}

/// Records an object the server returned.
fn record(observed: &mut Observed, object: Object) {
    let objects = &mut observed.objects;
    match object {
        Object::Namespace(o) => observed.target_namespace = Some(o),
        Object::Secret(o) => upsert(&mut objects.secrets, o),
        Object::ConfigMap(o) => upsert(&mut objects.config_maps, o),
        Object::DataVolume(o) => upsert(&mut objects.data_volumes, o),
        Object::PersistentVolume(o) => upsert(&mut objects.pvs, o),
        Object::PersistentVolumeClaim(o) => upsert(&mut objects.pvcs, o),
        Object::Pod(o) => upsert(&mut objects.pods, o),
        Object::Job(o) => upsert(&mut objects.jobs, o),
        Object::Conversion(o) => upsert(&mut objects.conversions, o),
        Object::VirtualMachine(o) => {
            let info = DestinationVmInfo::of(&o);
            observed
                .destination_vms
                .retain(|d| !(d.vm.name == info.vm.name && d.vm.namespace == info.vm.namespace));
            observed.destination_vms.push(info);
            upsert(&mut objects.vms, o);
        }
    }
}

fn forget(observed: &mut Observed, kind: Kind, namespace: &str, name: &str) {
    let objects = &mut observed.objects;
    match kind {
        Kind::Namespace => {
            if observed
                .target_namespace
                .as_ref()
                .is_some_and(|ns| ns.metadata.name.as_deref() == Some(name))
            {
                observed.target_namespace = None;
            }
        }
        Kind::Secret => remove(&mut objects.secrets, namespace, name),
        Kind::ConfigMap => remove(&mut objects.config_maps, namespace, name),
        Kind::DataVolume => remove(&mut objects.data_volumes, namespace, name),
        Kind::PersistentVolume => remove(&mut objects.pvs, "", name),
        Kind::PersistentVolumeClaim => remove(&mut objects.pvcs, namespace, name),
        Kind::Pod => remove(&mut objects.pods, namespace, name),
        Kind::Job => remove(&mut objects.jobs, namespace, name),
        Kind::Conversion => remove(&mut objects.conversions, namespace, name),
        Kind::VirtualMachine => {
            remove(&mut objects.vms, namespace, name);
            observed
                .destination_vms
                .retain(|d| !(d.vm.name == name && d.vm.namespace == namespace));
        }
    }
}

/// Applies actions with a `kube::Client`.
pub struct KubeApply<'a> {
    client: kube::Client,
    adapters: &'a Adapters,
    pods: &'a dyn PodHttp,
    source: Option<Result<Arc<dyn SourceClient>, String>>,
}

impl<'a> KubeApply<'a> {
    /// An applier writing through `client`, acting on the source through the adapter of
    /// the plan's source provider, and calling pods through `pods`.
    pub fn new(client: kube::Client, adapters: &'a Adapters, pods: &'a dyn PodHttp) -> Self {
        Self {
            client,
            adapters,
            pods,
            source: None,
        }
    }

    fn source_client(&mut self, observed: &Observed) -> Result<Arc<dyn SourceClient>, String> {
        if let Some(built) = &self.source {
            return built.clone();
        }
        let built = match observed.source.found() {
            None => Err("the source provider is not found".to_string()),
            Some(provider) => match self.adapters.get(provider) {
                None => Err(format!(
                    "no adapter for provider type '{}'",
                    provider.type_name()
                )),
                Some(adapter) => adapter
                    .source_client(provider, observed.source_secret.as_ref())
                    .map_err(|error| error.to_string()),
            },
        };
        self.source = Some(built.clone());
        built
    }

    async fn source(&self, vm: &Ref, op: SourceOp, _observed: &Observed) -> SourceAnswer {
        let client = match &self.source {
            Some(Ok(client)) => Arc::clone(client),
            Some(Err(reason)) => return SourceAnswer::Failed(reason.clone()),
            None => return SourceAnswer::Failed("no source client".into()),
        };
        let result = match op {
            SourceOp::PowerState => client
                .power_state(vm)
                .await
                .map(|state| SourceAnswer::PowerState(state.as_str().to_string())),
            SourceOp::PowerOff => client.power_off(vm).await.map(|()| SourceAnswer::Done),
            SourceOp::PowerOn => client.power_on(vm).await.map(|()| SourceAnswer::Done),
            SourceOp::PoweredOff => client.powered_off(vm).await.map(SourceAnswer::PoweredOff),
        };
        result.unwrap_or_else(|error| SourceAnswer::Failed(error.to_string()))
    }

    async fn create(&self, object: &Object) -> Result<Object, kube::Error> {
        let client = &self.client;
        Ok(match object {
            Object::Namespace(o) => Object::Namespace(create_cluster(client, o).await?),
            Object::Secret(o) => Object::Secret(create_in(client, o).await?),
            Object::ConfigMap(o) => Object::ConfigMap(create_in(client, o).await?),
            Object::DataVolume(o) => Object::DataVolume(create_in(client, o).await?),
            Object::PersistentVolume(o) => {
                Object::PersistentVolume(create_cluster(client, o).await?)
            }
            Object::PersistentVolumeClaim(o) => {
                Object::PersistentVolumeClaim(create_in(client, o).await?)
            }
            Object::Pod(o) => Object::Pod(create_in(client, o).await?),
            Object::Job(o) => Object::Job(create_in(client, o).await?),
            Object::Conversion(o) => Object::Conversion(create_in(client, o).await?),
            Object::VirtualMachine(o) => Object::VirtualMachine(create_in(client, o).await?),
        })
    }

    async fn update(&self, object: &Object) -> Result<Object, kube::Error> {
        let client = &self.client;
        Ok(match object {
            Object::Namespace(o) => {
                let api: Api<_> = Api::all(client.clone());
                let name = o.metadata.name.clone().unwrap_or_default();
                Object::Namespace(
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(o))
                        .await?,
                )
            }
            Object::PersistentVolume(o) => {
                let api: Api<_> = Api::all(client.clone());
                let name = o.metadata.name.clone().unwrap_or_default();
                Object::PersistentVolume(
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(o))
                        .await?,
                )
            }
            Object::Secret(o) => Object::Secret(update_in(client, o).await?),
            Object::ConfigMap(o) => Object::ConfigMap(update_in(client, o).await?),
            Object::DataVolume(o) => Object::DataVolume(update_in(client, o).await?),
            Object::PersistentVolumeClaim(o) => {
                Object::PersistentVolumeClaim(update_in(client, o).await?)
            }
            Object::Pod(o) => Object::Pod(update_in(client, o).await?),
            Object::Job(o) => Object::Job(update_in(client, o).await?),
            Object::Conversion(o) => Object::Conversion(update_in(client, o).await?),
            Object::VirtualMachine(o) => Object::VirtualMachine(update_in(client, o).await?),
        })
    }

    async fn patch(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<Option<Object>, kube::Error> {
        let client = &self.client;
        Ok(match kind {
            Kind::Namespace => patch_cluster(client, name, patch)
                .await?
                .map(Object::Namespace),
            Kind::PersistentVolume => patch_cluster(client, name, patch)
                .await?
                .map(Object::PersistentVolume),
            Kind::Secret => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::Secret),
            Kind::ConfigMap => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::ConfigMap),
            Kind::DataVolume => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::DataVolume),
            Kind::PersistentVolumeClaim => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::PersistentVolumeClaim),
            Kind::Pod => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::Pod),
            Kind::Job => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::Job),
            Kind::Conversion => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::Conversion),
            Kind::VirtualMachine => patch_in(client, namespace, name, patch)
                .await?
                .map(Object::VirtualMachine),
        })
    }

    async fn delete(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        propagation: Option<Propagation>,
    ) -> Result<(), kube::Error> {
        use ferry_api::destination::{DataVolume, VirtualMachine};
        use ferry_api::k8s_openapi::api::batch::v1::Job;
        use ferry_api::k8s_openapi::api::core::v1::{
            ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
        };
        let client = &self.client;
        match kind {
            Kind::Namespace => delete_cluster::<Namespace>(client, name, propagation).await,
            Kind::PersistentVolume => {
                delete_cluster::<PersistentVolume>(client, name, propagation).await
            }
            Kind::Secret => delete_in::<Secret>(client, namespace, name, propagation).await,
            Kind::ConfigMap => delete_in::<ConfigMap>(client, namespace, name, propagation).await,
            Kind::DataVolume => delete_in::<DataVolume>(client, namespace, name, propagation).await,
            Kind::PersistentVolumeClaim => {
                delete_in::<PersistentVolumeClaim>(client, namespace, name, propagation).await
            }
            Kind::Pod => delete_in::<Pod>(client, namespace, name, propagation).await,
            Kind::Job => delete_in::<Job>(client, namespace, name, propagation).await,
            Kind::Conversion => {
                delete_in::<ferry_api::Conversion>(client, namespace, name, propagation).await
            }
            Kind::VirtualMachine => {
                delete_in::<VirtualMachine>(client, namespace, name, propagation).await
            }
        }
    }

    /// Performs one action without touching the snapshot (boxed: a write's future is
    /// large, and a batch holds several).
    fn perform<'b>(&'b self, action: &'b Action, observed: &'b Observed) -> BoxFuture<'b, Outcome> {
        Box::pin(self.perform_inline(action, observed))
    }

    async fn perform_inline(&self, action: &Action, observed: &Observed) -> Outcome {
        let failed = |source: kube::Error| {
            Outcome::Failed(ApplyError {
                action: action.describe(),
                source,
            })
        };
        match action {
            Action::Create(object) => match self.create(object).await {
                Ok(created) => {
                    tracing::debug!(object = %created.describe(), "created");
                    Outcome::stored(created)
                }
                Err(error) => failed(error),
            },
            Action::Update(object) => match self.update(object).await {
                Ok(updated) => Outcome::stored(updated),
                Err(error) => failed(error),
            },
            Action::Patch {
                kind,
                namespace,
                name,
                patch,
            } => match self.patch(*kind, namespace, name, patch).await {
                Ok(Some(patched)) => Outcome::stored(patched),
                Ok(None) => Outcome::Gone(*kind, namespace.clone(), name.clone()),
                Err(error) => failed(error),
            },
            Action::Delete {
                kind,
                namespace,
                name,
                propagation,
            } => match self.delete(*kind, namespace, name, *propagation).await {
                Ok(()) => {
                    tracing::debug!(%kind, namespace, name, "deleted");
                    Outcome::Gone(*kind, namespace.clone(), name.clone())
                }
                Err(error) => failed(error),
            },
            Action::Source { vm, op } => {
                let answer = self.source(vm, *op, observed).await;
                Outcome::Source((vm.id.clone(), *op), answer)
            }
            Action::Http(request) => Outcome::Http(request.clone(), self.pods.call(request).await),
        }
    }
}

/// What one action did.
enum Outcome {
    /// The object as the server stored it.
    Stored(Box<Object>),
    /// The object is gone.
    Gone(Kind, String, String),
    /// A source operation's answer.
    Source((String, SourceOp), SourceAnswer),
    /// A pod's answer.
    Http(HttpRequest, crate::execute::action::HttpAnswer),
    /// The server refused.
    Failed(ApplyError),
}

impl Outcome {
    /// The server's copy of an object, kept as the loader keeps what it reads: without
    /// managed fields (nothing reads them, and at a thousand VMs they are tens of MiB
    /// of a reconcile's memory).
    fn stored(mut object: Object) -> Self {
        object.meta_mut().managed_fields = None;
        Self::Stored(Box::new(object))
    }
}

/// How many actions of one batch run at once. Actions of one decision are independent
/// of each other (a Namespace, which the others may need, is created on its own first).
pub const CONCURRENCY: usize = 8;

fn barrier(action: &Action) -> bool {
    matches!(action, Action::Create(Object::Namespace(_)))
}

impl Apply for KubeApply<'_> {
    type Error = ApplyError;

    /// Runs the actions in batches of [`CONCURRENCY`] (a Namespace creation alone, before
    /// what follows it), records every outcome, and returns the first refusal.
    fn apply<'b>(
        &'b mut self,
        actions: &'b [Action],
        observed: &'b mut Observed,
    ) -> BoxFuture<'b, Result<(), ApplyError>> {
        Box::pin(async move {
            if actions.iter().any(|a| matches!(a, Action::Source { .. })) {
                // Built once, before the batches borrow the applier.
                let _ = self.source_client(observed);
            }
            let mut first_error = None;
            let mut rest = actions;
            while !rest.is_empty() {
                let end = if barrier(&rest[0]) {
                    1
                } else {
                    rest.iter().position(barrier).unwrap_or(rest.len())
                };
                let (batch, after) = rest.split_at(end);
                rest = after;
                let this = &*self;
                let seen = &*observed;
                // Each action's future is made when its turn comes, so no more than
                // CONCURRENCY of them exist at once (a first pass at a thousand VMs has
                // thousands of actions, and each future is kilobytes).
                let mut outcomes = Vec::with_capacity(batch.len());
                {
                    let mut waiting = batch.iter();
                    let mut running = futures::stream::FuturesOrdered::new();
                    for action in waiting.by_ref().take(CONCURRENCY) {
                        running.push_back(this.perform(action, seen));
                    }
                    while let Some(outcome) = running.next().await {
                        outcomes.push(outcome);
                        if let Some(action) = waiting.next() {
                            running.push_back(this.perform(action, seen));
                        }
                    }
                }
                for outcome in outcomes {
                    match outcome {
                        Outcome::Stored(object) => record(observed, *object),
                        Outcome::Gone(kind, namespace, name) => {
                            forget(observed, kind, &namespace, &name);
                        }
                        Outcome::Source(key, answer) => {
                            observed.results.source.insert(key, answer);
                        }
                        Outcome::Http(request, answer) => {
                            observed.results.http.insert(request, answer);
                        }
                        Outcome::Failed(error) => {
                            first_error.get_or_insert(error);
                        }
                    }
                }
                if first_error.is_some() {
                    break;
                }
            }
            match first_error {
                Some(error) => Err(error),
                None => Ok(()),
            }
        })
    }
}
