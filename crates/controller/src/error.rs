//! What can go wrong in a reconcile, sorted by what the controller should do about it.
//!
//! Problems a user can fix in an object (a missing secret, an unmapped network) are not
//! errors: they are conditions on the object's status. Errors are Ferry's own failures
//! (the API server refused a write, a cache is not ready) and objects Ferry cannot even
//! read. [`Error::class`] tells [`crate::policy`] how to retry.

/// How a failed reconcile is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The object cannot be decoded (wrong types in its spec): nothing will change until
    /// the object does, so wait for a change.
    Malformed,
    /// A write lost an optimistic-concurrency race (HTTP 409): retry at once with the
    /// newer object.
    Conflict,
    /// A provider this object depends on is not ready: wait for the Provider watch to
    /// say it changed.
    ProviderNotReady,
    /// Anything else (the API server is unreachable, a request failed): retry with
    /// capped exponential backoff.
    Transient,
}

/// A failed reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not decode.
    #[error(
        "{kind} {namespace}/{name} cannot be read: {message}. Fix the object (its spec does not match the {kind} schema) or delete it"
    )]
    Malformed {
        /// The kind.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The name.
        name: String,
        /// The decoder's message.
        message: String,
    },
    /// An API request failed.
    #[error("cannot {action} {object}: {source}")]
    Kube {
        /// What was being done (`write the status of`, `read`).
        action: &'static str,
        /// The object (`Provider ns/name`).
        object: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A provider is not ready.
    #[error("provider {0} is not ready")]
    ProviderNotReady(String),
    /// The plan controller's reconcile failed (see [`crate::plan`]).
    #[error("{message}")]
    Plan {
        /// How to retry.
        class: ErrorClass,
        /// The metric and event reason.
        reason: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// An API error with context.
    pub fn kube(action: &'static str, object: impl Into<String>, source: kube::Error) -> Self {
        Self::Kube {
            action,
            object: object.into(),
            source,
        }
    }

    /// How to retry.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Malformed { .. } => ErrorClass::Malformed,
            Self::Kube { source, .. } => match source {
                kube::Error::Api(status) if status.is_conflict() => ErrorClass::Conflict,
                _ => ErrorClass::Transient,
            },
            Self::ProviderNotReady(_) => ErrorClass::ProviderNotReady,
            Self::Plan { class, .. } => *class,
        }
    }

    /// A short, stable label for metrics and Events.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "Malformed",
            Self::Kube { source, .. } => match source {
                kube::Error::Api(status) if status.is_conflict() => "Conflict",
                kube::Error::Api(status) if status.is_not_found() => "NotFound",
                kube::Error::Api(status) if status.is_forbidden() => "Forbidden",
                kube::Error::Api(status) if status.is_invalid() => "Invalid",
                kube::Error::Api(_) => "ApiError",
                _ => "Unreachable",
            },
            Self::ProviderNotReady(_) => "ProviderNotReady",
            Self::Plan { reason, .. } => reason,
        }
    }
}

/// A specialised `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.into(),
            ..Default::default()
        }))
    }

    #[test]
    fn errors_sort_by_what_to_do() {
        let conflict = Error::kube("update", "Migration ns/m", api(409, "Conflict"));
        assert_eq!(conflict.class(), ErrorClass::Conflict);
        assert_eq!(conflict.reason(), "Conflict");
        let gone = Error::kube("read", "Secret ns/s", api(404, "NotFound"));
        assert_eq!(gone.class(), ErrorClass::Transient);
        assert_eq!(gone.reason(), "NotFound");
        let malformed = Error::Malformed {
            kind: "Provider",
            namespace: "ns".into(),
            name: "p".into(),
            message: "invalid type: integer `5`, expected a string".into(),
        };
        assert_eq!(malformed.class(), ErrorClass::Malformed);
        assert!(malformed.to_string().contains("Fix the object"));
        assert_eq!(
            Error::ProviderNotReady("ns/p".into()).class(),
            ErrorClass::ProviderNotReady
        );
    }
}
