//! What can go wrong starting or stopping the real control plane.

use std::path::PathBuf;
use std::time::Duration;

/// An error from the harness. Each message says what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The binaries are not built (or `FERRY_KUBE_BIN` points at a directory without them).
    #[error(
        "the real Kubernetes control plane is not available: {reason}; \
         run scripts/test (or tools/kube/build.sh) to build kube-apiserver, etcd, \
         kube-controller-manager and kubectl, or set FERRY_KUBE_BIN to the directory \
         that holds them"
    )]
    BinariesMissing {
        /// Which binary or directory is missing, and where it was looked for.
        reason: String,
    },

    /// `tools/kube/build.sh` failed.
    #[error("tools/kube/build.sh failed ({status}); its output ends with:\n{output}")]
    Build {
        /// How the script exited.
        status: String,
        /// The end of what it printed.
        output: String,
    },

    /// A file or process operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What the harness was doing ("write", "start", ...).
        action: &'static str,
        /// The file or program involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Generating a key or certificate failed.
    #[error("generating {what}: {source}")]
    Pki {
        /// Which key or certificate.
        what: &'static str,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },

    /// A server process exited while the harness still needed it.
    #[error("{name} exited ({status}) before it was ready; its log ends with:\n{log_tail}")]
    Exited {
        /// `etcd`, `kube-apiserver` or `kube-controller-manager`.
        name: &'static str,
        /// How it exited.
        status: String,
        /// The last lines of its log (the log file is in the harness's temp dir).
        log_tail: String,
    },

    /// A server did not become ready in time.
    #[error(
        "{name} was not ready after {waited:?} (last check: {last_check}); \
         its log ends with:\n{log_tail}"
    )]
    NotReady {
        /// `etcd` or `kube-apiserver`.
        name: &'static str,
        /// How long the harness waited.
        waited: Duration,
        /// What the last readiness check saw.
        last_check: String,
        /// The last lines of its log.
        log_tail: String,
    },

    /// A persistent data dir cannot be used as it is.
    #[error("the control plane's data dir {} cannot be used: {reason}", dir.display())]
    DataDir {
        /// The data dir.
        dir: PathBuf,
        /// What is wrong with it, and what to do.
        reason: String,
    },

    /// etcd refused or failed a maintenance request (e.g. compaction).
    #[error("etcd {action}: {reason}")]
    Etcd {
        /// What was asked ("compaction", "reading the revision").
        action: &'static str,
        /// What etcd (or the connection) said.
        reason: String,
    },

    /// A URL the harness built does not parse (a bug in the harness).
    #[error("the URL {url} does not parse: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why it does not parse.
        reason: String,
    },

    /// The kubeconfig the harness wrote could not be loaded by kube-rs.
    #[error("loading the harness's kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),

    /// kube-rs could not build a client from the configuration.
    #[error("building a kube client: {0}")]
    Client(#[from] kube::Error),
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done to which path.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// True when a server failed because its port was taken meanwhile (the harness then
    /// retries with new ports).
    pub(crate) fn is_port_conflict(&self) -> bool {
        match self {
            Error::Exited { log_tail, .. } | Error::NotReady { log_tail, .. } => {
                log_tail.contains("address already in use")
            }
            _ => false,
        }
    }
}
