//! Starting and stopping the server: storage, bootstrap objects, in-process
//! controllers, the listener, the token and the kubeconfig.

mod kubeconfig;
mod listener;
pub mod tls;

use crate::controllers;
use crate::http::{HttpState, router};
use crate::logs::{MemoryLogs, PodLogSource};
use crate::metrics::{Counters, CountersSnapshot};
use crate::ops::{Api, Settings, WriteOptions};
use crate::resource::Registry;
use crate::status::ApiError;
use crate::storage::{Backend, MemoryBackend, RedbBackend, StorageError};
use crate::store::{Store, StoreConfig};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub use kubeconfig::write_kubeconfig;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Storage could not be opened or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The listen address is not valid or cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The data directory or kubeconfig could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Neither a data directory nor in-memory storage was chosen.
    #[error("choose a data directory or in-memory storage")]
    NoStorage,
    /// A stored CRD could not be served again.
    #[error("stored CustomResourceDefinition {name} cannot be served: {reason}")]
    Crd {
        /// CRD name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Creating a bootstrap object failed.
    #[error("cannot create {what}: {source}")]
    Bootstrap {
        /// What.
        what: String,
        /// Why.
        source: ApiError,
    },
}

/// Entry point: `ApiServer::builder()`.
#[derive(Debug)]
pub struct ApiServer;

impl ApiServer {
    /// A builder with the defaults: 127.0.0.1:0, token authentication, plain HTTP,
    /// storage to be chosen.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

/// Server configuration.
pub struct Builder {
    data_dir: Option<PathBuf>,
    in_memory: bool,
    listen: String,
    tls: bool,
    auth: bool,
    token: Option<String>,
    logs: Option<Arc<dyn PodLogSource>>,
    settings: Settings,
    store: StoreConfig,
    kubeconfig: Option<PathBuf>,
    gc_interval: Duration,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("data_dir", &self.data_dir)
            .field("in_memory", &self.in_memory)
            .field("listen", &self.listen)
            .field("tls", &self.tls)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            data_dir: None,
            in_memory: false,
            listen: "127.0.0.1:0".into(),
            tls: true,
            auth: true,
            token: None,
            logs: None,
            settings: Settings::default(),
            store: StoreConfig::default(),
            kubeconfig: None,
            gc_interval: Duration::from_secs(30),
        }
    }
}

