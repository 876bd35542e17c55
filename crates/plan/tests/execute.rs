//! The execution engine against a simulated destination (no API server): cold
//! migrations through every phase, failures, cancel, re-runs, archive, a deleted or
//! modified run, the scheduler, the blocker grace period, hooks, and the controller
//! "killed" at every phase boundary. Conformance cases 27–41 where they apply.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic on setup failures

mod support;

use ferry_api::condition::types;
use ferry_api::hook::HookSpec;
use ferry_api::plan::{HookRef, Vm, VmStatus};
use ferry_api::{Hook, Migration, Ref, Time};
use ferry_plan::execute::Settled;
use ferry_plan::execute::action::{Action, Kind, Object};
use ferry_plan::observe::Lookup;
use ferry_plan::pass::{self, Outcome, Skip};
use pretty_assertions::assert_eq;
use support::sim::{Sim, SimError};
use support::*;

fn at(s: &str) -> Time {
    ferry_api::time::parse(s).unwrap()
}

struct Harness {
    world: World,
    sim: Sim,
    now: Time,
}

fn vms(count: usize) -> (Vec<ferry_inventory::ova::model::Vm>, Vec<Vm>) {
    let mut inventory = Vec::new();
    let mut planned = Vec::new();
    for i in 1..=count {
        let mut web = web01();
        web.id = format!("vm-{i}");
        web.name = format!("web{i:02}");
        web.ovf_path = format!("/ova/web{i:02}.ova");
        for disk in &mut web.disks {
            disk.file_path = web.ovf_path.clone();
        }
        web.nics[0].mac = format!("00:50:56:aa:bb:{i:02x}");
        inventory.push(web);
        planned.push(Vm::with_id(format!("vm-{i}")));
    }
    (inventory, planned)
}

impl Harness {
    fn new(count: usize) -> Self {
        let (inventory, planned) = vms(count);
        let world = World::with_vms(inventory, planned);
        let mut sim = Sim::new();
        let now = at("2024-05-01T10:00:00Z");
        sim.now = Some(now.clone());
        Self { world, sim, now }
    }

    fn migrate(&mut self, name: &str) -> Migration {
        let migration = migration(name, &format!("uid-{name}"));
        self.world.observed.migrations.push(migration.clone());
        migration
    }

    async fn pass(&mut self) -> Settled<SimError> {
        self.sim.forget(&mut self.world.observed);
        match pass::run(
            &mut self.world.observed,
            &self.world.adapters,
            &self.world.settings,
            &self.now,
            &mut self.sim,
        )
        .await
        .unwrap()
        {
            Outcome::Done { settled, .. } => settled,
            Outcome::Skipped(_) => Settled {
                status: self.world.observed.plan.status.clone(),
                wake: None,
                passes: 0,
                applied: Vec::new(),
                error: None,
            },
        }
    }

    fn status(&self) -> &ferry_api::plan::PlanStatus {
        &self.world.observed.plan.status
    }

    fn vm(&self, id: &str) -> &VmStatus {
        self.status()
            .migration
            .vms
            .iter()
            .find(|vm| vm.vm.id == id)
            .unwrap_or_else(|| panic!("no status for {id}"))
    }

    fn phases(&self) -> Vec<(String, String)> {
        self.status()
            .migration
            .vms
            .iter()
            .map(|vm| (vm.vm.id.clone(), vm.phase.clone()))
            .collect()
    }

