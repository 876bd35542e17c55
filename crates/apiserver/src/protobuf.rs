//! Decoding Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`)
//! into JSON, for the built-in types.
//!
//! client-go's typed clients (kubectl's `create namespace`, `create configmap`,
//! `run`, ...) send built-in objects in protobuf and do not fall back to JSON when a
//! server refuses it, so the server must read it. Responses stay JSON, which those
//! clients accept. The schema comes from Kubernetes' own `generated.proto` files
//! (vendored, stripped of comments, under `proto/`): field numbers map to the JSON
//! field names, and the few types with custom JSON (times, quantities,
//! int-or-string, raw JSON) are converted as their Go marshalers do.
//!
//! Protobuf cannot say whether a scalar was set to its zero value or left out (Go's
//! generated marshalers always write non-pointer fields), so empty strings, `false`,
//! `0` and empty lists or maps are dropped, as Go's `omitempty` JSON would drop most
//! of them.

use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The magic prefix of Kubernetes protobuf payloads.
pub const MAGIC: &[u8] = b"k8s\x00";

const PROTOS: &[&str] = &[
    include_str!("../proto/k8s.io.apimachinery.pkg.apis.meta.v1.proto"),
    include_str!("../proto/k8s.io.apimachinery.pkg.runtime.proto"),
    include_str!("../proto/k8s.io.apimachinery.pkg.api.resource.proto"),
    include_str!("../proto/k8s.io.apimachinery.pkg.util.intstr.proto"),
    include_str!("../proto/k8s.io.api.core.v1.proto"),
    include_str!("../proto/k8s.io.api.batch.v1.proto"),
    include_str!("../proto/k8s.io.api.coordination.v1.proto"),
    include_str!("../proto/k8s.io.api.events.v1.proto"),
    include_str!("../proto/k8s.io.api.storage.v1.proto"),
    include_str!("../proto/k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.proto"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Double,
    Float,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Scalar(Scalar),
    Message(String),
    Map(Scalar, Box<Kind>),
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    kind: Kind,
    repeated: bool,
}

#[derive(Debug, Default)]
struct Schema {
    messages: HashMap<String, HashMap<u64, Field>>,
}

fn scalar(t: &str) -> Option<Scalar> {
    Some(match t {
        "string" => Scalar::String,
        "bytes" => Scalar::Bytes,
        "bool" => Scalar::Bool,
        "int32" | "sint32" | "sfixed32" => Scalar::Int32,
        "int64" | "sint64" | "sfixed64" => Scalar::Int64,
        "uint32" | "fixed32" => Scalar::Uint32,
        "uint64" | "fixed64" => Scalar::Uint64,
        "double" => Scalar::Double,
        "float" => Scalar::Float,
        _ => return None,
    })
}

fn strip_block_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        match rest[i..].find("*/") {
            Some(j) => rest = &rest[i + j + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// A field as declared: type, name, number, repeated.
type RawField = (String, String, u64, bool);

fn parse_schema() -> Result<Schema, String> {
    let mut raw: Vec<(String, String, Vec<RawField>)> = Vec::new();
    for text in PROTOS {
        let text = strip_block_comments(text);
        let mut package = String::new();
        let mut current: Option<(String, Vec<RawField>)> = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with("//") || line.starts_with("syntax") {
                continue;
            }
            if let Some(p) = line.strip_prefix("package ") {
                package = p.trim_end_matches(';').trim().to_string();
            } else if let Some(m) = line.strip_prefix("message ") {
                let name = m.trim_end_matches('{').trim().to_string();
                current = Some((name, Vec::new()));
            } else if line == "}" {
                if let Some((name, fields)) = current.take() {
                    raw.push((package.clone(), name, fields));
                }
            } else if let Some((_, fields)) = current.as_mut() {
                let l = line.trim_end_matches(';');
                let (decl, number) = l
                    .rsplit_once('=')
                    .ok_or_else(|| format!("cannot parse proto field {line:?}"))?;
                let number: u64 = number
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad field number in {line:?}"))?;
                let decl = decl.trim();
                let (repeated, decl) = if let Some(d) = decl.strip_prefix("repeated ") {
                    (true, d)
                } else if let Some(d) = decl.strip_prefix("optional ") {
                    (false, d)
                } else {
                    (false, decl)
                };
                let (ty, name) = if decl.starts_with("map<") {
                    let end = decl
                        .find('>')
                        .ok_or_else(|| format!("bad map in {line:?}"))?;
                    (
                        decl[..=end].replace(' ', ""),
                        decl[end + 1..].trim().to_string(),
                    )
                } else {
                    let (t, n) = decl
                        .split_once(' ')
                        .ok_or_else(|| format!("cannot parse proto field {line:?}"))?;
                    (t.to_string(), n.trim().to_string())
                };
                fields.push((ty, name, number, repeated));
            }
        }
    }
    let known: std::collections::HashSet<String> =
        raw.iter().map(|(p, n, _)| format!("{p}.{n}")).collect();
    let resolve = |package: &str, t: &str| -> Result<Kind, String> {
        if let Some(s) = scalar(t) {
            return Ok(Kind::Scalar(s));
        }
        let full = match t.strip_prefix('.') {
            Some(f) => f.to_string(),
            None => format!("{package}.{t}"),
        };
        if known.contains(&full) {
            Ok(Kind::Message(full))
        } else {
            Err(format!("unknown proto type {t} in {package}"))
        }
    };
    let mut schema = Schema::default();
    for (package, name, fields) in &raw {
        let mut m = HashMap::new();
        for (ty, fname, number, repeated) in fields {
            let kind =
                if let Some(inner) = ty.strip_prefix("map<").and_then(|s| s.strip_suffix('>')) {
                    let (k, v) = inner
                        .split_once(',')
                        .ok_or_else(|| format!("bad map type {ty}"))?;
                    let key = scalar(k).ok_or_else(|| format!("bad map key {k}"))?;
                    Kind::Map(key, Box::new(resolve(package, v)?))
                } else {
                    resolve(package, ty)?
                };
            m.insert(
                *number,
                Field {
                    name: fname.clone(),
                    kind,
                    repeated: *repeated,
                },
            );
        }
        schema.messages.insert(format!("{package}.{name}"), m);
    }
    Ok(schema)
}

fn schema() -> Result<&'static Schema, String> {
    static S: OnceLock<Result<Schema, String>> = OnceLock::new();
    S.get_or_init(parse_schema).as_ref().map_err(Clone::clone)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err("varint overflow".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.buf.get(self.pos..end).ok_or("truncated field")?;
        self.pos = end;
        Ok(s)
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// One raw field value.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

fn read_field<'a>(r: &mut Reader<'a>) -> Result<(u64, Wire<'a>), String> {
    let key = r.varint()?;
    let number = key >> 3;
    let wire = match key & 7 {
        0 => Wire::Varint(r.varint()?),
        1 => Wire::Fixed64(u64::from_le_bytes(
            r.bytes(8)?.try_into().map_err(|_| "bad fixed64")?,
        )),
        2 => {
            let n = usize::try_from(r.varint()?).map_err(|_| "length overflow")?;
            Wire::Bytes(r.bytes(n)?)
        }
        5 => Wire::Fixed32(u32::from_le_bytes(
            r.bytes(4)?.try_into().map_err(|_| "bad fixed32")?,
        )),
        other => return Err(format!("unsupported wire type {other}")),
    };
    Ok((number, wire))
}

fn scalar_value(s: Scalar, w: &Wire<'_>) -> Result<Value, String> {
    Ok(match (s, w) {
        (Scalar::String, Wire::Bytes(b)) => Value::String(
            std::str::from_utf8(b)
                .map_err(|_| "invalid UTF-8 in a string field")?
                .to_string(),
        ),
        (Scalar::Bytes, Wire::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Scalar::Bool, Wire::Varint(v)) => Value::Bool(*v != 0),
        (Scalar::Int32, Wire::Varint(v)) => json!(*v as i64 as i32),
        (Scalar::Int64, Wire::Varint(v)) => json!(*v as i64),
        (Scalar::Uint32, Wire::Varint(v)) => json!(*v as u32),
        (Scalar::Uint64, Wire::Varint(v)) => json!(*v),
        (Scalar::Int64 | Scalar::Uint64, Wire::Fixed64(v)) => json!(*v as i64),
        (Scalar::Int32 | Scalar::Uint32, Wire::Fixed32(v)) => json!(*v as i32),
        (Scalar::Double, Wire::Fixed64(v)) => json!(f64::from_bits(*v)),
        (Scalar::Float, Wire::Fixed32(v)) => json!(f32::from_bits(*v) as f64),
        _ => return Err("field has an unexpected wire type".into()),
    })
}

const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";
const MAX_DEPTH: usize = 100;

fn time(seconds: i64, nanos: i64, micro: bool) -> Value {
    // Go's zero time encodes as -62135596800 seconds; it marshals as null.
    if seconds <= -62_135_596_800 {
        return Value::Null;
    }
    let Ok(t) = jiff::Timestamp::new(seconds, nanos as i32) else {
        return Value::Null;
    };
    let fmt = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Value::String(t.strftime(fmt).to_string())
}

fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let mut n = nanos.unsigned_abs();
    let h = n / 3_600_000_000_000;
    n %= 3_600_000_000_000;
    let m = n / 60_000_000_000;
    n %= 60_000_000_000;
    let s = n as f64 / 1e9;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if h > 0 {
        out.push_str(&format!("{h}h{m}m"));
    } else if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{s}s"));
    out
}

fn raw_json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or(Value::Null)
}

