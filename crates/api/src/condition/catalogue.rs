//! The catalogue of condition statuses, categories, types and reasons Forklift uses, with
//! upstream's exact spelling. Grouped by the controller that sets them; a type used by
//! several controllers appears once.

/// Condition status values.
pub mod status {
    /// The condition holds.
    pub const TRUE: &str = "True";
    /// The condition does not hold.
    pub const FALSE: &str = "False";
}

/// Condition categories (`pkg/lib/condition`).
pub mod category {
    /// Blocks reconcile and `Ready`.
    pub const CRITICAL: &str = "Critical";
    /// Blocks `Ready`.
    pub const ERROR: &str = "Error";
    /// A warning; does not block `Ready`.
    pub const WARN: &str = "Warn";
    /// Required for `Ready` (`Ready` itself, `ConnectionTestSucceeded`, …).
    pub const REQUIRED: &str = "Required";
    /// Informational.
    pub const ADVISORY: &str = "Advisory";
    /// Non-standard category used by `ConversionHasWarnings` on VM status. Not a blocker.
    pub const WARNING: &str = "Warning";
}

/// Condition types.
pub mod types {
    // --- Shared ---
    /// The object is ready (Required).
    pub const READY: &str = "Ready";
    /// Declared upstream for failed reconciles.
    pub const RECONCILE_FAILED: &str = "ReconcileFailed";
    /// A validation passed (Advisory); provider and host.
    pub const VALIDATED: &str = "Validated";
    /// Generic "not valid" type shared by about ten plan validations (templates,
    /// `targetName`, conversion temp storage). Unique by type: the last one set wins.
    pub const NOT_VALID: &str = "NotValid";

    // --- Provider pair (plan and both maps) ---
    /// The source provider reference is not valid.
    pub const SOURCE_PROVIDER_NOT_VALID: &str = "SourceProviderNotValid";
    /// The source provider is not Ready.
    pub const SOURCE_PROVIDER_NOT_READY: &str = "SourceProviderNotReady";
    /// The destination provider reference is not valid (or its type is not openshift).
    pub const DESTINATION_PROVIDER_NOT_VALID: &str = "DestinationProviderNotValid";
    /// The destination provider is not Ready.
    pub const DESTINATION_PROVIDER_NOT_READY: &str = "DestinationProviderNotReady";
    /// Declared upstream for a single provider reference.
    pub const PROVIDER_NOT_VALID: &str = "ProviderNotValid";
    /// Declared upstream for a single provider reference.
    pub const PROVIDER_NOT_READY: &str = "ProviderNotReady";

    // --- Provider ---
    /// `spec.type` is not a known provider type (Critical/NotSupported).
    pub const PROVIDER_TYPE_NOT_SUPPORTED: &str = "ProviderTypeNotSupported";
    /// `spec.url` is not valid (Critical/NotSet|Malformed).
    pub const URL_NOT_VALID: &str = "UrlNotValid";
    /// The secret is missing or lacks keys (Critical/NotSet|NotFound|DataErr).
    pub const SECRET_NOT_VALID: &str = "SecretNotValid";
    /// `spec.settings` is not valid.
    pub const SETTINGS_NOT_VALID: &str = "SettingsNotValid";
    /// Authentication failed; requeue stops so accounts do not get locked.
    pub const CONNECTION_AUTH_FAILED: &str = "ConnectionAuthFailed";
    /// Authentication will be retried.
    pub const CONNECTION_AUTH_RETRY: &str = "ConnectionAuthRetry";
    /// The connection test succeeded (Required/Tested); provider and host.
    pub const CONNECTION_TEST_SUCCEEDED: &str = "ConnectionTestSucceeded";
    /// The connection test failed (Critical/Tested); provider and host.
    pub const CONNECTION_TEST_FAILED: &str = "ConnectionTestFailed";
    /// TLS verification is skipped (Warn/SkipTLSVerification).
    pub const CONNECTION_INSECURE: &str = "ConnectionInsecure";
    /// The inventory has been created (Required).
    pub const INVENTORY_CREATED: &str = "InventoryCreated";
    /// The inventory is loading.
    pub const LOAD_INVENTORY: &str = "LoadInventory";
    /// The inventory failed.
    pub const INVENTORY_ERROR: &str = "InventoryError";
    /// ESXi SSH connectivity validated (provider; copied to plans as Advisory).
    pub const SSH_READY: &str = "SSHReady";
    /// ESXi SSH connectivity problem (provider; copied to plans as Warn).
    pub const SSH_NOT_READY: &str = "SSHNotReady";
    /// The vSphere user lacks privileges (Warn, with a suggestion).
    pub const INSUFFICIENT_PRIVILEGES: &str = "InsufficientPrivileges";
    /// The SMB CSI driver is not ready (Hyper-V).
    pub const SMB_CSI_DRIVER_NOT_READY: &str = "SMBCSIDriverNotReady";
    /// The SMB share could not be mounted (Hyper-V).
    pub const SMB_MOUNT_FAILED: &str = "SMBMountFailed";
    /// Waiting for the provider server's Service (OVA, Hyper-V).
    pub const WAITING_FOR_SERVICE: &str = "WaitingForService";
    /// OVA appliance management is enabled (OVAProviderServer).
    pub const APPLIANCE_MANAGEMENT_ENABLED: &str = "ApplianceManagementEnabled";

