//! The object store: every object in memory, writes made durable through a
//! [`Backend`], and a bounded event log per resource that serves watches.
//!
//! # Writes
//! A write is a compare-and-swap on one key (`expected` resourceVersion, or absence),
//! like etcd's transactions under kube-apiserver's `GuaranteedUpdate`. Under a short
//! lock the store checks the expectation against the newest version (including
//! versions still being committed), assigns the next cluster-wide resourceVersion,
//! serializes the object and hands it to the commit thread. The commit thread batches
//! whatever is queued into one durable transaction (group commit), then publishes the
//! batch: readers see it, watchers are woken, and only then is the writer answered.
//! So an acknowledged write is on disk, and reads never show an object that a crash
//! could take back.
//!
//! # Reads
//! Reads see only committed objects. A list can be served at the current
//! resourceVersion or at an older one still covered by the event log (continue
//! tokens read at the resourceVersion of their first page, as etcd's MVCC does);
//! older than the log's window is `410 Expired`.

use crate::status::GroupResource;
use crate::storage::{Backend, Mutation, StorageError};
use axum::body::Bytes;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::{mpsc, oneshot, watch};

/// The most a stored object may weigh, key included, as etcd's default
/// `--max-request-bytes` (1.5 MiB) allows.
pub const MAX_OBJECT_BYTES: usize = 1_572_864;

/// Where an object lives: its group-resource (version-independent), namespace
/// (empty for cluster-scoped objects) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The storage group-resource.
    pub gr: GroupResource,
    /// Namespace, empty when cluster-scoped.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectKey {
    /// Builds a key.
    pub fn new(gr: &GroupResource, namespace: &str, name: &str) -> Self {
        Self {
            gr: gr.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The key in the backend: `group/resource/namespace/name`.
    pub fn storage_key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.gr.group, self.gr.resource, self.namespace, self.name
        )
    }

    /// Parses a backend key.
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.splitn(4, '/');
        let group = parts.next()?;
        let resource = parts.next()?;
        let namespace = parts.next()?;
        let name = parts.next()?;
        if resource.is_empty() || name.is_empty() {
            return None;
        }
        Some(Self {
            gr: GroupResource::new(group, resource),
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }
}

/// One `metadata.ownerReferences` entry, as the garbage collector needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    /// `apiVersion` of the owner.
    #[serde(default)]
    pub api_version: String,
    /// `kind` of the owner.
    #[serde(default)]
    pub kind: String,
    /// Owner name.
    #[serde(default)]
    pub name: String,
    /// Owner UID.
    #[serde(default)]
    pub uid: String,
    /// Whether this owner is the managing controller.
    #[serde(default)]
    pub controller: Option<bool>,
    /// Whether foreground deletion of the owner waits for this dependent.
    #[serde(default)]
    pub block_owner_deletion: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiteMeta {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    resource_version: String,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    owner_references: Option<Vec<OwnerRef>>,
    #[serde(default)]
    finalizers: Option<Vec<String>>,
    #[serde(default)]
    deletion_timestamp: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Lite {
    #[serde(default)]
    metadata: LiteMeta,
}

/// An object's labels, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Vec<(Box<str>, Box<str>)>);

impl Labels {
    /// The value of label `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(m: BTreeMap<String, String>) -> Self {
        Self(
            m.into_iter()
                .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                .collect(),
        )
    }
}

impl std::ops::Index<&str> for Labels {
    type Output = str;
    fn index(&self, key: &str) -> &str {
        self.get(key).unwrap_or_default()
    }
}

/// What the store indexes about an object without parsing it again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexMeta {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.labels`, sorted by key (a small vector: most objects carry few).
    pub labels: Labels,
    /// `metadata.ownerReferences`.
    pub owners: Vec<OwnerRef>,
    /// `metadata.finalizers`.
    pub finalizers: Vec<String>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

impl IndexMeta {
    fn from_lite(m: LiteMeta) -> Self {
        Self {
            uid: m.uid,
            labels: m.labels.unwrap_or_default().into(),
            owners: m.owner_references.unwrap_or_default(),
            finalizers: m.finalizers.unwrap_or_default(),
            deleting: m.deletion_timestamp.is_some(),
        }
    }

    /// Extracts the index fields from an object.
    pub fn from_value(obj: &Value) -> Self {
        let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
        let lite: LiteMeta = serde_json::from_value(meta).unwrap_or_default();
        Self::from_lite(lite)
    }
}

