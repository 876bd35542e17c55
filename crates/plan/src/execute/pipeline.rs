//! Pipelines: the steps a VM's status reports (upstream `BaseMigrator.Pipeline`, `Step`,
//! `NextPhase`; plan spec §4.4).

use super::itinerary::{Itinerary, Next};
use ferry_api::Time;
use ferry_api::phase::{self, step};
use ferry_api::plan::{Progress, Step, Task, VmStatus, step_phase};
use std::collections::BTreeMap;

/// A pipeline that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// No phase of the itinerary creates a step (upstream `Empty pipeline.`).
    #[error("Empty pipeline.")]
    Empty,
    /// The disk tasks could not be built.
    #[error("{0}")]
    Tasks(String),
}

fn simple(name: &str, description: &str) -> Step {
    Step {
        task: Task {
            name: name.into(),
            description: description.into(),
            phase: step_phase::PENDING.into(),
            progress: Progress {
                completed: 0,
                total: 1,
            },
            ..Task::default()
        },
        tasks: Vec::new(),
    }
}

fn disks(name: &str, description: &str, tasks: Vec<Task>, phase: &str) -> Step {
    let total = tasks.iter().map(|t| t.progress.total).sum();
    Step {
        task: Task {
            name: name.into(),
            description: description.into(),
            phase: phase.into(),
            progress: Progress {
                completed: 0,
                total,
            },
            annotations: BTreeMap::from([(
                step::ANNOTATION_UNIT.to_string(),
                step::UNIT_MB.to_string(),
            )]),
            ..Task::default()
        },
        tasks,
    }
}

/// Upstream `Pipeline(vm)`: one step per step-creating phase of the itinerary, in order.
/// `tasks` gives the builder's per-disk tasks (called for each disk step).
pub fn build<F>(itinerary: &Itinerary, mut tasks: F) -> Result<Vec<Step>, PipelineError>
where
    F: FnMut() -> Result<Vec<Task>, String>,
{
    let mut pipeline = Vec::new();
    for name in itinerary.phases() {
        let step = match name {
            phase::STARTED => simple(step::INITIALIZE, step::INITIALIZE_DESCRIPTION),
            phase::PRE_HOOK => simple(step::PRE_HOOK, step::PRE_HOOK_DESCRIPTION),
            phase::ALLOCATE_DISKS => disks(
                step::DISK_ALLOCATION,
                step::DISK_ALLOCATION_DESCRIPTION,
                tasks().map_err(PipelineError::Tasks)?,
                step_phase::PENDING,
            ),
            phase::COPY_DISKS => disks(
                step::DISK_TRANSFER,
                step::DISK_TRANSFER_DESCRIPTION,
                tasks().map_err(PipelineError::Tasks)?,
                step_phase::PENDING,
            ),
            phase::COPY_DISKS_VIRT_V2V => disks(
                step::DISK_TRANSFER_V2V,
                step::DISK_TRANSFER_V2V_DESCRIPTION,
                tasks().map_err(PipelineError::Tasks)?,
                step_phase::PENDING,
            ),
            phase::CONVERT_OPENSTACK_SNAPSHOT => disks(
                step::CONVERT_OPENSTACK_SNAPSHOT,
                step::CONVERT_OPENSTACK_SNAPSHOT_DESCRIPTION,
                tasks().map_err(PipelineError::Tasks)?,
                step_phase::PENDING,
            ),
            // Upstream leaves the Cutover step's phase unset.
            phase::FINALIZE => disks(
                step::CUTOVER,
                step::CUTOVER_DESCRIPTION,
                tasks().map_err(PipelineError::Tasks)?,
                "",
            ),
            phase::CONVERT_GUEST => {
                simple(step::IMAGE_CONVERSION, step::IMAGE_CONVERSION_DESCRIPTION)
            }
            phase::POST_HOOK => simple(step::POST_HOOK, step::POST_HOOK_DESCRIPTION),
            phase::CREATE_VM => simple(
                step::VIRTUAL_MACHINE_CREATION,
                step::VIRTUAL_MACHINE_CREATION_DESCRIPTION,
            ),
            phase::WAIT_FOR_GUEST_REBOOTS => simple(
                step::WAIT_FOR_GUEST_REBOOTS,
                step::WAIT_FOR_GUEST_REBOOTS_DESCRIPTION,
            ),
            phase::PREFLIGHT_INSPECTION => simple(
                step::PREFLIGHT_INSPECTION,
                step::PREFLIGHT_INSPECTION_DESCRIPTION,
            ),
            phase::WAIT_FOR_FINAL_SNAPSHOT_REMOVAL => simple(
                step::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION,
                step::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION_DESCRIPTION,
            ),
            _ => continue,
        };
        pipeline.push(step);
    }
    if pipeline.is_empty() {
        return Err(PipelineError::Empty);
    }
    Ok(pipeline)
}