/// JSON names that differ from proto field names (apiextensions' JSONSchemaProps).
fn json_name(message: &str, field: &str) -> String {
    if message.ends_with("apiextensions.v1.JSONSchemaProps") {
        match field {
            "ref" => return "$ref".into(),
            "schema" => return "$schema".into(),
            f if f.starts_with("xKubernetes") => {
                let mut out = String::from("x-kubernetes");
                for c in f["xKubernetes".len()..].chars() {
                    if c.is_ascii_uppercase() {
                        out.push('-');
                        out.push(c.to_ascii_lowercase());
                    } else {
                        out.push(c);
                    }
                }
                return out;
            }
            _ => {}
        }
    }
    field.to_string()
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}

fn decode_message(name: &str, buf: &[u8], depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("message nests too deeply".into());
    }
    let schema = schema()?;
    let fields = schema
        .messages
        .get(name)
        .ok_or_else(|| format!("no protobuf schema for {name}"))?;
    let mut out = Map::new();
    let mut r = Reader { buf, pos: 0 };
    while !r.done() {
        let (number, wire) = read_field(&mut r)?;
        let Some(f) = fields.get(&number) else {
            continue;
        };
        let value = match &f.kind {
            Kind::Scalar(s) => {
                if f.repeated
                    && let (
                        Wire::Bytes(b),
                        Scalar::Bool
                        | Scalar::Int32
                        | Scalar::Int64
                        | Scalar::Uint32
                        | Scalar::Uint64,
                    ) = (&wire, s)
                {
                    // Packed repeated scalars.
                    let mut pr = Reader { buf: b, pos: 0 };
                    let mut items = Vec::new();
                    while !pr.done() {
                        items.push(scalar_value(*s, &Wire::Varint(pr.varint()?))?);
                    }
                    let list = out
                        .entry(f.name.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(a) = list {
                        a.extend(items);
                    }
                    continue;
                }
                scalar_value(*s, &wire)?
            }
            Kind::Message(m) => {
                let Wire::Bytes(b) = wire else {
                    return Err(format!("field {} of {name} is not a message", f.name));
                };
                decode_special(m, b, depth + 1)?
            }
            Kind::Map(_, v) => {
                let Wire::Bytes(b) = wire else {
                    return Err(format!("map field {} of {name} is malformed", f.name));
                };
                let mut er = Reader { buf: b, pos: 0 };
                let (mut key, mut val) = (String::new(), Value::Null);
                while !er.done() {
                    let (n, w) = read_field(&mut er)?;
                    match n {
                        1 => {
                            key = match scalar_value(Scalar::String, &w)? {
                                Value::String(s) => s,
                                other => other.to_string(),
                            }
                        }
                        2 => {
                            val = match (&**v, &w) {
                                (Kind::Scalar(s), _) => scalar_value(*s, &w)?,
                                (Kind::Message(m), Wire::Bytes(mb)) => {
                                    decode_special(m, mb, depth + 1)?
                                }
                                _ => return Err(format!("map value of {} is malformed", f.name)),
                            }
                        }
                        _ => {}
                    }
                }
                let map = out
                    .entry(json_name(name, &f.name))
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = map {
                    if val.is_null() {
                        val = match &**v {
                            Kind::Scalar(Scalar::String | Scalar::Bytes) => {
                                Value::String(String::new())
                            }
                            _ => Value::Null,
                        };
                    }
                    m.insert(key, val);
                }
                continue;
            }
        };
        let key = json_name(name, &f.name);
        if f.repeated {
            let list = out.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = list {
                a.push(value);
            }
        } else {
            out.insert(key, value);
        }
    }
    // Drop what Go's omitempty would drop (scalars at their zero value, empty lists).
    out.retain(|_, v| !is_zero(v));
    Ok(Value::Object(out))
}

