//! Single requests, most of them wrong: bad names and labels, wrong apiVersion or
//! kind, namespace mismatches, conflicts, malformed bodies and patches, unsupported
//! media types, bad query parameters, unknown resources, logs, schema violations,
//! immutable fields, an oversized body. Each is one step; the objects they need are
//! set up first.

use crate::harness::Session;
use http::Method;
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
}

fn case(name: &'static str, method: &'static str, path: impl Into<String>, body: Value) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        content_type: "application/json",
        body: if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).expect("json")
        },
    }
}

fn raw(
    name: &'static str,
    method: &'static str,
    path: impl Into<String>,
    content_type: &'static str,
    body: &[u8],
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        content_type,
        body: body.to_vec(),
    }
}

/// The step name of a case: its name in kebab case.
fn slug(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

pub async fn scenario(s: &mut Session) {
    setup(s).await;
    for c in cases() {
        let method = Method::from_bytes(c.method.as_bytes()).expect("method");
        s.call(method, c.path)
            .raw(c.content_type, &c.body)
            .send(&slug(c.name))
            .await;
    }
}

/// Objects the cases need.
async fn setup(s: &mut Session) {
    s.namespace("diff").await;
    for (path, body) in [
        ("/api/v1/namespaces/diff/configmaps", cm("existing")),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            serde_json::from_str(CRD).expect("CRD"),
        ),
        (
            "/api/v1/namespaces/diff/pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
                "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]}}),
        ),
        (
            "/api/v1/namespaces/diff/secrets",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}),
        ),
        (
            "/api/v1/namespaces/diff/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"}, "immutable": true, "data": {"a": "b"}}),
        ),
        (
            "/api/v1/namespaces/diff/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
        ),
    ] {
        s.must_create(path, &body).await;
    }
    s.until(
        "",
        "/apis/test.ferry.io/v1/namespaces/diff/gadgets",
        "the CRD to be served",
        |r| r.code == 200,
    )
    .await;
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
        case("get missing", "GET", format!("{cms}/nope"), Value::Null),
        case("bad name and label", "POST", cms, bad_name),
        case("wrong apiVersion", "POST", cms, wrong_version),
        case("resourceVersion on create", "POST", cms, with_rv),
        case("unknown version", "POST", cms, {
            let mut c = cm("x");
            c["apiVersion"] = json!("v2");
            c
        }),
        case("wrong kind", "POST", cms, {
            let mut c = cm("x");
            c["kind"] = json!("Secret");
            c
        }),
        case("unknown kind", "POST", cms, {
            let mut c = cm("x");
            c["kind"] = json!("Gizmo");
            c
        }),
        case(
            "custom resource wrong version",
            "POST",
            gadgets,
            json!({"apiVersion": "test.ferry.io/v9", "kind": "Gadget", "metadata": {"name": "v"}, "spec": {"size": 1}}),
        ),
        case(
            "custom resource wrong kind",
            "POST",
            gadgets,
            json!({"apiVersion": "test.ferry.io/v1", "kind": "Widget", "metadata": {"name": "v"}, "spec": {"size": 1}}),
        ),
        case("namespace mismatch", "POST", cms, other_ns),
        case(
            "missing namespace",
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            cm("x"),
        ),
        case("already exists", "POST", cms, cm("existing")),
        case("stale update", "PUT", format!("{cms}/existing"), stale),
        case(
            "name mismatch on update",
            "PUT",
            format!("{cms}/other"),
            cm("existing"),
        ),
        case(
            "update of a missing object",
            "PUT",
            format!("{cms}/nope"),
            cm("nope"),
        ),
        raw(
            "malformed JSON",
            "POST",
            cms,
            "application/json",
            b"{\"a\":",
        ),
        raw("unsupported media type", "POST", cms, "text/plain", b"x"),
        raw(
            "malformed merge patch",
            "PATCH",
            format!("{cms}/existing"),
            "application/merge-patch+json",
            b"{{",
        ),
        raw(
            "failed JSON patch test",
            "PATCH",
            format!("{cms}/existing"),
            "application/json-patch+json",
            br#"[{"op":"test","path":"/data/a","value":"z"}]"#,
        ),
        raw(
            "strategic patch on a custom resource",
            "PATCH",
            format!("{gadgets}/g"),
            "application/strategic-merge-patch+json",
            b"{}",
        ),
        raw(
            "apply without a field manager",
            "PATCH",
            format!("{cms}/existing"),
            "application/apply-patch+yaml",
            b"{}",
        ),
        case(
            "bad propagation policy",
            "DELETE",
            format!("{cms}/existing?propagationPolicy=Sideways"),
            Value::Null,
        ),
        case(
            "bad label selector",
            "GET",
            format!("{cms}?labelSelector=a%20in%20x"),
            Value::Null,
        ),
        case(
            "unknown field selector",
            "GET",
            format!("{cms}?fieldSelector=data.a%3Db"),
            Value::Null,
        ),
        case(
            "pod field selector",
            "GET",
            "/api/v1/namespaces/diff/pods?fieldSelector=spec.bogus%3D1",
            Value::Null,
        ),
        case(
            "match without version",
            "GET",
            format!("{cms}?resourceVersionMatch=Exact"),
            Value::Null,
        ),
        case(
            "match on a watch",
            "GET",
            format!("{cms}?watch=true&resourceVersionMatch=NotOlderThan"),
            Value::Null,
        ),
        case("bad limit", "GET", format!("{cms}?limit=abc"), Value::Null),
        case("unknown resource", "GET", "/api/v1/foos", Value::Null),
        case(
            "unknown group",
            "GET",
            "/apis/nope.example.com/v1/things",
            Value::Null,
        ),
        case(
            "namespaces deletecollection",
            "DELETE",
            "/api/v1/namespaces",
            Value::Null,
        ),
        case(
            "log of two containers",
            "GET",
            "/api/v1/namespaces/diff/pods/two/log",
            Value::Null,
        ),
        case(
            "log of an unknown container",
            "GET",
            "/api/v1/namespaces/diff/pods/two/log?container=c",
            Value::Null,
        ),
        case(
            "log of a missing pod",
            "GET",
            "/api/v1/namespaces/diff/pods/nope/log",
            Value::Null,
        ),
        case(
            "schema: maximum and enum",
            "POST",
            gadgets,
            gadget(json!({"size": 11, "mode": "warp"})),
        ),
        case("schema: required", "POST", gadgets, gadget(json!({}))),
        case(
            "schema: pattern and length",
            "POST",
            gadgets,
            gadget(json!({"size": 1, "name": "ABCDEFG"})),
        ),
        case(
            "schema: type",
            "POST",
            gadgets,
            gadget(json!({"size": "big"})),
        ),
        case(
            "schema: unknown field, strict",
            "POST",
            format!("{gadgets}?fieldValidation=Strict"),
            gadget(json!({"size": 1, "bogus": 1})),
        ),
        case(
            "custom resource missing kind",
            "POST",
            gadgets,
            json!({"apiVersion": "test.ferry.io/v1", "metadata": {"name": "k"}}),
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
        ),
        case(
            "secret type change",
            "PUT",
            "/api/v1/namespaces/diff/secrets/s",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
        ),
        case(
            "immutable configmap",
            "PUT",
            format!("{cms}/frozen"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"}, "immutable": true, "data": {"a": "c"}}),
        ),
        case(
            "pod spec change",
            "PUT",
            "/api/v1/namespaces/diff/pods/two",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
                "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "c", "image": "x"}]}}),
        ),
        case(
            "service without ports",
            "POST",
            "/api/v1/namespaces/diff/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "noports"}, "spec": {}}),
        ),
        case(
            "job without restart policy",
            "POST",
            "/apis/batch/v1/namespaces/diff/jobs",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
        ),
        raw(
            "oversized body",
            "POST",
            cms,
            "application/json",
            &vec![b' '; 4 << 20],
        ),
    ]
}
