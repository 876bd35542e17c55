//! Namespaces: deletion with content held by a finalizer (Terminating, the namespace
//! controller's conditions, creates refused), completion once the finalizer goes,
//! the namespaces that cannot be deleted, invalid names.

use crate::harness::{MERGE, Session};
use serde_json::{Value, json};

const NS: &str = "d-term";

pub async fn scenario(s: &mut Session) {
    let none = Value::Null;
    s.namespace(NS).await;
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    s.must_create(
        &cms,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["diff.ferry.io/hold"]}}),
    )
    .await;
    let ns = format!("/api/v1/namespaces/{NS}");
    s.delete("delete", &ns, &none).await;
    s.post(
        "create-in-terminating",
        &cms,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}}),
    )
    .await;
    s.until("conditions", &ns, "content and finalizers reported", |r| {
        let conditions = r.body["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let holds = |t: &str| {
            conditions
                .iter()
                .any(|c| c["type"] == t && c["status"] == "True")
        };
        holds("NamespaceContentRemaining") && holds("NamespaceFinalizersRemaining")
    })
    .await;
    // Deleting it again answers with the namespace, still terminating.
    s.delete("delete-again", &ns, &none).await;
    s.until(
        "content-deleting",
        &format!("{cms}/held"),
        "deletionTimestamp",
        |r| r.body["metadata"]["deletionTimestamp"].is_string(),
    )
    .await;
    s.patch(
        "update-in-terminating",
        format!("{cms}/held"),
        MERGE,
        &json!({"data": {"a": "b"}}),
    )
    .await;
    s.patch(
        "",
        format!("{cms}/held"),
        MERGE,
        &json!({"metadata": {"finalizers": null}}),
    )
    .await;
    s.until_gone("gone", &ns).await;

    // The namespaces every cluster keeps.
    for name in ["default", "kube-system", "kube-public"] {
        s.delete(
            &format!("delete-{name}"),
            format!("/api/v1/namespaces/{name}"),
            &json!({"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}),
        )
        .await;
    }
    s.post(
        "invalid-name",
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Not_Valid"}}),
    )
    .await;
    s.post(
        "generated-name",
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": "d-gen-"}}),
    )
    .await;
    s.post(
        "namespace-with-namespace",
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d-nsns", "namespace": "default"}}),
    )
    .await;
    s.post(
        "namespace-in-missing-namespace",
        "/api/v1/namespaces/d-nowhere/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    )
    .await;
    s.post(
        "cluster-scoped-in-namespace-path",
        "/api/v1/namespaces/default/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d-inner"}}),
    )
    .await;
}