    // --- Maps ---
    /// A network map source is not valid (NotSet/Ambiguous Critical, NotFound Warn).
    pub const SOURCE_NETWORK_NOT_VALID: &str = "SourceNetworkNotValid";
    /// A network map destination is not valid (Critical).
    pub const DESTINATION_NETWORK_NOT_VALID: &str = "DestinationNetworkNotValid";
    /// A storage map source is not valid (NotSet/Ambiguous Critical, NotFound Warn).
    pub const SOURCE_STORAGE_NOT_VALID: &str = "SourceStorageNotValid";
    /// A storage map destination class does not exist (Critical).
    pub const DESTINATION_STORAGE_NOT_VALID: &str = "DestinationStorageNotValid";

    // --- Hook ---
    /// The hook's image is not valid (Critical).
    pub const INVALID_IMAGE: &str = "InvalidImage";
    /// The hook's playbook is not base64 (Critical/DataError).
    pub const INVALID_PLAYBOOK: &str = "InvalidPlaybook";
    /// The hook's execution configuration is not valid (Critical).
    pub const INVALID_HOOK_EXECUTE: &str = "InvalidHookExecute";

    // --- Host ---
    /// The host's inventory reference is not valid.
    pub const REF_NOT_VALID: &str = "RefNotValid";
    /// The host's provider is not vSphere (TypeErr).
    pub const TYPE_NOT_VALID: &str = "TypeNotValid";
    /// The host's IP address is not valid.
    pub const IP_NOT_VALID: &str = "IpNotValid";
    /// The host is in maintenance mode (Critical).
    pub const IN_MAINTENANCE: &str = "InMaintenance";
    /// The host's overall status is red (Critical).
    pub const NOT_HEALTHY: &str = "NotHealthy";
    /// The host's overall status is not green (Warn).
    pub const HOST_STATUS_NOT_GREEN: &str = "HostStatusNotGreen";

