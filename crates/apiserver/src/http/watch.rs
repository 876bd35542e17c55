//! Watch: a chunked stream of JSON events with kube-apiserver's resourceVersion
//! semantics (unset and `0` start with the current state; a specific version resumes
//! after it; `sendInitialEvents` streams the state then an `initial-events-end`
//! bookmark), bookmarks, `timeoutSeconds`, label/field filtering with the
//! ADDED/DELETED transitions the watch cache produces when objects enter or leave a
//! selector, and `410 Expired` as an ERROR event when the window has moved on.

use super::request::Output;
use crate::ops::Api;
use crate::resource::ResourceDef;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, FieldError};
use crate::store::{Event, EventType, ReadError, StoredObject};
use crate::table::{self, IncludeObject};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A watch request's options.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `resourceVersion` ("" = unset).
    pub resource_version: String,
    /// `resourceVersionMatch` as given.
    pub rv_match: Option<String>,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `allowWatchBookmarks`.
    pub allow_bookmarks: bool,
    /// When the watch ends.
    pub timeout: Duration,
    /// Response format.
    pub output: Output,
    /// `includeObject` for tables.
    pub include: IncludeObject,
}

/// How long before a watch's deadline its last bookmark is sent.
const PRE_TIMEOUT_BOOKMARK: Duration = Duration::from_secs(2);

/// The key every initial-events-end bookmark carries.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

