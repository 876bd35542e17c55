//! The vSphere adapter against an inventory built by hand: upstream's `validator_test.go`
//! and `builder_test.go` tables re-expressed, plus the cases the seam adds (names with
//! slashes and non-ASCII, VMs without disks, RDM and shared disks).

use super::*;
use crate::adapter::{PlanView, VmDisks, VmFinding};
use crate::settings::Settings;
use crate::template::{self, TemplateError};
use ferry_api::ObjectMeta;
use ferry_api::destination::kubevirt::Disk as KvDisk;
use ferry_api::k8s_openapi::ByteString;
use ferry_api::k8s_openapi::api::core::v1::PersistentVolumeClaim;
use ferry_api::mapping::{
    AccessMode, DestinationNetwork, DestinationNetworkType, DestinationStorage, MapStatus,
    NetworkMap, NetworkMapSpec, NetworkPair, NetworkSourceRef, OffloadPlugin, StorageMap,
    StorageMapSpec, StoragePair, VSphereXcopyPluginConfig, VolumeMode,
};
use ferry_api::plan::{MigrationType, PlanSpec, Vm as PlanVm};
use ferry_api::provider::ProviderSpec;
use ferry_api::reference::Refs;
use ferry_api::{Plan, Provider};
use ferry_inventory::Inventory;
use ferry_inventory::vsphere::Snapshot;
use ferry_inventory::vsphere::VsphereInventory;
use ferry_inventory::vsphere::ids::IdKey;
use ferry_inventory::vsphere::model::{
    Base, Cluster, Datacenter, Datastore, Disk, Folder, GuestIpStack, GuestNetwork, Host, Network,
    Nic, ObjRef, Vm, kind, variant,
};

const NS: &str = "ns";
const TARGET: &str = "tgt";
const DS: &str = "datastore-1";
const NET: &str = "network-1";
const DVPG: &str = "dvportgroup-2";
const DVPG_KEY: &str = "dvportgroup-2";
const HOST: &str = "host-1";
const STANDALONE: &str = "host-9";

fn base(id: &str, name: &str, parent: ObjRef) -> Base {
    Base {
        id: id.into(),
        variant: String::new(),
        name: name.into(),
        parent,
        revision: 1,
    }
}

fn disk(key: i64, file: &str, capacity: i64) -> Disk {
    Disk {
        key,
        unit_number: key - 2000,
        controller_key: 1000,
        file: file.into(),
        datastore: ObjRef::new(kind::DATASTORE, DS),
        capacity,
        bus: "scsi".into(),
        mode: "persistent".into(),
        ..Disk::default()
    }
}

fn nic(network: &str, mac: &str, key: i64) -> Nic {
    Nic {
        network: ObjRef::new(kind::NETWORK, network),
        mac: mac.into(),
        device_key: key,
        start_connected: true,
        model: "VirtualVmxnet3".into(),
        ..Nic::default()
    }
}

/// A VM with upstream's `defaultVM` data: powered on, tools installed and running, two
/// disks on the datastore, one NIC on the standard network.
fn vm(id: &str, name: &str) -> Vm {
    Vm {
        base: base(id, name, ObjRef::new(kind::FOLDER, "folder-3")),
        folder: "folder-3".into(),
        host: HOST.into(),
        uuid: "422c6a2a-5ea9-1083-39f3-3b140fffb444".into(),
        instance_uuid: "5012c0a2-0000-0000-0000-000000000001".into(),
        firmware: "bios".into(),
        power_state: "poweredOn".into(),
        connection_state: "connected".into(),
        cpu_count: 4,
        cores_per_socket: 2,
        memory_mb: 2048,
        guest_id: "rhel9_64Guest".into(),
        tools_status: "toolsOk".into(),
        tools_running_status: "guestToolsRunning".into(),
        tools_version_status: "guestToolsCurrent".into(),
        disks: Some(vec![
            disk(
                2000,
                &format!("[datastore1] VMs/{name}/{name}-disk1.vmdk"),
                1024,
            ),
            disk(
                2001,
                &format!("[datastore1] VMs/{name}/{name}-disk2.vmdk"),
                2048,
            ),
        ]),
        nics: Some(vec![nic(NET, "00:50:56:aa:bb:01", 4000)]),
        networks: Some(vec![ObjRef::new(kind::NETWORK, NET)]),
        guest_networks: Some(vec![GuestNetwork {
            device: "0".into(),
            device_config_id: 4000,
            mac: "00:50:56:aa:bb:01".into(),
            ip: "10.0.0.5".into(),
            origin: "manual".into(),
            prefix_length: 24,
            ..GuestNetwork::default()
        }]),
        guest_ip_stacks: Some(vec![GuestIpStack {
            device: "0".into(),
            gateway: "10.0.0.1".into(),
            network: "0.0.0.0".into(),
            ..GuestIpStack::default()
        }]),
        host_name: "web.example.com".into(),
        ..Vm::default()
    }
}

fn objects<T>(items: Vec<(String, T)>) -> Arc<BTreeMap<IdKey, Arc<T>>> {
    Arc::new(
        items
            .into_iter()
            .map(|(id, item)| (IdKey::new(&id), Arc::new(item)))
            .collect(),
    )
}

/// The inventory: `DC0` with cluster `C0` (host `host-1`, `esx1`, time zone UTC), a
/// standalone host, datastore `datastore1`, a standard network and a port group.
#[allow(clippy::field_reassign_with_default)]
fn snapshot(vms: Vec<Vm>) -> Snapshot {
    let root = ObjRef::new(kind::FOLDER, "group-d1");
    let dc = ObjRef::new(kind::DATACENTER, "datacenter-2");
    let mut snapshot = Snapshot::default();
    snapshot.folders = objects(
        [
            ("group-d1", "Datacenters", ObjRef::default()),
            ("folder-3", "vm", dc.clone()),
            ("folder-4", "host", dc.clone()),
            ("folder-5", "datastore", dc.clone()),
            ("folder-6", "network", dc.clone()),
        ]
        .into_iter()
        .map(|(id, name, parent)| {
            (
                id.to_string(),
                Folder {
                    base: base(id, name, parent),
                    ..Folder::default()
                },
            )
        })
        .collect(),
    );
    snapshot.datacenters = objects(vec![(
        "datacenter-2".into(),
        Datacenter {
            base: base("datacenter-2", "DC0", root),
            ..Datacenter::default()
        },
    )]);
    let folder4 = ObjRef::new(kind::FOLDER, "folder-4");
    let mut standalone = Cluster {
        base: base("domain-s9", "esx9.example.com", folder4.clone()),
        ..Cluster::default()
    };
    standalone.base.variant = variant::COMPUTE_RESOURCE.into();
    snapshot.clusters = objects(vec![
        (
            "domain-c1".into(),
            Cluster {
                base: base("domain-c1", "C0", folder4),
                drs_enabled: true,
                ..Cluster::default()
            },
        ),
        ("domain-s9".into(), standalone),
    ]);
    snapshot.hosts = objects(vec![
        (
            HOST.into(),
            Host {
                base: base(HOST, "esx1", ObjRef::new(kind::CLUSTER, "domain-c1")),
                cluster: "domain-c1".into(),
                status: "green".into(),
                timezone: "UTC".into(),
                ..Host::default()
            },
        ),
        (
            STANDALONE.into(),
            Host {
                base: base(
                    STANDALONE,
                    "esx9.example.com",
                    ObjRef::new(kind::CLUSTER, "domain-s9"),
                ),
                cluster: "domain-s9".into(),
                status: "green".into(),
                in_maintenance_mode: true,
                ..Host::default()
            },
        ),
    ]);
    let mut dvpg = Network {
        base: base(DVPG, "DC0_DVPG0", ObjRef::default()),
        key: DVPG_KEY.into(),
        ..Network::default()
    };
    dvpg.base.variant = variant::DV_PORT_GROUP.into();
    let mut standard = Network {
        base: base(NET, "VM Network", ObjRef::new(kind::FOLDER, "folder-6")),
        ..Network::default()
    };
    standard.base.variant = variant::STANDARD.into();
    snapshot.networks = objects(vec![(NET.into(), standard), (DVPG.into(), dvpg)]);
    snapshot.datastores = objects(vec![(
        DS.into(),
        Datastore {
            base: base(DS, "datastore1", ObjRef::new(kind::FOLDER, "folder-5")),
            ..Datastore::default()
        },
    )]);
    snapshot.vms = objects(vms.into_iter().map(|vm| (vm.base.id.clone(), vm)).collect());
    snapshot
}

