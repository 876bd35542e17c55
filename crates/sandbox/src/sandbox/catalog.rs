//! The OVA catalog the sandbox migrates from: the inventory crate's sample appliances
//! (BIOS and EFI, several disks, several NICs, VMware, VirtualBox and oVirt exports,
//! an unpacked `.ovf`), plus small generated ones when more VMs are asked for; or a
//! directory the user brings.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry_inventory::ova::model::Vm;
use ferry_inventory::ova::samples::{
    BenchDisk, SampleError, SampleOptions, generate_catalog, write_samples,
};
use ferry_inventory::ova::{CatalogConfig, OvaInventory};

/// The order in which sample VMs join the demo plan: the EFI VM with two disks and two
/// NICs and the BIOS VM first.
pub const SAMPLE_ORDER: &[&str] = &[
    "ferry-vmware-efi",
    "ferry-virtualbox-bios",
    "ferry-plain",
    "ferry-ovirt",
];

/// The marker of a catalog the sandbox wrote: the number of VMs in it.
const MARKER: &str = ".ferry-sandbox-samples";

/// Why the catalog could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Writing sample appliances failed.
    #[error("cannot write the sample appliances into {dir}: {source}")]
    Samples {
        /// The catalog directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: SampleError,
    },
    /// The catalog cannot be read.
    #[error("cannot read the OVA catalog {dir}: {reason}")]
    Read {
        /// The catalog directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// The catalog has no VM.
    #[error(
        "the OVA catalog {0} has no appliance (.ova files, or .ovf files beside their disks); \
         put some there or run without --catalog to use the samples"
    )]
    Empty(PathBuf),
}

/// Writes the samples into `dir` unless a previous run did: all four, plus
/// `vms - 4` generated ones (`bench-vm-NNNNN`, one 1 MiB disk each) when more are asked
/// for.
pub fn write(dir: &Path, vms: usize, options: &SampleOptions) -> Result<(), CatalogError> {
    let marker = dir.join(MARKER);
    let extra = vms.saturating_sub(SAMPLE_ORDER.len());
    let wanted = SAMPLE_ORDER.len() + extra;
    let written: usize = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    if written >= wanted {
        return Ok(());
    }
    let error = |source| CatalogError::Samples {
        dir: dir.to_owned(),
        source,
    };
    write_samples(dir, options).map_err(error)?;
    if extra > 0 {
        generate_catalog(dir, extra, &BenchDisk::Real(options.clone())).map_err(error)?;
    }
    std::fs::write(&marker, format!("{wanted}\n")).map_err(|e| error(SampleError::Io(e)))?;
    Ok(())
}

/// Reads the catalog as the Provider's inventory will (paths under `/ova`).
pub fn read(dir: &Path) -> Result<Vec<Arc<Vm>>, CatalogError> {
    let mut config = CatalogConfig::new(dir);
    config.settle = Duration::ZERO;
    let inventory = OvaInventory::new(config);
    inventory.scan().map_err(|e| CatalogError::Read {
        dir: dir.to_owned(),
        reason: e.to_string(),
    })?;
    let snapshot = inventory.snapshot();
    if snapshot.vms.is_empty() {
        return Err(CatalogError::Empty(dir.to_owned()));
    }
    Ok(snapshot.vms.clone())
}

/// The VMs the demo plan migrates: `vms` of them (all when `None`), samples first in
/// [`SAMPLE_ORDER`], then by name.
pub fn choose(all: &[Arc<Vm>], vms: Option<usize>) -> Vec<Arc<Vm>> {
    let rank = |vm: &Vm| {
        SAMPLE_ORDER
            .iter()
            .position(|name| *name == vm.name)
            .unwrap_or(SAMPLE_ORDER.len())
    };
    let mut ordered: Vec<Arc<Vm>> = all.to_vec();
    ordered.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name)));
    // Names must be unique for a plan naming VMs by name.
    ordered.dedup_by(|a, b| a.name == b.name);
    match vms {
        Some(n) => ordered.into_iter().take(n).collect(),
        None => ordered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_written_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let options = SampleOptions::from_env();
        write(dir.path(), 5, &options).unwrap();
        let vms = read(dir.path()).unwrap();
        assert_eq!(vms.len(), 5);
        let chosen = choose(&vms, Some(3));
        let names: Vec<&str> = chosen.iter().map(|vm| vm.name.as_str()).collect();
        assert_eq!(
            names,
            ["ferry-vmware-efi", "ferry-virtualbox-bios", "ferry-plain"]
        );
        assert!(chosen[0].disk_paths_start_with("/ova"));
        // A second call keeps what is there.
        let before = std::fs::metadata(dir.path().join("ferry-vmware-efi.ova"))
            .unwrap()
            .modified()
            .unwrap();
        write(dir.path(), 5, &options).unwrap();
        let after = std::fs::metadata(dir.path().join("ferry-vmware-efi.ova"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
        assert_eq!(choose(&vms, None).len(), 5);
    }

    #[test]
    fn an_empty_catalog_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(dir.path()), Err(CatalogError::Empty(_))));
        assert!(read(&dir.path().join("missing")).is_err());
    }

    trait DiskPaths {
        fn disk_paths_start_with(&self, prefix: &str) -> bool;
    }

    impl DiskPaths for Vm {
        fn disk_paths_start_with(&self, prefix: &str) -> bool {
            self.disks.iter().all(|d| d.file_path.starts_with(prefix))
        }
    }
}
