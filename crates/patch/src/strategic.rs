//! Strategic merge patch (`application/strategic-merge-patch+json`) as kube-apiserver
//! applies it: apimachinery's `strategicpatch.StrategicMergeMapPatch` with the server's
//! options (parallel lists merged, unmatched nulls ignored).
//!
//! Supported: lists merged by `x-kubernetes-patch-merge-key` under the `merge`
//! strategy, scalar lists merged as sets, `replace` strategy, `null` deletes, the
//! directives `$patch: replace|delete|merge`, `$retainKeys`,
//! `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`, including the
//! element ordering rules (`$setElementOrder` first, then patch order, then live order).
//!
//! Faithful quirks worth knowing:
//! - new list elements from the patch come before live elements the patch does not
//!   mention, unless `$setElementOrder` says otherwise;
//! - a value added where the target had nothing keeps directive-like keys nested in it
//!   (`$retainKeys` inside a new object stays, as in Go); kube-apiserver drops them when
//!   decoding into the typed object, so the caller must prune unknown fields as it does
//!   for any write;
//! - JSON integers and non-integers are different types (Go's `int64`/`float64`): a
//!   merged scalar list mixing them fails.

use serde_json::{Map, Value};

use crate::depth;
use crate::error::PatchError;
use crate::gofmt::{go_list, go_value};
use crate::schema::{PatchMeta, PatchStrategy, TypeInfo, TypeRef, resolve};

const DIRECTIVE: &str = "$patch";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const RETAIN_KEYS: &str = "$retainKeys";

/// Applies a strategic merge patch to `target` and returns the patched object.
///
/// `types` supplies the patch strategies and merge keys of the kind
/// ([`crate::Schema::builtin`]). For a kind without strategic-merge metadata (custom
/// resources) this fails with [`PatchError::StrategicMergeUnsupported`], as
/// kube-apiserver answers 415.
///
/// Errors are classified as kube-apiserver classifies them: malformed directives are
/// [`PatchError::BadRequest`], lists of lists [`PatchError::Unprocessable`], and the
/// rest (a missing merge key, an unknown `$patch` value, ...) [`PatchError::Internal`]
/// with apimachinery's message.
pub fn strategic_merge_patch(
    target: &Value,
    patch: &Value,
    types: &dyn TypeInfo,
) -> Result<Value, PatchError> {
    if !types.supports_strategic_merge() {
        return Err(PatchError::StrategicMergeUnsupported);
    }
    depth::check(target, "object")?;
    depth::check(patch, "patch")?;
    let original = match target {
        Value::Object(m) => m.clone(),
        _ => return Err(PatchError::BadRequest("invalid JSON document".into())),
    };
    let patch = match patch {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(other)
            )));
        }
    };
    let merger = Merger { types };
    merger
        .merge_map(original, patch, types.root())
        .map(Value::Object)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The Go type a decoded JSON value has (`int64` and `float64` differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoType {
    Nil,
    Bool,
    Int,
    Float,
    Str,
    Slice,
    Map,
}

fn go_type(v: &Value) -> GoType {
    match v {
        Value::Null => GoType::Nil,
        Value::Bool(_) => GoType::Bool,
        Value::Number(n) if n.as_i64().is_some() => GoType::Int,
        Value::Number(_) => GoType::Float,
        Value::String(_) => GoType::Str,
        Value::Array(_) => GoType::Slice,
        Value::Object(_) => GoType::Map,
    }
}

fn go_type_name(t: GoType) -> &'static str {
    match t {
        GoType::Nil => "<nil>",
        GoType::Bool => "bool",
        GoType::Int => "int64",
        GoType::Float => "float64",
        GoType::Str => "string",
        GoType::Slice => "[]interface {}",
        GoType::Map => "map[string]interface {}",
    }
}

