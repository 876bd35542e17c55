//! Multus `NetworkAttachmentDefinition` (`k8s.cni.cncf.io/v1`).

use super::Object;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Multus' API group.
pub const GROUP: &str = "k8s.cni.cncf.io";
/// Multus' API version.
pub const VERSION: &str = "v1";

/// Desired state of a NetworkAttachmentDefinition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkAttachmentDefinitionSpec {
    /// The CNI configuration, a JSON document in a string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config: String,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Object,
}

kind! {
    /// A Multus network attachment.
    pub struct NetworkAttachmentDefinition {
        group: GROUP,
        version: VERSION,
        api_version: "k8s.cni.cncf.io/v1",
        kind: "NetworkAttachmentDefinition",
        plural: "network-attachment-definitions",
        spec: NetworkAttachmentDefinitionSpec,
        status: Object
    }
}

impl NetworkAttachmentDefinition {
    /// The parsed CNI configuration.
    pub fn config(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.spec.config)
    }

    /// The gateway of the default route in the CNI config's `ipam.routes` (destination
    /// `0.0.0.0/0` or `::/0`), if any. Malformed configurations have none.
    pub fn default_route_gateway(&self) -> Option<String> {
        let config = self.config().ok()?;
        config
            .pointer("/ipam/routes")?
            .as_array()?
            .iter()
            .find(|route| {
                matches!(
                    route.get("dst").and_then(Value::as_str),
                    Some("0.0.0.0/0" | "::/0")
                )
            })
            .and_then(|route| route.get("gw"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// `<namespace>/<name>`, as Multus network names are written.
    pub fn network_name(&self) -> String {
        format!("{}/{}", self.namespace(), self.name())
    }
}
