//! Deletion through kube-rs: finalizers and deletionTimestamp, preconditions,
//! graceful deletion of scheduled pods, garbage collection (background, foreground
//! with blockOwnerDeletion, orphan), and namespace termination.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestTarget, eventually};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy,
};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
    )
    .unwrap()
}

fn owned_by(name: &str, owner: &ConfigMap, block: bool) -> ConfigMap {
    let mut c = cm(name);
    c.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: owner.metadata.name.clone().unwrap(),
        uid: owner.metadata.uid.clone().unwrap(),
        block_owner_deletion: Some(block),
        controller: None,
    }]);
    c
}

async fn gone(api: &Api<ConfigMap>, name: &str) {
    let (api, name) = (api.clone(), name.to_string());
    eventually(&format!("{name} to be deleted"), move || {
        let (api, name) = (api.clone(), name.clone());
        async move { api.get_opt(&name).await.unwrap().is_none() }
    })
    .await;
}

#[tokio::test]
async fn finalizers_hold_an_object_until_removed() {
    let t = TestTarget::start().await;
    let ns = t.namespace("fin").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let mut c = cm("held");
    c.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &c).await.unwrap();
    let r = api.delete("held", &DeleteParams::default()).await.unwrap();
    let marked = r
        .left()
        .expect("the object comes back while finalizers remain");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(0));
    // No new finalizers once deleting.
    let e = api
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}}),
            ),
        )
        .await
        .unwrap_err();
    match e {
        kube::Error::Api(s) => assert_eq!(s.code, 422),
        other => panic!("{other:?}"),
    }
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn delete_preconditions_are_checked() {
    let t = TestTarget::start().await;
    let ns = t.namespace("pre").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("not-the-uid".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete("a", &dp).await.unwrap_err() {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(
                s.message.contains(
                    "the UID in the precondition (not-the-uid) does not match the UID in record"
                ),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn scheduled_pods_are_deleted_gracefully() {
    let t = TestTarget::start().await;
    let ns = t.namespace("grace").await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), &ns);
    let p: Pod = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    let r = pods.delete("p", &DeleteParams::default()).await.unwrap();
    let p = r.left().unwrap();
    assert_eq!(p.metadata.deletion_grace_period_seconds, Some(30));
    // The kubelet (here: the test) confirms with grace period 0.
    pods.delete(
        "p",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(pods.get_opt("p").await.unwrap().is_none());
}

#[tokio::test]
async fn background_garbage_collection() {
    let t = TestTarget::start().await;
    let ns = t.namespace("gcbg").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let owner = api
        .create(&PostParams::default(), &cm("owner"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &owned_by("child", &owner, false))
        .await
        .unwrap();
    let grandchild_owner = api.get("child").await.unwrap();
    api.create(
        &PostParams::default(),
        &owned_by("grandchild", &grandchild_owner, false),
    )
    .await
    .unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    gone(&api, "child").await;
    gone(&api, "grandchild").await;
}

#[tokio::test]
async fn dangling_owner_references_are_collected() {
    let t = TestTarget::start().await;
    let ns = t.namespace("dangle").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let mut ghost = cm("ghost");
    ghost.metadata.uid = Some("00000000-0000-0000-0000-000000000000".into());
    api.create(&PostParams::default(), &owned_by("orphaned", &ghost, false))
        .await
        .unwrap();
    gone(&api, "orphaned").await;
    // An object with one live owner keeps it and loses the dangling reference.
    let live = api
        .create(&PostParams::default(), &cm("live"))
        .await
        .unwrap();
    let mut both = owned_by("both", &live, false);
    both.metadata.owner_references.as_mut().unwrap().extend(
        owned_by("x", &ghost, false)
            .metadata
            .owner_references
            .unwrap(),
    );
    api.create(&PostParams::default(), &both).await.unwrap();
    eventually("the dangling reference to be removed", || {
        let api = api.clone();
        async move {
            api.get("both")
                .await
                .unwrap()
                .metadata
                .owner_references
                .unwrap()
                .len()
                == 1
        }
    })
    .await;
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let t = TestTarget::start().await;
    let ns = t.namespace("gcfg").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let owner = api
        .create(&PostParams::default(), &cm("owner"))
        .await
        .unwrap();
    let mut blocking = owned_by("blocking", &owner, true);
    blocking.metadata.finalizers = Some(vec!["example.com/slow".into()]);
    api.create(&PostParams::default(), &blocking).await.unwrap();
    api.create(&PostParams::default(), &owned_by("free", &owner, false))
        .await
        .unwrap();
    let r = api
        .delete("owner", &DeleteParams::foreground())
        .await
        .unwrap();
    let o = r.left().unwrap();
    assert!(
        o.metadata
            .finalizers
            .unwrap()
            .contains(&"foregroundDeletion".to_string())
    );
    gone(&api, "free").await;
    eventually("the blocking dependent to be marked", || {
        let api = api.clone();
        async move {
            api.get("blocking")
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_some()
        }
    })
    .await;
    assert!(
        api.get_opt("owner").await.unwrap().is_some(),
        "the owner waits for its blocking dependent"
    );
    api.patch(
        "blocking",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    gone(&api, "blocking").await;
    gone(&api, "owner").await;
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let t = TestTarget::start().await;
    let ns = t.namespace("gcor").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let owner = api
        .create(&PostParams::default(), &cm("owner"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &owned_by("child", &owner, true))
        .await
        .unwrap();
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..Default::default()
    };
    api.delete("owner", &dp).await.unwrap();
    gone(&api, "owner").await;
    let child = api.get("child").await.unwrap();
    assert!(child.metadata.owner_references.is_none_or(|r| r.is_empty()));
}

#[tokio::test]
async fn jobs_orphan_their_pods_by_default_with_a_warning() {
    let t = TestTarget::start().await;
    let ns = t.namespace("job").await;
    let jobs: Api<Job> = Api::namespaced(t.client.clone(), &ns);
    let job: Job = serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}))
    .unwrap();
    let j = jobs.create(&PostParams::default(), &job).await.unwrap();
    assert_eq!(j.metadata.generation, Some(1));
    let labels = j.spec.unwrap().template.metadata.unwrap().labels.unwrap();
    assert_eq!(labels["job-name"], "j");
    let r = jobs.delete("j", &DeleteParams::default()).await.unwrap();
    let marked = r.left().unwrap();
    assert!(
        marked
            .metadata
            .finalizers
            .unwrap()
            .contains(&"orphan".to_string())
    );
    eventually("the job to be gone", || {
        let jobs = jobs.clone();
        async move { jobs.get_opt("j").await.unwrap().is_none() }
    })
    .await;
}

#[tokio::test]
async fn deleting_a_namespace_removes_its_content() {
    let t = TestTarget::start().await;
    let ns = t.namespace("term").await;
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(t.client.clone(), &ns);
    let mut held = cm("held");
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &held).await.unwrap();
    cms.create(&PostParams::default(), &cm("plain"))
        .await
        .unwrap();
    let s: Secret = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
    )
    .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    let r = namespaces
        .delete(&ns, &DeleteParams::default())
        .await
        .unwrap();
    let marked = r.left().unwrap();
    assert_eq!(marked.status.unwrap().phase.as_deref(), Some("Terminating"));
    // New content is refused while terminating.
    match cms
        .create(&PostParams::default(), &cm("late"))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert_eq!(
                s.message,
                format!(
                    "configmaps \"late\" is forbidden: unable to create new content in namespace {ns} because it is being terminated"
                )
            );
        }
        other => panic!("{other:?}"),
    }
    gone(&cms, "plain").await;
    eventually("the secret to go", || {
        let secrets = secrets.clone();
        async move { secrets.get_opt("s").await.unwrap().is_none() }
    })
    .await;
    // The namespace waits for the finalizer, reporting what remains.
    eventually("a NamespaceFinalizersRemaining condition", || {
        let (namespaces, ns) = (namespaces.clone(), ns.clone());
        async move {
            namespaces
                .get(&ns)
                .await
                .unwrap()
                .status
                .and_then(|s| s.conditions)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "NamespaceFinalizersRemaining" && c.status == "True")
                })
        }
    })
    .await;
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually("the namespace to be gone", || {
        let (namespaces, ns) = (namespaces.clone(), ns.clone());
        async move { namespaces.get_opt(&ns).await.unwrap().is_none() }
    })
    .await;
}

