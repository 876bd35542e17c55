//! The execution engine: one decision over an [`Observed`] snapshot (upstream `execute()`
//! and `Migration.Run()`, plan spec §3–§4).
//!
//! A decision takes the plan's status (validation already staged), and returns the new
//! status and the [`Action`]s that the world needs for the VMs to progress. It never
//! moves a VM past a phase whose effect it has not *observed*: a phase that needs an
//! object emits the action and stops; the next decision, after `apply` recorded the
//! outcome in the snapshot, sees the object and goes on. So the status of any decision
//! is safe to persist, even if its actions then fail, and a crash at any instant loses
//! nothing: objects are found again by label.
//!
//! Unlike upstream, which moves each VM one phase per reconcile and polls every 3 s, the
//! reconcile repeats decide → apply until no VM can progress without an external event
//! (a watched object changing, a source-side task, the conversion pod's progress).

use super::action::{Action, Kind, Object, Propagation, Results};
use super::itinerary::{Flags, Itinerary, Kind as ItineraryKind};
use super::objects::{self, matching};
use super::pipeline::{self, Route};
use super::scheduler::{self, Candidate, InFlight};
use super::{blocker, snapshot};
use crate::adapter::{Adapter, AdapterError, Adapters, PlanView, inventory_ref};
use crate::conditions;
use crate::kubevirt::{Run, labels};
use crate::observe::Observed;
use crate::settings::Settings;
use crate::validate::Validation;
use ferry_api::condition::types;
use ferry_api::plan::{MigrationType, PlanStatus, VmStatus};
use ferry_api::provider::ProviderType;
use ferry_api::{Migration, Ref, Time, phase};
use ferry_inventory::{FindError, SourceVm};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long to wait before asking the source again (power off, snapshots).
pub const SOURCE_POLL: Duration = Duration::from_secs(3);
/// How often a running conversion pod is asked for its progress and results.
pub const CONVERSION_POLL: Duration = Duration::from_secs(5);
/// How often VMs queued behind other plans' in-flight VMs look again.
pub const QUEUE_POLL: Duration = Duration::from_secs(15);

/// What a decision reads.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The snapshot, with the plan's status as it stands (validation staged).
    pub observed: &'a Observed,
    /// This pass's validation (resolved VM references).
    pub validation: &'a Validation,
    /// The adapters.
    pub adapters: &'a Adapters,
    /// Settings.
    pub settings: &'a Settings,
    /// The time of this reconcile.
    pub now: &'a Time,
}

/// What a decision returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// The plan's new status.
    pub status: PlanStatus,
    /// What the world needs, in order.
    pub actions: Vec<Action>,
    /// When to look again if nothing else wakes the plan.
    pub wake: Option<Duration>,
    /// Decide again at once even without actions (the next pending Migration can start).
    pub again: bool,
}

impl Decision {
    fn wake_in(&mut self, after: Duration) {
        self.wake = Some(match self.wake {
            Some(current) => current.min(after),
            None => after,
        });
    }
}

/// A failure that is not a VM's: the reconcile fails and is retried.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecuteError {
    /// No adapter serves the source provider's type.
    #[error("no adapter for provider type '{0}'")]
    NoAdapter(String),
    /// The source inventory is not loaded (or not registered) yet.
    #[error("the source provider's inventory is not ready")]
    InventoryNotReady,
    /// An adapter failed outside a VM's step.
    #[error("VM {vm}: {source}")]
    Adapter {
        /// The VM's reference string.
        vm: String,
        /// What failed.
        source: AdapterError,
    },
    /// A VM's pipeline could not be built.
    #[error("VM {vm}: pipeline: {reason}")]
    Pipeline {
        /// The VM's reference string.
        vm: String,
        /// Why.
        reason: String,
    },
    /// A ConfigMap `begin` copies does not exist.
    #[error("ConfigMap {0} not found")]
    MissingConfigMap(String),
}

