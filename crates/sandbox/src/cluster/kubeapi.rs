//! Small helpers over the Kubernetes API shared by the actors: time stamps, merge
//! patches of objects and of their status, owner references, and the per-object delay
//! of [`super::faults::ObjectDelay`].

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{Error, Result};
use super::faults::Faults;

/// A time stamp as Kubernetes writes them (`metav1.Time`: RFC 3339, seconds).
pub fn timestamp(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Now, as [`timestamp`] writes it.
pub fn now() -> String {
    timestamp(jiff::Timestamp::now())
}

/// How long ago the object was created (zero if the time is unknown or in the future).
pub fn age(meta: &ObjectMeta) -> Duration {
    meta.creation_timestamp
        .as_ref()
        .and_then(|created| {
            let span = jiff::Timestamp::now().duration_since(created.0);
            Duration::try_from(span).ok()
        })
        .unwrap_or_default()
}

/// How much longer the actor must leave an object alone ([`Faults::delay_for`]).
pub fn held(faults: &Faults, kind: &str, meta: &ObjectMeta) -> Option<Duration> {
    let delay = faults.delay_for(kind, meta.name.as_deref().unwrap_or_default())?;
    delay.checked_sub(age(meta)).filter(|rest| !rest.is_zero())
}

/// `ns/name` of an object, for messages.
pub fn key<K: Resource>(object: &K) -> String {
    match object.meta().namespace.as_deref() {
        Some(ns) => format!("{ns}/{}", object.name_any()),
        None => object.name_any(),
    }
}

fn params(manager: &str) -> PatchParams {
    PatchParams {
        field_manager: Some(manager.to_owned()),
        ..PatchParams::default()
    }
}

/// JSON-merge-patches an object.
pub async fn merge<K>(api: &Api<K>, name: &str, manager: &str, patch: &Value) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    api.patch(name, &params(manager), &Patch::Merge(patch))
        .await
        .map_err(|e| Error::kube(format!("patching {name}"), e))
}

/// JSON-merge-patches an object's status subresource.
pub async fn merge_status<K>(api: &Api<K>, name: &str, manager: &str, status: &Value) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    api.patch_status(
        name,
        &params(manager),
        &Patch::Merge(&serde_json::json!({ "status": status })),
    )
    .await
    .map_err(|e| Error::kube(format!("updating the status of {name}"), e))
}

/// Creates an object; an existing one of the same name is returned instead.
pub async fn create_or_get<K>(api: &Api<K>, object: &K) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    match api.create(&PostParams::default(), object).await {
        Ok(created) => Ok(created),
        Err(error) if super::error::is_status(&error, 409) => api
            .get(&name)
            .await
            .map_err(|e| Error::kube(format!("reading {name}"), e)),
        Err(error) => Err(Error::kube(format!("creating {name}"), error)),
    }
}

/// Gets an object, `None` when it does not exist.
pub async fn get_opt<K>(api: &Api<K>, name: &str) -> Result<Option<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    api.get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading {name}"), e))
}

/// An owner reference to `owner`.
pub fn owner_reference<K>(owner: &K, controller: bool) -> OwnerReference
where
    K: Resource<DynamicType = ()>,
{
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.name_any(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(controller),
        block_owner_deletion: Some(true),
    }
}

/// Whether `object` has a controller owner reference to the object with `uid`.
pub fn controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|r| r.uid == uid && r.controller == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn timestamps_have_seconds_precision() {
        let at: jiff::Timestamp = "2024-05-06T07:08:09.123Z".parse().unwrap();
        assert_eq!(timestamp(at), "2024-05-06T07:08:09Z");
    }

    #[test]
    fn delays_count_from_creation() {
        let faults = Faults {
            delays: vec![super::super::faults::ObjectDelay::parse("pod/slow-*=60").unwrap()],
            ..Faults::default()
        };
        let mut meta = ObjectMeta {
            name: Some("slow-1".into()),
            creation_timestamp: Some(Time(jiff::Timestamp::now())),
            ..ObjectMeta::default()
        };
        let rest = held(&faults, "pod", &meta).unwrap();
        assert!(rest <= Duration::from_secs(60) && rest > Duration::from_secs(50));
        meta.creation_timestamp = Some(Time(
            jiff::Timestamp::now() - jiff::SignedDuration::from_secs(120),
        ));
        assert_eq!(held(&faults, "pod", &meta), None);
        meta.name = Some("fast".into());
        assert_eq!(held(&faults, "pod", &meta), None);
    }
}
