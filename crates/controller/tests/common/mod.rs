//! The test bed: the embedded API server in process, Forklift's CRDs, a namespace, a
//! catalog of sample OVAs, and the manager on a client that records every request it
//! makes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod vsphere;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_apiserver::{ApiServer, CountersSnapshot, RunningApiServer};
use ferry_controller::manager::{ClientSource, Manager, ManagerConfig, start};
use ferry_controller::plan::PlanReconciler;
use ferry_controller::settings::CatalogPath;
use ferry_controller::{Settings, clock::Clock};
use ferry_inventory::ova::samples::{SampleCatalog, SampleOptions, write_samples};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::client::ClientBuilder;
use kube::runtime::wait::await_condition;
use serde::de::DeserializeOwned;

/// Bounds every wait.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// The namespace the tests use.
pub const NS: &str = "ns";
/// The NFS export the OVA provider names.
pub const EXPORT: &str = "nfs.example:/exports/ova";

/// Runs `f` with a bound.
pub async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .unwrap_or_else(|_| panic!("timed out after {TIMEOUT:?}: {what}"))
}

/// One recorded request of the manager: method and path with query.
pub type Recorded = (String, String);

#[derive(Clone)]
struct Record<S> {
    inner: S,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl<S, B> tower::Service<http::Request<B>> for Record<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.log
            .lock()
            .unwrap()
            .push((request.method().to_string(), request.uri().to_string()));
        self.inner.call(request)
    }
}

/// The test bed.
pub struct Bed {
    /// The embedded API server.
    pub server: RunningApiServer,
    /// The test's own client.
    pub client: kube::Client,
    /// The running manager.
    pub manager: Option<Manager>,
    /// Every request the manager made.
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// The sample catalog (the export's local directory).
    pub catalog: SampleCatalog,
    /// Keeps the catalog directory.
    pub dir: tempfile::TempDir,
    /// The settings the manager runs with.
    pub settings: Settings,
}

/// Installs Forklift's CRDs (optionally edited) and waits until they are served.
pub async fn install_crds(client: &kube::Client, edit: impl Fn(&mut CustomResourceDefinition)) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds = ferry_api::crds::all().expect("generate CRDs");
    let plurals: Vec<String> = crds.iter().map(|c| c.spec.names.plural.clone()).collect();
    for mut crd in crds {
        edit(&mut crd);
        api.create(&PostParams::default(), &crd)
            .await
            .expect("create CRD");
    }
    bounded("CRDs served", async {
        loop {
            if let Ok(list) = client
                .list_api_group_resources("forklift.konveyor.io/v1beta1")
                .await
                && plurals
                    .iter()
                    .all(|p| list.resources.iter().any(|r| &r.name == p))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

impl Bed {
    /// A server with the CRDs and namespace `ns`, and a sample catalog; no manager yet.
    pub async fn new() -> Bed {
        Self::with_crds(|_| {}).await
    }

    /// As [`Bed::new`], with the CRDs edited before they are installed.
    pub async fn with_crds(edit: impl Fn(&mut CustomResourceDefinition)) -> Bed {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let server = ApiServer::builder()
            .in_memory()
            .start()
            .await
            .expect("start the embedded API server");
        let client = server.client().expect("client");
        install_crds(&client, edit).await;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &Namespace {
                    metadata: ObjectMeta {
                        name: Some(NS.into()),
                        ..ObjectMeta::default()
                    },
                    ..Namespace::default()
                },
            )
            .await
            .expect("create namespace");
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("export");
        let catalog = write_samples(&root, &SampleOptions::from_env()).unwrap_or_else(|e| {
            panic!("cannot build the sample OVAs ({e}); run scripts/test, which installs qemu-img")
        });
        let mut settings = Settings::defaults().expect("default settings");
        settings.ova.shares = vec![(EXPORT.into(), root.clone())];
        settings.ova.catalog_path = CatalogPath::Mount("/ova".into());
        settings.ova.settle = Duration::ZERO;
        settings.ova.rescan = Duration::from_secs(1);
        settings.manager.plan_debounce = Duration::from_millis(100);
        Bed {
            server,
            client,
            manager: None,
            requests: Arc::new(Mutex::new(Vec::new())),
            catalog,
            dir,
            settings,
        }
    }

    /// The catalog directory.
    pub fn root(&self) -> PathBuf {
        self.catalog.root.clone()
    }

    /// A client that records its requests into [`Bed::requests`].
    pub fn recording_client(&self) -> kube::Client {
        let log = Arc::clone(&self.requests);
        ClientBuilder::try_from(self.server.client_config())
            .expect("client builder")
            .with_layer(&tower::layer::layer_fn(move |inner| Record {
                inner,
                log: Arc::clone(&log),
            }))
            .build()
    }

    /// Starts the manager (with an optional plan controller and clock).
    pub async fn start_manager_with(
        &mut self,
        plan: Option<Arc<dyn PlanReconciler>>,
        clock: Option<Arc<dyn Clock>>,
    ) {
        let mut config = ManagerConfig::new(ClientSource::Client(self.recording_client()));
        config.settings = Some(self.settings.clone());
        config.plan = plan;
        config.instance = Some("ferry-test".into());
        if let Some(clock) = clock {
            config.clock = clock;
        }
        let manager = start(config).await.expect("start the manager");
        assert!(
            manager.wait_ready(TIMEOUT).await,
            "the manager did not become ready"
        );
        self.manager = Some(manager);
    }

    /// Starts the manager with defaults.
    pub async fn start_manager(&mut self) {
        self.start_manager_with(None, None).await;
    }

    /// Stops the manager.
    pub async fn stop_manager(&mut self) {
        if let Some(manager) = self.manager.take() {
            bounded("manager shutdown", manager.shutdown()).await;
        }
    }

    /// The running manager.
    pub fn manager(&self) -> &Manager {
        self.manager.as_ref().expect("the manager runs")
    }

    /// An API for a namespaced kind in `ns`.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), NS)
    }

    /// Creates an object in `ns`.
    pub async fn create<K>(&self, object: &K) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::Serialize
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .create(&PostParams::default(), object)
            .await
            .unwrap_or_else(|e| panic!("create {object:?}: {e}"))
    }

    /// Creates the cluster-scoped StorageClass `name` (provisioner `example.com/<name>`).
    pub async fn storage_class(&self, name: &str) {
        let class = k8s_openapi::api::storage::v1::StorageClass {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            provisioner: format!("example.com/{name}"),
            ..Default::default()
        };
        Api::all(self.client.clone())
            .create(&PostParams::default(), &class)
            .await
            .unwrap_or_else(|e| panic!("create StorageClass {name}: {e}"));
    }

    /// Creates a Secret in `ns`.
    pub async fn secret(&self, name: &str, data: &[(&str, &str)]) -> Secret {
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(NS.into()),
                ..ObjectMeta::default()
            },
            string_data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Secret::default()
        };
        self.create(&secret).await
    }

    /// Waits until `name` in `ns` satisfies `condition`; returns it.
    pub async fn wait<K>(&self, name: &str, what: &str, condition: impl Fn(&K) -> bool) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        let api = self.api::<K>();
        let found = bounded(
            what,
            await_condition(api, name, move |object: Option<&K>| {
                object.is_some_and(&condition)
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        found.unwrap_or_else(|| panic!("{what}: {name} is gone"))
    }

    /// Merge-patches the status of `name` (as another controller would write it).
    pub async fn patch_status<K>(&self, name: &str, status: serde_json::Value)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "status": status })),
            )
            .await
            .unwrap_or_else(|e| panic!("patch status of {name}: {e}"));
    }

    /// The server's counters now.
    pub fn counters(&self) -> CountersSnapshot {
        self.server.counters()
    }

    /// Waits until the server sees no request for `quiet` (bounded); for measuring an
    /// idle interval from a settled start.
    pub async fn settle(&self, quiet: Duration) {
        bounded("the cluster to settle", async {
            let mut last = self.counters().total();
            loop {
                tokio::time::sleep(quiet).await;
                let now = self.counters().total();
                if now == last {
                    return;
                }
                last = now;
            }
        })
        .await;
    }

    /// The manager's requests so far, as `(group, resource, verb)`.
    pub fn resource_requests(&self) -> Vec<(String, String, String)> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(method, uri)| classify(method, uri))
            .collect()
    }
}

