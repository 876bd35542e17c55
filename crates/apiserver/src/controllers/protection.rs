//! The storage-protection controllers: a deleted PersistentVolumeClaim keeps its
//! `kubernetes.io/pvc-protection` finalizer while a pod that has not finished uses
//! it; a deleted PersistentVolume keeps `kubernetes.io/pv-protection` while it is
//! bound. The admission side (adding the finalizers on create) is in the
//! resources' behaviour.

use super::options;
use crate::builtin::storage::{PV_PROTECTION, PVC_PROTECTION};
use crate::ops::{Api, Sub};
use crate::status::GroupResource;
use crate::store::{EventType, ObjectKey};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

const MANAGER: &str = "kube-controller-manager";

fn pvcs() -> GroupResource {
    GroupResource::new("", "persistentvolumeclaims")
}

fn pvs() -> GroupResource {
    GroupResource::new("", "persistentvolumes")
}

fn pods() -> GroupResource {
    GroupResource::new("", "pods")
}

/// Whether a scheduled pod that has not finished uses claim `name` in `namespace`.
/// As kube-controller-manager's controller: a pod that is not scheduled does not
/// hold a claim (no kubelet can have mounted it, and none will start it while the
/// claim is being deleted).
fn claim_in_use(api: &Api, namespace: &str, name: &str) -> bool {
    let (_, pods) = api.store.snapshot(&pods(), Some(namespace));
    pods.iter().any(|(_, p)| {
        let Ok(v) = p.value() else { return true };
        if v.pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return false;
        }
        let phase = v
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            return false;
        }
        v.pointer("/spec/volumes")
            .and_then(Value::as_array)
            .is_some_and(|vols| {
                vols.iter().any(|vol| {
                    vol.pointer("/persistentVolumeClaim/claimName")
                        .and_then(Value::as_str)
                        == Some(name)
                        || vol.pointer("/ephemeral").is_some()
                            && format!(
                                "{}-{}",
                                v.pointer("/metadata/name")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default(),
                                vol.get("name").and_then(Value::as_str).unwrap_or_default()
                            ) == name
                })
            })
    })
}

async fn release(api: &Api, key: &ObjectKey, finalizer: &str) {
    let Some(def) = super::def_for_storage(api, &key.gr) else {
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
        tracing::warn!(object = %key.name, error = %e, "cannot release a storage protection finalizer");
    }
}

async fn check(api: &Api, key: &ObjectKey) {
    let Some(obj) = api.store.latest(key) else {
        return;
    };
    if !obj.meta.deleting {
        return;
    }
    if key.gr == pvcs() && obj.meta.finalizers.iter().any(|f| f == PVC_PROTECTION) {
        if !claim_in_use(api, &key.namespace, &key.name) {
            release(api, key, PVC_PROTECTION).await;
        }
    } else if key.gr == pvs() && obj.meta.finalizers.iter().any(|f| f == PV_PROTECTION) {
        let bound = obj
            .value()
            .ok()
            .and_then(|v| {
                v.pointer("/status/phase")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .is_some_and(|p| p == "Bound");
        if !bound {
            release(api, key, PV_PROTECTION).await;
        }
    }
}

/// The event loop.
pub async fn run(api: Arc<Api>) {
    let mut rx = api.store.subscribe();
    // What a previous run left waiting.
    for gr in [pvcs(), pvs()] {
        let (_, objs) = api.store.snapshot(&gr, None);
        for (k, o) in objs {
            if o.meta.deleting {
                check(&api, &k).await;
            }
        }
    }
    while let Some(ev) = rx.recv().await {
        let mut todo: BTreeSet<ObjectKey> = BTreeSet::new();
        let mut handle = |ev: &crate::store::Event| {
            if (ev.key.gr == pvcs() || ev.key.gr == pvs())
                && ev.kind != EventType::Deleted
                && ev.object.meta.deleting
            {
                todo.insert(ev.key.clone());
            } else if ev.key.gr == pods() {
                // A pod went away or finished: claims it used may be free now.
                let (_, claims) = api.store.snapshot(&pvcs(), Some(&ev.key.namespace));
                for (k, c) in claims {
                    if c.meta.deleting {
                        todo.insert(k);
                    }
                }
            }
        };
        handle(&ev);
        while let Ok(ev) = rx.try_recv() {
            handle(&ev);
        }
        for k in todo {
            check(&api, &k).await;
        }
    }
}
