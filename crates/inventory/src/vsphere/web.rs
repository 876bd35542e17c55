//! The vSphere collections as upstream's web layer renders them
//! (`pkg/controller/provider/web/vsphere/*.go`), quirks included:
//!
//! - every resource starts with `{id, variant?, parent{kind,id}, path?, revision, name,
//!   selfLink}`; `selfLink`s have no leading slash; `path` is the names from the
//!   datacenter down (`/DC0/vm/DC0_H0_VM0`, system folders included);
//! - lists: `detail=0` (the default) gives that header, any other detail the full
//!   resource; a single `GET …/<id>` is always full; `name` compares the last `/`
//!   segment, and a name with `/` matching several objects is narrowed by path (VMs: by
//!   suffix; hosts, clusters, networks, datastores: by datacenter); `limit`/`offset`
//!   page the matches *before* that narrowing, as upstream's database does;
//! - the `vms` list is always at full detail and leaves out templates and VMs with no
//!   UUID, instance UUID and host (a single `GET` still shows them, and the page may
//!   hold fewer items than `limit`);
//! - a network's `variant` comes after the header fields at full detail; `dvSwitch` is
//!   present for port groups only, `key` for port groups and opaque networks, `host`
//!   (with PascalCase `Host`/`PNIC` elements) for distributed switches;
//! - a cluster's `drsVms` repeats `dasVms` (both `[]`);
//! - a host's `vms` and `advancedOptions` are `null` (Ferry does not answer
//!   `?advancedOption=`, which upstream reads live from the host), its
//!   `networkAdapters` are derived from its vNICs at any detail but 0;
//! - `workloads/<vm>` is the full VM with its own `selfLink` first, no `path`, and at
//!   the end `host`: the full host (no `path`, `networkAdapters: []`) whose `cluster` is
//!   the full cluster with `datacenter: null`; a VM whose host or cluster is not in the
//!   inventory gives a 500, as upstream;
//! - `tree/host` and `tree/vm`: `{kind:"", object:null, children}` with one branch per
//!   datacenter (its host or VM folder relabelled `Datacenter`, with the full datacenter
//!   as `object`), folders, clusters and hosts as headers, VMs at the request's detail
//!   (0 header, 1 summary, ≥ 2 full); leaves have `children: null`.
//!
//! Negative details are shown as upstream's lists do (as "not 0"), but with the object's
//! data (upstream's database returns empty rows for them).

use serde::Serialize;

use super::collector::VsphereInventory;
use super::concerns::RULES_VERSION;
use super::model::{
    Cluster, Concern, CustomFieldDef, CustomFieldValue, Datacenter, Datastore, Device, Disk,
    DvsHost, Folder, GuestDisk, GuestIpStack, GuestNetwork, Host, HostNetwork, HostScsiDisk,
    Network, Nic, ObjRef, Tag, Vm, kind, variant,
};
use super::store::{HasBase, Snapshot};
use super::{named, path_match, path_match_root};
use crate::rest::{Collections, Links, ListQuery, RestError, json, json_array};

/// The vSphere collections: `datacenters`, `clusters`, `hosts`, `folders`, `networks`,
/// `datastores`, `vms`, `workloads` (by VM ID only) and `tree` (`host`, `vm`).
impl Collections for VsphereInventory {
    fn list_json(
        &self,
        collection: &str,
        query: &ListQuery,
        links: &Links<'_>,
    ) -> Result<String, RestError> {
        let snapshot = self.snapshot();
        render_list(&snapshot, collection, query, links.provider_uid)
    }

    fn get_json(&self, collection: &str, id: &str, links: &Links<'_>) -> Result<String, RestError> {
        self.get_json_with(collection, id, &ListQuery::default(), links)
    }

    fn get_json_with(
        &self,
        collection: &str,
        id: &str,
        query: &ListQuery,
        links: &Links<'_>,
    ) -> Result<String, RestError> {
        let snapshot = self.snapshot();
        render_one(&snapshot, collection, id, query, links.provider_uid)
    }