/// Go's `==` on two `interface{}` values; comparing two maps or two slices panics in
/// Go, which kube-apiserver reports as a 500.
fn go_eq(a: &Value, b: &Value) -> Result<bool, PatchError> {
    let (ta, tb) = (go_type(a), go_type(b));
    if ta != tb {
        return Ok(false);
    }
    match ta {
        GoType::Slice | GoType::Map => Err(PatchError::Internal(format!(
            "runtime error: comparing uncomparable type {}",
            go_type_name(ta)
        ))),
        GoType::Float => Ok(a.as_f64() == b.as_f64()),
        _ => Ok(a == b),
    }
}

fn internal(message: String) -> PatchError {
    PatchError::Internal(message)
}

fn bad_arg_type(expected: GoType, actual: &Value) -> PatchError {
    internal(format!(
        "expected a {}, but received a {}",
        go_type_name(expected),
        go_type_name(go_type(actual))
    ))
}

fn no_merge_key(m: &Map<String, Value>, key: &str) -> PatchError {
    internal(format!(
        "map: {} does not contain declared merge key: {key}",
        go_value(&Value::Object(m.clone()))
    ))
}

fn bad_patch_type(t: &Value, m: &Map<String, Value>) -> PatchError {
    internal(format!(
        "unknown patch type: {} in map: {}",
        go_patch_type(t),
        go_value(&Value::Object(m.clone()))
    ))
}

/// `%s` of the `$patch` value: strings as is, anything else as Go's `%!s(type=value)`.
fn go_patch_type(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        other => format!("%!s({}={})", go_type_name(go_type(other)), go_value(other)),
    }
}

fn bad_format_primitive_list() -> PatchError {
    PatchError::BadRequest("invalid patch format of primitive list".into())
}

fn bad_format_retain_keys() -> PatchError {
    PatchError::BadRequest("invalid patch format of retainKeys".into())
}

fn bad_format_set_element_order() -> PatchError {
    PatchError::BadRequest("invalid patch format of setElementOrder list".into())
}

struct Merger<'t> {
    types: &'t dyn TypeInfo,
}

/// The schema of what sits under key `key` of an object of type `ty`: the field's
/// type and strategic-merge metadata.
fn lookup(types: &dyn TypeInfo, ty: TypeRef, key: &str) -> (TypeRef, PatchMeta) {
    let r = resolve(types, ty);
    match r.map {
        Some(m) => match m.fields.get(key) {
            Some(f) => (f.ty, f.patch.clone()),
            None => (m.elements.unwrap_or(TypeRef::DEDUCED), PatchMeta::default()),
        },
        None => (TypeRef::DEDUCED, PatchMeta::default()),
    }
}

/// The element type of the list at `ty`. Like Go's lookup through a pointer to a
/// struct, a type that is not a list is its own element type.
fn items_of(types: &dyn TypeInfo, ty: TypeRef) -> TypeRef {
    resolve(types, ty).list.map(|l| l.items).unwrap_or(ty)
}

/// `extractKey`: the field name after `prefix/`.
fn extract_key(key: &str, prefix: &str) -> Option<String> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Some(rest.to_string()),
        _ => None,
    }
}

