//! The CustomResourceDefinitions Ferry serves: all 14 Forklift kinds, generated from the
//! Rust types and equivalent to upstream's (`operator/config/crd/bases`). Deliberate
//! differences are listed, with reasons, in `crates/api/tests/crd-differences.yaml`, which
//! the schema comparison test enforces.

use crate::conversion::{ConversionSpec, ConversionStatus};
use crate::forklift_controller::{ForkliftControllerSpec, ForkliftControllerStatus};
use crate::hook::{HookSpec, HookStatus};
use crate::host::{HostSpec, HostStatus};
use crate::mapping::{MapStatus, NetworkMapSpec, StorageMapSpec};
use crate::migration::{MigrationSpec, MigrationStatus};
use crate::plan::{PlanSpec, PlanStatus};
use crate::populator::{
    OpenstackVolumePopulatorSpec, OvirtVolumePopulatorSpec, PopulatorStatus,
    VSphereXcopyVolumePopulatorSpec, VSphereXcopyVolumePopulatorStatus,
};
use crate::provider::{ProviderSpec, ProviderStatus};
use crate::provider_server::{
    HyperVProviderServerSpec, OVAProviderServerSpec, ProviderServerStatus,
};
use crate::schema::{SchemaError, structural};
use crate::{GROUP, ObjectMeta, VERSION};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps,
};
use schemars::JsonSchema;
use serde_json::{Map, Value, json};

/// Why the CRDs could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// Schema generation failed.
    #[error("generating the schema of {kind}: {source}")]
    Schema {
        /// The kind.
        kind: &'static str,
        /// The cause.
        source: SchemaError,
    },
    /// The generated schema does not fit Kubernetes' `JSONSchemaProps`.
    #[error("the schema of {kind} is not a valid CRD schema: {source}")]
    Invalid {
        /// The kind.
        kind: &'static str,
        /// The cause.
        source: serde_json::Error,
    },
    /// Converting to `JSONSchemaProps` would drop or change part of the schema.
    #[error("the schema of {kind} would lose {path} as a CRD schema")]
    Lossy {
        /// The kind.
        kind: &'static str,
        /// The first path that differs.
        path: String,
    },
    /// Rendering YAML failed.
    #[error("rendering CRDs as YAML: {0}")]
    Yaml(String),
}

/// An additional printer column: `(name, type, jsonPath)`.
type Column = (&'static str, &'static str, &'static str);

const READY: Column = (
    "READY",
    "string",
    ".status.conditions[?(@.type=='Ready')].status",
);
const AGE: Column = ("AGE", "date", ".metadata.creationTimestamp");

/// What a CRD says about a kind besides its schema.
struct Info {
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    columns: &'static [Column],
    status_subresource: bool,
    spec_required: bool,
    description: &'static str,
}

fn top_level<S: JsonSchema, T: JsonSchema>(info: &Info) -> Result<Value, SchemaError> {
    let mut properties = Map::new();
    properties.insert(
        "apiVersion".into(),
        json!({
            "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.",
            "type": "string",
        }),
    );
    properties.insert(
        "kind".into(),
        json!({
            "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.",
            "type": "string",
        }),
    );
    properties.insert("metadata".into(), json!({ "type": "object" }));
    properties.insert("spec".into(), structural::<S>()?);
    properties.insert("status".into(), structural::<T>()?);
    let mut schema = json!({
        "description": info.description,
        "type": "object",
        "properties": properties,
    });
    if info.spec_required {
        schema["required"] = json!(["spec"]);
    }
    Ok(schema)
}

fn build<S: JsonSchema, T: JsonSchema>(info: Info) -> Result<CustomResourceDefinition, CrdError> {
    let kind = info.kind;
    let schema = top_level::<S, T>(&info).map_err(|source| CrdError::Schema { kind, source })?;
    let props: JSONSchemaProps = serde_json::from_value(schema.clone())
        .map_err(|source| CrdError::Invalid { kind, source })?;
    let back = serde_json::to_value(&props).map_err(|source| CrdError::Invalid { kind, source })?;
    if let Some(path) = first_difference(&schema, &back, "") {
        return Err(CrdError::Lossy { kind, path });
    }
    let columns: Vec<CustomResourceColumnDefinition> = info
        .columns
        .iter()
        .map(|(name, type_, json_path)| CustomResourceColumnDefinition {
            name: (*name).into(),
            type_: (*type_).into(),
            json_path: (*json_path).into(),
            ..CustomResourceColumnDefinition::default()
        })
        .collect();
    Ok(CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some(format!("{}.{GROUP}", info.plural)),
            ..ObjectMeta::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: GROUP.into(),
            names: CustomResourceDefinitionNames {
                kind: kind.into(),
                list_kind: Some(format!("{kind}List")),
                plural: info.plural.into(),
                singular: Some(kind.to_lowercase()),
                short_names: (!info.short_names.is_empty())
                    .then(|| info.short_names.iter().map(|s| (*s).to_string()).collect()),
                categories: None,
            },
            scope: "Namespaced".into(),
            versions: vec![CustomResourceDefinitionVersion {
                name: VERSION.into(),
                served: true,
                storage: true,
                additional_printer_columns: (!columns.is_empty()).then_some(columns),
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: Some(props),
                }),
                subresources: info.status_subresource.then(|| CustomResourceSubresources {
                    status: Some(CustomResourceSubresourceStatus(json!({}))),
                    scale: None,
                }),
                ..CustomResourceDefinitionVersion::default()
            }],
            conversion: None,
            preserve_unknown_fields: None,
        },
        status: None,
    })
}

