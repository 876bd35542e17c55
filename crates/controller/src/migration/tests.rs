use ferry_api::migration::MigrationSpec;
use ferry_api::plan::{PlanSpec, Snapshot, SnapshotRef};
use ferry_api::{ObjectReference, Ref};
use ferry_inventory::Kind;

use super::*;

fn time(s: &str) -> Time {
    ferry_api::time::parse(s).unwrap()
}

fn migration() -> Migration {
    let mut migration = Migration::new(
        "ns",
        "m",
        MigrationSpec {
            plan: ObjectReference {
                namespace: Some("ns".into()),
                name: Some("p".into()),
                ..ObjectReference::default()
            },
            ..MigrationSpec::default()
        },
    );
    migration.metadata.uid = Some("uid-m".into());
    migration
}

fn ready_plan() -> Plan {
    let mut plan = Plan::new("ns", "p", PlanSpec::default());
    plan.metadata.uid = Some("uid-p".into());
    plan.status.conditions = Conditions::from(vec![
        Condition::new(types::READY, category::REQUIRED)
            .with_message("The migration plan is ready."),
    ]);
    plan
}

fn with_snapshot(mut plan: Plan, migration_uid: &str, conditions: &[Condition]) -> Plan {
    plan.status.migration.new_snapshot(Snapshot {
        conditions: Conditions::from(conditions.to_vec()),
        migration: SnapshotRef {
            uid: migration_uid.into(),
            ..SnapshotRef::default()
        },
        ..Snapshot::default()
    });
    let mut vm = VmStatus::default();
    vm.vm.id = "vm-1".into();
    vm.phase = "CopyDisksVirtV2V".into();
    plan.status.migration.vms = vec![vm];
    plan
}

fn apply(migration: &mut Migration, mirrored: Mirrored) {
    migration.status.conditions = mirrored.conditions;
    migration.status.timed = mirrored.timed;
    migration.status.vms = mirrored.vms;
}

fn types_of(conditions: &Conditions) -> Vec<&str> {
    conditions.iter().map(|c| c.r#type.as_str()).collect()
}

fn found(plan: Plan) -> PlanLookup {
    PlanLookup::Found(Box::new(plan))
}

#[test]
fn plan_references() {
    let now = time("2024-05-01T10:00:00Z");
    let mirrored = mirror(
        &migration(),
        &PlanLookup::NotSet,
        &CancelFindings::default(),
        &now,
    );
    let c = mirrored.conditions.find(types::PLAN_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str(), c.category.as_str()),
        ("NotSet", "The `plan` is not valid.", "Critical")
    );
    assert!(!mirrored.conditions.is_ready());
    let mirrored = mirror(
        &migration(),
        &PlanLookup::NotFound,
        &CancelFindings::default(),
        &now,
    );
    assert_eq!(
        mirrored
            .conditions
            .find(types::PLAN_NOT_VALID)
            .unwrap()
            .reason,
        "NotFound"
    );
    let mut not_ready = with_snapshot(
        ready_plan(),
        "uid-m",
        &[Condition::new(types::EXECUTING, category::ADVISORY)],
    );
    not_ready.status.conditions = Conditions::default();
    let mirrored = mirror(
        &migration(),
        &found(not_ready),
        &CancelFindings::default(),
        &now,
    );
    let c = mirrored.conditions.find(types::PLAN_NOT_READY).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("NotFound", "The `plan` does not have Ready condition.")
    );
    assert!(
        mirrored.vms.is_empty(),
        "a plan that is not ready is not mirrored"
    );
    assert!(mirrored.timed.started.is_none());
}

#[test]
fn a_run_is_mirrored_from_start_to_success() {
    let mut m = migration();
    let t0 = time("2024-05-01T10:00:00Z");
    let idle = mirror(&m, &found(ready_plan()), &CancelFindings::default(), &t0);
    assert_eq!(types_of(&idle.conditions), [types::READY]);
    assert_eq!(
        idle.conditions.find(types::READY).unwrap().message,
        "The migration is ready."
    );
    apply(&mut m, idle);

    let executing = with_snapshot(
        ready_plan(),
        "uid-m",
        &[Condition::new(types::EXECUTING, category::ADVISORY).durable()],
    );
    let t1 = time("2024-05-01T10:01:00Z");
    let running = mirror(
        &m,
        &found(executing.clone()),
        &CancelFindings::default(),
        &t1,
    );
    assert_eq!(
        types_of(&running.conditions),
        [types::READY, types::RUNNING]
    );
    let c = running.conditions.find(types::RUNNING).unwrap();
    assert_eq!(
        (c.message.as_str(), c.durable),
        ("The migration is RUNNING.", false)
    );
    assert_eq!(running.timed.started, Some(t1.clone()));
    assert_eq!(running.vms.len(), 1);
    assert_eq!(
        running
            .conditions
            .find(types::READY)
            .unwrap()
            .last_transition_time,
        t0,
        "an unchanged condition keeps its time"
    );
    apply(&mut m, running);

    let t2 = time("2024-05-01T10:05:00Z");
    let again = mirror(&m, &found(executing), &CancelFindings::default(), &t2);
    assert!(
        again.explain.is_empty(),
        "nothing changed: {:?}",
        again.explain
    );
    assert_eq!(again.timed.started, Some(t1.clone()), "started is set once");

    let succeeded = with_snapshot(
        ready_plan(),
        "uid-m",
        &[Condition::new(types::SUCCEEDED, category::ADVISORY).durable()],
    );
    let t3 = time("2024-05-01T11:00:00Z");
    let done = mirror(&m, &found(succeeded), &CancelFindings::default(), &t3);
    assert_eq!(types_of(&done.conditions), [types::READY, types::SUCCEEDED]);
    let c = done.conditions.find(types::SUCCEEDED).unwrap();
    assert_eq!(
        (c.message.as_str(), c.durable),
        ("The migration has SUCCEEDED.", true)
    );
    assert_eq!(done.timed.completed, Some(t3.clone()));
    assert!(
        done.explain.deleted.contains_key(types::RUNNING),
        "Running is not durable"
    );
    apply(&mut m, done);

    // Once Succeeded, the mirror stops: a later plan change is not copied.
    let later = with_snapshot(
        ready_plan(),
        "uid-m",
        &[Condition::new(types::FAILED, category::ADVISORY)],
    );
    let after = mirror(
        &m,
        &found(later),
        &CancelFindings::default(),
        &time("2024-05-02T00:00:00Z"),
    );
    assert_eq!(
        types_of(&after.conditions),
        [types::READY, types::SUCCEEDED]
    );
    assert_eq!(after.timed.completed, Some(t3));
}

