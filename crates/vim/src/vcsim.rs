//! Test support: starts govmomi's vCenter simulator (Ferry's launcher in
//! `tools/vcsim`, built by `scripts/setup.d/20-vcsim.sh`, found through
//! `FERRY_VCSIM`) on a free loopback port, with TLS on a fresh self-signed
//! certificate and chosen credentials and model size. The process dies with
//! the [`Vcsim`] value (kill on drop), and by itself when the test process
//! dies (it exits when its stdin closes).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::Url;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::config::ConnectConfig;
use crate::secret::Secret;

/// Why vcsim did not start.
#[derive(Debug, thiserror::Error)]
pub enum VcsimError {
    /// `FERRY_VCSIM` is unset or not a file.
    #[error(
        "vcsim is not available ({0}); run scripts/test, or `source scripts/setup.d/20-vcsim.sh`, \
         which builds it and exports FERRY_VCSIM"
    )]
    NotBuilt(String),
    /// The process could not be started.
    #[error("starting vcsim failed: {0}")]
    Spawn(#[from] std::io::Error),
    /// It exited or printed something unexpected instead of its URL.
    #[error("vcsim did not start: {message}; its stderr: {stderr}")]
    Startup {
        /// What went wrong.
        message: String,
        /// What it printed on stderr.
        stderr: String,
    },
}

/// How to start vcsim.
#[derive(Clone, Debug)]
pub struct VcsimBuilder {
    args: Vec<String>,
    user: String,
    password: String,
    tls: bool,
    start_timeout: Duration,
}

impl Default for VcsimBuilder {
    fn default() -> Self {
        Self {
            args: Vec::new(),
            user: "ferry".into(),
            password: "vcsim-Passw0rd!".into(),
            tls: true,
            start_timeout: Duration::from_secs(120),
        }
    }
}

impl VcsimBuilder {
    /// The only credentials its `Login` accepts.
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.user = user.into();
        self.password = password.into();
        self
    }

    /// VMs per resource pool (`-vm`, default 2).
    pub fn vms(self, n: u32) -> Self {
        self.flag("-vm", n)
    }

    /// Hosts per cluster (`-host`, default 3).
    pub fn cluster_hosts(self, n: u32) -> Self {
        self.flag("-host", n)
    }

    /// Clusters per datacenter (`-cluster`, default 1).
    pub fn clusters(self, n: u32) -> Self {
        self.flag("-cluster", n)
    }

    /// Standalone hosts per datacenter (`-standalone-host`, default 1).
    pub fn standalone_hosts(self, n: u32) -> Self {
        self.flag("-standalone-host", n)
    }

    /// Datacenters (`-dc`, default 1).
    pub fn datacenters(self, n: u32) -> Self {
        self.flag("-dc", n)
    }

    /// Datastores (`-ds`, default 1).
    pub fn datastores(self, n: u32) -> Self {
        self.flag("-ds", n)
    }

    /// Distributed port groups per datacenter (`-pg`, default 1).
    pub fn portgroups(self, n: u32) -> Self {
        self.flag("-pg", n)
    }

    /// Folders per datacenter (`-folder`, default 0).
    pub fn folders(self, n: u32) -> Self {
        self.flag("-folder", n)
    }

    /// Child resource pools per cluster (`-pool`, default 0).
    pub fn pools(self, n: u32) -> Self {
        self.flag("-pool", n)
    }

    /// Whether the generated VMs start powered on (`-autostart`, default true).
    pub fn autostart(mut self, on: bool) -> Self {
        self.args.push(format!("-autostart={on}"));
        self
    }

    /// Sessions expire after this idle time (`-session-timeout`).
    pub fn session_timeout(mut self, idle: Duration) -> Self {
        self.args
            .push(format!("-session-timeout={}ms", idle.as_millis()));
        self
    }

    /// Serve plain HTTP instead of HTTPS.
    pub fn plain_http(mut self) -> Self {
        self.tls = false;
        self
    }

    /// Any other launcher flag.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    fn flag(mut self, name: &str, n: u32) -> Self {
        self.args.push(format!("{name}={n}"));
        self
    }

    /// Starts it and waits until it serves.
    pub async fn start(self) -> Result<Vcsim, VcsimError> {
        let binary = binary()?;
        let dir = tempfile::tempdir()?;
        let cert_path = dir.path().join("vcsim.pem");
        let mut command = Command::new(&binary);
        command
            .arg("-l=127.0.0.1:0")
            .arg(format!("-tls={}", self.tls))
            .arg(format!("-username={}", self.user))
            .arg(format!("-password={}", self.password))
            .arg("-stdinexit")
            .args(&self.args)
            .env("TMPDIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if self.tls {
            command.arg(format!("-tls-cert-out={}", cert_path.display()));
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let stderr_log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = stderr_log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                    if log.len() < 64 * 1024 {
                        log.push_str(&line);
                        log.push('\n');
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or_else(|| VcsimError::Startup {
            message: "no stdout".into(),
            stderr: String::new(),
        })?;
        let mut lines = BufReader::new(stdout).lines();
        let startup_error = |message: String| VcsimError::Startup {
            message,
            stderr: stderr_log
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        };
        let first = match tokio::time::timeout(self.start_timeout, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                // Let the stderr reader catch the reason.
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Err(startup_error("it exited before printing its URL".into()));
            }
            Ok(Err(e)) => return Err(startup_error(format!("reading its stdout failed: {e}"))),
            Err(_) => {
                return Err(startup_error(format!(
                    "no URL within {:?}",
                    self.start_timeout
                )));
            }
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut url = Url::parse(first.trim())
            .map_err(|e| startup_error(format!("`{first}` is not a URL: {e}")))?;
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let (cert_pem, fingerprint) = if self.tls {
            let pem = std::fs::read_to_string(&cert_path)?;
            let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
                .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())
                .map_err(|e| startup_error(format!("its certificate is not PEM: {e}")))?;
            (Some(pem), Some(crate::tls::fingerprint_sha1(&der)))
        } else {
            (None, None)
        };
        // It printed its URL after listening; make sure the port answers.
        let address = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port_or_known_default().unwrap_or(443)
        );
        tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect(&address),
        )
        .await
        .map_err(|_| startup_error(format!("{address} does not accept connections")))?
        .map_err(|e| startup_error(format!("{address} does not accept connections: {e}")))?;
        Ok(Vcsim {
            child,
            _stdin: stdin,
            url,
            user: self.user,
            password: Secret::new(self.password),
            cert_pem,
            fingerprint,
            stderr: stderr_log,
            _dir: dir,
        })
    }
}