/// An object as stored: its JSON (resourceVersion included) and its index fields.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    /// The object's JSON in its storage version.
    pub bytes: Bytes,
    /// `metadata.resourceVersion`.
    pub rv: u64,
    /// Indexed metadata.
    pub meta: IndexMeta,
}

impl StoredObject {
    /// Parses the stored JSON.
    pub fn value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }

    fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        let lite: Lite = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        let rv = lite
            .metadata
            .resource_version
            .parse::<u64>()
            .map_err(|_| "missing or bad metadata.resourceVersion".to_string())?;
        Ok(Self {
            bytes: Bytes::from(bytes),
            rv,
            meta: IndexMeta::from_lite(lite.metadata),
        })
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed; the event carries the last state with the deletion's resourceVersion.
    Deleted,
}

impl EventType {
    /// The watch event type string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct Event {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// Which object.
    pub key: ObjectKey,
    /// The new state (for deletes: the last state, resourceVersion = `rv`).
    pub object: Arc<StoredObject>,
    /// The state before, if any.
    pub prev: Option<Arc<StoredObject>>,
}

/// Store tuning.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Events kept per resource for watches and old-resourceVersion lists.
    pub events_per_resource: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            events_per_resource: 10_000,
        }
    }
}

#[derive(Debug, Default)]
struct TypeState {
    objects: BTreeMap<(String, String), Arc<StoredObject>>,
    log: VecDeque<Arc<Event>>,
    /// Every event of this resource with rv > floor is in `log`.
    floor: u64,
}

#[derive(Debug, Default)]
struct State {
    rv: u64,
    /// Floor for resources that have no state yet.
    base_floor: u64,
    types: HashMap<GroupResource, TypeState>,
    dependents: HashMap<String, BTreeSet<ObjectKey>>,
}

impl State {
    fn type_mut(&mut self, gr: &GroupResource) -> &mut TypeState {
        let floor = self.base_floor;
        self.types.entry(gr.clone()).or_insert_with(|| TypeState {
            floor,
            ..TypeState::default()
        })
    }

    fn index(&mut self, key: &ObjectKey, obj: &StoredObject) {
        for o in &obj.meta.owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(key.clone());
        }
    }

    fn unindex(&mut self, key: &ObjectKey, obj: &StoredObject) {
        for o in &obj.meta.owners {
            if let Some(set) = self.dependents.get_mut(&o.uid) {
                set.remove(key);
                if set.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
        }
    }

    fn apply(&mut self, ev: Arc<Event>, cap: usize) {
        if let Some(prev) = &ev.prev {
            self.unindex(&ev.key, prev);
        }
        let tkey = (ev.key.namespace.clone(), ev.key.name.clone());
        match ev.kind {
            EventType::Deleted => {
                self.type_mut(&ev.key.gr).objects.remove(&tkey);
            }
            EventType::Added | EventType::Modified => {
                let obj = ev.object.clone();
                self.index(&ev.key, &obj);
                self.type_mut(&ev.key.gr).objects.insert(tkey, obj);
            }
        }
        self.rv = ev.rv;
        let t = self.type_mut(&ev.key.gr);
        t.log.push_back(ev);
        while t.log.len() > cap {
            if let Some(old) = t.log.pop_front() {
                t.floor = old.rv;
            }
        }
    }
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The object changed (or appeared, or vanished) since it was read.
    #[error("the object has been modified")]
    Conflict,
    /// The serialized object is over etcd's request limit.
    #[error("etcdserver: request is too large")]
    TooLarge,
    /// The object could not be serialized.
    #[error("cannot serialize the object: {0}")]
    Serialize(String),
    /// The backend failed; the store refuses further writes.
    #[error("storage failure: {0}")]
    Storage(String),
}

/// What to write.
#[derive(Debug)]
pub enum Write {
    /// Create or replace with this object.
    Put(Value),
    /// Delete; the value is the object's final state for the DELETED event.
    Delete(Value),
}

