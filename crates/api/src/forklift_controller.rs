//! `ForkliftController`: the operator's configuration, and the settings Ferry reads from it
//! (`forkliftcontroller.go`; see the settings table of the plan specification).
//!
//! The spec is an open map of about 150 snake_case keys. Ferry keeps it as a map (so keys
//! it does not know round-trip) and reads it through a catalogue ([`SETTINGS`]) that knows
//! each key's type, constraint and CRD default; the CRD's schema is generated from the same
//! catalogue.
//!
//! Defaults: the API server applies the CRD defaults on write, and the operator renders
//! every key into the controller's environment, so the *CRD* default is the effective
//! value when a key is absent (not the Go code's own fallback, which differs for a few
//! flags such as `feature_copy_offload`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The keys of `spec`, as upstream spells them.
pub mod keys {
    /// Name of the Secret containing a custom CA certificate (data key: ca.crt) for AAP TLS verification.
    pub const AAP_CA_SECRET_NAME: &str = "aap_ca_secret_name";
    /// Skip TLS certificate verification when connecting to AAP.
    pub const AAP_INSECURE_SKIP_VERIFY: &str = "aap_insecure_skip_verify";
    /// Default timeout in seconds for AAP HTTP calls and job polling.
    pub const AAP_TIMEOUT: &str = "aap_timeout";
    /// Name of the Secret containing the AAP API Bearer token (data key: token).
    pub const AAP_TOKEN_SECRET_NAME: &str = "aap_token_secret_name";
    /// Ansible Automation Platform base URL.
    pub const AAP_URL: &str = "aap_url";
    /// API service CPU limit.
    pub const API_CONTAINER_LIMITS_CPU: &str = "api_container_limits_cpu";
    /// API service memory limit.
    pub const API_CONTAINER_LIMITS_MEMORY: &str = "api_container_limits_memory";
    /// API service CPU request.
    pub const API_CONTAINER_REQUESTS_CPU: &str = "api_container_requests_cpu";
    /// API service memory request.
    pub const API_CONTAINER_REQUESTS_MEMORY: &str = "api_container_requests_memory";
    /// API service image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const API_IMAGE_FQIN: &str = "api_image_fqin";
    /// CLI download service CPU limit.
    pub const CLI_DOWNLOAD_CONTAINER_LIMITS_CPU: &str = "cli_download_container_limits_cpu";
    /// CLI download service memory limit.
    pub const CLI_DOWNLOAD_CONTAINER_LIMITS_MEMORY: &str = "cli_download_container_limits_memory";
    /// CLI download service CPU request.
    pub const CLI_DOWNLOAD_CONTAINER_REQUESTS_CPU: &str = "cli_download_container_requests_cpu";
    /// CLI download service memory request.
    pub const CLI_DOWNLOAD_CONTAINER_REQUESTS_MEMORY: &str =
        "cli_download_container_requests_memory";
    /// CLI download service image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const CLI_DOWNLOAD_IMAGE_FQIN: &str = "cli_download_image_fqin";
    /// Block overhead in bytes.
    pub const CONTROLLER_BLOCK_OVERHEAD: &str = "controller_block_overhead";
    /// How long Critical/Error blocker conditions must persist before failing an active migration, in minutes.
    pub const CONTROLLER_BLOCKER_GRACE_PERIOD_MINUTES: &str =
        "controller_blocker_grace_period_minutes";
    /// Cleanup retry count.
    pub const CONTROLLER_CLEANUP_RETRIES: &str = "controller_cleanup_retries";
    /// Controller CPU limit.
    pub const CONTROLLER_CONTAINER_LIMITS_CPU: &str = "controller_container_limits_cpu";
    /// Controller memory limit.
    pub const CONTROLLER_CONTAINER_LIMITS_MEMORY: &str = "controller_container_limits_memory";
    /// Controller CPU request.
    pub const CONTROLLER_CONTAINER_REQUESTS_CPU: &str = "controller_container_requests_cpu";
    /// Controller memory request.
    pub const CONTROLLER_CONTAINER_REQUESTS_MEMORY: &str = "controller_container_requests_memory";
    /// Filesystem overhead percentage.
    pub const CONTROLLER_FILESYSTEM_OVERHEAD: &str = "controller_filesystem_overhead";
    /// Host lease duration in seconds.
    pub const CONTROLLER_HOST_LEASE_DURATION_SECONDS: &str =
        "controller_host_lease_duration_seconds";
    /// Namespace for host lease objects.
    pub const CONTROLLER_HOST_LEASE_NAMESPACE: &str = "controller_host_lease_namespace";
    /// HyperV inventory refresh interval as a Go duration.
    pub const CONTROLLER_HYPERV_REFRESH_INTERVAL: &str = "controller_hyperv_refresh_interval";
    /// Timeout for HyperV SMB disk validation HTTP calls as a Go duration.
    pub const CONTROLLER_HYPERV_VALIDATION_TIMEOUT: &str = "controller_hyperv_validation_timeout";
    /// Controller pod image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const CONTROLLER_IMAGE_FQIN: &str = "controller_image_fqin";
    /// Log verbosity level.
    pub const CONTROLLER_LOG_LEVEL: &str = "controller_log_level";
    /// Max concurrent reconciles.
    pub const CONTROLLER_MAX_CONCURRENT_RECONCILES: &str = "controller_max_concurrent_reconciles";
    /// Max retries when getting parent disks.
    pub const CONTROLLER_MAX_PARENT_BACKING_RETRIES: &str = "controller_max_parent_backing_retries";
    /// Max concurrent populator pods per ESXi host.
    pub const CONTROLLER_MAX_POPULATOR_INFLIGHT: &str = "controller_max_populator_inflight";
    /// Max concurrent VM migrations.
    pub const CONTROLLER_MAX_VM_INFLIGHT: &str = "controller_max_vm_inflight";
    /// Global default ServiceAccount for migration pods in the target namespace.
    pub const CONTROLLER_MIGRATION_SERVICE_ACCOUNT: &str = "controller_migration_service_account";
    /// Global default Go template for generating PVC names during OpenShift (OCP) migrations.
    pub const CONTROLLER_OCP_PVC_NAME_TEMPLATE: &str = "controller_ocp_pvc_name_template";
    /// Enable oVirt warm migration.
    pub const CONTROLLER_OVIRT_WARM_MIGRATION: &str = "controller_ovirt_warm_migration";
    /// Precopy interval in minutes.
    pub const CONTROLLER_PRECOPY_INTERVAL: &str = "controller_precopy_interval";
    /// Global default Go template for generating PVC names during non-OCP migrations.
    pub const CONTROLLER_PVC_NAME_TEMPLATE: &str = "controller_pvc_name_template";
    /// Retain populator pods after migration for debugging.
    pub const CONTROLLER_RETAIN_POPULATOR_PODS: &str = "controller_retain_populator_pods";
    /// Retain precopy pods.
    pub const CONTROLLER_RETAIN_PRECOPY_IMPORTER_PODS: &str =
        "controller_retain_precopy_importer_pods";
    /// Snapshot removal retries.
    pub const CONTROLLER_SNAPSHOT_REMOVAL_CHECK_RETRIES: &str =
        "controller_snapshot_removal_check_retries";
    /// Snapshot removal timeout in minutes.
    pub const CONTROLLER_SNAPSHOT_REMOVAL_TIMEOUT_MINUTS: &str =
        "controller_snapshot_removal_timeout_minuts";
    /// Snapshot status check rate in seconds.
    pub const CONTROLLER_SNAPSHOT_STATUS_CHECK_RATE_SECONDS: &str =
        "controller_snapshot_status_check_rate_seconds";
    /// Enable static UDN IP addresses feature.
    pub const CONTROLLER_STATIC_UDN_IP_ADDRESSES: &str = "controller_static_udn_ip_addresses";
    /// TLS connection timeout seconds.
    pub const CONTROLLER_TLS_CONNECTION_TIMEOUT_SEC: &str = "controller_tls_connection_timeout_sec";
    /// Optional NAD name for controller pod transfer network (format: 'namespace/network-name').
    pub const CONTROLLER_TRANSFER_NETWORK: &str = "controller_transfer_network";
    /// VDDK job timeout in seconds.
    pub const CONTROLLER_VDDK_JOB_ACTIVE_DEADLINE_SEC: &str =
        "controller_vddk_job_active_deadline_sec";
    /// Use vSphere incremental backup.
    pub const CONTROLLER_VSPHERE_INCREMENTAL_BACKUP: &str = "controller_vsphere_incremental_backup";
    /// Timeout in seconds for the wait-for-reboot step.
    pub const CONTROLLER_WINDOWS_REBOOT_TIMEOUT: &str = "controller_windows_reboot_timeout";
    /// Deep inspection image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const DEEP_INSPECTION_IMAGE_FQIN: &str = "deep_inspection_image_fqin";
    /// Deep inspection XFS image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const DEEP_INSPECTION_IMAGE_XFS_FQIN: &str = "deep_inspection_image_xfs_fqin";
    /// Require authentication.
    pub const FEATURE_AUTH_REQUIRED: &str = "feature_auth_required";
    /// Enable CLI download service.
    pub const FEATURE_CLI_DOWNLOAD: &str = "feature_cli_download";
    /// Enable copy offload plugins.
    pub const FEATURE_COPY_OFFLOAD: &str = "feature_copy_offload";
    /// Enable MCP server deployment (requires OpenShift with Lightspeed).
    pub const FEATURE_MCP_SERVER: &str = "feature_mcp_server";
    /// Enable OCP live migration.
    pub const FEATURE_OCP_LIVE_MIGRATION: &str = "feature_ocp_live_migration";
    /// Enable OVF-based appliance management endpoints (OVA, HyperV).
    pub const FEATURE_OVA_APPLIANCE_MANAGEMENT: &str = "feature_ova_appliance_management";
    /// Enable UI plugin.
    pub const FEATURE_UI_PLUGIN: &str = "feature_ui_plugin";
    /// Delegate VM conversion to Conversion CRs instead of managing it directly.
    pub const FEATURE_USE_CONVERSION_CR: &str = "feature_use_conversion_cr";
    /// Enable validation service.
    pub const FEATURE_VALIDATION: &str = "feature_validation";
    /// Use VMware system serial numbers.
    pub const FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER: &str = "feature_vmware_system_serial_number";
    /// Enable volume populators.
    pub const FEATURE_VOLUME_POPULATOR: &str = "feature_volume_populator";
    /// Run VMware driver removal scripts during Windows vSphere conversion.
    pub const FEATURE_VSPHERE_VMWARE_DRIVER_REMOVAL: &str = "feature_vsphere_vmware_driver_removal";
    /// Use registry-based network configuration scripts for Windows static IP setup.
    pub const FEATURE_WINDOWS_REGISTRY_NETWORK_CONFIG: &str =
        "feature_windows_registry_network_config";
    /// Enable automatic wait-for-reboot step for Windows VM migrations.
    pub const FEATURE_WINDOWS_WAIT_FOR_REBOOT: &str = "feature_windows_wait_for_reboot";
    /// Ignore xfs_repair exit status during conversion.
    pub const FEATURE_XFS_REPAIR_IGNORE: &str = "feature_xfs_repair_ignore";
    /// Hooks CPU limit.
    pub const HOOKS_CONTAINER_LIMITS_CPU: &str = "hooks_container_limits_cpu";
    /// Hooks memory limit.
    pub const HOOKS_CONTAINER_LIMITS_MEMORY: &str = "hooks_container_limits_memory";
    /// Hooks CPU request.
    pub const HOOKS_CONTAINER_REQUESTS_CPU: &str = "hooks_container_requests_cpu";
    /// Hooks memory request.
    pub const HOOKS_CONTAINER_REQUESTS_MEMORY: &str = "hooks_container_requests_memory";
    /// HyperV CPU limit.
    pub const HYPERV_CONTAINER_LIMITS_CPU: &str = "hyperv_container_limits_cpu";
    /// HyperV memory limit.
    pub const HYPERV_CONTAINER_LIMITS_MEMORY: &str = "hyperv_container_limits_memory";
    /// HyperV CPU request.
    pub const HYPERV_CONTAINER_REQUESTS_CPU: &str = "hyperv_container_requests_cpu";
    /// HyperV memory request.
    pub const HYPERV_CONTAINER_REQUESTS_MEMORY: &str = "hyperv_container_requests_memory";
    /// HyperV provider server image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const HYPERV_PROVIDER_SERVER_FQIN: &str = "hyperv_provider_server_fqin";
    /// Image pull policy.
    pub const IMAGE_PULL_POLICY: &str = "image_pull_policy";
    /// Inventory CPU limit.
    pub const INVENTORY_CONTAINER_LIMITS_CPU: &str = "inventory_container_limits_cpu";
    /// Inventory memory limit.
    pub const INVENTORY_CONTAINER_LIMITS_MEMORY: &str = "inventory_container_limits_memory";
    /// Inventory CPU request.
    pub const INVENTORY_CONTAINER_REQUESTS_CPU: &str = "inventory_container_requests_cpu";
    /// Inventory memory request.
    pub const INVENTORY_CONTAINER_REQUESTS_MEMORY: &str = "inventory_container_requests_memory";
    /// Inventory route timeout.
    pub const INVENTORY_ROUTE_TIMEOUT: &str = "inventory_route_timeout";
    /// Whether running on Kubernetes (vs OpenShift).
    pub const K8S_CLUSTER: &str = "k8s_cluster";
    /// MCP server CPU limit.
    pub const MCP_SERVER_CONTAINER_LIMITS_CPU: &str = "mcp_server_container_limits_cpu";
    /// MCP server memory limit.
    pub const MCP_SERVER_CONTAINER_LIMITS_MEMORY: &str = "mcp_server_container_limits_memory";
    /// MCP server CPU request.
    pub const MCP_SERVER_CONTAINER_REQUESTS_CPU: &str = "mcp_server_container_requests_cpu";
    /// MCP server memory request.
    pub const MCP_SERVER_CONTAINER_REQUESTS_MEMORY: &str = "mcp_server_container_requests_memory";
    /// Skip TLS verification for in-cluster MCP calls.
    pub const MCP_SERVER_KUBE_INSECURE: &str = "mcp_server_kube_insecure";
    /// Register MCP server with OpenShift Lightspeed.
    pub const MCP_SERVER_LIGHTSPEED_INTEGRATION: &str = "mcp_server_lightspeed_integration";
    /// Add MCPServer to OLSConfig featureGates when registering with Lightspeed.
    pub const MCP_SERVER_LIGHTSPEED_SET_MCP_GATE: &str = "mcp_server_lightspeed_set_mcp_gate";
    /// MCP server max response chars, 0 for unlimited.
    pub const MCP_SERVER_MAX_RESPONSE_CHARS: &str = "mcp_server_max_response_chars";
    /// MCP server output format.
    pub const MCP_SERVER_OUTPUT_FORMAT: &str = "mcp_server_output_format";
    /// Run MCP server in read-only mode.
    pub const MCP_SERVER_READ_ONLY: &str = "mcp_server_read_only";
    /// MCP server verbosity level.
    pub const MCP_SERVER_VERBOSE: &str = "mcp_server_verbose";
    /// Metrics scrape interval.
    pub const METRIC_INTERVAL: &str = "metric_interval";
    /// Must-gather debugging image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const MUST_GATHER_IMAGE_FQIN: &str = "must_gather_image_fqin";
    /// ConfigMap name for custom NAA OUI to storage vendor mappings.
    pub const NAA_OUI_MAP_CONFIGMAP_NAME: &str = "naa_oui_map_configmap_name";
    /// OVA CPU limit.
    pub const OVA_CONTAINER_LIMITS_CPU: &str = "ova_container_limits_cpu";
    /// OVA memory limit.
    pub const OVA_CONTAINER_LIMITS_MEMORY: &str = "ova_container_limits_memory";
    /// OVA CPU request.
    pub const OVA_CONTAINER_REQUESTS_CPU: &str = "ova_container_requests_cpu";
    /// OVA memory request.
    pub const OVA_CONTAINER_REQUESTS_MEMORY: &str = "ova_container_requests_memory";
    /// OVA provider server image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const OVA_PROVIDER_SERVER_FQIN: &str = "ova_provider_server_fqin";
    /// OVA Proxy CPU limit.
    pub const OVA_PROXY_CONTAINER_LIMITS_CPU: &str = "ova_proxy_container_limits_cpu";
    /// OVA Proxy memory limit.
    pub const OVA_PROXY_CONTAINER_LIMITS_MEMORY: &str = "ova_proxy_container_limits_memory";
    /// OVA Proxy CPU request.
    pub const OVA_PROXY_CONTAINER_REQUESTS_CPU: &str = "ova_proxy_container_requests_cpu";
    /// OVA Proxy memory request.
    pub const OVA_PROXY_CONTAINER_REQUESTS_MEMORY: &str = "ova_proxy_container_requests_memory";
    /// OVA inventory proxy image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const OVA_PROXY_FQIN: &str = "ova_proxy_fqin";
    /// OVA Proxy route timeout.
    pub const OVA_PROXY_ROUTE_TIMEOUT: &str = "ova_proxy_route_timeout";
    /// ConfigMap name for oVirt OS mappings.
    pub const OVIRT_OSMAP_CONFIGMAP_NAME: &str = "ovirt_osmap_configmap_name";
    /// Volume Populator CPU limit.
    pub const POPULATOR_CONTAINER_LIMITS_CPU: &str = "populator_container_limits_cpu";
    /// Volume Populator memory limit.
    pub const POPULATOR_CONTAINER_LIMITS_MEMORY: &str = "populator_container_limits_memory";
    /// Volume Populator CPU request.
    pub const POPULATOR_CONTAINER_REQUESTS_CPU: &str = "populator_container_requests_cpu";
    /// Volume Populator memory request.
    pub const POPULATOR_CONTAINER_REQUESTS_MEMORY: &str = "populator_container_requests_memory";
    /// Volume populator controller image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const POPULATOR_CONTROLLER_IMAGE_FQIN: &str = "populator_controller_image_fqin";
    /// OpenStack populator image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const POPULATOR_OPENSTACK_IMAGE_FQIN: &str = "populator_openstack_image_fqin";
    /// oVirt populator image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const POPULATOR_OVIRT_IMAGE_FQIN: &str = "populator_ovirt_image_fqin";
    /// vSphere xcopy populator image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const POPULATOR_VSPHERE_COPY_OFFLOAD_IMAGE_FQIN: &str =
        "populator_vsphere_copy_offload_image_fqin";
    /// UI plugin CPU limit.
    pub const UI_PLUGIN_CONTAINER_LIMITS_CPU: &str = "ui_plugin_container_limits_cpu";
    /// UI plugin memory limit.
    pub const UI_PLUGIN_CONTAINER_LIMITS_MEMORY: &str = "ui_plugin_container_limits_memory";
    /// UI plugin CPU request.
    pub const UI_PLUGIN_CONTAINER_REQUESTS_CPU: &str = "ui_plugin_container_requests_cpu";
    /// UI plugin memory request.
    pub const UI_PLUGIN_CONTAINER_REQUESTS_MEMORY: &str = "ui_plugin_container_requests_memory";
    /// UI plugin image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const UI_PLUGIN_IMAGE_FQIN: &str = "ui_plugin_image_fqin";
    /// Validation CPU limit.
    pub const VALIDATION_CONTAINER_LIMITS_CPU: &str = "validation_container_limits_cpu";
    /// Validation memory limit.
    pub const VALIDATION_CONTAINER_LIMITS_MEMORY: &str = "validation_container_limits_memory";
    /// Validation CPU request.
    pub const VALIDATION_CONTAINER_REQUESTS_CPU: &str = "validation_container_requests_cpu";
    /// Validation memory request.
    pub const VALIDATION_CONTAINER_REQUESTS_MEMORY: &str = "validation_container_requests_memory";
    /// Mount path for extra validation rules.
    pub const VALIDATION_EXTRA_VOLUME_MOUNTPATH: &str = "validation_extra_volume_mountpath";
    /// Volume name for extra validation rules.
    pub const VALIDATION_EXTRA_VOLUME_NAME: &str = "validation_extra_volume_name";
    /// Validation service image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const VALIDATION_IMAGE_FQIN: &str = "validation_image_fqin";
    /// Policy agent search interval in seconds.
    pub const VALIDATION_POLICY_AGENT_SEARCH_INTERVAL: &str =
        "validation_policy_agent_search_interval";
    /// VDDK image for VMware disk access. Optional. If left empty, no VDDK image is configured.
    pub const VDDK_IMAGE: &str = "vddk_image";
    /// ConfigMap name for virt-customize configuration.
    pub const VIRT_CUSTOMIZE_CONFIGMAP_NAME: &str = "virt_customize_configmap_name";
    /// Virt-v2v CPU limit.
    pub const VIRT_V2V_CONTAINER_LIMITS_CPU: &str = "virt_v2v_container_limits_cpu";
    /// Virt-v2v memory limit.
    pub const VIRT_V2V_CONTAINER_LIMITS_MEMORY: &str = "virt_v2v_container_limits_memory";
    /// Virt-v2v CPU request.
    pub const VIRT_V2V_CONTAINER_REQUESTS_CPU: &str = "virt_v2v_container_requests_cpu";
    /// Virt-v2v memory request.
    pub const VIRT_V2V_CONTAINER_REQUESTS_MEMORY: &str = "virt_v2v_container_requests_memory";
    /// Don't request KVM for virt-v2v. Optional. If left empty, the operator automatically sets this from the environment.
    pub const VIRT_V2V_DONT_REQUEST_KVM: &str = "virt_v2v_dont_request_kvm";
    /// Additional arguments for virt-v2v conversion. Optional. If left empty, the operator automatically sets this from the environment.
    pub const VIRT_V2V_EXTRA_ARGS: &str = "virt_v2v_extra_args";
    /// ConfigMap name containing extra virt-v2v configuration. Optional. If left empty, the operator automatically sets this from the environment.
    pub const VIRT_V2V_EXTRA_CONF_CONFIG_MAP: &str = "virt_v2v_extra_conf_config_map";
    /// Virt-v2v conversion image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const VIRT_V2V_IMAGE_FQIN: &str = "virt_v2v_image_fqin";
    /// Virt-v2v XFS conversion image. Optional. If left empty, the operator automatically sets this from the release payload.
    pub const VIRT_V2V_IMAGE_XFS_FQIN: &str = "virt_v2v_image_xfs_fqin";
    /// Additional arguments for virt-v2v-inspector. Optional. If left empty, the operator automatically sets this from the environment.
    pub const VIRT_V2V_INSPECTOR_EXTRA_ARGS: &str = "virt_v2v_inspector_extra_args";
    /// Memory (in MB) allocated for the virt-v2v conversion appliance.
    pub const VIRT_V2V_MEMSIZE: &str = "virt_v2v_memsize";
    /// Number of virtual CPUs for the virt-v2v conversion appliance.
    pub const VIRT_V2V_SMP: &str = "virt_v2v_smp";
    /// ConfigMap name for vSphere OS mappings.
    pub const VSPHERE_OSMAP_CONFIGMAP_NAME: &str = "vsphere_osmap_configmap_name";
    /// Wait for final snapshot removal and consolidation in a VMware warm migration.
    pub const WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION: &str = "wait_for_final_snapshot_consolidation";
}