    fn has(&self, r#type: &str) -> bool {
        self.status().conditions.has(&[r#type])
    }

    /// Runs a VM's conversion to the end: CDI done, pod running, metrics, results.
    async fn finish_conversions(&mut self) {
        self.sim.cdi(&mut self.world.observed, "Succeeded");
        self.pass().await;
        self.sim
            .conversion_controller(&mut self.world.observed, "Running");
        for vm in self.status().migration.vms.clone() {
            if let Some(ip) = Sim::pod_ip(&self.world.observed, &vm.vm.id) {
                self.sim
                    .script_metrics(&ip, "v2v_disk_transfers{disk_id=\"1\"} 100\nv2v_disk_transfers{disk_id=\"2\"} 100\n");
                self.sim.script_finished(&ip);
            }
        }
        self.pass().await;
    }
}

/// Conformance cases 27, 28 and 31: a cold migration of several VMs through every phase
/// of the virt-v2v path, event by event.
#[tokio::test]
async fn cold_migration_of_several_vms() {
    let mut h = Harness::new(3);
    // Idle and Ready: nothing to do, nothing asked.
    let idle = h.pass().await;
    assert!(idle.applied.is_empty());
    assert_eq!(idle.wake, None);
    assert!(h.has(types::READY));

    h.migrate("m1");
    let first = h.pass().await;
    // The snapshot and Executing.
    let history = &h.status().migration.history;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].migration.name, "m1");
    assert_eq!(history[0].plan.uid, "uid-p");
    assert_eq!(history[0].provider.source.uid, "uid-src");
    assert_eq!(history[0].map.storage.name, "st");
    let executing = h.status().conditions.find(types::EXECUTING).unwrap();
    assert_eq!(executing.message, "The plan is EXECUTING.");
    assert!(executing.durable);
    assert!(h.status().migration.timed.started.is_some());
    // The namespace, then every VM up to its disk allocation.
    assert!(h.world.observed.target_namespace.is_some());
    assert_eq!(
        h.phases(),
        [
            ("vm-1".into(), "AllocateDisks".into()),
            ("vm-2".into(), "AllocateDisks".into()),
            ("vm-3".into(), "AllocateDisks".into()),
        ]
    );
    let vm = h.vm("vm-1");
    assert_eq!(vm.vm.name, "web01");
    let names: Vec<_> = vm.pipeline.iter().map(|s| s.task.name.as_str()).collect();
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
    assert_eq!(vm.pipeline[0].task.phase, "Completed");
    assert_eq!(vm.pipeline[1].task.phase, "Running");
    assert_eq!(vm.pipeline[1].task.progress.total, 11264);
    assert!(vm.timed.started.is_some());
    assert_eq!(
        first.wake, None,
        "the DataVolumes' progress is watched, not polled"
    );
    let dvs = h.sim.created(Kind::DataVolume);
    assert_eq!(dvs.len(), 6);
    let dv_names: Vec<_> = h
        .world
        .observed
        .objects
        .data_volumes
        .iter()
        .filter_map(|dv| dv.metadata.generate_name.clone())
        .collect();
    assert!(
        dv_names.contains(&"p-web01-disk-0-".to_string()),
        "{dv_names:?}"
    );
    assert_eq!(h.sim.created(Kind::Secret).len(), 3);
    assert_eq!(h.sim.created(Kind::ConfigMap).len(), 3);

    // A pass with nothing new asks for nothing.
    let quiet = h.pass().await;
    assert!(quiet.applied.is_empty(), "{:?}", quiet.applied);

    // CDI finishes the blank disks: the conversions are created.
    h.sim.cdi(&mut h.world.observed, "Succeeded");
    h.pass().await;
    assert!(
        h.phases().iter().all(|(_, p)| p == "ConvertGuest"),
        "{:?}",
        h.phases()
    );
    assert_eq!(h.sim.created(Kind::Conversion).len(), 3);
    assert_eq!(h.vm("vm-1").pipeline[1].task.phase, "Completed");
    assert_eq!(
        h.vm("vm-1").pipeline[1].tasks[0].reason,
        "Transfer completed."
    );

    // The Conversion controller starts the pods; virt-v2v reports progress.
    h.sim
        .conversion_controller(&mut h.world.observed, "Running");
    let polling = h.pass().await;
    assert_eq!(polling.wake, Some(ferry_plan::execute::CONVERSION_POLL));
    assert!(h.phases().iter().all(|(_, p)| p == "ConvertGuest"));
    let ip = Sim::pod_ip(&h.world.observed, "vm-1").unwrap();
    h.sim.script_metrics(
        &ip,
        "v2v_disk_transfers{disk_id=\"1\"} 50\nv2v_disk_transfers{disk_id=\"2\"} 10\n",
    );
    h.pass().await;
    let vm = h.vm("vm-1");
    assert_eq!(vm.phase, "CopyDisksVirtV2V");
    assert_eq!(vm.pipeline[3].tasks[0].progress.completed, 5120);
    assert_eq!(vm.pipeline[3].tasks[1].progress.completed, 102);
    assert_eq!(vm.pipeline[3].task.progress.completed, 5222);

