//! The machinery of the differential suite: a [`Session`] per server that sends a
//! scenario's requests and records what each step observed (normalized), the
//! comparison of the two recordings, and the check against the list of accepted
//! differences in `docs/apiserver-differences.md`.
//!
//! A scenario is an `async fn(&mut Session)`: the same code runs against both
//! servers at once, and reads values out of replies (resourceVersions, uids) to
//! build its next requests, as a client would. Every step it names is recorded; a
//! step named `""` (set-up, polling) is not.
//!
//! Normalization removes what legitimately differs between two servers and nothing
//! else: uids (replaced by a placeholder naming their object, so references still
//! compare), resourceVersion values, continue tokens, timestamps, allocated cluster
//! IPs, the random suffixes of generated names, and the Go map order of a multi-error
//! `Invalid` message. Numbers in a Status message are replaced only for steps that
//! ask (their numbers are resourceVersions).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use std::time::Duration;

use ferry_apiserver::RunningApiServer;
use http::Method;
use kube::Client;
use regex::Regex;
use serde_json::{Value, json};

/// Content types of the four patch flavours and of YAML bodies.
pub const MERGE: &str = "application/merge-patch+json";
/// JSON patch (RFC 6902).
pub const JSON_PATCH: &str = "application/json-patch+json";
/// Strategic merge patch.
pub const STRATEGIC: &str = "application/strategic-merge-patch+json";
/// Server-side apply.
pub const APPLY: &str = "application/apply-patch+yaml";

/// How long a step waits for a controller (garbage collector, namespace controller).
/// The real garbage collector notices new custom resource kinds only at its
/// 30-second discovery resync, hence the margin.
pub const PATIENCE: Duration = Duration::from_secs(100);

/// Which server a session talks to, and the handle to force what time would do.
pub enum Control {
    /// The real kube-apiserver shared by the test binary: no restarts.
    SharedReal,
    /// A real control plane of the scenario's own (it may be restarted).
    OwnReal(Box<ferry_realkube::ControlPlane>),
    /// The embedded server.
    Ours(RunningApiServer),
}

/// One server's run of a scenario.
pub struct Session {
    /// `real` or `ours`.
    pub target: &'static str,
    client: Client,
    control: Control,
    steps: Vec<(String, Value)>,
    /// uid → placeholder naming its object.
    uids: BTreeMap<String, String>,
    /// generated name → placeholder keeping the generateName prefix.
    generated: BTreeMap<String, String>,
    /// namespace/name → how many uids were seen for it (objects deleted and recreated).
    incarnations: BTreeMap<String, usize>,
}

/// A server's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status code.
    pub code: u16,
    /// The body, parsed (or `Value::String` of the text when it is not JSON).
    pub body: Value,
    /// `Warning` headers' texts.
    pub warnings: Vec<String>,
    /// The `Retry-After` header.
    pub retry_after: Option<String>,
}

impl Reply {
    /// A string at a JSON pointer of the body, or "".
    pub fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// `metadata.resourceVersion` (of an object or a list).
    pub fn rv(&self) -> String {
        self.str("/metadata/resourceVersion")
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> String {
        self.str("/metadata/uid")
    }
}

/// A request being built: `s.call(Method::POST, path).json(body).send("step")`.
pub struct Call<'a> {
    session: &'a mut Session,
    method: Method,
    path: String,
    content_type: String,
    accept: Option<String>,
    body: Vec<u8>,
    numbers_in_message: bool,
}

