//! Reading an `openAPIV3Schema` into a tree of schema nodes, and refusing the schemas a real
//! API server refuses in a CRD (apiextensions' `ValidateCustomResourceDefinitionOpenAPISchema`
//! and the structural-schema rules of `schema/validation.go` and `schema/complete.go`).

use crate::cel;
use crate::error::FieldError;
use crate::path;
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How deep a schema may nest before `compile` refuses it (real CRDs stay far below).
pub(crate) const MAX_SCHEMA_DEPTH: usize = 128;

/// The types a CRD schema may name.
const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

/// `additionalProperties`: a boolean or a schema.
#[derive(Debug, Clone)]
pub(crate) enum Additional {
    Allows(bool),
    Schema(Box<Node>),
}

/// One compiled `x-kubernetes-validations` rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub source: String,
    pub message: Option<String>,
    pub message_expression: Option<cel::Program>,
    pub reason: Option<String>,
    pub field_path: Option<String>,
    pub program: cel::Program,
}

/// A compiled pattern: the source as written (for messages) and the regex.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub source: String,
    pub regex: Regex,
}

/// One schema node: a structural node or a value validation under allOf/anyOf/oneOf/not.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// The keywords present in the source, for the structural checks.
    pub keys: BTreeSet<String>,
    pub ty: String,
    pub format: String,
    pub nullable: bool,
    pub default: Option<Value>,
    pub properties: BTreeMap<String, Node>,
    pub additional: Option<Additional>,
    pub items: Option<Box<Node>>,
    pub required: Vec<String>,
    pub enumeration: Option<Vec<Value>>,
    pub pattern: Option<Pattern>,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub maximum: Option<f64>,
    pub minimum: Option<f64>,
    pub exclusive_maximum: bool,
    pub exclusive_minimum: bool,
    pub multiple_of: Option<f64>,
    pub unique_items: bool,
    pub all_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub not: Option<Box<Node>>,
    pub preserve_unknown: Option<bool>,
    pub embedded: bool,
    pub int_or_string: bool,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<String>,
    pub rules: Vec<Rule>,
    /// The raw `x-kubernetes-validations`, kept for checks before CEL compilation.
    pub raw_rules: Vec<Value>,
}

impl Node {
    pub(crate) fn preserves_unknown(&self) -> bool {
        self.preserve_unknown == Some(true)
    }

    /// The schema of a property or map value (`properties`, then `additionalProperties`).
    pub(crate) fn field_schema(&self, name: &str) -> Option<&Node> {
        if let Some(p) = self.properties.get(name) {
            return Some(p);
        }
        match &self.additional {
            Some(Additional::Schema(s)) => Some(s),
            _ => None,
        }
    }

    /// The effective format for validation: the formats the real server strips are gone.
    pub(crate) fn validated_format(&self) -> Option<&str> {
        let normalized = self.format.replace('-', "");
        crate::formats::is_supported(&normalized).then_some(self.format.as_str())
    }
}