    // virt-v2v finishes: results read, pod shut down, the VM created.
    for vm in ["vm-1", "vm-2", "vm-3"] {
        let ip = Sim::pod_ip(&h.world.observed, vm).unwrap();
        h.sim
            .script_metrics(&ip, "v2v_disk_transfers{disk_id=\"1\"} 100\n");
        h.sim.script_finished(&ip);
    }
    let done = h.pass().await;
    assert_eq!(done.wake, None);
    for vm in &h.status().migration.vms {
        assert_eq!(vm.phase, "Completed", "{}", vm.vm.id);
        assert!(vm.conditions.has(&[types::SUCCEEDED]), "{}", vm.vm.id);
        assert_eq!(vm.firmware, "bios");
        assert!(vm.timed.completed.is_some());
        assert!(vm.error.is_none());
        for step in &vm.pipeline {
            assert_eq!(
                step.task.phase, "Completed",
                "{} {}",
                vm.vm.id, step.task.name
            );
        }
    }
    // The run's result (case 31).
    assert!(h.has(types::SUCCEEDED));
    assert!(!h.has(types::EXECUTING));
    assert_eq!(
        h.status()
            .conditions
            .find(types::SUCCEEDED)
            .unwrap()
            .message,
        "The plan execution has SUCCEEDED."
    );
    assert!(h.status().migration.timed.completed.is_some());
    let snapshot = h.status().migration.active_snapshot().unwrap();
    assert!(snapshot.conditions.has(&[types::SUCCEEDED]));
    // The VMs exist, own their disks; the DataVolumes are gone; the conversion pods and
    // Conversions stay; the secrets are cleaned up.
    let observed = &h.world.observed;
    assert_eq!(observed.objects.vms.len(), 3);
    let vm1 = observed
        .objects
        .vms
        .iter()
        .find(|v| v.metadata.name.as_deref() == Some("web01"))
        .unwrap();
    assert_eq!(vm1.metadata.labels.as_ref().unwrap()["vmID"], "vm-1");
    assert!(observed.objects.data_volumes.is_empty());
    // The claims are handed to the VM before their DataVolumes go, never in the same
    // batch of concurrent writes: the DataVolume owns its claim until then, and the
    // garbage collector would take the disk along.
    for batch in &h.sim.batches {
        let hands_over = batch.iter().any(|a| {
            matches!(a, Action::Patch { kind: Kind::PersistentVolumeClaim, patch, .. }
                if patch["metadata"].get("ownerReferences").is_some())
        });
        let deletes_dv = batch.iter().any(|a| {
            matches!(
                a,
                Action::Delete {
                    kind: Kind::DataVolume,
                    ..
                }
            )
        });
        assert!(
            !(hands_over && deletes_dv),
            "a DataVolume deleted in the batch that hands its claim over: {batch:#?}"
        );
    }
    for pvc in &observed.objects.pvcs {
        let owners = pvc.metadata.owner_references.as_ref().unwrap();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].kind, "VirtualMachine");
        assert_eq!(owners[0].block_owner_deletion, Some(true));
    }
    assert_eq!(observed.objects.pods.len(), 3);
    assert_eq!(observed.objects.conversions.len(), 3);
    assert!(observed.objects.secrets.is_empty());
    // The shutdown was asked once per pod.
    let shutdowns = h
        .sim
        .http_asked()
        .into_iter()
        .filter(|r| r.url.ends_with("/shutdown"))
        .count();
    assert_eq!(shutdowns, 3);
    // A succeeded plan is not reconciled again (upstream).
    assert_eq!(pass::skip(&h.world.observed.plan), Some(Skip::Succeeded));
}

