//! The provider-neutral query interface the controllers use.
//!
//! Forklift's controllers reach a source inventory through `web.Client.Find(resource,
//! ref)`: by `ref.id` if set, otherwise by `ref.name` (`NotFound` for no match,
//! `RefNotUnique` for several). Ferry keeps those semantics, in process, behind
//! [`Inventory`]: one implementation per provider type (OVA, vSphere), each
//! holding an immutable snapshot of its source that a collector replaces as the source
//! changes.
//!
//! What a controller gets from an [`Inventory`]:
//!
//! - [`Inventory::find`] / [`Inventory::list`]: the neutral view of VMs, networks,
//!   storages and disks (id, name), enough to validate maps and resolve refs;
//! - [`Inventory::vm`]: the full, provider-typed VM ([`SourceVm`]) for the provider's
//!   plan adapter (the builder and validator match on the variant they handle);
//! - [`Inventory::status`]: parity (has the collector loaded the source at least
//!   once?) and the last collection error, as a `tokio::sync::watch` receiver, so a
//!   provider controller can await the first load and publish conditions;
//! - [`Inventory::subscribe`]: a broadcast of [`Change`]s (created/updated/deleted per
//!   resource), so the plan controller can be woken when a VM it names changes. A
//!   receiver that falls behind gets `RecvError::Lagged`: it must then treat every
//!   resource as possibly changed and re-read what it needs;
//! - [`Inventory::problems`]: source files or objects the collector could not turn into
//!   resources, each with a reason, for a provider condition.
//!
//! Lookups never block on I/O: they read the current snapshot.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::{ova, vsphere};

/// A reference to a source object, as `spec.vms[]`, map entries and hooks carry it
/// (upstream `ref.Ref`).
pub use ferry_api::Ref;

/// The kinds of source resources a controller looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Kind {
    /// A virtual machine.
    Vm,
    /// A source network (what NetworkMap entries name).
    Network,
    /// A source storage (what StorageMap entries name): a vSphere datastore, an oVirt
    /// storage domain; for OVA, one per disk.
    Storage,
    /// A virtual disk.
    Disk,
}

impl Kind {
    /// The REST collection that lists this kind (`vms`, `networks`, ...).
    pub fn collection(self) -> &'static str {
        match self {
            Self::Vm => "vms",
            Self::Network => "networks",
            Self::Storage => "storages",
            Self::Disk => "disks",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vm => "VM",
            Self::Network => "network",
            Self::Storage => "storage",
            Self::Disk => "disk",
        })
    }
}

/// A resolved reference: what upstream's finder writes back into the `ref`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The kind that was looked up.
    pub kind: Kind,
    /// The resource's ID.
    pub id: String,
    /// The resource's name.
    pub name: String,
}

/// Why a lookup did not resolve to exactly one resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// Nothing matches (upstream `NotFoundError`).
    #[error("{kind} not found: ref:{reference}")]
    NotFound {
        /// The kind looked up.
        kind: Kind,
        /// The reference as given.
        reference: Ref,
    },
    /// Several resources match the name (upstream `RefNotUniqueError`); use the ID.
    #[error("{kind} reference matches {count} resources, use its ID: ref:{reference}")]
    NotUnique {
        /// The kind looked up.
        kind: Kind,
        /// The reference as given.
        reference: Ref,
        /// How many resources share the name.
        count: usize,
    },
    /// The reference has neither an ID nor a name.
    #[error("{kind} reference has neither an id nor a name")]
    EmptyRef {
        /// The kind looked up.
        kind: Kind,
    },
    /// The collector has not loaded the source yet (upstream maps this to
    /// `ProviderNotReady`); retry when [`InventoryStatus::parity`] becomes true.
    #[error("the inventory has not been loaded yet")]
    NotReady,
    /// This provider type has no resources of that kind.
    #[error("this provider has no {kind} resources")]
    Unsupported {
        /// The kind looked up.
        kind: Kind,
    },
}

/// The collector's state, as a provider controller publishes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InventoryStatus {
    /// The source has been fully read at least once and the snapshot reflects it
    /// (upstream `HasParity`). While false, REST queries answer 206.
    pub parity: bool,
    /// How many collections have completed; bumps on every pass, changed or not.
    pub generation: u64,
    /// Why the last collection pass failed as a whole (e.g. the catalog directory is
    /// unreadable), if it did. Problems with single files are in
    /// [`Inventory::problems`].
    pub error: Option<String>,
}

/// What happened to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    /// It appeared.
    Created,
    /// Its content changed.
    Updated,
    /// It disappeared.
    Deleted,
}

/// One resource change, as broadcast by [`Inventory::subscribe`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The resource kind.
    pub kind: Kind,
    /// What happened.
    pub action: Action,
    /// The resource's ID.
    pub id: String,
    /// The resource's name.
    pub name: String,
}

