//! The adapters on handwritten property values: what vcsim cannot produce (RDM,
//! multi-writer sharing, PCI bridges, guest networks, DVS members, NAS, IORM, ...) and
//! values of the wrong shape.

#![allow(clippy::unwrap_used)]

use ferry_vim::Array;

use super::*;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn obj(type_name: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut object = DataObject::new(type_name);
    for (name, value) in fields {
        object.push(name, value);
    }
    Value::Object(object)
}

fn untyped(fields: Vec<(&str, Value)>) -> Value {
    let mut object = DataObject::default();
    for (name, value) in fields {
        object.push(name, value);
    }
    Value::Object(object)
}

fn array(type_name: &str, items: Vec<Value>) -> Value {
    Value::Array(Array {
        type_name: type_name.to_owned(),
        items,
    })
}

fn moref(kind: &str, value: &str) -> Value {
    Value::MoRef(MoRef::new(kind, value))
}

fn assign<'a>(path: &'a str, value: &'a Value) -> Assign<'a> {
    Assign {
        path,
        value: Some(value),
    }
}

fn unset(path: &str) -> Assign<'_> {
    Assign { path, value: None }
}

fn controller(type_name: &str, key: i64, devices: &[i64]) -> Value {
    let mut fields = vec![("key", text(&key.to_string()))];
    for device in devices {
        fields.push(("device", text(&device.to_string())));
    }
    obj(type_name, fields)
}

fn disk(key: i64, controller_key: i64, unit: Option<i64>, backing: Value) -> Value {
    let mut fields = vec![
        ("key", text(&key.to_string())),
        ("backing", backing),
        ("controllerKey", text(&controller_key.to_string())),
    ];
    if let Some(unit) = unit {
        fields.push(("unitNumber", text(&unit.to_string())));
    }
    fields.push(("capacityInKB", text("1024")));
    fields.push(("capacityInBytes", text(&(1 << 30).to_string())));
    obj("VirtualDisk", fields)
}

fn flat(file: &str, sharing: &str) -> Value {
    obj(
        "VirtualDiskFlatVer2BackingInfo",
        vec![
            ("fileName", text(file)),
            ("datastore", moref("Datastore", "datastore-1")),
            ("diskMode", text("persistent")),
            ("sharing", text(sharing)),
            ("uuid", text("6000C29a-serial")),
        ],
    )
}

fn nic(type_name: &str, key: i64, mac: &str, backing: Value, slot: i64) -> Value {
    obj(
        type_name,
        vec![
            ("key", text(&key.to_string())),
            ("backing", backing),
            (
                "connectable",
                untyped(vec![("startConnected", text("false"))]),
            ),
            (
                "slotInfo",
                obj(
                    "VirtualDevicePciBusSlotInfo",
                    vec![("pciSlotNumber", text(&slot.to_string()))],
                ),
            ),
            ("macAddress", text(mac)),
        ],
    )
}

fn option(key: &str, value: &str) -> Value {
    obj(
        "OptionValue",
        vec![
            ("key", text(key)),
            ("value", Value::String(value.to_owned())),
        ],
    )
}

