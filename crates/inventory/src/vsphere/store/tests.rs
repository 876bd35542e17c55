//! The snapshot under updates: revisions, changes, shared flags, resyncs, paths.

#![allow(clippy::unwrap_used)]

use ferry_vim::{Array, DataObject, MoRef, PropertyChange, Value};

use super::*;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn moref(kind: &str, value: &str) -> Value {
    Value::MoRef(MoRef::new(kind, value))
}

fn update(kind: UpdateKind, obj_kind: &str, id: &str, changes: Vec<(&str, Value)>) -> ObjectUpdate {
    ObjectUpdate {
        kind,
        obj: MoRef::new(obj_kind, id),
        changes: changes
            .into_iter()
            .map(|(name, value)| PropertyChange {
                name: name.to_owned(),
                op: ChangeOp::Assign,
                value: Some(value),
            })
            .collect(),
        missing: Vec::new(),
    }
}

fn disk_devices(files: &[&str]) -> Value {
    let mut items = vec![Value::Object(
        DataObject::new("ParaVirtualSCSIController").with("key", text("1000")),
    )];
    for (index, file) in files.iter().enumerate() {
        let backing = DataObject::new("VirtualDiskFlatVer2BackingInfo")
            .with("fileName", text(file))
            .with("datastore", moref("Datastore", "datastore-1"))
            .with("diskMode", text("persistent"));
        items.push(Value::Object(
            DataObject::new("VirtualDisk")
                .with("key", text(&(2000 + index).to_string()))
                .with("backing", Value::Object(backing))
                .with("controllerKey", text("1000"))
                .with("unitNumber", text(&index.to_string()))
                .with("capacityInBytes", text("1073741824")),
        ));
    }
    Value::Array(Array {
        type_name: "ArrayOfVirtualDevice".into(),
        items,
    })
}

/// A datacenter with its folders, a cluster with one host, a network, a datastore.
fn skeleton(snapshot: &mut Snapshot) {
    let mut touched = Touched::default();
    let enter = UpdateKind::Enter;
    for u in [
        update(
            enter,
            "Folder",
            "group-d1",
            vec![("name", string("Datacenters"))],
        ),
        update(
            enter,
            "Datacenter",
            "datacenter-2",
            vec![
                ("name", string("DC0")),
                ("parent", moref("Folder", "group-d1")),
                ("vmFolder", moref("Folder", "group-v3")),
                ("hostFolder", moref("Folder", "group-h4")),
            ],
        ),
        update(
            enter,
            "Folder",
            "group-v3",
            vec![
                ("name", string("vm")),
                ("parent", moref("Datacenter", "datacenter-2")),
            ],
        ),
        update(
            enter,
            "Folder",
            "group-h4",
            vec![
                ("name", string("host")),
                ("parent", moref("Datacenter", "datacenter-2")),
            ],
        ),
        update(
            enter,
            "ClusterComputeResource",
            "domain-c7",
            vec![
                ("name", string("C0")),
                ("parent", moref("Folder", "group-h4")),
            ],
        ),
        update(
            enter,
            "HostSystem",
            "host-10",
            vec![
                ("name", string("esx1")),
                ("parent", moref("ClusterComputeResource", "domain-c7")),
            ],
        ),
        update(
            enter,
            "DistributedVirtualPortgroup",
            "dvportgroup-11",
            vec![("name", string("pg"))],
        ),
        update(
            enter,
            "Datastore",
            "/tmp/x@folder-5",
            vec![("name", string("ds"))],
        ),
    ] {
        snapshot.apply(&u, &mut touched);
    }
    snapshot.finish(touched);
}

fn vm_update(kind: UpdateKind, id: &str, name: &str, files: &[&str]) -> ObjectUpdate {
    update(
        kind,
        "VirtualMachine",
        id,
        vec![
            ("name", string(name)),
            ("parent", moref("Folder", "group-v3")),
            ("runtime.host", moref("HostSystem", "host-10")),
            ("config.uuid", string(&format!("uuid-{id}"))),
            ("config.hardware.device", disk_devices(files)),
            ("config.changeVersion", string("1")),
        ],
    )
}

fn apply(snapshot: &mut Snapshot, updates: &[ObjectUpdate]) -> Vec<Change> {
    let mut touched = Touched::default();
    for u in updates {
        snapshot.apply(u, &mut touched);
    }
    snapshot.finish(touched)
}