    fn counts(&self) -> Vec<(&'static str, i64)> {
        let snapshot = self.snapshot();
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        vec![
            ("datacenterCount", count(snapshot.datacenters.len())),
            ("clusterCount", count(snapshot.clusters.len())),
            ("hostCount", count(snapshot.hosts.len())),
            ("vmCount", count(snapshot.vms.len())),
            ("networkCount", count(snapshot.networks.len())),
            ("datastoreCount", count(snapshot.datastores.len())),
        ]
    }

    fn about(&self) -> Vec<(&'static str, serde_json::Value)> {
        let about = self.snapshot().about.clone();
        vec![
            ("apiVersion", about.api_version.into()),
            ("product", about.product.into()),
            ("instanceUuid", about.instance_uuid.into()),
        ]
    }
}

/// A collection, as `GET /providers/vsphere/<uid>/<collection>` answers it.
pub fn render_list(
    snapshot: &Snapshot,
    collection: &str,
    query: &ListQuery,
    uid: &str,
) -> Result<String, RestError> {
    let r = Renderer { snapshot, uid };
    let detail = query.detail;
    let items: Vec<String> = match collection {
        "vms" => select(snapshot, snapshot.vms.values(), query, Some(path_match))
            .into_iter()
            .filter(|vm| vm.is_listed())
            .map(|vm| r.vm(vm, VmDetail::Full))
            .collect::<Result<_, _>>()?,
        "hosts" => select(
            snapshot,
            snapshot.hosts.values(),
            query,
            Some(path_match_root),
        )
        .into_iter()
        .map(|h| r.host(h, detail))
        .collect::<Result<_, _>>()?,
        "clusters" => select(
            snapshot,
            snapshot.clusters.values(),
            query,
            Some(path_match_root),
        )
        .into_iter()
        .map(|c| r.cluster(c, detail))
        .collect::<Result<_, _>>()?,
        "networks" => select(
            snapshot,
            snapshot.networks.values(),
            query,
            Some(path_match_root),
        )
        .into_iter()
        .map(|n| r.network(n, detail))
        .collect::<Result<_, _>>()?,
        "datastores" => select(
            snapshot,
            snapshot.datastores.values(),
            query,
            Some(path_match_root),
        )
        .into_iter()
        .map(|d| r.datastore(d, detail))
        .collect::<Result<_, _>>()?,
        "datacenters" => select(snapshot, snapshot.datacenters.values(), query, None)
            .into_iter()
            .map(|d| r.datacenter(d, detail))
            .collect::<Result<_, _>>()?,
        "folders" => select(snapshot, snapshot.folders.values(), query, None)
            .into_iter()
            .map(|f| r.folder(f, detail))
            .collect::<Result<_, _>>()?,
        _ => return Err(RestError::NotFound),
    };
    Ok(json_array(items))
}

/// One resource, as `GET /providers/vsphere/<uid>/<collection>/<id>` answers it.
pub fn render_one(
    snapshot: &Snapshot,
    collection: &str,
    id: &str,
    query: &ListQuery,
    uid: &str,
) -> Result<String, RestError> {
    let r = Renderer { snapshot, uid };
    const FULL: i64 = crate::rest::MAX_DETAIL;
    match collection {
        "vms" => r.vm(snapshot.vm(id).ok_or(RestError::NotFound)?, VmDetail::Full),
        "hosts" => r.host(snapshot.host(id).ok_or(RestError::NotFound)?, FULL),
        "clusters" => r.cluster(snapshot.cluster(id).ok_or(RestError::NotFound)?, FULL),
        "networks" => r.network(snapshot.network(id).ok_or(RestError::NotFound)?, FULL),
        "datastores" => r.datastore(snapshot.datastore(id).ok_or(RestError::NotFound)?, FULL),
        "datacenters" => r.datacenter(snapshot.datacenter(id).ok_or(RestError::NotFound)?, FULL),
        "folders" => r.folder(snapshot.folder(id).ok_or(RestError::NotFound)?, FULL),
        "workloads" => r.workload(snapshot.vm(id).ok_or(RestError::NotFound)?),
        "tree" => match id {
            "host" => r.tree(TreeKind::Host, query.detail),
            "vm" => r.tree(TreeKind::Vm, query.detail),
            _ => Err(RestError::NotFound),
        },
        _ => Err(RestError::NotFound),
    }
}

