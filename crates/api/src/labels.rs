//! Label and annotation keys Forklift puts on the objects it creates, with upstream's
//! spelling. Lookups across reconciles and migrations go through these labels, so they are
//! part of the contract (a Forklift-created object must be found by Ferry and vice versa).

/// Label: the Migration UID.
pub const MIGRATION: &str = "migration";
/// Label: the Plan UID.
pub const PLAN: &str = "plan";
/// Label: the Plan name.
pub const PLAN_NAME: &str = "plan-name";
/// Label: the Plan namespace.
pub const PLAN_NAMESPACE: &str = "plan-namespace";
/// Label: the source VM ID.
pub const VM_ID: &str = "vmID";
/// Label: the source VM UUID (vSphere) or ID, on DVs when copy and conversion are separate.
pub const VM_UUID: &str = "vmUUID";
/// Label: the kind of created resource (values in [`resource`]).
pub const RESOURCE: &str = "resource";
/// Label: the Forklift application of a pod (values in [`app`]).
pub const FORKLIFT_APP: &str = "forklift.app";
/// Label: `app`; the VM name on a VM template, `forklift` on provider storage.
pub const APP: &str = "app";
/// Label: `use` on the vddk-conf ConfigMap (`vddk-conf`).
pub const USE: &str = "use";
/// Label: the hook step (`PreHook`/`PostHook`) on hook Jobs and ConfigMaps.
pub const STEP: &str = "step";
/// Label: the Hook UID on hook Jobs and ConfigMaps.
pub const HOOK: &str = "hook";
/// Label: `"true"` on DVs of shared vSphere disks.
pub const SHAREABLE: &str = "shareable";
/// Label: `"true"|"false"` on the target VirtualMachine for converted sources.
pub const GUEST_CONVERTED: &str = "guestConverted";
/// Label: the Conversion name on Conversion CRs and their pods.
pub const CONVERSION: &str = "conversion";
/// Label: the Conversion type.
pub const CONVERSION_TYPE: &str = "conversion-type";
/// Label: the oVirt disk ID on populator CRs and PVCs.
pub const DISK_ID: &str = "diskID";
/// Label: the provider name on provider storage.
pub const PROVIDER: &str = "provider";
/// Label: `ova` on OVA provider storage.
pub const OVA: &str = "ova";
/// Label: `hyperv` on Hyper-V provider storage.
pub const HYPERV: &str = "hyperv";
/// Label: md5 hex of the VDDK image on the VDDK validation Job.
pub const VDDK: &str = "vddk";
/// Label: `"true"` on CDI secrets.
pub const IS_DV: &str = "isDV";
/// Label: `"true"` on virt-v2v secrets.
pub const IS_V2V: &str = "isV2V";
/// Label: `"true"` on populator secrets.
pub const IS_POPULATOR: &str = "isPopulator";
/// Label: `"true"` on LUKS secrets.
pub const IS_LUKS: &str = "isLUKS";
/// Label: the source PVC of an OpenStack conversion Job and scratch DV.
pub const CONVERSION_SOURCE_PVC: &str = "forklift.konveyor.io/conversionSourcePVC";
/// Label: the source ESXi host.
pub const SOURCE_HOST: &str = "sourceHost";
/// Label on provider Secrets: the resource type they were created for (`providers`,
/// `hosts`).
pub const CREATED_FOR_RESOURCE_TYPE: &str = "createdForResourceType";
/// Label on provider Secrets: the provider type.
pub const CREATED_FOR_PROVIDER_TYPE: &str = "createdForProviderType";
/// Label on host Secrets: the host ID.
pub const CREATED_FOR_RESOURCE: &str = "createdForResource";
/// Label set by the secret webhook after moving an oVirt CA.
pub const CA_CERT_UPDATED: &str = "ca-cert-updated";

/// Values of [`RESOURCE`].
pub mod resource {
    /// Objects belonging to a VM's migration.
    pub const VM_CONFIG: &str = "vm-config";
    /// The wait-for-reboot pod.
    pub const WAIT_FOR_REBOOT: &str = "wait-for-reboot";
    /// The vddk-conf ConfigMap.
    pub const VDDK_CONFIG: &str = "vddk-config";
    /// Hook Jobs and ConfigMaps.
    pub const HOOK_CONFIG: &str = "hook-config";
}

