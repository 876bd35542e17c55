//! Name and metadata validation with Kubernetes' exact messages
//! (`k8s.io/apimachinery/pkg/util/validation` and `api/validation/objectmeta.go`).

use crate::status::FieldError;
use serde_json::Value;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// The most annotations (keys plus values) may weigh.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && is_lower_alnum(b[0])
        && is_lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_dns1123_label)
}

/// `IsDNS1123Label`.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !is_dns1123_label(s) {
        if is_dns1123_subdomain(s) {
            errs.push("must not contain dots".into());
        } else {
            errs.push(DNS1123_LABEL_MSG.into());
        }
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push(max_len(253));
    }
    if !is_dns1123_subdomain(s) {
        errs.push(DNS1123_SUBDOMAIN_MSG.into());
    }
    errs
}

/// `IsDNS1035Label`.
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && is_lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-');
    if !ok {
        errs.push(DNS1035_LABEL_MSG.into());
    }
    errs
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `IsQualifiedName`: label keys, annotation keys, finalizers.
pub fn qualified_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".into());
            } else {
                for m in dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len(63)));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {QUALIFIED_NAME_MSG}"));
    }
    errs
}

/// The first qualified-name problem, if any.
pub fn qualified_name_error(s: &str) -> Option<String> {
    qualified_name(s).into_iter().next()
}

/// `IsValidLabelValue`.
pub fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !s.is_empty() && !is_qualified_name_part(s) {
        errs.push(LABEL_VALUE_MSG.into());
    }
    errs
}

/// The first label-value problem, if any.
pub fn label_value_error(s: &str) -> Option<String> {
    label_value(s).into_iter().next()
}

/// How a resource's object names are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (most resources).
    Subdomain,
    /// DNS-1123 label (namespaces).
    Label,
    /// DNS-1035 label (services).
    Dns1035,
    /// Any name that is a valid path segment (events, leases' legacy rule).
    PathSegment,
}

/// `path.IsValidPathSegmentName`.
pub fn path_segment(s: &str) -> Vec<String> {
    if s == "." || s == ".." {
        return vec![format!("may not be '{s}'")];
    }
    for bad in ["/", "%"] {
        if s.contains(bad) {
            return vec![format!("may not contain '{bad}'")];
        }
    }
    Vec::new()
}

impl NameRule {
    /// Validates a name, or a `generateName` prefix when `prefix` is set (a
    /// trailing `-` is then allowed, as `maskTrailingDash` does).
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name = if prefix && name.len() > 1 && name.ends_with('-') {
            masked = format!("{}a", &name[..name.len() - 1]);
            masked.as_str()
        } else {
            name
        };
        match self {
            Self::Subdomain => dns1123_subdomain(name),
            Self::Label => dns1123_label(name),
            Self::Dns1035 => dns1035_label(name),
            Self::PathSegment => path_segment(name),
        }
    }
}