/// The `name` predicate, then the page, then the path narrowing.
fn select<'a, T: HasBase + 'a>(
    snapshot: &Snapshot,
    all: impl Iterator<Item = &'a std::sync::Arc<T>>,
    query: &ListQuery,
    by_path: Option<fn(&str, &str) -> bool>,
) -> Vec<&'a std::sync::Arc<T>> {
    let Some(name) = query.name.as_deref() else {
        return query.page.apply(all).collect();
    };
    let wanted = crate::query::last_segment(name);
    let page: Vec<&std::sync::Arc<T>> = query
        .page
        .apply(all.filter(|o| o.base().name == wanted))
        .collect();
    match by_path {
        Some(by_path) => named(snapshot, page.into_iter(), name, by_path),
        None => page,
    }
}

/// The resource header (upstream `Resource`).
#[derive(Serialize)]
struct Resource<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    variant: &'a str,
    parent: &'a ObjRef,
    #[serde(skip_serializing_if = "String::is_empty")]
    path: String,
    revision: u64,
    name: &'a str,
    #[serde(rename = "selfLink", skip_serializing_if = "Option::is_none")]
    self_link: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum VmDetail {
    Header,
    Summary,
    Full,
}

impl VmDetail {
    fn of(detail: i64) -> Self {
        match detail {
            ..1 => Self::Header,
            1 => Self::Summary,
            _ => Self::Full,
        }
    }
}

/// `VM1` (and the head of the full VM).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VmSummary<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    revision_validated: u64,
    is_template: bool,
    power_state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    networks: &'a Option<Vec<ObjRef>>,
    disks: &'a Option<Vec<Disk>>,
    concerns: &'a [Concern],
}

/// The full VM, fields in Go's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VmFull<'a> {
    #[serde(flatten)]
    summary: VmSummary<'a>,
    policy_version: i64,
    uuid: &'a str,
    instance_uuid: &'a str,
    firmware: &'a str,
    connection_state: &'a str,
    snapshot: &'a ObjRef,
    change_tracking_enabled: bool,
    consolidation_needed: bool,
    cpu_affinity: &'a Option<Vec<i64>>,
    cpu_hot_add_enabled: bool,
    cpu_hot_remove_enabled: bool,
    memory_hot_add_enabled: bool,
    fault_tolerance_enabled: bool,
    cpu_count: i64,
    cores_per_socket: i64,
    #[serde(rename = "memoryMB")]
    memory_mb: i64,
    guest_name: &'a str,
    guest_name_from_vmware_tools: &'a str,
    host_name: &'a str,
    guest_id: &'a str,
    ballooned_memory: i64,
    ip_address: &'a str,
    storage_used: i64,
    tpm_enabled: bool,
    numa_node_affinity: &'a Option<Vec<String>>,
    devices: &'a Option<Vec<Device>>,
    nics: &'a Option<Vec<Nic>>,
    guest_networks: &'a Option<Vec<GuestNetwork>>,
    guest_disks: &'a Option<Vec<GuestDisk>>,
    guest_ip_stacks: &'a Option<Vec<GuestIpStack>>,
    secure_boot: bool,
    tools_status: &'a str,
    tools_running_status: &'a str,
    tools_version_status2: &'a str,
    disk_enable_uuid: bool,
    #[serde(rename = "nestedHVEnabled")]
    nested_hv_enabled: bool,
    custom_def: &'a Option<Vec<CustomFieldDef>>,
    custom_values: &'a Option<Vec<CustomFieldValue>>,
    tags: &'a Option<Vec<Tag>>,
}

