//! The running inventory collectors, one per Provider UID, started, restarted and
//! stopped by the Provider controller, and the hub through which their news reaches the
//! controllers that care (the provider itself, the maps, the migrations and the plans).
//!
//! Collectors live in memory: after a restart the Provider controller starts them again
//! as it reconciles each Provider, so no finalizer is needed to clean them up. A
//! provider deleted while Ferry was down is collected by [`Collectors::retain`] after the
//! first list.
//!
//! # OVA exports and local directories
//!
//! An OVA Provider's URL names an NFS export (`server:/export/path`). Ferry reads the
//! catalog in process, so the export must be mounted where Ferry runs. [`OvaShares`]
//! maps an export to a directory:
//!
//! 1. an explicit mapping (`FERRY_OVA_SHARES=server:/export/path=/local/dir;...`), which
//!    the sandbox uses for its local "exports";
//! 2. otherwise `<FERRY_OVA_MOUNT_ROOT>/<server>/<export/path>`, e.g.
//!    `/var/lib/ferry/ova/nfs.example.com/exports/ova`: mount each export there (an NFS
//!    volume in Ferry's Deployment, or an automounter).
//!
//! A server name or path that would leave the mount root (`..`, `/` in the server) is
//! refused with a `UrlNotValid` condition. Inventory paths start with the conversion
//! pods' mount point (`FERRY_OVA_CATALOG_PATH`, `/ova` as upstream) so that disk IDs
//! match Forklift's.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ferry_api::Provider;
use ferry_inventory::ova::url::NfsShare;
use ferry_inventory::ova::{CatalogConfig, CollectorTask, OvaInventory};
use ferry_inventory::vsphere::{
    CollectorConfig, CollectorPhase, ConnectionError, ConnectionSettings, VsphereInventory,
};
use ferry_inventory::{Change, Inventory, Problem, ProviderInfo, Registry};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::settings::{CatalogPath, OvaSettings};

/// A Provider, as the hub names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProviderKey {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
}

impl ProviderKey {
    /// The key of a Provider object.
    pub fn of(provider: &Provider) -> Self {
        Self {
            namespace: provider.namespace().to_string(),
            name: provider.name().to_string(),
            uid: provider.uid().to_string(),
        }
    }

    /// Whether an object reference names this provider (namespace and name).
    pub fn is(&self, reference: &ferry_api::ObjectReference) -> bool {
        reference.namespace.as_deref() == Some(self.namespace.as_str())
            && reference.name.as_deref() == Some(self.name.as_str())
    }
}

/// News from a collector.
#[derive(Clone, Debug)]
pub enum InventoryEvent {
    /// The collector's state changed (first load, an error, recovery, new problems).
    Status(ProviderKey),
    /// A resource changed.
    Changed(ProviderKey, Change),
    /// Changes were missed: anything may have changed.
    Lagged(ProviderKey),
}

impl InventoryEvent {
    /// The provider concerned.
    pub fn provider(&self) -> &ProviderKey {
        match self {
            Self::Status(key) | Self::Changed(key, _) | Self::Lagged(key) => key,
        }
    }
}

/// A collector's state, as the Provider controller publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CollectorState {
    /// A vSphere collector: its typed state, and whether the inventory is loaded.
    Vsphere {
        /// What the collector does and what went wrong last.
        state: ferry_inventory::vsphere::CollectorState,
        /// The inventory reflects the server.
        parity: bool,
    },
    /// No vSphere collector can run: the Provider and its Secret do not make a
    /// connection (a bad URL, an unreadable CA certificate).
    Refused(ConnectionError),
    /// No collector runs for this provider.
    Stopped,
    /// The first pass has not finished.
    Loading,
    /// The source has been read.
    Loaded {
        /// What could not be read.
        problems: Vec<Problem>,
    },
    /// The last pass failed as a whole.
    Failed {
        /// Why.
        error: String,
    },
}

