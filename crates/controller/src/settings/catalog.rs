//! Every setting Ferry reads: its environment variable (upstream's name), the
//! ForkliftController key that feeds it, its type, default and meaning. The typed
//! [`super::Settings`] is loaded from this table and `docs/settings.md` is rendered from
//! it, so the two cannot drift apart.

use ferry_api::forklift_controller::keys;

/// The type of a setting's value, with its parsing rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A decimal integer; a value that does not parse, or is below `minimum`, stops the
    /// controller with upstream's message (`<NAME> must be an integer`,
    /// `<NAME> must be >= <minimum>`).
    Int {
        /// The smallest valid value.
        minimum: i64,
    },
    /// Go's `strconv.ParseBool`; an invalid value keeps the default.
    Bool,
    /// Free text.
    Text,
    /// A Kubernetes resource quantity, passed through to pod specs.
    Quantity,
    /// A size in bytes: a quantity (`512Mi`, `1G`, `1024`); invalid values stop the
    /// controller.
    Bytes,
    /// Whitespace-separated arguments.
    Args,
    /// A Go template in which `\{`, `\}` and `\\` are escaped (the ForkliftController
    /// CRD requires it); unescaped on load.
    Template,
}

impl Kind {
    /// How the type reads in the settings table.
    pub fn describe(self) -> String {
        match self {
            Self::Int { minimum } => format!("integer ≥ {minimum}"),
            Self::Bool => "boolean".into(),
            Self::Text => "string".into(),
            Self::Quantity => "quantity".into(),
            Self::Bytes => "bytes (quantity)".into(),
            Self::Args => "arguments".into(),
            Self::Template => "Go template (escaped braces)".into(),
        }
    }
}

/// Which part of Ferry a setting concerns (the sections of `docs/settings.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// The manager itself: concurrency, namespaces, metrics, logging, leader election.
    Manager,
    /// Migration execution (the plan controller).
    Migration,
    /// Container images.
    Images,
    /// Pod resource requests and limits.
    Resources,
    /// Feature gates.
    Features,
    /// Ansible Automation Platform hooks.
    Aap,
    /// The OVA provider's catalog (Ferry-specific).
    Ova,
}

impl Group {
    /// Every group, in document order.
    pub const ALL: [Group; 7] = [
        Group::Manager,
        Group::Migration,
        Group::Images,
        Group::Resources,
        Group::Features,
        Group::Aap,
        Group::Ova,
    ];

    /// The section title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Manager => "Manager",
            Self::Migration => "Migration",
            Self::Images => "Images",
            Self::Resources => "Pod resources",
            Self::Features => "Feature gates",
            Self::Aap => "Ansible Automation Platform",
            Self::Ova => "OVA catalog (Ferry)",
        }
    }
}

/// One setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The environment variable (upstream's name; `FERRY_*` for Ferry's own).
    pub env: &'static str,
    /// The ForkliftController `spec` key that feeds it, if any.
    pub key: Option<&'static str>,
    /// The value type.
    pub kind: Kind,
    /// The default when neither the environment nor a ForkliftController sets it
    /// (upstream's Go default), as text.
    pub default: &'static str,
    /// The section.
    pub group: Group,
    /// What it is for.
    pub doc: &'static str,
}

const fn entry(
    env: &'static str,
    key: Option<&'static str>,
    kind: Kind,
    default: &'static str,
    group: Group,
    doc: &'static str,
) -> Entry {
    Entry {
        env,
        key,
        kind,
        default,
        group,
        doc,
    }
}

const fn int(minimum: i64) -> Kind {
    Kind::Int { minimum }
}

use Group::{Aap, Features, Images, Manager, Migration, Ova, Resources};
use Kind::{Args, Bool, Bytes, Quantity, Template, Text};