struct Fixture {
    plan: Plan,
    source: Provider,
    destination: Provider,
    network_map: Option<NetworkMap>,
    storage_map: Option<StorageMap>,
    inventory: Arc<VsphereInventory>,
    settings: Settings,
    adapter: VsphereAdapter,
}

fn pair(source: &str, kind: DestinationNetworkType, nad: &str) -> NetworkPair {
    NetworkPair {
        source: NetworkSourceRef {
            id: source.into(),
            ..NetworkSourceRef::default()
        },
        destination: DestinationNetwork {
            r#type: kind,
            namespace: if nad.is_empty() {
                String::new()
            } else {
                TARGET.into()
            },
            name: nad.into(),
        },
    }
}

fn references(ids: &[&str]) -> Refs {
    Refs {
        list: ids.iter().map(|id| Ref::id(*id)).collect(),
    }
}

impl Fixture {
    fn new(vms: Vec<Vm>) -> Self {
        let planned: Vec<PlanVm> = vms
            .iter()
            .map(|vm| PlanVm {
                id: vm.base.id.clone(),
                name: vm.base.name.clone(),
                ..PlanVm::default()
            })
            .collect();
        let inventory = VsphereInventory::new();
        inventory.install(snapshot(vms));
        let mut plan = Plan::new(
            NS,
            "p",
            PlanSpec {
                target_namespace: TARGET.into(),
                vms: planned,
                ..PlanSpec::default()
            },
        );
        plan.metadata.uid = Some("uid-p".into());
        let mut source = Provider::new(
            NS,
            "vc",
            ProviderSpec {
                r#type: Some("vsphere".into()),
                url: "https://vcenter.example.com/sdk".into(),
                ..ProviderSpec::default()
            },
        );
        source.metadata.uid = Some("uid-vc".into());
        source.status.fingerprint = "2C:11:ED:D7".into();
        let destination = Provider::host(NS);
        let mut network_map = NetworkMap::new(
            NS,
            "net",
            NetworkMapSpec {
                map: vec![
                    pair(NET, DestinationNetworkType::Pod, ""),
                    pair(DVPG, DestinationNetworkType::Multus, "nad-1"),
                ],
                ..NetworkMapSpec::default()
            },
        );
        network_map.status = MapStatus {
            references: references(&[NET, DVPG]),
            ..MapStatus::default()
        };
        let mut storage_map = StorageMap::new(
            NS,
            "st",
            StorageMapSpec {
                map: vec![StoragePair {
                    source: Ref::id(DS),
                    destination: DestinationStorage {
                        storage_class: "standard".into(),
                        access_mode: Some(AccessMode::ReadWriteOnce),
                        volume_mode: Some(VolumeMode::Block),
                    },
                    offload_plugin: None,
                }],
                ..StorageMapSpec::default()
            },
        );
        storage_map.status = MapStatus {
            references: references(&[DS]),
            ..MapStatus::default()
        };
        Self {
            plan,
            source,
            destination,
            network_map: Some(network_map),
            storage_map: Some(storage_map),
            inventory,
            settings: Settings::default(),
            adapter: VsphereAdapter::new(),
        }
    }

    fn view(&self) -> PlanView<'_> {
        PlanView {
            plan: &self.plan,
            source: &self.source,
            destination: &self.destination,
            network_map: self.network_map.as_ref(),
            storage_map: self.storage_map.as_ref(),
            inventory: self.inventory.as_ref(),
            settings: &self.settings,
        }
    }

    fn vm(&self, id: &str) -> SourceVm {
        self.inventory
            .vm(&Ref::id(id))
            .expect("VM in the inventory")
    }

    fn findings(&self, id: &str) -> Vec<VmFinding> {
        self.adapter
            .check_vm(&self.view(), &self.vm(id))
            .expect("checks run")
    }

    fn secret(&self, insecure: bool) -> Secret {
        let mut data = BTreeMap::from([
            (
                "user".to_string(),
                ByteString(b"administrator@vsphere.local".to_vec()),
            ),
            (
                "password".to_string(),
                ByteString(b"s3cr3t-Passw0rd".to_vec()),
            ),
        ]);
        if insecure {
            data.insert("insecureSkipVerify".into(), ByteString(b"true".to_vec()));
        }
        Secret {
            data: Some(data),
            ..Secret::default()
        }
    }
}

fn with(mut vm: Vm, change: impl FnOnce(&mut Vm)) -> Vm {
    change(&mut vm);
    vm
}

// ---------------------------------------------------------------------------------------
// Validator
// ---------------------------------------------------------------------------------------

#[test]
fn a_clean_vm_passes_every_check() {
    let fixture = Fixture::new(vec![vm("vm-1", "web01")]);
    assert_eq!(fixture.findings("vm-1"), Vec::<VmFinding>::new());
    let facts = fixture.adapter.facts(&fixture.vm("vm-1")).unwrap();
    assert_eq!(facts.macs, ["00:50:56:aa:bb:01"]);
    assert_eq!(facts.nic_networks, [Ref::id(NET)]);
    assert!(!facts.windows);
}

/// Upstream `MigrationType` / `WarmMigration` (plan spec §2.8).
#[test]
fn migration_types() {
    let mut fixture = Fixture::new(vec![vm("vm-1", "web01")]);
    for (t, ok) in [
        (None, true),
        (Some(MigrationType::Cold), true),
        (Some(MigrationType::Warm), true),
        (Some(MigrationType::Conversion), true),
        (Some(MigrationType::Live), false),
    ] {
        fixture.plan.spec.r#type = t.clone();
        assert_eq!(fixture.adapter.migration_type(&fixture.view()), ok, "{t:?}");
        assert!(fixture.adapter.warm_migration(&fixture.view()));
    }
}

