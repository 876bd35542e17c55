//! The vSphere collector (I/O): keeps a [`Snapshot`] of a vCenter current, event-driven
//! as upstream's collector (`pkg/controller/provider/container/vsphere/collector.go`).
//!
//! # The loop
//!
//! 1. Connect and log in ([`super::connection`]), check the server kind.
//! 2. Create a property collector with one filter: upstream's traversal from the root
//!    folder and its property sets ([`ferry_vim::forklift::inventory_filter`]), plus
//!    `config.changeVersion` for VMs.
//! 3. `WaitForUpdatesEx` from version `""`: the first answers carry the whole inventory
//!    as `enter` updates, in batches of at most [`CollectorConfig::max_object_updates`]
//!    objects (vcsim caps them at 100) with `truncated` set on all but the last. They are
//!    loaded into a fresh snapshot that replaces the published one atomically when the
//!    first non-truncated answer arrives: that is parity ([`InventoryStatus::parity`]).
//!    Objects absent from it are deleted, so a reconnection leaves no ghosts and no
//!    duplicates.
//! 4. Then each answer is applied as it comes (enter, modify, leave) and published.
//!    A VM whose `config.changeVersion` changed is re-read in the same step (one
//!    `RetrievePropertiesEx` for all such VMs of an answer), because some servers
//!    (vcsim) report a reconfiguration only through that property. Nothing is ever
//!    reloaded periodically: after parity the collector sends only `WaitForUpdatesEx`
//!    and those re-reads.
//! 5. Every wait is bounded ([`CollectorConfig::wait_seconds`]): a session that died
//!    without waking the wait (vcsim) is noticed at the next call. The client renews an
//!    expired session by itself; the watch then replays the inventory (step 3 again,
//!    with parity kept meanwhile).
//! 6. When the connection or the session is lost, the status says so at once (parity
//!    false, the error), and the collector reconnects with a capped exponential backoff
//!    ([`Backoff`]). The last snapshot keeps being served to REST readers until the
//!    resync completes, as upstream's database does. A refused login, unusable settings
//!    or the wrong kind of server stop the collector instead
//!    ([`CollectorPhase::Stopped`]): retrying a wrong password locks accounts.
//!
//! Changes are broadcast ([`Change`]) once the first load is complete: created,
//! updated and deleted VMs (with their ID and name), networks and datastores; a VM is
//! also reported updated when the host it runs on changes (maintenance mode, status).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use ferry_vim::{
    ChangeOp, Client, FaultKind, MoRef, ObjectUpdate, PropertyChange, PropertyFilterSpec,
    PropertySpec, UpdateKind, UpdateWatch, WaitOptions, forklift,
};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::connection::{self, ConnectionError, ConnectionSettings};
use super::store::{Snapshot, Touched};
use crate::query::{Change, InventoryStatus};

/// The VM property the collector adds to upstream's set.
pub const CHANGE_VERSION: &str = "config.changeVersion";

/// Capacity of the change feed; a slower subscriber gets `Lagged` and re-reads.
const CHANGE_CAPACITY: usize = 4096;

/// Reconnection delays: `initial`, doubling up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

/// How the collector talks to vSphere.
#[derive(Clone, Debug)]
pub struct CollectorConfig {
    /// Where and how to connect.
    pub connection: ConnectionSettings,
    /// `maxWaitSeconds` of each `WaitForUpdatesEx` (the longest a dead session can go
    /// unnoticed).
    pub wait_seconds: u32,
    /// `maxObjectUpdates` of each `WaitForUpdatesEx`. Upstream asks for 10 000; Ferry
    /// asks for fewer so that an answer stays far below the client's response size
    /// limit (a VM's properties are several kilobytes of XML).
    pub max_object_updates: u32,
    /// Reconnection delays.
    pub backoff: Backoff,
    /// The longest a call may take beyond its wait (the client's call timeout, raised to
    /// this for the collector): the first answer of a large inventory can take minutes
    /// to compute (vcsim needs several for 10 000 VMs), and giving up would only start
    /// it over. A connection that breaks is noticed at once regardless.
    pub call_timeout: Duration,
}

impl CollectorConfig {
    /// Defaults: 10 s waits, 500 objects per answer, 1 s to 60 s backoff, 10 min calls.
    pub fn new(connection: ConnectionSettings) -> Self {
        Self {
            connection,
            wait_seconds: 10,
            max_object_updates: 500,
            backoff: Backoff::default(),
            call_timeout: Duration::from_secs(600),
        }
    }
}