/// Decides what to do next for the plan of `input.observed`.
pub fn decide(input: &Input<'_>) -> Result<Decision, ExecuteError> {
    let observed = input.observed;
    let mut decision = Decision {
        status: observed.plan.status.clone(),
        ..Decision::default()
    };
    let now = input.now;
    // 1. Blockers, archive and ReQ conditions pause execution.
    let conditions = &decision.status.conditions;
    let blocked = conditions.has_blocker();
    if blocked || conditions.has(&[types::ARCHIVED]) || conditions.has_req() {
        if blocked {
            let grace = input.settings.effective_blocker_grace();
            if let blocker::Blocked::Waiting(at) = blocker::check(&mut decision.status, grace, now)
            {
                let wait = at.0.duration_since(now.0).unsigned_abs();
                decision.wake_in(Duration::from_secs(wait.as_secs().max(1)));
            }
        }
        return Ok(decision);
    }
    let (Some(source), Some(destination), Some(network_map)) = (
        observed.source.found(),
        observed.destination.found(),
        observed.network_map.found(),
    ) else {
        return Ok(decision);
    };
    let adapter = input
        .adapters
        .get(source)
        .ok_or_else(|| ExecuteError::NoAdapter(source.type_name().to_string()))?;
    let conversion_only = observed.plan.spec.r#type == Some(MigrationType::Conversion);
    let storage_map = if conversion_only {
        None
    } else {
        observed.storage_map.found()
    };
    let referenced = snapshot::Referenced {
        plan: &observed.plan,
        source,
        destination,
        network_map,
        storage_map,
    };
    // 3. The active Migration.
    let mut active =
        snapshot::active_migration(&mut decision.status.migration, &observed.migrations, now);
    // 4. Snapshot still matches?
    if active.is_some() {
        let matches = decision
            .status
            .migration
            .active_snapshot()
            .is_some_and(|s| snapshot::matches(s, &referenced));
        if !matches {
            decision.status.conditions.delete(&[types::EXECUTING]);
            decision.status.migration.timed.completed = Some(ferry_api::time::seconds(now.0));
            if let Some(snapshot) = decision.status.migration.active_snapshot_mut() {
                snapshot.conditions.delete(&[types::EXECUTING]);
                snapshot
                    .conditions
                    .set(conditions::canceled_modified(), now);
            }
        }
    }
    let stand_in = stand_in_migration(&decision.status);
    let mut engine = Engine {
        input,
        adapter: adapter.as_ref(),
        view: PlanView {
            plan: &observed.plan,
            source,
            destination,
            network_map: Some(network_map),
            storage_map,
            inventory: match observed.inventory.as_deref() {
                Some(inventory) => inventory,
                None => return Err(ExecuteError::InventoryNotReady),
            },
            settings: input.settings,
        },
        decision,
        sources: BTreeMap::new(),
        asked: Default::default(),
    };
    // 5. A canceled snapshot cancels its unfinished VMs.
    if engine
        .decision
        .status
        .migration
        .active_snapshot()
        .is_some_and(|s| s.conditions.has(&[types::CANCELED]))
    {
        for vm in &mut engine.decision.status.migration.vms {
            if !vm.conditions.has_any(&[types::SUCCEEDED, types::FAILED]) {
                vm.conditions.set(conditions::canceled_modified(), now);
            }
        }
    }
    // 6. Finish canceled VMs (the labels of their objects need the Migration they ran
    // under; a stand-in carries its UID when it is gone).
    match engine.last_migration() {
        Some(migration) => engine.cancel(migration),
        None => engine.cancel(&stand_in),
    }
    // 7–8. Pending Migrations; start the oldest if none is active.
    let pending = snapshot::pending(&engine.decision.status.migration, &observed.migrations);
    if active.is_none()
        && let Some(next) = pending.first()
    {
        engine
            .decision
            .status
            .migration
            .new_snapshot(snapshot::new_snapshot(&referenced, next));
        engine
            .decision
            .status
            .conditions
            .delete(&[types::FAILED, types::CANCELED]);
        active = Some(next);
    }
    // 9. Nothing to run.
    let Some(migration) = active else {
        engine
            .decision
            .status
            .conditions
            .delete(&[types::EXECUTING]);
        engine.conversion_resumable();
        return Ok(engine.decision);
    };
    // 10. Run it.
    let done = engine.run(migration)?;
    // 11. Reflect the run's result on the plan.
    engine.reflect();
    engine.conversion_resumable();
    // A VM canceled in this decision is finished (cleaned up, completed) by the next.
    if engine
        .decision
        .status
        .migration
        .vms
        .iter()
        .any(|vm| vm.conditions.has(&[types::CANCELED]) && !vm.timed.marked_completed())
    {
        engine.decision.again = true;
    }
    // 13. The next pending Migration starts at once.
    if done && pending.len() > 1 {
        engine.decision.again = true;
    }
    Ok(engine.decision)
}

