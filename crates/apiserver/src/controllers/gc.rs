//! The garbage collector, as kube-controller-manager's: deletes objects whose owners
//! are all gone, removes references to owners that are gone while others remain,
//! deletes dependents of owners being deleted in the foreground (then releases the
//! owner's `foregroundDeletion` finalizer once no dependent with
//! `blockOwnerDeletion` remains), and orphans dependents of owners deleted with
//! the `orphan` finalizer (then releases it).
//!
//! Owners are resolved by `apiVersion`/`kind`/`name` in the dependent's namespace
//! and compared by UID, as the real collector does. An owner kind the server does
//! not serve is left alone (the real collector retries until it can resolve it).

use super::{def_for_storage, options};
use crate::ops::{Api, DeleteOptions, Propagation, Sub};
use crate::store::{EventType, ObjectKey, OwnerRef, StoredObject};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const MANAGER: &str = "kube-controller-manager";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Work {
    /// Check a dependent's owners (delete it, or drop dangling references).
    Check(ObjectKey),
    /// An owner is being deleted in the foreground.
    Foreground(ObjectKey),
    /// An owner is being deleted with its dependents orphaned.
    Orphan(ObjectKey),
}

fn has_finalizer(o: &StoredObject, f: &str) -> bool {
    o.meta.finalizers.iter().any(|x| x == f)
}

#[derive(Debug, PartialEq, Eq)]
enum OwnerState {
    Solid,
    Dangling,
    Waiting,
    Unresolvable,
}

fn owner_state(api: &Api, dependent: &ObjectKey, r: &OwnerRef) -> (OwnerState, Option<ObjectKey>) {
    let Some(def) = api.registry.by_kind(&r.api_version, &r.kind) else {
        return (OwnerState::Unresolvable, None);
    };
    if def.namespaced && dependent.namespace.is_empty() {
        // A cluster-scoped dependent cannot have a namespaced owner.
        return (OwnerState::Dangling, None);
    }
    let ns = if def.namespaced {
        dependent.namespace.as_str()
    } else {
        ""
    };
    let key = ObjectKey::new(&def.storage, ns, &r.name);
    match api.store.latest(&key) {
        None => (OwnerState::Dangling, Some(key)),
        Some(o) if o.meta.uid != r.uid => (OwnerState::Dangling, Some(key)),
        Some(o) if o.meta.deleting && has_finalizer(&o, "foregroundDeletion") => {
            (OwnerState::Waiting, Some(key))
        }
        Some(_) => (OwnerState::Solid, Some(key)),
    }
}

async fn delete_with(api: &Api, key: &ObjectKey, uid: &str, policy: Propagation) {
    let Some(def) = def_for_storage(api, &key.gr) else {
        return;
    };
    let opts = DeleteOptions {
        propagation: Some(policy),
        precondition_uid: Some(uid.to_string()),
        ..DeleteOptions::default()
    };
    match api.delete(&def, &key.namespace, &key.name, &opts).await {
        Ok(_) => {}
        Err(e) if e.code == 404 || e.code == 409 => {}
        Err(e) => {
            tracing::warn!(object = %key.name, error = %e, "garbage collector could not delete")
        }
    }
}

async fn edit_owner_refs(api: &Api, key: &ObjectKey, f: impl Fn(&mut Vec<Value>) + Send) {
    let Some(def) = def_for_storage(api, &key.gr) else {
        return;
    };
    let r = api
        .modify(
            &def,
            &key.namespace,
            &key.name,
            Sub::Main,
            &options(MANAGER),
            |o| {
                let mut refs: Vec<Value> = o
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                f(&mut refs);
                if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                    if refs.is_empty() {
                        m.remove("ownerReferences");
                    } else {
                        m.insert("ownerReferences".into(), Value::Array(refs));
                    }
                }
            },
        )
        .await;
    if let Err(e) = r
        && e.code != 404
    {
        tracing::warn!(object = %key.name, error = %e, "garbage collector could not update owner references");
    }
}