/// The value pattern of resource quantities (`*_container_{requests,limits}_*`).
pub const QUANTITY_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$";
/// The value pattern of durations (`10s`, `5m`, `1h`).
pub const DURATION_PATTERN: &str = "^[0-9]+(s|m|h)$";
/// The value pattern of the PVC name template settings (braces must be escaped).
pub const TEMPLATE_PATTERN: &str = r"^([^{}\\]|\\.)*$";

/// The type of a setting's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKind {
    /// Free text.
    Text,
    /// A resource quantity ([`QUANTITY_PATTERN`]).
    Quantity,
    /// A duration ([`DURATION_PATTERN`]).
    Duration,
    /// A name template with escaped braces ([`TEMPLATE_PATTERN`]).
    Template,
    /// `"true"` or `"false"` (a string).
    Flag,
    /// A 32-bit integer with a minimum.
    Int {
        /// The smallest valid value.
        minimum: i64,
    },
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
}

/// A setting's CRD default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingDefault {
    /// A string default (including flags: `"true"`/`"false"`).
    Text(&'static str),
    /// A boolean flag default.
    Flag(bool),
    /// An integer default.
    Int(i64),
}

/// One entry of the settings catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The key.
    pub key: &'static str,
    /// The value type.
    pub kind: SettingKind,
    /// The CRD default, if any.
    pub default: Option<SettingDefault>,
}

