//! How a vSphere VM counts against `MAX_VM_INFLIGHT` (upstream
//! `scheduler/vsphere/scheduler.go`; plan spec §5): per ESXi host (`vm.host`), in cost
//! units.
//!
//! | path | free in | otherwise |
//! |---|---|---|
//! | virt-v2v transfer | `CreateVM`, `PostHook`, `Completed` | 1 |
//! | copy offload | those, `ConvertGuest`, `CreateGuestConversionPod` | 1 |
//! | CDI | those, `CopyingPaused` | the disks not yet copied |
//!
//! "Not yet copied" is the VM's disk count less its `Completed` tasks in the steps
//! `DiskTransfer`, `DiskTransferV2v` and `DiskAllocation`.

use super::validator::plan_uses_offload;
use crate::adapter::{PlanView, Schedule};
use ferry_api::phase::{self, step};
use ferry_api::plan::{VmStatus, step_phase};
use ferry_inventory::vsphere::Workload;

/// The VM's schedule in its current phase.
pub fn schedule(view: &PlanView<'_>, workload: &Workload, status: &VmStatus) -> Schedule {
    Schedule {
        key: workload.vm.host.clone(),
        cost: cost(view, workload, status),
    }
}

/// Upstream `cost(vm)`.
pub fn cost(view: &PlanView<'_>, workload: &Workload, status: &VmStatus) -> usize {
    let current = status.phase.as_str();
    let done = matches!(
        current,
        phase::CREATE_VM | phase::POST_HOOK | phase::COMPLETED
    );
    let converting = matches!(
        current,
        phase::CONVERT_GUEST | phase::CREATE_GUEST_CONVERSION_POD
    );
    let reference = ferry_api::Ref::with_id_and_name(
        workload.vm.base.id.clone(),
        workload.vm.base.name.clone(),
    );
    if view.should_use_v2v_for_transfer(&reference) {
        return usize::from(!done);
    }
    if plan_uses_offload(view) {
        return usize::from(!(done || converting));
    }
    if done || converting || current == phase::COPYING_PAUSED {
        return 0;
    }
    let copied = status
        .pipeline
        .iter()
        .filter(|s| {
            matches!(
                s.task.name.as_str(),
                step::DISK_TRANSFER | step::DISK_TRANSFER_V2V | step::DISK_ALLOCATION
            )
        })
        .flat_map(|s| &s.tasks)
        .filter(|task| task.phase == step_phase::COMPLETED)
        .count();
    workload.vm.disks().len().saturating_sub(copied)
}
