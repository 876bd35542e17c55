//! The `FieldsV1` wire format of `metadata.managedFields[].fieldsV1`: a trie of
//! `f:<field>`, `k:{<key fields>}`, `v:<value>`, `i:<index>` keys, with `"."` marking
//! a node that is itself owned.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::fieldpath::{PathElement, Set};

/// `fieldsV1` that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldsV1Error(pub String);

/// Encodes a set as `fieldsV1`, in structured-merge-diff's order.
pub fn set_to_fields_v1(set: &Set) -> Value {
    Value::Object(contents(set, false))
}

fn contents(set: &Set, include_self: bool) -> Map<String, Value> {
    let mut out = Map::new();
    if include_self && !(set.members().is_empty() && set.children().is_empty()) {
        out.insert(".".into(), Value::Object(Map::new()));
    }
    let mut keys: BTreeSet<&PathElement> = set.members().iter().collect();
    keys.extend(set.children().keys());
    for pe in keys {
        let member = set.members().contains(pe);
        let value = match set.children().get(pe) {
            Some(child) => Value::Object(contents(child, member)),
            None => Value::Object(Map::new()),
        };
        out.insert(serialize_path_element(pe), value);
    }
    out
}

/// `f:name`, `k:{"name":"x"}`, `v:"x"`, `i:0`.
pub fn serialize_path_element(pe: &PathElement) -> String {
    match pe {
        PathElement::Field(name) => format!("f:{name}"),
        PathElement::Key(fields) => {
            let mut s = String::from("k:{");
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&go_json_string(k));
                s.push(':');
                s.push_str(&go_json(v));
            }
            s.push('}');
            s
        }
        PathElement::Value(v) => format!("v:{}", go_json(v)),
        PathElement::Index(i) => format!("i:{i}"),
    }
}

/// JSON as Go's `encoding/json` writes it (HTML characters escaped).
pub(crate) fn go_json_value(v: &Value) -> String {
    go_json(v)
}

fn go_json(v: &Value) -> String {
    match v {
        Value::String(s) => go_json_string(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_json).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}:{}", go_json_string(k), go_json(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses one `fieldsV1` key. `Ok(None)` for an unknown element type (skipped, as
/// structured-merge-diff does).
pub fn parse_path_element(key: &str) -> Result<Option<PathElement>, FieldsV1Error> {
    let bytes = key.as_bytes();
    if bytes.len() < 2 {
        return Err(FieldsV1Error("key must be 2 characters long:".into()));
    }
    if bytes[1] != b':' {
        return Err(FieldsV1Error(format!("missing colon: {key}")));
    }
    let rest = &key[2..];
    let parse = |s: &str| {
        serde_json::from_str::<Value>(s)
            .map_err(|e| FieldsV1Error(format!("parsing key as path element: {e}")))
    };
    Ok(Some(match bytes[0] {
        b'f' => PathElement::Field(rest.to_string()),
        b'v' => PathElement::Value(parse(rest)?),
        b'k' => match parse(rest)? {
            Value::Object(m) => {
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                PathElement::Key(fields)
            }
            _ => {
                return Err(FieldsV1Error(
                    "parsing key as path element: expected an object".into(),
                ));
            }
        },
        b'i' => PathElement::Index(rest.parse::<i64>().map_err(|_| {
            FieldsV1Error(format!("strconv.Atoi: parsing \"{rest}\": invalid syntax"))
        })?),
        _ => return Ok(None),
    }))
}

/// Decodes `fieldsV1` into a set.
pub fn fields_v1_to_set(fields: &Value) -> Result<Set, FieldsV1Error> {
    if crate::depth_within(fields, crate::MAX_DEPTH).is_none() {
        return Err(FieldsV1Error(format!(
            "fieldsV1 is nested deeper than {} levels",
            crate::MAX_DEPTH
        )));
    }
    match fields {
        Value::Object(m) => Ok(read(m)?.0.unwrap_or_default()),
        Value::Null => Ok(Set::new()),
        _ => Err(FieldsV1Error("fieldsV1 must be an object".into())),
    }
}

/// Returns the node's children (if any) and whether the node itself is a member.
fn read(m: &Map<String, Value>) -> Result<(Option<Set>, bool), FieldsV1Error> {
    let mut members = BTreeSet::new();
    let mut children = BTreeMap::new();
    let mut is_member = false;
    let mut any = false;
    for (key, value) in m {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = parse_path_element(key)? else {
            continue;
        };
        let Value::Object(sub) = value else {
            return Err(FieldsV1Error(format!("{key}: expected an object")));
        };
        let (grandchildren, child_is_member) = read(sub)?;
        if child_is_member {
            members.insert(pe.clone());
            any = true;
        }
        if let Some(g) = grandchildren {
            children.insert(pe, g);
            any = true;
        }
    }
    if !any {
        return Ok((None, true));
    }
    Ok((Some(Set::from_parts(members, children)), is_member))
}
