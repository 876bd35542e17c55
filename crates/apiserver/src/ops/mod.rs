//! Operations on objects, independent of HTTP: get, list, create, update, patch,
//! delete. The HTTP handlers call them for clients, and the in-process controllers
//! (garbage collector, namespace controller, CRD controller) call them too, so every
//! write goes through the same validation, defaulting and storage path.

mod admission;
mod binding;
mod delete;
mod list;
mod write;

pub use admission::{TOKEN_MOUNT_PATH, TOKEN_VOLUME_PREFIX};
pub use delete::{DeleteOptions, Deleted, Propagation};
pub use list::{
    ListOptions, Listed, RvMatch, decode_continue, encode_continue, go_quote_char, parse_rv_match,
};
pub use write::{Patch, PatchKind, Sub, WriteOptions, Written, json_type};

use crate::logs::PodLogSource;
use crate::metrics::Counters;
use crate::resource::{Registry, ResourceDef};
use crate::status::{ApiError, GroupResource};
use crate::store::{ObjectKey, ReadError, Store, StoredObject, WriteError};
use axum::body::Bytes;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Server behaviour settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often an idle watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// Watches without `timeoutSeconds` end after a random time between this and
    /// twice this (kube-apiserver's `--min-request-timeout`, 1800 s).
    pub min_request_timeout: Duration,
    /// Request bodies over this are refused with 413 before parsing (3 MiB).
    pub max_body_bytes: usize,
    /// The `WatchList` feature gate: watches with `sendInitialEvents` (streaming
    /// lists). Off by default, as in kube-apiserver 1.33, where such watches are
    /// refused with 422.
    pub watch_list: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bookmark_interval: Duration::from_secs(60),
            min_request_timeout: Duration::from_secs(1800),
            max_body_bytes: 3 * 1024 * 1024,
            watch_list: false,
        }
    }
}

/// The server's shared state and the operations on it.
pub struct Api {
    /// Objects.
    pub store: Store,
    /// What is served.
    pub registry: Arc<Registry>,
    /// Request counters.
    pub counters: Arc<Counters>,
    /// Pod logs.
    pub logs: Arc<dyn PodLogSource>,
    /// Settings.
    pub settings: Settings,
    watch_cancel: Mutex<CancellationToken>,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// `metadata.resourceVersion` as a number, or `None` when absent or empty.
pub fn rv_of(obj: &Value) -> Result<Option<u64>, ApiError> {
    match obj.pointer("/metadata/resourceVersion") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s:?}"))),
        Some(other) => Err(ApiError::bad_request(format!(
            "invalid resource version: {other}"
        ))),
    }
}

/// The current time as the API writes it (`2024-05-01T10:00:00Z`).
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The group-resource of namespaces.
pub fn namespaces_gr() -> GroupResource {
    GroupResource::new("", "namespaces")
}

impl Api {
    /// Builds the state.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        counters: Arc<Counters>,
        logs: Arc<dyn PodLogSource>,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            registry,
            counters,
            logs,
            settings,
            watch_cancel: Mutex::new(CancellationToken::new()),
            shutdown: CancellationToken::new(),
        }
    }

    /// The token that ends every open watch when [`Api::drop_watches`] is called.
    pub fn watch_token(&self) -> CancellationToken {
        self.watch_cancel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Breaks every open watch connection (as a network failure would), for tests.
    pub fn drop_watches(&self) {
        let mut g = self.watch_cancel.lock().unwrap_or_else(|e| e.into_inner());
        g.cancel();
        *g = CancellationToken::new();
    }

    /// The storage key of an object of `def`.
    pub fn key(&self, def: &ResourceDef, namespace: &str, name: &str) -> ObjectKey {
        let ns = if def.namespaced { namespace } else { "" };
        ObjectKey::new(&def.storage, ns, name)
    }

    /// A stored object as `def` serves it.
    pub fn served(&self, def: &ResourceDef, stored: &StoredObject) -> Result<Value, ApiError> {
        let v = stored.value().map_err(ApiError::internal)?;
        Ok(match def.behaviour.encode(&v, &def.version) {
            Some(converted) => converted,
            None => v,
        })
    }

    /// A stored object's bytes as `def` serves them (no parsing when the stored
    /// form is the served form).
    pub fn served_bytes(
        &self,
        def: &ResourceDef,
        stored: &StoredObject,
    ) -> Result<Bytes, ApiError> {
        if def.storage.group == def.group && def.crd.is_none() {
            return Ok(stored.bytes.clone());
        }
        let v = stored.value().map_err(ApiError::internal)?;
        match def.behaviour.encode(&v, &def.version) {
            None => Ok(stored.bytes.clone()),
            Some(converted) => serde_json::to_vec(&converted)
                .map(Bytes::from)
                .map_err(ApiError::internal),
        }
    }

    /// Reads one object.
    pub fn get(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<StoredObject>, ApiError> {
        self.store
            .get(&self.key(def, namespace, name))
            .ok_or_else(|| ApiError::not_found(&def.gr(), name))
    }

    /// The namespace lifecycle admission check for creating in `namespace`.
    pub fn admit_namespace(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        if !def.namespaced {
            return Ok(());
        }
        let key = ObjectKey::new(&namespaces_gr(), "", namespace);
        match self.store.latest(&key) {
            None => Err(ApiError::not_found(&namespaces_gr(), namespace)),
            Some(ns) if ns.meta.deleting => Err(ApiError::forbidden(
                &def.gr(),
                name,
                &format!("unable to create new content in namespace {namespace} because it is being terminated"),
            )
            .with_cause(
                "NamespaceTerminating",
                format!("namespace {namespace} is being terminated"),
                "metadata.namespace",
            )),
            Some(_) => Ok(()),
        }
    }

    /// Maps a store write failure to the API error a client sees.
    pub fn write_error(&self, def: &ResourceDef, name: &str, e: WriteError) -> ApiError {
        match e {
            WriteError::Conflict => ApiError::conflict_modified(&def.gr(), name),
            WriteError::TooLarge => ApiError::unknown_500("etcdserver: request is too large"),
            WriteError::Serialize(m) => ApiError::internal(m),
            WriteError::Storage(m) => ApiError::internal(format!("storage failure: {m}")),
        }
    }

    /// Maps a read-at-resourceVersion failure.
    pub fn read_error(e: ReadError) -> ApiError {
        match e {
            ReadError::TooOld { .. } => {
                ApiError::expired("The resourceVersion for the provided list is too old.")
            }
            ReadError::TooNew { requested, current } => ApiError::timeout(
                &format!("Too large resource version: {requested}, current: {current}"),
                1,
            )
            .with_cause("ResourceVersionTooLarge", "Too large resource version", ""),
        }
    }

    /// Waits (at most three seconds, as the watch cache does) until the store has
    /// reached `rv`; false if it did not.
    pub async fn wait_for_rv(&self, rv: u64) -> bool {
        if self.store.current_rv() >= rv {
            return true;
        }
        let mut w = self.store.rv_watch();
        let deadline = tokio::time::sleep(Duration::from_secs(3));
        tokio::pin!(deadline);
        loop {
            if *w.borrow_and_update() >= rv {
                return true;
            }
            tokio::select! {
                _ = &mut deadline => return false,
                r = w.changed() => if r.is_err() { return false; },
            }
        }
    }
}
