//! Embedded resources (`x-kubernetes-embedded-resource`): their `apiVersion`, `kind` and
//! `metadata` are checked and their metadata coerced like an `ObjectMeta` (schema/objectmeta).

use crate::error::FieldError;
use crate::path;
use crate::schema::{Additional, Node};
use serde_json::{Map, Value};

enum MetaType {
    Str,
    Int,
    Time,
    StringMap,
    StringList,
    ObjectList,
}

/// The fields of `metav1.ObjectMeta` and their JSON shapes.
fn meta_field(name: &str) -> Option<MetaType> {
    Some(match name {
        "name" | "generateName" | "namespace" | "selfLink" | "uid" | "resourceVersion" => {
            MetaType::Str
        }
        "generation" | "deletionGracePeriodSeconds" => MetaType::Int,
        "creationTimestamp" | "deletionTimestamp" => MetaType::Time,
        "labels" | "annotations" => MetaType::StringMap,
        "finalizers" => MetaType::StringList,
        "ownerReferences" | "managedFields" => MetaType::ObjectList,
        _ => return None,
    })
}

fn well_typed(t: &MetaType, v: &Value) -> bool {
    match t {
        MetaType::Str => v.is_string() || v.is_null(),
        MetaType::Int => v.as_i64().is_some() || v.is_null(),
        MetaType::Time => {
            v.is_null()
                || v.as_str()
                    .is_some_and(|s| s.is_empty() || crate::cel::parse_rfc3339(s).is_some())
        }
        MetaType::StringMap => {
            v.is_null()
                || v.as_object()
                    .is_some_and(|m| m.values().all(Value::is_string))
        }
        MetaType::StringList => {
            v.is_null() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        }
        MetaType::ObjectList => {
            v.is_null() || v.as_array().is_some_and(|a| a.iter().all(Value::is_object))
        }
    }
}

/// Whether Go's `omitempty` drops the value when an `ObjectMeta` is written back.
fn omitted(name: &str, v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => name == "generation" && n.as_i64() == Some(0),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Bool(_) => false,
    }
}

/// Coerces a `metadata` value the way decoding into `ObjectMeta` and writing it back does:
/// unknown fields are dropped (and reported as `<parent>.metadata.<field>`), malformed
/// fields are dropped, empty values disappear. `parent` is the embedding object's path
/// (`""` at the root). A non-object metadata is removed.
pub fn coerce_object_meta(metadata: &mut Value, parent: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let prefix = path::child(parent, "metadata");
    let Value::Object(map) = metadata else {
        *metadata = Value::Object(Map::new());
        return unknown;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        match meta_field(&k) {
            None => {
                unknown.push(format!("{prefix}.{k}"));
                map.remove(&k);
            }
            Some(t) => {
                let drop = map
                    .get(&k)
                    .is_none_or(|v| !well_typed(&t, v) || omitted(&k, v));
                if drop {
                    map.remove(&k);
                }
            }
        }
    }
    unknown.sort();
    unknown
}

