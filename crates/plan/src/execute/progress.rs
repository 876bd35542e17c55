//! Progress of the disk and conversion steps (plan spec §4.7): from DataVolumes and
//! PVCs (CDI copies and blank allocations), from the conversion pod or its `Conversion`
//! resource, and from virt-v2v's metrics.

use super::objects::{self, matching};
use crate::adapter::Builder;
use crate::kubevirt::{Run, labels, parse};
use crate::observe::Destination;
use ferry_api::conversion::{ConversionPhase, ConversionType};
use ferry_api::destination::cdi::{condition as dv_condition, phase as dv_phase};
use ferry_api::k8s_openapi::api::core::v1::Pod;
use ferry_api::labels as keys;
use ferry_api::plan::{Step, Task, step_phase};
use ferry_api::{Conversion, Time};

/// The reason of a completed transfer task.
pub const TRANSFER_COMPLETED: &str = "Transfer completed.";

/// Upstream `setTaskCompleted`.
fn task_completed(task: &mut Task, now: &Time) {
    task.phase = step_phase::COMPLETED.to_string();
    task.reason = TRANSFER_COMPLETED.to_string();
    task.progress.completed = task.progress.total;
    task.timed.mark_completed(now);
}

/// Upstream `updateCopyProgress`: each DataVolume (VM labels without the migration)
/// updates the task with its identity; without DataVolumes, each bound PVC of the run
/// completes its task. Then the step reflects its tasks.
pub fn copy(
    run: &Run<'_>,
    vm_id: &str,
    step: &mut Step,
    destination: &Destination,
    builder: &dyn Builder,
    requires_conversion: bool,
    now: &Time,
) {
    let mut pending_reason = String::new();
    let mut pending = 0;
    let mut running = 0;
    let mut completed = 0;
    let all_runs = labels::vm(run, vm_id, false);
    let dvs: Vec<_> = matching(&destination.data_volumes, &all_runs).collect();
    let mut pvc_count = 0;
    if dvs.is_empty() {
        let selector = labels::Labels::from([
            (keys::VM_ID.to_string(), vm_id.to_string()),
            (keys::MIGRATION.to_string(), run.migration_uid().to_string()),
        ]);
        for pvc in matching(&destination.pvcs, &selector) {
            if objects::annotation(pvc, keys::annotation::LUN).is_some() {
                continue;
            }
            pvc_count += 1;
            let identity = builder.resolve_data_volume_identifier(
                pvc.metadata
                    .annotations
                    .as_ref()
                    .unwrap_or(&Default::default()),
            );
            let Some(task) = step.find_task_mut(&identity) else {
                continue;
            };
            if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound") {
                completed += 1;
                task_completed(task, now);
            }
        }
    } else {
        for dv in &dvs {
            let identity = builder.resolve_data_volume_identifier(
                dv.metadata
                    .annotations
                    .as_ref()
                    .unwrap_or(&Default::default()),
            );
            let Some(task) = step.find_task_mut(&identity) else {
                continue;
            };
            let mut phase = dv.status.phase.as_deref().unwrap_or_default();
            if phase == dv_phase::PENDING_POPULATION && requires_conversion {
                // The conversion pod is the PVC's first consumer.
                phase = dv_phase::SUCCEEDED;
            }
            let reason = |r#type: &str| {
                dv.condition(r#type).map(|c| {
                    format!(
                        "{}; {}",
                        c.reason.as_deref().unwrap_or_default(),
                        c.message.as_deref().unwrap_or_default()
                    )
                })
            };
            match phase {
                dv_phase::SUCCEEDED => {
                    completed += 1;
                    task_completed(task, now);
                }
                dv_phase::PENDING | dv_phase::IMPORT_SCHEDULED | dv_phase::PAUSED => {
                    pending += 1;
                    task.phase = step_phase::PENDING.to_string();
                    let bound = dv
                        .condition(dv_condition::BOUND)
                        .is_some_and(|c| c.status == "True");
                    let found = if bound {
                        reason(dv_condition::RUNNING)
                    } else {
                        reason(dv_condition::BOUND)
                    };
                    if let Some(found) = found {
                        pending_reason = found;
                    }
                    task.reason = pending_reason.clone();
                }
                dv_phase::IMPORT_IN_PROGRESS => {
                    running += 1;
                    task.phase = step_phase::RUNNING.to_string();
                    task.timed.mark_started(now);
                    if let Some(found) = reason(dv_condition::RUNNING) {
                        task.reason = found;
                    }
                    let fraction = dv.progress_fraction().unwrap_or(0.0).clamp(0.0, 1.0);
                    task.progress.completed = (fraction * task.progress.total as f64) as i64;
                }
                dv_phase::FAILED => {
                    // Upstream leaves a failed import to the importer's restart limit;
                    // CDI reports it here, and Ferry fails the task with its reason.
                    task.add_error([reason(dv_condition::RUNNING)
                        .unwrap_or_else(|| "DataVolume import failed".to_string())]);
                    task.timed.mark_completed(now);
                }
                _ => {}
            }
        }
    }
    step.reflect_tasks(now);
    if pending > 0 {
        step.task.phase = step_phase::PENDING.to_string();
        step.task.reason = pending_reason;
    } else if running > 0 {
        step.task.phase = step_phase::RUNNING.to_string();
        step.task.reason.clear();
    } else if (!dvs.is_empty() && completed == dvs.len())
        || (dvs.is_empty() && completed == pvc_count)
    {
        // Upstream also takes the PVC count (0 when there are DataVolumes) and so marks a
        // step whose DataVolumes have not started `Completed`; Ferry does not.
        step.task.phase = step_phase::COMPLETED.to_string();
        step.task.reason.clear();
    }
}