async fn remove_finalizer(api: &Api, key: &ObjectKey, finalizer: &str) {
    let Some(def) = def_for_storage(api, &key.gr) else {
        return;
    };
    let r = api
        .modify(
            &def,
            &key.namespace,
            &key.name,
            Sub::Main,
            &options(MANAGER),
            |o| {
                if let Some(fs) = o
                    .pointer_mut("/metadata/finalizers")
                    .and_then(Value::as_array_mut)
                {
                    fs.retain(|f| f.as_str() != Some(finalizer));
                }
            },
        )
        .await;
    if let Err(e) = r
        && e.code != 404
    {
        tracing::warn!(object = %key.name, error = %e, "garbage collector could not remove its finalizer");
    }
}

/// `attemptToDeleteItem`.
async fn check(api: &Api, key: &ObjectKey) {
    let Some(cur) = api.store.latest(key) else {
        return;
    };
    if cur.meta.deleting {
        if has_finalizer(&cur, "foregroundDeletion") {
            foreground(api, key).await;
        }
        return;
    }
    if cur.meta.owners.is_empty() {
        return;
    }
    let mut solid = 0;
    let mut drop_uids: BTreeSet<String> = BTreeSet::new();
    let mut waiting_uids: BTreeSet<String> = BTreeSet::new();
    for r in &cur.meta.owners {
        match owner_state(api, key, r).0 {
            OwnerState::Solid | OwnerState::Unresolvable => solid += 1,
            OwnerState::Dangling => {
                drop_uids.insert(r.uid.clone());
            }
            OwnerState::Waiting => {
                waiting_uids.insert(r.uid.clone());
            }
        }
    }
    if solid > 0 {
        if drop_uids.is_empty() && waiting_uids.is_empty() {
            return;
        }
        let gone: BTreeSet<String> = drop_uids.union(&waiting_uids).cloned().collect();
        edit_owner_refs(api, key, move |refs| {
            refs.retain(|r| {
                !gone.contains(r.get("uid").and_then(Value::as_str).unwrap_or_default())
            })
        })
        .await;
        return;
    }
    let uid = cur.meta.uid.clone();
    if !waiting_uids.is_empty() && !api.store.dependents_of(&uid).is_empty() {
        // Unblock the waiting owners, then delete in the foreground so this
        // object's own dependents go first.
        let waiting = waiting_uids.clone();
        edit_owner_refs(api, key, move |refs| {
            for r in refs.iter_mut() {
                if waiting.contains(r.get("uid").and_then(Value::as_str).unwrap_or_default())
                    && let Some(m) = r.as_object_mut()
                {
                    m.insert("blockOwnerDeletion".into(), json!(false));
                }
            }
        })
        .await;
        delete_with(api, key, &uid, Propagation::Foreground).await;
        return;
    }
    let policy = if has_finalizer(&cur, "orphan") {
        Propagation::Orphan
    } else if has_finalizer(&cur, "foregroundDeletion") {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    delete_with(api, key, &uid, policy).await;
}

/// `processDeletingDependentsItem`: delete the dependents of an owner being deleted
/// in the foreground; release it once no blocking dependent remains.
async fn foreground(api: &Api, owner: &ObjectKey) {
    let Some(cur) = api.store.latest(owner) else {
        return;
    };
    if !cur.meta.deleting || !has_finalizer(&cur, "foregroundDeletion") {
        return;
    }
    let uid = cur.meta.uid.clone();
    let deps = api.store.dependents_of(&uid);
    let mut blocking = 0;
    for d in &deps {
        let Some(dep) = api.store.latest(d) else {
            continue;
        };
        if dep
            .meta
            .owners
            .iter()
            .any(|r| r.uid == uid && r.block_owner_deletion == Some(true))
        {
            blocking += 1;
        }
    }
    if blocking == 0 {
        remove_finalizer(api, owner, "foregroundDeletion").await;
        return;
    }
    for d in deps {
        let Some(dep) = api.store.latest(&d) else {
            continue;
        };
        if !dep.meta.deleting {
            Box::pin(check(api, &d)).await;
        } else if has_finalizer(&dep, "foregroundDeletion") {
            Box::pin(foreground(api, &d)).await;
        }
    }
}

/// `orphanDependents`: remove references to the owner, then its `orphan` finalizer.
async fn orphan(api: &Api, owner: &ObjectKey) {
    let Some(cur) = api.store.latest(owner) else {
        return;
    };
    if !cur.meta.deleting || !has_finalizer(&cur, "orphan") {
        return;
    }
    let uid = cur.meta.uid.clone();
    for d in api.store.dependents_of(&uid) {
        let u = uid.clone();
        edit_owner_refs(api, &d, move |refs| {
            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(u.as_str()))
        })
        .await;
    }
    remove_finalizer(api, owner, "orphan").await;
}

