//! The objects `ferry sandbox` creates, as a user would write them (pure builders):
//! the two Providers (`host`, the cluster itself, and `ova`, over the catalog), the
//! maps, the Plan over the chosen VMs, and its Migrations.
//!
//! Networks: each VM's first NIC goes to the pod network and its other NICs to a
//! Multus network (`demo/sandbox-bridge`): a network that is ever a VM's second NIC is
//! mapped to Multus, every other network to the pod network, so no VM gets two NICs on
//! the pod network (which Forklift refuses). Storage: every disk to the sandbox's
//! StorageClass.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferry_inventory::ova::model::Vm;
use serde_json::{Value, json};

/// The namespace of the Providers, maps and Plan (Forklift's).
pub const NAMESPACE: &str = "konveyor-forklift";
/// Where the migrated VMs go.
pub const TARGET_NAMESPACE: &str = "demo";
/// The destination Provider.
pub const HOST_PROVIDER: &str = "host";
/// The source Provider.
pub const OVA_PROVIDER: &str = "ova";
/// Its Secret.
pub const OVA_SECRET: &str = "ova-provider";
/// The Plan.
pub const PLAN: &str = "demo";
/// The maps.
pub const NETWORK_MAP: &str = "demo-networks";
/// The maps.
pub const STORAGE_MAP: &str = "demo-storage";
/// The Multus network for second NICs.
pub const BRIDGE: &str = "sandbox-bridge";

fn provider_ref(name: &str) -> Value {
    json!({ "name": name, "namespace": NAMESPACE })
}

/// A namespace.
pub fn namespace(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } })
}

/// The destination Provider: the cluster itself (`type: openshift`, empty URL, no
/// secret), as Forklift's operator creates it.
pub fn host_provider() -> Value {
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Provider",
        "metadata": { "name": HOST_PROVIDER, "namespace": NAMESPACE },
        "spec": { "type": "openshift", "url": "", "secret": {} },
    })
}

/// The OVA Provider's Secret (`url`, as Forklift requires for OVA providers).
pub fn ova_secret(url: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": OVA_SECRET,
            "namespace": NAMESPACE,
            "labels": { "createdForProviderType": "ova", "createdForResourceType": "providers" },
        },
        "type": "Opaque",
        "stringData": { "url": url },
    })
}

/// The OVA Provider over the export `url` (`server:/path`).
pub fn ova_provider(url: &str) -> Value {
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Provider",
        "metadata": { "name": OVA_PROVIDER, "namespace": NAMESPACE },
        "spec": {
            "type": "ova",
            "url": url,
            "secret": { "name": OVA_SECRET, "namespace": NAMESPACE },
        },
    })
}

/// The Multus network second NICs attach to.
pub fn bridge() -> Value {
    json!({
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": { "name": BRIDGE, "namespace": TARGET_NAMESPACE },
        "spec": { "config": "{\"cniVersion\":\"0.3.1\",\"name\":\"sandbox-bridge\",\"type\":\"bridge\",\"bridge\":\"br0\",\"ipam\":{}}" },
    })
}

/// Network IDs by destination: `(pod, multus)`.
pub fn split_networks(vms: &[Arc<Vm>]) -> (BTreeSet<String>, BTreeSet<String>) {
    let id_of = |vm: &Vm, name: &str| {
        vm.networks
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.id.clone())
    };
    let mut second: BTreeSet<String> = BTreeSet::new();
    let mut all: BTreeSet<String> = BTreeSet::new();
    for vm in vms {
        for network in &vm.networks {
            all.insert(network.id.clone());
        }
        for nic in vm.nics.iter().skip(1) {
            if let Some(id) = id_of(vm, &nic.network) {
                second.insert(id);
            }
        }
    }
    let pod = all.difference(&second).cloned().collect();
    (pod, second)
}

/// The NetworkMap for `vms`.
pub fn network_map(vms: &[Arc<Vm>]) -> Value {
    let (pod, multus) = split_networks(vms);
    let mut map: Vec<Value> = pod
        .iter()
        .map(|id| json!({ "source": { "id": id }, "destination": { "type": "pod" } }))
        .collect();
    map.extend(multus.iter().map(|id| {
        json!({
            "source": { "id": id },
            "destination": { "type": "multus", "namespace": TARGET_NAMESPACE, "name": BRIDGE },
        })
    }));
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "NetworkMap",
        "metadata": { "name": NETWORK_MAP, "namespace": NAMESPACE },
        "spec": {
            "provider": { "source": provider_ref(OVA_PROVIDER), "destination": provider_ref(HOST_PROVIDER) },
            "map": map,
        },
    })
}

