//! The OVA adapter: how the plan controller migrates VMs described by OVF appliances
//! (upstream `pkg/controller/plan/adapter/ovfbase`, which `adapter/ova` aliases; API spec
//! §5, plan spec §6.4 and §6.8).
//!
//! An OVA migration is always cold and always goes through virt-v2v: the conversion pod
//! mounts the NFS share holding the appliances at `/ova`, runs `virt-v2v -i ova` on the
//! `.ova` file (or the directory of an `.ovf`) and writes the converted disks straight
//! into blank DataVolumes. The adapter provides:
//!
//! - [`OvaAdapter::facts`]: MACs, the NICs' networks (by ID, where upstream's
//!   `NICNetworkRefs` gives a name that never matches), the inventory concerns (`ova.source.unsupported` becomes
//!   `UnsupportedOVFExportSource`), whether the guest is Windows;
//! - the validator ([`validator`]): cold only, `InvalidDiskSizes`, `NetworksMapped` (every
//!   network of the envelope, not only those the NICs use), `StorageMapped` (every disk);
//! - the builder ([`builder`]): one task per disk, blank DataVolumes annotated with the
//!   disk source `<FilePath>::<Name>`, the conversion environment, the NFS share
//!   ([`storage`]) and the VirtualMachine ([`machine`]);
//! - the source client: [`NoSourceActions`] (no power state, always off).
//!
//! Everything here is pure: it reads the inventory snapshot and the plan view, and never
//! performs I/O.
//!
//! # How the appliances reach the conversion pod
//!
//! The Provider's URL names an NFS export, `server:/path`. For each VM the controller
//! creates a PersistentVolume `nfs: {server, path}` (`ReadOnlyMany`, `1Gi`) and a claim
//! bound to it by name, and the conversion pod mounts the claim as volume `store-pv` at
//! `/ova`. The inventory reports appliance paths under the same `/ova` (its mount path), so
//! `V2V_diskPath` and the disk sources are valid inside the pod, and disk IDs match
//! Forklift's (they hash the path).
//!
//! On a real cluster nothing else is needed: the kubelet mounts the export on the node
//! (the nodes need an NFS client, e.g. `nfs-utils`, and the export must allow the nodes
//! read access). The export's files must be readable by the conversion pod's user
//! (uid 107, group 107 as `fsGroup`; NFS does not apply `fsGroup`, so make the files
//! world-readable or owned by 107). Ferry's controller reads the catalog in process, so the
//! export is also mounted where Ferry runs (under `FERRY_OVA_MOUNT_ROOT`, see the
//! controller's collectors), with `/ova` as the inventory's mount path.
//!
//! In the sandbox there is no NFS server: a local directory stands in for the export, and
//! the Provider URL names that directory as its path (e.g. `localhost:/srv/ferry/ova`).
//! The sandbox mounts an `nfs` PersistentVolume from its `path` when that path lies inside
//! one of its configured share directories, and the controller reads the catalog from the
//! same directory (`FERRY_OVA_SHARES` maps the URL to it). The adapter builds the same
//! objects either way.

pub mod builder;
pub mod machine;
mod size;
pub mod storage;
pub mod validator;

use crate::adapter::{
    Adapter, AdapterError, Adapters, Builder, Concern, NoSourceActions, SourceClient, Validator,
    VmFacts,
};
use ferry_api::Ref;
use ferry_api::k8s_openapi::api::core::v1::Secret;
use ferry_api::provider::{Provider, ProviderType};
use ferry_inventory::SourceVm;
use ferry_inventory::ova::model::{Category, Vm};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use size::binary_si;

/// The OVA adapter (provider type `ova`). Stateless: one instance serves every plan.
#[derive(Clone, Copy, Debug, Default)]
pub struct OvaAdapter;

impl OvaAdapter {
    /// Registers the OVA adapter in `adapters`.
    pub fn register(adapters: &mut Adapters) {
        adapters.insert(Arc::new(Self));
    }
}

/// Template label keys (upstream `TemplateOSLabel`, `TemplateWorkloadLabel`,
/// `TemplateFlavorLabel`).
pub mod template_label {
    /// The OS label for OVF sources: upstream never knows the guest OS, so `unknown`.
    pub const OS_UNKNOWN: &str = "os.template.kubevirt.io/unknown";
    /// The workload label.
    pub const WORKLOAD_SERVER: &str = "workload.template.kubevirt.io/server";
    /// The flavor label.
    pub const FLAVOR_MEDIUM: &str = "flavor.template.kubevirt.io/medium";
}

