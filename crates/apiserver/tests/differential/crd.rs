//! A CRD with a structural schema: its creation and Established status, defaults
//! (top-level, nested, in list items, on read), pruning of unknown fields and what
//! `x-kubernetes-preserve-unknown-fields` keeps, `fieldValidation` (Strict, Warn,
//! Ignore, unset) with its warnings, int-or-string, nullable, embedded resources,
//! validation errors with their causes, the status subresource and generation,
//! printer columns in a Table, patches (415 for strategic merge), and deletion of the
//! CRD with its objects.

use crate::harness::{JSON_PATCH, MERGE, STRATEGIC, Session};
use serde_json::{Value, json};

const NS: &str = "d-crd";
const CRD_PATH: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const NAME: &str = "machines.crd.diff.ferry.io";

fn crd() -> Value {
    json!({
      "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": {"name": NAME},
      "spec": {"group": "crd.diff.ferry.io", "scope": "Namespaced",
        "names": {"plural": "machines", "singular": "machine", "kind": "Machine", "shortNames": ["mch"], "categories": ["diff"]},
        "versions": [{"name": "v1", "served": true, "storage": true,
          "subresources": {"status": {}},
          "additionalPrinterColumns": [
            {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
            {"name": "Mode", "type": "string", "jsonPath": ".spec.mode", "priority": 1},
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
          "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
              "size": {"type": "integer", "minimum": 1, "maximum": 64},
              "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
              "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8, "minLength": 2},
              "port": {"x-kubernetes-int-or-string": true},
              "ratio": {"type": "number", "multipleOf": 0.5},
              "created": {"type": "string", "format": "date-time"},
              "comment": {"type": "string", "nullable": true},
              "disks": {"type": "array", "maxItems": 3, "items": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"},
                "bus": {"type": "string", "default": "virtio"}}}},
              "network": {"type": "object", "default": {}, "properties": {
                "mtu": {"type": "integer", "default": 1500},
                "name": {"type": "string"}}},
              "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
              "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
              "labels": {"type": "object", "additionalProperties": {"type": "string"}},
              "limits": {"type": "object", "properties": {"cpu": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "self.cpu <= 8", "message": "at most 8 cpus"}]}}},
            "status": {"type": "object", "properties": {
              "phase": {"type": "string"},
              "observed": {"type": "integer"}}}}}}}]}
    })
}