/// Where an OVA export is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OvaCatalog {
    /// The export.
    pub share: NfsShare,
    /// The local directory.
    pub root: PathBuf,
    /// How conversion pods see it.
    pub mount_path: String,
}

/// Why an OVA URL cannot be read locally.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Not `server:/path`.
    #[error("{0}")]
    Url(String),
    /// The export would leave the mount root.
    #[error(
        "the NFS export '{0}' cannot be mapped below Ferry's OVA mount root: the server must be a host name or address and the path must not contain '.' or '..' segments"
    )]
    Escapes(String),
}

/// Maps OVA exports to local directories (see the module documentation).
#[derive(Clone, Debug)]
pub struct OvaShares {
    settings: OvaSettings,
}

fn plain_segment(segment: &str) -> bool {
    !segment.is_empty() && segment != "." && segment != ".." && !segment.contains(['/', '\\', '\0'])
}

impl OvaShares {
    /// Shares as configured.
    pub fn new(settings: OvaSettings) -> Self {
        Self { settings }
    }

    /// The catalog of an OVA Provider URL.
    pub fn resolve(&self, url: &str) -> Result<OvaCatalog, ShareError> {
        let share = NfsShare::parse(url).map_err(|error| ShareError::Url(error.to_string()))?;
        let wanted = share.to_string();
        let trimmed = |s: &str| s.trim_end_matches('/').to_string();
        let explicit = self
            .settings
            .shares
            .iter()
            .find(|(export, _)| trimmed(export) == trimmed(&wanted))
            .map(|(_, dir)| dir.clone());
        let root = match explicit {
            Some(dir) => dir,
            None => {
                let segments: Vec<&str> = share
                    .path
                    .split('/')
                    .filter(|segment| !segment.is_empty())
                    .collect();
                if !plain_segment(&share.server)
                    || share.server.contains(':')
                    || segments.iter().any(|segment| !plain_segment(segment))
                {
                    return Err(ShareError::Escapes(wanted));
                }
                let mut dir = self.settings.mount_root.join(&share.server);
                for segment in segments {
                    dir.push(segment);
                }
                // Belt and braces: the result must stay below the root.
                if dir
                    .strip_prefix(&self.settings.mount_root)
                    .map_or(true, |rest| {
                        rest.components()
                            .any(|c| !matches!(c, Component::Normal(_)))
                    })
                {
                    return Err(ShareError::Escapes(wanted));
                }
                dir
            }
        };
        let mount_path = match &self.settings.catalog_path {
            CatalogPath::Mount(path) => path.clone(),
            CatalogPath::Local => root.to_string_lossy().into_owned(),
        };
        Ok(OvaCatalog {
            share,
            root,
            mount_path,
        })
    }

    fn config(&self, catalog: &OvaCatalog) -> CatalogConfig {
        let mut config = CatalogConfig::new(&catalog.root);
        config.mount_path.clone_from(&catalog.mount_path);
        config.settle = self.settings.settle;
        config.rescan_interval = self.settings.rescan;
        config
    }
}

/// One provider's running collector.
enum Collector {
    Ova {
        inventory: Arc<OvaInventory>,
        _task: CollectorTask,
    },
    Vsphere {
        inventory: Arc<VsphereInventory>,
        _task: ferry_inventory::vsphere::CollectorTask,
    },
}

struct Running {
    fingerprint: String,
    collector: Collector,
    forwarders: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for forwarder in &self.forwarders {
            forwarder.abort();
        }
    }
}

impl Running {
    fn ova(&self) -> Option<&Arc<OvaInventory>> {
        match &self.collector {
            Collector::Ova { inventory, .. } => Some(inventory),
            Collector::Vsphere { .. } => None,
        }
    }
}

/// Capacity of the hub; a slow listener gets [`InventoryEvent::Lagged`]-like resyncs.
const HUB_CAPACITY: usize = 4096;

/// The running collectors, the inventory registry the REST service and the plan
/// controller read, and the hub.
pub struct Collectors {
    registry: Arc<Registry>,
    shares: OvaShares,
    running: Mutex<HashMap<String, Running>>,
    hub: broadcast::Sender<InventoryEvent>,
}