impl Merger<'_> {
    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        ty: TypeRef,
    ) -> Result<Map<String, Value>, PatchError> {
        if let Some(directive) = patch.get(DIRECTIVE) {
            return match directive.as_str() {
                Some("replace") => {
                    patch.remove(DIRECTIVE);
                    Ok(patch)
                }
                Some("delete") => Ok(Map::new()),
                _ => Err(bad_patch_type(directive, &patch)),
            };
        }

        apply_retain_keys(&mut original, &mut patch)?;
        self.merge_set_element_order(&mut original, &mut patch, ty)?;

        for (key, patch_value) in patch {
            let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
                match extract_key(&key, DELETE_FROM_PRIMITIVE_LIST) {
                    Some(k) => (k, true),
                    None => return Err(bad_format_primitive_list()),
                }
            } else {
                (key, false)
            };

            if patch_value.is_null() {
                original.remove(&key);
                continue;
            }

            let Some(current) = original.get(&key) else {
                if !is_delete_list {
                    put_patch_value(&mut original, key, patch_value);
                }
                continue;
            };

            if go_type(current) != go_type(&patch_value) {
                if !is_delete_list {
                    put_patch_value(&mut original, key, patch_value);
                }
                continue;
            }

            match patch_value {
                Value::Object(patch_map) => {
                    let (sub, meta) = lookup(self.types, ty, &key);
                    let merged = if meta.strategy == Some(PatchStrategy::Replace) {
                        patch_map
                    } else {
                        let Some(Value::Object(current)) = original.remove(&key) else {
                            continue;
                        };
                        self.merge_map(current, patch_map, sub)?
                    };
                    original.insert(key, Value::Object(merged));
                }
                Value::Array(patch_list) => {
                    let (sub, meta) = lookup(self.types, ty, &key);
                    let merged = if meta.strategy == Some(PatchStrategy::Merge) || is_delete_list {
                        let Some(Value::Array(current)) = original.remove(&key) else {
                            continue;
                        };
                        self.merge_slice(
                            current,
                            patch_list,
                            items_of(self.types, sub),
                            meta.merge_key.as_deref().unwrap_or(""),
                            is_delete_list,
                        )?
                        .0
                    } else {
                        patch_list
                    };
                    original.insert(key, Value::Array(merged));
                }
                scalar => {
                    original.insert(key, scalar);
                }
            }
        }
        Ok(original)
    }

    /// `mergePatchIntoOriginal`: handles each `$setElementOrder/<field>` with the list
    /// it orders, and removes both from `patch`.
    fn merge_set_element_order(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        ty: TypeRef,
    ) -> Result<(), PatchError> {
        let keys: Vec<String> = patch
            .keys()
            .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for key in keys {
            let Some(order) = patch.remove(&key) else {
                continue;
            };
            let Value::Array(order) = order else {
                return Err(bad_arg_type(GoType::Slice, &order));
            };
            let field =
                extract_key(&key, SET_ELEMENT_ORDER).ok_or_else(bad_format_set_element_order)?;
            let original_list = match original.get(&field) {
                Some(Value::Array(l)) => Some(l.clone()),
                Some(other) => return Err(bad_arg_type(GoType::Slice, other)),
                None => None,
            };
            let patch_list = match patch.get(&field) {
                Some(Value::Array(l)) => Some(l.clone()),
                Some(other) => return Err(bad_arg_type(GoType::Slice, other)),
                None => None,
            };
            let (sub, meta) = lookup(self.types, ty, &field);
            let merge_key = meta.merge_key.clone().unwrap_or_default();
            validate_patch_with_set_order(
                patch_list.as_deref().unwrap_or(&[]),
                &order,
                &merge_key,
            )?;

            // Go merges the live list in place: `original_values` is what the live
            // list's backing array holds afterwards, and orders the result.
            let mut original_values = original_list.clone().unwrap_or_default();
            let merged = match (original_list, patch_list.clone()) {
                (Some(o), None) => o,
                (None, Some(p)) => match remove_directives(Value::Array(p)) {
                    Some(Value::Array(items)) => items,
                    _ => continue,
                },
                (Some(o), Some(p)) => {
                    if meta.strategy == Some(PatchStrategy::Merge) {
                        let (merged, backing) =
                            self.merge_slice(o, p, items_of(self.types, sub), &merge_key, false)?;
                        original_values = backing;
                        merged
                    } else {
                        p
                    }
                }
                (None, None) => continue,
            };

            let (patch_items, server_only) = if merge_key.is_empty() {
                partition_primitives(merged, &order)?
            } else {
                partition_maps(merged, &order, &merge_key)?
            };
            let kind =
                slice_element_type(&[&original_values, patch_list.as_deref().unwrap_or(&[])])?;
            let both = normalize_element_order(
                patch_items,
                server_only,
                &order,
                &original_values,
                &merge_key,
                kind,
            )?;
            original.insert(field.clone(), Value::Array(both));
            patch.remove(&field);
        }
        Ok(())
    }

    /// `mergeSlice`. Returns the merged list and what the live list's backing array
    /// holds afterwards (Go deletes and appends in place; callers order by it).
    fn merge_slice(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        item_ty: TypeRef,
        merge_key: &str,
        is_delete_list: bool,
    ) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok((original.clone(), original));
        }
        let kind = slice_element_type(&[&original, &patch])?;

        if kind != GoType::Map {
            if is_delete_list {
                return Ok((delete_from_slice(original.clone(), &patch)?, original));
            }
            let mut both = original.clone();
            both.extend(patch.iter().cloned());
            let merged = deduplicate_scalars(both)?;
            let (patch_items, server_only) = partition_primitives(merged, &patch)?;
            let ordered = normalize_element_order(
                patch_items,
                server_only,
                &patch,
                &original,
                merge_key,
                kind,
            )?;
            return Ok((ordered, original));
        }

        if merge_key.is_empty() {
            return Err(internal(
                "cannot merge lists without merge key for struct".into(),
            ));
        }
        let mut backing = GoSlice::new(original);
        let patch = merge_slice_special_elements(&mut backing, patch, merge_key)?;
        let server_order = backing.view();
        let merged = self.merge_slice_plain(&mut backing, &patch, merge_key, item_ty)?;
        let (patch_items, server_only) = partition_maps(merged, &patch, merge_key)?;
        let ordered = normalize_element_order(
            patch_items,
            server_only,
            &patch,
            &server_order,
            merge_key,
            kind,
        )?;
        Ok((ordered, backing.into_original_array()))
    }

    /// `mergeSliceWithoutSpecialElements`: merges each patch element into the live
    /// element with the same merge key, or appends it.
    fn merge_slice_plain(
        &self,
        list: &mut GoSlice,
        patch: &[Value],
        merge_key: &str,
        item_ty: TypeRef,
    ) -> Result<Vec<Value>, PatchError> {
        for item in patch {
            let Value::Object(item_map) = item else {
                return Err(bad_arg_type(GoType::Map, item));
            };
            let Some(key_value) = item_map.get(merge_key) else {
                return Err(no_merge_key(item_map, merge_key));
            };
            match find_by_key(list.as_slice(), merge_key, key_value)? {
                Some(index) => {
                    let Value::Object(current) = list.get(index) else {
                        continue;
                    };
                    let merged = self.merge_map(current, item_map.clone(), item_ty)?;
                    list.set(index, Value::Object(merged));
                }
                None => list.push(item.clone()),
            }
        }
        Ok(list.view())
    }
}

