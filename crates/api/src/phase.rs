//! VM phase names (`status.migration.vms[].phase`) and pipeline step names, as upstream
//! spells them (`pkg/apis/forklift/v1beta1/doc.go`, `migrator/base`, `migrator/ocp`).

/// Common phases.
pub const STARTED: &str = "Started";
/// Run the pre-migration hook.
pub const PRE_HOOK: &str = "PreHook";
/// Run the post-migration hook.
pub const POST_HOOK: &str = "PostHook";
/// The VM's migration ended (successfully or not; see its conditions).
pub const COMPLETED: &str = "Completed";

/// Add a warm checkpoint to the DataVolumes (then back to `CopyDisks`).
pub const ADD_CHECKPOINT: &str = "AddCheckpoint";
/// Add the final warm checkpoint (then `Finalize`).
pub const ADD_FINAL_CHECKPOINT: &str = "AddFinalCheckpoint";
/// Allocate blank disks for the virt-v2v transfer.
pub const ALLOCATE_DISKS: &str = "AllocateDisks";
/// Convert the guest with virt-v2v.
pub const CONVERT_GUEST: &str = "ConvertGuest";
/// Convert OpenStack snapshot images to raw.
pub const CONVERT_OPENSTACK_SNAPSHOT: &str = "ConvertOpenstackSnapshot";
/// Copy disks with CDI (or populators).
pub const COPY_DISKS: &str = "CopyDisks";
/// virt-v2v copies the disks.
pub const COPY_DISKS_VIRT_V2V: &str = "CopyDisksVirtV2V";
/// Warm: wait between precopies until cutover.
pub const COPYING_PAUSED: &str = "CopyingPaused";
/// Create DataVolumes / PVCs.
pub const CREATE_DATA_VOLUMES: &str = "CreateDataVolumes";
/// Warm: create the final snapshot.
pub const CREATE_FINAL_SNAPSHOT: &str = "CreateFinalSnapshot";
/// Create the guest conversion pod (or Conversion CR).
pub const CREATE_GUEST_CONVERSION_POD: &str = "CreateGuestConversionPod";
/// Warm: create the first snapshot.
pub const CREATE_INITIAL_SNAPSHOT: &str = "CreateInitialSnapshot";
/// Warm: create a precopy snapshot.
pub const CREATE_SNAPSHOT: &str = "CreateSnapshot";
/// Create the target VirtualMachine.
pub const CREATE_VM: &str = "CreateVM";
/// Wait for a Windows guest's first-boot reboots.
pub const WAIT_FOR_GUEST_REBOOTS: &str = "WaitForGuestReboots";
/// Warm: finalize the disk transfer.
pub const FINALIZE: &str = "Finalize";
/// Warm: inspect the VM before the first transfer.
pub const PREFLIGHT_INSPECTION: &str = "PreflightInspection";
/// Power off the source VM.
pub const POWER_OFF_SOURCE: &str = "PowerOffSource";
/// Warm: remove the final snapshot.
pub const REMOVE_FINAL_SNAPSHOT: &str = "RemoveFinalSnapshot";
/// Warm: remove the penultimate snapshot.
pub const REMOVE_PENULTIMATE_SNAPSHOT: &str = "RemovePenultimateSnapshot";
/// Warm: remove the previous snapshot.
pub const REMOVE_PREVIOUS_SNAPSHOT: &str = "RemovePreviousSnapshot";
/// Warm: record the first snapshot's disk change IDs.
pub const STORE_INITIAL_SNAPSHOT_DELTAS: &str = "StoreInitialSnapshotDeltas";
/// Record the source power state.
pub const STORE_POWER_STATE: &str = "StorePowerState";
/// Warm: record a snapshot's disk change IDs.
pub const STORE_SNAPSHOT_DELTAS: &str = "StoreSnapshotDeltas";
/// Warm: wait for the final snapshot.
pub const WAIT_FOR_FINAL_SNAPSHOT: &str = "WaitForFinalSnapshot";
/// Warm: wait for the final snapshot's removal and consolidation.
pub const WAIT_FOR_FINAL_SNAPSHOT_REMOVAL: &str = "WaitForFinalSnapshotRemoval";
/// Warm: wait for the first snapshot.
pub const WAIT_FOR_INITIAL_SNAPSHOT: &str = "WaitForInitialSnapshot";
/// Warm: wait for the penultimate snapshot's removal.
pub const WAIT_FOR_PENULTIMATE_SNAPSHOT_REMOVAL: &str = "WaitForPenultimateSnapshotRemoval";
/// Wait until the source VM is off.
pub const WAIT_FOR_POWER_OFF: &str = "WaitForPowerOff";
/// Warm: wait for the previous snapshot's removal.
pub const WAIT_FOR_PREVIOUS_SNAPSHOT_REMOVAL: &str = "WaitForPreviousSnapshotRemoval";
/// Warm: wait for a precopy snapshot.
pub const WAIT_FOR_SNAPSHOT: &str = "WaitForSnapshot";

