//! `NetworkMap` and `StorageMap`: where source networks and storage land (`mapping.go`).

use crate::condition::Conditions;
use crate::plan::ProviderPair;
use crate::reference::{Ref, Refs};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

string_enum! {
    /// Kind of a network destination.
    pub enum DestinationNetworkType {
        /// The pod network (masquerade, or `l2bridge` under a primary UDN).
        Pod = "pod",
        /// A Multus NetworkAttachmentDefinition at `namespace/name`.
        Multus = "multus",
        /// The NIC is left out of the target VM.
        Ignored = "ignored",
    }
}

string_enum! {
    /// Volume mode of a storage destination (`core.PersistentVolumeMode`).
    pub enum VolumeMode {
        /// A filesystem volume.
        Filesystem = "Filesystem",
        /// A raw block volume.
        Block = "Block",
    }
}

string_enum! {
    /// Access mode of a storage destination (the subset upstream allows).
    pub enum AccessMode {
        /// Read-write by one node.
        ReadWriteOnce = "ReadWriteOnce",
        /// Read-write by many nodes.
        ReadWriteMany = "ReadWriteMany",
        /// Read-only by many nodes.
        ReadOnlyMany = "ReadOnlyMany",
    }
}

string_enum! {
    /// Storage array products supported for vSphere XCOPY offload.
    pub enum StorageVendorProduct {
        /// IBM FlashSystem.
        FlashSystem = "flashsystem",
        /// Hitachi Vantara.
        Vantara = "vantara",
        /// NetApp ONTAP.
        Ontap = "ontap",
        /// HPE Primera / 3PAR.
        Primera3Par = "primera3par",
        /// Pure FlashArray.
        PureFlashArray = "pureFlashArray",
        /// Dell PowerFlex.
        PowerFlex = "powerflex",
        /// Dell PowerMax.
        PowerMax = "powermax",
        /// Dell PowerStore.
        PowerStore = "powerstore",
        /// Infinidat InfiniBox.
        Infinibox = "infinibox",
    }
}

/// The source of a network pair: a [`Ref`] plus an optional VLAN.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkSourceRef {
    /// The network ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The network name (`ns/name` for OpenShift Multus sources without a namespace).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The namespace (OpenShift sources).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// A qualifier; `pod` for the OpenShift pod network.
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "type")]
    pub r#type: String,
    /// VLAN ID (1-4094, as a string) to tell networks apart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^([1-9]|[1-9][0-9]{1,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-4])$"))]
    pub vlan: String,
}

impl NetworkSourceRef {
    /// The reference without the VLAN.
    pub fn reference(&self) -> Ref {
        Ref {
            id: self.id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            r#type: self.r#type.clone(),
        }
    }
}

/// Where a source network lands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DestinationNetwork {
    /// `pod`, `multus` or `ignored`.
    #[serde(rename = "type", default)]
    pub r#type: DestinationNetworkType,
    /// The NAD namespace (multus only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The NAD name (multus only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// A source network and its destination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkPair {
    /// Source network.
    #[serde(default)]
    pub source: NetworkSourceRef,
    /// Destination network.
    #[serde(default)]
    pub destination: DestinationNetwork,
}

/// Where source storage lands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationStorage {
    /// A storage class.
    #[serde(default)]
    pub storage_class: String,
    /// Volume mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<VolumeMode>,
    /// Access mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<AccessMode>,
}

/// vSphere XCOPY offload through the storage array.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VSphereXcopyPluginConfig {
    /// Secret with the storage credentials, in the source provider's namespace.
    #[serde(default)]
    pub secret_ref: String,
    /// The storage array product.
    #[serde(default)]
    pub storage_vendor_product: StorageVendorProduct,
    /// ESXi host IDs to use for XCOPY instead of the VM's host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dedicated_migration_hosts: Vec<String>,
}

/// The CSI driver's native import (VVol/RDM disks).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CsiVolumeImport {
    /// Secret with the storage credentials, in the source provider's namespace.
    #[serde(default)]
    pub secret_ref: String,
    /// The storage array product (`primera3par` or `ontap`).
    #[serde(default)]
    #[schemars(schema_with = "csi_vendor_schema")]
    pub storage_vendor_product: StorageVendorProduct,
}