#[test]
fn rdm_shared_raw_and_unknown_disk_backings() {
    let devices = array(
        "ArrayOfVirtualDevice",
        vec![
            controller("VirtualLsiLogicController", 1000, &[2000, 2001]),
            controller("VirtualAHCIController", 15000, &[16000]),
            controller("VirtualNVMEController", 31000, &[]),
            disk(
                2000,
                1000,
                Some(0),
                obj(
                    "VirtualDiskRawDiskMappingVer1BackingInfo",
                    vec![
                        ("fileName", text("[ds1] vm/rdm.vmdk")),
                        ("datastore", moref("Datastore", "datastore-1")),
                        ("compatibilityMode", text("physicalMode")),
                        ("diskMode", text("independent_persistent")),
                        ("deviceName", text("vml.0200")),
                        ("lunUuid", text("0200000000")),
                        ("uuid", text("rdm-uuid")),
                        ("sharing", text("sharingMultiWriter")),
                    ],
                ),
            ),
            disk(
                2001,
                1000,
                Some(1),
                flat("[ds1] vm/shared.vmdk", "sharingMultiWriter"),
            ),
            disk(
                16000,
                15000,
                None,
                obj(
                    "VirtualDiskRawDiskVer2BackingInfo",
                    vec![
                        ("descriptorFileName", text("[ds1] vm/raw.vmdk")),
                        ("deviceName", text("/vmfs/devices/disks/naa.1")),
                    ],
                ),
            ),
            disk(
                16001,
                15000,
                Some(1),
                obj(
                    "VirtualDiskSeSparseBackingInfo",
                    vec![("fileName", text("[ds1] vm/delta.vmdk"))],
                ),
            ),
            // No backing at all: skipped, not a panic.
            obj("VirtualDisk", vec![("key", text("9"))]),
        ],
    );
    let mut vm = Vm::default();
    apply_vm(&mut vm, &[assign("config.hardware.device", &devices)]);
    let disks = vm.disks();
    assert_eq!(disks.len(), 3, "{disks:#?}");

    let rdm = &disks[0];
    assert!(rdm.rdm && rdm.physical_mode && rdm.shared);
    assert_eq!(rdm.bus, "scsi");
    assert_eq!(rdm.mode, "independent_persistent");
    assert_eq!(rdm.device_name, "vml.0200");
    assert_eq!(rdm.lun_uuid, "0200000000");
    assert_eq!(rdm.serial, "rdm-uuid");
    assert_eq!(rdm.datastore, ObjRef::new("Datastore", "datastore-1"));

    let shared = &disks[1];
    assert!(shared.shared && !shared.rdm && !shared.physical_mode);
    assert_eq!(shared.serial, "6000C29a-serial");
    assert_eq!(shared.capacity, 1 << 30);

    let raw = &disks[2];
    assert!(raw.rdm && raw.physical_mode);
    assert_eq!(raw.file, "[ds1] vm/raw.vmdk");
    assert_eq!(raw.bus, "sata");
    assert_eq!(raw.unit_number, 0, "a missing unit number reads as 0");
    assert!(raw.datastore.is_empty() && raw.mode.is_empty());

    // Controllers are known by bus; libvirt order is scsi, sata, ide, nvme.
    let order: Vec<i64> = vm.disks_libvirt_order().iter().map(|d| d.key).collect();
    assert_eq!(order, [2000, 2001, 16000]);
    let order: Vec<i64> = vm.disks_vmware_order().iter().map(|d| d.key).collect();
    assert_eq!(order, [16000, 2000, 2001]);
    let json = serde_json::to_value(rdm).unwrap();
    assert_eq!(json["physicalMode"], true);
    assert_eq!(json["deviceName"], "vml.0200");
    let json = serde_json::to_value(shared).unwrap();
    assert!(json.get("physicalMode").is_none() && json.get("lunUuid").is_none());
}