/// Conformance case 33: one VM's conversion fails while the others succeed.
#[tokio::test]
async fn one_vm_fails_while_the_others_succeed() {
    let mut h = Harness::new(2);
    h.migrate("m1");
    h.pass().await;
    h.sim.cdi(&mut h.world.observed, "Succeeded");
    h.pass().await;
    h.sim
        .conversion_controller(&mut h.world.observed, "Running");
    // vm-2's pod fails.
    for pod in &mut h.world.observed.objects.pods {
        if pod.metadata.labels.as_ref().unwrap()["vmID"] == "vm-2" {
            pod.status.as_mut().unwrap().phase = Some("Failed".into());
        }
    }
    let ip = Sim::pod_ip(&h.world.observed, "vm-1").unwrap();
    h.sim
        .script_metrics(&ip, "v2v_disk_transfers{disk_id=\"1\"} 100\n");
    h.sim.script_finished(&ip);
    h.pass().await;
    let failed = h.vm("vm-2");
    assert!(failed.conditions.has(&[types::FAILED]));
    assert_eq!(
        failed.conditions.find(types::FAILED).unwrap().message,
        "The VM migration has FAILED."
    );
    let error = failed.error.as_ref().unwrap();
    assert_eq!(error.phase, "ConvertGuest");
    assert_eq!(
        error.reasons,
        ["Guest conversion failed. See pod logs for details."]
    );
    let step = failed.find_step("ImageConversion").unwrap();
    assert_eq!(
        step.task.error.as_ref().unwrap().reasons,
        ["Guest conversion failed. See pod logs for details."]
    );
    assert!(h.vm("vm-1").conditions.has(&[types::SUCCEEDED]));
    assert!(h.has(types::FAILED));
    assert_eq!(
        h.status().conditions.find(types::FAILED).unwrap().message,
        "The plan execution has FAILED."
    );
    // Nothing of the failed VM is deleted (upstream: cleanup waits for the next run).
    assert_eq!(h.world.observed.objects.data_volumes.len(), 2);
    assert!(
        !h.has(types::CONVERSION_RESUMABLE),
        "virt-v2v copies: nothing to resume"
    );
    assert_eq!(
        pass::skip(&h.world.observed.plan),
        None,
        "a failed plan can run again"
    );

    // Conformance case 35: a re-run touches only the failed VM.
    let vm1_before = h.vm("vm-1").clone();
    h.migrate("m2");
    h.pass().await;
    assert_eq!(h.status().migration.history.len(), 2);
    assert!(!h.has(types::FAILED));
    assert!(h.has(types::EXECUTING));
    assert_eq!(h.vm("vm-1"), &vm1_before, "a succeeded VM keeps its status");
    let rerun = h.vm("vm-2");
    assert!(!rerun.conditions.has(&[types::FAILED]));
    assert!(rerun.error.is_none());
    assert_eq!(rerun.phase, "AllocateDisks");
    // The previous attempt's leftovers were deleted (deleteVmOnFailMigration defaults to
    // true): its DataVolumes, pod, Conversion and secrets; new ones were created.
    let deleted: Vec<_> = h
        .sim
        .log
        .iter()
        .filter_map(|a| match a {
            Action::Delete { kind, name, .. } => Some((*kind, name.clone())),
            _ => None,
        })
        .collect();
    assert!(
        deleted
            .iter()
            .any(|(k, n)| *k == Kind::Pod && n.starts_with("p-vm-2-")),
        "{deleted:?}"
    );
    assert!(deleted.iter().any(|(k, _)| *k == Kind::Conversion));
    let dvs: Vec<_> = h
        .world
        .observed
        .objects
        .data_volumes
        .iter()
        .map(|dv| dv.metadata.labels.as_ref().unwrap()["migration"].clone())
        .collect();
    assert_eq!(dvs, ["uid-m2", "uid-m2"]);
    h.finish_conversions().await;
    assert!(h.has(types::SUCCEEDED));
    assert!(h.vm("vm-2").conditions.has(&[types::SUCCEEDED]));
}

/// Conformance case 38: cancel one VM by name.
#[tokio::test]
async fn cancel_one_vm() {
    let mut h = Harness::new(2);
    h.sim.power_state = "On".into();
    let mut m1 = h.migrate("m1");
    h.pass().await;
    m1.spec.cancel = vec![Ref::name("web01")];
    m1.metadata.generation = Some(2);
    h.world.observed.migrations = vec![m1];
    h.pass().await;
    let canceled = h.vm("vm-1");
    let condition = canceled.conditions.find(types::CANCELED).unwrap();
    assert_eq!(condition.reason, "UserRequested");
    assert_eq!(condition.message, "The migration has been canceled.");
    assert_eq!(canceled.phase, "Completed");
    assert!(canceled.timed.completed.is_some());
    // Cleaned up (force), and the source powered on again.
    assert!(
        h.world
            .observed
            .objects
            .data_volumes
            .iter()
            .all(|dv| dv.metadata.labels.as_ref().unwrap()["vmID"] != "vm-1")
    );
    assert!(h.sim.log.iter().any(|a| matches!(
        a,
        Action::Source { vm, op: ferry_plan::execute::action::SourceOp::PowerOn } if vm.id == "vm-1"
    )));
    for step in &canceled.pipeline {
        if step.task.timed.started.is_some() {
            assert!(step.task.timed.completed.is_some(), "{}", step.task.name);
        }
    }
    h.finish_conversions().await;
    assert!(h.vm("vm-2").conditions.has(&[types::SUCCEEDED]));
    // One succeeded, one canceled: the run succeeded.
    assert!(h.has(types::SUCCEEDED));
}

