//! The inventory at one instant and how updates change it (pure).
//!
//! A [`Snapshot`] holds every collected object by ID, each behind an `Arc`, in
//! per-type maps that are themselves shared: publishing a snapshot is a handful of
//! reference-count increments, and the next update copies only the maps it touches.
//!
//! [`Snapshot::apply`] applies one object update (enter, modify, leave) as upstream's
//! collector does; [`Snapshot::finish`] then derives what upstream's validation adds
//! (the file-count-based `shared` flag of disks, the concerns) for what the updates
//! touched, bumps revisions, and reports the [`Change`]s. [`Snapshot::replace_with`]
//! installs a complete resync (after a reconnection): objects absent from it are
//! deleted, unchanged ones keep their revision.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use ferry_vim::{ChangeOp, ObjectUpdate, UpdateKind};

use super::concerns::concerns;
use super::ids::{IdKey, sanitize_datastore_id};
use super::mapping::{self, Assign, vim_type};
use super::model::{
    About, Base, Cluster, Datacenter, Datastore, Folder, Host, Network, Vm, kind, variant,
};
use crate::query::{Action, Change, Kind};

/// Objects of one type by ID, in [`IdKey`] order.
pub type Objects<T> = Arc<BTreeMap<IdKey, Arc<T>>>;

/// The collected inventory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// What the server is.
    pub about: About,
    /// Folders.
    pub folders: Objects<Folder>,
    /// Datacenters.
    pub datacenters: Objects<Datacenter>,
    /// Clusters and standalone compute resources.
    pub clusters: Objects<Cluster>,
    /// Hosts.
    pub hosts: Objects<Host>,
    /// Networks of every variant.
    pub networks: Objects<Network>,
    /// Datastores (by sanitized ID).
    pub datastores: Objects<Datastore>,
    /// VMs, templates included.
    pub vms: Objects<Vm>,
}

/// The common part of every model type.
pub trait HasBase: Clone + PartialEq {
    /// The base fields.
    fn base(&self) -> &Base;
    /// The base fields, mutably.
    fn base_mut(&mut self) -> &mut Base;
}

macro_rules! has_base {
    ($($t:ty),*) => {$(
        impl HasBase for $t {
            fn base(&self) -> &Base {
                &self.base
            }
            fn base_mut(&mut self) -> &mut Base {
                &mut self.base
            }
        }
    )*};
}
has_base!(Folder, Datacenter, Cluster, Host, Network, Datastore, Vm);

/// Whether two objects have the same content, revisions aside.
fn same_content<T: HasBase>(a: &T, b: &T) -> bool {
    if a.base().revision == b.base().revision {
        return a == b;
    }
    let mut b = b.clone();
    b.base_mut().revision = a.base().revision;
    *a == b
}

/// What the updates of one batch touched, for [`Snapshot::finish`].
#[derive(Debug, Default)]
pub struct Touched {
    vms: BTreeMap<String, Action>,
    deleted_vms: BTreeMap<String, String>,
    /// VMs whose configuration changed (`config.changeVersion`): they need a re-read
    /// on servers that do not report the changed properties themselves (vcsim).
    pub reread: BTreeSet<String>,
    networks: BTreeMap<String, (Action, String)>,
    datastores: BTreeMap<String, (Action, String)>,
    hosts: BTreeSet<String>,
    clusters: BTreeSet<String>,
    /// Objects of types the model does not keep, by type (logged once per batch).
    pub unknown: BTreeMap<String, usize>,
}

impl Touched {
    /// Whether nothing was touched.
    pub fn is_empty(&self) -> bool {
        self.vms.is_empty()
            && self.deleted_vms.is_empty()
            && self.networks.is_empty()
            && self.datastores.is_empty()
            && self.hosts.is_empty()
            && self.clusters.is_empty()
    }
}

fn assignments(update: &ObjectUpdate) -> Vec<Assign<'_>> {
    update
        .changes
        .iter()
        .filter(|c| c.op == ChangeOp::Assign)
        .map(|c| Assign {
            path: &c.name,
            value: c.value.as_ref(),
        })
        .collect()
}

fn merge_action(previous: Option<Action>, next: Action) -> Action {
    match (previous, next) {
        (Some(Action::Created), Action::Updated) => Action::Created,
        (Some(Action::Deleted), Action::Created) => Action::Updated,
        (_, next) => next,
    }
}

