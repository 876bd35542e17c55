//! The OVA collections as upstream's web layer renders them
//! (`pkg/controller/provider/web/ovfbase/{vm,network,disk,storage,workload}.go`),
//! quirks included:
//!
//! - `selfLink`s have no leading slash: `providers/ova/<uid>/vms/<id>`;
//! - a VM's, network's and storage's `path` is its ID; disks have no `path`;
//! - the elements of a VM's `disks`, `networks`, `nics` and `devices` are upstream's
//!   model structs, which have no JSON tags, so their keys are PascalCase (`"ID"`,
//!   `"FilePath"`, `"MAC"`, `"Kind"`, ...), with the always-empty `Variant` and
//!   always-zero `Revision`, and each NIC's `"Config": []`;
//! - at `detail=1` a VM has `revisionValidated` (its revision: Ferry validates every
//!   revision at once), `networks: null` (upstream's `VM1.With` never sets it),
//!   `disks` and `concerns`;
//! - at full detail the top-level `revisionValidated` is shadowed by a field that is
//!   never set, so it is 0; `cpuAffinity` and `numaNodeAffinity` are `null`;
//!   `policyVersion` is the rules version of the OVA policies the concerns port;
//! - a workload is the full VM with its own `selfLink` (under `workloads/`) first and
//!   no `path`;
//! - `detail` levels: VMs 0 / 1 / ≥ 2; networks and disks bare only at exactly 0 (a
//!   negative detail shows everything, as upstream); storages are always bare;
//! - one storage per disk.
//!
//! One upstream bug is fixed rather than copied: upstream's `/disks` never fills
//! `CapacityAllocationUnits` (its collector reads a mistyped JSON key); Ferry shows the
//! units, as the VM's own disks do.

use serde::Serialize;

use super::collector::OvaInventory;
use super::concerns::RULES_VERSION;
use super::model::{Concern, Disk, Network, Storage, Vm};
use super::snapshot::Snapshot;
use crate::rest::{Collections, Links, ListQuery, MAX_DETAIL, RestError, json, json_array};

/// The collections of an OVA provider: `vms`, `networks`, `disks`, `storages`, and
/// `workloads` (by VM ID only).
impl Collections for OvaInventory {
    fn list_json(
        &self,
        collection: &str,
        query: &ListQuery,
        links: &Links<'_>,
    ) -> Result<String, RestError> {
        let snapshot = self.snapshot();
        let links = OvaLinks(links.provider_uid);
        let detail = query.detail;
        let positions = |named: fn(&Snapshot, &str) -> Vec<usize>, len: usize| match &query.name {
            Some(name) => named(&snapshot, name),
            None => (0..len).collect(),
        };
        let items: Vec<String> = match collection {
            "vms" => query
                .page
                .apply(positions(Snapshot::vms_named, snapshot.vms.len()))
                .map(|index| vm_json(&snapshot.vms[index], detail, &links))
                .collect::<Result<_, _>>()?,
            "networks" => query
                .page
                .apply(positions(Snapshot::networks_named, snapshot.networks.len()))
                .map(|index| network_json(&snapshot.networks[index], detail, &links))
                .collect::<Result<_, _>>()?,
            "disks" => query
                .page
                .apply(positions(Snapshot::disks_named, snapshot.disks.len()))
                .map(|index| disk_json(&snapshot.disks[index], detail, &links))
                .collect::<Result<_, _>>()?,
            "storages" => query
                .page
                .apply(positions(Snapshot::storages_named, snapshot.storages.len()))
                .map(|index| storage_json(&snapshot.storages[index], &links))
                .collect::<Result<_, _>>()?,
            _ => return Err(RestError::NotFound),
        };
        Ok(json_array(items))
    }

    fn get_json(&self, collection: &str, id: &str, links: &Links<'_>) -> Result<String, RestError> {
        let snapshot = self.snapshot();
        let links = OvaLinks(links.provider_uid);
        match collection {
            "vms" => vm_json(
                snapshot.vm(id).ok_or(RestError::NotFound)?,
                MAX_DETAIL,
                &links,
            ),
            "networks" => network_json(
                snapshot.network(id).ok_or(RestError::NotFound)?,
                MAX_DETAIL,
                &links,
            ),
            "disks" => disk_json(
                snapshot.disk(id).ok_or(RestError::NotFound)?,
                MAX_DETAIL,
                &links,
            ),
            "storages" => storage_json(snapshot.storage(id).ok_or(RestError::NotFound)?, &links),
            "workloads" => workload_json(snapshot.vm(id).ok_or(RestError::NotFound)?, &links),
            _ => Err(RestError::NotFound),
        }
    }