    // --- Plan validation ---
    /// `targetNamespace` is empty or not a DNS-1123 subdomain.
    pub const NAMESPACE_NOT_VALID: &str = "NamespaceNotValid";
    /// `spec.map.network` is not valid.
    pub const NETWORK_MAP_REF_NOT_VALID: &str = "NetworkMapRefNotValid";
    /// The network map is not Ready.
    pub const NETWORK_MAP_NOT_READY: &str = "NetworkMapNotReady";
    /// `spec.map.storage` is not valid.
    pub const STORAGE_REF_NOT_VALID: &str = "StorageRefNotValid";
    /// The storage map is not Ready.
    pub const STORAGE_MAP_NOT_READY: &str = "StorageMapNotReady";
    /// Static IPs preserved with a pod-network mapping (Warn).
    pub const NET_MAP_PRESERVING_IPS_ON_POD_NETWORK: &str = "NetMapPreservingIPsOnPodNetwork";
    /// A multus destination NAD is in another namespace (Critical/NotValid).
    pub const NET_MAP_DESTINATION_NAD_NOT_VALID: &str = "NetMapDestinationNADNotValid";
    /// A Layer3 user-defined network in the target namespace (Critical/NotSupported).
    pub const UNSUPPORTED_USER_DEFINED_NETWORK: &str = "UnsupportedUserDefinedNetwork";
    /// NetApp Shift destination with a warm plan (Critical/NotSupported).
    pub const NET_APP_SHIFT_WARM_NOT_SUPPORTED: &str = "NetAppShiftWarmNotSupported";
    /// A datastore lacks NAS export details for NetApp Shift (Critical/NotValid).
    pub const NET_APP_SHIFT_DATASTORE_NAS_MISSING: &str = "NetAppShiftDatastoreNASMissing";
    /// Declared upstream, never set.
    pub const NET_APP_SHIFT: &str = "NetAppShift";
    /// Warm migration is not supported from the source (Critical/NotSupported).
    pub const WARM_MIGRATION_NOT_READY: &str = "WarmMigrationNotReady";
    /// `spec.type` is not supported from the source (Critical/NotSupported).
    pub const MIGRATION_TYPE_NOT_VALID: &str = "MigrationTypeNotValid";
    /// A VM has neither `id` nor `name` (Critical/NotSet).
    pub const VM_REF_NOT_VALID: &str = "VMRefNotValid";
    /// A VM was not found in the inventory (Critical/NotFound).
    pub const VM_NOT_FOUND: &str = "VMNotFound";
    /// Duplicate or ambiguous VMs (Critical/NotUnique|Ambiguous).
    pub const DUPLICATE_VM: &str = "DuplicateVM";
    /// The target VM already exists (Critical/NotUnique).
    pub const VM_ALREADY_EXISTS: &str = "VMAlreadyExists";
    /// The source name is not DNS-1123 and will be normalized (**Warn**/NotValid).
    pub const TARGET_NAME_NOT_VALID: &str = "TargetNameNotValid";
    /// A VM has unmapped networks (Critical/NotValid).
    pub const VM_NETWORKS_NOT_MAPPED: &str = "VMNetworksNotMapped";
    /// A VM has unmapped storage (Critical/NotValid).
    pub const VM_STORAGE_NOT_MAPPED: &str = "VMStorageNotMapped";
    /// A VM has unsupported storage (oVirt LUN; Critical/NotValid).
    pub const VM_STORAGE_NOT_SUPPORTED: &str = "VMStorageNotSupported";
    /// More than one NIC mapped to the pod network (Critical/NotValid).
    pub const VM_MULTIPLE_POD_NETWORK_MAPPINGS: &str = "VMMultiplePodNetworkMappings";
    /// Guest IPs missing, static IPs cannot be preserved (Warn/MissingGuestInformation).
    pub const VM_MISSING_GUEST_IPS: &str = "VMMissingGuestIPs";
    /// VM IP outside the primary UDN subnet (Warn/NotValid).
    pub const VM_IP_NOT_MATCHING_UDN_SUBNET: &str = "VMIpNotMatchingUdnSubnet";
    /// CBT not enabled for a warm plan (Critical/MissingChangedBlockTracking); keeps the
    /// plan re-checking ([`crate::condition::Conditions::has_req`]).
    pub const VM_MISSING_CHANGED_BLOCK_TRACKING: &str = "VMMissingChangedBlockTracking";
    /// The VM has snapshots incompatible with the plan (Critical/NotValid).
    pub const VM_HAS_SNAPSHOTS: &str = "VMHasSnapshots";
    /// The VM's snapshots need consolidation (Warn/ConsolidationNeeded).
    pub const VM_CONSOLIDATION_NEEDED: &str = "VMConsolidationNeeded";
    /// The VM's host is in maintenance mode (Warn/InMaintenanceMode).
    pub const HOST_NOT_READY: &str = "HostNotReady";
    /// Prefix of the per-VM shared-disk condition type `SharedDisks-<vmID>`.
    pub const SHARED_DISKS: &str = "SharedDisks";
    /// Prefix of the per-VM shared-disk warning type `SharedWarnDisks-<vmID>`.
    pub const SHARED_WARN_DISKS: &str = "SharedWarnDisks";
    /// The VM's power state does not allow the migration type (Critical/NotSupported).
    pub const VM_POWER_STATE_UNSUPPORTED: &str = "VMPowerStateUnsupported";
    /// The VM does not allow the migration type (Critical/NotSupported).
    pub const VM_MIGRATION_TYPE_UNSUPPORTED: &str = "VMMigrationTypeUnsupported";
    /// VMware Tools problems (Critical/NotValid).
    pub const GUEST_TOOLS_ISSUE: &str = "GuestToolsIssue";
    /// Disks with invalid sizes (Critical/NotValid).
    pub const INVALID_DISK_SIZES: &str = "InvalidDiskSizes";
    /// MAC addresses conflict with destination VMs (Critical/NotValid).
    pub const MAC_CONFLICTS: &str = "MacConflicts";
    /// PVCs missing for a conversion-only plan (Critical/NotValid).
    pub const MISSING_PVC_FOR_ONLY_CONVERSION: &str = "MissingPvcForOnlyConversion";
    /// LUKS keys and Clevis both set (Warn/NotValid).
    pub const LUKS_AND_CLEVIS_INCOMPATIBILITY: &str = "LuksAndClevisIncompatibility";
    /// VDDK and copy offload mixed in one plan (Critical/NotSupported).
    pub const VDDK_AND_OFFLOAD_MIXED_USAGE: &str = "VDDKAndOffloadMixedUsage";
    /// Inventory concerns of category Critical (Critical/NotValid).
    pub const VM_CRITICAL_CONCERNS: &str = "VMCriticalConcerns";
    /// OVA exported from an unsupported OVF source (Warn).
    pub const UNSUPPORTED_OVF_EXPORT_SOURCE: &str = "UnsupportedOVFExportSource";
    /// RDM disks without copy offload (Warn/NotSupported).
    pub const RDM_DISK_WARNING: &str = "RDMDiskWarning";
    /// Independent disks without copy offload (Warn/NotSupported).
    pub const INDEPENDENT_DISK_WARNING: &str = "IndependentDiskWarning";
    /// The transfer network is not valid (Critical/NotFound|NotValid).
    pub const TRANSFER_NETWORK_NOT_VALID: &str = "TransferNetworkNotValid";
    /// The transfer network lacks the default-route annotation (Warn/NotValid).
    pub const TRANSFER_NETWORK_MISSING_DEFAULT_ROUTE: &str = "TransferNetworkMissingDefaultRoute";
    /// The migration ServiceAccount does not exist (Critical/NotFound).
    pub const SERVICE_ACCOUNT_NOT_VALID: &str = "ServiceAccountNotValid";
    /// A hook reference is not valid (Critical/NotSet|NotFound|NotValid).
    pub const HOOK_NOT_VALID: &str = "HookNotValid";
    /// A hook is not Ready (Critical/NotFound).
    pub const HOOK_NOT_READY: &str = "HookNotReady";
    /// A hook step is neither PreHook nor PostHook (Critical/NotValid).
    pub const HOOK_STEP_NOT_VALID: &str = "HookStepNotValid";
    /// A hook's ServiceAccount is missing in the plan namespace (Critical/NotFound).
    pub const HOOK_SERVICE_ACCOUNT_NOT_VALID: &str = "HookServiceAccountNotValid";
    /// `spec.virtV2vImage` is not a fully-qualified image (Critical/NotValid).
    pub const VIRT_V2V_IMAGE_NOT_VALID: &str = "VirtV2vImageNotValid";
    /// The VDDK image is not valid.
    pub const VDDK_INVALID: &str = "VDDKInvalid";
    /// The VDDK image is being validated (Advisory/Started); not a blocker, but keeps the
    /// plan from being Ready and re-checking.
    pub const VALIDATING_VDDK: &str = "ValidatingVDDK";
    /// The VDDK init image is not ready (Advisory).
    pub const VDDK_INIT_IMAGE_NOT_READY: &str = "VDDKInitImageNotReady";
    /// The VDDK init image is unavailable.
    pub const VDDK_INIT_IMAGE_UNAVAILABLE: &str = "VDDKInitImageUnavailable";
    /// The source cluster version is not supported (Critical/NotSupported).
    pub const UNSUPPORTED_VERSION: &str = "UnsupportedVersion";
    /// The controller namespace enforces the restricted pod security level (Warn).
    pub const RESTRICTED_POD_SECURITY: &str = "RestrictedPodSecurity";
    /// VMs with copied disks can resume conversion (Advisory, durable).
    pub const CONVERSION_RESUMABLE: &str = "ConversionResumable";

