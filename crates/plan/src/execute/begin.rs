//! `begin()`: the start of a run (plan spec §3.3), once per snapshot.

use super::action::Object;
use super::engine::{Engine, ExecuteError};
use super::objects;
use super::pipeline;
use crate::adapter::AdapterError;
use crate::conditions;
use crate::kubevirt::secret;
use ferry_api::condition::types;
use ferry_api::k8s_openapi::api::core::v1::Namespace;
use ferry_api::plan::{Step, VmStatus, Warm};
use ferry_api::{Migration, Ref, phase};

impl<'a> Engine<'a> {
    /// Starts the run of `migration` unless its snapshot already started or ended.
    pub(super) fn begin(&mut self, migration: &'a Migration) -> Result<(), ExecuteError> {
        let now = self.now();
        let Some(snapshot) = self.decision.status.migration.active_snapshot() else {
            return Ok(());
        };
        if snapshot.conditions.has_any(&[
            types::EXECUTING,
            types::SUCCEEDED,
            types::FAILED,
            types::CANCELED,
        ]) {
            return Ok(());
        }
        if migration.is_resume_conversion() && !self.resume_allowed() {
            return Ok(());
        }
        let run = self.run_of(migration);
        let status = &mut self.decision.status.migration;
        status.timed.mark_reset();
        status.timed.mark_started(now);
        if let Some(snapshot) = status.active_snapshot_mut() {
            snapshot.conditions.set(conditions::executing(), now);
        }
        // The target namespace (name only, no labels).
        if self.observed().target_namespace.is_none() {
            self.create(Object::Namespace(Namespace {
                metadata: ferry_api::ObjectMeta {
                    name: Some(self.target().to_string()),
                    ..ferry_api::ObjectMeta::default()
                },
                ..Namespace::default()
            }));
        }
        // The extra virt-v2v configuration, copied (create-only).
        let extra = &self.settings().virt_v2v_extra_conf_config_map;
        if !extra.is_empty() {
            let Some(source) = self.observed().extra_v2v_conf.as_ref() else {
                return Err(ExecuteError::MissingConfigMap(format!(
                    "{}/{extra}",
                    run.plan_namespace()
                )));
            };
            let name = run.extra_v2v_conf_name();
            if !self.config_map_exists(&name) {
                self.create(Object::ConfigMap(secret::copied_config_map(
                    &run, &name, source,
                )));
            }
        }
        // The customization scripts, copied when they live in another namespace.
        if let Some(scripts) = &self.view.plan.spec.customization_scripts {
            let namespace = scripts
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(run.plan_namespace());
            if namespace != run.target_namespace()
                && let Some(source) = self.observed().customization_scripts.found()
            {
                let name = run.customization_scripts_name();
                if !self.config_map_exists(&name) {
                    self.create(Object::ConfigMap(secret::copied_config_map(
                        &run, &name, source,
                    )));
                }
            }
        }
        self.build_vm_list()?;
        Ok(())
    }

    fn config_map_exists(&self, name: &str) -> bool {
        let target = self.target();
        self.observed()
            .objects
            .config_maps
            .iter()
            .any(|c| objects::name(c) == name && objects::namespace(c) == target)
    }

    /// The resume-conversion checks (upstream `begin`, plan spec §3.3 step 1); a rejection
    /// fails the snapshot.
    fn resume_allowed(&mut self) -> bool {
        let now = self.now();
        let plan = self.view.plan;
        let mut resumable = false;
        for (index, spec) in plan.spec.vms.iter().enumerate() {
            let reference = self.resolved(index, spec.reference());
            if !self.separate_copy_and_conversion(&reference) {
                let message = format!(
                    "Resume conversion is not supported for VM {}: disk copy and conversion are not separate phases.",
                    conditions::go_quote(&spec.id)
                );
                self.fail_snapshot(conditions::resume_rejected(message), now);
                return false;
            }
            if plan
                .status
                .migration
                .find_vm(&reference)
                .is_some_and(|s| s.disks_copied && s.conditions.has(&[types::FAILED]))
            {
                resumable = true;
            }
        }
        if !resumable {
            self.fail_snapshot(
                conditions::resume_rejected(
                    "Resume conversion requires VMs with completed disk copy (DisksCopied=true)."
                        .to_string(),
                ),
                now,
            );
            return false;
        }
        true
    }

