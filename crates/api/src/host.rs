//! `Host`: an ESXi host to transfer disks through directly (`host.go`). vSphere only.

use crate::ObjectReference;
use crate::condition::Conditions;
use crate::reference::Ref;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a Host. The inventory reference (`id` = the ESXi host's managed
/// object ID) is inline, as upstream embeds `ref.Ref`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostSpec {
    /// The host's ID in the vSphere inventory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The host's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Unused for hosts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Unused for hosts.
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "type")]
    pub r#type: String,
    /// The vSphere provider.
    #[serde(default)]
    pub provider: ObjectReference,
    /// IP address used for disk transfer.
    #[serde(default)]
    pub ip_address: String,
    /// Credentials.
    #[serde(default)]
    pub secret: ObjectReference,
}

impl HostSpec {
    /// The inline inventory reference.
    pub fn reference(&self) -> Ref {
        Ref {
            id: self.id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            r#type: self.r#type.clone(),
        }
    }
}

/// Observed state of a Host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub observed_generation: i64,
}

forklift_kind! {
    /// An ESXi host used for disk transfer.
    pub struct Host {
        kind: "Host",
        plural: "hosts",
        spec: HostSpec,
        status: HostStatus
    }
}

/// Labels and data keys of host Secrets.
pub mod secret {
    /// Label: the resource type the Secret was created for (`hosts`).
    pub const LABEL_CREATED_FOR_RESOURCE_TYPE: &str = "createdForResourceType";
    /// Label: the host ID the Secret was created for.
    pub const LABEL_CREATED_FOR_RESOURCE: &str = "createdForResource";
    /// Data: the provider name.
    pub const PROVIDER: &str = "provider";
    /// Data: the host IP.
    pub const IP: &str = "ip";
}
