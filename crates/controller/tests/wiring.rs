//! The manager as a whole against the embedded API server: idle objects cost no API
//! requests, a restarted manager resumes without rewriting anything, the plan
//! controller's watches reach the right Plans, and every request the manager makes is
//! covered by the RBAC rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Bed, EXPORT, NS, bounded, condition, reference};
use ferry_api::condition::types as t;
use ferry_api::hook::HookSpec;
use ferry_api::mapping::{
    DestinationNetwork, DestinationNetworkType, DestinationStorage, NetworkMap, NetworkMapSpec,
    NetworkPair, NetworkSourceRef, StorageMap, StorageMapSpec, StoragePair,
};
use ferry_api::migration::MigrationSpec;
use ferry_api::plan::{PlanSpec, ProviderPair};
use ferry_api::provider::{ProviderSpec, phase};
use ferry_api::{Hook, Migration, Plan, Provider, Ref};
use ferry_controller::plan::{PlanError, PlanReconciler};
use ferry_controller::{Context, rbac};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::json;

/// A stand-in for ferry-plan's reconcile: records each call, and marks the Plan Ready
/// (through the status subresource) when it is not, as the real one would once the
/// plan validates.
#[derive(Default)]
struct Recording {
    calls: Mutex<Vec<String>>,
}

impl Recording {
    fn count(&self, name: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }

