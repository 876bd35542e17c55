//! Turning schemars output into Kubernetes structural schemas shaped like controller-gen's.
//!
//! The pipeline, applied to a type's root schema:
//! 1. generate with schemars (draft-07, *serialize* contract: a field is required exactly
//!    when it is always serialized, which is controller-gen's rule for Go fields without
//!    `omitempty`), keeping definitions by name;
//! 2. add the `x-kubernetes-*` markers that Kubernetes' own OpenAPI carries for core types
//!    but k8s-openapi's schemas drop ([`core_markers`]);
//! 3. inline every `$ref` (CRD schemas cannot use references), letting the referring
//!    field's own keys (description, markers) win;
//! 4. normalize: `Option<T>` becomes plain `T` (upstream never marks fields nullable),
//!    schemars' serde-derived `default`s are dropped, and defaults declared for the CRD
//!    (`x-ferry-default`, set with [`crd_default`]) become `default`.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// The key a field uses to declare its CRD default; renamed to `default` at the end.
pub(crate) const FERRY_DEFAULT: &str = "x-ferry-default";

/// Why a schema could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A `$ref` names a definition that was not generated.
    #[error("schema reference {0:?} has no definition")]
    MissingDefinition(String),
    /// Inlining went deeper than any Forklift type nests (a recursive type).
    #[error("schema nesting exceeds {0} levels at {1:?}; recursive types cannot be inlined")]
    TooDeep(usize, String),
}

const MAX_DEPTH: usize = 64;

fn settings() -> SchemaSettings {
    SchemaSettings::draft07().with(|settings| {
        settings.meta_schema = None;
        settings.inline_subschemas = false;
        settings.contract = Contract::Serialize;
        settings.transforms = Vec::new();
    })
}

/// The structural schema of `T`, ready to be placed in a CRD.
pub(crate) fn structural<T: JsonSchema>() -> Result<Value, SchemaError> {
    let root = SchemaGenerator::new(settings()).into_root_schema_for::<T>();
    let mut root = root.to_value();
    let mut definitions = match root.as_object_mut().and_then(|o| o.remove("definitions")) {
        Some(Value::Object(definitions)) => definitions,
        _ => Map::new(),
    };
    core_markers(&mut definitions);
    let inlined = inline(&root, &definitions, 0, "")?;
    Ok(normalize(inlined))
}