impl Call<'_> {
    /// A JSON body (`application/json` unless [`Call::content_type`] says otherwise).
    pub fn json(mut self, body: &Value) -> Self {
        self.body = serde_json::to_vec(body).expect("a JSON body");
        self
    }

    /// A body of this content type, as bytes.
    pub fn raw(mut self, content_type: &str, body: &[u8]) -> Self {
        self.content_type = content_type.to_string();
        self.body = body.to_vec();
        self
    }

    /// The content type (for patches: [`MERGE`], [`JSON_PATCH`], [`STRATEGIC`], [`APPLY`]).
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = content_type.to_string();
        self
    }

    /// An `Accept` header.
    pub fn accept(mut self, accept: &str) -> Self {
        self.accept = Some(accept.to_string());
        self
    }

    /// Replaces the numbers in a Status message (they are resourceVersions).
    pub fn numbers_in_message_are_versions(mut self) -> Self {
        self.numbers_in_message = true;
        self
    }

    /// Sends the request; records the normalized answer as `step` unless it is "".
    pub async fn send(self, step: &str) -> Reply {
        let Call {
            session,
            method,
            path,
            content_type,
            accept,
            body,
            numbers_in_message,
        } = self;
        let mut req = http::Request::builder()
            .method(method.clone())
            .uri(&path)
            .header("content-type", content_type);
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let req = req
            .body(kube::client::Body::from(body.clone()))
            .expect("request");
        let call = session.client.send(req);
        let resp = tokio::time::timeout(Duration::from_secs(60), call)
            .await
            .unwrap_or_else(|_| panic!("{}: {method} {path}: no answer in 60 s", session.target))
            .unwrap_or_else(|e| panic!("{}: {method} {path}: {e}", session.target));
        let code = resp.status().as_u16();
        let warnings = resp
            .headers()
            .get_all("warning")
            .iter()
            .map(|v| warning_text(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let yaml = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/yaml"));
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let bytes = tokio::time::timeout(Duration::from_secs(60), resp.into_body().collect_bytes())
            .await
            .unwrap_or_else(|_| {
                panic!("{}: {method} {path}: body not read in 60 s", session.target)
            })
            .unwrap_or_else(|e| {
                panic!("{}: {method} {path}: reading the body: {e}", session.target)
            });
        let reply = Reply {
            code,
            body: if yaml {
                // Compared as data: YAML writers quote differently.
                serde_saphyr::from_slice::<Value>(&bytes).unwrap_or_else(|_| parse_body(&bytes))
            } else if code == 200 && (path.contains("watch=true") || path.contains("/watch/")) {
                watch_events(&bytes)
            } else {
                parse_body(&bytes)
            },
            warnings,
            retry_after,
        };
        session.learn_refused_name(&body, &reply.body);
        session.learn(&reply.body);
        if !step.is_empty() {
            let observed = session.observe(&reply, numbers_in_message);
            session.record(step, observed);
        }
        reply
    }
}

/// The text of a `Warning: 299 - "text"` header.
fn warning_text(header: &str) -> String {
    header
        .strip_prefix("299 - ")
        .map(|t| t.trim_matches('"').replace("\\\"", "\""))
        .unwrap_or_else(|| header.to_string())
}

/// A watch stream's events (one JSON document per line), consecutive identical
/// bookmarks once: kube-apiserver sends its pre-timeout bookmark once or twice
/// depending on where its one-second ticks fall.
fn watch_events(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let mut events: Vec<Value> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let event = serde_json::from_str(line).unwrap_or_else(|_| json!({"unparsed": line}));
        let bookmark = event["type"] == "BOOKMARK";
        if bookmark && events.last() == Some(&event) {
            continue;
        }
        events.push(event);
    }
    json!({"watchEvents": events})
}

/// A JSON body, or the lines of a watch stream as an array, or the text.
fn parse_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return v;
    }
    let text = String::from_utf8_lossy(bytes);
    // A watch answer: one JSON event per line.
    let events: Option<Vec<Value>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).ok())
        .collect();
    match events {
        Some(events) if !events.is_empty() => json!({"watchEvents": events}),
        _ => Value::String(text.into_owned()),
    }
}

impl Session {
    /// A session on `client`.
    pub fn new(target: &'static str, client: Client, control: Control) -> Self {
        Session {
            target,
            client,
            control,
            steps: Vec::new(),
            uids: BTreeMap::new(),
            generated: BTreeMap::new(),
            incarnations: BTreeMap::new(),
        }
    }

