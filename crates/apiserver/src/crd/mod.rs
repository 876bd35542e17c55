//! CustomResourceDefinitions: the `customresourcedefinitions` resource itself, and
//! turning an established CRD into served resources whose behaviour comes from its
//! structural schema (through `ferry-structural`).

mod custom;

use crate::builtin::{def, default_path, get_path, roundtrip, set_path, str_path};
use crate::names;
use crate::resource::{
    Behaviour, CUSTOM_RESOURCE_VERBS, Column, Decoded, ResourceDef, Subresource,
};
use crate::status::{ApiError, FieldError, GroupResource};
use crate::table::name_of;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use serde_json::{Value, json};
use std::sync::Arc;

pub use custom::CustomResource;

/// The finalizer that keeps a CRD until its custom resources are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// The group of CRDs.
pub const GROUP: &str = "apiextensions.k8s.io";

/// The storage group-resource of CRDs.
pub fn crd_gr() -> GroupResource {
    GroupResource::new(GROUP, "customresourcedefinitions")
}

#[derive(Debug)]
struct Crd;

fn versions(obj: &Value) -> Vec<Value> {
    get_path(obj, &["spec", "versions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn validate_names(names: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let s = |f: &str| str_path(names, &[f]);
    for f in ["plural", "singular"] {
        let v = s(f);
        if !v.is_empty() {
            let e = names::dns1035_label(&v);
            if !e.is_empty() {
                errs.push(FieldError::invalid(format!("{path}.{f}"), v, e.join(",")));
            }
        }
    }
    for f in ["kind", "listKind"] {
        let v = s(f);
        if !v.is_empty() {
            let e = names::dns1035_label(&v.to_lowercase());
            if !e.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.{f}"),
                    v,
                    format!(
                        "may have mixed case, but should otherwise match: {}",
                        e.join(",")
                    ),
                ));
            }
        }
    }
    for (list, field) in [("shortNames", "shortNames"), ("categories", "categories")] {
        if let Some(a) = names.get(list).and_then(Value::as_array) {
            for (i, v) in a.iter().enumerate() {
                let v = v.as_str().unwrap_or_default();
                let e = names::dns1035_label(v);
                if !e.is_empty() {
                    errs.push(FieldError::invalid(
                        format!("{path}.{field}[{i}]"),
                        v,
                        e.join(","),
                    ));
                }
            }
        }
    }
    if !s("kind").is_empty() && s("kind") == s("listKind") {
        errs.push(FieldError::invalid(
            format!("{path}.listKind"),
            s("listKind"),
            "kind and listKind may not be the same",
        ));
    }
}