fn str_map(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the shape of `metadata` fields a client may send (maps of strings,
/// lists of strings), so that later code can rely on it.
pub fn metadata_shape(meta: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(m) = meta.as_object() else {
        return vec![FieldError::invalid(
            "metadata",
            meta.clone(),
            "must be an object",
        )];
    };
    for f in ["labels", "annotations"] {
        if let Some(v) = m.get(f) {
            match v {
                Value::Null => {}
                Value::Object(o) => {
                    for (k, x) in o {
                        if !x.is_string() {
                            errs.push(FieldError {
                                kind: crate::status::FieldErrorType::TypeInvalid,
                                field: format!("metadata.{f}.{k}"),
                                value: Some(x.clone()),
                                detail: "must be a string".into(),
                                rendered: None,
                            });
                        }
                    }
                }
                other => errs.push(FieldError {
                    kind: crate::status::FieldErrorType::TypeInvalid,
                    field: format!("metadata.{f}"),
                    value: Some(other.clone()),
                    detail: "must be an object of strings".into(),
                    rendered: None,
                }),
            }
        }
    }
    for f in [
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
    ] {
        if let Some(v) = m.get(f)
            && !v.is_string()
            && !v.is_null()
        {
            errs.push(FieldError {
                kind: crate::status::FieldErrorType::TypeInvalid,
                field: format!("metadata.{f}"),
                value: Some(v.clone()),
                detail: "must be a string".into(),
                rendered: None,
            });
        }
    }
    if let Some(v) = m.get("finalizers")
        && !v.is_null()
        && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        errs.push(FieldError {
            kind: crate::status::FieldErrorType::TypeInvalid,
            field: "metadata.finalizers".into(),
            value: Some(v.clone()),
            detail: "must be a list of strings".into(),
            rendered: None,
        });
    }
    if let Some(v) = m.get("ownerReferences")
        && !v.is_null()
        && !v.as_array().is_some_and(|a| a.iter().all(Value::is_object))
    {
        errs.push(FieldError {
            kind: crate::status::FieldErrorType::TypeInvalid,
            field: "metadata.ownerReferences".into(),
            value: Some(v.clone()),
            detail: "must be a list of objects".into(),
            rendered: None,
        });
    }
    errs
}

/// `ValidateObjectMetaAccessor` for a create.
pub fn validate_object_meta(obj: &Value, namespaced: bool, rule: NameRule) -> Vec<FieldError> {
    let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
    let mut errs = metadata_shape(&meta);
    if !errs.is_empty() {
        return errs;
    }
    let s = |f: &str| {
        meta.get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let generate = s("generateName");
    if !generate.is_empty() {
        for m in rule.check(&generate, true) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                generate.clone(),
                m,
            ));
        }
    }
    let name = s("name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for m in rule.check(&name, false) {
            errs.push(FieldError::invalid("metadata.name", name.clone(), m));
        }
    }
    let ns = s("namespace");
    if namespaced {
        if ns.is_empty() {
            errs.push(FieldError::required("metadata.namespace", ""));
        } else {
            for m in dns1123_label(&ns) {
                errs.push(FieldError::invalid("metadata.namespace", ns.clone(), m));
            }
        }
    } else if !ns.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    errs.extend(validate_meta_common(&meta));
    errs
}

