//! The concerns against OPA itself: `tests/golden/vsphere-opa-concerns.json` holds
//! workload documents and what OPA v1.8.0 answered for each with Forklift's policies
//! (vcsim's default VM, and variations that exercise every rule, the `null`/empty
//! distinctions, the set order, duplicates, and the floating-point controller index).

#![allow(clippy::unwrap_used)]

use serde_json::Value;

use super::super::model::{Cluster, Device, Disk, GuestDisk, GuestNetwork, ObjRef, Vm};
use super::*;

const CASES: &str = include_str!("../../../tests/golden/vsphere-opa-concerns.json");

fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn i(value: &Value, key: &str) -> i64 {
    value[key].as_i64().unwrap_or_default()
}

fn b(value: &Value, key: &str) -> bool {
    value[key].as_bool().unwrap_or_default()
}

fn list<T>(value: &Value, key: &str, item: impl Fn(&Value) -> T) -> Option<Vec<T>> {
    value[key]
        .as_array()
        .map(|items| items.iter().map(item).collect())
}

fn obj_ref(value: &Value) -> ObjRef {
    ObjRef::new(s(value, "kind"), s(value, "id"))
}

/// The model fields the policies read, from a workload document.
fn from_workload(workload: &Value) -> (Vm, Cluster) {
    let mut vm = Vm::default();
    vm.base.name = s(workload, "name");
    vm.change_tracking_enabled = b(workload, "changeTrackingEnabled");
    vm.consolidation_needed = b(workload, "consolidationNeeded");
    vm.cpu_affinity = list(workload, "cpuAffinity", |v| v.as_i64().unwrap_or(0));
    vm.numa_node_affinity = list(workload, "numaNodeAffinity", |v| {
        v.as_str().unwrap_or_default().to_owned()
    });
    vm.cpu_hot_add_enabled = b(workload, "cpuHotAddEnabled");
    vm.cpu_hot_remove_enabled = b(workload, "cpuHotRemoveEnabled");
    vm.memory_hot_add_enabled = b(workload, "memoryHotAddEnabled");
    vm.fault_tolerance_enabled = b(workload, "faultToleranceEnabled");
    vm.tpm_enabled = b(workload, "tpmEnabled");
    vm.disk_enable_uuid = b(workload, "diskEnableUuid");
    vm.host_name = s(workload, "hostName");
    vm.guest_id = s(workload, "guestId");
    vm.guest_name = s(workload, "guestName");
    vm.guest_name_from_vmware_tools = s(workload, "guestNameFromVmwareTools");
    vm.snapshot = obj_ref(&workload["snapshot"]);
    vm.disks = list(workload, "disks", |d| Disk {
        key: i(d, "key"),
        unit_number: i(d, "unitNumber"),
        controller_key: i(d, "controllerKey"),
        file: s(d, "file"),
        datastore: obj_ref(&d["datastore"]),
        capacity: i(d, "capacity"),
        shared: b(d, "shared"),
        rdm: b(d, "rdm"),
        bus: s(d, "bus"),
        mode: s(d, "mode"),
        change_tracking_enabled: b(d, "changeTrackingEnabled"),
        ..Disk::default()
    });
    vm.devices = list(workload, "devices", |d| Device {
        kind: s(d, "kind"),
        key: i(d, "key"),
        pci_slot_number: i(d, "pciSlotNumber"),
    });
    vm.guest_networks = list(workload, "guestNetworks", |n| GuestNetwork {
        mac: s(n, "mac"),
        ip: s(n, "ip"),
        ..GuestNetwork::default()
    });
    vm.guest_disks = list(workload, "guestDisks", |d| GuestDisk {
        key: i(d, "key"),
        disk_path: s(d, "diskPath"),
        capacity: i(d, "capacity"),
        free_space: i(d, "freeSpace"),
        filesystem_type: s(d, "filesystemType"),
    });
    let cluster = Cluster {
        drs_enabled: b(&workload["host"]["cluster"], "drsEnabled"),
        ..Cluster::default()
    };
    (vm, cluster)
}

#[test]
fn concerns_are_what_opa_answers() {
    let cases: Value = serde_json::from_str(CASES).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() > 20);
    for case in cases {
        let (vm, cluster) = from_workload(&case["workload"]);
        let ours = serde_json::to_value(concerns(&vm, Some(&cluster))).unwrap();
        assert_eq!(ours, case["concerns"], "case {}", case["name"]);
    }
}

#[test]
fn the_controller_index_is_opas_float_arithmetic() {
    for key in [0, 100, 200, 202, 1000, 1001, 1003, 15000, 31000] {
        assert_eq!(rego_controller_index(key), "0", "{key}");
    }
    assert_eq!(
        rego_controller_index(16001),
        "%!d(float64=8.881784197001252e-16)"
    );
    assert_eq!(
        rego_controller_index(1002),
        "%!d(float64=-5.551115123125783e-17)"
    );
    // Hostile keys do not panic.
    for key in [i64::MAX, i64::MIN + 1, -202, -1] {
        let _ = rego_controller_index(key);
    }
}

#[test]
fn names_and_operating_systems() {
    assert!(valid_vm_name("a"));
    assert!(valid_vm_name(""));
    assert!(valid_vm_name("Web-01.prod"));
    assert!(!valid_vm_name("-a"));
    assert!(!valid_vm_name("a_b"));
    assert!(!valid_vm_name("café"));
    assert!(!valid_vm_name(&"a".repeat(64)));
    let mut vm = Vm {
        guest_id: "windows2019srvNext_64Guest".into(),
        ..Vm::default()
    };
    assert!(supported_os(&vm));
    vm.guest_id = "windows2019srv_64".into();
    assert!(!supported_os(&vm));
    vm.guest_name = "Red Hat Enterprise Linux 9 (64-bit)".into();
    assert!(supported_os(&vm));
    vm.guest_name_from_vmware_tools = "Debian".into();
    assert!(!supported_os(&vm), "the tools' name wins when set");
    assert_eq!(rego_round_mib(1_572_864), 2);
    assert_eq!(rego_round_mib(-1_572_864), -2);
    assert_eq!(rego_round_mib(1_048_575), 1);
}