/// Validates a CRD's spec (structure, names, versions, schemas, columns).
fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = str_path(obj, &["spec", "group"]);
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let e = names::dns1123_subdomain(&group);
        if !e.is_empty() {
            errs.push(FieldError::invalid(
                "spec.group",
                group.clone(),
                e.join(","),
            ));
        } else if group.split('.').count() < 2 {
            errs.push(FieldError::invalid(
                "spec.group",
                group.clone(),
                "should be a domain with at least one dot",
            ));
        }
    }
    let scope = str_path(obj, &["spec", "scope"]);
    if scope.is_empty() {
        errs.push(FieldError::required("spec.scope", ""));
    } else if scope != "Namespaced" && scope != "Cluster" {
        errs.push(FieldError::not_supported(
            "spec.scope",
            scope,
            &["Cluster", "Namespaced"],
        ));
    }
    let vs = versions(obj);
    if vs.is_empty() {
        errs.push(FieldError::invalid(
            "spec.versions",
            json!([]),
            "must have exactly one version marked as storage version",
        ));
    }
    let mut seen = Vec::new();
    let mut storage = 0;
    // kube-apiserver validates the internal form, where a schema every version
    // shares moves to `spec.validation`: its errors carry that path.
    let shared_schema = vs.len() > 1
        && vs.windows(2).all(|w| {
            get_path(&w[0], &["schema", "openAPIV3Schema"])
                == get_path(&w[1], &["schema", "openAPIV3Schema"])
        })
        || vs.len() == 1;
    for (i, v) in vs.iter().enumerate() {
        let name = str_path(v, &["name"]);
        let e = names::dns1035_label(&name);
        if !e.is_empty() {
            errs.push(FieldError::invalid(
                format!("spec.versions[{i}].name"),
                name.clone(),
                e.join(","),
            ));
        }
        if seen.contains(&name) {
            errs.push(FieldError::invalid(
                "spec.versions",
                json!(vs),
                "must contain unique version names",
            ));
        }
        seen.push(name);
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage += 1;
        }
        let schema_path = format!("spec.versions[{i}].schema.openAPIV3Schema");
        match get_path(v, &["schema", "openAPIV3Schema"]) {
            None => errs.push(FieldError::required(schema_path, "schemas are required")),
            Some(_) if shared_schema && i > 0 => {}
            Some(schema) => {
                let schema_path = if shared_schema {
                    "spec.validation.openAPIV3Schema".to_string()
                } else {
                    schema_path
                };
                if let Err(e) = ferry_structural::Schema::compile_at(schema, &schema_path) {
                    errs.extend(e.errors.iter().map(FieldError::from_structural));
                }
                let status = get_path(v, &["subresources", "status"]).is_some();
                let allowed = ["metadata", "apiVersion", "kind", "spec", "status"];
                if status
                    && let Some(props) = schema.get("properties").and_then(Value::as_object)
                    && props.keys().any(|k| !allowed.contains(&k.as_str()))
                {
                    errs.push(FieldError::invalid(
                        schema_path.clone(),
                        json!(""),
                        "only [metadata apiVersion kind spec status] fields are allowed at the root of the schema if the status subresource is enabled",
                    ));
                }
            }
        }
        if let Some(cols) = v.get("additionalPrinterColumns").and_then(Value::as_array) {
            for (j, c) in cols.iter().enumerate() {
                let p = format!("spec.versions[{i}].additionalPrinterColumns[{j}]");
                if str_path(c, &["name"]).is_empty() {
                    errs.push(FieldError::required(format!("{p}.name"), ""));
                }
                let t = str_path(c, &["type"]);
                let types = ["boolean", "date", "integer", "number", "string"];
                if t.is_empty() {
                    errs.push(FieldError::required(
                        format!("{p}.type"),
                        "must be one of boolean,date,integer,number,string",
                    ));
                } else if !types.contains(&t.as_str()) {
                    errs.push(FieldError::invalid(
                        format!("{p}.type"),
                        t.clone(),
                        "must be one of boolean,date,integer,number,string",
                    ));
                }
                let jp = str_path(c, &["jsonPath"]);
                if jp.is_empty() {
                    errs.push(FieldError::required(format!("{p}.JSONPath"), ""));
                } else if types.contains(&t.as_str())
                    && let Err(e) = ferry_structural::printer::Column::new("x", &t, &jp)
                {
                    errs.push(FieldError::invalid(
                        format!("{p}.jsonPath"),
                        jp.clone(),
                        e.to_string(),
                    ));
                }
            }
        }
    }
    if !vs.is_empty() && storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            json!(vs),
            "must have exactly one version marked as storage version",
        ));
    }
    let names_v = get_path(obj, &["spec", "names"])
        .cloned()
        .unwrap_or(json!({}));
    for f in ["plural", "singular", "kind", "listKind"] {
        if str_path(&names_v, &[f]).is_empty() {
            errs.push(FieldError::required(format!("spec.names.{f}"), ""));
        }
    }
    validate_names(&names_v, "spec.names", &mut errs);
    let strategy = str_path(obj, &["spec", "conversion", "strategy"]);
    match strategy.as_str() {
        "None" | "" => {}
        "Webhook" => {
            // Conversion webhooks cannot be called from here; with one version they
            // are never needed, with several they would be, so refuse loudly.
            let served = vs
                .iter()
                .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
                .count();
            if served > 1 {
                errs.push(FieldError::forbidden(
                    "spec.conversion.strategy",
                    "ferry-apiserver cannot call conversion webhooks; serve one version or use strategy None",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.conversion.strategy",
            other,
            &["None", "Webhook"],
        )),
    }
    // API approval for protected groups.
    if group.ends_with(".k8s.io")
        || group.ends_with(".kubernetes.io")
        || group == "k8s.io"
        || group == "kubernetes.io"
    {
        let approval = str_path(
            obj,
            &["metadata", "annotations", "api-approved.kubernetes.io"],
        );
        if approval.is_empty() {
            errs.push(FieldError::required(
                "metadata.annotations[api-approved.kubernetes.io]",
                "protected groups must have approval annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111",
            ));
        }
    }
    errs
}

impl Behaviour for Crd {
    fn has_status(&self) -> bool {
        true
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn allow_unconditional_update(&self) -> bool {
        false
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<apiext::CustomResourceDefinition>(obj, "CustomResourceDefinition", version)
    }
    fn default(&self, obj: &mut Value) {
        let kind = str_path(obj, &["spec", "names", "kind"]);
        if !kind.is_empty() {
            default_path(
                obj,
                &["spec", "names", "singular"],
                json!(kind.to_lowercase()),
            );
            default_path(
                obj,
                &["spec", "names", "listKind"],
                json!(format!("{kind}List")),
            );
        }
        default_path(obj, &["spec", "conversion", "strategy"], json!("None"));
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        let storage: Vec<Value> = versions(obj)
            .iter()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .take(1)
            .map(|v| json!(str_path(v, &["name"])))
            .collect();
        set_path(
            obj,
            &["status"],
            json!({"acceptedNames": {"kind": "", "plural": ""}, "conditions": null, "storedVersions": storage}),
        );
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        let mut status = old.get("status").cloned().unwrap_or(json!({}));
        let storage = versions(new)
            .iter()
            .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .map(|v| str_path(v, &["name"]));
        if let Some(s) = storage {
            let mut stored: Vec<Value> = status
                .get("storedVersions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !stored.iter().any(|v| v == &json!(s)) {
                stored.push(json!(s));
            }
            set_path(&mut status, &["storedVersions"], Value::Array(stored));
        }
        set_path(new, &["status"], status);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let name = name_of(obj);
        let required = format!(
            "{}.{}",
            str_path(obj, &["spec", "names", "plural"]),
            str_path(obj, &["spec", "group"])
        );
        if !name.is_empty() && name != required {
            errs.push(FieldError::invalid(
                "metadata.name",
                name,
                "must be spec.names.plural+\".\"+spec.group",
            ));
        }
        errs.extend(validate_spec(obj));
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        for (path, field) in [
            (&["spec", "scope"][..], "spec.scope"),
            (&["spec", "group"][..], "spec.group"),
        ] {
            if get_path(new, path) != get_path(old, path) {
                errs.push(FieldError::invalid(
                    field,
                    get_path(new, path).cloned().unwrap_or(Value::Null),
                    "field is immutable",
                ));
            }
        }
        let established = get_path(old, &["status", "conditions"])
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    str_path(c, &["type"]) == "Established" && str_path(c, &["status"]) == "True"
                })
            });
        if established {
            for f in ["plural", "kind"] {
                let accepted = str_path(old, &["status", "acceptedNames", f]);
                let now = str_path(new, &["spec", "names", f]);
                if !accepted.is_empty() && accepted != now {
                    errs.push(FieldError::invalid(
                        format!("status.acceptedNames.{f}"),
                        accepted,
                        "must not change after the CRD is established",
                    ));
                }
            }
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new(
                "Created At",
                "date",
                "",
                "CreationTimestamp is a timestamp representing the server time when this object was created.",
                0,
            ),
        ]
    }
    fn row(&self, obj: &Value, _now: jiff::Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(crate::table::meta_str(obj, "creationTimestamp")),
        ]
    }
}

