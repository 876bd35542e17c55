//! The catalog's state at one point in time (pure): every VM, network, disk and storage
//! assembled from the appliances read, with revisions carried over from the previous
//! snapshot and the changes between the two.
//!
//! Assembly rules:
//!
//! - resources keep discovery order (archives, then descriptors, each in walk order;
//!   VirtualSystems in document order);
//! - a VM whose ID another VM already has is not listed (upstream's database would
//!   keep one of them at random); it becomes a [`Problem`];
//! - networks and disks are listed once per ID, first occurrence first; there is one
//!   storage per disk (upstream);
//! - a VM's revision is its previous revision when nothing changed, one more when
//!   something did, and 1 when it is new (upstream only updates a VM when its path or
//!   export source changes; Ferry reflects every change).

use std::collections::HashMap;
use std::sync::Arc;

use super::concerns::{assess, flag_duplicate_names};
use super::convert::Converted;
use super::model::{Disk, Network, Storage, Vm};
use crate::query::{Action, Change, Kind, Problem, last_segment};

/// What reading one appliance file gave.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its resources.
    pub converted: Converted,
    /// Things worth reporting that did not stop it from being read (e.g. an ignored
    /// `VirtualSystemCollection`).
    pub problems: Vec<Problem>,
}

/// The outcome of reading one appliance file.
pub type Outcome = Result<Arc<Loaded>, Problem>;

/// An immutable view of the catalog. Lookups are by index maps built once.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Whether this snapshot comes from a completed pass (false: nothing loaded yet).
    pub loaded: bool,
    /// The VMs.
    pub vms: Vec<Arc<Vm>>,
    /// The networks, once per ID.
    pub networks: Vec<Network>,
    /// The disks, once per ID.
    pub disks: Vec<Disk>,
    /// One storage per disk, same order.
    pub storages: Vec<Storage>,
    /// What could not be read.
    pub problems: Vec<Problem>,
    vm_index: HashMap<String, usize>,
    network_index: HashMap<String, usize>,
    disk_index: HashMap<String, usize>,
}

/// How a `name` query narrows candidates when the name has `/` segments and several
/// resources share its last segment (upstream's per-handler `filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFilter {
    /// No narrowing (disks).
    None,
    /// Keep resources whose path (their ID) ends with the name's segments (VMs).
    Suffix,
    /// Keep resources whose path's first segment is the name's first (networks,
    /// storages).
    Root,
}

impl Snapshot {
    /// The VM with this ID.
    pub fn vm(&self, id: &str) -> Option<&Arc<Vm>> {
        self.vm_index.get(id).map(|&index| &self.vms[index])
    }

    /// The network with this ID.
    pub fn network(&self, id: &str) -> Option<&Network> {
        self.network_index
            .get(id)
            .map(|&index| &self.networks[index])
    }

    /// The disk with this ID.
    pub fn disk(&self, id: &str) -> Option<&Disk> {
        self.disk_index.get(id).map(|&index| &self.disks[index])
    }

    /// The storage with this ID (a disk ID).
    pub fn storage(&self, id: &str) -> Option<&Storage> {
        self.disk_index.get(id).map(|&index| &self.storages[index])
    }

    /// Positions of the VMs a `name` selects.
    pub fn vms_named(&self, name: &str) -> Vec<usize> {
        named(
            self.vms.iter().map(|vm| (vm.id.as_str(), vm.name.as_str())),
            name,
            PathFilter::Suffix,
        )
    }

    /// Positions of the networks a `name` selects.
    pub fn networks_named(&self, name: &str) -> Vec<usize> {
        named(
            self.networks
                .iter()
                .map(|n| (n.id.as_str(), n.name.as_str())),
            name,
            PathFilter::Root,
        )
    }

    /// Positions of the disks a `name` selects.
    pub fn disks_named(&self, name: &str) -> Vec<usize> {
        named(
            self.disks.iter().map(|d| (d.id.as_str(), d.name.as_str())),
            name,
            PathFilter::None,
        )
    }

