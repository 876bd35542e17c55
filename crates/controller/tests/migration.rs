//! The Migration controller against the embedded API server: the owner reference to
//! the Plan (set once), and the mirror of the plan's execution written by the plan
//! controller (simulated here by writing the Plan's status).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Bed, NS, condition, reference, types};
use ferry_api::condition::types as t;
use ferry_api::migration::MigrationSpec;
use ferry_api::plan::PlanSpec;
use ferry_api::{Migration, Plan};
use serde_json::json;

fn plan() -> Plan {
    let mut plan = Plan::new(NS, "plan", PlanSpec::default());
    plan.spec.target_namespace = "target".into();
    plan.spec.provider.source = reference("ova");
    plan.spec.provider.destination = reference("host");
    plan.spec.map.network = reference("net");
    plan.spec.map.storage = reference("storage");
    plan.spec.vms = serde_json::from_value(json!([{"id": "vm-1"}])).unwrap();
    plan
}

fn ready() -> serde_json::Value {
    json!({"type": "Ready", "status": "True", "category": "Required",
           "message": "The migration plan is ready.", "lastTransitionTime": "2024-05-01T10:00:00Z"})
}

fn snapshot(uid: &str, condition: &str) -> serde_json::Value {
    json!({
        "conditions": [ready(), {"type": "Executing", "status": "True", "category": "Advisory",
                        "lastTransitionTime": "2024-05-01T10:00:00Z", "durable": true}],
        "migration": {
            "history": [{
                "conditions": [{"type": condition, "status": "True", "category": "Advisory",
                                "lastTransitionTime": "2024-05-01T10:00:00Z", "durable": true}],
                "provider": {"source": {"namespace": NS, "name": "ova", "uid": "u1", "generation": 1},
                             "destination": {"namespace": NS, "name": "host", "uid": "u2", "generation": 1}},
                "plan": {"namespace": NS, "name": "plan", "uid": "u3", "generation": 1},
                "map": {"network": {"namespace": NS, "name": "net", "uid": "u4", "generation": 1},
                        "storage": {"namespace": NS, "name": "storage", "uid": "u5", "generation": 1}},
                "migration": {"namespace": NS, "name": "run", "uid": uid, "generation": 1}
            }],
            "vms": [{"id": "vm-1", "phase": "CopyDisksVirtV2V", "pipeline": [], "luks": {}}]
        }
    })
}

fn owner_patches(bed: &Bed) -> usize {
    bed.resource_requests()
        .iter()
        .filter(|(g, r, v)| g == "forklift.konveyor.io" && r == "migrations" && v == "patch")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_is_owned_by_its_plan_and_mirrors_its_run() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    let plan = bed.create(&plan()).await;
    bed.patch_status::<Plan>("plan", json!({"conditions": [ready()]}))
        .await;
    let created = bed
        .create(&Migration::new(
            NS,
            "run",
            MigrationSpec {
                plan: reference("plan"),
                ..MigrationSpec::default()
            },
        ))
        .await;
    let migration: Migration = bed
        .wait("run", "owned and Ready", |m: &Migration| {
            m.metadata.owner_references.is_some() && m.status.conditions.is_ready()
        })
        .await;
    let owners = migration.metadata.owner_references.unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(
        (owners[0].kind.as_str(), owners[0].uid.as_str()),
        ("Plan", plan.uid())
    );
    assert_eq!(owners[0].controller, None);
    assert_eq!(
        condition(&migration.status.conditions, t::READY)
            .unwrap()
            .message,
        "The migration is ready."
    );

    bed.patch_status::<Plan>("plan", snapshot(created.uid(), t::EXECUTING))
        .await;
    let migration: Migration = bed
        .wait("run", "Running", |m: &Migration| {
            condition(&m.status.conditions, t::RUNNING).is_some()
        })
        .await;
    assert!(migration.status.timed.started.is_some());
    assert!(migration.status.timed.completed.is_none());
    assert_eq!(migration.status.vms.len(), 1);
    assert_eq!(migration.status.vms[0].phase, "CopyDisksVirtV2V");

    bed.patch_status::<Plan>("plan", snapshot(created.uid(), t::SUCCEEDED))
        .await;
    let migration: Migration = bed
        .wait("run", "Succeeded", |m: &Migration| {
            m.status.timed.completed.is_some()
        })
        .await;
    assert_eq!(
        types(&migration.status.conditions),
        [t::READY, t::SUCCEEDED]
    );
    let succeeded = condition(&migration.status.conditions, t::SUCCEEDED).unwrap();
    assert!(succeeded.durable);
    assert_eq!(succeeded.message, "The migration has SUCCEEDED.");

    // The owner reference was written once, and a completed Migration is left alone.
    assert_eq!(owner_patches(&bed), 1);
    bed.settle(std::time::Duration::from_millis(500)).await;
    let before = bed.counters();
    bed.patch_status::<Plan>("plan", snapshot(created.uid(), t::FAILED))
        .await;
    bed.settle(std::time::Duration::from_millis(500)).await;
    let since = bed.counters().since(&before);
    assert_eq!(
        since.count("patch", "migrations"),
        0,
        "no write to a completed Migration: {:?}",
        since.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_without_a_usable_plan_says_why() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    bed.create(&Migration::new(
        NS,
        "orphan",
        MigrationSpec {
            plan: reference("nope"),
            ..MigrationSpec::default()
        },
    ))
    .await;
    let migration: Migration = bed
        .wait("orphan", "PlanNotValid", |m: &Migration| {
            !m.status.conditions.is_empty()
        })
        .await;
    let c = condition(&migration.status.conditions, t::PLAN_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.category.as_str()),
        ("NotFound", "Critical")
    );
    // The Plan appears (not Ready yet): PlanNotReady; then Ready: Ready.
    bed.create(&{
        let mut p = plan();
        p.metadata.name = Some("nope".into());
        p
    })
    .await;
    let migration: Migration = bed
        .wait("orphan", "PlanNotReady", |m: &Migration| {
            condition(&m.status.conditions, t::PLAN_NOT_READY).is_some()
        })
        .await;
    assert!(migration.metadata.owner_references.is_some());
    bed.patch_status::<Plan>("nope", json!({"conditions": [ready()]}))
        .await;
    bed.wait("orphan", "Ready", |m: &Migration| {
        m.status.conditions.is_ready()
    })
    .await;
}
