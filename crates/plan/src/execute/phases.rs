//! `execute(vm)`: the phase handlers of the cold itineraries (plan spec §3.5, §4.6).
//!
//! Each handler either moves the VM on ([`Flow::Next`]), asks for actions and stops until
//! they are applied ([`Flow::Act`]), or waits for an external event ([`Flow::Wait`]). A VM
//! keeps moving within one decision until it cannot.

use super::action::{
    Action, HttpAnswer, HttpRequest, Kind, Method, Object, SourceAnswer, SourceOp,
};
use super::engine::{CONVERSION_POLL, Engine, ExecuteError, SOURCE_POLL};
use super::objects::{self, matching};
use super::pipeline::{self, Route};
use super::progress;
use crate::adapter::{AdapterError, VmDisks};
use crate::conditions;
use crate::kubevirt::{self, conversion, datavolume, hook, labels, parse, secret, vm as target_vm};
use crate::names;
use ferry_api::condition::types;
use ferry_api::conversion::ConversionType;
use ferry_api::k8s_openapi::api::core::v1::PersistentVolumeClaim;
use ferry_api::labels::annotation;
use ferry_api::plan::{Error as VmError, Step, VmStatus, step_phase};
use ferry_api::provider::ProviderType;
use ferry_api::{Migration, Ref, phase};
use ferry_inventory::SourceVm;

/// What a phase handler did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// The VM may go on at once.
    Next,
    /// Actions were asked for; go on once they are applied.
    Act,
    /// Waiting for something outside (an object's status, the source, a timer).
    Wait,
}

/// Most phases a VM may go through in one decision (a guard: an itinerary has fewer).
const MAX_STEPS: usize = 64;

impl<'a> Engine<'a> {
    /// Runs the VM at `index` as far as it goes.
    pub(super) fn execute_vm(
        &mut self,
        migration: &'a Migration,
        index: usize,
        cancel: &[Ref],
    ) -> Result<(), ExecuteError> {
        let mut vm = std::mem::take(&mut self.decision.status.migration.vms[index]);
        let result = self.drive(migration, &mut vm, cancel);
        self.decision.status.migration.vms[index] = vm;
        result
    }

    fn drive(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        cancel: &[Ref],
    ) -> Result<(), ExecuteError> {
        let now = self.now();
        vm.conditions.delete(&[types::PENDING]);
        if !vm.vm.id.is_empty() && cancel.iter().any(|c| !c.id.is_empty() && c.id == vm.vm.id) {
            vm.conditions.set(conditions::vm_canceled_by_user(), now);
            vm.phase = phase::COMPLETED.to_string();
            tracing::info!(vm = %vm.reference(), "VM migration canceled");
            return Ok(());
        }
        for _ in 0..MAX_STEPS {
            if vm.timed.marked_completed() {
                break;
            }
            let before = vm.phase.clone();
            let flow = self.phase(migration, vm)?;
            vm.reflect_pipeline(now);
            if vm.phase == phase::COMPLETED && vm.error.is_none() {
                if !vm.conditions.has(&[types::SUCCEEDED]) {
                    vm.conditions.set(conditions::vm_succeeded(), now);
                    tracing::info!(vm = %vm.reference(), "VM migration succeeded");
                    self.cleanup(migration, vm, false);
                }
            } else if vm.error.is_some() {
                vm.phase = phase::COMPLETED.to_string();
                if !vm.conditions.has(&[types::FAILED]) {
                    vm.conditions.set(conditions::vm_failed(), now);
                    tracing::info!(
                        vm = %vm.reference(),
                        reasons = ?vm.error.as_ref().map(|e| &e.reasons),
                        "VM migration failed"
                    );
                }
            }
            if flow != Flow::Next && before == vm.phase {
                break;
            }
            if flow == Flow::Act {
                break;
            }
        }
        Ok(())
    }

    /// One phase handler.
    fn phase(&mut self, migration: &'a Migration, vm: &mut VmStatus) -> Result<Flow, ExecuteError> {
        let route = self.route(vm);
        let current = vm.phase.clone();
        tracing::debug!(vm = %vm.reference(), phase = %current, "VM phase");
        match current.as_str() {
            phase::STARTED => self.started(migration, vm, &route),
            phase::PRE_HOOK | phase::POST_HOOK => self.hook(migration, vm, &route),
            phase::STORE_POWER_STATE => Ok(self.source_step(vm, &route, SourceOp::PowerState)),
            phase::POWER_OFF_SOURCE => Ok(self.source_step(vm, &route, SourceOp::PowerOff)),
            phase::WAIT_FOR_POWER_OFF => Ok(self.source_step(vm, &route, SourceOp::PoweredOff)),
            phase::CREATE_DATA_VOLUMES => self.create_data_volumes(migration, vm, &route),
            phase::ALLOCATE_DISKS | phase::COPY_DISKS => self.copy_disks(migration, vm, &route),
            phase::CREATE_GUEST_CONVERSION_POD => self.create_conversion(migration, vm, &route),
            phase::CONVERT_GUEST | phase::COPY_DISKS_VIRT_V2V => {
                self.convert(migration, vm, &route)
            }
            phase::CREATE_VM => self.create_vm(migration, vm, &route),
            phase::WAIT_FOR_GUEST_REBOOTS => Ok(self.wait_for_reboots(vm, &route)),
            phase::COMPLETED => {
                vm.timed.mark_completed(self.now());
                Ok(Flow::Next)
            }
            other if itinerary_phase(other) => {
                // A phase of the warm, resume and OpenStack itineraries Ferry does not
                // run yet: fail the VM with a clear reason instead of stalling it.
                let reason = format!("Phase [{other}] is not supported by Ferry yet");
                self.step_error(vm, &route, &reason);
                Ok(Flow::Next)
            }
            other => {
                vm.add_error([format!("Phase [{other}] unknown")]);
                vm.phase = phase::COMPLETED.to_string();
                Ok(Flow::Next)
            }
        }
    }

