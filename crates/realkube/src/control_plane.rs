//! Starting, watching and stopping one real control plane.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::binaries::Binaries;
use crate::error::{Error, Result};
use crate::flags::{self, Layout};
use crate::kubeconfig;
use crate::pki::{self, Pki};
use crate::process::{Server, Watchdog};

/// The kube-controller-manager controllers that do what kube-apiserver leaves to
/// controllers and Ferry relies on: garbage collection of owned objects (owner
/// references, `foregroundDeletion`), namespace deletion, and each namespace's
/// `default` ServiceAccount and its token.
pub const GC_CONTROLLERS: [&str; 4] = [
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
];

/// How long [`Builder::start`] waits for kube-apiserver's `/readyz` by default. A cold
/// start takes a few seconds on 2 cores; this leaves room for a loaded machine.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How many times a start is tried when a port picked as free was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// Options for starting a [`ControlPlane`].
#[derive(Debug, Clone)]
pub struct Builder {
    binaries: Option<Binaries>,
    controllers: Vec<String>,
    apiserver_args: Vec<String>,
    ready_timeout: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            binaries: None,
            controllers: Vec::new(),
            apiserver_args: Vec::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
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
    /// names, e.g. [`GC_CONTROLLERS`]). Without this call, no controller runs.
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

    /// Starts etcd, kube-apiserver and (if asked) kube-controller-manager, and returns
    /// once kube-apiserver's `/readyz` says ok.
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
}

/// A running etcd + kube-apiserver (+ optionally kube-controller-manager) on loopback,
/// in a fresh temp dir. Dropping it kills the processes and removes the dir.
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
    dir: Option<TempDir>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret: never printed.
        f.debug_struct("ControlPlane")
            .field("url", &self.url())
            .field("etcd_url", &self.etcd_url())
            .field("dir", &self.layout.dir)
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
        let dir = tempfile::Builder::new()
            .prefix("ferry-realkube-")
            .tempdir()
            .map_err(|e| Error::io("create", std::env::temp_dir(), e))?;
        let [
            etcd_client_port,
            etcd_peer_port,
            apiserver_port,
            controller_manager_port,
        ] = free_ports()?;
        let layout = Layout {
            dir: dir.path().to_path_buf(),
            etcd_client_port,
            etcd_peer_port,
            apiserver_port,
            controller_manager_port,
        };
        let pki = Pki::generate()?;
        let token = pki::new_token();
        let kubeconfig_text = kubeconfig::render(&layout.apiserver_url(), &pki.ca_pem, &token);
        write_files(&layout, &pki, &token, &kubeconfig_text)?;
        let kc = kube::config::Kubeconfig::from_yaml(&kubeconfig_text)?;
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;

        let mut watchdog = Watchdog::start(Some(dir.path()))?;
        let mut etcd = Server::spawn(
            "etcd",
            &binaries.etcd(),
            &flags::etcd(&layout),
            layout.log("etcd"),
            &mut watchdog,
        )?;
        let deadline = Instant::now() + opts.ready_timeout;
        wait_for_port(&mut etcd, etcd_client_port, deadline, opts.ready_timeout).await?;

        let mut apiserver = Server::spawn(
            "kube-apiserver",
            &binaries.kube_apiserver(),
            &flags::kube_apiserver(&layout, &opts.apiserver_args),
            layout.log("kube-apiserver"),
            &mut watchdog,
        )?;
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
            let url = layout.controller_manager_url();
            kcm_config.cluster_url =
                url.parse()
                    .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl {
                        reason: e.to_string(),
                        url,
                    })?;
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
            dir: Some(dir),
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

    /// The temp dir holding its data, keys and logs (`<server>.log`).
    pub fn dir(&self) -> &Path {
        &self.layout.dir
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

    /// Stops every process, waits for them to be gone, and removes the temp dir.
    pub fn stop(mut self) -> Result<()> {
        self.kill_all();
        match self.dir.take() {
            Some(dir) => {
                let path = dir.path().to_path_buf();
                dir.close().map_err(|e| Error::io("remove", path, e))
            }
            None => Ok(()),
        }
    }

    fn kill_all(&mut self) {
        // The watchdog first, so it never kills a pid the system has reused.
        self.watchdog.stop();
        if let Some(kcm) = self.controller_manager.as_mut() {
            kcm.stop();
        }
        self.apiserver.stop();
        self.etcd.stop();
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.kill_all();
        // `dir` (a TempDir) is removed when the field drops, after the processes are gone.
    }
}

/// Asks the kernel for `N` distinct free loopback ports (all held at once, then freed).
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io("bind", "127.0.0.1:0", e))?;
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener
            .local_addr()
            .map_err(|e| Error::io("inspect", "127.0.0.1:0", e))?
            .port();
    }
    Ok(ports)
}

/// Writes the PKI, the token file and the kubeconfig; secrets with mode 0600.
fn write_files(l: &Layout, pki: &Pki, token: &str, kubeconfig: &str) -> Result<()> {
    let pki_dir = l.pki("");
    std::fs::create_dir_all(&pki_dir).map_err(|e| Error::io("create", &pki_dir, e))?;
    write(&l.pki("ca.crt"), &pki.ca_pem, 0o644)?;
    write(&l.pki("serving.crt"), &pki.serving_cert_pem, 0o644)?;
    write(&l.pki("serving.key"), &pki.serving_key_pem, 0o600)?;
    write(
        &l.pki("service-account.key"),
        &pki.service_account_key_pem,
        0o600,
    )?;
    write(
        &l.pki("service-account.pub"),
        &pki.service_account_pub_pem,
        0o644,
    )?;
    write(&l.token_file(), &flags::token_file_line(token), 0o600)?;
    write(&l.kubeconfig(), kubeconfig, 0o600)
}

fn write(path: &Path, contents: &str, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(|e| Error::io("write", path, e))
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