/// Enter or modify one object of a map: apply the assignments to a copy (a fresh
/// object on enter), bump the revision if the content changed. Returns the action
/// and the name, or `None` when nothing changed.
fn upsert<T: HasBase + Default>(
    map: &mut Objects<T>,
    id: &str,
    kind: UpdateKind,
    variant: &str,
    apply: impl FnOnce(&mut T),
) -> Option<(Action, String)> {
    let key = IdKey::new(id);
    let previous = map.get(&key).cloned();
    let mut object = match (&previous, kind) {
        (Some(previous), UpdateKind::Modify) => T::clone(previous),
        _ => {
            let mut fresh = T::default();
            fresh.base_mut().id = id.to_owned();
            fresh.base_mut().variant = variant.to_owned();
            fresh
        }
    };
    apply(&mut object);
    let action = match &previous {
        Some(previous) => {
            object.base_mut().revision = previous.base().revision;
            if same_content(previous.as_ref(), &object) {
                return None;
            }
            object.base_mut().revision = previous.base().revision + 1;
            Action::Updated
        }
        None => {
            object.base_mut().revision = 1;
            Action::Created
        }
    };
    let name = object.base().name.clone();
    Arc::make_mut(map).insert(key, Arc::new(object));
    Some((action, name))
}

fn remove<T>(map: &mut Objects<T>, id: &str) -> Option<Arc<T>> {
    let key = IdKey::new(id);
    if map.contains_key(&key) {
        Arc::make_mut(map).remove(&key)
    } else {
        None
    }
}

impl Snapshot {
    /// An empty inventory of a server.
    pub fn new(about: About) -> Self {
        Self {
            about,
            ..Self::default()
        }
    }

    /// Applies one object update, recording what it touched.
    pub fn apply(&mut self, update: &ObjectUpdate, touched: &mut Touched) {
        let obj = &update.obj;
        let id = obj.value.as_str();
        if update.kind == UpdateKind::Leave {
            self.leave(&obj.kind, id, touched);
            return;
        }
        let changes = assignments(update);
        let kind = update.kind;
        match obj.kind.as_str() {
            vim_type::FOLDER => {
                upsert(&mut self.folders, id, kind, "", |f| {
                    mapping::apply_folder(f, &changes);
                });
            }
            vim_type::DATACENTER => {
                upsert(&mut self.datacenters, id, kind, "", |d| {
                    mapping::apply_datacenter(d, &changes);
                });
            }
            vim_type::COMPUTE_RESOURCE | vim_type::CLUSTER => {
                let variant = if obj.kind == vim_type::COMPUTE_RESOURCE {
                    variant::COMPUTE_RESOURCE
                } else {
                    ""
                };
                if upsert(&mut self.clusters, id, kind, variant, |c| {
                    mapping::apply_cluster(c, &changes);
                })
                .is_some()
                {
                    touched.clusters.insert(id.to_owned());
                }
            }
            vim_type::HOST => {
                if upsert(&mut self.hosts, id, kind, "", |h| {
                    mapping::apply_host(h, &changes);
                })
                .is_some()
                {
                    touched.hosts.insert(id.to_owned());
                }
            }
            vim_type::NETWORK
            | vim_type::OPAQUE_NETWORK
            | vim_type::DV_PORT_GROUP
            | vim_type::DV_SWITCH => {
                let (variant, is_switch) = match obj.kind.as_str() {
                    vim_type::NETWORK => (variant::STANDARD, false),
                    vim_type::OPAQUE_NETWORK => (variant::OPAQUE_NETWORK, false),
                    vim_type::DV_PORT_GROUP => (variant::DV_PORT_GROUP, false),
                    _ => (variant::DV_SWITCH, true),
                };
                let changed = upsert(&mut self.networks, id, kind, variant, |n| {
                    if is_switch {
                        mapping::apply_dv_switch(n, &changes);
                    } else {
                        mapping::apply_network(n, &changes);
                    }
                });
                if let Some((action, name)) = changed {
                    let previous = touched.networks.get(id).map(|(a, _)| *a);
                    touched
                        .networks
                        .insert(id.to_owned(), (merge_action(previous, action), name));
                }
            }
            vim_type::DATASTORE => {
                let (id, _) = sanitize_datastore_id(id);
                let changed = upsert(&mut self.datastores, &id, kind, "", |d| {
                    mapping::apply_datastore(d, &changes);
                });
                if let Some((action, name)) = changed {
                    let previous = touched.datastores.get(&id).map(|(a, _)| *a);
                    touched
                        .datastores
                        .insert(id, (merge_action(previous, action), name));
                }
            }
            vim_type::VM => {
                let previous_version = self
                    .vms
                    .get(&IdKey::new(id))
                    .map(|vm| vm.change_version.clone());
                let changed = upsert(&mut self.vms, id, kind, "", |vm| {
                    mapping::apply_vm(vm, &changes);
                });
                if let (UpdateKind::Modify, Some(previous)) = (kind, previous_version) {
                    let reported = changes.iter().any(|c| c.path == "config.changeVersion");
                    let now = self
                        .vms
                        .get(&IdKey::new(id))
                        .map(|vm| vm.change_version.clone());
                    if reported && now.as_ref() != Some(&previous) {
                        touched.reread.insert(id.to_owned());
                    }
                }
                if let Some((action, _)) = changed {
                    let previous = touched.vms.get(id).copied();
                    touched
                        .vms
                        .insert(id.to_owned(), merge_action(previous, action));
                }
            }
            other => *touched.unknown.entry(other.to_owned()).or_default() += 1,
        }
    }

