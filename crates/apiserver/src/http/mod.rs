//! The HTTP face of the server: one handler that authenticates, parses the path as
//! kube-apiserver's request-info factory does, dispatches to the operations, counts
//! the request and logs it (never with a body).

pub mod discovery;
pub mod openapi;
pub mod request;
pub mod respond;
pub mod watch;

use crate::logs::{LogBody, LogRequest};
use crate::metrics::RequestKey;
use crate::ops::{
    Api, DeleteOptions, ListOptions, Patch, PatchKind, Propagation, Sub, WriteOptions,
};
use crate::resource::{FieldValidation, ResourceDef};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, FieldError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use request::{BodyType, Output, Query, ResourcePath, Route, Verb};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What the HTTP layer needs besides the operations.
#[derive(Debug)]
pub struct HttpState {
    /// The operations.
    pub api: Arc<Api>,
    /// The bearer token clients must present; `None` disables authentication.
    pub token: Option<String>,
    /// The address clients reach the server at (`/api`'s serverAddressByClientCIDRs).
    pub address: String,
}

/// The router serving everything.
pub fn router(state: Arc<HttpState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(st: &HttpState, h: &HeaderMap) -> bool {
    let Some(token) = &st.token else { return true };
    let Some(v) = header_str(h, header::AUTHORIZATION) else {
        return false;
    };
    let Some(presented) = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
    else {
        return false;
    };
    constant_time_eq(presented.trim().as_bytes(), token.as_bytes())
}

fn public(route: &Route) -> bool {
    matches!(route, Route::Health(_) | Route::Version)
}

/// What the counters record about a request.
#[derive(Debug, Default)]
struct Recorded {
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    field_manager: Option<String>,
    written: Option<String>,
}

async fn handle(State(st): State<Arc<HttpState>>, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    // Go's mux routes on the decoded path: `a%2Fb` is two segments.
    let path = percent_decode(req.uri().path());
    let query = Query::parse(req.uri().query());
    let headers = req.headers().clone();
    let user_agent = header_str(&headers, header::USER_AGENT)
        .unwrap_or_default()
        .to_string();
    let route = request::route(&path);
    let mut rec = Recorded {
        verb: "other".into(),
        ..Default::default()
    };
    let resp = if !public(&route) && !authorized(&st, &headers) {
        respond::error(&ApiError::unauthorized())
    } else {
        dispatch(
            &st,
            method.clone(),
            route,
            query,
            headers,
            req.into_body(),
            &mut rec,
        )
        .await
    };
    let code = resp.status().as_u16();
    st.api.counters.record(
        RequestKey {
            verb: rec.verb.clone(),
            group: rec.group.clone(),
            version: rec.version.clone(),
            resource: rec.resource.clone(),
            subresource: rec.subresource.clone(),
            code,
        },
        &user_agent,
        rec.field_manager.as_deref(),
    );
    tracing::debug!(
        target: "ferry_apiserver::request",
        method = %method,
        path = %path,
        verb = %rec.verb,
        resource = %rec.resource,
        subresource = %rec.subresource,
        code,
        elapsed_us = started.elapsed().as_micros() as u64,
        user_agent = %crate::metrics::agent_prefix(&user_agent),
        "request"
    );
    resp
}

async fn dispatch(
    st: &HttpState,
    method: Method,
    route: Route,
    query: Query,
    headers: HeaderMap,
    body: Body,
    rec: &mut Recorded,
) -> Response {
    let accept = header_str(&headers, header::ACCEPT).map(str::to_string);
    let registry = &st.api.registry;
    let get_only = |r: Response| -> Response {
        if method == Method::GET || method == Method::HEAD {
            r
        } else {
            respond::error(&ApiError::new_method_not_allowed())
        }
    };
    match route {
        Route::Version => get_only(respond::json_value(200, &discovery::version())),
        Route::Health(p) => get_only(health(&p, &query)),
        Route::Metrics => {
            let objects: Vec<(String, usize)> = registry
                .storage_resources()
                .iter()
                .map(|d| (d.storage.to_string(), st.api.store.count(&d.storage)))
                .collect();
            get_only(respond::raw(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                st.api.counters.prometheus(&objects),
            ))
        }
        Route::OpenApiV2 => respond::error(&ApiError::path_not_found()),
        Route::OpenApiV3Index => get_only(respond::json_value(200, &openapi::index(registry))),
        Route::OpenApiV3(p) => {
            let parts: Vec<&str> = p.split('/').collect();
            let doc = match parts.as_slice() {
                ["api", v] => openapi::group_version(registry, "", v),
                ["apis", g, v] => openapi::group_version(registry, g, v),
                _ => None,
            };
            match doc {
                Some(d) => get_only(respond::json_value(200, &d)),
                None => respond::error(&ApiError::path_not_found()),
            }
        }
        Route::CoreVersions => get_only(match discovery::wants_aggregated(accept.as_deref()) {
            Some(v) => aggregated(registry, true, v),
            None => respond::json_value(200, &discovery::core_versions(&st.address)),
        }),
        Route::Groups => get_only(match discovery::wants_aggregated(accept.as_deref()) {
            Some(v) => aggregated(registry, false, v),
            None => respond::json_value(200, &discovery::group_list(registry)),
        }),
        Route::Group(g) => match discovery::group(registry, &g) {
            Some(v) => get_only(respond::json_value(200, &v)),
            None => page_not_found(),
        },
        Route::GroupVersion(g, v) => match discovery::resource_list(registry, &g, &v) {
            Some(list) => get_only(respond::json_value(200, &list)),
            None => unknown_version(registry, &g),
        },
        Route::NotFound => page_not_found(),
        Route::Resource(rp) if !registry.has_group_version(&rp.group, &rp.version) => {
            unknown_version(registry, &rp.group)
        }
        Route::Resource(rp) => match resource(st, method, rp, query, headers, body, rec).await {
            Ok(r) => r,
            Err(e) => respond::error(&e),
        },
    }
}

/// The path with `%XX` escapes decoded (invalid escapes are kept as they are).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = bytes.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(h), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An unknown version: of the core API or of a group that is served, the group's
/// handler answers with a `NotFound` Status; of an unknown group, the mux's plain
/// 404.
fn unknown_version(registry: &crate::resource::Registry, group: &str) -> Response {
    if group.is_empty() || registry.has_group(group) {
        respond::error(&ApiError::path_not_found())
    } else {
        page_not_found()
    }
}

/// What kube-apiserver's mux answers for paths no API group serves: Go's plain
/// `http.NotFound`, not a Status.
fn page_not_found() -> Response {
    respond::raw(404, "text/plain; charset=utf-8", "404 page not found\n")
}

fn aggregated(registry: &crate::resource::Registry, core: bool, version: &str) -> Response {
    let body = discovery::aggregated(registry, core, &format!("apidiscovery.k8s.io/{version}"));
    respond::raw(
        200,
        &format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"),
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

fn health(path: &str, query: &Query) -> Response {
    let parts: Vec<&str> = path.split('/').collect();
    let checks = ["ping", "log", "etcd", "poststarthook/crd-informer-synced"];
    match parts.as_slice() {
        [kind] => {
            if query.has("verbose") {
                let mut s = String::new();
                for c in checks {
                    s.push_str(&format!("[+]{c} ok\n"));
                }
                s.push_str(&format!("{kind} check passed\n"));
                respond::raw(200, "text/plain; charset=utf-8", s)
            } else {
                respond::raw(200, "text/plain; charset=utf-8", "ok")
            }
        }
        [_, check] if checks.contains(check) => {
            respond::raw(200, "text/plain; charset=utf-8", "ok")
        }
        _ => respond::error(&ApiError::path_not_found()),
    }
}

impl ApiError {
    fn new_method_not_allowed() -> Self {
        let mut e = ApiError::bad_request(
            "the server does not allow this method on the requested resource",
        );
        e.code = 405;
        e.reason = "MethodNotAllowed".into();
        e
    }

    /// The 405 kube-apiserver's router answers for a method no handler serves on a
    /// resource path (e.g. PUT on a collection, deletecollection of namespaces):
    /// the generic message, with empty `details`.
    fn no_route_for_method() -> Self {
        let mut e = Self::new_method_not_allowed();
        e.details.present = true;
        e
    }
}

/// How much of an oversized body is read and thrown away so that the client,
/// still sending, gets the 413 rather than a broken connection. A bigger body is
/// cut off (the connection closes).
const DRAIN_LIMIT: usize = 64 << 20;

async fn read_body(st: &HttpState, body: Body) -> Result<Vec<u8>, ApiError> {
    use futures::StreamExt;
    let limit = st.api.settings.max_body_bytes;
    // A body that cannot be read whole within the limit is refused before parsing
    // (kube-apiserver's limitedReadBody).
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(ApiError::bad_request("the request body could not be read"));
        };
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            out.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > limit {
        return Err(ApiError::too_large(&format!("limit is {limit}")));
    }
    Ok(out)
}

/// Parses a request body as JSON or YAML into a JSON value.
fn parse_body(bytes: &[u8], kind: BodyType, expected_kind: &str) -> Result<Value, ApiError> {
    // Go's decoder turns invalid UTF-8 in strings into U+FFFD rather than failing.
    let lossy;
    let bytes = if std::str::from_utf8(bytes).is_ok() {
        bytes
    } else {
        lossy = String::from_utf8_lossy(bytes).into_owned();
        lossy.as_bytes()
    };
    let summary = |b: &[u8]| body_summary(b);
    match kind {
        BodyType::Protobuf => crate::protobuf::decode(bytes).map_err(|e| {
            let e = if e == crate::protobuf::NOT_PROTOBUF {
                format!("{e} ({})", summary(bytes))
            } else {
                e
            };
            ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {expected_kind}): {e}"
            ))
        }),
        BodyType::Yaml | BodyType::ApplyPatch => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request("error decoding YAML: invalid UTF-8"))?;
            if (text.trim_start().starts_with('{') || text.trim_start().starts_with('['))
                && let Ok(v) = serde_json::from_str::<Value>(text)
            {
                return Ok(v);
            }
            serde_saphyr::from_str::<Value>(text).map_err(|e| {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                if kind == BodyType::ApplyPatch {
                    ApiError::bad_request(format!("error decoding YAML: {first}"))
                } else {
                    ApiError::bad_request(format!(
                        "the object provided is unrecognized (must be of type {expected_kind}): couldn't get version/kind; json parse error: {first} ({})",
                        summary(bytes)
                    ))
                }
            })
        }
        BodyType::Json => match serde_json::from_slice::<Value>(bytes) {
            // Go first decodes just apiVersion and kind into a struct: any other
            // JSON type fails there, quoted with the raw body.
            Ok(v) if !v.is_object() && !v.is_null() => Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {expected_kind}): couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }} ({})",
                crate::ops::json_type(&v),
                summary(bytes)
            ))),
            Ok(v) => Ok(v),
            Err(e) => Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {expected_kind}): couldn't get version/kind; json parse error: {} ({})",
                go_json_syntax_error(bytes, &e),
                summary(bytes)
            ))),
        },
        _ => serde_json::from_slice::<Value>(bytes).map_err(|e| {
            let msg = go_json_syntax_error(bytes, &e);
            match kind {
                BodyType::Json => ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type {expected_kind}): couldn't get version/kind; json parse error: {msg} ({})",
                    summary(bytes)
                )),
                _ => ApiError::bad_request(format!("error decoding patch: {msg}")),
            }
        }),
    }
}

