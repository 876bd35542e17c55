//! Events: `core/v1` and `events.k8s.io/v1`, two views of one stored resource,
//! converted field by field as `pkg/apis/events/v1/conversion.go` does.

use super::{def, get_path, roundtrip, str_path};
use crate::resource::{Behaviour, Column, Decoded, ResourceDef};
use crate::status::{ApiError, FieldError, GroupResource};
use crate::table::{meta_str, name_of, since};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::events::v1 as events;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Field renames between `events.k8s.io/v1` (left) and `core/v1` (right).
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
];

fn rename(obj: &Value, api_version: &str, to_core: bool) -> Value {
    let Some(m) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let renamed = RENAMES
            .iter()
            .find_map(|(e, c)| {
                if to_core && k == e {
                    Some(*c)
                } else if !to_core && k == c {
                    Some(*e)
                } else {
                    None
                }
            })
            .unwrap_or(k.as_str());
        out.insert(renamed.to_string(), v.clone());
    }
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!("Event"));
    Value::Object(out)
}

/// Converts an `events.k8s.io/v1` Event to its `core/v1` form.
pub fn events_v1_to_core(obj: &Value) -> Value {
    rename(obj, "v1", true)
}

/// Converts a `core/v1` Event to its `events.k8s.io/v1` form.
pub fn core_to_events_v1(obj: &Value) -> Value {
    let mut v = rename(obj, "events.k8s.io/v1", false);
    // `reportingInstance`, `action`, `reason`, `type`, `series`, `related` and
    // `eventTime` share names; core-only fields without a counterpart are dropped.
    if let Some(m) = v.as_object_mut() {
        m.remove("source");
    }
    v
}

/// Fields Go always writes for a core/v1 Event (no `omitempty`, or non-pointer
/// structs): the stored form carries them so both API versions serve them.
fn go_zero_fields(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    for f in ["eventTime", "firstTimestamp", "lastTimestamp"] {
        m.entry(f).or_insert(Value::Null);
    }
    for f in ["reportingComponent", "reportingInstance"] {
        m.entry(f).or_insert_with(|| json!(""));
    }
    for f in ["involvedObject", "source"] {
        m.entry(f).or_insert_with(|| json!({}));
    }
}

fn event_field(obj: &Value, label: &str) -> Option<String> {
    let involved = |f: &str| str_path(obj, &["involvedObject", f]);
    Some(match label {
        "metadata.name" => name_of(obj),
        "metadata.namespace" => meta_str(obj, "namespace"),
        "involvedObject.kind" | "regarding.kind" => involved("kind"),
        "involvedObject.namespace" | "regarding.namespace" => involved("namespace"),
        "involvedObject.name" | "regarding.name" => involved("name"),
        "involvedObject.uid" | "regarding.uid" => involved("uid"),
        "involvedObject.apiVersion" | "regarding.apiVersion" => involved("apiVersion"),
        "involvedObject.resourceVersion" | "regarding.resourceVersion" => {
            involved("resourceVersion")
        }
        "involvedObject.fieldPath" | "regarding.fieldPath" => involved("fieldPath"),
        "reason" => str_path(obj, &["reason"]),
        "reportingComponent" | "reportingController" => str_path(obj, &["reportingComponent"]),
        "source" | "deprecatedSource" => str_path(obj, &["source", "component"]),
        "type" => str_path(obj, &["type"]),
        _ => return None,
    })
}

fn validate_event(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ns = meta_str(obj, "namespace");
    let involved_ns = str_path(obj, &["involvedObject", "namespace"]);
    // An event about a cluster-scoped object (no involved namespace) lives in
    // `default` (or nowhere); otherwise the namespaces match.
    let mismatch = if involved_ns.is_empty() {
        !ns.is_empty() && ns != "default"
    } else {
        !ns.is_empty() && involved_ns != ns
    };
    if mismatch {
        errs.push(FieldError::invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        ));
    }
    if get_path(obj, &["eventTime"]).is_some() {
        // New-style events need their reporting fields.
        if str_path(obj, &["reportingComponent"]).is_empty() {
            errs.push(FieldError::required("reportingController", ""));
        }
        if str_path(obj, &["reportingInstance"]).is_empty() {
            errs.push(FieldError::required("reportingInstance", ""));
        }
        if str_path(obj, &["action"]).is_empty() {
            errs.push(FieldError::required("action", ""));
        }
        if str_path(obj, &["reason"]).is_empty() {
            errs.push(FieldError::required("reason", ""));
        }
    }
    errs
}

