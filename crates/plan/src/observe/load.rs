//! Loads an [`Observed`] snapshot from the API server: the only reads of a reconcile.
//!
//! What is read, and how:
//!
//! | what | request |
//! |---|---|
//! | the Plan | GET (uncached, as upstream reads it) |
//! | source and destination Providers, the maps, the hooks the VMs name | GET each |
//! | the source Provider's Secret | GET (not for the host provider) |
//! | Migrations | LIST (all namespaces; those whose `spec.plan` names the plan) |
//! | target and controller Namespaces, ServiceAccounts | GET each |
//! | the transfer network NAD; UDN NADs of the target namespace | GET; LIST by label |
//! | the temp storage class and CSIStorageCapacities | GET; LIST (only when set) |
//! | every destination VirtualMachine | LIST (MAC conflicts, taken names; the plan's own are those labelled `plan=<uid>`) |
//! | the plan's objects: Secrets, ConfigMaps, DataVolumes, PVCs, PVs, Pods, Jobs, Conversions | LIST by `plan=<uid>` (all namespaces) |
//! | other Plans of the same source | LIST Plans (the in-flight limit) |
//! | the extra virt-v2v ConfigMap, the customization scripts | GET |
//!
//! Lists are read in pages of [`LIST_PAGE`] objects, without `metadata.managedFields`.
//!
//! Kinds the cluster does not serve (no CDI, KubeVirt or Multus CRDs) read as empty;
//! validation then says what is missing.

use super::{Destination, DestinationVmInfo, Key, Lookup, Observed, ref_key};
use crate::settings::Settings;
use ferry_api::destination::{DataVolume, NetworkAttachmentDefinition, VirtualMachine};
use ferry_api::k8s_openapi::api::batch::v1::Job;
use ferry_api::k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Secret, ServiceAccount,
};
use ferry_api::k8s_openapi::api::storage::v1::{CSIStorageCapacity, StorageClass};
use ferry_api::labels;
use ferry_api::{
    Conversion, Hook, Migration, NetworkMap, ObjectReference, Plan, Provider, StorageMap,
};
use ferry_inventory::Inventory;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;

/// Where the controller finds a source provider's inventory.
pub trait Inventories: Send + Sync {
    /// The inventory of the Provider with this UID, when it is registered.
    fn inventory(&self, provider_uid: &str) -> Option<Arc<dyn Inventory>>;
}

impl Inventories for ferry_inventory::Registry {
    fn inventory(&self, provider_uid: &str) -> Option<Arc<dyn Inventory>> {
        ferry_inventory::Registry::inventory(self, provider_uid)
    }
}

impl<F> Inventories for F
where
    F: Fn(&str) -> Option<Arc<dyn Inventory>> + Send + Sync,
{
    fn inventory(&self, provider_uid: &str) -> Option<Arc<dyn Inventory>> {
        self(provider_uid)
    }
}

/// A read failed.
#[derive(Debug, thiserror::Error)]
#[error("reading {what}: {source}")]
pub struct LoadError {
    /// What was being read (`kind namespace/name`, or `kind list`).
    pub what: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

/// An object kind the loader reads.
pub trait Readable:
    kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

impl<K> Readable for K where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

fn not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// A continue token too old for the server's history (410 Gone).
fn expired(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 410)
}

/// Items per LIST page: small enough that a page of Pods is a few MiB, large enough
/// that a plan of a few hundred VMs reads each kind in one or two requests.
pub const LIST_PAGE: u32 = 250;

/// How many times one list restarts after its continue token expired.
const LIST_RESTARTS: u32 = 3;

/// Whether `name` can name an object (a DNS-1123 subdomain: what every kind read here
/// requires), so it is safe in a URL path.
fn valid_name(name: &str) -> bool {
    crate::names::is_dns1123_subdomain(name)
}

/// Whether `namespace` can name a namespace (a DNS-1123 label).
fn valid_namespace(namespace: &str) -> bool {
    crate::names::is_dns1123_label(namespace)
}