/// Upstream `BaseMigrator.Step`: the step a phase updates. `warm` is `IsWarm()`,
/// `preflight` is `ShouldRunPreflightInspection()`.
pub fn step_of(phase: &str, warm: bool, preflight: bool) -> &'static str {
    match phase {
        phase::STARTED
        | phase::CREATE_INITIAL_SNAPSHOT
        | phase::WAIT_FOR_INITIAL_SNAPSHOT
        | phase::STORE_INITIAL_SNAPSHOT_DELTAS => step::INITIALIZE,
        phase::ALLOCATE_DISKS => step::DISK_ALLOCATION,
        phase::COPY_DISKS
        | phase::COPYING_PAUSED
        | phase::REMOVE_PREVIOUS_SNAPSHOT
        | phase::WAIT_FOR_PREVIOUS_SNAPSHOT_REMOVAL
        | phase::CREATE_SNAPSHOT
        | phase::WAIT_FOR_SNAPSHOT
        | phase::STORE_SNAPSHOT_DELTAS
        | phase::ADD_CHECKPOINT
        | phase::CONVERT_OPENSTACK_SNAPSHOT => step::DISK_TRANSFER,
        phase::CREATE_DATA_VOLUMES => {
            if preflight {
                step::DISK_TRANSFER
            } else {
                step::INITIALIZE
            }
        }
        phase::REMOVE_PENULTIMATE_SNAPSHOT
        | phase::WAIT_FOR_PENULTIMATE_SNAPSHOT_REMOVAL
        | phase::CREATE_FINAL_SNAPSHOT
        | phase::WAIT_FOR_FINAL_SNAPSHOT
        | phase::ADD_FINAL_CHECKPOINT
        | phase::FINALIZE
        | phase::REMOVE_FINAL_SNAPSHOT => step::CUTOVER,
        phase::CREATE_GUEST_CONVERSION_POD | phase::CONVERT_GUEST => step::IMAGE_CONVERSION,
        phase::COPY_DISKS_VIRT_V2V => step::DISK_TRANSFER_V2V,
        phase::CREATE_VM => step::VIRTUAL_MACHINE_CREATION,
        phase::WAIT_FOR_GUEST_REBOOTS => step::WAIT_FOR_GUEST_REBOOTS,
        phase::PRE_HOOK => step::PRE_HOOK,
        phase::POST_HOOK => step::POST_HOOK,
        phase::STORE_POWER_STATE | phase::POWER_OFF_SOURCE | phase::WAIT_FOR_POWER_OFF => {
            if warm {
                step::CUTOVER
            } else {
                step::INITIALIZE
            }
        }
        phase::PREFLIGHT_INSPECTION => step::PREFLIGHT_INSPECTION,
        phase::WAIT_FOR_FINAL_SNAPSHOT_REMOVAL => step::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION,
        _ => step::UNKNOWN,
    }
}

/// How a VM's steps are found: the itinerary plus the two plan facts `step_of` needs.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The VM's itinerary.
    pub itinerary: Itinerary,
    /// `IsWarm()`.
    pub warm: bool,
    /// `ShouldRunPreflightInspection()`.
    pub preflight: bool,
}