/// What the collector is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CollectorPhase {
    /// Not started.
    Idle,
    /// Connecting and logging in (`attempt` counts from 1 since the last success).
    Connecting {
        /// Attempts since the collector last reached parity.
        attempt: u32,
    },
    /// Connected; reading the whole inventory (`objects` so far).
    Loading {
        /// Objects read so far in this load.
        objects: usize,
    },
    /// Following changes.
    Ready,
    /// The last attempt failed; the next is in `delay`.
    Retrying {
        /// Attempts since the collector last reached parity.
        attempt: u32,
        /// The delay before the next attempt.
        delay: Duration,
    },
    /// Stopped for good: by [`CollectorTask::shutdown`], or after an error that retrying
    /// cannot fix (`error` is set).
    Stopped,
}

/// The collector's state, for the Provider controller (typed; the neutral
/// [`InventoryStatus`] carries the same facts as text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectorState {
    /// What it is doing.
    pub phase: CollectorPhase,
    /// The last failure, until the next parity.
    pub error: Option<ConnectionError>,
    /// The served certificate's fingerprint, once connected.
    pub fingerprint: Option<String>,
    /// Connection attempts since the collector started (logins tried).
    pub connections: u64,
}

impl Default for CollectorState {
    fn default() -> Self {
        Self {
            phase: CollectorPhase::Idle,
            error: None,
            fingerprint: None,
            connections: 0,
        }
    }
}

/// The inventory of one vSphere provider: the current snapshot, the collector's status
/// and the change feed. Implements [`crate::query::Inventory`] and
/// [`crate::rest::Collections`].
pub struct VsphereInventory {
    snapshot: RwLock<Arc<Snapshot>>,
    status: watch::Sender<InventoryStatus>,
    state: watch::Sender<CollectorState>,
    changes: broadcast::Sender<Change>,
    clients: Mutex<Clients>,
}

/// The collector's clients, for [`VsphereInventory::call_stats`].
#[derive(Default)]
struct Clients {
    current: Option<Client>,
    retired: BTreeMap<String, u64>,
}