/// What a read at an old resourceVersion could not serve.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    /// The resourceVersion is older than the event log's window.
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld {
        /// What was asked for.
        requested: u64,
        /// The oldest resourceVersion still served.
        oldest: u64,
    },
    /// The resourceVersion is newer than anything committed.
    #[error("Too large resource version: {requested}, current: {current}")]
    TooNew {
        /// What was asked for.
        requested: u64,
        /// The newest committed resourceVersion.
        current: u64,
    },
}

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// The objects, in (namespace, name) order.
    pub items: Vec<Arc<StoredObject>>,
    /// The resourceVersion the list was read at.
    pub rv: u64,
    /// Where the next page starts (after this namespace/name), if there is one.
    pub next: Option<(String, String)>,
    /// How many more objects remain, when cheap to know (no filter).
    pub remaining: Option<u64>,
}

/// A page request.
pub struct PageRequest<'a> {
    /// The resource.
    pub gr: &'a GroupResource,
    /// Only this namespace, when set.
    pub namespace: Option<&'a str>,
    /// Read at this resourceVersion (exact), or the current state when `None`.
    pub at: Option<u64>,
    /// Start after this (namespace, name).
    pub after: Option<(String, String)>,
    /// At most this many items (0 = all).
    pub limit: usize,
    /// Which objects to include.
    pub filter: &'a dyn Fn(&ObjectKey, &StoredObject) -> bool,
}

struct Pending {
    rv: u64,
    object: Option<Arc<StoredObject>>,
}

struct Writer {
    last_rv: u64,
    pending: HashMap<ObjectKey, Pending>,
    jobs: std::sync::mpsc::Sender<Job>,
    failed: Option<String>,
}

struct Job {
    event: Arc<Event>,
    mutation: Mutation,
    done: oneshot::Sender<Result<(), String>>,
}

struct Inner {
    state: RwLock<State>,
    writer: Mutex<Writer>,
    rv_tx: watch::Sender<u64>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Arc<Event>>>>,
    config: StoreConfig,
    backend_name: String,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The object store; cheap to clone (a handle).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend_name)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// Where an object loaded at start-up could not be used.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The backend key.
    pub key: String,
    /// Why it was skipped.
    pub reason: String,
}

