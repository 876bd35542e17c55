//! JSON patch (RFC 6902, `application/json-patch+json`) exactly as kube-apiserver
//! applies it: with `gopkg.in/evanphx/json-patch.v4`, at most 10 000 operations and at
//! most 3 MiB of data copied by `copy` operations.
//!
//! v4 departs from the RFC in ways clients of a real server can observe, and this
//! module reproduces them, error wording included:
//! - `replace` of a missing object member adds it (the RFC says fail);
//! - negative array indices count from the end (`-1` is the last element);
//! - array indices are parsed like Go's `strconv.Atoi` (`+1` and `01` are accepted);
//! - `add`/`remove` of the whole document (path `""`) fail; `replace` of `""` with an
//!   object or array replaces the document, with a scalar it does nothing;
//! - `test` against a missing member passes when the value is `null`.
//!
//! Operations whose v4 implementation crashes (a `test` without `value`, a `replace`
//! of `""` without `value`) are reported as [`PatchError::Internal`], which is what the
//! real server answers after recovering from the crash.

use std::io::Write;

use serde_json::{Map, Value};

use crate::depth;
use crate::error::PatchError;

/// kube-apiserver's limit on operations in one JSON patch.
pub const MAX_OPERATIONS: usize = 10_000;

/// kube-apiserver's default `--json-patch-max-copy-bytes` (3 MiB): the most data all
/// `copy` operations of one patch may add.
pub const MAX_COPY_BYTES: usize = 3 * 1024 * 1024;

/// Applies the RFC 6902 operations `ops` to a copy of `target` and returns the result.
///
/// Errors, as kube-apiserver classifies them: a body that is not a list of operation
/// objects is [`PatchError::BadRequest`]; too many operations is
/// [`PatchError::TooManyOperations`]; an operation that does not apply is
/// [`PatchError::Unprocessable`] with v4's message (for example
/// `add operation does not apply: doc is missing path: "/spec/x": missing value`).
pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, PatchError> {
    depth::check(ops, "patch")?;
    let ops = decode(ops)?;
    if ops.len() > MAX_OPERATIONS {
        return Err(PatchError::TooManyOperations {
            limit: MAX_OPERATIONS,
            got: ops.len(),
        });
    }
    let mut doc = target.clone();
    let mut copied = 0usize;
    for op in ops {
        apply_op(&mut doc, op, &mut copied)?;
    }
    Ok(doc)
}

/// One decoded operation: the members v4 reads. `None` is an absent or `null` member
/// (v4 cannot tell them apart, except for `value`, see [`OpValue`]).
struct Op<'a> {
    fields: Option<&'a Map<String, Value>>,
}

/// The `value` member of an operation, with the three states v4 distinguishes.
#[derive(Clone, Copy)]
enum OpValue<'a> {
    Absent,
    Null,
    Present(&'a Value),
}

impl<'a> Op<'a> {
    fn member(&self, name: &str) -> Option<&'a Value> {
        self.fields
            .and_then(|f| f.get(name))
            .filter(|v| !v.is_null())
    }

    fn kind(&self) -> &'a str {
        match self.member("op") {
            Some(Value::String(s)) => s,
            _ => "unknown",
        }
    }

    /// `path` or `from`: `Err` carries v4's message for a missing or non-string member.
    fn string_member(&self, name: &str, missing: &str) -> Result<&'a str, String> {
        match self.member(name) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(format!(
                "json: cannot unmarshal {} into Go value of type string",
                go_json_kind(other)
            )),
            None => Err(format!("{missing}: missing value")),
        }
    }

    fn path(&self) -> Result<&'a str, String> {
        self.string_member("path", "operation missing path field")
    }

    fn from(&self) -> Result<&'a str, String> {
        self.string_member("from", "operation, missing from field")
    }

    fn value(&self) -> OpValue<'a> {
        match self.fields.and_then(|f| f.get("value")) {
            None => OpValue::Absent,
            Some(Value::Null) => OpValue::Null,
            Some(v) => OpValue::Present(v),
        }
    }
}

impl OpValue<'_> {
    fn to_value(self) -> Value {
        match self {
            OpValue::Present(v) => v.clone(),
            OpValue::Absent | OpValue::Null => Value::Null,
        }
    }
}

/// The name Go's `encoding/json` uses for a JSON value's type in unmarshal errors.
fn go_json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn decode(ops: &Value) -> Result<Vec<Op<'_>>, PatchError> {
    match ops {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Object(fields) => Ok(Op {
                    fields: Some(fields),
                }),
                Value::Null => Ok(Op { fields: None }),
                other => Err(PatchError::BadRequest(format!(
                    "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                    go_json_kind(other)
                ))),
            })
            .collect(),
        other => Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            go_json_kind(other)
        ))),
    }
}

fn unprocessable(message: String) -> PatchError {
    PatchError::Unprocessable(message)
}

fn apply_op(doc: &mut Value, op: Op<'_>, copied: &mut usize) -> Result<(), PatchError> {
    match op.kind() {
        "add" => add(doc, &op),
        "remove" => remove(doc, &op),
        "replace" => replace(doc, &op),
        "move" => move_op(doc, &op),
        "test" => test(doc, &op),
        "copy" => copy(doc, &op, copied),
        kind => Err(unprocessable(format!("Unexpected kind: {kind}"))),
    }
}