/// The catalogue, in document order.
pub const CATALOG: &[Entry] = &[
    // --- Manager ---
    entry(
        "MAX_CONCURRENT_RECONCILES",
        Some(keys::CONTROLLER_MAX_CONCURRENT_RECONCILES),
        int(1),
        "10",
        Manager,
        "Reconciles running at once per controller (the plan and migration controllers; the others use it too).",
    ),
    entry(
        "POD_NAMESPACE",
        None,
        Text,
        "",
        Manager,
        "The namespace Ferry runs in (from the Downward API): where it looks for the ForkliftController, the leader-election Lease and the AAP secrets.",
    ),
    entry(
        "FERRY_WATCH_NAMESPACE",
        None,
        Text,
        "",
        Manager,
        "Watch Forklift objects in this namespace only; empty watches every namespace (as Forklift does).",
    ),
    entry(
        "METRICS_PORT",
        None,
        int(0),
        "8080",
        Manager,
        "Port of the HTTP server with `/metrics`, `/healthz` and `/readyz`; 0 picks a free port (tests).",
    ),
    entry(
        "LOG_LEVEL",
        Some(keys::CONTROLLER_LOG_LEVEL),
        int(0),
        "0",
        Manager,
        "Verbosity: up to 3 info (upstream's operator renders 3), 4 to 6 debug, 7 and above trace. `RUST_LOG` overrides it when set.",
    ),
    entry(
        "LOG_DEVELOPMENT",
        None,
        Bool,
        "false",
        Manager,
        "Human-readable, colourless text logs with source locations (otherwise `FERRY_LOG_FORMAT` decides).",
    ),
    entry(
        "FERRY_LOG_FORMAT",
        None,
        Text,
        "text",
        Manager,
        "`text` or `json` (one JSON object per line, with the object's namespace and name as fields).",
    ),
    entry(
        "FERRY_LEADER_ELECTION",
        None,
        Bool,
        "false",
        Manager,
        "Run the controllers only while holding a coordination.k8s.io/v1 Lease in `POD_NAMESPACE` (for several replicas).",
    ),
    entry(
        "FERRY_LEADER_ELECTION_LEASE",
        None,
        Text,
        "ferry-controller",
        Manager,
        "The Lease's name.",
    ),
    entry(
        "FERRY_PLAN_DEBOUNCE_MILLISECONDS",
        None,
        int(0),
        "100",
        Manager,
        "The plan controller's debounce: a change after this long without changes reconciles the Plan at once; changes that follow within it (progress updates of the objects it created) fold into one reconcile this long after the last of them, and under a steady stream a Plan still reconciles every 10 times this long.",
    ),
    entry(
        "OPENSHIFT",
        Some(keys::K8S_CLUSTER),
        Bool,
        "false",
        Manager,
        "The cluster is OpenShift (seccomp profile of migration pods). From the ForkliftController it is the inverse of `k8s_cluster`.",
    ),
    entry(
        "OPENSHIFT_VERSION",
        None,
        Text,
        "",
        Manager,
        "The OpenShift version; features that need OpenShift ≥ 4.20 are off when it is lower or unset.",
    ),
    // --- Migration ---
    entry(
        "MAX_VM_INFLIGHT",
        Some(keys::CONTROLLER_MAX_VM_INFLIGHT),
        int(1),
        "20",
        Migration,
        "VMs migrating at once.",
    ),
    entry(
        "PRECOPY_INTERVAL",
        Some(keys::CONTROLLER_PRECOPY_INTERVAL),
        int(1),
        "60",
        Migration,
        "Minutes between warm-migration precopies.",
    ),
    entry(
        "BLOCKER_GRACE_PERIOD_MINUTES",
        Some(keys::CONTROLLER_BLOCKER_GRACE_PERIOD_MINUTES),
        int(1),
        "5",
        Migration,
        "How long a Critical or Error condition may last during an execution before it fails the migration.",
    ),
    entry(
        "HOOK_RETRY",
        None,
        int(1),
        "3",
        Migration,
        "Attempts of a hook Job.",
    ),
    entry(
        "IMPORTER_RETRY",
        None,
        int(1),
        "3",
        Migration,
        "Restarts of a CDI importer pod before the VM fails.",
    ),
    entry(
        "CLEANUP_RETRIES",
        Some(keys::CONTROLLER_CLEANUP_RETRIES),
        int(1),
        "10",
        Migration,
        "Attempts to clean up source-side volumes (OpenStack).",
    ),
    entry(
        "SNAPSHOT_REMOVAL_TIMEOUT",
        None,
        int(1),
        "120",
        Migration,
        "Minutes to wait for a snapshot removal (oVirt). Upstream's operator renders `SNAPSHOT_REMOVAL_TIMEOUT_MINUTES`, which is never read.",
    ),
    entry(
        "SNAPSHOT_STATUS_CHECK_RATE",
        None,
        int(1),
        "10",
        Migration,
        "Seconds between snapshot status checks (oVirt).",
    ),
    entry(
        "SNAPSHOT_REMOVAL_CHECK_RETRIES",
        Some(keys::CONTROLLER_SNAPSHOT_REMOVAL_CHECK_RETRIES),
        int(1),
        "20",
        Migration,
        "Snapshot removal checks (declared upstream, unused).",
    ),
    entry(
        "MAX_PARENT_BACKING_RETRIES",
        Some(keys::CONTROLLER_MAX_PARENT_BACKING_RETRIES),
        int(1),
        "10",
        Migration,
        "Attempts to read a disk's parent backing (vSphere).",
    ),
    entry(
        "VDDK_JOB_ACTIVE_DEADLINE",
        Some(keys::CONTROLLER_VDDK_JOB_ACTIVE_DEADLINE_SEC),
        int(1),
        "300",
        Migration,
        "Seconds the VDDK validation Job may run.",
    ),
    entry(
        "CONTROLLER_WINDOWS_REBOOT_TIMEOUT",
        Some(keys::CONTROLLER_WINDOWS_REBOOT_TIMEOUT),
        int(1),
        "1800",
        Migration,
        "Seconds to wait for a Windows guest's first-boot reboots.",
    ),
    entry(
        "TLS_CONNECTION_TIMEOUT",
        Some(keys::CONTROLLER_TLS_CONNECTION_TIMEOUT_SEC),
        int(1),
        "5",
        Migration,
        "Seconds before a TLS dial to a source gives up.",
    ),
    entry(
        "CDI_EXPORT_TOKEN_TTL",
        None,
        int(1),
        "720",
        Migration,
        "Minutes a VirtualMachineExport token lives (OpenShift sources).",
    ),
    entry(
        "FILESYSTEM_OVERHEAD",
        Some(keys::CONTROLLER_FILESYSTEM_OVERHEAD),
        int(0),
        "10",
        Migration,
        "Percent added to filesystem-mode PVCs.",
    ),
    entry(
        "BLOCK_OVERHEAD",
        Some(keys::CONTROLLER_BLOCK_OVERHEAD),
        Bytes,
        "0",
        Migration,
        "Bytes added to block-mode PVCs.",
    ),
    entry(
        "CONVERSION_POD_PENDING_TIMEOUT",
        None,
        int(0),
        "5",
        Migration,
        "Minutes a conversion pod may stay Pending before the VM fails; 0 waits forever.",
    ),
    entry(
        "STALE_CONVERSION_TIMEOUT",
        None,
        int(1),
        "180",
        Migration,
        "Seconds to wait for a stale conversion to terminate before force-deleting it (resumed conversions).",
    ),
    entry(
        "MIGRATION_SERVICE_ACCOUNT",
        Some(keys::CONTROLLER_MIGRATION_SERVICE_ACCOUNT),
        Text,
        "",
        Migration,
        "Default ServiceAccount of migration pods in the target namespace (a plan's `serviceAccount` overrides it).",
    ),
    entry(
        "PVC_NAME_TEMPLATE",
        Some(keys::CONTROLLER_PVC_NAME_TEMPLATE),
        Template,
        "",
        Migration,
        "Default PVC name template for non-OpenShift sources.",
    ),
    entry(
        "OCP_PVC_NAME_TEMPLATE",
        Some(keys::CONTROLLER_OCP_PVC_NAME_TEMPLATE),
        Template,
        "",
        Migration,
        "Default PVC name template for OpenShift sources.",
    ),
    entry(
        "OVIRT_OS_MAP",
        Some(keys::OVIRT_OSMAP_CONFIGMAP_NAME),
        Text,
        "",
        Migration,
        "ConfigMap mapping oVirt OS names to KubeVirt preferences.",
    ),
    entry(
        "VSPHERE_OS_MAP",
        Some(keys::VSPHERE_OSMAP_CONFIGMAP_NAME),
        Text,
        "",
        Migration,
        "ConfigMap mapping vSphere guest IDs to KubeVirt preferences.",
    ),
    entry(
        "VIRT_CUSTOMIZE_MAP",
        Some(keys::VIRT_CUSTOMIZE_CONFIGMAP_NAME),
        Text,
        "",
        Migration,
        "ConfigMap of virt-customize scripts.",
    ),
    entry(
        "NAA_OUI_MAP",
        Some(keys::NAA_OUI_MAP_CONFIGMAP_NAME),
        Text,
        "",
        Migration,
        "ConfigMap mapping storage vendors to NAA prefixes (vSphere RDM).",
    ),
    entry(
        "HOST_LEASE_NAMESPACE",
        None,
        Text,
        "openshift-mtv",
        Migration,
        "Namespace of the ESXi host Leases used by copy offload.",
    ),
    entry(
        "HOST_LEASE_DURATION_SECONDS",
        None,
        Text,
        "10",
        Migration,
        "Duration of those Leases, in seconds.",
    ),
    entry(
        "VIRT_V2V_EXTRA_ARGS",
        Some(keys::VIRT_V2V_EXTRA_ARGS),
        Args,
        "",
        Migration,
        "Extra virt-v2v arguments.",
    ),
    entry(
        "VIRT_V2V_INSPECTOR_EXTRA_ARGS",
        Some(keys::VIRT_V2V_INSPECTOR_EXTRA_ARGS),
        Args,
        "",
        Migration,
        "Extra virt-v2v-inspector arguments.",
    ),
    entry(
        "VIRT_V2V_EXTRA_CONF_CONFIG_MAP",
        Some(keys::VIRT_V2V_EXTRA_CONF_CONFIG_MAP),
        Text,
        "",
        Migration,
        "ConfigMap mounted into virt-v2v pods as extra configuration.",
    ),
    entry(
        "VIRT_V2V_MEMSIZE",
        Some(keys::VIRT_V2V_MEMSIZE),
        int(0),
        "0",
        Migration,
        "Memory (MB) of the virt-v2v appliance; 0 is virt-v2v's default.",
    ),
    entry(
        "VIRT_V2V_SMP",
        Some(keys::VIRT_V2V_SMP),
        int(0),
        "0",
        Migration,
        "vCPUs of the virt-v2v appliance; 0 is virt-v2v's default.",
    ),
    entry(
        "VIRT_V2V_DONT_REQUEST_KVM",
        Some(keys::VIRT_V2V_DONT_REQUEST_KVM),
        Bool,
        "false",
        Migration,
        "Do not request `/dev/kvm` for virt-v2v pods (nested or emulated clusters).",
    ),
    entry(
        "WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION",
        Some(keys::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION),
        Bool,
        "true",
        Migration,
        "Wait for the final snapshot's removal and consolidation at a vSphere warm cutover.",
    ),
    // --- Images ---
    entry(
        "VIRT_V2V_IMAGE",
        Some(keys::VIRT_V2V_IMAGE_FQIN),
        Text,
        "",
        Images,
        "Image of virt-v2v, PVC-binding and wait-for-reboot pods. Upstream refuses to start without it; Ferry starts and reports it on the plans that need it.",
    ),
    entry(
        "VIRT_V2V_IMAGE_XFS",
        Some(keys::VIRT_V2V_IMAGE_XFS_FQIN),
        Text,
        "",
        Images,
        "virt-v2v image used for plans with `xfsCompatibility`.",
    ),
    entry(
        "DEEP_INSPECTION_IMAGE",
        Some(keys::DEEP_INSPECTION_IMAGE_FQIN),
        Text,
        "",
        Images,
        "Image of deep-inspection pods.",
    ),
    entry(
        "DEEP_INSPECTION_IMAGE_XFS",
        Some(keys::DEEP_INSPECTION_IMAGE_XFS_FQIN),
        Text,
        "",
        Images,
        "Deep-inspection image used with `xfsCompatibility`.",
    ),
    entry(
        "VDDK_IMAGE",
        Some(keys::VDDK_IMAGE),
        Text,
        "",
        Images,
        "Default VDDK image (a vSphere provider's `vddkInitImage` overrides it).",
    ),
    // --- Resources ---
    entry(
        "VIRT_V2V_CONTAINER_LIMITS_CPU",
        Some(keys::VIRT_V2V_CONTAINER_LIMITS_CPU),
        Quantity,
        "4000m",
        Resources,
        "virt-v2v CPU limit.",
    ),
    entry(
        "VIRT_V2V_CONTAINER_LIMITS_MEMORY",
        Some(keys::VIRT_V2V_CONTAINER_LIMITS_MEMORY),
        Quantity,
        "8Gi",
        Resources,
        "virt-v2v memory limit.",
    ),
    entry(
        "VIRT_V2V_CONTAINER_REQUESTS_CPU",
        Some(keys::VIRT_V2V_CONTAINER_REQUESTS_CPU),
        Quantity,
        "1000m",
        Resources,
        "virt-v2v CPU request.",
    ),
    entry(
        "VIRT_V2V_CONTAINER_REQUESTS_MEMORY",
        Some(keys::VIRT_V2V_CONTAINER_REQUESTS_MEMORY),
        Quantity,
        "1Gi",
        Resources,
        "virt-v2v memory request.",
    ),
    entry(
        "HOOKS_CONTAINER_LIMITS_CPU",
        Some(keys::HOOKS_CONTAINER_LIMITS_CPU),
        Quantity,
        "1000m",
        Resources,
        "Hook CPU limit.",
    ),
    entry(
        "HOOKS_CONTAINER_LIMITS_MEMORY",
        Some(keys::HOOKS_CONTAINER_LIMITS_MEMORY),
        Quantity,
        "1Gi",
        Resources,
        "Hook memory limit.",
    ),
    entry(
        "HOOKS_CONTAINER_REQUESTS_CPU",
        Some(keys::HOOKS_CONTAINER_REQUESTS_CPU),
        Quantity,
        "100m",
        Resources,
        "Hook CPU request.",
    ),
    entry(
        "HOOKS_CONTAINER_REQUESTS_MEMORY",
        Some(keys::HOOKS_CONTAINER_REQUESTS_MEMORY),
        Quantity,
        "150Mi",
        Resources,
        "Hook memory request.",
    ),
    entry(
        "OVA_CONTAINER_LIMITS_CPU",
        Some(keys::OVA_CONTAINER_LIMITS_CPU),
        Quantity,
        "1000m",
        Resources,
        "OVA provider server CPU limit (Ferry reads catalogs in process; kept for compatibility).",
    ),
    entry(
        "OVA_CONTAINER_LIMITS_MEMORY",
        Some(keys::OVA_CONTAINER_LIMITS_MEMORY),
        Quantity,
        "1Gi",
        Resources,
        "OVA provider server memory limit.",
    ),
    entry(
        "OVA_CONTAINER_REQUESTS_CPU",
        Some(keys::OVA_CONTAINER_REQUESTS_CPU),
        Quantity,
        "100m",
        Resources,
        "OVA provider server CPU request.",
    ),
    entry(
        "OVA_CONTAINER_REQUESTS_MEMORY",
        Some(keys::OVA_CONTAINER_REQUESTS_MEMORY),
        Quantity,
        "512Mi",
        Resources,
        "OVA provider server memory request.",
    ),
    entry(
        "HYPERV_CONTAINER_LIMITS_CPU",
        None,
        Quantity,
        "1000m",
        Resources,
        "Hyper-V provider server CPU limit (not rendered by upstream's operator).",
    ),
    entry(
        "HYPERV_CONTAINER_LIMITS_MEMORY",
        None,
        Quantity,
        "1Gi",
        Resources,
        "Hyper-V provider server memory limit.",
    ),
    entry(
        "HYPERV_CONTAINER_REQUESTS_CPU",
        None,
        Quantity,
        "100m",
        Resources,
        "Hyper-V provider server CPU request.",
    ),
    entry(
        "HYPERV_CONTAINER_REQUESTS_MEMORY",
        None,
        Quantity,
        "512Mi",
        Resources,
        "Hyper-V provider server memory request.",
    ),
    entry(
        "POPULATOR_CONTAINER_LIMITS_CPU",
        Some(keys::POPULATOR_CONTAINER_LIMITS_CPU),
        Quantity,
        "1000m",
        Resources,
        "Volume populator CPU limit.",
    ),
    entry(
        "POPULATOR_CONTAINER_LIMITS_MEMORY",
        Some(keys::POPULATOR_CONTAINER_LIMITS_MEMORY),
        Quantity,
        "1Gi",
        Resources,
        "Volume populator memory limit.",
    ),
    entry(
        "POPULATOR_CONTAINER_REQUESTS_CPU",
        Some(keys::POPULATOR_CONTAINER_REQUESTS_CPU),
        Quantity,
        "100m",
        Resources,
        "Volume populator CPU request.",
    ),
    entry(
        "POPULATOR_CONTAINER_REQUESTS_MEMORY",
        Some(keys::POPULATOR_CONTAINER_REQUESTS_MEMORY),
        Quantity,
        "512Mi",
        Resources,
        "Volume populator memory request.",
    ),
    entry(
        "NETAPP_SHIFT_DISK_PERMS_INIT_REQUESTS_CPU",
        None,
        Quantity,
        "10m",
        Resources,
        "NetApp Shift disk-permissions init container CPU request.",
    ),
    entry(
        "NETAPP_SHIFT_DISK_PERMS_INIT_REQUESTS_MEMORY",
        None,
        Quantity,
        "32Mi",
        Resources,
        "NetApp Shift disk-permissions init container memory request.",
    ),
    entry(
        "NETAPP_SHIFT_DISK_PERMS_INIT_LIMITS_CPU",
        None,
        Quantity,
        "200m",
        Resources,
        "NetApp Shift disk-permissions init container CPU limit.",
    ),
    entry(
        "NETAPP_SHIFT_DISK_PERMS_INIT_LIMITS_MEMORY",
        None,
        Quantity,
        "64Mi",
        Resources,
        "NetApp Shift disk-permissions init container memory limit.",
    ),
    // --- Features ---
    entry(
        "FEATURE_USE_CONVERSION_CR",
        Some(keys::FEATURE_USE_CONVERSION_CR),
        Bool,
        "true",
        Features,
        "Run guest conversions through `Conversion` resources (otherwise as pods directly).",
    ),
    entry(
        "FEATURE_WINDOWS_WAIT_FOR_REBOOT",
        Some(keys::FEATURE_WINDOWS_WAIT_FOR_REBOOT),
        Bool,
        "true",
        Features,
        "Wait for Windows guests' first-boot reboots before completing.",
    ),
    entry(
        "FEATURE_COPY_OFFLOAD",
        Some(keys::FEATURE_COPY_OFFLOAD),
        Bool,
        "false",
        Features,
        "vSphere storage copy offload (XCOPY populators).",
    ),
    entry(
        "FEATURE_OVIRT_WARM_MIGRATION",
        Some(keys::CONTROLLER_OVIRT_WARM_MIGRATION),
        Bool,
        "false",
        Features,
        "Warm migration from oVirt.",
    ),
    entry(
        "FEATURE_OCP_LIVE_MIGRATION",
        Some(keys::FEATURE_OCP_LIVE_MIGRATION),
        Bool,
        "false",
        Features,
        "Live migration between OpenShift clusters.",
    ),
    entry(
        "FEATURE_STATIC_UDN_IP_ADDRESSES",
        Some(keys::CONTROLLER_STATIC_UDN_IP_ADDRESSES),
        Bool,
        "false",
        Features,
        "Keep static IPs on user-defined networks (needs OpenShift ≥ 4.20).",
    ),
    entry(
        "FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER",
        Some(keys::FEATURE_VMWARE_SYSTEM_SERIAL_NUMBER),
        Bool,
        "true",
        Features,
        "VMware-format firmware serial numbers (needs OpenShift ≥ 4.20).",
    ),
    entry(
        "FEATURE_RETAIN_PRECOPY_IMPORTER_PODS",
        Some(keys::CONTROLLER_RETAIN_PRECOPY_IMPORTER_PODS),
        Bool,
        "false",
        Features,
        "Keep CDI importer pods between warm precopies.",
    ),
    entry(
        "FEATURE_RETAIN_POPULATOR_PODS",
        Some(keys::CONTROLLER_RETAIN_POPULATOR_PODS),
        Bool,
        "false",
        Features,
        "Keep populator pods after a migration (debugging).",
    ),
    entry(
        "FEATURE_VSPHERE_INCREMENTAL_BACKUP",
        Some(keys::CONTROLLER_VSPHERE_INCREMENTAL_BACKUP),
        Bool,
        "false",
        Features,
        "vSphere incremental backup for warm migrations.",
    ),
    entry(
        "FEATURE_VSPHERE_VMWARE_DRIVER_REMOVAL",
        Some(keys::FEATURE_VSPHERE_VMWARE_DRIVER_REMOVAL),
        Bool,
        "false",
        Features,
        "Remove VMware drivers during conversion.",
    ),
    entry(
        "FEATURE_WINDOWS_REGISTRY_NETWORK_CONFIG",
        Some(keys::FEATURE_WINDOWS_REGISTRY_NETWORK_CONFIG),
        Bool,
        "false",
        Features,
        "Configure Windows networking through the registry.",
    ),
    entry(
        "FEATURE_XFS_REPAIR_IGNORE",
        Some(keys::FEATURE_XFS_REPAIR_IGNORE),
        Bool,
        "false",
        Features,
        "Ignore xfs_repair failures during conversion.",
    ),
    entry(
        "FEATURE_OVF_APPLIANCE_MANAGEMENT",
        Some(keys::FEATURE_OVA_APPLIANCE_MANAGEMENT),
        Bool,
        "false",
        Features,
        "Appliance upload and listing endpoints of OVA providers.",
    ),
    // --- AAP ---
    entry(
        "AAP_URL",
        Some(keys::AAP_URL),
        Text,
        "",
        Aap,
        "Cluster-wide AAP base URL for hooks with `spec.aap`.",
    ),
    entry(
        "AAP_TOKEN_SECRET_NAME",
        Some(keys::AAP_TOKEN_SECRET_NAME),
        Text,
        "",
        Aap,
        "Secret (in `POD_NAMESPACE`, key `token`) with the AAP token.",
    ),
    entry(
        "AAP_TIMEOUT",
        Some(keys::AAP_TIMEOUT),
        int(0),
        "0",
        Aap,
        "Default seconds to wait for an AAP job; 0 waits without limit.",
    ),
    entry(
        "AAP_INSECURE_SKIP_VERIFY",
        Some(keys::AAP_INSECURE_SKIP_VERIFY),
        Bool,
        "false",
        Aap,
        "Skip TLS verification of AAP.",
    ),
    entry(
        "AAP_CA_SECRET_NAME",
        Some(keys::AAP_CA_SECRET_NAME),
        Text,
        "",
        Aap,
        "Secret (in `POD_NAMESPACE`, key `ca.crt`) with AAP's CA.",
    ),
    // --- OVA ---
    entry(
        "FERRY_OVA_MOUNT_ROOT",
        None,
        Text,
        "/var/lib/ferry/ova",
        Ova,
        "Where OVA providers' NFS exports are mounted on Ferry's machine: `server:/export/path` is read from `<root>/<server>/export/path`.",
    ),
    entry(
        "FERRY_OVA_SHARES",
        None,
        Text,
        "",
        Ova,
        "Explicit export-to-directory mappings, `server:/path=/local/dir`, separated by `;`; checked before `FERRY_OVA_MOUNT_ROOT` (the sandbox maps its exports this way).",
    ),
    entry(
        "FERRY_OVA_CATALOG_PATH",
        None,
        Text,
        "/ova",
        Ova,
        "Where conversion pods mount the export; inventory paths and disk IDs start with it (keep `/ova` for IDs that match Forklift's). `local` uses the local directory itself (the sandbox).",
    ),
    entry(
        "FERRY_OVA_SETTLE_SECONDS",
        None,
        int(0),
        "30",
        Ova,
        "An appliance is read only once it has not changed for this long (upstream: 30 s).",
    ),
    entry(
        "FERRY_OVA_RESCAN_SECONDS",
        None,
        int(1),
        "10",
        Ova,
        "How often a catalog is rescanned (a local walk: NFS gives no change notifications).",
    ),
];

/// The catalogue entry for an environment variable.
pub fn find(env: &str) -> Option<&'static Entry> {
    CATALOG.iter().find(|entry| entry.env == env)
}
