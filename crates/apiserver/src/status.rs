//! `metav1.Status` errors with Kubernetes' reasons, codes and message formats, and
//! the field errors (`field.ErrorList`) that `422 Invalid` carries as causes.
//!
//! Constructors mirror `k8s.io/apimachinery/pkg/api/errors` one for one, so messages
//! read exactly as a real API server writes them (clients and people match on them).

use serde_json::{Value, json};
use std::fmt;

/// A group and a resource (plural), as errors and storage name them: `configmaps`,
/// `plans.forklift.konveyor.io`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group; empty for the core group.
    pub group: String,
    /// Lower-case plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// Builds a group-resource from its two parts.
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// The machine-readable kind of a field error (`field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorType {
    /// `FieldValueNotFound`.
    NotFound,
    /// `FieldValueRequired`.
    Required,
    /// `FieldValueDuplicate`.
    Duplicate,
    /// `FieldValueInvalid`.
    Invalid,
    /// `FieldValueNotSupported`.
    NotSupported,
    /// `FieldValueForbidden`.
    Forbidden,
    /// `FieldValueTooLong`.
    TooLong,
    /// `FieldValueTooMany`.
    TooMany,
    /// `InternalError`.
    Internal,
    /// `FieldValueTypeInvalid`.
    TypeInvalid,
}

impl FieldErrorType {
    /// The cause type written into `details.causes[].reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotFound => "FieldValueNotFound",
            Self::Required => "FieldValueRequired",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Internal => "InternalError",
            Self::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Internal => "Internal error",
        }
    }
}

/// One field-level validation error, formatted as `field.Error` formats itself.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What is wrong.
    pub kind: FieldErrorType,
    /// The field path, `spec.containers[0].name`.
    pub field: String,
    /// The offending value as JSON, when the message shows it.
    pub value: Option<Value>,
    /// Further explanation.
    pub detail: String,
    /// The message body when another engine already rendered it (schema
    /// validation); overrides the formatting below.
    pub rendered: Option<String>,
}