    /// Positions of the storages a `name` selects.
    pub fn storages_named(&self, name: &str) -> Vec<usize> {
        named(
            self.storages
                .iter()
                .map(|s| (s.id.as_str(), s.name.as_str())),
            name,
            PathFilter::Root,
        )
    }

    /// The position of a resource of `kind` with this ID.
    pub fn position(&self, kind: Kind, id: &str) -> Option<usize> {
        match kind {
            Kind::Vm => self.vm_index.get(id),
            Kind::Network => self.network_index.get(id),
            Kind::Disk | Kind::Storage => self.disk_index.get(id),
        }
        .copied()
    }
}

/// Upstream's name matching: the name's last `/` segment equals the resource name;
/// then, when several match and the name has several segments, the per-kind path
/// filter, where a resource's path is its ID (upstream's `PathBuilder`).
pub fn named<'a>(
    items: impl Iterator<Item = (&'a str, &'a str)>,
    name: &str,
    filter: PathFilter,
) -> Vec<usize> {
    let wanted = last_segment(name);
    let matches: Vec<(usize, &str)> = items
        .enumerate()
        .filter(|(_, (_, item_name))| *item_name == wanted)
        .map(|(index, (id, _))| (index, id))
        .collect();
    if matches.len() < 2 || !name.contains('/') {
        return matches.into_iter().map(|(index, _)| index).collect();
    }
    matches
        .into_iter()
        .filter(|(_, path)| match filter {
            PathFilter::None => true,
            PathFilter::Suffix => path_match(path, name),
            PathFilter::Root => path_match_root(path, name),
        })
        .map(|(index, _)| index)
        .collect()
}

/// Upstream `PathMatch`: the relative path's segments are a suffix of the absolute's.
fn path_match(absolute: &str, relative: &str) -> bool {
    let absolute: Vec<&str> = absolute.trim_start_matches('/').split('/').collect();
    let relative: Vec<&str> = relative.trim_start_matches('/').split('/').collect();
    relative.len() <= absolute.len() && absolute.ends_with(&relative)
}

/// Upstream `PathMatchRoot`: both paths have the same first segment.
fn path_match_root(absolute: &str, path: &str) -> bool {
    let first = |p: &str| {
        p.trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_owned()
    };
    first(absolute) == first(path)
}

/// Builds the next snapshot from each appliance's outcome (in discovery order) and the
/// walk's own problems, and lists what changed since `previous`.
pub fn assemble(
    outcomes: &[&Outcome],
    walk_problems: Vec<Problem>,
    previous: &Snapshot,
) -> (Snapshot, Vec<Change>) {
    let mut problems = walk_problems;
    let mut vms: Vec<Vm> = Vec::new();
    let mut vm_index: HashMap<String, usize> = HashMap::new();
    let mut networks: Vec<Network> = Vec::new();
    let mut network_index = HashMap::new();
    let mut disks: Vec<Disk> = Vec::new();
    let mut disk_index = HashMap::new();
    for outcome in outcomes {
        let loaded = match outcome {
            Ok(loaded) => loaded,
            Err(problem) => {
                problems.push(problem.clone());
                continue;
            }
        };
        problems.extend(loaded.problems.iter().cloned());
        for (vm, findings) in &loaded.converted.vms {
            if let Some(&other) = vm_index.get(&vm.id) {
                let other: &Vm = &vms[other];
                problems.push(Problem {
                    subject: vm.ovf_path.clone(),
                    reason: "DuplicateVmId",
                    message: format!(
                        "VM '{}' has ID {}, which VM '{}' of '{}' already has; it is not \
                         listed. Give one of them another ovf:id",
                        vm.name, vm.id, other.name, other.ovf_path
                    ),
                });
                continue;
            }
            let mut vm = vm.clone();
            vm.concerns = assess(&vm, findings);
            vm_index.insert(vm.id.clone(), vms.len());
            vms.push(vm);
        }
        for network in &loaded.converted.networks {
            if !network_index.contains_key(&network.id) {
                network_index.insert(network.id.clone(), networks.len());
                networks.push(network.clone());
            }
        }
        for disk in &loaded.converted.disks {
            if !disk_index.contains_key(&disk.id) {
                disk_index.insert(disk.id.clone(), disks.len());
                disks.push(disk.clone());
            }
        }
    }
    flag_duplicate_names(&mut vms);
    for vm in &mut vms {
        if let Some(old) = previous.vm(&vm.id) {
            vm.revision = if old.content_differs(vm) {
                old.revision + 1
            } else {
                old.revision
            };
        }
    }
    let storages = disks
        .iter()
        .map(|disk| Storage {
            id: disk.id.clone(),
            name: disk.name.clone(),
        })
        .collect();
    let next = Snapshot {
        loaded: true,
        vms: vms.into_iter().map(Arc::new).collect(),
        networks,
        disks,
        storages,
        problems,
        vm_index,
        network_index,
        disk_index,
    };
    let changes = changes(previous, &next);
    (next, changes)
}