impl Builder {
    /// Keep everything in memory (nothing survives the process).
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// Store in `dir/db.redb` and write `dir/kubeconfig`.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = addr.into();
        self
    }

    /// Serve HTTPS with a self-signed CA that the kubeconfig carries (the default).
    /// Plain HTTP is for in-process clients: kubectl (client-go) never sends a
    /// bearer token over plain HTTP, so with authentication on only kube-rs
    /// clients built from [`RunningApiServer::client_config`] get in.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Use this bearer token instead of a random one.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Turn bearer-token authentication off (every request is allowed).
    pub fn without_auth(mut self) -> Self {
        self.auth = false;
        self
    }

    /// Where pod logs come from (default: an in-memory buffer, see
    /// [`RunningApiServer::memory_logs`]).
    pub fn log_source(mut self, source: Arc<dyn PodLogSource>) -> Self {
        self.logs = Some(source);
        self
    }

    /// How often idle watches that asked for them get bookmarks (default 60 s).
    pub fn bookmark_interval(mut self, d: Duration) -> Self {
        self.settings.bookmark_interval = d;
        self
    }

    /// The `WatchList` feature gate (streaming lists with `sendInitialEvents`); off
    /// by default, as in kube-apiserver 1.33.
    pub fn watch_list(mut self, on: bool) -> Self {
        self.settings.watch_list = on;
        self
    }

    /// Events kept per resource for watches and old-resourceVersion lists
    /// (default 10 000); older resourceVersions get `410`.
    pub fn events_per_resource(mut self, n: usize) -> Self {
        self.store.events_per_resource = n;
        self
    }

    /// Where to write the kubeconfig (default: `data_dir/kubeconfig`, or a
    /// temporary directory for in-memory servers).
    pub fn kubeconfig_path(mut self, p: impl Into<PathBuf>) -> Self {
        self.kubeconfig = Some(p.into());
        self
    }

    /// How often the garbage collector re-scans everything (events drive it; the
    /// scan is a safety net). Default 30 s.
    pub fn gc_resync(mut self, d: Duration) -> Self {
        self.gc_interval = d;
        self
    }

    /// Opens storage, bootstraps, starts controllers and the listener.
    /// Storage, registry, bootstrap objects and controllers: everything but the
    /// listener.
    async fn prepare(&self) -> Result<Prepared, StartError> {
        let (backend, data_dir): (Arc<dyn Backend>, Option<PathBuf>) =
            match (&self.data_dir, self.in_memory) {
                (dir, true) => (Arc::new(MemoryBackend), dir.clone()),
                (Some(dir), false) => {
                    let db = dir.join("db.redb");
                    std::fs::create_dir_all(dir).map_err(|source| StartError::Io {
                        path: dir.clone(),
                        source,
                    })?;
                    (Arc::new(RedbBackend::open(&db)?), Some(dir.clone()))
                }
                (None, false) => return Err(StartError::NoStorage),
            };
        if let Some(dir) = &data_dir {
            std::fs::create_dir_all(dir).map_err(|source| StartError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        let temp = match (&data_dir, &self.kubeconfig) {
            (None, None) => {
                let d = std::env::temp_dir()
                    .join(format!("ferry-apiserver-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&d).map_err(|source| StartError::Io {
                    path: d.clone(),
                    source,
                })?;
                Some(d)
            }
            _ => None,
        };
        let (store, skipped) = Store::open(backend, self.store.clone())?;
        for s in &skipped {
            tracing::error!(key = %s.key, reason = %s.reason, "stored object cannot be read; left in the database untouched");
        }
        let registry = Arc::new(Registry::new(crate::builtin::builtins()));
        let memory_logs = Arc::new(MemoryLogs::default());
        let logs: Arc<dyn PodLogSource> = match &self.logs {
            Some(l) => l.clone(),
            None => Arc::new(memory_logs.clone()),
        };
        let counters = Arc::new(Counters::default());
        let api = Arc::new(Api::new(
            store,
            registry,
            counters,
            logs,
            self.settings.clone(),
        ));
        controllers::crd::restore(&api)
            .map_err(|(name, reason)| StartError::Crd { name, reason })?;
        bootstrap(&api).await?;
        let tasks = controllers::start(&api, self.gc_interval);
        Ok(Prepared {
            api,
            memory_logs,
            data_dir,
            temp,
            tasks,
        })
    }

    /// Everything but the listener, for tests that drive the router directly
    /// (`tower::ServiceExt::oneshot`). Authentication uses [`Builder::token`] (or a
    /// random token, returned) unless [`Builder::without_auth`] was called.
    pub async fn start_in_process(self) -> Result<InProcess, StartError> {
        let prepared = self.prepare().await?;
        let token = if self.auth {
            Some(
                self.token
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            )
        } else {
            None
        };
        let state = Arc::new(HttpState {
            api: prepared.api.clone(),
            token: token.clone(),
            address: "127.0.0.1:443".into(),
        });
        Ok(InProcess {
            router: router(state),
            api: prepared.api,
            memory_logs: prepared.memory_logs,
            token,
            tasks: prepared.tasks,
        })
    }

    /// Opens storage, bootstraps, starts controllers and the listener.
    pub async fn start(self) -> Result<RunningApiServer, StartError> {
        let started = std::time::Instant::now();
        let Prepared {
            api,
            memory_logs,
            data_dir,
            temp,
            tasks,
        } = self.prepare().await?;

        let addr: SocketAddr = self.listen.parse().map_err(|e| StartError::Listen {
            addr: self.listen.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
        let tcp = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen {
                addr: self.listen.clone(),
                source,
            })?;
        let local = tcp.local_addr().map_err(|source| StartError::Listen {
            addr: self.listen.clone(),
            source,
        })?;
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            local.ip().to_string()
        };
        let token = if self.auth {
            Some(match &self.token {
                Some(t) => t.clone(),
                None => persisted(&data_dir, "token", || {
                    Ok(format!(
                        "{}{}",
                        uuid::Uuid::new_v4().simple(),
                        uuid::Uuid::new_v4().simple()
                    ))
                })?,
            })
        } else {
            None
        };
        let tls = if self.tls {
            let ca_key = persisted(&data_dir, "ca-key.pem", || Ok(tls::new_ca_key()?))?;
            let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string()];
            if !hosts.contains(&host) {
                hosts.push(host.clone());
            }
            let known_ca = data_dir
                .as_ref()
                .and_then(|d| std::fs::read_to_string(d.join("ca.pem")).ok());
            let material = tls::generate(&hosts, &ca_key, known_ca.as_deref())?;
            if let Some(d) = &data_dir
                && known_ca.as_deref() != Some(material.ca_pem.as_str())
            {
                let p = d.join("ca.pem");
                kubeconfig::write_private(&p, &material.ca_pem).map_err(|source| {
                    StartError::Io {
                        path: p.clone(),
                        source,
                    }
                })?;
            }
            Some(material)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{host}:{}", local.port());
        let state = Arc::new(HttpState {
            api: api.clone(),
            token: token.clone(),
            address: format!("{host}:{}", local.port()),
        });
        let app = router(state);
        let shutdown = api.shutdown.clone();
        let server: JoinHandle<()> = match &tls {
            Some(t) => {
                let l = listener::TlsListener::new(tcp, t.config.clone()).map_err(|source| {
                    StartError::Listen {
                        addr: self.listen.clone(),
                        source,
                    }
                })?;
                let s = shutdown.clone();
                tokio::spawn(async move {
                    let _ = axum::serve(l, app)
                        .with_graceful_shutdown(async move { s.cancelled().await })
                        .await;
                })
            }
            None => {
                let l = listener::PlainListener::new(tcp);
                let s = shutdown.clone();
                tokio::spawn(async move {
                    let _ = axum::serve(l, app)
                        .with_graceful_shutdown(async move { s.cancelled().await })
                        .await;
                })
            }
        };
        let kubeconfig_path = match (&self.kubeconfig, &data_dir, &temp) {
            (Some(p), _, _) => p.clone(),
            (None, Some(d), _) => d.join("kubeconfig"),
            (None, None, Some(t)) => t.join("kubeconfig"),
            (None, None, None) => std::env::temp_dir().join("ferry-apiserver-kubeconfig"),
        };
        write_kubeconfig(
            &kubeconfig_path,
            &url,
            token.as_deref(),
            tls.as_ref().map(|t| t.ca_pem.as_str()),
        )
        .map_err(|source| StartError::Io {
            path: kubeconfig_path.clone(),
            source,
        })?;
        tracing::info!(
            url = %url,
            storage = %describe(&data_dir, self.in_memory),
            objects = api.store.current_rv(),
            startup_ms = started.elapsed().as_millis() as u64,
            "ferry-apiserver started"
        );
        Ok(RunningApiServer {
            url,
            token,
            kubeconfig_path,
            ca_der: tls.as_ref().map(|t| t.ca_der.clone()),
            ca_pem: tls.as_ref().map(|t| t.ca_pem.clone()),
            api,
            memory_logs,
            server: Some(server),
            tasks,
            temp,
            startup: started.elapsed(),
        })
    }
}

struct Prepared {
    api: Arc<Api>,
    memory_logs: Arc<MemoryLogs>,
    data_dir: Option<PathBuf>,
    temp: Option<PathBuf>,
    tasks: Vec<JoinHandle<()>>,
}

/// A server without a listener: its router and state.
pub struct InProcess {
    /// The router (an axum service).
    pub router: axum::Router,
    /// The operations and state.
    pub api: Arc<Api>,
    /// The in-memory pod log buffer.
    pub memory_logs: Arc<MemoryLogs>,
    /// The bearer token requests need (`None` when authentication is off).
    pub token: Option<String>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess").finish_non_exhaustive()
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.api.shutdown.cancel();
        self.api.drop_watches();
        for t in self.tasks.drain(..) {
            t.abort();
        }
        // As for `RunningApiServer`: the database is released with the handle.
        self.api.store.close();
    }
}

