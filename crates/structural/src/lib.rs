//! Structural OpenAPI v3 schemas as a Kubernetes API server (apiextensions-apiserver)
//! applies them to custom resources: refusing non-structural CRD schemas, pruning unknown
//! fields, defaulting, validation with the server's exact field-path causes and messages,
//! `x-kubernetes-validations` (CEL), list types for patching, and printer columns.
//!
//! # How the API server uses it
//!
//! ```text
//! let schema = Schema::compile_at(&version.schema.openAPIV3Schema,
//!                                 "spec.versions[0].schema.openAPIV3Schema")?;  // CRD create/update
//! // request body decoded into `obj` (JSON):
//! let unknown = schema.prune(&mut obj);   // fieldValidation=Warn/Strict: `unknown field "spec.foo"`
//! schema.apply_defaults(&mut obj);        // also on every read from storage
//! let causes = schema.validate(&obj, old.as_ref());   // `old` on update (ratcheting, oldSelf)
//! if !causes.is_empty() {
//!     // 422: status.message = invalid_message(kind, group, name, &causes)
//!     //      status.details.causes[i] = {reason: c.reason(), message: c.message(), field: c.field}
//! }
//! ```
//!
//! The root `apiVersion`/`kind`/`metadata` are the server's business (type-meta checks and
//! `ObjectMeta` validation); this crate keeps them through pruning and checks embedded
//! resources below the root. [`coerce_object_meta`] is the `ObjectMeta` round-trip the
//! server can reuse for the root.
//!
//! # Fidelity notes
//!
//! Messages come from kube-openapi, apimachinery `field` errors and apiextensions as of
//! Kubernetes 1.33. Where the real server iterates Go maps (property errors, CRD schema
//! errors), the order here is sorted by name, which the real server does not guarantee.

#![forbid(unsafe_code)]
// Nested `if`s and boolean shapes mirror the upstream checks one to one; keep them readable.
#![allow(
    clippy::collapsible_if,
    clippy::collapsible_match,
    clippy::nonminimal_bool
)]

mod cel;
mod default;
mod error;
mod formats;
mod gofmt;
mod listtype;
mod objectmeta;
mod path;
pub mod printer;
mod prune;
mod regex_compat;
mod rules;
mod schema;
mod validate;

pub use error::{FieldError, FieldErrorKind, SchemaErrors, invalid_message};
pub use objectmeta::coerce_object_meta;
pub use path::PathElement;

use schema::{Additional, Node};
use serde_json::Value;

/// Objects nesting deeper than this are refused by `validate` and left alone by `prune` and
/// `apply_defaults` below that depth (no recursion on input beyond it).
pub const MAX_DATA_DEPTH: usize = 200;

/// The list semantics declared by `x-kubernetes-list-type` (atomic when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// Scalar items, each present at most once; merged as a set.
    Set,
    /// Object items identified by the values of these key fields; merged by key.
    Map {
        /// `x-kubernetes-list-map-keys`.
        keys: Vec<String>,
    },
}

/// The map semantics declared by `x-kubernetes-map-type` (granular when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// Fields are merged individually.
    Granular,
    /// Replaced as a whole.
    Atomic,
}

/// A compiled structural schema: one CRD version's `openAPIV3Schema`.
#[derive(Debug, Clone)]
pub struct Schema {
    root: Node,
}

