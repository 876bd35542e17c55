//! Property values to model fields (pure): upstream's adapters
//! (`pkg/controller/provider/container/vsphere/model.go`), one per object type.
//!
//! Each `apply_*` takes the assignments of one update (or one re-read) and updates the
//! object in place. As upstream, only assignments are used, an unset property arrives as
//! an assignment of `None`, and a value of an unexpected shape leaves the field as it
//! was. A few upstream bugs are fixed rather than copied (each is marked *Ferry:*):
//!
//! - a malformed boolean in `config.extraConfig` skips that option (upstream abandons
//!   the rest of the update);
//! - per-disk change tracking (`scsi0:1.ctkEnabled`) is remembered and applied to the
//!   disks whenever either the devices or the options change (upstream forgets it when
//!   only the devices change);
//! - `faultToleranceEnabled` follows `config.ftInfo` of any type (upstream matches only
//!   the abstract `FaultToleranceConfigInfo`, which the wire never carries);
//! - a disk without a unit number, a guest route without a route configuration, or a
//!   DVS member without a host is read with zero values (upstream would panic).

use std::collections::{BTreeMap, BTreeSet};

use ferry_vim::{DataObject, MoRef, SnapshotInfo, Value};

use super::ids::{sanitize_datastore_id, unescape_name};
use super::model::{
    Base, Cluster, Controller, CustomFieldDef, CustomFieldValue, Datacenter, Datastore, Device,
    Disk, DvsHost, Folder, GuestApp, GuestDisk, GuestIpStack, GuestNetwork, Host, HostScsiDisk,
    Network, Nic, ObjRef, PciBridge, Pnic, PortGroup, Switch, Vm, Vnic, bus, kind,
};

/// One property assignment: a path and its value (`None`: unset).
#[derive(Clone, Copy, Debug)]
pub struct Assign<'a> {
    /// The property path, e.g. `config.hardware.device`.
    pub path: &'a str,
    /// The value.
    pub value: Option<&'a Value>,
}

/// vSphere managed object types the collector models.
pub mod vim_type {
    /// `Folder`.
    pub const FOLDER: &str = "Folder";
    /// `Datacenter`.
    pub const DATACENTER: &str = "Datacenter";
    /// `ComputeResource` (a standalone host's).
    pub const COMPUTE_RESOURCE: &str = "ComputeResource";
    /// `ClusterComputeResource`.
    pub const CLUSTER: &str = "ClusterComputeResource";
    /// `HostSystem`.
    pub const HOST: &str = "HostSystem";
    /// `Network`.
    pub const NETWORK: &str = "Network";
    /// `OpaqueNetwork`.
    pub const OPAQUE_NETWORK: &str = "OpaqueNetwork";
    /// `DistributedVirtualPortgroup`.
    pub const DV_PORT_GROUP: &str = "DistributedVirtualPortgroup";
    /// `VmwareDistributedVirtualSwitch`.
    pub const DV_SWITCH: &str = "VmwareDistributedVirtualSwitch";
    /// `Datastore`.
    pub const DATASTORE: &str = "Datastore";
    /// `VirtualMachine`.
    pub const VM: &str = "VirtualMachine";
}

/// Upstream's `Ref`: a reference with the model kind of the vSphere type (the raw type
/// for types upstream does not model). A missing value is the empty reference.
pub fn obj_ref(value: Option<&Value>) -> ObjRef {
    match value.and_then(Value::as_moref) {
        Some(moref) => moref_ref(moref),
        None => ObjRef::default(),
    }
}

/// The reference to a managed object.
pub fn moref_ref(moref: &MoRef) -> ObjRef {
    let model_kind = match moref.kind.as_str() {
        vim_type::FOLDER => kind::FOLDER,
        vim_type::DATACENTER => kind::DATACENTER,
        vim_type::CLUSTER | vim_type::COMPUTE_RESOURCE => kind::CLUSTER,
        vim_type::NETWORK | vim_type::DV_PORT_GROUP | vim_type::DV_SWITCH => kind::NETWORK,
        vim_type::DATASTORE => kind::DATASTORE,
        vim_type::HOST => kind::HOST,
        vim_type::VM => kind::VM,
        other => other,
    };
    ObjRef::new(model_kind, moref.value.clone())
}

/// Upstream's `RefList`: the references of an `ArrayOfManagedObjectReference`; `None`
/// (JSON `null`) when the array is empty or the value is not an array.
fn ref_list(value: Option<&Value>) -> Option<Vec<ObjRef>> {
    let list: Vec<ObjRef> = items(value)
        .iter()
        .filter_map(Value::as_moref)
        .map(moref_ref)
        .collect();
    non_empty(list)
}

fn non_empty<T>(list: Vec<T>) -> Option<Vec<T>> {
    (!list.is_empty()).then_some(list)
}

/// The items of an `ArrayOf…` value (none for anything else).
fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).unwrap_or_default()
}

fn is_array(value: Option<&Value>) -> bool {
    value.and_then(Value::as_array).is_some()
}

/// A data object of exactly this type.
fn object_of<'a>(value: Option<&'a Value>, type_name: &str) -> Option<&'a DataObject> {
    value
        .and_then(Value::as_object)
        .filter(|o| o.type_name() == type_name)
}

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

fn field<'a>(object: &'a DataObject, path: &str) -> Option<&'a Value> {
    object.path(path)
}

