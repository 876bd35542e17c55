//! The server under test, behind a small abstraction so protocol tests can run
//! against the embedded server (default) or a real kube-apiserver:
//!
//! - `FERRY_APISERVER_UNDER_TEST` unset or `embedded`: an in-memory embedded server
//!   per test.
//! - `FERRY_APISERVER_UNDER_TEST=real`: the real kube-apiserver + etcd (and
//!   kube-controller-manager's garbage collector, namespace, service-account and
//!   PV/PVC protection controllers), started by `ferry-realkube` from the binaries
//!   `scripts/test` builds: one per test binary ([`shared_plane`]), since tests
//!   work in namespaces of their own; tests that change the cluster as a whole
//!   (CRDs, fixed namespace names) call [`TestTarget::start_alone`] for a control
//!   plane of their own. Or, with `FERRY_REAL_KUBECONFIG=<path>`, the cluster that
//!   kubeconfig names. Tests that need what only the embedded server offers (forced
//!   watch disconnects, compaction on demand, an in-process log source) say so and
//!   skip that part.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ferry_apiserver::{ApiServer, RunningApiServer};
use kube::Client;
use std::path::PathBuf;
use std::time::Duration;

/// Which server a test talks to.
pub struct TestTarget {
    /// A kubeconfig for kubectl.
    pub kubeconfig: PathBuf,
    /// A kube-rs client.
    pub client: Client,
    /// The embedded server, when that is the target.
    pub server: Option<RunningApiServer>,
    /// The real control plane, when that is the target.
    pub real: Option<ferry_realkube::ControlPlane>,
}

/// Bounds every wait in the tests.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Whether the tests run against the real kube-apiserver.
pub fn real() -> bool {
    std::env::var("FERRY_APISERVER_UNDER_TEST").as_deref() == Ok("real")
}

/// How long `eventually` waits: the real garbage collector notices new custom
/// resource kinds only at its 30-second discovery resync.
pub fn patience() -> Duration {
    if real() {
        Duration::from_secs(90)
    } else {
        TIMEOUT
    }
}

impl TestTarget {
    /// The target chosen by the environment (against the real server: the test
    /// binary's shared control plane).
    pub async fn start() -> TestTarget {
        Self::start_with(|b| b).await
    }

    /// Like [`TestTarget::start`], but against the real server a control plane of
    /// the test's own, for tests that change the cluster as a whole.
    pub async fn start_alone() -> TestTarget {
        Self::start_target(|b| b, false).await
    }

    /// The target, with builder tweaks for the embedded server.
    pub async fn start_with(
        f: impl FnOnce(ferry_apiserver::Builder) -> ferry_apiserver::Builder,
    ) -> TestTarget {
        Self::start_target(f, true).await
    }

    async fn start_target(
        f: impl FnOnce(ferry_apiserver::Builder) -> ferry_apiserver::Builder,
        shared: bool,
    ) -> TestTarget {
        match std::env::var("FERRY_APISERVER_UNDER_TEST").as_deref() {
            Ok("real") => match std::env::var("FERRY_REAL_KUBECONFIG") {
                Ok(path) => {
                    let kc = kube::config::Kubeconfig::read_from(&path).expect("read kubeconfig");
                    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                        .await
                        .expect("kubeconfig");
                    TestTarget {
                        kubeconfig: PathBuf::from(path),
                        client: Client::try_from(cfg).expect("client"),
                        server: None,
                        real: None,
                    }
                }
                Err(_) if shared => {
                    let plane = shared_plane().await;
                    TestTarget {
                        kubeconfig: plane.kubeconfig(),
                        client: plane.client().expect("client"),
                        server: None,
                        real: None,
                    }
                }
                Err(_) => {
                    let plane = ferry_realkube::ControlPlane::builder()
                        .garbage_collection()
                        .start()
                        .await
                        .unwrap_or_else(|e| panic!("cannot start the real kube-apiserver ({e}); run scripts/test, which builds it"));
                    TestTarget {
                        kubeconfig: plane.kubeconfig(),
                        client: plane.client().expect("client"),
                        server: None,
                        real: Some(plane),
                    }
                }
            },
            _ => {
                let server = f(ApiServer::builder().in_memory())
                    .start()
                    .await
                    .expect("start embedded server");
                TestTarget {
                    kubeconfig: server.kubeconfig_path().to_path_buf(),
                    client: server.client().expect("client"),
                    server: Some(server),
                    real: None,
                }
            }
        }
    }

    /// The embedded server, or `None` (with a note) against a real one.
    pub fn embedded(&self, what: &str) -> Option<&RunningApiServer> {
        if self.server.is_none() {
            eprintln!("skipping the part that needs {what}: only the embedded server offers it");
        }
        self.server.as_ref()
    }

    /// A fresh namespace for one test.
    pub async fn namespace(&self, prefix: &str) -> String {
        use k8s_openapi::api::core::v1::Namespace;
        let api: kube::Api<Namespace> = kube::Api::all(self.client.clone());
        let ns = Namespace {
            metadata: kube::api::ObjectMeta {
                generate_name: Some(format!("{prefix}-")),
                ..Default::default()
            },
            ..Default::default()
        };
        let created = api
            .create(&Default::default(), &ns)
            .await
            .expect("create namespace");
        created.metadata.name.expect("generated name")
    }

    /// `apiserver_request_total` for a verb (`GET`, `LIST`, `POST`, ...) and
    /// resource, read from `/metrics` (works against both servers).
    pub async fn request_count(&self, verb: &str, resource: &str) -> u64 {
        let req = http::Request::get("/metrics")
            .body(Vec::new())
            .expect("request");
        let text = self.client.request_text(req).await.expect("metrics");
        let mut total = 0u64;
        for line in text.lines() {
            if !line.starts_with("apiserver_request_total{") {
                continue;
            }
            if line.contains(&format!("verb=\"{verb}\""))
                && line.contains(&format!("resource=\"{resource}\""))
                && let Some(v) = line.rsplit(' ').next().and_then(|n| n.parse::<f64>().ok())
            {
                total += v as u64;
            }
        }
        total
    }
}

/// The real control plane this test binary shares (started by the first test that
/// asks): etcd, kube-apiserver and kube-controller-manager with
/// [`ferry_realkube::GC_CONTROLLERS`]. It is never dropped: when the test process
/// exits, the harness's watchdog stops it and removes its temp dir.
pub async fn shared_plane() -> &'static ferry_realkube::ControlPlane {
    static PLANE: tokio::sync::OnceCell<ferry_realkube::ControlPlane> =
        tokio::sync::OnceCell::const_new();
    PLANE
        .get_or_init(|| async {
            ferry_realkube::ControlPlane::builder()
                .garbage_collection()
                .start()
                .await
                .unwrap_or_else(|e| {
                    panic!("cannot start the real kube-apiserver ({e}); run scripts/test, which builds it")
                })
        })
        .await
}

/// Waits for `cond` with a bound.
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + patience();
    loop {
        if cond().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