    /// Starts a request.
    pub fn call(&mut self, method: Method, path: impl Into<String>) -> Call<'_> {
        Call {
            session: self,
            method,
            path: path.into(),
            content_type: "application/json".into(),
            accept: None,
            body: Vec::new(),
            numbers_in_message: false,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, step: &str, path: impl Into<String>) -> Reply {
        self.call(Method::GET, path).send(step).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&mut self, step: &str, path: impl Into<String>, body: &Value) -> Reply {
        self.call(Method::POST, path).json(body).send(step).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&mut self, step: &str, path: impl Into<String>, body: &Value) -> Reply {
        self.call(Method::PUT, path).json(body).send(step).await
    }

    /// `PATCH path` with a patch of `content_type`.
    pub async fn patch(
        &mut self,
        step: &str,
        path: impl Into<String>,
        content_type: &str,
        body: &Value,
    ) -> Reply {
        self.call(Method::PATCH, path)
            .json(body)
            .content_type(content_type)
            .send(step)
            .await
    }

    /// `DELETE path` (with DeleteOptions when `options` is not null).
    pub async fn delete(&mut self, step: &str, path: impl Into<String>, options: &Value) -> Reply {
        let call = self.call(Method::DELETE, path);
        let call = if options.is_null() {
            call
        } else {
            call.json(options)
        };
        call.send(step).await
    }

