//! Errors of the simulated cluster.

use std::io;
use std::path::PathBuf;

/// Why an actor could not do its work. Reconcile errors are retried with backoff; the
/// others stop the cluster from starting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("{action}: {}", describe(error))]
    Kube {
        /// What was being done (`creating PVC ns/name`).
        action: String,
        /// The client's error.
        error: kube::Error,
    },
    /// A file operation failed.
    #[error("{action} ({path}): {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An object could not be (de)serialized.
    #[error("{action}: {source}")]
    Json {
        /// What was being done.
        action: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The cluster's configuration cannot work.
    #[error("invalid sandbox cluster configuration: {0}")]
    Config(String),
    /// Something the sandbox waited for did not happen in time.
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
    },
}

impl Error {
    /// Wraps a client error with what was being done.
    pub fn kube(action: impl Into<String>, error: kube::Error) -> Self {
        Self::Kube {
            action: action.into(),
            error,
        }
    }

    /// Wraps an I/O error with what was being done and where.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Wraps a JSON error with what was being done.
    pub fn json(action: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Json {
            action: action.into(),
            source,
        }
    }

    /// Whether the API server answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Kube { error, .. } if is_status(error, 404))
    }

    /// Whether the API server answered 409 Conflict (a stale write; retry at once).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Kube { error, .. } if is_status(error, 409))
    }
}

/// A client error in one line: for API errors, the server's message, code and reason.
pub fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("{} ({} {})", status.message, status.code, status.reason)
        }
        other => other.to_string(),
    }
}

/// Whether a client error is an API status with this code.
pub fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// A result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