    fn total(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

struct Reconciler(Arc<Recording>);

impl PlanReconciler for Reconciler {
    fn reconcile(
        &self,
        plan: Arc<Plan>,
        ctx: Arc<Context>,
    ) -> BoxFuture<'static, Result<Action, PlanError>> {
        let recording = Arc::clone(&self.0);
        Box::pin(async move {
            recording
                .calls
                .lock()
                .unwrap()
                .push(plan.name().to_string());
            if !plan.status.conditions.is_ready() {
                let api: Api<Plan> = Api::namespaced(ctx.client.clone(), plan.namespace());
                let status = json!({
                    "apiVersion": "forklift.konveyor.io/v1beta1",
                    "kind": "Plan",
                    "status": {
                        "conditions": [{"type": "Ready", "status": "True", "category": "Required",
                                        "message": "The migration plan is ready.",
                                        "lastTransitionTime": "2024-05-01T10:00:00Z"}],
                        "migration": {},
                        "observedGeneration": plan.generation(),
                    }
                });
                api.patch_status(
                    plan.name(),
                    &PatchParams::apply("test-plan-controller").force(),
                    &Patch::Apply(&status),
                )
                .await
                .map_err(|e| PlanError {
                    class: ferry_controller::ErrorClass::Transient,
                    reason: "StatusWrite",
                    message: e.to_string(),
                })?;
            }
            Ok(Action::await_change())
        })
    }
}

/// The VMware sample: its VM ID is derived from its path, so a copy is a new VM.
fn vmware(bed: &Bed) -> &ferry_inventory::ova::samples::SampleAppliance {
    bed.catalog
        .appliances
        .iter()
        .find(|a| a.relative.contains("vmware"))
        .expect("the VMware sample")
}

fn pair() -> ProviderPair {
    ProviderPair {
        source: reference("ova"),
        destination: reference("host"),
    }
}

/// Providers, maps and a hook, all Ready.
async fn populate_without_plan(bed: &Bed) {
    bed.secret("creds", &[("url", EXPORT)]).await;
    bed.create(&Provider::new(
        NS,
        "ova",
        ProviderSpec {
            r#type: Some("ova".into()),
            url: EXPORT.into(),
            secret: reference("creds"),
            ..ProviderSpec::default()
        },
    ))
    .await;
    bed.create(&Provider::host(NS)).await;
    bed.storage_class("standard").await;
    bed.create(&NetworkMap::new(
        NS,
        "net",
        NetworkMapSpec {
            provider: pair(),
            map: vec![NetworkPair {
                source: NetworkSourceRef {
                    name: "VM Network".into(),
                    ..NetworkSourceRef::default()
                },
                destination: DestinationNetwork {
                    r#type: DestinationNetworkType::Pod,
                    ..DestinationNetwork::default()
                },
            }],
        },
    ))
    .await;
    bed.create(&StorageMap::new(
        NS,
        "storage",
        StorageMapSpec {
            provider: pair(),
            map: vec![StoragePair {
                source: Ref::name("unknown-disk"),
                destination: DestinationStorage {
                    storage_class: "standard".into(),
                    ..DestinationStorage::default()
                },
                offload_plugin: None,
            }],
        },
    ))
    .await;
    bed.create(&Hook::new(
        NS,
        "pre",
        HookSpec {
            image: "quay.io/konveyor/hook-runner:latest".into(),
            ..HookSpec::default()
        },
    ))
    .await;
    for name in ["ova", "host"] {
        bed.wait(name, "provider Ready", |p: &Provider| {
            p.status.phase == phase::READY
        })
        .await;
    }
    bed.wait("net", "network map Ready", |m: &NetworkMap| {
        m.status.conditions.is_ready()
    })
    .await;
    bed.wait("storage", "storage map Ready", |m: &StorageMap| {
        m.status.conditions.is_ready()
    })
    .await;
    bed.wait("pre", "hook Ready", |h: &Hook| {
        h.status.conditions.is_ready()
    })
    .await;
}

/// Providers, maps, a hook and a plan, all Ready.
async fn populate(bed: &Bed, recording: &Recording) {
    populate_without_plan(bed).await;
    let mut plan = Plan::new(NS, "plan", PlanSpec::default());
    plan.spec.target_namespace = "target".into();
    plan.spec.provider = pair();
    plan.spec.map.network = reference("net");
    plan.spec.map.storage = reference("storage");
    let vm_name = vmware(bed).vm_name.clone();
    plan.spec.vms = serde_json::from_value(json!([
        {"name": vm_name, "hooks": [{"step": "PreHook", "hook": {"namespace": NS, "name": "pre"}}]}
    ]))
    .unwrap();
    bed.create(&plan).await;
    bed.wait("plan", "plan Ready", |p: &Plan| {
        p.status.conditions.is_ready()
    })
    .await;
    assert!(recording.count("plan") >= 1);
}

fn non_watch_requests(since: &ferry_apiserver::CountersSnapshot) -> Vec<String> {
    since
        .requests
        .iter()
        .filter(|(key, _)| key.verb != "watch" && !key.resource.is_empty())
        .map(|(key, n)| format!("{n}× {} {}/{}", key.verb, key.resource, key.subresource))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_ready_objects_cost_no_requests_and_a_restart_rewrites_nothing() {
    let mut bed = Bed::new().await;
    let recording = Arc::new(Recording::default());
    bed.start_manager_with(Some(Arc::new(Reconciler(Arc::clone(&recording)))), None)
        .await;
    populate(&bed, &recording).await;
    let provider_before: Provider = bed.api::<Provider>().get("ova").await.unwrap();

    // Idle: the collector rescans its catalog every second in this window, the
    // watches stay open, and nothing reaches the API server.
    bed.settle(Duration::from_millis(800)).await;
    let calls = recording.total();
    let before = bed.counters();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let since = bed.counters().since(&before);
    assert_eq!(non_watch_requests(&since), Vec::<String>::new());
    assert_eq!(recording.total(), calls, "the idle plan was not reconciled");

    // Restart: the caches re-list and every object is reconciled again, but nothing
    // changed, so nothing is written and no condition moves.
    bed.stop_manager().await;
    let before = bed.counters();
    bed.start_manager_with(Some(Arc::new(Reconciler(Arc::clone(&recording)))), None)
        .await;
    bounded("the restarted manager reconciles the plan", async {
        while recording.total() == calls {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    bed.settle(Duration::from_millis(1500)).await;
    let since = bed.counters().since(&before);
    let writes: Vec<String> = non_watch_requests(&since)
        .into_iter()
        .filter(|r| !r.contains(" list ") && !r.contains(" get "))
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "the restart wrote something");
    let provider_after: Provider = bed.api::<Provider>().get("ova").await.unwrap();
    assert_eq!(
        provider_after.metadata.resource_version,
        provider_before.metadata.resource_version
    );
    assert_eq!(provider_after.status.phase, phase::READY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_wake_on_what_they_depend_on() {
    let mut bed = Bed::new().await;
    let recording = Arc::new(Recording::default());
    bed.start_manager_with(Some(Arc::new(Reconciler(Arc::clone(&recording)))), None)
        .await;
    populate(&bed, &recording).await;
    bed.settle(Duration::from_millis(500)).await;

    async fn expect_reconcile(
        recording: &Recording,
        what: &str,
        trigger: impl std::future::Future<Output = ()>,
    ) {
        let before = recording.count("plan");
        trigger.await;
        bounded(what, async {
            while recording.count("plan") == before {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }

    let merge = |value: serde_json::Value| Patch::Merge(value);
    expect_reconcile(&recording, "a map changed", async {
        bed.api::<NetworkMap>()
            .patch(
                "net",
                &PatchParams::default(),
                &merge(json!({"metadata": {"labels": {"x": "1"}}})),
            )
            .await
            .unwrap();
    })
    .await;
    expect_reconcile(&recording, "a hook changed", async {
        bed.api::<Hook>()
            .patch(
                "pre",
                &PatchParams::default(),
                &merge(json!({"spec": {"deadline": 30}})),
            )
            .await
            .unwrap();
    })
    .await;
    expect_reconcile(&recording, "a migration was created", async {
        bed.create(&Migration::new(
            NS,
            "run",
            MigrationSpec {
                plan: reference("plan"),
                ..MigrationSpec::default()
            },
        ))
        .await;
    })
    .await;
    expect_reconcile(&recording, "a labelled pod appeared", async {
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "conversion", "namespace": NS,
                         "labels": {"plan-name": "plan", "plan-namespace": NS}},
            "spec": {"containers": [{"name": "virt-v2v", "image": "quay.io/kubev2v/forklift-virt-v2v"}]}
        }))
        .unwrap();
        bed.create(&pod).await;
    })
    .await;
    expect_reconcile(&recording, "a listed VM appeared in the inventory", async {
        let source = bed.root().join(&vmware(&bed).relative);
        let copy = bed.root().join("copy-of-first.ova");
        std::fs::copy(&source, &copy).unwrap();
        let ova: Provider = bed.api::<Provider>().get("ova").await.unwrap();
        bed.manager().collectors().refresh(ova.uid());
    })
    .await;
    // An unrelated pod (no labels) does not wake the plan.
    let settled = recording.count("plan");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "unrelated", "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    bed.create(&pod).await;
    bed.settle(Duration::from_millis(800)).await;
    assert_eq!(recording.count("plan"), settled);
    // The migration controller saw the Plan Ready and the migration Ready.
    let migration: Migration = bed
        .wait("run", "migration Ready", |m: &Migration| {
            m.status.conditions.is_ready()
        })
        .await;
    assert!(condition(&migration.status.conditions, t::PLAN_NOT_READY).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_covered_by_the_rbac_rules() {
    // The real plan controller, so its reads and writes are checked too.
    use ferry_controller::plan::ferry::FerryPlan;
    let mut bed = Bed::new().await;
    bed.settings.manager.leader_election = true;
    bed.settings.manager.pod_namespace = NS.into();
    bed.start_manager_with(Some(Arc::new(FerryPlan::new())), None)
        .await;
    populate_without_plan(&bed).await;
    let mut plan = Plan::new(NS, "plan", PlanSpec::default());
    plan.spec.target_namespace = "target".into();
    plan.spec.provider = pair();
    plan.spec.map.network = reference("net");
    plan.spec.map.storage = reference("storage");
    plan.spec.vms = serde_json::from_value(json!([{"name": vmware(&bed).vm_name}])).unwrap();
    bed.create(&plan).await;
    bed.wait("plan", "the plan controller wrote a status", |p: &Plan| {
        p.status.observed_generation == p.generation() && !p.status.conditions.is_empty()
    })
    .await;
    bed.create(&Migration::new(
        NS,
        "run",
        MigrationSpec {
            plan: reference("plan"),
            ..MigrationSpec::default()
        },
    ))
    .await;
    bed.wait("run", "migration status", |m: &Migration| {
        !m.status.conditions.is_empty()
    })
    .await;
    bed.stop_manager().await;
    let requests = bed.resource_requests();
    assert!(
        requests
            .iter()
            .any(|(_, r, v)| r == "leases" && v == "create")
    );
    assert!(
        requests
            .iter()
            .any(|(_, r, v)| r == "events" && v == "create")
    );
    let uncovered: std::collections::BTreeSet<_> = requests
        .iter()
        .filter(|(group, resource, verb)| !rbac::allows(group, resource, verb))
        .collect();
    assert!(
        uncovered.is_empty(),
        "not granted by rbac::RULES: {uncovered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_when_the_leader_stops() {
    use ferry_controller::manager::{ClientSource, ManagerConfig, start};
    let mut bed = Bed::new().await;
    bed.settings.manager.leader_election = true;
    bed.settings.manager.pod_namespace = NS.into();
    bed.start_manager().await;
    let mut config = ManagerConfig::new(ClientSource::Client(bed.server.client().unwrap()));
    config.settings = Some(bed.settings.clone());
    config.instance = Some("standby".into());
    let standby = start(config).await.unwrap();
    // The leader holds the lease: the standby neither runs nor claims readiness.
    bed.create(&Provider::host(NS)).await;
    bed.wait("host", "the leader reconciles", |p: &Provider| {
        p.status.phase == phase::READY
    })
    .await;
    assert!(!standby.wait_ready(Duration::from_secs(3)).await);
    assert_eq!(standby.metrics().reconcile_count("provider"), 0);
    // The leader stops and releases the lease; the standby takes over.
    bed.stop_manager().await;
    assert!(
        standby.wait_ready(common::TIMEOUT).await,
        "the standby took over"
    );
    let lease: k8s_openapi::api::coordination::v1::Lease = Api::namespaced(bed.client.clone(), NS)
        .get("ferry-controller")
        .await
        .unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("standby")
    );
    bounded("the standby reconciles", async {
        while standby.metrics().reconcile_count("provider") == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    bounded("standby shutdown", standby.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_plans_reconcile_validates_a_plan_through_the_manager() {
    use ferry_controller::plan::ferry::FerryPlan;
    let mut bed = Bed::new().await;
    bed.start_manager_with(Some(Arc::new(FerryPlan::new())), None)
        .await;
    // The providers, maps and hook of the other tests, with a storage map covering the
    // VMware sample's disks, and the target namespace.
    let recording = Recording::default();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(bed.client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "target"}})).unwrap(),
        )
        .await
        .unwrap();
    populate_without_plan(&bed).await;
    let _ = recording;
    // The VMware sample has NICs on "VM Network" and "Network 1".
    let pairs: Vec<serde_json::Value> = ["VM Network", "Network 1"]
        .iter()
        .map(|n| json!({"source": {"name": n}, "destination": {"type": "pod"}}))
        .collect();
    bed.api::<NetworkMap>()
        .patch(
            "net",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"map": pairs}})),
        )
        .await
        .unwrap();
    bed.wait("net", "network map Ready", |m: &NetworkMap| {
        m.status.conditions.is_ready() && m.status.references.list.len() == 2
    })
    .await;
    let ova: Provider = bed.api::<Provider>().get("ova").await.unwrap();
    let inventory = bed.manager().collectors().inventory(ova.uid()).unwrap();
    let disks = inventory.list(ferry_inventory::Kind::Storage).unwrap();
    bed.api::<StorageMap>()
        .patch(
            "storage",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"map": disks.iter().map(|d| json!({
                "source": {"id": d.id},
                "destination": {"storageClass": "standard"}
            })).collect::<Vec<_>>()}})),
        )
        .await
        .unwrap();
    bed.wait("storage", "storage map Ready", |m: &StorageMap| {
        m.status.conditions.is_ready() && m.status.references.list.len() == disks.len()
    })
    .await;
    let mut plan = Plan::new(NS, "plan", PlanSpec::default());
    plan.spec.target_namespace = "target".into();
    plan.spec.provider = pair();
    plan.spec.map.network = reference("net");
    plan.spec.map.storage = reference("storage");
    plan.spec.vms = serde_json::from_value(json!([{"name": vmware(&bed).vm_name}])).unwrap();
    bed.create(&plan).await;
    let plan: Plan = bed
        .wait("plan", "the plan controller wrote a status", |p: &Plan| {
            p.status.observed_generation == p.generation() && !p.status.conditions.is_empty()
        })
        .await;
    let blockers: Vec<String> = plan
        .status
        .conditions
        .blockers()
        .map(|c| format!("{}: {}", c.r#type, c.message))
        .collect();
    assert!(plan.status.conditions.is_ready(), "blockers: {blockers:?}");
}