impl Setting {
    const fn text(key: &'static str, default: Option<&'static str>) -> Self {
        let default = match default {
            Some(text) => Some(SettingDefault::Text(text)),
            None => None,
        };
        Self {
            key,
            kind: SettingKind::Text,
            default,
        }
    }

    const fn quantity(key: &'static str, default: &'static str) -> Self {
        Self {
            key,
            kind: SettingKind::Quantity,
            default: Some(SettingDefault::Text(default)),
        }
    }

    const fn duration(key: &'static str, default: &'static str) -> Self {
        Self {
            key,
            kind: SettingKind::Duration,
            default: Some(SettingDefault::Text(default)),
        }
    }

    const fn template(key: &'static str) -> Self {
        Self {
            key,
            kind: SettingKind::Template,
            default: None,
        }
    }

    const fn flag(key: &'static str, default: Option<bool>) -> Self {
        let default = match default {
            Some(flag) => Some(SettingDefault::Flag(flag)),
            None => None,
        };
        Self {
            key,
            kind: SettingKind::Flag,
            default,
        }
    }

    const fn int(key: &'static str, minimum: i64, default: Option<i64>) -> Self {
        let default = match default {
            Some(value) => Some(SettingDefault::Int(value)),
            None => None,
        };
        Self {
            key,
            kind: SettingKind::Int { minimum },
            default,
        }
    }

