//! The settings the plan controller reads, with upstream's names (plan spec §7).
//!
//! The manager loads them (environment variables and the ForkliftController keys; see
//! `docs/settings.md`) and passes one [`Settings`] in the reconcile context: nothing here
//! reads the environment. [`Settings::default`] is upstream's defaults (the CRD defaults
//! where the operator always renders a key).

use std::time::Duration;

/// Resource requests and limits of a container, as Kubernetes quantities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerResources {
    /// `*_CONTAINER_LIMITS_CPU`.
    pub limits_cpu: String,
    /// `*_CONTAINER_LIMITS_MEMORY`.
    pub limits_memory: String,
    /// `*_CONTAINER_REQUESTS_CPU`.
    pub requests_cpu: String,
    /// `*_CONTAINER_REQUESTS_MEMORY`.
    pub requests_memory: String,
}

/// What the plan controller needs from the global settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `MAX_VM_INFLIGHT` / `controller_max_vm_inflight` (20): VMs in flight per source
    /// provider, across plans.
    pub max_vm_inflight: usize,
    /// `BLOCKER_GRACE_PERIOD_MINUTES` / `controller_blocker_grace_period_minutes` (5): how
    /// long a blocker may sit on an executing plan before the execution fails. Zero means
    /// the default, as upstream's `<= 0`.
    pub blocker_grace_period: Duration,
    /// `PRECOPY_INTERVAL` / `controller_precopy_interval` (60 min): warm precopy interval.
    pub precopy_interval: Duration,
    /// `HOOK_RETRY` (3): failed hook pods tolerated.
    pub hook_retry: i32,
    /// `IMPORTER_RETRY` (3): CDI importer restarts tolerated.
    pub importer_retry: i32,
    /// `FEATURE_USE_CONVERSION_CR` / `feature_use_conversion_cr` (true): delegate guest
    /// conversion to `Conversion` resources instead of creating the virt-v2v pod.
    pub use_conversion_cr: bool,
    /// `FEATURE_WINDOWS_WAIT_FOR_REBOOT` / `feature_windows_wait_for_reboot` (true).
    pub windows_wait_for_reboot: bool,
    /// `CONTROLLER_WINDOWS_REBOOT_TIMEOUT` / `controller_windows_reboot_timeout` (1800 s).
    pub windows_reboot_timeout: Duration,
    /// `FEATURE_COPY_OFFLOAD` / `feature_copy_offload` (CRD default true).
    pub copy_offload: bool,
    /// `FEATURE_OVIRT_WARM_MIGRATION` / `controller_ovirt_warm_migration` (CRD default
    /// true).
    pub ovirt_warm_migration: bool,
    /// `FEATURE_OCP_LIVE_MIGRATION` / `feature_ocp_live_migration` (CRD default true).
    pub ocp_live_migration: bool,
    /// `FEATURE_STATIC_UDN_IP_ADDRESSES` / `controller_static_udn_ip_addresses`.
    pub static_udn_ip_addresses: bool,
    /// `FEATURE_RETAIN_PRECOPY_IMPORTER_PODS`.
    pub retain_precopy_importer_pods: bool,
    /// `FEATURE_RETAIN_POPULATOR_PODS`.
    pub retain_populator_pods: bool,
    /// `FEATURE_VSPHERE_VMWARE_DRIVER_REMOVAL` (adds `V2V_vsphereVmwareDriverRemoval`).
    pub vsphere_vmware_driver_removal: bool,
    /// `FEATURE_WINDOWS_REGISTRY_NETWORK_CONFIG` (adds `V2V_windowsRegistryNetworkConfig`).
    pub windows_registry_network_config: bool,
    /// `FEATURE_XFS_REPAIR_IGNORE` (adds `V2V_xfsRepairIgnore`).
    pub xfs_repair_ignore: bool,
    /// `WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION` (true).
    pub wait_for_final_snapshot_consolidation: bool,
    /// `VIRT_V2V_IMAGE`: the default virt-v2v image.
    pub virt_v2v_image: String,
    /// `VIRT_V2V_IMAGE_XFS`: the image used with `xfsCompatibility`.
    pub virt_v2v_image_xfs: String,
    /// `VDDK_IMAGE` / `vddk_image`: the global VDDK init image.
    pub vddk_image: String,
    /// `VIRT_V2V_DONT_REQUEST_KVM`.
    pub virt_v2v_dont_request_kvm: bool,
    /// `VIRT_V2V_EXTRA_ARGS` (whitespace-split).
    pub virt_v2v_extra_args: Vec<String>,
    /// `VIRT_V2V_INSPECTOR_EXTRA_ARGS` (whitespace-split).
    pub virt_v2v_inspector_extra_args: Vec<String>,
    /// `VIRT_V2V_EXTRA_CONF_CONFIG_MAP`: a ConfigMap in the plan namespace copied to
    /// `<plan>-extra-v2v-conf` in the target namespace.
    pub virt_v2v_extra_conf_config_map: String,
    /// `VIRT_V2V_MEMSIZE` (0: unset).
    pub virt_v2v_memsize: i64,
    /// `VIRT_V2V_SMP` (0: unset).
    pub virt_v2v_smp: i64,
    /// `VIRT_V2V_CONTAINER_*` (`4000m`/`8Gi` limits, `1000m`/`1Gi` requests).
    pub virt_v2v_container: ContainerResources,
    /// `HOOKS_CONTAINER_*` (`1000m`/`1Gi` limits, `100m`/`150Mi` requests).
    pub hooks_container: ContainerResources,
    /// `MIGRATION_SERVICE_ACCOUNT` / `controller_migration_service_account`.
    pub migration_service_account: String,
    /// `PVC_NAME_TEMPLATE` / `controller_pvc_name_template` (escapes already undone).
    pub pvc_name_template: String,
    /// `OCP_PVC_NAME_TEMPLATE` / `controller_ocp_pvc_name_template`.
    pub ocp_pvc_name_template: String,
    /// `OPENSHIFT`: the destination is OpenShift (seccomp profile choice).
    pub openshift: bool,
    /// `OPENSHIFT_VERSION`: gates a few features.
    pub openshift_version: String,
    /// `POD_NAMESPACE`: the controller namespace (`RestrictedPodSecurity`, OS maps).
    pub pod_namespace: String,
    /// `VDDK_JOB_ACTIVE_DEADLINE` (300 s).
    pub vddk_job_active_deadline: Duration,
    /// `AAP_URL` / `aap_url`: the cluster's Ansible Automation Platform.
    pub aap_url: String,
    /// `AAP_TOKEN_SECRET_NAME` / `aap_token_secret_name`.
    pub aap_token_secret_name: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_vm_inflight: 20,
            blocker_grace_period: Duration::from_secs(5 * 60),
            precopy_interval: Duration::from_secs(60 * 60),
            hook_retry: 3,
            importer_retry: 3,
            use_conversion_cr: true,
            windows_wait_for_reboot: true,
            windows_reboot_timeout: Duration::from_secs(1800),
            copy_offload: true,
            ovirt_warm_migration: true,
            ocp_live_migration: true,
            static_udn_ip_addresses: false,
            retain_precopy_importer_pods: false,
            retain_populator_pods: false,
            vsphere_vmware_driver_removal: false,
            windows_registry_network_config: false,
            xfs_repair_ignore: false,
            wait_for_final_snapshot_consolidation: true,
            virt_v2v_image: "quay.io/kubev2v/forklift-virt-v2v:latest".into(),
            virt_v2v_image_xfs: "quay.io/kubev2v/forklift-virt-v2v-xfs:latest".into(),
            vddk_image: String::new(),
            virt_v2v_dont_request_kvm: false,
            virt_v2v_extra_args: Vec::new(),
            virt_v2v_inspector_extra_args: Vec::new(),
            virt_v2v_extra_conf_config_map: String::new(),
            virt_v2v_memsize: 0,
            virt_v2v_smp: 0,
            virt_v2v_container: ContainerResources {
                limits_cpu: "4000m".into(),
                limits_memory: "8Gi".into(),
                requests_cpu: "1000m".into(),
                requests_memory: "1Gi".into(),
            },
            hooks_container: ContainerResources {
                limits_cpu: "1000m".into(),
                limits_memory: "1Gi".into(),
                requests_cpu: "100m".into(),
                requests_memory: "150Mi".into(),
            },
            migration_service_account: String::new(),
            pvc_name_template: String::new(),
            ocp_pvc_name_template: String::new(),
            openshift: false,
            openshift_version: String::new(),
            pod_namespace: String::new(),
            vddk_job_active_deadline: Duration::from_secs(300),
            aap_url: String::new(),
            aap_token_secret_name: String::new(),
        }
    }
}

impl Settings {
    /// The blocker grace period, with upstream's rule that zero means the default (5 min).
    pub fn effective_blocker_grace(&self) -> Duration {
        if self.blocker_grace_period.is_zero() {
            Duration::from_secs(5 * 60)
        } else {
            self.blocker_grace_period
        }
    }

    /// The in-flight limit, at least 1.
    pub fn effective_max_vm_inflight(&self) -> usize {
        self.max_vm_inflight.max(1)
    }
}
