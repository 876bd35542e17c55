//! Server-side apply with several field managers: create by apply, conflicts (409
//! with a cause per field), shared ownership of equal values, `force`, fields
//! released by leaving a manager's configuration, an Update manager taking fields
//! over, apply on a custom resource, and bad apply requests. managedFields are
//! compared whole (timestamps aside).

use crate::harness::{APPLY, MERGE, Session};
use serde_json::{Value, json};

const NS: &str = "d-apply";

fn config(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "namespace": NS}, "data": data})
}

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let shared = format!("/api/v1/namespaces/{NS}/configmaps/shared");
    let apply = |manager: &str, force: bool| {
        let force = if force { "&force=true" } else { "" };
        format!("{shared}?fieldManager={manager}{force}")
    };

    s.patch(
        "alice-creates",
        apply("alice", false),
        APPLY,
        &config(json!({"a": "1", "b": "2"})),
    )
    .await;
    s.patch(
        "alice-again-no-change",
        apply("alice", false),
        APPLY,
        &config(json!({"a": "1", "b": "2"})),
    )
    .await;
    s.patch(
        "bob-conflicts",
        apply("bob", false),
        APPLY,
        &config(json!({"a": "x", "b": "y", "c": "3"})),
    )
    .await;
    s.patch(
        "bob-shares-an-equal-value",
        apply("bob", false),
        APPLY,
        &config(json!({"a": "1", "c": "3"})),
    )
    .await;
    s.patch(
        "bob-forces",
        apply("bob", true),
        APPLY,
        &config(json!({"a": "1", "b": "bob", "c": "3"})),
    )
    .await;
    s.patch(
        "alice-drops-b",
        apply("alice", false),
        APPLY,
        &config(json!({"a": "1"})),
    )
    .await;
    s.patch(
        "bob-releases-everything",
        apply("bob", false),
        APPLY,
        &config(json!({})),
    )
    .await;
    // An Update (merge patch) by a third manager takes `a` over without conflict;
    // alice applying her old value then conflicts with it.
    s.patch(
        "carol-updates",
        format!("{shared}?fieldManager=carol"),
        MERGE,
        &json!({"data": {"a": "carol"}}),
    )
    .await;
    s.patch(
        "alice-conflicts-with-an-updater",
        apply("alice", false),
        APPLY,
        &config(json!({"a": "1"})),
    )
    .await;
    s.patch(
        "alice-forces-back",
        apply("alice", true),
        APPLY,
        &config(json!({"a": "1", "labels-free": "yes"})),
    )
    .await;

    // Labels and annotations are owned per key too.
    let labelled = |labels: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "labels": labels}});
    s.patch(
        "dave-applies-labels",
        apply("dave", false),
        APPLY,
        &labelled(json!({"team": "d", "tier": "1"})),
    )
    .await;
    s.patch(
        "erin-conflicts-on-a-label",
        apply("erin", false),
        APPLY,
        &labelled(json!({"team": "e"})),
    )
    .await;
    s.get("final", &shared).await;

    // Bad apply requests.
    s.patch(
        "apply-without-manager",
        &shared,
        APPLY,
        &config(json!({"a": "1"})),
    )
    .await;
    s.call(http::Method::PATCH, apply("alice", false))
        .raw(
            APPLY,
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared\n",
        )
        .send("apply-malformed-yaml")
        .await;
    s.call(http::Method::PATCH, apply("alice", false))
        .raw(
            APPLY,
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  a: \"1\"\n",
        )
        .send("apply-yaml")
        .await;
    s.patch(
        "apply-wrong-name",
        apply("alice", false),
        APPLY,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}}),
    )
    .await;
    s.patch(
        "apply-wrong-kind",
        apply("alice", false),
        APPLY,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shared"}}),
    )
    .await;
    s.patch(
        "apply-without-kind",
        apply("alice", false),
        APPLY,
        &json!({"apiVersion": "v1", "metadata": {"name": "shared"}}),
    )
    .await;
    s.patch(
        "apply-with-force-on-update",
        format!("{shared}?fieldManager=x&force=true"),
        MERGE,
        &json!({}),
    )
    .await;
    s.patch(
        "apply-long-manager",
        apply(&"m".repeat(200), false),
        APPLY,
        &config(json!({"a": "1"})),
    )
    .await;
    s.patch(
        "apply-stale-resource-version",
        apply("alice", false),
        APPLY,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "resourceVersion": "1"}, "data": {"a": "1"}}),
    )
    .await;
    s.patch(
        "apply-invalid-value",
        apply("alice", false),
        APPLY,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "labels": {"bad key": "x"}}}),
    )
    .await;

    // A pod: containers are a map keyed by name for apply as for strategic merge.
    let pod = |image: &str, env: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": image, "env": env}]}})
    };
    let pod_path = |manager: &str| format!("/api/v1/namespaces/{NS}/pods/p?fieldManager={manager}");
    s.patch(
        "pod-applied",
        pod_path("alice"),
        APPLY,
        &pod("busybox:1", json!([{"name": "A", "value": "1"}])),
    )
    .await;
    s.patch(
        "pod-image-conflict",
        pod_path("bob"),
        APPLY,
        &pod("busybox:2", json!([{"name": "A", "value": "1"}])),
    )
    .await;

    // A custom resource, through a CRD with a list-map.
    s.must_create(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &json!({
          "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
          "metadata": {"name": "tools.apply.diff.ferry.io"},
          "spec": {"group": "apply.diff.ferry.io", "scope": "Namespaced",
            "names": {"plural": "tools", "singular": "tool", "kind": "Tool"},
            "versions": [{"name": "v1", "served": true, "storage": true,
              "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                  "size": {"type": "integer"},
                  "parts": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "count": {"type": "integer"}}}},
                  "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}}}}}]}
        }),
    )
    .await;
    let tools = format!("/apis/apply.diff.ferry.io/v1/namespaces/{NS}/tools");
    s.until("", &tools, "the CRD to be served", |r| r.code == 200)
        .await;
    let tool = |spec: Value| json!({"apiVersion": "apply.diff.ferry.io/v1", "kind": "Tool", "metadata": {"name": "t"}, "spec": spec});
    s.patch(
        "custom-resource-applied",
        format!("{tools}/t?fieldManager=alice"),
        APPLY,
        &tool(json!({"size": 1, "parts": [{"name": "x", "count": 1}], "tags": ["a"]})),
    )
    .await;
    s.patch(
        "custom-resource-second-manager",
        format!("{tools}/t?fieldManager=bob"),
        APPLY,
        &tool(json!({"parts": [{"name": "y", "count": 2}], "tags": ["b"]})),
    )
    .await;
    s.patch(
        "custom-resource-conflict",
        format!("{tools}/t?fieldManager=bob"),
        APPLY,
        &tool(json!({"size": 2, "parts": [{"name": "x", "count": 5}]})),
    )
    .await;
}