fn work_for_event(api: &Api, ev: &crate::store::Event, out: &mut BTreeSet<Work>) {
    match ev.kind {
        EventType::Deleted => {
            // Dependents of the deleted object may now be garbage.
            for d in api.store.dependents_of(&ev.object.meta.uid) {
                out.insert(Work::Check(d));
            }
            // Owners waiting for this dependent may now be released.
            for r in &ev.object.meta.owners {
                if let (OwnerState::Waiting, Some(k)) = owner_state(api, &ev.key, r) {
                    out.insert(Work::Foreground(k));
                }
            }
        }
        EventType::Added | EventType::Modified => {
            let o = &ev.object;
            if o.meta.deleting {
                if has_finalizer(o, "foregroundDeletion") {
                    out.insert(Work::Foreground(ev.key.clone()));
                }
                if has_finalizer(o, "orphan") {
                    out.insert(Work::Orphan(ev.key.clone()));
                }
                // A dependent entering deletion may unblock a waiting owner later;
                // its removal (Deleted) is what releases the owner.
            }
            let owners_changed = ev
                .prev
                .as_ref()
                .is_none_or(|p| p.meta.owners != o.meta.owners);
            if !o.meta.owners.is_empty() && owners_changed {
                out.insert(Work::Check(ev.key.clone()));
            }
        }
    }
}

async fn process(api: &Api, work: BTreeSet<Work>) {
    for w in work {
        match w {
            Work::Check(k) => check(api, &k).await,
            Work::Foreground(k) => foreground(api, &k).await,
            Work::Orphan(k) => orphan(api, &k).await,
        }
    }
}

/// Every object with owner references, and every owner waiting on the collector.
fn full_scan(api: &Api) -> BTreeSet<Work> {
    let mut out = BTreeSet::new();
    for gr in api.store.resources() {
        let (_, objs) = api.store.snapshot(&gr, None);
        for (k, o) in objs {
            if o.meta.deleting && has_finalizer(&o, "foregroundDeletion") {
                out.insert(Work::Foreground(k.clone()));
            }
            if o.meta.deleting && has_finalizer(&o, "orphan") {
                out.insert(Work::Orphan(k.clone()));
            }
            if !o.meta.owners.is_empty() {
                out.insert(Work::Check(k));
            }
        }
    }
    out
}

/// The event loop (plus a periodic full scan as a safety net).
pub async fn run(api: Arc<Api>, resync: Duration) {
    let mut rx = api.store.subscribe();
    // Whatever was pending before a restart.
    process(&api, full_scan(&api)).await;
    let mut tick = tokio::time::interval(resync);
    tick.tick().await;
    loop {
        let mut work = BTreeSet::new();
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { return };
                work_for_event(&api, &ev, &mut work);
                while let Ok(ev) = rx.try_recv() {
                    work_for_event(&api, &ev, &mut work);
                }
            }
            _ = tick.tick() => {
                work = full_scan(&api);
            }
        }
        process(&api, work).await;
    }
}
