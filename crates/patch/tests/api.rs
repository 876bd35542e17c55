//! The public helpers: type tables for built-in kinds and CRDs, the default field
//! manager, reset fields, statuses, FieldsV1 round trips, timestamps.

use ferry_patch::schema::{ListKind, PatchStrategy, TypeNodeSummary};
use ferry_patch::{
    ApplyError, Schema, TypeInfo, Writer, apply, custom_resource_reset_fields, fields_v1_to_set,
    manager_from_user_agent, record_update, reset_fields, set_to_fields_v1,
};
use serde_json::json;

fn list(schema: &Schema, path: &str) -> ListKind {
    schema
        .describe(path)
        .and_then(|d| d.list)
        .unwrap_or_else(|| panic!("{path} is not a list"))
}

fn keys(k: &[&str]) -> ListKind {
    ListKind::Map {
        keys: k.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn built_in_tables_carry_the_openapi_list_types() {
    let pod = Schema::builtin("v1", "Pod").unwrap();
    assert_eq!(list(&pod, "spec.containers"), keys(&["name"]));
    assert_eq!(list(&pod, "spec.initContainers"), keys(&["name"]));
    assert_eq!(list(&pod, "spec.ephemeralContainers"), keys(&["name"]));
    assert_eq!(list(&pod, "spec.containers[].env"), keys(&["name"]));
    assert_eq!(
        list(&pod, "spec.containers[].ports"),
        keys(&["containerPort", "protocol"])
    );
    assert_eq!(
        list(&pod, "spec.containers[].volumeMounts"),
        keys(&["mountPath"])
    );
    assert_eq!(list(&pod, "spec.volumes"), keys(&["name"]));
    assert_eq!(list(&pod, "spec.imagePullSecrets"), keys(&["name"]));
    assert_eq!(list(&pod, "spec.tolerations"), ListKind::Atomic);
    assert_eq!(list(&pod, "spec.hostAliases"), keys(&["ip"]));
    assert_eq!(list(&pod, "status.conditions"), keys(&["type"]));
    assert_eq!(list(&pod, "spec.containers[].args"), ListKind::Atomic);
    assert_eq!(list(&pod, "metadata.finalizers"), ListKind::Set);
    assert_eq!(list(&pod, "metadata.ownerReferences"), keys(&["uid"]));
    assert_eq!(list(&pod, "metadata.managedFields"), ListKind::Atomic);
    assert_eq!(
        pod.describe("spec.nodeSelector").unwrap().map_atomic,
        Some(true)
    );
    assert_eq!(
        pod.describe("metadata.labels").unwrap().map_atomic,
        Some(false)
    );
    let ports = pod.patch_meta("spec.containers[].ports").unwrap();
    assert_eq!(ports.strategy, Some(PatchStrategy::Merge));
    assert_eq!(ports.merge_key.as_deref(), Some("containerPort"));
    let volumes = pod.patch_meta("spec.volumes").unwrap();
    assert!(volumes.retain_keys);

    let svc = Schema::builtin("v1", "Service").unwrap();
    assert_eq!(list(&svc, "spec.ports"), keys(&["port", "protocol"]));
    let sa = Schema::builtin("v1", "ServiceAccount").unwrap();
    assert_eq!(list(&sa, "secrets"), keys(&["name"]));
    let job = Schema::builtin("batch/v1", "Job").unwrap();
    assert_eq!(list(&job, "spec.template.spec.containers"), keys(&["name"]));
    assert_eq!(list(&job, "status.conditions"), ListKind::Atomic);
    let crd = Schema::builtin("apiextensions.k8s.io/v1", "CustomResourceDefinition").unwrap();
    assert_eq!(list(&crd, "spec.versions"), ListKind::Atomic);
    assert_eq!(
        crd.describe("spec.versions[].schema.openAPIV3Schema.properties.x.properties.y.type"),
        Some(TypeNodeSummary {
            list: None,
            map_atomic: None,
            scalar: true
        })
    );
    for (api_version, kind) in [
        ("v1", "Namespace"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "PersistentVolume"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Event"),
        ("events.k8s.io/v1", "Event"),
        ("storage.k8s.io/v1", "StorageClass"),
        ("coordination.k8s.io/v1", "Lease"),
    ] {
        let s =
            Schema::builtin(api_version, kind).unwrap_or_else(|| panic!("{api_version}/{kind}"));
        assert!(s.supports_strategic_merge());
        assert_eq!(list(&s, "metadata.ownerReferences"), keys(&["uid"]));
    }
    assert!(Schema::builtin("v1", "Nonsense").is_none());
    assert!(Schema::builtin_kinds().contains(&"batch/v1/Job".to_string()));
}

#[test]
fn crd_schemas_follow_the_list_and_map_extensions() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "plain": {"type": "array", "items": {"type": "string"}},
        "set": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "keyed": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"],
            "items": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer", "default": 0}}}},
        "whole": {"type": "object", "x-kubernetes-map-type": "atomic"}}}}});
    let cr = Schema::for_custom_resource(Some(&schema), false).unwrap();
    assert!(!cr.supports_strategic_merge());
    assert_eq!(list(&cr, "spec.plain"), ListKind::Atomic);
    assert_eq!(list(&cr, "spec.set"), ListKind::Set);
    assert_eq!(list(&cr, "spec.keyed"), keys(&["a", "b"]));
    assert_eq!(cr.describe("spec.whole").unwrap().map_atomic, Some(true));
    assert_eq!(list(&cr, "metadata.ownerReferences"), keys(&["uid"]));
    let bad = json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "bag"}}});
    assert!(Schema::for_custom_resource(Some(&bad), false).is_err());
    let no_keys = json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "map"}}});
    assert!(Schema::for_custom_resource(Some(&no_keys), false).is_err());
    let none = Schema::for_custom_resource(None, false).unwrap();
    assert_eq!(
        none.describe("spec.anything").unwrap().map_atomic,
        Some(false)
    );
}

