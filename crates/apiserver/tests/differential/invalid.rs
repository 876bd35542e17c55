//! Invalid built-in objects: `422 Invalid` with the field paths and wording of each
//! cause, for metadata (names, labels, annotations, finalizers, owner references)
//! and the kinds' own rules.

use crate::harness::Session;
use serde_json::{Value, json};

const NS: &str = "d-invalid";

fn core(kind: &str, name: &str, rest: Value) -> Value {
    let mut v = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}});
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), rest) {
        obj.extend(extra);
    }
    v
}

fn with_meta(kind: &str, meta: Value) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": meta})
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let ns = format!("/api/v1/namespaces/{NS}");
    let cms = format!("{ns}/configmaps");
    let c = |v: Value| {
        json!({"name": "p", "image": "busybox"})
            .as_object()
            .cloned()
            .map(|mut m| {
                if let Value::Object(extra) = v {
                    m.extend(extra);
                }
                Value::Object(m)
            })
            .unwrap_or_default()
    };
    let cases: Vec<(&str, String, Value)> = vec![
        // Metadata.
        (
            "name-too-long",
            cms.clone(),
            core("ConfigMap", &"a".repeat(254), json!({})),
        ),
        (
            "name-uppercase",
            cms.clone(),
            core("ConfigMap", "Upper", json!({})),
        ),
        (
            "name-with-slash",
            cms.clone(),
            core("ConfigMap", "a/b", json!({})),
        ),
        (
            "name-dot-dot",
            cms.clone(),
            core("ConfigMap", "..", json!({})),
        ),
        (
            "label-key-bad-prefix",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "l1", "labels": {"Bad_Prefix/x": "v"}}),
            ),
        ),
        (
            "label-key-too-many-slashes",
            cms.clone(),
            with_meta("ConfigMap", json!({"name": "l2", "labels": {"a/b/c": "v"}})),
        ),
        (
            "label-value-too-long",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "l3", "labels": {"a": "v".repeat(64)}}),
            ),
        ),
        (
            "label-key-empty",
            cms.clone(),
            with_meta("ConfigMap", json!({"name": "l4", "labels": {"": "v"}})),
        ),
        (
            "annotation-key-invalid",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "a1", "annotations": {"not valid": "v"}}),
            ),
        ),
        (
            "annotations-too-large",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "a2", "annotations": {"big": "x".repeat(262_145)}}),
            ),
        ),
        (
            "finalizer-invalid",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "f1", "finalizers": ["not a finalizer"]}),
            ),
        ),
        (
            "finalizer-unqualified",
            cms.clone(),
            with_meta("ConfigMap", json!({"name": "f2", "finalizers": ["plain"]})),
        ),
        (
            "owner-reference-without-uid",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "o1", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": ""}]}),
            ),
        ),
        (
            "owner-reference-without-api-version",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "o2", "ownerReferences": [{"apiVersion": "", "kind": "ConfigMap", "name": "x", "uid": "u"}]}),
            ),
        ),
        (
            "owner-reference-two-controllers",
            cms.clone(),
            with_meta(
                "ConfigMap",
                json!({"name": "o3", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u1", "controller": true},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "y", "uid": "u2", "controller": true}]}),
            ),
        ),
        (
            "generate-name-invalid",
            cms.clone(),
            with_meta("ConfigMap", json!({"generateName": "Bad_"})),
        ),
        // ConfigMaps and Secrets.
        (
            "configmap-key-invalid",
            cms.clone(),
            core("ConfigMap", "k1", json!({"data": {"a b": "x"}})),
        ),
        (
            "configmap-key-too-long",
            cms.clone(),
            core("ConfigMap", "k2", json!({"data": {"k".repeat(254): "x"}})),
        ),
        (
            "configmap-key-in-both",
            cms.clone(),
            core(
                "ConfigMap",
                "k3",
                json!({"data": {"a": "x"}, "binaryData": {"a": "eA=="}}),
            ),
        ),
        (
            "configmap-too-large",
            cms.clone(),
            core(
                "ConfigMap",
                "k4",
                json!({"data": {"a": "x".repeat(1_048_577)}}),
            ),
        ),
        (
            "secret-key-invalid",
            format!("{ns}/secrets"),
            core("Secret", "s1", json!({"data": {"a b": "eA=="}})),
        ),
        (
            "secret-not-base64",
            format!("{ns}/secrets"),
            core("Secret", "s2", json!({"data": {"a": "!!!"}})),
        ),
        (
            "secret-tls-without-key",
            format!("{ns}/secrets"),
            core(
                "Secret",
                "s3",
                json!({"type": "kubernetes.io/tls", "data": {"tls.crt": ""}}),
            ),
        ),
        (
            "secret-basic-auth-empty",
            format!("{ns}/secrets"),
            core("Secret", "s4", json!({"type": "kubernetes.io/basic-auth"})),
        ),
        // Services.
        (
            "service-name-not-dns-label",
            format!("{ns}/services"),
            core(
                "Service",
                "web.site",
                json!({"spec": {"ports": [{"port": 80}]}}),
            ),
        ),
        (
            "service-port-zero",
            format!("{ns}/services"),
            core("Service", "p0", json!({"spec": {"ports": [{"port": 0}]}})),
        ),
        (
            "service-port-too-high",
            format!("{ns}/services"),
            core(
                "Service",
                "p1",
                json!({"spec": {"ports": [{"port": 70000}]}}),
            ),
        ),
        (
            "service-ports-unnamed",
            format!("{ns}/services"),
            core(
                "Service",
                "p2",
                json!({"spec": {"ports": [{"port": 80}, {"port": 81}]}}),
            ),
        ),
        (
            "service-ports-duplicate",
            format!("{ns}/services"),
            core(
                "Service",
                "p3",
                json!({"spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}}),
            ),
        ),
        (
            "service-bad-type",
            format!("{ns}/services"),
            core(
                "Service",
                "p4",
                json!({"spec": {"type": "Magic", "ports": [{"port": 80}]}}),
            ),
        ),
        (
            "service-bad-cluster-ip",
            format!("{ns}/services"),
            core(
                "Service",
                "p5",
                json!({"spec": {"clusterIP": "1.2.3", "ports": [{"port": 80}]}}),
            ),
        ),
        (
            "service-bad-selector",
            format!("{ns}/services"),
            core(
                "Service",
                "p6",
                json!({"spec": {"selector": {"app": "a b"}, "ports": [{"port": 80}]}}),
            ),
        ),
        (
            "service-bad-protocol",
            format!("{ns}/services"),
            core(
                "Service",
                "p7",
                json!({"spec": {"ports": [{"port": 80, "protocol": "ICMP"}]}}),
            ),
        ),
        // Pods.
        (
            "pod-without-containers",
            format!("{ns}/pods"),
            pod(json!({"containers": []})),
        ),
        (
            "pod-container-name-invalid",
            format!("{ns}/pods"),
            pod(json!({"containers": [c(json!({"name": "Bad_Name"}))]})),
        ),
        (
            "pod-container-names-duplicate",
            format!("{ns}/pods"),
            pod(json!({"containers": [c(json!({})), c(json!({}))]})),
        ),
        (
            "pod-container-without-image",
            format!("{ns}/pods"),
            pod(json!({"containers": [{"name": "c"}]})),
        ),
        (
            "pod-restart-policy-invalid",
            format!("{ns}/pods"),
            pod(json!({"restartPolicy": "Sometimes", "containers": [c(json!({}))]})),
        ),
        (
            "pod-volume-without-source",
            format!("{ns}/pods"),
            pod(json!({"volumes": [{"name": "v"}], "containers": [c(json!({}))]})),
        ),
        (
            "pod-mount-of-missing-volume",
            format!("{ns}/pods"),
            pod(
                json!({"containers": [c(json!({"volumeMounts": [{"name": "nope", "mountPath": "/x"}]}))]}),
            ),
        ),
        (
            "pod-env-name-invalid",
            format!("{ns}/pods"),
            pod(json!({"containers": [c(json!({"env": [{"name": "1=bad", "value": "x"}]}))]})),
        ),
        (
            "pod-container-port-invalid",
            format!("{ns}/pods"),
            pod(json!({"containers": [c(json!({"ports": [{"containerPort": 0}]}))]})),
        ),
        (
            "pod-requests-above-limits",
            format!("{ns}/pods"),
            pod(
                json!({"containers": [c(json!({"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}))]}),
            ),
        ),
        (
            "pod-quantity-malformed",
            format!("{ns}/pods"),
            pod(json!({"containers": [c(json!({"resources": {"requests": {"memory": "lots"}}}))]})),
        ),
        (
            "pod-negative-grace-period",
            format!("{ns}/pods"),
            pod(json!({"terminationGracePeriodSeconds": -1, "containers": [c(json!({}))]})),
        ),
        (
            "pod-volume-names-duplicate",
            format!("{ns}/pods"),
            pod(
                json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}], "containers": [c(json!({}))]}),
            ),
        ),
        // Storage.
        (
            "claim-without-access-modes",
            format!("{ns}/persistentvolumeclaims"),
            core(
                "PersistentVolumeClaim",
                "c1",
                json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}}),
            ),
        ),
        (
            "claim-without-storage",
            format!("{ns}/persistentvolumeclaims"),
            core(
                "PersistentVolumeClaim",
                "c2",
                json!({"spec": {"accessModes": ["ReadWriteOnce"]}}),
            ),
        ),
        (
            "claim-bad-access-mode",
            format!("{ns}/persistentvolumeclaims"),
            core(
                "PersistentVolumeClaim",
                "c3",
                json!({"spec": {"accessModes": ["ReadWriteSometimes"], "resources": {"requests": {"storage": "1Gi"}}}}),
            ),
        ),
        (
            "claim-bad-volume-mode",
            format!("{ns}/persistentvolumeclaims"),
            core(
                "PersistentVolumeClaim",
                "c4",
                json!({"spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Tape", "resources": {"requests": {"storage": "1Gi"}}}}),
            ),
        ),
        (
            "volume-without-capacity",
            "/api/v1/persistentvolumes".into(),
            core(
                "PersistentVolume",
                "d-invalid-v1",
                json!({"spec": {"accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/x"}}}),
            ),
        ),
        (
            "volume-without-source",
            "/api/v1/persistentvolumes".into(),
            core(
                "PersistentVolume",
                "d-invalid-v2",
                json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}}),
            ),
        ),
        (
            "volume-relative-host-path",
            "/api/v1/persistentvolumes".into(),
            core(
                "PersistentVolume",
                "d-invalid-v3",
                json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "x/../y"}}}),
            ),
        ),
        // Jobs, leases, events, storage classes.
        (
            "job-always-restarts",
            format!("/apis/batch/v1/namespaces/{NS}/jobs"),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j1"}, "spec": {"template": {"spec": {"restartPolicy": "Always", "containers": [c(json!({}))]}}}}),
        ),
        (
            "job-negative-parallelism",
            format!("/apis/batch/v1/namespaces/{NS}/jobs"),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j2"}, "spec": {"parallelism": -1, "template": {"spec": {"restartPolicy": "Never", "containers": [c(json!({}))]}}}}),
        ),
        (
            "job-negative-backoff-limit",
            format!("/apis/batch/v1/namespaces/{NS}/jobs"),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j3"}, "spec": {"backoffLimit": -1, "template": {"spec": {"restartPolicy": "Never", "containers": [c(json!({}))]}}}}),
        ),
        (
            "lease-zero-duration",
            format!("/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"),
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": 0}}),
        ),
        (
            "event-without-involved-object",
            format!("{ns}/events"),
            core("Event", "e1", json!({"reason": "R", "message": "m"})),
        ),
        (
            "event-in-another-namespace",
            format!("{ns}/events"),
            core(
                "Event",
                "e2",
                json!({"involvedObject": {"kind": "Pod", "name": "p", "namespace": "elsewhere"}, "reason": "R"}),
            ),
        ),
        (
            "storage-class-bad-reclaim-policy",
            "/apis/storage.k8s.io/v1/storageclasses".into(),
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "d-invalid-sc"}, "provisioner": "example.com/x", "reclaimPolicy": "Recycle"}),
        ),
        (
            "storage-class-without-provisioner",
            "/apis/storage.k8s.io/v1/storageclasses".into(),
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "d-invalid-sc2"}}),
        ),
        (
            "service-account-bad-secret-ref",
            format!("{ns}/serviceaccounts"),
            core("ServiceAccount", "Bad_SA", json!({})),
        ),
    ];
    for (step, path, mut body) in cases {
        if body["kind"] == "Pod" {
            // Each pod its own name, so one accepted by mistake does not turn the
            // next case into AlreadyExists.
            body["metadata"]["name"] = json!(step);
        }
        s.post(step, path, &body).await;
    }
}
