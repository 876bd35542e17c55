//! The Conversion controller against the embedded API server: the pod it creates (the
//! plan's direct pod, plus the Conversion's labels), phases and stages as the pod runs
//! (pod statuses are written here, as a kubelet would), failures with the pod's
//! termination message, the pending timeout on a manual clock, cancel, deletion (the
//! garbage collector, or the controller across namespaces), restarts, hostile specs,
//! deep inspection against an HTTP server on a loopback address, and silence when idle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{Bed, NS, bounded, events_about};
use ferry_api::conversion::{
    ConversionPhase, ConversionStage, ConversionType, SETTINGS_SNAPSHOT_MOREF,
};
use ferry_api::plan::PlanSpec;
use ferry_api::provider::ProviderSpec;
use ferry_api::{Conversion, Migration, Plan, Provider, Ref};
use ferry_controller::clock::{Clock, ManualClock};
use ferry_controller::conversion::validate::types as t;
use ferry_controller::plan::ferry::plan_settings;
use ferry_controller::rbac;
use ferry_plan::kubevirt::{Run, conversion as v2v};
use k8s_openapi::api::core::v1::{
    EnvVar, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use pretty_assertions::assert_eq;
use serde_json::json;

/// The plan, run and providers a Conversion of these tests comes from.
struct World {
    plan: Plan,
    migration: Migration,
    source: Provider,
    destination: Provider,
    settings: ferry_plan::Settings,
}

impl World {
    fn new(bed: &Bed, target: &str) -> World {
        let mut plan = Plan::new(NS, "p", PlanSpec::default());
        plan.metadata.uid = Some("uid-p".into());
        plan.spec.target_namespace = target.into();
        let mut migration = Migration::new(NS, "m", Default::default());
        migration.metadata.uid = Some("uid-m".into());
        let source = Provider::new(
            NS,
            "ova",
            ProviderSpec {
                r#type: Some("ova".into()),
                url: common::EXPORT.into(),
                ..ProviderSpec::default()
            },
        );
        let destination = Provider::new(
            NS,
            "host",
            ProviderSpec {
                r#type: Some("openshift".into()),
                ..ProviderSpec::default()
            },
        );
        World {
            plan,
            migration,
            source,
            destination,
            settings: plan_settings(&bed.settings),
        }
    }

    fn run(&self) -> Run<'_> {
        Run {
            plan: &self.plan,
            migration: &self.migration,
            source: &self.source,
            destination: &self.destination,
            settings: &self.settings,
        }
    }
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

fn claim(name: &str, namespace: &str, mode: Option<&str>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            volume_mode: mode.map(String::from),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity("1Gi".into()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    }
}

/// An OVA VM's inputs: two disks (one block), the provider environment in key order (a
/// Conversion's `settings` is a map), a new name.
fn inputs(conversion_type: ConversionType, namespace: &str) -> v2v::Inputs {
    v2v::Inputs {
        vm: Ref::with_id_and_name("vm-1", "web01"),
        new_name: "web-01".into(),
        conversion_type,
        pvcs: vec![
            claim("p-web01-disk-0", namespace, None),
            claim("p-web01-disk-1", namespace, Some("Block")),
        ],
        secret: "p-vm-1-v2v".into(),
        provider_env: vec![
            env("V2V_diskPath", "/ova/web01/web01.ovf"),
            env("V2V_source", "ova"),
            env("V2V_vmName", "web01"),
        ],
        request_kvm: true,
        ..v2v::Inputs::default()
    }
}

async fn namespace(bed: &Bed, name: &str) {
    let api: Api<Namespace> = Api::all(bed.client.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("create namespace {name}: {error}"),
    }
}

/// The claims and the secret the pod mounts.
async fn prerequisites(bed: &Bed, inputs: &v2v::Inputs, target: &str) {
    namespace(bed, target).await;
    for pvc in &inputs.pvcs {
        Api::<PersistentVolumeClaim>::namespaced(bed.client.clone(), target)
            .create(&PostParams::default(), pvc)
            .await
            .expect("create claim");
    }
    let secret = k8s_openapi::api::core::v1::Secret {
        metadata: ObjectMeta {
            name: Some(inputs.secret.clone()),
            namespace: Some(target.into()),
            ..ObjectMeta::default()
        },
        string_data: Some(BTreeMap::from([("user".to_string(), "u".to_string())])),
        ..Default::default()
    };
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(bed.client.clone(), target)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create secret");
}

async fn start(bed: &mut Bed, clock: Option<Arc<dyn Clock>>) {
    bed.start_manager_with(None, clock).await;
}

/// The pods of a Conversion (by its label), in `namespace`.
async fn pods_of(bed: &Bed, namespace: &str, conversion: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(bed.client.clone(), namespace)
        .list(&ListParams::default().labels(&format!("conversion={conversion}")))
        .await
        .expect("list pods")
        .items
}

/// Waits for the Conversion's one pod.
async fn the_pod(bed: &Bed, namespace: &str, conversion: &str) -> Pod {
    bounded("the conversion pod is created", async {
        loop {
            let pods = pods_of(bed, namespace, conversion).await;
            if let Some(pod) = pods.into_iter().next() {
                return pod;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// A pod's spec as JSON, the service-account token volume's random name fixed (the
/// admission names it `kube-api-access-<random>` per pod).
fn without_token_name(pod: &Pod) -> serde_json::Value {
    let text = serde_json::to_string(&pod.spec).unwrap();
    let fixed = regex::Regex::new("kube-api-access-[a-z0-9]{5}")
        .unwrap()
        .replace_all(&text, "kube-api-access-xxxxx");
    serde_json::from_str(&fixed).unwrap()
}

/// Writes a pod's status, as the kubelet would.
async fn pod_status(bed: &Bed, pod: &Pod, status: serde_json::Value) {
    let namespace = pod.metadata.namespace.as_deref().unwrap();
    Api::<Pod>::namespaced(bed.client.clone(), namespace)
        .patch_status(
            pod.metadata.name.as_deref().unwrap(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .expect("patch pod status");
}

async fn conversion_where(
    bed: &Bed,
    name: &str,
    what: &str,
    condition: impl Fn(&Conversion) -> bool,
) -> Conversion {
    bed.wait(name, what, condition).await
}

/// Waits for an Event about `name` that satisfies `wanted` (Events follow the status
/// write).
async fn event(bed: &Bed, name: &str, wanted: impl Fn(&(String, String, String)) -> bool) {
    bounded("the Event", async {
        loop {
            if events_about(&bed.client, name).await.iter().any(&wanted) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

fn phase(conversion: &Conversion) -> Option<ConversionPhase> {
    conversion.status.phase.clone()
}

fn stage(conversion: &Conversion) -> Option<ConversionStage> {
    conversion.status.stage.clone()
}

fn uncovered(bed: &Bed) -> Vec<(String, String, String)> {
    bed.resource_requests()
        .into_iter()
        .filter(|(group, resource, verb)| !rbac::allows(group, resource, verb))
        .collect()
}

fn pod_creates(bed: &Bed) -> usize {
    bed.resource_requests()
        .iter()
        .filter(|(g, r, v)| g.is_empty() && r == "pods" && v == "create")
        .count()
}

/// A Remote conversion creates one pod: the plan's direct pod for the same inputs (both
/// defaulted by the API server), with the Conversion's labels and an owner reference;
/// Running → `Running`/`PodRunning`; Succeeded → `Succeeded`/`Finished`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_conversion_runs_the_plans_pod_to_success() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, NS);
    let inputs = inputs(ConversionType::Remote, NS);
    prerequisites(&bed, &inputs, NS).await;
    start(&mut bed, None).await;
    let created = bed.create(&v2v::conversion(&world.run(), &inputs)).await;
    let name = created.name().to_string();

    let pod = the_pod(&bed, NS, &name).await;
    let direct = Api::<Pod>::namespaced(bed.client.clone(), NS)
        .create(
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &v2v::pod(&world.run(), &inputs),
        )
        .await
        .expect("dry-run the direct pod");
    assert_eq!(
        without_token_name(&pod),
        without_token_name(&direct),
        "the same pod spec as the direct route"
    );
    let mut labels = direct.metadata.labels.clone().unwrap();
    labels.insert("conversion-type".into(), "Remote".into());
    labels.insert("conversion".into(), name.clone());
    assert_eq!(pod.metadata.labels.as_ref(), Some(&labels));
    assert_eq!(pod.metadata.annotations, direct.metadata.annotations);
    assert_eq!(pod.metadata.generate_name, direct.metadata.generate_name);
    let owners = pod.metadata.owner_references.clone().unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].kind, "Conversion");
    assert_eq!(owners[0].uid, created.uid());

    let pending = conversion_where(&bed, &name, "Running/CreatingPod", |c| {
        phase(c) == Some(ConversionPhase::Running) && stage(c) == Some(ConversionStage::CreatingPod)
    })
    .await;
    assert!(pending.status.start_time.is_some());
    assert_eq!(pending.status.pod.name, pod.metadata.name);
    assert_eq!(pending.status.message, "Creating the conversion pod.");

    pod_status(
        &bed,
        &pod,
        json!({"phase": "Running", "podIP": "127.0.0.1"}),
    )
    .await;
    let running = conversion_where(&bed, &name, "Running/PodRunning", |c| {
        stage(c) == Some(ConversionStage::PodRunning)
    })
    .await;
    assert_eq!(phase(&running), Some(ConversionPhase::Running));
    assert_eq!(running.status.message, "Conversion pod is running.");

    pod_status(&bed, &pod, json!({"phase": "Succeeded"})).await;
    let done = conversion_where(&bed, &name, "Succeeded", |c| {
        phase(c) == Some(ConversionPhase::Succeeded)
    })
    .await;
    assert_eq!(stage(&done), Some(ConversionStage::Finished));
    assert!(done.status.completion_time.is_some());
    assert_eq!(
        done.status.message,
        "The conversion has completed successfully."
    );
    assert!(done.status.conditions.is_ready());
    assert_eq!(done.status.observed_generation, done.generation());
    assert_eq!(pods_of(&bed, NS, &name).await.len(), 1);
    assert_eq!(pod_creates(&bed), 1);

    for reason in ["Running", "Succeeded"] {
        event(&bed, &name, |(kind, r, _)| kind == "Normal" && r == reason).await;
    }
    bed.stop_manager().await;
    assert_eq!(uncovered(&bed), Vec::new(), "not granted by rbac::RULES");
}

/// A failed pod fails the Conversion with its termination message; a Warning says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pod_fails_the_conversion_with_its_termination_message() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, NS);
    let inputs = inputs(ConversionType::InPlace, NS);
    prerequisites(&bed, &inputs, NS).await;
    start(&mut bed, None).await;
    let name = bed
        .create(&v2v::conversion(&world.run(), &inputs))
        .await
        .name()
        .to_string();
    let pod = the_pod(&bed, NS, &name).await;
    let container = pod.spec.as_ref().unwrap().containers[0]
        .env
        .clone()
        .unwrap();
    assert_eq!(container[0].name, "V2V_inPlace");
    pod_status(
        &bed,
        &pod,
        json!({
            "phase": "Failed",
            "containerStatuses": [{
                "name": "virt-v2v", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 1, "reason": "Error",
                          "message": "virt-v2v: error: inspection could not detect the source guest"}}
            }]
        }),
    )
    .await;
    let failed = conversion_where(&bed, &name, "Failed", |c| {
        phase(c) == Some(ConversionPhase::Failed)
    })
    .await;
    let pod_name = pod.metadata.name.clone().unwrap();
    assert_eq!(
        failed.status.message,
        format!(
            "The conversion has failed: conversion pod {NS}/{pod_name} failed: virt-v2v: error: inspection could not detect the source guest"
        )
    );
    assert_eq!(stage(&failed), Some(ConversionStage::Finished));
    assert!(failed.status.completion_time.is_some());
    let condition = common::condition(&failed.status.conditions, t::CONVERSION_FAILED).unwrap();
    assert_eq!(condition.category, "Critical");
    event(&bed, &name, |(kind, reason, note)| {
        kind == "Warning" && reason == "Failed" && note.contains("could not detect")
    })
    .await;
}

/// A pod deleted under a running Conversion fails it (no second pod is started).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_deleted_mid_run_fails_the_conversion() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, NS);
    let inputs = inputs(ConversionType::Remote, NS);
    prerequisites(&bed, &inputs, NS).await;
    start(&mut bed, None).await;
    let name = bed
        .create(&v2v::conversion(&world.run(), &inputs))
        .await
        .name()
        .to_string();
    let pod = the_pod(&bed, NS, &name).await;
    pod_status(
        &bed,
        &pod,
        json!({"phase": "Running", "podIP": "127.0.0.1"}),
    )
    .await;
    conversion_where(&bed, &name, "PodRunning", |c| {
        stage(c) == Some(ConversionStage::PodRunning)
    })
    .await;
    let pod_name = pod.metadata.name.clone().unwrap();
    Api::<Pod>::namespaced(bed.client.clone(), NS)
        .delete(&pod_name, &DeleteParams::default())
        .await
        .unwrap();
    let failed = conversion_where(&bed, &name, "Failed", |c| {
        phase(c) == Some(ConversionPhase::Failed)
    })
    .await;
    assert!(
        failed.status.message.ends_with(&format!(
            "conversion pod {NS}/{pod_name} was deleted before the conversion finished"
        )),
        "{}",
        failed.status.message
    );
    assert_eq!(pods_of(&bed, NS, &name).await.len(), 0);
    assert_eq!(pod_creates(&bed), 1);
}

/// A restarted controller finds the pod by its labels and creates no second one; an
/// idle Conversion costs no request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_creates_no_second_pod_and_idle_costs_nothing() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, NS);
    let inputs = inputs(ConversionType::Remote, NS);
    prerequisites(&bed, &inputs, NS).await;
    start(&mut bed, None).await;
    let name = bed
        .create(&v2v::conversion(&world.run(), &inputs))
        .await
        .name()
        .to_string();
    let pod = the_pod(&bed, NS, &name).await;
    pod_status(
        &bed,
        &pod,
        json!({"phase": "Running", "podIP": "127.0.0.1"}),
    )
    .await;
    conversion_where(&bed, &name, "PodRunning", |c| {
        stage(c) == Some(ConversionStage::PodRunning)
    })
    .await;

    bed.settle(Duration::from_millis(800)).await;
    let before = bed.resource_requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle: Vec<_> = bed.resource_requests()[before..]
        .iter()
        .filter(|(_, _, verb)| verb != "watch")
        .cloned()
        .collect();
    assert_eq!(idle, Vec::new(), "requests while idle");

    bed.stop_manager().await;
    let before = bed.resource_requests().len();
    start(&mut bed, None).await;
    bed.settle(Duration::from_millis(1500)).await;
    let writes: Vec<_> = bed.resource_requests()[before..]
        .iter()
        .filter(|(_, _, verb)| !matches!(verb.as_str(), "watch" | "list" | "get"))
        .cloned()
        .collect();
    assert_eq!(writes, Vec::new(), "the restart wrote something");
    assert_eq!(pods_of(&bed, NS, &name).await.len(), 1);

    pod_status(&bed, &pod, json!({"phase": "Succeeded"})).await;
    conversion_where(&bed, &name, "Succeeded after the restart", |c| {
        phase(c) == Some(ConversionPhase::Succeeded)
    })
    .await;
}

/// A pod Pending longer than `CONVERSION_POD_PENDING_TIMEOUT` fails the Conversion with
/// why it waits (the clock is the manager's manual one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_pending_too_long_fails_the_conversion() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, NS);
    let inputs = inputs(ConversionType::Remote, NS);
    prerequisites(&bed, &inputs, NS).await;
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    start(&mut bed, Some(Arc::clone(&clock) as Arc<dyn Clock>)).await;
    let name = bed
        .create(&v2v::conversion(&world.run(), &inputs))
        .await
        .name()
        .to_string();
    let pod = the_pod(&bed, NS, &name).await;
    conversion_where(&bed, &name, "CreatingPod", |c| {
        stage(c) == Some(ConversionStage::CreatingPod)
    })
    .await;
    // Four minutes: still waiting.
    clock.advance(jiff::SignedDuration::from_secs(240));
    pod_status(&bed, &pod, json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient devices.kubevirt.io/kvm."}]})).await;
    bed.settle(Duration::from_millis(500)).await;
    let waiting: Conversion = bed.api().get(&name).await.unwrap();
    assert_eq!(phase(&waiting), Some(ConversionPhase::Running));
    // Six minutes: failed, saying why.
    clock.advance(jiff::SignedDuration::from_secs(120));
    pod_status(&bed, &pod, json!({"message": "still pending"})).await;
    let failed = conversion_where(&bed, &name, "Failed by the pending timeout", |c| {
        phase(c) == Some(ConversionPhase::Failed)
    })
    .await;
    let message = &failed.status.message;
    // Six minutes on the manual clock, less the part second between the clock's start
    // and the pod's creationTimestamp (whole seconds): 5m59s or 6m.
    assert!(
        message.contains("stuck in Pending for 6m")
            || message.contains("stuck in Pending for 5m59s"),
        "{message}"
    );
    assert!(
        message.contains("reason: Unschedulable: 0/3 nodes are available"),
        "{message}"
    );
}

/// The plan cancels a Conversion by writing `Canceled` (upstream `CancelConversion`):
/// the pod is deleted and the Conversion reports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_conversion_deletes_its_pod() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, NS);
    let inputs = inputs(ConversionType::Remote, NS);
    prerequisites(&bed, &inputs, NS).await;
    start(&mut bed, None).await;
    let name = bed
        .create(&v2v::conversion(&world.run(), &inputs))
        .await
        .name()
        .to_string();
    the_pod(&bed, NS, &name).await;
    conversion_where(&bed, &name, "Running", |c| {
        phase(c) == Some(ConversionPhase::Running)
    })
    .await;
    bed.patch_status::<Conversion>(&name, json!({"phase": "Canceled", "stage": "Finished"}))
        .await;
    let canceled = conversion_where(&bed, &name, "Canceled reported", |c| {
        c.status.message == "The conversion has been canceled."
    })
    .await;
    assert_eq!(phase(&canceled), Some(ConversionPhase::Canceled));
    assert!(canceled.status.completion_time.is_some());
    assert!(common::condition(&canceled.status.conditions, t::CONVERSION_CANCELED).is_some());
    bounded("the pod is deleted", async {
        while !pods_of(&bed, NS, &name).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// Deleting a Conversion deletes its pod: by the garbage collector in its namespace, by
/// the controller in another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_conversion_takes_its_pod_along() {
    let mut bed = Bed::new().await;
    start(&mut bed, None).await;
    for target in [NS, "target"] {
        let world = World::new(&bed, target);
        let inputs = inputs(ConversionType::Remote, target);
        prerequisites(&bed, &inputs, target).await;
        let name = bed
            .create(&v2v::conversion(&world.run(), &inputs))
            .await
            .name()
            .to_string();
        let pod = the_pod(&bed, target, &name).await;
        assert_eq!(
            pod.metadata.owner_references.is_some(),
            target == NS,
            "an owner reference only in the Conversion's namespace"
        );
        bed.api::<Conversion>()
            .delete(&name, &DeleteParams::default())
            .await
            .unwrap();
        bounded("the pod goes with its Conversion", async {
            while !pods_of(&bed, target, &name).await.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        // Clean slate for the next target.
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(bed.client.clone(), target);
        for pvc in &inputs.pvcs {
            claims
                .delete(
                    pvc.metadata.name.as_deref().unwrap(),
                    &DeleteParams::default(),
                )
                .await
                .unwrap();
        }
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(bed.client.clone(), target);
        secrets
            .delete(&inputs.secret, &DeleteParams::default())
            .await
            .unwrap();
    }
}

/// A pod whose Conversion was deleted while no controller ran goes at start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphaned_pod_is_deleted_at_start_up() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, "target");
    let inputs = inputs(ConversionType::Remote, "target");
    prerequisites(&bed, &inputs, "target").await;
    start(&mut bed, None).await;
    let name = bed
        .create(&v2v::conversion(&world.run(), &inputs))
        .await
        .name()
        .to_string();
    the_pod(&bed, "target", &name).await;
    bed.stop_manager().await;
    bed.api::<Conversion>()
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(pods_of(&bed, "target", &name).await.len(), 1);
    start(&mut bed, None).await;
    bounded("the orphaned pod is deleted", async {
        while !pods_of(&bed, "target", &name).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// Specs that cannot work fail with what is wrong, and create no pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_specs_fail_with_a_message() {
    let mut bed = Bed::new().await;
    let world = World::new(&bed, NS);
    start(&mut bed, None).await;
    let base = v2v::conversion(&world.run(), &inputs(ConversionType::Remote, NS));
    let long = "x".repeat(300);
    type Edit = fn(&mut Conversion, &str);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "no disks",
            |c, _| c.spec.disks.clear(),
            "The `Disks` field is required",
        ),
        (
            "absurd names",
            |c, long| {
                c.spec.target_namespace = "Not_A/Namespace".into();
                c.spec.disks[0].name = long.into();
                c.spec.connection.secret.name = Some("../../etc/passwd".into());
            },
            "is not a namespace name",
        ),
        (
            "a missing claim",
            |c, _| c.spec.disks[0].name = "nowhere".into(),
            "PersistentVolumeClaim ns/nowhere not found",
        ),
        (
            "a missing secret",
            |c, _| {
                c.spec.disks.clear();
                c.spec.r#type = ConversionType::Inspection;
                c.spec.connection.secret.name = Some("absent".into());
            },
            "the connection secret ns/absent does not exist",
        ),
        (
            "a deep inspection without its snapshot",
            |c, _| {
                c.spec.r#type = ConversionType::DeepInspection;
                c.spec.vddk_image = "quay.io/me/vddk:8".into();
                c.spec.disks.clear();
            },
            "not supported yet",
        ),
    ];
    for (what, edit, expected) in cases {
        let mut conversion = base.clone();
        edit(&mut conversion, &long);
        let name = bed.create(&conversion).await.name().to_string();
        let failed = conversion_where(&bed, &name, what, |c| {
            phase(c) == Some(ConversionPhase::Failed)
        })
        .await;
        assert!(
            failed.status.message.contains(expected),
            "{what}: {}",
            failed.status.message
        );
        assert!(
            failed.status.message.len() < 2048,
            "{what}: the message is bounded"
        );
        assert_eq!(pods_of(&bed, NS, &name).await.len(), 0, "{what}: no pod");
    }
    assert_eq!(pod_creates(&bed), 0);
    let absurd: Vec<Conversion> = bed
        .api::<Conversion>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert!(
        absurd
            .iter()
            .all(|c| phase(c) == Some(ConversionPhase::Failed))
    );
}

/// A deep inspection with a given snapshot: its pod, `/ready`, `/results` into
/// `status.inspectionResult`, `/shutdown`, then the pod's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_inspection_fetches_its_results() {
    use axum::Router;
    use axum::routing::{get, post};
    let mut bed = Bed::new().await;
    bed.settings.images.deep_inspection = "quay.io/kubev2v/deep-inspection:latest".into();
    let world = World::new(&bed, NS);
    let inputs = inputs(ConversionType::Remote, NS);
    prerequisites(&bed, &inputs, NS).await;

    // The pod's server, on a loopback address of its own (the port is fixed: 8080).
    let shutdowns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&shutdowns);
    let app = Router::new()
        .route("/ready", get(|| async { "ok" }))
        .route(
            "/results",
            get(|| async {
                axum::Json(json!({
                    "passed": false,
                    "os_info": {"name": "rhel", "distro": "rhel", "major_version": "9", "architecture": "x86_64"},
                    "all_concerns": [{"id": "c1", "category": "Critical", "label": "BitLocker", "message": "the disk is encrypted"}],
                    "filesystems": [{"device": "/dev/sda1", "type": "xfs", "uuid": "u-1"}],
                    "mountpoints": [{"device": "/dev/sda1", "mount_point": "/"}],
                    "ignored": true
                }))
            }),
        )
        .route(
            "/shutdown",
            post(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { "bye" }
            }),
        );
    let (listener, ip) = loopback_listener().await;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    start(&mut bed, None).await;
    let mut conversion = v2v::conversion(&world.run(), &inputs);
    conversion.spec.r#type = ConversionType::DeepInspection;
    conversion.spec.vddk_image = "quay.io/me/vddk:8".into();
    conversion
        .spec
        .settings
        .insert(SETTINGS_SNAPSHOT_MOREF.into(), "snapshot-7".into());
    conversion
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("conversion-type".into(), "DeepInspection".into());
    let name = bed.create(&conversion).await.name().to_string();
    let pod = the_pod(&bed, NS, &name).await;
    assert_eq!(
        pod.metadata.labels.as_ref().unwrap()["forklift.app"],
        "deep-inspection"
    );
    let spec = pod.spec.clone().unwrap();
    let env: BTreeMap<_, _> = spec.containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect();
    assert_eq!(env["SNAPSHOT_MOREF"], "snapshot-7");
    assert_eq!(env["VM_MOREF"], "vm-1");
    assert_eq!(spec.init_containers.unwrap()[0].name, "vddk-side-car");

    pod_status(&bed, &pod, json!({"phase": "Running", "podIP": ip})).await;
    let finished = conversion_where(&bed, &name, "results fetched", |c| {
        c.status.inspection_result.is_some()
    })
    .await;
    assert_eq!(stage(&finished), Some(ConversionStage::Finished));
    let result = finished.status.inspection_result.unwrap();
    assert!(!result.all_checks_passed);
    assert_eq!(result.os_info.unwrap().version, "9");
    assert_eq!(result.concerns[0].label, "BitLocker");
    assert_eq!(result.filesystems[0].r#type, "xfs");
    assert_eq!(result.mountpoints[0].mount_point, "/");
    let snapshot = finished.status.snapshot.unwrap();
    assert_eq!(
        (snapshot.moref.as_str(), snapshot.owned),
        ("snapshot-7", false)
    );
    assert_eq!(shutdowns.load(std::sync::atomic::Ordering::SeqCst), 1);

    pod_status(&bed, &pod, json!({"phase": "Succeeded"})).await;
    conversion_where(&bed, &name, "Succeeded", |c| {
        phase(c) == Some(ConversionPhase::Succeeded)
    })
    .await;
    server.abort();
}

/// A listener on `<some 127.x.y.z>:8080`.
async fn loopback_listener() -> (tokio::net::TcpListener, String) {
    let seed = std::process::id();
    for attempt in 0..50u32 {
        let value = seed
            .wrapping_mul(31)
            .wrapping_add(attempt.wrapping_mul(7919));
        let ip = format!(
            "127.{}.{}.{}",
            10 + (value % 200),
            (value / 200) % 250 + 1,
            (value / 50_000) % 250 + 2
        );
        if let Ok(listener) = tokio::net::TcpListener::bind((ip.as_str(), 8080)).await {
            return (listener, ip);
        }
    }
    panic!("no loopback address with port 8080 free");
}