/// Parses a schema object into a node, collecting errors for malformed keywords.
pub(crate) fn parse(v: &Value, pth: &str, depth: usize, errs: &mut Vec<FieldError>) -> Node {
    let mut node = Node::default();
    if depth > MAX_SCHEMA_DEPTH {
        errs.push(FieldError::forbidden(
            pth,
            format!("schemas may not nest deeper than {MAX_SCHEMA_DEPTH} levels"),
        ));
        return node;
    }
    let Some(obj) = v.as_object() else {
        errs.push(FieldError::invalid(
            pth,
            v.clone(),
            "must be a schema object",
        ));
        return node;
    };
    for (k, val) in obj {
        node.keys.insert(k.clone());
        let p = path::child(pth, k);
        match k.as_str() {
            "type" => node.ty = string(val, &p, errs),
            "format" => node.format = string(val, &p, errs),
            "title" | "description" | "$schema" | "id" | "example" => {}
            "nullable" => node.nullable = boolean(val, &p, errs),
            "default" => node.default = Some(val.clone()),
            "enum" => match val.as_array() {
                Some(a) => node.enumeration = Some(a.clone()),
                None => errs.push(FieldError::invalid(&p, val.clone(), "must be an array")),
            },
            "maximum" => node.maximum = number(val, &p, errs),
            "minimum" => node.minimum = number(val, &p, errs),
            "multipleOf" => node.multiple_of = number(val, &p, errs),
            "exclusiveMaximum" => node.exclusive_maximum = boolean(val, &p, errs),
            "exclusiveMinimum" => node.exclusive_minimum = boolean(val, &p, errs),
            "maxLength" => node.max_length = integer(val, &p, errs),
            "minLength" => node.min_length = integer(val, &p, errs),
            "maxItems" => node.max_items = integer(val, &p, errs),
            "minItems" => node.min_items = integer(val, &p, errs),
            "maxProperties" => node.max_properties = integer(val, &p, errs),
            "minProperties" => node.min_properties = integer(val, &p, errs),
            "uniqueItems" => node.unique_items = boolean(val, &p, errs),
            "pattern" => {
                let src = string(val, &p, errs);
                match crate::regex_compat::compile(&src) {
                    Ok(regex) => node.pattern = Some(Pattern { source: src, regex }),
                    Err(e) => errs.push(FieldError::invalid(
                        &p,
                        Value::String(src),
                        format!("must be a valid regular expression, but isn't: {e}"),
                    )),
                }
            }
            "required" => match val.as_array() {
                Some(a) => {
                    for (i, r) in a.iter().enumerate() {
                        match r.as_str() {
                            Some(s) => node.required.push(s.to_string()),
                            None => errs.push(FieldError::invalid(
                                path::index(&p, i),
                                r.clone(),
                                "must be a string",
                            )),
                        }
                    }
                }
                None => errs.push(FieldError::invalid(&p, val.clone(), "must be an array")),
            },
            "items" => {
                if val.is_array() {
                    errs.push(FieldError::forbidden(
                        &p,
                        "items must be a schema object and not an array",
                    ));
                } else {
                    node.items = Some(Box::new(parse(val, &p, depth + 1, errs)));
                }
            }
            "properties" => match val.as_object() {
                Some(props) => {
                    for (name, sub) in props {
                        let sp = path::key(&p, name);
                        node.properties
                            .insert(name.clone(), parse(sub, &sp, depth + 1, errs));
                    }
                }
                None => errs.push(FieldError::invalid(&p, val.clone(), "must be an object")),
            },
            "additionalProperties" => match val {
                Value::Bool(b) => node.additional = Some(Additional::Allows(*b)),
                _ => {
                    node.additional = Some(Additional::Schema(Box::new(parse(
                        val,
                        &p,
                        depth + 1,
                        errs,
                    ))))
                }
            },
            "allOf" | "anyOf" | "oneOf" => {
                let list = match val.as_array() {
                    Some(a) => a
                        .iter()
                        .enumerate()
                        .map(|(i, s)| parse(s, &path::index(&p, i), depth + 1, errs))
                        .collect(),
                    None => {
                        errs.push(FieldError::invalid(&p, val.clone(), "must be an array"));
                        Vec::new()
                    }
                };
                match k.as_str() {
                    "allOf" => node.all_of = list,
                    "anyOf" => node.any_of = list,
                    _ => node.one_of = list,
                }
            }
            "not" => node.not = Some(Box::new(parse(val, &p, depth + 1, errs))),
            "x-kubernetes-preserve-unknown-fields" => {
                node.preserve_unknown = Some(boolean(val, &p, errs))
            }
            "x-kubernetes-embedded-resource" => node.embedded = boolean(val, &p, errs),
            "x-kubernetes-int-or-string" => node.int_or_string = boolean(val, &p, errs),
            "x-kubernetes-list-type" => node.list_type = Some(string(val, &p, errs)),
            "x-kubernetes-map-type" => node.map_type = Some(string(val, &p, errs)),
            "x-kubernetes-list-map-keys" => match val.as_array() {
                Some(a) => {
                    node.list_map_keys = a
                        .iter()
                        .filter_map(|x| x.as_str())
                        .map(String::from)
                        .collect()
                }
                None => errs.push(FieldError::invalid(&p, val.clone(), "must be an array")),
            },
            "x-kubernetes-validations" => match val.as_array() {
                Some(a) => node.raw_rules = a.clone(),
                None => errs.push(FieldError::invalid(&p, val.clone(), "must be an array")),
            },
            "externalDocs" => {}
            "$ref" => errs.push(FieldError::forbidden(&p, "$ref is not supported")),
            "additionalItems" => errs.push(FieldError::forbidden(
                &p,
                "additionalItems is not supported",
            )),
            "patternProperties" => errs.push(FieldError::forbidden(
                &p,
                "patternProperties is not supported",
            )),
            "definitions" => errs.push(FieldError::forbidden(&p, "definitions is not supported")),
            "dependencies" => errs.push(FieldError::forbidden(&p, "dependencies is not supported")),
            // Unknown keywords are dropped when the CRD is decoded, as by the real server.
            _ => {}
        }
    }
    if node.keys.contains("id") {
        errs.push(FieldError::forbidden(
            path::child(pth, "id"),
            "id is not supported",
        ));
    }
    node
}

