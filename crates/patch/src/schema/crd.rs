//! Type information for custom resources, from a CRD version's `openAPIV3Schema`, as
//! apiextensions-apiserver builds it for server-side apply: the user's structural
//! schema, with `apiVersion`, `kind` and the built-in `ObjectMeta` as `metadata` (also
//! inside `x-kubernetes-embedded-resource` objects).

use serde_json::{Map, Value, json};

use super::builtin::DATA_PARSED;
use super::openapi::Builder;
use super::{Schema, SchemaError};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

impl Schema {
    /// Type information for the custom resources of one CRD version.
    ///
    /// `open_api_v3_schema` is `spec.versions[].schema.openAPIV3Schema` (or the
    /// deprecated top-level `spec.validation.openAPIV3Schema`); `None` when the version
    /// has no schema, which makes everything deduced (objects granular, lists atomic).
    /// `preserve_unknown_fields` is the CRD's `spec.preserveUnknownFields` (always
    /// `false` for `apiextensions.k8s.io/v1`).
    ///
    /// Lists default to atomic, as for every CRD: only `x-kubernetes-list-type` makes
    /// them sets or maps. Strategic merge patch is not supported
    /// ([`super::TypeInfo::supports_strategic_merge`] is `false`).
    pub fn for_custom_resource(
        open_api_v3_schema: Option<&Value>,
        preserve_unknown_fields: bool,
    ) -> Result<Schema, SchemaError> {
        let data = &*DATA_PARSED;
        let mut builder = Builder::new(&data.definitions);
        let root_schema = match open_api_v3_schema {
            Some(s) => {
                if crate::depth_within(s, crate::MAX_DEPTH).is_none() {
                    return Err(SchemaError::TooDeep(crate::MAX_DEPTH));
                }
                let mut s = s.clone();
                add_kube_native(&mut s, true);
                s
            }
            None => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        };
        let Value::Object(root_schema) = root_schema else {
            return Err(SchemaError::Invalid {
                path: ".".into(),
                message: "openAPIV3Schema must be an object".into(),
            });
        };
        let root = builder.reference(&root_schema, preserve_unknown_fields, "", 0)?;
        builder.finish()?;
        Ok(Schema {
            nodes: builder.nodes.into(),
            root,
            strategic_merge: false,
            empty: None,
        })
    }
}

impl Schema {
    /// Type information from arbitrary OpenAPI definitions (v2 `definitions` or v3
    /// `components.schemas` style, `$ref`s by name or by `#/...` path), rooted at
    /// definition `root`. Set `strategic_merge` when the definitions carry the
    /// `x-kubernetes-patch-*` extensions of a built-in-style API (an aggregated API
    /// server's types, say); custom resources use [`Schema::for_custom_resource`].
    pub fn from_openapi_definitions(
        definitions: &Map<String, Value>,
        root: &str,
        strategic_merge: bool,
    ) -> Result<Schema, SchemaError> {
        for d in definitions.values() {
            if crate::depth_within(d, crate::MAX_DEPTH).is_none() {
                return Err(SchemaError::TooDeep(crate::MAX_DEPTH));
            }
        }
        let mut builder = Builder::new(definitions);
        let root = builder.named(root)?;
        builder.finish()?;
        Ok(Schema {
            nodes: builder.nodes.into(),
            root,
            strategic_merge,
            empty: None,
        })
    }
}

fn object_meta() -> Value {
    json!({ "$ref": OBJECT_META })
}

/// Sets `apiVersion`, `kind` and `metadata` on the root and on embedded resources.
fn add_kube_native(schema: &mut Value, root: bool) {
    let Value::Object(s) = schema else { return };
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = s.get_mut(key) {
            add_kube_native(sub, false);
        }
    }
    if let Some(Value::Object(props)) = s.get_mut("properties") {
        for sub in props.values_mut() {
            add_kube_native(sub, false);
        }
    }
    let embedded = s.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    if root || embedded {
        let props = s
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(props) = props {
            props.insert("apiVersion".into(), json!({"type": "string"}));
            props.insert("kind".into(), json!({"type": "string"}));
            props.insert("metadata".into(), object_meta());
        }
    }
}