#[test]
fn nics_networks_pci_addresses_and_guest_order() {
    let devices = array(
        "ArrayOfVirtualDevice",
        vec![
            nic(
                "VirtualVmxnet3",
                4000,
                "00:50:56:AA:00:01",
                obj(
                    "VirtualEthernetCardNetworkBackingInfo",
                    vec![("network", moref("Network", "network-7"))],
                ),
                // bridge index 1 (pciBridge0), function 0, device 0.
                0b00001_00000,
            ),
            nic(
                "VirtualE1000e",
                4001,
                "00:50:56:AA:00:02",
                obj(
                    "VirtualEthernetCardDistributedVirtualPortBackingInfo",
                    vec![(
                        "port",
                        untyped(vec![
                            ("switchUuid", text("50 1e")),
                            ("portgroupKey", text("dvportgroup-13")),
                        ]),
                    )],
                ),
                // bridge index 6 (pciBridge5), function 1, device 3.
                (1 << 10) | (6 << 5) | 3,
            ),
            nic(
                "VirtualVmxnet3",
                4002,
                "00:50:56:aa:00:03",
                obj(
                    "VirtualEthernetCardOpaqueNetworkBackingInfo",
                    vec![("opaqueNetworkId", text("nsx-1"))],
                ),
                0,
            ),
            // An SR-IOV card is a device, not a NIC; a NIC without backing is neither.
            nic(
                "VirtualSriovEthernetCard",
                4003,
                "00:50:56:aa:00:04",
                obj("VirtualEthernetCardNetworkBackingInfo", vec![]),
                0,
            ),
            obj("VirtualE1000", vec![("key", text("4004"))]),
            obj("VirtualPCIPassthrough", vec![("key", text("5000"))]),
            obj("VirtualUSBController", vec![("key", text("7000"))]),
        ],
    );
    let options = array(
        "ArrayOfOptionValue",
        vec![
            option("pciBridge0.present", "TRUE"),
            option("pciBridge0.pciSlotNumber", "17"),
            option("pciBridge5.pciSlotNumber", "22"),
            option("pciBridge5.functions", "8"),
            option("pciBridgeX.pciSlotNumber", "1"),
        ],
    );
    let guest = array(
        "ArrayOfGuestNicInfo",
        vec![
            obj(
                "GuestNicInfo",
                vec![
                    ("network", text("VM Network")),
                    ("macAddress", text("00:50:56:AA:00:02")),
                    ("deviceConfigId", text("4001")),
                    (
                        "ipConfig",
                        untyped(vec![
                            (
                                "ipAddress",
                                untyped(vec![
                                    ("ipAddress", text("10.0.0.5")),
                                    ("prefixLength", text("24")),
                                    ("origin", text("dhcp")),
                                ]),
                            ),
                            (
                                "ipAddress",
                                untyped(vec![
                                    ("ipAddress", text("fe80::1")),
                                    ("prefixLength", text("64")),
                                ]),
                            ),
                        ]),
                    ),
                    ("dnsConfig", untyped(vec![("ipAddress", text("10.0.0.1"))])),
                ],
            ),
            // No IP configuration: skipped, but it still counts as device 1.
            obj(
                "GuestNicInfo",
                vec![("macAddress", text("00:50:56:aa:00:09"))],
            ),
        ],
    );
    let mut vm = Vm::default();
    apply_vm(
        &mut vm,
        &[
            assign("config.hardware.device", &devices),
            assign("config.extraConfig", &options),
            assign("guest.net", &guest),
        ],
    );
    let kinds: Vec<&str> = vm.devices().iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "VirtualVmxnet3",
            "VirtualE1000e",
            "VirtualVmxnet3",
            "VirtualSriovEthernetCard",
            "VirtualPCIPassthrough",
            "VirtualUSBController"
        ]
    );
    let bridges = vm.pci_bridges.as_deref().unwrap();
    assert_eq!(bridges.len(), 2);
    assert_eq!((bridges[0].number, bridges[0].functions), (0, 1));
    assert_eq!((bridges[1].number, bridges[1].functions), (5, 8));
    let nics = vm.nics();
    // The guest reports the E1000e first; the others keep their device order.
    let macs: Vec<&str> = nics.iter().map(|n| n.mac.as_str()).collect();
    assert_eq!(
        macs,
        [
            "00:50:56:aa:00:02",
            "00:50:56:aa:00:01",
            "00:50:56:aa:00:03"
        ]
    );
    assert_eq!(nics[0].network, ObjRef::new("Network", "dvportgroup-13"));
    assert_eq!(nics[1].network, ObjRef::new("Network", "network-7"));
    assert_eq!(nics[2].network, ObjRef::new("Network", "nsx-1"));
    assert_eq!(nics[0].index, 1);
    assert!(!nics[0].start_connected);
    // pciBridge5 is after pciBridge0 (1 function): buses 2, then 3 + function 1.
    assert_eq!(nics[0].pci_address, "0000:04:03.0");
    assert_eq!(nics[1].pci_address, "0000:02:00.0");
    assert_eq!(nics[2].pci_address, "");
    assert_eq!(nics[1].model, "VirtualVmxnet3");

    let guest = vm.guest_networks.as_deref().unwrap();
    assert_eq!(guest.len(), 2);
    assert_eq!(guest[0].mac, "00:50:56:aa:00:02");
    assert_eq!(guest[0].device, "0");
    assert_eq!(guest[0].prefix_length, 24);
    assert_eq!(guest[0].dns.as_deref(), Some(&["10.0.0.1".to_owned()][..]));
    assert_eq!(guest[1].ip, "fe80::1");

    // A powered-off guest reports NICs without IPs: the known list stays.
    let empty = array("ArrayOfGuestNicInfo", vec![]);
    apply_vm(&mut vm, &[assign("guest.net", &empty)]);
    assert_eq!(vm.guest_networks.as_deref().map(<[_]>::len), Some(2));
}