    /// Adds an error to the VM's current step (or, without one, to the VM).
    fn step_error(&mut self, vm: &mut VmStatus, route: &Route, reason: &str) {
        let name = route.step(vm);
        match vm.find_step_mut(name) {
            Some(step) => step.task.add_error([reason.to_string()]),
            None => vm.add_error([format!("Step '{name}' not found")]),
        }
    }

    /// Marks the current step started and `Running`; `None` (and a VM error) when the
    /// VM has no such step.
    fn start_step<'s>(&self, vm: &'s mut VmStatus, route: &Route) -> Option<&'s mut Step> {
        let name = route.step(vm);
        let now = self.now();
        if vm.find_step(name).is_none() {
            vm.add_error([format!("Step '{name}' not found")]);
            return None;
        }
        let step = vm.find_step_mut(name)?;
        step.task.timed.mark_started(now);
        step.task.phase = step_phase::RUNNING.to_string();
        Some(step)
    }

    fn next(&self, vm: &mut VmStatus, route: &Route) -> Flow {
        pipeline::next_phase(vm, route, self.now());
        Flow::Next
    }

    fn source_vm_or_error(&mut self, vm: &mut VmStatus, route: &Route) -> Option<SourceVm> {
        match self.source_vm(&vm.reference()) {
            Ok(source) => Some(source),
            Err(error) => {
                self.step_error(vm, route, &format!("VM {}: {error}", vm.reference()));
                None
            }
        }
    }

    /// `Started`: clean up earlier attempts, settle the target name.
    fn started(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        route: &Route,
    ) -> Result<Flow, ExecuteError> {
        let now = self.now();
        if vm.find_step(route.step(vm)).is_none() {
            vm.add_error([format!("Step '{}' not found", route.step(vm))]);
            return Ok(Flow::Next);
        }
        vm.timed.mark_started(now);
        self.start_step(vm, route);
        if self.resume() {
            self.step_error(
                vm,
                route,
                "Resume conversion is not supported by Ferry yet.",
            );
            return Ok(Flow::Next);
        }
        // Remove what earlier attempts left, and wait until it is gone.
        if self.cleanup(migration, vm, true) {
            return Ok(Flow::Act);
        }
        let target = self.target().to_string();
        if !vm.vm.target_name.is_empty() {
            let name = vm.vm.target_name.clone();
            if !names::is_dns1123_subdomain(&name) {
                self.step_error(
                    vm,
                    route,
                    &format!("VM name '{name}' does not meet DNS1123 protocol requirements"),
                );
                return Ok(Flow::Next);
            }
            if self.name_taken(&name, &vm.vm.id) {
                // Upstream returns a reconcile error here and retries forever without a
                // trace in the status; Ferry fails the VM with the same message.
                self.step_error(
                    vm,
                    route,
                    &format!("VM name '{name}' already exists in the target namespace '{target}'"),
                );
                return Ok(Flow::Next);
            }
            vm.new_name = name;
        } else if !names::is_dns1123_subdomain(&vm.vm.name) {
            let mut name = names::change_vm_name(&vm.vm.name, &vm.vm.id);
            if self.name_taken(&name, &vm.vm.id) {
                name = names::with_suffix(&name, &vm.vm.id);
            }
            vm.new_name = name;
        }
        if let Some(scripts) = &self.view.plan.spec.customization_scripts {
            let name = scripts.name.clone().unwrap_or_default();
            let namespace = scripts
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| self.view.plan.metadata.namespace.clone())
                .unwrap_or_default();
            if self.observed().customization_scripts.found().is_none() {
                self.step_error(
                    vm,
                    route,
                    &format!("CustomizationScripts ConfigMap '{name}' not found in namespace '{namespace}'"),
                );
                return Ok(Flow::Next);
            }
        }
        Ok(self.next(vm, route))
    }

    /// Whether a VirtualMachine named `name` exists in the target namespace (not counting
    /// this VM's own leftovers, which the cleanup removes) or another VM of the run uses
    /// the name.
    fn name_taken(&self, name: &str, vm_id: &str) -> bool {
        let target = self.target();
        let uid = self.view.plan.metadata.uid.as_deref().unwrap_or_default();
        let on_destination = self.observed().destination_vms.iter().any(|d| {
            d.vm.namespace == target
                && d.vm.name == name
                && !(d.labels.get(ferry_api::labels::PLAN).map(String::as_str) == Some(uid)
                    && d.labels.get(ferry_api::labels::VM_ID).map(String::as_str) == Some(vm_id))
        });
        on_destination
            || self.decision.status.migration.vms.iter().any(|other| {
                other.vm.id != vm_id && (other.vm.name == name || other.new_name == name)
            })
    }

    /// `StorePowerState`, `PowerOffSource`, `WaitForPowerOff`: ask the source.
    fn source_step(&mut self, vm: &mut VmStatus, route: &Route, op: SourceOp) -> Flow {
        if vm.find_step(route.step(vm)).is_none() {
            vm.add_error([format!("Step '{}' not found", route.step(vm))]);
            return Flow::Next;
        }
        let key = (vm.vm.id.clone(), op);
        let Some(answer) = self.results().source.get(&key).cloned() else {
            self.act(Action::Source {
                vm: vm.reference(),
                op,
            });
            return Flow::Act;
        };
        match answer {
            SourceAnswer::Failed(reason) => {
                self.step_error(vm, route, &reason);
                Flow::Next
            }
            SourceAnswer::PowerState(state) => {
                vm.restore_power_state = state;
                self.next(vm, route)
            }
            SourceAnswer::PoweredOff(false) => {
                self.decision_wake(SOURCE_POLL);
                Flow::Wait
            }
            SourceAnswer::PoweredOff(true) | SourceAnswer::Done => self.next(vm, route),
        }
    }

    fn decision_wake(&mut self, after: std::time::Duration) {
        self.decision.wake = Some(match self.decision.wake {
            Some(current) => current.min(after),
            None => after,
        });
    }

    /// Ensures a VM secret with the builder's data; returns its name once it exists.
    fn ensure_secret(
        &mut self,
        run: &kubevirt::Run<'a>,
        vm_id: &str,
        kind: secret::Kind,
    ) -> Result<Option<String>, AdapterError> {
        let data = self
            .adapter
            .builder()
            .secret_data(&self.view, self.observed().source_secret.as_ref())?;
        let selector = secret::secret_labels(run, vm_id, kind);
        let existing = matching(&self.observed().objects.secrets, &selector)
            .find(|s| !objects::terminating(*s))
            .cloned();
        match existing {
            Some(existing) => {
                if secret::data_differs(&existing, &data) {
                    let mut updated = existing.clone();
                    updated.data = (!data.is_empty()).then(|| {
                        data.into_iter()
                            .map(|(k, v)| (k, ferry_api::k8s_openapi::ByteString(v)))
                            .collect()
                    });
                    self.act(Action::Update(Object::Secret(updated)));
                }
                Ok(existing.metadata.name)
            }
            None => {
                self.create(Object::Secret(secret::secret(run, vm_id, kind, data)));
                Ok(None)
            }
        }
    }

    /// `CreateDataVolumes`: the CDI secret, the VM's ConfigMap and the DataVolumes.
    fn create_data_volumes(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        route: &Route,
    ) -> Result<Flow, ExecuteError> {
        if vm.find_step(route.step(vm)).is_none() {
            vm.add_error([format!("Step '{}' not found", route.step(vm))]);
            return Ok(Flow::Next);
        }
        let run = self.run_of(migration);
        let vm_id = vm.vm.id.clone();
        let Some(source) = self.source_vm_or_error(vm, route) else {
            return Ok(Flow::Next);
        };
        let secret_name = match self.ensure_secret(&run, &vm_id, secret::Kind::Cdi) {
            Ok(name) => name,
            Err(error) => {
                self.step_error(vm, route, &error.to_string());
                return Ok(Flow::Next);
            }
        };
        let vm_selector = labels::vm(&run, &vm_id, true);
        if !self.any(&self.observed().objects.config_maps, &vm_selector) {
            self.create(Object::ConfigMap(secret::config_map(
                &run,
                &vm_id,
                Default::default(),
            )));
        }
        let Some(secret_name) = secret_name else {
            return Ok(Flow::Act);
        };
        let target_name = names::resolve_target_vm_name(
            Some(&vm.vm.target_name),
            Some(&vm.new_name),
            &vm.vm.id,
            &vm.vm.name,
        );
        let disks = match self
            .adapter
            .builder()
            .data_volumes(&self.view, &source, &target_name)
        {
            Ok(disks) => disks,
            Err(error) => {
                self.step_error(vm, route, &error.to_string());
                return Ok(Flow::Next);
            }
        };
        let transfer_network = match self.transfer_network_annotations() {
            Ok(annotations) => annotations,
            Err(reason) => {
                self.step_error(vm, route, &reason);
                return Ok(Flow::Next);
            }
        };
        let source_is_openshift = self.view.source.is(ProviderType::OpenShift);
        let options = datavolume::DataVolumeOptions {
            template: crate::validate::pvc_name_template(
                self.view.plan,
                &vm_id,
                source_is_openshift,
                self.settings(),
            ),
            use_generate_name: self
                .view
                .plan
                .spec
                .pvc_name_template_use_generate_name(source_is_openshift),
            transfer_network,
            vm_uuid: self
                .separate_copy_and_conversion(&vm.reference())
                .then(|| vm_id.clone()),
        };
        let builder = self.adapter.builder();
        let existing: Vec<String> = matching(&self.observed().objects.data_volumes, &vm_selector)
            .map(|dv| {
                builder.resolve_data_volume_identifier(
                    dv.metadata
                        .annotations
                        .as_ref()
                        .unwrap_or(&Default::default()),
                )
            })
            .collect();
        let mut created = false;
        for disk in &disks {
            let mut dv = datavolume::data_volume(&run, &vm_id, disk, &options);
            fill_secret_refs(&mut dv, &secret_name);
            let identity = builder.resolve_data_volume_identifier(
                dv.metadata
                    .annotations
                    .as_ref()
                    .unwrap_or(&Default::default()),
            );
            if !existing.contains(&identity) {
                self.create(Object::DataVolume(dv));
                created = true;
            }
        }
        if created {
            return Ok(Flow::Act);
        }
        Ok(self.next(vm, route))
    }

    /// The transfer network's annotations, when the plan names one.
    fn transfer_network_annotations(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, String> {
        let Some(reference) = &self.view.plan.spec.transfer_network else {
            return Ok(Default::default());
        };
        let key = crate::observe::ref_key(reference);
        match key.and_then(|k| self.observed().nads.get(&k).cloned().flatten()) {
            Some(nad) => {
                crate::network::transfer_network_annotations(&nad).map_err(|e| e.to_string())
            }
            None => Err("Transfer network is not valid.".to_string()),
        }
    }

    /// `AllocateDisks` and `CopyDisks`: DataVolume progress.
    fn copy_disks(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        route: &Route,
    ) -> Result<Flow, ExecuteError> {
        let run = self.run_of(migration);
        let requires_conversion = self.view.source.requires_conversion();
        let observed = self.observed();
        let builder = self.adapter.builder();
        let now = self.now();
        let vm_id = vm.vm.id.clone();
        let Some(step) = self.start_step(vm, route) else {
            return Ok(Flow::Next);
        };
        progress::copy(
            &run,
            &vm_id,
            step,
            &observed.objects,
            builder,
            requires_conversion,
            now,
        );
        if step.task.timed.marked_completed() && !step.task.has_error() {
            return Ok(self.next(vm, route));
        }
        Ok(Flow::Wait)
    }

    /// The run's PVCs of a VM (labels `vmID` and `migration`), in task order.
    fn run_pvcs(
        &self,
        run: &kubevirt::Run<'a>,
        vm: &VmStatus,
        source: &SourceVm,
    ) -> Vec<PersistentVolumeClaim> {
        let selector = labels::Labels::from([
            (ferry_api::labels::VM_ID.to_string(), vm.vm.id.clone()),
            (
                ferry_api::labels::MIGRATION.to_string(),
                run.migration_uid().to_string(),
            ),
        ]);
        let builder = self.adapter.builder();
        let mut pvcs: Vec<PersistentVolumeClaim> =
            matching(&self.observed().objects.pvcs, &selector)
                .filter(|pvc| {
                    !objects::name(*pvc).starts_with("prime-")
                        && objects::annotation(*pvc, annotation::DISK_SOURCE).is_some()
                })
                .cloned()
                .collect();
        let order: Vec<String> = builder
            .tasks(&self.view, source)
            .map(|tasks| tasks.into_iter().map(|t| t.name).collect())
            .unwrap_or_default();
        pvcs.sort_by_key(|pvc| {
            let identity = builder.resolve_data_volume_identifier(
                pvc.metadata
                    .annotations
                    .as_ref()
                    .unwrap_or(&Default::default()),
            );
            order
                .iter()
                .position(|n| *n == identity)
                .unwrap_or(usize::MAX)
        });
        pvcs
    }

    /// `CreateGuestConversionPod`: the Conversion (or the pod) and the provider storage.
    fn create_conversion(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        route: &Route,
    ) -> Result<Flow, ExecuteError> {
        let run = self.run_of(migration);
        if !vm.disks_copied && !self.resume() && self.separate_copy_and_conversion(&vm.reference())
        {
            vm.disks_copied = true;
        }
        if self.start_step(vm, route).is_none() {
            return Ok(Flow::Next);
        }
        let Some(source) = self.source_vm_or_error(vm, route) else {
            return Ok(Flow::Next);
        };
        let vm_id = vm.vm.id.clone();
        let builder = self.adapter.builder();
        let mut acted = false;
        let secret_name = match self.ensure_secret(&run, &vm_id, secret::Kind::V2v) {
            Ok(Some(name)) => name,
            Ok(None) => return Ok(Flow::Act),
            Err(error) => {
                self.step_error(vm, route, &error.to_string());
                return Ok(Flow::Next);
            }
        };
        // Provider storage (OVA: the NFS share), found again by its labels.
        let storage =
            match builder.provider_storage(&self.view, &source, &labels::vm(&run, &vm_id, true)) {
                Ok(storage) => storage,
                Err(error) => {
                    self.step_error(vm, route, &error.to_string());
                    return Ok(Flow::Next);
                }
            };
        let mut extra_volumes = Vec::new();
        let mut extra_mounts = Vec::new();
        let mut storage_ready = true;
        if let Some(storage) = storage {
            let mut volume_name = None;
            if let Some(pv) = storage.volume {
                let selector = pv.metadata.labels.clone().unwrap_or_default();
                match matching(&self.observed().objects.pvs, &selector).next() {
                    Some(existing) => volume_name = existing.metadata.name.clone(),
                    None => {
                        self.create(Object::PersistentVolume(pv));
                        acted = true;
                    }
                }
            }
            let selector = storage.claim.metadata.labels.clone().unwrap_or_default();
            match matching(&self.observed().objects.pvcs, &selector)
                .next()
                .cloned()
            {
                Some(claim) => {
                    match claim.status.as_ref().and_then(|s| s.phase.as_deref()) {
                        Some("Bound") => {}
                        Some("Lost") => {
                            self.step_error(vm, route, "virt-v2v pvc lost");
                            return Ok(Flow::Next);
                        }
                        _ => storage_ready = false,
                    }
                    let name = claim.metadata.name.clone().unwrap_or_default();
                    extra_volumes.push(ferry_api::k8s_openapi::api::core::v1::Volume {
                        name: storage.volume_name.clone(),
                        persistent_volume_claim: Some(
                            ferry_api::k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                                claim_name: name,
                                read_only: None,
                            },
                        ),
                        ..Default::default()
                    });
                    extra_mounts.push(ferry_api::k8s_openapi::api::core::v1::VolumeMount {
                        name: storage.volume_name.clone(),
                        mount_path: storage.mount_path.clone(),
                        ..Default::default()
                    });
                }
                None if !acted => {
                    let mut claim = storage.claim.clone();
                    if let (Some(spec), Some(pv)) = (claim.spec.as_mut(), volume_name) {
                        spec.volume_name = Some(pv);
                    }
                    self.create(Object::PersistentVolumeClaim(claim));
                    acted = true;
                }
                None => {}
            }
        }
        if acted {
            return Ok(Flow::Act);
        }
        let (more_volumes, more_mounts) = builder.conversion_volumes(&self.view);
        extra_volumes.extend(more_volumes);
        extra_mounts.extend(more_mounts);
        let provider_env = match builder.conversion_environment(&self.view, &source) {
            Ok(env) => env,
            Err(error) => {
                self.step_error(vm, route, &error.to_string());
                return Ok(Flow::Next);
            }
        };
        let transfer_network = match self.transfer_network_annotations() {
            Ok(annotations) => annotations,
            Err(reason) => {
                self.step_error(vm, route, &reason);
                return Ok(Flow::Next);
            }
        };
        let pvcs = self.run_pvcs(&run, vm, &source);
        let uses_v2v = self.adapter.uses_v2v_transfer(&self.view, &vm.reference());
        let offloaded = pvcs
            .iter()
            .any(|p| objects::annotation(p, annotation::COPY_OFFLOAD).is_some());
        let conversion_type = if !uses_v2v || offloaded {
            ConversionType::InPlace
        } else {
            ConversionType::Remote
        };
        let settings = self.settings();
        let inputs = conversion::Inputs {
            vm: vm.reference(),
            new_name: vm.new_name.clone(),
            root_disk: vm.vm.root_disk.clone(),
            conversion_type,
            pvcs,
            secret: secret_name,
            provider_env,
            extra_volumes,
            extra_mounts,
            transfer_network,
            udn: crate::validate::destination_has_udn(self.observed()),
            request_kvm: builder.request_kvm() && !settings.virt_v2v_dont_request_kvm,
            luks_secret: None,
            extra_v2v_conf: (!settings.virt_v2v_extra_conf_config_map.is_empty())
                .then(|| run.extra_v2v_conf_name()),
            customization_scripts: self.customization_scripts_name(&run),
            clevis: vm.vm.nbde_clevis,
        };
        if settings.use_conversion_cr {
            let selector = conversion::labels_of(&run, &inputs);
            if matching(&self.observed().objects.conversions, &selector)
                .next()
                .is_none()
            {
                self.create(Object::Conversion(conversion::conversion(&run, &inputs)));
                return Ok(Flow::Act);
            }
        } else {
            let selector = labels::conversion_pod(&run, &vm_id, true);
            let pods: Vec<_> = matching(&self.observed().objects.pods, &selector).collect();
            match pods.len() {
                0 => {
                    self.create(Object::Pod(conversion::pod(&run, &inputs)));
                    return Ok(Flow::Act);
                }
                1 => {}
                _ => {
                    self.step_error(vm, route, "more than one virt-v2v pod found for the VM");
                    return Ok(Flow::Next);
                }
            }
        }
        if !storage_ready {
            return Ok(Flow::Wait);
        }
        Ok(self.next(vm, route))
    }

    fn customization_scripts_name(&self, run: &kubevirt::Run<'a>) -> Option<String> {
        let scripts = self.view.plan.spec.customization_scripts.as_ref()?;
        let namespace = scripts
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(run.plan_namespace());
        Some(if namespace == run.target_namespace() {
            scripts.name.clone().unwrap_or_default()
        } else {
            run.customization_scripts_name()
        })
    }

    /// `ConvertGuest` and `CopyDisksVirtV2V`: the conversion's progress and results.
    fn convert(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        route: &Route,
    ) -> Result<Flow, ExecuteError> {
        let run = self.run_of(migration);
        let now = self.now();
        let vm_id = vm.vm.id.clone();
        // Only this VM's questions hold it back, not those of the VMs before it.
        let asked_before = self.decision.actions.len();
        let uses_v2v = self.adapter.uses_v2v_transfer(&self.view, &vm.reference());
        let reads_results = matches!(
            self.view.source.provider_type(),
            Some(
                ProviderType::Ova
                    | ProviderType::VSphere
                    | ProviderType::HyperV
                    | ProviderType::Ec2
            )
        );
        let pod = matching(
            &self.observed().objects.pods,
            &labels::conversion_pod(&run, &vm_id, true),
        )
        .next()
        .cloned();
        let guest =
            progress::guest_conversion(&run, &vm_id, &self.observed().objects.conversions).cloned();
        let use_cr = self.settings().use_conversion_cr;
        let Some(step) = self.start_step(vm, route) else {
            return Ok(Flow::Next);
        };
        let outcome = progress::conversion(step, pod.as_ref(), guest.as_ref(), use_cr, now);
        let mut requests = Vec::new();
        let mut waiting = false;
        if let progress::ConversionState::Running(ip) = &outcome {
            waiting = true;
            if uses_v2v {
                let request = HttpRequest {
                    method: Method::Get,
                    url: format!("http://{ip}:{}/metrics", parse::METRICS_PORT),
                };
                match self.results().http.get(&request) {
                    Some(HttpAnswer::Response { body, .. }) => {
                        progress::v2v_metrics(
                            step,
                            body,
                            self.view.source.is(ProviderType::VSphere),
                            now,
                        );
                    }
                    Some(_) => {}
                    None => requests.push(request),
                }
            }
        }
        let mut results_read = None;
        if let (progress::ConversionState::Running(ip), true) = (&outcome, reads_results) {
            results_read = Some(ip.clone());
        }
        let completed = step.task.timed.marked_completed();
        let has_error = step.task.has_error();
        for request in requests {
            self.act(Action::Http(request));
        }
        if !completed && let Some(ip) = results_read {
            match self.read_results(vm, route, &ip) {
                ReadResults::Pending => {}
                ReadResults::Ask(request) => {
                    self.act(Action::Http(request));
                    return Ok(Flow::Act);
                }
                ReadResults::Done => {
                    if let Some(step) = vm.find_step_mut(route.step(vm)) {
                        step.task.timed.mark_completed(now);
                        step.task.progress.completed = step.task.progress.total;
                    }
                }
            }
        }
        if self.decision.actions[asked_before..]
            .iter()
            .any(|a| matches!(a, Action::Http(_)))
        {
            return Ok(Flow::Act);
        }
        let step_done = vm
            .find_step(route.step(vm))
            .is_some_and(|s| s.task.timed.marked_completed());
        if step_done
            && !has_error
            && vm
                .find_step(route.step(vm))
                .is_some_and(|s| !s.task.has_error())
        {
            return Ok(self.next(vm, route));
        }
        if waiting && !completed {
            self.decision_wake(CONVERSION_POLL);
        }
        Ok(Flow::Wait)
    }

    /// Upstream `UpdateVmByConvertedConfig`: once virt-v2v finished, `/vm` answers; read
    /// the firmware and boot disk, the warnings, then ask the pod to shut down.
    fn read_results(&mut self, vm: &mut VmStatus, route: &Route, ip: &str) -> ReadResults {
        let now = self.now();
        let vm_request = HttpRequest {
            method: Method::Get,
            url: format!("http://{ip}:{}/vm", parse::RESULTS_PORT),
        };
        let body = match self.results().http.get(&vm_request) {
            None => return ReadResults::Ask(vm_request),
            Some(HttpAnswer::Response { status: 200, body }) => body.clone(),
            Some(HttpAnswer::Response { status, .. }) => {
                tracing::warn!(vm = %vm.reference(), status, "conversion results not available yet");
                self.decision_wake(CONVERSION_POLL);
                return ReadResults::Pending;
            }
            Some(HttpAnswer::Refused | HttpAnswer::Eof) => return ReadResults::Pending,
            Some(HttpAnswer::Failed(reason)) => {
                tracing::warn!(vm = %vm.reference(), %reason, "reading conversion results");
                self.decision_wake(CONVERSION_POLL);
                return ReadResults::Pending;
            }
        };
        match parse::converted_vm(&body) {
            Ok(converted) => {
                if matches!(
                    self.view.source.provider_type(),
                    Some(ProviderType::Ova | ProviderType::HyperV)
                ) {
                    vm.firmware = converted.firmware;
                }
                if converted.boot_disk.is_some() {
                    vm.detected_boot_disk = converted.boot_disk;
                }
            }
            Err(error) => {
                self.step_error(vm, route, &error.to_string());
                return ReadResults::Done;
            }
        }
        let warnings_request = HttpRequest {
            method: Method::Get,
            url: format!("http://{ip}:{}/warnings", parse::RESULTS_PORT),
        };
        match self.results().http.get(&warnings_request) {
            None => return ReadResults::Ask(warnings_request),
            Some(HttpAnswer::Response { status: 200, body }) => {
                for warning in parse::warnings(body) {
                    vm.conditions.set(
                        conditions::vm_conversion_warning(&warning.reason, &warning.message),
                        now,
                    );
                }
            }
            Some(_) => {}
        }
        let shutdown = HttpRequest {
            method: Method::Post,
            url: format!("http://{ip}:{}/shutdown", parse::RESULTS_PORT),
        };
        if !self.results().http.contains_key(&shutdown) {
            return ReadResults::Ask(shutdown);
        }
        ReadResults::Done
    }

    /// `CreateVM`: the VirtualMachine, the PVCs handed over to it, the DataVolumes gone.
    fn create_vm(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        route: &Route,
    ) -> Result<Flow, ExecuteError> {
        let run = self.run_of(migration);
        if self.start_step(vm, route).is_none() {
            return Ok(Flow::Next);
        }
        let Some(source) = self.source_vm_or_error(vm, route) else {
            return Ok(Flow::Next);
        };
        let vm_id = vm.vm.id.clone();
        let selector = target_vm::vm_labels(&run, &vm_id);
        let existing = matching(&self.observed().objects.vms, &selector)
            .next()
            .cloned();
        let pvcs = self.run_pvcs(&run, vm, &source);
        let Some(existing) = existing else {
            let built = match self.adapter.builder().virtual_machine(
                &self.view,
                &source,
                vm,
                &VmDisks { pvcs: &pvcs },
            ) {
                Ok(built) => built,
                Err(error) => {
                    self.step_error(vm, route, &error.to_string());
                    return Ok(Flow::Next);
                }
            };
            let windows = self.windows(&vm.reference());
            let object = target_vm::virtual_machine(&run, vm, built.vm, windows);
            self.create(Object::VirtualMachine(object));
            return Ok(Flow::Act);
        };
        let owner = target_vm::owner_reference(&existing);
        let mut acted = false;
        for pvc in &pvcs {
            if !target_vm::owned_by(pvc, &existing) {
                self.act(Action::Patch {
                    kind: Kind::PersistentVolumeClaim,
                    namespace: objects::namespace(pvc).to_string(),
                    name: objects::name(pvc).to_string(),
                    patch: serde_json::json!({"metadata": {"ownerReferences": [owner]}}),
                });
                acted = true;
            }
        }
        // The DataVolumes own their claims (CDI's owner reference): deleting one before the
        // hand-over above is stored would let the garbage collector take the disk with it.
        // Writes of one pass run concurrently, so the deletes wait for the next pass, which
        // sees the claims owned by the VirtualMachine (a restart in between sees the same).
        if acted {
            return Ok(Flow::Act);
        }
        let all_runs = labels::vm(&run, &vm_id, false);
        let dvs: Vec<(String, String)> = matching(&self.observed().objects.data_volumes, &all_runs)
            .filter(|dv| !objects::terminating(*dv))
            .map(|dv| {
                (
                    objects::namespace(dv).to_string(),
                    objects::name(dv).to_string(),
                )
            })
            .collect();
        for (namespace, name) in dvs {
            self.delete(Kind::DataVolume, &namespace, &name, None);
            acted = true;
        }
        let consumers: Vec<(String, String)> = matching(
            &self.observed().objects.pods,
            &labels::consumer_pod(&run, &vm_id, false),
        )
        .map(|p| {
            (
                objects::namespace(p).to_string(),
                objects::name(p).to_string(),
            )
        })
        .collect();
        for (namespace, name) in consumers {
            self.delete(Kind::Pod, &namespace, &name, None);
            acted = true;
        }
        if acted {
            return Ok(Flow::Act);
        }
        Ok(self.next(vm, route))
    }

    /// `WaitForGuestReboots`: Ferry does not run the Windows wait-for-reboot pod yet; the
    /// VM goes on, and the condition says so.
    fn wait_for_reboots(&mut self, vm: &mut VmStatus, route: &Route) -> Flow {
        let now = self.now();
        if self.start_step(vm, route).is_none() {
            return Flow::Next;
        }
        vm.conditions.set(
            conditions::vm_wait_for_guest_reboots(
                "Ferry does not wait for Windows guest reboots yet; start the VM once and let the guest finish its first-boot reboots.",
            ),
            now,
        );
        self.next(vm, route)
    }

    /// `PreHook` and `PostHook`: a local hook's ConfigMap and Job in the plan namespace.
    fn hook(
        &mut self,
        migration: &'a Migration,
        vm: &mut VmStatus,
        route: &Route,
    ) -> Result<Flow, ExecuteError> {
        let run = self.run_of(migration);
        let now = self.now();
        let step_name = vm.phase.clone();
        if vm.find_step(&step_name).is_none() {
            vm.add_error([format!("Step '{step_name}' not found")]);
            return Ok(Flow::Next);
        }
        let Some(hook_ref) = vm.vm.find_hook(&step_name).cloned() else {
            return Ok(self.next(vm, route));
        };
        let hook = crate::observe::ref_key(&hook_ref.hook)
            .and_then(|key| self.observed().hooks.get(&key).cloned().flatten());
        let Some(hook) = hook else {
            if let Some(step) = vm.find_step_mut(&step_name) {
                step.task.error = Some(VmError {
                    phase: step.task.phase.clone(),
                    reasons: vec!["Hook not found.".to_string()],
                });
            }
            return Ok(Flow::Next);
        };
        if hook.spec.aap.is_some() {
            if let Some(step) = vm.find_step_mut(&step_name) {
                step.task.add_error([
                    "AAP hooks are not supported by Ferry yet; use a local hook (spec.image).",
                ]);
                step.task.timed.mark_completed(now);
            }
            return Ok(Flow::Next);
        }
        let hook_uid = hook.metadata.uid.clone().unwrap_or_default();
        let selector = labels::hook(&run, &vm.vm.id, &step_name, &hook_uid);
        let plan_namespace = run.plan_namespace().to_string();
        let config_map = matching(&self.observed().objects.config_maps, &selector)
            .find(|c| objects::namespace(*c) == plan_namespace)
            .cloned();
        let Some(config_map) = config_map else {
            let workload = match self.source_vm(&vm.reference()) {
                Ok(source) => self
                    .adapter
                    .facts(&source)
                    .map(|f| serde_json::json!({"vm": {"id": f.id, "name": f.name}}))
                    .unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            match hook::config_map(&run, &vm.vm.id, &step_name, &hook, workload) {
                Ok(map) => {
                    self.create(Object::ConfigMap(map));
                    return Ok(Flow::Act);
                }
                Err(error) => {
                    if let Some(step) = vm.find_step_mut(&step_name) {
                        step.task.add_error([error.to_string()]);
                        step.task.timed.mark_completed(now);
                    }
                    return Ok(Flow::Next);
                }
            }
        };
        let job = matching(&self.observed().objects.jobs, &selector)
            .find(|j| objects::namespace(*j) == plan_namespace)
            .cloned();
        let Some(job) = job else {
            let name = objects::name(&config_map).to_string();
            self.create(Object::Job(hook::job(
                &run, &vm.vm.id, &step_name, &hook, &name,
            )));
            return Ok(Flow::Act);
        };
        if config_map.metadata.owner_references.is_none() {
            let owner = ferry_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "batch/v1".into(),
                kind: "Job".into(),
                name: objects::name(&job).to_string(),
                uid: job.metadata.uid.clone().unwrap_or_default(),
                ..Default::default()
            };
            self.act(Action::Patch {
                kind: Kind::ConfigMap,
                namespace: plan_namespace.clone(),
                name: objects::name(&config_map).to_string(),
                patch: serde_json::json!({"metadata": {"ownerReferences": [owner]}}),
            });
        }
        let hook_retry = self.settings().hook_retry;
        let Some(step) = vm.find_step_mut(&step_name) else {
            return Ok(Flow::Next);
        };
        step.task.timed.mark_started(now);
        step.task.phase = step_phase::RUNNING.to_string();
        let status = job.status.unwrap_or_default();
        let failed = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Failed" && c.status == "True");
        if let Some(failed) = failed {
            step.task
                .add_error([failed.message.clone().unwrap_or_default()]);
            step.task.timed.mark_completed(now);
        } else if status.failed.unwrap_or(0) > hook_retry {
            step.task.add_error(["Retry limit exceeded."]);
            step.task.timed.mark_completed(now);
        } else if status.succeeded.unwrap_or(0) > 0 {
            step.task.progress.completed = 1;
            step.task.timed.mark_completed(now);
        }
        if step.task.timed.marked_completed() && !step.task.has_error() {
            return Ok(self.next(vm, route));
        }
        Ok(Flow::Wait)
    }
}

