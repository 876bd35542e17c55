//! The vSphere adapter: how the plan controller migrates VMs from a vCenter or an ESXi
//! host (upstream `pkg/controller/plan/adapter/vsphere`; vSphere spec §3–§5, plan spec
//! §2.3, §2.7, §5, §6.3, §6.4, §6.7).
//!
//! The adapter reads the vSphere inventory ([`ferry_inventory::vsphere::Workload`]: the VM
//! with the snapshot it was read from, so its host, cluster, networks and datastores are
//! read consistently) and provides:
//!
//! - [`VsphereAdapter::facts`]: MACs, one network reference per NIC (by ID, as upstream's
//!   `NICNetworkRefs`), the inventory concerns (Critical ones block the plan as
//!   `VMCriticalConcerns`), whether the guest is Windows;
//! - the validator ([`validator`]): the migration-type matrix, networks and datastores in
//!   the maps, maintenance mode, static IPs, guest tools, disk sizes, RDM and independent
//!   disks, shared disks, and the warm checks (CBT, snapshots, consolidation);
//! - the builder ([`builder`]): one task per disk, the DataVolumes (blank for the
//!   virt-v2v transfer, `vddk` for CDI), the credentials, the conversion pod's
//!   environment ([`libvirt`] for `V2V_libvirtURL`, [`static_ips`] for `V2V_staticIPs`),
//!   and the VirtualMachine ([`machine`]);
//! - the source client ([`client`]): power state and power off/on through the vSphere API;
//! - the scheduler's cost per ESXi host ([`schedule`]);
//! - the VDDK image validation (plan spec §2.7) as pure decisions ([`vddk`]).
//!
//! Everything but the source client is pure.
//!
//! # What the plan view does not carry (yet)
//!
//! Upstream reads a few things from the cluster while building: Ready `Host` CRs (ESXi
//! hosts used for the transfer), the destination CDI's version (whether DataVolumes may
//! name the VM by its instance UUID), and the shareable PVCs of the target namespace
//! (shared disks that are not migrated). The [`PlanView`](crate::adapter::PlanView) has
//! none of them, so this adapter always goes through the vCenter (or the ESXi endpoint
//! the Provider names), uses the BIOS UUID (upstream's answer whenever the CDI version
//! cannot be read), and attaches shared disks only when they are migrated with the VM.

pub mod builder;
pub mod client;
pub mod libvirt;
pub mod machine;
pub mod paths;
pub mod schedule;
pub mod static_ips;
pub mod validator;
pub mod vddk;

use crate::adapter::{
    Adapter, AdapterError, Adapters, Builder, Concern, PlanView, Schedule, SourceClient, Validator,
    VmFacts,
};
use ferry_api::Ref;
use ferry_api::k8s_openapi::api::core::v1::Secret;
use ferry_api::plan::VmStatus;
use ferry_api::provider::{Provider, ProviderType};
use ferry_inventory::SourceVm;
use ferry_inventory::vsphere::Workload;
use ferry_inventory::vsphere::model::{Category, Vm};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The vSphere adapter (provider type `vsphere`). One instance serves every plan; it
/// keeps the vSphere sessions of the source clients so that a reconcile does not log in
/// again ([`client::Sessions`]).
#[derive(Clone, Debug, Default)]
pub struct VsphereAdapter {
    sessions: client::Sessions,
    credentials: Arc<Mutex<BTreeMap<String, Credentials>>>,
}

/// What the conversion environment needs from a provider's Secret: the user name (the
/// libvirt URL names it) and whether TLS is verified. Never the password.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The Secret's `user`.
    pub user: String,
    /// The Secret's `insecureSkipVerify`.
    pub insecure: bool,
}

impl Credentials {
    /// From a provider Secret.
    pub fn of(secret: Option<&Secret>) -> Self {
        Self {
            user: builder::secret_value(secret, ferry_api::provider::secret::USER)
                .unwrap_or_default(),
            insecure: builder::insecure(secret),
        }
    }
}

impl VsphereAdapter {
    /// A fresh adapter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers the provider Secret's [`Credentials`] (by provider UID, else
    /// namespace/name).
    fn remember(&self, provider: &Provider, secret: Option<&Secret>) {
        let mut credentials = self
            .credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        credentials.insert(provider_key(provider), Credentials::of(secret));
    }