/// What differs between two snapshots, VMs first.
fn changes(previous: &Snapshot, next: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    diff(
        Kind::Vm,
        previous
            .vms
            .iter()
            .map(|vm| (vm.id.as_str(), vm.name.as_str())),
        next.vms.iter().map(|vm| (vm.id.as_str(), vm.name.as_str())),
        |id| previous.vm(id).map(|vm| vm.revision) != next.vm(id).map(|vm| vm.revision),
        &mut changes,
    );
    diff(
        Kind::Network,
        previous
            .networks
            .iter()
            .map(|n| (n.id.as_str(), n.name.as_str())),
        next.networks
            .iter()
            .map(|n| (n.id.as_str(), n.name.as_str())),
        |id| previous.network(id) != next.network(id),
        &mut changes,
    );
    diff(
        Kind::Disk,
        previous
            .disks
            .iter()
            .map(|d| (d.id.as_str(), d.name.as_str())),
        next.disks.iter().map(|d| (d.id.as_str(), d.name.as_str())),
        |id| previous.disk(id) != next.disk(id),
        &mut changes,
    );
    diff(
        Kind::Storage,
        previous
            .storages
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_str())),
        next.storages
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_str())),
        |id| previous.storage(id) != next.storage(id),
        &mut changes,
    );
    changes
}

fn diff<'a>(
    kind: Kind,
    before: impl Iterator<Item = (&'a str, &'a str)>,
    after: impl Iterator<Item = (&'a str, &'a str)>,
    updated: impl Fn(&str) -> bool,
    changes: &mut Vec<Change>,
) {
    let before: Vec<(&str, &str)> = before.collect();
    let after: Vec<(&str, &str)> = after.collect();
    let old: HashMap<&str, &str> = before.iter().copied().collect();
    let new: HashMap<&str, &str> = after.iter().copied().collect();
    let change = |action, id: &str, name: &str| Change {
        kind,
        action,
        id: id.to_owned(),
        name: name.to_owned(),
    };
    for (id, name) in &after {
        if !old.contains_key(id) {
            changes.push(change(Action::Created, id, name));
        } else if updated(id) {
            changes.push(change(Action::Updated, id, name));
        }
    }
    for (id, name) in &before {
        if !new.contains_key(id) {
            changes.push(change(Action::Deleted, id, name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_name_filters() {
        let items = [("id-1", "web"), ("id-2", "web"), ("id-3", "db")];
        let run = |name, filter| named(items.iter().copied(), name, filter);
        assert_eq!(run("web", PathFilter::Suffix), [0, 1]);
        assert_eq!(run("db", PathFilter::Suffix), [2]);
        assert_eq!(run("dc/db", PathFilter::Suffix), [2], "one match is kept");
        assert_eq!(
            run("dc/web", PathFilter::Suffix),
            Vec::<usize>::new(),
            "several matches are narrowed by path (the ID), which rarely matches"
        );
        assert_eq!(run("x/id-2/web", PathFilter::Suffix), Vec::<usize>::new());
        assert_eq!(run("id-1/web", PathFilter::Root), [0]);
        assert_eq!(run("dc/web", PathFilter::None), [0, 1]);
    }
}
