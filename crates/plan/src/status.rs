//! The only writer of Plan status: a full replace of the status subresource (as upstream's
//! `Status().Update`), guarded by the `resourceVersion` of the Plan as read, and skipped
//! when nothing but timestamps would change.

use ferry_api::Plan;
use ferry_api::plan::PlanStatus;
use kube::api::{Api, PostParams};

/// A status write failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The status could not be serialized (never expected).
    #[error("serializing the plan status: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The API server refused the write.
    #[error("writing the status of plan {plan}: {source}")]
    Write {
        /// `namespace/name`.
        plan: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

impl StatusError {
    /// Whether the plan changed since it was read (HTTP 409): reconcile again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Write { source: kube::Error::Api(status), .. } if status.code == 409)
    }
}

/// Drops every `lastTransitionTime`, so two statuses compare on content only.
fn strip_times(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("lastTransitionTime");
            for item in map.values_mut() {
                strip_times(item);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_times),
        _ => {}
    }
}

/// Whether `a` and `b` differ in more than condition transition times.
pub fn changed(a: &PlanStatus, b: &PlanStatus) -> Result<bool, serde_json::Error> {
    let mut a = serde_json::to_value(a)?;
    let mut b = serde_json::to_value(b)?;
    strip_times(&mut a);
    strip_times(&mut b);
    Ok(a != b)
}

/// Writes `status` onto `plan` (as read) unless it is unchanged. Returns the Plan the
/// server stored, or `None` when nothing was written.
pub async fn write(
    client: &kube::Client,
    plan: &Plan,
    status: &PlanStatus,
) -> Result<Option<Plan>, StatusError> {
    if !changed(&plan.status, status)? {
        return Ok(None);
    }
    let namespace = plan.metadata.namespace.clone().unwrap_or_default();
    let name = plan.metadata.name.clone().unwrap_or_default();
    let api: Api<Plan> = Api::namespaced(client.clone(), &namespace);
    let mut updated = plan.clone();
    updated.status = status.clone();
    // Only what the status subresource needs: the server keeps the stored spec.
    updated.metadata.managed_fields = None;
    match api
        .replace_status(&name, &PostParams::default(), &updated)
        .await
    {
        Ok(stored) => Ok(Some(stored)),
        Err(source) => Err(StatusError::Write {
            plan: format!("{namespace}/{name}"),
            source,
        }),
    }
}

/// The Plan status is kept under this many bytes of JSON (1.25 MiB): the whole Plan
/// object must stay under the API server's 1.5 MiB request limit, with room for the
/// spec (a thousand VMs take about 40 KiB) and metadata.
pub const STATUS_BUDGET: usize = 5 << 18;

/// How far [`compact`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compaction {
    /// The status fits: nothing left out.
    None,
    /// Steps that completed lost their per-disk tasks (each keeps its totals, reason
    /// and errors); running steps keep theirs.
    CompletedStepTasks,
    /// Queued VMs lost their pipelines (built again when they start).
    QueuedPipelines,
    /// Finished VMs' steps lost their timestamps and annotations too.
    FinishedSteps,
}

fn finished(vm: &ferry_api::plan::VmStatus) -> bool {
    vm.timed.completed.is_some()
}

fn queued(vm: &ferry_api::plan::VmStatus) -> bool {
    vm.timed.started.is_none() && vm.timed.completed.is_none()
}

/// Leaves detail out of a status larger than `budget` bytes, in order, until it fits:
/// the per-disk tasks of completed steps, the pipelines of queued VMs, then the step
/// timestamps and annotations of finished VMs. Nothing a running step or the engine
/// reads is left out: a completed step is never run again in the same run, and a
/// queued VM's pipeline is built again when it starts. Upstream writes the whole status and
/// fails on large plans (the write is refused); Ferry keeps what a running VM needs.
/// Idempotent, so a compacted status read back compares equal.
pub fn compact(status: &mut PlanStatus, budget: usize) -> Result<Compaction, serde_json::Error> {
    if size(status)? <= budget {
        return Ok(Compaction::None);
    }
    for vm in &mut status.migration.vms {
        for step in &mut vm.pipeline {
            if step.task.timed.completed.is_some() {
                step.tasks.clear();
            }
        }
    }
    if size(status)? <= budget {
        return Ok(Compaction::CompletedStepTasks);
    }
    for vm in status.migration.vms.iter_mut().filter(|vm| queued(vm)) {
        vm.pipeline.clear();
    }
    if size(status)? <= budget {
        return Ok(Compaction::QueuedPipelines);
    }
    for vm in status.migration.vms.iter_mut().filter(|vm| finished(vm)) {
        for step in &mut vm.pipeline {
            step.task.timed = Default::default();
            step.task.annotations.clear();
        }
    }
    Ok(Compaction::FinishedSteps)
}

/// The size of `status` as JSON, in bytes (what a write carries).
pub fn size(status: &PlanStatus) -> Result<usize, serde_json::Error> {
    Ok(serde_json::to_vec(status)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::condition::{Condition, Conditions};

    fn with_ready(time: i64) -> PlanStatus {
        let mut ready = Condition::new(ferry_api::condition::types::READY, "Required");
        ready.message = "The migration plan is ready.".into();
        ready.last_transition_time = ferry_api::time::seconds(
            jiff::Timestamp::from_second(time).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        );
        PlanStatus {
            conditions: Conditions::from(vec![ready]),
            ..PlanStatus::default()
        }
    }

    #[test]
    fn transition_times_alone_are_no_change() {
        assert!(!changed(&with_ready(1), &with_ready(2)).unwrap_or(true));
        let mut other = with_ready(1);
        other.observed_generation = 3;
        assert!(changed(&with_ready(1), &other).unwrap_or(false));
        assert!(changed(&PlanStatus::default(), &with_ready(1)).unwrap_or(false));
    }
}
