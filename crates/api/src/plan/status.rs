//! A plan's execution status (`plan/migration.go`, `snapshot.go`, `timed.go`, `vm.go`):
//! the migration history, and each VM's phase, pipeline, progress and errors.
//!
//! Every time-changing method takes `now`; nothing here reads a clock.

use crate::Time;
use crate::condition::Conditions;
use crate::plan::vm::Vm;
use crate::reference::Ref;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Start and completion times (inline in many status types).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Timed {
    /// Started timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Time>,
    /// Completed timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Time>,
}

impl Timed {
    /// Upstream `MarkReset`: clears both times.
    pub fn mark_reset(&mut self) {
        self.started = None;
        self.completed = None;
    }

    /// Upstream `MarkStarted`: sets `started` once (and then clears `completed`).
    pub fn mark_started(&mut self, now: &Time) {
        if self.started.is_none() {
            self.started = Some(crate::time::seconds(now.0));
            self.completed = None;
        }
    }

    /// Upstream `MarkCompleted`: marks started if needed, then sets `completed` once.
    pub fn mark_completed(&mut self, now: &Time) {
        self.mark_started(now);
        if self.completed.is_none() {
            self.completed = Some(crate::time::seconds(now.0));
        }
    }

    /// Upstream `MarkedStarted`.
    pub fn marked_started(&self) -> bool {
        self.started.is_some()
    }

    /// Upstream `MarkedCompleted`.
    pub fn marked_completed(&self) -> bool {
        self.completed.is_some()
    }

    /// Upstream `Running`: started and not completed.
    pub fn running(&self) -> bool {
        self.marked_started() && !self.marked_completed()
    }
}

/// A `{namespace, name, uid, generation}` snapshot of an object at migration start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotRef {
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// UID.
    #[serde(default)]
    pub uid: String,
    /// Generation.
    #[serde(default)]
    pub generation: i64,
}

impl SnapshotRef {
    /// Upstream `With`: a snapshot of `meta`.
    pub fn of(meta: &crate::ObjectMeta) -> Self {
        Self {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            generation: meta.generation.unwrap_or_default(),
        }
    }

    /// Upstream `Match`: compares the **UID only**; generation is ignored.
    pub fn matches(&self, meta: &crate::ObjectMeta) -> bool {
        meta.uid.as_deref().unwrap_or_default() == self.uid
    }
}

/// Source and destination provider snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotRefPair {
    /// Source.
    #[serde(default)]
    pub source: SnapshotRef,
    /// Destination.
    #[serde(default)]
    pub destination: SnapshotRef,
}

/// Network and storage map snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotMap {
    /// Network map.
    #[serde(default)]
    pub network: SnapshotRef,
    /// Storage map (empty for `type: conversion`).
    #[serde(default)]
    pub storage: SnapshotRef,
}

/// One execution of a plan (`status.migration.history[]`): the objects it started with,
/// and its conditions (`Executing`, `Succeeded`, `Failed`, `Canceled`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Snapshot {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// Provider snapshots.
    #[serde(default)]
    pub provider: SnapshotRefPair,
    /// Plan snapshot.
    #[serde(default)]
    pub plan: SnapshotRef,
    /// Map snapshots.
    #[serde(default)]
    pub map: SnapshotMap,
    /// Migration snapshot.
    #[serde(default)]
    pub migration: SnapshotRef,
}

/// `status.migration` of a plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MigrationStatus {
    /// Start and completion of the latest run.
    #[serde(flatten)]
    pub timed: Timed,
    /// History: one snapshot per run; the last one is the active one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
    /// Per-VM status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmStatus>,
}

impl MigrationStatus {
    /// Upstream `ActiveSnapshot`: the last snapshot, if any.
    pub fn active_snapshot(&self) -> Option<&Snapshot> {
        self.history.last()
    }

    /// The last snapshot, mutably.
    pub fn active_snapshot_mut(&mut self) -> Option<&mut Snapshot> {
        self.history.last_mut()
    }

    /// Upstream `SnapshotWithMigration`: the (last) snapshot of the Migration with `uid`.
    pub fn snapshot_with_migration(&self, uid: &str) -> Option<&Snapshot> {
        self.history.iter().rev().find(|s| s.migration.uid == uid)
    }

    /// Upstream `NewSnapshot`: appends a snapshot.
    pub fn new_snapshot(&mut self, snapshot: Snapshot) {
        self.history.push(snapshot);
    }

    /// Upstream `FindVM`: by `id`; falls back to `name` only for status VMs without an ID.
    pub fn find_vm(&self, reference: &Ref) -> Option<&VmStatus> {
        let index = find_vm_index(self.vms.iter().map(|s| &s.vm), reference)?;
        self.vms.get(index)
    }