impl VsphereInventory {
    /// An inventory with nothing loaded; [`VsphereInventory::spawn`] starts collecting.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            status: watch::Sender::new(InventoryStatus::default()),
            state: watch::Sender::new(CollectorState::default()),
            changes: broadcast::Sender::new(CHANGE_CAPACITY),
            clients: Mutex::new(Clients::default()),
        })
    }

    /// The current snapshot (the last complete one while a resync is under way).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The collector's typed state.
    pub fn state(&self) -> watch::Receiver<CollectorState> {
        self.state.subscribe()
    }

    pub(crate) fn status_receiver(&self) -> watch::Receiver<InventoryStatus> {
        self.status.subscribe()
    }

    pub(crate) fn change_receiver(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// SOAP calls the collector has sent, by method, over all its connections.
    pub fn call_stats(&self) -> BTreeMap<String, u64> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stats = clients.retired.clone();
        if let Some(client) = &clients.current {
            for (method, count) in client.call_stats() {
                *stats.entry(method).or_default() += count;
            }
        }
        stats
    }

    /// Installs a complete snapshot as if it had been collected (replaying a recorded
    /// inventory, tests): it replaces the current one (deleted objects reported), every
    /// VM is validated, and the status reaches parity.
    pub fn install(&self, snapshot: Snapshot) {
        let mut current = Snapshot::clone(&self.snapshot());
        let changes = current.replace_with(snapshot);
        self.publish(&current);
        self.reach_parity();
        self.broadcast(changes);
    }

    /// Starts collecting. The collector runs until [`CollectorTask::shutdown`] or until
    /// the task handle is dropped.
    pub fn spawn(self: &Arc<Self>, config: CollectorConfig) -> CollectorTask {
        let (stop, stopped) = watch::channel(false);
        let inventory = Arc::clone(self);
        let handle = tokio::spawn(async move { inventory.run(config, stopped).await });
        CollectorTask {
            handle: Some(handle),
            stop,
        }
    }

    fn set_client(&self, client: Option<Client>) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = clients.current.take() {
            for (method, count) in old.call_stats() {
                *clients.retired.entry(method).or_default() += count;
            }
        }
        clients.current = client;
    }

    fn publish(&self, snapshot: &Snapshot) {
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot.clone());
    }

    fn broadcast(&self, changes: Vec<Change>) {
        for change in changes {
            // No subscriber is not an error.
            let _ = self.changes.send(change);
        }
    }

    fn set_phase(&self, phase: CollectorPhase) {
        self.state.send_modify(|state| state.phase = phase);
    }

    async fn run(self: Arc<Self>, config: CollectorConfig, mut stop: watch::Receiver<bool>) {
        let mut attempt: u32 = 0;
        let mut delay = config.backoff.initial;
        loop {
            attempt = attempt.saturating_add(1);
            self.state.send_modify(|state| {
                state.phase = CollectorPhase::Connecting { attempt };
                state.connections += 1;
            });
            let outcome = tokio::select! {
                outcome = self.session(&config, &mut attempt) => outcome,
                _ = stop.wait_for(|stop| *stop) => Ok(()),
            };
            let stopped = *stop.borrow();
            if let Some(client) = self.take_client()
                && stopped
            {
                // Best effort: do not leave the session to expire on the server.
                let _ = tokio::time::timeout(Duration::from_secs(5), client.logout()).await;
            }
            let error = outcome.err();
            if stopped {
                self.set_phase(CollectorPhase::Stopped);
                return;
            }
            let Some(error) = error else { continue };
            self.lose_parity(&error);
            if attempt == 0 {
                // The session had reached parity: start the backoff over.
                delay = config.backoff.initial;
            }
            if matches!(
                error,
                ConnectionError::Auth { .. }
                    | ConnectionError::Settings { .. }
                    | ConnectionError::ServerType { .. }
            ) {
                tracing::error!(%error, "vSphere collector stopped; fix the Provider or its Secret");
                self.set_phase(CollectorPhase::Stopped);
                return;
            }
            tracing::warn!(%error, retry_in = ?delay, "vSphere collector lost its connection");
            self.set_phase(CollectorPhase::Retrying {
                attempt: attempt.max(1),
                delay,
            });
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stop.wait_for(|stop| *stop) => {
                    self.set_phase(CollectorPhase::Stopped);
                    return;
                }
            }
            delay = (delay * 2).min(config.backoff.max);
        }
    }

    fn take_client(&self) -> Option<Client> {
        let client = self
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current
            .clone();
        self.set_client(None);
        client
    }

    fn lose_parity(&self, error: &ConnectionError) {
        self.status.send_modify(|status| {
            status.parity = false;
            status.error = Some(error.to_string());
        });
        self.state
            .send_modify(|state| state.error = Some(error.clone()));
    }

    /// One connection: load, then follow. Returns only with an error (or never).
    /// Sets `attempt` to 0 once parity is reached.
    async fn session(
        &self,
        config: &CollectorConfig,
        attempt: &mut u32,
    ) -> Result<(), ConnectionError> {
        let mut settings = config.connection.clone();
        let timeouts = &mut settings.connect.timeouts;
        timeouts.call = timeouts.call.max(config.call_timeout);
        let (client, tested) = connection::connect(&settings).await?;
        self.set_client(Some(client.clone()));
        self.state
            .send_modify(|state| state.fingerprint = tested.fingerprint.clone());
        let api_version = client.about().api_version.clone();
        let spec = filter_spec(&client, &api_version);
        let vm_paths = vm_paths(&api_version);
        let options = WaitOptions {
            max_wait_seconds: Some(config.wait_seconds),
            max_object_updates: Some(config.max_object_updates),
        };
        let mut watch = UpdateWatch::new(client.clone(), spec, options);
        let mut working: Snapshot = Snapshot::clone(&self.snapshot());
        let mut staging: Option<Snapshot> = None;
        let mut loaded_objects = 0usize;
        loop {
            let Some(batch) = watch.next().await.map_err(ConnectionError::from_vim)? else {
                continue;
            };
            if batch.resync {
                staging = Some(Snapshot::new(tested.about.clone()));
                loaded_objects = 0;
                self.set_phase(CollectorPhase::Loading { objects: 0 });
            }
            let updates: Vec<&ObjectUpdate> = batch.update.object_updates().collect();
            if let Some(stage) = staging.as_mut() {
                let mut touched = Touched::default();
                for update in &updates {
                    stage.apply(update, &mut touched);
                }
                log_unknown(&touched);
                loaded_objects += updates.len();
                if batch.update.truncated {
                    self.set_phase(CollectorPhase::Loading {
                        objects: loaded_objects,
                    });
                    continue;
                }
                let Some(complete) = staging.take() else {
                    continue;
                };
                let first_load =
                    !self.status.borrow().parity && self.status.borrow().generation == 0;
                let changes = working.replace_with(complete);
                self.publish(&working);
                self.reach_parity();
                *attempt = 0;
                if !first_load {
                    self.broadcast(changes);
                }
                tracing::info!(
                    vms = working.vms.len(),
                    hosts = working.hosts.len(),
                    "vSphere inventory loaded"
                );
                continue;
            }
            let mut touched = Touched::default();
            for update in &updates {
                working.apply(update, &mut touched);
            }
            if !touched.reread.is_empty() {
                self.reread(&client, &vm_paths, &mut working, &mut touched)
                    .await?;
            }
            log_unknown(&touched);
            if touched.is_empty() {
                self.status.send_modify(|status| status.generation += 1);
                continue;
            }
            let changes = working.finish(touched);
            self.publish(&working);
            self.status.send_modify(|status| status.generation += 1);
            self.broadcast(changes);
        }
    }

    fn reach_parity(&self) {
        self.status.send_modify(|status| {
            status.parity = true;
            status.generation += 1;
            status.error = None;
        });
        self.state.send_modify(|state| {
            state.phase = CollectorPhase::Ready;
            state.error = None;
        });
    }

    /// Re-reads the VMs whose configuration changed and applies what they hold now.
    async fn reread(
        &self,
        client: &Client,
        paths: &[&str],
        working: &mut Snapshot,
        touched: &mut Touched,
    ) -> Result<(), ConnectionError> {
        let vms: Vec<MoRef> = std::mem::take(&mut touched.reread)
            .into_iter()
            .map(|id| MoRef::new("VirtualMachine", id))
            .collect();
        let spec = PropertyFilterSpec {
            report_missing_objects: true,
            ..PropertyFilterSpec::for_objects(
                &vms,
                vec![PropertySpec::new("VirtualMachine", paths)],
            )
        };
        let objects = match client.retrieve_all(&spec, 100).await {
            Ok(objects) => objects,
            // A VM deleted meanwhile: its `leave` follows.
            Err(error) if error.fault_kind() == Some(FaultKind::ManagedObjectNotFound) => {
                return Ok(());
            }
            Err(error) => return Err(ConnectionError::from_vim(error)),
        };
        for object in objects {
            let changes = paths
                .iter()
                .map(|path| PropertyChange {
                    name: (*path).to_owned(),
                    op: ChangeOp::Assign,
                    value: object.get(path).cloned(),
                })
                .collect();
            let update = ObjectUpdate {
                kind: UpdateKind::Modify,
                obj: object.obj,
                changes,
                missing: Vec::new(),
            };
            working.apply(&update, touched);
        }
        // A re-read that changes the version again is applied; no second round.
        touched.reread.clear();
        Ok(())
    }
}

