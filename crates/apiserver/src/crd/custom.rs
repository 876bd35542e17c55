//! The behaviour of a custom resource at one served version: pruning, defaulting and
//! validation by its structural schema, the status subresource, printer columns and
//! selectable fields, as apiextensions-apiserver's custom resource strategy does.

use crate::builtin::{get_path, str_path};
use crate::resource::{Behaviour, Column, Decoded};
use crate::status::{ApiError, FieldError};
use crate::table::{meta_str, name_of};
use ferry_structural::printer;
use serde_json::{Value, json};

/// One printer column of a CRD version.
#[derive(Debug)]
struct PrinterColumn {
    column: printer::Column,
    format: String,
    description: String,
    priority: i32,
}

/// A custom resource's behaviour at one served version.
#[derive(Debug)]
pub struct CustomResource {
    group: String,
    version: String,
    kind: String,
    storage_version: String,
    schema: ferry_structural::Schema,
    /// The schema as written, for OpenAPI publishing.
    pub openapi: Value,
    status: bool,
    columns: Vec<PrinterColumn>,
    selectable: Vec<(String, ferry_structural::printer::JsonPath)>,
}

impl CustomResource {
    /// Builds the behaviour from a CRD version's parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        group: &str,
        version: &str,
        kind: &str,
        storage_version: &str,
        schema: ferry_structural::Schema,
        openapi: Value,
        status: bool,
        printer_columns: Value,
        selectable_fields: Value,
    ) -> Result<Self, String> {
        let mut columns = Vec::new();
        let defs = printer_columns.as_array().cloned().unwrap_or_else(|| {
            vec![json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"})]
        });
        for c in defs {
            let column = printer::Column::new(
                &str_path(&c, &["name"]),
                &str_path(&c, &["type"]),
                &str_path(&c, &["jsonPath"]),
            )
            .map_err(|e| e.to_string())?;
            let mut description = str_path(&c, &["description"]);
            if description.is_empty() {
                description = format!(
                    "Custom resource definition column (in JSONPath format): {}",
                    str_path(&c, &["jsonPath"])
                );
            }
            columns.push(PrinterColumn {
                column,
                format: str_path(&c, &["format"]),
                description,
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0) as i32,
            });
        }
        let mut selectable = Vec::new();
        if let Some(fs) = selectable_fields.as_array() {
            for f in fs {
                let p = str_path(f, &["jsonPath"]);
                let jp = printer::JsonPath::parse(&p).map_err(|e| e.to_string())?;
                selectable.push((p.trim_start_matches('.').to_string(), jp));
            }
        }
        Ok(Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            storage_version: storage_version.into(),
            schema,
            openapi,
            status,
            columns,
            selectable,
        })
    }

    fn api_version(&self, version: &str) -> String {
        format!("{}/{}", self.group, version)
    }
}

