//! Created objects of every kind the embedded server serves, compared whole:
//! defaulting (decode-time defaults, admission: service accounts and their token
//! volume, priority, tolerations, protection finalizers), Go zero values, number
//! formats, generation and managedFields.

use crate::harness::Session;
use serde_json::{Value, json};

const NS: &str = "d-objects";

fn objects() -> Vec<(&'static str, String, Value)> {
    let ns = format!("/api/v1/namespaces/{NS}");
    vec![
        (
            "configmap",
            format!("{ns}/configmaps"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"k": "v"}}),
        ),
        (
            "secret",
            format!("{ns}/secrets"),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"user": "me"}}),
        ),
        (
            "service",
            format!("{ns}/services"),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https", "targetPort": "https"}]}}),
        ),
        (
            "headless-service",
            format!("{ns}/services"),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}}),
        ),
        (
            "pod",
            format!("{ns}/pods"),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"serviceAccountName": "default", "containers": [{"name": "c", "image": "busybox:1.36", "ports": [{"containerPort": 80}]}]}}),
        ),
        (
            "pod-without-account",
            format!("{ns}/pods"),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "anonymous"}, "spec": {
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [{"name": "c", "image": "busybox", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "emptyDir": {}}]}}),
        ),
        (
            "pod-without-token",
            format!("{ns}/pods"),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tokenless"}, "spec": {"automountServiceAccountToken": false, "containers": [{"name": "c", "image": "busybox"}]}}),
        ),
        (
            "pod-of-a-missing-account",
            format!("{ns}/pods"),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lost"}, "spec": {"serviceAccountName": "nobody", "containers": [{"name": "c", "image": "busybox"}]}}),
        ),
        (
            "persistentvolumeclaim",
            format!("{ns}/persistentvolumeclaims"),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pvc"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        (
            "persistentvolume",
            "/api/v1/persistentvolumes".to_string(),
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "d-objects-pv"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/pv"}}}),
        ),
        (
            "serviceaccount",
            format!("{ns}/serviceaccounts"),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
        ),
        (
            "job",
            format!("/apis/batch/v1/namespaces/{NS}/jobs"),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}),
        ),
        (
            "storageclass",
            "/apis/storage.k8s.io/v1/storageclasses".to_string(),
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "d-objects-sc"}, "provisioner": "example.com/nfs"}),
        ),
        (
            "lease",
            format!("/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"),
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}),
        ),
        (
            "core-event",
            format!("{ns}/events"),
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": NS}, "reason": "Test", "message": "hello", "type": "Normal", "source": {"component": "test"}}),
        ),
        (
            "events-k8s-io-event",
            format!("/apis/events.k8s.io/v1/namespaces/{NS}/events"),
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2"}, "eventTime": "2025-01-01T00:00:00.000000Z", "regarding": {"kind": "Pod", "name": "p", "namespace": NS}, "reason": "Test", "note": "hi", "type": "Normal", "action": "Testing", "reportingController": "test", "reportingInstance": "test-1"}),
        ),
        (
            "namespace",
            "/api/v1/namespaces".to_string(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d-objects-made"}}),
        ),
        (
            "customresourcedefinition",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions".to_string(),
            json!({
              "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
              "metadata": {"name": "gadgets.objects.diff.ferry.io"},
              "spec": {"group": "objects.diff.ferry.io", "scope": "Namespaced",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                  "subresources": {"status": {}},
                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}
            }),
        ),
    ]
}

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    for (step, path, body) in objects() {
        s.post(step, path, &body).await;
    }
    // Read back too: what a client sees later (the service account's token volume,
    // protection finalizers, a claim's status) must match as well.
    s.get(
        "pod-read-back",
        format!("/api/v1/namespaces/{NS}/pods/anonymous"),
    )
    .await;
    s.get(
        "serviceaccount-read-back",
        format!("/api/v1/namespaces/{NS}/serviceaccounts/default"),
    )
    .await;
}