/// The first path at which two JSON values differ, comparing numbers by value (`1` and
/// `1.0` are the same; `JSONSchemaProps` stores `minimum` as a float).
pub fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if let Some(key) = y.keys().find(|key| !x.contains_key(*key)) {
                return Some(format!("{path}/{key}"));
            }
            x.iter().find_map(|(key, p)| {
                let child = format!("{path}/{key}");
                match y.get(key) {
                    Some(q) => first_difference(p, q, &child),
                    None => Some(child),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(path.to_string());
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}/{i}")))
        }
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64() != y.as_f64()).then(|| path.to_string())
        }
        _ => (a != b).then(|| path.to_string()),
    }
}

/// Provider.
pub fn provider() -> Result<CustomResourceDefinition, CrdError> {
    build::<ProviderSpec, ProviderStatus>(Info {
        kind: "Provider",
        plural: "providers",
        short_names: &[],
        columns: &[
            ("TYPE", "string", ".spec.type"),
            ("STATUS", "string", ".status.phase"),
            READY,
            (
                "CONNECTED",
                "string",
                ".status.conditions[?(@.type=='ConnectionTestSucceeded')].status",
            ),
            (
                "INVENTORY",
                "string",
                ".status.conditions[?(@.type=='InventoryCreated')].status",
            ),
            ("URL", "string", ".spec.url"),
            AGE,
        ],
        status_subresource: true,
        spec_required: false,
        description: "Provider is a source or destination of migrations.",
    })
}

/// Plan.
pub fn plan() -> Result<CustomResourceDefinition, CrdError> {
    build::<PlanSpec, PlanStatus>(Info {
        kind: "Plan",
        plural: "plans",
        short_names: &[],
        columns: &[
            READY,
            (
                "EXECUTING",
                "string",
                ".status.conditions[?(@.type=='Executing')].status",
            ),
            (
                "SUCCEEDED",
                "string",
                ".status.conditions[?(@.type=='Succeeded')].status",
            ),
            (
                "FAILED",
                "string",
                ".status.conditions[?(@.type=='Failed')].status",
            ),
            AGE,
        ],
        status_subresource: true,
        spec_required: false,
        description: "Plan is a migration plan.",
    })
}

/// Migration.
pub fn migration() -> Result<CustomResourceDefinition, CrdError> {
    build::<MigrationSpec, MigrationStatus>(Info {
        kind: "Migration",
        plural: "migrations",
        short_names: &[],
        columns: &[
            READY,
            (
                "RUNNING",
                "string",
                ".status.conditions[?(@.type=='Running')].status",
            ),
            (
                "SUCCEEDED",
                "string",
                ".status.conditions[?(@.type=='Succeeded')].status",
            ),
            (
                "FAILED",
                "string",
                ".status.conditions[?(@.type=='Failed')].status",
            ),
            AGE,
        ],
        status_subresource: true,
        spec_required: false,
        description: "Migration is a request to run a plan.",
    })
}

/// NetworkMap.
pub fn network_map() -> Result<CustomResourceDefinition, CrdError> {
    build::<NetworkMapSpec, MapStatus>(Info {
        kind: "NetworkMap",
        plural: "networkmaps",
        short_names: &[],
        columns: &[READY, AGE],
        status_subresource: true,
        spec_required: false,
        description: "NetworkMap maps source networks to destination networks.",
    })
}

/// StorageMap.
pub fn storage_map() -> Result<CustomResourceDefinition, CrdError> {
    build::<StorageMapSpec, MapStatus>(Info {
        kind: "StorageMap",
        plural: "storagemaps",
        short_names: &[],
        columns: &[READY, AGE],
        status_subresource: true,
        spec_required: false,
        description: "StorageMap maps source storage to destination storage classes.",
    })
}