impl Collectors {
    /// Collectors registering into `registry`.
    pub fn new(registry: Arc<Registry>, shares: OvaShares) -> Self {
        let (hub, _) = broadcast::channel(HUB_CAPACITY);
        Self {
            registry,
            shares,
            running: Mutex::new(HashMap::new()),
            hub,
        }
    }

    /// The registry (shared with the inventory REST service).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The OVA export mapping.
    pub fn shares(&self) -> &OvaShares {
        &self.shares
    }

    /// News from every collector, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<InventoryEvent> {
        self.hub.subscribe()
    }

    /// The inventory of a provider, by UID.
    pub fn inventory(&self, uid: &str) -> Option<Arc<dyn Inventory>> {
        self.registry.inventory(uid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes sure an OVA collector reads `catalog` for `provider`: starts one, or
    /// replaces one that reads something else. Updates the registry's view of the
    /// provider either way.
    pub fn ensure_ova(&self, provider: &Provider, catalog: &OvaCatalog) {
        let key = ProviderKey::of(provider);
        let config = self.shares.config(catalog);
        let fingerprint = format!(
            "{}|{}|{}",
            catalog.share,
            catalog.root.display(),
            catalog.mount_path
        );
        let info = ProviderInfo::from_provider(provider);
        let mut running = self.lock();
        if let Some(current) = running.get(&key.uid)
            && current.fingerprint == fingerprint
        {
            if let Ok(info) = info {
                self.registry.update_info(info);
            }
            return;
        }
        if running.remove(&key.uid).is_some() {
            tracing::info!(provider = %format!("{}/{}", key.namespace, key.name), "restarting the inventory collector: the provider's URL changed");
        }
        let ova = OvaInventory::new(config);
        let inventory: Arc<dyn Inventory> = ova.clone();
        let forwarder = tokio::spawn(forward(key.clone(), inventory, self.hub.clone()));
        let task = ova.spawn();
        match info {
            Ok(info) => self.registry.insert(info, ova.clone()),
            Err(error) => {
                tracing::warn!(%error, "cannot describe the provider for the inventory service")
            }
        }
        tracing::info!(
            provider = %format!("{}/{}", key.namespace, key.name),
            export = %catalog.share,
            directory = %catalog.root.display(),
            "inventory collector started"
        );
        running.insert(
            key.uid,
            Running {
                fingerprint,
                collector: Collector::Ova {
                    inventory: ova,
                    _task: task,
                },
                forwarders: vec![forwarder],
            },
        );
    }

    /// Makes sure a vSphere collector follows `provider` with `settings`: starts one, or
    /// replaces one whose `fingerprint` (what the settings came from: URL, Secret
    /// version, SDK endpoint) differs. Updates the registry's view of the provider
    /// either way. A collector stopped by a refused login stays stopped until the
    /// fingerprint changes: retrying a wrong password would lock the account.
    pub fn ensure_vsphere(
        &self,
        provider: &Provider,
        settings: ConnectionSettings,
        fingerprint: &str,
    ) {
        let key = ProviderKey::of(provider);
        let info = ProviderInfo::from_provider(provider);
        let mut running = self.lock();
        if let Some(current) = running.get(&key.uid)
            && current.fingerprint == fingerprint
        {
            if let Ok(info) = info {
                self.registry.update_info(info);
            }
            return;
        }
        if running.remove(&key.uid).is_some() {
            tracing::info!(provider = %format!("{}/{}", key.namespace, key.name), "restarting the inventory collector: the provider's URL, Secret or settings changed");
        }
        let inventory = VsphereInventory::new();
        let dynamic: Arc<dyn Inventory> = inventory.clone();
        let forwarders = vec![
            tokio::spawn(forward(key.clone(), dynamic, self.hub.clone())),
            tokio::spawn(forward_vsphere_state(
                key.clone(),
                inventory.state(),
                self.hub.clone(),
            )),
        ];
        let server = settings
            .connect
            .url
            .host_str()
            .unwrap_or_default()
            .to_string();
        let task = inventory.spawn(CollectorConfig::new(settings));
        match info {
            Ok(info) => self.registry.insert(info, inventory.clone()),
            Err(error) => {
                tracing::warn!(%error, "cannot describe the provider for the inventory service")
            }
        }
        tracing::info!(
            provider = %format!("{}/{}", key.namespace, key.name),
            server,
            "inventory collector started"
        );
        running.insert(
            key.uid,
            Running {
                fingerprint: fingerprint.to_string(),
                collector: Collector::Vsphere {
                    inventory,
                    _task: task,
                },
                forwarders,
            },
        );
    }

    /// The vSphere inventory of a provider, by UID (the Host controller reads hosts).
    pub fn vsphere(&self, uid: &str) -> Option<Arc<VsphereInventory>> {
        match &self.lock().get(uid)?.collector {
            Collector::Vsphere { inventory, .. } => Some(Arc::clone(inventory)),
            Collector::Ova { .. } => None,
        }
    }

    /// The state of a provider's collector.
    pub fn state(&self, uid: &str) -> CollectorState {
        let running = self.lock();
        let Some(current) = running.get(uid) else {
            return CollectorState::Stopped;
        };
        let ova = match &current.collector {
            Collector::Ova { inventory, .. } => inventory,
            Collector::Vsphere { inventory, .. } => {
                return CollectorState::Vsphere {
                    state: inventory.state().borrow().clone(),
                    parity: inventory.status().borrow().parity,
                };
            }
        };
        let status = ova.status().borrow().clone();
        if let Some(error) = status.error {
            CollectorState::Failed { error }
        } else if status.parity {
            CollectorState::Loaded {
                problems: ova.problems(),
            }
        } else {
            CollectorState::Loading
        }
    }

    /// Asks a provider's collector for a pass now (the sandbox, after copying files).
    pub fn refresh(&self, uid: &str) {
        if let Some(ova) = self.lock().get(uid).and_then(Running::ova) {
            ova.refresh();
        }
    }

    /// Stops a provider's collector and unregisters its inventory.
    pub fn stop(&self, uid: &str) -> bool {
        let stopped = self.lock().remove(uid).is_some();
        self.registry.remove(uid);
        stopped
    }

    /// Stops the collectors of providers not in `live` (UIDs).
    pub fn retain(&self, live: &HashSet<String>) {
        let gone: Vec<String> = self
            .lock()
            .keys()
            .filter(|uid| !live.contains(*uid))
            .cloned()
            .collect();
        for uid in gone {
            tracing::info!(uid, "inventory collector stopped: the provider is gone");
            self.stop(&uid);
        }
    }

    /// Stops every collector.
    pub fn stop_all(&self) {
        let uids: Vec<String> = self.lock().keys().cloned().collect();
        for uid in uids {
            self.stop(&uid);
        }
    }

    /// How many collectors run.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The local directory of a running OVA collector (tests, the sandbox).
    pub fn ova_root(&self, uid: &str) -> Option<PathBuf> {
        self.lock()
            .get(uid)
            .and_then(Running::ova)
            .map(|ova| ova.config().root.clone())
    }
}

/// What of a collector's status is news: not the pass counter, which moves every rescan.
fn news(inventory: &dyn Inventory) -> (bool, Option<String>, Vec<Problem>) {
    let status = inventory.status().borrow().clone();
    (status.parity, status.error, inventory.problems())
}

/// Relays a collector's status changes and resource changes to the hub.
async fn forward(
    key: ProviderKey,
    inventory: Arc<dyn Inventory>,
    hub: broadcast::Sender<InventoryEvent>,
) {
    let mut status = inventory.status();
    let mut changes = inventory.subscribe();
    let mut last = news(inventory.as_ref());
    // The first pass may have finished before this task subscribed.
    let _ = hub.send(InventoryEvent::Status(key.clone()));
    loop {
        tokio::select! {
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = news(inventory.as_ref());
                if now != last {
                    last = now;
                    let _ = hub.send(InventoryEvent::Status(key.clone()));
                }
            }
            change = changes.recv() => match change {
                Ok(change) => {
                    let _ = hub.send(InventoryEvent::Changed(key.clone(), change));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let _ = hub.send(InventoryEvent::Lagged(key.clone()));
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

/// What of a vSphere collector's state is news: the phase's kind (not its counters),
/// the error and the certificate's fingerprint.
fn vsphere_news(
    state: &ferry_inventory::vsphere::CollectorState,
) -> (u8, Option<ConnectionError>, Option<String>) {
    let phase = match state.phase {
        CollectorPhase::Idle => 0,
        CollectorPhase::Connecting { .. } => 1,
        CollectorPhase::Loading { .. } => 2,
        CollectorPhase::Ready => 3,
        CollectorPhase::Retrying { .. } => 4,
        CollectorPhase::Stopped => 5,
    };
    (phase, state.error.clone(), state.fingerprint.clone())
}

/// Relays a vSphere collector's typed state changes (connected, failed, stopped) to the
/// hub, so the Provider's conditions follow the connection and not only the inventory.
async fn forward_vsphere_state(
    key: ProviderKey,
    mut state: tokio::sync::watch::Receiver<ferry_inventory::vsphere::CollectorState>,
    hub: broadcast::Sender<InventoryEvent>,
) {
    let mut last = vsphere_news(&state.borrow());
    while state.changed().await.is_ok() {
        let now = vsphere_news(&state.borrow());
        if now != last {
            last = now;
            let _ = hub.send(InventoryEvent::Status(key.clone()));
        }
    }
}

/// Whether `path` exists as a directory (used to word connection failures).
pub fn is_directory(path: &Path) -> bool {
    path.is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn shares(explicit: &[(&str, &str)], catalog_path: CatalogPath) -> OvaShares {
        OvaShares::new(OvaSettings {
            mount_root: PathBuf::from("/mnt/ova"),
            shares: explicit
                .iter()
                .map(|(e, d)| (e.to_string(), PathBuf::from(d)))
                .collect(),
            catalog_path,
            settle: Duration::from_secs(30),
            rescan: Duration::from_secs(10),
        })
    }

    #[test]
    fn exports_map_below_the_mount_root() {
        let shares = shares(&[], CatalogPath::Mount("/ova".into()));
        let catalog = shares.resolve("nfs.example.com:/exports/ova").unwrap();
        assert_eq!(
            catalog.root,
            PathBuf::from("/mnt/ova/nfs.example.com/exports/ova")
        );
        assert_eq!(catalog.mount_path, "/ova");
        let catalog = shares.resolve("10.0.0.1:/a//b/").unwrap();
        assert_eq!(catalog.root, PathBuf::from("/mnt/ova/10.0.0.1/a/b"));
    }

    #[test]
    fn explicit_mappings_win() {
        let shares = shares(
            &[("nfs.example.com:/exports/ova/", "/srv/catalog")],
            CatalogPath::Local,
        );
        let catalog = shares.resolve("nfs.example.com:/exports/ova").unwrap();
        assert_eq!(catalog.root, PathBuf::from("/srv/catalog"));
        assert_eq!(
            catalog.mount_path, "/srv/catalog",
            "the sandbox reads local paths"
        );
    }

    #[test]
    fn hostile_exports_are_refused() {
        let shares = shares(&[], CatalogPath::Mount("/ova".into()));
        for url in [
            "..:/etc",
            ".:/x",
            "nfs:/exports/../../etc",
            "nfs:/./x",
            "a\\b:/x",
            "nfs:/x/\0",
        ] {
            assert!(
                matches!(shares.resolve(url), Err(ShareError::Escapes(_))),
                "{url:?}"
            );
        }
        for url in ["", "nfs", "nfs://server/x", ":/x"] {
            assert!(
                matches!(shares.resolve(url), Err(ShareError::Url(_))),
                "{url:?}"
            );
        }
    }
}