/// JSON text with sorted keys, used to compare compound values.
pub(crate) fn canonical_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Whether `v` nests deeper than `max` (checked without recursion).
fn nests_deeper_than(v: &Value, max: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((x, d)) = stack.pop() {
        if d > max {
            return true;
        }
        match x {
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    false
}

impl Schema {
    /// Compiles a CRD version's `openAPIV3Schema`, refusing what the real server refuses
    /// (non-structural schemas, forbidden keywords, invalid list types, invalid patterns,
    /// defaults that do not validate, CEL rules that do not compile). Errors carry field paths
    /// under `openAPIV3Schema`; use [`Schema::compile_at`] to put them under the CRD's path.
    ///
    /// A rule that uses CEL this crate cannot evaluate is refused too, with a
    /// `FieldValueForbidden` cause that says so: a CRD is never served with a rule skipped.
    pub fn compile(openapi_v3_schema: &Value) -> Result<Schema, SchemaErrors> {
        Schema::compile_at(openapi_v3_schema, "openAPIV3Schema")
    }

    /// [`Schema::compile`] with errors under `path`, e.g.
    /// `spec.versions[0].schema.openAPIV3Schema` or `spec.validation.openAPIV3Schema`.
    pub fn compile_at(openapi_v3_schema: &Value, path: &str) -> Result<Schema, SchemaErrors> {
        let mut errs = Vec::new();
        let mut root = schema::parse(openapi_v3_schema, path, 0, &mut errs);
        if !errs.is_empty() {
            schema::sort_errors(&mut errs);
            return Err(SchemaErrors { errors: errs });
        }
        schema::check_crd_schema(&root, path, true, &mut errs);
        let mut structural = Vec::new();
        schema::check_structural(&root, path, &mut structural);
        schema::sort_errors(&mut structural);
        schema::sort_errors(&mut errs);
        errs.extend(structural);
        if errs.is_empty() {
            compile_rules(&mut root, path, true, true, &mut errs);
        }
        if errs.is_empty() {
            check_defaults(&root, path, &mut errs);
        }
        if errs.is_empty() {
            Ok(Schema { root })
        } else {
            Err(SchemaErrors { errors: errs })
        }
    }

    /// Removes fields the schema does not know, as the server does when decoding a request or
    /// reading from storage: honours `x-kubernetes-preserve-unknown-fields`, keeps the root's
    /// and embedded resources' `apiVersion`/`kind`/`metadata`, drops non-nullable `null`s that
    /// have no default, and coerces embedded resources' `metadata` to `ObjectMeta`.
    /// Returns the pruned paths (`spec.foo`, `spec.list[0].bar`), sorted, for
    /// `fieldValidation=Warn` (`unknown field "spec.foo"`) and `Strict`.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        if nests_deeper_than(obj, MAX_DATA_DEPTH) {
            return Vec::new();
        }
        prune::prune(&self.root, obj)
    }

    /// Applies `default`s (after pruning; on write and on every read): a property's default
    /// fills it when absent, or when it is `null` and not `nullable`; `null` map values and
    /// list items take their schema's default.
    pub fn apply_defaults(&self, obj: &mut Value) {
        if nests_deeper_than(obj, MAX_DATA_DEPTH) {
            return;
        }
        default::apply(obj, &self.root, 0);
    }

    /// Validates a custom resource (after pruning and defaulting). `old` is the stored object
    /// on update: it enables transition rules (`oldSelf`) and ratcheting (errors in values
    /// unchanged since `old` are not reported). Returns the status causes in the server's
    /// order: schema errors, embedded resources, list-type duplicates, then CEL rules (which
    /// are skipped, with one explaining cause, when the object already has a blocking error).
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        if nests_deeper_than(obj, MAX_DATA_DEPTH)
            || old.is_some_and(|o| nests_deeper_than(o, MAX_DATA_DEPTH))
        {
            return vec![FieldError::invalid(
                "<nil>",
                Value::String(String::new()),
                format!("object nests deeper than {MAX_DATA_DEPTH} levels"),
            )];
        }
        let mut errs = validate::validate(&self.root, obj, old, None);
        objectmeta::validate(&self.root, obj, "", 0, &mut errs);
        if let Value::Object(map) = obj {
            let old_ok = match old.and_then(Value::as_object) {
                Some(old_map) => {
                    let mut old_errs = Vec::new();
                    listtype::validate(&self.root, old_map, "", &mut old_errs);
                    old_errs.is_empty()
                }
                None => true,
            };
            if old_ok {
                listtype::validate(&self.root, map, "", &mut errs);
            }
        }
        if has_rules(&self.root, 0) {
            let blocking = errs.iter().any(|e| {
                matches!(
                    e.kind,
                    FieldErrorKind::NotSupported
                        | FieldErrorKind::Required
                        | FieldErrorKind::TooLong
                        | FieldErrorKind::TooMany
                        | FieldErrorKind::TypeInvalid
                )
            });
            if blocking {
                errs.push(FieldError::invalid(
                    "<nil>",
                    Value::Null,
                    "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
                ));
            } else {
                errs.extend(rules::validate(&self.root, obj, old));
            }
        }
        errs
    }

    /// The list type of the array at `path` (from the root; `Index` steps into list items),
    /// or `None` when the path does not lead to an array in the schema. Arrays without
    /// `x-kubernetes-list-type` are [`ListType::Atomic`].
    pub fn list_type_at(&self, path: &[PathElement]) -> Option<ListType> {
        let node = self.node_at(path)?;
        if node.ty != "array" {
            return None;
        }
        Some(match node.list_type.as_deref() {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map {
                keys: node.list_map_keys.clone(),
            },
            _ => ListType::Atomic,
        })
    }

    /// The map type of the object at `path`, or `None` when the path does not lead to an
    /// object in the schema. Objects without `x-kubernetes-map-type` are granular.
    pub fn map_type_at(&self, path: &[PathElement]) -> Option<MapType> {
        let node = self.node_at(path)?;
        if node.ty != "object" {
            return None;
        }
        Some(match node.map_type.as_deref() {
            Some("atomic") => MapType::Atomic,
            _ => MapType::Granular,
        })
    }

    fn node_at(&self, path: &[PathElement]) -> Option<&Node> {
        let mut node = &self.root;
        for step in path {
            node = match step {
                PathElement::Field(name) => node.field_schema(name)?,
                PathElement::Index(_) => node.items.as_deref()?,
            };
        }
        Some(node)
    }
}