fn csi_vendor_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": ["primera3par", "ontap"] })
}

/// A storage plugin that offloads disk allocation and copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OffloadPlugin {
    /// vSphere XCOPY.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "vsphereXcopyConfig"
    )]
    pub vsphere_xcopy_config: Option<VSphereXcopyPluginConfig>,
    /// CSI volume import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_import: Option<CsiVolumeImport>,
}

impl OffloadPlugin {
    /// Whether either plugin is configured.
    pub fn is_set(&self) -> bool {
        self.vsphere_xcopy_config.is_some() || self.csi_volume_import.is_some()
    }
}

/// A source storage and its destination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoragePair {
    /// Source storage: a datastore (vSphere), storage domain (oVirt), volume type or
    /// `glance` (OpenStack), storage class (OpenShift) or disk (OVA).
    #[serde(default)]
    pub source: Ref,
    /// Destination storage.
    #[serde(default)]
    pub destination: DestinationStorage,
    /// Offload plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload_plugin: Option<OffloadPlugin>,
}

/// The OpenStack storage-map source name for image-backed VMs.
pub const GLANCE_SOURCE: &str = "glance";

/// Desired state of a NetworkMap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkMapSpec {
    /// Providers.
    #[serde(default)]
    pub provider: ProviderPair,
    /// The pairs.
    #[serde(default)]
    pub map: Vec<NetworkPair>,
}

/// Desired state of a StorageMap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StorageMapSpec {
    /// Providers.
    #[serde(default)]
    pub provider: ProviderPair,
    /// The pairs.
    #[serde(default)]
    pub map: Vec<StoragePair>,
}

/// Observed state of a map.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The resolved source references, deduplicated by ID. Plans check VM networks and
    /// disks against these.
    #[serde(flatten)]
    pub references: Refs,
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub observed_generation: i64,
}

forklift_kind! {
    /// Maps source networks to destination networks.
    pub struct NetworkMap {
        kind: "NetworkMap",
        plural: "networkmaps",
        spec: NetworkMapSpec,
        status: MapStatus
    }
}

forklift_kind! {
    /// Maps source storage to destination storage classes.
    pub struct StorageMap {
        kind: "StorageMap",
        plural: "storagemaps",
        spec: StorageMapSpec,
        status: MapStatus
    }
}

fn name_and_namespace_match(source: &NetworkSourceRef, namespace: &str, name: &str) -> bool {
    if source.namespace.is_empty() {
        source.name == format!("{namespace}/{name}")
    } else {
        source.namespace == namespace && source.name == name
    }
}

impl NetworkMap {
    /// Upstream `FindNetwork`: the first pair whose source ID is `id`.
    pub fn find_network(&self, id: &str) -> Option<&NetworkPair> {
        self.spec.map.iter().find(|p| p.source.id == id)
    }

