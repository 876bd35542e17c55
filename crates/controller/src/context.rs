//! [`Context`]: every dependency a controller has, built once by the manager and shared
//! (no globals). Tests build one around any client and clock.

use std::sync::Arc;

use ferry_api::destination::nad::NetworkAttachmentDefinition;
use ferry_api::destination::{DataVolume, VirtualMachine};
use ferry_api::{
    Conversion, Hook, Host, Migration, NetworkMap, ObjectReference, Plan, Provider, StorageMap,
    Time,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;

use crate::cache::{Cache, valid};
use crate::clock::Clock;
use crate::collectors::Collectors;
use crate::metrics::Metrics;
use crate::settings::Settings;

pub use crate::guard::Guarded;

/// The objects the plan controller creates, selected by the labels `plan-name` and
/// `plan-namespace` (every namespace), so a plan reads them from memory and wakes when
/// one changes.
pub struct DestinationCaches {
    /// PersistentVolumeClaims.
    pub pvcs: Arc<Cache<PersistentVolumeClaim>>,
    /// PersistentVolumes.
    pub pvs: Arc<Cache<PersistentVolume>>,
    /// Pods.
    pub pods: Arc<Cache<Pod>>,
    /// Jobs.
    pub jobs: Arc<Cache<Job>>,
    /// Conversions.
    pub conversions: Arc<Cache<Guarded<Conversion>>>,
    /// CDI DataVolumes, when the cluster serves them.
    pub data_volumes: Option<Arc<Cache<Guarded<DataVolume>>>>,
    /// KubeVirt VirtualMachines, when the cluster serves them.
    pub virtual_machines: Option<Arc<Cache<Guarded<VirtualMachine>>>>,
}

impl DestinationCaches {
    fn ready(&self) -> bool {
        self.pvcs.is_ready()
            && self.pvs.is_ready()
            && self.pods.is_ready()
            && self.jobs.is_ready()
            && self.conversions.is_ready()
            && self.data_volumes.as_ref().is_none_or(|c| c.is_ready())
            && self.virtual_machines.as_ref().is_none_or(|c| c.is_ready())
    }
}

/// The shared watch caches.
pub struct Caches {
    /// Providers.
    pub providers: Arc<Cache<Guarded<Provider>>>,
    /// NetworkMaps.
    pub network_maps: Arc<Cache<Guarded<NetworkMap>>>,
    /// StorageMaps.
    pub storage_maps: Arc<Cache<Guarded<StorageMap>>>,
    /// Hooks.
    pub hooks: Arc<Cache<Guarded<Hook>>>,
    /// Hosts.
    pub hosts: Arc<Cache<Guarded<Host>>>,
    /// Migrations.
    pub migrations: Arc<Cache<Guarded<Migration>>>,
    /// Plans.
    pub plans: Arc<Cache<Guarded<Plan>>>,
    /// Secrets, metadata only: what changed, never the data.
    pub secrets: Arc<Cache<PartialObjectMeta<Secret>>>,
    /// StorageClasses, metadata only (storage map destinations).
    pub storage_classes: Arc<Cache<PartialObjectMeta<StorageClass>>>,
    /// NetworkAttachmentDefinitions, metadata only, when the cluster serves them.
    pub nads: Option<Arc<Cache<PartialObjectMeta<NetworkAttachmentDefinition>>>>,
    /// The objects plans create.
    pub destination: DestinationCaches,
}

fn get<K>(cache: &Cache<Guarded<K>>, namespace: &str, name: &str) -> Option<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let reference = ObjectRef::<Guarded<K>>::new(name).within(namespace);
    cache
        .get(&reference)
        .and_then(|guard| valid(guard.as_ref()).cloned())
}

/// `namespace` and `name` of a reference, when both are set (upstream `RefSet`).
pub fn ref_set(reference: &ObjectReference) -> Option<(&str, &str)> {
    match (reference.namespace.as_deref(), reference.name.as_deref()) {
        (Some(namespace), Some(name)) if !namespace.is_empty() && !name.is_empty() => {
            Some((namespace, name))
        }
        _ => None,
    }
}

impl Caches {
    /// A Provider by namespace and name.
    pub fn provider(&self, namespace: &str, name: &str) -> Option<Provider> {
        get(&self.providers, namespace, name)
    }

    /// The Provider an object reference names.
    pub fn provider_ref(&self, reference: &ObjectReference) -> Option<Provider> {
        ref_set(reference).and_then(|(namespace, name)| self.provider(namespace, name))
    }

    /// A Plan by namespace and name.
    pub fn plan(&self, namespace: &str, name: &str) -> Option<Plan> {
        get(&self.plans, namespace, name)
    }

    /// The Plan an object reference names.
    pub fn plan_ref(&self, reference: &ObjectReference) -> Option<Plan> {
        ref_set(reference).and_then(|(namespace, name)| self.plan(namespace, name))
    }

    /// Whether a StorageClass exists.
    pub fn storage_class_exists(&self, name: &str) -> bool {
        self.storage_classes.get(&ObjectRef::new(name)).is_some()
    }

    /// Whether a NetworkAttachmentDefinition exists (false when the cluster has none).
    pub fn nad_exists(&self, namespace: &str, name: &str) -> bool {
        self.nads
            .as_ref()
            .is_some_and(|nads| nads.get(&ObjectRef::new(name).within(namespace)).is_some())
    }

    /// Whether every cache has finished its first list.
    pub fn ready(&self) -> bool {
        self.providers.is_ready()
            && self.network_maps.is_ready()
            && self.storage_maps.is_ready()
            && self.hooks.is_ready()
            && self.hosts.is_ready()
            && self.migrations.is_ready()
            && self.plans.is_ready()
            && self.secrets.is_ready()
            && self.storage_classes.is_ready()
            && self.nads.as_ref().is_none_or(|nads| nads.is_ready())
            && self.destination.ready()
    }
}

/// Everything a controller needs.
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// The settings.
    pub settings: Arc<Settings>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// The watch caches.
    pub caches: Caches,
    /// The inventory collectors and registry.
    pub collectors: Arc<Collectors>,
    /// The reporting instance of Events (the pod name, else the host name).
    pub instance: String,
}

impl Context {
    /// The current time, as conditions record it.
    pub fn now(&self) -> Time {
        crate::clock::time(self.clock.as_ref())
    }
}
