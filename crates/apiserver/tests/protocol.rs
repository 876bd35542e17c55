//! Protocol details, driven straight through the router (no socket): discovery,
//! content negotiation, tables, list semantics, warnings, errors for bad input, and
//! metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ferry_apiserver::{ApiServer, InProcess};
use serde_json::{Value, json};
use tower::ServiceExt;

struct App {
    inner: InProcess,
}

struct Resp {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl App {
    async fn new() -> App {
        App {
            inner: ApiServer::builder()
                .in_memory()
                .token("t0ken")
                .start_in_process()
                .await
                .unwrap(),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        auth: bool,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if auth {
            b = b.header("authorization", "Bearer t0ken");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = self
            .inner
            .router
            .clone()
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[], Vec::new(), true).await
    }

    async fn get_as(&self, path: &str, accept: &str) -> Resp {
        self.send("GET", path, &[("accept", accept)], Vec::new(), true)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap(),
            true,
        )
        .await
    }

    async fn raw(&self, method: &str, path: &str, ct: &str, body: &[u8]) -> Resp {
        self.send(method, path, &[("content-type", ct)], body.to_vec(), true)
            .await
    }
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "x"}}, "data": {"a": "b"}})
}

fn assert_status(r: &Resp, code: u16, reason: &str) -> Value {
    assert_eq!(r.status, code, "{}", r.text());
    let s = r.json();
    assert_eq!(s["kind"], "Status", "{s}");
    assert_eq!(s["status"], "Failure");
    assert_eq!(s["code"], code);
    assert_eq!(s["reason"], reason, "{s}");
    s
}