#[test]
fn enter_modify_leave_with_revisions_and_changes() {
    let mut snapshot = Snapshot::default();
    skeleton(&mut snapshot);
    let changes = apply(
        &mut snapshot,
        &[vm_update(
            UpdateKind::Enter,
            "vm-20",
            "web",
            &["[ds] web/web.vmdk"],
        )],
    );
    assert_eq!(changes, [change(Kind::Vm, Action::Created, "vm-20", "web")]);
    let vm = snapshot.vm("vm-20").unwrap();
    assert_eq!(vm.base.revision, 1);
    assert!(!vm.concerns.is_empty(), "validated on arrival");
    assert_eq!(snapshot.path(&vm.base), "/DC0/vm/web");

    // A modify that changes nothing is no change and no revision.
    let same = update(
        UpdateKind::Modify,
        "VirtualMachine",
        "vm-20",
        vec![("name", string("web"))],
    );
    assert!(apply(&mut snapshot, &[same]).is_empty());
    assert_eq!(snapshot.vm("vm-20").unwrap().base.revision, 1);

    let renamed = update(
        UpdateKind::Modify,
        "VirtualMachine",
        "vm-20",
        vec![("name", string("web2"))],
    );
    let changes = apply(&mut snapshot, &[renamed]);
    assert_eq!(
        changes,
        [change(Kind::Vm, Action::Updated, "vm-20", "web2")]
    );
    assert_eq!(snapshot.vm("vm-20").unwrap().base.revision, 2);

    // Created then modified in one batch is one creation.
    let changes = apply(
        &mut snapshot,
        &[
            vm_update(UpdateKind::Enter, "vm-21", "db", &["[ds] db/db.vmdk"]),
            update(
                UpdateKind::Modify,
                "VirtualMachine",
                "vm-21",
                vec![("name", string("db1"))],
            ),
        ],
    );
    assert_eq!(changes, [change(Kind::Vm, Action::Created, "vm-21", "db1")]);

    let leave = ObjectUpdate {
        kind: UpdateKind::Leave,
        obj: MoRef::new("VirtualMachine", "vm-20"),
        changes: Vec::new(),
        missing: Vec::new(),
    };
    let changes = apply(&mut snapshot, &[leave]);
    assert_eq!(
        changes,
        [change(Kind::Vm, Action::Deleted, "vm-20", "web2")]
    );
    assert!(snapshot.vm("vm-20").is_none());

    // Datastore IDs are sanitized, in the map and in disks.
    assert!(snapshot.datastore("/tmp/x@folder-5").is_none());
    let (id, _) = sanitize_datastore_id("/tmp/x@folder-5");
    assert_eq!(snapshot.datastore(&id).unwrap().base.name, "ds");
}

#[test]
fn shared_flags_follow_file_counts_and_bump_both_vms() {
    let mut snapshot = Snapshot::default();
    skeleton(&mut snapshot);
    apply(
        &mut snapshot,
        &[
            vm_update(UpdateKind::Enter, "vm-20", "a", &["[ds] a/a.vmdk"]),
            vm_update(UpdateKind::Enter, "vm-21", "b", &["[ds] b/b.vmdk"]),
        ],
    );
    // b attaches a's disk.
    let changes = apply(
        &mut snapshot,
        &[vm_update(
            UpdateKind::Modify,
            "vm-21",
            "b",
            &["[ds] b/b.vmdk", "[ds] a/a.vmdk"],
        )],
    );
    let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["vm-20", "vm-21"]);
    let a = snapshot.vm("vm-20").unwrap();
    assert!(a.disks()[0].shared);
    assert!(
        a.concerns
            .iter()
            .any(|c| c.id == "vmware.disk.shared.detected")
    );
    let b = snapshot.vm("vm-21").unwrap();
    assert_eq!(
        b.disks().iter().map(|d| d.shared).collect::<Vec<_>>(),
        [false, true]
    );
    // a goes away: b's copy is no longer shared.
    let leave = ObjectUpdate {
        kind: UpdateKind::Leave,
        obj: MoRef::new("VirtualMachine", "vm-20"),
        changes: Vec::new(),
        missing: Vec::new(),
    };
    apply(&mut snapshot, &[leave]);
    let b = snapshot.vm("vm-21").unwrap();
    assert!(b.disks().iter().all(|d| !d.shared));
    assert!(
        !b.concerns
            .iter()
            .any(|c| c.id == "vmware.disk.shared.detected")
    );
}

#[test]
fn host_changes_reach_their_vms_and_config_changes_ask_for_a_reread() {
    let mut snapshot = Snapshot::default();
    skeleton(&mut snapshot);
    apply(
        &mut snapshot,
        &[vm_update(
            UpdateKind::Enter,
            "vm-20",
            "a",
            &["[ds] a/a.vmdk"],
        )],
    );
    let maintenance = update(
        UpdateKind::Modify,
        "HostSystem",
        "host-10",
        vec![("summary.runtime.inMaintenanceMode", Value::Bool(true))],
    );
    let changes = apply(&mut snapshot, &[maintenance]);
    assert_eq!(changes, [change(Kind::Vm, Action::Updated, "vm-20", "a")]);
    let drs = update(
        UpdateKind::Modify,
        "ClusterComputeResource",
        "domain-c7",
        vec![("configuration.drsConfig.enabled", Value::Bool(true))],
    );
    apply(&mut snapshot, &[drs]);
    let vm = snapshot.vm("vm-20").unwrap();
    assert!(vm.concerns.iter().any(|c| c.id == "vmware.drs.enabled"));

    let mut touched = Touched::default();
    snapshot.apply(
        &update(
            UpdateKind::Modify,
            "VirtualMachine",
            "vm-20",
            vec![("config.changeVersion", string("2"))],
        ),
        &mut touched,
    );
    assert!(touched.reread.contains("vm-20"));
    let mut touched = Touched::default();
    snapshot.apply(
        &update(
            UpdateKind::Modify,
            "VirtualMachine",
            "vm-20",
            vec![("config.changeVersion", string("2"))],
        ),
        &mut touched,
    );
    assert!(
        touched.reread.is_empty(),
        "same version: nothing to re-read"
    );
}