fn machine(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "crd.diff.ferry.io/v1", "kind": "Machine", "metadata": {"name": name}, "spec": spec})
}

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    s.post("create-crd", CRD_PATH, &crd()).await;
    let crd_path = format!("{CRD_PATH}/{NAME}");
    s.until("established", &crd_path, "Established", |r| {
        r.body["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
    })
    .await;
    let machines = format!("/apis/crd.diff.ferry.io/v1/namespaces/{NS}/machines");
    s.until("", &machines, "the CRD to be served", |r| r.code == 200)
        .await;
    s.get("discovery", "/apis/crd.diff.ferry.io/v1").await;

    // Defaults and pruning.
    s.post(
        "defaults",
        &machines,
        &machine(
            "defaulted",
            json!({"size": 2, "disks": [{"id": "a"}, {"id": "b", "bus": "scsi"}]}),
        ),
    )
    .await;
    s.post(
        "pruning-default-validation",
        &machines,
        &machine(
            "pruned",
            json!({"size": 2, "bogus": 1, "network": {"mtu": 9000, "unknown": true},
                "extra": {"anything": {"goes": [1, 2]}},
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"z": 1}}}),
        ),
    )
    .await;
    s.post(
        "unknown-top-level-field",
        &machines,
        &json!({"apiVersion": "crd.diff.ferry.io/v1", "kind": "Machine", "metadata": {"name": "toplevel"}, "spec": {"size": 1}, "surplus": 1}),
    )
    .await;
    s.post(
        "field-validation-strict",
        format!("{machines}?fieldValidation=Strict"),
        &machine(
            "strict",
            json!({"size": 2, "bogus": 1, "network": {"unknown": 1}}),
        ),
    )
    .await;
    s.post(
        "field-validation-warn",
        format!("{machines}?fieldValidation=Warn"),
        &machine("warned", json!({"size": 2, "bogus": 1})),
    )
    .await;
    s.post(
        "field-validation-ignore",
        format!("{machines}?fieldValidation=Ignore"),
        &machine("ignored", json!({"size": 2, "bogus": 1})),
    )
    .await;
    s.post(
        "field-validation-bad-value",
        format!("{machines}?fieldValidation=Loose"),
        &machine("loose", json!({"size": 2})),
    )
    .await;
    // Metadata fields: unknown, of the wrong type, invalid.
    let with_meta = |meta: Value| json!({"apiVersion": "crd.diff.ferry.io/v1", "kind": "Machine", "metadata": meta, "spec": {"size": 1}});
    for (step, validation, meta) in [
        (
            "metadata-unknown-field-strict",
            "Strict",
            json!({"name": "meta-strict", "bogus": 1}),
        ),
        (
            "metadata-unknown-field-warn",
            "Warn",
            json!({"name": "meta-warn", "bogus": 1, "labels": {"a": "b"}}),
        ),
        (
            "metadata-wrong-type",
            "Warn",
            json!({"name": "meta-type", "labels": "text"}),
        ),
        (
            "metadata-wrong-type-strict",
            "Strict",
            json!({"name": "meta-type-strict", "labels": "text"}),
        ),
        (
            "metadata-invalid-label",
            "Strict",
            json!({"name": "meta-label", "labels": {"bad key!": "v"}}),
        ),
    ] {
        s.post(
            step,
            format!("{machines}?fieldValidation={validation}"),
            &with_meta(meta),
        )
        .await;
    }
    s.call(http::Method::POST, format!("{machines}?fieldValidation=Strict"))
        .raw(
            "application/json",
            br#"{"apiVersion":"crd.diff.ferry.io/v1","kind":"Machine","metadata":{"name":"dup"},"spec":{"size":1,"size":2}}"#,
        )
        .send("field-validation-strict-duplicate-field")
        .await;
    s.post(
        "types-that-pass",
        &machines,
        &machine(
            "typed",
            json!({"size": 3, "port": "http", "ratio": 1.5, "created": "2024-01-02T03:04:05Z",
                "comment": null, "labels": {"a": "b"}, "limits": {"cpu": 4},
                "name": "abc"}),
        ),
    )
    .await;
    s.post(
        "int-or-string-number",
        &machines,
        &machine("numeric-port", json!({"size": 3, "port": 8080})),
    )
    .await;

    // Validation errors, one at a time and together.
    for (step, spec) in [
        ("invalid-required", json!({})),
        ("invalid-minimum", json!({"size": 0})),
        ("invalid-maximum", json!({"size": 65})),
        ("invalid-enum", json!({"size": 1, "mode": "warp"})),
        ("invalid-pattern", json!({"size": 1, "name": "ABC"})),
        (
            "invalid-max-length",
            json!({"size": 1, "name": "abcdefghi"}),
        ),
        ("invalid-min-length", json!({"size": 1, "name": "a"})),
        ("invalid-type", json!({"size": "big"})),
        ("invalid-int-or-string", json!({"size": 1, "port": 1.5})),
        ("invalid-multiple-of", json!({"size": 1, "ratio": 0.3})),
        ("invalid-format", json!({"size": 1, "created": "yesterday"})),
        ("invalid-null", json!({"size": 1, "name": null})),
        (
            "invalid-max-items",
            json!({"size": 1, "disks": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}]}),
        ),
        (
            "invalid-item-required",
            json!({"size": 1, "disks": [{"bus": "ide"}]}),
        ),
        ("invalid-map-value", json!({"size": 1, "labels": {"a": 1}})),
        ("invalid-cel-rule", json!({"size": 1, "limits": {"cpu": 9}})),
        (
            "invalid-embedded-resource",
            json!({"size": 1, "template": {"metadata": {"name": "x"}}}),
        ),
        (
            "invalid-several-at-once",
            json!({"size": 100, "mode": "warp", "name": "ABC"}),
        ),
    ] {
        s.post(step, &machines, &machine("bad", spec)).await;
    }
    s.post(
        "invalid-spec-type",
        &machines,
        &json!({"apiVersion": "crd.diff.ferry.io/v1", "kind": "Machine", "metadata": {"name": "bad"}, "spec": "text"}),
    )
    .await;

    // Status subresource and generation.
    let defaulted = format!("{machines}/defaulted");
    s.patch(
        "spec-change-bumps-generation",
        &defaulted,
        MERGE,
        &json!({"spec": {"size": 3}}),
    )
    .await;
    s.patch(
        "status-ignored-on-main-resource",
        &defaulted,
        MERGE,
        &json!({"status": {"phase": "Ready"}}),
    )
    .await;
    s.patch(
        "status-subresource",
        format!("{defaulted}/status"),
        MERGE,
        &json!({"status": {"phase": "Ready", "observed": 2}, "spec": {"size": 9}}),
    )
    .await;
    s.patch(
        "status-invalid",
        format!("{defaulted}/status"),
        MERGE,
        &json!({"status": {"observed": "many"}}),
    )
    .await;
    s.patch(
        "json-patch",
        &defaulted,
        JSON_PATCH,
        &json!([{"op": "add", "path": "/spec/comment", "value": "hi"}]),
    )
    .await;
    s.patch(
        "strategic-patch-refused",
        &defaulted,
        STRATEGIC,
        &json!({"spec": {"size": 4}}),
    )
    .await;
    s.patch(
        "patch-to-invalid",
        &defaulted,
        MERGE,
        &json!({"spec": {"size": 0}}),
    )
    .await;
    s.get("read-back", &defaulted).await;
    s.call(http::Method::GET, &machines)
        .accept("application/json;as=Table;g=meta.k8s.io;v=v1")
        .send("table")
        .await;
    s.call(http::Method::GET, format!("{machines}?includeObject=None"))
        .accept("application/json;as=Table;g=meta.k8s.io;v=v1")
        .send("table-without-objects")
        .await;
    s.call(http::Method::GET, &defaulted)
        .accept("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
        .send("partial-object-metadata")
        .await;

    // CRD updates and deletion.
    let mut unserved = s.get("", &crd_path).await.body;
    unserved["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["size"]["maximum"] = json!(128);
    s.put("update-crd-schema", &crd_path, &unserved).await;
    s.post(
        "new-maximum-applies",
        &machines,
        &machine("bigger", json!({"size": 100})),
    )
    .await;
    s.delete("delete-crd", &crd_path, &Value::Null).await;
    s.until_gone("crd-gone", &crd_path).await;
    s.until("objects-no-longer-served", &machines, "404", |r| {
        r.code == 404
    })
    .await;
}

/// CRDs the API server refuses.
pub async fn invalid_definitions(s: &mut Session) {
    let mut bad_group = crd();
    bad_group["metadata"]["name"] = json!("machines.other.ferry.io");
    s.post("name-does-not-match", CRD_PATH, &bad_group).await;
    let mut no_schema = crd();
    no_schema["metadata"]["name"] = json!("noschemas.crd.diff.ferry.io");
    no_schema["spec"]["names"] = json!({"plural": "noschemas", "kind": "NoSchema"});
    no_schema["spec"]["versions"][0]
        .as_object_mut()
        .expect("version")
        .remove("schema");
    s.post("no-schema", CRD_PATH, &no_schema).await;
    let mut not_structural = crd();
    not_structural["metadata"]["name"] = json!("loose.crd.diff.ferry.io");
    not_structural["spec"]["names"] = json!({"plural": "loose", "kind": "Loose"});
    not_structural["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}});
    s.post("not-structural", CRD_PATH, &not_structural).await;
    let mut two_storage = crd();
    two_storage["metadata"]["name"] = json!("doubles.crd.diff.ferry.io");
    two_storage["spec"]["names"] = json!({"plural": "doubles", "kind": "Double"});
    let v1 = two_storage["spec"]["versions"][0].clone();
    let mut v2 = v1.clone();
    v2["name"] = json!("v2");
    two_storage["spec"]["versions"] = json!([v1, v2]);
    s.post("two-storage-versions", CRD_PATH, &two_storage).await;
    let mut bad_default = crd();
    bad_default["metadata"]["name"] = json!("defaults.crd.diff.ferry.io");
    bad_default["spec"]["names"] = json!({"plural": "defaults", "kind": "Default"});
    bad_default["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["mode"]["default"] = json!("warp");
    s.post("default-violates-schema", CRD_PATH, &bad_default)
        .await;
    let mut bad_rule = crd();
    bad_rule["metadata"]["name"] = json!("rules.crd.diff.ferry.io");
    bad_rule["spec"]["names"] = json!({"plural": "rules", "kind": "Rule"});
    bad_rule["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["limits"]["x-kubernetes-validations"][0]["rule"] = json!("self.cpu <=");
    s.post("cel-rule-does-not-compile", CRD_PATH, &bad_rule)
        .await;
}