fn kind<K: Readable>() -> String {
    K::kind(&()).into_owned()
}

/// Reads objects through one client.
#[derive(Clone)]
pub struct Reader {
    client: kube::Client,
}

impl Reader {
    /// A reader over `client`.
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }

    /// GETs a namespaced object; `None` when it does not exist.
    pub async fn get<K>(&self, namespace: &str, name: &str) -> Result<Option<K>, LoadError>
    where
        K: Readable + kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    {
        if !valid_namespace(namespace) || !valid_name(name) {
            // No object can have such a name; never put it in a URL.
            return Ok(None);
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        match api.get(name).await {
            Ok(object) => Ok(Some(object)),
            Err(error) if not_found(&error) => Ok(None),
            Err(source) => Err(LoadError {
                what: format!("{} {namespace}/{name}", kind::<K>()),
                source,
            }),
        }
    }

    /// GETs a cluster-scoped object; `None` when it does not exist.
    pub async fn get_cluster<K>(&self, name: &str) -> Result<Option<K>, LoadError>
    where
        K: Readable + kube::Resource<Scope = kube::core::ClusterResourceScope>,
    {
        if !valid_name(name) {
            return Ok(None);
        }
        let api: Api<K> = Api::all(self.client.clone());
        match api.get(name).await {
            Ok(object) => Ok(Some(object)),
            Err(error) if not_found(&error) => Ok(None),
            Err(source) => Err(LoadError {
                what: format!("{} {name}", kind::<K>()),
                source,
            }),
        }
    }

    /// GETs the object a reference names, as a [`Lookup`].
    pub async fn lookup<K>(&self, reference: &ObjectReference) -> Result<Lookup<K>, LoadError>
    where
        K: Readable + kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    {
        let Some((namespace, name)) = ref_key(reference) else {
            return Ok(Lookup::NotSet);
        };
        Ok(match self.get(&namespace, &name).await? {
            Some(object) => Lookup::Found(object),
            None => Lookup::NotFound,
        })
    }

    /// LISTs objects in every namespace, with an optional label selector. A kind the
    /// cluster does not serve lists as empty.
    pub async fn list<K: Readable>(&self, selector: Option<&str>) -> Result<Vec<K>, LoadError> {
        self.list_with(Api::all(self.client.clone()), selector)
            .await
    }

    /// LISTs objects in one namespace, with an optional label selector.
    pub async fn list_in<K>(
        &self,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Vec<K>, LoadError>
    where
        K: Readable + kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    {
        if !valid_namespace(namespace) {
            return Ok(Vec::new());
        }
        self.list_with(Api::namespaced(self.client.clone(), namespace), selector)
            .await
    }

    /// Reads the list in pages of [`LIST_PAGE`] and drops each item's
    /// `metadata.managedFields` as its page arrives, so a reconcile of a large plan never
    /// holds a whole list's response, nor the managed fields (often the larger half of
    /// a Pod or PVC), in memory at once. A continue token that expired between pages
    /// (410 Gone) restarts the list, a bounded number of times.
    async fn list_with<K: Readable>(
        &self,
        api: Api<K>,
        selector: Option<&str>,
    ) -> Result<Vec<K>, LoadError> {
        let mut params = ListParams::default().limit(LIST_PAGE);
        if let Some(selector) = selector {
            params = params.labels(selector);
        }
        let failed = |source| LoadError {
            what: format!("{} list", kind::<K>()),
            source,
        };
        let mut restarts = 0;
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page_params = match &next {
                Some(token) => params.clone().continue_token(token),
                None => params.clone(),
            };
            let page = match api.list(&page_params).await {
                Ok(page) => page,
                Err(error) if not_found(&error) && next.is_none() => return Ok(Vec::new()),
                Err(error) if expired(&error) && next.is_some() && restarts < LIST_RESTARTS => {
                    restarts += 1;
                    items.clear();
                    next = None;
                    continue;
                }
                Err(source) => return Err(failed(source)),
            };
            items.reserve(page.items.len());
            items.extend(page.items.into_iter().map(|mut item| {
                item.meta_mut().managed_fields = None;
                item
            }));
            match page.metadata.continue_.filter(|token| !token.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(items),
            }
        }
    }
}

