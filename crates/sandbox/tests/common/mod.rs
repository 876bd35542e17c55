//! One API server and one simulated cluster per test binary, shared by its tests (each
//! works in its own namespace): a cluster's actors handle every namespace, so two
//! clusters on one server would fight over the same pods.
//!
//! The API server is the real kube-apiserver (with kube-controller-manager's garbage
//! collector) from `ferry_realkube`; the actors only need a client, so the same tests
//! run on Ferry's embedded API server once it serves.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use ferry_realkube::ControlPlane;
use ferry_sandbox::cluster::faults::{DiskFailure, Faults};
use ferry_sandbox::cluster::{Cluster, ClusterConfig, Pace};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};

/// The bound on any one test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// The shared environment.
pub struct Env {
    /// The API server.
    pub plane: ControlPlane,
    /// The cluster's data directory.
    pub data: PathBuf,
    /// The NFS share stand-in (sample appliances live here).
    pub share: PathBuf,
    /// The pod network's second octet.
    pub network: u8,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    _runtime: tokio::runtime::Runtime,
    _cluster: Cluster,
}

/// The source VM whose first disk the shared cluster fails to convert.
pub const FAILING_VM: &str = "ferry-plain";

static ENV: OnceLock<Env> = OnceLock::new();

/// The environment, started on first use.
pub fn env() -> &'static Env {
    ENV.get_or_init(|| {
        std::thread::spawn(|| {
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
            let (plane, cluster, network) = runtime.block_on(async {
                let plane = ControlPlane::builder()
                    .garbage_collection()
                    .start()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut config = ClusterConfig::new(data.path());
                config.shares = vec![share.path().to_owned()];
                config.pace = Pace::fast();
                config.faults = Faults {
                    disk_failures: vec![DiskFailure {
                        vm: FAILING_VM.into(),
                        disk: 1,
                        times: None,
                    }],
                    ..Faults::default()
                };
                let network = config.pod_network.octet;
                let client = plane.client().expect("a client");
                let cluster = Cluster::start(client, config)
                    .await
                    .expect("the cluster starts");
                (plane, cluster, network)
            });
            Env {
                plane,
                data: data.path().to_owned(),
                share: share.path().to_owned(),
                network,
                _dirs: (data, share),
                _runtime: runtime,
                _cluster: cluster,
            }
        })
        .join()
        .expect("starting the shared environment")
    })
}

/// A client for the test's own runtime.
pub fn client() -> kube::Client {
    env().plane.client().expect("a client")
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
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:016x}{:08x}", nanos, std::process::id())
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