#[tokio::test]
async fn the_initial_namespaces_exist() {
    let t = TestTarget::start().await;
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let ns = namespaces.get(n).await.unwrap();
        assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Active"));
        assert_eq!(
            ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"],
            n
        );
    }
}

#[tokio::test]
async fn a_claim_in_use_by_a_pod_waits_for_the_pod() {
    let t = TestTarget::start().await;
    let ns = t.namespace("pvc").await;
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(t.client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), &ns);
    let claim = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    )
    .unwrap();
    let created = pvcs.create(&PostParams::default(), &claim).await.unwrap();
    assert_eq!(
        created.metadata.finalizers,
        Some(vec!["kubernetes.io/pvc-protection".to_string()])
    );
    let pod: Pod = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
        // Scheduled: only pods on a node hold their claims.
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}),
    )
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    pvcs.delete("data", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let held = pvcs.get("data").await.unwrap();
    assert!(
        held.metadata.deletion_timestamp.is_some(),
        "the claim waits for its pod"
    );
    // No kubelet confirms the deletion: delete without a grace period.
    pods.delete("user", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    eventually("the claim to go once its pod is gone", || {
        let pvcs = pvcs.clone();
        async move { pvcs.get_opt("data").await.unwrap().is_none() }
    })
    .await;
}