/// Upstream `validator_test.go` (`validateStaticIPs`).
#[test]
fn upstream_static_ips_table() {
    let static_vm = |change: fn(&mut Vm)| {
        with(vm("vm-1", "test"), |v| {
            v.nics = Some(vec![nic(NET, "mac1", 4000), nic(NET, "mac2", 4001)]);
            v.guest_networks = Some(vec![
                GuestNetwork {
                    mac: "mac1".into(),
                    origin: "STATIC".into(),
                    ip: "192.168.1.5".into(),
                    prefix_length: 24,
                    ..GuestNetwork::default()
                },
                GuestNetwork {
                    mac: "mac2".into(),
                    origin: "DHCP".into(),
                    ..GuestNetwork::default()
                },
            ]);
            change(v);
        })
    };
    type Case = (&'static str, fn(&mut Vm), bool, bool);
    let cases: [Case; 7] = [
        ("vm without static IPs, plan preserving", |_| {}, true, true),
        (
            "vm without static IPs, plan not preserving",
            |_| {},
            false,
            true,
        ),
        (
            "vm with another guest network MAC, plan preserving",
            |v| {
                v.guest_networks.as_mut().unwrap().push(GuestNetwork {
                    mac: "mac3".into(),
                    ..GuestNetwork::default()
                })
            },
            true,
            false,
        ),
        (
            "vm with full guest networks, plan preserving",
            |v| {
                v.guest_networks.as_mut().unwrap().push(GuestNetwork {
                    mac: "mac2".into(),
                    ..GuestNetwork::default()
                })
            },
            true,
            true,
        ),
        (
            "non-windows, not preserving",
            |v| v.guest_id = "rhel8_64Guest".into(),
            false,
            true,
        ),
        (
            "non-windows, preserving",
            |v| v.guest_id = "rhel8_64Guest".into(),
            true,
            true,
        ),
        (
            "NICs but no guest networks",
            |v| v.guest_networks = None,
            true,
            false,
        ),
    ];
    for (name, change, preserve, ok) in cases {
        let mut fixture = Fixture::new(vec![static_vm(change)]);
        fixture.plan.spec.preserve_static_ips = Some(preserve);
        assert_eq!(
            !fixture
                .findings("vm-1")
                .contains(&VmFinding::MissingGuestIps),
            ok,
            "{name}"
        );
    }
}

/// Upstream `validator_test.go` (`GuestToolsInstalled`).
#[test]
fn upstream_guest_tools_table() {
    type Case = (&'static str, fn(&mut Vm), bool);
    let cases: [Case; 8] = [
        ("installed and running", |_| {}, true),
        (
            "not installed",
            |v| v.tools_status = "toolsNotInstalled".into(),
            false,
        ),
        (
            "not running",
            |v| v.tools_running_status = "guestToolsNotRunning".into(),
            false,
        ),
        (
            "unmanaged (open-vm-tools)",
            |v| v.tools_version_status = "guestToolsUnmanaged".into(),
            true,
        ),
        (
            "empty status (encrypted VM)",
            |v| v.tools_status = String::new(),
            false,
        ),
        ("null status", |v| v.tools_status = "null".into(), false),
        ("<nil> status", |v| v.tools_status = "<nil>".into(), false),
        (
            "powered off, tools ignored",
            |v| {
                v.power_state = "poweredOff".into();
                v.tools_status = "toolsNotInstalled".into();
            },
            true,
        ),
    ];
    for (name, change, ok) in cases {
        let fixture = Fixture::new(vec![with(vm("vm-1", "web01"), change)]);
        assert_eq!(
            !fixture
                .findings("vm-1")
                .contains(&VmFinding::GuestToolsIssue),
            ok,
            "{name}"
        );
    }
}

/// Upstream `validator_test.go` (`PVCNameTemplate`), through the builder's template data.
#[test]
fn upstream_pvc_name_template_table() {
    let mut fixture = Fixture::new(vec![with(vm("test-vm-id", "test"), |v| {
        v.disks = Some(vec![
            Disk {
                win_drive_letter: "c".into(),
                ..disk(2000, "[datastore1] VMs/test-vm-test-vm-disk1.vmdk", 1024)
            },
            Disk {
                win_drive_letter: "d".into(),
                ..disk(2001, "[datastore1] VMs/test-vm-test-vm-disk2.vmdk", 2048)
            },
        ])
    })]);
    fixture.plan.metadata.name = Some("test-plan".into());
    let data = fixture
        .adapter
        .pvc_name_data(&fixture.view(), &fixture.vm("test-vm-id"), "test")
        .unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0].file_name, "test-vm-test-vm-disk1.vmdk");
    assert_eq!(data[1].win_drive_letter, "d");
    assert!(data.iter().all(|d| d.root_disk_index == 1 && !d.shared));
    let check = |template: &str| -> Result<(), TemplateError> {
        data.iter()
            .try_for_each(|d| template::validate_pvc_name(template, d).map(drop))
    };
    for valid in [
        "{{.VmName}}-disk-{{.DiskIndex}}",
        "{{.PlanName}}-{{.VmName}}-{{.DiskIndex}}",
        "{{.FileName | trimSuffix \".vmdk\"}}",
        "disk-{{.WinDriveLetter}}",
        "{{if eq .DiskIndex .RootDiskIndex}}root{{else}}data{{end}}-{{.DiskIndex}}",
        "{{.PlanName}}-{{.VmId}}",
        "{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}",
    ] {
        assert!(check(valid).is_ok(), "{valid}");
    }
    for (invalid, fragment) in [
        ("{{.VmName", "Invalid template syntax"),
        ("{{.InvalidField}}", ""),
        ("{{ if false }}test{{ end }}", "output is empty"),
        (
            "{{.VmName}}_invalid_underscore_{{.DiskIndex}}",
            "invalid k8s label",
        ),
        ("{{.VmName | upper}}-{{.DiskIndex}}", "invalid k8s label"),
    ] {
        let error = check(invalid).expect_err(invalid).to_string();
        assert!(error.contains(fragment), "{invalid}: {error}");
    }
    // A VM without disks has nothing to render: any template passes.
    let empty = Fixture::new(vec![with(vm("vm-0", "empty_disk_vm"), |v| v.disks = None)]);
    assert!(
        empty
            .adapter
            .pvc_name_data(&empty.view(), &empty.vm("vm-0"), "empty")
            .unwrap()
            .is_empty()
    );
}

/// Upstream `validator_test.go` (`NICNetworkRefs + ValidatePodNetworkDuplicates`).
#[test]
fn upstream_nic_network_refs_table() {
    use crate::network::has_duplicate_pod_mappings;
    let refs = |nics: Vec<Nic>| {
        let fixture = Fixture::new(vec![with(vm("vm-1", "test"), |v| v.nics = Some(nics))]);
        fixture
            .adapter
            .facts(&fixture.vm("vm-1"))
            .unwrap()
            .nic_networks
    };
    let map = |pairs: Vec<NetworkPair>| {
        NetworkMap::new(
            NS,
            "n",
            NetworkMapSpec {
                map: pairs,
                ..NetworkMapSpec::default()
            },
        )
    };
    use DestinationNetworkType::{Ignored, Multus, Pod};
    assert!(refs(vec![]).is_empty());
    let two = refs(vec![nic("net-1", "aa:01", 1), nic("net-2", "aa:02", 2)]);
    assert_eq!(two, [Ref::id("net-1"), Ref::id("net-2")]);
    let distinct = map(vec![
        pair("net-1", Multus, "nad-a"),
        pair("net-2", Multus, "nad-b"),
    ]);
    assert!(!has_duplicate_pod_mappings(&two, Some(&distinct)));
    let same_net = refs(vec![nic("net-1", "aa:01", 1), nic("net-1", "aa:02", 2)]);
    let one_nad = map(vec![pair("net-1", Multus, "nad-a")]);
    assert!(!has_duplicate_pod_mappings(&same_net, Some(&one_nad)));
    let same_nad = map(vec![
        pair("net-1", Multus, "nad-a"),
        pair("net-2", Multus, "nad-a"),
    ]);
    assert!(!has_duplicate_pod_mappings(&two, Some(&same_nad)));
    let three = refs(vec![
        nic("net-1", "aa:01", 1),
        nic("net-2", "aa:02", 2),
        nic("net-3", "aa:03", 3),
    ]);
    let pods = map(vec![
        pair("net-1", Pod, ""),
        pair("net-2", Pod, ""),
        pair("net-3", Ignored, ""),
    ]);
    assert!(has_duplicate_pod_mappings(&three, Some(&pods)));
}