impl WatchOptions {
    /// `validateWatchOptions`; `watch_list` is the WatchList feature gate.
    pub fn validate(&self, watch_list: bool) -> Result<(), ApiError> {
        let mut errs = Vec::new();
        if self.send_initial_events.is_some() {
            if self.rv_match.as_deref() != Some("NotOlderThan") {
                errs.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if !watch_list {
                errs.push(FieldError::forbidden(
                    "sendInitialEvents",
                    "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
                ));
            }
        }
        if let Some(m) = self.rv_match.as_deref().filter(|m| !m.is_empty()) {
            if self.send_initial_events.is_none() {
                errs.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if m != "NotOlderThan" {
                errs.push(FieldError::not_supported(
                    "resourceVersionMatch",
                    m,
                    &["NotOlderThan"],
                ));
            }
        }
        if !errs.is_empty() {
            return Err(ApiError::invalid("meta.k8s.io", "ListOptions", "", &errs));
        }
        if !self.resource_version.is_empty() && self.resource_version.parse::<u64>().is_err() {
            // The watch cache parses it before the stream starts; its error is not
            // classified, so clients see a bare 500.
            return Err(ApiError::unknown_500(format!(
                "resourceVersion: Invalid value: {}: strconv.ParseUint: parsing {}: invalid syntax",
                crate::status::go_quote(&self.resource_version),
                crate::status::go_quote(&self.resource_version)
            )));
        }
        Ok(())
    }
}

enum Frame {
    Data(Bytes),
    Abort,
}

struct Emitter {
    tx: mpsc::Sender<Frame>,
    def: Arc<ResourceDef>,
    api: Arc<Api>,
    output: Output,
    include: IncludeObject,
    headers_sent: bool,
}

impl Emitter {
    async fn send(&mut self, line: Vec<u8>) -> bool {
        self.tx.send(Frame::Data(Bytes::from(line))).await.is_ok()
    }

    fn object_json(&self, obj: &StoredObject) -> Result<Vec<u8>, ApiError> {
        match self.output {
            Output::Json | Output::Yaml => Ok(self.api.served_bytes(&self.def, obj)?.to_vec()),
            Output::Partial | Output::PartialList => {
                let v = self.api.served(&self.def, obj)?;
                serde_json::to_vec(&table::partial_metadata(&v)).map_err(ApiError::internal)
            }
            Output::Table => {
                let v = self.api.served(&self.def, obj)?;
                let rv = v
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(json!(""));
                let t = table::table(
                    &self.def,
                    std::slice::from_ref(&v),
                    json!({"resourceVersion": rv}),
                    self.include,
                    !self.headers_sent,
                );
                serde_json::to_vec(&t).map_err(ApiError::internal)
            }
        }
    }

    async fn event(&mut self, kind: &str, obj: &StoredObject) -> bool {
        let body = match self.object_json(obj) {
            Ok(b) => b,
            Err(e) => return self.error(&e).await,
        };
        self.headers_sent = true;
        let mut line = Vec::with_capacity(body.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(&body);
        line.extend_from_slice(b"}\n");
        self.send(line).await
    }

    async fn bookmark(&mut self, rv: u64, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({INITIAL_EVENTS_END: "true"});
        }
        let (kind, api_version) = match self.output {
            Output::Partial | Output::PartialList => (
                "PartialObjectMetadata".to_string(),
                "meta.k8s.io/v1".to_string(),
            ),
            _ => (self.def.kind.clone(), self.def.api_version()),
        };
        let obj = json!({"kind": kind, "apiVersion": api_version, "metadata": meta});
        let mut line =
            serde_json::to_vec(&json!({"type": "BOOKMARK", "object": obj})).unwrap_or_default();
        line.push(b'\n');
        self.send(line).await
    }

    async fn error(&mut self, e: &ApiError) -> bool {
        let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": e.to_status()}))
            .unwrap_or_default();
        line.push(b'\n');
        let _ = self.send(line).await;
        false
    }
}

fn matches(def: &ResourceDef, opts: &WatchOptions, obj: &StoredObject) -> bool {
    Api::matches(def, &opts.labels, &opts.fields, obj)
}

/// Rewrites an object's resourceVersion (DELETED events for objects leaving a
/// selector carry the previous state at the event's resourceVersion).
fn with_rv(obj: &StoredObject, rv: u64) -> StoredObject {
    let mut v: Value = match obj.value() {
        Ok(v) => v,
        Err(_) => return obj.clone(),
    };
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("resourceVersion".into(), json!(rv.to_string()));
    }
    StoredObject {
        bytes: Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
        rv,
        meta: obj.meta.clone(),
    }
}

async fn deliver(em: &mut Emitter, opts: &WatchOptions, ev: &Event) -> bool {
    let def = em.def.clone();
    if let Some(ns) = &opts.namespace
        && def.namespaced
        && &ev.key.namespace != ns
    {
        return true;
    }
    let cur = ev.kind != EventType::Deleted && matches(&def, opts, &ev.object);
    let old = match &ev.prev {
        Some(p) => matches(&def, opts, p),
        None => false,
    };
    match (cur, old) {
        (true, false) => em.event("ADDED", &ev.object).await,
        (true, true) => em.event("MODIFIED", &ev.object).await,
        (false, true) => {
            if ev.kind == EventType::Deleted {
                em.event("DELETED", &ev.object).await
            } else if let Some(p) = &ev.prev {
                em.event("DELETED", &with_rv(p, ev.rv)).await
            } else {
                true
            }
        }
        (false, false) => true,
    }
}

/// Starts a watch and returns the streaming response.
pub fn serve(api: Arc<Api>, def: Arc<ResourceDef>, opts: WatchOptions) -> Response {
    let (tx, mut rx) = mpsc::channel::<Frame>(64);
    let content_type = match opts.output {
        Output::Table => "application/json;as=Table;v=v1;g=meta.k8s.io",
        _ => "application/json",
    };
    let stream = futures::stream::poll_fn(move |cx| match rx.poll_recv(cx) {
        std::task::Poll::Ready(Some(Frame::Data(b))) => std::task::Poll::Ready(Some(Ok(b))),
        std::task::Poll::Ready(Some(Frame::Abort)) => {
            std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "watch connections dropped",
            ))))
        }
        std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
        std::task::Poll::Pending => std::task::Poll::Pending,
    });
    api.counters.watch_delta(1);
    tokio::spawn(run(api, def, opts, tx));
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    r
}

async fn run(api: Arc<Api>, def: Arc<ResourceDef>, opts: WatchOptions, tx: mpsc::Sender<Frame>) {
    let cancel = api.watch_token();
    let shutdown = api.shutdown.clone();
    let closed_tx = tx.clone();
    let mut em = Emitter {
        tx,
        def: def.clone(),
        api: api.clone(),
        output: opts.output,
        include: opts.include,
        headers_sent: false,
    };
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let work = async {
        stream_events(&api, &def, &opts, &mut em, deadline).await;
    };
    tokio::select! {
        _ = work => {}
        _ = cancel.cancelled() => {
            let _ = closed_tx.send(Frame::Abort).await;
        }
        _ = shutdown.cancelled() => {}
        _ = closed_tx.closed() => {}
    }
    api.counters.watch_delta(-1);
}