#[test]
fn pci_addresses_follow_upstream() {
    let bridges = [
        PciBridge {
            number: 0,
            slot_number: 17,
            functions: 1,
        },
        PciBridge {
            number: 4,
            slot_number: 21,
            functions: 8,
        },
    ];
    assert_eq!(pci_address(0, &bridges), "");
    assert_eq!(pci_address(-3, &bridges), "");
    assert_eq!(pci_address(7, &[]), "0000:00:07.0");
    assert_eq!(pci_address(32, &[]), "", "vcsim's slot 32 without bridges");
    assert_eq!(pci_address(32, &bridges), "0000:02:00.0");
    assert_eq!(pci_address((5 << 5) | 1, &bridges), "0000:03:01.0");
    assert_eq!(
        pci_address((7 << 10) | (5 << 5) | 1, &bridges),
        "0000:0a:01.0"
    );
    assert_eq!(pci_address(9 << 5, &bridges), "", "unknown bridge");
}

#[test]
fn extra_config_cbt_numa_uuid_and_apps() {
    let devices = array(
        "ArrayOfVirtualDevice",
        vec![
            controller("ParaVirtualSCSIController", 1001, &[2000]),
            disk(2000, 1001, Some(3), flat("[ds1] vm/a.vmdk", "sharingNone")),
            disk(2001, 1001, Some(4), flat("[ds1] vm/b.vmdk", "")),
        ],
    );
    let options = array(
        "ArrayOfOptionValue",
        vec![
            option("CTKENABLED", "TRUE"),
            option("SCSI1:3.ctkEnabled", "true"),
            option("scsi1:4.ctkEnabled", "false"),
            option("disk.EnableUUID", "notabool"),
            option("numa.nodeAffinity", "0,1"),
            option(
                "guestinfo.appInfo",
                r#"{"applications":[{"a":"sshd","v":"9"}]}"#,
            ),
            obj(
                "OptionValue",
                vec![("key", text("disk.EnableUUID")), ("value", Value::Int(1))],
            ),
        ],
    );
    let mut vm = Vm::default();
    // Options first, devices after: the remembered per-disk flags still apply.
    apply_vm(&mut vm, &[assign("config.extraConfig", &options)]);
    apply_vm(&mut vm, &[assign("config.hardware.device", &devices)]);
    assert!(vm.change_tracking_enabled);
    assert!(
        !vm.disk_enable_uuid,
        "a bad bool and a non-string are ignored"
    );
    assert_eq!(
        vm.numa_node_affinity.as_deref(),
        Some(&["0".to_owned(), "1".to_owned()][..])
    );
    assert_eq!(vm.guest_apps.as_deref().unwrap()[0].name, "sshd");
    let flags: Vec<bool> = vm
        .disks()
        .iter()
        .map(|d| d.change_tracking_enabled)
        .collect();
    assert_eq!(flags, [true, false]);
    assert_eq!(disk_ctk_key(&vm.disks()[0]), "scsi1:3");
    assert!(!vm.disks()[1].shared, "an empty sharing is not shared");
}