/// Every VM canceled: the run is canceled.
#[tokio::test]
async fn cancel_every_vm() {
    let mut h = Harness::new(1);
    let mut m1 = h.migrate("m1");
    h.pass().await;
    m1.spec.cancel = vec![Ref::id("vm-1")];
    h.world.observed.migrations = vec![m1];
    h.pass().await;
    assert!(h.has(types::CANCELED));
    assert_eq!(
        h.status().conditions.find(types::CANCELED).unwrap().message,
        "The plan execution has been CANCELED."
    );
}

/// Conformance case 39: the Migration is deleted mid-run.
#[tokio::test]
async fn the_migration_deleted_mid_run() {
    let mut h = Harness::new(2);
    h.migrate("m1");
    h.pass().await;
    h.world.observed.migrations.clear();
    h.pass().await;
    let snapshot = h.status().migration.active_snapshot().unwrap();
    let canceled = snapshot.conditions.find(types::CANCELED).unwrap();
    assert_eq!(canceled.reason, "Deleted");
    assert_eq!(canceled.message, "The migration has been deleted.");
    for vm in &h.status().migration.vms {
        let condition = vm.conditions.find(types::CANCELED).unwrap();
        assert_eq!(condition.reason, "Modified");
        assert!(vm.timed.completed.is_some());
    }
    assert!(!h.has(types::EXECUTING));
    assert!(
        !h.has(types::CANCELED),
        "upstream: no plan Canceled for a deleted Migration"
    );
    assert!(
        h.world.observed.objects.data_volumes.is_empty(),
        "cleaned up"
    );
    // A pending Migration starts.
    h.migrate("m2");
    h.pass().await;
    assert_eq!(h.status().migration.history.len(), 2);
    assert!(h.has(types::EXECUTING));
    assert_eq!(h.vm("vm-1").phase, "AllocateDisks");
}

/// Conformance case 40: a map re-created (new UID) during the run.
#[tokio::test]
async fn a_map_replaced_mid_run_cancels_it() {
    let mut h = Harness::new(1);
    h.migrate("m1");
    h.pass().await;
    if let Lookup::Found(map) = &mut h.world.observed.network_map {
        map.metadata.uid = Some("uid-net-2".into());
    }
    h.pass().await;
    let canceled = h.status().conditions.find(types::CANCELED).unwrap();
    assert_eq!(canceled.reason, "Modified");
    assert_eq!(canceled.message, "The migration has been canceled.");
    assert!(canceled.durable);
    assert!(!h.has(types::EXECUTING));
    assert!(h.status().migration.timed.completed.is_some());
    assert!(h.vm("vm-1").conditions.has(&[types::CANCELED]));
}

/// A provider whose UID changes (re-created) cancels the run the same way.
#[tokio::test]
async fn a_provider_replaced_mid_run_cancels_it() {
    let mut h = Harness::new(1);
    h.migrate("m1");
    h.pass().await;
    if let Lookup::Found(provider) = &mut h.world.observed.source {
        provider.metadata.uid = Some("uid-src-2".into());
    }
    h.pass().await;
    assert_eq!(
        h.status().conditions.find(types::CANCELED).unwrap().reason,
        "Modified"
    );
}

/// Conformance case 41: a blocker outlasting the grace period fails the run.
#[tokio::test]
async fn a_blocker_fails_the_run_after_the_grace_period() {
    let mut h = Harness::new(1);
    h.migrate("m1");
    h.pass().await;
    if let Lookup::Found(source) = &mut h.world.observed.source {
        source.status.conditions = Default::default();
    }
    let waiting = h.pass().await;
    assert!(h.has(types::SOURCE_PROVIDER_NOT_READY));
    assert!(h.has(types::EXECUTING));
    assert_eq!(waiting.wake, Some(std::time::Duration::from_secs(300)));
    assert!(waiting.applied.is_empty(), "no VM progress while blocked");
    h.now = at("2024-05-01T10:05:00Z");
    h.pass().await;
    let failed = h.status().conditions.find(types::FAILED).unwrap();
    assert_eq!(
        failed.message,
        "The migration has FAILED due to a validation blocker: The source provider does not have the Ready condition."
    );
    let vm = h.vm("vm-1");
    assert!(vm.conditions.has(&[types::FAILED]));
    assert_eq!(
        vm.error.as_ref().unwrap().reasons,
        std::slice::from_ref(&failed.message)
    );
}