    fn counts(&self) -> Vec<(&'static str, i64)> {
        let snapshot = self.snapshot();
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        vec![
            ("vmCount", count(snapshot.vms.len())),
            ("networkCount", count(snapshot.networks.len())),
            ("diskCount", count(snapshot.disks.len())),
            ("storageCount", count(snapshot.storages.len())),
        ]
    }
}

/// Builds `selfLink`s under `providers/ova/<uid>`.
struct OvaLinks<'a>(&'a str);

impl OvaLinks<'_> {
    fn link(&self, collection: &str, id: &str) -> String {
        format!("providers/ova/{}/{collection}/{id}", self.0)
    }
}

/// `ovfbase.Resource` (`variant` is never set for OVA, so never emitted).
#[derive(Serialize)]
struct Resource<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "selfLink", skip_serializing_if = "Option::is_none")]
    self_link: Option<String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
}

/// `VM1`: detail 1.
#[derive(Serialize)]
struct Vm1<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    #[serde(rename = "revisionValidated")]
    revision_validated: u64,
    networks: Option<()>,
    disks: Vec<DiskElement<'a>>,
    concerns: &'a [Concern],
}

/// The full VM, fields in the order Go's encoder emits them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VmFull<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    concerns: &'a [Concern],
    ovf_path: &'a str,
    export_source: &'a str,
    os_type: &'a str,
    revision_validated: u64,
    policy_version: i64,
    uuid: &'a str,
    firmware: &'a str,
    secure_boot: bool,
    cpu_affinity: Option<()>,
    cpu_hot_add_enabled: bool,
    cpu_hot_remove_enabled: bool,
    memory_hot_add_enabled: bool,
    fault_tolerance_enabled: bool,
    cpu_count: i64,
    cores_per_socket: i64,
    #[serde(rename = "memoryMB")]
    memory_mb: i64,
    memory_units: &'a str,
    cpu_units: &'a str,
    ballooned_memory: i64,
    ip_address: &'a str,
    numa_node_affinity: Option<()>,
    storage_used: i64,
    change_tracking_enabled: bool,
    devices: Vec<DeviceElement<'a>>,
    nics: Vec<NicElement<'a>>,
    disks: Vec<DiskElement<'a>>,
    networks: Vec<NetworkElement<'a>>,
}

/// `Workload`: its own `selfLink`, then the VM.
#[derive(Serialize)]
struct Workload<'a> {
    #[serde(rename = "selfLink")]
    self_link: String,
    #[serde(flatten)]
    vm: VmFull<'a>,
}

/// A disk inside a VM: upstream's untagged `model.Disk`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DiskElement<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    variant: &'a str,
    name: &'a str,
    revision: i64,
    file_path: &'a str,
    capacity: i64,
    capacity_allocation_units: &'a str,
    disk_id: &'a str,
    file_ref: &'a str,
    format: &'a str,
    populated_size: i64,
}

/// A network inside a VM: upstream's untagged `model.Network`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkElement<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    variant: &'a str,
    name: &'a str,
    revision: i64,
    description: &'a str,
}

/// A NIC: upstream's untagged `model.NIC`.
#[derive(Serialize)]
struct NicElement<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "MAC")]
    mac: &'a str,
    #[serde(rename = "Network")]
    network: &'a str,
    #[serde(rename = "Config")]
    config: [(); 0],
}

/// A device: upstream's untagged `model.Device`.
#[derive(Serialize)]
struct DeviceElement<'a> {
    #[serde(rename = "Kind")]
    kind: &'a str,
}

/// The `/disks` resource.
#[derive(Serialize)]
struct DiskResource<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    #[serde(rename = "FilePath")]
    file_path: &'a str,
    #[serde(rename = "Capacity")]
    capacity: i64,
    #[serde(rename = "CapacityAllocationUnits")]
    capacity_allocation_units: &'a str,
    #[serde(rename = "DiskId")]
    disk_id: &'a str,
    #[serde(rename = "FileRef")]
    file_ref: &'a str,
    #[serde(rename = "Format")]
    format: &'a str,
    #[serde(rename = "PopulatedSize")]
    populated_size: i64,
}

/// The `/networks` resource.
#[derive(Serialize)]
struct NetworkResource<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    #[serde(rename = "Description")]
    description: &'a str,
}

fn vm_resource<'a>(vm: &'a Vm, links: &OvaLinks<'_>) -> Resource<'a> {
    Resource {
        id: &vm.id,
        name: &vm.name,
        self_link: Some(links.link("vms", &vm.id)),
        path: &vm.uuid,
    }
}

