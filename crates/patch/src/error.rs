//! Typed errors for every patch flavour, and how a Kubernetes API server reports each
//! one (HTTP code, `Status.reason`, message), so the embedded server answers exactly as
//! kube-apiserver does.

use thiserror::Error;

/// How the real kube-apiserver reports a failure: the parts of a `metav1.Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusParts {
    /// HTTP status code (`Status.code`).
    pub code: u16,
    /// `Status.reason` (`BadRequest`, `Invalid`, `Conflict`, `InternalError`, ...).
    pub reason: &'static str,
    /// `Status.message`, worded as kube-apiserver words it.
    pub message: String,
    /// `Status.details.causes`.
    pub causes: Vec<StatusCause>,
}

/// One `metav1.StatusCause`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    /// `type`, e.g. `FieldManagerConflict`.
    pub cause_type: &'static str,
    /// `message`.
    pub message: String,
    /// `field`, a field path such as `.spec.replicas`.
    pub field: String,
}

/// Why a JSON merge patch, JSON patch or strategic merge patch could not be applied.
///
/// Each variant maps to the HTTP answer kube-apiserver gives (see [`PatchError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatchError {
    /// The patch document itself is malformed (kube-apiserver: 400 BadRequest).
    #[error("{0}")]
    BadRequest(String),
    /// The patch is well formed but cannot be applied to this object
    /// (kube-apiserver: 422 Invalid).
    #[error("{0}")]
    Unprocessable(String),
    /// The patch failed in a way kube-apiserver does not classify; it answers 500
    /// with this message and an empty reason.
    #[error("{0}")]
    Internal(String),
    /// Strategic merge patch was requested for a type that has no strategic-merge
    /// metadata (custom resources). kube-apiserver answers 415 before reading the body.
    #[error("strategic merge patch format is not supported")]
    StrategicMergeUnsupported,
    /// A JSON patch has more operations than kube-apiserver accepts (413).
    #[error("The allowed maximum operations in a JSON patch is {limit}, got {got}")]
    TooManyOperations {
        /// The limit, 10 000 as in kube-apiserver.
        limit: usize,
        /// Operations in the request.
        got: usize,
    },
    /// A document nests deeper than this crate recurses (400). kube-apiserver's JSON
    /// decoder refuses documents nested deeper than 10 000 levels; this crate stops
    /// earlier, at [`crate::MAX_DEPTH`], far beyond any real object.
    #[error("{what} is nested deeper than {limit} levels")]
    TooDeep {
        /// Which input: `patch`, `object`, ...
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

impl PatchError {
    /// The `metav1.Status` kube-apiserver sends for this error.
    pub fn status(&self) -> StatusParts {
        match self {
            PatchError::BadRequest(m) => parts(400, "BadRequest", m.clone()),
            PatchError::TooDeep { .. } => parts(400, "BadRequest", self.to_string()),
            // NewGenericServerResponse(422, ...) drops the server message: the client
            // only sees this fixed sentence.
            PatchError::Unprocessable(_) => parts(
                422,
                "Invalid",
                "the server rejected our request due to an error in our request".to_string(),
            ),
            PatchError::Internal(m) => internal(m),
            PatchError::StrategicMergeUnsupported => parts(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                    .to_string(),
            ),
            PatchError::TooManyOperations { .. } => {
                parts(413, "RequestEntityTooLarge", format!("Request entity too large: {self}"))
            }
        }
    }
}

fn parts(code: u16, reason: &'static str, message: String) -> StatusParts {
    StatusParts {
        code,
        reason,
        message,
        causes: Vec::new(),
    }
}

/// How kube-apiserver reports an error that is not a `StatusError`: 500, reason
/// `""` (StatusReasonUnknown), the error text as the message.
pub(crate) fn internal(message: &str) -> StatusParts {
    StatusParts {
        code: 500,
        reason: "",
        message: message.to_string(),
        causes: Vec::new(),
    }
}