/// How kube-apiserver quotes a body it cannot decode: JSON-looking text up to 30
/// bytes (then ` ...`), anything else as hex, `<empty>` for nothing.
pub(crate) fn body_summary(b: &[u8]) -> String {
    if b.is_empty() {
        return "<empty>".into();
    }
    let cut = &b[..b.len().min(30)];
    let more = if b.len() > 30 { " ..." } else { "" };
    if b.first() == Some(&b'{') {
        format!("{}{more}", String::from_utf8_lossy(cut))
    } else {
        format!("{}{more}", hex::encode(cut))
    }
}

/// A JSON syntax error in the words of Go's `encoding/json`, for the errors
/// clients meet (a cut-off body, stray characters); serde's words otherwise.
fn go_json_syntax_error(bytes: &[u8], e: &serde_json::Error) -> String {
    if bytes.iter().all(u8::is_ascii_whitespace) || e.is_eof() {
        return "unexpected end of JSON input".to_string();
    }
    // The offending byte, from serde's 1-based line and column.
    let offset = bytes
        .split(|b| *b == b'\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + e.column().saturating_sub(1);
    let Some(&at) = bytes.get(offset) else {
        return e.to_string();
    };
    let text = e.to_string();
    let quoted = crate::ops::go_quote_char(at);
    if text.starts_with("trailing characters") {
        format!("invalid character {quoted} after top-level value")
    } else if text.starts_with("key must be a string") {
        format!("invalid character {quoted} looking for beginning of object key string")
    } else if text.starts_with("expected value") {
        format!("invalid character {quoted} looking for beginning of value")
    } else {
        text
    }
}

fn write_options(query: &Query, user_agent: &str, kind: &str) -> Result<WriteOptions, ApiError> {
    let mut opts = WriteOptions::default();
    let mut errs = Vec::new();
    let dry_run: Vec<&str> = query.all("dryRun");
    match dry_run_options(&dry_run) {
        Ok(d) => opts.dry_run = d,
        Err(e) => errs.push(e),
    }
    opts.field_validation = match query.get("fieldValidation") {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        Some("Strict") => FieldValidation::Strict,
        Some(other) => {
            errs.push(FieldError::not_supported(
                "fieldValidation",
                other,
                &["", "Ignore", "Strict", "Warn"],
            ));
            FieldValidation::Warn
        }
    };
    let manager = query.get("fieldManager").unwrap_or_default();
    if manager.chars().count() > 128 {
        errs.push(FieldError::too_long("fieldManager", 128));
    }
    opts.field_manager = if manager.is_empty() {
        ferry_patch::manager_from_user_agent(user_agent)
    } else {
        manager.to_string()
    };
    if !errs.is_empty() {
        return Err(ApiError::invalid("meta.k8s.io", kind, "", &errs));
    }
    Ok(opts)
}

fn selectors(query: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = match query.get("labelSelector") {
        Some(s) => LabelSelector::parse(s).map_err(ApiError::bad_request)?,
        None => LabelSelector::default(),
    };
    let fields = match query.get("fieldSelector") {
        Some(s) => FieldSelector::parse(s).map_err(ApiError::bad_request)?,
        None => FieldSelector::default(),
    };
    Ok((labels, fields))
}

fn list_options(query: &Query) -> Result<ListOptions, ApiError> {
    let (labels, fields) = selectors(query)?;
    // Parsed (and refused when malformed) as for a watch, though a list ignores it.
    query.int("timeoutSeconds")?;
    let limit = match query.int("limit")? {
        Some(l) if l > 0 => l as usize,
        _ => 0,
    };
    if query.has("sendInitialEvents") {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            &[FieldError::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for list",
            )],
        ));
    }
    Ok(ListOptions {
        labels,
        fields,
        limit,
        continue_token: query
            .get("continue")
            .filter(|c| !c.is_empty())
            .map(String::from),
        resource_version: query.get("resourceVersion").unwrap_or_default().to_string(),
        rv_match: crate::ops::parse_rv_match(query.get("resourceVersionMatch"))?,
    })
}