fn string(v: &Value, p: &str, errs: &mut Vec<FieldError>) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => {
            errs.push(FieldError::invalid(p, v.clone(), "must be a string"));
            String::new()
        }
    }
}

fn boolean(v: &Value, p: &str, errs: &mut Vec<FieldError>) -> bool {
    match v.as_bool() {
        Some(b) => b,
        None => {
            errs.push(FieldError::invalid(p, v.clone(), "must be a boolean"));
            false
        }
    }
}

fn number(v: &Value, p: &str, errs: &mut Vec<FieldError>) -> Option<f64> {
    match v.as_f64() {
        Some(f) => Some(f),
        None => {
            errs.push(FieldError::invalid(p, v.clone(), "must be a number"));
            None
        }
    }
}

fn integer(v: &Value, p: &str, errs: &mut Vec<FieldError>) -> Option<i64> {
    match v.as_i64() {
        Some(i) => Some(i),
        None => {
            errs.push(FieldError::invalid(p, v.clone(), "must be an integer"));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// apiextensions' CRD schema validation (the part that is not about structurality).
// ---------------------------------------------------------------------------------------

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Context handed down the CRD schema walk.
#[derive(Clone, Copy, Default)]
struct CrdCtx<'a> {
    inside_meta: bool,
    forbid_defaults: Option<&'a str>,
}

pub(crate) fn check_crd_schema(node: &Node, pth: &str, is_root: bool, errs: &mut Vec<FieldError>) {
    check_crd_node(node, pth, is_root, CrdCtx::default(), errs);
    if is_root && node.nullable {
        errs.push(FieldError::forbidden(
            path::child(pth, "nullable"),
            "nullable cannot be true at the root",
        ));
    }
}

fn check_crd_node(
    node: &Node,
    pth: &str,
    is_root: bool,
    ctx: CrdCtx<'_>,
    errs: &mut Vec<FieldError>,
) {
    if !node.ty.is_empty() && !TYPES.contains(&node.ty.as_str()) {
        let supported: Vec<String> = TYPES.iter().map(|s| s.to_string()).collect();
        errs.push(FieldError::not_supported(
            path::child(pth, "type"),
            Value::String(node.ty.clone()),
            &supported,
        ));
    }
    if node.ty == "null" {
        errs.push(FieldError::forbidden(
            path::child(pth, "type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if node.default.is_some() {
        if let Some(reason) = ctx.forbid_defaults {
            errs.push(FieldError::forbidden(
                path::child(pth, "default"),
                format!("must not be set {reason}"),
            ));
        }
    }
    if ctx.inside_meta && node.embedded {
        errs.push(FieldError::forbidden(
            path::child(pth, "x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    if node.unique_items {
        errs.push(FieldError::forbidden(
            path::child(pth, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if let Some(add) = &node.additional {
        let blocks = match add {
            Additional::Allows(b) => !*b,
            Additional::Schema(_) => true,
        };
        if !node.properties.is_empty() && blocks {
            errs.push(FieldError::forbidden(
                path::child(pth, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Additional::Schema(s) = add {
            let mut sub = ctx;
            if ctx.inside_meta {
                sub.forbid_defaults =
                    Some("inside additionalProperties applying to object metadata");
            }
            check_crd_node(
                s,
                &path::child(pth, "additionalProperties"),
                false,
                sub,
                errs,
            );
        }
    }
    for (name, prop) in &node.properties {
        let mut sub = ctx;
        if (is_root || node.embedded) && META_FIELDS.contains(&name.as_str()) {
            sub.inside_meta = true;
            if is_root {
                sub.forbid_defaults = Some(match name.as_str() {
                    "apiVersion" => "in top-level apiVersion",
                    "kind" => "in top-level kind",
                    _ => "in top-level metadata",
                });
            }
        }
        let p = path::key(&path::child(pth, "properties"), name);
        check_crd_node(prop, &p, false, sub, errs);
    }
    if let Some(not) = &node.not {
        check_crd_node(not, &path::child(pth, "not"), false, ctx, errs);
    }
    for (kw, list) in [
        ("allOf", &node.all_of),
        ("anyOf", &node.any_of),
        ("oneOf", &node.one_of),
    ] {
        for (i, s) in list.iter().enumerate() {
            check_crd_node(s, &path::index(&path::child(pth, kw), i), false, ctx, errs);
        }
    }
    if let Some(items) = &node.items {
        check_crd_node(items, &path::child(pth, "items"), false, ctx, errs);
    }
    check_list_and_map_types(node, pth, errs);
    check_rule_fields(node, pth, errs);
}

fn check_list_and_map_types(node: &Node, pth: &str, errs: &mut Vec<FieldError>) {
    let type_path = path::child(pth, "type");
    if let Some(map_type) = &node.map_type {
        if node.ty != "object" {
            if node.ty.is_empty() {
                errs.push(FieldError::required(
                    &type_path,
                    "must be object if x-kubernetes-map-type is specified",
                ));
            } else {
                errs.push(FieldError::invalid(
                    &type_path,
                    Value::String(node.ty.clone()),
                    "must be object if x-kubernetes-map-type is specified",
                ));
            }
        }
        if map_type != "atomic" && map_type != "granular" {
            errs.push(FieldError::not_supported(
                path::child(pth, "x-kubernetes-map-type"),
                Value::String(map_type.clone()),
                &["atomic".into(), "granular".into()],
            ));
        }
    }
    if let Some(list_type) = &node.list_type {
        if node.ty != "array" {
            if node.ty.is_empty() {
                errs.push(FieldError::required(
                    &type_path,
                    "must be array if x-kubernetes-list-type is specified",
                ));
            } else {
                errs.push(FieldError::invalid(
                    &type_path,
                    Value::String(node.ty.clone()),
                    "must be array if x-kubernetes-list-type is specified",
                ));
            }
        } else if list_type == "set" {
            if let Some(items) = &node.items {
                match items.ty.as_str() {
                    "array" => {
                        if items.list_type.as_deref().is_some_and(|t| t != "atomic") {
                            errs.push(FieldError::invalid(
                                path::child(&path::child(pth, "items"), "x-kubernetes-list-type"),
                                Value::String(items.list_type.clone().unwrap_or_default()),
                                "must be atomic as item of a list with x-kubernetes-list-type=set",
                            ));
                        }
                    }
                    "object" => {
                        if items.map_type.as_deref() != Some("atomic") {
                            errs.push(FieldError::invalid(
                                path::child(&path::child(pth, "items"), "x-kubernetes-map-type"),
                                Value::Null,
                                "must be atomic as item of a list with x-kubernetes-list-type=set",
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        if !["atomic", "set", "map"].contains(&list_type.as_str()) {
            errs.push(FieldError::not_supported(
                path::child(pth, "x-kubernetes-list-type"),
                Value::String(list_type.clone()),
                &["atomic".into(), "set".into(), "map".into()],
            ));
        }
    }
    let keys_value = || {
        Value::Array(
            node.list_map_keys
                .iter()
                .cloned()
                .map(Value::String)
                .collect(),
        )
    };
    if !node.list_map_keys.is_empty() {
        match node.list_type.as_deref() {
            None => errs.push(FieldError::required(
                path::child(pth, "x-kubernetes-list-type"),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some("map") => {}
            Some(other) => errs.push(FieldError::invalid(
                path::child(pth, "x-kubernetes-list-type"),
                Value::String(other.to_string()),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
        }
    }
    if node.list_type.as_deref() == Some("map") {
        if node.list_map_keys.is_empty() {
            errs.push(FieldError::required(
                path::child(pth, "x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match &node.items {
            None => errs.push(FieldError::required(
                path::child(pth, "items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(items) if items.ty != "object" => errs.push(FieldError::invalid(
                path::child(&path::child(pth, "items"), "type"),
                Value::String(items.ty.clone()),
                "must be object if parent array's x-kubernetes-list-type is map",
            )),
            Some(items) => {
                let mut seen = BTreeSet::new();
                for k in &node.list_map_keys {
                    match items.properties.get(k) {
                        Some(s) if s.ty == "array" || s.ty == "object" => errs.push(FieldError::invalid(
                            path::child(&path::key(&path::child(&path::child(pth, "items"), "properties"), k), "type"),
                            Value::String(items.ty.clone()),
                            "must be a scalar type if parent array's x-kubernetes-list-type is map",
                        )),
                        Some(_) => {}
                        None => errs.push(FieldError::invalid(
                            path::child(pth, "x-kubernetes-list-map-keys"),
                            keys_value(),
                            "entries must all be names of item properties",
                        )),
                    }
                    if !seen.insert(k) {
                        errs.push(FieldError::invalid(
                            path::child(pth, "x-kubernetes-list-map-keys"),
                            keys_value(),
                            "must not contain duplicate entries",
                        ));
                    }
                }
            }
        }
    }
    // set and map list items cannot be nullable; map keys must be required or defaulted
    if let (Some(items), Some(lt)) = (&node.items, node.list_type.as_deref()) {
        if lt == "set" || lt == "map" {
            if items.nullable {
                errs.push(FieldError::forbidden(
                    path::child(&path::child(pth, "items"), "nullable"),
                    format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
                ));
            }
            if lt == "map" {
                for k in &node.list_map_keys {
                    let Some(prop) = items.properties.get(k) else {
                        continue;
                    };
                    let prop_path =
                        path::key(&path::child(&path::child(pth, "items"), "properties"), k);
                    if !items.required.contains(k) && prop.default.is_none() {
                        errs.push(FieldError::required(
                            path::child(&prop_path, "default"),
                            "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                        ));
                    }
                    if prop.nullable {
                        errs.push(FieldError::forbidden(
                            path::child(&prop_path, "nullable"),
                            "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                        ));
                    }
                }
            }
        }
    }
    if node.preserve_unknown == Some(false) {
        errs.push(FieldError::invalid(
            path::child(pth, "x-kubernetes-preserve-unknown-fields"),
            Value::Bool(false),
            "must be true or undefined",
        ));
    }
}

const RULE_REASONS: [&str; 4] = [
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

fn check_rule_fields(node: &Node, pth: &str, errs: &mut Vec<FieldError>) {
    for (i, raw) in node.raw_rules.iter().enumerate() {
        let rp = path::index(&path::child(pth, "x-kubernetes-validations"), i);
        let Some(obj) = raw.as_object() else {
            errs.push(FieldError::invalid(&rp, raw.clone(), "must be an object"));
            continue;
        };
        let get = |k: &str| obj.get(k).and_then(Value::as_str);
        let rule = get("rule").unwrap_or("").trim().to_string();
        if rule.is_empty() {
            errs.push(FieldError::required(
                path::child(&rp, "rule"),
                "rule is not specified",
            ));
        }
        if let Some(m) = get("message") {
            if m.trim().is_empty() {
                errs.push(FieldError::invalid(
                    path::child(&rp, "message"),
                    Value::String(m.into()),
                    "message must be non-empty if specified",
                ));
            } else if m.contains('\n') {
                errs.push(FieldError::invalid(
                    path::child(&rp, "message"),
                    Value::String(m.into()),
                    "message must not contain line breaks",
                ));
            }
        } else if rule.contains('\n') {
            errs.push(FieldError::required(
                path::child(&rp, "message"),
                "message must be specified if rule contains line breaks",
            ));
        }
        if obj.contains_key("messageExpression")
            && get("messageExpression").unwrap_or("").trim().is_empty()
        {
            errs.push(FieldError::required(
                path::child(&rp, "messageExpression"),
                "messageExpression must be non-empty if specified",
            ));
        }
        if let Some(r) = get("reason") {
            if !RULE_REASONS.contains(&r) {
                let supported: Vec<String> = RULE_REASONS.iter().map(|s| s.to_string()).collect();
                errs.push(FieldError::not_supported(
                    path::child(&rp, "reason"),
                    Value::String(r.into()),
                    &supported,
                ));
            }
        }
        if let Some(fp) = get("fieldPath") {
            let fpp = path::child(&rp, "fieldPath");
            if fp.trim().is_empty() {
                errs.push(FieldError::invalid(
                    &fpp,
                    Value::String(fp.into()),
                    "fieldPath must be non-empty if specified",
                ));
            } else if fp.contains('\n') {
                errs.push(FieldError::invalid(
                    &fpp,
                    Value::String(fp.into()),
                    "fieldPath must not contain line breaks",
                ));
            } else if cel::normalize_field_path(node, fp).is_none() {
                errs.push(FieldError::invalid(
                    &fpp,
                    Value::String(fp.into()),
                    "fieldPath must be a valid path",
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Structurality (schema/validation.go and schema/complete.go).
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

pub(crate) fn check_structural(node: &Node, pth: &str, errs: &mut Vec<FieldError>) {
    invariants(node, Level::Root, pth, errs);
    completeness(node, pth, pth, errs);
}

fn is_int_or_string_any_of(list: &[Node]) -> bool {
    list.len() == 2
        && list[0].ty == "integer"
        && list[1].ty == "string"
        && list.iter().all(|n| n.keys.len() == 1)
}

fn invariants(s: &Node, lvl: Level, pth: &str, errs: &mut Vec<FieldError>) {
    if s.ty == "array" && s.items.is_none() {
        errs.push(FieldError::required(
            path::child(pth, "items"),
            "must be specified",
        ));
    }
    if let Some(items) = &s.items {
        invariants(items, Level::Item, &path::child(pth, "items"), errs);
    }
    for (k, v) in &s.properties {
        invariants(
            v,
            Level::Field,
            &path::key(&path::child(pth, "properties"), k),
            errs,
        );
    }
    if let Some(add) = &s.additional {
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(
                path::child(pth, "additionalProperties"),
                "must not be used at the root",
            ));
        }
        if let Additional::Schema(a) = add {
            invariants(
                a,
                Level::Field,
                &path::child(pth, "additionalProperties"),
                errs,
            );
        }
    }
    if s.int_or_string && s.preserves_unknown() {
        errs.push(FieldError::invalid(
            path::child(pth, "x-kubernetes-preserve-unknown-fields"),
            Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if s.int_or_string && s.embedded {
        errs.push(FieldError::invalid(
            path::child(pth, "x-kubernetes-embedded-resource"),
            Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    let skip_any_of = is_int_or_string_any_of(&s.any_of);
    let skip_first_all_of_any_of = s
        .all_of
        .first()
        .is_some_and(|a| is_int_or_string_any_of(&a.any_of));
    value_validation(s, skip_any_of, skip_first_all_of_any_of, pth, errs);

    let check_metadata = lvl == Level::Root || s.embedded;
    if s.embedded && s.ty != "object" {
        if s.ty.is_empty() {
            errs.push(FieldError::required(
                path::child(pth, "type"),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        } else {
            errs.push(FieldError::invalid(
                path::child(pth, "type"),
                Value::String(s.ty.clone()),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
    } else if s.ty.is_empty() && !s.int_or_string && !s.preserves_unknown() {
        let detail = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(path::child(pth, "type"), detail));
    }
    if s.embedded && s.additional.is_some() {
        errs.push(FieldError::forbidden(
            path::child(pth, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !s.ty.is_empty() && s.ty != "object" {
        errs.push(FieldError::invalid(
            path::child(pth, "type"),
            Value::String(s.ty.clone()),
            "must be object at the root",
        ));
    }
    for meta in ["kind", "apiVersion"] {
        if let Some(p) = s.properties.get(meta) {
            if check_metadata && p.ty != "string" {
                errs.push(FieldError::invalid(
                    path::child(&path::key(&path::child(pth, "properties"), meta), "type"),
                    Value::String(p.ty.clone()),
                    "must be string",
                ));
            }
        }
    }
    if let Some(metadata) = s.properties.get("metadata") {
        let mp = path::key(&path::child(pth, "properties"), "metadata");
        if check_metadata && metadata.ty != "object" {
            errs.push(FieldError::invalid(
                path::child(&mp, "type"),
                Value::String(metadata.ty.clone()),
                "must be object",
            ));
        }
        if lvl == Level::Root {
            let only_names = metadata
                .properties
                .keys()
                .all(|k| k == "name" || k == "generateName");
            let allowed =
                |k: &str| k == "type" || k == "default" || (k == "properties" && only_names);
            if metadata.keys.iter().any(|k| !allowed(k)) {
                errs.push(FieldError::forbidden(
                    &mp,
                    "must not specify anything other than name and generateName, but metadata is implicitly specified",
                ));
            }
        }
    }
    if s.embedded && !s.preserves_unknown() && s.properties.is_empty() {
        errs.push(FieldError::required(
            path::child(pth, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

fn value_validation(
    v: &Node,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    pth: &str,
    errs: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, n) in v.any_of.iter().enumerate() {
            nested(n, false, &path::index(&path::child(pth, "anyOf"), i), errs);
        }
    }
    for (i, n) in v.all_of.iter().enumerate() {
        nested(
            n,
            skip_first_all_of_any_of && i == 0,
            &path::index(&path::child(pth, "allOf"), i),
            errs,
        );
    }
    for (i, n) in v.one_of.iter().enumerate() {
        nested(n, false, &path::index(&path::child(pth, "oneOf"), i), errs);
    }
    if let Some(n) = &v.not {
        nested(n, false, &path::child(pth, "not"), errs);
    }
}

fn nested(v: &Node, skip_any_of: bool, pth: &str, errs: &mut Vec<FieldError>) {
    value_validation(v, skip_any_of, false, pth, errs);
    if let Some(items) = &v.items {
        nested(items, false, &path::child(pth, "items"), errs);
    }
    for (k, f) in &v.properties {
        nested(
            f,
            false,
            &path::key(&path::child(pth, "properties"), k),
            errs,
        );
    }
    let forbid = |errs: &mut Vec<FieldError>, key: &str, detail: &str| {
        errs.push(FieldError::forbidden(path::child(pth, key), detail));
    };
    if !v.ty.is_empty() {
        forbid(errs, "type", "must be empty to be structural");
    }
    if v.additional.is_some() {
        forbid(
            errs,
            "additionalProperties",
            "must be undefined to be structural",
        );
    }
    if v.default.is_some() {
        forbid(errs, "default", "must be undefined to be structural");
    }
    if v.keys.contains("title") {
        forbid(errs, "title", "must be empty to be structural");
    }
    if v.keys.contains("description") {
        forbid(errs, "description", "must be empty to be structural");
    }
    if v.nullable {
        forbid(errs, "nullable", "must be false to be structural");
    }
    if v.keys.contains("externalDocs") {
        forbid(errs, "externalDocs", "must be undefined to be structural");
    }
    if v.preserves_unknown() {
        forbid(
            errs,
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        );
    }
    if v.embedded {
        forbid(
            errs,
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        );
    }
    if v.int_or_string {
        forbid(
            errs,
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        );
    }
    if !v.list_map_keys.is_empty() {
        forbid(
            errs,
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    if v.list_type.is_some() {
        forbid(
            errs,
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        );
    }
    if v.map_type.is_some() {
        forbid(
            errs,
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        );
    }
    if !v.raw_rules.is_empty() {
        forbid(
            errs,
            "x-kubernetes-validations",
            "must be empty to be structural",
        );
    }
    if v.properties.contains_key("metadata") {
        errs.push(FieldError::forbidden(
            path::key(&path::child(pth, "properties"), "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// Every field or array named in a value validation must also be specified structurally.
/// Like the real server, only the root's value validations are checked.
fn completeness(s: &Node, s_path: &str, v_path: &str, errs: &mut Vec<FieldError>) {
    if let Some(n) = &s.not {
        nested_completeness(n, Some(s), s_path, &path::child(v_path, "not"), errs);
    }
    for (kw, list) in [
        ("allOf", &s.all_of),
        ("anyOf", &s.any_of),
        ("oneOf", &s.one_of),
    ] {
        for (i, n) in list.iter().enumerate() {
            nested_completeness(
                n,
                Some(s),
                s_path,
                &path::index(&path::child(v_path, kw), i),
                errs,
            );
        }
    }
}

fn nested_completeness(
    v: &Node,
    s: Option<&Node>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        errs.push(FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        ));
        return;
    };
    if let Some(n) = &v.not {
        nested_completeness(n, Some(s), s_path, &path::child(v_path, "not"), errs);
    }
    for (kw, list) in [
        ("allOf", &v.all_of),
        ("anyOf", &v.any_of),
        ("oneOf", &v.one_of),
    ] {
        for (i, n) in list.iter().enumerate() {
            nested_completeness(
                n,
                Some(s),
                s_path,
                &path::index(&path::child(v_path, kw), i),
                errs,
            );
        }
    }
    if let Some(items) = &v.items {
        nested_completeness(
            items,
            s.items.as_deref(),
            &path::child(s_path, "items"),
            &path::child(v_path, "items"),
            errs,
        );
    }
    for (k, vf) in &v.properties {
        let vp = path::key(&path::child(v_path, "properties"), k);
        let sp = path::key(&path::child(s_path, "properties"), k);
        match s.properties.get(k) {
            Some(sf) => nested_completeness(vf, Some(sf), &sp, &vp, errs),
            None => errs.push(FieldError::required(
                &sp,
                format!("because it is defined in {vp}"),
            )),
        }
    }
}

/// Sorts errors the way `ValidateStructural` does: by their full text.
pub(crate) fn sort_errors(errs: &mut [FieldError]) {
    errs.sort_by_cached_key(|e| e.to_string());
}