fn add(doc: &mut Value, op: &Op<'_>) -> Result<(), PatchError> {
    let path = op
        .path()
        .map_err(|_| unprocessable("add operation failed to decode path: missing value".into()))?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(unprocessable(format!(
            "add operation does not apply: doc is missing path: \"{path}\": missing value"
        )));
    };
    container_add(container, &key, op.value().to_value())
        .map_err(|e| unprocessable(format!("error in add for path: '{path}': {e}")))
}

fn remove(doc: &mut Value, op: &Op<'_>) -> Result<(), PatchError> {
    let path = op.path().map_err(|_| {
        unprocessable("remove operation failed to decode path: missing value".into())
    })?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(unprocessable(format!(
            "remove operation does not apply: doc is missing path: \"{path}\": missing value"
        )));
    };
    container_remove(container, &key)
        .map(|_| ())
        .map_err(|e| unprocessable(format!("error in remove for path: '{path}': {e}")))
}

fn replace(doc: &mut Value, op: &Op<'_>) -> Result<(), PatchError> {
    let path = op
        .path()
        .map_err(|e| unprocessable(format!("replace operation failed to decode path: {e}")))?;
    if path.is_empty() {
        return match op.value() {
            OpValue::Present(v @ (Value::Object(_) | Value::Array(_))) => {
                *doc = v.clone();
                Ok(())
            }
            // v4 wraps a nil error here, which is no error at all: nothing happens.
            OpValue::Present(_) | OpValue::Null => Ok(()),
            OpValue::Absent => Err(PatchError::Internal(
                "runtime error: invalid memory address or nil pointer dereference".into(),
            )),
        };
    }
    let Some((container, key)) = find_object(doc, path) else {
        return Err(unprocessable(format!(
            "replace operation does not apply: doc is missing path: {path}: missing value"
        )));
    };
    if container_get(container, &key).is_err() {
        return Err(unprocessable(format!(
            "replace operation does not apply: doc is missing key: {path}: missing value"
        )));
    }
    container_set(container, &key, op.value().to_value())
        .map_err(|e| unprocessable(format!("error in remove for path: '{path}': {e}")))
}

fn move_op(doc: &mut Value, op: &Op<'_>) -> Result<(), PatchError> {
    let from = op
        .from()
        .map_err(|e| unprocessable(format!("move operation failed to decode from: {e}")))?;
    let Some((container, key)) = find_object(doc, from) else {
        return Err(unprocessable(format!(
            "move operation does not apply: doc is missing from path: {from}: missing value"
        )));
    };
    container_get(container, &key)
        .map_err(|e| unprocessable(format!("error in move for path: '{key}': {e}")))?;
    let value = container_remove(container, &key)
        .map_err(|e| unprocessable(format!("error in move for path: '{key}': {e}")))?;
    let path = op
        .path()
        .map_err(|e| unprocessable(format!("move operation failed to decode path: {e}")))?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(unprocessable(format!(
            "move operation does not apply: doc is missing destination path: {path}: missing value"
        )));
    };
    container_add(container, &key, value)
        .map_err(|e| unprocessable(format!("error in move for path: '{path}': {e}")))
}

fn test(doc: &mut Value, op: &Op<'_>) -> Result<(), PatchError> {
    let path = op
        .path()
        .map_err(|e| unprocessable(format!("test operation failed to decode path: {e}")))?;
    let expected = op.value();
    let failed = || unprocessable(format!("testing value {path} failed: test failed"));
    let crash = || {
        PatchError::Internal(
            "runtime error: invalid memory address or nil pointer dereference".into(),
        )
    };
    if path.is_empty() {
        return match expected {
            OpValue::Absent => Err(crash()),
            OpValue::Null => Err(failed()),
            OpValue::Present(v) if v == doc => Ok(()),
            OpValue::Present(_) => Err(failed()),
        };
    }
    let Some((container, key)) = find_object(doc, path) else {
        return Err(unprocessable(format!(
            "test operation does not apply: is missing path: {path}: missing value"
        )));
    };
    let actual = container_get(container, &key)
        .map_err(|e| unprocessable(format!("error in test for path: '{path}': {e}")))?;
    match (actual.filter(|v| !v.is_null()), expected) {
        (None, OpValue::Absent) => Err(crash()),
        (Some(_), OpValue::Absent) => Err(failed()),
        (None, OpValue::Null) => Ok(()),
        (None, OpValue::Present(_)) | (Some(_), OpValue::Null) => Err(failed()),
        (Some(a), OpValue::Present(e)) if a == e => Ok(()),
        (Some(_), OpValue::Present(_)) => Err(failed()),
    }
}

