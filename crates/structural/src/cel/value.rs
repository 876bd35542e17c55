//! CEL values, and Kubernetes' conversion of JSON data under a schema into them
//! (`UnstructuredToVal`).

use crate::gofmt::{GoNumber, go_number};
use crate::schema::{Additional, Node};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::rc::Rc;

/// How a list compares for equality.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ListKind {
    /// Ordered (`atomic` or no list type).
    Ordered,
    /// `x-kubernetes-list-type: set`: equal when they hold the same items, in any order.
    Set,
    /// `x-kubernetes-list-type: map`: equal when items with the same keys are equal.
    Map(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<Vec<Val>>, ListKind),
    /// An object or map with string keys (from data).
    Object(Rc<BTreeMap<String, Val>>),
    /// A map literal (keys of any hashable kind).
    Map(Rc<Vec<(Val, Val)>>),
    /// Nanoseconds since the Unix epoch.
    Timestamp(i128),
    /// Nanoseconds.
    Duration(i128),
    /// A value that failed to convert; using it yields this error.
    Err(Rc<str>),
}

impl Val {
    pub(crate) fn str(s: &str) -> Val {
        Val::Str(Rc::from(s))
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null_type",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Uint(_) => "uint",
            Val::Double(_) => "double",
            Val::Str(_) => "string",
            Val::Bytes(_) => "bytes",
            Val::List(..) => "list",
            Val::Object(_) | Val::Map(_) => "map",
            Val::Timestamp(_) => "google.protobuf.Timestamp",
            Val::Duration(_) => "google.protobuf.Duration",
            Val::Err(_) => "error",
        }
    }
}

/// Converts `data` under `node` (`UnstructuredToVal`). `is_root` adds the implicit
/// apiVersion/kind/metadata fields of a resource root.
pub(crate) fn from_json(data: &Value, node: &Node, is_root: bool, depth: usize) -> Val {
    if depth > crate::MAX_DATA_DEPTH {
        return Val::Err(Rc::from("invalid data, nesting too deep"));
    }
    if data.is_null() {
        return if node.nullable {
            Val::Null
        } else {
            Val::Err(Rc::from(
                "invalid data, got null for schema with nullable=false",
            ))
        };
    }
    if node.int_or_string {
        return match data {
            Value::String(s) => Val::str(s),
            Value::Number(n) => match go_number(n) {
                GoNumber::Int(i) => Val::Int(i),
                GoNumber::Float(_) => Val::Err(Rc::from(
                    "invalid data, expected XIntOrString value to be either a string or integer",
                )),
            },
            _ => Val::Err(Rc::from(
                "invalid data, expected XIntOrString value to be either a string or integer",
            )),
        };
    }
    match node.ty.as_str() {
        "object" => {
            let Some(map) = data.as_object() else {
                return Val::Err(Rc::from("invalid data, expected a map for the provided schema with type=object"));
            };
            let mut out = BTreeMap::new();
            let meta = is_root || node.embedded;
            for (k, v) in map {
                if meta && ["apiVersion", "kind"].contains(&k.as_str()) {
                    if let Some(s) = v.as_str() {
                        out.insert(k.clone(), Val::str(s));
                    }
                    continue;
                }
                if meta && k == "metadata" && !node.properties.contains_key("metadata") {
                    out.insert(k.clone(), metadata_val(v));
                    continue;
                }
                let sub = if !node.properties.is_empty() || meta {
                    node.properties.get(k)
                } else {
                    match &node.additional {
                        Some(Additional::Schema(a)) => Some(&**a),
                        _ => None,
                    }
                };
                match sub {
                    Some(s) => {
                        out.insert(k.clone(), from_json(v, s, false, depth + 1));
                    }
                    None if node.preserves_unknown() && node.properties.is_empty() => {
                        out.insert(k.clone(), untyped(v, depth + 1));
                    }
                    None => {}
                }
            }
            Val::Object(Rc::new(out))
        }
        "array" => {
            let Some(items) = data.as_array() else {
                return Val::Err(Rc::from("invalid data, expected an array for the provided schema with type=array"));
            };
            let Some(item) = &node.items else {
                return Val::Err(Rc::from("invalid array type, expected Items with a non-empty Schema"));
            };
            let kind = match node.list_type.as_deref() {
                Some("set") => ListKind::Set,
                Some("map") => ListKind::Map(node.list_map_keys.clone()),
                _ => ListKind::Ordered,
            };
            Val::List(Rc::new(items.iter().map(|v| from_json(v, item, false, depth + 1)).collect()), kind)
        }
        "string" => {
            let Some(s) = data.as_str() else {
                return Val::Err(Rc::from(format!("invalid data, expected string, got {}", go_type(data)).as_str()));
            };
            match node.format.as_str() {
                "duration" => match crate::formats::go_parse_duration(s) {
                    Some(d) => Val::Duration(d),
                    None => Val::Err(Rc::from(format!("Invalid duration {s}").as_str())),
                },
                "date" => match crate::formats::parse_date(s) {
                    Some((y, m, d)) => Val::Timestamp(i128::from(days_from_civil(y, m, d)) * 86_400 * 1_000_000_000),
                    None => Val::Err(Rc::from(format!("Invalid date formatted string {s}").as_str())),
                },
                "date-time" => match parse_rfc3339(s) {
                    Some(t) => Val::Timestamp(t),
                    None => Val::Err(Rc::from(format!("Invalid date-time formatted string {s}").as_str())),
                },
                "byte" => match decode_base64(s) {
                    Some(b) => Val::Bytes(Rc::from(b)),
                    None => Val::Err(Rc::from(format!("Invalid byte formatted string {s}").as_str())),
                },
                _ => Val::str(s),
            }
        }
        "number" => match data.as_f64() {
            Some(f) if data.is_number() => Val::Double(f),
            _ => Val::Err(Rc::from(format!("invalid data, expected float, got {}", go_type(data)).as_str())),
        },
        "integer" => match data {
            Value::Number(n) => match go_number(n) {
                GoNumber::Int(i) => Val::Int(i),
                GoNumber::Float(_) => Val::Err(Rc::from("invalid data, expected int, got float64")),
            },
            _ => Val::Err(Rc::from(format!("invalid data, expected int, got {}", go_type(data)).as_str())),
        },
        "boolean" => match data.as_bool() {
            Some(b) => Val::Bool(b),
            None => Val::Err(Rc::from(format!("invalid data, expected bool, got {}", go_type(data)).as_str())),
        },
        _ if node.preserves_unknown() => untyped(data, depth),
        other => Val::Err(Rc::from(
            format!("invalid type, expected object, array, number, integer, boolean or string, or no type with x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields is true, got {other}").as_str(),
        )),
    }
}