impl FieldError {
    /// `field.Invalid(path, value, detail)`.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: FieldErrorType::Invalid,
            field: field.into(),
            value: Some(value.into()),
            detail: detail.into(),
            rendered: None,
        }
    }

    /// `field.Required(path, detail)`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorType::Required,
            field: field.into(),
            value: None,
            detail: detail.into(),
            rendered: None,
        }
    }

    /// `field.Forbidden(path, detail)`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorType::Forbidden,
            field: field.into(),
            value: None,
            detail: detail.into(),
            rendered: None,
        }
    }

    /// `field.NotSupported(path, value, valid)`.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<Value>,
        valid: &[&str],
    ) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| format!("{v:?}")).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self {
            kind: FieldErrorType::NotSupported,
            field: field.into(),
            value: Some(value.into()),
            detail,
            rendered: None,
        }
    }

    /// `field.TooLong(path, value, max)`.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self {
            kind: FieldErrorType::TooLong,
            field: field.into(),
            value: None,
            detail: format!("may not be more than {max} bytes"),
            rendered: None,
        }
    }

    /// `field.NotFound(path, value)`.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            kind: FieldErrorType::NotFound,
            field: field.into(),
            value: Some(value.into()),
            detail: String::new(),
            rendered: None,
        }
    }

    /// `field.Duplicate(path, value)`.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            kind: FieldErrorType::Duplicate,
            field: field.into(),
            value: Some(value.into()),
            detail: String::new(),
            rendered: None,
        }
    }

    /// Converts a schema-validation error, keeping its rendering.
    pub fn from_structural(e: &ferry_structural::FieldError) -> Self {
        let kind = match e.reason() {
            "FieldValueNotFound" => FieldErrorType::NotFound,
            "FieldValueRequired" => FieldErrorType::Required,
            "FieldValueDuplicate" => FieldErrorType::Duplicate,
            "FieldValueNotSupported" => FieldErrorType::NotSupported,
            "FieldValueForbidden" => FieldErrorType::Forbidden,
            "FieldValueTooLong" => FieldErrorType::TooLong,
            "FieldValueTooMany" => FieldErrorType::TooMany,
            "InternalError" => FieldErrorType::Internal,
            "FieldValueTypeInvalid" => FieldErrorType::TypeInvalid,
            _ => FieldErrorType::Invalid,
        };
        Self {
            kind,
            field: e.field.clone(),
            value: e.bad_value.clone(),
            detail: e.detail.clone(),
            rendered: Some(e.message()),
        }
    }

    /// The message without the field name (`ErrorBody`), as causes carry it.
    pub fn body(&self) -> String {
        if let Some(r) = &self.rendered {
            return r.clone();
        }
        let mut s = match self.kind {
            FieldErrorType::Required
            | FieldErrorType::Forbidden
            | FieldErrorType::TooLong
            | FieldErrorType::Internal => self.kind.text().to_string(),
            _ => match &self.value {
                None => self.kind.text().to_string(),
                Some(v) => format!("{}: {}", self.kind.text(), go_value(v)),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Renders a bad value as Go's `%q`/`%v` does for the common JSON shapes.
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => go_quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Go's `%q` for a string: double quotes and Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `field.ErrorList.ToAggregate().Error()`: one error plain, several bracketed, duplicates once.
pub fn aggregate(errs: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        let m = e.to_string();
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    if seen.len() == 1 {
        seen.remove(0)
    } else {
        format!("[{}]", seen.join(", "))
    }
}

/// One `details.causes[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// `reason` (the cause type).
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// The field path, empty when none.
    pub field: String,
}

/// The `details` of a failure `Status`, boxed to keep errors small.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// `details.name`.
    pub name: String,
    /// `details.group`.
    pub group: String,
    /// `details.kind` (a resource or a kind, as the constructor decides).
    pub kind: String,
    /// `details.uid`.
    pub uid: String,
    /// `details.causes`.
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds`, also sent as `Retry-After`.
    pub retry_after: Option<u32>,
    /// `metadata.continue` of the Status (an expired continue token's successor).
    pub list_continue: Option<String>,
    /// Whether `details` is present even when empty.
    pub present: bool,
}

/// A failed request, answered as a `metav1.Status` with the right HTTP code.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code, also `status.code`.
    pub code: u16,
    /// `status.reason`; empty for `StatusReasonUnknown`.
    pub reason: String,
    /// `status.message`.
    pub message: String,
    /// `status.details` and friends.
    pub details: Box<Details>,
}

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl ApiError {
    fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: Box::default(),
        }
    }

    fn with_resource(mut self, gr: &GroupResource, name: &str) -> Self {
        self.details.present = true;
        self.details.name = name.to_string();
        self.details.group = gr.group.clone();
        self.details.kind = gr.resource.clone();
        self
    }

    /// Adds a cause to `details.causes`.
    pub fn with_cause(mut self, reason: &str, message: impl Into<String>, field: &str) -> Self {
        self.details.present = true;
        self.details.causes.push(Cause {
            reason: reason.to_string(),
            message: message.into(),
            field: field.to_string(),
        });
        self
    }

    /// `NewNotFound`: `configmaps "x" not found`.
    pub fn not_found(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{gr} {} not found", go_quote(name)),
        )
        .with_resource(gr, name)
    }

    /// A 404 for a path that names nothing the server serves.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details()
    }

    /// `NewAlreadyExists`.
    pub fn already_exists(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{gr} {} already exists", go_quote(name)),
        )
        .with_resource(gr, name)
    }

    /// `NewConflict` with the usual optimistic-concurrency text.
    pub fn conflict_modified(gr: &GroupResource, name: &str) -> Self {
        Self::conflict(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `NewConflict(gr, name, err)`.
    pub fn conflict(gr: &GroupResource, name: &str, err: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {gr} {}: {err}",
                go_quote(name)
            ),
        )
        .with_resource(gr, name)
    }

    /// `NewApplyConflict(causes, message)`.
    pub fn apply_conflict(message: impl Into<String>, causes: Vec<Cause>) -> Self {
        let mut e = Self::new(409, "Conflict", message);
        e.details.present = true;
        e.details.causes = causes;
        e
    }

    /// `NewInvalid(groupKind, name, errs)`.
    pub fn invalid(group: &str, kind: &str, name: &str, errs: &[FieldError]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let message = if errs.is_empty() {
            format!("{qualified} {} is invalid", go_quote(name))
        } else {
            format!(
                "{qualified} {} is invalid: {}",
                go_quote(name),
                aggregate(errs)
            )
        };
        let mut e = Self::new(422, "Invalid", message);
        e.details.present = true;
        e.details.name = name.to_string();
        e.details.group = group.to_string();
        e.details.kind = kind.to_string();
        e.details.causes = errs
            .iter()
            .map(|f| Cause {
                reason: f.kind.reason().to_string(),
                message: f.body(),
                field: f.field.clone(),
            })
            .collect();
        e
    }

    /// `NewBadRequest(message)`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// `NewMethodNotSupported(gr, action)`.
    pub fn method_not_supported(gr: &GroupResource, action: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!(
                "{action} is not supported on resources of kind {}",
                go_quote(&gr.to_string())
            ),
        )
        .with_resource(gr, "")
    }

    /// `NewGone(message)`.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Gone", message)
    }

    /// `NewResourceExpired(message)`: 410 with reason `Expired`.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// `NewRequestEntityTooLargeError(message)`.
    pub fn too_large(message: &str) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: {message}"),
        )
    }

    /// `NewUnauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// `NewForbidden(gr, name, err)`.
    pub fn forbidden(gr: &GroupResource, name: &str, err: &str) -> Self {
        let message = if gr.resource.is_empty() && name.is_empty() {
            format!("forbidden: {err}")
        } else if name.is_empty() {
            format!("{gr} is forbidden: {err}")
        } else {
            format!("{gr} {} is forbidden: {err}", go_quote(name))
        };
        Self::new(403, "Forbidden", message).with_resource(gr, name)
    }

    /// The 406 for an `Accept` header the server cannot satisfy.
    pub fn not_acceptable(accepted: &[&str]) -> Self {
        let mut e = Self::new(
            406,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: {}",
                accepted.join(", ")
            ),
        );
        e.details.present = true;
        e
    }

    /// The 415 for a `Content-Type` the endpoint does not decode.
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// `NewInternalError(err)`.
    pub fn internal(err: impl fmt::Display) -> Self {
        let text = err.to_string();
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {text}"),
        )
        .with_cause("", text, "")
    }

    /// A 500 whose reason is unknown, as the server answers errors it does not
    /// classify (etcd's `request is too large` arrives this way).
    pub fn unknown_500(message: impl Into<String>) -> Self {
        Self::new(500, "", message)
    }

    /// `NewTimeoutError(message, retryAfter)`: 504.
    pub fn timeout(message: &str, retry_after: u32) -> Self {
        let mut e = Self::new(504, "Timeout", format!("Timeout: {message}"));
        e.details.present = true;
        e.details.retry_after = Some(retry_after);
        e
    }

    /// `NewServiceUnavailable(reason)`.
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    fn with_details(mut self) -> Self {
        self.details.present = true;
        self
    }

    /// Replaces the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Sets `details.uid`.
    pub fn with_uid(mut self, uid: &str) -> Self {
        self.details.present = true;
        self.details.uid = uid.to_string();
        self
    }

    /// The `metav1.Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        let d = &self.details;
        if let Some(c) = &d.list_continue {
            status["metadata"] = json!({ "continue": c });
        }
        if d.present
            || !d.name.is_empty()
            || !d.kind.is_empty()
            || !d.causes.is_empty()
            || d.retry_after.is_some()
        {
            let mut out = serde_json::Map::new();
            if !d.name.is_empty() {
                out.insert("name".into(), json!(d.name));
            }
            if !d.group.is_empty() {
                out.insert("group".into(), json!(d.group));
            }
            if !d.kind.is_empty() {
                out.insert("kind".into(), json!(d.kind));
            }
            if !d.uid.is_empty() {
                out.insert("uid".into(), json!(d.uid));
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| {
                        let mut m = serde_json::Map::new();
                        if !c.reason.is_empty() {
                            m.insert("reason".into(), json!(c.reason));
                        }
                        if !c.message.is_empty() {
                            m.insert("message".into(), json!(c.message));
                        }
                        if !c.field.is_empty() {
                            m.insert("field".into(), json!(c.field));
                        }
                        Value::Object(m)
                    })
                    .collect();
                out.insert("causes".into(), Value::Array(causes));
            }
            if let Some(r) = d.retry_after {
                out.insert("retryAfterSeconds".into(), json!(r));
            }
            status["details"] = Value::Object(out);
        }
        status
    }
}