fn validate_meta_common(meta: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(g) = meta.get("generation").and_then(Value::as_i64)
        && g < 0
    {
        errs.push(FieldError::invalid(
            "metadata.generation",
            g,
            "must be greater than or equal to 0",
        ));
    }
    for (k, v) in str_map(meta.get("labels")) {
        for m in qualified_name(&k) {
            errs.push(FieldError::invalid("metadata.labels", k.clone(), m));
        }
        for m in label_value(&v) {
            errs.push(FieldError::invalid("metadata.labels", v.clone(), m));
        }
    }
    let annotations = str_map(meta.get("annotations"));
    let mut total = 0;
    for (k, v) in &annotations {
        for m in qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid("metadata.annotations", k.clone(), m));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(
            "metadata.annotations",
            TOTAL_ANNOTATION_SIZE_LIMIT,
        ));
    }
    if let Some(refs) = meta.get("ownerReferences").and_then(Value::as_array) {
        let mut first_controller = String::new();
        for r in refs {
            let f = |k: &str| {
                r.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let api_version = f("apiVersion");
            let version = api_version.rsplit('/').next().unwrap_or_default();
            if version.is_empty() {
                errs.push(FieldError::invalid(
                    "metadata.ownerReferences.apiVersion",
                    api_version.clone(),
                    "version must not be empty",
                ));
            }
            for (k, what) in [("kind", "kind"), ("name", "name"), ("uid", "uid")] {
                if f(k).is_empty() {
                    errs.push(FieldError::invalid(
                        format!("metadata.ownerReferences.{k}"),
                        "",
                        format!("{what} must not be empty"),
                    ));
                }
            }
            if r.get("controller").and_then(Value::as_bool) == Some(true) {
                let this = format!("{}/{}", f("kind"), f("name"));
                if first_controller.is_empty() {
                    first_controller = this;
                } else {
                    errs.push(FieldError::invalid(
                        "metadata.ownerReferences",
                        Value::Array(refs.clone()),
                        format!(
                            "Only one reference can have Controller set to true. Found \"true\" in references for {first_controller} and {this}"
                        ),
                    ));
                }
            }
        }
    }
    let finalizers: Vec<String> = meta
        .get("finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    for f in &finalizers {
        for m in qualified_name(f) {
            errs.push(FieldError::invalid("metadata.finalizers", f.clone(), m));
        }
    }
    if finalizers.iter().any(|f| f == "orphan")
        && finalizers.iter().any(|f| f == "foregroundDeletion")
    {
        errs.push(FieldError::invalid(
            "metadata.finalizers",
            Value::from(finalizers.clone()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// `ValidateObjectMetaAccessorUpdate`.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let nm = new.get("metadata").cloned().unwrap_or(Value::Null);
    let om = old.get("metadata").cloned().unwrap_or(Value::Null);
    let mut errs = metadata_shape(&nm);
    if !errs.is_empty() {
        return errs;
    }
    if om.get("deletionTimestamp").is_some_and(|v| !v.is_null()) {
        let strs = |m: &Value| -> Vec<String> {
            m.get("finalizers")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let old_f = strs(&om);
        let mut extra: Vec<String> = strs(&nm)
            .into_iter()
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| format!("{f:?}")).collect();
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    let gen_of = |m: &Value| m.get("generation").and_then(Value::as_i64).unwrap_or(0);
    if gen_of(&nm) < gen_of(&om) {
        errs.push(FieldError::invalid(
            "metadata.generation",
            gen_of(&nm),
            "must not be decremented",
        ));
    }
    for f in ["name", "namespace", "uid", "creationTimestamp"] {
        let a = nm.get(f).cloned().unwrap_or(Value::Null);
        let b = om.get(f).cloned().unwrap_or(Value::Null);
        let empty = |v: &Value| v.is_null() || v.as_str() == Some("");
        if a != b && !(empty(&a) && empty(&b)) {
            errs.push(FieldError::invalid(
                format!("metadata.{f}"),
                a,
                "field is immutable",
            ));
        }
    }
    errs.extend(validate_meta_common(&nm));
    errs
}

/// The finalizer rule of the built-in kinds' validation (core's
/// `validateKubeFinalizerName`): a finalizer without a `/` must be one of
/// Kubernetes' own (`kubernetes`, `orphan`, `foregroundDeletion`). Custom
/// resources only get a warning for those, and CRDs no check.
pub fn kube_finalizer_names(obj: &Value) -> Vec<FieldError> {
    const STANDARD: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, f)| {
            let f = f.as_str()?;
            (!f.contains('/') && !STANDARD.contains(&f)).then(|| {
                FieldError::invalid(
                    format!("metadata.finalizers[{i}]"),
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subdomain_rules() {
        assert!(dns1123_subdomain("a.b-c").is_empty());
        assert_eq!(
            dns1123_subdomain("Foo_bar"),
            vec![DNS1123_SUBDOMAIN_MSG.to_string()]
        );
        assert_eq!(dns1123_subdomain(&"a".repeat(254)).len(), 1);
    }

    #[test]
    fn label_rule_reports_dots() {
        assert_eq!(
            dns1123_label("a.b"),
            vec!["must not contain dots".to_string()]
        );
    }

    #[test]
    fn qualified_names() {
        assert!(qualified_name("example.com/My_Name").is_empty());
        assert!(!qualified_name("a/b/c").is_empty());
        assert!(!qualified_name("/x").is_empty());
        assert!(!qualified_name("-x").is_empty());
    }

    #[test]
    fn generate_name_may_end_with_a_dash() {
        assert!(NameRule::Subdomain.check("web-", true).is_empty());
        assert!(!NameRule::Subdomain.check("web-", false).is_empty());
    }

    #[test]
    fn object_meta_errors_name_the_fields() {
        let obj = json!({"metadata": {"name": "Bad_Name", "labels": {"ok": "not ok!"}}});
        let errs = validate_object_meta(&obj, true, NameRule::Subdomain);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["metadata.name", "metadata.namespace", "metadata.labels"]
        );
    }

    #[test]
    fn no_new_finalizers_while_deleting() {
        let old = json!({"metadata": {"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["a/b"]}});
        let new = json!({"metadata": {"name": "a", "finalizers": ["a/b", "c/d"]}});
        let errs = validate_object_meta_update(&new, &old);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].detail.contains("\"c/d\""));
    }
}