fn vm_json(vm: &Vm, detail: i64, links: &OvaLinks<'_>) -> Result<String, RestError> {
    if detail < 1 {
        return json(&vm_resource(vm, links));
    }
    if detail < 2 {
        return json(&Vm1 {
            resource: vm_resource(vm, links),
            revision_validated: vm.revision,
            networks: None,
            disks: vm.disks.iter().map(disk_element).collect(),
            concerns: &vm.concerns,
        });
    }
    json(&vm_full(vm, vm_resource(vm, links)))
}

fn workload_json(vm: &Vm, links: &OvaLinks<'_>) -> Result<String, RestError> {
    let resource = Resource {
        id: &vm.id,
        name: &vm.name,
        self_link: None,
        path: "",
    };
    json(&Workload {
        self_link: links.link("workloads", &vm.id),
        vm: vm_full(vm, resource),
    })
}

fn vm_full<'a>(vm: &'a Vm, resource: Resource<'a>) -> VmFull<'a> {
    VmFull {
        resource,
        concerns: &vm.concerns,
        ovf_path: &vm.ovf_path,
        export_source: vm.export_source.as_str(),
        os_type: &vm.os_type,
        revision_validated: 0,
        policy_version: RULES_VERSION,
        uuid: &vm.uuid,
        firmware: &vm.firmware,
        secure_boot: vm.secure_boot,
        cpu_affinity: None,
        cpu_hot_add_enabled: vm.cpu_hot_add_enabled,
        cpu_hot_remove_enabled: vm.cpu_hot_remove_enabled,
        memory_hot_add_enabled: vm.memory_hot_add_enabled,
        fault_tolerance_enabled: false,
        cpu_count: vm.cpu_count,
        cores_per_socket: vm.cores_per_socket,
        memory_mb: vm.memory,
        memory_units: &vm.memory_units,
        cpu_units: &vm.cpu_units,
        ballooned_memory: 0,
        ip_address: "",
        numa_node_affinity: None,
        storage_used: 0,
        change_tracking_enabled: false,
        devices: vm
            .devices
            .iter()
            .map(|device| DeviceElement { kind: &device.kind })
            .collect(),
        nics: vm
            .nics
            .iter()
            .map(|nic| NicElement {
                name: &nic.name,
                mac: &nic.mac,
                network: &nic.network,
                config: [],
            })
            .collect(),
        disks: vm.disks.iter().map(disk_element).collect(),
        networks: vm.networks.iter().map(network_element).collect(),
    }
}

fn disk_element(disk: &Disk) -> DiskElement<'_> {
    DiskElement {
        id: &disk.id,
        variant: "",
        name: &disk.name,
        revision: 0,
        file_path: &disk.file_path,
        capacity: disk.capacity,
        capacity_allocation_units: &disk.capacity_allocation_units,
        disk_id: &disk.disk_id,
        file_ref: &disk.file_ref,
        format: &disk.format,
        populated_size: disk.populated_size,
    }
}

fn network_element(network: &Network) -> NetworkElement<'_> {
    NetworkElement {
        id: &network.id,
        variant: "",
        name: &network.name,
        revision: 0,
        description: &network.description,
    }
}

fn network_json(network: &Network, detail: i64, links: &OvaLinks<'_>) -> Result<String, RestError> {
    let resource = Resource {
        id: &network.id,
        name: &network.name,
        self_link: Some(links.link("networks", &network.id)),
        path: &network.id,
    };
    if detail == 0 {
        return json(&resource);
    }
    json(&NetworkResource {
        resource,
        description: &network.description,
    })
}

fn disk_json(disk: &Disk, detail: i64, links: &OvaLinks<'_>) -> Result<String, RestError> {
    let resource = Resource {
        id: &disk.id,
        name: &disk.name,
        self_link: Some(links.link("disks", &disk.id)),
        path: "",
    };
    if detail == 0 {
        return json(&resource);
    }
    json(&DiskResource {
        resource,
        file_path: &disk.file_path,
        capacity: disk.capacity,
        capacity_allocation_units: &disk.capacity_allocation_units,
        disk_id: &disk.disk_id,
        file_ref: &disk.file_ref,
        format: &disk.format,
        populated_size: disk.populated_size,
    })
}

fn storage_json(storage: &Storage, links: &OvaLinks<'_>) -> Result<String, RestError> {
    json(&Resource {
        id: &storage.id,
        name: &storage.name,
        self_link: Some(links.link("storages", &storage.id)),
        path: &storage.id,
    })
}
