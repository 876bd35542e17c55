//! The built-in resources the server serves, each with the behaviour of its
//! registry strategy in kube-apiserver: decoding through the typed API
//! (k8s-openapi), defaulting, validation of what clients rely on, printers and field
//! selectors.
//!
//! Decoding round-trips each object through its k8s-openapi type. That drops fields
//! the type does not have, exactly as kube-apiserver's typed decoding does, and the
//! difference between what was sent and what survived names the unknown fields for
//! `fieldValidation` warnings or strict errors. Validation is deliberately lighter
//! than kube-apiserver's: names, required fields and immutability rules that
//! controllers and tests touch (see the crate documentation for the list).

mod batch;
mod coordination;
pub mod core;
mod event;
pub mod node;
mod pod;
mod service;
pub mod storage;

use crate::resource::{ALL_VERBS, Behaviour, Decoded, ResourceDef, Subresource};
use crate::status::{ApiError, GroupResource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;

pub use event::{core_to_events_v1, events_v1_to_core};

/// Round-trips `obj` through the typed `T`, returning the normalized object and the
/// paths of fields `T` does not know.
pub(crate) fn roundtrip<T: DeserializeOwned + Serialize>(
    obj: Value,
    kind: &str,
    version: &str,
) -> Result<Decoded, ApiError> {
    let typed: T = serde_json::from_value(obj.clone()).map_err(|e| {
        ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {}",
            go_decode_message(&e.to_string())
        ))
    })?;
    let mut normalized = serde_json::to_value(&typed).map_err(ApiError::internal)?;
    go_numbers(&mut normalized);
    let mut unknown = Vec::new();
    dropped_fields(&obj, &normalized, "", &mut unknown);
    Ok(Decoded {
        object: normalized,
        unknown,
    })
}

/// Like [`roundtrip`], first checking the quantities in the maps at `quantities`
/// (JSON pointers, `*` for every array element) as Go's decoder parses them.
pub(crate) fn roundtrip_quantities<T: DeserializeOwned + Serialize>(
    obj: Value,
    kind: &str,
    version: &str,
    quantities: &[&str],
) -> Result<Decoded, ApiError> {
    if let Some(e) = crate::quantity::first_error(&obj, quantities) {
        return Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {e}"
        )));
    }
    roundtrip::<T>(obj, kind, version)
}

/// The container resource maps whose values are quantities, under a pod spec at
/// `spec` (a JSON pointer).
pub(crate) fn pod_spec_quantities(spec: &str) -> Vec<String> {
    let mut out = vec![format!("{spec}/overhead")];
    for c in ["containers", "initContainers"] {
        for m in ["requests", "limits"] {
            out.push(format!("{spec}/{c}/*/resources/{m}"));
        }
    }
    out
}

/// Rewrites the base64 crate's error texts (`Invalid symbol 33, offset 0.`) as Go's
/// `encoding/base64` words them, for byte fields of built-in types.
fn go_decode_message(msg: &str) -> String {
    for prefix in ["Invalid symbol ", "Invalid last symbol "] {
        if let Some(at) = msg.find(prefix) {
            let rest = &msg[at + prefix.len()..];
            if let Some(offset) = rest
                .split_once("offset ")
                .map(|(_, o)| o.trim_end_matches(|c: char| !c.is_ascii_digit()))
                .and_then(|o| o.split(|c: char| !c.is_ascii_digit()).next())
            {
                return format!("illegal base64 data at input byte {offset}");
            }
        }
    }
    if let Some(at) = msg.find("Invalid input length: ") {
        let n: String = msg[at + "Invalid input length: ".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        return format!("illegal base64 data at input byte {n}");
    }
    msg.to_string()
}

/// Writes whole floats as integers, as Go's JSON encoder prints a float64 `10`
/// (k8s-openapi types some fields as `f64`, which serde would print `10.0`).
pub(crate) fn go_numbers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 1e15
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(go_numbers),
        Value::Object(m) => m.values_mut().for_each(go_numbers),
        _ => {}
    }
}

