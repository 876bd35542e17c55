//! Source-side references: upstream's `ref.Ref` and `ref.Refs`
//! (`pkg/apis/forklift/v1beta1/ref/ref.go`).
//!
//! A [`Ref`] names an object in a *source* provider's inventory (a VM, a network, a
//! datastore), not a Kubernetes object. Controllers resolve it against the inventory.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A reference to a source-provider object. Either `id` or `name` is expected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Ref {
    /// The provider-native ID: a vSphere managed object ID (`vm-431`), an oVirt or
    /// OpenStack UUID, an OVA hash, or a Kubernetes UID for OpenShift sources.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// A name. For vSphere it may be a full inventory path (only the last segment is
    /// matched); for OpenShift it may be `namespace/name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The namespace; only relevant for an OpenShift source.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// A qualifier for the name, e.g. `pod` for the OpenShift pod network.
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "type")]
    pub r#type: String,
}

impl Ref {
    /// A reference by ID.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// A reference by name.
    pub fn name(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// A reference by ID and name.
    pub fn with_id_and_name(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    /// Upstream `NotSet()`: none of `id`, `name` and `type` is set (`namespace` is not
    /// considered).
    pub fn not_set(&self) -> bool {
        self.id.is_empty() && self.name.is_empty() && self.r#type.is_empty()
    }
}

/// Upstream `Ref.String()`: `"(<type>)"` when the type is set, then `" id:<id>
/// name:'<name>' "`, with a leading and a trailing space. Used verbatim in condition
/// `items`, messages and logs.
impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.r#type.is_empty() {
            write!(f, "({})", self.r#type)?;
        }
        write!(f, " id:{} name:'{}' ", self.id, self.name)
    }
}

/// A collection of resolved references, serialized inline as `references` (map statuses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Refs {
    /// The references.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "references")]
    pub list: Vec<Ref>,
}

impl Refs {
    /// Upstream `Refs.Find`: whether a reference with the same **ID** is present. Names are
    /// not compared, so a reference without an ID matches any listed reference without one.
    pub fn find(&self, reference: &Ref) -> bool {
        self.list.iter().any(|listed| listed.id == reference.id)
    }

    /// Whether the collection is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_form_has_leading_and_trailing_space() {
        assert_eq!(
            Ref::with_id_and_name("vm-1", "web").to_string(),
            " id:vm-1 name:'web' "
        );
        assert_eq!(Ref::name("foo").to_string(), " id: name:'foo' ");
    }

    #[test]
    fn string_form_prefixes_the_type() {
        let pod = Ref {
            r#type: "pod".into(),
            ..Ref::default()
        };
        assert_eq!(pod.to_string(), "(pod) id: name:'' ");
    }

    #[test]
    fn not_set_ignores_namespace() {
        assert!(Ref::default().not_set());
        let only_namespace = Ref {
            namespace: "ns".into(),
            ..Ref::default()
        };
        assert!(only_namespace.not_set());
        assert!(!Ref::id("x").not_set());
        assert!(!Ref::name("x").not_set());
        let typed = Ref {
            r#type: "pod".into(),
            ..Ref::default()
        };
        assert!(!typed.not_set());
    }

    #[test]
    fn refs_find_compares_ids_only() {
        let refs = Refs {
            list: vec![Ref::with_id_and_name("net-1", "VM Network")],
        };
        assert!(refs.find(&Ref::with_id_and_name("net-1", "other name")));
        assert!(!refs.find(&Ref::with_id_and_name("net-2", "VM Network")));
    }

    #[test]
    fn empty_fields_are_omitted() {
        let json = serde_json::to_string(&Ref::id("vm-1")).unwrap();
        assert_eq!(json, r#"{"id":"vm-1"}"#);
        let back: Ref = serde_json::from_str(r#"{"id":"vm-1","type":"pod"}"#).unwrap();
        assert_eq!(back.r#type, "pod");
    }
}