    // --- Execution (plan, snapshot, VM status, migration) ---
    /// The plan is executing (Advisory, durable).
    pub const EXECUTING: &str = "Executing";
    /// The migration is running (Migration CR; Advisory, not durable).
    pub const RUNNING: &str = "Running";
    /// A VM waits for the in-flight limit (VM status; Advisory, durable).
    pub const PENDING: &str = "Pending";
    /// Succeeded (Advisory, durable).
    pub const SUCCEEDED: &str = "Succeeded";
    /// Failed (Advisory, durable; Critical for a rejected resume).
    pub const FAILED: &str = "Failed";
    /// Canceled (Advisory, durable).
    pub const CANCELED: &str = "Canceled";
    /// The plan is archived (Advisory/UserRequested, not durable).
    pub const ARCHIVED: &str = "Archived";
    /// Declared upstream, never set on plans.
    pub const PAUSED: &str = "Paused";
    /// Declared upstream; used only as a reason.
    pub const DELETED: &str = "Deleted";
    /// Declared upstream, never set.
    pub const BLOCKED: &str = "Blocked";
    /// Windows guest reboot wait did not complete (VM status; Warn, durable).
    pub const WAIT_FOR_GUEST_REBOOTS: &str = "WaitForGuestReboots";
    /// virt-v2v reported warnings (VM status; category `Warning`).
    pub const CONVERSION_HAS_WARNINGS: &str = "ConversionHasWarnings";
    /// Deep inspection reported concerns (VM status).
    pub const INSPECTION_HAS_CONCERNS: &str = "InspectionHasConcerns";