/// Values of [`FORKLIFT_APP`].
pub mod app {
    /// The virt-v2v conversion pod.
    pub const VIRT_V2V: &str = "virt-v2v";
    /// The virt-v2v inspection pod.
    pub const VIRT_V2V_INSPECTION: &str = "virt-v2v-inspection";
    /// The PVC-binding (consumer) pod.
    pub const CONSUMER: &str = "consumer";
    /// The Windows wait-for-reboot pod.
    pub const WAIT_FOR_REBOOT: &str = "forklift-wait-for-reboot";
}

/// Annotation keys.
pub mod annotation {
    /// The disk identity on DVs and PVCs (vSphere: the base volume file; oVirt: the disk
    /// attachment ID; OVA: `<FilePath>::<Name>`; Hyper-V: the disk ID).
    pub const DISK_SOURCE: &str = "forklift.konveyor.io/disk-source";
    /// The disk index on vSphere DVs.
    pub const DISK_INDEX: &str = "forklift.konveyor.io/disk-index";
    /// The volume name.
    pub const VOLUME: &str = "forklift.konveyor.io/volume";
    /// `<ns>/<name>` of the object a copied Secret/ConfigMap came from.
    pub const SOURCE: &str = "forklift.konveyor.io/source";
    /// The effective ServiceAccount on populator PVCs.
    pub const SERVICE_ACCOUNT: &str = "forklift.konveyor.io/serviceAccount";
    /// Default route of a transfer network NAD (an IP, or `none`).
    pub const ROUTE: &str = "forklift.konveyor.io/route";
    /// JSON map of original to sanitized tag-derived label/annotation keys.
    pub const SANITIZED_METADATA: &str = "forklift.konveyor.io/sanitized-metadata";
    /// On a destination Provider: the default transfer network (`name` or `ns/name`).
    pub const DEFAULT_TRANSFER_NETWORK: &str = "forklift.konveyor.io/defaultTransferNetwork";
    /// `"true"` on OpenStack PVCs that need format conversion.
    pub const REQUIRES_CONVERSION: &str = "forklift.konveyor.io/requires-conversion";
    /// The source image format of an OpenStack PVC.
    pub const SOURCE_FORMAT: &str = "forklift.konveyor.io/source-format";
    /// On PVCs populated by XCOPY.
    pub const COPY_OFFLOAD: &str = "copy-offload";
    /// On LUN PVCs (skipped by progress).
    pub const LUN: &str = "lun";
    /// `"True"` on plans whose populators were labelled.
    pub const POPULATOR_LABELS: &str = "populatorLabels";
    /// The source name on the target VM when renamed.
    pub const DISPLAY_NAME: &str = "openshift.io/display-name";
    /// The source VM ID on the target VM when renamed.
    pub const ORIGINAL_ID: &str = "original-ID";
    /// KubeVirt: the run strategy to restore after a live migration.
    pub const RESTORE_RUN_STRATEGY: &str = "kubevirt.io/restore-run-strategy";
    /// VM template: flavor.
    pub const VM_FLAVOR: &str = "vm.kubevirt.io/flavor";
    /// VM template: OS.
    pub const VM_OS: &str = "vm.kubevirt.io/os";
    /// VM template: workload.
    pub const VM_WORKLOAD: &str = "vm.kubevirt.io/workload";
    /// Multus: additional networks of a pod or DV.
    pub const MULTUS_NETWORKS: &str = "k8s.v1.cni.cncf.io/networks";
    /// Multus: the default network of a pod or DV (legacy form).
    pub const MULTUS_DEFAULT_NETWORK: &str = "v1.multus-cni.io/default-network";
    /// OVN: ports opened on a primary-UDN pod.
    pub const OVN_OPEN_DEFAULT_PORTS: &str = "k8s.ovn.org/open-default-ports";
    /// CDI: keep the DV after completion (`"false"` always).
    pub const CDI_DELETE_AFTER_COMPLETION: &str = "cdi.kubevirt.io/storage.deleteAfterCompletion";
    /// CDI: bind immediately.
    pub const CDI_BIND_IMMEDIATE: &str = "cdi.kubevirt.io/storage.bind.immediate.requested";
    /// CDI: use a populator (`"false"` for warm plans without populators).
    pub const CDI_USE_POPULATOR: &str = "cdi.kubevirt.io/storage.usePopulator";
    /// CDI: allow claim adoption.
    pub const CDI_ALLOW_CLAIM_ADOPTION: &str = "cdi.kubevirt.io/allowClaimAdoption";
    /// CDI: the PVC is pre-populated.
    pub const CDI_PRE_POPULATED: &str = "cdi.kubevirt.io/storage.prePopulated";
    /// CDI: keep the importer pod after completion.
    pub const CDI_RETAIN_POD: &str = "cdi.kubevirt.io/storage.pod.retainAfterCompletion";
    /// CDI: the importer pod's ServiceAccount.
    pub const CDI_POD_SERVICE_ACCOUNT: &str = "cdi.kubevirt.io/storage.pod.serviceAccountName";
    /// CDI: the vddk-conf ConfigMap of a VDDK import.
    pub const CDI_VDDK_EXTRA_ARGS: &str = "cdi.kubevirt.io/storage.pod.vddk.extraargs";
    /// CDI: the importer pod name on a PVC.
    pub const CDI_IMPORT_POD_NAME: &str = "cdi.kubevirt.io/storage.import.importPodName";
    /// CDI: prefix of the per-checkpoint "copied" annotation on PVCs
    /// (`cdi.kubevirt.io/storage.checkpoint.copied.<checkpoint>`).
    pub const CDI_CHECKPOINT_COPIED_PREFIX: &str = "cdi.kubevirt.io/storage.checkpoint.copied.";
}