/// Upstream `validator_test.go` (`ConsolidationNeeded`), and the other warm checks.
#[test]
fn warm_checks() {
    let warm = |change: fn(&mut Vm)| {
        let mut fixture = Fixture::new(vec![with(vm("vm-1", "web01"), change)]);
        fixture.plan.spec.r#type = Some(MigrationType::Warm);
        fixture.findings("vm-1")
    };
    let none = warm(|v| v.change_tracking_enabled = true);
    assert!(none.is_empty(), "{none:?}");
    assert!(warm(|_| {}).contains(&VmFinding::MissingChangedBlockTracking));
    assert!(
        warm(|v| {
            v.change_tracking_enabled = true;
            v.consolidation_needed = true;
        })
        .contains(&VmFinding::ConsolidationNeeded)
    );
    assert!(
        warm(|v| {
            v.change_tracking_enabled = true;
            v.snapshot = ObjRef::new("VirtualMachineSnapshot", "snapshot-1");
        })
        .contains(&VmFinding::HasSnapshots {
            message: Some(validator::HAS_SNAPSHOT_MESSAGE.into())
        })
    );
    // Cold plans ignore all three.
    let cold = Fixture::new(vec![with(vm("vm-1", "web01"), |v| {
        v.consolidation_needed = true;
        v.snapshot = ObjRef::new("VirtualMachineSnapshot", "snapshot-1");
    })]);
    assert!(cold.findings("vm-1").is_empty());
}

#[test]
fn maps_maintenance_and_disk_sizes() {
    let mut fixture = Fixture::new(vec![
        with(vm("vm-1", "web01"), |v| {
            v.networks = Some(vec![ObjRef::new(kind::NETWORK, "network-99")]);
            v.disks.as_mut().unwrap()[1].datastore = ObjRef::new(kind::DATASTORE, "ds-99");
            v.disks.as_mut().unwrap()[0].capacity = 0;
        }),
        with(vm("vm-2", "db01"), |v| v.host = STANDALONE.into()),
    ]);
    let findings = fixture.findings("vm-1");
    assert!(findings.contains(&VmFinding::NetworksNotMapped));
    assert!(findings.contains(&VmFinding::StorageNotMapped));
    assert!(findings.contains(&VmFinding::InvalidDiskSizes {
        disks: vec!["[datastore1] VMs/web01/web01-disk1.vmdk".into()]
    }));
    assert_eq!(
        fixture.findings("vm-2"),
        [VmFinding::HostInMaintenance],
        "MaintenanceMode → HostNotReady"
    );
    // The map checks only run when the maps are referenced.
    fixture.network_map = None;
    fixture.storage_map = None;
    let findings = fixture.findings("vm-1");
    assert!(!findings.contains(&VmFinding::NetworksNotMapped));
    assert!(!findings.contains(&VmFinding::StorageNotMapped));
}

#[test]
fn rdm_independent_and_offload() {
    let rdm = |physical: bool, mode: &str| {
        with(vm("vm-1", "web01"), |v| {
            let d = &mut v.disks.as_mut().unwrap()[0];
            d.rdm = true;
            d.physical_mode = physical;
            d.mode = mode.into();
        })
    };
    let mut fixture = Fixture::new(vec![rdm(false, "independent_persistent")]);
    let findings = fixture.findings("vm-1");
    assert!(findings.contains(&VmFinding::RdmDisks));
    assert!(findings.contains(&VmFinding::IndependentDisks));
    // Warm: only physical-mode RDM disks warn.
    fixture.plan.spec.r#type = Some(MigrationType::Warm);
    assert!(!fixture.findings("vm-1").contains(&VmFinding::RdmDisks));
    let mut physical = Fixture::new(vec![rdm(true, "persistent")]);
    physical.plan.spec.r#type = Some(MigrationType::Warm);
    assert!(physical.findings("vm-1").contains(&VmFinding::RdmDisks));
    // With copy offload the RDM/independent warnings give way to the mixed-usage check.
    let mut offload = Fixture::new(vec![rdm(false, "independent_nonpersistent")]);
    offload.settings.copy_offload = true;
    let storage = offload.storage_map.as_mut().unwrap();
    storage.spec.map.push(StoragePair {
        source: Ref::id("datastore-offload"),
        destination: DestinationStorage::default(),
        offload_plugin: Some(OffloadPlugin {
            vsphere_xcopy_config: Some(VSphereXcopyPluginConfig::default()),
            csi_volume_import: None,
        }),
    });
    let findings = offload.findings("vm-1");
    assert!(findings.contains(&VmFinding::VddkAndOffloadMixed));
    assert!(!findings.contains(&VmFinding::RdmDisks));
    assert!(!findings.contains(&VmFinding::IndependentDisks));
}

fn shared_pair(first_power: &str, second_power: &str) -> Vec<Vm> {
    let shared = "[datastore1] shared/shared-disk.vmdk";
    vec![
        with(vm("vm-1", "a"), |v| {
            v.power_state = first_power.into();
            v.disks.as_mut().unwrap().push(disk(2002, shared, 4096));
        }),
        with(vm("vm-2", "b"), |v| {
            v.power_state = second_power.into();
            v.disks.as_mut().unwrap().push(disk(2002, shared, 4096));
        }),
    ]
}

#[test]
fn shared_disks() {
    // Running VMs on the shared disk block (Critical), naming every one.
    let fixture = Fixture::new(shared_pair("poweredOn", "poweredOn"));
    let finding = fixture
        .findings("vm-1")
        .into_iter()
        .find(|f| matches!(f, VmFinding::SharedDisks { .. }))
        .expect("shared-disk finding");
    assert_eq!(
        finding,
        VmFinding::SharedDisks {
            category: "Critical".into(),
            message: "Virtual Machines 'a', 'b' are running with attached shared disk, please power them off".into()
        }
    );
    // Both off and both planned: the disk would be copied twice.
    let fixture = Fixture::new(shared_pair("poweredOff", "poweredOff"));
    let finding = fixture
        .findings("vm-1")
        .into_iter()
        .find(|f| matches!(f, VmFinding::SharedDisks { .. }))
        .expect("duplicate shared disk");
    assert_eq!(
        finding,
        VmFinding::SharedDisks {
            category: "Warn".into(),
            message: "the shared disk '[datastore1] shared/shared-disk.vmdk' will be coppied 2x,  please detach the disk from all but one of the VMs, or remove the VMs from the plan to avoid duplicating the disk".into()
        }
    );
    // Only one planned VM migrates shared disks: nothing to say.
    let mut fixture = Fixture::new(shared_pair("poweredOff", "poweredOff"));
    fixture.plan.spec.vms[1].migrate_shared_disks = Some(false);
    assert!(
        !fixture
            .findings("vm-1")
            .iter()
            .any(|f| matches!(f, VmFinding::SharedDisks { .. }))
    );
    // Warm: no category (does not block, upstream's quirk).
    let mut fixture = Fixture::new(shared_pair("poweredOff", "poweredOff"));
    fixture.plan.spec.r#type = Some(MigrationType::Warm);
    assert!(fixture.findings("vm-1").contains(&VmFinding::SharedDisks {
        category: String::new(),
        message: "The shared disks cannot be used with warm migration".into()
    }));
}