/// A Go slice over the live list's backing array: deletions shift elements left in
/// place, appends write into the array while it has room, and writes after a
/// reallocation no longer reach it. Go's ordering reads the array afterwards.
struct GoSlice {
    /// The live list's backing array (its capacity is its length).
    array: Vec<Value>,
    /// The slice's elements once it no longer shares `array`.
    detached: Option<Vec<Value>>,
    len: usize,
}

impl GoSlice {
    fn new(array: Vec<Value>) -> GoSlice {
        let len = array.len();
        GoSlice {
            array,
            detached: None,
            len,
        }
    }

    fn as_slice(&self) -> &[Value] {
        match &self.detached {
            Some(d) => d,
            None => &self.array[..self.len],
        }
    }

    fn view(&self) -> Vec<Value> {
        self.as_slice().to_vec()
    }

    fn get(&self, i: usize) -> Value {
        match &self.detached {
            Some(d) => d.get(i).cloned().unwrap_or(Value::Null),
            None => self.array.get(i).cloned().unwrap_or(Value::Null),
        }
    }

    fn set(&mut self, i: usize, v: Value) {
        match &mut self.detached {
            Some(d) => {
                if let Some(slot) = d.get_mut(i) {
                    *slot = v;
                }
            }
            None => {
                if let Some(slot) = self.array.get_mut(i) {
                    *slot = v;
                }
            }
        }
    }

    /// `s = append(s[:i], s[i+1:]...)`.
    fn remove(&mut self, i: usize) {
        match &mut self.detached {
            Some(d) => {
                if i < d.len() {
                    d.remove(i);
                }
            }
            None => {
                if i < self.len {
                    for j in i..self.len - 1 {
                        self.array[j] = self.array[j + 1].clone();
                    }
                    self.len -= 1;
                }
            }
        }
    }

