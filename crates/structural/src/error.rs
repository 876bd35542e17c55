//! Field errors as the real API server reports them (`k8s.io/apimachinery/pkg/util/validation/field`),
//! and the `Invalid` status message built from them.

use crate::gofmt;
use serde_json::Value;
use std::fmt;

/// What is wrong with a field; one-to-one with `metav1.CauseType` / `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// A required value is missing (`FieldValueRequired`).
    Required,
    /// The value is malformed or out of range (`FieldValueInvalid`).
    Invalid,
    /// The value is not one of an enumerated set (`FieldValueNotSupported`).
    NotSupported,
    /// The value does not have the schema's type (`FieldValueTypeInvalid`).
    TypeInvalid,
    /// The value is too long (`FieldValueTooLong`).
    TooLong,
    /// A list or map has too many entries (`FieldValueTooMany`).
    TooMany,
    /// A value that must be unique is repeated (`FieldValueDuplicate`).
    Duplicate,
    /// The value is not allowed here (`FieldValueForbidden`).
    Forbidden,
    /// The server could not decide (`InternalError`).
    Internal,
}

impl FieldErrorKind {
    /// The machine-readable reason, as in a status cause's `reason` (`type` in JSON).
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::Internal => "InternalError",
        }
    }

    /// The human-readable prefix of the message (`Required value`, `Invalid value`, ...).
    pub fn title(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid | FieldErrorKind::TypeInvalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::Internal => "Internal error",
        }
    }
}

/// One invalid field, as it appears in a `metav1.Status` `details.causes[]` entry
/// (`reason()` is the cause's `reason`, `message()` its `message`, `field` its `field`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What is wrong.
    pub kind: FieldErrorKind,
    /// The field path in the server's notation: `spec.provider.source`, `spec.vms[0]`,
    /// `spec.labels[app]`; `<nil>` for errors the server does not attach to a field.
    pub field: String,
    /// Extra explanation after the value (may be empty).
    pub detail: String,
    /// The offending value, printed into the message; `None` omits it.
    pub bad_value: Option<Value>,
}

impl FieldError {
    /// A new error of any kind.
    pub fn new(
        kind: FieldErrorKind,
        field: impl Into<String>,
        bad_value: Option<Value>,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError {
            kind,
            field: field.into(),
            detail: detail.into(),
            bad_value,
        }
    }

