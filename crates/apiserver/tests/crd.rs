//! Custom resources through kube-rs: a CRD is served at once, its schema is
//! enforced (validation, defaulting, pruning, fieldValidation), the status
//! subresource and generation behave as on a real server, deleting the CRD deletes
//! its objects, and a kube-runtime `Controller` reconciles the kind end to end.
//!
//! Against the real server each test has a control plane of its own: every test installs the same CRD (and one deletes it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TIMEOUT, TestTarget, eventually};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams, Resource, ResourceExt,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A test kind.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "test.ferry.io",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
#[kube(printcolumn = r#"{"name":"SIZE","type":"integer","jsonPath":".spec.size"}"#)]
pub struct WidgetSpec {
    /// How big.
    #[schemars(range(min = 1, max = 10))]
    pub size: i64,
    /// What colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
}

/// Observed state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
pub struct WidgetStatus {
    /// Last generation seen.
    #[serde(default)]
    pub observed: i64,
}

fn widget(name: &str, size: i64) -> Widget {
    Widget::new(name, WidgetSpec { size, colour: None })
}

async fn install(t: &TestTarget) -> Api<CustomResourceDefinition> {
    let crds: Api<CustomResourceDefinition> = Api::all(t.client.clone());
    let mut crd = Widget::crd();
    // A default for colour, to see defaulting.
    let schema = crd.spec.versions[0]
        .schema
        .as_mut()
        .unwrap()
        .open_api_v3_schema
        .as_mut()
        .unwrap();
    let spec = schema.properties.as_mut().unwrap().get_mut("spec").unwrap();
    spec.properties
        .as_mut()
        .unwrap()
        .get_mut("colour")
        .unwrap()
        .default = Some(
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON(json!("red")),
    );
    crds.create(&PostParams::default(), &crd).await.unwrap();
    // Clients wait for Established before using a new kind (a real server may still
    // answer 404 for a moment).
    eventually("Established", || {
        let crds = crds.clone();
        async move {
            crds.get("widgets.test.ferry.io")
                .await
                .unwrap()
                .status
                .and_then(|s| s.conditions)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                })
        }
    })
    .await;
    crds
}

#[tokio::test]
async fn a_crd_is_served_at_once_and_established() {
    let t = TestTarget::start_alone().await;
    let crds = install(&t).await;
    eventually("Established", || {
        let crds = crds.clone();
        async move {
            let c = crds.get("widgets.test.ferry.io").await.unwrap();
            c.status.and_then(|s| s.conditions).is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            })
        }
    })
    .await;
    let ns = t.namespace("crd").await;
    let api: Api<Widget> = Api::namespaced(t.client.clone(), &ns);
    let w = api
        .create(&PostParams::default(), &widget("w", 3))
        .await
        .unwrap();
    assert_eq!(w.metadata.generation, Some(1));
    assert_eq!(
        w.spec.colour.as_deref(),
        Some("red"),
        "schema default applied"
    );
}