    fn leave(&mut self, vim_kind: &str, id: &str, touched: &mut Touched) {
        match vim_kind {
            vim_type::FOLDER => {
                remove(&mut self.folders, id);
            }
            vim_type::DATACENTER => {
                remove(&mut self.datacenters, id);
            }
            vim_type::COMPUTE_RESOURCE | vim_type::CLUSTER => {
                if remove(&mut self.clusters, id).is_some() {
                    touched.clusters.insert(id.to_owned());
                }
            }
            vim_type::HOST => {
                if remove(&mut self.hosts, id).is_some() {
                    touched.hosts.insert(id.to_owned());
                }
            }
            vim_type::NETWORK
            | vim_type::OPAQUE_NETWORK
            | vim_type::DV_PORT_GROUP
            | vim_type::DV_SWITCH => {
                if let Some(network) = remove(&mut self.networks, id) {
                    touched
                        .networks
                        .insert(id.to_owned(), (Action::Deleted, network.base.name.clone()));
                }
            }
            vim_type::DATASTORE => {
                let (id, _) = sanitize_datastore_id(id);
                if let Some(datastore) = remove(&mut self.datastores, &id) {
                    touched
                        .datastores
                        .insert(id, (Action::Deleted, datastore.base.name.clone()));
                }
            }
            vim_type::VM => {
                if let Some(vm) = remove(&mut self.vms, id) {
                    touched.vms.remove(id);
                    touched.reread.remove(id);
                    touched
                        .deleted_vms
                        .insert(id.to_owned(), vm.base.name.clone());
                }
            }
            other => *touched.unknown.entry(other.to_owned()).or_default() += 1,
        }
    }

    /// Derives what the batch's updates imply and reports the changes: the disks'
    /// `shared` flags (a file attached to more than one VM, as upstream's validation
    /// recomputes it), the concerns of the VMs touched (or on a touched host or
    /// cluster), and VM changes for VMs on a host whose state changed.
    pub fn finish(&mut self, touched: Touched) -> Vec<Change> {
        let mut vm_actions = touched.vms;
        // Shared flags: only a change of some VM's disks can change them.
        if !vm_actions.is_empty() || !touched.deleted_vms.is_empty() {
            for id in self.update_shared_flags() {
                let previous = vm_actions.get(&id).copied();
                vm_actions.insert(id, merge_action(previous, Action::Updated));
            }
        }
        // VMs affected by a host or cluster change.
        let mut dependent: BTreeSet<String> = BTreeSet::new();
        if !touched.hosts.is_empty() || !touched.clusters.is_empty() {
            let hosts_of_clusters: BTreeSet<&str> = self
                .hosts
                .values()
                .filter(|h| touched.clusters.contains(&h.cluster))
                .map(|h| h.base.id.as_str())
                .collect();
            for vm in self.vms.values() {
                let host = vm.host.as_str();
                if touched.hosts.contains(host) || hosts_of_clusters.contains(host) {
                    dependent.insert(vm.base.id.clone());
                }
            }
        }
        let mut to_validate: BTreeSet<String> = vm_actions.keys().cloned().collect();
        to_validate.extend(dependent.iter().cloned());
        self.validate(to_validate.iter().map(String::as_str));
        for id in dependent {
            vm_actions.entry(id).or_insert(Action::Updated);
        }

        let mut changes = Vec::new();
        for (id, action) in vm_actions {
            if let Some(vm) = self.vms.get(&IdKey::new(id.as_str())) {
                changes.push(change(Kind::Vm, action, &id, &vm.base.name));
            }
        }
        for (id, name) in touched.deleted_vms {
            changes.push(change(Kind::Vm, Action::Deleted, &id, &name));
        }
        for (id, (action, name)) in touched.networks {
            changes.push(change(Kind::Network, action, &id, &name));
        }
        for (id, (action, name)) in touched.datastores {
            changes.push(change(Kind::Storage, action, &id, &name));
        }
        changes
    }

