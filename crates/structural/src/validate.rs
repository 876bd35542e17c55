//! OpenAPI value validation as kube-openapi's `SchemaValidator` does it for custom resources,
//! with CRD validation ratcheting (errors in values unchanged since `old` are dropped), and
//! the conversion of its results into field errors (`kubeOpenAPIResultToFieldErrors`).

use crate::error::FieldError;
use crate::gofmt::{self, GoNumber, go_number};
use crate::schema::{Additional, Node};
use serde_json::Value;
use std::collections::HashSet;

const IN: &str = "body";

/// Error codes of kube-openapi's `errors.Validation`, plus the composite (anyOf/allOf/...) kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    InvalidType,
    Required,
    TooLong,
    Enum,
    MaxItems,
    TooManyProperties,
    /// Any other `errors.Validation` (converted to `field.Invalid`).
    Other,
    /// Not an `errors.Validation` (anyOf/oneOf/allOf/not): `field.Invalid(<base>, "", msg)`.
    Composite,
}

#[derive(Debug, Clone)]
struct Verr {
    code: Code,
    name: String,
    value: Option<Value>,
    /// The limit, for TooLong / MaxItems / TooManyProperties.
    valid: i64,
    values: Vec<Value>,
    message: String,
}

impl Verr {
    fn new(code: Code, name: &str, value: Option<Value>, message: String) -> Verr {
        Verr {
            code,
            name: name.to_string(),
            value,
            valid: -1,
            values: Vec::new(),
            message,
        }
    }
}

#[derive(Default)]
struct Res {
    errors: Vec<Verr>,
    seen: HashSet<String>,
    match_count: usize,
}

impl Res {
    fn add(&mut self, e: Verr) {
        if self.seen.insert(e.message.clone()) {
            self.errors.push(e);
        }
    }
    fn merge(&mut self, other: Res) {
        for e in other.errors {
            self.add(e);
        }
        self.match_count += other.match_count;
    }
    fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

fn kind_of(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
        Value::Number(n) => match go_number(n) {
            GoNumber::Int(_) => ("integer", "int64"),
            GoNumber::Float(_) => ("number", "float64"),
        },
    }
}

fn is_json_integer(f: f64) -> bool {
    f.is_finite() && f.abs() <= 9_007_199_254_740_992.0 && f.fract() == 0.0
}

/// Validates `data` against `node`; `base` is the field path the errors hang under
/// (`None` for a custom resource, `<schema path>.default` for a default).
pub(crate) fn validate(
    node: &Node,
    data: &Value,
    old: Option<&Value>,
    base: Option<&str>,
) -> Vec<FieldError> {
    let res = schema(node, data, old, "");
    res.errors
        .into_iter()
        .map(|e| to_field_error(e, base))
        .collect()
}

fn to_field_error(e: Verr, base: Option<&str>) -> FieldError {
    let base_str = base.map(str::to_string);
    let err_path = if !e.name.is_empty() && e.name != "." {
        let name = e.name.trim_start_matches('.');
        match &base_str {
            Some(b) if !b.is_empty() => format!("{b}.{name}"),
            _ => name.to_string(),
        }
    } else {
        base_str.clone().unwrap_or_else(|| "<nil>".to_string())
    };
    let value = e
        .value
        .clone()
        .unwrap_or_else(|| Value::String(String::new()));
    match e.code {
        Code::Required => FieldError::required(err_path, ""),
        Code::Enum => {
            let values: Vec<String> = e
                .values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            FieldError::not_supported(err_path, e.value.unwrap_or(Value::Null), &values)
        }
        Code::TooLong => FieldError::too_long(err_path, e.valid),
        Code::MaxItems | Code::TooManyProperties => {
            let actual = e.value.as_ref().and_then(Value::as_i64).unwrap_or(-1);
            FieldError::too_many(err_path, actual, e.valid)
        }
        Code::InvalidType => FieldError::type_invalid(err_path, value, e.message),
        Code::Other => FieldError::invalid(err_path, value, e.message),
        Code::Composite => FieldError::invalid(
            base_str.unwrap_or_else(|| "<nil>".to_string()),
            Value::String(String::new()),
            e.message,
        ),
    }
}