async fn stream_events(
    api: &Arc<Api>,
    def: &Arc<ResourceDef>,
    opts: &WatchOptions,
    em: &mut Emitter,
    deadline: tokio::time::Instant,
) {
    let requested: Option<u64> = if opts.resource_version.is_empty() {
        None
    } else {
        match opts.resource_version.parse::<u64>() {
            Ok(r) => Some(r),
            Err(_) => {
                em.error(&ApiError::bad_request(format!(
                    "invalid resource version: {:?}",
                    opts.resource_version
                )))
                .await;
                return;
            }
        }
    };
    let initial = match (opts.send_initial_events, requested) {
        (Some(true), _) => true,
        (Some(false), _) => false,
        (None, None) | (None, Some(0)) => true,
        (None, Some(_)) => false,
    };
    // Where the event stream starts.
    let mut cursor: u64;
    if initial || requested.is_none_or(|r| r == 0) {
        if let Some(r) = requested.filter(|r| *r > 0)
            && !api.wait_for_rv(r).await
        {
            em.error(&Api::read_error(ReadError::TooNew {
                requested: r,
                current: api.store.current_rv(),
            }))
            .await;
            return;
        }
        let ns = if def.namespaced {
            opts.namespace.as_deref()
        } else {
            None
        };
        let (rv, objects) = api.store.snapshot(&def.storage, ns);
        cursor = rv;
        if initial {
            for (_, o) in &objects {
                if matches(def, opts, o) && !em.event("ADDED", o).await {
                    return;
                }
            }
            if opts.send_initial_events == Some(true) && !em.bookmark(rv, true).await {
                return;
            }
        }
    } else {
        let r = requested.unwrap_or(0);
        // A resourceVersion the server has not reached yet: kube-apiserver keeps
        // the watch open, quiet, until it has (or the watch times out).
        let mut rv_rx = api.store.rv_watch();
        while api.store.current_rv() < r {
            tokio::select! {
                changed = rv_rx.changed() => if changed.is_err() { return; },
                _ = tokio::time::sleep_until(deadline) => return,
            }
        }
        cursor = r;
    }
    let mut rv_rx = api.store.rv_watch();
    let mut last_bookmark = tokio::time::Instant::now();
    let mut last_sent_rv = cursor;
    let mut pre_timeout_sent = false;
    // None when the watch is too short for one (as kube-apiserver decides when the
    // watch starts).
    let pre_timeout = deadline
        .checked_sub(PRE_TIMEOUT_BOOKMARK)
        .filter(|t| *t > tokio::time::Instant::now());
    loop {
        rv_rx.borrow_and_update();
        match api.store.events_after(&def.storage, cursor, 512) {
            Err(ReadError::TooOld { requested, oldest }) => {
                em.error(&ApiError::expired(format!(
                    "too old resource version: {requested} ({oldest})"
                )))
                .await;
                return;
            }
            Err(e) => {
                em.error(&Api::read_error(e)).await;
                return;
            }
            Ok((events, complete_to)) => {
                let more = !events.is_empty()
                    && complete_to == events.last().map(|e| e.rv).unwrap_or(0)
                    && complete_to < api.store.current_rv();
                for ev in &events {
                    if !deliver(em, opts, ev).await {
                        return;
                    }
                    cursor = ev.rv;
                }
                if complete_to > cursor {
                    cursor = complete_to;
                }
                if more {
                    continue;
                }
            }
        }
        if opts.allow_bookmarks && last_bookmark.elapsed() >= api.settings.bookmark_interval {
            if cursor > last_sent_rv {
                if !em.bookmark(cursor, false).await {
                    return;
                }
                last_sent_rv = cursor;
            }
            last_bookmark = tokio::time::Instant::now();
        }
        let bookmark_due = last_bookmark + api.settings.bookmark_interval;
        // As kube-apiserver's watch cache: a last bookmark 2 s before the watch
        // times out, if the watcher has not seen the newest resourceVersion, so
        // the client can resume from there.
        tokio::select! {
            r = rv_rx.changed() => if r.is_err() { return; },
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tokio::time::sleep_until(pre_timeout.unwrap_or(deadline)),
                if opts.allow_bookmarks && !pre_timeout_sent && pre_timeout.is_some() => {
                pre_timeout_sent = true;
                if cursor > last_sent_rv {
                    if !em.bookmark(cursor, false).await {
                        return;
                    }
                    last_sent_rv = cursor;
                }
            }
            _ = tokio::time::sleep_until(bookmark_due), if opts.allow_bookmarks => {}
        }
    }
}
