//! `cleanup(vm, force)` (plan spec §6.9): the deletions that remove a VM's leftovers,
//! found by the VM labels *without* the migration (so earlier runs' objects too).

use super::action::{Kind, Propagation};
use super::engine::Engine;
use super::objects;
use crate::kubevirt::labels;
use ferry_api::Migration;
use ferry_api::condition::types;
use ferry_api::conversion::ConversionType;
use ferry_api::labels as keys;
use ferry_api::plan::{MigrationType, VmStatus};

/// The objects matching `selector` that are not already being deleted.
fn matching<'a, 's, T>(
    items: &'a crate::observe::Objects<T>,
    selector: &'s labels::Labels,
) -> impl Iterator<Item = &'a T> + 's
where
    'a: 's,
    T: ferry_api::k8s_openapi::Metadata<Ty = ferry_api::ObjectMeta>,
{
    objects::matching(items, selector).filter(|o| !objects::terminating(*o))
}

impl<'a> Engine<'a> {
    /// Emits the deletions of `vm`'s leftovers; returns whether there were any. `force`
    /// also removes the conversion workload (cancel, archive, a re-run) and the target VM
    /// and disks even when the disks were copied.
    pub(super) fn cleanup(&mut self, migration: &'a Migration, vm: &VmStatus, force: bool) -> bool {
        let run = self.run_of(migration);
        let plan = self.view.plan;
        let observed = self.observed();
        let destination = &observed.objects;
        let vm_id = vm.vm.id.as_str();
        let target = self.target();
        let all_runs = labels::vm(&run, vm_id, false);
        let mut deletions: Vec<(Kind, String, String, Option<Propagation>)> = Vec::new();
        let mut push = |kind: Kind, namespace: &str, name: &str, propagation| {
            deletions.push((kind, namespace.to_string(), name.to_string(), propagation));
        };

        let delete_on_fail =
            plan.spec.delete_vm_on_fail_migration() || vm.vm.delete_vm_on_fail_migration;
        if !vm.conditions.has(&[types::SUCCEEDED])
            && delete_on_fail
            && plan.spec.r#type != Some(MigrationType::Conversion)
            && (!vm.disks_copied || force)
        {
            for object in matching(&destination.vms, &all_runs) {
                push(
                    Kind::VirtualMachine,
                    objects::namespace(object),
                    objects::name(object),
                    Some(Propagation::Foreground),
                );
            }
            for object in matching(&destination.data_volumes, &all_runs) {
                push(
                    Kind::DataVolume,
                    objects::namespace(object),
                    objects::name(object),
                    None,
                );
            }
        }
        for object in matching(&destination.pods, &labels::consumer_pod(&run, vm_id, false)) {
            push(
                Kind::Pod,
                objects::namespace(object),
                objects::name(object),
                None,
            );
        }
        let remove_conversion = plan.spec.delete_guest_conversion_pod || force;
        if remove_conversion {
            for object in matching(
                &destination.pods,
                &labels::conversion_pod(&run, vm_id, false),
            ) {
                push(
                    Kind::Pod,
                    objects::namespace(object),
                    objects::name(object),
                    None,
                );
            }
            let guest = labels::Labels::from([
                (keys::PLAN.to_string(), run.plan_uid().to_string()),
                (keys::VM_ID.to_string(), vm_id.to_string()),
            ]);
            for object in matching(&destination.conversions, &guest).filter(|c| {
                matches!(
                    c.spec.r#type,
                    ConversionType::Remote | ConversionType::InPlace
                )
            }) {
                push(
                    Kind::Conversion,
                    objects::namespace(object),
                    objects::name(object),
                    None,
                );
            }
        }
        for object in matching(&destination.secrets, &all_runs) {
            push(
                Kind::Secret,
                objects::namespace(object),
                objects::name(object),
                None,
            );
        }
        for object in matching(&destination.config_maps, &all_runs) {
            if objects::namespace(object) == target {
                push(
                    Kind::ConfigMap,
                    objects::namespace(object),
                    objects::name(object),
                    None,
                );
            }
        }
        let hook_jobs = labels::hook_jobs(&run, vm_id);
        for object in matching(&destination.jobs, &hook_jobs) {
            push(
                Kind::Job,
                objects::namespace(object),
                objects::name(object),
                Some(Propagation::Foreground),
            );
        }
        for object in matching(
            &destination.pods,
            &labels::wait_for_reboot_pod(&run, vm_id, false),
        ) {
            push(
                Kind::Pod,
                objects::namespace(object),
                objects::name(object),
                None,
            );
        }
        for object in matching(&destination.jobs, &all_runs) {
            push(
                Kind::Job,
                objects::namespace(object),
                objects::name(object),
                Some(Propagation::Foreground),
            );
        }
        let any = !deletions.is_empty();
        for (kind, namespace, name, propagation) in deletions {
            self.delete(kind, &namespace, &name, propagation);
        }
        any
    }
}