fn inline(
    value: &Value,
    definitions: &Map<String, Value>,
    depth: usize,
    path: &str,
) -> Result<Value, SchemaError> {
    if depth > MAX_DEPTH {
        return Err(SchemaError::TooDeep(MAX_DEPTH, path.to_string()));
    }
    match value {
        Value::Object(object) => {
            let mut out = Map::new();
            if let Some(Value::String(reference)) = object.get("$ref") {
                let name = reference
                    .strip_prefix("#/definitions/")
                    .unwrap_or(reference.as_str());
                let target = definitions
                    .get(name)
                    .ok_or_else(|| SchemaError::MissingDefinition(reference.clone()))?;
                if let Value::Object(target) = inline(target, definitions, depth + 1, path)? {
                    out = target;
                }
            }
            for (key, child) in object {
                if key == "$ref" {
                    continue;
                }
                let child_path = format!("{path}/{key}");
                out.insert(
                    key.clone(),
                    inline(child, definitions, depth + 1, &child_path)?,
                );
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| inline(item, definitions, depth + 1, path))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Whether a schema is schemars' "null" branch of an `Option`.
fn is_null_schema(value: &Value) -> bool {
    value.get("type") == Some(&json!("null")) || value.get("const") == Some(&Value::Null)
}

fn normalize(value: Value) -> Value {
    match value {
        Value::Object(mut object) => {
            // `Option<T>`: anyOf [T, null] becomes T, the outer keys winning.
            if let Some(Value::Array(branches)) = object.get("anyOf") {
                let kept: Vec<&Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
                if kept.len() == 1 && kept.len() < branches.len() {
                    let mut merged = match kept[0].clone() {
                        Value::Object(inner) => inner,
                        _ => Map::new(),
                    };
                    object.remove("anyOf");
                    for (key, child) in std::mem::take(&mut object) {
                        merged.insert(key, child);
                    }
                    object = merged;
                }
            }
            // `type: [T, "null"]` becomes `type: T`.
            if let Some(Value::Array(types)) = object.get("type") {
                let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if kept.len() == 1 {
                    object.insert("type".into(), kept[0].clone());
                }
            }
            object.remove("default");
            object.remove("title");
            object.remove("$schema");
            if let Some(default) = object.remove(FERRY_DEFAULT) {
                object.insert("default".into(), default);
            }
            Value::Object(
                object
                    .into_iter()
                    .map(|(key, child)| {
                        // Keys whose values are not schemas are left alone.
                        let child = match key.as_str() {
                            "enum"
                            | "required"
                            | "x-kubernetes-validations"
                            | "default"
                            | "x-kubernetes-list-map-keys" => child,
                            "properties" => match child {
                                Value::Object(properties) => Value::Object(
                                    properties
                                        .into_iter()
                                        .map(|(name, schema)| (name, normalize(schema)))
                                        .collect(),
                                ),
                                other => other,
                            },
                            _ => normalize(child),
                        };
                        (key, child)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

/// Markers that Kubernetes' published OpenAPI (and so controller-gen) puts on core/v1
/// types, which k8s-openapi's generated `JsonSchema` impls leave out. Keyed by definition
/// name, then by JSON pointer inside the definition.
///
/// `x-kubernetes-map-type: atomic` matters for server-side apply (the object is replaced
/// as a whole); `x-kubernetes-list-type: atomic` is the default for lists and is added only
/// to match upstream byte for byte.
const CORE_MARKERS: &[(&str, &str, &str, &str)] = &[
    // (definition, pointer, key, value)
    (
        "io.k8s.api.core.v1.ObjectReference",
        "",
        "x-kubernetes-map-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.LocalObjectReference",
        "",
        "x-kubernetes-map-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.NodeSelector",
        "",
        "x-kubernetes-map-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.NodeSelector",
        "/properties/nodeSelectorTerms",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.NodeSelectorTerm",
        "",
        "x-kubernetes-map-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.NodeSelectorTerm",
        "/properties/matchExpressions",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.NodeSelectorTerm",
        "/properties/matchFields",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.NodeSelectorRequirement",
        "/properties/values",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.NodeAffinity",
        "/properties/preferredDuringSchedulingIgnoredDuringExecution",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.PodAffinity",
        "/properties/preferredDuringSchedulingIgnoredDuringExecution",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.PodAffinity",
        "/properties/requiredDuringSchedulingIgnoredDuringExecution",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.PodAntiAffinity",
        "/properties/preferredDuringSchedulingIgnoredDuringExecution",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.PodAntiAffinity",
        "/properties/requiredDuringSchedulingIgnoredDuringExecution",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.PodAffinityTerm",
        "/properties/matchLabelKeys",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.PodAffinityTerm",
        "/properties/mismatchLabelKeys",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.api.core.v1.PodAffinityTerm",
        "/properties/namespaces",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "",
        "x-kubernetes-map-type",
        "atomic",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "/properties/matchExpressions",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
        "/properties/values",
        "x-kubernetes-list-type",
        "atomic",
    ),
];

fn core_markers(definitions: &mut Map<String, Value>) {
    for (definition, pointer, key, value) in CORE_MARKERS {
        if let Some(Value::Object(target)) = definitions
            .get_mut(*definition)
            .and_then(|d| d.pointer_mut(pointer))
        {
            target.insert((*key).to_string(), json!(value));
        }
    }
}

/// Field schema for a Go `int` (or `*int`): `type: integer` without a format.
pub(crate) fn go_int(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({ "type": "integer" })
}

/// Field schema for a free-form object whose unknown fields the API server keeps.
pub(crate) fn preserve_unknown_fields(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}