/// One `SchemaValidator.Validate` call, with ratcheting: a value deep-equal to its
/// correlated old value cannot fail.
fn schema(node: &Node, data: &Value, old: Option<&Value>, pth: &str) -> Res {
    let mut res = Res::default();
    if old.is_some_and(|o| o == data) {
        res.match_count = 1;
        return res;
    }
    let format = node.validated_format().unwrap_or("");
    let types: Vec<&str> = if node.int_or_string {
        vec!["integer", "string"]
    } else if node.ty.is_empty() {
        vec![]
    } else {
        vec![node.ty.as_str()]
    };
    if data.is_null() {
        if !types.is_empty() || !format.is_empty() {
            if !types.is_empty() && !node.nullable {
                res.add(invalid_type(pth, &types.join(","), "null"));
            }
            res.match_count += 1;
        }
        if let Some(e) = enum_check(node, data, pth) {
            res.add(e);
        }
        res.match_count += 1;
        return res;
    }
    // 1. type
    if !types.is_empty() || !format.is_empty() {
        if let Some(e) = type_check(&types, format, data, pth) {
            res.add(e);
        }
        res.match_count += 1;
    }
    // 2. allOf / anyOf / oneOf / not
    let props = schema_props(node, data, old, pth);
    res.merge(props);
    res.match_count += 1;
    // 3. string, 4. format
    if let Value::String(s) = data {
        if let Some(e) = string_check(node, s, pth) {
            res.add(e);
        }
        res.match_count += 1;
        if crate::formats::is_supported(&format.replace('-', "")) {
            if !crate::formats::validate(format, s) {
                let mut e = invalid_type(pth, format, s);
                e.value = Some(Value::String(s.clone()));
                res.add(e);
            }
            res.match_count += 1;
        }
    }
    // 5. number
    if let Value::Number(n) = data {
        for e in number_check(node, go_number(n), pth) {
            res.add(e);
        }
        res.match_count += 1;
    }
    // 6. slice
    if let Value::Array(items) = data {
        res.merge(slice_check(node, items, old, pth));
        res.match_count += 1;
    }
    // 7. enum
    if let Some(e) = enum_check(node, data, pth) {
        res.add(e);
    }
    res.match_count += 1;
    // 8. object
    if let Value::Object(map) = data {
        res.merge(object_check(node, map, old, pth));
        res.match_count += 1;
    }
    res.match_count += 1;
    res
}

fn invalid_type(pth: &str, type_name: &str, value: &str) -> Verr {
    Verr::new(
        Code::InvalidType,
        pth,
        Some(Value::String(value.to_string())),
        format!(
            "{pth} in {IN} must be of type {type_name}: {}",
            gofmt::quote(value)
        ),
    )
}

fn type_check(types: &[&str], format: &str, data: &Value, pth: &str) -> Option<Verr> {
    let (sch_type, data_format) = kind_of(data);
    let is_string_or_slice = matches!(data, Value::String(_) | Value::Array(_));
    let contains = |t: &str| types.contains(&t);
    let is_float_int =
        sch_type == "number" && data.as_f64().is_some_and(is_json_integer) && contains("integer");
    let is_int_float = sch_type == "integer" && contains("number");
    if !is_string_or_slice
        && !format.is_empty()
        && !(contains(sch_type) || data_format == format || is_float_int || is_int_float)
    {
        return Some(invalid_type(pth, format, data_format));
    }
    if !(contains("number") || contains("integer")) && !format.is_empty() && is_string_or_slice {
        return None;
    }
    if !(contains(sch_type) || is_float_int || is_int_float) {
        return Some(invalid_type(pth, &types.join(","), sch_type));
    }
    None
}

fn string_check(node: &Node, s: &str, pth: &str) -> Option<Verr> {
    let len = s.chars().count() as i64;
    if let Some(max) = node.max_length {
        if len > max {
            let mut e = Verr::new(
                Code::TooLong,
                pth,
                Some(Value::String(s.to_string())),
                format!("{pth} in {IN} should be at most {max} chars long"),
            );
            e.valid = max;
            return Some(e);
        }
    }
    if let Some(min) = node.min_length {
        if len < min {
            return Some(Verr::new(
                Code::Other,
                pth,
                Some(Value::String(s.to_string())),
                format!("{pth} in {IN} should be at least {min} chars long"),
            ));
        }
    }
    if let Some(p) = &node.pattern {
        if !p.regex.is_match(s) {
            return Some(Verr::new(
                Code::Other,
                pth,
                Some(Value::String(s.to_string())),
                format!("{pth} in {IN} should match '{}'", p.source),
            ));
        }
    }
    None
}

fn number_value(n: GoNumber) -> Value {
    match n {
        GoNumber::Int(i) => Value::from(i),
        GoNumber::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
    }
}