    const fn choice(
        key: &'static str,
        values: &'static [&'static str],
        default: &'static str,
    ) -> Self {
        Self {
            key,
            kind: SettingKind::Choice(values),
            default: Some(SettingDefault::Text(default)),
        }
    }

    /// The setting's JSON schema, as in upstream's CRD.
    pub fn schema(&self) -> Value {
        let mut schema = match self.kind {
            SettingKind::Text => json!({ "type": "string" }),
            SettingKind::Quantity => json!({ "type": "string", "pattern": QUANTITY_PATTERN }),
            SettingKind::Duration => json!({ "type": "string", "pattern": DURATION_PATTERN }),
            SettingKind::Template => json!({ "type": "string", "pattern": TEMPLATE_PATTERN }),
            SettingKind::Flag => json!({ "type": "string", "enum": ["true", "false"] }),
            SettingKind::Int { minimum } => {
                json!({ "type": "integer", "format": "int32", "minimum": minimum })
            }
            SettingKind::Choice(values) => json!({ "type": "string", "enum": values }),
        };
        if let (Some(default), Value::Object(object)) = (self.default, &mut schema) {
            let default = match default {
                SettingDefault::Text(text) => json!(text),
                SettingDefault::Flag(flag) => json!(if flag { "true" } else { "false" }),
                SettingDefault::Int(value) => json!(value),
            };
            object.insert("default".into(), default);
        }
        schema
    }
}

