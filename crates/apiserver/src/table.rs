//! Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and
//! the small helpers printers share (names, ages as `kubectl` shows them).

use crate::resource::ResourceDef;
use serde_json::{Value, json};

/// What a table row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// A `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter.
    pub fn parse(s: Option<&str>) -> Result<Self, String> {
        match s {
            None | Some("") | Some("Metadata") => Ok(Self::Metadata),
            Some("None") => Ok(Self::None),
            Some("Object") => Ok(Self::Object),
            Some(other) => Err(format!("unrecognized includeObject value: {other:?}")),
        }
    }
}

/// `metadata.<field>` as a string, empty when absent.
pub fn meta_str(obj: &Value, field: &str) -> String {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `metadata.name`.
pub fn name_of(obj: &Value) -> String {
    meta_str(obj, "name")
}

/// Parses an RFC 3339 timestamp as the API writes them.
pub fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse::<jiff::Timestamp>().ok()
}

/// `translateTimestampSince` for `metadata.creationTimestamp`.
pub fn age_of(obj: &Value, now: jiff::Timestamp) -> String {
    since(&meta_str(obj, "creationTimestamp"), now)
}

/// `translateTimestampSince`: a human duration since `ts`, `<unknown>` when unset.
pub fn since(ts: &str, now: jiff::Timestamp) -> String {
    match parse_time(ts) {
        None => "<unknown>".to_string(),
        Some(t) => human_duration(now.as_second() - t.as_second()),
    }
}

/// `duration.HumanDuration` from `k8s.io/apimachinery`, in seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, h)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{}d", hours / 24 / 365, dy)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `meta.AsPartialObjectMetadata`.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The column definitions of a resource's table.
pub fn column_definitions(def: &ResourceDef) -> Vec<Value> {
    def.behaviour
        .columns()
        .into_iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect()
}

/// One row for `obj`.
pub fn row(def: &ResourceDef, obj: &Value, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let cells = def.behaviour.row(obj, now);
    let mut row = json!({ "cells": cells });
    match include {
        IncludeObject::None => row["object"] = Value::Null,
        IncludeObject::Metadata => row["object"] = partial_metadata(obj),
        IncludeObject::Object => row["object"] = obj.clone(),
    }
    row
}

/// A whole `Table` for a list (or a single object).
pub fn table(
    def: &ResourceDef,
    objects: &[Value],
    list_meta: Value,
    include: IncludeObject,
    headers: bool,
) -> Value {
    let now = jiff::Timestamp::now();
    let rows: Vec<Value> = objects.iter().map(|o| row(def, o, include, now)).collect();
    let mut t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": if headers { Value::Array(column_definitions(def)) } else { Value::Null },
        "rows": rows,
    });
    if !headers && let Some(m) = t.as_object_mut() {
        m.remove("columnDefinitions");
    }
    t
}

/// A string cell from a JSON value: strings as-is, other scalars printed, missing
/// values as `<none>`.
pub fn cell(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => Value::String("<none>".into()),
        Some(Value::String(s)) if s.is_empty() => Value::String("<none>".into()),
        Some(v) => v.clone(),
    }
}

/// A nested string field by dotted path.
pub fn str_at(obj: &Value, path: &[&str]) -> String {
    let mut cur = obj;
    for p in path {
        match cur.get(p) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(100 * 86400), "100d");
        assert_eq!(human_duration(-5), "<invalid>");
    }
}
