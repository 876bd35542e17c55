//! Kubernetes Events about a plan, computed from its status before and after a reconcile
//! and published through a [`Recorder`] the manager supplies.
//!
//! - One Event per plan condition added, updated or cleared (upstream's `Record`): reason
//!   = the condition type, message = the condition message, type `Warning` for Critical,
//!   Error and Warn. A cleared condition is worded "Cleared: …" and is `Normal`.
//! - One Event per VM whose migration ended in this reconcile: `Succeeded` (`Normal`),
//!   `Failed` (`Warning`, with the phase and the reasons) or `Canceled` (`Normal`).
//!   Upstream has no VM Events; they make `kubectl describe plan` tell the story of a run.
//!   Intermediate phases get none (a plan of 1 000 VMs would flood the namespace).
//!
//! Event text comes from conditions and step errors, which never carry secret values.

use ferry_api::ObjectReference;
use ferry_api::condition::{Condition, category, types};
use ferry_api::plan::{PlanStatus, VmStatus};
use futures::future::BoxFuture;
use std::collections::BTreeMap;

/// One Event to publish about a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEvent {
    /// `Warning` (true) or `Normal`.
    pub warning: bool,
    /// The reason: a condition type, or `Succeeded`/`Failed`/`Canceled` for a VM.
    pub reason: String,
    /// The message.
    pub note: String,
    /// What happened: `ConditionAdded`, `ConditionUpdated`, `ConditionCleared`,
    /// `VmCompleted`.
    pub action: &'static str,
}

/// Publishes Events (the manager's Event writer). Failures are the recorder's to log:
/// an Event never fails a reconcile.
pub trait Recorder: Send + Sync {
    /// Publishes `events` about the plan `regarding`.
    fn publish<'a>(
        &'a self,
        regarding: &'a ObjectReference,
        events: Vec<PlanEvent>,
    ) -> BoxFuture<'a, ()>;
}

/// A recorder that drops every Event (tests, tools).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl Recorder for NoEvents {
    fn publish<'a>(&'a self, _: &'a ObjectReference, _: Vec<PlanEvent>) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

fn is_warning(condition: &Condition) -> bool {
    matches!(
        condition.category.as_str(),
        category::CRITICAL | category::ERROR | category::WARN
    )
}

