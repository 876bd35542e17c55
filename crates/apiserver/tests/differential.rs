//! Differential: the same requests against the embedded server and the real
//! kube-apiserver (+ etcd, built by `scripts/test`), comparing status codes, reasons
//! and messages. Where the embedded server differs on purpose, the case says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_apiserver::ApiServer;
use kube::Client;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
enum Compare {
    /// Code, reason and message must be identical.
    Exact,
    /// Code and reason must be identical (the message carries a parser's wording).
    Code,
    /// Same code and reason; the real message starts with ours (it appends a Go
    /// diff of the object).
    Prefix,
    /// Same code and reason; both messages hold these fragments (the real server
    /// orders some errors by Go map iteration, that is randomly).
    Contains(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    compare: Compare,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: impl Into<String>,
    body: Value,
    compare: Compare,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        content_type: "application/json",
        body: if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        },
        compare,
    }
}

fn raw(
    name: &'static str,
    method: &'static str,
    path: impl Into<String>,
    content_type: &'static str,
    body: &[u8],
    compare: Compare,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        content_type,
        body: body.to_vec(),
        compare,
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    code: u16,
    reason: String,
    message: String,
}

async fn send(client: &Client, c: &Case) -> Outcome {
    let req = http::Request::builder()
        .method(c.method)
        .uri(&c.path)
        .header("content-type", c.content_type)
        .body(c.body.clone())
        .unwrap();
    match client.request_text(req).await {
        // Successes are compared by class only (the objects differ in uid and times).
        Ok(_) => Outcome {
            code: 200,
            reason: String::new(),
            message: String::new(),
        },
        Err(kube::Error::Api(s)) => Outcome {
            code: s.code,
            reason: s.reason,
            message: s.message,
        },
        Err(other) => panic!("{}: transport error {other}", c.name),
    }
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}})
}

const CRD: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "gadgets.test.ferry.io"},
  "spec": {"group": "test.ferry.io", "scope": "Namespaced",
    "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "required": ["spec"], "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
          "size": {"type": "integer", "minimum": 1, "maximum": 10},
          "mode": {"type": "string", "enum": ["fast", "slow"]},
          "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
}"#;

/// Objects both servers get before the cases run.
async fn setup(client: &Client) {
    let post =
        |path: &str, body: Value| case("setup", "POST", path.to_string(), body, Compare::Code);
    for c in [
        post(
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "diff"}}),
        ),
        post("/api/v1/namespaces/diff/configmaps", cm("existing")),
        post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            serde_json::from_str(CRD).unwrap(),
        ),
        post(
            "/api/v1/namespaces/diff/pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
                "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]}}),
        ),
        post(
            "/api/v1/namespaces/diff/secrets",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}),
        ),
        post(
            "/api/v1/namespaces/diff/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"}, "immutable": true, "data": {"a": "b"}}),
        ),
        post(
            "/api/v1/namespaces/diff/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
        ),
    ] {
        let o = send(client, &c).await;
        assert!(o.code == 200, "setup {}: {o:?}", c.path);
    }
    // Wait for the CRD to be served.
    for _ in 0..200 {
        let o = send(
            client,
            &case(
                "probe",
                "GET",
                "/apis/test.ferry.io/v1/namespaces/diff/gadgets",
                Value::Null,
                Compare::Code,
            ),
        )
        .await;
        if o.code == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the CRD was not served in time");
}