    /// `s = append(s, v)`.
    fn push(&mut self, v: Value) {
        match &mut self.detached {
            Some(d) => d.push(v),
            None if self.len < self.array.len() => {
                self.array[self.len] = v;
                self.len += 1;
            }
            None => {
                let mut d = self.array[..self.len].to_vec();
                d.push(v);
                self.detached = Some(d);
            }
        }
    }

    /// Replaces the slice by a new one (no longer sharing the array).
    fn replace_with(&mut self, items: Vec<Value>) {
        self.detached = Some(items);
    }

    fn into_original_array(self) -> Vec<Value> {
        self.array
    }
}

/// Puts a patch value where the target has nothing comparable: nulls dropped,
/// elements carrying `$patch` removed.
fn put_patch_value(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_nulls(&mut value);
    match remove_directives(value) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.remove(&key);
        }
    }
}

/// `applyRetainKeysDirective`.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(bad_format_retain_keys());
    };
    let retained = |k: &str| retain.iter().any(|r| r.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !retained(k) {
            return Err(bad_format_retain_keys());
        }
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// `discardNullValuesFromPatch`: drops `null` members of objects, recursively (nulls
/// in lists stay).
fn discard_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for v in map.values_mut() {
                discard_nulls(v);
            }
        }
        Value::Array(items) => {
            for v in items {
                discard_nulls(v);
            }
        }
        _ => {}
    }
}

/// `removeDirectives`: `None` when the value is an object with `$patch` (it is dropped);
/// otherwise the value with such objects removed from it, recursively.
fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(
                map.into_iter()
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// `sliceElementType`: the common Go type of the elements of all `slices`.
fn slice_element_type(slices: &[&[Value]]) -> Result<GoType, PatchError> {
    let mut prev: Option<GoType> = None;
    for slice in slices {
        for v in slice.iter() {
            let t = go_type(v);
            match prev {
                None => {
                    if t == GoType::Nil {
                        // reflect.TypeOf(nil).Kind() panics in Go.
                        return Err(internal(
                            "runtime error: invalid memory address or nil pointer dereference"
                                .into(),
                        ));
                    }
                    if t == GoType::Slice {
                        return Err(PatchError::Unprocessable(
                            "lists of lists are not supported".into(),
                        ));
                    }
                    prev = Some(t);
                }
                Some(p) if p != t => {
                    let all: Vec<Value> = slices.iter().map(|s| Value::Array(s.to_vec())).collect();
                    return Err(internal(format!(
                        "list element types are not identical: {}",
                        go_list(&all)
                    )));
                }
                Some(_) => {}
            }
        }
    }
    prev.ok_or_else(|| internal("no elements in any of the given slices".into()))
}

/// `deleteFromSlice`: the elements of `current` not in `to_delete`.
fn delete_from_slice(current: Vec<Value>, to_delete: &[Value]) -> Result<Vec<Value>, PatchError> {
    let mut out = Vec::with_capacity(current.len());
    for v in current {
        let mut found = false;
        for d in to_delete {
            if go_eq(&v, d)? {
                found = true;
                break;
            }
        }
        if !found {
            out.push(v);
        }
    }
    Ok(out)
}

/// `deduplicateScalars`: first occurrences, in order.
fn deduplicate_scalars(items: Vec<Value>) -> Result<Vec<Value>, PatchError> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for v in items {
        let mut seen = false;
        for o in &out {
            if go_eq(o, &v)? {
                seen = true;
                break;
            }
        }
        if !seen {
            out.push(v);
        }
    }
    Ok(out)
}

/// `findMapInSliceBasedOnKeyValue`: the index of the first element whose merge key
/// equals `value`.
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(internal(format!("value for key {i} is not a map")));
        };
        let item_value = m.get(key).unwrap_or(&Value::Null);
        if go_eq(item_value, value)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `mergeSliceWithSpecialElements`: applies `$patch: delete` elements to the live
