//! One API server and one simulated cluster per kind of server and test binary, shared
//! by its tests (each works in its own namespace): a cluster's actors handle every
//! namespace, so two clusters on one server would fight over the same pods.
//!
//! - [`real`]: the real kube-apiserver with kube-controller-manager's garbage collector
//!   (`ferry_realkube`), the reference for what the actors must look like;
//! - [`embedded`]: Ferry's embedded API server, what `ferry sandbox` runs on.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use ferry_apiserver::{ApiServer, RunningApiServer};
use ferry_inventory::ova::samples::SampleCatalog;
use ferry_realkube::ControlPlane;
use ferry_sandbox::cluster::faults::{DiskFailure, Faults};
use ferry_sandbox::cluster::{Cluster, ClusterConfig, Pace, PodNetwork};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};

/// The bound on any one test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// The source VM whose first disk the shared clusters fail to convert.
pub const FAILING_VM: &str = "ferry-plain";

/// The API server behind an environment.
pub enum Server {
    /// kube-apiserver and etcd.
    Real(Box<ControlPlane>),
    /// Ferry's embedded server.
    Embedded(RunningApiServer),
}

/// A shared environment.
pub struct Env {
    /// The API server.
    pub server: Server,
    /// How to reach it.
    pub config: kube::Config,
    /// Its kubeconfig.
    pub kubeconfig: PathBuf,
    /// The cluster's data directory.
    pub data: PathBuf,
    /// The NFS share stand-in (sample appliances live here).
    pub share: PathBuf,
    /// The pod network's second octet.
    pub network: u8,
    /// The sample appliances, once written.
    pub samples: OnceLock<SampleCatalog>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    _runtime: tokio::runtime::Runtime,
    _cluster: Cluster,
}

impl Env {
    /// A client for the test's own runtime.
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config.clone()).expect("a client")
    }

    /// A kubectl binary.
    pub fn kubectl(&self) -> PathBuf {
        match &self.server {
            Server::Real(plane) => plane.binaries().kubectl(),
            Server::Embedded(_) => std::env::var_os("FERRY_KUBE_BIN")
                .map(|d| PathBuf::from(d).join("kubectl"))
                .filter(|p| p.exists())
                .unwrap_or_else(|| PathBuf::from("kubectl")),
        }
    }
}

static REAL: OnceLock<Env> = OnceLock::new();
static EMBEDDED: OnceLock<Env> = OnceLock::new();

/// The environment on the real kube-apiserver.
pub fn real() -> &'static Env {
    REAL.get_or_init(|| start(true, None))
}

/// The environment on Ferry's embedded API server.
pub fn embedded() -> &'static Env {
    EMBEDDED.get_or_init(|| start(false, REAL.get().map(|env| env.network)))
}

fn start(real: bool, avoid: Option<u8>) -> Env {
    std::thread::spawn(move || {
        ferry_sandbox::cluster::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the shared cluster");
        let data = tempfile::Builder::new()
            .prefix("ferry-sandbox-data-")
            .tempdir()
            .expect("data dir");
        let share = tempfile::Builder::new()
            .prefix("ferry-sandbox-share-")
            .tempdir()
            .expect("share dir");
        let (server, config, kubeconfig, cluster, network) = runtime.block_on(async {
            let (server, config, kubeconfig) = if real {
                let plane = ControlPlane::builder()
                    .garbage_collection()
                    .start()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let config = plane.config();
                let kubeconfig = plane.kubeconfig();
                (Server::Real(Box::new(plane)), config, kubeconfig)
            } else {
                let server = ApiServer::builder()
                    .data_dir(data.path().join("apiserver"))
                    .start()
                    .await
                    .expect("the embedded API server starts");
                let config = server.client_config();
                let kubeconfig = server.kubeconfig_path().to_owned();
                (Server::Embedded(server), config, kubeconfig)
            };
            let mut cluster_config = ClusterConfig::new(data.path());
            {
                // Two clusters in one process never share a pod network.
                static TAKEN: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
                let mut taken = TAKEN.lock().unwrap();
                let mut octet = cluster_config.pod_network.octet;
                while taken.contains(&octet) || avoid == Some(octet) {
                    octet = if octet >= 253 { 64 } else { octet + 1 };
                }
                taken.push(octet);
                cluster_config.pod_network = PodNetwork { octet };
            }
            cluster_config.shares = vec![share.path().to_owned()];
            cluster_config.pace = Pace::fast();
            cluster_config.faults = Faults {
                disk_failures: vec![DiskFailure {
                    vm: FAILING_VM.into(),
                    disk: 1,
                    times: None,
                }],
                ..Faults::default()
            };
            let network = cluster_config.pod_network.octet;
            let client = kube::Client::try_from(config.clone()).expect("a client");
            if let Server::Embedded(server) = &server {
                // Container output also goes to the server, which serves it (`kubectl logs`).
                cluster_config.logs = std::sync::Arc::new(ferry_sandbox::cluster::logs::Tee(vec![
                    std::sync::Arc::clone(&cluster_config.logs),
                    server.memory_logs(),
                ]));
            }
            let cluster = Cluster::start(client, cluster_config)
                .await
                .expect("the cluster starts");
            (server, config, kubeconfig, cluster, network)
        });
        Env {
            server,
            config,
            kubeconfig,
            data: data.path().to_owned(),
            share: share.path().to_owned(),
            network,
            samples: OnceLock::new(),
            _dirs: (data, share),
            _runtime: runtime,
            _cluster: cluster,
        }
    })
    .join()
    .expect("starting the shared environment")
}

impl Env {
    /// A fresh namespace, ready for pods: on the real server (whose ServiceAccount
    /// admission refuses pods until the namespace's `default` ServiceAccount exists),
    /// once the ServiceAccount controller has made it.
    pub async fn namespace(&self, prefix: &str) -> String {
        let client = self.client();
        let name = namespace(&client, prefix).await;
        if matches!(self.server, Server::Real(_)) {
            let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
                Api::namespaced(client, &name);
            wait_for(
                Duration::from_secs(60),
                "the default ServiceAccount",
                || async { accounts.get_opt("default").await.ok().flatten().map(|_| ()) },
            )
            .await;
        }
        name
    }
}

/// A fresh namespace.
pub async fn namespace(client: &kube::Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", &uuid_like()[..8]);
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name },
    }))
    .expect("a namespace");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
    name
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}",
        (nanos as u64) ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    )
    .chars()
    .rev()
    .collect()
}

/// Runs `body` with [`TEST_TIMEOUT`].
pub async fn bounded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("the test did not finish within its bound")
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still not so after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
