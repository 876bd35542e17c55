//! How the benchmark runs Ferry's controllers against the sandbox's API server.
//!
//! [`ControllerMode::Process`] runs `ferry controller --kubeconfig DIR/kubeconfig` as a
//! child process, so its memory and CPU time are its own (read from `/proc/<pid>`), not
//! the sandbox's; [`ControllerMode::InProcess`] runs the same manager inside the
//! benchmark's process (for tests, where no `ferry` binary is at hand; memory and CPU
//! are then not reported). Either way the controllers get the settings `ferry sandbox`
//! gives them, plus `MAX_VM_INFLIGHT`, and their client identifies itself as
//! [`ferry_controller::manager::USER_AGENT`], so the API server counts their requests
//! apart from the simulated cluster's and the benchmark's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferry_controller::manager::{self, ClientSource, ManagerConfig};
use ferry_sandbox::sandbox::controllers::{
    ControllerSetup, Controllers, FerryManager, RunningControllers,
};
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the controllers may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// Where the controllers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerMode {
    /// In the benchmark's process (no memory or CPU figures).
    InProcess,
    /// `BINARY controller --kubeconfig ...` as a child process.
    Process {
        /// The `ferry` binary.
        binary: PathBuf,
    },
}

/// The benchmark's [`Controllers`]: see the module documentation.
#[derive(Clone)]
pub struct BenchControllers {
    mode: ControllerMode,
    kubeconfig: PathBuf,
    max_inflight: i64,
    log: PathBuf,
    pid: Arc<Mutex<Option<u32>>>,
}

impl BenchControllers {
    /// Controllers in `mode` that reach the API server through `kubeconfig`, with
    /// `MAX_VM_INFLIGHT` = `max_inflight`; a child process writes its output to `log`.
    pub fn new(mode: ControllerMode, kubeconfig: PathBuf, max_inflight: i64, log: PathBuf) -> Self {
        Self {
            mode,
            kubeconfig,
            max_inflight,
            log,
            pid: Arc::default(),
        }
    }

    /// The child process's id while it runs (`None` in process, or stopped).
    pub fn pid(&self) -> Option<u32> {
        *self.pid.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_pid(&self, pid: Option<u32>) {
        *self.pid.lock().unwrap_or_else(PoisonError::into_inner) = pid;
    }

    async fn start_in_process(
        &self,
        setup: ControllerSetup,
    ) -> Result<Box<dyn RunningControllers>, String> {
        let client = manager::connect(ClientSource::Kubeconfig(self.kubeconfig.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let mut settings = FerryManager::settings(&setup)?;
        settings.migration.max_vm_inflight = self.max_inflight;
        let mut config = ManagerConfig::new(ClientSource::Client(client));
        config.settings = Some(settings);
        config.registry = Arc::clone(&setup.registry);
        config.instance = Some("ferry-bench".into());
        let manager = manager::start(config).await.map_err(|e| e.to_string())?;
        if !manager.wait_ready(READY_WITHIN).await {
            manager.shutdown().await;
            return Err(format!(
                "the controllers did not become ready within {} s",
                READY_WITHIN.as_secs()
            ));
        }
        Ok(Box::new(InProcess(manager)))
    }

    async fn start_process(
        &self,
        binary: &PathBuf,
        setup: ControllerSetup,
    ) -> Result<Box<dyn RunningControllers>, String> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot pick a port for the controller's health server: {e}"))?
            .port();
        let shares: Vec<String> = setup
            .ova_exports
            .iter()
            .map(|(export, dir)| format!("{export}={}", dir.display()))
            .collect();
        let log = std::fs::File::create(&self.log)
            .map_err(|e| format!("cannot create {}: {e}", self.log.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot create {}: {e}", self.log.display()))?;
        let mut command = tokio::process::Command::new(binary);
        command
            .arg("controller")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{port}"))
            .env("POD_NAMESPACE", &setup.namespace)
            .env("FERRY_LEADER_ELECTION", "false")
            .env("FERRY_OVA_SHARES", shares.join(";"))
            .env("FERRY_OVA_SETTLE_SECONDS", "0")
            .env("FERRY_OVA_RESCAN_SECONDS", "5")
            .env("MAX_VM_INFLIGHT", self.max_inflight.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {} controller: {e}", binary.display()))?;
        self.set_pid(child.id());
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.set_pid(None);
                return Err(format!(
                    "{} controller exited ({status}) before it was ready; its output is in {}",
                    binary.display(),
                    self.log.display()
                ));
            }
            if ready(port).await {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.kill().await;
                self.set_pid(None);
                return Err(format!(
                    "{} controller was not ready within {} s; its output is in {}",
                    binary.display(),
                    READY_WITHIN.as_secs(),
                    self.log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Box::new(Child {
            child,
            pid: Arc::clone(&self.pid),
        }))
    }
}

/// Whether the health server on `port` answers `/readyz` with 200.
async fn ready(port: u16) -> bool {
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        std::io::Result::Ok(answer)
    };
    match tokio::time::timeout(Duration::from_secs(2), ask).await {
        Ok(Ok(answer)) => {
            let head = String::from_utf8_lossy(&answer[..answer.len().min(16)]).into_owned();
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200")
        }
        _ => false,
    }
}

impl Controllers for BenchControllers {
    fn start(
        &self,
        setup: ControllerSetup,
    ) -> BoxFuture<'_, Result<Box<dyn RunningControllers>, String>> {
        Box::pin(async move {
            match &self.mode {
                ControllerMode::InProcess => self.start_in_process(setup).await,
                ControllerMode::Process { binary } => self.start_process(binary, setup).await,
            }
        })
    }
}

struct InProcess(manager::Manager);

impl RunningControllers for InProcess {
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.0.shutdown().await })
    }
}

struct Child {
    child: tokio::process::Child,
    pid: Arc<Mutex<Option<u32>>>,
}

impl RunningControllers for Child {
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let Self { mut child, pid } = *self;
            *pid.lock().unwrap_or_else(PoisonError::into_inner) = None;
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        })
    }
}