/// Every setting upstream's CRD declares, in its (alphabetical) order.
pub const SETTINGS: &[Setting] = &[
    Setting::text(keys::AAP_CA_SECRET_NAME, None),
    Setting::flag(keys::AAP_INSECURE_SKIP_VERIFY, Some(false)),
    Setting::int(keys::AAP_TIMEOUT, 1, None),
    Setting::text(keys::AAP_TOKEN_SECRET_NAME, None),
    Setting::text(keys::AAP_URL, None),
    Setting::quantity(keys::API_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::API_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::API_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::API_CONTAINER_REQUESTS_MEMORY, "150Mi"),
    Setting::text(keys::API_IMAGE_FQIN, None),
    Setting::quantity(keys::CLI_DOWNLOAD_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::CLI_DOWNLOAD_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::CLI_DOWNLOAD_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::CLI_DOWNLOAD_CONTAINER_REQUESTS_MEMORY, "512Mi"),
    Setting::text(keys::CLI_DOWNLOAD_IMAGE_FQIN, None),
    Setting::int(keys::CONTROLLER_BLOCK_OVERHEAD, 0, Some(0)),
    Setting::int(keys::CONTROLLER_BLOCKER_GRACE_PERIOD_MINUTES, 1, Some(5)),
    Setting::int(keys::CONTROLLER_CLEANUP_RETRIES, 1, Some(10)),
    Setting::quantity(keys::CONTROLLER_CONTAINER_LIMITS_CPU, "2"),
    Setting::quantity(keys::CONTROLLER_CONTAINER_LIMITS_MEMORY, "800Mi"),
    Setting::quantity(keys::CONTROLLER_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::CONTROLLER_CONTAINER_REQUESTS_MEMORY, "350Mi"),
    Setting::int(keys::CONTROLLER_FILESYSTEM_OVERHEAD, 0, Some(10)),
    Setting::int(keys::CONTROLLER_HOST_LEASE_DURATION_SECONDS, 1, Some(10)),
    Setting::text(keys::CONTROLLER_HOST_LEASE_NAMESPACE, Some("openshift-mtv")),
    Setting::duration(keys::CONTROLLER_HYPERV_REFRESH_INTERVAL, "10s"),
    Setting::duration(keys::CONTROLLER_HYPERV_VALIDATION_TIMEOUT, "30s"),
    Setting::text(keys::CONTROLLER_IMAGE_FQIN, None),
    Setting::int(keys::CONTROLLER_LOG_LEVEL, 0, Some(3)),
    Setting::int(keys::CONTROLLER_MAX_CONCURRENT_RECONCILES, 1, Some(10)),
    Setting::int(keys::CONTROLLER_MAX_PARENT_BACKING_RETRIES, 1, Some(10)),
    Setting::int(keys::CONTROLLER_MAX_POPULATOR_INFLIGHT, 1, Some(20)),
    Setting::int(keys::CONTROLLER_MAX_VM_INFLIGHT, 1, Some(20)),
    Setting::text(keys::CONTROLLER_MIGRATION_SERVICE_ACCOUNT, None),
    Setting::template(keys::CONTROLLER_OCP_PVC_NAME_TEMPLATE),
    Setting::flag(keys::CONTROLLER_OVIRT_WARM_MIGRATION, Some(true)),
    Setting::int(keys::CONTROLLER_PRECOPY_INTERVAL, 1, Some(60)),
    Setting::template(keys::CONTROLLER_PVC_NAME_TEMPLATE),
    Setting::flag(keys::CONTROLLER_RETAIN_POPULATOR_PODS, Some(false)),
    Setting::flag(keys::CONTROLLER_RETAIN_PRECOPY_IMPORTER_PODS, Some(false)),
    Setting::int(keys::CONTROLLER_SNAPSHOT_REMOVAL_CHECK_RETRIES, 1, Some(20)),
    Setting::int(
        keys::CONTROLLER_SNAPSHOT_REMOVAL_TIMEOUT_MINUTS,
        1,
        Some(120),
    ),
    Setting::int(
        keys::CONTROLLER_SNAPSHOT_STATUS_CHECK_RATE_SECONDS,
        1,
        Some(10),
    ),
    Setting::flag(keys::CONTROLLER_STATIC_UDN_IP_ADDRESSES, Some(true)),
    Setting::int(keys::CONTROLLER_TLS_CONNECTION_TIMEOUT_SEC, 1, Some(5)),
    Setting::text(keys::CONTROLLER_TRANSFER_NETWORK, None),
    Setting::int(keys::CONTROLLER_VDDK_JOB_ACTIVE_DEADLINE_SEC, 1, Some(300)),
    Setting::flag(keys::CONTROLLER_VSPHERE_INCREMENTAL_BACKUP, Some(true)),
    Setting::int(keys::CONTROLLER_WINDOWS_REBOOT_TIMEOUT, 1, Some(1800)),
    Setting::text(keys::DEEP_INSPECTION_IMAGE_FQIN, None),
    Setting::text(keys::DEEP_INSPECTION_IMAGE_XFS_FQIN, None),
    Setting::flag(keys::FEATURE_AUTH_REQUIRED, Some(true)),
    Setting::flag(keys::FEATURE_CLI_DOWNLOAD, Some(true)),
    Setting::flag(keys::FEATURE_COPY_OFFLOAD, Some(true)),
    Setting::flag(keys::FEATURE_MCP_SERVER, Some(false)),
    Setting::flag(keys::FEATURE_OCP_LIVE_MIGRATION, Some(true)),
    Setting::flag(keys::FEATURE_OVA_APPLIANCE_MANAGEMENT, Some(true)),
    Setting::flag(keys::FEATURE_UI_PLUGIN, Some(true)),
    Setting::flag(keys::FEATURE_USE_CONVERSION_CR, Some(true)),
    Setting::flag(keys::FEATURE_VALIDATION, Some(true)),
    Setting::flag(keys::FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER, Some(true)),
    Setting::flag(keys::FEATURE_VOLUME_POPULATOR, Some(true)),
    Setting::flag(keys::FEATURE_VSPHERE_VMWARE_DRIVER_REMOVAL, Some(false)),
    Setting::flag(keys::FEATURE_WINDOWS_REGISTRY_NETWORK_CONFIG, Some(false)),
    Setting::flag(keys::FEATURE_WINDOWS_WAIT_FOR_REBOOT, Some(true)),
    Setting::flag(keys::FEATURE_XFS_REPAIR_IGNORE, Some(false)),
    Setting::quantity(keys::HOOKS_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::HOOKS_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::HOOKS_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::HOOKS_CONTAINER_REQUESTS_MEMORY, "150Mi"),
    Setting::quantity(keys::HYPERV_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::HYPERV_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::HYPERV_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::HYPERV_CONTAINER_REQUESTS_MEMORY, "512Mi"),
    Setting::text(keys::HYPERV_PROVIDER_SERVER_FQIN, None),
    Setting::choice(
        keys::IMAGE_PULL_POLICY,
        &["Always", "IfNotPresent", "Never"],
        "Always",
    ),
    Setting::quantity(keys::INVENTORY_CONTAINER_LIMITS_CPU, "2"),
    Setting::quantity(keys::INVENTORY_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::INVENTORY_CONTAINER_REQUESTS_CPU, "500m"),
    Setting::quantity(keys::INVENTORY_CONTAINER_REQUESTS_MEMORY, "500Mi"),
    Setting::duration(keys::INVENTORY_ROUTE_TIMEOUT, "360s"),
    Setting::flag(keys::K8S_CLUSTER, Some(false)),
    Setting::quantity(keys::MCP_SERVER_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::MCP_SERVER_CONTAINER_LIMITS_MEMORY, "512Mi"),
    Setting::quantity(keys::MCP_SERVER_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::MCP_SERVER_CONTAINER_REQUESTS_MEMORY, "256Mi"),
    Setting::flag(keys::MCP_SERVER_KUBE_INSECURE, Some(true)),
    Setting::flag(keys::MCP_SERVER_LIGHTSPEED_INTEGRATION, Some(true)),
    Setting::flag(keys::MCP_SERVER_LIGHTSPEED_SET_MCP_GATE, Some(false)),
    Setting::int(keys::MCP_SERVER_MAX_RESPONSE_CHARS, 0, Some(0)),
    Setting::choice(
        keys::MCP_SERVER_OUTPUT_FORMAT,
        &["markdown", "text", "json"],
        "markdown",
    ),
    Setting::flag(keys::MCP_SERVER_READ_ONLY, Some(false)),
    Setting::int(keys::MCP_SERVER_VERBOSE, 0, Some(2)),
    Setting::duration(keys::METRIC_INTERVAL, "30s"),
    Setting::text(keys::MUST_GATHER_IMAGE_FQIN, None),
    Setting::text(
        keys::NAA_OUI_MAP_CONFIGMAP_NAME,
        Some("forklift-naa-oui-map"),
    ),
    Setting::quantity(keys::OVA_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::OVA_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::OVA_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::OVA_CONTAINER_REQUESTS_MEMORY, "512Mi"),
    Setting::text(keys::OVA_PROVIDER_SERVER_FQIN, None),
    Setting::quantity(keys::OVA_PROXY_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::OVA_PROXY_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::OVA_PROXY_CONTAINER_REQUESTS_CPU, "250m"),
    Setting::quantity(keys::OVA_PROXY_CONTAINER_REQUESTS_MEMORY, "512Mi"),
    Setting::text(keys::OVA_PROXY_FQIN, None),
    Setting::duration(keys::OVA_PROXY_ROUTE_TIMEOUT, "360s"),
    Setting::text(
        keys::OVIRT_OSMAP_CONFIGMAP_NAME,
        Some("forklift-ovirt-osmap"),
    ),
    Setting::quantity(keys::POPULATOR_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::POPULATOR_CONTAINER_LIMITS_MEMORY, "1Gi"),
    Setting::quantity(keys::POPULATOR_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::POPULATOR_CONTAINER_REQUESTS_MEMORY, "512Mi"),
    Setting::text(keys::POPULATOR_CONTROLLER_IMAGE_FQIN, None),
    Setting::text(keys::POPULATOR_OPENSTACK_IMAGE_FQIN, None),
    Setting::text(keys::POPULATOR_OVIRT_IMAGE_FQIN, None),
    Setting::text(keys::POPULATOR_VSPHERE_COPY_OFFLOAD_IMAGE_FQIN, None),
    Setting::quantity(keys::UI_PLUGIN_CONTAINER_LIMITS_CPU, "100m"),
    Setting::quantity(keys::UI_PLUGIN_CONTAINER_LIMITS_MEMORY, "800Mi"),
    Setting::quantity(keys::UI_PLUGIN_CONTAINER_REQUESTS_CPU, "100m"),
    Setting::quantity(keys::UI_PLUGIN_CONTAINER_REQUESTS_MEMORY, "150Mi"),
    Setting::text(keys::UI_PLUGIN_IMAGE_FQIN, None),
    Setting::quantity(keys::VALIDATION_CONTAINER_LIMITS_CPU, "1000m"),
    Setting::quantity(keys::VALIDATION_CONTAINER_LIMITS_MEMORY, "300Mi"),
    Setting::quantity(keys::VALIDATION_CONTAINER_REQUESTS_CPU, "400m"),
    Setting::quantity(keys::VALIDATION_CONTAINER_REQUESTS_MEMORY, "50Mi"),
    Setting::text(
        keys::VALIDATION_EXTRA_VOLUME_MOUNTPATH,
        Some("/usr/share/opa/policies/extra"),
    ),
    Setting::text(
        keys::VALIDATION_EXTRA_VOLUME_NAME,
        Some("validation-extra-rules"),
    ),
    Setting::text(keys::VALIDATION_IMAGE_FQIN, None),
    Setting::int(keys::VALIDATION_POLICY_AGENT_SEARCH_INTERVAL, 1, Some(120)),
    Setting::text(keys::VDDK_IMAGE, None),
    Setting::text(
        keys::VIRT_CUSTOMIZE_CONFIGMAP_NAME,
        Some("forklift-virt-customize"),
    ),
    Setting::quantity(keys::VIRT_V2V_CONTAINER_LIMITS_CPU, "4000m"),
    Setting::quantity(keys::VIRT_V2V_CONTAINER_LIMITS_MEMORY, "8Gi"),
    Setting::quantity(keys::VIRT_V2V_CONTAINER_REQUESTS_CPU, "1000m"),
    Setting::quantity(keys::VIRT_V2V_CONTAINER_REQUESTS_MEMORY, "1Gi"),
    Setting::flag(keys::VIRT_V2V_DONT_REQUEST_KVM, None),
    Setting::text(keys::VIRT_V2V_EXTRA_ARGS, None),
    Setting::text(keys::VIRT_V2V_EXTRA_CONF_CONFIG_MAP, None),
    Setting::text(keys::VIRT_V2V_IMAGE_FQIN, None),
    Setting::text(keys::VIRT_V2V_IMAGE_XFS_FQIN, None),
    Setting::text(keys::VIRT_V2V_INSPECTOR_EXTRA_ARGS, None),
    Setting::int(keys::VIRT_V2V_MEMSIZE, 1, None),
    Setting::int(keys::VIRT_V2V_SMP, 1, None),
    Setting::text(
        keys::VSPHERE_OSMAP_CONFIGMAP_NAME,
        Some("forklift-vsphere-osmap"),
    ),
    Setting::flag(keys::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION, Some(true)),
];

