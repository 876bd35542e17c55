//! CRUD through kube-rs on built-in resources: create, get, list with selectors
//! and paging, update with optimistic concurrency, patches, delete, and the errors
//! a real server returns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestTarget;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::Status;
use serde_json::json;
use std::collections::BTreeMap;

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()},
        "data": {"k": "v"}
    }))
    .unwrap()
}

fn api_error(e: kube::Error) -> Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_get_update_delete_a_config_map() {
    let t = TestTarget::start().await;
    let ns = t.namespace("crud").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let created = api
        .create(&PostParams::default(), &cm("a", &[("app", "x")]))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some(ns.as_str()));
    assert!(meta.uid.is_some());
    assert!(meta.creation_timestamp.is_some());
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();
    assert_eq!(meta.generation, None, "configmaps have no generation");

    let got = api.get("a").await.unwrap();
    assert_eq!(got.data.as_ref().unwrap()["k"], "v");

    // Update with the current resourceVersion succeeds and bumps it.
    let mut changed = got.clone();
    changed
        .data
        .as_mut()
        .unwrap()
        .insert("k".into(), "w".into());
    let updated = api
        .replace("a", &PostParams::default(), &changed)
        .await
        .unwrap();
    let rv2: u64 = updated
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);

    // A stale resourceVersion is a conflict, worded as the real server words it.
    let e = api_error(
        api.replace("a", &PostParams::default(), &changed)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "Conflict");
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // A second create of the same name.
    let e = api_error(
        api.create(&PostParams::default(), &cm("a", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, "configmaps \"a\" already exists");

    api.delete("a", &DeleteParams::default()).await.unwrap();
    let e = api_error(api.get("a").await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, "configmaps \"a\" not found");
}

#[tokio::test]
async fn no_op_updates_keep_the_resource_version() {
    let t = TestTarget::start().await;
    let ns = t.namespace("noop").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let created = api
        .create(&PostParams::default(), &cm("a", &[]))
        .await
        .unwrap();
    let same = api
        .replace("a", &PostParams::default(), &created)
        .await
        .unwrap();
    assert_eq!(
        same.metadata.resource_version,
        created.metadata.resource_version
    );
}

#[tokio::test]
async fn generate_name_dry_run_and_validation() {
    let t = TestTarget::start().await;
    let ns = t.namespace("gen").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let mut c = cm("", &[]);
    c.metadata.name = None;
    c.metadata.generate_name = Some("web-".into());
    let created = api.create(&PostParams::default(), &c).await.unwrap();
    let name = created.metadata.name.unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");

    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let out = api.create(&dry, &cm("dry", &[])).await.unwrap();
    assert_eq!(out.metadata.name.as_deref(), Some("dry"));
    assert!(
        api.get_opt("dry").await.unwrap().is_none(),
        "a dry run stores nothing"
    );

    let e = api_error(
        api.create(&PostParams::default(), &cm("Not_DNS", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert!(
        e.message.starts_with("ConfigMap \"Not_DNS\" is invalid: metadata.name: Invalid value: \"Not_DNS\": a lowercase RFC 1123 subdomain"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_not_found() {
    let t = TestTarget::start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "no-such-namespace");
    let e = api_error(
        api.create(&PostParams::default(), &cm("a", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, "namespaces \"no-such-namespace\" not found");
}

#[tokio::test]
async fn list_with_label_and_field_selectors_and_paging() {
    let t = TestTarget::start().await;
    let ns = t.namespace("list").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    for (n, env) in [
        ("a", "prod"),
        ("b", "dev"),
        ("c", "prod"),
        ("d", "test"),
        ("e", "prod"),
    ] {
        api.create(
            &PostParams::default(),
            &cm(n, &[("env", env), ("app", "x")]),
        )
        .await
        .unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("env=prod"))
                .await
                .unwrap()
        ),
        ["a", "c", "e"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("env in (dev,test)"))
                .await
                .unwrap()
        ),
        ["b", "d"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("env notin (prod),app"))
                .await
                .unwrap()
        ),
        ["b", "d"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("!app"))
                .await
                .unwrap()
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("env!=prod"))
                .await
                .unwrap()
        ),
        ["b", "d"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=c"))
                .await
                .unwrap()
        ),
        ["c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name!=c"))
                .await
                .unwrap()
        )
        .len(),
        4
    );

    // Paging: pages are consistent at the first page's resourceVersion.
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().unwrap();
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    api.create(&PostParams::default(), &cm("f", &[]))
        .await
        .unwrap();
    let mut all = names(first.clone());
    let mut next = token;
    loop {
        let page = api
            .list(&ListParams::default().limit(2).continue_token(&next))
            .await
            .unwrap();
        assert_eq!(
            page.metadata.resource_version,
            first.metadata.resource_version
        );
        let c = page.metadata.continue_.clone();
        all.extend(names(page));
        match c {
            Some(c) if !c.is_empty() => next = c,
            _ => break,
        }
    }
    assert_eq!(
        all,
        ["a", "b", "c", "d", "e"],
        "f was created after the first page"
    );

    // An unsupported field label is refused as the real server refuses it.
    let e = api_error(
        api.list(&ListParams::default().fields("data.k=v"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    assert_eq!(
        e.message,
        "\"data.k\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
}

#[tokio::test]
async fn patches_merge_json_and_strategic() {
    let t = TestTarget::start().await;
    let ns = t.namespace("patch").await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    api.create(&PostParams::default(), &cm("a", &[("app", "x")]))
        .await
        .unwrap();
    let p = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"tier": "db"}}, "data": {"k": null, "n": "1"}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(p.metadata.labels.as_ref().unwrap()["tier"], "db");
    assert_eq!(p.data.as_ref().unwrap().get("k"), None);
    let p = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{"op": "add", "path": "/data/j", "value": "2"}]))
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(p.data.as_ref().unwrap()["j"], "2");
    // A failing JSON patch test operation.
    let e = api_error(
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{"op": "test", "path": "/data/j", "value": "3"}]))
                    .unwrap(),
            ),
        )
        .await
        .unwrap_err(),
    );
    assert!(e.code == 422 || e.code == 500, "{e:?}");

    // Strategic merge patch merges containers by name.
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), &ns);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "busybox:1"}, {"name": "b", "image": "busybox:1"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let p = pods
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"containers": [{"name": "b", "image": "busybox:2"}]}}),
            ),
        )
        .await
        .unwrap();
    let cs = p.spec.unwrap().containers;
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[1].image.as_deref(), Some("busybox:2"));
    assert_eq!(cs[0].image.as_deref(), Some("busybox:1"));
}

#[tokio::test]
async fn built_in_defaults_clients_rely_on() {
    let t = TestTarget::start().await;
    let ns = t.namespace("defaults").await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), &ns);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "busybox"}]}
    }))
    .unwrap();
    let p = pods.create(&PostParams::default(), &pod).await.unwrap();
    let spec = p.spec.unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(spec.termination_grace_period_seconds, Some(30));
    assert_eq!(p.status.unwrap().phase.as_deref(), Some("Pending"));

    let secrets: Api<Secret> = Api::namespaced(t.client.clone(), &ns);
    let s: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"user": "me"}})).unwrap();
    let s = secrets.create(&PostParams::default(), &s).await.unwrap();
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    assert_eq!(s.data.unwrap()["user"].0, b"me");
    assert!(s.string_data.is_none());

    let svcs: Api<Service> = Api::namespaced(t.client.clone(), &ns);
    let svc: Service = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})).unwrap();
    let svc = svcs.create(&PostParams::default(), &svc).await.unwrap();
    let spec = svc.spec.unwrap();
    assert!(spec.cluster_ip.unwrap().starts_with("10."));
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
}