fn log_unknown(touched: &Touched) {
    for (kind, count) in &touched.unknown {
        tracing::debug!(
            kind,
            count,
            "vSphere collector: objects of an unmodelled type"
        );
    }
}

/// Upstream's VM property set for a server of `api_version`, plus
/// [`CHANGE_VERSION`].
pub fn vm_paths(api_version: &str) -> Vec<&'static str> {
    let mut paths = forklift::vm_paths(api_version);
    paths.push(CHANGE_VERSION);
    paths
}

/// Upstream's filter with [`CHANGE_VERSION`] added to the VM properties.
fn filter_spec(client: &Client, api_version: &str) -> PropertyFilterSpec {
    let mut spec = forklift::inventory_filter(&client.content().root_folder, api_version);
    for prop in &mut spec.prop_set {
        if prop.kind == "VirtualMachine" && !prop.paths.iter().any(|p| p == CHANGE_VERSION) {
            prop.paths.push(CHANGE_VERSION.to_owned());
        }
    }
    spec
}

/// The running collector. Dropping it aborts the collector at once;
/// [`CollectorTask::shutdown`] stops it cleanly (logging out).
#[derive(Debug)]
pub struct CollectorTask {
    handle: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl CollectorTask {
    /// Stops the collector, logs its session out, and waits (at most 10 s) for it to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(handle) = self.handle.take() {
            let abort = handle.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for CollectorTask {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}