/// Reads the Plan; `None` when it does not exist.
pub async fn read_plan(
    reader: &Reader,
    namespace: &str,
    name: &str,
) -> Result<Option<Plan>, LoadError> {
    reader.get::<Plan>(namespace, name).await
}

/// Whether `migration` names `plan` (upstream `Migration.Match`).
pub fn names_plan(migration: &Migration, plan: &Plan) -> bool {
    migration.spec.plan.namespace.as_deref() == plan.metadata.namespace.as_deref()
        && migration.spec.plan.name.as_deref() == plan.metadata.name.as_deref()
        && plan.metadata.name.is_some()
}

/// Whether two references name the same object.
fn same_ref(a: &ObjectReference, b: &ObjectReference) -> bool {
    ref_key(a).is_some() && ref_key(a) == ref_key(b)
}

/// Loads everything one reconcile of `plan` reads.
pub async fn load(
    reader: &Reader,
    plan: Plan,
    settings: &Settings,
    inventories: &dyn Inventories,
) -> Result<Observed, LoadError> {
    let plan_namespace = plan.metadata.namespace.clone().unwrap_or_default();
    let uid = plan.metadata.uid.clone().unwrap_or_default();
    let spec = &plan.spec;

    let source: Lookup<Provider> = reader.lookup(&spec.provider.source).await?;
    let destination: Lookup<Provider> = reader.lookup(&spec.provider.destination).await?;
    let source_secret = match source.found() {
        Some(provider) if !provider.is_host() => match ref_key(&provider.spec.secret) {
            Some((namespace, name)) => reader.get::<Secret>(&namespace, &name).await?,
            None => None,
        },
        _ => None,
    };
    let inventory = source.found().and_then(|provider| {
        provider
            .metadata
            .uid
            .as_deref()
            .and_then(|uid| inventories.inventory(uid))
    });
    let network_map: Lookup<NetworkMap> = reader.lookup(&spec.map.network).await?;
    let storage_map: Lookup<StorageMap> = reader.lookup(&spec.map.storage).await?;

    let mut hooks = BTreeMap::new();
    let hook_keys: BTreeSet<Key> = spec
        .vms
        .iter()
        .flat_map(|vm| vm.hooks.iter().filter_map(|h| ref_key(&h.hook)))
        .collect();
    for (namespace, name) in hook_keys {
        let hook = reader.get::<Hook>(&namespace, &name).await?;
        hooks.insert((namespace, name), hook);
    }

    let migrations: Vec<Migration> = reader
        .list::<Migration>(None)
        .await?
        .into_iter()
        .filter(|m| names_plan(m, &plan))
        .collect();

    let target = spec.target_namespace.clone();
    let target_valid = valid_namespace(&target);
    let target_namespace = if target_valid {
        reader.get_cluster::<Namespace>(&target).await?
    } else {
        None
    };
    let controller_namespace = if valid_namespace(&settings.pod_namespace) {
        reader
            .get_cluster::<Namespace>(&settings.pod_namespace)
            .await?
    } else {
        None
    };

    let mut nads = BTreeMap::new();
    if let Some((namespace, name)) = spec.transfer_network.as_ref().and_then(ref_key) {
        let nad = reader
            .get::<NetworkAttachmentDefinition>(&namespace, &name)
            .await?;
        nads.insert((namespace, name), nad);
    }
    let udn_nads = if target_namespace.is_some() {
        reader
            .list_in::<NetworkAttachmentDefinition>(&target, Some(labels::UDN_NAD))
            .await?
    } else {
        Vec::new()
    };

    let mut service_accounts = BTreeSet::new();
    let mut wanted: BTreeSet<Key> = BTreeSet::new();
    let plan_sa = if spec.service_account.is_empty() {
        settings.migration_service_account.clone()
    } else {
        spec.service_account.clone()
    };
    if !plan_sa.is_empty() {
        if target_valid {
            wanted.insert((target.clone(), plan_sa.clone()));
        }
        wanted.insert((plan_namespace.clone(), plan_sa));
    }
    for hook in hooks.values().flatten() {
        if !hook.spec.service_account.is_empty() {
            wanted.insert((plan_namespace.clone(), hook.spec.service_account.clone()));
        }
    }
    for (namespace, name) in wanted {
        if reader
            .get::<ServiceAccount>(&namespace, &name)
            .await?
            .is_some()
        {
            service_accounts.insert((namespace, name));
        }
    }

    let mut temp_storage_class = Lookup::NotSet;
    let mut storage_capacities = Vec::new();
    let mut storage_capacities_error = None;
    let class = spec.conversion_temp_storage_class.trim();
    if !class.is_empty() {
        temp_storage_class = match reader.get_cluster::<StorageClass>(class).await? {
            Some(found) => Lookup::Found(found),
            None => Lookup::NotFound,
        };
        match reader.list::<CSIStorageCapacity>(None).await {
            Ok(found) => storage_capacities = found,
            Err(error) => storage_capacities_error = Some(error.to_string()),
        }
    }

    // Every destination VM once: all of them for MAC conflicts and taken names, and
    // the plan's own (its label) among them, instead of a second, labelled list.
    let all_vms = reader.list::<VirtualMachine>(None).await?;
    let destination_vms = all_vms.iter().map(DestinationVmInfo::of).collect();
    let (own_vms, _): (Vec<VirtualMachine>, Vec<VirtualMachine>) =
        all_vms.into_iter().partition(|vm| {
            !uid.is_empty()
                && vm
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|found| found.get(labels::PLAN))
                    .is_some_and(|plan| *plan == uid)
        });

    let objects = if uid.is_empty() {
        Destination::default()
    } else {
        let selector = format!("{}={uid}", labels::PLAN);
        let selector = Some(selector.as_str());
        Destination {
            data_volumes: reader.list::<DataVolume>(selector).await?.into(),
            pvcs: reader.list::<PersistentVolumeClaim>(selector).await?.into(),
            pvs: reader.list::<PersistentVolume>(selector).await?.into(),
            pods: reader.list::<Pod>(selector).await?.into(),
            jobs: reader.list::<Job>(selector).await?.into(),
            vms: own_vms.into(),
            secrets: reader.list::<Secret>(selector).await?.into(),
            config_maps: reader.list::<ConfigMap>(selector).await?.into(),
            conversions: reader.list::<Conversion>(selector).await?.into(),
        }
    };

    let other_plans = reader
        .list::<Plan>(None)
        .await?
        .into_iter()
        .filter(|other| {
            other.metadata.uid != plan.metadata.uid
                && same_ref(&other.spec.provider.source, &spec.provider.source)
        })
        .collect();

    let extra = settings.virt_v2v_extra_conf_config_map.trim();
    let extra_v2v_conf = if extra.is_empty() || plan_namespace.is_empty() {
        None
    } else {
        reader.get::<ConfigMap>(&plan_namespace, extra).await?
    };
    let customization_scripts = match &spec.customization_scripts {
        Some(reference) => {
            let mut reference = reference.clone();
            if reference
                .namespace
                .as_deref()
                .unwrap_or_default()
                .is_empty()
            {
                reference.namespace = Some(plan_namespace.clone());
            }
            reader.lookup::<ConfigMap>(&reference).await?
        }
        None => Lookup::NotSet,
    };

    Ok(Observed {
        source,
        destination,
        source_secret,
        network_map,
        storage_map,
        hooks,
        migrations,
        inventory,
        target_namespace,
        controller_namespace,
        nads,
        udn_nads,
        service_accounts,
        temp_storage_class,
        storage_capacities,
        storage_capacities_error,
        destination_vms,
        objects,
        other_plans,
        extra_v2v_conf,
        customization_scripts,
        luks_secrets: BTreeMap::new(),
        results: Default::default(),
        plan,
    })
}
