//! The providers the inventory serves: each Provider's identity and its inventory.
//!
//! The provider controller registers a Provider when it starts collecting for it and
//! removes it when the Provider goes; the REST routes and the plan controller look
//! inventories up here by Provider UID (the `:provider` segment of every route).

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::query::Inventory;
use crate::rest::Collections;

/// The Provider fields the REST service shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInfo {
    /// `metadata.uid`: the key of every route.
    pub uid: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.resourceVersion` (the provider resource's `version`).
    pub resource_version: String,
    /// `spec.type` (`ova`, `vsphere`, ...).
    pub provider_type: String,
    /// The whole Provider object, as JSON (the provider resource's `object`).
    pub object: serde_json::Value,
}

/// A registered provider.
#[derive(Clone)]
pub struct Registered {
    /// Its identity.
    pub info: Arc<ProviderInfo>,
    /// Its inventory, with its REST collections.
    pub inventory: Arc<dyn Collections>,
}

/// The providers the inventory serves, by UID. Cheap to share (`Arc<Registry>`).
#[derive(Default)]
pub struct Registry {
    providers: RwLock<BTreeMap<String, Registered>>,
}

impl ProviderInfo {
    /// The identity of a Provider object.
    pub fn from_provider(provider: &ferry_api::Provider) -> Result<Self, serde_json::Error> {
        Ok(Self {
            uid: provider.uid().to_owned(),
            name: provider.name().to_owned(),
            namespace: provider.namespace().to_owned(),
            resource_version: provider
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default(),
            provider_type: provider.spec.r#type.clone().unwrap_or_default(),
            object: serde_json::to_value(provider)?,
        })
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) a provider's inventory.
    pub fn insert(&self, info: ProviderInfo, inventory: Arc<dyn Collections>) {
        let uid = info.uid.clone();
        let registered = Registered {
            info: Arc::new(info),
            inventory,
        };
        self.write().insert(uid, registered);
    }

    /// Updates a registered provider's identity (a new resource version or object);
    /// returns false when the UID is not registered.
    pub fn update_info(&self, info: ProviderInfo) -> bool {
        match self.write().get_mut(&info.uid) {
            Some(registered) => {
                registered.info = Arc::new(info);
                true
            }
            None => false,
        }
    }

    /// Forgets a provider; returns what was registered.
    pub fn remove(&self, uid: &str) -> Option<Registered> {
        self.write().remove(uid)
    }

    /// The provider with this UID.
    pub fn get(&self, uid: &str) -> Option<Registered> {
        self.read().get(uid).cloned()
    }

    /// The query interface of the provider with this UID, for controllers.
    pub fn inventory(&self, uid: &str) -> Option<Arc<dyn Inventory>> {
        self.get(uid)
            .map(|registered| registered.inventory as Arc<dyn Inventory>)
    }

    /// The providers of a type, by namespace then name; `namespace` filters when set.
    pub fn of_type(&self, provider_type: &str, namespace: Option<&str>) -> Vec<Registered> {
        let mut found: Vec<Registered> = self
            .read()
            .values()
            .filter(|registered| registered.info.provider_type == provider_type)
            .filter(|registered| namespace.is_none_or(|ns| registered.info.namespace == ns))
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            (&a.info.namespace, &a.info.name).cmp(&(&b.info.namespace, &b.info.name))
        });
        found
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Registered>> {
        self.providers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Registered>> {
        self.providers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
