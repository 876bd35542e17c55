use super::*;
use crate::Time;
use crate::mapping::{OffloadPlugin, StoragePair, VSphereXcopyPluginConfig};
use crate::provider::ProviderSpec;

fn now() -> Time {
    crate::time::parse("2024-05-01T10:00:00Z").unwrap()
}

fn later() -> Time {
    crate::time::parse("2024-05-01T10:05:00Z").unwrap()
}

fn provider(t: &str, url: &str) -> Provider {
    Provider::new(
        "ns",
        t,
        ProviderSpec {
            r#type: Some(t.into()),
            url: url.into(),
            ..ProviderSpec::default()
        },
    )
}

#[test]
fn find_vm_by_id_then_name_only_without_id() {
    let spec = PlanSpec {
        vms: vec![
            Vm {
                id: "vm-1".into(),
                name: "web".into(),
                ..Vm::default()
            },
            Vm::with_name("db"),
            Vm {
                id: "vm-3".into(),
                name: "cache".into(),
                ..Vm::default()
            },
        ],
        ..PlanSpec::default()
    };
    assert_eq!(spec.find_vm(&Ref::id("vm-1")).unwrap().name, "web");
    assert_eq!(
        spec.find_vm(&Ref::with_id_and_name("vm-9", "db"))
            .unwrap()
            .name,
        "db"
    );
    assert!(
        spec.find_vm(&Ref::name("cache")).is_none(),
        "a VM with an ID never matches by name"
    );
    assert!(
        spec.find_vm(&Ref::default()).is_none(),
        "empty never matches"
    );
}

#[test]
fn migration_status_find_vm() {
    let mut status = MigrationStatus {
        vms: vec![
            VmStatus::new(Vm::with_id("vm-1"), crate::phase::STARTED),
            VmStatus::new(Vm::with_name("db"), crate::phase::STARTED),
        ],
        ..MigrationStatus::default()
    };
    assert!(status.find_vm(&Ref::id("vm-1")).is_some());
    assert!(status.find_vm(&Ref::name("db")).is_some());
    status.find_vm_mut(&Ref::name("db")).unwrap().phase = "CopyDisks".into();
    assert_eq!(status.vms[1].phase, "CopyDisks");
}

#[test]
fn crd_default_booleans() {
    let spec = PlanSpec::default();
    assert!(spec.preserve_static_ips());
    assert!(spec.migrate_shared_disks());
    assert!(spec.delete_vm_on_fail_migration());
    assert!(spec.use_compatibility_mode());
    assert!(spec.run_preflight_inspection());
    assert!(spec.pvc_name_template_use_generate_name(false));
    assert!(!spec.pvc_name_template_use_generate_name(true));
    let json = serde_json::to_value(&spec).unwrap();
    for key in [
        "preserveStaticIPs",
        "migrateSharedDisks",
        "deleteVmOnFailMigration",
        "useCompatibilityMode",
        "runPreflightInspection",
        "skipGuestConversion",
        "xfsCompatibility",
    ] {
        assert!(
            json.get(key).is_none(),
            "{key} must not be emitted when unset"
        );
    }
    let explicit: PlanSpec = serde_json::from_value(serde_json::json!({
        "preserveStaticIPs": false, "migrateSharedDisks": false
    }))
    .unwrap();
    assert!(!explicit.preserve_static_ips());
    assert!(!explicit.migrate_shared_disks());
    let json = serde_json::to_value(&explicit).unwrap();
    assert_eq!(
        json["preserveStaticIPs"], false,
        "an explicit false is kept"
    );
}

#[test]
fn vm_level_values_fall_back_to_the_plan() {
    let spec = PlanSpec {
        migrate_shared_disks: Some(false),
        target_power_state: Some(TargetPowerState::Off),
        ..PlanSpec::default()
    };
    let mut vm = Vm::with_id("vm-1");
    assert!(!spec.vm_migrate_shared_disks(&vm));
    assert_eq!(
        spec.vm_target_power_state(&vm),
        Some(&TargetPowerState::Off)
    );
    vm.migrate_shared_disks = Some(true);
    vm.target_power_state = Some(TargetPowerState::On);
    assert!(spec.vm_migrate_shared_disks(&vm));
    assert_eq!(spec.vm_target_power_state(&vm), Some(&TargetPowerState::On));
}