/// Conformance case 47, Ferry's way: the in-flight limit holds within a pass.
#[tokio::test]
async fn compat_the_in_flight_limit_holds() {
    let mut h = Harness::new(30);
    h.world.settings.max_vm_inflight = 20;
    h.migrate("m1");
    let settled = h.pass().await;
    let started = h
        .status()
        .migration
        .vms
        .iter()
        .filter(|vm| vm.timed.started.is_some())
        .count();
    assert_eq!(started, 20);
    let queued: Vec<_> = h
        .status()
        .migration
        .vms
        .iter()
        .filter(|vm| vm.conditions.has(&[types::PENDING]))
        .collect();
    assert_eq!(queued.len(), 10);
    assert_eq!(
        queued[0].conditions.find(types::PENDING).unwrap().message,
        "Waiting to start migration: in-flight limit reached (max 20)."
    );
    assert_eq!(
        h.status().conditions.find(types::READY).unwrap().message,
        "10 VM(s) waiting to start migration (in-flight limit: 20)."
    );
    assert_eq!(settled.wake, Some(ferry_plan::execute::QUEUE_POLL));
    // As VMs finish, the queued ones start, in plan order.
    h.finish_conversions().await;
    h.finish_conversions().await;
    assert!(h.has(types::SUCCEEDED), "{:?}", h.phases());
    // Another plan's running VMs count too.
}

/// Conformance case 9 at run time: the target name is normalized.
#[tokio::test]
async fn an_invalid_source_name_is_normalized() {
    let mut h = Harness::new(1);
    let (mut inventory, planned) = vms(1);
    inventory[0].name = "Web_01".into();
    h.world = World::with_vms(inventory, planned);
    h.migrate("m1");
    h.pass().await;
    assert_eq!(h.vm("vm-1").new_name, "web-01");
    h.finish_conversions().await;
    let conversion = &h.world.observed.objects.conversions[0];
    assert_eq!(conversion.spec.settings["V2V_NewName"], "web-01");
    let vm = &h.world.observed.objects.vms[0];
    assert_eq!(vm.metadata.name.as_deref(), Some("web-01"));
    let annotations = vm.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations["openshift.io/display-name"], "Web_01");
    assert_eq!(annotations["original-ID"], "vm-1");
}

/// An explicit target name that is taken fails the VM with upstream's message (upstream
/// retries silently forever, conformance case 51).
#[tokio::test]
async fn compat_a_taken_target_name_fails_the_vm() {
    let mut h = Harness::new(1);
    h.world.observed.plan.spec.vms[0].target_name = "taken".into();
    h.world
        .observed
        .destination_vms
        .push(ferry_plan::observe::DestinationVmInfo {
            vm: ferry_plan::mac::DestinationVm {
                namespace: "tgt".into(),
                name: "taken".into(),
                macs: vec![],
            },
            ..Default::default()
        });
    // Validation would flag VMAlreadyExists; the run starts anyway when the VM appears
    // after validation (here: only the engine sees it).
    h.world
        .observed
        .plan
        .status
        .migration
        .vms
        .push(VmStatus::new(Vm::with_id("vm-1"), "Completed"));
    h.world.observed.plan.status.migration.vms[0]
        .conditions
        .set(ferry_plan::conditions::vm_failed(), &h.now);
    h.migrate("m1");
    h.pass().await;
    let vm = h.vm("vm-1");
    assert_eq!(
        vm.error.as_ref().unwrap().reasons,
        ["VM name 'taken' already exists in the target namespace 'tgt'"]
    );
    assert!(vm.conditions.has(&[types::FAILED]));
}

/// Archive (conformance case 42): everything the runs left is removed.
#[tokio::test]
async fn archive_removes_what_runs_left() {
    let mut h = Harness::new(1);
    h.migrate("m1");
    h.pass().await;
    h.sim.cdi(&mut h.world.observed, "Succeeded");
    h.pass().await;
    h.sim.conversion_controller(&mut h.world.observed, "Failed");
    h.pass().await;
    assert!(h.has(types::FAILED));
    h.world.observed.plan.spec.archived = true;
    h.pass().await;
    assert!(h.has(types::ARCHIVED));
    assert!(!h.has(types::READY));
    let observed = &h.world.observed;
    assert!(observed.objects.data_volumes.is_empty());
    assert!(observed.objects.pods.is_empty());
    assert!(observed.objects.conversions.is_empty());
    assert!(observed.objects.secrets.is_empty());
    assert_eq!(pass::skip(&h.world.observed.plan), Some(Skip::Archived));
    // Un-archiving drops the condition.
    h.world.observed.plan.spec.archived = false;
    h.pass().await;
    assert!(!h.has(types::ARCHIVED));
}