#[test]
fn failures_complete_and_cancels_do_not() {
    let now = time("2024-05-01T10:00:00Z");
    let failed = with_snapshot(
        ready_plan(),
        "uid-m",
        &[Condition::new(types::FAILED, category::ADVISORY).durable()],
    );
    let mirrored = mirror(
        &migration(),
        &found(failed),
        &CancelFindings::default(),
        &now,
    );
    let c = mirrored.conditions.find(types::FAILED).unwrap();
    assert_eq!(
        (c.message.as_str(), c.durable),
        ("The migration has FAILED.", true)
    );
    assert_eq!(mirrored.timed.completed, Some(now.clone()));

    let canceled = with_snapshot(
        ready_plan(),
        "uid-m",
        &[Condition::new(types::CANCELED, category::ADVISORY)
            .with_reason(reason::MODIFIED)
            .with_message("The migration has been CANCELED.")],
    );
    let mirrored = mirror(
        &migration(),
        &found(canceled),
        &CancelFindings::default(),
        &now,
    );
    let c = mirrored.conditions.find(types::CANCELED).unwrap();
    assert_eq!((c.reason.as_str(), c.durable), ("Modified", true));
    assert!(
        mirrored.timed.completed.is_none(),
        "upstream never completes a canceled migration"
    );
    assert!(mirrored.vms.is_empty(), "a canceled snapshot is not copied");

    let other = with_snapshot(
        ready_plan(),
        "uid-other",
        &[Condition::new(types::EXECUTING, category::ADVISORY)],
    );
    let mirrored = mirror(
        &migration(),
        &found(other),
        &CancelFindings::default(),
        &now,
    );
    assert_eq!(
        types_of(&mirrored.conditions),
        [types::READY],
        "another run is not ours"
    );
}

#[test]
fn cancel_references() {
    let inventory = |reference: &Ref| -> std::result::Result<(), FindError> {
        match (reference.id.as_str(), reference.name.as_str()) {
            ("vm-1", _) | (_, "web") => Ok(()),
            (_, "twin") => Err(FindError::NotUnique {
                kind: Kind::Vm,
                reference: reference.clone(),
                count: 2,
            }),
            _ => Err(FindError::NotFound {
                kind: Kind::Vm,
                reference: reference.clone(),
            }),
        }
    };
    let cancel = vec![
        Ref::id("vm-1"),
        Ref::name("twin"),
        Ref::id("vm-9"),
        Ref::name("web"),
    ];
    let findings = check_cancel(&cancel, &inventory).unwrap();
    assert_eq!(findings.not_found, vec![" id:vm-9 name:'' ".to_string()]);
    assert_eq!(findings.ambiguous, vec![" id: name:'twin' ".to_string()]);
    let mirrored = mirror(
        &migration(),
        &found(ready_plan()),
        &findings,
        &time("2024-05-01T10:00:00Z"),
    );
    let c = mirrored.conditions.find(types::VM_NOT_FOUND).unwrap();
    assert_eq!(
        (c.category.as_str(), c.message.as_str()),
        ("Warn", "VM not found.")
    );
    let c = mirrored.conditions.find(types::VM_NOT_UNIQUE).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("Ambiguous", "VM reference is ambiguous.")
    );
    assert!(mirrored.conditions.is_ready(), "warnings do not block");
    let not_ready = |_: &Ref| -> std::result::Result<(), FindError> { Err(FindError::NotReady) };
    assert_eq!(check_cancel(&cancel, &not_ready), Err(FindError::NotReady));
}

#[test]
fn the_owner_reference_is_not_a_controller() {
    let reference = owner_reference(&ready_plan());
    assert_eq!(reference.kind, "Plan");
    assert_eq!(reference.api_version, "forklift.konveyor.io/v1beta1");
    assert_eq!(reference.uid, "uid-p");
    assert_eq!(reference.controller, None);
    assert_eq!(reference.block_owner_deletion, None);
}
