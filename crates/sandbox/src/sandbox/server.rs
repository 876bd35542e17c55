//! The API server a sandbox runs on: Ferry's embedded one (the default), or the real
//! kube-apiserver and etcd from a directory of binaries (`ferry sandbox --kube-bin
//! DIR`, through [`ferry_realkube`]), with kube-controller-manager running the
//! controllers kube-apiserver leaves to it ([`ferry_realkube::GC_CONTROLLERS`]:
//! garbage collection, namespace deletion, the `default` ServiceAccounts and their
//! tokens, PV/PVC protection). Everything else of the sandbox is the same on both.
//!
//! A data directory belongs to one kind of server: the embedded server keeps its
//! database in `DIR/apiserver`, the real one etcd's data, keys and logs in `DIR/kube`;
//! starting the other kind on it is refused ([`mismatch`]), since it would find none
//! of the objects.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_apiserver::{ApiServer, MemoryLogs, RunningApiServer};
use ferry_realkube::{Binaries, ControlPlane};

use super::layout::Layout;
use super::run::SandboxError;

/// Which API server a sandbox runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerChoice {
    /// Ferry's embedded API server (state in `DIR/apiserver`).
    #[default]
    Embedded,
    /// The real kube-apiserver + etcd + kube-controller-manager from `bin` (what
    /// `tools/kube/build.sh` prints), state in `DIR/kube`.
    Real {
        /// The directory holding `kube-apiserver`, `etcd`, `kube-controller-manager`
        /// and `kubectl`.
        bin: PathBuf,
        /// Extra kube-apiserver flags (e.g. an audit log for benchmarks).
        apiserver_args: Vec<String>,
    },
}

impl ServerChoice {
    /// A short name for messages.
    pub fn describe(&self) -> String {
        match self {
            ServerChoice::Embedded => "Ferry's embedded API server".into(),
            ServerChoice::Real { bin, .. } => {
                format!("the real kube-apiserver and etcd from {}", bin.display())
            }
        }
    }
}

/// Why a data directory cannot be used with `choice` (pure): it holds the other kind
/// of server's state. `embedded_data` and `real_data` say whether `DIR/apiserver` and
/// `DIR/kube/etcd` exist.
pub fn mismatch(choice: &ServerChoice, embedded_data: bool, real_data: bool) -> Option<String> {
    match choice {
        ServerChoice::Embedded if real_data && !embedded_data => Some(
            "it holds the state of a sandbox on the real kube-apiserver: run with the same \
             --kube-bin, or use another --data-dir"
                .into(),
        ),
        ServerChoice::Real { .. } if embedded_data && !real_data => Some(
            "it holds the state of a sandbox on Ferry's embedded API server: run without \
             --kube-bin, or use another --data-dir"
                .into(),
        ),
        _ => None,
    }
}

/// Fails when the data directory holds the other kind of server's state ([`mismatch`]).
pub(crate) fn check_data_dir(choice: &ServerChoice, layout: &Layout) -> Result<(), SandboxError> {
    let embedded_data = layout.apiserver().exists();
    let real_data = layout.kube().join("etcd").exists();
    match mismatch(choice, embedded_data, real_data) {
        Some(reason) => Err(SandboxError::DataDir {
            dir: layout.root.clone(),
            source: std::io::Error::other(reason),
        }),
        None => Ok(()),
    }
}

/// The running API server.
pub(crate) enum Server {
    /// Ferry's embedded server.
    Embedded(RunningApiServer),
    /// The real control plane.
    Real(Box<ControlPlane>),
}

impl Server {
    /// Starts the chosen server on the data directory; `port` is the embedded server's
    /// port of the previous run (0: any). The real one keeps its ports in `DIR/kube`.
    pub(crate) async fn start(
        choice: &ServerChoice,
        layout: &Layout,
        port: u16,
    ) -> Result<Self, SandboxError> {
        check_data_dir(choice, layout)?;
        match choice {
            ServerChoice::Embedded => Ok(Server::Embedded(start_embedded(layout, port).await?)),
            ServerChoice::Real {
                bin,
                apiserver_args,
            } => {
                let binaries = binaries(bin)?;
                let builder = apiserver_args
                    .iter()
                    .fold(ControlPlane::builder(), |b, arg| b.apiserver_arg(arg));
                let plane = builder
                    .binaries(binaries)
                    .garbage_collection()
                    .data_dir(layout.kube())
                    .start()
                    .await
                    .map_err(|e| SandboxError::RealServer(Box::new(e)))?;
                copy_kubeconfig(&plane.kubeconfig(), &layout.kubeconfig()).map_err(|source| {
                    SandboxError::DataDir {
                        dir: layout.root.clone(),
                        source,
                    }
                })?;
                Ok(Server::Real(Box::new(plane)))
            }
        }
    }

