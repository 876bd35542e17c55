//! The sample appliances are real: valid tars with the descriptor first, disks that
//! `qemu-img` reads with the declared virtual size and the documented content, and the
//! same bytes every time.

#![allow(clippy::unwrap_used)] // test helpers may panic on setup failures

mod common;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use ferry_inventory::ova::samples::{DiskFormat, SampleOptions, write_samples};
use sha2::{Digest, Sha256};

fn qemu_img() -> std::path::PathBuf {
    SampleOptions::from_env().qemu_img
}

/// Extracts one member of an archive into `dir` (by name, not by path from the tar).
fn extract(ova: &Path, member: &str, dir: &Path) -> std::path::PathBuf {
    let mut archive = tar::Archive::new(File::open(ova).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(member) {
            let out = dir.join(member);
            std::io::copy(&mut entry, &mut File::create(&out).unwrap()).unwrap();
            return out;
        }
    }
    panic!("{member} not in {}", ova.display());
}

fn member_names(ova: &Path) -> Vec<String> {
    let mut archive = tar::Archive::new(File::open(ova).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn disks_are_real_images_with_the_documented_content() {
    let (dir, catalog) = common::samples();
    let work = tempfile::tempdir().unwrap();
    assert_eq!(catalog.appliances.len(), 4);
    for appliance in &catalog.appliances {
        let location = dir.join(&appliance.relative);
        for disk in &appliance.disks {
            let image = if appliance.relative.ends_with(".ova") {
                extract(&location, &disk.file_name, work.path())
            } else {
                location.parent().unwrap().join(&disk.file_name)
            };
            let format = match disk.format {
                DiskFormat::StreamOptimizedVmdk => "vmdk",
                DiskFormat::Qcow2 => "qcow2",
            };
            let info = Command::new(qemu_img())
                .args(["info", "--output=json", "-f", format])
                .arg(&image)
                .output()
                .unwrap();
            assert!(
                info.status.success(),
                "{}",
                String::from_utf8_lossy(&info.stderr)
            );
            let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
            assert_eq!(
                info["virtual-size"], disk.virtual_size,
                "{}",
                disk.file_name
            );
            if disk.format == DiskFormat::StreamOptimizedVmdk {
                assert_eq!(
                    info["format-specific"]["data"]["create-type"],
                    "streamOptimized"
                );
            }
            let raw = work.path().join(format!("{}.raw", disk.file_name));
            disk.write_raw(&raw).unwrap();
            let compare = Command::new(qemu_img())
                .args(["compare", "-f", format, "-F", "raw"])
                .arg(&image)
                .arg(&raw)
                .output()
                .unwrap();
            assert!(
                compare.status.success(),
                "{}: {}",
                disk.file_name,
                String::from_utf8_lossy(&compare.stdout)
            );
            let mut head = vec![0; 2 << 20];
            File::open(&raw).unwrap().read_exact(&mut head).unwrap();
            let text = String::from_utf8_lossy(&head[..128]);
            assert!(text.starts_with("FERRY SAMPLE DISK"), "{text}");
            assert!(
                String::from_utf8_lossy(&head[1 << 20..(1 << 20) + 128])
                    .contains("SECTOR 00000000")
            );
        }
    }
}

#[test]
fn archives_put_the_descriptor_first_and_carry_a_valid_manifest() {
    let (dir, _) = common::samples();
    let vmware = dir.join("ferry-vmware-efi.ova");
    assert_eq!(
        member_names(&vmware),
        [
            "ferry-vmware-efi.ovf",
            "ferry-vmware-efi.mf",
            "ferry-vmware-efi-disk1.vmdk",
            "ferry-vmware-efi-disk2.vmdk"
        ]
    );
    let work = tempfile::tempdir().unwrap();
    let manifest =
        std::fs::read_to_string(extract(&vmware, "ferry-vmware-efi.mf", work.path())).unwrap();
    for line in manifest.lines() {
        let (file, digest) = line
            .strip_prefix("SHA256(")
            .and_then(|rest| rest.split_once(")= "))
            .unwrap();
        let mut bytes = Vec::new();
        File::open(extract(&vmware, file, work.path()))
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), digest, "{file}");
    }
    for ova in ["ferry-virtualbox-bios.ova", "ferry-ovirt.ova"] {
        assert!(member_names(&dir.join(ova))[0].ends_with(".ovf"));
    }
}

#[test]
fn the_same_content_gives_the_same_bytes() {
    let (first, catalog) = common::samples();
    let second = tempfile::tempdir().unwrap();
    let again = write_samples(second.path(), &SampleOptions::from_env()).unwrap();
    assert_eq!(again.appliances, catalog.appliances);
    let mut files = vec![
        "ferry-vmware-efi.ova".to_owned(),
        "ferry-virtualbox-bios.ova".to_owned(),
        "ferry-ovirt.ova".to_owned(),
        "ferry-plain/ferry-plain.ovf".to_owned(),
        "ferry-plain/ferry-plain-disk1.vmdk".to_owned(),
    ];
    files.sort();
    for file in files {
        let a = std::fs::read(first.join(&file)).unwrap();
        let b = std::fs::read(second.path().join(&file)).unwrap();

        assert!(a == b, "{file} differs between two builds");
    }
    let leftovers: Vec<_> = std::fs::read_dir(second.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name.to_string_lossy().starts_with(".ferry-staging"))
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
}