/// Bad input: names with slashes and non-ASCII, a VM without disks or NICs.
#[test]
fn hostile_names_and_empty_vms() {
    let fixture = Fixture::new(vec![
        with(vm("vm-1", "web/01 ü"), |_| {}),
        with(vm("vm-2", "empty"), |v| {
            v.disks = None;
            v.nics = None;
            v.networks = None;
            v.guest_networks = None;
        }),
    ]);
    assert!(fixture.findings("vm-1").is_empty());
    assert!(fixture.findings("vm-2").is_empty());
    let builder = &fixture.adapter;
    assert!(
        builder
            .tasks(&fixture.view(), &fixture.vm("vm-2"))
            .unwrap()
            .is_empty()
    );
    assert!(
        builder
            .data_volumes(&fixture.view(), &fixture.vm("vm-2"), "empty")
            .unwrap()
            .is_empty()
    );
    let status = VmStatus::default();
    let built = builder
        .virtual_machine(
            &fixture.view(),
            &fixture.vm("vm-2"),
            &status,
            &VmDisks { pvcs: &[] },
        )
        .expect("a VM without disks builds");
    assert!(built.vm.spec.template.spec.domain.devices.disks.is_empty());
    assert!(built.vm.spec.template.spec.networks.is_empty());
}

// ---------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------

#[test]
fn tasks_are_per_disk_in_mebibytes() {
    let mut fixture = Fixture::new(vec![with(vm("vm-1", "web01"), |v| {
        let disks = v.disks.as_mut().unwrap();
        disks[0].capacity = 10 << 30;
        disks[1].capacity = (1 << 30) + 1;
        disks[1].file = "[datastore1] VMs/web01/web01-disk2-000003.vmdk".into();
    })]);
    let tasks = fixture
        .adapter
        .tasks(&fixture.view(), &fixture.vm("vm-1"))
        .unwrap();
    let summary: Vec<(&str, i64, &str)> = tasks
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.progress.total,
                t.annotations["unit"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("[datastore1] VMs/web01/web01-disk1.vmdk", 10240, "MB"),
            ("[datastore1] VMs/web01/web01-disk2-000003.vmdk", 1025, "MB"),
        ]
    );
    // Warm plans name the base volume.
    fixture.plan.spec.r#type = Some(MigrationType::Warm);
    let tasks = fixture
        .adapter
        .tasks(&fixture.view(), &fixture.vm("vm-1"))
        .unwrap();
    assert_eq!(tasks[1].name, "[datastore1] VMs/web01/web01-disk2.vmdk");
}

