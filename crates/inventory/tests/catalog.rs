//! The OVA inventory over real catalogs: the sample appliances, their rescans and
//! changes, the query trait the controllers use, and hostile input.

#![allow(clippy::unwrap_used)] // test helpers may panic on setup failures

mod common;

use std::sync::Arc;
use std::time::Duration;

use ferry_inventory::ova::concerns::MAX_DISK_BYTES;
use ferry_inventory::ova::model::{ExportSource, Vm};
use ferry_inventory::ova::samples::{BenchDisk, OVIRT_VM_ID, generate_catalog};
use ferry_inventory::ova::{OvaInventory, convert};
use ferry_inventory::{Action, Change, FindError, Inventory, Kind, Ref, SourceVm};

const VM_NETWORK: &str = "ae1badc8c693926f492a01e2f357d6af321b";
const NETWORK_1: &str = "1a45ba1b60b03ce5360b3fff82e16668d795";

fn vm(inventory: &OvaInventory, name: &str) -> Arc<Vm> {
    match inventory.vm(&Ref::name(name)) {
        Ok(SourceVm::Ova(vm)) => vm,
        other => panic!("{name}: {other:?}"),
    }
}

fn concern_ids(vm: &Vm) -> Vec<&str> {
    vm.concerns.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn the_sample_catalog_reads_as_forklift_reads_it() {
    let dir = common::sample_copy();
    let inventory = common::inventory(dir.path());
    let report = inventory.scan().unwrap();
    assert_eq!((report.files, report.parsed), (4, 4));
    assert!(inventory.status().borrow().parity);
    assert_eq!(inventory.problems(), []);

    let names: Vec<String> = inventory
        .list(Kind::Vm)
        .unwrap()
        .into_iter()
        .map(|found| found.name)
        .collect();
    assert_eq!(
        names,
        [
            "ferry-ovirt",
            "ferry-virtualbox-bios",
            "ferry-vmware-efi",
            "ferry-plain"
        ]
    );

    let vmware = vm(&inventory, "ferry-vmware-efi");
    assert_eq!(
        vmware.id,
        convert::ferry_vm_id("/ova/ferry-vmware-efi.ova", 0)
    );
    assert_eq!(vmware.ovf_path, "/ova/ferry-vmware-efi.ova");
    assert_eq!(vmware.export_source, ExportSource::VMware);
    assert_eq!(
        (vmware.firmware.as_str(), vmware.secure_boot),
        ("efi", true)
    );
    assert_eq!((vmware.cpu_count, vmware.cores_per_socket), (4, 2));
    assert_eq!(vmware.memory_bytes(), Ok(2 << 30));
    assert_eq!(vmware.os_type, "rhel9_64Guest");
    let nics: Vec<(&str, &str)> = vmware
        .nics
        .iter()
        .map(|nic| (nic.mac.as_str(), nic.network.as_str()))
        .collect();
    assert_eq!(
        nics,
        [
            ("00:50:56:8a:01:01", "VM Network"),
            ("00:50:56:8a:01:02", "Network 1")
        ]
    );
    let networks: Vec<&str> = vmware.networks.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(networks, [VM_NETWORK, NETWORK_1]);
    let sizes: Vec<i64> = vmware
        .disks
        .iter()
        .map(|disk| disk.capacity_bytes().unwrap())
        .collect();
    assert_eq!(sizes, [64 << 20, 32 << 20]);
    assert_eq!(
        vmware.disks[0].disk_source(),
        "/ova/ferry-vmware-efi.ova::ferry-vmware-efi-disk1.vmdk"
    );
    assert_eq!(concern_ids(&vmware), Vec::<&str>::new());

    let vbox = vm(&inventory, "ferry-virtualbox-bios");
    assert_eq!(vbox.export_source, ExportSource::VirtualBox);
    assert_eq!(vbox.firmware, "");
    assert_eq!(vbox.memory_bytes(), Ok(1 << 30));
    assert_eq!(vbox.nics[0].mac, "");
    assert_eq!(concern_ids(&vbox), ["ova.source.unsupported"]);

    let ovirt = vm(&inventory, "ferry-ovirt");
    assert_eq!(ovirt.id, OVIRT_VM_ID);
    assert_eq!(ovirt.export_source, ExportSource::Ovirt);
    assert_eq!(ovirt.disks[0].name, "b5d1c1f7-3f0e-4a6c-8d2e-7e9b0a1c2d3e");
    assert_eq!(ovirt.disks[0].capacity_bytes(), Ok(1 << 30));
    assert_eq!(concern_ids(&ovirt), ["ova.source.unsupported"]);

    let plain = vm(&inventory, "ferry-plain");
    assert_eq!(plain.ovf_path, "/ova/ferry-plain/ferry-plain.ovf");
    assert_eq!(plain.disks[0].file_path, "/ova/ferry-plain/");
    assert_eq!(plain.firmware, "bios");
    assert_eq!(concern_ids(&plain), Vec::<&str>::new());

    let networks: Vec<String> = inventory
        .list(Kind::Network)
        .unwrap()
        .into_iter()
        .map(|found| found.name)
        .collect();
    assert_eq!(networks, ["ovirtmgmt", "NAT", "VM Network", "Network 1"]);
    assert_eq!(inventory.list(Kind::Disk).unwrap().len(), 5);
    let storages = inventory.list(Kind::Storage).unwrap();
    let disks = inventory.list(Kind::Disk).unwrap();
    assert_eq!(
        storages
            .iter()
            .map(|s| (&s.id, &s.name))
            .collect::<Vec<_>>(),
        disks.iter().map(|d| (&d.id, &d.name)).collect::<Vec<_>>(),
        "one storage per disk, with its ID and name"
    );
}

#[test]
fn references_resolve_by_id_or_name_as_upstream_finds_them() {
    let dir = common::sample_copy();
    let inventory = common::inventory(dir.path());
    assert_eq!(
        inventory.find(Kind::Vm, &Ref::name("x")),
        Err(FindError::NotReady),
        "nothing is answered before the first pass"
    );
    inventory.scan().unwrap();

    let by_name = inventory.find(Kind::Vm, &Ref::name("ferry-ovirt")).unwrap();
    assert_eq!(by_name.id, OVIRT_VM_ID);
    let by_id = inventory.find(Kind::Vm, &Ref::id(OVIRT_VM_ID)).unwrap();
    assert_eq!(by_id.name, "ferry-ovirt");
    let by_path = inventory
        .find(Kind::Vm, &Ref::name("folder/ferry-ovirt"))
        .unwrap();
    assert_eq!(
        by_path.id, OVIRT_VM_ID,
        "only the last segment of a name counts"
    );
    let network = inventory
        .find(Kind::Network, &Ref::name("VM Network"))
        .unwrap();
    assert_eq!(network.id, VM_NETWORK);
    let storage = inventory
        .find(Kind::Storage, &Ref::name("ferry-vmware-efi-disk2.vmdk"))
        .unwrap();
    assert_eq!(
        inventory
            .find(Kind::Disk, &Ref::id(&storage.id))
            .unwrap()
            .name,
        "ferry-vmware-efi-disk2.vmdk"
    );
    assert!(matches!(
        inventory.find(Kind::Vm, &Ref::name("nope")),
        Err(FindError::NotFound { kind: Kind::Vm, .. })
    ));
    assert!(matches!(
        inventory.find(Kind::Network, &Ref::id("0000")),
        Err(FindError::NotFound { .. })
    ));
    assert_eq!(
        inventory.find(Kind::Vm, &Ref::default()),
        Err(FindError::EmptyRef { kind: Kind::Vm })
    );
}

#[test]
fn two_vms_with_one_name_need_their_ids() {
    let dir = common::sample_copy();
    std::fs::create_dir(dir.path().join("copies")).unwrap();
    std::fs::copy(
        dir.path().join("ferry-vmware-efi.ova"),
        dir.path().join("copies/again.ova"),
    )
    .unwrap();
    let inventory = common::inventory(dir.path());
    inventory.scan().unwrap();
    let error = inventory
        .find(Kind::Vm, &Ref::name("ferry-vmware-efi"))
        .unwrap_err();
    assert!(
        matches!(error, FindError::NotUnique { count: 2, .. }),
        "{error}"
    );
    let copy_id = convert::ferry_vm_id("/ova/copies/again.ova", 0);
    let copy = match inventory.vm(&Ref::id(&copy_id)).unwrap() {
        SourceVm::Ova(vm) => vm,
        other => panic!("{other:?}"),
    };
    assert_eq!(concern_ids(&copy), ["ova.name.duplicate"]);
    assert!(copy.concerns[0].assessment.contains(&copy_id));
    assert_eq!(
        inventory.list(Kind::Network).unwrap().len(),
        4,
        "networks are listed once per ID"
    );
}

#[test]
fn rescans_read_only_what_changed_and_publish_changes() {
    let dir = common::sample_copy();
    let inventory = common::inventory(dir.path());
    let mut changes = inventory.subscribe();
    inventory.scan().unwrap();
    let created: Vec<Change> = std::iter::from_fn(|| changes.try_recv().ok()).collect();
    assert_eq!(created.iter().filter(|c| c.kind == Kind::Vm).count(), 4);
    assert!(created.iter().all(|c| c.action == Action::Created));

    let again = inventory.scan().unwrap();
    assert_eq!((again.parsed, again.changes), (0, 0), "nothing re-read");

    let vmware = dir.path().join("ferry-vmware-efi.ova");
    std::fs::File::options()
        .write(true)
        .open(&vmware)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let touched = inventory.scan().unwrap();
    assert_eq!(
        (touched.parsed, touched.changes),
        (1, 0),
        "same content: no change"
    );

    let plain = dir.path().join("ferry-plain/ferry-plain.ovf");
    let text = std::fs::read_to_string(&plain).unwrap();
    std::fs::write(&plain, text.replace(">1024<", ">4096<")).unwrap();
    std::fs::remove_file(dir.path().join("ferry-virtualbox-bios.ova")).unwrap();
    inventory.scan().unwrap();
    let seen: Vec<(Kind, Action, String)> = std::iter::from_fn(|| changes.try_recv().ok())
        .map(|c| (c.kind, c.action, c.name))
        .collect();
    assert!(
        seen.contains(&(Kind::Vm, Action::Updated, "ferry-plain".into())),
        "{seen:?}"
    );
    assert!(seen.contains(&(Kind::Vm, Action::Deleted, "ferry-virtualbox-bios".into())));
    assert!(seen.contains(&(Kind::Network, Action::Deleted, "NAT".into())));
    assert!(seen.contains(&(
        Kind::Storage,
        Action::Deleted,
        "ferry-virtualbox-bios-disk001.vmdk".into()
    )));
    let plain = vm(&inventory, "ferry-plain");
    assert_eq!((plain.revision, plain.memory), (2, 4096));
    assert_eq!(vm(&inventory, "ferry-ovirt").revision, 1);
}

#[tokio::test]
async fn the_running_collector_reaches_parity_and_picks_up_new_appliances() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = common::inventory(dir.path());
    let mut status = inventory.status();
    let mut changes = inventory.subscribe();
    let _task = inventory.spawn();
    tokio::time::timeout(Duration::from_secs(30), status.wait_for(|s| s.parity))
        .await
        .expect("parity in time")
        .unwrap();
    assert_eq!(inventory.list(Kind::Vm).unwrap(), []);

    common::write_ova(
        &dir.path().join("late.ova"),
        &common::descriptor("late", &[(Some("late-disk1.vmdk"), "1", "byte * 2^30")]),
        &["late-disk1.vmdk"],
    );
    inventory.refresh();
    let change = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let change = changes.recv().await.unwrap();
            if change.kind == Kind::Vm {
                return change;
            }
        }
    })
    .await
    .expect("the new VM is announced");
    assert_eq!(
        (change.action, change.name.as_str()),
        (Action::Created, "late")
    );
}