impl Store {
    /// Opens a store on `backend`, loading everything it holds, and starts the
    /// commit thread. Returns the records that could not be read (they are left in
    /// the backend untouched and reported, never silently dropped).
    pub fn open(
        backend: Arc<dyn Backend>,
        config: StoreConfig,
    ) -> Result<(Self, Vec<Skipped>), StorageError> {
        let loaded = backend.load()?;
        let mut state = State::default();
        let mut skipped = Vec::new();
        let mut max_rv = loaded.resource_version;
        for (k, v) in loaded.objects {
            let Some(key) = ObjectKey::parse(&k) else {
                skipped.push(Skipped {
                    key: k,
                    reason: "unparseable key".into(),
                });
                continue;
            };
            match StoredObject::from_bytes(v) {
                Ok(obj) => {
                    max_rv = max_rv.max(obj.rv);
                    let obj = Arc::new(obj);
                    state.index(&key, &obj);
                    state
                        .types
                        .entry(key.gr.clone())
                        .or_default()
                        .objects
                        .insert((key.namespace, key.name), obj);
                }
                Err(reason) => skipped.push(Skipped { key: k, reason }),
            }
        }
        state.rv = max_rv;
        state.base_floor = max_rv;
        for t in state.types.values_mut() {
            t.floor = max_rv;
        }
        let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<Job>();
        let (rv_tx, _) = watch::channel(max_rv);
        let inner = Arc::new(Inner {
            state: RwLock::new(state),
            writer: Mutex::new(Writer {
                last_rv: max_rv,
                pending: HashMap::new(),
                jobs: jobs_tx,
                failed: None,
            }),
            rv_tx,
            subscribers: Mutex::new(Vec::new()),
            backend_name: backend.describe(),
            config,
            committer: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let handle = std::thread::Builder::new()
            .name("apiserver-commit".into())
            .spawn(move || commit_loop(jobs_rx, backend, weak))
            .map_err(|e| StorageError::Corrupt {
                key: String::new(),
                reason: format!("cannot start the commit thread: {e}"),
            })?;
        *lock(&inner.committer) = Some(handle);
        Ok((Self { inner }, skipped))
    }

    /// Stops accepting writes, lets the commit thread finish what is queued and
    /// closes the backend (releasing the database file). Blocks until done.
    pub fn close(&self) {
        {
            let mut w = lock(&self.inner.writer);
            w.failed = Some("the server is shutting down".into());
            let (dead, _) = std::sync::mpsc::channel();
            w.jobs = dead;
        }
        let handle = lock(&self.inner.committer).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// The newest committed resourceVersion.
    pub fn current_rv(&self) -> u64 {
        read(&self.inner.state).rv
    }

    /// A receiver that changes whenever a new resourceVersion is committed.
    pub fn rv_watch(&self) -> watch::Receiver<u64> {
        self.inner.rv_tx.subscribe()
    }

    /// Every committed event from now on (for in-process controllers).
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Arc<Event>> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.inner.subscribers).push(tx);
        rx
    }

    /// The committed object at `key`.
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<StoredObject>> {
        read(&self.inner.state)
            .types
            .get(&key.gr)?
            .objects
            .get(&(key.namespace.clone(), key.name.clone()))
            .cloned()
    }

    /// The newest version of `key`, including one still being committed: what a
    /// read-modify-write must start from.
    pub fn latest(&self, key: &ObjectKey) -> Option<Arc<StoredObject>> {
        let w = lock(&self.inner.writer);
        if let Some(p) = w.pending.get(key) {
            return p.object.clone();
        }
        drop(w);
        self.get(key)
    }

    /// Keys of objects that name `owner_uid` in their ownerReferences.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<ObjectKey> {
        read(&self.inner.state)
            .dependents
            .get(owner_uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The group-resources that currently hold objects.
    pub fn resources(&self) -> Vec<GroupResource> {
        read(&self.inner.state)
            .types
            .iter()
            .filter(|(_, t)| !t.objects.is_empty())
            .map(|(gr, _)| gr.clone())
            .collect()
    }

    /// All current objects of a resource (optionally in one namespace) and the
    /// resourceVersion they are consistent at.
    pub fn snapshot(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
    ) -> (u64, Vec<(ObjectKey, Arc<StoredObject>)>) {
        let st = read(&self.inner.state);
        let mut out = Vec::new();
        if let Some(t) = st.types.get(gr) {
            type Entries<'a> =
                Box<dyn Iterator<Item = (&'a (String, String), &'a Arc<StoredObject>)> + 'a>;
            let iter: Entries<'_> = match namespace {
                Some(ns) => Box::new(
                    t.objects
                        .range((ns.to_string(), String::new())..)
                        .take_while(move |((n, _), _)| n == ns),
                ),
                None => Box::new(t.objects.iter()),
            };
            for ((ns, name), obj) in iter {
                out.push((ObjectKey::new(gr, ns, name), obj.clone()));
            }
        }
        (st.rv, out)
    }

    /// Counts every stored object.
    pub fn count_all(&self) -> usize {
        read(&self.inner.state)
            .types
            .values()
            .map(|t| t.objects.len())
            .sum()
    }

    /// Counts the objects of a resource.
    pub fn count(&self, gr: &GroupResource) -> usize {
        read(&self.inner.state)
            .types
            .get(gr)
            .map(|t| t.objects.len())
            .unwrap_or(0)
    }

    /// One page of a list, at the current or an older resourceVersion.
    pub fn list(&self, req: &PageRequest<'_>) -> Result<Page, ReadError> {
        let st = read(&self.inner.state);
        let rv = match req.at {
            None => st.rv,
            Some(at) if at > st.rv => {
                return Err(ReadError::TooNew {
                    requested: at,
                    current: st.rv,
                });
            }
            Some(at) => at,
        };
        let empty = TypeState::default();
        let t = st.types.get(req.gr).unwrap_or(&empty);
        let floor = if st.types.contains_key(req.gr) {
            t.floor
        } else {
            st.base_floor
        };
        // Undo what happened after `rv`: the first event after it for each key
        // holds the state at `rv` in `prev`.
        let mut overlay: BTreeMap<(String, String), Option<Arc<StoredObject>>> = BTreeMap::new();
        if rv < st.rv {
            if rv < floor {
                return Err(ReadError::TooOld {
                    requested: rv,
                    oldest: floor,
                });
            }
            let start = t.log.partition_point(|e| e.rv <= rv);
            for ev in t.log.iter().skip(start) {
                overlay
                    .entry((ev.key.namespace.clone(), ev.key.name.clone()))
                    .or_insert_with(|| ev.prev.clone());
            }
        }
        let lower = match (&req.after, req.namespace) {
            (Some(after), _) => std::ops::Bound::Excluded(after.clone()),
            (None, Some(ns)) => std::ops::Bound::Included((ns.to_string(), String::new())),
            (None, None) => std::ops::Bound::Unbounded,
        };
        let range = (lower.clone(), std::ops::Bound::Unbounded);
        let mut current = t
            .objects
            .range::<(String, String), _>(range.clone())
            .peekable();
        let mut undone = overlay.range::<(String, String), _>(range).peekable();
        let in_ns = |k: &(String, String)| req.namespace.is_none_or(|ns| k.0 == ns);
        let mut items = Vec::new();
        let mut next = None;
        let mut last_key: Option<(String, String)> = None;
        let mut remaining: u64 = 0;
        let counting_only = req.limit > 0;
        let mut full = false;
        loop {
            // Merge the two sorted sequences; the overlay wins on equal keys.
            let (k, obj) = match (current.peek(), undone.peek()) {
                (None, None) => break,
                (Some((ck, _)), Some((uk, _))) if uk <= ck => {
                    let same = uk == ck;
                    let (k, o) = undone
                        .next()
                        .map(|(k, o)| (k.clone(), o.clone()))
                        .unwrap_or_default();
                    if same {
                        current.next();
                    }
                    (k, o)
                }
                (Some(_), _) => {
                    let (k, o) = current
                        .next()
                        .map(|(k, o)| (k.clone(), Some(o.clone())))
                        .unwrap_or_default();
                    (k, o)
                }
                (None, Some(_)) => undone
                    .next()
                    .map(|(k, o)| (k.clone(), o.clone()))
                    .unwrap_or_default(),
            };
            if !in_ns(&k) {
                break;
            }
            let Some(obj) = obj else { continue };
            let key = ObjectKey::new(req.gr, &k.0, &k.1);
            if !(req.filter)(&key, &obj) {
                continue;
            }
            if full {
                if counting_only {
                    remaining += 1;
                    continue;
                }
                break;
            }
            items.push(obj);
            last_key = Some(k);
            if req.limit > 0 && items.len() >= req.limit {
                full = true;
            }
        }
        if full && remaining > 0 {
            next = last_key;
        }
        Ok(Page {
            items,
            rv,
            next,
            remaining: if remaining > 0 { Some(remaining) } else { None },
        })
    }

    /// Events of `gr` after `rv`, up to `max`, and the resourceVersion up to which
    /// this answer is complete.
    pub fn events_after(
        &self,
        gr: &GroupResource,
        rv: u64,
        max: usize,
    ) -> Result<(Vec<Arc<Event>>, u64), ReadError> {
        let st = read(&self.inner.state);
        let Some(t) = st.types.get(gr) else {
            if rv < st.base_floor {
                return Err(ReadError::TooOld {
                    requested: rv,
                    oldest: st.base_floor,
                });
            }
            return Ok((Vec::new(), st.rv));
        };
        if rv < t.floor {
            return Err(ReadError::TooOld {
                requested: rv,
                oldest: t.floor,
            });
        }
        let start = t.log.partition_point(|e| e.rv <= rv);
        let events: Vec<Arc<Event>> = t.log.iter().skip(start).take(max).cloned().collect();
        let complete_to = if start + events.len() < t.log.len() {
            events.last().map(|e| e.rv).unwrap_or(rv)
        } else {
            st.rv
        };
        Ok((events, complete_to))
    }

    /// Forgets every event up to now, as if the window had slid past them: watches
    /// and continue tokens from older resourceVersions get `410`. For tests.
    pub fn compact(&self) {
        let mut st = write(&self.inner.state);
        let rv = st.rv;
        st.base_floor = rv;
        for t in st.types.values_mut() {
            t.log.clear();
            t.floor = rv;
        }
    }

    /// Serializes `obj` as it would be stored, enforcing the size limit (dry runs).
    pub fn encode(key: &ObjectKey, obj: &Value) -> Result<Bytes, WriteError> {
        let bytes = serde_json::to_vec(obj).map_err(|e| WriteError::Serialize(e.to_string()))?;
        if bytes.len() + key.storage_key().len() > MAX_OBJECT_BYTES {
            return Err(WriteError::TooLarge);
        }
        Ok(Bytes::from(bytes))
    }

    /// Writes `key` if its newest version has resourceVersion `expected` (`None`:
    /// if it does not exist), and waits until the write is durable and visible.
    /// The store sets `metadata.resourceVersion`.
    pub async fn commit(
        &self,
        key: &ObjectKey,
        expected: Option<u64>,
        write: Write,
    ) -> Result<Arc<StoredObject>, WriteError> {
        let (done_tx, done_rx) = oneshot::channel();
        let stored = {
            let mut w = lock(&self.inner.writer);
            if let Some(f) = &w.failed {
                return Err(WriteError::Storage(f.clone()));
            }
            let current = match w.pending.get(key) {
                Some(p) => p.object.clone(),
                None => self.get(key),
            };
            if current.as_ref().map(|c| c.rv) != expected {
                return Err(WriteError::Conflict);
            }
            let rv = w.last_rv + 1;
            let (kind, mut value) = match write {
                Write::Put(v) if current.is_some() => (EventType::Modified, v),
                Write::Put(v) => (EventType::Added, v),
                Write::Delete(_) if current.is_none() => return Err(WriteError::Conflict),
                Write::Delete(v) => (EventType::Deleted, v),
            };
            if let Some(m) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("resourceVersion".into(), Value::String(rv.to_string()));
            }
            let bytes = Self::encode(key, &value)?;
            let meta = IndexMeta::from_value(&value);
            let stored = Arc::new(StoredObject { bytes, rv, meta });
            w.last_rv = rv;
            let mutation = match kind {
                EventType::Deleted => Mutation::Delete {
                    key: key.storage_key(),
                },
                _ => Mutation::Put {
                    key: key.storage_key(),
                    value: Arc::from(&stored.bytes[..]),
                },
            };
            w.pending.insert(
                key.clone(),
                Pending {
                    rv,
                    object: if kind == EventType::Deleted {
                        None
                    } else {
                        Some(stored.clone())
                    },
                },
            );
            let event = Arc::new(Event {
                rv,
                kind,
                key: key.clone(),
                object: stored.clone(),
                prev: current,
            });
            if w.jobs
                .send(Job {
                    event,
                    mutation,
                    done: done_tx,
                })
                .is_err()
            {
                w.pending.remove(key);
                return Err(WriteError::Storage("the commit thread has stopped".into()));
            }
            stored
        };
        match done_rx.await {
            Ok(Ok(())) => Ok(stored),
            Ok(Err(e)) => Err(WriteError::Storage(e)),
            Err(_) => Err(WriteError::Storage("the commit thread has stopped".into())),
        }
    }
}