/// Conformance case 44/45: the controller is killed at every phase boundary (its status
/// write lost) and started again: no object is created twice, no progress is lost.
#[tokio::test]
async fn killed_at_every_phase_boundary() {
    let mut h = Harness::new(2);
    h.migrate("m1");
    let mut persisted = h.status().clone();
    let crash = |h: &mut Harness, persisted: &mut ferry_api::plan::PlanStatus| {
        // The pass's status write never happened.
        let lost = h.status().clone();
        h.world.observed.plan.status = persisted.clone();
        *persisted = lost;
    };
    let no_duplicates = |h: &Harness| {
        let observed = &h.world.observed;
        let mut dvs: Vec<String> = observed
            .objects
            .data_volumes
            .iter()
            .map(|dv| {
                dv.metadata.annotations.as_ref().unwrap()["forklift.konveyor.io/disk-source"]
                    .clone()
            })
            .collect();
        let count = dvs.len();
        dvs.sort();
        dvs.dedup();
        assert_eq!(dvs.len(), count, "a disk has two DataVolumes");
        let per_vm = |labels: Vec<Option<&std::collections::BTreeMap<String, String>>>| {
            let mut ids: Vec<String> = labels
                .into_iter()
                .map(|l| l.unwrap()["vmID"].clone())
                .collect();
            let count = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), count, "a VM has two of the same object");
        };
        per_vm(
            observed
                .objects
                .conversions
                .iter()
                .map(|c| c.metadata.labels.as_ref())
                .collect(),
        );
        per_vm(
            observed
                .objects
                .vms
                .iter()
                .map(|c| c.metadata.labels.as_ref())
                .collect(),
        );
        per_vm(
            observed
                .objects
                .pods
                .iter()
                .map(|c| c.metadata.labels.as_ref())
                .collect(),
        );
    };
    for event in 0..6 {
        h.pass().await;
        no_duplicates(&h);
        crash(&mut h, &mut persisted);
        h.pass().await;
        no_duplicates(&h);
        persisted = h.status().clone();
        match event {
            0 => h.sim.cdi(&mut h.world.observed, "Succeeded"),
            1 => h
                .sim
                .conversion_controller(&mut h.world.observed, "Running"),
            2 => {
                for vm in ["vm-1", "vm-2"] {
                    let ip = Sim::pod_ip(&h.world.observed, vm).unwrap();
                    h.sim
                        .script_metrics(&ip, "v2v_disk_transfers{disk_id=\"1\"} 40\n");
                }
            }
            3 => {
                for vm in ["vm-1", "vm-2"] {
                    let ip = Sim::pod_ip(&h.world.observed, vm).unwrap();
                    h.sim.script_finished(&ip);
                }
            }
            _ => {}
        }
    }
    assert!(h.has(types::SUCCEEDED), "{:?}", h.phases());
    // Only the run's first pass, whose whole status was lost, is redone (its objects
    // cleaned up and made again); everything later is found again, not made again.
    let count = |kind: Kind| h.sim.created(kind).len();
    assert_eq!(count(Kind::DataVolume), 8);
    assert_eq!(count(Kind::Conversion), 2);
    assert_eq!(count(Kind::VirtualMachine), 2);
    assert_eq!(h.world.observed.objects.vms.len(), 2);
    assert_eq!(h.world.observed.objects.conversions.len(), 2);
    let _ = Object::Namespace(Default::default());
}

/// Hooks: a local PreHook's ConfigMap and Job; the VM waits for the Job.
#[tokio::test]
async fn a_pre_hook_runs_before_the_migration() {
    let mut h = Harness::new(1);
    h.world.observed.plan.spec.vms[0].hooks = vec![HookRef {
        step: "PreHook".into(),
        hook: object_ref(NS, "h"),
    }];
    let mut hook = Hook::new(
        NS,
        "h",
        HookSpec {
            image: "quay.io/konveyor/hook-runner:latest".into(),
            ..HookSpec::default()
        },
    );
    hook.metadata.uid = Some("uid-h".into());
    hook.status.conditions = ready();
    h.world
        .observed
        .hooks
        .insert((NS.into(), "h".into()), Some(hook));
    h.migrate("m1");
    h.pass().await;
    assert_eq!(h.vm("vm-1").phase, "PreHook");
    let jobs = &h.world.observed.objects.jobs;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].metadata.namespace.as_deref(), Some("mtv"));
    assert!(
        jobs[0]
            .metadata
            .name
            .as_deref()
            .unwrap()
            .starts_with("p-vm-1-prehook-")
    );
    // The Job fails: the step carries its message and the VM fails.
    h.world.observed.objects.jobs[0].status =
        Some(ferry_api::k8s_openapi::api::batch::v1::JobStatus {
            conditions: Some(vec![ferry_api::k8s_openapi::api::batch::v1::JobCondition {
                type_: "Failed".into(),
                status: "True".into(),
                message: Some(
                    "BackoffLimitExceeded: Job has reached the specified backoff limit".into(),
                ),
                ..Default::default()
            }]),
            ..Default::default()
        });
    h.pass().await;
    let vm = h.vm("vm-1");
    assert!(vm.conditions.has(&[types::FAILED]));
    assert_eq!(
        vm.find_step("PreHook")
            .unwrap()
            .task
            .error
            .as_ref()
            .unwrap()
            .reasons,
        ["BackoffLimitExceeded: Job has reached the specified backoff limit"]
    );
}