/// Messages whose JSON is not their field structure.
fn decode_special(name: &str, b: &[u8], depth: usize) -> Result<Value, String> {
    let plain = |n: &str| decode_message(n, b, depth);
    let int_field = |v: &Value, f: &str| v.get(f).and_then(Value::as_i64).unwrap_or(0);
    Ok(match name {
        n if n == format!("{META}.Time") || n == format!("{META}.Timestamp") => {
            let v = plain(n)?;
            time(int_field(&v, "seconds"), int_field(&v, "nanos"), false)
        }
        n if n == format!("{META}.MicroTime") => {
            let v = plain(n)?;
            time(int_field(&v, "seconds"), int_field(&v, "nanos"), true)
        }
        n if n == format!("{META}.Duration") => {
            let v = plain(n)?;
            Value::String(go_duration(int_field(&v, "duration")))
        }
        n if n == format!("{META}.FieldsV1") => {
            let mut r = Reader { buf: b, pos: 0 };
            let mut out = Value::Null;
            while !r.done() {
                if let (1, Wire::Bytes(raw)) = read_field(&mut r)? {
                    out = raw_json(raw);
                }
            }
            out
        }
        "k8s.io.apimachinery.pkg.runtime.RawExtension"
        | "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON" => {
            let mut r = Reader { buf: b, pos: 0 };
            let mut out = Value::Null;
            while !r.done() {
                if let (1, Wire::Bytes(raw)) = read_field(&mut r)? {
                    out = raw_json(raw);
                }
            }
            out
        }
        "k8s.io.apimachinery.pkg.api.resource.Quantity"
        | "k8s.io.apimachinery.pkg.api.resource.QuantityValue" => {
            let v = plain(name)?;
            v.get("string")
                .cloned()
                .unwrap_or(Value::String("0".into()))
        }
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            let v = plain(name)?;
            if int_field(&v, "type") == 1 {
                v.get("strVal")
                    .cloned()
                    .unwrap_or(Value::String(String::new()))
            } else {
                json!(int_field(&v, "intVal"))
            }
        }
        n if n.ends_with("apiextensions.v1.JSONSchemaPropsOrBool") => {
            let v = plain(n)?;
            match v.get("schema") {
                Some(s) => s.clone(),
                None => Value::Bool(v.get("allows").and_then(Value::as_bool).unwrap_or(false)),
            }
        }
        n if n.ends_with("apiextensions.v1.JSONSchemaPropsOrArray") => {
            let v = plain(n)?;
            match v.get("schema") {
                Some(s) => s.clone(),
                None => v.get("jSONSchemas").cloned().unwrap_or(json!([])),
            }
        }
        n if n.ends_with("apiextensions.v1.JSONSchemaPropsOrStringArray") => {
            let v = plain(n)?;
            match v.get("schema") {
                Some(s) => s.clone(),
                None => v.get("property").cloned().unwrap_or(json!([])),
            }
        }
        other => plain(other)?,
    })
}