/// The host, fields in Go's order (`cluster` left out inside a workload).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostFull<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'a str>,
    status: &'a str,
    #[serde(rename = "inMaintenance")]
    in_maintenance_mode: bool,
    management_server_ip: &'a str,
    thumbprint: &'a str,
    timezone: &'a str,
    cpu_sockets: i64,
    cpu_cores: i64,
    memory_bytes: i64,
    product_name: &'a str,
    product_version: &'a str,
    networking: &'a HostNetwork,
    networks: &'a Option<Vec<ObjRef>>,
    datastores: &'a Option<Vec<ObjRef>>,
    vms: Option<()>,
    network_adapters: Vec<NetworkAdapter>,
    host_scsi_disks: &'a Option<Vec<HostScsiDisk>>,
    advanced_options: Option<()>,
    vmotion_supported: bool,
    storage_vmotion_supported: bool,
}

/// One of a host's network adapters (derived from its vNICs).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkAdapter {
    name: String,
    ip_address: String,
    subnet_mask: String,
    link_speed: i64,
    mtu: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterFull<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    folder: &'a str,
    networks: &'a Option<Vec<ObjRef>>,
    datastores: &'a Option<Vec<ObjRef>>,
    hosts: &'a Option<Vec<ObjRef>>,
    das_enabled: bool,
    das_vms: &'a Option<Vec<ObjRef>>,
    drs_enabled: bool,
    drs_behavior: &'a str,
    drs_vms: &'a Option<Vec<ObjRef>>,
}

#[derive(Serialize)]
struct DatacenterFull<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    datastores: &'a ObjRef,
    networks: &'a ObjRef,
    clusters: &'a ObjRef,
    vms: &'a ObjRef,
}

#[derive(Serialize)]
struct FolderFull<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    folder: &'a str,
    datacenter: &'a str,
    children: &'a Option<Vec<ObjRef>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DatastoreFull<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    r#type: &'a str,
    capacity: i64,
    free: i64,
    #[serde(rename = "maintenance")]
    maintenance_mode: &'a str,
    backing_devices_names: &'a Option<Vec<String>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    nas_remote_host: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    nas_remote_path: &'a str,
    #[serde(skip_serializing_if = "is_empty_list")]
    nas_remote_host_names: &'a Option<Vec<String>>,
    #[serde(rename = "storageIORMSupported")]
    storage_iorm_supported: bool,
    iorm_enabled: bool,
    iorm_congestion_threshold: i64,
    iorm_congestion_threshold_mode: &'a str,
    iorm_percent_of_peak_throughput: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkFull<'a> {
    #[serde(flatten)]
    resource: Resource<'a>,
    variant: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dv_switch: Option<&'a ObjRef>,
    vlan_id: &'a str,
    host: Option<&'a Vec<DvsHost>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    tag: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    key: &'a str,
}

fn is_empty_list(list: &&Option<Vec<String>>) -> bool {
    list.as_ref().is_none_or(Vec::is_empty)
}

/// Renders resources with paths and links.
struct Renderer<'a> {
    snapshot: &'a Snapshot,
    uid: &'a str,
}

impl<'s> Renderer<'s> {
    fn link(&self, collection: &str, id: &str) -> String {
        format!("providers/vsphere/{}/{collection}/{id}", self.uid)
    }

