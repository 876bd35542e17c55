//! The NetworkMap and StorageMap controllers.
//!
//! One pass: the provider pair (from the Provider cache) → when both providers are
//! valid and ready, the sources resolved against the source provider's inventory into
//! `status.references`, and the destinations checked against the cluster (NADs and
//! StorageClasses, from their caches) → `Ready` when nothing blocks → write the status
//! if it changed. No pass reads the API server.
//!
//! A map wakes when it changes, when one of its providers changes (its `Ready`
//! condition), when a NetworkAttachmentDefinition or StorageClass it names appears or
//! goes, and when its source inventory reports news (loaded, a network or storage
//! created, changed or deleted).

pub mod validate;

use std::fmt::Debug;
use std::sync::Arc;

use ferry_api::condition::{Condition, Conditions, ready};
use ferry_api::mapping::{MapStatus, NetworkMap, StorageMap};
use ferry_api::plan::ProviderPair;
use ferry_api::{Provider, Ref, Refs};
use ferry_inventory::{FindError, Found, Kind};
use futures::StreamExt;
use kube::Resource;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use serde::de::DeserializeOwned;

use crate::cache::{Cache, valid};
use crate::collectors::InventoryEvent;
use crate::context::{Caches, Context, Guarded};
use crate::error::{Error, Result};
use crate::findings::Findings;
use crate::runner::{Reconciled, Scoped, drive, error_policy, recompute, write_status};
use validate::{NotReady, PAIR_STOPS, ProviderLookup};

/// What differs between the two kinds of map.
pub trait MapKind:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The controller's name.
    const NAME: &'static str;
    /// The inventory kind its sources name.
    const SOURCE_KIND: Kind;
    /// The provider pair.
    fn pair(&self) -> &ProviderPair;
    /// The status.
    fn map_status(&self) -> &MapStatus;
    /// The source references as written.
    fn sources(&self) -> Vec<Ref>;
    /// Resolves the sources.
    fn resolve(
        &self,
        find: &dyn Fn(&Ref) -> Result<Found, FindError>,
        findings: &mut Findings,
    ) -> Result<Refs, NotReady>;
    /// Checks the destinations.
    fn destinations(&self, caches: &Caches, findings: &mut Findings);
    /// Whether a destination names this object: a NetworkAttachmentDefinition
    /// (`namespace/name`) for NetworkMaps, a StorageClass (`name`) for StorageMaps.
    fn names_destination(&self, namespace: &str, name: &str) -> bool;
    /// The `Ready` rule.
    fn ready(conditions: &Conditions) -> Option<Condition>;
    /// The kind's cache.
    fn cache(caches: &Caches) -> &Arc<Cache<Guarded<Self>>>;
}

impl MapKind for NetworkMap {
    const NAME: &'static str = "networkmap";
    const SOURCE_KIND: Kind = Kind::Network;
    fn pair(&self) -> &ProviderPair {
        &self.spec.provider
    }
    fn map_status(&self) -> &MapStatus {
        &self.status
    }
    fn sources(&self) -> Vec<Ref> {
        self.spec.map.iter().map(|p| p.source.reference()).collect()
    }
    fn resolve(
        &self,
        find: &dyn Fn(&Ref) -> Result<Found, FindError>,
        findings: &mut Findings,
    ) -> Result<Refs, NotReady> {
        validate::network_sources(self, find, findings)
    }
    fn destinations(&self, caches: &Caches, findings: &mut Findings) {
        validate::network_destinations(self, &|ns, name| caches.nad_exists(ns, name), findings);
    }
    fn names_destination(&self, namespace: &str, name: &str) -> bool {
        self.spec
            .map
            .iter()
            .any(|pair| pair.destination.namespace == namespace && pair.destination.name == name)
    }
    fn ready(conditions: &Conditions) -> Option<Condition> {
        ready::network_map(conditions)
    }
    fn cache(caches: &Caches) -> &Arc<Cache<Guarded<Self>>> {
        &caches.network_maps
    }
}

impl MapKind for StorageMap {
    const NAME: &'static str = "storagemap";
    const SOURCE_KIND: Kind = Kind::Storage;
    fn pair(&self) -> &ProviderPair {
        &self.spec.provider
    }
    fn map_status(&self) -> &MapStatus {
        &self.status
    }
    fn sources(&self) -> Vec<Ref> {
        self.spec.map.iter().map(|p| p.source.clone()).collect()
    }
    fn resolve(
        &self,
        find: &dyn Fn(&Ref) -> Result<Found, FindError>,
        findings: &mut Findings,
    ) -> Result<Refs, NotReady> {
        validate::storage_sources(self, find, findings)
    }
    fn destinations(&self, caches: &Caches, findings: &mut Findings) {
        validate::storage_destinations(self, &|name| caches.storage_class_exists(name), findings);
    }
    fn names_destination(&self, _namespace: &str, name: &str) -> bool {
        self.spec
            .map
            .iter()
            .any(|pair| pair.destination.storage_class == name)
    }
    fn ready(conditions: &Conditions) -> Option<Condition> {
        ready::storage_map(conditions)
    }
    fn cache(caches: &Caches) -> &Arc<Cache<Guarded<Self>>> {
        &caches.storage_maps
    }
}

