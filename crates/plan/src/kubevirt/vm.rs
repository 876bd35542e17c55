//! The target VirtualMachine (plan spec §6.7): the provider's part (disks, firmware, CPU,
//! memory, networks) from the adapter, wrapped with upstream's metadata, labels,
//! annotations, run strategy and the plan's template settings.

use super::{Run, labels};
use ferry_api::destination::VirtualMachine;
use ferry_api::destination::kubevirt::run_strategy;
use ferry_api::k8s_openapi::api::core::v1::PersistentVolumeClaim;
use ferry_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use ferry_api::labels::{self as keys, annotation};
use ferry_api::plan::{TargetPowerState, VmStatus, power_state};
use serde_json::json;
use std::collections::BTreeMap;

/// The target VM's name: `newName`, else the source name.
pub fn target_name(vm: &VmStatus) -> &str {
    if vm.new_name.is_empty() {
        &vm.vm.name
    } else {
        &vm.new_name
    }
}

/// Upstream `determineRunStrategy`: `Always` for a Windows guest while waiting for its
/// reboots (unless the target state is `off`), else by the target power state (VM's,
/// else plan's): `on` → `Always`, `off` → `Halted`, otherwise the source's state before
/// the migration (`On` → `Always`, anything else `Halted`).
pub fn run_strategy(run: &Run<'_>, vm: &VmStatus, windows: bool) -> &'static str {
    let target = run.plan.spec.vm_target_power_state(&vm.vm);
    if run.settings.windows_wait_for_reboot && target != Some(&TargetPowerState::Off) && windows {
        return run_strategy::ALWAYS;
    }
    match target {
        Some(TargetPowerState::On) => run_strategy::ALWAYS,
        Some(TargetPowerState::Off) => run_strategy::HALTED,
        _ if vm.restore_power_state == power_state::ON => run_strategy::ALWAYS,
        _ => run_strategy::HALTED,
    }
}

/// The labels the VirtualMachine is created with (and found by: the VM labels of the
/// current run).
pub fn vm_labels(run: &Run<'_>, vm_id: &str) -> labels::Labels {
    labels::vm(run, vm_id, true)
}

/// Wraps the adapter's VirtualMachine with upstream's metadata and template settings.
pub fn virtual_machine(
    run: &Run<'_>,
    vm: &VmStatus,
    built: VirtualMachine,
    windows: bool,
) -> VirtualMachine {
    let mut object = built;
    let name = target_name(vm).to_string();
    let spec = &run.plan.spec;
    object.metadata.name = Some(name.clone());
    object.metadata.generate_name = None;
    object.metadata.namespace = Some(run.target_namespace().to_string());
    let mut object_labels = object.metadata.labels.take().unwrap_or_default();
    object_labels.extend(vm_labels(run, &vm.vm.id));
    if run.source.requires_conversion() {
        object_labels.insert(
            keys::GUEST_CONVERTED.into(),
            (!spec.skip_guest_conversion).to_string(),
        );
    }
    object.metadata.labels = Some(object_labels);
    if !vm.new_name.is_empty() {
        let annotations = object
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new);
        annotations.insert(annotation::DISPLAY_NAME.into(), vm.vm.name.clone());
        annotations.insert(annotation::ORIGINAL_ID.into(), vm.vm.id.clone());
    }
    if !vm.vm.instance_type.is_empty() {
        object.spec.extra.insert(
            "instancetype".into(),
            json!({ "name": vm.vm.instance_type }),
        );
    }
    let template = &mut object.spec.template;
    let meta = template.metadata.get_or_insert_with(Default::default);
    let template_labels = meta.labels.get_or_insert_with(BTreeMap::new);
    template_labels.extend(spec.target_labels.clone());
    template_labels.insert(keys::APP.into(), name);
    let template_annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
    for key in [
        annotation::VM_FLAVOR,
        annotation::VM_OS,
        annotation::VM_WORKLOAD,
    ] {
        template_annotations.entry(key.into()).or_default();
    }
    if !spec.target_node_selector.is_empty() {
        template
            .spec
            .node_selector
            .extend(spec.target_node_selector.clone());
    }
    if let Some(affinity) = &spec.target_affinity {
        template.spec.extra.insert(
            "affinity".into(),
            serde_json::to_value(affinity).unwrap_or_default(),
        );
    }
    object.spec.run_strategy = Some(run_strategy(run, vm, windows).to_string());
    object.spec.running = None;
    object
}

/// The owner reference PVCs get once the VM exists (upstream `vmOwnerReference`):
/// `kubevirt.io/v1 VirtualMachine`, not a controller, blocking owner deletion.
pub fn owner_reference(vm: &VirtualMachine) -> OwnerReference {
    OwnerReference {
        api_version: "kubevirt.io/v1".into(),
        kind: "VirtualMachine".into(),
        name: vm.metadata.name.clone().unwrap_or_default(),
        uid: vm.metadata.uid.clone().unwrap_or_default(),
        controller: Some(false),
        block_owner_deletion: Some(true),
    }
}

/// Whether a PVC's owner references are exactly the VM's.
pub fn owned_by(pvc: &PersistentVolumeClaim, vm: &VirtualMachine) -> bool {
    pvc.metadata.owner_references.as_deref() == Some(&[owner_reference(vm)][..])
}