/// Upstream `TemplateLabels`: the labels an OpenShift Template must carry to be the base
/// of an OVA VM (each `"true"`). The OS is always `unknown`: the OVF `osType` is a VMware
/// guest ID that upstream does not translate for OVF sources. No preference is used
/// (upstream `PreferenceName` refuses), so the engine goes straight to the template.
pub fn template_labels() -> BTreeMap<String, String> {
    [
        template_label::OS_UNKNOWN,
        template_label::WORKLOAD_SERVER,
        template_label::FLAVOR_MEDIUM,
    ]
    .into_iter()
    .map(|key| (key.to_string(), "true".to_string()))
    .collect()
}

/// The OVF model of a source VM, or [`AdapterError::WrongVm`] for another provider's VM.
pub fn ova_vm(vm: &SourceVm) -> Result<&Arc<Vm>, AdapterError> {
    match vm {
        SourceVm::Ova(vm) => Ok(vm),
        #[allow(unreachable_patterns)]
        other => Err(AdapterError::WrongVm(other.id().to_string())),
    }
}

/// Whether an OVF `osType` names a Windows guest: VMware guest IDs (`windows2019srv_64Guest`,
/// `winNetStandardGuest`, `win2000ServGuest`), VirtualBox (`Windows10_64`) and oVirt
/// (`windows_2019x64`) all start with `win`.
pub fn is_windows_os_type(os_type: &str) -> bool {
    os_type
        .get(..3)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("win"))
}

fn concern(concern: &ferry_inventory::ova::model::Concern) -> Concern {
    Concern {
        id: concern.id.clone(),
        category: match concern.category {
            Category::Critical => "Critical",
            Category::Warning => "Warning",
            Category::Information => "Information",
        }
        .to_string(),
        label: concern.label.clone(),
        message: concern.assessment.clone(),
    }
}

impl Adapter for OvaAdapter {
    fn provider_type(&self) -> ProviderType {
        ProviderType::Ova
    }

    /// Upstream's OVA facts: every NIC's MAC (empty ones included; the MAC check skips
    /// them), the concerns, and the NICs' networks.
    ///
    /// Upstream's `NICNetworkRefs` gives `{name: <Connection>}`, which the pod-duplicate
    /// check looks up as a name *without namespace*, matching only map entries named
    /// `/<network>`: for OVA it never finds anything. Ferry gives the network's ID (and
    /// name) from the envelope, which is how map entries name OVA networks, so two NICs
    /// sent to the pod network are caught before the VM is built; a NIC whose network is
    /// not in the envelope keeps upstream's name reference.
    fn facts(&self, vm: &SourceVm) -> Result<VmFacts, AdapterError> {
        let vm = ova_vm(vm)?;
        Ok(VmFacts {
            id: vm.id.clone(),
            name: vm.name.clone(),
            macs: vm.nics.iter().map(|nic| nic.mac.clone()).collect(),
            nic_networks: vm
                .nics
                .iter()
                .map(|nic| {
                    vm.networks
                        .iter()
                        .find(|network| network.name == nic.network)
                        .map_or_else(
                            || Ref::name(nic.network.clone()),
                            |network| {
                                Ref::with_id_and_name(network.id.clone(), network.name.clone())
                            },
                        )
                })
                .collect(),
            concerns: vm.concerns.iter().map(concern).collect(),
            windows: is_windows_os_type(&vm.os_type),
        })
    }

    fn validator(&self) -> &dyn Validator {
        self
    }

    fn builder(&self) -> &dyn Builder {
        self
    }

    /// OVA has no source-side actions (upstream's client methods are no-ops): the power
    /// state is `""` and the VM always counts as off. The provider Secret is not read.
    fn source_client(
        &self,
        _source: &Provider,
        _secret: Option<&Secret>,
    ) -> Result<Arc<dyn SourceClient>, AdapterError> {
        Ok(Arc::new(NoSourceActions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_os_types() {
        for windows in [
            "windows2019srv_64Guest",
            "winNetStandardGuest",
            "win2000ServGuest",
            "Windows10_64",
            "windows_2019x64",
            "WIN",
        ] {
            assert!(is_windows_os_type(windows), "{windows}");
        }
        for other in ["", "wi", "darwin64Guest", "rhel9_64Guest", "RedHat_64", "ö"] {
            assert!(!is_windows_os_type(other), "{other}");
        }
    }

    #[test]
    fn template_labels_are_upstreams() {
        let labels = template_labels();
        assert_eq!(
            labels.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "flavor.template.kubevirt.io/medium",
                "os.template.kubevirt.io/unknown",
                "workload.template.kubevirt.io/server",
            ]
        );
        assert!(labels.values().all(|v| v == "true"));
    }
}