    // --- Migration CR ---
    /// The `plan` reference is not valid (Critical/NotSet|NotFound).
    pub const PLAN_NOT_VALID: &str = "PlanNotValid";
    /// The plan is not Ready (Critical/NotFound).
    pub const PLAN_NOT_READY: &str = "PlanNotReady";
    /// A cancel reference is ambiguous (Warn/Ambiguous).
    pub const VM_NOT_UNIQUE: &str = "VMNotUnique";

    /// The per-VM shared-disk condition type: `SharedWarnDisks-<vmID>` for category `Warn`,
    /// otherwise `SharedDisks-<vmID>`.
    pub fn shared_disks(vm_id: &str, category: &str) -> String {
        if category == super::category::WARN {
            format!("{SHARED_WARN_DISKS}-{vm_id}")
        } else {
            format!("{SHARED_DISKS}-{vm_id}")
        }
    }
}

/// Condition reasons.
pub mod reason {
    /// A required reference or field is not set.
    pub const NOT_SET: &str = "NotSet";
    /// The referenced object was not found.
    pub const NOT_FOUND: &str = "NotFound";
    /// Not unique.
    pub const NOT_UNIQUE: &str = "NotUnique";
    /// Not supported.
    pub const NOT_SUPPORTED: &str = "NotSupported";
    /// The reference matches more than one object.
    pub const AMBIGUOUS: &str = "Ambiguous";
    /// Not valid.
    pub const NOT_VALID: &str = "NotValid";
    /// The destination provider's type is not openshift.
    pub const TYPE_NOT_VALID: &str = "TypeNotValid";
    /// The plan, a provider or a map changed under a running migration.
    pub const MODIFIED: &str = "Modified";
    /// The user asked for it (archive, cancel).
    pub const USER_REQUESTED: &str = "UserRequested";
    /// Started (ValidatingVDDK).
    pub const STARTED: &str = "Started";
    /// The migration was deleted (snapshot `Canceled`).
    pub const DELETED: &str = "Deleted";
    /// The VM's host is in maintenance mode.
    pub const IN_MAINTENANCE_MODE: &str = "InMaintenanceMode";
    /// Guest network information is missing.
    pub const MISSING_GUEST_INFORMATION: &str = "MissingGuestInformation";
    /// CBT is not enabled.
    pub const MISSING_CHANGED_BLOCK_TRACKING: &str = "MissingChangedBlockTracking";
    /// Snapshots need consolidation.
    pub const CONSOLIDATION_NEEDED: &str = "ConsolidationNeeded";
    /// Secret or URL data is missing or malformed (provider, host).
    pub const DATA_ERR: &str = "DataErr";
    /// The hook controller's spelling of the data-error reason (`InvalidPlaybook`).
    pub const DATA_ERROR: &str = "DataError";
    /// The URL is malformed.
    pub const MALFORMED: &str = "Malformed";
    /// A step completed (`Validated`).
    pub const COMPLETED: &str = "Completed";
    /// A connection was tested.
    pub const TESTED: &str = "Tested";
    /// TLS verification is skipped.
    pub const SKIP_TLS_VERIFICATION: &str = "SkipTLSVerification";
    /// The host's provider is not vSphere.
    pub const TYPE_ERR: &str = "TypeErr";
    /// The host state was evaluated.
    pub const STATE_EVALUATED: &str = "StateEvaluated";
    /// The plan's source provider has ESXi SSH connectivity.
    pub const PROVIDER_SSH_READY: &str = "ProviderSSHReady";
    /// The plan's source provider has ESXi SSH connectivity issues.
    pub const PROVIDER_SSH_NOT_READY: &str = "ProviderSSHNotReady";
}