#[test]
fn a_resync_deletes_ghosts_and_keeps_revisions() {
    let mut snapshot = Snapshot::default();
    skeleton(&mut snapshot);
    apply(
        &mut snapshot,
        &[
            vm_update(UpdateKind::Enter, "vm-20", "a", &["[ds] a/a.vmdk"]),
            vm_update(UpdateKind::Enter, "vm-21", "b", &["[ds] b/b.vmdk"]),
        ],
    );
    apply(
        &mut snapshot,
        &[update(
            UpdateKind::Modify,
            "VirtualMachine",
            "vm-20",
            vec![("name", string("a2"))],
        )],
    );
    assert_eq!(snapshot.vm("vm-20").unwrap().base.revision, 2);

    // The server came back: vm-20 as it was before, vm-21 gone, vm-22 new.
    let mut next = Snapshot::new(snapshot.about.clone());
    skeleton(&mut next);
    apply(
        &mut next,
        &[
            vm_update(UpdateKind::Enter, "vm-20", "a2", &["[ds] a/a.vmdk"]),
            vm_update(UpdateKind::Enter, "vm-22", "c", &["[ds] c/c.vmdk"]),
        ],
    );
    let mut changes = snapshot.replace_with(next);
    changes.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        changes,
        [
            change(Kind::Vm, Action::Deleted, "vm-21", "b"),
            change(Kind::Vm, Action::Created, "vm-22", "c"),
        ]
    );
    assert_eq!(snapshot.vms.len(), 2);
    assert_eq!(
        snapshot.vm("vm-20").unwrap().base.revision,
        2,
        "unchanged keeps its revision"
    );
    assert_eq!(snapshot.vm("vm-22").unwrap().base.revision, 1);
}

#[test]
fn paths_as_upstream_builds_them() {
    let mut snapshot = Snapshot::default();
    skeleton(&mut snapshot);
    let host = snapshot.host("host-10").unwrap().clone();
    assert_eq!(snapshot.path(&host.base), "/DC0/host/C0/esx1");
    let root = snapshot.folder("group-d1").unwrap().clone();
    assert_eq!(snapshot.path(&root.base), "/Datacenters");
    let dc = snapshot.datacenter("datacenter-2").unwrap().clone();
    assert_eq!(snapshot.path(&dc.base), "/DC0");
    let pg = snapshot.network("dvportgroup-11").unwrap().clone();
    assert_eq!(snapshot.path(&pg.base), "/pg", "no parent");
    let mut orphan = Base {
        name: "o".into(),
        parent: super::super::model::ObjRef::new("Folder", "missing"),
        ..Base::default()
    };
    assert_eq!(snapshot.path(&orphan), "", "unknown parent");
    orphan.parent = super::super::model::ObjRef::new("ResourcePool", "resgroup-1");
    assert_eq!(snapshot.path(&orphan), "/o", "a vApp member");

    // A parent cycle (hostile data) ends without a path.
    let mut touched = Touched::default();
    for (id, parent) in [("group-a", "group-b"), ("group-b", "group-a")] {
        snapshot.apply(
            &update(
                UpdateKind::Enter,
                "Folder",
                id,
                vec![("name", string(id)), ("parent", moref("Folder", parent))],
            ),
            &mut touched,
        );
    }
    let looped = snapshot.folder("group-a").unwrap().clone();
    assert_eq!(snapshot.path(&looped.base), "");
}

#[test]
fn unknown_types_are_counted_not_kept() {
    let mut snapshot = Snapshot::default();
    let mut touched = Touched::default();
    snapshot.apply(
        &update(
            UpdateKind::Enter,
            "ResourcePool",
            "resgroup-1",
            vec![("name", string("rp"))],
        ),
        &mut touched,
    );
    assert_eq!(touched.unknown.get("ResourcePool"), Some(&1));
    assert!(touched.is_empty());
    // A modify of an object never entered is taken as an enter.
    let changes = apply(
        &mut snapshot,
        &[update(
            UpdateKind::Modify,
            "VirtualMachine",
            "vm-9",
            vec![("name", string("x"))],
        )],
    );
    assert_eq!(changes, [change(Kind::Vm, Action::Created, "vm-9", "x")]);
}
