//! Starting, watching, restarting and stopping one real control plane.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::binaries::Binaries;
use crate::error::{Error, Result};
use crate::flags::{self, Layout};
use crate::home;
use crate::process::{Server, Watchdog};

/// The kube-controller-manager controllers that do what kube-apiserver leaves to
/// controllers and Ferry relies on: garbage collection of owned objects (owner
/// references, `foregroundDeletion`), namespace deletion, each namespace's `default`
/// ServiceAccount and its token, and the PV/PVC protection controllers that remove
/// the `kubernetes.io/pv-protection` and `kubernetes.io/pvc-protection` finalizers
/// (without them a deleted claim or volume stays `Terminating` for ever).
pub const GC_CONTROLLERS: [&str; 6] = [
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "persistentvolume-protection-controller",
    "persistentvolumeclaim-protection-controller",
];

/// The controller whose presence turns kube-apiserver's `ServiceAccount` admission
/// plugin on (see [`Builder::controllers`]).
const SERVICE_ACCOUNT_CONTROLLER: &str = "serviceaccount-controller";

/// How long [`Builder::start`] waits for kube-apiserver's `/readyz` by default. A cold
/// start takes a few seconds on 2 cores; this leaves room for a loaded machine.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a graceful stop waits after SIGTERM before it kills a server.
/// kube-apiserver drains its requests in a second or two; etcd closes at once.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(30);

/// How many times a start is tried when a port picked as free was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// Options for starting a [`ControlPlane`].
#[derive(Debug, Clone)]
pub struct Builder {
    binaries: Option<Binaries>,
    controllers: Vec<String>,
    apiserver_args: Vec<String>,
    ready_timeout: Duration,
    stop_grace: Duration,
    data_dir: Option<PathBuf>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            binaries: None,
            controllers: Vec::new(),
            apiserver_args: Vec::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
            stop_grace: DEFAULT_STOP_GRACE,
            data_dir: None,
        }
    }
}

impl Builder {
    /// Uses these binaries instead of [`Binaries::locate`].
    pub fn binaries(mut self, binaries: Binaries) -> Self {
        self.binaries = Some(binaries);
        self
    }

