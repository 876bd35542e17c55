//! The blocker grace period (upstream `failExecutingMigrationOnBlocker`, plan spec §3.9):
//! a Critical or Error condition that sits on an executing plan for longer than the grace
//! period fails the run.

use super::pipeline::complete_started_steps;
use super::snapshot::is_terminal;
use crate::conditions;
use ferry_api::Time;
use ferry_api::condition::{Condition, types};
use ferry_api::phase;
use ferry_api::plan::PlanStatus;
use std::time::Duration;

/// What the blocker check decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The plan is not executing a run the check applies to.
    NotExecuting,
    /// Blockers are younger than the grace period; check again at this time.
    Waiting(Time),
    /// The run was failed.
    Failed,
}

fn deadline(condition: &Condition, grace: Duration) -> Time {
    let grace = jiff::SignedDuration::try_from(grace).unwrap_or(jiff::SignedDuration::MAX);
    Time(
        condition
            .last_transition_time
            .0
            .checked_add(grace)
            .unwrap_or(jiff::Timestamp::MAX),
    )
}

fn describe(condition: &Condition) -> String {
    if condition.message.is_empty() {
        format!(
            "{} (category={}, reason={})",
            condition.r#type, condition.category, condition.reason
        )
    } else {
        condition.message.clone()
    }
}

/// Fails the executing run when a blocker is at least `grace` old. Every VM that has not
/// ended gets the failure, in its error and conditions, and is completed.
pub fn check(status: &mut PlanStatus, grace: Duration, now: &Time) -> Blocked {
    let Some(snapshot) = status.migration.active_snapshot() else {
        return Blocked::NotExecuting;
    };
    if !snapshot.conditions.has(&[types::EXECUTING]) || is_terminal(snapshot) {
        return Blocked::NotExecuting;
    }
    let blockers: Vec<Condition> = status.conditions.blockers().cloned().collect();
    let expired: Vec<String> = blockers
        .iter()
        .filter(|c| deadline(c, grace).0 <= now.0)
        .map(describe)
        .collect();
    if expired.is_empty() {
        return match blockers
            .iter()
            .map(|c| deadline(c, grace))
            .min_by_key(|t| t.0)
        {
            Some(first) => Blocked::Waiting(first),
            None => Blocked::NotExecuting,
        };
    }
    let failed = conditions::failed_by_blocker(&expired);
    status.migration.timed.completed = Some(ferry_api::time::seconds(now.0));
    if let Some(snapshot) = status.migration.active_snapshot_mut() {
        snapshot.conditions.delete(&[types::EXECUTING]);
        snapshot.conditions.set(failed.clone(), now);
    }
    status.conditions.delete(&[types::EXECUTING]);
    status.conditions.set(failed.clone(), now);
    for vm in &mut status.migration.vms {
        if vm
            .conditions
            .has_any(&[types::SUCCEEDED, types::FAILED, types::CANCELED])
        {
            continue;
        }
        vm.conditions.set(failed.clone(), now);
        vm.add_error([failed.message.clone()]);
        vm.phase = phase::COMPLETED.to_string();
        vm.timed.mark_completed(now);
        complete_started_steps(vm, now);
    }
    Blocked::Failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::condition::category;
    use ferry_api::plan::{Snapshot, Vm, VmStatus};

    fn at(s: &str) -> Time {
        ferry_api::time::parse(s).unwrap()
    }

    fn executing(now: &Time) -> PlanStatus {
        let mut status = PlanStatus::default();
        let mut snapshot = Snapshot::default();
        snapshot.conditions.set(conditions::executing(), now);
        status.migration.history.push(snapshot);
        status.conditions.set(conditions::executing(), now);
        let mut running = VmStatus::new(Vm::with_id("vm-1"), "CopyDisksVirtV2V");
        running.timed.mark_started(now);
        let mut done = VmStatus::new(Vm::with_id("vm-2"), "Completed");
        done.conditions.set(conditions::vm_succeeded(), now);
        status.migration.vms = vec![running, done];
        status
    }

    /// Conformance case 41.
    #[test]
    fn a_blocker_fails_the_run_after_the_grace_period() {
        let start = at("2024-05-01T10:00:00Z");
        let mut status = executing(&start);
        status
            .conditions
            .set(conditions::source_provider_not_ready(), &start);
        let grace = Duration::from_secs(300);
        assert_eq!(
            check(&mut status, grace, &at("2024-05-01T10:04:59Z")),
            Blocked::Waiting(at("2024-05-01T10:05:00Z"))
        );
        let later = at("2024-05-01T10:05:00Z");
        assert_eq!(check(&mut status, grace, &later), Blocked::Failed);
        let message = "The migration has FAILED due to a validation blocker: The source provider does not have the Ready condition.";
        let failed = status.conditions.find(types::FAILED).unwrap();
        assert_eq!(failed.message, message);
        assert_eq!(failed.category, category::ADVISORY);
        assert!(failed.durable);
        assert!(status.conditions.find(types::EXECUTING).is_none());
        let snapshot = status.migration.active_snapshot().unwrap();
        assert!(snapshot.conditions.find(types::EXECUTING).is_none());
        assert_eq!(
            snapshot.conditions.find(types::FAILED).unwrap().message,
            message
        );
        assert_eq!(status.migration.timed.completed, Some(later.clone()));
        let vm = &status.migration.vms[0];
        assert_eq!(vm.phase, "Completed");
        assert_eq!(vm.timed.completed, Some(later.clone()));
        assert_eq!(vm.error.as_ref().unwrap().phase, "CopyDisksVirtV2V");
        assert_eq!(vm.error.as_ref().unwrap().reasons, [message]);
        assert!(vm.conditions.find(types::SUCCEEDED).is_none());
        assert!(
            status.migration.vms[1]
                .conditions
                .find(types::FAILED)
                .is_none()
        );
        // Once failed, the check no longer applies.
        assert_eq!(check(&mut status, grace, &later), Blocked::NotExecuting);
    }

    #[test]
    fn messageless_blockers_are_described() {
        let start = at("2024-05-01T10:00:00Z");
        let mut status = executing(&start);
        status.conditions.set(
            Condition::new("Custom", category::ERROR).with_reason("Why"),
            &start,
        );
        assert_eq!(check(&mut status, Duration::ZERO, &start), Blocked::Failed);
        assert_eq!(
            status.conditions.find(types::FAILED).unwrap().message,
            "The migration has FAILED due to a validation blocker: Custom (category=Error, reason=Why)"
        );
    }

    #[test]
    fn idle_plans_are_not_checked() {
        let now = at("2024-05-01T10:00:00Z");
        let mut status = PlanStatus::default();
        status
            .conditions
            .set(conditions::source_provider_not_ready(), &now);
        assert_eq!(
            check(&mut status, Duration::ZERO, &now),
            Blocked::NotExecuting
        );
    }
}