/// The proto package of an `apiVersion`.
fn package_of(api_version: &str) -> Option<&'static str> {
    Some(match api_version {
        "v1" => "k8s.io.api.core.v1",
        "batch/v1" => "k8s.io.api.batch.v1",
        "coordination.k8s.io/v1" => "k8s.io.api.coordination.v1",
        "events.k8s.io/v1" => "k8s.io.api.events.v1",
        "storage.k8s.io/v1" => "k8s.io.api.storage.v1",
        "apiextensions.k8s.io/v1" => "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1",
        "meta.k8s.io/v1" => META,
        _ => return None,
    })
}

/// The error for a body without the `k8s\0` prefix (kube-apiserver's words; the
/// HTTP layer appends a summary of the body).
pub const NOT_PROTOBUF: &str =
    "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]";

/// Decodes a Kubernetes protobuf payload (`k8s\0` + `runtime.Unknown`) into JSON.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let payload = body.strip_prefix(MAGIC).ok_or(NOT_PROTOBUF)?;
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    while !r.done() {
        match read_field(&mut r)? {
            (1, Wire::Bytes(tm)) => {
                let mut t = Reader { buf: tm, pos: 0 };
                while !t.done() {
                    match read_field(&mut t)? {
                        (1, Wire::Bytes(s)) => {
                            api_version = String::from_utf8_lossy(s).into_owned()
                        }
                        (2, Wire::Bytes(s)) => kind = String::from_utf8_lossy(s).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = Some(b),
            (3, Wire::Bytes(enc)) if !enc.is_empty() => {
                return Err("content encodings are not supported".into());
            }
            _ => {}
        }
    }
    let raw = raw.ok_or("the protobuf payload has no object")?;
    let package = package_of(&api_version)
        .ok_or_else(|| format!("no protobuf types for apiVersion {api_version:?}"))?;
    let mut v = decode_message(&format!("{package}.{kind}"), raw, 0)?;
    if let Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), Value::String(api_version));
        m.insert("kind".into(), Value::String(kind));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn field_bytes(n: u64, b: &[u8], out: &mut Vec<u8>) {
        varint(n << 3 | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }

    #[test]
    fn every_vendored_proto_parses() {
        let s = schema().unwrap();
        assert!(s.messages.contains_key("k8s.io.api.core.v1.Pod"));
        assert!(
            s.messages
                .contains_key("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
    }

    #[test]
    fn decodes_a_config_map_envelope() {
        // ObjectMeta{name: "c", labels: {a: b}, creationTimestamp: zero}
        let mut meta = Vec::new();
        field_bytes(1, b"c", &mut meta);
        let mut entry = Vec::new();
        field_bytes(1, b"a", &mut entry);
        field_bytes(2, b"b", &mut entry);
        field_bytes(11, &entry, &mut meta);
        let mut cm = Vec::new();
        field_bytes(1, &meta, &mut cm);
        let mut data = Vec::new();
        field_bytes(1, b"k", &mut data);
        field_bytes(2, b"v", &mut data);
        field_bytes(2, &data, &mut cm);
        let mut tm = Vec::new();
        field_bytes(1, b"v1", &mut tm);
        field_bytes(2, b"ConfigMap", &mut tm);
        let mut unknown = Vec::new();
        field_bytes(1, &tm, &mut unknown);
        field_bytes(2, &cm, &mut unknown);
        let mut body = MAGIC.to_vec();
        body.extend(unknown);
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"nope").is_err());
        assert!(decode(b"k8s\x00\xff\xff\xff").is_err());
        let mut body = MAGIC.to_vec();
        body.extend([0x12, 0x05, 0x0a]);
        assert!(decode(&body).is_err());
    }
}
