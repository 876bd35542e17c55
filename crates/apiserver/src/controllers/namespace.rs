//! The namespace controller: empties a terminating namespace (deleting everything
//! in it, waiting for finalizers), reports what remains in the namespace's
//! conditions, then removes the `kubernetes` finalizer and the namespace. Also
//! creates each new namespace's `default` ServiceAccount, as the service-account
//! controller does.

use super::options;
use crate::builtin::core::NAMESPACE_FINALIZER;
use crate::ops::{Api, DeleteOptions, Propagation, Sub, namespaces_gr};
use crate::store::{EventType, ObjectKey};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const MANAGER: &str = "kube-controller-manager";

fn condition(t: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": t, "status": status, "lastTransitionTime": crate::ops::now(), "reason": reason, "message": message})
}

/// Deletes what is left in a terminating namespace; finalizes it when empty.
pub async fn sync(api: &Api, ns: &str) {
    let key = ObjectKey::new(&namespaces_gr(), "", ns);
    let Some(nsobj) = api.store.latest(&key) else {
        return;
    };
    if !nsobj.meta.deleting {
        return;
    }
    let Some(ns_def) = api.registry.resolve("", "v1", "namespaces") else {
        return;
    };
    let opts = DeleteOptions {
        propagation: Some(Propagation::Background),
        ..DeleteOptions::default()
    };
    for def in api.registry.storage_resources() {
        if !def.namespaced {
            continue;
        }
        let (_, objects) = api.store.snapshot(&def.storage, Some(ns));
        for (k, o) in objects {
            if o.meta.deleting {
                continue;
            }
            match api.delete(&def, ns, &k.name, &opts).await {
                Ok(_) => {}
                Err(e) if e.code == 404 || e.code == 409 => {}
                Err(e) => {
                    tracing::warn!(namespace = %ns, object = %k.name, error = %e, "namespace controller could not delete")
                }
            }
        }
    }
    // What is still there waits for finalizers (or graceful deletion).
    let mut remaining: BTreeMap<String, usize> = BTreeMap::new();
    let mut finalizers: BTreeMap<String, usize> = BTreeMap::new();
    for def in api.registry.storage_resources() {
        if !def.namespaced {
            continue;
        }
        let (_, objects) = api.store.snapshot(&def.storage, Some(ns));
        if !objects.is_empty() {
            remaining.insert(def.storage.to_string(), objects.len());
        }
        for (_, o) in &objects {
            for f in &o.meta.finalizers {
                *finalizers.entry(f.clone()).or_insert(0) += 1;
            }
        }
    }
    if remaining.is_empty() {
        let has_kube_finalizer = nsobj
            .value()
            .ok()
            .and_then(|v| v.pointer("/spec/finalizers").cloned())
            .and_then(|f| f.as_array().cloned())
            .is_some_and(|a| a.iter().any(|f| f == NAMESPACE_FINALIZER));
        if has_kube_finalizer {
            let r = api
                .modify(&ns_def, "", ns, Sub::Finalize, &options(MANAGER), |o| {
                    if let Some(fs) = o
                        .pointer_mut("/spec/finalizers")
                        .and_then(Value::as_array_mut)
                    {
                        fs.retain(|f| f != NAMESPACE_FINALIZER);
                    }
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(namespace = %ns, error = %e, "cannot finalize namespace");
                return;
            }
        }
        match api.delete(&ns_def, "", ns, &DeleteOptions::default()).await {
            Ok(_) => {}
            Err(e) if e.code == 404 || e.code == 409 => {}
            Err(e) => tracing::warn!(namespace = %ns, error = %e, "cannot delete namespace"),
        }
        return;
    }
    let content: Vec<String> = remaining
        .iter()
        // Go prints the group-resource: `configmaps.` for the core group.
        .map(|(r, n)| {
            let shown = if r.contains('.') {
                r.to_string()
            } else {
                format!("{r}.")
            };
            format!("{shown} has {n} resource instances")
        })
        .collect();
    let mut conditions = vec![
        condition(
            "NamespaceDeletionDiscoveryFailure",
            "False",
            "ResourcesDiscovered",
            "All resources successfully discovered",
        ),
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            "False",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        condition(
            "NamespaceDeletionContentFailure",
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        condition(
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            &format!("Some resources are remaining: {}", content.join(", ")),
        ),
    ];
    if !finalizers.is_empty() {
        let fs: Vec<String> = finalizers
            .iter()
            .map(|(f, n)| format!("{f} in {n} resource instances"))
            .collect();
        conditions.push(condition(
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            &format!(
                "Some content in the namespace has finalizers remaining: {}",
                fs.join(", ")
            ),
        ));
    }
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(a) = v.as_array_mut() {
            for c in a {
                if let Some(m) = c.as_object_mut() {
                    m.remove("lastTransitionTime");
                }
            }
        }
        v
    };
    let current = nsobj
        .value()
        .ok()
        .and_then(|v| v.pointer("/status/conditions").cloned())
        .unwrap_or(Value::Null);
    let desired = Value::Array(conditions);
    if strip(&current) == strip(&desired) {
        return;
    }
    let r = api
        .modify(&ns_def, "", ns, Sub::Status, &options(MANAGER), |o| {
            crate::builtin::set_path(o, &["status", "conditions"], desired.clone());
        })
        .await;
    if let Err(e) = r
        && e.code != 404
    {
        tracing::warn!(namespace = %ns, error = %e, "cannot update namespace conditions");
    }
}

async fn ensure_default_service_account(api: &Api, ns: &str) {
    let Some(def) = api.registry.resolve("", "v1", "serviceaccounts") else {
        return;
    };
    if api.store.latest(&api.key(&def, ns, "default")).is_some() {
        return;
    }
    let body = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}});
    match api.create(&def, ns, body, &options(MANAGER)).await {
        Ok(_) => {}
        Err(e) if e.code == 409 || e.code == 403 || e.code == 404 => {}
        Err(e) => {
            tracing::warn!(namespace = %ns, error = %e, "cannot create the default service account")
        }
    }
}

/// The event loop.
pub async fn run(api: Arc<Api>) {
    let mut rx = api.store.subscribe();
    let nsgr = namespaces_gr();
    // Namespaces left terminating by a previous run.
    let (_, all) = api.store.snapshot(&nsgr, None);
    for (k, o) in all {
        if o.meta.deleting {
            sync(&api, &k.name).await;
        } else {
            ensure_default_service_account(&api, &k.name).await;
        }
    }
    while let Some(ev) = rx.recv().await {
        let mut todo: BTreeSet<String> = BTreeSet::new();
        let mut new_ns: BTreeSet<String> = BTreeSet::new();
        let mut handle = |ev: &crate::store::Event| {
            if ev.key.gr == nsgr {
                if ev.kind == EventType::Added && !ev.object.meta.deleting {
                    new_ns.insert(ev.key.name.clone());
                }
                if ev.kind != EventType::Deleted && ev.object.meta.deleting {
                    todo.insert(ev.key.name.clone());
                }
            } else if !ev.key.namespace.is_empty()
                && (ev.kind == EventType::Deleted || ev.object.meta.deleting)
                && api
                    .store
                    .get(&ObjectKey::new(&nsgr, "", &ev.key.namespace))
                    .is_some_and(|n| n.meta.deleting)
            {
                todo.insert(ev.key.namespace.clone());
            }
        };
        handle(&ev);
        while let Ok(ev) = rx.try_recv() {
            handle(&ev);
        }
        for ns in new_ns {
            ensure_default_service_account(&api, &ns).await;
        }
        for ns in todo {
            sync(&api, &ns).await;
        }
    }
}
