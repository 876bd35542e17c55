//! Watches through kube-rs: events, selector transitions, bookmarks, timeouts,
//! resumption after a forced disconnect and after `410 Gone`, streaming lists, and a
//! reflector that stays in sync while connections are dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TIMEOUT, TestTarget, eventually};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;
use std::time::Duration;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": "0"}}))
        .unwrap()
}

async fn next_event(
    s: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin),
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(TIMEOUT, s.next())
        .await
        .expect("event in time")
        .expect("stream open")
        .expect("event")
}

fn name_of(e: &WatchEvent<ConfigMap>) -> (String, String) {
    match e {
        WatchEvent::Added(o) => ("ADDED".into(), o.metadata.name.clone().unwrap()),
        WatchEvent::Modified(o) => ("MODIFIED".into(), o.metadata.name.clone().unwrap()),
        WatchEvent::Deleted(o) => ("DELETED".into(), o.metadata.name.clone().unwrap()),
        WatchEvent::Bookmark(b) => ("BOOKMARK".into(), b.metadata.resource_version.clone()),
        WatchEvent::Error(e) => ("ERROR".into(), e.code.to_string()),
    }
}

#[tokio::test]
async fn watch_from_a_resource_version_sees_every_change_in_order() {
    let t = TestTarget::start().await;
    let ns = t.namespace("watch").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let start = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let rv = start.metadata.resource_version.unwrap();
    let mut s = api
        .watch(&WatchParams::default().timeout(30), &rv)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"n": "1"}})),
    )
    .await
    .unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(name_of(&next_event(&mut s).await));
    }
    assert_eq!(
        seen,
        [
            ("ADDED".into(), "b".into()),
            ("MODIFIED".into(), "a".into()),
            ("DELETED".into(), "b".into())
        ]
    );
}

#[tokio::test]
async fn watch_without_resource_version_starts_with_the_current_state() {
    let t = TestTarget::start().await;
    let ns = t.namespace("watch0").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let mut s = api
        .watch(&WatchParams::default().timeout(30), "0")
        .await
        .unwrap()
        .boxed();
    assert_eq!(
        name_of(&next_event(&mut s).await),
        ("ADDED".into(), "a".into())
    );
}

#[tokio::test]
async fn objects_entering_and_leaving_a_selector_are_added_and_deleted() {
    let t = TestTarget::start().await;
    let ns = t.namespace("sel").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let c = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let rv = c.metadata.resource_version.unwrap();
    let mut s = api
        .watch(&WatchParams::default().labels("app=web").timeout(30), &rv)
        .await
        .unwrap()
        .boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"n": "2"}})),
    )
    .await
    .unwrap();
    let left = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"app": null}}})),
        )
        .await
        .unwrap();
    assert_eq!(name_of(&next_event(&mut s).await).0, "ADDED");
    assert_eq!(name_of(&next_event(&mut s).await).0, "MODIFIED");
    match next_event(&mut s).await {
        WatchEvent::Deleted(o) => {
            // The previous state, at the resourceVersion of the change.
            assert_eq!(o.metadata.labels.unwrap()["app"], "web");
            assert_eq!(o.metadata.resource_version, left.metadata.resource_version);
        }
        other => panic!("expected DELETED, got {other:?}"),
    }
}

#[tokio::test]
async fn watches_end_after_timeout_seconds() {
    let t = TestTarget::start().await;
    let ns = t.namespace("to").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let mut s = api
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap()
        .boxed();
    let end = tokio::time::timeout(TIMEOUT, async {
        while let Some(e) = s.next().await {
            e.unwrap();
        }
    })
    .await;
    assert!(end.is_ok(), "the watch should end on its own");
}

#[tokio::test]
async fn bookmarks_carry_progress() {
    let t = TestTarget::start_with(|b| b.bookmark_interval(Duration::from_millis(200))).await;
    if t.embedded("a short bookmark interval").is_none() {
        return;
    }
    let ns = t.namespace("bm").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let c = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let rv: u64 = c.metadata.resource_version.unwrap().parse().unwrap();
    let mut s = api
        .watch(&WatchParams::default().timeout(30), &rv.to_string())
        .await
        .unwrap()
        .boxed();
    // Progress elsewhere moves the bookmark forward.
    let other: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    other
        .create(&PostParams::default(), &cm("elsewhere"))
        .await
        .unwrap();
    match next_event(&mut s).await {
        WatchEvent::Bookmark(b) => {
            assert!(b.metadata.resource_version.parse::<u64>().unwrap() > rv);
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
}

#[tokio::test]
async fn a_compacted_resource_version_is_410_gone_as_an_error_event() {
    let t = TestTarget::start().await;
    let Some(server) = t.embedded("compaction on demand") else {
        return;
    };
    let ns = t.namespace("gone").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let c = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let old = c.metadata.resource_version.unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"n": "1"}})),
    )
    .await
    .unwrap();
    server.compact();
    let mut s = api
        .watch(&WatchParams::default().timeout(30), &old)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut s).await {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
            assert!(
                e.message.starts_with("too old resource version: "),
                "{}",
                e.message
            );
        }
        other => panic!("expected 410, got {other:?}"),
    }
    // A watcher recovers by relisting.
    let mut w = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(TIMEOUT, w.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("a"));
}