/// Adds `"resources": {}` to every container of a pod spec: Go always writes this
/// struct field.
pub(crate) fn container_resources(spec: &mut Value) {
    for f in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(cs) = spec.get_mut(f).and_then(Value::as_array_mut) {
            for c in cs {
                default_path(c, &["resources"], serde_json::json!({}));
            }
        }
    }
}

/// Collects paths present (non-null) in `sent` but absent from `kept`.
pub(crate) fn dropped_fields(sent: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (sent, kept) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if v.is_null() {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    None => out.push(p),
                    Some(kv) => dropped_fields(v, kv, &p, out),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                dropped_fields(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Builds a built-in resource definition.
#[allow(clippy::too_many_arguments)]
pub(crate) fn def(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    short_names: &[&str],
    categories: &[&str],
    namespaced: bool,
    subresources: &[&'static str],
    behaviour: Arc<dyn Behaviour>,
) -> ResourceDef {
    let subresources = subresources
        .iter()
        .map(|s| match *s {
            "log" => Subresource {
                name: "log",
                kind: kind.to_string(),
                verbs: vec!["get"],
            },
            "binding" => Subresource {
                name: "binding",
                kind: "Binding".to_string(),
                verbs: vec!["create"],
            },
            "finalize" => Subresource {
                name: "finalize",
                kind: kind.to_string(),
                verbs: vec!["update"],
            },
            other => Subresource {
                name: other,
                kind: kind.to_string(),
                verbs: vec!["get", "patch", "update"],
            },
        })
        .collect();
    ResourceDef {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        short_names: short_names.iter().map(|s| s.to_string()).collect(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        namespaced,
        verbs: ALL_VERBS.to_vec(),
        subresources,
        storage: GroupResource::new(group, plural),
        behaviour,
        preferred: true,
        crd: None,
        patch_schema: ferry_patch::Schema::builtin(
            &if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            },
            kind,
        )
        .map(Arc::new),
    }
}

/// Every built-in resource.
pub fn builtins() -> Vec<ResourceDef> {
    let mut out = vec![
        core::namespaces(),
        pod::pods(),
        node::nodes(),
        storage::persistent_volume_claims(),
        storage::persistent_volumes(),
        core::config_maps(),
        core::secrets(),
        service::services(),
        core::service_accounts(),
        event::core_events(),
        event::events_v1(),
        batch::jobs(),
        storage::storage_classes(),
        coordination::leases(),
    ];
    out.push(crate::crd::definitions());
    out
}

/// Sets a value at a path of object keys, creating objects on the way.
/// Go writes a zero `metav1.Time` as `null` (the field is a struct, so
/// `omitempty` keeps it): a condition read back from kube-apiserver has `null` for
/// each of `fields` it was written without.
pub(crate) fn null_condition_times(obj: &mut Value, fields: &[&str]) {
    let Some(conditions) = obj
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in conditions.iter_mut().filter_map(Value::as_object_mut) {
        for f in fields {
            c.entry(*f).or_insert(Value::Null);
        }
    }
}

pub(crate) fn set_path(obj: &mut Value, path: &[&str], v: Value) {
    let mut cur = obj;
    for (i, p) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let Some(m) = cur.as_object_mut() else { return };
        if i == path.len() - 1 {
            m.insert((*p).to_string(), v);
            return;
        }
        cur = m
            .entry((*p).to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
}

/// Sets a value at a path only if nothing is there yet.
pub(crate) fn default_path(obj: &mut Value, path: &[&str], v: Value) {
    let mut cur = &*obj;
    let mut present = true;
    for p in path {
        match cur.get(p) {
            Some(x) if !x.is_null() => cur = x,
            _ => {
                present = false;
                break;
            }
        }
    }
    if !present {
        set_path(obj, path, v);
    }
}

/// The value at a path of object keys.
pub(crate) fn get_path<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = obj;
    for p in path {
        cur = cur.get(p)?;
    }
    if cur.is_null() { None } else { Some(cur) }
}

/// A string at a path, empty when absent.
pub(crate) fn str_path(obj: &Value, path: &[&str]) -> String {
    get_path(obj, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
