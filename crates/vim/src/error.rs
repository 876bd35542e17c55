//! Errors: SOAP faults by name, transport failures by kind, XML problems by
//! cause. None of them ever holds a password or a session cookie.

use std::fmt;
use std::time::Duration;

use crate::value::{DataObject, MoRef};

/// Everything a call to vSphere can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection settings cannot work (bad URL, unreadable CA bundle,
    /// malformed fingerprint). Fix the provider or its Secret.
    #[error("invalid vSphere connection settings: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// An argument cannot be sent (e.g. a control character in a name).
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What is wrong.
        message: String,
    },
    /// No TCP connection: refused, unreachable, DNS failure.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The server URL (without credentials).
        url: String,
        /// The underlying cause.
        message: String,
    },
    /// The TLS handshake failed: untrusted or mismatched certificate, or a
    /// protocol failure.
    #[error("TLS handshake with {url} failed: {kind}")]
    Tls {
        /// The server URL (without credentials).
        url: String,
        /// Why.
        kind: TlsFailure,
    },
    /// The server did not answer in time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// The call or transfer that timed out.
        what: String,
        /// The limit that was exceeded.
        after: Duration,
    },
    /// An HTTP status the protocol does not expect (a SOAP call answered with
    /// something other than 200/500, a datastore file that does not exist).
    #[error("{url}: HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Http {
        /// The URL (without credentials or query).
        url: String,
        /// The HTTP status code.
        status: u16,
        /// A short excerpt of the body, if it was text.
        message: String,
    },
    /// The connection broke while a request or response was in flight.
    #[error("transport error talking to {url}: {message}")]
    Transport {
        /// The server URL (without credentials).
        url: String,
        /// The underlying cause.
        message: String,
    },
    /// The server answered with a SOAP fault.
    #[error("{method}: {fault}")]
    Fault {
        /// The method that failed.
        method: String,
        /// The fault.
        fault: Box<Fault>,
    },
    /// A task ended in the `error` state.
    #[error("task {task} failed: {fault}")]
    TaskFailed {
        /// The task.
        task: MoRef,
        /// The task's `info.error`.
        fault: Box<Fault>,
    },
    /// The response is not acceptable XML.
    #[error("response to {method} is not acceptable XML: {source}")]
    Xml {
        /// The method whose response it was.
        method: String,
        /// What is wrong with it.
        source: XmlError,
    },
    /// The response is bigger than the configured limit (page large
    /// retrievals with `maxObjects` instead).
    #[error("response to {method} exceeds the {limit}-byte limit")]
    ResponseTooLarge {
        /// The method whose response it was.
        method: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// Well-formed XML that does not have the shape the method returns.
    #[error("unexpected response to {method}: {message}")]
    Protocol {
        /// The method whose response it was.
        method: String,
        /// What was expected.
        message: String,
    },
}

impl Error {
    /// The SOAP fault behind this error, if any (also a failed task's).
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            Error::Fault { fault, .. } | Error::TaskFailed { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The kind of the fault behind this error, if any.
    pub fn fault_kind(&self) -> Option<FaultKind> {
        self.fault().map(Fault::kind)
    }

    /// The credentials were refused (`InvalidLogin`), or the session is gone
    /// and could not be renewed (`NotAuthenticated`): a provider's
    /// `ConnectionAuthFailed`.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self.fault_kind(),
            Some(FaultKind::InvalidLogin | FaultKind::NotAuthenticated)
        )
    }

    /// The server could not be reached or spoken to (TCP, TLS, HTTP, timeouts):
    /// a provider's `ConnectionTestFailed`.
    pub fn is_connection_failure(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. }
                | Error::Tls { .. }
                | Error::Timeout { .. }
                | Error::Http { .. }
                | Error::Transport { .. }
        )
    }

    /// The server does not implement the method (`MethodNotFound`,
    /// `NotImplemented`, `NotSupported`, `MethodDisabled`).
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self.fault_kind(),
            Some(
                FaultKind::MethodNotFound
                    | FaultKind::NotImplemented
                    | FaultKind::NotSupported
                    | FaultKind::MethodDisabled
            )
        )
    }
}

/// Why a TLS handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate does not chain to a trusted root (add the CA as
    /// `cacert`, pin its fingerprint, or set `insecureSkipVerify`).
    Untrusted {
        /// The certificate's SHA-1 fingerprint, to check and pin.
        fingerprint: String,
        /// The verifier's reason.
        reason: String,
    },
    /// The certificate's SHA-1 fingerprint is not the pinned one.
    FingerprintMismatch {
        /// The pinned fingerprint.
        expected: String,
        /// The server's.
        actual: String,
    },
    /// Any other handshake failure (protocol, key, algorithm).
    Handshake {
        /// The cause.
        reason: String,
    },
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::Untrusted {
                fingerprint,
                reason,
            } => write!(
                f,
                "the server certificate (SHA-1 fingerprint {fingerprint}) is not trusted: {reason}; \
                 provide its CA as `cacert`, or set `insecureSkipVerify`"
            ),
            TlsFailure::FingerprintMismatch { expected, actual } => write!(
                f,
                "the server certificate fingerprint {actual} is not the expected {expected}"
            ),
            TlsFailure::Handshake { reason } => f.write_str(reason),
        }
    }
}

