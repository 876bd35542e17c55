//! Forklift's inventory filter, exactly as its vSphere collector builds it
//! (`pkg/controller/provider/container/vsphere/collector.go`): one object spec
//! from the root folder with the recursive `traverseFolders` traversal, and a
//! fixed property set per type. The inventory collector uses it for the
//! initial retrieval and for the `WaitForUpdatesEx` filter.

use crate::property::{ObjectSpec, PropertyFilterSpec, PropertySpec, SelectionSpec, TraversalSpec};
use crate::value::MoRef;

/// Forklift's `MaxObjectUpdates` for `WaitForUpdatesEx`.
pub const MAX_OBJECT_UPDATES: u32 = 10_000;

/// The name of the recursive folder traversal.
pub const TRAVERSE_FOLDERS: &str = "traverseFolders";
/// The name of the recursive vApp traversal.
pub const TRAVERSE_VAPPS: &str = "TraverseVApps";

/// Folder properties.
pub const FOLDER_PATHS: &[&str] = &["name", "parent", "childEntity"];
/// Datacenter properties.
pub const DATACENTER_PATHS: &[&str] = &[
    "name",
    "parent",
    "vmFolder",
    "hostFolder",
    "networkFolder",
    "datastoreFolder",
];
/// Standalone ComputeResource properties.
pub const COMPUTE_RESOURCE_PATHS: &[&str] = &["name", "parent", "host"];
/// ClusterComputeResource properties.
pub const CLUSTER_PATHS: &[&str] = &[
    "name",
    "parent",
    "configuration.dasConfig.enabled",
    "configuration.dasVmConfig",
    "configuration.drsConfig.enabled",
    "configuration.drsConfig.defaultVmBehavior",
    "configuration.drsVmConfig",
    "host",
    "network",
    "datastore",
];
/// HostSystem properties.
pub const HOST_PATHS: &[&str] = &[
    "name",
    "parent",
    "overallStatus",
    "config.product.name",
    "config.product.version",
    "summary.config.sslThumbprint",
    "config.dateTimeInfo.timeZone.name",
    "summary.managementServerIp",
    "summary.runtime.inMaintenanceMode",
    "summary.hardware.numCpuPkgs",
    "summary.hardware.numCpuCores",
    "summary.hardware.memorySize",
    "datastore",
    "network",
    "config.network.vswitch",
    "config.network.portgroup",
    "config.network.pnic",
    "config.network.vnic",
    "config.virtualNicManagerInfo.netConfig",
    "config.storageDevice.scsiLun",
    "configManager.advancedOption",
    "config.storageDevice.hostBusAdapter",
    "config.storageDevice.scsiTopology.adapter",
    "hardware.systemInfo.model",
    "hardware.systemInfo.vendor",
    "capability.vmotionSupported",
    "capability.storageVMotionSupported",
];
/// Network properties.
pub const NETWORK_PATHS: &[&str] = &["name", "parent", "tag"];
/// OpaqueNetwork properties.
pub const OPAQUE_NETWORK_PATHS: &[&str] = &["name", "parent", "tag", "summary"];
/// DistributedVirtualPortgroup properties (no `parent`, as upstream).
pub const DV_PORTGROUP_PATHS: &[&str] = &[
    "name",
    "config.distributedVirtualSwitch",
    "config.defaultPortConfig",
    "tag",
    "key",
];
/// VmwareDistributedVirtualSwitch properties.
pub const DV_SWITCH_PATHS: &[&str] = &["name", "parent", "config.host"];
/// Datastore properties.
pub const DATASTORE_PATHS: &[&str] = &[
    "name",
    "parent",
    "summary.type",
    "summary.capacity",
    "summary.freeSpace",
    "summary.maintenanceMode",
    "info",
    "host",
    "capability.storageIORMSupported",
    "iormConfiguration",
];
/// VirtualMachine properties (plus `summary.config.tpmPresent` from API 6.7,
/// see [`vm_paths`]).
pub const VM_PATHS: &[&str] = &[
    "name",
    "parent",
    "config.uuid",
    "config.instanceUuid",
    "config.firmware",
    "config.ftInfo",
    "config.cpuAffinity",
    "config.bootOptions",
    "config.cpuHotAddEnabled",
    "config.cpuHotRemoveEnabled",
    "config.memoryHotAddEnabled",
    "config.hardware.numCPU",
    "config.hardware.numCoresPerSocket",
    "config.hardware.memoryMB",
    "config.hardware.device",
    "guest.net",
    "guest.disk",
    "config.extraConfig",
    "config.nestedHVEnabled",
    "summary.config.guestFullName",
    "guest.guestFullName",
    "summary.guest.guestId",
    "summary.quickStats.balloonedMemory",
    "summary.guest.ipAddress",
    "summary.storage.committed",
    "datastore",
    "network",
    "runtime.host",
    "runtime.powerState",
    "runtime.connectionState",
    "runtime.consolidationNeeded",
    "config.template",
    "snapshot",
    "config.changeTrackingEnabled",
    "guest.ipStack",
    "guest.hostName",
    "guest.toolsStatus",
    "guest.toolsRunningStatus",
    "guest.toolsVersionStatus2",
    "availableField",
    "customValue",
];

