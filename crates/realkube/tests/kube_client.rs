//! kube-rs and kubectl talk to the real control plane the harness starts: ConfigMaps,
//! watches, CRDs from upstream Forklift, and (with kube-controller-manager) garbage
//! collection and namespace deletion.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{bounded, start};
use ferry_realkube::ControlPlane;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, ObjectMeta, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_maps_can_be_created_listed_and_watched() {
    bounded(async {
        let plane = start().await;
        let cms: Api<ConfigMap> = Api::namespaced(plane.client().unwrap(), "default");

        let before = cms.list(&ListParams::default()).await.unwrap();
        let rv = before.metadata.resource_version.clone().unwrap();
        let mut events = cms
            .watch(&WatchParams::default().timeout(60), &rv)
            .await
            .unwrap()
            .boxed();

        let created = cms
            .create(&PostParams::default(), &config_map("one", &[("k", "v")]))
            .await
            .unwrap();
        assert!(created.metadata.uid.is_some());

        let listed = cms.list(&ListParams::default()).await.unwrap();
        let names: Vec<_> = listed
            .items
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        assert!(names.contains(&"one".to_string()), "{names:?}");

        let event = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match events.try_next().await.unwrap() {
                    Some(WatchEvent::Added(cm)) => return cm,
                    Some(WatchEvent::Bookmark(_)) => continue,
                    other => panic!("unexpected watch event: {other:?}"),
                }
            }
        })
        .await
        .expect("no watch event within 60s");
        assert_eq!(event.metadata.name.as_deref(), Some("one"));
        assert_eq!(event.data.unwrap()["k"], "v");

        // A conflicting update (stale resourceVersion) is the server's 409.
        let mut stale = created.clone();
        stale.data = Some([("k".to_string(), "first".to_string())].into());
        cms.replace("one", &PostParams::default(), &stale)
            .await
            .unwrap();
        stale.data = Some([("k".to_string(), "second".to_string())].into());
        match cms.replace("one", &PostParams::default(), &stale).await {
            Err(kube::Error::Api(status)) => assert_eq!(status.code, 409, "{status:?}"),
            other => panic!("want 409 Conflict, got {other:?}"),
        }
        plane.stop().unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_forklift_crd_applies_and_validates() {
    bounded(async {
        let plane = start().await;
        let client = plane.client().unwrap();
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/upstream/crds/forklift.konveyor.io_providers.yaml"
        ))
        .unwrap();
        let crd: CustomResourceDefinition = serde_saphyr::from_str(&text).unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("ferry-realkube-test"),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();

        // Established, then served.
        let established = || async {
            let crd = crds.get(&name).await.unwrap();
            crd.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        };
        tokio::time::timeout(Duration::from_secs(60), async {
            while !established().await {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await
        .expect("the CRD was not Established within 60s");

        let gvk = GroupVersionKind::gvk("forklift.konveyor.io", "v1beta1", "Provider");
        let ar = ApiResource::from_gvk_with_plural(&gvk, "providers");
        let providers: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
        let provider: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "forklift.konveyor.io/v1beta1",
            "kind": "Provider",
            "metadata": {"name": "vcenter"},
            "spec": {
                "type": "vsphere",
                "url": "https://127.0.0.1/sdk",
                "secret": {"name": "vcenter", "namespace": "default"}
            }
        }))
        .unwrap();
        providers
            .create(&PostParams::default(), &provider)
            .await
            .unwrap();

        // The schema is enforced: `type` and `secret` are required.
        let invalid: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "forklift.konveyor.io/v1beta1",
            "kind": "Provider",
            "metadata": {"name": "typeless"},
            "spec": {"url": "https://127.0.0.1/sdk"}
        }))
        .unwrap();
        match providers.create(&PostParams::default(), &invalid).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{status:?}");
                assert_eq!(status.reason, "Invalid", "{status:?}");
            }
            other => panic!("want 422 Invalid, got {other:?}"),
        }
        let listed = providers.list(&ListParams::default()).await.unwrap();
        assert_eq!(listed.items.len(), 1);
        plane.stop().unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_works_with_the_written_kubeconfig() {
    bounded(async {
        let plane = start().await;
        let kubectl = plane.binaries().kubectl();
        let kubeconfig = plane.kubeconfig();
        let output = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new(kubectl)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["get", "namespace", "kube-system", "-o", "name"])
                .output(),
        )
        .await
        .expect("kubectl did not finish within 60s")
        .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "namespace/kube-system"
        );
        plane.stop().unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_manager_collects_garbage_and_deletes_namespaces() {
    bounded(async {
        let mut plane = ControlPlane::builder()
            .garbage_collection()
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let client = plane.client().unwrap();

        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some("doomed".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
        let owner = cms
            .create(&PostParams::default(), &config_map("owner", &[]))
            .await
            .unwrap();
        let mut dependent = config_map("dependent", &[]);
        dependent.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "owner".into(),
            uid: owner.metadata.uid.clone().unwrap(),
            ..Default::default()
        }]);
        cms.create(&PostParams::default(), &dependent)
            .await
            .unwrap();

        // Garbage collection: deleting the owner removes the dependent.
        cms.delete("owner", &DeleteParams::background())
            .await
            .unwrap();
        poll_until(
            Duration::from_secs(90),
            "the dependent was collected",
            || async { cms.get_opt("dependent").await.unwrap().is_none() },
        )
        .await;

        // ServiceAccount admission is on, as on a real cluster: a pod gets the
        // namespace's `default` account (made by the serviceaccount controller) and its
        // token as the projected `kube-api-access-*` volume.
        let pods: Api<Pod> = Api::namespaced(client.clone(), "doomed");
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}
        }))
        .unwrap();
        let pod = pods.create(&PostParams::default(), &pod).await.unwrap();
        let spec = pod.spec.unwrap();
        assert_eq!(spec.service_account_name.as_deref(), Some("default"));
        let volumes = spec.volumes.unwrap_or_default();
        assert!(
            volumes
                .iter()
                .any(|v| v.name.starts_with("kube-api-access-") && v.projected.is_some()),
            "{volumes:?}"
        );

        // PVC protection: a deleted claim that no pod uses goes away (the
        // kubernetes.io/pvc-protection finalizer is removed by its controller).
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "doomed");
        let claim: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "claim"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        }))
        .unwrap();
        let claim = claims.create(&PostParams::default(), &claim).await.unwrap();
        assert_eq!(
            claim.metadata.finalizers.as_deref(),
            Some(&["kubernetes.io/pvc-protection".to_string()][..])
        );
        claims
            .delete("claim", &DeleteParams::default())
            .await
            .unwrap();
        poll_until(Duration::from_secs(90), "the claim was deleted", || async {
            claims.get_opt("claim").await.unwrap().is_none()
        })
        .await;

        // Namespace deletion: the namespace controller empties and removes it.
        cms.create(&PostParams::default(), &config_map("content", &[]))
            .await
            .unwrap();
        namespaces
            .delete("doomed", &DeleteParams::default())
            .await
            .unwrap();
        poll_until(
            Duration::from_secs(90),
            "the namespace was deleted",
            || async { namespaces.get_opt("doomed").await.unwrap().is_none() },
        )
        .await;

        plane.check_running().unwrap();
        plane.stop().unwrap();
    })
    .await;
}

async fn poll_until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::time::timeout(limit, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within {limit:?}"));
}