    /// Upstream `FindNetworkByType`: the first pair whose source type is `t`.
    pub fn find_network_by_type(&self, t: &str) -> Option<&NetworkPair> {
        self.spec.map.iter().find(|p| p.source.r#type == t)
    }

    /// Upstream `FindNetworkByNameAndNamespace`: a source with a namespace matches
    /// namespace and name; one without matches when its name is `namespace/name`.
    pub fn find_network_by_name_and_namespace(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<&NetworkPair> {
        self.spec
            .map
            .iter()
            .find(|p| name_and_namespace_match(&p.source, namespace, name))
    }

    /// Upstream `FindAllNetworks`: every pair whose source ID is `id`.
    pub fn find_all_networks(&self, id: &str) -> Vec<&NetworkPair> {
        self.spec.map.iter().filter(|p| p.source.id == id).collect()
    }

    /// Upstream `FindAllNetworksByType`.
    pub fn find_all_networks_by_type(&self, t: &str) -> Vec<&NetworkPair> {
        self.spec
            .map
            .iter()
            .filter(|p| p.source.r#type == t)
            .collect()
    }

    /// Upstream `FindAllNetworksByNameAndNamespace`.
    pub fn find_all_networks_by_name_and_namespace(
        &self,
        namespace: &str,
        name: &str,
    ) -> Vec<&NetworkPair> {
        self.spec
            .map
            .iter()
            .filter(|p| name_and_namespace_match(&p.source, namespace, name))
            .collect()
    }

    /// The pairs for a NIC's network reference, as the plan controller looks them up
    /// (`FindAllMappingsForNICRef`): by ID if set, else by type, else by namespace/name.
    pub fn find_all_for_ref(&self, reference: &Ref) -> Vec<&NetworkPair> {
        if !reference.id.is_empty() {
            self.find_all_networks(&reference.id)
        } else if !reference.r#type.is_empty() {
            self.find_all_networks_by_type(&reference.r#type)
        } else {
            self.find_all_networks_by_name_and_namespace(&reference.namespace, &reference.name)
        }
    }
}

impl StorageMap {
    /// Upstream `FindStorage`: the first pair whose source ID is `id`.
    pub fn find_storage(&self, id: &str) -> Option<&StoragePair> {
        self.spec.map.iter().find(|p| p.source.id == id)
    }

    /// Upstream `FindStorageByName`: the first pair whose source name is `name`.
    pub fn find_storage_by_name(&self, name: &str) -> Option<&StoragePair> {
        self.spec.map.iter().find(|p| p.source.name == name)
    }

    /// Upstream `IsUsingOffloadPlugin`: some pair has an offload plugin configured.
    pub fn uses_offload_plugin(&self) -> bool {
        self.spec
            .map
            .iter()
            .any(|p| p.offload_plugin.as_ref().is_some_and(OffloadPlugin::is_set))
    }
}

/// Annotation on a StorageClass marking a NetApp Shift/Trident class (value `shift`).
pub const ANNOTATION_NETAPP_SHIFT_STORAGE_CLASS_TYPE: &str = "shift.netapp.io/storage-class-type";
/// Value of [`ANNOTATION_NETAPP_SHIFT_STORAGE_CLASS_TYPE`] for a Shift class.
pub const NETAPP_SHIFT_STORAGE_CLASS_TYPE: &str = "shift";

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, namespace: &str, name: &str, t: &str) -> NetworkPair {
        NetworkPair {
            source: NetworkSourceRef {
                id: id.into(),
                namespace: namespace.into(),
                name: name.into(),
                r#type: t.into(),
                vlan: String::new(),
            },
            destination: DestinationNetwork::default(),
        }
    }

    #[test]
    fn network_lookup_by_id_type_and_namespaced_name() {
        let map = NetworkMap::new(
            "ns",
            "m",
            NetworkMapSpec {
                provider: ProviderPair::default(),
                map: vec![
                    source("net-1", "", "", ""),
                    source("", "", "", "pod"),
                    source("", "blue", "nad", ""),
                    source("", "", "red/nad", ""),
                    source("net-1", "", "", ""),
                ],
            },
        );
        assert_eq!(map.find_all_networks("net-1").len(), 2);
        assert!(map.find_network_by_type("pod").is_some());
        assert!(
            map.find_network_by_name_and_namespace("blue", "nad")
                .is_some()
        );
        assert!(
            map.find_network_by_name_and_namespace("red", "nad")
                .is_some()
        );
        assert!(
            map.find_network_by_name_and_namespace("green", "nad")
                .is_none()
        );
        assert_eq!(map.find_all_for_ref(&Ref::id("net-1")).len(), 2);
        let by_type = Ref {
            r#type: "pod".into(),
            ..Ref::default()
        };
        assert_eq!(map.find_all_for_ref(&by_type).len(), 1);
    }

    #[test]
    fn offload_plugin_detection() {
        let mut map = StorageMap::default();
        map.spec.map.push(StoragePair::default());
        assert!(!map.uses_offload_plugin());
        map.spec.map[0].offload_plugin = Some(OffloadPlugin::default());
        assert!(!map.uses_offload_plugin(), "an empty plugin is not offload");
        map.spec.map[0].offload_plugin = Some(OffloadPlugin {
            csi_volume_import: Some(CsiVolumeImport::default()),
            ..OffloadPlugin::default()
        });
        assert!(map.uses_offload_plugin());
    }
}