/// OpenShift live migration phases (`migrator/ocp/live.go`).
pub mod ocp_live {
    /// Copy Secrets to the target.
    pub const CREATE_SECRETS: &str = "CreateSecrets";
    /// Copy ConfigMaps to the target.
    pub const CREATE_CONFIG_MAPS: &str = "CreateConfigMaps";
    /// Ensure the preference exists on the target.
    pub const ENSURE_PREFERENCE: &str = "EnsurePreference";
    /// Ensure the instance type exists on the target.
    pub const ENSURE_INSTANCE_TYPE: &str = "EnsureInstanceType";
    /// Ensure the DataVolumes exist on the target.
    pub const ENSURE_DATA_VOLUMES: &str = "EnsureDataVolumes";
    /// Ensure the PVCs exist on the target.
    pub const ENSURE_PERSISTENT_VOLUME_CLAIMS: &str = "EnsurePersistentVolumeClaims";
    /// Create the target VM.
    pub const CREATE_TARGET: &str = "CreateTarget";
    /// Set owner references on the copied objects.
    pub const SET_OWNER_REFERENCES: &str = "SetOwnerReferences";
    /// Create Submariner ServiceExports.
    pub const CREATE_SERVICE_EXPORTS: &str = "CreateServiceExports";
    /// Wait for the target VMI.
    pub const WAIT_FOR_TARGET_VMI: &str = "WaitForTargetVMI";
    /// Create the VirtualMachineInstanceMigrations.
    pub const CREATE_VIRTUAL_MACHINE_INSTANCE_MIGRATIONS: &str =
        "CreateVirtualMachineInstanceMigrations";
    /// Wait for the state transfer.
    pub const WAIT_FOR_STATE_TRANSFER: &str = "WaitForStateTransfer";
}

/// Pipeline step names (`status.migration.vms[].pipeline[].name`) and descriptions.
pub mod step {
    /// Created for `Started`.
    pub const INITIALIZE: &str = "Initialize";
    /// Created for `PreHook`.
    pub const PRE_HOOK: &str = "PreHook";
    /// Created for `PreflightInspection`.
    pub const PREFLIGHT_INSPECTION: &str = "PreflightInspection";
    /// Created for `AllocateDisks`.
    pub const DISK_ALLOCATION: &str = "DiskAllocation";
    /// Created for `CopyDisks`.
    pub const DISK_TRANSFER: &str = "DiskTransfer";
    /// Created for `CopyDisksVirtV2V`.
    pub const DISK_TRANSFER_V2V: &str = "DiskTransferV2v";
    /// Created for `ConvertOpenstackSnapshot`.
    pub const CONVERT_OPENSTACK_SNAPSHOT: &str = "ConvertOpenstackSnapshot";
    /// Created for `Finalize` (warm).
    pub const CUTOVER: &str = "Cutover";
    /// Created for `ConvertGuest`.
    pub const IMAGE_CONVERSION: &str = "ImageConversion";
    /// Created for `CreateVM`.
    pub const VIRTUAL_MACHINE_CREATION: &str = "VirtualMachineCreation";
    /// Created for `WaitForGuestReboots`.
    pub const WAIT_FOR_GUEST_REBOOTS: &str = "WaitForGuestReboots";
    /// Created for `PostHook`.
    pub const POST_HOOK: &str = "PostHook";
    /// Created for `WaitForFinalSnapshotRemoval`.
    pub const WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION: &str = "WaitForFinalSnapshotConsolidation";
    /// OCP live: created for `CreateSecrets`.
    pub const PREPARE_TARGET: &str = "PrepareTarget";
    /// OCP live: created for `CreateVirtualMachineInstanceMigrations`.
    pub const SYNCHRONIZATION: &str = "Synchronization";
    /// The step of a phase that maps to none.
    pub const UNKNOWN: &str = "Unknown";