    /// [`Self::find_vm`], mutably.
    pub fn find_vm_mut(&mut self, reference: &Ref) -> Option<&mut VmStatus> {
        let index = find_vm_index(self.vms.iter().map(|s| &s.vm), reference)?;
        self.vms.get_mut(index)
    }
}

/// Upstream's VM matching (`PlanSpec.FindVM`, `MigrationStatus.FindVM`): a VM with an ID
/// matches by ID; a VM without an ID matches by (non-empty) name.
pub(crate) fn find_vm_index<'a>(
    vms: impl Iterator<Item = &'a Vm> + Clone,
    reference: &Ref,
) -> Option<usize> {
    vms.clone()
        .position(|vm| !vm.id.is_empty() && vm.id == reference.id)
        .or_else(|| {
            vms.into_iter()
                .position(|vm| vm.id.is_empty() && !vm.name.is_empty() && vm.name == reference.name)
        })
}

/// Power state of a source VM recorded before migration (`restorePowerState`).
pub mod power_state {
    /// Powered on.
    pub const ON: &str = "On";
    /// Powered off.
    pub const OFF: &str = "Off";
    /// Unknown.
    pub const UNKNOWN: &str = "Unknown";
}

/// Phases of pipeline steps and tasks (`Step.phase`, `Task.phase`).
pub mod step_phase {
    /// Started.
    pub const STARTED: &str = "Started";
    /// Waiting.
    pub const PENDING: &str = "Pending";
    /// In progress.
    pub const RUNNING: &str = "Running";
    /// Done.
    pub const COMPLETED: &str = "Completed";
}

/// An error (or warning) recorded on a VM, step or task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Error {
    /// The phase at the time the error was first recorded.
    #[serde(default)]
    pub phase: String,
    /// The reasons, without duplicates, in the order recorded.
    #[serde(default)]
    pub reasons: Vec<String>,
}

impl Error {
    /// An error first recorded in `phase`.
    pub fn new(phase: impl Into<String>) -> Self {
        Self {
            phase: phase.into(),
            reasons: Vec::new(),
        }
    }

    /// Upstream `Add`: appends reasons not already present.
    pub fn add<I, S>(&mut self, reasons: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for reason in reasons {
            let reason = reason.into();
            if !self.reasons.contains(&reason) {
                self.reasons.push(reason);
            }
        }
    }
}

/// A warning recorded on a step or task; the same shape as [`Error`].
pub type Warning = Error;

/// Progress of a step or task, in its unit (for disks: MB).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Progress {
    /// Completed units.
    #[serde(default)]
    pub completed: i64,
    /// Total units.
    #[serde(default)]
    pub total: i64,
}

/// A unit of work within a pipeline step (for example one disk).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    /// Start and completion.
    #[serde(flatten)]
    pub timed: Timed,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Phase ([`step_phase`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Progress.
    #[serde(default)]
    pub progress: Progress,
    /// Annotations, for example `unit: MB`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// Warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<Warning>,
}

impl Task {
    /// A task with a name and a total.
    pub fn new(name: impl Into<String>, total: i64) -> Self {
        Self {
            name: name.into(),
            progress: Progress {
                completed: 0,
                total,
            },
            ..Self::default()
        }
    }

    /// Upstream `AddError`: records reasons; the error's phase is the task's phase when
    /// the error is first created.
    pub fn add_error<I, S>(&mut self, reasons: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let phase = &self.phase;
        self.error
            .get_or_insert_with(|| Error::new(phase.clone()))
            .add(reasons);
    }

    /// Upstream `HasError`.
    pub fn has_error(&self) -> bool {
        self.error.is_some()
    }

    /// Upstream `AddWarning`.
    pub fn add_warning<I, S>(&mut self, reasons: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let phase = &self.phase;
        self.warning
            .get_or_insert_with(|| Warning::new(phase.clone()))
            .add(reasons);
    }

    /// Upstream `HasWarning`.
    pub fn has_warning(&self) -> bool {
        self.warning.is_some()
    }
}

/// A pipeline step: a [`Task`] with sub-tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// The step itself.
    #[serde(flatten)]
    pub task: Task,
    /// Nested tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
}

impl Step {
    /// Upstream `FindTask`.
    pub fn find_task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|task| task.name == name)
    }

    /// [`Self::find_task`], mutably.
    pub fn find_task_mut(&mut self, name: &str) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|task| task.name == name)
    }

    /// Upstream `ReflectTasks`: `progress.completed` becomes the sum of the tasks'; task
    /// errors are merged into the step's; the step is started if any task started and
    /// completed if all tasks completed (so a step without tasks completes at once).
    pub fn reflect_tasks(&mut self, now: &Time) {
        let mut started = 0;
        let mut completed = 0;
        let mut sum = 0;
        let mut reasons = Vec::new();
        for task in &self.tasks {
            if task.timed.marked_started() {
                started += 1;
            }
            if task.timed.marked_completed() {
                completed += 1;
            }
            sum += task.progress.completed;
            if let Some(error) = &task.error {
                reasons.extend(error.reasons.iter().cloned());
            }
        }
        // Upstream adds each task's reasons as it goes (creating the error even for a
        // task error without reasons).
        if self.tasks.iter().any(|t| t.error.is_some()) {
            self.task.add_error(reasons);
        }
        self.task.progress.completed = sum;
        if started > 0 {
            self.task.timed.mark_started(now);
        }
        if completed == self.tasks.len() {
            self.task.timed.mark_completed(now);
        }
    }
}

