//! Builds [`TypeNode`]s from OpenAPI schemas, the way kube-openapi's `schemaconv` turns
//! OpenAPI into structured-merge-diff types (and strategic merge reads the patch
//! extensions).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use thiserror::Error;

use super::{Field, ListKind, ListType, MapType, PatchMeta, PatchStrategy, TypeNode, TypeRef};

/// A schema this crate cannot turn into type information.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchemaError {
    /// A `$ref` names no definition.
    #[error("unable to resolve {0}")]
    UnresolvedRef(String),
    /// An `x-kubernetes-*` extension has a value kube-apiserver would refuse.
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the schema.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The schema nests deeper than [`crate::MAX_DEPTH`].
    #[error("schema is nested deeper than {0} levels")]
    TooDeep(usize),
}

/// Collects nodes; named definitions are parsed on first reference.
pub(crate) struct Builder<'d> {
    pub nodes: Vec<TypeNode>,
    named: HashMap<String, TypeRef>,
    definitions: &'d Map<String, Value>,
    pending: Vec<(String, TypeRef)>,
}

const REF_PREFIXES: [&str; 2] = ["#/components/schemas/", "#/definitions/"];

fn ref_name(s: &str) -> &str {
    REF_PREFIXES
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s)
}

/// The `$ref` of a schema, directly or as the single member of `allOf`.
fn schema_ref(schema: &Map<String, Value>) -> Option<&str> {
    if let Some(Value::String(r)) = schema.get("$ref") {
        return Some(ref_name(r));
    }
    match schema.get("allOf") {
        Some(Value::Array(all)) if all.len() == 1 => match all[0].get("$ref") {
            Some(Value::String(r)) => Some(ref_name(r)),
            _ => None,
        },
        _ => None,
    }
}

impl<'d> Builder<'d> {
    pub fn new(definitions: &'d Map<String, Value>) -> Builder<'d> {
        Builder {
            nodes: Vec::new(),
            named: HashMap::new(),
            definitions,
            pending: Vec::new(),
        }
    }

    fn push(&mut self, node: TypeNode) -> TypeRef {
        let id = self.nodes.len() as u32 + TypeRef::FIRST_USER_ID;
        self.nodes.push(node);
        TypeRef::new(id)
    }

    fn set(&mut self, ty: TypeRef, node: TypeNode) {
        let index = (ty.id() - TypeRef::FIRST_USER_ID) as usize;
        if let Some(slot) = self.nodes.get_mut(index) {
            *slot = node;
        }
    }

    /// The node of definition `name`, parsing it (and what it references) if needed.
    pub fn named(&mut self, name: &str) -> Result<TypeRef, SchemaError> {
        if let Some(t) = self.named.get(name) {
            return Ok(*t);
        }
        if !self.definitions.contains_key(name) {
            return Err(SchemaError::UnresolvedRef(name.to_string()));
        }
        let ty = self.push(TypeNode::default());
        self.named.insert(name.to_string(), ty);
        self.pending.push((name.to_string(), ty));
        Ok(ty)
    }

    /// Parses every definition referenced so far but not parsed yet.
    pub fn finish(&mut self) -> Result<(), SchemaError> {
        while let Some((name, ty)) = self.pending.pop() {
            let schema = match self.definitions.get(&name) {
                Some(Value::Object(s)) => s,
                _ => return Err(SchemaError::UnresolvedRef(name)),
            };
            let node = match name.as_str() {
                // schemaconv: a Quantity is an untyped scalar; a RawExtension is untyped.
                "io.k8s.apimachinery.pkg.api.resource.Quantity" => TypeNode {
                    scalar: true,
                    list: None,
                    map: None,
                },
                "io.k8s.apimachinery.pkg.runtime.RawExtension" => {
                    super::resolve_static(TypeRef::UNTYPED).clone()
                }
                _ => self.atom(schema, false, &name, 0)?,
            };
            self.set(ty, node);
        }
        Ok(())
    }

    /// A reference for the schema of a property, `items` or `additionalProperties`.
    pub fn reference(
        &mut self,
        schema: &Map<String, Value>,
        preserve: bool,
        path: &str,
        depth: usize,
    ) -> Result<TypeRef, SchemaError> {
        if depth > crate::MAX_DEPTH {
            return Err(SchemaError::TooDeep(crate::MAX_DEPTH));
        }
        if let Some(name) = schema_ref(schema) {
            let ty = self.named(name)?;
            return Ok(match map_type(schema, path)? {
                Some(atomic) => ty.with_map_atomic(atomic),
                None => ty,
            });
        }
        let node = self.atom(schema, preserve, path, depth)?;
        Ok(self.push(node))
    }

    pub fn atom(
        &mut self,
        schema: &Map<String, Value>,
        preserve: bool,
        path: &str,
        depth: usize,
    ) -> Result<TypeNode, SchemaError> {
        let preserve = preserve
            || schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let typ = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts.first().and_then(Value::as_str).unwrap_or(""),
            _ => "",
        };
        Ok(match typ {
            "" => TypeNode {
                scalar: true,
                list: Some(self.list(schema, path, depth)?),
                map: Some(self.object(schema, preserve, path, depth)?),
            },
            "object" => TypeNode {
                scalar: false,
                list: None,
                map: Some(self.object(schema, preserve, path, depth)?),
            },
            "array" => TypeNode {
                scalar: false,
                list: Some(self.list(schema, path, depth)?),
                map: None,
            },
            _ => TypeNode {
                scalar: true,
                list: None,
                map: None,
            },
        })
    }

