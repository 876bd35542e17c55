//! The `DefaultStorageClass` admission plugin: claims created without a class get
//! the default StorageClass's name (the newest default, then the first by name);
//! claims that name a class, even the empty one, or carry the beta class
//! annotation keep theirs. It changes the cluster as a whole (a default class), so
//! it runs on a control plane of its own.

use crate::harness::Session;
use serde_json::{Value, json};
use std::time::Duration;

const NS: &str = "d-default-class";
const CLASSES: &str = "/apis/storage.k8s.io/v1/storageclasses";

fn claim(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
}

fn class(name: &str, annotation: Option<&str>) -> Value {
    let mut c = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": name}, "provisioner": "example.com/nfs"});
    if let Some(a) = annotation {
        c["metadata"]["annotations"] = json!({ a: "true" });
    }
    c
}

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let claims = format!("/api/v1/namespaces/{NS}/persistentvolumeclaims");
    s.post("claim-without-any-default", &claims, &claim("none"))
        .await;
    s.must_create(CLASSES, &class("plain", None)).await;
    s.must_create(
        CLASSES,
        &class("older", Some("storageclass.kubernetes.io/is-default-class")),
    )
    .await;
    s.post("claim-gets-the-default", &claims, &claim("defaulted"))
        .await;
    let mut empty = claim("empty-class");
    empty["spec"]["storageClassName"] = json!("");
    s.post("claim-with-empty-class-keeps-it", &claims, &empty)
        .await;
    let mut named = claim("named-class");
    named["spec"]["storageClassName"] = json!("plain");
    s.post("claim-with-a-class-keeps-it", &claims, &named).await;
    let mut beta = claim("beta-annotated");
    beta["metadata"]["annotations"] = json!({"volume.beta.kubernetes.io/storage-class": "plain"});
    s.post("claim-with-beta-annotation-keeps-it", &claims, &beta)
        .await;
    // creationTimestamp has whole seconds: the next class is newer only a second
    // later (else the first name wins, which would be `older` too).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.must_create(
        CLASSES,
        &class(
            "z-newest",
            Some("storageclass.beta.kubernetes.io/is-default-class"),
        ),
    )
    .await;
    s.post("claim-gets-the-newest-default", &claims, &claim("newest"))
        .await;
    let mut dry = claim("dry");
    dry["metadata"]["name"] = json!("dry-run");
    s.post(
        "claim-dry-run-gets-the-default",
        format!("{claims}?dryRun=All"),
        &dry,
    )
    .await;
    s.get("defaulted-claim-read-back", format!("{claims}/defaulted"))
        .await;
}