/// One decision in progress.
pub(super) struct Engine<'a> {
    pub(super) input: &'a Input<'a>,
    pub(super) adapter: &'a dyn Adapter,
    pub(super) view: PlanView<'a>,
    pub(super) decision: Decision,
    /// Source VMs looked up during this decision.
    sources: BTreeMap<String, Result<SourceVm, FindError>>,
    /// The positions of the actions asked for, by description.
    asked: std::collections::HashMap<String, Vec<usize>>,
}

impl<'a> Engine<'a> {
    pub(super) fn observed(&self) -> &'a Observed {
        self.input.observed
    }

    pub(super) fn now(&self) -> &'a Time {
        self.input.now
    }

    pub(super) fn settings(&self) -> &'a Settings {
        self.input.settings
    }

    pub(super) fn results(&self) -> &'a Results {
        &self.input.observed.results
    }

    /// Adds an action unless the same one was asked for already (actions with the same
    /// description are compared in full; others cannot be equal).
    pub(super) fn act(&mut self, action: Action) {
        let key = action.describe();
        let same = self.asked.entry(key).or_default();
        if same.iter().any(|&i| self.decision.actions[i] == action) {
            return;
        }
        same.push(self.decision.actions.len());
        self.decision.actions.push(action);
    }

    pub(super) fn create(&mut self, object: Object) {
        self.act(Action::Create(object));
    }

    pub(super) fn delete(
        &mut self,
        kind: Kind,
        namespace: &str,
        name: &str,
        propagation: Option<Propagation>,
    ) {
        self.act(Action::Delete {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            propagation,
        });
    }

    pub(super) fn run_of(&self, migration: &'a Migration) -> Run<'a> {
        Run {
            plan: self.view.plan,
            migration,
            source: self.view.source,
            destination: self.view.destination,
            settings: self.input.settings,
        }
    }

    /// The Migration the VMs last ran under: the active snapshot's.
    fn last_migration(&self) -> Option<&'a Migration> {
        let snapshot = self.decision.status.migration.active_snapshot()?;
        self.observed()
            .migrations
            .iter()
            .find(|m| m.metadata.uid.as_deref() == Some(snapshot.migration.uid.as_str()))
    }

    /// The inventory VM of a reference (looked up once per decision).
    pub(super) fn source_vm(&mut self, reference: &Ref) -> Result<SourceVm, FindError> {
        let key = if reference.id.is_empty() {
            format!("name:{}", reference.name)
        } else {
            reference.id.clone()
        };
        let inventory = self.view.inventory;
        self.sources
            .entry(key)
            .or_insert_with(|| inventory.vm(&inventory_ref(reference)))
            .clone()
    }

    /// The itinerary of a VM (re-evaluated on every transition, as upstream).
    pub(super) fn itinerary(&mut self, vm: &VmStatus) -> Itinerary {
        let plan = self.view.plan;
        let source = self.view.source;
        let settings = self.input.settings;
        let requires_conversion = source.requires_conversion() && !plan.spec.skip_guest_conversion;
        let windows = settings.windows_wait_for_reboot
            && plan.spec.vm_target_power_state(&vm.vm)
                != Some(&ferry_api::plan::TargetPowerState::Off)
            && requires_conversion
            && self.windows(&vm.reference());
        let flags = Flags {
            has_pre_hook: vm.vm.find_hook(phase::PRE_HOOK).is_some(),
            has_post_hook: vm.vm.find_hook(phase::POST_HOOK).is_some(),
            requires_conversion,
            v2v_disk_copy: self.adapter.uses_v2v_transfer(&self.view, &vm.reference()),
            openstack: source.is(ProviderType::OpenStack),
            vsphere: source.is(ProviderType::VSphere),
            run_inspection: plan.should_run_preflight_inspection(source),
            windows_wait_for_reboot: windows,
            wait_for_final_snapshot_consolidation: settings.wait_for_final_snapshot_consolidation,
        };
        let kind = if self.resume() {
            ItineraryKind::ResumeConversion
        } else if plan.spec.r#type == Some(MigrationType::Conversion) {
            ItineraryKind::OnlyConversion
        } else if plan.is_warm() {
            ItineraryKind::Warm
        } else {
            ItineraryKind::Cold
        };
        Itinerary { kind, flags }
    }

    /// Whether the inventory says the VM runs Windows (a failed lookup is not Windows).
    pub(super) fn windows(&mut self, reference: &Ref) -> bool {
        match self.source_vm(reference) {
            Ok(vm) => self.adapter.facts(&vm).map(|f| f.windows).unwrap_or(false),
            Err(_) => false,
        }
    }

    /// The route (itinerary and step mapping) of a VM.
    pub(super) fn route(&mut self, vm: &VmStatus) -> Route {
        Route {
            itinerary: self.itinerary(vm),
            warm: self.view.plan.is_warm(),
            preflight: self
                .view
                .plan
                .should_run_preflight_inspection(self.view.source),
        }
    }

    /// Whether the active Migration resumes a conversion.
    pub(super) fn resume(&self) -> bool {
        self.decision
            .status
            .migration
            .active_snapshot()
            .and_then(|s| {
                self.observed()
                    .migrations
                    .iter()
                    .find(|m| m.metadata.uid.as_deref() == Some(s.migration.uid.as_str()))
            })
            .is_some_and(Migration::is_resume_conversion)
    }

    /// Upstream `HasSeparateCopyAndConversion`.
    pub(super) fn separate_copy_and_conversion(&self, vm: &Ref) -> bool {
        self.view.source.requires_conversion()
            && !self.view.source.is(ProviderType::Ec2)
            && !self.adapter.uses_v2v_transfer(&self.view, vm)
    }

    /// `Cancel()`: cleans up and completes every canceled VM that has not completed.
    fn cancel(&mut self, migration: &'a Migration) {
        let now = self.now();
        let mut vms = std::mem::take(&mut self.decision.status.migration.vms);
        for vm in &mut vms {
            if !vm.conditions.has(&[types::CANCELED]) || vm.timed.marked_completed() {
                continue;
            }
            self.cleanup(migration, vm, true);
            if vm.restore_power_state == ferry_api::plan::power_state::ON {
                self.act(Action::Source {
                    vm: vm.reference(),
                    op: super::action::SourceOp::PowerOn,
                });
            }
            vm.timed.mark_completed(now);
            pipeline::complete_started_steps(vm, now);
        }
        self.decision.status.migration.vms = vms;
    }

    /// Copies the snapshot's `Executing`, `Succeeded`, `Failed`, `Canceled` to the plan.
    fn reflect(&mut self) {
        let now = self.now();
        let status = &mut self.decision.status;
        let Some(snapshot) = status.migration.active_snapshot() else {
            return;
        };
        let snapshot_conditions = snapshot.conditions.clone();
        for r#type in [
            types::EXECUTING,
            types::SUCCEEDED,
            types::FAILED,
            types::CANCELED,
        ] {
            match snapshot_conditions.find(r#type) {
                Some(condition) => status.conditions.set(condition.clone(), now),
                None => status.conditions.delete(&[r#type]),
            }
        }
    }

    /// Upstream `checkConversionResumable`.
    fn conversion_resumable(&mut self) {
        let now = self.now();
        let status = &mut self.decision.status;
        status.conditions.delete(&[types::CONVERSION_RESUMABLE]);
        if !status.conditions.has(&[types::FAILED]) {
            return;
        }
        let names: Vec<String> = status
            .migration
            .vms
            .iter()
            .filter(|vm| vm.disks_copied && vm.conditions.has(&[types::FAILED]))
            .map(|vm| vm.vm.name.clone())
            .collect();
        if !names.is_empty() {
            status
                .conditions
                .set(conditions::conversion_resumable(&names), now);
        }
    }

    /// `Run()`: begin, step the running VMs, admit new ones, end. Returns whether the
    /// run is over.
    fn run(&mut self, migration: &'a Migration) -> Result<bool, ExecuteError> {
        self.begin(migration)?;
        let Some(snapshot) = self.decision.status.migration.active_snapshot() else {
            return Ok(true);
        };
        if !snapshot.conditions.has(&[types::EXECUTING]) {
            return Ok(snapshot
                .conditions
                .has_any(&[types::FAILED, types::CANCELED]));
        }
        let cancel = self.resolve_cancel(migration);
        let running: Vec<usize> = self
            .decision
            .status
            .migration
            .vms
            .iter()
            .enumerate()
            .filter(|(_, vm)| vm.timed.running())
            .map(|(i, _)| i)
            .collect();
        for index in running {
            self.execute_vm(migration, index, &cancel)?;
        }
        self.admit(migration, &cancel)?;
        Ok(self.end())
    }

    /// The Migration's `spec.cancel` with names resolved to IDs through the inventory.
    fn resolve_cancel(&mut self, migration: &Migration) -> Vec<Ref> {
        let mut cancel = migration.spec.cancel.clone();
        for reference in &mut cancel {
            if reference.id.is_empty()
                && let Ok(vm) = self.source_vm(reference)
            {
                reference.id = vm.id().to_string();
                reference.name = vm.name().to_string();
            }
        }
        cancel
    }

    /// The admission loop (upstream `scheduler.Next` and `markSchedulerQueuedVMs`).
    fn admit(&mut self, migration: &'a Migration, cancel: &[Ref]) -> Result<(), ExecuteError> {
        let limit = self.settings().effective_max_vm_inflight();
        let now = self.now();
        let mut in_flight = self.in_flight_elsewhere();
        for vm in self.decision.status.migration.vms.clone() {
            if vm.timed.running()
                && let Ok(source) = self.source_vm(&vm.reference())
            {
                let schedule = self.adapter.schedule(&self.view, &source, &vm);
                in_flight.add(&schedule.key, schedule.cost);
            }
        }
        loop {
            let mut candidates = Vec::new();
            let mut missing = Vec::new();
            for (index, vm) in self.decision.status.migration.vms.iter().enumerate() {
                if vm.conditions.has(&[types::CANCELED])
                    || vm.timed.marked_started()
                    || vm.timed.marked_completed()
                {
                    continue;
                }
                match self.sources.get(&vm.vm.id).cloned() {
                    Some(Ok(source)) => {
                        let schedule = self.adapter.schedule(&self.view, &source, vm);
                        candidates.push(Candidate {
                            index,
                            key: schedule.key,
                            cost: schedule.cost,
                        });
                    }
                    _ => missing.push(index),
                }
            }
            // Look up what was not looked up yet, then try again.
            if !missing.is_empty() {
                let mut progressed = false;
                for index in missing {
                    let reference = self.decision.status.migration.vms[index].reference();
                    match self.source_vm(&reference) {
                        Ok(_) => progressed = true,
                        Err(FindError::NotReady) => return Err(ExecuteError::InventoryNotReady),
                        Err(_) => {
                            // Upstream's intended handling (its scheduler dereferences a nil
                            // VM here): cancel the VM when the source is Ready.
                            if self.view.source.status.conditions.is_ready() {
                                self.decision.status.migration.vms[index]
                                    .conditions
                                    .set(conditions::vm_canceled_not_found(), now);
                                progressed = true;
                            }
                        }
                    }
                }
                if progressed {
                    continue;
                }
            }
            let Some(next) = scheduler::next(&candidates, &in_flight, limit).cloned() else {
                break;
            };
            in_flight.add(&next.key, next.cost);
            // A queued VM's pipeline may have been left out of a large status
            // (`status::compact`): build it again as it starts.
            if self.decision.status.migration.vms[next.index]
                .pipeline
                .is_empty()
            {
                let status = self.decision.status.migration.vms[next.index].clone();
                let built = self.build_pipeline(&status)?;
                self.decision.status.migration.vms[next.index].pipeline = built;
            }
            self.execute_vm(migration, next.index, cancel)?;
        }
        // Queued VMs.
        let mut queued = 0;
        for vm in &mut self.decision.status.migration.vms {
            if vm.timed.marked_started()
                || vm.timed.marked_completed()
                || vm.conditions.has(&[types::CANCELED])
            {
                continue;
            }
            queued += 1;
            vm.conditions.set(conditions::vm_pending(limit), now);
        }
        if queued > 0 {
            // Ferry keeps the message stable while the count does not change, so the
            // condition does not move on every pass (upstream rewrites it each time).
            self.decision
                .status
                .conditions
                .set(conditions::ready_waiting(queued, limit), now);
            self.decision.wake_in(QUEUE_POLL);
        }
        Ok(())
    }

    /// In-flight usage of other plans with the same source provider and an executing run.
    fn in_flight_elsewhere(&mut self) -> InFlight {
        let mut in_flight = InFlight::new();
        let plan = self.view.plan;
        let source_key = crate::observe::ref_key(&plan.spec.provider.source);
        for other in &self.observed().other_plans {
            if other.metadata.uid == plan.metadata.uid
                || crate::observe::ref_key(&other.spec.provider.source) != source_key
            {
                continue;
            }
            let executing = other
                .status
                .migration
                .active_snapshot()
                .is_some_and(|s| s.conditions.has(&[types::EXECUTING]));
            if !executing {
                continue;
            }
            for vm in other
                .status
                .migration
                .vms
                .iter()
                .filter(|vm| vm.timed.running())
            {
                if let Ok(source) = self.source_vm(&vm.reference()) {
                    let schedule = self.adapter.schedule(&self.view, &source, vm);
                    in_flight.add(&schedule.key, schedule.cost);
                }
            }
        }
        in_flight
    }

    /// `end()`: when every VM completed, the run's result.
    fn end(&mut self) -> bool {
        let now = self.now();
        let status = &mut self.decision.status;
        if status
            .migration
            .vms
            .iter()
            .any(|vm| !vm.timed.marked_completed())
        {
            return false;
        }
        let failed = status
            .migration
            .vms
            .iter()
            .any(|vm| vm.conditions.has(&[types::FAILED]));
        let succeeded = status
            .migration
            .vms
            .iter()
            .any(|vm| vm.conditions.has(&[types::SUCCEEDED]));
        status.migration.timed.mark_completed(now);
        let result = if failed {
            conditions::plan_failed()
        } else if succeeded {
            conditions::plan_succeeded()
        } else {
            conditions::plan_canceled()
        };
        if let Some(snapshot) = status.migration.active_snapshot_mut() {
            snapshot.conditions.delete(&[types::EXECUTING]);
            snapshot.conditions.set(result, now);
        }
        if succeeded && !failed {
            self.delete_copied_config_maps();
        }
        true
    }

    /// Deletes `<plan>-extra-v2v-conf` and `<plan>-customization-scripts` when present.
    pub(super) fn delete_copied_config_maps(&mut self) {
        let plan = self.view.plan;
        let name = plan.metadata.name.clone().unwrap_or_default();
        let target = plan.spec.target_namespace.clone();
        for wanted in [
            format!("{name}-extra-v2v-conf"),
            format!("{name}-customization-scripts"),
        ] {
            if self
                .observed()
                .objects
                .config_maps
                .iter()
                .any(|c| objects::name(c) == wanted && objects::namespace(c) == target)
            {
                self.delete(Kind::ConfigMap, &target, &wanted, None);
            }
        }
    }

    /// Whether a destination object exists among those observed.
    pub(super) fn any<T>(
        &self,
        items: &crate::observe::Objects<T>,
        selector: &labels::Labels,
    ) -> bool
    where
        T: ferry_api::k8s_openapi::Metadata<Ty = ferry_api::ObjectMeta>,
    {
        matching(items, selector).next().is_some()
    }

    /// The name of the target namespace.
    pub(super) fn target(&self) -> &'a str {
        &self.view.plan.spec.target_namespace
    }
}