    /// Also runs kube-controller-manager with these controllers (its `--controllers`
    /// names, e.g. [`GC_CONTROLLERS`]). Without this call, no controller runs. When
    /// they include `serviceaccount-controller`, kube-apiserver's `ServiceAccount`
    /// admission plugin is on, as on a real cluster; without that controller it is
    /// off, since no namespace would get the `default` ServiceAccount it requires.
    pub fn controllers<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.controllers = names.into_iter().map(Into::into).collect();
        self
    }

    /// Runs kube-controller-manager with [`GC_CONTROLLERS`].
    pub fn garbage_collection(self) -> Self {
        self.controllers(GC_CONTROLLERS)
    }

    /// Adds a kube-apiserver flag (after the harness's own, so it can override them).
    pub fn apiserver_arg(mut self, arg: impl Into<String>) -> Self {
        self.apiserver_args.push(arg.into());
        self
    }

    /// How long to wait for kube-apiserver to be ready.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// How long a graceful stop waits after SIGTERM ([`DEFAULT_STOP_GRACE`]).
    pub fn stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    /// Keeps everything in `dir` (created if missing) instead of a temp dir: etcd's
    /// data (written with fsync), the keys, the token, the kubeconfig and the logs.
    /// A later start on the same dir finds every object again, with the same CA,
    /// token and service-account keys, and the same ports when they are free (the
    /// kubeconfig is rewritten if they are not). Stopping is graceful (SIGTERM, then
    /// [`Builder::stop_grace`]) and leaves the dir in place.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Starts etcd, kube-apiserver and (if asked) kube-controller-manager, and returns
    /// once kube-apiserver's `/readyz` (and kube-controller-manager's `/healthz`) says ok.
    pub async fn start(self) -> Result<ControlPlane> {
        let binaries = match &self.binaries {
            Some(b) => b.clone(),
            None => Binaries::locate()?,
        };
        // kube-rs builds its TLS config from the process-wide rustls provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut attempt = 1;
        loop {
            match ControlPlane::start_once(&self, &binaries).await {
                Err(e) if e.is_port_conflict() && attempt < PORT_ATTEMPTS => {
                    tracing::debug!(attempt, "a picked port was taken meanwhile; retrying");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn service_accounts(&self) -> bool {
        self.controllers
            .iter()
            .any(|c| c == SERVICE_ACCOUNT_CONTROLLER)
    }
}

/// A running etcd + kube-apiserver (+ optionally kube-controller-manager) on loopback.
/// In a fresh temp dir by default: dropping it kills the processes and removes the
/// dir. On a [`Builder::data_dir`]: dropping or stopping it stops the processes
/// gracefully and keeps the dir for the next start.
pub struct ControlPlane {
    // Stopped in Drop, in this order; the temp dir goes last.
    watchdog: Watchdog,
    controller_manager: Option<Server>,
    apiserver: Server,
    etcd: Server,
    layout: Layout,
    token: String,
    ca_pem: String,
    config: kube::Config,
    binaries: Binaries,
    options: Builder,
    dir: Option<TempDir>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret: never printed.
        f.debug_struct("ControlPlane")
            .field("url", &self.url())
            .field("etcd_url", &self.etcd_url())
            .field("dir", &self.layout.dir)
            .field("persistent", &self.is_persistent())
            .field("pids", &self.pids())
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Options for starting one; `ControlPlane::builder().start().await` starts the
    /// plain etcd + kube-apiserver pair.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts etcd and kube-apiserver with the default options.
    pub async fn start() -> Result<Self> {
        Builder::default().start().await
    }

    async fn start_once(opts: &Builder, binaries: &Binaries) -> Result<Self> {
        let (temp, root) = match &opts.data_dir {
            Some(dir) => {
                create_private_dir(dir)?;
                (None, dir.clone())
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("ferry-realkube-")
                    .tempdir()
                    .map_err(|e| Error::io("create", std::env::temp_dir(), e))?;
                let root = temp.path().to_path_buf();
                (Some(temp), root)
            }
        };
        let persistent = temp.is_none();
        let home::Prepared {
            layout,
            pki,
            token,
            kubeconfig: kubeconfig_text,
        } = home::prepare(&root, persistent)?;
        let kc = kube::config::Kubeconfig::from_yaml(&kubeconfig_text)?;
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;

        // A persistent dir outlives the harness: the watchdog must never remove it.
        let mut watchdog = Watchdog::start(temp.as_ref().map(TempDir::path))?;
        let mut etcd = Server::spawn(
            "etcd",
            &binaries.etcd(),
            &flags::etcd(&layout, persistent),
            layout.log("etcd"),
            &mut watchdog,
        )?;
        let deadline = Instant::now() + opts.ready_timeout;
        wait_for_port(
            &mut etcd,
            layout.etcd_client_port,
            deadline,
            opts.ready_timeout,
        )
        .await?;

        let mut apiserver = spawn_apiserver(opts, binaries, &layout, &mut watchdog)?;
        let client = kube::Client::try_from(config.clone())?;
        let mut watched = [&mut apiserver, &mut etcd];
        wait_for_ok(
            &client,
            "/readyz",
            &mut watched,
            deadline,
            opts.ready_timeout,
        )
        .await?;

        let controller_manager = if opts.controllers.is_empty() {
            None
        } else {
            let mut kcm = Server::spawn(
                "kube-controller-manager",
                &binaries.kube_controller_manager(),
                &flags::kube_controller_manager(&layout, &opts.controllers),
                layout.log("kube-controller-manager"),
                &mut watchdog,
            )?;
            // Its /healthz needs no credentials: don't send the token there.
            let mut kcm_config = config.clone();
            kcm_config.cluster_url = parse_url(layout.controller_manager_url())?;
            kcm_config.auth_info = Default::default();
            let kcm_client = kube::Client::try_from(kcm_config)?;
            let mut watched = [&mut kcm, &mut apiserver, &mut etcd];
            let deadline = Instant::now() + opts.ready_timeout;
            wait_for_ok(
                &kcm_client,
                "/healthz",
                &mut watched,
                deadline,
                opts.ready_timeout,
            )
            .await?;
            Some(kcm)
        };
        tracing::debug!(url = %layout.apiserver_url(), dir = %layout.dir.display(), "real control plane ready");

        Ok(ControlPlane {
            watchdog,
            controller_manager,
            apiserver,
            etcd,
            layout,
            token,
            ca_pem: pki.ca_pem,
            config,
            binaries: binaries.clone(),
            options: opts.clone(),
            dir: temp,
        })
    }

    /// kube-apiserver's URL, `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.layout.apiserver_url()
    }

    /// etcd's client URL, `http://127.0.0.1:<port>`.
    pub fn etcd_url(&self) -> String {
        self.layout.etcd_url()
    }

    /// The bearer token of a `system:masters` user. A secret: don't log it.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The PEM of the CA that signed kube-apiserver's serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The kubeconfig file (mode 0600) for kubectl and other clients.
    pub fn kubeconfig(&self) -> PathBuf {
        self.layout.kubeconfig()
    }

    /// A kube-rs configuration for this control plane.
    pub fn config(&self) -> kube::Config {
        self.config.clone()
    }

    /// A new kube-rs client for this control plane.
    pub fn client(&self) -> Result<kube::Client> {
        Ok(kube::Client::try_from(self.config.clone())?)
    }

    /// The binaries it runs.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// The directory holding its data, keys and logs (`<server>.log`): a temp dir, or
    /// the [`Builder::data_dir`].
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    /// True when it runs on a [`Builder::data_dir`] that outlives it.
    pub fn is_persistent(&self) -> bool {
        self.dir.is_none()
    }

    /// The TCP ports it listens on (etcd client and peer, kube-apiserver, and
    /// kube-controller-manager's if it runs).
    pub fn ports(&self) -> Vec<u16> {
        let mut ports = vec![
            self.layout.etcd_client_port,
            self.layout.etcd_peer_port,
            self.layout.apiserver_port,
        ];
        if self.controller_manager.is_some() {
            ports.push(self.layout.controller_manager_port);
        }
        ports
    }

    /// The ids of every process it started (servers and the watchdog), for leak checks.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.watchdog.pid(), self.etcd.pid(), self.apiserver.pid()];
        pids.extend(self.controller_manager.as_ref().map(Server::pid));
        pids
    }

    /// Each server's name (`etcd`, `kube-apiserver`, `kube-controller-manager`) and
    /// process id, e.g. to read their memory from `/proc/<pid>/status`.
    pub fn processes(&self) -> Vec<(&'static str, u32)> {
        [Some(&self.etcd), Some(&self.apiserver)]
            .into_iter()
            .chain([self.controller_manager.as_ref()])
            .flatten()
            .map(|s| (s.name(), s.pid()))
            .collect()
    }

    /// Fails with [`Error::Exited`] if a server has exited (e.g. kube-controller-manager
    /// rejected a flag), with the end of its log.
    pub fn check_running(&mut self) -> Result<()> {
        let servers = [Some(&mut self.etcd), Some(&mut self.apiserver)]
            .into_iter()
            .chain([self.controller_manager.as_mut()])
            .flatten();
        for server in servers {
            if let Some(status) = server.exited() {
                return Err(server.exited_error(status));
            }
        }
        Ok(())
    }

    /// Restarts kube-apiserver alone (SIGTERM, then the same flags on the same port)
    /// and waits for its `/readyz`; etcd and kube-controller-manager keep running.
    /// Its watch cache starts afresh at etcd's current revision, so a watch from an
    /// older resourceVersion then gets `410 Gone`, as after a long disconnect from a
    /// real cluster. Blocks the calling thread for the graceful stop.
    pub async fn restart_apiserver(&mut self) -> Result<()> {
        self.apiserver.terminate(self.options.stop_grace);
        self.apiserver = spawn_apiserver(
            &self.options,
            &self.binaries,
            &self.layout,
            &mut self.watchdog,
        )?;
        let client = self.client()?;
        let timeout = self.options.ready_timeout;
        let mut watched = [&mut self.apiserver, &mut self.etcd];
        wait_for_ok(
            &client,
            "/readyz",
            &mut watched,
            Instant::now() + timeout,
            timeout,
        )
        .await
    }

    /// Compacts etcd's history up to its current revision (what `etcdctl compact
    /// --physical` does, through etcd's JSON gateway) and returns that revision.
    /// Reads at older revisions, such as a list's `continue` token issued before,
    /// then fail as on a real cluster after kube-apiserver's periodic compaction.
    pub async fn compact_etcd(&self) -> Result<u64> {
        let mut config = kube::Config::new(parse_url(self.etcd_url())?);
        config.read_timeout = Some(Duration::from_secs(30));
        let client = kube::Client::try_from(config)?;
        // A one-key range read answers with the store's current revision.
        let range = etcd_call(
            &client,
            "/v3/kv/range",
            r#"{"key":"AA==","limit":1}"#.to_string(),
            "reading the revision",
        )
        .await?;
        let revision = revision_of(&range).ok_or_else(|| Error::Etcd {
            action: "reading the revision",
            reason: format!("no header.revision in {range}"),
        })?;
        etcd_call(
            &client,
            "/v3/kv/compaction",
            format!(r#"{{"revision":"{revision}","physical":true}}"#),
            "compaction",
        )
        .await?;
        Ok(revision)
    }

    /// Stops every process and waits for them to be gone. A temp dir is removed (the
    /// processes are killed); a [`Builder::data_dir`] is kept (the processes are
    /// stopped gracefully, which blocks the calling thread for up to the grace
    /// period each).
    pub fn stop(mut self) -> Result<()> {
        self.stop_all();
        match self.dir.take() {
            Some(dir) => {
                let path = dir.path().to_path_buf();
                dir.close().map_err(|e| Error::io("remove", path, e))
            }
            None => Ok(()),
        }
    }

    fn stop_all(&mut self) {
        // The watchdog first, so it never kills a pid the system has reused.
        self.watchdog.stop();
        let persistent = self.is_persistent();
        let grace = self.options.stop_grace;
        let servers = [self.controller_manager.as_mut(), Some(&mut self.apiserver)]
            .into_iter()
            .flatten()
            .chain([&mut self.etcd]);
        for server in servers {
            if persistent {
                server.terminate(grace);
            } else {
                server.stop();
            }
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop_all();
        // `dir` (a TempDir) is removed when the field drops, after the processes are gone.
    }
}

fn spawn_apiserver(
    opts: &Builder,
    binaries: &Binaries,
    layout: &Layout,
    watchdog: &mut Watchdog,
) -> Result<Server> {
    Server::spawn(
        "kube-apiserver",
        &binaries.kube_apiserver(),
        &flags::kube_apiserver(layout, opts.service_accounts(), &opts.apiserver_args),
        layout.log("kube-apiserver"),
        watchdog,
    )
}

fn parse_url(url: String) -> Result<http::Uri> {
    url.parse()
        .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl {
            reason: e.to_string(),
            url,
        })
}

/// Creates `dir` (and its parents) if missing, owner-only: it will hold keys.
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create", dir, e))
}

/// POSTs `body` to etcd's JSON gateway at `path`; the answer's text.
async fn etcd_call(
    client: &kube::Client,
    path: &str,
    body: String,
    action: &'static str,
) -> Result<String> {
    let request = http::Request::post(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.into_bytes())
        .map_err(|e| Error::Etcd {
            action,
            reason: e.to_string(),
        })?;
    client.request_text(request).await.map_err(|e| Error::Etcd {
        action,
        reason: e.to_string(),
    })
}

/// The `header.revision` of an etcd gateway answer (a JSON string of digits, as
/// protobuf's JSON mapping writes 64-bit integers).
fn revision_of(answer: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(answer).ok()?;
    match value.pointer("/header/revision")? {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Waits until `server` accepts TCP connections on `port`.
async fn wait_for_port(
    server: &mut Server,
    port: u16,
    deadline: Instant,
    waited: Duration,
) -> Result<()> {
    loop {
        if let Some(status) = server.exited() {
            return Err(server.exited_error(status));
        }
        let last_check = match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(_) => return Ok(()),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(Error::NotReady {
                name: server.name(),
                waited,
                last_check,
                log_tail: server.log_tail(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `path` on `client`'s server answers `ok`, failing early if any of
/// `servers` exits. The first server is the one being waited for.
async fn wait_for_ok(
    client: &kube::Client,
    path: &str,
    servers: &mut [&mut Server],
    deadline: Instant,
    waited: Duration,
) -> Result<()> {
    loop {
        for server in servers.iter_mut() {
            if let Some(status) = server.exited() {
                return Err(server.exited_error(status));
            }
        }
        let request = http::Request::get(path).body(Vec::new());
        let last_check = match request {
            Ok(request) => {
                let call = client.request_text(request);
                match tokio::time::timeout(Duration::from_secs(5), call).await {
                    Ok(Ok(body)) if body.trim() == "ok" => return Ok(()),
                    Ok(Ok(body)) => format!("GET {path}: {body}"),
                    Ok(Err(e)) => format!("GET {path}: {e}"),
                    Err(_) => format!("GET {path}: no answer within 5s"),
                }
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            let (name, log_tail) = servers
                .first()
                .map(|s| (s.name(), s.log_tail()))
                .unwrap_or_default();
            return Err(Error::NotReady {
                name,
                waited,
                last_check,
                log_tail,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_is_read_as_etcd_writes_it() {
        let answer =
            r#"{"header":{"cluster_id":"1","member_id":"2","revision":"1234","raft_term":"3"}}"#;
        assert_eq!(revision_of(answer), Some(1234));
        assert_eq!(revision_of(r#"{"header":{"revision":7}}"#), Some(7));
        assert_eq!(revision_of(r#"{"header":{}}"#), None);
        assert_eq!(revision_of("not json"), None);
    }

    #[test]
    fn service_account_admission_follows_its_controller() {
        assert!(!Builder::default().service_accounts());
        assert!(Builder::default().garbage_collection().service_accounts());
        assert!(
            !Builder::default()
                .controllers(["garbage-collector-controller"])
                .service_accounts()
        );
    }
}