/// The StorageMap for `vms`: every disk to `storage_class`.
pub fn storage_map(vms: &[Arc<Vm>], storage_class: &str) -> Value {
    let ids: BTreeSet<&str> = vms
        .iter()
        .flat_map(|vm| vm.disks.iter().map(|d| d.id.as_str()))
        .collect();
    let map: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "source": { "id": id }, "destination": { "storageClass": storage_class } }))
        .collect();
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "StorageMap",
        "metadata": { "name": STORAGE_MAP, "namespace": NAMESPACE },
        "spec": {
            "provider": { "source": provider_ref(OVA_PROVIDER), "destination": provider_ref(HOST_PROVIDER) },
            "map": map,
        },
    })
}

/// The Plan over `vms` (named by name: OVA IDs of VMware exports are not portable).
pub fn plan(vms: &[Arc<Vm>]) -> Value {
    let vms: Vec<Value> = vms.iter().map(|vm| json!({ "name": vm.name })).collect();
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Plan",
        "metadata": { "name": PLAN, "namespace": NAMESPACE },
        "spec": {
            "description": "Sample appliances migrated by ferry sandbox",
            "provider": { "source": provider_ref(OVA_PROVIDER), "destination": provider_ref(HOST_PROVIDER) },
            "map": {
                "network": { "name": NETWORK_MAP, "namespace": NAMESPACE },
                "storage": { "name": STORAGE_MAP, "namespace": NAMESPACE },
            },
            "targetNamespace": TARGET_NAMESPACE,
            "warm": false,
            "vms": vms,
        },
    })
}

/// The Migration number `n` of the plan.
pub fn migration(n: usize) -> Value {
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Migration",
        "metadata": { "name": format!("{PLAN}-{n}"), "namespace": NAMESPACE },
        "spec": { "plan": { "name": PLAN, "namespace": NAMESPACE } },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_inventory::ova::model::{ExportSource, Network, Nic};

    fn vm(name: &str, nics: &[&str], networks: &[&str]) -> Arc<Vm> {
        Arc::new(Vm {
            id: name.into(),
            name: name.into(),
            ovf_path: String::new(),
            export_source: ExportSource::VMware,
            os_type: String::new(),
            revision: 1,
            uuid: name.into(),
            firmware: String::new(),
            secure_boot: false,
            cpu_hot_add_enabled: false,
            cpu_hot_remove_enabled: false,
            memory_hot_add_enabled: false,
            cpu_count: 1,
            cores_per_socket: 1,
            memory: 1,
            memory_units: String::new(),
            cpu_units: String::new(),
            devices: vec![],
            nics: nics
                .iter()
                .map(|n| Nic {
                    name: "nic".into(),
                    mac: String::new(),
                    network: (*n).into(),
                })
                .collect(),
            disks: vec![],
            networks: networks
                .iter()
                .map(|n| Network {
                    id: format!("id-{n}"),
                    name: (*n).into(),
                    description: String::new(),
                })
                .collect(),
            concerns: vec![],
        })
    }

    #[test]
    fn second_nics_go_to_multus() {
        let vms = vec![
            vm(
                "a",
                &["VM Network", "Network 1"],
                &["VM Network", "Network 1"],
            ),
            vm("b", &["NAT"], &["NAT"]),
        ];
        let (pod, multus) = split_networks(&vms);
        assert_eq!(
            pod,
            BTreeSet::from(["id-NAT".to_owned(), "id-VM Network".to_owned()])
        );
        assert_eq!(multus, BTreeSet::from(["id-Network 1".to_owned()]));
        let map = network_map(&vms);
        assert_eq!(map["spec"]["map"].as_array().unwrap().len(), 3);
        let plan = plan(&vms);
        assert_eq!(plan["spec"]["vms"][1]["name"], "b");
        assert_eq!(plan["spec"]["targetNamespace"], TARGET_NAMESPACE);
        assert_eq!(migration(2)["metadata"]["name"], "demo-2");
    }
}
