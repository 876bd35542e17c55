//! Bad and unusual input: YAML bodies, malformed and empty bodies, bodies of the
//! wrong shape, content types the server does not take, methods a path does not
//! allow, unknown versions, groups and subresources, odd names in paths, bad query
//! parameters, hostile nesting and sizes.

use crate::harness::Session;
use http::Method;
use serde_json::json;

const NS: &str = "d-input";

pub async fn scenario(s: &mut Session) {
    s.namespace(NS).await;
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}});
    s.must_create(&cms, &cm("existing")).await;

    let bodies: [(&str, &str, &[u8]); 14] = [
        (
            "yaml-body",
            "application/yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n",
        ),
        (
            "yaml-malformed",
            "application/yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: [name: x\n",
        ),
        (
            "yaml-wrong-types",
            "application/yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typed\ndata:\n  a: 1\n",
        ),
        ("empty-body", "application/json", b""),
        ("json-array-body", "application/json", b"[1, 2]"),
        ("json-string-body", "application/json", b"\"configmap\""),
        (
            "json-trailing-garbage",
            "application/json",
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t"}} trailing"#,
        ),
        (
            "json-wrong-field-type",
            "application/json",
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t"},"data":["a"]}"#,
        ),
        (
            "json-metadata-not-an-object",
            "application/json",
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":"t"}"#,
        ),
        (
            "json-missing-api-version",
            "application/json",
            br#"{"kind":"ConfigMap","metadata":{"name":"t"}}"#,
        ),
        (
            "json-missing-kind",
            "application/json",
            br#"{"apiVersion":"v1","metadata":{"name":"t"}}"#,
        ),
        (
            "json-invalid-utf8",
            "application/json",
            b"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"u\"},\"data\":{\"a\":\"\xff\"}}",
        ),
        ("protobuf-garbage", "application/vnd.kubernetes.protobuf", b"\x01\x02\x03"),
        ("form-content-type", "application/x-www-form-urlencoded", b"a=b"),
    ];
    for (step, content_type, body) in bodies {
        s.call(Method::POST, &cms)
            .raw(content_type, body)
            .send(step)
            .await;
    }
    let deep = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"deep"}},"data":{{"a":{}1{}}}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    s.call(Method::POST, &cms)
        .raw("application/json", deep.as_bytes())
        .send("deeply-nested")
        .await;
    s.call(Method::PUT, format!("{cms}/existing"))
        .raw("text/plain", b"x")
        .send("put-text-plain")
        .await;
    let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "existing"}, "data": {"a": "x".repeat(2 << 20)}});
    s.put("put-over-the-object-limit", format!("{cms}/existing"), &big)
        .await;
    let huge = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "existing"}, "data": {"a": "x".repeat(10 << 20)}});
    s.put(
        "put-over-the-request-limit",
        format!("{cms}/existing"),
        &huge,
    )
    .await;
    s.get("after-failed-writes", format!("{cms}/existing"))
        .await;

    // Methods and paths.
    s.call(Method::PATCH, &cms)
        .raw("application/merge-patch+json", b"{}")
        .send("patch-collection")
        .await;
    s.call(Method::from_bytes(b"PROPFIND").expect("method"), &cms)
        .send("unknown-method")
        .await;
    s.call(
        Method::DELETE,
        format!("/api/v1/namespaces/{NS}/pods/p/log"),
    )
    .send("delete-log-subresource")
    .await;
    s.post(
        "post-to-status",
        format!("{cms}/existing/status"),
        &cm("existing"),
    )
    .await;
    for (step, path) in [
        ("unknown-version", "/api/v2".to_string()),
        ("unknown-group-version", "/apis/batch/v9/jobs".to_string()),
        ("unknown-subresource", format!("{cms}/existing/bogus")),
        (
            "status-of-a-kind-without-one",
            format!("{cms}/existing/status"),
        ),
        ("trailing-slash", format!("{cms}/")),
        ("encoded-slash-in-name", format!("{cms}/a%2Fb")),
        ("dot-dot-name", format!("{cms}/..")),
        ("uppercase-name", format!("{cms}/UPPER")),
        ("very-long-name", format!("{cms}/{}", "a".repeat(300))),
        (
            "unknown-query-parameter",
            format!("{cms}?bogus=1&labelSelector=x"),
        ),
        ("timeout-not-a-number", format!("{cms}?timeoutSeconds=soon")),
        (
            "watch-not-a-bool",
            format!("{cms}?watch=perhaps&timeoutSeconds=1"),
        ),
        (
            "namespaces-of-a-cluster-kind",
            "/api/v1/namespaces/default/persistentvolumes".to_string(),
        ),
        (
            "cluster-path-of-a-namespaced-object",
            "/api/v1/configmaps/existing".to_string(),
        ),
        ("core-group-under-apis", "/apis/v1/configmaps".to_string()),
        ("version", "/version".to_string()),
        ("healthz", "/healthz".to_string()),
        ("readyz-verbose-check", "/readyz/ping".to_string()),
    ] {
        s.get(step, path).await;
    }
}