/// The VM paths for a server of `api_version` (`summary.config.tpmPresent`
/// from 6.7 on).
pub fn vm_paths(api_version: &str) -> Vec<&'static str> {
    let mut paths = VM_PATHS.to_vec();
    let mut parts = api_version.split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if major > 6 || (major == 6 && minor >= 7) {
        paths.push("summary.config.tpmPresent");
    }
    paths
}

/// Forklift's property specs for a server of `api_version`.
pub fn property_specs(api_version: &str) -> Vec<PropertySpec> {
    vec![
        PropertySpec::new("Folder", FOLDER_PATHS),
        PropertySpec::new("Datacenter", DATACENTER_PATHS),
        PropertySpec::new("ComputeResource", COMPUTE_RESOURCE_PATHS),
        PropertySpec::new("ClusterComputeResource", CLUSTER_PATHS),
        PropertySpec::new("HostSystem", HOST_PATHS),
        PropertySpec::new("Network", NETWORK_PATHS),
        PropertySpec::new("OpaqueNetwork", OPAQUE_NETWORK_PATHS),
        PropertySpec::new("DistributedVirtualPortgroup", DV_PORTGROUP_PATHS),
        PropertySpec::new("VmwareDistributedVirtualSwitch", DV_SWITCH_PATHS),
        PropertySpec::new("Datastore", DATASTORE_PATHS),
        PropertySpec::new("VirtualMachine", &vm_paths(api_version)),
    ]
}

/// Forklift's `TsRootFolder` traversal.
pub fn root_folder_traversal() -> TraversalSpec {
    let to_folders = || vec![SelectionSpec::Named(TRAVERSE_FOLDERS.into())];
    let step = |kind: &str, path: &str| {
        SelectionSpec::Traversal(TraversalSpec::new(kind, path).select(to_folders()))
    };
    let vapp_vms = || step("ResourcePool", "vm");
    let nested_vapps = SelectionSpec::Traversal(
        TraversalSpec::new("ResourcePool", "resourcePool")
            .named(TRAVERSE_VAPPS)
            .select(vec![
                SelectionSpec::Named(TRAVERSE_VAPPS.into()),
                vapp_vms(),
            ]),
    );
    TraversalSpec::new("Folder", "childEntity")
        .named(TRAVERSE_FOLDERS)
        .select(vec![
            SelectionSpec::Named(TRAVERSE_FOLDERS.into()),
            step("ComputeResource", "host"),
            step("Datacenter", "vmFolder"),
            step("Datacenter", "hostFolder"),
            step("Datacenter", "networkFolder"),
            step("Datacenter", "datastoreFolder"),
            vapp_vms(),
            nested_vapps,
        ])
}

/// Forklift's whole inventory filter from `root_folder`.
pub fn inventory_filter(root_folder: &MoRef, api_version: &str) -> PropertyFilterSpec {
    PropertyFilterSpec {
        prop_set: property_specs(api_version),
        object_set: vec![ObjectSpec {
            obj: root_folder.clone(),
            skip: false,
            select_set: vec![SelectionSpec::Traversal(root_folder_traversal())],
        }],
        report_missing_objects: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpm_present_from_api_6_7() {
        assert!(!vm_paths("6.5").contains(&"summary.config.tpmPresent"));
        assert!(vm_paths("6.7").contains(&"summary.config.tpmPresent"));
        assert!(vm_paths("8.0.2.0").contains(&"summary.config.tpmPresent"));
        assert!(!vm_paths("garbage").contains(&"summary.config.tpmPresent"));
    }

    #[test]
    fn the_filter_starts_at_the_root_and_recurses_by_name() {
        let spec = inventory_filter(&MoRef::new("Folder", "group-d1"), "8.0");
        assert_eq!(spec.prop_set.len(), 11);
        let SelectionSpec::Traversal(root) = &spec.object_set[0].select_set[0] else {
            panic!("no traversal");
        };
        assert_eq!(root.name.as_deref(), Some(TRAVERSE_FOLDERS));
        assert_eq!(root.select_set.len(), 8);
    }
}