/// list and `$patch: replace` (the patch's other elements replace the list); returns
/// the patch without special elements.
fn merge_slice_special_elements(
    original: &mut GoSlice,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<Vec<Value>, PatchError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(item_map) = &item else {
            return Err(bad_arg_type(GoType::Map, &item));
        };
        match item_map.get(DIRECTIVE) {
            None => plain.push(item),
            Some(directive) => match directive.as_str() {
                Some("delete") => {
                    let Some(key_value) = item_map.get(merge_key) else {
                        return Err(no_merge_key(item_map, merge_key));
                    };
                    while let Some(i) = find_by_key(original.as_slice(), merge_key, key_value)? {
                        original.remove(i);
                    }
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(internal(
                        "merging lists cannot yet be specified in the patch".into(),
                    ));
                }
                _ => return Err(bad_patch_type(directive, item_map)),
            },
        }
    }
    if replace {
        original.replace_with(plain);
        return Ok(Vec::new());
    }
    Ok(plain)
}

/// The value an item is ordered by: its merge key for objects, itself for scalars.
fn order_key(v: &Value, merge_key: &str, kind: GoType) -> Value {
    if kind == GoType::Map {
        match v {
            Value::Object(m) => m.get(merge_key).cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        }
    } else {
        v.clone()
    }
}

/// A hashable form of a scalar that keeps Go's type distinctions (`1` is not `1.0`);
/// `None` for objects and lists, which Go cannot compare.
fn scalar_hash_key(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "n".into(),
        Value::Bool(b) => format!("b{b}"),
        Value::Number(n) => match n.as_i64() {
            Some(i) => format!("i{i}"),
            None => format!("f{}", n.as_f64().unwrap_or(0.0).to_bits()),
        },
        Value::String(s) => format!("s{s}"),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// Positions of items in a list, by merge key (objects) or value (scalars): the first
/// position of each, as Go's linear `index` finds it, in constant time.
struct OrderIndex<'l> {
    positions: std::collections::HashMap<String, usize>,
    list: &'l [Value],
    merge_key: &'l str,
    kind: GoType,
    /// Some key is an object or list: fall back to Go's linear comparison.
    linear: bool,
}

impl<'l> OrderIndex<'l> {
    fn new(list: &'l [Value], merge_key: &'l str, kind: GoType) -> OrderIndex<'l> {
        let mut positions = std::collections::HashMap::new();
        let mut linear = false;
        for (i, v) in list.iter().enumerate() {
            match scalar_hash_key(&order_key(v, merge_key, kind)) {
                Some(k) => {
                    positions.entry(k).or_insert(i);
                }
                None => linear = true,
            }
        }
        OrderIndex {
            positions,
            list,
            merge_key,
            kind,
            linear,
        }
    }

    /// Go's `index`: where `item` is in the list.
    fn position(&self, item: &Value) -> Result<Option<usize>, PatchError> {
        let wanted = order_key(item, self.merge_key, self.kind);
        match scalar_hash_key(&wanted) {
            Some(k) if !self.linear => Ok(self.positions.get(&k).copied()),
            _ => {
                for (i, v) in self.list.iter().enumerate() {
                    if go_eq(&wanted, &order_key(v, self.merge_key, self.kind))? {
                        return Ok(Some(i));
                    }
                }
                Ok(None)
            }
        }
    }
}

/// `partitionPrimitivesByPresentInList` (Go builds a set of `by`, so objects and lists
/// in either list crash it).
fn partition_primitives(
    items: Vec<Value>,
    by: &[Value],
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let unhashable = |v: &Value| {
        internal(format!(
            "runtime error: hash of unhashable type {}",
            go_type_name(go_type(v))
        ))
    };
    if let Some(b) = by
        .iter()
        .find(|b| matches!(b, Value::Object(_) | Value::Array(_)))
    {
        return Err(unhashable(b));
    }
    let mut present = Vec::new();
    let mut absent = Vec::new();
    for v in items {
        if matches!(v, Value::Object(_) | Value::Array(_)) {
            return Err(unhashable(&v));
        }
        let mut found = false;
        for b in by {
            if go_eq(b, &v)? {
                found = true;
                break;
            }
        }
        if found {
            present.push(v);
        } else {
            absent.push(v);
        }
    }
    Ok((present, absent))
}