#[test]
fn an_unreadable_catalog_is_reported_not_served_empty() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = common::inventory(&dir.path().join("missing"));
    let error = inventory.scan().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot read the catalog directory")
    );
    let status = inventory.status().borrow().clone();
    assert!(!status.parity);
    assert!(status.error.unwrap().contains("missing"));
    assert_eq!(inventory.list(Kind::Vm), Err(FindError::NotReady));
}

#[test]
fn a_thousand_appliances() {
    let dir = tempfile::tempdir().unwrap();
    let generated = generate_catalog(dir.path(), 1000, &BenchDisk::Placeholder).unwrap();
    let inventory = common::inventory(dir.path());
    let report = inventory.scan().unwrap();
    assert_eq!((report.files, report.parsed), (1000, 1000));
    let names: Vec<String> = inventory
        .list(Kind::Vm)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, generated.vm_names);
    assert_eq!(inventory.problems(), []);
    assert_eq!(inventory.list(Kind::Network).unwrap().len(), 1);
    assert_eq!(inventory.scan().unwrap().parsed, 0);
}

/// Every kind of bad input in one catalog: each file becomes a problem or its VM a
/// concern; nothing panics, nothing outside the catalog is read, nothing is written.
#[test]
fn hostile_catalogs_give_reasons_not_panics() {
    use std::os::unix::ffi::OsStrExt;

    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.ova"), b"not yours").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ok_disk = [(Some("d.vmdk"), "1", "byte * 2^30")];

    // Archives that cannot be read at all.
    let whole = common::TarWriter::new()
        .file("vm.ovf", common::descriptor("cut", &ok_disk).as_bytes())
        .file("d.vmdk", &[7; 4096])
        .finish();
    std::fs::write(root.join("cut-in-descriptor.ova"), &whole[..700]).unwrap();
    std::fs::write(root.join("cut-in-disk.ova"), &whole[..whole.len() - 3000]).unwrap();
    common::TarWriter::new()
        .file("d.vmdk", b"x")
        .write(&root.join("no-descriptor.ova"));
    std::fs::write(root.join("not-a-tar.ova"), [0x5a; 3000]).unwrap();
    common::write_ova(
        &root.join("xxe.ova"),
        r#"<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]><Envelope><VirtualSystem><Name>&x;</Name></VirtualSystem></Envelope>"#,
        &[],
    );
    common::write_ova(
        &root.join("laughs.ova"),
        r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Envelope><VirtualSystem><Name>&c;</Name></VirtualSystem></Envelope>"#,
        &[],
    );
    common::TarWriter::new()
        .file(
            "vm.ovf",
            b"<Envelope><VirtualSystem><Name>caf\xe9</Name></VirtualSystem></Envelope>",
        )
        .write(&root.join("latin1.ova"));
    common::write_ova(&root.join("html.ova"), "<html><body/></html>", &[]);
    let huge = std::fs::File::create(root.join("huge.ovf")).unwrap();
    huge.set_len(100 << 20).unwrap();
    std::fs::write(root.join(std::ffi::OsStr::from_bytes(b"caf\xe9.ova")), b"x").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.ova"), root.join("escape.ova")).unwrap();

    // Archives whose VMs are listed with concerns.
    common::TarWriter::new()
        .file("../../etc/cron.d/evil", b"x")
        .member(b"link.vmdk", tar::EntryType::Symlink, b"")
        .file(
            "vm.ovf",
            common::descriptor("unsafe-members", &[(Some("link.vmdk"), "1", "byte * 2^30")])
                .as_bytes(),
        )
        .member(b"/abs/path", tar::EntryType::Regular, b"x")
        .write(&root.join("unsafe-members.ova"));
    common::write_ova(
        &root.join("no-file.ova"),
        &common::descriptor(
            "no-file",
            &[
                (Some("d.vmdk"), "1", "byte * 2^30"),
                (None, "1", "byte * 2^30"),
            ],
        ),
        &["d.vmdk"],
    );
    let exabytes = (MAX_DISK_BYTES as u64 * 1024).to_string();
    let capacities = [
        ("zero", "0", "byte"),
        ("negative", "-1", "byte * 2^30"),
        ("exabytes", exabytes.as_str(), "byte"),
        ("overflow", "9000000000", "byte * 2^40"),
        ("kilobytes", "1", "kilobytes"),
        ("placeholder", "${disk.size}", "byte"),
    ];
    for (name, capacity, units) in capacities {
        common::write_ova(
            &root.join(format!("capacity-{name}.ova")),
            &common::descriptor(
                &format!("capacity-{name}"),
                &[(Some("d.vmdk"), capacity, units)],
            ),
            &["d.vmdk"],
        );
    }
    common::write_ova(
        &root.join("escaping-href.ova"),
        &common::descriptor(
            "escaping-href",
            &[(Some("../../../etc/shadow"), "1", "byte * 2^30")],
        ),
        &[],
    );
    common::write_ova(
        &root.join("twin-a.ova"),
        &common::descriptor("twin", &ok_disk),
        &["d.vmdk"],
    );
    common::write_ova(
        &root.join("twin-b.ova"),
        &common::descriptor("twin", &ok_disk),
        &["d.vmdk"],
    );
    let mut many = common::TarWriter::new().file(
        "vm.ovf",
        common::descriptor("many-members", &ok_disk).as_bytes(),
    );
    for i in 0..10_000 {
        many = many.file(&format!("extra/{i}.bin"), b"");
    }
    many.file("d.vmdk", b"x")
        .write(&root.join("many-members.ova"));

    let same_uuid = common::descriptor("same-uuid", &ok_disk).replace(
        r#"ovf:id="same-uuid""#,
        r#"ovf:id="6f9619ff-8b86-d011-b42d-00c04fc964ff""#,
    );
    common::write_ova(&root.join("same-uuid-a.ova"), &same_uuid, &["d.vmdk"]);
    common::write_ova(&root.join("same-uuid-b.ova"), &same_uuid, &["d.vmdk"]);
    common::write_ova(
        &root.join("collection.ova"),
        r#"<Envelope><VirtualSystemCollection><VirtualSystem id="inner"/></VirtualSystemCollection></Envelope>"#,
        &[],
    );
    common::write_ova(&root.join("empty-envelope.ova"), "<Envelope/>", &[]);
    std::fs::create_dir(root.join("unpacked")).unwrap();
    std::fs::write(
        root.join("unpacked/vm.ovf"),
        common::descriptor("unpacked", &[(Some("gone.vmdk"), "1", "byte * 2^30")]),
    )
    .unwrap();

    let before = snapshot_tree(root);
    let outside_before = snapshot_tree(outside.path());
    let inventory = common::inventory(root);
    inventory.scan().unwrap();
    assert_eq!(snapshot_tree(root), before, "the catalog is not written to");
    assert_eq!(snapshot_tree(outside.path()), outside_before);

    let problems: Vec<(String, &str)> = inventory
        .problems()
        .into_iter()
        .map(|p| (p.subject, p.reason))
        .collect();
    let expected = [
        ("/ova/cut-in-descriptor.ova", "ArchiveTruncated"),
        ("/ova/no-descriptor.ova", "DescriptorMissing"),
        ("/ova/xxe.ova", "DescriptorHasDtd"),
        ("/ova/laughs.ova", "DescriptorHasDtd"),
        ("/ova/latin1.ova", "DescriptorNotUtf8"),
        ("/ova/html.ova", "DescriptorNotOvf"),
        ("/ova/huge.ovf", "DescriptorTooLarge"),
        ("/ova/escape.ova", "SymlinkOutsideCatalog"),
        ("/ova/caf\u{fffd}.ova", "NameNotUtf8"),
        ("/ova/same-uuid-b.ova", "DuplicateVmId"),
        ("/ova/collection.ova", "VirtualSystemCollectionIgnored"),
        ("/ova/empty-envelope.ova", "DescriptorHasNoVm"),
    ];
    for (subject, reason) in expected {
        assert!(
            problems.contains(&(subject.to_owned(), reason)),
            "{subject} {reason} missing from {problems:#?}"
        );
    }
    assert!(
        problems.iter().any(|(s, _)| s == "/ova/not-a-tar.ova"),
        "{problems:#?}"
    );
    for problem in inventory.problems() {
        assert!(!problem.message.is_empty());
        assert!(!problem.message.contains("not yours"));
    }

    let concerns = |name: &str| -> Vec<String> {
        vm(&inventory, name)
            .concerns
            .iter()
            .map(|c| c.id.clone())
            .filter(|id| id != "ova.name.duplicate")
            .collect()
    };
    assert_eq!(concerns("cut"), ["ova.archive.truncated"]);
    assert_eq!(
        concerns("unsafe-members"),
        ["ova.archive.unsafe", "ova.disk.file.missing"]
    );
    assert_eq!(concerns("no-file"), ["ova.disk.file.missing"]);
    for (name, _, _) in capacities {
        assert_eq!(
            concerns(&format!("capacity-{name}")),
            ["ova.disk.capacity.invalid"],
            "capacity-{name}"
        );
    }
    assert_eq!(concerns("escaping-href"), ["ova.disk.file.unsafe"]);
    assert!(matches!(
        inventory.find(Kind::Vm, &Ref::name("twin")),
        Err(FindError::NotUnique { count: 2, .. })
    ));
    assert_eq!(concerns("many-members"), Vec::<String>::new());
    assert_eq!(concerns("unpacked"), ["ova.disk.file.missing"]);
    let same = inventory
        .find(Kind::Vm, &Ref::name("same-uuid"))
        .expect("the first of two VMs with one UUID is listed");
    assert_eq!(same.id, "6f9619ff-8b86-d011-b42d-00c04fc964ff");
}

/// Every path under `root` with its length and a fingerprint (not following links).
fn snapshot_tree(root: &std::path::Path) -> Vec<(std::path::PathBuf, u64, String)> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let metadata = entry.metadata().unwrap();
                // Large (sparse) files: length and modification time; others: content.
                let fingerprint = if metadata.len() > 1 << 20 {
                    format!("{:?}", metadata.modified().unwrap())
                } else {
                    hex::encode(Sha256::digest(std::fs::read(entry.path()).unwrap()))
                };
                out.push((entry.path(), metadata.len(), fingerprint));
            } else {
                out.push((entry.path(), 0, "link".into()));
            }
        }
    }
    out.sort();
    out
}