    fn resource<'a, T: HasBase>(&self, object: &'a T, collection: &str) -> Resource<'a> {
        let base = object.base();
        Resource {
            id: &base.id,
            variant: &base.variant,
            parent: &base.parent,
            path: self.snapshot.path(base),
            revision: base.revision,
            name: &base.name,
            self_link: Some(self.link(collection, &base.id)),
        }
    }

    fn vm_summary<'a>(&self, vm: &'a Vm, resource: Resource<'a>, host: bool) -> VmSummary<'a> {
        VmSummary {
            resource,
            revision_validated: vm.base.revision,
            is_template: vm.is_template,
            power_state: &vm.power_state,
            host: host.then_some(vm.host.as_str()),
            networks: &vm.networks,
            disks: &vm.disks,
            concerns: &vm.concerns,
        }
    }

    fn vm_full<'a>(&self, vm: &'a Vm, summary: VmSummary<'a>) -> VmFull<'a> {
        VmFull {
            summary,
            policy_version: RULES_VERSION,
            uuid: &vm.uuid,
            instance_uuid: &vm.instance_uuid,
            firmware: &vm.firmware,
            connection_state: &vm.connection_state,
            snapshot: &vm.snapshot,
            change_tracking_enabled: vm.change_tracking_enabled,
            consolidation_needed: vm.consolidation_needed,
            cpu_affinity: &vm.cpu_affinity,
            cpu_hot_add_enabled: vm.cpu_hot_add_enabled,
            cpu_hot_remove_enabled: vm.cpu_hot_remove_enabled,
            memory_hot_add_enabled: vm.memory_hot_add_enabled,
            fault_tolerance_enabled: vm.fault_tolerance_enabled,
            cpu_count: vm.cpu_count,
            cores_per_socket: vm.cores_per_socket,
            memory_mb: vm.memory_mb,
            guest_name: &vm.guest_name,
            guest_name_from_vmware_tools: &vm.guest_name_from_vmware_tools,
            host_name: &vm.host_name,
            guest_id: &vm.guest_id,
            ballooned_memory: vm.ballooned_memory,
            ip_address: &vm.ip_address,
            storage_used: vm.storage_used,
            tpm_enabled: vm.tpm_enabled,
            numa_node_affinity: &vm.numa_node_affinity,
            devices: &vm.devices,
            nics: &vm.nics,
            guest_networks: &vm.guest_networks,
            guest_disks: &vm.guest_disks,
            guest_ip_stacks: &vm.guest_ip_stacks,
            secure_boot: vm.secure_boot,
            tools_status: &vm.tools_status,
            tools_running_status: &vm.tools_running_status,
            tools_version_status2: &vm.tools_version_status,
            disk_enable_uuid: vm.disk_enable_uuid,
            nested_hv_enabled: vm.nested_hv_enabled,
            custom_def: &vm.custom_def,
            custom_values: &vm.custom_values,
            tags: &vm.tags,
        }
    }

    fn vm(&self, vm: &Vm, detail: VmDetail) -> Result<String, RestError> {
        let resource = self.resource(vm, "vms");
        match detail {
            VmDetail::Header => json(&resource),
            VmDetail::Summary => json(&self.vm_summary(vm, resource, true)),
            VmDetail::Full => json(&self.vm_full(vm, self.vm_summary(vm, resource, true))),
        }
    }

    fn host_full<'a>(&self, host: &'a Host, resource: Resource<'a>, cluster: bool) -> HostFull<'a> {
        HostFull {
            resource,
            cluster: cluster.then_some(host.cluster.as_str()),
            status: &host.status,
            in_maintenance_mode: host.in_maintenance_mode,
            management_server_ip: &host.management_server_ip,
            thumbprint: &host.thumbprint,
            timezone: &host.timezone,
            cpu_sockets: host.cpu_sockets,
            cpu_cores: host.cpu_cores,
            memory_bytes: host.memory_bytes,
            product_name: &host.product_name,
            product_version: &host.product_version,
            networking: &host.network,
            networks: &host.networks,
            datastores: &host.datastores,
            vms: None,
            network_adapters: Vec::new(),
            host_scsi_disks: &host.host_scsi_disks,
            advanced_options: None,
            vmotion_supported: host.vmotion_supported,
            storage_vmotion_supported: host.storage_vmotion_supported,
        }
    }

    fn host(&self, host: &Host, detail: i64) -> Result<String, RestError> {
        let resource = self.resource(host, "hosts");
        if detail == 0 {
            return json(&resource);
        }
        let mut full = self.host_full(host, resource, true);
        full.network_adapters = self.network_adapters(host);
        json(&full)
    }

    /// Upstream's `AdapterBuilder`: one adapter per vNIC, named after its port group (or
    /// its distributed switch), with the link speed of the switch's first physical NIC.
    fn network_adapters(&self, host: &Host) -> Vec<NetworkAdapter> {
        let network = &host.network;
        let port_groups = network.port_groups.as_deref().unwrap_or_default();
        let switches = network.switches.as_deref().unwrap_or_default();
        let pnics = network.pnics.as_deref().unwrap_or_default();
        let mut adapters: Vec<NetworkAdapter> = network
            .vnics
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|vnic| {
                let mut adapter = NetworkAdapter {
                    name: String::new(),
                    ip_address: vnic.ip_address.clone(),
                    subnet_mask: vnic.subnet_mask.clone(),
                    link_speed: 0,
                    mtu: vnic.mtu,
                };
                if !vnic.port_group.is_empty() {
                    if let Some(group) = port_groups.iter().find(|g| g.name == vnic.port_group) {
                        adapter.name = group.name.clone();
                        if let Some(switch) = switches.iter().find(|s| s.key == group.switch) {
                            adapter.link_speed = switch
                                .pnics
                                .as_deref()
                                .unwrap_or_default()
                                .iter()
                                .find_map(|key| pnics.iter().find(|p| p.key == *key))
                                .map_or(0, |p| p.link_speed);
                        }
                    }
                } else if !vnic.d_port_group.is_empty() {
                    let switch = self
                        .snapshot
                        .network(&vnic.d_port_group)
                        .and_then(|group| self.snapshot.network(&group.dv_switch.id));
                    if let Some(switch) = switch {
                        adapter.name = switch.base.name.clone();
                        let member = switch
                            .host
                            .as_deref()
                            .unwrap_or_default()
                            .iter()
                            .any(|m| m.host.id == host.base.id);
                        if let Some(first) = pnics.first().filter(|_| member) {
                            adapter.link_speed = first.link_speed;
                        }
                    }
                }
                adapter
            })
            .collect();
        adapters.sort_by(|a, b| b.link_speed.cmp(&a.link_speed).then(b.mtu.cmp(&a.mtu)));
        adapters
    }

    fn cluster_full<'a>(&self, cluster: &'a Cluster, resource: Resource<'a>) -> ClusterFull<'a> {
        ClusterFull {
            resource,
            folder: &cluster.folder,
            networks: &cluster.networks,
            datastores: &cluster.datastores,
            hosts: &cluster.hosts,
            das_enabled: cluster.das_enabled,
            das_vms: &cluster.das_vms,
            drs_enabled: cluster.drs_enabled,
            drs_behavior: &cluster.drs_behavior,
            drs_vms: &cluster.das_vms,
        }
    }

    fn cluster(&self, cluster: &Cluster, detail: i64) -> Result<String, RestError> {
        let resource = self.resource(cluster, "clusters");
        if detail == 0 {
            return json(&resource);
        }
        json(&self.cluster_full(cluster, resource))
    }

    fn datacenter_full<'a>(
        &self,
        datacenter: &'a Datacenter,
        resource: Resource<'a>,
    ) -> DatacenterFull<'a> {
        DatacenterFull {
            resource,
            datastores: &datacenter.datastores,
            networks: &datacenter.networks,
            clusters: &datacenter.clusters,
            vms: &datacenter.vms,
        }
    }

    fn datacenter(&self, datacenter: &Datacenter, detail: i64) -> Result<String, RestError> {
        let resource = self.resource(datacenter, "datacenters");
        if detail == 0 {
            return json(&resource);
        }
        json(&self.datacenter_full(datacenter, resource))
    }

    fn folder(&self, folder: &Folder, detail: i64) -> Result<String, RestError> {
        let resource = self.resource(folder, "folders");
        if detail == 0 {
            return json(&resource);
        }
        json(&FolderFull {
            resource,
            folder: &folder.folder,
            datacenter: &folder.datacenter,
            children: &folder.children,
        })
    }

    fn datastore(&self, datastore: &Datastore, detail: i64) -> Result<String, RestError> {
        let resource = self.resource(datastore, "datastores");
        if detail == 0 {
            return json(&resource);
        }
        json(&DatastoreFull {
            resource,
            r#type: &datastore.r#type,
            capacity: datastore.capacity,
            free: datastore.free,
            maintenance_mode: &datastore.maintenance_mode,
            backing_devices_names: &datastore.backing_devices_names,
            nas_remote_host: &datastore.nas_remote_host,
            nas_remote_path: &datastore.nas_remote_path,
            nas_remote_host_names: &datastore.nas_remote_host_names,
            storage_iorm_supported: datastore.storage_iorm_supported,
            iorm_enabled: datastore.iorm_enabled,
            iorm_congestion_threshold: datastore.iorm_congestion_threshold,
            iorm_congestion_threshold_mode: &datastore.iorm_congestion_threshold_mode,
            iorm_percent_of_peak_throughput: datastore.iorm_percent_of_peak_throughput,
        })
    }

    fn network(&self, network: &Network, detail: i64) -> Result<String, RestError> {
        let mut resource = self.resource(network, "networks");
        if detail == 0 {
            return json(&resource);
        }
        // The network's own `variant` shadows the header's.
        resource.variant = "";
        let variant = network.base.variant.as_str();
        json(&NetworkFull {
            resource,
            variant,
            dv_switch: (variant == variant::DV_PORT_GROUP).then_some(&network.dv_switch),
            vlan_id: if variant == variant::DV_PORT_GROUP {
                &network.vlan_id
            } else {
                ""
            },
            host: if variant == variant::DV_SWITCH {
                network.host.as_ref()
            } else {
                None
            },
            tag: if variant == variant::STANDARD {
                &network.tag
            } else {
                ""
            },
            key: if variant == variant::DV_PORT_GROUP || variant == variant::OPAQUE_NETWORK {
                &network.key
            } else {
                ""
            },
        })
    }

    /// Upstream's `Workload`: the VM, its host and the host's cluster.
    fn workload(&self, vm: &Vm) -> Result<String, RestError> {
        #[derive(Serialize)]
        struct WorkloadCluster<'a> {
            #[serde(flatten)]
            cluster: ClusterFull<'a>,
            datacenter: Option<()>,
        }
        #[derive(Serialize)]
        struct WorkloadHost<'a> {
            #[serde(flatten)]
            host: HostFull<'a>,
            cluster: WorkloadCluster<'a>,
        }
        #[derive(Serialize)]
        struct Workload<'a> {
            #[serde(rename = "selfLink")]
            self_link: String,
            #[serde(flatten)]
            vm: VmFull<'a>,
            host: WorkloadHost<'a>,
        }
        let host = self.snapshot.host(&vm.host).ok_or_else(|| {
            RestError::Internal(format!(
                "For VM '{}', host id '{}' not found - probably due to permissions issue",
                vm.base.id, vm.host
            ))
        })?;
        let cluster = self.snapshot.cluster(&host.cluster).ok_or_else(|| {
            RestError::Internal(format!(
                "For VM '{}' cluster id '{}' not found - probably due to permissions issue",
                vm.base.id, host.cluster
            ))
        })?;
        let unlinked = |mut resource: Resource<'s>| {
            resource.path = String::new();
            resource
        };
        let mut vm_resource = self.resource(vm, "vms");
        vm_resource.path = String::new();
        vm_resource.self_link = None;
        let mut host_resource = unlinked(self.resource(host.as_ref(), "hosts"));
        host_resource.self_link = Some(self.link("hosts", &host.base.id));
        let mut cluster_resource = unlinked(self.resource(cluster.as_ref(), "clusters"));
        cluster_resource.self_link = Some(self.link("clusters", &cluster.base.id));
        json(&Workload {
            self_link: self.link("workloads", &vm.base.id),
            vm: self.vm_full(vm, self.vm_summary(vm, vm_resource, false)),
            host: WorkloadHost {
                host: self.host_full(host, host_resource, false),
                cluster: WorkloadCluster {
                    cluster: self.cluster_full(cluster, cluster_resource),
                    datacenter: None,
                },
            },
        })
    }
}

