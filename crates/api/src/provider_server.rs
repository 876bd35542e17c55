//! `OVAProviderServer` and `HyperVProviderServer`: the per-provider servers that expose OVA
//! files (NFS) and Hyper-V disks (SMB) to the cluster (`ovaserver.go`, `hypervserver.go`).

use crate::ObjectReference;
use crate::condition::Conditions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn immutable_provider(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<ObjectReference>();
    schema.insert(
        "x-kubernetes-validations".into(),
        serde_json::json!([{
            "message": "spec.provider is immutable",
            "rule": "oldSelf == null || oldSelf.name == '' || self == oldSelf",
        }]),
    );
    schema
}

/// Desired state of an OVAProviderServer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OVAProviderServerSpec {
    /// The OVA Provider; immutable once set.
    #[serde(default)]
    #[schemars(schema_with = "immutable_provider")]
    pub provider: ObjectReference,
}

/// Desired state of a HyperVProviderServer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HyperVProviderServerSpec {
    /// The Hyper-V Provider.
    #[serde(default)]
    pub provider: ObjectReference,
}

/// Observed state of a provider server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderServerStatus {
    /// Phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// The server's Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ObjectReference>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
}

forklift_kind! {
    /// Serves the OVA files of an OVA Provider.
    pub struct OVAProviderServer {
        kind: "OVAProviderServer",
        plural: "ovaproviderservers",
        spec: OVAProviderServerSpec,
        status: ProviderServerStatus
    }
}

forklift_kind! {
    /// Serves the disks of a Hyper-V Provider.
    pub struct HyperVProviderServer {
        kind: "HyperVProviderServer",
        plural: "hypervproviderservers",
        spec: HyperVProviderServerSpec,
        status: ProviderServerStatus
    }
}
