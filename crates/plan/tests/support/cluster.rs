//! The embedded API server as the destination cluster, with the conformance world of
//! [`super::fixtures`] stored in it, and in-test actors playing the controllers the plan
//! controller waits for (CDI finishing DataVolumes, the Conversion controller starting
//! the virt-v2v pod, virt-v2v answering on its endpoints).

use super::adapter::TestAdapter;
use super::fixtures::{NS, TARGET};
use super::inventory::TestInventory;
use ferry_api::destination::DataVolume;
use ferry_api::k8s_openapi::api::core::v1::{
    Container, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, PodSpec,
    ServiceAccount, VolumeResourceRequirements,
};
use ferry_api::k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::plan::Vm;
use ferry_api::{Conversion, Migration, ObjectMeta, Plan};
use ferry_apiserver::{ApiServer, CountersSnapshot, RunningApiServer};
use ferry_inventory::Inventory;
use ferry_inventory::ova::model::Vm as OvaVm;
use ferry_plan::adapter::Adapters;
use ferry_plan::execute::action::{HttpAnswer, HttpRequest};
use ferry_plan::http::PodHttp;
use ferry_plan::reconcile::{Context, Reconciled};
use ferry_plan::settings::Settings;
use futures::future::BoxFuture;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bounds every wait.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` with a bound.
pub async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .unwrap_or_else(|_| panic!("timed out after {TIMEOUT:?}: {what}"))
}

/// Pod calls answered from a script (unscripted: connection refused), recorded.
#[derive(Default)]
pub struct ScriptedPods {
    answers: Mutex<BTreeMap<String, HttpAnswer>>,
    asked: Mutex<Vec<HttpRequest>>,
}

impl ScriptedPods {
    pub fn script(&self, url: String, answer: HttpAnswer) {
        self.answers.lock().unwrap().insert(url, answer);
    }

    pub fn asked(&self) -> Vec<HttpRequest> {
        self.asked.lock().unwrap().clone()
    }

    /// Scripts a conversion pod as finished: `/vm` describes a BIOS VM, no warnings,
    /// the shutdown answers, every disk copied.
    pub fn finished(&self, ip: &str) {
        self.script(
            format!("http://{ip}:2112/metrics"),
            HttpAnswer::Response {
                status: 200,
                body:
                    "v2v_disk_transfers{disk_id=\"1\"} 100\nv2v_disk_transfers{disk_id=\"2\"} 100\n"
                        .into(),
            },
        );
        self.script(
            format!("http://{ip}:8080/vm"),
            HttpAnswer::Response {
                status: 200,
                body: "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nspec:\n  template:\n    spec:\n      domain:\n        firmware:\n          bootloader:\n            bios: {}\n".into(),
            },
        );
        self.script(
            format!("http://{ip}:8080/warnings"),
            HttpAnswer::Response {
                status: 200,
                body: "[]".into(),
            },
        );
        self.script(format!("http://{ip}:8080/shutdown"), HttpAnswer::Eof);
    }

    /// Scripts a conversion pod's metrics.
    pub fn metrics(&self, ip: &str, body: &str) {
        self.script(
            format!("http://{ip}:2112/metrics"),
            HttpAnswer::Response {
                status: 200,
                body: body.into(),
            },
        );
    }
}

impl PodHttp for ScriptedPods {
    fn call<'a>(&'a self, request: &'a HttpRequest) -> BoxFuture<'a, HttpAnswer> {
        self.asked.lock().unwrap().push(request.clone());
        let answer = self
            .answers
            .lock()
            .unwrap()
            .get(&request.url)
            .cloned()
            .unwrap_or(HttpAnswer::Refused);
        Box::pin(async move { answer })
    }
}

fn open_crd(group: &str, version: &str, kind: &str, plural: &str) -> CustomResourceDefinition {
    let open = json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("{plural}.{group}") },
        "spec": {
            "group": group,
            "names": {
                "kind": kind,
                "listKind": format!("{kind}List"),
                "plural": plural,
                "singular": kind.to_ascii_lowercase(),
            },
            "scope": "Namespaced",
            "versions": [{
                "name": version,
                "served": true,
                "storage": true,
                "subresources": { "status": {} },
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "apiVersion": { "type": "string" },
                        "kind": { "type": "string" },
                        "metadata": { "type": "object" },
                        "spec": open,
                        "status": open,
                    },
                    "x-kubernetes-preserve-unknown-fields": true,
                } },
            }],
        },
    }))
    .unwrap()
}

/// Installs Forklift's CRDs and the CDI, KubeVirt and Multus kinds the plan controller
/// writes, and waits until they are served.
pub async fn install_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut crds = ferry_api::crds::all().unwrap();
    crds.push(open_crd(
        "cdi.kubevirt.io",
        "v1beta1",
        "DataVolume",
        "datavolumes",
    ));
    crds.push(open_crd(
        "kubevirt.io",
        "v1",
        "VirtualMachine",
        "virtualmachines",
    ));
    crds.push(open_crd(
        "k8s.cni.cncf.io",
        "v1",
        "NetworkAttachmentDefinition",
        "network-attachment-definitions",
    ));
    let wanted: Vec<(String, String)> = crds
        .iter()
        .map(|c| {
            (
                format!("{}/{}", c.spec.group, c.spec.versions[0].name),
                c.spec.names.plural.clone(),
            )
        })
        .collect();
    for crd in crds {
        api.create(&PostParams::default(), &crd).await.unwrap();
    }
    bounded("CRDs served", async {
        'again: loop {
            for (group_version, plural) in &wanted {
                let served = client
                    .list_api_group_resources(group_version)
                    .await
                    .is_ok_and(|list| list.resources.iter().any(|r| &r.name == plural));
                if !served {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue 'again;
                }
            }
            return;
        }
    })
    .await;
}

/// The VMs `vm-1..=count` (`web01`, `web02`, ...), each with two disks and a NIC.
pub fn vms(count: usize) -> (Vec<OvaVm>, Vec<Vm>) {
    let mut inventory = Vec::new();
    let mut planned = Vec::new();
    for i in 1..=count {
        let mut web = super::fixtures::web01();
        web.id = format!("vm-{i}");
        web.name = format!("web{i:02}");
        web.ovf_path = format!("/ova/web{i:02}.ova");
        for disk in &mut web.disks {
            disk.file_path = web.ovf_path.clone();
        }
        web.nics[0].mac = format!("00:50:56:aa:{:02x}:{:02x}", i / 256, i % 256);
        inventory.push(web);
        planned.push(Vm::with_id(format!("vm-{i}")));
    }
    (inventory, planned)
}

/// The cluster.
pub struct Cluster {
    pub server: RunningApiServer,
    pub client: kube::Client,
    pub inventory: Arc<TestInventory>,
    pub pods: Arc<ScriptedPods>,
    pub settings: Settings,
    ips: AtomicU32,
}

fn strip(meta: &mut ObjectMeta) {
    meta.uid = None;
    meta.resource_version = None;
    meta.creation_timestamp = None;
    meta.generation = None;
}

impl Cluster {
    /// The world with `count` VMs, all planned.
    pub async fn start(count: usize) -> Self {
        let (inventory, planned) = vms(count);
        Self::with(inventory, planned, |_| {}).await
    }

    /// The world with this inventory and plan; `edit` changes the plan before it is
    /// stored.
    pub async fn with(
        inventory: Vec<OvaVm>,
        planned: Vec<Vm>,
        edit: impl FnOnce(&mut Plan),
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let server = ApiServer::builder().in_memory().start().await.unwrap();
        let client = server.client().unwrap();
        install_crds(&client).await;
        let world = super::fixtures::World::with_vms(inventory.clone(), planned);
        let cluster = Self {
            server,
            client,
            inventory: world.inventory.clone(),
            pods: Arc::new(ScriptedPods::default()),
            settings: world.settings.clone(),
            ips: AtomicU32::new(0),
        };
        for ns in [NS, TARGET] {
            cluster.namespace(ns).await;
        }
        let observed = &world.observed;
        for provider in [observed.source.found(), observed.destination.found()] {
            cluster.store_with_status(provider.unwrap().clone()).await;
        }
        cluster
            .store_with_status(observed.network_map.found().unwrap().clone())
            .await;
        cluster
            .store_with_status(observed.storage_map.found().unwrap().clone())
            .await;
        let mut plan = observed.plan.clone();
        strip(&mut plan.metadata);
        edit(&mut plan);
        Api::<Plan>::namespaced(cluster.client.clone(), NS)
            .create(&PostParams::default(), &plan)
            .await
            .unwrap();
        cluster
    }

    pub async fn namespace(&self, name: &str) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        api.create(&PostParams::default(), &ns).await.unwrap();
    }

    pub async fn service_account(&self, namespace: &str, name: &str) {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        api.create(&PostParams::default(), &sa).await.unwrap();
    }

    /// Creates a Forklift object, then writes its status (as its controller would).
    pub async fn store_with_status<K>(&self, mut object: K)
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let status = serde_json::to_value(&object).unwrap()["status"].clone();
        strip(object.meta_mut());
        let namespace = object.meta().namespace.clone().unwrap();
        let name = object.meta().name.clone().unwrap();
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        api.create(&PostParams::default(), &object).await.unwrap();
        let mut status = status;
        if let Some(map) = status.as_object_mut() {
            map.insert("observedGeneration".into(), json!(1));
        }
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .unwrap();
    }

    /// A controller: a fresh context (no state carried over from another one).
    pub fn controller(&self) -> Context {
        self.controller_with(self.settings.clone())
    }

    pub fn controller_with(&self, settings: Settings) -> Context {
        let inventory = self.inventory.clone();
        let inventories = Arc::new(move |_uid: &str| Some(inventory.clone() as Arc<dyn Inventory>));
        Context::new(
            self.client.clone(),
            Arc::new(settings),
            Adapters::new().with(Arc::new(TestAdapter)),
            inventories,
        )
        .unwrap()
        .with_pods(self.pods.clone())
    }

    /// One reconcile of plan `p`.
    pub async fn reconcile(&self, ctx: &Context) -> Reconciled {
        bounded("reconcile", ferry_plan::reconcile(ctx, NS, "p"))
            .await
            .unwrap_or_else(|e| panic!("reconcile failed: {e}"))
    }

    pub async fn plan(&self) -> Plan {
        Api::<Plan>::namespaced(self.client.clone(), NS)
            .get("p")
            .await
            .unwrap()
    }

    pub async fn patch_plan(&self, patch: serde_json::Value) {
        Api::<Plan>::namespaced(self.client.clone(), NS)
            .patch("p", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }

    pub async fn migrate(&self, name: &str) -> Migration {
        let migration = Migration::new(
            NS,
            name,
            ferry_api::migration::MigrationSpec {
                plan: super::fixtures::object_ref(NS, "p"),
                ..Default::default()
            },
        );
        Api::<Migration>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &migration)
            .await
            .unwrap()
    }

    pub async fn list<K>(&self, namespace: &str) -> Vec<K>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        Api::<K>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
    }

    /// CDI: every DataVolume reaches `phase`, and each gets its PVC (Bound).
    pub async fn cdi(&self, phase: &str) {
        let dvs: Api<DataVolume> = Api::namespaced(self.client.clone(), TARGET);
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), TARGET);
        for dv in self.list::<DataVolume>(TARGET).await {
            let name = dv.metadata.name.clone().unwrap();
            dvs.patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"status": {"phase": phase, "claimName": name, "progress": "100.0%"}}),
                ),
            )
            .await
            .unwrap();
            if pvcs.get_opt(&name).await.unwrap().is_some() {
                continue;
            }
            let pvc = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    labels: dv.metadata.labels.clone(),
                    annotations: dv.metadata.annotations.clone(),
                    ..ObjectMeta::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_string(),
                            Quantity("1Gi".into()),
                        )])),
                        ..VolumeResourceRequirements::default()
                    }),
                    ..PersistentVolumeClaimSpec::default()
                }),
                status: None,
            };
            pvcs.create(&PostParams::default(), &pvc).await.unwrap();
            pvcs.patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Bound"}})),
            )
            .await
            .unwrap();
        }
    }

    /// The Conversion controller: each Conversion without a pod gets one (its labels,
    /// plus `conversion`), in phase `phase` with a loopback IP.
    pub async fn conversion_controller(&self, phase: &str) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), TARGET);
        let existing = self.list::<Pod>(TARGET).await;
        for conversion in self.list::<Conversion>(NS).await {
            let name = conversion.metadata.name.clone().unwrap();
            if existing.iter().any(|p| {
                p.metadata.labels.as_ref().and_then(|l| l.get("conversion")) == Some(&name)
            }) {
                continue;
            }
            let mut labels = conversion.metadata.labels.clone().unwrap_or_default();
            labels.insert("conversion".into(), name.clone());
            labels.remove("conversion-type");
            let pod = Pod {
                metadata: ObjectMeta {
                    generate_name: Some(conversion.spec.pod_settings.generate_name.clone()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "virt-v2v".into(),
                        image: Some("quay.io/kubev2v/forklift-virt-v2v:latest".into()),
                        ..Container::default()
                    }],
                    restart_policy: Some("Never".into()),
                    ..PodSpec::default()
                }),
                status: None,
            };
            let created = pods.create(&PostParams::default(), &pod).await.unwrap();
            let n = self.ips.fetch_add(1, Ordering::Relaxed) + 2;
            let ip = format!("127.0.{}.{}", n / 250, n % 250 + 1);
            pods.patch_status(
                created.metadata.name.as_deref().unwrap(),
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": phase, "podIP": ip}})),
            )
            .await
            .unwrap();
        }
    }

    /// The IP of a VM's conversion pod.
    pub async fn pod_ip(&self, vm_id: &str) -> Option<String> {
        self.list::<Pod>(TARGET)
            .await
            .into_iter()
            .find(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("vmID"))
                    .map(String::as_str)
                    == Some(vm_id)
            })
            .and_then(|p| p.status?.pod_ip)
    }

    /// Every conversion pod reaches `phase`.
    pub async fn pods_phase(&self, phase: &str) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), TARGET);
        for pod in self.list::<Pod>(TARGET).await {
            pods.patch_status(
                pod.metadata.name.as_deref().unwrap(),
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": phase}})),
            )
            .await
            .unwrap();
        }
    }

    /// Scripts every VM's conversion pod as finished.
    pub async fn finish_pods(&self, ids: &[&str]) {
        for id in ids {
            let ip = self
                .pod_ip(id)
                .await
                .unwrap_or_else(|| panic!("no pod for {id}"));
            self.pods.finished(&ip);
        }
    }

    pub fn counters(&self) -> CountersSnapshot {
        self.server.counters()
    }
}

/// When a dying controller dies: at its `n`th write (1-based), or at its first Plan
/// status write. Once dead, every request fails, as for a killed process.
pub struct Kill {
    writes_left: AtomicI64,
    status_only: bool,
    dead: AtomicBool,
}

impl Kill {
    /// Dies at the `n`th write request.
    pub fn at_write(n: i64) -> Arc<Self> {
        Arc::new(Self {
            writes_left: AtomicI64::new(n),
            status_only: false,
            dead: AtomicBool::new(false),
        })
    }

    /// Dies at the Plan status write (everything else went through).
    pub fn at_status_write() -> Arc<Self> {
        Arc::new(Self {
            writes_left: AtomicI64::new(1),
            status_only: true,
            dead: AtomicBool::new(false),
        })
    }

    pub fn died(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn dies(&self, method: &http::Method, path: &str) -> bool {
        if self.died() {
            return true;
        }
        let write = method != http::Method::GET;
        let counted =
            write && (!self.status_only || (path.contains("/plans/") && path.ends_with("/status")));
        if counted && self.writes_left.fetch_sub(1, Ordering::SeqCst) <= 1 {
            self.dead.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }
}

#[derive(Clone)]
struct Dying<S> {
    inner: S,
    kill: Arc<Kill>,
}

impl<S, B> tower::Service<http::Request<B>> for Dying<S>
where
    S: tower::Service<http::Request<B>>,
    S::Error: Into<tower::BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = BoxFuture<'static, Result<S::Response, tower::BoxError>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if self.kill.dies(request.method(), request.uri().path()) {
            return Box::pin(async { Err("the controller was killed".into()) });
        }
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}

impl Cluster {
    /// A controller whose client dies as `kill` says.
    pub fn dying_controller(&self, kill: Arc<Kill>) -> Context {
        let client = kube::client::ClientBuilder::try_from(self.server.client_config())
            .unwrap()
            .with_layer(&tower::layer::layer_fn(move |inner| Dying {
                inner,
                kill: kill.clone(),
            }))
            .build();
        let inventory = self.inventory.clone();
        let inventories = Arc::new(move |_uid: &str| Some(inventory.clone() as Arc<dyn Inventory>));
        Context::new(
            client,
            Arc::new(self.settings.clone()),
            Adapters::new().with(Arc::new(TestAdapter)),
            inventories,
        )
        .unwrap()
        .with_pods(self.pods.clone())
    }
}