    /// POSTs `body` to `path` after `delay`, in the background and unrecorded (to
    /// make something happen while a watch runs).
    pub fn post_later(&self, delay: Duration, path: &str, body: &Value) {
        let client = self.client.clone();
        let (path, body) = (path.to_string(), serde_json::to_vec(body).expect("json"));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let req = http::Request::post(path)
                .header("content-type", "application/json")
                .body(body)
                .expect("request");
            let _ = client.request_text(req).await;
        });
    }

    /// Creates `body` at `path`, failing the test unless it is created (set-up).
    pub async fn must_create(&mut self, path: &str, body: &Value) -> Reply {
        let r = self.post("", path, body).await;
        assert!(
            r.code == 201 || r.code == 200,
            "{}: set-up POST {path}: {} {}",
            self.target,
            r.code,
            r.body
        );
        r
    }

    /// Creates a namespace for a scenario and waits for its `default`
    /// ServiceAccount (pods need it, as on a real cluster).
    pub async fn namespace(&mut self, name: &str) {
        self.must_create(
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        )
        .await;
        let path = format!("/api/v1/namespaces/{name}/serviceaccounts/default");
        self.until("", &path, "the default ServiceAccount", |r| r.code == 200)
            .await;
    }

    /// Polls `GET path` until `done` holds (for at most [`PATIENCE`]), then records
    /// the last answer as `step`, with whether it held.
    pub async fn until(
        &mut self,
        step: &str,
        path: &str,
        what: &str,
        done: impl Fn(&Reply) -> bool,
    ) -> Reply {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let r = self.get("", path).await;
            let held = done(&r);
            if held || tokio::time::Instant::now() >= deadline {
                if !held {
                    eprintln!("{}: {step}: {what}: not within {PATIENCE:?}", self.target);
                }
                if !step.is_empty() {
                    let mut observed = self.observe(&r, false);
                    observed["waitedFor"] = json!({"what": what, "held": held});
                    self.record(step, observed);
                }
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until `path` answers 404, and records whether it did.
    pub async fn until_gone(&mut self, step: &str, path: &str) -> Reply {
        self.until(step, path, "404", |r| r.code == 404).await
    }

    /// Makes every resourceVersion up to now unusable for watches and continue
    /// tokens, as time does on a real cluster: the embedded server compacts; the real
    /// control plane compacts etcd and restarts kube-apiserver (whose watch cache
    /// then begins at etcd's current revision).
    pub async fn expire_history(&mut self) {
        match &mut self.control {
            Control::Ours(server) => server.compact(),
            Control::OwnReal(plane) => {
                plane.compact_etcd().await.expect("etcd compaction");
                plane
                    .restart_apiserver()
                    .await
                    .expect("kube-apiserver restart");
            }
            Control::SharedReal => {
                panic!("expire_history needs a real control plane of the scenario's own")
            }
        }
    }

    fn record(&mut self, step: &str, observed: Value) {
        assert!(
            !self.steps.iter().any(|(s, _)| s == step),
            "step {step} recorded twice"
        );
        self.steps.push((step.to_string(), observed));
    }

    /// A generated name that only a refusal mentions (`details.name` of a Status
    /// answering a body with `generateName`).
    fn learn_refused_name(&mut self, request: &[u8], reply: &Value) {
        let Ok(sent) = serde_json::from_slice::<Value>(request) else {
            return;
        };
        let generate = sent
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = reply
            .pointer("/details/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !generate.is_empty() && name.starts_with(generate) && name.len() > generate.len() {
            let mut meta = json!({"metadata": {"name": name, "generateName": generate}});
            if let Some(m) = meta.get_mut("metadata") {
                m["uid"] = json!("");
            }
            self.learn(&meta);
        }
    }

    /// Learns the uids and generated names in `v` (in any object, list or event).
    fn learn(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                if let Some(meta) = map.get("metadata").and_then(Value::as_object) {
                    let s = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or_default();
                    let (name, generate) = (s("name"), s("generateName"));
                    if !generate.is_empty()
                        && name.starts_with(generate)
                        && name.len() > generate.len()
                        && !self.generated.contains_key(name)
                    {
                        let n = self
                            .generated
                            .values()
                            .filter(|p| p.starts_with(&format!("{generate}<")))
                            .count();
                        self.generated
                            .insert(name.to_string(), format!("{generate}<gen{n}>"));
                    }
                    let uid = s("uid");
                    if !uid.is_empty() && !self.uids.contains_key(uid) {
                        let shown = self
                            .generated
                            .get(name)
                            .cloned()
                            .unwrap_or(name.to_string());
                        let key = format!("{}/{shown}", s("namespace"));
                        let n = self.incarnations.entry(key.clone()).or_default();
                        *n += 1;
                        let placeholder = if *n == 1 {
                            format!("<uid of {key}>")
                        } else {
                            format!("<uid of {key} #{n}>")
                        };
                        self.uids.insert(uid.to_string(), placeholder);
                    }
                }
                map.values().for_each(|x| self.learn(x));
            }
            Value::Array(items) => items.iter().for_each(|x| self.learn(x)),
            _ => {}
        }
    }

    /// What a step observed: code, normalized body, warnings.
    fn observe(&self, reply: &Reply, numbers_in_message: bool) -> Value {
        let mut body = reply.body.clone();
        self.normalize(&mut body, numbers_in_message);
        let mut warnings = reply.warnings.clone();
        for w in &mut warnings {
            *w = self.redact_text(w);
        }
        let mut observed = json!({"code": reply.code, "body": body, "warnings": warnings});
        if let Some(r) = &reply.retry_after {
            observed["retryAfter"] = json!(r);
        }
        observed
    }

    fn normalize(&self, v: &mut Value, numbers_in_message: bool) {
        match v {
            Value::Object(map) => {
                // Keys hold uids too (managedFields' `k:{"uid":...}` of owner references).
                if map.keys().any(|k| self.redact_text(k) != *k) {
                    let old = std::mem::take(map);
                    for (k, x) in old {
                        map.insert(self.redact_text(&k), x);
                    }
                }
                if let Some(Value::Array(entries)) = map.get_mut("managedFields") {
                    // kube-apiserver orders entries by operation, then time (in
                    // seconds), then manager: with times redacted, order by the rest.
                    entries.sort_by_key(|e| {
                        ["operation", "manager", "subresource", "apiVersion"].map(|k| {
                            e.get(k)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        })
                    });
                }
                for (k, x) in map.iter_mut() {
                    match (k.as_str(), &*x) {
                        ("resourceVersion", Value::String(s)) if !s.is_empty() => {
                            *x = json!("<rv>");
                        }
                        ("continue", Value::String(s)) if !s.is_empty() => {
                            *x = json!("<continue>");
                        }
                        ("clusterIP", Value::String(s)) if s != "None" && !s.is_empty() => {
                            *x = json!("<ip>");
                        }
                        ("clusterIPs", Value::Array(_)) => *x = json!(["<ip>"]),
                        _ => self.normalize(x, numbers_in_message),
                    }
                }
                if map.get("kind").and_then(Value::as_str) == Some("Status") {
                    canonical_invalid(map);
                    if numbers_in_message && let Some(Value::String(m)) = map.get_mut("message") {
                        *m = NUMBER.replace_all(m, "<n>").into_owned();
                    }
                }
                if map.get("kind").and_then(Value::as_str) == Some("Table") {
                    redact_ages(map);
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|x| self.normalize(x, numbers_in_message)),
            Value::String(s) => *s = self.redact_text(s),
            _ => {}
        }
    }

    fn redact_text(&self, s: &str) -> String {
        if TIMESTAMP.is_match(s) {
            return "<time>".into();
        }
        let mut out = s.to_string();
        for (uid, placeholder) in &self.uids {
            if out.contains(uid.as_str()) {
                out = out.replace(uid.as_str(), placeholder);
            }
        }
        for (name, placeholder) in &self.generated {
            if out.contains(name.as_str()) {
                out = out.replace(name.as_str(), placeholder);
            }
        }
        RANDOM_VOLUME
            .replace_all(&out, "kube-api-access-<random>")
            .into_owned()
    }
}

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$").expect("regex")
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+").expect("regex"));
static RANDOM_VOLUME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"kube-api-access-[a-z0-9]{5}\b").expect("regex"));