#[test]
fn data_volumes_blank_for_virt_v2v_and_vddk_for_cdi() {
    let mut fixture = Fixture::new(vec![with(vm("vm-1", "web01"), |v| {
        let disks = v.disks.as_mut().unwrap();
        disks[0].bus = "scsi".into();
        disks[0].capacity = (1 << 30) + 5;
        disks[1].bus = "sata".into();
        disks[1].datastore = ObjRef::new(kind::DATASTORE, "unmapped");
        v.disks.as_mut().unwrap().push(Disk {
            bus: "sata".into(),
            controller_key: 15000,
            ..disk(16000, "[datastore1] VMs/web01/web01-sata.vmdk", 1 << 20)
        });
    })]);
    let view = fixture.view();
    let dvs = fixture
        .adapter
        .data_volumes(&view, &fixture.vm("vm-1"), "web01")
        .unwrap();
    // VMware order (sata first), the unmapped disk left out, indices over all disks.
    let sources: Vec<(&str, &str)> = dvs
        .iter()
        .map(|d| {
            let a = d.data_volume.metadata.annotations.as_ref().unwrap();
            (
                a["forklift.konveyor.io/disk-source"].as_str(),
                a["forklift.konveyor.io/disk-index"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("[datastore1] VMs/web01/web01-sata.vmdk", "1"),
            ("[datastore1] VMs/web01/web01-disk1.vmdk", "2"),
        ]
    );
    let first = &dvs[1].data_volume.spec;
    assert!(first.source.as_ref().unwrap().blank.is_some());
    let storage = first.storage.as_ref().unwrap();
    assert_eq!(storage.storage_class_name.as_deref(), Some("standard"));
    assert_eq!(storage.access_modes, ["ReadWriteOnce"]);
    assert_eq!(storage.volume_mode.as_deref(), Some("Block"));
    assert_eq!(
        storage
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()["storage"]
            .0,
        "1025Mi"
    );
    assert_eq!(dvs[1].name_data.file_name, "web01-disk1.vmdk");
    assert_eq!(dvs[1].name_data.disk_index, 2);
    assert_eq!(dvs[1].name_data.root_disk_index, 0);

    // Not migrating shared disks (or a remote destination): CDI with a VDDK source.
    fixture.plan.spec.migrate_shared_disks = Some(false);
    fixture.settings.vddk_image = "quay.io/kubev2v/vddk:8".into();
    let dvs = fixture
        .adapter
        .data_volumes(&fixture.view(), &fixture.vm("vm-1"), "web01")
        .unwrap();
    let vddk = dvs[1]
        .data_volume
        .spec
        .source
        .as_ref()
        .unwrap()
        .vddk
        .clone()
        .unwrap();
    assert_eq!(vddk.url.as_deref(), Some("https://vcenter.example.com/sdk"));
    assert_eq!(
        vddk.backing_file.as_deref(),
        Some("[datastore1] VMs/web01/web01-disk1.vmdk")
    );
    assert_eq!(
        vddk.uuid.as_deref(),
        Some("422c6a2a-5ea9-1083-39f3-3b140fffb444"),
        "BIOS UUID: the destination CDI's version is unknown"
    );
    assert_eq!(vddk.thumbprint.as_deref(), Some("2C:11:ED:D7"));
    assert_eq!(
        vddk.init_image_url.as_deref(),
        Some("quay.io/kubev2v/vddk:8")
    );
    assert_eq!(vddk.secret_ref, None, "the engine fills it in");
    // The provider's own image wins.
    fixture
        .source
        .spec
        .settings
        .insert("vddkInitImage".into(), "registry.local/vddk:7".into());
    assert_eq!(
        builder::vddk_image(&fixture.view()),
        "registry.local/vddk:7"
    );
}

#[test]
fn shared_disks_are_labelled_or_left_out() {
    let mut fixture = Fixture::new(shared_pair("poweredOff", "poweredOff"));
    let dvs = fixture
        .adapter
        .data_volumes(&fixture.view(), &fixture.vm("vm-1"), "a")
        .unwrap();
    let shared = dvs
        .iter()
        .find(|d| {
            d.data_volume.metadata.annotations.as_ref().unwrap()["forklift.konveyor.io/disk-source"]
                .contains("shared")
        })
        .expect("the shared disk's DataVolume");
    assert_eq!(
        shared.data_volume.metadata.labels.as_ref().unwrap()["shareable"],
        "true"
    );
    assert!(shared.name_data.shared);
    fixture.plan.spec.migrate_shared_disks = Some(false);
    assert_eq!(
        fixture
            .adapter
            .tasks(&fixture.view(), &fixture.vm("vm-1"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        fixture
            .adapter
            .data_volumes(&fixture.view(), &fixture.vm("vm-1"), "a")
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn credentials_and_conversion_environment() {
    let mut fixture = Fixture::new(vec![with(vm("vm-1", "web01"), |v| {
        v.guest_id = "windows9Guest".into();
    })]);
    let secret = fixture.secret(true);
    let data = fixture
        .adapter
        .secret_data(&fixture.view(), Some(&secret))
        .unwrap();
    assert_eq!(data["accessKeyId"], b"administrator@vsphere.local");
    assert_eq!(data["secretKey"], b"s3cr3t-Passw0rd");
    assert!(!data.contains_key("cacert"));
    let env = fixture
        .adapter
        .conversion_environment(&fixture.view(), &fixture.vm("vm-1"))
        .unwrap();
    let pairs: Vec<(&str, &str)> = env
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("V2V_preserveStaticIPs", "true"),
            ("V2V_HOSTNAME", "web.example.com"),
            ("V2V_vmName", "web01"),
            (
                "V2V_libvirtURL",
                "vpx://administrator%40vsphere.local@vcenter.example.com/DC0/host/C0/esx1?no_verify=1"
            ),
            ("V2V_source", "vSphere"),
            ("V2V_fingerprint", "2C:11:ED:D7"),
            ("V2V_extra_args", "[]"),
            ("V2V_inspector_extra_args", "[]"),
            ("V2V_staticIPs", "00:50:56:aa:bb:01:ip:10.0.0.5,10.0.0.1,24"),
        ]
    );
    assert!(
        env.iter()
            .all(|e| !e.value.as_deref().unwrap_or_default().contains("s3cr3t")),
        "no password in the environment"
    );
    // A standalone host is addressed by its compute resource's path; TLS verified.
    let standalone = Fixture::new(vec![with(vm("vm-1", "web01"), |v| {
        v.host = STANDALONE.into();
    })]);
    standalone
        .adapter
        .secret_data(&standalone.view(), Some(&standalone.secret(false)))
        .unwrap();
    let env = standalone
        .adapter
        .conversion_environment(&standalone.view(), &standalone.vm("vm-1"))
        .unwrap();
    let url = env.iter().find(|e| e.name == "V2V_libvirtURL").unwrap();
    assert_eq!(
        url.value.as_deref(),
        Some(
            "vpx://administrator%40vsphere.local@vcenter.example.com/DC0/host/esx9.example.com?cacert=/opt/ca-bundle.crt"
        )
    );
    // Legacy Windows guests get the legacy drivers; preserveStaticIPs off drops the IPs.
    fixture.plan.spec.preserve_static_ips = Some(false);
    fixture.plan.spec.install_legacy_drivers = Some(true);
    let env = fixture
        .adapter
        .conversion_environment(&fixture.view(), &fixture.vm("vm-1"))
        .unwrap();
    let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names[0], "VIRTIO_WIN");
    assert!(!names.contains(&"V2V_staticIPs"));
    // Without the provider's Secret the environment cannot name the user.
    let fresh = Fixture::new(vec![vm("vm-1", "web01")]);
    assert!(matches!(
        fresh
            .adapter
            .conversion_environment(&fresh.view(), &fresh.vm("vm-1")),
        Err(AdapterError::Build(_))
    ));
}

fn pvc(name: &str, source: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: Some(BTreeMap::from([(
                "forklift.konveyor.io/disk-source".to_string(),
                source.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        ..PersistentVolumeClaim::default()
    }
}

fn pvcs_of(vm: &Vm) -> Vec<PersistentVolumeClaim> {
    vm.disks()
        .iter()
        .enumerate()
        .map(|(i, d)| pvc(&format!("pvc-{i}"), &d.file))
        .collect()
}

fn build(
    fixture: &Fixture,
    id: &str,
    status: &VmStatus,
) -> Result<VirtualMachineView, AdapterError> {
    let source = fixture.vm(id);
    let workload = workload(&source)?;
    let pvcs = pvcs_of(&workload.vm);
    fixture
        .adapter
        .virtual_machine(&fixture.view(), &source, status, &VmDisks { pvcs: &pvcs })
        .map(|b| VirtualMachineView(serde_json::to_value(&b.vm.spec.template.spec).unwrap()))
}

/// The built template spec as JSON, for compact assertions.
struct VirtualMachineView(serde_json::Value);

impl VirtualMachineView {
    fn at(&self, pointer: &str) -> &serde_json::Value {
        self.0
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in {}", self.0))
    }
}

#[test]
fn virtual_machine_from_a_vsphere_vm() {
    let fixture = Fixture::new(vec![with(vm("vm-1", "web01"), |v| {
        v.firmware = "efi".into();
        v.secure_boot = true;
        v.nested_hv_enabled = true;
        v.disks.as_mut().unwrap()[0].serial = "6000C29a-1234-5678-abcd-000000000001".into();
        v.nics = Some(vec![
            nic(NET, "00:50:56:aa:bb:01", 4000),
            Nic {
                pci_address: "0000:03:00.0".into(),
                start_connected: false,
                ..nic(DVPG_KEY, "00:50:56:aa:bb:02", 4001)
            },
            nic("network-unmapped", "00:50:56:aa:bb:03", 4002),
        ]);
    })]);
    let spec = build(&fixture, "vm-1", &VmStatus::default()).unwrap();
    assert_eq!(spec.at("/domain/firmware/bootloader/efi/secureBoot"), true);
    assert_eq!(spec.at("/domain/features/smm/enabled"), true);
    assert_eq!(
        spec.at("/domain/firmware/serial"),
        "422c6a2a-5ea9-1083-39f3-3b140fffb444"
    );
    assert_eq!(spec.at("/domain/cpu/sockets"), 2);
    assert_eq!(spec.at("/domain/cpu/cores"), 2);
    assert_eq!(spec.at("/domain/cpu/features/0/name"), "vmx");
    assert_eq!(spec.at("/domain/cpu/features/1/policy"), "optional");
    assert_eq!(spec.at("/domain/memory/guest"), "2Gi");
    assert_eq!(spec.at("/domain/clock/timezone"), "UTC");
    assert_eq!(spec.at("/domain/devices/tpm/enabled"), false);
    assert_eq!(spec.at("/domain/devices/inputs/0/bus"), "virtio");
    // Disks: VMware order, virtio, serial from the backing UUID, boot order on the first.
    assert_eq!(spec.at("/domain/devices/disks/0/name"), "vol-0");
    assert_eq!(spec.at("/domain/devices/disks/0/disk/bus"), "virtio");
    assert_eq!(
        spec.at("/domain/devices/disks/0/serial"),
        "6000C29a-1234-5678-a"
    );
    assert_eq!(spec.at("/domain/devices/disks/0/bootOrder"), 1);
    assert_eq!(
        spec.at("/domain/devices/disks/1/serial")
            .as_str()
            .unwrap()
            .len(),
        20,
        "the fallback serial from the VM ID and disk key"
    );
    assert_eq!(
        spec.at("/volumes/1/persistentVolumeClaim/claimName"),
        "pvc-1"
    );
    // Networks: the pod NIC masqueraded, the port group (by key) bridged on its NAD with
    // its PCI address and link down; the unmapped NIC left out.
    assert_eq!(spec.at("/networks").as_array().unwrap().len(), 2);
    assert_eq!(spec.at("/networks/0/name"), "net-0");
    assert!(spec.at("/networks/0/pod").is_object());
    assert!(
        spec.at("/domain/devices/interfaces/0/masquerade")
            .is_object()
    );
    assert_eq!(
        spec.at("/domain/devices/interfaces/0/macAddress"),
        "00:50:56:aa:bb:01"
    );
    assert_eq!(spec.at("/networks/1/multus/networkName"), "tgt/nad-1");
    assert!(spec.at("/domain/devices/interfaces/1/bridge").is_object());
    assert_eq!(spec.at("/domain/devices/interfaces/1/model"), "virtio");
    assert_eq!(
        spec.at("/domain/devices/interfaces/1/pciAddress"),
        "0000:03:00.0"
    );
    assert_eq!(spec.at("/domain/devices/interfaces/1/state"), "down");
}

#[test]
fn compatibility_mode_templates_root_disk_and_refusals() {
    let mut fixture = Fixture::new(vec![vm("vm-1", "web01")]);
    fixture.plan.spec.skip_guest_conversion = true;
    fixture.plan.spec.enable_nested_virtualization = Some(false);
    fixture.plan.spec.volume_name_template = "disk-{{.VolumeIndex}}".into();
    fixture.plan.spec.network_name_template = "{{.NetworkType}}-{{.NetworkIndex}}".into();
    fixture.plan.spec.vms[0].root_disk = "/dev/sdb".into();
    let mut ignored = fixture.network_map.clone().unwrap();
    ignored.spec.map[0].destination.r#type = DestinationNetworkType::Ignored;
    let spec = build(&fixture, "vm-1", &VmStatus::default()).unwrap();
    assert_eq!(spec.at("/domain/devices/disks/0/disk/bus"), "sata");
    assert_eq!(spec.at("/domain/devices/disks/1/bootOrder"), 1);
    assert!(
        spec.0
            .pointer("/domain/devices/disks/0/bootOrder")
            .is_none()
    );
    assert_eq!(spec.at("/domain/devices/disks/0/name"), "disk-0");
    assert_eq!(spec.at("/domain/devices/interfaces/0/model"), "e1000e");
    assert_eq!(spec.at("/domain/devices/interfaces/0/name"), "pod-0");
    assert_eq!(spec.at("/domain/devices/inputs/0/bus"), "usb");
    assert_eq!(spec.at("/domain/cpu/features/0/policy"), "disable");
    // The detected boot disk when no rootDisk is set.
    fixture.plan.spec.vms[0].root_disk = String::new();
    let status = VmStatus {
        detected_boot_disk: Some(1),
        ..VmStatus::default()
    };
    let spec = build(&fixture, "vm-1", &status).unwrap();
    assert_eq!(spec.at("/domain/devices/disks/1/bootOrder"), 1);
    // Ignored NICs are left out.
    fixture.network_map = Some(ignored);
    let spec = build(&fixture, "vm-1", &VmStatus::default()).unwrap();
    assert!(spec.0.pointer("/networks").is_none(), "no networks");
    // Refusals.
    let template = Fixture::new(vec![with(vm("vm-1", "web01"), |v| v.is_template = true)]);
    assert!(matches!(
        build(&template, "vm-1", &VmStatus::default()),
        Err(AdapterError::Build(m)) if m == "VM  id:vm-1 name:'web01'  is a template"
    ));
    let disconnected = Fixture::new(vec![with(vm("vm-1", "web01"), |v| {
        v.connection_state = "disconnected".into()
    })]);
    assert!(matches!(
        build(&disconnected, "vm-1", &VmStatus::default()),
        Err(AdapterError::Build(m)) if m.ends_with("is not connected")
    ));
    let mut warm = Fixture::new(vec![vm("vm-1", "web01")]);
    warm.plan.spec.r#type = Some(MigrationType::Warm);
    assert!(matches!(
        build(&warm, "vm-1", &VmStatus::default()),
        Err(AdapterError::Build(m)) if m.starts_with("Changed Block Tracking (CBT) is disabled")
    ));
    // A disk without its PVC.
    let source = fixture.vm("vm-1");
    let error = fixture
        .adapter
        .virtual_machine(
            &fixture.view(),
            &source,
            &VmStatus::default(),
            &VmDisks { pvcs: &[] },
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "failed to find persistent volume for disk [datastore1] VMs/web01/web01-disk1.vmdk"
    );
}

/// Upstream `builder_test.go` (`mapDisks SCSI reservation`).
#[test]
fn upstream_scsi_reservation_table() {
    let case = |rdm: bool,
                shared: bool,
                rdm_as_lun: bool,
                plan_reservation: bool,
                vm_reservation: Option<bool>| {
        let mut fixture = Fixture::new(vec![with(vm("vm-1", "test-vm"), |v| {
            v.disks = Some(vec![Disk {
                rdm,
                ..disk(2000, "[ds1] vm/disk.vmdk", 1 << 30)
            }]);
        })]);
        fixture.plan.spec.rdm_as_lun = rdm_as_lun;
        fixture.plan.spec.scsi_reservation = plan_reservation;
        fixture.plan.spec.vms[0].scsi_reservation = vm_reservation;
        let source = fixture.vm("vm-1");
        let mut pvcs = vec![pvc("test-pvc", "[ds1] vm/disk.vmdk")];
        if shared {
            // Upstream's model flag; the inventory derives it from the files of other VMs,
            // so the built disk is checked through a hand-made workload.
            pvcs.truncate(1);
        }
        let SourceVm::Vsphere(mut workload) = source else {
            panic!("a vSphere VM")
        };
        let mut model = Vm::clone(&workload.vm);
        model.disks.as_mut().unwrap()[0].shared = shared;
        workload.vm = Arc::new(model);
        let built = machine::virtual_machine(
            &fixture.view(),
            &workload,
            &VmStatus::default(),
            &pvcs,
            &machine::Options::default(),
        )
        .unwrap();
        built.spec.template.spec.domain.devices.disks[0].clone()
    };
    let lun = |d: &KvDisk| d.lun.clone();
    let reservation = |d: &KvDisk| {
        d.lun
            .as_ref()
            .and_then(|l| l.get("reservation"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    let d = case(true, true, true, true, None);
    assert_eq!(lun(&d).unwrap()["bus"], "scsi");
    assert!(reservation(&d));
    assert_eq!(d.extra["shareable"], true);
    assert_eq!(d.extra["errorPolicy"], "report");
    let d = case(true, false, true, true, None);
    assert!(lun(&d).is_some() && !reservation(&d));
    assert!(!d.extra.contains_key("shareable") && !d.extra.contains_key("errorPolicy"));
    let d = case(false, true, true, true, None);
    assert!(lun(&d).is_none());
    assert_eq!(d.extra["shareable"], true);
    assert_eq!(d.extra["cache"], "none");
    assert!(!d.extra.contains_key("errorPolicy"));
    let d = case(true, true, false, true, None);
    assert!(lun(&d).is_none(), "rdmAsLun off: a plain disk");
    assert!(!reservation(&case(true, true, true, false, None)));
    assert!(reservation(&case(true, true, true, false, Some(true))));
    assert!(!reservation(&case(true, true, true, true, Some(false))));
}

#[test]
fn template_labels_preferences_and_inspection() {
    let labels = template_labels("rhel8_64Guest");
    assert!(labels.contains_key("os.template.kubevirt.io/rhel8.1"));
    assert!(labels.contains_key("workload.template.kubevirt.io/server"));
    assert!(labels.contains_key("flavor.template.kubevirt.io/medium"));
    assert!(template_labels("").contains_key("os.template.kubevirt.io/unknown"));
    assert!(
        template_labels("rhel9.4").contains_key("os.template.kubevirt.io/"),
        "upstream's quirk: an OS outside its table gives an empty name"
    );
    let os_map = BTreeMap::from([("rhel9_64Guest".to_string(), "rhel.9".to_string())]);
    assert_eq!(
        preference_name(&os_map, "rhel9_64Guest").as_deref(),
        Some("rhel.9")
    );
    assert_eq!(preference_name(&os_map, "otherGuest64"), None);
    assert_eq!(guest_id_from_osinfo("rhel9.4", "linux"), "rhel9_64Guest");
    assert_eq!(
        guest_id_from_osinfo("win2k22", "windows"),
        "windows2019srvNext_64Guest"
    );
    assert_eq!(
        guest_id_from_osinfo("alpine3.18", "linux"),
        "genericLinuxGuest"
    );
    assert_eq!(guest_id_from_osinfo("", "windows"), "otherGuest64");
    let legacy = with(vm("vm-1", "x"), |v| {
        v.guest_name = "Microsoft Windows Server 2008 R2".into()
    });
    assert!(is_legacy_windows(&legacy));
    assert!(!is_legacy_windows(&vm("vm-1", "x")));
}

// ---------------------------------------------------------------------------------------
// Scheduler
// ---------------------------------------------------------------------------------------

#[test]
fn costs_per_esxi_host() {
    use ferry_api::plan::{Step, Task};
    let mut fixture = Fixture::new(vec![vm("vm-1", "web01")]);
    let source = fixture.vm("vm-1");
    let status = |phase: &str, done: usize| VmStatus {
        phase: phase.into(),
        pipeline: vec![Step {
            task: Task {
                name: "DiskTransfer".into(),
                ..Task::default()
            },
            tasks: (0..2)
                .map(|i| Task {
                    phase: if i < done { "Completed" } else { "Running" }.into(),
                    ..Task::default()
                })
                .collect(),
        }],
        ..VmStatus::default()
    };
    let cost = |fixture: &Fixture, phase: &str, done: usize| {
        fixture
            .adapter
            .schedule(&fixture.view(), &source, &status(phase, done))
    };
    // virt-v2v transfer: 1, free from CreateVM on.
    assert_eq!(cost(&fixture, "CopyDisksVirtV2V", 0).cost, 1);
    assert_eq!(cost(&fixture, "CreateVM", 0).cost, 0);
    assert_eq!(cost(&fixture, "CopyDisksVirtV2V", 0).key, HOST);
    // CDI: the disks not yet copied.
    fixture.plan.spec.migrate_shared_disks = Some(false);
    assert_eq!(cost(&fixture, "CopyDisks", 0).cost, 2);
    assert_eq!(cost(&fixture, "CopyDisks", 1).cost, 1);
    assert_eq!(cost(&fixture, "ConvertGuest", 0).cost, 0);
    assert_eq!(cost(&fixture, "CopyingPaused", 0).cost, 0);
}

// ---------------------------------------------------------------------------------------
// VDDK validation
// ---------------------------------------------------------------------------------------

#[test]
fn vddk_validation() {
    use ferry_api::k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use ferry_api::k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, Pod, PodStatus,
    };
    use ferry_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let mut fixture = Fixture::new(vec![vm("vm-1", "web01")]);
    // No image: warm and raw-copy plans are blocked.
    assert!(vddk::without_image(&fixture.plan, false).is_empty());
    fixture.plan.spec.r#type = Some(MigrationType::Warm);
    let conditions = vddk::without_image(&fixture.plan, false);
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0].r#type, "VDDKInitImageUnavailable");
    assert_eq!(
        conditions[0].message,
        "VDDK image is required for warm migration. Set it on the source provider or configure a global VDDK image."
    );
    fixture.plan.spec.r#type = None;
    fixture.plan.spec.skip_guest_conversion = true;
    assert!(
        vddk::without_image(&fixture.plan, false)[0]
            .message
            .contains("raw copy mode")
    );
    assert!(vddk::without_image(&fixture.plan, true).is_empty());

    // The Job (conformance case 21).
    let image = "quay.io/x/vddk:1";
    let job = vddk::job(
        &fixture.plan,
        &vddk::JobSettings {
            provider: "vc".into(),
            image: image.into(),
            virt_v2v_image: "quay.io/kubev2v/forklift-virt-v2v:latest".into(),
            openshift: false,
            service_account: String::new(),
        },
    );
    assert_eq!(
        job.metadata.generate_name.as_deref(),
        Some("vddk-validator-p")
    );
    let labels = job.metadata.labels.clone().unwrap();
    assert_eq!(labels["plan"], "uid-p");
    assert_eq!(labels["vddk"], vddk::image_hash(image));
    assert_eq!(vddk::image_hash("quay.io/x/vddk:1").len(), 32);
    let spec = job.spec.clone().unwrap();
    assert_eq!((spec.backoff_limit, spec.completions), (Some(2), Some(1)));
    let pod = spec.template.spec.unwrap();
    assert_eq!(
        pod.init_containers.unwrap()[0].image.as_deref(),
        Some(image)
    );
    assert_eq!(pod.containers[0].command.as_ref().unwrap()[0], "file");
    assert_eq!(pod.security_context.unwrap().run_as_user, Some(107));

    // Reading it.
    let now = jiff::Timestamp::from_second(10_000).unwrap();
    let started = |seconds: i64| {
        let mut job = job.clone();
        job.status = Some(JobStatus {
            start_time: Some(Time(jiff::Timestamp::from_second(seconds).unwrap())),
            ..JobStatus::default()
        });
        job
    };
    let waiting_pod = Pod {
        status: Some(PodStatus {
            init_container_statuses: Some(vec![ContainerStatus {
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("ImagePullBackOff".into()),
                        message: Some("Back-off pulling image".into()),
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
        ..Pod::default()
    };
    let deadline = std::time::Duration::from_secs(300);
    let early = vddk::evaluate(&started(9_900), Some(&waiting_pod), now, deadline);
    let types: Vec<&str> = early.set.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(types, ["ValidatingVDDK", "VDDKInitImageNotReady"]);
    assert_eq!(early.set[1].reason, "ImagePullBackOff");
    let late = vddk::evaluate(&started(9_000), Some(&waiting_pod), now, deadline);
    assert_eq!(late.set[1].r#type, "VDDKInitImageUnavailable");
    assert_eq!(late.set[1].category, "Critical");
    let with_condition = |t: &str| {
        let mut job = started(9_000);
        job.status.as_mut().unwrap().conditions = Some(vec![JobCondition {
            type_: t.into(),
            status: "True".into(),
            ..JobCondition::default()
        }]);
        job
    };
    let complete = vddk::evaluate(&with_condition("Complete"), None, now, deadline);
    assert!(complete.set.is_empty() && complete.unexpected.is_none());
    let failed = vddk::evaluate(&with_condition("Failed"), None, now, deadline);
    assert_eq!(failed.set[0].r#type, "VDDKInvalid");
    let odd = vddk::evaluate(&with_condition("Suspended"), None, now, deadline);
    assert!(odd.unexpected.is_some());
    // Stale Jobs: active, of this plan, for another image.
    let mut other = with_condition("Suspended");
    other.metadata.labels = Some(vddk::job_labels(&fixture.plan, "old:image"));
    other.status.as_mut().unwrap().active = Some(1);
    let jobs = vec![other, started(1)];
    assert_eq!(vddk::stale_jobs(&jobs, &fixture.plan, image).len(), 1);
}