/// `(group, resource[/subresource], verb)` of a request, `None` for discovery and other
/// non-resource paths.
pub fn classify(method: &str, uri: &str) -> Option<(String, String, String)> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let path = path.trim_start_matches(|c| c != '/');
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let rest: Vec<&str> = match rest {
        ["namespaces", _ns, tail @ ..] if !tail.is_empty() => tail.to_vec(),
        other => other.to_vec(),
    };
    let (resource, named) = match rest.as_slice() {
        [] => return None,
        [resource] => (resource.to_string(), false),
        [resource, _name] => (resource.to_string(), true),
        [resource, _name, sub, ..] => (format!("{resource}/{sub}"), true),
    };
    let watch = query
        .split('&')
        .any(|q| q == "watch=true" || q == "watch=1");
    let verb = match (method, named) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return None,
    };
    Some((group.to_string(), resource, verb.to_string()))
}

/// A condition of a status's list, by type.
pub fn condition<'a>(
    conditions: &'a ferry_api::condition::Conditions,
    t: &str,
) -> Option<&'a ferry_api::condition::Condition> {
    conditions.iter().find(|c| c.r#type == t)
}

/// The types of a condition list.
pub fn types(conditions: &ferry_api::condition::Conditions) -> Vec<String> {
    let mut types: Vec<String> = conditions.iter().map(|c| c.r#type.clone()).collect();
    types.sort();
    types
}

/// An `ObjectReference` to `name` in `ns`.
pub fn reference(name: &str) -> ferry_api::ObjectReference {
    ferry_api::ObjectReference {
        namespace: Some(NS.into()),
        name: Some(name.into()),
        ..ferry_api::ObjectReference::default()
    }
}

/// The Events about an object (events.k8s.io/v1), as `(type, reason, note)`.
pub async fn events_about(client: &kube::Client, name: &str) -> Vec<(String, String, String)> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), NS);
    let list = api.list(&Default::default()).await.expect("list events");
    list.items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
            )
        })
        .collect()
}
