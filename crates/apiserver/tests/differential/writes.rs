//! Writes: create (explicit and generated names, dry run), update with optimistic
//! concurrency, and each patch flavour: JSON merge patch, JSON patch, strategic merge
//! patch on built-in kinds (list merge keys, directives), and the errors of each.

use crate::harness::{JSON_PATCH, MERGE, STRATEGIC, Session};
use serde_json::json;

const NS: &str = "d-writes";

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    let cm = |name: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "w"}, "annotations": {"note": "first"}},
            "data": {"k": "v"}})
    };

    // Create.
    let created = s.post("create", &cms, &cm("a")).await;
    s.post("create-again", &cms, &cm("a")).await;
    s.post(
        "create-generated",
        &cms,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
    )
    .await;
    s.post(
        "create-generated-invalid-prefix",
        &cms,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "Gen_"}}),
    )
    .await;
    s.post(
        "create-without-name",
        &cms,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
    )
    .await;
    s.post("create-dry-run", format!("{cms}?dryRun=All"), &cm("dry"))
        .await;
    s.get("dry-run-left-nothing", format!("{cms}/dry")).await;
    s.post(
        "create-bad-dry-run",
        format!("{cms}?dryRun=Some"),
        &cm("dry"),
    )
    .await;
    s.post(
        "create-with-field-manager",
        format!("{cms}?fieldManager=creator"),
        &cm("managed"),
    )
    .await;

    // Update: with the current resourceVersion, then with the same (now stale) one.
    let a = format!("{cms}/a");
    let mut changed = created.body.clone();
    changed["data"]["k"] = json!("w");
    s.put("update", &a, &changed).await;
    changed["data"]["k"] = json!("x");
    s.put("update-stale", &a, &changed).await;
    let mut unconditional = changed.clone();
    unconditional["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("resourceVersion");
    s.put("update-unconditional", &a, &unconditional).await;
    let mut renamed = unconditional.clone();
    renamed["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000000");
    s.put("update-with-wrong-uid", &a, &renamed).await;
    s.put("update-missing", format!("{cms}/missing"), &cm("missing"))
        .await;
    s.put("update-via-collection", &cms, &cm("a")).await;
    s.call(http::Method::POST, &a)
        .json(&cm("a"))
        .send("post-to-an-object")
        .await;

    // JSON merge patch.
    s.patch(
        "merge-patch",
        &a,
        MERGE,
        &json!({"data": {"k2": "v2", "k": null}, "metadata": {"labels": {"tier": "one"}, "annotations": null}}),
    )
    .await;
    s.patch(
        "merge-patch-stale",
        &a,
        MERGE,
        &json!({"metadata": {"resourceVersion": "1"}, "data": {"k3": "v3"}}),
    )
    .await;
    s.patch(
        "merge-patch-missing",
        format!("{cms}/missing"),
        MERGE,
        &json!({"data": {}}),
    )
    .await;
    s.patch(
        "merge-patch-rename",
        &a,
        MERGE,
        &json!({"metadata": {"name": "b"}}),
    )
    .await;
    s.patch("merge-patch-array", &a, MERGE, &json!([1, 2]))
        .await;
    s.patch(
        "merge-patch-wrong-type",
        &a,
        MERGE,
        &json!({"data": "text"}),
    )
    .await;

    // JSON patch.
    s.patch(
        "json-patch",
        &a,
        JSON_PATCH,
        &json!([{"op": "add", "path": "/data/k3", "value": "v3"},
                {"op": "remove", "path": "/data/k2"},
                {"op": "replace", "path": "/metadata/labels/app", "value": "w2"},
                {"op": "copy", "from": "/data/k3", "path": "/data/k4"},
                {"op": "move", "from": "/data/k4", "path": "/data/k5"},
                {"op": "test", "path": "/data/k5", "value": "v3"}]),
    )
    .await;
    s.patch(
        "json-patch-remove-missing",
        &a,
        JSON_PATCH,
        &json!([{"op": "remove", "path": "/data/nope"}]),
    )
    .await;
    s.patch(
        "json-patch-bad-op",
        &a,
        JSON_PATCH,
        &json!([{"op": "frobnicate", "path": "/data/k"}]),
    )
    .await;
    s.patch(
        "json-patch-not-a-list",
        &a,
        JSON_PATCH,
        &json!({"op": "add"}),
    )
    .await;
    s.patch(
        "json-patch-invalid-result",
        &a,
        JSON_PATCH,
        &json!([{"op": "add", "path": "/metadata/labels/bad key", "value": "x"}]),
    )
    .await;

    // Strategic merge patch on a ConfigMap (maps) and a Service (ports merge on
    // `port`), with the `$patch` and `$retainKeys` directives.
    s.patch(
        "strategic-patch-map",
        &a,
        STRATEGIC,
        &json!({"data": {"k": "back", "k3": null}}),
    )
    .await;
    let services = format!("/api/v1/namespaces/{NS}/services");
    s.post(
        "service",
        &services,
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}, {"name": "metrics", "port": 9090}]}}),
    )
    .await;
    let web = format!("{services}/web");
    s.patch(
        "strategic-patch-merges-list-by-key",
        &web,
        STRATEGIC,
        &json!({"spec": {"ports": [{"name": "https", "port": 443}, {"port": 80, "targetPort": 8080}]}}),
    )
    .await;
    s.patch(
        "strategic-patch-delete-directive",
        &web,
        STRATEGIC,
        &json!({"spec": {"ports": [{"port": 9090, "$patch": "delete"}]}}),
    )
    .await;
    s.patch(
        "strategic-patch-set-element-order",
        &web,
        STRATEGIC,
        &json!({"spec": {"$setElementOrder/ports": [{"port": 443}, {"port": 80}], "ports": [{"port": 443, "name": "tls"}]}}),
    )
    .await;
    s.patch(
        "strategic-patch-replace-directive",
        &web,
        STRATEGIC,
        &json!({"spec": {"selector": {"$patch": "replace", "role": "front"}}}),
    )
    .await;
    s.patch(
        "strategic-patch-unknown-directive",
        &web,
        STRATEGIC,
        &json!({"spec": {"ports": [{"port": 80, "$patch": "explode"}]}}),
    )
    .await;
    s.patch(
        "merge-patch-replaces-lists",
        &web,
        MERGE,
        &json!({"spec": {"ports": [{"name": "only", "port": 8443}]}}),
    )
    .await;

    // A pod: containers merge by name; image is one of the few mutable fields.
    let pods = format!("/api/v1/namespaces/{NS}/pods");
    s.post(
        "pod",
        &pods,
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "busybox:1", "env": [{"name": "X", "value": "1"}]},
                                    {"name": "b", "image": "busybox:1"}]}}),
    )
    .await;
    s.patch(
        "strategic-patch-pod-image",
        format!("{pods}/p"),
        STRATEGIC,
        &json!({"spec": {"containers": [{"name": "b", "image": "busybox:2"}]}}),
    )
    .await;
    s.patch(
        "strategic-patch-pod-forbidden-change",
        format!("{pods}/p"),
        STRATEGIC,
        &json!({"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}),
    )
    .await;
    s.patch(
        "merge-patch-pod-labels",
        format!("{pods}/p"),
        MERGE,
        &json!({"metadata": {"labels": {"role": "test"}}}),
    )
    .await;
    s.patch(
        "patch-pod-status",
        format!("{pods}/p/status"),
        MERGE,
        &json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
    )
    .await;
    s.patch(
        "patch-with-unknown-content-type",
        &a,
        "application/json",
        &json!({"data": {}}),
    )
    .await;
    s.get("final-configmap", &a).await;
}