    fn fail_snapshot(&mut self, condition: ferry_api::condition::Condition, now: &ferry_api::Time) {
        if let Some(snapshot) = self.decision.status.migration.active_snapshot_mut() {
            snapshot.conditions.set(condition, now);
        }
    }

    /// The reference of `spec.vms[index]` as resolved by validation, else as written.
    fn resolved(&self, index: usize, written: Ref) -> Ref {
        self.input
            .validation
            .resolved
            .get(index)
            .cloned()
            .flatten()
            .unwrap_or(written)
    }

    /// A fresh pipeline for `status` (its itinerary's steps with the adapter's tasks).
    pub(super) fn build_pipeline(&mut self, status: &VmStatus) -> Result<Vec<Step>, ExecuteError> {
        let itinerary = self.itinerary(status);
        let source = self
            .source_vm(&status.reference())
            .map_err(|e| ExecuteError::Adapter {
                vm: status.reference().to_string(),
                source: AdapterError::Inventory(e.to_string()),
            })?;
        let adapter = self.adapter;
        let view = self.view;
        pipeline::build(&itinerary, || {
            adapter
                .builder()
                .tasks(&view, &source)
                .map_err(|e| e.to_string())
        })
        .map_err(|e| ExecuteError::Pipeline {
            vm: status.reference().to_string(),
            reason: e.to_string(),
        })
    }

    /// Builds the run's VM list in spec order: statuses of VMs no longer planned are
    /// dropped; a VM that completed without failing or being canceled is preserved; every
    /// other one is reset to the itinerary's first phase with a new pipeline.
    fn build_vm_list(&mut self) -> Result<(), ExecuteError> {
        let plan = self.view.plan;
        let resume = self.resume();
        let warm = plan.is_warm();
        let previous = std::mem::take(&mut self.decision.status.migration.vms);
        let mut list = Vec::with_capacity(plan.spec.vms.len());
        for (index, spec) in plan.spec.vms.iter().enumerate() {
            let reference = self.resolved(index, spec.reference());
            let existing = previous
                .iter()
                .find(|s| {
                    (!s.vm.id.is_empty() && s.vm.id == reference.id)
                        || (s.vm.id.is_empty()
                            && !s.vm.name.is_empty()
                            && s.vm.name == reference.name)
                })
                .cloned();
            let mut status = existing.unwrap_or_else(|| {
                let mut vm = spec.clone();
                vm.set_reference(reference.clone());
                let mut status = VmStatus::new(vm, "");
                if warm {
                    status.warm = Some(Warm::default());
                }
                status
            });
            let reset = status.phase != phase::COMPLETED
                || status.conditions.has_any(&[types::CANCELED, types::FAILED]);
            if reset {
                if resume && !status.disks_copied {
                    continue;
                }
                // Ferry: a reset VM takes the spec's current settings (upstream keeps
                // the first run's copy of them).
                let mut vm = spec.clone();
                vm.set_reference(reference.clone());
                if vm.id.is_empty() {
                    vm.id = status.vm.id.clone();
                }
                if vm.name.is_empty() {
                    vm.name = status.vm.name.clone();
                }
                status.vm = vm;
                let itinerary = self.itinerary(&status);
                let built = self.build_pipeline(&status)?;
                status.conditions.delete(&[types::CANCELED, types::FAILED]);
                status.timed.mark_reset();
                status.phase = itinerary.first().to_string();
                status.pipeline = built;
                status.error = None;
                if !resume {
                    status.disks_copied = false;
                    if warm {
                        status.warm = Some(Warm::default());
                    }
                }
            }
            list.push(status);
        }
        self.decision.status.migration.vms = list;
        Ok(())
    }
}