#[test]
fn vm_scalars_snapshot_tools_and_guest_id() {
    let snapshot = obj(
        "VirtualMachineSnapshotInfo",
        vec![(
            "currentSnapshot",
            moref("VirtualMachineSnapshot", "snapshot-7"),
        )],
    );
    let affinity = obj(
        "VirtualMachineAffinityInfo",
        vec![("affinitySet", text("0")), ("affinitySet", text("2"))],
    );
    let boot = obj(
        "VirtualMachineBootOptions",
        vec![("efiSecureBootEnabled", text("true"))],
    );
    let ft = obj("FaultTolerancePrimaryConfigInfo", vec![("role", text("1"))]);
    let name = Value::String("web%2f01%20x".into());
    let guest_id = Value::String("rhel9_64Guest".into());
    let empty = Value::String(String::new());
    let power = Value::Typed {
        type_name: "VirtualMachinePowerState".into(),
        text: "poweredOff".into(),
    };
    let mut vm = Vm::default();
    apply_vm(
        &mut vm,
        &[
            assign("name", &name),
            assign("snapshot", &snapshot),
            assign("config.cpuAffinity", &affinity),
            assign("config.bootOptions", &boot),
            assign("config.ftInfo", &ft),
            assign("summary.guest.guestId", &guest_id),
            assign("runtime.powerState", &power),
            unset("guest.toolsVersionStatus2"),
            unset("runtime.host"),
        ],
    );
    assert_eq!(vm.base.name, "web/01 x");
    assert_eq!(
        vm.snapshot,
        ObjRef::new("VirtualMachineSnapshot", "snapshot-7")
    );
    assert_eq!(vm.cpu_affinity.as_deref(), Some(&[0, 2][..]));
    assert!(vm.secure_boot && vm.fault_tolerance_enabled);
    assert_eq!(vm.tools_version_status, "<nil>");
    assert_eq!(vm.power_state, "poweredOff");
    assert_eq!(vm.host, "");
    // A later empty guest ID keeps the last one; an unset snapshot clears it.
    apply_vm(
        &mut vm,
        &[assign("summary.guest.guestId", &empty), unset("snapshot")],
    );
    assert_eq!(vm.guest_id, "rhel9_64Guest");
    assert!(vm.snapshot.is_empty() && vm.snapshot_tree.is_none());
}

#[test]
fn guest_disks_and_routes() {
    let devices = array(
        "ArrayOfVirtualDevice",
        vec![
            controller("VirtualLsiLogicSASController", 1000, &[2000]),
            disk(2000, 1000, Some(0), flat("[ds1] vm/c.vmdk", "sharingNone")),
        ],
    );
    let disks = array(
        "ArrayOfGuestDiskInfo",
        vec![
            obj(
                "GuestDiskInfo",
                vec![
                    ("diskPath", text("C:\\")),
                    ("capacity", text("100")),
                    ("freeSpace", text("50")),
                    ("filesystemType", text("NTFS")),
                    ("mappings", untyped(vec![("key", text("2000"))])),
                ],
            ),
            obj("GuestDiskInfo", vec![("diskPath", text("D:\\"))]),
        ],
    );
    let stacks = array(
        "ArrayOfGuestStackInfo",
        vec![
            obj(
                "GuestStackInfo",
                vec![
                    ("dnsConfig", untyped(vec![("ipAddress", text("1.1.1.1"))])),
                    (
                        "ipRouteConfig",
                        untyped(vec![
                            (
                                "ipRoute",
                                untyped(vec![
                                    ("network", text("0.0.0.0")),
                                    ("prefixLength", text("0")),
                                    (
                                        "gateway",
                                        untyped(vec![
                                            ("ipAddress", text("10.0.0.1")),
                                            ("device", text("0")),
                                        ]),
                                    ),
                                ]),
                            ),
                            (
                                "ipRoute",
                                untyped(vec![
                                    ("network", text("10.0.0.0")),
                                    ("gateway", untyped(vec![])),
                                ]),
                            ),
                        ]),
                    ),
                ],
            ),
            // No route configuration: nothing, no panic.
            obj("GuestStackInfo", vec![]),
        ],
    );
    let mut vm = Vm::default();
    apply_vm(
        &mut vm,
        &[
            assign("config.hardware.device", &devices),
            assign("guest.disk", &disks),
            assign("guest.ipStack", &stacks),
        ],
    );
    let guest_disks = vm.guest_disks.as_deref().unwrap();
    assert_eq!(guest_disks[0].key, 2000);
    assert_eq!(guest_disks[1].key, 0);
    assert_eq!(vm.disks()[0].win_drive_letter, "c");
    let stacks = vm.guest_ip_stacks.as_deref().unwrap();
    assert_eq!(stacks.len(), 1);
    assert_eq!(stacks[0].gateway, "10.0.0.1");
    let json = serde_json::to_value(&guest_disks[1]).unwrap();
    assert_eq!(json, serde_json::json!({"key": 0, "diskPath": "D:\\"}));
    assert_eq!(windows_drive_letter("c:/"), "c");
    assert_eq!(windows_drive_letter("/boot"), "");
}