#[tokio::test]
async fn legacy_and_aggregated_discovery() {
    let app = App::new().await;
    let api = app.get("/api").await.json();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], json!(["v1"]));
    let groups = app.get("/apis").await.json();
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in [
        "batch",
        "storage.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "apiextensions.k8s.io",
    ] {
        assert!(names.contains(&g), "{names:?}");
    }
    let v1 = app.get("/api/v1").await.json();
    let pods = v1["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap();
    assert_eq!(pods["namespaced"], true);
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(pods["categories"], json!(["all"]));
    assert!(
        v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "pods/log")
    );
    assert!(
        v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "namespaces/finalize")
    );
    let batch = app.get("/apis/batch").await.json();
    assert_eq!(batch["preferredVersion"]["groupVersion"], "batch/v1");
    let agg = app
        .get_as(
            "/apis",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )
        .await;
    assert_eq!(
        agg.headers["content-type"].to_str().unwrap(),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let agg = agg.json();
    assert_eq!(agg["kind"], "APIGroupDiscoveryList");
    let jobs = &agg["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == "batch")
        .unwrap()["versions"][0]["resources"][0];
    assert_eq!(jobs["resource"], "jobs");
    assert_eq!(jobs["scope"], "Namespaced");
    assert_eq!(jobs["subresources"][0]["subresource"], "status");
    assert_eq!(app.get("/apis/nope").await.status, 404);
    assert_eq!(app.get("/apis/nope/v1").await.status, 404);
    let v = app
        .send("GET", "/version", &[], Vec::new(), false)
        .await
        .json();
    assert_eq!(v["major"], "1");
    assert_eq!(
        app.send("GET", "/healthz", &[], Vec::new(), false)
            .await
            .text(),
        "ok"
    );
    let r = app
        .send("GET", "/readyz?verbose", &[], Vec::new(), false)
        .await
        .text();
    assert!(r.ends_with("readyz check passed\n"), "{r}");
}

#[tokio::test]
async fn openapi_v3_advertises_field_validation_on_patch() {
    let app = App::new().await;
    let idx = app.get("/openapi/v3").await.json();
    let url = idx["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = app.get(&url).await.json();
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "ConfigMap"
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert!(
        patch["requestBody"]["content"]
            .get("application/strategic-merge-patch+json")
            .is_none()
    );
    assert_eq!(app.get("/openapi/v2").await.status, 404);
}

#[tokio::test]
async fn tables_partial_metadata_and_yaml() {
    let app = App::new().await;
    assert_eq!(
        app.post("/api/v1/namespaces/default/configmaps", cm("a"))
            .await
            .status,
        201
    );
    let t = app
        .get_as(
            "/api/v1/namespaces/default/configmaps",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .await
        .json();
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "Data", "Age"]);
    assert_eq!(t["rows"][0]["cells"][0], "a");
    assert_eq!(t["rows"][0]["cells"][1], 1);
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let t = app
        .get_as(
            "/api/v1/namespaces/default/configmaps/a?includeObject=Object",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .await
        .json();
    assert_eq!(t["rows"][0]["object"]["data"]["a"], "b");
    let p = app
        .get_as(
            "/api/v1/namespaces/default/configmaps",
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
        )
        .await
        .json();
    assert_eq!(p["kind"], "PartialObjectMetadataList");
    assert_eq!(p["items"][0]["metadata"]["name"], "a");
    let y = app
        .get_as(
            "/api/v1/namespaces/default/configmaps/a",
            "application/yaml",
        )
        .await;
    assert_eq!(y.headers["content-type"], "application/yaml");
    assert!(y.text().contains("name: a"), "{}", y.text());
    let r = app
        .get_as(
            "/api/v1/namespaces/default/configmaps/a",
            "application/vnd.kubernetes.protobuf",
        )
        .await;
    assert_status(&r, 406, "NotAcceptable");
}

#[tokio::test]
async fn unknown_fields_warn_by_default_and_fail_when_strict() {
    let app = App::new().await;
    let mut body = cm("w");
    body["spec"] = json!({"x": 1});
    let r = app
        .post("/api/v1/namespaces/default/configmaps", body.clone())
        .await;
    assert_eq!(r.status, 201);
    let warnings: Vec<&str> = r
        .headers
        .get_all("warning")
        .iter()
        .map(|h| h.to_str().unwrap())
        .collect();
    assert_eq!(warnings, ["299 - \"unknown field \\\"spec\\\"\""]);
    body["metadata"]["name"] = json!("s");
    let r = app
        .post(
            "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
            body,
        )
        .await;
    let s = assert_status(&r, 400, "BadRequest");
    assert_eq!(
        s["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"spec\""
    );
}

#[tokio::test]
async fn list_resource_version_semantics() {
    let app = App::new().await;
    let first = app
        .post("/api/v1/namespaces/default/configmaps", cm("a"))
        .await
        .json();
    let rv1 = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    app.post("/api/v1/namespaces/default/configmaps", cm("b"))
        .await;
    // Exact at an old resourceVersion shows the state then.
    let l = app
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?resourceVersion={rv1}&resourceVersionMatch=Exact"
        ))
        .await
        .json();
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    assert_eq!(l["metadata"]["resourceVersion"], rv1);
    // Invalid combinations are refused as ValidateListOptions refuses them.
    let r = app
        .get("/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact")
        .await;
    let s = assert_status(&r, 422, "Invalid");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("resourceVersionMatch is forbidden unless resourceVersion is provided")
    );
    let r = app
        .get("/api/v1/namespaces/default/configmaps?resourceVersion=0&resourceVersionMatch=Exact")
        .await;
    assert_status(&r, 422, "Invalid");
    // A continue token past the window is 410 Expired.
    let l = app
        .get("/api/v1/namespaces/default/configmaps?limit=1")
        .await
        .json();
    let token = l["metadata"]["continue"].as_str().unwrap().to_string();
    app.post("/api/v1/namespaces/default/configmaps", cm("c"))
        .await;
    app.inner.api.store.compact();
    let r = app
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?limit=1&continue={token}"
        ))
        .await;
    let s = assert_status(&r, 410, "Expired");
    assert!(
        s["metadata"]["continue"].is_string(),
        "a fresh token to continue inconsistently: {s}"
    );
    // A resourceVersion from the future is a timeout (after the server waited for it).
    let r = app
        .get("/api/v1/namespaces/default/configmaps?resourceVersion=99999999")
        .await;
    let s = assert_status(&r, 504, "Timeout");
    assert_eq!(
        s["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
}

#[tokio::test]
async fn delete_collection_and_dry_run() {
    let app = App::new().await;
    for n in ["a", "b", "c"] {
        app.post("/api/v1/namespaces/default/configmaps", cm(n))
            .await;
    }
    let mut other = cm("d");
    other["metadata"]["labels"] = json!({"app": "y"});
    app.post("/api/v1/namespaces/default/configmaps", other)
        .await;
    let r = app
        .send(
            "DELETE",
            "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dx&dryRun=All",
            &[],
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.get("/api/v1/namespaces/default/configmaps")
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let r = app
        .send(
            "DELETE",
            "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dx",
            &[],
            Vec::new(),
            true,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 3);
    let left = app
        .get("/api/v1/namespaces/default/configmaps")
        .await
        .json();
    assert_eq!(left["items"][0]["metadata"]["name"], "d");
    // Namespaces do not support deletecollection.
    let r = app
        .send("DELETE", "/api/v1/namespaces", &[], Vec::new(), true)
        .await;
    assert_status(&r, 405, "MethodNotAllowed");
}

#[tokio::test]
async fn managed_fields_record_the_field_manager() {
    let app = App::new().await;
    let r = app
        .post(
            "/api/v1/namespaces/default/configmaps?fieldManager=tester",
            cm("m"),
        )
        .await
        .json();
    let mf = &r["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "tester");
    assert_eq!(mf["operation"], "Update");
    assert!(mf["fieldsV1"]["f:data"]["f:a"].is_object(), "{mf}");
}

#[tokio::test]
async fn pod_logs_errors() {
    let app = App::new().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]}});
    assert_eq!(
        app.post("/api/v1/namespaces/default/pods", pod)
            .await
            .status,
        201
    );
    let r = app.get("/api/v1/namespaces/default/pods/p/log").await;
    let s = assert_status(&r, 400, "BadRequest");
    assert_eq!(
        s["message"],
        "a container name must be specified for pod p, choose one of: [a b]"
    );
    // Not scheduled: no kubelet to ask, an empty answer.
    let r = app
        .get("/api/v1/namespaces/default/pods/p/log?container=a")
        .await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    let r = app.get("/api/v1/namespaces/default/pods/nope/log").await;
    assert_status(&r, 404, "NotFound");
}