    /// The provider's remembered [`Credentials`].
    fn credentials(&self, provider: &Provider) -> Option<Credentials> {
        self.credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&provider_key(provider))
            .cloned()
    }

    /// Registers a vSphere adapter in `adapters`.
    pub fn register(adapters: &mut Adapters) {
        adapters.insert(Arc::new(Self::new()));
    }
}

/// A provider's key in the adapter's caches: its UID, else `namespace/name`.
fn provider_key(provider: &Provider) -> String {
    match provider.metadata.uid.as_deref() {
        Some(uid) if !uid.is_empty() => uid.to_string(),
        _ => format!("{}/{}", provider.namespace(), provider.name()),
    }
}

/// The workload of a source VM, or [`AdapterError::WrongVm`] for another provider's VM.
pub fn workload(vm: &SourceVm) -> Result<&Workload, AdapterError> {
    match vm {
        SourceVm::Vsphere(workload) => Ok(workload),
        other => Err(AdapterError::WrongVm(other.id().to_string())),
    }
}

/// The plan's entry for a VM: by ID, else (for entries without one) by name (upstream
/// `getPlanVM`).
pub fn plan_vm<'a>(view: &'a PlanView<'_>, vm: &Vm) -> Option<&'a ferry_api::plan::Vm> {
    let vms = &view.plan.spec.vms;
    vms.iter()
        .find(|planned| !planned.id.is_empty() && planned.id == vm.base.id)
        .or_else(|| {
            vms.iter().find(|planned| {
                planned.id.is_empty() && !planned.name.is_empty() && planned.name == vm.base.name
            })
        })
}

/// The VM's status in the plan: by ID, else (for statuses without one) by name (upstream
/// `getPlanVMStatus`).
pub fn plan_vm_status<'a>(view: &'a PlanView<'_>, vm: &Vm) -> Option<&'a VmStatus> {
    let statuses = &view.plan.status.migration.vms;
    statuses
        .iter()
        .find(|s| !s.vm.id.is_empty() && s.vm.id == vm.base.id)
        .or_else(|| {
            statuses
                .iter()
                .find(|s| s.vm.id.is_empty() && !s.vm.name.is_empty() && s.vm.name == vm.base.name)
        })
}

/// Upstream `shouldMigrateSharedDisks`: the VM's setting, else the plan's.
pub fn migrate_shared_disks(view: &PlanView<'_>, vm: &Vm) -> bool {
    plan_vm(view, vm)
        .and_then(|planned| planned.migrate_shared_disks)
        .unwrap_or_else(|| view.plan.spec.migrate_shared_disks())
}

/// Upstream `useCompatibilityModeBus`: `skipGuestConversion` with `useCompatibilityMode`.
pub fn compatibility_mode(view: &PlanView<'_>) -> bool {
    view.plan.spec.skip_guest_conversion && view.plan.spec.use_compatibility_mode()
}

/// Upstream `isWindows` of the builder: `win` in the guest ID or the guest name (case
/// sensitive, unlike the inventory's check).
pub fn is_windows(vm: &Vm) -> bool {
    vm.guest_id.contains("win") || vm.guest_name.contains("win")
}

/// Upstream `IsLegacyWindows`: a guest without native SHA-2 support (XP, 2003, Vista,
/// 2008, 7), by guest ID or name, case-insensitively.
pub fn is_legacy_windows(vm: &Vm) -> bool {
    const LEGACY: [&str; 14] = [
        "windows xp",
        "winXPProGuest",
        "server 2003",
        "winNetEnterpriseGuest",
        "winNetStandardGuest",
        "winNetEnterprise64Guest",
        "vista",
        "windowsVistaGuest",
        "server 2008",
        "longhornGuest",
        "windows 7",
        "windows7Guest",
        "server 2008 r2",
        "windows7Server64Guest",
    ];
    let id = vm.guest_id.to_lowercase();
    let name = vm.guest_name.to_lowercase();
    // Upstream lowercases the VM's values but not the list: mixed-case entries such as
    // `winXPProGuest` never match (kept: the lowercase entries cover those guests).
    LEGACY
        .iter()
        .any(|entry| id.contains(entry) || name.contains(entry))
}