    /// Recomputes every VM's concerns (after a resync).
    pub fn validate_all(&mut self) {
        let _ = self.update_shared_flags();
        let ids: Vec<String> = self.vms.values().map(|vm| vm.base.id.clone()).collect();
        self.validate(ids.iter().map(String::as_str));
    }

    fn validate<'a>(&mut self, ids: impl Iterator<Item = &'a str>) {
        let mut updated = Vec::new();
        for id in ids {
            let Some(vm) = self.vms.get(&IdKey::new(id)) else {
                continue;
            };
            let cluster = self
                .hosts
                .get(&IdKey::new(vm.host.as_str()))
                .and_then(|host| self.clusters.get(&IdKey::new(host.cluster.as_str())));
            let computed = concerns(vm, cluster.map(Arc::as_ref));
            if computed != vm.concerns {
                let mut vm = Vm::clone(vm);
                vm.concerns = computed;
                updated.push(vm);
            }
        }
        if !updated.is_empty() {
            let vms = Arc::make_mut(&mut self.vms);
            for vm in updated {
                vms.insert(IdKey::new(vm.base.id.as_str()), Arc::new(vm));
            }
        }
    }

    /// Sets each disk's `shared` to "its file is attached to more than one VM" and
    /// bumps the revision of the VMs that changed; returns their IDs.
    fn update_shared_flags(&mut self) -> Vec<String> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for vm in self.vms.values() {
            for disk in vm.disks() {
                *counts.entry(disk.file.as_str()).or_default() += 1;
            }
        }
        let mut updated = Vec::new();
        for vm in self.vms.values() {
            let differs = vm
                .disks()
                .iter()
                .any(|d| d.shared != (counts.get(d.file.as_str()).copied().unwrap_or(0) > 1));
            if differs {
                let mut vm = Vm::clone(vm);
                if let Some(disks) = vm.disks.as_mut() {
                    for disk in disks {
                        disk.shared = counts.get(disk.file.as_str()).copied().unwrap_or(0) > 1;
                    }
                }
                vm.base.revision += 1;
                updated.push(vm);
            }
        }
        let ids = updated.iter().map(|vm| vm.base.id.clone()).collect();
        if !updated.is_empty() {
            let vms = Arc::make_mut(&mut self.vms);
            for vm in updated {
                vms.insert(IdKey::new(vm.base.id.as_str()), Arc::new(vm));
            }
        }
        ids
    }

    /// Replaces this inventory with a complete resync: objects missing from `next` are
    /// deleted, objects whose content is unchanged keep their revision, changed ones
    /// get the next revision. Returns the changes.
    pub fn replace_with(&mut self, mut next: Snapshot) -> Vec<Change> {
        carry_revisions(&self.folders, &mut next.folders, |_, _, _| {});
        carry_revisions(&self.datacenters, &mut next.datacenters, |_, _, _| {});
        carry_revisions(&self.clusters, &mut next.clusters, |_, _, _| {});
        carry_revisions(&self.hosts, &mut next.hosts, |_, _, _| {});
        let mut changes = Vec::new();
        carry_revisions(&self.networks, &mut next.networks, |action, id, name| {
            changes.push(change(Kind::Network, action, id, name));
        });
        carry_revisions(
            &self.datastores,
            &mut next.datastores,
            |action, id, name| {
                changes.push(change(Kind::Storage, action, id, name));
            },
        );
        // Concerns first, so they take part in the comparison.
        next.validate_all();
        carry_revisions(&self.vms, &mut next.vms, |action, id, name| {
            changes.push(change(Kind::Vm, action, id, name));
        });
        *self = next;
        changes
    }
}