#[tokio::test]
async fn bad_input_gets_a_status_error() {
    let app = App::new().await;
    let p = "/api/v1/namespaces/default/configmaps";
    // Malformed JSON and YAML.
    let r = app.raw("POST", p, "application/json", b"{not json").await;
    let s = assert_status(&r, 400, "BadRequest");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .starts_with("the object provided is unrecognized (must be of type ConfigMap)"),
        "{s}"
    );
    let r = app
        .raw("POST", p, "application/yaml", b"a: [unclosed\n  b: {")
        .await;
    assert_status(&r, 400, "BadRequest");
    let r = app.raw("POST", p, "application/json", b"[1,2,3]").await;
    assert_status(&r, 400, "BadRequest");
    let r = app.raw("POST", p, "application/json", b"").await;
    assert_status(&r, 400, "BadRequest");
    // YAML bodies are accepted.
    let r = app
        .raw(
            "POST",
            p,
            "application/yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // Wrong apiVersion and kind.
    let mut wrong = cm("x");
    wrong["apiVersion"] = json!("apps/v1");
    let s = assert_status(&app.post(p, wrong).await, 400, "BadRequest");
    assert_eq!(
        s["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: no kind \"ConfigMap\" is registered for version \"apps/v1\" in scheme \"pkg/runtime/scheme.go:110\""
    );
    let mut wrong = cm("x");
    wrong["kind"] = json!("Secret");
    assert_status(&app.post(p, wrong).await, 400, "BadRequest");
    // Names that are not DNS-1123 subdomains.
    for bad in ["UPPER", "under_score", "-lead", "trail-", &"a".repeat(254)] {
        let s = assert_status(&app.post(p, cm(bad)).await, 422, "Invalid");
        assert_eq!(s["details"]["causes"][0]["field"], "metadata.name", "{bad}");
    }
    // Labels with bad values.
    let mut c = cm("lbl");
    c["metadata"]["labels"] = json!({"app": "not ok!"});
    let s = assert_status(&app.post(p, c).await, 422, "Invalid");
    assert_eq!(s["details"]["causes"][0]["field"], "metadata.labels");
    // resourceVersion on create: kube-apiserver answers an unclassified 500.
    let mut c = cm("rv");
    c["metadata"]["resourceVersion"] = json!("5");
    let r = app.post(p, c).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["message"],
        "resourceVersion should not be set on objects to be created"
    );
    // Namespace mismatch.
    let mut c = cm("nsx");
    c["metadata"]["namespace"] = json!("other");
    let s = assert_status(&app.post(p, c).await, 400, "BadRequest");
    assert_eq!(
        s["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    // 10 MiB bodies are refused before parsing.
    let big = vec![b'x'; 10 << 20];
    let s = assert_status(
        &app.raw("POST", p, "application/json", &big).await,
        413,
        "RequestEntityTooLarge",
    );
    assert_eq!(s["message"], "Request entity too large: limit is 3145728");
    // A 2 MiB ConfigMap fails validation (1 MiB of data at most).
    let mut c = cm("huge");
    c["data"] = json!({"a": "x".repeat(2 << 20)});
    assert_status(&app.post(p, c).await, 422, "Invalid");
    // Unknown resources and groups; protobuf for what has no protobuf form.
    assert_status(&app.get("/api/v1/foos").await, 404, "NotFound");
    // Paths no group serves get the mux's plain 404, as from kube-apiserver;
    // unknown versions of served groups (and of the core API) a NotFound Status.
    for p in [
        "/apis/nope.example.com/v1/things",
        "/apis/nope.example.com/v1",
    ] {
        let r = app.get(p).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (404, "404 page not found\n"),
            "{p}"
        );
    }
    for p in [
        "/api/v2/pods",
        "/api/v2",
        "/apis/batch/v7/jobs",
        "/apis/batch/v7",
    ] {
        assert_status(&app.get(p).await, 404, "NotFound");
    }
    assert_status(&app.get("/apis/batch/v1/nonsense").await, 404, "NotFound");
    assert_status(
        &app.get("/api/v1/namespaces/default/pods/p/nonsense").await,
        404,
        "NotFound",
    );
    assert_status(
        &app.raw("POST", p, "text/plain", b"hi").await,
        415,
        "UnsupportedMediaType",
    );
    assert_status(
        &app.raw("POST", p, "application/vnd.kubernetes.protobuf", b"garbage")
            .await,
        400,
        "BadRequest",
    );
    // Missing and wrong tokens.
    let r = app.send("GET", p, &[], Vec::new(), false).await;
    let s = assert_status(&r, 401, "Unauthorized");
    assert_eq!(s["message"], "Unauthorized");
    let r = app
        .send(
            "GET",
            p,
            &[("authorization", "Bearer wrong")],
            Vec::new(),
            false,
        )
        .await;
    assert_status(&r, 401, "Unauthorized");
    let r = app
        .send(
            "GET",
            p,
            &[("authorization", "Basic dTpw")],
            Vec::new(),
            false,
        )
        .await;
    assert_status(&r, 401, "Unauthorized");
    // Absurd query parameters.
    for q in [
        "limit=abc",
        "labelSelector=a%20in%20(",
        "labelSelector=%21%21%21",
        "fieldSelector=nonsense",
        "fieldSelector=spec.bogus%3D1",
        "resourceVersion=abc",
        "continue=%%%",
        "resourceVersionMatch=Sometimes&resourceVersion=1",
        "timeoutSeconds=soon&watch=true",
    ] {
        let r = app.get(&format!("{p}?{q}")).await;
        assert!(
            r.status == 400 || r.status == 422,
            "{q}: {} {}",
            r.status,
            r.text()
        );
        assert_eq!(r.json()["kind"], "Status", "{q}");
    }
    // A boolean parameter is false only for `false` and `0`, as kube-apiserver
    // reads it: `watch=maybe` watches.
    let r = app.get(&format!("{p}?watch=maybe&timeoutSeconds=1")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("\"type\":\"ADDED\""), "{}", r.text());
    let r = app
        .send(
            "DELETE",
            &format!("{p}/from-yaml?propagationPolicy=Sideways"),
            &[],
            Vec::new(),
            true,
        )
        .await;
    assert_status(&r, 422, "Invalid");
    let r = app
        .send(
            "PATCH",
            &format!("{p}/from-yaml"),
            &[("content-type", "application/merge-patch+json")],
            b"{{{".to_vec(),
            true,
        )
        .await;
    assert_status(&r, 400, "BadRequest");
    let r = app
        .send(
            "PATCH",
            &format!("{p}/from-yaml"),
            &[("content-type", "application/json-patch+json")],
            br#"[{"op":"explode"}]"#.to_vec(),
            true,
        )
        .await;
    assert!(r.status >= 400 && r.status < 600 && r.json()["kind"] == "Status");
    // The server is still serving.
    assert_eq!(app.get(&format!("{p}/from-yaml")).await.status, 200);
}

#[tokio::test]
async fn objects_over_the_storage_limit_are_refused_as_etcd_refuses_them() {
    let app = App::new().await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "blobs.test.ferry.io"},
        "spec": {"group": "test.ferry.io", "scope": "Namespaced",
            "names": {"plural": "blobs", "singular": "blob", "kind": "Blob", "listKind": "BlobList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"data": {"type": "string"}}}}}]}
    });
    assert_eq!(
        app.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            crd
        )
        .await
        .status,
        201
    );
    let blob = json!({"apiVersion": "test.ferry.io/v1", "kind": "Blob", "metadata": {"name": "b"}, "data": "x".repeat(2 << 20)});
    let r = app
        .post("/apis/test.ferry.io/v1/namespaces/default/blobs", blob)
        .await;
    assert_eq!(r.status, 500, "{}", r.text());
    let s = r.json();
    assert_eq!(s["message"], "etcdserver: request is too large");
    assert!(
        s.get("reason").is_none(),
        "an unclassified error has no reason: {s}"
    );
}

#[tokio::test]
async fn metrics_count_requests() {
    let app = App::new().await;
    app.post("/api/v1/namespaces/default/configmaps", cm("a"))
        .await;
    app.get("/api/v1/namespaces/default/configmaps/a").await;
    app.get("/api/v1/namespaces/default/configmaps/a").await;
    let m = app.get("/metrics").await.text();
    assert!(m.contains("apiserver_request_total{code=\"200\",component=\"apiserver\",group=\"\",resource=\"configmaps\",subresource=\"\",verb=\"GET\",version=\"v1\"} 2"), "{m}");
    assert!(m.contains("verb=\"POST\""));
    let snap = app.inner.api.counters.snapshot();
    assert_eq!(snap.count("get", "configmaps"), 2);
    assert_eq!(snap.count("create", "configmaps"), 1);
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let app = App::new().await;
    let r = app.get("/nope").await;
    assert_eq!(
        StatusCode::from_u16(r.status).unwrap(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(r.text(), "404 page not found\n");
    let r = app.get("/api/v1/nopes").await;
    let s = assert_status(&r, 404, "NotFound");
    assert_eq!(
        s["message"],
        "the server could not find the requested resource"
    );
}
