//! Lists: paging with `limit`/`continue` (remainingItemCount, the last page, a
//! malformed token), resourceVersion semantics (`0`, NotOlderThan, Exact, too new),
//! label selectors in every syntax, field selectors (metadata and pod fields),
//! cluster-wide lists, and the PartialObjectMetadata and Table forms.

use crate::harness::Session;
use serde_json::json;

const NS: &str = "d-lists";

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    for i in 1..=7 {
        let tier = if i % 2 == 0 { "a" } else { "b" };
        let mut labels = json!({"tier": tier, "scenario": "lists"});
        if i <= 3 {
            labels["rank"] = json!(i.to_string());
        }
        s.must_create(
            &cms,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}"), "labels": labels}, "data": {"i": i.to_string()}}),
        )
        .await;
    }

    // Paging.
    let page1 = s.get("page-1", format!("{cms}?limit=3")).await;
    let token = page1.str("/metadata/continue");
    let page2 = s
        .get("page-2", format!("{cms}?limit=3&continue={token}"))
        .await;
    let token = page2.str("/metadata/continue");
    s.get("page-3", format!("{cms}?limit=3&continue={token}"))
        .await;
    let labelled = s
        .get(
            "page-with-selector",
            format!("{cms}?limit=2&labelSelector=tier%3Da"),
        )
        .await;
    let token = labelled.str("/metadata/continue");
    s.get(
        "page-with-selector-2",
        format!("{cms}?limit=2&labelSelector=tier%3Da&continue={token}"),
    )
    .await;
    s.get("limit-zero", format!("{cms}?limit=0&labelSelector=rank"))
        .await;
    s.get(
        "limit-above-count",
        format!("{cms}?limit=500&labelSelector=rank"),
    )
    .await;
    s.get(
        "limit-negative",
        format!("{cms}?limit=-1&labelSelector=rank"),
    )
    .await;
    s.get(
        "continue-malformed",
        format!("{cms}?limit=3&continue=garbage"),
    )
    .await;
    s.get(
        "continue-with-resource-version",
        format!("{cms}?limit=3&continue={token}&resourceVersion=0"),
    )
    .await;

    // resourceVersion semantics.
    let now = s.get("", &cms).await.rv();
    s.get(
        "version-zero",
        format!("{cms}?resourceVersion=0&labelSelector=rank"),
    )
    .await;
    s.get(
        "version-not-older-than",
        format!("{cms}?resourceVersion={now}&resourceVersionMatch=NotOlderThan&labelSelector=rank"),
    )
    .await;
    s.get(
        "version-exact",
        format!("{cms}?resourceVersion={now}&resourceVersionMatch=Exact&labelSelector=rank"),
    )
    .await;
    s.call(
        http::Method::GET,
        format!("{cms}?resourceVersion=999999999&labelSelector=rank"),
    )
    .numbers_in_message_are_versions()
    .send("version-too-new")
    .await;
    s.get("version-malformed", format!("{cms}?resourceVersion=x"))
        .await;
    s.get(
        "version-match-bad-value",
        format!("{cms}?resourceVersion={now}&resourceVersionMatch=Newest"),
    )
    .await;
    s.get(
        "exact-zero",
        format!("{cms}?resourceVersion=0&resourceVersionMatch=Exact"),
    )
    .await;
    s.get(
        "exact-with-limit",
        format!("{cms}?resourceVersion={now}&resourceVersionMatch=Exact&limit=2"),
    )
    .await;

    // Label selectors.
    for (step, selector) in [
        ("labels-equal", "tier=a"),
        ("labels-double-equal", "tier==a"),
        ("labels-not-equal", "tier!=a"),
        ("labels-in", "tier in (a,b),rank"),
        ("labels-notin", "tier notin (a)"),
        ("labels-exists", "rank"),
        ("labels-not-exists", "!rank"),
        ("labels-and", "tier=b,rank=1"),
        ("labels-greater-than", "rank>1"),
        ("labels-less-than", "rank<3"),
        ("labels-spaces", " tier = a , rank "),
        ("labels-empty-value", "tier="),
        ("labels-no-match", "tier=z"),
        ("labels-bad-operator", "tier=>a"),
        ("labels-bad-value", "tier=a b"),
        ("labels-bad-key", "-tier=a"),
        ("labels-greater-than-text", "rank>x"),
        ("labels-empty-in", "tier in ()"),
    ] {
        s.get(
            step,
            format!(
                "{cms}?labelSelector={}",
                form_urlencoded::byte_serialize(selector.as_bytes()).collect::<String>()
            ),
        )
        .await;
    }

    // Field selectors.
    for (step, selector) in [
        ("fields-name", "metadata.name=c2"),
        ("fields-name-double-equal", "metadata.name==c2"),
        ("fields-name-not", "metadata.name!=c2"),
        ("fields-namespace", "metadata.namespace=d-lists"),
        ("fields-two", "metadata.name=c2,metadata.name=c3"),
        ("fields-unknown", "data.i=1"),
        ("fields-set-syntax", "metadata.name in (c1)"),
        ("fields-empty", ""),
    ] {
        s.get(
            step,
            format!(
                "{cms}?labelSelector=rank&fieldSelector={}",
                form_urlencoded::byte_serialize(selector.as_bytes()).collect::<String>()
            ),
        )
        .await;
    }
    let pods = format!("/api/v1/namespaces/{NS}/pods");
    s.must_create(
        &pods,
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    for (step, selector) in [
        ("pods-by-node", "spec.nodeName=node-1"),
        ("pods-by-phase", "status.phase=Pending"),
        ("pods-not-running", "status.phase!=Running"),
        ("pods-by-account", "spec.serviceAccountName=default"),
        ("pods-by-restart-policy", "spec.restartPolicy=Always"),
        ("pods-by-scheduler", "spec.schedulerName=default-scheduler"),
        ("pods-by-ip", "status.podIP="),
        ("pods-by-nominated-node", "status.nominatedNodeName="),
    ] {
        s.get(
            step,
            format!(
                "{pods}?fieldSelector={}",
                form_urlencoded::byte_serialize(selector.as_bytes()).collect::<String>()
            ),
        )
        .await;
    }
    s.get(
        "events-by-involved-object",
        format!("/api/v1/namespaces/{NS}/events?fieldSelector=involvedObject.name%3Dp,involvedObject.kind%3DPod"),
    )
    .await;
    s.get(
        "secrets-by-type",
        format!("/api/v1/namespaces/{NS}/secrets?fieldSelector=type%3DOpaque"),
    )
    .await;
    s.get(
        "namespaces-by-phase",
        "/api/v1/namespaces?fieldSelector=status.phase%3DActive,metadata.name%3Dd-lists",
    )
    .await;

    // Across namespaces, and other forms.
    s.get(
        "cluster-wide",
        "/api/v1/configmaps?labelSelector=scenario%3Dlists,rank",
    )
    .await;
    s.get(
        "cluster-wide-paged",
        "/api/v1/configmaps?labelSelector=scenario%3Dlists&limit=4",
    )
    .await;
    s.call(http::Method::GET, format!("{cms}?labelSelector=rank"))
        .accept("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
        .send("partial-object-metadata-list")
        .await;
    s.call(http::Method::GET, format!("{cms}?labelSelector=rank"))
        .accept("application/json;as=Table;g=meta.k8s.io;v=v1")
        .send("table")
        .await;
    s.call(http::Method::GET, format!("{cms}?labelSelector=rank"))
        .accept("application/yaml")
        .send("yaml")
        .await;
    s.call(http::Method::GET, format!("{cms}?labelSelector=rank"))
        .accept("text/html")
        .send("not-acceptable")
        .await;
}