/// An `Invalid` Status whose message lists its causes (`X is invalid: [a, b]`) lists
/// them in Go map order, that is randomly: sort the causes and rebuild the message.
fn canonical_invalid(status: &mut serde_json::Map<String, Value>) {
    let Some(causes) = status
        .get_mut("details")
        .and_then(|d| d.get_mut("causes"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let text = |c: &Value| {
        let field = c.get("field").and_then(Value::as_str).unwrap_or_default();
        let message = c.get("message").and_then(Value::as_str).unwrap_or_default();
        if field.is_empty() {
            message.to_string()
        } else {
            format!("{field}: {message}")
        }
    };
    let listed = format!(
        "[{}]",
        causes.iter().map(text).collect::<Vec<_>>().join(", ")
    );
    causes.sort_by_key(|c| c.to_string());
    let sorted = format!(
        "[{}]",
        causes.iter().map(text).collect::<Vec<_>>().join(", ")
    );
    let several = causes.len() > 1;
    if let Some(Value::String(m)) = status.get_mut("message")
        && several
        && let Some(prefix) = m.strip_suffix(&listed)
    {
        *m = format!("{prefix}{sorted}");
    }
}

/// A Table's `Age` cells (`5s`) depend on when it was read.
fn redact_ages(table: &mut serde_json::Map<String, Value>) {
    let Some(age) = table
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .and_then(|cols| {
            cols.iter()
                .position(|c| c.get("name").and_then(Value::as_str) == Some("Age"))
        })
    else {
        return;
    };
    for row in table
        .get_mut("rows")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(cell) = row
            .get_mut("cells")
            .and_then(Value::as_array_mut)
            .and_then(|cells| cells.get_mut(age))
        {
            *cell = json!("<age>");
        }
    }
}

/// One step where the servers differ.
#[derive(Debug)]
pub struct Difference {
    /// `scenario/step`.
    pub key: String,
    /// What differs: `code` (with `Retry-After`), `reason`, `message`, `details`,
    /// `body`, `warnings`, `events` (watch streams), `wait` (whether a waited-for
    /// state was reached).
    pub aspects: BTreeSet<String>,
    /// The real server's observation.
    pub real: Value,
    /// Ours.
    pub ours: Value,
}

/// Compares two recordings of `scenario`, step by step.
pub fn compare(scenario: &str, real: &Session, ours: &Session) -> Vec<Difference> {
    let real_steps: Vec<&str> = real.steps.iter().map(|(s, _)| s.as_str()).collect();
    let our_steps: Vec<&str> = ours.steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        real_steps, our_steps,
        "{scenario}: the scenario took different paths on the two servers"
    );
    real.steps
        .iter()
        .zip(&ours.steps)
        .filter_map(|((step, a), (_, b))| {
            let aspects = aspects(a, b);
            (!aspects.is_empty()).then(|| Difference {
                key: format!("{scenario}/{step}"),
                aspects,
                real: a.clone(),
                ours: b.clone(),
            })
        })
        .collect()
}