/// `customresourcedefinitions` (apiextensions.k8s.io/v1).
pub fn definitions() -> ResourceDef {
    def(
        GROUP,
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        &["crd", "crds"],
        &["api-extensions"],
        false,
        &["status"],
        Arc::new(Crd),
    )
}

/// Whether a CRD condition is `True`.
pub fn condition_true(crd: &Value, t: &str) -> bool {
    get_path(crd, &["status", "conditions"])
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| str_path(c, &["type"]) == t && str_path(c, &["status"]) == "True")
        })
}

/// The resources a CRD serves (one per served version). Fails only on a schema that
/// validation should already have refused.
pub fn served_definitions(crd: &Value) -> Result<Vec<ResourceDef>, String> {
    let group = str_path(crd, &["spec", "group"]);
    let names_v = get_path(crd, &["spec", "names"])
        .cloned()
        .unwrap_or(json!({}));
    let kind = str_path(&names_v, &["kind"]);
    let plural = str_path(&names_v, &["plural"]);
    let singular = {
        let s = str_path(&names_v, &["singular"]);
        if s.is_empty() { kind.to_lowercase() } else { s }
    };
    let list = |f: &str| -> Vec<String> {
        names_v
            .get(f)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaced = str_path(crd, &["spec", "scope"]) != "Cluster";
    let all = versions(crd);
    let storage_version = all
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| str_path(v, &["name"]))
        .unwrap_or_default();
    let served: Vec<&Value> = all
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .collect();
    let preferred = preferred_version(&served);
    let crd_name = name_of(crd);
    let mut out = Vec::new();
    for v in served {
        let version = str_path(v, &["name"]);
        let schema_v = get_path(v, &["schema", "openAPIV3Schema"])
            .cloned()
            .unwrap_or(json!({}));
        let schema = ferry_structural::Schema::compile(&schema_v).map_err(|e| e.to_string())?;
        let patch_schema = ferry_patch::Schema::for_custom_resource(Some(&schema_v), false)
            .map_err(|e| e.to_string())?;
        let status = get_path(v, &["subresources", "status"]).is_some();
        let behaviour = CustomResource::new(
            &group,
            &version,
            &kind,
            &storage_version,
            schema,
            schema_v,
            status,
            v.get("additionalPrinterColumns")
                .cloned()
                .unwrap_or(Value::Null),
            v.get("selectableFields").cloned().unwrap_or(Value::Null),
        )?;
        let mut subresources = Vec::new();
        if status {
            subresources.push(Subresource {
                name: "status",
                kind: kind.clone(),
                verbs: vec!["get", "patch", "update"],
            });
        }
        out.push(ResourceDef {
            group: group.clone(),
            version: version.clone(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            short_names: list("shortNames"),
            categories: list("categories"),
            namespaced,
            verbs: CUSTOM_RESOURCE_VERBS.to_vec(),
            subresources,
            storage: GroupResource::new(&group, &plural),
            behaviour: Arc::new(behaviour),
            preferred: version == preferred,
            crd: Some(crd_name.clone()),
            patch_schema: Some(Arc::new(patch_schema)),
        });
    }
    Ok(out)
}

/// Kubernetes' version priority: GA > beta > alpha, higher numbers first, then
/// other names alphabetically.
pub fn version_priority(v: &str) -> (u8, i64, i64, String) {
    let parse = |s: &str| -> Option<(u8, i64, i64)> {
        let rest = s.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: i64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0, -major, 0));
        }
        for (tag, rank) in [("beta", 1u8), ("alpha", 2u8)] {
            if let Some(n) = tail.strip_prefix(tag) {
                let minor: i64 = n.parse().ok()?;
                return Some((rank, -major, -minor));
            }
        }
        None
    };
    match parse(v) {
        Some((rank, a, b)) => (rank, a, b, String::new()),
        None => (3, 0, 0, v.to_string()),
    }
}

