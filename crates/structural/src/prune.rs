//! Pruning unknown fields (schema/pruning), dropping non-nullable nulls without defaults
//! (defaulting/prunenulls) and coercing embedded resources' metadata (objectmeta/coerce),
//! in the order the real server's decoder applies them.

use crate::objectmeta::coerce_object_meta;
use crate::schema::{Additional, Node};
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// How a node treats the object it applies to.
#[derive(Clone, Copy)]
enum Applies<'a> {
    /// A schema node (`is_root` marks the resource root, which is always an embedded resource).
    Schema(&'a Node, bool),
    /// No schema at all: everything below is unknown.
    Nothing,
}

pub(crate) fn prune(root: &Node, obj: &mut Value) -> Vec<String> {
    let mut paths = Vec::new();
    let mut parent = Vec::new();
    prune_value(obj, Applies::Schema(root, true), &mut parent, &mut paths, 0);
    paths.sort();
    prune_nulls(obj, Some(root), 0);
    let mut coerced = Vec::new();
    coerce(obj, root, "", true, &mut coerced, 0);
    coerced.sort();
    paths.extend(coerced);
    paths
}

/// Prunes a value under a non-root node (used to check that defaults carry no unknown fields).
pub(crate) fn prune_below_root(
    node: &Node,
    v: &mut Value,
    parent: &mut Vec<String>,
    paths: &mut Vec<String>,
) {
    prune_value(v, Applies::Schema(node, false), parent, paths, 0);
}

fn join(parent: &[String]) -> String {
    parent.concat()
}

fn push_key(parent: &mut Vec<String>, k: &str) {
    if !parent.is_empty() {
        parent.push(".".to_string());
    }
    parent.push(k.to_string());
}

fn record(parent: &mut Vec<String>, k: &str, paths: &mut Vec<String>) {
    let len = parent.len();
    push_key(parent, k);
    paths.push(join(parent));
    parent.truncate(len);
}

fn prune_value(
    x: &mut Value,
    s: Applies<'_>,
    parent: &mut Vec<String>,
    paths: &mut Vec<String>,
    depth: usize,
) {
    if depth > crate::MAX_DATA_DEPTH {
        return;
    }
    let (node, embedded) = match s {
        Applies::Schema(n, is_root) => {
            if n.preserves_unknown() {
                skip_prune(x, n, is_root, parent, paths, depth);
                return;
            }
            (Some(n), n.embedded || is_root)
        }
        Applies::Nothing => (None, false),
    };
    let len = parent.len();
    match x {
        Value::Object(map) => {
            let Some(node) = node else {
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    record(parent, &k, paths);
                }
                map.clear();
                return;
            };
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = node.properties.get(&k) {
                    push_key(parent, &k);
                    if let Some(v) = map.get_mut(&k) {
                        prune_value(v, Applies::Schema(prop, false), parent, paths, depth + 1);
                    }
                    parent.truncate(len);
                } else if let Some(add) = &node.additional {
                    push_key(parent, &k);
                    let sub = match add {
                        Additional::Schema(a) => Applies::Schema(a, false),
                        Additional::Allows(_) => Applies::Nothing,
                    };
                    if let Some(v) = map.get_mut(&k) {
                        prune_value(v, sub, parent, paths, depth + 1);
                    }
                    parent.truncate(len);
                } else {
                    if !META_FIELDS.contains(&k.as_str()) || !parent.is_empty() {
                        record(parent, &k, paths);
                    }
                    map.remove(&k);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                parent.push(format!("[{i}]"));
                let sub = match node.and_then(|n| n.items.as_deref()) {
                    Some(item) => Applies::Schema(item, false),
                    None => Applies::Nothing,
                };
                prune_value(v, sub, parent, paths, depth + 1);
                parent.truncate(len);
            }
        }
        _ => {}
    }
}

fn skip_prune(
    x: &mut Value,
    s: &Node,
    is_root: bool,
    parent: &mut Vec<String>,
    paths: &mut Vec<String>,
    depth: usize,
) {
    if depth > crate::MAX_DATA_DEPTH {
        return;
    }
    let len = parent.len();
    match x {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if (s.embedded || is_root) && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(prop) = s.properties.get(k) {
                    push_key(parent, k);
                    prune_value(v, Applies::Schema(prop, false), parent, paths, depth + 1);
                    parent.truncate(len);
                } else if let Some(add) = &s.additional {
                    push_key(parent, k);
                    let sub = match add {
                        Additional::Schema(a) => Applies::Schema(a, false),
                        Additional::Allows(_) => Applies::Nothing,
                    };
                    prune_value(v, sub, parent, paths, depth + 1);
                    parent.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                for (i, v) in items.iter_mut().enumerate() {
                    parent.push(format!("[{i}]"));
                    skip_prune(v, item, false, parent, paths, depth + 1);
                    parent.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// `PruneNonNullableNullsWithoutDefaults`.
fn prune_nulls(x: &mut Value, s: Option<&Node>, depth: usize) {
    if depth > crate::MAX_DATA_DEPTH {
        return;
    }
    match x {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let sub = s.and_then(|n| n.field_schema(&k));
                let drop = matches!(map.get(&k), Some(Value::Null))
                    && sub.is_some_and(|n| !n.nullable && n.default.is_none());
                if drop {
                    map.remove(&k);
                } else if let Some(v) = map.get_mut(&k) {
                    prune_nulls(v, sub, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            let sub = s.and_then(|n| n.items.as_deref());
            for v in items {
                prune_nulls(v, sub, depth + 1);
            }
        }
        _ => {}
    }
}

/// `objectmeta.Coerce` below the root, dropping invalid fields.
fn coerce(
    x: &mut Value,
    s: &Node,
    pth: &str,
    is_root: bool,
    unknown: &mut Vec<String>,
    depth: usize,
) {
    if depth > crate::MAX_DATA_DEPTH {
        return;
    }
    match x {
        Value::Object(map) => {
            if s.embedded && !is_root {
                for k in ["apiVersion", "kind"] {
                    if map.get(k).is_some_and(|v| !v.is_string()) {
                        map.remove(k);
                    }
                }
                if let Some(meta) = map.get_mut("metadata") {
                    unknown.extend(coerce_object_meta(meta, pth));
                    if meta.as_object().is_some_and(|m| m.is_empty()) {
                        // An empty ObjectMeta is written back as `{}`; keep it.
                    }
                }
            }
            for (k, v) in map.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    coerce(
                        v,
                        prop,
                        &crate::path::child(pth, k),
                        false,
                        unknown,
                        depth + 1,
                    );
                } else if let Some(Additional::Schema(a)) = &s.additional {
                    coerce(v, a, &crate::path::key(pth, k), false, unknown, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                for (i, v) in items.iter_mut().enumerate() {
                    coerce(
                        v,
                        item,
                        &crate::path::index(pth, i),
                        false,
                        unknown,
                        depth + 1,
                    );
                }
            }
        }
        _ => {}
    }
}
