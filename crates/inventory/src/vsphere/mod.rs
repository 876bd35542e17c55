//! The vSphere provider's inventory: a live model of a vCenter (or ESXi host), kept
//! current from its change feed, presented as Forklift presents it.
//!
//! - [`connection`] (I/O): the Provider's connection settings, the connection test, the
//!   certificate fingerprint, typed outcomes and their Provider conditions;
//! - [`collector`] (I/O): the event-driven collector (one load, then
//!   `WaitForUpdatesEx`), reconnection, status and change feed;
//! - [`mapping`] (pure): property values to model fields, as upstream's adapters;
//! - [`store`] (pure): the snapshot, how updates change it, paths, derived data;
//! - [`concerns`] (pure): upstream's vSphere policies, evaluated in process;
//! - [`model`]: the typed model the plan adapter reads;
//! - [`web`] (pure): the REST collections in upstream's JSON shapes, and the trees;
//! - [`ids`]: datastore ID sanitization, name unescaping, list order.
//!
//! # For the plan adapter
//!
//! [`crate::Inventory::vm`] gives [`crate::SourceVm::Vsphere`]: a [`Workload`], the VM
//! with the snapshot it was read from, so the host, cluster, datacenter, networks and
//! datastores it refers to are read consistently (see [`Workload`]'s methods).
//!
//! # Lookups
//!
//! As upstream's client: by ID any object (templates included); by name the last `/`
//! segment is compared, the VMs considered are those the `vms` list shows (no templates,
//! no VMs without UUID, instance UUID and host), and a name with a `/` that matches
//! several objects is narrowed by path (VMs: path suffix; networks and datastores:
//! datacenter). A name that itself contains `/` (vSphere escapes it as `%2f`) cannot be
//! found by name, as upstream. While the collector has no parity, lookups answer
//! [`FindError::NotReady`] (upstream's `ProviderNotReady`).

pub mod collector;
pub mod concerns;
pub mod connection;
pub mod ids;
pub mod mapping;
pub mod model;
pub mod store;
pub mod web;

pub use collector::{
    Backoff, CollectorConfig, CollectorPhase, CollectorState, CollectorTask, VsphereInventory,
};
pub use connection::{
    ConnectionError, ConnectionSettings, Retry, SdkEndpoint, Tested, inventory_condition,
    test_connection,
};
pub use store::Snapshot;

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use crate::query::{
    Change, FindError, Found, Inventory, InventoryStatus, Kind, Problem, Ref, SourceVm,
    last_segment, resolve,
};
use model::{Base, Cluster, Datacenter, Datastore, Disk, Host, Network, Nic, Vm, kind};

/// The Provider `spec.type` of vSphere providers.
pub const PROVIDER_TYPE: &str = "vsphere";

/// A VM with the inventory it was read from: what upstream's `Workload` joins (the VM,
/// its host, the host's cluster), and whatever else the plan adapter needs to resolve.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The VM.
    pub vm: Arc<Vm>,
    /// The inventory at the instant the VM was read.
    pub snapshot: Arc<Snapshot>,
}

impl Workload {
    /// The host the VM runs on.
    pub fn host(&self) -> Option<&Arc<Host>> {
        self.snapshot.host(&self.vm.host)
    }

    /// The host's cluster (or standalone compute resource).
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.snapshot.cluster(&self.host()?.cluster)
    }

    /// The datacenter the VM is in (walking up its parents).
    pub fn datacenter(&self) -> Option<&Arc<Datacenter>> {
        datacenter_of(&self.snapshot, &self.vm.base)
    }

    /// The network a NIC is attached to: by ID, or for a distributed port group or an
    /// opaque network by its `key` (a NIC names those by key).
    pub fn network_of(&self, nic: &Nic) -> Option<&Arc<Network>> {
        self.snapshot.network(&nic.network.id).or_else(|| {
            self.snapshot
                .networks
                .values()
                .find(|n| !n.key.is_empty() && n.key == nic.network.id)
        })
    }

    /// The datastore a disk is on.
    pub fn datastore_of(&self, disk: &Disk) -> Option<&Arc<Datastore>> {
        self.snapshot.datastore(&disk.datastore.id)
    }

    /// The VM's inventory path (`/DC0/vm/folder/name`).
    pub fn path(&self) -> String {
        self.snapshot.path(&self.vm.base)
    }
}

/// The datacenter above an object, following parents (bounded).
pub fn datacenter_of<'a>(snapshot: &'a Snapshot, base: &Base) -> Option<&'a Arc<Datacenter>> {
    let mut parent = base.parent.clone();
    for _ in 0..64 {
        if parent.kind == kind::DATACENTER {
            return snapshot.datacenter(&parent.id);
        }
        parent = match parent.kind.as_str() {
            kind::FOLDER => snapshot.folder(&parent.id).map(|f| f.base.parent.clone()),
            kind::CLUSTER => snapshot.cluster(&parent.id).map(|c| c.base.parent.clone()),
            kind::HOST => snapshot.host(&parent.id).map(|h| h.base.parent.clone()),
            _ => None,
        }?;
    }
    None
}

/// Upstream's `PathMatch`: the name's `/` segments are a suffix of the path's.
pub fn path_match(path: &str, name: &str) -> bool {
    let path: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let name: Vec<&str> = name.trim_start_matches('/').split('/').collect();
    name.len() <= path.len() && path[path.len() - name.len()..] == name[..]
}