/// Hook.
pub fn hook() -> Result<CustomResourceDefinition, CrdError> {
    build::<HookSpec, HookStatus>(Info {
        kind: "Hook",
        plural: "hooks",
        short_names: &[],
        columns: &[
            (
                "Ready",
                "string",
                ".status.conditions[?(@.type=='Ready')].status",
            ),
            ("Image", "string", ".spec.image"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ],
        status_subresource: true,
        spec_required: false,
        description: "Hook is a workload run before or after a VM's migration.",
    })
}

/// Host.
pub fn host() -> Result<CustomResourceDefinition, CrdError> {
    build::<HostSpec, HostStatus>(Info {
        kind: "Host",
        plural: "hosts",
        short_names: &[],
        columns: &[
            READY,
            (
                "CONNECTED",
                "string",
                ".status.conditions[?(@.type=='ConnectionTestSucceeded')].status",
            ),
            AGE,
        ],
        status_subresource: true,
        spec_required: false,
        description: "Host is an ESXi host used for disk transfer.",
    })
}

/// ForkliftController.
pub fn forklift_controller() -> Result<CustomResourceDefinition, CrdError> {
    build::<ForkliftControllerSpec, ForkliftControllerStatus>(Info {
        kind: "ForkliftController",
        plural: "forkliftcontrollers",
        short_names: &[],
        columns: &[],
        status_subresource: true,
        spec_required: false,
        description: "ForkliftController is the Schema for the forkliftcontrollers API.",
    })
}

/// OVAProviderServer.
pub fn ova_provider_server() -> Result<CustomResourceDefinition, CrdError> {
    build::<OVAProviderServerSpec, ProviderServerStatus>(Info {
        kind: "OVAProviderServer",
        plural: "ovaproviderservers",
        short_names: &[],
        columns: &[],
        status_subresource: true,
        spec_required: false,
        description: "OVAProviderServer serves the OVA files of an OVA provider.",
    })
}

/// HyperVProviderServer.
pub fn hyperv_provider_server() -> Result<CustomResourceDefinition, CrdError> {
    build::<HyperVProviderServerSpec, ProviderServerStatus>(Info {
        kind: "HyperVProviderServer",
        plural: "hypervproviderservers",
        short_names: &[],
        columns: &[
            ("PHASE", "string", ".status.phase"),
            ("SERVICE", "string", ".status.service.name"),
        ],
        status_subresource: true,
        spec_required: false,
        description: "HyperVProviderServer serves the disks of a Hyper-V provider.",
    })
}

/// Conversion.
pub fn conversion() -> Result<CustomResourceDefinition, CrdError> {
    build::<ConversionSpec, ConversionStatus>(Info {
        kind: "Conversion",
        plural: "conversions",
        short_names: &[],
        columns: &[
            ("TYPE", "string", ".spec.type"),
            ("PHASE", "string", ".status.phase"),
            ("STAGE", "string", ".status.stage"),
            READY,
            AGE,
        ],
        status_subresource: true,
        spec_required: false,
        description: "Conversion is a guest conversion or inspection.",
    })
}

/// OpenstackVolumePopulator.
pub fn openstack_volume_populator() -> Result<CustomResourceDefinition, CrdError> {
    build::<OpenstackVolumePopulatorSpec, PopulatorStatus>(Info {
        kind: "OpenstackVolumePopulator",
        plural: "openstackvolumepopulators",
        short_names: &["osvp", "osvps"],
        columns: &[],
        status_subresource: false,
        spec_required: true,
        description: "OpenstackVolumePopulator populates a PVC from an OpenStack image.",
    })
}

/// OvirtVolumePopulator.
pub fn ovirt_volume_populator() -> Result<CustomResourceDefinition, CrdError> {
    build::<OvirtVolumePopulatorSpec, PopulatorStatus>(Info {
        kind: "OvirtVolumePopulator",
        plural: "ovirtvolumepopulators",
        short_names: &["ovvp", "ovvps"],
        columns: &[],
        status_subresource: false,
        spec_required: true,
        description: "OvirtVolumePopulator populates a PVC from an oVirt disk.",
    })
}

/// VSphereXcopyVolumePopulator.
pub fn vsphere_xcopy_volume_populator() -> Result<CustomResourceDefinition, CrdError> {
    build::<VSphereXcopyVolumePopulatorSpec, VSphereXcopyVolumePopulatorStatus>(Info {
        kind: "VSphereXcopyVolumePopulator",
        plural: "vspherexcopyvolumepopulators",
        short_names: &["vxvp", "vxvps"],
        columns: &[],
        status_subresource: false,
        spec_required: true,
        description: "VSphereXcopyVolumePopulator populates a PVC by XCOPY from a vSphere disk.",
    })
}

/// All 14 CRDs, ordered by name (as upstream's files are).
pub fn all() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    Ok(vec![
        conversion()?,
        forklift_controller()?,
        hook()?,
        host()?,
        hyperv_provider_server()?,
        migration()?,
        network_map()?,
        openstack_volume_populator()?,
        ova_provider_server()?,
        ovirt_volume_populator()?,
        plan()?,
        provider()?,
        storage_map()?,
        vsphere_xcopy_volume_populator()?,
    ])
}

/// CRDs as multi-document YAML (`---` separated), ready for `kubectl apply -f -`.
pub fn to_yaml(crds: &[CustomResourceDefinition]) -> Result<String, CrdError> {
    let mut out = String::new();
    for crd in crds {
        // Through serde_json::Value so that map keys come out sorted and stable.
        let value = serde_json::to_value(crd).map_err(|e| CrdError::Yaml(e.to_string()))?;
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&value).map_err(|e| CrdError::Yaml(e.to_string()))?);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}