/// Which tree.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TreeKind {
    /// `tree/host`: folders, clusters, hosts, VMs.
    Host,
    /// `tree/vm`: folders and VMs.
    Vm,
}

/// The deepest tree rendered (a folder cycle in hostile data stops there).
const MAX_TREE_DEPTH: usize = 64;

impl Renderer<'_> {
    fn tree(&self, which: TreeKind, detail: i64) -> Result<String, RestError> {
        let mut branches = Vec::new();
        for datacenter in self.snapshot.datacenters.values() {
            let root_ref = match which {
                TreeKind::Host => &datacenter.clusters,
                TreeKind::Vm => &datacenter.vms,
            };
            let folder = self.snapshot.folder(&root_ref.id).ok_or_else(|| {
                RestError::Internal(format!(
                    "the datacenter '{}' has no folder '{}'",
                    datacenter.base.id, root_ref.id
                ))
            })?;
            let children = self.folder_children(folder, which, detail, 0)?;
            let object = json(&self.datacenter_full(
                datacenter,
                self.resource(datacenter.as_ref(), "datacenters"),
            ))?;
            branches.push(node(kind::DATACENTER, &object, children));
        }
        Ok(node("", "null", branches))
    }

    fn folder_children(
        &self,
        folder: &Folder,
        which: TreeKind,
        detail: i64,
        depth: usize,
    ) -> Result<Vec<String>, RestError> {
        if depth >= MAX_TREE_DEPTH {
            return Ok(Vec::new());
        }
        let id = folder.base.id.as_str();
        let mut children = Vec::new();
        for child in self.snapshot.folders.values().filter(|f| f.folder == id) {
            let grandchildren = self.folder_children(child, which, detail, depth + 1)?;
            children.push(node(kind::FOLDER, &self.folder(child, 0)?, grandchildren));
        }
        match which {
            TreeKind::Host => {
                for cluster in self.snapshot.clusters.values().filter(|c| c.folder == id) {
                    let mut hosts = Vec::new();
                    for host in self
                        .snapshot
                        .hosts
                        .values()
                        .filter(|h| h.cluster == cluster.base.id)
                    {
                        let vms = self
                            .snapshot
                            .vms
                            .values()
                            .filter(|vm| vm.host == host.base.id)
                            .map(|vm| {
                                Ok(node(
                                    kind::VM,
                                    &self.vm(vm, VmDetail::of(detail))?,
                                    Vec::new(),
                                ))
                            })
                            .collect::<Result<Vec<_>, RestError>>()?;
                        hosts.push(node(kind::HOST, &self.host(host, 0)?, vms));
                    }
                    children.push(node(kind::CLUSTER, &self.cluster(cluster, 0)?, hosts));
                }
            }
            TreeKind::Vm => {
                for vm in self.snapshot.vms.values().filter(|vm| vm.folder == id) {
                    children.push(node(
                        kind::VM,
                        &self.vm(vm, VmDetail::of(detail))?,
                        Vec::new(),
                    ));
                }
            }
        }
        Ok(children)
    }
}

/// A tree node: `{"kind","object","children"}` (`children: null` for a leaf).
fn node(kind: &str, object: &str, children: Vec<String>) -> String {
    let kind = serde_json::to_string(kind).unwrap_or_else(|_| "\"\"".into());
    let children = if children.is_empty() {
        "null".to_owned()
    } else {
        json_array(children)
    };
    format!("{{\"kind\":{kind},\"object\":{object},\"children\":{children}}}")
}