fn copy(doc: &mut Value, op: &Op<'_>, copied: &mut usize) -> Result<(), PatchError> {
    let from = op
        .from()
        .map_err(|e| unprocessable(format!("copy operation failed to decode from: {e}")))?;
    let Some((container, key)) = find_object(doc, from) else {
        return Err(unprocessable(format!(
            "copy operation does not apply: doc is missing from path: {from}: missing value"
        )));
    };
    let value = container_get(container, &key)
        .map_err(|e| unprocessable(format!("error in copy for from: '{from}': {e}")))?
        .cloned()
        .unwrap_or(Value::Null);
    let path = op
        .path()
        .map_err(|_| unprocessable("copy operation failed to decode path: missing value".into()))?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(unprocessable(format!(
            "copy operation does not apply: doc is missing destination path: {path}: missing value"
        )));
    };
    *copied = copied.saturating_add(compact_len(&value));
    if *copied > MAX_COPY_BYTES {
        return Err(unprocessable(format!(
            "Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {MAX_COPY_BYTES}"
        )));
    }
    container_add(container, &key, value)
        .map_err(|e| unprocessable(format!("error while adding value during copy: {e}")))
}

/// The length of `value` serialized as compact JSON, without building the string.
fn compact_len(value: &Value) -> usize {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// RFC 6901 reference token decoding, in v4's order (`~1` first, then `~0`), done in
/// one left-to-right pass like Go's `strings.Replacer`.
fn decode_token(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.peek() {
                Some('1') => {
                    chars.next();
                    out.push('/');
                    continue;
                }
                Some('0') => {
                    chars.next();
                    out.push('~');
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

/// v4's `findObject`: walks every token but the last and returns the container (an
/// object or array) with the decoded last token, or `None` when the path does not lead
/// to a container.
fn find_object<'v>(doc: &'v mut Value, path: &str) -> Option<(&'v mut Value, String)> {
    let mut tokens: Vec<&str> = path.split('/').collect();
    if tokens.len() < 2 {
        return None;
    }
    let last = tokens.pop().unwrap_or_default();
    let mut current = doc;
    for token in &tokens[1..] {
        let key = decode_token(token);
        let next = match container_get(current, &key) {
            Ok(Some(v)) => v,
            _ => return None,
        };
        // Only a container is a place to walk into; v4's lookup of a scalar fails.
        if !matches!(next, Value::Object(_) | Value::Array(_)) {
            return None;
        }
        current = next_mut(current, &key)?;
    }
    Some((current, decode_token(last)))
}

fn next_mut<'v>(container: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    match container {
        Value::Object(map) => map.get_mut(key),
        Value::Array(items) => {
            let idx = resolve_index(key, items.len()).ok()?;
            items.get_mut(idx)
        }
        _ => None,
    }
}

/// Go's `strconv.Atoi` on a token: an optional sign and decimal digits.
fn atoi(key: &str) -> Result<i64, String> {
    let digits = key.strip_prefix(['+', '-']).unwrap_or(key);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing \"{key}\": invalid syntax"));
    }
    key.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing \"{key}\": value out of range"))
}

fn invalid_index(idx: i64) -> String {
    format!("Unable to access invalid index: {idx}: invalid index referenced")
}

/// The index an existing element is read, replaced or removed at (v4's `get`).
fn resolve_index(key: &str, len: usize) -> Result<usize, String> {
    let mut idx = atoi(key)?;
    let len = len as i64;
    if idx < 0 {
        if idx < -len {
            return Err(invalid_index(idx));
        }
        idx += len;
    }
    if idx >= len {
        return Err(invalid_index(idx));
    }
    Ok(idx as usize)
}

/// v4's `get`: an object answers `None` for a missing member (not an error); an array
/// fails on a bad index.
fn container_get<'v>(container: &'v mut Value, key: &str) -> Result<Option<&'v mut Value>, String> {
    match container {
        Value::Object(map) => Ok(map.get_mut(key)),
        Value::Array(items) => {
            let idx = resolve_index(key, items.len())?;
            Ok(items.get_mut(idx))
        }
        _ => Err("unknown object type".to_string()),
    }
}

fn container_add(container: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match container {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let mut idx = atoi(key)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            let size = items.len() as i64 + 1;
            if idx >= size {
                return Err(invalid_index(idx));
            }
            if idx < 0 {
                if idx < -size {
                    return Err(invalid_index(idx));
                }
                idx += size;
            }
            items.insert(idx as usize, value);
            Ok(())
        }
        _ => Err("unknown object type".to_string()),
    }
}

fn container_set(container: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match container {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
            Ok(())
        }
        Value::Array(items) => {
            let idx = resolve_index(key, items.len())?;
            items[idx] = value;
            Ok(())
        }
        _ => Err("unknown object type".to_string()),
    }
}

fn container_remove(container: &mut Value, key: &str) -> Result<Value, String> {
    match container {
        Value::Object(map) => map
            .remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: missing value")),
        Value::Array(items) => {
            let mut idx = atoi(key)?;
            let len = items.len() as i64;
            if idx >= len {
                return Err(invalid_index(idx));
            }
            if idx < 0 {
                if idx < -len {
                    return Err(invalid_index(idx));
                }
                idx += len;
            }
            Ok(items.remove(idx as usize))
        }
        _ => Err("unknown object type".to_string()),
    }
}