/// The implicit root metadata schema: only `name` and `generateName` are visible.
fn metadata_val(v: &Value) -> Val {
    let mut out = BTreeMap::new();
    if let Some(m) = v.as_object() {
        for k in ["name", "generateName"] {
            if let Some(s) = m.get(k).and_then(Value::as_str) {
                out.insert(k.to_string(), Val::str(s));
            }
        }
    }
    Val::Object(Rc::new(out))
}

/// Data under `x-kubernetes-preserve-unknown-fields` without a schema.
fn untyped(v: &Value, depth: usize) -> Val {
    if depth > crate::MAX_DATA_DEPTH {
        return Val::Err(Rc::from("invalid data, nesting too deep"));
    }
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => match go_number(n) {
            GoNumber::Int(i) => Val::Int(i),
            GoNumber::Float(f) => Val::Double(f),
        },
        Value::String(s) => Val::str(s),
        Value::Array(a) => Val::List(
            Rc::new(a.iter().map(|x| untyped(x, depth + 1)).collect()),
            ListKind::Ordered,
        ),
        Value::Object(m) => Val::Object(Rc::new(
            m.iter()
                .map(|(k, x)| (k.clone(), untyped(x, depth + 1)))
                .collect(),
        )),
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
        Value::Number(n) => match go_number(n) {
            GoNumber::Int(_) => "int64",
            GoNumber::Float(_) => "float64",
        },
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 date-time (as Go's `time.RFC3339` layouts accept it) to Unix nanoseconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || !(b[10] == b'T' || b[10] == b't') {
        return None;
    }
    let (y, m, d) = crate::formats::parse_date(&s[..10])?;
    let two = |i: usize| -> Option<i64> {
        let p = s.get(i..i + 2)?;
        if p.bytes().all(|c| c.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    };
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hh, mm, ss) = (two(11)?, two(14)?, two(17)?);
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        let digits = s[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let frac: i128 = s[i + 1..i + 1 + digits].parse().ok()?;
        nanos = frac * 10i128.pow(9 - digits as u32);
        i += 1 + digits;
    }
    let offset_secs: i64 = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && (tz.starts_with('+') || tz.starts_with('-'))
            && tz.as_bytes()[3] == b':' =>
        {
            let oh = two(i + 1)?;
            let om = two(i + 4)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// CEL equality with Kubernetes' list semantics; `None` means "no such overload".
pub(crate) fn equals(a: &Val, b: &Val) -> Result<bool, String> {
    Ok(match (a, b) {
        (Val::Err(e), _) | (_, Val::Err(e)) => return Err(e.to_string()),
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Bytes(x), Val::Bytes(y)) => x == y,
        (Val::Timestamp(x), Val::Timestamp(y)) | (Val::Duration(x), Val::Duration(y)) => x == y,
        (
            Val::Int(_) | Val::Uint(_) | Val::Double(_),
            Val::Int(_) | Val::Uint(_) | Val::Double(_),
        ) => compare_numbers(a, b) == Some(Ordering::Equal),
        (Val::List(x, kind), Val::List(y, _)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            match kind {
                ListKind::Ordered => {
                    for (p, q) in x.iter().zip(y.iter()) {
                        if !equals(p, q)? {
                            return Ok(false);
                        }
                    }
                    true
                }
                ListKind::Set => {
                    for p in x.iter() {
                        let mut found = false;
                        for q in y.iter() {
                            if equals(p, q)? {
                                found = true;
                                break;
                            }
                        }
                        if !found {
                            return Ok(false);
                        }
                    }
                    true
                }
                ListKind::Map(keys) => {
                    for p in x.iter() {
                        let mut matched = false;
                        for q in y.iter() {
                            if same_keys(p, q, keys)? {
                                if !equals(p, q)? {
                                    return Ok(false);
                                }
                                matched = true;
                                break;
                            }
                        }
                        if !matched {
                            return Ok(false);
                        }
                    }
                    true
                }
            }
        }
        (Val::Object(x), Val::Object(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (k, v) in x.iter() {
                match y.get(k) {
                    Some(w) => {
                        if !equals(v, w)? {
                            return Ok(false);
                        }
                    }
                    None => return Ok(false),
                }
            }
            true
        }
        (Val::Map(x), Val::Map(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (k, v) in x.iter() {
                let mut ok = false;
                for (k2, v2) in y.iter() {
                    if equals(k, k2)? {
                        ok = equals(v, v2)?;
                        break;
                    }
                }
                if !ok {
                    return Ok(false);
                }
            }
            true
        }
        (Val::Object(o), Val::Map(m)) | (Val::Map(m), Val::Object(o)) => {
            if o.len() != m.len() {
                return Ok(false);
            }
            for (k, v) in m.iter() {
                let Val::Str(key) = k else { return Ok(false) };
                match o.get(&**key) {
                    Some(w) => {
                        if !equals(v, w)? {
                            return Ok(false);
                        }
                    }
                    None => return Ok(false),
                }
            }
            true
        }
        // Heterogeneous equality: different kinds are simply unequal.
        _ => false,
    })
}

fn same_keys(p: &Val, q: &Val, keys: &[String]) -> Result<bool, String> {
    let (Val::Object(a), Val::Object(b)) = (p, q) else {
        return Ok(false);
    };
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => {
                if !equals(x, y)? {
                    return Ok(false);
                }
            }
            (None, None) => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Orders two numbers of any numeric kind (CEL's cross-type numeric comparison).
pub(crate) fn compare_numbers(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Uint(x), Val::Uint(y)) => Some(x.cmp(y)),
        (Val::Int(x), Val::Uint(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Val::Uint(x), Val::Int(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Val::Double(x), Val::Double(y)) => x.partial_cmp(y),
        (Val::Int(x), Val::Double(y)) => (*x as f64).partial_cmp(y),
        (Val::Uint(x), Val::Double(y)) => (*x as f64).partial_cmp(y),
        (Val::Double(x), Val::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Val::Double(x), Val::Uint(y)) => x.partial_cmp(&(*y as f64)),
        _ => None,
    }
}

/// Ordering for `<`, `<=`, `>`, `>=`; `None` when the kinds cannot be ordered.
pub(crate) fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bytes(x), Val::Bytes(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Timestamp(x), Val::Timestamp(y)) | (Val::Duration(x), Val::Duration(y)) => {
            Some(x.cmp(y))
        }
        _ => compare_numbers(a, b),
    }
}
