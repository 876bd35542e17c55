//! The appliance virt-v2v reads (`-i ova <path>`): an `.ova` archive or a directory with
//! an `.ovf` descriptor and its disk files, opened in place.
//!
//! The descriptor is parsed and turned into a VM with the inventory's own code
//! ([`ferry_inventory::ova`]), so the conversion sees the same disks, firmware and NICs
//! the inventory shows. Each disk is located as a tar member (offset and length, read in
//! place by `qemu-img`) or a file beside the descriptor; links, absolute or climbing
//! member names, and files resolving outside the share are never used. The image format
//! is taken from the disk's first bytes, never from the descriptor's claim alone.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use ferry_inventory::ova::convert::{self, Appliance as Parsed, ApplianceKind};
use ferry_inventory::ova::model::Vm;
use ferry_inventory::ova::ovf;

use crate::cluster::qemu::{self, Source};
use crate::cluster::volumes;

/// The largest descriptor read (real ones are kilobytes).
const MAX_DESCRIPTOR: u64 = 16 << 20;
/// The most XML nodes parsed.
const MAX_NODES: u32 = 1_000_000;
/// The most archive members looked at.
const MAX_MEMBERS: usize = 100_000;

/// Why the appliance cannot be read (virt-v2v's `error:` line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The path is not an appliance.
    #[error("-i ova: {0}: {1}")]
    Path(String, String),
    /// The archive or directory has no descriptor.
    #[error("-i ova: no .ovf file was found in {0}")]
    NoDescriptor(String),
    /// The descriptor cannot be parsed.
    #[error("-i ova: could not parse the OVF descriptor: {0}")]
    Descriptor(String),
    /// No VM of that name.
    #[error("-i ova: the appliance has no virtual system named {0:?} (it has: {1})")]
    NoSuchVm(String, String),
    /// A disk file the descriptor names is missing or unusable.
    #[error("-i ova: disk {name:?}: {reason}")]
    Disk {
        /// The disk file name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// One disk to convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSource {
    /// The file name the descriptor gives (`href`).
    pub name: String,
    /// Where its bytes are, and their format.
    pub source: Source,
}

/// An opened appliance: the VM and where each of its disks is.
#[derive(Debug, Clone)]
pub struct Appliance {
    /// The VM, as the inventory models it.
    pub vm: Vm,
    /// Its disks, in descriptor order.
    pub disks: Vec<DiskSource>,
}

/// A regular archive member: data offset and length.
type Members = HashMap<String, (u64, u64)>;

/// Opens the appliance at `host_path` (already checked to be inside a share) for the VM
/// named `vm_name` (`None`: the only one).
pub fn open(host_path: &Path, vm_name: Option<&str>) -> Result<Appliance, SourceError> {
    let shown = host_path.display().to_string();
    let metadata = host_path
        .metadata()
        .map_err(|e| SourceError::Path(shown.clone(), e.to_string()))?;
    let (kind, xml, members, dir) = if metadata.is_dir() {
        let xml = read_dir_descriptor(host_path)?;
        (
            ApplianceKind::Ovf,
            xml,
            Members::new(),
            Some(host_path.to_owned()),
        )
    } else if metadata.is_file() {
        let (xml, members) = read_archive(host_path)?;
        (ApplianceKind::Ova, xml, members, None)
    } else {
        return Err(SourceError::Path(shown, "not a file or directory".into()));
    };
    let envelope =
        ovf::parse(&xml, MAX_NODES).map_err(|e| SourceError::Descriptor(e.to_string()))?;
    let present: HashSet<String> = match &dir {
        Some(dir) => envelope
            .files
            .iter()
            .filter(|href| convert::is_plain_relative(href) && dir.join(href).is_file())
            .cloned()
            .collect(),
        None => members.keys().cloned().collect(),
    };
    let parsed = Parsed {
        ovf_path: shown.clone(),
        kind,
        envelope,
        present_files: present,
        unsafe_entries: Vec::new(),
        damage: None,
    };
    let converted = convert::convert(&parsed);
    let names: Vec<String> = converted
        .vms
        .iter()
        .map(|(vm, _)| vm.name.clone())
        .collect();
    let vm = match vm_name {
        Some(name) => converted.vms.into_iter().find(|(vm, _)| vm.name == name),
        None if converted.vms.len() == 1 => converted.vms.into_iter().next(),
        None => None,
    }
    .map(|(vm, _)| vm)
    .ok_or_else(|| {
        SourceError::NoSuchVm(vm_name.unwrap_or_default().to_owned(), names.join(", "))
    })?;
    let disks = vm
        .disks
        .iter()
        .map(|disk| {
            let (file, slice) = match &dir {
                Some(dir) => (disk_file(dir, &disk.name)?, None),
                None => {
                    let (offset, size) =
                        members
                            .get(&disk.name)
                            .copied()
                            .ok_or_else(|| SourceError::Disk {
                                name: disk.name.clone(),
                                reason: "the archive has no regular file of that name".into(),
                            })?;
                    (host_path.to_owned(), Some((offset, size)))
                }
            };
            let format = qemu::sniff_format(&file, slice.map_or(0, |s| s.0)).map_err(|reason| {
                SourceError::Disk {
                    name: disk.name.clone(),
                    reason,
                }
            })?;
            Ok(DiskSource {
                name: disk.name.clone(),
                source: Source {
                    file,
                    slice,
                    format: Some(format.to_owned()),
                },
            })
        })
        .collect::<Result<Vec<_>, SourceError>>()?;
    Ok(Appliance { vm, disks })
}