/// A Migration standing in for the last run's when that Migration is gone: the labels of
/// the run's objects only need its UID.
fn stand_in_migration(status: &PlanStatus) -> Migration {
    let snapshot = status.migration.active_snapshot();
    let mut migration = Migration::new(
        snapshot
            .map(|s| s.migration.namespace.as_str())
            .unwrap_or_default(),
        snapshot
            .map(|s| s.migration.name.as_str())
            .unwrap_or_default(),
        Default::default(),
    );
    migration.metadata.uid = snapshot.map(|s| s.migration.uid.clone());
    migration
}

/// Archive (plan spec §3.8): the deletions that remove what the plan's runs retained:
/// provider storage (PVs and PVCs labelled `plan=<uid>` and `app=forklift`), the copied
/// ConfigMaps, and every VM's leftovers (cleanup with `force`).
pub fn archive(input: &Input<'_>) -> Vec<Action> {
    let observed = input.observed;
    let plan = &observed.plan;
    let mut actions = Vec::new();
    let uid = plan.metadata.uid.clone().unwrap_or_default();
    let storage = labels::Labels::from([
        (ferry_api::labels::PLAN.to_string(), uid.clone()),
        (ferry_api::labels::APP.to_string(), "forklift".to_string()),
    ]);
    for pvc in matching(&observed.objects.pvcs, &storage) {
        actions.push(Action::Delete {
            kind: Kind::PersistentVolumeClaim,
            namespace: objects::namespace(pvc).to_string(),
            name: objects::name(pvc).to_string(),
            propagation: None,
        });
    }
    for pv in matching(&observed.objects.pvs, &storage) {
        actions.push(Action::Delete {
            kind: Kind::PersistentVolume,
            namespace: String::new(),
            name: objects::name(pv).to_string(),
            propagation: None,
        });
    }
    let (Some(source), Some(destination)) = (observed.source.found(), observed.destination.found())
    else {
        return actions;
    };
    let Some(adapter) = input.adapters.get(source) else {
        return actions;
    };
    let Some(inventory) = observed.inventory.as_deref() else {
        return actions;
    };
    let stand_in = stand_in_migration(&plan.status);
    let mut engine = Engine {
        input,
        adapter: adapter.as_ref(),
        view: PlanView {
            plan,
            source,
            destination,
            network_map: observed.network_map.found(),
            storage_map: observed.storage_map.found(),
            inventory,
            settings: input.settings,
        },
        decision: Decision::default(),
        sources: BTreeMap::new(),
        asked: Default::default(),
    };
    engine.delete_copied_config_maps();
    for vm in &plan.status.migration.vms {
        engine.cleanup(&stand_in, vm, true);
    }
    actions.extend(engine.decision.actions);
    actions
}