fn binary() -> Result<PathBuf, VcsimError> {
    let path = std::env::var_os("FERRY_VCSIM")
        .map(PathBuf::from)
        .ok_or_else(|| VcsimError::NotBuilt("FERRY_VCSIM is not set".into()))?;
    if !path.is_file() {
        return Err(VcsimError::NotBuilt(format!(
            "FERRY_VCSIM={} is not a file",
            path.display()
        )));
    }
    Ok(path)
}

/// A running vcsim; killed when dropped.
#[derive(Debug)]
pub struct Vcsim {
    child: Child,
    _stdin: Option<ChildStdin>,
    url: Url,
    user: String,
    password: Secret,
    cert_pem: Option<String>,
    fingerprint: Option<String>,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Vcsim {
    /// How to start one.
    pub fn builder() -> VcsimBuilder {
        VcsimBuilder::default()
    }

    /// Starts the default model (1 datacenter, 1 cluster of 3 hosts, 1
    /// standalone host, 4 VMs, 1 datastore, 1 DVS port group).
    pub async fn start() -> Result<Vcsim, VcsimError> {
        VcsimBuilder::default().start().await
    }

    /// The SDK URL, e.g. `https://127.0.0.1:41235/sdk` (no credentials).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The accepted user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The accepted password.
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// The served certificate (PEM), to use as `cacert`.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// The served certificate's SHA-1 fingerprint (`AB:CD:…`).
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// Settings that trust its certificate (as `cacert`) and log in.
    pub fn config(&self) -> ConnectConfig {
        let config =
            ConnectConfig::new(self.url.as_str(), self.user.clone(), self.password.clone());
        // The URL came from vcsim itself and parsed already.
        let mut config = config.unwrap_or_else(|_| unreachable_config(&self.url));
        config.ca_pem = self.cert_pem.clone();
        config
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills it and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn unreachable_config(url: &Url) -> ConnectConfig {
    // Only reached if vcsim printed a URL ConnectConfig rejects; keep going
    // with a config whose connect fails with a clear error.
    ConnectConfig {
        url: url.clone(),
        user: String::new(),
        password: Secret::default(),
        ca_pem: None,
        insecure_skip_verify: false,
        fingerprint: None,
        timeouts: Default::default(),
        limits: Default::default(),
        relogin: true,
        user_agent: String::new(),
    }
}

impl Drop for Vcsim {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
