use std::collections::BTreeMap;

use ferry_api::condition::{Condition, Conditions, category};
use ferry_api::plan::{PlanSpec, Progress, Step, Task, VmStatus};
use ferry_api::provider::ProviderSpec;
use serde_json::json;

use super::*;
use crate::metrics::Metrics;

fn provider(name: &str, t: &str, url: &str) -> Provider {
    Provider::new(
        "ns",
        name,
        ProviderSpec {
            r#type: Some(t.into()),
            url: url.into(),
            ..ProviderSpec::default()
        },
    )
}

fn providers() -> BTreeMap<String, Provider> {
    [
        provider("ova", "ova", "nfs:/ova"),
        provider("host", "openshift", ""),
        provider("remote", "openshift", "https://api.remote:6443"),
    ]
    .into_iter()
    .map(|p| (p.name().to_string(), p))
    .collect()
}

fn reference(name: &str) -> ObjectReference {
    ObjectReference {
        namespace: Some("ns".into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

fn plan(name: &str, uid: &str, destination: &str, conditions: &[&str]) -> Plan {
    let mut plan = Plan::new("ns", name, PlanSpec::default());
    plan.metadata.uid = Some(uid.into());
    plan.spec.provider.source = reference("ova");
    plan.spec.provider.destination = reference(destination);
    plan.spec.vms = serde_json::from_value(json!([{"id": "vm-1"}, {"id": "vm-2"}])).unwrap();
    plan.status.conditions = Conditions::from(
        conditions
            .iter()
            .map(|t| Condition::new(*t, category::ADVISORY))
            .collect::<Vec<_>>(),
    );
    plan
}

fn with_progress(mut plan: Plan, mib: i64, failed_phase: Option<&str>) -> Plan {
    let mut vm = VmStatus::default();
    let mut step = Step::default();
    step.task.name = "DiskTransferV2v".into();
    step.tasks.push(Task {
        progress: Progress {
            completed: mib,
            total: mib,
        },
        ..Task::default()
    });
    vm.pipeline.push(step);
    if let Some(phase) = failed_phase {
        vm.error = Some(ferry_api::plan::Error::new(phase));
    }
    plan.status.migration.vms.push(vm);
    plan
}

fn lookup(
    providers: &BTreeMap<String, Provider>,
) -> impl Fn(&ObjectReference) -> Option<Provider> + '_ {
    |reference| providers.get(reference.name.as_deref()?).cloned()
}

#[test]
fn plan_statuses_alerts_and_bytes() {
    let providers = providers();
    let mut warm = plan("warm", "uid-w", "remote", &[types::EXECUTING]);
    warm.spec.r#type = Some(MigrationType::Warm);
    let warm = with_progress(warm, 2, None);
    let failed = with_progress(
        plan("bad", "uid-f", "host", &[types::FAILED]),
        0,
        Some("ConvertGuest"),
    );
    let mut legacy_warm = plan("legacy", "uid-l", "host", &[types::SUCCEEDED]);
    legacy_warm.spec.warm = true;
    let orphan = {
        let mut p = plan("orphan", "uid-o", "host", &[types::SUCCEEDED]);
        p.spec.provider.source = reference("gone");
        p
    };
    let plans = [&warm, &failed, &legacy_warm, &orphan];
    let snapshot = plan_snapshot(&plans, &lookup(&providers));
    let status = |s: &str, mode: &str, target: &str| StatusLabels {
        status: s.into(),
        provider: "ova".into(),
        mode: mode.into(),
        target: target.into(),
    };
    assert_eq!(
        snapshot.statuses,
        BTreeMap::from([
            (status("Executing", "Warm", "Remote"), 1),
            (status("Failed", "Cold", "Local"), 1),
            (status("Succeeded", "Cold", "Local"), 1),
        ]),
        "warm: true without a type counts as Cold; the orphan is skipped"
    );
    let phases: Vec<(&str, &str)> = snapshot
        .alerts
        .iter()
        .map(|a| (a.status.as_str(), a.phase.as_str()))
        .collect();
    assert_eq!(
        phases,
        [
            ("Executing", "Executing"),
            ("Failed", "ConvertGuest"),
            ("Succeeded", "Completed")
        ]
    );
    assert_eq!(
        snapshot.transferred.values().copied().collect::<Vec<_>>(),
        [2.0 * 1024.0 * 1024.0]
    );
    assert_eq!(snapshot.planned_vms.len(), 6);
}

#[test]
fn gauges_reset_and_counters_count_once() {
    let providers = providers();
    let metrics = Metrics::new();
    let executing = plan("p", "uid-1", "host", &[types::EXECUTING]);
    metrics.mtv.update_plans(&[&executing], &lookup(&providers));
    metrics.mtv.update_plans(&[&executing], &lookup(&providers));
    let text = metrics.encode().unwrap();
    assert!(
        text.contains(
            r#"mtv_plans_status{status="Executing",provider="ova",mode="Cold",target="Local"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"mtv_planned_vms_total{provider="ova",mode="Cold",target="Local"} 2"#),
        "planned VMs are counted once: {text}"
    );
    assert!(text.contains(r#"phase="Executing"} 1"#), "{text}");
    let done = plan("p", "uid-1", "host", &[types::SUCCEEDED]);
    metrics.mtv.update_plans(&[&done], &lookup(&providers));
    let text = metrics.encode().unwrap();
    assert!(
        text.contains(
            r#"mtv_plans_status{status="Executing",provider="ova",mode="Cold",target="Local"} 0"#
        ),
        "a status that disappeared is set to 0: {text}"
    );
    assert!(
        !text.contains(r#"phase="Executing""#),
        "stale alerts are deleted: {text}"
    );
    assert!(text.contains(r#"phase="Completed"} 1"#), "{text}");
}

#[test]
fn migrations_count_once_with_duration() {
    let providers = providers();
    let plans: BTreeMap<String, Plan> = [(
        "p".to_string(),
        plan("p", "uid-p", "host", &[types::SUCCEEDED]),
    )]
    .into();
    let mut migration = Migration::default();
    migration.metadata.namespace = Some("ns".into());
    migration.metadata.name = Some("m".into());
    migration.metadata.uid = Some("uid-m".into());
    migration.spec.plan = reference("p");
    migration.status.conditions =
        Conditions::from(vec![Condition::new(types::SUCCEEDED, category::ADVISORY)]);
    migration.status.timed.started = Some(ferry_api::time::parse("2024-05-01T10:00:00Z").unwrap());
    migration.status.timed.completed =
        Some(ferry_api::time::parse("2024-05-01T11:30:00Z").unwrap());
    let mut vm = VmStatus::default();
    vm.vm.id = "vm-1".into();
    vm.conditions = Conditions::from(vec![Condition::new(types::SUCCEEDED, category::ADVISORY)]);
    migration.status.vms.push(vm);
    let metrics = Metrics::new();
    let plan_lookup = |r: &ObjectReference| plans.get(r.name.as_deref()?).cloned();
    for _ in 0..3 {
        metrics
            .mtv
            .update_migrations(&[&migration], &plan_lookup, &lookup(&providers));
    }
    let text = metrics.encode().unwrap();
    for expected in [
        r#"mtv_migrations_status_total{status="Succeeded",provider="ova",mode="Cold",target="Local"} 1"#,
        r#"mtv_workload_migrations_status_total{status="Succeeded",provider="ova",mode="Cold",target="Local",plan="uid-p"} 1"#,
        r#"mtv_migration_duration_seconds{provider="ova",mode="Cold",target="Local",plan="uid-p"} 5400"#,
        r#"mtv_migrated_vms_total{status="Succeeded",provider="ova",mode="Cold",target="Local"} 1"#,
        r#"mtv_migrations_duration_seconds_bucket{le="7200.0",provider="ova",mode="Cold",target="Local"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }
}