/// Go's `encoding/json` error for the first field of `meta` whose JSON type does not
/// fit its `ObjectMeta` field (for the shapes clients get wrong: scalars, string
/// maps and lists); timestamps and nested structs are left to coercion.
fn meta_type_error(meta: &Value) -> Option<String> {
    let map = meta.as_object()?;
    let mismatch = |field: &str, v: &Value, go_type: &str| {
        // Go names the value of a number that does not fit an integer field.
        let shown = match v {
            Value::Number(n) if go_type == "int64" => format!("number {n}"),
            other => crate::ops::json_type(other).to_string(),
        };
        Some(format!(
            "json: cannot unmarshal {shown} into Go struct field ObjectMeta.{field} of type {go_type}"
        ))
    };
    for (field, v) in map {
        if v.is_null() {
            continue;
        }
        let found = match field.as_str() {
            "name" | "generateName" | "namespace" | "selfLink" | "uid" | "resourceVersion" => (!v
                .is_string())
            .then(|| mismatch(field, v, "string"))
            .flatten(),
            "generation" | "deletionGracePeriodSeconds" => (!(v.is_i64() || v.is_u64()))
                .then(|| mismatch(field, v, "int64"))
                .flatten(),
            "labels" | "annotations" => match v.as_object() {
                None => mismatch(field, v, "map[string]string"),
                Some(m) => m
                    .values()
                    .find(|x| !x.is_string() && !x.is_null())
                    .and_then(|x| mismatch(field, x, "string")),
            },
            "finalizers" => match v.as_array() {
                None => mismatch(field, v, "[]string"),
                Some(a) => a
                    .iter()
                    .find(|x| !x.is_string() && !x.is_null())
                    .and_then(|x| mismatch(field, x, "string")),
            },
            "ownerReferences" => (!v.is_array())
                .then(|| mismatch(field, v, "[]v1.OwnerReference"))
                .flatten(),
            "managedFields" => (!v.is_array())
                .then(|| mismatch(field, v, "[]v1.ManagedFieldsEntry"))
                .flatten(),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

impl Behaviour for CustomResource {
    fn has_status(&self) -> bool {
        self.status
    }
    fn openapi_schema(&self) -> Option<Value> {
        Some(self.openapi.clone())
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn allow_unconditional_update(&self) -> bool {
        false
    }
    fn decode(&self, mut obj: Value, _version: &str) -> Result<Decoded, ApiError> {
        let mut unknown = Vec::new();
        if let Some(meta) = obj.get_mut("metadata") {
            if !meta.is_object() && !meta.is_null() {
                return Err(ApiError::bad_request(format!(
                    "{} in version {:?} cannot be handled as a {}: metadata must be an object",
                    self.kind, self.version, self.kind
                )));
            }
            // The root object's metadata decodes into Go's ObjectMeta: a field of the
            // wrong type fails the request (embedded resources' metadata is coerced).
            if let Some(e) = meta_type_error(meta) {
                return Err(ApiError::bad_request(format!(
                    "{} in version {:?} cannot be handled as a {}: {e}",
                    self.kind, self.version, self.kind
                )));
            }
            // `parent` is the object holding `metadata`: the root, so paths read
            // `metadata.<field>` as kube-apiserver's do.
            unknown.extend(ferry_structural::coerce_object_meta(meta, ""));
        }
        unknown.extend(self.schema.prune(&mut obj));
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "apiVersion".into(),
                json!(self.api_version(&self.storage_version)),
            );
        }
        Ok(Decoded {
            object: obj,
            unknown,
        })
    }
    fn encode(&self, stored: &Value, version: &str) -> Option<Value> {
        let want = self.api_version(version);
        if stored.get("apiVersion").and_then(Value::as_str) == Some(want.as_str()) {
            return None;
        }
        let mut v = stored.clone();
        if let Some(m) = v.as_object_mut() {
            m.insert("apiVersion".into(), json!(want));
        }
        Some(v)
    }
    fn default(&self, obj: &mut Value) {
        self.schema.apply_defaults(obj);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        if self.status
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        if self.status
            && let Some(m) = new.as_object_mut()
        {
            match old.get("status") {
                Some(s) => {
                    m.insert("status".into(), s.clone());
                }
                None => {
                    m.remove("status");
                }
            }
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        self.schema
            .validate(obj, None)
            .iter()
            .map(FieldError::from_structural)
            .collect()
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        self.schema
            .validate(new, Some(old))
            .iter()
            .map(FieldError::from_structural)
            .collect()
    }
    fn warnings(&self, new: &Value, old: Option<&Value>) -> Vec<String> {
        // Finalizer names without a domain are reserved for Kubernetes.
        let finalizers = |v: &Value| -> Vec<String> {
            get_path(v, &["metadata", "finalizers"])
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let old_f = old.map(finalizers).unwrap_or_default();
        let mut added: Vec<String> = finalizers(new)
            .into_iter()
            .filter(|f| !old_f.contains(f))
            .collect();
        added.sort();
        added.dedup();
        added
            .into_iter()
            .filter(|f| !f.contains('/') && !["orphan", "foregroundDeletion", "kubernetes"].contains(&f.as_str()))
            .map(|f| format!("metadata.finalizers: {f:?}: prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers"))
            .collect()
    }
    fn spec_changed(&self, new: &Value, old: &Value) -> bool {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
                if self.status {
                    m.remove("status");
                }
            }
            v
        };
        strip(new) != strip(old)
    }
    fn columns(&self) -> Vec<Column> {
        let mut cols = vec![Column::name()];
        for c in &self.columns {
            cols.push(Column::new(
                &c.column.name,
                &c.column.column_type,
                &c.format,
                &c.description,
                c.priority,
            ));
        }
        cols
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let mut cells = vec![json!(name_of(obj))];
        for c in &self.columns {
            cells.push(c.column.cell(obj, now.as_second()).to_json());
        }
        cells
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        match label {
            "metadata.name" => Some(name_of(obj)),
            "metadata.namespace" => Some(meta_str(obj, "namespace")),
            _ => {
                let (_, jp) = self.selectable.iter().find(|(p, _)| p == label)?;
                Some(match jp.find(obj).into_iter().next() {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_fields_of_the_wrong_type_are_named_as_go_does() {
        let err = |m: Value| meta_type_error(&m);
        assert_eq!(err(json!({"name": "a", "labels": {"a": "b"}})), None);
        assert_eq!(
            err(json!({"labels": "text"})).as_deref(),
            Some(
                "json: cannot unmarshal string into Go struct field ObjectMeta.labels of type map[string]string"
            )
        );
        assert_eq!(
            err(json!({"annotations": {"a": 1}})).as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.annotations of type string"
            )
        );
        assert_eq!(
            err(json!({"generation": 1.5})).as_deref(),
            Some(
                "json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.generation of type int64"
            )
        );
        assert_eq!(
            err(json!({"name": 7})).as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.name of type string"
            )
        );
        assert_eq!(
            err(json!({"finalizers": [true]})).as_deref(),
            Some(
                "json: cannot unmarshal bool into Go struct field ObjectMeta.finalizers of type string"
            )
        );
        assert_eq!(err(json!({"name": null, "bogus": 1})), None);
    }
}