/// The source's references: resolved through its inventory, or as written for the host
/// cluster (Ferry has no inventory of it yet).
fn resolve_references<M: MapKind>(
    map: &M,
    ctx: &Context,
    source: &Provider,
    findings: &mut Findings,
) -> Result<Refs> {
    if source.is_host() {
        return Ok(validate::unresolved(map.sources().into_iter()));
    }
    let not_ready = || {
        Error::ProviderNotReady(format!(
            "{}/{} (its inventory is not loaded)",
            source.namespace(),
            source.name()
        ))
    };
    let inventory = ctx
        .collectors
        .inventory(source.uid())
        .ok_or_else(not_ready)?;
    let find = |reference: &Ref| inventory.find(M::SOURCE_KIND, reference);
    map.resolve(&find, findings).map_err(|NotReady| not_ready())
}

fn reconcile<'a, M: MapKind>(map: &'a M, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        let ctx = &scoped.ctx;
        let lookup = |namespace: &str, name: &str| ctx.caches.provider(namespace, name);
        let (source, destination) = validate::lookup_pair(map.pair(), &lookup);
        let mut findings = Findings::new();
        validate::provider_pair(&source, &destination, &mut findings);
        let current = map.map_status();
        let mut references = current.references.clone();
        if !findings.has_any(&PAIR_STOPS)
            && let ProviderLookup::Found(source) = &source
        {
            references = resolve_references(map, ctx, source, &mut findings)?;
            map.destinations(&ctx.caches, &mut findings);
        }
        let now = ctx.now();
        let (conditions, explain) =
            recompute(&current.conditions, findings.into_vec(), M::ready, &now);
        let status = MapStatus {
            conditions,
            references,
            observed_generation: map.meta().generation.unwrap_or_default(),
        };
        write_status(scoped, map, current, &status, &explain).await?;
        Ok(Action::await_change())
    })
}

fn map_ref<M: MapKind>(map: &M) -> ObjectRef<Guarded<M>> {
    ObjectRef::new(map.meta().name.as_deref().unwrap_or_default())
        .within(map.meta().namespace.as_deref().unwrap_or_default())
}

/// The maps of this kind for which `matches` holds.
fn maps_where<M: MapKind>(
    ctx: &Context,
    matches: impl Fn(&M) -> bool,
) -> Vec<ObjectRef<Guarded<M>>> {
    M::cache(&ctx.caches)
        .state()
        .iter()
        .filter_map(|guard| valid(guard.as_ref()))
        .filter(|map| matches(map))
        .map(map_ref)
        .collect()
}

fn names_provider(pair: &ProviderPair, provider: &Provider) -> bool {
    let is = |r: &ferry_api::ObjectReference| {
        crate::provider::names(r, provider.namespace(), provider.name())
    };
    is(&pair.source) || is(&pair.destination)
}

/// The hub's news as reconcile requests for the maps whose source is the provider.
fn hub_requests<M: MapKind>(
    ctx: Arc<Context>,
) -> impl futures::Stream<Item = ObjectRef<Guarded<M>>> + Send + 'static {
    let receiver = ctx.collectors.subscribe();
    futures::stream::unfold((receiver, ctx), |(mut receiver, ctx)| async move {
        loop {
            let event = match receiver.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            let relevant = match &event {
                InventoryEvent::Changed(_, change) => change.kind == M::SOURCE_KIND,
                InventoryEvent::Status(_) | InventoryEvent::Lagged(_) => true,
            };
            if !relevant {
                continue;
            }
            let key = event.provider().clone();
            let maps = maps_where::<M>(&ctx, |map| key.is(&map.pair().source));
            if !maps.is_empty() {
                return Some((futures::stream::iter(maps), (receiver, ctx)));
            }
        }
    })
    .flatten()
}

/// The controller of one kind of map, ready to run until `shutdown` resolves.
pub fn controller<M: MapKind>(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> impl std::future::Future<Output = ()> + Send {
    let scoped = Scoped::new(Arc::clone(&ctx), M::NAME);
    let cache = M::cache(&ctx.caches);
    let providers_ctx = Arc::clone(&ctx);
    let mut controller = Controller::for_shared_stream(cache.changed(), cache.store())
        .with_config(Config::default().concurrency(ctx.settings.manager.max_concurrent_reconciles))
        .watches_shared_stream(ctx.caches.providers.changed(), move |guard| {
            match valid(guard.as_ref()) {
                Some(provider) => {
                    maps_where::<M>(&providers_ctx, |map| names_provider(map.pair(), provider))
                }
                None => Vec::new(),
            }
        })
        .reconcile_on(hub_requests::<M>(Arc::clone(&ctx)));
    controller = destination_watches::<M>(controller, &ctx);
    controller
        .graceful_shutdown_on(shutdown)
        .run(
            |guard, scoped| drive(guard, scoped, reconcile::<M>),
            error_policy,
            scoped,
        )
        .for_each(|_| futures::future::ready(()))
}

fn destination_watches<M: MapKind>(
    controller: Controller<Guarded<M>>,
    ctx: &Arc<Context>,
) -> Controller<Guarded<M>> {
    match M::SOURCE_KIND {
        Kind::Network => match &ctx.caches.nads {
            Some(nads) => {
                let ctx = Arc::clone(ctx);
                controller.watches_shared_stream(nads.changed(), move |nad| {
                    let namespace = nad.metadata.namespace.clone().unwrap_or_default();
                    let name = nad.metadata.name.clone().unwrap_or_default();
                    maps_where::<M>(&ctx, |map| map.names_destination(&namespace, &name))
                })
            }
            None => controller,
        },
        _ => {
            let ctx = Arc::clone(ctx);
            controller.watches_shared_stream(ctx.caches.storage_classes.changed(), move |class| {
                let name = class.metadata.name.clone().unwrap_or_default();
                maps_where::<M>(&ctx, |map| map.names_destination("", &name))
            })
        }
    }
}