#[test]
fn hosts_networks_switches_and_datastores() {
    let vnics = array(
        "ArrayOfHostVirtualNic",
        vec![
            obj(
                "HostVirtualNic",
                vec![
                    ("device", text("vmk1")),
                    ("key", text("k1")),
                    ("portgroup", text("")),
                    (
                        "spec",
                        untyped(vec![
                            (
                                "ip",
                                untyped(vec![
                                    ("ipAddress", text("10.0.0.2")),
                                    ("subnetMask", text("255.255.255.0")),
                                    (
                                        "ipV6Config",
                                        untyped(vec![(
                                            "ipV6Address",
                                            untyped(vec![("ipAddress", text("fd00::2"))]),
                                        )]),
                                    ),
                                ]),
                            ),
                            (
                                "distributedVirtualPort",
                                untyped(vec![("portgroupKey", text("dvportgroup-13"))]),
                            ),
                            ("mtu", text("9000")),
                        ]),
                    ),
                ],
            ),
            obj(
                "HostVirtualNic",
                vec![
                    ("device", text("vmk0")),
                    ("key", text("k0")),
                    ("portgroup", text("Management Network")),
                    ("spec", untyped(vec![("mtu", text("1500"))])),
                ],
            ),
        ],
    );
    let net_config = array(
        "ArrayOfVirtualNicManagerNetConfig",
        vec![obj(
            "VirtualNicManagerNetConfig",
            vec![
                ("nicType", text("management")),
                (
                    "candidateVnic",
                    untyped(vec![
                        ("key", text("management.k0")),
                        (
                            "spec",
                            untyped(vec![("ip", untyped(vec![("ipAddress", text("10.1.1.1"))]))]),
                        ),
                    ]),
                ),
                ("selectedVnic", text("management.k0")),
            ],
        )],
    );
    let luns = array(
        "ArrayOfScsiLun",
        vec![
            obj(
                "HostScsiDisk",
                vec![
                    ("key", text(" key-1 ")),
                    ("canonicalName", text("naa.1")),
                    ("vendor", text("VMware  ")),
                ],
            ),
            obj("HostScsiLun", vec![("key", text("cdrom"))]),
        ],
    );
    let status = Value::Typed {
        type_name: "ManagedEntityStatus".into(),
        text: "yellow".into(),
    };
    let sockets = Value::Int(2);
    let mut host = Host::default();
    apply_host(
        &mut host,
        &[
            assign("config.network.vnic", &vnics),
            assign("config.virtualNicManagerInfo.netConfig", &net_config),
            assign("config.storageDevice.scsiLun", &luns),
            assign("overallStatus", &status),
            assign("summary.hardware.numCpuPkgs", &sockets),
            assign("parent", &moref("ClusterComputeResource", "domain-c7")),
        ],
    );
    let vnics = host.network.vnics.as_deref().unwrap();
    assert_eq!(vnics[0].device, "vmk1", "largest MTU first");
    assert_eq!(vnics[0].d_port_group, "dvportgroup-13");
    assert_eq!(vnics[0].ip_v6_address.as_deref().unwrap(), ["fd00::2"]);
    assert_eq!(host.management_ips, ["10.1.1.1"]);
    let disks = host.host_scsi_disks.as_deref().unwrap();
    assert_eq!(disks.len(), 1);
    assert_eq!(
        (disks[0].key.as_str(), disks[0].vendor.as_str()),
        ("key-1", "VMware")
    );
    assert_eq!(host.status, "yellow");
    assert_eq!(host.cpu_sockets, 2);
    assert_eq!(host.cluster, "domain-c7");

    let members = array(
        "ArrayOfDistributedVirtualSwitchHostMember",
        vec![
            obj(
                "DistributedVirtualSwitchHostMember",
                vec![(
                    "config",
                    untyped(vec![
                        ("host", moref("HostSystem", "host-1")),
                        (
                            "backing",
                            obj(
                                "DistributedVirtualSwitchHostMemberPnicBacking",
                                vec![
                                    ("pnicSpec", untyped(vec![("pnicDevice", text("vmnic1"))])),
                                    ("pnicSpec", untyped(vec![("pnicDevice", text("vmnic2"))])),
                                ],
                            ),
                        ),
                    ]),
                )],
            ),
            obj("DistributedVirtualSwitchHostMember", vec![]),
        ],
    );
    let mut switch = Network::default();
    apply_dv_switch(&mut switch, &[assign("config.host", &members)]);
    let hosts = switch.host.as_deref().unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].host, ObjRef::new("Host", "host-1"));
    assert_eq!(hosts[0].pnic, ["vmnic1", "vmnic2"]);
    assert_eq!(
        serde_json::to_value(&hosts[0]).unwrap(),
        serde_json::json!({"Host": {"kind": "Host", "id": "host-1"}, "PNIC": ["vmnic1", "vmnic2"]})
    );

    let trunk = obj(
        "VMwareDVSPortSetting",
        vec![(
            "vlan",
            obj(
                "VmwareDistributedVirtualSwitchTrunkVlanSpec",
                vec![
                    (
                        "vlanId",
                        untyped(vec![("start", text("1")), ("end", text("10"))]),
                    ),
                    (
                        "vlanId",
                        untyped(vec![("start", text("20")), ("end", text("20"))]),
                    ),
                ],
            ),
        )],
    );
    let opaque = obj(
        "OpaqueNetworkSummary",
        vec![("opaqueNetworkId", text("nsx-9"))],
    );
    let tags = array("ArrayOfTag", vec![]);
    let mut group = Network::default();
    apply_network(
        &mut group,
        &[
            assign("config.defaultPortConfig", &trunk),
            assign("summary", &opaque),
            assign("tag", &tags),
            assign(
                "config.distributedVirtualSwitch",
                &moref("VmwareDistributedVirtualSwitch", "dvs-1"),
            ),
        ],
    );
    assert_eq!(group.vlan_id, "1-10,20-20");
    assert_eq!(group.key, "nsx-9");
    assert_eq!(group.tag, "");
    assert_eq!(group.dv_switch, ObjRef::new("Network", "dvs-1"));

    let nas = obj(
        "NasDatastoreInfo",
        vec![(
            "nas",
            untyped(vec![
                ("remoteHost", text("nfs1")),
                ("remotePath", text("/export")),
                ("remoteHostNames", text("nfs1")),
                ("remoteHostNames", text("nfs2")),
            ]),
        )],
    );
    let iorm = obj(
        "StorageIORMInfo",
        vec![
            ("enabled", text("true")),
            ("congestionThreshold", text("2")),
            ("congestionThresholdMode", text("manual")),
            ("percentOfPeakThroughput", text("120")),
        ],
    );
    let mut datastore = Datastore::default();
    apply_datastore(
        &mut datastore,
        &[assign("info", &nas), assign("iormConfiguration", &iorm)],
    );
    assert_eq!(datastore.nas_remote_host, "nfs1");
    assert_eq!(
        datastore.nas_remote_host_names.as_deref().unwrap(),
        ["nfs1", "nfs2"]
    );
    assert!(datastore.backing_devices_names.is_none());
    assert!(datastore.iorm_enabled);
    assert_eq!(datastore.iorm_congestion_threshold, 30);
    assert_eq!(datastore.iorm_congestion_threshold_mode, "manual");
    assert_eq!(datastore.iorm_percent_of_peak_throughput, 100);
    let vmfs = obj(
        "VmfsDatastoreInfo",
        vec![(
            "vmfs",
            untyped(vec![(
                "extent",
                untyped(vec![("diskName", text("naa.6000"))]),
            )]),
        )],
    );
    apply_datastore(&mut datastore, &[assign("info", &vmfs)]);
    assert_eq!(
        datastore.backing_devices_names.as_deref().unwrap(),
        ["naa.6000"]
    );
}