/// The progress of reading a conversion's results.
enum ReadResults {
    /// Not available yet.
    Pending,
    /// Ask this next.
    Ask(HttpRequest),
    /// Read (or failed for good).
    Done,
}

/// Fills the `secretRef` of a DataVolume's VDDK, imageio or HTTP source when the builder
/// left it empty (builders do not know the secret's generated name).
fn fill_secret_refs(dv: &mut ferry_api::destination::DataVolume, secret: &str) {
    let Some(source) = dv.spec.source.as_mut() else {
        return;
    };
    if let Some(vddk) = source.vddk.as_mut()
        && vddk.secret_ref.as_deref().unwrap_or_default().is_empty()
    {
        vddk.secret_ref = Some(secret.to_string());
    }
    if let Some(imageio) = source.imageio.as_mut()
        && imageio.secret_ref.as_deref().unwrap_or_default().is_empty()
    {
        imageio.secret_ref = Some(secret.to_string());
    }
}

/// Phases of upstream's itineraries that Ferry's engine does not run yet.
fn itinerary_phase(name: &str) -> bool {
    matches!(
        name,
        phase::CREATE_INITIAL_SNAPSHOT
            | phase::WAIT_FOR_INITIAL_SNAPSHOT
            | phase::STORE_INITIAL_SNAPSHOT_DELTAS
            | phase::PREFLIGHT_INSPECTION
            | phase::COPYING_PAUSED
            | phase::REMOVE_PREVIOUS_SNAPSHOT
            | phase::WAIT_FOR_PREVIOUS_SNAPSHOT_REMOVAL
            | phase::CREATE_SNAPSHOT
            | phase::WAIT_FOR_SNAPSHOT
            | phase::STORE_SNAPSHOT_DELTAS
            | phase::ADD_CHECKPOINT
            | phase::REMOVE_PENULTIMATE_SNAPSHOT
            | phase::WAIT_FOR_PENULTIMATE_SNAPSHOT_REMOVAL
            | phase::CREATE_FINAL_SNAPSHOT
            | phase::WAIT_FOR_FINAL_SNAPSHOT
            | phase::ADD_FINAL_CHECKPOINT
            | phase::FINALIZE
            | phase::REMOVE_FINAL_SNAPSHOT
            | phase::WAIT_FOR_FINAL_SNAPSHOT_REMOVAL
            | phase::CONVERT_OPENSTACK_SNAPSHOT
    )
}