/// `partitionMapsByPresentInList`.
fn partition_maps(
    items: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut present = Vec::new();
    let mut absent = Vec::new();
    for v in items {
        let Value::Object(m) = &v else {
            return Err(bad_arg_type(GoType::Map, &v));
        };
        let Some(key_value) = m.get(merge_key) else {
            return Err(no_merge_key(m, merge_key));
        };
        if find_by_key(by, merge_key, key_value)?.is_some() {
            present.push(v);
        } else {
            absent.push(v);
        }
    }
    Ok((present, absent))
}

/// `validatePatchWithSetOrderList`: the patch list's elements (deletions aside) must
/// appear in the `$setElementOrder` list, in the same relative order.
fn validate_patch_with_set_order(
    patch: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if merge_key.is_empty() {
        patch.iter().collect()
    } else {
        let mut kept = Vec::new();
        for v in patch {
            let Value::Object(m) = v else {
                return Err(bad_arg_type(GoType::Map, v));
            };
            if m.get(DIRECTIVE).and_then(Value::as_str) != Some("delete") {
                kept.push(v);
            }
        }
        kept
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        let item = non_delete[pi];
        if matches!(item, Value::Object(m) if m.contains_key(DIRECTIVE)) {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(item, &order[oi], merge_key)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(internal(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_list(patch),
            go_list(order)
        )));
    }
    Ok(())
}

fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return go_eq(left, right);
    }
    let Value::Object(l) = left else {
        return Err(bad_arg_type(GoType::Map, left));
    };
    let Value::Object(r) = right else {
        return Err(bad_arg_type(GoType::Map, right));
    };
    let lv = l.get(merge_key).ok_or_else(|| no_merge_key(l, merge_key))?;
    let rv = r.get(merge_key).ok_or_else(|| no_merge_key(r, merge_key))?;
    go_eq(lv, rv)
}

/// `normalizeElementOrder`: sorts the patch items by `patch_order` and the server-only
/// items by `server_order`, then interleaves them (see [`merge_sorted`]).
fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>, PatchError> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    merge_sorted(server_only, patch, server_order, merge_key, kind)
}

/// `normalizeSliceOrder`: a stable sort of `items` by their position in `order`;
/// `$patch: delete` elements go last.
fn normalize_slice_order(
    items: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>, PatchError> {
    let mut to_delete = Vec::new();
    let mut keep = Vec::with_capacity(items.len());
    if kind == GoType::Map {
        for list in [&items[..], order] {
            for v in list {
                let Value::Object(m) = v else {
                    return Err(bad_arg_type(GoType::Map, v));
                };
                if !m.contains_key(merge_key) {
                    return Err(no_merge_key(m, merge_key));
                }
            }
        }
        for v in items {
            if v.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                to_delete.push(v);
            } else {
                keep.push(v);
            }
        }
    } else {
        keep = items;
    }
    let index = OrderIndex::new(order, merge_key, kind);
    let mut indexed = Vec::with_capacity(keep.len());
    for v in keep {
        let position = index.position(&v)?;
        indexed.push((position.unwrap_or(usize::MAX), v));
    }
    indexed.sort_by_key(|(position, _)| *position);
    let mut out: Vec<Value> = indexed.into_iter().map(|(_, v)| v).collect();
    out.extend(to_delete);
    Ok(out)
}

/// `mergeSortedSlice`: interleaves server-only items (`left`) into the patch items
/// (`right`), keeping each list's order; a server-only item goes first only when both
/// are in the live list and it comes earlier there.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>, PatchError> {
    let index = OrderIndex::new(server_order, merge_key, kind);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                let li = index.position(l)?;
                let ri = index.position(r)?;
                matches!((li, ri), (Some(li), Some(ri)) if li < ri)
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some(v) = next {
            out.push(v);
        }
    }
    Ok(out)
}