/// Warm migration bookkeeping of a VM.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Warm {
    /// Successful precopies.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::go_int")]
    pub successes: i64,
    /// Failed precopies (importer restarts).
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::go_int")]
    pub failures: i64,
    /// Consecutive failures.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::go_int")]
    pub consecutive_failures: i64,
    /// When the next precopy starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_precopy_at: Option<Time>,
    /// Precopies, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precopies: Vec<Precopy>,
}

/// One warm precopy (a source snapshot and the disk deltas it produced).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Precopy {
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Time>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Time>,
    /// The source snapshot ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub snapshot: String,
    /// The task that created the snapshot.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub create_task_id: String,
    /// The task that removed the snapshot.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remove_task_id: String,
    /// Change IDs per disk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<DiskDelta>,
}

impl Precopy {
    /// Upstream `DeltaMap`: disk → delta ID.
    pub fn delta_map(&self) -> BTreeMap<String, String> {
        self.deltas
            .iter()
            .map(|d| (d.disk.clone(), d.delta_id.clone()))
            .collect()
    }
}

/// The change ID of one disk in a precopy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiskDelta {
    /// The disk (backing file).
    #[serde(default)]
    pub disk: String,
    /// The change ID.
    #[serde(default)]
    pub delta_id: String,
}

/// The status of one VM in a run: its spec entry (resolved), phase, pipeline and results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VmStatus {
    /// Start and completion.
    #[serde(flatten)]
    pub timed: Timed,
    /// The VM as planned, with its reference resolved.
    #[serde(flatten)]
    pub vm: Vm,
    /// The migration pipeline. Always serialized.
    #[serde(default)]
    pub pipeline: Vec<Step>,
    /// The current phase ([`crate::phase`]). Always serialized.
    #[serde(default)]
    pub phase: String,
    /// Errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// Warm migration status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<Warm>,
    /// The source power state before migration ([`power_state`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub restore_power_state: String,
    /// Firmware detected by virt-v2v (`bios`, `efi`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub firmware: String,
    /// Operating system detected by virt-v2v.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operating_system: String,
    /// Boot disk index detected by virt-v2v.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::go_int")]
    pub detected_boot_disk: Option<i64>,
    /// The target VM name when it differs from the source name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_name: String,
    /// Disks were copied (the conversion can be resumed).
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub disks_copied: bool,
    /// Conditions (`Succeeded`, `Failed`, `Canceled`, …); not staged.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
}

impl VmStatus {
    /// A fresh status for a planned VM, in `phase`.
    pub fn new(vm: Vm, phase: impl Into<String>) -> Self {
        Self {
            vm,
            phase: phase.into(),
            ..Self::default()
        }
    }

    /// Upstream `FindStep`.
    pub fn find_step(&self, name: &str) -> Option<&Step> {
        self.pipeline.iter().find(|step| step.task.name == name)
    }

    /// [`Self::find_step`], mutably.
    pub fn find_step_mut(&mut self, name: &str) -> Option<&mut Step> {
        self.pipeline.iter_mut().find(|step| step.task.name == name)
    }

    /// Upstream `AddError`: the error's phase is the VM phase when it is first created.
    pub fn add_error<I, S>(&mut self, reasons: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let phase = &self.phase;
        self.error
            .get_or_insert_with(|| Error::new(phase.clone()))
            .add(reasons);
    }

    /// Upstream `ReflectPipeline`: step errors are merged into the VM's; the VM is started
    /// if any step started and completed if all did.
    pub fn reflect_pipeline(&mut self, now: &Time) {
        let started = self
            .pipeline
            .iter()
            .filter(|s| s.task.timed.marked_started())
            .count();
        let completed = self
            .pipeline
            .iter()
            .filter(|s| s.task.timed.marked_completed())
            .count();
        let errors: Vec<String> = self
            .pipeline
            .iter()
            .filter_map(|s| s.task.error.as_ref())
            .flat_map(|e| e.reasons.iter().cloned())
            .collect();
        if self.pipeline.iter().any(|s| s.task.error.is_some()) {
            self.add_error(errors);
        }
        if started > 0 {
            self.timed.mark_started(now);
        }
        if completed == self.pipeline.len() {
            self.timed.mark_completed(now);
        }
    }

    /// The resolved source reference.
    pub fn reference(&self) -> Ref {
        self.vm.reference()
    }
}