/// Template label keys (upstream `TemplateOSLabel`, `TemplateWorkloadLabel`,
/// `TemplateFlavorLabel`).
pub mod template_label {
    /// The OS label prefix.
    pub const OS_PREFIX: &str = "os.template.kubevirt.io/";
    /// The workload label.
    pub const WORKLOAD_SERVER: &str = "workload.template.kubevirt.io/server";
    /// The flavor label.
    pub const FLAVOR_MEDIUM: &str = "flavor.template.kubevirt.io/medium";
}

/// Upstream `osMap`: VMware guest IDs to libosinfo IDs, for template labels.
pub fn os_info(guest_id: &str) -> Option<&'static str> {
    Some(match guest_id {
        "centos64Guest" => "centos5.11",
        "centos6_64Guest" | "centos6Guest" => "centos6.10",
        "centos7_64Guest" | "centos7Guest" => "centos7.0",
        "centos8_64Guest" | "centos8Guest" => "centos8",
        "debian4_64Guest" | "debian4Guest" => "debian4",
        "debian5_64Guest" | "debian5Guest" => "debian5",
        "debian6_64Guest" | "debian6Guest" => "debian6",
        "debian7_64Guest" | "debian7Guest" => "debian7",
        "debian8_64Guest" | "debian8Guest" => "debian8",
        "debian9_64Guest" | "debian9Guest" => "debian9",
        "debian10_64Guest" | "debian10Guest" => "debian10",
        "fedora64Guest" | "fedoraGuest" => "fedora31",
        "genericLinuxGuest" => "linux",
        "rhel6_64Guest" | "rhel6Guest" => "rhel6.10",
        "rhel7_64Guest" | "rhel7Guest" => "rhel7.7",
        "rhel8_64Guest" => "rhel8.1",
        "rhel9_64Guest" => "rhel9.4",
        "ubuntu64Guest" | "ubuntuGuest" => "ubuntu18.04",
        "win2000AdvServGuest" | "win2000ProGuest" | "win2000ServGuest" => "win2k",
        "windows7Guest" | "windows7_64Guest" => "win7",
        "windows7Server64Guest" => "win2k8r2",
        "windows8_64Guest" | "windows8Guest" => "win8",
        "windows8Server64Guest" => "win2k12r2",
        "windows9_64Guest" | "windows9Guest" => "win10",
        "windows9Server64Guest" | "windows2019srv_64Guest" | "windows2019srvNext_64Guest" => {
            "win2k19"
        }
        "windows2022srvNext_64Guest" => "win2k22",
        _ => return None,
    })
}

/// Upstream `TemplateLabels`: the labels an OpenShift Template must carry to be the base
/// of the VM, from the `operatingSystem` the inspection found (a VMware guest ID).
///
/// Upstream's quirks are kept: an OS that is not in [`os_info`] gives the label
/// `os.template.kubevirt.io/` (empty name), and an empty OS gives `unknown` (the Linux
/// and Windows defaults of its `else if` branches can never be reached).
pub fn template_labels(operating_system: &str) -> BTreeMap<String, String> {
    let os = if operating_system.is_empty() {
        "unknown"
    } else {
        os_info(operating_system).unwrap_or_default()
    };
    [
        format!("{}{os}", template_label::OS_PREFIX),
        template_label::WORKLOAD_SERVER.to_string(),
        template_label::FLAVOR_MEDIUM.to_string(),
    ]
    .into_iter()
    .map(|key| (key, "true".to_string()))
    .collect()
}

/// Upstream `PreferenceName`: the preference the OS map (ConfigMap `forklift-vsphere-osmap`
/// data) names for the inspected `operatingSystem`; `None` when it names none.
pub fn preference_name(
    os_map: &BTreeMap<String, String>,
    operating_system: &str,
) -> Option<String> {
    os_map.get(operating_system).cloned()
}