#[test]
fn folders_clusters_and_references() {
    let children = array(
        "ArrayOfManagedObjectReference",
        vec![
            moref("VirtualMachine", "vm-1"),
            moref("ResourcePool", "resgroup-2"),
            moref("VmwareDistributedVirtualSwitch", "dvs-3"),
            moref("DistributedVirtualSwitch", "dvs-4"),
        ],
    );
    let mut folder = Folder::default();
    apply_folder(
        &mut folder,
        &[
            assign("childEntity", &children),
            assign("parent", &moref("Datacenter", "datacenter-2")),
        ],
    );
    let kinds: Vec<&str> = folder
        .children
        .as_deref()
        .unwrap()
        .iter()
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        ["VM", "ResourcePool", "Network", "DistributedVirtualSwitch"]
    );
    assert_eq!(folder.datacenter, "datacenter-2");
    let empty = array("ArrayOfManagedObjectReference", vec![]);
    apply_folder(&mut folder, &[assign("childEntity", &empty)]);
    assert!(
        folder.children.is_none(),
        "an empty list is null, as upstream"
    );

    let behavior = Value::Typed {
        type_name: "DrsBehavior".into(),
        text: "fullyAutomated".into(),
    };
    let das = array("ArrayOfClusterDasVmConfigInfo", vec![]);
    let mut cluster = Cluster::default();
    apply_cluster(
        &mut cluster,
        &[
            assign("configuration.drsConfig.enabled", &Value::Bool(true)),
            assign("configuration.drsConfig.defaultVmBehavior", &behavior),
            assign("configuration.dasVmConfig", &das),
            unset("configuration.drsVmConfig"),
        ],
    );
    assert!(cluster.drs_enabled);
    assert_eq!(cluster.drs_behavior, "fullyAutomated");
    assert_eq!(cluster.das_vms.as_deref(), Some(&[][..]));
    assert_eq!(cluster.drs_vms.as_deref(), Some(&[][..]));
}