fn delete_options(query: &Query, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let mut opts = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else if body.starts_with(crate::protobuf::MAGIC) {
        let v = crate::protobuf::decode(body).map_err(|e| {
            ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type DeleteOptions): {e}"
            ))
        })?;
        DeleteOptions::from_body(&v)?
    } else {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the object provided is unrecognized (must be of type DeleteOptions): couldn't get version/kind; json parse error: {e}"))
        })?;
        DeleteOptions::from_body(&v)?
    };
    if let Some(g) = query.int("gracePeriodSeconds")? {
        opts.grace_period = Some(g);
    }
    if let Some(p) = query.get("propagationPolicy").filter(|p| !p.is_empty()) {
        opts.propagation = Some(Propagation::parse(p)?);
    }
    if let Some(o) = query.bool("orphanDependents")? {
        opts.orphan_dependents = Some(o);
    }
    let dry_run: Vec<&str> = query.all("dryRun");
    match dry_run_options(&dry_run) {
        Ok(d) => opts.dry_run |= d,
        Err(e) => {
            return Err(ApiError::invalid("meta.k8s.io", "DeleteOptions", "", &[e]));
        }
    }
    Ok(opts)
}

/// The `dryRun` options: none, or `All`; anything else is refused with the values
/// shown as Go shows the slice.
pub fn dry_run_options(values: &[&str]) -> Result<bool, FieldError> {
    if values.iter().all(|v| *v == "All") {
        return Ok(!values.is_empty());
    }
    let shown: Vec<String> = values.iter().map(|v| crate::status::go_quote(v)).collect();
    let mut e = FieldError::not_supported("dryRun", Value::Null, &["All"]);
    e.rendered = Some(format!(
        "Unsupported value: []string{{{}}}: supported values: \"All\"",
        shown.join(", ")
    ));
    Err(e)
}