#[tokio::test]
async fn a_watch_resumes_after_a_forced_disconnect_without_losing_events() {
    let t = TestTarget::start().await;
    let Some(server) = t.embedded("dropping watch connections") else {
        return;
    };
    let ns = t.namespace("drop").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let c = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let mut last = c.metadata.resource_version.unwrap();
    let mut s = api
        .watch(&WatchParams::default().timeout(30), &last)
        .await
        .unwrap()
        .boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"n": "1"}})),
    )
    .await
    .unwrap();
    if let WatchEvent::Modified(o) = next_event(&mut s).await {
        last = o.metadata.resource_version.unwrap();
    } else {
        panic!("expected MODIFIED");
    }
    server.drop_watches();
    // The stream breaks (an error or its end).
    let broke = tokio::time::timeout(TIMEOUT, async {
        loop {
            match s.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(broke.is_ok());
    // Changes while disconnected are delivered on resumption.
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"n": "2"}})),
    )
    .await
    .unwrap();
    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    let mut s = api
        .watch(&WatchParams::default().timeout(30), &last)
        .await
        .unwrap()
        .boxed();
    assert_eq!(
        name_of(&next_event(&mut s).await),
        ("MODIFIED".into(), "a".into())
    );
    assert_eq!(
        name_of(&next_event(&mut s).await),
        ("ADDED".into(), "b".into())
    );
}

#[tokio::test]
async fn a_reflector_stays_in_sync_across_forced_disconnects() {
    let t = TestTarget::start().await;
    let Some(server) = t.embedded("dropping watch connections") else {
        return;
    };
    let ns = t.namespace("refl").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .default_backoff()
        .applied_objects();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while stream.next().await.is_some() {}
    });
    for round in 0..5 {
        api.create(&PostParams::default(), &cm(&format!("c{round}")))
            .await
            .unwrap();
        server.drop_watches();
        api.patch(
            &format!("c{round}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"n": round.to_string()}})),
        )
        .await
        .unwrap();
        if round > 0 {
            api.delete(&format!("c{}", round - 1), &DeleteParams::default())
                .await
                .unwrap();
        }
    }
    eventually("the reflector to match the server", || {
        let reader = reader.clone();
        let api = api.clone();
        async move {
            let server_names: Vec<(String, String)> = api
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| (c.metadata.name.unwrap(), c.data.unwrap()["n"].clone()))
                .collect();
            let mut cached: Vec<(String, String)> = reader
                .state()
                .iter()
                .map(|c| {
                    (
                        c.metadata.name.clone().unwrap(),
                        c.data.clone().unwrap()["n"].clone(),
                    )
                })
                .collect();
            cached.sort();
            cached == server_names
        }
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn streaming_lists_are_refused_without_the_watch_list_feature_gate() {
    // kube-apiserver 1.33 ships with WatchList off: a client that relies on
    // streaming lists fails against a default cluster, and here too.
    let t = TestTarget::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let mut w = watcher(api, watcher::Config::default().streaming_lists()).boxed();
    match tokio::time::timeout(TIMEOUT, w.try_next()).await.unwrap() {
        Err(watcher::Error::WatchStartFailed(kube::Error::Api(s))) => {
            assert_eq!(s.code, 422);
            assert_eq!(
                s.message,
                "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
            );
        }
        other => panic!("expected a 422, got {other:?}"),
    }
}

#[tokio::test]
async fn streaming_lists_end_initial_events_with_a_bookmark() {
    let t = TestTarget::start_with(|b| b.watch_list(true)).await;
    if t.embedded("the WatchList feature gate").is_none() {
        return;
    }
    let ns = t.namespace("stream").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    for n in ["a", "b"] {
        api.create(&PostParams::default(), &cm(n)).await.unwrap();
    }
    let mut w = watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut names = Vec::new();
    loop {
        match tokio::time::timeout(TIMEOUT, w.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::Init => {}
            watcher::Event::InitApply(o) => names.push(o.metadata.name.unwrap()),
            watcher::Event::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    names.sort();
    assert_eq!(names, ["a", "b"]);
    api.create(&PostParams::default(), &cm("c")).await.unwrap();
    match tokio::time::timeout(TIMEOUT, w.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        watcher::Event::Apply(o) => assert_eq!(o.metadata.name.as_deref(), Some("c")),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn watch_list_options_are_validated() {
    let t = TestTarget::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let req = http::Request::get(
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersionMatch=NotOlderThan",
    )
    .body(Vec::new())
    .unwrap();
    let e = t.client.request_text(req).await.unwrap_err();
    match e {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422);
            assert!(s.message.contains("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
    drop(api);
}
