//! VM-level checks (upstream `validateVM`, plan spec §2.3) and the adapter's plan-level
//! capabilities (warm, migration type).

use super::{ValidateError, Validation};
use crate::adapter::{
    Adapter, AdapterError, CONCERN_UNSUPPORTED_OVF_SOURCE, PlanView, VmFinding, inventory_ref,
};
use crate::conditions as c;
use crate::mac;
use crate::names::{is_dns1123_subdomain, resolve_target_vm_name};
use crate::network;
use crate::observe::Observed;
use crate::settings::Settings;
use crate::template::{self, DEFAULT_OCP_PVC_NAME_TEMPLATE, DEFAULT_PVC_NAME_TEMPLATE};
use ferry_api::condition::{Condition, category, reason, types};
use ferry_api::labels;
use ferry_api::provider::ProviderType;
use ferry_api::{Plan, Ref};
use ferry_inventory::FindError;
use std::collections::BTreeSet;

/// A [`PlanView`] of the observed plan, when the providers resolved and the inventory is
/// registered.
pub(crate) fn view<'a>(
    observed: &'a Observed,
    settings: &'a Settings,
) -> Result<PlanView<'a>, ValidateError> {
    let (Some(source), Some(destination)) = (observed.source.found(), observed.destination.found())
    else {
        return Err(ValidateError::InventoryNotReady);
    };
    let inventory = observed
        .inventory
        .as_deref()
        .ok_or(ValidateError::InventoryNotReady)?;
    Ok(PlanView {
        plan: &observed.plan,
        source,
        destination,
        network_map: observed.network_map.found(),
        storage_map: if observed.plan.spec.r#type
            == Some(ferry_api::plan::MigrationType::Conversion)
        {
            None
        } else {
            observed.storage_map.found()
        },
        inventory,
        settings,
    })
}

/// `validateWarmMigration` and `validateMigrationType`.
pub(super) fn plan_level(
    observed: &Observed,
    adapter: &dyn Adapter,
    settings: &Settings,
    out: &mut Validation,
) -> Result<(), ValidateError> {
    let view = view(observed, settings)?;
    let validator = adapter.validator();
    if observed.plan.is_warm() && !validator.warm_migration(&view) {
        out.set(c::warm_migration_not_ready());
    }
    if !validator.migration_type(&view) {
        let written = observed
            .plan
            .spec
            .r#type
            .as_ref()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default();
        out.set(c::migration_type_not_valid(&written));
    }
    Ok(())
}

/// Upstream `GetPVCNameTemplate`: the VM's template, else the plan's, else the global
/// setting for the source type, else the hardcoded default.
pub fn pvc_name_template(
    plan: &Plan,
    vm_id: &str,
    source_is_openshift: bool,
    settings: &Settings,
) -> String {
    if let Some(vm) = plan
        .spec
        .vms
        .iter()
        .find(|vm| vm.id == vm_id && !vm.pvc_name_template.is_empty())
    {
        return vm.pvc_name_template.clone();
    }
    if !plan.spec.pvc_name_template.is_empty() {
        return plan.spec.pvc_name_template.clone();
    }
    if source_is_openshift {
        if !settings.ocp_pvc_name_template.is_empty() {
            return settings.ocp_pvc_name_template.clone();
        }
        return DEFAULT_OCP_PVC_NAME_TEMPLATE.to_string();
    }
    if !settings.pvc_name_template.is_empty() {
        return settings.pvc_name_template.clone();
    }
    DEFAULT_PVC_NAME_TEMPLATE.to_string()
}

/// One aggregated VM condition: the condition and its items.
struct Aggregate {
    condition: Condition,
    items: Vec<String>,
}

impl Aggregate {
    fn new(condition: Condition) -> Self {
        Self {
            condition,
            items: Vec::new(),
        }
    }

    fn into_condition(self) -> Option<Condition> {
        (!self.items.is_empty()).then(|| self.condition.with_items(self.items))
    }
}

