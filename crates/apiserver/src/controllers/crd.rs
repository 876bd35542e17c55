//! The CRD controllers: serve what a CRD defines (naming controller:
//! `NamesAccepted`; establishing controller: `Established`), and on deletion delete
//! every custom resource, then release the CRD (finalizing controller).
//!
//! [`reconcile`] is idempotent. The server calls it before answering a request that
//! wrote a CRD, so its resources are served by the time the client has its answer,
//! and again from the event loop for every CRD event.

use super::options;
use crate::builtin::{get_path, str_path};
use crate::crd::{CLEANUP_FINALIZER, condition_true, crd_gr, served_definitions, set_condition};
use crate::ops::{Api, DeleteOptions, Propagation, Sub};
use crate::store::{EventType, ObjectKey};
use serde_json::{Value, json};
use std::sync::Arc;

const MANAGER: &str = "kube-apiserver";

/// Serves every stored CRD again at start-up. A CRD that cannot be served is
/// reported and left unserved (its objects stay stored).
pub fn restore(api: &Api) -> Result<(), (String, String)> {
    let (_, crds) = api.store.snapshot(&crd_gr(), None);
    for (key, obj) in crds {
        let Ok(v) = obj.value() else {
            tracing::error!(crd = %key.name, "stored CRD is not valid JSON; not served");
            continue;
        };
        match served_definitions(&v) {
            Ok(defs) => api.registry.set_custom(&key.name, defs),
            Err(reason) => tracing::error!(crd = %key.name, %reason, "stored CRD cannot be served"),
        }
    }
    Ok(())
}