/// Conformance case 36: a resume on the virt-v2v path is rejected for good.
#[tokio::test]
async fn resume_conversion_is_rejected_on_the_virt_v2v_path() {
    let mut h = Harness::new(1);
    let mut m = migration("m1", "uid-m1");
    m.spec.resume_conversion = true;
    h.world.observed.migrations.push(m);
    h.pass().await;
    let snapshot = h.status().migration.active_snapshot().unwrap();
    let failed = snapshot.conditions.find(types::FAILED).unwrap();
    assert_eq!(failed.category, "Critical");
    assert_eq!(
        failed.message,
        "Resume conversion is not supported for VM \"vm-1\": disk copy and conversion are not separate phases."
    );
}

/// An apply failure keeps the status decided so far and creates nothing twice later.
#[tokio::test]
async fn an_apply_failure_is_retried_without_duplicates() {
    let mut h = Harness::new(1);
    h.migrate("m1");
    h.sim.fail_create = Some(Kind::DataVolume);
    let failed = h.pass().await;
    assert!(failed.error.is_some());
    assert_eq!(h.vm("vm-1").phase, "CreateDataVolumes");
    h.pass().await;
    assert_eq!(h.vm("vm-1").phase, "AllocateDisks");
    assert_eq!(h.world.observed.objects.data_volumes.len(), 2);
}

/// The Plan status of a run of 1 000 VMs (two disks each) stays under the budget, with
/// detail left out only once it would not fit; the engine still finishes the run from
/// the compacted status (queued VMs get their pipelines back as they start).
#[tokio::test]
async fn status_size_for_a_thousand_vms() {
    use ferry_plan::status::{Compaction, STATUS_BUDGET, compact};
    let mut h = Harness::new(1000);
    h.migrate("m1");
    h.pass().await;
    let full = serde_json::to_vec(h.status()).unwrap().len();
    // 20 running, 980 queued: the queued VMs' pipelines are left out.
    let mut status = h.status().clone();
    assert_eq!(
        compact(&mut status, STATUS_BUDGET).unwrap(),
        Compaction::QueuedPipelines
    );
    let compacted = serde_json::to_vec(&status).unwrap().len();
    assert!(compacted <= STATUS_BUDGET);
    h.world.observed.plan.status = status;
    // Run everything, writing (compacting) the status after every reconcile.
    h.world.settings.max_vm_inflight = 1000;
    for _ in 0..3 {
        h.finish_conversions().await;
        let mut status = h.status().clone();
        compact(&mut status, STATUS_BUDGET).unwrap();
        h.world.observed.plan.status = status;
    }
    assert!(
        h.has(types::SUCCEEDED),
        "{:?}",
        h.phases().iter().filter(|(_, p)| p != "Completed").count()
    );
    let done_full = serde_json::to_vec(h.status()).unwrap().len();
    let mut status = h.status().clone();
    let level = compact(&mut status, STATUS_BUDGET).unwrap();
    let done = serde_json::to_vec(&status).unwrap().len();
    assert!(done <= STATUS_BUDGET, "{done}");
    let mut again = status.clone();
    assert_eq!(
        compact(&mut again, STATUS_BUDGET).unwrap(),
        level,
        "idempotent"
    );
    assert_eq!(again, status);
    println!(
        "status bytes for 1000 VMs: started {full} (compacted {compacted}), \
         succeeded {done_full} (compacted {done}, {level:?})"
    );
    for vm in &h.status().migration.vms {
        assert!(!vm.pipeline.is_empty(), "{} has its pipeline", vm.vm.id);
    }
}