fn has_rules(node: &Node, depth: usize) -> bool {
    if depth > schema::MAX_SCHEMA_DEPTH {
        return false;
    }
    !node.rules.is_empty()
        || node.properties.values().any(|p| has_rules(p, depth + 1))
        || node
            .items
            .as_deref()
            .is_some_and(|i| has_rules(i, depth + 1))
        || matches!(&node.additional, Some(Additional::Schema(a)) if has_rules(a, depth + 1))
}

/// Compiles every node's `x-kubernetes-validations`. `correlatable` is false below lists
/// that are not `map` lists, where `oldSelf` cannot be used.
fn compile_rules(
    node: &mut Node,
    pth: &str,
    is_root: bool,
    correlatable: bool,
    errs: &mut Vec<FieldError>,
) {
    let raw = std::mem::take(&mut node.raw_rules);
    for (i, r) in raw.iter().enumerate() {
        let rp = path::index(&path::child(pth, "x-kubernetes-validations"), i);
        let get = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let source = get("rule").unwrap_or_default();
        if r.get("optionalOldSelf").and_then(Value::as_bool) == Some(true) {
            errs.push(FieldError::forbidden(
                path::child(&rp, "optionalOldSelf"),
                "optionalOldSelf is not supported by Ferry's CEL evaluator; the CRD is refused rather than served with the rule skipped",
            ));
            continue;
        }
        let program = match cel::compile(&source, node, is_root) {
            Ok(p) => p,
            Err(e) => {
                errs.push(compile_error(&path::child(&rp, "rule"), &source, e));
                continue;
            }
        };
        if program.uses_old_self && !correlatable {
            errs.push(FieldError::invalid(
                path::child(&rp, "rule"),
                Value::String(source.clone()),
                format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {pth}"),
            ));
            continue;
        }
        let message_expression = match get("messageExpression") {
            Some(src) => match cel::compile(&src, node, is_root) {
                Ok(p) => Some(p),
                Err(e) => {
                    errs.push(compile_error(
                        &path::child(&rp, "messageExpression"),
                        &src,
                        e,
                    ));
                    continue;
                }
            },
            None => None,
        };
        let field_path = get("fieldPath").and_then(|fp| cel::normalize_field_path(node, &fp));
        node.rules.push(schema::Rule {
            source,
            message: get("message"),
            message_expression,
            reason: get("reason"),
            field_path,
            program,
        });
    }
    node.raw_rules = raw;
    for (k, p) in node.properties.iter_mut() {
        let sp = path::key(&path::child(pth, "properties"), k);
        let corr = correlatable && node.map_type.as_deref() != Some("unknown");
        compile_rules(p, &sp, false, corr, errs);
    }
    if let Some(Additional::Schema(a)) = &mut node.additional {
        compile_rules(
            a,
            &path::child(pth, "additionalProperties"),
            false,
            correlatable,
            errs,
        );
    }
    let list_correlates = node.list_type.as_deref() == Some("map");
    if let Some(items) = &mut node.items {
        compile_rules(
            items,
            &path::child(pth, "items"),
            false,
            correlatable && list_correlates,
            errs,
        );
    }
}

fn compile_error(field: &str, source: &str, e: cel::CompileError) -> FieldError {
    match e {
        cel::CompileError::Invalid(msg) => FieldError::invalid(
            field,
            Value::String(source.to_string()),
            format!("compilation failed: {msg}"),
        ),
        cel::CompileError::Unsupported(what) => FieldError::forbidden(
            field,
            format!(
                "uses {what}, which Ferry's CEL evaluator does not support; the CRD is refused rather than served with the rule skipped"
            ),
        ),
    }
}

/// Every `default` must validate against its schema and survive pruning
/// (apiextensions' `defaulting.ValidateDefaults`).
fn check_defaults(node: &Node, pth: &str, errs: &mut Vec<FieldError>) {
    if let Some(default) = &node.default {
        let dp = path::child(pth, "default");
        let mut pruned = default.clone();
        let mut parent = Vec::new();
        let mut unknown = Vec::new();
        prune::prune_below_root(node, &mut pruned, &mut parent, &mut unknown);
        if pruned != *default {
            errs.push(FieldError::invalid(
                &dp,
                default.clone(),
                "must not have unknown fields",
            ));
        } else {
            let verrs = validate::validate(node, default, None, Some(&dp));
            let clean = verrs.is_empty();
            errs.extend(verrs);
            if clean {
                if let Value::Object(map) = default {
                    listtype::validate(node, map, &dp, errs);
                }
            }
        }
    }
    for (k, p) in &node.properties {
        check_defaults(p, &path::key(&path::child(pth, "properties"), k), errs);
    }
    if let Some(Additional::Schema(a)) = &node.additional {
        check_defaults(a, &path::child(pth, "additionalProperties"), errs);
    }
    if let Some(items) = &node.items {
        check_defaults(items, &path::child(pth, "items"), errs);
    }
}