#[test]
fn default_field_manager_comes_from_the_user_agent() {
    assert_eq!(
        manager_from_user_agent("kubectl/v1.33.0 (linux/amd64) kubernetes/abc"),
        "kubectl"
    );
    assert_eq!(manager_from_user_agent("kube-rs/1.0"), "kube-rs");
    assert_eq!(
        manager_from_user_agent("Go-http-client/1.1"),
        "Go-http-client"
    );
    assert_eq!(manager_from_user_agent("we\u{7}ird\tname/1"), "weirdname");
    assert_eq!(manager_from_user_agent(""), "");
    let long = "é".repeat(100);
    assert_eq!(manager_from_user_agent(&long).len(), 128);
}

#[test]
fn reset_fields_follow_the_strategies() {
    assert_eq!(reset_fields("v1", "Pod", None), &["status"]);
    assert_eq!(
        reset_fields("v1", "Pod", Some("status")),
        &[
            "spec",
            "metadata.deletionTimestamp",
            "metadata.ownerReferences"
        ]
    );
    assert_eq!(reset_fields("batch/v1", "Job", Some("status")), &["spec"]);
    assert!(reset_fields("v1", "ConfigMap", None).is_empty());
    assert_eq!(custom_resource_reset_fields(true, None), &["status"]);
    assert!(custom_resource_reset_fields(false, None).is_empty());
    assert_eq!(
        custom_resource_reset_fields(true, Some("status")),
        &["spec"]
    );
}

#[test]
fn fields_v1_round_trips() {
    let fields = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}, "f:ports": {
            "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}},
            "f:finalizers": {"v:\"x\"": {}}, "f:list": {"i:0": {}}}});
    let set = fields_v1_to_set(&fields).unwrap();
    assert_eq!(set_to_fields_v1(&set), fields);
    let paths: Vec<String> = set.paths().iter().map(ToString::to_string).collect();
    assert!(
        paths.contains(
            &r#".spec.containers[name="a"].ports[containerPort=80,protocol="TCP"].containerPort"#
                .to_string()
        )
    );
    assert!(paths.contains(&r#".spec.finalizers[="x"]"#.to_string()));
    assert!(fields_v1_to_set(&json!({"x": {}})).is_err());
    assert!(fields_v1_to_set(&json!({"k:[1]": {}})).is_err());
    assert!(
        fields_v1_to_set(&json!({"z:skipped": {}}))
            .unwrap()
            .is_empty()
    );
}

fn writer(manager: &str, time: &str) -> Writer<'static> {
    Writer {
        manager: Box::leak(manager.to_string().into_boxed_str()),
        api_version: "v1",
        kind: "ConfigMap",
        subresource: None,
        reset_fields: &[],
        now: time.parse().expect("a timestamp"),
    }
}

#[test]
fn times_move_only_when_a_manager_changes_something() {
    let schema = Schema::builtin("v1", "ConfigMap").unwrap();
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let first = apply(
        None,
        &config,
        &schema,
        &writer("a", "2025-01-01T00:00:00Z"),
        false,
    )
    .unwrap();
    assert!(first.changed);
    assert_eq!(
        first.object["metadata"]["managedFields"][0]["time"],
        "2025-01-01T00:00:00Z"
    );
    let again = apply(
        Some(&first.object),
        &config,
        &schema,
        &writer("a", "2025-02-02T00:00:00Z"),
        false,
    )
    .unwrap();
    assert!(!again.changed);
    assert_eq!(
        again.object["metadata"]["managedFields"][0]["time"],
        "2025-01-01T00:00:00Z"
    );
    // An update that changes nothing records nothing for its manager.
    let mut same = again.object.clone();
    record_update(
        Some(&again.object),
        &mut same,
        &schema,
        &writer("noop", "2025-03-03T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        same["metadata"]["managedFields"].as_array().unwrap().len(),
        1
    );
    // Entries sort Apply first, then by time.
    let mut edited = again.object.clone();
    edited["data"]["b"] = json!("2");
    record_update(
        Some(&again.object),
        &mut edited,
        &schema,
        &writer("editor", "2025-03-03T00:00:00.9Z"),
    )
    .unwrap();
    let entries = edited["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries[0]["operation"], "Apply");
    assert_eq!(entries[1]["manager"], "editor");
    assert_eq!(entries[1]["time"], "2025-03-03T00:00:00Z");
}

#[test]
fn conflicts_map_to_a_409_with_causes() {
    let schema = Schema::builtin("v1", "ConfigMap").unwrap();
    let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1", "y": "1"}});
    let live = apply(
        None,
        &a,
        &schema,
        &writer("a", "2025-01-01T00:00:00Z"),
        false,
    )
    .unwrap()
    .object;
    let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "2", "y": "2"}});
    let err = apply(
        Some(&live),
        &b,
        &schema,
        &writer("b", "2025-01-01T00:00:00Z"),
        false,
    )
    .unwrap_err();
    let ApplyError::Conflicts(conflicts) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(conflicts.len(), 2);
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"a\":\n- .data.x\n- .data.y"
    );
    let status = err.status();
    assert_eq!((status.code, status.reason), (409, "Conflict"));
    assert_eq!(status.causes[0].cause_type, "FieldManagerConflict");
    assert_eq!(status.causes[0].message, "conflict with \"a\"");
    assert_eq!(status.causes[1].field, ".data.y");
}