fn number_check(node: &Node, n: GoNumber, pth: &str) -> Vec<Verr> {
    let mut out = Vec::new();
    let value = number_value(n);
    let other = |msg: String, v: Value| Verr::new(Code::Other, pth, Some(v), msg);
    if let Some(factor) = node.multiple_of {
        match n {
            GoNumber::Int(i) => {
                let f = factor as i64;
                if f <= 0 {
                    out.push(other(
                        format!("factor MultipleOf declared for {pth} must be positive: {f}"),
                        Value::from(f),
                    ));
                } else if i % f != 0 {
                    out.push(other(
                        format!("{pth} in {IN} should be a multiple of {f}"),
                        value.clone(),
                    ));
                }
            }
            GoNumber::Float(d) => {
                if factor <= 0.0 {
                    out.push(other(
                        format!(
                            "factor MultipleOf declared for {pth} must be positive: {}",
                            gofmt::format_float(factor)
                        ),
                        number_value(GoNumber::Float(factor)),
                    ));
                } else {
                    let mult = if factor < 1.0 {
                        1.0 / factor * d
                    } else {
                        d / factor
                    };
                    if !is_json_integer(mult) {
                        out.push(other(
                            format!(
                                "{pth} in {IN} should be a multiple of {}",
                                gofmt::format_float(factor)
                            ),
                            value.clone(),
                        ));
                    }
                }
            }
        }
    }
    if let Some(min) = node.minimum {
        let excl = node.exclusive_minimum;
        let (fails, shown) = match n {
            GoNumber::Int(i) => {
                let m = min as i64;
                ((!excl && i < m) || (excl && i <= m), m.to_string())
            }
            GoNumber::Float(d) => (
                (!excl && d < min) || (excl && d <= min),
                gofmt::format_float(min),
            ),
        };
        if fails {
            let rel = if excl {
                "greater than"
            } else {
                "greater than or equal to"
            };
            out.push(other(
                format!("{pth} in {IN} should be {rel} {shown}"),
                value.clone(),
            ));
        }
    }
    if let Some(max) = node.maximum {
        let excl = node.exclusive_maximum;
        let (fails, shown) = match n {
            GoNumber::Int(i) => {
                let m = max as i64;
                ((!excl && i > m) || (excl && i >= m), m.to_string())
            }
            GoNumber::Float(d) => (
                (!excl && d > max) || (excl && d >= max),
                gofmt::format_float(max),
            ),
        };
        if fails {
            let rel = if excl {
                "less than"
            } else {
                "less than or equal to"
            };
            out.push(other(
                format!("{pth} in {IN} should be {rel} {shown}"),
                value,
            ));
        }
    }
    out
}

fn slice_check(node: &Node, items: &[Value], old: Option<&Value>, pth: &str) -> Res {
    let mut res = Res::default();
    if let Some(item_schema) = &node.items {
        let old_items = correlate_list(node, old);
        for (i, item) in items.iter().enumerate() {
            let old_item = old_items.as_ref().and_then(|c| c.get(item));
            res.merge(schema(item_schema, item, old_item, &format!("{pth}[{i}]")));
        }
    }
    let size = items.len() as i64;
    if let Some(min) = node.min_items {
        if size < min {
            res.add(Verr::new(
                Code::Other,
                pth,
                Some(Value::from(size)),
                format!("{pth} in {IN} should have at least {min} items"),
            ));
        }
    }
    if let Some(max) = node.max_items {
        if size > max {
            let mut e = Verr::new(
                Code::MaxItems,
                pth,
                Some(Value::from(size)),
                format!("{pth} in {IN} should have at most {max} items"),
            );
            e.valid = max;
            res.add(e);
        }
    }
    if node.unique_items {
        let mut seen = HashSet::new();
        if items.iter().any(|v| !seen.insert(crate::canonical_json(v))) {
            res.add(Verr::new(
                Code::Other,
                pth,
                None,
                format!("{pth} in {IN} shouldn't contain duplicates"),
            ));
        }
    }
    res.match_count += 1;
    res
}

/// Old list items correlated to new ones: only `x-kubernetes-list-type: map` lists correlate.
pub(crate) fn correlate_list<'a>(
    node: &'a Node,
    old: Option<&'a Value>,
) -> Option<crate::listtype::MapList<'a>> {
    let old = old?.as_array()?;
    if node.list_type.as_deref() != Some("map") || node.list_map_keys.is_empty() {
        return None;
    }
    Some(crate::listtype::MapList::new(&node.list_map_keys, old))
}

fn enum_check(node: &Node, data: &Value, pth: &str) -> Option<Verr> {
    let values = node.enumeration.as_ref()?;
    if values.is_empty() {
        return None;
    }
    if !data.is_null() && values.iter().any(|e| enum_equal(data, e)) {
        return None;
    }
    let mut e = Verr::new(
        Code::Enum,
        pth,
        Some(data.clone()),
        format!(
            "{pth} in {IN} should be one of {}",
            gofmt::go_v(&Value::Array(values.clone()))
        ),
    );
    e.values = values.clone();
    Some(e)
}