/// The guest `Conversion` of a VM (types `Remote` or `InPlace`) of this plan.
pub fn guest_conversion<'a>(
    run: &Run<'_>,
    vm_id: &str,
    conversions: &'a crate::observe::Objects<Conversion>,
) -> Option<&'a Conversion> {
    let selector = labels::Labels::from([
        (keys::PLAN.to_string(), run.plan_uid().to_string()),
        (keys::VM_ID.to_string(), vm_id.to_string()),
    ]);
    matching(conversions, &selector).find(|c| {
        matches!(
            c.spec.r#type,
            ConversionType::Remote | ConversionType::InPlace
        )
    })
}

/// Where a conversion stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConversionState {
    /// The step was completed (successfully or with an error).
    Finished,
    /// The pod runs, at this IP.
    Running(String),
    /// Nothing to read yet.
    Waiting,
}

/// Upstream `updateConversionProgress`: the pod's phase (or, without a pod, the
/// Conversion resource's) completes the step.
pub fn conversion(
    step: &mut Step,
    pod: Option<&Pod>,
    guest: Option<&Conversion>,
    use_conversion_cr: bool,
    now: &Time,
) -> ConversionState {
    let Some(pod) = pod else {
        if use_conversion_cr {
            let Some(guest) = guest else {
                return ConversionState::Waiting;
            };
            let message = guest.status.message.as_str();
            match &guest.status.phase {
                Some(ConversionPhase::Succeeded) => {
                    step.task.timed.mark_completed(now);
                    step.task.progress.completed = step.task.progress.total;
                }
                Some(ConversionPhase::Failed) => {
                    step.task.timed.mark_completed(now);
                    step.task.add_error([if message.is_empty() {
                        "Guest conversion failed."
                    } else {
                        message
                    }]);
                }
                Some(ConversionPhase::Canceled) => {
                    step.task.timed.mark_completed(now);
                    step.task.add_error([if message.is_empty() {
                        "Guest conversion was canceled."
                    } else {
                        message
                    }]);
                }
                _ => return ConversionState::Waiting,
            }
            return ConversionState::Finished;
        }
        step.task.timed.mark_completed(now);
        step.task.add_error(["Guest conversion pod not found"]);
        return ConversionState::Finished;
    };
    let status = pod.status.as_ref();
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Succeeded") => {
            step.task.timed.mark_completed(now);
            step.task.progress.completed = step.task.progress.total;
            for task in &mut step.tasks {
                task.progress.completed = task.progress.total;
            }
            ConversionState::Finished
        }
        Some("Failed") => {
            step.task.timed.mark_completed(now);
            step.task
                .add_error(["Guest conversion failed. See pod logs for details."]);
            ConversionState::Finished
        }
        _ => match status
            .and_then(|s| s.pod_ip.clone())
            .filter(|ip| !ip.is_empty())
        {
            Some(ip) if status.and_then(|s| s.phase.as_deref()) == Some("Running") => {
                ConversionState::Running(ip)
            }
            _ => ConversionState::Waiting,
        },
    }
}

/// Upstream `updateConversionProgressV2vMonitor`: `v2v_disk_transfers` lines set the
/// disk tasks' progress in `DiskTransferV2v`; any line completes the task-less
/// `ImageConversion` step (so the VM moves on to the copy phase).
pub fn v2v_metrics(step: &mut Step, metrics: &str, vsphere: bool, now: &Time) {
    let progress = parse::disk_progress(metrics);
    if progress.is_empty() {
        return;
    }
    let mut some_progress = false;
    let copying = step.task.name == ferry_api::phase::step::DISK_TRANSFER_V2V;
    for disk in progress {
        some_progress |= disk.percent > 0.0;
        let Some(task) = step.tasks.get_mut(disk.disk - 1) else {
            continue;
        };
        if copying {
            task.progress.completed = (task.progress.total as f64 * disk.percent / 100.0) as i64;
        }
    }
    step.reflect_tasks(now);
    if step.task.name == ferry_api::phase::step::IMAGE_CONVERSION && some_progress && vsphere {
        step.task.timed.mark_completed(now);
        step.task.progress.completed = step.task.progress.total;
    }
}