fn field_text(object: &DataObject, path: &str) -> String {
    text(field(object, path)).unwrap_or_default().to_owned()
}

fn field_int(object: &DataObject, path: &str) -> i64 {
    field(object, path).and_then(Value::as_i64).unwrap_or(0)
}

fn field_bool(object: &DataObject, path: &str) -> bool {
    field(object, path)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn all_texts(object: &DataObject, name: &str) -> Vec<String> {
    object
        .get_all(name)
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn set_text(target: &mut String, value: Option<&Value>) {
    if let Some(text) = text(value) {
        *target = text.to_owned();
    }
}

fn set_bool(target: &mut bool, value: Option<&Value>) {
    if let Some(flag) = value.and_then(Value::as_bool) {
        *target = flag;
    }
}

fn set_int(target: &mut i64, value: Option<&Value>) {
    if let Some(number) = value.and_then(Value::as_i64) {
        *target = number;
    }
}

/// Go's `fmt.Sprint` of a property value as upstream stores the tools fields: `<nil>`
/// when unset.
fn go_sprint(value: Option<&Value>) -> String {
    match value {
        None => "<nil>".to_owned(),
        Some(value) => value.as_str().unwrap_or_default().to_owned(),
    }
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The name and parent, which every type has.
fn apply_base(base: &mut Base, assign: &Assign<'_>) {
    match assign.path {
        "name" => base.name = text(assign.value).map(unescape_name).unwrap_or_default(),
        "parent" => base.parent = obj_ref(assign.value),
        _ => {}
    }
}

/// A folder's properties.
pub fn apply_folder(folder: &mut Folder, changes: &[Assign<'_>]) {
    for assign in changes {
        apply_base(&mut folder.base, assign);
        match assign.path {
            "parent" => {
                let parent = obj_ref(assign.value);
                if parent.kind == kind::DATACENTER {
                    folder.datacenter = parent.id;
                } else if parent.kind == kind::FOLDER {
                    folder.folder = parent.id;
                }
            }
            "childEntity" => folder.children = ref_list(assign.value),
            _ => {}
        }
    }
}

/// A datacenter's properties.
pub fn apply_datacenter(datacenter: &mut Datacenter, changes: &[Assign<'_>]) {
    for assign in changes {
        apply_base(&mut datacenter.base, assign);
        match assign.path {
            "vmFolder" => datacenter.vms = obj_ref(assign.value),
            "hostFolder" => datacenter.clusters = obj_ref(assign.value),
            "networkFolder" => datacenter.networks = obj_ref(assign.value),
            "datastoreFolder" => datacenter.datastores = obj_ref(assign.value),
            _ => {}
        }
    }
}

/// A cluster's or a standalone compute resource's properties.
pub fn apply_cluster(cluster: &mut Cluster, changes: &[Assign<'_>]) {
    for assign in changes {
        apply_base(&mut cluster.base, assign);
        match assign.path {
            "parent" => cluster.folder = obj_ref(assign.value).id,
            "host" => cluster.hosts = ref_list(assign.value),
            "network" => cluster.networks = ref_list(assign.value),
            "datastore" => cluster.datastores = ref_list(assign.value),
            "configuration.dasConfig.enabled" => set_bool(&mut cluster.das_enabled, assign.value),
            // Upstream casts the ArrayOf… wrapper to a slice, which never matches.
            "configuration.dasVmConfig" => cluster.das_vms = Some(Vec::new()),
            "configuration.drsConfig.enabled" => set_bool(&mut cluster.drs_enabled, assign.value),
            "configuration.drsVmConfig" => cluster.drs_vms = Some(Vec::new()),
            "configuration.drsConfig.defaultVmBehavior" => {
                set_text(&mut cluster.drs_behavior, assign.value);
            }
            _ => {}
        }
    }
}

/// A host's properties.
pub fn apply_host(host: &mut Host, changes: &[Assign<'_>]) {
    for assign in changes {
        apply_base(&mut host.base, assign);
        let value = assign.value;
        match assign.path {
            "parent" => host.cluster = obj_ref(value).id,
            "overallStatus" => set_text(&mut host.status, value),
            "summary.runtime.inMaintenanceMode" => set_bool(&mut host.in_maintenance_mode, value),
            "summary.managementServerIp" => set_text(&mut host.management_server_ip, value),
            "summary.config.sslThumbprint" => set_text(&mut host.thumbprint, value),
            "config.dateTimeInfo.timeZone.name" => set_text(&mut host.timezone, value),
            "summary.hardware.numCpuPkgs" => set_int(&mut host.cpu_sockets, value),
            "summary.hardware.numCpuCores" => set_int(&mut host.cpu_cores, value),
            "summary.hardware.memorySize" => set_int(&mut host.memory_bytes, value),
            "config.product.name" => set_text(&mut host.product_name, value),
            "config.product.version" => set_text(&mut host.product_version, value),
            "network" => host.networks = ref_list(value),
            "datastore" => host.datastores = ref_list(value),
            "config.network.vswitch" if is_array(value) => {
                host.network.switches = non_empty(
                    objects(value)
                        .map(|s| Switch {
                            key: field_text(s, "key"),
                            name: field_text(s, "name"),
                            port_groups: non_empty(all_texts(s, "portgroup")),
                            pnics: non_empty(all_texts(s, "pnic")),
                        })
                        .collect(),
                );
            }
            "config.network.portgroup" if is_array(value) => {
                host.network.port_groups = non_empty(
                    objects(value)
                        .map(|p| PortGroup {
                            key: field_text(p, "key"),
                            name: field_text(p, "spec.name"),
                            switch: field_text(p, "vswitch"),
                            vlan_id: field_int(p, "spec.vlanId"),
                        })
                        .collect(),
                );
            }
            "config.network.pnic" if is_array(value) => {
                let mut pnics: Vec<Pnic> = objects(value)
                    .map(|n| Pnic {
                        key: field_text(n, "key"),
                        link_speed: field_int(n, "linkSpeed.speedMb"),
                    })
                    .collect();
                pnics.sort_by_key(|p| std::cmp::Reverse(p.link_speed));
                host.network.pnics = non_empty(pnics);
            }
            "config.network.vnic" if is_array(value) => {
                let mut vnics: Vec<Vnic> = objects(value).map(vnic).collect();
                vnics.sort_by_key(|n| std::cmp::Reverse(n.mtu));
                host.network.vnics = non_empty(vnics);
            }
            "config.virtualNicManagerInfo.netConfig" if is_array(value) => {
                host.management_ips = management_ips(value);
            }
            "config.storageDevice.scsiLun" if is_array(value) => {
                host.host_scsi_disks = non_empty(
                    objects(value)
                        .filter(|lun| lun.type_name() == "HostScsiDisk")
                        .map(|disk| HostScsiDisk {
                            canonical_name: field_text(disk, "canonicalName"),
                            vendor: field_text(disk, "vendor").trim().to_owned(),
                            model: String::new(),
                            key: field_text(disk, "key").trim().to_owned(),
                        })
                        .collect(),
                );
            }
            "configManager.advancedOption" => host.advanced_options = obj_ref(value),
            "hardware.systemInfo.model" => set_text(&mut host.model, value),
            "hardware.systemInfo.vendor" => set_text(&mut host.vendor, value),
            "capability.vmotionSupported" => set_bool(&mut host.vmotion_supported, value),
            "capability.storageVMotionSupported" => {
                set_bool(&mut host.storage_vmotion_supported, value);
            }
            _ => {}
        }
    }
}

/// The data objects of an array value.
fn objects<'a>(value: Option<&'a Value>) -> impl Iterator<Item = &'a DataObject> + 'a {
    items(value).iter().filter_map(Value::as_object)
}

fn vnic(nic: &DataObject) -> Vnic {
    let ipv6: Vec<String> = field(nic, "spec.ip.ipV6Config")
        .and_then(Value::as_object)
        .map(|config| {
            config
                .get_all("ipV6Address")
                .filter_map(|a| a.get("ipAddress").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Vnic {
        key: field_text(nic, "key"),
        device: field_text(nic, "device"),
        port_group: field_text(nic, "portgroup"),
        d_port_group: field_text(nic, "spec.distributedVirtualPort.portgroupKey"),
        ip_address: field_text(nic, "spec.ip.ipAddress"),
        ip_v6_address: non_empty(ipv6),
        subnet_mask: field_text(nic, "spec.ip.subnetMask"),
        mtu: field_int(nic, "spec.mtu"),
    }
}

/// The IPv4 addresses of the selected management vNICs.
fn management_ips(value: Option<&Value>) -> Vec<String> {
    let mut ips = Vec::new();
    for config in objects(value) {
        if field_text(config, "nicType") != "management" {
            continue;
        }
        let selected = all_texts(config, "selectedVnic");
        for candidate in config.get_all("candidateVnic").filter_map(Value::as_object) {
            let key = field_text(candidate, "key");
            for _ in selected.iter().filter(|s| **s == key) {
                let ip = field_text(candidate, "spec.ip.ipAddress");
                if !ip.is_empty() {
                    ips.push(ip);
                }
            }
        }
    }
    ips
}

/// A standard, opaque or distributed port group network's properties.
pub fn apply_network(network: &mut Network, changes: &[Assign<'_>]) {
    for assign in changes {
        apply_base(&mut network.base, assign);
        let value = assign.value;
        match assign.path {
            // `tag` is a `Tag[]`: upstream's string cast never matches.
            "key" => set_text(&mut network.key, value),
            "config.distributedVirtualSwitch" => network.dv_switch = obj_ref(value),
            "summary" => {
                if let Some(summary) = object_of(value, "OpaqueNetworkSummary") {
                    network.key = field_text(summary, "opaqueNetworkId");
                }
            }
            "config.defaultPortConfig" => {
                if let Some(setting) = object_of(value, "VMwareDVSPortSetting") {
                    apply_vlan(network, setting);
                }
            }
            _ => {}
        }
    }
}

fn apply_vlan(network: &mut Network, setting: &DataObject) {
    let Some(vlan) = setting.get("vlan").and_then(Value::as_object) else {
        return;
    };
    match vlan.type_name() {
        "VmwareDistributedVirtualSwitchVlanIdSpec" => {
            let id = field_int(vlan, "vlanId");
            if id > 0 {
                network.vlan_id = id.to_string();
            }
        }
        "VmwareDistributedVirtualSwitchTrunkVlanSpec" => {
            let ranges: Vec<String> = vlan
                .get_all("vlanId")
                .filter_map(Value::as_object)
                .map(|r| format!("{}-{}", field_int(r, "start"), field_int(r, "end")))
                .collect();
            network.vlan_id = ranges.join(",");
        }
        _ => {}
    }
}

/// A distributed switch's properties.
pub fn apply_dv_switch(network: &mut Network, changes: &[Assign<'_>]) {
    for assign in changes {
        apply_base(&mut network.base, assign);
        if assign.path == "config.host" && is_array(assign.value) {
            let mut hosts = Vec::new();
            for member in objects(assign.value) {
                let Some(config) = member.get("config").and_then(Value::as_object) else {
                    continue;
                };
                let Some(backing) = config
                    .get("backing")
                    .and_then(Value::as_object)
                    .filter(|b| b.type_name() == "DistributedVirtualSwitchHostMemberPnicBacking")
                else {
                    continue;
                };
                hosts.push(DvsHost {
                    host: obj_ref(config.get("host")),
                    pnic: backing
                        .get_all("pnicSpec")
                        .filter_map(|spec| spec.get("pnicDevice").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect(),
                });
            }
            network.host = Some(hosts);
        }
    }
}

/// A datastore's properties.
pub fn apply_datastore(datastore: &mut Datastore, changes: &[Assign<'_>]) {
    for assign in changes {
        apply_base(&mut datastore.base, assign);
        let value = assign.value;
        match assign.path {
            "summary.type" => set_text(&mut datastore.r#type, value),
            "summary.capacity" => set_int(&mut datastore.capacity, value),
            "summary.freeSpace" => set_int(&mut datastore.free, value),
            "summary.maintenanceMode" => set_text(&mut datastore.maintenance_mode, value),
            "info" => apply_datastore_info(datastore, value),
            "capability.storageIORMSupported" => {
                set_bool(&mut datastore.storage_iorm_supported, value);
            }
            "iormConfiguration" => {
                if let Some(info) = object_of(value, "StorageIORMInfo") {
                    apply_iorm(datastore, info);
                }
            }
            _ => {}
        }
    }
}

fn apply_datastore_info(datastore: &mut Datastore, value: Option<&Value>) {
    if let Some(info) = object_of(value, "VmfsDatastoreInfo") {
        let names = info
            .get("vmfs")
            .and_then(Value::as_object)
            .map(|vmfs| {
                vmfs.get_all("extent")
                    .filter_map(|e| e.get("diskName").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        datastore.backing_devices_names = Some(names);
    } else if let Some(nas) = object_of(value, "NasDatastoreInfo")
        .and_then(|info| info.get("nas"))
        .and_then(Value::as_object)
    {
        datastore.nas_remote_host = field_text(nas, "remoteHost");
        datastore.nas_remote_path = field_text(nas, "remotePath");
        datastore.nas_remote_host_names = non_empty(all_texts(nas, "remoteHostNames"));
    }
}

fn apply_iorm(datastore: &mut Datastore, info: &DataObject) {
    datastore.iorm_enabled = field_bool(info, "enabled");
    let threshold = field_int(info, "congestionThreshold");
    datastore.iorm_congestion_threshold = if threshold < 5 {
        30
    } else {
        threshold.min(100)
    };
    datastore.iorm_congestion_threshold_mode =
        if field_text(info, "congestionThresholdMode") == "manual" {
            "manual".into()
        } else {
            "automatic".into()
        };
    let percent = field_int(info, "percentOfPeakThroughput");
    datastore.iorm_percent_of_peak_throughput = if percent < 50 { 90 } else { percent.min(100) };
}

/// A VM's properties.
pub fn apply_vm(vm: &mut Vm, changes: &[Assign<'_>]) {
    let mut devices_changed = false;
    let mut options_changed = false;
    for assign in changes {
        apply_base(&mut vm.base, assign);
        let value = assign.value;
        match assign.path {
            "parent" => vm.folder = obj_ref(value).id,
            "config.uuid" => set_text(&mut vm.uuid, value),
            "config.instanceUuid" => set_text(&mut vm.instance_uuid, value),
            "config.firmware" => set_text(&mut vm.firmware, value),
            "runtime.powerState" => set_text(&mut vm.power_state, value),
            "runtime.connectionState" => set_text(&mut vm.connection_state, value),
            "config.template" => set_bool(&mut vm.is_template, value),
            "snapshot" => match object_of(value, "VirtualMachineSnapshotInfo") {
                Some(info) => {
                    if let Some(current) = info.get("currentSnapshot") {
                        vm.snapshot = obj_ref(Some(current));
                    }
                    vm.snapshot_tree = value.map(SnapshotInfo::from_value);
                }
                None => {
                    vm.snapshot = ObjRef::default();
                    vm.snapshot_tree = None;
                }
            },
            "config.changeTrackingEnabled" => set_bool(&mut vm.change_tracking_enabled, value),
            "config.cpuAffinity" => {
                if let Some(affinity) = object_of(value, "VirtualMachineAffinityInfo") {
                    vm.cpu_affinity = non_empty(
                        affinity
                            .get_all("affinitySet")
                            .filter_map(Value::as_i64)
                            .collect(),
                    );
                }
            }
            "config.bootOptions" => {
                if let Some(options) = object_of(value, "VirtualMachineBootOptions") {
                    set_bool(&mut vm.secure_boot, options.get("efiSecureBootEnabled"));
                }
            }
            "config.cpuHotAddEnabled" => set_bool(&mut vm.cpu_hot_add_enabled, value),
            "config.cpuHotRemoveEnabled" => set_bool(&mut vm.cpu_hot_remove_enabled, value),
            "config.memoryHotAddEnabled" => set_bool(&mut vm.memory_hot_add_enabled, value),
            "config.hardware.numCPU" => set_int(&mut vm.cpu_count, value),
            "config.hardware.numCoresPerSocket" => set_int(&mut vm.cores_per_socket, value),
            "config.hardware.memoryMB" => set_int(&mut vm.memory_mb, value),
            "summary.storage.committed" => set_int(&mut vm.storage_used, value),
            "summary.config.guestFullName" => set_text(&mut vm.guest_name, value),
            "guest.guestFullName" => set_text(&mut vm.guest_name_from_vmware_tools, value),
            "guest.hostName" => set_text(&mut vm.host_name, value),
            "guest.toolsStatus" => vm.tools_status = go_sprint(value),
            "guest.toolsRunningStatus" => vm.tools_running_status = go_sprint(value),
            "guest.toolsVersionStatus2" => vm.tools_version_status = go_sprint(value),
            "summary.config.tpmPresent" => set_bool(&mut vm.tpm_enabled, value),
            "summary.guest.guestId" => {
                // Powered-off VMs report no guest ID: keep the last one.
                if let Some(id) = text(value).filter(|id| !id.is_empty()) {
                    vm.guest_id = id.to_owned();
                }
            }
            "summary.quickStats.balloonedMemory" => set_int(&mut vm.ballooned_memory, value),
            "runtime.host" => vm.host = obj_ref(value).id,
            "summary.guest.ipAddress" => set_text(&mut vm.ip_address, value),
            // Ferry: any FaultToleranceConfigInfo subtype (see the module docs).
            "config.ftInfo" if value.and_then(Value::as_object).is_some() => {
                vm.fault_tolerance_enabled = true;
            }
            "network" => vm.networks = ref_list(value),
            "config.extraConfig" if is_array(value) => {
                apply_extra_config(vm, value);
                options_changed = true;
            }
            "config.nestedHVEnabled" => set_bool(&mut vm.nested_hv_enabled, value),
            "guest.disk" if is_array(value) => apply_guest_disks(vm, value),
            "guest.net" if is_array(value) => apply_guest_networks(vm, value),
            "guest.ipStack" if is_array(value) => apply_guest_ip_stacks(vm, value),
            "config.hardware.device" if is_array(value) => {
                apply_devices(vm, value);
                devices_changed = true;
            }
            "availableField" if is_array(value) => {
                vm.custom_def = Some(
                    objects(value)
                        .map(|f| CustomFieldDef {
                            name: field_text(f, "name"),
                            key: field_int(f, "key"),
                            managed_object_type: field_text(f, "managedObjectType"),
                        })
                        .collect(),
                );
            }
            "customValue" => {
                vm.custom_values = Some(
                    objects(value)
                        .filter(|v| v.type_name() == "CustomFieldStringValue")
                        .map(|v| CustomFieldValue {
                            key: field_int(v, "key"),
                            value: field_text(v, "value"),
                        })
                        .collect(),
                );
            }
            "runtime.consolidationNeeded" => set_bool(&mut vm.consolidation_needed, value),
            "config.changeVersion" => set_text(&mut vm.change_version, value),
            _ => {}
        }
    }
    if devices_changed || options_changed {
        refresh_nic_pci_addresses(vm);
        apply_disk_change_tracking(vm);
    }
}

/// A string option value (`OptionValue.value` is `anyType`; upstream keeps strings only).
fn option_text(value: Option<&Value>) -> Option<&str> {
    match value? {
        Value::String(s) | Value::Text(s) => Some(s),
        Value::Typed { type_name, text } if type_name == "xsd:string" => Some(text),
        _ => None,
    }
}

fn apply_extra_config(vm: &mut Vm, value: Option<&Value>) {
    let mut bridge_slots: BTreeMap<i64, i64> = BTreeMap::new();
    let mut bridge_functions: BTreeMap<i64, i64> = BTreeMap::new();
    let mut ctk_disks = BTreeSet::new();
    for option in objects(value) {
        let key = field_text(option, "key");
        let text = option_text(option.get("value"));
        if let Some(rest) = key.strip_prefix("pciBridge") {
            parse_pci_bridge_option(rest, text, &mut bridge_slots, &mut bridge_functions);
            continue;
        }
        let Some(text) = text else { continue };
        if key == "numa.nodeAffinity" {
            vm.numa_node_affinity = Some(text.split(',').map(str::to_owned).collect());
        } else if key.eq_ignore_ascii_case("ctkEnabled") {
            if let Some(flag) = go_parse_bool(text) {
                vm.change_tracking_enabled = flag;
            }
        } else if key == "disk.EnableUUID" {
            if let Some(flag) = go_parse_bool(text) {
                vm.disk_enable_uuid = flag;
            }
        } else if key == "guestinfo.appInfo" {
            vm.guest_apps = parse_guest_apps(text);
        } else if has_disk_prefix(&key)
            && key.to_lowercase().ends_with(".ctkenabled")
            && go_parse_bool(text) == Some(true)
        {
            let device = key.split('.').next().unwrap_or_default().to_lowercase();
            ctk_disks.insert(device);
        }
    }
    vm.ctk_disks = ctk_disks;
    vm.pci_bridges = build_pci_bridges(&bridge_slots, &bridge_functions);
}

fn has_disk_prefix(key: &str) -> bool {
    let key = key.to_lowercase();
    [bus::SCSI, bus::SATA, bus::IDE, bus::NVME]
        .iter()
        .any(|prefix| key.starts_with(prefix))
}

fn parse_guest_apps(text: &str) -> Option<Vec<GuestApp>> {
    #[derive(serde::Deserialize)]
    struct AppInfo {
        #[serde(default)]
        applications: Option<Vec<App>>,
    }
    #[derive(serde::Deserialize)]
    struct App {
        #[serde(default)]
        a: String,
        #[serde(default)]
        v: String,
    }
    let info: AppInfo = serde_json::from_str(text).ok()?;
    Some(
        info.applications
            .unwrap_or_default()
            .into_iter()
            .map(|app| GuestApp {
                name: app.a,
                version: app.v,
            })
            .collect(),
    )
}

/// `pciBridgeN.pciSlotNumber` and `pciBridgeN.functions` (`rest` is after `pciBridge`).
fn parse_pci_bridge_option(
    rest: &str,
    value: Option<&str>,
    slots: &mut BTreeMap<i64, i64>,
    functions: &mut BTreeMap<i64, i64>,
) {
    let Some(dot) = rest.find('.').filter(|dot| *dot >= 1) else {
        return;
    };
    let Ok(number) = rest[..dot].parse::<i64>() else {
        return;
    };
    let Some(value) = value else { return };
    match &rest[dot + 1..] {
        "pciSlotNumber" => {
            if let Ok(slot) = value.parse::<i32>() {
                slots.insert(number, i64::from(slot));
            }
        }
        "functions" => {
            if let Ok(count) = value.parse::<i64>() {
                functions.insert(number, count);
            }
        }
        _ => {}
    }
}

const PCI_SLOT_MASK_DEVICE: i64 = 0x1f;

fn build_pci_bridges(
    slots: &BTreeMap<i64, i64>,
    functions: &BTreeMap<i64, i64>,
) -> Option<Vec<PciBridge>> {
    if slots.is_empty() {
        return None;
    }
    let mut bridges: Vec<PciBridge> = slots
        .iter()
        .map(|(number, slot)| PciBridge {
            number: *number,
            slot_number: *slot,
            functions: match functions.get(number) {
                Some(count) if *count != 0 => *count,
                _ => 1,
            },
        })
        .collect();
    bridges.sort_by_key(|b| (b.slot_number & PCI_SLOT_MASK_DEVICE, b.number));
    Some(bridges)
}

/// Upstream's `computePciAddress`: a persistent PCI slot number to the guest-visible
/// address, through the VM's bridges (VMware KB 311606; I440BX, buses from 2).
pub fn pci_address(slot: i64, bridges: &[PciBridge]) -> String {
    if slot <= 0 {
        return String::new();
    }
    let device = slot & PCI_SLOT_MASK_DEVICE;
    let bridge_index = (slot >> 5) & 0x1f;
    let function = (slot >> 10) & 0x7;
    if bridge_index == 0 {
        return format!("0000:00:{device:02x}.0");
    }
    let bridge_number = bridge_index - 1;
    let mut bus = 2;
    for bridge in bridges {
        if bridge.number == bridge_number {
            return format!("0000:{:02x}:{device:02x}.0", bus + function);
        }
        bus += bridge.functions;
    }
    String::new()
}

fn refresh_nic_pci_addresses(vm: &mut Vm) {
    let bridges = vm.pci_bridges.clone().unwrap_or_default();
    let slots: BTreeMap<i64, i64> = vm
        .devices()
        .iter()
        .map(|d| (d.key, d.pci_slot_number))
        .collect();
    if let Some(nics) = vm.nics.as_mut() {
        for nic in nics {
            let slot = slots.get(&nic.device_key).copied().unwrap_or(0);
            nic.pci_address = pci_address(slot, &bridges);
        }
    }
}

/// The per-disk key upstream matches `ctkEnabled` options with: `<bus><n>:<unit>`,
/// `n` being the controller key modulo 100.
pub fn disk_ctk_key(disk: &Disk) -> String {
    let index = disk.controller_key - (disk.controller_key / 100) * 100;
    format!("{}{}:{}", disk.bus, index, disk.unit_number).to_lowercase()
}

fn apply_disk_change_tracking(vm: &mut Vm) {
    let ctk = vm.ctk_disks.clone();
    if let Some(disks) = vm.disks.as_mut() {
        for disk in disks {
            disk.change_tracking_enabled = ctk.contains(&disk_ctk_key(disk));
        }
    }
}

fn apply_guest_disks(vm: &mut Vm, value: Option<&Value>) {
    let mut mounts = Vec::new();
    for info in objects(value) {
        let key = info
            .get_all("mappings")
            .next()
            .and_then(|m| m.get("key"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mount = GuestDisk {
            key,
            disk_path: field_text(info, "diskPath"),
            capacity: field_int(info, "capacity"),
            free_space: field_int(info, "freeSpace"),
            filesystem_type: field_text(info, "filesystemType"),
        };
        if let Some(disk) = vm
            .disks
            .as_mut()
            .and_then(|disks| disks.iter_mut().find(|d| d.key == mount.key))
        {
            disk.win_drive_letter = windows_drive_letter(&mount.disk_path);
        }
        mounts.push(mount);
    }
    vm.guest_disks = non_empty(mounts);
}

/// `c` for `C:\` or `C:/`; empty for anything else.
pub fn windows_drive_letter(path: &str) -> String {
    let bytes = path.as_bytes();
    if bytes.len() == 3 && bytes[1] == b':' && (bytes[2] == b'\\' || bytes[2] == b'/') {
        char::from(bytes[0]).to_lowercase().collect()
    } else {
        String::new()
    }
}

fn apply_guest_networks(vm: &mut Vm, value: Option<&Value>) {
    let mut networks = Vec::new();
    for (index, info) in items(value).iter().enumerate() {
        let Some(info) = info.as_object() else {
            continue;
        };
        let Some(ip_config) = info.get("ipConfig").and_then(Value::as_object) else {
            continue;
        };
        let dns = info
            .get("dnsConfig")
            .and_then(Value::as_object)
            .and_then(|dns| non_empty(all_texts(dns, "ipAddress")));
        for address in ip_config.get_all("ipAddress").filter_map(Value::as_object) {
            networks.push(GuestNetwork {
                device: index.to_string(),
                device_config_id: field_int(info, "deviceConfigId"),
                mac: field_text(info, "macAddress").to_lowercase(),
                ip: field_text(address, "ipAddress"),
                origin: field_text(address, "origin"),
                prefix_length: field_int(address, "prefixLength"),
                dns: dns.clone(),
                network: field_text(info, "network"),
            });
        }
    }
    // A powered-off guest reports nothing: keep what was known.
    if !networks.is_empty() {
        vm.guest_networks = Some(networks);
        sort_nics_by_guest_networks(vm);
    }
}

fn apply_guest_ip_stacks(vm: &mut Vm, value: Option<&Value>) {
    let mut stacks = Vec::new();
    for stack in objects(value) {
        let dns = stack
            .get("dnsConfig")
            .and_then(Value::as_object)
            .and_then(|dns| non_empty(all_texts(dns, "ipAddress")));
        let Some(routes) = stack.get("ipRouteConfig").and_then(Value::as_object) else {
            continue;
        };
        for route in routes.get_all("ipRoute").filter_map(Value::as_object) {
            let gateway = field_text(route, "gateway.ipAddress");
            if gateway.is_empty() {
                continue;
            }
            stacks.push(GuestIpStack {
                device: field_text(route, "gateway.device"),
                gateway,
                network: field_text(route, "network"),
                prefix_length: field_int(route, "prefixLength"),
                dns: dns.clone(),
            });
        }
    }
    if !stacks.is_empty() {
        vm.guest_ip_stacks = Some(stacks);
    }
}

/// Upstream's `SortNICsByGuestNetworkOrder`: NICs the guest reports come first, in the
/// guest's order; the others follow in device order.
fn sort_nics_by_guest_networks(vm: &mut Vm) {
    let mut guest_order: BTreeMap<String, i64> = BTreeMap::new();
    for network in vm.guest_networks.as_deref().unwrap_or_default() {
        guest_order
            .entry(network.mac.clone())
            .or_insert_with(|| network.device.parse().unwrap_or(0));
    }
    if let Some(nics) = vm.nics.as_mut() {
        nics.sort_by_key(|nic| match guest_order.get(&nic.mac) {
            Some(order) => (0, *order, 0),
            None => (1, 0, nic.index),
        });
    }
}

const ETHERNET_CARDS: &[&str] = &[
    "VirtualE1000",
    "VirtualE1000e",
    "VirtualPCNet32",
    "VirtualSriovEthernetCard",
    "VirtualVmxnet",
    "VirtualVmxnet2",
    "VirtualVmxnet3",
    "VirtualVmxnet3Vrdma",
];

fn is_passthrough_or_controller(type_name: &str) -> bool {
    matches!(
        type_name,
        "VirtualSriovEthernetCard"
            | "VirtualPCIPassthrough"
            | "VirtualSCSIPassthrough"
            | "VirtualUSBController"
    )
}

fn is_connected_nic(device: &DataObject) -> bool {
    let type_name = device.type_name();
    type_name != "VirtualSriovEthernetCard"
        && ETHERNET_CARDS.contains(&type_name)
        && device.get("backing").is_some()
}

fn pci_slot_number(device: &DataObject) -> i64 {
    device
        .get("slotInfo")
        .and_then(Value::as_object)
        .filter(|slot| slot.type_name() == "VirtualDevicePciBusSlotInfo")
        .map(|slot| field_int(slot, "pciSlotNumber"))
        .unwrap_or(0)
}

fn controller_bus(type_name: &str) -> Option<&'static str> {
    Some(match type_name {
        "VirtualIDEController" => bus::IDE,
        "VirtualBusLogicController"
        | "VirtualLsiLogicController"
        | "VirtualLsiLogicSASController"
        | "ParaVirtualSCSIController" => bus::SCSI,
        "VirtualAHCIController" => bus::SATA,
        "VirtualUSBController" => bus::USB,
        "VirtualNVMEController" => bus::NVME,
        _ => return None,
    })
}

fn apply_devices(vm: &mut Vm, value: Option<&Value>) {
    let devices: Vec<&DataObject> = objects(value).collect();
    let bridges = vm.pci_bridges.clone().unwrap_or_default();
    let tracked: Vec<Device> = devices
        .iter()
        .filter(|d| is_passthrough_or_controller(d.type_name()) || is_connected_nic(d))
        .map(|d| Device {
            kind: d.type_name().to_owned(),
            key: field_int(d, "key"),
            pci_slot_number: pci_slot_number(d),
        })
        .collect();
    let mut nics = Vec::new();
    for device in devices.iter().filter(|d| is_connected_nic(d)) {
        let backing = device.get("backing").and_then(Value::as_object);
        let network = match backing {
            Some(b) if b.type_name() == "VirtualEthernetCardNetworkBackingInfo" => b
                .get("network")
                .and_then(Value::as_moref)
                .map(|m| m.value.clone())
                .unwrap_or_default(),
            Some(b) if b.type_name() == "VirtualEthernetCardDistributedVirtualPortBackingInfo" => {
                field_text(b, "port.portgroupKey")
            }
            Some(b) if b.type_name() == "VirtualEthernetCardOpaqueNetworkBackingInfo" => {
                field_text(b, "opaqueNetworkId")
            }
            _ => String::new(),
        };
        let start_connected = device
            .get("connectable")
            .and_then(Value::as_object)
            .map(|c| field_bool(c, "startConnected"))
            .unwrap_or(true);
        nics.push(Nic {
            network: ObjRef::new(kind::NETWORK, network),
            mac: field_text(device, "macAddress").to_lowercase(),
            index: i64::try_from(nics.len()).unwrap_or(i64::MAX),
            device_key: field_int(device, "key"),
            pci_address: pci_address(pci_slot_number(device), &bridges),
            start_connected,
            model: device.type_name().to_owned(),
        });
    }
    let controllers: Vec<Controller> = devices
        .iter()
        .filter_map(|d| {
            controller_bus(d.type_name()).map(|bus| Controller {
                key: field_int(d, "key"),
                bus: bus.to_owned(),
                disks: d.get_all("device").filter_map(Value::as_i64).collect(),
            })
        })
        .collect();
    let disks: Vec<Disk> = devices
        .iter()
        .filter(|d| d.type_name() == "VirtualDisk")
        .filter_map(|d| disk(vm, d, &controllers))
        .collect();
    vm.devices = non_empty(tracked);
    vm.nics = non_empty(nics);
    vm.controllers = Some(controllers);
    vm.disks = Some(disks);
    if vm.guest_networks.as_ref().is_some_and(|n| !n.is_empty()) {
        sort_nics_by_guest_networks(vm);
    }
}

fn disk(vm: &Vm, device: &DataObject, controllers: &[Controller]) -> Option<Disk> {
    let backing = device.get("backing").and_then(Value::as_object)?;
    let key = field_int(device, "key");
    let controller_key = field_int(device, "controllerKey");
    let bus = controllers
        .iter()
        .find(|c| c.key == controller_key)
        .map(|c| c.bus.clone())
        .unwrap_or_default();
    let win_drive_letter = vm
        .guest_disks
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|g| g.key == key)
        .map(|g| windows_drive_letter(&g.disk_path))
        .unwrap_or_default();
    let datastore = || {
        backing
            .get("datastore")
            .and_then(Value::as_moref)
            .map(|moref| ObjRef::new(kind::DATASTORE, sanitize_datastore_id(&moref.value).0))
            .unwrap_or_default()
    };
    let shared = || {
        let sharing = field_text(backing, "sharing");
        sharing != "sharingNone" && !sharing.is_empty()
    };
    let parent = || field_text(backing, "parent.fileName");
    let mut disk = Disk {
        key,
        unit_number: field_int(device, "unitNumber"),
        controller_key,
        capacity: field_int(device, "capacityInBytes"),
        bus,
        win_drive_letter,
        ..Disk::default()
    };
    match backing.type_name() {
        "VirtualDiskFlatVer1BackingInfo" => {
            disk.file = field_text(backing, "fileName");
            disk.mode = field_text(backing, "diskMode");
            disk.datastore = datastore();
            disk.parent_file = parent();
        }
        "VirtualDiskFlatVer2BackingInfo" => {
            disk.file = field_text(backing, "fileName");
            disk.shared = shared();
            disk.mode = field_text(backing, "diskMode");
            disk.serial = field_text(backing, "uuid");
            disk.vvol_id = field_text(backing, "backingObjectId");
            disk.parent_file = parent();
            disk.datastore = datastore();
        }
        "VirtualDiskRawDiskMappingVer1BackingInfo" => {
            disk.file = field_text(backing, "fileName");
            disk.shared = shared();
            disk.mode = field_text(backing, "diskMode");
            disk.rdm = true;
            disk.physical_mode = field_text(backing, "compatibilityMode") == "physicalMode";
            disk.serial = field_text(backing, "uuid");
            disk.device_name = field_text(backing, "deviceName");
            disk.lun_uuid = field_text(backing, "lunUuid");
            disk.datastore = datastore();
        }
        "VirtualDiskRawDiskVer2BackingInfo" => {
            disk.file = field_text(backing, "descriptorFileName");
            disk.shared = shared();
            disk.rdm = true;
            disk.physical_mode = true;
            disk.device_name = field_text(backing, "deviceName");
        }
        _ => return None,
    }
    Some(disk)
}

#[cfg(test)]
mod tests;