/// Go's `reflect` conversion-then-DeepEqual that kube-openapi's enum check uses.
fn enum_equal(data: &Value, allowed: &Value) -> bool {
    match (data, allowed) {
        (Value::Number(d), Value::Number(a)) => match (go_number(d), go_number(a)) {
            (GoNumber::Int(x), GoNumber::Int(y)) => x == y,
            (GoNumber::Float(x), GoNumber::Int(y)) => x.is_finite() && x.trunc() as i64 == y,
            (GoNumber::Int(x), GoNumber::Float(y)) => x as f64 == y,
            (GoNumber::Float(x), GoNumber::Float(y)) => x == y,
        },
        // An integer converts to the string holding that code point.
        (Value::Number(d), Value::String(s)) => match go_number(d) {
            GoNumber::Int(i) => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                s.chars().eq(std::iter::once(c))
            }
            GoNumber::Float(_) => false,
        },
        _ => data == allowed,
    }
}

fn object_check(
    node: &Node,
    map: &serde_json::Map<String, Value>,
    old: Option<&Value>,
    pth: &str,
) -> Res {
    let mut res = Res::default();
    let n = map.len() as i64;
    if let Some(min) = node.min_properties {
        if n < min {
            res.add(Verr::new(
                Code::Other,
                pth,
                Some(Value::from(n)),
                format!("{pth} in {IN} should have at least {min} properties"),
            ));
        }
    }
    if let Some(max) = node.max_properties {
        if n > max {
            let mut e = Verr::new(
                Code::TooManyProperties,
                pth,
                Some(Value::from(n)),
                format!("{pth} in {IN} should have at most {max} properties"),
            );
            e.valid = max;
            res.add(e);
        }
    }
    let old_map = old.and_then(Value::as_object);
    let old_field = |k: &str| old_map.and_then(|m| m.get(k));
    match &node.additional {
        Some(Additional::Allows(false)) => {
            for k in map.keys() {
                if !node.properties.contains_key(k) {
                    res.add(Verr::new(
                        Code::Other,
                        pth,
                        Some(Value::String(k.clone())),
                        format!("{pth}.{k} in {IN} is a forbidden property"),
                    ));
                }
            }
        }
        Some(Additional::Schema(add)) => {
            for (k, v) in map {
                if !node.properties.contains_key(k) {
                    res.merge(schema(add, v, old_field(k), &format!("{pth}.{k}")));
                }
            }
        }
        _ => {}
    }
    for (name, prop) in &node.properties {
        if let Some(v) = map.get(name) {
            let child = if pth.is_empty() {
                name.clone()
            } else {
                format!("{pth}.{name}")
            };
            res.merge(schema(prop, v, old_field(name), &child));
        }
    }
    for k in &node.required {
        if !map.contains_key(k) {
            let name = format!("{pth}.{k}");
            res.add(Verr::new(
                Code::Required,
                &name,
                None,
                format!("{name} in {IN} is required"),
            ));
        }
    }
    res
}

fn schema_props(node: &Node, data: &Value, old: Option<&Value>, pth: &str) -> Res {
    let mut main = Res::default();
    let quoted = gofmt::quote(pth);
    if !node.any_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut succeeded = false;
        for sub in &node.any_of {
            let r = schema(sub, data, old, pth);
            if r.is_valid() {
                succeeded = true;
                best = None;
                break;
            }
            if best.as_ref().is_none_or(|b| r.match_count > b.match_count) {
                best = Some(r);
            }
        }
        if !succeeded {
            main.add(Verr::new(
                Code::Composite,
                pth,
                None,
                format!("{quoted} must validate at least one schema (anyOf)"),
            ));
        }
        if let Some(b) = best {
            main.merge(b);
        }
    }
    if !node.one_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut validated = 0;
        for sub in &node.one_of {
            let r = schema(sub, data, old, pth);
            if r.is_valid() {
                validated += 1;
                best = None;
                continue;
            }
            if validated == 0 && best.as_ref().is_none_or(|b| r.match_count > b.match_count) {
                best = Some(r);
            }
        }
        if validated != 1 {
            let additional = if validated == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {validated} valid alternatives")
            };
            main.add(Verr::new(
                Code::Composite,
                pth,
                None,
                format!("{quoted} must validate one and only one schema (oneOf). {additional}"),
            ));
            if let Some(b) = best {
                main.merge(b);
            }
        }
    }
    if !node.all_of.is_empty() {
        let mut validated = 0;
        for sub in &node.all_of {
            let r = schema(sub, data, old, pth);
            if r.is_valid() {
                validated += 1;
            }
            main.merge(r);
        }
        if validated != node.all_of.len() {
            let additional = if validated == 0 {
                ". None validated"
            } else {
                ""
            };
            main.add(Verr::new(
                Code::Composite,
                pth,
                None,
                format!("{quoted} must validate all the schemas (allOf){additional}"),
            ));
        }
    }
    if let Some(not) = &node.not {
        if schema(not, data, old, pth).is_valid() {
            main.add(Verr::new(
                Code::Composite,
                pth,
                None,
                format!("{quoted} must not validate the schema (not)"),
            ));
        }
    }
    main.match_count += 1;
    main
}
