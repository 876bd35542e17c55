//! OpenAPI v3, as far as clients need it: kubectl checks each kind's PATCH
//! operation for the `fieldValidation` parameter before it lets the server validate,
//! and `kubectl explain` reads custom resources' schemas. Built-in kinds publish
//! paths but no schemas (kubectl then computes strategic merge patches from its
//! compiled-in types, as it does against servers without OpenAPI).
//!
//! `/openapi/v2` is not served: clients ask for it in protobuf only, and fall back
//! when it is missing.

use crate::resource::{Registry, ResourceDef};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: one entry per group-version.
pub fn index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    let generation = registry.generation();
    for (g, versions) in super::discovery::groups(registry) {
        for v in versions {
            let p = gv_path(&g, &v);
            let hash = hex::encode(&Sha256::digest(format!("{p}#{generation}").as_bytes())[..16])
                .to_uppercase();
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
            );
        }
    }
    json!({ "paths": paths })
}

fn param(name: &str, description: &str, kind: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": kind, "uniqueItems": true}})
}

fn gvk(d: &ResourceDef) -> Value {
    json!({"group": d.group, "version": d.version, "kind": d.kind})
}

fn schema_name(d: &ResourceDef) -> String {
    let mut parts: Vec<&str> = d.group.split('.').collect();
    parts.reverse();
    if d.group.is_empty() {
        format!("io.k8s.api.core.{}.{}", d.version, d.kind)
    } else {
        format!("{}.{}.{}", parts.join("."), d.version, d.kind)
    }
}

fn object_response(d: &ResourceDef) -> Value {
    let schema = json!({"$ref": format!("#/components/schemas/{}", schema_name(d))});
    json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema}, "application/yaml": {"schema": schema}}}})
}

fn operations(d: &ResourceDef, sub: Option<&str>) -> Value {
    let suffix = sub.map(|s| format!("/{s}")).unwrap_or_default();
    let action = |a: &str| {
        json!({
            "description": format!("{a} the specified {}{}", d.kind, suffix),
            "operationId": format!("{a}{}{}", d.kind, sub.map(|s| s.to_string()).unwrap_or_default()),
            "x-kubernetes-action": a,
            "x-kubernetes-group-version-kind": gvk(d),
            "responses": object_response(d),
        })
    };
    let mut get = action("get");
    get["parameters"] = json!([param(
        "pretty",
        "If 'true', then the output is pretty printed.",
        "string"
    )]);
    let write_params = json!([
        param(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
            "string"
        ),
        param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
            "string"
        ),
        param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.",
            "string"
        ),
    ]);
    let mut put = action("put");
    put["parameters"] = write_params.clone();
    put["requestBody"] = json!({"content": {"*/*": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(d))}}}, "required": true});
    let mut patch = action("patch");
    let mut patch_params = write_params.as_array().cloned().unwrap_or_default();
    patch_params.push(param(
        "force",
        "Force is going to \"force\" Apply requests.",
        "boolean",
    ));
    patch["parameters"] = Value::Array(patch_params);
    let patch_schema = json!({"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}});
    patch["requestBody"] = json!({"content": {
        "application/apply-patch+yaml": patch_schema,
        "application/json-patch+json": patch_schema,
        "application/merge-patch+json": patch_schema,
    }, "required": true});
    let mut ops = json!({"get": get, "put": put, "patch": patch});
    if sub.is_none() {
        let mut delete = action("delete");
        delete["parameters"] = json!([param(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
            "string"
        )]);
        ops["delete"] = delete;
    }
    ops
}

fn collection_operations(d: &ResourceDef) -> Value {
    let mut list = json!({
        "description": format!("list or watch objects of kind {}", d.kind),
        "operationId": format!("list{}", d.kind),
        "x-kubernetes-action": "list",
        "x-kubernetes-group-version-kind": gvk(d),
        "responses": {"200": {"description": "OK"}},
    });
    list["parameters"] = json!([
        param(
            "labelSelector",
            "A selector to restrict the list of returned objects by their labels.",
            "string"
        ),
        param(
            "fieldSelector",
            "A selector to restrict the list of returned objects by their fields.",
            "string"
        ),
        param(
            "limit",
            "limit is a maximum number of responses to return for a list call.",
            "integer"
        ),
        param(
            "continue",
            "The continue option should be set when retrieving more results from the server.",
            "string"
        ),
        param(
            "resourceVersion",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
            "string"
        ),
        param(
            "resourceVersionMatch",
            "resourceVersionMatch determines how resourceVersion is applied to list calls.",
            "string"
        ),
        param(
            "watch",
            "Watch for changes to the described resources.",
            "boolean"
        ),
    ]);
    let mut post = json!({
        "description": format!("create a {}", d.kind),
        "operationId": format!("create{}", d.kind),
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": gvk(d),
        "responses": object_response(d),
    });
    post["parameters"] = json!([
        param(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
            "string"
        ),
        param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
            "string"
        ),
        param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
            "string"
        ),
    ]);
    post["requestBody"] = json!({"content": {"*/*": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(d))}}}, "required": true});
    json!({"get": list, "post": post})
}

/// The document for one group-version, or `None` if it is not served.
pub fn group_version(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs: Vec<Arc<ResourceDef>> = registry
        .all()
        .into_iter()
        .filter(|d| d.group == group && d.version == version)
        .collect();
    if defs.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch".into(),
        json!({"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", "type": "object"}),
    );
    let prefix = format!("/{}", gv_path(group, version));
    for d in &defs {
        let base = if d.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", d.plural)
        } else {
            format!("{prefix}/{}", d.plural)
        };
        paths.insert(base.clone(), collection_operations(d));
        paths.insert(format!("{base}/{{name}}"), operations(d, None));
        for s in &d.subresources {
            if s.name == "status" {
                paths.insert(
                    format!("{base}/{{name}}/status"),
                    operations(d, Some("status")),
                );
            }
        }
        let mut schema = match d.behaviour.openapi_schema() {
            Some(s) => s,
            None => {
                json!({"description": format!("{} (schema not published by ferry-apiserver)", d.kind), "type": "object", "x-kubernetes-preserve-unknown-fields": true})
            }
        };
        if let Some(m) = schema.as_object_mut() {
            m.insert("x-kubernetes-group-version-kind".into(), json!([gvk(d)]));
        }
        schemas.insert(schema_name(d), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v{}.{}.0", super::discovery::KUBE_MAJOR, super::discovery::KUBE_MINOR)},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
