//! Watches: the event sequence from a list's resourceVersion, from an object's, from
//! `0` and unset; label-selector transitions (ADDED/DELETED as objects enter and
//! leave); field selectors; bookmarks; a resourceVersion from the future. Every watch
//! asks for `timeoutSeconds`, so the server ends it and the whole stream compares.
//!
//! The compaction scenario needs a control plane of its own: on the real side, old
//! resourceVersions expire by compacting etcd and restarting kube-apiserver.

use crate::harness::{MERGE, Session};
use serde_json::json;

const NS: &str = "d-watch";

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    let cm = |name: &str, app: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": app}}, "data": {"k": "v"}});
    let start = s.get("", &cms).await.rv();
    let w1 = s.must_create(&cms, &cm("w1", "x")).await.rv();
    s.patch(
        "",
        format!("{cms}/w1"),
        MERGE,
        &json!({"data": {"k": "changed"}}),
    )
    .await;
    s.must_create(&cms, &cm("w2", "x")).await;
    s.delete("", format!("{cms}/w1"), &serde_json::Value::Null)
        .await;
    s.patch(
        "",
        format!("{cms}/w2"),
        MERGE,
        &json!({"metadata": {"labels": {"app": "y"}}}),
    )
    .await;
    s.must_create(&cms, &cm("w3", "y")).await;
    s.patch(
        "",
        format!("{cms}/w3"),
        MERGE,
        &json!({"metadata": {"labels": {"app": "x"}}}),
    )
    .await;

    let watch = |query: &str| format!("{cms}?watch=true&timeoutSeconds=2&{query}");
    s.get(
        "from-list-version",
        watch(&format!("resourceVersion={start}")),
    )
    .await;
    s.get(
        "label-selector-transitions",
        watch(&format!("resourceVersion={start}&labelSelector=app%3Dx")),
    )
    .await;
    s.get(
        "field-selector",
        watch(&format!(
            "resourceVersion={start}&fieldSelector=metadata.name%3Dw2"
        )),
    )
    .await;
    s.get(
        "from-object-version",
        watch(&format!("resourceVersion={w1}")),
    )
    .await;
    s.get("from-zero", watch("resourceVersion=0")).await;
    s.get("unset-version", watch("")).await;
    s.get(
        "from-zero-with-selector",
        watch("resourceVersion=0&labelSelector=app%3Dy"),
    )
    .await;
    s.get(
        "legacy-watch-path",
        format!(
            "/api/v1/watch/namespaces/{NS}/configmaps?timeoutSeconds=1&resourceVersion={start}"
        ),
    )
    .await;
    // kube-apiserver sends a bookmark 2 s before a watch's deadline (and every
    // minute) when the watcher has not seen the newest resourceVersion: an
    // unrelated write during a 5-second watch gives one at about 3 s.
    let now = s.get("", &cms).await.rv();
    s.post_later(
        std::time::Duration::from_millis(500),
        &cms,
        &cm("unrelated", "other"),
    );
    s.get(
        "bookmark-before-timeout",
        format!("{cms}?watch=true&timeoutSeconds=5&resourceVersion={now}&allowWatchBookmarks=true&labelSelector=app%3Dnone"),
    )
    .await;
    s.get(
        "no-bookmark-when-up-to-date",
        format!(
            "{cms}?watch=true&timeoutSeconds=4&allowWatchBookmarks=true&labelSelector=app%3Dnone"
        ),
    )
    .await;
    // A resourceVersion the server has not reached: it waits up to 3 s for it.
    s.call(
        http::Method::GET,
        format!("{cms}?watch=true&timeoutSeconds=5&resourceVersion=999999999"),
    )
    .numbers_in_message_are_versions()
    .send("future-version")
    .await;
    s.get("not-a-version", watch("resourceVersion=abc")).await;
    s.get(
        "streaming-list",
        watch("sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"),
    )
    .await;
    s.get(
        "cluster-wide",
        format!("/api/v1/configmaps?watch=true&timeoutSeconds=2&resourceVersion={start}&labelSelector=app%3Dx"),
    )
    .await;
}

/// Old resourceVersions after compaction: a watch gets a 410 ERROR event, a continue
/// token `410 Expired` (with a fresh token to continue inconsistently), an exact
/// list `410`; reads that may be served newer still work.
pub async fn compaction(s: &mut Session) {
    s.namespace("d-compaction").await;
    let cms = "/api/v1/namespaces/d-compaction/configmaps";
    for i in 1..=3 {
        s.must_create(
            cms,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}}),
        )
        .await;
    }
    let first = s.get("first-page", format!("{cms}?limit=1")).await;
    let (old, token) = (first.rv(), first.str("/metadata/continue"));
    // Compaction at revision R keeps R readable: write once more first.
    s.must_create(
        cms,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c4"}}),
    )
    .await;
    s.expire_history().await;

    s.call(
        http::Method::GET,
        format!("{cms}?watch=true&timeoutSeconds=2&resourceVersion={old}"),
    )
    .numbers_in_message_are_versions()
    .send("watch-from-before")
    .await;
    s.call(http::Method::GET, format!("{cms}?limit=1&continue={token}"))
        .numbers_in_message_are_versions()
        .send("expired-continue")
        .await;
    s.call(
        http::Method::GET,
        format!("{cms}?resourceVersion={old}&resourceVersionMatch=Exact"),
    )
    .numbers_in_message_are_versions()
    .send("exact-list-from-before")
    .await;
    s.get(
        "list-not-older-than-before",
        format!("{cms}?resourceVersion={old}&resourceVersionMatch=NotOlderThan"),
    )
    .await;
    s.get("get-from-before", format!("{cms}/c1?resourceVersion={old}"))
        .await;
    let now = s.get("list-now", cms).await.rv();
    s.must_create(
        cms,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c5"}}),
    )
    .await;
    s.get(
        "watch-from-after",
        format!("{cms}?watch=true&timeoutSeconds=2&resourceVersion={now}"),
    )
    .await;
}