#[test]
fn warm_and_migration_type() {
    let mut plan = Plan::default();
    assert!(!plan.is_warm());
    assert_eq!(plan.migration_type(), MigrationType::Cold);
    plan.spec.warm = true;
    assert!(plan.is_warm());
    assert_eq!(plan.migration_type(), MigrationType::Warm);
    plan.spec.warm = false;
    plan.spec.r#type = Some(MigrationType::Warm);
    assert!(plan.is_warm());
    plan.spec.r#type = Some(MigrationType::Conversion);
    plan.spec.warm = true;
    assert_eq!(plan.migration_type(), MigrationType::Conversion);
    plan.spec.r#type = Some(MigrationType::Cold);
    assert_eq!(
        plan.migration_type(),
        MigrationType::Warm,
        "deprecated warm wins over cold"
    );
}

#[test]
fn v2v_transfer_decision() {
    let host = provider("openshift", "");
    let remote = provider("openshift", "https://api.remote:6443");
    let vsphere = provider("vsphere", "https://vc/sdk");
    let vm = Ref::id("vm-1");
    let mut plan = Plan::default();
    plan.spec.vms.push(Vm::with_id("vm-1"));
    assert!(plan.should_use_v2v_for_transfer(&vm, &vsphere, &host, None));
    assert!(!plan.should_use_v2v_for_transfer(&vm, &vsphere, &remote, None));
    plan.spec.vms[0].migrate_shared_disks = Some(false);
    assert!(!plan.should_use_v2v_for_transfer(&vm, &vsphere, &host, None));
    plan.spec.vms[0].migrate_shared_disks = None;
    let mut offload = crate::StorageMap::default();
    offload.spec.map.push(StoragePair {
        offload_plugin: Some(OffloadPlugin {
            vsphere_xcopy_config: Some(VSphereXcopyPluginConfig::default()),
            csi_volume_import: None,
        }),
        ..StoragePair::default()
    });
    assert!(!plan.should_use_v2v_for_transfer(&vm, &vsphere, &host, Some(&offload)));
    plan.spec.r#type = Some(MigrationType::Warm);
    assert!(!plan.should_use_v2v_for_transfer(&vm, &vsphere, &host, None));
    assert!(plan.should_use_v2v_for_transfer(&vm, &provider("ova", "nfs:/x"), &remote, None));
    assert!(!plan.should_use_v2v_for_transfer(&vm, &provider("ovirt", "https://e"), &host, None));
}

#[test]
fn preflight_inspection_only_for_warm_vsphere() {
    let mut plan = Plan::default();
    let vsphere = provider("vsphere", "https://vc/sdk");
    assert!(!plan.should_run_preflight_inspection(&vsphere));
    plan.spec.r#type = Some(MigrationType::Warm);
    assert!(plan.should_run_preflight_inspection(&vsphere));
    assert!(!plan.should_run_preflight_inspection(&provider("ovirt", "x")));
    plan.spec.run_preflight_inspection = Some(false);
    assert!(!plan.should_run_preflight_inspection(&vsphere));
}

#[test]
fn timed_marks_once() {
    let mut timed = Timed::default();
    timed.mark_completed(&now());
    assert_eq!(timed.started, Some(now()));
    assert_eq!(timed.completed, Some(now()));
    timed.mark_started(&later());
    assert_eq!(timed.started, Some(now()), "started is set once");
    timed.mark_reset();
    assert!(!timed.marked_started());
    timed.mark_started(&now());
    assert!(timed.running());
}

