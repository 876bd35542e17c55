//! `x-kubernetes-list-type` invariants (`schema/listtype`): set items and map keys must be
//! unique. Also the correlation of old and new map-list items by key.

use crate::error::FieldError;
use crate::path;
use crate::schema::{Additional, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Old list items indexed by their `x-kubernetes-list-map-keys` values.
pub(crate) struct MapList<'a> {
    keys: &'a [String],
    by_key: HashMap<String, &'a Value>,
}

impl<'a> MapList<'a> {
    pub(crate) fn new(keys: &'a [String], items: &'a [Value]) -> MapList<'a> {
        let mut by_key = HashMap::with_capacity(items.len());
        for item in items {
            if let Some(k) = item_key(keys, item) {
                by_key.entry(k).or_insert(item);
            }
        }
        MapList { keys, by_key }
    }

    /// The old item with the same key values as `item`.
    pub(crate) fn get(&self, item: &Value) -> Option<&'a Value> {
        self.by_key.get(&item_key(self.keys, item)?).copied()
    }
}

fn item_key(keys: &[String], item: &Value) -> Option<String> {
    let obj = item.as_object()?;
    let parts: Vec<Value> = keys
        .iter()
        .map(|k| obj.get(k).cloned().unwrap_or(Value::Null))
        .collect();
    Some(crate::canonical_json(&Value::Array(parts)))
}

/// `ValidateListSetsAndMaps`: duplicate set items and duplicate map keys.
pub(crate) fn validate(
    node: &Node,
    obj: &Map<String, Value>,
    pth: &str,
    errs: &mut Vec<FieldError>,
) {
    if let Some(Additional::Schema(add)) = &node.additional {
        for (k, v) in obj {
            value(add, v, &path::key(pth, k), errs);
        }
    }
    for (k, v) in obj {
        if let Some(sub) = node.properties.get(k) {
            value(sub, v, &path::child(pth, k), errs);
        }
    }
}

fn value(node: &Node, v: &Value, pth: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Array(items) => array(node, items, pth, errs),
        Value::Object(obj) => validate(node, obj, pth, errs),
        _ => {}
    }
}

fn array(node: &Node, items: &[Value], pth: &str, errs: &mut Vec<FieldError>) {
    match node.list_type.as_deref() {
        Some("set") => {
            for i in non_unique(items.iter().map(scalar_or_json)) {
                errs.push(FieldError::duplicate(path::index(pth, i), items[i].clone()));
            }
        }
        Some("map") => map_list(node, items, pth, errs),
        _ => {}
    }
    if let Some(item_schema) = &node.items {
        for (i, item) in items.iter().enumerate() {
            value(item_schema, item, &path::index(pth, i), errs);
        }
    }
}

/// A key that is equal exactly when Go's `map[interface{}]` (scalars) or JSON text
/// (objects, lists) would be: `int64(1)` and `float64(1)` differ.
fn scalar_or_json(v: &Value) -> String {
    match v {
        Value::Number(n) => match crate::gofmt::go_number(n) {
            crate::gofmt::GoNumber::Int(i) => format!("i:{i}"),
            crate::gofmt::GoNumber::Float(f) => format!("f:{}", f.to_bits()),
        },
        Value::Object(_) | Value::Array(_) => format!("j:{}", crate::canonical_json(v)),
        other => format!("s:{other}"),
    }
}

/// Indices of the second occurrence of each repeated key, in order.
fn non_unique(keys: impl Iterator<Item = String>) -> Vec<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, k) in keys.enumerate() {
        let times = seen.entry(k).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn map_list(node: &Node, items: &[Value], pth: &str, errs: &mut Vec<FieldError>) {
    for (i, x) in items.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            errs.push(FieldError::invalid(
                path::index(pth, i),
                x.clone(),
                "must be an object for an array of list-type map",
            ));
            return;
        }
    }
    if items.len() <= 1 {
        return;
    }
    let keys = &node.list_map_keys;
    if keys.len() == 1 {
        let key_field = &keys[0];
        let key_values: Vec<Option<&Value>> = items
            .iter()
            .map(|x| x.as_object().and_then(|o| o.get(key_field)))
            .collect();
        let repeated = non_unique(key_values.iter().map(|k| match k {
            Some(v) => scalar_or_json(v),
            None => "unspecified".to_string(),
        }));
        for i in repeated {
            let mut shown = Map::new();
            if let Some(v) = key_values[i] {
                shown.insert(key_field.clone(), v.clone());
            }
            errs.push(FieldError::duplicate(
                path::index(pth, i),
                Value::Object(shown),
            ));
        }
        return;
    }
    let key_maps: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut m = Map::new();
            if let Some(o) = x.as_object() {
                for k in keys {
                    if let Some(v) = o.get(k) {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(m)
        })
        .collect();
    for i in non_unique(key_maps.iter().map(scalar_or_json)) {
        errs.push(FieldError::duplicate(
            path::index(pth, i),
            key_maps[i].clone(),
        ));
    }
}