/// Gives unchanged objects of `next` their revision in `previous`, changed ones the next
/// revision, and reports created, updated and deleted objects.
fn carry_revisions<T: HasBase>(
    previous: &Objects<T>,
    next: &mut Objects<T>,
    mut report: impl FnMut(Action, &str, &str),
) {
    let mut revised = Vec::new();
    for (key, object) in next.iter() {
        match previous.get(key) {
            Some(old) => {
                let same = same_content(old.as_ref(), object.as_ref());
                let revision = if same {
                    old.base().revision
                } else {
                    old.base().revision + 1
                };
                if object.base().revision != revision {
                    revised.push((key.clone(), revision));
                }
                if !same {
                    report(Action::Updated, key.as_str(), &object.base().name);
                }
            }
            None => report(Action::Created, key.as_str(), &object.base().name),
        }
    }
    if !revised.is_empty() {
        let map = Arc::make_mut(next);
        for (key, revision) in revised {
            if let Some(object) = map.get_mut(&key) {
                Arc::make_mut(object).base_mut().revision = revision;
            }
        }
    }
    for (key, old) in previous.iter() {
        if !next.contains_key(key) {
            report(Action::Deleted, key.as_str(), &old.base().name);
        }
    }
}

fn change(kind: Kind, action: Action, id: &str, name: &str) -> Change {
    Change {
        kind,
        action,
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

/// The longest parent chain a path follows (a cycle in hostile data stops there).
const MAX_PATH_DEPTH: usize = 64;

impl Snapshot {
    /// A folder by ID.
    pub fn folder(&self, id: &str) -> Option<&Arc<Folder>> {
        self.folders.get(&IdKey::new(id))
    }

    /// A datacenter by ID.
    pub fn datacenter(&self, id: &str) -> Option<&Arc<Datacenter>> {
        self.datacenters.get(&IdKey::new(id))
    }

    /// A cluster by ID.
    pub fn cluster(&self, id: &str) -> Option<&Arc<Cluster>> {
        self.clusters.get(&IdKey::new(id))
    }

    /// A host by ID.
    pub fn host(&self, id: &str) -> Option<&Arc<Host>> {
        self.hosts.get(&IdKey::new(id))
    }

    /// A network by ID.
    pub fn network(&self, id: &str) -> Option<&Arc<Network>> {
        self.networks.get(&IdKey::new(id))
    }

    /// A datastore by (sanitized) ID.
    pub fn datastore(&self, id: &str) -> Option<&Arc<Datastore>> {
        self.datastores.get(&IdKey::new(id))
    }

    /// A VM by ID.
    pub fn vm(&self, id: &str) -> Option<&Arc<Vm>> {
        self.vms.get(&IdKey::new(id))
    }

    fn base_of(&self, kind_name: &str, id: &str) -> Option<&Base> {
        match kind_name {
            kind::FOLDER => self.folder(id).map(|o| &o.base),
            kind::DATACENTER => self.datacenter(id).map(|o| &o.base),
            kind::CLUSTER => self.cluster(id).map(|o| &o.base),
            kind::HOST => self.host(id).map(|o| &o.base),
            kind::NETWORK => self.network(id).map(|o| &o.base),
            kind::DATASTORE => self.datastore(id).map(|o| &o.base),
            _ => None,
        }
    }

    /// Upstream's `PathBuilder.Path`: the names from the top down to the object, joined
    /// with `/`, stopping below the parentless root folder (`/DC0/vm/DC0_H0_VM0`). An
    /// object whose parent is not a folder, datacenter, cluster, host, network or
    /// datastore ends the walk (`/<name>` for a port group without parent). A parent that
    /// is not in the inventory gives an empty path.
    pub fn path(&self, base: &Base) -> String {
        let mut parts = vec![base.name.as_str()];
        let mut parent = &base.parent;
        for _ in 0..MAX_PATH_DEPTH {
            let known = matches!(
                parent.kind.as_str(),
                kind::FOLDER
                    | kind::DATACENTER
                    | kind::CLUSTER
                    | kind::HOST
                    | kind::NETWORK
                    | kind::DATASTORE
            );
            if !known {
                return join_path(&parts);
            }
            let Some(node) = self.base_of(&parent.kind, &parent.id) else {
                return String::new();
            };
            if parent.kind == kind::FOLDER && node.parent.kind.is_empty() {
                return join_path(&parts);
            }
            parts.push(node.name.as_str());
            parent = &node.parent;
        }
        String::new()
    }
}

fn join_path(parts: &[&str]) -> String {
    let mut path = String::new();
    for part in parts.iter().rev() {
        path.push('/');
        path.push_str(part);
    }
    path
}

#[cfg(test)]
mod tests;