/// A SOAP fault (or a task's / a missing property's `LocalizedMethodFault`).
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// The fault type, e.g. `InvalidLogin`, `ManagedObjectNotFound`.
    pub name: String,
    /// The server's message (`faultstring` or `localizedMessage`), may be empty.
    pub message: String,
    /// The fault's fields, e.g. `obj` of `ManagedObjectNotFound`, `name` of
    /// `InvalidProperty`, `existingState` of `InvalidPowerState`.
    pub detail: DataObject,
}

impl Fault {
    /// The fault's kind, for matching on the common ones.
    pub fn kind(&self) -> FaultKind {
        FaultKind::from_name(&self.name)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}: {}", self.name, self.message)
        }
    }
}

/// The faults callers act on; anything else is [`FaultKind::Other`] (read
/// [`Fault::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// Wrong user name or password.
    InvalidLogin,
    /// The session is not logged in (expired, terminated, never was).
    NotAuthenticated,
    /// The user lacks a privilege.
    NoPermission,
    /// The object does not exist (any more).
    ManagedObjectNotFound,
    /// An argument is invalid.
    InvalidArgument,
    /// A property path is invalid.
    InvalidProperty,
    /// The object's state does not allow the operation.
    InvalidState,
    /// The VM's power state does not allow the operation (an `InvalidState`).
    InvalidPowerState,
    /// The method does not exist on that object.
    MethodNotFound,
    /// The server does not implement the method.
    NotImplemented,
    /// The operation is not supported (e.g. on that object or backing).
    NotSupported,
    /// The method is disabled.
    MethodDisabled,
    /// The call was cancelled (e.g. `CancelWaitForUpdates`).
    RequestCanceled,
    /// A file does not exist.
    FileNotFound,
    /// Another task holds the object.
    TaskInProgress,
    /// Any other fault.
    Other,
}

impl FaultKind {
    /// Maps a fault type name to its kind.
    pub fn from_name(name: &str) -> Self {
        match name {
            "InvalidLogin" => FaultKind::InvalidLogin,
            "NotAuthenticated" => FaultKind::NotAuthenticated,
            "NoPermission" => FaultKind::NoPermission,
            "ManagedObjectNotFound" => FaultKind::ManagedObjectNotFound,
            "InvalidArgument" => FaultKind::InvalidArgument,
            "InvalidProperty" => FaultKind::InvalidProperty,
            "InvalidState" => FaultKind::InvalidState,
            "InvalidPowerState" => FaultKind::InvalidPowerState,
            "MethodNotFound" => FaultKind::MethodNotFound,
            "NotImplemented" => FaultKind::NotImplemented,
            "NotSupported" => FaultKind::NotSupported,
            "MethodDisabled" => FaultKind::MethodDisabled,
            "RequestCanceled" => FaultKind::RequestCanceled,
            "FileNotFound" => FaultKind::FileNotFound,
            "TaskInProgress" => FaultKind::TaskInProgress,
            _ => FaultKind::Other,
        }
    }
}

/// What is wrong with a response document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// Not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    Encoding {
        /// Byte offset of the first bad byte.
        offset: usize,
    },
    /// Not well-formed.
    #[error("malformed at byte {offset}: {message}")]
    Malformed {
        /// Byte offset of the problem.
        offset: u64,
        /// What the parser saw.
        message: String,
    },
    /// The document ends inside an element.
    #[error("truncated: the document ends with {open_elements} element(s) still open")]
    Truncated {
        /// How many elements were open.
        open_elements: usize,
    },
    /// No document element at all.
    #[error("empty document")]
    Empty,
    /// A DOCTYPE: refused (no DTDs, no entity definitions).
    #[error("a DOCTYPE declaration is not accepted")]
    Dtd,
    /// A reference to an entity other than the five XML predefined ones.
    #[error("reference to the undefined entity `{name}`")]
    Entity {
        /// The entity name (truncated).
        name: String,
    },
    /// Nested deeper than the limit.
    #[error("nested deeper than {limit} elements")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than the limit.
    #[error("more than {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// A typed leaf whose text is not of its type.
    #[error("`{text}` is not a valid {type_name}")]
    InvalidValue {
        /// The `xsi:type`.
        type_name: String,
        /// The text (truncated).
        text: String,
    },
}