    /// Description of [`INITIALIZE`].
    pub const INITIALIZE_DESCRIPTION: &str = "Initialize migration.";
    /// Description of [`PRE_HOOK`].
    pub const PRE_HOOK_DESCRIPTION: &str = "Run pre-migration hook.";
    /// Description of [`PREFLIGHT_INSPECTION`].
    pub const PREFLIGHT_INSPECTION_DESCRIPTION: &str = "Inspect VM before migration.";
    /// Description of [`DISK_ALLOCATION`].
    pub const DISK_ALLOCATION_DESCRIPTION: &str = "Allocate disks.";
    /// Description of [`DISK_TRANSFER`].
    pub const DISK_TRANSFER_DESCRIPTION: &str = "Transfer disks.";
    /// Description of [`DISK_TRANSFER_V2V`].
    pub const DISK_TRANSFER_V2V_DESCRIPTION: &str = "Copy disks.";
    /// Description of [`CONVERT_OPENSTACK_SNAPSHOT`].
    pub const CONVERT_OPENSTACK_SNAPSHOT_DESCRIPTION: &str = "Convert OpenStack snapshot.";
    /// Description of [`CUTOVER`].
    pub const CUTOVER_DESCRIPTION: &str = "Finalize disk transfer.";
    /// Description of [`IMAGE_CONVERSION`].
    pub const IMAGE_CONVERSION_DESCRIPTION: &str = "Convert image to kubevirt.";
    /// Description of [`VIRTUAL_MACHINE_CREATION`].
    pub const VIRTUAL_MACHINE_CREATION_DESCRIPTION: &str = "Create VM.";
    /// Description of [`WAIT_FOR_GUEST_REBOOTS`].
    pub const WAIT_FOR_GUEST_REBOOTS_DESCRIPTION: &str =
        "Wait for Windows guest reboot after conversion.";
    /// Description of [`POST_HOOK`].
    pub const POST_HOOK_DESCRIPTION: &str = "Run post-migration hook.";
    /// Description of [`WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION`].
    pub const WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION_DESCRIPTION: &str =
        "Waiting for final snapshot removal and consolidation";
    /// Description of [`PREPARE_TARGET`].
    pub const PREPARE_TARGET_DESCRIPTION: &str = "Prepare target namespace.";
    /// Description of [`SYNCHRONIZATION`].
    pub const SYNCHRONIZATION_DESCRIPTION: &str = "Synchronize source and target VMs.";

    /// Annotation key of a disk step's unit.
    pub const ANNOTATION_UNIT: &str = "unit";
    /// The unit of disk steps and tasks.
    pub const UNIT_MB: &str = "MB";
    /// Annotation on warm tasks: the number of precopies so far.
    pub const ANNOTATION_PRECOPY: &str = "Precopy";
}

/// Itinerary names.
pub mod itinerary {
    /// Cold migration.
    pub const COLD: &str = "";
    /// Warm migration.
    pub const WARM: &str = "Warm";
    /// Conversion only.
    pub const ONLY_CONVERSION: &str = "OnlyConversion";
    /// Resume a failed conversion.
    pub const RESUME_CONVERSION: &str = "ResumeConversion";
    /// OpenShift live migration.
    pub const OCP_LIVE: &str = "ocp-live";
}