/// The catalogue entry of `key`.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// A setting whose value cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// The value has the wrong JSON type or does not parse.
    #[error(
        "ForkliftController setting {key} must be {expected}, found {found}; fix spec.{key} or remove it to use the default"
    )]
    Invalid {
        /// The key.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// What was found (the JSON value, truncated).
        found: String,
    },
    /// An integer below its minimum.
    #[error(
        "ForkliftController setting {key} must be >= {minimum}, found {value}; fix spec.{key} or remove it to use the default"
    )]
    BelowMinimum {
        /// The key.
        key: String,
        /// The minimum.
        minimum: i64,
        /// The value.
        value: i64,
    },
}

fn describe(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > 64 {
        let mut end = 64;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// `spec`: the open map of settings, with typed accessors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ForkliftControllerSpec(pub BTreeMap<String, Value>);

impl JsonSchema for ForkliftControllerSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ferry.ForkliftControllerSpec".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let properties: Map<String, Value> = SETTINGS
            .iter()
            .map(|s| {
                let mut schema = s.schema();
                // Declared CRD defaults survive schema normalization under this key.
                if let Some(default) = schema.as_object_mut().and_then(|o| o.remove("default")) {
                    schema[crate::schema::FERRY_DEFAULT] = default;
                }
                (s.key.to_string(), schema)
            })
            .collect();
        schemars::json_schema!({
            "description": "ForkliftControllerSpec defines the desired state of ForkliftController.",
            "type": "object",
            "properties": properties,
        })
    }
}

