//! JSON merge patch (RFC 7386, `application/merge-patch+json`) exactly as kube-apiserver
//! applies it: with `gopkg.in/evanphx/json-patch.v4`'s `MergePatch`.
//!
//! Where v4 departs from the RFC, this follows v4, because that is what clients of a
//! real server see:
//! - a patch that is `null` or a scalar is refused ("Invalid JSON Patch", 400) instead
//!   of replacing the document;
//! - a patch that is an array replaces the document (nulls inside objects inside the
//!   array are dropped, `null` array elements are kept);
//! - a value put where the target had nothing (or `null`, or a non-object) has its
//!   nested `null` members dropped, including inside objects inside arrays.

use serde_json::{Map, Value};

use crate::depth;
use crate::error::PatchError;

/// Applies `patch` to `target` in place, as kube-apiserver applies a
/// `application/merge-patch+json` body to the stored object.
///
/// Errors: [`PatchError::BadRequest`] "Invalid JSON Patch" for a `null` or scalar patch
/// (as kube-apiserver), [`PatchError::TooDeep`] for hostile nesting. On error `target`
/// is unchanged.
pub fn merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    depth::check(patch, "patch")?;
    if target.is_null() {
        // v4 checks the document before the patch: a `null` document is refused.
        return Err(PatchError::Internal("Invalid JSON Document".to_string()));
    }
    match patch {
        Value::Object(patch_map) => {
            match target {
                Value::Object(doc) => merge_docs(doc, patch_map),
                // Not a document: the pruned patch becomes the document.
                _ => {
                    let mut replacement = patch_map.clone();
                    prune_doc_nulls(&mut replacement);
                    *target = Value::Object(replacement);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let mut replacement = items.clone();
            prune_array_nulls(&mut replacement);
            *target = Value::Array(replacement);
            Ok(())
        }
        _ => Err(PatchError::BadRequest("Invalid JSON Patch".to_string())),
    }
}

fn merge_docs(doc: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            doc.remove(key);
            continue;
        }
        match doc.get_mut(key) {
            Some(current) if !current.is_null() => merge_value(current, value),
            _ => {
                let mut v = value.clone();
                prune_nulls(&mut v);
                doc.insert(key.clone(), v);
            }
        }
    }
}

fn merge_value(current: &mut Value, patch: &Value) {
    match (current, patch) {
        (Value::Object(cur), Value::Object(p)) => merge_docs(cur, p),
        // The current value is an object, the patch is not: the patch as is.
        (cur @ Value::Object(_), p) => *cur = p.clone(),
        // The current value is not an object: the pruned patch.
        (cur, p) => {
            let mut v = p.clone();
            prune_nulls(&mut v);
            *cur = v;
        }
    }
}

fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => prune_doc_nulls(map),
        Value::Array(items) => prune_array_nulls(items),
        _ => {}
    }
}

fn prune_doc_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for v in map.values_mut() {
        prune_nulls(v);
    }
}

fn prune_array_nulls(items: &mut [Value]) {
    for v in items {
        prune_nulls(v);
    }
}
