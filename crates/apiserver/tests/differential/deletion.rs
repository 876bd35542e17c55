//! Deletion: finalizers and deletionTimestamp, preconditions, owner references with
//! each propagation policy (background, foreground with `blockOwnerDeletion`, orphan)
//! carried out by the garbage collector (kube-controller-manager's on the real side),
//! dangling owners, deletecollection, graceful deletion of a scheduled pod, and the
//! PV/PVC protection finalizers.

use crate::harness::{MERGE, Session};
use serde_json::{Value, json};

const NS: &str = "d-delete";
const HOLD: &str = "diff.ferry.io/hold";

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"set": "delete"}}})
}

fn owned(name: &str, owner: &str, uid: &str, block: bool) -> Value {
    let mut c = cm(name);
    c["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap",
        "name": owner, "uid": uid, "blockOwnerDeletion": block}]);
    c
}

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    let at = |name: &str| format!("{cms}/{name}");
    let none = Value::Null;

    // Finalizers hold a deleted object; removing the last one completes the deletion.
    let mut held = cm("held");
    held["metadata"]["finalizers"] = json!([HOLD]);
    s.post("create-with-finalizer", &cms, &held).await;
    s.delete("delete-held", at("held"), &none).await;
    s.get("held-while-deleting", at("held")).await;
    s.delete("delete-held-again", at("held"), &none).await;
    s.patch(
        "no-new-finalizers-while-deleting",
        at("held"),
        MERGE,
        &json!({"metadata": {"finalizers": [HOLD, "diff.ferry.io/another"]}}),
    )
    .await;
    s.patch(
        "data-change-while-deleting",
        at("held"),
        MERGE,
        &json!({"data": {"still": "writable"}}),
    )
    .await;
    s.patch(
        "remove-last-finalizer",
        at("held"),
        MERGE,
        &json!({"metadata": {"finalizers": null}}),
    )
    .await;
    s.get("gone-after-finalizers", at("held")).await;

    // Preconditions.
    let target = s.post("create-target", &cms, &cm("target")).await;
    s.delete(
        "precondition-wrong-uid",
        at("target"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}),
    )
    .await;
    s.call(http::Method::DELETE, at("target"))
        .json(&json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": "1"}}))
        .numbers_in_message_are_versions()
        .send("precondition-wrong-resource-version")
        .await;
    s.delete(
        "precondition-met",
        at("target"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": target.uid(), "resourceVersion": target.rv()}}),
    )
    .await;
    s.delete("delete-missing", at("target"), &none).await;
    s.delete(
        "delete-options-wrong-kind",
        at("nothing"),
        &json!({"kind": "Pod", "apiVersion": "v1"}),
    )
    .await;
    s.delete(
        "delete-dry-run",
        format!("{}?dryRun=All", at("nothing")),
        &none,
    )
    .await;

    // Background propagation: the owner goes at once, its dependents after.
    let owner = s.post("owner-background", &cms, &cm("o1")).await.uid();
    s.post(
        "dependent-background",
        &cms,
        &owned("d1", "o1", &owner, false),
    )
    .await;
    s.delete(
        "delete-owner-background",
        format!("{}?propagationPolicy=Background", at("o1")),
        &none,
    )
    .await;
    s.until_gone("dependent-collected", &at("d1")).await;

    // Foreground: the owner waits (with the foregroundDeletion finalizer) for its
    // blocking dependents; one held by a finalizer keeps it waiting.
    let owner = s.post("owner-foreground", &cms, &cm("o2")).await.uid();
    s.post("dependent-blocking", &cms, &owned("d2", "o2", &owner, true))
        .await;
    let mut stuck = owned("d3", "o2", &owner, true);
    stuck["metadata"]["finalizers"] = json!([HOLD]);
    s.post("dependent-held", &cms, &stuck).await;
    s.delete(
        "delete-owner-foreground",
        at("o2"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}),
    )
    .await;
    s.until_gone("blocking-dependent-collected", &at("d2"))
        .await;
    s.until(
        "held-dependent-deleting",
        &at("d3"),
        "deletionTimestamp",
        |r| r.body["metadata"]["deletionTimestamp"].is_string(),
    )
    .await;
    s.get("owner-waits-for-held-dependent", at("o2")).await;
    s.patch(
        "",
        at("d3"),
        MERGE,
        &json!({"metadata": {"finalizers": null}}),
    )
    .await;
    s.until_gone("owner-gone-after-dependents", &at("o2")).await;

    // Orphan: the dependents stay, without the owner reference.
    let owner = s.post("owner-orphan", &cms, &cm("o3")).await.uid();
    s.post("dependent-orphaned", &cms, &owned("d4", "o3", &owner, true))
        .await;
    s.delete(
        "delete-owner-orphan",
        format!("{}?propagationPolicy=Orphan", at("o3")),
        &none,
    )
    .await;
    s.until_gone("orphaning-owner-gone", &at("o3")).await;
    s.until("orphan-released", &at("d4"), "no ownerReferences", |r| {
        r.body["metadata"]["ownerReferences"].is_null()
    })
    .await;
    let owner = s
        .post("owner-orphan-dependents", &cms, &cm("o4"))
        .await
        .uid();
    s.post(
        "dependent-orphan-dependents",
        &cms,
        &owned("d5", "o4", &owner, false),
    )
    .await;
    s.delete(
        "delete-orphan-dependents-option",
        at("o4"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "orphanDependents": true}),
    )
    .await;
    s.until(
        "orphan-dependents-released",
        &at("d5"),
        "no ownerReferences",
        |r| r.body["metadata"]["ownerReferences"].is_null(),
    )
    .await;
    s.delete(
        "conflicting-policies",
        at("d5"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "orphanDependents": true, "propagationPolicy": "Background"}),
    )
    .await;

    // A dependent whose owner never existed is collected.
    s.post(
        "dangling-dependent",
        &cms,
        &owned("d6", "ghost", "11111111-1111-1111-1111-111111111111", false),
    )
    .await;
    s.until_gone("dangling-dependent-collected", &at("d6"))
        .await;

    // deletecollection answers with the deleted objects.
    for name in ["x1", "x2"] {
        let mut c = cm(name);
        c["metadata"]["labels"] = json!({"set": "bulk"});
        s.must_create(&cms, &c).await;
    }
    s.delete(
        "delete-collection",
        format!("{cms}?labelSelector=set%3Dbulk"),
        &none,
    )
    .await;
    s.get(
        "after-delete-collection",
        format!("{cms}?labelSelector=set%3Dbulk"),
    )
    .await;

    // Pods: an unscheduled pod goes at once; a scheduled one waits for its kubelet
    // through its grace period, unless deleted with gracePeriodSeconds=0.
    let pods = format!("/api/v1/namespaces/{NS}/pods");
    let pod = |name: &str, node: Option<&str>| {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        if let Some(node) = node {
            p["spec"]["nodeName"] = json!(node);
        }
        p
    };
    s.must_create(&pods, &pod("unscheduled", None)).await;
    s.delete(
        "delete-unscheduled-pod",
        format!("{pods}/unscheduled"),
        &none,
    )
    .await;
    s.must_create(&pods, &pod("scheduled", Some("node-1")))
        .await;
    s.delete("delete-scheduled-pod", format!("{pods}/scheduled"), &none)
        .await;
    s.get("scheduled-pod-terminating", format!("{pods}/scheduled"))
        .await;
    s.delete(
        "delete-scheduled-pod-shorter-grace",
        format!("{pods}/scheduled"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 5}),
    )
    .await;
    s.delete(
        "delete-scheduled-pod-now",
        format!("{pods}/scheduled"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}),
    )
    .await;
    s.get("scheduled-pod-gone", format!("{pods}/scheduled"))
        .await;

    // Storage protection: a claim in use by a scheduled pod waits for the pod; a
    // pod that is not scheduled does not hold it (no kubelet can have mounted it).
    let claims = format!("/api/v1/namespaces/{NS}/persistentvolumeclaims");
    let claim = |name: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    };
    let uses = |mut p: Value, claim: &str| {
        p["spec"]["volumes"] =
            json!([{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]);
        p
    };
    s.post("claim", &claims, &claim("data")).await;
    s.must_create(&pods, &uses(pod("user", Some("node-1")), "data"))
        .await;
    s.delete("delete-claim-in-use", format!("{claims}/data"), &none)
        .await;
    // The protection controller first checks the pod: give it time to see it.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    s.get("claim-waits-for-its-pod", format!("{claims}/data"))
        .await;
    s.delete(
        "",
        format!("{pods}/user"),
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}),
    )
    .await;
    s.until_gone("claim-gone-after-pod", &format!("{claims}/data"))
        .await;
    s.must_create(&claims, &claim("loose")).await;
    s.must_create(&pods, &uses(pod("unscheduled-user", None), "loose"))
        .await;
    s.delete("", format!("{claims}/loose"), &none).await;
    s.until_gone("claim-of-unscheduled-pod-gone", &format!("{claims}/loose"))
        .await;
    let volume = "/api/v1/persistentvolumes/d-delete-pv";
    s.post(
        "volume",
        "/api/v1/persistentvolumes",
        &json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "d-delete-pv"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/d"}}}),
    )
    .await;
    s.delete("delete-volume", volume, &none).await;
    s.until_gone("volume-gone", volume).await;
}
