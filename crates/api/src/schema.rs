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
            // controller-gen lists required properties alphabetically.
            if let Some(Value::Array(required)) = object.get_mut("required") {
                required.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
                required.dedup();
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

/// What Kubernetes' published OpenAPI (and so controller-gen) says about core types that
/// k8s-openapi's generated `JsonSchema` impls leave out or state differently: list and map
/// types, defaults, optional `name`s of local object references, the `resource.Quantity`
/// form and embedded `ObjectMeta` (not expanded). Applied to definitions by name.
///
/// `x-kubernetes-map-type: atomic` matters for server-side apply (the object is replaced
/// as a whole); `x-kubernetes-list-type: atomic` is the default for lists and is added so
/// the generated CRDs match upstream's byte for byte.
fn core_patches() -> Vec<(&'static str, &'static str, Patch)> {
    use Patch::{Remove, Replace, Set};
    let atomic_map = || Set("x-kubernetes-map-type", json!("atomic"));
    let atomic_list = || Set("x-kubernetes-list-type", json!("atomic"));
    let empty_name = || Set(FERRY_DEFAULT, json!(""));
    vec![
        ("io.k8s.api.core.v1.ObjectReference", "", atomic_map()),
        ("io.k8s.api.core.v1.LocalObjectReference", "", atomic_map()),
        (
            "io.k8s.api.core.v1.LocalObjectReference",
            "",
            Remove("required"),
        ),
        (
            "io.k8s.api.core.v1.LocalObjectReference",
            "/properties/name",
            empty_name(),
        ),
        (
            "io.k8s.api.core.v1.TypedLocalObjectReference",
            "",
            atomic_map(),
        ),
        ("io.k8s.api.core.v1.ObjectFieldSelector", "", atomic_map()),
        ("io.k8s.api.core.v1.ResourceFieldSelector", "", atomic_map()),
        // Affinity.
        ("io.k8s.api.core.v1.NodeSelector", "", atomic_map()),
        (
            "io.k8s.api.core.v1.NodeSelector",
            "/properties/nodeSelectorTerms",
            atomic_list(),
        ),
        ("io.k8s.api.core.v1.NodeSelectorTerm", "", atomic_map()),
        (
            "io.k8s.api.core.v1.NodeSelectorTerm",
            "/properties/matchExpressions",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.NodeSelectorTerm",
            "/properties/matchFields",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.NodeSelectorRequirement",
            "/properties/values",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.NodeAffinity",
            "/properties/preferredDuringSchedulingIgnoredDuringExecution",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.PodAffinity",
            "/properties/preferredDuringSchedulingIgnoredDuringExecution",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.PodAffinity",
            "/properties/requiredDuringSchedulingIgnoredDuringExecution",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.PodAntiAffinity",
            "/properties/preferredDuringSchedulingIgnoredDuringExecution",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.PodAntiAffinity",
            "/properties/requiredDuringSchedulingIgnoredDuringExecution",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.PodAffinityTerm",
            "/properties/matchLabelKeys",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.PodAffinityTerm",
            "/properties/mismatchLabelKeys",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.PodAffinityTerm",
            "/properties/namespaces",
            atomic_list(),
        ),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
            "",
            atomic_map(),
        ),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
            "/properties/matchExpressions",
            atomic_list(),
        ),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
            "/properties/values",
            atomic_list(),
        ),
        // Volumes.
        (
            "io.k8s.api.core.v1.AzureDiskVolumeSource",
            "/properties/fsType",
            Set(FERRY_DEFAULT, json!("ext4")),
        ),
        (
            "io.k8s.api.core.v1.AzureDiskVolumeSource",
            "/properties/readOnly",
            Set(FERRY_DEFAULT, json!(false)),
        ),
        (
            "io.k8s.api.core.v1.CephFSVolumeSource",
            "/properties/monitors",
            atomic_list(),
        ),
        ("io.k8s.api.core.v1.ConfigMapVolumeSource", "", atomic_map()),
        (
            "io.k8s.api.core.v1.ConfigMapVolumeSource",
            "",
            Remove("required"),
        ),
        (
            "io.k8s.api.core.v1.ConfigMapVolumeSource",
            "/properties/name",
            empty_name(),
        ),
        (
            "io.k8s.api.core.v1.ConfigMapVolumeSource",
            "/properties/items",
            atomic_list(),
        ),
        ("io.k8s.api.core.v1.ConfigMapProjection", "", atomic_map()),
        (
            "io.k8s.api.core.v1.ConfigMapProjection",
            "",
            Remove("required"),
        ),
        (
            "io.k8s.api.core.v1.ConfigMapProjection",
            "/properties/name",
            empty_name(),
        ),
        (
            "io.k8s.api.core.v1.ConfigMapProjection",
            "/properties/items",
            atomic_list(),
        ),
        ("io.k8s.api.core.v1.SecretProjection", "", atomic_map()),
        (
            "io.k8s.api.core.v1.SecretProjection",
            "",
            Remove("required"),
        ),
        (
            "io.k8s.api.core.v1.SecretProjection",
            "/properties/name",
            empty_name(),
        ),
        (
            "io.k8s.api.core.v1.SecretProjection",
            "/properties/items",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.SecretVolumeSource",
            "/properties/items",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.DownwardAPIVolumeSource",
            "/properties/items",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.DownwardAPIProjection",
            "/properties/items",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.ProjectedVolumeSource",
            "/properties/sources",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.FCVolumeSource",
            "/properties/targetWWNs",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.FCVolumeSource",
            "/properties/wwids",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.ISCSIVolumeSource",
            "/properties/portals",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.ISCSIVolumeSource",
            "/properties/iscsiInterface",
            Set(FERRY_DEFAULT, json!("default")),
        ),
        (
            "io.k8s.api.core.v1.RBDVolumeSource",
            "/properties/monitors",
            atomic_list(),
        ),
        (
            "io.k8s.api.core.v1.RBDVolumeSource",
            "/properties/keyring",
            Set(FERRY_DEFAULT, json!("/etc/ceph/keyring")),
        ),
        (
            "io.k8s.api.core.v1.RBDVolumeSource",
            "/properties/pool",
            Set(FERRY_DEFAULT, json!("rbd")),
        ),
        (
            "io.k8s.api.core.v1.RBDVolumeSource",
            "/properties/user",
            Set(FERRY_DEFAULT, json!("admin")),
        ),
        (
            "io.k8s.api.core.v1.ScaleIOVolumeSource",
            "/properties/fsType",
            Set(FERRY_DEFAULT, json!("xfs")),
        ),
        (
            "io.k8s.api.core.v1.ScaleIOVolumeSource",
            "/properties/storageMode",
            Set(FERRY_DEFAULT, json!("ThinProvisioned")),
        ),
        (
            "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
            "/properties/accessModes",
            atomic_list(),
        ),
        // controller-gen's form of `resource.Quantity`.
        (
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            "",
            Replace(json!({
                "anyOf": [{ "type": "integer" }, { "type": "string" }],
                "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
                "x-kubernetes-int-or-string": true,
            })),
        ),
        // Embedded object metadata is not expanded.
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "",
            Replace(json!({ "type": "object" })),
        ),
    ]
}

/// A change to a definition.
enum Patch {
    /// Set a key.
    Set(&'static str, Value),
    /// Remove a key.
    Remove(&'static str),
    /// Replace the whole schema.
    Replace(Value),
}

fn core_markers(definitions: &mut Map<String, Value>) {
    for (definition, pointer, patch) in core_patches() {
        let Some(target) = definitions
            .get_mut(definition)
            .and_then(|d| d.pointer_mut(pointer))
        else {
            continue;
        };
        match patch {
            Patch::Replace(value) => *target = value,
            Patch::Set(key, value) => {
                if let Value::Object(object) = target {
                    object.insert(key.to_string(), value);
                }
            }
            Patch::Remove(key) => {
                if let Value::Object(object) = target {
                    object.remove(key);
                }
            }
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