#[test]
fn wrong_shapes_leave_fields_alone() {
    let weird = [
        Value::Int(7),
        Value::Bool(true),
        Value::String("x".into()),
        Value::MoRef(MoRef::new("Folder", "group-1")),
        array("ArrayOfString", vec![Value::Int(1), text("y")]),
        obj("SomethingElse", vec![("key", text("nan"))]),
        Value::Binary(vec![0xff]),
    ];
    for value in &weird {
        let mut vm = Vm::default();
        let changes: Vec<Assign<'_>> = super::super::collector::vm_paths("8.0")
            .into_iter()
            .map(|path| assign(path, value))
            .collect();
        apply_vm(&mut vm, &changes);
        let mut host = Host::default();
        let paths = ferry_vim::forklift::HOST_PATHS;
        let changes: Vec<Assign<'_>> = paths.iter().map(|path| assign(path, value)).collect();
        apply_host(&mut host, &changes);
        let mut datastore = Datastore::default();
        let paths = ferry_vim::forklift::DATASTORE_PATHS;
        let changes: Vec<Assign<'_>> = paths.iter().map(|path| assign(path, value)).collect();
        apply_datastore(&mut datastore, &changes);
    }
    // Nothing panicked; a string field given an int stays empty.
    let mut vm = Vm::default();
    apply_vm(&mut vm, &[assign("config.uuid", &Value::Int(3))]);
    assert_eq!(vm.uuid, "");
}