fn preferred_version(served: &[&Value]) -> String {
    let mut names: Vec<String> = served.iter().map(|v| str_path(v, &["name"])).collect();
    names.sort_by_key(|n| version_priority(n));
    names.into_iter().next().unwrap_or_default()
}

/// Sets a CRD status condition (`lastTransitionTime` moves only when the status
/// changes), as `SetCRDCondition` does.
pub fn set_condition(crd: &mut Value, t: &str, status: &str, reason: &str, message: &str) {
    let mut conditions: Vec<Value> = get_path(crd, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let now = crate::ops::now();
    match conditions.iter_mut().find(|c| str_path(c, &["type"]) == t) {
        Some(c) => {
            if str_path(c, &["status"]) != status {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
        }
        None => conditions.push(json!({
            "type": t,
            "status": status,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        })),
    }
    set_path(crd, &["status", "conditions"], Value::Array(conditions));
}

/// Refuses writes that create custom resources while their CRD is being deleted.
pub fn check_not_terminating(
    api: &crate::ops::Api,
    def: &ResourceDef,
    verb: &str,
) -> Result<(), ApiError> {
    let Some(crd) = &def.crd else { return Ok(()) };
    let key = crate::store::ObjectKey::new(&crd_gr(), "", crd);
    match api.store.get(&key) {
        Some(o) if o.meta.deleting => Err(ApiError::method_not_supported(&def.gr(), verb)
            .with_message(format!(
                "{verb} not allowed while custom resource definition is terminating"
            ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_priority_orders_like_kubernetes() {
        let mut v = vec![
            "v1alpha1", "v2beta1", "v1", "foo", "v2", "v1beta2", "v1beta1",
        ];
        v.sort_by_key(|s| version_priority(s));
        assert_eq!(
            v,
            [
                "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"
            ]
        );
    }

    #[test]
    fn crd_name_must_match_plural_and_group() {
        let crd = json!({"metadata": {"name": "x.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
        let errs = Crd.validate(&crd);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, "metadata.name");
    }
}
