//! Helpers shared by the integration tests: the sample catalog, built once per test
//! binary with the real `qemu-img`, and copied into each test's own directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ferry_inventory::ova::samples::{SampleCatalog, SampleOptions, write_samples_for_process};
use ferry_inventory::ova::{CatalogConfig, OvaInventory};

/// The samples, built once per test binary under Cargo's temp dir for tests (see
/// [`write_samples_for_process`]).
pub fn samples() -> &'static (PathBuf, SampleCatalog) {
    static SAMPLES: OnceLock<(PathBuf, SampleCatalog)> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        write_samples_for_process(
            Path::new(env!("CARGO_TARGET_TMPDIR")),
            "ferry-inventory-samples-",
            &SampleOptions::from_env(),
        )
        .unwrap_or_else(|e| {
            panic!("building the sample OVAs needs qemu-img: {e}. Run scripts/test")
        })
    })
}

/// A fresh copy of the sample catalog.
pub fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&samples().0, dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read samples") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
            let modified = entry.metadata().and_then(|m| m.modified()).expect("mtime");
            std::fs::File::options()
                .write(true)
                .open(&target)
                .and_then(|f| f.set_modified(modified))
                .expect("set mtime");
        }
    }
}

/// An inventory over `root` with no settle time, `/ova` as mount path.
pub fn inventory(root: &Path) -> Arc<OvaInventory> {
    let mut config = CatalogConfig::new(root);
    config.settle = Duration::ZERO;
    OvaInventory::new(config)
}

/// Path of a file in a directory.
pub fn path(dir: &tempfile::TempDir, relative: &str) -> PathBuf {
    dir.path().join(relative)
}

/// A tar written member by member, with raw control over names and types (the `tar`
/// crate's builder refuses the hostile names these tests need).
pub struct TarWriter {
    bytes: Vec<u8>,
}

impl Default for TarWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TarWriter {
    /// An empty archive.
    pub fn new() -> Self {
        Self { bytes: Vec::new() }
    }

    /// A member with a raw name and type.
    pub fn member(mut self, name: &[u8], entry_type: tar::EntryType, data: &[u8]) -> Self {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
        header.set_mode(0o644);
        header.set_entry_type(entry_type);
        let link = matches!(entry_type, tar::EntryType::Symlink | tar::EntryType::Link);
        if link {
            header.set_link_name("/etc/passwd").expect("link name");
        }
        header.set_size(if link { 0 } else { data.len() as u64 });
        header.set_cksum();
        self.bytes.extend_from_slice(header.as_bytes());
        if !link {
            self.bytes.extend_from_slice(data);
            self.bytes
                .extend(std::iter::repeat_n(0, (512 - data.len() % 512) % 512));
        }
        self
    }

    /// A regular member.
    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.member(name.as_bytes(), tar::EntryType::Regular, data)
    }

    /// The archive bytes, with the end-of-archive blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend(std::iter::repeat_n(0, 1024));
        self.bytes
    }

    /// Writes the archive to `path`.
    pub fn write(self, path: &Path) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, self.finish()).expect("write tar");
    }
}

/// A minimal VMware-shaped descriptor: one VirtualSystem named `name`, one disk per
/// `(href, capacity, units)` (href `None` leaves the File out), one NIC on `VM Network`.
pub fn descriptor(name: &str, disks: &[(Option<&str>, &str, &str)]) -> String {
    let mut files = String::new();
    let mut disk_section = String::new();
    for (index, (href, capacity, units)) in disks.iter().enumerate() {
        if let Some(href) = href {
            files.push_str(&format!(
                r#"<File ovf:href="{href}" ovf:id="file{index}"/>"#
            ));
        }
        disk_section.push_str(&format!(
            r#"<Disk ovf:capacity="{capacity}" ovf:capacityAllocationUnits="{units}" ovf:diskId="vmdisk{index}" ovf:fileRef="file{index}" ovf:format="f"/>"#
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>{files}</References>
  <DiskSection><Info>disks</Info>{disk_section}</DiskSection>
  <NetworkSection><Network ovf:name="VM Network"><Description>d</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="{name}"><Name>{name}</Name>
    <VirtualHardwareSection>
      <Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      <Item><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>nic</rasd:ElementName><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#
    )
}

/// An `.ova` at `path` holding `descriptor` and a small member per href.
pub fn write_ova(path: &Path, descriptor: &str, hrefs: &[&str]) {
    let mut tar = TarWriter::new().file("vm.ovf", descriptor.as_bytes());
    for href in hrefs {
        tar = tar.file(href, b"disk data");
    }
    tar.write(path);
}