fn columns() -> Vec<Column> {
    vec![
        Column::new(
            "Last Seen",
            "string",
            "",
            "Time when this Event was last seen",
            0,
        ),
        Column::new(
            "Type",
            "string",
            "",
            "Type of this event (Normal, Warning), new types could be added in the future.",
            0,
        ),
        Column::new(
            "Reason",
            "string",
            "",
            "Reason why the action was taken. It is human-readable. This field can have at most 128 characters.",
            0,
        ),
        Column::new("Object", "string", "", "The object this Event is about", 0),
        Column::new(
            "Subobject",
            "string",
            "",
            "The subobject this Event is about",
            1,
        ),
        Column::new(
            "Source",
            "string",
            "",
            "The component reporting this event. Should be a short machine understandable string.",
            1,
        ),
        Column::new(
            "Message",
            "string",
            "",
            "A human-readable description of the status of this operation.",
            0,
        ),
        Column::new(
            "First Seen",
            "string",
            "",
            "The first time at which the event was recorded. (Time of server receipt is in TypeMeta.)",
            1,
        ),
        Column::new(
            "Count",
            "string",
            "",
            "The number of times this event has occurred.",
            1,
        ),
        Column::new("Name", "string", "name", "", 1),
    ]
}

fn row(obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let last = {
        let l = str_path(obj, &["series", "lastObservedTime"]);
        let l = if l.is_empty() {
            str_path(obj, &["lastTimestamp"])
        } else {
            l
        };
        let l = if l.is_empty() {
            str_path(obj, &["eventTime"])
        } else {
            l
        };
        if l.is_empty() {
            meta_str(obj, "creationTimestamp")
        } else {
            l
        }
    };
    let first = {
        let f = str_path(obj, &["firstTimestamp"]);
        let f = if f.is_empty() {
            str_path(obj, &["eventTime"])
        } else {
            f
        };
        if f.is_empty() {
            meta_str(obj, "creationTimestamp")
        } else {
            f
        }
    };
    let kind = str_path(obj, &["involvedObject", "kind"]).to_lowercase();
    let object = format!("{}/{}", kind, str_path(obj, &["involvedObject", "name"]));
    let source = {
        let s = str_path(obj, &["source", "component"]);
        if s.is_empty() {
            str_path(obj, &["reportingComponent"])
        } else {
            s
        }
    };
    let count = get_path(obj, &["series", "count"])
        .or_else(|| get_path(obj, &["count"]))
        .and_then(Value::as_i64)
        .unwrap_or(1);
    vec![
        json!(since(&last, now)),
        json!(str_path(obj, &["type"])),
        json!(str_path(obj, &["reason"])),
        json!(object),
        json!(str_path(obj, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(str_path(obj, &["message"]).trim()),
        json!(since(&first, now)),
        json!(count),
        json!(name_of(obj)),
    ]
}

#[derive(Debug)]
struct CoreEvent;

impl Behaviour for CoreEvent {
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<core::Event>(obj, "Event", version)
    }
    fn default(&self, obj: &mut Value) {
        go_zero_fields(obj);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_event(obj)
    }
    fn columns(&self) -> Vec<Column> {
        columns()
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        row(obj, now)
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        event_field(obj, label)
    }
}

/// `events` (core/v1).
pub fn core_events() -> ResourceDef {
    def(
        "",
        "v1",
        "Event",
        "events",
        &["ev"],
        &[],
        true,
        &[],
        Arc::new(CoreEvent),
    )
}

#[derive(Debug)]
struct EventsV1;

impl Behaviour for EventsV1 {
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        let typed = roundtrip::<events::Event>(obj, "Event", version)?;
        let core = events_v1_to_core(&typed.object);
        let mut normalized = roundtrip::<core::Event>(core, "Event", "v1")?;
        normalized.unknown = typed.unknown;
        Ok(normalized)
    }
    fn default(&self, obj: &mut Value) {
        go_zero_fields(obj);
    }
    fn encode(&self, stored: &Value, _version: &str) -> Option<Value> {
        Some(core_to_events_v1(stored))
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs: Vec<FieldError> = validate_event(obj)
            .into_iter()
            .map(|mut e| {
                if e.field == "involvedObject.namespace" {
                    e.field = "regarding.namespace".into();
                }
                e
            })
            .collect();
        if get_path(obj, &["eventTime"]).is_none() {
            errs.push(FieldError::required("eventTime", ""));
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        columns()
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        row(&events_v1_to_core(obj), now)
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        event_field(&events_v1_to_core(obj), label)
    }
}

/// `events` (events.k8s.io/v1), stored with the core events.
pub fn events_v1() -> ResourceDef {
    let mut d = def(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        &["ev"],
        &[],
        true,
        &[],
        Arc::new(EventsV1),
    );
    d.storage = GroupResource::new("", "events");
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_round_trips() {
        let e = json!({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e","namespace":"d"},
            "regarding":{"kind":"Pod","name":"p"},"note":"hi","reportingController":"c","reportingInstance":"i",
            "action":"A","reason":"R","type":"Normal","eventTime":"2024-01-01T00:00:00.000000Z"});
        let core = events_v1_to_core(&e);
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "hi");
        assert_eq!(core["apiVersion"], "v1");
        let back = core_to_events_v1(&core);
        assert_eq!(back, e);
    }
}