/// Label on a namespace with a primary user-defined network.
pub const PRIMARY_UDN_NAMESPACE: &str = "k8s.ovn.org/primary-user-defined-network";
/// Label on NADs of user-defined networks.
pub const UDN_NAD: &str = "k8s.ovn.org/user-defined-network";

use std::collections::BTreeMap;

/// The plan label set: `migration`, `plan`, `plan-name`, `plan-namespace`. `migration` is
/// left out when `migration_uid` is `None` (lookups across migrations).
pub fn plan_labels(
    plan_uid: &str,
    plan_name: &str,
    plan_namespace: &str,
    migration_uid: Option<&str>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if let Some(uid) = migration_uid {
        labels.insert(MIGRATION.to_string(), uid.to_string());
    }
    labels.insert(PLAN.to_string(), plan_uid.to_string());
    labels.insert(PLAN_NAME.to_string(), plan_name.to_string());
    labels.insert(PLAN_NAMESPACE.to_string(), plan_namespace.to_string());
    labels
}

/// The VM label set: the plan labels plus `vmID` and `resource: vm-config`.
pub fn vm_labels(
    plan_uid: &str,
    plan_name: &str,
    plan_namespace: &str,
    migration_uid: Option<&str>,
    vm_id: &str,
) -> BTreeMap<String, String> {
    let mut labels = plan_labels(plan_uid, plan_name, plan_namespace, migration_uid);
    labels.insert(VM_ID.to_string(), vm_id.to_string());
    labels.insert(RESOURCE.to_string(), resource::VM_CONFIG.to_string());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_labels_with_and_without_migration() {
        let with = vm_labels("p-uid", "plan", "ns", Some("m-uid"), "vm-1");
        let keys: Vec<_> = with.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "migration",
                "plan",
                "plan-name",
                "plan-namespace",
                "resource",
                "vmID"
            ]
        );
        assert_eq!(with["resource"], "vm-config");
        let without = vm_labels("p-uid", "plan", "ns", None, "vm-1");
        assert!(!without.contains_key("migration"));
        assert_eq!(without.len(), 5);
    }
}
