//! Nodes and scheduling: a Node created with its status (admission's not-ready
//! taint, allocatable defaulted from capacity), its status subresource, printer
//! and field selectors; a pod's node set through `pods/binding` (the PodScheduled
//! condition, annotations copied, a second binding refused, bad bindings) and
//! never by an update.

use crate::harness::Session;
use http::Method;
use serde_json::{Value, json};

const NS: &str = "d-scheduling";
const NODE: &str = "d-scheduling-node";
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

fn node() -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE, "labels": {"node-role.kubernetes.io/worker": "", "kubernetes.io/hostname": NODE}},
        "spec": {"taints": [{"key": "dedicated", "value": "migrations", "effect": "PreferNoSchedule"}]},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": NODE}],
            "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian", "operatingSystem": "linux", "architecture": "amd64"}}})
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

fn binding(pod: &str, kind: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod},
        "target": {"apiVersion": "v1", "kind": kind, "name": node}})
}

pub async fn scenario(s: &mut Session) {
    nodes(s).await;
    bindings(s).await;
}

async fn nodes(s: &mut Session) {
    let node_path = format!("/api/v1/nodes/{NODE}");
    s.post("create-node", "/api/v1/nodes", &node()).await;
    s.get("get-node", &node_path).await;
    let selected = format!("/api/v1/nodes?fieldSelector=metadata.name%3D{NODE}");
    s.call(Method::GET, &selected)
        .accept(TABLE)
        .send("node-table")
        .await;
    s.get(
        "node-field-selector",
        format!("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse,metadata.name%3D{NODE}"),
    )
    .await;
    s.get(
        "node-unknown-field-selector",
        "/api/v1/nodes?fieldSelector=spec.podCIDR%3Dx",
    )
    .await;
    // The main endpoint ignores status; /status takes only status.
    let mut changed = s.get("", &node_path).await.body;
    changed["spec"]["unschedulable"] = json!(true);
    changed["status"]["conditions"][0]["status"] = json!("False");
    s.put("update-node-keeps-status", &node_path, &changed)
        .await;
    let mut status = s.get("", &node_path).await.body;
    status["status"]["conditions"][0]["status"] = json!("False");
    status["status"]["conditions"][0]["reason"] = json!("KubeletNotReady");
    status["spec"]["unschedulable"] = json!(false);
    s.put("update-node-status", format!("{node_path}/status"), &status)
        .await;
    s.call(Method::GET, &selected)
        .accept(TABLE)
        .send("node-table-not-ready")
        .await;
    s.post(
        "node-invalid-taint",
        "/api/v1/nodes",
        &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "d-scheduling-bad"},
            "spec": {"taints": [{"key": "a", "effect": "Sometimes"}, {"key": "", "effect": "NoSchedule"}]}}),
    )
    .await;
    s.post(
        "node-namespaced-path",
        format!("/api/v1/namespaces/{NS}/nodes"),
        &node(),
    )
    .await;
}

async fn bindings(s: &mut Session) {
    s.namespace(NS).await;
    let pods = format!("/api/v1/namespaces/{NS}/pods");
    for p in ["p", "gated", "annotated"] {
        let mut body = pod(p);
        if p == "gated" {
            body["spec"]["schedulingGates"] = json!([{"name": "example.com/wait"}]);
        }
        s.must_create(&pods, &body).await;
    }
    let p = format!("{pods}/p");
    // An update may not set the node: only a binding does.
    let mut set = s.get("", &p).await.body;
    set["spec"]["nodeName"] = json!(NODE);
    s.put("update-sets-node-name", &p, &set).await;
    s.patch(
        "patch-sets-node-name",
        &p,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"nodeName": NODE}}),
    )
    .await;
    s.post(
        "binding-name-mismatch",
        format!("{p}/binding"),
        &binding("other", "Node", NODE),
    )
    .await;
    s.post(
        "binding-wrong-target-kind",
        format!("{p}/binding"),
        &binding("p", "Pod", NODE),
    )
    .await;
    s.post(
        "binding-without-target-name",
        format!("{p}/binding"),
        &binding("p", "Node", ""),
    )
    .await;
    s.post(
        "binding-of-missing-pod",
        format!("{pods}/missing/binding"),
        &binding("missing", "Node", NODE),
    )
    .await;
    s.post(
        "binding-wrong-kind",
        format!("{p}/binding"),
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
    )
    .await;
    s.post(
        "binding-of-gated-pod",
        format!("{pods}/gated/binding"),
        &binding("gated", "Node", NODE),
    )
    .await;
    s.get("get-binding", format!("{p}/binding")).await;
    let mut stale = binding("p", "Node", NODE);
    stale["metadata"]["uid"] = json!("6b1f0f8e-0000-4000-8000-000000000000");
    s.post("binding-uid-precondition", format!("{p}/binding"), &stale)
        .await;
    s.post(
        "binding",
        format!("{p}/binding"),
        &binding("p", "Node", NODE),
    )
    .await;
    s.get("bound-pod", &p).await;
    s.post(
        "binding-again",
        format!("{p}/binding"),
        &binding("p", "Node", "elsewhere"),
    )
    .await;
    // Once bound, the node may not change by update either.
    let mut moved = s.get("", &p).await.body;
    moved["spec"]["nodeName"] = json!("elsewhere");
    s.put("update-moves-node", &p, &moved).await;
    let mut annotated = binding("annotated", "", NODE);
    annotated["metadata"]["annotations"] = json!({"example.com/bound-by": "test"});
    s.post(
        "binding-with-annotations-and-no-kind",
        format!("{pods}/annotated/binding"),
        &annotated,
    )
    .await;
    s.get("annotated-pod", format!("{pods}/annotated")).await;
    s.call(
        Method::GET,
        format!("{pods}?fieldSelector=spec.nodeName%3D{NODE}"),
    )
    .send("pods-on-node")
    .await;
}