impl ForkliftControllerSpec {
    /// The raw value of a key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// Sets a key (as the API would store it).
    pub fn set(&mut self, key: &str, value: Value) {
        self.0.insert(key.to_string(), value);
    }

    fn invalid(key: &str, expected: &'static str, value: &Value) -> SettingError {
        SettingError::Invalid {
            key: key.to_string(),
            expected,
            found: describe(value),
        }
    }

    /// A string setting; absent falls back to the catalogue default (if any). Numbers
    /// and booleans are accepted and rendered as the operator's templates would.
    pub fn text(&self, key: &str) -> Result<Option<String>, SettingError> {
        match self.get(key) {
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(value @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(value.to_string())),
            Some(value) => Err(Self::invalid(key, "a string", value)),
            None => Ok(match setting(key).and_then(|s| s.default) {
                Some(SettingDefault::Text(text)) => Some(text.to_string()),
                Some(SettingDefault::Flag(flag)) => Some(flag.to_string()),
                Some(SettingDefault::Int(value)) => Some(value.to_string()),
                None => None,
            }),
        }
    }

    /// A non-empty string setting without a default (an empty string counts as unset).
    fn non_empty(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::String(text)) if !text.is_empty() => Some(text.as_str()),
            _ => None,
        }
    }

    /// An integer setting; absent falls back to the catalogue default. Values that are not
    /// integers, or are below the catalogue minimum, are errors (upstream's controller
    /// refuses to start on them). Numeric strings are accepted.
    pub fn int(&self, key: &str) -> Result<Option<i64>, SettingError> {
        let value = match self.get(key) {
            None => {
                return Ok(match setting(key).and_then(|s| s.default) {
                    Some(SettingDefault::Int(value)) => Some(value),
                    _ => None,
                });
            }
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        let Some(value) = value else {
            // The match above only yields None for values present but unusable.
            let found = self.get(key).cloned().unwrap_or(Value::Null);
            return Err(Self::invalid(key, "an integer", &found));
        };
        if let Some(SettingKind::Int { minimum }) = setting(key).map(|s| s.kind)
            && value < minimum
        {
            return Err(SettingError::BelowMinimum {
                key: key.to_string(),
                minimum,
                value,
            });
        }
        Ok(Some(value))
    }

    fn int_or(&self, key: &str, fallback: i64) -> Result<i64, SettingError> {
        Ok(self.int(key)?.unwrap_or(fallback))
    }

    /// A boolean flag, parsed like Go's `strconv.ParseBool`; absent or invalid values fall
    /// back to the catalogue default (false without one), as upstream does. Use
    /// [`Self::validate`] to report invalid values.
    pub fn flag(&self, key: &str) -> bool {
        let parsed = match self.get(key) {
            Some(Value::String(text)) => crate::strconv::parse_bool(text),
            Some(Value::Bool(flag)) => Some(*flag),
            _ => None,
        };
        parsed.unwrap_or(match setting(key).and_then(|s| s.default) {
            Some(SettingDefault::Flag(flag)) => flag,
            _ => false,
        })
    }

    /// Every present value that does not fit its catalogue entry (unknown keys are not
    /// errors: they are kept and ignored).
    pub fn validate(&self) -> Vec<SettingError> {
        let mut errors = Vec::new();
        for (key, value) in &self.0 {
            let Some(entry) = setting(key) else { continue };
            if value.is_null() {
                continue;
            }
            match entry.kind {
                SettingKind::Int { .. } => {
                    if let Err(error) = self.int(key) {
                        errors.push(error);
                    }
                }
                SettingKind::Flag => {
                    let ok = match value {
                        Value::String(text) => crate::strconv::parse_bool(text).is_some(),
                        Value::Bool(_) => true,
                        _ => false,
                    };
                    if !ok {
                        errors.push(Self::invalid(key, "\"true\" or \"false\"", value));
                    }
                }
                SettingKind::Choice(values) => {
                    if !value.as_str().is_some_and(|v| values.contains(&v)) {
                        errors.push(Self::invalid(key, "one of the allowed values", value));
                    }
                }
                SettingKind::Text
                | SettingKind::Quantity
                | SettingKind::Duration
                | SettingKind::Template => {
                    if let Err(error) = self.text(key) {
                        errors.push(error);
                    }
                }
            }
        }
        errors
    }

    /// `controller_max_vm_inflight` (default 20): VMs migrating at once, per provider or
    /// ESXi host.
    pub fn max_vm_inflight(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_MAX_VM_INFLIGHT, 20)
    }

    /// `controller_max_concurrent_reconciles` (default 10).
    pub fn max_concurrent_reconciles(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_MAX_CONCURRENT_RECONCILES, 10)
    }

    /// `controller_precopy_interval` in minutes (default 60).
    pub fn precopy_interval_minutes(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_PRECOPY_INTERVAL, 60)
    }

    /// `controller_blocker_grace_period_minutes` (default 5).
    pub fn blocker_grace_period_minutes(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_BLOCKER_GRACE_PERIOD_MINUTES, 5)
    }

    /// `controller_cleanup_retries` (default 10).
    pub fn cleanup_retries(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_CLEANUP_RETRIES, 10)
    }

    /// `controller_max_parent_backing_retries` (default 10).
    pub fn max_parent_backing_retries(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_MAX_PARENT_BACKING_RETRIES, 10)
    }

    /// `controller_vddk_job_active_deadline_sec` (default 300).
    pub fn vddk_job_active_deadline_seconds(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_VDDK_JOB_ACTIVE_DEADLINE_SEC, 300)
    }

    /// `controller_windows_reboot_timeout` in seconds (default 1800).
    pub fn windows_reboot_timeout_seconds(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_WINDOWS_REBOOT_TIMEOUT, 1800)
    }

    /// `controller_tls_connection_timeout_sec` (default 5).
    pub fn tls_connection_timeout_seconds(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_TLS_CONNECTION_TIMEOUT_SEC, 5)
    }

    /// `controller_filesystem_overhead` in percent (default 10).
    pub fn filesystem_overhead_percent(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_FILESYSTEM_OVERHEAD, 10)
    }

    /// `controller_block_overhead` in bytes (default 0).
    pub fn block_overhead_bytes(&self) -> Result<i64, SettingError> {
        self.int_or(keys::CONTROLLER_BLOCK_OVERHEAD, 0)
    }

    /// `vddk_image`: the global VDDK image (no default).
    pub fn vddk_image(&self) -> Option<&str> {
        self.non_empty(keys::VDDK_IMAGE)
    }

    /// `controller_migration_service_account`: default ServiceAccount of migration pods.
    pub fn migration_service_account(&self) -> Option<&str> {
        self.non_empty(keys::CONTROLLER_MIGRATION_SERVICE_ACCOUNT)
    }

    /// `controller_transfer_network`.
    pub fn transfer_network(&self) -> Option<&str> {
        self.non_empty(keys::CONTROLLER_TRANSFER_NETWORK)
    }

    /// `controller_pvc_name_template` with the operator's `\{`, `\}` and `\\` escapes
    /// undone.
    pub fn pvc_name_template(&self) -> Option<String> {
        self.non_empty(keys::CONTROLLER_PVC_NAME_TEMPLATE)
            .map(unescape_template)
    }

    /// `controller_ocp_pvc_name_template`, unescaped like [`Self::pvc_name_template`].
    pub fn ocp_pvc_name_template(&self) -> Option<String> {
        self.non_empty(keys::CONTROLLER_OCP_PVC_NAME_TEMPLATE)
            .map(unescape_template)
    }

    /// `virt_v2v_extra_args`, split on whitespace.
    pub fn virt_v2v_extra_args(&self) -> Vec<String> {
        self.non_empty(keys::VIRT_V2V_EXTRA_ARGS)
            .map(|args| args.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// `aap_url`: the cluster-wide Ansible Automation Platform URL.
    pub fn aap_url(&self) -> Option<&str> {
        self.non_empty(keys::AAP_URL)
    }

    /// `aap_token_secret_name`: Secret with the AAP token (key `token`).
    pub fn aap_token_secret_name(&self) -> Option<&str> {
        self.non_empty(keys::AAP_TOKEN_SECRET_NAME)
    }

    /// `aap_ca_secret_name`: Secret with a CA for AAP (key `ca.crt`).
    pub fn aap_ca_secret_name(&self) -> Option<&str> {
        self.non_empty(keys::AAP_CA_SECRET_NAME)
    }

    /// `aap_timeout` in seconds (no default).
    pub fn aap_timeout_seconds(&self) -> Result<Option<i64>, SettingError> {
        self.int(keys::AAP_TIMEOUT)
    }

    /// `aap_insecure_skip_verify` (default false).
    pub fn aap_insecure_skip_verify(&self) -> bool {
        self.flag(keys::AAP_INSECURE_SKIP_VERIFY)
    }

    /// Whether the cluster-wide AAP connection is configured (URL and token Secret).
    pub fn aap_configured(&self) -> bool {
        self.aap_url().is_some() && self.aap_token_secret_name().is_some()
    }

    /// `feature_use_conversion_cr` (default true): delegate conversion to Conversion CRs.
    pub fn feature_use_conversion_cr(&self) -> bool {
        self.flag(keys::FEATURE_USE_CONVERSION_CR)
    }

    /// `feature_windows_wait_for_reboot` (default true).
    pub fn feature_windows_wait_for_reboot(&self) -> bool {
        self.flag(keys::FEATURE_WINDOWS_WAIT_FOR_REBOOT)
    }

    /// `feature_copy_offload` (CRD default true).
    pub fn feature_copy_offload(&self) -> bool {
        self.flag(keys::FEATURE_COPY_OFFLOAD)
    }

    /// `feature_ocp_live_migration` (CRD default true).
    pub fn feature_ocp_live_migration(&self) -> bool {
        self.flag(keys::FEATURE_OCP_LIVE_MIGRATION)
    }

    /// `feature_validation` (default true).
    pub fn feature_validation(&self) -> bool {
        self.flag(keys::FEATURE_VALIDATION)
    }

    /// `feature_volume_populator` (default true).
    pub fn feature_volume_populator(&self) -> bool {
        self.flag(keys::FEATURE_VOLUME_POPULATOR)
    }

    /// `feature_vmware_system_serial_number` (default true).
    pub fn feature_vmware_system_serial_number(&self) -> bool {
        self.flag(keys::FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER)
    }

    /// `controller_ovirt_warm_migration` (CRD default true).
    pub fn ovirt_warm_migration(&self) -> bool {
        self.flag(keys::CONTROLLER_OVIRT_WARM_MIGRATION)
    }

    /// `controller_static_udn_ip_addresses` (CRD default true).
    pub fn static_udn_ip_addresses(&self) -> bool {
        self.flag(keys::CONTROLLER_STATIC_UDN_IP_ADDRESSES)
    }

    /// `controller_retain_precopy_importer_pods` (default false).
    pub fn retain_precopy_importer_pods(&self) -> bool {
        self.flag(keys::CONTROLLER_RETAIN_PRECOPY_IMPORTER_PODS)
    }

    /// `controller_retain_populator_pods` (default false).
    pub fn retain_populator_pods(&self) -> bool {
        self.flag(keys::CONTROLLER_RETAIN_POPULATOR_PODS)
    }

    /// `controller_vsphere_incremental_backup` (CRD default true).
    pub fn vsphere_incremental_backup(&self) -> bool {
        self.flag(keys::CONTROLLER_VSPHERE_INCREMENTAL_BACKUP)
    }

    /// `wait_for_final_snapshot_consolidation` (default true).
    pub fn wait_for_final_snapshot_consolidation(&self) -> bool {
        self.flag(keys::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION)
    }

    /// `virt_v2v_dont_request_kvm` (default false).
    pub fn virt_v2v_dont_request_kvm(&self) -> bool {
        self.flag(keys::VIRT_V2V_DONT_REQUEST_KVM)
    }
}

/// Undoes the operator's escapes in PVC name templates: `\{` → `{`, `\}` → `}`,
/// `\\` → `\`.
pub fn unescape_template(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('{' | '}' | '\\')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `status`: managed by the (Ansible) operator; any fields are kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ForkliftControllerStatus(pub BTreeMap<String, Value>);

impl JsonSchema for ForkliftControllerStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ferry.ForkliftControllerStatus".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = crate::schema::preserve_unknown_fields(generator);
        schema.insert(
            "description".into(),
            json!("Managed by the operator; may contain arbitrary fields."),
        );
        schema
    }
}

forklift_kind! {
    /// The operator's configuration. Ferry reads the settings in `spec`.
    pub struct ForkliftController {
        kind: "ForkliftController",
        plural: "forkliftcontrollers",
        spec: ForkliftControllerSpec,
        status: ForkliftControllerStatus
    }
}

#[cfg(test)]
mod tests;