#[test]
fn errors_deduplicate_reasons_and_keep_first_phase() {
    let mut task = Task::new("disk-1", 10);
    task.phase = "Running".into();
    task.add_error(["boom", "bang"]);
    task.phase = "Completed".into();
    task.add_error(["boom"]);
    let error = task.error.as_ref().unwrap();
    assert_eq!(error.phase, "Running");
    assert_eq!(error.reasons, ["boom", "bang"]);
}

#[test]
fn reflect_tasks_and_pipeline() {
    let mut step = Step {
        task: Task::new(crate::phase::step::DISK_TRANSFER, 30),
        tasks: vec![Task::new("a", 10), Task::new("b", 20)],
    };
    step.tasks[0].progress.completed = 10;
    step.tasks[0].timed.mark_completed(&now());
    step.tasks[1].progress.completed = 5;
    step.tasks[1].timed.mark_started(&now());
    step.tasks[1].add_error(["importer failed"]);
    step.reflect_tasks(&later());
    assert_eq!(step.task.progress.completed, 15);
    assert!(step.task.timed.running());
    assert_eq!(
        step.task.error.as_ref().unwrap().reasons,
        ["importer failed"]
    );

    let mut vm = VmStatus::new(Vm::with_id("vm-1"), crate::phase::COPY_DISKS);
    vm.pipeline.push(step);
    vm.reflect_pipeline(&later());
    assert!(vm.timed.running());
    let error = vm.error.as_ref().unwrap();
    assert_eq!(error.phase, crate::phase::COPY_DISKS);
    assert_eq!(error.reasons, ["importer failed"]);

    let mut empty = Step::default();
    empty.reflect_tasks(&now());
    assert!(
        empty.task.timed.marked_completed(),
        "no tasks: completed at once"
    );
}

#[test]
fn always_emitted_fields() {
    let vm = VmStatus::new(Vm::with_id("vm-1"), "");
    let json = serde_json::to_value(&vm).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"id": "vm-1", "luks": {}, "pipeline": [], "phase": ""})
    );
    let task = serde_json::to_value(Task::new("t", 0)).unwrap();
    assert_eq!(
        task,
        serde_json::json!({"name": "t", "progress": {"completed": 0, "total": 0}})
    );
    let error = serde_json::to_value(Error::new("Running")).unwrap();
    assert_eq!(
        error,
        serde_json::json!({"phase": "Running", "reasons": []})
    );
    let warm = serde_json::to_value(Warm::default()).unwrap();
    assert_eq!(
        warm,
        serde_json::json!({"successes": 0, "failures": 0, "consecutiveFailures": 0})
    );
    let snapshot_ref = serde_json::to_value(SnapshotRef::default()).unwrap();
    assert_eq!(
        snapshot_ref,
        serde_json::json!({"namespace": "", "name": "", "uid": "", "generation": 0})
    );
    let status = serde_json::to_value(PlanStatus::default()).unwrap();
    assert_eq!(status, serde_json::json!({"migration": {}}));
}

#[test]
fn snapshot_matching_is_by_uid() {
    let meta = crate::ObjectMeta {
        name: Some("p".into()),
        namespace: Some("ns".into()),
        uid: Some("uid-1".into()),
        generation: Some(3),
        ..Default::default()
    };
    let snapshot = SnapshotRef::of(&meta);
    let mut newer = meta.clone();
    newer.generation = Some(4);
    assert!(snapshot.matches(&newer));
    newer.uid = Some("uid-2".into());
    assert!(!snapshot.matches(&newer));

    let mut status = MigrationStatus::default();
    assert!(status.active_snapshot().is_none());
    status.new_snapshot(Snapshot {
        migration: SnapshotRef {
            uid: "m-1".into(),
            ..SnapshotRef::default()
        },
        ..Snapshot::default()
    });
    status.new_snapshot(Snapshot {
        migration: SnapshotRef {
            uid: "m-2".into(),
            ..SnapshotRef::default()
        },
        ..Snapshot::default()
    });
    assert_eq!(status.active_snapshot().unwrap().migration.uid, "m-2");
    assert!(status.snapshot_with_migration("m-1").is_some());
    assert!(status.snapshot_with_migration("m-3").is_none());
}
