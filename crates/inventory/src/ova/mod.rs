//! The OVA provider's inventory: appliances (`.ova` archives and `.ovf` descriptors) in
//! a catalog directory, presented as Forklift presents them.
//!
//! Upstream runs an "OVA provider server" pod that rescans the NFS share on every
//! request (`cmd/ova-provider-server`, `cmd/provider-common`) and a collector in the
//! controller that polls it into a database. Ferry reads the catalog in process:
//!
//! - [`discovery`] (I/O): which files are appliances (depth, suffix, settle rules);
//! - [`archive`] (I/O): the descriptor text out of a tar, without extracting, and what
//!   else the archive holds;
//! - [`ovf`] (pure): the descriptor's elements, as Go's decoder reads them;
//! - [`convert`] (pure): VMs, disks and networks, with upstream's IDs ([`crate::gob`]);
//! - [`concerns`] (pure): upstream's OVA policies, evaluated correctly, and Ferry's
//!   findings about the appliance;
//! - [`snapshot`] (pure): the catalog at one instant, its lookups and its changes;
//! - [`collector`] (I/O): timer rescans with a per-file cache (see there for why not a
//!   directory watch), the change feed and the status;
//! - [`web`] (pure): the REST collections in upstream's JSON shapes;
//! - [`url`]: the Provider URL (`server:/path`) and how the NFS share is mounted;
//! - [`samples`]: real sample appliances built with `qemu-img`, and large generated
//!   catalogs for benchmarks.
//!
//! # IDs
//!
//! Network and disk IDs are upstream's (a gob hash of the name or the disk record), so
//! maps and plans written against Forklift keep resolving. They hash the disk's
//! `FilePath`, hence the mount path (`/ova` by default) must be the one the conversion
//! pod uses. A VM's ID is its `VirtualSystem/@id` when that is a UUID (oVirt exports),
//! otherwise Ferry's own stable hash ([`convert::ferry_vm_id`]): upstream's is not
//! reproducible, so plans should name such VMs by name.
//!
//! # Bad input
//!
//! Nothing in the catalog can make Ferry panic, read outside the catalog, or write
//! anywhere. A file that cannot be read at all (damaged tar, no descriptor, DTD,
//! malformed XML, not UTF-8, too large, a link out of the catalog) becomes a
//! [`crate::query::Problem`] with a reason and a remedy; a VM that can be read but will
//! not migrate well carries concerns.

pub mod archive;
pub mod collector;
pub mod concerns;
pub mod convert;
pub mod discovery;
pub mod model;
pub mod ovf;
pub mod samples;
pub mod snapshot;
pub mod url;
pub mod web;

pub use collector::{CatalogConfig, CollectorTask, OvaInventory, ScanReport};

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use crate::query::{
    Change, FindError, Found, Inventory, InventoryStatus, Kind, Problem, Ref, SourceVm, resolve,
};
use snapshot::Snapshot;

/// The Provider `spec.type` of OVA providers.
pub const PROVIDER_TYPE: &str = "ova";

impl OvaInventory {
    fn loaded(&self) -> Result<Arc<Snapshot>, FindError> {
        let snapshot = self.snapshot();
        if snapshot.loaded {
            Ok(snapshot)
        } else {
            Err(FindError::NotReady)
        }
    }

    fn position(snapshot: &Snapshot, kind: Kind, reference: &Ref) -> Result<usize, FindError> {
        resolve(
            kind,
            reference,
            |id| snapshot.position(kind, id),
            |name| match kind {
                Kind::Vm => snapshot.vms_named(name),
                Kind::Network => snapshot.networks_named(name),
                Kind::Disk => snapshot.disks_named(name),
                Kind::Storage => snapshot.storages_named(name),
            },
        )
    }
}

/// The `(id, name)` of the resource of `kind` at `index`.
fn found(snapshot: &Snapshot, kind: Kind, index: usize) -> Found {
    let (id, name) = match kind {
        Kind::Vm => (&snapshot.vms[index].id, &snapshot.vms[index].name),
        Kind::Network => (&snapshot.networks[index].id, &snapshot.networks[index].name),
        Kind::Disk => (&snapshot.disks[index].id, &snapshot.disks[index].name),
        Kind::Storage => (&snapshot.storages[index].id, &snapshot.storages[index].name),
    };
    Found {
        kind,
        id: id.clone(),
        name: name.clone(),
    }
}

impl Inventory for OvaInventory {
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
        let index = Self::position(&snapshot, kind, reference)?;
        Ok(found(&snapshot, kind, index))
    }

    fn list(&self, kind: Kind) -> Result<Vec<Found>, FindError> {
        let snapshot = self.loaded()?;
        let len = match kind {
            Kind::Vm => snapshot.vms.len(),
            Kind::Network => snapshot.networks.len(),
            Kind::Disk => snapshot.disks.len(),
            Kind::Storage => snapshot.storages.len(),
        };
        Ok((0..len)
            .map(|index| found(&snapshot, kind, index))
            .collect())
    }

    fn vm(&self, reference: &Ref) -> Result<SourceVm, FindError> {
        let snapshot = self.loaded()?;
        let index = Self::position(&snapshot, Kind::Vm, reference)?;
        Ok(SourceVm::Ova(Arc::clone(&snapshot.vms[index])))
    }

    fn problems(&self) -> Vec<Problem> {
        self.snapshot().problems.clone()
    }
}