fn watch_timeout(st: &HttpState, query: &Query) -> Result<Duration, ApiError> {
    match query.int("timeoutSeconds")? {
        Some(t) if t > 0 => Ok(Duration::from_secs(t as u64)),
        _ => {
            let base = st.api.settings.min_request_timeout.as_secs_f64();
            let jitter = (uuid::Uuid::new_v4().as_bytes()[0] as f64) / 255.0;
            Ok(Duration::from_secs_f64(base * (1.0 + jitter)))
        }
    }
}

/// `rest.IsValidPathSegmentName`: a name in a URL path cannot be `.` or `..` nor
/// contain `/` or `%`.
fn path_segment_problem(name: &str) -> Option<String> {
    match name {
        "." | ".." => Some(format!("may not be '{name}'")),
        _ => ["/", "%"]
            .iter()
            .find(|c| name.contains(*c))
            .map(|c| format!("may not contain '{c}'")),
    }
}

fn not_found_path() -> ApiError {
    ApiError::path_not_found()
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    st: &HttpState,
    method: Method,
    rp: ResourcePath,
    query: Query,
    headers: HeaderMap,
    body: Body,
    rec: &mut Recorded,
) -> Result<Response, ApiError> {
    let api = &st.api;
    let def = api
        .registry
        .resolve(&rp.group, &rp.version, &rp.resource)
        .ok_or_else(not_found_path)?;
    rec.group = def.group.clone();
    rec.version = def.version.clone();
    rec.resource = def.plural.clone();
    rec.subresource = rp.subresource.clone().unwrap_or_default();
    if rp.extra {
        return Err(not_found_path());
    }
    if let Some(s) = &rp.subresource
        && def.subresource(s).is_none()
    {
        return Err(not_found_path());
    }
    if !def.namespaced && rp.namespace.is_some() {
        return Err(not_found_path());
    }
    if def.namespaced && rp.namespace.is_none() && rp.name.is_some() {
        return Err(not_found_path());
    }
    let ns = rp.namespace.clone().unwrap_or_default();
    if let Some(name) = &rp.name
        && let Some(why) = path_segment_problem(name)
    {
        return Err(ApiError::bad_request(format!(
            "Name parameter invalid: {}: {why}",
            crate::status::go_quote(name)
        )));
    }
    let watch_param = query.bool("watch")?.unwrap_or(false);
    let verb = match (&method, &rp.name) {
        (&Method::GET | &Method::HEAD, None) if watch_param || rp.watch_prefix => Verb::Watch,
        (&Method::GET | &Method::HEAD, None) => Verb::List,
        (&Method::GET | &Method::HEAD, Some(_)) if rp.watch_prefix => Verb::Watch,
        (&Method::GET | &Method::HEAD, Some(_)) => Verb::Get,
        (&Method::POST, None) => Verb::Create,
        (&Method::POST, Some(_)) if rp.subresource.as_deref() == Some("binding") => Verb::Create,
        (&Method::PUT, Some(_)) => Verb::Update,
        (&Method::PATCH, Some(_)) => Verb::Patch,
        (&Method::DELETE, Some(_)) => Verb::Delete,
        (&Method::DELETE, None) => Verb::DeleteCollection,
        _ => {
            rec.verb = method.as_str().to_lowercase();
            return Err(ApiError::no_route_for_method());
        }
    };
    rec.verb = verb.as_str().to_string();
    if def.namespaced
        && rp.namespace.is_none()
        && matches!(verb, Verb::Create | Verb::DeleteCollection)
    {
        return Err(ApiError::no_route_for_method());
    }
    let sub = rp.subresource.as_deref();
    let allowed = match sub {
        None => def.allows(verb.as_str()),
        Some(s) => def
            .subresource(s)
            .is_some_and(|sr| sr.verbs.contains(&verb.as_str())),
    };
    if !allowed {
        return Err(ApiError::no_route_for_method());
    }
    let output =
        request::negotiate_output(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))?;
    let include = request::include_object(&query)?;
    let user_agent = header_str(&headers, header::USER_AGENT).unwrap_or_default();
    let name = rp.name.clone().unwrap_or_default();
    let result = run_verb(
        st, &def, verb, &rp, &ns, &name, sub, &query, &headers, body, output, include, user_agent,
        rec,
    )
    .await;
    // A CRD write is served (or stops being served) before the client hears back.
    if def.storage == crate::crd::crd_gr()
        && matches!(
            verb,
            Verb::Create | Verb::Update | Verb::Patch | Verb::Delete
        )
    {
        let target = if name.is_empty() {
            rec.written.clone()
        } else {
            Some(name.clone())
        };
        if let Some(n) = target {
            crate::controllers::crd::reconcile(api, &n).await;
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn run_verb(
    st: &HttpState,
    def: &Arc<ResourceDef>,
    verb: Verb,
    rp: &ResourcePath,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
    output: Output,
    include: crate::table::IncludeObject,
    user_agent: &str,
    rec: &mut Recorded,
) -> Result<Response, ApiError> {
    let api = &st.api;
    let def = def.clone();
    let (ns, name) = (ns.to_string(), name.to_string());
    let (query, headers) = (query.clone(), headers.clone());
    match verb {
        Verb::Get => {
            if sub == Some("log") {
                return pod_log(api, &def, &ns, &name, &query).await;
            }
            let obj = api.get(&def, &ns, &name)?;
            Ok(respond::stored(api, &def, &obj, output, include))
        }
        Verb::List => {
            let opts = list_options(&query)?;
            let listed = api.list(&def, rp.namespace.as_deref(), &opts).await?;
            let meta = respond::list_meta(
                listed.rv,
                listed.continue_token.as_deref(),
                listed.remaining,
            );
            Ok(respond::list(
                api,
                &def,
                &listed.items,
                meta,
                output,
                include,
            ))
        }
        Verb::Watch => {
            let (labels, mut fields) = selectors(&query)?;
            api.check_field_selector(&def, &fields)?;
            if let Some(n) = &rp.name {
                fields.terms.push(crate::selector::FieldTerm {
                    field: "metadata.name".into(),
                    value: n.clone(),
                    negated: false,
                });
            }
            let send_initial_events = query.bool("sendInitialEvents")?;
            let opts = watch::WatchOptions {
                namespace: rp.namespace.clone(),
                labels,
                fields,
                resource_version: query.get("resourceVersion").unwrap_or_default().to_string(),
                rv_match: query.get("resourceVersionMatch").map(String::from),
                send_initial_events,
                allow_bookmarks: query.bool("allowWatchBookmarks")?.unwrap_or(false),
                timeout: watch_timeout(st, &query)?,
                output: if output == Output::PartialList {
                    Output::Partial
                } else {
                    output
                },
                include,
            };
            opts.validate(api.settings.watch_list)?;
            Ok(watch::serve(api.clone(), def.clone(), opts))
        }
        Verb::Create => {
            if let Some(crd) = &def.crd {
                let _ = crd;
                crate::crd::check_not_terminating(api, &def, "create")?;
            }
            let ct = request::body_type(
                header_str(&headers, header::CONTENT_TYPE),
                def.crd.is_none(),
            )?;
            let bytes = read_body(st, body).await?;
            let mut opts = write_options(&query, user_agent, "CreateOptions")?;
            rec.field_manager = Some(opts.field_manager.clone());
            if sub == Some("binding") {
                let binding = parse_body(&bytes, ct, "Binding")?;
                let status = api
                    .bind_pod(&def, &ns, &name, &binding, opts.dry_run)
                    .await?;
                let output = if output == Output::Yaml {
                    Output::Yaml
                } else {
                    Output::Json
                };
                return Ok(respond::encode(201, &status, output));
            }
            let obj = parse_body(&bytes, ct, &def.kind)?;
            if ct == BodyType::Json {
                opts.duplicate_fields = request::duplicate_fields(&bytes);
            }
            let w = api.create(&def, &ns, obj, &opts).await?;
            rec.written = Some(crate::table::name_of(&w.object));
            Ok(respond::object(
                &def,
                w.code,
                &w.object,
                output,
                include,
                &w.warnings,
            ))
        }
        Verb::Update => {
            let ct = request::body_type(
                header_str(&headers, header::CONTENT_TYPE),
                def.crd.is_none(),
            )?;
            let bytes = read_body(st, body).await?;
            let mut opts = write_options(&query, user_agent, "UpdateOptions")?;
            rec.field_manager = Some(opts.field_manager.clone());
            let obj = parse_body(&bytes, ct, &def.kind)?;
            if ct == BodyType::Json {
                opts.duplicate_fields = request::duplicate_fields(&bytes);
            }
            let sub = match sub {
                Some("status") => Sub::Status,
                Some("finalize") => Sub::Finalize,
                _ => Sub::Main,
            };
            let w = api.update(&def, &ns, &name, obj, sub, &opts).await?;
            Ok(respond::object(
                &def,
                w.code,
                &w.object,
                output,
                include,
                &w.warnings,
            ))
        }
        Verb::Patch => {
            let strategic = def.crd.is_none();
            let pt = request::patch_type(header_str(&headers, header::CONTENT_TYPE), strategic)?;
            let bytes = read_body(st, body).await?;
            let mut opts = write_options(&query, user_agent, "PatchOptions")?;
            let force = query.bool("force")?;
            if pt == BodyType::ApplyPatch {
                if query.get("fieldManager").unwrap_or_default().is_empty() {
                    return Err(ApiError::invalid(
                        "meta.k8s.io",
                        "PatchOptions",
                        "",
                        &[FieldError::required(
                            "fieldManager",
                            "is required for apply patch",
                        )],
                    ));
                }
                opts.force = force.unwrap_or(false);
            } else if force.is_some() {
                return Err(ApiError::invalid(
                    "meta.k8s.io",
                    "PatchOptions",
                    "",
                    &[FieldError::forbidden(
                        "force",
                        "may not be specified for non-apply patch",
                    )],
                ));
            }
            rec.field_manager = Some(opts.field_manager.clone());
            let patch_body = parse_body(&bytes, pt, &def.kind)?;
            let kind = match pt {
                BodyType::JsonPatch => PatchKind::Json,
                BodyType::StrategicMergePatch => PatchKind::Strategic,
                BodyType::ApplyPatch => PatchKind::Apply,
                _ => PatchKind::Merge,
            };
            let sub = match sub {
                Some("status") => Sub::Status,
                _ => Sub::Main,
            };
            let w = api
                .patch(
                    &def,
                    &ns,
                    &name,
                    Patch {
                        kind,
                        body: patch_body,
                    },
                    sub,
                    &opts,
                )
                .await?;
            Ok(respond::object(
                &def,
                w.code,
                &w.object,
                output,
                include,
                &w.warnings,
            ))
        }
        Verb::Delete => {
            let bytes = read_body(st, body).await?;
            let opts = delete_options(&query, &bytes)?;
            let d = api.delete(&def, &ns, &name, &opts).await?;
            Ok(respond::object(
                &def,
                d.code,
                &d.body,
                if output == Output::Table {
                    Output::Json
                } else {
                    output
                },
                include,
                &d.warnings,
            ))
        }
        Verb::DeleteCollection => {
            let bytes = read_body(st, body).await?;
            let opts = delete_options(&query, &bytes)?;
            let list = list_options(&query)?;
            let (v, warnings) = api
                .delete_collection(&def, rp.namespace.as_deref(), &list, &opts)
                .await?;
            Ok(respond::warn(respond::encode(200, &v, output), &warnings))
        }
    }
}

async fn pod_log(
    api: &Api,
    def: &ResourceDef,
    ns: &str,
    name: &str,
    query: &Query,
) -> Result<Response, ApiError> {
    let pod = api.served(def, &*api.get(def, ns, name)?)?;
    let containers: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let init: Vec<String> = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let container = match query.get("container").filter(|c| !c.is_empty()) {
        Some(c) => {
            if !containers.iter().chain(&init).any(|x| x == c) {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            c.to_string()
        }
        None => match containers.len() {
            1 => containers[0].clone(),
            0 => {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {name}"
                )));
            }
            _ => {
                let mut m = format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    containers.join(" ")
                );
                if !init.is_empty() {
                    m.push_str(&format!(
                        " or one of the init containers: [{}]",
                        init.join(" ")
                    ));
                }
                return Err(ApiError::bad_request(m));
            }
        },
    };
    if pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        // No kubelet to ask: kube-apiserver answers an empty body.
        return Ok(respond::raw(200, "text/plain", ""));
    }
    let req = LogRequest {
        namespace: ns.to_string(),
        pod: name.to_string(),
        uid: crate::table::meta_str(&pod, "uid"),
        container,
        follow: query.bool("follow")?.unwrap_or(false),
        previous: query.bool("previous")?.unwrap_or(false),
        tail_lines: query.int("tailLines")?,
        limit_bytes: query.int("limitBytes")?,
        timestamps: query.bool("timestamps")?.unwrap_or(false),
    };
    match api.logs.logs(&req) {
        Ok(LogBody::Text(t)) => Ok(respond::raw(200, "text/plain", t)),
        Ok(LogBody::Stream(s)) => {
            use futures::StreamExt;
            let body = Body::from_stream(s.map(Ok::<_, std::io::Error>));
            Ok(respond::raw(200, "text/plain", body))
        }
        Err(e) => Err(ApiError::bad_request(e.0)),
    }
}