/// Upstream's `PathMatchRoot`: the first segments (the datacenter) are equal.
pub fn path_match_root(path: &str, name: &str) -> bool {
    let first = |s: &str| {
        s.trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    first(path) == first(name)
}

/// The objects a `name` query selects, as upstream's list handlers do: equal last
/// segment, then (for a name with `/` matching several) the path filter.
pub(crate) fn named<'a, T: store::HasBase + 'a>(
    snapshot: &Snapshot,
    candidates: impl Iterator<Item = &'a Arc<T>>,
    name: &str,
    by_path: fn(&str, &str) -> bool,
) -> Vec<&'a Arc<T>> {
    let wanted = last_segment(name);
    let hits: Vec<&Arc<T>> = candidates.filter(|o| o.base().name == wanted).collect();
    if hits.len() < 2 || !name.contains('/') {
        return hits;
    }
    hits.into_iter()
        .filter(|o| by_path(&snapshot.path(o.base()), name))
        .collect()
}

impl VsphereInventory {
    fn loaded(&self) -> Result<Arc<Snapshot>, FindError> {
        if self.status_receiver().borrow().parity {
            Ok(self.snapshot())
        } else {
            Err(FindError::NotReady)
        }
    }
}

fn found<T: store::HasBase>(kind: Kind, object: &T) -> Found {
    Found {
        kind,
        id: object.base().id.clone(),
        name: object.base().name.clone(),
    }
}

fn find_in<T: store::HasBase>(
    snapshot: &Snapshot,
    kind: Kind,
    reference: &Ref,
    all: &[&Arc<T>],
    by_id: impl Fn(&str) -> Option<usize>,
    by_path: fn(&str, &str) -> bool,
) -> Result<usize, FindError> {
    resolve(kind, reference, by_id, |name| {
        let hits = named(snapshot, all.iter().copied(), name, by_path);
        hits.iter()
            .filter_map(|hit| all.iter().position(|o| Arc::ptr_eq(o, hit)))
            .collect::<Vec<_>>()
    })
}

impl Inventory for VsphereInventory {
    fn provider_type(&self) -> &'static str {
        PROVIDER_TYPE
    }

    fn status(&self) -> watch::Receiver<InventoryStatus> {
        self.status_receiver()
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.change_receiver()
    }

    fn find(&self, kind: Kind, reference: &Ref) -> Result<Found, FindError> {
        let snapshot = self.loaded()?;
        match kind {
            Kind::Vm => find_vm(&snapshot, reference).map(|vm| found(kind, vm.as_ref())),
            Kind::Network => {
                let all: Vec<&Arc<Network>> = snapshot.networks.values().collect();
                let index = find_in(
                    &snapshot,
                    kind,
                    reference,
                    &all,
                    |id| all.iter().position(|n| n.base.id == id),
                    path_match_root,
                )?;
                Ok(found(kind, all[index].as_ref()))
            }
            Kind::Storage => {
                let all: Vec<&Arc<Datastore>> = snapshot.datastores.values().collect();
                let index = find_in(
                    &snapshot,
                    kind,
                    reference,
                    &all,
                    |id| all.iter().position(|d| d.base.id == id),
                    path_match_root,
                )?;
                Ok(found(kind, all[index].as_ref()))
            }
            _ => Err(FindError::Unsupported { kind }),
        }
    }

    fn list(&self, kind: Kind) -> Result<Vec<Found>, FindError> {
        let snapshot = self.loaded()?;
        Ok(match kind {
            Kind::Vm => snapshot
                .vms
                .values()
                .filter(|vm| vm.is_listed())
                .map(|vm| found(kind, vm.as_ref()))
                .collect(),
            Kind::Network => snapshot
                .networks
                .values()
                .map(|n| found(kind, n.as_ref()))
                .collect(),
            Kind::Storage => snapshot
                .datastores
                .values()
                .map(|d| found(kind, d.as_ref()))
                .collect(),
            _ => return Err(FindError::Unsupported { kind }),
        })
    }

    fn vm(&self, reference: &Ref) -> Result<SourceVm, FindError> {
        let snapshot = self.loaded()?;
        let vm = Arc::clone(find_vm(&snapshot, reference)?);
        Ok(SourceVm::Vsphere(Workload { vm, snapshot }))
    }

    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}

/// A VM by ID (any VM), or by name among the listed VMs.
fn find_vm<'a>(snapshot: &'a Snapshot, reference: &Ref) -> Result<&'a Arc<Vm>, FindError> {
    if !reference.id.is_empty() {
        return snapshot
            .vm(&reference.id)
            .ok_or_else(|| FindError::NotFound {
                kind: Kind::Vm,
                reference: reference.clone(),
            });
    }
    let listed: Vec<&Arc<Vm>> = snapshot.vms.values().filter(|vm| vm.is_listed()).collect();
    let index = find_in(snapshot, Kind::Vm, reference, &listed, |_| None, path_match)?;
    Ok(listed[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_matching_as_upstream() {
        assert!(path_match("/DC0/vm/F0/web", "F0/web"));
        assert!(path_match("/DC0/vm/F0/web", "/DC0/vm/F0/web"));
        assert!(!path_match("/DC0/vm/F1/web", "F0/web"));
        assert!(!path_match("/web", "a/b/web"));
        assert!(path_match_root("/DC0/network/VM Network", "DC0/VM Network"));
        assert!(!path_match_root(
            "/DC1/network/VM Network",
            "DC0/VM Network"
        ));
    }
}
