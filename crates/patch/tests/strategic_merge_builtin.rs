//! Strategic merge patch on built-in kinds with the shipped type tables: each expected
//! result is what apimachinery v0.33's `strategicpatch.StrategicMergeMapPatch` returns
//! for the Go type (`corev1.Pod`, `corev1.Service`, `batchv1.Job`, the CRD type), so
//! these also check the tables carry the Go struct tags' merge keys and strategies.

use ferry_patch::{PatchError, Schema, strategic_merge_patch};
use serde_json::{Value, json};

enum Expect {
    Doc(&'static str),
    Error(&'static str),
}
use Expect::*;

#[test]
fn built_in_kinds_patch_like_kube_apiserver() {
    let mut failures = Vec::new();
    for (gvk, comment, doc, patch, want) in CASES {
        let (api_version, kind) = gvk.rsplit_once('/').unwrap();
        let schema = Schema::builtin(api_version, kind).unwrap();
        let doc: Value = serde_json::from_str(doc).unwrap();
        let patch: Value = serde_json::from_str(patch).unwrap();
        let got = strategic_merge_patch(&doc, &patch, &schema);
        let ok = match (want, &got) {
            (Doc(want), Ok(out)) => &serde_json::from_str::<Value>(want).unwrap() == out,
            (Error(want), Err(e)) => &e.to_string() == want,
            _ => false,
        };
        if !ok {
            failures.push(format!("{gvk} {comment}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_carry_kube_apiserver_status_codes() {
    let pod = Schema::builtin("v1", "Pod").unwrap();
    let doc = json!({"metadata": {"finalizers": ["a"]}, "spec": {"containers": [{"name": "a"}]}});
    let status = |patch: Value| {
        strategic_merge_patch(&doc, &patch, &pod)
            .unwrap_err()
            .status()
            .code
    };
    assert_eq!(status(json!({"spec": {"$retainKeys": "x"}})), 400);
    assert_eq!(
        status(json!({"metadata": {"$deleteFromPrimitiveList": []}})),
        400
    );
    assert_eq!(
        status(json!({"spec": {"containers": [{"image": "x"}]}})),
        500
    );
    let no_finalizers = json!({"metadata": {"finalizers": []}});
    let err = strategic_merge_patch(
        &no_finalizers,
        &json!({"metadata": {"finalizers": [["x"]]}}),
        &pod,
    );
    assert_eq!(err.unwrap_err().status().code, 422, "lists of lists");
    assert_eq!(status(json!([1])), 400);
}

#[test]
fn custom_resources_refuse_strategic_merge_with_415() {
    let cr = Schema::for_custom_resource(Some(&json!({"type": "object"})), false).unwrap();
    let err = strategic_merge_patch(&json!({}), &json!({}), &cr).unwrap_err();
    assert_eq!(err, PatchError::StrategicMergeUnsupported);
    assert_eq!(err.status().code, 415);
}

const CASES: &[(&str, &str, &str, &str, Expect)] = &[
    (
        "v1/Pod",
        "add container (goes first)",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"new","image":"x"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"image":"x","name":"new"},{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "change image by name",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"side","image":"busybox:2"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox:2","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "delete container",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "replace containers",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"only","image":"i"},{"$patch":"replace"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"image":"i","name":"only"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "env merge by name",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"main","env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "env delete by name",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"main","env":[{"name":"A","$patch":"delete"}]}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "ports merge by containerPort",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"main","ports":[{"containerPort":8080}]}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":8080},{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "args replaced (no strategy)",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"main","args":["c"]}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["c"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "volumeMounts by mountPath",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"main","volumeMounts":[{"name":"cfg","mountPath":"/cfg"}]}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/cfg","name":"cfg"},{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "volume retainKeys switches source",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"volumes":[{"name":"data","$retainKeys":["name","hostPath"],"hostPath":{"path":"/x"}}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"hostPath":{"path":"/x"},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "volume merge without retainKeys keeps both",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"volumes":[{"name":"data","hostPath":{"path":"/x"}}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"hostPath":{"path":"/x"},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "tolerations replaced",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"tolerations":[{"key":"other","operator":"Exists"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"other","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "imagePullSecrets merge",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"imagePullSecrets":[{"name":"s2"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s2"},{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "hostAliases by ip",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"hostAliases":[{"ip":"10.0.0.1","hostnames":["b"]},{"ip":"10.0.0.2","hostnames":["c"]}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["b"],"ip":"10.0.0.1"},{"hostnames":["c"],"ip":"10.0.0.2"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "label delete and add",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"metadata":{"labels":{"tier":null,"new":"x"}}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","new":"x"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "finalizers merge as set",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"metadata":{"finalizers":["c/z","a/x"]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["c/z","a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "finalizers delete from primitive list",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a/x"]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "finalizers set element order",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"metadata":{"$setElementOrder/finalizers":["b/y","c/z","a/x"],"finalizers":["c/z"]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["b/y","c/z","a/x"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "ownerReferences by uid",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Secret","name":"s","uid":"u2"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"Secret","name":"s","uid":"u2"},{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "containers set element order",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"main"}],"containers":[{"name":"side","image":"b2"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"image":"b2","name":"side"},{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "status conditions by type",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"True","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "nodeSelector replace directive",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"nodeSelector":{"$patch":"replace","zone":"a"}}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"zone":"a"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "spec delete directive",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"status":{"$patch":"delete"}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{}}"#,
        ),
    ),
    (
        "v1/Pod",
        "retainKeys on spec rejects unlisted key",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"$retainKeys":["containers"],"hostname":"h"}}"#,
        Error("invalid patch format of retainKeys"),
    ),
    (
        "v1/Pod",
        "retainKeys not a list",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"$retainKeys":"containers"}}"#,
        Error("invalid patch format of retainKeys"),
    ),
    (
        "v1/Pod",
        "bad deleteFromPrimitiveList key",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"metadata":{"$deleteFromPrimitiveList":["a/x"]}}"#,
        Error("invalid patch format of primitive list"),
    ),
    (
        "v1/Pod",
        "bad setElementOrder key",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"metadata":{"$setElementOrder":["a/x"]}}"#,
        Error("invalid patch format of setElementOrder list"),
    ),
    (
        "v1/Pod",
        "unknown patch directive",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"$patch":"frob"}}"#,
        Error("unknown patch type: frob in map: map[$patch:frob]"),
    ),
    (
        "v1/Pod",
        "missing merge key",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"image":"x"}]}}"#,
        Error("map: map[image:x] does not contain declared merge key: name"),
    ),
    (
        "v1/Pod",
        "merge directive in list",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":[{"name":"x","$patch":"merge"}]}}"#,
        Error("merging lists cannot yet be specified in the patch"),
    ),
    (
        "v1/Pod",
        "list of lists",
        r#"{"spec":{"containers":[{"name":"a","args":[["x"]]}]}}"#,
        r#"{"metadata":{"finalizers":[["a"]]}}"#,
        Doc(
            r#"{"metadata":{"finalizers":[["a"]]},"spec":{"containers":[{"args":[["x"]],"name":"a"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "mixed int and float in merged list",
        r#"{"metadata":{"finalizers":[1]}}"#,
        r#"{"metadata":{"finalizers":[1.5]}}"#,
        Error("list element types are not identical: [[1] [1.5]]"),
    ),
    (
        "v1/Pod",
        "type change replaces",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"containers":{"name":"x"}}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":{"name":"x"},"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "new subtree keeps nested nulls out",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"securityContext":{"runAsUser":1,"runAsGroup":null}}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"securityContext":{"runAsUser":1},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Pod",
        "patch with only nulls for missing",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"app":"a","tier":"web"},"finalizers":["a/x","b/y"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"name":"main","image":"nginx:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"args":["a","b"]},{"name":"side","image":"busybox"}],"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}],"tolerations":[{"key":"k","operator":"Exists"}],"imagePullSecrets":[{"name":"s1"}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a"]}],"nodeSelector":{"disk":"ssd"}},"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}"#,
        r#"{"spec":{"missing":null}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"finalizers":["a/x","b/y"],"labels":{"app":"a","tier":"web"},"name":"p","namespace":"ns","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1"}]},"spec":{"containers":[{"args":["a","b"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1","name":"main","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"image":"busybox","name":"side"}],"hostAliases":[{"hostnames":["a"],"ip":"10.0.0.1"}],"imagePullSecrets":[{"name":"s1"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists"}],"volumes":[{"emptyDir":{},"name":"data"},{"configMap":{"name":"c"},"name":"cfg"}]},"status":{"conditions":[{"status":"False","type":"Ready"},{"status":"True","type":"PodScheduled"}]}}"#,
        ),
    ),
    (
        "v1/Service",
        "ports by port",
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":8080},{"port":443,"protocol":"TCP"}],"selector":{"app":"a"}}}"#,
        r#"{"spec":{"ports":[{"port":80,"targetPort":9090},{"port":8443,"protocol":"TCP"}]}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":9090},{"port":8443,"protocol":"TCP"},{"port":443,"protocol":"TCP"}],"selector":{"app":"a"}}}"#,
        ),
    ),
    (
        "v1/Service",
        "selector merge",
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":8080},{"port":443,"protocol":"TCP"}],"selector":{"app":"a"}}}"#,
        r#"{"spec":{"selector":{"app":null,"b":"c"}}}"#,
        Doc(
            r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":8080},{"port":443,"protocol":"TCP"}],"selector":{"b":"c"}}}"#,
        ),
    ),
    (
        "batch/v1/Job",
        "pod template containers",
        r#"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x","env":[{"name":"A","value":"1"}]}],"restartPolicy":"Never"}}}}"#,
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","env":[{"name":"B","value":"2"}]}]}}}}"#,
        Doc(
            r#"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},"spec":{"template":{"spec":{"containers":[{"env":[{"name":"B","value":"2"},{"name":"A","value":"1"}],"image":"x","name":"c"}],"restartPolicy":"Never"}}}}"#,
        ),
    ),
    (
        "apiextensions.k8s.io/v1/CustomResourceDefinition",
        "versions replaced",
        r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"x.y"},"spec":{"group":"y","names":{"kind":"X","plural":"x"},"scope":"Namespaced","versions":[{"name":"v1","served":true,"storage":true}]}}"#,
        r#"{"spec":{"versions":[{"name":"v2","served":true,"storage":true}]}}"#,
        Doc(
            r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"x.y"},"spec":{"group":"y","names":{"kind":"X","plural":"x"},"scope":"Namespaced","versions":[{"name":"v2","served":true,"storage":true}]}}"#,
        ),
    ),
];