/// Something in the source the collector could not turn into resources (an unreadable
/// or malformed file, for OVA), for provider conditions and logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What it concerns: for OVA, the file path as the conversion pod sees it.
    pub subject: String,
    /// A stable, CamelCase reason (e.g. `DescriptorHasDtd`).
    pub reason: &'static str,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// A full VM, typed by provider, for that provider's plan adapter.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SourceVm {
    /// A VM described by an OVF descriptor.
    Ova(Arc<ova::model::Vm>),
    /// A vSphere VM, with the inventory snapshot it was read from (host, cluster,
    /// networks, datastores).
    Vsphere(vsphere::Workload),
}

impl SourceVm {
    /// The VM's ID.
    pub fn id(&self) -> &str {
        match self {
            Self::Ova(vm) => &vm.id,
            Self::Vsphere(workload) => &workload.vm.base.id,
        }
    }

    /// The VM's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Ova(vm) => &vm.name,
            Self::Vsphere(workload) => &workload.vm.base.name,
        }
    }
}

/// A source inventory, as the controllers query it. See the module documentation.
pub trait Inventory: Send + Sync {
    /// The Provider `spec.type` this inventory serves (`ova`, `vsphere`, ...).
    fn provider_type(&self) -> &'static str;

    /// The collector state; `borrow()` for now, `changed().await` to wait.
    fn status(&self) -> watch::Receiver<InventoryStatus>;

    /// Resource changes from now on.
    fn subscribe(&self) -> broadcast::Receiver<Change>;

    /// Resolves a reference (by ID, else by name) to exactly one resource.
    fn find(&self, kind: Kind, reference: &Ref) -> Result<Found, FindError>;

    /// Every resource of a kind, in the inventory's order.
    fn list(&self, kind: Kind) -> Result<Vec<Found>, FindError>;

    /// Resolves a VM reference to the full, provider-typed VM.
    fn vm(&self, reference: &Ref) -> Result<SourceVm, FindError>;

    /// What the collector could not read, in the last pass.
    fn problems(&self) -> Vec<Problem>;
}

/// Upstream's name matching: only the last `/` segment of a name is compared.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Upstream's finder semantics over a list of candidates `(id, name)`: by ID when set,
/// else by name (the caller's `by_name` decides which names match). Returns the index
/// of the single match.
pub fn resolve<'a, I>(
    kind: Kind,
    reference: &Ref,
    by_id: impl FnOnce(&str) -> Option<usize>,
    by_name: impl FnOnce(&str) -> I,
) -> Result<usize, FindError>
where
    I: IntoIterator<Item = usize> + 'a,
{
    if !reference.id.is_empty() {
        return by_id(&reference.id).ok_or_else(|| FindError::NotFound {
            kind,
            reference: reference.clone(),
        });
    }
    if reference.name.is_empty() {
        return Err(FindError::EmptyRef { kind });
    }
    let matches: Vec<usize> = by_name(&reference.name).into_iter().collect();
    match matches.as_slice() {
        [] => Err(FindError::NotFound {
            kind,
            reference: reference.clone(),
        }),
        [one] => Ok(*one),
        many => Err(FindError::NotUnique {
            kind,
            reference: reference.clone(),
            count: many.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<(&'static str, &'static str)> {
        vec![("a1", "web"), ("b2", "db"), ("c3", "db")]
    }

    fn run(reference: &Ref) -> Result<usize, FindError> {
        let items = names();
        resolve(
            Kind::Vm,
            reference,
            |id| items.iter().position(|(i, _)| *i == id),
            |name| {
                let name = last_segment(name).to_owned();
                items
                    .iter()
                    .enumerate()
                    .filter(move |(_, (_, n))| *n == name)
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            },
        )
    }

    #[test]
    fn id_wins_over_name() {
        let reference = Ref {
            id: "b2".into(),
            name: "web".into(),
            ..Ref::default()
        };
        assert_eq!(run(&reference), Ok(1));
        assert!(matches!(
            run(&Ref::id("zz")),
            Err(FindError::NotFound { kind: Kind::Vm, .. })
        ));
    }

    #[test]
    fn names_resolve_uniquely_or_fail() {
        assert_eq!(run(&Ref::name("web")), Ok(0));
        assert_eq!(run(&Ref::name("folder/web")), Ok(0));
        let error = run(&Ref::name("db")).unwrap_err();
        assert!(matches!(error, FindError::NotUnique { count: 2, .. }));
        assert_eq!(
            error.to_string(),
            "VM reference matches 2 resources, use its ID: ref: id: name:'db' "
        );
        assert!(matches!(
            run(&Ref::name("nope")),
            Err(FindError::NotFound { .. })
        ));
        assert_eq!(
            run(&Ref::default()),
            Err(FindError::EmptyRef { kind: Kind::Vm })
        );
    }
}