#[tokio::test]
async fn the_schema_is_enforced_with_field_paths() {
    let t = TestTarget::start_alone().await;
    install(&t).await;
    let ns = t.namespace("schema").await;
    let api: Api<Widget> = Api::namespaced(t.client.clone(), &ns);
    let e = match api
        .create(&PostParams::default(), &widget("big", 99))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.code, 422);
    assert_eq!(e.reason, "Invalid");
    assert_eq!(
        e.message,
        "Widget.test.ferry.io \"big\" is invalid: spec.size: Invalid value: 99: spec.size in body should be less than or equal to 10"
    );
    let causes = e.details.unwrap().causes;
    assert_eq!(causes[0].field, "spec.size");
    assert_eq!(causes[0].reason, "FieldValueInvalid");

    // Unknown fields: pruned (and warned about) by default, refused under Strict.
    let raw = json!({"apiVersion": "test.ferry.io/v1", "kind": "Widget", "metadata": {"name": "x"}, "spec": {"size": 1, "bogus": true}});
    let dynamic: Api<kube::api::DynamicObject> = Api::namespaced_with(
        t.client.clone(),
        &ns,
        &kube::api::ApiResource::erase::<Widget>(&()),
    );
    let obj: kube::api::DynamicObject = serde_json::from_value(raw.clone()).unwrap();
    let created = dynamic.create(&PostParams::default(), &obj).await.unwrap();
    assert!(created.data["spec"].get("bogus").is_none());
    let mut strict = obj.clone();
    strict.metadata.name = Some("y".into());
    let req = http::Request::post(format!(
        "/apis/test.ferry.io/v1/namespaces/{ns}/widgets?fieldValidation=Strict"
    ))
    .header("content-type", "application/json")
    .body(serde_json::to_vec(&strict).unwrap())
    .unwrap();
    match t.client.request_text(req).await.unwrap_err() {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 400);
            assert!(
                s.message
                    .contains("strict decoding error: unknown field \"spec.bogus\""),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn status_subresource_and_generation() {
    let t = TestTarget::start_alone().await;
    install(&t).await;
    let ns = t.namespace("status").await;
    let api: Api<Widget> = Api::namespaced(t.client.clone(), &ns);
    let mut w = widget("w", 2);
    w.status = Some(WidgetStatus { observed: 42 });
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    assert!(created.status.is_none(), "create ignores status");

    // Status through /status: generation unchanged.
    let s = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": 1}, "spec": {"size": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(s.status.as_ref().unwrap().observed, 1);
    assert_eq!(s.spec.size, 2, "/status ignores spec");
    assert_eq!(s.metadata.generation, Some(1));

    // Status through the main endpoint is ignored; spec changes bump generation.
    let m = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": 7}, "spec": {"size": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(m.status.as_ref().unwrap().observed, 1);
    assert_eq!(m.metadata.generation, Some(2));
    // Metadata changes do not.
    let m = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(m.metadata.generation, Some(2));

    // Updates need a resourceVersion for custom resources.
    let mut stale = m.clone();
    stale.metadata.resource_version = None;
    match api
        .replace("w", &PostParams::default(), &stale)
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422);
            assert!(
                s.message.ends_with(
                    "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
                ),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn deleting_the_crd_deletes_its_objects_and_stops_serving() {
    let t = TestTarget::start_alone().await;
    let crds = install(&t).await;
    let ns = t.namespace("crddel").await;
    let api: Api<Widget> = Api::namespaced(t.client.clone(), &ns);
    api.create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    let mut held = widget("b", 1);
    held.metadata.finalizers = Some(vec!["test.ferry.io/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    crds.delete("widgets.test.ferry.io", &DeleteParams::default())
        .await
        .unwrap();
    // While an object holds a finalizer, the CRD waits, terminating.
    eventually("a gone, b marked", || {
        let api = api.clone();
        async move {
            api.get_opt("a").await.unwrap().is_none()
                && api
                    .get("b")
                    .await
                    .unwrap()
                    .metadata
                    .deletion_timestamp
                    .is_some()
        }
    })
    .await;
    match api
        .create(&PostParams::default(), &widget("c", 1))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 405);
            assert_eq!(
                s.message,
                "create not allowed while custom resource definition is terminating"
            );
        }
        other => panic!("{other:?}"),
    }
    api.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually("the CRD to be gone", || {
        let crds = crds.clone();
        async move {
            crds.get_opt("widgets.test.ferry.io")
                .await
                .unwrap()
                .is_none()
        }
    })
    .await;
    match api.list(&Default::default()).await.unwrap_err() {
        kube::Error::Api(s) => assert_eq!(s.code, 404),
        other => panic!("{other:?}"),
    }
}

struct Ctx {
    client: kube::Client,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] kube::Error);

async fn reconcile(w: Arc<Widget>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let ns = w.namespace().unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let owner = w.controller_owner_ref(&()).unwrap();
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("{}-config", w.name_any())),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        data: Some([("size".to_string(), w.spec.size.to_string())].into()),
        ..Default::default()
    };
    cms.patch(
        cm.metadata.name.as_deref().unwrap(),
        &PatchParams::apply("widget-controller").force(),
        &Patch::Apply(&cm),
    )
    .await?;
    let widgets: Api<Widget> = Api::namespaced(ctx.client.clone(), &ns);
    widgets
        .patch_status(
            &w.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": w.metadata.generation.unwrap_or(0)}})),
        )
        .await?;
    Ok(Action::await_change())
}

fn error_policy(_: Arc<Widget>, _: &ReconcileError, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

#[tokio::test]
async fn a_kube_runtime_controller_reconciles_and_owned_objects_are_collected() {
    let t = TestTarget::start_alone().await;
    install(&t).await;
    let ns = t.namespace("ctrl").await;
    let widgets: Api<Widget> = Api::namespaced(t.client.clone(), &ns);
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    let ctx = Arc::new(Ctx {
        client: t.client.clone(),
    });
    let controller = Controller::new(widgets.clone(), watcher::Config::default())
        .owns(cms.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {});
    let task = tokio::spawn(controller);
    widgets
        .create(&PostParams::default(), &widget("w", 4))
        .await
        .unwrap();
    eventually("the owned ConfigMap and status", || {
        let (cms, widgets) = (cms.clone(), widgets.clone());
        async move {
            let cm = cms.get_opt("w-config").await.unwrap();
            let w = widgets.get("w").await.unwrap();
            cm.is_some_and(|c| c.data.unwrap()["size"] == "4")
                && w.status.is_some_and(|s| s.observed == 1)
        }
    })
    .await;
    widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 5}})),
        )
        .await
        .unwrap();
    eventually("the controller to follow the change", || {
        let cms = cms.clone();
        async move { cms.get("w-config").await.unwrap().data.unwrap()["size"] == "5" }
    })
    .await;
    // Deleting the owner collects the ConfigMap (background propagation).
    widgets.delete("w", &DeleteParams::default()).await.unwrap();
    eventually("garbage collection", || {
        let cms = cms.clone();
        async move { cms.get_opt("w-config").await.unwrap().is_none() }
    })
    .await;
    task.abort();
    let _ = tokio::time::timeout(TIMEOUT, task).await;
}
