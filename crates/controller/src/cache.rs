//! One long-lived watch per kind, shared by every controller that needs the kind.
//!
//! A [`Cache`] keeps a reflector store (read by any controller, so a reconcile reads
//! Providers, maps and Plans from memory instead of the API server) and fans out every
//! change, **deletions included**, to any number of subscribers: the kind's own
//! controller, the controllers that watch it (`Controller::watches_shared_stream`), the
//! metrics, the provider-collector clean-up. kube-runtime's shared stores drop
//! deletions, and a plan must hear that its Migration was deleted, so Ferry fans out
//! itself:
//!
//! - after the initial list (and every re-list), every object is announced, and objects
//!   that vanished while the watch was down are announced as deleted;
//! - a subscriber that falls behind the fan-out buffer is not dropped: it is handed
//!   every object in the store, as if they had all changed (reconciles are idempotent);
//! - objects enter the store without `metadata.managedFields` (nothing reads them, and
//!   they are often the larger part of the metadata); the fan-out shares the store's
//!   copy.

use std::collections::{HashSet, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::watcher;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// How many changes a slow subscriber may fall behind before it is resynchronised.
const FAN_OUT_CAPACITY: usize = 4096;

/// A change seen by a [`Cache`].
#[derive(Debug)]
pub enum CacheEvent<K> {
    /// The object was created or changed (or re-listed).
    Applied(Arc<K>),
    /// The object was deleted (as last seen).
    Deleted(Arc<K>),
    /// The subscriber fell behind; everything in the store may have changed.
    Resynced,
}

impl<K> Clone for CacheEvent<K> {
    fn clone(&self) -> Self {
        match self {
            Self::Applied(object) => Self::Applied(Arc::clone(object)),
            Self::Deleted(object) => Self::Deleted(Arc::clone(object)),
            Self::Resynced => Self::Resynced,
        }
    }
}

/// A watched kind: its store and its change fan-out.
pub struct Cache<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    name: &'static str,
    reader: Store<K>,
    events: broadcast::Sender<CacheEvent<K>>,
    listed: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl<K> Drop for Cache<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<K> Cache<K>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    /// Starts reflecting `watch` (a `watcher` or `metadata_watcher` stream, with backoff)
    /// into a new cache named `name` (for logs).
    pub fn spawn<S>(name: &'static str, watch: S) -> Arc<Self>
    where
        S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    {
        let writer = Writer::<K>::new(Default::default());
        let reader = writer.as_reader();
        let (events, _) = broadcast::channel(FAN_OUT_CAPACITY);
        let (listed_tx, listed) = watch::channel(false);
        let task = tokio::spawn(reflect(name, watch, writer, events.clone(), listed_tx));
        Arc::new(Self {
            name,
            reader,
            events,
            listed,
            task,
        })
    }

    /// Stops the watch (the store keeps what it has; subscribers see the fan-out end).
    pub fn abort(&self) {
        self.task.abort();
    }

    /// The cache's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The store.
    pub fn store(&self) -> Store<K> {
        self.reader.clone()
    }

    /// Every object, in no particular order.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.reader.state()
    }

    /// The object with this reference.
    pub fn get(&self, reference: &ObjectRef<K>) -> Option<Arc<K>> {
        self.reader.get(reference)
    }

    /// Waits until the first list is complete.
    ///
    /// (Not the store's `wait_until_ready`: that one wakes only its last waiter, and
    /// each controller already waits on its own store.)
    pub async fn ready(&self) {
        let mut listed = self.listed.clone();
        // An error means the cache is shutting down: nothing to wait for.
        let _ = listed.wait_for(|listed| *listed).await;
    }

    /// Whether the first list is complete.
    pub fn is_ready(&self) -> bool {
        *self.listed.borrow()
    }

    /// Every change from now on.
    pub fn events(&self) -> impl Stream<Item = CacheEvent<K>> + Send + 'static {
        futures::stream::unfold(self.events.subscribe(), |mut receiver| async move {
            match receiver.recv().await {
                Ok(event) => Some((event, receiver)),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    Some((CacheEvent::Resynced, receiver))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
    }

    /// Every object in the store now, then every object that changes (applied or
    /// deleted), for `Controller::for_shared_stream` and `watches_shared_stream`. A
    /// controller started after the first list (a leader that took over) thereby sees
    /// every existing object once. A subscriber that falls behind gets every object in
    /// the store again.
    pub fn changed(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let reader = self.reader.clone();
        // Subscribe before reading the store: a change in between is seen twice, never
        // missed.
        let receiver = self.events.subscribe();
        let state = (receiver, VecDeque::<Arc<K>>::from(self.reader.state()));
        futures::stream::unfold(state, move |(mut receiver, mut backlog)| {
            let reader = reader.clone();
            async move {
                loop {
                    if let Some(object) = backlog.pop_front() {
                        return Some((object, (receiver, backlog)));
                    }
                    match receiver.recv().await {
                        Ok(CacheEvent::Applied(object) | CacheEvent::Deleted(object)) => {
                            return Some((object, (receiver, backlog)));
                        }
                        Ok(CacheEvent::Resynced) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            backlog.extend(reader.state());
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })
    }
}

async fn reflect<K, S>(
    name: &'static str,
    watch: S,
    mut writer: Writer<K>,
    events: broadcast::Sender<CacheEvent<K>>,
    listed: watch::Sender<bool>,
) where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let reader = writer.as_reader();
    let mut watch = std::pin::pin!(watch);
    let mut failing = false;
    while let Some(event) = watch.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                // The stream backs off and retries by itself.
                if !failing {
                    tracing::warn!(cache = name, %error, "watch failed; retrying with backoff");
                }
                failing = true;
                continue;
            }
        };
        if failing {
            tracing::info!(cache = name, "watch recovered");
            failing = false;
        }
        // No reader of a cache looks at managedFields, and they are often the larger
        // part of an object's metadata: they never enter the store.
        let event = event.modify(|object| object.meta_mut().managed_fields = None);
        let before = matches!(event, watcher::Event::InitDone).then(|| reader.state());
        writer.apply_watcher_event(&event);
        // No subscriber is not an error.
        match event {
            watcher::Event::Apply(object) => {
                // The store's copy, so the fan-out holds no second one.
                let stored = reader.get(&ObjectRef::from_obj(&object));
                let object = stored.unwrap_or_else(|| Arc::new(object));
                let _ = events.send(CacheEvent::Applied(object));
            }
            watcher::Event::Delete(object) => {
                let _ = events.send(CacheEvent::Deleted(Arc::new(object)));
            }
            watcher::Event::InitDone => {
                let now = reader.state();
                let present: HashSet<ObjectRef<K>> = now
                    .iter()
                    .map(|object| ObjectRef::from_obj(object.as_ref()))
                    .collect();
                for object in before.unwrap_or_default() {
                    if !present.contains(&ObjectRef::from_obj(object.as_ref())) {
                        let _ = events.send(CacheEvent::Deleted(object));
                    }
                }
                tracing::debug!(cache = name, objects = now.len(), "listed");
                listed.send_replace(true);
                for object in now {
                    let _ = events.send(CacheEvent::Applied(object));
                }
            }
            watcher::Event::Init | watcher::Event::InitApply(_) => {}
        }
    }
}

/// The decoded object of a cache of [`Guarded`](crate::guard::Guarded) objects; `None`
/// when it did not decode.
pub fn valid<K>(guard: &crate::guard::Guarded<K>) -> Option<&K> {
    guard.0.as_ref().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
    use kube::core::ObjectMeta;

    fn config_map(name: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                managed_fields: Some(vec![ManagedFieldsEntry {
                    manager: Some("kubectl".into()),
                    operation: Some("Update".into()),
                    ..ManagedFieldsEntry::default()
                }]),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    #[tokio::test]
    async fn objects_are_stored_without_managed_fields_and_shared_with_the_fan_out() {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let cache = Cache::<ConfigMap>::spawn("configmaps", rx);
        let mut events = std::pin::pin!(cache.events());
        for event in [
            watcher::Event::Init,
            watcher::Event::InitDone,
            watcher::Event::Apply(config_map("a")),
        ] {
            tx.unbounded_send(Ok(event)).unwrap();
        }
        let bound = std::time::Duration::from_secs(10);
        let applied = loop {
            let event = tokio::time::timeout(bound, events.next()).await.unwrap();
            if let Some(CacheEvent::Applied(object)) = event {
                break object;
            }
        };
        assert_eq!(applied.metadata.managed_fields, None);
        let stored = cache.state();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].metadata.managed_fields, None);
        assert!(
            Arc::ptr_eq(&stored[0], &applied),
            "the fan-out shares the store's copy"
        );
    }
}