    /// The server's URL.
    pub(crate) fn url(&self) -> String {
        match self {
            Server::Embedded(api) => api.url().to_owned(),
            Server::Real(plane) => plane.url(),
        }
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.url()
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or(0)
    }

    /// The admin bearer token (a secret; the inventory service accepts it too).
    pub(crate) fn token(&self) -> String {
        match self {
            Server::Embedded(api) => api.token().to_owned(),
            Server::Real(plane) => plane.token().to_owned(),
        }
    }

    /// A client configuration.
    pub(crate) fn client_config(&self) -> kube::Config {
        match self {
            Server::Embedded(api) => api.client_config(),
            Server::Real(plane) => plane.config(),
        }
    }

    /// A client.
    pub(crate) fn client(&self) -> Result<kube::Client, kube::Error> {
        kube::Client::try_from(self.client_config())
    }

    /// The embedded server's log buffers (what it answers `pods/log` from); the real
    /// server asks a kubelet for logs, which the simulated node does not serve.
    pub(crate) fn memory_logs(&self) -> Option<Arc<MemoryLogs>> {
        match self {
            Server::Embedded(api) => Some(api.memory_logs()),
            Server::Real(_) => None,
        }
    }

    /// The embedded server, when it is the one.
    pub(crate) fn embedded(&self) -> Option<&RunningApiServer> {
        match self {
            Server::Embedded(api) => Some(api),
            Server::Real(_) => None,
        }
    }

    /// True on the real kube-apiserver.
    pub(crate) fn is_real(&self) -> bool {
        matches!(self, Server::Real(_))
    }

    /// Stops it, keeping its state in the data directory.
    pub(crate) async fn shutdown(self) {
        match self {
            Server::Embedded(api) => api.shutdown().await,
            Server::Real(plane) => {
                // A graceful stop waits for the processes: off the async threads.
                let stopped = tokio::task::spawn_blocking(move || plane.stop()).await;
                match stopped {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "stopping the control plane"),
                    Err(error) => tracing::warn!(%error, "stopping the control plane"),
                }
            }
        }
    }
}

/// The binaries in `dir`, or an error that says what is missing and how to build them.
pub(crate) fn binaries(dir: &Path) -> Result<Binaries, SandboxError> {
    let reason = if !dir.is_dir() {
        "it is not a directory".to_owned()
    } else {
        match Binaries::from_dir(dir) {
            Ok(binaries) => return Ok(binaries),
            Err(ferry_realkube::Error::BinariesMissing { reason }) => reason,
            Err(other) => other.to_string(),
        }
    };
    Err(SandboxError::KubeBin {
        dir: dir.to_owned(),
        reason,
    })
}

/// Copies the control plane's kubeconfig to `DIR/kubeconfig` (owner-only: it holds
/// the token), where the sandbox always has it.
fn copy_kubeconfig(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = std::fs::read(from)?;
    let temporary = to.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(&text)?;
    file.sync_all()?;
    std::fs::rename(&temporary, to)
}

async fn start_embedded(layout: &Layout, port: u16) -> Result<RunningApiServer, SandboxError> {
    let builder = || {
        ApiServer::builder()
            .data_dir(layout.apiserver())
            .kubeconfig_path(layout.kubeconfig())
    };
    if port != 0 {
        match builder().listen(format!("127.0.0.1:{port}")).start().await {
            Ok(api) => return Ok(api),
            Err(ferry_apiserver::StartError::Listen { .. }) => {
                tracing::info!(
                    port,
                    "the API server's previous port is taken; picking another"
                );
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(builder().listen("127.0.0.1:0").start().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_dir_belongs_to_one_kind_of_server() {
        let real = ServerChoice::Real {
            bin: "/x".into(),
            apiserver_args: Vec::new(),
        };
        let embedded = ServerChoice::Embedded;
        assert_eq!(mismatch(&embedded, false, false), None);
        assert_eq!(mismatch(&real, false, false), None);
        assert_eq!(mismatch(&embedded, true, false), None);
        assert_eq!(mismatch(&real, false, true), None);
        assert!(
            mismatch(&real, true, false)
                .unwrap()
                .contains("run without --kube-bin")
        );
        assert!(
            mismatch(&embedded, false, true)
                .unwrap()
                .contains("with the same --kube-bin")
        );
    }

    #[test]
    fn a_bad_binary_directory_says_what_is_missing_and_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let text = binaries(dir.path()).unwrap_err().to_string();
        assert!(text.contains("kube-apiserver"), "{text}");
        assert!(text.contains("tools/kube/build.sh"), "{text}");
        let text = binaries(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(text.contains("not a directory"), "{text}");
    }
}