fn aspects(a: &Value, b: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if a == b {
        return out;
    }
    if a["code"] != b["code"] || a.get("retryAfter") != b.get("retryAfter") {
        out.insert("code".into());
    }
    if a["warnings"] != b["warnings"] {
        out.insert("warnings".into());
    }
    if a.get("waitedFor") != b.get("waitedFor") {
        out.insert("wait".into());
    }
    let (x, y) = (&a["body"], &b["body"]);
    let status = |v: &Value| v.get("kind").and_then(Value::as_str) == Some("Status");
    if x.get("watchEvents").is_some() || y.get("watchEvents").is_some() {
        if x != y {
            out.insert("events".into());
        }
    } else if status(x) && status(y) {
        for field in ["reason", "message", "details"] {
            if x.get(field) != y.get(field) {
                out.insert(field.into());
            }
        }
        let rest = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                for field in ["reason", "message", "details"] {
                    m.remove(field);
                }
            }
            v
        };
        if rest(x) != rest(y) {
            out.insert("body".into());
        }
    } else if x != y {
        out.insert("body".into());
    }
    out
}

/// The accepted differences: `scenario/step` → the aspects that differ.
pub fn accepted() -> BTreeMap<String, BTreeSet<String>> {
    const DOC: &str = include_str!("../../../../docs/apiserver-differences.md");
    let mut out = BTreeMap::new();
    for line in DOC.lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let mut cells = rest.split('|');
        let key = cells
            .next()
            .unwrap_or_default()
            .trim()
            .trim_end_matches('`')
            .to_string();
        let aspects: BTreeSet<String> = cells
            .next()
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        assert!(
            out.insert(key.clone(), aspects).is_none(),
            "docs/apiserver-differences.md lists {key} twice"
        );
    }
    out
}

/// Fails unless the differences of `scenario` are exactly the accepted ones.
pub fn check(scenario: &str, real: &Session, ours: &Session) {
    let diffs = compare(scenario, real, ours);
    let accepted = accepted();
    let steps: BTreeSet<String> = real
        .steps
        .iter()
        .map(|(s, _)| format!("{scenario}/{s}"))
        .collect();
    let mut problems = Vec::new();
    for d in &diffs {
        match accepted.get(&d.key) {
            None => problems.push(format!(
                "UNLISTED difference {} in {:?}:\n  real: {}\n  ours: {}",
                d.key, d.aspects, d.real, d.ours
            )),
            Some(listed) if *listed != d.aspects => problems.push(format!(
                "{} is listed as differing in {listed:?} but differs in {:?}:\n  real: {}\n  ours: {}",
                d.key, d.aspects, d.real, d.ours
            )),
            Some(_) => {}
        }
    }
    let prefix = format!("{scenario}/");
    for key in accepted.keys().filter(|k| k.starts_with(&prefix)) {
        if !steps.contains(key) {
            problems.push(format!(
                "{key} is listed in docs/apiserver-differences.md but the scenario has no such step"
            ));
        } else if !diffs.iter().any(|d| &d.key == key) {
            problems.push(format!(
                "{key} is listed in docs/apiserver-differences.md but no longer differs: remove it"
            ));
        }
    }
    if std::env::var_os("FERRY_DIFFERENTIAL_DUMP").is_some() {
        for (step, observed) in &real.steps {
            eprintln!("{scenario}/{step}\n  real: {observed}");
        }
    }
    assert!(
        problems.is_empty(),
        "{scenario}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}