impl Route {
    /// The step of the VM's current phase.
    pub fn step(&self, vm: &VmStatus) -> &'static str {
        step_of(&vm.phase, self.warm, self.preflight)
    }
}

/// Marks a step completed with phase `Completed`.
fn complete(step: &mut Step, now: &Time) {
    step.task.timed.mark_completed(now);
    step.task.phase = step_phase::COMPLETED.into();
}

/// Upstream `NextPhase`: moves the VM to the itinerary's next phase; when the step
/// changes, the current step is completed and the next one started (phase `Running`).
/// A missing step is recorded as a VM error.
pub fn next_phase(vm: &mut VmStatus, route: &Route, now: &Time) {
    let current = route.step(vm);
    if vm.find_step(current).is_none() {
        vm.add_error([format!("Step '{current}' not found")]);
        return;
    }
    vm.phase = match route.itinerary.next(&vm.phase) {
        Next::Phase(next) => next.to_string(),
        Next::Done => phase::COMPLETED.to_string(),
    };
    if vm.phase == phase::COMPLETED {
        if let Some(step) = vm.find_step_mut(current) {
            complete(step, now);
        }
        return;
    }
    let next = route.step(vm);
    if vm.find_step(next).is_none() {
        vm.add_error([format!("Next step '{next}' not found")]);
        return;
    }
    if next != current {
        if let Some(step) = vm.find_step_mut(current) {
            complete(step, now);
        }
        if let Some(step) = vm.find_step_mut(next) {
            step.task.timed.mark_started(now);
            step.task.phase = step_phase::RUNNING.into();
        }
    }
}