fn accepted_names(crd: &Value) -> Value {
    let mut names = get_path(crd, &["spec", "names"])
        .cloned()
        .unwrap_or(json!({}));
    if let Some(m) = names.as_object_mut() {
        let kind = m
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if m.get("singular")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            m.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if m.get("listKind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            m.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    names
}

/// Brings the served resources and the status of CRD `name` in line with it.
pub async fn reconcile(api: &Api, name: &str) {
    for _ in 0..8 {
        match reconcile_once(api, name).await {
            Ok(()) => return,
            Err(e) if e.code == 409 => continue,
            Err(e) => {
                tracing::warn!(crd = %name, error = %e, "CRD reconcile failed");
                return;
            }
        }
    }
}

async fn reconcile_once(api: &Api, name: &str) -> Result<(), crate::status::ApiError> {
    let key = ObjectKey::new(&crd_gr(), "", name);
    let Some(stored) = api.store.latest(&key) else {
        api.registry.set_custom(name, Vec::new());
        return Ok(());
    };
    let crd = stored.value().map_err(crate::status::ApiError::internal)?;
    let Some(crd_def) = api
        .registry
        .resolve(crate::crd::GROUP, "v1", "customresourcedefinitions")
    else {
        return Ok(());
    };
    if stored.meta.deleting {
        return finalize(api, name, &crd).await;
    }
    let group = str_path(&crd, &["spec", "group"]);
    let plural = str_path(&crd, &["spec", "names", "plural"]);
    let kind = str_path(&crd, &["spec", "names", "kind"]);
    let mut desired = crd.clone();
    match api.registry.names_taken(&group, &plural, &kind, name) {
        Some(other) => {
            api.registry.set_custom(name, Vec::new());
            set_condition(
                &mut desired,
                "NamesAccepted",
                "False",
                "NameConflict",
                &format!("{plural:?} is already in use by {other}"),
            );
            if !condition_true(&crd, "Established") {
                set_condition(
                    &mut desired,
                    "Established",
                    "False",
                    "NotAccepted",
                    "not all names are accepted",
                );
            }
        }
        None => {
            match served_definitions(&crd) {
                Ok(defs) => api.registry.set_custom(name, defs),
                Err(reason) => {
                    tracing::error!(crd = %name, %reason, "CRD cannot be served");
                    api.registry.set_custom(name, Vec::new());
                    return Ok(());
                }
            }
            crate::builtin::set_path(
                &mut desired,
                &["status", "acceptedNames"],
                accepted_names(&crd),
            );
            set_condition(
                &mut desired,
                "NamesAccepted",
                "True",
                "NoConflicts",
                "no conflicts found",
            );
            set_condition(
                &mut desired,
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted",
            );
        }
    }
    if status_equal(&desired, &crd) {
        return Ok(());
    }
    api.update(&crd_def, "", name, desired, Sub::Status, &options(MANAGER))
        .await?;
    Ok(())
}

/// Compares statuses ignoring condition timestamps.
fn status_equal(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut s = v.get("status").cloned().unwrap_or(json!({}));
        if let Some(cs) = s.get_mut("conditions").and_then(Value::as_array_mut) {
            for c in cs {
                if let Some(m) = c.as_object_mut() {
                    m.remove("lastTransitionTime");
                }
            }
        }
        s
    };
    strip(a) == strip(b)
}

/// Deletes every custom resource of a CRD being deleted, then releases it.
async fn finalize(api: &Api, name: &str, crd: &Value) -> Result<(), crate::status::ApiError> {
    let finalizers: Vec<String> = get_path(crd, &["metadata", "finalizers"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(());
    }
    let defs = api.registry.custom(name);
    let Some(crd_def) = api
        .registry
        .resolve(crate::crd::GROUP, "v1", "customresourcedefinitions")
    else {
        return Ok(());
    };
    let mut remaining = 0usize;
    #[allow(unused_assignments)]
    if let Some(def) = defs.iter().find(|d| d.preferred).or(defs.first()) {
        let (_, objects) = api.store.snapshot(&def.storage, None);
        for (key, obj) in &objects {
            if !obj.meta.deleting {
                let opts = DeleteOptions {
                    propagation: Some(Propagation::Background),
                    ..DeleteOptions::default()
                };
                match api.delete(def, &key.namespace, &key.name, &opts).await {
                    Ok(_) => {}
                    Err(e) if e.code == 404 || e.code == 409 => {}
                    Err(e) => {
                        tracing::warn!(crd = %name, object = %key.name, error = %e, "cannot delete custom resource")
                    }
                }
            }
        }
        let (_, left) = api.store.snapshot(&def.storage, None);
        remaining = left.len();
    }
    if remaining > 0 {
        let mut desired = crd.clone();
        set_condition(
            &mut desired,
            "Terminating",
            "True",
            "InstanceDeletionCheck",
            &format!(
                "could not confirm zero CustomResources remaining: {remaining} remain, waiting for their finalizers"
            ),
        );
        if !status_equal(&desired, crd) {
            api.update(&crd_def, "", name, desired, Sub::Status, &options(MANAGER))
                .await?;
        }
        return Ok(());
    }
    api.modify(&crd_def, "", name, Sub::Main, &options(MANAGER), |o| {
        if let Some(fs) = o
            .pointer_mut("/metadata/finalizers")
            .and_then(Value::as_array_mut)
        {
            fs.retain(|f| f.as_str() != Some(CLEANUP_FINALIZER));
        }
    })
    .await?;
    Ok(())
}

/// The event loop: reconciles CRDs on their events, and re-checks a terminating
/// CRD whenever one of its custom resources goes away.
pub async fn run(api: Arc<Api>) {
    let mut rx = api.store.subscribe();
    let crds = crd_gr();
    while let Some(ev) = rx.recv().await {
        if ev.key.gr == crds {
            if ev.kind == EventType::Deleted {
                api.registry.set_custom(&ev.key.name, Vec::new());
            } else {
                reconcile(&api, &ev.key.name).await;
            }
            continue;
        }
        if ev.kind == EventType::Deleted {
            // A custom resource went away: its CRD may be waiting for that.
            let crd_name = format!("{}.{}", ev.key.gr.resource, ev.key.gr.group);
            if let Some(crd) = api.store.get(&ObjectKey::new(&crds, "", &crd_name))
                && crd.meta.deleting
            {
                reconcile(&api, &crd_name).await;
            }
        }
    }
}