fn critical(r#type: &str, why: &str, message: &str) -> Aggregate {
    Aggregate::new(
        Condition::new(r#type, category::CRITICAL)
            .with_reason(why)
            .with_message(message),
    )
}

fn warn(r#type: &str, why: &str, message: &str) -> Aggregate {
    Aggregate::new(
        Condition::new(r#type, category::WARN)
            .with_reason(why)
            .with_message(message),
    )
}

/// The VM-level aggregates, in upstream's declaration order.
struct Aggregates {
    not_found: Aggregate,
    not_unique: Aggregate,
    ambiguous: Aggregate,
    name_not_valid: Aggregate,
    already_exists: Aggregate,
    unmapped_network: Aggregate,
    unmapped_storage: Aggregate,
    unsupported_storage: Aggregate,
    maintenance_mode: Aggregate,
    multiple_pod_networks: Aggregate,
    missing_static_ips: Aggregate,
    udn_subnet: Aggregate,
    missing_cbt: Aggregate,
    warm_snapshots: Aggregate,
    pvc_name_invalid: Aggregate,
    volume_name_invalid: Aggregate,
    network_name_invalid: Aggregate,
    target_name_invalid: Aggregate,
    target_name_not_unique: Aggregate,
    unsupported_ovf_source: Aggregate,
    power_state: Aggregate,
    migration_type: Aggregate,
    guest_tools: Aggregate,
    invalid_disk_sizes: Aggregate,
    mac_conflicts: Aggregate,
    mac_message: Vec<String>,
    missing_pvc: Aggregate,
    luks_and_clevis: Aggregate,
    vddk_and_offload: Aggregate,
    critical_concerns: Aggregate,
    consolidation: Aggregate,
    shift_snapshots: Aggregate,
    shift_nas: Aggregate,
    rdm: Aggregate,
    independent: Aggregate,
    shared_disks: Vec<Condition>,
}

impl Aggregates {
    fn new(observed: &Observed) -> Self {
        let tools = match observed.source.found().and_then(|p| p.provider_type()) {
            Some(ProviderType::VSphere) => "VMware Tools",
            Some(ProviderType::HyperV) => "Hyper-V Integration Services",
            _ => "guest tools",
        };
        Self {
            not_found: critical(types::VM_NOT_FOUND, reason::NOT_FOUND, "VM not found."),
            not_unique: critical(types::DUPLICATE_VM, reason::NOT_UNIQUE, "Duplicate (source) VM."),
            ambiguous: critical(types::DUPLICATE_VM, reason::AMBIGUOUS, "VM reference is ambiguous."),
            name_not_valid: warn(
                types::TARGET_NAME_NOT_VALID,
                reason::NOT_VALID,
                "Target VM name does not comply with DNS1123 RFC, will be automatically changed.",
            ),
            already_exists: critical(types::VM_ALREADY_EXISTS, reason::NOT_UNIQUE, "Target VM already exists."),
            unmapped_network: critical(types::VM_NETWORKS_NOT_MAPPED, reason::NOT_VALID, "VM has unmapped networks."),
            unmapped_storage: critical(types::VM_STORAGE_NOT_MAPPED, reason::NOT_VALID, "VM has unmapped storage."),
            unsupported_storage: critical(
                types::VM_STORAGE_NOT_SUPPORTED,
                reason::NOT_VALID,
                "VM has unsupported storage. Migration of Direct LUN/FC from oVirt is supported as from version 4.5.2.1",
            ),
            maintenance_mode: warn(types::HOST_NOT_READY, reason::IN_MAINTENANCE_MODE, "VM host is in maintenance mode."),
            multiple_pod_networks: critical(
                types::VM_MULTIPLE_POD_NETWORK_MAPPINGS,
                reason::NOT_VALID,
                "VM has more than one interface mapped to the pod network.",
            ),
            missing_static_ips: warn(
                types::VM_MISSING_GUEST_IPS,
                reason::MISSING_GUEST_INFORMATION,
                &format!("Guest information on vNICs is missing, cannot preserve static IPs. Make sure {tools} is installed and the VM is running."),
            ),
            udn_subnet: warn(
                types::VM_IP_NOT_MATCHING_UDN_SUBNET,
                reason::NOT_VALID,
                "VM IP does not match with the primary UDN subnet",
            ),
            missing_cbt: critical(
                types::VM_MISSING_CHANGED_BLOCK_TRACKING,
                reason::MISSING_CHANGED_BLOCK_TRACKING,
                "Changed Block Tracking (CBT) has not been enabled on some VM. This feature is a prerequisite for VM warm migration.",
            ),
            warm_snapshots: critical(
                types::VM_HAS_SNAPSHOTS,
                reason::NOT_VALID,
                "VM has pre-existing snapshots which are incompatible with warm migration.",
            ),
            pvc_name_invalid: Aggregate::new(
                Condition::new(types::NOT_VALID, category::CRITICAL)
                    .with_message("VM PVC name template is invalid."),
            ),
            volume_name_invalid: Aggregate::new(
                Condition::new(types::NOT_VALID, category::CRITICAL)
                    .with_message("VM volume name template is invalid."),
            ),
            network_name_invalid: Aggregate::new(
                Condition::new(types::NOT_VALID, category::CRITICAL)
                    .with_message("VM network name template is invalid."),
            ),
            target_name_invalid: Aggregate::new(
                Condition::new(types::NOT_VALID, category::CRITICAL)
                    .with_message("TargetName is invalid."),
            ),
            target_name_not_unique: critical(types::DUPLICATE_VM, reason::NOT_UNIQUE, "Duplicate targetName."),
            unsupported_ovf_source: Aggregate::new(
                Condition::new(types::UNSUPPORTED_OVF_EXPORT_SOURCE, category::WARN).with_message(
                    "VM appears to have been exported from an unsupported OVF source, and may have issues during import.",
                ),
            ),
            power_state: critical(
                types::VM_POWER_STATE_UNSUPPORTED,
                reason::NOT_SUPPORTED,
                "VM power state is incompatible with the selected migration type.",
            ),
            migration_type: critical(
                types::VM_MIGRATION_TYPE_UNSUPPORTED,
                reason::NOT_SUPPORTED,
                "VM is incompatible with the selected migration type.",
            ),
            guest_tools: critical(
                types::GUEST_TOOLS_ISSUE,
                reason::NOT_VALID,
                "VMware Tools issues detected. This may impact migration performance, guest OS detection, and network configuration. Ensure VMware Tools are properly installed and running before migration. If this is an encrypted VM, please turn the VM off manually before migration.",
            ),
            invalid_disk_sizes: critical(types::INVALID_DISK_SIZES, reason::NOT_VALID, "VM has disks with invalid sizes."),
            mac_conflicts: critical(types::MAC_CONFLICTS, reason::NOT_VALID, ""),
            mac_message: Vec::new(),
            missing_pvc: critical(
                types::MISSING_PVC_FOR_ONLY_CONVERSION,
                reason::NOT_VALID,
                "Missing required PVCs for conversion-only mode. Ensure vendor-provided PVCs exist in the target namespace and are labeled with vmID and vmUUID.",
            ),
            luks_and_clevis: warn(
                types::LUKS_AND_CLEVIS_INCOMPATIBILITY,
                reason::NOT_VALID,
                "LUKS keys and Clevis cannot be configured together; Clevis will be used.",
            ),
            vddk_and_offload: critical(
                types::VDDK_AND_OFFLOAD_MIXED_USAGE,
                reason::NOT_SUPPORTED,
                "Copy offload is enabled. MTV does not support mixed copy methods. Each migration plan can use one migration strategy, either VDDK or copy offload. Check your storage map and VMs to ensure they are using the same migration strategy.",
            ),
            critical_concerns: critical(
                types::VM_CRITICAL_CONCERNS,
                reason::NOT_VALID,
                "One or more VMs in the plan have critical concerns that block migration.",
            ),
            consolidation: warn(
                types::VM_CONSOLIDATION_NEEDED,
                reason::CONSOLIDATION_NEEDED,
                "VM has snapshots that require consolidation. This may cause long delays between precopies.",
            ),
            shift_snapshots: critical(
                types::VM_HAS_SNAPSHOTS,
                reason::NOT_VALID,
                "NetApp Shift plans require VMs to have no VMware snapshots. Remove snapshots before migration.",
            ),
            shift_nas: critical(
                types::NET_APP_SHIFT_DATASTORE_NAS_MISSING,
                reason::NOT_VALID,
                "Datastore is missing NAS export details required for NetApp Shift.",
            ),
            rdm: warn(
                types::RDM_DISK_WARNING,
                reason::NOT_SUPPORTED,
                "VM has RDM disks which are not supported with VDDK transfer. Enable copy-offload (XCOPY) in the storage mapping to migrate RDM disks.",
            ),
            independent: warn(
                types::INDEPENDENT_DISK_WARNING,
                reason::NOT_SUPPORTED,
                "VM has independent disks which are not supported with VDDK transfer. Enable copy-offload (XCOPY) in the storage mapping to migrate independent disks, or change them to 'Dependent' mode in VMware.",
            ),
            shared_disks: Vec::new(),
        }
    }

    /// The conditions, in upstream's `SetCondition` order.
    fn into_conditions(mut self) -> Vec<Condition> {
        if !self.mac_message.is_empty() {
            self.mac_conflicts.condition.message = self.mac_message.join("; ");
        }
        let mut out = Vec::new();
        let mut push = |aggregate: Aggregate| out.extend(aggregate.into_condition());
        push(self.not_found);
        push(self.not_unique);
        push(self.already_exists);
        push(self.name_not_valid);
        push(self.ambiguous);
        push(self.unmapped_network);
        push(self.unmapped_storage);
        push(self.unsupported_storage);
        push(self.maintenance_mode);
        push(self.multiple_pod_networks);
        push(self.missing_static_ips);
        let shared = self.shared_disks;
        let mut rest = Vec::new();
        let mut push_rest = |aggregate: Aggregate| rest.extend(aggregate.into_condition());
        push_rest(self.missing_cbt);
        push_rest(self.udn_subnet);
        push_rest(self.warm_snapshots);
        push_rest(self.pvc_name_invalid);
        push_rest(self.volume_name_invalid);
        push_rest(self.network_name_invalid);
        push_rest(self.target_name_invalid);
        push_rest(self.target_name_not_unique);
        push_rest(self.unsupported_ovf_source);
        push_rest(self.power_state);
        push_rest(self.migration_type);
        push_rest(self.guest_tools);
        push_rest(self.invalid_disk_sizes);
        push_rest(self.mac_conflicts);
        push_rest(self.missing_pvc);
        push_rest(self.luks_and_clevis);
        push_rest(self.vddk_and_offload);
        push_rest(self.critical_concerns);
        push_rest(self.consolidation);
        push_rest(self.shift_snapshots);
        push_rest(self.shift_nas);
        push_rest(self.rdm);
        push_rest(self.independent);
        out.extend(shared);
        out.extend(rest);
        out
    }
}

fn adapter_error(vm: &Ref, source: AdapterError) -> ValidateError {
    ValidateError::Adapter {
        vm: vm.to_string(),
        source,
    }
}

/// `validateVM`: skipped while the plan is `Executing`.
pub(super) fn validate_vms(
    observed: &Observed,
    adapter: &dyn Adapter,
    settings: &Settings,
    out: &mut Validation,
) -> Result<(), ValidateError> {
    let plan = &observed.plan;
    if plan.status.conditions.has(&[types::EXECUTING]) {
        return Ok(());
    }
    let view = view(observed, settings)?;
    let mut aggregates = Aggregates::new(observed);
    let mut seen_ids: BTreeSet<String> = BTreeSet::new();
    let mut seen_targets: BTreeSet<&str> = BTreeSet::new();
    let source_is_openshift = view.source.is(ProviderType::OpenShift);
    let destination_vms = &observed.destination_vms;
    for (index, vm) in plan.spec.vms.iter().enumerate() {
        let spec_ref = vm.reference();
        if plan
            .status
            .migration
            .find_vm(&spec_ref)
            .is_some_and(|s| s.conditions.has(&[types::SUCCEEDED]))
        {
            continue;
        }
        if spec_ref.not_set() {
            out.set(
                Condition::new(types::VM_REF_NOT_VALID, category::CRITICAL)
                    .with_reason(reason::NOT_SET)
                    .with_message("Either `ID` or `Name` required."),
            );
            continue;
        }
        let source_vm = match view.inventory.vm(&inventory_ref(&spec_ref)) {
            Ok(source_vm) => source_vm,
            Err(FindError::NotFound { .. } | FindError::EmptyRef { .. }) => {
                aggregates.not_found.items.push(spec_ref.to_string());
                continue;
            }
            Err(FindError::NotUnique { .. }) => {
                aggregates.ambiguous.items.push(spec_ref.to_string());
                continue;
            }
            Err(FindError::NotReady) => return Err(ValidateError::InventoryNotReady),
            Err(e @ FindError::Unsupported { .. }) => {
                return Err(adapter_error(
                    &spec_ref,
                    AdapterError::Inventory(e.to_string()),
                ));
            }
        };
        let facts = adapter
            .facts(&source_vm)
            .map_err(|e| adapter_error(&spec_ref, e))?;
        let mut resolved = spec_ref.clone();
        resolved.id = facts.id.clone();
        resolved.name = facts.name.clone();
        out.resolved[index] = Some(resolved.clone());
        let item = resolved.to_string();

        if vm.target_name.is_empty() {
            if !is_dns1123_subdomain(&resolved.name) {
                aggregates.name_not_valid.items.push(item.clone());
            }
        } else if !is_dns1123_subdomain(&vm.target_name) {
            aggregates.target_name_invalid.items.push(item.clone());
        }
        if !seen_ids.insert(resolved.id.clone()) {
            aggregates.not_unique.items.push(item.clone());
        }
        if !vm.target_name.is_empty() && !seen_targets.insert(&vm.target_name) {
            aggregates.target_name_not_unique.items.push(item.clone());
        }
        for concern in &facts.concerns {
            if concern.category == "Critical" {
                aggregates
                    .critical_concerns
                    .items
                    .push(format!("{item} ({})", concern.label));
            }
            if concern.id == CONCERN_UNSUPPORTED_OVF_SOURCE {
                aggregates.unsupported_ovf_source.items.push(item.clone());
            }
        }
        if view.network_map.is_some()
            && network::has_duplicate_pod_mappings(&facts.nic_networks, view.network_map)
        {
            aggregates.multiple_pod_networks.items.push(item.clone());
        }
        if !vm.luks.name.as_deref().unwrap_or_default().is_empty() && vm.nbde_clevis {
            aggregates.luks_and_clevis.items.push(item.clone());
        }
        let findings = adapter
            .validator()
            .check_vm(&view, &source_vm)
            .map_err(|e| adapter_error(&resolved, e))?;
        for finding in findings {
            record_finding(&mut aggregates, finding, &resolved, observed);
        }
        let conflicts = mac::check(
            &facts.macs,
            &destination_vms
                .iter()
                .filter(|d| !is_own_leftover(d, plan, &resolved.id))
                .map(|d| d.vm.clone())
                .collect::<Vec<_>>(),
        );
        if !conflicts.is_empty() {
            aggregates.mac_conflicts.items.push(item.clone());
            aggregates
                .mac_message
                .push(mac::describe(&item, &conflicts));
        }
        // Destination: a VM with the target name (or the source name) already exists.
        let target = if vm.target_name.is_empty() {
            &resolved.name
        } else {
            &vm.target_name
        };
        let exists = observed
            .destination_vms
            .iter()
            .any(|d| d.vm.namespace == plan.spec.target_namespace && d.vm.name == *target);
        if exists && plan.status.migration.find_vm(&resolved).is_none() {
            aggregates.already_exists.items.push(item.clone());
        }
        // Name templates.
        let template = pvc_name_template(plan, &resolved.id, source_is_openshift, settings);
        if !template.is_empty() {
            let new_name = plan
                .status
                .migration
                .vms
                .iter()
                .find(|s| s.vm.id == resolved.id)
                .map(|s| s.new_name.as_str());
            let target_vm_name = resolve_target_vm_name(
                Some(vm.target_name.as_str()),
                new_name,
                &resolved.id,
                &resolved.name,
            );
            let data = adapter
                .builder()
                .pvc_name_data(&view, &source_vm, &target_vm_name)
                .map_err(|e| adapter_error(&resolved, e))?;
            if let Some(error) = data
                .iter()
                .find_map(|d| template::validate_pvc_name(&template, d).err())
            {
                aggregates
                    .pvc_name_invalid
                    .items
                    .push(format!("{item} template:{template} error:{error}"));
            }
        }
        if template::validate_volume_name_template(&vm.volume_name_template).is_err() {
            aggregates.volume_name_invalid.items.push(item.clone());
        }
        if template::validate_network_name_template(&vm.network_name_template).is_err() {
            aggregates.network_name_invalid.items.push(item.clone());
        }
    }
    for condition in aggregates.into_conditions() {
        out.set(condition);
    }
    Ok(())
}

/// Ferry: a target VM that this plan created for this VM in an earlier, failed run is not
/// a MAC conflict when the re-run will delete it (`deleteVmOnFailMigration`); upstream
/// blocks the re-run until the user deletes it (see `docs/compatibility.md`).
fn is_own_leftover(
    destination: &crate::observe::DestinationVmInfo,
    plan: &Plan,
    vm_id: &str,
) -> bool {
    let uid = plan.metadata.uid.as_deref().unwrap_or_default();
    let ours = !uid.is_empty()
        && destination.labels.get(labels::PLAN).map(String::as_str) == Some(uid)
        && destination.labels.get(labels::VM_ID).map(String::as_str) == Some(vm_id);
    let delete_on_fail = plan.spec.delete_vm_on_fail_migration()
        || plan
            .spec
            .vms
            .iter()
            .any(|vm| vm.id == vm_id && vm.delete_vm_on_fail_migration);
    let failed = plan
        .status
        .migration
        .vms
        .iter()
        .any(|s| s.vm.id == vm_id && !s.conditions.has(&[types::SUCCEEDED]));
    ours && delete_on_fail && failed
}

fn record_finding(aggregates: &mut Aggregates, finding: VmFinding, vm: &Ref, observed: &Observed) {
    let item = vm.to_string();
    match finding {
        VmFinding::NetworksNotMapped => aggregates.unmapped_network.items.push(item),
        VmFinding::StorageNotMapped => aggregates.unmapped_storage.items.push(item),
        VmFinding::StorageNotSupported => aggregates.unsupported_storage.items.push(item),
        VmFinding::HostInMaintenance => aggregates.maintenance_mode.items.push(item),
        VmFinding::MissingGuestIps => aggregates.missing_static_ips.items.push(item),
        VmFinding::IpNotMatchingUdnSubnet => aggregates.udn_subnet.items.push(item),
        VmFinding::PowerStateUnsupported => aggregates.power_state.items.push(item),
        VmFinding::MigrationTypeUnsupported => aggregates.migration_type.items.push(item),
        VmFinding::GuestToolsIssue => aggregates.guest_tools.items.push(item),
        VmFinding::InvalidDiskSizes { .. } => aggregates.invalid_disk_sizes.items.push(item),
        VmFinding::SharedDisks {
            category: cat,
            message,
        } => {
            let message = if message.is_empty() {
                "VMs with shared disk can not be migrated.".to_string()
            } else {
                message
            };
            aggregates.shared_disks.push(
                Condition::new(types::shared_disks(&vm.id, &cat), cat)
                    .with_message(message)
                    .with_items([item]),
            );
        }
        VmFinding::MissingChangedBlockTracking => {
            if observed.plan.is_warm() {
                aggregates.missing_cbt.items.push(item);
            }
        }
        VmFinding::HasSnapshots { message } => {
            if observed.plan.is_warm() {
                aggregates.warm_snapshots.items.push(item);
                if let Some(message) = message {
                    aggregates.warm_snapshots.condition.message = message;
                }
            }
        }
        VmFinding::ConsolidationNeeded => {
            if observed.plan.is_warm() {
                aggregates.consolidation.items.push(item);
            }
        }
        VmFinding::MissingPvcForOnlyConversion => aggregates.missing_pvc.items.push(item),
        VmFinding::VddkAndOffloadMixed => aggregates.vddk_and_offload.items.push(item),
        VmFinding::RdmDisks => aggregates.rdm.items.push(item),
        VmFinding::IndependentDisks => aggregates.independent.items.push(item),
        VmFinding::NetAppShiftSnapshots => aggregates.shift_snapshots.items.push(item),
        VmFinding::NetAppShiftNasMissing { datastore } => {
            aggregates.shift_nas.items.push(datastore);
        }
    }
}