/// Upstream `GetOperationSystemFromConfig` (`inspectionparser.go`): the VMware guest ID
/// for the libosinfo ID virt-v2v's inspection reports (`rhel9.4` → `rhel9_64Guest`),
/// trying the ID without its minor version too; unknown Linux guests are
/// `genericLinuxGuest`, anything else `otherGuest64`.
pub fn guest_id_from_osinfo(osinfo: &str, os_name: &str) -> &'static str {
    let lookup = |id: &str| -> Option<&'static str> {
        Some(match id {
            "rocky" => "rockylinux_64Guest",
            "opensuse" => "opensuse64Guest",
            "ubuntu" => "ubuntu64Guest",
            "fedora" => "fedora64Guest",
            "centos6" => "centos6_64Guest",
            "centos7" => "centos7_64Guest",
            "centos8" => "centos8_64Guest",
            "centos9" => "centos9_64Guest",
            "rhel7" => "rhel7_64Guest",
            "rhel8" => "rhel8_64Guest",
            "rhel9" => "rhel9_64Guest",
            "rhel10" => "rhel10_64Guest",
            "sles10" => "sles10_64Guest",
            "sles11" => "sles11_64Guest",
            "sles12" => "sles12_64Guest",
            "sles15" => "sles15_64Guest",
            "sles16" => "sles16_64Guest",
            "debian4" => "debian4_64Guest",
            "debian5" => "debian5_64Guest",
            "debian6" => "debian6_64Guest",
            "debian7" => "debian7_64Guest",
            "debian8" => "debian8_64Guest",
            "debian9" => "debian9_64Guest",
            "debian10" => "debian10_64Guest",
            "debian11" => "debian11_64Guest",
            "debian12" => "debian12_64Guest",
            "debian13" => "debian13_64Guest",
            "win7" => "windows7_64Guest",
            "win8" => "windows8_64Guest",
            "win10" => "windows9_64Guest",
            "win11" => "windows11_64Guest",
            "win12" => "windows12_64Guest",
            "win2k8r2" => "windows7Server64Guest",
            "win2k12" | "win2k12r2" => "windows8Server64Guest",
            "win2k16" => "windows9Server64Guest",
            "win2k19" => "windows2019srv_64Guest",
            "win2k22" => "windows2019srvNext_64Guest",
            "win2k25" => "windows2022srvNext_64Guest",
            _ => return None,
        })
    };
    let major = osinfo.split('.').next().unwrap_or_default();
    lookup(osinfo)
        .or_else(|| lookup(major))
        .unwrap_or(if os_name == "linux" {
            "genericLinuxGuest"
        } else {
            "otherGuest64"
        })
}

fn concern(concern: &ferry_inventory::vsphere::model::Concern) -> Concern {
    Concern {
        id: concern.id.to_string(),
        category: match concern.category {
            Category::Critical => "Critical",
            Category::Warning => "Warning",
            Category::Information => "Information",
        }
        .to_string(),
        label: concern.label.to_string(),
        message: concern.assessment.to_string(),
    }
}

impl Adapter for VsphereAdapter {
    fn provider_type(&self) -> ProviderType {
        ProviderType::VSphere
    }

    /// Every NIC's MAC, one `{id: <network>}` per NIC (upstream `NICNetworkRefs`), the
    /// inventory concerns, and whether the guest is Windows.
    fn facts(&self, vm: &SourceVm) -> Result<VmFacts, AdapterError> {
        let workload = workload(vm)?;
        let vm = &workload.vm;
        Ok(VmFacts {
            id: vm.base.id.clone(),
            name: vm.base.name.clone(),
            macs: vm.nics().iter().map(|nic| nic.mac.clone()).collect(),
            nic_networks: vm
                .nics()
                .iter()
                .map(|nic| Ref::id(nic.network.id.clone()))
                .collect(),
            concerns: vm.concerns.iter().map(concern).collect(),
            windows: vm.is_windows(),
        })
    }

    fn validator(&self) -> &dyn Validator {
        self
    }

    fn builder(&self) -> &dyn Builder {
        self
    }

    fn source_client(
        &self,
        source: &Provider,
        secret: Option<&Secret>,
    ) -> Result<Arc<dyn SourceClient>, AdapterError> {
        self.remember(source, secret);
        self.sessions.client(source, secret)
    }

    fn schedule(&self, view: &PlanView<'_>, vm: &SourceVm, status: &VmStatus) -> Schedule {
        match workload(vm) {
            Ok(workload) => schedule::schedule(view, workload, status),
            Err(_) => Schedule {
                key: String::new(),
                cost: 1,
            },
        }
    }
}

#[cfg(test)]
mod tests;