    fn object(
        &mut self,
        schema: &Map<String, Value>,
        preserve: bool,
        path: &str,
        depth: usize,
    ) -> Result<MapType, SchemaError> {
        let mut fields = BTreeMap::new();
        let properties = match schema.get("properties") {
            Some(Value::Object(p)) => Some(p),
            _ => None,
        };
        if let Some(props) = properties {
            for (name, prop) in props {
                let Value::Object(prop) = prop else { continue };
                let field_path = format!("{path}.{name}");
                let ty = self.reference(prop, preserve, &field_path, depth + 1)?;
                fields.insert(
                    name.clone(),
                    Field {
                        ty,
                        default: prop.get("default").cloned(),
                        patch: patch_meta(prop, &field_path)?,
                    },
                );
            }
        }
        let no_properties = properties.is_none_or(|p| p.is_empty());
        let elements = match schema.get("additionalProperties") {
            None | Some(Value::Null) => (preserve || no_properties).then_some(TypeRef::DEDUCED),
            Some(Value::Object(ap)) => {
                Some(self.reference(ap, preserve, &format!("{path}.*"), depth + 1)?)
            }
            Some(Value::Bool(true)) => Some(TypeRef::DEDUCED),
            Some(_) => None,
        };
        Ok(MapType {
            fields,
            elements,
            atomic: map_type(schema, path)? == Some(true),
        })
    }

    fn list(
        &mut self,
        schema: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Result<ListType, SchemaError> {
        let kind = list_kind(schema, path)?;
        let items = match schema.get("items") {
            Some(Value::Object(items)) => {
                self.reference(items, false, &format!("{path}[]"), depth + 1)?
            }
            Some(Value::Array(items)) if items.len() == 1 => match &items[0] {
                Value::Object(items) => {
                    self.reference(items, false, &format!("{path}[]"), depth + 1)?
                }
                _ => TypeRef::DEDUCED,
            },
            _ => TypeRef::UNTYPED,
        };
        Ok(ListType { items, kind })
    }
}

fn invalid(path: &str, message: impl Into<String>) -> SchemaError {
    SchemaError::Invalid {
        path: if path.is_empty() {
            ".".into()
        } else {
            path.into()
        },
        message: message.into(),
    }
}

/// `x-kubernetes-map-type`: `Some(true)` atomic, `Some(false)` granular.
fn map_type(schema: &Map<String, Value>, path: &str) -> Result<Option<bool>, SchemaError> {
    match schema.get("x-kubernetes-map-type") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "atomic" => Ok(Some(true)),
        Some(Value::String(s)) if s == "granular" => Ok(Some(false)),
        Some(other) => Err(invalid(path, format!("unknown map type {other}"))),
    }
}

/// structured-merge-diff's list kind: `x-kubernetes-list-type` first, then the patch
/// strategy (a `merge` list is associative, keyed by its merge key).
fn list_kind(schema: &Map<String, Value>, path: &str) -> Result<ListKind, SchemaError> {
    if let Some(t) = schema
        .get("x-kubernetes-list-type")
        .filter(|v| !v.is_null())
    {
        return match t.as_str() {
            Some("atomic") => Ok(ListKind::Atomic),
            Some("set") => Ok(ListKind::Set),
            Some("map") => {
                let keys = match schema.get("x-kubernetes-list-map-keys") {
                    Some(Value::Array(keys)) => keys
                        .iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect::<Vec<_>>(),
                    _ => return Err(invalid(path, "missing map keys")),
                };
                if keys.is_empty() {
                    return Ok(ListKind::Set);
                }
                Ok(ListKind::Map { keys })
            }
            _ => Err(invalid(path, format!("unknown list type {t}"))),
        };
    }
    if let Some(strategy) = schema
        .get("x-kubernetes-patch-strategy")
        .and_then(Value::as_str)
    {
        return match strategy {
            "merge" | "merge,retainKeys" => match schema.get("x-kubernetes-patch-merge-key") {
                Some(Value::String(key)) => Ok(ListKind::Map {
                    keys: vec![key.clone()],
                }),
                Some(other) => Err(invalid(path, format!("uninterpreted merge key: {other}"))),
                None => Ok(ListKind::Set),
            },
            "retainKeys" => Ok(ListKind::Atomic),
            other => Err(invalid(path, format!("unknown patch strategy {other}"))),
        };
    }
    Ok(ListKind::Atomic)
}

/// The strategic-merge metadata of a property.
fn patch_meta(prop: &Map<String, Value>, path: &str) -> Result<PatchMeta, SchemaError> {
    let mut meta = PatchMeta {
        merge_key: prop
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..PatchMeta::default()
    };
    let Some(strategies) = prop
        .get("x-kubernetes-patch-strategy")
        .and_then(Value::as_str)
    else {
        return Ok(meta);
    };
    let parts: Vec<&str> = strategies.split(',').collect();
    let other = match parts.as_slice() {
        [one] if *one == "retainKeys" => {
            meta.retain_keys = true;
            ""
        }
        [one] => one,
        [a, b] if *a == "retainKeys" => {
            meta.retain_keys = true;
            b
        }
        [a, b] if *b == "retainKeys" => {
            meta.retain_keys = true;
            a
        }
        _ => {
            return Err(invalid(
                path,
                format!("unexpected patch strategy: {strategies}"),
            ));
        }
    };
    meta.strategy = match other {
        "merge" => Some(PatchStrategy::Merge),
        "replace" => Some(PatchStrategy::Replace),
        _ => None,
    };
    Ok(meta)
}