/// A secret kept in the data directory (mode 0600) so that restarts keep the
/// kubeconfig valid; made fresh when there is no data directory.
fn persisted(
    dir: &Option<PathBuf>,
    file: &str,
    make: impl FnOnce() -> Result<String, StartError>,
) -> Result<String, StartError> {
    let Some(dir) = dir else { return make() };
    let path = dir.join(file);
    if let Ok(s) = std::fs::read_to_string(&path)
        && !s.trim().is_empty()
    {
        return Ok(s.trim().to_string());
    }
    let value = make()?;
    kubeconfig::write_private(&path, &value).map_err(|source| StartError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(value)
}

fn describe(dir: &Option<PathBuf>, in_memory: bool) -> String {
    match (dir, in_memory) {
        (_, true) => "memory".into(),
        (Some(d), false) => format!("redb:{}", d.join("db.redb").display()),
        (None, false) => "none".into(),
    }
}

/// The namespaces every cluster starts with.
pub const INITIAL_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

async fn bootstrap(api: &Arc<Api>) -> Result<(), StartError> {
    let Some(ns_def) = api.registry.resolve("", "v1", "namespaces") else {
        return Ok(());
    };
    let opts = WriteOptions {
        field_manager: "kube-apiserver".into(),
        ..WriteOptions::default()
    };
    for ns in INITIAL_NAMESPACES {
        if api.store.get(&api.key(&ns_def, "", ns)).is_some() {
            continue;
        }
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        match api.create(&ns_def, "", body, &opts).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(source) => {
                return Err(StartError::Bootstrap {
                    what: format!("namespace {ns}"),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// A running server.
pub struct RunningApiServer {
    url: String,
    token: Option<String>,
    kubeconfig_path: PathBuf,
    ca_der: Option<Vec<u8>>,
    ca_pem: Option<String>,
    api: Arc<Api>,
    memory_logs: Arc<MemoryLogs>,
    server: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    temp: Option<PathBuf>,
    startup: Duration,
}

impl std::fmt::Debug for RunningApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningApiServer")
            .field("url", &self.url)
            .field("kubeconfig", &self.kubeconfig_path)
            .finish_non_exhaustive()
    }
}

impl RunningApiServer {
    /// The base URL (`http://127.0.0.1:port`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bearer token ("" when authentication is off).
    pub fn token(&self) -> &str {
        self.token.as_deref().unwrap_or_default()
    }

    /// The kubeconfig written at start-up (mode 0600).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The CA certificate (PEM) when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// How long start-up took.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// A kube-rs configuration for this server.
    pub fn client_config(&self) -> kube::Config {
        let uri = self.url.parse().unwrap_or_default();
        let mut c = kube::Config::new(uri);
        c.default_namespace = "default".into();
        if let Some(t) = &self.token {
            c.auth_info.token = Some(t.clone().into());
        }
        if let Some(ca) = &self.ca_der {
            c.root_cert = Some(vec![ca.clone()]);
        }
        c.read_timeout = Some(Duration::from_secs(295));
        c
    }

    /// A kube-rs client for this server.
    pub fn client(&self) -> Result<kube::Client, kube::Error> {
        kube::Client::try_from(self.client_config())
    }

    /// The request counters so far.
    pub fn counters(&self) -> CountersSnapshot {
        self.api.counters.snapshot()
    }

    /// Clears the request counters.
    pub fn reset_counters(&self) {
        self.api.counters.reset();
    }

    /// The in-memory pod log buffer (used when no other log source was given).
    pub fn memory_logs(&self) -> Arc<MemoryLogs> {
        self.memory_logs.clone()
    }

    /// Breaks every open watch connection, as a network failure would.
    pub fn drop_watches(&self) {
        self.api.drop_watches();
    }

    /// Forgets every watch event up to now: watches and continue tokens from older
    /// resourceVersions get `410`.
    pub fn compact(&self) {
        self.api.store.compact();
    }

    /// The newest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.api.store.current_rv()
    }

    /// The operations, for in-process callers (sandbox, benchmarks).
    pub fn api(&self) -> Arc<Api> {
        self.api.clone()
    }

    /// Creates objects directly (no HTTP), e.g. to preload a benchmark. Each object
    /// needs `apiVersion`, `kind` and `metadata.name` (and `metadata.namespace` for
    /// namespaced kinds).
    pub async fn preload(&self, objects: Vec<Value>) -> Result<usize, ApiError> {
        let opts = WriteOptions {
            field_manager: "preload".into(),
            ..WriteOptions::default()
        };
        let mut n = 0;
        for o in objects {
            let av = o
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default();
            let def =
                self.api.registry.by_kind(av, kind).ok_or_else(|| {
                    ApiError::bad_request(format!("no resource serves {av} {kind}"))
                })?;
            let ns = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            self.api.create(&def, &ns, o, &opts).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Stops the server: ends watches, stops controllers, waits for the listener.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        self.api.shutdown.cancel();
        self.api.drop_watches();
        // Controllers end: aborted, then joined, so none of them still holds the
        // store when it closes.
        let tasks: Vec<JoinHandle<()>> = self.tasks.drain(..).collect();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        if let Some(s) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }
        // Release the database so the same data directory can be opened again.
        let store = self.api.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
        if let Some(t) = self.temp.take() {
            let _ = std::fs::remove_dir_all(t);
        }
    }
}

impl Drop for RunningApiServer {
    fn drop(&mut self) {
        self.api.shutdown.cancel();
        self.api.drop_watches();
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
        // Release the database now (a no-op after `shutdown`): tasks still winding
        // down would otherwise hold it, and a restart on the same data directory
        // would find it in use. Closing waits for queued commits only.
        self.api.store.close();
        if let Some(t) = self.temp.take() {
            let _ = std::fs::remove_dir_all(t);
        }
    }
}

/// Options of the standalone server (`ferry apiserver`).
#[derive(Debug, Clone)]
pub struct Standalone {
    /// Where objects are stored (`db.redb`) and the kubeconfig is written.
    pub data_dir: PathBuf,
    /// Where to listen.
    pub listen: String,
    /// Keep objects in memory only (the kubeconfig still goes to `data_dir`).
    pub in_memory: bool,
}

/// Runs the server until Ctrl-C: prints the kubeconfig path on stdout (for
/// scripts) and how to use it on stderr.
pub async fn run_standalone(opts: Standalone) -> Result<(), StartError> {
    let mut b = ApiServer::builder()
        .listen(opts.listen)
        .kubeconfig_path(opts.data_dir.join("kubeconfig"))
        .data_dir(&opts.data_dir);
    if opts.in_memory {
        b = b.in_memory();
    }
    let server = b.start().await?;
    println!("{}", server.kubeconfig_path().display());
    eprintln!(
        "ferry apiserver listening on {} ({} objects, started in {} ms); try: kubectl --kubeconfig {} api-resources; Ctrl-C stops it",
        server.url(),
        server.api().store.count_all(),
        server.startup_time().as_millis(),
        server.kubeconfig_path().display()
    );
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    Ok(())
}