fn commit_loop(
    jobs: std::sync::mpsc::Receiver<Job>,
    backend: Arc<dyn Backend>,
    inner: std::sync::Weak<Inner>,
) {
    const MAX_BATCH: usize = 1024;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        let failed = lock(&inner.writer).failed.clone();
        let result = match failed {
            Some(f) => Err(f),
            None => {
                let mutations: Vec<Mutation> = batch.iter().map(|j| j.mutation.clone()).collect();
                let last = batch.last().map(|j| j.event.rv).unwrap_or(0);
                backend.commit(&mutations, last).map_err(|e| e.to_string())
            }
        };
        match result {
            Ok(()) => {
                let cap = inner.config.events_per_resource.max(1);
                {
                    let mut st = write(&inner.state);
                    for j in &batch {
                        st.apply(j.event.clone(), cap);
                    }
                }
                {
                    let mut w = lock(&inner.writer);
                    for j in &batch {
                        if w.pending.get(&j.event.key).map(|p| p.rv) == Some(j.event.rv) {
                            w.pending.remove(&j.event.key);
                        }
                    }
                }
                if let Some(last) = batch.last() {
                    inner.rv_tx.send_replace(last.event.rv);
                }
                {
                    let mut subs = lock(&inner.subscribers);
                    subs.retain(|s| batch.iter().all(|j| s.send(j.event.clone()).is_ok()));
                }
                for j in batch {
                    let _ = j.done.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "storage commit failed; refusing further writes");
                {
                    let mut w = lock(&inner.writer);
                    w.failed = Some(e.clone());
                    w.pending.clear();
                }
                for j in batch {
                    let _ = j.done.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{MemoryBackend, RedbBackend};
    use serde_json::json;

    fn gr() -> GroupResource {
        GroupResource::new("", "configmaps")
    }

    fn cm(name: &str, label: &str) -> Value {
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":"default","uid":format!("uid-{name}"),"labels":{"app":label}}})
    }

    fn all(_: &ObjectKey, _: &StoredObject) -> bool {
        true
    }

    #[tokio::test]
    async fn commit_assigns_increasing_resource_versions_and_checks_expectations() {
        let (s, _) = Store::open(Arc::new(MemoryBackend), StoreConfig::default()).unwrap();
        let k = ObjectKey::new(&gr(), "default", "a");
        let a = s.commit(&k, None, Write::Put(cm("a", "x"))).await.unwrap();
        assert_eq!(a.rv, 1);
        assert!(matches!(
            s.commit(&k, None, Write::Put(cm("a", "x"))).await,
            Err(WriteError::Conflict)
        ));
        let b = s
            .commit(&k, Some(1), Write::Put(cm("a", "y")))
            .await
            .unwrap();
        assert_eq!(b.rv, 2);
        assert_eq!(s.get(&k).unwrap().meta.labels.get("app"), Some("y"));
        assert_eq!(s.current_rv(), 2);
    }

    #[tokio::test]
    async fn lists_at_an_old_resource_version_undo_later_changes() {
        let (s, _) = Store::open(Arc::new(MemoryBackend), StoreConfig::default()).unwrap();
        for n in ["a", "b", "c"] {
            let k = ObjectKey::new(&gr(), "default", n);
            s.commit(&k, None, Write::Put(cm(n, "1"))).await.unwrap();
        }
        let kb = ObjectKey::new(&gr(), "default", "b");
        s.commit(&kb, Some(2), Write::Put(cm("b", "2")))
            .await
            .unwrap();
        let ka = ObjectKey::new(&gr(), "default", "a");
        s.commit(&ka, Some(1), Write::Delete(cm("a", "1")))
            .await
            .unwrap();
        let page = s
            .list(&PageRequest {
                gr: &gr(),
                namespace: Some("default"),
                at: Some(3),
                after: None,
                limit: 2,
                filter: &all,
            })
            .unwrap();
        let names: Vec<String> = page
            .items
            .iter()
            .map(|o| {
                o.value().unwrap()["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(page.items[1].meta.labels.get("app"), Some("1"));
        assert_eq!(page.next, Some(("default".into(), "b".into())));
        assert_eq!(page.remaining, Some(1));
        s.compact();
        assert!(matches!(
            s.list(&PageRequest {
                gr: &gr(),
                namespace: None,
                at: Some(3),
                after: None,
                limit: 0,
                filter: &all,
            }),
            Err(ReadError::TooOld { .. })
        ));
    }

    #[tokio::test]
    async fn events_after_reports_too_old_beyond_the_window() {
        let (s, _) = Store::open(
            Arc::new(MemoryBackend),
            StoreConfig {
                events_per_resource: 2,
            },
        )
        .unwrap();
        for n in ["a", "b", "c"] {
            let k = ObjectKey::new(&gr(), "default", n);
            s.commit(&k, None, Write::Put(cm(n, "1"))).await.unwrap();
        }
        assert!(matches!(
            s.events_after(&gr(), 0, 10),
            Err(ReadError::TooOld { .. })
        ));
        let (evs, to) = s.events_after(&gr(), 1, 10).unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(to, 3);
    }

    #[tokio::test]
    async fn redb_store_reloads_objects_and_the_counter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        {
            let (s, _) = Store::open(
                Arc::new(RedbBackend::open(&path).unwrap()),
                StoreConfig::default(),
            )
            .unwrap();
            let k = ObjectKey::new(&gr(), "default", "a");
            s.commit(&k, None, Write::Put(cm("a", "1"))).await.unwrap();
            let kb = ObjectKey::new(&gr(), "default", "b");
            s.commit(&kb, None, Write::Put(cm("b", "1"))).await.unwrap();
            s.commit(&kb, Some(2), Write::Delete(cm("b", "1")))
                .await
                .unwrap();
        }
        // The commit thread holds the database until it notices the store is gone.
        let mut backend = None;
        for _ in 0..100 {
            match RedbBackend::open(&path) {
                Ok(b) => {
                    backend = Some(b);
                    break;
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        let (s, skipped) = Store::open(Arc::new(backend.unwrap()), StoreConfig::default()).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(s.current_rv(), 3);
        assert!(s.get(&ObjectKey::new(&gr(), "default", "a")).is_some());
        assert!(s.get(&ObjectKey::new(&gr(), "default", "b")).is_none());
        assert_eq!(s.dependents_of("uid-a"), Vec::new());
    }
}