/// Marks every started step completed (cancel, blocker failure).
pub fn complete_started_steps(vm: &mut VmStatus, now: &Time) {
    for step in &mut vm.pipeline {
        if step.task.timed.marked_started() {
            step.task.timed.mark_completed(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::itinerary::{Flags, Kind};
    use super::*;
    use ferry_api::plan::Vm;

    fn now() -> Time {
        ferry_api::time::parse("2024-05-01T10:00:00Z").unwrap()
    }

    fn v2v() -> Itinerary {
        Itinerary {
            kind: Kind::Cold,
            flags: Flags {
                requires_conversion: true,
                v2v_disk_copy: true,
                ..Flags::default()
            },
        }
    }

    fn disk_tasks() -> Result<Vec<Task>, String> {
        let mut a = Task::new("[ds1] web01/web01.vmdk", 10240);
        a.annotations.insert("unit".into(), "MB".into());
        let mut b = Task::new("[ds1] web01/web01_1.vmdk", 1024);
        b.annotations.insert("unit".into(), "MB".into());
        Ok(vec![a, b])
    }

    /// Conformance case 28's pipeline.
    #[test]
    fn virt_v2v_pipeline() {
        let pipeline = build(&v2v(), disk_tasks).unwrap();
        let names: Vec<_> = pipeline.iter().map(|s| s.task.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Initialize",
                "DiskAllocation",
                "ImageConversion",
                "DiskTransferV2v",
                "VirtualMachineCreation"
            ]
        );
        let allocation = &pipeline[1];
        assert_eq!(allocation.task.description, "Allocate disks.");
        assert_eq!(allocation.task.progress.total, 11264);
        assert_eq!(allocation.task.annotations["unit"], "MB");
        assert_eq!(allocation.task.phase, "Pending");
        assert_eq!(allocation.tasks.len(), 2);
        assert_eq!(pipeline[3].task.description, "Copy disks.");
        assert_eq!(pipeline[0].task.progress.total, 1);
        let json = serde_json::to_value(&pipeline[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "Initialize",
                "description": "Initialize migration.",
                "phase": "Pending",
                "progress": {"completed": 0, "total": 1}
            })
        );
    }

    /// Conformance case 29's pipeline.
    #[test]
    fn cdi_pipeline() {
        let itinerary = Itinerary {
            kind: Kind::Cold,
            flags: Flags {
                requires_conversion: true,
                vsphere: true,
                ..Flags::default()
            },
        };
        let names: Vec<_> = build(&itinerary, disk_tasks)
            .unwrap()
            .into_iter()
            .map(|s| s.task.name)
            .collect();
        assert_eq!(
            names,
            [
                "Initialize",
                "DiskTransfer",
                "ImageConversion",
                "VirtualMachineCreation"
            ]
        );
    }

    #[test]
    fn warm_cutover_step_has_no_phase() {
        let warm = Itinerary {
            kind: Kind::Warm,
            flags: Flags {
                requires_conversion: true,
                ..Flags::default()
            },
        };
        let pipeline = build(&warm, disk_tasks).unwrap();
        let cutover = pipeline.iter().find(|s| s.task.name == "Cutover").unwrap();
        assert_eq!(cutover.task.phase, "");
        assert_eq!(cutover.task.description, "Finalize disk transfer.");
    }

    #[test]
    fn task_errors_fail_the_build() {
        assert_eq!(
            build(&v2v(), || Err("no disks".into())),
            Err(PipelineError::Tasks("no disks".into()))
        );
    }

    #[test]
    fn step_mapping() {
        assert_eq!(step_of("StorePowerState", false, false), "Initialize");
        assert_eq!(step_of("StorePowerState", true, false), "Cutover");
        assert_eq!(step_of("CreateDataVolumes", false, false), "Initialize");
        assert_eq!(step_of("CreateDataVolumes", true, true), "DiskTransfer");
        assert_eq!(
            step_of("CreateGuestConversionPod", false, false),
            "ImageConversion"
        );
        assert_eq!(step_of("CopyDisksVirtV2V", false, false), "DiskTransferV2v");
        assert_eq!(
            step_of("ConvertOpenstackSnapshot", false, false),
            "DiskTransfer"
        );
        assert_eq!(step_of("Nope", false, false), "Unknown");
    }

    /// Every transition of the virt-v2v itinerary, with its step bookkeeping.
    #[test]
    fn next_phase_walks_the_itinerary() {
        let itinerary = v2v();
        let route = Route {
            itinerary,
            warm: false,
            preflight: false,
        };
        let mut vm = VmStatus::new(Vm::with_id("vm-1"), "Started");
        vm.pipeline = build(&itinerary, disk_tasks).unwrap();
        let mut seen = vec![vm.phase.clone()];
        while vm.phase != "Completed" {
            next_phase(&mut vm, &route, &now());
            seen.push(vm.phase.clone());
        }
        assert_eq!(seen, itinerary.phases());
        assert!(vm.error.is_none());
        for step in &vm.pipeline {
            assert_eq!(step.task.phase, "Completed", "{}", step.task.name);
            assert!(step.task.timed.marked_completed());
        }
        // Initialize spans the power phases: it completes when CreateDataVolumes hands
        // over to AllocateDisks.
        let mut vm = VmStatus::new(Vm::with_id("vm-1"), "WaitForPowerOff");
        vm.pipeline = build(&itinerary, disk_tasks).unwrap();
        next_phase(&mut vm, &route, &now());
        assert_eq!(vm.phase, "CreateDataVolumes");
        assert_eq!(vm.pipeline[0].task.phase, "Pending");
        next_phase(&mut vm, &route, &now());
        assert_eq!(vm.phase, "AllocateDisks");
        assert_eq!(vm.pipeline[0].task.phase, "Completed");
        assert_eq!(vm.pipeline[1].task.phase, "Running");
    }

    #[test]
    fn a_missing_step_is_a_vm_error() {
        let route = Route {
            itinerary: v2v(),
            warm: false,
            preflight: false,
        };
        let mut vm = VmStatus::new(Vm::with_id("vm-1"), "Started");
        next_phase(&mut vm, &route, &now());
        assert_eq!(vm.phase, "Started");
        let error = vm.error.unwrap();
        assert_eq!(error.phase, "Started");
        assert_eq!(error.reasons, ["Step 'Initialize' not found"]);
    }
}