fn by_type(conditions: &[Condition]) -> BTreeMap<&str, &Condition> {
    conditions.iter().map(|c| (c.r#type.as_str(), c)).collect()
}

/// The condition Events between two plan statuses (added, updated, cleared; by type
/// within each).
pub fn condition_events(before: &PlanStatus, after: &PlanStatus) -> Vec<PlanEvent> {
    let old = by_type(before.conditions.list.as_slice());
    let new = by_type(after.conditions.list.as_slice());
    let mut events = Vec::new();
    for (kind, condition) in &new {
        match old.get(kind) {
            None => events.push(PlanEvent {
                warning: is_warning(condition),
                reason: condition.r#type.clone(),
                note: condition.message.clone(),
                action: "ConditionAdded",
            }),
            Some(previous) if !previous.equal(condition) => events.push(PlanEvent {
                warning: is_warning(condition),
                reason: condition.r#type.clone(),
                note: condition.message.clone(),
                action: "ConditionUpdated",
            }),
            Some(_) => {}
        }
    }
    events.sort_by_key(|e| (e.action != "ConditionAdded", e.reason.clone()));
    for (kind, condition) in &old {
        if !new.contains_key(kind) {
            events.push(PlanEvent {
                warning: false,
                reason: condition.r#type.clone(),
                note: format!("Cleared: {}", condition.message),
                action: "ConditionCleared",
            });
        }
    }
    events
}

fn vm_label(vm: &VmStatus) -> String {
    if vm.vm.name.is_empty() {
        vm.vm.id.clone()
    } else {
        format!("{} ({})", vm.vm.name, vm.vm.id)
    }
}

/// The Event of a VM whose migration ended.
pub fn vm_completed(vm: &VmStatus) -> PlanEvent {
    if let Some(error) = &vm.error {
        return PlanEvent {
            warning: true,
            reason: types::FAILED.to_string(),
            note: format!(
                "VM {} failed in phase {}: {}",
                vm_label(vm),
                error.phase,
                error.reasons.join("; ")
            ),
            action: "VmCompleted",
        };
    }
    if vm.conditions.has(&[types::CANCELED]) {
        return PlanEvent {
            warning: false,
            reason: types::CANCELED.to_string(),
            note: format!("VM {} migration canceled.", vm_label(vm)),
            action: "VmCompleted",
        };
    }
    PlanEvent {
        warning: false,
        reason: types::SUCCEEDED.to_string(),
        note: format!("VM {} migrated.", vm_label(vm)),
        action: "VmCompleted",
    }
}

/// The VM Events between two plan statuses: VMs completed now and not before.
pub fn vm_events(before: &PlanStatus, after: &PlanStatus) -> Vec<PlanEvent> {
    let done_before: std::collections::BTreeSet<&str> = before
        .migration
        .vms
        .iter()
        .filter(|vm| vm.timed.completed.is_some())
        .map(|vm| vm.vm.id.as_str())
        .collect();
    after
        .migration
        .vms
        .iter()
        .filter(|vm| vm.timed.completed.is_some() && !done_before.contains(vm.vm.id.as_str()))
        .map(vm_completed)
        .collect()
}

/// Every Event between two plan statuses.
pub fn events(before: &PlanStatus, after: &PlanStatus) -> Vec<PlanEvent> {
    let mut all = condition_events(before, after);
    all.extend(vm_events(before, after));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::condition::Conditions;
    use ferry_api::plan::Vm;

    fn condition(kind: &str, category: &str, message: &str) -> Condition {
        let mut c = Condition::new(kind, category);
        c.message = message.into();
        c
    }

    fn status(conditions: Vec<Condition>) -> PlanStatus {
        PlanStatus {
            conditions: Conditions::from(conditions),
            ..PlanStatus::default()
        }
    }

    #[test]
    fn condition_changes_become_events() {
        let before = status(vec![
            condition("Ready", category::REQUIRED, "The migration plan is ready."),
            condition("VMNotFound", category::CRITICAL, "VM not found."),
        ]);
        let after = status(vec![
            condition("Ready", category::REQUIRED, "The migration plan is ready."),
            condition("Executing", category::ADVISORY, "The plan is EXECUTING."),
            condition("TargetNameNotValid", category::CRITICAL, "bad name"),
        ]);
        let events = condition_events(&before, &after);
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.action, e.reason.as_str(), e.warning))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("ConditionAdded", "Executing", false),
                ("ConditionAdded", "TargetNameNotValid", true),
                ("ConditionCleared", "VMNotFound", false),
            ]
        );
        assert_eq!(events[2].note, "Cleared: VM not found.");
        assert!(condition_events(&after, &after).is_empty());
    }

    #[test]
    fn ended_vms_become_events_once() {
        let mut vm = VmStatus::new(
            Vm {
                id: "vm-1".into(),
                name: "web".into(),
                ..Vm::default()
            },
            "Completed",
        );
        let before = PlanStatus::default();
        let mut after = PlanStatus::default();
        vm.timed.completed = Some(ferry_api::time::now());
        vm.add_error(["disk lost"]);
        after.migration.vms.push(vm);
        let events = vm_events(&before, &after);
        assert_eq!(events.len(), 1);
        assert!(events[0].warning);
        assert_eq!(events[0].reason, "Failed");
        assert!(events[0].note.contains("web (vm-1)"), "{}", events[0].note);
        assert!(events[0].note.contains("disk lost"), "{}", events[0].note);
        assert!(vm_events(&after, &after).is_empty());
    }
}