/// `objectmeta.Validate` below the root: every embedded resource's type and metadata.
pub(crate) fn validate(
    node: &Node,
    v: &Value,
    pth: &str,
    depth: usize,
    errs: &mut Vec<FieldError>,
) {
    if depth > crate::schema::MAX_SCHEMA_DEPTH {
        return;
    }
    match v {
        Value::Object(map) => {
            if node.embedded && depth > 0 {
                embedded(map, pth, errs);
            }
            for (k, val) in map {
                if let Some(p) = node.properties.get(k) {
                    validate(p, val, &path::child(pth, k), depth + 1, errs);
                } else if let Some(Additional::Schema(a)) = &node.additional {
                    validate(a, val, &path::key(pth, k), depth + 1, errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &node.items {
                for (i, val) in items.iter().enumerate() {
                    validate(item, val, &path::index(pth, i), depth + 1, errs);
                }
            }
        }
        _ => {}
    }
}

fn embedded(x: &Map<String, Value>, pth: &str, errs: &mut Vec<FieldError>) {
    if !x.contains_key("apiVersion") {
        errs.push(FieldError::required(
            path::child(pth, "apiVersion"),
            "must not be empty",
        ));
    }
    if !x.contains_key("kind") {
        errs.push(FieldError::required(
            path::child(pth, "kind"),
            "must not be empty",
        ));
    }
    for (k, v) in x {
        let p = path::child(pth, k);
        match k.as_str() {
            "apiVersion" => match v.as_str() {
                None => errs.push(FieldError::invalid(p, v.clone(), "must be a string")),
                Some("") => errs.push(FieldError::invalid(p, v.clone(), "must not be empty")),
                Some(s) if s.matches('/').count() > 1 => errs.push(FieldError::invalid(
                    p,
                    v.clone(),
                    format!("unexpected GroupVersion string: {s}"),
                )),
                Some(_) => {}
            },
            "kind" => match v.as_str() {
                None => errs.push(FieldError::invalid(p, v.clone(), "must be a string")),
                Some("") => errs.push(FieldError::invalid(p, v.clone(), "must not be empty")),
                Some(s) => {
                    let problems = dns1035_label(&s.to_lowercase());
                    if !problems.is_empty() {
                        errs.push(FieldError::invalid(
                            p,
                            v.clone(),
                            format!(
                                "may have mixed case, but should otherwise match: {}",
                                problems.join(",")
                            ),
                        ));
                    }
                }
            },
            "metadata" => metadata(v, &p, errs),
            _ => {}
        }
    }
}

fn metadata(v: &Value, p: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else {
        errs.push(FieldError::invalid(
            p,
            v.clone(),
            "json: cannot unmarshal into Go value of type v1.ObjectMeta",
        ));
        return;
    };
    for (k, val) in m {
        if let Some(t) = meta_field(k) {
            if !well_typed(&t, val) {
                errs.push(FieldError::invalid(
                    p,
                    v.clone(),
                    format!("json: cannot unmarshal into Go struct field ObjectMeta.{k}"),
                ));
                return;
            }
        }
    }
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let segment = |value: &str, prefix: bool| -> Vec<String> {
        if !prefix {
            for bad in [".", ".."] {
                if value == bad {
                    return vec![format!("may not be '{bad}'")];
                }
            }
        }
        ["/", "%"]
            .iter()
            .filter(|c| value.contains(*c))
            .map(|c| format!("may not contain '{c}'"))
            .collect()
    };
    let generate_name = s("generateName");
    if !generate_name.is_empty() {
        for msg in segment(generate_name, true) {
            errs.push(FieldError::invalid(
                path::child(p, "generateName"),
                Value::String(generate_name.into()),
                msg,
            ));
        }
    }
    let name = if s("name").is_empty() {
        "fakename"
    } else {
        s("name")
    };
    for msg in segment(name, false) {
        errs.push(FieldError::invalid(
            path::child(p, "name"),
            Value::String(name.into()),
            msg,
        ));
    }
    let namespace = s("namespace");
    if !namespace.is_empty() {
        for msg in dns1123_label(namespace) {
            errs.push(FieldError::invalid(
                path::child(p, "namespace"),
                Value::String(namespace.into()),
                msg,
            ));
        }
    }
    if let Some(g) = m.get("generation").and_then(Value::as_i64) {
        if g < 0 {
            errs.push(FieldError::invalid(
                path::child(p, "generation"),
                Value::from(g),
                "must be greater than or equal to 0",
            ));
        }
    }
}

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let ex: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        ex.join(" or ")
    )
}

fn label_like(value: &str, first: fn(u8) -> bool) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && first(b[0])
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !label_like(value, |c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        errs.push(regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "123-abc"],
        ));
    }
    errs
}

fn dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !label_like(value, |c| c.is_ascii_lowercase()) {
        errs.push(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            "[a-z]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "abc-123"],
        ));
    }
    errs
}