/// A disk file beside a standalone descriptor, checked to stay inside its directory.
fn disk_file(dir: &Path, href: &str) -> Result<PathBuf, SourceError> {
    let error = |reason: &str| SourceError::Disk {
        name: href.to_owned(),
        reason: reason.to_owned(),
    };
    if !convert::is_plain_relative(href) {
        return Err(error("the name is not a plain relative path"));
    }
    let path = dir.join(href);
    let real = volumes::inside(&path, &[dir.to_owned()])
        .ok_or_else(|| error("missing, or it resolves outside the appliance's directory"))?;
    if !real.is_file() {
        return Err(error("not a regular file"));
    }
    Ok(real)
}

/// The `.ovf` of a directory: the first by name.
fn read_dir_descriptor(dir: &Path) -> Result<String, SourceError> {
    let shown = dir.display().to_string();
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| SourceError::Path(shown.clone(), e.to_string()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ovf"))
                && p.symlink_metadata().is_ok_and(|m| m.is_file())
        })
        .collect();
    candidates.sort();
    let descriptor = candidates
        .into_iter()
        .next()
        .ok_or_else(|| SourceError::NoDescriptor(shown.clone()))?;
    let len = descriptor.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_DESCRIPTOR {
        return Err(SourceError::Descriptor(format!(
            "{} bytes is too large",
            len
        )));
    }
    let xml = std::fs::read_to_string(&descriptor)
        .map_err(|e| SourceError::Descriptor(format!("{}: {e}", descriptor.display())))?;
    Ok(xml)
}

/// The first `.ovf` member's text and every regular member's position. Links and
/// members with absolute or climbing names are left out.
fn read_archive(path: &Path) -> Result<(String, Members), SourceError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| SourceError::Path(shown.clone(), e.to_string()))?;
    let mut archive = tar::Archive::new(file);
    let entries = archive
        .entries_with_seek()
        .map_err(|e| SourceError::Path(shown.clone(), format!("not a tar archive: {e}")))?;
    let mut xml = None;
    let mut members = Members::new();
    for (count, entry) in entries.enumerate() {
        if count >= MAX_MEMBERS {
            break;
        }
        let mut entry =
            entry.map_err(|e| SourceError::Path(shown.clone(), format!("damaged archive: {e}")))?;
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            continue;
        }
        let Ok(name) = entry.path().map(|p| p.to_string_lossy().into_owned()) else {
            continue;
        };
        if !convert::is_plain_relative(&name) {
            continue;
        }
        let size = entry.size();
        if xml.is_none() && name.to_ascii_lowercase().ends_with(".ovf") {
            if size > MAX_DESCRIPTOR {
                return Err(SourceError::Descriptor(format!(
                    "{size} bytes is too large"
                )));
            }
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| SourceError::Descriptor(e.to_string()))?;
            xml = Some(text);
            continue;
        }
        members.insert(name, (entry.raw_file_position(), size));
    }
    let xml = xml.ok_or(SourceError::NoDescriptor(shown))?;
    Ok((xml, members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_appliances() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.ova");
        std::fs::write(&junk, b"not a tar").unwrap();
        assert!(open(&junk, None).is_err());
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(matches!(
            open(&empty, None),
            Err(SourceError::NoDescriptor(_))
        ));
        assert!(disk_file(dir.path(), "../etc/passwd").is_err());
        assert!(disk_file(dir.path(), "/etc/passwd").is_err());
    }
}
