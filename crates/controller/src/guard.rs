//! [`Guarded`]: an object of a watched kind that may not have decoded, so one malformed
//! custom resource cannot stop a watch (kube-runtime's watcher fails its whole stream
//! on an object it cannot decode).
//!
//! kube's own `DeserializeGuard` does the same by decoding every object into a generic
//! value tree first, cloning that tree and decoding the clone: for a Plan whose status
//! holds a thousand VMs that is tens of MiB and most of the CPU of every watch event.
//! This guard keeps the object's JSON text as it arrived (one copy of the bytes),
//! decodes it straight into the kind, and reads only the metadata again when that
//! fails. It therefore decodes JSON only, which is all the API server sends.

use std::borrow::Cow;

use kube::Resource;
use kube::core::error_boundary::InvalidObject;
use kube::core::{ObjectMeta, PartialObjectMeta};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// An object of kind `K`, or why it did not decode (with its metadata, so it can still
/// be named, reported and deleted).
#[derive(Debug, Clone)]
pub struct Guarded<K>(pub Result<K, InvalidObject>);

impl<'de, K> Deserialize<'de> for Guarded<K>
where
    K: DeserializeOwned + Resource,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <Box<RawValue>>::deserialize(deserializer)?;
        match serde_json::from_str::<K>(raw.get()) {
            Ok(object) => Ok(Self(Ok(object))),
            Err(error) => {
                let partial: PartialObjectMeta<K> =
                    serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
                Ok(Self(Err(InvalidObject {
                    error: error.to_string(),
                    metadata: partial.metadata,
                })))
            }
        }
    }
}

impl<K: Resource> Resource for Guarded<K> {
    type DynamicType = K::DynamicType;
    type Scope = K::Scope;

    fn kind(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        self.0
            .as_ref()
            .map_or_else(|invalid| &invalid.metadata, K::meta)
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.0
            .as_mut()
            .map_or_else(|invalid| &mut invalid.metadata, K::meta_mut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::Plan;
    use kube::core::WatchEvent;
    use serde_json::json;

    #[test]
    fn a_valid_object_decodes() {
        let plan: Guarded<Plan> = serde_json::from_value(json!({
            "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"targetNamespace": "t", "provider": {}, "map": {}, "vms": []}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let decoded = plan.0.as_ref().expect("valid");
        assert_eq!(decoded.spec.target_namespace, "t");
        assert_eq!(plan.meta().name.as_deref(), Some("p"));
    }

    #[test]
    fn a_malformed_object_keeps_its_metadata_and_the_error() {
        let text = r#"{"type": "MODIFIED", "object": {
            "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan",
            "metadata": {"name": "bad", "namespace": "ns", "uid": "u-1"},
            "spec": {"vms": "not a list"}}}"#;
        // As the watcher reads it: inside a watch event, from the response's bytes.
        let event: WatchEvent<Guarded<Plan>> = serde_json::from_slice(text.as_bytes()).unwrap();
        let WatchEvent::Modified(mut plan) = event else {
            panic!("a MODIFIED event")
        };
        assert_eq!(plan.meta().name.as_deref(), Some("bad"));
        assert_eq!(plan.meta().uid.as_deref(), Some("u-1"));
        let invalid = plan.0.as_ref().expect_err("invalid");
        assert!(
            invalid.error.contains("expected a sequence"),
            "{}",
            invalid.error
        );
        plan.meta_mut().managed_fields = None;
    }

    #[test]
    fn what_is_not_even_an_object_fails_the_decode() {
        assert!(serde_json::from_str::<Guarded<Plan>>("[1, 2]").is_err());
        assert!(serde_json::from_str::<Guarded<Plan>>(r#"{"metadata": 3}"#).is_err());
    }
}