/// A `Status` with `status: Success`, as some deletes answer.
pub fn success_status(gr: &GroupResource, kind: &str, name: &str, uid: &str) -> Value {
    let mut details = serde_json::Map::new();
    details.insert("name".into(), json!(name));
    if !gr.group.is_empty() {
        details.insert("group".into(), json!(gr.group));
    }
    details.insert("kind".into(), json!(kind));
    if !uid.is_empty() {
        details.insert("uid".into(), json!(uid));
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_kubernetes() {
        let e = ApiError::not_found(&GroupResource::new("forklift.konveyor.io", "plans"), "x");
        assert_eq!(e.message, "plans.forklift.konveyor.io \"x\" not found");
        let s = e.to_status();
        assert_eq!(s["details"]["group"], "forklift.konveyor.io");
        assert_eq!(s["details"]["kind"], "plans");
        assert_eq!(s["code"], 404);
    }

    #[test]
    fn invalid_aggregates_like_field_error_list() {
        let errs = vec![
            FieldError::required("spec.map", ""),
            FieldError::required("spec.vms", ""),
            FieldError::invalid("metadata.name", "A", "bad"),
        ];
        let e = ApiError::invalid("forklift.konveyor.io", "Plan", "p", &errs);
        assert_eq!(
            e.message,
            "Plan.forklift.konveyor.io \"p\" is invalid: [spec.map: Required value, spec.vms: Required value, metadata.name: Invalid value: \"A\": bad]"
        );
        assert_eq!(e.details.causes[2].message, "Invalid value: \"A\": bad");
        assert_eq!(e.details.causes[0].reason, "FieldValueRequired");
    }

    #[test]
    fn one_error_is_not_bracketed() {
        let e = ApiError::invalid("", "ConfigMap", "c", &[FieldError::too_long("data", 10)]);
        assert_eq!(
            e.message,
            "ConfigMap \"c\" is invalid: data: Too long: may not be more than 10 bytes"
        );
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
    }
}