    /// `field.Required(path, detail)`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError::new(
            FieldErrorKind::Required,
            field,
            Some(Value::String(String::new())),
            detail,
        )
    }

    /// `field.Invalid(path, value, detail)`.
    pub fn invalid(
        field: impl Into<String>,
        value: Value,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError::new(FieldErrorKind::Invalid, field, Some(value), detail)
    }

    /// `field.Forbidden(path, detail)`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError::new(
            FieldErrorKind::Forbidden,
            field,
            Some(Value::String(String::new())),
            detail,
        )
    }

    /// `field.NotSupported(path, value, supported)`.
    pub fn not_supported(
        field: impl Into<String>,
        value: Value,
        supported: &[String],
    ) -> FieldError {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| gofmt::quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        FieldError::new(FieldErrorKind::NotSupported, field, Some(value), detail)
    }

    /// `field.TypeInvalid(path, value, detail)`.
    pub fn type_invalid(
        field: impl Into<String>,
        value: Value,
        detail: impl Into<String>,
    ) -> FieldError {
        FieldError::new(FieldErrorKind::TypeInvalid, field, Some(value), detail)
    }

    /// `field.TooLong(path, value, max)`: the value itself is never printed.
    pub fn too_long(field: impl Into<String>, max: i64) -> FieldError {
        let detail = if max >= 0 {
            format!("may not be more than {max} bytes")
        } else {
            "value is too long".to_string()
        };
        FieldError::new(
            FieldErrorKind::TooLong,
            field,
            Some(Value::String("<value omitted>".to_string())),
            detail,
        )
    }

    /// `field.TooMany(path, actual, max)`.
    pub fn too_many(field: impl Into<String>, actual: i64, max: i64) -> FieldError {
        let detail = if max >= 0 {
            format!("must have at most {max} items")
        } else {
            "has too many items".to_string()
        };
        let value = (actual >= 0).then(|| Value::from(actual));
        FieldError::new(FieldErrorKind::TooMany, field, value, detail)
    }

    /// `field.Duplicate(path, value)`.
    pub fn duplicate(field: impl Into<String>, value: Value) -> FieldError {
        FieldError::new(FieldErrorKind::Duplicate, field, Some(value), "")
    }

    /// `field.InternalError(path, err)`.
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError::new(FieldErrorKind::Internal, field, None, detail)
    }

    /// The cause's machine-readable reason (`FieldValueRequired`, `FieldValueInvalid`, ...).
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }

    /// The cause's message exactly as the real server prints it (`ErrorBody`), e.g.
    /// `Required value`, `Unsupported value: "x": supported values: "cold", "warm"`,
    /// `Invalid value: "string": spec.x in body must be of type integer: "string"`.
    pub fn message(&self) -> String {
        let mut s = String::from(self.kind.title());
        let omit_value = matches!(
            self.kind,
            FieldErrorKind::Required
                | FieldErrorKind::Forbidden
                | FieldErrorKind::TooLong
                | FieldErrorKind::Internal
        );
        if !omit_value {
            if let Some(value) = &self.bad_value {
                s.push_str(": ");
                s.push_str(&format_bad_value(value));
            }
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

/// How `ErrorBody` prints a bad value: `%v` for numbers and booleans, `%q` for strings
/// (a JSON null prints as `"null"`), `%#v` for maps and lists.
fn format_bad_value(value: &Value) -> String {
    match value {
        Value::Null => gofmt::quote("null"),
        Value::String(s) => gofmt::quote(s),
        Value::Bool(_) | Value::Number(_) => gofmt::go_v(value),
        Value::Array(_) | Value::Object(_) => gofmt::go_sharp_v(value),
    }
}

impl fmt::Display for FieldError {
    /// `field: message`, as Go's `(*field.Error).Error()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

impl std::error::Error for FieldError {}

/// The `message` of the `422 Invalid` status the server returns for these causes:
/// `<Kind>.<group> "<name>" is invalid: [a: Required value, b: ...]` (no brackets for a
/// single distinct error; duplicates are printed once; an empty list gives
/// `<Kind>.<group> "<name>" is invalid`). `group` may be empty for the core group.
pub fn invalid_message(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> String {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let head = format!("{qualified} {} is invalid", gofmt::quote(name));
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        let text = e.to_string();
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    match seen.len() {
        0 => head,
        1 => format!("{head}: {}", seen[0]),
        _ => format!("{head}: [{}]", seen.join(", ")),
    }
}

/// Why a CRD's schema was refused; each cause is a field error on the CRD itself
/// (`spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: ...`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", render_schema_errors(.errors))]
pub struct SchemaErrors {
    /// The causes, in the order the real server reports them (sorted by message).
    pub errors: Vec<FieldError>,
}

fn render_schema_errors(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    match parts.len() {
        0 => "invalid schema".to_string(),
        1 => parts[0].clone(),
        _ => format!("[{}]", parts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_match_the_real_server() {
        let cases = [
            (
                FieldError::required("spec.map", ""),
                "Required value",
                "FieldValueRequired",
            ),
            (
                FieldError::not_supported("spec.type", json!("x"), &["cold".into(), "warm".into()]),
                r#"Unsupported value: "x": supported values: "cold", "warm""#,
                "FieldValueNotSupported",
            ),
            (
                FieldError::type_invalid(
                    "spec.x",
                    json!("string"),
                    r#"spec.x in body must be of type integer: "string""#,
                ),
                r#"Invalid value: "string": spec.x in body must be of type integer: "string""#,
                "FieldValueTypeInvalid",
            ),
            (
                FieldError::too_long("spec.name", 3),
                "Too long: may not be more than 3 bytes",
                "FieldValueTooLong",
            ),
            (
                FieldError::too_many("spec.vms", 5, 2),
                "Too many: 5: must have at most 2 items",
                "FieldValueTooMany",
            ),
            (
                FieldError::duplicate("spec.list[1]", json!({"name": "a"})),
                r#"Duplicate value: map[string]interface {}{"name":"a"}"#,
                "FieldValueDuplicate",
            ),
            (
                FieldError::duplicate("spec.set[1]", json!(2)),
                "Duplicate value: 2",
                "FieldValueDuplicate",
            ),
            (
                FieldError::forbidden("spec.x", "must not be set"),
                "Forbidden: must not be set",
                "FieldValueForbidden",
            ),
            (
                FieldError::invalid("spec.x", Value::Null, "bad"),
                r#"Invalid value: "null": bad"#,
                "FieldValueInvalid",
            ),
            (
                FieldError::invalid("spec.x", json!(1.5), "bad"),
                "Invalid value: 1.5: bad",
                "FieldValueInvalid",
            ),
        ];
        for (err, message, reason) in cases {
            assert_eq!(err.message(), message);
            assert_eq!(err.reason(), reason);
        }
    }

    #[test]
    fn invalid_status_message() {
        let errs = vec![
            FieldError::required("spec.map", ""),
            FieldError::required("spec.targetNamespace", ""),
            FieldError::required("spec.map", ""),
        ];
        assert_eq!(
            invalid_message("Plan", "forklift.konveyor.io", "p", &errs),
            r#"Plan.forklift.konveyor.io "p" is invalid: [spec.map: Required value, spec.targetNamespace: Required value]"#
        );
        assert_eq!(
            invalid_message("Plan", "forklift.konveyor.io", "p", &errs[..1]),
            r#"Plan.forklift.konveyor.io "p" is invalid: spec.map: Required value"#
        );
        assert_eq!(
            invalid_message("ConfigMap", "", "c", &[]),
            r#"ConfigMap "c" is invalid"#
        );
    }
}