fn cases() -> Vec<Case> {
    let cms = "/api/v1/namespaces/diff/configmaps";
    let gadgets = "/apis/test.ferry.io/v1/namespaces/diff/gadgets";
    let mut bad_name = cm("Bad_Name");
    bad_name["metadata"]["labels"] = json!({"ok": "not ok!"});
    let mut wrong_version = cm("x");
    wrong_version["apiVersion"] = json!("apps/v1");
    let mut with_rv = cm("rv");
    with_rv["metadata"]["resourceVersion"] = json!("1");
    let mut other_ns = cm("nsx");
    other_ns["metadata"]["namespace"] = json!("elsewhere");
    let mut stale = cm("existing");
    stale["metadata"]["resourceVersion"] = json!("1");
    let gadget = |spec: Value| json!({"apiVersion": "test.ferry.io/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": spec});
    vec![
        case(
            "get missing",
            "GET",
            format!("{cms}/nope"),
            Value::Null,
            Compare::Exact,
        ),
        case("bad name and label", "POST", cms, bad_name, Compare::Exact),
        case(
            "wrong apiVersion",
            "POST",
            cms,
            wrong_version,
            Compare::Exact,
        ),
        case(
            "resourceVersion on create",
            "POST",
            cms,
            with_rv,
            Compare::Exact,
        ),
        case(
            "unknown version",
            "POST",
            cms,
            {
                let mut c = cm("x");
                c["apiVersion"] = json!("v2");
                c
            },
            Compare::Exact,
        ),
        case(
            "wrong kind",
            "POST",
            cms,
            {
                let mut c = cm("x");
                c["kind"] = json!("Secret");
                c
            },
            Compare::Code,
        ),
        case(
            "unknown kind",
            "POST",
            cms,
            {
                let mut c = cm("x");
                c["kind"] = json!("Gizmo");
                c
            },
            Compare::Exact,
        ),
        case(
            "custom resource wrong version",
            "POST",
            gadgets,
            json!({"apiVersion": "test.ferry.io/v9", "kind": "Gadget", "metadata": {"name": "v"}, "spec": {"size": 1}}),
            Compare::Exact,
        ),
        case(
            "custom resource wrong kind",
            "POST",
            gadgets,
            json!({"apiVersion": "test.ferry.io/v1", "kind": "Widget", "metadata": {"name": "v"}, "spec": {"size": 1}}),
            Compare::Exact,
        ),
        case("namespace mismatch", "POST", cms, other_ns, Compare::Exact),
        case(
            "missing namespace",
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            cm("x"),
            Compare::Exact,
        ),
        case(
            "already exists",
            "POST",
            cms,
            cm("existing"),
            Compare::Exact,
        ),
        case(
            "stale update",
            "PUT",
            format!("{cms}/existing"),
            stale,
            Compare::Exact,
        ),
        case(
            "name mismatch on update",
            "PUT",
            format!("{cms}/other"),
            cm("existing"),
            Compare::Exact,
        ),
        case(
            "update of a missing object",
            "PUT",
            format!("{cms}/nope"),
            cm("nope"),
            Compare::Exact,
        ),
        raw(
            "malformed JSON",
            "POST",
            cms,
            "application/json",
            b"{\"a\":",
            Compare::Code,
        ),
        raw(
            "unsupported media type",
            "POST",
            cms,
            "text/plain",
            b"x",
            Compare::Code,
        ),
        raw(
            "malformed merge patch",
            "PATCH",
            format!("{cms}/existing"),
            "application/merge-patch+json",
            b"{{",
            Compare::Code,
        ),
        raw(
            "failed JSON patch test",
            "PATCH",
            format!("{cms}/existing"),
            "application/json-patch+json",
            br#"[{"op":"test","path":"/data/a","value":"z"}]"#,
            Compare::Exact,
        ),
        raw(
            "strategic patch on a custom resource",
            "PATCH",
            format!("{gadgets}/g"),
            "application/strategic-merge-patch+json",
            b"{}",
            Compare::Exact,
        ),
        raw(
            "apply without a field manager",
            "PATCH",
            format!("{cms}/existing"),
            "application/apply-patch+yaml",
            b"{}",
            Compare::Exact,
        ),
        case(
            "bad propagation policy",
            "DELETE",
            format!("{cms}/existing?propagationPolicy=Sideways"),
            Value::Null,
            Compare::Exact,
        ),
        case(
            "bad label selector",
            "GET",
            format!("{cms}?labelSelector=a%20in%20x"),
            Value::Null,
            Compare::Code,
        ),
        case(
            "unknown field selector",
            "GET",
            format!("{cms}?fieldSelector=data.a%3Db"),
            Value::Null,
            Compare::Exact,
        ),
        case(
            "pod field selector",
            "GET",
            "/api/v1/namespaces/diff/pods?fieldSelector=spec.bogus%3D1",
            Value::Null,
            Compare::Exact,
        ),
        case(
            "match without version",
            "GET",
            format!("{cms}?resourceVersionMatch=Exact"),
            Value::Null,
            Compare::Exact,
        ),
        case(
            "match on a watch",
            "GET",
            format!("{cms}?watch=true&resourceVersionMatch=NotOlderThan"),
            Value::Null,
            Compare::Exact,
        ),
        case(
            "bad limit",
            "GET",
            format!("{cms}?limit=abc"),
            Value::Null,
            Compare::Code,
        ),
        case(
            "unknown resource",
            "GET",
            "/api/v1/foos",
            Value::Null,
            Compare::Exact,
        ),
        case(
            "unknown group",
            "GET",
            "/apis/nope.example.com/v1/things",
            Value::Null,
            Compare::Exact,
        ),
        case(
            "namespaces deletecollection",
            "DELETE",
            "/api/v1/namespaces",
            Value::Null,
            Compare::Code,
        ),
        case(
            "log of two containers",
            "GET",
            "/api/v1/namespaces/diff/pods/two/log",
            Value::Null,
            Compare::Exact,
        ),
        case(
            "log of an unknown container",
            "GET",
            "/api/v1/namespaces/diff/pods/two/log?container=c",
            Value::Null,
            Compare::Exact,
        ),
        case(
            "log of a missing pod",
            "GET",
            "/api/v1/namespaces/diff/pods/nope/log",
            Value::Null,
            Compare::Exact,
        ),
        case(
            "schema: maximum and enum",
            "POST",
            gadgets,
            gadget(json!({"size": 11, "mode": "warp"})),
            Compare::Contains(&[
                "Gadget.test.ferry.io \"g\" is invalid: [",
                "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
                "spec.mode: Unsupported value: \"warp\": supported values: \"fast\", \"slow\"",
            ]),
        ),
        case(
            "schema: required",
            "POST",
            gadgets,
            gadget(json!({})),
            Compare::Exact,
        ),
        case(
            "schema: pattern and length",
            "POST",
            gadgets,
            gadget(json!({"size": 1, "name": "ABCDEFG"})),
            Compare::Exact,
        ),
        case(
            "schema: type",
            "POST",
            gadgets,
            gadget(json!({"size": "big"})),
            Compare::Exact,
        ),
        case(
            "schema: unknown field, strict",
            "POST",
            format!("{gadgets}?fieldValidation=Strict"),
            gadget(json!({"size": 1, "bogus": 1})),
            Compare::Exact,
        ),
        case(
            "custom resource missing kind",
            "POST",
            gadgets,
            json!({"apiVersion": "test.ferry.io/v1", "metadata": {"name": "k"}}),
            Compare::Code,
        ),
        case(
            "CRD name mismatch",
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            {
                let mut c: Value = serde_json::from_str(CRD).unwrap();
                c["metadata"]["name"] = json!("wrong.test.ferry.io");
                c
            },
            Compare::Exact,
        ),
        case(
            "secret type change",
            "PUT",
            "/api/v1/namespaces/diff/secrets/s",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
            Compare::Exact,
        ),
        case(
            "immutable configmap",
            "PUT",
            format!("{cms}/frozen"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"}, "immutable": true, "data": {"a": "c"}}),
            Compare::Exact,
        ),
        case(
            "pod spec change",
            "PUT",
            "/api/v1/namespaces/diff/pods/two",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
                "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "c", "image": "x"}]}}),
            Compare::Prefix,
        ),
        case(
            "service without ports",
            "POST",
            "/api/v1/namespaces/diff/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "noports"}, "spec": {}}),
            Compare::Exact,
        ),
        case(
            "job without restart policy",
            "POST",
            "/apis/batch/v1/namespaces/diff/jobs",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
            Compare::Exact,
        ),
        raw(
            "oversized body",
            "POST",
            cms,
            "application/json",
            &vec![b' '; 4 << 20],
            Compare::Exact,
        ),
    ]
}

#[tokio::test]
async fn the_embedded_server_answers_like_kube_apiserver() {
    let plane = ferry_realkube::ControlPlane::builder()
        .start()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot start the real kube-apiserver ({e}); run scripts/test, which builds it")
        });
    let real = plane.client().unwrap();
    let server = ApiServer::builder().in_memory().start().await.unwrap();
    let ours = server.client().unwrap();
    setup(&real).await;
    setup(&ours).await;
    let mut diffs = Vec::new();
    for c in cases() {
        let a = send(&real, &c).await;
        let b = send(&ours, &c).await;
        let same = match c.compare {
            Compare::Exact => a.code == b.code && a.reason == b.reason && a.message == b.message,
            Compare::Code => a.code == b.code && a.reason == b.reason,
            Compare::Prefix => {
                a.code == b.code && a.reason == b.reason && a.message.starts_with(&b.message)
            }
            Compare::Contains(fragments) => {
                a.code == b.code
                    && a.reason == b.reason
                    && fragments
                        .iter()
                        .all(|f| a.message.contains(f) && b.message.contains(f))
            }
        };
        if !same {
            diffs.push(format!(
                "{}:\n  real: {} {} {:?}\n  ours: {} {} {:?}",
                c.name, a.code, a.reason, a.message, b.code, b.reason, b.message
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Removes what legitimately differs between two servers: identities, times,
/// allocated addresses.
fn normalize(mut v: Value) -> Value {
    fn walk(v: &mut Value, uid: &str) {
        match v {
            Value::Object(m) => {
                for k in [
                    "uid",
                    "creationTimestamp",
                    "resourceVersion",
                    "time",
                    "clusterIP",
                    "clusterIPs",
                    "lastTransitionTime",
                    "deletionTimestamp",
                ] {
                    m.remove(k);
                }
                for (_, x) in m.iter_mut() {
                    walk(x, uid);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, uid)),
            Value::String(s) if !uid.is_empty() && s.contains(uid) => *s = s.replace(uid, "UID"),
            _ => {}
        }
    }
    let uid = v
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    walk(&mut v, &uid);
    v
}

async fn create(client: &Client, path: &str, body: &Value) -> Value {
    let req = http::Request::post(path)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap();
    let text = client
        .request_text(req)
        .await
        .unwrap_or_else(|e| panic!("create {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn created_objects_are_defaulted_like_kube_apiserver_does() {
    let plane = ferry_realkube::ControlPlane::builder()
        .start()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot start the real kube-apiserver ({e}); run scripts/test, which builds it")
        });
    let real = plane.client().unwrap();
    let server = ApiServer::builder().in_memory().start().await.unwrap();
    let ours = server.client().unwrap();
    let ns = "/api/v1/namespaces/default";
    let objects = vec![
        (
            format!("{ns}/configmaps"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"k": "v"}}),
        ),
        (
            format!("{ns}/secrets"),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"user": "me"}}),
        ),
        (
            format!("{ns}/services"),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https", "targetPort": "https"}]}}),
        ),
        (
            format!("{ns}/pods"),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"serviceAccountName": "default", "containers": [{"name": "c", "image": "busybox:1.36", "ports": [{"containerPort": 80}]}]}}),
        ),
        (
            format!("{ns}/persistentvolumeclaims"),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pvc"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        (
            "/api/v1/persistentvolumes".to_string(),
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/pv"}}}),
        ),
        (
            format!("{ns}/serviceaccounts"),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
        ),
        (
            "/apis/batch/v1/namespaces/default/jobs".to_string(),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses".to_string(),
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "sc"}, "provisioner": "example.com/nfs"}),
        ),
        (
            "/apis/coordination.k8s.io/v1/namespaces/default/leases".to_string(),
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}),
        ),
        (
            format!("{ns}/events"),
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Test", "message": "hello", "type": "Normal", "source": {"component": "test"}}),
        ),
        (
            "/apis/events.k8s.io/v1/namespaces/default/events".to_string(),
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2"}, "eventTime": "2025-01-01T00:00:00.000000Z", "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Test", "note": "hi", "type": "Normal", "action": "Testing", "reportingController": "test", "reportingInstance": "test-1"}),
        ),
        (
            "/api/v1/namespaces".to_string(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "made"}}),
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions".to_string(),
            serde_json::from_str(CRD).unwrap(),
        ),
    ];
    let mut diffs = Vec::new();
    for (path, body) in &objects {
        let a = normalize(create(&real, path, body).await);
        let b = normalize(create(&ours, path, body).await);
        if a != b {
            diffs.push(format!("{path}:\n  real: {a}\n  ours: {b}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
